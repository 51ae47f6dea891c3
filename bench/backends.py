"""Database backends of the benchmark harness.

A ``Backend`` knows its SQLAlchemy URL, how to open a raw DB-API connection,
how to bring the bench tables to a known state (empty or seeded with the
``Spec`` data, ids 1..n) outside the timed region, and how to read checksums
back on a fresh connection so that every timed run is verified against what
the database really holds.

- SQLite: a file database in a temporary directory, WAL journal mode (set once
  on the file; it is persistent, so every connection of every implementation
  uses it). Tables are dropped and recreated for a fresh state. By default the
  driver's ``synchronous`` setting stays (FULL: each commit waits for the
  disk); ``--sqlite-synchronous OFF`` sets the same PRAGMA on every connection
  of every implementation, so that per-commit disk waits leave the timings.
- PostgreSQL: a dedicated database ``dm_bench`` (created if missing through an
  AUTOCOMMIT connection to the URL's database) so concurrent test runs are not
  disturbed. Fresh state is TRUNCATE ... RESTART IDENTITY; seeding uses COPY
  followed by VACUUM ANALYZE so that the first reader does not pay for hint
  bits.
- MySQL/MariaDB (extra): database ``dm_bench`` too, TRUNCATE for fresh state.
"""

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from common import Checksum, Spec, TreeChecksum, TreeData

metadata = MetaData()
items = Table(
    "bench_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),
    Column("value", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("note", String(100)),
)
parents = Table(
    "bench_parent",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),
)
children = Table(
    "bench_child",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parent_id", Integer, ForeignKey("bench_parent.id"), nullable=False, index=True),
    Column("name", String(50), nullable=False),
    Column("value", Integer, nullable=False),
)
# "web" is the tree tables seeded with the smaller users -> addresses data set
GROUPS: dict[str, list[Table]] = {
    "items": [items],
    "tree": [parents, children],
    "web": [parents, children],
}

ITEM_CHECKSUM_SQL = (
    "SELECT count(*), coalesce(sum(id), 0), coalesce(sum(value), 0),"
    " coalesce(sum(length(name)), 0), coalesce(sum(length(note)), 0),"
    " coalesce(sum(score), 0) FROM bench_item"
)
TREE_SQL = (
    "SELECT p.name, c.name, c.value FROM bench_child c JOIN bench_parent p ON p.id = c.parent_id"
)

