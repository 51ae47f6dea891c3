"""Executemany of a compiled UPDATE/DELETE straight through the driver.

Callers: the UPDATE and DELETE writers.  For a batch of rows SQLAlchemy Core
spends most of its time turning each parameter dictionary into the driver's
parameter shape (``construct_params`` and the bind processors, per row).  Our
parameter dictionaries are already exactly the statement's bind names, so we
compile the statement once per (dialect, parameter names), remember the order
of the binds and their type processors, build the driver's parameter rows
ourselves and hand them to ``Connection.exec_driver_sql``.  That path goes
through the same connection, transaction, ``before_cursor_execute`` /
``after_cursor_execute`` events, error wrapping and dialect ``do_executemany``
as Core's own execution; only ``before_execute``/``after_execute`` are not
fired by it, so a connection that has listeners for those (or a
``schema_translate_map``) takes the ordinary Core path instead, as does any
statement whose compiled form needs more than plain named binds.  Where the
caller reads nothing but the row count (or an INSERT's RETURNING values) and
nothing of Core's execution would show at all (``_core.driver_write_ok``: no
statement events, no logging, no execution options), the rows go to the
driver's cursor without ``exec_driver_sql``'s execution context and result.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.expression import ClauseElement

from .._core import (
    BindTyping,
    bind_processors,
    driver_write,
    driver_write_ok,
    has_execute_listeners,
    insertmanyvalues,
    is_float_bind,
    plain_fetchall,
    report_dbapi_error,
)

_FLOAT_OR_NONE = frozenset({float, type(None)})
_first = operator.itemgetter(0)


class _DriverStatement:
    __slots__ = ("sql", "positional", "names", "getter", "procs")

    def __init__(self, sql: str, positional: bool, names: tuple[str, ...],
                 procs: tuple[tuple[int, str, Callable[[Any], Any]], ...]) -> None:
        self.sql = sql
        self.positional = positional
        self.names = names
        self.getter: Any = operator.itemgetter(*names) if len(names) > 1 else None
        self.procs = procs

    def rows(self, params_list: Sequence[dict[str, Any]]) -> list[Any]:
        """The driver's parameter rows for ``params_list``."""
        procs = self.procs
        if not self.positional:
            if not procs:
                return list(params_list)
            out = []
            for p in params_list:
                p = dict(p)
                for _i, name, fn in procs:
                    p[name] = fn(p[name])
                out.append(p)
            return out
        getter = self.getter
        if getter is None:
            name = self.names[0]
            rows: list[Any] = [(p[name],) for p in params_list]
        else:
            rows = [getter(p) for p in params_list]
        if procs:
            self._process(rows)
        return rows

    def _process(self, rows: list[Any]) -> None:
        """Apply the bind processors to positional ``rows``, in place."""
        procs = self.procs
        if any(is_float_bind(fn) for _i, _n, fn in procs):
            # Core's float processor gives a float (or None) back as it is: a column
            # holding only those needs no pass (checked over the column at once)
            procs = tuple(p for p in procs if not is_float_bind(p[2]) or not _FLOAT_OR_NONE
                          .issuperset(set(map(type, map(operator.itemgetter(p[0]), rows)))))
            if not procs:
                return
        for n, row in enumerate(rows):
            lst = list(row)
            for i, _name, fn in procs:
                lst[i] = fn(lst[i])
            rows[n] = tuple(lst)

    def tuple_rows(self, keys: tuple[str, ...], values: list[tuple[Any, ...]]) -> list[Any]:
        """The driver's parameter rows for ``values``, tuples of the parameters ``keys``
        (positional statements only)."""
        names = self.names
        if names == keys:
            rows = values if not self.procs else list(values)
        else:
            order = operator.itemgetter(*[keys.index(name) for name in names])
            rows = [order(v) for v in values] if len(names) > 1 \
                else [(order(v),) for v in values]
        if self.procs:
            self._process(rows)
        return rows


