"""Loader options given before Query.with_entities() apply where a new entity takes them
and are left out where none does, as in SQLAlchemy: with_entities(User.id) or
with_entities(func.count(User.id)) of a query with joinedload() options raised
ArgumentError ("the query selects no mapped entity").  An option given after the
entities are chosen is still checked.  What the database sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, func
from sqlalchemy.exc import ArgumentError

from datamapper import joinedload, relationship, selectinload


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

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="jack", addresses=[Address(id=1, email="j1"),
                                                  Address(id=2, email="j2")]),
               User(id=2, name="ed")])
    s.commit()
    s.close()

    class Models:
        pass

    m = Models()
    m.User, m.Address = User, Address
    return m


def test_with_entities_columns_leaves_out_the_joinedload(M, session, sql_log):
    User = M.User
    q = session.query(User).options(joinedload(User.addresses)).order_by(User.id)
    assert q.with_entities(User.id).all() == [(1,), (2,)]
    assert sql_log.count == 1
    assert "addresses" not in sql_log.statements[0]


def test_with_entities_count_of_an_eager_query(M, session, sql_log):
    User = M.User
    q = session.query(User).options(joinedload(User.addresses), selectinload(User.addresses))
    assert q.with_entities(func.count(User.id)).scalar() == 2
    assert sql_log.count == 1
    assert "addresses" not in sql_log.statements[0]


def test_with_entities_keeping_the_entity_keeps_its_options(M, session, sql_log):
    User, Address = M.User, M.Address
    q = session.query(User, Address).join(User.addresses) \
        .options(joinedload(User.addresses)).order_by(User.id, Address.id)
    users = q.with_entities(User).all()
    assert sql_log.count == 1
    assert "LEFT OUTER JOIN addresses AS" in sql_log.statements[0]
    sql_log.clear()
    assert [[a.email for a in u.addresses] for u in users] == [["j1", "j2"]]
    assert sql_log.count == 0


def test_options_of_dropped_entities_are_left_out(M, session, sql_log):
    User, Address = M.User, M.Address
    q = session.query(User, Address).join(User.addresses) \
        .options(joinedload(User.addresses), selectinload(User.addresses)) \
        .with_entities(Address.email).order_by(Address.id)
    assert q.all() == [("j1",), ("j2",)]
    assert sql_log.count == 1
    assert "addresses AS" not in sql_log.statements[0]


def test_option_given_after_with_entities_is_still_checked(M, session):
    User = M.User
    q = session.query(User).with_entities(User.id).options(joinedload(User.addresses))
    with pytest.raises(ArgumentError, match="selects no mapped entity"):
        q.all()
