"""The optional C row loader (``datamapper._util._speedups``, built by setup.py) gives
exactly what the pure-Python row loops give: the same objects, values, state slots,
identity-map entries and refreshes, on every path that uses it (the plain query loop
and the joined eager collection loop).

Each case runs twice in one database, with the accelerator on and off
(``loading.rows._SPEEDUPS``), on fresh classes (the generated loops are cached per
mapper), and compares what came back.
"""

from __future__ import annotations

import decimal
import weakref

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Numeric, String

import datamapper
from datamapper import Session, inspect, joinedload, relationship
from datamapper._util import accel
from datamapper.instance.state import STATE_ATTR, InstanceState, _state_gone
from datamapper.loading import rows as rows_mod

speedups = accel.speedups
if speedups is None:
    pytest.skip("the C accelerator is not built here, or DATAMAPPER_NO_SPEEDUPS is set",
                allow_module_level=True)

SLOTS = [n for n in InstanceState.__slots__]


def _models(engine):
    Base = datamapper.declarative_base()

    class Parent(Base):
        __tablename__ = "sp_parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        price = Column(Numeric(10, 2))  # a result processor: Core rows, not driver tuples
        children = relationship("Child", order_by="Child.id")

    class Child(Base):
        __tablename__ = "sp_children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("sp_parents.id"))
        label = Column(String(30))

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        for i in range(1, 6):
            s.add(Parent(id=i, name=f"p{i}", price=decimal.Decimal(f"{i}.50"),
                         children=[Child(id=10 * i + k, label=f"c{i}.{k}") for k in range(i % 3)]))
        s.commit()
    return Base, Parent, Child


def _slots(obj, session):
    st = inspect(obj)
    out = {}
    for name in SLOTS:
        v = getattr(st, name)
        if name == "mapper":
            v = v.class_.__name__
        elif name == "_strong":
            v = v is obj if v is not None else None
        elif name == "_key" and isinstance(v, tuple):  # (the class differs per run)
            v = (v[0].__name__, v[1], v[2])
        elif name == "session_id":
            v = v == session.hash_key
        elif name == "_extra" and v is not None:  # (values are per-mapper plans)
            v = sorted((k, type(x).__name__) for k, x in v.items())
        out[name] = v
    return out


def _snapshot(objs, session, attrs):
    return [None if o is None else (type(o).__name__, {a: getattr(o, a) for a in attrs},
                                    _slots(o, session), vars(o).get(STATE_ATTR) is inspect(o))
            for o in objs]


@pytest.fixture(params=[True, False], ids=["c", "python"])
def accelerated(request, monkeypatch):
    monkeypatch.setattr(rows_mod, "_SPEEDUPS", request.param)
    return request.param


def _run_both(engine, monkeypatch, scenario):
    results = {}
    for on in (True, False):
        monkeypatch.setattr(rows_mod, "_SPEEDUPS", on)
        Base, Parent, Child = _models(engine)
        try:
            results[on] = scenario(Parent, Child)
        finally:
            Base.metadata.drop_all(engine)
    assert results[True] == results[False]
    return results[True]


def test_a_query_gives_the_same_objects_and_states_either_way(engine, monkeypatch):
    def scenario(Parent, Child):
        with Session(engine) as s:
            got = s.query(Parent).order_by(Parent.id).all()
            again = s.query(Parent).order_by(Parent.id.desc()).all()
            assert [id(o) for o in again] == [id(o) for o in reversed(got)]
            keys = sorted(inspect(o).key[1] for o in s.identity_map.values())
            return _snapshot(got, s, ["id", "name", "price"]), keys

    snap, keys = _run_both(engine, monkeypatch, scenario)
    assert keys == [(i,) for i in range(1, 6)]
    assert [row[1]["name"] for row in snap] == ["p1", "p2", "p3", "p4", "p5"]
    assert snap[0][1]["price"] == decimal.Decimal("1.50")


def test_expired_objects_are_refreshed_by_the_next_query_either_way(engine, monkeypatch):
    def scenario(Parent, Child):
        with Session(engine) as s:
            got = s.query(Parent).order_by(Parent.id).all()
            s.expire(got[1])
            s.expire(got[2], ["name"])
            got[3].name = "changed, not flushed"
            # a change the session does not know of (its own connection: SQLite locks)
            s.connection().execute(Parent.__table__.update().values(name="new"))
            with s.no_autoflush:
                again = s.query(Parent).order_by(Parent.id).all()
            assert again == got
            return _snapshot(again, s, ["id", "name"]), [inspect(o).modified for o in got]

    snap, modified = _run_both(engine, monkeypatch, scenario)
    assert [row[1]["name"] for row in snap] == ["p1", "new", "new", "changed, not flushed", "p5"]
    assert modified == [False, False, False, True, False]


