"""The C loops of a flush's new rows (``_util/_speedups_flush.h``: ``Layout.link_children``,
``Layout.copy_keys``, ``Layout.file_new``) give exactly what the Python loops of
``_Collector.one_to_many_added``, ``apply_links`` and ``_finalize_inserted`` give.

Each scenario runs twice on a fresh database, with the C loops on and off
(``unitofwork.dependency.C_LINKS``), and compares the links the flush recorded (entry
for entry, in order), the SQL it sent, the rows the database holds, the foreign keys
the objects hold and the identity map's entries and their states.  The scenarios mix the common case the C loops take with each case
they hand back to Python: a child of a subclass, a child being deleted, a child moving
between parents, a parent expired by a commit (its key loaded first), a composite
foreign key, a post-update relationship.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    event,
    select,
    update,
)

import datamapper
from datamapper import Session, relationship
from datamapper._util import accel
from datamapper.instance.state import _LAYOUT, STATE_ATTR
from datamapper.unitofwork import dependency, flush_checks
from datamapper.unitofwork.links import Link

if accel.speedups is None:
    pytest.skip("the C accelerator is not built here, or DATAMAPPER_NO_SPEEDUPS is set",
                allow_module_level=True)


def _models(engine: Any) -> dict[str, Any]:
    Base = datamapper.declarative_base()

    class Parent(Base):
        __tablename__ = "fs_parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        favorite_id = Column(Integer, ForeignKey("fs_children.id", use_alter=True,
                                                 name="fs_fav"))
        children = relationship("Child", cascade="all, delete-orphan", backref="parent",
                                foreign_keys="Child.parent_id", order_by="Child.id")
        favorite = relationship("Child", foreign_keys=[favorite_id], post_update=True)

    class Child(Base):
        __tablename__ = "fs_children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("fs_parents.id"))
        kind = Column(String(10))
        name = Column(String(30))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "plain"}

    class Special(Child):
        __mapper_args__ = {"polymorphic_identity": "special"}

    class Box(Base):
        __tablename__ = "fs_boxes"
        a = Column(Integer, primary_key=True, autoincrement=False)
        b = Column(Integer, primary_key=True, autoincrement=False)
        items = relationship("Item", order_by="Item.id")

    class Item(Base):
        __tablename__ = "fs_items"
        id = Column(Integer, primary_key=True)
        box_a = Column(Integer)
        box_b = Column(Integer)
        name = Column(String(30))
        __table_args__ = (ForeignKeyConstraint(["box_a", "box_b"], ["fs_boxes.a", "fs_boxes.b"]),)

    Base.metadata.create_all(engine)
    return {"Base": Base, "Parent": Parent, "Child": Child, "Special": Special, "Box": Box,
            "Item": Item}


def _new_tree(m: dict[str, Any], s: Session) -> None:
    P, C, S = m["Parent"], m["Child"], m["Special"]
    for i in range(4):
        kids = [C(name=f"c{i}.{k}") if k % 3 else S(name=f"s{i}.{k}") for k in range(5)]
        s.add(P(name=f"p{i}", children=kids))


def _persistent_parent_new_children(m: dict[str, Any], s: Session) -> None:
    P, C = m["Parent"], m["Child"]
    s.add_all([P(name="old", children=[C(name="o1")]), P(name="other")])
    s.commit()  # both parents expired: their keys are loaded when copied
    old, other = s.scalars(select(P).order_by(P.id)).all()
    s.expire_all()
    old.children.append(C(name="o2"))
    other.children.extend([C(name="x1"), C(name="x2")])
    s.add(P(name="fresh", children=[C(name="f1")]))


def _moves_and_deletes(m: dict[str, Any], s: Session) -> None:
    P, C = m["Parent"], m["Child"]
    a = P(name="a", children=[C(name="a1"), C(name="a2"), C(name="a3")])
    b = P(name="b", children=[C(name="b1")])
    s.add_all([a, b])
    s.flush()
    moved = a.children[0]
    a.children.remove(moved)
    b.children.append(moved)  # unlinked from a, linked to b: two links on one child
    doomed = a.children[0]
    s.delete(doomed)  # deleted, and appended to b: the delete wins
    b.children.append(doomed)
    b.children.append(C(name="b2"))
    a.children.append(C(name="a4"))


def _composite_and_post_update(m: dict[str, Any], s: Session) -> None:
    P, C, Box, Item = m["Parent"], m["Child"], m["Box"], m["Item"]
    s.add_all([Box(a=1, b=i, items=[Item(name=f"i{i}.{k}") for k in range(3)]) for i in range(3)])
    kids = [C(name="k1"), C(name="k2")]
    s.add(P(name="fav", children=kids, favorite=kids[1]))


_COLLECT = flush_checks.collect


def _drop(m: dict[str, Any], engine: Any) -> None:
    with engine.begin() as conn:  # (the parents' favorite and the children: a cycle)
        conn.execute(update(m["Parent"].__table__).values(favorite_id=None))
    m["Base"].metadata.drop_all(engine)


SCENARIOS = [_new_tree, _persistent_parent_new_children, _moves_and_deletes,
             _composite_and_post_update]


def _describe(st: Any) -> str:
    obj = st.obj()
    return f"{type(obj).__name__}:{obj.__dict__.get('name')}"


def _links_of(deps: Any) -> list[Any]:
    """Each link, in order (not its relationship: a child moved between two parents is
    linked by both sides of the backref, and which one is read last follows the order
    of the session's changed objects, a set)."""
    out = []
    for dest, per in deps.links.items():
        for dk, link in per.items():
            out.append((_describe(dest), dk, type(link) is Link, _describe(link.dest),
                        None if link.src is None else _describe(link.src), link.src_keys,
                        link.dest_keys, link.post))
    return out


def _run(engine: Any, scenario: Any, c_links: bool, monkeypatch: Any) -> dict[str, Any]:
    m = _models(engine)
    recorded: list[Any] = []
    real_collect = _COLLECT

    def collect(*args: Any) -> Any:
        deps = real_collect(*args)
        recorded.append(_links_of(deps))
        return deps

    statements: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if "@@" not in statement:  # (a connection's first use on MariaDB)
            statements.append(statement)

    monkeypatch.setattr(dependency, "C_LINKS", c_links)
    monkeypatch.setattr(flush_checks, "collect", collect)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        with Session(engine) as s:
            scenario(m, s)
            # what the scenario left unreferenced goes now, the rest is held to the end
            # (the identity map is weak: compared maps must hold the same objects)
            gc.collect()
            keep = [*s.identity_map.values(), *s.new]
            s.flush()
            # (by names, not generated keys: MariaDB's auto-increment need not restart
            # at 1 for the second run)
            by_id = {(type(o).__name__, o.__dict__.get("id")): o.__dict__.get("name")
                     for o in s.identity_map.values()}
            held = sorted(
                (type(o).__name__, o.__dict__.get("name"),
                 by_id.get(("Parent", o.__dict__.get("parent_id"))),
                 o.__dict__.get("box_a"), o.__dict__.get("box_b"))
                for o in s.identity_map.values())
            filed = sorted(
                (type(o).__name__, o.__dict__.get("name"), repr(k[1]) == repr(
                    (o.__dict__["id"],) if "id" in o.__dict__ else (o.a, o.b)),
                 o.__dict__[STATE_ATTR].modified, o.__dict__[STATE_ATTR]._committed,
                 o.__dict__[STATE_ATTR]._strong is o, s.identity_map.get(k) is o)
                for k, o in s.identity_map.items())
            s.commit()
        parents, children = m["Parent"].__table__, m["Child"].__table__
        with engine.connect() as conn:
            names = dict(conn.execute(select(children.c.id, children.c.name)).all())
            pnames = dict(conn.execute(select(parents.c.id, parents.c.name)).all())
            rows = {
                "parents": sorted((n, names.get(f)) for n, f in conn.execute(
                    select(parents.c.name, parents.c.favorite_id))),
                "children": sorted((n, k, pnames.get(p)) for n, k, p in conn.execute(
                    select(children.c.name, children.c.kind, children.c.parent_id))),
                "items": sorted(tuple(r) for r in conn.execute(
                    select(*[c for c in m["Item"].__table__.c if c.key != "id"]))),
                "boxes": sorted(tuple(r) for r in conn.execute(m["Box"].__table__.select())),
            }
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        monkeypatch.setattr(dependency, "C_LINKS", True)
        monkeypatch.setattr(flush_checks, "collect", _COLLECT)
        _drop(m, engine)
    del keep
    return {"links": recorded, "sql": statements, "rows": rows, "held": held, "filed": filed}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__.strip("_"))
