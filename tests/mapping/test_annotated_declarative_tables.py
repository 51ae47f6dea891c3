"""Annotated declarative classes and their tables: a class that gives its own
``__table__`` (the annotations only type its attributes) and the SQL types the
columns get (from the annotation, or from the column a foreign key references).

Annotations are evaluated here (no ``from __future__ import annotations``); the
string form is covered by ``test_annotated_declarative.py``.
"""

import datetime
from typing import Annotated, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table
from sqlalchemy.exc import ArgumentError

from datamapper import DeclarativeBase, Mapped, Session, mapped_column


@pytest.fixture
def Base(metadata):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # noqa: RUF012 - (MySQL needs a length)

    Base.registry.metadata = metadata
    Base.metadata = metadata
    return Base


def _users_table(metadata):
    return Table(
        "users", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
        Column("data", String(50)),
        Column("created_at", DateTime),
    )


def test_annotations_on_a_class_with_its_own_table_map_that_tables_columns(
        Base, metadata, engine, read_rows, sql_log):
    users = _users_table(metadata)

    class User(Base):
        __table__ = users
        id: Mapped[int]
        name: Mapped[str]
        data: Mapped[Optional[str]]  # noqa: UP045 - the Optional spelling users write
        created_at: Mapped[datetime.datetime]

    for key in ("id", "name", "data", "created_at"):
        assert User.__mapper__.columns[key] is users.c[key], key
    metadata.create_all(engine)
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    with Session(engine) as s:
        s.add(User(id=1, name="ed", data="x", created_at=when))
        s.commit()
    assert read_rows(users) == [(1, "ed", "x", when)]
    sql_log.clear()
    with Session(engine) as s:
        got = s.scalars(sa.select(User)).one()
        assert (got.name, got.data, got.created_at) == ("ed", "x", when)
    assert "users.name" in sql_log.statements[0]


def test_mixin_annotations_on_a_class_with_its_own_table_map_that_tables_columns(
        Base, metadata, engine, read_rows):
    class HasName:
        name: Mapped[str]

    users = _users_table(metadata)

    class User(HasName, Base):
        __table__ = users
        id: Mapped[int]

    assert User.__mapper__.columns["name"] is users.c.name
    assert list(users.c.keys()) == ["id", "name", "data", "created_at"]
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(User(id=1, name="ed", data="d"))
        s.commit()
    assert read_rows(users) == [(1, "ed", "d", None)]


def test_mapped_column_not_in_the_given_table_is_refused(Base, metadata):
    users = _users_table(metadata)
    with pytest.raises(ArgumentError, match="extra.*__table__"):
        class User(Base):
            __table__ = users
            id: Mapped[int]
            extra: Mapped[int] = mapped_column()


def test_foreign_key_column_takes_the_referenced_type_over_its_annotation(Base):
    class Element(Base):
        __tablename__ = "element"
        id: Mapped[int] = mapped_column(sa.BIGINT, primary_key=True)

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(sa.BIGINT, primary_key=True)
        other_id: Mapped[int] = mapped_column(ForeignKey("element.id"))
        data: Mapped[int] = mapped_column()

    assert type(User.__table__.c.other_id.type) is sa.BIGINT
    assert type(User.__table__.c.data.type) is sa.Integer
    assert User.__table__.c.other_id.nullable is False


@pytest.mark.parametrize("deferred", [False, True])
def test_mapped_column_key_names_the_table_column_key_not_the_attribute(
        Base, metadata, engine, read_rows, deferred):
    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)
        data: Mapped[str] = mapped_column(key="data_", deferred=deferred)

    assert list(A.__table__.c.keys()) == ["id", "data_"]
    assert A.__table__.c.data_.name == "data"
    assert not hasattr(A, "data_")
    assert A.data.property.expression is A.__table__.c.data_
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(A(id=1, data="x"))
        s.commit()
    assert read_rows("SELECT id, data FROM a") == [(1, "x")]
    with Session(engine) as s:
        assert s.scalars(sa.select(A).where(A.data == "x")).one().data == "x"


@pytest.mark.parametrize("via_annotated", [False, True])
def test_identity_column_stays_not_null_under_an_optional_annotation(Base, via_annotated):
    if via_annotated:
        counter = Annotated[int, mapped_column(sa.Identity())]

        class A(Base):
            __tablename__ = "a"
            id: Mapped[int] = mapped_column(primary_key=True)
            seq: Mapped[Optional[counter]]  # noqa: UP045
            loose: Mapped[Optional[counter]] = mapped_column(nullable=True)  # noqa: UP045
    else:
        class A(Base):
            __tablename__ = "a"
            id: Mapped[int] = mapped_column(primary_key=True)
            seq: Mapped[Optional[int]] = mapped_column(sa.Identity())  # noqa: UP045
            loose: Mapped[Optional[int]] = mapped_column(sa.Identity(), nullable=True)  # noqa: UP045

    assert A.__table__.c.seq.nullable is False
    assert A.__table__.c.loose.nullable is True
