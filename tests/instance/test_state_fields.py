"""Every way an InstanceState comes to be sets every one of its slots, from the
one table of fresh values (instance.state.FRESH_FIELDS): the constructor, a new
object's first state, rows loaded (the generated loop and the general one), a
merged copy, copy.copy / deepcopy and pickling."""

from __future__ import annotations

import copy
import pickle

import pytest
from sqlalchemy import Column, Integer, String

import _pickle_models
from datamapper import event, inspect
from datamapper.instance import state as state_mod
from datamapper.instance.state import FRESH_FIELDS, InstanceState, state_init_source

SLOTS = InstanceState.__slots__


def unset_slots(state):
    missing = []
    for name in SLOTS:
        try:
            getattr(state, name)
        except AttributeError:
            missing.append(name)
    return missing


def test_the_fresh_values_name_every_slot_once():
    assert sorted(FRESH_FIELDS) == sorted(SLOTS)
    assert len(set(SLOTS)) == len(SLOTS)


def test_init_source_refuses_names_that_are_not_slots():
    with pytest.raises(ValueError, match="not InstanceState slots: \\['_keyy'\\]"):
        state_init_source("s", "", _keyy="1")


def test_constructor_and_first_state_set_every_slot(User):
    u = User(name="a")
    assert unset_slots(inspect(u)) == []
    st = InstanceState(u, inspect(User))
    assert unset_slots(st) == []
    assert (st._key, st.session_id, st._committed, st.modified, st._deleted) == (
        None, None, None, False, False)
    st2 = state_mod.new_state(u, inspect(User))
    assert unset_slots(st2) == []
    assert {n: getattr(st2, n) for n in SLOTS} == {n: getattr(st, n) for n in SLOTS}


def _loaded(session, User):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    session.close()
    return session.query(User).order_by(User.id).all()


def test_rows_loaded_by_the_generated_loop_set_every_slot(session, User):
    users = _loaded(session, User)
    assert [u.id for u in users] == [1, 2]
    for u in users:
        st = inspect(u)
        assert unset_slots(st) == []
        assert st.persistent and st.session_id == session.hash_key
        assert st.identity == (u.id,)


def test_rows_loaded_by_the_general_loop_set_every_slot(session, User):
    seen = []
    event.listen(User, "load", lambda obj, ctx: seen.append(obj))  # (not the fast loop)
    users = _loaded(session, User)
    assert seen == users
    for u in users:
        assert unset_slots(inspect(u)) == []
        assert inspect(u).key == (User, (u.id,), None)


def test_a_composite_key_row_sets_every_slot(session, Base, engine):
    class Pair(Base):
        __tablename__ = "pairs"
        a = Column(Integer, primary_key=True)
        b = Column(Integer, primary_key=True)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    session.add(Pair(a=1, b=2, name="x"))
    session.commit()
    session.close()
    (p,) = session.query(Pair).all()
    assert unset_slots(inspect(p)) == []
    assert inspect(p).identity == (1, 2)


def test_a_merged_copy_sets_every_slot(session, User):
    detached = User(id=5, name="d")
    merged = session.merge(detached)
    assert merged is not detached
    assert unset_slots(inspect(merged)) == []
    assert inspect(merged).pending


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_copied_and_unpickled_states_set_every_slot(session, how):
    User = _pickle_models.User
    try:
        inspect(User)
    except Exception:  # another test's clear_mappers() unmapped it: map it again
        import importlib

        User = importlib.reload(_pickle_models).User
    u = User(id=1, name="a")
    dup = {"copy": copy.copy, "deepcopy": copy.deepcopy,
           "pickle": lambda o: pickle.loads(pickle.dumps(o))}[how](u)
    st = inspect(dup)
    assert st is not inspect(u)
    assert unset_slots(st) == []
    assert st.transient
