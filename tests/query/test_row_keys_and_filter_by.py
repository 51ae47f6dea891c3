"""Rows of column queries: one key per selected column (a subquery or table selected whole
gives one key per column of it), named as Core names them in an ORM ``select()`` of the
statement's label style; ``row._mapping`` also answers to the entity, the attribute and
the table column.  ``filter_by()`` names attributes of the last joined entity (an alias
included), else of the first selected entity, attribute or column's table."""

import pytest
import sqlalchemy
from sqlalchemy import (
    LABEL_STYLE_DISAMBIGUATE_ONLY,
    LABEL_STYLE_NONE,
    LABEL_STYLE_TABLENAME_PLUS_COL,
    Column,
    ForeignKey,
    Integer,
    String,
    TypeDecorator,
    desc,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.engine import default
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.types import NullType

from datamapper import aliased, declarative_base, joinedload, relationship
from datamapper import select as dm_select


def sql(q):
    return " ".join(str(q.compile(dialect=default.DefaultDialect())).split())


@pytest.fixture
def model(metadata, engine, session):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        addresses = relationship("Address", back_populates="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        email = Column(String(50))
        user = relationship(User, back_populates="addresses")

    metadata.create_all(engine)
    session.add_all([User(id=1, name="ed", addresses=[Address(id=10, email="ed@x")]),
                     User(id=2, name="wendy", addresses=[Address(id=20, email="w@x")])])
    session.commit()
    return User, Address


def test_query_of_a_subquery_or_table_gives_one_key_per_column(session, model):
    User, _ = model
    sub = session.query(User.id, User.name).subquery("u1")
    rows = session.query(sub).order_by(sub.c.id).all()
    assert rows == [(1, "ed"), (2, "wendy")]
    assert rows[0]._mapping.keys() == ["id", "name"]
    assert rows[1].name == "wendy"
    trow = session.query(User.__table__).filter(User.__table__.c.id == 2).one()
    assert "wendy" in trow
    assert trow._mapping.keys() == ["id", "name"]


def test_orm_select_names_columns_by_its_label_style(session, model):
    User, Address = model
    stmt = select(User.id, Address.id).join_from(User, Address).order_by(Address.id)
    row = session.execute(stmt).first()
    assert row._mapping.keys() == ["id", "id_1"]
    assert tuple(row) == (1, 10)
    labelled = session.execute(stmt.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)).first()
    assert labelled._mapping.keys() == ["users_id", "addresses_id"]
    assert labelled.addresses_id == 10
    u1 = select(User.id, User.name).subquery("u1")
    u2 = select(User.id, User.name).subquery("u2")
    both = select(u1, User, u2).join_from(u1, u2, u1.c.id == u2.c.id).join(
        User, User.id == u1.c.id).order_by(u1.c.id)
    row = session.execute(both).first()
    assert row._mapping.keys() == ["id", "name", "User", "id_1", "name_1"]
    assert row.User.name == "ed" and row.name_1 == "ed"


def test_row_mapping_answers_to_entity_attribute_and_column(session, model):
    User, Address = model
    row = session.query(User, Address).join(User.addresses).order_by(User.id).first()
    assert row._mapping[User] is row[0]
    assert row._mapping[Address] is row[1]
    assert row._mapping["Address"] is row[1]
    crow = session.query(User.id, Address.email).join(User.addresses).order_by(
        User.id).first()
    assert crow._mapping[User.id] == 1
    assert crow._mapping[User.__table__.c.id] == 1
    assert crow._mapping[Address.email] == "ed@x"
    with pytest.raises(KeyError):
        crow._mapping[User.name]


def test_only_return_tuples_and_column_descriptions(session, model):
    User, _ = model
    q = session.query(User).order_by(User.id)
    assert q.is_single_entity
    tq = q.only_return_tuples(True)
    assert not tq.is_single_entity
    row = tq.first()
    assert row._mapping[User] is row[0] and row[0].name == "ed"
    assert tq.filter(User.id == 2).scalar().name == "wendy"
    ua = aliased(User, name="ua")
    assert session.query(User.id, ua).column_descriptions == [
        {"name": "id", "type": User.__table__.c.id.type, "aliased": False, "expr": User.id,
         "entity": User},
        {"name": "ua", "type": User, "aliased": True, "expr": ua, "entity": ua},
    ]


@pytest.mark.parametrize("make_select", [select, dm_select], ids=["core", "orm"])
def test_select_column_descriptions_name_entities_as_the_rows_key_them(session, model,
                                                                        make_select):
    User, _ = model
    assert [d["name"] for d in make_select(User).column_descriptions] == ["User"]
    row = session.execute(make_select(User).order_by(User.id)).first()
    assert row._mapping.keys() == ["User"] and row._mapping[User] is row[0]

    anon = aliased(User)
    (d,) = make_select(anon).column_descriptions
    assert d == {"name": None, "type": User, "aliased": True, "expr": anon, "entity": anon}
    row = session.execute(make_select(anon).order_by(anon.id)).first()
    assert row._mapping.keys() == []  # an anonymous alias gives no key ...
    assert row._mapping[anon] is row[0] and row[0].name == "ed"  # ... but finds its object

    u1, u2 = aliased(User, name="u1"), aliased(User, name="u2")
    for style in (LABEL_STYLE_DISAMBIGUATE_ONLY, LABEL_STYLE_TABLENAME_PLUS_COL):
        stmt = make_select(u1, u2).join_from(u1, u2, u1.id == u2.id).set_label_style(style)
        assert [d["name"] for d in stmt.column_descriptions] == ["u1", "u2"]
        row = session.execute(stmt.order_by(u1.id)).first()
        assert row._mapping.keys() == ["u1", "u2"] and row.u2 is row.u1


@pytest.mark.parametrize("style,names", [
    (LABEL_STYLE_DISAMBIGUATE_ONLY, ["id", "name", "User", "id_1", "name_1", "a1"]),
    (LABEL_STYLE_TABLENAME_PLUS_COL, ["u1_id", "u1_name", "User", "u2_id", "u2_name", "a1"]),
])
def test_select_column_descriptions_name_columns_by_the_label_style(session, model, style,
                                                                     names):
    User, _ = model
    u1 = select(User.id, User.name).subquery("u1")
    u2 = select(User.id, User.name).subquery("u2")
    a1 = aliased(User, name="a1")
    stmt = (select(u1, User, u2, a1).join_from(u1, u2, u1.c.id == u2.c.id)
            .join(User, User.id == u1.c.id).join(a1, a1.id == u1.c.id)
            .set_label_style(style).order_by(u1.c.id))
    assert [d["name"] for d in stmt.column_descriptions] == names
    row = session.execute(stmt).first()
    assert row._mapping.keys() == names
    assert getattr(row, names[4]) == "ed" and row.a1 is row.User


def test_query_column_descriptions_name_the_entity_of_labels_functions_and_alias_columns(
        session, model, sql_log):
    User, _ = model
    ua = aliased(User)
    id_type = User.__table__.c.id.type
    assert session.query(ua.id).column_descriptions == [
        {"name": "id", "type": id_type, "aliased": True, "expr": ua.id, "entity": ua}]
    foo = ua.id.label("foo")
    assert session.query(foo).column_descriptions == [
        {"name": "foo", "type": id_type, "aliased": True, "expr": foo, "entity": ua}]
    uname = User.name.label("uname")
    fn = func.count(User.id)
    q = session.query(uname, fn).group_by(User.name).order_by(User.name)
    assert q.column_descriptions == [
        {"name": "uname", "type": User.__table__.c.name.type, "aliased": False,
         "expr": uname, "entity": User},
        {"name": None, "type": fn.type, "aliased": False, "expr": fn, "entity": User}]
    sql_log.clear()
    assert q.all() == [("ed", 1), ("wendy", 1)]
    assert "SELECT users.name AS uname, count(users.id) AS count_1" in sql_log.statements[0]
    # a subquery's columns belong to no entity, even when the subquery reads one
    sub = session.query(User.id).subquery()
    (d,) = session.query(sub.c.id).column_descriptions
    assert d["entity"] is None and d["aliased"] is False and d["name"] == "id"


@pytest.mark.parametrize("style,keys", [
    (LABEL_STYLE_NONE, ["id", "name", "id", "name"]),
    (LABEL_STYLE_DISAMBIGUATE_ONLY, ["id", "name", "id_1", "name_1"]),
    (LABEL_STYLE_TABLENAME_PLUS_COL, ["u1_id", "u1_name", "u2_id", "u2_name"]),
])
def test_from_statement_of_columns_keys_rows_by_the_statements_label_style(session, model,
                                                                           style, keys):
    User, _ = model
    u1 = select(User.id, User.name).subquery("u1")
    u2 = select(User.id, User.name).subquery("u2")
    inner = (select(u1, u2).join_from(u1, u2, u1.c.id == u2.c.id).set_label_style(style)
             .order_by(u1.c.id))
    stmt = select(u1, u2).from_statement(inner)
    rows = session.execute(stmt).all()
    assert [tuple(r) for r in rows] == [(1, "ed", 1, "ed"), (2, "wendy", 2, "wendy")]
    assert rows[0]._mapping.keys() == keys
    if style is not LABEL_STYLE_NONE:
        assert [d["name"] for d in stmt.column_descriptions] == keys
        assert getattr(rows[1], keys[3]) == "wendy"


def test_tuples_warns_deprecated_and_gives_rows_for_one_entity(session, model):
    User, _ = model
    with pytest.warns(DeprecationWarning, match="Row now behaves like a tuple"):
        q = session.query(User).order_by(User.id).tuples()
    assert not q.is_single_entity
    row = q.first()
    assert row[0].name == "ed" and row._mapping[User] is row[0]


def test_query_selectable_is_the_select_it_runs(session, model, sql_log):
    User, _ = model
    q = session.query(User.id, User.name).filter_by(name="wendy")
    assert sql(q.selectable) == sql(q) == (
        "SELECT users.id AS users_id, users.name AS users_name FROM users "
        "WHERE users.name = :name_1")
    assert q.selectable.compare(q.statement.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL))
    assert session.execute(q.selectable).all() == [(2, "wendy")]


