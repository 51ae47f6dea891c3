"""A LIMITed query with a joined eager collection becomes a subquery the eager joins
hang off; the columns contains_eager() reads from the query's own joins are selected
inside that subquery (and the joins below them start from it), so each object gets
only its own related rows (they were read from the bare table outside the subquery:
a cartesian product, every user given every order)."""

import pytest
import sqlalchemy as sa

from datamapper import aliased, contains_eager, joinedload, relationship


@pytest.fixture
def shop(Base, engine, session):
    order_items = sa.Table(
        "order_items", Base.metadata,
        sa.Column("order_id", sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("item_id", sa.ForeignKey("items.id"), primary_key=True))

    class User(Base):
        __tablename__ = "users"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(30))
        addresses = relationship("Address", order_by="Address.id")
        orders = relationship("Order", order_by="Order.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = sa.Column(sa.Integer, primary_key=True)
        user_id = sa.Column(sa.ForeignKey("users.id"))

    class Order(Base):
        __tablename__ = "orders"
        id = sa.Column(sa.Integer, primary_key=True)
        user_id = sa.Column(sa.ForeignKey("users.id"))
        items = relationship("Item", secondary=order_items, order_by="Item.id")

    class Item(Base):
        __tablename__ = "items"
        id = sa.Column(sa.Integer, primary_key=True)

    Base.metadata.create_all(engine)
    i1, i2, i3 = Item(id=1), Item(id=2), Item(id=3)
    session.add_all([
        User(id=7, name="jack", addresses=[Address(id=1)],
             orders=[Order(id=1, items=[i1, i2]), Order(id=3, items=[i3]), Order(id=5)]),
        User(id=8, name="ed", addresses=[Address(id=2), Address(id=3)],
             orders=[Order(id=2, items=[i1])]),
        User(id=9, name="fred"),
    ])
    session.commit()
    session.close()
    return User, Address, Order, Item


def test_contains_eager_columns_come_from_the_limited_subquery(shop, session, sql_log):
    User, _Address, Order, _Item = shop
    sql_log.clear()
    users = (session.query(User).outerjoin(User.orders)
             .options(joinedload(User.addresses), contains_eager(User.orders))
             .order_by(User.id, Order.id).offset(1).limit(2).all())
    assert [(u.id, [a.id for a in u.addresses], [o.id for o in u.orders])
            for u in users] == [(7, [1], [3, 5])]
    assert len(sql_log.statements) == 1
    stmt = sql_log.statements[0]
    # the orders columns are read through the subquery, orders is not a FROM of its own
    assert "anon_1.orders_id" in stmt
    assert ", orders " not in stmt and not stmt.rstrip().endswith(", orders")


def test_joinedload_below_contains_eager_joins_from_the_subquery(shop, session, sql_log):
    User, _Address, Order, _Item = shop
    sql_log.clear()
    users = (session.query(User).outerjoin(User.orders)
             .options(joinedload(User.addresses),
                      contains_eager(User.orders).joinedload(Order.items))
             .order_by(User.id, Order.id).offset(1).limit(3).all())
    assert [(u.id, [a.id for a in u.addresses],
             [(o.id, [i.id for i in o.items]) for o in u.orders]) for u in users] == [
        (7, [1], [(3, [3]), (5, [])]), (8, [2, 3], [(2, [1])])]
    assert len(sql_log.statements) == 1
    assert "ON anon_1.orders_id = order_items_1.order_id" in sql_log.statements[0]


def test_aliased_contains_eager_chain_in_a_limited_query(shop, session, sql_log):
    User, _Address, Order, Item = shop
    oa, ia = aliased(Order), aliased(Item)
    sql_log.clear()
    users = (session.query(User).outerjoin(User.orders.of_type(oa))
             .outerjoin(oa.items.of_type(ia))
             .options(joinedload(User.addresses),
                      contains_eager(User.orders.of_type(oa)).contains_eager(
                          oa.items.of_type(ia)))
             .order_by(User.id, oa.id, ia.id).limit(3).all())
    assert [(u.id, [(o.id, [i.id for i in o.items]) for o in u.orders]) for u in users] \
        == [(7, [(1, [1, 2]), (3, [3])])]
    assert len(sql_log.statements) == 1


@pytest.mark.parametrize("order", ["alias_first", "alias_last"])
def test_a_path_step_without_alias_keeps_the_alias_another_option_gave(
        shop, session, sql_log, order):
    """contains_eager(User.orders, alias=oa) with contains_eager(User.orders, Order.items,
    alias=ia): the second option's User.orders step (no alias=) keeps oa; it reset it,
    and the orders columns were read from the bare table (a cartesian product)."""
    User, _Address, Order, Item = shop
    oa, ia = aliased(Order), aliased(Item)
    opts = [contains_eager(User.orders, alias=oa),
            contains_eager(User.orders, Order.items, alias=ia)]
    if order == "alias_last":
        opts.reverse()
    sql_log.clear()
    users = (session.query(User).options(*opts).outerjoin(oa, User.orders)
             .outerjoin(ia, oa.items).order_by(User.id, oa.id, ia.id).all())
    assert [(u.id, [(o.id, [i.id for i in o.items]) for o in u.orders]) for u in users] == [
        (7, [(1, [1, 2]), (3, [3]), (5, [])]), (8, [(2, [1])]), (9, [])]
    assert len(sql_log.statements) == 1
    assert "orders.id" not in sql_log.statements[0]
