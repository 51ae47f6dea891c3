"""Test support: backend engines, per-run server databases, the SQL recorder.

Used by tests/conftest.py (the fixtures every test uses) and importable from
any test as ``import _support`` (tests/ is on sys.path via pyproject's
``pythonpath``).  Nothing here imports datamapper: the fixtures must work
whatever state the package is in.

Backends and their environment variables (see README.md, "Backends"):

- ``sqlite``      always available; a fresh database file per test.
- ``postgresql``  ``DATAMAPPER_TEST_POSTGRESQL_URL``
                  (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
- ``mysql``       ``DATAMAPPER_TEST_MYSQL_URL``
                  (default ``mysql+pymysql://root@127.0.0.1:3306/test``)

Setting a URL variable to ``off`` (or an empty string) disables that backend.
``DATAMAPPER_TEST_BACKENDS=sqlite,postgresql`` restricts the run to some
backends; ``DATAMAPPER_REQUIRE_BACKENDS=postgresql,mysql`` makes an
unreachable server fail the session instead of skipping its tests.

The server URLs name an *administrative* database (``test``).  Each pytest
session (each pytest-xdist worker is one) creates its own database
``dm_<pid>_<epoch>_<hex>`` on each server, runs every test in it and drops it
at the end, so concurrent runs (and workers) on the same servers never see
each other's tables.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import secrets
import sqlite3
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

BACKENDS: tuple[str, ...] = ("sqlite", "postgresql", "mysql")
SERVER_BACKENDS: tuple[str, ...] = ("postgresql", "mysql")
# every ServerBackend made in this process (conftest.py routes create_all to them)
SERVERS: list[ServerBackend] = []

URL_ENV = {
    "postgresql": "DATAMAPPER_TEST_POSTGRESQL_URL",
    "mysql": "DATAMAPPER_TEST_MYSQL_URL",
}
DEFAULT_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
REQUIRE_ENV = "DATAMAPPER_REQUIRE_BACKENDS"
# DATAMAPPER_TEST_REUSE_TABLES=off: drop every test's tables (no TableReuse)
REUSE_ENV = "DATAMAPPER_TEST_REUSE_TABLES"
SELECT_ENV = "DATAMAPPER_TEST_BACKENDS"

# Execution option set on every statement the fixtures themselves run
# (SQLite's BEGIN, read_rows, cleanup): sql_log ignores those statements, so
# statement counts are the same on every backend.
INTERNAL = "datamapper_test_internal"

# Per-run databases left behind by a killed run are dropped by a later run once
# they are this old and their pid is gone.
_STALE_AFTER_S = 6 * 3600
_DB_PREFIX = "dm_"


def parse_backend_list(value: str | None, *, env: str) -> list[str]:
    """Parse a comma-separated backend list from environment variable `env`."""
    names = [n.strip().lower() for n in (value or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ValueError(
            f"Can't use {env}={value!r}: unknown backend(s) {', '.join(unknown)}; "
            f"choose from {', '.join(BACKENDS)}"
        )
    return names


# --------------------------------------------------------------------- SQLite


def install_sqlite_listeners(engine: Engine, *, wal: bool = True) -> None:
    """Make a pysqlite engine behave: foreign keys on, real transactions.

    Python 3.11's sqlite3 module issues BEGIN itself, lazily, and only before
    DML; that breaks SAVEPOINT and transactional DDL.  So the driver's
    transaction handling is switched off (``isolation_level = None``) and
    Core's ``begin`` event emits BEGIN.  ``PRAGMA foreign_keys=ON`` has to be
    set on every connection.  WAL lets a reader (read_rows, a second session)
    run while another connection holds a write transaction.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                # Test databases are throwaway: skip fsync.
                cursor.execute("PRAGMA synchronous=OFF")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN", execution_options={INTERNAL: True})


def sqlite_engine(path: str | os.PathLike[str], *, wal: bool = True, **kwargs: Any) -> Engine:
    """A SQLite engine on the file `path` with the listeners above installed."""
    engine = sa.create_engine(f"sqlite:///{os.fspath(path)}", **kwargs)
    install_sqlite_listeners(engine, wal=wal)
    return engine


def remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


# ------------------------------------------------------------------- recorder


class Statement(NamedTuple):
    statement: str
    parameters: Any
    executemany: bool


