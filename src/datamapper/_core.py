"""Every read of SQLAlchemy Core's private or undocumented internals, in one place.

datamapper builds on Core's public API.  A few things it needs have no public
spelling: the fast driver path (a compiled statement's bind processors, the
driver-level error report), the raw rows of a result, the parts of a statement
as given (selected elements, joins, options, DML values), Core's annotation
and inspection registries, and the compile-state plugin protocol.  They are all
read here, through named functions, so that:

- the rest of the package reads only public Core names (checked by
  ``tests/test_core_internals.py``, which fails on a private Core attribute
  read anywhere else);
- the same tests exercise every function here against the installed SQLAlchemy,
  and CI runs them on SQLAlchemy 2.0 and 2.1 (``.ci/run``, second virtualenv);
- a Core upgrade that moves something breaks one module, in a test that names it.

Imports nothing from datamapper (layer L0).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from sqlalchemy import inspection as _inspection
from sqlalchemy.engine import processors as _processors
from sqlalchemy.engine.cursor import CursorFetchStrategy
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.engine.result import SimpleResultMetaData, result_tuple
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.base import CompileState
from sqlalchemy.sql.dml import DeleteDMLState, InsertDMLState, UpdateDMLState
from sqlalchemy.sql.elements import ClauseElement, ClauseList

try:  # SQLAlchemy 2.1
    from sqlalchemy.sql.elements import OrderByList as _OrderByList
except ImportError:  # 2.0
    _OrderByList = None  # type: ignore[assignment,misc]  # 2.0 has no such class
from sqlalchemy.sql.selectable import SelectState
from sqlalchemy.util import greenlet_spawn, immutabledict

__all__ = [
    # names from Core modules that are not part of its documented API
    "BindTyping", "CompileState", "CursorFetchStrategy", "DeleteDMLState", "InsertDMLState",
    "SelectState", "UpdateDMLState",
    "SimpleResultMetaData", "coercions", "result_tuple", "roles",
    # Core's bridge from synchronous code to asyncio drivers (ext/asyncio.py)
    "greenlet_spawn",
]

_EMPTY: Mapping[str, Any] = immutabledict()
_DEFAULT_DO_EXECUTE = DefaultDialect.do_execute
_DEFAULT_DO_EXECUTEMANY = DefaultDialect.do_executemany
_T = TypeVar("_T")


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


# -- statements as given -----------------------------------------------------------------------

def statement_execution_options(stmt: object) -> Mapping[str, object]:
    """The execution options set on a statement (or a Query) itself."""
    return getattr(stmt, "_execution_options", _EMPTY)


def statement_options(stmt: object) -> tuple[object, ...]:
    """The options given to ``Executable.options()``, in order."""
    return tuple(getattr(stmt, "_with_options", ()))


def with_statement_options(stmt: Any, options: tuple[Any, ...]) -> object:
    """A copy of ``stmt`` whose ``options()`` are exactly ``options``."""
    out = stmt._clone()
    out._with_options = tuple(options)
    return out


def raw_columns(stmt: object) -> tuple[object, ...]:
    """A select's selected elements as given (a mapped class as its annotated table)."""
    return tuple(getattr(stmt, "_raw_columns", ()) or ())


def ordering_list(items: list[Any]) -> ClauseElement:
    """Several ORDER BY terms as one element (a composite's ``desc()``): SQLAlchemy
    2.1's ``OrderByList`` (a later ``nulls_first()`` applies to each term); on 2.0 a
    plain list of the terms."""
    if _OrderByList is not None:
        return _OrderByList(items)
    return ClauseList(*items, group=False)


def is_star(element: object) -> bool:
    """``'*'`` as a selected element (``select("*")``, ``text("*")``, ``literal_column("*")``)."""
    if isinstance(element, str):
        return element == "*"
    # only Core's own elements: a Bundle or an alias answers any attribute name
    return isinstance(element, ClauseElement) and element._is_star is True


def explicit_froms(stmt: object) -> tuple[ClauseElement, ...]:
    """The FROM elements given to ``select_from()``."""
    return tuple(getattr(stmt, "_from_obj", ()) or ())


