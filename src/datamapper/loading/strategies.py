"""Eager relationship loading and per-query column choices.

Callers: the query layer (``Query`` and ORM ``select()`` with loader options
or relationships configured ``lazy="joined"/"selectin"/"subquery"``), the
session (``get()``) and lazy loading (eager defaults of the loaded target).

A load is described by an :class:`~.plans.EntityPlan` per selected entity
(``loading/plans.py``): which column attributes to SELECT
(``defer``/``undefer``/``load_only``) and a :class:`~.plans.RelNode` per
relationship whose strategy differs from a plain lazy load.  This module runs
them.  Strategies:

- ``joined``: the main statement gets a LEFT OUTER JOIN to an anonymous alias
  of the target (and of the secondary table), the target's columns appended;
  :func:`add_joined` builds it, :func:`populate` turns each row's slice into
  objects and groups them under their parents.
- ``selectin`` (and ``subquery``, which shares it): one more SELECT per
  relationship level, ``WHERE <remote columns> IN (<parent values>)``, batched
  by :data:`IN_BATCH` parent keys.
- ``contains_eager``: like ``joined`` but the columns come from a table the
  statement already joins.
- ``immediate``: each parent's relationship is lazy loaded right after the
  parents load (a SELECT per parent).
- ``noload`` sets the attribute empty, ``raise`` marks it so that a lazy load
  refuses, ``select`` keeps it lazy (overriding an eager default).

Already loaded attributes are never replaced (their unflushed changes kept)
unless ``populate_existing`` asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Join, Select, and_, select, tuple_
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.schema import Column
from sqlalchemy.sql.util import ClauseAdapter, find_tables

from ..instance.collection_impl import CollectionImpl
from ..instance.collections import instrumented_class
from ..instance.seam import SessionLike
from ..instance.state import COLUMN_RAISE, STATE_ATTR, InstanceState
from ..mapping.inheritance import (
    class_criterion,
    join_target,
    polymorphic_from,
    polymorphic_props,
    with_polymorphic_mappers,
)
from ..mapping.mapper import Mapper
from ..mapping.relationship_clauses import target_tables
from ..mapping.relationships import (
    MANYTOMANY,
    RelationshipProperty,
    _non_pair_criteria,
    flat_alias,
)
from .criteria import (
    LoaderCriteriaOption,
    apply_loader_criteria,
    criteria_for_target,
    criteria_options,
)
from .plans import (  # re-exported: the plans this module runs
    LAZY_PLANS_KEY,
    LAZY_SELECT_KEY,
    LOAD_PLAN_KEY,
    RAISE_KEY,
    RAISE_SQL_KEY,
    EntityPlan,
    RelNode,
    default_plan,
    remember_plan,
    scalar_of,
    stamp_user_options,
)
from .rows import (
    _EMPTY,
    EntityLoader,
    _direct_set_ok,
    entity_loader,
    fast_loop_ok,
    fast_loops_on,
    fetch_rows,
    instances,
    make_joined_loop,
    populate_state,
)
from .target_from import columns_of


# -- statements ------------------------------------------------------------------------
def _replace(clause: Any, pick: Any) -> Any:
    if hasattr(clause, "__clause_element__"):
        clause = clause.__clause_element__()

    def fn(elem: Any) -> Any:
        # (a table's column, or a subquery's: relationship(aliased(Child, subquery))
        # may name a column of its own, such as a window function's)
        if isinstance(elem, ColumnClause) and elem.table is not None:
            sel = pick(elem)
            if sel is not None:
                return sel.corresponding_column(elem)
        return None

    out: Any = visitors.replacement_traverse(clause, {}, fn)  # type: ignore[call-overload]  # clause is typed Any (a column expression or join condition): no overload of Core's matches Any
    return out


# parent keys per selectin SELECT (IN list)
IN_BATCH = 500

def join_clauses(prop: RelationshipProperty, parent_sel: Any, target_sel: Any,
                 secondary_sel: Any = None) -> list[Any]:
    """The relationship's join condition(s) between ``parent_sel`` (the parent's table or
    an alias/subquery of it) and ``target_sel`` (an alias of the target table)."""
    parent_t = prop.parent.local_table
    target_t = prop.mapper.local_table
    targets = _target_tables(prop)
    if prop.direction == MANYTOMANY:
        in_sec = prop.is_secondary_column

        # each column of a many-to-many's joins other than the secondary's is the
        # parent's (primaryjoin) or the target's (secondaryjoin), even one of a table
        # both map (joined-table siblings, Engineer.managers to Manager: person.id)
        def pick_p(c: Any) -> Any:
            return parent_sel if c.table is parent_t or not in_sec(c) else secondary_sel

        def pick_s(c: Any) -> Any:
            return target_sel if c.table in targets or not in_sec(c) else secondary_sel

        return [_replace(prop.primaryjoin, pick_p), _replace(prop.secondaryjoin, pick_s)]
    self_ref = parent_t is target_t
    alt = prop.target_from

    def pick(c: Any) -> Any:
        if c.table is alt or (prop.is_remote_occurrence(c) if self_ref else
                              (c.table in targets)):
            return target_sel
        if c.table is parent_t:
            return parent_sel
        return None

    return [_replace(prop.primaryjoin, pick)]


_target_tables = target_tables


def target_alias(target: Mapper, mappers: Sequence[Mapper] = ()) -> Any:
    """An anonymous alias of what ``target``'s rows are read from: its table, or the
    join of an alias of each of its tables (a joined-table subclass), outer joined to
    the tables of ``mappers`` (subclasses whose columns are read too)."""
    sel = polymorphic_from(target, list(mappers)) if mappers or target._poly is not None \
        else target.persist_selectable
    return flat_alias(sel) if isinstance(sel, Join) else target.local_table.alias()


def joined_subclasses(target: Mapper, plan: EntityPlan) -> list[Mapper]:
    """The subclasses of ``target`` a joined eager load reads the columns of: those
    its mapper names in ``with_polymorphic``, and those of an ``of_type()``."""
    out = with_polymorphic_mappers(target) if target._poly is not None else []
    for m in plan.poly_with or ():
        if m not in out and m is not target:
            out.append(m)
    return out


def _target_order_by(prop: RelationshipProperty, target_sel: Any,
                     secondary_sel: Any = None) -> list[Any]:
    """The relationship's ``order_by`` reading the joined aliases: the target's, and
    the secondary's for a many-to-many ordered by a column of its association table."""
    if not prop.order_by:
        return []
    targets = _target_tables(prop)
    in_sec = prop.is_secondary_column if secondary_sel is not None else None

    def pick(c: Any) -> Any:
        if c.table in targets:
            return target_sel
        if in_sec is not None:  # (many-to-many: see join_clauses)
            return secondary_sel if in_sec(c) else target_sel
        return None

    return [_replace(ob, pick) for ob in prop.order_by]


