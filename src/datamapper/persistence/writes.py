"""UPDATE and DELETE of one mapper's states, batched: the SQL side.

Callers: the unit-of-work executor.  :mod:`.records` turns the states into
parameter records grouped by the shape of their statement (the set of columns
written, whether SQL expressions are embedded); each function here runs each
group as one executemany call (through the driver where :mod:`.driver` can),
checks the row counts, and reports what the database assigned (versions,
onupdate values) back into the objects' ``__dict__``.  Attributes whose final
value only the database knows (server onupdates, embedded SQL expressions) are
returned as *expired* keys.  New rows are written by :mod:`.inserts`; version
counters and values read back by :mod:`.readback`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from .._util import describe
from ..exc import SAWarning, StaleDataError
from ..instance.state import InstanceState
from ..mapping.mapper import Mapper
from .driver import driver_rowcount
from .inserts import can_return, evaluate_sql_keys, record_params, returned_keys
from .readback import committed_versions, read_server_versions, version_params
from .records import (
    PK_PREFIX,
    VERSION_PARAM,
    Record,
    Shape,
    TablePlan,
    by_shape,
    delete_keys,
    delete_records,
    post_update_records,
    switch_record,
    table_plan,
    tuple_params,
    update_groups,
    update_records,
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
    expression is evaluated by a SELECT first); see :func:`.inserts.insert_states` for
    ``replaced``.
    """
    plan = table_plan(mapper)
    if plan.key_cascaded and conn.dialect.name == "sqlite":
        plan = plan.uncascaded()  # (SQLite is not trusted with the cascade: see there)
    vk = plan.version_key
    refetch: list[InstanceState] = []
    tuple_shapes: set[Shape] = set()
    if vk is None:
        groups, tuple_shapes = update_groups(mapper, plan, states)
    else:
        records = update_records(mapper, plan, states)
        if records:
            refetch = version_params(conn, plan, mapper.version_id_generator, records)
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
                                    (tuple_keys, [v for _s, v, _e in rows]))  # type: ignore[misc]  # with tuple_keys the rows are tuple-shape records, params a value tuple (Record declares the dict form)
        else:
            count = driver_rowcount(conn, plan.driver_cache, plan.update_stmt,
                                    [p for _s, p, _e in rows])
        direct = count is not None
        if count is None:
            result = conn.execute(plan.update_stmt, record_params(rows, tuple_keys))
            count = result.rowcount
        if count != len(rows) or not conn.dialect.supports_sane_rowcount:
            # (the states are listed only for what _check_rowcount may say)
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
    if not can_return(conn, plan, "update"):
        evaluate_sql_keys(conn, plan, state, params, exprs, pk_exprs, replaced)
        stmt = plan.update_stmt.values(**exprs) if exprs else plan.update_stmt
        result = conn.execute(stmt, params)
        _check_rowcount(conn, plan, "UPDATE", 1, result.rowcount, [state], True)
        return
    result = conn.execute(plan.update_stmt.values(**exprs).returning(*plan.pk), params)
    rows = result.all()
    _check_rowcount(conn, plan, "UPDATE", 1, len(rows), [state], True)
    returned_keys(plan, state, exprs, rows[0], replaced)
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
    keys = delete_keys(plan, states)
    if keys is not None:
        # the usual DELETE by a one-column key of loaded objects: the driver's rows are
        # the key values themselves (no parameter dictionary per row)
        actual = driver_rowcount(conn, plan.driver_cache, plan.delete_stmt, None,
                                 ((plan.pk_params[0],), keys))
        if actual is not None:
            if len(keys) == actual and conn.dialect.supports_sane_rowcount:
                return
            param = plan.pk_params[0]
            _delete_counted(conn, plan, states, [{param: k} for (k,) in keys], actual,
                            db_cascaded)
            return
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
    _delete_counted(conn, plan, states, params_list, actual, db_cascaded)


def _delete_counted(conn: Connection, plan: TablePlan, states: Sequence[InstanceState],
                    params_list: list[dict[str, Any]], actual: int, db_cascaded: bool) -> None:
    """After the DELETE of ``params_list``: ``actual`` rows matched, checked."""
    sane_multi = conn.dialect.supports_sane_multi_rowcount
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
