"""ORM-enabled INSERT, UPDATE and DELETE run by ``Session.execute()``.

Callers: ``Session.execute()`` for statements built on a mapped class
(``insert(User)``, ``update(User)``, ``delete(User)`` and the dialects' upsert
constructs; see :func:`..mapping.coercion.dml_mapper`).  The 1.x bulk methods
(``bulk_save_objects``, ``bulk_insert_mappings``, ``bulk_update_mappings``) are in
:mod:`.dml_bulk` (importable from here too), what the dictionaries mean in
:mod:`.dml_params`.

- ``insert(User)`` with a list of dictionaries: a batched INSERT.  Keys are
  mapped attribute names (column keys are accepted too); consecutive
  dictionaries with the same keys are one executemany; a ``None`` is left out
  (so column defaults apply) unless the ``render_nulls`` execution option is set.
- ``update(User)`` with a list of dictionaries: an UPDATE by primary key per
  dictionary, batched the same way; every dictionary must carry the whole key.
  Objects of the identity map with those keys take the new values.
- ``update(User).where(...).values(...)`` / ``delete(User).where(...)``: one
  statement; the session's objects follow ``synchronize_session`` (see
  :mod:`.bulk`).
- ``.returning(User, ...)`` gives objects through the identity map: an object
  already loaded keeps what it holds (an UPDATE's SET values reach it through
  ``synchronize_session``) and takes from the row only what it has not loaded,
  unless ``populate_existing`` is set; an INSERT's or UPDATE's rows become objects
  when the result is fetched; the objects of the rows a DELETE returned are deleted.

Every name and dictionary is checked before any SQL is sent; a refused
statement leaves the session as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from .._core import SimpleResultMetaData, dml_values_ordered
from ..exc import InvalidRequestError
from ..loading.criteria import criteria_for_target, statement_criteria
from ..mapping.coercion import (
    dml_has_multi_values,
    dml_multi_values,
    dml_returning,
    dml_values,
    dml_where,
    dml_with_multi_values,
    dml_with_values,
    statement_key,
)
from ..mapping.composite import expand_composite_dict
from ..mapping.mapper import Mapper, class_mapper
from ..persistence.driver import driver_executemany
from ..query.entities import refuse_star_with_others
from .bulk import (
    BulkContext,
    apply_values,
    can_return_keys,
    check_sync,
    class_criteria,
    criteria_tests,
    expire_values,
    expire_whole,
    mark_deleted,
    matching_states,
    onupdate_keys,
    resolve_values,
    states_of_keys,
    sync_onupdate,
    through_synonyms,
)
from .dml_bulk import bulk_insert_mappings as bulk_insert_mappings
from .dml_bulk import bulk_save_objects as bulk_save_objects
from .dml_bulk import bulk_update_mappings as bulk_update_mappings
from .dml_inherited import (
    insert_joined,
    is_joined,
    retarget,
    update_by_pk_joined,
    values_by_table,
)
from .dml_params import (
    _check_versioned,
    _columns,
    _groups,
    _insert_params,
    _update_params,
    _versioned,
    dml_strategy,
)
from .dml_returning import entity_states, object_result, returning_plan
from .results import OrmResult

if TYPE_CHECKING:
    from .base import SessionBase


# execution options that only this module reads (Core ignores them)
_ORM_OPTIONS = frozenset({"synchronize_session", "render_nulls", "populate_existing",
                          "autoflush", "dml_strategy"})


def _execute_many(session: SessionBase, mapper: Mapper, stmt: Any, batch: list[dict[str, Any]],
                  bind: Any, opts: dict[str, Any]) -> Any:
    """Execute ``stmt`` for every dictionary of ``batch`` (one key set): straight through
    the driver where the statement allows it (see persistence.driver), else by Core."""
    if (len(batch) > 1 and opts.keys() <= _ORM_OPTIONS
            and not (session._transaction is None and session.autocommit)):
        key = statement_key(stmt)
        if key is not None:
            caches = _columns(mapper).driver_caches
            cache = caches.get(key)
            if cache is None and len(caches) < 64:
                cache = caches[key] = {}
            if cache is not None:
                if session._tx_blocks or session._closed:
                    session._check_usable()
                conn = session._connection_for_bind(bind)
                try:
                    result = driver_executemany(conn, cache, stmt, batch)
                except DBAPIError as e:
                    session._statement_error(conn, e)
                    raise
                if result is not None:
                    return result
    return session._run(stmt, batch if len(batch) > 1 else batch[0], bind, opts)


def _expand_composites(mapper: Mapper, params: Any) -> Any:
    composites = _columns(mapper).composites
    if isinstance(params, dict):
        return params if composites.isdisjoint(params) else expand_composite_dict(mapper, params)
    if not _is_param_list(params):
        return params
    return [expand_composite_dict(mapper, d)
            if isinstance(d, dict) and not composites.isdisjoint(d) else d for d in params]


def _is_param_list(params: object) -> bool:
    return isinstance(params, (list, tuple)) and len(params) > 0


# -- Session.execute() of ORM DML ----------------------------------------------------------
def execute_orm_dml(session: SessionBase, stmt: Any, mapper: Mapper, params: Any,
                    opts: dict[str, Any], bind: Any, bind_kw: dict[str, Any] | None) -> Any:
    """Run an INSERT/UPDATE/DELETE built on ``mapper``'s class (see module doc)."""
    refuse_star_with_others(dml_returning(stmt))
    if not mapper.configured:
        mapper = class_mapper(mapper.class_)
    merged = {**stmt.get_execution_options(), **opts}
    sync = merged.get("synchronize_session", "auto")
    check_sync(sync)
    strategy = dml_strategy(stmt, mapper, merged.get("dml_strategy", "auto"), params)
    if bind is None:
        bind = session._bind_for(mapper, stmt, bind_kw)
    if strategy in ("raw", "core_only"):  # the statement as Core runs it, objects untouched
        if merged.get("autoflush", True):
            session._autoflush()
        return session._run(stmt, params, bind, opts)
    if params and _columns(mapper).composites:  # (each composite given as its columns)
        params = _expand_composites(mapper, params)
    if stmt.is_insert:
        if is_joined(mapper):  # (which refuses what can't be spread over its tables)
            return insert_joined(session, stmt, mapper, params, opts, merged, bind)
        return _insert(session, stmt, mapper, params, opts, merged, bind)
    if strategy == "bulk":
        return _update_by_pk(session, stmt, mapper, params, opts, merged, bind, sync)
    return _criteria_dml(session, stmt, mapper, params, opts, merged, bind, sync)


