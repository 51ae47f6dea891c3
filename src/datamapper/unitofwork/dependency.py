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

The data it records (:class:`Link`, :class:`AssocRow`, :class:`Dependencies`)
is in ``links.py``; the many-to-many, changed-key and deleted-state readers, mixins
of the collector, in ``readers.py``; what rows of a mapper refer to (from relationships *and*
Table foreign keys), which the planner turns into edges, in ``references.py``;
both are importable from here too.
"""

from __future__ import annotations

from typing import Any

from .._util import NO_VALUE, describe
from ..exc import BlankedPrimaryKeyError, FlushError
from ..instance.seam import SessionLike
from ..instance.state import _LAYOUT, CASCADE_DELETED, STATE_ATTR, InstanceState, _sessions
from ..mapping.mapper import Mapper
from ..mapping.relationships import MANYTOMANY, MANYTOONE, ONETOMANY, RelationshipProperty
from . import rekeyed
from .links import AssocRow, Dependencies, Link, apply_link, source_dict
from .orphans import Kept, Lost, note_m2o_orphan, orphans_of, row_names_another_parent
from .readers import (
    DeletedReader,
    KeySwitchReader,
    ManyToManyReader,
    _members,
    _skipped,
    check_member,
)
from .references import (
    Reference,
    references_of,
    relationships_of,
    with_pending_members,
    writes_post_update,
)
from .references import related_state as _state

__all__ = ["AssocRow", "Dependencies", "Link", "Reference", "apply_link", "check_member",
           "collect", "references_of", "relationships_of", "source_dict",
           "with_pending_members"]

_NO_CHANGES: dict[str, Any] = {}


# the C loops of new children's links (_util/_speedups_flush.h) on; tests flip it to
# run the Python reference
C_LINKS = True

_Changes = tuple[Any, Any, Any]  # (added, unchanged, removed) members of one relationship


def collect(session: SessionLike, new: list[InstanceState], dirty: list[InstanceState],
            deleted: list[InstanceState]) -> Dependencies:
    """Read relationship changes of the flush's states into links and association rows.

    Saved states (new and dirty) are read per relationship direction
    (:meth:`_Collector.save_many_to_one`, :meth:`~_Collector.save_one_to_many`,
    :meth:`~_Collector.save_many_to_many`), deleted states by
    :meth:`_Collector.delete`; :meth:`_Collector.finish` then decides the orphans
    and the extra saves.
    """
    c = _Collector(session.hash_key, set(deleted), session)
    rels_cache: dict[Mapper, list[RelationshipProperty]] = {}
    last: Any = None
    rels: list[RelationshipProperty] = []
    for states in (new, dirty):
        for state in states:
            mapper = state.mapper
            if mapper is not last:  # (runs of one mapper: its relationships looked up once)
                found: list[RelationshipProperty] | None = rels_cache.get(mapper)
                if found is None:
                    found = rels_cache[mapper] = relationships_of(mapper)
                rels, last = found, mapper
            if rels:
                c.save(state, rels)
    for state in deleted:
        mapper = state.mapper
        if mapper is not last:
            found = rels_cache.get(mapper)
            if found is None:
                found = rels_cache[mapper] = relationships_of(mapper)
            rels, last = found, mapper
        if rels:
            c.delete(state, rels)
    switched = rekeyed.key_changed(dirty)
    if switched:
        c.key_switches(session, switched)
    return c.finish(new, dirty)


class _Collector(ManyToManyReader, KeySwitchReader, DeletedReader):
    """The working state of one :func:`collect`: what is read so far.

    ``lost`` and ``kept`` serve delete-orphan: (relationship, child, parent it
    left) and the children that are (still or again) held through each
    relationship; the orphans are decided once every state is read.
    """

    __slots__ = ("deps", "links", "sid", "deleting", "lost", "kept", "nulled", "session")

    def __init__(self, sid: int, deleting: set[InstanceState], session: Any = None) -> None:
        self.session = session
        self.deps = Dependencies()
        self.links = self.deps.links
        self.sid = sid
        self.deleting = deleting
        self.lost: Lost = []
        self.kept: Kept = set()
        # (child, relationship) unlinked: foreign key set to NULL unless relinked
        self.nulled: list[tuple[InstanceState, RelationshipProperty]] = []

    def add_link(self, dest: InstanceState, src: InstanceState | None,
                 prop: RelationshipProperty) -> None:
        prop.sync_keys()
        dk = prop._dest_keys
        if src is None:
            self.nulled.append((dest, prop))
        post = writes_post_update(prop)
        if post:
            self.deps.any_post = True
        links = self.links
        per = links.get(dest)
        if per is None:
            links[dest] = {dk: Link(dest, src, prop._src_keys, dk, prop, post)}
            return
        existing = per.get(dk)
        if existing is not None and existing.src is not None and src is None:
            return  # a new parent wins over "lost the old one"
        per[dk] = Link(dest, src, prop._src_keys, dk, prop, post)

    # -- saved states -----------------------------------------------------------

    def save(self, state: InstanceState, rels: list[RelationshipProperty]) -> None:
        """Read every writable relationship of a new or dirty ``state``."""
        d = state.obj().__dict__
        is_new = state._key is None and state._extra is None
        cs = state._committed or _NO_CHANGES
        for prop in rels:
            direction = prop.direction
            if direction == MANYTOONE:
                self.save_many_to_one(state, prop, d, cs)
                continue
            changes = self.changes(state, prop, d, cs, is_new)
            if changes is None:
                continue
            added, unchanged, removed = changes
            if direction == ONETOMANY:
                self.save_one_to_many(state, prop, added, unchanged, removed)
            else:
                self.save_many_to_many(state, prop, added, removed)
                if unchanged and state._key is not None and _ref_changed(state, prop) \
                        and self._moves_rows(prop):
                    self.many_to_many_rekeyed(state, prop, unchanged)

    def save_many_to_one(self, state: InstanceState, prop: RelationshipProperty,
                         d: dict[str, Any], cs: dict[str, Any]) -> None:
        """A reference set (or replaced) on ``state``: link ``state`` to its target."""
        key = prop.key
        if key not in (d if state._key is None else cs):
            return
        value = d.get(key)
        if prop.uselist and value is not None:
            # a many-to-one kept as a list (uselist=True): its one member is the target
            if not value and state._key is None:
                # a new object's empty list (read, or assigned empty) names no target:
                # the foreign key the program set stays, as in SQLAlchemy
                return
            value = _only_member(prop, state, value)
        target = _state(value)
        if prop.cascade.delete_orphan:
            note_m2o_orphan(prop, state, target, cs.get(key, NO_VALUE), self.lost, self.kept)
        if prop._reverse_property and state._key is not None:
            self._left_reverse_parent(state, prop, cs.get(key), target)
        if target is not None:
            if target.session_id != self.sid:
                _skipped(value, target, prop, "link")
                return
            if target.mapper is not prop.mapper:
                check_member(prop, state, target)
        self.add_link(state, target, prop)

    def _left_reverse_parent(self, state: InstanceState, prop: RelationshipProperty,
                             was: Any, target: InstanceState | None) -> None:
        """The reverse of a delete-orphan collection: the object left its parent, which
        the parent's history may no longer say (the parent was expired since)."""
        old = _state(was) if was is not None and was is not NO_VALUE else None
        if old is not None and old is not target:
            for rev in prop._reverse_property:
                if rev.direction == ONETOMANY and rev.cascade.delete_orphan:
                    self.lost.append((rev, state, old))

    def changes(self, state: InstanceState, prop: RelationshipProperty, d: dict[str, Any],
                cs: dict[str, Any], is_new: bool) -> _Changes | None:
        """(added, unchanged, removed) of a collection or one-to-one; None: nothing to do."""
        key = prop.key
        if key not in d and self._stays_unloaded(state, prop, d, cs, is_new):
            return self.unloaded_changes(state, prop, cs)
        if is_new:
            added = d[key]
            if not prop.uselist or added.__class__ is not list:
                added = _members(added, prop.uselist)
            return added, (), ()
        # a changed key of the parent: its members' foreign keys (or association rows)
        # are UPDATEd here unless the database's ON UPDATE CASCADE changes them
        # (passive_updates and the constraint declared: their objects are given the
        # new key in memory, keyswitch.py, and an UPDATE of ours would look for rows
        # already changed)
        if key in cs or (_ref_changed(state, prop) and self._moves_rows(prop)):
            return _history_changes(state, prop)
        return None

    def _moves_rows(self, prop: RelationshipProperty) -> bool:
        """Whether the flush writes a changed key of the parent into the rows of
        ``prop`` (one-to-many or many-to-many) itself: passive_updates=False, or no ON
        UPDATE CASCADE declared that the database would apply.  An association row is
        found by its old key values, which a cascade the database did apply (SQLite
        with its foreign keys enabled) has changed already: for a many-to-many the
        declared cascade is trusted on every database."""
        if not prop.passive_updates:
            return True
        if prop.direction == MANYTOMANY:
            return not prop.database_cascades_updates()
        return not prop.database_cascades_updates(self._dialect_of(prop))

    def _stays_unloaded(self, state: InstanceState, prop: RelationshipProperty,
                        d: dict[str, Any], cs: dict[str, Any], is_new: bool) -> bool:
        """Whether an unloaded relationship is read as unloaded (its queued changes
        only); when the parent's key changed and the flush moves the rows itself, the
        members (found by the old key) must be given the new one (their foreign keys,
        or their association rows): the collection is loaded first."""
        if prop.direction == MANYTOONE or is_new or state._key is None or \
                not _ref_changed(state, prop) or \
                prop.lazy in ("dynamic", "write_only") or not self._moves_rows(prop):
            return True
        _load_by_committed_key(state, prop, d, cs)
        return prop.key not in d

    def _dialect_of(self, prop: RelationshipProperty) -> str | None:
        """The name of the database dialect ``prop``'s rows are written to."""
        if self.session is None:
            return None
        bind = self.session.get_bind(mapper=prop.parent)
        return getattr(getattr(bind, "dialect", None), "name", None)

    def unloaded_changes(self, state: InstanceState, prop: RelationshipProperty,
                         cs: dict[str, Any]) -> _Changes | None:
        """The changes of a relationship not in ``__dict__`` (not loaded, or dynamic)."""
        if prop.key not in cs:
            return None
        if prop.lazy != "dynamic" and prop.lazy != "write_only":
            # not loaded, changed through backrefs: members taken out that have
            # no parent now are orphans (their foreign keys are their own change)
            if prop.direction == ONETOMANY:
                if prop.cascade.delete_orphan:
                    self.queued_orphans(state, prop)
                if self.deleting and state not in self.deleting:
                    # members put in through backrefs that a cascade had marked for
                    # deletion are saved with this parent instead (as for a loaded one)
                    for child in state.mapper._impls[prop.key].queued_additions(state):
                        cst = _state(child)
                        if cst is not None and cst in self.deleting \
                                and cst.session_id == self.sid:
                            self.not_linked(state, prop, child, cst)
                return None
            # many-to-many: a link changed through the other side's collection is
            # written from this queue too (the other side may have dropped its own
            # record of it: refreshed or expired since); a row both report is one row
            if not prop.uselist:
                return None  # (a reference keeps no queue)
            added, removed = state.mapper._impls[prop.key].queued_changes(state)
            return (added, (), removed) if added or removed else None
        # a dynamic relationship keeps no collection in __dict__, only the
        # changes appended/removed since the last flush
        hist = state.mapper._impls[prop.key].history(state, True)
        return hist.added, hist.unchanged, hist.deleted

    def queued_orphans(self, state: InstanceState, prop: RelationshipProperty) -> None:
        """Members taken out of an unloaded delete-orphan collection through backrefs."""
        sid, deleting = self.sid, self.deleting
        for child in state.mapper._impls[prop.key].queued_orphans(state):
            cst = _state(child)
            if cst is not None and cst not in deleting and \
                    cst._key is not None and cst.session_id == sid:
                self.lost.append((prop, cst, state))

    def save_one_to_many(self, state: InstanceState, prop: RelationshipProperty,
                         added: Any, unchanged: Any, removed: Any) -> None:
        """Members added to ``state``'s collection take its key; removed ones lose it."""
        self.one_to_many_added(state, prop, added)
        if state._key is not None and _ref_changed(state, prop):
            deleting = self.deleting
            for child in unchanged:
                cst = _state(child)
                if cst is not None and cst not in deleting:
                    self.add_link(cst, state, prop)
        if removed:
            self.one_to_many_removed(state, prop, removed)

    def one_to_many_added(self, state: InstanceState, prop: RelationshipProperty,
                          added: Any) -> None:
        prop.sync_keys()
        sk, dk, post = prop._src_keys, prop._dest_keys, writes_post_update(prop)
        if post:
            self.deps.any_post = True
        orphaning = prop.cascade.delete_orphan
        if _LAYOUT is not None and C_LINKS and isinstance(added, (list, tuple)):
            # the common child in C (_speedups_flush.h), each other one below
            kept = self.kept if orphaning else None
            links, sid, deleting, target = self.links, self.sid, self.deleting, prop.mapper
            i, n = 0, len(added)
            while i < n:
                i = _LAYOUT.link_children(links, state, added, i, Link, sk, dk, prop, post,
                                          sid, deleting, target, STATE_ATTR, kept)
                if i < n:
                    self._link_one(state, prop, added[i], sk, dk, post, orphaning)
                    i += 1
            return
        for child in added:
            self._link_one(state, prop, child, sk, dk, post, orphaning)

    def _link_one(self, state: InstanceState, prop: RelationshipProperty, child: Any,
                  sk: tuple[str, ...], dk: tuple[str, ...], post: bool, orphaning: bool) -> None:
        """The body of :meth:`one_to_many_added`'s loop for one ``child``."""
        cst = child.__dict__.get(STATE_ATTR)
        if cst is None or cst.session_id != self.sid or cst in self.deleting:
            self.not_linked(state, prop, child, cst)
            return
        if cst.mapper is not prop.mapper:
            check_member(prop, state, cst)
        if orphaning:
            self.kept.add((prop, cst))
        per = self.links.get(cst)
        if per is None:
            self.links[cst] = {dk: Link(cst, state, sk, dk, prop, post)}
        else:
            per[dk] = Link(cst, state, sk, dk, prop, post)

    def not_linked(self, state: InstanceState, prop: RelationshipProperty, child: Any,
                   cst: InstanceState | None) -> None:
        """An added member outside the session (warned), or being deleted: kept
        (undeleted) when a delete cascade marked it, deleted when delete() did."""
        if cst is None or cst.session_id != self.sid:
            _skipped(child, cst, prop, "link")
        elif state not in self.deleting and not cst._deleted \
                and cst._extra is not None and cst._extra.get(CASCADE_DELETED):
            self.deps.undeleted.append(cst)

    def one_to_many_removed(self, state: InstanceState, prop: RelationshipProperty,
                            removed: Any) -> None:
        sid, deleting = self.sid, self.deleting
        orphaning = prop.cascade.delete_orphan
        for child in removed:
            cst = _state(child)
            if cst is None or cst in deleting or cst.session_id != sid \
                    or cst._deleted:  # (deleted: its row is gone already)
                if cst is not None and cst.session_id != sid:
                    _skipped(child, cst, prop, "unlink")
                continue
            if cst._key is not None and row_names_another_parent(prop, state, cst):
                continue  # moved to another parent by an earlier flush: nothing to undo
            if orphaning:
                self.lost.append((prop, cst, state))
            elif cst._key is not None:
                self.add_link(cst, None, prop)

    # -- after every state is read ----------------------------------------------

    def finish(self, new: list[InstanceState], dirty: list[InstanceState]) -> Dependencies:
        """Orphans, persistent children saved for their foreign keys, cancelled rows."""
        deps, links, deleting = self.deps, self.links, self.deleting
        if self.lost:
            deps.orphans.extend(orphans_of(self.lost, self.kept, links, deleting))
        for dest, _prop in self.nulled:
            if len(links[dest]) > 1:
                _parents_win_shared_columns(links[dest])
        orphaned = set(deps.orphans)  # deleted by this flush too: their keys stay
        for dest, prop in self.nulled:
            link = links[dest].get(prop._dest_keys)
            if link is not None and link.src is None and dest not in deleting and \
                    dest not in orphaned:
                _check_blank_out(dest, prop, prop._dest_keys)
        # persistent children whose foreign key changes are saved too
        if links:
            saving = set(new)
            saving.update(dirty)
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


