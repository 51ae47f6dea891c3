"""datamapper.attributes as documented: init_collection() and its CollectionAdapter,
is_instrumented(), and the PASSIVE_* flags honoured by get_history()."""

import pickle

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import attributes, inspect, relationship
from datamapper.attributes import (
    HISTORY_BLANK,
    NEVER_SET,
    NO_VALUE,
    PASSIVE_NO_FETCH,
    PASSIVE_NO_FETCH_RELATED,
    PASSIVE_NO_INITIALIZE,
    PASSIVE_OFF,
    PASSIVE_ONLY_PERSISTENT,
    PASSIVE_RETURN_NO_VALUE,
    CollectionAdapter,
    get_history,
    init_collection,
    is_instrumented,
)
from datamapper.exc import InvalidRequestError


@pytest.fixture
def models(Base, engine):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", backref="user", order_by="Address.id")
        tags = relationship("Tag", collection_class=set)

        def greet(self):
            return "hi"

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))

    Base.metadata.create_all(engine)
    return User, Address, Tag


@pytest.fixture
def stored(models, make_session):
    User, Address, _ = models
    s = make_session()
    s.add(User(id=1, name="ed", addresses=[Address(id=1, email="a1"), Address(id=2, email="a2")]))
    s.commit()
    s.close()


# -- init_collection / CollectionAdapter ------------------------------------------------------
def test_init_collection_returns_adapter_filling_collection_without_history(
        models, stored, session, sql_log, read_rows):
    User, Address, _ = models
    u = session.get(User, 1)
    a1, a2 = session.get(Address, 1), session.get(Address, 2)
    adapter = init_collection(u, "addresses")
    assert isinstance(adapter, CollectionAdapter)
    adapter.append_without_event(a1)
    adapter.append_without_event(a2)
    assert adapter.data is u.__dict__["addresses"]
    assert list(adapter) == [a1, a2] and len(adapter) == 2
    sql_log.clear()
    assert u.addresses == [a1, a2]  # already loaded: no SELECT
    assert sql_log.count == 0
    assert get_history(u, "addresses") == ((), [a1, a2], ())
    assert not inspect(u).modified
    session.commit()
    assert not sql_log.matching("UPDATE")


def test_adapter_with_event_records_history_and_flushes(
        models, stored, session, read_rows):
    User, Address, _ = models
    u = session.get(User, 1)
    a1 = session.get(Address, 1)
    adapter = init_collection(u, "addresses")
    adapter.append_without_event(a1)
    new = Address(id=3, email="a3")
    adapter.append_with_event(new)
    assert new.user is u  # backref fired
    h = get_history(u, "addresses")
    assert (h.added, h.unchanged, list(h.deleted)) == ([new], [a1], [])
    adapter.remove_with_event(a1)
    assert a1.user is None
    assert get_history(u, "addresses").deleted == [a1]
    session.commit()
    addresses = Address.__table__
    assert read_rows(addresses) == [(1, "a1", None), (2, "a2", 1), (3, "a3", 1)]


def test_adapter_remove_and_clear_without_event_change_no_history(models, stored, session):
    User, Address, _ = models
    u = session.get(User, 1)
    a1, a2 = session.get(Address, 1), session.get(Address, 2)
    adapter = init_collection(u, "addresses")
    adapter.append_multiple_without_event([a1, a2])
    adapter.remove_without_event(a1)
    assert list(u.addresses) == [a2]
    adapter.clear_without_event()
    assert list(u.addresses) == []
    assert not get_history(u, "addresses").has_changes()
    assert not inspect(u).modified


def test_adapter_of_set_collection(models, stored, session):
    User, _, Tag = models
    u = session.get(User, 1)
    t = Tag(id=1)
    adapter = init_collection(u, "tags")
    adapter.append_without_event(t)
    assert u.tags == {t} and isinstance(u.tags, set)
    assert get_history(u, "tags").unchanged == [t]
    adapter.remove_without_event(t)
    assert u.tags == set()


def test_init_collection_of_non_collection_names_attribute(models):
    User, Address, _ = models
    with pytest.raises(InvalidRequestError, match=r"Address\.user"):
        init_collection(Address(), "user")
    with pytest.raises(InvalidRequestError, match=r"User\.name"):
        init_collection(User(), "name")
    with pytest.raises(InvalidRequestError, match="nope"):
        init_collection(User(), "nope")


# -- is_instrumented -----------------------------------------------------------------------------
def test_is_instrumented(models):
    User, _, _ = models
    u = User()
    assert is_instrumented(u, "name") and is_instrumented(u, "addresses")
    assert is_instrumented(u, "id")
    assert not is_instrumented(u, "greet")
    assert not is_instrumented(u, "metadata")
    assert not is_instrumented(u, "nope")
    assert not is_instrumented(object(), "name")


# -- PASSIVE_* flags ---------------------------------------------------------------------------------
def test_passive_flags_are_exported_with_sqlalchemy_values():
    assert NEVER_SET is NO_VALUE
    assert (int(PASSIVE_OFF), int(PASSIVE_RETURN_NO_VALUE), int(PASSIVE_NO_INITIALIZE),
            int(PASSIVE_NO_FETCH), int(PASSIVE_NO_FETCH_RELATED),
            int(PASSIVE_ONLY_PERSISTENT)) == (31, 23, 22, 29, 27, 15)
    assert repr(PASSIVE_NO_INITIALIZE) == "PASSIVE_NO_INITIALIZE"
    assert pickle.loads(pickle.dumps(PASSIVE_OFF)) is PASSIVE_OFF
    assert attributes.PASSIVE_OFF is PASSIVE_OFF


@pytest.mark.parametrize("passive", [PASSIVE_NO_INITIALIZE, PASSIVE_NO_FETCH, True])
def test_passive_no_load_flags_leave_unloaded_attributes_unloaded(
        models, stored, session, sql_log, passive):
    User, _, _ = models
    u = session.get(User, 1)
    session.expire(u, ["name"])
    sql_log.clear()
    assert get_history(u, "name", passive=passive) == HISTORY_BLANK
    assert get_history(u, "addresses", passive=passive) == HISTORY_BLANK
    assert sql_log.count == 0
    assert "name" not in u.__dict__ and "addresses" not in u.__dict__


@pytest.mark.parametrize("passive", [PASSIVE_OFF, PASSIVE_RETURN_NO_VALUE,
                                     PASSIVE_ONLY_PERSISTENT, PASSIVE_NO_FETCH_RELATED, False])
def test_passive_loading_flags_load_unloaded_attributes(
        models, stored, session, sql_log, passive):
    User, _, _ = models
    u = session.get(User, 1)
    session.expire(u, ["name"])
    sql_log.clear()
    assert get_history(u, "name", passive=passive) == ((), ["ed"], ())
    assert [a.id for a in get_history(u, "addresses", passive=passive).unchanged] == [1, 2]
    assert len(sql_log.matching("SELECT")) == 2


def test_default_passive_loads(models, stored, session):
    User, _, _ = models
    u = session.get(User, 1)
    session.expire(u, ["name"])
    assert get_history(u, "name") == ((), ["ed"], ())


def test_passive_flags_report_changes_of_loaded_attributes(models, stored, session):
    User, _, _ = models
    u = session.get(User, 1)
    u.name = "x"
    assert get_history(u, "name", passive=PASSIVE_NO_INITIALIZE) == (["x"], (), ["ed"])


def test_bad_passive_value_is_named(models):
    User, _, _ = models
    with pytest.raises(Exception, match="passive='yes'"):
        get_history(User(), "name", passive="yes")
