"""Lazy loading of relationships.

Callers: the session, when an unloaded relationship attribute of a
persistent object is read (``lazy="select"``).  A many-to-one that points at
the target's primary key is looked up in the identity map first and costs
no SQL when the object is there; everything else is one SELECT of the
target with the relationship's lazy clause, the parent's key values bound as
parameters.  ``lazy="noload"`` gives an empty result without SQL and
``lazy="raise"`` refuses, as does a relationship an object was loaded with
``raiseload()``.  When the target has relationships configured to load
eagerly (``lazy="joined"``/``"selectin"``/``"subquery"``), the lazy load
applies them to what it loads (see ``strategies.load_with_defaults``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError

from .._util import describe
from ..instance.seam import SessionLike
from ..instance.state import InstanceState
from ..mapping.cache import CacheSlot
from ..mapping.inheritance import apply_entity_source
from ..mapping.relationships import MANYTOMANY, RelationshipProperty
from .criteria import LoaderCriteriaOption, apply_loader_criteria, criteria_options
from .plans import (
    LAZY_PLANS_KEY,
    LAZY_SELECT_KEY,
    RAISE_KEY,
    RAISE_SQL_KEY,
    USER_OPTS_KEY,
    EntityPlan,
    has_eager_defaults,
    lazy_plan_after_expiry,
    scalar_of,
    stamp_user_options,
)
from .rows import EntityLoader, entity_loader, fetch_rows, instances
from .strategies import load_with_defaults
from .target_from import read_from_target


def _statement(prop: RelationshipProperty) -> tuple[Any, EntityLoader, bool, dict[Any, Any]]:
    cached = _LAZY_STATEMENT.get(prop)
    if cached is not None:
        return cached
    target = prop.mapper
    loader = entity_loader(target)
    stmt = select(*loader.columns)
    if prop.direction == MANYTOMANY:
        stmt = stmt.select_from(target.local_table).select_from(prop.secondary)
    stmt = apply_entity_source(stmt.where(prop._lazy_clause), target)
    if prop.order_by:
        stmt = stmt.order_by(*prop.order_by)
    if prop.target_from is not None:
        # relationship(aliased(Child, selectable)): the rows are the selectable's
        stmt = read_from_target(prop, stmt)
    # the target's relationships configured lazy="joined"/"selectin"/"subquery" load with it
    eager = has_eager_defaults(target)
    return _LAZY_STATEMENT.set(prop, (stmt, loader, eager, {}))


_LAZY_STATEMENT: CacheSlot[tuple[Any, EntityLoader, bool, dict[Any, Any]]] = CacheSlot(
    "lazy-load SELECT, row loader of the target, target has eager defaults, the SELECT's"
    " driver forms by dialect")


def lazy_load(session: SessionLike, state: InstanceState, prop: RelationshipProperty,
              requested: bool = False, plan: EntityPlan | None = None) -> None:
    """Load relationship ``prop`` of a persistent ``state`` into its ``__dict__``
    (``requested``: a loader option asks for the load, e.g. ``immediateload()``, which
    overrides a configured lazy="noload"/"raise"; ``plan``: what loads below it, given
    by an eager load that is itself part of a longer path, such as an immediate load
    of a self-referential relationship with ``join_depth``).

    In order: ``noload`` and ``raiseload()`` answer without reading anything; the
    parent's key values are read (an unloaded one loads); a simple many-to-one is
    looked up in the identity map; what needs SQL is refused for ``raise``/
    ``raise_on_sql``; a key value of None matches nothing; a simple many-to-one
    is then a ``get()``, anything else the relationship's SELECT."""
    obj = state.strong_obj()
    impl = prop.parent._impls[prop.key]
    ext = state._extra
    lazy = _strategy_of(prop, ext, requested)
    if lazy == "noload":
        impl.set_committed(state, obj, [] if prop.uselist else None)
        return
    if ext is not None:
        _refuse_raiseload(session, prop, obj, ext)
    d = obj.__dict__
    values, missing_key = _key_values(session, state, d, prop)
    ident: tuple[Any, ...] = ()
    if prop._simple_m2o:
        ident = tuple(d.get(k) for k in prop._m2o_fk_keys)
        if None in ident:
            impl.set_committed(state, obj, None)
            return
        found = _in_identity_map(session, state, prop, ident)
        if found is not None:
            impl.set_committed(state, obj, found)
            return
    _refuse_sql(session, prop, obj, ext, lazy)
    if missing_key:
        impl.set_committed(state, obj, [] if prop.uselist else None)
        return
    stored, uopts = _plan_and_options(session, ext, prop.key)
    if plan is None:
        plan = stored
    criteria = criteria_options(uopts)
    if prop._simple_m2o and plan is None and not criteria:
        impl.set_committed(state, obj, session._get_impl(prop.mapper, ident))
        return
    if state._key is not None:
        # (a pending object's load, load_on_pending, does not flush: reading an
        # attribute of an object being built must not INSERT it)
        session._autoflush()
    objs = _select_related(session, state, prop, values, plan, uopts, criteria)
    if uopts:
        stamp_user_options(objs, uopts)
    if prop.uselist:
        impl.set_committed(state, obj, objs)
    else:
        impl.set_committed(state, obj, scalar_of(prop, objs, "lazily"))


def _strategy_of(prop: RelationshipProperty, ext: dict[str, Any] | None,
                 requested: bool) -> str:
    """The relationship's loader strategy for this object: its configured one, or
    ``select`` when a loader option asks for this load or the query that loaded the
    object asked for ``lazyload()``."""
    lazy: str = prop.lazy
    if requested or (lazy in ("noload", "raise", "raise_on_sql") and ext is not None
                     and prop.key in ext.get(LAZY_SELECT_KEY, ())):
        return "select"  # the query that loaded the object asked for this load
    return lazy


