"""A change made to a relationship while its owner was detached is written by the
session the owner is added to next (seed 002, "save-update": objects removed from a
collection since the last flush come along with the save-update cascade, "because
it's still pending for flush").  The shapes and cascades are covered one by one in
tests/unitofwork/test_relationship_matrix.py; these are the documented example
and its nearest relatives."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import relationship


def _models(Base, engine, **rel_kw):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        addresses = relationship("Address", order_by="Address.id", **rel_kw)

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))

    Base.metadata.create_all(engine)
    return User, Address


def _detached_user(make_session, User, Address):
    first = make_session()
    first.add(User(id=1, name="ed", addresses=[Address(id=1), Address(id=2)]))
    first.commit()
    user = first.query(User).filter_by(id=1).first()
    a1 = user.addresses[0]
    first.close()  # user and a1 are detached now
    return user, a1


@pytest.mark.parametrize("backref", [None, "user"], ids=["no-backref", "backref"])
def test_address_removed_while_detached_is_pulled_into_the_next_session_and_unlinked(
        Base, engine, make_session, read_rows, backref):
    User, Address = _models(Base, engine, backref=backref)
    user, a1 = _detached_user(make_session, User, Address)

    user.addresses.remove(a1)
    second = make_session()
    second.add(user)
    assert a1 in second
    second.commit()

    assert read_rows(Address.__table__) == [(1, None), (2, 1)]


def test_address_removed_while_detached_is_deleted_under_delete_orphan(
        Base, engine, make_session, read_rows):
    User, Address = _models(Base, engine, cascade="all, delete-orphan", backref="user")
    user, a1 = _detached_user(make_session, User, Address)

    user.addresses.remove(a1)
    second = make_session()
    second.add(user)
    assert a1 in second
    second.commit()

    assert read_rows(Address.__table__) == [(2, 1)]


def test_collection_replaced_while_detached_unlinks_every_member_left_out(
        Base, engine, make_session, read_rows):
    User, Address = _models(Base, engine, backref="user")
    user, a1 = _detached_user(make_session, User, Address)

    user.addresses = [Address(id=3)]
    second = make_session()
    second.add(user)
    second.commit()

    assert read_rows(Address.__table__) == [(1, None), (2, None), (3, 1)]


def test_many_to_one_cleared_while_detached_is_written_and_old_parent_comes_along(
        Base, engine, make_session, read_rows):
    User, Address = _models(Base, engine, backref="user")
    first = make_session()
    first.add(User(id=1, addresses=[Address(id=1), Address(id=2)]))
    first.commit()
    a1 = first.get(Address, 1)
    user = a1.user  # loaded: the reference's old value is known once detached
    first.close()

    a1.user = None  # the backref takes a1 out of user.addresses too
    second = make_session()
    second.add(a1)
    assert user in second  # the object the reference used to point to
    second.commit()

    assert read_rows(Address.__table__) == [(1, None), (2, 1)]


def test_many_to_many_member_removed_while_detached_loses_its_association_row(
        Base, engine, make_session, read_rows):
    links = Table("user_kw", Base.metadata,
                  Column("user_id", ForeignKey("users.id"), primary_key=True),
                  Column("kw_id", ForeignKey("keywords.id"), primary_key=True))

    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        keywords = relationship(Keyword, secondary=links, order_by=Keyword.id)

    Base.metadata.create_all(engine)
    first = make_session()
    first.add(User(id=1, keywords=[Keyword(id=1), Keyword(id=2)]))
    first.commit()
    user = first.get(User, 1)
    k1 = user.keywords[0]
    first.close()

    user.keywords.remove(k1)
    second = make_session()
    second.add(user)
    assert k1 in second
    second.commit()

    assert read_rows(links) == [(1, 2)]
    assert read_rows(Keyword.__table__) == [(1,), (2,)]
