"""Fixtures of the reliability tests.

- ``User``: table ``users(id, name)`` (``Base`` is tests/conftest.py's).
- ``attach_guard(engine)``: puts that guard on any engine.
- ``guarded_engine``: an Engine on this test's database with a one-connection
  pool (so the next Session gets the very connection the previous one gave
  back) and a ``checkin`` guard: ``guarded_engine.guard`` records, for every
  DBAPI connection given back to the pool, whether it was still inside a
  database transaction (SQLite ``in_transaction``, psycopg
  ``info.transaction_status``, MariaDB ``@@in_transaction``).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Integer, String, event


@pytest.fixture
def User(Base, engine):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    return User


def dbapi_in_transaction(dialect_name: str, dbapi_conn: Any) -> bool:
    """Whether a DBAPI connection is inside a database transaction, asked of the
    driver or the server (never through SQLAlchemy)."""
    if dialect_name == "sqlite":
        return bool(dbapi_conn.in_transaction)
    if dialect_name == "postgresql":
        return int(dbapi_conn.info.transaction_status) != 0  # 0: IDLE
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("SELECT @@in_transaction")
        return bool(cursor.fetchone()[0])
    finally:
        cursor.close()


class CheckinGuard:
    """Records each check-in of a connection into a pool: True when the DBAPI
    connection was still inside a transaction."""

    def __init__(self, dialect_name: str) -> None:
        self.dialect_name = dialect_name
        self.checkins: list[bool] = []

    def __call__(self, dbapi_conn: Any, _record: Any) -> None:
        if dbapi_conn is None:  # invalidated: discarded, never reused
            self.checkins.append(False)
            return
        self.checkins.append(dbapi_in_transaction(self.dialect_name, dbapi_conn))

    def attach(self, engine: Any) -> CheckinGuard:
        event.listen(engine.pool, "checkin", self)
        return self

    def assert_clean(self) -> None:
        assert self.checkins, "no connection was given back to the pool"
        dirty = sum(self.checkins)
        assert not dirty, (
            f"{dirty} of {len(self.checkins)} connection(s) went back to the pool inside an "
            "open database transaction"
        )


@pytest.fixture
def attach_guard():
    """``attach_guard(engine)``: put a CheckinGuard on ``engine`` as ``engine.guard``."""

    def attach(eng: Any) -> Any:
        eng.guard = CheckinGuard(eng.dialect.name).attach(eng)
        return eng

    return attach


@pytest.fixture
def guarded_engine(engine_factory, engine, User, attach_guard):
    return attach_guard(engine_factory(pool_size=1, max_overflow=0))
