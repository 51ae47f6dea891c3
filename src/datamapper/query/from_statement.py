"""``select(User).from_statement(stmt)``: load entities from a statement written out.

Callers: ``select(...).from_statement()`` (our ``select()`` and, through the
compile-state plugin of :mod:`..mapping.coercion`, ``sqlalchemy.select()`` of
mapped classes), ``Query.from_statement()``, and the Session, which runs a
:class:`FromStatement` through :func:`load_from_statement`.

The statement (a ``select()``, a union, ``text()``, or an INSERT/UPDATE/DELETE with
RETURNING) runs as written; each
column an entity loads is found in its rows by column object (by name for
``text()``).  Loader options apply as for any query, except that nothing can be
joined into the statement: ``joinedload()`` loads lazily instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select as core_select
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchColumnError
from sqlalchemy.sql.base import Executable, Generative
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.sql.selectable import SelectBase

from .._core import dml_returning, raw_columns, statement_execution_options, statement_options
from .._util import describe
from ..instance.seam import SessionLike
from ..loading.criteria import apply_criteria_within, criteria_options
from ..loading.plans import EntityPlan
from ..mapping.mapper import Mapper
from .entities import RowLayout
from .option_plans import build_plans
from .options import propagating_options
from .orm_select import as_written
from .plan_execution import execute_with_plans


def check_statement(statement: object) -> None:
    """Refuse what from_statement() can't run, before any SQL."""
    if isinstance(statement, str):
        raise ArgumentError(
            f"Can't run the string {statement!r} as the query's statement: wrap it in "
            "text()"
        )
    if isinstance(statement, UpdateBase):
        if not dml_returning(statement):
            raise ArgumentError(
                f"Can't load entities from {describe(statement)}: it returns no rows; "
                "add .returning(...) naming the entity's columns (or the entity)"
            )
        return
    if not (isinstance(statement, (TextClause, SelectBase)) or
            hasattr(statement, "_dm_layout")):
        raise ArgumentError(
            f"Can't use {describe(statement)} as the query's statement: it is not a "
            "SELECT; pass select(...), a union, text(...) or an INSERT/UPDATE/DELETE "
            "with RETURNING"
        )


def _columns_of(statement: Any) -> Any:
    """The columns a statement's rows hold: a SELECT's selected columns, a DML
    statement's RETURNING columns."""
    if isinstance(statement, UpdateBase):
        return statement.exported_columns
    return statement.selected_columns


class FromStatement(Generative, Executable, ClauseElement):
    """The entities of a ``select()`` loaded from another statement; a Session runs it
    (``session.execute()``/``scalars()``), a Connection runs the statement itself."""

    __visit_name__ = "dm_from_statement"
    supports_execution = True
    inherit_cache = False

    def __init__(self, entities: list[Any], options: tuple[Any, ...], statement: Any,
                 execution_options: Any = None) -> None:
        check_statement(statement)
        self._dm_entities = list(entities)
        self._dm_layout = RowLayout(self._dm_entities)
        self._dm_options = tuple(options)
        self.element = statement
        # the statement's label style names the rows' columns (None for text(), also
        # with .columns(), whose TextualSelect has no label style)
        get_style = getattr(statement, "get_label_style", None)
        try:
            self._label_style = get_style() if get_style is not None else None
        except NotImplementedError:
            self._label_style = None
        if execution_options:
            self._execution_options = self._execution_options.union(execution_options)

    # what kind of statement runs: a SELECT (or text()), or an INSERT/UPDATE/DELETE
    # whose RETURNING rows give the entities (what do_orm_execute's flags read)
    @property
    def is_select(self) -> bool:  # type: ignore[override]  # a property here, a plain attribute in Core
        return not isinstance(self.element, UpdateBase)

    @property
    def is_dml(self) -> bool:  # type: ignore[override]  # a property here, a plain attribute in Core
        return isinstance(self.element, UpdateBase)

    @property
    def is_insert(self) -> bool:  # type: ignore[override]  # a property here, a plain attribute in Core
        return bool(getattr(self.element, "is_insert", False))

    @property
    def is_update(self) -> bool:  # type: ignore[override]  # a property here, a plain attribute in Core
        return bool(getattr(self.element, "is_update", False))

    @property
    def is_delete(self) -> bool:  # type: ignore[override]  # a property here, a plain attribute in Core
        return bool(getattr(self.element, "is_delete", False))

    def options(self, *opts: Any) -> FromStatement:
        """More loader options for the entities."""
        s: FromStatement = self._generate()
        s._dm_options = self._dm_options + opts
        return s

    def params(self, *optionaldict: Any, **kwargs: Any) -> FromStatement:
        """Values for the statement's bound parameters, over those it was given
        (``select(User).from_statement(stmt.params(id=7)).params(id=8)`` runs with 8)."""
        s: FromStatement = self._generate()
        s.element = self.element.params(*optionaldict, **kwargs)
        return s

    @property
    def selected_columns(self) -> Any:
        return _columns_of(self.element)

    @property
    def column_descriptions(self) -> list[dict[str, Any]]:
        """One dictionary per result column, as for ``select()`` (names as the rows
        name them: by the statement's label style)."""
        return self._dm_layout.column_descriptions(self._label_style)

    def result_names(self, layout: RowLayout) -> list[str]:
        """The row keys of ``layout``'s results read from this statement."""
        style = self._label_style
        return layout.result_names(style) if style is not None else layout.names

    def _compiler_dispatch(self, visitor: object, **kw: object) -> str:
        return str(self.element._compiler_dispatch(visitor, **kw))

    def _execute_on_connection(self, connection: object, distilled_params: object,
                               execution_options: object) -> Any:
        # run on a Connection (no Session): the statement as written, Core rows
        return self.element._execute_on_connection(connection, distilled_params,
                                                   execution_options)

    def _generate_cache_key(self) -> None:
        return None  # not cached: the statement is compiled as written each time

    def __str__(self) -> str:
        return str(self.element)


