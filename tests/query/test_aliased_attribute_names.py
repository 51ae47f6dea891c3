"""An aliased() entity's attribute names are the mapped class's: a column named
``mapper``, ``selectable``, ``class_``, ``adapt`` or ``column_for`` is the alias's
column, as it is the class's.  The alias used to answer those names with its own
internals (the Mapper, the Alias, a bound method), so ``filter(alias.mapper == 1)``
compared an object with a value and silently matched nothing; ``inspect(alias)``
is where the mapper and selectable are read.  Names the class answers that are not
mapped (hybrids, methods, constants, ``__tablename__``) still read through the alias."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, inspect

from datamapper import aliased, relationship, select, with_polymorphic

NAMES = ("mapper", "selectable", "class_", "adapt", "column_for")


@pytest.fixture
def M(Base, engine, make_session):
    class Part(Base):
        __tablename__ = "an_parts"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("an_parts.id"))
        mapper = Column(String(20))
        selectable = Column(String(20))
        class_ = Column("klass", String(20))
        adapt = Column(Integer)
        column_for = Column(String(20))
        kind = Column(String(10))
        children = relationship("Part", order_by="Part.id")
        SHELF = "top"

        def describe(self):
            return f"part {self.id}"

        @classmethod
        def by_mapper(cls, value):
            return cls.mapper == value

        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "part"}

    class Gear(Part):
        __tablename__ = "an_gears"
        id = Column(ForeignKey("an_parts.id"), primary_key=True)
        teeth = Column(Integer)
        __mapper_args__ = {"polymorphic_identity": "gear"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        Part(id=1, mapper="m1", selectable="s1", class_="c1", adapt=10, column_for="f1"),
        Part(id=2, parent_id=1, mapper="m2", selectable="s2", class_="c2", adapt=20,
             column_for="f2"),
        Gear(id=3, parent_id=1, mapper="m3", selectable="s3", class_="c3", adapt=30,
             column_for="f3", teeth=12),
    ])
    s.commit()
    s.close()
    return Part, Gear


@pytest.mark.parametrize("name,value,want", [
    ("mapper", "m2", [2]), ("selectable", "s3", [3]), ("class_", "c1", [1]),
    ("adapt", 20, [2]), ("column_for", "f3", [3])])
def test_alias_column_named_like_an_internal_filters_rows(M, session, sql_log, name, value,
                                                          want):
    Part, _Gear = M
    pa = aliased(Part, name="pa")
    col = getattr(pa, name)
    assert isinstance(col, sa.ColumnElement)
    sql_log.clear()
    rows = session.scalars(select(pa).where(col == value).order_by(pa.id)).all()
    assert [p.id for p in rows] == want
    column = "klass" if name == "class_" else name
    assert f"WHERE pa.{column} = " in sql_log.statements[-1]
    # legacy Query and filter_by() read the same column
    assert [p.id for p in session.query(pa).filter(col == value)] == want
    assert [p.id for p in session.query(pa).filter_by(**{name: value})] == want


def test_self_join_through_alias_columns_named_like_internals(M, session):
    Part, _Gear = M
    parent = aliased(Part, name="parent")
    stmt = (select(Part.id, parent.mapper, parent.class_, parent.adapt)
            .join(parent, Part.parent_id == parent.id).order_by(Part.id))
    assert [tuple(r) for r in session.execute(stmt)] == [(2, "m1", "c1", 10),
                                                         (3, "m1", "c1", 10)]
    # a relationship of the alias joins from it
    kid = aliased(Part, name="kid")
    stmt = (select(parent.mapper, kid.selectable).join(parent.children.of_type(kid))
            .order_by(kid.id))
    assert [tuple(r) for r in session.execute(stmt)] == [("m1", "s2"), ("m1", "s3")]


def test_subclass_alias_and_with_polymorphic_columns_named_like_internals(M, session):
    Part, Gear = M
    ga = aliased(Gear)
    assert [(g.id, g.teeth) for g in session.scalars(select(ga).where(ga.mapper == "m3"))] \
        == [(3, 12)]
    ga_flat = aliased(Gear, flat=True)
    assert session.scalars(select(ga_flat.id).where(ga_flat.column_for == "f3")).all() == [3]
    wp = with_polymorphic(Part, [Gear], aliased=True)
    rows = session.scalars(select(wp).where(wp.selectable.in_(["s1", "s3"]))
                           .order_by(wp.id)).all()
    assert [(type(p).__name__, p.id) for p in rows] == [("Part", 1), ("Gear", 3)]
    assert session.scalars(select(wp.Gear.teeth).where(wp.Gear.adapt == 30)).all() == [12]


def test_alias_of_subquery_columns_named_like_internals(M, session):
    Part, _Gear = M
    sub = select(Part).where(Part.adapt >= 20).subquery()
    pa = aliased(Part, sub)
    assert session.scalars(select(pa.id).where(pa.class_ == "c3")).all() == [3]
    assert sorted(p.id for p in session.scalars(select(pa).where(pa.adapt > 0))) == [2, 3]


def test_inspect_of_the_alias_tells_its_mapper_and_selectable(M):
    Part, _Gear = M
    pa = aliased(Part, name="pa")
    insp = inspect(pa)
    assert insp.mapper is inspect(Part) and insp.class_ is Part
    assert insp.selectable.name == "pa" and insp.entity is pa


def test_unmapped_names_of_the_class_read_through_the_alias(M, session):
    Part, _Gear = M
    pa = aliased(Part, name="pa")
    assert pa.SHELF == "top"
    assert pa.describe is Part.describe
    # a classmethod is bound to the alias: its expression names the alias's column
    crit = pa.by_mapper("m1")
    assert "pa.mapper" in str(crit)
    assert session.scalars(select(pa.id).where(crit)).all() == [1]
    assert pa.__name__ == "aliased(Part)"
    assert pa.__tablename__ == "an_parts" and pa.__table__ is Part.__table__
    assert pa.__mapper__ is inspect(Part)
    with pytest.raises(AttributeError, match="no attribute 'entity'"):
        pa.entity  # noqa: B018
    with pytest.raises(AttributeError):
        pa.__deepcopy__  # noqa: B018


def test_plain_alias_still_refuses_internal_names(Base):
    class Plain(Base):
        __tablename__ = "an_plain"
        id = Column(Integer, primary_key=True)

    pa = aliased(Plain)
    for name in NAMES:
        with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
            getattr(pa, name)
