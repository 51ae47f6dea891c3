"""``Session.refresh()``: reload one persistent object's row now.

Caller: :meth:`Session.refresh` (and the sharded session through it).  The
object's attributes to reload are expired first (their unflushed changes are
discarded), pending changes elsewhere are autoflushed, and then one SELECT by
the object's primary key reads the named columns (always with the primary
key) while the relationships that load eagerly are loaded with it:

- with no names, every relationship the object's loading strategy loads
  eagerly: the ones configured ``lazy="joined"/"selectin"/...``, or the loader
  options of the query that loaded the object (remembered on its state);
- with names, only the named relationships among those.

Relationships that load lazily are left expired (they load on next access),
as the 0.9 Session chapter describes: "non-eager-loading relationship()
attributes will not be included in any refresh operation".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import and_, bindparam, select

from .._util import describe
from ..exc import InvalidRequestError
from ..instance.state import InstanceState
from ..loading.plans import EAGER, EntityPlan, load_plan_of
from ..loading.rows import fetch_rows
from ..query.entities import RowLayout
from ..query.plan_execution import execute_with_plans

if TYPE_CHECKING:
    from ..instance.seam import SessionLike
    from ..mapping.mapper import Mapper
    from .base import SessionBase


def refresh_state(session: SessionBase, state: InstanceState, obj: object,
                  attribute_names: Iterable[str] | None, with_for_update: object) -> None:
    """Expire then reload ``attribute_names`` of ``obj`` (all of them when None)."""
    mapper = state.mapper
    plan = load_plan_of(state)
    if attribute_names is None:
        # like expire(obj): what the refresh-expire cascade reaches is expired too
        session._cascade_expire(state)
        state.expire()
        col_keys = [p.key for p in plan.props if p.key not in mapper._expression_keys] \
            if plan is not None and plan.props is not None else list(mapper._load_keys)
        wanted_rels: set[str] | None = None
    else:
        named = _expire_named(session, state, obj, list(attribute_names))
        if named is None:
            return
        col_keys, wanted_rels = named
    # the SELECT reads the database: pending changes go there first (as for a query)
    session._autoflush()
    # the attributes to reload were expired above: with names, the row fills those
    # and leaves the others as they are (populate_existing would unload the loaded
    # columns the row does not read)
    found = load_with_plan(session, state, _refresh_plan(mapper, plan, col_keys, wanted_rels),
                           with_for_update, attribute_names is None)
    if not found:
        raise InvalidRequestError(
            f"Can't refresh {describe(obj)}: its row is no longer in the database"
        )
    if "refresh" in mapper.dispatch:
        mapper.dispatch.fire("refresh", obj, None, col_keys)


def load_with_plan(session: SessionBase, state: InstanceState, sub: EntityPlan,
                   with_for_update: object, populate_existing: bool) -> bool:
    """One SELECT of ``state``'s row by its primary key, loading what ``sub`` says (its
    columns, its eager relationships); whether the row was found."""
    mapper = state.mapper
    key = state.key
    assert key is not None
    layout = RowLayout([mapper.class_], [sub.props])
    where = and_(*[c == bindparam(f"_dm_pk_{i}")
                   for i, c in enumerate(mapper.primary_key)])
    base = select(*layout.columns).where(where)
    if len(mapper.tables) > 1 or mapper.non_table:
        # the row of a joined subclass (or of a single-table subclass of one) is the
        # join of its tables: without it the SELECT would pair the base row with
        # every subclass row
        base = base.select_from(mapper.persist_selectable)
    if with_for_update:
        base = base.with_for_update(**(with_for_update if isinstance(with_for_update, dict)
                                       else {}))
    params = {f"_dm_pk_{i}": v for i, v in enumerate(key[1])}

    def run(stmt: object) -> list[Any]:
        bind = session.get_bind(mapper=mapper, clause=stmt)
        return fetch_rows(session._run(stmt, params, bind, None,
                                       {"mappers": (mapper,), "column_load": True}))

    # the related objects the eager loaders find in the session keep their state (and
    # their unflushed changes): only this object is refreshed
    return bool(execute_with_plans(cast("SessionLike", session), [mapper.class_], [sub], base,
                                   [], False, populate_existing, key[2], run,
                                   populate_below=False))


def eager_expired(state: InstanceState, d: dict[str, Any],
                  col_keys: list[str]) -> EntityPlan | None:
    """The load of an expired object's ``col_keys`` when the object's loading (its
    query's loader options, else its relationships' configured ``lazy=``) loads expired
    relationships of it eagerly: the plan loading those with the columns, as
    SQLAlchemy's load of an expired object does (None: no such relationship)."""
    plan = load_plan_of(state)
    if plan is None:
        return None
    exp = state.expired_attributes
    rels = {k for k, n in plan.nodes.items() if n.strategy in EAGER and k in exp and k not in d}
    if not rels:
        return None
    return _refresh_plan(state.mapper, plan, col_keys, rels)