def from_statement_of(select_stmt: object, statement: object) -> FromStatement:
    """``select_stmt.from_statement(statement)`` for a select of mapped entities."""
    entities = getattr(select_stmt, "_dm_entities", None)
    options: tuple[object, ...] = getattr(select_stmt, "_dm_options", ())
    if entities is None:
        from ..mapping.coercion import entities_of_core_select

        entities = entities_of_core_select(select_stmt)
        options = statement_options(select_stmt)
        if entities is None:  # columns only: their values, read from the statement's rows
            entities = list(raw_columns(select_stmt))
    return FromStatement(entities, options, statement, statement_execution_options(select_stmt))


def _without_joins(plans: list[Any]) -> list[Any]:
    """Joined eager loads can't be added to a statement given whole: load lazily."""
    for plan in plans:
        if plan is None:
            continue
        stack = [plan]
        while stack:
            p = stack.pop()
            for node in p.nodes.values():
                if node.strategy == "joined":
                    node.strategy = "select"
                stack.append(node.plan)
    return plans


def _loose_names(c: object) -> list[str]:
    """The result keys a column of the mapped table answers to in a statement given
    whole, most specific first: ``users_id`` (the table-qualified label), ``id``."""
    name = getattr(c, "name", None)
    if name is None:
        return []
    tname = getattr(getattr(c, "table", None), "name", None)
    out = [f"{tname}_{name}"] if tname else []
    out.append(name)
    key = getattr(c, "key", None)
    if key and key != name:
        out.append(key)
    return out


def _column_finder(statement: Any, result: Any) -> Any:
    """``find(column)``: how the result's rows hold ``column``: the column itself
    (the statement selects it), the position of a column of that name (a textual
    statement, or columns written by name: ``column("id")``, ``text().columns()``,
    ``users_id`` labels), or None.  From_statement() matches by name loosely, as
    SQLAlchemy does."""
    keys = list(result.keys())
    positions: dict[str, int] = {}
    for i, k in enumerate(keys):
        positions.setdefault(k, i)
    if isinstance(statement, TextClause) and not hasattr(statement, "selected_columns"):
        selected = None
    else:
        selected = _columns_of(statement)

    def find(c: object) -> object:
        if selected is not None and selected.contains_column(c):
            return c
        for n in _loose_names(c):
            if n in positions:
                return positions[n]
        return None

    return find


def matched_rows(result: Any, statement: Any, layout: RowLayout,
                 extra: list[Any] | tuple[Any, ...] = ()) -> list[object]:
    """The result's rows with the layout's columns in its order, then ``extra`` (the
    columns of contains_eager() targets), each found by column, or by name: see
    :func:`_column_finder`."""
    try:
        find = _column_finder(statement, result)
        wanted: list[object] = []
        for c in [*layout.columns, *extra]:
            got = find(c)
            wanted.append(c if got is None else got)
        return list(result.columns(*wanted).all())
    except Exception as e:
        # a column the statement lacks stays a NoSuchColumnError (an InvalidRequestError
        # too), as code written for SQLAlchemy catches it by that class
        error = NoSuchColumnError if isinstance(e, NoSuchColumnError) else InvalidRequestError
        raise error(
            f"Can't load the query's entities from the statement given to "
            f"from_statement(): {e}; select every mapped column (by name for text())"
        ) from e


