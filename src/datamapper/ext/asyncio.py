"""asyncio: ``AsyncSession``, ``async_sessionmaker``, ``async_scoped_session``,
``AsyncAttrs`` and ``AsyncResult`` for engines made with SQLAlchemy's
``create_async_engine()`` (aiosqlite, psycopg's async mode, asyncpg, aiomysql ...).

An ``AsyncSession`` is a datamapper :class:`~datamapper.Session` (``sync_session``)
driven from ``async`` code: each method that may reach the database runs the
Session's own method inside ``greenlet_spawn()``, SQLAlchemy Core's bridge by which the
synchronous code's driver calls await the asyncio driver.  Every ORM behaviour (identity
map, unit of work, cascades, events) is the Session's own.  Results are read
completely before ``execute()``/``scalars()`` return (``stream()`` reads them as they
are iterated).

As with SQLAlchemy, an attribute not loaded yet can't be loaded by plain attribute
access outside ``run_sync()`` (that raises ``MissingGreenlet``): load relationships
eagerly (``selectinload``), ``await session.refresh(obj, ["rel"])``, or read them
through ``AsyncAttrs``: ``await obj.awaitable_attrs.rel``.
"""

from __future__ import annotations

import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast

from sqlalchemy.engine import (
    Connection,
    CursorResult,
    Engine,
    Result,
    Row,
    RowMapping,
    ScalarResult,
)
from sqlalchemy.engine.result import RMKeyView

from .._core import async_connection_for, greenlet_spawn
from .._util import IdentitySet
from ..exc import ArgumentError, InvalidRequestError
from ..instance.identity import IdentityMap
from ..mapping.mapper import class_mapper
from ..session.session import Session, object_session
from ..session.transaction import SessionTransaction

__all__ = [
    "AsyncAttrs", "AsyncResult", "AsyncScalarResult", "AsyncSession", "AsyncSessionTransaction",
    "async_object_session", "async_scoped_session", "async_session", "async_sessionmaker",
    "close_all_sessions",
]

_T = TypeVar("_T")
_O = TypeVar("_O")
_R = TypeVar("_R")  # what a result yields: a Row, a scalar or a mapping
_P = ParamSpec("_P")

_all_sessions: weakref.WeakSet[AsyncSession] = weakref.WeakSet()
# id(sync Session) -> its AsyncSession (async_session(), async_object_session())
_by_sync: dict[int, weakref.ref[AsyncSession]] = {}


def _sync_bind(bind: object) -> Engine | Connection | None:
    """The synchronous Engine or Connection behind an async one (a plain one as is)."""
    if bind is None:
        return None
    sync = getattr(bind, "sync_engine", None)
    if sync is not None:
        return cast(Engine, sync)
    if hasattr(bind, "sync_connection"):
        conn: object = bind.sync_connection
        if conn is None:
            raise InvalidRequestError(
                f"Can't bind an AsyncSession to {bind!r}: the AsyncConnection is not started; "
                "use it inside 'async with engine.connect() as conn:' (or await conn.start())")
        return cast(Connection, conn)
    return cast("Engine | Connection", bind)


def _buffered(result: _T) -> _T:
    """A result whose rows were all read (inside the greenlet), so that reading it
    afterwards needs no database call."""
    if isinstance(result, CursorResult) and not result.returns_rows:
        return result  # DML without rows: its rowcount stays readable
    if isinstance(result, Result):
        return cast("_T", result.freeze()())
    return result


