"""A query of one column (or one SQL expression) gives rows, like a query of several:
``query(User.id).all() == [(1,), ...]``, each a Row with ``_mapping``, ``_asdict()`` and
attribute access by label.  ``scalar()`` and ``session.scalars()`` give bare values,
``query(User)`` objects."""

from sqlalchemy import func

from datamapper import select


def test_query_of_one_column_gives_rows(users, User):
    rows = users.query(User.id).order_by(User.id).all()
    assert rows == [(1,), (2,)]
    first = rows[0]
    assert first.id == 1
    assert first[0] == 1
    assert first._mapping["id"] == 1
    assert first._asdict() == {"id": 1}
    assert tuple(first) == (1,)


def test_first_one_and_iteration_of_one_column_give_rows(users, User):
    q = users.query(User.name).order_by(User.id)
    assert q.first() == ("ed",)
    assert q.first().name == "ed"
    assert q.filter(User.id == 2).one() == ("wendy",)
    assert q.filter(User.id == 2).one_or_none()._asdict() == {"name": "wendy"}
    assert [r.name for r in q] == ["ed", "wendy"]
    assert list(q) == [("ed",), ("wendy",)]


def test_scalar_of_one_column_gives_the_bare_value(users, User):
    assert users.query(User.name).filter(User.id == 1).scalar() == "ed"
    assert users.query(func.count(User.id)).scalar() == 2
    assert users.query(User.id, User.name).filter(User.id == 2).scalar() == 2
    assert users.query(User.name).filter(User.id == 99).scalar() is None


def test_query_of_an_sql_function_gives_rows(users, User):
    rows = users.query(func.count(User.id)).all()
    assert rows == [(2,)]
    assert rows[0][0] == 2
    labelled = users.query(func.count(User.id).label("n")).one()
    assert labelled.n == 2
    assert labelled._mapping["n"] == 2


def test_query_of_several_columns_and_of_entity_with_column(users, User):
    rows = users.query(User.id, User.name).order_by(User.id).all()
    assert rows == [(1, "ed"), (2, "wendy")]
    assert rows[1].name == "wendy"
    (row,) = users.query(User, User.id).filter(User.id == 1).all()
    assert row.User.name == "ed"
    assert row.id == 1
    objs = users.query(User).order_by(User.id).all()
    assert [type(o) for o in objs] == [User, User]


def test_orm_select_of_one_column_gives_rows_and_scalars_give_values(users, User):
    rows = users.execute(select(User.id).order_by(User.id)).all()
    assert rows == [(1,), (2,)]
    assert rows[0].id == 1
    assert rows[0]._mapping["id"] == 1
    assert users.scalars(select(User.id).order_by(User.id)).all() == [1, 2]
    assert users.scalar(select(User.name).where(User.id == 2)) == "wendy"
    assert [u.name for u in users.scalars(select(User).order_by(User.id))] == ["ed", "wendy"]
