"""Batched UPDATE/DELETE sent straight to the driver (persistence/driver.py):
bind processors still applied, one executemany per statement shape, row counts
still checked, and Core's own path kept when before_execute listeners exist."""

import datetime
import decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, DateTime, Integer, Numeric, String, event
from sqlalchemy.types import TypeDecorator

from datamapper import exc, inspect
from datamapper import select as datamapper_select


class Upper(TypeDecorator):
    """Stores strings upper-cased: a bind processor the fast path must apply."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else value.upper()


@pytest.fixture
def Event(Base, engine):
    class Event(Base):
        __tablename__ = "events"
        id = Column(Integer, primary_key=True)
        label = Column(Upper)
        at = Column(DateTime)
        amount = Column(Numeric(10, 2))
        count = Column(Integer)

    Base.metadata.create_all(engine)
    return Event


def _seed(session, Event, n):
    base = datetime.datetime(2020, 1, 1, 12, 0, 0)
    session.add_all([Event(id=i, label=f"e{i}", at=base, amount=decimal.Decimal("1.50"), count=i)
                     for i in range(1, n + 1)])
    session.commit()


def test_batched_update_applies_bind_processors_of_every_column(
        session, Event, sql_log, read_rows):
    _seed(session, Event, 20)
    later = datetime.datetime(2021, 6, 7, 8, 9, 10)
    for e in session.query(Event).all():
        e.label = f"changed{e.id}"
        e.at = later
        e.amount = decimal.Decimal("2.25")
    sql_log.clear()
    session.commit()
    updates = [e for e in sql_log.entries if e.statement.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and updates[0].executemany
    assert len(updates[0].parameters) == 20
    rows = read_rows("SELECT id, label, at, amount FROM events ORDER BY id")
    assert [r[1] for r in rows] == [f"CHANGED{i}" for i in range(1, 21)]
    for r in rows:
        at = r[2] if isinstance(r[2], datetime.datetime) else datetime.datetime.fromisoformat(r[2])
        assert at == later
        assert decimal.Decimal(str(r[3])) == decimal.Decimal("2.25")


def test_updates_with_different_changed_columns_are_one_executemany_each(
        session, Event, sql_log, read_rows):
    _seed(session, Event, 10)
    for e in session.query(Event).order_by(Event.id).all():
        if e.id % 2:
            e.count = e.count + 100
        else:
            e.label = "even"
    sql_log.clear()
    session.commit()
    updates = [e for e in sql_log.entries if e.statement.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 2
    assert sorted(len(u.parameters) for u in updates) == [5, 5]
    rows = read_rows("SELECT id, label, count FROM events ORDER BY id")
    assert rows == [(i, "EVEN" if i % 2 == 0 else f"E{i}", i + 100 if i % 2 else i)
                    for i in range(1, 11)]


def test_batched_delete_is_one_executemany_and_rows_are_gone(session, Event, sql_log, read_rows):
    _seed(session, Event, 30)
    for e in session.query(Event).all():
        if e.id > 10:
            session.delete(e)
    sql_log.clear()
    session.commit()
    deletes = sql_log.matching("DELETE")
    assert len(deletes) == 1
    assert [r[0] for r in read_rows("SELECT id FROM events ORDER BY id")] == list(range(1, 11))


@pytest.mark.parametrize("verb", ["delete", "update"])
def test_batched_write_of_a_row_deleted_behind_our_back(
        make_session, Event, engine, read_rows, verb):
    if not engine.dialect.supports_sane_multi_rowcount:
        pytest.skip("driver reports no row count for executemany")
    session = make_session(expire_on_commit=False)
    _seed(session, Event, 5)
    objs = session.query(Event).all()
    session.commit()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE id = 3"))
    for o in objs:
        if verb == "delete":
            session.delete(o)
        else:
            o.count = 0
    if verb == "delete":
        # unversioned rows already gone: the delete completes with a warning
        # (confirm_deleted_rows), having found the missing row by the batch's count
        with pytest.warns(exc.SAWarning, match="events"):
            session.flush()
        session.commit()
        assert read_rows("SELECT id, count FROM events ORDER BY id") == []
        return
    with pytest.raises(exc.StaleDataError, match="events"):
        session.flush()
    session.rollback()
    # the failed flush was rolled back: the other rows are as they were
    assert read_rows("SELECT id, count FROM events ORDER BY id") == [
        (1, 1), (2, 2), (4, 4), (5, 5)]


def test_before_execute_listeners_still_see_batched_writes(session, Event, engine, read_rows):
    _seed(session, Event, 6)
    seen = []

    @event.listens_for(engine, "before_execute")
    def record(conn, clauseelement, multiparams, params, execution_options):
        seen.append((str(clauseelement).split()[0].upper(), len(multiparams)))

    try:
        objs = session.query(Event).order_by(Event.id).all()
        for o in objs[:3]:
            o.count = -1
        for o in objs[3:]:
            session.delete(o)
        session.commit()
    finally:
        event.remove(engine, "before_execute", record)
    assert ("UPDATE", 3) in seen
    assert ("DELETE", 3) in seen
    assert read_rows("SELECT id, count FROM events ORDER BY id") == [(1, -1), (2, -1), (3, -1)]


@pytest.fixture
def Reading(Base, engine):
    class Reading(Base):
        __tablename__ = "readings"
        id = Column(Integer, primary_key=True)
        label = Column(Upper)
        at = Column(DateTime)
        amount = Column(Numeric(10, 2))

    Base.metadata.create_all(engine)
    return Reading


def test_generated_keys_of_a_large_insert_match_their_rows(
        session, Reading, backend_name, sql_log, read_rows):
    base = datetime.datetime(2022, 3, 4, 5, 6, 7)
    objs = [Reading(label=f"r{i}", at=base + datetime.timedelta(seconds=i),
                    amount=decimal.Decimal(i) / 4) for i in range(2500)]
    session.add_all(objs)
    sql_log.clear()
    session.commit()
    inserts = sql_log.matching("INSERT")
    if backend_name == "sqlite":
        # multi-row VALUES pages of 1000 rows, as Core's insertmanyvalues makes them
        assert len(inserts) == 3
    ids = [inspect(o).identity[0] for o in objs]
    assert len(set(ids)) == 2500
    rows = {r[0]: r[1:] for r in read_rows("SELECT id, label, at, amount FROM readings")}
    for i, pk in enumerate(ids):
        label, at, amount = rows[pk]
        assert label == f"R{i}"
        at = at if isinstance(at, datetime.datetime) else datetime.datetime.fromisoformat(at)
        assert at == base + datetime.timedelta(seconds=i)
        assert decimal.Decimal(str(amount)) == decimal.Decimal(i) / 4


def test_insert_with_before_execute_listener_still_matches_keys(session, Reading, engine):
    seen = []

    @event.listens_for(engine, "before_execute")
    def record(conn, clauseelement, multiparams, params, execution_options):
        seen.append(str(clauseelement).split()[0].upper())

    try:
        objs = [Reading(label=f"x{i}") for i in range(30)]
        session.add_all(objs)
        session.commit()
    finally:
        event.remove(engine, "before_execute", record)
    assert "INSERT" in seen
    for i, o in enumerate(objs):
        assert o.label == f"X{i}"  # reloaded from the row the object's key names


def test_loading_converts_values_of_types_with_result_processors(session, Event, make_session):
    _seed(session, Event, 3)
    s2 = make_session()
    for loaded in (s2.query(Event).order_by(Event.id).all(),
                   s2.scalars(datamapper_select(Event).order_by(Event.id)).all()):
        assert [e.id for e in loaded] == [1, 2, 3]
        assert all(isinstance(e.at, datetime.datetime) for e in loaded)
        assert all(e.at == datetime.datetime(2020, 1, 1, 12, 0, 0) for e in loaded)
        assert all(isinstance(e.amount, decimal.Decimal) and e.amount == decimal.Decimal("1.50")
                   for e in loaded)
        assert [e.label for e in loaded] == ["E1", "E2", "E3"]
    # plain columns only: the driver's rows are used as they are
    assert s2.query(Event.id, Event.count).order_by(Event.id).all() == [(1, 1), (2, 2), (3, 3)]


@pytest.mark.sqlite_only
def test_driver_without_executemany_row_counts(make_session, Event, engine, read_rows,
                                               monkeypatch):
    """A driver that counts rows of single statements only: a one-row UPDATE of a
    vanished row still fails; a batched UPDATE can't be checked and updates what is
    there."""
    from sqlalchemy.engine.cursor import CursorResult

    real = CursorResult.rowcount

    def rowcount(self):
        params = getattr(self.context, "compiled_parameters", None) or self.context.parameters
        return -1 if len(params) > 1 else real.__get__(self, CursorResult)

    monkeypatch.setattr(engine.dialect, "supports_sane_multi_rowcount", False)
    monkeypatch.setattr(CursorResult, "rowcount", property(rowcount))
    session = make_session(expire_on_commit=False)
    _seed(session, Event, 2)
    e1, e2 = session.query(Event).order_by(Event.id).all()
    session.execute(sa.text("DELETE FROM events WHERE id = 1"))
    e1.count = 10
    with pytest.raises(exc.StaleDataError, match="events"):
        session.flush()
    session.rollback()
    session.execute(sa.text("DELETE FROM events WHERE id = 1"))
    e1.count, e2.count = 10, 20
    session.flush()
    session.commit()
    assert read_rows("SELECT id, count FROM events ORDER BY id") == [(2, 20)]
