"""Shortcuts a flush of many objects takes, checked against what the database holds:
the cycle collector paused for add_all() and the flush leaves the states made out of
the young generations (and the program's frozen objects frozen, and the collector on
after a failure); the identity check skips new rows whose key the database assigns,
but not those whose key a link copies from a related object; the planner looks for
post-update links only when a relationship or a broken cycle made one; the pass for
changed primary keys finds the one changed key among many plain changes."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.exc import IntegrityError

from datamapper import Session, inspect, relationship
from datamapper.exc import FlushError

N = 1200  # above the number of objects from which the collector is paused


@pytest.fixture
def tree(Base, engine):
    class Kid(Base):
        __tablename__ = "lfs_kid"
        id = Column(Integer, primary_key=True)
        mom_id = Column(Integer, ForeignKey("lfs_mom.id"), nullable=False)
        name = Column(String(20), nullable=False)

    class Mom(Base):
        __tablename__ = "lfs_mom"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        kids = relationship(Kid)

    class Info(Base):  # its key is its parent's key
        __tablename__ = "lfs_info"
        mom_id = Column(Integer, ForeignKey("lfs_mom.id"), primary_key=True)
        text = Column(String(20))

    Mom.infos = relationship(Info)
    Base.metadata.create_all(engine)
    return Mom, Kid, Info


def _young_ids() -> set[int]:
    return {id(o) for g in (0, 1) for o in gc.get_objects(generation=g)}


@pytest.mark.usefixtures("unfrozen_gc")
def test_states_made_by_a_large_add_all_and_flush_leave_the_young_generations(
        tree, engine, read_rows):
    Mom, Kid, _Info = tree
    moms = [Mom(name=f"m{i}", kids=[Kid(name=f"k{i}")]) for i in range(N)]
    with Session(engine) as s:
        s.add_all(moms)
        assert gc.isenabled()
        states = [inspect(m) for m in moms] + [inspect(m.kids[0]) for m in moms]
        young = _young_ids()
        assert not any(id(st) in young for st in states)
        s.flush()
        assert gc.isenabled()
        young = _young_ids()
        assert not any(id(st) in young for st in states)
        s.commit()
        ids = {m.name: m.id for m in moms}
    kids = read_rows(Kid.__table__)
    assert len(kids) == N
    assert all(mom_id == ids[f"m{name[1:]}"] for _id, mom_id, name in kids)


@pytest.mark.usefixtures("unfrozen_gc")
def test_objects_the_program_froze_stay_frozen_through_add_all_and_flush(tree, engine):
    Mom, Kid, _Info = tree
    kept = [[]]  # a container of the program's, frozen below
    gc.freeze()
    try:
        with Session(engine) as s:
            s.add_all([Mom(name=f"m{i}", kids=[Kid(name="k")]) for i in range(N)])
            s.flush()
            assert gc.isenabled() and gc.get_freeze_count() > 0
            assert not any(o is kept for g in (0, 1, 2) for o in gc.get_objects(generation=g))
            s.rollback()
    finally:
        gc.unfreeze()


def test_a_failing_large_flush_switches_the_collector_back_on(tree, engine, read_rows):
    Mom, Kid, _Info = tree
    moms = [Mom(name=f"m{i}", kids=[Kid(name=f"k{i}")]) for i in range(N)]
    moms[-1].kids[0].name = None  # NOT NULL: the children's INSERT fails
    with Session(engine) as s:
        s.add_all(moms)
        with pytest.raises(IntegrityError):
            s.flush()
        assert gc.isenabled()
        s.rollback()
        assert all(inspect(m).transient for m in moms)
        assert all(m.id is None for m in moms)
    assert read_rows(Mom.__table__) == []


# -- the identity check ----------------------------------------------------------------
def test_a_given_key_among_many_generated_ones_conflicts_with_a_persistent_row(
        tree, engine, read_rows):
    Mom, _Kid, _Info = tree
    with Session(engine) as s:
        old = Mom(id=5, name="old")
        s.add(old)
        s.commit()
        s.add_all([Mom(name=f"m{i}") for i in range(N)] + [Mom(id=5, name="new")])
        with pytest.raises(FlushError, match="conflicts with persistent instance"):
            s.flush()
        s.rollback()
    assert read_rows(Mom.__table__) == [(5, "old")]


def test_two_new_objects_with_one_key_among_many_are_refused(tree, engine, read_rows):
    Mom, _Kid, _Info = tree
    with Session(engine) as s:
        s.add_all([Mom(name=f"m{i}") for i in range(N)]
                  + [Mom(id=7, name="a"), Mom(id=7, name="b")])
        with pytest.raises(FlushError, match="same identity key"):
            s.flush()
        s.rollback()
    assert read_rows(Mom.__table__) == []


def test_a_key_copied_from_the_parent_conflicts_with_the_persistent_row_holding_it(
        tree, engine, read_rows):
    """Info's key is its parent's key, copied by the flush: a second Info of a parent
    that has one is a conflict, found before any SQL, although its own key is None."""
    Mom, _Kid, Info = tree
    with Session(engine) as s:
        mom = Mom(id=3, name="m", infos=[Info(text="first")])
        s.add(mom)
        s.commit()
        mom.infos  # the first Info in the session
        s.add_all([Mom(name=f"m{i}") for i in range(N)])
        mom.infos.append(Info(text="second"))
        with pytest.raises(FlushError, match="conflicts with persistent instance"):
            s.flush()
        s.rollback()
    assert read_rows(Info.__table__) == [(3, "first")]


# -- post-update links -------------------------------------------------------------------
def test_a_cycle_of_nullable_keys_among_new_rows_is_broken_by_a_post_update(
        Base, engine, read_rows):
    class Ship(Base):
        __tablename__ = "lfs_ship"
        id = Column(Integer, primary_key=True)
        captain_id = Column(Integer, ForeignKey("lfs_sailor.id", use_alter=True))
        captain = relationship("Sailor", foreign_keys=[captain_id])

    class Sailor(Base):
        __tablename__ = "lfs_sailor"
        id = Column(Integer, primary_key=True)
        ship_id = Column(Integer, ForeignKey("lfs_ship.id"))
        ship = relationship(Ship, foreign_keys=[ship_id])

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        ship = Ship()
        sailor = Sailor(ship=ship)
        ship.captain = sailor
        s.add(ship)
        s.commit()
        ship_id, sailor_id = ship.id, sailor.id
    assert read_rows(Ship.__table__) == [(ship_id, sailor_id)]
    assert read_rows(Sailor.__table__) == [(sailor_id, ship_id)]


def test_post_update_relationship_writes_its_key_after_the_rows(Base, engine, read_rows):
    class Node(Base):
        __tablename__ = "lfs_node"
        id = Column(Integer, primary_key=True)
        favorite_id = Column(Integer, ForeignKey("lfs_node.id"))
        favorite = relationship("Node", remote_side=[id], post_update=True)

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        nodes = [Node() for _ in range(3)]
        nodes[0].favorite, nodes[1].favorite = nodes[2], nodes[0]
        s.add_all(nodes)
        s.commit()
        ids = [n.id for n in nodes]
    assert read_rows(Node.__table__) == sorted([(ids[0], ids[2]), (ids[1], ids[0]),
                                                (ids[2], None)])


# -- changed primary keys ------------------------------------------------------------------
def test_one_changed_key_among_many_plain_changes_moves_its_children(
        Base, engine, read_rows):
    """The children of the one parent whose key changed take the new key
    (passive_updates=False), among many parents changed otherwise."""

    class Pup(Base):
        __tablename__ = "lfs_pup"
        id = Column(Integer, primary_key=True)
        dog_id = Column(Integer)  # (no constraint: the parent's key changes first)
        name = Column(String(20))

    class Dog(Base):
        __tablename__ = "lfs_dog"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        pups = relationship(Pup, primaryjoin="Dog.id == foreign(Pup.dog_id)",
                            passive_updates=False)

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Dog(id=i, name=f"d{i}", pups=[Pup(id=i, name=f"p{i}")])
                   for i in range(1, 101)])
        s.commit()
        dogs = s.query(Dog).order_by(Dog.id).all()
        for d in dogs:
            d.name = d.name + "!"
            d.pups  # loaded
        dogs[49].id = 1000
        s.commit()
    pups = {name: dog_id for _id, dog_id, name in read_rows(Pup.__table__)}
    assert pups["p50"] == 1000
    assert pups["p49"] == 49 and pups["p51"] == 51
    assert (1000, "d50!") in read_rows(Dog.__table__)
    assert len(read_rows(Dog.__table__)) == 100