def setup_joins(stmt: object) -> tuple[Any, ...]:
    """The joins given to ``join()``/``join_from()``/``outerjoin()``: tuples of
    (target, onclause, left, flags)."""
    return tuple(getattr(stmt, "_setup_joins", ()) or ())


def memoized_select_entities(stmt: object) -> tuple[object, ...]:
    """The entity sets a select had before ``with_only_columns()`` (with their joins)."""
    return tuple(getattr(stmt, "_memoized_select_entities", ()) or ())


def with_joins(stmt: Any, joins: tuple[Any, ...] | None,
               memo: tuple[Any, ...] | None = None) -> object:
    """A copy of ``stmt`` with its joins (and memoized entity sets) replaced; None
    keeps the statement's own."""
    out = stmt._clone()
    if joins is not None:
        out._setup_joins = joins
    if memo is not None:
        out._memoized_select_entities = memo
    return out


def with_froms(stmt: Any, froms: list[Any]) -> object:
    """A copy of a select with exactly ``froms`` as its FROM list (its joins made into
    them, as ``get_final_froms()`` gives them): no joins or memoized entities left."""
    out = stmt._clone()
    out._from_obj = tuple(froms)
    out._setup_joins = ()
    out._memoized_select_entities = ()
    return out


def where_criteria(stmt: object) -> tuple[object, ...]:
    """A select's WHERE criteria as given (one per ``where()`` argument)."""
    return tuple(getattr(stmt, "_where_criteria", ()) or ())


def with_where_criteria(stmt: Any, criteria: tuple[Any, ...]) -> object:
    """A copy of a select with exactly ``criteria`` as its WHERE criteria."""
    out = stmt._clone()
    out._where_criteria = criteria
    return out


def has_limit_or_offset(stmt: object) -> bool:
    return (getattr(stmt, "_limit_clause", None) is not None
            or getattr(stmt, "_offset_clause", None) is not None)


def has_group_by(stmt: object) -> bool:
    """Whether a select has a GROUP BY."""
    return bool(getattr(stmt, "_group_by_clauses", ()))


def is_distinct(stmt: object) -> bool:
    """Whether a select is SELECT DISTINCT."""
    return bool(getattr(stmt, "_distinct", False))


def order_by_clauses(stmt: object) -> tuple[object, ...]:
    return tuple(getattr(stmt, "_order_by_clauses", ()) or ())


def for_update_arg(stmt: object) -> Any:
    """The FOR UPDATE settings of a select, or None."""
    return getattr(stmt, "_for_update_arg", None)


def copy_generative(target: _T, source: object) -> _T:
    """Give ``target`` (a new object of a Core generative class or subclass) the
    state of ``source``, as Core's own generative copy does."""
    target.__dict__.update(source.__dict__)
    return target


def generate(stmt: Any) -> object:
    """A shallow generative copy of a Core statement."""
    return stmt._generate()


def from_objects(element: object) -> tuple[Any, ...]:
    """The FROM elements a column or clause draws from."""
    return tuple(getattr(element, "_from_objects", ()) or ())


def proxy_key(column: object) -> object:
    """The key a column is known by in its selectable (the mapped attribute name when
    the column was selected through one)."""
    return getattr(column, "_proxy_key", None)


def is_cacheable_element(element: object) -> bool:
    return hasattr(element, "_gen_cache_key")


def is_selectable_iterable(element: object) -> bool:
    return hasattr(element, "_select_iterable")


def is_executable_on_connection(statement: object) -> bool:
    return hasattr(statement, "_execute_on_connection")


# -- annotations and propagated attributes ------------------------------------------------------

def annotate(element: Any, values: Mapping[str, Any]) -> Any:
    """A copy of ``element`` carrying ``values`` as annotations (kept by Core through
    select(), join(), insert() ...)."""
    return element._annotate(values)


def deannotate(element: ClauseElement) -> Any:
    return element._deannotate()


def annotations_of(element: object) -> Mapping[str, Any]:
    return getattr(element, "_annotations", None) or _EMPTY


def propagate_attrs(element: object) -> Mapping[str, Any] | None:
    """What an element propagates to the statements built from it (the compile-state
    plugin mark), or None."""
    return getattr(element, "_propagate_attrs", None)