def add_joined(stmt: Any, plan: EntityPlan, parent_sel: Any, ncols: int,
               order_by: list[Any], criteria: Sequence[LoaderCriteriaOption] = (),
               outer_above: bool = False, wrap: Any = None) -> tuple[Any, int]:
    """Add the joins and columns of ``plan``'s joined and contains_eager nodes (nested)
    to ``stmt``, whose first ``ncols`` columns are already laid out; the relationships'
    ``order_by`` (adapted) is appended to ``order_by``; ``criteria``: the
    ``with_loader_criteria()`` options the joined targets' rows must meet (in the ON
    clause).

    A node asking for an inner join (``innerjoin=True``) gets one only where every
    eager join above it is inner too (``outer_above`` false): below an outer join, an
    inner join would drop the rows of the parents above that have no related row.

    ``wrap``: the subquery a LIMITed query became (``plans_statement``); the query's own
    joins are inside it, so contains_eager() columns (and the joins hanging off them)
    are read from it (:func:`contains_eager_columns` put them there)."""
    for node in plan.nodes.values():
        prop = node.prop
        target = prop.mapper
        props = node.plan.props
        outer = outer_above
        if node.strategy == "joined":
            # (of_type(aliased(Sub)): Sub's rows only, its tables inner-joined to the
            # base's inside the eager join)
            target = node.plan.mapper
            inner = node.innerjoin if node.innerjoin is not None else bool(prop.innerjoin)
            # (a relationship of a subclass whose table the parent rows read: the rows
            # of the other classes have no parent for it, an inner join would drop them)
            outer = outer_above or not inner or (
                prop.parent is not plan.mapper and not plan.mapper.isa(prop.parent))
            subclasses = joined_subclasses(target, node.plan)
            if prop.target_from is not None and target is prop.mapper and not subclasses:
                # relationship(aliased(Child, selectable)): an alias of the selectable
                talias = flat_alias(prop.target_from)
            else:
                talias = target_alias(target, subclasses)
            if props is None and node.plan.poly_with:
                props = polymorphic_props(target, subclasses)
            crit = criteria_for_target(criteria, target, talias)
            single = class_criterion(target)
            if single is not None:  # a single-table subclass: its rows only
                crit = [ClauseAdapter(talias).traverse(single), *crit]
            salias = flat_alias(prop.secondary) if prop.direction == MANYTOMANY else None
            if node.plan.local_criteria:
                local = ClauseAdapter(talias)
                if salias is not None:
                    local = local.chain(ClauseAdapter(salias))
                crit = [*crit, *(local.traverse(c) for c in node.plan.local_criteria)]
            if salias is not None:
                pj, sj = join_clauses(prop, parent_sel, talias, salias)
                if crit:
                    sj = and_(sj, *crit)
                # the target is joined to the secondary inside the outer join: a secondary
                # row without its target row (a secondary that is a join or a selectable,
                # a row missing) gives no member instead of a row of NULLs
                stmt = stmt.join_from(parent_sel, salias.join(talias, sj), pj, isouter=outer)
            else:
                (on,) = join_clauses(prop, parent_sel, talias)
                if crit:
                    on = and_(on, *crit)
                stmt = stmt.join_from(parent_sel, talias, on, isouter=outer)
            sel = talias
            order_by.extend(_target_order_by(prop, talias, salias))
        elif node.strategy == "contains_eager":
            # without alias=: what a join to the target reads (its own tables, a
            # joined-table subclass's join; with its mapping's with_polymorphic
            # subclasses' tables, whose columns its loader reads too)
            sel = node.alias if node.alias is not None else join_target(target)
            if props is None and node.plan.poly_with:
                # contains_eager(A.bs.of_type(B1)): B1's columns are in the join too
                props = polymorphic_props(target, list(node.plan.poly_with))
        else:
            continue
        if node.strategy == "contains_eager" and node.alias is not None and props is None \
                and target._poly is not None and not _reads_poly_columns(node.alias, target):
            # an alias of the base table alone, the class mapped with_polymorphic: its
            # own columns (the subclass columns load when first read, as for query(alias))
            props = target._load_props
        loader = entity_loader(target, offset=ncols, props=props)
        cols = []
        adapter: Any = None
        for c in loader.columns:
            cc = sel.corresponding_column(c)
            if cc is None and not isinstance(c, Column):
                # a SQL expression (column_property(), with_expression()): its target
                # table columns read from the alias the join uses
                if adapter is None:
                    adapter = ClauseAdapter(sel)
                cc = adapter.traverse(c).label(None)
            if cc is None:
                from sqlalchemy.exc import InvalidRequestError

                raise InvalidRequestError(
                    f"Can't eager load {prop.parent.class_.__name__}.{prop.key}: column {c} "
                    f"is not in {sel}; join the target table (or pass alias=) first"
                )
            cols.append(cc)
        child_wrap = None
        if wrap is not None and node.strategy == "contains_eager":
            cols = [_wrapped(wrap, cc, prop) for cc in cols]
            sel = child_wrap = wrap
        stmt = stmt.add_columns(*cols)
        node.loader = loader
        ncols += len(cols)
        stmt, ncols = add_joined(stmt, node.plan, sel, ncols, order_by, criteria, outer,
                                 child_wrap)
    return stmt, ncols


