"""Loader options: ``joinedload``, ``selectinload``, ``subqueryload``, ``lazyload``,
``noload``, ``raiseload``, ``contains_eager``, ``defer``, ``undefer``, ``load_only``.

Callers: users, through ``Query.options()``, ``select(...).options()`` and
``Session.get(..., options=[...])``.  An option is a path of steps, each a
relationship (or column) attribute, or its name as a string, with a strategy;
chaining (``joinedload(User.orders).selectinload(Order.items)``) extends the
path.  :func:`build_plans` resolves the options of one statement against its
entities into the loading layer's :class:`EntityPlan` objects, starting from
the strategies the relationships are configured with; every attribute is
checked before any SQL runs.
"""

from __future__ import annotations

import gc
from operator import itemgetter
from typing import Any

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, Column, Table, select
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.util import ClauseAdapter

from .._core import (
    for_update_arg,
    gen_cache_key,
    is_cacheable_element,
    is_distinct,
    mark_uncacheable,
)
from ..instance.seam import SessionLike
from ..loading.criteria import LoaderCriteriaOption
from ..loading.rows import _GC_PAUSE_ROWS, resume_gc
from ..loading.strategies import (
    EntityPlan,
    RelNode,
    add_joined,
    default_plan,
    has_eager_defaults,
    populate,
    remember_plan,
)
from ..mapping.attributes import OfType, QueryableAttribute, through_synonym
from ..mapping.inheritance import resolve_polymorphic
from ..mapping.mapper import Mapper, _mapper_or_none
from ..mapping.properties import ExpressionOverride
from .aliased import AliasedClass, AliasedRelationship, PolymorphicEntity

_COLUMN_STRATEGIES = ("defer", "undefer", "load_only", "undefer_group", "with_expression")
_NAMES = {"joined": "joinedload", "selectin": "selectinload", "subquery": "subqueryload",
          "immediate": "immediateload", "select": "lazyload", "noload": "noload", "raise": "raiseload",
          "raise_on_sql": "raiseload",
          "contains_eager": "contains_eager", "default": "defaultload", "defer": "defer",
          "undefer": "undefer", "load_only": "load_only", "undefer_group": "undefer_group",
          "with_expression": "with_expression", "selectin_polymorphic": "selectin_polymorphic"}