@pytest.fixture
def more_addresses(session, model):
    User, Address = model
    ed = session.get(User, 1)
    ed.addresses.extend([Address(id=11, email="ed2@x"), Address(id=12, email="ed3@x")])
    session.commit()
    return model


def test_query_of_entities_returns_each_object_or_row_once(session, more_addresses, sql_log):
    User, Address = more_addresses
    q = session.query(User).join(User.addresses).order_by(User.id)
    sql_log.clear()
    assert [u.id for u in q.all()] == [1, 2]
    assert sql_log.count == 1 and "JOIN addresses" in sql_log.statements[0]
    assert [u.id for u in q] == [1, 2]
    # another FROM given with select_from() too
    assert [u.id for u in session.query(User).select_from(User.__table__.join(
        Address.__table__)).order_by(User.id)] == [1, 2]
    # one() counts objects, not rows
    assert session.query(User).join(User.addresses).filter(User.id == 1).one().name == "ed"
    # rows of an entity and columns: repeats of the whole row go
    rows = session.query(User, User.name).join(User.addresses).order_by(User.id).all()
    assert [(u.id, n) for u, n in rows] == [(1, "ed"), (2, "wendy")]
    rows = session.query(User, Address.email).join(User.addresses).order_by(
        Address.id).all()
    assert [(u.id, e) for u, e in rows] == [
        (1, "ed@x"), (1, "ed2@x"), (1, "ed3@x"), (2, "w@x")]
    # read back through a subquery of the join: still once each
    sub = session.query(User, Address.email).join(User.addresses).subquery()
    ua = aliased(User, sub)
    assert sorted(u.id for u in session.query(ua).all()) == [1, 2]


