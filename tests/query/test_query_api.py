"""Query surface of SQLAlchemy's Query: set operations (the union becomes a subquery that
later criteria are adapted to), from_statement(), generation checks (criteria after
LIMIT, select_from() after criteria, criteria after from_statement() are refused unless
enable_assertions(False)), with_transformation, prefix/suffix/hints, with_entities /
add_columns, whereclause, cte, enable_eagerloads(False)."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, literal, select, text
from sqlalchemy.engine import default
from sqlalchemy.exc import ArgumentError, InvalidRequestError

from datamapper import declarative_base, relationship


def sql(q):
    return " ".join(str(q.compile(dialect=default.DefaultDialect())).split())


@pytest.fixture
def model(metadata, engine, session):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        addresses = relationship("Address", lazy="joined", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        email = Column(String(50))

    metadata.create_all(engine)
    session.add_all([User(id=1, name="ed", addresses=[Address(id=10, email="e@x")]),
                     User(id=2, name="fred"), User(id=3, name="jack")])
    session.commit()
    session.expunge_all()
    return User, Address


def test_union_reads_entities_from_the_union_subquery(session, model):
    User, _ = model
    ed = session.query(User).filter(User.name == "ed")
    fred = session.query(User).filter(User.name == "fred")
    jack = session.query(User).filter(User.name == "jack")
    q = ed.union(fred).enable_eagerloads(False)
    assert sql(q) == (
        "SELECT anon_1.users_id AS anon_1_users_id, anon_1.users_name AS anon_1_users_name "
        "FROM (SELECT users.id AS users_id, users.name AS users_name FROM users "
        "WHERE users.name = :name_1 UNION SELECT users.id AS users_id, users.name AS "
        "users_name FROM users WHERE users.name = :name_2) AS anon_1")
    assert [u.name for u in q.order_by(User.name)] == ["ed", "fred"]
    assert "ORDER BY anon_1.users_name" in sql(q.order_by(User.name))
    three = ed.union(fred, jack).filter(User.name != "fred").order_by(User.id)
    assert [u.name for u in three] == ["ed", "jack"]
    assert [u.name for u in ed.union(fred).union(jack).order_by(User.name)] == \
        ["ed", "fred", "jack"]
    assert ed.union_all(ed).count() == 2
    assert [u.name for u in session.query(User).intersect(ed)] == ["ed"]
    assert [u.name for u in session.query(User).except_(ed).order_by(User.id)] == \
        ["fred", "jack"]
    identity = session.query(User).filter(User.name == "ed").one()
    assert ed.union(fred).filter(User.name == "ed").one() is identity


def test_union_of_entity_and_literal_keeps_row_names(session, model):
    User, _ = model
    q = session.query(User, literal("x").label("tag")).filter(User.id == 1).union(
        session.query(User, literal("y").label("tag")).filter(User.id == 1))
    rows = q.order_by("tag").all()
    assert [(u.id, tag) for u, tag in rows] == [(1, "x"), (1, "y")]
    assert rows[0]._mapping.keys() == ["User", "tag"]
    assert [d["name"] for d in q.column_descriptions] == ["User", "tag"]


def test_union_refuses_what_is_not_a_query(session, model):
    User, _ = model
    with pytest.raises(ArgumentError, match="Can't union"):
        session.query(User).union(User)


def test_from_statement_runs_the_given_statement(session, model):
    User, _ = model
    users = session.query(User).from_statement(
        text("SELECT * FROM users WHERE id > :x ORDER BY id")).params(x=1).all()
    assert [u.name for u in users] == ["fred", "jack"]
    assert users[0] is session.get(User, 2)
    stmt = select(User.__table__).where(User.__table__.c.name == "jack")
    assert session.query(User).from_statement(stmt).one().id == 3
    ids = session.query(User.id).from_statement(text("SELECT id, name FROM users")).all()
    assert sorted(ids) == [(1,), (2,), (3,)]


def test_from_statement_refuses_non_selects_and_later_criteria(session, model):
    User, Address = model
    q = session.query(User)
    with pytest.raises(ArgumentError, match="not a SELECT"):
        q.from_statement(User.id == 5)
    with pytest.raises(ArgumentError, match="not a SELECT"):
        q.from_statement(User.__table__.join(Address.__table__))
    with pytest.raises(InvalidRequestError, match="criteria already applied"):
        q.filter(User.id == 1).from_statement(text("SELECT * FROM users"))
    fs = q.from_statement(text("SELECT * FROM users"))
    for call in (lambda: fs.filter(User.id == 5), lambda: fs.filter_by(id=5),
                 lambda: fs.limit(5), lambda: fs.order_by(User.name),
                 lambda: fs.group_by(User.name)):
        with pytest.raises(InvalidRequestError, match="from_statement"):
            call()
    with pytest.raises(InvalidRequestError, match="from_statement"):
        fs.subquery()


def test_criteria_after_limit_are_refused_unless_assertions_are_off(session, model):
    User, _ = model
    limited = session.query(User).order_by(User.id).limit(2)
    for call in (lambda q: q.filter(User.name == "ed"), lambda q: q.filter_by(name="ed"),
                 lambda q: q.order_by(User.name), lambda q: q.group_by(User.name),
                 lambda q: q.having(User.id > 1), lambda q: q.join(User.addresses)):
        with pytest.raises(InvalidRequestError, match="LIMIT or OFFSET"):
            call(limited)
    relaxed = limited.enable_assertions(False).filter(User.name == "fred")
    assert [u.name for u in relaxed] == ["fred"]


def test_select_from_after_criteria_or_of_a_column_is_refused(session, model):
    User, _ = model
    users = User.__table__
    for q in (session.query(User).select_from(users), session.query(User).order_by(User.id),
              session.query(User).join(User.addresses), session.query(User).distinct()):
        with pytest.raises(InvalidRequestError, match="criteria already applied"):
            q.select_from(users)
    assert session.query(User).order_by(User.id).enable_assertions(False).select_from(
        users).count() == 3
    with pytest.raises(ArgumentError, match="Can't select from"):
        session.query(User).select_from(User.id == 5)
    with pytest.raises(ArgumentError, match="Can't select from"):
        session.query(User).select_from(User.id)


def test_small_generative_methods(session, model):
    User, _ = model

    def only_ed(q):
        return q.filter(User.name == "ed")

    q = session.query(User).with_transformation(only_ed)
    assert q.one().id == 1
    assert str(q.whereclause) == "users.name = :name_1"
    assert session.query(User).whereclause is None
    assert sql(session.query(User.name).prefix_with("DISTINCT")) == \
        "SELECT DISTINCT users.name AS users_name FROM users"
    assert sql(session.query(User.name).suffix_with("LIMIT 1")).endswith("FROM users LIMIT 1")
    assert session.query(User.name).prefix_with("DISTINCT").count() == 3
    q2 = session.query(User).filter(User.id == 2).with_entities(User.name)
    assert q2.all() == [("fred",)]
    q3 = session.query(User).filter(User.id == 2).add_columns(User.name)
    (row,) = q3.all()
    assert row[0].id == 2 and row.name == "fred"
    with pytest.raises(ArgumentError):
        session.query(User).add_columns(object())
    assert session.query(User).execution_options(foo=1).get_execution_options() == {"foo": 1}
    cte = session.query(User.id).filter(User.id > 1).cte("big")
    assert session.scalars(select(cte.c.id).order_by(cte.c.id)).all() == [2, 3]
    with pytest.raises(ArgumentError, match="not callable"):
        session.query(User).with_transformation(5)


def test_enable_eagerloads_false_leaves_configured_joins_out(session, model, sql_log):
    User, _ = model
    sql_log.clear()
    u = session.query(User).enable_eagerloads(False).filter(User.id == 1).one()
    assert "JOIN" not in sql_log.statements[-1]
    assert "addresses" not in u.__dict__
    assert [a.email for a in u.addresses] == ["e@x"]
    session.expunge_all()
    sql_log.clear()
    u = session.query(User).filter(User.id == 1).one()
    assert "JOIN" in sql_log.statements[-1] and "addresses" in u.__dict__


def test_correlate_names_what_the_enclosing_select_supplies(session, model):
    """Query.correlate(User): a scalar subquery of the query reads the enclosing
    SELECT's users row; correlate(None)/(False): it has its own FROM users."""
    from sqlalchemy import func

    User, Address = model
    per_user = session.query(func.count(Address.id)).filter(Address.user_id == User.id)
    for corr in (per_user.correlate(User), per_user.correlate(User.__table__), per_user):
        rows = session.query(User.name, corr.scalar_subquery()).order_by(User.id).all()
        assert rows == [("ed", 1), ("fred", 0), ("jack", 0)]
    for off in (None, False):
        sub = per_user.correlate(off).scalar_subquery()
        assert "FROM addresses, users" in sql(session.query(User.name, sub))
        rows = session.query(User.name, sub).order_by(User.id).all()
        assert rows == [("ed", 1), ("fred", 1), ("jack", 1)]  # counts every join pair
    with pytest.raises(ArgumentError, match="Can't correlate to"):
        per_user.correlate("users")
