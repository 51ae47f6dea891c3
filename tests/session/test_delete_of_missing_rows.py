"""Deleting objects whose rows are already gone.

Without a version counter a DELETE that matches fewer rows than objects means
only that the rows were removed already (by another transaction or a statement
outside the flush): the outcome the program asked for.  The flush warns
(``SAWarning``, naming the table and the counts) and the objects become deleted;
``confirm_deleted_rows=False`` on the mapper silences the warning.  With a
version counter the same mismatch is a stale version and raises StaleDataError."""

import warnings

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, text

from datamapper import exc, inspect, registry


def _mapped(engine, versioned=False, **mapper_kw):
    metadata = MetaData()
    cols = [Column("id", Integer, primary_key=True, autoincrement=False),
            Column("data", String(10))]
    if versioned:
        cols.append(Column("ver", Integer, nullable=False))
    t = Table("parent", metadata, *cols)

    class Parent:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    if versioned:
        mapper_kw["version_id_col"] = t.c.ver
    registry(metadata=metadata).map_imperatively(Parent, t, **mapper_kw)
    metadata.create_all(engine)
    return Parent, t


def _two_deleted_behind_our_back(Parent, s):
    p1, p2 = Parent(id=1, data="a"), Parent(id=2, data="b")
    s.add_all([p1, p2])
    s.flush()
    s.execute(text("DELETE FROM parent"))
    s.delete(p1)
    s.delete(p2)
    return p1, p2


def test_delete_of_missing_rows_warns_and_completes(engine, make_session, read_rows, sql_log):
    Parent, t = _mapped(engine)
    s = make_session()
    p1, p2 = _two_deleted_behind_our_back(Parent, s)
    sql_log.clear()
    with pytest.warns(exc.SAWarning, match=r"table 'parent' matched 0 of the 2 row"):
        s.flush()
    assert len(sql_log.matching("DELETE")) == 1
    assert inspect(p1).deleted and inspect(p2).deleted
    s.commit()
    assert read_rows(t) == []


