"""Helpers for the session-transaction tests (tests/session/test_tx_*.py).

- ``assert_released(*engines)``: no pooled connection is checked out and no
  other connection holds an open transaction on the server (SQLite: no write
  lock is held on the file).
- ``open_transactions(engine)``: how many other connections to this test's
  database have a transaction open (servers; SQLite 0 or 1 for the write lock).
- ``prepared_transactions(engine)``: two-phase transactions left prepared
  (PostgreSQL ``pg_prepared_xacts`` of this database, MariaDB ``XA RECOVER``).
- ``SecondDatabases``: creates one more database per backend for the tests
  that need two databases (two-phase commit, vertical partitioning) and drops
  them at the end.
- ``CommitCutter``: a loopback TCP proxy that forwards a COMMIT to the server
  and then cuts the connection before the reply reaches the client, so the
  client cannot know whether the COMMIT happened.
- ``dbapi_in_transaction(dialect_name, dbapi_conn)``: whether a DBAPI connection
  is inside a database transaction, asked of the driver or the server;
  ``CheckinGuard``: records that for every connection given back to a pool (the
  ``attach_guard`` and ``guarded_engine`` fixtures of tests/conftest.py).

The fixtures built on these (``second_databases``, ``other_engine``,
``attach_guard``, ``guarded_engine``) are in tests/conftest.py.

Nothing here imports datamapper.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

import _support

INTERNAL = {_support.INTERNAL: True}


_server_connect_args = _support.server_connect_args


def _pooled_dbapi_connections(engine: Engine) -> list[Any] | None:
    """The driver connections idle in ``engine``'s pool; None when the pool can't tell
    (another pool class)."""
    queue = getattr(getattr(engine.pool, "_pool", None), "queue", None)
    if queue is None:
        return None
    found = (getattr(rec, "dbapi_connection", None) for rec in list(queue))
    return [c for c in found if c is not None]


def _pooled_backend_ids(engine: Engine) -> list[int] | None:
    """The server's ids (PostgreSQL backend pids, MariaDB thread ids) of the connections
    idle in ``engine``'s pool, read from the drivers without a query."""
    conns = _pooled_dbapi_connections(engine)
    if conns is None:
        return None
    if engine.dialect.name == "postgresql":
        return [int(c.info.backend_pid) for c in conns]
    return [int(c.thread_id()) for c in conns]


def _pooled_in_transaction(engine: Engine) -> int | None:
    """MariaDB: how many connections idle in ``engine``'s pool are inside a transaction,
    as each session's own ``@@in_transaction`` says (reading a system variable starts
    none).  ``information_schema.innodb_trx`` is not used here: MariaDB goes on listing
    a connection that was part of a lock wait, or was returned by the garbage collector,
    as RUNNING (its start time fixed) through its later ROLLBACKs.  None when the pool
    can't tell."""
    conns = _pooled_dbapi_connections(engine)
    if conns is None:
        return None
    count = 0
    for dbapi_conn in conns:
        try:
            cur = dbapi_conn.cursor()
            try:
                cur.execute("SELECT @@in_transaction")
                row = cur.fetchone()
            finally:
                cur.close()
        except Exception:  # noqa: BLE001 - a connection the server or a test closed holds nothing
            continue
        count += int(bool(row and row[0]))
    return count


def open_transactions(engine: Engine, own_only: bool = False) -> int:
    """Connections (other than the one asking) with a transaction open in this database;
    ``own_only``: only those of ``engine``'s own pool (what the test holds, not what a
    fixture's other engines left behind)."""
    name = engine.dialect.name
    if name == "sqlite":
        path = engine.url.database or ""
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return 0
        except sqlite3.OperationalError:
            return 1
        finally:
            probe.close()
    if own_only and name == "mysql":
        own = _pooled_in_transaction(engine)
        if own is not None:
            return own
    admin = sa.create_engine(engine.url, poolclass=NullPool,
                             connect_args=_server_connect_args(
                                 "postgresql" if name == "postgresql" else "mysql"))
    try:
        with admin.connect() as conn:
            if name == "postgresql":
                sql = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL")
                column = "pid"
            else:
                sql = ("SELECT count(*) FROM information_schema.innodb_trx t "
                       "JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
                       "WHERE p.db = DATABASE() AND p.id <> CONNECTION_ID()")
                column = "p.id"
            if own_only:
                ids = _pooled_backend_ids(engine)
                if ids is not None:
                    if not ids:
                        return 0
                    sql += f" AND {column} IN ({', '.join(str(i) for i in ids)})"
            count = conn.exec_driver_sql(sql).scalar()
            conn.rollback()
            return int(count or 0)
    finally:
        admin.dispose()


