"""A deleted object leaves the session at commit detached, not expired: its loaded
values stay readable without SQL, and make_transient() + add() writes them again."""

import pytest

from datamapper import inspect, make_transient, make_transient_to_detached


@pytest.fixture
def models(parent_child_models):
    return parent_child_models


@pytest.fixture
def seeded(models, make_session):
    Parent, Child = models
    s = make_session()
    s.add_all([Parent(id=1, name="p1", children=[Child(id=1, code="c1"),
                                                 Child(id=2, code="c2")]),
               Parent(id=2, name="p2")])
    s.commit()
    s.close()
    return models


@pytest.fixture(params=[True, False], ids=["weak_map", "strong_map"])
def session(request, make_session):
    return make_session(weak_identity_map=request.param)


def _assert_kept(obj, sql_log, **values):
    state = inspect(obj)
    assert state.detached and state.was_deleted
    assert not state.expired_attributes
    sql_log.clear()
    for k, v in values.items():
        assert getattr(obj, k) == v
    assert sql_log.statements == []


def _reinsert(session, obj):
    make_transient(obj)
    session.add(obj)
    session.commit()


def test_delete_then_commit_keeps_loaded_values(seeded, session, read_rows, sql_log):
    Parent, _c = seeded
    p = session.get(Parent, 2)
    session.delete(p)
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p1")]
    _assert_kept(p, sql_log, id=2, name="p2")
    _reinsert(session, p)
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "p2")]


def test_delete_flush_then_commit_keeps_loaded_values(seeded, session, read_rows, sql_log):
    Parent, _c = seeded
    p = session.get(Parent, 2)
    session.delete(p)
    session.flush()
    session.commit()
    _assert_kept(p, sql_log, id=2, name="p2")
    _reinsert(session, p)
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "p2")]


def test_delete_in_savepoint_then_commit_keeps_loaded_values(seeded, session, read_rows,
                                                             sql_log):
    Parent, _c = seeded
    p = session.get(Parent, 2)
    with session.begin_nested():
        session.delete(p)
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p1")]
    _assert_kept(p, sql_log, id=2, name="p2")
    _reinsert(session, p)
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "p2")]


@pytest.mark.parametrize("weak", [True, False], ids=["weak_map", "strong_map"])
def test_delete_without_expire_on_commit_keeps_loaded_values(seeded, make_session, read_rows,
                                                             sql_log, weak):
    Parent, _c = seeded
    s = make_session(expire_on_commit=False, weak_identity_map=weak)
    p = s.get(Parent, 2)
    s.delete(p)
    s.commit()
    _assert_kept(p, sql_log, id=2, name="p2")
    _reinsert(s, p)
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "p2")]


def test_objects_deleted_by_cascade_keep_loaded_values(seeded, session, read_rows, sql_log):
    Parent, Child = seeded
    p = session.get(Parent, 1)
    session.commit()  # expired: the cascade loads the children
    assert p.name == "p1"
    children = list(p.children)
    session.delete(p)
    session.commit()
    assert read_rows(Child.__table__) == []
    _assert_kept(p, sql_log, id=1, name="p1", children=children)
    for c, (cid, code) in zip(children, [(1, "c1"), (2, "c2")], strict=True):
        _assert_kept(c, sql_log, id=cid, code=code, parent_id=1)


def test_orphan_deleted_at_commit_keeps_loaded_values(seeded, session, read_rows, sql_log):
    Parent, Child = seeded
    p = session.get(Parent, 1)
    orphan = p.children.pop(0)
    session.commit()
    assert [r[0] for r in read_rows(Child.__table__)] == [2]
    _assert_kept(orphan, sql_log, id=1, code="c1", parent=None)
    _reinsert(session, orphan)  # parent None (the backref cleared it): written as NULL
    assert read_rows(Child.__table__) == [(1, "c1", None), (2, "c2", 1)]


def test_deleted_object_made_transient_then_detached_keeps_values(seeded, session, sql_log):
    Parent, _c = seeded
    p = session.get(Parent, 2)
    session.delete(p)
    session.commit()
    make_transient(p)
    make_transient_to_detached(p)
    state = inspect(p)
    assert state.detached and state.key == (Parent, (2,), None)
    assert not state.expired_attributes
    sql_log.clear()
    assert (p.id, p.name) == (2, "p2")
    assert sql_log.statements == []


def test_expired_objects_deleted_are_loaded_first_and_keep_their_values(
        seeded, session, read_rows, sql_log):
    """Objects expired (by a commit, a rollback) when deleted are loaded by the flush,
    one SELECT per class, so they too keep their values after the commit."""
    Parent, _c = seeded
    p1, p2 = session.get(Parent, 1), session.get(Parent, 2)
    session.commit()  # both expired now
    session.delete(p2)
    session.delete(p1)
    sql_log.clear()
    session.commit()
    assert len([s for s in sql_log.statements if "FROM parents" in s]) == 1
    _assert_kept(p2, sql_log, id=2, name="p2")
    _assert_kept(p1, sql_log, id=1, name="p1")
    _reinsert(session, p2)
    assert read_rows(Parent.__table__) == [(2, "p2")]
