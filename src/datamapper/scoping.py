"""Contextual sessions: :class:`scoped_session` and the registries behind it.

Callers: applications that want one Session per thread (or per request, or
any other scope) without passing it around.  ``Session = scoped_session(
sessionmaker(bind=engine))`` gives an object that hands out the Session of the
current scope when called, and forwards every Session method and property to
that Session, so ``Session.add(obj)`` and ``Session.commit()`` work at the
"class" level.  Built only on the public session API (layer L6).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .exc import InvalidRequestError, UnmappedClassError
from .mapping import class_mapper
from .session import Session

T = TypeVar("T")


class ScopedRegistry(Generic[T]):
    """Holds one object per scope; ``scopefunc()`` names the current scope.

    Calling the registry returns the current scope's object, creating it with
    ``createfunc()`` the first time.  The store is a plain dict keyed by the
    scope token, so whoever owns the scopes must :meth:`clear` each one when
    it ends.
    """

    def __init__(self, createfunc: Callable[[], T], scopefunc: Callable[[], Any]) -> None:
        self.createfunc = createfunc
        self.scopefunc = scopefunc
        self.registry: dict[Any, T] = {}

    def __call__(self) -> T:
        scope = self.scopefunc()
        try:
            return self.registry[scope]
        except KeyError:
            return self.registry.setdefault(scope, self.createfunc())

    def has(self) -> bool:
        """Is there an object for the current scope?"""
        return self.scopefunc() in self.registry

    def set(self, obj: T) -> None:
        """Make ``obj`` the current scope's object."""
        self.registry[self.scopefunc()] = obj

    def clear(self) -> None:
        """Forget the current scope's object, if any."""
        self.registry.pop(self.scopefunc(), None)


class ThreadLocalRegistry(ScopedRegistry[T]):
    """A :class:`ScopedRegistry` whose scope is the current thread.

    Storage is a ``threading.local()``, so a thread's object goes away with
    the thread even if nobody clears it.
    """

    def __init__(self, createfunc: Callable[[], T]) -> None:
        self.createfunc = createfunc
        self.scopefunc = threading.get_ident
        self._local = threading.local()

    def __call__(self) -> T:
        try:
            return self._local.value  # type: ignore[no-any-return]  # threading.local is untyped
        except AttributeError:
            value = self._local.value = self.createfunc()
            return value

    def has(self) -> bool:
        return hasattr(self._local, "value")

    def set(self, obj: T) -> None:
        self._local.value = obj

    def clear(self) -> None:
        try:
            del self._local.value
        except AttributeError:
            pass


class scoped_session:  # noqa: N801 - the documented name
    """A registry of Sessions, one per scope (the current thread unless ``scopefunc``
    is given), that also acts as the current Session through proxies."""

    session_factory: Callable[..., Session]
    registry: ScopedRegistry[Session]

    def __init__(self, session_factory: Callable[..., Session],
                 scopefunc: Callable[[], Any] | None = None) -> None:
        self.session_factory = session_factory
        if scopefunc is not None:
            self.registry = ScopedRegistry(session_factory, scopefunc)
        else:
            self.registry = ThreadLocalRegistry(session_factory)

    def __call__(self, **kw: object) -> Session:
        """The current scope's Session, made with ``session_factory(**kw)`` if there is none."""
        if not kw:
            return self.registry()
        if self.registry.has():
            raise InvalidRequestError(
                f"Can't create a Session with arguments {', '.join(sorted(kw))}: this scope "
                "already has a Session; call remove() first, or call without arguments to "
                "get the existing one"
            )
        session = self.session_factory(**kw)
        self.registry.set(session)
        return session

    def has(self) -> bool:
        """Does the current scope have a Session yet?"""
        return self.registry.has()

    def remove(self) -> None:
        """Close the current scope's Session (rolling back, releasing connections) and
        forget it; the next call makes a new one."""
        if self.registry.has():
            self.registry().close()
        self.registry.clear()

    def configure(self, **kw: object) -> None:
        """Change the settings the session factory gives Sessions made from now on."""
        if self.registry.has():
            warnings.warn(
                "scoped_session.configure(): this scope already has a Session, which keeps "
                "its settings; only Sessions made after remove() get the new ones",
                stacklevel=2,
            )
        configure = getattr(self.session_factory, "configure", None)
        if configure is None:
            raise InvalidRequestError(
                f"Can't configure {self.session_factory!r}: it has no configure() method; "
                "use a sessionmaker as the session factory"
            )
        configure(**kw)

    def query_property(self, query_cls: Callable[..., Any] | None = None) -> _QueryProperty:
        """A class attribute giving a Query of the class in the current Session.

        ``query_cls``, if given, is called as ``query_cls(mapper, session=session)``.
        Read on an unmapped class, the attribute is None.
        """
        return _QueryProperty(self, query_cls)

    # -- proxies that need real dunder methods ------------------------------------------
    def __contains__(self, instance: object) -> bool:
        return instance in self.registry()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.registry())

    def __repr__(self) -> str:
        return f"<scoped_session of {self.session_factory!r}>"

    if TYPE_CHECKING:
        # the proxies below are installed at import time; tell type checkers about them
        def __getattr__(self, name: str) -> Any: ...


