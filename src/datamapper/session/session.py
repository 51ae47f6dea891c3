"""The :class:`Session`: unit of work plus identity map.

Callers: applications, ``sessionmaker``, ``scoped_session``.  The Session is
a facade: object bookkeeping lives in the instance layer, flushing in the
unit of work, SQL building in the query and persistence layers, and the
transaction stack in :mod:`.transaction`.  What stays here is the lifecycle
of objects with respect to this session (add, delete, expunge, the
pending/deleted collections) and the routing of SQL to binds.
"""

from __future__ import annotations

import functools
import gc
import itertools
import logging
import warnings
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, overload

from sqlalchemy import Connection, Engine, Select, bindparam, text
from sqlalchemy import and_ as sql_and
from sqlalchemy import select as core_select
from sqlalchemy.engine import IteratorResult
from sqlalchemy.engine.result import SimpleResultMetaData, result_tuple
from sqlalchemy.exc import DBAPIError, ObjectNotExecutableError
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from .. import event
from .._util import IdentitySet, describe, lifecycle, warn_deprecated
from ..cascade import cascade_iterator
from ..exc import (
    ArgumentError,
    InvalidRequestError,
    NoResultFound,
    ObjectDeletedError,
    UnboundExecutionError,
    UnmappedClassError,
    UnmappedInstanceError,
)
from ..instance.attributes import get_state_history
from ..instance.identity import IdentityMap
from ..instance.state import (
    LOAD_SESSION,
    ORPHANED,
    InstanceState,
    _sessions,
    expire_states,
    instance_state,
)
from ..loading import EntityLoader, instances, load_attributes_stmt
from ..loading.related import lazy_load
from ..loading.rows import fetch_rows
from ..loading.strategies import has_eager_defaults
from ..mapping.mapper import Mapper, _mapper_or_none, class_mapper
from ..query import ORMSelect, Query
from ..query.entities import RowLayout, orm_select_from_core, renamed_column_keys
from ..query.options import build_plans, execute_with_plans
from ..unitofwork.flush import UOWTransaction
from .bulk import bulk_delete, bulk_update
from .legacy_names import LegacySessionMethods
from .merge import merge as merge_into
from .merge import merge_all as merge_all_into
from .ownership import OwnerGuard, exclusive, get_ident
from .transaction import ACTIVE, CLOSED, JOIN_TRANSACTION_MODES, SessionTransaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Result, ScalarResult
    from sqlalchemy.sql.selectable import TypedReturnsRows

_O = TypeVar("_O")  # a mapped class's instances
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

log = logging.getLogger("datamapper.unitofwork")

# flushes of more objects than this run with the cycle collector paused
_GC_PAUSE_THRESHOLD = 1000

SESSION_EVENTS = frozenset({
    "before_commit", "after_commit", "after_rollback", "after_soft_rollback",
    "before_flush", "after_flush", "after_flush_postexec", "after_begin",
    "before_attach", "after_attach", "after_transaction_create", "after_transaction_end",
    "after_bulk_update", "after_bulk_delete", "do_orm_execute",
    "transient_to_pending", "pending_to_transient", "pending_to_persistent",
    "persistent_to_transient", "persistent_to_detached", "detached_to_persistent",
    "persistent_to_deleted", "deleted_to_persistent", "deleted_to_detached",
    "loaded_as_persistent",
})

_class_dispatch: dict[type, event.Dispatch] = {}
_ids = itertools.count(1)
_all_sessions: weakref.WeakSet[Session] = weakref.WeakSet()


def _dispatch_for_class(cls: type) -> event.Dispatch:
    d = _class_dispatch.get(cls)
    if d is None:
        parents = tuple(
            _dispatch_for_class(b) for b in cls.__bases__ if isinstance(b, type) and
            issubclass(b, Session)
        )
        d = _class_dispatch[cls] = event.Dispatch(f"{cls.__name__} class", SESSION_EVENTS,
                                                  parents)
    return d


