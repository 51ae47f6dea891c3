"""``query.union(...).add_columns(expr)``: the query reads the union's subquery, and so
do the columns added after it (a mapped attribute keeps its name in rows); they named
the table, which made the added column a cartesian product with it, or left a
correlated EXISTS uncorrelated."""

from sqlalchemy import exists

from datamapper import aliased


def sql(q):
    return " ".join(str(q).split())


def test_exists_added_after_a_union_correlates_to_the_union(users, User, sql_log):
    q = users.query(User).union(users.query(User))
    ua = aliased(User)
    q = q.add_columns(exists().where(ua.id > User.id)).order_by(User.id)
    sql_log.clear()
    assert [(u.id, flag) for u, flag in q.all()] == [(1, True), (2, False)]
    assert "WHERE users_1.id > anon_1.users_id" in sql_log.statements[0]


def test_attribute_added_after_a_union_is_read_from_the_union(users, User, sql_log):
    q = users.query(User).union(users.query(User)).add_columns(User.name).order_by(User.id)
    sql_log.clear()
    rows = q.all()
    assert [(u.id, name) for u, name in rows] == [(1, "ed"), (2, "wendy")]
    assert list(rows[0]._mapping.keys()) == ["User", "name"]
    assert "anon_1.users_name AS name" in sql_log.statements[0]
    assert "FROM users" not in sql_log.statements[0].split("AS anon_1")[-1]
