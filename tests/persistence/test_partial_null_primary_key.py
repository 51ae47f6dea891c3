"""A composite primary key with some (not all) columns NULL.

With ``allow_partial_pks=True`` (the default) such a row is a valid identity: the
INSERT leaves the NULL column out, the object is filed under ``("1", None)`` and
loads of the row find it.  An UPDATE or DELETE cannot find the row by ``col = NULL``
and is refused with a FlushError naming the column, before any statement is sent.
A key of nothing but NULLs is refused at INSERT.  SQLite only: the servers do not
accept NULL in primary key columns."""

import pytest
from sqlalchemy import Column, MetaData, String, Table

from datamapper import exc, inspect, registry


@pytest.fixture
def T1(engine):
    metadata = MetaData()
    t1 = Table("t1", metadata,
               Column("col1", String(10), primary_key=True, nullable=True),
               Column("col2", String(10), primary_key=True, nullable=True),
               Column("col3", String(50)))

    class T1:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    registry(metadata=metadata).map_imperatively(T1, t1)
    metadata.create_all(engine)
    return T1


pytestmark = pytest.mark.sqlite_only


def test_insert_with_partial_null_key_files_identity(T1, make_session, read_rows, sql_log):
    s = make_session()
    t = T1(col1="1", col2=None, col3="x")
    s.add(t)
    s.commit()
    assert inspect(t).identity == ("1", None)
    assert read_rows("SELECT col1, col2, col3 FROM t1") == [("1", None, "x")]
    assert s.query(T1).first() is t
    t.col1 = "1"  # no net change: nothing to write, nothing refused
    sql_log.clear()
    s.commit()
    assert sql_log.matching("UPDATE") == []


@pytest.mark.parametrize("change", ["key", "plain", "delete"])
def test_update_or_delete_by_null_key_column_is_refused(T1, make_session, read_rows, sql_log,
                                                       change):
    s = make_session()
    s.add(T1(col1="1", col2=None, col3="x"))
    s.commit()
    t = s.query(T1).first()
    if change == "key":
        t.col2 = "5"
    elif change == "plain":
        t.col3 = "hi"
    else:
        s.delete(t)
    sql_log.clear()
    with pytest.raises(exc.FlushError, match="column t1.col2 is NULL"):
        s.flush()
    assert sql_log.matching("UPDATE") == [] and sql_log.matching("DELETE") == []
    s.rollback()
    assert read_rows("SELECT col1, col2, col3 FROM t1") == [("1", None, "x")]


def test_all_null_key_is_refused_at_insert(T1, make_session, read_rows):
    s = make_session()
    s.add(T1(col1=None, col2=None))
    with pytest.raises(exc.FlushError, match="NULL"):
        s.commit()
    s.rollback()
    assert read_rows("SELECT col1, col2 FROM t1") == []
