"""An object whose DELETE was flushed and that is then expunged stays detached
and deleted through a rollback; one that is not expunged comes back."""

from datamapper import object_session, was_deleted


def _flushed_delete(make_session, User):
    s = make_session()
    s.add(User(id=1, name="ann"))
    s.commit()
    u = s.get(User, 1)
    s.delete(u)
    s.flush()
    return s, u


def test_expunged_after_flushed_delete_stays_out_after_rollback(
    engine, make_session, User, read_rows
):
    s, u = _flushed_delete(make_session, User)
    s.expunge(u)
    assert object_session(u) is None
    s.rollback()
    assert was_deleted(u)
    assert u not in s
    assert object_session(u) is None
    assert read_rows(User.__table__) == [(1, "ann", None)]
    assert s.get(User, 1) is not u  # a fresh object for the row that is back


def test_flushed_delete_not_expunged_is_restored_by_rollback(engine, make_session, User):
    s, u = _flushed_delete(make_session, User)
    s.rollback()
    assert not was_deleted(u)
    assert u in s
    assert s.get(User, 1) is u


def test_expunged_after_flushed_delete_in_savepoint_stays_out(
    engine, make_session, User, read_rows
):
    s = make_session()
    s.add(User(id=1, name="ann"))
    s.commit()
    u = s.get(User, 1)
    s.begin_nested()
    s.delete(u)
    s.flush()
    s.expunge(u)
    s.rollback()  # the savepoint
    assert u not in s
    assert was_deleted(u)
    s.commit()
    assert read_rows(User.__table__) == [(1, "ann", None)]
