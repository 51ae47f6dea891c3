"""Loading plans: what a query with loader options (or a mapper's configured
``lazy=`` strategies) loads below each entity.

An :class:`EntityPlan` is the plan for one entity (the columns it loads, the
polymorphic subclasses read with it) and a tree of :class:`RelNode` objects, one per
relationship loaded eagerly or with options below it.  ``query.option_plans`` builds
plans from loader options, :func:`default_plan` from the configured strategies;
``loading.strategies`` runs them.  Also here: the keys under which a loaded object
remembers its plan and options in ``InstanceState.extra()``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import SAWarning

from ..instance.state import STATE_ATTR, InstanceState
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from ..mapping.relationships import RelationshipProperty
from .rows import EntityLoader

EAGER = frozenset({"joined", "selectin", "subquery", "immediate"})


def scalar_of(prop: RelationshipProperty, items: Sequence[Any], how: str) -> Any:
    """The object a scalar (``uselist=False``) relationship holds from the related rows
    a load found (None for none); more than one row warns, naming the relationship,
    and the first is kept.  ``how``: "eagerly" or "lazily"."""
    if len(items) > 1:
        warnings.warn(
            f"Multiple rows returned with uselist=False for {how}-loaded attribute "
            f"'{prop.parent.class_.__name__}.{prop.key}' ({len(items)} rows; the first is "
            "kept): make it a collection (uselist=True), or narrow its join condition "
            "to one related row", SAWarning, stacklevel=2)
    return items[0] if items else None
# keys in InstanceState.extra(): names of relationships loaded with raiseload(), which
# refuse any lazy load / only one that needs SQL (sql_only=True)
RAISE_KEY = "dm_raise"
RAISE_SQL_KEY = "dm_raise_sql"
# key in InstanceState.extra(): {relationship name: EntityPlan} for lazy loads of that
# relationship (options given below a lazy relationship, defaultload(A.b).joinedload(B.c))
LAZY_PLANS_KEY = "dm_lazy_plans"
# key in InstanceState.extra(): names of relationships loaded with lazyload(), which load
# on access even when configured lazy="raise"/"raise_on_sql"/"noload"
LAZY_SELECT_KEY = "dm_lazy_select"
# key in InstanceState.extra(): the EntityPlan of the query (with loader options) that loaded
# the object; refresh() loads its eager relationships the same way again
LOAD_PLAN_KEY = "dm_load_plan"
# state.extra() key: the user-defined options (propagate_to_loaders) of the statement
# that loaded the object, which its relationship loads carry on
USER_OPTS_KEY = "dm_user_options"


def stamp_user_options(objs: Sequence[Any], options: tuple[Any, ...]) -> None:
    """Remember ``options`` on each loaded object for its later relationship loads."""
    for o in objs:
        if o is not None:
            o.__dict__[STATE_ATTR].extra()[USER_OPTS_KEY] = options


class EntityPlan:
    """How one entity loads: its column properties and its relationship nodes."""

    __slots__ = ("mapper", "props", "nodes", "path", "customized", "column_raise",
                 "poly_selectin", "poly_with", "local_criteria", "wildcard", "reads_subclasses")

    def __init__(self, mapper: Mapper, path: tuple[Any, ...] = ()) -> None:
        self.mapper = mapper
        self.customized = False  # changed by a loader option (not only configured defaults)
        self.props: tuple[Any, ...] | None = None  # None: the mapper's default columns
        self.nodes: dict[str, RelNode] = {}
        self.path = path  # (mapper, prop, mapper, prop, ...) from the query's entity here
        # {column attribute: refuse to load it on access}: defer()/load_only() raiseload
        self.column_raise: dict[str, bool] | None = None
        # mapper inheritance: subclasses whose columns load after the objects, one
        # SELECT per subclass (selectin_polymorphic()); subclasses whose tables the
        # relationship's own SELECT joins (of_type(...) of a selectinload())
        self.poly_selectin: tuple[Mapper, ...] | None = None
        self.poly_with: tuple[Mapper, ...] | None = None
        # selectinload(User.addresses.and_(criteria)) ...: criteria on the target's rows
        # for this relationship's load only (WHERE, or the ON clause of a joined load)
        self.local_criteria: tuple[Any, ...] = ()
        # an unbound wildcard option (raiseload("*")): the strategy it gives every
        # relationship at every depth this query loads; set here once this plan's
        # relationships have it (see query/option_plans.py)
        self.wildcard: str | None = None
        # a selected entity's plan: the subclasses whose tables its SELECT reads (a
        # with_polymorphic() entity, a mapping's with_polymorphic): their relationships
        # can be joined eagerly from its rows (set by the query layer's build_plans)
        self.reads_subclasses: tuple[Mapper, ...] = ()

    def __reduce__(self) -> Any:
        """Pickling (an object carries the plan it was loaded with, for its later
        relationship loads): mappers and properties travel as (class, attribute name);
        a plan naming anything else travels as None (its loads use the defaults)."""
        facts = _portable_plan(self)
        return (_no_plan, ()) if facts is None else (_restore_plan, (facts,))

    def is_default(self) -> bool:
        return self.props is None and not self.nodes and self.column_raise is None and \
            self.poly_selectin is None and self.poly_with is None and \
            not self.local_criteria and (not self.path or self.path[-1] is self.mapper)

    def has_joined(self) -> bool:
        return any(n.strategy in ("joined", "contains_eager") for n in self.nodes.values())

    def multiplies_rows(self) -> bool:
        """Whether joined collections (at any depth) give several rows per entity."""
        for n in self.nodes.values():
            if n.strategy in ("joined", "contains_eager") and (
                    n.prop.uselist or n.plan.multiplies_rows()):
                return True
        return False

    def may_repeat_rows(self) -> bool:
        """Whether an entity may come in several rows: a joined collection (at any
        depth), or a joined scalar relationship other than a many-to-one by the
        target's primary key (a uselist=False one-to-many, a custom join condition),
        whose several matching rows each repeat the parent."""
        for n in self.nodes.values():
            if n.strategy in ("joined", "contains_eager") and (
                    n.prop.uselist or not n.prop._simple_m2o or n.plan.may_repeat_rows()):
                return True
        return False

    def needs_all_rows(self) -> bool:
        """Whether an eager load (at any depth) needs every row of the result before its
        objects are complete: a joined or contains_eager collection (spread over rows)
        or a subquery load (one query over all parents).  ``yield_per`` can't use it."""
        for n in self.nodes.values():
            if n.strategy == "subquery" or (
                    n.strategy in ("joined", "contains_eager") and n.prop.uselist):
                return True
            if n.plan.needs_all_rows():
                return True
        return False


