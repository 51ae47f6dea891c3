"""Errors that end more than they seem to, and connection hygiene on every error
path: a MariaDB deadlock or lock-wait timeout inside a SAVEPOINT, a connection
lost while COMMIT is in flight, a connection killed in the middle of a flush,
and two sessions working at once on the servers."""

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String, event, text

import _support
from _tx_support import (
    CommitCutter,
    assert_released,
    kill_connection,
    lock_timeout_args,
    wait_for_lock_wait,
)
from datamapper import Session, exc, inspect


@pytest.fixture
def seeded(engine, User):
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), [{"id": 1, "name": "one"},
                                               {"id": 2, "name": "two"}])
    return User


def _names(read_rows, User):
    return [(r[0], r[1]) for r in read_rows(User.__table__)]


# ---------------------------------------------------------- MariaDB deadlock


def _deadlock_in_savepoint(engine_factory, backend_name, session, User, *, use_flush):
    """session: pre-savepoint work, then in a SAVEPOINT locks row 1 and wants
    row 2, which a heavier transaction holds while it waits for row 1."""
    other = engine_factory(connect_args=lock_timeout_args(backend_name, 2))
    blocker = other.connect()
    t = None
    try:
        with blocker.begin():
            blocker.execute(text("CREATE TABLE IF NOT EXISTS ballast (id INT PRIMARY KEY)"))
        heavy = blocker.begin()
        blocker.execute(text("INSERT INTO ballast (id) VALUES " +
                             ", ".join(f"({i})" for i in range(200))))
        session.add(User(id=10, name="before-savepoint"))
        session.flush()
        u1, u2 = session.get(User, 1), session.get(User, 2)
        sp = session.begin_nested()
        u1.name = "A1"
        session.flush()
        blocker.execute(text("UPDATE users SET note = 'B' WHERE id = 2"))

        def blocked_update():
            try:
                blocker.execute(text("UPDATE users SET note = 'B' WHERE id = 1"))
            except Exception:  # the heavier side is not expected to lose
                pass

        t = threading.Thread(target=blocked_update, daemon=True)
        t.start()
        assert wait_for_lock_wait(other), "the other transaction never waited for row 1"
        with pytest.raises(exc.OperationalError) as err:
            if use_flush:
                u2.name = "A2"
                session.flush()
            else:
                session.execute(text("UPDATE users SET name = 'A2' WHERE id = 2"))
        t.join(timeout=10)
        heavy.rollback()
    finally:
        if t is not None:
            t.join(timeout=10)
        blocker.close()
        other.dispose()
    return sp, err.value


@pytest.mark.mysql_only
@pytest.mark.parametrize("use_flush", [True, False], ids=["flush", "execute"])
def test_deadlock_inside_savepoint_fails_the_whole_session_transaction(
        engine_factory, backend_name, session, seeded, read_rows, engine, use_flush):
    User = seeded
    sp, error = _deadlock_in_savepoint(engine_factory, backend_name, session, User,
                                       use_flush=use_flush)
    assert error.orig.args[0] == 1213
    # the server rolled back everything, the pre-savepoint INSERT included:
    # rolling back to the savepoint and committing must not "succeed"
    assert not session.is_active and not sp.is_active
    try:
        session.rollback()  # what the seed's with-block does on error
    except exc.InvalidRequestError:
        pass
    if session.in_transaction():
        with pytest.raises(exc.PendingRollbackError, match="(?i)deadlock"):
            session.commit()
        session.rollback()
    assert _names(read_rows, User) == [(1, "one"), (2, "two")]
    assert_released(engine)
    # usable again
    session.add(User(id=11, name="after"))
    session.commit()
    assert _names(read_rows, User) == [(1, "one"), (2, "two"), (11, "after")]
    assert_released(engine)


@pytest.mark.mysql_only
def test_deadlock_in_seed_record_loop_refuses_to_commit_partial_work(
        engine_factory, backend_name, session, seeded, read_rows, engine):
    User = seeded
    _sp, _error = _deadlock_in_savepoint(engine_factory, backend_name, session, User,
                                         use_flush=True)
    # the seed's loop: the with-block rolled back... then session.commit()
    with pytest.raises(exc.InvalidRequestError):
        with session.begin_nested():
            session.add(User(id=12, name="next-record"))
    with pytest.raises(exc.PendingRollbackError):
        session.commit()
    session.rollback()
    assert _names(read_rows, User) == [(1, "one"), (2, "two")]
    assert_released(engine)


