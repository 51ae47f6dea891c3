"""The objects whose key changed in a flush, for the many-to-one relationships that
refer to them with ``passive_updates=False`` and no reverse collection to move their
referring objects (those objects are found in the session and given the new key).

The key is what such a relationship refers to: the primary key, or another unique
key of the referenced mapper.  Callers: ``dependency.py`` (``collect`` finds the
changed objects, ``_Collector.key_switches`` their referring objects).
"""

from __future__ import annotations

from typing import Any

from ..instance.state import InstanceState
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from ..mapping.relationships import MANYTOONE, RelationshipProperty
from .references import relationships_of


def switch_props_into(mapper: Mapper) -> list[RelationshipProperty]:
    """The many-to-one relationships with passive_updates=False into ``mapper`` (or a
    mapper it inherits from) whose referring objects no reverse one-to-many
    (passive_updates=False too) updates (cached)."""
    cached = _PROPS.get(mapper)
    if cached is not None:
        return cached
    from ..mapping.mapper import _all_mappers

    targets = set(mapper.iterate_to_root())
    out: list[RelationshipProperty] = []
    for m in list(_all_mappers):
        for prop in relationships_of(m):
            if prop.direction != MANYTOONE or prop.passive_updates or \
                    prop.mapper not in targets or prop in out:
                continue
            if any(not rev.passive_updates for rev in prop._reverse_property):
                continue  # the reverse collection gives its members the key
            prop.sync_keys()
            out.append(prop)
    return _PROPS.set(mapper, out)


def switch_keys(mapper: Mapper) -> frozenset[str]:
    """The attributes of ``mapper`` that those relationships refer to (cached)."""
    cached = _KEYS.get(mapper)
    if cached is None:
        cached = _KEYS.set(mapper, frozenset(
            k for prop in switch_props_into(mapper) for k in prop._src_keys))
    return cached


def switch_props(switched: list[InstanceState]) -> list[RelationshipProperty]:
    """:func:`switch_props_into` of the mappers of ``switched``, each once."""
    out: list[RelationshipProperty] = []
    seen: set[Mapper] = set()
    for st in switched:
        if st.mapper not in seen:
            seen.add(st.mapper)
            out.extend(p for p in switch_props_into(st.mapper) if p not in out)
    return out


def key_changed(dirty: list[InstanceState]) -> list[InstanceState]:
    """The persistent states of ``dirty`` whose key (as such a relationship refers to
    it) changed; one loop, cheap when no relationship of the kind exists."""
    out: list[InstanceState] = []
    last: Any = None
    keys: frozenset[str] = frozenset()
    for st in dirty:
        cs = st._committed
        if cs and st._key is not None:
            mapper = st.mapper
            if mapper is not last:  # (runs of one mapper)
                keys, last = switch_keys(mapper), mapper
            if keys and not keys.isdisjoint(cs):
                out.append(st)
    return out


def target_with_key(prop: RelationshipProperty,
                    targets: dict[InstanceState, dict[str, Any]],
                    fk: list[Any]) -> InstanceState | None:
    """The object among ``targets`` (with their committed keys) whose key is ``fk``."""
    for st, old in targets.items():
        if st.mapper.isa(prop.mapper) and [old.get(k) for k in prop._src_keys] == fk:
            return st
    return None


_PROPS: CacheSlot[list[RelationshipProperty]] = CacheSlot(
    "the passive_updates=False many-to-ones whose referring objects a key change moves")
_KEYS: CacheSlot[frozenset[str]] = CacheSlot("the attributes those many-to-ones refer to")
