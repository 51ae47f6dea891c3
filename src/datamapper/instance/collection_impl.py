"""The attribute impl of a relationship collection (one-to-many, many-to-many).

Callers: the instrumented collection classes (``collections.py``), which report
each append and remove here; the instrumented class's ``__setattr__`` (a whole
collection assigned); the loaders, which install loaded members
(``set_committed``); the flush, which reads its history.  Like
:class:`~.relationships.ScalarObjectImpl` (``relationships.py``, which also
holds what the two share), it records history, keeps the reverse side of a
backref in step and cascades ``save-update``; members a backref adds or removes
while the collection is not loaded are queued on the owner's state and applied
when it loads.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

from typing import Any

from .._util import DONT_SET, NO_VALUE, describe
from ..exc import InvalidRequestError
from ..mapping.attributes import QueryableAttribute
from ..mapping.mapper import Mapper
from ..mapping.relationships import (
    MANYTOMANY,
    RelationshipProperty,
)
from .collections import members, new_collection
from .history import HISTORY_BLANK, History
from .relationships import (
    PENDING,
    _in_flush,
    _loading_session,
    _RelImpl,
)
from .state import (
    FLUSH_EXECUTING,
    STATE_ATTR,
    InstanceState,
    _sessions,
    instance_state,
    warn_flush_usage,
)


class CollectionImpl(_RelImpl):
    """A collection of related objects."""

    __slots__ = ("collection_class",)

    uselist = True

    def __init__(self, mapper: Mapper, key: str, attr: QueryableAttribute,
                 prop: RelationshipProperty) -> None:
        super().__init__(mapper, key, attr, prop)
        self.collection_class = prop.collection_class or list

    def get_missing(self, obj: Any) -> Any:
        d = obj.__dict__
        state = d.get(STATE_ATTR)
        if state is None:
            state = instance_state(obj)
        if state._key is None:
            if self.prop.load_on_pending and state.session_id is not None:
                sess = _sessions.get(state.session_id)
                if sess is not None:  # a pending parent, load_on_pending: load by its key
                    sess._load_attributes(state, self.key)
                    if self.key in d:
                        return d[self.key]
            coll = new_collection(self.collection_class, state, self)
            coll._dm_implicit = True  # merge() leaves it out while it stays empty
            d[self.key] = coll
            return coll
        if state.session_id is None and state._extra is not None:
            sess = _loading_session(state)
            if sess is not None:  # a detached object given enable_relationship_loading()
                sess._load_attributes(state, self.key)
                return d[self.key]
        self._load(state, obj)
        return d[self.key]

    def _loaded(self, state: InstanceState, obj: Any) -> Any:
        d = obj.__dict__
        coll = d.get(self.key)
        if coll is None:
            coll = self.get_missing(obj)
        return coll

    # -- mutation events from the instrumented collection -------------------------------------
    def _snapshot(self, state: InstanceState, coll: Any) -> None:
        if self.viewonly:
            return
        if state._key is None and state._extra is None:
            state.modified = True
            return
        cs = state.committed_state
        if self.key not in cs:
            cs[self.key] = list(members(coll))
        obj = state.obj()
        if obj is not None:
            state.modified_event(obj)

    def fire_append(self, state: InstanceState, coll: Any, item: Any, initiator: Any,
                    _validated: bool = False) -> Any:
        if FLUSH_EXECUTING and _in_flush(state, item):
            warn_flush_usage("collection append")
        if self.validator is not None and not _validated:
            item = self.validator(state.obj(), self.key, item)  # first: it may convert
        if self.typecheck:
            self._check_type(state.obj(), item)
        dispatch = self.attr.dispatch
        if dispatch is not None and "append" in dispatch:
            item = dispatch.fire_retval("append", item, state.obj(), self.attr)
        if self.prop.single_parent:
            self._claim(state, item)
        self._snapshot(state, coll)
        if self.reverse:
            owner = state.obj()
            for rkey, _rcoll in self.reverse:
                self._reverse_impl(item, rkey).backref_append(item, owner, self)
        if self.cascade_save and state.session_id is not None:
            self._cascade(state, item, initiator)
        if self.delete_orphan:
            self._regained(item)
        return item

    def fire_remove(self, state: InstanceState, coll: Any, item: Any, initiator: Any) -> None:
        if FLUSH_EXECUTING and _in_flush(state, item):
            warn_flush_usage("collection remove")
        if self.remove_validator is not None:
            self.remove_validator(state.obj(), self.key, item, True)
        dispatch = self.attr.dispatch
        if dispatch is not None and "remove" in dispatch:
            dispatch.fire("remove", state.obj(), item, self.attr)
        if self.prop.single_parent:
            self._release(state, item)
        self._snapshot(state, coll)
        if self.reverse:
            owner = state.obj()
            for rkey, _rcoll in self.reverse:
                self._reverse_impl(item, rkey).backref_remove(item, owner, self)
        if self.delete_orphan:
            self._lost(state, item)

    # -- called by the reverse side ----------------------------------------------------
    def backref_append(self, obj: Any, value: Any, initiator: Any) -> None:
        d = obj.__dict__
        state = d.get(STATE_ATTR) or instance_state(obj)
        if FLUSH_EXECUTING and _in_flush(state, value):
            warn_flush_usage("collection append")
        coll = d.get(self.key)
        if self.validator is not None and self.validate_backrefs and (
                coll is None or not any(x is value for x in members(coll))):
            self.validator(obj, self.key, value)
        dispatch = self.attr.dispatch
        if coll is None:
            if state._key is not None:
                if dispatch is not None and "append" in dispatch:
                    dispatch.fire("append", obj, value, initiator)
                self._queue(state, obj, value, True)
                self._cascade(state, value, initiator)
                if self.delete_orphan:
                    self._regained(value)
                return
            coll = self.get_missing(obj)
        for x in members(coll):
            if x is value:
                return
        if dispatch is not None and "append" in dispatch:
            dispatch.fire("append", obj, value, initiator)  # (listeners of this side too)
        if self.prop.single_parent:
            self._record_owner(state, value)
        self._snapshot(state, coll)
        coll._dm_append_quiet(value)
        self._cascade(state, value, initiator)
        if self.delete_orphan:
            self._regained(value)

    def backref_remove(self, obj: Any, value: Any, initiator: Any) -> None:
        d = obj.__dict__
        state = d.get(STATE_ATTR) or instance_state(obj)
        if FLUSH_EXECUTING and _in_flush(state, value):
            warn_flush_usage("collection remove")
        coll = d.get(self.key)
        if coll is None:
            if state._key is not None:
                if self.remove_validator is not None and self.validate_backrefs:
                    self.remove_validator(obj, self.key, value, True)
                self._fire_remove(obj, value, initiator)
                self._queue(state, obj, value, False)
                if self.delete_orphan:
                    self._lost(state, value)
            return
        if not any(x is value for x in members(coll)):
            return
        if self.remove_validator is not None and self.validate_backrefs:
            self.remove_validator(obj, self.key, value, True)
        check = getattr(coll, "_dm_check_removal", None)
        if check is not None:
            by = getattr(initiator, "key", None)
            check(value, f"take {describe(value)} out of {self.mapper.class_.__name__}.{self.key}"
                  + (f" (it changed {type(value).__name__}.{by})" if by else ""))
        if self.prop.single_parent:
            self._release(state, value)
        self._fire_remove(obj, value, initiator)
        self._snapshot(state, coll)
        coll._dm_remove_quiet(value)
        if self.delete_orphan:
            self._lost(state, value)

    def _fire_remove(self, obj: Any, value: Any, initiator: Any) -> None:
        dispatch = self.attr.dispatch
        if dispatch is not None and "remove" in dispatch:
            dispatch.fire("remove", obj, value, initiator)

    def _queue(self, state: InstanceState, obj: Any, value: Any, added: bool) -> None:
        """Record a backref's change to this collection while it is not loaded: applied
        when it loads (``set_committed``); until flushed it is a change like any other,
        noted in ``committed_state`` (original membership unknown) so the session holds
        the object and the flush sees it (orphans: ``queued_orphans``)."""
        cs = state.committed_state
        if self.key not in cs:
            cs[self.key] = NO_VALUE
        state.modified_event(obj)
        pend = state.extra().setdefault(PENDING, {}).setdefault(self.key, ([], []))
        adds, removes = pend
        if added:
            if any(x is value for x in removes):
                removes[:] = [x for x in removes if x is not value]
            else:
                adds.append(value)
        else:
            if any(x is value for x in adds):
                adds[:] = [x for x in adds if x is not value]
                if self.prop.direction is MANYTOMANY:
                    return  # no net change: no association row to delete (as SQLAlchemy)
            # recorded even when it cancels an add: the add may have repeated a
            # membership the database already holds (original membership unknown), and
            # the member left (an orphan, if nothing else holds it)
            if not any(x is value for x in removes):
                removes.append(value)

    def queued_orphans(self, state: InstanceState) -> list[Any]:
        """Members a backref took out of this collection while it was not loaded and
        that no reverse reference points to a parent any more."""
        ext = state._extra
        pend = ext.get(PENDING) if ext is not None else None
        if not pend or self.key not in pend:
            return []
        refs = [rkey for rkey, rcoll in self.reverse if not rcoll]
        return [m for m in pend[self.key][1]
                if all(m.__dict__.get(rkey) is None for rkey in refs)]

    def queued_changes(self, state: InstanceState) -> tuple[list[Any], list[Any]]:
        """(added, removed): every change a backref queued while not loaded."""
        ext = state._extra
        pend = ext.get(PENDING) if ext is not None else None
        if not pend or self.key not in pend:
            return [], []
        adds, removes = pend[self.key]
        return list(adds), list(removes)

    def queued_additions(self, state: InstanceState) -> list[Any]:
        """Members a backref put into this collection while it was not loaded and whose
        reverse reference still points to this parent."""
        ext = state._extra
        pend = ext.get(PENDING) if ext is not None else None
        if not pend or self.key not in pend:
            return []
        obj = state.obj()
        refs = [rkey for rkey, rcoll in self.reverse if not rcoll]
        return [m for m in pend[self.key][0]
                if all(m.__dict__.get(rkey) is obj for rkey in refs)]

    # -- whole-collection operations ------------------------------------------------------
    def set(self, obj: Any, value: Any, initiator: Any = None) -> None:
        if value is DONT_SET:  # a dataclass constructor not given this field
            return
        d = obj.__dict__
        state = d.get(STATE_ATTR) or instance_state(obj)
        items = self._members_given(obj, value)
        if state._key is None and state._extra is None and self._nobody_to_tell(state, d):
            # a new object's constructor: nothing to compare with, nobody to tell
            d[self.key] = new_collection(self.collection_class, state, self, items)
            state.modified = True
            return
        self._replace(state, obj, items, initiator)

    def _members_given(self, obj: Any, value: Any) -> list[Any]:
        """The members of a collection assigned as a whole, validated (a validator may
        convert them) and type-checked; refused when ``value`` is not a collection."""
        key = self.key
        if value is None:
            raise InvalidRequestError(
                f"Can't set collection {self.mapper.class_.__name__}.{key} of {describe(obj)} "
                "to None; assign an empty collection to remove every member"
            )
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise InvalidRequestError(
                f"Can't set collection {self.mapper.class_.__name__}.{key} of {describe(obj)} "
                f"to {value!r}: assign a list or set of {self.target_class.__name__} objects"
            )
        else:
            items = list(value)
        validator = self.validator
        if validator is not None:
            # every member given is validated first (a validator may convert them)
            items = [validator(obj, key, item) for item in items]
        if self.typecheck:
            for item in items:
                self._check_type(obj, item)
        return items

    def _nobody_to_tell(self, state: InstanceState, d: dict[str, Any]) -> bool:
        """A transient object's first assignment with no backref, validator, listener,
        session or single_parent check to involve: the members are just stored."""
        return self.key not in d and not self.reverse and self.validator is None \
            and self.attr.dispatch is None and state.session_id is None \
            and not self.prop.single_parent

    def _replace(self, state: InstanceState, obj: Any, items: list[Any],
                 initiator: Any) -> None:
        """Replace the collection by one of ``items``: members new to it are appended
        (with events, backrefs, cascades), members left out removed."""
        d = obj.__dict__
        key = self.key
        old = d.get(key)
        if old is None and state._key is not None:
            self._load_quiet(state, obj)
            old = d.get(key)
        old_items = list(members(old)) if old is not None else []
        coll = new_collection(self.collection_class, state, self)
        old_ids = {id(x) for x in old_items}
        new_ids = {id(x) for x in items}
        self._snapshot(state, old if old is not None else coll)
        added = []
        for item in items:
            if id(item) in old_ids:
                added.append(item)
            else:
                added.append(self.fire_append(state, coll, item, initiator, True))
        # members left out go last: a save-update cascade run by an append above must
        # not bring back a pending orphan that a removal has expunged
        for item in old_items:
            if id(item) not in new_ids:
                self.fire_remove(state, coll, item, initiator)
        if isinstance(coll, set):
            set.update(coll, added)
        elif isinstance(coll, list):
            list.extend(coll, added)
        else:  # keyed by the collection's key function, or a class of the program's
            for item in added:
                coll._dm_append_quiet(item)
        d[key] = coll
        if state.expired_attributes and key in state.expired_attributes:
            state.loaded((key,))

    def delete(self, obj: Any) -> None:
        self.set(obj, [])

    def set_committed(self, state: InstanceState, obj: Any, value: Any) -> None:
        """Install loaded members, applying reverse-side changes queued while unloaded."""
        loaded = list(members(value)) if value is not None else []
        if state.expired_attributes and self.key in state.expired_attributes:
            state.loaded((self.key,))
        if loaded and self.prop.single_parent:
            self._note_loaded(state, loaded)
        ext = state._extra
        pend = ext.get(PENDING) if ext is not None else None
        if pend and self.key in pend:
            adds, removes = pend.pop(self.key)
            items = [x for x in loaded
                     if not any(x is r for r in removes) or self._still_points(x, obj)]
            have = {id(x) for x in items}
            items.extend(x for x in adds
                         if id(x) not in have and self._still_points(x, obj))
            cs = state.committed_state
            if len(items) != len(loaded) or any(a is not b for a, b in zip(items, loaded)):
                obj.__dict__[self.key] = new_collection(self.collection_class, state, self,
                                                        items)
                if cs.get(self.key, NO_VALUE) is NO_VALUE:  # (_queue's placeholder)
                    cs[self.key] = loaded
                state.modified_event(obj)
                return
            if cs.get(self.key, None) is NO_VALUE:
                # the queued changes cancelled out or were flushed already
                del cs[self.key]
                if not cs and state.modified:
                    state.modified = False
                    state._drop_modified()
        obj.__dict__[self.key] = new_collection(self.collection_class, state, self, loaded)

    def _still_points(self, member: Any, owner: Any) -> bool:
        """Does ``member`` (in the owner's session, or in none: a new object given
        this owner by a backref, say) still refer back to ``owner``?"""
        mstate = member.__dict__.get(STATE_ATTR) or instance_state(member)
        ostate = owner.__dict__.get(STATE_ATTR) or instance_state(owner)
        if mstate._deleted or (
                mstate.session_id != ostate.session_id and mstate.session_id is not None):
            return False
        md = member.__dict__
        for rkey, rcoll in self.reverse:
            if rkey not in md:
                return bool(rcoll)
            v = md[rkey]
            if rcoll:
                return any(x is owner for x in members(v))
            return v is owner
        return True

    def init_collection(self, state: InstanceState, obj: Any) -> Any:
        coll = new_collection(self.collection_class, state, self)
        obj.__dict__[self.key] = coll
        return coll

    def history(self, state: InstanceState, passive: bool = True) -> History:
        if self.viewonly:
            return self._viewonly_history(state)
        obj = state.obj()
        d = obj.__dict__ if obj is not None else {}
        key = self.key
        current = d.get(key)
        if state._key is None and state._extra is None:
            return History(list(members(current)), (), ()) if current else HISTORY_BLANK
        cs = state.committed_state
        if key not in cs:
            if current is None:
                if passive or state.session_id is None or state._key is None:
                    return HISTORY_BLANK
                self._load_quiet(state, obj)
                current = d.get(key)
            return History((), list(members(current or ())), ())
        original = cs[key]
        if original is NO_VALUE:
            original = []
        cur = list(members(current)) if current is not None else []
        orig_ids = {id(x) for x in original}
        cur_ids = {id(x) for x in cur}
        added = [x for x in cur if id(x) not in orig_ids]
        unchanged = [x for x in cur if id(x) in orig_ids]
        deleted = [x for x in original if id(x) not in cur_ids]
        return History(added, unchanged, deleted)
