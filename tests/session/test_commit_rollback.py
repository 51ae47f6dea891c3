"""Basic commit/rollback and what rollback does to the session's objects."""

import pytest

from datamapper import inspect


def test_rollback_undoes_flushed_changes_in_database(session, User, read_rows):
    session.add(User(id=1, name="a"))
    session.commit()
    u = session.get(User, 1)
    u.name = "b"
    session.add(User(id=2, name="c"))
    session.flush()
    session.rollback()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_rollback_expunges_objects_pending_in_transaction(session, User):
    flushed = User(id=1, name="a")
    unflushed = User(id=2, name="b")
    session.add(flushed)
    session.flush()
    session.add(unflushed)
    session.rollback()
    assert flushed not in session and unflushed not in session
    assert inspect(flushed).transient
    assert inspect(unflushed).transient
    assert len(session.identity_map) == 0


def test_rollback_restores_objects_deleted_in_transaction(session, User, read_rows):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.delete(u)
    session.flush()
    assert inspect(u).deleted
    session.rollback()
    assert inspect(u).persistent
    assert u in session
    assert session.get(User, 1) is u
    assert u.name == "a"
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_rollback_restores_object_marked_deleted_but_not_flushed(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.delete(u)
    session.rollback()
    assert u not in session.deleted
    assert inspect(u).persistent


def test_rollback_expires_remaining_persistent_objects(session, User, sql_log):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    u.name = "changed"
    session.flush()
    session.rollback()
    assert "name" in inspect(u).expired_attributes
    sql_log.clear()
    assert u.name == "a"
    assert len(sql_log.matching("SELECT")) == 1


def test_rollback_discards_unflushed_attribute_changes(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    u.name = "changed"
    session.rollback()
    assert u.name == "a"
    assert u not in session.dirty


def test_commit_expires_all_instances_by_default(session, User, sql_log):
    u = User(id=1, name="a", note="n")
    session.add(u)
    session.commit()
    state = inspect(u)
    assert {"name", "note"} <= set(state.expired_attributes)
    sql_log.clear()
    assert u.name == "a"
    assert len(sql_log.matching("SELECT")) == 1


def test_expire_on_commit_false_keeps_loaded_state(make_session, User, sql_log):
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="a")
    s.add(u)
    s.commit()
    sql_log.clear()
    assert u.name == "a"
    assert sql_log.statements == []


def test_commit_flushes_pending_changes(session, User, read_rows):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    u.name = "b"
    session.commit()
    assert read_rows(User.__table__) == [(1, "b", None)]


def test_session_usable_after_rollback(session, User, read_rows):
    session.add(User(id=1, name="a"))
    session.flush()
    session.rollback()
    session.add(User(id=2, name="b"))
    session.commit()
    assert read_rows(User.__table__) == [(2, "b", None)]


def test_failed_flush_requires_rollback_then_session_works(make_session, Base, engine, read_rows):
    from sqlalchemy import Column, Integer, String

    from datamapper import exc

    class Strict(Base):
        __tablename__ = "strict"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False, unique=True)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Strict(id=1, name="a"))
    s.commit()

    s.add(Strict(id=2, name=None))
    with pytest.raises(exc.IntegrityError) as first:
        s.flush()
    original = str(first.value.orig)

    with pytest.raises(exc.PendingRollbackError) as pending:
        s.query(Strict).all()
    assert original[:40] in str(pending.value)
    with pytest.raises(exc.PendingRollbackError):
        s.commit()
    with pytest.raises(exc.PendingRollbackError):
        s.flush()

    s.rollback()
    assert read_rows(Strict.__table__) == [(1, "a")]
    s.add(Strict(id=3, name="c"))
    s.commit()
    assert read_rows(Strict.__table__) == [(1, "a"), (3, "c")]


def test_unique_violation_rolls_back_whole_transaction(make_session, Base, engine, read_rows):
    from sqlalchemy import Column, Integer, String

    from datamapper import exc

    class Uniq(Base):
        __tablename__ = "uniq"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False, unique=True)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Uniq(id=1, name="a"))
    s.commit()
    s.add(Uniq(id=2, name="b"))
    s.flush()
    s.add(Uniq(id=3, name="a"))
    with pytest.raises(exc.IntegrityError):
        s.flush()
    with pytest.raises(exc.PendingRollbackError):
        s.query(Uniq).all()
    s.rollback()
    # id=2 was flushed in the failed transaction: gone from the database
    assert read_rows(Uniq.__table__) == [(1, "a")]
    assert s.get(Uniq, 2) is None


def test_rollback_after_failed_flush_restores_documented_state(
    make_session, Base, engine, read_rows
):
    from sqlalchemy import Column, Integer, String

    from datamapper import exc

    class Strict(Base):
        __tablename__ = "strict"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Strict(id=1, name="a"), Strict(id=2, name="b")])
    s.commit()
    changed = s.get(Strict, 1)
    changed.name = "a-changed"
    doomed = s.get(Strict, 2)
    s.delete(doomed)
    good_new = Strict(id=3, name="c")
    bad_new = Strict(id=4, name=None)
    s.add_all([good_new, bad_new])
    with pytest.raises(exc.IntegrityError):
        s.flush()
    s.rollback()
    assert inspect(good_new).transient and inspect(bad_new).transient
    assert good_new not in s and bad_new not in s
    assert inspect(doomed).persistent and doomed in s
    assert changed.name == "a"
    assert not s.is_modified(changed)
    assert read_rows(Strict.__table__) == [(1, "a"), (2, "b")]
    s.commit()
    assert read_rows(Strict.__table__) == [(1, "a"), (2, "b")]


def test_stale_data_error_requires_rollback(engine, make_session, User):
    from sqlalchemy import text

    from datamapper import exc

    s = make_session(expire_on_commit=False)
    u = User(id=1, name="a")
    s.add(u)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users"))
    u.name = "b"
    with pytest.raises(exc.StaleDataError):
        s.flush()
    with pytest.raises(exc.PendingRollbackError):
        s.query(User).all()
    s.rollback()
    assert s.query(User).all() == []


def test_begin_inside_active_transaction_raises(session, User):
    from datamapper import exc

    session.add(User(id=1, name="a"))
    session.flush()
    with pytest.raises(exc.InvalidRequestError):
        session.begin()
    session.commit()


def test_autocommit_session_begin_then_rollback_writes_nothing(engine, User, read_rows):
    from datamapper import create_session

    s = create_session(bind=engine)
    try:
        s.begin()
        s.add(User(id=1, name="a"))
        s.flush()
        s.rollback()
        assert read_rows(User.__table__) == []
        s.begin()
        s.add(User(id=2, name="b"))
        s.commit()
        assert read_rows(User.__table__) == [(2, "b", None)]
    finally:
        s.close()


def test_rollback_of_object_inserted_then_deleted_in_transaction_leaves_it_transient(
        session, User, read_rows):
    u = User(id=4, name="four")
    session.add(u)
    session.flush()
    session.delete(u)
    session.add(User(id=3, name="three"))
    session.flush()
    assert read_rows(User.__table__) == []
    session.rollback()
    assert inspect(u).transient
    assert u not in session
    assert len(session.identity_map) == 0
    # the session is usable and the object can be added again as new
    session.add(u)
    session.commit()
    assert [r[0] for r in read_rows(User.__table__)] == [4]
