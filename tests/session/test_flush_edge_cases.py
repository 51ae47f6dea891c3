"""More single-table flush behaviour: what is (not) sent, partial flushes,
changes made while detached, larger batches."""

import pytest
from sqlalchemy import Column, Integer, String, text

from datamapper import exc, inspect


@pytest.fixture
def Item(Base, engine):
    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        counter = Column(Integer, nullable=False, default=0)

    Base.metadata.create_all(engine)
    return Item


def test_flush_of_empty_session_sends_nothing(session, Item, sql_log):
    sql_log.clear()
    session.flush()
    assert sql_log.statements == []


def test_flush_of_clean_loaded_objects_sends_nothing(session, Item, sql_log):
    session.add_all([Item(id=i, name="x") for i in range(1, 4)])
    session.commit()
    objs = session.query(Item).all()
    assert len(objs) == 3
    sql_log.clear()
    session.flush()
    session.commit()
    assert sql_log.matching("INSERT") == []
    assert sql_log.matching("UPDATE") == []
    assert sql_log.matching("DELETE") == []


def test_change_then_change_back_sends_no_update(session, Item, sql_log):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    it.name = "b"
    it.name = "a"
    assert not session.is_modified(it)
    sql_log.clear()
    session.flush()
    assert sql_log.matching("UPDATE") == []


def test_expired_change_is_not_sent(session, Item, sql_log, read_rows):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    it.name = "b"
    session.expire(it, ["name"])
    sql_log.clear()
    session.commit()
    assert sql_log.matching("UPDATE") == []
    assert read_rows(Item.__table__) == [(1, "a", 0)]


def test_partial_flush_of_dirty_object_leaves_others_dirty(session, Item, sql_log, read_rows):
    session.add_all([Item(id=1, name="a"), Item(id=2, name="b")])
    session.commit()
    a, b = session.get(Item, 1), session.get(Item, 2)
    a.name, b.name = "a2", "b2"
    sql_log.clear()
    session.flush([a])
    assert len(sql_log.matching("UPDATE")) == 1
    assert b in session.dirty and a not in session.dirty
    session.commit()
    assert read_rows(Item.__table__) == [(1, "a2", 0), (2, "b2", 0)]


def test_change_made_while_detached_is_flushed_after_add(make_session, Item, read_rows, sql_log):
    s1 = make_session(expire_on_commit=False)
    it = Item(id=1, name="a")
    s1.add(it)
    s1.commit()
    s1.close()
    it.name = "changed while detached"
    assert inspect(it).detached
    s2 = make_session()
    s2.add(it)
    assert it in s2.dirty
    sql_log.clear()
    s2.commit()
    (update,) = sql_log.matching("UPDATE")
    assert "counter" not in update.split("WHERE")[0]
    assert read_rows(Item.__table__) == [(1, "changed while detached", 0)]


def test_sql_expression_assigned_on_many_objects(session, Item, read_rows):
    session.add_all([Item(id=i, name="x", counter=i * 10) for i in range(1, 4)])
    session.commit()
    objs = session.query(Item).order_by(Item.id).all()
    for o in objs:
        o.counter = Item.counter + 1
    objs[0].name = "renamed"
    session.flush()
    assert [o.counter for o in objs] == [11, 21, 31]
    assert objs[0].name == "renamed"
    session.commit()
    assert read_rows(Item.__table__) == [(1, "renamed", 11), (2, "x", 21), (3, "x", 31)]


def test_many_server_generated_keys_match_their_rows(session, Item, sql_log, read_rows):
    n = 2500
    objs = [Item(name=f"row{i}", counter=i) for i in range(n)]
    session.add_all(objs)
    sql_log.clear()
    session.flush()
    assert len(sql_log.matching("INSERT")) <= 10
    assert len({o.id for o in objs}) == n
    for o in objs:
        assert inspect(o).identity == (o.id,)
    session.commit()
    by_id = {r[0]: (r[1], r[2]) for r in read_rows(Item.__table__)}
    assert len(by_id) == n
    for i, o in enumerate(objs):
        assert by_id[o.id] == (f"row{i}", i)


def test_quotes_and_unicode_roundtrip_through_update(session, Item, read_rows):
    session.add(Item(id=1, name="plain"))
    session.commit()
    it = session.get(Item, 1)
    value = 'O\'Brien "quoted" ; -- ünïcødé ✓'
    it.name = value
    session.commit()
    assert read_rows(Item.__table__) == [(1, value, 0)]
    session.expire_all()
    assert session.get(Item, 1).name == value


def test_get_of_expired_object_whose_row_is_gone_returns_none(engine, session, Item, read_rows):
    it = Item(id=1, name="a")
    session.add(it)
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM items"))
    assert session.get(Item, 1) is None
    # the key is free again: a new object may take it
    session.add(Item(id=1, name="new"))
    session.commit()
    assert read_rows(Item.__table__) == [(1, "new", 0)]


