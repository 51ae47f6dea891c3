"""The connections of a ``SessionTransaction`` level, one :class:`ConnEntry` each:
joining a transaction the caller began on a Connection (``join_transaction_mode``),
ending a root connection's transaction before it is given back, rolling back
straight through the DBAPI when Core's end never reached the database, and reading
what a database error did to the transaction (MySQL/MariaDB codes, PostgreSQL's
failed state)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import TwoPhaseTransaction
from sqlalchemy.exc import DBAPIError


class ConnEntry:
    """One connection of a transaction level.  ``ended`` turns true once a COMMIT
    or ROLLBACK of ours has reached the database on it; a root connection whose
    transaction is over without that (a failed COMMIT, an exception from a Core
    ``commit``/``rollback`` listener) gets a ROLLBACK sent straight to its DBAPI
    connection before it is given back (see :func:`rollback_dbapi`)."""

    __slots__ = ("bind", "conn", "trans", "close_conn", "external", "ended", "joined")

    def __init__(self, conn: Connection, trans: Any, close_conn: bool, external: bool,
                 bind: object = None) -> None:
        self.bind = bind
        self.conn = conn
        self.trans = trans
        self.close_conn = close_conn
        # external: the transaction is the caller's; we never commit or close it
        self.external = external
        self.ended = False
        # joined: the Connection the Session is bound to was already in a transaction
        # of the caller's; nothing may end that one behind Core's back
        self.joined = False

    def __iter__(self) -> Iterator[Any]:
        """(connection, transaction, whether we close it, whether it is the caller's)."""
        return iter((self.conn, self.trans, self.close_conn, self.external))


JOIN_TRANSACTION_MODES = ("conditional_savepoint", "create_savepoint", "control_fully",
                          "rollback_only")


def join_transaction(conn: Connection, mode: str) -> tuple[Any, bool]:
    """The transaction a root SessionTransaction uses on a Connection the caller has
    already begun a transaction on, and whether that transaction stays the caller's
    (``external``: our commit() leaves it alone, our rollback() still rolls it back).

    - ``create_savepoint``: a SAVEPOINT of our own; commit() releases it, rollback()
      and close() roll back to it; the caller's transaction is never ended.
    - ``control_fully``: the caller's transaction (or its innermost SAVEPOINT) is
      ours: commit() commits it, rollback() and close() roll it back.
    - ``rollback_only``: commit() does not reach it, rollback() rolls it back.
    - ``conditional_savepoint`` (the default): ``create_savepoint`` when the caller
      is inside a SAVEPOINT, else ``rollback_only``.
    """
    if mode == "conditional_savepoint":
        mode = "create_savepoint" if conn.in_nested_transaction() else "rollback_only"
    if mode == "create_savepoint":
        return conn.begin_nested(), False
    current = conn.get_nested_transaction() or conn.get_transaction()
    return current, mode == "rollback_only"


def end_transaction(entry: ConnEntry) -> None:
    """Before a root connection is given back: roll back what is left of its
    database transaction.  Closing Core's transaction object rolls back one that is
    still active and detaches one that already ended; when the end never reached
    the database (``entry.ended`` false: a failed COMMIT or ROLLBACK), Core would
    hand the connection to the pool as it is, still inside the transaction, so
    ROLLBACK goes straight to the DBAPI connection."""
    trans = entry.trans
    error: BaseException | None = None
    if trans is not None:
        was_active = trans.is_active
        try:
            trans.close()
            if was_active:
                entry.ended = True
        except BaseException as e:
            error = e
    if not entry.ended and not entry.joined:
        rollback_dbapi(entry)
    if error is not None and not isinstance(error, Exception):
        raise error


def rollback_prepared(entry: ConnEntry) -> None:
    """ROLLBACK PREPARED (XA ROLLBACK) of a prepared two-phase transaction whose
    COMMIT did not happen; a connection of ours where that fails is invalidated."""
    conn = entry.conn
    trans = entry.trans
    if conn.closed or conn.invalidated or not isinstance(trans, TwoPhaseTransaction):
        return
    try:
        trans.close()  # detach the transaction object Core gave up on (no SQL)
        conn.rollback_prepared(trans.xid)
        conn.rollback()
        entry.ended = True
    except BaseException as e:
        give_up_on(entry, e)


def give_up_on(entry: ConnEntry, error: BaseException) -> None:
    """A cleanup step failed: a connection of ours is invalidated, so it is never
    reused inside an unknown transaction; KeyboardInterrupt and friends go on up."""
    if entry.close_conn:
        try:
            entry.conn.invalidate()
        except Exception:  # already unusable: it is discarded either way
            pass
    if not isinstance(error, Exception):
        raise error


def rollback_dbapi(entry: ConnEntry) -> None:
    """ROLLBACK sent to the DBAPI connection itself (no Core events, which may be
    what failed); a connection of ours where even that fails is invalidated, so it
    is never reused inside an unknown transaction."""
    conn = entry.conn
    if conn.closed or conn.invalidated:
        return
    try:
        conn.dialect.do_rollback(conn.connection)
        entry.ended = True
    except BaseException as e:
        give_up_on(entry, e)


MYSQL_DEADLOCK = 1213
MYSQL_LOCK_WAIT_TIMEOUT = 1205


def mysql_code(exc: BaseException) -> int | None:
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return None
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def rolls_back_on_timeout(conn: Connection) -> bool:
    """``@@innodb_rollback_on_timeout`` of a MySQL/MariaDB connection (cached per
    DBAPI connection; off when it can't be read)."""
    info = conn.info
    cached = info.get("_dm_rollback_on_timeout")
    if cached is None:
        try:
            value = conn.exec_driver_sql("SELECT @@innodb_rollback_on_timeout").scalar()
            cached = bool(int(value or 0))
        except Exception:
            cached = False
        info["_dm_rollback_on_timeout"] = cached
    return bool(cached)


def postgresql_aborted(conn: Connection) -> bool:
    """True when ``conn`` is a PostgreSQL connection whose transaction is in the
    failed state (only ROLLBACK or ROLLBACK TO SAVEPOINT is accepted)."""
    if conn.dialect.name != "postgresql":
        return False
    try:
        raw: Any = conn.connection.dbapi_connection
        status = raw.info.transaction_status
    except Exception:  # closed or invalidated connection, another driver
        return False
    return int(status) == 3  # psycopg.pq.TransactionStatus.INERROR