class Session(LegacySessionMethods):
    """Holds loaded and new objects and writes their changes in one flush."""

    _query_cls: type[Query[Any]] = Query

    def __init__(
        self,
        bind: Engine | Connection | None = None,
        *,
        autoflush: bool = True,
        expire_on_commit: bool = True,
        autocommit: bool = False,
        twophase: bool = False,
        weak_identity_map: bool = True,
        binds: dict[Any, Any] | None = None,
        extension: Any = None,
        info: dict[Any, Any] | None = None,
        query_cls: type[Query[Any]] | None = None,
        echo_uow: bool = False,
        transactional: bool | None = None,
        bind_to: Any = None,
        enable_transaction_accounting: bool = True,
        autobegin: bool = True,
        join_transaction_mode: str = "conditional_savepoint",
        execution_options: dict[str, Any] | None = None,
        future: bool = True,
        close_resets_only: bool = True,
        enable_baked_queries: bool = True,
        _maker_dispatch: event.Dispatch | None = None,
        **kw: Any,
    ) -> None:
        if kw:
            raise TypeError(
                f"Session() got unexpected keyword argument(s) {', '.join(sorted(kw))}"
            )
        if join_transaction_mode not in JOIN_TRANSACTION_MODES:
            raise ArgumentError(
                f"Can't use join_transaction_mode={join_transaction_mode!r}: choose one of "
                f"{', '.join(map(repr, JOIN_TRANSACTION_MODES))}"
            )
        if not future:
            raise ArgumentError(
                "Can't use Session(future=False): the flag only exists for compatibility "
                "and can only be True; drop it"
            )
        if transactional is not None:
            warnings.warn("Session(transactional=...) is deprecated; use autocommit="
                          f"{not transactional}", DeprecationWarning, stacklevel=2)
            autocommit = not transactional
        if bind_to is not None:
            warnings.warn("Session(bind_to=...) is deprecated; use bind=", DeprecationWarning,
                          stacklevel=2)
            bind = bind_to
        self.hash_key = next(_ids)
        _sessions[self.hash_key] = self
        _all_sessions.add(self)
        self.bind = bind
        self.autoflush = autoflush
        self.expire_on_commit = expire_on_commit
        self.autocommit = autocommit
        self.twophase = twophase
        self.echo_uow = echo_uow
        self.autobegin = autobegin
        self.join_transaction_mode = join_transaction_mode
        self.execution_options: dict[str, Any] = dict(execution_options or {})
        self.info: dict[Any, Any] = dict(info or {})
        if query_cls is not None:
            self._query_cls = query_cls
        self._guard = OwnerGuard()  # one thread at a time inside this session
        self._identity_map = IdentityMap(weak=weak_identity_map)
        self._new: dict[InstanceState, Any] = {}
        # new objects marked as delete-orphan orphans (see _watch_orphan)
        self._orphan_watch: set[InstanceState] = set()
        self._deleted: dict[InstanceState, Any] = {}
        self._transaction: SessionTransaction | None = None
        # transactions whose ``with`` block is open, outermost first
        self._tx_blocks: list[SessionTransaction] = []
        # close_resets_only=False: close() is final, the session refuses more work
        self._close_resets_only = close_resets_only
        self._closed = False
        self._flushing = False
        self._merging = False  # merge() linking relationships: lazy="raise" does not apply
        self._no_autoflush = 0
        self._order = itertools.count(1)
        self._binds: dict[Any, Any] = {}
        parents: list[event.Dispatch] = [_dispatch_for_class(type(self))]
        if _maker_dispatch is not None:
            parents.append(_maker_dispatch)
        self.dispatch = event.Dispatch("Session", SESSION_EVENTS, tuple(parents))
        if binds:
            for key, b in binds.items():
                self._add_bind(key, b)
        if extension is not None:
            exts = extension if isinstance(extension, (list, tuple)) else [extension]
            for ext in exts:
                if not callable(getattr(ext, "_dm_attach_session", None)):
                    raise ArgumentError(
                        f"Session(extension=...) takes SessionExtension instances, not "
                        f"{ext!r}; subclass datamapper.SessionExtension or use "
                        "datamapper.event.listen(session, ...) instead"
                    )
            for ext in exts:
                ext._dm_attach_session(self)

    # -- events ------------------------------------------------------------------------
    def _fire(self, name: str, *args: Any) -> None:
        if name in self.dispatch.active:
            self.dispatch.fire(name, *args)

    # -- settings and introspection ----------------------------------------------------------
    @property
    def identity_map(self) -> IdentityMap:
        return self._identity_map

    @property
    def new(self) -> IdentitySet:
        return IdentitySet(self._new.values())

    @property
    def deleted(self) -> IdentitySet:
        return IdentitySet(self._deleted.values())

    @property
    def dirty(self) -> IdentitySet:
        out = IdentitySet()
        for st in list(self._identity_map._modified):
            if st not in self._deleted:
                o = st.obj()
                if o is not None:
                    out.add(o)
        return out

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

    @property
    def no_autoflush(self) -> Any:
        """``with session.no_autoflush:`` suspends autoflush inside the block."""
        return self._no_autoflush_cm()

    @contextmanager
    def _no_autoflush_cm(self) -> Iterator[Session]:
        self._no_autoflush += 1
        try:
            yield self
        finally:
            self._no_autoflush -= 1

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
            if (current._parent is None and current.origin == "autobegin"
                    and not current._connections and current._state is ACTIVE):
                current.origin = "explicit"
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
        if not self.twophase or tx._parent is not None:
            raise InvalidRequestError(
                "Can't prepare(): only a root transaction of a Session(twophase=True) can be "
                "prepared; create the Session with twophase=True, or just call commit()"
            )
        tx.prepare()

    @exclusive
    def close(self) -> None:
        """Release connections (rolling back) and expunge every object; with
        ``close_resets_only=False`` the session then refuses further work."""
        self._reset()
        if not self._close_resets_only:
            self._closed = True

    @exclusive
    def reset(self) -> None:
        """Release connections (rolling back) and expunge every object, leaving the
        session ready for reuse whatever ``close_resets_only`` says (a session
        already closed for good stays closed)."""
        self._reset()

    def _reset(self) -> None:
        self.expunge_all()
        tx = self._transaction
        if tx is not None:
            self._detach_flushed_deleted(tx)
            for t in tx._iterate_self_and_parents():
                t.close()
        self._transaction = None

    @exclusive
    def invalidate(self) -> None:
        tx = self._transaction
        if tx is not None:
            self._detach_flushed_deleted(tx)
            for t in tx._iterate_self_and_parents():
                t.close(invalidate=True)
        self.expunge_all()
        self._transaction = None
        if not self._close_resets_only:
            self._closed = True

    @classmethod
    def close_all(cls) -> None:
        """Close every Session."""
        for s in list(_all_sessions):
            s.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, type_: Any, value: Any, tb: Any) -> None:
        self.close()

    def _dialects_in_use(self) -> list[str]:
        out = []
        tx = self.get_transaction()
        if tx is not None:
            for e in tx._unique_entries():
                out.append(e.conn.dialect.name)
        return out

    # -- binds --------------------------------------------------------------------------
    def _add_bind(self, key: Any, bind: Any) -> None:
        from sqlalchemy import Table

        if isinstance(key, Table):
            self._binds[key] = bind
            return
        m = _mapper_or_none(key)
        if m is not None:
            self._binds[m] = bind
            return
        if isinstance(key, type):
            # an unmapped base class: binds every mapped subclass
            self._binds[key] = bind
            return
        raise InvalidRequestError(
            f"Can't bind {key!r}: binds take a mapped class, a Mapper or a Table"
        )

    def bind_mapper(self, mapper: Any, bind: Any) -> None:
        self._add_bind(mapper, bind)

    def bind_table(self, table: Any, bind: Any) -> None:
        from sqlalchemy import Table

        if not isinstance(table, Table):
            raise ArgumentError(
                f"Can't bind_table({table!r}): it is not a Table; pass a Table "
                "(e.g. User.__table__), or use bind_mapper() for a class"
            )
        self._add_bind(table, bind)

    def _bind_for(self, mapper: Any, clause: Any, bind_kw: dict[str, Any] | None) -> Any:
        """``get_bind()`` with the caller's bind arguments; ``mapper``/``clause`` given in
        them (``bind_arguments={"mapper": m}``) take the place of the defaults."""
        if not bind_kw:
            return self.get_bind(mapper, clause=clause)
        kw = dict(bind_kw)  # never change the caller's dict
        mapper = kw.pop("mapper", mapper)
        clause = kw.pop("clause", clause)
        return self.get_bind(mapper, clause=clause, **kw)

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        """The Engine or Connection for a mapper or a statement.

        Mapper binds win over table binds, which win over the Session's bind.
        """
        if mapper is not None and _mapper_or_none(mapper) is None and \
                mapper not in self._binds:
            _refuse_unmapped(mapper, "find a bind for")
        if self._binds:
            m = _mapper_or_none(mapper) if mapper is not None else None
            if m is not None:
                if m in self._binds:
                    return self._binds[m]
                for klass in m.class_.__mro__:
                    if klass in self._binds:
                        return self._binds[klass]
                if m.local_table in self._binds:
                    return self._binds[m.local_table]
            if clause is not None:
                try:
                    tables = find_tables(clause, include_crud=True)
                except Exception:
                    tables = []
                for t in tables:
                    if t in self._binds:
                        return self._binds[t]
        if self.bind is not None:
            return self.bind
        what = (f"mapper {m!r}" if mapper is not None and (m := _mapper_or_none(mapper))
                else "this statement")
        raise UnboundExecutionError(
            f"Can't find a bind for {what}: this Session has no bind and no binds= entry "
            "matches; create it as Session(engine) or Session(binds={Class: engine})"
        )

    def _connection_for_bind(self, bind: Any, execution_options: Any = None) -> Connection:
        if self._transaction is None:
            if self.autocommit:
                raise InvalidRequestError("internal: autocommit connection requested")
            self._autobegin()
        assert self._transaction is not None
        return self._transaction._connection_for_bind(bind, execution_options)

    @exclusive
    def connection(self, mapper: Any = None, clause: Any = None, bind: Any = None,
                   execution_options: Any = None, bind_arguments: Any = None,
                   **kw: Any) -> Connection:
        """The Connection this Session uses for ``mapper``/``clause``/``bind``; other
        keyword arguments (and ``bind_arguments``) go to ``get_bind()``."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        if bind is None:
            bind = self._bind_for(mapper, clause, _bind_kw(bind_arguments, kw))
        if self._transaction is None and self.autocommit:
            if isinstance(bind, Connection):
                return bind
            return bind.connect()  # type: ignore[no-any-return]
        return self._connection_for_bind(bind, execution_options)

    def _run(self, stmt: Any, params: Any, bind: Any, execution_options: Any = None) -> Any:
        """Execute a statement on the right connection; in autocommit mode in its own
        transaction, with the result buffered."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        if self.execution_options:
            execution_options = {**self.execution_options, **(execution_options or {})}
        if self._transaction is None and self.autocommit:
            if isinstance(bind, Connection):
                return bind.execute(stmt, params, execution_options=execution_options or {})
            with bind.begin() as conn:
                result = conn.execute(stmt, params, execution_options=execution_options or {})
                if result.returns_rows:
                    return result.freeze()()
                return result
        conn = self._connection_for_bind(bind)
        try:
            return conn.execute(stmt, params, execution_options=execution_options or {})
        except DBAPIError as e:
            tx = self._transaction
            if tx is not None:
                tx._statement_failed(conn, e)
            raise

    # -- SQL execution --------------------------------------------------------------------------
    @overload
    def execute(self, statement: TypedReturnsRows[*_Ts], params: Any = None, *,
                mapper: Any = None, bind: Any = None, execution_options: Any = None,
                bind_arguments: Any = None, **kw: Any) -> Result[*_Ts]: ...

    @overload
    def execute(self, statement: Any, params: Any = None, *, mapper: Any = None,
                bind: Any = None, execution_options: Any = None, bind_arguments: Any = None,
                **kw: Any) -> Result[*tuple[Any, ...]]: ...

    @exclusive
    def execute(self, statement: Any, params: Any = None, *, mapper: Any = None,
                bind: Any = None, execution_options: Any = None, bind_arguments: Any = None,
                **kw: Any) -> Any:
        """Execute a Core statement, an ORM ``select()``, or a string (as textual SQL).
        Other keyword arguments (and ``bind_arguments``) go to ``get_bind()``."""
        bind_kw = _bind_kw(bind_arguments, kw)
        if isinstance(statement, str):
            statement = text(statement)
        elif statement.__class__ is Select:
            # sqlalchemy.select(User, ...): the ORM select of those entities
            converted = orm_select_from_core(statement)
            if converted is not None:
                statement = converted
            elif (keys := renamed_column_keys(statement)) is not None:
                return self._execute_with_attribute_keys(statement, keys, params, bind, mapper,
                                                         execution_options, bind_kw)
        elif not hasattr(statement, "_execute_on_connection"):
            raise _not_executable(statement)
        if isinstance(params, (list, tuple)) and len(params) > 1 and \
                getattr(statement, "is_select", False):
            raise ArgumentError(
                f"Can't execute a SELECT with a list of {len(params)} parameter sets: "
                "executemany runs only INSERT, UPDATE and DELETE; run the SELECT once per "
                "parameter set, or select them all with an IN (...) criterion"
            )
        opts = {**self.execution_options, **execution_options} if execution_options else \
            self.execution_options
        if isinstance(statement, ORMSelect):
            layout: RowLayout = statement._dm_layout
            self._autoflush()
            plans = build_plans([p.mapper if kind == "entity" else None
                                 for kind, p in layout.parts], statement._dm_options)
            if plans is not None:
                objs = self._execute_orm_select_with_plans(statement, plans, bind, params,
                                                           bool(opts.get("populate_existing")),
                                                           bind_kw)
            else:
                rows = self._execute_for_mapper(statement, layout.primary_mapper, None,
                                                bind=bind, params=params, bind_kw=bind_kw)
                objs = self._rows_to_results(layout, rows,
                                             bool(opts.get("populate_existing")), None)
            if layout.single_entity:
                # rows are made from the objects only if asked for (scalars() skips them)
                return IteratorResult(SimpleResultMetaData(layout.names), iter(objs),
                                      _source_supports_scalars=True)
            tuples = [tuple(o) for o in objs]
            return IteratorResult(SimpleResultMetaData(layout.names), iter(tuples))
        if bind is None:
            bind = self._bind_for(mapper, statement, bind_kw)
        return self._run(statement, params, bind, opts)

    def _execute_with_attribute_keys(self, statement: Any, keys: list[str], params: Any,
                                     bind: Any,
                                     mapper: Any, execution_options: Any,
                                     bind_kw: dict[str, Any] | None) -> Any:
        """A Core select of attributes named other than their columns: rows keyed by the
        attribute names (``select(User.uname)`` gives rows with ``.uname``)."""
        opts = {**self.execution_options, **execution_options} if execution_options else \
            self.execution_options
        if bind is None:
            bind = self._bind_for(mapper, statement, bind_kw)
        rows = [tuple(r) for r in self._run(statement, params, bind, opts)]
        return IteratorResult(SimpleResultMetaData(keys), iter(rows))

    def _execute_orm_select_with_plans(self, statement: ORMSelect, plans: list[Any],
                                       bind: Any, params: Any, populate_existing: bool,
                                       bind_kw: dict[str, Any] | None = None) -> list[Any]:
        """An ORM select() with loader options or configured eager relationships."""
        entities = statement._dm_entities
        layout = RowLayout(entities, [p.props if p is not None else None for p in plans])
        base: Any = statement
        if list(map(id, layout.columns)) != list(map(id, statement._dm_layout.columns)):
            base = statement.with_only_columns(*layout.columns)
        mapper = layout.primary_mapper
        limited = statement._limit_clause is not None or statement._offset_clause is not None

        def run(stmt: Any) -> list[Any]:
            return self._execute_for_mapper(stmt, mapper, None, bind=bind, params=params,
                                            bind_kw=bind_kw)

        return execute_with_plans(self, entities, plans, base,
                                  list(statement._order_by_clauses), limited,
                                  populate_existing, self._default_identity_token(), run)

    def _default_identity_token(self) -> Any:
        """Identity token of objects an ORM select() loads (sharding: the shard run on)."""
        return None

    @overload
    def scalar(self, statement: TypedReturnsRows[_T, *tuple[Any, ...]],
               params: Any = None, **kw: Any) -> _T | None: ...

    @overload
    def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any: ...

    def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        """The first column of the first row (None when there is no row)."""
        return self.execute(statement, params, **kw).scalar()

    @overload
    def scalars(self, statement: TypedReturnsRows[_T, *tuple[Any, ...]],
                params: Any = None, **kw: Any) -> ScalarResult[_T]: ...

    @overload
    def scalars(self, statement: Any, params: Any = None, **kw: Any) -> ScalarResult[Any]: ...

    def scalars(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        """The first column of each row: the objects of ``select(User)``."""
        return self.execute(statement, params, **kw).scalars()

    @exclusive
    def _execute_for_mapper(self, stmt: Any, mapper: Any, query: Any = None, bind: Any = None,
                            params: Any = None, bind_kw: dict[str, Any] | None = None
                            ) -> list[Any]:
        if bind is None:
            bind = self._bind_for(mapper, stmt, bind_kw)
        opts = query._execution_options if query is not None else None
        result = self._run(stmt, params, bind, opts)
        return fetch_rows(result)

    def _rows_to_results(self, layout: RowLayout, rows: list[Any], populate_existing: bool,
                         token: Any) -> list[Any]:
        parts = layout.parts
        if len(parts) == 1:
            kind, p = parts[0]
            if kind == "entity":
                return instances(self, p, rows, populate_existing, token)
            make1 = result_tuple(layout.names)  # one column: rows too, not bare values
            return [make1((r[p],)) for r in rows]
        columns = []
        for kind, p in parts:
            if kind == "entity":
                columns.append(instances(self, p, rows, populate_existing, token))
            else:
                columns.append([r[p] for r in rows])
        make = result_tuple(layout.names)
        return [make(vals) for vals in zip(*columns, strict=True)]

    @overload
    def query(self, entity: type[_O], /) -> Query[_O]: ...

    @overload
    def query(self, *entities: Any, **kw: Any) -> Query[Any]: ...

    def query(self, *entities: Any, **kw: Any) -> Query[Any]:
        """A :class:`Query` of mapped classes, attributes or columns."""
        return self._query_cls(list(entities), self, **kw)

    # -- loading ------------------------------------------------------------------------------
    def _autoflush(self) -> None:
        if self.autoflush and not self._flushing and not self._no_autoflush and (
            self._new or self._deleted or self._identity_map._modified
        ):
            try:
                self.flush()
            except Exception as e:
                if hasattr(e, "add_detail"):
                    e.add_detail(
                        "raised as a result of an autoflush before a query; use "
                        "'with session.no_autoflush:' if this flush happens too early"
                    )
                raise

    def _normalize_ident(self, mapper: Mapper, ident: Any) -> tuple[Any, ...]:
        n = len(mapper._pk_keys)
        if isinstance(ident, dict):
            bad = [k for k in ident if k not in mapper._pk_keys]
            missing = [k for k in mapper._pk_keys if k not in ident]
            if bad or missing:
                raise InvalidRequestError(
                    f"Can't get {mapper.class_.__name__} by {ident!r}: the dictionary must have "
                    f"exactly the primary key attribute names {', '.join(mapper._pk_keys)}"
                    + (f"; unknown: {', '.join(map(repr, bad))}" if bad else "")
                )
            return tuple(ident[k] for k in mapper._pk_keys)
        if isinstance(ident, (tuple, list)):
            values = tuple(ident)
        else:
            values = (ident,)
        if len(values) != n:
            raise InvalidRequestError(
                f"Incorrect number of values in identifier formed from argument to get(): "
                f"{mapper.class_.__name__} has {n} primary key column(s) "
                f"({', '.join(mapper._pk_keys)}) but {len(values)} value(s) were given: {ident!r}; "
                f"pass {n} value(s) in primary key order (a tuple when there are several), or "
                "a dict keyed by attribute name"
            )
        return values

    @overload
    def get(self, entity: type[_O], ident: Any, *, populate_existing: bool = False,
            with_for_update: Any = None, options: Any = None, identity_token: Any = None,
            execution_options: Any = None, bind_arguments: Any = None,
            **kw: Any) -> _O | None: ...

    @overload
    def get(self, entity: Any, ident: Any, *, populate_existing: bool = False,
            with_for_update: Any = None, options: Any = None, identity_token: Any = None,
            execution_options: Any = None, bind_arguments: Any = None,
            **kw: Any) -> Any: ...

    def get(self, entity: Any, ident: Any, *, populate_existing: bool = False,
            with_for_update: Any = None, options: Any = None, identity_token: Any = None,
            execution_options: Any = None, bind_arguments: Any = None, **kw: Any) -> Any:
        """The object with primary key ``ident``: from the identity map, else by SELECT.
        Other keyword arguments (and ``bind_arguments``) go to ``get_bind()``."""
        if with_for_update is not None:
            _check_for_update(with_for_update, "get")
        if execution_options:
            populate_existing = populate_existing or \
                bool(execution_options.get("populate_existing"))
            execution_options = {k: v for k, v in execution_options.items()
                                 if k != "populate_existing"} or None
        if not populate_existing and not with_for_update and identity_token is None and \
                isinstance(entity, type) and not isinstance(ident, (tuple, list, dict)):
            # hit path: a scalar key of a plain class, loaded and live in the identity map
            inner = self._identity_map._maps.get((entity, None))
            state = inner.get(ident) if inner is not None else None
            if state is not None and not state.expired_attributes:
                obj = state.obj()
                if obj is not None:
                    return obj
        mapper = _mapper_or_none(entity)
        if mapper is None:
            mapper = class_mapper(entity)
        elif not mapper.configured:
            class_mapper(entity)
        if bind_arguments or kw:
            return self._get_impl(mapper, ident, populate_existing=populate_existing,
                                  with_for_update=with_for_update,
                                  identity_token=identity_token, options=options,
                                  bind_kw=_bind_kw(bind_arguments, kw),
                                  execution_options=execution_options)
        return self._get_impl(mapper, ident, populate_existing=populate_existing,
                              with_for_update=with_for_update, identity_token=identity_token,
                              options=options, execution_options=execution_options)

    def get_one(self, entity: type[_O], ident: Any, *, populate_existing: bool = False,
                with_for_update: Any = None, options: Any = None, identity_token: Any = None,
                execution_options: Any = None, bind_arguments: Any = None,
                **kw: Any) -> _O:
        """Like :meth:`get`, but raises NoResultFound when there is no such row."""
        obj = self.get(entity, ident, populate_existing=populate_existing,
                       with_for_update=with_for_update, options=options,
                       identity_token=identity_token, execution_options=execution_options,
                       bind_arguments=bind_arguments, **kw)
        if obj is None:
            name = getattr(entity, "__name__", None) or repr(entity)
            raise NoResultFound(
                f"No row was found for {name} with primary key {ident!r}: get_one() requires "
                "one; use get() to get None instead"
            )
        return obj

    @exclusive
    def _get_impl(self, mapper: Mapper, ident: Any, populate_existing: bool = False,
                  with_for_update: Any = None, query: Any = None,
                  identity_token: Any = None, options: Any = None,
                  bind_kw: dict[str, Any] | None = None,
                  execution_options: Any = None) -> Any:
        values = self._normalize_ident(mapper, ident)
        key = (mapper.class_, values, identity_token)
        state = self._identity_map.state_for(key)
        if state is not None and not populate_existing and not with_for_update:
            obj = state.obj()
            if obj is not None:
                # an object marked for deletion is still in the map until the flush
                if state.expired_attributes:
                    try:
                        self._load_attributes(state, None)
                    except ObjectDeletedError:
                        # the row is gone: the object no longer belongs to this session
                        self._expunge_state(state)
                        return None
                return obj
        if None in values:
            return None
        if options or (query is not None and query._options) or has_eager_defaults(mapper):
            # loader options / configured eager relationships: load through a Query
            opts = list(options or ()) + list(query._options if query is not None else ())
            q: Query[Any] = Query([mapper.class_], self).options(*opts).filter(
                *[c == v for c, v in zip(mapper.primary_key, values, strict=True)])
            if populate_existing or with_for_update:
                q = q.populate_existing()
            if with_for_update:
                q._for_update = with_for_update if isinstance(with_for_update, dict) else {}
            if identity_token is not None:
                q._shard_id = identity_token
            if execution_options:
                q = q.execution_options(**execution_options)
            found = q.all()
            return found[0] if found else None
        self._autoflush()
        stmt = _get_statement(mapper, with_for_update)
        params = dict(zip(_pk_param_names(len(values)), values))
        bind = self._bind_for(mapper, stmt, bind_kw)
        rows = fetch_rows(self._run(stmt, params, bind, execution_options))
        if not rows:
            return None
        loader = _get_loader(mapper)
        return instances(self, loader, rows, populate_existing or bool(with_for_update),
                         identity_token)[0]

    def _load_attributes(self, state: InstanceState, key: str | None) -> None:
        """Load unloaded attributes of a persistent object: all expired columns at once
        (plus ``key`` if it is deferred)."""
        mapper = state.mapper
        if key is not None and key in mapper._props and mapper._props[key].is_relationship:
            lazy_load(self, state, mapper._props[key])
            return
        if state._key is None:
            return
        # pending changes (of this object or others) may alter what the SELECT reads, as
        # for a query: flush them first (a no-op inside a flush, no_autoflush, autoflush=False)
        self._autoflush()
        exp = state.expired_attributes
        obj = state.strong_obj()
        d = obj.__dict__
        deferred = mapper._deferred_keys
        keys = [k for k in mapper._load_keys if k in exp and k not in d and k not in deferred
                or (k == key)]
        if key is not None and key not in keys and key in mapper._column_keys:
            prop = mapper._props[key]
            group = getattr(prop, "group", None)
            keys.append(key)
            if group:
                keys.extend(k for k, p in mapper.column_attrs.items()
                            if getattr(p, "group", None) == group and k not in d and k != key)
        if not keys:
            state.loaded(())
            return
        stmt, props = load_attributes_stmt(mapper, keys)
        params = {f"_dm_pk_{i}": v for i, v in enumerate(state.identity or ())}
        bind = self.get_bind(mapper, clause=stmt)
        row = self._run(stmt, params, bind).first()
        if row is None:
            raise ObjectDeletedError(
                f"Can't load attribute(s) {', '.join(keys)} of {describe(obj)}: its row is no "
                "longer in the database (deleted, or its primary key changed, by another "
                "transaction); expunge the object or roll back"
            )
        for k, v in zip(keys, row, strict=True):
            if k not in state.committed_state:
                d[k] = v
        state.loaded(keys)
        if "refresh" in mapper.dispatch:
            mapper.dispatch.fire("refresh", obj, None, keys)

    @exclusive
    def refresh(self, instance: Any, attribute_names: Iterable[str] | None = None,
                with_for_update: Any = None, lockmode: Any = None) -> None:
        """Reload ``instance``'s attributes from the database now, discarding changes."""
        state = instance_state(instance)
        self._check_persistent(state, instance, "refresh")
        if with_for_update is not None:
            _check_for_update(with_for_update, "refresh")
        mapper = state.mapper
        if attribute_names is None:
            # like expire(obj): what the refresh-expire cascade reaches is expired too
            self._cascade_expire(state)
        if attribute_names is not None:
            names = list(attribute_names)
            bad = [n for n in names if n not in mapper._props]
            if bad:
                raise InvalidRequestError(
                    f"Can't refresh {', '.join(map(repr, bad))} of {describe(instance)}: not "
                    f"mapped attributes of {mapper.class_.__name__}"
                )
            cols = [n for n in names if n in mapper._column_keys]
            rels = [n for n in names if mapper._props[n].is_relationship]
            if not cols and rels:
                raise InvalidRequestError(
                    f"Can't refresh only relationship attribute(s) {', '.join(rels)} of "
                    f"{describe(instance)}: refresh() reloads columns; use "
                    "session.expire(obj, [names]) to reload relationships on next access"
                )
        else:
            # (the refresh-expire cascade ran above, before anything was reloaded)
            if has_eager_defaults(mapper):
                self._refresh_with_eager(state, instance, with_for_update)
                return
            cols = [k for k in mapper._load_keys]
            rels = [k for k, p in mapper._props.items() if p.is_relationship]
        stmt, props = load_attributes_stmt(mapper, cols)
        if with_for_update:
            stmt = stmt.with_for_update(**(with_for_update if isinstance(with_for_update, dict)
                                           else {}))
        params = {f"_dm_pk_{i}": v for i, v in enumerate(state.key[1])}  # type: ignore[index]
        bind = self.get_bind(mapper, clause=stmt)
        row = self._run(stmt, params, bind).first()
        if row is None:
            raise InvalidRequestError(
                f"Can't refresh {describe(instance)}: its row is no longer in the database"
            )
        d = instance.__dict__
        for k, v in zip(cols, row, strict=True):
            d[k] = v
            state.committed_state.pop(k, None)
        for k in rels:
            d.pop(k, None)
            state.committed_state.pop(k, None)
        state.loaded(cols)
        if rels:
            exp = set(state.expired_attributes)
            exp.update(rels)
            state.expired_attributes = exp
        if not state.committed_state and state.modified:
            state.modified = False
            state._drop_modified()
        if "refresh" in mapper.dispatch:
            mapper.dispatch.fire("refresh", instance, None, cols)

    @exclusive
    def expire(self, instance: Any, attribute_names: Iterable[str] | None = None) -> None:
        """Forget loaded values; they load again on next access."""
        state = instance_state(instance)
        self._check_persistent(state, instance, "expire")
        if attribute_names is not None:
            names = list(attribute_names)
            bad = [n for n in names if n not in state.mapper._props]
            if bad:
                raise InvalidRequestError(
                    f"Can't expire {', '.join(map(repr, bad))} of {describe(instance)}: not "
                    f"mapped attributes of {state.mapper.class_.__name__}"
                )
            state.expire(names)
        else:
            # the cascade walks the loaded relationships, so it goes before they expire
            self._cascade_expire(state)
            state.expire()

    def _cascade_expire(self, state: InstanceState) -> None:
        """Expire the objects reached along refresh-expire cascades; pending ones
        reached that way leave the session (they have no row to load again)."""
        obj = state.obj()
        if obj is None:
            return
        for child_state, _child in list(cascade_iterator("refresh-expire", state, obj)):
            if child_state.session_id != self.hash_key:
                continue
            if child_state._key is not None:
                child_state.expire()
            elif child_state in self._new:
                self._expunge_state(child_state)

    def _refresh_with_eager(self, state: InstanceState, obj: Any, with_for_update: Any) -> None:
        """refresh() of an object whose class has relationships configured to load eagerly:
        one query of the object with those loaders (joined ones in the same SELECT),
        overwriting what it holds."""
        mapper = state.mapper
        key = state.key
        assert key is not None
        state.expire()  # unflushed changes are discarded, as refresh() does
        with self.no_autoflush:
            found = self._get_impl(mapper, key[1], populate_existing=True,
                                   with_for_update=with_for_update or None,
                                   identity_token=key[2])
        if found is None:
            raise InvalidRequestError(
                f"Can't refresh {describe(obj)}: its row is no longer in the database"
            )
        if "refresh" in mapper.dispatch:
            mapper.dispatch.fire("refresh", obj, None, list(mapper._load_keys))

    @exclusive
    def expire_all(self) -> None:
        """Expire every object in the identity map."""
        expire_states(self._identity_map.states())

    def _check_persistent(self, state: InstanceState, obj: Any, verb: str) -> None:
        if state.session_id != self.hash_key or state._key is None:
            raise InvalidRequestError(
                f"Can't {verb} {describe(obj)}: it is not persistent within this Session "
                f"({lifecycle(state)}); add it and flush first"
            )
        if state._deleted:
            raise InvalidRequestError(
                f"Can't {verb} {describe(obj)}: it is not persistent within this Session "
                "(deleted: a flush already deleted its row); it leaves the session at "
                "commit, or becomes persistent again if the transaction rolls back"
            )

    # -- object lifecycle ------------------------------------------------------------------------
    def add(self, instance: Any, _warn: bool = True) -> None:
        """Place ``instance`` in the session: transient -> pending, detached -> persistent."""
        owner = self._guard.owner
        if owner is not None and owner != get_ident():
            # another thread is inside this session (flush, commit ...): refuse
            raise self._guard.refuse(self, "add")
        state = instance_state(instance)
        self._save_or_update_state(state, instance)

    def add_all(self, instances: Iterable[Any]) -> None:
        for obj in instances:
            self.add(obj)

    def enable_relationship_loading(self, obj: Any) -> None:
        """Let a transient or detached ``obj`` load its relationships through this
        session, from the foreign-key values it holds (many-to-one, mostly), without
        taking part in any flush: it stays transient or detached."""
        state = instance_state(obj)
        if state.session_id is not None and state.session_id != self.hash_key and \
                state.session_id in _sessions:
            raise InvalidRequestError(
                f"Can't enable relationship loading for {describe(obj)}: it belongs to "
                f"session {state.session_id}; expunge it from that session first"
            )
        state.extra()[LOAD_SESSION] = self.hash_key

    @exclusive
    def merge(self, instance: _O, load: bool = True, dont_load: bool | None = None, *,
              options: Any = None) -> _O:
        """Copy ``instance``'s state (and its merge-cascade graph) into this session and
        return the session's copy; ``instance`` itself is left as it is.

        ``load=False`` copies without SQL and without history (for unchanged
        objects, e.g. from a cache); ``dont_load=True`` is its 0.4 spelling.
        """
        if dont_load is not None:
            warn_deprecated("merge(dont_load=...)", f"merge(load={not dont_load})")
            load = not dont_load
        if self._tx_blocks or self._closed:
            self._check_usable()
        return merge_into(self, instance, load, options)  # type: ignore[no-any-return]  # the copy is of instance's class

    def merge_all(self, instances: Iterable[_O], load: bool = True, *,
                  options: Any = None) -> Sequence[_O]:
        """``merge()`` of several objects at once: their copies, in the order given.

        One merge runs over all their graphs, so an object reachable from several of
        them (or given twice) gets one copy, and the session autoflushes once.
        """
        objs = list(instances)
        if self._tx_blocks or self._closed:
            self._check_usable()
        return merge_all_into(self, objs, load, options)

    def _save_or_update_state(self, state: InstanceState, obj: Any) -> None:
        if self._tx_blocks or self._closed:
            self._check_usable()
        if self._transaction is None and not self.autocommit:
            self._autobegin()  # rollback() must be able to undo this add
        ext = state._extra
        if ext is not None and ORPHANED in ext:
            # added on purpose (or attached to a parent): no longer an orphan to drop
            del ext[ORPHANED]
        self._save_or_update_impl(state, obj)
        for child_state, child in cascade_iterator("save-update", state, obj):
            self._save_or_update_impl(child_state, child)

    def _save_or_update_impl(self, state: InstanceState, obj: Any) -> None:
        if state.session_id == self.hash_key:
            if state._deleted and state._key is not None and state not in self._deleted:
                pass
            else:
                return
        if state._key is None:
            self._save_impl(state, obj)
        else:
            self._update_impl(state, obj)

    def _before_attach(self, state: InstanceState, obj: Any) -> None:
        other_id = state.session_id
        if other_id is not None and other_id != self.hash_key and other_id in _sessions:
            raise InvalidRequestError(
                f"Can't add {describe(obj)} to session {self.hash_key}: it is already attached "
                f"to another session ({other_id}); expunge it from that session first, or use "
                "session.merge() to copy its state"
            )
        self._fire("before_attach", self, obj)

    def _save_impl(self, state: InstanceState, obj: Any) -> None:
        active = self.dispatch.active
        other_id = state.session_id
        if active or (other_id is not None and other_id != self.hash_key):
            self._before_attach(state, obj)
        state.session_id = self.hash_key
        state.insert_order = next(self._order)
        self._new[state] = obj
        if state._extra is not None and state._extra.get(ORPHANED):
            self._orphan_watch.add(state)
        if active:
            self._fire("after_attach", self, obj)
            self._fire("transient_to_pending", self, obj)

    def _update_impl(self, state: InstanceState, obj: Any, revert_deletion: bool = False
                     ) -> None:
        if state._deleted and not revert_deletion:
            raise InvalidRequestError(
                f"Can't add {describe(obj)}: it has been deleted (flushed as a DELETE); use "
                "make_transient() to turn it back into a new object first"
            )
        key = state.key
        existing = self._identity_map.get_state(key)  # type: ignore[arg-type]
        if existing is not None and existing is not state:
            raise InvalidRequestError(
                f"Can't attach {describe(obj)}: another instance with key {key} is already "
                "present in this session; use session.merge() to copy its state onto that "
                "instance"
            )
        attaching = state.session_id != self.hash_key
        if attaching:
            self._before_attach(state, obj)
        state.session_id = self.hash_key
        self._identity_map.add(state, obj)
        if state.modified:
            state._strong = obj
            self._identity_map._modified.add(state)
        if attaching:
            self._fire("after_attach", self, obj)
            self._fire("detached_to_persistent", self, obj)

    @exclusive
    def delete(self, instance: Any) -> None:
        """Mark a persistent object for deletion at the next flush."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        state = instance_state(instance)
        if state._key is None:
            raise InvalidRequestError(
                f"Can't delete {describe(instance)}: it is not persisted "
                f"({lifecycle(state)}); use session.expunge() to remove a pending object"
            )
        if self._transaction is None and not self.autocommit:
            self._autobegin()  # rollback() must be able to undo this delete
        if state.session_id != self.hash_key and not state._deleted:
            self._update_impl(state, instance)
        cascaded = cascade_iterator("delete", state, instance)
        if not cascaded:  # the mapper has no delete cascade: the common, quick case
            deleted = self._deleted
            if state not in deleted and not state._deleted:
                deleted[state] = instance
                state._strong = instance
            return
        self._no_autoflush += 1  # loading children must not flush half-made changes
        try:
            cascaded = list(cascaded)
        finally:
            self._no_autoflush -= 1
        self._delete_impl(state, instance)
        for child_state, child in cascaded:
            if child_state._key is None:
                if child_state.session_id == self.hash_key:
                    self._expunge_state(child_state)
                continue
            self._delete_impl(child_state, child)

    def _delete_orphan(self, state: InstanceState) -> None:
        """A flush found ``state`` removed from its delete-orphan parent: delete it."""
        obj = state.strong_obj()
        self._delete_impl(state, obj)
        with self.no_autoflush:
            cascaded = list(cascade_iterator("delete", state, obj))
        for child_state, child in cascaded:
            if child_state._key is not None:
                self._delete_impl(child_state, child)

    def _expunge_orphan(self, state: InstanceState, obj: Any) -> None:
        """A pending object left its delete-orphan parent (in this session) before it
        was inserted: it leaves the session, along its expunge cascade."""
        if state.session_id == self.hash_key and state._key is None and state in self._new:
            self.expunge(obj)

    def _watch_orphan(self, state: InstanceState) -> None:
        """A pending object of this session was marked as an orphan by a parent outside
        it: the next flush expunges it if it is still one."""
        self._orphan_watch.add(state)

    def _expunge_marked_orphans(self) -> None:
        watched, self._orphan_watch = self._orphan_watch, set()
        for state in sorted(watched, key=lambda s: s.insert_order):
            ext = state._extra
            if ext and ext.get(ORPHANED) and state._key is None and \
                    state.session_id == self.hash_key and state in self._new:
                self._expunge_state(state)

    def _delete_impl(self, state: InstanceState, obj: Any) -> None:
        if state in self._deleted:
            return
        if state._deleted:
            return
        if state.session_id != self.hash_key:
            self._update_impl(state, obj)
        self._deleted[state] = obj
        state._strong = obj

    @exclusive
    def expunge(self, instance: Any) -> None:
        """Remove ``instance`` from the session: persistent -> detached, pending -> transient."""
        state = instance_state(instance)
        if state.session_id != self.hash_key:
            raise InvalidRequestError(
                f"Can't expunge {describe(instance)}: it is not present in this Session "
                f"({lifecycle(state)})"
            )
        targets = [state]
        targets.extend(s for s, _o in cascade_iterator("expunge", state, instance))
        for st in targets:
            if st.session_id == self.hash_key:
                self._expunge_state(st)

    def _expunge_state(self, state: InstanceState) -> None:
        obj = state.obj()
        was_pending = state._key is None
        self._new.pop(state, None)
        self._deleted.pop(state, None)
        if state._deleted:
            # its DELETE was flushed: once expunged, a rollback no longer brings it back
            tx = self._transaction
            while tx is not None:
                tx._deleted.pop(state, None)
                tx = tx._parent
        self._identity_map.discard(state)
        state.session_id = None
        state._strong = None
        if obj is not None:
            self._fire("pending_to_transient" if was_pending else "persistent_to_detached",
                       self, obj)

    @exclusive
    def expunge_all(self) -> None:
        """Remove every object from the session."""
        for state in self._identity_map.states() + list(self._new):
            state.session_id = None
            state._strong = None
        self._identity_map.clear()
        self._new.clear()
        self._deleted.clear()
        self._orphan_watch.clear()

    clear_all = expunge_all

    def _restore_deleted(self, state: InstanceState, obj: Any) -> None:
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
        existing = imap.get_state(state.key)  # type: ignore[arg-type]
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

    def _detach_flushed_deleted(self, tx: Any) -> None:
        """Close: objects whose DELETE was flushed in the ending transaction are held by
        the transaction, not the identity map.  Its rollback brings their rows back,
        so they leave the session as plain detached objects."""
        sid = self.hash_key
        for t in tx._iterate_self_and_parents():
            for state in list(t._deleted):
                if state.session_id == sid:
                    state.session_id = None
                state._strong = None
                state._deleted = False
            t._deleted.clear()

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

    def _record_key_switch(self, state: InstanceState, old_key: Any) -> None:
        tx = self._transaction
        if tx is not None and state not in tx._key_switches:
            tx._key_switches[state] = (old_key, state.key)

    def __contains__(self, instance: object) -> bool:
        try:
            state = instance_state(instance)
        except Exception:
            raise
        return state.session_id == self.hash_key and (
            state in self._new or self._identity_map.holds(state)
            or state in self._deleted
        )

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._new.values()) + self._identity_map.values())

    def is_modified(self, instance: Any, include_collections: bool = True,
                    passive: bool = True) -> bool:
        """True if ``instance`` has attribute changes that a flush would write."""
        state = instance_state(instance)
        mapper = state.mapper
        keys = state.committed_state.keys() if state._key is not None else \
            [k for k in mapper._props if k in instance.__dict__]
        for key in list(keys):
            prop = mapper._props.get(key)
            if prop is None:
                continue
            if prop.is_relationship and not include_collections and getattr(prop, "uselist",
                                                                            False):
                continue
            if get_state_history(state, key, True).has_changes():
                return True
        return False

    # -- flush --------------------------------------------------------------------------------
    def _is_clean(self) -> bool:
        return not (self._identity_map._modified or self._new or self._deleted)

    @exclusive
    def flush(self, objects: Iterable[Any] | None = None) -> None:
        """Write all pending changes (or those of ``objects``) in dependency order."""
        if objects is not None:
            objects = list(objects)
            for o in objects:
                instance_state(o)  # an unmapped object is refused before anything happens
        tx = self._transaction
        if tx is not None and not tx.is_active:
            tx._assert_active()
        if self._flushing:
            raise InvalidRequestError(
                "Can't flush: this Session is already flushing (flush() was called from "
                "inside a flush, e.g. a before_flush or after_flush handler); don't call "
                "flush() there: objects added or changed in before_flush are written by the "
                "flush under way"
            )
        if self._is_clean():
            return
        if self._tx_blocks or self._closed:
            self._check_usable()
        self._flushing = True
        # A large flush allocates many short-lived, acyclic objects (parameter dicts,
        # links, result rows); pausing the cycle collector for its duration saves the
        # repeated full scans of every loaded object.  It is switched back on (and
        # catches up) as soon as the flush ends, whatever the outcome.
        pause_gc = gc.isenabled() and (
            len(self._new) + len(self._identity_map._modified) + len(self._deleted)
            > _GC_PAUSE_THRESHOLD)
        if pause_gc:
            gc.disable()
        try:
            self._flush(objects)
        finally:
            self._flushing = False
            if pause_gc:
                gc.enable()

    def _flush(self, objects: Iterable[Any] | None) -> None:
        if "before_flush" in self.dispatch.active:
            self.dispatch.fire("before_flush", self, None, objects)
            if self._is_clean():
                return
        if self._orphan_watch:
            self._expunge_marked_orphans()
        if objects is not None:
            wanted: set[InstanceState] | None = set()
            for o in objects:
                st = instance_state(o)
                if st.session_id != self.hash_key:
                    raise InvalidRequestError(
                        f"Can't flush {describe(o)}: it is not in this Session; add it first"
                    )
                wanted.add(st)  # type: ignore[union-attr]
        else:
            wanted = None
        new = [s for s in self._new if wanted is None or s in wanted]
        deleted = [s for s in self._deleted if wanted is None or s in wanted]
        dirty = [s for s in self._identity_map._modified
                 if s not in self._deleted and (wanted is None or s in wanted)]
        uow = UOWTransaction(self, new, dirty, deleted)
        uow.presort()
        if not uow.new and not uow.dirty and not uow.deleted:
            return
        uow.check()
        plan = uow.build_plan()
        if self.echo_uow or log.isEnabledFor(logging.INFO):
            text_plan = str(plan)
            log.info("%s", text_plan)
            if self.echo_uow:
                print(text_plan)
        if self._transaction is None and not self.autocommit:
            self._autobegin()
        tx = self.begin(_subtrans=True)
        try:
            uow.execute(self._flush_connection)
            self._fire("after_flush", self, uow)
            self._post_flush(uow, tx)
            self._fire("after_flush_postexec", self, uow)
        except BaseException as e:
            uow.undo_generated()
            if tx.state != "closed":
                tx.rollback(_capture_exception=e)
            raise
        tx.commit()

    def _flush_connection(self, mapper: Mapper) -> Connection:
        tx = self._transaction
        assert tx is not None
        return tx._connection_for_bind(self.get_bind(mapper))

    def _post_flush(self, uow: UOWTransaction, tx: SessionTransaction) -> None:
        uow.finalize()
        inserted = uow.inserted
        tx._new.update(dict.fromkeys(inserted, True))
        tx._dirty.update(dict.fromkeys(uow.updated, True))
        pop_new = self._new.pop
        if "pending_to_persistent" in self.dispatch.active:
            for state in inserted:
                obj = pop_new(state, None)
                if obj is not None:
                    self.dispatch.fire("pending_to_persistent", self, obj)
            # a handler may have changed the objects it was given
            self._identity_map._modified.update(s for s in inserted if s.modified)
        else:
            for state in inserted:
                pop_new(state, None)
        for state in uow.removed:
            obj = self._deleted.pop(state, None)
            tx._deleted[state] = obj if obj is not None else state.obj()
            if obj is not None:
                self._fire("persistent_to_deleted", self, obj)
        fin = getattr(self, "_dm_after_finalize", None)
        if fin is not None:
            fin(uow)

    # -- bulk -----------------------------------------------------------------------------------
    def _bulk_update(self, query: Query[Any], values: dict[Any, Any], sync: Any) -> int:
        return bulk_update(self, query, values, sync)

    def _bulk_delete(self, query: Query[Any], sync: Any) -> int:
        return bulk_delete(self, query, sync)

    # -- class-level helpers ------------------------------------------------------------------
    @classmethod
    def object_session(cls, instance: Any) -> Session | None:
        return object_session(instance)

    @classmethod
    def identity_key(cls, class_: Any = None, ident: Any = None, *, instance: Any = None,
                     row: Any = None, identity_token: Any = None) -> tuple[Any, ...]:
        return identity_key(class_, ident, instance=instance, row=row,
                            identity_token=identity_token)

    def __repr__(self) -> str:
        return f"<Session {self.hash_key}>"


def object_session(instance: Any) -> Session | None:
    """The Session ``instance`` belongs to, or None."""
    state = instance_state(instance)
    if state.session_id is None:
        return None
    return _sessions.get(state.session_id)


def identity_key(class_: Any = None, ident: Any = None, *, instance: Any = None,
                 row: Any = None, identity_token: Any = None) -> tuple[Any, ...]:
    """The identity key for a class and primary key, an instance, or a row."""
    if instance is not None:
        if isinstance(instance, type):
            raise UnmappedInstanceError(
                f"Can't make an identity key from the class {instance.__name__}: instance= "
                "takes an object; pass an instance, or the class as identity_key(cls, ident)"
            )
        mapper = _mapper_or_none(type(instance))
        if mapper is None:
            raise UnmappedInstanceError(
                f"Can't make an identity key for {describe(instance)}: class "
                f"{type(instance).__name__} is not mapped; pass an instance of a mapped class"
            )
        return mapper.identity_key_from_instance(instance)
    mapper = class_mapper(class_)
    if row is not None:
        return mapper.identity_key_from_row(row, identity_token)
    if not isinstance(ident, (tuple, list)):
        ident = (ident,)
    return (mapper.class_, tuple(ident), identity_token)


_FOR_UPDATE_FLAGS = frozenset(("read", "nowait", "of", "skip_locked", "key_share"))


def _check_for_update(value: Any, verb: str) -> None:
    """``with_for_update`` is True, or a non-empty dict of Query.with_for_update() flags."""
    if value is True or value is False:
        return
    if isinstance(value, dict) and value and _FOR_UPDATE_FLAGS.issuperset(value):
        return
    if isinstance(value, dict):
        bad = sorted(map(str, set(value) - _FOR_UPDATE_FLAGS))
        why = (f"unknown flag(s) {', '.join(bad)}" if bad else
               "an empty dict asks for no flag, and would take no lock")
    else:
        why = f"{value!r} is neither True nor a dict of flags"
    raise ArgumentError(
        f"Can't {verb} with with_for_update={value!r}: {why}; pass with_for_update=True, "
        f"or a dict of flags among {', '.join(sorted(_FOR_UPDATE_FLAGS))} "
        "(e.g. {'nowait': True})"
    )


def _refuse_unmapped(entity: Any, verb: str) -> None:
    """Raise the named error for an unmapped class (or an object) given where a
    mapped class is expected."""
    if isinstance(entity, type):
        raise UnmappedClassError(
            f"Can't {verb} class {entity.__name__}: it is not mapped; map it with "
            "declarative_base(), registry.map_imperatively() or mapper(), or pass a "
            "mapped class"
        )
    raise UnmappedClassError(
        f"Can't {verb} {describe(entity)}: a mapped class or Mapper is required here, "
        f"not a {type(entity).__name__} object; pass a mapped class"
    )


def _not_executable(statement: Any) -> ObjectNotExecutableError:
    what = (f"the class {statement.__name__}" if isinstance(statement, type)
            else describe(statement))
    err = ObjectNotExecutableError(statement)
    err.args = (
        f"Can't execute {what}: it is not a SQL statement; pass select(...), "
        "insert()/update()/delete(), text(...) or a SQL string",
    )
    return err


def _get_statement(mapper: Mapper, with_for_update: Any) -> Any:
    cache = mapper.__dict__.setdefault("_dm_get_cache", {})
    ck = repr(sorted(with_for_update.items())) if isinstance(with_for_update, dict) else \
        bool(with_for_update)
    stmt = cache.get(ck)
    if stmt is None:
        stmt = core_select(*mapper._load_columns).where(
            sql_and(*[c == bindparam(f"_dm_pk_{i}") for i, c in enumerate(mapper.primary_key)])
        )
        if with_for_update:
            stmt = stmt.with_for_update(**(with_for_update if isinstance(with_for_update, dict)
                                           else {}))
        cache[ck] = stmt
    return stmt


@functools.lru_cache(maxsize=64)
def _pk_param_names(n: int) -> tuple[str, ...]:
    return tuple(f"_dm_pk_{i}" for i in range(n))


def _bind_kw(bind_arguments: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``get_bind()``: ``bind_arguments`` (2.x spelling)
    plus the extra keywords of the call (0.4-0.9 spelling)."""
    if not bind_arguments:
        return kw
    out = dict(bind_arguments)
    out.update(kw)
    return out


def _get_loader(mapper: Mapper) -> EntityLoader:
    loader = mapper.__dict__.get("_dm_get_loader")
    if loader is None or loader.props is not mapper._load_props:
        loader = EntityLoader(mapper)
        mapper._dm_get_loader = loader  # type: ignore[attr-defined]  # cached per mapper
    return loader


def _session_resolver(target: Any, name: str, kw: dict[str, Any]) -> list[event.Dispatch] | None:
    if isinstance(target, Session):
        return [target.dispatch]
    if isinstance(target, type) and issubclass(target, Session):
        return [_dispatch_for_class(target)]
    d = getattr(target, "_dm_session_dispatch", None)
    if isinstance(d, event.Dispatch):
        return [d]
    return None


event.register_resolver(_session_resolver)

__all__ = ["CLOSED", "ClauseElement", "Session", "identity_key", "object_session"]
