"""get() of an object expired as a whole loads it to see that its row still exists.
When the load finds no row, the object is deleted (out of the identity map, still
attached: ``inspect(obj).deleted``) until the transaction ends, as for a flushed
DELETE, and get() looks the key up in the database as for a miss. When the load
failed because its autoflush failed (an object deleted again after its flushed
DELETE, then expired: the flush can't load it), the transaction was rolled back and
get() raises PendingRollbackError instead of answering None as if nothing happened
(as SQLAlchemy). (Found by the differential test:
KNOWN_PROGRAMS["refresh_of_redeleted_object_then_get"].)"""

import pytest

from datamapper import inspect
from datamapper.exc import InvalidRequestError, PendingRollbackError


@pytest.fixture
def filled(parent_child_models, make_session):
    Parent, Child = parent_child_models
    s = make_session()
    s.add_all([Parent(id=1, name="a", children=[Child(id=1)]), Parent(id=2, name="b")])
    s.commit()
    s.close()
    return Parent, Child


def test_get_finding_the_row_gone_leaves_the_object_deleted(filled, make_session, sql_log):
    Parent, Child = filled
    s = make_session()
    p = s.get(Parent, 2)
    s.expire(p)
    s.execute(Parent.__table__.delete().where(Parent.__table__.c.id == 2))
    sql_log.clear()
    assert s.get(Parent, 2) is None
    assert inspect(p).deleted and p not in s
    # the object's load, then the lookup of the key
    assert len(sql_log.matching("SELECT")) == 2
    s.rollback()
    assert inspect(p).persistent and p.name == "b"


def test_get_after_a_failed_autoflush_raises_pending_rollback(filled, make_session,
                                                               read_rows):
    Parent, Child = filled
    s = make_session()
    p = s.get(Parent, 1)
    s.delete(p)
    s.flush()
    s.delete(p)  # deleted again: the next flush deletes it again
    with s.no_autoflush, pytest.raises(InvalidRequestError, match="no longer in the database"):
        s.refresh(p)  # expires it, then finds no row
    with pytest.raises(PendingRollbackError):
        s.get(Parent, 1)  # its autoflush can't load p: the transaction is rolled back
    s.rollback()
    assert inspect(p).persistent
    assert s.get(Parent, 1) is p and p.name == "a"
    assert read_rows("select id, name from parents order by id") == [(1, "a"), (2, "b")]
    assert read_rows("select id, parent_id from children") == [(1, 1)]
    s.close()
