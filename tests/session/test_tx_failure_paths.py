"""Every failure path of commit, rollback, prepare and RELEASE leaves each
connection rolled back (or discarded) before it goes back to its pool or to the
caller who bound the Session to it; a savepoint whose RELEASE or ROLLBACK TO
SAVEPOINT did not happen fails the whole transaction, so its work can never be
committed with the rest.  (The pool-level checks with broken variants are in
tests/reliability/test_commit_failure_hygiene.py.)"""

import pytest
from sqlalchemy import event

from _tx_support import (  # noqa: F401
    assert_released,
    dbapi_in_transaction,
    max_prepared_transactions,
    prepared_transactions,
    table_rows,
    user_and_account,
)
from datamapper import Session, exc, inspect, scoped_session, sessionmaker


class ListenerError(Exception):
    pass


def _raise(*_args):
    raise ListenerError("listener failed")


def _ids(read_rows, User):
    return [r[0] for r in read_rows(User.__table__)]


# --------------------------------------------- a Session bound to a caller's Connection


@pytest.mark.parametrize("failing", ["commit", "rollback"])
def test_failed_commit_or_rollback_leaves_the_bound_connection_outside_a_transaction(
        engine, User, read_rows, failing):
    with engine.connect() as conn:
        s = Session(bind=conn)
        s.add(User(id=1, name="interrupted"))
        s.flush()
        event.listen(engine, failing, _raise)
        try:
            with pytest.raises(ListenerError):
                s.commit() if failing == "commit" else s.rollback()
        finally:
            event.remove(engine, failing, _raise)
        s.close()
        assert not conn.in_transaction()
        assert not dbapi_in_transaction(conn.dialect.name, conn.connection.dbapi_connection)
        # the caller's connection goes on with its own work only
        with conn.begin():
            conn.execute(User.__table__.insert(), {"id": 2, "name": "caller"})
    assert _ids(read_rows, User) == [2]
    assert_released(engine)


# ------------------------------------------------------------------ savepoints


def test_failed_release_savepoint_fails_the_whole_transaction(engine, session, User,
                                                              read_rows):
    session.add(User(id=1, name="outer"))
    session.flush()
    session.begin_nested()
    session.add(User(id=2, name="inner"))
    session.flush()
    event.listen(engine, "release_savepoint", _raise)
    try:
        with pytest.raises(ListenerError):
            session.commit()  # RELEASE SAVEPOINT
    finally:
        event.remove(engine, "release_savepoint", _raise)
    with pytest.raises(exc.PendingRollbackError):
        session.add(User(id=3, name="more"))
        session.flush()
    session.rollback()
    session.commit()
    assert _ids(read_rows, User) == []
    assert_released(engine)


def test_failed_release_in_begin_nested_block_fails_the_whole_transaction(
        engine, session, User, read_rows):
    session.add(User(id=1, name="outer"))
    event.listen(engine, "release_savepoint", _raise)
    try:
        with pytest.raises(ListenerError):
            with session.begin_nested():
                session.add(User(id=2, name="inner"))
    finally:
        event.remove(engine, "release_savepoint", _raise)
    session.rollback()
    session.add(User(id=5, name="after"))
    session.commit()
    assert _ids(read_rows, User) == [5]
    assert_released(engine)


def test_failed_rollback_to_savepoint_never_commits_the_savepoint_work(engine, session,
                                                                      User, read_rows):
    session.add(User(id=1, name="outer"))
    session.flush()
    session.begin_nested()
    inner = User(id=2, name="inner")
    session.add(inner)
    session.flush()
    event.listen(engine, "rollback_savepoint", _raise)
    try:
        with pytest.raises(ListenerError):
            session.rollback()  # ROLLBACK TO SAVEPOINT
    finally:
        event.remove(engine, "rollback_savepoint", _raise)
    # the savepoint's work is still in the database transaction: nothing of it commits
    with pytest.raises(exc.PendingRollbackError):
        session.commit()
    session.rollback()
    assert inspect(inner).transient
    session.commit()
    assert _ids(read_rows, User) == []
    assert_released(engine)