def test_populate_existing_overwrites_either_way(engine, monkeypatch):
    def scenario(Parent, Child):
        with Session(engine) as s:
            got = s.query(Parent).order_by(Parent.id).all()
            # a change the session does not know of (its own connection: SQLite locks)
            s.connection().execute(Parent.__table__.update().values(name="new"))
            again = s.query(Parent).populate_existing().order_by(Parent.id).all()
            return _snapshot(again, s, ["name"]), again == got

    snap, same = _run_both(engine, monkeypatch, scenario)
    assert same and {row[1]["name"] for row in snap} == {"new"}


def test_joined_eager_collections_are_the_same_either_way(engine, monkeypatch):
    def scenario(Parent, Child):
        with Session(engine) as s:
            got = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
            kids = [c for p in got for c in p.children]
            return (_snapshot(got, s, ["id", "name"]),
                    [[c.label for c in p.children] for p in got],
                    _snapshot(kids, s, ["id", "label", "parent_id"]))

    _parents, labels, _kids = _run_both(engine, monkeypatch, scenario)
    assert labels == [["c1.0"], ["c2.0", "c2.1"], [], ["c4.0"], ["c5.0", "c5.1"]]


def test_rows_with_a_null_key_give_none_either_way(engine, monkeypatch):
    def scenario(Parent, Child):
        with Session(engine) as s:
            q = s.query(Child, Parent).outerjoin(Parent, Parent.id == Child.id + 1000) \
                .order_by(Child.id)
            return [(c.label, p) for c, p in q.all()]

    pairs = _run_both(engine, monkeypatch, scenario)
    assert pairs and all(p is None for _, p in pairs)


def test_a_class_with_its_own_new_is_made_by_it(engine, accelerated):
    Base = datamapper.declarative_base()
    made = []

    class Thing(Base):
        __tablename__ = "sp_things"
        id = Column(Integer, primary_key=True)
        name = Column(String(10))

        def __new__(cls, *args, **kw):
            obj = super().__new__(cls)
            made.append(obj)
            return obj

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Thing(id=1, name="a"), Thing(id=2, name="b")])
        s.commit()
    made.clear()
    with Session(engine) as s:
        got = s.query(Thing).order_by(Thing.id).all()
        assert [t.name for t in got] == ["a", "b"]
        assert made == got
        assert all(inspect(t).persistent for t in got)


def test_the_maker_refuses_a_name_that_is_not_a_state_slot():
    class Plain:
        pass

    with pytest.raises(TypeError, match="'nope' is not a __slots__ slot"):
        speedups.Maker(Plain, None, ("a",), 0, STATE_ATTR, InstanceState, weakref.ref,
                       _state_gone, (("nope", speedups.FIELD_CONST, None),))
    with pytest.raises(TypeError, match="state_type must subclass ref_type"):
        speedups.Maker(Plain, None, ("a",), 0, STATE_ATTR, Plain, weakref.ref,
                       _state_gone, ())


def test_a_short_row_is_an_index_error_and_nothing_is_entered():
    class Plain:
        pass

    fields = tuple((n, speedups.FIELD_IDENT if n == "_ident" else speedups.FIELD_CONST, None)
                   for n in SLOTS)
    maker = speedups.Maker(Plain, None, ("a", "b"), 1, STATE_ATTR, InstanceState, weakref.ref,
                           _state_gone, fields)
    imap: dict = {}
    with pytest.raises(IndexError, match="row of 2 values has no position 2"):
        maker((1, 2), 1, None, None, imap)
    assert imap == {}
    obj = maker((1, 2, 3), 1, None, None, imap)
    assert (obj.a, obj.b) == (2, 3)
    assert imap[1] is vars(obj)[STATE_ATTR] and imap[1]() is obj