def test_confirm_deleted_rows_false_is_silent(engine, make_session, read_rows):
    Parent, t = _mapped(engine, confirm_deleted_rows=False)
    s = make_session()
    p1, p2 = _two_deleted_behind_our_back(Parent, s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.flush()
    assert inspect(p1).deleted and inspect(p2).deleted
    s.commit()
    assert read_rows(t) == []


def test_versioned_delete_of_missing_row_still_raises(engine, make_session, read_rows):
    Parent, t = _mapped(engine, versioned=True)
    s = make_session(expire_on_commit=False)
    p = Parent(id=1, data="a")
    s.add(p)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM parent"))
    s.delete(p)
    with pytest.raises(exc.StaleDataError):
        s.flush()
    s.rollback()
    assert read_rows(t) == []


def test_delete_again_of_an_object_a_flush_deleted_sends_the_delete_again(
        engine, make_session, read_rows, sql_log):
    """delete() of an object whose row this session's flush already deleted marks it
    deleted again (it is back in session.deleted); the next flush's DELETE matches
    no row and warns."""
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = Parent(id=1, data="a")
    s.add(p1)
    s.commit()
    s.delete(p1)
    s.flush()
    assert inspect(p1).deleted and p1 not in s.deleted
    s.delete(p1)
    assert p1 in s.deleted
    sql_log.clear()
    with pytest.warns(exc.SAWarning, match=r"table 'parent' matched 0 of the 1 row"):
        s.commit()
    assert len(sql_log.matching("DELETE")) == 1
    assert inspect(p1).detached and read_rows(t) == []


def test_delete_again_after_rollback_of_the_flush_deletes_once(engine, make_session,
                                                               read_rows):
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = Parent(id=1, data="a")
    s.add(p1)
    s.commit()
    s.delete(p1)
    s.flush()
    s.rollback()
    assert inspect(p1).persistent
    s.delete(p1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.commit()
    assert read_rows(t) == []


@pytest.mark.parametrize("where", ["same_session", "other_session"])
def test_delete_of_an_object_whose_deletion_was_committed_sends_the_delete_again(
        engine, make_session, read_rows, sql_log, where):
    """After the commit of its deletion the object is detached; delete() attaches it
    again (to this or another session) and marks it deleted, as for an object a
    flush of the session deleted: the DELETE matches no row and warns."""
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = Parent(id=1, data="a")
    s.add(p1)
    s.commit()
    s.delete(p1)
    s.commit()
    assert inspect(p1).detached
    s2 = s if where == "same_session" else make_session()
    s2.delete(p1)
    assert p1 in s2.deleted and inspect(p1).session is s2
    sql_log.clear()
    with pytest.warns(exc.SAWarning, match=r"table 'parent' matched 0 of the 1 row"):
        s2.commit()
    assert len(sql_log.matching("DELETE")) == 1
    assert inspect(p1).detached and read_rows(t) == []


def test_delete_of_an_object_another_session_flushed_as_deleted_is_refused(
        engine, make_session, read_rows):
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = Parent(id=1, data="a")
    s.add(p1)
    s.commit()
    s.delete(p1)
    s.flush()
    s2 = make_session()
    with pytest.raises(exc.InvalidRequestError, match="deleted by a flush of another session"):
        s2.delete(p1)
    assert p1 not in s2.deleted
    s.rollback()
    assert read_rows(t) == [(1, "a")]


def _deleted_again(Parent, s):
    """p1's DELETE flushed, then delete(p1) again (marked, back in the identity map)."""
    p1 = Parent(id=1, data="a")
    s.add(p1)
    s.commit()
    s.delete(p1)
    s.flush()
    s.delete(p1)
    assert p1 in s.deleted
    return p1


def test_add_of_an_object_deleted_again_is_refused_and_it_stays_marked(
        engine, make_session, read_rows, sql_log):
    """add() refuses an object whose DELETE was flushed, also after it was deleted
    again; the refusal leaves it marked, so the next flush sends its DELETE again."""
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = _deleted_again(Parent, s)
    with pytest.raises(exc.InvalidRequestError, match="has been deleted"):
        s.add(p1)
    assert p1 in s.deleted and inspect(p1).deleted
    sql_log.clear()
    with pytest.warns(exc.SAWarning, match=r"table 'parent' matched 0 of the 1 row"):
        s.commit()
    assert len(sql_log.matching("DELETE")) == 1
    assert read_rows(t) == []


def test_expire_of_an_object_deleted_again(engine, make_session, read_rows, sql_log):
    """An object deleted again is back in the identity map: expire() accepts it (its
    row is gone, so the flush can't load it: ObjectDeletedError, and the flush's
    transaction is rolled back, bringing the first DELETE back)."""
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = _deleted_again(Parent, s)
    s.expire(p1, ["data"])
    assert "data" not in p1.__dict__ and p1 in s.deleted
    s.expire(p1)
    assert inspect(p1).expired and p1 in s.deleted
    sql_log.clear()
    with pytest.raises(exc.ObjectDeletedError):
        s.flush()
    assert sql_log.matching("DELETE") == []
    with pytest.raises(exc.PendingRollbackError):
        s.flush()
    s.rollback()
    assert inspect(p1).persistent and p1 not in s.deleted
    assert p1.data == "a"  # the row is back: the first DELETE was rolled back
    s.commit()
    assert read_rows(t) == [(1, "a")]


def test_refresh_of_an_object_deleted_again_finds_no_row(engine, make_session, read_rows):
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = _deleted_again(Parent, s)
    with s.no_autoflush, pytest.raises(exc.InvalidRequestError, match="no longer in the database"):
        s.refresh(p1)
    assert p1 in s.deleted
    s.rollback()
    assert read_rows(t) == [(1, "a")]


def test_expire_of_an_object_whose_delete_was_flushed_is_still_refused(engine, make_session):
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = Parent(id=1, data="a")
    s.add(p1)
    s.commit()
    s.delete(p1)
    s.flush()
    for verb in (s.expire, s.refresh):
        with pytest.raises(exc.InvalidRequestError, match="not persistent within this Session"):
            verb(p1)


@pytest.mark.parametrize("expired", ["all", "data"])
def test_delete_of_an_expired_object_whose_row_is_gone(
        engine, make_session, read_rows, sql_log, expired):
    """Expired with its key, the object can't be loaded by the flush that deletes it:
    ObjectDeletedError, and the flush's transaction is rolled back (as SQLAlchemy).
    With its key loaded, the DELETE is sent and matches no row (a warning)."""
    Parent, t = _mapped(engine)
    s = make_session()
    p1 = Parent(id=1, data="a")
    s.add(p1)
    s.commit()
    assert p1.data == "a"
    s.expire(p1, None if expired == "all" else ["data"])
    s.execute(text("DELETE FROM parent"))
    s.delete(p1)
    sql_log.clear()
    if expired == "all":
        with pytest.raises(exc.ObjectDeletedError, match="no longer in the database"):
            s.flush()
        assert sql_log.matching("DELETE") == []
        with pytest.raises(exc.PendingRollbackError):
            s.commit()
        s.rollback()
        assert inspect(p1).persistent and p1 not in s.deleted
        assert read_rows(t) == [(1, "a")]
    else:
        with pytest.warns(exc.SAWarning, match=r"table 'parent' matched 0 of the 1 row"):
            s.commit()
        assert len(sql_log.matching("DELETE")) == 1
        assert inspect(p1).detached and read_rows(t) == []