def test_string_primary_key(Base, engine, make_session, read_rows):
    class Tag(Base):
        __tablename__ = "tags"
        code = Column(String(20), primary_key=True)
        label = Column(String(50))

    Base.metadata.create_all(engine)
    s = make_session()
    t = Tag(code="py", label="Python")
    s.add(t)
    s.commit()
    assert s.get(Tag, "py") is t
    t.label = "Python 3"
    s.commit()
    assert read_rows(Tag.__table__) == [("py", "Python 3")]
    s.delete(t)
    s.commit()
    assert read_rows(Tag.__table__) == []


def test_close_discards_unflushed_changes(session, Item, read_rows):
    session.add(Item(id=1, name="a"))
    session.commit()
    session.get(Item, 1).name = "b"
    session.add(Item(id=2, name="c"))
    session.close()
    assert read_rows(Item.__table__) == [(1, "a", 0)]


def test_leaving_with_block_without_commit_rolls_back(engine, Item, read_rows):
    from datamapper import Session

    with Session(engine) as s:
        s.add(Item(id=1, name="a"))
        s.flush()
    assert read_rows(Item.__table__) == []


def test_delete_of_pending_object_raises_and_keeps_it_pending(session, Item):
    it = Item(id=1, name="a")
    session.add(it)
    with pytest.raises(exc.InvalidRequestError):
        session.delete(it)
    assert inspect(it).pending
    assert it in session.new and it not in session.deleted


def test_refresh_of_pending_object_raises(session, Item):
    it = Item(id=1, name="a")
    session.add(it)
    with pytest.raises(exc.InvalidRequestError):
        session.refresh(it)
    assert inspect(it).pending


def test_add_of_none_raises_unmapped_instance_error(session):
    with pytest.raises(exc.UnmappedInstanceError):
        session.add(None)
    assert len(session.new) == 0


def test_primary_key_switch_of_expired_object_then_rollback(session, Item, read_rows):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    session.expire(it)
    it.id = 5
    session.flush()
    assert inspect(it).identity == (5,)
    assert session.get(Item, 5) is it
    session.rollback()
    assert inspect(it).identity == (1,)
    assert session.get(Item, 1) is it
    assert session.get(Item, 5) is None
    assert (it.id, it.name) == (1, "a")
    assert read_rows(Item.__table__) == [(1, "a", 0)]


def test_primary_key_switch_then_delete_then_rollback(session, Item, read_rows):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    it.id = 2
    session.flush()
    session.delete(it)
    session.flush()
    assert inspect(it).deleted
    session.rollback()
    assert inspect(it).persistent
    assert inspect(it).identity == (1,)
    assert session.get(Item, 1) is it
    assert read_rows(Item.__table__) == [(1, "a", 0)]


def test_primary_key_switch_committed_then_next_switch_rolled_back(session, Item, read_rows):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    it.id = 2
    session.commit()
    assert inspect(it).identity == (2,)
    it.id = 3
    session.flush()
    session.rollback()
    assert inspect(it).identity == (2,)
    assert it.id == 2
    assert session.get(Item, 2) is it
    assert read_rows(Item.__table__) == [(2, "a", 0)]


def test_primary_key_of_pending_object_changed_before_flush(session, Item, read_rows):
    it = Item(id=1, name="a")
    session.add(it)
    it.id = 7
    session.commit()
    assert inspect(it).identity == (7,)
    assert read_rows(Item.__table__) == [(7, "a", 0)]


def test_flush_of_a_parent_writes_its_new_collection_members(models, make_session, read_rows):
    """flush([parent]) writes the pending members of the parent's one-to-many
    collections with it (they take its key in that flush); other pending objects
    wait."""
    User, Address = models
    s = make_session()
    a1, a2 = Address(id=1, email="a1"), Address(id=2, email="a2")
    u = User(id=1, name="u", addresses=[a1, a2])
    s.add(u)
    s.flush([u])
    assert not s.new and {a1, a2, u} <= set(s)
    s.commit()
    assert read_rows(Address.__table__) == [(1, "a1", 1), (2, "a2", 1)]

    persistent = s.get(User, 1)
    a3 = Address(id=3, email="a3")
    persistent.addresses.append(a3)  # a persistent parent: its added member goes too
    other = User(id=2, name="other")
    s.add(other)
    s.flush([persistent])
    assert a3 not in s.new and other in s.new
    s.commit()
    assert read_rows(Address.__table__)[-1] == (3, "a3", 1)
    assert read_rows(User.__table__) == [(1, "u"), (2, "other")]
