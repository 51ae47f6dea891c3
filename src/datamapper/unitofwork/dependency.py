"""What relationships add to a flush: key links, association rows, orphans.

Callers: :class:`~.flush.UOWTransaction` before planning.  For every state
being saved or deleted this module reads relationship history (never
loading what is not loaded, except the collections of deleted parents) and
records

- *links*: "copy the key of ``src`` into the foreign-key attributes of
  ``dest`` before ``dest`` is written" (or clear them, ``src=None``);
- association rows of many-to-many relationships to insert and to delete;
- children that lost their parent and must be updated or, with
  ``delete-orphan``, deleted.

It also describes, per mapper, which other mappers its rows refer to (from
relationships *and* Table foreign keys), which the planner turns into edges.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from .._util import NO_VALUE, describe
from ..exc import InvalidRequestError, SAWarning
from ..instance.collections import members as coll_members
from ..instance.seam import SessionLike
from ..instance.state import STATE_ATTR, InstanceState, _sessions
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from ..mapping.relationships import MANYTOMANY, MANYTOONE, ONETOMANY, RelationshipProperty


@dataclass(eq=False, slots=True)
class Link:
    """The foreign-key attributes ``dest_keys`` of ``dest`` take ``src``'s ``src_keys``."""

    dest: InstanceState
    src: InstanceState | None  # None: set the foreign key to NULL
    src_keys: tuple[str, ...]
    dest_keys: tuple[str, ...]
    prop: RelationshipProperty | None
    post: bool = False  # written by a post-update (cycle broken here, or post_update=True)

    def nullable(self) -> bool:
        cols = self.dest.mapper.columns
        return all(getattr(cols.get(k), "nullable", True) for k in self.dest_keys)

    def values(self) -> tuple[Any, ...]:
        if self.src is None:
            return tuple(None for _k in self.dest_keys)
        d = source_dict(self.src, self.src_keys)
        return tuple(d.get(k) for k in self.src_keys)


def source_dict(state: InstanceState, keys: Iterable[str]) -> dict[str, Any]:
    """``state``'s object ``__dict__`` with ``keys`` loaded.

    A persistent object expired by a commit has an empty ``__dict__``; a key
    copied from it (a parent's primary key into a child's foreign key, an
    association row's ends) must not be read as None.  Primary-key values come
    from the identity key without SQL; other columns are loaded through the
    object's session (one SELECT of its expired columns).
    """
    d: dict[str, Any] = state.strong_obj().__dict__
    missing = [k for k in keys if k not in d]
    if not missing or state._key is None:
        return d
    mapper = state.mapper
    pk_keys = mapper._pk_keys
    ident = state.identity or ()
    rest = []
    for k in missing:
        if k in pk_keys:
            d[k] = ident[pk_keys.index(k)]
        else:
            rest.append(k)
    state.loaded([k for k in missing if k in d])
    if rest and state.session_id is not None:
        sess = _sessions.get(state.session_id)
        if sess is not None:
            sess._load_attributes(state, None)
    return d


@dataclass(eq=False)
class AssocRow:
    """One row of a many-to-many ``secondary`` table."""

    prop: RelationshipProperty
    parent: InstanceState
    child: InstanceState

    def params(self) -> dict[str, Any]:
        prop = self.prop
        pkeys = [prop.parent._col_to_prop[pcol].key for pcol, _s in prop.synchronize_pairs]
        ckeys = [prop.mapper._col_to_prop[tcol].key
                 for tcol, _s in prop.secondary_synchronize_pairs]
        pd = source_dict(self.parent, pkeys)
        cd = source_dict(self.child, ckeys)
        out = {}
        for (_p, scol), k in zip(prop.synchronize_pairs, pkeys, strict=True):
            out[scol.key] = pd.get(k)
        for (_t, scol), k in zip(prop.secondary_synchronize_pairs, ckeys, strict=True):
            out[scol.key] = cd.get(k)
        return out

    def ident(self) -> tuple[Any, ...]:
        """Same value for the row whichever side of a backref pair reported it."""
        cols = [(s, self.parent) for _p, s in self.prop.synchronize_pairs] + [
            (s, self.child) for _t, s in self.prop.secondary_synchronize_pairs]
        cols.sort(key=lambda cs: cs[0].key)
        return (self.prop.secondary,) + tuple((c.key, id(st)) for c, st in cols)


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