class RelNode:
    """One relationship of an :class:`EntityPlan` and the strategy that loads it."""

    __slots__ = ("prop", "strategy", "plan", "alias", "loader", "recursion_depth", "chunksize",
                 "identity_only", "innerjoin", "of_type")

    def __init__(self, prop: RelationshipProperty, strategy: str, plan: EntityPlan) -> None:
        self.prop = prop
        self.strategy = strategy
        self.plan = plan
        # selectinload/immediateload(..., recursion_depth=n): the same relationship of
        # the loaded objects loads too, n levels more (-1: until no object is left)
        self.recursion_depth: int | None = None
        # selectinload(..., chunksize=n): at most n parent keys in one SELECT (None: 500)
        self.chunksize: int | None = None
        # immediate many-to-one closing a cycle: set only from the identity map (no SQL)
        self.identity_only = False
        # joinedload(..., innerjoin=): an inner join for this node (None: the
        # relationship's innerjoin=)
        self.innerjoin: bool | None = None
        self.alias: Any = None  # contains_eager: the selectable holding the target's columns
        self.loader: EntityLoader | None = None  # joined/contains_eager, set by add_joined
        # the of_type() target a loader option named for it (query/of_type_targets.py)
        self.of_type: object = None


def _ref(x: object) -> tuple[type, str | None] | None:
    """A mapper or one of its properties as (mapped class, attribute name or None),
    found again by :func:`_deref` after unpickling; None for anything else."""
    from ..mapping.properties import MapperProperty

    if isinstance(x, Mapper):
        return (x.class_, None)
    if not isinstance(x, MapperProperty):
        return None
    parent, key = x.parent, x.key
    if isinstance(parent, Mapper) and parent._props.get(key) is x:
        return (parent.class_, key)
    return None