# ------------------------------------------------------- autocommit, subtransactions


def test_autocommit_flush_whose_commit_fails_commits_nothing(engine_factory, engine, User,
                                                             read_rows):
    eng = engine_factory(pool_size=1, max_overflow=0)
    s = Session(bind=eng, autocommit=True)
    s.add(User(id=1, name="interrupted"))
    event.listen(eng, "commit", _raise)
    try:
        with pytest.raises(ListenerError):
            s.flush()
    finally:
        event.remove(eng, "commit", _raise)
    assert eng.pool.checkedout() == 0
    s2 = Session(bind=eng)
    s2.add(User(id=2, name="next"))
    s2.commit()
    s2.close()
    assert _ids(read_rows, User) == [2]
    assert_released(engine)


def test_failed_commit_under_subtransactions_commits_nothing(engine_factory, engine, User,
                                                             read_rows):
    eng = engine_factory(pool_size=1, max_overflow=0)
    s = Session(bind=eng, autocommit=True)
    s.begin()
    s.begin(subtransactions=True)
    s.add(User(id=1, name="interrupted"))
    s.commit()  # the inner marker: no COMMIT yet
    event.listen(eng, "commit", _raise)
    try:
        with pytest.raises(ListenerError):
            s.commit()
    finally:
        event.remove(eng, "commit", _raise)
    s.rollback()
    assert eng.pool.checkedout() == 0
    with sessionmaker(bind=eng).begin() as s2:
        s2.add(User(id=2, name="next"))
    assert _ids(read_rows, User) == [2]
    assert_released(engine)


def test_scoped_session_failed_commit_then_remove_leaves_a_clean_pool(
        engine_factory, engine, User, read_rows):
    eng = engine_factory(pool_size=1, max_overflow=0)
    registry = scoped_session(sessionmaker(bind=eng))
    registry.add(User(id=1, name="interrupted"))
    registry.flush()
    event.listen(eng, "commit", _raise)
    try:
        with pytest.raises(ListenerError):
            registry.commit()
    finally:
        event.remove(eng, "commit", _raise)
    registry.remove()
    assert eng.pool.checkedout() == 0
    registry.add(User(id=2, name="next"))
    registry.commit()
    registry.remove()
    assert _ids(read_rows, User) == [2]
    assert_released(engine)


def test_failed_commit_keeps_lost_outcome_reporting_apart(engine, session, User):
    """A COMMIT that fails on a live connection is a plain failure (the database did
    not commit), not a CommitOutcomeUnknownError."""
    session.add(User(id=1, name="a"))
    session.flush()
    event.listen(engine, "commit", _raise)
    try:
        with pytest.raises(ListenerError) as err:
            session.commit()
    finally:
        event.remove(engine, "commit", _raise)
    assert not isinstance(err.value, exc.CommitOutcomeUnknownError)
    with pytest.raises(exc.PendingRollbackError, match="listener failed"):
        session.flush()
        session.execute(User.__table__.select())
    session.rollback()
    assert_released(engine)


# ------------------------------------------------------------------- two-phase


@pytest.mark.servers_only
@pytest.mark.parametrize("step", ["prepare_twophase", "commit_twophase"])
def test_twophase_failure_leaves_no_transaction_open_or_prepared(
        twophase_ready, make_session, Base, engine, other_engine, step):
    User, Account = user_and_account(Base, engine, other_engine, "tpf_")
    s = make_session(twophase=True, binds={User: engine, Account: other_engine})
    s.add_all([User(id=1, name="ann"), Account(id=1, balance=10)])
    calls = []

    def fail_first(*_args):
        calls.append(1)
        if len(calls) == 1:  # the first database to prepare / commit
            raise ListenerError("listener failed")

    for eng in (engine, other_engine):
        event.listen(eng, step, fail_first)
    try:
        with pytest.raises(ListenerError):
            s.commit()
    finally:
        for eng in (engine, other_engine):
            event.remove(eng, step, fail_first)
    s.rollback()
    assert table_rows(engine, User.__table__) == []
    assert table_rows(other_engine, Account.__table__) == []
    assert_released(engine, other_engine)
