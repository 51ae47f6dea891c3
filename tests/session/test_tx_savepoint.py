"""begin_nested(): SAVEPOINTs to any depth, and rollback to exactly the state
from before the savepoint, on every backend (read back through a separate
connection)."""

import pytest
from sqlalchemy import Column, Integer, String

from _tx_support import assert_released
from datamapper import exc, inspect


@pytest.fixture
def Item(Base, engine):
    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False, unique=True)

    Base.metadata.create_all(engine)
    return Item


def test_savepoint_rollback_keeps_work_before_it(session, User, read_rows, sql_log):
    u1, u2, u3 = User(id=1, name="u1"), User(id=2, name="u2"), User(id=3, name="u3")
    session.add(u1)
    session.add(u2)
    session.begin_nested()
    session.add(u3)
    session.rollback()  # rolls back u3, keeps u1 and u2
    assert u3 not in session and inspect(u3).transient
    assert u1 in session and u2 in session
    session.commit()
    assert read_rows(User.__table__) == [(1, "u1", None), (2, "u2", None)]
    assert len(sql_log.matching("SAVEPOINT")) == 1
    assert len(sql_log.matching("ROLLBACK TO SAVEPOINT")) == 1


def test_begin_nested_flushes_first_even_without_autoflush(make_session, User, sql_log):
    s = make_session(autoflush=False)
    s.add(User(id=1, name="a"))
    s.begin_nested()
    inserts = [i for i, st in enumerate(sql_log.statements) if st.startswith("INSERT")]
    savepoints = [i for i, st in enumerate(sql_log.statements) if st.startswith("SAVEPOINT")]
    assert inserts and savepoints and inserts[0] < savepoints[0]
    s.rollback()
    s.rollback()


def test_savepoint_rollback_restores_exact_pre_savepoint_state(session, User, read_rows):
    kept = User(id=1, name="kept")
    changed = User(id=2, name="before")
    doomed = User(id=3, name="doomed")
    session.add_all([kept, changed, doomed])
    session.commit()
    changed.name = "changed-before-savepoint"
    pre_new = User(id=4, name="pending-before")
    session.add(pre_new)

    sp = session.begin_nested()
    assert session.in_nested_transaction()
    added = User(id=5, name="added-inside")
    session.add(added)
    session.delete(doomed)
    changed.name = "changed-inside"
    kept.note = "noted-inside"
    session.flush()
    assert read_rows(User.__table__) == [(1, "kept", None), (2, "before", None),
                                         (3, "doomed", None)]
    session.rollback()

    assert not sp.is_active and not session.in_nested_transaction()
    assert session.is_active
    # objects added after the savepoint: transient again, out of the session
    assert inspect(added).transient and added not in session
    # objects deleted after it: persistent again
    assert inspect(doomed).persistent and doomed in session
    # work from before the savepoint is intact (it was flushed by begin_nested)
    assert inspect(pre_new).persistent and pre_new in session
    assert changed.name == "changed-before-savepoint"
    assert kept.note is None
    assert not session.new and not session.deleted and not session.dirty
    session.commit()
    assert read_rows(User.__table__) == [
        (1, "kept", None), (2, "changed-before-savepoint", None), (3, "doomed", None),
        (4, "pending-before", None)]
    assert_released(session.get_bind())


def test_savepoint_rollback_of_unflushed_changes(session, User, read_rows):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.begin_nested()
    u.name = "b"
    extra = User(id=2, name="x")
    session.add(extra)
    session.delete(u)  # never flushed
    session.rollback()
    assert u in session and not inspect(u).deleted
    assert u.name == "a"
    assert extra not in session
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_savepoints_nest_to_any_depth_and_roll_back_one_level(session, User, read_rows,
                                                              sql_log, depth):
    session.add(User(id=100, name="root"))
    levels = []
    for i in range(1, depth + 1):
        levels.append(session.begin_nested())
        session.add(User(id=i, name=f"level{i}"))
        session.flush()
    assert len(sql_log.matching("SAVEPOINT")) == depth
    # roll back the innermost, release the others
    session.rollback()
    assert not levels[-1].is_active
    for _ in range(depth - 1):
        session.commit()
    assert not session.in_nested_transaction()
    session.commit()
    expected = [(i, f"level{i}", None) for i in range(1, depth)] + [(100, "root", None)]
    assert read_rows(User.__table__) == expected
    assert len(sql_log.matching("RELEASE SAVEPOINT")) == depth - 1