class SqlLog:
    """Records every statement an engine sends to the database.

    Attach with :meth:`attach`, detach with :meth:`detach` (the ``sql_log``
    fixture does both).  Statements the fixtures run themselves (SQLite's
    BEGIN, read_rows, cleanup) are not recorded.  One executemany call is one
    entry; Core's "insertmanyvalues" batching records one entry per batch.

    - ``entries``      list of :class:`Statement` (statement, parameters, executemany)
    - ``statements``   list of the SQL strings
    - ``count``        number of statements recorded
    - ``matching(p)``  statements whose stripped, upper-cased text starts with ``p``
    - ``clear()``      forget everything recorded so far
    """

    def __init__(self) -> None:
        self.entries: list[Statement] = []
        self._engine: Engine | None = None

    def _listener(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if context is not None and context.execution_options.get(INTERNAL):
            return
        self.entries.append(Statement(statement, parameters, executemany))

    def attach(self, engine: Engine) -> SqlLog:
        event.listen(engine, "before_cursor_execute", self._listener, retval=False)
        self._engine = engine
        return self

    def detach(self) -> None:
        if self._engine is not None:
            event.remove(self._engine, "before_cursor_execute", self._listener)
            self._engine = None

    @property
    def statements(self) -> list[str]:
        return [e.statement for e in self.entries]

    @property
    def count(self) -> int:
        return len(self.entries)

    def matching(self, prefix: str) -> list[str]:
        prefix = prefix.strip().upper()
        return [s for s in self.statements if s.strip().upper().startswith(prefix)]

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.statements)

    def __getitem__(self, index: int) -> str:
        return self.entries[index].statement

    def __repr__(self) -> str:
        lines = "\n".join(f"  {i}: {s}" for i, s in enumerate(self.statements))
        return f"<SqlLog {self.count} statements>\n{lines}"


# ------------------------------------------------------------------ read_rows


def read_rows(engine: Engine, sql_or_table: Any, **filters: Any) -> list[tuple[Any, ...]]:
    """Read rows through a new pooled connection of `engine` (never the caller's).

    - a ``Table``: every row, ``WHERE column = value`` for each keyword, ordered
      by primary key (all columns when there is none);
    - a string: textual SQL, keywords are its bound parameters (``:name``);
    - any other Core statement (e.g. ``select(...)``): executed as is, keywords
      applied with ``filter_by``.

    The connection is separate from any session's, so it sees only committed
    data (on SQLite and the servers alike).
    """
    if isinstance(sql_or_table, sa.Table):
        table = sql_or_table
        unknown = sorted(k for k in filters if k not in table.c)
        if unknown:
            raise KeyError(f"Can't filter {table.name}: no column(s) {', '.join(unknown)}")
        order = list(table.primary_key.columns) or list(table.c)
        stmt: Any = (
            sa.select(table).where(*(table.c[k] == v for k, v in filters.items())).order_by(*order)
        )
        params: dict[str, Any] = {}
    elif isinstance(sql_or_table, str):
        stmt, params = sa.text(sql_or_table), dict(filters)
    else:
        stmt = sql_or_table.filter_by(**filters) if filters else sql_or_table
        params = {}
    with engine.connect() as conn:
        conn.execution_options(**{INTERNAL: True})
        return [tuple(row) for row in conn.execute(stmt, params)]


# -------------------------------------------------------------- server side


def server_connect_args(backend: str, url: URL | None = None) -> dict[str, Any]:
    """``connect_args`` for every engine the tests make on a server backend ({} for
    SQLite)."""
    if backend == "postgresql":
        # No server-side prepared statements: tables are dropped and re-created
        # with other column types between tests, and a re-used prepared statement
        # would then fail ("cached plan must not change result type").
        return {"connect_timeout": 10, "prepare_threshold": None}
    if backend != "mysql":
        return {}
    args: dict[str, Any] = {"connect_timeout": 10}
    if url is None or not any(key.startswith("ssl") for key in url.query):
        # PyMySQL (1.2) otherwise builds an SSL context for every connection, TLS
        # offered or not: loading the system's CA certificates took 25 times the
        # CPU of the rest of the connect (30 of 1.2 ms), and the tests connect to
        # MariaDB about a thousand times.  A URL naming ssl options keeps them.
        args["ssl_disabled"] = True
    return args


