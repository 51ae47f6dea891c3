"""Flushing the objects of an inheritance hierarchy.

The planner files every object of a hierarchy under its base mapper (one
row of the base table is one object, whatever its class).  A save or delete
action of such a mapper lands here instead of the single-table path of
:mod:`.flush`: objects are written class by class (runs of consecutive
objects of one class, so INSERTs keep the order objects were added in), one
table at a time through the persistence layer's per-table functions, each
table seen as a :class:`~datamapper.mapping.inheritance.TablePart`:

- INSERT: the base table first (its generated key is copied into the
  subclass tables' key columns), then each subclass table; the discriminator
  is set from the class's ``polymorphic_identity`` when the object has none;
- UPDATE: each table whose columns changed, and nothing else (a versioned
  object whose only changes are in a subclass table still moves its version
  in the base table);
- DELETE: the subclass tables first, the base table last.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection

from .._util import NO_VALUE
from ..instance.state import InstanceState
from ..mapping.inheritance import TablePart, table_parts
from ..mapping.mapper import Mapper
from ..persistence import delete_states, insert_states, update_states
from ..persistence.readback import read_generated
from ..persistence.records import changed_params, table_plan, unfilled
from .references import Reference, references_of

if TYPE_CHECKING:
    from .flush import UOWTransaction
    from .plan import Action


def _runs(states: Sequence[InstanceState]) -> Iterator[tuple[Mapper, list[InstanceState]]]:
    """Consecutive states of one mapper, in order."""
    run: list[InstanceState] = []
    current: Mapper | None = None
    for s in states:
        if s.mapper is not current:
            if run and current is not None:
                yield current, run
            run = []
            current = s.mapper
        run.append(s)
    if run and current is not None:
        yield current, run


def _by_mapper(states: Sequence[InstanceState]) -> list[tuple[Mapper, list[InstanceState]]]:
    groups: dict[Mapper, list[InstanceState]] = {}
    for s in states:
        groups.setdefault(s.mapper, []).append(s)
    return list(groups.items())


def _as_mapper(part: TablePart) -> Mapper:
    # the persistence functions read of a mapper only what a TablePart has
    return cast(Mapper, part)


def save(uow: UOWTransaction, action: Action, conn: Connection) -> None:
    uow._apply_links(action.states)
    inserts = list(action.inserts)
    if uow.switches and inserts:
        switched = [s for s in inserts if s in uow.switches]
        if switched:
            inserts = [s for s in inserts if s not in uow.switches]
            for mapper, run in _runs(switched):
                _switch(uow, mapper, run, conn)
    for mapper, run in _runs(inserts):
        if mapper.batch or len(run) == 1:
            _insert(uow, mapper, run, conn)
        else:
            for s in run:
                _insert(uow, mapper, [s], conn)
    for mapper, group in _by_mapper(action.updates):
        if mapper.batch or len(group) == 1:
            _update(uow, mapper, group, conn)
        else:
            for s in group:
                _update(uow, mapper, [s], conn)


def fetches_server_values(mapper: Mapper) -> bool:
    """``eager_defaults=True`` on ``mapper`` or on its hierarchy's base mapper (whose
    setting holds for its subclasses too, as in SQLAlchemy): the values the database
    gives a row in the flush are read back within it."""
    return mapper.eager_defaults is True or mapper.base_mapper.eager_defaults is True


def set_discriminator(mapper: Mapper, states: Sequence[InstanceState]) -> None:
    poly = mapper._poly
    if poly is None or poly.on_key is None or mapper.polymorphic_identity is None:
        return
    key = poly.on_key
    for s in states:
        d = s.strong_obj().__dict__
        if d.get(key) is None:
            d[key] = mapper.polymorphic_identity


def _insert(uow: UOWTransaction, mapper: Mapper, states: list[InstanceState],
            conn: Connection) -> None:
    set_discriminator(mapper, states)
    dispatch = mapper.dispatch
    if "before_insert" in dispatch:
        for s in states:
            dispatch.fire("before_insert", mapper, conn, s.strong_obj())
    pk_keys = mapper._pk_keys
    for s in states:
        d = s.strong_obj().__dict__
        missing = [k for k in pk_keys if d.get(k) is None]
        if missing:
            uow.generated.append(([s], missing))
    watch = unfilled(mapper, states, True) if "refresh_flush" in dispatch else None
    expired: dict[InstanceState, set[str]] = {}
    eager = fetches_server_values(mapper)
    fetched: dict[InstanceState, list[str]] = {}
    for part in table_parts(mapper):
        if part.sync:
            for s in states:
                d = s.strong_obj().__dict__
                for src, dest in part.sync:
                    d[dest] = d.get(src)
        expire = insert_states(_as_mapper(part), states, conn, uow.replaced)
        if eager and expire:
            _add_read(fetched, read_generated(conn, table_plan(_as_mapper(part)), expire))
        for s, keys in expire.items():
            uow.expire.setdefault(s, set()).update(keys)
            expired.setdefault(s, set()).update(keys)
    expire_unset_readonly(mapper, states, uow.expire)
    uow.inserted.extend(states)
    if watch is not None:
        uow._fire_refresh_flush(dispatch, states, watch, expired, fetched)
    if "after_insert" in dispatch:
        for s in states:
            dispatch.fire("after_insert", mapper, conn, s.strong_obj())


def _add_read(into: dict[InstanceState, list[str]],
              read: dict[InstanceState, list[str]]) -> None:
    for s, keys in read.items():
        into.setdefault(s, []).extend(keys)


def _touch_versions(mapper: Mapper, parts: list[TablePart],
                    states: list[InstanceState]) -> None:
    """A versioned object whose changes are all outside the version's table still
    moves its version: the version attribute is given its next value."""
    vk = mapper.version_id_prop.key if mapper.version_id_prop is not None else None
    gen = mapper.version_id_generator
    if vk is None or gen is False:
        return
    vpart = next((p for p in parts if p.version_id_col is not None), None)
    if vpart is None:
        return
    others = [p for p in parts if p is not vpart]
    for s in states:
        if changed_params(_as_mapper(vpart), s, table_plan(_as_mapper(vpart))) is not None:
            continue
        if not any(changed_params(_as_mapper(p), s, table_plan(_as_mapper(p))) is not None
                   for p in others):
            continue
        obj = s.strong_obj()
        d = obj.__dict__
        if vk not in d:
            getattr(obj, vk)  # expired (a commit): read the row's version now
            if vk not in d:
                continue
        cs = s._committed
        if cs is None:
            cs = s._committed = {}
        old = d[vk]
        cs.setdefault(vk, old)
        d[vk] = gen(old)


def _own_keys_loaded(parts: list[TablePart], states: list[InstanceState]) -> None:
    """The key attributes of the tables whose rows are not found by the object's
    identity (a subclass table with a key of its own) are loaded where expired: read
    by the identity now, before any table of the objects is written."""
    from .links import source_dict

    for part in parts:
        if table_plan(_as_mapper(part)).ident_keyed:
            continue
        for s in states:
            d = s.strong_obj().__dict__
            missing = [k for k in part._pk_keys if k not in d]
            if missing:
                source_dict(s, missing)


def _sync_changed_keys(parts: list[TablePart], states: list[InstanceState]) -> None:
    """A changed base key is copied into the subclass table's join column when that
    is another attribute (``engineer.person_name`` = ``person.name``): the row keeps
    referring to its base row."""
    for part in parts:
        if not part.sync:
            continue
        for s in states:
            cs = s._committed
            if not cs:
                continue
            d = s.strong_obj().__dict__
            for src, dest in part.sync:
                if src not in cs or src not in d:
                    continue
                new = d[src]
                if dest in d and d[dest] == new:
                    continue
                if dest not in cs:
                    cs[dest] = d.get(dest, NO_VALUE)
                d[dest] = new


def _update(uow: UOWTransaction, mapper: Mapper, states: list[InstanceState],
            conn: Connection) -> None:
    dispatch = mapper.dispatch
    if "before_update" in dispatch:
        for s in states:
            dispatch.fire("before_update", mapper, conn, s.strong_obj())
    parts = table_parts(mapper)
    if len(parts) > 1:
        _own_keys_loaded(parts, states)
        _sync_changed_keys(parts, states)
        _touch_versions(mapper, parts, states)
    watch = unfilled(mapper, states, False, [_as_mapper(p) for p in parts]) \
        if "refresh_flush" in dispatch else None
    expired: dict[InstanceState, set[str]] = {}
    eager = fetches_server_values(mapper)
    fetched: dict[InstanceState, list[str]] = {}
    for part in parts:
        expire = update_states(_as_mapper(part), states, conn, uow.replaced)
        if eager and expire:
            _add_read(fetched, read_generated(conn, table_plan(_as_mapper(part)), expire))
        for s, keys in expire.items():
            uow.expire.setdefault(s, set()).update(keys)
            expired.setdefault(s, set()).update(keys)
    expire_computed(mapper, states, uow.expire)
    uow.updated.extend(states)
    if watch is not None:
        uow._fire_refresh_flush(dispatch, states, watch, expired, fetched)
    if "after_update" in dispatch:
        for s in states:
            dispatch.fire("after_update", mapper, conn, s.strong_obj())


def switch_items(uow: UOWTransaction, mapper: Mapper, states: list[InstanceState]
                 ) -> list[tuple[InstanceState, tuple[Any, ...], Any]]:
    """A row switch's ``(new state, identity of the deleted row it takes over, that
    row's version or None)`` per state (plain and joined-table switches alike)."""
    from .links import source_dict

    vk = mapper.version_id_prop.key if mapper.version_id_prop else None
    items = []
    for s in states:
        old = uow.switches[s]
        version = None
        if vk is not None:
            version = old.committed_state.get(vk, NO_VALUE)
            if version is NO_VALUE:
                version = source_dict(old, [vk]).get(vk)
        ident = old.identity
        assert ident is not None  # a deleted object is persistent
        items.append((s, ident, version))
    return items


