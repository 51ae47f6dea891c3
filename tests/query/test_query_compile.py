"""What a Query compiles to: ``str(query)`` and ``query.compile()`` label each column
``<table>_<column>`` (the form SQLAlchemy's Query shows and sends), ``query.statement``
keeps plain column names; an attribute named other than its column is selected under
the attribute's name; ``exists()`` keeps its FROM; ``group_by(None)`` cancels grouping."""

import pytest
from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    Column,
    Integer,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.engine import default

from datamapper import registry


def sql(stmt):
    return " ".join(str(stmt.compile(dialect=default.DefaultDialect())).split())


def test_str_and_compile_label_columns_with_the_table_name(users, User):
    q = users.query(User).filter(User.id == 1)
    expected = ("SELECT users.id AS users_id, users.name AS users_name, users.note AS "
                "users_note FROM users WHERE users.id = :id_1")
    assert " ".join(str(q).split()) == expected
    assert sql(q) == expected
    assert " ".join(str(q.compile()).split()) == expected


def test_statement_keeps_plain_column_names(users, User):
    q = users.query(User.id).filter(User.id == 1)
    assert sql(q.statement) == "SELECT users.id FROM users WHERE users.id = :id_1"
    assert sql(select(q.label("foo"))) == \
        "SELECT (SELECT users.id FROM users WHERE users.id = :id_1) AS foo"


def test_query_sends_the_labelled_select_and_rows_keep_attribute_names(
        users, User, sql_log):
    sql_log.clear()
    rows = users.query(User.id, User.name).order_by(User.id).all()
    assert rows == [(1, "ed"), (2, "wendy")]
    assert rows[0]._mapping.keys() == ["id", "name"]
    assert "users.id AS users_id" in sql_log.statements[-1]


def test_count_wraps_the_labelled_select(users, User, sql_log):
    sql_log.clear()
    assert users.query(User).filter(User.name == "ed").count() == 1
    assert "count(*)" in sql_log.statements[-1]
    assert "users.name AS users_name" in sql_log.statements[-1]


def test_exists_selects_from_the_queried_table(users, User):
    q = users.query(User)
    assert sql(select(q.exists())) == "SELECT EXISTS (SELECT 1 FROM users) AS anon_1"
    assert users.scalar(select(q.exists())) is True
    assert users.scalar(select(q.filter(User.id == 99).exists())) is False


def test_group_by_none_cancels_grouping(users, User):
    q = users.query(User.name).group_by(User.name).group_by(None).order_by(User.name)
    assert "GROUP BY" not in sql(q)
    assert q.all() == [("ed",), ("wendy",)]


@pytest.fixture
def Renamed(metadata, engine, session):
    table = Table("renamed_users", metadata, Column("id", Integer, primary_key=True),
                  Column("name", String(30)))
    metadata.create_all(engine)

    class Foo:
        pass

    registry(metadata=metadata).map_imperatively(Foo, table,
                                                 properties={"uname": table.c.name})
    session.execute(table.insert(), [{"id": 1, "name": "ed"}])
    session.commit()
    return Foo


def test_attribute_named_other_than_its_column_names_the_selected_column(
        session, Renamed):
    stmt = select(Renamed.id, Renamed.uname)
    assert list(stmt.selected_columns.keys()) == ["id", "uname"]
    labelled = stmt.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
    assert list(labelled.selected_columns.keys()) == \
        ["renamed_users_id", "renamed_users_uname"]
    row = session.execute(stmt).one()
    assert row._mapping.keys() == ["id", "uname"]
    assert row.uname == "ed"
    qrow = session.query(Renamed.id, Renamed.uname).one()
    assert qrow._mapping.keys() == ["id", "uname"]
    assert (qrow.id, qrow.uname) == (1, "ed")
    assert session.query(Renamed.uname).filter(Renamed.uname == "ed").scalar() == "ed"
    sub = session.query(Renamed.uname).subquery()
    assert list(sub.c.keys()) == ["uname"]
    assert session.scalar(select(func.count()).select_from(sub)) == 1


def test_str_shows_the_eager_join_of_a_configured_joined_relationship(
        Base, engine, make_session, sql_log):
    from sqlalchemy import ForeignKey

    from datamapper import relationship

    class Shop(Base):
        __tablename__ = "qc_shops"
        id = Column(Integer, primary_key=True)
        goods = relationship("Good", lazy="joined", order_by="Good.id")

    class Good(Base):
        __tablename__ = "qc_goods"
        id = Column(Integer, primary_key=True)
        shop_id = Column(ForeignKey("qc_shops.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    q = s.query(Shop)
    shown = " ".join(str(q).split())
    assert "LEFT OUTER JOIN qc_goods AS qc_goods_1 ON qc_shops.id = qc_goods_1.shop_id" \
        in shown
    assert q.all() == []
    assert " ".join(sql_log[-1].split()).startswith(shown.split(" ORDER BY")[0])
