"""Loaded objects keep their values where plain attributes live, whichever way
the loader stores them, and the weak identity map forgets only its own entries."""

import gc
import sys

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import inspect, joinedload, relationship
from datamapper.attributes import get_history
from datamapper.loading.rows import _direct_set_ok


def test_loaded_object_dict_holds_column_values_and_state(session, User):
    session.add(User(id=1, name="ed", note=None))
    session.commit()
    session.expunge_all()
    u = session.query(User).one()
    d = vars(u)
    assert {k: d[k] for k in ("id", "name", "note")} == {"id": 1, "name": "ed", "note": None}
    assert inspect(u).key == (User, (1,), None)
    assert inspect(u).committed_state == {}
    u.name = "jack"
    assert get_history(u, "name") == (["jack"], (), ["ed"])
    assert session.is_modified(u)


def test_mapped_subclass_of_a_builtin_type_loads_through_its_dict(Base, engine, session):
    class Tagged(Base, dict):  # type: ignore[misc]
        __tablename__ = "tagged"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    assert not _direct_set_ok(Tagged, ("id", "name"))
    session.add(Tagged(id=1, name="a"))
    session.commit()
    session.expunge_all()
    t = session.query(Tagged).one()
    assert (t.id, t.name) == (1, "a")
    assert vars(t)["name"] == "a"
    assert len(t) == 0  # the dict part is untouched


def test_direct_storage_refused_when_a_data_descriptor_shadows_a_key():
    class Plain:
        pass

    class WithProperty:
        @property
        def name(self):
            return "x"

    assert _direct_set_ok(Plain, ("id", "name"))
    assert not _direct_set_ok(WithProperty, ("id", "name"))


def test_dropping_an_expunged_object_keeps_the_reloaded_one_in_the_map(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    old = session.get(User, 1)
    session.expunge(old)
    new = session.get(User, 1)
    assert new is not old
    key = inspect(new).key
    del old
    gc.collect()
    assert session.identity_map.get(key) is new
    assert session.get(User, 1) is new


def _has_own_dict(obj):
    return any(type(r) is dict for r in gc.get_referents(obj))


@pytest.mark.skipif(sys.implementation.name != "cpython" or sys.version_info < (3, 11),
                    reason="CPython 3.11+ inline instance storage")
def test_objects_loaded_after_inserts_with_generated_keys_keep_compact_storage(
        Base, engine, make_session):
    class Row(Base):
        __tablename__ = "compact_rows"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        value = Column(Integer)

    Base.metadata.create_all(engine)
    # build, flush and commit enough objects for the interpreter to specialize
    # attribute access on the class: names first stored after that (``id``,
    # from the generated keys) must already be in the class's key table
    s = make_session()
    objs = [Row(name=f"r{i}", value=i) for i in range(200)]
    s.add_all(objs)
    s.commit()
    assert sum(o.value for o in objs) == sum(range(200))
    s.close()
    del objs
    s2 = make_session()
    loaded = s2.query(Row).order_by(Row.id).all()
    assert [r.name for r in loaded[:3]] == ["r0", "r1", "r2"]
    assert inspect(loaded[0]).key == (Row, (loaded[0].id,), None)
    assert not any(_has_own_dict(r) for r in loaded)


@pytest.mark.parametrize("fast", [True, False])
def test_generated_and_general_row_loops_load_alike(session, User, monkeypatch, fast):
    import datamapper.loading.rows as rows_mod

    monkeypatch.setattr(rows_mod, "_FAST_LOOPS", fast)
    session.add_all([User(id=i, name=f"u{i}", note=None if i % 2 else "n") for i in range(1, 6)])
    session.commit()
    session.expire(session.get(User, 3), ["name"])
    u2 = session.get(User, 2)
    u2.name = "changed, not flushed"
    with session.no_autoflush:  # the change stays unflushed: the load must keep it
        loaded = session.query(User).order_by(User.id).all()
    assert [(u.id, u.name, u.note) for u in loaded] == [
        (1, "u1", None), (2, "changed, not flushed", "n"), (3, "u3", None), (4, "u4", "n"),
        (5, "u5", None)]
    assert loaded[1] is u2
    st = inspect(loaded[0])
    assert st.persistent and st.key == (User, (1,), None) and not st.modified
    with session.no_autoflush:
        again = session.query(User).populate_existing().filter(User.id == 2).one()
    assert again is u2 and u2.name == "u2"  # overwritten from the row


@pytest.mark.skipif(sys.implementation.name != "cpython" or sys.version_info < (3, 11),
                    reason="CPython 3.11+ inline instance storage")
def test_changing_loaded_objects_keeps_compact_storage_and_writes_the_change(
        session, User, make_session, engine):
    session.add_all([User(id=i, name=f"u{i}", note="n") for i in range(1, 4)])
    session.commit()
    s2 = make_session()
    loaded = s2.query(User).order_by(User.id).all()
    for u in loaded:
        u.name = u.name + "!"
    assert not any(_has_own_dict(u) for u in loaded)
    assert get_history(loaded[0], "name") == (["u1!"], (), ["u1"])
    assert s2.is_modified(loaded[0])
    loaded[1].name = "u2"  # back to the loaded value: nothing to write for it
    s2.commit()
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, name FROM users ORDER BY id").all()
    assert [tuple(r) for r in rows] == [(1, "u1!"), (2, "u2"), (3, "u3!")]


def test_writes_over_none_expired_and_deleted_values_keep_their_history(session, User):
    session.add_all([User(id=1, name="a", note=None), User(id=2, name="b", note="x")])
    session.commit()
    u1, u2 = session.get(User, 1), session.get(User, 2)
    u1.note = "now set"  # the loaded value is None
    assert get_history(u1, "note") == (["now set"], (), [None])
    session.expire(u2, ["name"])
    u2.name = "renamed"  # expired: the old value is not known
    assert inspect(u2).attrs.name.history.added == ["renamed"]
    del u2.note
    u2.note = "again"
    assert get_history(u2, "note") == (["again"], (), ["x"])
    session.commit()
    assert (u1.note, u2.name, u2.note) == ("now set", "renamed", "again")


def test_loading_bypasses_a_base_class_setattr(Base, engine, make_session):
    calls = []

    class Recording:
        def __setattr__(self, key, value):
            calls.append(key)
            super().__setattr__(key, value)

    class Audited(Recording, Base):
        __tablename__ = "audited"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Audited(id=1, name="a"))
    s.commit()
    s.close()
    calls.clear()
    s2 = make_session()
    a = s2.query(Audited).one()
    assert calls == []  # loaded values are not writes of the program's
    assert vars(a)["name"] == "a" and a.name == "a"
    a.extra = 1  # an attribute of the program's own goes through the base class
    assert calls == ["extra"]
    a.name = "b"
    assert get_history(a, "name") == (["b"], (), ["a"])
    s2.commit()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM audited").scalar() == "b"