def _parents_win_shared_columns(per: dict[tuple[str, ...], Link]) -> None:
    """Two relationships of one object writing a shared column (a composite key's
    column, e.g. company_id of (company_id, reports_to_id)): a relationship set to None
    does not clear the column another one copies from its related object."""
    linked = {k for dk, link in per.items() if link.src is not None for k in dk}
    if not linked:
        return
    for dk, link in list(per.items()):
        if link.src is None and linked.intersection(dk):
            keep = tuple(k for k in dk if k not in linked)
            del per[dk]
            if keep:
                per[keep] = Link(link.dest, None, keep, keep, link.prop, link.post)


def _check_blank_out(dest: InstanceState, prop: RelationshipProperty,
                     dest_keys: tuple[str, ...]) -> None:
    """Unlinking ``dest`` must not NULL a column of its primary key."""
    d = dest.obj().__dict__
    for (scol, dcol), key in zip(prop.synchronize_pairs, dest_keys, strict=True):
        if dcol.primary_key and d.get(key) is not None:
            raise BlankedPrimaryKeyError(
                f"Dependency rule on column '{scol}' tried to blank-out primary key column "
                f"'{dcol}' on instance {describe(dest.obj())}: unlinking it from its parent "
                f"along {prop.qualname} would set its primary key to NULL. Delete it with "
                f"the parent instead (cascade=\"all, delete-orphan\" on {prop.qualname}), "
                "or delete it yourself before the flush"
            )


