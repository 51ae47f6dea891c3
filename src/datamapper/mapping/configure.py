"""Process-wide mapper state and the configuration pass.

Holds every live mapper and every mapped table, the hook lists the other layers
fill at wiring time (wiring.py), :func:`invalidate_caches` and
:func:`configure_mappers`.  Called by mapping/mapper.py (a mapper registers
itself here and is configured here), by the higher layers through the names
mapping/mapper.py re-exports, and by the inspection views of
mapping/mapper_inspect.py, which configure before they answer.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import ArgumentError, InvalidRequestError

from .mapper_events import MAPPER_CLASS_DISPATCH

if TYPE_CHECKING:
    from .mapper import Mapper
    from .registry import registry as Registry

# instance layer registers instrument/uninstrument functions here
instrumentation_hooks: list[Callable[[Mapper], None]] = []
uninstrumentation_hooks: list[Callable[[Mapper], None]] = []
# run for each mapper configure_mappers() is about to configure, before its
# before_mapper_configured listeners (wiring.py: SQLAlchemy's own mutable extension);
# an error there leaves the mapper unconfigured, as a bad relationship does
configure_hooks: list[Callable[[Mapper], None]] = []
# the cascade walk Mapper.cascade_iterator() gives (wiring.py: cascade.cascade_records):
# (cascade name, state) -> (object, mapper, state, __dict__) of each object reached
cascade_walks: list[Callable[[str, Any], Iterator[tuple[Any, Any, Any, Any]]]] = []

# every live mapper, for configure_mappers()/clear_mappers()
_all_mappers: weakref.WeakSet[Mapper] = weakref.WeakSet()
# every table a mapper maps: a Session autoflushes before a Core SELECT that reads one
mapped_tables: weakref.WeakSet[Any] = weakref.WeakSet()



def invalidate_caches() -> None:
    """Empty the caches of every mapper and relationship (mapping/cache.py): the
    mappers or their properties changed."""
    for m in list(_all_mappers):
        m._clear_caches()


_configuring = False


def configure_mappers() -> None:
    """Resolve string targets and relationship joins of every mapper, then freeze them."""
    global _configuring
    if _configuring:
        return
    todo = [m for m in list(_all_mappers) if not m.configured]
    if not todo:
        return
    registries = _registries_of(todo)
    _fire_configure("before_configured", registries)
    _configuring = True
    try:
        todo.sort(key=lambda m: m.class_.__name__)
        for m in todo:
            for hook in configure_hooks:
                hook(m)
            if "before_mapper_configured" in m.dispatch:
                m.dispatch.fire("before_mapper_configured", m, m.class_)
        _post_configure_all(todo)
        invalidate_caches()
        for m in todo:
            if "mapper_configured" in m.dispatch:
                m.dispatch.fire("mapper_configured", m, m.class_)
    finally:
        _configuring = False
    _fire_configure("after_configured", registries)


def _registries_of(mappers: list[Mapper]) -> list[Registry]:
    """The registries of ``mappers``, each once, in order."""
    registries: list[Registry] = []
    for m in mappers:
        reg = m.registry
        if reg is not None and all(reg is not r for r in registries):
            registries.append(reg)
    return registries


def _post_configure_all(mappers: list[Mapper]) -> None:
    """Configure each mapper; on an error, leave them all unconfigured and raise the
    first one."""
    errors = []
    for m in mappers:
        try:
            m._post_configure()
        except (ArgumentError, InvalidRequestError) as e:
            errors.append(e)
    if errors:
        for m in mappers:
            m.configured = False
        raise errors[0]


def _fire_configure(name: str, registries: list[Registry]) -> None:
    if name in MAPPER_CLASS_DISPATCH:
        MAPPER_CLASS_DISPATCH.fire(name)
    for reg in registries:
        d = getattr(reg, "_dm_configure_dispatch", None)
        if d is not None and name in d:
            d.fire(name, reg)
