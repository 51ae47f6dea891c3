"""One flush, running the plan: each action's INSERT, UPDATE, DELETE, row-switch and
post-update batches through the persistence layer, the key links between them, the
``refresh_flush`` events, and taking database-generated keys back out when the flush
fails.

Each function here taking ``self`` is a method of
:class:`~.flush.UOWTransaction`: its class body binds it under its method name
(``execute = flush_execute.execute``), so a call costs what a method defined in the
class costs.  Called by ``Session.flush`` (session/flushing.py) through those
methods, and (``_apply_links``) by unitofwork/inherited.py.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Connection

from ..instance.state import _LAYOUT, InstanceState
from ..mapping.inheritance import table_parts
from ..mapping.mapper import Mapper
from ..persistence import delete_states, insert_states, update_states
from ..persistence.association import associate, dissociate, reassociate
from ..persistence.readback import read_generated
from ..persistence.records import table_plan, unfilled
from ..persistence.writes import post_update_states, switch_states
from . import dependency, inherited, keyswitch
from .links import Link, apply_link, source_dict
from .plan import Action

if TYPE_CHECKING:
    from .flush import UOWTransaction


def execute(self: UOWTransaction, connection_for: Callable[[Mapper], Connection]) -> None:
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

def run_action(self: UOWTransaction, action: Action, conn: Connection) -> None:
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

def apply_links(self: UOWTransaction, states: list[InstanceState]) -> None:
    links = self.deps.links if self.deps is not None else None
    if not links:
        return
    if _LAYOUT is not None and dependency.C_LINKS and isinstance(states, (list, tuple)):
        # the common state in C (_speedups_flush.h), each other one the Python way
        i, n = 0, len(states)
        while i < n:
            i = _LAYOUT.copy_keys(links, states, i, Link)
            if i < n:
                _apply_state_links(states[i], links)
                i += 1
        return
    for s in states:
        _apply_state_links(s, links)


def _apply_state_links(s: InstanceState, links: dict[InstanceState, dict[Any, Link]]) -> None:
    """Copy the keys ``s``'s links name into its object (see :func:`apply_links`)."""
    per = links.get(s)
    if per is None:
        return
    for link in per.values():
        if link.post:
            if s._key is None:
                d = s.strong_obj().__dict__
                for k in link.dest_keys:
                    d[k] = None
            continue
        src = link.src
        if s._key is None and s._extra is None and src is not None:
            # a new row: copy the parent's key, no history to keep
            d = s.strong_obj().__dict__
            sd = src.strong_obj().__dict__
            for sk, dk in zip(link.src_keys, link.dest_keys, strict=True):
                if sk not in sd:  # a parent expired by a commit: load its key
                    sd = source_dict(src, link.src_keys)
                d[dk] = sd.get(sk)
            continue
        apply_link(link)


def post_update(self: UOWTransaction, action: Action, conn: Connection) -> None:
    mapper = action.mapper
    # the post-updates of one row (several post_update relationships) are one UPDATE
    # per table: attribute key -> value, per state
    by_state: dict[InstanceState, dict[str, Any]] = {}
    for link in action.payload:
        state = link.dest
        d = state.strong_obj().__dict__
        values = link.values()
        attrs = by_state.get(state)
        if attrs is None:
            attrs = by_state[state] = {}
        for k, v in zip(link.dest_keys, values, strict=True):
            d[k] = v
            attrs[k] = v
    dispatch = mapper.dispatch
    filled: dict[InstanceState, list[str]] | None = \
        {} if "refresh_flush" in dispatch else None
    if mapper._poly is None:
        _post_update_table(self, mapper, mapper, by_state, conn, filled)
    else:
        # a joined-table hierarchy: each table's columns in an UPDATE of that table,
        # the row found by that table's own key
        for part in table_parts(mapper):
            _post_update_table(self, mapper, inherited._as_mapper(part), by_state, conn,
                               filled)
    for s, names in (filled or {}).items():
        dispatch.fire("refresh_flush", s.strong_obj(), self, names)


