"""INSERT of one mapper's states, batched: the SQL side of new rows.

Callers: the unit-of-work executor (through :func:`insert_states`) and the UPDATE
writer of :mod:`.writes` (a primary key given as a SQL expression is evaluated
the same way: :func:`evaluate_sql_keys`, :func:`returned_keys`).  :mod:`.records`
turns the states into parameter records grouped by the shape of their statement;
each group runs here as one executemany (an ``INSERT ... RETURNING`` of the
generated keys where the database assigns them, through :mod:`.driver` on
SQLite), and what the database assigned (keys, Python-side defaults) goes back
into the objects' ``__dict__``.  Attributes whose value only the database knows
(server defaults, SQL expressions) are returned as *expired* keys.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from .._util import describe
from ..exc import FlushError
from ..instance.state import InstanceState
from ..mapping.declarative import ATTRIBUTE_DEFAULTS
from ..mapping.mapper import Mapper
from .driver import driver_insert_returning
from .readback import read_server_versions
from .records import (
    Record,
    TablePlan,
    group_rank,
    insert_records,
    table_plan,
    tuple_params,
    tuple_shape,
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
    whole = getattr(mapper, "mapper", mapper)  # (a TablePart's mapper)
    if any(getattr(m.class_, ATTRIBUTE_DEFAULTS, None) for m in whole.self_and_descendants):
        _take_attribute_defaults(states, plan)
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


def evaluate_sql_keys(conn: Connection, plan: TablePlan, state: InstanceState,
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


def returned_keys(plan: TablePlan, state: InstanceState, exprs: dict[str, Any], row: Any,
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
    if not can_return(conn, plan, "insert"):
        keys = evaluate_sql_keys(conn, plan, state, params, exprs, pk_exprs, replaced)
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
    keys = returned_keys(plan, state, exprs, row, replaced)
    _apply_insert_result(plan, state, params, result, 0, None, missing_pk)
    return keys


def _take_attribute_defaults(states: Sequence[InstanceState], plan: TablePlan) -> None:
    """A mapped dataclass's field defaults that its constructor left with the
    attributes (see ``apply_dataclass``): the INSERT writes them (they may differ from
    the column's own default, as for a subclass's ``use_existing_column=True``), and
    the object holds them afterwards, as it holds the column defaults the INSERT wrote.
    A None given for such an attribute of this table means "the default" too, as it
    does for a column default."""
    none_is_default = {ak for ak, ck, _c, is_pk, has_default in plan.cols
                       if has_default and not is_pk and ck not in plan.eval_none}
    for state in states:
        obj = state.obj()
        if obj is None:
            obj = state.strong_obj()
        defaults = getattr(obj.__class__, ATTRIBUTE_DEFAULTS, None)
        if defaults:
            d = obj.__dict__
            for key, value in defaults.items():
                if value is not None and (key not in d or (
                        d[key] is None and key in none_is_default)):
                    d[key] = value


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


def can_return(conn: Connection, plan: TablePlan, verb: str) -> bool:
    """May the flush add RETURNING to an INSERT or UPDATE (``verb``) of the plan's
    table: the database can, and the Table was not made with
    ``implicit_returning=False``."""
    ok = conn.dialect.insert_returning if verb == "insert" else conn.dialect.update_returning
    return bool(ok) and getattr(plan.table, "implicit_returning", True) is not False


def _can_batch_returning(conn: Connection, plan: TablePlan, missing_pk: list[Any]) -> bool:
    dialect = conn.dialect
    if not getattr(dialect, "insert_executemany_returning", False) \
            or getattr(plan.table, "implicit_returning", True) is False:
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
        result = conn.execute(stmt, record_params(rows, tuple_keys))
        keys = result.scalars().all()
    else:
        stmt = plan.insert_returning(col, False)
        if tuple_keys is not None:
            direct = driver_insert_returning(conn, plan.driver_cache, stmt, None,
                                             (tuple_keys, [v for _s, v, _e in rows]))  # type: ignore[misc]  # with tuple_keys the rows are tuple-shape records, params a value tuple (Record declares the dict form)
        else:
            direct = driver_insert_returning(conn, plan.driver_cache, stmt,
                                             [p for _s, p, _e in rows])
        if direct is not None:
            keys = sorted(direct)
            result = None
        else:
            result = conn.execute(stmt, record_params(rows, tuple_keys))
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


def record_params(rows: list[Record], tuple_keys: tuple[str, ...] | None
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