def _compile(conn: Connection, stmt: ClauseElement,
             keys: tuple[str, ...]) -> _DriverStatement | None:
    dialect = conn.dialect
    if dialect.bind_typing is BindTyping.SETINPUTSIZES:
        return None
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys))
    if (compiled.escaped_bind_names or compiled.post_compile_params
            or compiled.literal_execute_params or getattr(compiled, "insert_prefetch", None)
            or getattr(compiled, "update_prefetch", None) or compiled.returning):
        return None
    given = set(keys)
    if compiled.positional:
        names = tuple(compiled.positiontup)
    else:
        names = tuple(compiled.bind_names.values())
    if not names or not given.issuperset(names):
        return None  # a bind we do not supply (Core would fill in a default)
    if not compiled.positional and len(set(names)) != len(given):
        return None  # named style passes our dictionaries as they are: they must match
    processors = bind_processors(compiled)
    procs = tuple((i, name, processors[name]) for i, name in enumerate(names)
                  if name in processors)
    return _DriverStatement(compiled.string, bool(compiled.positional), names, procs)


def driver_executemany(
    conn: Connection,
    cache: dict[Any, Any],
    stmt: ClauseElement,
    params_list: Sequence[dict[str, Any]] | None,
    tuples: tuple[tuple[str, ...], list[tuple[Any, ...]]] | None = None,
) -> CursorResult[Any] | None:
    """Run ``stmt`` for every dictionary of ``params_list`` (all of one key set), or
    for every row of ``tuples`` (parameter names, a tuple of values per row).

    Returns None, having run nothing, when the statement or the connection
    needs Core's full execution path; the caller then uses ``conn.execute``.
    """
    prepared = _prepare_many(conn, cache, stmt, params_list, tuples)
    if prepared is None:
        return None
    return conn.exec_driver_sql(*prepared)


def driver_rowcount(
    conn: Connection,
    cache: dict[Any, Any],
    stmt: ClauseElement,
    params_list: Sequence[dict[str, Any]] | None,
    tuples: tuple[tuple[str, ...], list[tuple[Any, ...]]] | None = None,
) -> int | None:
    """:func:`driver_executemany` for a caller that reads nothing but the row count,
    which it returns: when nothing of Core's execution would show
    (``_core.driver_write_ok``) the rows go to the driver's cursor directly, without
    Core's per-execution set-up (execution context, cursor result)."""
    n_rows = len(tuples[1]) if tuples is not None else len(params_list or ())
    if not driver_write_ok(conn, n_rows):
        result = driver_executemany(conn, cache, stmt, params_list, tuples)
        return None if result is None else result.rowcount
    prepared = _prepare_many(conn, cache, stmt, params_list, tuples)
    if prepared is None:
        return None
    return driver_write(conn, *prepared)[0]


def _prepare_many(
    conn: Connection,
    cache: dict[Any, Any],
    stmt: ClauseElement,
    params_list: Sequence[dict[str, Any]] | None,
    tuples: tuple[tuple[str, ...], list[tuple[Any, ...]]] | None,
) -> tuple[str, list[Any]] | None:
    """The driver's SQL text of ``stmt`` and its parameter rows, or None."""
    if tuples is not None:
        if not tuples[1]:
            return None
        keys = tuples[0]
    elif params_list:
        keys = tuple(params_list[0])
    else:
        return None
    entry = _entry(conn, cache, "many", stmt, keys, _compile)
    if entry is None:
        return None
    if tuples is not None and not entry.positional:
        # a named paramstyle takes the dictionaries themselves
        params_list, tuples = [dict(zip(keys, v, strict=True)) for v in tuples[1]], None
    return entry.sql, _driver_rows(conn, entry, params_list, tuples)


def _driver_rows(conn: Connection, entry: _DriverStatement,
                 params_list: Sequence[dict[str, Any]] | None,
                 tuples: tuple[tuple[str, ...], list[tuple[Any, ...]]] | None = None
                 ) -> list[Any]:
    """``entry.rows(params_list)`` (or ``entry.tuple_rows(*tuples)``), with a failing
    bind processor (a value its column type refuses) reported the way Core reports it:
    a ``StatementError`` naming the statement and parameters, after the connection's
    ``handle_error`` listeners."""
    try:
        if tuples is not None:
            return entry.tuple_rows(*tuples)
        assert params_list is not None
        return entry.rows(params_list)
    except Exception as e:
        if tuples is not None:
            params_list = [dict(zip(tuples[0], v, strict=True)) for v in tuples[1]]
        report_dbapi_error(conn, e, entry.sql, list(params_list or ()))


