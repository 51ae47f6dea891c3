"""The backend-parameterised fixtures every datamapper test uses.

A test that asks for ``engine`` (or anything built on it) runs once per
backend, with ids ``[sqlite]``, ``[postgresql]``, ``[mysql]``:

- ``backend_name``  "sqlite" / "postgresql" / "mysql"
- ``db_url``        URL string of this test's database (alias ``backend_url``)
- ``engine``        a Core ``Engine`` on that database; emptied after the test
- ``metadata``      a fresh ``sqlalchemy.MetaData()``
- ``sql_log``       records the statements sent through ``engine`` (see _support.SqlLog)
- ``read_rows``     ``read_rows(table_or_sql, **filters) -> list[tuple]`` through a
                    separate connection: it sees committed data only
- ``engine_factory``  ``engine_factory(**create_engine_kwargs)`` -> another Engine
                    on the same database (disposed after the test)
- ``make_session`` / ``session``  datamapper Sessions on ``engine``, closed at teardown
- ``listen``        ``listen(target, name, fn)``: a datamapper event listener removed at
                    teardown
- ``other_engine``  an Engine on a second database of the same backend (one per
                    worker, ``second_databases``), emptied after the test
- ``attach_guard`` / ``guarded_engine``  a pool check-in guard: every connection given
                    back inside a database transaction is recorded (_tx_support.CheckinGuard)
- ``twophase_ready``  skips where two-phase commit is off; fails a test that leaves
                    one of its two-phase transactions prepared

Models (a module may define a fixture of the same name, which wins there):
``Base``, ``User`` (users(id, name, note)), ``models`` (User 1-* Address),
``parent_child_models`` (Parent 1-* Child, cascade all, delete-orphan),
``author_models`` / ``authors_filled`` (Author 1-* Book 1-* Page), ``users``
(User rows 1 "ed" and 2 "wendy" committed).

SQLite always runs, on a fresh database file per test (in memory, under /dev/shm,
when it can: ``DATAMAPPER_TEST_SQLITE_DIR``).  PostgreSQL and MySQL
run when reachable (``DATAMAPPER_TEST_POSTGRESQL_URL``,
``DATAMAPPER_TEST_MYSQL_URL``), in a database created for this pytest session
and dropped at its end; otherwise their tests are skipped with the reason.
Backends listed in ``DATAMAPPER_REQUIRE_BACKENDS`` must be reachable or the
session stops at once with a non-zero exit.  ``DATAMAPPER_TEST_BACKENDS``
restricts a run to some backends.

Markers: ``postgresql_only``, ``mysql_only``, ``sqlite_only``, ``servers_only``,
``backends("sqlite", "mysql")``; ``slow_on_servers``: the test's PostgreSQL and
MySQL instances are marked ``slow`` (they run in the slow step, ``pytest -m slow``:
for tables of cases whose outcome does not depend on the database).

On the servers a test's tables may be kept, emptied, for the next test whose
first ``MetaData.create_all`` sends the same DDL (``_support.TableReuse``; every
``create_all`` goes through ``_create_all`` below); any other use of the database
drops them first, so a test never sees a table or row of another.
``DATAMAPPER_TEST_REUSE_TABLES=off`` drops every test's tables instead.

On the servers the engine is a per-test view (``execution_options()``) of one
session-wide engine: it shares the connection pool, but event listeners a test
adds to it stay with that test.  Session-level settings a test changes on a
connection (``SET ...``) survive in the pool: reset them in the test.

Hypothesis: profile "ci" (deadline=None, max_examples=50) is loaded unless
``HYPOTHESIS_PROFILE`` names another ("soak": 1,000 examples, for local runs).  It suppresses the function-scoped-fixture
health check because the database fixtures are function-scoped by nature: the
database is *not* reset between examples, so a ``@given`` test must make each
example independent itself (unique keys, or delete what it wrote).
"""

from __future__ import annotations

import gc
import itertools
import os
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy import inspection
from sqlalchemy.engine import Engine

