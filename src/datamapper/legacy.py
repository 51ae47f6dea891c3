"""Extension classes of the 0.4-0.6 documents, kept on top of the event API.

Callers: code written against the older documents, which customised a
Session or a Mapper by subclassing :class:`SessionExtension` or
:class:`MapperExtension` and handing an instance over::

    class Audit(SessionExtension):
        def before_commit(self, session):
            ...

    Session = sessionmaker(bind=engine, extension=Audit())
    mapper(User, users_table, extension=Stamp())
    class User(Base):
        __mapper_args__ = {"extension": Stamp()}

Each method a subclass overrides becomes a listener of the matching event on
that one Session or Mapper (see :mod:`datamapper.event`); methods it leaves
alone cost nothing.  Attaching an extension emits a ``DeprecationWarning``
that names the event to use instead.

Mapper extensions given as a list form a *chain*, run in list order for each
hook: a method that returns :data:`EXT_STOP` ends the chain for that one
call, so the extensions after it are not called.  Returning
:data:`EXT_CONTINUE` (the base class's answer) or ``None`` lets the next
extension run.  Session extension methods are all called; what they return is
ignored.

Not provided: the row-level hooks of the old MapperExtension
(``translate_row``, ``create_instance``, ``append_result``,
``populate_instance``) have no equivalent in datamapper's loader; an
extension that overrides one of them is refused when it is attached, rather
than being silently ignored.  ``AttributeExtension`` is not provided either:
listen for the ``set``/``append``/``remove`` events of a mapped attribute.

Built only on the public API of the layers below (L6).
"""

from __future__ import annotations

import os
import sys
import warnings
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from . import event
from ._util import _Symbol
from .exc import ArgumentError
from .mapping import Mapper
from .session import Session

__all__ = ["EXT_CONTINUE", "EXT_STOP", "MapperExtension", "SessionExtension"]


class _ExtSymbol(_Symbol):
    """A marker that pickles by its name in this module."""

    __slots__ = ()


EXT_CONTINUE = _ExtSymbol("EXT_CONTINUE")
"""Returned by an extension method: let the next extension of the chain run."""

EXT_STOP = _ExtSymbol("EXT_STOP")
"""Returned by a mapper extension method: skip the rest of the chain for this call."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _warn_deprecated(message: str) -> None:
    """Warn at the first caller outside datamapper (the user's Session()/mapper() line)."""
    level = 1
    frame: FrameType | None = sys._getframe(0)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)


def _overridden(ext: object, base: type, names: tuple[str, ...]) -> dict[str, Callable[..., object]]:
    """The methods of ``ext`` among ``names`` that differ from ``base``'s."""
    found: dict[str, Callable[..., object]] = {}
    for name in names:
        bound = getattr(ext, name, None)
        if bound is None:
            continue
        func = getattr(bound, "__func__", bound)
        if func is not base.__dict__[name]:
            found[name] = bound
    return found


class _Extension:
    """What both extension kinds share: refusing to be attached to the wrong target."""

    def _dm_attach_session(self, session: Session) -> None:
        raise ArgumentError(
            f"Can't use {self!r} as a Session extension: it is a {type(self).__name__}, "
            "not a SessionExtension; give mapper extensions to mapper(..., extension=...) "
            "or __mapper_args__ = {'extension': ...}"
        )

    def _dm_attach_mapper(self, mapper: Mapper) -> None:
        raise ArgumentError(
            f"Can't use {self!r} as a mapper extension of {mapper.class_.__name__}: it is a "
            f"{type(self).__name__}, not a MapperExtension; give session extensions to "
            "Session(extension=...), sessionmaker(extension=...) or create_session(extension=...)"
        )


# -- SessionExtension --------------------------------------------------------------------------
_SESSION_HOOKS = (
    "before_commit", "after_commit", "after_rollback", "before_flush", "after_flush",
    "after_flush_postexec", "after_begin", "after_attach", "after_bulk_update",
    "after_bulk_delete",
)


