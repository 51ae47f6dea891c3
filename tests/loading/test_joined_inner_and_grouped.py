"""Joined eager loads with ``innerjoin=`` (on the relationship or the option), and
under GROUP BY / LIMIT with ORDER BY on a joined table: the query returns the parents
it should, each with all of its related rows."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import joinedload, relationship, select


@pytest.fixture
def world(Base, engine, make_session):
    order_items = Table("order_items", Base.metadata,
                        Column("order_id", ForeignKey("orders.id"), primary_key=True),
                        Column("item_id", ForeignKey("items.id"), primary_key=True))

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        addresses = relationship("Address", order_by="Address.id")
        inner_addresses = relationship("Address", order_by="Address.id",
                                       innerjoin=True, viewonly=True)
        orders = relationship("Order", order_by="Order.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        email = Column(String(20))
        user = relationship(User, viewonly=True)

    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        items = relationship("Item", secondary=order_items, order_by="Item.id")

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    s = make_session()
    i1, i2 = Item(id=1), Item(id=2)
    s.add_all([
        User(id=7, name="jack", addresses=[Address(id=1, email="j")],
             orders=[Order(id=1, items=[i1, i2]), Order(id=2)]),
        User(id=8, name="ed", addresses=[Address(id=2, email="w"), Address(id=3, email="b"),
                                         Address(id=4, email="l")],
             orders=[Order(id=3, items=[i2])]),
        User(id=10, name="chuck"),
    ])
    s.commit()
    s.close()
    return User, Address, Order, Item


def _addr(users, key="addresses"):
    return [(u.id, [a.id for a in getattr(u, key)]) for u in users]


def test_relationship_innerjoin_leaves_out_parents_without_rows(world, session, sql_log):
    User, *_ = world
    got = session.query(User).options(joinedload(User.inner_addresses)) \
        .order_by(User.id).all()
    assert _addr(got, "inner_addresses") == [(7, [1]), (8, [2, 3, 4])]
    assert " JOIN addresses" in sql_log.statements[-1]
    assert "OUTER" not in sql_log.statements[-1]


@pytest.mark.parametrize("style", ["query", "select"])
def test_joinedload_innerjoin_option(world, session, sql_log, style):
    User, Address, *_ = world
    opt = joinedload(User.addresses, innerjoin=True)
    if style == "query":
        got = session.query(User).options(opt).order_by(User.id).all()
    else:
        got = session.scalars(select(User).options(opt).order_by(User.id)).unique().all()
    assert _addr(got) == [(7, [1]), (8, [2, 3, 4])]
    assert "OUTER" not in sql_log.statements[-1]
    # many-to-one: an address always has its user here
    session.expunge_all()
    got = session.query(Address).options(joinedload(Address.user, innerjoin=True)).all()
    assert sorted((a.id, a.user.id) for a in got) == [(1, 7), (2, 8), (3, 8), (4, 8)]


def test_innerjoin_below_an_outer_join_stays_outer(world, session, sql_log):
    """joinedload(User.orders).joinedload(Order.items, innerjoin=True): an inner join of
    items below the outer join of orders would drop the users without orders."""
    User, Address, Order, Item = world
    got = session.query(User).options(
        joinedload(User.orders).joinedload(Order.items, innerjoin=True)
    ).order_by(User.id).all()
    assert [(u.id, [(o.id, [i.id for i in o.items]) for o in u.orders]) for u in got] == [
        (7, [(1, [1, 2]), (2, [])]), (8, [(3, [2])]), (10, [])]


def test_inner_chain_joins_inner_all_the_way(world, session, sql_log):
    User, Address, Order, Item = world
    got = session.query(User).options(
        joinedload(User.orders, innerjoin=True).joinedload(Order.items, innerjoin=True)
    ).order_by(User.id).all()
    assert [(u.id, [(o.id, [i.id for i in o.items]) for o in u.orders]) for u in got] == [
        (7, [(1, [1, 2])]), (8, [(3, [2])])]
    assert "OUTER" not in sql_log.statements[-1]


def test_group_by_with_a_joined_collection_keeps_every_related_row(world, session):
    User, *_ = world
    got = session.query(User).options(joinedload(User.addresses)).group_by(User) \
        .order_by(User.id).all()
    assert _addr(got) == [(7, [1]), (8, [2, 3, 4]), (10, [])]
    session.expunge_all()
    got = session.scalars(select(User).options(joinedload(User.addresses))
                          .group_by(User.id, User.name).order_by(User.id)).unique().all()
    assert _addr(got) == [(7, [1]), (8, [2, 3, 4]), (10, [])]


def test_limit_ordered_by_a_joined_tables_column_with_a_joined_collection(world, session):
    User, Address, Order, Item = world
    got = session.query(User).options(joinedload(User.addresses)).join(User.orders) \
        .order_by(Order.user_id.desc(), Order.id).limit(2).offset(1).all()
    # rows (user, order) ordered: (8, 3), (7, 1), (7, 2); offset 1 limit 2 -> 7, 7
    assert [u.id for u in got] == [7]
    assert _addr(got) == [(7, [1])]
    got = session.query(User).options(joinedload(User.addresses)).join(User.addresses) \
        .order_by(Address.email.desc()).limit(1).all()
    assert _addr(got) == [(8, [2, 3, 4])]
