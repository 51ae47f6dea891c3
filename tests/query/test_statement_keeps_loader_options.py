"""``query.statement`` and datamapper's ``select()`` keep their loader options: compiled,
they show the eager joins the options add (as ``sqlalchemy.select()`` of the same
entities does), and ``session.execute()`` of them loads as the query would, applying
each option (and each ``with_loader_criteria()``) once."""

import pytest
from sqlalchemy.engine import default

from datamapper import (
    contains_eager,
    joinedload,
    select,
    selectinload,
    with_loader_criteria,
)


def sql(stmt):
    return " ".join(str(stmt.compile(dialect=default.DefaultDialect())).split())


@pytest.fixture
def filled(session, models):
    User, Address = models
    session.add_all([
        User(id=1, name="ed", addresses=[Address(id=1, email="a"), Address(id=2, email="b")]),
        User(id=2, name="wendy"),
    ])
    session.commit()
    session.close()
    return session


def test_query_statement_compiles_with_its_joinedload(models, session):
    User, _Address = models
    q = session.query(User).options(joinedload(User.addresses))
    assert sql(q.statement) == (
        "SELECT users.id, users.name, addresses_1.id AS id_1, addresses_1.email, "
        "addresses_1.user_id FROM users LEFT OUTER JOIN addresses AS addresses_1 "
        "ON users.id = addresses_1.user_id ORDER BY addresses_1.id")


def test_orm_select_compiles_with_its_joinedload(models):
    User, _Address = models
    assert "LEFT OUTER JOIN addresses AS addresses_1" in sql(
        select(User).options(joinedload(User.addresses)))


def test_query_statement_compiles_with_contains_eager_columns(models, session):
    User, _Address = models
    q = session.query(User).outerjoin(User.addresses).options(
        contains_eager(User.addresses))
    assert sql(q.statement) == (
        "SELECT users.id, users.name, addresses.id AS id_1, addresses.email, "
        "addresses.user_id FROM users LEFT OUTER JOIN addresses "
        "ON users.id = addresses.user_id")


def test_executing_query_statement_eager_loads_in_one_select(models, filled, sql_log):
    User, _Address = models
    q = filled.query(User).options(joinedload(User.addresses)).order_by(User.id)
    sql_log.clear()
    users = filled.execute(q.statement).unique().scalars().all()
    assert [[a.email for a in u.addresses] for u in users] == [["a", "b"], []]
    assert len(sql_log.statements) == 1
    assert sql_log.statements[0].count("JOIN addresses") == 1


def test_executing_orm_select_with_joinedload_joins_once(models, filled, sql_log):
    User, _Address = models
    sql_log.clear()
    users = filled.execute(
        select(User).options(joinedload(User.addresses)).order_by(User.id)
    ).unique().scalars().all()
    assert [[a.email for a in u.addresses] for u in users] == [["a", "b"], []]
    assert len(sql_log.statements) == 1
    assert sql_log.statements[0].count("JOIN addresses") == 1


def test_query_statement_applies_loader_criteria_once(models, filled, sql_log):
    User, Address = models
    q = filled.query(User).options(
        with_loader_criteria(User, User.name == "ed"),
        with_loader_criteria(Address, Address.email == "a"),
        selectinload(User.addresses))
    assert sql(q.statement).count("users.name = :name_1") == 1
    sql_log.clear()
    users = filled.execute(q.statement).scalars().all()
    assert [(u.name, [a.email for a in u.addresses]) for u in users] == [("ed", ["a"])]
    assert sql_log.statements[0].count("users.name =") == 1
    assert "addresses.email = " in sql_log.statements[1]


def test_subquery_and_cte_of_a_query_leave_its_eager_joins_out(models, session):
    User, _Address = models
    q = session.query(User).options(joinedload(User.addresses))
    assert sql(q.subquery()) == "SELECT users.id, users.name FROM users"
    assert sql(select(q.cte("c"))) == (
        "WITH c AS (SELECT users.id AS id, users.name AS name FROM users) "
        "SELECT c.id, c.name FROM c")