def _load_by_committed_key(state: InstanceState, prop: RelationshipProperty,
                           d: dict[str, Any], cs: dict[str, Any]) -> None:
    """Load the collection ``prop`` of ``state`` as the database holds it now: by the
    key values (primary key, and the key ``prop`` refers to) the object had when
    loaded, not the ones it was given since."""
    sess = _sessions.get(state.session_id) if state.session_id is not None else None
    if sess is None:
        return
    keys = set(state.mapper._pk_keys).union(prop.parent_key_attrs())
    changed = {k: d[k] for k in keys if k in d and k in cs and cs[k] is not NO_VALUE}
    d.update({k: cs[k] for k in changed})
    try:
        sess._load_attributes(state, prop.key)
    finally:
        d.update(changed)


def _ref_changed(state: InstanceState, prop: RelationshipProperty) -> bool:
    """Whether a key of ``state`` that the rows of ``prop`` (a one-to-many or
    many-to-many of its mapper) hold changed: the primary key, or the unique key
    the relationship refers to instead."""
    cs = state._committed
    if not cs:
        return False
    return any(k in cs for k in prop.parent_key_attrs())


def _only_member(prop: RelationshipProperty, state: InstanceState, value: Any) -> Any:
    """The object a many-to-one with ``uselist=True`` refers to (None: an empty list);
    more than one can't be written into the one foreign key."""
    members = list(value)
    if len(members) > 1:
        raise FlushError(
            f"Can't flush {prop.parent.class_.__name__}.{prop.key} of {describe(state.obj())}: "
            f"a many-to-one (uselist=True) holds {len(members)} objects, and its foreign key "
            "refers to one; keep at most one in the list")
    return members[0] if members else None


def _history_changes(state: InstanceState, prop: RelationshipProperty) -> _Changes:
    """(added, unchanged, removed) from the relationship's attribute history."""
    hist = state.mapper._impls[prop.key].history(state, True)
    if prop.uselist:
        return hist.added, hist.unchanged, hist.deleted
    # a scalar history reports None as a value
    return ([x for x in hist.added if x is not None],
            [x for x in hist.unchanged if x is not None],
            [x for x in hist.deleted if x is not None])