class ServerBackend:
    """One database server for one pytest session.

    ``probe()`` checks the server answers; ``engine()`` lazily creates this
    run's database and a pooled engine on it; ``reset()`` empties the database
    after a test; ``drop()`` drops the database at the end of the session.
    """

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.admin_url: URL = make_url(url)
        self.db_name = f"{_DB_PREFIX}{os.getpid()}_{int(time.time())}_{secrets.token_hex(3)}"
        self.url: URL = self.admin_url.set(database=self.db_name)
        if name == "mysql" and "charset" not in self.url.query:
            self.url = self.url.update_query_dict({"charset": "utf8mb4"})
        self.available: bool | None = None
        self.reason = ""
        self._engine: Engine | None = None
        self._create_error: str | None = None
        self.reuse = TableReuse(self)
        SERVERS.append(self)

    # connect_args shared by every engine the tests make on this server
    def connect_args(self) -> dict[str, Any]:
        return server_connect_args(self.name, self.url)

    @property
    def url_string(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def _admin_engine(self) -> Engine:
        return sa.create_engine(
            self.admin_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={**server_connect_args(self.name, self.admin_url), "connect_timeout": 5},
        )

    def probe(self) -> bool:
        admin = self._admin_engine()
        try:
            with admin.connect() as conn:
                version = conn.exec_driver_sql("SELECT version()").scalar()
            self.available = True
            short = str(version).split(" (")[0].split(" on ")[0]
            self.reason = f"{self.admin_url.render_as_string()} ({short})"
        except Exception as exc:  # any driver/network error means "unreachable"
            self.available = False
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self.reason = (
                f"{self.name} unreachable at {self.admin_url.render_as_string()}: "
                f"{type(exc).__name__}: {first_line}"
            )
        finally:
            admin.dispose()
        return self.available

    # -- database lifecycle ------------------------------------------------

    def engine(self) -> Engine:
        if self._create_error is not None:
            raise RuntimeError(self._create_error)
        if self._engine is None:
            try:
                self._create_database()
            except Exception as exc:
                self._create_error = (
                    f"Can't create test database {self.db_name} on {self.name}: "
                    f"{type(exc).__name__}: {exc}"
                )
                raise RuntimeError(self._create_error) from exc
            self._engine = sa.create_engine(self.url, connect_args=self.connect_args())
            self.reuse.watch(self._engine)
        return self._engine

    def _create_database(self) -> None:
        admin = self._admin_engine()
        q = admin.dialect.identifier_preparer.quote
        try:
            with admin.connect() as conn:
                self._drop_stale(conn)
                if self.name == "postgresql":
                    conn.exec_driver_sql(f"CREATE DATABASE {q(self.db_name)}")
                    # A test database is thrown away: a commit need not wait for
                    # its WAL to reach the disk (an fsync per commit, most of a
                    # small transaction's time).  Durability only; what every
                    # statement sees is unchanged.
                    conn.exec_driver_sql(
                        f"ALTER DATABASE {q(self.db_name)} SET synchronous_commit = off"
                    )
                else:
                    conn.exec_driver_sql(f"CREATE DATABASE {q(self.db_name)} CHARACTER SET utf8mb4")
        finally:
            admin.dispose()

    def _drop_stale(self, conn: Connection) -> None:
        """Drop per-run databases of runs that died long ago."""
        if self.name == "postgresql":
            names = conn.exec_driver_sql("SELECT datname FROM pg_database").scalars().all()
        else:
            names = conn.exec_driver_sql("SHOW DATABASES").scalars().all()
        now = time.time()
        for name in names:
            parts = str(name).split("_")
            if len(parts) != 4 or parts[0] + "_" != _DB_PREFIX:
                continue
            try:
                pid, started = int(parts[1]), int(parts[2])
            except ValueError:
                continue
            if now - started < _STALE_AFTER_S or _pid_alive(pid):
                continue
            with contextlib.suppress(Exception):
                self._drop_database(conn, str(name))

    def _drop_database(self, conn: Connection, name: str) -> None:
        q = conn.dialect.identifier_preparer.quote
        if self.name == "postgresql":
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {q(name)} WITH (FORCE)")
        else:
            self._kill_mysql_connections(conn, name)
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {q(name)}")

    @staticmethod
    def _kill_mysql_connections(conn: Connection, db_name: str) -> None:
        ids = conn.execute(
            sa.text(
                "SELECT id FROM information_schema.processlist "
                "WHERE db = :db AND id <> CONNECTION_ID()"
            ),
            {"db": db_name},
        ).scalars()
        for conn_id in list(ids):
            with contextlib.suppress(Exception):
                conn.exec_driver_sql(f"KILL CONNECTION {int(conn_id)}")

    def drop(self) -> None:
        """Drop this run's database (end of session)."""
        self.reuse.wait()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        else:
            return  # never created
        admin = self._admin_engine()
        try:
            with admin.connect() as conn:
                self._drop_database(conn, self.db_name)
        finally:
            admin.dispose()

    def database_exists(self) -> bool:
        admin = self._admin_engine()
        try:
            with admin.connect() as conn:
                if self.name == "postgresql":
                    names = conn.exec_driver_sql("SELECT datname FROM pg_database").scalars()
                else:
                    names = conn.exec_driver_sql("SHOW DATABASES").scalars()
                return self.db_name in set(names)
        finally:
            admin.dispose()

    # -- between tests ---------------------------------------------------

    def reset(self) -> tuple[list[str], list[str]]:
        """Empty the per-run database after a test; return (warnings, errors).

        Connections a test left checked out are first garbage-collected; any
        still out are killed (they may hold locks that would block the DROP).
        Then every table, view, sequence, type and routine is dropped, and on
        PostgreSQL prepared (two-phase) transactions left behind are rolled
        back.  The caller reports leaked connections as warnings and leftover
        prepared transactions as errors (tests must leave none behind).

        When the test left no connection and no prepared transaction, the
        dropping (or the emptying of tables kept for the next test, see
        TableReuse) is done on a thread of its own, which the next test on
        this server waits for.
        """
        problems: list[str] = []
        errors: list[str] = []
        engine = self._engine
        if engine is None:
            return problems, errors
        self.reuse.wait()
        pool: Any = engine.pool
        if pool.checkedout():
            gc.collect()
        leaked = pool.checkedout()
        if leaked:
            problems.append(
                f"test left {leaked} {self.name} connection(s) checked out "
                "(close sessions/connections); they were killed"
            )
            self._kill_others(engine)
        elif self.reuse.enabled and not self._prepared_transactions(engine):
            self.reuse.end_test()
            return problems, errors
        self.reuse.forget()
        try:
            if self.name == "postgresql":
                errors += self._reset_postgresql(engine)
            else:
                self._reset_mysql(engine)
        except sa.exc.OperationalError as exc:
            # Most likely a lock held by a connection we did not see as leaked.
            problems.append(
                f"cleanup of {self.name} was blocked ({type(exc).__name__}); "
                "killed the other connections and retried"
            )
            self._kill_others(engine)
            if self.name == "postgresql":
                errors += self._reset_postgresql(engine)
            else:
                self._reset_mysql(engine)
        return problems, errors

    def _prepared_transactions(self, engine: Engine) -> bool:
        if self.name != "postgresql":
            return False  # (prepared XA transactions on MariaDB were never looked for)
        with self.reuse.own_statements(), engine.connect() as conn:
            conn.execution_options(**{INTERNAL: True})
            found = conn.exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM pg_prepared_xacts "
                "WHERE database = current_database())"
            ).scalar()
            conn.rollback()
        return bool(found)

    def drop_everything(self, *, kill_blockers: bool = False) -> None:
        """Drop every object in the per-run database now.  `kill_blockers`:
        when a lock blocks it, kill the other connections and try again."""
        engine = self._engine
        if engine is None:
            return
        try:
            if self.name == "postgresql":
                self._reset_postgresql(engine)
            else:
                self._reset_mysql(engine)
        except sa.exc.OperationalError:
            if not kill_blockers:
                raise
            self._kill_others(engine)
            self.drop_everything()

    def _kill_others(self, engine: Engine) -> None:
        admin = self._admin_engine()
        try:
            with admin.connect() as conn:
                if self.name == "postgresql":
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :db AND pid <> pg_backend_pid()"
                        ),
                        {"db": self.db_name},
                    )
                else:
                    self._kill_mysql_connections(conn, self.db_name)
        finally:
            admin.dispose()
        engine.dispose()

    def _reset_postgresql(self, engine: Engine) -> list[str]:
        problems: list[str] = []
        q = engine.dialect.identifier_preparer.quote
        with engine.connect() as conn:
            conn.execution_options(**{INTERNAL: True})
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                schemas = (
                    conn.exec_driver_sql(
                        "SELECT n.nspname FROM pg_namespace n "
                        "WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' "
                        "AND (n.nspname <> 'public' "
                        "  OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid) "
                        "  OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typnamespace = n.oid) "
                        "  OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = n.oid))"
                    )
                    .scalars()
                    .all()
                )
                for schema in schemas:
                    conn.exec_driver_sql(f"DROP SCHEMA {q(schema)} CASCADE")
                if "public" in schemas:
                    conn.exec_driver_sql("CREATE SCHEMA public")
                gids = (
                    conn.exec_driver_sql(
                        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"
                    )
                    .scalars()
                    .all()
                )
            if gids:
                problems.append(f"test left prepared transactions {gids}; rolled back")
                conn.execution_options(isolation_level="AUTOCOMMIT")
                for gid in gids:
                    # a utility statement: no bound parameters
                    literal = str(gid).replace("'", "''")
                    conn.exec_driver_sql(f"ROLLBACK PREPARED '{literal}'")
        return problems

    def _reset_mysql(self, engine: Engine) -> None:
        q = engine.dialect.identifier_preparer.quote
        with engine.connect() as conn:
            conn.execution_options(**{INTERNAL: True})
            objects = conn.exec_driver_sql(
                "SELECT table_type, table_name FROM information_schema.tables "
                "WHERE table_schema = DATABASE() "
                "UNION ALL "
                "SELECT routine_type, routine_name FROM information_schema.routines "
                "WHERE routine_schema = DATABASE()"
            ).all()
            conn.rollback()
            if not objects:
                return
            by_kind: dict[str, list[str]] = {}
            for kind, name in objects:
                by_kind.setdefault(str(kind).upper(), []).append(q(str(name)))
            conn.exec_driver_sql("SET SESSION lock_wait_timeout = 5")
            conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
            try:
                if "VIEW" in by_kind:
                    conn.exec_driver_sql(f"DROP VIEW IF EXISTS {', '.join(by_kind['VIEW'])}")
                tables = by_kind.get("BASE TABLE", []) + by_kind.get("SYSTEM VERSIONED", [])
                if tables:
                    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {', '.join(tables)}")
                for name in by_kind.get("SEQUENCE", []):
                    conn.exec_driver_sql(f"DROP SEQUENCE IF EXISTS {name}")
                for name in by_kind.get("PROCEDURE", []):
                    conn.exec_driver_sql(f"DROP PROCEDURE IF EXISTS {name}")
                for name in by_kind.get("FUNCTION", []):
                    conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}")
            finally:
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")
                conn.exec_driver_sql("SET SESSION lock_wait_timeout = DEFAULT")


