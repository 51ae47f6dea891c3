"""``SessionTransaction``: the session's transaction stack as a state machine.

States: ACTIVE -> PREPARED -> COMMITTED -> CLOSED, or ACTIVE -> DEACTIVE
(rolled back underneath, waiting for ``rollback()``) -> CLOSED.  Three kinds:
a *root* (owns real database transactions), a *subtransaction* (a marker
that shares its parent's connections and snapshot) and a *nested* one (a
SAVEPOINT on every connection in use).  Root and nested transactions keep a
snapshot of the objects made pending/persistent, deleted or re-keyed inside
them, so that rolling back restores exactly the documented state.

This is the only place that begins, commits or rolls back Core connections
(with ``tx_connections.py``, the steps on one connection).
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import (
    DBAPIError,
    InvalidRequestError,
    PendingRollbackError,
    ResourceClosedError,
    SAWarning,
)

from ..exc import CommitOutcomeUnknownError, FlushError
from ..instance.identity import IdentityMap
from ..instance.state import InstanceState, expire_states
from .tx_connections import (
    MYSQL_DEADLOCK,
    MYSQL_LOCK_WAIT_TIMEOUT,
    ConnEntry,
    end_transaction,
    join_transaction,
    mysql_code,
    postgresql_aborted,
    rollback_dbapi,
    rollback_prepared,
    rolls_back_on_timeout,
)


class TxState(enum.Enum):
    ACTIVE = "active"
    PREPARED = "prepared"
    COMMITTED = "committed"
    DEACTIVE = "deactive"
    CLOSED = "closed"


ACTIVE, PREPARED, COMMITTED, DEACTIVE, CLOSED = (
    TxState.ACTIVE, TxState.PREPARED, TxState.COMMITTED, TxState.DEACTIVE, TxState.CLOSED)



class TransactionHost(Protocol):
    """Everything a :class:`SessionTransaction` uses of its Session: the interface
    between the two (the other direction is listed in :class:`SessionTransaction`'s
    docstring).  Implemented by :class:`~datamapper.session.session.Session`."""

    hash_key: int
    twophase: bool
    expire_on_commit: bool
    join_transaction_mode: str
    execution_options: dict[str, Any]
    # the innermost transaction; a transaction that ends pops itself off
    _transaction: SessionTransaction | None
    # transactions whose ``with`` block is open (see SessionTransaction.__enter__)
    _tx_blocks: list[SessionTransaction]
    _flushing: bool
    _identity_map: IdentityMap
    _new: dict[InstanceState, Any]
    _deleted: dict[InstanceState, Any]

    def _fire(self, name: str, *args: Any) -> None: ...
    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any: ...
    def get_transaction(self) -> SessionTransaction | None: ...
    def flush(self, objects: Any = None) -> None: ...
    def _is_clean(self) -> bool: ...
    # rollback: pending objects leave, deleted ones come back
    def _expunge_state(self, state: InstanceState, to_transient: bool = False) -> None: ...
    def _restore_deleted(self, state: InstanceState, obj: Any) -> None: ...
    # commit: objects whose DELETE was flushed leave the session
    def _detach_deleted_all(self, states: list[InstanceState]) -> None: ...


class SessionTransaction:
    """One level of a Session's transaction stack.

    Besides the public API, the Session uses: the stack links (``_parent``,
    ``_iterate_self_and_parents``, ``_state``, ``_ended``, ``_failed_root``,
    ``_assert_active``), the connections (``_connection_for_bind``,
    ``_connections``, ``_unique_entries``, ``_statement_failed``) and the
    rollback snapshot it records flushes into (``_new``, ``_dirty``, ``_deleted``,
    ``_key_switches``).  What the transaction uses of the Session is
    :class:`TransactionHost`.
    """

    def __init__(
        self,
        session: TransactionHost,
        parent: SessionTransaction | None = None,
        nested: bool = False,
        *,
        origin: str = "explicit",
    ) -> None:
        self.session = session
        self._parent = parent
        self.nested = nested
        self.origin = origin
        self._state = ACTIVE
        self._connections: dict[Any, ConnEntry] = {}
        self._released: dict[Any, ConnEntry] = {}  # _connections once given back
        self._rollback_exception: BaseException | None = None
        self._failed_root = False
        self._savepoint_failed = False
        if parent is not None and parent._state is not ACTIVE:
            parent._assert_active()
        if parent is None or nested:
            self._new: dict[InstanceState, Any] = {}
            self._deleted: dict[InstanceState, Any] = {}
            self._dirty: dict[InstanceState, Any] = {}
            self._key_switches: dict[InstanceState, tuple[Any, Any]] = {}
        else:
            self._new = parent._new
            self._deleted = parent._deleted
            self._dirty = parent._dirty
            self._key_switches = parent._key_switches
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

    # -- introspection -------------------------------------------------------------
    @property
    def parent(self) -> SessionTransaction | None:
        return self._parent

    @property
    def is_active(self) -> bool:
        return self._state is ACTIVE

    @property
    def state(self) -> str:
        return self._state.value

    @property
    def _is_real(self) -> bool:
        return self._parent is None or self.nested

    @property
    def connections(self) -> frozenset[Connection]:
        """The Connections this transaction level has used (a subtransaction: its
        parent's); after the transaction ends, the ones it had."""
        if self._parent is not None and not self.nested:
            return self._parent.connections
        return frozenset(e.conn for e in self._entries_seen().values())

    def bound_connection(self, bind_key: Any = None) -> Connection:
        """The Connection this transaction level uses for ``bind_key`` (a mapped class
        or Mapper; by default the session's bind), as ``Session.get_bind()`` resolves
        it."""
        if self._parent is not None and not self.nested:
            return self._parent.bound_connection(bind_key)
        bind = self.session.get_bind(bind_key)
        entry = self._entries_seen().get(bind)
        if entry is None:
            what = f"{bind_key!r}" if bind_key is not None else "the session's bind"
            raise InvalidRequestError(
                f"Can't return the connection for {what}: this transaction has not acquired "
                "a connection for its bind yet; call session.connection() for it first"
            )
        return entry.conn

    def _entries_seen(self) -> dict[Any, ConnEntry]:
        return self._connections or self._released


    def _iter_binds(self) -> Iterator[Any]:
        for e in self._unique_entries():
            yield e.bind

    def _iterate_self_and_parents(self, upto: SessionTransaction | None = None
                                  ) -> list[SessionTransaction]:
        out = []
        cur: SessionTransaction | None = self
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

    # -- connections -------------------------------------------------------------------
    def _connection_for_bind(self, bind: Any, execution_options: Any = None) -> Connection:
        entry = self._connections.get(bind)
        if entry is not None:
            self._assert_active()
            if execution_options:
                warnings.warn(
                    "Connection is already established for the given bind; execution_options "
                    f"ignored ({sorted(execution_options)}): options given to connection() "
                    "apply only when the transaction first connects to a bind",
                    SAWarning, stacklevel=3)
            return entry.conn
        self._assert_active()
        session = self.session
        if self._parent is not None:
            conn = self._parent._connection_for_bind(bind, execution_options)
            if not self.nested:
                return conn
            trans: Any = conn.begin_nested()
            entry = ConnEntry(conn, trans, False, False)
        else:
            external = False
            joined = False
            if isinstance(bind, Connection):
                conn = bind
                if session.execution_options or execution_options:
                    # as for a connection of our own: the session's options (and the
                    # caller's) apply to what it runs there, flushes included; Core sets
                    # them on the Connection itself, for its lifetime
                    conn = conn.execution_options(**{**session.execution_options,
                                                     **(execution_options or {})})
                if conn.in_transaction():
                    trans, external = join_transaction(conn, session.join_transaction_mode)
                    joined = True
                else:
                    trans = conn.begin_twophase() if session.twophase else conn.begin()
                close_conn = False
            elif isinstance(bind, Engine) or callable(getattr(bind, "connect", None)):
                # (anything else with connect() is taken as an Engine: test doubles,
                # engine proxies)
                conn = bind.connect()
                if session.execution_options:
                    execution_options = {**session.execution_options,
                                         **(execution_options or {})}
                if execution_options:
                    conn = conn.execution_options(**execution_options)
                try:
                    if conn.in_transaction():
                        # an engine_connect listener began one on this new connection: the
                        # session owns the connection, so it takes that transaction over
                        trans = conn.get_transaction()
                    else:
                        trans = conn.begin_twophase() if session.twophase else conn.begin()
                except NotImplementedError:
                    conn.close()
                    raise InvalidRequestError(
                        f"Can't begin a two-phase transaction on {conn.dialect.name}: the "
                        "database has no two-phase commit; create the Session with "
                        "twophase=False (or bind these classes to a PostgreSQL or MySQL/"
                        "MariaDB database)"
                    ) from None
                except BaseException:
                    conn.close()
                    raise
                close_conn = True
            else:
                raise InvalidRequestError(
                    f"Can't use bind {bind!r}: a Session binds to an Engine or a Connection"
                )
            entry = ConnEntry(conn, trans, close_conn, external)
            entry.joined = joined
        entry.bind = bind
        self._connections[bind] = entry
        if bind is not entry.conn:
            self._connections[entry.conn] = entry
        elif isinstance(bind, Connection):
            # a bind that is this connection's Engine (binds={...}) uses it too
            self._connections.setdefault(bind.engine, entry)
        session._fire("after_begin", session, self, entry.conn)
        return entry.conn

    def connection(self, bindkey: Any = None, execution_options: Any = None,
                   **kwargs: Any) -> Connection:
        """The Connection of this transaction for the bind of ``bindkey`` (a mapped
        class or Mapper, as ``Session.get_bind()`` resolves it; other keyword
        arguments go to ``get_bind()`` too), begun on first use."""
        self._assert_active()
        bind = self.session.get_bind(bindkey, **kwargs)
        return self._connection_for_bind(bind, execution_options)

    # -- prepare / commit ----------------------------------------------------------------
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
            for _ in range(100):
                if session._is_clean():
                    break
                session.flush()
            else:
                raise FlushError(
                    "Can't commit: 100 flushes in a row each left new changes behind (a flush "
                    "event handler, such as after_flush_postexec, keeps adding, changing or "
                    "deleting objects); make those changes in before_flush, or stop making them"
                )
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
                self._remove_snapshot()
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
                    root = self._root()
                    if not root._failed_root:
                        root._fail(e)
                    raise
                self._commit_failed(e, i, len(entries))
            entry.ended = True

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

    def _unique_entries(self) -> list[ConnEntry]:
        seen: list[ConnEntry] = []
        for e in self._connections.values():
            if all(e is not s for s in seen):
                seen.append(e)
        return seen

    def _root(self) -> SessionTransaction:
        tx = self
        while tx._parent is not None:
            tx = tx._parent
        return tx

    # -- rollback ------------------------------------------------------------------------
    def rollback(self, _capture_exception: BaseException | None = None
                 ) -> SessionTransaction | None:
        self._assert_open("roll back")
        session = self.session
        killer: BaseException | None = None
        if _capture_exception is not None and _is_transaction_killer(session,
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
            root._fail(killer)
        else:
            # (after a failure this also discards what was added since)
            boundary._restore_snapshot(dirty_only=boundary.nested and not root._failed_root)
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

    def _nearest_real(self) -> SessionTransaction:
        tx: SessionTransaction = self
        while not tx._is_real:
            assert tx._parent is not None
            tx = tx._parent
        return tx

    def _discard_children(self) -> None:
        """Close the transactions begun inside this one (innermost first); what
        their savepoints recorded becomes this transaction's to restore."""
        head = self.session._transaction
        if head is None or head is self:
            return
        for sub in head._iterate_self_and_parents(upto=self):
            if sub is self:
                break
            if sub.nested and sub._parent is not None:
                sub._merge_snapshot_into(sub._parent)
            sub.close()

    def _fail(self, exc: BaseException) -> None:
        """The server ended this (root) transaction: mark every level failed, roll
        back what is left, restore the state from before it, release connections."""
        assert self._parent is None
        session = self.session
        head = session._transaction
        stack = head._iterate_self_and_parents(upto=self) if head is not None else [self]
        for tx in stack:
            if tx.nested and tx._parent is not None:
                tx._merge_snapshot_into(tx._parent)
            if tx._state is not CLOSED:
                tx._state = DEACTIVE
        self._failed_root = True
        self._rollback_exception = exc
        try:
            self._rollback_impl()
        except BaseException:  # the connection may be gone; it is released below
            pass
        self._restore_snapshot(dirty_only=False)
        self._release_connections()

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

    def _merge_snapshot_into(self, other: SessionTransaction) -> None:
        other._new.update(self._new)
        other._deleted.update(self._deleted)
        other._dirty.update(self._dirty)
        for state, keys in self._key_switches.items():
            other._key_switches.setdefault(state, keys)

    def _restore_snapshot(self, dirty_only: bool = False) -> None:
        session = self.session
        imap = session._identity_map
        sid = session.hash_key
        for state in list(dict.fromkeys(list(self._new) + list(session._new))):
            # inserted (or added) in the rolled-back transaction: transient again,
            # also when it was expunged since; one now in another session is left
            if state.session_id == sid:
                session._expunge_state(state, to_transient=True)
            elif state.session_id is not None:
                continue
            state.key = None
            state._deleted = False
        for state, (old_key, _new_key) in self._key_switches.items():
            imap.discard(state)
            state.key = old_key
            obj = state.obj()
            if obj is not None and state not in self._deleted:
                imap.add(state, obj)
        restored = list(dict.fromkeys(list(self._deleted) + list(session._deleted)))
        for state in restored:
            session._restore_deleted(state, self._deleted.get(state) or session._deleted.get(state))
        if dirty_only:
            # an object deleted inside the SAVEPOINT was changed inside it too (its
            # collections may have lost members): it reloads like the dirty ones
            for state in restored:
                state.expire()
        # live objects of the map, and objects held for their changes that the map
        # does not file (a restored deleted object whose key another object took)
        for state in dict.fromkeys(imap.all_states() + list(imap._modified)):
            if not dirty_only or state.modified or state in self._dirty:
                state.expire()
        self._new.clear()
        self._deleted.clear()
        self._dirty.clear()
        self._key_switches.clear()

    def _remove_snapshot(self) -> None:
        session = self.session
        if not self.nested:
            if session.expire_on_commit:
                expire_states(session._identity_map.states())
            session._detach_deleted_all(list(self._deleted))
            self._new.clear()
            self._deleted.clear()
            self._dirty.clear()
            self._key_switches.clear()
        else:
            parent = self._parent
            assert parent is not None
            self._merge_snapshot_into(parent)

    # -- close ---------------------------------------------------------------------------
    def _release_connections(self, invalidate: bool = False) -> None:
        """Root only: end what is left of each database transaction and give the
        connections back (a Connection the Session was bound to stays open)."""
        entries = self._unique_entries()
        self._released = self._connections
        self._connections = {}
        interrupt: BaseException | None = None
        for entry in reversed(entries):
            try:
                if invalidate and entry.close_conn:
                    entry.conn.invalidate()
                if not entry.external:
                    end_transaction(entry)
                if entry.close_conn:
                    entry.conn.close()
            except BaseException as e:
                # never keep a connection out of the pool because its rollback failed
                if entry.close_conn:
                    try:
                        entry.conn.invalidate()
                        entry.conn.close()
                    except BaseException:
                        pass
                if not isinstance(e, Exception):
                    interrupt = interrupt or e  # KeyboardInterrupt: once all are released
        if interrupt is not None:
            raise interrupt

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
                    root = self._root()
                    if not root._failed_root and root._state is not CLOSED:
                        root._fail(failed)
                    if not isinstance(failed, Exception):
                        raise failed
        finally:
            was_active = self._state
            self._state = CLOSED
            if session._transaction is self:
                session._transaction = self._parent
            if was_active is not CLOSED:
                session._fire("after_transaction_end", session, self)

    # -- errors of statements run inside this transaction ---------------------------------
    def _statement_failed(self, conn: Connection, exc: DBAPIError) -> None:
        """A statement the session ran on ``conn`` failed.  If the server has ended
        the whole transaction (MariaDB deadlock; PostgreSQL error outside a
        SAVEPOINT), fail the root so nothing can commit half of it; if only the
        SAVEPOINT is aborted (PostgreSQL), the savepoint awaits its rollback."""
        root = self._root()
        if root._failed_root or root._state is CLOSED:
            return
        if _is_transaction_killer(self.session, exc):
            root._fail(exc)
            return
        if not postgresql_aborted(conn):
            return
        nested: SessionTransaction | None = self
        while nested is not None and not nested.nested:
            nested = nested._parent
        if nested is None:
            root._fail(exc)
            return
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

    # -- context manager -----------------------------------------------------------------
    # Inside ``with session.begin():`` (or ``begin_nested()``) the block owns its
    # transaction: once that is committed or rolled back inside the block, the
    # session refuses work until the block ends (see Session._check_tx_blocks),
    # since a new transaction begun there would never be committed by the block.
    def __enter__(self) -> SessionTransaction:
        self.session._tx_blocks.append(self)
        return self

    def __exit__(self, type_: Any, value: Any, tb: Any) -> None:
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

    @property
    def _ended(self) -> bool:
        """Committed, rolled back or closed (a DEACTIVE one still awaits rollback())."""
        return self._state is CLOSED or self._state is COMMITTED

    def __repr__(self) -> str:
        kind = "nested" if self.nested else ("root" if self._parent is None else "sub")
        return f"<SessionTransaction {kind} {self._state.value}>"


def _is_transaction_killer(session: TransactionHost, exc: BaseException) -> bool:
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
