"""The weak identity map drops only clean objects: new, changed, deleted,
collection-changed and orphaned objects stay held until the flush (or the
expiry or rollback that forgets their changes); with weak_identity_map=False
nothing is dropped."""

import gc

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import inspect, relationship, selectinload


@pytest.fixture
def models(Base, engine):
    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        items = relationship("Item", backref="owner", cascade="all, delete-orphan",
                             order_by="Item.id")

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        label = Column(String(50))
        owner_id = Column(Integer, ForeignKey("owners.id"))

    Base.metadata.create_all(engine)
    return Owner, Item


@pytest.fixture
def seeded(models, make_session):
    Owner, Item = models
    s = make_session()
    s.add_all([Owner(id=i, name=f"o{i}", items=[Item(id=10 * i + j, label=f"i{i}{j}")
                                                for j in (1, 2)])
               for i in (1, 2, 3, 4)])
    s.commit()
    s.close()
    return models


@pytest.fixture
def session(make_session):
    """No autoflush: each test decides when its changes are flushed."""
    return make_session(autoflush=False)


def _ids(session, cls):
    return sorted(k[1][0] for k in session.identity_map.keys() if k[0] is cls)


def test_clean_objects_with_loaded_collections_are_dropped(seeded, session):
    Owner, Item = seeded
    owners = session.query(Owner).options(selectinload(Owner.items)).all()
    lazy = session.get(Owner, 1)
    assert [i.id for i in lazy.items] == [11, 12]
    kept_collection = session.get(Owner, 2).items
    assert len(session.identity_map) == 12
    del owners, lazy
    gc.collect()
    # an object whose collection the program still holds stays, with that collection
    assert _ids(session, Owner) == [2] and _ids(session, Item) == [21, 22]
    assert session.get(Owner, 2).items is kept_collection
    del kept_collection
    gc.collect()
    assert len(session.identity_map) == 0


def test_objects_with_pending_changes_stay_until_flushed(seeded, session, read_rows):
    Owner, Item = seeded
    session.get(Owner, 1).name = "dirty"
    session.get(Owner, 2).items.append(Item(id=99, label="new member"))
    o3 = session.get(Owner, 3)
    o3.items.remove(o3.items[0])  # item 31: orphaned by removal
    del o3
    session.delete(session.get(Item, 41))
    session.add(Owner(id=5, name="new"))
    session.get(Item, 42)  # clean: dropped
    gc.collect()
    assert _ids(session, Owner) == [1, 2, 3]
    assert 31 in _ids(session, Item) and 41 in _ids(session, Item)
    assert 42 not in _ids(session, Item)
    assert sorted((type(o).__name__, o.id) for o in session.new) == [("Item", 99),
                                                                      ("Owner", 5)]
    assert [i.id for i in session.deleted] == [41]
    session.commit()
    assert read_rows(Owner.__table__) == [(1, "dirty"), (2, "o2"), (3, "o3"), (4, "o4"),
                                          (5, "new")]
    assert [r[0] for r in read_rows(Item.__table__)] == [11, 12, 21, 22, 32, 42, 99]
    gc.collect()
    assert len(session.identity_map) == 0


def test_changed_objects_are_released_by_flush(seeded, session):
    Owner, Item = seeded
    session.get(Owner, 1).name = "changed"
    session.get(Owner, 2).items.pop()
    gc.collect()
    assert _ids(session, Owner) == [1, 2]
    session.flush()
    gc.collect()
    assert len(session.identity_map) == 0
    assert not session.dirty


def test_changed_objects_are_released_by_expire(seeded, session):
    Owner, Item = seeded
    o1 = session.get(Owner, 1)
    o1.name = "changed"
    o2 = session.get(Owner, 2)
    o2.items.pop()
    session.expire(o1)
    session.expire(o2, ["items"])
    del o1, o2
    gc.collect()
    # item 22 left the collection (its owner cleared by the backref): still changed, and
    # its change remembers Owner 2 as the original value
    assert _ids(session, Owner) == [2] and _ids(session, Item) == [22]
    session.expire_all()
    gc.collect()
    assert len(session.identity_map) == 0


@pytest.mark.parametrize("flushed", [False, True], ids=["unflushed", "flushed"])
def test_changed_objects_are_released_by_rollback(seeded, session, read_rows, flushed):
    Owner, Item = seeded
    session.get(Owner, 1).name = "changed"
    session.get(Owner, 2).items.clear()
    session.get(Owner, 3).items.append(Item(id=98, label="x"))
    session.delete(session.get(Owner, 4))
    if flushed:
        session.flush()
        session.get(Owner, 3).name = "after the flush"
    gc.collect()
    assert len(session.identity_map) > 0
    session.rollback()
    gc.collect()
    assert len(session.identity_map) == 0
    assert not session._identity_map._modified
    assert not session.new and not session.dirty and not session.deleted
    assert len(read_rows(Item.__table__)) == 8


def test_strong_identity_map_drops_nothing(seeded, make_session):
    Owner, Item = seeded
    s = make_session(weak_identity_map=False)
    owners = s.query(Owner).options(selectinload(Owner.items)).all()
    ids = [id(o) for o in owners]
    s.get(Owner, 1).name = "changed"
    del owners
    gc.collect()
    assert len(s.identity_map) == 12
    s.commit()
    gc.collect()
    assert len(s.identity_map) == 12
    assert [id(s.get(Owner, i)) for i in (1, 2, 3, 4)] == ids
    assert inspect(s.get(Owner, 1)).modified is False