DEFAULT_URLS = {
    "sqlite": "",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
BENCH_DATABASE = "dm_bench"


class Backend:
    """Base class; see the module docstring."""

    name: str
    placeholder = "?"  # DB-API paramstyle marker used by the raw implementation
    url: str

    def __init__(self) -> None:
        self._admin: Engine | None = None
        self.state: str | None = None  # e.g. "items:seeded"; None = unknown

    # -- life cycle -------------------------------------------------------
    @property
    def admin(self) -> Engine:
        """NullPool engine for DDL and housekeeping (never holds a connection)."""
        if self._admin is None:
            raise RuntimeError("backend not opened")
        return self._admin

    def open(self) -> None:
        self._admin = self.make_admin_engine()
        with self.admin.begin() as conn:
            metadata.drop_all(conn)
            metadata.create_all(conn)

    def close(self) -> None:
        if self._admin is not None:
            with self._admin.begin() as conn:
                metadata.drop_all(conn)
            self._admin.dispose()

    def make_admin_engine(self) -> Engine:
        return create_engine(self.url, poolclass=NullPool)

    def make_engine(self) -> Engine:
        """The pooled engine of one implementation (each gets its own)."""
        return create_engine(self.url)

    def describe(self) -> str:
        raise NotImplementedError

    def raw_connect(self) -> Any:
        raise NotImplementedError

    def sql(self, statement: str) -> str:
        """Adapt a statement written with ``?`` markers to the raw driver."""
        return statement.replace("?", self.placeholder)

    # -- table states (never timed) -----------------------------------------
    def ensure(self, state: str, spec: Spec) -> None:
        """Bring the tables to ``state`` ("items:empty", "items:seeded",
        "tree:empty", "tree:seeded", "web:seeded") unless they are known to be in it."""
        if self.state == state:
            return
        self.state = None
        group, what = state.split(":")
        self.reset(group)
        if what == "seeded":
            if group == "items":
                self.seed_items(spec)
            else:
                self.seed_tree(spec.web_tree if group == "web" else spec.tree)
        self.settle()
        self.state = state

    def reset(self, group: str) -> None:
        raise NotImplementedError

    def settle(self) -> None:
        """Post-seeding housekeeping so every implementation finds the same
        physical state."""

    def seed_items(self, spec: Spec) -> None:
        conn = self.raw_connect()
        try:
            cur = conn.cursor()
            cur.executemany(
                self.sql(
                    "INSERT INTO bench_item (id, name, value, score, note) VALUES (?, ?, ?, ?, ?)"
                ),
                list(spec.item_rows()),
            )
            conn.commit()
        finally:
            conn.close()

    def tree_rows(
        self, tree: list[TreeData]
    ) -> tuple[list[tuple[int, str]], list[tuple[int, int, str, int]]]:
        prows: list[tuple[int, str]] = []
        crows: list[tuple[int, int, str, int]] = []
        for pid, (pname, kids) in enumerate(tree, 1):
            prows.append((pid, pname))
            for cname, value in kids:
                crows.append((len(crows) + 1, pid, cname, value))
        return prows, crows

    def seed_tree(self, tree: list[TreeData]) -> None:
        prows, crows = self.tree_rows(tree)
        conn = self.raw_connect()
        try:
            cur = conn.cursor()
            cur.executemany(self.sql("INSERT INTO bench_parent (id, name) VALUES (?, ?)"), prows)
            cur.executemany(
                self.sql(
                    "INSERT INTO bench_child (id, parent_id, name, value) VALUES (?, ?, ?, ?)"
                ),
                crows,
            )
            conn.commit()
        finally:
            conn.close()

    # -- read-back on a fresh connection (never timed) -----------------------
    def _fetch(self, statement: str) -> list[tuple[Any, ...]]:
        conn = self.raw_connect()
        try:
            cur = conn.cursor()
            cur.execute(statement)
            rows = [tuple(r) for r in cur.fetchall()]
            conn.rollback()
            return rows
        finally:
            conn.close()

    def item_checksum(self) -> Checksum:
        (row,) = self._fetch(ITEM_CHECKSUM_SQL)
        count, sid, sval, sname, snote, sscore = row
        return Checksum(int(count), int(sid), int(sval), int(sname), int(snote), float(sscore))

    def item_names(self) -> dict[int, str]:
        return {int(i): n for i, n in self._fetch("SELECT id, name FROM bench_item")}

    def tree_checksum(self) -> TreeChecksum:
        (row,) = self._fetch("SELECT count(*) FROM bench_parent")
        return TreeChecksum.of(int(row[0]), self._fetch(TREE_SQL))


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: str | None = None, synchronous: str | None = None) -> None:
        super().__init__()
        # None: the driver's default (FULL: every commit waits for the disk).
        # Otherwise PRAGMA synchronous=<value> on every connection of every
        # implementation alike (engines and the raw driver's connection).
        self.synchronous = synchronous
        self._tmpdir: str | None = None
        if path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="dm_bench_")
            path = str(Path(self._tmpdir) / "bench.db")
        self.path = path
        self.url = f"sqlite:///{path}"

    def open(self) -> None:
        conn = sqlite3.connect(self.path)
        try:
            (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        finally:
            conn.close()
        if mode.lower() != "wal":
            raise RuntimeError(f"could not switch {self.path} to WAL (journal_mode={mode})")
        super().open()
        with self.admin.connect() as sa_conn:
            mode = sa_conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        if str(mode).lower() != "wal":
            raise RuntimeError(f"engine connections do not see WAL (journal_mode={mode})")
        if self.synchronous is not None:
            for check in (self.make_engine(), self.make_admin_engine()):
                with check.connect() as sa_conn:
                    level = sa_conn.exec_driver_sql("PRAGMA synchronous").scalar()
                check.dispose()
                raw = self.raw_connect()
                try:
                    (raw_level,) = raw.execute("PRAGMA synchronous").fetchone()
                finally:
                    raw.close()
                if level != SYNCHRONOUS_LEVELS[self.synchronous] or raw_level != level:
                    raise RuntimeError(f"PRAGMA synchronous={self.synchronous} did not take")

    def _set_synchronous(self, dbapi_conn: Any, record: Any = None) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA synchronous={self.synchronous}")
        finally:
            cur.close()

    def make_admin_engine(self) -> Engine:
        engine = super().make_admin_engine()
        if self.synchronous is not None:
            event.listen(engine, "connect", self._set_synchronous)
        return engine

    def make_engine(self) -> Engine:
        engine = super().make_engine()
        if self.synchronous is not None:
            # a pool "connect" hook: it runs once per new DB-API connection,
            # not per statement, and is the same for every implementation
            event.listen(engine, "connect", self._set_synchronous)
        return engine

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._tmpdir:
                shutil.rmtree(self._tmpdir, ignore_errors=True)

    def describe(self) -> str:
        sync = (
            "synchronous default (FULL: each commit waits for the disk)"
            if self.synchronous is None
            else f"synchronous={self.synchronous} for every implementation (commits do not"
            " wait for the disk)"
        )
        return f"SQLite {sqlite3.sqlite_version}, file database, WAL, {sync} ({self.path})"

    def raw_connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path)
        if self.synchronous is not None:
            self._set_synchronous(conn)
        return conn

    def reset(self, group: str) -> None:
        tables = GROUPS[group]
        with self.admin.begin() as conn:
            metadata.drop_all(conn, tables=tables)
            metadata.create_all(conn, tables=tables)
        self.settle()

    def settle(self) -> None:
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()


