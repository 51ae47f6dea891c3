"""Cascades: which related objects an operation on one object reaches.

Callers: the session (``add`` -> ``save-update``, ``delete``, ``expunge``,
``expire``/``refresh`` -> ``refresh-expire``, ``merge``).  Walks the
relationships whose cascade includes the operation, depth first, each
object once.  Only loaded values are followed, except for ``delete``, which
loads unloaded collections and references (unless ``passive_deletes``) so
that the children it must delete are known.  A dynamic relationship
(``lazy="dynamic"``) keeps nothing in ``__dict__``: its impl gives the objects
appended since the last flush, and for ``delete`` its rows too, with a query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ._util import NO_VALUE, describe
from .exc import RelatedTypeError
from .instance.collections import members as coll_members
from .instance.state import (
    _LAYOUT,
    STATE_ATTR,
    InstanceState,
    instance_state,
    refuse_unmapped_subclass,
)
from .mapping.mapper import Mapper
from .mapping.relationships import RelationshipProperty

# the C making of a reached object's state (_util/_speedups_flush.h), None without it
_c_state_of = None if _LAYOUT is None else _LAYOUT.state_of

_FLAG = {
    "save-update": "save_update",
    "delete": "delete",
    "expunge": "expunge",
    "refresh-expire": "refresh_expire",
    "merge": "merge",
}


def _rels(mapper: Mapper, flag: str) -> list[RelationshipProperty]:
    cache: dict[Any, Any] | None = mapper.__dict__.get("_dm_cascade_cache")
    n = len(mapper._props)
    if cache is None:
        cache = mapper.__dict__["_dm_cascade_cache"] = {}
    else:
        hit: list[Any] | None = cache.get(flag)
        if hit is not None and cache["_n"] == n:
            return hit
    if cache.get("_n") != n:
        cache.clear()
        cache["_n"] = n
    out = [p for p in mapper._props.values()
           if getattr(p, "is_relationship", False) and getattr(p.cascade, flag)]
    cache[flag] = out
    return out


_NOTHING: tuple[tuple[InstanceState, Any], ...] = ()


def cascades(kind: str, mapper: Mapper) -> bool:
    """Whether an object of ``mapper`` has a relationship ``kind`` cascades along."""
    flag = _FLAG[kind]
    # (the answer _rels() keeps, read here without its calls: delete() of many
    # objects asks once per object)
    cache: dict[Any, Any] | None = mapper.__dict__.get("_dm_cascade_cache")
    if cache is not None and cache["_n"] == len(mapper._props):
        hit = cache.get(flag)
        if hit is not None:
            return True if hit else False
    return True if _rels(mapper, flag) else False


def cascade_iterator(kind: str, state: InstanceState, obj: object, halt_session: int | None = None
                     ) -> Iterable[tuple[InstanceState, Any]]:
    """(state, object) of every object reached from ``obj`` along ``kind`` cascades.

    ``halt_session``: a session's hash key; objects that session already holds
    (pending or persistent, not deleted by a flush) are neither given nor walked
    through.  ``add`` uses it: what such an object reaches was cascaded when it
    was attached, and a row the session deleted may still sit in one of its
    loaded collections, which must not make an unrelated ``add`` fail.
    """
    flag = _FLAG[kind]
    if not _rels(state.mapper, flag):
        return _NOTHING  # the common single-table case: no generator at all
    return _walk(flag, state, obj, halt_session)


def _refuse_member(kind: str, owner: object, prop: RelationshipProperty, child: object) -> None:
    """A cascade met an object the relationship does not hold (accepted when it was put
    there, as SQLAlchemy accepts it): refuse the whole operation before it changes
    anything."""
    name = f"{type(owner).__name__}.{prop.key}"
    target = prop.mapper.class_.__name__
    raise RelatedTypeError(
        f"Can't cascade {kind} from {describe(owner)} along {name}: it holds "
        f"{describe(child)}, and {name} doesn't handle objects of type "
        f"{type(child).__name__} (it holds {target} objects and their mapped subclasses); "
        f"take the {type(child).__name__} out of {name}"
    )


def _walk(flag: str, state: InstanceState, obj: object, halt_session: int | None = None
          ) -> Iterator[tuple[InstanceState, Any]]:
    kind_loads = flag == "delete"
    removed_too = flag == "save_update"
    # expire/refresh pass by pending members of a collection unless the relationship
    # deletes orphans (then a pending member left behind goes with its parent's state)
    skip_pending_unless_orphans = flag == "refresh_expire"
    seen = {id(obj)}
    loading = kind_loads
    # mapper -> its relationships along this cascade, for this walk: a graph of many
    # objects of few classes asks again and again; an object whose class has none
    # (the children of a tree, often) is given but not descended into
    rels_of: dict[Any, list[Any]] = {}

    def reached(st: InstanceState, o: Any) -> Iterator[tuple[InstanceState, Any]]:
        """The objects ``o`` holds along each relationship, in the relationship's
        order; those of one relationship are all marked seen before the walk descends
        into the first of them (an object held both here and deeper down comes here)."""
        d = o.__dict__
        for prop in rels_of.get(st.mapper) or _rels(st.mapper, flag):
            members = _members_along(prop, st, o, d, loading, removed_too)
            if members is None:
                continue
            skip_pending = skip_pending_unless_orphans and not prop.cascade.delete_orphan
            target = prop.mapper
            batch = []
            for child in members:
                if child is None or id(child) in seen:
                    continue
                cst = child.__dict__.get(STATE_ATTR) or \
                    (_c_state_of is not None and _c_state_of(child, STATE_ATTR)) or \
                    instance_state(child)
                cm = cst.mapper
                if cm is not target and not cm.isa(target):
                    _refuse_member(flag.replace("_", "-"), o, prop, child)
                if child.__class__ is not cm.class_:
                    refuse_unmapped_subclass(
                        child, f"cascade {flag.replace('_', '-')} from {describe(o)} along "
                        f"{type(o).__name__}.{prop.key} to")
                if skip_pending and cst._key is None:
                    continue
                seen.add(id(child))
                if halt_session is not None and cst.session_id == halt_session \
                        and not cst._deleted:
                    continue
                batch.append((cst, child))
            yield from batch

    # depth first, each object given before the objects it reaches (so a flush
    # inserts the rows of one class in the order a cascade met them: the children of
    # the first parent before those of the second, as SQLAlchemy does)
    stack = [reached(state, obj)]
    while stack:
        for cst, child in stack[-1]:
            yield cst, child
            cm = cst.mapper
            rels = rels_of.get(cm)
            if rels is None:
                rels = rels_of[cm] = _rels(cm, flag)
            if rels:
                stack.append(reached(cst, child))
                break
        else:
            stack.pop()


def _members_along(prop: RelationshipProperty, st: InstanceState, o: object, d: dict[str, Any], loading: bool,
                   removed_too: bool) -> list[Any] | None:
    """The objects ``o`` holds along ``prop`` (None: not loaded, and not to be
    loaded); with ``removed_too`` also those taken out of it since the last flush."""
    key = prop.key
    in_dict = key in d
    if in_dict:
        value = d[key]
    elif prop.lazy == "dynamic" or prop.lazy == "write_only":
        # appended objects; for delete also the rows, loaded with a query
        value = st.mapper._impls[key].members(
            st, o, loading and st._key is not None and not prop.passive_deletes)
    elif loading and st._key is not None and not prop.passive_deletes:
        value = getattr(o, key)
    else:
        return None
    members = (list(coll_members(value)) if prop.uselist and value is not None
               else [value])
    if removed_too and in_dict:
        # objects taken out of the collection (or replaced) since the last flush:
        # the flush has to write that they left, so they come along
        cs = st._committed
        if cs is not None and key in cs:
            members.extend(_removed(cs[key], value, prop.uselist))
    return members


def _removed(original: Any, current: Any, uselist: bool) -> list[object]:
    """Members of ``original`` no longer in ``current``, except rows already deleted."""
    if original is NO_VALUE or original is None:
        return []
    if uselist:
        keep = {id(x) for x in coll_members(current)} if current is not None else set()
        gone = [x for x in original if id(x) not in keep]
    else:
        gone = [] if original is current else [original]
    out = []
    for x in gone:
        st = x.__dict__.get(STATE_ATTR)
        if st is None or not st._deleted:
            out.append(x)
    return out


def cascade_records(kind: str, state: InstanceState
                    ) -> Iterator[tuple[Any, Any, InstanceState, dict[str, Any]]]:
    """``Mapper.cascade_iterator()``: (object, mapper, state, ``__dict__``) of every
    object reached from ``state``'s object along ``kind`` cascades."""
    obj = state.obj()
    if obj is None:
        return
    for st, o in cascade_iterator(kind, state, obj):
        yield o, st.mapper, st, o.__dict__
