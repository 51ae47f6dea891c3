"""The identity map is weak-referencing by default; objects with pending
changes, new objects and deleted objects are held strongly until flushed.
weak_identity_map=False holds everything strongly."""

import gc

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import exc, inspect


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


def test_identity_map_mapping_api_over_single_and_composite_keys(Base, engine, session):
    class Pair(Base):
        __tablename__ = "pairs"
        a = Column(Integer, primary_key=True)
        b = Column(String(10), primary_key=True)
        v = Column(String(10))

    Base.metadata.create_all(engine)
    session.add_all([Pair(a=1, b="x", v="1x"), Pair(a=1, b="y", v="1y")])
    session.commit()
    pairs = session.query(Pair).order_by(Pair.b).all()
    imap = session.identity_map
    assert sorted(imap.keys(), key=repr) == [(Pair, (1, "x"), None), (Pair, (1, "y"), None)]
    assert imap[(Pair, (1, "x"), None)] is pairs[0]
    assert imap.get((Pair, (1, "z"), None)) is None
    assert (Pair, (1, "y"), None) in imap and (Pair, (1,), None) not in imap
    assert (Pair, 1, None) not in imap and "garbage" not in imap
    assert dict(imap.items()) == {(Pair, (1, "x"), None): pairs[0], (Pair, (1, "y"), None): pairs[1]}
    assert len(imap) == 2
    # a changed primary key files the object under its new identity after the flush
    pairs[0].b = "w"
    session.flush()
    assert inspect(pairs[0]).key == (Pair, (1, "w"), None)
    assert imap[(Pair, (1, "w"), None)] is pairs[0]
    assert (Pair, (1, "x"), None) not in imap
    assert session.get(Pair, (1, "w")) is pairs[0]


def test_identity_key_of_loaded_and_inserted_objects_is_the_full_tuple(session, User):
    u = User(id=7, name="n")
    session.add(u)
    session.flush()
    assert inspect(u).key == (User, (7,), None)
    assert inspect(u).identity == (7,)
    session.commit()
    session.expunge_all()
    loaded = session.query(User).one()
    key = inspect(loaded).key
    assert key == (User, (7,), None) and isinstance(key[1], tuple)
    assert session.identity_map[key] is loaded
    u2 = User(id=7, name="clash")
    session.add(u2)
    with pytest.raises(exc.FlushError, match="identity key"):
        session.flush()


def test_prune_drops_unreferenced_clean_objects_from_a_strong_map(make_session, User):
    s = make_session(weak_identity_map=False)
    s.add_all([User(id=i, name=f"u{i}") for i in range(1, 5)])
    s.commit()
    kept = s.get(User, 1)
    changed = s.get(User, 2)
    s.get(User, 3)
    s.get(User, 4)  # 3 and 4: only the map refers to them
    changed.name = "changed"  # after the gets: loading an expired object autoflushes
    gc.collect()
    with pytest.warns(DeprecationWarning, match="prune"):
        assert s.prune() == 2
    assert sorted(k[1][0] for k in s.identity_map.keys()) == [1, 2]
    assert s.get(User, 1) is kept and changed in s.dirty
    s.commit()
    assert s.get(User, 2).name == "changed"


def test_prune_of_a_weak_map_drops_nothing(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    u = session.get(User, 1)
    with pytest.warns(DeprecationWarning):
        assert session.prune() == 0
    assert session.get(User, 1) is u


def test_public_add_of_a_state_refuses_another_object_with_its_key(session, User):
    """identity_map.add(state): the state's object is filed under its key; another live
    object with that key is refused naming both the key and the object."""
    session.add(User(id=1, name="a"))
    session.flush()
    u1 = session.get(User, 1)
    session.expunge(u1)
    u2 = session.get(User, 1)
    assert u2 is not u1
    session.expunge(u2)
    assert session.identity_map.add(inspect(u1)) is True
    assert session.identity_map.add(inspect(u1)) is False  # already there
    assert session.identity_map[inspect(u1).key] is u1
    with pytest.raises(exc.InvalidRequestError,
                       match=r"Can't attach instance <User at 0x[0-9a-f]+>; another instance "
                             r"with key .* is already present in this session"):
        session.identity_map.add(inspect(u2))
    with pytest.raises(exc.InvalidRequestError, match="has no identity key"):
        session.identity_map.add(inspect(User(id=2)))
