"""Session membership: add, merge, expunge and their cascades.

Mixed into :class:`~datamapper.session.session.Session`.  This is where an
object becomes pending or persistent in the session, or leaves it, with the
matching events.  Deletion (and delete-orphan orphans) is in :mod:`.deleting`,
what a transaction's end does to the objects in :mod:`.tx_objects`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._util import describe, lifecycle, warn_deprecated
from ..cascade import cascade_iterator, cascades
from ..exc import InvalidRequestError
from ..instance.scalar_impls import get_state_history
from ..instance.state import (
    FLUSH_EXECUTING,
    LOAD_SESSION,
    ORPHANED,
    InstanceState,
    _sessions,
    instance_state,
    refuse_unmapped_subclass,
    warn_flush_usage,
)
from ..loading.rows import resume_gc
from .base import SessionBase
from .merge import merge as merge_into
from .merge import merge_all as merge_all_into
from .ownership import exclusive, get_ident

if TYPE_CHECKING:
    from .session import Session


_O = TypeVar("_O")  # a mapped class's instances

# add_all() of more objects than this runs with the cycle collector paused
_GC_PAUSE_ADD = 1000


class SessionMembership(SessionBase):
    """``add``, ``delete``, ``expunge``, ``merge`` and the bookkeeping behind them."""

    def add(self, instance: object, _warn: bool = True) -> None:
        """Place ``instance`` in the session: transient -> pending, detached -> persistent."""
        guard = self._guard
        me = get_ident()
        owner = guard.owner
        if owner is None:
            # the session's ownership for the call, taken as @exclusive takes it (inline:
            # the hottest call), so that a commit another thread starts meanwhile is
            # refused instead of ending the transaction under this add()
            guard.owner = me
            if guard.owner != me:
                raise guard.refuse(self, "add")
            guard.what = "add"
        elif owner != me:
            # another thread is inside this session (flush, commit ...): refuse
            raise guard.refuse(self, "add")
        try:
            if FLUSH_EXECUTING and self.hash_key in FLUSH_EXECUTING:
                warn_flush_usage("Session.add()")
            state = instance_state(instance)
            if state.session_id == self.hash_key and state in self._deleted:
                if state._deleted:
                    # deleted again after the flush of its DELETE: refused as any object
                    # a flush deleted is, and it stays marked
                    self._refuse_deleted(instance)
                # marked for deletion, not flushed: add() takes the mark back (what its
                # delete cascade marked stays marked)
                del self._deleted[state]
            self._save_or_update_state(state, instance)
        finally:
            if owner is None:
                guard.owner = None

    def add_all(self, instances: Iterable[Any]) -> None:
        """``add()`` of each object, in order."""
        owner = self._guard.owner
        if (owner is not None and owner != get_ident()) or self.dispatch.active \
                or (FLUSH_EXECUTING and self.hash_key in FLUSH_EXECUTING) \
                or self._tx_blocks or self._closed:
            for obj in instances:
                self.add(obj)
            return
        # Adding many objects makes their states (the keyword constructor leaves that to
        # the first add()) and walks their cascades: many small allocations that live on,
        # for which the cycle collector would scan everything the program holds again and
        # again.  It is paused for a large batch, and switched back on when the batch is
        # in, whatever the outcome -- as flush() does; the states made, which live on,
        # go to the oldest generation unscanned (resume_gc).
        pause_gc = isinstance(instances, (list, tuple)) and \
            len(instances) > _GC_PAUSE_ADD and gc.isenabled()
        guard = self._guard
        me = get_ident()
        if owner is None:
            # the session's ownership for the batch (see add())
            if guard.owner is not None:
                raise guard.refuse(self, "add_all")
            guard.owner = me
            guard.what = "add_all"
        if pause_gc:
            gc.disable()
        try:
            self._add_all(instances)
        finally:
            if owner is None:
                guard.owner = None
            if pause_gc:
                resume_gc()

    def _add_all(self, instances: Iterable[Any]) -> None:
        """``add_all()`` for a session with no listeners: a new object of a class without
        save-update cascades becomes pending here, as add() would make it, without
        add()'s per-object steps."""
        sid = self.hash_key
        new = self._new
        order = self._order
        plain: dict[Any, bool] = {}  # mapper -> has no save-update cascade
        for obj in instances:
            state = instance_state(obj)
            if state.session_id is None and state._key is None and state._extra is None:
                mapper = state.mapper
                if obj.__class__ is not mapper.class_:
                    refuse_unmapped_subclass(obj, "add")
                ok = plain.get(mapper)
                if ok is None:
                    ok = plain[mapper] = not cascades("save-update", mapper)
                if ok:
                    if self._transaction is None and not self.autocommit:
                        self._autobegin()  # rollback() must be able to undo this add
                    state.session_id = sid
                    state.insert_order = next(order)
                    new[state] = obj
                else:  # what add() does next for a new object (its checks are made)
                    self._save_or_update_state(state, obj, True)
                continue
            self.add(obj)

    def enable_relationship_loading(self, obj: object) -> None:
        """Let a transient or detached ``obj`` load its relationships through this
        session, from the foreign-key values it holds (many-to-one, mostly), without
        taking part in any flush: it stays transient or detached."""
        state = instance_state(obj)
        if state.session_id is not None and state.session_id != self.hash_key and \
                state.session_id in _sessions:
            raise InvalidRequestError(
                f"Can't enable relationship loading for {describe(obj)}: it belongs to "
                f"session {state.session_id}; expunge it from that session first"
            )
        state.extra()[LOAD_SESSION] = self.hash_key

    @exclusive
    def merge(self, instance: _O, load: bool = True, dont_load: bool | None = None, *,
              options: object = None) -> _O:
        """Copy ``instance``'s state (and its merge-cascade graph) into this session and
        return the session's copy; ``instance`` itself is left as it is.

        ``load=False`` copies without SQL and without history (for unchanged
        objects, e.g. from a cache); ``dont_load=True`` is its 0.4 spelling.
        """
        if dont_load is not None:
            warn_deprecated("merge(dont_load=...)", f"merge(load={not dont_load})")
            load = not dont_load
        if self._tx_blocks or self._closed:
            self._check_usable()
        if FLUSH_EXECUTING and self.hash_key in FLUSH_EXECUTING:
            warn_flush_usage("Session.merge()")
        # (self is always a Session: this class is one of its parts)
        copy: _O = merge_into(cast("Session", self), instance, load, options)
        return copy

    def merge_all(self, instances: Iterable[_O], load: bool = True, *,
                  options: object = None) -> Sequence[_O]:
        """``merge()`` of several objects at once: their copies, in the order given.

        One merge runs over all their graphs, so an object reachable from several of
        them (or given twice) gets one copy, and the session autoflushes once.
        """
        objs = list(instances)
        if self._tx_blocks or self._closed:
            self._check_usable()
        return merge_all_into(cast("Session", self), objs, load, options)

    def _save_or_update_state(self, state: InstanceState, obj: object, quiet: bool = False
                              ) -> None:
        """``add()`` of ``state`` and what its save-update cascade reaches.  ``quiet``:
        the session has no listeners (add_all checked), so a transient object reached
        becomes pending right here, without ``_save_impl``'s checks for events."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        if obj.__class__ is not state.mapper.class_:
            refuse_unmapped_subclass(obj, "add")
        if self._transaction is None and not self.autocommit:
            self._autobegin()  # rollback() must be able to undo this add
        ext = state._extra
        if ext is not None and ORPHANED in ext:
            # added on purpose (or attached to a parent): no longer an orphan to drop
            del ext[ORPHANED]
        # what the cascade reaches is read before anything is added: an object a
        # relationship can't hold refuses the whole add (RelatedTypeError)
        cascaded = cascade_iterator("save-update", state, obj, self.hash_key)
        if cascaded:
            cascaded = list(cascaded)
        self._save_or_update_impl(state, obj)
        if not quiet:
            for child_state, child in cascaded:
                self._save_or_update_impl(child_state, child)
            return
        sid, order, new = self.hash_key, self._order, self._new
        for child_state, child in cascaded:
            if child_state.session_id is None and child_state._key is None \
                    and child_state._extra is None:
                # (the common case of a tree being added: each new child, as _save_impl)
                child_state.session_id = sid
                child_state.insert_order = next(order)
                new[child_state] = child
            else:
                self._save_or_update_impl(child_state, child)

    def _save_or_update_impl(self, state: InstanceState, obj: object) -> None:
        if state.session_id == self.hash_key:
            if state._deleted and state._key is not None and state not in self._deleted:
                pass
            else:
                return
        if state._key is None:
            self._save_impl(state, obj)
        else:
            self._update_impl(state, obj)

    def _before_attach(self, state: InstanceState, obj: object) -> None:
        other_id = state.session_id
        if other_id is not None and other_id != self.hash_key and other_id in _sessions:
            raise InvalidRequestError(
                f"Can't add {describe(obj)} to session {self.hash_key}: it is already attached "
                f"to another session ({other_id}); expunge it from that session first, or use "
                "session.merge() to copy its state"
            )
        self._fire("before_attach", self, obj)

    def _save_impl(self, state: InstanceState, obj: object) -> None:
        active = self.dispatch.active
        other_id = state.session_id
        if active or (other_id is not None and other_id != self.hash_key):
            self._before_attach(state, obj)
        state.session_id = self.hash_key
        state.insert_order = next(self._order)
        self._new[state] = obj
        if state._extra is not None and state._extra.get(ORPHANED):
            self._orphan_watch.add(state)
        if active:
            self._fire("after_attach", self, obj)
            self._fire("transient_to_pending", self, obj)

    def _update_impl(self, state: InstanceState, obj: object, revert_deletion: bool = False
                     ) -> None:
        if state._deleted and not revert_deletion:
            self._refuse_deleted(obj)
        if obj.__class__ is not state.mapper.class_:
            refuse_unmapped_subclass(obj, "attach")
        key = state.key
        existing = self._identity_map.get_state(key)  # type: ignore[arg-type]  # reached only for states with a key (persistent or detached); InstanceState.key is Optional for transient ones
        if existing is not None and existing is not state:
            raise InvalidRequestError(
                f"Can't attach {describe(obj)}: another instance with key {key} is already "
                "present in this session; use session.merge() to copy its state onto that "
                "instance"
            )
        attaching = state.session_id != self.hash_key
        if attaching:
            self._before_attach(state, obj)
        state.session_id = self.hash_key
        self._identity_map.add(state, obj)
        if state.modified:
            state._strong = obj
            self._identity_map._modified.add(state)
        if attaching:
            self._fire("after_attach", self, obj)
            self._fire("detached_to_persistent", self, obj)

    @staticmethod
    def _refuse_deleted(obj: object) -> None:
        raise InvalidRequestError(
            f"Can't add {describe(obj)}: it has been deleted (flushed as a DELETE); use "
            "make_transient() to turn it back into a new object first"
        )


    @exclusive
    def expunge(self, instance: object) -> None:
        """Remove ``instance`` from the session: persistent -> detached, pending -> transient."""
        state = instance_state(instance)
        if state.session_id != self.hash_key:
            raise InvalidRequestError(
                f"Can't expunge {describe(instance)}: it is not present in this Session "
                f"({lifecycle(state)})"
            )
        targets = [state]
        targets.extend(s for s, _o in cascade_iterator("expunge", state, instance))
        for st in targets:
            if st.session_id == self.hash_key:
                self._expunge_state(st)

    def _expunge_state(self, state: InstanceState, to_transient: bool = False) -> None:
        """``to_transient``: a rollback undoes the object's INSERT, so it leaves as
        transient (persistent_to_transient), not detached."""
        obj = state.obj()
        was_pending = state._key is None
        was_deleted = state._deleted
        self._new.pop(state, None)
        self._deleted.pop(state, None)
        if was_deleted:
            # its DELETE was flushed: once expunged, a rollback no longer brings it back
            self._forget_flushed_delete(state)
        self._identity_map.discard(state)
        state.session_id = None
        state._strong = None
        if obj is not None:
            self._fire("pending_to_transient" if was_pending else
                       "persistent_to_transient" if to_transient else
                       "deleted_to_detached" if was_deleted else "persistent_to_detached",
                       self, obj)

    @exclusive
    def expunge_all(self) -> None:
        """Remove every object from the session."""
        active = self.dispatch.active
        tell = "persistent_to_detached" in active or "pending_to_transient" in active
        gone = []
        for state in self._identity_map.states() + list(self._new):
            if tell and (obj := state.obj()) is not None:
                gone.append((state._key is None, obj))
            state.session_id = None
            state._strong = None
        self._identity_map.clear()
        self._map_generation += 1
        self._new.clear()
        self._deleted.clear()
        self._orphan_watch.clear()
        for was_pending, obj in gone:
            self._fire("pending_to_transient" if was_pending else "persistent_to_detached",
                       self, obj)

    clear_all = expunge_all

    def __contains__(self, instance: object) -> bool:
        try:
            state = instance_state(instance)
        except Exception:
            raise
        return state.session_id == self.hash_key and (
            state in self._new or self._identity_map.holds(state)
            or state in self._deleted
        )

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._new.values()) + self._identity_map.values())

    def is_modified(self, instance: object, include_collections: bool = True,
                    passive: bool = True) -> bool:
        """True if ``instance`` has attribute changes that a flush would write."""
        state = instance_state(instance)
        mapper = state.mapper
        keys = state.committed_state.keys() if state._key is not None else \
            [k for k in mapper._props if k in instance.__dict__]
        for key in list(keys):
            prop = mapper._props.get(key)
            if prop is None:
                continue
            if prop.is_relationship and not include_collections and getattr(prop, "uselist",
                                                                            False):
                continue
            if get_state_history(state, key, True).has_changes():
                return True
        return False
