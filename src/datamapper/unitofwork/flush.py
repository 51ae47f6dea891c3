"""One flush: collect the change set, plan it, execute it, report the outcome.

Callers: ``Session.flush``.  The session hands over its new, dirty and
deleted states and a function that gives the Core ``Connection`` for a
mapper; this module checks the change set (identity conflicts) before any
SQL, builds the dependency graph over (mapper, action) nodes with edges from
Table foreign keys (and, through the relationship layer, from
relationships), sorts it deterministically and runs the batches through the
persistence layer.  Python-side state is changed only in ``finalize``,
after every statement succeeded; a failure leaves objects as they were
(database-generated keys already copied into objects are taken back out).

This module holds :class:`UOWTransaction` (its state and the outcome,
``finalize``); its checks and planning are in unitofwork/flush_checks.py and its
execution in unitofwork/flush_execute.py, functions its class body binds as methods.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .._util import NO_VALUE
from ..instance.identity import IdentityMap
from ..instance.seam import SessionLike
from ..instance.state import _LAYOUT, LAZY_KEY, InstanceState
from ..instance.state import _PENDING_COLLECTIONS as PENDING_COLLECTIONS
from ..persistence.records import changed_params, table_plan
from . import dependency, flush_checks, flush_execute, inherited, keyswitch
from .links import Dependencies
from .plan import FlushPlan

log = logging.getLogger("datamapper.unitofwork")


class UOWTransaction:
    """The state of one flush (``flush_context`` in session events)."""

    def __init__(
        self,
        session: SessionLike,
        new: Sequence[InstanceState],
        dirty: Sequence[InstanceState],
        deleted: Sequence[InstanceState],
    ) -> None:
        self.session = session
        self.new = list(new)
        self.dirty = list(dirty)
        self.deleted = list(deleted)
        self.inserted: list[InstanceState] = []
        self.updated: list[InstanceState] = []
        self.removed: list[InstanceState] = []
        self.expire: dict[InstanceState, set[str]] = {}
        # (states, attribute keys): keys the database generated for those states, taken
        # back out if the flush fails
        self.generated: list[tuple[list[InstanceState], list[str]]] = []
        # primary keys given as SQL expressions, replaced by their values: (state, key,
        # expression), put back if the flush fails
        self.replaced: list[tuple[InstanceState, str, Any]] = []
        # the name of the dialect of a connection an UPDATE ran on (keyswitch: SQLite
        # is not trusted with ON UPDATE CASCADE)
        self.update_dialect: str | None = None
        self.attributes: dict[str, Any] = {}
        self.plan: FlushPlan | None = None
        self.deps: Dependencies | None = None
        self.deleted_tables: set[Any] = set()
        # row switches: new state -> the deleted state whose row it takes over
        self.switches: dict[InstanceState, InstanceState] = {}

    # -- checks and planning: functions of unitofwork/flush_checks.py bound as methods
    check = flush_checks.check
    _check_existing = flush_checks.check_existing
    _row_is_gone = flush_checks.row_is_gone
    presort = flush_checks.presort
    _load_expired_deleted = flush_checks.load_expired_deleted
    build_plan = flush_checks.build_plan

    # -- execution: functions of unitofwork/flush_execute.py bound as methods
    execute = flush_execute.execute
    _run_action = flush_execute.run_action
    _apply_links = flush_execute.apply_links
    _post_update = flush_execute.post_update
    _save = flush_execute.save
    _insert = flush_execute.insert
    _update = flush_execute.update
    _switch = flush_execute.switch
    _fire_refresh_flush = flush_execute.fire_refresh_flush
    _delete = flush_execute.delete
    _db_cascaded = flush_execute.db_cascaded
    _delete_rows = flush_execute.delete_rows
    undo_generated = flush_execute.undo_generated

    # -- outcome -------------------------------------------------------------------
    def finalize(self) -> None:
        """Every statement succeeded: move states to their new lifecycle (inserted ones
        into the identity map, updated ones clean, deleted ones out of it), then fire
        ``expire`` for what the statements left to the database.  Each step is one
        pass over its list (100k-row flushes: no per-row call beyond the step's)."""
        imap = self.session._identity_map
        expire = self.expire
        if self.inserted:
            self._finalize_inserted(imap, expire)
        if self.updated:
            referenced = keyswitch.changed_referenced_keys(self.updated, self.update_dialect)
            self._finalize_updated(imap, expire)
            if referenced:
                keyswitch.sync_referrers(imap, referenced, self.session)
            imap._modified.difference_update(self.updated)
        imap.discard_all(self.removed)
        for state in self.removed:
            state._deleted = True
            state._committed = None
            state.modified = False
        if expire:
            _fire_expire_events(expire)

    def _finalize_inserted(self, imap: IdentityMap,
                           expire: dict[InstanceState, set[str]]) -> None:
        """New rows' states: clean, their expired keys dropped, filed under their key."""
        weak = imap.weak
        # sharding: the session names the identity token of each new row
        token_for = self.session._shard_token_for
        last: Any = None
        single: str | None = None  # the key attribute of a one-column key, no token
        inner: dict[Any, InstanceState] = {}
        states = self.inserted
        c_file = _LAYOUT.file_new if _LAYOUT is not None and dependency.C_LINKS else None
        i, n = 0, len(states)
        while i < n:
            state = states[i]
            i += 1
            if single is not None and c_file is not None and state.mapper is last:
                # the rest of a run of one mapper's rows, in C (_speedups_flush.h), up to
                # the first one that needs the Python body below
                i = c_file(states, i - 1, last, single, inner, LAZY_KEY, weak, expire)
                if i >= n:
                    break
                state = states[i]
                i += 1
            obj = state.obj()
            if obj is None:
                obj = state.strong_obj()
            d = obj.__dict__
            state._committed = None
            state.modified = False
            if expire:
                keys = expire.get(state)
                if keys:
                    for k in keys:
                        d.pop(k, None)
                    state.expired_attributes = set(keys)
            mapper = state.mapper
            if mapper is not last:  # (runs of one mapper: its facts looked up once)
                last = mapper
                pk_keys = mapper._pk_keys
                single = pk_keys[0] if len(pk_keys) == 1 and token_for is None else None
                if single is not None:
                    inner = imap.inner(mapper._identity_class, None)
            if single is not None:
                # one-column key: filed straight into the class's dict, tuple built on use
                ident = d.get(single)
                state._key = LAZY_KEY
                state._ident = ident
                inner[ident] = state
                state._strong = None if weak else obj
            else:
                state.key = (mapper._identity_class, tuple([d.get(k) for k in mapper._pk_keys]),
                             token_for(state) if token_for is not None else None)
                imap.add(state, obj)
                if weak:
                    state._strong = None

    def _finalize_updated(self, imap: IdentityMap,
                          expire: dict[InstanceState, set[str]]) -> None:
        """Updated rows' states: clean, re-keyed when a key column changed, their
        queued backref changes and expired keys dropped."""
        weak = imap.weak
        last: Any = None
        pk_keys: tuple[str, ...] = ()
        for state in self.updated:
            obj = state.obj()
            if obj is None:
                obj = state.strong_obj()
            d = obj.__dict__
            cs = state._committed
            if cs:
                mapper = state.mapper
                if mapper is not last:  # (runs of one mapper)
                    pk_keys, last = mapper._pk_keys, mapper
                # the usual change (attributes set, no key column among them) leaves
                # nothing to settle: a deleted attribute or a key change has something
                cs_keys = cs.keys()
                if not cs_keys <= d.keys() or not cs_keys.isdisjoint(pk_keys):
                    self._settle_written_changes(state, obj, d, cs, imap)
            state._committed = None
            state.modified = False
            ext = state._extra
            if ext is not None and PENDING_COLLECTIONS in ext:
                # backref changes queued for its unloaded collections: the flush wrote
                # those of objects in the session, the rows say the rest
                del ext[PENDING_COLLECTIONS]
            if expire:
                keys = expire.get(state)
                if keys:
                    for k in keys:
                        d.pop(k, None)
                    state.expired_attributes = set(state.expired_attributes) | keys
            if weak:
                state._strong = None

    def _settle_written_changes(self, state: InstanceState, obj: object, d: dict[str, Any],
                                cs: dict[str, Any], imap: IdentityMap) -> None:
        """After an UPDATE of ``state``'s changes ``cs``: a deleted column attribute
        reads as the NULL written; a changed key moves it in the identity map."""
        mapper = state.mapper
        column_keys = mapper._column_keys
        for k, original in cs.items():
            if original is not NO_VALUE and k not in d and k in column_keys:
                d[k] = None  # ``del obj.attr`` was written as NULL
        # every change of a key column (also one made by a key link) is in cs
        if state._key is not None and not cs.keys().isdisjoint(mapper._pk_keys):
            # an expired (unloaded) key column still holds the old identity's value
            old_key: Any = state.key
            old_ident = old_key[1]
            new_ident = tuple([d[k] if k in d else old_ident[i]
                               for i, k in enumerate(mapper._pk_keys)])
            if new_ident != old_ident:
                state.key = (mapper._identity_class, new_ident, old_key[2])
                imap.replace_key(state, obj, old_key)
                self.session._record_key_switch(state, old_key)


def _fire_expire_events(expire: dict[InstanceState, set[str]]) -> None:
    """The instance ``expire`` event, for the attributes the statements left to the
    database (read again on first access)."""
    for state, keys in expire.items():
        if keys and "expire" in state.mapper.dispatch and not state._deleted:
            obj = state.obj()
            if obj is not None:
                state.mapper.dispatch.fire("expire", obj, list(keys))



def pending_changes(state: InstanceState) -> bool:
    """True when a dirty state would write anything."""
    if state.mapper._poly is not None:
        return inherited.pending_changes(state)
    plan = table_plan(state.mapper)
    return changed_params(state.mapper, state, plan) is not None