def _insert(session: SessionBase, stmt: Any, mapper: Mapper, params: Any, opts: dict[str, Any],
            merged: dict[str, Any], bind: Any) -> Any:
    render_nulls = bool(merged.get("render_nulls"))
    if _is_param_list(params):
        if dml_has_multi_values(stmt):
            raise InvalidRequestError(
                f"Can't INSERT {mapper.class_.__name__} with both a list of dictionaries and "
                "insert().values([...]): give the rows one way"
            )
        batches: list[list[dict[str, Any]]] | None = list(
            _groups(_insert_params(mapper, params, render_nulls, stmt=stmt)))
    else:
        batches = None
        if isinstance(params, dict):
            params = _insert_params(mapper, [params], True, "INSERT", stmt)[0]
    stmt = translate_values(mapper, stmt, "INSERT")
    returned, stmt = returning_plan(stmt)
    layout = returned.layout if returned is not None else None
    if merged.get("autoflush", True):
        session._autoflush()
    if batches is None:
        result = session._run(stmt, params, bind, opts)
        if layout is None:
            return result
        rows = list(result.fetchall())
    else:
        rows = []
        many_returning = getattr(bind.dialect, "insert_executemany_returning", False)
        result = None
        for batch in batches:
            if layout is not None and len(batch) > 1 and not many_returning:
                for p in batch:  # one statement per row where RETURNING can't be batched
                    rows.extend(session._run(stmt, p, bind, opts).fetchall())
                continue
            if layout is None:
                result = _execute_many(session, mapper, stmt, batch, bind, opts)
                continue
            result = session._run(stmt, batch if len(batch) > 1 else batch[0], bind, opts)
            if layout is not None:
                rows.extend(result.fetchall())
        if layout is None:
            return result
    assert returned is not None and layout is not None
    # (the statement's own execution options reach its eager loaders too)
    return _loaded_when_fetched(session, returned, rows, session._default_identity_token(),
                                merged)


