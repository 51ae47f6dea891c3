"""What ORM INSERT/UPDATE/DELETE ... RETURNING gives back (callers: :mod:`.dml`,
:mod:`.dml_inherited`): when ``.returning()`` names a mapped class, the statement
returns the columns its entities load and the rows become objects through the
identity map, with the statement's loader options applied as for a SELECT
(load_only() narrows the columns, selectinload()/immediateload() load related
objects afterwards; a joined or subquery load of the returned class itself can't
be added to the DML statement and loads on access instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Column
from sqlalchemy import select as core_select
from sqlalchemy.engine import IteratorResult

from .._core import SimpleResultMetaData, annotations_of, statement_options
from ..instance.state import InstanceState, instance_state
from ..mapping.coercion import BUNDLE_KEY, dml_returning, dml_with_returning, entity_of
from ..mapping.mapper import Mapper
from ..query.entities import RowLayout
from ..query.option_plans import build_plans
from ..query.options import propagating_options
from ..query.plan_execution import execute_with_plans

if TYPE_CHECKING:
    from ..instance.seam import SessionLike
    from .base import SessionBase


class _Returned:
    """How the rows of ``.returning(Class, ...)`` become results: the entities, their
    layout and the plans of the statement's loader options (None: a plain load)."""

    def __init__(self, stmt: object, entities: list[Any]) -> None:
        self.entities = entities
        self.options = statement_options(stmt)
        layout = RowLayout(entities)
        mappers = [p.mapper if kind == "entity" else None for kind, p in layout.parts]
        plans = build_plans(mappers, self.options, layout.part_sources())
        props: list[Any] = [p.props if kind == "entity" else None for kind, p in layout.parts]
        if plans is not None:
            for plan in plans:  # a join can't be added to the DML statement: lazy instead
                for node in plan.nodes.values() if plan is not None else ():
                    if node.strategy in ("joined", "subquery"):
                        node.strategy = "select"
            props = [p.props if p is not None and p.props is not None else base
                     for p, base in zip(plans, props, strict=True)]
        # a column_property() that is a SQL expression (a correlated subquery ...) is
        # left out of RETURNING, which names the changed table's own columns: it loads
        # on access
        narrowed = [_table_props(m, pp) for m, pp in zip(mappers, props, strict=True)]
        if plans is not None or narrowed != props:
            layout = RowLayout(entities, narrowed)
            if plans is not None:
                for plan, pp in zip(plans, narrowed, strict=True):
                    if plan is not None:
                        plan.props = pp
        self.layout = layout
        self.plans = plans

    def load(self, session: SessionBase, rows: list[Any], populate_existing: bool,
             token: Any, execution_options: Any) -> list[Any]:
        if self.plans is None:
            return session._rows_to_results(self.layout, rows, populate_existing, token)
        return execute_with_plans(
            cast("SessionLike", session), self.entities, self.plans,
            core_select(*self.layout.columns), [], False, populate_existing, token,
            lambda _stmt: rows, execution_options, propagating_options(self.options))


def _table_props(mapper: Mapper | None, props: Any) -> Any:
    """``props`` (what ``mapper``'s entity loads) without the column properties whose
    column is not a table column."""
    if mapper is None or props is None:
        return None
    kept = tuple(p for p in props if isinstance(p.columns[0], Column))
    return props if len(kept) == len(props) else kept


def returning_plan(stmt: object) -> tuple[_Returned | None, Any]:
    """(how rows load, statement): when ``.returning()`` names a mapped class, the
    statement RETURNING the columns its entities load; else (None, stmt)."""
    elements = dml_returning(stmt)
    if not elements:
        return None, stmt
    entities: list[Any] = []
    found = False
    for e in elements:
        m = entity_of(e)
        bundle = annotations_of(e).get(BUNDLE_KEY) if m is None else None
        if m is not None:
            entities.append(m.class_)
            found = True
        elif bundle is not None:  # a composite attribute: read back as its objects
            entities.append(bundle)
            found = True
        else:
            entities.append(e)
    if not found:
        return None, stmt
    returned = _Returned(stmt, entities)
    return returned, dml_with_returning(stmt, returned.layout.columns)


def object_result(layout: RowLayout, objs: list[Any]) -> Any:
    """The Result of the loaded ``objs`` (objects of one entity, else rows)."""
    if layout.single_entity:
        return IteratorResult(SimpleResultMetaData(layout.names), iter(objs),
                              _source_supports_scalars=True)
    return IteratorResult(SimpleResultMetaData(layout.names), iter([tuple(o) for o in objs]))


def entity_states(layout: RowLayout, objs: list[Any], mapper: Mapper) -> list[InstanceState]:
    """The states of the ``mapper`` objects in result rows ``objs``."""
    out: list[InstanceState] = []
    if layout.single_entity:
        return [instance_state(o) for o in objs if o is not None]
    for i, (kind, p) in enumerate(layout.parts):
        if kind == "entity" and p.mapper is mapper:
            out.extend(instance_state(row[i]) for row in objs if row[i] is not None)
    return out
