"""Loader options for the second entity of a query, named through an ``aliased()``
entity (``query(User, oa).options(joinedload(oa.items))``) or an ``of_type()``
path: they apply to that entity (they were applied to the first one and refused:
"the path is at User")."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, joinedload, relationship, selectinload


@pytest.fixture
def M(Base, engine, make_session):
    class User(Base):
        __tablename__ = "se_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        addresses = relationship("Address", order_by="Address.id")

    class Address(Base):
        __tablename__ = "se_addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("se_users.id"))

    class Order(Base):
        __tablename__ = "se_orders"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("se_users.id"))
        items = relationship("Item", order_by="Item.id")

    class Item(Base):
        __tablename__ = "se_items"
        id = Column(Integer, primary_key=True)
        order_id = Column(ForeignKey("se_orders.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="ed", addresses=[Address(id=1)]),
               Order(id=1, user_id=1, items=[Item(id=1), Item(id=2)]),
               Order(id=2, user_id=1, items=[Item(id=3)])])
    s.commit()
    s.close()
    return User, Address, Order, Item


@pytest.mark.parametrize("loader", [joinedload, selectinload])
def test_option_through_an_aliased_second_entity(M, make_session, sql_log, loader):
    User, _a, Order, _i = M
    s = make_session()
    oa = aliased(Order)
    q = (s.query(User, oa).filter(User.id == oa.user_id)
         .options(loader(User.addresses), loader(oa.items)).order_by(oa.id))
    sql_log.clear()
    rows = q.all()
    expected = 1 if loader is joinedload else 3
    assert len(sql_log.matching("SELECT")) == expected
    assert [([a.id for a in u.addresses], [i.id for i in o.items]) for u, o in rows] == [
        ([1], [1, 2]), ([1], [3])]
    assert len(sql_log.matching("SELECT")) == expected  # nothing loaded lazily