def test_a_class_with_an_empty_slots_mixin_loads_into_its_plain_attributes(
        Base, engine, make_session):
    class Mixin:
        __slots__ = ()

        @property
        def label(self):
            return f"<{self.name}>"

    class Tagged2(Mixin, Base):
        __tablename__ = "tagged2"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    assert _direct_set_ok(Tagged2, ("id", "name"))
    s = make_session()
    s.add_all([Tagged2(id=i, name=f"t{i}") for i in (1, 2)])
    s.commit()
    s.close()
    s2 = make_session()
    got = s2.query(Tagged2).order_by(Tagged2.id).all()
    assert [(t.id, t.name, t.label) for t in got] == [(1, "t1", "<t1>"), (2, "t2", "<t2>")]
    assert vars(got[0])["name"] == "t1"
    assert inspect(got[1]).key == (Tagged2, (2,), None)


def test_objects_of_a_joined_eager_load_leave_the_weak_map_when_dropped(
        Base, engine, make_session):
    class Leaf(Base):
        __tablename__ = "wm_leaf"
        id = Column(Integer, primary_key=True)
        tree_id = Column(Integer, ForeignKey("wm_tree.id"))

    class Tree(Base):
        __tablename__ = "wm_tree"
        id = Column(Integer, primary_key=True)
        leaves = relationship(Leaf)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Tree(id=i, leaves=[Leaf(id=10 * i + j) for j in range(3)]) for i in range(1, 4)])
    s.commit()
    s.close()
    s2 = make_session()
    trees = s2.query(Tree).options(joinedload(Tree.leaves)).all()
    assert sorted(len(t.leaves) for t in trees) == [3, 3, 3]
    assert len(s2.identity_map) == 12
    kept = trees[0].leaves[0]
    del trees
    gc.collect()
    assert list(s2.identity_map.values()) == [kept]
    again = s2.get(Tree, 1)
    assert sorted(lf.id for lf in again.leaves) == [10, 11, 12] and kept in again.leaves