def test_query_of_columns_only_and_yield_per_keep_every_row(session, more_addresses):
    User, Address = more_addresses
    q = session.query(User.name).join(User.addresses).order_by(User.id)
    assert q.all() == [("ed",), ("ed",), ("ed",), ("wendy",)]
    streamed = session.query(User).join(User.addresses).order_by(User.id).yield_per(10)
    assert [u.id for u in streamed] == [1, 1, 1, 2]
    # select() is 2.x style: repeats stay until unique() is asked for
    stmt = dm_select(User).join(User.addresses).order_by(User.id)
    assert [u.id for u in session.scalars(stmt)] == [1, 1, 1, 2]
    assert [u.id for u in session.scalars(stmt).unique()] == [1, 2]


def test_query_unique_rows_with_unhashable_column_values_count_them_by_identity(
        session, more_addresses):
    User, _ = more_addresses

    class Listed(TypeDecorator):
        impl = Integer
        cache_ok = True
        hashable = False

        def process_result_value(self, value, dialect):
            return [value]

    listed = type_coerce(User.__table__.c.id, Listed).label("listed")
    rows = session.query(User, listed).join(User.addresses).order_by(User.id).all()
    assert [(u.id, v) for u, v in rows] == [(1, [1]), (1, [1]), (1, [1]), (2, [2])]
    same = type_coerce(literal("one"), NullType).label("same")
    rows = session.query(User, same).join(User.addresses).order_by(User.id).all()
    assert [(u.id, v) for u, v in rows] == [(1, "one"), (2, "one")]
    # 2.x style: unique() refuses, by name, what it can't compare
    stmt = dm_select(User, listed).join(User.addresses).order_by(User.id)
    with pytest.raises(InvalidRequestError, match=r"Can't make rows unique by a value of "
                                                  r"type Listed\(\)"):
        session.execute(stmt).unique().all()
    stmt = dm_select(User, same).join(User.addresses).order_by(User.id)
    assert [(u.id, v) for u, v in session.execute(stmt).unique()] == [(1, "one"), (2, "one")]