class AsyncSession:
    """A Session for asyncio code (see the module documentation)."""

    sync_session_class: type[Session] = Session

    def __init__(self, bind: object = None, *, binds: dict[object, object] | None = None,
                 sync_session_class: type[Session] | None = None, **kw: Any) -> None:
        self.bind = bind
        self.binds = binds
        if sync_session_class is not None:
            self.sync_session_class = sync_session_class
        sync_binds = ({k: _sync_bind(v) for k, v in binds.items()}
                      if binds is not None else None)
        self.sync_session: Session = self.sync_session_class(
            bind=_sync_bind(bind), binds=sync_binds, **kw)
        _all_sessions.add(self)
        key = id(self.sync_session)

        def forget(_ref: object, key: int = key) -> None:
            _by_sync.pop(key, None)

        _by_sync[key] = weakref.ref(self, forget)

    # ---------------------------------------------------------------- no I/O
    def add(self, instance: object, _warn: bool = True) -> None:
        self.sync_session.add(instance)

    def add_all(self, instances: Iterable[object]) -> None:
        self.sync_session.add_all(instances)

    def expunge(self, instance: object) -> None:
        self.sync_session.expunge(instance)

    def expunge_all(self) -> None:
        self.sync_session.expunge_all()

    def expire(self, instance: object, attribute_names: Iterable[str] | None = None) -> None:
        self.sync_session.expire(instance, attribute_names)

    def expire_all(self) -> None:
        self.sync_session.expire_all()

    def is_modified(self, instance: object, include_collections: bool = True) -> bool:
        return self.sync_session.is_modified(instance, include_collections)

    def in_transaction(self) -> bool:
        return self.sync_session.in_transaction()

    def in_nested_transaction(self) -> bool:
        return self.sync_session.in_nested_transaction()

    def get_bind(self, mapper: object = None, clause: object = None, **kw: object) -> Any:
        return self.sync_session.get_bind(mapper, clause, **kw)

    def __contains__(self, instance: object) -> bool:
        return instance in self.sync_session

    def __iter__(self) -> Iterator[object]:
        return iter(self.sync_session)

    @property
    def identity_map(self) -> IdentityMap:
        return self.sync_session.identity_map

    @property
    def new(self) -> IdentitySet:
        return self.sync_session.new

    @property
    def dirty(self) -> IdentitySet:
        return self.sync_session.dirty

    @property
    def deleted(self) -> IdentitySet:
        return self.sync_session.deleted

    @property
    def info(self) -> dict[Any, Any]:
        return self.sync_session.info

    @property
    def is_active(self) -> bool:
        return self.sync_session.is_active

    @property
    def autoflush(self) -> bool:
        return self.sync_session.autoflush

    @autoflush.setter
    def autoflush(self, value: bool) -> None:
        self.sync_session.autoflush = value

    @property
    def no_autoflush(self) -> AbstractContextManager[object]:
        return cast("AbstractContextManager[object]", self.sync_session.no_autoflush)

    def get_transaction(self) -> AsyncSessionTransaction | None:
        tx = self.sync_session.get_transaction()
        return AsyncSessionTransaction._for(self, tx) if tx is not None else None

    def get_nested_transaction(self) -> AsyncSessionTransaction | None:
        tx = self.sync_session.get_nested_transaction()
        return AsyncSessionTransaction._for(self, tx) if tx is not None else None

    # ---------------------------------------------------------------- I/O
    async def execute(self, statement: object, params: object = None, **kw: object) -> Any:
        """Run ``statement``; the result is read completely before it is returned."""
        def run() -> Any:
            return _buffered(self.sync_session.execute(statement, params, **kw))
        return await greenlet_spawn(run)

    async def scalar(self, statement: object, params: object = None, **kw: Any) -> Any:
        return await greenlet_spawn(self.sync_session.scalar, statement, params, **kw)

    async def scalars(self, statement: object, params: object = None,
                      **kw: object) -> ScalarResult[Any]:
        result = await self.execute(statement, params, **kw)
        return cast("ScalarResult[Any]", result.scalars())

    async def stream(self, statement: object, params: object = None, **kw: Any) -> AsyncResult:
        """Run ``statement``; rows are read from the database as the result is
        iterated (``async for row in result``)."""
        opts = dict(kw.pop("execution_options", None) or {})
        opts.setdefault("stream_results", True)
        result = await greenlet_spawn(self.sync_session.execute, statement, params,
                                      execution_options=opts, **kw)
        return AsyncResult(result)

    async def stream_scalars(self, statement: object, params: object = None,
                             **kw: object) -> AsyncScalarResult[Any]:
        return (await self.stream(statement, params, **kw)).scalars()

    async def get(self, entity: type[_O], ident: object, **kw: Any) -> _O | None:
        return cast("_O | None", await greenlet_spawn(self.sync_session.get, entity, ident,
                                                        **kw))

    async def get_one(self, entity: type[_O], ident: object, **kw: Any) -> _O:
        return cast("_O", await greenlet_spawn(self.sync_session.get_one, entity, ident, **kw))

    async def refresh(self, instance: object, attribute_names: Iterable[str] | None = None,
                      with_for_update: object = None) -> None:
        """Reload ``instance``'s attributes.  Relationship names are loaded too (as in
        SQLAlchemy 2.x: the way to load a relationship in asyncio code), where the
        synchronous Session's refresh() reloads columns only (the documents' rule)."""
        def run() -> None:
            sync = self.sync_session
            if attribute_names is None:
                sync.refresh(instance, with_for_update=with_for_update)
                return
            names = list(attribute_names)
            rels = set(class_mapper(type(instance)).relationships.keys())
            columns = [n for n in names if n not in rels]
            if columns:
                sync.refresh(instance, columns, with_for_update=with_for_update)
            related = [n for n in names if n in rels]
            if related:
                sync.expire(instance, related)
                for name in related:
                    getattr(instance, name)
        await greenlet_spawn(run)

    async def merge(self, instance: _O, load: bool = True, **kw: Any) -> _O:
        return cast("_O", await greenlet_spawn(self.sync_session.merge, instance, load, **kw))

    async def delete(self, instance: object) -> None:
        """Mark ``instance`` deleted (async: the delete cascade may load related rows)."""
        await greenlet_spawn(self.sync_session.delete, instance)

    async def flush(self, objects: Sequence[object] | None = None) -> None:
        await greenlet_spawn(self.sync_session.flush, objects)

    async def commit(self) -> None:
        await greenlet_spawn(self.sync_session.commit)

    async def rollback(self) -> None:
        await greenlet_spawn(self.sync_session.rollback)

    async def close(self) -> None:
        await greenlet_spawn(self.sync_session.close)

    async def reset(self) -> None:
        await greenlet_spawn(self.sync_session.reset)

    async def invalidate(self) -> None:
        await greenlet_spawn(self.sync_session.invalidate)

    async def connection(self, **kw: Any) -> Any:
        """The AsyncConnection of this session's transaction."""
        sync_conn = await greenlet_spawn(self.sync_session.connection, **kw)
        found = async_connection_for(self.bind, sync_conn)
        if found is None:
            raise InvalidRequestError(
                "Can't give the AsyncConnection of this AsyncSession: it is not bound to an "
                "AsyncEngine; use await session.run_sync(lambda s: s.connection()...)")
        return found

    async def run_sync(self, fn: Callable[Concatenate[Session, _P], _T], *args: _P.args,
                       **kw: _P.kwargs) -> _T:
        """``fn(sync_session, *args, **kw)`` run where plain (synchronous) ORM code, lazy
        loads included, may reach the database."""
        sync = self.sync_session
        return cast("_T", await greenlet_spawn(lambda: fn(sync, *args, **kw)))

    def begin(self) -> AsyncSessionTransaction:
        """``async with session.begin():`` commits at the end (rolls back on error)."""
        return AsyncSessionTransaction(self)

    def begin_nested(self) -> AsyncSessionTransaction:
        return AsyncSessionTransaction(self, nested=True)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @classmethod
    async def close_all(cls) -> None:
        await close_all_sessions()

    def __repr__(self) -> str:
        return f"<AsyncSession of {self.sync_session!r}>"


