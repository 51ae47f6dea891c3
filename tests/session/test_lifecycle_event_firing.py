"""Object lifecycle session events that were not fired: loaded_as_persistent on a
load, persistent_to_detached / pending_to_transient on expunge_all(), and
persistent_to_transient (not _detached) when a rollback undoes a flushed INSERT."""

import pytest

import datamapper
from datamapper import select


@pytest.fixture
def events(session):
    seen = []

    def listen(name):
        def fn(sess, obj):
            assert sess is session
            seen.append((name, obj))
        datamapper.event.listen(session, name, fn)

    for name in ("loaded_as_persistent", "persistent_to_detached", "pending_to_transient",
                 "persistent_to_transient"):
        listen(name)
    return seen


def test_loaded_as_persistent_fires_once_per_new_object(session, User, events):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    session.close()
    users = session.scalars(select(User).order_by(User.id)).all()
    assert events == [("loaded_as_persistent", u) for u in users]
    session.query(User).all()  # already in the session: not again
    assert len(events) == 2
    session.expunge_all()
    events.clear()
    u = session.get(User, 1)
    assert events == [("loaded_as_persistent", u)]


def test_expunge_all_tells_each_object(session, User, events):
    kept = User(id=1, name="a")
    session.add(kept)
    session.commit()
    kept = session.get(User, 1)
    pending = User(id=2, name="b")
    session.add(pending)
    events.clear()
    session.expunge_all()
    assert sorted(events, key=lambda e: e[0]) == [("pending_to_transient", pending),
                                                   ("persistent_to_detached", kept)]


def test_rollback_of_a_flushed_insert_makes_it_transient(session, User, events, read_rows):
    u = User(id=1, name="a")
    session.add(u)
    session.flush()
    session.rollback()
    assert events == [("persistent_to_transient", u)]
    assert datamapper.object_session(u) is None
    assert read_rows(User.__table__) == []


@pytest.mark.parametrize("how", ["begin", "autobegin"])
def test_after_transaction_create_listener_can_run_sql_in_it(session, User, how):
    got = []

    def after_create(sess, trans):
        if trans.parent is None:
            got.append((sess.execute(select(User.id)).all(), sess.get_transaction() is trans))

    datamapper.event.listen(session, "after_transaction_create", after_create)
    if how == "begin":
        with session.begin():
            pass
    else:
        session.scalars(select(User)).all()
    assert got == [([], True)]


def test_expunge_of_a_flushed_deletion_fires_deleted_to_detached(session, User, read_rows):
    """An object whose DELETE was flushed leaves the session by expunge() as deleted ->
    detached (it was persistent_to_detached); one whose delete() is not flushed yet is
    still persistent and leaves as persistent -> detached, its row kept."""
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    seen = []
    for name in ("persistent_to_detached", "deleted_to_detached"):
        datamapper.event.listen(session, name,
                                lambda sess, obj, name=name: seen.append((name, obj.id)))
    flushed, unflushed = session.get(User, 1), session.get(User, 2)
    session.delete(flushed)
    session.flush()
    session.delete(unflushed)
    session.expunge(flushed)
    session.expunge(unflushed)
    assert seen == [("deleted_to_detached", 1), ("persistent_to_detached", 2)]
    session.commit()
    assert read_rows(User.__table__) == [(2, "b", None)]
