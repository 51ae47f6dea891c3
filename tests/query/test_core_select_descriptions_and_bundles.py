"""Core statements built from mapped classes, as the ORM sees them: the entity view of
``column_descriptions`` / ``entity_description`` / ``returning_column_descriptions``,
a ``Bundle`` as a named element of the rows of Core's ``select()``, and aliased()
entities over a subquery that leaves some of their columns out."""

import sqlalchemy as sa
from sqlalchemy import delete, insert, select, update

from datamapper import Bundle, Session, aliased


def test_select_column_descriptions_describe_entities(models):
    User, Address = models
    ua = aliased(User, name="u2")
    descs = select(User, User.id, ua).column_descriptions
    assert descs[0] == {"name": "User", "type": User, "aliased": False, "expr": User,
                        "entity": User}
    assert (descs[1]["name"], descs[1]["expr"], descs[1]["entity"]) == ("id", User.id, User)
    assert isinstance(descs[1]["type"], sa.Integer)
    assert (descs[2]["name"], descs[2]["type"], descs[2]["aliased"], descs[2]["expr"]) == (
        "u2", User, True, ua)
    # a select of plain tables keeps Core's description
    plain = select(User.__table__.c.id).column_descriptions
    assert plain[0]["expr"] is User.__table__.c.id and "entity" not in plain[0]


def test_dml_entity_and_returning_descriptions(models):
    User, _a = models
    for stmt in (update(User).values(name="x"), insert(User), delete(User)):
        assert stmt.entity_description == {"name": "User", "type": User, "expr": User,
                                           "entity": User, "table": User.__table__}
    (d,) = update(User).values(name="x").returning(User.id).returning_column_descriptions
    assert (d["name"], d["expr"], d["entity"], d["aliased"]) == ("id", User.id, User, False)
    # plain Core DML keeps Core's description
    assert update(User.__table__).entity_description["name"] == "users"


def test_bundle_in_core_select_is_a_named_row_element(models, engine):
    User, Address = models
    with Session(engine) as s:
        s.add(User(name="ed", addresses=[Address(email="ed@x")]))
        s.commit()
        stmt = select(Bundle("user", User.id, User.name),
                      Bundle("email", Address.email)).join_from(User, Address)
        (row,) = s.execute(stmt).all()
        assert (row.user.name, row.email.email) == ("ed", "ed@x")
        assert tuple(row.user) == (1, "ed")
        assert [d["name"] for d in stmt.column_descriptions] == ["user", "email"]


def test_two_aliases_over_one_subquery_read_only_its_columns(models, engine, sql_log):
    User, Address = models
    with Session(engine) as s:
        s.add_all([User(name="ed", addresses=[Address(email="a"), Address(email="b")]),
                   User(name="jack", addresses=[Address(email="c")])])
        s.commit()
        subq = (select(User.id, User.name, Address.id, Address.email)
                .join_from(User, Address).where(Address.email.in_(["b", "c"])).subquery())
        ua = aliased(User, subq, name="user")
        aa = aliased(Address, subq, name="address")
        sql_log.clear()
        rows = s.execute(select(ua, aa).order_by(ua.name)).all()
        assert [(r.user.name, r.address.email) for r in rows] == [("ed", "b"), ("jack", "c")]
        outer = sql_log[0].split("FROM (")[0]
        assert "addresses" not in outer  # no second FROM: no cartesian product
        assert sql_log[0].rstrip().endswith("AS anon_1 ORDER BY anon_1.name")
        # the column the subquery left out loads on access
        assert rows[0].address.user_id == rows[0].user.id
