""":class:`TxSnapshot`: what a root or nested transaction records so that rolling
it back restores the session's objects exactly (API.md "Transactions").

A subtransaction shares its parent's snapshot.  A committed SAVEPOINT, or one
discarded by the rollback of a transaction it is inside, hands what it recorded
to its parent (:meth:`TxSnapshot.merge_into`).  The Session fills it as it flushes
(``session/flushing.py``, ``bulk.py``, ``tx_objects.py``) and reads it back when the
transaction ends (``session/tx_objects.py``); the transaction only owns it.
"""

from __future__ import annotations

from typing import Any

from ..instance.state import InstanceState


class TxSnapshot:
    """``new``: objects whose INSERT was flushed in the transaction; ``deleted``:
    objects whose DELETE was flushed (state -> object, held here, not in the
    identity map); ``dirty``: objects whose UPDATE was flushed; ``key_switches``:
    objects whose identity key changed (state -> (old key, new key)).

    ``dirty`` is read only by the rollback of a SAVEPOINT (which expires what changed
    inside it; a root's rollback expires everything): ``records_dirty`` is False for
    a root's snapshot, which then leaves it empty (a flush of many changed objects
    does not file each one there for nothing)."""

    __slots__ = ("new", "deleted", "dirty", "key_switches", "records_dirty")

    def __init__(self, records_dirty: bool = True) -> None:
        # the states inserted (a list: a large flush appends its states at once, and a
        # state inserted again after a SAVEPOINT's rollback is simply there twice)
        self.new: list[InstanceState] = []
        self.deleted: dict[InstanceState, object] = {}
        self.dirty: dict[InstanceState, bool] = {}
        self.key_switches: dict[InstanceState, tuple[Any, Any]] = {}
        self.records_dirty = records_dirty

    def merge_into(self, other: TxSnapshot) -> None:
        other.new.extend(self.new)
        other.deleted.update(self.deleted)
        other.dirty.update(self.dirty)
        for state, keys in self.key_switches.items():
            other.key_switches.setdefault(state, keys)

    def clear(self) -> None:
        self.new.clear()
        self.deleted.clear()
        self.dirty.clear()
        self.key_switches.clear()
