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


@pytest.mark.parametrize("loader", [joinedload, selectinload])
def test_options_of_a_class_and_of_an_alias_of_it_selected_together(M, make_session, sql_log,
                                                                     loader):
    # query(User, Order, ua, oa): the options naming ua/oa load the aliases' objects
    # (they went to the plain User/Order entities, and ua/oa loaded lazily, one
    # SELECT per object)
    User, _a, Order, _i = M
    s = make_session()
    s.add_all([User(id=2, name="jack", addresses=[]), Order(id=3, user_id=2, items=[])])
    s.commit()
    s.close()
    s = make_session()
    ua, oa = aliased(User), aliased(Order)
    q = (s.query(User, Order, ua, oa).filter(User.id == Order.user_id)
         .filter(ua.id == oa.user_id).filter(User.id == 1).filter(ua.id == 2)
         .filter(Order.id < oa.id)
         .options(loader(User.addresses), loader(Order.items))
         .options(loader(ua.addresses), loader(oa.items)).order_by(Order.id))
    sql_log.clear()
    rows = q.all()
    expected = len(sql_log.matching("SELECT"))
    assert expected == (1 if loader is joinedload else 5)
    assert [(u.id, [a.id for a in u.addresses], o.id, [i.id for i in o.items],
             u2.id, [a.id for a in u2.addresses], o2.id, [i.id for i in o2.items])
            for u, o, u2, o2 in rows] == [(1, [1], 1, [1, 2], 2, [], 3, []),
                                          (1, [1], 2, [3], 2, [], 3, [])]
    assert len(sql_log.matching("SELECT")) == expected  # nothing loaded lazily


def test_an_option_of_the_class_goes_to_the_class_not_to_its_alias(M, make_session, sql_log):
    # query(ua, User).options(joinedload(User.addresses)): the option is User's
    User, _a, _o, _i = M
    s = make_session()
    s.add(User(id=2, name="jack"))
    s.commit()
    s.close()
    s = make_session()
    ua = aliased(User)
    q = (s.query(ua, User).filter(ua.id == 2).filter(User.id == 1).filter(ua.id > User.id)
         .options(joinedload(User.addresses)))
    sql_log.clear()
    [(u2, u1)] = q.all()
    assert len(sql_log.matching("SELECT")) == 1
    assert "addresses" in u1.__dict__ and [a.id for a in u1.addresses] == [1]
    assert "addresses" not in u2.__dict__
    assert u2.addresses == []
    assert len(sql_log.matching("SELECT")) == 2