@dataclass
class Dependencies:
    links: dict[InstanceState, dict[tuple[str, ...], Link]] = field(default_factory=dict)
    assoc_insert: dict[Any, AssocRow] = field(default_factory=dict)
    assoc_delete: dict[Any, AssocRow] = field(default_factory=dict)
    extra_saves: list[InstanceState] = field(default_factory=list)
    orphans: list[InstanceState] = field(default_factory=list)
    # marked deleted, but put into a surviving parent's one-to-many: not deleted after all
    undeleted: list[InstanceState] = field(default_factory=list)
    # objects loaded only for this flush (members of a deleted parent's dynamic
    # relationship): held here so that they live until it is written
    held: list[Any] = field(default_factory=list)


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
    from ..mapping.mapper import _all_mappers

    refs: list[Reference] = []
    seen: set[tuple[Any, ...]] = set()
    cols = mapper.columns
    candidates: list[tuple[RelationshipProperty, Mapper, Mapper]] = []
    for m in sorted(_all_mappers, key=lambda m: m.class_.__name__):
        for p in relationships_of(m):
            if not p._initialized or p.direction == MANYTOMANY:
                continue
            if p.direction == ONETOMANY and p.mapper is mapper:
                candidates.append((p, p.parent, mapper))
            elif p.direction == MANYTOONE and p.parent is mapper:
                candidates.append((p, p.mapper, mapper))
    for p, src, dest in candidates:
        pairs = p.sync_keys()
        sk = tuple(s for s, _d in pairs)
        dk = tuple(d for _s, d in pairs)
        ident = (src, dk)
        nullable = all(getattr(cols.get(k), "nullable", True) for k in dk)
        if ident in seen:
            for r in refs:
                if (r.src, r.dest_keys) == ident and p.post_update:
                    r.post_update = True
            continue
        seen.add(ident)
        refs.append(Reference(src, dest, sk, dk, nullable, p, p.post_update))
    for fk in sorted(mapper.local_table.foreign_keys, key=lambda f: (f.parent.name,
                                                                    f.target_fullname)):
        try:
            target_col = fk.column
        except Exception:
            continue
        for m in sorted(_all_mappers, key=lambda m: m.class_.__name__):
            if m.local_table is not target_col.table:
                continue
            sp = m._col_to_prop.get(target_col)
            dp = mapper._col_to_prop.get(fk.parent)
            if sp is None or dp is None:
                continue
            ident = (m, (dp.key,))
            if ident in seen or any(r.src is m and dp.key in r.dest_keys for r in refs):
                continue
            seen.add(ident)
            refs.append(Reference(m, mapper, (sp.key,), (dp.key,), bool(fk.parent.nullable)))
    return _REFERENCES.set(mapper, refs)


_RELATIONSHIPS: CacheSlot[list[RelationshipProperty]] = CacheSlot("writable relationships")
_REFERENCES: CacheSlot[list[Reference]] = CacheSlot("what rows of the mapper refer to")


_NO_CHANGES: dict[str, Any] = {}


def _state(obj: Any) -> InstanceState | None:
    if obj is None:
        return None
    st: InstanceState | None = obj.__dict__.get(STATE_ATTR)
    return st


def _skipped(child: Any, cst: InstanceState | None, prop: RelationshipProperty,
             what: str) -> None:
    """A related object outside the session is left out of the flush: say so."""
    if cst is not None and cst._deleted:
        return  # deleted already: nothing to write for it anyway
    warnings.warn(
        f"Can't {what} {describe(child)} along {prop._name()} in this flush: it is not in "
        "session (no save-update cascade brought it there); the flush goes on without "
        "it; add it to the session to include it",
        SAWarning, stacklevel=6)


