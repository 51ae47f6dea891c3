"""``datamapper.select(User).with_only_columns(User.id)`` (the same ``select`` as
SQLAlchemy's): the statement then selects and loads what it was given, mapped
classes as objects, attributes as values, keeping its WHERE / ORDER BY (it kept
its old row layout: an IndexError, or User objects for ``with_only_columns(User.id,
User.name)``).  The SQL the database receives is checked too."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, func
from sqlalchemy import select as core_select

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship, select


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(30)}

    Base.registry.metadata = metadata

    class User(Base):
        __tablename__ = "woc_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        addresses: Mapped[list[Address]] = relationship()

    class Address(Base):
        __tablename__ = "woc_addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int] = mapped_column(ForeignKey("woc_users.id"))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=1, name="a", addresses=[Address(id=10, email="a@x")]),
                   User(id=2, name="b")])
        s.commit()
    return User, Address


@pytest.mark.parametrize("make", [select, core_select], ids=["datamapper", "core"])
def test_attributes_give_values_and_classes_give_objects(models, engine, sql_log, make):
    User, Address = models
    with Session(engine) as s:
        base = make(User).where(User.id > 0).order_by(User.id.desc())
        assert s.execute(base.with_only_columns(User.id)).all() == [(2,), (1,)]
        assert s.execute(base.with_only_columns(User.name, User.id)).all() == [("b", 2), ("a", 1)]
        sql_log.clear()
        rows = s.execute(base.with_only_columns(User, func.length(User.name))).all()
        assert [(u.id, n) for u, n in rows] == [(2, 1), (1, 1)]
        assert "ORDER BY woc_users.id DESC" in sql_log.statements[-1]
        assert s.scalars(make(User.id).with_only_columns(Address)).all()[0].email == "a@x"


def test_the_new_entity_is_loaded_through_the_identity_map(models, engine):
    User, _ = models
    with Session(engine) as s:
        u1 = s.get(User, 1)
        got = s.scalars(select(User.name).where(User.id == 1).with_only_columns(User)).one()
        assert got is u1


def test_core_columns_only_give_a_plain_core_select(models, engine):
    User, _ = models
    users = User.__table__
    with Session(engine) as s:
        stmt = select(User).where(User.name == "b").with_only_columns(users.c.id, users.c.name)
        assert s.execute(stmt).all() == [(2, "b")]
        stmt = select(User).with_only_columns(func.count(), maintain_column_froms=True)
        assert s.execute(stmt).scalar() == 2
