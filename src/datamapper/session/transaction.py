"""``SessionTransaction``: the session's transaction stack as a state machine.

States: ACTIVE -> PREPARED -> COMMITTED -> CLOSED, or ACTIVE -> DEACTIVE
(rolled back underneath, waiting for ``rollback()``) -> CLOSED.  Three kinds:
a *root* (owns real database transactions), a *subtransaction* (a marker
that shares its parent's connections and snapshot) and a *nested* one (a
SAVEPOINT on every connection in use).  Root and nested transactions keep a
snapshot (:mod:`.tx_snapshot`) of the objects made pending/persistent, deleted
or re-keyed inside them, so that rolling back restores exactly the documented
state.

This module holds the state machine (begin, prepare, commit, rollback, close);
the class is assembled from parts listed in :mod:`.tx_base`.  The seam with the
Session: :class:`TransactionHost` here (what a transaction uses of its Session:
settings, the stack head ``_transaction`` and ``_tx_blocks``, ``_fire``,
``_flushing``/``_flush_before_commit``, ``_objects_after_rollback`` /
``_objects_after_commit``),
and ``tx_control.TransactionSeam`` (what the Session uses of a transaction).
These modules are the only place that begins, commits or rolls back Core
connections (with ``tx_connections.py``, the steps on one connection).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.exc import DBAPIError, InvalidRequestError

from .tx_base import (
    ACTIVE,
    CLOSED,
    COMMITTED,
    DEACTIVE,
    PREPARED,
    SessionTransactionOrigin,
    TxState,
)
from .tx_binds import TransactionConnections
from .tx_failure import TransactionFailure, is_transaction_killer
from .tx_snapshot import TxSnapshot


class TransactionHost(Protocol):
    """Everything a :class:`SessionTransaction` uses of its Session (the parts
    in ``tx_*.py`` too).  Implemented by :class:`~datamapper.session.session.Session`
    (checked in session.py)."""

    twophase: bool
    join_transaction_mode: str
    @property
    def execution_options(self) -> Mapping[str, Any]: ...
    # the innermost transaction: a transaction makes itself the head when it begins
    # and hands the head back to its parent when it ends
    _transaction: SessionTransaction | None
    # transactions whose ``with`` block is open (see SessionTransaction.__enter__)
    _tx_blocks: list[SessionTransaction]
    # a flush is running: a commit inside it (its subtransaction's) flushes nothing
    _flushing: bool

    def _fire(self, name: str, *args: object) -> None: ...
    def get_bind(self, mapper: object = None, **kw: object) -> Any: ...
    def get_transaction(self) -> SessionTransaction | None: ...
    # before COMMIT (or PREPARE): flush until nothing is left to write
    def _flush_before_commit(self) -> None: ...
    # what the end of a transaction does to the session's objects (session/tx_objects.py)
    def _objects_after_rollback(self, snapshot: TxSnapshot, dirty_only: bool) -> None: ...
    def _objects_after_commit(self, snapshot: TxSnapshot) -> None: ...


class SessionTransaction(TransactionFailure, TransactionConnections):
    """One level of a Session's transaction stack.

    Besides the public API, the Session uses what
    :class:`~datamapper.session.tx_control.TransactionSeam` lists; what the
    transaction uses of the Session is :class:`TransactionHost`.
    """

    def __init__(
        self,
        session: TransactionHost,
        parent: Self | None = None,
        nested: bool = False,
        *,
        origin: SessionTransactionOrigin = SessionTransactionOrigin.BEGIN,
    ) -> None:
        self.session = session
        self._parent = parent
        self.nested = nested
        self.origin = origin
        self._state = ACTIVE
        self._connections = {}
        self._released = {}  # _connections once given back
        self._rollback_exception = None
        self._failed_root = False
        self._savepoint_failed = False
        if parent is not None and parent._state is not ACTIVE:
            parent._assert_active()
        if parent is None or nested:
            self._snapshot = TxSnapshot(records_dirty=nested)
        else:
            self._snapshot = parent._snapshot
        if nested and parent is not None:
            # a SAVEPOINT on every connection already in use
            for bind in list(parent._iter_binds()):
                self._connection_for_bind(bind)
        # the session's current transaction already while listeners run, so that SQL
        # they send goes into it instead of beginning another
        previous = session._transaction
        session._transaction = self
        try:
            session._fire("after_transaction_create", session, self)
        except BaseException:
            session._transaction = previous
            raise

    # -- prepare / commit ----------------------------------------------------------------
    def prepare(self) -> None:
        self._assert_open("prepare")
        if self._parent is not None or not self.session.twophase:
            raise InvalidRequestError(
                "Can't prepare(): only a root transaction of a Session(twophase=True) can be "
                "prepared; create the Session with twophase=True, or just call commit()"
            )
        self._assert_innermost("prepare")
        self._prepare_impl()

    def _prepare_impl(self) -> None:
        self._assert_active()
        session = self.session
        if self._is_real:
            session._fire("before_commit", session)
        if not session._flushing:
            session._flush_before_commit()
        if self._parent is None and session.twophase:
            try:
                for entry in self._unique_entries():
                    if not entry.external:
                        entry.trans.prepare()
            except BaseException:
                # roll every database back (prepared ones with ROLLBACK PREPARED /
                # XA ROLLBACK); the prepare error is the one to report
                try:
                    self.rollback()
                except BaseException:
                    pass
                raise
        self._state = PREPARED

    def commit(self) -> SessionTransaction | None:
        self._assert_open("commit")
        self._assert_innermost("commit")
        self._assert_active(prepared_ok=True)
        if self._state is not PREPARED:
            self._prepare_impl()
        if self._is_real:
            self._commit_connections()
            self._state = COMMITTED
            try:
                self.session._fire("after_commit", self.session)
            finally:
                # the database has committed: a failing after_commit handler must
                # not leave the session holding the snapshot (a later rollback()
                # would expunge committed objects) or the connections
                if self._parent is None:
                    self.session._objects_after_commit(self._snapshot)
                    self._snapshot.clear()
                else:
                    self._merge_into_parent()
                self.close()
            return self._parent
        self.close()
        return self._parent

    def _commit_connections(self) -> None:
        entries = [e for e in self._unique_entries() if not e.external]
        for i, entry in enumerate(entries):
            try:
                entry.trans.commit()
            except BaseException as e:
                if self._parent is not None:
                    # RELEASE SAVEPOINT did not happen: Core has given up on the
                    # savepoint, so its work can no longer be rolled back apart from
                    # the rest; the whole transaction fails
                    self._fail_root(e)
                    raise
                self._commit_failed(e, i, len(entries))
            entry.ended = True

    # -- rollback ------------------------------------------------------------------------
    def rollback(self, _capture_exception: BaseException | None = None
                 ) -> SessionTransaction | None:
        self._assert_open("roll back")
        session = self.session
        killer: BaseException | None = None
        if _capture_exception is not None and is_transaction_killer(session,
                                                                    _capture_exception):
            killer = _capture_exception
        self._discard_children()
        boundary = self._nearest_real()
        rollback_err: BaseException | None = None
        if self._state in (ACTIVE, PREPARED):
            for tx in self._iterate_self_and_parents(upto=boundary):
                tx._state = DEACTIVE
            try:
                boundary._rollback_impl()
            except BaseException as e:
                if boundary.nested and boundary._savepoint_failed:
                    # ROLLBACK TO SAVEPOINT did not happen: the server ended the whole
                    # transaction (MariaDB after a deadlock), the connection is lost,
                    # or a Core listener raised; the savepoint's work can't be undone
                    # apart from the rest, so the whole transaction fails
                    killer = killer or _capture_exception or e
                    if not isinstance(e, DBAPIError):
                        rollback_err = e
                else:
                    rollback_err = e
        root = self._root()
        if killer is not None and not root._failed_root:
            self._fail_root(killer)
        else:
            # (after a failure this also discards what was added since)
            session._objects_after_rollback(boundary._snapshot,
                                            boundary.nested and not root._failed_root)
            boundary._snapshot.clear()
            if boundary is root and boundary is not self:
                # the whole transaction is gone: give its connections back now
                root._release_connections()
        self.close()
        parent = self._parent
        if parent is not None and _capture_exception is not None and \
                parent._rollback_exception is None:
            parent._rollback_exception = _capture_exception
        session._fire("after_soft_rollback", session, self)
        if rollback_err is not None:
            raise rollback_err
        return parent

    def _discard_children(self) -> None:
        """Close the transactions begun inside this one (innermost first); what
        their savepoints recorded becomes this transaction's to restore."""
        head = self.session._transaction
        if head is None or head is self:
            return
        for sub in head._iterate_self_and_parents(upto=self):
            if sub is self:
                break
            sub._merge_into_parent()
            sub.close()

    # -- close ---------------------------------------------------------------------------
    def close(self, invalidate: bool = False) -> None:
        session = self.session
        if self._state is CLOSED:
            return
        try:
            if self._parent is None:
                self._release_connections(invalidate)
            elif self.nested and self._state is not COMMITTED:
                failed: BaseException | None = None
                for entry in reversed(self._unique_entries()):
                    if entry.trans is not None and entry.trans.is_active:
                        try:
                            entry.trans.rollback()
                        except BaseException as e:
                            # the savepoint's work stays in the database transaction
                            failed = failed or e
                if failed is not None:
                    if self._root()._state is not CLOSED:
                        self._fail_root(failed)
                    if not isinstance(failed, Exception):
                        raise failed
        finally:
            was_active = self._state
            self._state = CLOSED
            if session._transaction is self:
                session._transaction = self._parent
            if was_active is not CLOSED:
                session._fire("after_transaction_end", session, self)

    def _close_stack(self, invalidate: bool = False) -> None:
        """Session.close()/reset()/invalidate(): close this level and every level
        it is inside, innermost first."""
        for tx in self._iterate_self_and_parents():
            tx.close(invalidate)

    def _adopt_autobegun(self) -> bool:
        """Session.begin() while an autobegun root is open and has not connected
        yet: that transaction becomes the explicit one (True), instead of an error."""
        if (self._parent is None and self.origin is SessionTransactionOrigin.AUTOBEGIN
                and not self._connections and self._state is ACTIVE):
            self.origin = SessionTransactionOrigin.BEGIN
            return True
        return False

    # -- context manager -----------------------------------------------------------------
    # Inside ``with session.begin():`` (or ``begin_nested()``) the block owns its
    # transaction: once that is committed or rolled back inside the block, the
    # session refuses work until the block ends (see Session._check_tx_blocks),
    # since a new transaction begun there would never be committed by the block.
    def __enter__(self) -> SessionTransaction:
        self.session._tx_blocks.append(self)
        return self

    def __exit__(self, type_: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._state is CLOSED:
                return
            if type_ is None:
                try:
                    self.commit()
                except BaseException:
                    if self._state is not CLOSED:
                        self.rollback()
                    raise
            else:
                self.rollback()
        finally:
            blocks = self.session._tx_blocks
            if blocks and blocks[-1] is self:
                blocks.pop()
            elif self in blocks:
                blocks.remove(self)

    def __repr__(self) -> str:
        kind = "nested" if self.nested else ("root" if self._parent is None else "sub")
        return f"<SessionTransaction {kind} {self._state.value}>"


__all__ = ["ACTIVE", "CLOSED", "COMMITTED", "DEACTIVE", "PREPARED", "SessionTransaction",
           "TransactionHost", "TxState"]