def _reads_poly_columns(sel: Any, mapper: Mapper) -> bool:
    """Whether ``sel`` has the columns of ``mapper``'s with_polymorphic subclasses."""
    return all(sel.corresponding_column(c) is not None or not isinstance(c, Column)
               for c in entity_loader(mapper).columns)


def _wrapped(wrap: Any, col: Any, prop: RelationshipProperty) -> Any:
    """``col`` (of a table the query joins) as ``wrap``, the subquery around the query,
    selects it."""
    out = wrap.corresponding_column(col)
    if out is None:
        from sqlalchemy.exc import InvalidRequestError

        raise InvalidRequestError(
            f"Can't eager load {prop.parent.class_.__name__}.{prop.key} with "
            f"contains_eager() in a LIMITed query: column {col} is not selected by its "
            "subquery; select the related entity's columns explicitly"
        )
    return out


def contains_eager_columns(plan: EntityPlan) -> list[Any]:
    """The columns of the query's own joins that ``plan``'s contains_eager() nodes (and
    the eager joins below them) read: a LIMITed query that becomes a subquery selects
    them inside it."""
    out: list[Any] = []
    for node in plan.nodes.values():
        if node.strategy != "contains_eager":
            continue
        target = node.prop.mapper
        sel = node.alias if node.alias is not None else target.persist_selectable
        for c in entity_loader(target, props=node.plan.props).columns:
            cc = sel.corresponding_column(c)
            if cc is not None:
                out.append(cc)
        for child in node.plan.nodes.values():
            if child.strategy == "joined":
                for c in visitors.iterate(child.prop.primaryjoin):
                    if isinstance(c, Column):
                        cc = sel.corresponding_column(c)
                        if cc is not None:
                            out.append(cc)
        out.extend(contains_eager_columns(node.plan))
    return out


# -- populating -----------------------------------------------------------------------
def _assign(prop: RelationshipProperty, obj: Any, items: Sequence[Any], overwrite: bool) -> None:
    d = obj.__dict__
    key = prop.key
    if key in d and not overwrite:
        return
    state = d[STATE_ATTR]
    impl = state.mapper._impls[key]
    impl.set_committed(state, obj, list(items) if prop.uselist else
                       scalar_of(prop, items, "eagerly"))
    if state.expired_attributes and key in state.expired_attributes:
        state.loaded((key,))


def populate(session: SessionLike, plan: EntityPlan, objs: Sequence[Any], rows: Sequence[Any],
             populate_existing: bool, token: Any) -> None:
    """Load ``plan``'s relationships for ``objs`` (one per row of ``rows``, None allowed)."""
    unique: list[Any] | None = None
    if plan.column_raise:
        _stamp_column_raise(plan.column_raise, objs)
    if plan.poly_selectin:
        unique = _unique(objs)
        load_subclass_columns(session, plan.mapper, plan.poly_selectin, unique,
                              populate_existing)
    for node in plan.nodes.values():
        strategy = node.strategy
        if strategy in ("joined", "contains_eager"):
            parents = objs
            if node.prop.parent is not plan.mapper and not plan.mapper.isa(node.prop.parent):
                # a relationship of a subclass whose table the SELECT reads: the rows
                # of that subclass's objects only
                cls = node.prop.parent.class_
                parents = [o if isinstance(o, cls) else None for o in objs]
            _populate_joined(session, node, parents, rows, populate_existing, token)
            continue
        if unique is None:
            unique = _unique(objs)
        if node.prop.parent is not plan.mapper and not plan.mapper.isa(node.prop.parent):
            # a relationship of a subclass: the objects of that subclass only
            cls = node.prop.parent.class_
            _load_node(session, node, [o for o in unique if isinstance(o, cls)],
                       populate_existing, token)
            continue
        _load_node(session, node, unique, populate_existing, token)


