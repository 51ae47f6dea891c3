"""Core's result and driver internals: raw rows of a result, the cached result
metadata of positional reads, and the driver fast paths (a compiled statement's bind
processors, executing a cached SELECT or a write batch on the DBAPI cursor, the
driver-level error report).

Called by the loading, query, session and persistence layers through
:mod:`datamapper._core`, which re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from sqlalchemy.engine import processors as _processors
from sqlalchemy.engine.cursor import CursorFetchStrategy
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.util import immutabledict

_DEFAULT_DO_EXECUTE = DefaultDialect.do_execute
_DEFAULT_DO_EXECUTEMANY = DefaultDialect.do_executemany


# -- results ---------------------------------------------------------------------------------

def plain_fetchall(result: Any) -> list[Any] | None:
    """All rows of a fresh cursor result as the driver's own tuples, when Core would
    only copy them into Row objects (no result processors, no column filter, default
    fetch strategy); the result is then closed.  None (nothing read) otherwise."""
    md = getattr(result, "_metadata", None)
    procs = getattr(md, "_processors", None)
    cursor = getattr(result, "cursor", None)
    if (procs is not None and cursor is not None and not any(procs)
            and getattr(md, "_tuplefilter", None) is None
            and type(getattr(result, "cursor_strategy", None)) is CursorFetchStrategy):
        rows: list[Any] = cursor.fetchall()
        result._soft_close()
        _note_plain(result, True)
        return rows
    if procs:
        _note_plain(result, False)
    return None


def _note_plain(result: object, plain: bool) -> None:
    """Remember on the cached compiled form of ``result``'s statement whether its rows
    need result processing (the driver's column types decide it: known after a first
    run); see :func:`cached_select_rows`."""
    compiled = getattr(getattr(result, "context", None), "compiled", None)
    if compiled is not None and compiled.cache_key is not None and \
            _PLAIN_ATTR not in compiled.__dict__:
        setattr(compiled, _PLAIN_ATTR, plain)


# Execution options of a SELECT whose rows the ORM reads by position only.  When Core's
# compiled cache serves a statement compiled for an equal but distinct statement object
# (a query built anew per call), Core re-keys the cached result metadata to the columns
# of the executed object (``_adapt_to_context``: a walk of every selected column and a
# copy of the keymap), which only name lookups such as ``row._mapping[table.c.x]`` need.
# SQLAlchemy's own ORM turns the step off for its loads with this same option.
POSITIONAL_ROWS: Mapping[str, Any] = immutabledict({"_result_disable_adapt_to_context": True})


def positional_rows(execution_options: Mapping[str, Any] | None) -> Mapping[str, object]:
    """``execution_options`` plus :data:`POSITIONAL_ROWS` (the caller's wins on a clash)."""
    if not execution_options:
        return POSITIONAL_ROWS
    return {**POSITIONAL_ROWS, **execution_options}


# -- compiled statements and the driver path ---------------------------------------------------

def result_metadata(keys: Any, extra: Any, unique_filters: list[Any] | None) -> SimpleResultMetaData:
    """The metadata of an ORM result's rows: ``keys``, the ``extra`` objects each column
    also answers to, and for ``Result.unique()`` one key function (or None: the value
    itself) per column.  SQLAlchemy 2.1 takes a factory of the filters, 2.0 the list."""
    if unique_filters is None:
        return SimpleResultMetaData(keys, extra=extra)
    try:
        return SimpleResultMetaData(keys, extra=extra,
                                    _create_unique_filters=lambda _result: unique_filters)
    except TypeError:  # SQLAlchemy 2.0 (the keyword as 2.0 spells it, unknown to 2.1)
        legacy: dict[str, Any] = {"_unique_filters": unique_filters}
        return SimpleResultMetaData(keys, extra=extra, **legacy)


def type_may_be_null_type(sql_type: object) -> bool:
    """Whether ``sql_type`` is NullType-like (no known Python type for its values)."""
    return bool(getattr(sql_type, "_isnull", False))


def bind_processors(compiled: Any) -> Mapping[str, Callable[[object], object]]:
    """A compiled statement's bind processors by parameter name."""
    return compiled._bind_processors  # type: ignore[no-any-return]  # Core's dict


def is_float_bind(fn: object) -> bool:
    """Whether ``fn`` is Core's bind processor of a float column (``float(value)``,
    None kept), which gives a ``float`` back unchanged."""
    return fn is _processors.to_float


def insertmanyvalues(compiled: object) -> Any:
    """A compiled INSERT's multi-row VALUES description, or None."""
    return getattr(compiled, "_insertmanyvalues", None)


def report_dbapi_error(conn: Any, exc: BaseException, sql: str, params: Any) -> NoReturn:
    """Raise ``exc`` (from the driver or a bind processor) as Core does for a failed
    statement: wrapped as a StatementError/DBAPIError, after ``handle_error`` hooks."""
    conn._handle_dbapi_exception(exc, sql, params, None, None)
    raise exc  # not reached: Core always raises


class DriverSelect:
    """A SELECT compiled once for one dialect, run on the driver's cursor directly
    (:func:`driver_fetchall`): its SQL text, where each parameter goes and the
    bind processors of those that have one.  ``plain``: whether Core's result of it
    has no result processor (None until a first run through Core has told)."""

    __slots__ = ("sql", "positional", "names", "procs", "plain")

    def __init__(self, sql: str, positional: bool, names: tuple[str, ...],
                 procs: tuple[tuple[int, str, Callable[[Any], Any]], ...]) -> None:
        self.sql = sql
        self.positional = positional
        self.names = names
        self.procs = procs
        self.plain: bool | None = None

    def parameters(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``params`` (a dictionary by bind name)."""
        if self.positional:
            values = [params[n] for n in self.names]
            for i, _name, fn in self.procs:
                values[i] = fn(values[i])
            return tuple(values)
        out = {n: params[n] for n in self.names}
        for _i, name, fn in self.procs:
            out[name] = fn(out[name])
        return out


def compile_driver_select(dialect: Any, stmt: Any, given: Mapping[str, Any]
                          ) -> DriverSelect | None:
    """``stmt`` compiled for ``dialect`` to run through the driver with parameters of
    the keys of ``given``, or None when it needs Core's execution: parameters rendered
    at execution time (expanding IN, literal_execute), escaped bind names, a bind not
    among ``given`` (Core would supply its value), typed input sizes."""
    if dialect.bind_typing is BindTyping.SETINPUTSIZES:
        return None
    compiled: Any = stmt.compile(dialect=dialect)
    if (compiled.escaped_bind_names or compiled.post_compile_params
            or compiled.literal_execute_params):
        return None
    if compiled.positional:
        names = tuple(compiled.positiontup)
    else:
        names = tuple(dict.fromkeys(compiled.bind_names.values()))
    if not set(names) <= set(given):
        return None
    processors = compiled._bind_processors
    procs = tuple((i, name, processors[name]) for i, name in enumerate(names)
                  if name in processors)
    return DriverSelect(compiled.string, bool(compiled.positional), names, procs)


def driver_select_ok(conn: Any, cache_option: bool = False) -> bool:
    """Whether a SELECT may run on ``conn``'s driver cursor with nothing that Core's
    execution would do observably left out: no listener of the statement events
    (``before_execute``, ``after_execute``, ``before_cursor_execute``,
    ``after_cursor_execute``; ``handle_error`` is fired as Core fires it) nor of the
    dialect's events, no statement logging, no execution options (``cache_option``:
    except ``compiled_cache``), a synchronous driver with the default ``do_execute``,
    an open and valid connection in an active transaction."""
    dialect = conn.dialect
    options = conn._execution_options
    if (conn._echo or dialect.is_async or dialect._has_events
            or type(dialect).do_execute is not _DEFAULT_DO_EXECUTE):
        return False
    if options and not (cache_option and options.keys() <= _CACHE_OPTION):
        return False
    if conn._has_events or conn.engine._has_events:
        d = conn.dispatch
        if (d.before_execute or d.after_execute or d.before_cursor_execute
                or d.after_cursor_execute):
            return False
    # Core refuses to run on a transaction or savepoint that failed, and checks the
    # transaction of a ``with conn.begin():`` block: those cases take its path
    return (not conn.closed and not conn.invalidated and conn.in_transaction()
            and (conn._nested_transaction is None or conn.in_nested_transaction())
            and conn._trans_context_manager is None)


_CACHE_OPTION = frozenset({"compiled_cache"})
_PLAIN_ATTR = "_dm_plain"  # on a cached Compiled: whether its rows need no processing
_DRIVER_ATTR = "_dm_driver"  # on a cached Compiled: its CachedDriverSelect, or False


class CachedDriverSelect:
    """A SELECT in Core's compiled cache, run on the driver's cursor directly: its SQL
    text and, per driver parameter, which bound parameter of the statement's cache key
    gives its value (Core lines the bound parameters of equal statements up by
    position) and the bind processors of those that have one."""

    __slots__ = ("sql", "positional", "names", "slots", "procs")

    def __init__(self, sql: str, positional: bool, names: tuple[str, ...],
                 slots: tuple[int, ...],
                 procs: tuple[tuple[int, str, Callable[[Any], Any]], ...]) -> None:
        self.sql = sql
        self.positional = positional
        self.names = names
        self.slots = slots
        self.procs = procs

    def parameters(self, extracted: Any) -> Any:
        """The driver's parameters for ``extracted``, the bound parameters of the cache
        key of the statement being run."""
        values = [extracted[i].value for i in self.slots]
        for i, _name, fn in self.procs:
            values[i] = fn(values[i])
        if self.positional:
            return tuple(values)
        return dict(zip(self.names, values, strict=True))


def _driver_form(compiled: Any, dialect: Any) -> CachedDriverSelect | None:
    """``compiled`` (a cached SELECT) as a :class:`CachedDriverSelect`, or None when its
    execution needs Core: parameters rendered at execution time, escaped bind names,
    typed input sizes, a parameter that is required, computed by a function, or not
    among the cache key's bound parameters."""
    if (dialect.bind_typing is BindTyping.SETINPUTSIZES or compiled.escaped_bind_names
            or compiled.post_compile_params or compiled.literal_execute_params
            or getattr(compiled, "_render_postcompile", False)):
        return None
    index: dict[Any, int] = {}
    match = getattr(compiled, "_cache_key_bind_match", None)
    for i, b in enumerate(compiled.cache_key[1]):
        for bind in (match[0].get(b, ()) if match else (b,)):
            index[bind] = i
    if compiled.positional:
        names = tuple(compiled.positiontup)
    else:
        names = tuple(dict.fromkeys(compiled.bind_names.values()))
    binds = compiled.binds
    slots = []
    for name in names:
        bind = binds.get(name)
        if bind is None or bind not in index or bind.required or bind.callable:
            return None
        slots.append(index[bind])
    processors = compiled._bind_processors
    procs = tuple((i, name, processors[name]) for i, name in enumerate(names)
                  if name in processors)
    return CachedDriverSelect(compiled.string, bool(compiled.positional), names,
                              tuple(slots), procs)


def cached_select_rows(conn: Any, stmt: Any) -> list[object] | None:
    """All rows of ``stmt`` (a SELECT run without parameters) as the driver's tuples,
    run on ``conn``'s driver cursor with the SQL Core compiled and cached for it, when
    nothing of Core's execution would show (see :func:`driver_select_ok`; the
    ``compiled_cache`` option is allowed, and is the cache read) and a first run through
    Core found that its rows need no processing.  None, with nothing run, otherwise:
    the caller then executes it through Core (which caches it and tells)."""
    if stmt._execution_options or not driver_select_ok(conn, cache_option=True):
        return None
    dialect = conn.dialect
    options = conn._execution_options
    cache = options["compiled_cache"] if options else conn.engine._compiled_cache
    if cache is None or not dialect._supports_statement_cache:
        return None
    key = stmt._generate_cache_key()  # memoized on the statement: Core reuses it
    if key is None or (len(key) > 2 and key[2]):
        return None
    # the key Core caches a statement's compiled form under (no parameters given, no
    # schema translation, not executemany)
    compiled = cache.get((dialect, key[0], (), False, False))
    if compiled is None:
        return None
    found = compiled.__dict__
    entry = found.get(_DRIVER_ATTR)
    if entry is None:
        if found.get(_PLAIN_ATTR) is not True:
            return None
        entry = _driver_form(compiled, dialect) or False
        setattr(compiled, _DRIVER_ATTR, entry)
    if entry is False:
        return None
    return driver_fetchall(conn, entry, key[1])


def driver_fetchall(conn: Any, entry: DriverSelect | CachedDriverSelect,
                    params: Any) -> list[object]:
    """All rows of ``entry`` run with ``params`` on a cursor of ``conn``'s driver
    connection (see :func:`driver_select_ok`), as the driver's tuples; a failure (of a
    bind processor or of the driver) is raised as Core raises it."""
    try:
        args = entry.parameters(params)
    except Exception as e:
        report_dbapi_error(conn, e, entry.sql, params if isinstance(entry, DriverSelect)
                           else [b.value for b in params])
    cursor = conn.connection.cursor()
    try:
        cursor.execute(entry.sql, args)
        rows: list[Any] = cursor.fetchall()
    except BaseException as e:
        conn._handle_dbapi_exception(e, entry.sql, args, cursor, None)
        raise  # not reached: Core always raises
    cursor.close()
    return rows


def has_execute_listeners(conn: Any) -> bool:
    """Whether ``conn`` (or its engine) has ``before_execute``/``after_execute``
    listeners; the per-connection dispatch is not built when it has no events at all."""
    if not (conn._has_events or conn.engine._has_events):
        return False
    d = conn.dispatch
    return bool(d.before_execute or d.after_execute)


def driver_write_ok(conn: Any, n_rows: int) -> bool:
    """Whether an INSERT/UPDATE/DELETE given as the driver's SQL text and ``n_rows``
    parameter rows may run on ``conn``'s driver cursor directly (:func:`driver_write`):
    as for a SELECT (:func:`driver_select_ok`; a ``compiled_cache`` execution option
    is allowed: the statement is not Core's), and, for several rows, the dialect
    runs them with the default ``do_executemany`` (MySQLdb/PyMySQL's own reads the
    row count its way)."""
    return ((n_rows == 1 or type(conn.dialect).do_executemany is _DEFAULT_DO_EXECUTEMANY)
            and driver_select_ok(conn, cache_option=True))  # (no compiled form of Core's)


def driver_write(conn: Any, sql: str, rows: list[Any], fetch: bool = False
                 ) -> tuple[int, list[Any] | None]:
    """Run ``sql`` on a cursor of ``conn``'s driver connection for each parameter row
    of ``rows`` (one row: ``execute``, several: ``executemany``, as Core does for
    ``exec_driver_sql``); the caller has checked :func:`driver_write_ok`.  Returns the
    driver's row count and, with ``fetch``, the rows the statement returned (the
    driver's tuples).  A driver error is raised as Core raises it."""
    cursor = conn.connection.cursor()
    try:
        if len(rows) == 1:
            cursor.execute(sql, rows[0])
        else:
            cursor.executemany(sql, rows)
        returned: list[Any] | None = cursor.fetchall() if fetch else None
        rowcount: int = cursor.rowcount
    except BaseException as e:
        conn._handle_dbapi_exception(e, sql, rows[0] if len(rows) == 1 else rows,
                                     cursor, None)
        raise  # not reached: Core always raises
    cursor.close()
    return rowcount, returned