def set_propagate_attrs(element: Any, attrs: Mapping[str, Any]) -> None:
    element._propagate_attrs = attrs


def anonymous_fromclause(selectable: Any, *, flat: bool = False) -> Any:
    return selectable._anonymous_fromclause(flat=flat)


# -- DML statements ------------------------------------------------------------------------------

def dml_returning(stmt: object) -> tuple[Any, ...]:
    return tuple(getattr(stmt, "_returning", ()) or ())


def dml_with_returning(stmt: Any, columns: list[Any]) -> Any:
    out = stmt._generate()
    out._returning = tuple(columns)
    return out


def dml_where(stmt: object) -> tuple[Any, ...]:
    return tuple(getattr(stmt, "_where_criteria", ()) or ())


def dml_values(stmt: object) -> list[tuple[Any, Any]]:
    """SET / VALUES pairs given with ``values()`` or ``ordered_values()``."""
    ordered = getattr(stmt, "_ordered_values", None)
    if ordered:
        return list(ordered)
    values = getattr(stmt, "_values", None)
    return list(values.items()) if values else []


def dml_values_ordered(stmt: object) -> bool:
    """The SET pairs were given with ``ordered_values()`` (their order is kept)."""
    # SQLAlchemy 2.0 keeps them apart; 2.1 flags the ordinary values as ordered
    return bool(getattr(stmt, "_ordered_values", None)) or bool(
        getattr(stmt, "_maintain_values_ordering", False))


def dml_has_multi_values(stmt: object) -> bool:
    return bool(getattr(stmt, "_multi_values", None))


def dml_multi_values(stmt: object) -> list[list[Any]]:
    """The row lists given to ``insert().values([...])`` (each row a dictionary or a
    sequence), one list per ``values()`` call."""
    return [list(rows) for rows in getattr(stmt, "_multi_values", None) or ()]


def dml_with_multi_values(stmt: Any, row_lists: list[list[Any]]) -> Any:
    out = stmt._generate()
    out._multi_values = tuple(row_lists)
    return out


def dml_with_values(stmt: Any, pairs: list[tuple[Any, Any]]) -> Any:
    out = stmt._generate()
    if getattr(stmt, "_ordered_values", None):
        out._ordered_values = list(pairs)
    else:
        out._values = immutabledict(pairs)
    return out


# -- schema types --------------------------------------------------------------------------------

def attach_type_to_column(sql_type: Any, column: Any) -> None:
    """Tell a schema-event type (Enum, Boolean ...) its column, as Core does when a
    column is built with it."""
    sql_type._set_parent_with_dispatch(column)


def replace_null_type(column: Any, sql_type: Any) -> bool:
    """Give a Column built without a type (NullType) ``sql_type`` through Core's own
    hook; False when the column already has a type or Core has no hook."""
    setter = getattr(column, "_set_type", None)
    if setter is None or not getattr(column.type, "_isnull", False):
        return False
    setter(sql_type)
    return True


def creation_order(value: object) -> int:
    return int(getattr(value, "_creation_order", 0) or 0)


# -- inspection and event registries ----------------------------------------------------------------

def inspection_registrar(cls: type) -> Any:
    """The function ``sqlalchemy.inspect()`` uses for instances of ``cls``, or None."""
    return _inspection._registrars.get(cls)


def set_inspection_registrar(cls: type, fn: Callable[[Any], Any] | None) -> None:
    """Register ``fn`` for ``cls`` in Core's inspection registry (None removes it)."""
    if fn is None:
        _inspection._registrars.pop(cls, None)
    else:
        _inspection._registrars[cls] = fn


def register_self_inspecting(cls: type) -> None:
    """Mark ``cls`` as one of Core's own inspection results (what ``@_self_inspects``
    does): ``sqlalchemy.inspect(x)`` of an instance answers the instance itself, and
    Core refuses an object whose inspection is such a class as a literal SQL value."""
    _inspection._registrars.setdefault(cls, True)


