"""A loader option given several attributes (joinedload(User.addresses, Address.dingalings)
or a dotted name "addresses.dingalings") sets the strategy of the last step only: the steps
before it keep their own (configured) strategy, as SQLAlchemy does; contains_eager() reads
every step from the statement's joins.  Counted in statements the database sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import (
    contains_eager,
    joinedload,
    lazyload,
    relationship,
    selectinload,
    subqueryload,
)


@pytest.fixture
def M(Base, engine, make_session):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))
        dingalings = relationship("Dingaling", order_by="Dingaling.id")

    class Dingaling(Base):
        __tablename__ = "dingalings"
        id = Column(Integer, primary_key=True)
        data = Column(String(50))
        address_id = Column(Integer, ForeignKey("addresses.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        User(id=1, name="jack", addresses=[
            Address(id=1, email="j1", dingalings=[Dingaling(id=1, data="d1"),
                                                   Dingaling(id=2, data="d2")]),
            Address(id=2, email="j2"),
        ]),
        User(id=2, name="ed", addresses=[Address(id=3, email="e1",
                                                 dingalings=[Dingaling(id=3, data="d3")])]),
    ])
    s.commit()
    s.close()

    class Models:
        pass

    m = Models()
    m.User, m.Address, m.Dingaling = User, Address, Dingaling
    return m


def _tree(users):
    return {u.name: {a.email: [d.data for d in a.dingalings] for a in u.addresses}
            for u in users}


TREE = {"jack": {"j1": ["d1", "d2"], "j2": []}, "ed": {"e1": ["d3"]}}


@pytest.mark.parametrize("opt", [joinedload, selectinload, subqueryload])
def test_several_attributes_load_only_the_last_step_eagerly(M, session, sql_log, opt):
    User, Address = M.User, M.Address
    users = session.query(User).options(opt(User.addresses, Address.dingalings)) \
        .order_by(User.id).all()
    # the first statement reads the users only: addresses keeps its lazy loading
    assert sql_log.count == 1
    assert "addresses" not in sql_log.statements[0]
    assert all("addresses" not in u.__dict__ for u in users)
    sql_log.clear()
    jack_addresses = users[0].addresses  # the lazy load brings the dingalings with it
    assert sql_log.count == (1 if opt is joinedload else 2)
    assert all("dingalings" in a.__dict__ for a in jack_addresses)
    sql_log.clear()
    assert _tree(users) == TREE
    assert sql_log.count == (1 if opt is joinedload else 2)  # ed's addresses (+ dingalings)


def test_dotted_name_loads_only_the_last_step_eagerly(M, session, sql_log):
    users = session.query(M.User).options(joinedload("addresses.dingalings")) \
        .order_by(M.User.id).all()
    assert sql_log.count == 1
    assert "JOIN" not in sql_log.statements[0]
    sql_log.clear()
    assert _tree(users) == TREE
    assert sql_log.count == 2  # one lazy load of addresses per user, dingalings joined


def test_chained_options_load_every_step_eagerly(M, session, sql_log):
    User, Address = M.User, M.Address
    users = session.query(User).options(
        joinedload(User.addresses).joinedload(Address.dingalings)).order_by(User.id).all()
    assert sql_log.count == 1
    sql_log.clear()
    assert _tree(users) == TREE
    assert sql_log.count == 0


def test_configured_eager_intermediate_step_stays_eager(M, session, sql_log):
    User, Address = M.User, M.Address
    # lazyload(User.addresses, Address.dingalings) leaves addresses as configured (lazy)
    # and makes dingalings lazy; joinedload on the first step keeps it eager
    users = session.query(User).options(
        joinedload(User.addresses), lazyload(User.addresses, Address.dingalings)) \
        .order_by(User.id).all()
    assert sql_log.count == 1
    sql_log.clear()
    assert [a.email for a in users[0].addresses] == ["j1", "j2"]
    assert sql_log.count == 0


def test_contains_eager_reads_every_step_from_the_joins(M, session, sql_log):
    User, Address, Dingaling = M.User, M.Address, M.Dingaling
    users = session.query(User).join(User.addresses).outerjoin(Address.dingalings) \
        .options(contains_eager(User.addresses, Address.dingalings)) \
        .order_by(User.id, Address.id, Dingaling.id).all()
    assert sql_log.count == 1
    sql_log.clear()
    assert _tree(users) == TREE
    assert sql_log.count == 0
