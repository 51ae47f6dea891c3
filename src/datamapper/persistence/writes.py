"""INSERT, UPDATE and DELETE of one mapper's states, batched.

Callers: the unit-of-work executor.  Each function groups records by the
shape of their statement (the set of columns written, whether SQL
expressions are embedded) so that each group is one executemany call, and
reports what the database assigned (generated keys, defaults) back into the
objects' ``__dict__``.  Attributes whose final value only the database knows
(server defaults, embedded SQL expressions) are returned as *expired* keys.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, tuple_
from sqlalchemy.sql.elements import ClauseElement

from .._util import NO_VALUE, describe
from ..exc import FlushError, SAWarning, StaleDataError
from ..instance.attributes import values_equal
from ..instance.state import LAZY_KEY, InstanceState
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from .driver import driver_executemany, driver_insert_returning

PK_PREFIX = "_dm_pk_"
VERSION_PARAM = "_dm_version"


class FlushRecordError(FlushError):
    """A state could not be turned into a row."""


def _is_sql(value: Any) -> bool:
    return isinstance(value, ClauseElement) or (
        hasattr(value, "__clause_element__") and not isinstance(value, type)
    )


class _TablePlan:
    """Per-mapper column facts used by the record builders (computed once)."""

    def __init__(self, mapper: Mapper) -> None:
        table = mapper.local_table
        self.table = table
        self.cols: list[tuple[str, str, Any, bool, bool]] = []
        pk_cols = set(mapper.primary_key)
        for prop in mapper._persist_props:
            for col in prop.columns:
                if col.table is not table:
                    continue
                has_default = (
                    col.default is not None
                    or col.server_default is not None
                    or (col in pk_cols and col is table.autoincrement_column)
                )
                self.cols.append((prop.key, col.key, col, col in pk_cols, has_default))
        self.pk = list(mapper.primary_key)
        self.pk_keys = list(mapper._pk_keys)
        self.pk_colkeys = [c.key for c in self.pk]
        self.partial_pks = mapper.allow_partial_pks
        self.confirm_deleted = mapper.confirm_deleted_rows
        self.autoinc = table.autoincrement_column
        self.col_to_attr = {ck: ak for ak, ck, _c, _p, _d in self.cols}
        # columns whose type binds None itself (should_evaluate_none): an explicit None
        # is sent, a value never set is left to the database
        self.eval_none = frozenset(
            ck for _ak, ck, c, _p, _d in self.cols if getattr(c.type, "should_evaluate_none", False))
        # a None for one of these non-key columns means "use the default": such a row
        # can't take the fast path that sends every value as it is
        self.none_means_default = any(
            d and not p and ck not in self.eval_none for _ak, ck, _c, p, d in self.cols)
        self.server_generated = {
            ck for _ak, ck, c, _p, _d in self.cols
            if c.server_default is not None or (c in pk_cols and c is table.autoincrement_column)
        }
        self.version_col = mapper.version_id_col
        self.version_key = mapper.version_id_prop.key if mapper.version_id_prop else None
        self.version_colkey = self.version_col.key if self.version_col is not None else ""
        self.where = and_(*[c == bindparam(PK_PREFIX + c.key) for c in self.pk])
        if self.version_col is not None:
            self.where = and_(self.where, self.version_col == bindparam(VERSION_PARAM))
        # fast paths of the record builders
        self.pk_params = [PK_PREFIX + ck for ck in self.pk_colkeys]
        # attr key -> ((column position, column key), ...), for the changed-attribute scan
        self.attr_pos: dict[str, tuple[tuple[int, str], ...]] = {}
        for i, (ak, ck, _c, _p, _d) in enumerate(self.cols):
            self.attr_pos[ak] = (*self.attr_pos.get(ak, ()), (i, ck))
        nonpk = [(ak, ck) for ak, ck, _c, is_pk, _d in self.cols if not is_pk]
        self.nonpk_colkeys = tuple(ck for _a, ck in nonpk)
        # every non-key attribute at once; KeyError when one has no value
        self.nonpk_getter: Any = (
            operator.itemgetter(*[ak for ak, _c in nonpk]) if len(nonpk) > 1 else None
        )
        self.single_pk_attr = self.pk_keys[0] if len(self.pk_keys) == 1 and len(
            [c for c in self.cols if c[3]]) == 1 else None
        self.update_stmt = table.update().where(self.where)
        self.delete_stmt = table.delete().where(self.where)
        self.insert_stmt = table.insert()
        # compiled UPDATE/DELETE forms for the driver fast path (see driver.py)
        self.driver_cache: dict[Any, Any] = {}


def table_plan(mapper: Mapper) -> _TablePlan:
    plan = _TABLE_PLAN.get(mapper)
    if plan is None:
        plan = _TABLE_PLAN.set(mapper, _TablePlan(mapper))
    return plan


_TABLE_PLAN: CacheSlot[_TablePlan] = CacheSlot("INSERT/UPDATE/DELETE plan of the table")


# -- INSERT -------------------------------------------------------------------------
def insert_states(
    mapper: Mapper,
    states: Sequence[InstanceState],
    conn: Connection,
    replaced: list[tuple[InstanceState, str, Any]] | None = None,
) -> dict[InstanceState, set[str]]:
    """INSERT ``states``; return the keys each state must expire afterwards.

    A primary key given as a SQL expression is written inside the statement and
    its value read back (RETURNING); ``replaced`` receives (state, attribute,
    expression) for each such key whose value now stands in the object.
    """
    plan = table_plan(mapper)
    groups: dict[tuple[Any, ...], list[tuple[InstanceState, dict[str, Any], dict[str, Any] | None]]]
    groups = {}
    version_key = plan.version_key
    zero_guard = _zero_becomes_autoincrement(conn, plan)
    fast = plan.nonpk_getter is not None and plan.single_pk_attr is not None
    fast_key = (plan.nonpk_colkeys, None)
    nonpk_getter = plan.nonpk_getter
    nonpk_colkeys = plan.nonpk_colkeys
    pk_attr = plan.single_pk_attr
    plain = _PLAIN
    none_default = plan.none_means_default
    eval_none = plan.eval_none
    fast_group: list[tuple[InstanceState, dict[str, Any], dict[str, Any] | None]] | None = None
    # version_id_generator=False: rows whose version the database sets, read back below
    server_versions: list[InstanceState] | None = (
        [] if version_key is not None and mapper.version_id_generator is False else None)
    for state in states:
        obj = state.obj()
        d = (obj if obj is not None else state.strong_obj()).__dict__
        if fast and version_key is None and zero_guard is None and d.get(pk_attr) is None:
            # the common shape: a generated key and a plain value for every other column
            try:
                vals = nonpk_getter(d)
            except KeyError:
                vals = None
            if vals is not None and plain.issuperset(map(type, vals)) and not (
                    none_default and None in vals):
                if fast_group is None:
                    fast_group = groups.setdefault(fast_key, [])
                fast_group.append((state, dict(zip(nonpk_colkeys, vals)), None))
                continue
        if zero_guard is not None and d.get(zero_guard) == 0 and d.get(zero_guard) is not False:
            raise FlushError(
                f"Can't INSERT {describe(state.obj())} with {zero_guard}=0: MySQL/MariaDB store "
                f"an explicit 0 in AUTO_INCREMENT column {plan.autoinc} as the next generated "
                "value, so the object would hold the wrong identity; use a non-zero key, leave "
                "it unset, or add NO_AUTO_VALUE_ON_ZERO to the server's sql_mode"
            )
        if version_key is not None and d.get(version_key) is None:
            if server_versions is None:
                d[version_key] = mapper.version_id_generator(None)
            else:
                server_versions.append(state)
        params: dict[str, Any] = {}
        exprs: dict[str, Any] | None = None
        for attr_key, col_key, _col, is_pk, has_default in plan.cols:
            v = d.get(attr_key, NO_VALUE)
            if v is NO_VALUE:
                if has_default or is_pk or col_key in eval_none:
                    continue
                v = None
            elif v is None and (is_pk or (has_default and col_key not in eval_none)):
                continue  # None where there is a default: the default applies
            elif v.__class__ not in _PLAIN and _is_sql(v):
                if exprs is None:
                    exprs = {}
                exprs[col_key] = v
                continue
            params[col_key] = v
        gkey = (tuple(params), tuple(exprs) if exprs else None)
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = []
        group.append((state, params, exprs))

    expire: dict[InstanceState, set[str]] = {}
    # groups in an order fixed by their shape, not by the order objects were added
    for (keys, expr_keys), rows in sorted(groups.items(), key=_group_rank):
        given = set(keys)
        missing_pk = [c for c in plan.pk if c.key not in given and
                      not (expr_keys and c.key in expr_keys)]
        to_expire = {plan.col_to_attr[ck] for ck in plan.server_generated
                     if ck not in given and plan.col_to_attr.get(ck) not in plan.pk_keys}
        if expr_keys:
            to_expire |= {plan.col_to_attr[ck] for ck in expr_keys}
        if expr_keys or (missing_pk and not _can_batch_returning(conn, plan, missing_pk)):
            pk_exprs = [c for c in plan.pk if expr_keys and c.key in expr_keys]
            for state, params, exprs in rows:
                if pk_exprs:
                    assert exprs is not None  # the group's shape has the key expressions
                    keys = _insert_with_sql_key(conn, plan, state, params, exprs, pk_exprs,
                                                missing_pk, replaced)
                    row_expire = to_expire - keys
                    if row_expire:
                        expire[state] = row_expire
                    continue
                stmt = plan.insert_stmt.values(**exprs) if exprs else plan.insert_stmt
                result = conn.execute(stmt, params)
                pk = result.inserted_primary_key
                _apply_insert_result(plan, state, params, result, 0, pk, missing_pk)
                if to_expire:
                    expire[state] = to_expire
        elif missing_pk:
            _insert_returning(conn, plan, rows, missing_pk, to_expire, expire)
        else:
            params_list = [p for _s, p, _e in rows]
            result = conn.execute(plan.insert_stmt, params_list)
            prefetch = result.prefetch_cols()
            if prefetch:
                compiled = result.context.compiled_parameters
                for i, (state, _p, _e) in enumerate(rows):
                    d = state.strong_obj().__dict__
                    cp = compiled[i]
                    for c in prefetch:
                        ak = plan.col_to_attr.get(c.key)
                        if ak is not None:
                            d[ak] = cp[c.key]
            if to_expire:
                for state, _p, _e in rows:
                    expire[state] = to_expire
    if server_versions:
        read_server_versions(conn, plan, server_versions, "INSERT")
        for state in server_versions:
            keys = expire.get(state)
            if keys and version_key in keys:
                expire[state] = keys - {version_key}
    return expire


def _evaluate_sql_keys(conn: Connection, plan: _TablePlan, state: InstanceState,
                       params: dict[str, Any], exprs: dict[str, Any], pk_exprs: list[Any],
                       replaced: list[tuple[InstanceState, str, Any]] | None) -> set[str]:
    """Turn key expressions into values with one SELECT each, before the statement.

    For a database that cannot return the row of the statement (RETURNING): the
    value is computed in the flush's transaction and written as a plain value.
    """
    d = state.strong_obj().__dict__
    keys = set()
    for c in pk_exprs:
        expr = exprs.pop(c.key)
        value = conn.execute(select(expr)).scalar()
        if value is None:
            raise FlushError(
                f"Can't flush {describe(state.obj())}: the SQL expression given for primary "
                f"key column {c} evaluated to NULL; give an expression that yields a key"
            )
        params[c.key] = value
        ak = plan.col_to_attr[c.key]
        if replaced is not None:
            replaced.append((state, ak, d.get(ak)))
        d[ak] = value
        keys.add(ak)
    return keys


def _returned_keys(plan: _TablePlan, state: InstanceState, exprs: dict[str, Any], row: Any,
                   replaced: list[tuple[InstanceState, str, Any]] | None) -> set[str]:
    """Put the primary key a statement RETURNED into the object."""
    d = state.strong_obj().__dict__
    keys = set()
    for c, value in zip(plan.pk, row, strict=True):
        ak = plan.col_to_attr[c.key]
        if c.key in exprs and replaced is not None:
            replaced.append((state, ak, d.get(ak)))
        d[ak] = value
        keys.add(ak)
    return keys


def _insert_with_sql_key(conn: Connection, plan: _TablePlan, state: InstanceState,
                         params: dict[str, Any], exprs: dict[str, Any], pk_exprs: list[Any],
                         missing_pk: list[Any],
                         replaced: list[tuple[InstanceState, str, Any]] | None) -> set[str]:
    """INSERT one row whose primary key is (partly) a SQL expression; return the key
    attributes now known."""
    if not conn.dialect.insert_returning:
        keys = _evaluate_sql_keys(conn, plan, state, params, exprs, pk_exprs, replaced)
        stmt = plan.insert_stmt.values(**exprs) if exprs else plan.insert_stmt
        result = conn.execute(stmt, params)
        _apply_insert_result(plan, state, params, result, 0, result.inserted_primary_key,
                             missing_pk)
        return keys
    stmt = plan.insert_stmt.values(**exprs).returning(*plan.pk)
    result = conn.execute(stmt, params)
    row = result.first()
    if row is None:
        raise FlushError(
            f"Can't flush {describe(state.obj())}: the INSERT returned no primary key"
        )
    keys = _returned_keys(plan, state, exprs, row, replaced)
    _apply_insert_result(plan, state, params, result, 0, None, missing_pk)
    return keys


def _zero_becomes_autoincrement(conn: Connection, plan: _TablePlan) -> str | None:
    """The attribute whose explicit 0 the server would replace (MySQL family), if any."""
    if plan.autoinc is None or conn.dialect.name != "mysql":
        return None
    cache = conn.info.get("_dm_sql_mode")
    if cache is None:
        mode = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar() or ""
        cache = conn.info["_dm_sql_mode"] = str(mode)
    if "NO_AUTO_VALUE_ON_ZERO" in cache:
        return None
    return plan.col_to_attr.get(plan.autoinc.key)


def _group_rank(item: tuple[tuple[Any, ...], Any]) -> tuple[Any, ...]:
    (keys, expr_keys), _rows = item
    return (len(keys), tuple(sorted(keys)), tuple(sorted(expr_keys or ())))


_PLAIN = frozenset({int, str, float, bool, bytes, type(None)})


def _can_batch_returning(conn: Connection, plan: _TablePlan, missing_pk: list[Any]) -> bool:
    dialect = conn.dialect
    if not getattr(dialect, "insert_executemany_returning", False):
        return False
    if len(missing_pk) != 1 or missing_pk[0] is not plan.autoinc:
        return False
    return True


def _insert_returning(
    conn: Connection,
    plan: _TablePlan,
    rows: list[tuple[InstanceState, dict[str, Any], Any]],
    missing_pk: list[Any],
    to_expire: set[str],
    expire: dict[InstanceState, set[str]],
) -> None:
    """Batched INSERT ... RETURNING of a database-generated integer key.

    Where Core can order RETURNING rows by parameter position it does so.
    SQLite gives no such promise, but assigns each new rowid as one more than
    the largest in the table while the statement holds the write lock, so the
    generated keys ascend in VALUES order: sorting by key restores it.
    """
    col = missing_pk[0]
    dialect = conn.dialect
    sortable = getattr(dialect, "insert_executemany_returning_sort_by_parameter_order", False)
    params_list = [p for _s, p, _e in rows]
    if sortable and dialect.name != "sqlite":
        stmt = plan.insert_stmt.returning(col, sort_by_parameter_order=True)
        result = conn.execute(stmt, params_list)
        keys = result.scalars().all()
    else:
        stmt = plan.insert_stmt.returning(col)
        direct = driver_insert_returning(conn, plan.driver_cache, stmt, params_list)
        if direct is not None:
            keys = sorted(direct)
            result = None
        else:
            result = conn.execute(stmt, params_list)
            keys = sorted(result.scalars().all())
    if len(keys) != len(rows):
        raise FlushError(
            f"Can't match generated keys to rows for table {plan.table.name!r}: "
            f"{len(rows)} rows inserted but {len(keys)} keys returned"
        )
    prefetch = result.prefetch_cols() if result is not None else None
    ak = plan.col_to_attr[col.key]
    if not prefetch:
        for (state, _p, _e), key in zip(rows, keys, strict=True):
            obj = state.obj()
            (obj if obj is not None else state.strong_obj()).__dict__[ak] = key
        if to_expire:
            for state, _p, _e in rows:
                expire[state] = to_expire
        return
    assert result is not None
    compiled = result.context.compiled_parameters
    for i, (state, _p, _e) in enumerate(rows):
        d = state.strong_obj().__dict__
        d[ak] = keys[i]
        cp = compiled[i]
        for c in prefetch:
            a = plan.col_to_attr.get(c.key)
            if a is not None:
                d[a] = cp[c.key]
        if to_expire:
            expire[state] = to_expire


def _apply_insert_result(
    plan: _TablePlan,
    state: InstanceState,
    params: dict[str, Any],
    result: Any,
    index: int,
    pk: Any,
    missing_pk: list[Any],
) -> None:
    d = state.strong_obj().__dict__
    if pk is not None:
        for c, v in zip(plan.pk, pk, strict=False):
            if c.key not in params and v is not None:
                d[plan.col_to_attr[c.key]] = v
    for c in result.prefetch_cols() or ():
        ak = plan.col_to_attr.get(c.key)
        if ak is not None:
            d[ak] = result.context.compiled_parameters[index][c.key]
    for c in missing_pk:
        if d.get(plan.col_to_attr[c.key]) is None:
            if plan.partial_pks and any(d.get(k) is not None for k in plan.pk_keys):
                continue  # a partly NULL key is an identity (allow_partial_pks)
            raise FlushError(
                f"Can't flush {describe(state.obj())}: its primary key is NULL (the database "
                f"generated no value for column {c}); give it a value or make it autoincrement"
            )


def _null_key_error(plan: _TablePlan, state: InstanceState, ident: Any, verb: str) -> FlushError:
    col = next(c for c, v in zip(plan.pk, ident, strict=True) if v is None)
    return FlushError(
        f"Can't {verb} {describe(state.obj())} in table {plan.table.name}: its primary key "
        f"column {col} is NULL, and a row can't be found by NULL; give the row a key "
        "without NULLs (on the database, then reload the object)"
    )


# -- UPDATE -------------------------------------------------------------------------
def changed_params(
    mapper: Mapper, state: InstanceState, plan: _TablePlan
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]] | None:
    """The SET values and the WHERE key of a dirty state, or None if nothing changed."""
    cs = state._committed
    if not cs:
        return None
    obj = state.obj()
    d = (obj if obj is not None else state.strong_obj()).__dict__
    attr_pos = plan.attr_pos
    params: dict[str, Any] = {}
    exprs: dict[str, Any] | None = None
    last = -1
    in_order = True
    # only the changed attributes are looked at
    for attr_key, original in cs.items():
        pos = attr_pos.get(attr_key)
        if pos is None:
            continue
        current = d.get(attr_key, NO_VALUE)
        if current is NO_VALUE:
            current = None
        elif original is not NO_VALUE and (current is original or values_equal(current, original)):
            continue
        for i, col_key in pos:
            if i < last:
                in_order = False
            last = i
            if current.__class__ not in _PLAIN and _is_sql(current):
                if exprs is None:
                    exprs = {}
                exprs[col_key] = current
            else:
                params[col_key] = current
    if not params and not exprs:
        return None
    if not in_order:
        # table-plan order, so that equal change sets give equal statements
        params = _plan_order(plan, params)
        if exprs:
            exprs = _plan_order(plan, exprs)
    # the row is found by its identity: the key it was loaded or flushed with
    pk_params = plan.pk_params
    if state._key is LAZY_KEY and len(pk_params) == 1:
        return params, exprs, {pk_params[0]: state._ident}
    key = state.key
    if key is None:
        where = {p: d.get(ak) for p, ak in zip(pk_params, plan.pk_keys, strict=True)}
    elif len(pk_params) == 1:
        where = {pk_params[0]: key[1][0]}
    else:
        if None in key[1]:
            raise _null_key_error(plan, state, key[1], "UPDATE")
        where = dict(zip(pk_params, key[1], strict=True))
    return params, exprs, where


def _plan_order(plan: _TablePlan, values: dict[str, Any]) -> dict[str, Any]:
    return {ck: values[ck] for _ak, ck, _c, _p, _d in plan.cols if ck in values}


def update_states(
    mapper: Mapper,
    states: Iterable[InstanceState],
    conn: Connection,
    replaced: list[tuple[InstanceState, str, Any]] | None = None,
) -> dict[InstanceState, set[str]]:
    """UPDATE the changed columns of ``states``; return keys to expire per state.

    A primary key changed to a SQL expression is written inside the statement
    and its new value read back (RETURNING; where UPDATE cannot return, the
    expression is evaluated by a SELECT first); see :func:`insert_states` for
    ``replaced``.
    """
    plan = table_plan(mapper)
    groups: dict[tuple[Any, ...], list[tuple[InstanceState, dict[str, Any], Any]]] = {}
    vk = plan.version_key
    refetch: list[InstanceState] = []
    if vk is None:
        for state in states:
            ch = changed_params(mapper, state, plan)
            if ch is None:
                continue
            params, exprs, where = ch
            params.update(where)
            gkey = (tuple(params), tuple(exprs) if exprs else None)
            group = groups.get(gkey)
            if group is None:
                group = groups[gkey] = []
            group.append((state, params, exprs))
    else:
        records = []
        for state in states:
            # only a change of a column is written: a collection change alone is not,
            # and so does not move the version either
            ch = changed_params(mapper, state, plan)
            if ch is None:
                continue
            params, exprs, where = ch
            params.update(where)
            records.append((state, params, exprs))
        if records:
            refetch = _version_params(conn, plan, mapper.version_id_generator, records)
        for state, params, exprs in records:
            gkey = (tuple(params), tuple(exprs) if exprs else None)
            groups.setdefault(gkey, []).append((state, params, exprs))

    expire: dict[InstanceState, set[str]] = {}
    for (_keys, expr_keys), rows in groups.items():
        if expr_keys:
            pk_exprs = [c for c in plan.pk if c.key in expr_keys]
            for state, params, exprs in rows:
                if pk_exprs:
                    _update_with_sql_key(conn, plan, state, params, exprs, pk_exprs, replaced)
                    if exprs:
                        expire[state] = {plan.col_to_attr[ck] for ck in exprs}
                    continue
                result = conn.execute(plan.update_stmt.values(**exprs), params)
                _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
                expire[state] = {plan.col_to_attr[ck] for ck in expr_keys}
            continue
        params_list = [p for _s, p, _e in rows]
        sane_multi = conn.dialect.supports_sane_multi_rowcount
        direct = False
        if len(rows) > 1 and not sane_multi and plan.version_col is not None:
            for state, params, _e in rows:
                result = conn.execute(plan.update_stmt, params)
                _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
        else:
            fast = driver_executemany(conn, plan.driver_cache, plan.update_stmt, params_list)
            direct = fast is not None
            result = fast if fast is not None else conn.execute(plan.update_stmt, params_list)
            _check_rowcount(conn, plan, "UPDATE", len(rows), result.rowcount,
                            [s for s, _p, _e in rows], len(rows) == 1 or sane_multi)
        prefetch = (result.prefetch_cols() if not direct and (len(rows) == 1 or sane_multi)
                    else None)
        if prefetch:
            compiled = result.context.compiled_parameters
            for i, (state, _p, _e) in enumerate(rows):
                d = state.strong_obj().__dict__
                for c in prefetch:
                    ak = plan.col_to_attr.get(c.key)
                    if ak is not None and i < len(compiled):
                        d[ak] = compiled[i][c.key]
        post = [c for c in plan.table.columns if c.server_onupdate is not None]
        if post:
            keys = {plan.col_to_attr[c.key] for c in post if c.key in plan.col_to_attr}
            if vk is not None and mapper.version_id_generator is False:
                keys.discard(vk)  # read back below, not expired
            for state, _p, _e in rows:
                expire.setdefault(state, set()).update(keys)
    if refetch:
        read_server_versions(conn, plan, refetch, "UPDATE")
    return expire


def switch_states(
    mapper: Mapper,
    items: Sequence[tuple[InstanceState, tuple[Any, ...], Any]],
    conn: Connection,
) -> dict[InstanceState, set[str]]:
    """Row switch: UPDATE the row of a deleted object with a new object's values.

    ``items`` are (new state, primary key of the row, the deleted object's version
    or None).  The columns the new object holds a value for are written; the
    others keep the row's values and are returned as keys to expire, with the
    columns written as SQL expressions and those with a server onupdate.
    """
    plan = table_plan(mapper)
    vk = plan.version_key
    post = {plan.col_to_attr[c.key] for c in plan.table.columns
            if c.server_onupdate is not None and c.key in plan.col_to_attr}
    expire: dict[InstanceState, set[str]] = {}
    for state, ident, old_version in items:
        d = state.strong_obj().__dict__
        params: dict[str, Any] = {}
        exprs: dict[str, Any] = {}
        unset: set[str] = set()
        for attr_key, col_key, _col, is_pk, _has_default in plan.cols:
            if is_pk or attr_key == vk:
                continue
            v = d.get(attr_key, NO_VALUE)
            if v is NO_VALUE:
                unset.add(attr_key)
            elif v.__class__ not in _PLAIN and _is_sql(v):
                exprs[col_key] = v
            else:
                params[col_key] = v
        if vk is not None:
            new_version = mapper.version_id_generator(old_version)
            params[plan.version_col.key] = new_version  # type: ignore[union-attr]
            params[VERSION_PARAM] = old_version
            d[vk] = new_version
        if not params and not exprs:
            # nothing to write: the key columns to themselves, so the row is still
            # looked for (and its absence reported)
            params = {ck: v for ck, v in zip(plan.pk_colkeys, ident, strict=True)}
        params.update(zip(plan.pk_params, ident, strict=True))
        stmt = plan.update_stmt.values(**exprs) if exprs else plan.update_stmt
        result = conn.execute(stmt, params)
        _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
        for c in result.prefetch_cols() or ():
            ak = plan.col_to_attr.get(c.key)
            if ak is not None:
                d[ak] = result.context.compiled_parameters[0][c.key]
                unset.discard(ak)
        keys = unset | {plan.col_to_attr[ck] for ck in exprs} | post
        if keys:
            expire[state] = keys
    return expire


def _update_with_sql_key(conn: Connection, plan: _TablePlan, state: InstanceState,
                         params: dict[str, Any], exprs: dict[str, Any], pk_exprs: list[Any],
                         replaced: list[tuple[InstanceState, str, Any]] | None) -> None:
    """UPDATE one row whose primary key changes to a SQL expression.

    On return the object holds the new key and ``exprs`` the non-key expressions
    (to be expired).
    """
    if not conn.dialect.update_returning:
        _evaluate_sql_keys(conn, plan, state, params, exprs, pk_exprs, replaced)
        stmt = plan.update_stmt.values(**exprs) if exprs else plan.update_stmt
        result = conn.execute(stmt, params)
        _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
        return
    result = conn.execute(plan.update_stmt.values(**exprs).returning(*plan.pk), params)
    rows = result.all()
    _check_rowcount(conn, plan, "UPDATE", 1, len(rows), [state], True)
    _returned_keys(plan, state, exprs, rows[0], replaced)
    for c in plan.pk:
        exprs.pop(c.key, None)


def post_update_states(
    mapper: Mapper,
    items: Sequence[tuple[InstanceState, dict[str, Any]]],
    conn: Connection,
) -> None:
    """UPDATE only the given foreign-key values (cycle breaking, post_update)."""
    plan = table_plan(mapper)
    groups: dict[tuple[str, ...], list[tuple[InstanceState, dict[str, Any]]]] = {}
    records = []
    for state, values in items:
        d = state.strong_obj().__dict__
        params = dict(values)
        for ak, ck in zip(plan.pk_keys, plan.pk_colkeys, strict=True):
            params[PK_PREFIX + ck] = d.get(ak)
        records.append((state, params))
    refetch: list[InstanceState] = []
    vk = plan.version_key
    if vk is not None:
        # checked like any UPDATE; a row that existed before this flush also moves
        # to its next version (a row INSERTed in this flush keeps its first one)
        generator = mapper.version_id_generator
        missing = [(st, p) for st, p in records if vk not in st.strong_obj().__dict__]
        if missing:
            committed_versions(conn, plan, missing, "UPDATE")  # loads them
        for state, params in records:
            d = state.strong_obj().__dict__
            params[VERSION_PARAM] = d[vk]
            if state._key is None:
                continue
            if generator is False:
                refetch.append(state)
                continue
            new = generator(d[vk])
            params[plan.version_colkey] = new
            d[vk] = new
    for state, params in records:
        groups.setdefault(tuple(params), []).append((state, params))
    stmt = plan.table.update().where(plan.where)
    sane_multi = conn.dialect.supports_sane_multi_rowcount
    for rows in groups.values():
        if len(rows) > 1 and not sane_multi and vk is not None:
            for state, params in rows:
                result = conn.execute(stmt, params)
                _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
            continue
        result = conn.execute(stmt, [p for _s, p in rows])
        _check_rowcount(conn, plan, "UPDATE", len(rows), result.rowcount,
                        [s for s, _p in rows], len(rows) == 1 or sane_multi)
    if refetch:
        read_server_versions(conn, plan, refetch, "UPDATE")


# -- version counters ---------------------------------------------------------------
def _version_params(
    conn: Connection,
    plan: _TablePlan,
    generator: Any,
    records: list[tuple[InstanceState, dict[str, Any], Any]],
) -> list[InstanceState]:
    """Put the committed version (WHERE) and the next one (SET) into each UPDATE's
    parameters; return the states whose next version the database chooses."""
    vk = plan.version_key
    colkey = plan.version_colkey
    olds = committed_versions(conn, plan, [(st, p) for st, p, _e in records], "UPDATE")
    refetch = []
    for (state, params, _e), old in zip(records, olds, strict=True):
        params[VERSION_PARAM] = old
        if colkey in params:
            # the object was given its next version explicitly
            if params[colkey] is None:
                raise FlushError(
                    f"Can't UPDATE {describe(state.obj())}: its version attribute {vk!r} was "
                    f"set to None, and a row without a version can't be checked by the "
                    f"next UPDATE or DELETE; give it its next version (it is {old!r} now) "
                    "or leave the attribute alone"
                )
            continue
        if generator is False:
            refetch.append(state)
            continue
        new = generator(old)
        params[colkey] = new
        state.strong_obj().__dict__[vk] = new
    return refetch


def committed_versions(
    conn: Connection,
    plan: _TablePlan,
    items: Sequence[tuple[InstanceState, dict[str, Any]]],
    verb: str,
) -> list[Any]:
    """The version each row had when its object was loaded or last flushed.

    ``items`` pairs each state with the parameters of its statement (which hold
    the row's key under ``PK_PREFIX`` names).  A version that is not loaded (the
    object was expired by a commit, or the column is deferred) is read now, in the
    flush's transaction, and kept in the object as loaded.
    """
    vk = plan.version_key
    assert vk is not None
    out: list[Any] = []
    unknown: list[int] = []
    for i, (state, _p) in enumerate(items):
        cs = state._committed
        if cs is not None and vk in cs:
            old = cs[vk]  # NO_VALUE: set by hand while unloaded
        else:
            obj = state.obj()
            old = (obj if obj is not None else state.strong_obj()).__dict__.get(vk, NO_VALUE)
        if old is NO_VALUE:
            unknown.append(i)
        out.append(old)
    if not unknown:
        return out
    found = _select_versions(conn, plan, [_where_key(plan, items[i][1]) for i in unknown])
    gone = []
    for i, value in zip(unknown, found, strict=True):
        state = items[i][0]
        if value is NO_VALUE:
            gone.append(state)
            continue
        out[i] = value
        cs = state._committed
        if cs is not None and vk in cs:
            cs[vk] = value
        else:
            state.strong_obj().__dict__[vk] = value
            state.loaded((vk,))
    if gone:
        sample = ", ".join(describe(st.obj()) for st in gone[:3])
        more = "" if len(gone) <= 3 else f" and {len(gone) - 3} more"
        raise StaleDataError(
            f"Can't {verb} table {plan.table.name!r}: the row(s) of {sample}{more} are no "
            "longer in the database (deleted, or their key changed, by another transaction) "
            "so their version can't be checked. Roll back and reload them."
        )
    return out


def read_server_versions(
    conn: Connection, plan: _TablePlan, states: Sequence[InstanceState], verb: str
) -> None:
    """``version_id_generator=False``: read the versions the database gave the rows just
    written into the objects, for the WHERE of their next UPDATE or DELETE."""
    vk = plan.version_key
    assert vk is not None
    keys = []
    for state in states:
        d = state.strong_obj().__dict__
        ident = state.identity
        keys.append(tuple([d[ak] if ak in d else (ident[i] if ident else None)
                           for i, ak in enumerate(plan.pk_keys)]))
    found = _select_versions(conn, plan, keys)
    for state, value in zip(states, found, strict=True):
        if value is NO_VALUE or value is None:
            raise FlushError(
                f"Can't {verb} {describe(state.obj())}: version_id_generator=False means the "
                f"database sets version column {plan.version_col}, but after the {verb} it "
                "holds no version; give the column a server default and a trigger (or "
                "server_onupdate) that set it, or use a version_id_generator"
            )
        state.strong_obj().__dict__[vk] = value
        state.loaded((vk,))


def _where_key(plan: _TablePlan, params: dict[str, Any]) -> tuple[Any, ...]:
    return tuple([params[p] for p in plan.pk_params])


_VERSION_CHUNK = 500


def _select_versions(
    conn: Connection, plan: _TablePlan, keys: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """The version column of the rows with primary keys ``keys`` (NO_VALUE: no row)."""
    vcol = plan.version_col
    assert vcol is not None
    pk = plan.pk
    by_key: dict[tuple[Any, ...], Any] = {}
    distinct = list(dict.fromkeys(keys))
    for start in range(0, len(distinct), _VERSION_CHUNK):
        chunk = distinct[start:start + _VERSION_CHUNK]
        if len(chunk) == 1:
            cond: Any = and_(*[c == v for c, v in zip(pk, chunk[0], strict=True)])
        elif len(pk) == 1:
            cond = pk[0].in_([k[0] for k in chunk])
        else:
            cond = tuple_(*pk).in_(chunk)
        rows = conn.execute(select(*pk, vcol).where(cond)).all()
        if len(chunk) == 1:
            if rows:
                by_key[chunk[0]] = rows[0][-1]
            continue
        for row in rows:
            by_key[tuple(row[:-1])] = row[-1]
    out = []
    for k in keys:
        v = by_key.get(k, NO_VALUE)
        if v is NO_VALUE and len(distinct) > 1:
            # the database may match keys Python sees as different (collations, types)
            v = _select_versions(conn, plan, [k])[0]
            by_key[k] = v
        out.append(v)
    return out


# -- DELETE -------------------------------------------------------------------------
def delete_states(
    mapper: Mapper,
    states: Sequence[InstanceState],
    conn: Connection,
    db_cascaded: bool = False,
) -> None:
    """DELETE the rows of ``states`` in one executemany, checking the row count.

    ``db_cascaded``: an ON DELETE CASCADE foreign key may already have removed
    some of these rows (their parent row was deleted earlier in this flush, or
    in this very statement); fewer matched rows are then accepted when the
    missing rows are indeed gone.
    """
    plan = table_plan(mapper)
    params_list: list[dict[str, Any]] = []
    pk_params = plan.pk_params
    version_key = plan.version_key
    if version_key is None and len(pk_params) == 1:
        # the common shape: one key column, no version counter, keys known
        param = pk_params[0]
        if all(state._key is LAZY_KEY for state in states):
            params_list = [{param: state._ident} for state in states]
        else:
            keyed = [state.key for state in states]
            if None not in keyed:
                params_list = [{param: key[1][0]} for key in keyed]  # type: ignore[index]
    if not params_list:
        for state in states:
            d = state.strong_obj().__dict__
            key = state.key
            if key is not None:
                if None in key[1]:
                    raise _null_key_error(plan, state, key[1], "DELETE")
                p = dict(zip(pk_params, key[1], strict=True))
            else:
                p = {pp: d.get(ak) for pp, ak in zip(pk_params, plan.pk_keys, strict=True)}
            params_list.append(p)
        if version_key is not None and params_list:
            olds = committed_versions(conn, plan, list(zip(states, params_list, strict=True)),
                                      "DELETE")
            for p, old in zip(params_list, olds, strict=True):
                p[VERSION_PARAM] = old
    if not params_list:
        return
    sane_multi = conn.dialect.supports_sane_multi_rowcount
    if len(params_list) > 1 and not sane_multi and plan.version_col is not None:
        for state, p in zip(states, params_list, strict=True):
            result = conn.execute(plan.delete_stmt, p)
            if db_cascaded and result.rowcount == 0 and not _still_present(conn, plan, [p]):
                continue
            _check_rowcount(conn, plan, "DELETE", 1, result.rowcount, [state], True)
        return
    direct = driver_executemany(conn, plan.driver_cache, plan.delete_stmt, params_list)
    result = direct if direct is not None else conn.execute(plan.delete_stmt, params_list)
    actual = result.rowcount
    if (db_cascaded and actual is not None and 0 <= actual < len(params_list)
            and not _still_present(conn, plan, params_list)):
        return  # the missing rows went with their parent (ON DELETE CASCADE)
    _check_rowcount(conn, plan, "DELETE", len(params_list), actual, list(states),
                    len(params_list) == 1 or sane_multi)


def _still_present(conn: Connection, plan: _TablePlan, params_list: list[dict[str, Any]]
                   ) -> bool:
    """True when a row of ``params_list`` (DELETE parameters) still exists."""
    pk = plan.pk
    for i in range(0, len(params_list), 200):
        chunk = params_list[i:i + 200]
        cond = or_(*[and_(*[c == p[PK_PREFIX + c.key] for c in pk]) for p in chunk])
        if conn.execute(select(pk[0]).where(cond).limit(1)).first() is not None:
            return True
    return False


def _check_rowcount(
    conn: Connection,
    plan: _TablePlan,
    verb: str,
    expected: int,
    actual: int,
    states: list[InstanceState],
    trustworthy: bool,
) -> None:
    if not conn.dialect.supports_sane_rowcount:
        # the count means nothing, so nothing can be concluded from it
        if plan.version_col is not None:
            warnings.warn(
                f"Can't verify the version of the row(s) an {verb} of table "
                f"{plan.table.name!r} wrote: dialect {conn.dialect.name!r} does not report "
                f"how many rows an {verb} matched, so a row changed or deleted by another "
                "transaction goes unnoticed",
                SAWarning, stacklevel=2,
            )
        return
    if not trustworthy or actual == -1 or actual is None:
        return
    if actual == expected:
        return
    sample = ", ".join(describe(s.obj()) for s in states[:3])
    more = "" if len(states) <= 3 else f" and {len(states) - 3} more"
    if verb == "DELETE" and plan.version_col is None:
        # rows already gone are the outcome asked for: without a version counter
        # there is no stale state to protect, so the delete completes with a warning
        if plan.confirm_deleted:
            warnings.warn(
                f"DELETE from table {plan.table.name!r} matched {actual} of the {expected} "
                f"row(s) expected (objects {sample}{more}): the missing rows were deleted "
                "already, outside this flush; the objects are marked deleted anyway. Pass "
                "confirm_deleted_rows=False to the mapper to silence this warning.",
                SAWarning, stacklevel=2,
            )
        return
    raise StaleDataError(
        f"Can't {verb} table {plan.table.name!r}: expected to match {expected} row(s) but "
        f"matched {actual} (objects {sample}{more}); the rows were changed or deleted by "
        "another transaction since they were loaded. Roll back and reload them."
    )