def _expire_named(session: SessionBase, state: InstanceState, obj: object,
                  names: list[str]) -> tuple[list[str], set[str]] | None:
    """``refresh(obj, names)``: the named attributes expired; the column keys to read
    and the relationships to load again, or None when a 2.x session refreshed the
    named relationships alone (each through its loader, done here)."""
    mapper = state.mapper
    bad = [n for n in names if n not in mapper._props]
    if bad:
        raise InvalidRequestError(
            f"Can't refresh {', '.join(map(repr, bad))} of {describe(obj)}: not "
            f"mapped attributes of {mapper.class_.__name__}"
        )
    col_keys = [n for n in names if n in mapper._column_keys]
    rels = [n for n in names if mapper._props[n].is_relationship]
    if not col_keys and rels and session.future:
        # 2.x: refresh the named relationships only, each with its own loader now
        _check_pending_key_change(session, state, obj)
        state.expire(rels)
        for name in rels:
            getattr(obj, name)
        return None
    if not col_keys and rels:
        raise InvalidRequestError(
            f"Can't refresh only relationship attribute(s) {', '.join(rels)} of "
            f"{describe(obj)}: refresh() reloads columns; use "
            "session.expire(obj, [names]) to reload relationships on next access"
        )
    state.expire(names)
    _check_pending_key_change(session, state, obj)
    return col_keys, set(rels)


def _refresh_plan(mapper: Mapper, plan: EntityPlan | None, col_keys: list[str],
                  wanted_rels: set[str] | None) -> EntityPlan:
    """What the refresh SELECT loads: the key and ``col_keys`` columns, and the eager
    relationships of the object's load plan (those in ``wanted_rels``, when named)."""
    pk_keys = mapper._pk_keys
    sub = EntityPlan(mapper, plan.path if plan is not None else (mapper,))
    sub.props = tuple(mapper._props[k] for k in
                      dict.fromkeys([*pk_keys, *(k for k in col_keys if k not in pk_keys)]))
    if plan is not None:
        for rel_key, node in plan.nodes.items():
            # (contains_eager is not among them: it reads a join of the original statement)
            if node.strategy in EAGER and (wanted_rels is None or rel_key in wanted_rels):
                sub.nodes[rel_key] = node
    return sub


def _check_pending_key_change(session: SessionBase, state: InstanceState, obj: object) -> None:
    """A refresh SELECTs by the primary key the database holds: a changed key must be
    flushed first, which autoflush does; without it the refresh is refused."""
    cs = state._committed
    if not cs:
        return
    changed = [k for k in state.mapper._pk_keys if k in cs]
    if not changed:
        return
    if session.autoflush and not session._no_autoflush and not session._flushing:
        return
    raise InvalidRequestError(
        f"Can't refresh {describe(obj)}: its primary key attribute(s) "
        f"{', '.join(map(repr, changed))} were changed and not flushed, so the row to read "
        "is unknown; call session.flush() first (autoflush is off)"
    )