def _switch(uow: UOWTransaction, mapper: Mapper, states: list[InstanceState],
            conn: Connection) -> None:
    """Row switch in a hierarchy: the new objects' values go into the rows of the
    deleted ones, table by table."""
    from ..persistence.writes import switch_states

    set_discriminator(mapper, states)
    dispatch = mapper.dispatch
    items = switch_items(uow, mapper, states)
    if "before_update" in dispatch:
        for s in states:
            dispatch.fire("before_update", mapper, conn, s.strong_obj())
    parts = table_parts(mapper)
    own = {id(p): _own_key_items(uow, p, items) for p in parts
           if not table_plan(_as_mapper(p)).ident_keyed}
    for part in parts:
        expire = switch_states(_as_mapper(part), own.get(id(part), items), conn)
        for s, keys in expire.items():
            uow.expire.setdefault(s, set()).update(keys)
    uow.inserted.extend(states)
    uow.removed.extend(uow.switches[s] for s in states)
    if "after_update" in dispatch:
        for s in states:
            dispatch.fire("after_update", mapper, conn, s.strong_obj())


def _own_key_items(uow: UOWTransaction, part: TablePart,
                   items: list[tuple[InstanceState, tuple[Any, ...], Any]]
                   ) -> list[tuple[InstanceState, tuple[Any, ...], Any]]:
    """A row switch's items for a table whose rows are not found by the identity:
    the row is the deleted object's, found by its own key (loaded if expired), which
    the new object takes over where it has none."""
    from .links import source_dict

    out = []
    for s, _ident, version in items:
        old = source_dict(uow.switches[s], part._pk_keys)
        key = tuple(old.get(k) for k in part._pk_keys)
        d = s.strong_obj().__dict__
        for k, v in zip(part._pk_keys, key, strict=True):
            if d.get(k) is None:
                d[k] = v
        out.append((s, key, version))
    return out


