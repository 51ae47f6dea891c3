"""The 1.x bulk methods: ``Session.bulk_save_objects``, ``bulk_insert_mappings`` and
``bulk_update_mappings``.  Rows are written in batches on the connection a flush would
use, inside a subtransaction of the session's (a failure rolls it back); the objects
given are not added to the session.  The dictionaries are read as in ORM DML
(:mod:`.dml_params`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..exc import InvalidRequestError
from ..instance.state import InstanceState, instance_state
from ..mapping.mapper import Mapper, class_mapper
from .dml_inherited import (
    insert_joined_rows,
    is_joined,
    update_by_pk_joined,
)
from .dml_params import (
    _check_versioned,
    _columns,
    _groups,
    _insert_params,
    _update_params,
    _versioned,
)

if TYPE_CHECKING:
    from .base import SessionBase


# -- Session.bulk_save_objects / bulk_insert_mappings / bulk_update_mappings ----------------
def _mapper_of(entity: object) -> Mapper:
    """The configured Mapper of a mapped class or Mapper; UnmappedClassError else."""
    if isinstance(entity, Mapper):
        return entity if entity.configured else class_mapper(entity.class_)
    return class_mapper(entity)


def _in_bulk_transaction(session: SessionBase, mapper: Mapper, work: Any) -> Any:
    """Run ``work(conn)`` on the mapper's connection inside a subtransaction of the
    session's, as a flush does (a failure rolls it back)."""
    if session._flushing:
        raise InvalidRequestError(
            "Can't run a bulk save while this Session is flushing (from a flush event); "
            "do it after the flush"
        )
    session._check_writable()
    tx = session._begin_write()
    session._flushing = True
    try:
        out = work(session._flush_connection(mapper))
    except BaseException as e:
        if tx.state != "closed":
            tx.rollback(_capture_exception=e)
        raise
    finally:
        session._flushing = False
    tx.commit()
    return out


def _insert_rows(conn: Any, mapper: Mapper, params: list[dict[str, Any]],
                 return_defaults: bool) -> list[tuple[Any, ...] | None]:
    """INSERT ``params`` (column keys); with ``return_defaults`` return each row's
    primary key (in ``params`` order), else Nones."""
    cols = _columns(mapper)
    table = cols.table
    keys_out: list[tuple[Any, ...] | None] = []
    insert = table.insert()
    dialect = conn.dialect
    for batch in _groups(params):
        missing = [c for c in cols.pk_cols if c.key not in batch[0]]
        if not return_defaults or not missing:
            conn.execute(insert, batch)
            keys_out.extend(tuple(p.get(c.key) for c in cols.pk_cols) if return_defaults
                            else None for p in batch)
            continue
        if (len(batch) > 1 and len(missing) == 1 and missing[0] is table.autoincrement_column
                and getattr(dialect, "insert_executemany_returning", False)):
            col = missing[0]
            if dialect.name == "sqlite":
                # keys ascend in VALUES order (see persistence.inserts._insert_returning)
                got = sorted(conn.execute(insert.returning(col), batch).scalars().all())
            else:
                got = conn.execute(insert.returning(col, sort_by_parameter_order=True),
                                   batch).scalars().all()
            for p, k in zip(batch, got, strict=True):
                keys_out.append(tuple(k if c is col else p.get(c.key) for c in cols.pk_cols))
            continue
        for p in batch:
            pk = conn.execute(insert, p).inserted_primary_key
            keys_out.append(tuple(pk))
    return keys_out


def bulk_insert_mappings(session: SessionBase, entity: object, mappings: Iterable[dict[str, Any]],
                         return_defaults: bool = False, render_nulls: bool = False) -> None:
    mapper = _mapper_of(entity)
    rows = list(mappings)
    if not rows:
        return
    if is_joined(mapper):  # a row in each of the subclass's tables
        bind = session.get_bind(mapper)
        work, _r = _in_bulk_transaction(session, mapper, lambda conn: insert_joined_rows(
            session, mapper, rows, render_nulls, bind, {}))
        if return_defaults:
            for d, done in zip(rows, work, strict=True):
                for a in _columns(mapper).pk_attrs:
                    d[a] = done.get(a)
        return
    params = _insert_params(mapper, rows, render_nulls, "bulk_insert_mappings()")
    keys = _in_bulk_transaction(session, mapper,
                                lambda conn: _insert_rows(conn, mapper, params, return_defaults))
    if return_defaults:
        pk_attrs = _columns(mapper).pk_attrs
        for d, key in zip(rows, keys, strict=True):
            if key is not None:
                for a, v in zip(pk_attrs, key, strict=True):
                    d[a] = v


def _update_rows(conn: Any, mapper: Mapper, params: list[dict[str, Any]]) -> None:
    cols = _columns(mapper)
    for batch in _groups(params):
        if len(batch[0]) > len(cols.pk_colkeys):
            stmt, batch, versioned = _versioned(mapper, cols.update_by_pk, batch)
            result = conn.execute(stmt, batch)
            if versioned:
                _check_versioned(mapper, conn.dialect, result, len(batch))


def bulk_update_mappings(session: SessionBase, entity: object, mappings: Iterable[dict[str, Any]]
                         ) -> None:
    mapper = _mapper_of(entity)
    rows = list(mappings)
    if not rows:
        return
    if is_joined(mapper):  # an UPDATE for each of the subclass's tables
        bind = session.get_bind(mapper)
        _in_bulk_transaction(session, mapper, lambda conn: update_by_pk_joined(
            session, mapper, rows, bind, {}, {"autoflush": False}))
        return
    params = _update_params(mapper, rows, "bulk_update_mappings()")
    _in_bulk_transaction(session, mapper, lambda conn: _update_rows(conn, mapper, params))


