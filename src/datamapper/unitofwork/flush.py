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
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, select

from .._util import NO_VALUE, describe
from ..exc import FlushError, ObjectDeletedError
from ..instance.identity import IdentityMap
from ..instance.seam import SessionLike
from ..instance.state import _PENDING_COLLECTIONS as PENDING_COLLECTIONS
from ..instance.state import LAZY_KEY, InstanceState
from ..mapping.mapper import Mapper
from ..persistence import delete_states, insert_states, update_states
from ..persistence.association import associate, dissociate, reassociate
from ..persistence.readback import read_generated
from ..persistence.records import changed_params, is_sql, table_plan, unfilled
from ..persistence.writes import post_update_states, switch_states
from . import inherited
from .dependency import collect
from .links import Dependencies, apply_link, source_dict
from .plan import Action, FlushPlan
from .planner import Planner

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
        self.attributes: dict[str, Any] = {}
        self.plan: FlushPlan | None = None
        self.deps: Dependencies | None = None
        self.deleted_tables: set[Any] = set()
        # row switches: new state -> the deleted state whose row it takes over
        self.switches: dict[InstanceState, InstanceState] = {}

    # -- checks ------------------------------------------------------------------
    def check(self) -> None:
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
        for state in self.new:
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

    def _check_existing(self, state: InstanceState, key: tuple[Any, ...],
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

    def _row_is_gone(self, state: InstanceState) -> bool:
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

    # -- planning ------------------------------------------------------------------
    def presort(self) -> None:
        """Read relationship changes: key links, association rows, orphans to delete."""
        self.deps = collect(self.session, self.new, self.dirty, self.deleted)
        if self.deps.undeleted:
            # an object marked deleted (by a cascade, say) that a surviving parent took
            # in is saved with its new parent instead
            for state in self.deps.undeleted:
                self.session._deleted.pop(state, None)
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

    def _load_expired_deleted(self) -> None:
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
            if len(mapper._pk_keys) != 1 or (mapper.inherits is not None and not mapper.single) \
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

    def build_plan(self) -> FlushPlan:
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

    # -- execution -----------------------------------------------------------------
    def execute(self, connection_for: Callable[[Mapper], Connection]) -> None:
        plan = self.plan if self.plan is not None else self.build_plan()
        # a session that spreads one mapper's rows over several databases (sharding)
        # splits each action into (connection, part of the action) pairs
        split = self.session._shard_split_action
        for action in plan.actions:
            if split is None:
                self._run_action(action, connection_for(action.mapper))
            else:
                for conn, part in split(action):
                    self._run_action(part, conn)

    def _run_action(self, action: Action, conn: Connection) -> None:
        verb = action.verb
        if verb == "save":
            self._save(action, conn)
        elif verb == "delete":
            self._delete(action, conn)
        elif verb == "associate":
            associate(action.payload, conn)
        elif verb == "dissociate":
            dissociate(action.payload, conn)
        elif verb == "reassociate":
            reassociate(action.payload, conn)
        elif verb in ("post_update", "pre_delete_update"):
            self._post_update(action, conn)

    def _apply_links(self, states: list[InstanceState]) -> None:
        links = self.deps.links if self.deps is not None else None
        if not links:
            return
        last_src: Any = None
        src_d: Any = None
        for s in states:
            per = links.get(s)
            if per is None:
                continue
            for link in per.values():
                if link.post:
                    if s._key is None:
                        d = s.strong_obj().__dict__
                        for k in link.dest_keys:
                            d[k] = None
                    continue
                src = link.src
                if s._key is None and s._extra is None and src is not None:
                    # a new row: copy the parent's key, no history to keep (the children
                    # of one parent come one after the other: its __dict__ is kept)
                    d = s.obj().__dict__
                    if src is not last_src:
                        src_d, last_src = src.obj().__dict__, src
                    sd = src_d
                    src_keys = link.src_keys
                    if len(src_keys) == 1:  # (a one-column foreign key)
                        sk = src_keys[0]
                        if sk not in sd:  # a parent expired by a commit: load its key
                            sd = source_dict(src, src_keys)
                        d[link.dest_keys[0]] = sd.get(sk)
                        continue
                    for sk, dk in zip(src_keys, link.dest_keys, strict=True):
                        if sk not in sd:  # a parent expired by a commit: load its key
                            sd = source_dict(src, link.src_keys)
                        d[dk] = sd.get(sk)
                    continue
                apply_link(link)

    def _post_update(self, action: Action, conn: Connection) -> None:
        items = []
        # columns with an onupdate that the program set in this flush keep its value:
        # the post-update sends it again instead of letting the onupdate replace it
        table = action.mapper.local_table
        onupdates = [(k, p.columns[0].key) for k, p in action.mapper._props.items()
                     if getattr(p, "columns", None) and isinstance(p.columns[0], Column)
                     and p.columns[0].table is table and p.columns[0].onupdate is not None]
        new = set(self.new) if onupdates else ()
        for link in action.payload:
            state = link.dest
            d = state.strong_obj().__dict__
            values = link.values()
            params = {}
            for k, v in zip(link.dest_keys, values, strict=True):
                d[k] = v
                params[state.mapper._props[k].columns[0].key] = v
            for k, ck in onupdates:
                if k in d and ck not in params and (state in new or k in state.committed_state):
                    params[ck] = d[k]
            items.append((state, params))
        dispatch = action.mapper.dispatch
        filled: dict[InstanceState, list[str]] | None = \
            {} if "refresh_flush" in dispatch else None
        for s, keys in post_update_states(action.mapper, items, conn, filled).items():
            self.expire.setdefault(s, set()).update(keys)
        for s, names in (filled or {}).items():
            dispatch.fire("refresh_flush", s.strong_obj(), self, names)

    def _save(self, action: Action, conn: Connection) -> None:
        mapper = action.mapper
        if mapper._poly is not None:  # an inheritance hierarchy (see inherited.py)
            inherited.save(self, action, conn)
            return
        self._apply_links(action.states)
        inserts = action.inserts
        if self.switches and inserts:
            switched = [s for s in inserts if s in self.switches]
            if switched:
                inserts = [s for s in inserts if s not in self.switches]
                self._switch(mapper, switched, conn)
        # batch=False: each row's before/after events run around that row's own statement
        if inserts:
            if mapper.batch or len(inserts) == 1:
                self._insert(mapper, inserts, conn)
            else:
                for s in inserts:
                    self._insert(mapper, [s], conn)
        if action.updates:
            if mapper.batch or len(action.updates) == 1:
                self._update(mapper, action.updates, conn)
            else:
                for s in action.updates:
                    self._update(mapper, [s], conn)

    def _insert(self, mapper: Mapper, states: list[InstanceState], conn: Connection) -> None:
        dispatch = mapper.dispatch
        if "before_insert" in dispatch:
            for s in states:
                dispatch.fire("before_insert", mapper, conn, s.strong_obj())
        watch = unfilled(mapper, states, True) if "refresh_flush" in dispatch else None
        # (insert_states notes the keys the database generates in self.generated before
        # each statement: a failed flush takes them back out)
        expire = insert_states(mapper, states, conn, self.replaced, self.generated)
        fetched = read_generated(conn, table_plan(mapper), expire) \
            if mapper.eager_defaults is True and expire else None
        self.expire.update(expire)
        computed = mapper._readonly_keys
        if computed:
            # SQL-expression attributes the program did not set: the new row has their
            # values, read on first access
            for s in states:
                d = s.strong_obj().__dict__
                stale = {k for k in computed if k not in d}
                if stale:
                    self.expire.setdefault(s, set()).update(stale)
        self.inserted.extend(states)
        if watch is not None:
            self._fire_refresh_flush(dispatch, states, watch, expire, fetched)
        if "after_insert" in dispatch:
            for s in states:
                dispatch.fire("after_insert", mapper, conn, s.strong_obj())

    def _update(self, mapper: Mapper, states: list[InstanceState], conn: Connection) -> None:
        dispatch = mapper.dispatch
        if "before_update" in dispatch:
            for s in states:
                dispatch.fire("before_update", mapper, conn, s.strong_obj())
        watch = unfilled(mapper, states, False) if "refresh_flush" in dispatch else None
        expire = update_states(mapper, states, conn, self.replaced)
        fetched = read_generated(conn, table_plan(mapper), expire) \
            if mapper.eager_defaults is True and expire else None
        for s, keys in expire.items():
            self.expire.setdefault(s, set()).update(keys)
        inherited.expire_computed(mapper, states, self.expire)
        self.updated.extend(states)
        if watch is not None:
            self._fire_refresh_flush(dispatch, states, watch, expire, fetched)
        if "after_update" in dispatch:
            for s in states:
                dispatch.fire("after_update", mapper, conn, s.strong_obj())

    def _switch(self, mapper: Mapper, states: list[InstanceState], conn: Connection) -> None:
        """Row switch: the new objects' values go into the rows of the deleted ones."""
        dispatch = mapper.dispatch
        vk = mapper.version_id_prop.key if mapper.version_id_prop else None
        items = []
        for s in states:
            old = self.switches[s]
            version = None
            if vk is not None:
                version = old.committed_state.get(vk, NO_VALUE)
                if version is NO_VALUE:
                    version = source_dict(old, [vk]).get(vk)
            ident = old.identity
            assert ident is not None  # a deleted object is persistent
            items.append((s, ident, version))
        if "before_update" in dispatch:
            for s in states:
                dispatch.fire("before_update", mapper, conn, s.strong_obj())
        expire = switch_states(mapper, items, conn)
        self.expire.update(expire)
        self.inserted.extend(states)
        self.removed.extend(self.switches[s] for s in states)
        if "after_update" in dispatch:
            for s in states:
                dispatch.fire("after_update", mapper, conn, s.strong_obj())

    def _fire_refresh_flush(self, dispatch: Any, states: list[InstanceState],
                            watch: dict[InstanceState, list[str]],
                            expire: dict[InstanceState, set[str]],
                            fetched: dict[InstanceState, list[str]] | None) -> None:
        """refresh_flush(target, flush_context, attribute names) for each state the
        statement gave values the program did not: values read back from the database
        (``eager_defaults``), then the ones computed here (see ``records.unfilled``)."""
        if not watch and not fetched:
            return
        for s in states:
            keys = watch.get(s)
            read = fetched.get(s) if fetched else None
            if keys is None and read is None:
                continue
            d = s.strong_obj().__dict__
            gone = expire.get(s, ())
            filled = [k for k in keys or () if k in d and k not in gone]
            if read:
                filled = read + [k for k in filled if k not in read]
            if filled:
                dispatch.fire("refresh_flush", s.strong_obj(), self, filled)

    def _delete(self, action: Action, conn: Connection) -> None:
        mapper = action.mapper
        if mapper._poly is not None:  # an inheritance hierarchy (see inherited.py)
            inherited.delete(self, action, conn, self._db_cascaded)
            return
        table = mapper.local_table
        self.deleted_tables.add(table)
        sources = _cascade_sources(table)
        db_cascaded = bool(sources) and not sources.isdisjoint(self.deleted_tables)
        if mapper.batch or len(action.states) == 1:
            self._delete_rows(mapper, action.states, conn, db_cascaded)
        else:
            for s in action.states:
                self._delete_rows(mapper, [s], conn, db_cascaded)

    def _db_cascaded(self, table: object) -> bool:
        """May an ON DELETE CASCADE of a table deleted from in this flush have removed
        rows of ``table`` already?"""
        sources = _cascade_sources(table)
        return bool(sources) and not sources.isdisjoint(self.deleted_tables)

    def _delete_rows(self, mapper: Mapper, states: list[InstanceState], conn: Connection,
                     db_cascaded: bool) -> None:
        dispatch = mapper.dispatch
        if "before_delete" in dispatch:
            for s in states:
                dispatch.fire("before_delete", mapper, conn, s.strong_obj())
        delete_states(mapper, states, conn, db_cascaded=db_cascaded)
        self.removed.extend(states)
        if "after_delete" in dispatch:
            for s in states:
                dispatch.fire("after_delete", mapper, conn, s.strong_obj())

    def undo_generated(self) -> None:
        """After a failed flush: take database-generated keys back out of the objects
        (and put back key expressions whose values were read)."""
        for state, key, expr in reversed(self.replaced):
            obj = state.obj()
            if obj is not None:
                obj.__dict__[key] = expr
        for states, keys in self.generated:
            for state in states:
                obj = state.obj()
                if obj is not None:
                    d = obj.__dict__
                    for k in keys:
                        d.pop(k, None)

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
            self._finalize_updated(imap, expire)
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
        for state in self.inserted:
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

_CASCADE_SOURCES: weakref.WeakKeyDictionary[Any, frozenset[Any]] = weakref.WeakKeyDictionary()


def _cascade_sources(table: Any) -> frozenset[Any]:
    """Tables whose DELETE can remove rows of ``table`` through ON DELETE CASCADE.

    Followed transitively (a self-referencing table is its own source).
    """
    cached = _CASCADE_SOURCES.get(table)
    if cached is not None:
        return cached
    out: set[Any] = set()
    todo = [table]
    while todo:
        t = todo.pop()
        for fk in t.foreign_keys:
            if (fk.ondelete or "").upper() != "CASCADE":
                continue
            try:
                src = fk.column.table
            except Exception:
                continue
            if src not in out:
                out.add(src)
                todo.append(src)
    result = frozenset(out)
    _CASCADE_SOURCES[table] = result
    return result


def pending_changes(state: InstanceState) -> bool:
    """True when a dirty state would write anything."""
    if state.mapper._poly is not None:
        return inherited.pending_changes(state)
    plan = table_plan(state.mapper)
    return changed_params(state.mapper, state, plan) is not None