def _load_node(session: SessionLike, node: RelNode, unique: list[Any],
               populate_existing: bool, token: Any) -> None:
    """Load one non-joined relationship node of a plan for ``unique`` parents."""
    strategy = node.strategy
    if strategy in ("selectin", "subquery"):
        load_selectin(session, node, unique, populate_existing, token)
    elif strategy == "immediate":
        _load_immediate(session, node, unique, populate_existing)
    elif strategy == "noload":
        for o in unique:
            _assign(node.prop, o, (), False)
    elif strategy == "select":
        if node.prop.lazy != "select":  # lazyload() over lazy="raise"/"noload"/...
            for o in unique:
                if node.prop.key not in o.__dict__:
                    st = o.__dict__[STATE_ATTR]
                    st.extra().setdefault(LAZY_SELECT_KEY, set()).add(node.prop.key)
        if node.plan.customized:
            # options below a lazy relationship apply when it loads
            for o in unique:
                if node.prop.key not in o.__dict__:
                    st = o.__dict__[STATE_ATTR]
                    st.extra().setdefault(LAZY_PLANS_KEY, {})[node.prop.key] = node.plan
    elif strategy in ("raise", "raise_on_sql"):
        mark = RAISE_KEY if strategy == "raise" else RAISE_SQL_KEY
        for o in unique:
            if node.prop.key not in o.__dict__:
                st = o.__dict__[STATE_ATTR]
                st.extra().setdefault(mark, set()).add(node.prop.key)


def load_subclass_columns(session: SessionLike, base: Mapper, mappers: Sequence[Mapper],
                          objs: Sequence[Any], populate_existing: bool) -> None:
    """``selectin_polymorphic()``: for the objects among ``objs`` (loaded as ``base``)
    of each subclass in ``mappers``, load that subclass's columns, one SELECT ... WHERE
    <primary key> IN (...) per subclass and batch of keys."""
    for m in mappers:
        keys = [p.key for p in m._load_props if p.key not in base._props]
        if not keys:
            continue
        cls = m.class_
        todo: dict[tuple[Any, ...], Any] = {}
        for o in objs:
            if o is None or not isinstance(o, cls):
                continue
            d = o.__dict__
            st = d[STATE_ATTR]
            if st.key is None or not (populate_existing or any(k not in d for k in keys)):
                continue
            todo[tuple(st.key[1])] = o
        if not todo:
            continue
        pk = list(m.primary_key)
        cols = [m._props[k].columns[0] for k in keys]
        stmt = select(*pk, *cols).select_from(m.persist_selectable)
        bind = session.get_bind(mapper=m, clause=stmt)
        n = len(pk)
        idents = list(todo)
        for start in range(0, len(idents), IN_BATCH):
            batch = idents[start:start + IN_BATCH]
            crit = pk[0].in_([k[0] for k in batch]) if n == 1 else tuple_(*pk).in_(batch)
            rows = session._run(stmt.where(crit), {}, bind, session._eager_exec_opts, {
                "mappers": (m,), "column_load": True}).fetchall()
            for row in rows:
                o = todo.get(tuple(row[:n]))
                if o is not None:
                    populate_state(o.__dict__[STATE_ATTR], o, keys, row[n:],
                                   populate_existing)


def _stamp_column_raise(marks: dict[str, bool], objs: Sequence[Any]) -> None:
    """Remember on each loaded object which of its unloaded columns refuse to load
    (dropped again when the object or the attribute is expired)."""
    for o in objs:
        if o is None:
            continue
        d = o.__dict__
        mine = {k: v for k, v in marks.items() if k not in d}
        if mine:
            d[STATE_ATTR].extra().setdefault(COLUMN_RAISE, {}).update(mine)


def _load_immediate(session: SessionLike, node: RelNode, parents: Sequence[Any],
                    populate_existing: bool) -> None:
    """``immediateload``: each parent's relationship loaded right away by its own lazy
    load (one SELECT per parent, none for a many-to-one found in the identity map)."""
    from .related import lazy_load

    key = node.prop.key

    def level(parents: Sequence[Any]) -> list[Any]:
        loaded: list[Any] = []
        for o in parents:
            if key in o.__dict__ and not populate_existing:
                continue
            st = o.__dict__[STATE_ATTR]
            if st.key is None:
                continue
            if node.identity_only:
                _from_identity_map(session, st, node.prop)
                continue
            if node.plan.customized:
                st.extra().setdefault(LAZY_PLANS_KEY, {})[key] = node.plan
            # the plan below this node, not the target's defaults from a new path: a
            # self-referential lazy="immediate" stops where join_depth says
            lazy_load(session, st, node.prop, requested=True, plan=node.plan)
            value = o.__dict__.get(key)
            if value is not None:
                loaded.extend(value if node.prop.uselist else (value,))
        return loaded

    _recurse(node, level(parents), level)


def _from_identity_map(session: SessionLike, state: InstanceState, prop: RelationshipProperty) -> None:
    """Set many-to-one ``prop`` of ``state`` when the identity map holds its target."""
    d = state.obj().__dict__
    ident = tuple(d.get(k) for k in prop._m2o_fk_keys)
    if None in ident:
        return
    found = session._identity_map.get(
        (prop.mapper._identity_class, ident, state.identity_token))
    if found is not None and isinstance(found, prop.mapper.class_):
        prop.parent._impls[prop.key].set_committed(state, state.obj(), found)


def _recurse(node: RelNode, loaded: list[Any], level: Callable[[Sequence[Any]], list[Any]]
             ) -> None:
    """``recursion_depth``: load the same relationship of the objects each level loaded,
    level after level (an object is loaded into at most once: cycles end)."""
    depth = node.recursion_depth
    if not depth:
        return
    cls = node.prop.parent.class_
    seen: set[int] = set()
    while depth and loaded:
        depth = depth - 1 if depth > 0 else depth
        kids = []
        for o in loaded:
            if o is not None and id(o) not in seen and isinstance(o, cls):
                seen.add(id(o))
                kids.append(o)
        loaded = level(kids) if kids else []


