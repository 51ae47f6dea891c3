"""Commit-failure hygiene: a COMMIT (or ROLLBACK) that fails while the connection
stays alive must never give that connection back to the pool inside its database
transaction, and the next Session on the engine must never commit the interrupted
unit of work.

Failures: an exception or a ``BaseException`` (KeyboardInterrupt) raised from a
Core ``commit`` or ``rollback`` event listener, SQLite's "database is locked" at
COMMIT, and exceptions from the session events around commit and rollback.

Three checks, each shown to catch a deliberately broken variant:

- ``guard.assert_clean()``: every connection checked into the pool was outside a
  transaction (broken variant: the ROLLBACK after a failed COMMIT is skipped);
- ``_assert_next_unit_of_work_alone``: a new Session commits only its own row
  (same broken variant: SQLite then fails at BEGIN, PostgreSQL and MariaDB commit
  the interrupted row along with it);
- the failing commit raises (broken variant: a Session wrapper that swallows it).
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event

import _support
from datamapper import Session, exc, inspect, sessionmaker
from datamapper import event as dm_event
from datamapper.session import tx_binds as tx_module  # where connections are given back


class ListenerError(Exception):
    pass


def _raise_error(*_args):
    raise ListenerError("listener failed")


def _raise_interrupt(*_args):
    raise KeyboardInterrupt()


RAISERS = {"exception": (_raise_error, ListenerError),
           "baseexception": (_raise_interrupt, KeyboardInterrupt)}


class SwallowingSession(Session):
    """Deliberately broken: hides a failed commit from its caller."""

    def commit(self):
        try:
            super().commit()
        except BaseException:
            pass


@pytest.fixture
def skip_dbapi_rollback(monkeypatch):
    """Deliberately broken: a connection is given back without first ending what
    is left of its database transaction (Core's Connection.close() alone)."""

    def apply():
        monkeypatch.setattr(tx_module, "end_transaction", lambda entry: None)

    return apply


def _rows(read_rows, User):
    return [(r[0], r[1]) for r in read_rows(User.__table__)]  # (id, name)


def _assert_next_unit_of_work_alone(eng, User, read_rows, before=()):
    """A new Session on ``eng`` inserts row 100 and commits: the table must then
    hold ``before`` plus that row, nothing of the interrupted unit of work."""
    s = Session(eng)
    try:
        s.add(User(id=100, name="next"))
        s.commit()
    except Exception as e:  # e.g. SQLite: BEGIN inside the leftover transaction
        raise AssertionError(f"the next Session on the engine failed: {e}") from e
    finally:
        s.close()
    rows = _rows(read_rows, User)
    assert rows == [*before, (100, "next")], (
        f"the next unit of work committed more than its own row: {rows}")


def _commit_fails(eng, User, raiser, expect, ending, session_cls=Session):
    """Flush row 1, then COMMIT with a Core ``commit`` listener raising; end the
    session as ``ending`` says.  Asserts the failure reaches the caller."""
    event.listen(eng, "commit", raiser)
    try:
        if ending == "sessionmaker.begin":
            with pytest.raises(expect):
                with sessionmaker(bind=eng, class_=session_cls).begin() as s:
                    s.add(User(id=1, name="interrupted"))
            return
        s = session_cls(eng)
        try:
            if ending == "begin-block":
                with pytest.raises(expect):
                    with s.begin():
                        s.add(User(id=1, name="interrupted"))
                return
            s.add(User(id=1, name="interrupted"))
            s.flush()
            with pytest.raises(expect):
                s.commit()
            if ending == "rollback":
                s.rollback()
        finally:
            s.close()
    finally:
        event.remove(eng, "commit", raiser)


ENDINGS = ["rollback", "close", "begin-block", "sessionmaker.begin"]


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("raised", sorted(RAISERS))
def test_commit_listener_failure_gives_back_a_rolled_back_connection(
        guarded_engine, User, read_rows, raised, ending):
    raiser, expect = RAISERS[raised]
    _commit_fails(guarded_engine, User, raiser, expect, ending)
    guarded_engine.guard.assert_clean()
    assert guarded_engine.pool.checkedout() == 0
    _assert_next_unit_of_work_alone(guarded_engine, User, read_rows)
    guarded_engine.guard.assert_clean()


@pytest.mark.parametrize("raised", sorted(RAISERS))
def test_checks_catch_a_commit_failure_that_skips_the_rollback(
        guarded_engine, User, read_rows, raised, skip_dbapi_rollback):
    raiser, expect = RAISERS[raised]
    skip_dbapi_rollback()
    _commit_fails(guarded_engine, User, raiser, expect, "rollback")
    with pytest.raises(AssertionError, match="inside an open database transaction"):
        guarded_engine.guard.assert_clean()
    with pytest.raises(AssertionError, match="next"):
        _assert_next_unit_of_work_alone(guarded_engine, User, read_rows)


def test_check_catches_a_session_that_swallows_the_failed_commit(guarded_engine, User):
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        _commit_fails(guarded_engine, User, _raise_error, ListenerError, "rollback",
                      session_cls=SwallowingSession)


# ------------------------------------------------------------ SQLite: locked COMMIT


def _locked_commit(tmp_path, metadata, User, attach_guard):
    """A session whose COMMIT finds the (rollback-journal) database locked by a
    reader: "database is locked", with the connection and its transaction alive."""
    path = tmp_path / "locked.db"
    eng = attach_guard(_support.sqlite_engine(path, wal=False, pool_size=1, max_overflow=0,
                                              connect_args={"timeout": 0}))
    metadata.create_all(eng)
    reader = sqlite3.connect(path, isolation_level=None)
    s = Session(eng)
    try:
        s.add(User(id=1, name="interrupted"))
        s.flush()
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM users").fetchall()  # holds a SHARED lock
        with pytest.raises(exc.OperationalError, match="database is locked"):
            s.commit()
        with pytest.raises(exc.PendingRollbackError):
            s.execute(User.__table__.select()).all()
        reader.execute("ROLLBACK")
        s.rollback()
    finally:
        reader.close()
        s.close()

    def read(table, **_kw):
        with eng.connect() as conn:
            return conn.execute(table.select().order_by(table.c.id)).all()

    return eng, read


@pytest.mark.sqlite_only
def test_sqlite_locked_commit_gives_back_a_rolled_back_connection(tmp_path, metadata, User,
                                                                 attach_guard):
    eng, read = _locked_commit(tmp_path, metadata, User, attach_guard)
    try:
        eng.guard.assert_clean()
        _assert_next_unit_of_work_alone(eng, User, read)
        eng.guard.assert_clean()
    finally:
        eng.dispose()


@pytest.mark.sqlite_only
def test_checks_catch_a_locked_commit_that_skips_the_rollback(tmp_path, metadata, User,
                                                            attach_guard, skip_dbapi_rollback):
    skip_dbapi_rollback()
    eng, read = _locked_commit(tmp_path, metadata, User, attach_guard)
    try:
        with pytest.raises(AssertionError, match="inside an open database transaction"):
            eng.guard.assert_clean()
        with pytest.raises(AssertionError, match="cannot start a transaction"):
            _assert_next_unit_of_work_alone(eng, User, read)
    finally:
        eng.dispose()


# ------------------------------------------------------------ Core rollback listener


@pytest.mark.parametrize("ending", ["rollback", "close"])
@pytest.mark.parametrize("raised", sorted(RAISERS))
def test_rollback_listener_failure_gives_back_a_rolled_back_connection(
        guarded_engine, User, read_rows, raised, ending):
    raiser, expect = RAISERS[raised]
    s = Session(guarded_engine)
    s.add(User(id=1, name="interrupted"))
    s.flush()
    event.listen(guarded_engine, "rollback", raiser)
    try:
        if ending == "rollback":
            with pytest.raises(expect):
                s.rollback()
        else:
            if expect is KeyboardInterrupt:
                with pytest.raises(expect):
                    s.close()
            else:
                s.close()
    finally:
        event.remove(guarded_engine, "rollback", raiser)
        s.close()
    assert guarded_engine.pool.checkedout() == 0
    guarded_engine.guard.assert_clean()
    _assert_next_unit_of_work_alone(guarded_engine, User, read_rows)


# ------------------------------------------------------------ session events


def test_after_commit_failure_keeps_the_committed_work_and_a_clean_connection(
        guarded_engine, User, read_rows):
    s = Session(guarded_engine)
    dm_event.listen(s, "after_commit", _raise_error)
    u = User(id=1, name="committed")
    s.add(u)
    with pytest.raises(ListenerError):
        s.commit()
    dm_event.remove(s, "after_commit", _raise_error)
    assert guarded_engine.pool.checkedout() == 0
    guarded_engine.guard.assert_clean()
    assert _rows(read_rows, User) == [(1, "committed")]
    # the commit happened: a rollback now must not undo the session's view of it
    s.rollback()
    assert inspect(u).persistent
    assert s.get(User, 1) is u
    s.close()
    _assert_next_unit_of_work_alone(guarded_engine, User, read_rows,
                                    before=[(1, "committed")])


@pytest.mark.parametrize("raised", sorted(RAISERS))
@pytest.mark.parametrize("event_name", ["before_commit", "after_rollback"])
def test_session_event_failure_never_commits_the_interrupted_work(
        guarded_engine, User, read_rows, event_name, raised):
    raiser, expect = RAISERS[raised]
    s = Session(guarded_engine)
    dm_event.listen(s, event_name, raiser)
    s.add(User(id=1, name="interrupted"))
    s.flush()
    try:
        with pytest.raises(expect):
            if event_name == "before_commit":
                s.commit()
            else:
                s.rollback()
        dm_event.remove(s, event_name, raiser)
        if event_name == "before_commit":
            s.rollback()
    finally:
        s.close()
    assert guarded_engine.pool.checkedout() == 0
    guarded_engine.guard.assert_clean()
    _assert_next_unit_of_work_alone(guarded_engine, User, read_rows)