def delete(uow: UOWTransaction, action: Action, conn: Connection,
           db_cascaded: Any) -> None:
    for mapper, group in _by_mapper(action.states):
        if mapper.batch or len(group) == 1:
            _delete(uow, mapper, group, conn, db_cascaded)
        else:
            for s in group:
                _delete(uow, mapper, [s], conn, db_cascaded)


def _delete(uow: UOWTransaction, mapper: Mapper, states: list[InstanceState],
            conn: Connection, db_cascaded: Any) -> None:
    dispatch = mapper.dispatch
    if "before_delete" in dispatch:
        for s in states:
            dispatch.fire("before_delete", mapper, conn, s.strong_obj())
    parts = table_parts(mapper)
    if len(parts) > 1:
        _own_keys_loaded(parts, states)
    for i, part in enumerate(reversed(parts)):
        table = part.local_table
        uow.deleted_tables.add(table)
        # a subclass row may be gone with its base row (ON DELETE CASCADE) or, for
        # the base row, ahead of it: fewer rows matched are then no surprise
        delete_states(_as_mapper(part), states, conn,
                      db_cascaded=db_cascaded(table) or (i > 0 and len(parts) > 1))
    uow.removed.extend(states)
    if "after_delete" in dispatch:
        for s in states:
            dispatch.fire("after_delete", mapper, conn, s.strong_obj())


