"""``aliased(User, subquery, adapt_on_names=True)``: a subquery whose columns are not
derived from the mapped table (literals, another table) loads User objects by
column name."""

from __future__ import annotations

import pytest
from sqlalchemy import String, literal, select
from sqlalchemy.exc import ArgumentError

from datamapper import DeclarativeBase, Mapped, Session, aliased, mapped_column


@pytest.fixture
def User(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]

    metadata.create_all(engine)
    return User


def test_subquery_of_literals_loads_objects_matched_by_name(User, engine):
    subq = select(literal(14).label("id"), literal("made up").label("name")).subquery()
    made_up = aliased(User, subq, adapt_on_names=True)
    with Session(engine) as s:
        u = s.scalars(select(made_up)).one()
        assert (type(u), u.id, u.name) == (User, 14, "made up")
        assert s.scalars(select(made_up.name).where(made_up.id == 14)).all() == ["made up"]


def test_without_adapt_on_names_the_message_names_the_option(User, engine):
    subq = select(literal(14).label("id"), literal("x").label("name")).subquery()
    alias = aliased(User, subq)  # its columns may still be used; its objects can't load
    with Session(engine) as s, pytest.raises(
            ArgumentError, match="no column for the primary key.*adapt_on_names=True"):
        s.execute(select(alias))