# ---------------------------------------------------------------- table reuse

CreateAll = Callable[..., None]

# PostgreSQL: every schema object of the per-run database that a test can leave
# behind, one row each, in a stable order.  Two equal answers mean two databases
# a test cannot tell apart, except for the rows in their tables.
_PG_CATALOG = """
SELECT 'schema', nspname, '' FROM pg_namespace
 WHERE nspname !~ '^pg_' AND nspname NOT IN ('information_schema', 'public')
UNION ALL
SELECT 'relation', c.relname, c.relkind::text || ' ' || c.relpersistence::text
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'column', c.relname || '.' || a.attnum::text,
       a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
       || ' ' || a.attidentity::text || a.attgenerated::text || ' '
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || a.attcollation::text
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'sequence', seqrelid::regclass::text,
       concat_ws(' ', seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle)
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
 WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'type', t.typname, t.typtype::text || ' ' || coalesce(
         (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
            FROM pg_enum e WHERE e.enumtypid = t.oid), '')
  FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
UNION ALL
SELECT 'routine', p.proname, pg_get_function_identity_arguments(p.oid) || ' ' || md5(p.prosrc)
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger', tgrelid::regclass::text || '.' || tgname, tgenabled::text
  FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'comment', objoid::text || '.' || objsubid::text, description
  FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
 WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'prepared', gid, '' FROM pg_prepared_xacts WHERE database = current_database()
ORDER BY 1, 2, 3
"""

