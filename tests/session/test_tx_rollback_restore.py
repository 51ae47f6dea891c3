"""Rollback restores exactly the documented state (BACKENDS.md point 1): objects
made pending or inserted in the transaction become transient (also when expunged
since), deleted objects are persistent again and own their identity key, key
switches are undone, everything else is expired.  An object loaded in the
rolled-back transaction for a row inserted there stays, expired, until the
session finds its row gone; a new object may then take that key (as SQLAlchemy's
ORM does)."""

import pytest
from sqlalchemy import text

from datamapper import exc, inspect


@pytest.fixture(params=[True, False], ids=["weak", "strong"])
def sess(request, make_session):
    return make_session(weak_identity_map=request.param)


def _rows(read_rows, User):
    return [(r[0], r[1]) for r in read_rows(User.__table__)]


def _insert_row(session, User, id_, name):
    session.execute(User.__table__.insert(), {"id": id_, "name": name})


def test_object_loaded_for_a_row_inserted_then_rolled_back_gives_its_key_up(
        sess, User, read_rows):
    _insert_row(sess, User, 1, "core")
    loaded = sess.get(User, 1)
    sess.rollback()
    assert inspect(loaded).persistent  # expired; its row is not known to be gone yet
    new = User(id=1, name="new")
    sess.add(new)
    sess.commit()
    assert _rows(read_rows, User) == [(1, "new")]
    assert inspect(loaded).detached
    assert sess.get(User, 1) is new


def test_get_after_rollback_of_an_inserted_row_finds_nothing(sess, User):
    _insert_row(sess, User, 1, "core")
    loaded = sess.get(User, 1)
    sess.rollback()
    assert sess.get(User, 1) is None
    assert loaded not in sess


def test_a_real_conflict_with_an_existing_row_still_raises(sess, User, read_rows):
    kept = User(id=1, name="kept")
    sess.add(kept)
    sess.commit()  # expires it: the flush reloads it and finds the row there
    sess.add(User(id=1, name="duplicate"))
    with pytest.raises(exc.FlushError, match="conflicts with persistent instance"):
        sess.flush()
    assert inspect(kept).persistent
    sess.rollback()
    assert _rows(read_rows, User) == [(1, "kept")]


def test_object_inserted_then_expunged_is_transient_after_rollback(sess, User, read_rows):
    u = User(id=1, name="a")
    sess.add(u)
    sess.flush()
    sess.expunge(u)
    sess.rollback()
    assert inspect(u).transient
    sess.add(u)
    sess.commit()
    assert _rows(read_rows, User) == [(1, "a")]


def test_object_inserted_expunged_and_added_elsewhere_is_left_alone(sess, make_session,
                                                                   User):
    u = User(id=1, name="a")
    sess.add(u)
    sess.flush()
    sess.expunge(u)
    other = make_session()
    other.add(u)  # detached -> persistent in the other session
    sess.rollback()
    assert inspect(u).session is other
    assert inspect(u).key is not None


@pytest.mark.parametrize("reuse", ["core-row-loaded", "object-flushed"])
def test_deleted_object_whose_key_was_reused_is_restored(sess, User, read_rows, reuse):
    sess.add(User(id=1, name="old"))
    sess.commit()
    old = sess.get(User, 1)
    sess.delete(old)
    sess.flush()
    if reuse == "core-row-loaded":
        _insert_row(sess, User, 1, "reused")
        other = sess.get(User, 1)
    else:
        other = User(id=1, name="reused")
        sess.add(other)
        sess.flush()
    assert other is not old
    sess.rollback()
    assert inspect(old).persistent
    assert sess.get(User, 1) is old
    assert old.name == "old"
    assert other not in sess
    assert inspect(other).detached if reuse == "core-row-loaded" else inspect(other).transient
    old.name = "changed after rollback"
    sess.commit()
    assert _rows(read_rows, User) == [(1, "changed after rollback")]


def test_deleted_object_whose_key_was_taken_by_a_key_switch_is_restored(sess, User,
                                                                        read_rows):
    sess.add_all([User(id=1, name="one"), User(id=2, name="two")])
    sess.commit()
    one, two = sess.get(User, 1), sess.get(User, 2)
    sess.delete(one)
    sess.flush()
    two.id = 1
    sess.flush()
    sess.rollback()
    assert sess.get(User, 1) is one and sess.get(User, 2) is two
    assert (one.name, two.id, two.name) == ("one", 2, "two")
    assert _rows(read_rows, User) == [(1, "one"), (2, "two")]


def test_savepoint_rollback_restores_a_deleted_object_whose_key_was_reused(
        sess, User, read_rows):
    sess.add(User(id=1, name="old"))
    sess.commit()
    old = sess.get(User, 1)
    sess.begin_nested()
    sess.delete(old)
    sess.flush()
    _insert_row(sess, User, 1, "reused")
    other = sess.get(User, 1)
    sess.rollback()  # to the savepoint
    assert sess.get(User, 1) is old
    assert inspect(other).detached
    assert old.name == "old"
    sess.commit()
    assert _rows(read_rows, User) == [(1, "old")]


def test_rollback_expires_everything_else(sess, User, engine):
    sess.add(User(id=1, name="a"))
    sess.commit()
    u = sess.get(User, 1)
    u.name = "changed"
    sess.flush()
    sess.rollback()
    assert "name" in inspect(u).expired_attributes or "name" not in u.__dict__
    assert u.name == "a"
    assert sess.execute(text("SELECT name FROM users WHERE id = 1")).scalar() == "a"
