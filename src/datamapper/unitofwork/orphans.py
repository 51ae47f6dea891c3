"""Delete-orphan in a flush: which children lost their parent and found no other.

Callers: ``dependency.py``, which records while it reads the flush's states
(relationship, child, parent it left) in a :data:`Lost` list and the children
still or again held in a :data:`Kept` set, and asks :func:`orphans_of` once
every state is read; it asks :func:`row_names_another_parent` before it unlinks
a child taken out of a one-to-many.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

from .._util import NO_VALUE
from ..instance.collections import members as coll_members
from ..instance.state import InstanceState
from ..mapping.relationships import ONETOMANY, RelationshipProperty
from .links import Link
from .references import related_state as _state

Lost = list[tuple[RelationshipProperty, InstanceState, InstanceState]]
Kept = set[tuple[RelationshipProperty, InstanceState]]


def note_m2o_orphan(prop: RelationshipProperty, state: InstanceState,
                target: InstanceState | None, original: Any,
                lost: Lost, kept: Kept) -> None:
    """A delete-orphan many-to-one (single_parent): the object it referred to is lost."""
    if target is not None:
        kept.add((prop, target))
    old = _state(original) if original is not NO_VALUE else None
    if old is not None and old is not target and old.session_id == state.session_id:
        lost.append((prop, old, state))


def orphans_of(lost: Lost, kept: Kept,
             links: dict[InstanceState, dict[tuple[str, ...], Link]],
             deleting: set[InstanceState]) -> list[InstanceState]:
    """The persistent children that left a delete-orphan parent and found no other.

    A child moved to another parent through the same relationship is kept: the new
    parent's history holds it, its foreign key is given a surviving parent's key, or
    (the new parent's collection not loaded) the child's reverse reference names a
    parent that is neither the one it left nor being deleted.
    Pending children are no business of the flush: they were expunged when they
    left (see ``instance.relationships``).
    """
    out: list[InstanceState] = []
    seen: set[InstanceState] = set()
    for prop, child, parent in lost:
        if child._key is None or child in seen or (prop, child) in kept:
            continue
        if prop.direction == ONETOMANY and _moved_away(links.get(child), prop, deleting):
            continue
        if _held_by_reverse(prop, child, parent, deleting):
            continue
        if child.mapper.legacy_is_orphan and not child.mapper._is_orphan(child):
            continue  # another delete-orphan parent still holds it
        seen.add(child)
        out.append(child)
    return out


def _moved_away(per: dict[tuple[str, ...], Link] | None, prop: RelationshipProperty,
                deleting: set[InstanceState]) -> bool:
    """True when a child of a deleted parent was given a new, surviving parent."""
    if not per:
        return False
    prop.sync_keys()
    link = per.get(prop._dest_keys)
    return link is not None and link.src is not None and link.src not in deleting


def _held_by_reverse(prop: RelationshipProperty, child: InstanceState,
                     parent: InstanceState, deleting: set[InstanceState]) -> bool:
    obj = child.obj()
    if obj is None:
        return False
    d = obj.__dict__
    for rev in prop._reverse_property:
        value = d.get(rev.key)
        if value is None:
            continue
        for other in (coll_members(value) if rev.uselist else (value,)):
            ost = _state(other)
            if ost is not None and ost is not parent and ost not in deleting:
                return True
    return False


def row_names_another_parent(prop: RelationshipProperty, parent: InstanceState,
                             child: InstanceState) -> bool:
    """Whether ``child``, taken out of ``parent``'s one-to-many ``prop``, has a row
    that already refers to another parent: the key it was last loaded or flushed
    with is set and is neither ``parent``'s key nor the one ``parent`` had.

    Without a backref, a child moved to another parent stays in the old parent's
    loaded collection; once a flush wrote the move, taking it out of that stale
    collection has nothing to unlink (nor orphan).  False where a value is not
    known without SQL: the child is then unlinked as before.
    """
    prop.sync_keys()
    fk = _flushed_values(child, prop._dest_keys)
    if fk is None or all(v is None for v in fk):
        return False
    obj = parent.obj()
    if obj is None:
        return False
    d = obj.__dict__
    now = tuple(d.get(k, NO_VALUE) for k in prop._src_keys)
    if NO_VALUE in now or fk == now:
        return False
    was = _flushed_values(parent, prop._src_keys)
    return was is not None and fk != was and _comparable(fk, now) and _comparable(fk, was)


def _comparable(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two key tuples hold values Python compares as the database would: the
    same types, or numbers (a foreign key typed unlike the key it refers to, say text
    for an integer, is not taken as naming another parent)."""
    for x, y in zip(a, b, strict=True):
        if type(x) is not type(y) and not (isinstance(x, Number) and isinstance(y, Number)):
            return False
    return True


def _flushed_values(state: InstanceState, keys: tuple[str, ...]) -> tuple[Any, ...] | None:
    """``state``'s values of ``keys`` as last loaded or flushed (the committed value of
    one changed since); None when one of them isn't known without SQL."""
    obj = state.obj()
    if obj is None:
        return None
    d = obj.__dict__
    cs = state._committed or {}
    pk_keys = state.mapper._pk_keys
    ident = state.identity
    out = []
    for k in keys:
        v = cs.get(k, NO_VALUE) if k in cs else d.get(k, NO_VALUE)
        if v is NO_VALUE and ident is not None and k in pk_keys:
            v = ident[pk_keys.index(k)]
        if v is NO_VALUE:
            return None
        out.append(v)
    return tuple(out)
