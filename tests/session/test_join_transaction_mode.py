"""Session(join_transaction_mode=...): a Session bound to a Connection on which the
caller has already begun a transaction (the test-fixture recipe: begin on the
connection, let the code under test commit and roll back, roll everything back
at the end).  Rows are read back on a separate connection."""

import pytest
from sqlalchemy import select

from datamapper import Session, exc, sessionmaker


@pytest.fixture
def conn(engine, User):
    c = engine.connect()
    try:
        yield c
    finally:
        c.close()


def test_create_savepoint_recipe_leaves_nothing_in_database(conn, User, read_rows):
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    s.add(User(id=1, name="committed-by-test"))
    s.commit()  # releases the Session's SAVEPOINT only
    assert conn.in_transaction() and outer.is_active
    s.add(User(id=2, name="rolled-back-by-test"))
    s.flush()
    s.rollback()  # back to the Session's SAVEPOINT: id 2 gone, id 1 kept
    assert [u.name for u in s.scalars(select(User).order_by(User.id))] == ["committed-by-test"]
    assert outer.is_active
    s.close()
    assert read_rows(User.__table__) == []  # nothing was ever committed
    outer.rollback()
    assert read_rows(User.__table__) == []
    assert conn.execute(select(User.__table__)).all() == []


def test_create_savepoint_each_session_transaction_is_a_savepoint(conn, User, sql_log):
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    for i in range(3):
        s.add(User(id=i + 1, name=f"u{i}"))
        s.commit()
    assert len(sql_log.matching("SAVEPOINT")) >= 3
    assert len(sql_log.matching("RELEASE SAVEPOINT")) == 3
    assert not sql_log.matching("COMMIT")
    s.close()
    outer.rollback()


def test_create_savepoint_close_rolls_back_to_the_savepoint(conn, User):
    outer = conn.begin()
    conn.execute(User.__table__.insert(), {"id": 1, "name": "caller"})
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    s.add(User(id=2, name="session"))
    s.flush()
    s.close()
    assert outer.is_active
    rows = conn.execute(select(User.__table__.c.name).order_by(User.__table__.c.id)).all()
    assert rows == [("caller",)]
    outer.rollback()


def test_control_fully_commit_commits_the_callers_transaction(conn, User, read_rows):
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="control_fully")
    s.add(User(id=1, name="a"))
    s.commit()
    assert not outer.is_active and not conn.in_transaction()
    assert read_rows(User.__table__) == [(1, "a", None)]
    s.close()


def test_control_fully_rollback_rolls_back_the_callers_transaction(conn, User, read_rows):
    outer = conn.begin()
    conn.execute(User.__table__.insert(), {"id": 1, "name": "caller"})
    s = Session(bind=conn, join_transaction_mode="control_fully")
    s.add(User(id=2, name="session"))
    s.flush()
    s.rollback()
    assert not outer.is_active and not conn.in_transaction()
    assert read_rows(User.__table__) == []
    s.close()


def test_control_fully_inside_callers_savepoint_commit_releases_it(conn, User, read_rows):
    outer = conn.begin()
    sp = conn.begin_nested()
    s = Session(bind=conn, join_transaction_mode="control_fully")
    s.add(User(id=1, name="a"))
    s.commit()
    assert not sp.is_active and outer.is_active
    s.close()
    assert read_rows(User.__table__) == []
    outer.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_rollback_only_commit_does_not_reach_the_database(conn, User, read_rows):
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="rollback_only")
    s.add(User(id=1, name="a"))
    s.commit()
    assert outer.is_active
    assert read_rows(User.__table__) == []
    s.add(User(id=2, name="b"))
    s.flush()
    s.rollback()  # ends the caller's transaction
    assert not outer.is_active and not conn.in_transaction()
    assert read_rows(User.__table__) == []
    s.close()


def test_rollback_only_close_leaves_callers_transaction_open(conn, User, read_rows):
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="rollback_only")
    s.add(User(id=1, name="a"))
    s.flush()
    s.close()
    assert outer.is_active
    outer.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_default_mode_outer_transaction_is_rollback_only(conn, User, read_rows):
    outer = conn.begin()
    s = Session(bind=conn)
    assert s.join_transaction_mode == "conditional_savepoint"
    s.add(User(id=1, name="a"))
    s.commit()
    assert outer.is_active and read_rows(User.__table__) == []
    s.rollback()
    s.add(User(id=2, name="b"))
    s.flush()
    s.rollback()
    assert not outer.is_active
    s.close()
    assert read_rows(User.__table__) == []


def test_default_mode_inside_callers_savepoint_uses_its_own(conn, User, read_rows):
    outer = conn.begin()
    sp = conn.begin_nested()
    s = Session(bind=conn)
    s.add(User(id=1, name="a"))
    s.commit()
    s.add(User(id=2, name="b"))
    s.flush()
    s.rollback()  # only the Session's savepoint
    assert sp.is_active and outer.is_active
    s.close()
    sp.commit()
    outer.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_connection_without_transaction_is_committed_by_session(conn, User, read_rows):
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    s.add(User(id=1, name="a"))
    s.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]
    s.close()


def test_sessionmaker_passes_join_transaction_mode(conn, User, read_rows):
    outer = conn.begin()
    maker = sessionmaker(bind=conn, join_transaction_mode="create_savepoint")
    with maker() as s:
        assert s.join_transaction_mode == "create_savepoint"
        s.add(User(id=1, name="a"))
        s.commit()
    outer.rollback()
    assert read_rows(User.__table__) == []


def test_unknown_join_transaction_mode_is_refused(engine):
    with pytest.raises(exc.ArgumentError, match="join_transaction_mode='savepoint'"):
        Session(engine, join_transaction_mode="savepoint")