_NO_PARENT = object()


def _ignore(_child: Any) -> None:
    """Where the children of a row without a parent go."""


def _populate_joined(session: SessionLike, node: RelNode, parents: Sequence[Any], rows: Sequence[Any],
                     populate_existing: bool, token: Any) -> None:
    loader = node.loader
    assert loader is not None
    children = instances(session, loader, rows, populate_existing, token)
    prop = node.prop
    groups: dict[int, tuple[Any, list[Any]]] = {}
    # the parent of the previous row (a parent's rows mostly come together) and where
    # the children of its rows go; a row without a parent adds nothing
    last: Any = _NO_PARENT
    append: Any = None
    for p, c in zip(parents, children, strict=True):
        if p is not last:
            last = p
            if p is None:
                append = _ignore
                continue
            g = groups.get(id(p))
            if g is None:
                g = groups[id(p)] = (p, [])
            append = g[1].append
        if c is not None:
            append(c)
    for p, items in groups.values():
        if len(items) > 1 and len(set(map(id, items))) != len(items):
            # the same child in several rows of its parent (another eager join's rows,
            # repeated parent rows): each once, where first seen
            items = list({id(c): c for c in items}.values())
        _assign(prop, p, items, populate_existing)
    if not node.plan.is_default():
        populate(session, node.plan, children, rows, populate_existing, token)


_JOINED_LOOPS_KEPT = 32  # generated joined row loops kept per parent loader


def load_joined_collection(session: SessionLike, parent: EntityLoader, plan: EntityPlan,
                           rows: Sequence[Any], populate_existing: bool, token: Any
                           ) -> list[Any] | None:
    """The parents of ``rows`` (each once, in first-seen order) with their one joined
    eager collection installed, in one pass over the rows; None (nothing done) unless
    ``plan`` is just that: one ``joinedload()`` of a plain list collection without
    options below it, both entities loadable by a generated row loop, no identity
    token, no ``load``/``refresh``/``loaded_as_persistent`` listeners, a weak identity
    map.  What :func:`populate` does for such a plan, without the list of children per
    row, the grouping pass and the copies of each collection."""
    if token is not None or len(plan.nodes) != 1 or plan.column_raise is not None or \
            plan.poly_selectin is not None or not fast_loops_on():
        return None
    (node,) = plan.nodes.values()
    child = node.loader
    prop = node.prop
    pmapper = parent.mapper
    if node.strategy != "joined" or child is None or not node.plan.is_default() or \
            plan.mapper is not pmapper or prop.parent is not pmapper or not prop.uselist or \
            prop.single_parent or node.recursion_depth:
        return None
    impl = pmapper._impls.get(prop.key)
    if type(impl) is not CollectionImpl or impl.collection_class is not list or \
            not fast_loop_ok(parent) or not fast_loop_ok(child):
        return None
    cmapper = child.mapper
    imap = session._identity_map
    lap = "loaded_as_persistent" in session.dispatch.active
    if not imap.weak or lap or any("load" in m.dispatch.active or "refresh" in m.dispatch.active
                                   for m in (pmapper, cmapper)):
        return None
    loops = parent.joined_loops
    made = loops.get(child)
    if made is None:
        made = (make_joined_loop(parent, child), _direct_set_ok(pmapper.class_, (prop.key,)))
        if len(loops) < _JOINED_LOOPS_KEPT:  # (a child loader the mapper did not cache
            loops[child] = made              # is made anew for every query)
    loop, direct = made
    pmap = imap.inner(pmapper._identity_class, None)
    cmap = imap.inner(cmapper._identity_class, None)
    out: list[Any] = []
    groups: list[tuple[Any, Any, list[Any]]] = []
    found = loop(rows, pmap.get, pmap, cmap.get, cmap, session.hash_key,
                 parent.unloaded or _EMPTY, child.unloaded or _EMPTY,
                 pmapper.always_refresh or populate_existing,
                 cmapper.always_refresh or populate_existing, out, groups)
    remember = plan if plan.customized else None
    if any(found):
        # objects already in the session, a parent's rows apart, rows without a parent:
        # what populate() does (a child once per parent, loaded attributes kept)
        merged: dict[int, tuple[Any, list[Any]]] = {}
        for p, _st, items in groups:
            g = merged.get(id(p))
            if g is None:
                merged[id(p)] = (p, items)
            else:
                g[1].extend(items)
        for p, items in merged.values():
            if len(items) > 1 and len(set(map(id, items))) != len(items):
                items = list({id(c): c for c in items}.values())
            _assign(prop, p, items, populate_existing)
        out = list({id(o): o for o in out}.values())
        if remember is not None:
            remember_plan(remember, out)
        return out
    # every parent and child was made by this load: each parent's collection is its
    # children as they came, installed without a copy of its own
    key = prop.key
    klass = instrumented_class(list)
    extend = list.extend
    set_ = object.__setattr__
    for p, st, items in groups:
        coll = klass()
        coll._dm_state = st
        coll._dm_impl = impl
        coll._dm_owner = p
        if items:
            extend(coll, items)
        if direct:
            set_(p, key, coll)
        else:
            p.__dict__[key] = coll
        if remember is not None:
            st._extra = {LOAD_PLAN_KEY: remember}
    return out