class AsyncSessionTransaction:
    """A transaction of an AsyncSession: ``async with session.begin():`` or
    ``tx = await session.begin()`` then ``await tx.commit()``."""

    def __init__(self, session: AsyncSession, nested: bool = False) -> None:
        self.session = session
        self.nested = nested
        self.sync_transaction: SessionTransaction | None = None

    @classmethod
    def _for(cls, session: AsyncSession, sync_tx: SessionTransaction) -> AsyncSessionTransaction:
        tx = cls(session, nested=bool(sync_tx.nested))
        tx.sync_transaction = sync_tx
        return tx

    async def start(self) -> AsyncSessionTransaction:
        sync = self.session.sync_session
        self.sync_transaction = await greenlet_spawn(
            sync.begin_nested if self.nested else sync.begin)
        return self

    def __await__(self) -> Generator[object, None, AsyncSessionTransaction]:
        return self.start().__await__()

    @property
    def is_active(self) -> bool:
        return self.sync_transaction is not None and bool(self.sync_transaction.is_active)

    async def commit(self) -> None:
        await greenlet_spawn(self._started().commit)

    async def rollback(self) -> None:
        await greenlet_spawn(self._started().rollback)

    def _started(self) -> SessionTransaction:
        if self.sync_transaction is None:
            raise InvalidRequestError(
                "Can't end this AsyncSessionTransaction: it was not started; await it or "
                "use 'async with session.begin():'")
        return self.sync_transaction

    async def __aenter__(self) -> AsyncSessionTransaction:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        tx = self._started()
        if exc_type is None:
            if tx.is_active:
                await greenlet_spawn(tx.commit)
        elif tx.is_active:
            await greenlet_spawn(tx.rollback)


