"""commit() expires every object of the session (expire_on_commit), which gives each
one its ``__dict__``.  A session of many objects does that with the cycle collector
paused; afterwards the collector is on again, the dictionaries are not left in the
young generations (where the next collection would scan them all), and what the
program froze itself stays frozen."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import Column, Integer, String, insert, select

# the test harness freezes what outlives the tests (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("unfrozen_gc")

N = 1200  # above the number of objects from which the expire pass pauses the collector


@pytest.fixture
def Item(Base, engine):
    class Item(Base):
        __tablename__ = "gc_commit_item"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        value = Column(Integer)

    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(Item.__table__),
                     [{"id": i, "name": f"n{i}", "value": i} for i in range(1, N + 1)])
    return Item


def _young_ids() -> set[int]:
    return {id(o) for g in (0, 1) for o in gc.get_objects(generation=g)}


@pytest.mark.parametrize("size", [3, N])
def test_commit_expires_every_object_and_leaves_their_dicts_out_of_the_young_generations(
        Item, make_session, engine, size):
    s = make_session()
    got = s.query(Item).filter(Item.id <= size).all()
    got[0].value = -1
    s.commit()
    assert gc.isenabled()
    if size == N:
        young = _young_ids()
        assert not any(id(o.__dict__) in young for o in got)
    # every object was expired: the next read loads the committed row again
    assert all("value" not in o.__dict__ for o in got)
    with engine.connect() as conn:
        assert conn.execute(select(Item.__table__.c.value).where(
            Item.__table__.c.id == got[0].id)).scalar_one() == -1
    assert got[0].value == -1 and got[-1].value == size


def test_objects_the_program_froze_stay_frozen_through_a_large_commit(Item, make_session):
    s = make_session()
    got = s.query(Item).all()
    kept = [[]]  # a container of the program's, frozen below
    gc.freeze()
    try:
        s.commit()
        assert gc.isenabled() and gc.get_freeze_count() > 0
        assert not any(o is kept for g in (0, 1, 2) for o in gc.get_objects(generation=g))
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects(generation=2))
    assert len(got) == N and "value" not in got[0].__dict__
