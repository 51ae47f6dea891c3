"""The SELECT of an entity query with eager loaders, and running it.

Callers: ``Query`` (``compiling.py``, ``execution.py``), ``from_statement.py``,
``entities.py``, the session's ``execute()`` and ``refresh``.  Given the plans
:func:`option_plans.build_plans` made, :func:`plans_statement` adds their eager
joins to the statement (making a LIMITed query a subquery the joins hang off
when a joined collection would multiply its rows) and :func:`execute_with_plans`
runs it, turns the rows into objects and lets each plan's eager loaders
populate them; ``unique_rows``/``unique_entity_rows`` drop the repeats a joined
collection causes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, Column, Table, select
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.util import ClauseAdapter

from .._core import for_update_arg, has_group_by, order_term_expression
from ..instance.seam import SessionLike
from ..loading.criteria import LoaderCriteriaOption
from ..loading.plans import EntityPlan, remember_plan
from ..loading.rows import _GC_PAUSE_ROWS, resume_gc
from ..loading.strategies import (
    add_joined,
    contains_eager_columns,
    load_joined_collection,
    populate,
)
from .aliased import AliasedClass
from .entities import RowLayout


def plans_statement(entities: list[Any], plans: list[EntityPlan | None], base: Any,
                    order_by: list[Any], limited: bool,
                    criteria: tuple[LoaderCriteriaOption, ...] = ()) -> tuple[Any, Any]:
    """The SELECT of an entity query with its plans' eager joins added to ``base``, and
    the row layout of its leading columns (``str(query)`` shows it; the query runs it).

    With LIMIT/OFFSET and a joined collection, or with GROUP BY and any joined eager
    load, the query becomes a subquery the eager joins hang off, so that the limit
    counts (and the GROUP BY groups) parent rows only.
    """
    layout = RowLayout(entities, [p.props if p is not None else None for p in plans])
    stmt = base
    parent_sels = _parent_selectables(entities, plans)
    extra_order: list[object] = []
    if any(p is not None and p.has_joined() for p in plans):
        # with LIMIT/OFFSET, the joined rows of a collection would be counted with the
        # parents'; with GROUP BY, any eager join's columns (a many-to-one's too) would
        # be grouped with them (an error outside the GROUP BY list on PostgreSQL and
        # MySQL): the query becomes a subquery the eager joins hang off instead
        if has_group_by(base) or (limited and any(
                p is not None and p.multiplies_rows() for p in plans)):
            # (what contains_eager() reads from the query's own joins is inside it too)
            stmt, extra_order, inner = _limited_inner(
                base, layout.columns, order_by,
                [*_join_columns(plans, parent_sels),
                 *(c for p in plans if p is not None for c in contains_eager_columns(p))])
            parent_sels = [inner if sel is not None else None for sel in parent_sels]
        else:
            stmt = _lock_parents_only(stmt, parent_sels)
            inner = None
        ncols = len(layout.columns)
        for plan, sel in zip(plans, parent_sels, strict=True):
            if plan is not None and plan.has_joined():
                stmt, ncols = add_joined(stmt, plan, sel, ncols, extra_order, criteria,
                                         wrap=inner)
        if extra_order:
            stmt = stmt.order_by(*extra_order)
    return stmt, layout


def _parent_selectables(entities: list[Any], plans: list[EntityPlan | None]) -> list[object]:
    """Where each entity's eager joins start: its table, or the selectable of an aliased
    entity (aliased(), the subquery of a union() ...); None without a plan."""
    parent_sels: list[object] = []
    for i, p in enumerate(plans):
        ent = entities[i] if i < len(entities) else None
        if p is None:
            parent_sels.append(None)
        elif isinstance(ent, AliasedClass) and ent._dm_mapper is p.mapper:
            parent_sels.append(ent._dm_selectable)
        else:
            parent_sels.append(p.mapper.local_table)
    return parent_sels


def _join_columns(plans: list[EntityPlan | None], parent_sels: list[Any]) -> list[object]:
    """The columns of the entities' own rows that their joined eager loads join on
    (for a joined-table subclass they may be columns of a table the entity's
    attributes do not select, as the subclass table's key column)."""
    out: list[Any] = []
    for plan, sel in zip(plans, parent_sels, strict=True):
        if plan is None or sel is None:
            continue
        tables = set(plan.mapper.tables)
        for node in plan.nodes.values():
            if node.strategy != "joined":
                continue
            # (a relationship of a with_polymorphic() subclass: its table's columns)
            parent_tables = tables | set(node.prop.parent.tables) \
                if node.prop.parent is not plan.mapper else tables
            for c in visitors.iterate(node.prop.primaryjoin):
                if isinstance(c, Column) and c.table in parent_tables:
                    cc = c if isinstance(sel, Table) else sel.corresponding_column(c)
                    if cc is not None and not any(cc is o for o in out):
                        out.append(cc)
    return out


def _limited_inner(base: Any, columns: list[Any], order_by: list[Any],
                   join_columns: list[Any]) -> tuple[Any, list[Any], Any]:
    """A LIMITed query with a joined collection: (the SELECT of ``columns`` from the
    limited query as a subquery, its ORDER BY adapted to the subquery, the subquery).
    The subquery also selects the ``join_columns`` the eager joins outside it need."""
    # an attribute of an aliased() class is a label: the SELECT inside selects it
    # labelled, not the bare name "id" (whatever column of that name is in reach)
    order_by = [_unlabelled(ob) for ob in order_by]
    if order_by:
        # the outer ORDER BY reads the subquery: it selects what the query is ordered by
        # (a column of a table joined inside it, as join(User.orders).order_by(Order.x))
        base = _with_order_columns(base, order_by)
    missing: list[Any] = []
    for c in join_columns:
        if base.selected_columns.corresponding_column(c) is None and \
                not any(c is m for m in missing):
            missing.append(c)
    if missing:
        base = base.add_columns(*missing)
    inner = base.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL).subquery()
    stmt = select(*[inner.corresponding_column(c) for c in columns])
    adapter = ClauseAdapter(inner)
    extra_order = [adapter.traverse(ob.__clause_element__()
                                    if hasattr(ob, "__clause_element__") else ob)
                   for ob in order_by]
    return stmt, extra_order, inner