def translate_values(mapper: Mapper, stmt: object, verb: str) -> Any:
    """``values(name=...)`` (also ``insert().values([{name: ...}, ...])``) given by
    attribute name or synonym where the column key differs: the statement with column
    keys; names that are not mapped columns are refused."""
    pairs = dml_values(stmt)
    multi = dml_multi_values(stmt)
    if not pairs and not multi:
        return stmt
    cols = _columns(mapper)
    changed = False

    def column_key(k: str) -> str:
        nonlocal changed
        ck = cols.key_of.get(k)
        if ck is None and k in mapper.synonyms:
            ck = cols.key_of.get(through_synonyms(mapper, k))
        if ck is None:
            raise InvalidRequestError(
                f"Can't {verb} {mapper.class_.__name__}: values() names {k!r}, which is "
                f"not a mapped column attribute; use the names "
                f"{', '.join(sorted(mapper.column_attrs.keys()))}"
            )
        if ck != k:
            changed = True
        return ck

    out = [(column_key(k) if isinstance(k, str) else k, v) for k, v in pairs]
    rows_out = [[{column_key(k) if isinstance(k, str) else k: v for k, v in row.items()}
                 if isinstance(row, dict) else row for row in rows] for rows in multi]
    if not changed:
        return stmt
    if out:
        stmt = dml_with_values(stmt, out)
    return dml_with_multi_values(stmt, rows_out) if rows_out else stmt


def _update_by_pk(session: SessionBase, stmt: Any, mapper: Mapper, params: Any, opts: dict[str, Any],
                  merged: dict[str, Any], bind: Any, sync: Any) -> Any:
    name = mapper.class_.__name__
    if dml_returning(stmt):
        raise InvalidRequestError(
            f"Can't use RETURNING in a bulk UPDATE of {name} by primary key (a list of "
            "dictionaries); drop .returning(), or update by criteria with "
            "update(...).where(...).values(...)"
        )
    pairs = dml_values(stmt)
    if pairs and dml_values_ordered(stmt):
        raise InvalidRequestError(
            f"Can't use ordered_values() in a bulk UPDATE of {name} by primary key (a list "
            "of dictionaries): bulk ORM UPDATE does not support ordered_values() for custom "
            "UPDATE statements, the dictionaries' values come first; use values(...)"
        )
    criteria = bool(dml_where(stmt))
    if is_joined(mapper):  # a table per level of the class: an UPDATE for each
        if criteria:
            raise InvalidRequestError(
                f"Can't add where() criteria to a bulk UPDATE of {name} by primary key: "
                f"{name} is stored in several tables, each updated by its own statement, "
                "which the criteria can't all be applied to; select the keys of the rows "
                "to change first, or update by criteria with update(...).where(...)"
                ".values(...)")
        rowcount = update_by_pk_joined(session, mapper, params, bind, opts, merged,
                                       values_by_table(mapper, stmt, "UPDATE"))
        if sync is not False and sync is not None:
            _sync_by_pk(session, mapper, params, resolve_values(mapper, pairs))
        session._fire("after_bulk_update", BulkContext(session, None, _Count(rowcount),
                                                       mapper, stmt))
        return _Count(rowcount)
    translated = _update_params(mapper, params, stmt=stmt)
    cols = _columns(mapper)
    base = cols.update_by_pk
    set_values: dict[str, Any] = {}
    if pairs:  # values() set for every row, beside each dictionary's own values
        set_values = resolve_values(mapper, pairs)
        base = base.values(dict(dml_values(translate_values(mapper, stmt, "UPDATE"))))
    for w in dml_where(stmt):
        base = base.where(w)
    if merged.get("autoflush", True):
        session._autoflush()
    rowcount = 0
    result = None
    for batch in _groups(translated):
        if not pairs and len(batch[0]) == len(cols.pk_colkeys):
            continue  # nothing to SET
        stmt_v, batch, versioned = _versioned(mapper, base, batch)
        result = _execute_many(session, mapper, stmt_v, batch, bind, opts)
        if versioned:
            _check_versioned(mapper, session.get_bind(mapper).dialect, result, len(batch))
        rowcount += max(result.rowcount, 0)
    if sync is not False and sync is not None:
        # with where() criteria a row named may not have been changed: what the
        # statement sets is expired there, to load from the row
        _sync_by_pk(session, mapper, params, set_values, maybe_unchanged=criteria)
    session._fire("after_bulk_update", BulkContext(session, None, _Count(rowcount), mapper,
                                                   stmt))
    return result if result is not None else _Count(0)


