"""The flush writes UPDATEs and DELETEs of one class in primary-key order.  A key
type whose Python values can't be ordered is ordered by the column type's
``sort_key_function`` when it has one (``Enum`` sorts by the stored name);
without one, the flush is refused with InvalidRequestError naming the class,
before any statement is sent."""

import pytest
from sqlalchemy import Column, Enum, MetaData, String, Table

from datamapper import exc, registry


class Unsortable:
    """An enum-like value class with no ordering (PEP 435 shape Enum() accepts)."""

    __members__: dict = {}

    def __init__(self, name, value):
        self.name = name
        self.value = value
        self.__members__[name] = self
        setattr(type(self), name, self)


THREE = Unsortable("three", 3)
FOUR = Unsortable("four", 4)


def _mapped(engine, **enum_kw):
    metadata = MetaData()
    t = Table("t2", metadata,
              Column("id", Enum(Unsortable, create_constraint=False, **enum_kw),
                     primary_key=True),
              Column("data", String(10)))

    class T2:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    registry(metadata=metadata).map_imperatively(T2, t)
    metadata.create_all(engine)
    return T2, t


def test_unsortable_keys_without_sort_function_are_refused(engine, make_session, read_rows,
                                                          sql_log):
    T2, t = _mapped(engine, sort_key_function=None)
    s = make_session()
    a, b = T2(id=THREE, data="a"), T2(id=FOUR, data="b")
    s.add_all([a, b])
    s.commit()
    a.data = "bar"
    b.data = "foo"
    sql_log.clear()
    with pytest.raises(exc.InvalidRequestError, match="T2.*can't be ordered"):
        s.flush()
    assert sql_log.matching("UPDATE") == []
    s.rollback()
    assert sorted(read_rows("SELECT id, data FROM t2")) == [("four", "b"), ("three", "a")]


def test_sort_key_function_orders_unsortable_keys(engine, make_session, read_rows, sql_log):
    T2, t = _mapped(engine)  # Enum's own sort key: the stored name
    s = make_session()
    a, b = T2(id=THREE, data="a"), T2(id=FOUR, data="b")
    s.add_all([a, b])
    s.commit()
    a.data = "bar"
    b.data = "foo"
    sql_log.clear()
    s.commit()
    updates = sql_log.matching("UPDATE")
    assert len(updates) in (1, 2)  # one executemany, or one statement per row
    assert sorted(read_rows("SELECT id, data FROM t2")) == [("four", "foo"), ("three", "bar")]