def _entry(conn: Connection, cache: dict[Any, Any], kind: str, stmt: ClauseElement,
           keys: tuple[str, ...], compile_: Callable[..., Any]) -> Any:
    """The cached compiled form of ``stmt`` for this connection's dialect and the
    parameters' names ``keys``, or None when Core's full path is needed."""
    if has_execute_listeners(conn):
        return None
    if conn.get_execution_options().get("schema_translate_map"):
        return None
    ckey = (kind, conn.dialect, keys)
    if ckey in cache:
        return cache[ckey]
    entry = cache[ckey] = compile_(conn, stmt, keys)
    return entry


class _DriverInsert:
    __slots__ = ("stmt", "head", "row_sql", "tail", "per_page", "pages")

    def __init__(self, stmt: _DriverStatement, head: str, row_sql: str, tail: str,
                 per_page: int) -> None:
        self.stmt = stmt
        self.head = head
        self.row_sql = row_sql
        self.tail = tail
        self.per_page = per_page
        self.pages: dict[int, str] = {}

    def sql(self, n: int) -> str:
        """The statement text inserting ``n`` rows."""
        text = self.pages.get(n)
        if text is None:
            text = self.pages[n] = self.head + ", ".join([self.row_sql] * n) + self.tail
        return text


def _compile_insert(conn: Connection, stmt: ClauseElement,
                    keys: tuple[str, ...]) -> _DriverInsert | None:
    dialect = conn.dialect
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    imv = insertmanyvalues(compiled)
    if (imv is None or not compiled.positional or compiled.insert_prefetch
            or compiled.escaped_bind_names or compiled.post_compile_params
            or compiled.literal_execute_params or imv.sentinel_columns
            or imv.includes_upsert_behaviors or imv.embed_values_counter):
        return None
    names = tuple(compiled.positiontup)
    if not names or set(names) != set(keys) or len(names) != len(keys):
        return None
    row_sql = f"({imv.single_values_expr})"
    text: str = compiled.string
    if text.count(row_sql) != 1:
        return None
    head, tail = text.split(row_sql)
    processors = bind_processors(compiled)
    procs = tuple((i, name, processors[name]) for i, name in enumerate(names)
                  if name in processors)
    limit = getattr(dialect, "insertmanyvalues_max_parameters", 999) or 999
    per_page = max(1, min(dialect.insertmanyvalues_page_size, limit // max(1, len(names))))
    return _DriverInsert(_DriverStatement(text, True, names, procs), head, row_sql, tail,
                         per_page)


def driver_insert_returning(
    conn: Connection,
    cache: dict[Any, Any],
    stmt: ClauseElement,
    params_list: Sequence[dict[str, Any]] | None,
    tuples: tuple[tuple[str, ...], list[tuple[Any, ...]]] | None = None,
) -> list[Any] | None:
    """SQLite: INSERT every dictionary of ``params_list`` (one key set) with
    ``stmt`` (an INSERT ... RETURNING of one column) as multi-row VALUES pages,
    the way Core's "insertmanyvalues" does it; return the RETURNING values of
    all pages, in the order the database gave them.  ``tuples``, instead of
    ``params_list``: (parameter names, a tuple of values per row).

    Returns None, having run nothing, when Core's own path is needed.
    """
    if tuples is not None:
        keys, values = tuples
        if not values:
            return None
    elif params_list:
        keys = tuple(params_list[0])
    else:
        return None
    if conn.dialect.name != "sqlite":
        return None
    entry = _entry(conn, cache, "insert", stmt, keys, _compile_insert)
    if entry is None:
        return None
    rows = _driver_rows(conn, entry.stmt, params_list, tuples)
    step = entry.per_page
    out: list[Any] = []
    direct = driver_write_ok(conn, 1)  # each page is one execute
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        flat = tuple(chain.from_iterable(chunk))
        if direct:
            # nothing of Core's execution would show: the driver's cursor directly
            returned = driver_write(conn, entry.sql(len(chunk)), [flat], fetch=True)[1]
            assert returned is not None
            out.extend(map(_first, returned))
            continue
        result = conn.exec_driver_sql(entry.sql(len(chunk)), flat)
        raw = plain_fetchall(result)  # the driver's tuples, when Core would only copy them
        out.extend(result.scalars().all() if raw is None else map(_first, raw))
    return out