def collect(session: SessionLike, new: list[InstanceState], dirty: list[InstanceState],
            deleted: list[InstanceState]) -> Dependencies:
    """Read relationship changes of the flush's states into links and association rows."""
    deps = Dependencies()
    links = deps.links
    sid = session.hash_key
    deleting = set(deleted)

    def add_link(dest: InstanceState, src: InstanceState | None, prop: RelationshipProperty,
                 clear_only: bool = False) -> None:
        prop.sync_keys()
        dk = prop._dest_keys
        per = links.get(dest)
        if per is None:
            links[dest] = {dk: Link(dest, src, prop._src_keys, dk, prop, prop.post_update)}
            return
        existing = per.get(dk)
        if existing is not None and existing.src is not None and src is None:
            return  # a new parent wins over "lost the old one"
        per[dk] = Link(dest, src, prop._src_keys, dk, prop, prop.post_update)

    # delete-orphan: (relationship, child, parent it left) and the children that are
    # (still or again) held through each relationship; decided once all are read
    lost: list[tuple[RelationshipProperty, InstanceState, InstanceState]] = []
    kept: set[tuple[RelationshipProperty, InstanceState]] = set()

    rels_cache: dict[Mapper, list[RelationshipProperty]] = {}
    for state in (*new, *dirty):
        mapper = state.mapper
        rels = rels_cache.get(mapper)
        if rels is None:
            rels = rels_cache[mapper] = relationships_of(mapper)
        if not rels:
            continue
        d = state.obj().__dict__
        is_new = state._key is None and state._extra is None
        cs = state._committed or _NO_CHANGES
        for prop in rels:
            key = prop.key
            direction = prop.direction
            if direction == MANYTOONE:
                if is_new or state._key is None:
                    if key not in d:
                        continue
                elif key not in cs:
                    continue
                value = d.get(key)
                target = _state(value)
                if prop.cascade.delete_orphan:
                    _m2o_orphan(prop, state, target, cs.get(key, NO_VALUE), lost, kept)
                if target is not None and target.session_id != sid:
                    _skipped(value, target, prop, "link")
                    continue
                add_link(state, target, prop)
                continue
            added: Any
            removed: Any
            unchanged: Any
            if key not in d:
                if key not in cs:
                    continue
                if prop.lazy != "dynamic" and prop.lazy != "write_only":
                    # not loaded, changed through backrefs: members taken out that have
                    # no parent now are orphans (their foreign keys are their own change)
                    if direction == ONETOMANY and prop.cascade.delete_orphan:
                        for child in state.mapper._impls[key].queued_orphans(state):
                            cst = _state(child)
                            if cst is not None and cst not in deleting and \
                                    cst._key is not None and cst.session_id == sid:
                                lost.append((prop, cst, state))
                    continue
                # a dynamic relationship keeps no collection in __dict__, only the
                # changes appended/removed since the last flush
                hist = state.mapper._impls[key].history(state, True)
                added, unchanged, removed = hist.added, hist.unchanged, hist.deleted
            elif is_new:
                added, removed, unchanged = d[key], (), ()
                if not prop.uselist:  # one-to-one: the value itself, or None
                    added = () if added is None else (added,)
                elif added.__class__ is not list:
                    added = coll_members(added)  # a keyed dictionary: its values
            elif key in cs or (direction == ONETOMANY and _pk_changed(state)):
                hist = state.mapper._impls[key].history(state, True)
                added, unchanged, removed = hist.added, hist.unchanged, hist.deleted
                if not prop.uselist:  # a scalar history reports None as a value
                    added = [x for x in added if x is not None]
                    unchanged = [x for x in unchanged if x is not None]
                    removed = [x for x in removed if x is not None]
            else:
                continue
            if direction == ONETOMANY:
                prop.sync_keys()
                sk, dk, post = prop._src_keys, prop._dest_keys, prop.post_update
                orphaning = prop.cascade.delete_orphan
                for child in added:
                    cst = child.__dict__.get(STATE_ATTR)
                    if cst is None or cst.session_id != sid or cst in deleting:
                        if cst is None or cst.session_id != sid:
                            _skipped(child, cst, prop, "link")
                        elif state not in deleting and not cst._deleted:
                            deps.undeleted.append(cst)
                        continue
                    if orphaning:
                        kept.add((prop, cst))
                    per = links.get(cst)
                    if per is None:
                        links[cst] = {dk: Link(cst, state, sk, dk, prop, post)}
                    else:
                        per[dk] = Link(cst, state, sk, dk, prop, post)
                if state._key is not None and _pk_changed(state):
                    for child in unchanged:
                        cst = _state(child)
                        if cst is not None and cst not in deleting:
                            add_link(cst, state, prop)
                for child in removed:
                    cst = _state(child)
                    if cst is None or cst in deleting or cst.session_id != sid \
                            or cst._deleted:  # (deleted: its row is gone already)
                        if cst is not None and cst.session_id != sid:
                            _skipped(child, cst, prop, "unlink")
                        continue
                    if orphaning:
                        lost.append((prop, cst, state))
                    elif cst._key is not None:
                        add_link(cst, None, prop, clear_only=True)
            else:  # many-to-many
                if (added or removed) and not isinstance(prop.secondary, Table):
                    raise InvalidRequestError(
                        f"Can't write the changes to {prop._name()} of {describe(state.obj())}: "
                        f"its secondary is a {type(prop.secondary).__name__}, not a table, so "
                        "there are no rows to insert or delete; make the relationship "
                        "viewonly=True and change the underlying tables instead"
                    )
                orphaning = prop.cascade.delete_orphan
                for child in added:
                    cst = _state(child)
                    if cst is not None and cst.session_id == sid:
                        if cst in deleting or cst._deleted:
                            continue  # no row to a member this flush (or an earlier) deletes
                        row = AssocRow(prop, state, cst)
                        deps.assoc_insert[row.ident()] = row
                        if orphaning:
                            kept.add((prop, cst))
                    else:
                        _skipped(child, cst, prop, "link")
                for child in removed:
                    cst = _state(child)
                    if cst is not None and cst.session_id != sid:
                        _skipped(child, cst, prop, "unlink")
                        continue
                    # a flushed-deleted member: its association rows went with it
                    if cst is not None and cst._key is not None and state._key is not None \
                            and not cst._deleted:
                        row = AssocRow(prop, state, cst)
                        deps.assoc_delete[row.ident()] = row
                        if orphaning and cst.session_id == sid and cst not in deleting:
                            lost.append((prop, cst, state))
    for state in deleted:
        mapper = state.mapper
        rels = rels_cache.get(mapper)
        if rels is None:
            rels = rels_cache[mapper] = relationships_of(mapper)
        if not rels:
            continue
        obj = state.strong_obj()
        d = obj.__dict__
        for prop in rels:
            if prop.direction == MANYTOONE:
                if prop.cascade.delete_orphan:
                    # replaced before the delete: the object it let go of is an orphan
                    old = state._committed.get(prop.key, NO_VALUE) if state._committed \
                        else NO_VALUE
                    ost = _state(old) if old is not NO_VALUE else None
                    if ost is not None and ost.session_id == sid and ost not in deleting \
                            and ost is not _state(d.get(prop.key)):
                        lost.append((prop, ost, state))
                continue
            if prop.passive_deletes == "all":
                continue
            key = prop.key
            if key not in d and (prop.passive_deletes or state._key is None):
                continue
            if prop.lazy == "dynamic" or prop.lazy == "write_only":
                # its rows (queried) and appended/removed objects not flushed yet
                members = state.mapper._impls[key].flush_members(state, obj)
                deps.held.extend(members)
            else:
                value = getattr(obj, key) if key in d or not prop.passive_deletes else None
                original = state.committed_state.get(key, NO_VALUE)
                if prop.uselist:
                    members = list(coll_members(value)) if value is not None else []
                else:  # one-to-one: the current and the original related object
                    members = [value] if value is not None else []
                    if original is not NO_VALUE and original is not None:
                        original = (original,)
                if original is not NO_VALUE and original is not None:
                    if prop.direction == MANYTOMANY:
                        # association rows exist for the members as last flushed only
                        members = list(original)
                    else:
                        members.extend(x for x in original
                                       if not any(x is m for m in members))
            for child in members:
                cst = _state(child)
                if cst is None or cst._deleted:
                    # a member an earlier flush deleted, still in a loaded collection:
                    # its row and its association rows are gone already
                    continue
                if prop.direction == ONETOMANY:
                    if cst in deleting or cst._key is None or cst.session_id != sid:
                        continue
                    if prop.cascade.delete_orphan:
                        lost.append((prop, cst, state))
                    else:
                        add_link(cst, None, prop, clear_only=True)
                elif cst._key is not None:
                    row = AssocRow(prop, state, cst)
                    deps.assoc_delete[row.ident()] = row
    if lost:
        deps.orphans.extend(_orphans(lost, kept, links, deleting))
    # persistent children whose foreign key changes are saved too
    saving = set(new) | set(dirty)
    for dest in links:
        if dest not in saving and dest not in deleting:
            deps.extra_saves.append(dest)
            saving.add(dest)
            # often referenced only by a parent's history, which the flush resets
            deps.held.append(dest.strong_obj())
    # a row both inserted and deleted in one flush cancels out
    for k in [k for k in deps.assoc_insert if k in deps.assoc_delete]:
        del deps.assoc_insert[k]
        del deps.assoc_delete[k]
    return deps


