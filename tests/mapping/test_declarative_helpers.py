"""``synonym_for()`` and ``polymorphic_union()`` (2.x declarative helpers), and the
2.x names ``DeclarativeMeta``, ``AttributeState``, ``MappedCollection`` and
``NO_VALUE`` importable from ``datamapper``.  Rows are written and read back."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

import datamapper
from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    inspect,
    mapped_column,
    polymorphic_union,
    synonym_for,
)


def test_synonym_for_reads_through_the_getter_and_queries_the_column(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Job(Base):
        __tablename__ = "hl_jobs"
        id: Mapped[int] = mapped_column(primary_key=True)
        _status: Mapped[str] = mapped_column("status", String(20))

        @synonym_for("_status")
        def status(self) -> str:
            return "Status: " + self._status

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Job(id=1, _status="done"))
        s.commit()
        job = s.scalars(select(Job).where(Job.status == "done")).one()
        assert job.status == "Status: done"
        assert "status" in inspect(Job).synonyms


@pytest.fixture
def concrete_tables(metadata, engine):
    employees = Table("hl_employees", metadata, Column("id", Integer, primary_key=True),
                      Column("name", String(30)))
    managers = Table("hl_managers", metadata, Column("id", Integer, primary_key=True),
                     Column("name", String(30)), Column("budget", Integer))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(employees.insert(), [{"id": 1, "name": "ed"}])
        conn.execute(managers.insert(), [{"id": 2, "name": "mo", "budget": 9}])
    return employees, managers


def test_polymorphic_union_selects_every_table_with_a_discriminator(concrete_tables, engine):
    employees, managers = concrete_tables
    pjoin = polymorphic_union({"employee": employees, "manager": managers}, "type", "pjoin")
    assert [c.key for c in pjoin.c] == ["id", "name", "budget", "type"]
    assert pjoin.name == "pjoin"
    with engine.connect() as conn:
        rows = conn.execute(select(pjoin).order_by(pjoin.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, "ed", None, "employee"), (2, "mo", 9, "manager")]


def test_polymorphic_union_without_discriminator_and_uncast_nulls(concrete_tables, engine):
    employees, managers = concrete_tables
    pjoin = polymorphic_union({"e": employees, "m": managers}, None, cast_nulls=False)
    assert [c.key for c in pjoin.c] == ["id", "name", "budget"]
    assert "CAST" not in str(select(pjoin))
    with engine.connect() as conn:
        assert conn.execute(select(pjoin.c.budget).order_by(pjoin.c.id)).scalars().all() \
            == [None, 9]


def test_polymorphic_union_refuses_a_discriminator_name_a_table_has():
    t = Table("hl_t", MetaData(), Column("type", String(10)), Column("id", Integer))
    with pytest.raises(ValueError, match="type"):
        polymorphic_union({"a": t}, "type")


def test_2x_names_are_exported():
    assert datamapper.MappedCollection is datamapper.KeyFuncDict
    assert isinstance(datamapper.DeclarativeMeta, type)
    assert repr(datamapper.NO_VALUE) == "NO_VALUE"
    assert datamapper.AttributeState.__name__ == "AttributeState"


def test_constructor_sets_plain_class_attributes_but_not_methods(metadata):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Note(Base):
        __tablename__ = "hl_notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        draft = False  # a plain class-level default the object may override

        def publish(self) -> None:
            self.draft = False

    n = Note(id=1, draft=True)
    assert n.draft is True and Note.draft is False
    with pytest.raises(TypeError, match="'publish'.*Note"):
        Note(publish=1)


def test_registry_metadata_and_type_map_given_on_a_mixin_of_the_base():
    from datamapper import registry

    shared = registry()

    class Settings:
        registry = shared

    class Base(Settings, DeclarativeBase):
        pass

    class Thing(Base):
        __tablename__ = "hl_things"
        id: Mapped[int] = mapped_column(primary_key=True)

    try:
        assert Base.registry is shared and "hl_things" in shared.metadata.tables
        own = MetaData()

        class WithMeta:
            metadata = own
            type_annotation_map = {int: String(9)}

        class Base2(WithMeta, DeclarativeBase):
            pass

        class Other(Base2):
            __tablename__ = "hl_other"
            id: Mapped[int] = mapped_column(primary_key=True)
            n: Mapped[int]

        assert Base2.metadata is own and "hl_other" in own.tables
        assert isinstance(Other.__table__.c.n.type, String)
        Base2.registry.dispose()
    finally:
        shared.dispose()


def test_mapper_args_name_a_mixins_mapped_columns(metadata):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Versioned:
        ident: Mapped[int] = mapped_column()
        rev: Mapped[int] = mapped_column()
        __mapper_args__ = {"primary_key": ident, "version_id_col": rev}

    class Page(Versioned, Base):
        __tablename__ = "hl_pages"

    mapper = inspect(Page)
    assert list(mapper.primary_key) == [Page.__table__.c.ident]
    assert mapper.version_id_col is Page.__table__.c.rev