def assert_released(*engines: Engine) -> None:
    """Every connection is back in its pool and no transaction is left open.

    The server check looks at the engine's own pooled connections (a connection of
    another engine, a fixture's, may still be idle in a transaction MariaDB lists for
    a while after a TRUNCATE or a lock-wait timeout), and polls briefly (bounded): MariaDB
    may list a transaction that a deadlock ended for a moment after its ROLLBACK."""
    # a Session an earlier test left in a reference cycle still holds its connection
    # (and, on the servers, its open transaction) until the cycle collector runs
    gc.collect()
    for eng in engines:
        out = eng.pool.checkedout()  # type: ignore[attr-defined]
        assert out == 0, f"{out} connection(s) of {eng.url} still checked out"
        for _ in range(60):
            if open_transactions(eng, own_only=True) == 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"a transaction is still open on {eng.url}: "
                                 f"{_open_transaction_details(eng)}")


def _open_transaction_details(engine: Engine) -> str:
    """What the server says of the transactions open in the database (for the message)."""
    if engine.dialect.name != "mysql":
        return ""
    admin = sa.create_engine(engine.url, poolclass=NullPool,
                             connect_args=_server_connect_args("mysql"))
    try:
        with admin.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT t.trx_state, t.trx_started, t.trx_query, p.command, p.time, p.info, "
                "t.trx_mysql_thread_id FROM information_schema.innodb_trx t JOIN "
                "information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
                "WHERE p.db = DATABASE() AND p.id <> CONNECTION_ID()").all()
            return repr([tuple(r) for r in rows])
    finally:
        admin.dispose()


def prepared_transactions(engine: Engine) -> list[str]:
    name = engine.dialect.name
    if name == "sqlite":
        return []
    admin = sa.create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                             connect_args=_server_connect_args(
                                 "postgresql" if name == "postgresql" else "mysql"))
    try:
        with admin.connect() as conn:
            if name == "postgresql":
                rows = conn.exec_driver_sql(
                    "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"
                ).scalars().all()
                return [str(r) for r in rows]
            return [str(r[3]) for r in conn.exec_driver_sql("XA RECOVER").all()]
    finally:
        admin.dispose()


def max_prepared_transactions(engine: Engine) -> int:
    with engine.connect() as conn:
        conn.execution_options(**INTERNAL)
        value = conn.exec_driver_sql("SHOW max_prepared_transactions").scalar()
        conn.rollback()
    return int(value or 0)


def kill_connection(engine: Engine, conn: sa.Connection) -> None:
    """End ``conn``'s server connection from another connection (its client sees a
    lost connection at its next statement); SQLite: close the DBAPI connection."""
    name = engine.dialect.name
    raw: Any = conn.connection.dbapi_connection
    if name == "sqlite":
        raw.close()
        return
    if name == "postgresql":
        target = raw.info.backend_pid
        # the timeout makes it wait until the backend is gone
        sql = f"SELECT pg_terminate_backend({int(target)}, 5000)"
        gone = f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(target)}"
    else:
        target = raw.thread_id()
        sql = f"KILL CONNECTION {int(target)}"
        gone = f"SELECT count(*) FROM information_schema.processlist WHERE id = {int(target)}"
    admin = sa.create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                             connect_args=_server_connect_args(
                                 "postgresql" if name == "postgresql" else "mysql"))
    try:
        with admin.connect() as other:
            other.exec_driver_sql(sql)
            for _ in range(100):  # bounded: at most ~5 s
                if not other.exec_driver_sql(gone).scalar():
                    break
                time.sleep(0.05)
    finally:
        admin.dispose()


def wait_for_lock_wait(engine: Engine, timeout: float = 5.0) -> bool:
    """Poll until some connection of this test's database waits for a row lock."""
    name = engine.dialect.name
    if name == "postgresql":
        sql = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND wait_event_type = 'Lock'")
    else:
        # (information_schema.innodb_trx is a cache refreshed every 0.1 s at most;
        # the process list is live)
        sql = ("SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() "
               "AND command = 'Query' AND id <> CONNECTION_ID() "
               "AND (LOCATE('lock', state) > 0 OR state = 'Updating')")
    admin = sa.create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                             connect_args=_server_connect_args(
                                 "postgresql" if name == "postgresql" else "mysql"))
    try:
        with admin.connect() as conn:
            for _ in range(int(timeout / 0.05)):
                if conn.exec_driver_sql(sql).scalar():
                    return True
                time.sleep(0.05)
        return False
    finally:
        admin.dispose()


def lock_timeout_args(backend: str, seconds: int = 1) -> dict[str, Any]:
    """connect_args that make a row-lock wait give up after ``seconds``."""
    if backend == "postgresql":
        return {"options": f"-c lock_timeout={seconds * 1000}"}
    if backend == "mysql":
        return {"init_command": f"SET SESSION innodb_lock_wait_timeout = {seconds}"}
    return {}