_MYSQL_OTHERS = (
    "SELECT 'routine', routine_name FROM information_schema.routines "
    "WHERE routine_schema = DATABASE() "
    "UNION ALL SELECT 'trigger', trigger_name FROM information_schema.triggers "
    "WHERE trigger_schema = DATABASE() "
    "UNION ALL SELECT 'event', event_name FROM information_schema.events "
    "WHERE event_schema = DATABASE()"
)
_MYSQL_AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")

Catalog = tuple[tuple[str, str, str], ...]


def _is_schema_type_hook(fn: Any) -> bool:
    """Whether a DDL event listener is one SQLAlchemy itself puts on tables and
    metadata for a schema type (an ENUM's CREATE TYPE), not a test's own."""
    func = getattr(fn, "func", fn)
    return isinstance(getattr(func, "__self__", None), sa.types.SchemaType)


def create_all_key(
    metadata: sa.MetaData, bind: Engine, tables: Sequence[sa.Table] | None
) -> tuple[str, ...] | None:
    """The DDL ``metadata.create_all(bind, tables)`` sends to an empty database,
    compiled for `bind`'s dialect; None when it cannot be known in advance
    (a DDL event listener of the test's own, which may do anything)."""
    chosen = list(metadata.tables.values()) if tables is None else list(tables)
    for target in [metadata, *chosen]:
        for name in ("before_create", "after_create"):
            if not all(_is_schema_type_hook(fn) for fn in getattr(target.dispatch, name)):
                return None
    statements: list[str] = []
    dialect = bind.dialect

    def record(sql: Any, *_multiparams: Any, **_params: Any) -> None:
        if not isinstance(sql, sa.schema.ExecutableDDLElement):
            raise _NotPlainDDL
        statements.append(str(sql.compile(dialect=dialect)))

    mock = sa.create_mock_engine(bind.url, record)  # type: ignore[arg-type]
    try:
        metadata.create_all(mock, tables=tables, checkfirst=False)  # type: ignore[arg-type]
    except _NotPlainDDL:
        return None
    return (dialect.name, *statements)


