"""Mapper, attribute and instrumentation events: the event names, and where a
listener given to ``event.listen(target, name, fn)`` goes (the resolver
``wiring.py`` registers): the Mapper class, a registry or declarative base, one
mapper (and, with ``propagate=True``, its subclasses' mappers, now and later), a
mapped attribute, or an unmapped class (its future mappers).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import InvalidRequestError

from .. import event
from .attributes import QueryableAttribute

if TYPE_CHECKING:
    from .mapper import Mapper

MAPPER_EVENTS = frozenset(
    {
        "before_insert", "after_insert", "before_update", "after_update",
        "before_delete", "after_delete", "mapper_configured", "before_configured",
        "after_configured", "instrument_class", "before_mapper_configured",
        "after_mapper_constructed",
        # instance events share the mapper's dispatch
        "load", "refresh", "refresh_flush", "expire", "init", "init_failure",
        "pickle", "unpickle", "first_init",
    }
)
ATTRIBUTE_EVENTS = frozenset(
    {"set", "append", "remove", "init_scalar", "init_collection", "modified",
     "bulk_replace", "dispose_collection"}
)

# fired around configure_mappers(): on the Mapper class (no arguments) and on each
# registry whose mappers it configures (the registry); not on single mappers
CONFIGURE_EVENTS = frozenset({"before_configured", "after_configured"})
# what a registry (or a declarative base, standing for its registry) can be listened on for
TYPE_RESOLVE_EVENT = "resolve_type_annotation"
REGISTRY_EVENTS = CONFIGURE_EVENTS | {TYPE_RESOLVE_EVENT}
# instrumentation events: listened for on any class (``object``: every class), they fire
# when a mapper instruments or uninstruments that class or (propagate=True, the default)
# a subclass of it
INSTRUMENTATION_EVENTS = frozenset({"class_instrument", "class_uninstrument",
                                    "attribute_instrument"})
# listeners on the Mapper class itself: they apply to every mapper
MAPPER_CLASS_DISPATCH = event.Dispatch("Mapper class", MAPPER_EVENTS | ATTRIBUTE_EVENTS)

# class -> propagate-listeners registered on an unmapped base class
pending_class_listeners: list[tuple[type, str, Any, dict[str, Any]]] = []


def _registry_event_dispatch(target: object, name: str) -> Any:
    """A configuration-wide event on a declarative base: its registry's dispatch; one
    on a mapper or mapped class is refused (None: another kind of target)."""
    from .mapper import Mapper, _mapper_or_none

    base_reg = getattr(target, "_dm_registry", None) if isinstance(target, type) else None
    if base_reg is not None and _mapper_or_none(target) is None:
        return base_reg._dm_configure_dispatch  # a declarative base: its registry
    if name == TYPE_RESOLVE_EVENT:
        raise InvalidRequestError(
            f"Can't listen for {name!r} on {target!r}: it fires while a registry maps "
            "annotated classes; listen on the registry or a declarative base"
        )
    if isinstance(target, Mapper) or _mapper_or_none(target) is not None:
        raise InvalidRequestError(
            f"Can't listen for {name!r} on {target!r}: it fires for a whole "
            "configuration, not one mapper; listen on the Mapper class, a registry or "
            "a declarative base"
        )
    return None


def attribute_event_resolver(target: object, name: str, kw: dict[str, Any]) -> list[event.Dispatch] | None:
    from .mapper import Mapper, _mapper_or_none

    if name in INSTRUMENTATION_EVENTS:
        if not isinstance(target, type):
            raise InvalidRequestError(
                f"Can't listen for {name!r} on {target!r}: instrumentation events are "
                "listened for on a class (object: every class)"
            )
        return [_InstrumentationTarget(target)]  # type: ignore[list-item]  # stands in for a Dispatch: has the add/remove/fire that listen() uses
    if target is Mapper:
        return [MAPPER_CLASS_DISPATCH]
    reg_dispatch = getattr(target, "_dm_configure_dispatch", None)
    if reg_dispatch is not None:  # a registry
        return [reg_dispatch]
    if name in REGISTRY_EVENTS:
        found = _registry_event_dispatch(target, name)
        if found is not None:
            return [found]
    if isinstance(target, Mapper):
        return [_Inheriting(target.dispatch, _sub_mapper_dispatches(target))]  # type: ignore[list-item]  # stands in for a Dispatch: has the add/remove/fire that listen() uses
    if name in ATTRIBUTE_EVENTS and not isinstance(target, (type, QueryableAttribute)):
        # a MapperProperty (mapper.column_attrs, mapper.attrs): its class attribute
        owner = getattr(getattr(target, "parent", None), "class_", None)
        attr = getattr(owner, getattr(target, "key", ""), None) \
            if isinstance(owner, type) else None
        if isinstance(attr, QueryableAttribute):
            target = attr
    if isinstance(target, QueryableAttribute):
        if name not in ATTRIBUTE_EVENTS:
            raise InvalidRequestError(
                f"Can't listen for {name!r} on attribute {target}: attribute events are "
                f"{', '.join(sorted(ATTRIBUTE_EVENTS))}"
            )
        return [_Inheriting(attribute_dispatch(target),  # type: ignore[list-item]  # stands in for a Dispatch: has the add/remove/fire that listen() uses
                            _sub_attribute_dispatches(target))]
    if isinstance(target, type):
        m = _mapper_or_none(target)
        if m is not None:
            return [_Inheriting(m.dispatch, _sub_mapper_dispatches(m))]  # type: ignore[list-item]  # stands in for a Dispatch: has the add/remove/fire that listen() uses
        # an unmapped class: its mapper, when it is mapped, gets the listener; so do
        # its subclasses' with propagate=True (always, for a declarative base)
        return [_PropagatingDispatch(target, name)]  # type: ignore[list-item]  # stands in for a Dispatch: has the add/remove/fire that listen() uses
    return None


# How many mapped attributes have had a listener registry made (see attribute_dispatch):
# code that caches "these attributes have no listeners" (the instrumented constructor)
# compares the number it saw with this one.  A one-item list, changed in place.
ATTRIBUTE_DISPATCHES: list[int] = [0]


def attribute_dispatch(attr: QueryableAttribute) -> event.Dispatch:
    """The listeners of a mapped attribute (made on first use: an attribute nobody
    listens to has none, which the attribute implementations test for)."""
    d: event.Dispatch | None = attr.dispatch
    if d is None:
        d = attr.dispatch = event.Dispatch(f"attribute {attr}", ATTRIBUTE_EVENTS)
        ATTRIBUTE_DISPATCHES[0] += 1
    return d


def _sub_mapper_dispatches(mapper: Mapper) -> Callable[[], list[event.Dispatch]]:
    return lambda: [m.dispatch for m in mapper.self_and_descendants[1:]]


def _sub_attribute_dispatches(attr: QueryableAttribute) -> Callable[[], list[event.Dispatch]]:
    def subs() -> list[event.Dispatch]:
        out = []
        for m in attr.parent.self_and_descendants[1:]:
            sub = m.class_.__dict__.get(attr.key)
            if isinstance(sub, QueryableAttribute) and sub is not attr:
                out.append(attribute_dispatch(sub))
        return out
    return subs


class _Inheriting:
    """The listeners of a mapper or a mapped attribute.  One added with propagate=True
    also goes to the same target of every subclass mapped already; a subclass mapped
    later copies them when it is mapped (``inheritance.setup_inherits``,
    :func:`inherit_attribute_listeners`).  Removing it
    removes those copies too."""

    def __init__(self, own: event.Dispatch, subs: Callable[[], list[event.Dispatch]]) -> None:
        self.own = own
        self.subs = subs

    def add(self, name: str, fn: Any, opts: dict[str, Any]) -> None:
        self.own.add(name, fn, opts)
        if opts.get("propagate"):
            for d in self.subs():
                d.add(name, fn, opts)

    def discard(self, name: str, fn: Any) -> bool:
        found = self.own.discard(name, fn)
        for d in self.subs():
            found = d.discard(name, fn, propagated_only=True) or found
        return found

    def has_own(self, name: str, fn: Any) -> bool:
        return self.own.has_own(name, fn)


def inherit_attribute_listeners(mapper: Mapper, parent: Mapper) -> None:
    """A new subclass mapper's attributes take the propagate=True listeners of the
    parent's same attributes (the mapper's own listeners were copied when it was linked
    to its parent: ``inheritance.setup_inherits``)."""
    for key in mapper._props:
        base = parent.class_.__dict__.get(key)
        if not isinstance(base, QueryableAttribute) or base.dispatch is None:
            continue
        inherited = base.dispatch.propagated()
        sub = mapper.class_.__dict__.get(key)
        if inherited and isinstance(sub, QueryableAttribute) and sub is not base:
            d = attribute_dispatch(sub)
            for name, fn, opts in inherited:
                d.add(name, fn, opts)


# (weak reference to the class listened on, event name, listener, propagate)
instrumentation_listeners: list[tuple[Any, str, Any, bool]] = []


def fire_instrumentation(name: str, class_: type, *args: object) -> None:
    for ref, n, fn, propagate in list(instrumentation_listeners):
        base = ref()
        if base is None:
            instrumentation_listeners.remove((ref, n, fn, propagate))
        elif n == name and (class_ is base or (propagate and issubclass(class_, base))):
            fn(class_, *args)


class _InstrumentationTarget:
    """What ``listen(SomeClass, "class_instrument", fn)`` adds to: the listeners of the
    instrumentation events, kept by a weak reference to the class."""

    def __init__(self, base: type) -> None:
        self.base = base

    def add(self, name: str, fn: object, opts: dict[str, Any]) -> None:
        ref = weakref.ref(self.base)
        instrumentation_listeners.append((ref, name, fn, bool(opts.get("propagate", True))))

    def _entries(self, name: str, fn: object) -> list[tuple[Any, str, Any, bool]]:
        return [e for e in instrumentation_listeners
                if e[0]() is self.base and e[1] == name and e[2] is fn]

    def discard(self, name: str, fn: object) -> bool:
        found = self._entries(name, fn)
        for e in found:
            instrumentation_listeners.remove(e)
        return bool(found)

    def has_own(self, name: str, fn: object) -> bool:
        return bool(self._entries(name, fn))


def listener_applies(base: type, class_: type, opts: dict[str, Any]) -> bool:
    """Whether a listener given to the unmapped class ``base`` applies to ``class_``."""
    if class_ is base:
        return True
    return issubclass(class_, base) and bool(opts.get("propagate")
                                             or hasattr(base, "_dm_registry"))


class _PropagatingDispatch:
    """Registers a listener on every current and future mapper of subclasses."""

    def __init__(self, base: type, name: str) -> None:
        self.base = base
        self.name = name

    def add(self, name: str, fn: Any, opts: dict[str, Any]) -> None:
        from .mapper import _all_mappers

        if name not in MAPPER_EVENTS | ATTRIBUTE_EVENTS:
            raise InvalidRequestError(f"Can't listen for {name!r} on class {self.base.__name__}")
        pending_class_listeners.append((self.base, name, fn, opts))
        for m in list(_all_mappers):
            if listener_applies(self.base, m.class_, opts):
                m.dispatch.add(name, fn, opts)

    def discard(self, name: str, fn: Any) -> bool:
        from .mapper import _all_mappers

        found = False
        for entry in list(pending_class_listeners):
            if entry[0] is self.base and entry[1] == name and entry[2] is fn:
                pending_class_listeners.remove(entry)
                found = True
        for m in list(_all_mappers):
            if issubclass(m.class_, self.base):
                found = m.dispatch.discard(name, fn) or found
        return found

    def has_own(self, name: str, fn: object) -> bool:
        return any(e[0] is self.base and e[1] == name and e[2] is fn
                   for e in pending_class_listeners)