class Load(ExecutableOption):
    """A loader option: a path of (attribute or name, strategy, keywords) steps, and
    the options given to :meth:`options` for what the path's last step loads.

    A Core statement's ``options()`` accepts it too (``sqlalchemy.select(User)``).
    """

    def __init__(self, entity: Any = None,
                 steps: tuple[tuple[Any, str, dict[str, Any]], ...] = (),
                 branches: tuple[Load, ...] = ()) -> None:
        if isinstance(entity, tuple):  # Load(steps[, branches]): the internal form
            entity, steps, branches = None, entity, steps or branches  # type: ignore[assignment]
        # Load(User): options rooted at that entity of the statement (a class or alias)
        self.root = entity
        self.steps = steps
        self.branches = branches

    # Core keys its compiled-statement cache on a statement's options: a select() of
    # mapped classes compiles to SQL that depends on its loader options (the columns
    # load_only()/defer() choose, joinedload()'s joins), so an option is part of the
    # key, naming its steps (attributes by class and name, aliases and expressions by
    # their own keys); a step with a value that has no key makes the statement one
    # Core does not cache.
    _is_has_cache_key = True

    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> Any:
        return (
            "dm_load",
            _option_key(self.root, anon_map, bindparams),
            tuple((_option_key(target, anon_map, bindparams), strategy,
                   tuple((k, _option_key(v, anon_map, bindparams))
                         for k, v in sorted(kw.items())))
                  for target, strategy, kw in self.steps),
            tuple(b._gen_cache_key(anon_map, bindparams) for b in self.branches),
        )

    def options(self, *opts: Load) -> Load:
        """Options for the objects this path loads, relative to them:
        ``selectinload(User.orders).options(joinedload(Order.items), defer(Order.note))``."""
        if not self.steps:
            raise ArgumentError("Can't add options() to an empty Load(); start it with a "
                                "loader such as selectinload(User.orders)")
        for o in opts:
            if not isinstance(o, Load):
                raise ArgumentError(
                    f"Can't use {o!r} in Load.options(): it takes loader options such as "
                    "joinedload(Order.items) or defer(Order.note)"
                )
        return Load(self.root, steps=self.steps, branches=self.branches + tuple(opts))

    def paths(self) -> list[Load]:
        """This option as plain paths: its own and one per (nested) options() branch."""
        out = [Load(self.root, steps=self.steps)]
        for b in self.branches:
            out.extend(Load(self.root, steps=self.steps + p.steps) for p in b.paths())
        return out

    def _add(self, targets: tuple[Any, ...], strategy: str, **kw: Any) -> Load:
        # a column option does not move the path: options chained after it continue from
        # the same entity (load_only(User.name).defaultload(User.addresses))
        if self.branches:
            raise ArgumentError(
                f"Can't chain {_NAMES[strategy]}() after options(): pass it inside "
                "options(...) or as a separate option"
            )
        steps = list(self.steps)
        if strategy in _COLUMN_STRATEGIES:
            if strategy == "load_only":
                steps.append((tuple(targets), strategy, kw))
                return Load(self.root, steps=tuple(steps))
            for t in targets:
                *rels, last = _split((t,), strategy)
                steps.extend((r, "default", {}) for r in rels)
                steps.append((last, strategy, kw))
            return Load(self.root, steps=tuple(steps))
        path = _split(targets, strategy)
        for i, t in enumerate(path):
            steps.append((t, strategy, kw if i == len(path) - 1 else {}))
        return Load(self.root, steps=tuple(steps))

    def joinedload(self, *attrs: Any, innerjoin: bool = False) -> Load:
        return self._add(attrs, "joined")

    def selectinload(self, *attrs: Any, recursion_depth: int | None = None) -> Load:
        return self._add(attrs, "selectin", **_depth(recursion_depth))

    def subqueryload(self, *attrs: Any) -> Load:
        return self._add(attrs, "subquery")

    def immediateload(self, *attrs: Any, recursion_depth: int | None = None) -> Load:
        return self._add(attrs, "immediate", **_depth(recursion_depth))

    def lazyload(self, *attrs: Any) -> Load:
        return self._add(attrs, "select")

    def noload(self, *attrs: Any) -> Load:
        return self._add(attrs, "noload")

    def raiseload(self, *attrs: Any, sql_only: bool = False) -> Load:
        return self._add(attrs, "raise_on_sql" if sql_only else "raise")

    def defaultload(self, *attrs: Any) -> Load:
        return self._add(attrs, "default")

    def contains_eager(self, *attrs: Any, alias: Any = None) -> Load:
        return self._add(attrs, "contains_eager", alias=alias)

    def defer(self, *attrs: Any, raiseload: bool = False) -> Load:
        return self._add(attrs, "defer", raiseload=raiseload)

    def undefer(self, *attrs: Any) -> Load:
        return self._add(attrs, "undefer")

    def load_only(self, *attrs: Any, raiseload: bool = False) -> Load:
        return self._add(attrs, "load_only", raiseload=raiseload)

    def selectin_polymorphic(self, classes: Any) -> Load:
        """After the objects this path loads, load the columns of the subclasses
        ``classes`` for those of them that are such subclasses, one SELECT ... WHERE
        <key> IN (...) per subclass."""
        if self.branches:
            raise ArgumentError(
                "Can't chain selectin_polymorphic() after options(): pass it inside "
                "options(...) or as a separate option"
            )
        if isinstance(classes, (str, type)) or not hasattr(classes, "__iter__"):
            raise ArgumentError(
                f"Can't use selectin_polymorphic({classes!r}): pass a list of the subclasses "
                "whose columns to load, e.g. [Manager, Engineer]"
            )
        steps = (*self.steps, (tuple(classes), "selectin_polymorphic", {}))
        return Load(self.root, steps=steps)

    def undefer_group(self, name: str) -> Load:
        """Load every column of ``deferred(..., group=name)`` with the rest of the row."""
        if not isinstance(name, str):
            raise ArgumentError(
                f"Can't use undefer_group({name!r}): pass the group name given to "
                "deferred(..., group=...) as a string"
            )
        steps = list(self.steps)
        steps.append((name, "undefer_group", {}))
        return Load(self.root, steps=tuple(steps))

    def with_expression(self, key: Any, expression: Any) -> Load:
        """Load the ``query_expression()`` attribute ``key`` from ``expression`` in this
        query (a SQL expression of the entity's columns, e.g. ``A.x + A.y``)."""
        if hasattr(expression, "__clause_element__") and \
                not isinstance(expression, ColumnElement):
            expression = expression.__clause_element__()
        if not isinstance(expression, ColumnElement):
            raise ArgumentError(
                f"Can't use with_expression({_describe(key)}, {expression!r}): the second "
                "argument is not a SQL expression; pass one such as A.x + A.y or literal(1)"
            )
        return self._add((key,), "with_expression", expression=expression)

    def __repr__(self) -> str:
        if self.root is not None and not self.steps:
            return f"Load({_describe(self.root)})"
        own = ".".join(f"{_NAMES[s]}({_describe(t)})" for t, s, _kw in self.steps)
        if self.branches:
            own += ".options(" + ", ".join(repr(b)[5:-1] for b in self.branches) + ")"
        return "Load(" + own + ")"


