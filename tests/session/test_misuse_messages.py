"""Misuse that must name what went wrong: a class given where an instance is
required, relationships compared to plain values, values a column type refuses on
the flush's own driver path, and constructor keywords that are class attributes
but not mapped attributes."""

import datetime

import pytest
from sqlalchemy import Column, DateTime, ForeignKey, Integer, PickleType, String, event
from sqlalchemy.exc import ArgumentError, StatementError

from datamapper import inspect, relationship
from datamapper.exc import InvalidRequestError, UnmappedInstanceError


@pytest.fixture
def models(Base, engine):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", backref="user")
        keywords = relationship("Keyword", secondary="user_keywords")
        profile = relationship("Profile", uselist=False, backref="owner")

        def greet(self):
            return f"hi {self.name}"

        @property
        def shout(self):
            return (self.name or "").upper()

        @property
        def nick(self):
            return self.name

        @nick.setter
        def nick(self, value):
            self.name = value

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True)

    from sqlalchemy import Table
    Table("user_keywords", Base.metadata,
          Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
          Column("keyword_id", Integer, ForeignKey("keywords.id"), primary_key=True))

    class Profile(Base):
        __tablename__ = "profiles"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))

    class Event(Base):
        __tablename__ = "events"
        id = Column(Integer, primary_key=True)
        at = Column(DateTime)
        blob = Column(PickleType)

    Base.metadata.create_all(engine)
    return User, Address, Keyword, Profile, Event


# -- a class where an instance is required -----------------------------------------------------
@pytest.mark.parametrize("method", ["add", "delete", "merge", "expunge", "refresh", "expire",
                                    "is_modified"])
def test_session_method_given_the_class_names_it_and_suggests_an_instance(
        models, session, method):
    User = models[0]
    with pytest.raises(UnmappedInstanceError) as info:
        getattr(session, method)(User)
    msg = str(info.value)
    assert "class User" in msg and "User(...)" in msg
    assert not session.new and not list(session)


def test_add_all_given_a_class_names_it(models, session):
    User = models[0]
    with pytest.raises(UnmappedInstanceError, match=r"User\(\.\.\.\)"):
        session.add_all([User])


def test_unmapped_class_given_says_it_is_not_mapped(session):
    class Plain:
        pass

    with pytest.raises(UnmappedInstanceError, match=r"class Plain.*Plain\(\.\.\.\).*not a mapped"):
        session.add(Plain)


# -- relationships compared to values -----------------------------------------------------------
def test_filter_by_collection_equal_to_value_raises_invalid_request(models, session):
    User = models[0]
    with pytest.raises(InvalidRequestError, match=r"User\.addresses.*contains\(\)"):
        session.query(User).filter_by(addresses=1)
    with pytest.raises(InvalidRequestError, match=r"User\.keywords.*contains\(\)"):
        session.query(User).filter(User.keywords == 1)
    with pytest.raises(InvalidRequestError, match="contains"):
        session.query(User).filter(User.addresses != models[1](id=1))


def test_many_to_one_compared_to_non_object_names_relationship_and_target(models, session):
    _, Address, _, _, _ = models
    with pytest.raises(ArgumentError, match=r"Address\.user with 1.*User object"):
        session.query(Address).filter_by(user=1)


def test_contains_given_non_object_names_relationship(models, session):
    User = models[0]
    with pytest.raises(ArgumentError, match=r"User\.addresses.*Address object"):
        session.query(User).filter(User.addresses.contains(5))


def test_one_to_one_compares_to_its_object(models, session):
    User, _, _, Profile, _ = models
    session.add(User(id=1, name="ed", profile=Profile(id=7)))
    session.add(User(id=2, name="jack"))
    session.commit()
    p = session.get(Profile, 7)
    assert [u.id for u in session.query(User).filter(User.profile == p)] == [1]
    assert [u.id for u in session.query(User).filter(User.profile == None)] == [2]  # noqa: E711
    with pytest.raises(ArgumentError, match=r"User\.profile with 3.*Profile object"):
        session.query(User).filter_by(profile=3)


# -- values a column type refuses: Core's StatementError on every path -------------------------------
@pytest.mark.sqlite_only
def test_string_for_sqlite_datetime_raises_statement_error_on_insert(models, session):
    Event = models[4]
    session.add_all([Event(at="2020-01-01 10:00"), Event(at="2020-01-02 10:00")])
    with pytest.raises(StatementError) as info:
        session.flush()
    assert isinstance(info.value.orig, TypeError)
    assert "INSERT INTO events" in str(info.value)
    session.rollback()
    session.add(Event(id=1, at=datetime.datetime(2020, 1, 1)))
    session.commit()


@pytest.mark.sqlite_only
def test_string_for_sqlite_datetime_raises_statement_error_on_update(models, session, read_rows):
    Event = models[4]
    session.add_all([Event(id=1, at=datetime.datetime(2020, 1, 1)),
                     Event(id=2, at=datetime.datetime(2020, 1, 2))])
    session.commit()
    e1, e2 = session.get(Event, 1), session.get(Event, 2)
    e1.at = "2021-01-01"
    e2.at = "2021-01-02"
    with pytest.raises(StatementError) as info:
        session.commit()
    assert isinstance(info.value.orig, TypeError)
    assert "UPDATE events" in str(info.value)
    session.rollback()
    assert read_rows(Event.__table__)[0][1] is not None


def test_unpicklable_value_raises_statement_error_on_update(models, session, engine):
    Event = models[4]
    session.add_all([Event(id=1, blob=[1]), Event(id=2, blob=[2])])
    session.commit()
    seen = []
    event.listen(engine, "handle_error", lambda ctx: seen.append(ctx.original_exception))
    for e in (session.get(Event, 1), session.get(Event, 2)):
        e.blob = lambda: None  # functions defined here can't be pickled
    with pytest.raises(StatementError) as info:
        session.flush()
    assert "UPDATE events" in str(info.value)
    assert seen and seen[0] is info.value.orig  # handle_error listeners saw it, as in Core
    session.rollback()
    assert session.get(Event, 1).blob == [1]


# -- the default constructor -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["metadata", "registry", "greet", "__table__", "__mapper__",
                                  "shout", "nope"])
def test_constructor_refuses_names_that_are_not_mapped_attributes(models, name):
    User = models[0]
    with pytest.raises(TypeError) as info:
        User(**{name: 1})
    assert repr(name) in str(info.value) and "User" in str(info.value)


def test_constructor_refuses_query_property(models, make_session):
    from datamapper import scoped_session, sessionmaker

    User = models[0]
    Session = scoped_session(sessionmaker())
    User.query = Session.query_property()
    try:
        with pytest.raises(TypeError, match="'query'.*User"):
            User(query=1)
    finally:
        del User.query


def test_constructor_sets_mapped_attributes_and_settable_properties(models):
    User, Address, _, _, _ = models
    u = User(id=1, nick="ed", addresses=[Address(id=1)])
    assert (u.id, u.name, len(u.addresses)) == (1, "ed", 1)
    assert inspect(u).transient