def pending_changes(state: InstanceState) -> bool:
    """True when a dirty object of a hierarchy would write anything to any table."""
    for part in table_parts(state.mapper):
        m = _as_mapper(part)
        if changed_params(m, state, table_plan(m)) is not None:
            return True
    return False


def hierarchy_references(mapper: Mapper) -> list[Reference]:
    """What rows of ``mapper`` (a base mapper, for the planner) refer to, for every
    class of its hierarchy, without the foreign keys joining a subclass table to its
    base table (those are one row, written in order by this module)."""
    if mapper._poly is None:
        return references_of(mapper)
    out: list[Reference] = []
    for m in mapper.self_and_descendants:
        for ref in references_of(m):
            if ref.prop is None and ref.src.base_mapper is mapper and _inherit_fk(m, ref):
                continue
            if ref not in out:
                out.append(ref)
    return out


def _inherit_fk(mapper: Mapper, ref: Reference) -> bool:
    """Is ``ref`` (a Table foreign key of ``mapper``) the one of an inherit condition?"""
    for m in mapper.iterate_to_root():
        if m.inherit_condition is None:
            continue
        cols = {c for c in _columns_of(m.inherit_condition) if c.table is m.local_table}
        keys = {mapper._col_to_prop[c].key for c in cols if c in mapper._col_to_prop}
        if set(ref.dest_keys) <= keys:
            return True
    return False


def _columns_of(clause: Any) -> list[Any]:
    from sqlalchemy.sql import visitors

    out: list[Any] = []
    visitors.traverse(clause, {}, {"column": out.append})
    return out


def expire_unset_readonly(mapper: Mapper, states: list[InstanceState],
                          expire: dict[InstanceState, set[str]]) -> None:
    """After an INSERT: the mapper's SQL-expression attributes the program did not set
    are queued for expiry (the new row has their values, read on first access)."""
    computed = mapper._readonly_keys
    if computed:
        for s in states:
            d = s.strong_obj().__dict__
            stale = {k for k in computed if k not in d}
            if stale:
                expire.setdefault(s, set()).update(stale)


def expire_computed(mapper: Mapper, states: list[InstanceState],
                    expire: dict[InstanceState, set[str]]) -> None:
    """After an UPDATE: loaded values of the mapper's SQL-expression attributes are
    stale (queued for expiry); a value the program set itself is kept."""
    computed = mapper._flush_expire_keys
    if computed:
        for s in states:
            d = s.strong_obj().__dict__
            cs = s._committed
            stale = {k for k in computed if k in d and not (cs and k in cs)}
            if stale:
                expire.setdefault(s, set()).update(stale)
