"""``selectinload(User.addresses.and_(criteria))`` and the other loader options given a
relationship with extra criteria: only the related rows that meet them are loaded into
that relationship, by every strategy (joined: in the ON clause; selectin, subquery,
lazy, immediate: in the WHERE clause), and each execution uses its own values (a
statement executed again with other values must not load with the first ones)."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import (
    immediateload,
    joinedload,
    lazyload,
    relationship,
    select,
    selectinload,
    subqueryload,
)

STRATEGIES = [selectinload, joinedload, lazyload, subqueryload, immediateload]


@pytest.fixture
def world(Base, engine, make_session):
    order_items = Table(
        "roc_order_items", Base.metadata,
        Column("order_id", Integer, ForeignKey("roc_orders.id"), primary_key=True),
        Column("item_id", Integer, ForeignKey("roc_items.id"), primary_key=True),
    )

    class Customer(Base):
        __tablename__ = "roc_customers"
        id = Column(Integer, primary_key=True)
        orders = relationship("Order", back_populates="customer", order_by="Order.id")

    class Order(Base):
        __tablename__ = "roc_orders"
        id = Column(Integer, primary_key=True)
        status = Column(String(10))
        customer_id = Column(Integer, ForeignKey("roc_customers.id"))
        customer = relationship(Customer, back_populates="orders")
        items = relationship("Item", secondary=order_items, order_by="Item.id")

    class Item(Base):
        __tablename__ = "roc_items"
        id = Column(Integer, primary_key=True)
        color = Column(String(10))

    Base.metadata.create_all(engine)
    s = make_session()
    red, blue, green = Item(id=1, color="red"), Item(id=2, color="blue"), Item(id=3, color="green")
    s.add_all([
        Customer(id=1, orders=[Order(id=1, status="open", items=[red, blue]),
                               Order(id=2, status="shipped", items=[green]),
                               Order(id=3, status="open")]),
        Customer(id=2, orders=[Order(id=4, status="shipped", items=[red, green])]),
    ])
    s.commit()
    s.close()
    return Customer, Order, Item


@pytest.mark.parametrize("opt", STRATEGIES, ids=lambda o: o.__name__)
def test_collection_loads_only_rows_meeting_the_criteria_with_each_executions_values(
        world, make_session, opt):
    Customer, Order, _Item = world
    seen = []
    for status in ("open", "shipped", "open"):
        s = make_session()
        stmt = select(Customer).order_by(Customer.id).options(
            opt(Customer.orders.and_(Order.status == status)))
        customers = s.scalars(stmt).unique().all()
        seen.append([[o.id for o in c.orders] for c in customers])
        s.close()
    assert seen == [[[1, 3], []], [[2], [4]], [[1, 3], []]]


@pytest.mark.parametrize("opt", [selectinload, joinedload, lazyload],
                         ids=lambda o: o.__name__)
def test_many_to_many_and_nested_options_apply_their_own_criteria(world, make_session, opt):
    Customer, Order, Item = world
    s = make_session()
    stmt = select(Customer).where(Customer.id == 1).options(
        opt(Customer.orders.and_(Order.id < 3)).options(
            opt(Order.items.and_(Item.color != "red"))))
    c = s.scalars(stmt).unique().one()
    assert {o.id: [i.color for i in o.items] for o in c.orders} == {1: ["blue"], 2: ["green"]}
    # the criteria belong to that load only: another path to the same rows is unfiltered
    assert [i.color for i in s.get(Order, 4).items] == ["red", "green"]


def test_many_to_one_with_criteria_and_the_query_api(world, make_session):
    Customer, Order, _Item = world
    s = make_session()
    orders = (s.query(Order).order_by(Order.id)
              .options(selectinload(Order.customer.and_(Customer.id == 2))).all())
    assert [o.customer.id if o.customer else None for o in orders] == [None, None, None, 2]


@pytest.mark.parametrize("opt", STRATEGIES, ids=lambda o: o.__name__)
def test_criteria_naming_the_of_type_alias(world, make_session, opt):
    # Customer.orders.of_type(oa).and_(oa.status == ...): the criteria name the alias
    # the option gives (selectin/subquery loads selected every order of a customer,
    # the alias joined in as a second FROM; a joined load failed on the alias's name)
    from datamapper import aliased

    Customer, Order, Item = world
    for status, expected, items in (
            ("open", [[1, 3], []], {1: ["blue"], 3: []}),
            ("shipped", [[2], [4]], {2: ["green"], 4: ["green"]})):
        s = make_session()
        oa, ia = aliased(Order), aliased(Item)
        stmt = select(Customer).order_by(Customer.id).options(
            opt(Customer.orders.of_type(oa).and_(oa.status == status)).options(
                opt(Order.items.of_type(ia).and_(ia.color != "red"))))
        customers = s.scalars(stmt).unique().all()
        assert [[o.id for o in c.orders] for c in customers] == expected
        assert {o.id: [i.color for i in o.items] for c in customers for o in c.orders} == items
        s.close()


@pytest.fixture
def polymorphic(Base, engine, make_session):
    class Shelf(Base):
        __tablename__ = "roc_shelves"
        id = Column(Integer, primary_key=True)
        things = relationship("Thing", order_by="Thing.id")

    class Thing(Base):
        __tablename__ = "roc_things"
        id = Column(Integer, primary_key=True)
        shelf_id = Column(ForeignKey("roc_shelves.id"))
        kind = Column(String(10))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "thing"}

    class Book(Thing):
        __tablename__ = "roc_books"
        id = Column(ForeignKey("roc_things.id"), primary_key=True)
        title = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "book"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Shelf(id=1, things=[Book(id=1, title="one"), Thing(id=2),
                                   Book(id=3, title="three")]),
               Shelf(id=2, things=[Book(id=4, title="three"), Thing(id=5)])])
    s.commit()
    s.close()
    return Shelf, Thing, Book


@pytest.mark.parametrize("opt", STRATEGIES, ids=lambda o: o.__name__)
@pytest.mark.parametrize("target", ["aliased", "flat", "class"])
def test_criteria_naming_a_subclass_of_type_target(polymorphic, make_session, opt, target):
    # Shelf.things.of_type(aliased(Book)).and_(alias.title == ...): the criteria name the
    # subclass's table.  A lazy (or immediate) load read it as a second FROM beside
    # roc_things, a cartesian product matching every thing of the shelf; with a
    # (non-flat) alias, a subquery of the subclass's join, selectin and subquery loads
    # did the same and a joined load failed on the subquery's name
    from datamapper import aliased

    Shelf, Thing, Book = polymorphic
    for title, expected in (("three", [[3], [4]]), ("one", [[1], []]), ("none", [[], []])):
        s = make_session()
        ent = {"aliased": aliased(Book), "flat": aliased(Book, flat=True),
               "class": Book}[target]
        stmt = select(Shelf).order_by(Shelf.id).options(
            opt(Shelf.things.of_type(ent).and_(ent.title == title)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            shelves = s.scalars(stmt).unique().all()
            assert [[t.id for t in sh.things] for sh in shelves] == expected
        assert not [w for w in caught if "cartesian product" in str(w.message)]
        s.close()
