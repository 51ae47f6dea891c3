"""Session: ``delete``, the delete cascade, and delete-orphan orphans.

Mixed into :class:`~datamapper.session.session.Session`.  ``delete()`` marks an
object (and what its delete cascade reaches, loaded first) for deletion at the next
flush; the flush follows the cascade again for objects attached since
(``_cascade_deletes_again``) and deletes or expunges the orphans it found.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._util import describe, lifecycle
from ..cascade import cascade_iterator, cascades
from ..exc import InvalidRequestError
from ..instance.state import (
    CASCADE_DELETED,
    FLUSH_EXECUTING,
    ORPHANED,
    STATE_ATTR,
    InstanceState,
    instance_state,
    warn_flush_usage,
)
from .base import SessionBase
from .ownership import exclusive, get_ident

if TYPE_CHECKING:
    pass


class SessionDelete(SessionBase):
    """``delete``/``delete_all``, the delete cascade, delete-orphan orphans."""

    def delete_all(self, instances: Iterable[Any]) -> None:
        """``delete()`` of each object: all are deleted at the next flush."""
        for obj in instances:
            self.delete(obj)

    def delete(self, instance: object) -> None:
        """Mark a persistent object for deletion at the next flush."""
        guard = self._guard
        me = get_ident()
        owner = guard.owner
        if owner is None:
            # the session's ownership for the call (as @exclusive takes it, inline): a
            # flush another thread starts meanwhile is refused instead of clearing
            # the mark made here
            guard.owner = me
            guard.what = "delete"
            try:
                if self._delete_quick(instance):
                    return
            finally:
                guard.owner = None
        elif owner == me and self._delete_quick(instance):
            return
        self._delete(instance)

    def _delete_quick(self, instance: object) -> bool:
        """The usual ``delete()``: a persistent object of this session whose class has
        no delete cascade, in a running transaction, marked without ``_delete()``'s
        steps (nothing here can run a listener, load or re-enter the session).  False:
        not that case, nothing done."""
        if not self._tx_blocks \
                and not self._closed and self._transaction is not None \
                and not (FLUSH_EXECUTING and self.hash_key in FLUSH_EXECUTING):
            try:
                # (instance_state() inline: its attribute read, without the call)
                state = getattr(instance, STATE_ATTR, None)
            except Exception:  # a user __getattr__ had its say
                state = None
            if state.__class__ is not InstanceState:
                state = instance_state(instance)
            if state._key is not None and not state._deleted \
                    and state.session_id == self.hash_key \
                    and not cascades("delete", state.mapper):
                deleted = self._deleted
                if state not in deleted:
                    deleted[state] = instance
                    state._strong = instance
                elif state._extra is not None:
                    state._extra.pop(CASCADE_DELETED, None)  # now deleted on purpose
                return True
        return False

    @exclusive
    def _delete(self, instance: object) -> None:
        """``delete()``: every case, as the only thread inside the session."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        if FLUSH_EXECUTING and self.hash_key in FLUSH_EXECUTING:
            warn_flush_usage("Session.delete()")
        state = instance_state(instance)
        if state._key is None:
            raise InvalidRequestError(
                f"Can't delete {describe(instance)}: it is not persisted "
                f"({lifecycle(state)}); use session.expunge() to remove a pending object"
            )
        if state._extra is not None:
            # deleted on purpose, even if a delete cascade marked it before: a parent
            # that takes it in before the flush does not keep it
            state._extra.pop(CASCADE_DELETED, None)
        if state in self._deleted and state.session_id == self.hash_key:
            # marked already (by delete() or a delete cascade): nothing more to do; its
            # cascade is followed again at the flush (no load here, so no autoflush)
            return
        if self._transaction is None and not self.autocommit:
            self._autobegin()  # rollback() must be able to undo this delete
        if state._deleted:
            self._delete_again(state, instance)
        elif state.session_id != self.hash_key:
            self._update_impl(state, instance)
        cascaded = cascade_iterator("delete", state, instance)
        if not cascaded:  # the mapper has no delete cascade: the common, quick case
            deleted = self._deleted
            if state not in deleted:
                deleted[state] = instance
                state._strong = instance
            return
        # children are loaded (autoflushing, as any lazy load does, so that rows
        # reflect changes such as a child moved to another parent) before anything
        # is marked deleted
        cascaded = self._load_for_delete_cascade(cascaded)
        self._delete_impl(state, instance)
        for child_state, child in cascaded:
            if child_state._key is None:
                if child_state.session_id == self.hash_key:
                    self._expunge_state(child_state)
                continue
            self._delete_impl(child_state, child, by_cascade=True)

    def _load_for_delete_cascade(self, cascaded: Any) -> list[Any]:
        """The objects a delete cascade reaches, loading the relationships it follows
        even where they are configured lazy="raise" or were loaded with raiseload():
        those guard application code, not the cascade (the flush loads the same way)."""
        was = self._flush_loading
        self._flush_loading = True
        try:
            return list(cascaded)
        finally:
            self._flush_loading = was

    def _cascade_deletes_again(self) -> None:
        """At flush: follow the delete cascade of the objects marked deleted once more,
        so that objects attached to them after ``delete()`` go with them too."""
        # only objects of classes with a delete cascade have anything to follow (a large
        # delete of one class without one: a set of its mappers, no per-object step)
        cascading = {m for m in {s.mapper for s in self._deleted} if cascades("delete", m)}
        if not cascading:
            return
        marked = [(s, o) for s, o in self._deleted.items() if s.mapper in cascading]
        self._no_autoflush += 1
        try:
            for state, obj in marked:
                if obj is None:
                    continue
                it = cascade_iterator("delete", state, obj)
                for child_state, child in self._load_for_delete_cascade(it):
                    if child_state in self._deleted or child_state._deleted:
                        continue
                    if child_state._key is None:
                        if child_state.session_id == self.hash_key:
                            self._expunge_state(child_state)
                        continue
                    self._delete_impl(child_state, child, by_cascade=True)
        finally:
            self._no_autoflush -= 1

    def _delete_orphan(self, state: InstanceState) -> None:
        """A flush found ``state`` removed from its delete-orphan parent: delete it."""
        obj = state.strong_obj()
        self._delete_impl(state, obj, by_cascade=True)
        with self.no_autoflush:
            cascaded = list(cascade_iterator("delete", state, obj))
        for child_state, child in cascaded:
            if child_state._key is not None:
                self._delete_impl(child_state, child, by_cascade=True)

    def _expunge_orphan(self, state: InstanceState, obj: object) -> None:
        """A pending object left its delete-orphan parent (in this session) before it
        was inserted: it leaves the session, along its expunge cascade."""
        if state.session_id == self.hash_key and state._key is None and state in self._new:
            self.expunge(obj)

    def _watch_orphan(self, state: InstanceState) -> None:
        """A pending object of this session was marked as an orphan by a parent outside
        it: the next flush expunges it if it is still one."""
        self._orphan_watch.add(state)

    def _expunge_marked_orphans(self) -> None:
        watched, self._orphan_watch = self._orphan_watch, set()
        for state in sorted(watched, key=lambda s: s.insert_order):
            ext = state._extra
            if ext and ext.get(ORPHANED) and state._key is None and \
                    state.session_id == self.hash_key and state in self._new:
                self._expunge_state(state)

    def _delete_impl(self, state: InstanceState, obj: object, by_cascade: bool = False
                     ) -> None:
        """Mark ``state`` deleted; ``by_cascade``: a delete cascade (or the orphan rule)
        reached it, rather than delete() naming it (see CASCADE_DELETED)."""
        if state in self._deleted:
            return
        if state._deleted:
            self._delete_again(state, obj)
        elif state.session_id != self.hash_key:
            self._update_impl(state, obj)
        self._deleted[state] = obj
        state._strong = obj
        if by_cascade:
            state.extra()[CASCADE_DELETED] = True
        elif state._extra is not None:
            state._extra.pop(CASCADE_DELETED, None)

    def _delete_again(self, state: InstanceState, obj: object) -> None:
        """delete() of an object whose row a flush of this session already deleted:
        it is marked for deletion again, and the next flush sends its DELETE again
        (which matches no row: the flush warns, see confirm_deleted_rows).  Detached
        since its deletion was committed, it is attached to this session first."""
        attaching = state.session_id is None
        if not attaching and state.session_id != self.hash_key:
            raise InvalidRequestError(
                f"Can't delete {describe(obj)}: its row was deleted by a flush of another "
                "session; make_transient() it to use it as a new object")
        existing = self._identity_map.get_state(state.key)  # type: ignore[arg-type]  # a state whose row a flush deleted has a key; InstanceState.key is Optional for transient states
        if existing is not None and existing is not state:
            raise InvalidRequestError(
                f"Can't delete {describe(obj)}: another instance with key {state.key} is "
                "already present in this session")
        if attaching:
            self._before_attach(state, obj)
            state.session_id = self.hash_key
        self._identity_map.add(state, obj)
        if attaching:
            self._fire("after_attach", self, obj)
            self._fire("detached_to_persistent", self, obj)
