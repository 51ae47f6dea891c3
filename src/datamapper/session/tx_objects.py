"""What the end of a transaction does to the Session's objects.

Mixed into :class:`~datamapper.session.session.Session`.  The transaction owns a
:class:`~datamapper.session.tx_snapshot.TxSnapshot` of what its flushes did; when
it rolls back it calls :meth:`SessionTxObjects._objects_after_rollback` (objects
inserted in it are transient again, deleted ones persistent again, identity keys
switched back, the rest expired), when a root commits
:meth:`SessionTxObjects._objects_after_commit` (``expire_on_commit``; deleted
objects leave).  These two, with ``_flush_before_commit`` (flushing.py), are the
object side of the seam listed in :class:`~datamapper.session.transaction.TransactionHost`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..instance.state import InstanceState, expire_states
from .base import SessionBase
from .tx_snapshot import TxSnapshot

if TYPE_CHECKING:
    from .transaction import SessionTransaction


class SessionTxObjects(SessionBase):
    """The session's objects at the end of a transaction, and what the snapshot of
    the current one records while it runs."""

    def _objects_after_rollback(self, snapshot: TxSnapshot, dirty_only: bool) -> None:
        """The objects as they were before the rolled-back level began;
        ``dirty_only`` (a SAVEPOINT): only what changed inside it is expired."""
        imap = self._identity_map
        sid = self.hash_key
        for state in list(dict.fromkeys(list(snapshot.new) + list(self._new))):
            # inserted (or added) in the rolled-back transaction: transient again,
            # also when it was expunged since; one now in another session is left
            if state.session_id == sid:
                self._expunge_state(state, to_transient=True)
            elif state.session_id is not None:
                continue
            state.key = None
            state._deleted = False
        deleted = snapshot.deleted
        for state, (old_key, _new_key) in snapshot.key_switches.items():
            imap.discard(state)
            state.key = old_key
            obj = state.obj()
            if obj is not None and state not in deleted:
                imap.add(state, obj)
        restored = list(dict.fromkeys(list(deleted) + list(self._deleted)))
        for state in restored:
            self._restore_deleted(state, deleted.get(state) or self._deleted.get(state))
        if dirty_only:
            # an object deleted inside the SAVEPOINT was changed inside it too (its
            # collections may have lost members): it reloads like the dirty ones
            for state in restored:
                state.expire()
        # live objects of the map, and objects held for their changes that the map
        # does not file (a restored deleted object whose key another object took)
        dirty = snapshot.dirty
        for state in dict.fromkeys(imap.all_states() + list(imap._modified)):
            if not dirty_only or state.modified or state in dirty:
                state.expire()

    def _objects_after_commit(self, snapshot: TxSnapshot) -> None:
        """A root committed: everything expires (``expire_on_commit``), and the
        objects whose DELETE it flushed leave the session."""
        if self.expire_on_commit:
            expire_states(self._identity_map.states())
        self._detach_deleted_all(list(snapshot.deleted))

    def _forget_flushed_delete(self, state: InstanceState) -> None:
        """An object whose DELETE was flushed leaves the session: a rollback no
        longer brings it back."""
        tx = self._transaction
        if tx is not None:
            for snapshot in tx._snapshots():
                snapshot.deleted.pop(state, None)

    def _record_key_switch(self, state: InstanceState, old_key: object) -> None:
        tx = self._transaction
        if tx is not None:
            switches = tx._snapshot.key_switches
            if state not in switches:
                switches[state] = (old_key, state.key)

    def _restore_deleted(self, state: InstanceState, obj: object) -> None:
        """Rollback: a deleted object is persistent again."""
        self._deleted.pop(state, None)
        if state._key is None:
            return  # inserted and deleted in the rolled-back transaction: transient again
        if obj is None:
            obj = state.obj()
        if obj is None:
            return
        state._deleted = False
        state.session_id = self.hash_key
        imap = self._identity_map
        existing = imap.get_state(state.key)  # type: ignore[arg-type]  # state._key is not None (returned above); mypy can't narrow the key property by it
        if existing is not None and existing is not state:
            # another object took the key in the rolled-back transaction (a row
            # inserted there with the deleted row's key, then loaded): that row is
            # gone again and the deleted one is back, so its object owns the key
            self._expunge_state(existing)
            existing = None
        if existing is None or existing is state:
            imap.add(state, obj)
            if imap.weak and not state.modified:
                # still changed (the rollback expires it next): the session keeps it
                state._strong = None
        self._fire("deleted_to_persistent", self, obj)

    def _detach_flushed_deleted(self, tx: SessionTransaction) -> None:
        """Close: objects whose DELETE was flushed in the ending transaction are held by
        the transaction, not the identity map.  Its rollback brings their rows back,
        so they leave the session as plain detached objects."""
        sid = self.hash_key
        for snapshot in tx._snapshots():
            for state in list(snapshot.deleted):
                if state.session_id == sid:
                    state.session_id = None
                state._strong = None
                state._deleted = False
            snapshot.deleted.clear()

    def _detach_deleted_all(self, states: list[InstanceState]) -> None:
        """Commit: every deleted object leaves the session."""
        if "deleted_to_detached" in self.dispatch.active:
            for state in states:
                self._detach_deleted(state)
            return
        sid = self.hash_key
        for state in states:
            if state.session_id == sid:
                state.session_id = None
            state._strong = None

    def _detach_deleted(self, state: InstanceState) -> None:
        """Commit: a deleted object leaves the session (detached, was_deleted)."""
        obj = state.obj()
        if state.session_id == self.hash_key:
            state.session_id = None
        state._strong = None
        if obj is not None:
            self._fire("deleted_to_detached", self, obj)
