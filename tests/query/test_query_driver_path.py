"""A query (``query().all()``, ``session.scalars(select())``) whose SELECT is in Core's
compiled cache runs on the driver's cursor when nothing of Core's execution would
show (no statement event listeners, no logging, no execution options but
``compiled_cache``): each run sends its own values, rows whose columns Core converts
are converted, and listeners, the log, errors and schema translation are what Core's
own execution gives."""

from __future__ import annotations

import datetime
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, DateTime, Integer, String, event

from datamapper import Session, declarative_base, select


def _models(metadata):
    Base = declarative_base(metadata=metadata)

    class Item(Base):
        __tablename__ = "drvq_item"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Stamp(Base):  # a column whose values Core converts (SQLite: DATETIME text)
        __tablename__ = "drvq_stamp"
        id = Column(Integer, primary_key=True)
        at = Column(DateTime)

    return Item, Stamp


def _fill(engine, Item, Stamp):
    with Session(engine) as s:
        s.add_all([Item(id=i, name=f"n{i}") for i in range(1, 21)])
        s.add_all([Stamp(id=i, at=datetime.datetime(2020, 1, i)) for i in range(1, 4)])
        s.commit()


@pytest.fixture
def models(metadata, engine):
    Item, Stamp = _models(metadata)
    metadata.create_all(engine)
    _fill(engine, Item, Stamp)
    return Item, Stamp


def _ranges(s, Item, style):
    out = []
    for lo in (1, 6, 11, 16, 3):
        if style == "query":
            got = s.query(Item).filter(Item.id >= lo, Item.id < lo + 5).order_by(Item.id).all()
        else:
            got = s.scalars(select(Item).where(Item.id >= lo, Item.id < lo + 5)
                            .order_by(Item.id)).all()
        out.append([(o.id, o.name) for o in got])
    return out


@pytest.mark.parametrize("style", ["query", "select"])
def test_repeated_queries_of_one_shape_give_each_its_own_rows(models, engine, style):
    Item, Stamp = models
    with Session(engine) as s:
        got = _ranges(s, Item, style)
        assert got == [[(i, f"n{i}") for i in range(lo, lo + 5)] for lo in (1, 6, 11, 16, 3)]
        # the rows of a repeated range are the objects of the identity map
        first = s.query(Item).filter(Item.id >= 3, Item.id < 5).all()
        assert first == s.query(Item).filter(Item.id >= 3, Item.id < 5).all()
        assert s.query(Item).filter(Item.id == 99).all() == []
        # bound values Core converts (DateTime), rows Core converts
        for day in (1, 2, 3, 2):
            stamp = s.query(Stamp).filter(Stamp.at == datetime.datetime(2020, 1, day)).one()
            assert stamp.id == day and stamp.at == datetime.datetime(2020, 1, day)
        # unflushed changes are flushed before each query, as ever
        s.get(Item, 4).name = "changed"
        assert [o.id for o in s.query(Item).filter(Item.name == "changed").all()] == [4]
        assert [o.id for o in s.query(Item).filter(Item.name == "n5").all()] == [5]


def test_statement_listeners_and_the_log_see_every_query(models, engine, caplog):
    Item, _Stamp = models
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "drvq_item" in statement:
            seen.append(parameters)

    with Session(engine) as s:
        for lo in (1, 2, 3):
            assert s.query(Item).filter(Item.id == lo).one().name == f"n{lo}"
        event.listen(engine, "before_cursor_execute", before)
        try:
            assert s.query(Item).filter(Item.id == 7).one().name == "n7"
            assert s.scalars(select(Item).where(Item.id == 8)).one().name == "n8"
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert len(seen) == 2
        assert s.query(Item).filter(Item.id == 9).one().name == "n9"
    assert len(seen) == 2
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        engine.echo = True
        try:
            with Session(engine) as s2:
                assert s2.query(Item).filter(Item.id == 4).one().name == "n4"
        finally:
            engine.echo = False
    assert any("drvq_item" in r.getMessage() and "SELECT" in r.getMessage()
               for r in caplog.records)


def test_a_failing_query_raises_the_error_core_raises(models, engine, metadata):
    Item, _Stamp = models
    with Session(engine) as s:
        for lo in (1, 2):  # compiled, cached, and known to need no row processing
            assert s.query(Item).filter(Item.id == lo).one() is not None
        s.rollback()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE drvq_item"))
    try:
        with Session(engine) as s:
            with pytest.raises(sa.exc.DBAPIError, match="drvq_item"):
                s.query(Item).filter(Item.id == 3).all()
            s.rollback()
    finally:
        metadata.tables["drvq_item"].create(engine)


@pytest.mark.sqlite_only
def test_each_query_reaches_sqlite_once_with_its_values(metadata, tmp_path):
    # a plain engine (no listeners at all): what the driver runs is traced by SQLite
    engine = sa.create_engine(f"sqlite:///{tmp_path}/plain.db")
    traced: list[str] = []

    @event.listens_for(engine, "connect")
    def _trace(dbapi_conn, _record):
        dbapi_conn.set_trace_callback(traced.append)

    Item, Stamp = _models(metadata)
    metadata.create_all(engine)
    try:
        _fill(engine, Item, Stamp)
        with Session(engine) as s:
            traced.clear()
            got = [s.query(Item).filter(Item.id == i).one().name for i in (5, 6, 7)]
            assert got == ["n5", "n6", "n7"]
            selects = [t for t in traced if t.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 3
            assert [t.rstrip().split()[-1] for t in selects] == ["5", "6", "7"]
    finally:
        engine.dispose()


@pytest.mark.sqlite_only
def test_schema_translation_and_a_given_compiled_cache(metadata, tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/plain.db")
    traced: list[str] = []

    @event.listens_for(engine, "connect")
    def _trace(dbapi_conn, _record):
        dbapi_conn.set_trace_callback(traced.append)

    Item, Stamp = _models(metadata)
    metadata.create_all(engine)
    try:
        _fill(engine, Item, Stamp)
        translated = engine.execution_options(schema_translate_map={None: "main"})
        with Session(translated) as s:
            traced.clear()
            assert [s.query(Item).filter(Item.id == i).one().name for i in (1, 2, 3)] == \
                ["n1", "n2", "n3"]
            selects = [t for t in traced if t.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 3 and all("main.drvq_item" in t for t in selects)
        cache: dict = {}
        cached = engine.execution_options(compiled_cache=cache)
        with Session(cached) as s:
            assert [s.query(Item).filter(Item.id == i).one().name for i in (4, 5, 6)] == \
                ["n4", "n5", "n6"]
        assert cache  # the statement was compiled into the cache given
        uncached = sa.create_engine(f"sqlite:///{tmp_path}/plain.db", query_cache_size=0)
        with Session(uncached) as s:
            assert [s.query(Item).filter(Item.id == i).one().name for i in (7, 8)] == \
                ["n7", "n8"]
        uncached.dispose()
    finally:
        engine.dispose()
