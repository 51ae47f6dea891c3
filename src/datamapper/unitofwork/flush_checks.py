"""One flush, before any SQL: refuse a change set that can't be written (identity
conflicts, rows already gone), read relationship changes into links, association rows
and orphans (``presort``), load what deleted objects need, and build the plan.

Each function here taking ``self`` is a method of
:class:`~.flush.UOWTransaction`: its class body binds it under its method name
(``check = flush_checks.check``), so a call costs what a method defined in the class
costs.  Called by ``Session.flush`` (session/flushing.py) through those methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .._util import describe
from ..exc import FlushError, ObjectDeletedError
from ..instance.seam import SessionLike
from ..instance.state import _LAYOUT, CASCADE_DELETED, InstanceState
from ..mapping.mapper import Mapper
from ..persistence.records import is_sql
from . import dependency
from .dependency import collect
from .links import Dependencies
from .plan import FlushPlan
from .planner import Planner

if TYPE_CHECKING:
    from .flush import UOWTransaction


def check(self: UOWTransaction) -> None:
    """Refuse, before any SQL, a change set that cannot be written."""
    imap = self.session._identity_map
    token_for = self.session._shard_token_for
    deleting = set(self.deleted)
    seen: dict[tuple[Any, ...], InstanceState] = {}
    problems: list[str] = []
    links = self.deps.links if self.deps is not None else {}
    # (mapper, linked foreign-key attributes) -> whether one of them is a key column
    to_key: dict[tuple[Mapper, tuple[str, ...]], bool] = {}
    last: Any = None
    single: str | None = None
    hits: dict[tuple[str, ...], bool] = {}
    states = self.new
    c_unkeyed = _LAYOUT.unkeyed if _LAYOUT is not None and dependency.C_LINKS else None
    i, n = 0, len(states)
    while i < n:
        state = states[i]
        i += 1
        if single is not None and c_unkeyed is not None and state.mapper is last:
            # the rest of a run of one mapper's rows, in C (_speedups_flush.h): those
            # whose key the database assigns are passed by
            i = c_unkeyed(states, i - 1, last, single, links)
            if i >= n:
                break
            state = states[i]
            i += 1
        per = links.get(state) if links else None
        mapper = state.mapper
        if mapper is not last:  # (runs of one mapper)
            last = mapper
            pk_keys = mapper._pk_keys
            single = pk_keys[0] if len(pk_keys) == 1 else None
            hits = {}
        if single is not None:
            # the usual new row: a one-column key left to the database, and no
            # link that copies a related object's key into it
            linked_key = False
            if per is not None:
                for dk in per:
                    hit = hits.get(dk)
                    if hit is None:
                        hit = hits[dk] = single in dk
                    if hit:
                        linked_key = True
                        break
            if not linked_key:
                obj = state.obj()
                if (obj if obj is not None else state.strong_obj()).__dict__.get(
                        single) is None:
                    continue  # the database assigns it: nothing to conflict with
        ident = _new_identity(state, per, to_key)
        if ident is None:
            continue  # the database assigns it: nothing to conflict with
        key = (state.mapper._identity_class, ident,
               token_for(state) if token_for is not None else None)
        other = seen.get(key)
        if other is not None:
            problems.append(
                f"New instances {describe(other.obj())} and {describe(state.obj())} have the "
                f"same identity key {key}"
            )
            continue
        seen[key] = state
        existing = imap.get_state(key)
        if existing is not None:
            self._check_existing(state, key, existing, deleting, problems)
    if problems:
        raise FlushError(
            "Can't flush: " + "; ".join(problems) + ". Give each object its own primary key, "
            "or use session.merge() to update the existing object."
        )

def check_existing(self: UOWTransaction, state: InstanceState, key: tuple[Any, ...],
                   existing: InstanceState, deleting: set[InstanceState],
                   problems: list[str]) -> None:
    """A new object whose identity key the session already holds: a conflict
    (added to ``problems``), unless that object is being deleted (a row switch)
    or its row is gone."""
    if existing in deleting:
        # row switch: the row is kept and UPDATEd with the new object's values;
        # the deleted object leaves the session as if its DELETE had run
        self.switches[state] = existing
    elif existing is not state and not self._row_is_gone(existing):
        # (a row that is gone: e.g. inserted by a transaction that was rolled back)
        problems.append(
            f"New instance {describe(state.obj())} with identity key {key} conflicts "
            f"with persistent instance {describe(existing.obj())}"
        )

def row_is_gone(self: UOWTransaction, state: InstanceState) -> bool:
    """An expired, unchanged persistent object may stand for a row that no longer
    exists (inserted by a transaction that was rolled back, or deleted by another
    one): reload it; if its row is gone, it leaves the session (detached) and a
    new object may take its key."""
    if not state.expired_attributes or state.modified:
        return False
    try:
        self.session._load_attributes(state, None)
    except ObjectDeletedError:
        self.session._expunge_state(state)
        return True
    return False


def presort(self: UOWTransaction) -> None:
    """Read relationship changes: key links, association rows, orphans to delete."""
    self.deps = collect(self.session, self.new, self.dirty, self.deleted)
    if self.deps.undeleted:
        # an object marked deleted (by a cascade, say) that a surviving parent took
        # in is saved with its new parent instead
        for state in self.deps.undeleted:
            self.session._deleted.pop(state, None)
            if state._extra is not None:
                state._extra.pop(CASCADE_DELETED, None)
        back = set(self.deps.undeleted)
        self.deleted = [s for s in self.deleted if s not in back]
        self.dirty.extend(s for s in back if s not in self.dirty)
        self.deps = collect(self.session, self.new, self.dirty, self.deleted)
    rounds = 0
    while self.deps.orphans and rounds < 10:
        rounds += 1
        deleting = set(self.deleted)
        for state in self.deps.orphans:
            if state not in deleting:
                self.session._delete_orphan(state)
        self.deleted = [s for s in self.session._deleted
                        if s.session_id == self.session.hash_key and s._key is not None]
        gone = set(self.deleted)
        self.dirty = [s for s in self.dirty if s not in gone]
        self.deps = collect(self.session, self.new, self.dirty, self.deleted)
    if self.deps.extra_saves:
        self.dirty.extend(self.deps.extra_saves)
    self._load_expired_deleted()

def load_expired_deleted(self: UOWTransaction) -> None:
    """Objects about to be deleted keep their values after the flush (they are
    detached, not expired, at commit): load the ones that are expired now, one
    SELECT per mapper for a one-column key (per object otherwise).  When the row
    is gone (deleted by another transaction, or by an earlier flush of this
    session for an object deleted again) and the object's primary key (or
    version) is expired too, the DELETE has nothing to match by: ObjectDeletedError,
    and the flush fails, as SQLAlchemy's does (it loads what its DELETE needs).
    With those loaded, the DELETE is sent and matches no row (a warning)."""
    expired = [s for s in self.deleted if s.expired_attributes and s._key is not None]
    if not expired:
        return
    by_mapper: dict[Mapper, list[InstanceState]] = {}
    for state in expired:
        by_mapper.setdefault(state.mapper, []).append(state)
    session = self.session
    for mapper, states in by_mapper.items():
        keys = [k for k in mapper._load_keys if k in mapper._column_keys
                and k not in mapper._deferred_keys]
        if len(mapper._pk_keys) != 1 or len(mapper.tables) > 1 \
                or mapper.non_table \
                or session._shard_token_for is not None:  # (each by its own shard)
            for state in states:
                try:
                    session._load_attributes(state, None)
                except ObjectDeletedError:
                    if _delete_needs_load(state):
                        raise
            continue
        _load_rows_by_key(session, mapper, [k for k in keys if k not in mapper._pk_keys],
                          states)

def build_plan(self: UOWTransaction) -> FlushPlan:
    if self.deps is None:
        self.presort()
    assert self.deps is not None
    deleted = self.deleted
    if self.switches:
        replaced = set(self.switches.values())
        deleted = [s for s in deleted if s not in replaced]
        _cancel_switched_assoc_rows(self.deps, self.switches)
    plan = Planner(self.new, self.dirty, deleted, self.deps).plan()
    self.plan = plan
    return plan


def _load_rows_by_key(session: SessionLike, mapper: Mapper, keys: list[str],
                      states: list[InstanceState]) -> None:
    """Fill the expired column attributes of ``states`` (one-column primary key) from
    their rows, 500 keys per SELECT; values the objects hold already stay."""
    pk_col = mapper.primary_key[0]
    cols = [mapper._props[k].columns[0] for k in keys]
    by_ident = {s.identity[0]: s for s in states if s.identity}
    idents = list(by_ident)
    found: set[Any] = set()
    for start in range(0, len(idents), 500):
        chunk = idents[start:start + 500]
        stmt = select(pk_col, *cols).where(pk_col.in_(chunk))
        bind = session.get_bind(mapper=mapper, clause=stmt)
        for row in session._run(stmt, None, bind, None, {"mappers": (mapper,),
                                                         "column_load": True}):
            state = by_ident.get(row[0])
            if state is None:
                continue
            found.add(row[0])
            d = state.strong_obj().__dict__
            exp = state.expired_attributes
            got = [k for k in keys if k in exp and k not in d]
            for k, v in zip(keys, row[1:], strict=True):
                if k in exp and k not in d:
                    d[k] = v
            pk_key = mapper._pk_keys[0]
            if pk_key in exp and pk_key not in d:
                d[pk_key] = row[0]
                got.append(pk_key)
            state.loaded(got)
    missing = [s for i, s in by_ident.items() if i not in found and _delete_needs_load(s)]
    if missing:
        raise ObjectDeletedError(
            f"Can't load the expired attributes of {describe(missing[0].obj())}, which this "
            "flush deletes: its row is no longer in the database (deleted by another "
            "transaction, or by an earlier flush of this session); expunge the object "
            "or roll back")


def _delete_needs_load(state: InstanceState) -> bool:
    """Is a column the DELETE of ``state`` is matched by (key, version) expired?"""
    mapper = state.mapper
    exp = state.expired_attributes
    vp = mapper.version_id_prop
    return any(k in exp for k in mapper._pk_keys) or (vp is not None and vp.key in exp)


def _new_identity(state: InstanceState, per: dict[tuple[str, ...], Any] | None,
                  to_key: dict[tuple[Mapper, tuple[str, ...]], bool]) -> tuple[Any, ...] | None:
    """The primary-key values a new object will be written with (a key column that is
    also a linked foreign key takes the related object's key); None when the database
    assigns one (a key value is None or a SQL expression).  ``to_key`` caches, per
    (mapper, linked foreign-key attributes), whether one of them is a key column."""
    mapper = state.mapper
    obj = state.obj()
    d = (obj if obj is not None else state.strong_obj()).__dict__
    pk_keys = mapper._pk_keys
    if per is not None:
        for dk in per:
            hit = to_key.get((mapper, dk))
            if hit is None:
                hit = to_key[(mapper, dk)] = any(k in pk_keys for k in dk)
            if hit:
                # a key column that is also a foreign key gets the related
                # object's key from the flush: the identity it will have
                d = _with_linked_keys(d, per, pk_keys)
                break
    if len(pk_keys) == 1:
        v = d.get(pk_keys[0])
        if v is None or (v.__class__ not in _PLAIN_KEYS and is_sql(v)):
            return None
        return (v,)
    ident = tuple(d.get(k) for k in pk_keys)
    if any(v is None or (v.__class__ not in _PLAIN_KEYS and is_sql(v)) for v in ident):
        return None
    return ident


def _with_linked_keys(d: dict[str, Any], per: dict[tuple[str, ...], Any],
                      pk_keys: tuple[str, ...]) -> dict[str, Any]:
    """``d`` with the primary-key values that links from objects with a known key will
    copy into it (a copy; ``d`` itself when there are none): a persistent object's, or
    a new object's key given in its attributes (a natural key; None when the database
    will generate it)."""
    out = None
    for dest_keys, link in per.items():
        src = link.src
        if src is None or not any(k in pk_keys for k in dest_keys):
            continue
        values = link.values()
        for k, v in zip(dest_keys, values, strict=True):
            if k in pk_keys and v is not None and d.get(k) is None:
                if out is None:
                    out = dict(d)
                out[k] = v
    return out if out is not None else d


def _cancel_switched_assoc_rows(deps: Dependencies,
                                switches: dict[InstanceState, InstanceState]) -> None:
    """An association row of a replaced object that the new object also has stays."""
    if not deps.assoc_insert or not deps.assoc_delete:
        return
    olds = set(switches.values())
    news = set(switches)

    def sig(row: Any) -> Any:
        return (row.prop.secondary, tuple(sorted(row.params().items())))

    removed = {sig(r): k for k, r in deps.assoc_delete.items()
               if r.parent in olds or r.child in olds}
    if not removed:
        return
    for k, r in list(deps.assoc_insert.items()):
        if r.parent in news or r.child in news:
            dk = removed.pop(sig(r), None)
            if dk is not None:
                del deps.assoc_insert[k]
                del deps.assoc_delete[dk]


_PLAIN_KEYS = frozenset({int, str, float, bytes})