def _m2o_orphan(prop: RelationshipProperty, state: InstanceState,
                target: InstanceState | None, original: Any,
                lost: list[tuple[RelationshipProperty, InstanceState, InstanceState]],
                kept: set[tuple[RelationshipProperty, InstanceState]]) -> None:
    """A delete-orphan many-to-one (single_parent): the object it referred to is lost."""
    if target is not None:
        kept.add((prop, target))
    old = _state(original) if original is not NO_VALUE else None
    if old is not None and old is not target and old.session_id == state.session_id:
        lost.append((prop, old, state))


def _orphans(lost: list[tuple[RelationshipProperty, InstanceState, InstanceState]],
             kept: set[tuple[RelationshipProperty, InstanceState]],
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


def _pk_changed(state: InstanceState) -> bool:
    cs = state._committed
    if not cs:
        return False
    return any(k in cs for k in state.mapper._pk_keys)


def apply_link(link: Link) -> None:
    """Copy the source's key values into the destination's foreign-key attributes."""
    dest = link.dest
    obj = dest.strong_obj()
    d = obj.__dict__
    values = link.values()
    if dest._key is None and dest._extra is None:
        for k, v in zip(link.dest_keys, values, strict=True):
            d[k] = v
        return
    cs = dest.committed_state
    for k, v in zip(link.dest_keys, values, strict=True):
        old = d.get(k, NO_VALUE)
        if old is v or (old is not NO_VALUE and old == v and type(old) is type(v)):
            continue
        if k not in cs:
            cs[k] = old
        d[k] = v
    if cs:
        dest.modified_event(obj)
