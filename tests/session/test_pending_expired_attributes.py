"""A pending object (no identity key) that has expired attributes loads them by the
primary key it holds; without a primary key it can't, and says so."""

import pytest

from datamapper import inspect
from datamapper.exc import InvalidRequestError


def _pending_with_expired(session, User, keys):
    session.add(User(id=7, name="jack"))
    session.commit()
    u = session.get(User, 7)
    session.expire(u, keys)
    session.expunge(u)
    inspect(u).key = None  # as a flush leaves an object between its INSERT and its key
    session.add(u)
    return u


@pytest.fixture
def session(make_session):
    return make_session(autoflush=False)  # (the object's INSERT would fail: its row exists)


def test_expired_attribute_of_pending_object_loads_by_its_key(session, User, sql_log):
    u = _pending_with_expired(session, User, ["name"])
    assert "name" not in u.__dict__
    sql_log.clear()
    assert u.name == "jack"
    assert len(sql_log.matching("SELECT")) == 1


def test_expired_attribute_of_pending_object_without_key_is_refused(session, User):
    u = _pending_with_expired(session, User, ["name", "id"])
    with pytest.raises(InvalidRequestError, match="pending .* primary key is not set"):
        u.name  # noqa: B018
