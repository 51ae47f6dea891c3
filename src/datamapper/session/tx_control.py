"""The Session's transaction control: ``begin``, ``begin_nested``, ``commit``,
``rollback``, ``prepare``, autobegin, and the questions about the current
transaction (``transaction``, ``get_transaction()``, ``in_transaction()``...).

Mixed into :class:`~datamapper.session.session.Session`.  This is the session side
of the seam with :class:`~datamapper.session.transaction.SessionTransaction`: what
it uses of a transaction beyond its public API is listed in
:class:`TransactionSeam` (declared here, the module that uses most of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from ..exc import InvalidRequestError
from .base import SessionBase
from .ownership import exclusive
from .transaction import SessionTransaction
from .tx_base import CLOSED, SessionTransactionOrigin
from .tx_snapshot import TxSnapshot


class TransactionSeam(Protocol):
    """What a Session uses of a transaction besides its public API (``commit``,
    ``rollback``, ``close``, ``prepare``, ``connection``, ``parent``, ``nested``,
    ``origin``, ``is_active``); implemented by :class:`SessionTransaction`
    (checked below).  Used here (the other parts go through ``_begin_write``,
    ``_check_writable``, ``_statement_error`` and ``_close_transactions``), and
    directly by ``binds.py``, ``flushing.py``, ``bulk.py`` and ``tx_objects.py``."""

    # the flushes of this level are recorded there (shared with subtransactions)
    _snapshot: TxSnapshot
    # the server ended the whole transaction: only rollback() is left
    _failed_root: bool

    @property
    def _parent(self) -> SessionTransaction | None: ...

    @property
    def _ended(self) -> bool: ...
    def _assert_active(self, prepared_ok: bool = False,
                       closed_msg: str | None = None) -> None: ...
    def _snapshots(self) -> list[TxSnapshot]: ...
    def _connection_for_bind(self, bind: object, execution_options: object = None
                             ) -> Connection: ...
    def _statement_failed(self, conn: Connection, exc: DBAPIError) -> None: ...
    def _adopt_autobegun(self) -> bool: ...
    def _close_stack(self, invalidate: bool = False) -> None: ...


if TYPE_CHECKING:
    def _implements_seam(tx: SessionTransaction) -> TransactionSeam:
        return tx  # the type checker verifies that SessionTransaction implements the seam


class SessionTxControl(SessionBase):
    """Begin, commit, roll back; the current transaction."""

    @property
    def is_active(self) -> bool:
        if self._transaction is None:
            # autocommit: "transaction mode" only inside begin() (seed 002)
            return not self.autocommit
        return self._transaction.is_active

    @property
    def transaction(self) -> SessionTransaction | None:
        """The innermost transaction (begun on access unless ``autocommit``)."""
        if self._transaction is None and not self.autocommit and self.autobegin:
            self._autobegin()
        return self._transaction

    def get_transaction(self) -> SessionTransaction | None:
        tx = self._transaction
        while tx is not None and tx._parent is not None:
            tx = tx._parent
        return tx

    def get_nested_transaction(self) -> SessionTransaction | None:
        tx = self._transaction
        while tx is not None:
            if tx.nested:
                return tx
            tx = tx._parent
        return None

    def in_transaction(self) -> bool:
        return self._transaction is not None

    def in_nested_transaction(self) -> bool:
        return self.get_nested_transaction() is not None


    # -- transactions ---------------------------------------------------------------------
    def _check_writable(self) -> None:
        """Before a write the session runs itself (a bulk save): refuse it in a
        closed session or block, or while the transaction awaits rollback()."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        tx = self._transaction
        if tx is not None and not tx.is_active:
            tx._assert_active()

    def _begin_write(self) -> SessionTransaction:
        """The subtransaction a flush or bulk save runs in (autobegun root first);
        its failure rolls back the transaction it is inside."""
        if self._transaction is None and not self.autocommit:
            self._autobegin()
        return self.begin(_subtrans=True)

    def _close_transactions(self, invalidate: bool = False) -> None:
        """close()/reset()/invalidate(): every level ends, rolling back; objects
        whose DELETE was flushed in it leave as plain detached objects."""
        tx = self._transaction
        if tx is not None:
            self._detach_flushed_deleted(tx)
            tx._close_stack(invalidate)

    def _statement_error(self, conn: Connection, exc: DBAPIError) -> None:
        """A statement the session ran on ``conn`` failed: the transaction decides
        whether the database ended it (``SessionTransaction._statement_failed``)."""
        tx = self._transaction
        if tx is not None:
            tx._statement_failed(conn, exc)

    def _autobegin(self) -> SessionTransaction:
        if self._transaction is None:
            if self._tx_blocks or self._closed:
                self._check_usable()
            if not self.autobegin:
                raise InvalidRequestError(
                    "Can't begin a transaction implicitly: autobegin is disabled on this "
                    "Session (autobegin=False); call session.begin() first"
                )
            self._transaction = SessionTransaction(self, origin=SessionTransactionOrigin.AUTOBEGIN)
        return self._transaction

    def _check_usable(self) -> None:
        """Refuse work in a session closed for good (``close_resets_only=False``),
        and inside a ``with session.begin()`` / ``begin_nested()`` block whose
        transaction was already committed or rolled back inside it."""
        if self._closed:
            raise InvalidRequestError(
                "Can't use this Session: it was closed, and it was created with "
                "close_resets_only=False, which makes close() final; create a new "
                "Session (or call reset() instead of close() to clear one for reuse)"
            )
        for tx in self._tx_blocks:
            if tx._ended:
                what = "begin_nested()" if tx.nested else "begin()"
                raise InvalidRequestError(
                    "Can't operate on a closed transaction inside this context manager: "
                    f"the transaction of this 'with session.{what}' block was already "
                    "committed or rolled back inside the block, so work done now would "
                    "not be part of it; let the 'with' block end first, then go on (or "
                    "begin a new one)"
                )

    @exclusive
    def begin(self, subtransactions: bool = False, nested: bool = False,
              _subtrans: bool = False) -> SessionTransaction:
        """Begin a transaction (or, with ``subtransactions=True``, a nested marker)."""
        if nested:
            return self.begin_nested()
        if self._tx_blocks or self._closed:
            self._check_usable()
        current = self._transaction
        if current is not None:
            if subtransactions or _subtrans:
                current._assert_active()
                self._transaction = SessionTransaction(self, current, origin=SessionTransactionOrigin.SUBTRANSACTION)
                return self._transaction
            if current._adopt_autobegun():
                return current
            raise InvalidRequestError(
                "Can't begin(): a transaction is already begun on this Session; commit or "
                "roll it back first, use begin(subtransactions=True) to nest inside it, or "
                "begin_nested() for a SAVEPOINT"
            )
        self._transaction = SessionTransaction(
            self, origin=SessionTransactionOrigin.SUBTRANSACTION if _subtrans
            else SessionTransactionOrigin.BEGIN)
        return self._transaction

    @exclusive
    def begin_nested(self) -> SessionTransaction:
        """Flush, then emit SAVEPOINT on every connection in use."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        if self._transaction is None:
            if self.autocommit:
                raise InvalidRequestError(
                    "Can't begin_nested(): no transaction is begun in this autocommit Session; "
                    "call session.begin() first"
                )
            self._autobegin()
        assert self._transaction is not None
        self._transaction._assert_active()
        self.flush()
        self._transaction = SessionTransaction(self, self._transaction, nested=True,
                                               origin=SessionTransactionOrigin.BEGIN_NESTED)
        return self._transaction

    @exclusive
    def commit(self) -> None:
        """Flush, commit the innermost real transaction, expire (root, ``expire_on_commit``)."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        if self._transaction is None:
            if self.autocommit:
                raise InvalidRequestError(
                    "Can't commit(): no transaction is begun in this autocommit Session; "
                    "call session.begin() first (or just flush())"
                )
            self._autobegin()
        assert self._transaction is not None
        self._transaction.commit()

    @exclusive
    def rollback(self) -> None:
        """Roll back the innermost transaction (a SAVEPOINT after begin_nested())."""
        if self._transaction is None:
            # nothing begun: add(), delete() and attribute changes all autobegin,
            # so there is nothing to undo
            return
        root = self.get_transaction()
        if root is not None and self.future:
            # 2.x: the whole transaction, SAVEPOINTs included, each rolled back in turn
            # from the innermost (so each fires after_rollback and after_soft_rollback,
            # as in SQLAlchemy); then the root, also when a SAVEPOINT's rollback failed
            try:
                while (tx := self._transaction) is not None and tx is not root \
                        and tx.nested and not root._failed_root:
                    tx.rollback()
            finally:
                if root._state is not CLOSED:
                    root.rollback()
            return
        if root is not None and root._failed_root:
            # the server ended the whole transaction: nothing inside it is left to keep
            root.rollback()
            return
        self._transaction.rollback()

    @exclusive
    def prepare(self) -> None:
        tx = self._transaction
        if tx is None:
            if self.autocommit:
                raise InvalidRequestError("Can't prepare(): no transaction is begun")
            tx = self._autobegin()
        if not self.twophase or tx.parent is not None:
            raise InvalidRequestError(
                "Can't prepare(): only a root transaction of a Session(twophase=True) can be "
                "prepared; create the Session with twophase=True, or just call commit()"
            )
        tx.prepare()