def bulk_save_objects(session: SessionBase, objects: Iterable[Any], return_defaults: bool = False,
                      update_changed_only: bool = True, preserve_order: bool = True) -> None:
    """INSERT transient objects and UPDATE persistent ones without adding them to the
    session: new objects stay transient (with ``return_defaults`` they get their
    primary key and identity: detached), persistent ones keep their state."""
    states = [instance_state(o) for o in objects]
    if not preserve_order:
        states.sort(key=lambda st: (id(st.mapper), st.key is not None))
    i = 0
    while i < len(states):
        mapper = states[i].mapper
        is_update = states[i].key is not None
        j = i
        while j < len(states) and states[j].mapper is mapper and (
                states[j].key is not None) == is_update:
            j += 1
        group = states[i:j]
        i = j
        m = _mapper_of(mapper)
        if is_update:
            _save_updates(session, m, group, update_changed_only)
        else:
            _save_inserts(session, m, group, return_defaults)


def _object_values(mapper: Mapper, state: InstanceState, keys: Iterable[str]) -> dict[str, Any]:
    d = state.strong_obj().__dict__
    return {k: d[k] for k in keys if k in d}


def _save_inserts(session: SessionBase, mapper: Mapper, states: list[InstanceState],
                  return_defaults: bool) -> None:
    if is_joined(mapper):  # a row in each of the class's tables, base first
        _save_joined_inserts(session, mapper, states, return_defaults)
        return
    keys = [k for k in mapper.column_attrs.keys() if k in _columns(mapper).key_of]
    rows = [_object_values(mapper, st, keys) for st in states]
    params = _insert_params(mapper, rows, False, "bulk_save_objects()")
    got = _in_bulk_transaction(session, mapper,
                               lambda conn: _insert_rows(conn, mapper, params, return_defaults))
    if return_defaults:
        _give_keys(session, mapper, states, _columns(mapper).pk_attrs, got)


def _save_joined_inserts(session: SessionBase, mapper: Mapper, states: list[InstanceState],
                         return_defaults: bool) -> None:
    rows = [_object_values(mapper, st, mapper.column_attrs.keys()) for st in states]
    bind = session.get_bind(mapper)
    work, _r = _in_bulk_transaction(session, mapper, lambda conn: insert_joined_rows(
        session, mapper, rows, False, bind, {}))
    if not return_defaults:
        return
    # every key attribute the inserts filled in (the base key and each table's copy of it)
    filled = [k for k in mapper.column_attrs.keys() if any(k not in r for r in rows)]
    pk_attrs = _key_attrs(mapper)
    for st, done in zip(states, work, strict=True):
        d = st.strong_obj().__dict__
        for a in filled:
            if a in done and a not in d:
                d[a] = done[a]
    _give_keys(session, mapper, states, pk_attrs,
               [tuple(done.get(a) for a in pk_attrs) for done in work])


def _key_attrs(mapper: Mapper) -> list[str]:
    """The attributes of ``mapper``'s primary key (its identity), in key order."""
    return [mapper._col_to_prop[c].key for c in mapper.primary_key]


def _give_keys(session: SessionBase, mapper: Mapper, states: list[InstanceState],
               pk_attrs: list[str], got: list[tuple[Any, ...] | None]) -> None:
    """New objects saved with ``return_defaults``: their primary key, and (a whole key)
    their identity."""
    token = session._default_identity_token()
    for st, key in zip(states, got, strict=True):
        if key is not None:
            d = st.strong_obj().__dict__
            for a, v in zip(pk_attrs, key, strict=True):
                d[a] = v
            if all(v is not None for v in key):
                # its row exists now: detached, so that the next bulk_save_objects()
                # or add() UPDATEs it instead of inserting it again
                st.key = (mapper._identity_class, tuple(key), token)
                st.commit_all()


def _save_updates(session: SessionBase, mapper: Mapper, states: list[InstanceState],
                  update_changed_only: bool) -> None:
    cols = _columns(mapper)
    joined = is_joined(mapper)
    if joined:  # the key is the base table's; the columns are every table's
        pk_attrs = _key_attrs(mapper)
        every = list(mapper.column_attrs.keys())
    else:
        pk_attrs = cols.pk_attrs
        every = [k for k in mapper.column_attrs.keys() if k in cols.key_of]
    rows = []
    for st in states:
        if update_changed_only:
            changed = [k for k in st.committed_state if k in mapper.column_attrs]
            keys = [*pk_attrs, *[k for k in changed if k not in pk_attrs]]
        else:
            keys = every
        row = _object_values(mapper, st, keys)
        ident = st.key[1] if st.key is not None else ()
        for a, v in zip(pk_attrs, ident, strict=False):
            row.setdefault(a, v)
        rows.append(row)
    if joined:  # an UPDATE for each table with changed columns
        bind = session.get_bind(mapper)
        _in_bulk_transaction(session, mapper, lambda conn: update_by_pk_joined(
            session, mapper, rows, bind, {}, {"autoflush": False}))
        return
    params = _update_params(mapper, rows, "bulk_save_objects()")
    _in_bulk_transaction(session, mapper, lambda conn: _update_rows(conn, mapper, params))
