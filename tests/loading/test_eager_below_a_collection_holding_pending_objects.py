"""A query whose selectinload()/subqueryload() below an already loaded collection reaches a
pending object the collection holds leaves that object's relationship alone (it was given
an empty collection as if loaded from the database), while the persistent members load
theirs.  What the database sees and the rows flushed."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, select

from datamapper import relationship, selectinload, subqueryload


@pytest.fixture
def M(Base, engine, make_session):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        orders = relationship("Order", order_by="Order.id")

    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        items = relationship("Item", order_by="Item.id")

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        order_id = Column(Integer, ForeignKey("orders.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(User(id=1, orders=[Order(id=1, items=[Item(id=1), Item(id=2)])]))
    s.commit()
    s.close()

    class Models:
        pass

    m = Models()
    m.User, m.Order, m.Item = User, Order, Item
    return m


@pytest.mark.parametrize("opt", [selectinload, subqueryload])
def test_pending_member_keeps_its_unloaded_relationship(M, make_session, sql_log, opt):
    User, Order = M.User, M.Order
    session = make_session(autoflush=False)
    u = session.get(User, 1)
    pending = Order(id=2)
    u.orders.append(pending)
    sql_log.clear()
    session.query(User).options(opt(User.orders).options(opt(Order.items))) \
        .filter_by(id=1).all()
    assert [i.id for i in u.orders[0].__dict__["items"]] == [1, 2]
    assert "items" not in pending.__dict__
    # the users row and the persistent order's items: nothing for the pending one
    assert sql_log.count == 2


@pytest.mark.parametrize("opt", [selectinload, subqueryload])
def test_pending_member_keeps_its_own_unflushed_items(M, make_session, engine, opt):
    User, Order, Item = M.User, M.Order, M.Item
    session = make_session(autoflush=False)
    u = session.get(User, 1)
    pending = Order(id=2, items=[Item(id=3)])
    u.orders.append(pending)
    session.query(User).options(opt(User.orders).options(opt(Order.items))) \
        .filter_by(id=1).all()
    assert [i.id for i in pending.items] == [3]
    session.commit()
    with engine.connect() as conn:
        rows = conn.execute(select(Item.__table__).order_by(Item.__table__.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, 1), (2, 1), (3, 2)]
