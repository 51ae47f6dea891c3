"""Every relationship shape against a model of the rows it must leave.

Each combination of direction (one-to-many, many-to-one, many-to-many and the
two self-referential ones) x ``uselist`` x backref or not x cascade (the default
``save-update, merge``; ``all``; ``all, delete-orphan``) runs the same five steps
(insert a parent with its child, change the child, set it to None / empty,
delete a parent, delete a child) and compares the tables, read back on another
connection, with :class:`Model`, a few lines of plain Python that say what each
step does to rows.  One-to-one (``uselist=False``) on the one-to-many side and
on many-to-many used to crash the flush (issue 9, item 7); delete-orphan on
many-to-one and many-to-many left the de-associated child behind.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table

from datamapper import backref, declarative_base, exc, relationship

KINDS = ("o2m", "m2o", "m2m", "self_o2m", "self_m2o")
CASCADES = ("save-update, merge", "all", "all, delete-orphan")


def _combinations() -> list:
    out = []
    for kind, br, cascade in itertools.product(KINDS, (False, True), CASCADES):
        # a many-to-one holds one object: uselist applies to the other directions
        uselists = (True, False) if kind in ("o2m", "m2m", "self_o2m") else (False,)
        for uselist in uselists:
            name = "-".join([kind, "list" if uselist else "scalar",
                             "backref" if br else "nobackref", cascade.replace(", ", "+")])
            out.append(pytest.param(kind, uselist, br, cascade, id=name))
    return out


def _build(metadata, kind: str, uselist: bool, br: bool, cascade: str):
    """Parent class P with relationship ``rel`` to child class C (one class N when
    self-referential); the backref, when present, is ``back``."""
    Base = declarative_base(metadata=metadata)
    kw: dict = {"cascade": cascade}
    if kind in ("o2m", "m2m", "self_o2m"):
        kw["uselist"] = uselist
    if "delete-orphan" in cascade and kind in ("m2o", "m2m", "self_m2o"):
        kw["single_parent"] = True
    if kind.startswith("self"):

        class N(Base):
            __tablename__ = "n"
            id = Column(Integer, primary_key=True, autoincrement=False)
            ref_id = Column(Integer, ForeignKey("n.id"))
            if kind == "self_o2m":  # rel: the children, ref_id points at the parent
                if br:
                    kw["backref"] = backref("back", remote_side=[id])
            else:  # rel: the parent
                kw["remote_side"] = [id]
                if br:
                    kw["backref"] = "back"
            rel = relationship("N", **kw)

        return N, N

    class C(Base):
        __tablename__ = "c"
        id = Column(Integer, primary_key=True, autoincrement=False)
        if kind == "o2m":
            p_id = Column(Integer, ForeignKey("p.id"))

    if kind == "m2m":
        kw["secondary"] = Table(
            "pc", metadata,
            Column("p_id", ForeignKey("p.id"), primary_key=True),
            Column("c_id", ForeignKey("c.id"), primary_key=True),
        )
    if br:
        kw["backref"] = "back"

    class P(Base):
        __tablename__ = "p"
        id = Column(Integer, primary_key=True, autoincrement=False)
        if kind == "m2o":
            c_id = Column(Integer, ForeignKey("c.id"))
        rel = relationship(C, **kw)

    return P, C


@dataclass
class Model:
    """Rows as sets: parents, children and (parent, child) links."""

    kind: str
    cascade: str
    parents: set[int] = field(default_factory=set)
    children: set[int] = field(default_factory=set)
    links: set[tuple[int, int]] = field(default_factory=set)

    def link(self, p: int, c: int) -> None:
        self.parents.add(p)
        self.children.add(c)
        self.links.add((p, c))

    def unlink(self, p: int, c: int) -> None:
        self.links.discard((p, c))
        if "delete-orphan" in self.cascade:
            self.children.discard(c)

    def delete_parent(self, p: int) -> None:
        self.parents.discard(p)
        for pc in [pc for pc in self.links if pc[0] == p]:
            self.links.discard(pc)
            if "all" in self.cascade:  # delete cascades to the related object
                self.children.discard(pc[1])

    def delete_child(self, c: int) -> None:
        self.children.discard(c)
        self.links -= {pc for pc in self.links if pc[1] == c}

    def tables(self) -> dict[str, list[tuple]]:
        ref = dict((c, p) for p, c in self.links)
        if self.kind == "o2m":
            return {"p": [(p,) for p in sorted(self.parents)],
                    "c": [(c, ref.get(c)) for c in sorted(self.children)]}
        if self.kind == "m2o":
            to = dict(self.links)
            return {"p": [(p, to.get(p)) for p in sorted(self.parents)],
                    "c": [(c,) for c in sorted(self.children)]}
        if self.kind == "m2m":
            return {"p": [(p,) for p in sorted(self.parents)],
                    "c": [(c,) for c in sorted(self.children)],
                    "pc": sorted(self.links)}
        rows = self.parents | self.children
        if self.kind == "self_o2m":  # the child row holds its parent's id
            return {"n": [(n, ref.get(n)) for n in sorted(rows)]}
        to = dict(self.links)  # self_m2o: the parent row holds the id it refers to
        return {"n": [(n, to.get(n)) for n in sorted(rows)]}


@pytest.mark.parametrize(("kind", "uselist", "br", "cascade"), _combinations())
def test_every_relationship_shape_writes_the_rows_of_the_model(
        kind, uselist, br, cascade, metadata, engine, make_session, read_rows):
    P, C = _build(metadata, kind, uselist, br, cascade)
    metadata.create_all(engine)
    model = Model(kind, cascade)
    session = make_session()
    tables = {t.name: t for t in metadata.sorted_tables}

    def value(child):
        if uselist:
            return [] if child is None else [child]
        return child

    def check(step: str) -> None:
        seen = {name: read_rows(t) for name, t in tables.items()}
        assert seen == model.tables(), step

    # insert a parent with its child
    session.add(P(id=1, rel=value(C(id=11))))
    session.commit()
    model.link(1, 11)
    check("insert")

    # change: the parent (expired by the commit) gets another, new child
    session.get(P, 1).rel = value(C(id=12))
    session.commit()
    model.unlink(1, 11)
    model.link(1, 12)
    check("change")

    # set to None / empty
    session.get(P, 1).rel = value(None)
    session.commit()
    model.unlink(1, 12)
    check("set to none")

    # delete a parent that has a child
    session.add(P(id=2, rel=value(C(id=13))))
    session.commit()
    model.link(2, 13)
    session.delete(session.get(P, 2))
    session.commit()
    model.delete_parent(2)
    check("delete parent")

    # delete a child that has a parent
    session.add(P(id=3, rel=value(C(id=14))))
    session.commit()
    model.link(3, 14)
    session.delete(session.get(C, 14))
    if kind in ("m2o", "m2m", "self_m2o") and not br:
        # nothing maps the way back from the child to the rows referring to it, so
        # the flush can't clear them: the database refuses the DELETE
        with pytest.raises(exc.IntegrityError):
            session.commit()
        session.rollback()
    else:
        session.commit()
        model.delete_child(14)
    check("delete child")


@pytest.mark.parametrize(("kind", "uselist", "br", "cascade"), _combinations())
def test_changes_made_while_detached_are_written_by_the_next_session(
        kind, uselist, br, cascade, metadata, engine, make_session, read_rows):
    """Issue 9, item 3: the object a detached parent let go of is pulled into the
    session the parent is added to (save-update follows the removed part of the
    history) and the flush writes that it left (UPDATE to NULL, association row
    deleted, or DELETE under delete-orphan)."""
    P, C = _build(metadata, kind, uselist, br, cascade)
    metadata.create_all(engine)
    model = Model(kind, cascade)
    tables = {t.name: t for t in metadata.sorted_tables}

    def value(child):
        if uselist:
            return [] if child is None else [child]
        return child

    changes = {
        "set to none": lambda p, old, other: setattr(p, "rel", value(None)),
        "set to a new object": lambda p, old, other: setattr(p, "rel", value(C(id=p.id * 10 + 9))),
        "set to a persistent object": lambda p, old, other: setattr(p, "rel", value(other)),
    }
    if uselist:
        changes["removed from the collection"] = lambda p, old, other: p.rel.remove(old)
    for pid, (what, change) in enumerate(changes.items(), start=1):
        old_id, other_id = pid * 10 + 1, pid * 10 + 2
        first = make_session()
        first.add_all([P(id=pid, rel=value(C(id=old_id))), C(id=other_id)])
        first.commit()
        model.link(pid, old_id)
        model.children.add(other_id)
        parent, old, other = first.get(P, pid), first.get(C, old_id), first.get(C, other_id)
        assert parent.rel == value(old)  # loaded before the session goes away
        first.close()

        change(parent, old, other)
        second = make_session()
        second.add(parent)
        assert old in second, what
        second.commit()
        second.close()
        model.unlink(pid, old_id)
        if what == "set to a new object":
            model.link(pid, pid * 10 + 9)
        elif what == "set to a persistent object":
            model.link(pid, other_id)
        seen = {name: read_rows(t) for name, t in tables.items()}
        assert seen == model.tables(), what
