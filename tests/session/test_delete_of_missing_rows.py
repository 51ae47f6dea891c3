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
