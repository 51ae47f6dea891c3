"""A load of many rows builds its objects with the cycle collector paused; afterwards
the collector is on again, the objects are not left in the young generations (where
the next collection would scan them all), and objects the program froze itself
(``gc.freeze()``) stay frozen."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import event, joinedload, relationship, select

# the test harness freezes what outlives the tests (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("unfrozen_gc")

N = 1200  # above the number of rows from which the collector is paused


@pytest.fixture
def tree(Base, engine, make_session):
    class Kid(Base):
        __tablename__ = "gc_kid"
        id = Column(Integer, primary_key=True)
        mom_id = Column(Integer, ForeignKey("gc_mom.id"))
        name = Column(String(20))

    class Mom(Base):
        __tablename__ = "gc_mom"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        kids = relationship(Kid, order_by=Kid.id)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Mom(id=i, name=f"m{i}", kids=[Kid(id=2 * i + j, name=f"k{i}.{j}")
                                             for j in (0, 1)]) for i in range(1, N + 1)])
    s.commit()
    s.close()
    return Mom, Kid


def _young_ids() -> set[int]:
    return {id(o) for g in (0, 1) for o in gc.get_objects(generation=g)}


@pytest.mark.parametrize("how", ["query", "select", "joined"])
def test_a_large_load_leaves_its_objects_out_of_the_young_generations(tree, make_session,
                                                                       how):
    Mom, Kid = tree
    s = make_session()
    if how == "query":
        got = s.query(Kid).all()
    elif how == "select":
        got = s.scalars(select(Kid)).all()
    else:
        got = s.query(Mom).options(joinedload(Mom.kids)).all()
        assert [k.name for k in got[0].kids] == ["k1.0", "k1.1"]
    assert len(got) == (N if how == "joined" else 2 * N)
    assert gc.isenabled()
    young = _young_ids()
    assert not any(id(o) in young for o in got)
    gc.collect()  # the objects the session holds outlive a full collection
    assert len({id(o) for o in got}) == len(got) and all(o in s for o in got)


def test_objects_the_program_froze_stay_frozen(tree, make_session):
    _Mom, Kid = tree
    s = make_session()
    kept = [[]]  # a container of the program's, frozen below
    gc.freeze()
    try:
        got = s.query(Kid).all()
        assert len(got) == 2 * N and gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for g in (0, 1, 2) for o in gc.get_objects(generation=g))
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects(generation=2))


def test_a_failing_large_eager_load_switches_the_collector_back_on(tree, make_session):
    Mom, _Kid = tree
    s = make_session()
    with pytest.raises(Exception, match="nope"):
        s.query(Mom).options(joinedload(Mom.kids)).filter(
            Mom.id == select(Column("nope")).scalar_subquery()).all()
    assert gc.isenabled()


@pytest.mark.parametrize("how", ["query", "select"])
@pytest.mark.parametrize("rows", [3, 2 * N])
def test_a_load_leaves_the_collector_as_the_program_had_it(tree, make_session, how, rows):
    """The collector is paused from the fetch on: switched back on after a load, and
    left off for a program that switched it off itself."""
    _Mom, Kid = tree
    for enabled in (True, False):
        s = make_session()
        if not enabled:
            gc.disable()
        try:
            if how == "query":
                got = s.query(Kid).filter(Kid.id <= rows + 1).all()
            else:
                got = s.scalars(select(Kid).where(Kid.id <= rows + 1)).all()
            assert len(got) == rows
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
        s.close()


@pytest.mark.parametrize("how", ["query", "select"])
def test_a_failing_plain_load_switches_the_collector_back_on(tree, make_session, how):
    _Mom, Kid = tree
    s = make_session()
    bad = Kid.id == select(Column("nope")).scalar_subquery()
    with pytest.raises(Exception, match="nope"):
        if how == "query":
            s.query(Kid).filter(bad).all()
        else:
            s.scalars(select(Kid).where(bad)).all()
    assert gc.isenabled()


def test_an_error_while_building_many_objects_switches_the_collector_back_on(
        tree, make_session):
    _Mom, Kid = tree
    seen = []

    def on_load(target, _context):
        seen.append(target)
        if len(seen) == N:
            raise RuntimeError("load handler failed")

    event.listen(Kid, "load", on_load)
    try:
        s = make_session()
        with pytest.raises(RuntimeError, match="load handler failed"):
            s.query(Kid).all()
        assert gc.isenabled()
    finally:
        event.remove(Kid, "load", on_load)
