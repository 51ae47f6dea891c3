"""A join target given beside a relationship (``join(Dingaling, User.addresses)``,
``join_from(User, Address, Order.address)``) must be an entity of the relationship's
target, and a join_from() left side one of its parent: they were accepted, and the statement joined ``dingalings ON users.id =
addresses.user_id``, which the database refused (or which joined wrong rows).  It is
refused when the statement is built, naming the relationship and the target; a
subclass, a base class, an aliased() or of_type() target of the relationship's class
are still accepted."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, select

from datamapper import aliased, declarative_base, join, relationship
from datamapper.exc import InvalidRequestError


def _models():
    Base = declarative_base()

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        addresses = relationship("Address", order_by="Address.id")
        orders = relationship("Order", order_by="Order.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        email = Column(String(20))
        kind = Column(String(10))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "a"}

    class WorkAddress(Address):
        __mapper_args__ = {"polymorphic_identity": "w"}

    class Dingaling(Base):
        __tablename__ = "dingalings"
        id = Column(Integer, primary_key=True)
        address_id = Column(ForeignKey("addresses.id"))

    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        address_id = Column(ForeignKey("addresses.id"))
        address = relationship(Address)

    return Base, User, Address, WorkAddress, Dingaling, Order


@pytest.fixture
def models(engine, make_session):
    Base, User, Address, WorkAddress, Dingaling, Order = _models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="u1", addresses=[Address(id=1, email="a"),
                                                  WorkAddress(id=2, email="w")]),
               User(id=2, name="u2")])
    s.commit()
    s.close()
    return User, Address, WorkAddress, Dingaling, Order


@pytest.mark.parametrize("legacy", [False, True], ids=["select", "query"])
@pytest.mark.parametrize("outer", [False, True], ids=["join", "outerjoin"])
def test_join_to_another_class_along_a_relationship_is_refused(models, make_session,
                                                               sql_log, legacy, outer):
    User, Address, WorkAddress, Dingaling, Order = models
    s = make_session()
    sql_log.clear()
    with pytest.raises(InvalidRequestError,
                       match=r"Dingaling along User\.addresses.*leads to Address"):
        if legacy:
            q = s.query(User)
            (q.outerjoin if outer else q.join)(Dingaling, User.addresses).all()
        else:
            stmt = select(User)
            stmt = (stmt.outerjoin if outer else stmt.join)(Dingaling, User.addresses)
            s.scalars(stmt).all()
    assert not sql_log.matching("SELECT")


def test_join_from_to_another_class_along_a_relationship_is_refused(models, make_session,
                                                                    sql_log):
    User, Address, WorkAddress, Dingaling, Order = models
    s = make_session()
    sql_log.clear()
    # (the left side is not the relationship's class)
    with pytest.raises(InvalidRequestError, match=r"from User along Order\.address"):
        s.scalars(select(User).join_from(User, Address, Order.address)).all()
    with pytest.raises(InvalidRequestError, match=r"Dingaling along User\.addresses"):
        join(User, Dingaling, User.addresses)
    with pytest.raises(InvalidRequestError, match=r"aliased\(Order\) along User\.addresses"):
        s.scalars(select(User).join(aliased(Order), User.addresses)).all()
    assert not sql_log.matching("SELECT")


def test_join_from_the_relationship_parent_is_accepted(models, make_session):
    User, Address, WorkAddress, Dingaling, Order = models
    s = make_session()
    stmt = select(User.id, Address.id).join_from(User, Address, User.addresses) \
        .order_by(Address.id)
    assert [tuple(r) for r in s.execute(stmt)] == [(1, 1), (1, 2)]


@pytest.mark.parametrize("legacy", [False, True], ids=["select", "query"])
@pytest.mark.parametrize("how", ["class", "subclass", "aliased", "aliased_sub", "of_type"])
def test_join_to_the_relationship_target_or_its_kin_is_accepted(models, make_session,
                                                                legacy, how):
    User, Address, WorkAddress, Dingaling, Order = models
    s = make_session()
    wa = aliased(WorkAddress)
    a = aliased(Address)
    target, on, ent = {
        "class": (Address, User.addresses, Address),
        "subclass": (WorkAddress, User.addresses, WorkAddress),
        "aliased": (a, User.addresses, a),
        "aliased_sub": (wa, User.addresses, wa),
        "of_type": (User.addresses.of_type(wa), None, wa),
    }[how]
    want = [(1, 2)] if how in ("subclass", "aliased_sub", "of_type") else [(1, 1), (1, 2)]
    if legacy:
        q = s.query(User.id, ent.id).join(target, *([on] if on is not None else [])) \
            .order_by(ent.id)
        assert [tuple(r) for r in q] == want
    else:
        stmt = select(User.id, ent.id).join(target, *([on] if on is not None else [])) \
            .order_by(ent.id)
        assert [tuple(r) for r in s.execute(stmt)] == want


@pytest.mark.parametrize("how", ["alias_left_class_rel", "class_left_alias_rel",
                                 "other_alias_rel"])
def test_join_from_an_alias_along_another_entitys_relationship_is_refused(
        models, make_session, sql_log, how):
    # the relationship's join condition names its own entity's columns (orders, or the
    # alias orders_1), which the left side's FROM does not read: the database refused
    # the statement ("no such column: orders.address_id")
    User, Address, WorkAddress, Dingaling, Order = models
    s = make_session()
    oa, ob = aliased(Order), aliased(Order)
    left, on, match = {
        "alias_left_class_rel": (oa, Order.address,
                                 r"from aliased\(Order\) along Order\.address"),
        "class_left_alias_rel": (Order, oa.address,
                                 r"from Order along aliased\(Order\)\.address"),
        "other_alias_rel": (ob, oa.address,
                            r"from aliased\(Order\) along aliased\(Order\)\.address"),
    }[how]
    sql_log.clear()
    with pytest.raises(InvalidRequestError, match=match):
        s.execute(select(Address.id).join_from(left, Address, on)).all()
    assert not sql_log.matching("SELECT")


def test_join_from_an_alias_along_its_own_relationship_reads_the_alias(models, make_session):
    User, Address, WorkAddress, Dingaling, Order = models
    s = make_session()
    s.add_all([Order(id=1, user_id=1, address_id=2), Order(id=2, user_id=1, address_id=1),
               Order(id=3, user_id=2)])
    s.commit()
    oa = aliased(Order)
    stmt = select(oa.id, Address.email).join_from(oa, Address, oa.address).order_by(oa.id)
    assert [tuple(r) for r in s.execute(stmt)] == [(1, "w"), (2, "a")]
    # join() of an alias along the class's relationship reads it from the alias
    j = join(oa, Address, Order.address)
    stmt = select(oa.id, Address.email).select_from(j).order_by(oa.id)
    assert [tuple(r) for r in s.execute(stmt)] == [(1, "w"), (2, "a")]