def _split(targets: tuple[Any, ...], strategy: str) -> list[Any]:
    if not targets:
        raise ArgumentError(f"Can't use {_NAMES[strategy]}() without an attribute; pass one "
                            "such as User.addresses or 'addresses'")
    out: list[Any] = []
    for t in targets:
        if isinstance(t, str) and strategy != "load_only":
            out.extend(t.split("."))
        else:
            out.append(t)
    return out


def _describe(t: Any) -> str:
    if isinstance(t, tuple):
        return ", ".join(_describe(x) for x in t)
    return repr(t) if isinstance(t, str) else str(t)


def joinedload(*attrs: Any, innerjoin: bool = False) -> Load:
    """Load the relationship in the same SELECT through a LEFT OUTER JOIN."""
    return Load().joinedload(*attrs)


eagerload = joinedload  # the 0.4 name


def _depth(recursion_depth: int | None) -> dict[str, Any]:
    if recursion_depth is None:
        return {}
    if not isinstance(recursion_depth, int) or isinstance(recursion_depth, bool) or \
            recursion_depth < -1:
        raise ArgumentError(
            f"Can't use recursion_depth={recursion_depth!r}: give a number of levels "
            "(0 or more), or -1 to load until no object is left")
    return {"recursion_depth": recursion_depth}


def selectinload(*attrs: Any, recursion_depth: int | None = None) -> Load:
    """Load the relationship for all parents in one more SELECT ... WHERE ... IN (...);
    ``recursion_depth``: a self-referential relationship of the loaded objects loads
    too, that many levels more (-1: every level)."""
    return Load().selectinload(*attrs, recursion_depth=recursion_depth)


def subqueryload(*attrs: Any) -> Load:
    """Load the relationship in one more SELECT per level (shares selectinload's IN query)."""
    return Load().subqueryload(*attrs)


def immediateload(*attrs: Any, recursion_depth: int | None = None) -> Load:
    """Load the relationship as soon as each parent is loaded, with its own SELECT
    (``recursion_depth``: as for :func:`selectinload`)."""
    return Load().immediateload(*attrs, recursion_depth=recursion_depth)


def lazyload(*attrs: Any) -> Load:
    """Load the relationship on first access (overrides a configured eager strategy)."""
    return Load().lazyload(*attrs)


def noload(*attrs: Any) -> Load:
    """Never load the relationship: it reads as empty (or None)."""
    return Load().noload(*attrs)


def raiseload(*attrs: Any, sql_only: bool = False) -> Load:
    """Refuse to lazy load the relationship: accessing it raises InvalidRequestError
    (with ``sql_only=True`` only when the load would need SQL)."""
    return Load().raiseload(*attrs, sql_only=sql_only)


def defaultload(*attrs: Any) -> Load:
    """A path step keeping the relationship's own strategy (to chain options below it)."""
    return Load().defaultload(*attrs)


def contains_eager(*attrs: Any, alias: Any = None) -> Load:
    """Fill the relationship from the columns of a join the statement already has."""
    return Load().contains_eager(*attrs, alias=alias)


def defer(*attrs: Any, raiseload: bool = False) -> Load:
    """Leave a column attribute out of the SELECT; it loads on first access (with
    ``raiseload=True`` reading it raises instead, until it is expired)."""
    return Load().defer(*attrs, raiseload=raiseload)


