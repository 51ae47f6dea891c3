"""``add_all()`` leaves every object as ``add()`` would, one after the other: new objects
pending in the order given (the INSERTs follow it), persistent ones re-attached,
cascades followed, listeners told, and a rollback undoes it."""

import sqlalchemy as sa

from datamapper import event, inspect


def test_new_objects_become_pending_in_the_order_given(session, User, read_rows):
    users = [User(name=n) for n in ("c", "a", "b")]
    session.add_all(users)
    assert all(inspect(u).pending for u in users)
    assert set(session.new) == set(users)
    session.commit()
    assert read_rows(User.__table__) == [(1, "c", None), (2, "a", None), (3, "b", None)]
    assert [u.id for u in users] == [1, 2, 3]


def test_rollback_undoes_add_all(session, User, read_rows):
    users = [User(id=i, name=f"u{i}") for i in (1, 2)]
    session.add_all(users)
    session.rollback()
    assert all(inspect(u).transient for u in users)
    assert not list(session.new)
    session.commit()
    assert read_rows(User.__table__) == []


def test_add_all_mixes_new_persistent_and_cascaded_objects(session, models, read_rows):
    User, Address = models
    session.add(User(id=1, name="old"))
    session.commit()
    old = session.get(User, 1)
    session.expunge(old)
    parent = User(id=2, name="new", addresses=[Address(id=1, email="e")])
    lone = Address(id=2, email="lone")
    session.add_all([old, parent, lone])
    assert inspect(old).persistent
    assert inspect(parent).pending and inspect(parent.addresses[0]).pending  # cascaded
    assert inspect(lone).pending
    old.name = "renamed"
    session.commit()
    assert read_rows(User.__table__) == [(1, "renamed"), (2, "new")]
    assert read_rows(Address.__table__) == [(1, "e", 2), (2, "lone", None)]


def test_add_all_tells_the_session_listeners_of_each_object(session, User):
    seen = []
    event.listen(session, "transient_to_pending", lambda s, obj: seen.append(obj.name))
    session.add_all([User(name="a"), User(name="b")])
    assert seen == ["a", "b"]


def test_add_all_of_an_object_already_pending_keeps_one_entry(session, User):
    u = User(name="a")
    session.add(u)
    session.add_all([u, u])
    assert list(session.new) == [u]
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(User.__table__)) == 1
