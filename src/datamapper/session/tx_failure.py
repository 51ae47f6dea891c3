"""Rolling back the connections of a
:class:`~datamapper.session.transaction.SessionTransaction` level, and the errors
after which nothing of the whole transaction may be committed: a COMMIT that failed
(its outcome may be unknown), a SAVEPOINT that could not be released or rolled back,
a MySQL/MariaDB deadlock or lock-wait timeout that ended the server's transaction,
a PostgreSQL transaction in the failed state.  Such a failure marks the root failed
(:meth:`TransactionFailure._fail`): every level is deactivated, the objects are
restored, the connections are given back, and only ``rollback()`` is left."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from ..exc import CommitOutcomeUnknownError
from .tx_base import ACTIVE, CLOSED, DEACTIVE, PREPARED, TransactionBase
from .tx_connections import (
    MYSQL_DEADLOCK,
    MYSQL_LOCK_WAIT_TIMEOUT,
    mysql_code,
    postgresql_aborted,
    rollback_dbapi,
    rollback_prepared,
    rolls_back_on_timeout,
)

if TYPE_CHECKING:
    from .transaction import TransactionHost


class TransactionFailure(TransactionBase):
    """Part of SessionTransaction: rollback of its connections, and failures."""

    def _rollback_impl(self) -> None:
        """Roll back every connection of this level; one that fails does not stop
        the others (on a root connection whose ROLLBACK failed, ROLLBACK goes
        straight to the DBAPI connection, and a connection of ours where that fails
        too is discarded, not returned to the pool); the first error is raised at
        the end.  ``_savepoint_failed`` tells whether a ROLLBACK TO SAVEPOINT of a
        nested level did not happen."""
        first: BaseException | None = None
        self._savepoint_failed = False
        try:
            for entry in self._unique_entries():
                if entry.trans is None or not entry.trans.is_active:
                    continue
                try:
                    entry.trans.rollback()
                    entry.ended = True
                except BaseException as e:
                    first = first or e
                    if self._parent is None:
                        if not entry.external and not entry.joined:
                            rollback_dbapi(entry)
                    else:
                        self._savepoint_failed = True
        finally:
            if self._is_real:
                self.session._fire("after_rollback", self.session)
        if first is not None:
            raise first

    def _fail(self, exc: BaseException) -> None:
        """The server ended this (root) transaction: mark every level failed, roll
        back what is left, restore the state from before it, release connections."""
        assert self._parent is None
        session = self.session
        head = session._transaction
        stack: Sequence[TransactionBase] = (
            head._iterate_self_and_parents(upto=self) if head is not None else [self])
        for tx in stack:
            tx._merge_into_parent()
            if tx._state is not CLOSED:
                tx._state = DEACTIVE
        self._failed_root = True
        self._rollback_exception = exc
        try:
            self._rollback_impl()
        except BaseException:  # the connection may be gone; it is released below
            pass
        self._restore_objects(dirty_only=False)
        self._release_connections()

    def _fail_root(self, exc: BaseException) -> None:
        """Fail the whole transaction this level is part of, unless already failed."""
        root = self._root()
        if not root._failed_root:
            root._fail(exc)

    def _commit_failed(self, e: BaseException, i: int, n: int) -> None:
        """COMMIT of connection ``i`` of ``n`` raised: mark this root failed, roll back
        on the database what the COMMIT left open (the connection may well be alive,
        e.g. SQLite's "database is locked", or a Core ``commit`` listener raised before
        COMMIT was sent), give the connections back, and raise."""
        prepared = self._state is PREPARED and self.session.twophase
        lost = isinstance(e, DBAPIError) and bool(e.connection_invalidated)
        self._state = DEACTIVE
        self._failed_root = True
        self._rollback_exception = e
        if prepared and i == 0 and not lost:
            # two-phase, nothing committed yet and the first COMMIT PREPARED known
            # to have failed: abort everywhere, leaving no prepared transaction
            for entry in self._unique_entries():
                if not entry.external:
                    rollback_prepared(entry)
        self._release_connections()
        if isinstance(e, Exception) and (lost or i):
            orig = e.orig if isinstance(e, DBAPIError) else e
            done = (f"{i} of its {n} connections committed before this one"
                    if i else "no other connection of it had committed")
            what = ("The connection was lost while COMMIT was in flight: the "
                    "database may or may not have committed this transaction"
                    if lost else "COMMIT failed on one of several databases")
            unknown = CommitOutcomeUnknownError(
                f"{what} ({done}); the outcome is unknown. datamapper will not "
                "retry the COMMIT or replay the flush; check the data, then call "
                f"session.rollback() to go on. Original error: {orig}",
                orig)
            self._rollback_exception = unknown
            raise unknown from e
        raise e

    # -- errors of statements run inside this transaction ---------------------------------
    def _statement_failed(self, conn: Connection, exc: DBAPIError) -> None:
        """A statement the session ran on ``conn`` failed.  If the server has ended
        the whole transaction (MariaDB deadlock; PostgreSQL error outside a
        SAVEPOINT), fail the root so nothing can commit half of it; if only the
        SAVEPOINT is aborted (PostgreSQL), the savepoint awaits its rollback."""
        root = self._root()
        if root._failed_root or root._state is CLOSED:
            return
        if is_transaction_killer(self.session, exc):
            root._fail(exc)
            return
        if not postgresql_aborted(conn):
            return
        nested = self
        while not nested.nested:
            if nested.parent is None:
                root._fail(exc)
                return
            nested = nested.parent
        for tx in self._iterate_self_and_parents(upto=nested):
            if tx._state is ACTIVE:
                tx._state = DEACTIVE
        nested._rollback_exception = exc
        # the database already discarded the savepoint's work: roll it back now so
        # the outer transaction stays usable, and wait for session.rollback()
        try:
            nested._rollback_impl()
        except BaseException:
            root._fail(exc)


def is_transaction_killer(session: TransactionHost, exc: BaseException) -> bool:
    """True for errors after which a MySQL/MariaDB server has ended the whole
    transaction, savepoints included: a deadlock (1213) always, a lock-wait
    timeout (1205) when the server runs with ``innodb_rollback_on_timeout``."""
    code = mysql_code(exc)
    if code not in (MYSQL_DEADLOCK, MYSQL_LOCK_WAIT_TIMEOUT):
        return False
    root = session.get_transaction()
    if root is None:
        return False
    for entry in root._unique_entries():
        if entry.conn.dialect.name not in ("mysql", "mariadb"):
            continue
        if code == MYSQL_DEADLOCK:
            return True
        if not entry.conn.invalidated and rolls_back_on_timeout(entry.conn):
            return True
    return False