def test_aliased_over_a_subquery_without_the_primary_key_serves_its_columns(
        session, more_addresses):
    User, Address = more_addresses
    sub = session.query(User, Address.email).join(User.addresses).distinct().subquery()
    ua = aliased(User, sub)
    aa = aliased(Address, sub)  # the subquery has no addresses.id: columns only
    q = session.query(ua).order_by(desc(aa.email))
    assert [u.id for u in q] == [2, 1]  # w@x, then ed3@x ... (User 1 once)
    with pytest.raises(ArgumentError, match=r"Can't load Address objects from "
                                            r"<aliased\(Address\)>: its selectable has no "
                                            r"column for the primary key \(id\)"):
        session.query(aa).all()


def test_limited_joined_eager_query_orders_by_a_column_it_does_not_select(
        session, more_addresses, sql_log):
    User, Address = more_addresses
    q = (session.query(User).join(User.addresses).distinct()
         .options(joinedload(User.addresses)).order_by(desc(Address.email)).limit(2))
    sql_log.clear()
    users = q.all()
    assert [(u.id, [a.id for a in u.addresses]) for u in users] == [
        (2, [20]), (1, [10, 11, 12])]
    assert sql_log.count == 1
    inner = sql_log.statements[0].split("FROM (")[1]
    assert inner.startswith("SELECT DISTINCT users.id AS users_id, users.name AS users_name, "
                            "addresses.email AS addresses_email")