def test_c_link_loops_record_and_write_what_the_python_loops_do(engine, scenario, monkeypatch):
    with_c = _run(engine, scenario, True, monkeypatch)
    without = _run(engine, scenario, False, monkeypatch)
    assert with_c["links"] and any(with_c["links"])
    if scenario is not _new_tree:
        # (the order in which a flush reads changed persistent objects is a set's: the
        # links of those are compared as sets; new objects are read in order)
        for run in (with_c, without):
            run["links"] = [sorted(links, key=repr) for links in run["links"]]
    assert with_c == without


def test_link_children_stops_at_each_child_it_does_not_take(engine):
    m = _models(engine)
    P, C, S = m["Parent"], m["Child"], m["Special"]
    with Session(engine) as s:
        parent = P(name="p")
        kids = [C(name="a"), S(name="sub"), C(name="b"), C(name="outside"), C(name="c")]
        s.add_all([parent, *kids[:3], kids[4]])
        s.flush()  # (kids[3] stays transient: it has no state in this session)
        st = parent.__dict__[STATE_ATTR]
        prop = P.children.property
        prop.sync_keys()
        args = (Link, prop._src_keys, prop._dest_keys, prop, False, s.hash_key, set(),
                C.__mapper__, STATE_ATTR, None)
        links: dict[Any, Any] = {}
        assert _LAYOUT.link_children(links, st, kids, 0, *args) == 1  # a subclass
        assert _LAYOUT.link_children(links, st, kids, 2, *args) == 3  # not in the session
        assert _LAYOUT.link_children(links, st, kids, 4, *args) == 5
        deleting = {kids[4].__dict__[STATE_ATTR]}
        assert _LAYOUT.link_children({}, st, kids, 4, *args[:6], deleting, *args[7:]) == 4
        taken = [kids[0], kids[2], kids[4]]
        assert [k.obj() for k in links] == taken
        for k, per in links.items():
            (link,) = per.values()
            assert (link.dest, link.src, link.prop, link.post) == (k, st, prop, False)
        kept: set[Any] = set()
        _LAYOUT.link_children({}, st, kids, 0, *args[:-1], kept)
        assert kept == {(prop, kids[0].__dict__[STATE_ATTR])}
        s.rollback()
    _drop(m, engine)


