"""The mapper 'refresh' event when a query or an attribute access loads into an
existing object, and what 'load'/'refresh' handlers assign counting as loaded."""

import pytest

import datamapper
from datamapper import select


@pytest.fixture
def refreshes(User):
    seen = []

    def on_refresh(obj, ctx, attrs):
        seen.append(attrs)

    datamapper.event.listen(User, "refresh", on_refresh)
    yield seen
    datamapper.event.remove(User, "refresh", on_refresh)


@pytest.fixture
def one_user(User, make_session):
    s = make_session()
    s.add(User(id=1, name="u1", note="n"))
    s.commit()
    return s


def test_query_into_expired_object_fires_refresh_with_the_loaded_attributes(
        one_user, User, refreshes):
    s = one_user
    u = s.get(User, 1)
    s.expire(u)
    s.scalars(select(User)).all()
    assert refreshes == [{"id", "name", "note"}]
    s.expire(u, ["name"])
    s.query(User).all()
    assert refreshes[1:] == [{"name"}]


def test_populate_existing_fires_refresh_with_none(one_user, User, refreshes):
    s = one_user
    u = s.get(User, 1)
    assert s.query(User).populate_existing().all() == [u]
    assert refreshes == [None]


def test_expired_attribute_access_fires_refresh_with_a_set(one_user, User, refreshes):
    s = one_user
    u = s.get(User, 1)
    s.expire(u, ["name", "note"])
    u.name
    assert refreshes == [{"name", "note"}]


def test_load_handler_assignment_is_loaded_state_not_a_change(one_user, User, sql_log):
    s = one_user
    s.close()

    def on_load(obj, ctx):
        obj.note = "from handler"

    datamapper.event.listen(User, "load", on_load)
    try:
        u = s.scalars(select(User)).one()
        assert u.note == "from handler"
        assert u not in s.dirty
        sql_log.clear()
        s.commit()
        assert sql_log.matching("UPDATE") == []
    finally:
        datamapper.event.remove(User, "load", on_load)


def test_refresh_handler_assignment_is_loaded_state(one_user, User, sql_log):
    s = one_user
    u = s.get(User, 1)
    u.note = "unflushed change"

    def on_refresh(obj, ctx, attrs):
        obj.name = "from handler"

    datamapper.event.listen(User, "refresh", on_refresh)
    try:
        sql_log.clear()
        with s.no_autoflush:
            s.expire(u, ["name"])
            assert u.name == "from handler"
        hist = datamapper.attributes.get_history(u, "name")
        assert list(hist.added) == [] and list(hist.deleted) == []
        s.commit()
        # the earlier change to note is still written; name is not
        updates = sql_log.matching("UPDATE")
        assert len(updates) == 1 and "name" not in updates[0].split("SET")[1]
    finally:
        datamapper.event.remove(User, "refresh", on_refresh)
