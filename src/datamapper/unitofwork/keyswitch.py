"""After a flush: the referring objects of rows whose referenced key changed, where the
database cascades the change itself (``passive_updates=True``, ON UPDATE CASCADE).

The flush wrote no UPDATE of the referring rows (the database changed their foreign
keys), so the objects in the session that refer to such a row would still hold the old
key in memory until expired.  Here they are given the new one, as committed values (no
change to flush): those whose reference is loaded and names the changed object, and
those whose foreign key still holds the old value.
"""

from __future__ import annotations

from typing import Any

from .._util import NO_VALUE
from ..instance.identity import IdentityMap
from ..instance.state import InstanceState
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from ..mapping.relationships import MANYTOONE, ONETOMANY, RelationshipProperty
from .references import related_state, relationships_of

# (relationship, referenced mapper, referring mapper, ((referenced key, referring key), ...))
_Cascade = tuple[RelationshipProperty, Mapper, Mapper, tuple[tuple[str, str], ...]]


def _cascades_into(mapper: Mapper) -> list[_Cascade]:
    """The relationships whose referenced side is ``mapper`` (or a mapper it inherits
    from) and whose referring rows the database moves itself (passive_updates and an
    ON UPDATE CASCADE constraint), with their key pairs."""
    cached = _CASCADES.get(mapper)
    if cached is not None:
        return cached
    from ..mapping.mapper import _all_mappers

    targets = set(mapper.iterate_to_root())
    out: list[_Cascade] = []
    for m in list(_all_mappers):
        for prop in relationships_of(m):
            if not prop.database_cascades_updates():
                continue  # (the flush writes those rows itself, or nothing moves them)
            if prop.direction == MANYTOONE:
                referenced, referring = prop.mapper, prop.parent
            elif prop.direction == ONETOMANY:
                referenced, referring = prop.parent, prop.mapper
            else:
                continue
            if referenced in targets:
                out.append((prop, referenced, referring, tuple(prop.sync_keys())))
    return _CASCADES.set(mapper, out)


def _referenced_keys(mapper: Mapper) -> frozenset[str]:
    keys = _KEYS.get(mapper)
    if keys is None:
        keys = _KEYS.set(mapper, frozenset(
            src for cas in _cascades_into(mapper) for src, _dest in cas[3]))
    return keys


_KEYS: CacheSlot[frozenset[str]] = CacheSlot(
    "the attributes of the mapper that passive_updates relationships refer to")
_CASCADES: CacheSlot[list[_Cascade]] = CacheSlot(
    "the passive_updates relationships referring to the mapper's rows")


def changed_referenced_keys(updated: list[InstanceState], dialect_name: str | None = None
                            ) -> list[tuple[InstanceState, _Cascade, tuple[Any, ...],
                                            tuple[Any, ...]]]:
    """Before the updated states are settled: (state, cascade, old values, new values)
    for each referenced key a flushed UPDATE changed.  Cheap when none did.  None on
    SQLite (``dialect_name``): see RelationshipProperty.database_cascades_updates."""
    out: list[tuple[InstanceState, _Cascade, tuple[Any, ...], tuple[Any, ...]]] = []
    if dialect_name == "sqlite":
        return out
    for state in updated:
        cs = state._committed
        if not cs or state._key is None:
            continue
        cascades = _cascades_into(state.mapper)
        if not cascades or cs.keys().isdisjoint(_referenced_keys(state.mapper)):
            continue  # (the usual UPDATE: no referenced key among its changes)
        d = state.strong_obj().__dict__
        for cas in cascades:
            pairs = cas[3]
            if not pairs or not any(src in cs for src, _dest in pairs):
                continue
            old = tuple(cs.get(src, d.get(src, NO_VALUE)) for src, _dest in pairs)
            new = tuple(d.get(src, NO_VALUE) for src, _dest in pairs)
            if NO_VALUE in old or NO_VALUE in new or old == new:
                continue
            out.append((state, cas, old, new))
    return out


def sync_referrers(imap: IdentityMap, changes: list[Any], session: Any) -> None:
    """Give the referring objects in the identity map the new key values (and a new
    identity, where the foreign key is part of their primary key: the database
    changed their row's key)."""
    for state, (prop, _referenced, referring, pairs), old, new in changes:
        for st in imap.all_states():
            if st is state or st._deleted or not st.mapper.isa(referring):
                continue
            obj = st.obj()
            if obj is None:
                continue
            d = obj.__dict__
            cs = st._committed
            dests = [dest for _src, dest in pairs]
            if cs and any(k in cs for k in dests):
                continue  # its own pending change of the key wins
            if prop.direction == MANYTOONE and prop.key in d:
                value = d[prop.key]
                refs = (list(value) if prop.uselist else [value]) if value is not None else []
                if not any(related_state(v) is state for v in refs):
                    continue
            elif any(k not in d for k in dests) or \
                    tuple(d[k] for k in dests) != old:
                continue
            for k, v in zip(dests, new, strict=True):
                d[k] = v
            pk_keys = st.mapper._pk_keys
            if st._key is not None and not set(dests).isdisjoint(pk_keys):
                old_key: Any = st.key
                # the cascaded columns take their new values; the rest of the key is
                # the row's (a pending change of the object's own key is its own
                # UPDATE's, which re-keys it when it runs)
                moved = dict(zip(dests, new, strict=True))
                ident = tuple(moved[k] if k in moved else old_key[1][i]
                              for i, k in enumerate(pk_keys))
                if ident != old_key[1]:
                    st.key = (old_key[0], ident, old_key[2])
                    imap.replace_key(st, obj, old_key)
                    session._record_key_switch(st, old_key)
