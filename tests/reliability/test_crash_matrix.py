"""Crash matrix: the server connection dies just before statement k of a unit of
work (every k of a clean run, then COMMIT), for several small flush workloads.

How the crash is made:

- PostgreSQL: ``SELECT pg_terminate_backend(pid, 5000)`` from a second connection
  (it waits until the backend is gone), issued from a ``before_cursor_execute``
  listener (a Core ``commit`` listener for COMMIT) on the session's engine;
- MariaDB: ``KILL CONNECTION id`` from a second connection, then waiting until the
  thread has left the process list;
- SQLite: the listener raises ``sqlite3.OperationalError`` (at COMMIT the
  dialect's ``do_commit`` raises it), the connection itself stays alive.

Every trial checks, for each way of ending the failed session ("rollback": use it,
then ``rollback()`` and go on with it; "close": close it, go on with a new one) and
for a weak and a strong identity map (the strong map's instances are marked
``slow``: ``pytest -m slow`` runs them, as .ci/run does):

1. the failure reaches the caller as a named error: a ``DBAPIError`` subclass, and
   ``CommitOutcomeUnknownError`` for a connection lost during COMMIT;
2. any use of the session before ``rollback()`` raises ``PendingRollbackError``
   (after a failed flush or COMMIT, and on the servers after any failure: the
   server transaction is gone);
3. all or nothing: read on a separate connection the tables hold the original rows
   (crash before COMMIT) or, for a crash at COMMIT, either those or the clean run's;
4. after ``rollback()`` (or with a new session) a fresh add + commit works, and
   commits only its own row;
5. no connection stays checked out after ``close()``;
6. no server transaction is left open (PostgreSQL ``pg_stat_activity``,
   MariaDB ``information_schema.innodb_trx``).

``test_checks_catch_*`` show that each check fails on a deliberately broken
session: one that swallows errors (1), one that rolls back silently and carries on
(2), one that commits in two halves (3, 4), one that leaves its connection checked
out (5) and one that hands its connection back inside a transaction (6).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, event, text
from sqlalchemy.pool import NullPool

import _support
from datamapper import Session, declarative_base, exc, relationship, select

# ----------------------------------------------------------------------------- model


def _make_model(metadata: Any) -> dict[str, Any]:
    Base = declarative_base(metadata=metadata)

    class Parent(Base):
        __tablename__ = "cm_parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        children = relationship("Child", cascade="all, delete-orphan", backref="parent",
                                order_by="Child.id")

    class Child(Base):
        __tablename__ = "cm_children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("cm_parents.id"), nullable=False)
        name = Column(String(20))

    class Widget(Base):
        __tablename__ = "cm_widgets"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        favorite_id = Column(Integer, ForeignKey("cm_entries.id", use_alter=True,
                                                 name="fk_cm_widget_favorite"))
        entries = relationship("Entry", foreign_keys="Entry.widget_id", backref="widget",
                               order_by="Entry.id")
        favorite = relationship("Entry", foreign_keys=[favorite_id], post_update=True)

    class Entry(Base):
        __tablename__ = "cm_entries"
        id = Column(Integer, primary_key=True)
        widget_id = Column(Integer, ForeignKey("cm_widgets.id"))
        name = Column(String(20))

    class Item(Base):
        __tablename__ = "cm_items"
        id = Column(Integer, primary_key=True)
        value = Column(String(20))
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    class Mark(Base):
        __tablename__ = "cm_marks"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    return {c.__name__: c for c in (Parent, Child, Widget, Entry, Item, Mark)}


_SEED = [
    "INSERT INTO cm_parents (id, name) VALUES (1001, 'p1'), (1002, 'p2')",
    "INSERT INTO cm_children (id, parent_id, name) VALUES "
    "(1001, 1001, 'c1'), (1002, 1001, 'c2'), (1003, 1002, 'c3')",
    "INSERT INTO cm_items (id, value, version) VALUES (1, 'a', 1), (2, 'b', 1), "
    "(3, 'c', 1), (4, 'd', 1)",
    "INSERT INTO cm_widgets (id, name) VALUES (101, 'w1')",
    "INSERT INTO cm_entries (id, widget_id, name) VALUES (101, 101, 'f1'), (102, 101, 'f2')",
    "UPDATE cm_widgets SET favorite_id = 102 WHERE id = 101",
]

_CLEAR = [
    "DELETE FROM cm_marks",
    "DELETE FROM cm_children",
    "DELETE FROM cm_parents",
    "UPDATE cm_widgets SET favorite_id = NULL",
    "DELETE FROM cm_entries",
    "DELETE FROM cm_widgets",
    "DELETE FROM cm_items",
]

# What the all-or-nothing check compares (generated keys left out: they differ
# from run to run on the servers).
_SNAPSHOT = [
    "SELECT p.name, c.name FROM cm_children c JOIN cm_parents p ON p.id = c.parent_id "
    "ORDER BY p.name, c.name",
    "SELECT name FROM cm_parents ORDER BY name",
    "SELECT w.name, e.name, f.name FROM cm_entries e LEFT JOIN cm_widgets w "
    "ON w.id = e.widget_id LEFT JOIN cm_entries f ON f.id = w.favorite_id ORDER BY e.name",
    "SELECT id, value, version FROM cm_items ORDER BY id",
]


# ------------------------------------------------------------------------- workloads


def graph_insert(n: int) -> Callable[[Session, dict[str, Any]], None]:
    def work(s: Session, M: dict[str, Any]) -> None:
        p = M["Parent"](name="new")
        p.children = [M["Child"](name=f"n{i}") for i in range(n)]
        s.add(p)
        s.commit()

    return work


def update_delete(s: Session, M: dict[str, Any]) -> None:
    Parent = M["Parent"]
    p1, p2 = s.scalars(select(Parent).order_by(Parent.id)).all()
    p1.name = "p1x"
    p1.children[0].name = "c1x"
    s.delete(p2)  # cascades to c3
    s.commit()


def cycle(n: int) -> Callable[[Session, dict[str, Any]], None]:
    def work(s: Session, M: dict[str, Any]) -> None:
        w = M["Widget"](id=1, name="w")
        w.entries = [M["Entry"](id=i + 1, name=f"e{i}") for i in range(n)]
        w.favorite = w.entries[-1]
        s.add(w)
        s.commit()

    return work


def versioned_update(n: int) -> Callable[[Session, dict[str, Any]], None]:
    def work(s: Session, M: dict[str, Any]) -> None:
        Item = M["Item"]
        for it in s.scalars(select(Item).where(Item.id <= n).order_by(Item.id)).all():
            it.value = it.value + "x"
        s.commit()

    return work


def cycle_delete(s: Session, M: dict[str, Any]) -> None:
    w = s.get(M["Widget"], 101)
    for e in list(w.entries):
        s.delete(e)
    s.delete(w)  # the favorite reference is cleared first (post_update)
    s.commit()


def pk_switch(s: Session, M: dict[str, Any]) -> None:
    Item = M["Item"]
    it = s.get(Item, 4)
    it.id = 40
    s.add(Item(id=5, value="e"))
    s.commit()


def autoflush_query(s: Session, M: dict[str, Any]) -> None:
    Parent = M["Parent"]
    s.add(Parent(id=1005, name="p5"))
    found = s.scalars(select(Parent).where(Parent.name == "p5")).one()  # autoflush first
    found.name = "p5x"
    s.commit()


def savepoint_block(s: Session, M: dict[str, Any]) -> None:
    Item = M["Item"]
    s.add(Item(id=10, value="outer"))
    s.flush()
    s.begin_nested()
    s.add(Item(id=11, value="inner"))
    s.get(Item, 1).value = "a-inner"
    s.commit()  # RELEASE SAVEPOINT
    s.add(Item(id=12, value="after"))
    s.commit()


def merge_detached(s: Session, M: dict[str, Any]) -> None:
    Parent, Child = M["Parent"], M["Child"]
    detached = Parent(id=1001, name="p1m")
    detached.children = [Child(id=1001, name="c1m"), Child(id=1010, name="cnew")]
    s.merge(detached)  # c2 leaves the collection: deleted as an orphan
    s.commit()


WORKLOADS: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "graph_insert_1": graph_insert(1),
    "graph_insert_3": graph_insert(3),
    "update_delete": update_delete,
    "cycle_1": cycle(1),
    "cycle_2": cycle(2),
    "cycle_delete": cycle_delete,
    "pk_switch": pk_switch,
    "autoflush_query": autoflush_query,
    "versioned_update_2": versioned_update(2),
    "versioned_update_4": versioned_update(4),
    "savepoint_block": savepoint_block,
    "merge_detached": merge_detached,
}

# "use-then-rollback": use the session (expecting PendingRollbackError), then
# rollback() and go on with it; "rollback": rollback() at once and go on with it;
# "close": close it and go on with a new Session.
ENDINGS = ("use-then-rollback", "rollback", "close")
IDENTITY_MAPS = ("weak", "strong")


# ----------------------------------------------------------------------- the crasher


class Crasher:
    """Listeners on the session's engine: count the statements of the session's
    connections, and make the connection die just before statement ``target``
    (``target == "commit"``: just before the first COMMIT)."""

    def __init__(self, eng: Any, admin: Any, backend: str) -> None:
        self.eng = eng
        self.admin = admin
        self.backend = backend
        self.armed = False
        self.statements: list[str] = []
        self.target: int | str | None = None
        self.fired: str | None = None  # the statement the crash was made before
        self.in_flush = False
        self.session: Session | None = None
        self.connection_ids: set[int] = set()
        event.listen(eng, "before_cursor_execute", self._before_execute)
        event.listen(eng, "commit", self._before_commit)
        event.listen(eng, "checkout", self._checkout)
        if backend == "sqlite":
            self._real_do_commit = eng.dialect.do_commit
            eng.dialect.do_commit = self._sqlite_do_commit

    def arm(self, target: int | str | None, session: Session) -> None:
        self.statements = []
        self.target = target
        self.fired = None
        self.in_flush = False
        self.session = session
        self.armed = True

    def disarm(self) -> None:
        self.armed = False
        self.session = None

    def _before_execute(self, conn, cursor, statement, parameters, context, executemany):
        if not self.armed or (context is not None
                              and context.execution_options.get(_support.INTERNAL)):
            return
        k = len(self.statements)
        self.statements.append(statement)
        if self.target == k and self.fired is None:
            self._crash(conn, statement)

    def _before_commit(self, conn) -> None:
        if self.armed and self.target == "commit" and self.fired is None:
            self._crash(conn, "COMMIT")

    def _sqlite_do_commit(self, dbapi_conn) -> None:
        if self.fired == "COMMIT" and not getattr(self, "_commit_raised", False):
            self._commit_raised = True
            raise sqlite3.OperationalError("disk I/O error (crash matrix: COMMIT)")
        self._real_do_commit(dbapi_conn)

    def _checkout(self, dbapi_conn, _record, _proxy) -> None:
        # every connection the session's engine hands out (for the innodb_trx check)
        self.connection_ids.add(self._raw_id(dbapi_conn))

    def _connection_id(self, conn: Any) -> int:
        return self._raw_id(conn.connection.dbapi_connection)

    def _raw_id(self, raw: Any) -> int:
        if self.backend == "postgresql":
            return int(raw.info.backend_pid)
        if self.backend == "mysql":
            return int(raw.thread_id())
        return id(raw)

    def _crash(self, conn: Any, statement: str) -> None:
        self.fired = statement
        session = self.session
        self.in_flush = bool(session is not None and session._flushing)
        if self.backend == "sqlite":
            if statement == "COMMIT":
                self._commit_raised = False
                return  # do_commit raises
            raise sqlite3.OperationalError(f"disk I/O error (crash matrix: {statement[:40]})")
        cid = self._connection_id(conn)
        if self.backend == "postgresql":
            gone = self.admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"),
                                      {"pid": cid}).scalar()
            assert gone, f"backend {cid} did not terminate"
        else:
            self.admin.exec_driver_sql(f"KILL CONNECTION {cid}")
            deadline = time.monotonic() + 5
            while self.admin.execute(
                    text("SELECT COUNT(*) FROM information_schema.processlist WHERE id = :id"),
                    {"id": cid}).scalar():
                assert time.monotonic() < deadline, f"thread {cid} did not end"
                time.sleep(0.005)


# --------------------------------------------------------------------------- checks


@dataclass
class Matrix:
    backend: str
    M: dict[str, Any]
    reset_conn: Any
    admin: Any
    eng: Any
    crasher: Crasher
    read_rows: Callable[..., list[tuple[Any, ...]]]
    failures: list[str] = field(default_factory=list)
    trials: int = 0

    def reset(self) -> None:
        with self.reset_conn.begin():
            for sql in _CLEAR + _SEED:
                self.reset_conn.exec_driver_sql(sql)

    def snapshot(self) -> list[list[tuple[Any, ...]]]:
        return [self.read_rows(sql) for sql in _SNAPSHOT]

    def marks(self) -> list[tuple[Any, ...]]:
        return self.read_rows("SELECT id, name FROM cm_marks ORDER BY id")

    def open_server_transactions(self) -> int:
        if self.backend == "postgresql":
            return int(self.admin.exec_driver_sql(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%%'").scalar())
        if self.backend == "mysql":
            ids = self.crasher.connection_ids
            if not ids:
                return 0
            # information_schema.innodb_trx is a cache that is refreshed only when
            # nobody read it for 0.1 s, which parallel test workers can prevent; the
            # InnoDB status report lists the live transactions without a cache
            report = self.admin.exec_driver_sql("SHOW ENGINE INNODB STATUS").fetchone()[2]
            open_ids = set()
            for block in report.split("---TRANSACTION ")[1:]:
                first_line = block.split("\n", 1)[0]
                found = re.search(r"thread id (\d+)", block)
                if "ACTIVE" in first_line and found:
                    open_ids.add(int(found.group(1)))
            return len(open_ids & ids)
        return 0


def make_session(eng: Any, identity_map: str) -> Session:
    return Session(eng, weak_identity_map=identity_map == "weak")


def clean_run(mx: Matrix, work: Callable[..., None], identity_map: str
              ) -> tuple[list[str], list[list[tuple[Any, ...]]]]:
    mx.reset()
    original = mx.snapshot()
    mx.eng.dispose()  # every session starts on a new connection (see run_trial)
    s = make_session(mx.eng, identity_map)
    mx.crasher.arm(None, s)
    try:
        work(s, mx.M)
    finally:
        mx.crasher.disarm()
        s.close()
    statements = list(mx.crasher.statements)
    after = mx.snapshot()
    assert after != original, "the clean run changed nothing"
    return statements, after


def run_trial(mx: Matrix, work: Callable[..., None], target: int | str, ending: str,
              identity_map: str, original: Any, clean: Any,
              session_cls: type[Session] = Session) -> list[str]:
    """One crash; returns the problems found (empty: the trial passed)."""
    problems: list[str] = []
    mx.reset()
    mx.crasher.connection_ids.clear()
    # a new connection, as after every crash: the statements the session sends on
    # a connection's first use (MariaDB: its sql_mode) are then in every run
    mx.eng.dispose()
    s = session_cls(mx.eng, weak_identity_map=identity_map == "weak")
    mx.crasher.arm(target, s)
    error: BaseException | None = None
    try:
        work(s, mx.M)
    except Exception as e:
        error = e
    finally:
        mx.crasher.disarm()
    at = mx.crasher.fired
    if at is None:
        problems.append(f"the crash point {target} was never reached")
        s.close()
        return problems
    server = mx.backend != "sqlite"
    # 1. a named error
    if error is None:
        problems.append("no error reached the caller")
    elif at == "COMMIT" and server:
        if not isinstance(error, exc.CommitOutcomeUnknownError):
            problems.append(f"lost COMMIT raised {type(error).__name__}: {error}, "
                            "not CommitOutcomeUnknownError")
    elif not isinstance(error, exc.DBAPIError):
        problems.append(f"raised {type(error).__name__}: {error}, not a DBAPIError")
    try:
        if ending != "close":
            # 2. refused until rollback()
            if ending == "use-then-rollback" and (at == "COMMIT" or mx.crasher.in_flush or server):
                for use in ("execute", "flush", "commit"):
                    try:
                        if use == "execute":
                            s.execute(text("SELECT 1"))
                        elif use == "flush":
                            s.add(mx.M["Mark"](id=99, name="early"))
                            s.flush()
                        else:
                            s.commit()
                    except exc.PendingRollbackError:
                        continue
                    except Exception as e:
                        problems.append(f"{use}() before rollback() raised "
                                        f"{type(e).__name__}: {e}, not PendingRollbackError")
                        break
                    problems.append(f"{use}() before rollback() was accepted")
                    break
            try:
                s.rollback()
                if s.in_transaction():  # a savepoint rolled back: abandon the rest too
                    s.rollback()
            except Exception as e:
                problems.append(f"rollback() raised {type(e).__name__}: {e}")
            after_failure = mx.snapshot()
            go_on = s
        else:
            s.close()
            after_failure = mx.snapshot()
            go_on = session_cls(mx.eng, weak_identity_map=identity_map == "weak")
        # 3. all or nothing
        allowed = [original, clean] if at == "COMMIT" else [original]
        if after_failure not in allowed:
            problems.append(f"not all-or-nothing: the database holds {after_failure}")
        # 4. a fresh unit of work
        try:
            go_on.add(mx.M["Mark"](id=1, name="fresh"))
            go_on.commit()
        except Exception as e:
            problems.append(f"a fresh add+commit failed: {type(e).__name__}: {e}")
        finally:
            go_on.close()
        if mx.marks() != [(1, "fresh")] or mx.snapshot() != after_failure:
            problems.append(f"the fresh commit wrote more or less than its row: "
                            f"{mx.marks()}, {mx.snapshot()}")
    finally:
        s.close()
    # 5. connections given back
    if mx.eng.pool.checkedout():
        problems.append(f"{mx.eng.pool.checkedout()} connection(s) still checked out")
    # 6. no transaction left open on the server
    left = mx.open_server_transactions()
    if left:
        problems.append(f"{left} server transaction(s) left open")
    return problems


@pytest.fixture
def matrix(engine, engine_factory, backend_name, metadata, read_rows) -> Iterator[Matrix]:
    M = _make_model(metadata)
    metadata.create_all(engine)
    eng = engine_factory(pool_size=2, max_overflow=0)
    admin_engine = engine_factory(poolclass=NullPool, isolation_level="AUTOCOMMIT")
    admin = admin_engine.connect()
    reset_conn = engine_factory(poolclass=NullPool).connect()
    reset_conn = reset_conn.execution_options(**{_support.INTERNAL: True})
    with eng.connect():
        pass  # first connect (dialect initialisation) before the listeners count
    crasher = Crasher(eng, admin, backend_name)
    try:
        yield Matrix(backend_name, M, reset_conn, admin, eng, crasher, read_rows)
    finally:
        reset_conn.close()
        admin.close()
        eng.dispose()


def run_matrix(mx: Matrix, name: str, session_cls: type[Session] = Session,
               endings: tuple[str, ...] = ENDINGS,
               identity_maps: tuple[str, ...] = IDENTITY_MAPS,
               targets: Callable[[int], list[int | str]] | None = None) -> None:
    work = WORKLOADS[name]
    for identity_map in identity_maps:
        mx.reset()
        original = mx.snapshot()
        statements, clean = clean_run(mx, work, identity_map)
        points: list[int | str] = (targets(len(statements)) if targets is not None
                                   else [*range(len(statements)), "commit"])
        for target in points:
            for ending in endings:
                mx.trials += 1
                label = statements[target][:60] if isinstance(target, int) else "COMMIT"
                for p in run_trial(mx, work, target, ending, identity_map, original, clean,
                                   session_cls):
                    mx.failures.append(
                        f"{name} [{identity_map} map, {ending}] crash before "
                        f"#{target} {label!r}: {p}")


# ---------------------------------------------------------------------------- tests


# the strong identity map's instances run in the slow step only (.ci/run's
# `pytest -m slow`); the weak one, the Session's default, in every run
@pytest.mark.parametrize("identity_map", [
    "weak", pytest.param("strong", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_crash_at_every_statement_is_all_or_nothing(matrix, name, identity_map, request):
    run_matrix(matrix, name, identity_maps=(identity_map,))
    request.node.user_properties.append(("trials", matrix.trials))
    print(f"\n{name} [{matrix.backend}, {identity_map} map]: {matrix.trials} trials")
    assert not matrix.failures, (
        f"{len(matrix.failures)} of {matrix.trials} trials failed:\n"
        + "\n".join(matrix.failures[:40]))


# ------------------------------------------------- the checks catch broken sessions


class SwallowingSession(Session):
    """Deliberately broken: hides a failed commit (or flush) from its caller."""

    def commit(self) -> None:
        try:
            super().commit()
        except Exception:
            pass


class SelfHealingSession(Session):
    """Deliberately broken: rolls back by itself and carries on when it should
    refuse work until the caller's rollback()."""

    def _heal(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except exc.PendingRollbackError:
            super().rollback()
            return method(*args)

    def execute(self, *args: Any, **kw: Any) -> Any:
        return self._heal(lambda: super(SelfHealingSession, self).execute(*args, **kw))

    def flush(self, objects: Any = None) -> None:
        self._heal(lambda: super(SelfHealingSession, self).flush(objects))

    def commit(self) -> None:
        try:
            super().commit()
        except exc.PendingRollbackError:
            super().rollback()


class TwoHalvesSession(Session):
    """Deliberately broken: every flush outside commit() is committed at once, so
    a unit of work with several flushes is committed in parts."""

    _committing = False

    def commit(self) -> None:
        self._committing = True
        try:
            super().commit()
        finally:
            self._committing = False

    def flush(self, objects: Any = None) -> None:
        super().flush(objects)
        if not self._committing and self._transaction is not None \
                and self._transaction is self.get_transaction():
            self.commit()


class ForgetfulSession(Session):
    """Deliberately broken: commit() flushes, then forgets its transaction without
    committing it: the connection stays checked out, inside its transaction."""

    leaked: list[Any] = []

    def commit(self) -> None:
        self.flush()
        if self._transaction is not None:
            ForgetfulSession.leaked.append(self._transaction)
        self._transaction = None


def _one_trial(mx: Matrix, name: str, target: Callable[[list[str]], int | str], ending: str,
               session_cls: type[Session]) -> list[str]:
    work = WORKLOADS[name]
    mx.reset()
    original = mx.snapshot()
    statements, clean = clean_run(mx, work, "weak")
    try:
        return run_trial(mx, work, target(statements), ending, "weak", original, clean,
                         session_cls)
    finally:
        for tx in ForgetfulSession.leaked:
            tx.close()
        ForgetfulSession.leaked.clear()


def _has(problems: list[str], fragment: str) -> bool:
    return any(fragment in p for p in problems)


def test_checks_pass_a_sound_session(matrix):
    assert _one_trial(matrix, "savepoint_block", lambda st: len(st) - 1, "use-then-rollback",
                      Session) == []


def test_check_catches_a_session_that_swallows_the_error(matrix):
    problems = _one_trial(matrix, "graph_insert_1", lambda st: 0, "rollback",
                          SwallowingSession)
    assert _has(problems, "no error reached the caller"), problems


def test_check_catches_a_session_that_rolls_back_by_itself(matrix):
    problems = _one_trial(matrix, "graph_insert_1", lambda st: "commit",
                          "use-then-rollback", SelfHealingSession)
    assert _has(problems, "before rollback() was accepted"), problems


def test_check_catches_a_session_that_commits_in_two_halves(matrix):
    # savepoint_block flushes item 10 first: committed on its own, it survives the
    # crash at the next statement
    def after_first_insert(statements: list[str]) -> int:
        return next(i for i, sql in enumerate(statements) if sql.startswith("INSERT")) + 1

    problems = _one_trial(matrix, "savepoint_block", after_first_insert, "close",
                          TwoHalvesSession)
    assert _has(problems, "not all-or-nothing"), problems


def test_check_catches_a_session_that_leaves_its_connection_out(matrix):
    problems = _one_trial(matrix, "graph_insert_1", lambda st: 0, "close", ForgetfulSession)
    assert _has(problems, "the fresh commit wrote more or less than its row"), problems
    assert _has(problems, "connection(s) still checked out"), problems
    if matrix.backend != "sqlite":
        assert _has(problems, "server transaction(s) left open"), problems
