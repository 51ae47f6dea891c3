"""Resources: sessions give back every connection they take.

Many open/add/commit/close cycles (150; 1,000 in the slow step) leave nothing
checked out and no more server connections than the pool allows; a Session dropped without ``close()`` releases
its connection (its transaction is rolled back, nothing it did is committed); a
session whose transaction failed still returns its connection on ``close()``.
Each check is shown able to fail by a deliberately leaking variant.
"""

from __future__ import annotations

import gc

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String

import _support
from datamapper import Session, declarative_base


@pytest.fixture
def User(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), unique=True)

    metadata.create_all(engine)
    return User


def _server_connections(engine) -> int | None:
    """Connections the server holds for this test's database (None on SQLite)."""
    name = engine.url.database
    probe = sa.create_engine(engine.url, poolclass=sa.pool.NullPool,
                             connect_args=_support.server_connect_args(engine.dialect.name))
    try:
        with probe.connect() as conn:
            if engine.dialect.name == "postgresql":
                n = conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                    "AND pid <> pg_backend_pid()"), {"d": name}).scalar()
            elif engine.dialect.name in ("mysql", "mariadb"):
                n = conn.execute(sa.text(
                    "SELECT count(*) FROM information_schema.processlist WHERE db = :d "
                    "AND id <> CONNECTION_ID()"), {"d": name}).scalar()
            else:
                return None
    finally:
        probe.dispose()
    return int(n)


def _cycles(engine, User, n, *, leak=False):
    leaked = []
    for i in range(n):
        s = Session(engine)
        s.add(User(id=i + 1, name=f"u{i}"))
        s.commit()
        if leak and i % 100 == 0:
            s.connection()  # begins a transaction and keeps the connection checked out
            leaked.append(s)
            continue
        s.close()
    return leaked


# 150 cycles: a session that kept one connection in every fifty would have used up
# the pool of 3; the soak of 1,000 runs in the slow step (`pytest -m slow`)
@pytest.mark.parametrize("cycles", [150, pytest.param(1000, marks=pytest.mark.slow)])
def test_many_session_cycles_leave_nothing_checked_out(engine_factory, User, read_rows, cycles):
    eng = engine_factory(pool_size=3, max_overflow=0, pool_timeout=5)
    before = _server_connections(eng)
    _cycles(eng, User, cycles)
    assert eng.pool.checkedout() == 0
    after = _server_connections(eng)
    if after is not None:
        assert after - (before or 0) <= 3
    assert len(read_rows(User.__table__)) == cycles


def test_the_checkout_check_catches_a_leaking_loop(engine_factory, User):
    eng = engine_factory(pool_size=20, max_overflow=0, pool_timeout=5)
    leaked = _cycles(eng, User, 300, leak=True)
    assert eng.pool.checkedout() == len(leaked) > 0  # the check sees the leak
    for s in leaked:
        s.close()
    assert eng.pool.checkedout() == 0


def test_a_session_dropped_without_close_releases_its_connection(engine_factory, User, read_rows):
    eng = engine_factory(pool_size=2, max_overflow=0, pool_timeout=5)

    def work():
        s = Session(eng)
        s.add(User(id=1, name="never committed"))
        s.flush()  # the row is written inside the open transaction
        assert eng.pool.checkedout() == 1

    work()
    gc.collect()
    assert eng.pool.checkedout() == 0
    assert read_rows(User.__table__) == []  # the dropped transaction was rolled back
    with Session(eng) as s:  # the pool is usable: no connection stuck in a transaction
        s.add(User(id=1, name="ok"))
        s.commit()
    assert read_rows(User.__table__) == [(1, "ok")]


def test_a_failed_transaction_still_returns_its_connection_on_close(engine_factory, User):
    eng = engine_factory(pool_size=1, max_overflow=0, pool_timeout=5)
    with Session(eng) as s:
        s.add(User(id=1, name="a"))
        s.commit()
    for _ in range(20):
        s = Session(eng)
        s.add(User(id=1, name="dup"))
        with pytest.raises(sa.exc.IntegrityError):
            s.commit()
        s.close()  # without rollback(): close must still release the connection
        assert eng.pool.checkedout() == 0