class _AsyncCommon(Generic[_R]):
    """What AsyncResult and AsyncScalarResult share: a synchronous result whose
    database reads run in the greenlet (``real``: a Result, ScalarResult or
    MappingResult yielding ``_R``)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    async def close(self) -> None:
        await greenlet_spawn(self._real.close)

    @property
    def closed(self) -> bool:
        return bool(getattr(self._real, "closed", False))

    def __aiter__(self) -> AsyncIterator[_R]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[_R]:
        while True:
            row = await greenlet_spawn(self._next)
            if row is _DONE:
                return
            yield cast("_R", row)

    def _next(self) -> object:
        try:
            return next(self._real)
        except StopIteration:
            return _DONE

    async def all(self) -> Sequence[_R]:
        return cast("Sequence[_R]", await greenlet_spawn(self._real.all))

    async def fetchmany(self, size: int | None = None) -> Sequence[_R]:
        return cast("Sequence[_R]", await greenlet_spawn(self._real.fetchmany, size))

    async def fetchall(self) -> Sequence[_R]:
        return cast("Sequence[_R]", await greenlet_spawn(self._real.fetchall))

    async def first(self) -> _R | None:
        return cast("_R | None", await greenlet_spawn(self._real.first))

    async def one(self) -> _R:
        return cast("_R", await greenlet_spawn(self._real.one))

    async def one_or_none(self) -> _R | None:
        return cast("_R | None", await greenlet_spawn(self._real.one_or_none))

    async def partitions(self, size: int | None = None) -> AsyncIterator[Sequence[_R]]:
        while True:
            part = await greenlet_spawn(self._real.fetchmany, size)
            if not part:
                return
            yield part


_DONE = object()


class AsyncResult(_AsyncCommon["Row[Any]"]):
    """A streamed result for asyncio code (``await session.stream(stmt)``)."""

    def keys(self) -> RMKeyView:
        return cast(RMKeyView, self._real.keys())

    def unique(self, strategy: object = None) -> AsyncResult:
        self._real = self._real.unique(strategy)
        return self

    def scalars(self, index: int = 0) -> AsyncScalarResult[Any]:
        return AsyncScalarResult(self._real.scalars(index))

    def mappings(self) -> AsyncScalarResult[RowMapping]:
        return AsyncScalarResult(self._real.mappings())

    async def fetchone(self) -> Row[Any] | None:
        return cast("Row[Any] | None", await greenlet_spawn(self._real.fetchone))

    async def scalar(self) -> Any:
        return await greenlet_spawn(self._real.scalar)

    async def scalar_one(self) -> Any:
        return await greenlet_spawn(self._real.scalar_one)

    async def scalar_one_or_none(self) -> Any:
        return await greenlet_spawn(self._real.scalar_one_or_none)


class AsyncScalarResult(_AsyncCommon[_R]):
    """The scalar (or mapping) view of an AsyncResult."""

    def unique(self, strategy: object = None) -> AsyncScalarResult[_R]:
        self._real = self._real.unique(strategy)
        return self


class async_sessionmaker(Generic[_T]):  # noqa: N801  (the name users know)
    """A factory of AsyncSessions with fixed arguments, like ``sessionmaker``."""

    def __init__(self, bind: object = None, *, class_: type[Any] = AsyncSession,
                 autoflush: bool = True, expire_on_commit: bool = True,
                 info: dict[Any, Any] | None = None, **kw: object) -> None:
        self.class_ = class_
        self.kw: dict[str, Any] = {"bind": bind, "autoflush": autoflush,
                                   "expire_on_commit": expire_on_commit, **kw}
        if info is not None:
            self.kw["info"] = info

    def __call__(self, **local_kw: Any) -> Any:
        kw = dict(self.kw)
        if "info" in kw and "info" in local_kw:
            kw["info"] = {**kw["info"], **local_kw.pop("info")}
        kw.update(local_kw)
        return self.class_(**kw)

    def configure(self, **kw: object) -> None:
        self.kw.update(kw)

    def begin(self) -> _BeginContext:
        """``async with maker.begin() as session:`` commits at the end and closes."""
        return _BeginContext(self())

    def __repr__(self) -> str:
        return f"async_sessionmaker(class_={self.class_.__name__!r}, {self.kw!r})"


class _BeginContext:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tx = AsyncSessionTransaction(session)

    async def __aenter__(self) -> AsyncSession:
        await self.tx.start()
        return self.session

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.tx.__aexit__(exc_type, exc, tb)
        finally:
            await self.session.close()


class async_scoped_session:  # noqa: N801  (the name users know)
    """One AsyncSession per scope (``scopefunc()``, e.g. ``asyncio.current_task``); the
    registry's attributes and methods are the current scope's session's."""

    def __init__(self, session_factory: Callable[..., AsyncSession],
                 scopefunc: Callable[[], object]) -> None:
        if scopefunc is None:
            raise ArgumentError("async_scoped_session() needs scopefunc=, e.g. "
                                "asyncio.current_task")
        self.session_factory = session_factory
        self.scopefunc = scopefunc
        self.registry: dict[object, AsyncSession] = {}

    def __call__(self, **kw: object) -> AsyncSession:
        key = self.scopefunc()
        found = self.registry.get(key)
        if found is None:
            found = self.registry[key] = self.session_factory(**kw)
        elif kw:
            raise InvalidRequestError(
                "Can't pass arguments to this scope's AsyncSession: it already exists; "
                "await remove() first")
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self(), name)

    async def remove(self) -> None:
        """Close the current scope's session and forget it."""
        key = self.scopefunc()
        found = self.registry.pop(key, None)
        if found is not None:
            await found.close()


class _AwaitableAttrs:
    __slots__ = ("_obj",)

    def __init__(self, obj: object) -> None:
        self._obj = obj

    def __getattr__(self, name: str) -> Awaitable[Any]:
        return greenlet_spawn(getattr, self._obj, name)


class AsyncAttrs:
    """Mixin for mapped classes: ``await obj.awaitable_attrs.name`` reads any attribute,
    loading it first if it is not loaded."""

    @property
    def awaitable_attrs(self) -> _AwaitableAttrs:
        return _AwaitableAttrs(self)


def async_object_session(instance: object) -> AsyncSession | None:
    """The AsyncSession ``instance`` belongs to, if any."""
    session = object_session(instance)
    return async_session(session) if session is not None else None


def async_session(session: Session) -> AsyncSession | None:
    """The AsyncSession driving ``session`` (a synchronous Session), if any."""
    ref = _by_sync.get(id(session))
    found = ref() if ref is not None else None
    return found if found is not None and found.sync_session is session else None


async def close_all_sessions() -> None:
    """Close every AsyncSession still alive."""
    for session in list(_all_sessions):
        await session.close()