class _Count:
    """The result of a bulk UPDATE that ran as several batches (or none)."""

    returns_rows = False

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount

    def close(self) -> None:
        pass

    def all(self) -> list[Any]:
        return []


def _sync_by_pk(session: SessionBase, mapper: Mapper, rows: Sequence[dict[str, Any]],
                set_values: dict[str, Any] | None = None, maybe_unchanged: bool = False
                ) -> None:
    """Objects of the identity map whose keys an UPDATE by primary key named take the
    values it wrote (attributes with unflushed changes keep them); ``set_values``
    (attribute -> value of the statement's values(), for every row) are set where
    plain and expired where SQL.  ``maybe_unchanged`` (the statement had criteria
    besides the key): the values are expired instead, for the row may not have
    matched."""
    inner = session._identity_map.inner(mapper._identity_class,
                                        session._default_identity_token())
    if not inner:
        return
    cols = _columns(mapper)
    pk_attrs = cols.pk_attrs
    attr_of = {ck: ak for ak, ck in cols.key_of.items() if ak in mapper.column_attrs}
    single = len(pk_attrs) == 1
    auto = onupdate_keys(mapper)  # columns the UPDATE changed by itself (once, not per row)
    for d in rows:
        if cols.composites and not cols.composites.isdisjoint(d):
            d = expand_composite_dict(mapper, d)
        ident = tuple(d[k] if k in d else d.get(cols.key_of.get(k, k)) for k in pk_attrs)
        state = inner.get(ident[0] if single else ident)
        if state is None or state.obj() is None:
            continue
        values = {}
        for k, v in d.items():
            ak = k if k in mapper.column_attrs else attr_of.get(k)
            if ak is not None and ak not in pk_attrs:
                values[ak] = v
        if set_values:
            values = {**set_values, **values}
        if maybe_unchanged:
            expire_values([state], {**values, **auto})
            continue
        expired = state.expired_attributes
        apply_values([state], {k: v for k, v in values.items() if k not in expired})
        if auto:
            expire_values([state], {k: None for k in auto if k not in values})


def _dialect_name(bind: Any) -> str | None:
    dialect = getattr(bind, "dialect", None)
    return getattr(dialect, "name", None)


