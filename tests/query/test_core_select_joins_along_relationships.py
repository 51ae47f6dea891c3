"""Core's own ``sqlalchemy.select()`` joined along relationships.

``select(User).join(User.addresses)`` is built by Core, not by datamapper; the
relationship attribute is kept as the join target and datamapper's
compile-state plugin turns it into the join of tables.  Each case checks the
SQL Core compiles (same as ``datamapper.select`` for the same join), the rows
the Session returns, and the bad-input message.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.exc import ArgumentError

import datamapper
from datamapper import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship


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
        addresses: Mapped[list[Address]] = relationship(back_populates="user",
                                                        order_by="Address.id")
        tags: Mapped[list[Tag]] = relationship(secondary="user_tags")

    class Address(Base):
        __tablename__ = "addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
        user: Mapped[User] = relationship(back_populates="addresses")

    class Tag(Base):
        __tablename__ = "tags"
        id: Mapped[int] = mapped_column(primary_key=True)
        word: Mapped[str]

    class Node(Base):
        __tablename__ = "nodes"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        parent_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id"))
        children: Mapped[list[Node]] = relationship(order_by="Node.id")

    sa.Table("user_tags", metadata,
             sa.Column("user_id", ForeignKey("users.id"), primary_key=True),
             sa.Column("tag_id", ForeignKey("tags.id"), primary_key=True))
    metadata.create_all(engine)
    with Session(engine) as s:
        x, y = Tag(id=1, word="x"), Tag(id=2, word="y")
        s.add_all([
            User(id=1, name="ed", addresses=[Address(id=1, email="ed@a"),
                                             Address(id=2, email="ed@b")], tags=[x, y]),
            User(id=2, name="wendy", addresses=[Address(id=3, email="w@a")], tags=[y]),
            User(id=3, name="jack"),
            Node(id=1, name="root", children=[Node(id=2, name="a"), Node(id=3, name="b")]),
        ])
        s.commit()
    return User, Address, Tag, Node


def _sql(stmt):
    return " ".join(str(stmt).split())


def test_join_along_one_to_many_compiles_to_the_foreign_key_join(models, engine):
    User, Address, _T, _N = models
    stmt = select(User).join(User.addresses).where(Address.email == "w@a")
    assert type(stmt) is sa.Select  # Core's own statement, not datamapper's
    assert "FROM users JOIN addresses ON users.id = addresses.user_id" in _sql(stmt)
    assert _sql(stmt) == _sql(datamapper.select(User).join(User.addresses)
                              .where(Address.email == "w@a"))
    with Session(engine) as s:
        assert [u.name for u in s.scalars(stmt)] == ["wendy"]


def test_join_along_many_to_one_and_select_from(models, engine):
    User, Address, _T, _N = models
    with Session(engine) as s:
        rows = s.execute(select(Address.email, User.name).join(Address.user)
                         .where(User.name == "ed").order_by(Address.id)).all()
        assert rows == [("ed@a", "ed"), ("ed@b", "ed")]
        addrs = s.scalars(select(Address).select_from(User).join(User.addresses)
                          .where(User.name == "ed").order_by(Address.id)).all()
        assert [a.email for a in addrs] == ["ed@a", "ed@b"]
        assert addrs[0].user is s.get(User, 1)


def test_join_through_the_secondary_table_of_a_many_to_many(models, engine):
    User, _A, Tag, _N = models
    stmt = select(User).join(User.tags).where(Tag.word == "y").order_by(User.id)
    # the secondary joins as an alias of its own (as in SQLAlchemy)
    assert "JOIN user_tags AS user_tags_1 ON users.id = user_tags_1.user_id JOIN tags ON " \
           "tags.id = user_tags_1.tag_id" in _sql(stmt)
    with Session(engine) as s:
        assert [u.name for u in s.scalars(stmt)] == ["ed", "wendy"]


def test_and_criteria_naming_the_secondary_table_use_the_joins_alias_of_it(models, engine,
                                                                         metadata):
    # join(User.tags.and_(user_tags.c.tag_id > 1)): the criteria read the secondary
    # through the alias the join gives it (they named the table itself, which the
    # FROM list lacks: an error, or every row of it)
    User, _A, Tag, _N = models
    user_tags = metadata.tables["user_tags"]
    for stmt in (select(User.name).join(User.tags.and_(user_tags.c.tag_id > 1)),
                 datamapper.select(User.name).join(
                     User.tags.and_(user_tags.c.tag_id > 1, Tag.word != "z"))):
        assert "AND user_tags_1.tag_id > " in _sql(stmt)
        with Session(engine) as s:
            assert s.scalars(stmt.order_by(User.id)).all() == ["ed", "wendy"]
            q = s.query(User.name).join(User.tags.and_(user_tags.c.tag_id < 2))
            assert q.order_by(User.id).all() == [("ed",)]


def test_join_to_an_entity_with_the_relationship_as_on_clause(models, engine):
    User, Address, _T, _N = models
    with Session(engine) as s:
        names = s.scalars(select(User.name).join(Address, User.addresses)
                          .where(Address.email.like("ed%")).distinct()).all()
        assert names == ["ed"]


def test_outerjoin_along_a_relationship_keeps_rows_without_a_match(models, engine):
    User, Address, _T, _N = models
    with Session(engine) as s:
        rows = s.execute(select(User.name, func.count(Address.id))
                         .outerjoin(User.addresses).group_by(User.name)
                         .order_by(User.name)).all()
        assert rows == [("ed", 2), ("jack", 0), ("wendy", 1)]


def test_join_of_type_an_alias_and_two_aliases_of_one_table(models, engine):
    User, Address, _T, _N = models
    a1, a2 = aliased(Address), aliased(Address)
    stmt = (select(User).join(User.addresses.of_type(a1)).join(User.addresses.of_type(a2))
            .where(a1.email == "ed@a", a2.email == "ed@b"))
    assert "JOIN addresses AS addresses_1 ON users.id = addresses_1.user_id" in _sql(stmt)
    assert "JOIN addresses AS addresses_2 ON users.id = addresses_2.user_id" in _sql(stmt)
    with Session(engine) as s:
        assert [u.name for u in s.scalars(stmt)] == ["ed"]


def test_join_from_an_alias_along_its_relationship(models, engine):
    User, Address, _T, _N = models
    ua = aliased(User, name="u")
    with Session(engine) as s:
        got = s.execute(select(ua.name, Address.email).join(ua.addresses)
                        .order_by(Address.id)).all()
        assert got == [("ed", "ed@a"), ("ed", "ed@b"), ("wendy", "w@a")]


def test_and_criteria_go_into_the_on_clause_and_take_new_values_from_the_cache(models, engine):
    User, Address, _T, _N = models

    def stmt(email):
        return (select(User.name, Address.email)
                .outerjoin(User.addresses.and_(Address.email == email)).order_by(User.id))

    assert "ON users.id = addresses.user_id AND addresses.email = " in _sql(stmt("x"))
    with Session(engine) as s:
        assert s.execute(stmt("w@a")).all() == [("ed", None), ("wendy", "w@a"), ("jack", None)]
        # same statement shape, other value: the cached compilation takes the new value
        assert s.execute(stmt("ed@b")).all() == [("ed", "ed@b"), ("wendy", None),
                                                  ("jack", None)]


def test_self_referential_join_to_an_alias(models, engine):
    _U, _A, _T, Node = models
    child = aliased(Node)
    with Session(engine) as s:
        rows = s.execute(select(Node.name, child.name).join(Node.children.of_type(child))
                         .order_by(child.id)).all()
        assert rows == [("root", "a"), ("root", "b")]


def test_filter_by_after_a_relationship_join_names_the_joined_entity(models, engine):
    User, _A, _T, _N = models
    with Session(engine) as s:
        users = s.scalars(select(User).join(User.addresses).filter_by(email="w@a")).all()
        assert [u.name for u in users] == ["wendy"]


def test_relationship_join_in_subquery_exists_and_union(models, engine):
    User, Address, _T, _N = models
    sub = select(User.id).join(User.addresses).where(Address.email == "w@a").subquery()
    union = sa.union(select(User.id).join(User.addresses).where(Address.email == "ed@a"),
                     select(User.id).join(User.tags).where(User.name == "wendy"))
    with Session(engine) as s:
        assert s.scalars(select(User.name).where(User.id.in_(select(sub.c.id)))).all() == \
            ["wendy"]
        assert sorted(s.scalars(select(union.subquery().c.id)).all()) == [1, 2]
        has = select(User.name).where(
            sa.exists(select(Address.id).join(Address.user).where(User.name == "jack")))
        assert s.scalars(has).all() == []


def test_a_collection_is_still_refused_as_a_selected_column(models, engine):
    User, _A, _T, _N = models
    with Session(engine) as s, pytest.raises(ArgumentError, match="is a collection"):
        s.execute(datamapper.select(User.addresses))


def test_two_aliases_as_targets_with_the_relationship_as_on_clause(models, engine):
    User, Address, _T, _N = models
    a1, a2 = aliased(Address), aliased(Address)
    stmt = (select(User).join(a1, User.addresses).where(a1.email == "ed@a")
            .join(a2, User.addresses).where(a2.email == "ed@b"))
    sql = _sql(stmt)
    assert "JOIN addresses AS addresses_1 ON users.id = addresses_1.user_id" in sql
    assert "JOIN addresses AS addresses_2 ON users.id = addresses_2.user_id" in sql
    with Session(engine) as s:
        assert [u.name for u in s.scalars(stmt)] == ["ed"]
        assert [u.name for u in s.scalars(
            datamapper.select(User).join(a1, User.addresses).where(a1.email == "ed@a")
            .join(a2, User.addresses).where(a2.email == "ed@b"))] == ["ed"]


def test_relationship_join_starts_at_the_relationships_own_class(models, engine):
    User, Address, _T, _N = models
    stmt = select(Address).select_from(User).join(Address.user).where(User.name == "wendy")
    assert "FROM addresses JOIN users ON users.id = addresses.user_id" in _sql(stmt)
    with Session(engine) as s:
        assert [a.email for a in s.scalars(stmt)] == ["w@a"]


@pytest.mark.parametrize("form", ["core", "datamapper", "query"])
def test_joining_the_same_relationship_again_adds_no_second_join(models, engine, form):
    """``join(User.addresses) ... join(User.addresses)`` (two paths through one
    relationship): the table is joined once (twice named the same table: "ambiguous
    column name"); of_type() aliases stay separate joins."""
    User, Address, Tag, _N = models
    with Session(engine) as s:
        if form == "query":
            q = s.query(User).join(User.addresses).join(User.tags).join(User.addresses) \
                .where(Address.email == "ed@a", Tag.word == "y")
            stmt = q.statement
            names = [u.name for u in q.all()]
        else:
            sel = select if form == "core" else datamapper.select
            stmt = sel(User).join(User.addresses).join(User.tags).join(User.addresses) \
                .where(Address.email == "ed@a", Tag.word == "y")
            names = [u.name for u in s.scalars(stmt)]
        assert _sql(stmt).count("JOIN addresses") == 1
        assert names == ["ed"]


@pytest.mark.parametrize("form", ["core", "datamapper", "query"])
def test_join_along_a_relationship_of_another_entity_starts_at_its_parent(models, engine,
                                                                           form):
    """``query(User).join(Address.user)``: FROM addresses JOIN users (Query read FROM
    users JOIN users, which the database refuses); from an alias too."""
    User, Address, _T, _N = models
    aa = aliased(Address, name="aa")
    for attr, table in ((Address.user, "addresses"), (aa.user, "addresses AS aa")):
        with Session(engine) as s:
            if form == "query":
                q = s.query(User).join(attr).order_by(User.id).distinct()
                stmt, names = q.statement, [u.name for u in q.all()]
            else:
                sel = select if form == "core" else datamapper.select
                stmt = sel(User).join(attr).order_by(User.id).distinct()
                names = [u.name for u in s.scalars(stmt)]
        assert f"FROM {table} JOIN users ON users.id = " in _sql(stmt)
        assert names == ["ed", "wendy"]


@pytest.mark.parametrize("form", ["core", "datamapper", "query"])
def test_one_many_to_many_joined_twice_from_two_aliases(models, engine, form):
    """Two joins through the same association table (from two aliases of its parent):
    each has its own alias of the secondary (it was named twice: "ambiguous column
    name: user_tags.user_id")."""
    User, _A, Tag, _N = models
    u1, u2 = aliased(User, name="u1"), aliased(User, name="u2")
    t1, t2 = aliased(Tag, name="t1"), aliased(Tag, name="t2")
    with Session(engine) as s:
        if form == "query":
            q = (s.query(u1.name, u2.name).join(u1.tags.of_type(t1))
                 .join(u2, t1.id == t1.id).join(u2.tags.of_type(t2))
                 .where(t1.word == "x", t2.word == "y", u1.id != u2.id))
            rows = q.all()
        else:
            sel = select if form == "core" else datamapper.select
            stmt = (sel(u1.name, u2.name).join(u1.tags.of_type(t1))
                    .join(u2, t1.id == t1.id).join(u2.tags.of_type(t2))
                    .where(t1.word == "x", t2.word == "y", u1.id != u2.id))
            rows = s.execute(stmt).all()
    assert [tuple(r) for r in rows] == [("ed", "wendy")]


def test_a_select_joined_along_a_relationship_inside_criteria_adapted_to_an_alias(models,
                                                                                  engine):
    # the subquery (Core's select() joined along User.tags) is copied when the ON
    # criteria are adapted to the alias: that failed ("User.tags has no attribute
    # '_from_objects'")
    User, Address, Tag, _N = models
    aa = aliased(Address)
    tagged_y = select(User.id).join(User.tags).where(Tag.word == "y")
    only_x = select(User.id).join(User.tags.and_(Tag.word == "x"))
    with Session(engine) as s:
        for sub, expected in ((tagged_y, [("ed", 1), ("ed", 2), ("wendy", 3)]),
                              (only_x, [("ed", 1), ("ed", 2)])):
            stmt = (select(User.name, aa.id)
                    .join(aa, User.addresses.of_type(aa).and_(aa.user_id.in_(sub)))
                    .order_by(aa.id))
            assert s.execute(stmt).all() == expected
            ua = aliased(User)
            assert s.query(ua.name).filter(ua.id.in_(sub)).order_by(ua.id).all() == \
                sorted({(n,) for n, _i in expected})