class SessionExtension(_Extension):
    """Subclass and override the hooks you need; pass an instance (or a list of them)
    as ``extension=`` to :class:`Session`, :func:`sessionmaker` or
    :func:`create_session`.  One instance may serve any number of sessions.

    Deprecated: each hook is the session event of the same name
    (``event.listen(session_or_maker, "before_commit", fn)``).
    """

    def before_commit(self, session: Session) -> Any:
        """Before ``commit()`` writes anything: the final flush has not run yet."""

    def after_commit(self, session: Session) -> Any:
        """After the database transaction committed."""

    def after_rollback(self, session: Session) -> Any:
        """After the database transaction rolled back."""

    def before_flush(self, session: Session, flush_context: object, instances: object) -> Any:
        """Before a flush looks at what changed; objects may still be added or changed.
        ``instances`` is what was passed to ``flush(objects)``, else None.
        ``flush_context`` is None: the flush plan does not exist yet."""

    def after_flush(self, session: Session, flush_context: object) -> Any:
        """After the flush's SQL ran; ``session.new``/``dirty``/``deleted`` still show
        what was flushed."""

    def after_flush_postexec(self, session: Session, flush_context: object) -> Any:
        """After the flush, once the session's bookkeeping reflects it."""

    def after_begin(self, session: Session, transaction: object, connection: object) -> Any:
        """After a database transaction began on ``connection``."""

    def after_attach(self, session: Session, instance: object) -> Any:
        """After ``instance`` was added to the session."""

    def after_bulk_update(
        self, session: Session, query: object, query_context: object, result: object
    ) -> Any:
        """After ``Query.update()`` ran; ``result`` is the Core result of the UPDATE."""

    def after_bulk_delete(
        self, session: Session, query: object, query_context: object, result: object
    ) -> Any:
        """After ``Query.delete()`` ran; ``result`` is the Core result of the DELETE."""

    def _dm_attach_session(self, session: Session) -> None:
        hooks = _overridden(self, SessionExtension, _SESSION_HOOKS)
        _warn_deprecated(
            f"SessionExtension is deprecated ({type(self).__name__}); use "
            "datamapper.event.listen(session_or_sessionmaker, "
            f"{next(iter(hooks), 'before_commit')!r}, fn) instead"
        )
        for name, method in hooks.items():
            if name in ("after_bulk_update", "after_bulk_delete"):
                method = _bulk_adapter(method)
            event.listen(session, name, method)


def _bulk_adapter(method: Callable[..., Any]) -> Callable[[object], None]:
    """Our bulk events pass one context object; the old hook takes four arguments."""

    def bulk_listener(context: Any) -> None:
        method(context.session, context.query, context, context.result)

    return bulk_listener


# -- MapperExtension ---------------------------------------------------------------------------
_PERSIST_HOOKS = (
    "before_insert", "after_insert", "before_update", "after_update", "before_delete",
    "after_delete",
)
_INSTANCE_HOOKS = ("init_instance", "init_failed", "reconstruct_instance")
_UNSUPPORTED_HOOKS = ("translate_row", "create_instance", "append_result", "populate_instance")
# old hook name -> the event it listens to
_EVENT_OF = {
    **{n: n for n in _PERSIST_HOOKS},
    "init_instance": "init",
    "init_failed": "init_failure",
    "reconstruct_instance": "load",
}