import _support
import _tx_support
from _support import (
    BACKENDS,
    DEFAULT_URLS,
    REQUIRE_ENV,
    SELECT_ENV,
    SERVER_BACKENDS,
    URL_ENV,
    ServerBackend,
    SqlLog,
)
from datamapper import declarative_base, relationship

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# a local soak: HYPOTHESIS_PROFILE=soak pytest tests/session/test_flush_properties.py ...
# (tests that set their own max_examples have their own variable: DIFF_EXAMPLES,
# DM_STATEM_EXAMPLES, DM_GRAPH_EXAMPLES)
settings.register_profile("soak", settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_DISABLED_VALUES = {"", "off", "none", "skip", "0", "false"}
SQLITE_DIR_ENV = "DATAMAPPER_TEST_SQLITE_DIR"


class _Backends:
    """What this pytest session runs on; kept on the config object."""

    def __init__(self) -> None:
        self.required = _support.parse_backend_list(os.environ.get(REQUIRE_ENV), env=REQUIRE_ENV)
        selected = _support.parse_backend_list(os.environ.get(SELECT_ENV), env=SELECT_ENV)
        self.selected = selected or list(BACKENDS)
        self.servers: dict[str, ServerBackend] = {}
        self.skip_reasons: dict[str, str] = {}
        for name in SERVER_BACKENDS:
            raw = os.environ.get(URL_ENV[name], DEFAULT_URLS[name])
            if name not in self.selected:
                self.skip_reasons[name] = f"{name} not selected ({SELECT_ENV})"
            elif raw.strip().lower() in _DISABLED_VALUES:
                self.skip_reasons[name] = f"{name} disabled ({URL_ENV[name]}={raw!r})"
            else:
                self.servers[name] = ServerBackend(name, raw.strip())
        if "sqlite" not in self.selected:
            self.skip_reasons["sqlite"] = f"sqlite not selected ({SELECT_ENV})"
        self.sqlite_counter = itertools.count(1)
        # set on the pytest-xdist controller, which runs no test itself
        self.workers: int | None = None

    def probe(self) -> list[str]:
        """Probe the servers; return the failures of required backends."""
        failures = []
        for name, server in list(self.servers.items()):
            if not server.probe():
                self.skip_reasons[name] = server.reason
                del self.servers[name]
        for name in self.required:
            if name in self.skip_reasons:
                failures.append(self.skip_reasons[name])
        return failures

    def header(self) -> list[str]:
        lines = []
        for name in BACKENDS:
            if name in self.skip_reasons:
                state = f"SKIPPED: {self.skip_reasons[name]}"
            elif name == "sqlite":
                state = f"a new database file per test (SQLite {sqlite3.sqlite_version})"
            else:
                server = self.servers[name]
                target = (
                    f"a database per worker ({self.workers} pytest-xdist workers)"
                    if self.workers
                    else f"database {server.db_name}"
                )
                state = f"{server.reason} -> {target}"
            req = " [required]" if name in self.required else ""
            lines.append(f"  {name}{req}: {state}")
        return ["datamapper test backends:", *lines]


_BACKENDS_KEY = pytest.StashKey[_Backends]()


def _backends(config: pytest.Config) -> _Backends:
    return config.stash[_BACKENDS_KEY]


# ----------------------------------------------------------------- pytest hooks


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "postgresql_only: run this test only on the PostgreSQL backend",
        "mysql_only: run this test only on the MySQL/MariaDB backend",
        "sqlite_only: run this test only on the SQLite backend",
        "servers_only: run this test only on the server backends (PostgreSQL, MySQL)",
        "backends(*names): run this test only on the named backends",
        "slow_on_servers: the PostgreSQL and MySQL instances of this test are marked slow",
    ):
        config.addinivalue_line("markers", line)
    try:
        backends = _Backends()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc
    numprocesses = getattr(config.option, "numprocesses", None)
    if numprocesses and not hasattr(config, "workerinput"):
        backends.workers = int(numprocesses)
    config.stash[_BACKENDS_KEY] = backends


