"""The Session's transaction control: ``begin``, ``begin_nested``, ``commit``,
``rollback``, ``prepare``, autobegin, and the questions about the current
transaction (``transaction``, ``get_transaction()``, ``in_transaction()``...).

Mixed into :class:`~datamapper.session.session.Session`.  This is the session side
of the seam with :class:`~datamapper.session.transaction.SessionTransaction`: what
it uses of a transaction beyond its public API is listed in
:class:`~datamapper.session.tx_base.TransactionSeam`.
"""

from __future__ import annotations

from ..exc import (
    InvalidRequestError,
)
from .base import SessionBase
from .ownership import exclusive
from .transaction import SessionTransaction


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
        while tx is not None and tx.parent is not None:
            tx = tx.parent
        return tx

    def get_nested_transaction(self) -> SessionTransaction | None:
        tx = self._transaction
        while tx is not None:
            if tx.nested:
                return tx
            tx = tx.parent
        return None

    def in_transaction(self) -> bool:
        return self._transaction is not None

    def in_nested_transaction(self) -> bool:
        return self.get_nested_transaction() is not None


    # -- transactions ---------------------------------------------------------------------
    def _autobegin(self) -> SessionTransaction:
        if self._transaction is None:
            if self._tx_blocks or self._closed:
                self._check_usable()
            if not self.autobegin:
                raise InvalidRequestError(
                    "Can't begin a transaction implicitly: autobegin is disabled on this "
                    "Session (autobegin=False); call session.begin() first"
                )
            self._transaction = SessionTransaction(self, origin="autobegin")
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
                self._transaction = SessionTransaction(self, current, origin="sub")
                return self._transaction
            if current._adopt_autobegun():
                return current
            raise InvalidRequestError(
                "Can't begin(): a transaction is already begun on this Session; commit or "
                "roll it back first, use begin(subtransactions=True) to nest inside it, or "
                "begin_nested() for a SAVEPOINT"
            )
        self._transaction = SessionTransaction(self, origin="sub" if _subtrans else "explicit")
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
                                               origin="nested")
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
            root.rollback()  # 2.x: the whole transaction, SAVEPOINTs included
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