class SecondDatabases:
    """One extra database per backend, created on first use, dropped by ``drop_all``."""

    def __init__(self, tmp_dir: Any) -> None:
        self.tmp_dir = tmp_dir
        self.urls: dict[str, Any] = {}

    def url_for(self, backend: str, db_url: str) -> Any:
        if backend in self.urls:
            return self.urls[backend]
        url = make_url(db_url)
        if backend == "sqlite":
            other = url.set(database=str(self.tmp_dir / "second.db"))
        else:
            name = f"{url.database}_b"
            other = url.set(database=name)
            admin = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                     connect_args=_server_connect_args(backend))
            try:
                with admin.connect() as conn:
                    q = conn.dialect.identifier_preparer.quote
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {q(name)}")
                    conn.exec_driver_sql(f"CREATE DATABASE {q(name)}")
            finally:
                admin.dispose()
        self.urls[backend] = other
        return other

    def engine(self, backend: str, db_url: str, **kw: Any) -> Engine:
        url = self.url_for(backend, db_url)
        if backend == "sqlite":
            return _support.sqlite_engine(url.database, **kw)
        return sa.create_engine(url, connect_args=_server_connect_args(backend), **kw)

    def drop_all(self) -> None:
        for backend, url in self.urls.items():
            if backend == "sqlite":
                continue
            admin = sa.create_engine(url.set(database=url.database[:-2]), poolclass=NullPool,
                                     isolation_level="AUTOCOMMIT",
                                     connect_args=_server_connect_args(backend))
            try:
                with admin.connect() as conn:
                    q = conn.dialect.identifier_preparer.quote
                    if backend == "postgresql":
                        conn.exec_driver_sql(
                            f"DROP DATABASE IF EXISTS {q(url.database)} WITH (FORCE)")
                    else:
                        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {q(url.database)}")
            except Exception as exc:  # report, never mask the outcome
                _support.warn(f"could not drop second database {url.database}: {exc}")
            finally:
                admin.dispose()
        self.urls.clear()


class CommitCutter:
    """A loopback TCP proxy in front of a database server.

    Bytes are relayed both ways.  Once ``armed``, the first client packet that
    contains the word COMMIT is forwarded to the server, and then both sockets
    are closed before the server's answer is relayed: the server commits, the
    client sees a lost connection.  Bounded: it serves until ``close()``, and
    every socket has a timeout.
    """

    def __init__(self, host: str, port: int, match: Callable[[bytes], bool] | None = None
                 ) -> None:
        self.target = (host, port)
        self.match = match or (lambda data: b"COMMIT" in data.upper())
        self.armed = False
        self.cut = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept_loop, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _addr = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(self.target, timeout=10)
            server.settimeout(None)
            client.settimeout(None)
            self._sockets += [client, server]
            link = _Link(client, server)
            for upstream in (True, False):
                t = threading.Thread(target=self._pump, args=(link, upstream), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, link: _Link, upstream: bool) -> None:
        src, dst = (link.client, link.server) if upstream else (link.server, link.client)
        while not self._stop.is_set():
            try:
                data = src.recv(65536)
            except OSError:
                break
            if not data:
                break
            if upstream and self.armed and self.match(data):
                # the server gets the COMMIT; its answer never reaches the client
                self.armed = False
                link.cutting = True
                with contextlib.suppress(OSError):
                    dst.sendall(data)
                link.answered.wait(timeout=5)
                self.cut.set()
                link.close()
                break
            if not upstream and link.cutting:
                link.answered.set()
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        if not link.cutting:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()
        for t in self._threads:
            t.join(timeout=2)


class _Link:
    """One client connection through the proxy and its server connection."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.cutting = False
        self.answered = threading.Event()

    def close(self) -> None:
        for s in (self.client, self.server):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


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
        sa.event.listen(engine.pool, "checkin", self)
        return self

    def assert_clean(self) -> None:
        assert self.checkins, "no connection was given back to the pool"
        dirty = sum(self.checkins)
        assert not dirty, (
            f"{dirty} of {len(self.checkins)} connection(s) went back to the pool inside an "
            "open database transaction"
        )


def user_and_account(Base: Any, engine: Engine, other_engine: Engine, prefix: str
                     ) -> tuple[Any, Any]:
    """``User`` mapped on ``engine`` and ``Account`` on ``other_engine`` (tables
    ``<prefix>users`` / ``<prefix>accounts``), for tests of several databases."""
    from sqlalchemy import Column, Integer, String

    class User(Base):  # type: ignore[misc,valid-type]
        __tablename__ = f"{prefix}users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    class Account(Base):  # type: ignore[misc,valid-type]
        __tablename__ = f"{prefix}accounts"
        id = Column(Integer, primary_key=True)
        balance = Column(Integer, nullable=False)

    User.__table__.create(engine)
    Account.__table__.create(other_engine)
    return User, Account


def table_rows(eng: Engine, table: Any) -> list[tuple[Any, ...]]:
    """All rows of ``table`` ordered by id, through a separate connection."""
    with eng.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]