def _post_update_table(self: UOWTransaction, mapper: Mapper, part: Mapper,
                       by_state: dict[InstanceState, dict[str, Any]], conn: Connection,
                       filled: dict[InstanceState, list[str]] | None) -> None:
    """The post-update UPDATEs of the table of ``part`` (``mapper`` itself, or one
    table's part of a joined-table mapper): the given attributes stored there."""
    table = part.local_table
    props = mapper._props
    # columns with an onupdate that the program set in this flush keep its value:
    # the post-update sends it again instead of letting the onupdate replace it
    onupdates = [(p.key, p.columns[0].key) for p in part._persist_props
                 if getattr(p, "columns", None) and isinstance(p.columns[0], Column)
                 and p.columns[0].table is table and p.columns[0].onupdate is not None]
    new = set(self.new) if onupdates else ()
    items = []
    for state, attrs in by_state.items():
        params: dict[str, Any] = {}
        for k, v in attrs.items():
            for c in props[k].columns:
                if c.table is table:
                    params[c.key] = v
                    break
        if not params:
            continue
        d = state.strong_obj().__dict__
        for k, ck in onupdates:
            if k in d and ck not in params and (state in new or k in state.committed_state):
                params[ck] = d[k]
        items.append((state, params))
    if not items:
        return
    for s, keys in post_update_states(part, items, conn, filled).items():
        self.expire.setdefault(s, set()).update(keys)


def save(self: UOWTransaction, action: Action, conn: Connection) -> None:
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

def insert(self: UOWTransaction, mapper: Mapper, states: list[InstanceState],
           conn: Connection) -> None:
    dispatch = mapper.dispatch
    if "before_insert" in dispatch:
        for s in states:
            dispatch.fire("before_insert", mapper, conn, s.strong_obj())
    watch = unfilled(mapper, states, True) if "refresh_flush" in dispatch else None
    # (insert_states notes the keys the database generates in self.generated before
    # each statement: a failed flush takes them back out)
    expire = insert_states(mapper, states, conn, self.replaced, self.generated)
    fetched = read_generated(conn, table_plan(mapper), expire) \
        if inherited.fetches_server_values(mapper) and expire else None
    self.expire.update(expire)
    inherited.expire_unset_readonly(mapper, states, self.expire)
    self.inserted.extend(states)
    if watch is not None:
        self._fire_refresh_flush(dispatch, states, watch, expire, fetched)
    if "after_insert" in dispatch:
        for s in states:
            dispatch.fire("after_insert", mapper, conn, s.strong_obj())

def update(self: UOWTransaction, mapper: Mapper, states: list[InstanceState],
           conn: Connection) -> None:
    dispatch = mapper.dispatch
    if "before_update" in dispatch:
        for s in states:
            dispatch.fire("before_update", mapper, conn, s.strong_obj())
    watch = unfilled(mapper, states, False) if "refresh_flush" in dispatch else None
    expire = update_states(mapper, states, conn, self.replaced)
    self.update_dialect = dialect = conn.dialect.name
    referenced = keyswitch.changed_referenced_keys(states, dialect)
    if referenced:
        # the database cascaded a changed key into the referring rows (ON UPDATE
        # CASCADE): their objects hold the new key (and identity) before this flush
        # writes any of them, so an UPDATE of theirs finds its row by the new key
        keyswitch.sync_referrers(self.session._identity_map, referenced, self.session)
    fetched = read_generated(conn, table_plan(mapper), expire) \
        if inherited.fetches_server_values(mapper) and expire else None
    for s, keys in expire.items():
        self.expire.setdefault(s, set()).update(keys)
    inherited.expire_computed(mapper, states, self.expire)
    self.updated.extend(states)
    if watch is not None:
        self._fire_refresh_flush(dispatch, states, watch, expire, fetched)
    if "after_update" in dispatch:
        for s in states:
            dispatch.fire("after_update", mapper, conn, s.strong_obj())

def switch(self: UOWTransaction, mapper: Mapper, states: list[InstanceState],
           conn: Connection) -> None:
    """Row switch: the new objects' values go into the rows of the deleted ones."""
    dispatch = mapper.dispatch
    items = inherited.switch_items(self, mapper, states)
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

def fire_refresh_flush(self: UOWTransaction, dispatch: Any, states: list[InstanceState],
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

def delete(self: UOWTransaction, action: Action, conn: Connection) -> None:
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

def db_cascaded(self: UOWTransaction, table: object) -> bool:
    """May an ON DELETE CASCADE of a table deleted from in this flush have removed
    rows of ``table`` already?"""
    sources = _cascade_sources(table)
    return bool(sources) and not sources.isdisjoint(self.deleted_tables)

def delete_rows(self: UOWTransaction, mapper: Mapper, states: list[InstanceState], conn: Connection,
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

def undo_generated(self: UOWTransaction) -> None:
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