_ORDERING = (operators.desc_op, operators.asc_op, operators.nulls_first_op,
             operators.nulls_last_op)


def _unlabelled(ob: Any) -> Any:
    """An ORDER BY term as the expression it orders by (see
    :func:`~datamapper._core.order_term_expression`; also under an ordering modifier:
    desc(), nulls_first() ...)."""
    expr = order_term_expression(
        ob.__clause_element__() if hasattr(ob, "__clause_element__") else ob)
    if isinstance(expr, UnaryExpression) and expr.modifier in _ORDERING:
        inner = order_term_expression(expr.element)
        if inner is not expr.element and isinstance(inner, ColumnElement):
            return UnaryExpression(inner, modifier=expr.modifier)
    return expr


def _with_order_columns(stmt: Any, order_by: list[Any]) -> object:
    """A SELECT that becomes the subquery eager joins hang off selects the columns it
    is ordered by too (else the outer ORDER BY, adapted to the subquery, would name a
    table outside it)."""
    selected = list(stmt.selected_columns)
    extra: list[object] = []
    for ob in order_by:
        expr = ob.__clause_element__() if hasattr(ob, "__clause_element__") else ob
        while isinstance(expr, UnaryExpression) and expr.modifier in _ORDERING:
            expr = expr.element  # desc(), asc(), nulls_first() ...
        if isinstance(expr, ColumnElement) and not any(
                expr.compare(c) for c in selected + extra):
            extra.append(expr)
    return stmt.add_columns(*extra) if extra else stmt


def execute_with_plans(session: SessionLike, entities: list[Any], plans: list[EntityPlan | None],
                       base: Any, order_by: list[Any], limited: bool, populate_existing: bool,
                       token: Any, run: Any, execution_options: Any = None,
                       user_options: tuple[Any, ...] = (),
                       criteria: tuple[LoaderCriteriaOption, ...] = (),
                       populate_below: bool | None = None) -> list[object]:
    """Run an entity query whose plans differ from a plain load; ``base`` is the statement
    selecting ``entities`` (with the plans' column choices), ``run(stmt)`` returns its rows
    (the statement is :func:`plans_statement`'s); ``criteria``: the statement's
    ``with_loader_criteria()`` options, for its eager joins; ``populate_below``: whether
    the eager loaders overwrite the related objects already in the session (None: as
    ``populate_existing`` says; ``refresh()`` refreshes its own object only)."""
    stmt, layout = plans_statement(entities, plans, base, order_by, limited, criteria)
    if populate_below is not None and populate_below != populate_existing:
        return _load_with_plans(session, layout, plans, run(stmt), populate_existing, token,
                                execution_options, user_options, populate_below)
    if not gc.isenabled():
        return _load_with_plans(session, layout, plans, run(stmt), populate_existing, token,
                                execution_options, user_options)
    # Every row fetched and every object and collection made from them stays reachable
    # until the load is done (the rows), or after it (the objects, from the results and
    # the identity map): the cyclic collector is paused from the fetch on, and for a
    # large result until they are all built (see rows.resume_gc), as instances() does
    # for the rows of one entity.  With it on, the allocations of the eager loaders
    # (children, their collections, the groups) trigger collections that traverse
    # every object loaded so far, again and again (a joined load of 10,000 parents with
    # 100,000 children spent about half its time there).
    gc.disable()
    try:
        rows = run(stmt)
    except BaseException:
        gc.enable()
        raise
    if len(rows) < _GC_PAUSE_ROWS:
        gc.enable()
        return _load_with_plans(session, layout, plans, rows, populate_existing, token,
                                execution_options, user_options)
    try:
        return _load_with_plans(session, layout, plans, rows, populate_existing, token,
                                execution_options, user_options)
    finally:
        resume_gc()


