"""add(), delete() and the first attribute change on a persistent object begin
the session's transaction; rollback() with nothing begun changes nothing."""

import pytest

from datamapper import exc


def _committed_user(make_session, User, expire_on_commit=False):
    s = make_session(expire_on_commit=expire_on_commit)
    u = User(id=1, name="ann")
    s.add(u)
    s.commit()
    assert not s.in_transaction()
    return s, u


def test_attribute_change_begins_transaction_and_rollback_restores_it(
    engine, make_session, User, read_rows, sql_log
):
    s, u = _committed_user(make_session, User)
    sql_log.clear()
    u.name = "bob"
    assert s.in_transaction()
    assert sql_log.count == 0  # beginning the session transaction sends nothing
    s.rollback()
    assert "name" not in u.__dict__  # expired by the rollback
    assert u.name == "ann"
    assert read_rows(User.__table__) == [(1, "ann", None)]


def test_add_begins_transaction(engine, make_session, User, read_rows):
    s, u = _committed_user(make_session, User)
    newcomer = User(id=2, name="cy")
    s.add(newcomer)
    assert s.in_transaction()
    s.rollback()
    assert newcomer not in s
    assert "name" not in u.__dict__
    assert read_rows(User.__table__) == [(1, "ann", None)]


def test_delete_begins_transaction(engine, make_session, User, read_rows):
    s, u = _committed_user(make_session, User)
    s.delete(u)
    assert s.in_transaction()
    s.rollback()
    assert u in s
    assert u not in s.deleted
    assert read_rows(User.__table__) == [(1, "ann", None)]


def test_rollback_with_nothing_begun_keeps_loaded_values(engine, make_session, User):
    s, u = _committed_user(make_session, User)
    s.rollback()
    assert u.__dict__["name"] == "ann"  # still loaded: nothing was begun to roll back
    assert not s.in_transaction()


def test_change_inside_closed_begin_block_is_refused_and_value_kept(engine, make_session, User):
    s, u = _committed_user(make_session, User)
    u.name  # noqa: B018  loaded
    with s.begin():
        s.commit()
        with pytest.raises(exc.InvalidRequestError, match="closed transaction"):
            u.name = "zed"
        assert u.name == "ann"
        assert u not in s.dirty
