"""A synonym stands for its attribute in queries: joins along a synonym of a
relationship, loader options through one (or a synonym of a synonym), and a
synonym of a column on an aliased() entity."""

import pytest
import sqlalchemy as sa

from datamapper import aliased, joinedload, relationship, select, selectinload, synonym


@pytest.fixture
def model(Base, engine, make_session):
    order_items = sa.Table(
        "order_items", Base.metadata,
        sa.Column("order_id", sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("item_id", sa.ForeignKey("items.id"), primary_key=True))

    class User(Base):
        __tablename__ = "users"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(30))
        name_syn = synonym("name")
        orders = relationship("Order", backref="user", order_by="Order.id")
        orders_syn = synonym("orders")
        orders_syn_2 = synonym("orders_syn")

    class Order(Base):
        __tablename__ = "orders"
        id = sa.Column(sa.Integer, primary_key=True)
        user_id = sa.Column(sa.ForeignKey("users.id"))
        items = relationship("Item", secondary=order_items, order_by="Item.id")
        items_syn = synonym("items")

    class Item(Base):
        __tablename__ = "items"
        id = sa.Column(sa.Integer, primary_key=True)

    Base.metadata.create_all(engine)
    s = make_session()
    i1, i2 = Item(id=1), Item(id=2)
    s.add_all([User(id=7, name="jack", orders=[Order(id=1, items=[i1]), Order(id=2)]),
               User(id=9, name="fred", orders=[Order(id=3, items=[i1, i2])])])
    s.commit()
    s.close()
    return s, User, Order, Item


@pytest.mark.parametrize("path", ["orders/items", "orders_syn/items", "orders_syn_2/items",
                                  "orders/items_syn", "orders_syn_2/items_syn"])
def test_join_along_synonym_of_relationship(model, sql_log, path):
    s, User, Order, Item = model
    first, second = path.split("/")
    sql_log.clear()
    q = s.query(User.id).join(getattr(User, first)).join(getattr(Order, second))
    assert q.filter(Item.id == 2).all() == [(9,)]
    stmt = select(User.id).join(getattr(User, first)).join(getattr(Order, second))
    assert s.execute(stmt.where(Item.id == 2)).all() == [(9,)]
    (first_select, _) = sql_log.matching("SELECT")
    assert first_select.count("JOIN") == 3  # orders, order_items, items: no cartesian product


@pytest.mark.parametrize("attr", ["orders_syn", "orders_syn_2"])
@pytest.mark.parametrize("loader", [joinedload, selectinload])
def test_loader_option_through_synonym_of_relationship(model, sql_log, attr, loader):
    s, User, Order, Item = model
    sql_log.clear()
    users = s.query(User).options(loader(getattr(User, attr)).joinedload(Order.items_syn)) \
        .order_by(User.id).all()
    n = len(sql_log.matching("SELECT"))
    assert n == (1 if loader is joinedload else 2)
    assert [[o.id for o in u.orders] for u in users] == [[1, 2], [3]]
    assert [[i.id for i in o.items] for o in users[1].orders] == [[1, 2]]
    assert len(sql_log.matching("SELECT")) == n  # nothing loaded lazily


def test_synonym_of_column_on_aliased_entity(model):
    s, User, Order, Item = model
    ua = aliased(User)
    q = s.query(ua.name_syn).join(Order, ua.id == Order.user_id).filter(Order.id == 3)
    sql = str(q.statement.compile())
    assert "users_1.name" in sql and "JOIN orders" in sql
    assert q.all() == [("fred",)]
    assert [u.id for u in s.query(ua).join(ua.orders_syn).filter(Order.id == 2)] == [7]
