"""Small public names 2.x code imports: ``reconstructor``, ``as_declarative``,
``declarative_mixin``, ``has_inherited_table``, ``close_all_sessions`` and the property
class aliases."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import String, select

import datamapper
from datamapper import (
    Mapped,
    Session,
    as_declarative,
    close_all_sessions,
    declarative_mixin,
    declared_attr,
    has_inherited_table,
    mapped_column,
    reconstructor,
)


def test_reconstructor_runs_on_load_not_on_construction(metadata, engine):
    @as_declarative(metadata=metadata)
    class Base:
        pass

    calls: list[str] = []

    class Thing(Base):
        __tablename__ = "ph_things"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(20))

        def __init__(self, name: str) -> None:
            self.name = name
            self.cache = "built"

        @reconstructor
        def init_on_load(self) -> None:
            calls.append(self.name)
            self.cache = "loaded"

    class SubThing(Thing):  # inherits the reconstructor (single-table)
        pass

    metadata.create_all(engine)
    with Session(engine) as s:
        t = Thing("a")
        s.add(t)
        s.commit()
        assert calls == [] and t.cache == "built"
    with Session(engine) as s:
        (loaded,) = s.scalars(select(Thing)).all()
        assert calls == ["a"] and loaded.cache == "loaded"
        s.expire(loaded)
        loaded.name  # noqa: B018  (a refresh is not a load)
        assert calls == ["a"]


def test_declarative_mixin_and_has_inherited_table(metadata, engine):
    @declarative_mixin
    class Tablename:
        @declared_attr.directive
        def __tablename__(cls) -> str | None:
            return None if has_inherited_table(cls) else "ph_" + cls.__name__.lower()

    @as_declarative(metadata=metadata)
    class Base:
        pass

    class Person(Tablename, Base):
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "person"}

    class Engineer(Person):
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    assert Person.__table__.name == "ph_person"
    assert Engineer.__table__ is Person.__table__  # single-table: no table of its own
    assert has_inherited_table(Engineer) and not has_inherited_table(Person)


def test_close_all_sessions_closes_every_session(engine, User):
    s1, s2 = Session(engine), Session(engine)
    u = User(name="x")
    s1.add(u)
    s2.execute(sa.text("SELECT 1"))
    close_all_sessions()
    assert u not in s1 and not s2.in_transaction()


def test_property_class_names():
    assert datamapper.Relationship is datamapper.RelationshipProperty
    assert datamapper.Synonym is datamapper.SynonymProperty
    assert issubclass(datamapper.InstrumentedAttribute, datamapper.QueryableAttribute)
    assert issubclass(datamapper.ColumnProperty, datamapper.MapperProperty)


def test_reconstructor_on_init_runs_the_classes_own_init_on_load(metadata, engine):
    # the 0.x recipe: decorate __init__ itself, so loaded objects are set up the same way
    # as new ones; each class of a hierarchy runs its own
    from datamapper import registry

    reg = registry(metadata=metadata)
    table = sa.Table("ph_recon", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("kind", String(10)))
    calls: list[str] = []

    class Base:
        @reconstructor
        def __init__(self) -> None:
            assert isinstance(self, Base)
            calls.append("Base")

    class Sub(Base):
        @reconstructor
        def __init__(self) -> None:
            assert isinstance(self, Sub)
            calls.append("Sub")

    class Plain:
        @reconstructor
        def __init__(self) -> None:
            calls.append("Plain")

    reg.map_imperatively(Base, table, polymorphic_on=table.c.kind, polymorphic_identity="b")
    reg.map_imperatively(Sub, inherits=Base, polymorphic_identity="s")
    plain = sa.Table("ph_recon_plain", metadata, sa.Column("id", sa.Integer, primary_key=True))
    reg.map_imperatively(Plain, plain)
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Base(), Sub(), Plain()])
        s.commit()
    assert calls == ["Base", "Sub", "Plain"]
    calls.clear()
    with Session(engine) as s:
        assert [type(o).__name__ for o in s.scalars(select(Base).order_by(table.c.id))] == \
            ["Base", "Sub"]
        s.scalars(select(Plain)).all()
    assert calls == ["Base", "Sub", "Plain"]