@functools.cache
def inspection_allows_reregistration() -> bool:
    """Whether Core lets a later registration of a function with the same name and
    module replace an inspection entry (SQLAlchemy 2.1 does; 2.0 refuses every second
    registration of a type, so an entry made before ``import sqlalchemy.orm`` would
    make that import fail)."""
    probe = type("_ProbeType", (), {})

    def _probe(obj: object) -> None:
        return None

    _inspection._registrars[probe] = _probe
    try:
        _inspection._inspects(probe)(_probe)
    except AssertionError:
        return False
    finally:
        _inspection._registrars.pop(probe, None)
    return True


def event_classes_for(name: str) -> list[Any]:
    """Core's ordered list of event classes that declare the event ``name`` (the
    first one accepting a target handles ``sqlalchemy.event.listen``)."""
    from sqlalchemy.event import base as core_base

    return core_base._registrars[name]


def event_key_fn(event_key: Any) -> Callable[..., Any]:
    """The user's listener function of a Core event key."""
    return event_key._listen_fn  # type: ignore[no-any-return]  # Core's private attribute is untyped


def install_dml_plugin(name: str, verb: str, state_cls: type) -> None:
    """Register a compile-state plugin for INSERT/UPDATE/DELETE (``verb``) statements
    whose propagated ``compile_state_plugin`` is ``name``: a subclass of Core's own
    DML state for that verb (it compiles as Core does)."""
    CompileState.plugins[(name, verb)] = state_cls


def compiling_toplevel(compiler: Any) -> bool:
    """Whether ``compiler`` is at its outermost statement (the statement being compiled
    itself, not a subquery, union member or scalar subquery inside it)."""
    return not compiler.stack


def enclosing_froms(compiler: Any) -> frozenset[Any]:
    """The FROM elements (unannotated) of the SELECTs enclosing the one ``compiler`` is
    at, which a nested SELECT may correlate to; empty at the outermost statement."""
    if compiler is None or not compiler.stack:
        return frozenset()
    entry = compiler.stack[-1]
    found = set(entry.get("correlate_froms", ())) | set(entry.get("asfrom_froms", ()))
    return frozenset(deannotate(f) for f in found)


def select_iterable(element: Any) -> list[Any]:
    """The columns an element given to ``select()`` contributes (a table: its columns)."""
    return list(element._select_iterable)


def install_select_plugin(name: str, state_cls: type) -> None:
    """Register a compile-state plugin for SELECT statements whose propagated
    ``compile_state_plugin`` is ``name``."""
    CompileState.plugins[(name, "select")] = state_cls


# -- cache keys -----------------------------------------------------------------------------------

def gen_cache_key(element: Any, anon_map: Any, bindparams: list[Any]) -> Any:
    """An element's part of a statement cache key (Core's HasCacheKey protocol, which
    datamapper's own elements also implement)."""
    return element._gen_cache_key(anon_map, bindparams)


def mark_uncacheable(anon_map: Any) -> None:
    """Tell the cache key being built that its statement can't be cached (an element
    with no key of its own); Core then compiles the statement on every execution."""
    from sqlalchemy.sql.cache_key import NO_CACHE

    anon_map[NO_CACHE] = True


def generate_cache_key(stmt: Any) -> Any:
    """A statement's cache key, or None when Core can't cache it."""
    return stmt._generate_cache_key()


# -- asyncio ----------------------------------------------------------------------------------

def async_connection_for(async_engine: object, sync_connection: object) -> Any:
    """The AsyncConnection (of ``async_engine``'s kind) standing for ``sync_connection``,
    or None when ``async_engine`` is not an AsyncEngine.  Reads the engine's private
    connection class and its proxy registry (Core 2.0 and 2.1)."""
    proxy_cls = getattr(async_engine, "_connection_cls", None)
    retrieve = getattr(proxy_cls, "_retrieve_proxy_for_target", None)
    if retrieve is None or not hasattr(async_engine, "sync_engine"):
        return None
    return retrieve(sync_connection)


def class_level_listeners(target_class: type, identifier: str) -> list[Any]:
    """The listeners ``sqlalchemy.event.listen(target_class, identifier, fn)`` registered
    on a class (Core's per-class listener list; empty if there is none or it can't be
    read)."""
    try:
        dispatcher = getattr(target_class.dispatch, identifier)  # type: ignore[attr-defined]  # any class with Core events
        return list(dispatcher._clslevel.get(target_class, ()))
    except (AttributeError, TypeError):
        return []