def test_copy_keys_hands_back_a_state_whose_parent_key_is_not_loaded(engine):
    m = _models(engine)
    P, C = m["Parent"], m["Child"]
    with Session(engine) as s:
        loaded, expired = P(name="loaded"), P(name="expired")
        s.add_all([loaded, expired])
        s.flush()
        s.expire(expired, ["id"])
        a, b, c = C(name="a"), C(name="b"), C(name="c")
        s.add_all([a, b, c])
        prop = P.children.property
        prop.sync_keys()
        sts = [x.__dict__[STATE_ATTR] for x in (a, b, c)]
        src = [loaded.__dict__[STATE_ATTR], expired.__dict__[STATE_ATTR]]

        def link(dest: Any, parent: Any) -> dict[Any, Link]:
            return {prop._dest_keys: Link(dest, parent, prop._src_keys, prop._dest_keys, prop,
                                          False)}

        links = {sts[0]: link(sts[0], src[0]), sts[1]: link(sts[1], src[1]),
                 sts[2]: link(sts[2], src[0])}
        assert _LAYOUT.copy_keys(links, sts, 0, Link) == 1
        assert a.__dict__["parent_id"] == loaded.__dict__["id"]
        assert "parent_id" not in b.__dict__  # handed back untouched
        assert _LAYOUT.copy_keys(links, sts, 2, Link) == 3
        assert c.__dict__["parent_id"] == loaded.__dict__["id"]
        s.rollback()
    _drop(m, engine)