def test_middle_savepoint_rollback_discards_inner_ones(session, User, read_rows):
    outer = User(id=1, name="outer")
    session.add(outer)
    middle = session.begin_nested()
    mid = User(id=2, name="middle")
    session.add(mid)
    session.begin_nested()
    inner = User(id=3, name="inner")
    session.add(inner)
    session.delete(outer)
    session.flush()
    middle.rollback()  # closes the inner savepoint too
    assert not session.in_nested_transaction()
    # what the inner savepoint did is undone in the session as well
    assert inspect(inner).transient and inspect(mid).transient
    assert inspect(outer).persistent and outer in session
    session.add(User(id=4, name="after"))
    session.commit()
    assert read_rows(User.__table__) == [(1, "outer", None), (4, "after", None)]


def test_nested_commit_then_outer_rollback_undoes_everything(session, User, read_rows):
    session.add(User(id=1, name="a"))
    with session.begin_nested():
        session.add(User(id=2, name="b"))
    assert session.in_transaction() and not session.in_nested_transaction()
    session.rollback()
    assert read_rows(User.__table__) == []
    assert session.query(User).all() == []


def test_released_savepoint_objects_are_expunged_by_outer_rollback(session, User):
    with session.begin_nested():
        inner = User(id=2, name="b")
        session.add(inner)
    assert inspect(inner).persistent
    session.rollback()
    assert inspect(inner).transient


def test_record_loop_skips_failing_records_and_commits_the_others(session, Item, read_rows):
    session.add(Item(id=1, name="taken"))
    session.commit()
    records = [Item(id=10, name="a"), Item(id=11, name="taken"), Item(id=12, name="b"),
               Item(id=1, name="dup-key"), Item(id=13, name="c")]
    skipped = []
    for record in records:
        try:
            with session.begin_nested():
                session.add(record)
        except exc.IntegrityError:
            skipped.append(record.id)
    assert skipped == [11, 1]
    assert session.is_active
    session.commit()
    assert read_rows(Item.__table__) == [(1, "taken"), (10, "a"), (12, "b"), (13, "c")]
    assert inspect(records[1]).transient and inspect(records[3]).transient


def test_failed_flush_inside_savepoint_leaves_outer_transaction_usable(session, Item,
                                                                       read_rows):
    session.add(Item(id=1, name="a"))
    sp = session.begin_nested()
    session.add(Item(id=2, name="a"))
    with pytest.raises(exc.IntegrityError):
        session.flush()
    # the savepoint is inactive until rolled back; the root is not
    assert not sp.is_active
    with pytest.raises(exc.PendingRollbackError):
        session.flush()
    session.rollback()
    assert session.is_active and not session.in_nested_transaction()
    session.add(Item(id=3, name="c"))
    session.commit()
    assert read_rows(Item.__table__) == [(1, "a"), (3, "c")]


def test_savepoint_context_manager_rolls_back_on_error(session, User, read_rows):
    session.add(User(id=1, name="a"))
    with pytest.raises(ZeroDivisionError), session.begin_nested():
        session.add(User(id=2, name="b"))
        session.flush()
        1 / 0
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_savepoint_covers_every_connection_in_use(Base, other_engine, make_session,
                                                  read_rows, engine):
    class A(Base):
        __tablename__ = "a_side"
        id = Column(Integer, primary_key=True)

    class B(Base):
        __tablename__ = "b_side"
        id = Column(Integer, primary_key=True)

    A.__table__.create(engine)
    B.__table__.create(other_engine)
    other = other_engine
    s = make_session(binds={A: engine, B: other})
    s.add_all([A(id=1), B(id=1)])
    s.begin_nested()
    s.add_all([A(id=2), B(id=2)])
    s.flush()
    s.rollback()
    s.commit()
    assert read_rows(A.__table__) == [(1,)]
    with other.connect() as conn:
        assert conn.execute(B.__table__.select()).all() == [(1,)]
    assert_released(engine, other)