def _key_columns(prop: RelationshipProperty) -> list[tuple[str, Any]]:
    """(parent attribute key, column) pairs an IN query matches on: the remote columns of
    the key pairs, or the parent's primary key when the join condition filters on the
    parent's own columns (the query then selects through the parent table)."""
    parent = prop.parent
    if _selects_through_parent(prop):
        return list(zip(parent._pk_keys, parent.primary_key, strict=True))
    if prop.direction == MANYTOMANY:
        return [(parent._col_to_prop[p].key, s) for p, s in prop.synchronize_pairs]
    return [(parent._col_to_prop[lc].key, rc) for lc, rc in prop.local_remote_pairs]


def _selects_through_parent(prop: RelationshipProperty) -> bool:
    """Whether an IN load of ``prop`` selects through the parent's table, keyed on its
    primary key: the join condition filters on the parent's own columns, or the target
    is read from a selectable of its own (``relationship(aliased(Child, selectable))``,
    whose condition may name more than the key pairs)."""
    return bool(prop._lazy_parent_cols) or prop.target_from is not None


def _selectin_statement(node: RelNode, criteria: Sequence[LoaderCriteriaOption] = ()
                        ) -> tuple[Any, EntityLoader, list[Any], int]:
    prop = node.prop
    # of_type(aliased(Sub)): the plan's mapper is Sub, whose rows only are loaded
    target = node.plan.mapper
    base_table = prop.mapper.local_table
    wp = node.plan.poly_with
    props = node.plan.props
    if wp and props is None:  # of_type(subclasses): their columns are read too
        props = polymorphic_props(target, list(wp))
    loader = entity_loader(target, 0, props=props)
    columns = loader.columns
    from_target = prop.target_from if target is prop.mapper else None
    if _selects_through_parent(prop):
        # the join condition filters on the parent's own columns: select through the
        # parent table joined as the relationship joins, keyed on its columns; an alias
        # of it when the target (or secondary) is the same table.  (Unaliased otherwise:
        # a correlated subquery in the condition, ``.correlate(parent_table)``, keeps
        # correlating to it.)
        ptable = prop.parent.local_table
        palias = ptable.alias() if ptable is base_table or ptable in target.tables \
            or (prop.secondary is not None and ptable is prop.secondary) \
            or from_target is not None else ptable
        tsel = base_table if target is prop.mapper else target.persist_selectable
        if from_target is not None:
            # relationship(aliased(Child, selectable)): the rows are the selectable's
            tsel = from_target
            columns = columns_of(tsel, columns)
        if prop.direction == MANYTOMANY:
            pj, sj = join_clauses(prop, palias, tsel, prop.secondary)
            joined = palias.join(prop.secondary, pj).join(tsel, sj)
        else:
            (on,) = join_clauses(prop, palias, tsel)
            joined = palias.join(tsel, on)
        remote = [palias.corresponding_column(c) for _k, c in _key_columns(prop)]
        stmt = select(*columns, *remote).select_from(joined)
    else:
        remote = [c for _k, c in _key_columns(prop)]
        stmt = select(*columns, *remote)
        # of_type() subclasses, else the class's own FROM (with the tables of its
        # mapping's with_polymorphic subclasses, whose columns the loader reads, and
        # the selectable its discriminator is read from)
        sel = polymorphic_from(target, list(wp)) if wp else join_target(target)
        if sel is not target.persist_selectable:
            stmt = stmt.select_from(sel)
        elif isinstance(target.persist_selectable, Join):
            # a joined-table subclass: its tables joined (the key columns may be its
            # own table's, the loaded ones its base's)
            stmt = stmt.select_from(target.persist_selectable)
        if prop.direction == MANYTOMANY:
            stmt = stmt.join_from(base_table, prop.secondary, prop.secondaryjoin)
            extra = _non_pair_criteria(prop.primaryjoin, prop.synchronize_pairs)
        else:
            extra = _non_pair_criteria(prop.primaryjoin, list(prop.local_remote_pairs))
        if extra:
            stmt = stmt.where(*extra)
    # (criteria naming the target's table read the selectable the rows come from)
    to_target = ClauseAdapter(from_target).traverse if from_target is not None else None
    single = class_criterion(target)
    if single is not None:  # a single-table subclass: its rows only
        stmt = stmt.where(to_target(single) if to_target is not None else single)
    if criteria:
        stmt = apply_loader_criteria(stmt, criteria, (target,))
    if node.plan.local_criteria:
        local = node.plan.local_criteria
        stmt = stmt.where(*(map(to_target, local) if to_target is not None else local))
    order_by = list(prop.order_by or ())
    if to_target is not None:
        order_by = [to_target(o) for o in order_by]
    # (the loader's columns: its attributes', then a discriminator expression's)
    width = len(loader.columns)
    stmt, _n = add_joined(stmt, node.plan, from_target if from_target is not None
                          else base_table, width + len(remote), order_by, criteria)
    if order_by:
        stmt = stmt.order_by(*order_by)
    return stmt, loader, remote, width


def load_selectin(session: SessionLike, node: RelNode, parents: Sequence[Any], populate_existing: bool,
                  token: Any) -> None:
    """Load ``node``'s relationship for all ``parents`` with ``... IN (...)`` SELECTs."""
    loaded = _load_selectin_level(session, node, parents, populate_existing, token)
    if node.recursion_depth:
        _recurse(node, loaded, lambda kids: _load_selectin_level(
            session, node, kids, populate_existing, token))