def undefer(*attrs: Any) -> Load:
    """Load a column configured as deferred() with the rest of the row."""
    return Load().undefer(*attrs)


def load_only(*attrs: Any, raiseload: bool = False) -> Load:
    """SELECT only these column attributes (and the primary key); others load on access
    (with ``raiseload=True`` reading them raises instead)."""
    return Load().load_only(*attrs, raiseload=raiseload)


def selectin_polymorphic(base: Any, classes: Any) -> Load:
    """Load the columns of the subclasses ``classes`` of the entity ``base`` for the
    objects a query of ``base`` returns that are of those classes (one more SELECT per
    subclass, by primary key).  Inside ``options()`` of a relationship path it applies
    to the objects the relationship loads."""
    return Load(base).selectin_polymorphic(classes)


def undefer_group(name: str) -> Load:
    """Load the deferred columns of group ``name`` with the rest of the row."""
    return Load().undefer_group(name)


def with_expression(key: Any, expression: Any) -> Load:
    """Load the ``query_expression()`` attribute ``key`` from the SQL ``expression``
    in this query: ``options(with_expression(A.total, A.x + A.y))``."""
    return Load().with_expression(key, expression)


# -- resolving options against a statement's entities ----------------------------------------
def _prop_for(mapper: Mapper, target: Any, strategy: str) -> Any:
    cls = mapper.class_.__name__
    if isinstance(target, AliasedRelationship):
        # a relationship of an aliased() entity (joinedload(ua.addresses) in a statement
        # of ua): the option applies to the entity's path like the class attribute's
        target = target.attr
    if isinstance(target, str):
        prop = mapper._props.get(target)
        if prop is None:
            raise ArgumentError(
                f"Can't apply {_NAMES[strategy]}({target!r}): {cls} has no mapped attribute "
                f"{target!r}; mapped attributes are {', '.join(sorted(mapper._props))}"
            )
        return prop
    if isinstance(target, ColumnElement):
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
    if not isinstance(target, QueryableAttribute):
        raise ArgumentError(
            f"Can't apply {_NAMES[strategy]}({target!r}): expected a mapped attribute such as "
            f"{cls}.{next(iter(mapper._props), 'name')} or its name as a string"
        )
    if target.parent is not mapper and mapper.isa(target.parent):
        # an attribute of a superclass (Load(Manager).defer(Person.name)): the path's
        # class maps it too, under the same key
        own = mapper._props.get(through_synonym(target).key)
        if own is not None:
            return own
    if target.parent is not mapper and not target.parent.isa(mapper):
        raise ArgumentError(
            f"Can't apply {_NAMES[strategy]}({target}) here: the path is at {cls}, and "
            f"{target} is an attribute of {target.parent.class_.__name__}; chain attributes "
            "of the previous relationship's target class"
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
        current += [mapper._props[k] for k in keys if k not in have]
    else:
        current = _load_only(plan, current, keys, refuse)
        current += [sp for sp in sub_props if sp not in current]
    # SELECT them in the mapper's column order, whatever order the options named them in
    order = {k: i for i, k in enumerate(mapper.column_attrs.keys())}
    current.sort(key=lambda p: order.get(p.key, len(order)))
    plan.props = tuple(current)


def _deferred(plan: EntityPlan, current: list[Any], keys: list[str], refuse: bool
              ) -> list[Any]:
    """defer(): ``current`` without the ``keys`` (the primary key stays loaded)."""
    mapper = plan.mapper
    pk = set(mapper._pk_keys)
    # raiseload=True: reading them refuses; a plain defer() lets a raiseload=True
    # column load on access
    _mark_raise(plan, [k for k in keys if k not in pk and (refuse or k in mapper._raise_keys)],
                refuse)
    return [p for p in current if p.key not in keys or p.key in pk]


def _load_only(plan: EntityPlan, current: list[Any], keys: list[str], refuse: bool
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


def _column_keys(mapper: Mapper, targets: Any, strategy: str
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
    sub_props: list[Any] = []
    for t in items:
        prop = _prop_for(mapper, t, strategy)
        if not prop.is_column:
            raise ArgumentError(
                f"Can't apply {_NAMES[strategy]}({_describe(t)}): "
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


def _apply_expression(plan: EntityPlan, target: Any, expression: Any) -> None:
    """with_expression(): the query_expression() attribute ``target`` of the plan's
    entity is loaded from ``expression`` in this query."""
    mapper = plan.mapper
    prop = _prop_for(mapper, target, "with_expression")
    if not getattr(prop, "is_query_expression", False):
        raise ArgumentError(
            f"Can't apply with_expression({_describe(target)}): "
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


def _refuse_conflict(plan: EntityPlan, targets: Any, strategy: str,
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
                f"Can't apply {_NAMES[strategy]}({_describe(t)}) to a query that already "
                f"has {_NAMES[before]}() of {plan.mapper.class_.__name__}.{key}: the two "
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
        if strategy in _COLUMN_STRATEGIES:
            if chosen is not None and strategy in ("defer", "undefer"):
                _refuse_conflict(plan, target, strategy, chosen)
            _apply_columns(plan, target, strategy, kw)
            continue
        mapper = plan.mapper
        if isinstance(target, str) and target == "*":
            _apply_wildcard(plan, strategy)
            return
        alias = kw.get("alias")
        of_type: Any = None
        local_criteria: tuple[Any, ...] = ()
        if isinstance(target, OfType):  # contains_eager(User.addresses.of_type(alias))
            of_type = target.target
            alias = alias if alias is not None else of_type
            local_criteria = tuple(target.criteria)
            target = target.attr
        prop = _prop_for(mapper, target, strategy)
        _check_relationship_step(mapper, prop, target, strategy)
        node = plan.nodes.get(prop.key)
        if node is None:
            sub_path = (*plan.path, prop, prop.mapper)
            sub = default_plan(prop.mapper, sub_path)
            node = RelNode(prop, prop.lazy if strategy == "default" else strategy, sub)
            plan.nodes[prop.key] = node
        elif strategy != "default":
            node.strategy = strategy
        if "recursion_depth" in kw and strategy in ("selectin", "immediate"):
            if not (prop.mapper.isa(prop.parent) or prop.parent.isa(prop.mapper)):
                raise InvalidRequestError(
                    f"Can't use recursion_depth with {prop.parent.class_.__name__}.{prop.key}: "
                    f"it loads {prop.mapper.class_.__name__} objects, which do not have the "
                    "relationship again; recursion_depth is for self-referential "
                    "relationships (a tree of one class)")
            node.recursion_depth = kw["recursion_depth"]
        if local_criteria and strategy != "contains_eager":
            # selectinload(User.addresses.and_(...)): rows of this load only
            node.plan.local_criteria = node.plan.local_criteria + local_criteria
            node.plan.customized = True
        if strategy == "contains_eager":
            node.alias = _eager_alias(alias)
        elif of_type is not None:
            # selectinload(Company.employees.of_type(Engineer or with_polymorphic(...))):
            # the related rows are read with those subclasses' columns
            node.plan.poly_with = _merge_mappers(node.plan.poly_with,
                                                 _of_type_mappers(prop.mapper, of_type))
        plan = node.plan


def _check_relationship_step(mapper: Mapper, prop: Any, target: object,
                             strategy: str) -> None:
    """A relationship loader option's step names a relationship of ``mapper`` (or of a
    subclass) that ``strategy`` can load."""
    if not prop.is_relationship:
        raise ArgumentError(
            f"Can't apply {_NAMES[strategy]}({_describe(target)}): "
            f"{mapper.class_.__name__}.{prop.key} is not a relationship; use defer(), "
            "undefer() or load_only() for column attributes"
        )
    if prop.lazy in ("dynamic", "write_only") and strategy in (
            "joined", "selectin", "subquery", "immediate", "contains_eager"):
        kind = "dynamic" if prop.lazy == "dynamic" else "write-only"
        raise InvalidRequestError(
            f"Can't apply {_NAMES[strategy]}({_describe(target)}): "
            f"{mapper.class_.__name__}.{prop.key} is a {kind} relationship (never "
            "loaded as a whole), which can't be loaded eagerly; query it through the "
            "attribute, or configure it with lazy='select' to load it with the parents"
        )
    if prop.parent is not mapper and not mapper.isa(prop.parent) and strategy in (
            "joined", "contains_eager"):
        raise ArgumentError(
            f"Can't apply {_NAMES[strategy]}({_describe(target)}) to a query of "
            f"{mapper.class_.__name__}: {prop.parent.class_.__name__}.{prop.key} belongs "
            f"to a subclass, whose table the query does not join; use selectinload() "
            f"or immediateload() for it"
        )


def _eager_alias(alias: Any) -> Any:
    """contains_eager(..., alias=): the selectable the related rows' columns are in."""
    if isinstance(alias, AliasedClass):
        return alias.selectable
    if alias is not None and hasattr(alias, "__clause_element__"):
        return alias.__clause_element__()
    return alias


def _merge_mappers(have: Any, more: list[Mapper]) -> Any:
    if not more:
        return have
    out = list(have or ())
    out += [m for m in more if m not in out]
    return tuple(out)


def _of_type_mappers(target: Mapper, of_type: Any) -> list[Mapper]:
    """The subclasses of ``target`` whose columns ``of_type(...)`` asks to load."""
    if isinstance(of_type, PolymorphicEntity):
        if of_type.mapper is not target and not of_type.mapper.isa(target):
            return []
        return [m for m in of_type._dm_poly_mappers if m.isa(target)]
    m = _mapper_or_none(of_type) if isinstance(of_type, type) else None
    if m is None or m is target or not m.isa(target):
        return []
    return resolve_polymorphic(target, [m])


_WILDCARD_STRATEGIES = ("select", "noload", "raise", "raise_on_sql", "joined", "selectin",
                        "subquery", "immediate")


def _apply_wildcard(plan: EntityPlan, strategy: str) -> None:
    """``lazyload('*')``, ``raiseload('*')`` ...: every relationship of the entity the
    path has reached loads with ``strategy``, except those another option names (those
    options are applied after the wildcards, see :func:`build_plans`)."""
    mapper = plan.mapper
    if strategy not in _WILDCARD_STRATEGIES:
        raise ArgumentError(
            f"Can't apply {_NAMES[strategy]}('*'): the wildcard stands for every "
            f"relationship of {mapper.class_.__name__}, which {_NAMES[strategy]}() can't "
            "take; name the relationships")
    for key, prop in mapper._props.items():
        if not prop.is_relationship or prop.lazy in ("dynamic", "write_only"):
            continue
        node = plan.nodes.get(key)
        if node is None:
            sub = default_plan(prop.mapper, (*plan.path, prop, prop.mapper))
            plan.nodes[key] = RelNode(prop, strategy, sub)
        else:
            node.strategy = strategy


def _is_wildcard(option: Load) -> bool:
    last = option.steps[-1] if option.steps else None
    return last is not None and isinstance(last[0], str) and last[0] == "*" and \
        last[1] not in _COLUMN_STRATEGIES


def _root_index(option: Load, mappers: list[Mapper | None]) -> int:
    """Which selected entity an option applies to: its Load() root, else the entity
    (or a subclass or superclass of it) its first attribute belongs to, else the first
    entity."""
    root = option.root
    if root is not None:
        rm = root.mapper if isinstance(root, AliasedClass) else (
            root if isinstance(root, Mapper) else _mapper_or_none(root))
        for i, m in enumerate(mappers):
            if m is not None and m is rm:
                return i
        names = ", ".join(m.class_.__name__ for m in mappers if m is not None)
        raise ArgumentError(
            f"Can't apply {option!r}: {_describe(root)} is not an entity of this query "
            f"(entities: {names or 'none'}); root Load() at a selected class"
        )
    first = option.steps[0][0]
    if isinstance(first, tuple):
        first = first[0] if first else None
    if isinstance(first, QueryableAttribute):
        return _entity_of_attribute(option, first.parent, mappers)
    for i, m in enumerate(mappers):
        if m is not None:
            return i
    raise ArgumentError(f"Can't apply {option!r}: the query selects no mapped entity")


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


def _option_key(value: Any, anon_map: Any, bindparams: list[Any]) -> Any:
    """A loader option's step target or argument, as part of a cache key."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, tuple):
        return tuple(_option_key(v, anon_map, bindparams) for v in value)
    if isinstance(value, type):
        return value  # a mapped class
    if isinstance(value, QueryableAttribute):
        qa: Any = value
        if getattr(qa.class_, qa.key, None) is value:
            return ("dm_attr", qa.class_, qa.key)
    if is_cacheable_element(value):
        return gen_cache_key(value, anon_map, bindparams)  # of_type(), a SQL expression
    if hasattr(value, "__clause_element__"):  # aliased(), an alias's attribute
        element = value.__clause_element__()
        if is_cacheable_element(element):
            return (type(value).__name__, gen_cache_key(element, anon_map, bindparams))
    mark_uncacheable(anon_map)
    return ("dm_uncacheable", id(value))


def build_plans(mappers: list[Mapper | None], options: Any) -> list[EntityPlan | None] | None:
    """One plan per selected entity (None for plain columns), or None when nothing
    differs from a plain load (no options, no configured eager relationships)."""
    opts = [p for o in options if isinstance(o, Load)
            for p in (o.paths() if o.branches else (o,))] if options else []
    if not opts and not any(m is not None and has_eager_defaults(m) for m in mappers):
        return None
    plans: list[EntityPlan | None] = [default_plan(m) if m is not None else None
                                      for m in mappers]
    if any(_is_wildcard(o) for o in opts):
        # wildcards first, so that an option naming a relationship wins over them
        # whatever the order they were given in
        opts.sort(key=lambda o: not _is_wildcard(o))
    chosen: dict[tuple[int, str], str] = {}  # (plan, attribute) -> defer/undefer
    for o in opts:
        if o.steps:
            _apply_option(o, plans, mappers, chosen)
    if all(p is None or p.is_default() for p in plans):
        return None
    return plans


def _apply_option(option: Load, plans: list[EntityPlan | None], mappers: list[Mapper | None],
                  chosen: dict[tuple[int, str], str]) -> None:
    """Apply one loader option to the plan of the entity it is rooted at (a lone
    wildcard option: to every entity's plan)."""
    if option.root is None and len(option.steps) == 1 and _is_wildcard(option):
        # lazyload('*') alone: every selected entity's relationships
        for plan in plans:
            if plan is not None:
                _apply(plan, option)
        return
    plan = plans[_root_index(option, mappers)]
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


def plans_statement(entities: list[Any], plans: list[EntityPlan | None], base: Any,
                    order_by: list[Any], limited: bool,
                    criteria: tuple[LoaderCriteriaOption, ...] = ()) -> tuple[Any, Any]:
    """The SELECT of an entity query with its plans' eager joins added to ``base``, and
    the row layout of its leading columns (``str(query)`` shows it; the query runs it).

    With LIMIT/OFFSET and a joined collection, the limited query becomes a subquery the
    eager joins hang off, so that the limit counts parent rows.
    """
    from .entities import RowLayout

    layout = RowLayout(entities, [p.props if p is not None else None for p in plans])
    stmt = base
    parent_sels = _parent_selectables(entities, plans)
    extra_order: list[Any] = []
    if any(p is not None and p.has_joined() for p in plans):
        if limited and any(p is not None and p.multiplies_rows() for p in plans):
            stmt, extra_order, inner = _limited_inner(
                base, layout.columns, order_by, _join_columns(plans, parent_sels))
            parent_sels = [inner if sel is not None else None for sel in parent_sels]
        else:
            stmt = _lock_parents_only(stmt, parent_sels)
        ncols = len(layout.columns)
        for plan, sel in zip(plans, parent_sels, strict=True):
            if plan is not None and plan.has_joined():
                stmt, ncols = add_joined(stmt, plan, sel, ncols, extra_order, criteria)
        if extra_order:
            stmt = stmt.order_by(*extra_order)
    return stmt, layout


def _parent_selectables(entities: list[Any], plans: list[EntityPlan | None]) -> list[Any]:
    """Where each entity's eager joins start: its table, or the selectable of an aliased
    entity (aliased(), the subquery of a union() ...); None without a plan."""
    parent_sels: list[Any] = []
    for i, p in enumerate(plans):
        ent = entities[i] if i < len(entities) else None
        if p is None:
            parent_sels.append(None)
        elif isinstance(ent, AliasedClass) and ent.mapper is p.mapper:
            parent_sels.append(ent._dm_selectable)
        else:
            parent_sels.append(p.mapper.local_table)
    return parent_sels


def _join_columns(plans: list[EntityPlan | None], parent_sels: list[Any]) -> list[Any]:
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
            for c in visitors.iterate(node.prop.primaryjoin):
                if isinstance(c, Column) and c.table in tables:
                    cc = c if isinstance(sel, Table) else sel.corresponding_column(c)
                    if cc is not None and not any(cc is o for o in out):
                        out.append(cc)
    return out


def _limited_inner(base: Any, columns: list[Any], order_by: list[Any],
                   join_columns: list[Any]) -> tuple[Any, list[Any], Any]:
    """A LIMITed query with a joined collection: (the SELECT of ``columns`` from the
    limited query as a subquery, its ORDER BY adapted to the subquery, the subquery).
    The subquery also selects the ``join_columns`` the eager joins outside it need."""
    if order_by and is_distinct(base):
        base = _with_order_columns(base, order_by)
    missing = [c for c in join_columns if base.selected_columns.corresponding_column(c) is None]
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


def _with_order_columns(stmt: Any, order_by: list[Any]) -> Any:
    """A SELECT DISTINCT that becomes the subquery eager joins hang off selects the
    columns it is ordered by too (else the outer ORDER BY, adapted to the subquery,
    would name a table outside it)."""
    selected = list(stmt.selected_columns)
    extra: list[Any] = []
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
                       criteria: tuple[LoaderCriteriaOption, ...] = ()) -> list[Any]:
    """Run an entity query whose plans differ from a plain load; ``base`` is the statement
    selecting ``entities`` (with the plans' column choices), ``run(stmt)`` returns its rows
    (the statement is :func:`plans_statement`'s); ``criteria``: the statement's
    ``with_loader_criteria()`` options, for its eager joins."""
    stmt, layout = plans_statement(entities, plans, base, order_by, limited, criteria)
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


def _load_with_plans(session: SessionLike, layout: Any, plans: list[EntityPlan | None],
                     rows: list[Any], populate_existing: bool, token: Any,
                     execution_options: Any, user_options: tuple[Any, ...]) -> list[Any]:
    results: list[Any] = session._rows_to_results(layout, rows, populate_existing, token)
    single = layout.single_entity
    # the statement's execution options apply to the SELECTs of its eager loaders too
    outer = session._eager_exec_opts, session._eager_user_opts
    session._eager_exec_opts = execution_options or None
    session._eager_user_opts = user_options
    try:
        for i, plan in enumerate(plans):
            if plan is not None and not plan.is_default():
                objs = results if single else [r[i] for r in results]
                populate(session, plan, objs, rows, populate_existing, token)
                if plan.customized:
                    remember_plan(plan, objs)
    finally:
        session._eager_exec_opts, session._eager_user_opts = outer
    if any(p is not None and p.multiplies_rows() for p in plans):
        results = unique_rows(results, single)
    return results


def _lock_parents_only(stmt: Any, parent_tables: list[Any]) -> Any:
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


def unique_rows(results: list[Any], single: bool) -> list[Any]:
    """``results`` without repeats: an object by identity, a row by its objects'
    identities and its other values; a row holding an unhashable value is kept."""
    if single:
        # the same id is the same object: the dict keeps each once, in first-seen order
        return list({id(r): r for r in results}.values())
    return _first_of_each(results, lambda r: tuple([id(x) if hasattr(x, "__dict__") else x
                                                    for x in r]))


def _first_of_each(results: list[Any], key_of: Any) -> list[Any]:
    """The rows of ``results`` whose ``key_of(row)`` was not seen before, in order; a
    row whose key can't be hashed (an unhashable value) is always kept."""
    seen: set[Any] = set()
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
                       ) -> list[Any]:
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


class UserDefinedOption(ExecutableOption):
    """An option that carries an application's own ``payload`` on a statement.

    The ORM does nothing with it; ``do_orm_execute`` listeners find it in
    :attr:`ORMExecuteState.user_defined_options`.  ``propagate_to_loaders``
    says whether it also applies to the loads of relationships the statement
    triggers.
    """

    propagate_to_loaders = False

    def __init__(self, payload: Any = None) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.payload!r})"


def propagating_options(options: Any) -> tuple[Any, ...]:
    """The user-defined and ``with_loader_criteria()`` options among ``options`` that
    relationship loads carry on."""
    if not options:
        return ()
    return tuple(o for o in options
                 if isinstance(o, (UserDefinedOption, LoaderCriteriaOption))
                 and o.propagate_to_loaders)
