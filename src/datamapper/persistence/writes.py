"""INSERT, UPDATE and DELETE of one mapper's states, batched: the SQL side.

Callers: the unit-of-work executor.  :mod:`.records` turns the states into
parameter records grouped by the shape of their statement (the set of columns
written, whether SQL expressions are embedded); each function here runs each
group as one executemany call (through the driver where :mod:`.driver` can),
checks the row counts, and reports what the database assigned (generated
keys, defaults, versions) back into the objects' ``__dict__``.  Attributes
whose final value only the database knows (server defaults, embedded SQL
expressions) are returned as *expired* keys.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select, tuple_

from .._util import NO_VALUE, describe
from ..exc import FlushError, SAWarning, StaleDataError
from ..instance.state import InstanceState
from ..mapping.mapper import Mapper
from .driver import driver_insert_returning, driver_rowcount
from .records import (
    PK_PREFIX,
    VERSION_PARAM,
    Record,
    Shape,
    TablePlan,
    by_shape,
    delete_records,
    group_rank,
    insert_records,
    post_update_records,
    switch_record,
    table_plan,
    tuple_params,
    tuple_shape,
    update_groups,
    update_records,
    where_key,
)


# -- INSERT -------------------------------------------------------------------------
def insert_states(
    mapper: Mapper,
    states: Sequence[InstanceState],
    conn: Connection,
    replaced: list[tuple[InstanceState, str, Any]] | None = None,
    generated: list[tuple[list[InstanceState], list[str]]] | None = None,
) -> dict[InstanceState, set[str]]:
    """INSERT ``states``; return the keys each state must expire afterwards.

    A primary key given as a SQL expression is written inside the statement and
    its value read back (RETURNING); ``replaced`` receives (state, attribute,
    expression) for each such key whose value now stands in the object.
    ``generated`` receives, before each statement runs, (states, key attributes)
    for the key columns the database generates for those states.
    """
    plan = table_plan(mapper)
    version_key = plan.version_key
    zero_guard = _zero_becomes_autoincrement(conn, plan)
    groups, server_versions = insert_records(mapper, plan, states, zero_guard, True)
    tuples_of = tuple_shape(plan, zero_guard)
    expire: dict[InstanceState, set[str]] = {}
    # groups in an order fixed by their shape, not by the order objects were added
    for (keys, expr_keys), rows in sorted(groups.items(), key=group_rank):
        # the records of the tuple shape hold value tuples in ``keys`` order
        tuples = tuples_of is not None and (keys, expr_keys) == tuples_of
        given = set(keys)
        missing_pk = [c for c in plan.pk if c.key not in given and
                      not (expr_keys and c.key in expr_keys)]
        to_expire = {plan.col_to_attr[ck] for ck in plan.server_generated
                     if ck not in given and plan.col_to_attr.get(ck) not in plan.pk_keys}
        if expr_keys:
            to_expire |= {plan.col_to_attr[ck] for ck in expr_keys}
        if generated is not None and missing_pk:
            generated.append((list(map(_state_of, rows)),
                              [plan.col_to_attr[c.key] for c in missing_pk]))
        if expr_keys or (missing_pk and not _can_batch_returning(conn, plan, missing_pk)):
            _insert_one_by_one(conn, plan, tuple_params(keys, rows) if tuples else rows,
                               expr_keys, missing_pk, to_expire, expire, replaced)
        elif missing_pk:
            _insert_returning(conn, plan, rows, missing_pk, to_expire, expire,
                              keys if tuples else None)
        else:
            _insert_batch(conn, plan, tuple_params(keys, rows) if tuples else rows,
                          to_expire, expire)
    if server_versions:
        read_server_versions(conn, plan, server_versions, "INSERT")
        for state in server_versions:
            vkeys = expire.get(state)
            if vkeys and version_key in vkeys:
                expire[state] = vkeys - {version_key}
    return expire


_state_of = operator.itemgetter(0)  # (of a record)


def _insert_one_by_one(conn: Connection, plan: TablePlan, rows: list[Record],
                       expr_keys: tuple[str, ...] | None, missing_pk: list[Any],
                       to_expire: set[str], expire: dict[InstanceState, set[str]],
                       replaced: list[tuple[InstanceState, str, Any]] | None) -> None:
    """One INSERT per row: SQL expressions, or keys generated without a batch RETURNING."""
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


def _insert_batch(conn: Connection, plan: TablePlan, rows: list[Record],
                  to_expire: set[str], expire: dict[InstanceState, set[str]]) -> None:
    """One executemany of rows whose keys are all given."""
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


def _evaluate_sql_keys(conn: Connection, plan: TablePlan, state: InstanceState,
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


def _returned_keys(plan: TablePlan, state: InstanceState, exprs: dict[str, Any], row: Any,
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


def _insert_with_sql_key(conn: Connection, plan: TablePlan, state: InstanceState,
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


def _zero_becomes_autoincrement(conn: Connection, plan: TablePlan) -> str | None:
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


def _can_batch_returning(conn: Connection, plan: TablePlan, missing_pk: list[Any]) -> bool:
    dialect = conn.dialect
    if not getattr(dialect, "insert_executemany_returning", False):
        return False
    if len(missing_pk) != 1 or missing_pk[0] is not plan.autoinc:
        return False
    return True


def _insert_returning(
    conn: Connection,
    plan: TablePlan,
    rows: list[tuple[InstanceState, dict[str, Any], Any]],
    missing_pk: list[Any],
    to_expire: set[str],
    expire: dict[InstanceState, set[str]],
    tuple_keys: tuple[str, ...] | None = None,
) -> None:
    """Batched INSERT ... RETURNING of a database-generated integer key.

    Where Core can order RETURNING rows by parameter position it does so.
    SQLite gives no such promise, but assigns each new rowid as one more than
    the largest in the table while the statement holds the write lock, so the
    generated keys ascend in VALUES order: sorting by key restores it.

    ``tuple_keys``: the records hold value tuples of these columns (see
    :func:`.records.insert_records`), not dictionaries.
    """
    col = missing_pk[0]
    dialect = conn.dialect
    sortable = getattr(dialect, "insert_executemany_returning_sort_by_parameter_order", False)
    if sortable and dialect.name != "sqlite":
        stmt = plan.insert_returning(col, True)
        result = conn.execute(stmt, _params_list(rows, tuple_keys))
        keys = result.scalars().all()
    else:
        stmt = plan.insert_returning(col, False)
        if tuple_keys is not None:
            direct = driver_insert_returning(conn, plan.driver_cache, stmt, None,
                                             (tuple_keys, [v for _s, v, _e in rows]))  # type: ignore[misc]
        else:
            direct = driver_insert_returning(conn, plan.driver_cache, stmt,
                                             [p for _s, p, _e in rows])
        if direct is not None:
            keys = sorted(direct)
            result = None
        else:
            result = conn.execute(stmt, _params_list(rows, tuple_keys))
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


def _params_list(rows: list[Record], tuple_keys: tuple[str, ...] | None
                 ) -> list[dict[str, Any]]:
    """The parameter dictionaries of INSERT records (made from value tuples when the
    records hold those: ``tuple_keys``)."""
    if tuple_keys is None:
        return [p for _s, p, _e in rows]
    return [dict(zip(tuple_keys, v, strict=True)) for _s, v, _e in rows]


def _apply_insert_result(
    plan: TablePlan,
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


# -- UPDATE -------------------------------------------------------------------------
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
    vk = plan.version_key
    refetch: list[InstanceState] = []
    tuple_shapes: set[Shape] = set()
    if vk is None:
        groups, tuple_shapes = update_groups(mapper, plan, states)
    else:
        records = update_records(mapper, plan, states)
        if records:
            refetch = _version_params(conn, plan, mapper.version_id_generator, records)
        # (a version counter's parameters are added to some records only: no fixed order)
        groups = by_shape(records)
    expire: dict[InstanceState, set[str]] = {}
    # columns the database changes on UPDATE: expired (a server-set version is read
    # back); a SQL-expression onupdate (func.now()) is computed in the statement too
    post = _database_onupdate_keys(plan)
    if vk is not None and mapper.version_id_generator is False:
        post.discard(vk)
    for shape, rows in groups.items():
        keys, expr_keys = shape
        if expr_keys:  # (the expressions' columns are expired, not read back)
            _update_with_exprs(conn, plan, rows, expr_keys, expire, replaced)
            continue
        _update_batch(conn, plan, rows, keys if shape in tuple_shapes else None)
        if post:
            for state, _p, _e in rows:
                expire.setdefault(state, set()).update(post)
    if refetch:
        read_server_versions(conn, plan, refetch, "UPDATE")
    return expire


def _database_onupdate_keys(plan: TablePlan) -> set[str]:
    """Attributes of the columns the database sets on every UPDATE (a server onupdate,
    or an onupdate evaluated in the statement): expired after one."""
    return {plan.col_to_attr[c.key] for c in plan.table.columns
            if c.key in plan.col_to_attr and (
                c.server_onupdate is not None or _sql_onupdate(c))}


def _sql_onupdate(col: Any) -> bool:
    """The column's ``onupdate`` is evaluated by the database (a SQL expression or a
    bound parameter), not by Core in Python before the statement."""
    gen = col.onupdate
    return gen is not None and not (getattr(gen, "is_scalar", False)
                                    or getattr(gen, "is_callable", False))


def _update_with_exprs(conn: Connection, plan: TablePlan, rows: list[Record],
                       expr_keys: tuple[str, ...], expire: dict[InstanceState, set[str]],
                       replaced: list[tuple[InstanceState, str, Any]] | None) -> None:
    """One UPDATE per row with SQL expressions (expired afterwards)."""
    pk_exprs = [c for c in plan.pk if c.key in expr_keys]
    for state, params, exprs in rows:
        assert exprs is not None  # the group's shape has expressions
        if pk_exprs:
            _update_with_sql_key(conn, plan, state, params, exprs, pk_exprs, replaced)
            if exprs:
                expire[state] = {plan.col_to_attr[ck] for ck in exprs}
            continue
        result = conn.execute(plan.update_stmt.values(**exprs), params)
        _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
        expire[state] = {plan.col_to_attr[ck] for ck in expr_keys}


def _update_batch(conn: Connection, plan: TablePlan, rows: list[Record],
                  tuple_keys: tuple[str, ...] | None = None) -> None:
    """One executemany of plain-value UPDATEs (one by one where a version must be
    checked per row and the driver's row count of an executemany is no sum).
    ``tuple_keys``: the records hold value tuples of these parameters (see
    :func:`.records.update_groups`)."""
    sane_multi = conn.dialect.supports_sane_multi_rowcount
    direct = False
    if len(rows) > 1 and not sane_multi and plan.version_col is not None:
        for state, params, _e in (rows if tuple_keys is None
                                  else tuple_params(tuple_keys, rows)):
            result = conn.execute(plan.update_stmt, params)
            _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
    else:
        if tuple_keys is not None:
            count = driver_rowcount(conn, plan.driver_cache, plan.update_stmt, None,
                                    (tuple_keys, [v for _s, v, _e in rows]))  # type: ignore[misc]
        else:
            count = driver_rowcount(conn, plan.driver_cache, plan.update_stmt,
                                    [p for _s, p, _e in rows])
        direct = count is not None
        if count is None:
            result = conn.execute(plan.update_stmt, _params_list(rows, tuple_keys))
            count = result.rowcount
        _check_rowcount(conn, plan, "UPDATE", len(rows), count,
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
    post = _database_onupdate_keys(plan)
    expire: dict[InstanceState, set[str]] = {}
    for state, ident, old_version in items:
        params, exprs, unset = switch_record(mapper, plan, state, ident, old_version)
        d = state.strong_obj().__dict__
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


def _update_with_sql_key(conn: Connection, plan: TablePlan, state: InstanceState,
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
    filled: dict[InstanceState, list[str]] | None = None,
) -> dict[InstanceState, set[str]]:
    """UPDATE only the given foreign-key values (cycle breaking, post_update).

    The table's ``onupdate``s apply, as to any UPDATE: values Core computes in Python
    are put into the objects (their keys into ``filled``, per state, when given);
    columns the database computes (SQL-expression and server onupdates) are returned
    as keys to expire, per state."""
    plan = table_plan(mapper)
    post = _database_onupdate_keys(plan)
    expire: dict[InstanceState, set[str]] = {}
    groups: dict[tuple[str, ...], list[tuple[InstanceState, dict[str, Any]]]] = {}
    records = post_update_records(plan, items)
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
        _take_onupdates(plan, result, rows, post, expire, filled)
    if refetch:
        read_server_versions(conn, plan, refetch, "UPDATE")
    return expire


def _take_onupdates(plan: TablePlan, result: Any,
                    rows: list[tuple[InstanceState, dict[str, Any]]], post: set[str],
                    expire: dict[InstanceState, set[str]],
                    filled: dict[InstanceState, list[str]] | None) -> None:
    """After a post-update UPDATE: the Python onupdate values Core computed for each
    row into its object; the database-computed columns to expire."""
    prefetch = [c.key for c in result.prefetch_cols() or ()
                if c.key in plan.col_to_attr and c.key != plan.version_colkey]
    compiled = result.context.compiled_parameters
    for i, (state, params) in enumerate(rows):
        if prefetch and i < len(compiled):
            d = state.strong_obj().__dict__
            for ck in prefetch:
                if ck not in params:
                    d[plan.col_to_attr[ck]] = compiled[i][ck]
                    if filled is not None:
                        filled.setdefault(state, []).append(plan.col_to_attr[ck])
        if post:
            given = {plan.col_to_attr.get(ck) for ck in params}
            expire.setdefault(state, set()).update(post - given)


# -- version counters ---------------------------------------------------------------
def _version_params(
    conn: Connection,
    plan: TablePlan,
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
    plan: TablePlan,
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
    found = _select_versions(conn, plan, [where_key(plan, items[i][1]) for i in unknown])
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
    conn: Connection, plan: TablePlan, states: Sequence[InstanceState], verb: str
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


_VERSION_CHUNK = 500


def _select_versions(
    conn: Connection, plan: TablePlan, keys: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """The version column of the rows with primary keys ``keys`` (NO_VALUE: no row)."""
    vcol = plan.version_col
    assert vcol is not None
    return [v if v is NO_VALUE else v[0] for v in _select_by_key(conn, plan, keys, [vcol])]


def read_generated(conn: Connection, plan: TablePlan,
                   expire: dict[InstanceState, set[str]]) -> dict[InstanceState, list[str]]:
    """``eager_defaults=True``: read the values the database gave the rows just written
    (server defaults, server onupdates, SQL expressions) into the objects instead of
    leaving them to load on access.  Takes the keys read out of ``expire``; returns them
    per state."""
    attr_col = {ak: ck for ak, ck, _c, _p, _d in plan.cols}
    groups: dict[tuple[str, ...], list[InstanceState]] = {}
    for state, keys in expire.items():
        mine = tuple(sorted(k for k in keys if k in attr_col and k not in plan.pk_keys))
        if mine:
            groups.setdefault(mine, []).append(state)
    out: dict[InstanceState, list[str]] = {}
    for akeys, states in groups.items():
        cols = [plan.table.c[attr_col[k]] for k in akeys]
        idents = [tuple(state.strong_obj().__dict__.get(ak) for ak in plan.pk_keys)
                  for state in states]
        for state, values in zip(states, _select_by_key(conn, plan, idents, cols),
                                 strict=True):
            if values is NO_VALUE:
                continue  # no row (a trigger removed it?): left expired
            d = state.strong_obj().__dict__
            d.update(zip(akeys, values, strict=True))
            state.loaded(akeys)
            rest = expire[state] - set(akeys)
            if rest:
                expire[state] = rest
            else:
                del expire[state]
            out[state] = list(akeys)
    return out


def _select_by_key(
    conn: Connection, plan: TablePlan, keys: Sequence[tuple[Any, ...]], cols: list[Any]
) -> list[Any]:
    """The values of ``cols`` (a tuple) of the rows with primary keys ``keys``
    (NO_VALUE: no row)."""
    pk = plan.pk
    n = len(pk)
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
        rows = conn.execute(select(*pk, *cols).where(cond)).all()
        if len(chunk) == 1:
            if rows:
                by_key[chunk[0]] = tuple(rows[0][n:])
            continue
        for row in rows:
            by_key[tuple(row[:n])] = tuple(row[n:])
    out = []
    for k in keys:
        v = by_key.get(k, NO_VALUE)
        if v is NO_VALUE and len(distinct) > 1:
            # the database may match keys Python sees as different (collations, types)
            v = _select_by_key(conn, plan, [k], cols)[0]
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
    params_list = delete_records(plan, states)
    if plan.version_key is not None and params_list:
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
    actual = driver_rowcount(conn, plan.driver_cache, plan.delete_stmt, params_list)
    if actual is None:
        actual = conn.execute(plan.delete_stmt, params_list).rowcount
    if (db_cascaded and actual is not None and 0 <= actual < len(params_list)
            and not _still_present(conn, plan, params_list)):
        return  # the missing rows went with their parent (ON DELETE CASCADE)
    _check_rowcount(conn, plan, "DELETE", len(params_list), actual, list(states),
                    len(params_list) == 1 or sane_multi)


def _still_present(conn: Connection, plan: TablePlan, params_list: list[dict[str, Any]]
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
    plan: TablePlan,
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