def pytest_sessionstart(session: pytest.Session) -> None:
    failures = _backends(session.config).probe()
    if failures:
        pytest.exit(
            f"{REQUIRE_ENV}={os.environ.get(REQUIRE_ENV)} but a required backend is "
            "unavailable:\n  " + "\n  ".join(failures),
            returncode=3,
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    return _backends(config).header()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    # The report header is hidden under -q; repeat the backends at the end.
    if _BACKENDS_KEY in config.stash:
        for line in _backends(config).header():
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    backends = session.config.stash.get(_BACKENDS_KEY, None)
    if backends is None:
        return
    stats_file = os.environ.get("DATAMAPPER_TEST_REUSE_STATS")
    for server in backends.servers.values():
        if stats_file:
            with open(stats_file, "a") as out:
                out.write(f"{server.name} {dict(server.reuse.stats)}\n")
        try:
            server.drop()
        except Exception as exc:  # report, never mask the test outcome
            print(f"\nwarning: could not drop {server.name} database {server.db_name}: {exc}")


# Tables a test creates with MetaData.create_all on a server may be kept for the
# next test that creates the same ones (tests/_support.py, TableReuse): every
# create_all goes through here.  Nothing changes for SQLite or for binds that are
# not this run's server databases.
_original_create_all = sa.MetaData.create_all


def _create_all(self: sa.MetaData, bind: Any, tables: Any = None, checkfirst: bool = True) -> None:
    for server in _support.SERVERS:
        if server.reuse.applies_to(bind):
            server.reuse.create_all(_original_create_all, self, bind, tables, checkfirst)
            return
    _original_create_all(self, bind, tables=tables, checkfirst=checkfirst)


sa.MetaData.create_all = _create_all  # type: ignore[method-assign]


# Every class a test maps stays reachable after the test through the entry
# datamapper makes for it in Core's inspection registry (a dict keyed by class,
# mapping/coercion.py install()), and every live mapper is walked by each
# configure_mappers(), each cache invalidation and each flush plan (the mappers
# whose relationships point at a table).  So after each test that mapped classes,
# the entries are taken out, the garbage is collected, and the entries of the
# classes still alive (module-level models, wider-scoped fixtures) are put back:
# nothing a later test can reach changes, and the next test walks its own mappers
# and a few more, not the hundreds the tests before it left.
#
# That costs little because of gc.freeze(): what is alive after the collection of
# the tests and after each release is frozen (no collection walks it again), so
# a release, and every gc.collect() a test calls (the weak identity map, objects
# a flush releases, a session left in a reference cycle), walks what the tests
# since made, not the ~240,000 objects of the collected items and the modules.
# Once _FULL_RELEASE_AFTER more classes were mapped, a release unfreezes first,
# so what was frozen and has died since (a wider-scoped fixture's models) is
# collected too.
_FULL_RELEASE_AFTER = 200
_registered_after_release = 0
_registered_since_full = 0


def _release_unreachable_mapped_classes(full: bool) -> int:
    """Collect the mapped classes only the inspection registry holds; return the
    number of registry entries left."""
    from datamapper.mapping import coercion

    registrars = inspection._registrars
    taken = [
        (weakref.ref(cls), fn)
        for cls, fn in list(registrars.items())
        if fn is coercion._inspect_instance and isinstance(cls, type)
    ]
    for ref, _fn in taken:
        registrars.pop(ref(), None)
    if full:
        gc.unfreeze()
    gc.collect()
    for ref, fn in taken:
        alive = ref()
        if alive is not None:
            registrars[alive] = fn
    gc.freeze()
    return len(registrars)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


@pytest.fixture
def unfrozen_gc() -> Iterator[None]:
    """No object frozen during the test (for tests of datamapper's own use of
    gc.freeze(), which stands aside when the program froze objects itself)."""
    gc.unfreeze()
    yield
    gc.freeze()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    # after the teardown, once pytest has let go of the test's fixture values
    global _registered_after_release, _registered_since_full
    mapped = len(inspection._registrars) - _registered_after_release
    if mapped > 0:
        _registered_since_full += mapped
        full = _registered_since_full >= _FULL_RELEASE_AFTER
        if full:
            _registered_since_full = 0
        _registered_after_release = _release_unreachable_mapped_classes(full)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_name" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        argnames = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if isinstance(argnames, str):
            argnames = [a.strip() for a in argnames.split(",")]
        if "backend_name" in argnames:
            return  # the test chose its backends itself
    chosen = _support.select_backends(
        [(m.name, tuple(m.args)) for m in metafunc.definition.iter_markers()]
    )
    params: list[Any] = list(chosen)
    if metafunc.definition.get_closest_marker("slow_on_servers") is not None:
        # the server instances run in the slow step only (`pytest -m slow`, .ci/run)
        params = [n if n == "sqlite" else pytest.param(n, marks=pytest.mark.slow)
                  for n in chosen]
    metafunc.parametrize("backend_name", params, indirect=True, ids=chosen)


# --------------------------------------------------------------------- fixtures


@pytest.fixture
def backend_name(request: pytest.FixtureRequest) -> str:
    """The backend this test instance runs on: "sqlite", "postgresql" or "mysql"."""
    name: str = request.param
    reason = _backends(request.config).skip_reasons.get(name)
    if reason is not None:
        pytest.skip(reason)
    return name


@pytest.fixture(scope="session")
def _sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the per-test SQLite files go: a directory of this process's own under
    ``DATAMAPPER_TEST_SQLITE_DIR`` (default /dev/shm, a memory file system, when it
    can be written; "tmp": pytest's temporary directory), removed at the end.

    Creating, writing and removing a database file on the disk file system took ten
    times the wall time it takes in memory (20 ms against 2 ms per test, most of it
    waiting for the file system's journal), with the same SQLite underneath."""
    parent = os.environ.get(SQLITE_DIR_ENV) or "/dev/shm"
    if parent == "tmp" or not os.access(parent, os.W_OK):
        yield tmp_path_factory.mktemp("sqlite")
        return
    path = Path(tempfile.mkdtemp(prefix="datamapper-tests-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _server(request: pytest.FixtureRequest, name: str) -> ServerBackend:
    server = _backends(request.config).servers[name]
    try:
        server.engine()  # creates this run's database on first use
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return server


@pytest.fixture
def db_url(request: pytest.FixtureRequest, backend_name: str, _sqlite_dir: Path) -> Iterator[str]:
    """URL string of the database this test uses (a new file per test on SQLite)."""
    if backend_name == "sqlite":
        path = _sqlite_dir / f"t{next(_backends(request.config).sqlite_counter)}.db"
        yield f"sqlite:///{path}"
        _support.remove_sqlite_files(path)
    else:
        server = _server(request, backend_name)
        if "engine" not in request.fixturenames:
            # the test connects by URL only: no tables a previous test left
            server.reuse.discard_kept()
        yield server.url_string


@pytest.fixture
def backend_url(db_url: str) -> str:
    """Alias of ``db_url``."""
    return db_url


@pytest.fixture
def engine(request: pytest.FixtureRequest, backend_name: str, db_url: str) -> Iterator[Engine]:
    """An Engine on this test's database; every object in it is dropped afterwards."""
    if backend_name == "sqlite":
        eng = _support.sqlite_engine(sa.make_url(db_url).database or "")
        try:
            yield eng
        finally:
            eng.dispose()
        return

    server = _server(request, backend_name)
    base = server.engine()
    server.reuse.begin_test()
    # a compiled-statement cache of the test's own: the session-wide engine's would
    # keep the statements of the last tests, and through them their mapped classes,
    # alive (a later test never reuses them: its Table objects are new)
    yield base.execution_options(compiled_cache=sa.util.LRUCache(500))
    warnings_, errors = server.reset()
    for message in warnings_:
        _support.warn(message)
    if errors:
        pytest.fail("; ".join(errors), pytrace=False)


@pytest.fixture
def metadata() -> sa.MetaData:
    """A fresh MetaData for this test."""
    return sa.MetaData()


# -- models shared by the test folders (a folder's conftest or a module may define
# its own fixture of the same name, which wins there) --------------------------------
@pytest.fixture
def Base(metadata: sa.MetaData) -> Any:
    """A fresh declarative base on ``metadata``."""
    return declarative_base(metadata=metadata)


@pytest.fixture
def User(Base: Any, engine: Engine) -> Any:
    """``users(id, name, note)``, created on ``engine``."""

    class User(Base):
        __tablename__ = "users"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(50))
        note = sa.Column(sa.String(50))

    Base.metadata.create_all(engine)
    return User


@pytest.fixture
def models(Base: Any, engine: Engine) -> tuple[Any, Any]:
    """User 1-* Address with backref ``Address.user``, created on ``engine``."""

    class User(Base):
        __tablename__ = "users"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(50))
        addresses = relationship("Address", backref="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = sa.Column(sa.Integer, primary_key=True)
        email = sa.Column(sa.String(50))
        user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))

    Base.metadata.create_all(engine)
    return User, Address


@pytest.fixture
def sql_log(engine: Engine) -> Iterator[SqlLog]:
    """Records each statement sent through ``engine`` (fixture-internal ones excluded)."""
    log = SqlLog().attach(engine)
    try:
        yield log
    finally:
        log.detach()


@pytest.fixture
def read_rows(engine: Engine) -> Callable[..., list[tuple[Any, ...]]]:
    """``read_rows(table_or_sql, **filters)``: rows via a separate connection.

    A Table gives all rows ordered by primary key (keywords filter by column);
    a string is textual SQL (keywords are its ``:params``).  Only committed data
    is visible.
    """

    def _read_rows(sql_or_table: Any, **filters: Any) -> list[tuple[Any, ...]]:
        return _support.read_rows(engine, sql_or_table, **filters)

    return _read_rows


@pytest.fixture
def engine_factory(
    request: pytest.FixtureRequest, backend_name: str, db_url: str, engine: Engine
) -> Iterator[Callable[..., Engine]]:
    """``engine_factory(**create_engine_kwargs)``: another Engine on this test's database.

    Set up like ``engine`` (SQLite listeners, server connect_args); disposed
    after the test, before the database is emptied.
    """
    made: list[Engine] = []

    def _make(**kwargs: Any) -> Engine:
        if backend_name == "sqlite":
            eng = _support.sqlite_engine(sa.make_url(db_url).database or "", **kwargs)
        else:
            server = _server(request, backend_name)
            connect_args = {**server.connect_args(), **kwargs.pop("connect_args", {})}
            eng = sa.create_engine(server.url, connect_args=connect_args, **kwargs)
            server.reuse.watch(eng)
        made.append(eng)
        return eng

    yield _make
    for eng in made:
        eng.dispose()


@pytest.fixture
def make_session(engine: Engine) -> Iterator[Callable[..., Any]]:
    """Factory for datamapper sessions bound to ``engine``; every one is closed at
    teardown so that no open transaction blocks DROP TABLE on the servers."""
    from datamapper import Session

    made: list[Any] = []

    def make(**kw: Any) -> Any:
        kw.setdefault("bind", engine)
        s = Session(**kw)
        made.append(s)
        return s

    yield make
    for s in made:
        try:
            s.close()
        except Exception:
            pass


@pytest.fixture
def session(make_session: Callable[..., Any]) -> Any:
    """A Session bound to ``engine``, closed at teardown."""
    return make_session()


@pytest.fixture
def listen() -> Iterator[Callable[[Any, str, Callable[..., Any]], None]]:
    """``listen(target, name, fn)``: ``datamapper.event.listen``, removed at teardown."""
    from datamapper import event

    added: list[tuple[Any, str, Callable[..., Any]]] = []

    def add(target: Any, name: str, fn: Callable[..., Any]) -> None:
        event.listen(target, name, fn)
        added.append((target, name, fn))

    yield add
    for target, name, fn in added:
        event.remove(target, name, fn)


@pytest.fixture
def users(session: Any, User: Any) -> Any:
    """``User`` rows 1 "ed" and 2 "wendy", committed by ``session``; returns the session."""
    session.add_all([User(id=1, name="ed"), User(id=2, name="wendy")])
    session.commit()
    return session


@pytest.fixture
def parent_child_models(Base: Any, engine: Engine) -> tuple[Any, Any]:
    """Parent 1-* Child with backref ``Child.parent`` and cascade all, delete-orphan."""

    class Parent(Base):
        __tablename__ = "parents"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(50))
        children = relationship("Child", backref="parent", cascade="all, delete-orphan",
                                order_by="Child.id")

    class Child(Base):
        __tablename__ = "children"
        id = sa.Column(sa.Integer, primary_key=True)
        code = sa.Column(sa.String(20))
        parent_id = sa.Column(sa.Integer, sa.ForeignKey("parents.id"))

    Base.metadata.create_all(engine)
    return Parent, Child


@pytest.fixture
def author_models(Base: Any, engine: Engine) -> tuple[Any, Any, Any]:
    """Author 1-* Book 1-* Page, lazy relationships ordered by id."""

    class Author(Base):
        __tablename__ = "authors"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(50))
        books = relationship("Book", order_by="Book.id")

    class Book(Base):
        __tablename__ = "books"
        id = sa.Column(sa.Integer, primary_key=True)
        author_id = sa.Column(sa.Integer, sa.ForeignKey("authors.id"))
        title = sa.Column(sa.String(50))
        pages = relationship("Page", order_by="Page.id")

    class Page(Base):
        __tablename__ = "pages"
        id = sa.Column(sa.Integer, primary_key=True)
        book_id = sa.Column(sa.Integer, sa.ForeignKey("books.id"))
        text = sa.Column(sa.String(50))

    Base.metadata.create_all(engine)
    return Author, Book, Page


