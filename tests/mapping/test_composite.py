"""``composite()``: several columns read and written as one object (a dataclass or a
class with ``__composite_values__``), compared in SQL column by column and selected as
objects.  Rows are read back on a separate connection; SQL is checked in the log."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import pytest
import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy import ForeignKey as sa_fk
from sqlalchemy.schema import CreateTable

from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    composite,
    mapped_column,
    registry,
)
from datamapper.attributes import get_history
from datamapper.exc import ArgumentError, InvalidRequestError

# desc(composite)/nulls_first(...) of one applies to every column only on SQLAlchemy
# 2.1 (its OrderByList); on 2.0 Core orders by the last column alone, SQLAlchemy's own
# composites included
_ORDERING_LISTS = pytest.mark.skipif(
    tuple(int(x) for x in sqlalchemy.__version__.split(".")[:2]) < (2, 1),
    reason="ordering a composite by each column needs SQLAlchemy 2.1's OrderByList")


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Address:
    street: str
    city: str


class LegacyPoint:
    def __init__(self, x: Any, y: Any) -> None:
        self.x, self.y = x, y

    def __composite_values__(self) -> tuple[Any, Any]:
        return self.x, self.y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LegacyPoint) and (other.x, other.y) == (self.x, self.y)

    def __repr__(self) -> str:
        return f"LegacyPoint({self.x}, {self.y})"


@pytest.fixture
def Vertex(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # MariaDB needs VARCHAR lengths

    Base.registry.metadata = metadata

    class Vertex(Base):
        __tablename__ = "cp_vertices"
        id: Mapped[int] = mapped_column(primary_key=True)
        start: Mapped[Point] = composite(mapped_column("x1"), mapped_column("y1"))
        end: Mapped[Point] = composite(mapped_column("x2"), mapped_column("y2"))
        home: Mapped[Optional[Address]] = composite(column_template="home_%s")  # noqa: UP045

    metadata.create_all(engine)
    return Vertex


def test_columns_are_made_from_the_composite(Vertex):
    names = [(c.name, c.nullable) for c in Vertex.__table__.c]
    assert names == [("id", False), ("x1", False), ("y1", False), ("x2", False),
                     ("y2", False), ("home_street", True), ("home_city", True)]
    assert "x1 INTEGER NOT NULL" in str(CreateTable(Vertex.__table__))
    assert Vertex.x1.key == "x1"  # the columns are attributes of their own too


def test_persist_select_and_compare(Vertex, engine, read_rows, sql_log):
    with Session(engine) as s:
        v = Vertex(start=Point(3, 4), end=Point(5, 6))
        s.add(v)
        s.commit()
        assert read_rows(Vertex.__table__) == [(1, 3, 4, 5, 6, None, None)]
        assert s.execute(select(Vertex.start, Vertex.end)).all() == [(Point(3, 4), Point(5, 6))]
        assert s.query(Vertex.start).all() == [(Point(3, 4),)]
        sql_log.clear()
        found = s.scalars(select(Vertex).where(Vertex.start == Point(3, 4))
                          .where(Vertex.end < Point(7, 8))).all()
        assert found == [v]
        assert "x1 = " in sql_log.statements[-1] and "x2 < " in sql_log.statements[-1]
        assert s.scalars(select(Vertex).where(Vertex.start != Point(3, 4))).all() == []
        assert s.scalars(select(Vertex).where(Vertex.end >= Point(5, 7))).all() == []
        assert s.scalars(select(Vertex).where(Vertex.home == None)).all() == [v]  # noqa: E711


def test_assigning_a_new_object_updates_only_its_columns(Vertex, engine, read_rows, sql_log):
    with Session(engine) as s:
        s.add(Vertex(start=Point(3, 4), end=Point(5, 6)))
        s.commit()
        v = s.scalars(select(Vertex)).one()
        sql_log.clear()
        v.end = Point(x=10, y=14)
        assert get_history(v, "end") == ([Point(10, 14)], (), [Point(5, 6)])
        s.commit()
    updates = sql_log.matching("UPDATE")
    assert len(updates) == 1 and "x1" not in updates[0] and "x2" in updates[0]
    assert read_rows(Vertex.__table__) == [(1, 3, 4, 10, 14, None, None)]


def test_unset_columns_give_an_object_of_nones_or_none_when_optional(Vertex, engine):
    v = Vertex()
    assert v.start == Point(None, None)  # type: ignore[arg-type]
    assert v.home is None                # Optional: return_none_on is all-None
    v.home = Address("Main St", "Springfield")
    assert (v.home_street, v.home_city) == ("Main St", "Springfield")
    v.home = None
    assert v.home is None and v.home_street is None


def test_return_none_on_none_given_keeps_an_object_of_nones_for_optional(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Box(Base):
        __tablename__ = "cp_boxes"
        id: Mapped[int] = mapped_column(primary_key=True)
        corner: Mapped[Optional[Point]] = composite(  # noqa: UP045
            mapped_column("cx", nullable=True), mapped_column("cy", nullable=True),
            return_none_on=None)

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Box(id=1, corner=None))
        s.commit()
        assert s.execute(select(Box.corner)).scalar_one() == Point(None, None)  # type: ignore[arg-type]
        assert s.get(Box, 1).corner == Point(None, None)  # type: ignore[arg-type,union-attr]


def test_attribute_names_and_legacy_class(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Seg(Base):
        __tablename__ = "cp_segs"
        id: Mapped[int] = mapped_column(primary_key=True)
        a: Mapped[int]
        b: Mapped[int]
        ab: Mapped[LegacyPoint] = composite("a", "b")
        c = mapped_column(Integer, nullable=True)
        d = mapped_column(Integer, nullable=True)
        cd = composite(LegacyPoint, c, d)

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Seg(ab=LegacyPoint(1, 2), cd=LegacyPoint(3, 4)))
        s.commit()
        seg = s.get(Seg, 1)
        assert seg.ab == LegacyPoint(1, 2) and seg.cd == LegacyPoint(3, 4)
    assert read_rows(Seg.__table__) == [(1, 1, 2, 3, 4)]


def test_imperative_mapping(engine, read_rows):
    md = MetaData()
    table = Table("cp_imp", md, Column("id", Integer, primary_key=True),
                  Column("px", Integer), Column("py", Integer))

    class Spot:
        pass

    reg = registry()
    reg.map_imperatively(Spot, table, properties={"p": composite(Point, table.c.px, table.c.py)})
    md.create_all(engine)
    try:
        with Session(engine) as s:
            spot = Spot()
            spot.p = Point(7, 8)
            s.add(spot)
            s.commit()
            assert s.scalars(select(Spot).where(Spot.p == Point(7, 8))).one() is spot
        assert read_rows(table) == [(1, 7, 8)]
    finally:
        md.drop_all(engine)
        reg.dispose()


def test_misuse_is_refused(Vertex, metadata):
    v = Vertex()
    with pytest.raises(InvalidRequestError, match="not a dataclass and has no __composite_values__"):
        v.start = (1, 2)  # type: ignore[assignment]
    assert v.x1 is None  # nothing was written
    with pytest.raises(ArgumentError, match="a composite compares with =="):
        Vertex.start.like("x")
    with pytest.raises(ArgumentError, match="exactly one %s"):
        composite(Point, column_template="nope")

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    with pytest.raises(ArgumentError, match="3 columns given for its 2 fields"):
        class Bad(Base):
            __tablename__ = "cp_bad"
            id: Mapped[int] = mapped_column(primary_key=True)
            p: Mapped[Point] = composite(mapped_column("a"), mapped_column("b"),
                                         mapped_column("c"))
    with pytest.raises(ArgumentError, match="not a dataclass"):
        class Bad2(Base):
            __tablename__ = "cp_bad2"
            id: Mapped[int] = mapped_column(primary_key=True)
            p: Mapped[LegacyPoint] = composite(column_template="p_%s")


def test_composite_of_string_columns_round_trips(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Person(Base):
        __tablename__ = "cp_people"
        id: Mapped[int] = mapped_column(primary_key=True)
        work: Mapped[Address] = composite(mapped_column("w_street", String(40)),
                                          mapped_column("w_city", String(40)))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Person(work=Address("A", "B")))
        s.commit()
    with Session(engine) as s:
        assert s.scalars(select(Person.work)).one() == Address("A", "B")


def test_a_read_returns_the_same_object_while_its_columns_keep_their_values(Vertex, engine):
    with Session(engine) as s:
        v = Vertex(start=Point(3, 4), end=Point(5, 6))
        s.add(v)
        s.commit()
        p = v.start  # loaded after the commit expired v
        assert v.start is p
        p.x = 30  # a plain composite changed in place: visible, but not the columns'
        assert v.start.x == 30 and v.x1 == 3
        v.x1 = 7  # a column written: the next read builds a new object from the columns
        assert v.start == Point(7, 4) and v.start is not p
        assigned = Point(1, 2)
        v.start = assigned
        assert v.start is assigned
        s.expire(v)  # expiring forgets the object (and the unflushed change)
        assert v.start == Point(3, 4) and v.start is not assigned


def _mutable_vertex(metadata, engine):
    from datamapper.mutable import MutableComposite

    @dataclasses.dataclass
    class MPoint(MutableComposite):
        x: int
        y: int

        def __setattr__(self, key: str, value: Any) -> None:
            object.__setattr__(self, key, value)
            self.changed()

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class MVertex(Base):
        __tablename__ = "cp_mvertices"
        id: Mapped[int] = mapped_column(primary_key=True)
        start: Mapped[MPoint] = composite(MPoint, mapped_column("x1"), mapped_column("y1"))

    metadata.create_all(engine)
    return MVertex, MPoint


def test_mutable_composite_changed_in_place_is_flushed(metadata, engine, read_rows, sql_log):
    MVertex, MPoint = _mutable_vertex(metadata, engine)
    with Session(engine) as s:
        v = MVertex(id=1, start=MPoint(3, 4))
        s.add(v)
        s.commit()
        v.start.x = 10  # loads v, then writes x1 through changed()
        assert v.x1 == 10 and v in s.dirty
        assert get_history(v, "x1").added == [10]
        sql_log.clear()
        s.commit()
        (update,) = sql_log.matching("UPDATE")
        assert "x1" in update and "y1" not in update
    assert read_rows(MVertex.__table__) == [(1, 10, 4)]
    with Session(engine) as s:
        v = s.get(MVertex, 1)
        p = v.start
        p.y = 40
        p.x = 11
        s.commit()
        assert v.start == MPoint(11, 40)
    assert read_rows(MVertex.__table__) == [(1, 11, 40)]


def test_mutable_composite_shared_by_two_objects_writes_both(metadata, engine, read_rows):
    MVertex, MPoint = _mutable_vertex(metadata, engine)
    with Session(engine) as s:
        p = MPoint(1, 1)
        a, b = MVertex(id=1, start=p), MVertex(id=2, start=p)
        s.add_all([a, b])
        s.flush()
        p.x = 5
        s.commit()
    assert read_rows(MVertex.__table__) == [(1, 5, 1), (2, 5, 1)]


def test_mutable_composite_copies_without_its_owners(metadata, engine):
    import copy as copying

    MVertex, MPoint = _mutable_vertex(metadata, engine)
    v = MVertex(id=1, start=MPoint(2, 3))
    p = v.start
    assert p._parents == {v: "start"}
    copy = copying.deepcopy(p)  # (pickle uses the same state)
    assert copy == MPoint(2, 3) and copy._parents == {}


# ------------------------------------------------------------------ ordering, comparators

def _three_vertices(s: Any, Vertex: Any) -> None:
    # ordered by (x1, y1, x2, y2): c, b, a; by the first column of each only: c, a, b
    s.add_all([Vertex(id=1, start=Point(1, 2), end=Point(0, 0)),
               Vertex(id=2, start=Point(1, 1), end=Point(5, 0)),
               Vertex(id=3, start=Point(0, 5), end=Point(0, 0))])
    s.commit()


@_ORDERING_LISTS
def test_order_by_a_composite_orders_by_each_of_its_columns(Vertex, engine, sql_log):
    from sqlalchemy import asc, desc, nulls_first, nulls_last

    from datamapper import aliased

    with Session(engine) as s:
        _three_vertices(s, Vertex)
        ea = aliased(Vertex)
        sql_log.clear()
        assert [v.id for v in s.query(ea).order_by(ea.start, ea.end)] == [3, 2, 1]
        assert sql_log.statements[-1].endswith(
            "ORDER BY cp_vertices_1.x1, cp_vertices_1.y1, cp_vertices_1.x2, cp_vertices_1.y2")
        assert [v.id for v in s.scalars(select(Vertex).order_by(Vertex.start.desc()))] == [1, 2, 3]
        assert sql_log.statements[-1].endswith(
            "ORDER BY cp_vertices.x1 DESC, cp_vertices.y1 DESC")
        assert [v.id for v in s.scalars(select(ea).order_by(desc(ea.start)))] == [1, 2, 3]
        assert [v.id for v in s.scalars(select(Vertex).order_by(asc(Vertex.end),
                                                                 Vertex.start))] == [3, 1, 2]
        assert sql_log.statements[-1].endswith(
            "ORDER BY cp_vertices.x2 ASC, cp_vertices.y2 ASC, cp_vertices.x1, cp_vertices.y1")
        # an aliased composite compares its own columns, against the object's values
        assert [v.id for v in s.scalars(select(ea).where(ea.start == Point(1, 1)))] == [2]
        assert "cp_vertices_1.y1 = " in sql_log.statements[-1]
        assert s.execute(select(ea.end).where(ea.id == 2)).scalar_one() == Point(5, 0)
    stmt = select(Vertex.id).order_by(Vertex.start.asc().nulls_first(), nulls_last(Vertex.end),
                                      nulls_first(desc(ea.start)))
    assert str(stmt).endswith(
        "ORDER BY cp_vertices.x1 ASC NULLS FIRST, cp_vertices.y1 ASC NULLS FIRST, "
        "cp_vertices.x2 NULLS LAST, cp_vertices.y2 NULLS LAST, "
        "cp_vertices_1.x1 DESC NULLS FIRST, cp_vertices_1.y1 DESC NULLS FIRST")


@_ORDERING_LISTS
def test_sqlalchemy_orders_by_each_column_too():
    from sqlalchemy import desc
    from sqlalchemy.orm import aliased as sa_aliased
    from sqlalchemy.orm import composite as sa_composite
    from sqlalchemy.orm import registry as sa_registry

    table = Table("v", MetaData(), Column("id", Integer, primary_key=True),
                  Column("x1", Integer), Column("y1", Integer))

    class V:
        pass

    reg = sa_registry()
    reg.map_imperatively(V, table, properties={"start": sa_composite(Point, table.c.x1,
                                                                     table.c.y1)})
    try:
        va = sa_aliased(V)
        assert str(select(V.id).order_by(desc(V.start), va.start)).endswith(
            "ORDER BY v.x1 DESC, v.y1 DESC, v_1.x1, v_1.y1")
    finally:
        reg.dispose()


@_ORDERING_LISTS
def test_custom_comparator_factory(metadata, engine, sql_log):
    from sqlalchemy import desc
    from sqlalchemy.sql.elements import OrderByList

    from datamapper import Composite, CompositeProperty

    class Near(Composite.Comparator):
        def near(self, other: Point, d: int) -> Any:
            x, y = self.__clause_element__().clauses
            return (x - other.x) * (x - other.x) + (y - other.y) * (y - other.y) <= d * d

        def desc(self) -> Any:  # (x descending, then y ascending)
            x, y = self.clauses
            return OrderByList([x.desc(), y.asc()])

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Spot(Base):
        __tablename__ = "cp_spots"
        id: Mapped[int] = mapped_column(primary_key=True)
        p: Mapped[Point] = composite(mapped_column("px"), mapped_column("py"),
                                     comparator_factory=Near)
        q: Mapped[Point] = composite(mapped_column("qx"), mapped_column("qy"))

    assert Spot.p.property.comparator_factory is Near
    assert Spot.q.property.comparator_factory is Composite.Comparator
    assert CompositeProperty.Comparator is Composite.Comparator
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Spot(id=1, p=Point(0, 0), q=Point(0, 0)),
                   Spot(id=2, p=Point(0, 1), q=Point(0, 0))])
        s.commit()
        sql_log.clear()
        assert [x.id for x in s.scalars(select(Spot).where(Spot.p.near(Point(1, 1), 1)))] == [2]
        assert "(cp_spots.px - " in sql_log.statements[-1]
        assert s.scalars(select(Spot.id).order_by(desc(Spot.p))).all() == [1, 2]
        assert sql_log.statements[-1].endswith("ORDER BY cp_spots.px DESC, cp_spots.py ASC")
        assert s.scalars(select(Spot.id).where(Spot.p == Point(0, 1))).all() == [2]


# ------------------------------------------------------------------ ORM bulk DML

def _cols(read_rows: Any, table: Any) -> list[tuple[Any, ...]]:
    return [r[:5] for r in read_rows(table)]


def test_orm_insert_with_composite_values(Vertex, engine, read_rows, sql_log):
    from sqlalchemy import insert

    with Session(engine) as s:
        s.execute(insert(Vertex), [{"id": 1, "start": Point(1, 2), "end": Point(3, 4)},
                                   {"id": 2, "start": Point(5, 6), "x2": 7, "y2": 8},
                                   {"id": 3, "start": Point(9, 9), "end": Point(0, 0),
                                    "home": Address("S", "C")}])
        s.execute(insert(Vertex).values(id=4, start=Point(11, 12), end=Point(13, 14)))
        s.execute(insert(Vertex).values([{"id": 5, "start": Point(1, 1), "end": Point(2, 2)}]))
        got = s.scalars(insert(Vertex).values(id=6, start=Point(3, 3), end=Point(4, 4))
                        .returning(Vertex.end)).all() if engine.dialect.insert_returning \
            else [Point(4, 4)]
        assert got == [Point(4, 4)]
        s.commit()
    assert any("INSERT INTO cp_vertices (id, x1, y1, x2, y2)" in st for st in sql_log.statements)
    assert _cols(read_rows, Vertex.__table__) == [
        (1, 1, 2, 3, 4), (2, 5, 6, 7, 8), (3, 9, 9, 0, 0), (4, 11, 12, 13, 14), (5, 1, 1, 2, 2),
        (6, 3, 3, 4, 4)]
    assert read_rows(Vertex.__table__)[2][5:] == ("S", "C")


def test_bulk_mappings_with_composite_values(Vertex, engine, read_rows):
    with Session(engine) as s:
        s.bulk_insert_mappings(Vertex, [{"id": 1, "start": Point(1, 2), "end": Point(3, 4)},
                                        {"id": 2, "start": Point(5, 6), "end": Point(7, 8)}])
        s.bulk_update_mappings(Vertex, [{"id": 2, "start": Point(50, 60)}])
        s.commit()
    assert _cols(read_rows, Vertex.__table__) == [(1, 1, 2, 3, 4), (2, 50, 60, 7, 8)]


def test_orm_update_with_composite_values(Vertex, engine, read_rows, sql_log):
    from sqlalchemy import update

    with Session(engine) as s:
        _three_vertices(s, Vertex)
        v1 = s.get(Vertex, 1)
        # by primary key, a list of dictionaries
        s.execute(update(Vertex), [{"id": 1, "end": Point(7, 7)}, {"id": 2, "start": Point(8, 8)}])
        assert v1.end == Point(7, 7)
        sql_log.clear()
        s.execute(update(Vertex).where(Vertex.start == Point(0, 5))
                  .values({Vertex.end: Point(16, 10)}))
        assert sql_log.statements[-1].startswith("UPDATE cp_vertices SET x2=")
        s.execute(update(Vertex).where(Vertex.id == 1).values(start=Point(20, 21)))
        assert v1.start == Point(20, 21)  # evaluated on the object in the session
        s.query(Vertex).filter(Vertex.id == 2).update({Vertex.end: Point(30, 31)},
                                                      synchronize_session="fetch")
        s.query(Vertex).filter(Vertex.id == 1).update({"end": Point(40, 41)})
        assert v1.end == Point(40, 41)
        s.commit()
    stmt = update(Vertex).values({Vertex.end: Point(16, 10)})
    assert str(stmt) == "UPDATE cp_vertices SET x2=:x2, y2=:y2"
    assert _cols(read_rows, Vertex.__table__) == [
        (1, 20, 21, 40, 41), (2, 8, 8, 30, 31), (3, 0, 5, 16, 10)]


# ------------------------------------------------------------------ attribute events

@pytest.mark.parametrize("active", [False, True])
def test_set_and_remove_events_on_a_composite(metadata, engine, read_rows, sql_log, active):
    from datamapper import NO_VALUE, event

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Seg(Base):
        __tablename__ = "cp_evsegs"
        id: Mapped[int] = mapped_column(primary_key=True)
        start: Mapped[Point] = composite(mapped_column("x1", nullable=True),
                                         mapped_column("y1", nullable=True),
                                         active_history=active)

    metadata.create_all(engine)
    seen: list[tuple[Any, ...]] = []

    def on_set(target: Any, value: Any, old: Any, initiator: Any) -> Any:
        seen.append(("set", target, value, old, initiator.key))
        return Point(value.x * 10, value.y)  # retval: what is written instead

    event.listen(Seg.start, "set", on_set, retval=True)
    event.listen(Seg.start, "remove", lambda t, old, i: seen.append(("remove", t, old, i.key)))
    seg = Seg(id=1)
    seg.start = Point(5, 6)
    assert seen == [("set", seg, Point(5, 6), Point(None, None) if active else NO_VALUE,  # type: ignore[arg-type]
                     "start")]
    assert seg.start == Point(50, 6) and seg.x1 == 50
    with Session(engine) as s:
        s.add(seg)
        s.commit()
        seen.clear()
        sql_log.clear()
        seg.start = Point(7, 8)  # expired by the commit: the old value loads only if active
        assert len(sql_log.matching("SELECT")) == (1 if active else 0)
        assert seen == [("set", seg, Point(7, 8), Point(50, 6) if active else NO_VALUE, "start")]
        assert get_history(seg, "start") == (
            [Point(70, 8)], (), [Point(50, 6) if active else Point(None, None)])  # type: ignore[arg-type]
        s.commit()
        seen.clear()
        del seg.start
        assert seen == [("remove", seg, Point(70, 8) if active else NO_VALUE, "start")]
        s.commit()
    assert read_rows(Seg.__table__) == [(1, None, None)]


def test_loader_callable_status_names_the_no_value_marker():
    from datamapper import NO_VALUE
    from datamapper.attributes import LoaderCallableStatus

    assert LoaderCallableStatus.NO_VALUE is NO_VALUE


# ------------------------------------------------------------------ composite primary key

class Version:  # unhashable, as a class defining __eq__ only is
    def __init__(self, id_: Any, version: Any) -> None:
        self.id, self.version = id_, version

    def __composite_values__(self) -> tuple[Any, Any]:
        return self.id, self.version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and (other.id, other.version) == (self.id, self.version)


@pytest.mark.parametrize("cls", [Version, Point])
def test_get_by_a_composite_primary_key(metadata, engine, sql_log, read_rows, cls):
    table = Table("cp_graphs", metadata, Column("id", Integer, primary_key=True),
                  Column("version_id", Integer, primary_key=True, autoincrement=False),
                  Column("name", String(30)))

    class Graph:
        pass

    reg = registry()
    reg.map_imperatively(Graph, table, properties={
        "version": composite(cls, table.c.id, table.c.version_id)})
    metadata.create_all(engine)
    try:
        with Session(engine) as s:
            g = Graph()
            g.version = cls(1, 1)
            s.add(g)
            s.commit()
            assert g.version == cls(1, 1)  # (loads g, expired by the commit)
            sql_log.clear()
            assert s.get(Graph, cls(1, 1)) is g  # from the identity map
            assert sql_log.statements == []
            g.version = cls(2, 1)  # the key changes
            s.commit()
            assert s.get(Graph, cls(2, 1)) is g and s.get(Graph, cls(1, 1)) is None
        with Session(engine) as s:
            sql_log.clear()
            found = s.get(Graph, cls(2, 1))
            assert found.version == cls(2, 1)
            assert "WHERE cp_graphs.id = " in sql_log.statements[0]
        assert read_rows(table) == [(2, 1, None)]
    finally:
        reg.dispose()


# ------------------------------------------------------------------ deferred composites

def test_deferred_composite_loads_its_columns_together(metadata, engine, sql_log):
    from datamapper import defer, load_only, undefer, undefer_group

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Seg(Base):
        __tablename__ = "cp_dsegs"
        id: Mapped[int] = mapped_column(primary_key=True)
        start: Mapped[Point] = composite(mapped_column("x1"), mapped_column("y1"),
                                         deferred=True, group="g")
        end: Mapped[Point] = composite(mapped_column("x2"), mapped_column("y2"), deferred=True)
        mid: Mapped[Point] = composite(mapped_column("x3"), mapped_column("y3"))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Seg(id=1, start=Point(1, 2), end=Point(3, 4), mid=Point(5, 6)))
        s.commit()
    with Session(engine) as s:
        sql_log.clear()
        seg = s.scalars(select(Seg)).one()
        assert "x1" not in sql_log.statements[0] and "x2" not in sql_log.statements[0]
        assert "cp_dsegs.x3" in sql_log.statements[0]
        assert seg.start == Point(1, 2)  # one SELECT for both of its columns
        assert len(sql_log.statements) == 2 and "cp_dsegs.y1" in sql_log.statements[1] \
            and "x2" not in sql_log.statements[1]
        assert seg.end == Point(3, 4) and len(sql_log.statements) == 3
    everything = ("x1", "y1", "x2", "y2", "x3", "y3")
    for opts, loaded in [((undefer_group("g"), undefer(Seg.end)), everything),
                         ((defer(Seg.mid),), ()),
                         ((load_only(Seg.start, Seg.x2),), ("x1", "y1", "x2")),
                         ((load_only(Seg.end),), ("x2", "y2"))]:
        with Session(engine) as s:
            sql_log.clear()
            seg = s.scalars(select(Seg).options(*opts)).one()
            first = sql_log.statements[0]
            assert [n for n in everything if f"cp_dsegs.{n}" in first] == list(loaded), opts
            assert (seg.start, seg.end, seg.mid) == (Point(1, 2), Point(3, 4), Point(5, 6))


# ------------------------------------------------------------------ selecting, relationships

def test_query_of_a_labelled_composite_and_of_its_clauses(Vertex, engine, sql_log):
    with Session(engine) as s:
        s.add(Vertex(id=1, start=Point(1, 2), end=Point(3, 4)))
        s.commit()
        row = s.query(Vertex.start.label("s1"), Vertex.end).one()
        assert (row.s1, row.end) == (Point(1, 2), Point(3, 4))
        assert s.execute(select(Vertex.start.label("s1"))).one().s1 == Point(1, 2)
        assert s.query(Vertex.start.clauses, Vertex.end.clauses).all() == [(1, 2, 3, 4)]
        assert sql_log.statements[-1].startswith(
            "SELECT cp_vertices.x1 AS cp_vertices_x1, cp_vertices.y1 AS cp_vertices_y1, "
            "cp_vertices.x2 AS cp_vertices_x2, cp_vertices.y2 AS cp_vertices_y2")


def test_composite_of_a_column_and_a_many_to_one(metadata, engine, sql_log):
    from datamapper import aliased, relationship

    class Pair:
        def __init__(self, label: Any, other: Any) -> None:
            self.label, self.other = label, other

        def __composite_values__(self) -> tuple[Any, Any]:
            return self.label, self.other

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Target(Base):
        __tablename__ = "cp_targets"
        id: Mapped[int] = mapped_column(primary_key=True)

    class Holder(Base):
        __tablename__ = "cp_holders"
        id: Mapped[int] = mapped_column(primary_key=True)
        label: Mapped[str] = mapped_column(String(20))
        target_id = mapped_column(Integer, sa_fk("cp_targets.id"))
        target = relationship(Target)
        pair = composite(Pair, "label", "target")

    metadata.create_all(engine)
    with Session(engine) as s:
        t1, t2 = Target(id=1), Target(id=2)
        h1, h2 = Holder(id=1, pair=Pair("a", t1)), Holder(id=2, pair=Pair("b", t2))
        s.add_all([h1, h2])
        s.commit()
        assert h2.target is t2 and h2.label == "b"
        sql_log.clear()
        assert s.scalars(select(Holder).where(Holder.pair == Pair("b", t2))).all() == [h2]
        assert "cp_holders.label = " in sql_log.statements[-1] and \
            "cp_holders.target_id" in sql_log.statements[-1]
        ha = aliased(Holder)
        assert s.scalars(select(ha).where(ha.pair == Pair("a", t1))).all() == [h1]
        assert s.scalars(select(ha).where(ha.pair == Pair("a", t2))).all() == []


def test_a_composite_of_something_else_than_columns_is_refused_at_configuration():
    from datamapper import configure_mappers

    table = Table("cp_bad3", MetaData(), Column("id", Integer, primary_key=True),
                  Column("x1", Integer), Column("y1", Integer))

    class Bad:
        pass

    reg = registry()
    reg.map_imperatively(Bad, table, properties={
        "start": composite(Point, (table.c.x1,), table.c.y1)})
    try:
        with pytest.raises(ArgumentError, match=r"Bad.start: \(Column\('x1'.* is not a mapped"):
            configure_mappers()
    finally:
        reg.dispose()


def test_composites_of_a_joined_subclass_and_in_bundles(metadata, engine, sql_log):
    from datamapper import Bundle

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Shape(Base):
        __tablename__ = "cp_shapes"
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str] = mapped_column(String(10))
        start: Mapped[Point] = composite(mapped_column("x1"), mapped_column("y1"))
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "shape"}

    class Arc(Shape):
        __tablename__ = "cp_arcs"
        id: Mapped[int] = mapped_column(sa_fk("cp_shapes.id"), primary_key=True)
        mid: Mapped[Point] = composite(mapped_column("mx"), mapped_column("my"))
        __mapper_args__ = {"polymorphic_identity": "arc"}

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Shape(id=1, start=Point(1, 2)), Arc(id=2, start=Point(3, 4), mid=Point(5, 6))])
        s.commit()
        sql_log.clear()
        # the subclass's composites read the subclass's rows only (they read every
        # Shape row: a cartesian product of the two tables)
        assert s.execute(select(Arc.start, Arc.mid)).all() == [(Point(3, 4), Point(5, 6))]
        assert "JOIN cp_arcs ON" in sql_log.statements[-1]
        assert s.query(Arc.start).all() == [(Point(3, 4),)]
        assert s.execute(select(Bundle("b", Arc.x1, Arc.mx))).all() == [((3, 5),)]
        assert s.scalars(select(Arc.id).where(Arc.start == Point(3, 4))).all() == [2]
        # a composite inside a Bundle: its objects
        rows = s.execute(select(Bundle("b", Shape.id, Shape.start)).order_by(Shape.id)).all()
        assert [tuple(r.b) for r in rows] == [(1, Point(1, 2)), (2, Point(3, 4))]
        assert rows[1].b.start == Point(3, 4)


def test_none_assigned_reads_back_as_none_and_mapper_composites(Vertex, engine, read_rows):
    from datamapper import inspect

    assert sorted(inspect(Vertex).composites.keys()) == ["end", "home", "start"]
    v = Vertex(id=1, start=Point(1, 2), end=Point(3, 4))
    v.start = None  # type: ignore[assignment]
    assert v.start is None and v.x1 is None  # the value assigned (as SQLAlchemy keeps it)
    v.x1 = 5  # a column written: the object is built from the columns again
    assert v.start == Point(5, None)  # type: ignore[arg-type]
    del v.start
    assert v.start == Point(None, None)  # type: ignore[arg-type]


def test_composite_attribute_lookups(Vertex):
    from datamapper import Composite

    assert isinstance(Vertex.start.comparator, Composite.Comparator)
    assert [c.name for c in Vertex.start.clauses] == ["x1", "y1"]
    with pytest.raises(AttributeError, match=r"Vertex.start has no attribute 'nope'"):
        Vertex.start.nope  # noqa: B018
    assert not hasattr(Vertex.start, "type")


@pytest.mark.parametrize("form", ["Column", "mapped_column"])
def test_composite_declaring_its_columns_inline_in_a_plain_class_body(Base, engine,
                                                                      make_session, form,
                                                                      read_rows):
    """composite(Address, Column("street", ...), Column("state", ...)) in a class body
    without Mapped annotations: its columns join the class's table."""
    import dataclasses

    from sqlalchemy import Column, Integer, String, select

    from datamapper import composite, mapped_column

    @dataclasses.dataclass
    class Addr:
        street: str
        state: str

    make = Column if form == "Column" else mapped_column

    class Person(Base):
        __tablename__ = "inline_comp_person"
        id = Column(Integer, primary_key=True)
        address = composite(Addr, make("street", String(50)), make("state", String(2)))

    Base.metadata.create_all(engine)
    assert {c.name for c in Person.__table__.columns} == {"id", "street", "state"}
    s = make_session()
    s.add(Person(id=1, address=Addr("123 anywhere", "MD")))
    s.commit()
    assert read_rows("SELECT street, state FROM inline_comp_person") == [("123 anywhere", "MD")]
    s.close()
    got = s.scalars(select(Person).where(Person.address == Addr("123 anywhere", "MD"))).one()
    assert got.address == Addr("123 anywhere", "MD")


def test_composite_over_columns_the_class_body_declares_unnamed(Base, engine, make_session,
                                                                read_rows):
    """``street = Column(String)`` ... ``address = composite(Address, street, state)``:
    the columns are named after their attributes, the composite reads and writes them."""

    class PostalAddress:
        def __init__(self, street: str, state: str) -> None:
            self.street = street
            self.state = state

        def __composite_values__(self) -> tuple[str, str]:
            return self.street, self.state

        def __eq__(self, other: object) -> bool:
            return isinstance(other, PostalAddress) and \
                other.__composite_values__() == self.__composite_values__()

    class Customer(Base):
        __tablename__ = "cp_customers"
        id = Column(Integer, primary_key=True)
        street = Column(String(50))
        state = Column(String(2))
        address = composite(PostalAddress, street, state)

    assert Customer.__table__.c.keys() == ["id", "street", "state"]
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Customer(id=1, address=PostalAddress("1 Main St", "MD")))
    s.commit()
    assert read_rows(Customer.__table__) == [(1, "1 Main St", "MD")]
    s.close()
    s = make_session()
    assert s.get(Customer, 1).address == PostalAddress("1 Main St", "MD")