def test_filter_by_after_a_column_only_query_uses_the_columns_entity(session, model):
    User, _ = model
    q = session.query(User.id).filter_by(name="ed")
    assert sql(q) == "SELECT users.id AS users_id FROM users WHERE users.name = :name_1"
    assert q.all() == [(1,)]
    q2 = session.query(User.id.label("foo")).filter_by(name="wendy")
    assert q2.scalar() == 2
    q3 = session.query(func.upper(User.name)).filter_by(id=2)
    assert q3.scalar() == "WENDY"
    users = User.__table__
    assert session.query(users).filter_by(name="ed").one().id == 1


def test_filter_by_refuses_names_without_an_entity(session, model):
    User, Address = model
    with pytest.raises(InvalidRequestError, match='Entity namespace for "addresses" has no '
                                                  'property "name"'):
        session.query(Address.__table__).filter_by(name="ed")
    with pytest.raises(InvalidRequestError, match=r'"count\(:count_1\)" has no property'):
        session.query(func.count(123)).filter_by(col=42)


def test_filter_by_after_join_names_the_joined_alias(session, model):
    User, Address = model
    aa = aliased(Address)
    for q in (session.query(User).join(User.addresses.of_type(aa)),
              session.query(User).join(aa, User.addresses)):
        q = q.filter_by(email="w@x")
        assert sql(q) == (
            "SELECT users.id AS users_id, users.name AS users_name FROM users "
            "JOIN addresses AS addresses_1 ON users.id = addresses_1.user_id "
            "WHERE addresses_1.email = :email_1")
        assert q.one().name == "wendy"
    plain = session.query(User).join(User.addresses).filter_by(email="ed@x")
    assert sql(plain).endswith(
        "FROM users JOIN addresses ON users.id = addresses.user_id "
        "WHERE addresses.email = :email_1")
    assert plain.one().name == "ed"


def test_orm_select_filter_by_after_join_names_the_joined_entity(session, model):
    from datamapper import select as orm_select

    User, Address = model
    aa = aliased(Address)
    stmt = orm_select(User).join(User.addresses.of_type(aa)).filter_by(email="w@x")
    assert "WHERE addresses_1.email = :email_1" in sql(stmt)
    assert session.scalars(stmt).one().name == "wendy"
    stmt2 = orm_select(User).join(User.addresses).filter_by(email="ed@x")
    assert session.scalars(stmt2).one().name == "ed"
    # SQLAlchemy 2.1: names are looked up in every FROM entity; one in both is refused.
    # SQLAlchemy 2.0: the last joined entity alone is searched (Core's rule there).
    if tuple(int(x) for x in sqlalchemy.__version__.split(".")[:2]) >= (2, 1):
        with pytest.raises(InvalidRequestError, match="id"):
            orm_select(User).join(User.addresses).filter_by(id=1)
    else:
        stmt3 = orm_select(User).join(User.addresses).filter_by(id=1)
        assert "WHERE addresses.id = :id_1" in sql(stmt3)


def test_reset_joinpoint_names_the_first_entity_again(session, model):
    """Query.reset_joinpoint() (legacy, kept by SQLAlchemy 2.x's Query): after join(),
    filter_by() names the selected entity again; the joins stay.  Was AttributeError."""
    User, Address = model
    q = session.query(User).join(User.addresses).filter_by(email="w@x")
    q2 = q.reset_joinpoint().filter_by(name="wendy")
    assert sql(q2).endswith(
        "FROM users JOIN addresses ON users.id = addresses.user_id "
        "WHERE addresses.email = :email_1 AND users.name = :name_1")
    assert [u.id for u in q2] == [2]
    assert q.reset_joinpoint().filter_by(name="ed").all() == []
    # select_from() sets the join point the reset goes back to
    q3 = session.query(User.id).select_from(Address).join(User, Address.user_id == User.id)
    assert q3.reset_joinpoint().filter_by(email="ed@x").all() == [(1,)]