# -- the commit / rollback / expire_all pass (instance.state._expire_states) ----------
def _expire_scenario(engine, Base, Parent, Child):
    """A session holding states of every kind the pass meets; returns what each object
    and state looks like after expire_all()."""
    from datamapper import defer, event

    class Sub(Parent):  # an unmapped subclass: its objects use Parent's mapper
        pass

    fired = []
    event.listen(Child, "expire", lambda obj, attrs: fired.append(vars(obj).get("id")))
    with Session(engine) as s:
        parents = s.query(Parent).options(defer(Parent.price)).order_by(Parent.id).all()
        # (held here: expiring a parent drops its collection, the children's only other
        # holder, and a child let go is skipped by the pass)
        kids = [c for p in parents for c in p.children]
        gone = s.query(Child).filter(Child.id == 10).one()
        gone_id = id(gone)
        new = Parent(id=99, name="new")
        s.add(new)
        s.flush()
        parents[1].name = "changed"  # modified, unflushed: expire_all drops the change
        sub = Sub.__new__(Sub)
        del gone
        s.expire_all()
        objs = parents + [new]
        out = []
        for o in objs:
            st = inspect(o)
            out.append((sorted(k for k in vars(o) if k != STATE_ATTR), sorted(st.expired_attributes),
                        st._committed, st.modified, st._strong is None))
        # reading an attribute loads the row again
        out.append([p.name for p in parents])
        out.append(len(fired))
        assert sub is not None and gone_id and kids
        s.rollback()
    return out


def test_expire_all_leaves_the_same_objects_and_states_either_way(engine, monkeypatch):
    from datamapper.instance import state as state_mod

    results = {}
    for on in (True, False):
        monkeypatch.setattr(state_mod, "_C_EXPIRE", on)
        Base, Parent, Child = _models(engine)
        try:
            results[on] = _expire_scenario(engine, Base, Parent, Child)
        finally:
            Base.metadata.drop_all(engine)
    assert results[True] == results[False]
    first = results[True][0]
    assert first[0] == [] and "name" in first[1] and first[2] is None and not first[3]
    assert results[True][-2][1] == "p2"  # the unflushed change was expired away
    assert results[True][-1] >= 6  # the loaded children (and the one let go, if still alive)


def test_the_c_expire_pass_keeps_loaded_values_inline(engine, monkeypatch):
    """Expiring loaded objects deletes their values without giving each a __dict__
    (CPython's traversal of an object shows its __dict__ only once one was made)."""
    import gc

    from datamapper.instance import state as state_mod

    def has_dict(obj):
        return any(type(r) is dict for r in gc.get_referents(obj))

    monkeypatch.setattr(state_mod, "_C_EXPIRE", True)
    monkeypatch.setattr(rows_mod, "_SPEEDUPS", True)
    Base, Parent, Child = _models(engine)
    with Session(engine) as s:
        kids = s.query(Child).order_by(Child.id).all()
        assert not any(has_dict(k) for k in kids)
        s.expire_all()
        assert not any(has_dict(k) for k in kids)
        assert all(inspect(k).expired_attributes >= {"label", "id"} for k in kids)
        assert not any(has_dict(k) for k in kids)
        assert kids[0].label == "c1.0"  # loaded again


def test_the_layout_refuses_what_is_not_a_state():
    class NotAState:
        pass

    with pytest.raises(TypeError, match="must subclass weakref.ref"):
        speedups.Layout(NotAState)
    layout = speedups.Layout(InstanceState)
    with pytest.raises(TypeError, match="is not a state"):
        layout.expire([object()], {}, lambda m: None, lambda st, o: None)


def test_a_new_state_from_c_sets_every_slot_as_the_python_one_does(User):
    from datamapper.instance import state as state_mod

    u1, u2 = User(name="a"), User(name="b")
    mapper = inspect(User)
    c_state = state_mod._LAYOUT.new_state(u1, mapper)
    py_state = state_mod._py_new_state(u2, mapper)
    assert type(c_state) is type(py_state) is InstanceState
    assert c_state() is u1 and py_state() is u2
    assert {n: getattr(c_state, n) for n in SLOTS} == {n: getattr(py_state, n) for n in SLOTS}
    assert state_mod.new_state == state_mod._LAYOUT.new_state  # (what the package uses)
    with pytest.raises(TypeError, match=r"new_state\(obj, mapper\)"):
        state_mod._LAYOUT.new_state(u1)


def test_a_module_built_from_older_source_is_not_used(monkeypatch):
    """A checkout updated without reinstalling keeps an old _speedups build on disk:
    accel takes it only when its API_VERSION is the one the Python side calls."""
    import importlib

    monkeypatch.setattr(speedups, "API_VERSION", accel.API_VERSION - 1)
    try:
        stale = importlib.reload(accel)
        assert stale.speedups is None and not stale.ON
    finally:
        monkeypatch.undo()
        importlib.reload(accel)
    assert accel.speedups is speedups and accel.ON