@pytest.mark.mysql_only
def test_lock_wait_timeout_inside_savepoint(engine_factory, backend_name, make_session,
                                            seeded, read_rows, engine):
    """Without innodb_rollback_on_timeout (the default) only the statement fails:
    the savepoint rolls back and the outer transaction commits its own work.
    With it, the server ends the whole transaction and the session refuses to
    commit."""
    User = seeded
    fast = engine_factory(connect_args=lock_timeout_args(backend_name))
    with fast.connect() as c:
        rollback_on_timeout = bool(c.exec_driver_sql(
            "SELECT @@innodb_rollback_on_timeout").scalar())
    s = Session(bind=fast)
    holder = fast.connect()
    held = holder.begin()
    holder.execute(text("UPDATE users SET note = 'held' WHERE id = 1"))
    try:
        s.add(User(id=10, name="before-savepoint"))
        s.flush()
        with pytest.raises(exc.OperationalError) as err:
            with s.begin_nested():
                s.execute(text("UPDATE users SET name = 'x' WHERE id = 1"))
        assert err.value.orig.args[0] == 1205
        if rollback_on_timeout:
            with pytest.raises(exc.PendingRollbackError):
                s.commit()
            s.rollback()
            expected = [(1, "one"), (2, "two")]
        else:
            assert s.is_active
            s.commit()
            expected = [(1, "one"), (2, "two"), (10, "before-savepoint")]
    finally:
        held.rollback()
        holder.close()
        s.close()
    assert _names(read_rows, User) == expected
    # every connection is back in the pool and no transaction holds the row: a write
    # of it does not wait.  (MariaDB's innodb_trx may go on listing a connection that
    # had a lock-wait timeout as in a transaction, in LOCK WAIT, for a while after its
    # ROLLBACK: the listing assert_released() reads is not the test here.)
    assert fast.pool.checkedout() == 0  # type: ignore[attr-defined]
    with fast.begin() as probe:
        probe.execute(text("UPDATE users SET note = note WHERE id = 1"))


# ------------------------------------------------------- lost COMMIT outcome


@pytest.mark.servers_only
def test_connection_lost_during_commit_reports_unknown_outcome(engine, User, read_rows):
    url = engine.url
    cutter = CommitCutter(url.host or "127.0.0.1", url.port or
                          (5432 if engine.dialect.name == "postgresql" else 3306))
    connect_args = _support.server_connect_args(engine.dialect.name)
    proxied = sa.create_engine(url.set(host="127.0.0.1", port=cutter.port),
                               connect_args=connect_args)
    commits = []
    event.listen(proxied, "commit", lambda conn: commits.append(conn))
    s = Session(bind=proxied)
    try:
        row = User(id=1, name="in-flight")
        s.add(row)
        s.flush()
        cutter.armed = True
        with pytest.raises(exc.CommitOutcomeUnknownError) as err:
            s.commit()
        message = str(err.value)
        assert "may or may not have committed" in message
        assert "will not retry" in message and "session.rollback()" in message
        assert cutter.cut.is_set()
        assert len(commits) == 1  # no second COMMIT, no replayed flush
        # the server did commit: the client could not have known
        assert read_rows(User.__table__) == [(1, "in-flight", None)]
        assert proxied.pool.checkedout() == 0
        with pytest.raises(exc.PendingRollbackError, match="unknown"):
            s.add(User(id=2, name="x"))
            s.flush()
        s.rollback()
        assert proxied.pool.checkedout() == 0
        # usable again, through a new connection
        s.add(User(id=3, name="after"))
        s.commit()
        assert [r[0] for r in read_rows(User.__table__)] == [1, 3]
    finally:
        s.close()
        proxied.dispose()
        cutter.close()
    assert_released(engine)


@pytest.mark.sqlite_only
def test_sqlite_connection_closed_during_commit_reports_unknown_outcome(engine, User,
                                                                        read_rows, session):
    def close_before_commit(conn):
        conn.connection.dbapi_connection.close()

    session.add(User(id=1, name="a"))
    session.flush()
    event.listen(engine, "commit", close_before_commit)
    with pytest.raises(exc.CommitOutcomeUnknownError, match="may or may not"):
        session.commit()
    event.remove(engine, "commit", close_before_commit)
    assert engine.pool.checkedout() == 0
    session.rollback()
    session.add(User(id=2, name="b"))
    session.commit()
    assert read_rows(User.__table__) == [(2, "b", None)]
    assert_released(engine)


# ------------------------------------------------------- killed mid-flush


def test_connection_killed_mid_flush_commits_nothing_and_leaks_nothing(
        engine, make_session, User, Base, read_rows):
    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        label = Column(String(20))

    Tag.__table__.create(engine)
    s = make_session()
    inserts = []

    def kill_on_second_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT"):
            inserts.append(statement)
            if len(inserts) == 2:
                kill_connection(engine, conn)

    s.add(User(id=1, name="committed-before"))
    s.commit()
    # two tables: two INSERT statements in one flush
    a = User(id=2, name="a")
    b = Tag(id=3, label="b")
    s.add_all([a, b])
    event.listen(engine, "before_cursor_execute", kill_on_second_insert)
    try:
        with pytest.raises(exc.DBAPIError) as err:
            s.flush()
    finally:
        event.remove(engine, "before_cursor_execute", kill_on_second_insert)
    assert err.value.connection_invalidated
    assert len(inserts) == 2
    assert engine.pool.checkedout() == 0  # released on the error path, before rollback()
    with pytest.raises(exc.PendingRollbackError):
        s.query(User).all()
    s.rollback()
    assert inspect(a).transient and inspect(b).transient
    assert read_rows(User.__table__) == [(1, "committed-before", None)]
    assert read_rows(Tag.__table__) == []
    s.add_all([a, b])
    s.commit()
    assert [r[0] for r in read_rows(User.__table__)] == [1, 2]
    assert read_rows(Tag.__table__) == [(3, "b")]
    assert_released(engine)