def _load_selectin_level(session: SessionLike, node: RelNode, parents: Sequence[Any],
                         populate_existing: bool, token: Any) -> list[Any]:
    """One level of a selectin load: the parents grouped by their key values, the
    related objects found in the identity map (a simple many-to-one) or by IN
    SELECTs, each parent given its own; then the loaders below this level."""
    prop = node.prop
    pairs = _key_columns(prop)
    # parents that already hold the relationship keep it; the loaders below this
    # level still run over what it holds (their objects may lack those attributes)
    kept: list[Any] | None = [] if node.plan.nodes and not populate_existing else None
    by_key = _parents_by_key(session, prop, pairs, parents, populate_existing, kept)
    found: dict[tuple[Any, ...], list[Any]] = {}
    loaded: list[Any] = _held_objects(prop, kept) if kept else []
    if not by_key:
        _populate_below(session, node.plan, loaded, populate_existing, token)
        return loaded
    todo = list(by_key)
    if prop._simple_m2o and node.plan.is_default() and not populate_existing:
        todo = _found_in_identity_map(session, prop, pairs, todo, token, found, loaded)
    if todo:
        _select_in_batches(session, node, todo, populate_existing, token, found, loaded)
    for k, ps in by_key.items():
        items = found.get(k, ())
        for p in ps:
            _assign(prop, p, items, populate_existing)
    _populate_below(session, node.plan, loaded, populate_existing, token)
    return loaded


def _held_objects(prop: RelationshipProperty, parents: list[Any]) -> list[Any]:
    """The related objects ``parents`` already hold in relationship ``prop``."""
    key = prop.key
    out: list[Any] = []
    for p in parents:
        value = p.__dict__.get(key)
        if value is None:
            continue
        if not prop.uselist:
            out.append(value)
        elif isinstance(value, dict):
            out.extend(value.values())
        else:
            out.extend(value)
    return out


def _parents_by_key(session: SessionLike, prop: RelationshipProperty,
                    pairs: list[tuple[str, Any]], parents: Sequence[Any],
                    populate_existing: bool, kept: list[Any] | None = None
                    ) -> dict[tuple[Any, ...], list[Any]]:
    """The parents still to load, by the values of their key columns (unloaded ones
    load); a parent with a None among them gets an empty result now; those that hold
    the relationship already go to ``kept`` when given."""
    key = prop.key
    by_key: dict[tuple[Any, ...], list[Any]] = {}
    for p in parents:
        d = p.__dict__
        if key in d and not populate_existing:
            if kept is not None:
                kept.append(p)
            continue
        if d[STATE_ATTR].key is None:
            # a pending object held by a loaded collection: nothing of it is in the
            # database yet, its relationship is left as it is
            continue
        vals = []
        for attr, _col in pairs:
            if attr not in d:
                session._load_attributes(d[STATE_ATTR], attr)
            vals.append(d.get(attr))
        if None in vals:
            _assign(prop, p, (), populate_existing)
            continue
        by_key.setdefault(tuple(vals), []).append(p)
    return by_key


def _found_in_identity_map(session: SessionLike, prop: RelationshipProperty,
                           pairs: list[tuple[str, Any]], todo: list[tuple[Any, ...]], token: Any,
                           found: dict[tuple[Any, ...], list[Any]], loaded: list[Any]
                           ) -> list[tuple[Any, ...]]:
    """A many-to-one on the target's key: the objects already in the identity map
    cost no SQL (into ``found``/``loaded``); the keys left to SELECT."""
    imap = session._identity_map
    cls = prop.mapper.class_
    # by attribute: the pairs may name a joined-table subclass's own key column
    by_col = prop.mapper._col_to_prop
    pos = {by_col.get(c): i for i, (_a, c) in enumerate(pairs)}
    order = [pos[by_col.get(c)] for c in prop.mapper.primary_key]
    rest_keys = []
    for k in todo:
        hit = imap.get((cls, tuple(k[i] for i in order), token))
        if hit is not None:
            found[k] = [hit]
            loaded.append(hit)
        else:
            rest_keys.append(k)
    return rest_keys


def _select_in_batches(session: SessionLike, node: RelNode, todo: list[tuple[Any, ...]],
                       populate_existing: bool, token: Any,
                       found: dict[tuple[Any, ...], list[Any]], loaded: list[Any]) -> None:
    """SELECT the related objects of the keys ``todo``, ``IN_BATCH`` keys a statement
    (the option's ``chunksize``, if given), into ``found`` (by key) and ``loaded``."""
    prop = node.prop
    uopts = session._eager_user_opts
    stmt, loader, remote, width = _selectin_statement(node, criteria_options(uopts))
    bind = session.get_bind(mapper=prop.mapper, clause=stmt)
    n = len(remote)
    # one row per (key, object) unless rows repeat: a many-to-many (the association
    # table may pair the two twice), joined loads below this one, or a select through
    # the parent table's alias
    once = n == 1 and prop.direction != MANYTOMANY and not prop._lazy_parent_cols \
        and not node.plan.has_joined()
    by_value: dict[Any, list[Any]] = {}  # (once) the objects of each key value
    size = node.chunksize or IN_BATCH
    for start in range(0, len(todo), size):
        batch = todo[start:start + size]
        if n == 1:
            crit = remote[0].in_([k[0] for k in batch])
        else:
            crit = tuple_(*remote).in_(batch)
        rows = fetch_rows(session._run(stmt.where(crit), {}, bind,
                                       session._eager_exec_opts, {
            "mappers": (prop.mapper,), "relationship_load": True,
            "user_options": uopts}, positional=True))
        objs = instances(session, loader, rows, populate_existing, token) if rows else []
        if uopts:
            stamp_user_options(objs, uopts)
        if once:
            _group_by_value(rows, objs, width, by_value)
            loaded.extend(objs)
            continue
        _group_by_key(rows, objs, width, n, found, loaded)
        if rows and node.plan.has_joined():
            _populate_joined_only(session, node.plan, objs, rows, populate_existing, token)
    for value, group in by_value.items():
        found[(value,)] = group


