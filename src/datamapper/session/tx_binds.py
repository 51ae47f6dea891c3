"""The connections of a :class:`~datamapper.session.transaction.SessionTransaction`
level: the one it uses per bind (begun on first use: a connection of its own from an
Engine, or the Connection the Session is bound to, joining a transaction the caller
began there; a SAVEPOINT on a nested level), and giving them back when a root ends.
The steps on one connection are in :mod:`.tx_connections`."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InvalidRequestError, SAWarning

from .tx_base import TransactionBase
from .tx_connections import ConnEntry, end_transaction, join_transaction


class TransactionConnections(TransactionBase):
    """Part of SessionTransaction: its connections."""

    @property
    def connections(self) -> frozenset[Connection]:
        """The Connections this transaction level has used (a subtransaction: its
        parent's); after the transaction ends, the ones it had."""
        if self._parent is not None and not self.nested:
            return self._parent.connections
        return frozenset(e.conn for e in self._entries_seen().values())

    def bound_connection(self, bind_key: object = None) -> Connection:
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

    def _entries_seen(self) -> dict[object, ConnEntry]:
        return self._connections or self._released

    def _iter_binds(self) -> Iterator[object]:
        for e in self._unique_entries():
            yield e.bind

    def _unique_entries(self) -> list[ConnEntry]:
        seen: list[ConnEntry] = []
        for e in self._connections.values():
            if all(e is not s for s in seen):
                seen.append(e)
        return seen

    def connection(self, bindkey: Any = None, execution_options: Any = None,
                   **kwargs: Any) -> Connection:
        """The Connection of this transaction for the bind of ``bindkey`` (a mapped
        class or Mapper, as ``Session.get_bind()`` resolves it; other keyword
        arguments go to ``get_bind()`` too), begun on first use."""
        self._assert_active()
        bind = self.session.get_bind(bindkey, **kwargs)
        return self._connection_for_bind(bind, execution_options)

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
            entry = ConnEntry(conn, conn.begin_nested(), False, False)
        else:
            entry = self._root_entry(bind, execution_options)
        entry.bind = bind
        self._connections[bind] = entry
        if bind is not entry.conn:
            self._connections[entry.conn] = entry
        elif isinstance(bind, Connection):
            # a bind that is this connection's Engine (binds={...}) uses it too
            self._connections.setdefault(bind.engine, entry)
        session._fire("after_begin", session, self, entry.conn)
        return entry.conn

    def _root_entry(self, bind: Any, execution_options: Any) -> ConnEntry:
        """A root level's first use of ``bind``: its connection and transaction."""
        session = self.session
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
        return entry

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
