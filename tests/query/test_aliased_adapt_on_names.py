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


def test_an_alias_of_an_adapt_on_names_alias_reads_every_column_by_name(User, engine):
    with Session(engine) as s:
        s.add_all([User(id=1, name="ed"), User(id=2, name="jack")])
        s.commit()
    subq = select(User.id, (User.name + "!").label("name")).subquery()
    u2 = aliased(aliased(User, subq, adapt_on_names=True), name="u2")
    assert " ".join(str(select(u2)).split()) == (
        "SELECT u2.id, u2.name FROM (SELECT users.id AS id, users.name || :name_1 AS name "
        "FROM users) AS u2")
    with Session(engine) as s:
        # the subquery's name, not the table's (it was left out and loaded from users)
        assert [(u.id, u.name) for u in s.scalars(select(u2).order_by(u2.id))] == [
            (1, "ed!"), (2, "jack!")]
