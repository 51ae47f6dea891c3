"""Defects found by the Session state machine (tests/reliability/test_session_statem.py).

- ``close()`` left objects whose DELETE had been flushed in the closed
  transaction in the "deleted" state, still claiming the closed Session; the
  close rolls the DELETE back, so they must end detached.
- ``get()`` answered None for an object marked with ``delete()`` but not yet
  flushed, although it is still in the identity map (and its row still exists).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import Session, declarative_base, inspect


@pytest.fixture
def Item(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20))
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    metadata.create_all(engine)
    return Item


def _lifecycle(obj):
    st = inspect(obj)
    return [s for s in ("transient", "pending", "persistent", "deleted", "detached")
            if getattr(st, s)]


@pytest.mark.parametrize("nested", [0, 1, 2])
def test_close_detaches_objects_deleted_in_the_closed_transaction(engine, Item, read_rows,
                                                                  nested):
    with Session(engine) as s:
        s.add(Item(id=1, name="a"))
        s.commit()
    s = Session(engine)
    a = s.get(Item, 1)
    for _ in range(nested):
        s.begin_nested()
    s.delete(a)
    s.flush()
    assert _lifecycle(a) == ["deleted"]
    s.close()
    assert _lifecycle(a) == ["detached"]
    assert inspect(a).session is None
    assert read_rows(Item.__table__) == [(1, "a", 1)]
    # the detached object can join a new session and be changed
    s2 = Session(engine)
    s2.add(a)
    a.name = "b"
    s2.commit()
    assert read_rows(Item.__table__) == [(1, "b", 2)]
    s2.close()


@pytest.mark.parametrize("expired", [False, True])
def test_get_returns_an_object_marked_deleted_but_not_flushed(engine, Item, sql_log, expired):
    s = Session(engine)
    a = Item(id=1, name="a")
    s.add(a)
    s.commit()
    if not expired:
        assert a.name == "a"
    s.delete(a)
    with s.no_autoflush:
        assert s.get(Item, 1) is a
    assert a in s.deleted
    s.flush()
    assert s.get(Item, 1) is None
    s.close()
