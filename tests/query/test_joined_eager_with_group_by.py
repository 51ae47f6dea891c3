"""A query with GROUP BY and a joined eager load becomes a subquery the eager joins hang
off, for a many-to-one too: the related columns outside the GROUP BY were an error on
PostgreSQL and MySQL (only_full_group_by).  What the database sees and the rows read."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, func

from datamapper import joinedload, relationship, select


@pytest.fixture
def M(Base, engine, make_session):
    order_items = Table(
        "order_items", Base.metadata,
        Column("order_id", ForeignKey("orders.id"), primary_key=True),
        Column("item_id", ForeignKey("items.id"), primary_key=True),
    )

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        user = relationship(User)
        items = relationship("Item", secondary=order_items, order_by="Item.id")

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    s = make_session()
    i1, i2, i3 = Item(id=1), Item(id=2), Item(id=3)
    jack, ed = User(id=1, name="jack"), User(id=2, name="ed")
    s.add_all([Order(id=1, user=jack, items=[i1, i2, i3]), Order(id=2, user=ed, items=[i2]),
               Order(id=3, user=jack, items=[i1, i3]), Order(id=4, user=None, items=[i1])])
    s.commit()
    s.close()

    class Models:
        pass

    m = Models()
    m.User, m.Order, m.Item = User, Order, Item
    return m


def _check(rows):
    assert [(o.id, o.__dict__["user"].name if o.__dict__["user"] else None, n)
            for o, n in rows] == [(1, "jack", 3), (2, "ed", 1), (3, "jack", 2), (4, None, 1)]


def test_group_by_with_joined_many_to_one_select(M, session, sql_log):
    Order, Item = M.Order, M.Item
    stmt = select(Order, func.count(Item.id)).join(Order.items).group_by(Order.id) \
        .options(joinedload(Order.user)).order_by(Order.id)
    rows = session.execute(stmt).all()
    assert sql_log.count == 1
    sql = sql_log.statements[0]
    # the GROUP BY is inside the subquery, the eager join outside it
    assert sql.index("GROUP BY") < sql.index("LEFT OUTER JOIN users")
    _check(rows)


def test_group_by_with_joined_many_to_one_query(M, session, sql_log):
    Order, Item = M.Order, M.Item
    rows = session.query(Order, func.count(Item.id)).join(Order.items) \
        .group_by(Order.id).options(joinedload(Order.user)).order_by(Order.id).all()
    assert sql_log.count == 1
    sql = sql_log.statements[0]
    assert sql.index("GROUP BY") < sql.index("LEFT OUTER JOIN users")
    _check(rows)


def test_group_by_with_configured_joined_many_to_one(M, session, sql_log):
    Order, Item = M.Order, M.Item
    rows = session.query(Order, func.count(Item.id)).join(Order.items) \
        .group_by(Order.id).options(joinedload(Order.user), joinedload(Order.items)) \
        .order_by(Order.id).all()
    assert sql_log.count == 1
    _check(rows)
    sql_log.clear()
    assert [[i.id for i in o.items] for o, _n in rows] == [[1, 2, 3], [2], [1, 3], [1]]
    assert sql_log.count == 0


def test_without_group_by_many_to_one_is_joined_directly(M, session, sql_log):
    Order = M.Order
    orders = session.query(Order).options(joinedload(Order.user)).order_by(Order.id).all()
    assert sql_log.count == 1
    assert "anon" not in sql_log.statements[0]  # no subquery without GROUP BY or LIMIT
    assert [o.user.name if o.user else None for o in orders] == ["jack", "ed", "jack", None]
