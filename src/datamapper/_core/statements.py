"""Core's statement internals: the parts of a SELECT or DML statement as given
(selected elements, FROMs, joins, WHERE criteria, options, DML values and RETURNING),
copies of a statement with one part replaced, annotations, propagated attributes
and cache keys.

Called by the query, mapping and session layers through :mod:`datamapper._core`,
which re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.sql.elements import ClauseElement, ClauseList
from sqlalchemy.sql.selectable import Select, SelectState

try:  # SQLAlchemy 2.1
    from sqlalchemy.sql.elements import OrderByList as _OrderByList
except ImportError:  # 2.0
    _OrderByList = None  # type: ignore[assignment,misc]  # 2.0 has no such class
from sqlalchemy.util import HasMemoized, immutabledict

_EMPTY: Mapping[str, Any] = immutabledict()
_T = TypeVar("_T")


# -- a Select whose exported columns its class chooses -----------------------------------------

class ExportingSelect(Select[Any]):
    """A Core ``Select`` whose selected columns (what a subquery of it exports in ``.c``,
    ``selected_columns``, the SELECT list) pass through :meth:`_dm_export_columns` once
    per statement: Core reads them from the private ``_all_selected_columns``."""

    inherit_cache = True

    @HasMemoized.memoized_attribute
    def _all_selected_columns(self) -> Any:
        cols = list(SelectState.get_plugin_class(self).all_selected_columns(self))
        return self._dm_export_columns(cols)

    def _dm_export_columns(self, cols: list[Any]) -> list[Any]:
        """The selected columns ``cols`` as this statement exports them."""
        return cols


# -- statements as given -----------------------------------------------------------------------

def statement_execution_options(stmt: object) -> Mapping[str, object]:
    """The execution options set on a statement (or a Query) itself."""
    return getattr(stmt, "_execution_options", _EMPTY)


def statement_options(stmt: object) -> tuple[object, ...]:
    """The options given to ``Executable.options()``, in order."""
    return tuple(getattr(stmt, "_with_options", ()))


def relay_facts(stmt: Any, columns: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """What ``stmt.with_only_columns(*columns, maintain_column_froms=True)`` computes
    from the selected elements alone: ``columns`` coerced as it coerces them, and the
    FROMs ``stmt``'s own selected elements imply, coerced as ``select_from()`` does.
    Depends only on those elements and ``columns``, so it can be kept and reused by
    :func:`relay_select` for every statement selecting the same elements."""
    from sqlalchemy.sql import coercions, roles

    cols = tuple(coercions.expect(roles.ColumnsClauseRole, c) for c in columns)
    froms = tuple(coercions.expect(roles.FromClauseRole, f) for f in stmt.columns_clause_froms)
    return cols, froms


def relay_select(target: Any, stmt: Any, columns: tuple[Any, ...],
                 froms: tuple[Any, ...]) -> bool:
    """Give ``target`` (a new object of ``stmt``'s class or a subclass) the state that
    ``stmt.with_only_columns(*columns, maintain_column_froms=True)`` would have, from
    facts :func:`relay_facts` computed for ``stmt``'s selected elements, without
    coercing them again.  False (``target`` untouched) when ``stmt`` has joins or
    options set up: ``with_only_columns()`` then keeps those with the old elements."""
    if stmt._setup_joins or stmt._with_options:
        return False
    skip = stmt._memoized_keys  # (as Core's generative copy: memoized values left out)
    d = stmt.__dict__
    target.__dict__.update({k: v for k, v in d.items() if k not in skip} if skip else d)
    if not target._propagate_attrs:  # (select_from()'s coercion with apply_propagate_attrs)
        for f in froms:
            attrs = getattr(f, "_propagate_attrs", None)
            if attrs:
                target._propagate_attrs = attrs
                break
    target._from_obj = stmt._from_obj + froms
    target._raw_columns = list(columns)
    return True


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


def replace_froms(stmt: Any, froms: tuple[Any, ...]) -> object:
    """A copy of a select with ``froms`` as its select_from() FROMs (its joins kept)."""
    out = stmt._clone()
    out._from_obj = tuple(froms)
    return out


def where_criteria(stmt: object) -> tuple[object, ...]:
    """A select's WHERE criteria as given (one per ``where()`` argument)."""
    return tuple(getattr(stmt, "_where_criteria", ()) or ())


def with_where_criteria(stmt: Any, criteria: tuple[Any, ...]) -> object:
    """A copy of a select with exactly ``criteria`` as its WHERE criteria."""
    out = stmt._clone()
    out._where_criteria = criteria
    return out


def with_adapted_clauses(stmt: Any, adapt: Any) -> Any:
    """A copy of a select whose selected elements, WHERE criteria and ORDER BY terms
    are passed through ``adapt`` (each element, or the same element when unchanged)."""
    out = stmt._clone()
    out._raw_columns = [adapt(c) for c in stmt._raw_columns]
    out._where_criteria = tuple(adapt(c) for c in stmt._where_criteria)
    out._order_by_clauses = tuple(adapt(c) for c in stmt._order_by_clauses)
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


def order_term_expression(term: object) -> object:
    """An ORDER BY term as the expression it orders by: Core keeps a labelled one
    (``order_by(alias.id)``, where the attribute of an aliased class is ``anon_1.person_id
    AS id``) as a reference to the label, which renders as the bare name "id"."""
    from sqlalchemy.sql.elements import _label_reference

    return term.element if isinstance(term, _label_reference) else term


def for_update_arg(stmt: object) -> Any:
    """The FOR UPDATE settings of a select, or None."""
    return getattr(stmt, "_for_update_arg", None)


def copy_generative(target: _T, source: object) -> _T:
    """Give ``target`` (a new object of a Core generative class or subclass) the
    state of ``source``, as Core's own generative copy does (values memoized on
    ``source``, such as its selected columns, left out: ``target`` computes its own)."""
    skip = getattr(source, "_memoized_keys", None)
    d = source.__dict__
    target.__dict__.update({k: v for k, v in d.items() if k not in skip} if skip else d)
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


def dml_returns_defaults(stmt: object) -> bool:
    """The statement asked for ``return_defaults()`` itself."""
    return bool(getattr(stmt, "_return_defaults", False))


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


def dml_post_values_clause(stmt: object) -> Any:
    """The clause a dialect's upsert construct puts after an INSERT's VALUES
    (``ON CONFLICT ...``, ``ON DUPLICATE KEY UPDATE ...``), or None."""
    return getattr(stmt, "_post_values_clause", None)


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