class MapperExtension(_Extension):
    """Subclass and override the hooks you need; pass an instance (or a list of them)
    as ``mapper(cls, table, extension=...)`` or ``__mapper_args__ = {"extension": ...}``.

    A hook may return :data:`EXT_STOP` to keep the extensions after it in the list
    from running for that call.

    Deprecated: ``before_insert`` and its siblings are the mapper events of the
    same name; ``init_instance``/``init_failed``/``reconstruct_instance`` are the
    ``init``/``init_failure``/``load`` instance events.
    """

    def instrument_class(self, mapper: Mapper, class_: type) -> Any:
        """When the extension is attached, just after the class was instrumented."""
        return EXT_CONTINUE

    def init_instance(self, mapper: Mapper, class_: type, oldinit: object, instance: object,
                      args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """When a new instance is constructed, before the class's own ``__init__``
        (``oldinit``) runs with ``args``/``kwargs``."""
        return EXT_CONTINUE

    def init_failed(self, mapper: Mapper, class_: type, oldinit: object, instance: object,
                    args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """When the class's own ``__init__`` raised; the exception propagates afterwards."""
        return EXT_CONTINUE

    def reconstruct_instance(self, mapper: Mapper, instance: object) -> Any:
        """When an instance was loaded from a row (``__init__`` is not called then)."""
        return EXT_CONTINUE

    def before_insert(self, mapper: Mapper, connection: object, instance: object) -> Any:
        """Before the INSERT of ``instance``; attribute changes made here are inserted."""
        return EXT_CONTINUE

    def after_insert(self, mapper: Mapper, connection: object, instance: object) -> Any:
        """After the INSERT of ``instance`` (generated keys are set)."""
        return EXT_CONTINUE

    def before_update(self, mapper: Mapper, connection: object, instance: object) -> Any:
        """Before the UPDATE of ``instance``; attribute changes made here are written
        in the same UPDATE."""
        return EXT_CONTINUE

    def after_update(self, mapper: Mapper, connection: object, instance: object) -> Any:
        """After the UPDATE of ``instance``."""
        return EXT_CONTINUE

    def before_delete(self, mapper: Mapper, connection: object, instance: object) -> Any:
        """Before the DELETE of ``instance``'s row."""
        return EXT_CONTINUE

    def after_delete(self, mapper: Mapper, connection: object, instance: object) -> Any:
        """After the DELETE of ``instance``'s row."""
        return EXT_CONTINUE

    def _dm_attach_mapper(self, mapper: Mapper) -> None:
        unsupported = [n for n in _UNSUPPORTED_HOOKS if callable(getattr(self, n, None))]
        if unsupported:
            raise ArgumentError(
                f"Can't use {self!r} as a mapper extension of {mapper.class_.__name__}: it "
                f"overrides {', '.join(sorted(unsupported))}, which datamapper's loader does not "
                "call; listen for the 'load' or 'refresh' event of the mapper instead"
            )
        hooks = _overridden(self, MapperExtension, (*_PERSIST_HOOKS, *_INSTANCE_HOOKS))
        instrument = _overridden(self, MapperExtension, ("instrument_class",))
        first = next(iter(hooks), "before_insert")
        _warn_deprecated(
            f"MapperExtension is deprecated ({type(self).__name__}); use "
            f"datamapper.event.listen({mapper.class_.__name__}, {_EVENT_OF.get(first, first)!r}, "
            "fn) instead"
        )
        chain = _chains.get(mapper)
        if chain is None:
            chain = _chains[mapper] = _Chain(mapper)
        for name, method in hooks.items():
            chain.add(name, method)
        if instrument:
            instrument["instrument_class"](mapper, mapper.class_)


def _stops(result: object) -> bool:
    return result is not None and result is not EXT_CONTINUE


class _Chain:
    """The extensions of one mapper: one event listener per hook runs them in order."""

    def __init__(self, mapper: Mapper) -> None:
        self.mapper_ref = weakref.ref(mapper)
        self.methods: dict[str, list[Callable[..., Any]]] = {}

    def add(self, name: str, method: Callable[..., Any]) -> None:
        methods = self.methods.get(name)
        if methods is None:
            methods = self.methods[name] = []
            mapper = self.mapper_ref()
            assert mapper is not None
            event.listen(mapper, _EVENT_OF[name], self._listener(name, methods))
        methods.append(method)

    def _listener(self, name: str, methods: list[Callable[..., Any]]) -> Callable[..., None]:
        if name in _PERSIST_HOOKS:
            def persist(mapper: Mapper, connection: object, instance: object) -> None:
                for m in methods:
                    if _stops(m(mapper, connection, instance)):
                        break
            return persist

        mapper_ref = self.mapper_ref
        if name == "reconstruct_instance":
            def load(instance: object, context: object) -> None:
                mapper = mapper_ref()
                for m in methods:
                    if _stops(m(mapper, instance)):
                        break
            return load

        def init(instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            mapper = mapper_ref()
            assert mapper is not None
            cls = mapper.class_
            oldinit = _original_init(mapper)
            for m in methods:
                if _stops(m(mapper, cls, oldinit, instance, args, kwargs)):
                    break
        return init


def _original_init(mapper: Mapper) -> object:
    """The class's ``__init__`` as written (before instrumentation replaced it)."""
    saved = getattr(mapper, "_dm_saved", None) or {}
    init = saved.get("__init__")
    if init is None:
        for klass in mapper.class_.__mro__[1:]:
            if "__init__" in klass.__dict__:
                return klass.__dict__["__init__"]
    return init


_chains: weakref.WeakKeyDictionary[Mapper, _Chain] = weakref.WeakKeyDictionary()
