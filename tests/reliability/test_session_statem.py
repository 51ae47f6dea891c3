"""A model-based state machine of the Session.

Hypothesis drives a Session through random sequences of add, modify, delete,
expunge, merge of a detached copy, expire, refresh, get, queries (with and
without autoflush), flush, commit, rollback, ``begin_nested()`` to depth 3 with
release and rollback, close, and an injected unique violation.  A plain-Python
model keeps the committed rows, the rows the open transaction sees (flushed),
one snapshot per SAVEPOINT, and for each object the test holds its expected
lifecycle state and loaded values.

After every step each held object must have the lifecycle state
(``datamapper.inspect``) and the loaded values the model says, and
``session.new`` / ``session.deleted`` must agree with the model; after every
transaction end the database, read on a separate connection, must equal the
model's committed rows.

The rows are versioned (``version_id_col``): the model counts the UPDATEs.

Semantics modelled (SQLAlchemy's documented Session, API.md, BACKENDS.md 1):

- ``rollback()`` rolls back the innermost transaction; rolling back a SAVEPOINT
  expunges what was added inside it, makes what was deleted inside it persistent
  again and expires the objects changed inside it; rolling back the outermost
  transaction does the same for the whole transaction and expires everything.
- a failed flush makes the session refuse work with ``PendingRollbackError``
  until ``rollback()``.

Runs derandomized with a fixed budget in CI; locally::

    DM_STATEM_EXAMPLES=500 DM_STATEM_STEPS=80 DM_STATEM_SEED=7 pytest ...

(``DM_STATEM_SEED`` turns derandomization off and seeds the run.)
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Column, Integer, String, delete

from datamapper import declarative_base, inspect
from datamapper.exc import IntegrityError, PendingRollbackError
from datamapper.session import Session

EXAMPLES = int(os.environ.get("DM_STATEM_EXAMPLES", "100"))
STEPS = int(os.environ.get("DM_STATEM_STEPS", "50"))
SEED = os.environ.get("DM_STATEM_SEED")

NAMES = [f"n{i}" for i in range(6)]

# expected loaded-ness of an object's ``name``
LOADED, EXPIRED, EITHER = "loaded", "expired", "either"


@dataclass
class Held:
    """One object the test holds, with what the model expects of it."""

    obj: Any
    pk: int
    code: int
    state: str  # transient / pending / persistent / deleted / detached
    name: str
    version: int | None = None
    loaded: str = LOADED
    marked_deleted: bool = False  # session.delete() called, not flushed yet
    modified: bool = False  # changed since last load/flush
    blind: bool = False  # set while expired: the flush UPDATEs whatever the value
    born_level: int = -1  # transaction level whose flush inserted it (-1: before)
    ghost: bool = False  # persistent, but a rollback removed its row (see _ghosts)
    deleted_level: int = -1


@dataclass
class Level:
    """A transaction level: 0 the outermost, 1.. SAVEPOINTs."""

    rows: dict[int, tuple[str, int, int]]  # rows at the level's start
    states: dict[int, tuple[str, bool]] = field(default_factory=dict)
    handle: Any = None
    changed: set[int] = field(default_factory=set)  # ids of objects flushed-updated inside


@pytest.fixture
def Item(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20), nullable=False)
        code = Column(Integer, nullable=False, unique=True)
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    metadata.create_all(engine)
    return Item


def _settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        print_blob=True,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.filter_too_much],
    )


def make_machine(engine: Any, Item: Any, read_rows: Any, counter: dict[str, int]) -> type:
    table = Item.__table__
    ids = itertools.count(1)

    class SessionMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with engine.begin() as conn:
                conn.execute(delete(table))
            self.session = Session(engine)
            self.held: list[Held] = []
            self.committed: dict[int, tuple[str, int, int]] = {}  # pk -> (name, code, version)
            self.rows: dict[int, tuple[str, int, int]] = {}  # as the open transaction sees them
            self.levels: list[Level] = []  # [] when no transaction; nested levels after [0]
            self.failed = False
            counter["examples"] += 1

        def teardown(self) -> None:
            self.session.close()

        # ------------------------------------------------------------ helpers
        def _in(self, *states: str) -> list[Held]:
            return [h for h in self.held if h.state in states]

        def _pick(self, i: int, *states: str, **flags: Any) -> Held | None:
            cands = [h for h in self._in(*states) if not h.ghost
                     and all(getattr(h, k) == v for k, v in flags.items())]
            return cands[i % len(cands)] if cands else None

        def _in_session(self, h: Held) -> bool:
            return h.state in ("pending", "persistent", "deleted")

        def _begin_if_needed(self) -> None:
            if not self.levels:
                self.levels.append(Level(rows=dict(self.rows)))

        def _model_flush(self) -> None:
            """What flush() writes: INSERTs for pending, UPDATEs for net changes,
            DELETEs for the objects marked deleted."""
            if not any(h.state == "pending" or h.marked_deleted or h.modified
                       for h in self.held):
                return
            self._begin_if_needed()
            level = len(self.levels) - 1
            for h in self.held:
                if h.state == "pending":
                    h.version = 1
                    self.rows[h.pk] = (h.name, h.code, 1)
                    h.state, h.born_level, h.modified = "persistent", level, False
                elif h.state == "persistent" and h.marked_deleted:
                    del self.rows[h.pk]
                    h.state, h.marked_deleted, h.deleted_level = "deleted", False, level
                    h.modified = h.blind = False
                elif h.state == "persistent" and h.modified:
                    name, code, version = self.rows[h.pk]
                    if name != h.name or h.blind:
                        self.rows[h.pk] = (h.name, code, version + 1)
                        h.version = version + 1
                        self.levels[-1].changed.add(id(h))
                    h.modified = h.blind = False

        def _expire(self, h: Held) -> None:
            if h.ghost:
                h.loaded = EITHER
                return
            h.name = self.rows[h.pk][0]
            h.version = self.rows[h.pk][2]
            h.loaded, h.modified, h.blind = EXPIRED, False, False

        def _held_for(self, pk: int) -> Held | None:
            for h in self.held:
                if h.pk == pk and h.state in ("persistent", "deleted"):
                    return h
            return None

        def _adopt(self, obj: Any, pk: int) -> Held:
            """An object the session loaded for row ``pk``."""
            h = self._held_for(pk)
            if h is not None:
                assert obj is h.obj, f"row {pk}: the identity map gave a second object"
                if h.loaded == EXPIRED:
                    h.loaded = LOADED
                return h
            name, code, version = self.rows[pk]
            h = Held(obj=obj, pk=pk, code=code, state="persistent", name=name, version=version)
            self.held.append(h)
            return h

        def _end_transaction(self) -> None:
            self.levels = []
            self.rows = dict(self.committed)
            counter["tx_ends"] += 1
            assert read_rows(table) == [
                (pk, name, code, version)
                for pk, (name, code, version) in sorted(self.committed.items())
            ], "database differs from the model after the transaction ended"

        def _ghosts(self, rows: dict[int, Any]) -> None:
            """Objects a rollback leaves in the session although their row is gone:
            objects loaded (not inserted) inside the rolled-back transaction for a row
            inserted inside it.  Like SQLAlchemy, datamapper expunges only the objects
            whose INSERT it rolled back; the model stops using the others."""
            for h in self.held:
                if h.state == "persistent" and h.born_level < 0 and h.pk not in rows:
                    h.ghost, h.loaded, h.marked_deleted, h.modified = True, EITHER, False, False

        def _full_rollback_model(self) -> None:
            self._ghosts(self.committed)
            for h in self.held:
                if h.ghost:
                    continue
                if h.state == "pending" or (h.state in ("persistent", "deleted", "detached")
                                           and h.born_level >= 0):
                    h.state, h.born_level, h.modified = "transient", -1, False
                    h.loaded, h.marked_deleted, h.blind = EITHER, False, False
                elif h.state in ("persistent", "deleted"):
                    h.state, h.marked_deleted, h.deleted_level = "persistent", False, -1
                    h.name, h.code, h.version = self.committed[h.pk]
                    h.blind = False
                    h.loaded, h.modified, h.blind = EXPIRED, False, False
            self.committed = dict(self.committed)
            self.failed = False

        def _nested_rollback_model(self) -> None:
            level = self.levels.pop()
            depth = len(self.levels)  # index of the rolled back level
            self.rows = dict(level.rows)
            for h in self.held:
                if h.state == "persistent" and h.born_level < depth and h.pk not in self.rows:
                    h.ghost, h.loaded, h.marked_deleted, h.modified = True, EITHER, False, False
                if h.ghost:
                    continue
                if h.state == "pending" or (h.state in ("persistent", "deleted", "detached")
                                           and h.born_level >= depth):
                    h.state, h.born_level, h.modified = "transient", -1, False
                    h.loaded, h.marked_deleted, h.blind = EITHER, False, False
                elif h.state == "deleted" and h.deleted_level >= depth:
                    h.state, h.deleted_level = "persistent", -1
                    h.name, h.code, h.version = self.rows[h.pk]
                    h.loaded = EITHER
                elif h.state == "persistent":
                    was_changed = h.modified or id(h) in level.changed
                    h.marked_deleted = False
                    if was_changed:
                        self._expire(h)
            self.failed = False

        # -------------------------------------------------------------- rules
        @precondition(lambda self: not self.failed)
        @rule(name=st.sampled_from(NAMES))
        def add(self, name: str) -> None:
            pk = next(ids)
            obj = Item(id=pk, name=name, code=pk)
            self.session.add(obj)
            self.held.append(Held(obj=obj, pk=pk, code=pk, state="pending", name=name))

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99), name=st.sampled_from(NAMES))
        def modify(self, i: int, name: str) -> None:
            h = self._pick(i, "pending", "persistent", marked_deleted=False)
            if h is None:
                return
            h.obj.name = name
            if h.loaded == EXPIRED:
                h.blind = True
            h.name = name
            h.loaded = LOADED
            h.modified = True

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def delete(self, i: int) -> None:
            h = self._pick(i, "persistent", marked_deleted=False)
            if h is None:
                return
            self.session.delete(h.obj)
            h.marked_deleted = True

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def expunge(self, i: int) -> None:
            h = self._pick(i, "pending", "persistent")
            if h is None:
                return
            self.session.expunge(h.obj)
            h.state = "transient" if h.state == "pending" else "detached"
            h.marked_deleted = False
            h.modified = h.blind = False

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99), name=st.sampled_from(NAMES))
        def merge_detached_copy(self, i: int, name: str) -> None:
            """merge() a new object carrying a row's primary key and a new name."""
            pks = sorted(pk for pk in self.rows
                         if not any(h.pk == pk and h.marked_deleted for h in self.held))
            if not pks:
                return
            pk = pks[i % len(pks)]
            copy = Item(id=pk, name=name)
            with self.session.no_autoflush:
                merged = self.session.merge(copy)
            self._begin_if_needed()
            assert merged is not copy
            assert inspect(copy).transient
            h = self._adopt(merged, pk)
            if h.name != name or h.modified:
                h.modified = True
            h.name = name
            h.loaded = LOADED

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def expire(self, i: int) -> None:
            h = self._pick(i, "persistent", marked_deleted=False)
            if h is None:
                return
            self.session.expire(h.obj)
            self._expire(h)

        @precondition(lambda self: not self.failed)
        @rule()
        def expire_all(self) -> None:
            self.session.expire_all()
            for h in self._in("persistent"):
                self._expire(h)

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def refresh(self, i: int) -> None:
            h = self._pick(i, "persistent", marked_deleted=False)
            if h is None:
                return
            with self.session.no_autoflush:
                self.session.refresh(h.obj)
            self._begin_if_needed()
            self._expire(h)
            h.loaded = LOADED

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def read_attribute(self, i: int) -> None:
            h = self._pick(i, "persistent")
            if h is None or (h.loaded == EXPIRED and h.marked_deleted):
                return
            if h.loaded == EXPIRED:
                self._model_flush()  # loading an expired attribute autoflushes
                self._begin_if_needed()
            assert h.obj.name == h.name
            h.loaded = LOADED

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def get(self, i: int) -> None:
            known = sorted(({h.pk for h in self.held} | set(self.rows) | {10_000})
                           - {h.pk for h in self.held if h.ghost})
            pk = known[i % len(known)]
            with self.session.no_autoflush:
                got = self.session.get(Item, pk)
            h = self._held_for(pk)
            if h is not None and h.state == "persistent" and h.loaded != EXPIRED:
                assert got is h.obj, f"get({pk}) did not return the identity-map object"
                return
            self._begin_if_needed()
            if h is not None and h.state == "deleted":
                assert got is None, f"get({pk}) returned an object deleted in this session"
                return
            if pk not in self.rows:
                assert got is None, f"get({pk}) found a row the model does not have"
                return
            assert got is not None, f"get({pk}) found nothing"
            self._adopt(got, pk)

        @precondition(lambda self: not self.failed)
        @rule(autoflush=st.booleans())
        def query_all(self, autoflush: bool) -> None:
            if autoflush:
                got = self.session.query(Item).order_by(Item.id).all()
                self._model_flush()
            else:
                with self.session.no_autoflush:
                    got = self.session.query(Item).order_by(Item.id).all()
            self._begin_if_needed()
            assert [inspect(o).identity[0] for o in got] == sorted(self.rows)
            for o in got:
                self._adopt(o, inspect(o).identity[0])

        @precondition(lambda self: not self.failed)
        @rule()
        def flush(self) -> None:
            self.session.flush()
            self._model_flush()

        @precondition(lambda self: not self.failed)
        @rule()
        def commit(self) -> None:
            if len(self.levels) > 1:
                # commit() of the session while SAVEPOINTs are open: release them
                # one by one through their handles, then commit the outermost
                return
            self.session.commit()
            self._model_flush()
            self.committed = dict(self.rows)
            for h in self.held:
                if h.state == "deleted":
                    h.state = "detached"
                elif h.state == "persistent":
                    self._expire(h)
                h.born_level = h.deleted_level = -1
            self._end_transaction()

        @rule()
        def rollback(self) -> None:
            self.session.rollback()
            if len(self.levels) > 1:
                self._nested_rollback_model()
            else:
                self._full_rollback_model()
                self._end_transaction()

        @precondition(lambda self: not self.failed)
        @rule()
        def close(self) -> None:
            self.session.close()
            for h in self.held:
                if h.state == "pending":
                    h.state = "transient"
                elif h.state in ("persistent", "deleted"):
                    h.state = "detached"
                h.marked_deleted = h.modified = h.blind = False
                h.born_level = h.deleted_level = -1
            self._end_transaction()

        @precondition(lambda self: not self.failed and len(self.levels) < 4)
        @rule()
        def begin_nested(self) -> None:
            handle = self.session.begin_nested()
            self._model_flush()
            self._begin_if_needed()
            self.levels.append(Level(rows=dict(self.rows), handle=handle))

        @precondition(lambda self: not self.failed and len(self.levels) > 1)
        @rule()
        def release_savepoint(self) -> None:
            self.levels[-1].handle.commit()
            self._model_flush()
            level = self.levels.pop()
            for h in self.held:
                if h.born_level >= len(self.levels):
                    h.born_level = len(self.levels) - 1
                if h.deleted_level >= len(self.levels):
                    h.deleted_level = len(self.levels) - 1
            self.levels[-1].changed |= level.changed

        @precondition(lambda self: not self.failed and len(self.levels) > 1)
        @rule()
        def rollback_savepoint_handle(self) -> None:
            self.levels[-1].handle.rollback()
            self._nested_rollback_model()

        @precondition(lambda self: not self.failed)
        @rule(i=st.integers(0, 99))
        def unique_violation(self, i: int) -> None:
            """Add an object whose unique ``code`` is already taken: flush fails."""
            taken = sorted(code for pk, (_n, code, _v) in self.rows.items()
                           if not any(h.pk == pk and h.marked_deleted for h in self.held))
            if not taken:
                return
            pk = next(ids)
            obj = Item(id=pk, name="dup", code=taken[i % len(taken)])
            self.session.add(obj)
            self.held.append(Held(obj=obj, pk=pk, code=obj.code, state="pending", name="dup"))
            with pytest.raises(IntegrityError):
                self.session.flush()
            counter["violations"] += 1
            self.failed = True
            self._begin_if_needed()

        @precondition(lambda self: self.failed)
        @rule(op=st.sampled_from(["flush", "query", "commit", "get", "begin_nested"]))
        def refused_after_failed_flush(self, op: str) -> None:
            calls = {
                "flush": self.session.flush,
                "query": lambda: self.session.query(Item).all(),
                "commit": self.session.commit,
                "get": lambda: self.session.get(Item, 10_000),
                "begin_nested": self.session.begin_nested,
            }
            with pytest.raises(PendingRollbackError):
                calls[op]()

        # --------------------------------------------------------- invariants
        @invariant()
        def objects_match_model(self) -> None:
            counter["steps"] += 1
            if self.failed:
                return
            for h in self.held:
                st_ = inspect(h.obj)
                actual = [s for s in ("transient", "pending", "persistent", "deleted",
                                      "detached") if getattr(st_, s)]
                assert actual == [h.state], (
                    f"object id={h.pk}: model says {h.state}, inspect says {actual}")
                d = h.obj.__dict__
                if h.loaded == LOADED:
                    assert d.get("name") == h.name, (
                        f"object id={h.pk} ({h.state}): loaded name {d.get('name', '<unloaded>')!r},"
                        f" model {h.name!r}")
                elif h.loaded == EXPIRED:
                    assert "name" not in d, (
                        f"object id={h.pk} ({h.state}): expected expired, has {d['name']!r}")
                elif "name" in d and h.state not in ("transient", "detached"):
                    assert d["name"] == h.name, (
                        f"object id={h.pk} ({h.state}): loaded name {d['name']!r}, "
                        f"model {h.name!r}")

        @invariant()
        def new_and_deleted_match_model(self) -> None:
            if self.failed:
                return
            new = {id(o) for o in self.session.new}
            assert new == {id(h.obj) for h in self.held if h.state == "pending"}
            deleted = {id(o) for o in self.session.deleted}
            assert deleted == {id(h.obj) for h in self.held if h.marked_deleted}

    return SessionMachine


@pytest.mark.slow
def test_session_state_machine(engine, Item, read_rows, backend_name):
    counter = {"examples": 0, "steps": 0, "tx_ends": 0, "violations": 0}
    machine = make_machine(engine, Item, read_rows, counter)
    if SEED is not None:
        machine = seed(int(SEED))(machine)
    run_state_machine_as_test(machine, settings=_settings())
    print(f"\nstatem[{backend_name}]: {counter}")