def stream_with_plans(session: SessionLike, entities: list[Any], plans: list[EntityPlan | None],
                      base: Any, order_by: list[Any], limited: bool, populate_existing: bool,
                      token: Any, run_result: Any, size: int, execution_options: Any = None,
                      user_options: tuple[Any, ...] = (),
                      criteria: tuple[LoaderCriteriaOption, ...] = ()
                      ) -> tuple[Any, Iterator[Any]]:
    """:func:`execute_with_plans` for ``yield_per``: runs the statement now
    (``run_result(stmt)`` gives the Core result) and returns that result with an
    iterator of the objects (rows) that reads it ``size`` rows at a time; each batch's
    objects get their eager loads (one SELECT per batch for a selectinload()) before
    the next batch is fetched.  The plans are ones a batch completes
    (``check_yield_per_plans``)."""
    stmt, layout = plans_statement(entities, plans, base, order_by, limited, criteria)
    result = run_result(stmt)

    def batches() -> Iterator[Any]:
        try:
            while True:
                rows = result.fetchmany(size)
                if not rows:
                    return
                yield from _load_with_plans(session, layout, plans, rows, populate_existing,
                                            token, execution_options, user_options)
        finally:
            result.close()

    return result, batches()


def _load_with_plans(session: SessionLike, layout: RowLayout, plans: list[EntityPlan | None],
                     rows: list[Any], populate_existing: bool, token: object,
                     execution_options: Any, user_options: tuple[Any, ...],
                     populate_below: bool | None = None) -> list[Any]:
    single = layout.single_entity
    one_pass = single  # the one-pass joined collection below takes one flag for both
    if populate_below is None:
        populate_below = populate_existing
    elif populate_below != populate_existing:
        one_pass = False
    if one_pass and len(plans) == 1 and plans[0] is not None and len(layout.parts) == 1 and \
            layout.parts[0][0] == "entity":
        # one joined eager collection: parents and children in one pass (None: not that)
        done = load_joined_collection(session, layout.parts[0][1], plans[0], rows,
                                      populate_existing, token)
        if done is not None:
            return done
    results: list[Any] = session._rows_to_results(layout, rows, populate_existing, token)
    # the statement's execution options apply to the SELECTs of its eager loaders too
    outer = session._eager_exec_opts, session._eager_user_opts
    session._eager_exec_opts = execution_options or None
    session._eager_user_opts = user_options
    try:
        for i, plan in enumerate(plans):
            if plan is not None and not plan.is_default():
                objs = results if single else [r[i] for r in results]
                populate(session, plan, objs, rows, populate_below, token)
                if plan.customized:
                    remember_plan(plan, objs)
    finally:
        session._eager_exec_opts, session._eager_user_opts = outer
    if any(p is not None and p.may_repeat_rows() for p in plans):
        results = unique_rows(results, single)
    return results


def _lock_parents_only(stmt: Any, parent_tables: list[Any]) -> object:
    """FOR UPDATE with eager outer joins locks the queried entities' rows only
    (PostgreSQL refuses to lock the nullable side of an outer join)."""
    arg = for_update_arg(stmt)
    if arg is None or arg.of is not None:
        return stmt
    tables = [t for t in parent_tables if t is not None]
    if not tables:
        return stmt
    return stmt.with_for_update(read=arg.read, nowait=arg.nowait, skip_locked=arg.skip_locked,
                                key_share=arg.key_share, of=tables)


def unique_rows(results: list[Any], single: bool) -> list[object]:
    """``results`` without repeats: an object by identity, a row by its objects'
    identities and its other values; a row holding an unhashable value is kept."""
    if single:
        # the same id is the same object: the dict keeps each once, in first-seen order
        return list({id(r): r for r in results}.values())
    return _first_of_each(results, lambda r: tuple([id(x) if hasattr(x, "__dict__") else x
                                                    for x in r]))


def _first_of_each(results: list[Any], key_of: Any) -> list[object]:
    """The rows of ``results`` whose ``key_of(row)`` was not seen before, in order; a
    row whose key can't be hashed (an unhashable value) is always kept."""
    seen: set[object] = set()
    add = seen.add
    out: list[Any] = []
    append = out.append
    for r in results:
        key = key_of(r)
        try:
            if key in seen:
                continue
            add(key)
        except TypeError:
            pass
        append(r)
    return out


def unique_entity_rows(results: list[Any], entity_positions: list[int], width: int
                       ) -> list[object]:
    """``unique_rows`` for rows of a known shape: the objects at ``entity_positions``
    compared by identity, the other values by value (a row holding an unhashable value
    is kept); the key is built with no per-value type test."""
    others = [i for i in range(width) if i not in entity_positions]
    ents = itemgetter(*entity_positions)
    if not others:
        if len(entity_positions) == 1:
            return list({id(ents(r)): r for r in results}.values())
        return list({tuple(map(id, ents(r))): r for r in results}.values())
    vals = itemgetter(*others)
    one = len(entity_positions) == 1
    try:
        if one:
            return list({(id(ents(r)), vals(r)): r for r in results}.values())
        return list({(tuple(map(id, ents(r))), vals(r)): r for r in results}.values())
    except TypeError:  # an unhashable value: such rows are all kept
        pass
    return _first_of_each(results, lambda r: (id(ents(r)) if one else tuple(map(id, ents(r))),
                                              vals(r)))