class PostgreSQLBackend(Backend):
    name = "postgresql"
    placeholder = "%s"

    def __init__(self, url: str, database: str = BENCH_DATABASE) -> None:
        super().__init__()
        self.server_url: URL = make_url(url)
        self.database = database
        self.url = self.server_url.set(database=database).render_as_string(hide_password=False)
        self.version = ""

    def open(self) -> None:
        server = create_engine(self.server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as conn:
                exists = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": self.database}
                ).scalar()
                if not exists:
                    conn.exec_driver_sql(f'CREATE DATABASE "{self.database}"')
        finally:
            server.dispose()
        super().open()
        with self.admin.connect() as conn:
            self.version = str(conn.exec_driver_sql("SHOW server_version").scalar())

    def make_admin_engine(self) -> Engine:
        # Never wait forever behind a connection someone left in a transaction.
        return create_engine(
            self.url, poolclass=NullPool, connect_args={"options": "-c lock_timeout=30000"}
        )

    def describe(self) -> str:
        return f"PostgreSQL {self.version}, database {self.database}"

    def _conninfo(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    def raw_connect(self) -> Any:
        import psycopg

        return psycopg.connect(self._conninfo())

    def reset(self, group: str) -> None:
        names = ", ".join(t.name for t in GROUPS[group])
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")

    def seed_items(self, spec: Spec) -> None:
        with self.raw_connect() as conn, conn.cursor() as cur:
            with cur.copy("COPY bench_item (id, name, value, score, note) FROM STDIN") as copy:
                for row in spec.item_rows():
                    copy.write_row(row)
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('bench_item', 'id'), %s)", (max(spec.n, 1),)
            )

    def seed_tree(self, tree: list[TreeData]) -> None:
        prows, crows = self.tree_rows(tree)
        with self.raw_connect() as conn, conn.cursor() as cur:
            with cur.copy("COPY bench_parent (id, name) FROM STDIN") as copy:
                for prow in prows:
                    copy.write_row(prow)
            with cur.copy("COPY bench_child (id, parent_id, name, value) FROM STDIN") as copy:
                for crow in crows:
                    copy.write_row(crow)
            for table, last in (("bench_parent", len(prows)), ("bench_child", len(crows))):
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, max(last, 1))
                )

    def settle(self) -> None:
        import psycopg

        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE bench_item, bench_parent, bench_child")


class MySQLBackend(Backend):
    name = "mysql"
    placeholder = "%s"

    def __init__(self, url: str, database: str = BENCH_DATABASE) -> None:
        super().__init__()
        self.server_url: URL = make_url(url)
        self.database = database
        self.url = self.server_url.set(database=database).render_as_string(hide_password=False)
        self.version = ""

    def open(self) -> None:
        server = create_engine(self.server_url, poolclass=NullPool)
        try:
            with server.begin() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
        finally:
            server.dispose()
        super().open()
        with self.admin.connect() as conn:
            self.version = str(conn.exec_driver_sql("SELECT version()").scalar())

    def describe(self) -> str:
        product = "MariaDB" if "mariadb" in self.version.lower() else "MySQL"
        return f"{product} {self.version}, database {self.database}"

    def raw_connect(self) -> Any:
        import pymysql  # type: ignore[import-untyped]

        u = make_url(self.url)
        return pymysql.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 3306,
            user=u.username or "root",
            password=u.password or "",
            database=u.database,
        )

    def reset(self, group: str) -> None:
        with self.admin.begin() as conn:
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            for table in GROUPS[group]:
                conn.exec_driver_sql(f"TRUNCATE TABLE {table.name}")
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


SYNCHRONOUS_LEVELS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}


def make_backend(name: str, url: str | None, sqlite_synchronous: str | None = None,
                 database: str = BENCH_DATABASE) -> Backend:
    if name == "sqlite":
        return SQLiteBackend(make_url(url).database if url else None, sqlite_synchronous)
    if name == "postgresql":
        return PostgreSQLBackend(url or DEFAULT_URLS["postgresql"], database)
    if name == "mysql":
        return MySQLBackend(url or DEFAULT_URLS["mysql"], database)
    raise ValueError(f"unknown backend {name!r}")
