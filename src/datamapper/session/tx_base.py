"""What every part of :class:`~datamapper.session.transaction.SessionTransaction`
shares: its states, the links of the stack and the checks on them.

``SessionTransaction`` is assembled from one class per concern:

====================  ==========================================================
``tx_base.py``        states, the stack links and the checks on them
``tx_binds.py``       the connections of a level: begun per bind, released
``tx_failure.py``     rollback of the connections, and errors that end the
                      whole transaction (failed COMMIT, deadlock, aborted
                      PostgreSQL transaction)
``tx_snapshot.py``    what a level recorded to undo on rollback
``transaction.py``    the state machine: begin, prepare, commit, rollback, close
====================  ==========================================================

The seam with the Session, both ways, is declared by the side that uses it
(nothing else crosses it):

- ``transaction.TransactionHost``: all a transaction uses of its Session;
- ``tx_control.TransactionSeam``: all a Session uses of a transaction besides
  its public API.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Self

from sqlalchemy.exc import InvalidRequestError, PendingRollbackError, ResourceClosedError

from .tx_connections import ConnEntry
from .tx_snapshot import TxSnapshot

if TYPE_CHECKING:
    from .transaction import TransactionHost


class TxState(enum.Enum):
    ACTIVE = "active"
    PREPARED = "prepared"
    COMMITTED = "committed"
    DEACTIVE = "deactive"
    CLOSED = "closed"


ACTIVE, PREPARED, COMMITTED, DEACTIVE, CLOSED = (
    TxState.ACTIVE, TxState.PREPARED, TxState.COMMITTED, TxState.DEACTIVE, TxState.CLOSED)


class SessionTransactionOrigin(enum.StrEnum):
    """How a :class:`SessionTransaction` began (its ``origin``): by the Session on
    first need (``AUTOBEGIN``), by ``begin()`` (``BEGIN``), by ``begin_nested()``
    (``BEGIN_NESTED``, a SAVEPOINT), or inside another one with
    ``begin(subtransactions=True)`` (``SUBTRANSACTION``).  Each member is also the
    string it names, so comparisons with those strings still hold."""

    AUTOBEGIN = "autobegin"
    BEGIN = "explicit"
    BEGIN_NESTED = "nested"
    SUBTRANSACTION = "sub"


class TransactionBase:
    """The state of one transaction level, the links of the stack, and, for the
    type checker only, the methods one part calls on another."""

    session: TransactionHost
    nested: bool
    origin: SessionTransactionOrigin
    _parent: Self | None
    _state: TxState
    # bind (and the Connection itself) -> its entry; ``_released``: the same once
    # given back, for ``connections`` of an ended transaction
    _connections: dict[object, ConnEntry]
    _released: dict[object, ConnEntry]
    _rollback_exception: BaseException | None
    _failed_root: bool
    _savepoint_failed: bool
    _snapshot: TxSnapshot

    @property
    def parent(self) -> Self | None:
        return self._parent

    @property
    def is_active(self) -> bool:
        return self._state is ACTIVE

    @property
    def state(self) -> str:
        return self._state.value

    @property
    def _is_real(self) -> bool:
        """A root or a nested level: it has database transactions and a snapshot of
        its own (a subtransaction shares its parent's)."""
        return self._parent is None or self.nested

    @property
    def _ended(self) -> bool:
        """Committed, rolled back or closed (a DEACTIVE one still awaits rollback())."""
        return self._state is CLOSED or self._state is COMMITTED

    def _iterate_self_and_parents(self, upto: TransactionBase | None = None
                                  ) -> list[Self]:
        out = []
        cur: Self | None = self
        while cur is not None:
            out.append(cur)
            if cur is upto:
                break
            cur = cur._parent
        else:
            if upto is not None:
                raise InvalidRequestError(
                    "Can't end this transaction: it is not part of the session's current "
                    "transaction stack (it was already closed)"
                )
        return out

    def _root(self) -> Self:
        tx = self
        while tx._parent is not None:
            tx = tx._parent
        return tx

    def _nearest_real(self) -> Self:
        tx = self
        while not tx._is_real:
            assert tx._parent is not None
            tx = tx._parent
        return tx

    def _snapshots(self) -> list[TxSnapshot]:
        """The snapshots of this level and the ones it is inside, innermost first."""
        out: list[TxSnapshot] = []
        for tx in self._iterate_self_and_parents():
            if tx._is_real:
                out.append(tx._snapshot)
        return out

    def _merge_into_parent(self) -> None:
        """A SAVEPOINT level that ends without undoing its work (released, or
        discarded by a rollback of a level it is inside): what it recorded becomes
        its parent's to undo."""
        parent = self._parent
        if self.nested and parent is not None:
            self._snapshot.merge_into(parent._snapshot)

    def _restore_objects(self, dirty_only: bool) -> None:
        """Rollback: the session's objects as they were before this level began
        (``dirty_only``: a SAVEPOINT's, which expires only what changed inside it)."""
        self.session._objects_after_rollback(self._snapshot, dirty_only)
        self._snapshot.clear()

    def _assert_active(self, prepared_ok: bool = False, closed_msg: str | None = None) -> None:
        if self._state is COMMITTED:
            raise InvalidRequestError(
                "Can't use this transaction: it has been committed; begin a new one with "
                "session.begin() (or just keep using the session, which begins one itself)"
            )
        if self._state is PREPARED and not prepared_ok:
            raise InvalidRequestError(
                "Can't use this transaction: it has been prepared (two-phase) and accepts no "
                "more SQL; call commit() or rollback()"
            )
        if self._state is DEACTIVE:
            if self._rollback_exception is not None:
                raise PendingRollbackError(
                    "This Session's transaction has been rolled back due to a previous "
                    "exception (during flush, or one that ended the database transaction); "
                    "to begin a new transaction with this Session, first call "
                    f"session.rollback(). Original exception was: {self._rollback_exception}",
                    code="7s2a",
                )
            raise PendingRollbackError(
                "This Session's transaction is inactive: its database transaction was rolled "
                "back (e.g. by an inner rollback); call session.rollback() to close it "
                "and begin anew"
            )
        if self._state is CLOSED:
            raise ResourceClosedError(
                closed_msg or "Can't use this transaction: it is closed; use session.begin()"
            )

    def _assert_open(self, verb: str) -> None:
        if self._state is CLOSED:
            raise ResourceClosedError(
                f"Can't {verb} this transaction: it is already closed (committed, rolled back "
                "or closed); call session.commit() / session.rollback() to end the session's "
                "current transaction, or session.begin() to start a new one"
            )

    def _assert_innermost(self, verb: str) -> None:
        head = self.session._transaction
        if head is not self and head is not None:
            inner = "a SAVEPOINT (begin_nested())" if head.nested else \
                "a subtransaction (begin(subtransactions=True))"
            raise InvalidRequestError(
                f"Can't {verb} this transaction: {inner} begun inside it is still open; "
                "commit or roll back the inner transaction first (session.commit() and "
                "session.rollback() act on the innermost one)"
            )

    if TYPE_CHECKING:
        # transaction.py
        def close(self, invalidate: bool = False) -> None: ...
        def rollback(self, _capture_exception: BaseException | None = None
                     ) -> Self | None: ...
        # tx_binds.py
        def _unique_entries(self) -> list[ConnEntry]: ...
        def _release_connections(self, invalidate: bool = False) -> None: ...
        # tx_failure.py
        def _fail(self, exc: BaseException) -> None: ...
        def _rollback_impl(self) -> None: ...