def _present(statement: object, result: object) -> Any:
    """``has(column)``: whether the statement's rows hold ``column``."""
    find = _column_finder(statement, result)
    return lambda c: find(c) is not None


def _prune_contains_eager(plan: EntityPlan, has: Any) -> None:
    """The contains_eager() targets load the columns the statement holds (the rest stay
    unloaded, as for the entities themselves)."""
    for node in plan.nodes.values():
        if node.strategy != "contains_eager":
            continue
        m = node.prop.mapper
        sel = node.alias if node.alias is not None else m.persist_selectable
        props = node.plan.props if node.plan.props is not None else m._load_props

        def present(p: Any, sel: Any = sel) -> bool:
            col = p.columns[0]
            found = sel.corresponding_column(col) if sel is not None else None
            return bool(has(found if found is not None else col))

        kept = tuple(p for p in props if p.key in m._pk_keys or present(p))
        if len(kept) != len(props):
            node.plan.props = kept
        _prune_contains_eager(node.plan, has)


def load_from_statement(session: SessionLike, entities: list[Any], options: Any,
                        statement: Any, params: Any, execution_options: Any,
                        populate_existing: bool, token: Any, bind_kw: Any = None,
                        eagerloads: bool = True) -> tuple[RowLayout, list[Any]]:
    """Run ``statement`` and load ``entities`` (with ``options``) from its rows: the
    layout of the results and the results (objects, or tuples of them and values).
    Column attributes the statement does not select stay unloaded (they load on
    access)."""
    layout = RowLayout(entities)
    statement = as_written(statement)
    criteria = criteria_options(options)
    if criteria:  # with_loader_criteria(): in the SELECTs the statement runs
        statement = apply_criteria_within(
            statement, criteria, [m for m in layout.mappers if m is not None])
    mappers = [p.mapper if kind == "entity" else None for kind, p in layout.parts]
    plans = build_plans(mappers, options, layout.part_sources()) \
        if eagerloads or options else None
    if plans is not None:
        plans = _without_joins(plans)
    runner: Any = session  # the Session's bind lookup and statement runner
    bind = runner._bind_for(layout.primary_mapper, statement, bind_kw)
    # (the do_orm_execute listeners already saw this load: no second event here)
    result = runner._run(statement, params or None, bind, execution_options)
    has = _present(statement, result)
    plans = _only_present_columns(mappers, plans, has)
    if plans is not None:
        for p in plans:
            if p is not None:
                _prune_contains_eager(p, has)
        layout = RowLayout(entities, [p.props if p is not None else None for p in plans])

    ncols = len(layout.columns)

    def run(stmt: Any) -> list[Any]:
        # stmt: the stand-in below with the contains_eager() targets' columns added
        # after the entities' (where their loaders read them): found in the statement
        extra = list(stmt.selected_columns)[ncols:] if stmt is not None else []
        return matched_rows(result, statement, layout, extra)

    if plans is None:
        out: list[object] = session._rows_to_results(layout, run(None), populate_existing, token)
        return layout, out
    # the statement is run as written: the plans are laid out on a SELECT of the
    # entities' columns that stands for it
    stand_in = core_select(*layout.columns)
    out = execute_with_plans(session, entities, plans, stand_in, [], False,
                             populate_existing, token, run, execution_options,
                             propagating_options(options))
    return layout, out


def _only_present_columns(mappers: list[Mapper | None], plans: list[EntityPlan | None] | None,
                          has: Callable[[Any], bool]) -> list[EntityPlan | None] | None:
    """The plans with each entity's column properties cut to those the statement
    selects (``has(column)``; the key columns stay): plans are made for entities
    that had none when a column is missing."""
    for i, m in enumerate(mappers):
        if m is None:
            continue
        plan = plans[i] if plans is not None else None
        props = plan.props if plan is not None and plan.props is not None else m._load_props
        kept = tuple(p for p in props if p.key in m._pk_keys or has(p.columns[0]))
        if len(kept) == len(props):
            continue
        if plans is None:
            plans = [EntityPlan(mm) if mm is not None else None for mm in mappers]
        target = plans[i]
        assert target is not None
        target.props = kept
    return plans