def _criteria_dml(session: SessionBase, stmt: Any, mapper: Mapper, params: Any, opts: dict[str, Any],
                  merged: dict[str, Any], bind: Any, sync: Any) -> Any:
    is_update = stmt.is_update
    crit = criteria_for_target(statement_criteria(stmt), mapper, mapper.persist_selectable)
    if crit:
        # with_loader_criteria() given to the statement's options() limits its rows too
        stmt = stmt.where(*crit)
    where = list(dml_where(stmt))
    values: dict[str, Any] = {}
    joined = is_joined(mapper)
    if is_update:
        if not joined:
            stmt = translate_values(mapper, stmt, "UPDATE")
        values = resolve_values(mapper, dml_values(stmt))
    if joined:  # the statement on the one table it changes
        stmt = retarget(mapper, stmt)
    # a list of dictionaries (dml_strategy="orm"): Core's executemany of the statement,
    # the session's objects matched for each dictionary
    param_sets = list(params) if isinstance(params, (list, tuple)) else [params]
    many = len(param_sets) > 1
    params = params if many else (param_sets[0] if param_sets else None)
    if many and dml_returning(stmt) and not getattr(
            getattr(bind, "dialect", None), f"{'update' if is_update else 'delete'}"
            "_executemany_returning", False):
        raise InvalidRequestError(
            f"Can't use RETURNING in this {'UPDATE' if is_update else 'DELETE'} of "
            f"{mapper.class_.__name__} run once per dictionary: the database can't "
            "return rows from an executemany; run it once per dictionary yourself, or "
            "drop .returning()")
    dialect_name = _dialect_name(bind)
    tested = [criteria_tests(mapper, where, sync, dialect_name, p) for p in param_sets]
    strategy = tested[0][0] if tested else None
    single = class_criteria(mapper)  # a single-table subclass: its rows only
    if single:  # (evaluate tests the class by isa())
        stmt = stmt.where(*single)
        where.extend(single)
    returned, stmt = returning_plan(stmt)
    layout = returned.layout if returned is not None else None
    if merged.get("autoflush", True):
        session._autoflush()
    token = session._default_identity_token()
    uncertain: list[Any] = []
    target = getattr(stmt, "table", None)
    if target is mapper.local_table or getattr(target, "element", None) is not \
            mapper.local_table:
        target = None  # (not an alias of the class's table: update(aliased(Class)))
    keys_returned = (strategy == "fetch" and returned is None and target is None and not many
                     and not joined and can_return_keys(session, stmt, mapper, bind, where))
    states: list[Any] = []
    if keys_returned:  # the statement itself says which rows it changed
        stmt = stmt.return_defaults(*mapper.primary_key)
    else:
        seen: set[int] = set()
        for p, (strat, tests) in zip(param_sets or [None], tested or [(None, None)]):
            for st in matching_states(session, mapper, where, strat, tests, token, p,
                                      uncertain=uncertain, target=target):
                if id(st) not in seen:
                    seen.add(id(st))
                    states.append(st)
    result = session._run(stmt, params, bind, opts)
    if keys_returned:
        states = states_of_keys(session, mapper, result, token, uncertain)
    rows = list(result.fetchall()) if returned is not None else None
    if is_update:
        # the matched objects take the SET values first; the returned rows (below) then
        # fill only what an object has not loaded (expired SQL values among it), unless
        # populate_existing lets them overwrite it
        apply_values(states, values)
        sync_onupdate(mapper, states, result, onupdate_keys(mapper, values))
        if uncertain:
            expire_values(uncertain, {**values, **onupdate_keys(mapper, values)})
        session._fire("after_bulk_update", BulkContext(session, None, result, mapper, stmt))
        if returned is not None and rows is not None:
            return _loaded_when_fetched(session, returned, rows, token, merged)
        return result
    objs = None
    if returned is not None and rows is not None:
        # DELETE ... RETURNING: the objects of the rows it removed are deleted too
        objs = returned.load(session, rows, False, token, merged)
        known = set(states)
        states.extend(s for s in entity_states(returned.layout, objs, mapper)
                      if s not in known)
    mark_deleted(session, states)
    expire_whole(uncertain)
    session._fire("after_bulk_delete", BulkContext(session, None, result, mapper, stmt))
    if objs is not None:
        assert layout is not None
        return object_result(layout, objs)
    return result


def _loaded_when_fetched(session: SessionBase, returned: Any, rows: list[Any], token: Any,
                         merged: dict[str, Any]) -> Any:
    """The result of INSERT/UPDATE ... RETURNING(Class): ``rows`` become objects when
    the caller fetches them (as a SELECT's would), through the identity map, refreshing
    loaded objects only with the ``populate_existing`` execution option."""
    layout = returned.layout
    populate = bool(merged.get("populate_existing"))

    def objects() -> Any:
        out._check_owner()
        loaded = returned.load(session, rows, populate, token, merged)
        if layout.single_entity:
            yield from loaded
        else:
            yield from (tuple(o) for o in loaded)

    out: Any = OrmResult(SimpleResultMetaData(layout.names), objects(),
                         _source_supports_scalars=layout.single_entity
                         ).guard(session, layout)
    return out


