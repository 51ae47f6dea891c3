"""session.query(Cls): filtering, ordering, slicing, execution methods."""

import pytest
import sqlalchemy as sa

from datamapper import exc


@pytest.fixture
def users(session, User):
    session.add_all(
        [
            User(id=1, name="ed", note="x"),
            User(id=2, name="wendy", note=None),
            User(id=3, name="mary", note="y"),
            User(id=4, name="fred", note=None),
            User(id=5, name="jack", note="z"),
        ]
    )
    session.commit()
    return session


def names(objs):
    return [u.name for u in objs]


def test_all_returns_every_object(users, User):
    assert sorted(names(users.query(User).all())) == ["ed", "fred", "jack", "mary", "wendy"]


def test_filter_with_equality_expression(users, User):
    assert names(users.query(User).filter(User.name == "ed").all()) == ["ed"]


def test_filter_by_keyword(users, User):
    assert names(users.query(User).filter_by(name="mary").all()) == ["mary"]


def test_filter_chained_criteria_are_anded(users, User):
    q = users.query(User).filter(User.id > 1).filter(User.id < 4).order_by(User.id)
    assert names(q) == ["wendy", "mary"]


def test_filter_multiple_criteria_in_one_call(users, User):
    q = users.query(User).filter(User.id > 1, User.note.is_(None)).order_by(User.id)
    assert names(q) == ["wendy", "fred"]


def test_in_operator(users, User):
    q = users.query(User).filter(User.id.in_([1, 3, 5])).order_by(User.id)
    assert names(q) == ["ed", "mary", "jack"]


def test_like_operator(users, User):
    q = users.query(User).filter(User.name.like("%ed%")).order_by(User.id)
    assert names(q) == ["ed", "fred"]


def test_is_none(users, User):
    q = users.query(User).filter(User.note.is_(None)).order_by(User.id)
    assert [u.id for u in q] == [2, 4]


def test_order_by_desc(users, User):
    assert [u.id for u in users.query(User).order_by(User.id.desc())] == [5, 4, 3, 2, 1]


def test_order_by_attribute_name_string(users, User):
    assert names(users.query(User).order_by("name")) == ["ed", "fred", "jack", "mary", "wendy"]


def test_limit_and_offset(users, User, sql_log):
    sql_log.clear()
    got = users.query(User).order_by(User.id).limit(2).offset(1).all()
    assert [u.id for u in got] == [2, 3]
    (select,) = sql_log.matching("SELECT")
    assert "LIMIT" in select.upper()


def test_slicing_applies_limit_offset_in_sql(users, User, sql_log):
    sql_log.clear()
    got = users.query(User).order_by(User.id)[1:3]
    assert [u.id for u in got] == [2, 3]
    (select,) = sql_log.matching("SELECT")
    assert "LIMIT" in select.upper()


def test_index_returns_single_object(users, User):
    assert users.query(User).order_by(User.id)[2].name == "mary"


def test_first_returns_first_or_none(users, User, sql_log):
    sql_log.clear()
    assert users.query(User).order_by(User.id).first().name == "ed"
    assert "LIMIT" in sql_log.matching("SELECT")[0].upper()
    assert users.query(User).filter(User.id > 100).first() is None


def test_one_returns_single_object(users, User):
    assert users.query(User).filter_by(id=3).one().name == "mary"


def test_one_raises_no_result_found(users, User):
    with pytest.raises(exc.NoResultFound):
        users.query(User).filter_by(name="nobody").one()


def test_one_raises_multiple_results_found(users, User):
    with pytest.raises(exc.MultipleResultsFound):
        users.query(User).filter(User.id > 1).one()


def test_one_or_none(users, User):
    assert users.query(User).filter_by(name="nobody").one_or_none() is None
    assert users.query(User).filter_by(name="ed").one_or_none().id == 1
    with pytest.raises(exc.MultipleResultsFound):
        users.query(User).one_or_none()


def test_scalar_returns_first_column_of_single_row(users, User):
    assert users.query(User.name).filter_by(id=2).scalar() == "wendy"
    assert users.query(User).filter_by(id=2).scalar().name == "wendy"
    assert users.query(User.name).filter_by(id=99).scalar() is None
    with pytest.raises(exc.MultipleResultsFound):
        users.query(User.name).scalar()