def test_state_of_makes_the_state_instance_state_makes(engine):
    m = _models(engine)
    Item = m["Item"]
    from datamapper.instance.state import instance_state

    def slots(st: Any) -> dict[str, Any]:
        return {n: getattr(st, n, "<unset>") for n in type(st).__slots__}

    for make in (lambda: Item(name="x"), lambda: Item(name="y", box_a=3), lambda: Item()):
        a, b = make(), make()
        assert STATE_ATTR not in a.__dict__
        made = _LAYOUT.state_of(a, STATE_ATTR)
        reference = instance_state(b)
        assert made is a.__dict__[STATE_ATTR] and made.obj() is a
        assert {**slots(made), "mapper": made.mapper} == {**slots(reference),
                                                          "mapper": reference.mapper}
        assert _LAYOUT.state_of(a, STATE_ATTR) is made  # found, not made again

    class Plain:
        pass

    assert _LAYOUT.state_of(Plain(), STATE_ATTR) is None  # not mapped: instance_state's error
    assert _LAYOUT.state_of(3, STATE_ATTR) is None  # no __dict__
    _drop(m, engine)


def test_a_cascade_gives_constructed_children_a_changed_state(engine):
    m = _models(engine)
    Box, Item = m["Box"], m["Item"]
    with Session(engine) as s:
        kids = [Item(name="a"), Item()]
        s.add(Box(a=1, b=2, items=kids))
        assert [k.__dict__[STATE_ATTR].modified for k in kids] == [True, False]
        s.commit()
        assert s.execute(select(Item.name, Item.box_a, Item.box_b).order_by(Item.id)).all() \
            == [("a", 1, 2), (None, 1, 2)]
    _drop(m, engine)


def test_unkeyed_passes_by_only_rows_whose_key_the_database_assigns(engine):
    m = _models(engine)
    P, C = m["Parent"], m["Child"]
    with Session(engine) as s:
        kids = [C(name="a"), C(name="b", id=7), C(name="c"), P(name="other"), C(name="d")]
        s.add_all(kids)
        sts = [k.__dict__[STATE_ATTR] for k in kids]
        mapper = C.__mapper__
        assert _LAYOUT.unkeyed(sts, 0, mapper, "id", {}) == 1  # a key given
        assert _LAYOUT.unkeyed(sts, 2, mapper, "id", {}) == 3  # another mapper
        assert _LAYOUT.unkeyed(sts, 4, mapper, "id", {}) == 5
        # a link that fills the key column (a key copied from a related row)
        linked = {sts[4]: {("id",): object()}}
        assert _LAYOUT.unkeyed(sts, 4, mapper, "id", linked) == 4
        assert _LAYOUT.unkeyed(sts, 4, mapper, "id", {sts[4]: {("parent_id",): 1}}) == 5
        s.rollback()
    _drop(m, engine)


def test_a_key_given_twice_among_many_new_rows_is_refused_before_any_sql(engine):
    m = _models(engine)
    C = m["Child"]
    statements: list[str] = []
    with Session(engine) as s:
        stored = C(id=5, name="stored")  # (held: it stays in the identity map)
        s.add(stored)
        s.commit()
        s.add_all([C(name=f"n{i}") for i in range(50)] + [C(id=5, name="again")]
                  + [C(name=f"m{i}") for i in range(50)])
        event.listen(engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))
        with pytest.raises(datamapper.exc.FlushError, match="conflicts with persistent instance"):
            s.flush()
        s.rollback()
        s.add_all([C(id=9, name="x"), *[C(name=f"k{i}") for i in range(20)], C(id=9, name="y")])
        with pytest.raises(datamapper.exc.FlushError, match="same identity key"):
            s.flush()
    assert not [st for st in statements if st.startswith("INSERT")]
    with engine.connect() as conn:
        assert conn.execute(select(C.__table__.c.name)).scalars().all() == ["stored"]
    _drop(m, engine)
