"""Loading an expired (or deferred) column attribute autoflushes the session first, as a
query would, so pending changes that alter the value are seen; not inside
``no_autoflush`` nor with ``autoflush=False``."""

import pytest
from sqlalchemy import Column, Integer, String, Table

from datamapper import deferred, registry


@pytest.fixture
def two_views(metadata, engine, make_session):
    """Two classes mapped to one table: a pending change through one is a pending
    change of the row the other one reads."""
    users = Table("users", metadata, Column("id", Integer, primary_key=True),
                  Column("name", String(50)), Column("bio", String(50)))
    reg = registry(metadata=metadata)

    class User:
        pass

    class UserView:
        pass

    reg.map_imperatively(User, users, properties={"bio": deferred(users.c.bio)})
    reg.map_imperatively(UserView, users)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(users.insert(), [{"id": 1, "name": "ed", "bio": "old"}])
    return User, UserView


def _setup(s, User, UserView):
    u = s.get(User, 1)
    v = s.get(UserView, 1)
    assert u.name == "ed"
    s.expire(u, ["name"])
    v.name = "edward"
    v.bio = "new"
    return u


def test_reading_an_expired_attribute_autoflushes_first(two_views, make_session, sql_log):
    User, UserView = two_views
    s = make_session()
    u = _setup(s, User, UserView)
    sql_log.clear()
    assert u.name == "edward"
    kinds = [st.split()[0].upper() for st in sql_log.statements]
    assert kinds == ["UPDATE", "SELECT"]


def test_reading_a_deferred_attribute_autoflushes_first(two_views, make_session, sql_log):
    User, UserView = two_views
    s = make_session()
    u = s.get(User, 1)
    s.get(UserView, 1).bio = "new"
    sql_log.clear()
    assert u.bio == "new"
    assert [st.split()[0].upper() for st in sql_log.statements] == ["UPDATE", "SELECT"]


def test_no_autoflush_block_reads_the_expired_attribute_without_flushing(
        two_views, make_session, sql_log):
    User, UserView = two_views
    s = make_session()
    u = _setup(s, User, UserView)
    sql_log.clear()
    with s.no_autoflush:
        assert u.name == "ed"
    assert sql_log.matching("UPDATE") == []
    assert s.dirty


def test_autoflush_false_session_reads_the_expired_attribute_without_flushing(
        two_views, make_session, sql_log):
    User, UserView = two_views
    s = make_session(autoflush=False)
    u = _setup(s, User, UserView)
    sql_log.clear()
    assert u.name == "ed"
    assert sql_log.matching("UPDATE") == []


def test_expired_object_with_its_own_pending_change_flushes_it_and_loads_the_rest(
        two_views, make_session, sql_log, read_rows):
    User, _UserView = two_views
    s = make_session()
    u = s.get(User, 1)
    s.expire(u)
    u.bio = "mine"  # a pending change on the expired object itself
    sql_log.clear()
    assert u.name == "ed"
    assert u.bio == "mine"
    assert [st.split()[0].upper() for st in sql_log.statements] == ["UPDATE", "SELECT"]
    s.commit()
    assert read_rows("SELECT name, bio FROM users") == [("ed", "mine")]
