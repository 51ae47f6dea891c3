"""query_expression() attributes and the with_expression() option: each query chooses
the SQL that loads the attribute; without it the attribute holds its default
expression's value, or None without any SQL.  Checked by the SQL sent and the values
read back on every backend."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, exists, literal, null, select
from sqlalchemy.exc import ArgumentError

from datamapper import (
    aliased,
    defer,
    joinedload,
    lazyload,
    load_only,
    query_expression,
    relationship,
    selectinload,
    with_expression,
)


@pytest.fixture
def M(Base, engine, make_session):
    class Box(Base):
        __tablename__ = "qe_box"
        id = Column(Integer, primary_key=True)
        x = Column(Integer)
        y = Column(Integer)
        total = query_expression()
        items = relationship("Item", order_by="Item.id")

    class Item(Base):
        __tablename__ = "qe_item"
        id = Column(Integer, primary_key=True)
        box_id = Column(ForeignKey("qe_box.id"))
        p = Column(Integer)
        scaled = query_expression()

    class Tag(Base):
        __tablename__ = "qe_tag"
        id = Column(Integer, primary_key=True)
        x = Column(Integer)
        weight = query_expression(literal(7))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        Box(id=1, x=1, y=2, items=[Item(id=1, p=1), Item(id=2, p=4)]),
        Box(id=2, x=2, y=3),
        Box(id=3, x=5, y=10, items=[Item(id=3, p=5)]),
        Tag(id=1, x=1), Tag(id=2, x=2),
    ])
    s.commit()
    s.close()
    return Box, Item, Tag


def test_with_expression_loads_the_attribute_from_the_given_sql(M, session, sql_log):
    Box, _Item, _Tag = M
    boxes = session.query(Box).options(with_expression(Box.total, Box.x + Box.y)) \
        .filter(Box.x > 1).order_by(Box.id).all()
    assert [b.total for b in boxes] == [5, 15]
    (sel,) = sql_log.matching("SELECT")
    assert "qe_box.x + qe_box.y" in sel


def test_2x_select_with_expression(M, session):
    Box, _Item, _Tag = M
    stmt = select(Box).options(with_expression(Box.total, Box.x * 10)).order_by(Box.id)
    assert [b.total for b in session.scalars(stmt)] == [10, 20, 50]


def test_without_option_no_default_reads_none_without_sql(M, session, sql_log):
    Box, _Item, _Tag = M
    box = session.query(Box).order_by(Box.id).first()
    sel = sql_log.matching("SELECT")[0]
    assert "total" not in sel and "NULL" not in sel.upper()
    sql_log.clear()
    assert box.total is None
    assert sql_log.count == 0
    assert "total" not in box.__dict__


def test_default_expression_is_selected_with_every_load(M, session):
    _Box, _Item, Tag = M
    assert [t.weight for t in session.query(Tag).order_by(Tag.id)] == [7, 7]
    session.expunge_all()
    tags = session.query(Tag).options(with_expression(Tag.weight, Tag.x * 2)).order_by(Tag.id)
    assert [t.weight for t in tags] == [2, 4]


def test_loaded_value_is_kept_unless_populate_existing(M, session):
    Box, _Item, _Tag = M
    b = session.query(Box).options(with_expression(Box.total, null())).filter_by(id=1).one()
    assert b.total is None
    b = session.query(Box).options(with_expression(Box.total, Box.x + Box.y)) \
        .filter_by(id=1).one()
    assert b.total is None  # already loaded: not replaced
    b = session.query(Box).populate_existing() \
        .options(with_expression(Box.total, Box.x + Box.y)).filter_by(id=1).one()
    assert b.total == 3
    assert session.query(Box).filter_by(id=1).one().total == 3


def test_expired_attribute_reads_none_then_loads_again(M, session, sql_log):
    Box, _Item, _Tag = M
    q = session.query(Box).options(with_expression(Box.total, Box.x + Box.y)).filter_by(id=2)
    b = q.one()
    assert b.total == 5
    session.expire(b, ["total"])
    sql_log.clear()
    assert b.total is None
    assert sql_log.count == 0
    q.one()
    assert b.total == 5
    session.expire(b)
    assert b.total is None
    assert b.x == 2
    session.refresh(b)
    assert b.total is None


def test_with_expression_below_joinedload(M, session, sql_log):
    Box, Item, _Tag = M
    boxes = session.query(Box).options(
        joinedload(Box.items).with_expression(Item.scaled, Item.p * Box.x)) \
        .filter(Box.id.in_([1, 3])).order_by(Box.id).all()
    assert [[i.scaled for i in b.items] for b in boxes] == [[1, 4], [25]]
    assert len(sql_log.matching("SELECT")) == 1


@pytest.mark.parametrize("loader", [selectinload, lazyload, joinedload])
def test_with_expression_in_relationship_loader_options(M, session, loader):
    Box, Item, Tag = M
    expr = exists(select(Tag.id).where(Tag.x == Item.p))
    stmt = select(Box).where(Box.id == 1).options(
        loader(Box.items).options(with_expression(Item.scaled, expr)))
    box = session.scalars(stmt).unique().one()
    assert [i.scaled for i in box.items] == [True, False]


def test_with_expression_on_aliased_subquery(M, session):
    Box, _Item, _Tag = M
    subq = select(Box, literal(12).label("twelve")).where(Box.id < 3).subquery()
    b1 = aliased(Box, subq)
    objs = session.scalars(select(b1).options(with_expression(b1.total, subq.c.twelve))
                           .order_by(b1.id)).all()
    assert [(o.id, o.total) for o in objs] == [(1, 12), (2, 12)]


def test_other_column_options_keep_the_expression(M, session):
    Box, _Item, _Tag = M
    b = session.query(Box).options(with_expression(Box.total, Box.x + Box.y),
                                   load_only(Box.x), defer(Box.x)).filter_by(id=3).one()
    assert b.total == 15
    assert "y" not in b.__dict__


def test_with_expression_on_a_plain_column_is_refused(M, session):
    Box, _Item, _Tag = M
    with pytest.raises(ArgumentError, match=r"Box\.x is not a query_expression\(\)"):
        session.query(Box).options(with_expression(Box.x, Box.y)).all()


def test_with_expression_needs_a_sql_expression(M):
    Box, _Item, _Tag = M
    with pytest.raises(ArgumentError, match="not a SQL expression"):
        with_expression(Box.total, 5)