def test_joined_eager_loads_over_objects_already_in_the_session_either_way(engine, monkeypatch):
    def scenario(Parent, Child):
        with Session(engine) as s:
            first = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
            held = [c for p in first for c in p.children]  # (the identity map is weak)
            s.expire(first[1].children[0], ["label"])  # a child partly expired
            s.expire(first[1])                     # a parent wholly expired
            first[4].name = "changed, not flushed"
            s.connection().execute(Child.__table__.update().values(label="new"))
            s.connection().execute(Parent.__table__.update().values(name="new"))
            with s.no_autoflush:
                again = s.query(Parent).options(joinedload(Parent.children)) \
                    .order_by(Parent.id).all()
            assert again == first
            kids = [c for p in again for c in p.children]
            seen = (_snapshot(again, s, ["id", "name"]), _snapshot(kids, s, ["id", "label"]))
            with s.no_autoflush:
                fresh = s.query(Parent).options(joinedload(Parent.children)) \
                    .populate_existing().order_by(Parent.id).all()
            return (*seen, [p.name for p in fresh], [[c.label for c in p.children] for p in fresh],
                    len(held))

    parents, kids, names, labels, _ = _run_both(engine, monkeypatch, scenario)
    assert [p[1]["name"] for p in parents] == ["p1", "new", "p3", "p4", "changed, not flushed"]
    assert [k[1]["label"] for k in kids] == ["c1.0", "new", "c2.1", "c4.0", "c5.0", "c5.1"]
    assert names == ["new"] * 5
    assert labels == [["new"], ["new", "new"], [], ["new"], ["new", "new"]]


def _joined_rows_run(engine, monkeypatch, on, rows_of):
    """Run make_joined_loop (C or Python) over hand-made rows (parent id, name,
    child id, parent_id, label) and return what it gave."""
    monkeypatch.setattr(rows_mod, "_SPEEDUPS", on)
    Base, Parent, Child = _models(engine)
    try:
        pmapper, cmapper = inspect(Parent), inspect(Child)
        ploader = rows_mod.EntityLoader(pmapper, 0, [pmapper.attrs["id"], pmapper.attrs["name"]])
        cloader = rows_mod.EntityLoader(
            cmapper, 2, [cmapper.attrs["id"], cmapper.attrs["parent_id"], cmapper.attrs["label"]])
        loop = rows_mod.make_joined_loop(ploader, cloader)
        with Session(engine) as s:
            kept = s.get(Child, 21)  # one child already in the session (held: weak map)
            pmap = s._identity_map.inner(pmapper._identity_class, None)
            cmap = s._identity_map.inner(cmapper._identity_class, None)
            out, groups = [], []
            found = loop(rows_of(), pmap.get, pmap, cmap.get, cmap, s.hash_key,
                         ploader.unloaded, cloader.unloaded, False, False, out, groups)
            return (found, [None if p is None else p.name for p in out],
                    [(p.name, inspect(p) is st, [(c.id, c.label) for c in items])
                     for p, st, items in groups],
                    sorted(k[1] for k in s.identity_map.keys()), kept.label)
    finally:
        Base.metadata.drop_all(engine)


def test_the_joined_row_loop_splits_runs_and_skips_null_keys_either_way(engine, monkeypatch):
    rows = [(1, "a", 11, 1, "x"), (1, "a", 12, 1, "y"), (2, "b", None, None, None),
            (None, None, None, None, None), (None, None, 99, 1, "orphan"),
            (1, "a", 13, 1, "z"), (3, "c", 21, 2, "old?"), (3, "c", 22, 3, "w")]
    got = {on: _joined_rows_run(engine, monkeypatch, on, lambda: iter(rows))
           for on in (True, False)}
    assert got[True] == got[False]
    found, out, groups, keys, _ = got[True]
    # parent 1's second run and child 21 were in the session; one run without a parent
    assert found == (1, 1, 1)
    assert out == ["a", "b", None, "a", "c"]
    assert groups == [("a", True, [(11, "x"), (12, "y")]), ("b", True, []),
                      ("a", True, [(13, "z")]), ("c", True, [(21, "c2.1"), (22, "w")])]
    assert keys == [(1,), (2,), (3,), (11,), (12,), (13,), (21,), (22,)]


def test_an_error_in_the_rows_leaves_the_joined_loop_cleanly(engine, monkeypatch):
    def rows():
        yield (1, "a", 11, 1, "x")
        raise RuntimeError("driver failed")

    for on in (True, False):
        with pytest.raises(RuntimeError, match="driver failed"):
            _joined_rows_run(engine, monkeypatch, on, rows)
