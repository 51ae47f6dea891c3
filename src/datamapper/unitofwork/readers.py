"""The parts of a flush's relationship reading (:mod:`.dependency`) that are not
the common new-object path: many-to-many association rows, objects that refer to a
changed key, and deleted states.

They are mixins of :class:`.dependency._Collector`, which holds the working state
(``deps``, ``links``, ``sid``, ``deleting``, ``lost``, ``kept``) and ``add_link``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table

from .._util import NO_VALUE, describe
from ..exc import FlushError, InvalidRequestError, SAWarning
from ..instance.collections import members as coll_members
from ..instance.seam import SessionLike
from ..instance.state import InstanceState
from ..mapping.relationships import MANYTOMANY, MANYTOONE, ONETOMANY, RelationshipProperty
from . import rekeyed
from .links import AssocRow, Dependencies, Link, as_committed, source_dict
from .orphans import Kept, Lost, row_names_another_parent
from .references import related_state as _state


def _skipped(child: Any, cst: InstanceState | None, prop: RelationshipProperty,
             what: str) -> None:
    """A related object outside the session is left out of the flush: say so."""
    if cst is not None and cst._deleted:
        return  # deleted already: nothing to write for it anyway
    warnings.warn(
        f"Can't {what} {describe(child)} along {prop.qualname} in this flush: it is not in "
        "session (no save-update cascade brought it there); the flush goes on without "
        "it; add it to the session to include it",
        SAWarning, stacklevel=6)


def check_member(prop: RelationshipProperty, state: InstanceState,
                 member: InstanceState) -> None:
    """A member of another mapper than ``prop``'s target, about to be written along
    ``prop``: a mapped subclass is accepted if the target loads its subclasses
    (``polymorphic_on``) or ``enable_typechecks=False``; anything else raises
    FlushError before any SQL (the relationship could not load it back)."""
    target = prop.mapper
    m = member.mapper
    subclass = m.isa(target)
    if subclass and (target.polymorphic_on is not None or not prop.enable_typechecks):
        return
    name = f"{prop.parent.class_.__name__}.{prop.key}"
    kind, want = m.class_.__name__, target.class_.__name__
    fix = (f"map {kind} with a polymorphic identity under a polymorphic_on column of "
           f"{want}, or make the relationship with enable_typechecks=False"
           if subclass else f"take the {kind} out of {name}")
    raise FlushError(
        f"Attempting to flush an item of type {kind} ({describe(member.obj())}) as a "
        f"member of {name} of {describe(state.obj())}, which holds {want} objects"
        f"{' and the subclasses it loads polymorphically' if subclass else ''}; {fix}"
    )


def _members(value: Any, uselist: bool) -> Any:
    """The related objects in an attribute's value: a collection's members (a keyed
    dictionary's values), or a one-to-one's object (none for None)."""
    if not uselist:
        return () if value is None else (value,)
    return coll_members(value) if value is not None else ()



class _Reader:
    """The working state the readers share (declared for the type checker)."""

    __slots__ = ()

    deps: Dependencies
    links: dict[InstanceState, dict[tuple[str, ...], Link]]
    sid: int
    deleting: set[InstanceState]
    lost: Lost
    kept: Kept

    if TYPE_CHECKING:
        def add_link(self, dest: InstanceState, src: InstanceState | None,
                     prop: RelationshipProperty) -> None: ...


class ManyToManyReader(_Reader):
    """Association rows of many-to-many relationships of saved states."""

    __slots__ = ()

    def save_many_to_many(self, state: InstanceState, prop: RelationshipProperty,
                          added: Any, removed: Any) -> None:
        """Association rows to insert for added members, to delete for removed ones."""
        if (added or removed) and not isinstance(prop.secondary, Table):
            raise InvalidRequestError(
                f"Can't write the changes to {prop.qualname} of {describe(state.obj())}: "
                f"its secondary is a {type(prop.secondary).__name__}, not a table, so "
                "there are no rows to insert or delete; make the relationship "
                "viewonly=True and change the underlying tables instead"
            )
        if added:
            self.many_to_many_added(state, prop, added)
        if removed:
            self.many_to_many_removed(state, prop, removed)

    def many_to_many_added(self, state: InstanceState, prop: RelationshipProperty,
                           added: Any) -> None:
        sid, deleting, assoc_insert = self.sid, self.deleting, self.deps.assoc_insert
        orphaning = prop.cascade.delete_orphan
        for child in added:
            cst = _state(child)
            if cst is None or cst.session_id != sid:
                _skipped(child, cst, prop, "link")
            elif not (cst in deleting or cst._deleted):
                # (none to a member this flush, or an earlier one, deletes)
                if cst.mapper is not prop.mapper:
                    check_member(prop, state, cst)
                row = AssocRow(prop, state, cst)
                assoc_insert[row.ident()] = row
                if orphaning:
                    self.kept.add((prop, cst))

    def many_to_many_removed(self, state: InstanceState, prop: RelationshipProperty,
                             removed: Any) -> None:
        sid, deleting, assoc_delete = self.sid, self.deleting, self.deps.assoc_delete
        orphaning = prop.cascade.delete_orphan
        for child in removed:
            cst = _state(child)
            if cst is None:
                continue
            if cst.session_id != sid:
                _skipped(child, cst, prop, "unlink")
                continue
            # a flushed-deleted member: its association rows went with it
            if cst._key is not None and state._key is not None and not cst._deleted:
                row = AssocRow(prop, state, cst)
                row.old = row.stored_params()
                assoc_delete[row.ident()] = row
                if orphaning and cst not in deleting:
                    self.lost.append((prop, cst, state))

    def many_to_many_rekeyed(self, state: InstanceState, prop: RelationshipProperty,
                             unchanged: Any) -> None:
        """``state``'s key changed (passive_updates=False): the association rows of its
        members take the new key (one UPDATE per row)."""
        sid, deleting, assoc_update = self.sid, self.deleting, self.deps.assoc_update
        for child in unchanged:
            cst = _state(child)
            if cst is None or cst.session_id != sid or cst in deleting or cst._deleted \
                    or cst._key is None:
                continue
            row = AssocRow(prop, state, cst)
            k = row.ident()
            if k not in assoc_update:  # (both ends' keys changed: one row)
                row.old = row.params(committed=True)
                assoc_update[k] = row


class KeySwitchReader(_Reader):
    """Objects referring to a key that changed in this flush."""

    __slots__ = ()

    def key_switches(self, session: SessionLike, switched: list[InstanceState]) -> None:
        """Objects whose key changed (the primary key, or the unique key a relationship
        refers to instead): the objects of the session that refer to
        one of them through a many-to-one with passive_updates=False (and no reverse
        collection that updates them itself) take the new key.  Only the objects the
        session holds are found (as in SQLAlchemy): a referring row not loaded keeps
        the old key, which a database without ON UPDATE CASCADE then refuses."""
        props = rekeyed.switch_props(switched)
        if not props:
            return
        targets: dict[InstanceState, dict[str, Any]] = {}
        for st in switched:
            keys = list(rekeyed.switch_keys(st.mapper))
            targets[st] = as_committed(st, source_dict(st, keys), keys)
        links, deleting = self.links, self.deleting
        for cand in session._identity_map.all_states():
            if cand in deleting or cand._deleted:
                continue
            for prop in props:
                if not cand.mapper.isa(prop.parent):
                    continue
                prop.sync_keys()
                per = links.get(cand)
                if per is not None and prop._dest_keys in per:
                    continue  # its reference changed in this flush: linked already
                target = self._referenced(session, cand, prop, targets)
                if target is not None:
                    self.add_link(cand, target, prop)

    @staticmethod
    def _referenced(session: SessionLike, cand: InstanceState, prop: RelationshipProperty,
                    targets: dict[InstanceState, dict[str, Any]]) -> InstanceState | None:
        """The object among ``targets`` (with their committed keys) that ``cand``
        refers to through ``prop``: its loaded reference, else its foreign key (loaded
        if expired)."""
        obj = cand.obj()
        if obj is None:
            return None
        d = obj.__dict__
        if prop.key in d:
            value = d[prop.key]
            if prop.uselist:  # a many-to-one as a list of its one object
                value = value[0] if value else None
            ref = _state(value)
            return ref if ref in targets else None
        expired = cand.expired_attributes
        if cand._key is not None and any(k not in d and k in expired for k in prop._dest_keys):
            session._load_attributes(cand, prop._dest_keys[0])
        # (a column the INSERT left out and nothing loaded since is NULL)
        fk = [d.get(k) for k in prop._dest_keys]
        return None if None in fk else rekeyed.target_with_key(prop, targets, fk)

class DeletedReader(_Reader):
    """What deleted states change through their relationships."""

    __slots__ = ()

    def delete(self, state: InstanceState, rels: list[RelationshipProperty]) -> None:
        """Read every writable relationship of a deleted ``state``."""
        obj = state.strong_obj()
        d = obj.__dict__
        for prop in rels:
            if prop.direction == MANYTOONE:
                if prop.cascade.delete_orphan:
                    self.delete_many_to_one(state, prop, d)
                continue
            if prop.passive_deletes == "all":
                continue
            if prop.key not in d and (prop.passive_deletes or state._key is None):
                continue
            members = self.deleted_members(state, obj, d, prop)
            if prop.direction == ONETOMANY:
                self.delete_one_to_many(state, prop, members)
            else:
                self.delete_many_to_many(state, prop, members)

    def delete_many_to_one(self, state: InstanceState, prop: RelationshipProperty,
                           d: dict[str, Any]) -> None:
        """Replaced before the delete: the object it let go of is an orphan."""
        old = state._committed.get(prop.key, NO_VALUE) if state._committed else NO_VALUE
        ost = _state(old) if old is not NO_VALUE else None
        if ost is not None and ost.session_id == self.sid and ost not in self.deleting \
                and ost is not _state(d.get(prop.key)):
            self.lost.append((prop, ost, state))

    def deleted_members(self, state: InstanceState, obj: Any, d: dict[str, Any],
                        prop: RelationshipProperty) -> list[Any]:
        """The related objects of a deleted parent: current and as last flushed."""
        key = prop.key
        if prop.lazy == "dynamic" or prop.lazy == "write_only":
            # its rows (queried) and appended/removed objects not flushed yet
            members: list[Any] = state.mapper._impls[key].flush_members(state, obj)
            self.deps.held.extend(members)
            return members
        value = getattr(obj, key) if key in d or not prop.passive_deletes else None
        members = list(_members(value, prop.uselist))
        original = state.committed_state.get(key, NO_VALUE)
        if original is NO_VALUE or original is None:
            return members
        if not prop.uselist:
            original = (original,)  # one-to-one: the original related object
        if prop.direction == MANYTOMANY:
            # association rows exist for the members as last flushed only
            return list(original)
        members.extend(x for x in original if not any(x is m for m in members))
        return members

    def delete_one_to_many(self, state: InstanceState, prop: RelationshipProperty,
                           members: list[Any]) -> None:
        """Children of a deleted parent lose its key, or are orphans (delete-orphan)."""
        sid, deleting = self.sid, self.deleting
        orphaning = prop.cascade.delete_orphan
        for child in members:
            cst = _state(child)
            # (_deleted: a member an earlier flush deleted, still in a loaded
            # collection: its row is gone already)
            if cst is None or cst._deleted or cst in deleting or cst._key is None \
                    or cst.session_id != sid or row_names_another_parent(prop, state, cst):
                continue
            if orphaning:
                self.lost.append((prop, cst, state))
            else:
                self.add_link(cst, None, prop)

    def delete_many_to_many(self, state: InstanceState, prop: RelationshipProperty,
                            members: list[Any]) -> None:
        """The association rows of a deleted parent's members are deleted."""
        assoc_delete = self.deps.assoc_delete
        for child in members:
            cst = _state(child)
            # a member an earlier flush deleted: its association rows are gone already
            if cst is not None and not cst._deleted and cst._key is not None:
                row = AssocRow(prop, state, cst)
                row.old = row.stored_params()
                assoc_delete[row.ident()] = row