def _refuse_raiseload(session: SessionLike, prop: RelationshipProperty, obj: object,
                      ext: dict[str, Any]) -> None:
    """Raise when the query that loaded the object gave ``raiseload()`` for the
    relationship (a flush may still load it)."""
    if prop.key in ext.get(RAISE_KEY, ()) and not session._flush_loading:
        raise InvalidRequestError(
            f"Can't load {prop.parent.class_.__name__}.{prop.key} of {describe(obj)}: it was "
            "loaded with raiseload(); load it with joinedload()/selectinload() in the query "
            "instead"
        )


def _key_values(session: SessionLike, state: InstanceState, d: dict[str, Any],
                prop: RelationshipProperty) -> tuple[dict[str, Any], bool]:
    """The lazy clause's parameters from the parent's attributes (loading unloaded
    ones), and whether a key column among them is None (nothing can match)."""
    values = {}
    missing_key = False
    nkeys = prop._lazy_nkeys
    for i, (name, key) in enumerate(prop._lazy_params):
        if key not in d and (key in state.expired_attributes
                             or key in state.mapper._deferred_keys):
            # (neither expired nor deferred: the row holds no value the object lacks,
            # e.g. a column its INSERT left out, read as None as a plain read does)
            session._load_attributes(state, key)
        v = values[name] = d.get(key)
        if v is None and i < nkeys:
            missing_key = True
    return values, missing_key


def _in_identity_map(session: SessionLike, state: InstanceState, prop: RelationshipProperty,
                     ident: tuple[Any, ...]) -> Any:
    """The target of a simple many-to-one when the session holds it (of the target's
    class, for a polymorphic target), else None."""
    ikey = (prop.mapper._identity_class, ident, state.identity_token)
    found = session._identity_map.get(ikey)
    if found is not None and (prop.mapper._poly is None
                              or isinstance(found, prop.mapper.class_)):
        return found
    return None


def _refuse_sql(session: SessionLike, prop: RelationshipProperty, obj: object,
                ext: dict[str, Any] | None, lazy: str) -> None:
    """Raise when the load needs SQL and the object was loaded with
    ``raiseload(sql_only=True)`` or the relationship is configured ``lazy="raise"``/
    ``"raise_on_sql"`` (a merge or a flush may still load)."""
    if (ext is not None and prop.key in ext.get(RAISE_SQL_KEY, ())
            and not session._flush_loading):
        raise InvalidRequestError(
            f"Can't load {prop.parent.class_.__name__}.{prop.key} of {describe(obj)}: it was "
            "loaded with raiseload(sql_only=True) and loading it needs SQL; load it with "
            "joinedload()/selectinload() in the query instead"
        )
    if lazy in ("raise", "raise_on_sql") and not (session._merging or session._flush_loading):
        raise InvalidRequestError(
            f"Can't load {prop.parent.class_.__name__}.{prop.key} of {describe(obj)}: the "
            f"relationship is configured lazy={lazy!r}; load it with a loader option "
            "(selectinload/joinedload) or change lazy="
        )


def _plan_and_options(session: SessionLike, ext: dict[str, Any] | None, key: str
                      ) -> tuple[EntityPlan | None, tuple[Any, ...] | None]:
    """The loader plan below the relationship (from the options of the query that
    loaded the object) and the user options the load carries on."""
    if ext is None:
        return None, session._eager_user_opts or None
    plans = ext.get(LAZY_PLANS_KEY)
    plan = plans.get(key) if plans else None
    if plan is None:
        # loaded eagerly by a query with options below this relationship, then expired:
        # the lazy load applies those options (contains_eager ones become lazy)
        plan = lazy_plan_after_expiry(ext, key)
    # the options (with_loader_criteria() ...) of the statement that loaded the object
    # (or, for immediateload(), of the one loading it now)
    uopts = ext.get(USER_OPTS_KEY)
    if uopts is None:
        uopts = session._eager_user_opts or None
    return plan, uopts


def _select_related(session: SessionLike, state: InstanceState, prop: RelationshipProperty,
                    values: dict[str, Any], plan: EntityPlan | None, uopts: tuple[Any, ...] | None,
                    criteria: tuple[LoaderCriteriaOption, ...]) -> list[Any]:
    """Run the relationship's SELECT for one parent: the objects it finds."""
    stmt, loader, eager, compiled = _statement(prop)
    if eager or plan is not None:
        return load_with_defaults(session, stmt, values, prop.mapper,
                                  (prop.parent, prop, prop.mapper), state.identity_token, plan,
                                  uopts, state)
    if criteria:
        stmt = apply_loader_criteria(stmt, criteria, (prop.mapper,))
    bind = session.get_bind(mapper=prop.mapper, clause=stmt)
    if criteria or "do_orm_execute" in session.dispatch.active:
        # (with criteria the statement is another than the cached one)
        rows = fetch_rows(session._run(stmt, values, bind, session._eager_exec_opts, {
            "mappers": (prop.mapper,), "relationship_load": True,
            "lazy_loaded_from": state, "user_options": uopts}, positional=True))
    else:
        rows = session._fetch_cached_select(stmt, values, bind, session._eager_exec_opts,
                                            compiled, positional=True)
    if not rows:
        return []
    objs = instances(session, loader, rows, False, state.identity_token)
    if not prop.mapper.allow_partial_pks:  # rows with a partly NULL key are no objects
        objs = [o for o in objs if o is not None]
    return objs