def test_count(users, User):
    assert users.query(User).count() == 5
    assert users.query(User).filter(User.note.is_(None)).count() == 2


def test_query_get(users, User):
    assert users.query(User).get(4).name == "fred"
    assert users.query(User).get(99) is None


def test_iteration(users, User):
    assert [u.id for u in users.query(User).order_by(User.id)] == [1, 2, 3, 4, 5]


def test_query_of_attributes_returns_tuples(users, User):
    rows = users.query(User.id, User.name).order_by(User.id).limit(2).all()
    assert [tuple(r) for r in rows] == [(1, "ed"), (2, "wendy")]


def test_query_is_generative(users, User):
    base = users.query(User)
    filtered = base.filter(User.id == 1)
    assert base.count() == 5
    assert filtered.count() == 1


def test_where_is_synonym_for_filter(users, User):
    assert names(users.query(User).where(User.id == 5)) == ["jack"]


def test_count_autoflushes_pending_objects(users, User):
    users.add(User(id=6, name="new"))
    assert users.query(User).count() == 6


def test_index_out_of_range_raises_index_error(users, User):
    with pytest.raises(IndexError):
        users.query(User).order_by(User.id)[10]


def test_empty_result_methods(users, User):
    q = users.query(User).filter(User.id > 100)
    assert q.all() == []
    assert q.first() is None
    assert q.count() == 0
    assert list(q) == []


@pytest.mark.parametrize("item", [-1, slice(-3, -1), slice(None, -2), slice(-2, None)])
def test_negative_index_or_slice_is_refused_before_any_sql(users, User, sql_log, item):
    # SQL's OFFSET/LIMIT count from the first row: a negative position has no SQL form
    sql_log.clear()
    with pytest.raises(IndexError, match="negative"):
        users.query(User).order_by(User.id)[item]
    assert sql_log.matching("SELECT") == []


def test_statement_of_an_entity_query_runs_as_that_query(users, User):
    # session.scalars(query.statement) gives the query's objects (from the identity map),
    # not the first column of its rows
    q = users.query(User).filter(User.id > 3).order_by(User.id)
    ed_ = users.get(User, 4)
    got = users.scalars(q.statement).all()
    assert [u.id for u in got] == [4, 5] and got[0] is ed_
    assert [u.id for u in users.execute(q.statement.limit(1)).scalars()] == [4]
    cols = users.query(User.id, User.name).filter(User.id == 1).statement
    assert users.execute(cols).all() == [(1, "ed")]  # columns stay rows


def test_slice_selecting_nothing_runs_no_sql(users, User, sql_log):
    sql_log.clear()
    q = users.query(User).order_by(User.id)
    assert q[2:2] == [] and q[-2:-5] == [] and q[3:1] == []
    assert sql_log.matching("SELECT") == []


# MySQL/MariaDB accept only literal integers (or ? placeholders) in LIMIT/OFFSET
@pytest.mark.backends("sqlite", "postgresql")
def test_slice_bounds_may_be_sql_expressions(users, User, sql_log):
    # the bounds are bound parameters cast to integers: OFFSET/LIMIT are computed in SQL
    bound = sa.cast(sa.bindparam("a"), sa.Integer), sa.cast(sa.bindparam("b"), sa.Integer)
    sql_log.clear()
    got = users.query(User).params(a=1, b=3).order_by(User.id)[bound[0]:bound[1]]
    assert [u.id for u in got] == [2, 3]
    (select,) = sql_log.matching("SELECT")
    assert "CAST" in select.upper()


# MySQL/MariaDB accept only literal integers (or ? placeholders) in LIMIT/OFFSET
@pytest.mark.backends("sqlite", "postgresql")
def test_slice_of_a_query_with_an_expression_offset_adds_in_sql(users, User, sql_log):
    q = users.query(User).order_by(User.id).offset(sa.literal_column("1") + 0)
    sql_log.clear()
    assert [u.id for u in q[1:3]] == [3, 4]
    assert [u.id for u in q[2:]] == [4, 5]
    assert [u.name for u in q[1:]][:1] == ["mary"]
    assert q.first().id == 2
    assert len(sql_log.matching("SELECT")) == 4
