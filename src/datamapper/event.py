"""Event registration: ``listen``, ``listens_for``, ``remove``, ``contains``.

This module is generic: it knows nothing of sessions or mappers.  Higher
layers own a :class:`Dispatch` per event target and register a *resolver*
that turns a user-facing target (a Session, a sessionmaker, the Session
class, a mapped class, a Mapper, a mapped attribute) into that Dispatch.
Firing code calls ``dispatch.fire(name, ...)`` only when ``name in dispatch``
so that an unobserved event costs one set lookup.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import InvalidRequestError

from ._core import event_classes_for, event_key_fn

Listener = Callable[..., Any]


class Dispatch:
    """The listeners of one event target, with an optional parent target.

    Listeners of the parent (for example the Session class) fire before the
    target's own (for example one session).  ``active`` caches the names with
    at least one listener here or in a parent.
    """

    __slots__ = ("kind", "names", "parents", "_own", "_children", "_prune_at", "active",
                 "__weakref__")

    def __init__(
        self, kind: str, names: frozenset[str], parents: tuple[Dispatch, ...] = ()
    ) -> None:
        self.kind = kind
        self.names = names
        self.parents = parents
        self._own: dict[str, list[tuple[Listener, dict[str, Any]]]] = {}
        self._children: list[Any] = []
        self._prune_at = _PRUNE_MIN
        self.active: frozenset[str] = frozenset()
        for p in parents:
            p._add_child(self)
        self._refresh()

    def _add_child(self, child: Dispatch) -> None:
        """Remember ``child`` (weakly) to refresh when listeners change here.  The
        references of children that are gone are dropped once their number has doubled
        since the last sweep: a target made per unit of work (a Session per request)
        leaves nothing behind, at a cost spread over the children added."""
        kids = self._children
        kids.append(_weak(child))
        if len(kids) >= self._prune_at:
            self._children = kids = [ref for ref in kids if ref() is not None]
            self._prune_at = max(_PRUNE_MIN, 2 * len(kids))

    def _refresh(self) -> None:
        names: set[str] = {n for n, ls in self._own.items() if ls}
        for p in self.parents:
            names |= p.active
        self.active = frozenset(names)
        alive = []
        for ref in self._children:
            child = ref()
            if child is not None:
                child._refresh()
                alive.append(ref)
        self._children = alive

    def __contains__(self, name: str) -> bool:
        return name in self.active

    def listeners(self, name: str) -> list[tuple[Listener, dict[str, Any]]]:
        out: list[tuple[Listener, dict[str, object]]] = []
        for p in self.parents:
            out.extend(p.listeners(name))
        out.extend(self._own.get(name, ()))
        return out

    def fire(self, name: str, *args: object, **kw: object) -> None:
        for fn, _opts in self.listeners(name):
            fn(*args, **kw)

    def fire_retval(self, name: str, value: object, *args: object) -> object:
        """Fire listeners that may replace ``value`` (attribute ``set``/``append``)."""
        for fn, opts in self.listeners(name):
            result = fn(*args[:1], value, *args[1:])
            if opts.get("retval"):
                value = result
        return value

    def add(self, name: str, fn: Listener, opts: dict[str, Any]) -> None:
        if name not in self.names:
            raise InvalidRequestError(
                f"Can't listen for {name!r} on a {self.kind}: no such event; "
                f"the {self.kind} events are {', '.join(sorted(self.names))}"
            )
        lst = self._own.setdefault(name, [])
        if opts.get("insert"):
            lst.insert(0, (fn, opts))
        else:
            lst.append((fn, opts))
        self._refresh()

    def discard(self, name: str, fn: Listener, propagated_only: bool = False) -> bool:
        """Remove ``fn`` from ``name``'s own listeners (with ``propagated_only``: only
        where it was added with propagate=True); whether it was there."""
        lst = self._own.get(name, [])
        for i, (f, o) in enumerate(lst):
            if f is fn and (not propagated_only or o.get("propagate")):
                del lst[i]
                self._refresh()
                return True
        return False

    def propagated(self) -> list[tuple[str, Listener, dict[str, Any]]]:
        """(event, listener, options) of the own listeners added with propagate=True:
        the ones a subclass target inherits."""
        return [(name, fn, opts) for name, ls in self._own.items()
                for fn, opts in ls if opts.get("propagate")]

    def has_own(self, name: str, fn: Listener) -> bool:
        return any(f is fn for f, _o in self._own.get(name, ()))

    def __getattr__(self, name: str) -> EventView:
        # dispatch.before_flush: one event's listeners (``fn in ...``), callable to fire
        if name in self.names:
            return EventView(self, name)
        raise AttributeError(f"{self.kind} has no event {name!r}")


class EventView:
    """One event of a :class:`Dispatch`: iterate or test its listeners, or call it to
    fire it."""

    __slots__ = ("_dispatch", "_name")

    def __init__(self, dispatch: Dispatch, name: str) -> None:
        self._dispatch = dispatch
        self._name = name

    def __call__(self, *args: object, **kw: object) -> None:
        self._dispatch.fire(self._name, *args, **kw)

    def __iter__(self) -> Any:
        return iter([fn for fn, _opts in self._dispatch.listeners(self._name)])

    def __contains__(self, fn: object) -> bool:
        return any(f is fn for f, _opts in self._dispatch.listeners(self._name))

    def __len__(self) -> int:
        return len(self._dispatch.listeners(self._name))

    def __bool__(self) -> bool:
        return self._name in self._dispatch.active


_PRUNE_MIN = 64  # children a Dispatch keeps before its first sweep of the dead ones


def _weak(d: Dispatch) -> object:
    return weakref.ref(d)


Resolver = Callable[[Any, str, dict[str, Any]], "list[Dispatch] | None"]
_resolvers: list[Resolver] = []


def register_resolver(fn: Resolver) -> None:
    """Let a higher layer say which Dispatch(es) a user-facing target means."""
    _resolvers.append(fn)


def _resolve(target: object, name: str, kw: dict[str, Any]) -> list[Dispatch]:
    for r in reversed(_resolvers):
        found = r(target, name, kw)
        if found is not None:
            return found
    raise InvalidRequestError(
        f"Can't listen for {name!r} on {target!r}: it is not an event target; "
        "listen on a Session, sessionmaker, the Session class, a mapped class, "
        "a Mapper or a mapped attribute"
    )


def listen(target: object, identifier: str, fn: Listener, **kw: object) -> None:
    """Call ``fn`` whenever event ``identifier`` happens on ``target``."""
    for d in _resolve(target, identifier, kw):
        d.add(identifier, fn, kw)


def listens_for(target: object, identifier: str, **kw: object) -> Callable[[Listener], Listener]:
    """Decorator form of :func:`listen`."""

    def deco(fn: Listener) -> Listener:
        listen(target, identifier, fn, **kw)
        return fn

    return deco


def remove(target: object, identifier: str, fn: Listener) -> None:
    """Undo a :func:`listen`; raises if it was never registered."""
    removed = False
    for d in _resolve(target, identifier, {}):
        removed = d.discard(identifier, fn) or removed
    if not removed:
        raise InvalidRequestError(
            f"Can't remove listener {fn!r} for {identifier!r} on {target!r}: "
            "it is not registered there"
        )


def contains(target: object, identifier: str, fn: Listener) -> bool:
    """True if ``fn`` listens for ``identifier`` on ``target``."""
    return any(d.has_own(identifier, fn) for d in _resolve(target, identifier, {}))


# -- sqlalchemy.event.listen() on datamapper targets -------------------------------------------
# Core's ``sqlalchemy.event`` finds, for an event name, the event classes that declared it
# and asks each in turn whether it takes the target.  ``bridge_core_events`` declares our
# event names to Core in one class placed first for each name: for a datamapper target it
# hands the listener to :func:`listen` above (so it fires as ours do); for anything else it
# declines and Core asks the next class (SQLAlchemy's own ORM events included).  Removing
# such a listener is done with :func:`remove` of this module: Core's ``event.remove`` does
# not know it, and says so.

class _CoreTarget:
    """What the bridge gives Core as the dispatch target of a datamapper target."""

    __slots__ = ("target",)
    dispatch: object = None  # the bridge class's Core dispatcher, set per bridge class

    def __init__(self, target: Any) -> None:
        self.target = target


def _of_sqlalchemy_orm(target: object) -> bool:
    """True for SQLAlchemy's own ORM targets: its classes (``Mapper``, ``Session``,
    ``DeclarativeBase`` and what derives from them) and their instances, and classes it
    instruments.  Their listeners are SQLAlchemy's business, even in a program that
    also uses datamapper."""
    cls = target if isinstance(target, type) else type(target)
    if any(c.__module__.startswith("sqlalchemy.orm") for c in cls.__mro__):
        return True
    return isinstance(target, type) and any("_sa_class_manager" in vars(c) for c in cls.__mro__)


def _core_accept(cls: Any, /, target: object, identifier: str) -> object:
    if isinstance(target, _CoreTarget) or _of_sqlalchemy_orm(target):
        return None
    try:
        _resolve(target, identifier, {})
    except InvalidRequestError:
        return None  # not ours: Core asks the next event class
    return cls._dm_target_cls(target)


def _core_listen(cls: Any, /, event_key: Any, **kw: Any) -> None:
    listen(event_key.dispatch_target.target, event_key.identifier, event_key_fn(event_key), **kw)


def _core_stub(self: object, *args: object, **kw: object) -> None:
    """(declares an event name to Core; never called)"""


def bridge_core_events(names: frozenset[str]) -> None:
    """Make ``sqlalchemy.event.listen(target, name, fn)`` / ``listens_for`` work for
    datamapper targets (mapped classes, Mappers, mapped attributes, Sessions,
    sessionmakers, the Session class) and the event ``names``."""
    from sqlalchemy import event as core_event

    target_cls: Any = type("DatamapperEventTarget", (_CoreTarget,), {"__slots__": ()})
    namespace: dict[str, object] = {name: _core_stub for name in sorted(names)}
    namespace["_dm_target_cls"] = target_cls
    namespace["_accept_with"] = classmethod(_core_accept)
    namespace["_listen"] = classmethod(_core_listen)
    namespace["__module__"] = __name__
    bridge: Any = type("DatamapperEvents", (core_event.Events,), namespace)
    target_cls.dispatch = bridge.dispatch  # made by Core's Events metaclass
    for name in names:  # ours first: SQLAlchemy's ORM would accept our classes and never fire
        registered = event_classes_for(name)
        registered.remove(bridge)
        registered.insert(0, bridge)