def _refs(items: Sequence[Any] | None) -> tuple[Any, ...] | None | bool:
    """:func:`_ref` of each of ``items`` (None stays None); False when one has none."""
    if items is None:
        return None
    out = tuple(_ref(x) for x in items)
    return False if any(r is None for r in out) else out


def _deref(ref: tuple[type, str | None]) -> Any:
    mapper = ref[0].__dict__.get("_dm_mapper")
    if mapper is None:
        from ..exc import UnmappedClassError

        raise UnmappedClassError(
            f"Can't restore the loader options of a pickled object: class "
            f"{ref[0].__name__} is not mapped in this process; import the module that "
            "maps it before unpickling")
    return mapper if ref[1] is None else mapper._props[ref[1]]


def _portable_plan(plan: EntityPlan) -> dict[str, Any] | None:
    """``plan`` as plain picklable facts, or None when it names what can't travel."""
    mapper = _ref(plan.mapper)
    parts = [_refs(plan.path), _refs(plan.props), _refs(plan.poly_selectin),
             _refs(plan.poly_with), _refs(plan.reads_subclasses)]
    if mapper is None or any(p is False for p in parts):
        return None
    if plan.local_criteria:
        warnings.warn(
            f"Can't reliably pickle the criteria given to a loader option along "
            f"{plan.mapper.class_.__name__}'s path (relationship.and_()); the unpickled "
            "object's lazy loads leave them out: load that relationship eagerly instead",
            SAWarning, stacklevel=2)
    nodes: dict[str, Any] = {}
    for key, node in plan.nodes.items():
        prop, sub = _ref(node.prop), _portable_plan(node.plan)
        if prop is None or sub is None:
            return None
        # contains_eager() read the query's own joins: a later load selects instead
        strategy = "select" if node.strategy == "contains_eager" else node.strategy
        nodes[key] = (prop, strategy, sub, node.recursion_depth, node.chunksize,
                      node.identity_only, node.innerjoin)
    return {"mapper": mapper, "path": parts[0], "props": parts[1],
            "poly_selectin": parts[2], "poly_with": parts[3], "reads_subclasses": parts[4],
            "customized": plan.customized, "column_raise": plan.column_raise,
            "wildcard": plan.wildcard, "nodes": nodes}


def _restore_plan(facts: dict[str, Any]) -> EntityPlan:
    def mappers(refs: tuple[Any, ...] | None) -> Any:
        return None if refs is None else tuple(_deref(r) for r in refs)

    plan = EntityPlan(_deref(facts["mapper"]), mappers(facts["path"]) or ())
    plan.props = mappers(facts["props"])
    plan.poly_selectin = mappers(facts["poly_selectin"])
    plan.poly_with = mappers(facts["poly_with"])
    plan.reads_subclasses = mappers(facts["reads_subclasses"]) or ()
    plan.customized = facts["customized"]
    plan.column_raise = facts["column_raise"]
    plan.wildcard = facts["wildcard"]
    for key, (prop, strategy, sub, depth, chunksize, identity_only, innerjoin) in \
            facts["nodes"].items():
        node = RelNode(_deref(prop), strategy, _restore_plan(sub))
        node.recursion_depth, node.chunksize = depth, chunksize
        node.identity_only, node.innerjoin = identity_only, innerjoin
        plan.nodes[key] = node
    return plan


def _no_plan() -> None:
    return None


