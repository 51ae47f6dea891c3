"""``Session.get()`` of a key not in the identity map runs its cached SELECT on the
driver's cursor when nothing of Core's execution would show (no statement event
listeners, no logging, no execution options): the objects, the errors, the
listeners and the log are what Core's own execution gives."""

from __future__ import annotations

import datetime
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, DateTime, Integer, String, event

from datamapper import Session, declarative_base


def _models(metadata):
    Base = declarative_base(metadata=metadata)

    class Item(Base):
        __tablename__ = "drv_item"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Stamp(Base):  # a column whose values Core converts (SQLite: DATETIME text)
        __tablename__ = "drv_stamp"
        id = Column(Integer, primary_key=True)
        at = Column(DateTime)

    return Item, Stamp


@pytest.fixture
def models(metadata, engine):
    Item, Stamp = _models(metadata)
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Item(id=i, name=f"n{i}") for i in range(1, 6)])
        s.add_all([Stamp(id=1, at=datetime.datetime(2020, 1, 2, 3, 4, 5))])
        s.commit()
    return Item, Stamp


def test_get_misses_load_the_rows_and_a_missing_key_gives_none(models, engine):
    Item, Stamp = models
    with Session(engine) as s:
        got = [s.get(Item, i) for i in (3, 1, 5)]
        assert [(o.id, o.name) for o in got] == [(3, "n3"), (1, "n1"), (5, "n5")]
        assert s.get(Item, 3) is got[0]
        assert s.get(Item, 99) is None
        again = s.get(Stamp, 1)
        assert again.at == datetime.datetime(2020, 1, 2, 3, 4, 5)  # converted, as by Core
        assert s.get(Stamp, 1) is again
        got[1].name = "changed"  # autoflushed before the next miss, as before any query
        assert s.get(Item, 2).name == "n2"
        s.commit()
    with Session(engine) as s:
        assert s.get(Item, 1).name == "changed"


def test_statement_listeners_and_the_log_see_every_get(models, engine, caplog):
    Item, _Stamp = models
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(parameters)

    with Session(engine) as s:
        assert s.get(Item, 1).name == "n1"
        event.listen(engine, "before_cursor_execute", before)
        try:
            assert s.get(Item, 2).name == "n2"
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert len(seen) == 1 and 2 in (list(seen[0].values()) if isinstance(seen[0], dict)
                                        else list(seen[0]))
        assert s.get(Item, 3).name == "n3"
    assert len(seen) == 1
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        engine.echo = True
        try:
            with Session(engine) as s2:
                assert s2.get(Item, 4).name == "n4"
        finally:
            engine.echo = False
    assert any("drv_item" in r.getMessage() and "SELECT" in r.getMessage()
               for r in caplog.records)


def test_a_failing_get_raises_the_error_core_raises(models, engine, metadata):
    Item, _Stamp = models
    with Session(engine) as s:
        assert s.get(Item, 1) is not None  # the statement is compiled for this engine
        s.rollback()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE drv_item"))
    try:
        with Session(engine) as s:
            with pytest.raises(sa.exc.DBAPIError, match="drv_item"):
                s.get(Item, 2)
            s.rollback()
    finally:
        metadata.tables["drv_item"].create(engine)


@pytest.mark.sqlite_only
def test_the_get_select_reaches_sqlite_once_per_miss(metadata, tmp_path):
    # a plain engine (no listeners at all): what the driver runs is traced by SQLite
    engine = sa.create_engine(f"sqlite:///{tmp_path}/plain.db")
    traced: list[str] = []

    @event.listens_for(engine, "connect")
    def _trace(dbapi_conn, _record):
        dbapi_conn.set_trace_callback(traced.append)

    Item, _Stamp = _models(metadata)
    metadata.create_all(engine)
    try:
        with Session(engine) as s:
            s.add_all([Item(id=1, name="a"), Item(id=2, name="b")])
            s.commit()
        with Session(engine) as s:
            traced.clear()
            objs = [s.get(Item, i) for i in (1, 2, 1)]  # kept: the third is a hit
            assert [o.name for o in objs] == ["a", "b", "a"] and objs[0] is objs[2]
            assert s.get(Item, 7) is None
            selects = [t for t in traced if t.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 3 and all("drv_item" in t for t in selects)
    finally:
        engine.dispose()
