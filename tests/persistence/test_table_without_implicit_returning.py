"""A Table made with ``implicit_returning=False`` (for instance a table whose
triggers forbid RETURNING / OUTPUT): the flush never adds RETURNING to its
statements; generated keys come from the driver's last inserted id, one row at a
time, and a key given as a SQL expression is evaluated by a SELECT first."""

import pytest
from sqlalchemy import Column, Integer, String, func, select

from datamapper import inspect


@pytest.fixture
def Item(Base, engine):
    class Item(Base):
        __tablename__ = "nir_items"
        __table_args__ = {"implicit_returning": False}
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    return Item


def _returning(sql_log):
    return [s for s in sql_log.statements if "RETURNING" in s.upper()]


def test_generated_keys_without_returning(Item, session, read_rows, sql_log):
    items = [Item(name=n) for n in ("a", "b", "c")]
    session.add_all(items)
    session.flush()
    assert _returning(sql_log) == []
    assert [i.id for i in items] == [1, 2, 3]
    session.commit()
    assert read_rows(Item.__table__) == [(1, "a"), (2, "b"), (3, "c")]


def test_sql_expression_key_without_returning(Item, session, read_rows, sql_log):
    session.add(Item(id=5, name="first"))
    session.commit()
    sql_log.clear()
    new = Item(id=select(func.max(Item.id) + 1).scalar_subquery(), name="second")
    session.add(new)
    session.flush()
    assert new.id == 6
    assert inspect(new).identity == (6,)
    old = session.get(Item, 5)
    old.id = select(func.max(Item.id) + 10).scalar_subquery()
    session.flush()
    assert old.id == 16
    assert _returning(sql_log) == []
    session.commit()
    assert read_rows(Item.__table__) == [(6, "second"), (16, "first")]
