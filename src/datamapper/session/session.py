"""The :class:`Session`: unit of work plus identity map.

Callers: applications, ``sessionmaker``, ``scoped_session``.  The Session is
a facade: object bookkeeping lives in the instance layer, flushing in the
unit of work, SQL building in the query and persistence layers, and the
transaction stack in :mod:`.transaction`.  The class is assembled from one
part per concern (see :mod:`.base` for the list); what stays in this module
is construction, settings, events and ``close``.
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.sql.elements import ClauseElement

from .. import event
from .._util import IdentitySet, describe
from ..exc import (
    ArgumentError,
    UnmappedInstanceError,
)
from ..instance.identity import IdentityMap
from ..instance.state import (
    InstanceState,
    _sessions,
    instance_state,
)
from ..mapping.mapper import _mapper_or_none, class_mapper
from ..query import Query
from ..query.events import query_class_dispatch
from .base import SessionBase
from .binds import SessionBinds
from .deleting import SessionDelete
from .execute import SessionExecute
from .expire import SessionExpire
from .flushing import SessionFlush
from .get import SessionGet
from .legacy_names import LegacySessionMethods
from .membership import SessionMembership
from .ownership import OwnerGuard, exclusive
from .transaction import CLOSED, SessionTransaction
from .tx_connections import JOIN_TRANSACTION_MODES
from .tx_control import SessionTxControl
from .tx_objects import SessionTxObjects

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


class Session(LegacySessionMethods, SessionTxControl, SessionMembership, SessionDelete,
              SessionTxObjects, SessionGet, SessionExpire, SessionExecute, SessionFlush,
              SessionBinds, SessionBase):
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
        future: bool = False,
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
        # future=True: SQLAlchemy 2.x semantics where they differ from the documents
        # (README "Session(future=True)"); the default is the documents' behaviour
        self.future = bool(future)
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
        self._map_generation = 0
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
        # while a statement's eager loaders run: its execution options, which they reuse
        self._eager_exec_opts: dict[str, Any] | None = None
        self._eager_user_opts: tuple[Any, ...] = ()  # and its propagating user options
        self._flush_loading = False  # the flush loading what it needs: neither does it
        self._no_autoflush = 0
        self._order = itertools.count(1)
        self._binds: dict[Any, Any] = {}
        self._table_binds_of_mappers: dict[Any, Any] = {}  # see SessionBinds._add_bind
        self._binds_view: Any = None  # the binds property, built on first read
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
        self._close_transactions()
        self._transaction = None

    @exclusive
    def invalidate(self) -> None:
        self._close_transactions(invalidate=True)
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


if TYPE_CHECKING:
    from .transaction import TransactionHost

    def _implements_host(session: Session) -> TransactionHost:
        return session  # the type checker verifies the Session side of the seam


def object_session(instance: Any) -> Session | None:
    """The Session ``instance`` belongs to, or None."""
    state = instance_state(instance)
    if state.session_id is None:
        return None
    # (only Sessions enter the registry)
    return cast("Session | None", _sessions.get(state.session_id))


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
    return (mapper._identity_class, tuple(ident), identity_token)


def session_event_resolver(target: Any, name: str, kw: dict[str, Any]) -> list[event.Dispatch] | None:
    if isinstance(target, Session):
        return [target.dispatch]
    if isinstance(target, type) and issubclass(target, Session):
        return [_dispatch_for_class(target)]
    if isinstance(target, type) and issubclass(target, Query):
        return [query_class_dispatch(target)]
    d = getattr(target, "_dm_session_dispatch", None)
    if isinstance(d, event.Dispatch):
        return [d]
    factory = getattr(target, "session_factory", None)
    if factory is not None and hasattr(target, "registry"):
        # a scoped_session: the listeners go on what makes its sessions
        return session_event_resolver(factory, name, kw) or _refuse_scoped(target, name)
    return None


def _refuse_scoped(target: Any, name: str) -> list[event.Dispatch]:
    raise ArgumentError(
        f"Can't listen for {name!r} on {target!r}: its session factory "
        f"{target.session_factory!r} is neither a sessionmaker nor a Session class, so no "
        "Session class stands behind it; build the scoped_session from a sessionmaker, "
        "or listen on the sessions it makes"
    )


__all__ = ["CLOSED", "ClauseElement", "Session", "identity_key", "object_session"]
