"""SQLAlchemy's own ``sqlalchemy.ext.hybrid`` on datamapper models: 2.x code keeps its
``from sqlalchemy.ext.hybrid import hybrid_property`` and changes only the ORM import.
Hybrids work on instances, as SQL in ``select()``/``query()``/``where()``/``order_by()``,
on aliases (their expression reads the alias's columns), and are listed by
``inspect(cls).all_orm_descriptors``.  Rows are checked on a separate connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import ForeignKey, String, func, inspect, select, update
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property

from datamapper import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # MariaDB needs VARCHAR lengths

    Base.registry.metadata = metadata

    class Person(Base):
        __tablename__ = "hy_people"
        id: Mapped[int] = mapped_column(primary_key=True)
        first: Mapped[str]
        last: Mapped[str]
        start: Mapped[int] = mapped_column(default=0)
        end: Mapped[int] = mapped_column(default=0)
        pets: Mapped[list[Pet]] = relationship(back_populates="owner", order_by="Pet.id")

        @hybrid_property
        def span(self) -> int:
            return self.end - self.start

        @span.inplace.setter
        def _span_setter(self, value: int) -> None:
            self.end = self.start + value

        @hybrid_property
        def initials(self) -> str:
            return self.first[0] + self.last[0]

        @initials.inplace.expression
        @classmethod
        def _initials_expression(cls) -> Any:
            return (func.substr(cls.first, 1, 1, type_=String)
                    + func.substr(cls.last, 1, 1, type_=String))

        @hybrid_property
        def pet_count(self) -> int:
            return len(self.pets)

        @pet_count.inplace.expression
        @classmethod
        def _pet_count_expression(cls) -> Any:
            return (select(func.count(Pet.id)).where(Pet.owner_id == cls.id)
                    .correlate_except(Pet).scalar_subquery())

        @hybrid_method
        def covers(self, point: int) -> Any:
            return (self.start <= point) & (point <= self.end)

    class Pet(Base):
        __tablename__ = "hy_pets"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        owner_id: Mapped[int] = mapped_column(ForeignKey("hy_people.id"))
        owner: Mapped[Person] = relationship(back_populates="pets")

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([
            Person(id=1, first="Ada", last="Lovelace", start=1, end=5,
                   pets=[Pet(id=1, name="cat"), Pet(id=2, name="dog")]),
            Person(id=2, first="Alan", last="Turing", start=3, end=10),
        ])
        s.commit()
    return Person, Pet


def test_hybrid_on_instances_and_as_sql(models, engine):
    Person, Pet = models
    with Session(engine) as s:
        ada = s.get(Person, 1)
        assert (ada.span, ada.initials, ada.pet_count) == (4, "AL", 2)
        assert s.scalars(select(Person.id).where(Person.span > 4)).all() == [2]
        assert s.scalars(select(Person.span).order_by(Person.id)).all() == [4, 7]
        assert s.execute(select(Person.initials, Person.pet_count).order_by(Person.id)).all() \
            == [("AL", 2), ("AT", 0)]
        assert [p.id for p in s.query(Person).filter(Person.pet_count > 0)] == [1]
        assert s.query(Person.span).order_by(Person.span.desc()).all() == [(7,), (4,)]
        assert [p.id for p in s.scalars(select(Person).where(Person.covers(4))
                                       .order_by(Person.span))] == [1, 2]
        assert s.execute(select(Person.span.label("width")).where(Person.id == 2)) \
            .mappings().one() == {"width": 7}


def test_the_same_statement_twice_uses_core_cache(models, engine):
    Person, _Pet = models
    with Session(engine) as s:
        for _ in range(3):  # the hybrid's annotations must give a stable cache key
            assert s.scalars(select(Person.span).where(Person.span > 4)).all() == [7]


def test_hybrid_setter_writes_the_columns(models, engine, read_rows):
    Person, _Pet = models
    with Session(engine) as s:
        s.get(Person, 1).span = 10
        s.commit()
    assert read_rows(Person.__table__)[0][3:5] == (1, 11)


def test_hybrid_on_an_alias_reads_the_alias_columns(models, engine):
    Person, Pet = models
    other = aliased(Person, name="other")
    stmt = select(Person.id, other.id).join(other, other.span > Person.span) \
        .where(other.pet_count == 0)
    sql = str(stmt)
    assert "other.\"end\" - other.start" in sql or "other.`end` - other.start" in sql \
        or "other.end - other.start" in sql
    with Session(engine) as s:
        assert s.execute(stmt).all() == [(1, 2)]
        assert s.scalars(select(other.initials).order_by(other.id)).all() == ["AL", "AT"]


def test_hybrid_in_orm_update_where(models, engine, read_rows):
    Person, _Pet = models
    with Session(engine) as s:
        s.execute(update(Person).where(Person.span > 5).values(first="Big"),
                  execution_options={"synchronize_session": "fetch"})
        s.commit()
    assert [r[1] for r in read_rows(Person.__table__)] == ["Ada", "Big"]


def test_all_orm_descriptors_lists_hybrids(models):
    Person, _Pet = models
    descriptors = inspect(Person).all_orm_descriptors
    assert {"span", "initials", "pet_count", "covers", "pets", "first"} <= set(descriptors.keys())
    assert isinstance(descriptors["span"], hybrid_property)
    assert "span" not in inspect(Person).attrs  # not a mapped property


def test_all_orm_descriptors_keep_the_class_bodys_order_subclass_first(metadata):
    # tools that build forms or serializers from a model list its attributes in this
    # order, so it is the order the class body declares them (PEP 520), nearest class
    # first; columns no body names come last
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata

    class Thing(Base):
        __tablename__ = "hy_things"
        zeta: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str]

        @hybrid_property
        def alpha(self) -> int:
            return 1

        owner_id: Mapped[int | None] = mapped_column(ForeignKey("hy_things.zeta"))
        parent: Mapped[Thing | None] = relationship(remote_side=[zeta])
        beta: Mapped[str | None]
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "t"}

    class Special(Thing):
        @hybrid_property
        def omega(self) -> int:
            return 2

        extra: Mapped[str | None] = mapped_column(nullable=True)
        __mapper_args__ = {"polymorphic_identity": "s"}

    assert list(inspect(Thing).all_orm_descriptors.keys()) == [
        "zeta", "kind", "alpha", "owner_id", "parent", "beta"]
    assert list(inspect(Special).all_orm_descriptors.keys()) == [
        "omega", "extra", "zeta", "kind", "alpha", "owner_id", "parent", "beta"]
