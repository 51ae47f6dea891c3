"""Optimistic locking under concurrency: a version counter loses no update.

Four threads each increment a counter 50 times, each in its own Session (read,
pause, write, commit; on StaleDataError roll back and retry).  With
``version_id_col`` the final value is exactly 200 and conflicts were detected;
the same program on an unversioned mapping (the deliberately broken variant)
loses updates, which proves the run was concurrent enough to matter.  Plus the
deterministic two-session cases: stale UPDATE, stale DELETE, stale merge, and a
batch of versioned UPDATEs with one stale row that applies none.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String

from datamapper import Session, declarative_base
from datamapper.exc import StaleDataError

THREADS = 4
INCREMENTS = 50


def _model(metadata, versioned: bool, name: str):
    Base = declarative_base(metadata=metadata)

    class Counter(Base):
        __tablename__ = name
        id = Column(Integer, primary_key=True)
        value = Column(Integer, nullable=False)
        label = Column(String(20))
        if versioned:
            version = Column(Integer, nullable=False)
            __mapper_args__ = {"version_id_col": version}

    return Counter


def _hammer(engine, Counter):
    """Run the increment threads; returns (final value, conflicts seen, errors)."""
    conflicts = []
    errors = []
    start = threading.Barrier(THREADS)

    def worker():
        start.wait()
        done = 0
        while done < INCREMENTS:
            with Session(engine) as s:
                try:
                    c = s.get(Counter, 1)
                    seen = c.value
                    time.sleep(0.0005)  # widen the window between read and write
                    c.value = seen + 1
                    s.commit()
                    done += 1
                except StaleDataError:
                    conflicts.append(1)
                    s.rollback()
                except sa.exc.OperationalError as err:  # SQLite busy / server lock wait
                    s.rollback()
                    if "locked" not in str(err) and "Deadlock" not in str(err) \
                            and "Lock wait" not in str(err):
                        errors.append(repr(err))
                        return

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    with Session(engine) as s:
        return s.get(Counter, 1).value, len(conflicts), errors


@pytest.mark.servers_only  # SQLite serializes writers itself: a stale write is refused as
# "database is locked" before any version check, so neither mapping can lose an update
def test_versioned_counter_loses_no_update_and_unversioned_does(metadata, engine_factory):
    eng = engine_factory(pool_size=THREADS + 1, max_overflow=0, pool_timeout=60)
    Versioned = _model(metadata, True, "counter_v")
    Plain = _model(sa.MetaData(), False, "counter_p")
    metadata.create_all(eng)
    Plain.__table__.create(eng)
    try:
        with Session(eng) as s:
            s.add_all([Versioned(id=1, value=0), Plain(id=1, value=0)])
            s.commit()
        value, conflicts, errors = _hammer(eng, Versioned)
        assert errors == []
        assert value == THREADS * INCREMENTS
        assert conflicts > 0, "no conflict was seen: the run was not concurrent"
        lost_value, _c, errors = _hammer(eng, Plain)
        assert errors == []
        # the broken variant (no version counter) must lose updates under the same load
        assert lost_value < THREADS * INCREMENTS, "the unversioned control lost nothing: " \
            "the test was not concurrent enough to prove anything"
    finally:
        Plain.__table__.drop(eng)


@pytest.fixture
def Versioned(metadata, engine):
    Counter = _model(metadata, True, "counter")
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Counter(id=i, value=0) for i in (1, 2, 3)])
        s.commit()
    return Counter


def _reader(engine):
    """A session whose loaded objects outlive its read transaction (SQLite would refuse
    a write from a stale read snapshot before any version check)."""
    return Session(engine, expire_on_commit=False)


def test_stale_update_and_stale_delete_between_two_sessions(engine, Versioned, read_rows):
    with Session(engine) as a, _reader(engine) as b:
        ca, cb = a.get(Versioned, 1), b.get(Versioned, 1)
        b.commit()  # b keeps its loaded copy past its read transaction
        ca.value = 10
        a.commit()
        cb.value = 20
        with pytest.raises(StaleDataError):
            b.commit()
    with Session(engine) as a, _reader(engine) as b:
        ca, cb = a.get(Versioned, 2), b.get(Versioned, 2)
        b.commit()
        ca.value = 5
        a.commit()
        b.delete(cb)
        with pytest.raises(StaleDataError):
            b.commit()
    assert read_rows(Versioned.__table__, id=1) == [(1, 10, None, 2)]
    assert read_rows(Versioned.__table__, id=2) == [(2, 5, None, 2)]


def test_merge_of_a_stale_copy_is_refused(engine, Versioned, read_rows):
    with Session(engine) as s:
        old = s.get(Versioned, 3)
        s.expunge(old)
    with Session(engine) as s:
        s.get(Versioned, 3).value = 7
        s.commit()
    old.value = 99
    with Session(engine) as s:
        with pytest.raises(StaleDataError):
            s.merge(old)
    assert read_rows(Versioned.__table__, id=3) == [(3, 7, None, 2)]


def test_a_batch_with_one_stale_row_applies_none(engine, Versioned, read_rows):
    with _reader(engine) as a, Session(engine) as b:
        rows = a.query(Versioned).order_by(Versioned.id).all()
        a.commit()
        b.get(Versioned, 2).value = 100
        b.commit()
        for r in rows:
            r.value = 1
        with pytest.raises(StaleDataError):
            a.commit()
        a.rollback()
    assert read_rows(Versioned.__table__) == [(1, 0, None, 1), (2, 100, None, 2), (3, 0, None, 1)]