class _NotPlainDDL(Exception):
    pass


class TableReuse:
    """Keeps a test's tables for the next test that creates the same ones, and
    does the end-of-test cleanup while the next tests run.

    Creating and dropping tables is most of a server test's time, and most
    tests create the very tables the test before created (a folder's model
    fixtures).  ``MetaData.create_all`` on this server's database goes through
    :meth:`create_all` (conftest.py routes it here); at the end of a test whose
    only schema work was one such call, the catalog is compared with the one
    right after those tables were first created for the same key (the DDL the
    call sends: every column, constraint, index, sequence, type, routine,
    trigger and comment must be the same; no prepared transaction), and if
    equal the tables are emptied (PostgreSQL: DELETE, else TRUNCATE, of those
    holding rows; MariaDB: TRUNCATE of those holding rows or having used
    their auto-increment counter, sequences restarted) and kept.  Otherwise
    every object is dropped, as before.

    That end-of-test work runs on a thread of its own, while this worker goes
    on with the next tests (usually the same test on the other backends); the
    next test on this server waits for it before it starts (``begin_test``).

    Then the kept tables are either claimed by the next test's first
    ``create_all`` with the same key (it creates nothing), or dropped before
    anything else reaches the database (a connection checked out of an engine
    this class watches, a ``create_all`` with another key, a test that asks
    for the URL only).  So a test never sees a row or a table of another test.
    A leaked connection or a prepared transaction left behind still makes the
    cleanup synchronous and complete (ServerBackend.reset).
    """

    def __init__(self, server: ServerBackend) -> None:
        self.server = server
        self.stats: Counter[str] = Counter()
        self.enabled = os.environ.get(REUSE_ENV, "on").strip().lower() not in ("off", "0", "no")
        self._expected: dict[tuple[str, ...], Catalog] = {}
        self._kept: tuple[str, ...] | None = None  # key of the (empty) tables left
        self._claimed: tuple[str, ...] | None = None  # key this test created or reused
        self._untracked = False  # this test did schema work other than one create_all
        self._in_test = False
        self._local = threading.local()  # .busy: this thread runs our own statements
        self._worker: threading.Thread | None = None
        self._worker_error: BaseException | None = None

    # -- wiring -------------------------------------------------------------

    @property
    def _busy(self) -> bool:
        return bool(getattr(self._local, "busy", False))

    @_busy.setter
    def _busy(self, value: bool) -> None:
        self._local.busy = value

    @contextlib.contextmanager
    def own_statements(self) -> Iterator[None]:
        """Connections checked out in this block are the fixtures' own."""
        busy, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = busy

    def watch(self, engine: Engine) -> None:
        """Drop the kept tables before anything else uses `engine`'s connections."""
        event.listen(engine.pool, "checkout", self._on_checkout)

    def _on_checkout(self, *_args: Any) -> None:
        if not self._busy:
            self.wait()
            if self._kept is not None:
                self.discard()

    def begin_test(self) -> None:
        self.wait()
        self._claimed = None
        self._untracked = False
        self._in_test = True

    def applies_to(self, bind: Any) -> bool:
        engine = self.server._engine
        return (
            self.enabled
            and self._in_test
            and engine is not None
            and isinstance(bind, Engine)
            and bind.dialect.name == engine.dialect.name
            and bind.url.database == self.server.db_name
            and bind.url.host == engine.url.host
            and bind.url.port == engine.url.port
        )

    def discard_kept(self) -> None:
        """Drop the tables the previous test left, if any."""
        self.wait()
        if self._kept is not None:
            self.discard()

    def discard(self) -> None:
        """Drop the kept tables now."""
        self._kept = None
        self._busy = True
        try:
            self.server.drop_everything()
            self.stats["discarded"] += 1
        finally:
            self._busy = False

    def forget(self) -> None:
        """The caller drops everything: nothing is kept, nothing claimed."""
        self.wait()
        self._kept = None
        self._claimed = None
        self._in_test = False

    # -- the end-of-test thread ---------------------------------------------

    def wait(self) -> None:
        """Wait for the end-of-test work of the previous test; if it failed,
        drop everything here (and say so)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        worker.join()
        error, self._worker_error = self._worker_error, None
        if error is not None:
            self._kept = None
            warn(
                f"cleanup of {self.server.name} after the previous test failed "
                f"({type(error).__name__}: {error}); dropped everything again"
            )
            self._busy = True
            try:
                self.server.drop_everything(kill_blockers=True)
            finally:
                self._busy = False

    def end_test(self) -> None:
        """The test's connections are back and no transaction is prepared:
        keep or drop its tables, on the end-of-test thread."""
        claimed, self._claimed = self._claimed, None
        if self._untracked or not self.enabled:
            claimed = None
        self._in_test = False
        if self._kept is not None:
            return  # still there: the test never reached the database

        def work() -> None:
            self._busy = True
            try:
                if claimed is not None and self._keep(claimed):
                    self._kept = claimed
                    self.stats["kept"] += 1
                else:
                    self.server.drop_everything(kill_blockers=True)
            except BaseException as exc:
                self._worker_error = exc
            finally:
                self._busy = False

        self._worker = threading.Thread(
            target=work, name=f"datamapper-test-cleanup-{self.server.name}", daemon=True
        )
        self._worker.start()

    def _keep(self, claimed: tuple[str, ...]) -> bool:
        engine = self.server.engine()
        now, _ = self._catalog(engine)
        if now != self._expected.get(claimed):
            self.stats["changed"] += 1
            return False
        self._empty_tables(engine)
        return True

    # -- create_all ---------------------------------------------------------

    def create_all(
        self,
        original: CreateAll,
        metadata: sa.MetaData,
        bind: Engine,
        tables: Sequence[sa.Table] | None,
        checkfirst: bool,
    ) -> None:
        """``metadata.create_all(bind, ...)`` for a test on this server."""

        def run() -> None:
            original(metadata, bind, tables=tables, checkfirst=checkfirst)

        if self._busy:
            return run()
        self.wait()
        key = None
        if self._claimed is None and not self._untracked:
            key = create_all_key(metadata, bind, tables)
        if key is None:
            self._untracked = True
            return run()
        engine = self.server.engine()
        self._busy = True
        try:
            self._create_or_reuse(key, engine, run)
        except sa.exc.DBAPIError:
            self._untracked = True
            raise
        finally:
            self._busy = False
        return None

    def _create_or_reuse(
        self, key: tuple[str, ...], engine: Engine, run: Callable[[], None]
    ) -> None:
        if self._kept == key:  # emptied at the end of the previous test
            self._kept = None
            self._claimed = key
            self.stats["reused"] += 1
            return
        if self._kept is not None:
            self._kept = None
            self.server.drop_everything()
            self.stats["discarded"] += 1
        before, _ = self._catalog(engine)
        run()
        if before:  # the test had made objects of its own before
            self._untracked = True
            return
        after, reusable = self._catalog(engine)
        if reusable:
            self._expected[key] = after
            self._claimed = key
            self.stats["created"] += 1
        else:
            self._untracked = True

    # -- the database -------------------------------------------------------

    def _catalog(self, engine: Engine) -> tuple[Catalog, bool]:
        """(every schema object of the per-run database, whether the database
        holds only what table reuse knows how to empty)."""
        with engine.connect() as conn:
            conn.execution_options(**{INTERNAL: True})
            try:
                if self.server.name == "postgresql":
                    rows = tuple(
                        (str(a), str(b), str(c)) for a, b, c in conn.exec_driver_sql(_PG_CATALOG)
                    )
                    reusable = not any(r[0] in ("schema", "prepared") for r in rows)
                    return rows, reusable
                return self._mysql_catalog(conn)
            finally:
                conn.rollback()

    @staticmethod
    def _mysql_catalog(conn: Connection) -> tuple[Catalog, bool]:
        q = conn.dialect.identifier_preparer.quote
        rows: list[tuple[str, str, str]] = []
        reusable = True
        for name, kind in sorted(conn.exec_driver_sql("SHOW FULL TABLES").all()):
            if kind != "BASE TABLE":
                rows.append((str(kind), str(name), ""))
                reusable = False
                continue
            ddl = str(conn.exec_driver_sql(f"SHOW CREATE TABLE {q(name)}").one()[1])
            stripped = _MYSQL_AUTO_INCREMENT.sub("", ddl)
            # a table created with its own AUTO_INCREMENT start: TRUNCATE would
            # not give it back
            reusable = reusable and stripped == ddl
            rows.append(("table", str(name), stripped))
        for kind, name in conn.exec_driver_sql(_MYSQL_OTHERS).all():
            rows.append((str(kind), str(name), ""))
            reusable = False
        return tuple(sorted(rows)), reusable

    def _empty_tables(self, engine: Engine) -> None:
        """Delete every row of the kept tables and restart their counters."""
        q = engine.dialect.identifier_preparer.quote
        with engine.connect() as conn:
            conn.execution_options(**{INTERNAL: True})
            if self.server.name == "postgresql":
                tables = conn.exec_driver_sql(_PG_TABLES).all()
                names = [str(name) for name, _triggers, _refs in tables]
                used = _nonempty(conn, names)
                # DELETE, referencing tables first: a quarter of the time of a TRUNCATE
                # of a few small tables; TRUNCATE when a table has triggers of its own
                # (DELETE would fire them), the references form a cycle, or it fails
                order = None
                if used and not any(triggers for _name, triggers, _refs in tables):
                    order = _delete_order(used, {str(n): list(r) for n, _t, r in tables})
                try:
                    for name in order or ():
                        conn.exec_driver_sql(f"DELETE FROM {q(name)}")
                except sa.exc.DBAPIError:
                    conn.rollback()
                    order = None
                if used and order is None:
                    conn.exec_driver_sql(f"TRUNCATE {', '.join(q(n) for n in used)} CASCADE")
                conn.exec_driver_sql(
                    "SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), "
                    "start_value, false) FROM pg_sequences "
                    "WHERE schemaname = 'public' AND last_value IS NOT NULL"
                ).all()
                conn.commit()
                return
            counters = conn.exec_driver_sql(
                "SELECT table_name, auto_increment FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
            ).all()
            names = [str(n) for n, _ in counters]
            used = set(_nonempty(conn, names))
            used.update(str(n) for n, counter in counters if counter is not None and counter > 1)
            conn.rollback()
            if not used:
                return
            conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
            try:
                for name in sorted(used):
                    conn.exec_driver_sql(f"TRUNCATE TABLE {q(name)}")
            finally:
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")


# the tables of the per-run database: name, whether it has triggers of its own (not
# those of its foreign keys), the other tables its foreign keys reference
_PG_TABLES = (
    "SELECT c.relname, EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid "
    "AND NOT t.tgisinternal), ARRAY(SELECT r.relname FROM pg_constraint k "
    "JOIN pg_class r ON r.oid = k.confrelid WHERE k.conrelid = c.oid AND k.contype = 'f' "
    "AND k.confrelid <> c.oid) FROM pg_class c "
    "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"
)


def _delete_order(used: Sequence[str], references: dict[str, list[str]]) -> list[str] | None:
    """The tables ``used`` in an order that deletes every referencing row before the
    row it references (None when their references form a cycle)."""
    left = set(used)
    order = []
    while left:
        referenced = {r for t in left for r in references.get(t, ()) if r in left}
        ready = sorted(left - referenced)
        if not ready:
            return None
        order.extend(ready)
        left.difference_update(ready)
    return order


def _nonempty(conn: Connection, names: Sequence[str]) -> list[str]:
    """Those of the tables `names` that hold at least one row (one query)."""
    if not names:
        return []
    q = conn.dialect.identifier_preparer.quote
    parts = [
        f"SELECT {i} FROM (SELECT 1 AS x) AS one WHERE EXISTS (SELECT 1 FROM {q(n)})"
        for i, n in enumerate(names)
    ]
    hits = conn.exec_driver_sql(" UNION ALL ".join(parts)).scalars().all()
    return [names[int(i)] for i in hits]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def select_backends(markers: Sequence[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Backends a test runs on, given its (marker name, args) pairs."""
    chosen = list(BACKENDS)
    for name, args in markers:
        if name == "postgresql_only":
            allowed: Sequence[str] = ("postgresql",)
        elif name == "mysql_only":
            allowed = ("mysql",)
        elif name == "sqlite_only":
            allowed = ("sqlite",)
        elif name == "servers_only":
            allowed = SERVER_BACKENDS
        elif name == "backends":
            allowed = parse_backend_list(",".join(args), env="@pytest.mark.backends")
        else:
            continue
        chosen = [b for b in chosen if b in allowed]
    return chosen


class TestResourceWarning(UserWarning):
    """A test left a connection or other server resource behind."""

    __test__ = False  # not a test class, despite the name


def warn(message: str) -> None:
    warnings.warn(message, TestResourceWarning, stacklevel=2)
