"""A class mapped to a select() of several tables (users joined to their addresses)
with a relationship whose primaryjoin names the select's columns: the join links the
select's rows (its columns stand for the tables' own, so the foreign key
orders.user_id -> users.id applies).  Configuring it failed ("no foreign key links
'addresses' and 'orders'"): one of the select's tables was taken for the class's.
What the database sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select

from datamapper import Session, joinedload, registry, relationship, selectinload


@pytest.fixture
def M(engine):
    reg = registry()
    md = reg.metadata
    users = Table("ms_users", md, Column("id", Integer, primary_key=True),
                  Column("name", String(20)))
    addresses = Table("ms_addresses", md, Column("id", Integer, primary_key=True),
                      Column("user_id", ForeignKey("ms_users.id")), Column("email", String(20)))
    orders = Table("ms_orders", md, Column("id", Integer, primary_key=True),
                   Column("user_id", ForeignKey("ms_users.id")))

    class User:
        pass

    class Order:
        pass

    sel = select(users, addresses.c.email).where(users.c.id == addresses.c.user_id) \
        .alias("ms_ua")
    reg.map_imperatively(User, sel, properties={
        "orders": relationship(Order, primaryjoin=sel.c.id == orders.c.user_id,
                               order_by=orders.c.id, viewonly=True)})
    reg.map_imperatively(Order, orders)
    md.create_all(engine)
    with engine.begin() as c:
        c.execute(users.insert(), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        c.execute(addresses.insert(), [{"id": 1, "user_id": 1, "email": "x"},
                                       {"id": 2, "user_id": 2, "email": "y"}])
        c.execute(orders.insert(), [{"id": 1, "user_id": 1}, {"id": 2, "user_id": 1},
                                    {"id": 3, "user_id": 2}])
    yield User, Order
    md.drop_all(engine)
    reg.dispose()


@pytest.mark.parametrize("option", [None, joinedload, selectinload])
def test_relationship_of_class_mapped_to_select_loads(M, engine, option):
    User, _order = M
    with Session(engine) as s:
        q = s.query(User).order_by(User.id)
        if option is not None:
            q = q.options(option(User.orders))
        users = q.all()
        assert [(u.email, [o.id for o in u.orders]) for u in users] == [("x", [1, 2]),
                                                                        ("y", [3])]