class _QueryProperty:
    def __init__(self, scoped: scoped_session, query_cls: Callable[..., Any] | None) -> None:
        self.scoped = scoped
        self.query_cls = query_cls

    def __get__(self, instance: object, owner: type) -> Any:
        try:
            mapper = class_mapper(owner)
        except UnmappedClassError:
            return None
        session = self.scoped.registry()
        if self.query_cls is not None:
            return self.query_cls(mapper, session=session)
        return session.query(mapper)


_METHODS = (
    "add", "add_all", "begin", "begin_nested", "bind_mapper", "bind_table",
    "bulk_insert_mappings", "bulk_save_objects", "bulk_update_mappings", "close",
    "commit", "connection", "delete", "enable_relationship_loading", "execute", "expire",
    "expire_all", "expunge",
    "expunge_all", "flush", "get", "get_bind", "get_one", "get_nested_transaction",
    "get_transaction", "reset",
    "in_nested_transaction", "in_transaction", "invalidate", "is_modified", "merge", "merge_all",
    "delete_all",
    "prepare", "query", "refresh", "rollback", "scalar", "scalars",
    # legacy names of the 0.3/0.4 documents
    "clear", "clear_all", "create_transaction", "load", "prune", "save", "save_or_update",
    "update",
)
_PROPERTIES = (
    "autobegin", "autocommit", "autoflush", "bind", "binds", "deleted", "dirty",
    "expire_on_commit", "identity_map", "info", "is_active", "new", "no_autoflush", "transaction", "twophase",
)
_CLASS_METHODS = ("close_all", "identity_key", "object_session")


def _proxy_method(name: str) -> Callable[..., object]:
    def proxy(self: scoped_session, *args: object, **kw: object) -> Any:
        return getattr(self.registry(), name)(*args, **kw)

    proxy.__name__ = name
    proxy.__doc__ = f"Call ``{name}()`` on the current scope's Session."
    return proxy


def _proxy_property(name: str) -> property:
    def fget(self: scoped_session) -> Any:
        return getattr(self.registry(), name)

    def fset(self: scoped_session, value: object) -> None:
        setattr(self.registry(), name, value)

    return property(fget, fset, doc=f"``{name}`` of the current scope's Session.")


def _proxy_classmethod(name: str) -> Callable[..., object]:
    def proxy(self: scoped_session, *args: object, **kw: object) -> Any:
        return getattr(Session, name)(*args, **kw)

    proxy.__name__ = name
    proxy.__doc__ = f"``Session.{name}()``; needs no current Session."
    return proxy


for _name in _METHODS:
    setattr(scoped_session, _name, _proxy_method(_name))
for _name in _PROPERTIES:
    setattr(scoped_session, _name, _proxy_property(_name))
for _name in _CLASS_METHODS:
    setattr(scoped_session, _name, _proxy_classmethod(_name))
del _name

__all__ = ["ScopedRegistry", "ThreadLocalRegistry", "scoped_session"]
