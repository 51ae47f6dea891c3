"""The identity map is weak-referencing by default; objects with pending
changes, new objects and deleted objects are held strongly until flushed.
weak_identity_map=False holds everything strongly."""

import gc

from datamapper import inspect


def test_unreferenced_clean_object_leaves_identity_map(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    u = session.get(User, 1)
    assert u.name == "a"
    key = inspect(u).key
    assert key in session.identity_map
    del u
    gc.collect()
    assert key not in session.identity_map
    assert len(session.identity_map) == 0


def test_new_object_held_strongly_until_flushed(session, User, read_rows):
    session.add(User(id=1, name="a"))
    gc.collect()
    assert len(session.new) == 1
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_modified_object_held_strongly_until_flushed(session, User, read_rows):
    session.add(User(id=1, name="a"))
    session.commit()
    u = session.get(User, 1)
    u.name = "changed"
    del u
    gc.collect()
    assert len(session.dirty) == 1
    session.commit()
    assert read_rows(User.__table__) == [(1, "changed", None)]


def test_deleted_object_held_strongly_until_flushed(session, User, read_rows):
    session.add(User(id=1, name="a"))
    session.commit()
    session.delete(session.get(User, 1))
    gc.collect()
    assert len(session.deleted) == 1
    session.commit()
    assert read_rows(User.__table__) == []


def test_modified_object_becomes_weak_after_flush(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    u = session.get(User, 1)
    u.name = "b"
    key = inspect(u).key
    del u
    gc.collect()
    session.flush()
    gc.collect()
    assert key not in session.identity_map


def test_strong_identity_map_keeps_unreferenced_objects(make_session, User, sql_log):
    s = make_session(weak_identity_map=False)
    s.add(User(id=1, name="a"))
    s.commit()
    u = s.get(User, 1)
    assert u.name == "a"
    key = inspect(u).key
    oid = id(u)
    del u
    gc.collect()
    assert key in s.identity_map
    sql_log.clear()
    again = s.get(User, 1)
    assert id(again) == oid
    assert sql_log.statements == []


def test_reload_after_object_dropped_gives_fresh_object(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    u = session.get(User, 1)
    u.name  # noqa: B018
    marker = object()
    u.__dict__["_test_marker"] = marker
    del u
    gc.collect()
    again = session.get(User, 1)
    assert again.name == "a"
    assert "_test_marker" not in again.__dict__
