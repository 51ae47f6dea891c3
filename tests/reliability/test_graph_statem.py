"""A model-based state machine of the Session over an object graph.

The companion of ``test_session_statem.py`` (one versioned table): here
Hypothesis drives a Session through random edits of a graph with

- ``Parent`` 1-* ``Child``, ``cascade="all, delete-orphan"`` with a backref
  (``Child.parent``): new parents with children, children appended, moved to
  another parent through the backref, removed from their collection (orphans:
  deleted by the flush), parents deleted (their children with them);
- ``Parent`` *-* ``Tag`` through a secondary table with a backref
  (``Tag.parents``): links added and removed, tags deleted (their links with
  them), and a duplicate tag name whose flush fails on the unique constraint;
- a self-referential ``Node`` tree (``cascade="all"``): new nodes, nodes moved
  under another node (never under their own subtree), subtrees deleted;

interleaved with flush, commit, rollback, ``begin_nested()`` to depth 3 with
release and rollback, expire_all, close and full reloads through queries.

The model is three copies of the graph as rows: ``current`` (what the
objects the test holds say), ``flushed`` (what the open transaction's database
holds) and ``committed``, plus one snapshot per SAVEPOINT.  Checks:

- after every step, each held object is pending or persistent as ``flushed``
  says, and every *loaded* relationship of a held object has exactly the
  members ``current`` says (members that were deleted are ignored: deleting an
  object does not remove it from other objects' loaded collections);
- after every flush, the rows the transaction sees equal ``current``; after
  every transaction end, the rows a separate connection sees equal
  ``committed``; ``reload`` compares a full load through the session;
- after a rollback, objects whose rows survive are still the identity map's
  objects, objects whose INSERT was rolled back are transient.

Derandomized in CI; ``DM_GRAPH_EXAMPLES`` / ``DM_GRAPH_STEPS`` /
``DM_GRAPH_SEED`` scale and seed it locally.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Column, ForeignKey, Integer, String, Table, delete, select, update

from datamapper import backref, declarative_base, event, inspect, relationship
from datamapper.exc import IntegrityError, PendingRollbackError
from datamapper.session import Session

EXAMPLES = int(os.environ.get("DM_GRAPH_EXAMPLES", "60"))
STEPS = int(os.environ.get("DM_GRAPH_STEPS", "40"))
SEED = os.environ.get("DM_GRAPH_SEED")


@dataclass
class Graph:
    """The graph as rows: what one view of the database holds."""

    parents: dict[int, str] = field(default_factory=dict)  # pk -> name
    children: dict[int, int] = field(default_factory=dict)  # child pk -> parent pk
    tags: dict[int, str] = field(default_factory=dict)  # pk -> unique name
    links: set[tuple[int, int]] = field(default_factory=set)  # (parent pk, tag pk)
    nodes: dict[int, int | None] = field(default_factory=dict)  # pk -> parent node pk

    def copy(self) -> Graph:
        return Graph(dict(self.parents), dict(self.children), dict(self.tags),
                     set(self.links), dict(self.nodes))

    def subtree(self, pk: int) -> set[int]:
        out = {pk}
        grew = True
        while grew:
            more = {n for n, up in self.nodes.items() if up in out} - out
            grew = bool(more)
            out |= more
        return out


@dataclass
class Models:
    Parent: Any
    Child: Any
    Tag: Any
    Node: Any
    tables: dict[str, Any]


@pytest.fixture
def models(metadata, engine) -> Models:
    Base = declarative_base(metadata=metadata)
    parent_tags = Table(
        "g_parent_tags", metadata,
        Column("parent_id", Integer, ForeignKey("g_parents.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("g_tags.id"), primary_key=True),
    )

    class Parent(Base):
        __tablename__ = "g_parents"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20), nullable=False)
        children = relationship("Child", cascade="all, delete-orphan",
                                backref="parent")
        tags = relationship("Tag", secondary=parent_tags, backref="parents")

    class Child(Base):
        __tablename__ = "g_children"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("g_parents.id"), nullable=False)

    class Tag(Base):
        __tablename__ = "g_tags"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20), nullable=False, unique=True)

    class Node(Base):
        __tablename__ = "g_nodes"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("g_nodes.id"))
        children = relationship("Node", cascade="all",
                                backref=backref("parent", remote_side=[id]))

    metadata.create_all(engine)
    tables = {"parents": Parent.__table__, "children": Child.__table__,
              "tags": Tag.__table__, "links": parent_tags, "nodes": Node.__table__}
    return Models(Parent, Child, Tag, Node, tables)


def _settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        print_blob=True,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.filter_too_much],
    )


def _pk(obj: Any) -> int:
    """An object's primary key without loading anything (reading ``obj.id`` of an
    expired object would load it, and autoflush)."""
    key = inspect(obj).identity
    return int(key[0]) if key is not None else int(obj.__dict__["id"])


def _rows_of(execute: Any, t: dict[str, Any]) -> Graph:
    """The graph as the rows one connection sees."""
    g = Graph()
    g.parents = {r[0]: r[1] for r in execute(select(t["parents"].c.id, t["parents"].c.name))}
    g.children = {r[0]: r[1] for r in execute(
        select(t["children"].c.id, t["children"].c.parent_id))}
    g.tags = {r[0]: r[1] for r in execute(select(t["tags"].c.id, t["tags"].c.name))}
    g.links = {(r[0], r[1]) for r in execute(
        select(t["links"].c.parent_id, t["links"].c.tag_id))}
    g.nodes = {r[0]: r[1] for r in execute(select(t["nodes"].c.id, t["nodes"].c.parent_id))}
    return g


def make_machine(engine: Any, m: Models, counter: dict[str, int]) -> type:
    Parent, Child, Tag, Node, t = m.Parent, m.Child, m.Tag, m.Node, m.tables
    ids = itertools.count(1)
    kinds = {"parents": Parent, "children": Child, "tags": Tag, "nodes": Node}

    def read_committed() -> Graph:
        with engine.connect() as conn:
            return _rows_of(lambda s: conn.execute(s).all(), t)

    class GraphMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with engine.begin() as conn:
                for name in ("links", "children", "parents", "tags"):
                    conn.execute(delete(t[name]))
                conn.execute(update(t["nodes"]).values(parent_id=None))
                conn.execute(delete(t["nodes"]))
            self.session = Session(engine)
            self.flushes = 0
            event.listen(self.session, "after_flush", self._count_flush)
            self.current = Graph()
            self.flushed = Graph()
            self.committed = Graph()
            self.savepoints: list[tuple[Any, Graph]] = []
            self.in_tx = False
            self.failed = False
            # the objects the test holds, by kind and primary key: each is
            # pending or persistent and part of ``current``
            self.held: dict[str, dict[int, Any]] = {k: {} for k in kinds}
            # deleted objects stay referenced, as a program's variables would keep
            # them: a SAVEPOINT rollback brings them back, and the identity map is weak
            self.graveyard: list[Any] = []
            counter["examples"] += 1

        def _count_flush(self, *_a: Any) -> None:
            self.flushes += 1

        def teardown(self) -> None:
            self.session.close()

        # ------------------------------------------------------------ helpers
        def _pick(self, kind: str, i: int, ok: Any = None) -> Any:
            cands = sorted(pk for pk in self.held[kind] if ok is None or ok(pk))
            return cands[i % len(cands)] if cands else None

        def _run(self, op: Any) -> Any:
            """Run a mutation; an autoflush it triggers (a lazy load at its start)
            writes the graph as it was before the mutation."""
            before, count = self.current.copy(), self.flushes
            out = op()
            if self.flushes != count:
                self._flushed(before)
            return out

        def _flushed(self, graph: Graph) -> None:
            self.flushed = graph.copy()
            self.in_tx = True
            counter["flushes"] += 1

        def _check_transaction_rows(self) -> None:
            conn = self.session.connection()
            seen = _rows_of(lambda s: conn.execute(s).all(), t)
            assert seen == self.flushed, (
                f"rows inside the transaction differ from the model:\n db  {seen}\n"
                f" model {self.flushed}")

        def _end_transaction(self) -> None:
            self.in_tx = False
            self.savepoints = []
            self.current = self.committed.copy()
            self.flushed = self.committed.copy()
            counter["tx_ends"] += 1
            seen = read_committed()
            assert seen == self.committed, (
                f"database differs from the model after the transaction ended:\n"
                f" db    {seen}\n model {self.committed}")

        def _after_rollback(self, graph: Graph) -> None:
            """Held objects after a rollback back to ``graph``."""
            for kind, cls in kinds.items():
                rows = getattr(graph, kind)
                for pk, obj in list(self.held[kind].items()):
                    if pk not in rows:
                        st_ = inspect(obj)
                        assert st_.transient, (
                            f"{cls.__name__} {pk}: its INSERT was rolled back, yet it is "
                            f"not transient")
                        del self.held[kind][pk]
                for pk in rows:
                    if pk in self.held[kind]:
                        assert self.session.get(cls, pk) is self.held[kind][pk], (
                            f"{cls.__name__} {pk}: after rollback the identity map holds "
                            "another object")
                    else:
                        with self.session.no_autoflush:
                            obj = self.session.get(cls, pk)
                        assert obj is not None, f"{cls.__name__} {pk}: row lost by rollback"
                        self.held[kind][pk] = obj
            self.failed = False

        # -------------------------------------------------------- parents/children
        @precondition(lambda self: not self.failed)
        @rule(nchild=st.integers(0, 2))
        def new_parent(self, nchild: int) -> None:
            pk = next(ids)
            kids = [Child(id=next(ids)) for _ in range(nchild)]
            p = Parent(id=pk, name=f"p{pk}", children=kids)
            self.session.add(p)
            self.held["parents"][pk] = p
            self.current.parents[pk] = p.name
            for k in kids:
                self.held["children"][k.id] = k
                self.current.children[k.id] = pk

        @precondition(lambda self: not self.failed and self.held["parents"])
        @rule(i=st.integers(0, 99))
        def new_child(self, i: int) -> None:
            ppk = self._pick("parents", i)
            c = Child(id=next(ids))
            self._run(lambda: self.held["parents"][ppk].children.append(c))
            self.held["children"][c.id] = c
            self.current.children[c.id] = ppk

        @precondition(lambda self: not self.failed and self.held["children"])
        @rule(i=st.integers(0, 99), j=st.integers(0, 99))
        def move_child(self, i: int, j: int) -> None:
            cpk = self._pick("children", i)
            ppk = self._pick("parents", j, lambda pk: pk != self.current.children[cpk])
            if ppk is None:
                return
            self._run(lambda: setattr(self.held["children"][cpk], "parent",
                                      self.held["parents"][ppk]))
            self.current.children[cpk] = ppk

        @precondition(lambda self: not self.failed and self.held["children"])
        @rule(i=st.integers(0, 99))
        def orphan_child(self, i: int) -> None:
            """Remove a flushed child from its parent's collection: the flush deletes it."""
            cpk = self._pick("children", i, lambda pk: pk in self.flushed.children)
            if cpk is None:
                return
            c = self.held["children"][cpk]
            p = self.held["parents"][self.current.children[cpk]]
            self._run(lambda: p.children.remove(c))
            del self.current.children[cpk]
            self.graveyard.append(self.held["children"].pop(cpk))

        @precondition(lambda self: not self.failed and self.held["parents"])
        @rule(i=st.integers(0, 99))
        def delete_parent(self, i: int) -> None:
            """Delete a flushed parent whose children are all flushed: the children go
            with it, and its links."""
            def ok(pk: int) -> bool:
                # (a child moved in and not flushed yet: its flush cancels the delete,
                # as in SQLAlchemy; the model does not follow that)
                return pk in self.flushed.parents and all(
                    self.flushed.children.get(c) == pk
                    for c, up in self.current.children.items() if up == pk)
            ppk = self._pick("parents", i, ok)
            if ppk is None:
                return
            self._run(lambda: self.session.delete(self.held["parents"][ppk]))
            del self.current.parents[ppk]
            self.graveyard.append(self.held["parents"].pop(ppk))
            for cpk in [c for c, up in self.current.children.items() if up == ppk]:
                del self.current.children[cpk]
                self.graveyard.append(self.held["children"].pop(cpk))
            self.current.links = {lk for lk in self.current.links if lk[0] != ppk}

        # ------------------------------------------------------------- tags
        @precondition(lambda self: not self.failed)
        @rule()
        def new_tag(self) -> None:
            pk = next(ids)
            tag = Tag(id=pk, name=f"t{pk}")
            self.session.add(tag)
            self.held["tags"][pk] = tag
            self.current.tags[pk] = tag.name

        @precondition(lambda self: not self.failed and self.held["tags"]
                      and self.held["parents"])
        @rule(i=st.integers(0, 99), j=st.integers(0, 99))
        def link(self, i: int, j: int) -> None:
            ppk = self._pick("parents", i)
            tpk = self._pick("tags", j, lambda pk: (ppk, pk) not in self.current.links)
            if tpk is None:
                return
            self._run(lambda: self.held["parents"][ppk].tags.append(self.held["tags"][tpk]))
            self.current.links.add((ppk, tpk))

        @precondition(lambda self: not self.failed and self.current.links)
        @rule(i=st.integers(0, 99), from_tag=st.booleans())
        def unlink(self, i: int, from_tag: bool) -> None:
            ppk, tpk = sorted(self.current.links)[i % len(self.current.links)]
            p, tag = self.held["parents"][ppk], self.held["tags"][tpk]
            if from_tag:
                self._run(lambda: tag.parents.remove(p))
            else:
                self._run(lambda: p.tags.remove(tag))
            self.current.links.discard((ppk, tpk))

        @precondition(lambda self: not self.failed and self.held["tags"])
        @rule(i=st.integers(0, 99))
        def delete_tag(self, i: int) -> None:
            """Delete a flushed tag; its links go with it."""
            tpk = self._pick("tags", i, lambda pk: pk in self.flushed.tags and all(
                lk in self.flushed.links for lk in self.current.links if lk[1] == pk))
            if tpk is None:
                return
            self._run(lambda: self.session.delete(self.held["tags"][tpk]))
            del self.current.tags[tpk]
            self.graveyard.append(self.held["tags"].pop(tpk))
            self.current.links = {lk for lk in self.current.links if lk[1] != tpk}

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def duplicate_tag_name(self, i: int) -> None:
            """A new tag reusing a flushed tag's unique name: the flush fails."""
            names = sorted(name for pk, name in self.flushed.tags.items()
                           if pk in self.current.tags)
            if not names:
                return
            pk = next(ids)
            tag = Tag(id=pk, name=names[i % len(names)])
            self.session.add(tag)
            with pytest.raises(IntegrityError):
                self.session.flush()
            counter["violations"] += 1
            self.held["tags"][pk] = tag
            self.current.tags[pk] = tag.name
            self.failed = True
            self.in_tx = True

        # ------------------------------------------------------------- nodes
        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99), root=st.booleans())
        def new_node(self, i: int, root: bool) -> None:
            pk = next(ids)
            n = Node(id=pk)
            up = None if root else self._pick("nodes", i)
            if up is None:
                self.session.add(n)
            else:
                self._run(lambda: self.held["nodes"][up].children.append(n))
            self.held["nodes"][pk] = n
            self.current.nodes[pk] = up

        @precondition(lambda self: not self.failed and len(self.held["nodes"]) > 1)
        @rule(i=st.integers(0, 99), j=st.integers(0, 99), to_root=st.booleans())
        def move_node(self, i: int, j: int, to_root: bool) -> None:
            npk = self._pick("nodes", i)
            inside = self.current.subtree(npk)
            up = None if to_root else self._pick("nodes", j, lambda pk: pk not in inside)
            if up is None and not to_root:
                return
            n = self.held["nodes"][npk]
            self._run(lambda: setattr(n, "parent", None if up is None else self.held["nodes"][up]))
            self.current.nodes[npk] = up

        @precondition(lambda self: not self.failed and self.held["nodes"])
        @rule(i=st.integers(0, 99))
        def delete_subtree(self, i: int) -> None:
            """Delete a flushed node whose subtree is all flushed: the subtree goes too."""
            def ok(pk: int) -> bool:
                # flushed, and not moved since the last flush: an object added to a
                # collection in the flush that deletes it is saved, not deleted (as
                # in SQLAlchemy); the model does not follow that
                return all(n in self.flushed.nodes
                           and self.flushed.nodes[n] == self.current.nodes[n]
                           for n in self.current.subtree(pk))
            npk = self._pick("nodes", i, ok)
            if npk is None:
                return
            gone = self.current.subtree(npk)
            self._run(lambda: self.session.delete(self.held["nodes"][npk]))
            for pk in gone:
                del self.current.nodes[pk]
                self.graveyard.append(self.held["nodes"].pop(pk))

        # ------------------------------------------------------ session control
        @precondition(lambda self: not self.failed)
        @rule()
        def flush(self) -> None:
            self.session.flush()
            self._flushed(self.current)
            self._check_transaction_rows()

        @precondition(lambda self: not self.failed and len(self.savepoints) == 0)
        @rule()
        def commit(self) -> None:
            self.session.commit()
            self.committed = self.current.copy()
            self._end_transaction()

        @rule()
        def rollback(self) -> None:
            self.session.rollback()
            if self.savepoints:
                _handle, snap = self.savepoints.pop()
                self.current, self.flushed = snap.copy(), snap.copy()
                self._after_rollback(snap)
                counter["savepoint_rollbacks"] += 1
            else:
                self._end_transaction()
                self._after_rollback(self.committed)

        @precondition(lambda self: not self.failed and len(self.savepoints) < 3)
        @rule()
        def begin_nested(self) -> None:
            handle = self.session.begin_nested()
            self._flushed(self.current)
            self.savepoints.append((handle, self.current.copy()))

        @precondition(lambda self: not self.failed and self.savepoints)
        @rule()
        def release_savepoint(self) -> None:
            handle, _snap = self.savepoints.pop()
            handle.commit()
            self._flushed(self.current)

        @precondition(lambda self: not self.failed and self.savepoints)
        @rule()
        def rollback_savepoint_handle(self) -> None:
            handle, snap = self.savepoints.pop()
            handle.rollback()
            self.current, self.flushed = snap.copy(), snap.copy()
            self._after_rollback(snap)
            counter["savepoint_rollbacks"] += 1

        @precondition(lambda self: not self.failed)
        @rule()
        def flush_and_expire_all(self) -> None:
            self.session.flush()
            self._flushed(self.current)
            self.session.expire_all()

        @precondition(lambda self: not self.failed and not self.savepoints)
        @rule()
        def close_and_reload(self) -> None:
            """close() discards unflushed and uncommitted work; reload everything."""
            self.session.close()
            for kind in kinds:
                for obj in self.held[kind].values():
                    assert inspect(obj).transient or inspect(obj).detached
            self.held = {k: {} for k in kinds}
            self._end_transaction()
            self.reload()

        @precondition(lambda self: not self.failed)
        @rule()
        def reload(self) -> None:
            """Query every object (autoflush) and compare the whole graph, loading
            every relationship."""
            self.session.flush()
            self._flushed(self.current)
            cur = self.current
            seen = Graph()
            for kind, cls in kinds.items():
                for obj in self.session.query(cls).order_by(cls.id).all():
                    held = self.held[kind].setdefault(obj.id, obj)
                    assert held is obj, f"{cls.__name__} {obj.id}: a second object"
            for pk, p in self.held["parents"].items():
                seen.parents[pk] = p.name
                for c in p.children:
                    if c.id in cur.children:
                        seen.children[c.id] = pk
                for tag in p.tags:
                    if tag.id in cur.tags:
                        seen.links.add((pk, tag.id))
            for pk, tag in self.held["tags"].items():
                seen.tags[pk] = tag.name
                assert {p.id for p in tag.parents if p.id in cur.parents} == {
                    a for a, b in self.current.links if b == pk}, f"Tag {pk}.parents"
            for pk, n in self.held["nodes"].items():
                seen.nodes[pk] = None if n.parent is None else n.parent.id
                assert {c.id for c in n.children if c.id in cur.nodes} == {
                    a for a, b in self.current.nodes.items() if b == pk}, f"Node {pk}.children"
            for pk, c in self.held["children"].items():
                assert c.parent is self.held["parents"][self.current.children[pk]]
            assert seen == self.current, (
                f"loaded graph differs from the model:\n loaded {seen}\n model  {self.current}")
            counter["reloads"] += 1

        @precondition(lambda self: self.failed)
        @rule(op=st.sampled_from(["flush", "query", "commit"]))
        def refused_after_failed_flush(self, op: str) -> None:
            calls = {
                "flush": self.session.flush,
                "query": lambda: self.session.query(Parent).all(),
                "commit": self.session.commit,
            }
            with pytest.raises(PendingRollbackError):
                calls[op]()

        # --------------------------------------------------------- invariants
        @invariant()
        def held_objects_match_model(self) -> None:
            counter["steps"] += 1
            if self.failed:
                return
            cur = self.current
            for kind, objs in self.held.items():
                rows = getattr(self.flushed, kind)
                for pk, obj in objs.items():
                    st_ = inspect(obj)
                    want = "persistent" if pk in rows else "pending"
                    assert getattr(st_, want), (
                        f"{type(obj).__name__} {pk}: model says {want}, inspect says "
                        f"{[s for s in ('transient', 'pending', 'persistent', 'deleted', 'detached') if getattr(st_, s)]}")
            for pk, p in self.held["parents"].items():
                d = p.__dict__
                if "children" in d:
                    got = {k for k in map(_pk, d["children"]) if k in cur.children}
                    assert got == {c for c, up in cur.children.items() if up == pk}, (
                        f"Parent {pk}.children {sorted(got)}")
                if "tags" in d:
                    got = {k for k in map(_pk, d["tags"]) if k in cur.tags}
                    assert got == {b for a, b in cur.links if a == pk}, (
                        f"Parent {pk}.tags {sorted(got)}")
            for pk, c in self.held["children"].items():
                if "parent" in c.__dict__:
                    assert c.__dict__["parent"] is self.held["parents"][cur.children[pk]], (
                        f"Child {pk}.parent")
            for pk, tag in self.held["tags"].items():
                if "parents" in tag.__dict__:
                    got = {k for k in map(_pk, tag.__dict__["parents"]) if k in cur.parents}
                    assert got == {a for a, b in cur.links if b == pk}, f"Tag {pk}.parents"
            for pk, n in self.held["nodes"].items():
                d = n.__dict__
                if "children" in d:
                    got = {k for k in map(_pk, d["children"]) if k in cur.nodes}
                    assert got == {a for a, b in cur.nodes.items() if b == pk}, (
                        f"Node {pk}.children {sorted(got)}")
                if "parent" in d:
                    up = d["parent"]
                    assert (None if up is None else _pk(up)) == cur.nodes[pk], f"Node {pk}.parent"

        @invariant()
        def new_and_deleted_match_model(self) -> None:
            if self.failed:
                return
            pending = {id(o) for kind, objs in self.held.items() for pk, o in objs.items()
                       if pk not in getattr(self.flushed, kind)}
            assert {id(o) for o in self.session.new} == pending

    return GraphMachine


@pytest.mark.slow
def test_session_graph_state_machine(engine, models, backend_name):
    counter = {"examples": 0, "steps": 0, "tx_ends": 0, "violations": 0, "flushes": 0,
               "savepoint_rollbacks": 0, "reloads": 0}
    machine = make_machine(engine, models, counter)
    if SEED is not None:
        machine = seed(int(SEED))(machine)
    run_state_machine_as_test(machine, settings=_settings())
    print(f"\ngraph statem[{backend_name}]: {counter}")