def _group_by_value(rows: Sequence[Any], objs: list[Any], width: int,
                    by_value: dict[Any, list[Any]]) -> None:
    """Rows that each hold one (key value, object): the objects by key value."""
    for row, o in zip(rows, objs, strict=True):
        if o is None:  # a partly NULL key (allow_partial_pks=False): no object
            continue
        group = by_value.get(row[width])
        if group is None:
            group = by_value[row[width]] = []
        group.append(o)


def _group_by_key(rows: Sequence[Any], objs: list[Any], width: int, n: int,
                  found: dict[tuple[Any, ...], list[Any]], loaded: list[Any]) -> None:
    """Rows that may repeat an object for a key: each object once per key."""
    seen: dict[tuple[Any, ...], set[int]] = {}
    for row, o in zip(rows, objs, strict=True):
        if o is None:  # a partly NULL key (allow_partial_pks=False): no object
            continue
        k = tuple(row[width:width + n])
        ids = seen.setdefault(k, set())
        if id(o) in ids:
            continue
        ids.add(id(o))
        found.setdefault(k, []).append(o)
        loaded.append(o)


def _populate_below(session: SessionLike, plan: EntityPlan, loaded: list[Any],
                    populate_existing: bool, token: Any) -> None:
    """The loaders of the plan below this level, other than the joined ones (which
    the rows already held), over the objects this level loaded."""
    rest = EntityPlan(plan.mapper, plan.path)
    rest.nodes = {k: n for k, n in plan.nodes.items()
                  if n.strategy not in ("joined", "contains_eager")}
    rest.poly_selectin = plan.poly_selectin
    if (rest.nodes or rest.poly_selectin) and loaded:
        populate(session, rest, _unique(loaded), (), populate_existing, token)


def _populate_joined_only(session: SessionLike, plan: EntityPlan, objs: Sequence[Any],
                          rows: Sequence[Any], populate_existing: bool, token: Any) -> None:
    sub = EntityPlan(plan.mapper, plan.path)
    sub.nodes = {k: n for k, n in plan.nodes.items() if n.strategy in ("joined",
                                                                       "contains_eager")}
    populate(session, sub, objs, rows, populate_existing, token)


def _unique(objs: Sequence[Any]) -> list[Any]:
    seen: set[int] = set()
    out = []
    for o in objs:
        if o is not None and id(o) not in seen:
            seen.add(id(o))
            out.append(o)
    return out


def _with_criteria_tables(stmt: Any, target: Mapper, plan: EntityPlan) -> Any:
    """A lazy load's SELECT of ``target`` whose ``and_()`` criteria name the table of an
    of_type() subclass (``lazyload(A.bs.of_type(aliased(Sub)).and_(Sub.x == 1))``): that
    table outer joined to the target's, else the criteria would read it as a second
    FROM, a cartesian product that matched every related row."""
    wanted = {t for c in plan.local_criteria for t in find_tables(c, check_columns=True)}
    subs = [m for m in plan.poly_with or () if m.local_table in wanted]
    if not subs:
        return stmt
    read = {t for f in stmt.get_final_froms() for t in find_tables(f)}
    missing = [m for m in subs if m.local_table not in read]
    return stmt.select_from(polymorphic_from(target, missing)) if missing else stmt


def load_with_defaults(session: SessionLike, stmt: Any, params: Any, target: Mapper,
                       path: tuple[Any, ...], token: Any,
                       plan: EntityPlan | None = None, user_options: Any = None,
                       lazy_loaded_from: Any = None) -> list[Any]:
    """Run a lazy-load SELECT of ``target`` objects with the target's configured eager
    loaders applied (joins added to ``stmt``, extra IN queries after it), or ``plan``:
    the options a query gave for the path below this relationship."""
    if plan is None:
        plan = default_plan(target, path)
    loader = entity_loader(target, props=plan.props)
    if plan.props is not None:
        stmt = Select.with_only_columns(stmt, *loader.columns)  # (its layout kept)
    criteria = criteria_options(user_options)
    if criteria:
        stmt = apply_loader_criteria(stmt, criteria, (target,))
    if plan.local_criteria:
        stmt = _with_criteria_tables(stmt, target, plan).where(*plan.local_criteria)
    order_by: list[Any] = []
    if plan.has_joined():
        stmt, _n = add_joined(stmt, plan, target.local_table, len(loader.columns), order_by,
                              criteria)
        if order_by:
            stmt = stmt.order_by(*order_by)
    bind = session.get_bind(mapper=target, clause=stmt)
    rows = session._run(stmt, params, bind, session._eager_exec_opts, {
        "mappers": (target,), "relationship_load": True, "user_options": user_options,
        "lazy_loaded_from": lazy_loaded_from}, positional=True).fetchall()
    objs = instances(session, loader, rows, False, token) if rows else []
    if objs and not target.allow_partial_pks and None in objs:
        # rows with a partly NULL key are no objects (and their joined rows nothing)
        kept = [(o, r) for o, r in zip(objs, rows, strict=True) if o is not None]
        objs, rows = [o for o, _r in kept], [r for _o, r in kept]
    if objs:
        populate(session, plan, objs, rows, False, token)
    return _unique(objs) if plan.may_repeat_rows() else objs