def test_connection_killed_between_flush_and_commit(engine, make_session, User, read_rows):
    s = make_session()
    s.add(User(id=1, name="a"))
    s.flush()
    kill_connection(engine, s.connection())
    with pytest.raises(exc.DBAPIError):
        s.commit()
    assert engine.pool.checkedout() == 0
    s.rollback()
    assert read_rows(User.__table__) == []
    s.add(User(id=2, name="b"))
    s.commit()
    assert read_rows(User.__table__) == [(2, "b", None)]
    assert_released(engine)


# -------------------------------------------------------- error-path hygiene


def test_no_connection_or_transaction_left_after_each_ending(engine, make_session, User):
    s = make_session()
    s.add(User(id=1, name="a"))
    s.commit()
    assert_released(engine)
    s.get(User, 1).name = "b"
    s.flush()
    s.rollback()
    assert_released(engine)
    s.query(User).all()
    s.close()
    assert_released(engine)
    s.begin_nested()
    s.add(User(id=2, name="c"))
    s.flush()
    s.close()  # closes the savepoint and the root
    assert_released(engine)
    with pytest.raises(exc.DBAPIError):
        s.execute(text("SELECT * FROM no_such_table"))
    s.rollback()
    assert_released(engine)


@pytest.mark.postgresql_only
def test_postgresql_statement_error_outside_savepoint_fails_the_transaction(
        engine, session, User, read_rows):
    session.add(User(id=1, name="a"))
    session.flush()
    with pytest.raises(exc.DBAPIError):
        session.execute(text("SELECT * FROM no_such_table"))
    # PostgreSQL has aborted the transaction: committing would silently roll back
    with pytest.raises(exc.PendingRollbackError, match="no_such_table"):
        session.commit()
    session.rollback()
    assert read_rows(User.__table__) == []
    assert_released(engine)


@pytest.mark.postgresql_only
def test_postgresql_statement_error_inside_savepoint_keeps_outer_work(
        engine, session, User, read_rows):
    session.add(User(id=1, name="a"))
    with pytest.raises(exc.DBAPIError), session.begin_nested():
        session.execute(text("SELECT * FROM no_such_table"))
    assert session.is_active
    session.add(User(id=2, name="b"))
    session.commit()
    assert [r[0] for r in read_rows(User.__table__)] == [1, 2]
    assert_released(engine)


# ---------------------------------------------------------- two sessions


@pytest.mark.servers_only
def test_two_sessions_see_only_committed_work(engine, engine_factory, backend_name, User,
                                              read_rows):
    other = engine_factory(connect_args=lock_timeout_args(backend_name))
    a, b = Session(bind=engine), Session(bind=other)
    try:
        a.add(User(id=1, name="from-a"))
        a.flush()
        assert b.query(User).all() == []
        b.rollback()
        with a.begin_nested():
            a.add(User(id=2, name="in-savepoint"))
        sp = a.begin_nested()
        a.add(User(id=3, name="rolled-back"))
        a.flush()
        sp.rollback()
        assert b.query(User).all() == []
        a.commit()
        b.rollback()  # a new snapshot (MariaDB reads are repeatable)
        assert sorted((u.id, u.name) for u in b.query(User)) == [(1, "from-a"),
                                                                  (2, "in-savepoint")]
        # both change the same row: the second waits, times out, and its session
        # must be rolled back before it goes on; the first commits
        a.get(User, 1).name = "a-wins"
        a.flush()
        b.get(User, 1).name = "b-loses"
        with pytest.raises(exc.OperationalError):
            b.flush()
        with pytest.raises(exc.PendingRollbackError):
            b.commit()
        b.rollback()
        a.commit()
        assert b.get(User, 1).name == "a-wins"
        b.commit()
    finally:
        a.close()
        b.close()
    assert read_rows(User.__table__)[0][:2] == (1, "a-wins")
    try:
        assert_released(engine, other)
    finally:
        # MariaDB goes on listing the connection that held the lock another one timed
        # out on as in a transaction (RUNNING, its start time fixed) for as long as the
        # connection lives, through its later ROLLBACKs and TRUNCATEs: closed here, so
        # that the next tests' checks of the shared engine do not see it
        engine.dispose()