@pytest.fixture
def authors_filled(author_models: tuple[Any, Any, Any],
                   make_session: Callable[..., Any]) -> tuple[Any, Any, Any]:
    """``author_models`` with authors 1 (books 1 with page 1, and 2) and 2 (book 3) committed."""
    Author, Book, Page = author_models
    s = make_session()
    s.add_all([
        Author(id=1, name="a1", books=[Book(id=1, title="b1", pages=[Page(id=1, text="p1")]),
                                       Book(id=2, title="b2")]),
        Author(id=2, name="a2", books=[Book(id=3, title="b3")]),
    ])
    s.commit()
    s.close()
    return author_models


# -- a second database of the test's backend, and the pool check-in guard ----------------


@pytest.fixture(scope="session")
def second_databases(tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[_tx_support.SecondDatabases]:
    """One more database per backend for this worker (created on first use, dropped at
    the end): the tests of several databases (two-phase commit, binds, sharding)."""
    dbs = _tx_support.SecondDatabases(tmp_path_factory.mktemp("second"))
    yield dbs
    dbs.drop_all()


@pytest.fixture
def other_engine(second_databases: _tx_support.SecondDatabases, backend_name: str,
                 db_url: str, engine: Engine) -> Iterator[Engine]:
    """An Engine on a second database of this test's backend; emptied afterwards."""
    eng = second_databases.engine(backend_name, db_url)
    try:
        yield eng
    finally:
        eng.dispose()
        meta = sa.MetaData()
        with eng.begin() as conn:
            conn.execution_options(**_tx_support.INTERNAL)
            meta.reflect(conn)
            meta.drop_all(conn)
        eng.dispose()


@pytest.fixture
def twophase_ready(backend_name: str, engine: Engine) -> Iterator[None]:
    """Skips where two-phase commit is off (PostgreSQL max_prepared_transactions = 0);
    after the test, none of the transactions it began in two phases is left prepared.
    Only this test's XIDs are looked for: MariaDB's XA RECOVER lists the prepared
    transactions of the whole server, those of other workers' tests too."""
    if backend_name == "postgresql" and _tx_support.max_prepared_transactions(engine) == 0:
        pytest.skip("PostgreSQL max_prepared_transactions = 0: two-phase commit is off on "
                    "this server (run .ci/enable-pg-twophase, which restarts it)")
    xids: list[str] = []

    def began(_conn: Any, xid: Any) -> None:
        xids.append(str(xid))

    sa.event.listen(Engine, "begin_twophase", began)
    try:
        yield
    finally:
        sa.event.remove(Engine, "begin_twophase", began)
    left = [p for p in _tx_support.prepared_transactions(engine)
            if any(xid in p for xid in xids)]
    assert not left, f"prepared transactions left behind: {left}"


@pytest.fixture
def attach_guard() -> Callable[[Engine], Engine]:
    """``attach_guard(engine)``: put a CheckinGuard on ``engine`` as ``engine.guard``."""

    def attach(eng: Any) -> Any:
        eng.guard = _tx_support.CheckinGuard(eng.dialect.name).attach(eng)
        return eng

    return attach


@pytest.fixture
def guarded_engine(engine_factory: Callable[..., Engine], engine: Engine, User: Any,
                   attach_guard: Callable[[Engine], Engine]) -> Engine:
    """An Engine on this test's database (``User`` created) with a one-connection pool,
    so the next Session gets the very connection the previous one gave back, and a
    check-in guard (``guarded_engine.guard``)."""
    return attach_guard(engine_factory(pool_size=1, max_overflow=0))