def has_eager_defaults(mapper: Mapper) -> bool:
    """Whether a relationship of ``mapper`` is configured to load eagerly (cached per
    mapper, recomputed when properties are added)."""
    found = _EAGER_DEFAULTS.get(mapper)
    if found is None:
        found = _EAGER_DEFAULTS.set(mapper, any(p.is_relationship and p.lazy in EAGER
                                                for p in mapper._props.values()))
    return found


_EAGER_DEFAULTS: CacheSlot[bool] = CacheSlot("has a relationship configured to load eagerly")


def load_plan_of(state: InstanceState) -> EntityPlan | None:
    """How ``state``'s object loads again on refresh: the plan of the query with loader
    options that loaded it, else its mapper's configured eager strategies (None: a plain
    load)."""
    ext = state._extra
    plan: EntityPlan | None = ext.get(LOAD_PLAN_KEY) if ext is not None else None
    if plan is None and has_eager_defaults(state.mapper):
        plan = default_plan(state.mapper)
    return plan


def lazy_plan_after_expiry(ext: dict[str, Any], key: str) -> EntityPlan | None:
    """The options (a customized sub-plan) the query that loaded an object gave below its
    relationship ``key``, for a lazy load of it after it expired; None if there were none."""
    root: EntityPlan | None = ext.get(LOAD_PLAN_KEY)
    node = root.nodes.get(key) if root is not None else None
    if node is None or not node.plan.customized:
        return None
    return _without_contains_eager(node.plan)


def _without_contains_eager(plan: EntityPlan) -> EntityPlan:
    """``plan`` with contains_eager nodes (at any depth) loading lazily instead: a lazy
    load's statement has none of the joins they read."""
    if not any(n.strategy == "contains_eager" or n.plan.nodes for n in plan.nodes.values()):
        return plan
    out = EntityPlan(plan.mapper, plan.path)
    out.customized = plan.customized
    out.props = plan.props
    out.poly_selectin = plan.poly_selectin
    out.poly_with = plan.poly_with
    for k, n in plan.nodes.items():
        sub = _without_contains_eager(n.plan)
        out.nodes[k] = RelNode(n.prop, "select" if n.strategy == "contains_eager"
                               else n.strategy, sub)
        out.nodes[k].innerjoin = n.innerjoin
    return out


def remember_plan(plan: EntityPlan, objs: Sequence[Any]) -> None:
    """Note on each loaded object the loader options' plan it was loaded with."""
    last = None  # joined collections repeat an object on consecutive rows
    for o in objs:
        if o is not None and o is not last:
            o.__dict__[STATE_ATTR].extra()[LOAD_PLAN_KEY] = plan
            last = o


def follows_default(prop: RelationshipProperty, path: tuple[Any, ...]) -> bool:
    """Stop configured eager loading at cycles: a mapper already on the path, unless
    ``join_depth`` allows that many repeats of the relationship."""
    if prop.join_depth is not None:
        return path.count(prop) < prop.join_depth
    return prop.mapper not in path[0::2]


def default_plan(mapper: Mapper, path: tuple[Any, ...] = ()) -> EntityPlan:
    """The plan the relationships' configured ``lazy=`` strategies give."""
    path = path or (mapper,)
    plan = EntityPlan(mapper, path)
    for key, prop in mapper._props.items():
        if prop.is_relationship and prop.lazy in EAGER:
            rel: RelationshipProperty = prop
            if follows_default(rel, path):
                sub_path = (*path, rel, rel.mapper)
                plan.nodes[key] = RelNode(rel, rel.lazy, default_plan(rel.mapper, sub_path))
            elif rel.lazy == "immediate" and rel._simple_m2o and not (
                    len(path) > 1 and path[-2].lazy == "immediate"):
                # a many-to-one closing a cycle: set when the identity map holds the
                # target (no SQL), as SQLAlchemy does, unless an immediate load (a lazy
                # load, after which SQLAlchemy's eager loaders stop) brought this object
                node = RelNode(rel, "immediate", EntityPlan(rel.mapper, (*path, rel, rel.mapper)))
                node.identity_only = True
                plan.nodes[key] = node
    return plan
