"""Core's compilation of ``sqlalchemy.select(User)`` is the SELECT the Session runs.

``print(stmt)``, ``str(stmt)`` and ``stmt.compile(engine)`` of a Core select of
mapped classes show the columns a load reads (deferred columns left out, loader
options applied) and the eager joins of ``joinedload()``; the same statement run
by the Session emits exactly that SQL.  Inside a subquery or a union the class
exports its table's columns and its SQL expressions (``query_expression()``
defaults), which ``aliased(User, subquery)`` and ``from_statement()`` load from.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, literal, select

from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    defer,
    joinedload,
    load_only,
    mapped_column,
    query_expression,
    relationship,
    undefer_group,
    with_expression,
)
from datamapper._core import generate_cache_key


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        bio: Mapped[str] = mapped_column(deferred_group="text")
        motto: Mapped[str] = mapped_column(deferred_group="text")
        shown: Mapped[str] = mapped_column(deferred=False, deferred_group="text")
        addresses: Mapped[list[Address]] = relationship(order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    class Point(Base):
        __tablename__ = "points"
        id: Mapped[int] = mapped_column(primary_key=True)
        x: Mapped[int]
        y: Mapped[int]
        total = query_expression(sa.literal_column("x") + sa.literal_column("y"))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([
            User(id=1, name="ed", bio="b1", motto="m1", shown="s1",
                 addresses=[Address(id=1, email="ed@a"), Address(id=2, email="ed@b")]),
            User(id=2, name="jack", bio="b2", motto="m2", shown="s2"),
            Point(id=1, x=2, y=3),
        ])
        s.commit()
    return User, Address, Point


@pytest.fixture
def statements(engine):
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def _sql(stmt: Any, engine: Any) -> str:
    return str(stmt.compile(engine))


def _flat(sql: str) -> str:
    return " ".join(sql.split())


def test_print_leaves_deferred_columns_out_and_matches_what_the_session_runs(
        models, engine, statements):
    User, _Address, _Point = models
    stmt = select(User).where(User.name == "ed")
    assert _flat(str(select(User))) == \
        "SELECT users.id, users.name, users.shown FROM users"
    with Session(engine) as s:
        user = s.scalars(stmt).one()
        assert statements == [_sql(stmt, engine)]
        assert "bio" not in user.__dict__ and user.shown == "s1"
        assert user.bio == "b1"  # loads on access


@pytest.mark.parametrize("option, columns", [
    (undefer_group("text"), "users.id, users.name, users.bio, users.motto, users.shown"),
    (load_only("name"), "users.id, users.name"),
    (defer("shown"), "users.id, users.name"),
])
def test_column_options_change_the_compiled_select(models, engine, statements, option,
                                                   columns):
    User, _Address, _Point = models
    stmt = select(User).options(option).order_by(User.id)
    assert _flat(str(stmt)) == f"SELECT {columns} FROM users ORDER BY users.id"
    with Session(engine) as s:
        users = s.scalars(stmt).all()
        assert [u.name for u in users] == ["ed", "jack"]
        assert statements == [_sql(stmt, engine)]
        assert [u.bio for u in users] == ["b1", "b2"]


def test_joinedload_shows_the_eager_join_and_the_session_runs_it(models, engine, statements):
    User, Address, _Point = models
    stmt = select(User).options(joinedload(User.addresses)).where(User.id == 1)
    sql = _flat(str(stmt))
    assert "LEFT OUTER JOIN addresses AS addresses_1 ON users.id = addresses_1.user_id" in sql
    assert "addresses_1.email" in sql
    with Session(engine) as s:
        user = s.scalars(stmt).unique().one()
        assert statements == [_sql(stmt, engine)]
        assert [a.email for a in user.__dict__["addresses"]] == ["ed@a", "ed@b"]
        assert len(statements) == 1


def test_options_are_part_of_the_statement_cache_key(models, engine):
    User, _Address, _Point = models
    plain = select(User)
    only = select(User).options(load_only(User.name))
    grouped = select(User).options(undefer_group("text"))
    keys = [generate_cache_key(s) for s in (plain, only, grouped)]
    assert all(k is not None for k in keys)  # (2.0: CacheKey == None raises)
    assert keys[0] != keys[1] and keys[0] != keys[2] and keys[1] != keys[2]
    assert generate_cache_key(select(User).options(load_only(User.name))) == keys[1]
    # run through Core itself (its compiled cache on): each gets its own SQL
    with engine.connect() as conn:
        for _ in range(2):
            assert list(conn.execute(plain).keys()) == ["id", "name", "shown"]
            assert list(conn.execute(only).keys()) == ["id", "name"]
            assert list(conn.execute(grouped).keys()) == [
                "id", "name", "bio", "motto", "shown"]


def test_with_expression_values_are_bound_parameters_of_one_cached_form(models, engine):
    _User, _Address, Point = models
    a = select(Point).options(with_expression(Point.total, Point.x + 5))
    b = select(Point).options(with_expression(Point.total, Point.x + 6))
    c = select(Point).options(with_expression(Point.total, Point.y + 5))
    assert generate_cache_key(a) == generate_cache_key(b)
    assert generate_cache_key(a) != generate_cache_key(c)
    with Session(engine) as s:
        assert s.scalars(a).one().total == 7
        s.expunge_all()
        assert s.scalars(b).one().total == 8


def test_subquery_exports_deferred_columns_and_expressions(models, engine):
    User, _Address, Point = models
    assert select(User).subquery().c.keys() == ["id", "name", "bio", "motto", "shown"]
    subq = select(Point).subquery()
    assert subq.c.keys() == ["id", "x", "y", "total"]
    p = aliased(Point, subq)
    with Session(engine) as s:
        loaded = s.scalars(select(p)).one()
        assert (loaded.x, loaded.total) == (2, 5)
        users = aliased(User, select(User).where(User.id == 2).subquery())
        jack = s.scalars(select(users).options(undefer_group("text"))).one()
        assert (jack.name, jack.bio) == ("jack", "b2")


def test_a_label_named_as_an_expression_attribute_keeps_its_label(models, engine):
    _User, _Address, Point = models
    stmt = select(Point, literal(12).label("total"))
    subq = stmt.subquery()
    p = aliased(Point, subq)
    with Session(engine) as s:
        # the class's expression is exported first under its attribute name
        loaded = s.scalars(select(p).options(with_expression(p.total, subq.c.total))).one()
        assert loaded.total == 5
        s.expunge_all()
        other = select(Point, literal(12).label("other")).subquery()
        p2 = aliased(Point, other)
        loaded = s.scalars(select(p2).options(with_expression(p2.total, other.c.other))).one()
        assert loaded.total == 12
        s.expunge_all()
        loaded = s.scalars(select(Point).options(
            with_expression(Point.total, stmt.selected_columns.total)).from_statement(stmt)
        ).one()
        assert loaded.total == 5
