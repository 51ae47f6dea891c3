"""What rows of a mapper refer to, and which objects a ``flush(objects)`` writes.

Callers: the planner and ``inherited.py`` (:func:`references_of`, turned into
the edges that order a flush's writes), ``dependency.py``
(:func:`relationships_of`) and the session's ``flush(objects)``
(:func:`with_pending_members`).  A :class:`Reference` comes from a relationship
(one-to-many or many-to-one) or from a Table foreign key no relationship covers;
both lists are cached per mapper (``mapping/cache.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..instance.collections import members as coll_members
from ..instance.state import STATE_ATTR, InstanceState, state_or_none
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from ..mapping.relationships import MANYTOMANY, MANYTOONE, ONETOMANY, RelationshipProperty


@dataclass
class Reference:
    """Rows of ``dest`` refer to rows of ``src``: ``dest.dest_keys -> src.src_keys``."""

    src: Mapper
    dest: Mapper
    src_keys: tuple[str, ...]
    dest_keys: tuple[str, ...]
    nullable: bool
    prop: RelationshipProperty | None = None
    post_update: bool = False


def relationships_of(mapper: Mapper) -> list[RelationshipProperty]:
    """The writable relationships of ``mapper`` (cached on the mapper)."""
    cached = _RELATIONSHIPS.get(mapper)
    if cached is None:
        cached = _RELATIONSHIPS.set(mapper, [p for p in mapper._props.values()
                                             if getattr(p, "is_relationship", False)
                                             and not p.viewonly])
    return cached


def references_of(mapper: Mapper) -> list[Reference]:
    """Everything rows of ``mapper`` refer to: relationships first, then Table FKs."""
    cached = _REFERENCES.get(mapper)
    if cached is not None:
        return cached
    refs: list[Reference] = []
    seen: set[tuple[Any, ...]] = set()
    _relationship_references(mapper, refs, seen)
    _foreign_key_references(mapper, refs, seen)
    return _REFERENCES.set(mapper, refs)


def with_pending_members(states: set[InstanceState], sid: int) -> set[InstanceState]:
    """The states a ``flush(objects)`` writes: ``states`` and, through each one's loaded
    one-to-many relationships, the pending members of this session (``sid``) they
    hold, and theirs in turn.  A pending member takes its parent's key in the flush
    that writes the parent, so it is written with it; a many-to-one target is not
    pulled in (the object referring to it waits for it instead)."""
    out = set(states)
    todo = list(states)
    while todo:
        obj = todo.pop().obj()
        if obj is None:
            continue
        d = obj.__dict__
        state = d[STATE_ATTR]
        for prop in relationships_of(state.mapper):
            if prop.direction != ONETOMANY or prop.key not in d:
                continue
            value = d[prop.key]
            for child in (coll_members(value) if prop.uselist else
                          (() if value is None else (value,))):
                cst = related_state(child)
                if cst is not None and cst not in out and cst._key is None \
                        and cst.session_id == sid:
                    out.add(cst)
                    todo.append(cst)
    return out


def _relationship_references(mapper: Mapper, refs: list[Reference],
                             seen: set[tuple[Any, ...]]) -> None:
    """What ``mapper``'s rows refer to through one-to-many and many-to-one relationships
    (of any mapper: a one-to-many of another mapper's rows points here)."""
    cols = mapper.columns
    for p, src in _relationships_into(mapper):
        pairs = p.sync_keys()
        sk = tuple(s for s, _d in pairs)
        dk = tuple(d for _s, d in pairs)
        ident = (src, dk)
        if ident in seen:
            if p.post_update:
                for r in refs:
                    if (r.src, r.dest_keys) == ident:
                        r.post_update = True
            continue
        seen.add(ident)
        nullable = all(getattr(cols.get(k), "nullable", True) for k in dk)
        refs.append(Reference(src, mapper, sk, dk, nullable, p, p.post_update))


def writes_post_update(prop: RelationshipProperty) -> bool:
    """Whether the foreign key ``prop`` writes is written by a post-update: it has
    post_update=True, or the reverse side of its backref pair (writing the same
    columns) has; the flush reads the change from either side, and the same rows
    (a post_update reference is no edge of the plan) must get it (cached)."""
    cached = _POST.get(prop)
    if cached is None:
        cached = _POST.set(prop, prop.post_update or any(
            rev.post_update and not rev.viewonly and rev.direction != MANYTOMANY
            for rev in prop._reverse_property))
    return cached


def _relationships_into(mapper: Mapper) -> list[tuple[RelationshipProperty, Mapper]]:
    """(relationship, mapper referred to) for each relationship that puts a foreign key
    into ``mapper``'s rows, mappers in class-name order (deterministic plans)."""
    from ..mapping.mapper import _all_mappers

    out: list[tuple[RelationshipProperty, Mapper]] = []
    for m in sorted(_all_mappers, key=lambda m: m.class_.__name__):
        for p in relationships_of(m):
            if not p._initialized or p.direction == MANYTOMANY:
                continue
            if p.direction == ONETOMANY and p.mapper is mapper:
                out.append((p, p.parent))
            elif p.direction == MANYTOONE and p.parent is mapper:
                out.append((p, p.mapper))
    return out


def _foreign_key_references(mapper: Mapper, refs: list[Reference],
                            seen: set[tuple[Any, ...]]) -> None:
    """What ``mapper``'s rows refer to through its table's foreign keys that no
    relationship covers (one reference per mapper of the referred-to table)."""
    from ..mapping.mapper import _all_mappers

    for fk in sorted(mapper.local_table.foreign_keys, key=lambda f: (f.parent.name,
                                                                    f.target_fullname)):
        try:
            target_col = fk.column
        except Exception:
            continue  # (a foreign key to a table not in this MetaData)
        dp = mapper._col_to_prop.get(fk.parent)
        if dp is None:
            continue
        for m in sorted(_all_mappers, key=lambda m: m.class_.__name__):
            sp = m._col_to_prop.get(target_col) if m.local_table is target_col.table else None
            if sp is None:
                continue
            ident = (m, (dp.key,))
            if ident in seen or any(r.src is m and dp.key in r.dest_keys for r in refs):
                continue
            seen.add(ident)
            refs.append(Reference(m, mapper, (sp.key,), (dp.key,), bool(fk.parent.nullable)))


_RELATIONSHIPS: CacheSlot[list[RelationshipProperty]] = CacheSlot("writable relationships")
_REFERENCES: CacheSlot[list[Reference]] = CacheSlot("what rows of the mapper refer to")
_POST: CacheSlot[bool] = CacheSlot("its foreign key is written by a post-update")


def related_state(obj: Any) -> InstanceState | None:
    """The state of a related object (None for None); made now for an object the
    keyword constructor made without one."""
    if obj is None:
        return None
    st: InstanceState | None = obj.__dict__.get(STATE_ATTR)
    if st is None:
        # an object the keyword constructor made has its state made on first need
        st = state_or_none(obj)
    return st
