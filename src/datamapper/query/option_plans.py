"""Resolving the loader options of one statement against its entities.

Callers: ``Query`` (``compiling.py``, ``execution.py``), ``from_statement.py``,
``entities.py`` and the session's ``execute()``.  :func:`build_plans` turns the
options (``options.py``'s :class:`Load` paths) into the loading layer's
:class:`EntityPlan` objects, one per selected entity, starting from the
strategies the relationships are configured with; every attribute is checked
before any SQL runs.  Column options (``defer``/``undefer``/``load_only``/
``with_expression``) choose a plan's column properties; relationship options
add or change its ``RelNode`` tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement

from .._core import deannotate
from ..loading.plans import (
    EAGER,
    EntityPlan,
    RelNode,
    default_plan,
    follows_default,
    has_eager_defaults,
)
from ..loading.strategies import joined_subclasses
from ..mapping.attributes import OfType, QueryableAttribute, through_synonym
from ..mapping.inheritance import resolve_polymorphic, with_polymorphic_mappers
from ..mapping.mapper import Mapper, _mapper_or_none
from ..mapping.properties import ExpressionOverride
from ..mapping.relationships import RelationshipProperty
from .aliased import (
    AliasedClass,
    AliasedRelationship,
    PolymorphicEntity,
    own_column,
    polymorphic_parts,
)
from .of_type_targets import check_same_target, narrow
from .options import COLUMN_STRATEGIES, STRATEGY_NAMES, Load, describe_target


def _prop_for(mapper: Mapper, target: object, strategy: str) -> Any:
    """The property of ``mapper`` an option names with ``target`` (a mapped attribute,
    its name, an aliased() entity's column or composite)."""
    if isinstance(target, AliasedRelationship):
        # a relationship of an aliased() entity (joinedload(ua.addresses) in a statement
        # of ua): the option applies to the entity's path like the class attribute's
        target = target.attr
    if isinstance(target, str):
        return _prop_named(mapper, target, strategy)
    if isinstance(target, ColumnElement):
        prop = _prop_of_column(mapper, target)
        if prop is not None:
            return prop
    if getattr(getattr(target, "prop", None), "is_composite", False) and \
            not isinstance(target, QueryableAttribute):
        return cast(Any, target).prop  # a composite of an aliased() entity
    if not isinstance(target, QueryableAttribute):
        raise ArgumentError(
            f"Can't apply {STRATEGY_NAMES[strategy]}({target!r}): expected a mapped attribute such as "
            f"{mapper.class_.__name__}.{next(iter(mapper._props), 'name')} or its name as a string"
        )
    return _prop_of_attribute(mapper, target, strategy)


def _prop_named(mapper: Mapper, name: str, strategy: str) -> object:
    prop = mapper._props.get(name)
    if prop is None:
        raise ArgumentError(
            f"Can't apply {STRATEGY_NAMES[strategy]}({name!r}): {mapper.class_.__name__} has no "
            f"mapped attribute {name!r}; mapped attributes are {', '.join(sorted(mapper._props))}"
        )
    return prop


def _prop_of_column(mapper: Mapper, target: ColumnElement[Any]) -> object:
    """The column property an aliased() entity's column stands for, or None."""
    # a column attribute of an aliased() entity: a column of the alias named for
    # the attribute (``alias.name``)
    key = getattr(target, "key", None) or ""
    prop = mapper._props.get(key)
    if prop is not None and prop.is_column:
        return prop
    # a column of a with_polymorphic() entity's subclass (wp.Manager.status): that
    # subclass's attribute, when exactly one subclass of the path's class maps it
    subs = [m._props[key] for m in mapper.self_and_descendants[1:]
            if key in m._props and m._props[key].is_column
            and any(target.shares_lineage(c) for c in m._props[key].columns)]
    # the subclass highest in the hierarchy that maps it (its subclasses inherit it)
    top = {id(p): p for p in subs
           if not any(p.parent is not q.parent and p.parent.isa(q.parent) for q in subs)}
    if len(top) == 1:
        return next(iter(top.values()))
    return None


def _prop_of_attribute(mapper: Mapper, target: QueryableAttribute, strategy: str) -> object:
    if target.parent is not mapper and mapper.isa(target.parent):
        # an attribute of a superclass (Load(Manager).defer(Person.name)): the path's
        # class maps it too, under the same key
        own = mapper._props.get(through_synonym(target).key)
        if own is not None:
            return own
    if target.parent is not mapper and not target.parent.isa(mapper):
        raise ArgumentError(
            f"Can't apply {STRATEGY_NAMES[strategy]}({target}) here: the path is at "
            f"{mapper.class_.__name__}, and {target} is an attribute of "
            f"{target.parent.class_.__name__}; chain attributes of the previous "
            "relationship's target class"
        )
    return through_synonym(target).prop


def _apply_columns(plan: EntityPlan, targets: Any, strategy: str,
                   kw: dict[str, Any] | None = None) -> None:
    """defer()/undefer()/undefer_group()/load_only()/with_expression() on the plan's
    entity: the column properties it SELECTs (and those refusing to load)."""
    if strategy == "with_expression":
        _apply_expression(plan, targets, (kw or {})["expression"])
        return
    mapper = plan.mapper
    keys, sub_props, strategy = _column_keys(mapper, targets, strategy)
    current = list(plan.props if plan.props is not None else mapper._load_props)
    refuse = bool((kw or {}).get("raiseload"))
    if strategy == "defer":
        current = _deferred(plan, current, keys, refuse)
    elif strategy == "undefer":
        have = {p.key for p in current}
        # (a subclass's column, of_type(Sub) / with_polymorphic(): its own property)
        subs = {p.key: p for p in sub_props}
        current += [mapper._props[k] if k in mapper._props else subs[k]
                    for k in keys if k not in have]
    else:
        current = _load_only(plan, current, keys, refuse)
        current += [sp for sp in sub_props if sp not in current]
    # SELECT them in the mapper's column order, whatever order the options named them in
    order = {k: i for i, k in enumerate(mapper.column_attrs.keys())}
    current.sort(key=lambda p: order.get(p.key, len(order)))
    plan.props = tuple(current)


def _deferred(plan: EntityPlan, current: list[Any], keys: list[str], refuse: bool
              ) -> list[object]:
    """defer(): ``current`` without the ``keys`` (the primary key stays loaded)."""
    mapper = plan.mapper
    pk = set(mapper._pk_keys)
    # raiseload=True: reading them refuses; a plain defer() lets a raiseload=True
    # column load on access
    _mark_raise(plan, [k for k in keys if k not in pk and (refuse or k in mapper._raise_keys)],
                refuse)
    return [p for p in current if p.key not in keys or p.key in pk]


def _load_only(plan: EntityPlan, current: list[object], keys: list[str], refuse: bool
               ) -> list[Any]:
    """load_only(): the ``keys`` and the primary key (and this query's
    with_expression() choices); the others refuse to load with raiseload=True."""
    mapper = plan.mapper
    wanted = set(keys) | set(mapper._pk_keys)
    if refuse:
        _mark_raise(plan, [k for k in mapper.column_attrs.keys()
                           if k not in wanted and k not in mapper._expression_keys], True)
    return [p for p in mapper.column_attrs.values() if p.key in wanted] + \
        [p for p in current if isinstance(p, ExpressionOverride) and p.key not in wanted]


def _column_keys(mapper: Mapper, targets: object, strategy: str
                 ) -> tuple[list[str], list[Any], str]:
    """The column attribute names an option names (``"*"``: all of them; a group name
    for undefer_group(), which then works as undefer()), the column properties among
    them of a with_polymorphic() subclass, and the strategy."""
    items = targets if isinstance(targets, tuple) else (targets,)
    if strategy == "undefer_group":
        return [k for k, p in mapper.column_attrs.items()
                if getattr(p, "group", None) == targets], [], "undefer"
    if (len(items) == 1 and isinstance(items[0], str) and items[0] == "*"
            and strategy in ("defer", "undefer")):
        # the wildcard: every column attribute of the entity (the key stays loaded)
        return [k for k in mapper.column_attrs.keys()
                if k not in mapper._expression_keys], [], strategy
    keys = []
    sub_props: list[object] = []
    for t in items:
        prop = _prop_for(mapper, t, strategy)
        if getattr(prop, "is_composite", False):  # defer(Edge.start): its columns
            keys.extend(cast(Any, prop).attribute_keys)
            continue
        if not prop.is_column:
            raise ArgumentError(
                f"Can't apply {STRATEGY_NAMES[strategy]}({describe_target(t)}): "
                f"{mapper.class_.__name__}.{prop.key} is "
                + ("a relationship; use lazyload(), noload(), raiseload() or an eager loader "
                   "for relationships" if prop.is_relationship else "not a column attribute")
            )
        keys.append(prop.key)
        if prop.parent is not mapper and prop.key not in mapper._props:
            sub_props.append(prop)  # a with_polymorphic() subclass's column
    return keys, sub_props, strategy


def _mark_raise(plan: EntityPlan, keys: list[str], refuse: bool) -> None:
    if not keys:
        return
    if plan.column_raise is None:
        plan.column_raise = {}
    for k in keys:
        plan.column_raise[k] = refuse


def _apply_expression(plan: EntityPlan, target: object, expression: object) -> None:
    """with_expression(): the query_expression() attribute ``target`` of the plan's
    entity is loaded from ``expression`` in this query."""
    mapper = plan.mapper
    prop = _prop_for(mapper, target, "with_expression")
    if not getattr(prop, "is_query_expression", False):
        raise ArgumentError(
            f"Can't apply with_expression({describe_target(target)}): "
            f"{mapper.class_.__name__}.{prop.key} is not a query_expression() attribute; "
            "declare it with query_expression(), or use column_property() for a fixed "
            "expression"
        )
    current = [p for p in (plan.props if plan.props is not None else mapper._load_props)
               if p.key != prop.key]
    current.append(ExpressionOverride(prop, expression))
    order = {k: i for i, k in enumerate(mapper.column_attrs.keys())}
    current.sort(key=lambda p: order.get(p.key, len(order)))
    plan.props = tuple(current)


def _refuse_conflict(plan: EntityPlan, targets: object, strategy: str,
                     chosen: dict[tuple[int, str], str]) -> None:
    """defer() and undefer() of the same attribute in one query contradict each other:
    refused, whatever order they came in (a wildcard or a group is no conflict)."""
    for t in targets if isinstance(targets, tuple) else (targets,):
        if isinstance(t, str) and t == "*":
            continue
        key = _prop_for(plan.mapper, t, strategy).key
        before = chosen.setdefault((id(plan), key), strategy)
        if before != strategy:
            raise InvalidRequestError(
                f"Can't apply {STRATEGY_NAMES[strategy]}({describe_target(t)}) to a query that already "
                f"has {STRATEGY_NAMES[before]}() of {plan.mapper.class_.__name__}.{key}: the two "
                "options contradict each other; keep one of them"
            )


def _apply(plan: EntityPlan, option: Load,
           chosen: dict[tuple[int, str], str] | None = None) -> None:
    for target, strategy, kw in option.steps:
        plan.customized = True
        if strategy == "selectin_polymorphic":
            plan.poly_selectin = _merge_mappers(
                plan.poly_selectin, resolve_polymorphic(plan.mapper, list(target)))
            continue
        if strategy in COLUMN_STRATEGIES:
            if chosen is not None and strategy in ("defer", "undefer"):
                _refuse_conflict(plan, target, strategy, chosen)
            _apply_columns(plan, target, strategy, kw)
            continue
        if isinstance(target, str) and target == "*":
            _apply_wildcard(plan, strategy)
            return
        alias = kw.get("alias")
        of_type: object = None
        local_criteria: tuple[object, ...] = ()
        if isinstance(target, OfType):  # contains_eager(User.addresses.of_type(alias))
            of_type = target.target
            alias = alias if alias is not None else of_type
            local_criteria = tuple(target.criteria)
            target = target.attr
        plan = _apply_relationship_step(plan, target, strategy, kw, alias, of_type,
                                        local_criteria)


def _apply_relationship_step(plan: EntityPlan, target: object, strategy: str,
                             kw: dict[str, Any], alias: object, of_type: object,
                             local_criteria: tuple[Any, ...]) -> EntityPlan:
    """One relationship step of a loader option on ``plan``: the plan of the related
    entity, for the next step."""
    mapper = plan.mapper
    prop = _prop_for(mapper, target, strategy)
    _check_relationship_step(plan, prop, target, strategy)
    if strategy == "joined" and not _joinable_from(plan, prop):
        # joinedload(Engineer.machines) in a query of Person that does not read the
        # engineers table: nothing to join it from; it loads lazily, as in SQLAlchemy
        # (with_polymorphic() or selectinload() load it with the query)
        strategy = "select"
    node = _relationship_node(plan, prop, strategy)
    check_same_target(node, of_type)
    narrowed = of_type is not None and strategy != "contains_eager" and narrow(node, of_type)
    if strategy == "joined" and "innerjoin" in kw:
        node.innerjoin = kw["innerjoin"]
    if "chunksize" in kw and strategy == "selectin":
        node.chunksize = kw["chunksize"]
    if "recursion_depth" in kw and strategy in ("selectin", "immediate"):
        _check_recursion_depth(prop)
        node.recursion_depth = kw["recursion_depth"]
    if local_criteria and strategy != "contains_eager":
        # selectinload(User.addresses.and_(...)): rows of this load only
        if isinstance(of_type, AliasedClass) and not isinstance(of_type, PolymorphicEntity):
            # of_type(aliased(Address)).and_(alias.email == ...): the loader reads its
            # own table (or alias of it), so the criteria name the table's columns
            local_criteria = tuple(_table_terms(of_type, c) for c in local_criteria)
        node.plan.local_criteria = node.plan.local_criteria + local_criteria
        node.plan.customized = True
    if strategy == "contains_eager" and alias is not None:
        # (a step without alias=, as User.orders in contains_eager(User.orders,
        # Order.items, alias=...), keeps the alias another option gave it)
        node.alias = _eager_alias(alias)
        if of_type is not None:
            # contains_eager(A.bs.of_type(B1)): the query joined B1's rows (its columns
            # read): contains_eager(..., B1.cs) goes on from them
            joined = _joined_of_type_mappers(prop.mapper, of_type)
            node.plan.reads_subclasses = _merge_mappers(node.plan.reads_subclasses, joined)
            node.plan.poly_with = _merge_mappers(node.plan.poly_with, joined)
    elif of_type is not None and not narrowed:
        # selectinload(Company.employees.of_type(Engineer or with_polymorphic(...))):
        # the related rows are read with those subclasses' columns
        more = _of_type_mappers(prop.mapper, of_type)
        node.plan.poly_with = _merge_mappers(node.plan.poly_with, more)
        if node.strategy in ("selectin", "subquery"):
            # its SELECT reads those subclasses' tables: a joinedload() of one of their
            # relationships joins from them
            node.plan.reads_subclasses = _merge_mappers(node.plan.reads_subclasses, more)
    if node.strategy == "joined":
        # the joined target's alias reads these subclasses' tables: a joinedload() of
        # one of their relationships can go on from it
        node.plan.reads_subclasses = tuple(joined_subclasses(node.plan.mapper, node.plan))
    return node.plan


def _table_terms(alias: AliasedClass, criterion: Any) -> Any:
    """``criterion`` with the columns of ``alias``'s selectable (an alias of the mapped
    table, a flat join of aliases, or a subquery of the join of a joined-table
    subclass's tables) replaced by the mapped tables' own."""
    mapper = alias._dm_mapper
    back: dict[int, Any] = {}
    for table in mapper.tables:
        for col in table.c:
            found = own_column(alias, col)
            if found is not None:
                back.setdefault(id(found), col)

    def swap(element: Any, **_kw: Any) -> Any:
        if isinstance(element, ColumnElement):
            return back.get(id(deannotate(element)))
        return None

    return visitors.replacement_traverse(
        criterion.__clause_element__() if hasattr(criterion, "__clause_element__")
        else criterion, {}, swap)


def _relationship_node(plan: EntityPlan, prop: RelationshipProperty, strategy: str) -> RelNode:
    """The plan's node for relationship ``prop`` (made with the relationship's default
    plan when missing), loading with ``strategy`` unless that is "default"."""
    node = plan.nodes.get(prop.key)
    if node is None:
        sub_path = (*plan.path, prop, prop.mapper)
        sub = default_plan(prop.mapper, sub_path)
        node = RelNode(prop, prop.lazy if strategy == "default" else strategy, sub)
        plan.nodes[prop.key] = node
    elif strategy != "default":
        node.strategy = strategy
    if plan.wildcard is not None and node.strategy in EAGER:
        _spread_wildcard(node.plan, plan.wildcard)  # the objects this node loads too
    return node


def _spread_wildcard(plan: EntityPlan, strategy: str) -> None:
    """An unbound wildcard option (``raiseload("*")``, ``joinedload("*")``): every
    relationship of ``plan``'s entity, and of each entity loaded eagerly below it,
    loads with ``strategy``; an eager wildcard stops where the path would come back to
    a class already on it.  Once per plan: options applied later keep their say."""
    if plan.wildcard is not None:
        return
    plan.wildcard = strategy
    _apply_wildcard(plan, strategy, spread=True)


def _check_recursion_depth(prop: RelationshipProperty) -> None:
    if not (prop.mapper.isa(prop.parent) or prop.parent.isa(prop.mapper)):
        raise InvalidRequestError(
            f"Can't use recursion_depth with {prop.parent.class_.__name__}.{prop.key}: "
            f"it loads {prop.mapper.class_.__name__} objects, which do not have the "
            "relationship again; recursion_depth is for self-referential "
            "relationships (a tree of one class)")


def _check_relationship_step(plan: EntityPlan, prop: RelationshipProperty, target: object,
                             strategy: str) -> None:
    """A relationship loader option's step names a relationship of the plan's mapper (or
    of a subclass) that ``strategy`` can load."""
    mapper = plan.mapper
    if not prop.is_relationship:
        raise ArgumentError(
            f"Can't apply {STRATEGY_NAMES[strategy]}({describe_target(target)}): "
            f"{mapper.class_.__name__}.{prop.key} is not a relationship; use defer(), "
            "undefer() or load_only() for column attributes"
        )
    if prop.lazy in ("dynamic", "write_only") and strategy in (
            "joined", "selectin", "subquery", "immediate", "contains_eager"):
        kind = "dynamic" if prop.lazy == "dynamic" else "write-only"
        raise InvalidRequestError(
            f"Can't apply {STRATEGY_NAMES[strategy]}({describe_target(target)}): "
            f"{mapper.class_.__name__}.{prop.key} is a {kind} relationship (never "
            "loaded as a whole), which can't be loaded eagerly; query it through the "
            "attribute, or configure it with lazy='select' to load it with the parents"
        )
    if strategy == "contains_eager" and not _joinable_from(plan, prop):
        raise ArgumentError(
            f"Can't apply {STRATEGY_NAMES[strategy]}({describe_target(target)}) to a query of "
            f"{mapper.class_.__name__}: {prop.parent.class_.__name__}.{prop.key} belongs "
            f"to a subclass, whose table the query does not join; use selectinload() "
            f"or immediateload() for it"
        )


def _joinable_from(plan: EntityPlan, prop: RelationshipProperty) -> bool:
    """Whether the rows of the plan's entity have the columns ``prop`` joins from: a
    relationship of the class or of a base, or of a subclass whose table they read."""
    mapper = plan.mapper
    return prop.parent is mapper or mapper.isa(prop.parent) or any(
        prop.parent.isa(m) for m in plan.reads_subclasses)


def _eager_alias(alias: object) -> object:
    """contains_eager(..., alias=): the selectable the related rows' columns are in."""
    if isinstance(alias, AliasedClass):
        return alias._dm_selectable
    if alias is not None and hasattr(alias, "__clause_element__"):
        return alias.__clause_element__()
    return alias


def _merge_mappers(have: Any, more: list[Mapper]) -> Any:
    if not more:
        return have
    out = list(have or ())
    out += [m for m in more if m not in out]
    return tuple(out)


def _of_type_mappers(target: Mapper, of_type: object) -> list[Mapper]:
    """The subclasses of ``target`` whose columns ``of_type(...)`` asks to load."""
    if isinstance(of_type, PolymorphicEntity):
        if of_type._dm_mapper is not target and not of_type._dm_mapper.isa(target):
            return []
        return [m for m in polymorphic_parts(of_type)[0] if m.isa(target)]
    if isinstance(of_type, AliasedClass):
        # selectinload(C.jobs.of_type(aliased(SubJob))): SubJob's rows, as of_type(SubJob)
        m: Mapper | None = of_type._dm_mapper
    else:
        m = _mapper_or_none(of_type) if isinstance(of_type, type) else None
    if m is None or m is target or not m.isa(target):
        return []
    return resolve_polymorphic(target, [m])


def _joined_of_type_mappers(target: Mapper, of_type: object) -> list[Mapper]:
    """The subclasses of ``target`` whose rows a join to ``of_type(...)`` reads (the
    class, an aliased() one, or a with_polymorphic() entity's classes)."""
    if isinstance(of_type, PolymorphicEntity) or isinstance(of_type, type):
        return _of_type_mappers(target, of_type)
    m = of_type._dm_mapper if isinstance(of_type, AliasedClass) else None
    if m is None or m is target or not m.isa(target):
        return []
    return resolve_polymorphic(target, [m])


_WILDCARD_STRATEGIES = ("select", "noload", "raise", "raise_on_sql", "joined", "selectin",
                        "subquery", "immediate")


def _apply_wildcard(plan: EntityPlan, strategy: str, spread: bool = False) -> None:
    """``lazyload('*')``, ``raiseload('*')`` ...: every relationship of the entity the
    path has reached loads with ``strategy``, except those another option names (those
    options are applied after the wildcards, see :func:`build_plans`)."""
    _check_wildcard(plan, strategy)
    for key, prop in plan.mapper._props.items():
        if not prop.is_relationship or prop.lazy in ("dynamic", "write_only"):
            continue
        if spread and strategy in EAGER and not follows_default(prop, plan.path):
            continue  # joinedload("*") at every depth: not round a cycle
        node = plan.nodes.get(key)
        if node is None:
            sub = default_plan(prop.mapper, (*plan.path, prop, prop.mapper))
            node = plan.nodes[key] = RelNode(prop, strategy, sub)
        else:
            node.strategy = strategy
        if spread and strategy in EAGER:
            _spread_wildcard(node.plan, strategy)


def _check_wildcard(plan: EntityPlan, strategy: str) -> None:
    if strategy not in _WILDCARD_STRATEGIES:
        name = STRATEGY_NAMES[strategy]
        raise ArgumentError(
            f"Can't apply {name}('*'): the wildcard stands for every relationship of "
            f"{plan.mapper.class_.__name__}, which {name}() can't take; name the "
            "relationships")


def _is_lone_wildcard(option: Load) -> bool:
    """``lazyload("*")`` on its own (not ``Load(User)`` nor after a path)."""
    return option.root is None and len(option.steps) == 1 and _is_wildcard(option)


def _is_wildcard(option: Load) -> bool:
    last = option.steps[-1] if option.steps else None
    return last is not None and isinstance(last[0], str) and last[0] == "*" and \
        last[1] not in COLUMN_STRATEGIES


def _root_index(option: Load, mappers: list[Mapper | None],
                sources: list[Any] | None = None) -> int:
    """Which selected entity an option applies to: its Load() root, else the entity
    (or a subclass or superclass of it) its first attribute belongs to, else the first
    entity.  With ``sources`` (the entity each part loads), an option rooted at an
    aliased() entity goes to that alias's part, and one naming the class's own
    attributes to the plain class's part before any alias of it."""
    root = option.root
    if root is not None:
        rm = root._dm_mapper if isinstance(root, AliasedClass) else (
            root if isinstance(root, Mapper) else _mapper_or_none(root))
        exact = _source_index(root if isinstance(root, AliasedClass) else None, rm,
                              mappers, sources)
        if exact is not None:
            return exact
        for i, m in enumerate(mappers):
            if m is not None and m is rm:
                return i
        names = ", ".join(m.class_.__name__ for m in mappers if m is not None)
        raise ArgumentError(
            f"Can't apply {option!r}: {describe_target(root)} is not an entity of this query "
            f"(entities: {names or 'none'}); root Load() at a selected class"
        )
    first = option.steps[0][0]
    if isinstance(first, tuple):
        first = first[0] if first else None
    if isinstance(first, OfType):
        first = first.attr
    if isinstance(first, QueryableAttribute):
        exact = _source_index(None, first.parent, mappers, sources)
        return exact if exact is not None else \
            _entity_of_attribute(option, first.parent, mappers)
    if isinstance(first, AliasedRelationship):  # joinedload(alias.items)
        exact = _source_index(first.source, first.prop.parent, mappers, sources)
        return exact if exact is not None else \
            _entity_of_attribute(option, first.prop.parent, mappers)
    for i, m in enumerate(mappers):
        if m is not None:
            return i
    raise ArgumentError(f"Can't apply {option!r}: the query selects no mapped entity")


def _source_index(alias: AliasedClass | None, mapper: Mapper | None,
                  mappers: list[Mapper | None], sources: list[Any] | None) -> int | None:
    """The part loading ``alias`` itself (None: the part loading ``mapper``'s class
    rather than an aliased() entity of it), or None when no part does."""
    if sources is None:
        return None
    for i, src in enumerate(sources):
        if src is None or mappers[i] is None:
            continue
        if alias is not None:
            if src is alias:
                return i
        elif mappers[i] is mapper and not isinstance(src, AliasedClass):
            return i
    return None


def _entity_of_attribute(option: Load, owner: Mapper, mappers: list[Mapper | None]) -> int:
    """The selected entity an option's first attribute (of ``owner``) belongs to."""
    for i, m in enumerate(mappers):
        if m is owner:
            return i
    for i, m in enumerate(mappers):  # an attribute of a subclass of an entity
        if m is not None and owner.isa(m):
            return i
    for i, m in enumerate(mappers):  # of a superclass: defer(Person.name) for Manager
        if m is not None and m.isa(owner):
            return i
    names = ", ".join(m.class_.__name__ for m in mappers if m is not None)
    if not names:
        raise ArgumentError(f"Can't apply {option!r}: the query selects no mapped entity")
    raise ArgumentError(
        f"Can't apply {option!r}: {owner.class_.__name__} is not an entity of this "
        f"query (entities: {names}); start the path at a selected class"
    )


def _load_paths(options: Iterable[object] | None) -> list[Load]:
    """The loader options among ``options``, each branch of a branching one apart."""
    if not options:
        return []
    return [p for o in options if isinstance(o, Load)
            for p in (o.paths() if o.branches else (o,))]


def build_plans(mappers: list[Mapper | None], options: Iterable[object] | None,
                sources: list[Any] | None = None) -> list[EntityPlan | None] | None:
    """One plan per selected entity (None for plain columns), or None when nothing
    differs from a plain load (no options, no configured eager relationships).
    ``sources``: the entity each part loads (``RowLayout.part_sources()``), telling
    apart a class and aliased() entities of it selected together."""
    opts = _load_paths(options)
    if not opts and not any(m is not None and has_eager_defaults(m) for m in mappers):
        return None
    plans: list[EntityPlan | None] = [default_plan(m) if m is not None else None
                                      for m in mappers]
    for i, plan in enumerate(plans):
        if plan is not None:
            plan.reads_subclasses = _subclasses_read(
                plan.mapper, sources[i] if sources is not None else None)
    lone = [o for o in opts if _is_lone_wildcard(o)]
    if len(lone) > 1:  # lazyload("*") ... raiseload("*"): the last one given wins
        opts = [o for o in opts if not _is_lone_wildcard(o) or o is lone[-1]]
    if any(_is_wildcard(o) for o in opts):
        # wildcards first, so that an option naming a relationship wins over them
        # whatever the order they were given in
        opts.sort(key=lambda o: not _is_wildcard(o))
    chosen: dict[tuple[int, str], str] = {}  # (plan, attribute) -> defer/undefer
    for o in opts:
        if o.steps:
            _apply_option(o, plans, mappers, chosen, sources)
    if all(p is None or p.is_default() for p in plans):
        return None
    return plans


def _subclasses_read(mapper: Mapper, source: object) -> tuple[Mapper, ...]:
    """The subclasses of ``mapper`` whose tables a SELECT of the entity ``source`` (the
    class, an aliased() or with_polymorphic() entity of it; None: the class) reads."""
    if isinstance(source, PolymorphicEntity):
        return tuple(polymorphic_parts(source)[0])
    if isinstance(source, AliasedClass):
        sel: Any = source._dm_selectable
        return tuple(m for m in mapper.self_and_descendants[1:]
                     if not m.single and all(sel.corresponding_column(c) is not None
                                             for c in m.local_table.primary_key))
    if mapper._poly is None:
        return ()
    return tuple(with_polymorphic_mappers(mapper))


def _apply_option(option: Load, plans: list[EntityPlan | None], mappers: list[Mapper | None],
                  chosen: dict[tuple[int, str], str], sources: list[Any] | None) -> None:
    """Apply one loader option to the plan of the entity it is rooted at (a lone
    wildcard option: to every entity's plan)."""
    if _is_lone_wildcard(option):
        # lazyload('*') alone: every relationship of the objects the query loads, the
        # selected entities' and those loaded eagerly below them
        strategy = option.steps[0][1]
        for plan in plans:
            if plan is not None:
                plan.customized = True
                _check_wildcard(plan, strategy)
                _spread_wildcard(plan, strategy)
        return
    if _is_wildcard(option) and all(m is None for m in mappers):
        # Load(User).lazyload("*") in a query of columns only: no object is loaded,
        # so no relationship for it to apply to (a named relationship is refused)
        return
    if option.lenient:
        # given before with_entities(): for the entities the query selected then
        try:
            index = _root_index(option, mappers, sources)
        except ArgumentError:
            return
    else:
        index = _root_index(option, mappers, sources)
    plan = plans[index]
    assert plan is not None
    _apply(plan, option, chosen)


def check_yield_per_plans(plans: list[EntityPlan | None]) -> None:
    """Refuse ``yield_per`` with eager loaders that need the whole result first."""
    for p in plans:
        if p is not None and p.needs_all_rows():
            names = ", ".join(f"{p.mapper.class_.__name__}.{k}" for k in p.nodes)
            raise InvalidRequestError(
                "Can't use yield_per with eager loaders that require uniquing or row "
                f"buffering (eager relationships of {p.mapper.class_.__name__}: {names}); "
                "load collections with selectinload() or lazily, or drop yield_per")


def without_eager_nodes(plans: list[Any]) -> list[Any] | None:
    """The plans with relationship eager loading taken out (enable_eagerloads(False))."""
    for plan in plans:
        if plan is not None:
            plan.nodes = {k: n for k, n in plan.nodes.items()
                          if n.strategy not in ("joined", "selectin", "subquery", "immediate")}
    if all(p is None or p.is_default() for p in plans):
        return None
    return plans
