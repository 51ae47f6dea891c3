"""Events around making a mapper: ``instrument_class(mapper, cls)`` (mapper event,
before the class gets its attributes), the instrumentation events
``class_instrument(cls)``, ``attribute_instrument(cls, key, attribute)`` and
``class_uninstrument(cls)`` (listened for on any class, ``object`` meaning every
class; subclasses included unless ``propagate=False``), then
``after_mapper_constructed(mapper, cls)``."""

from unittest.mock import Mock, call

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.exc import InvalidRequestError

import datamapper
from datamapper import DeclarativeBase, Mapper, Session, event, registry, relationship


@pytest.fixture
def tables():
    md = MetaData()
    users = Table("ie_users", md, Column("id", Integer, primary_key=True),
                  Column("name", String(30)))
    addresses = Table("ie_addresses", md, Column("id", Integer, primary_key=True),
                      Column("user_id", ForeignKey("ie_users.id")))
    return users, addresses


@pytest.fixture
def listening():
    """listen() that is undone after the test."""
    added = []

    def listen(target, name, fn, **kw):
        event.listen(target, name, fn, **kw)
        added.append((target, name, fn))

    yield listen
    for target, name, fn in added:
        if event.contains(target, name, fn):
            event.remove(target, name, fn)


def test_sequence_when_a_declarative_class_is_made(listening):
    class Base(DeclarativeBase):
        pass

    canary = Mock()
    listening(Base, "instrument_class", canary.instrument_class, propagate=True)
    listening(Base, "after_mapper_constructed", canary.after_mapper_constructed,
              propagate=True)
    listening(object, "class_instrument", canary.class_instrument)
    listening(Mapper, "before_configured", canary.before_configured)
    listening(Mapper, "before_mapper_configured", canary.before_mapper_configured)
    listening(Mapper, "after_configured", canary.after_configured)

    class Thing(Base):
        __tablename__ = "ie_thing"
        id = Column(Integer, primary_key=True)

    mp = datamapper.class_mapper(Thing, configure=False)
    assert canary.mock_calls == [
        call.instrument_class(mp, Thing),
        call.class_instrument(Thing),
        call.after_mapper_constructed(mp, Thing),
    ]
    Base.registry.configure()
    # (mappers other tests left unconfigured may be configured here too: not counted)
    assert [c for c in canary.mock_calls[3:] if not c.args or c.args[0] is mp] == [
        call.before_configured(), call.before_mapper_configured(mp, Thing),
        call.after_configured(),
    ]


def test_after_mapper_constructed_on_a_mixin_and_the_mapper_class(listening, tables):
    users, _ = tables

    class Mixin:
        pass

    class User(Mixin):
        pass

    canary = Mock()
    listening(Mixin, "after_mapper_constructed", canary.on_mixin, propagate=True)
    listening(Mapper, "after_mapper_constructed", canary.on_mapper_class)
    m = registry().map_imperatively(User, users)
    assert canary.mock_calls == [call.on_mapper_class(m, User), call.on_mixin(m, User)]


def test_attribute_instrument_names_each_mapped_attribute(listening, tables):
    users, addresses = tables

    class User:
        pass

    class Address:
        pass

    seen = []
    listening(User, "attribute_instrument",
              lambda cls, key, attr: seen.append((cls, key, attr)))
    reg = registry()
    m = reg.map_imperatively(User, users, properties={"addresses": relationship(Address)})
    reg.map_imperatively(Address, addresses)  # another class: not reported
    assert sorted(key for _c, key, _a in seen) == ["addresses", "id", "name"]
    assert all(cls is User for cls, _k, _a in seen)
    assert {key: attr for _c, key, attr in seen}["name"] is User.name
    m.add_property("shout", datamapper.column_property(users.c.name + "!"))
    assert seen[-1][:2] == (User, "shout")


def test_propagation_of_instrumentation_events(listening, tables):
    users, _ = tables

    class Base:
        pass

    class Sub(Base):
        pass

    class Other:
        pass

    everywhere, exact = [], []
    listening(Base, "class_instrument", everywhere.append)  # propagates by default
    listening(Base, "class_instrument", exact.append, propagate=False)
    reg = registry()
    reg.map_imperatively(Sub, users)
    reg.map_imperatively(Other, Table("ie_other", MetaData(),
                                      Column("id", Integer, primary_key=True)))
    assert everywhere == [Sub] and exact == []
    reg.dispose()
    registry().map_imperatively(Base, users)
    assert everywhere == [Sub, Base] and exact == [Base]


def test_class_uninstrument_when_mappers_go(listening, tables, engine, metadata):
    users, _ = tables

    class User:
        pass

    gone = []
    listening(User, "class_uninstrument", gone.append)
    reg = registry()
    reg.map_imperatively(User, users)
    users.metadata.create_all(engine)
    try:
        with Session(engine) as s:
            s.add(User())
            s.commit()
        reg.dispose()
        assert gone == [User]
        assert not hasattr(User, "name")
    finally:
        users.metadata.drop_all(engine)


def test_remove_and_contains(tables):
    users, _ = tables

    class User:
        pass

    seen = []

    def on_instrument(cls):
        seen.append(cls)

    event.listen(User, "class_instrument", on_instrument)
    assert event.contains(User, "class_instrument", on_instrument)
    event.remove(User, "class_instrument", on_instrument)
    assert not event.contains(User, "class_instrument", on_instrument)
    registry().map_imperatively(User, users)
    assert seen == []
    with pytest.raises(InvalidRequestError, match="not registered"):
        event.remove(User, "class_instrument", on_instrument)


def test_instrumentation_events_need_a_class():
    with pytest.raises(InvalidRequestError, match="class_instrument"):
        event.listen(Session(), "class_instrument", lambda cls: None)
