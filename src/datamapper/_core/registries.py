"""Core's registries and hooks: a type's attachment to a column, creation order,
the inspection registry, event-class lookup, the compile-state plugins for ORM
SELECT and DML statements, the compiler's nesting, and the asyncio bridge.

Called by the mapping, query, event and ext.asyncio code through
:mod:`datamapper._core`, which re-exports every name here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import inspection as _inspection
from sqlalchemy.sql.base import CompileState

from .statements import deannotate

# -- schema types --------------------------------------------------------------------------------

def attach_type_to_column(sql_type: Any, column: Any) -> None:
    """Tell a schema-event type (Enum, Boolean ...) its column, as Core does when a
    column is built with it."""
    sql_type._set_parent_with_dispatch(column)


def replace_null_type(column: Any, sql_type: Any) -> bool:
    """Give a Column built without a type (NullType) ``sql_type`` through Core's own
    hook; False when the column already has a type or Core has no hook."""
    setter = getattr(column, "_set_type", None)
    if setter is None or not getattr(column.type, "_isnull", False):
        return False
    setter(sql_type)
    return True


def creation_order(value: object) -> int:
    return int(getattr(value, "_creation_order", 0) or 0)


# -- inspection and event registries ----------------------------------------------------------------

def inspection_registrar(cls: type) -> Any:
    """The function ``sqlalchemy.inspect()`` uses for instances of ``cls``, or None."""
    return _inspection._registrars.get(cls)


def set_inspection_registrar(cls: type, fn: Callable[[Any], Any] | None) -> None:
    """Register ``fn`` for ``cls`` in Core's inspection registry (None removes it)."""
    if fn is None:
        _inspection._registrars.pop(cls, None)
    else:
        _inspection._registrars[cls] = fn


def register_self_inspecting(cls: type) -> None:
    """Mark ``cls`` as one of Core's own inspection results (what ``@_self_inspects``
    does): ``sqlalchemy.inspect(x)`` of an instance answers the instance itself, and
    Core refuses an object whose inspection is such a class as a literal SQL value."""
    _inspection._registrars.setdefault(cls, True)


@functools.cache
def inspection_allows_reregistration() -> bool:
    """Whether Core lets a later registration of a function with the same name and
    module replace an inspection entry (SQLAlchemy 2.1 does; 2.0 refuses every second
    registration of a type, so an entry made before ``import sqlalchemy.orm`` would
    make that import fail)."""
    probe = type("_ProbeType", (), {})

    def _probe(obj: object) -> None:
        return None

    _inspection._registrars[probe] = _probe
    try:
        _inspection._inspects(probe)(_probe)
    except AssertionError:
        return False
    finally:
        _inspection._registrars.pop(probe, None)
    return True


def event_classes_for(name: str) -> list[Any]:
    """Core's ordered list of event classes that declare the event ``name`` (the
    first one accepting a target handles ``sqlalchemy.event.listen``)."""
    from sqlalchemy.event import base as core_base

    return core_base._registrars[name]


def event_key_fn(event_key: Any) -> Callable[..., Any]:
    """The user's listener function of a Core event key."""
    return event_key._listen_fn  # type: ignore[no-any-return]  # Core's private attribute is untyped


def install_dml_plugin(name: str, verb: str, state_cls: type) -> None:
    """Register a compile-state plugin for INSERT/UPDATE/DELETE (``verb``) statements
    whose propagated ``compile_state_plugin`` is ``name``: a subclass of Core's own
    DML state for that verb (it compiles as Core does)."""
    CompileState.plugins[(name, verb)] = state_cls


def compiling_toplevel(compiler: Any) -> bool:
    """Whether ``compiler`` is at its outermost statement (the statement being compiled
    itself, not a subquery, union member or scalar subquery inside it)."""
    return not compiler.stack


def enclosing_froms(compiler: Any) -> frozenset[Any]:
    """The FROM elements (unannotated) of the SELECTs enclosing the one ``compiler`` is
    at, which a nested SELECT may correlate to; empty at the outermost statement."""
    if compiler is None or not compiler.stack:
        return frozenset()
    entry = compiler.stack[-1]
    found = set(entry.get("correlate_froms", ())) | set(entry.get("asfrom_froms", ()))
    return frozenset(deannotate(f) for f in found)


def select_iterable(element: Any) -> list[Any]:
    """The columns an element given to ``select()`` contributes (a table: its columns)."""
    return list(element._select_iterable)


def install_select_plugin(name: str, state_cls: type) -> None:
    """Register a compile-state plugin for SELECT statements whose propagated
    ``compile_state_plugin`` is ``name``."""
    CompileState.plugins[(name, "select")] = state_cls


# -- asyncio ----------------------------------------------------------------------------------

def async_connection_for(async_engine: object, sync_connection: object) -> Any:
    """The AsyncConnection (of ``async_engine``'s kind) standing for ``sync_connection``,
    or None when ``async_engine`` is not an AsyncEngine.  Reads the engine's private
    connection class and its proxy registry (Core 2.0 and 2.1)."""
    proxy_cls = getattr(async_engine, "_connection_cls", None)
    retrieve = getattr(proxy_cls, "_retrieve_proxy_for_target", None)
    if retrieve is None or not hasattr(async_engine, "sync_engine"):
        return None
    return retrieve(sync_connection)


def class_level_listeners(target_class: type, identifier: str) -> list[Any]:
    """The listeners ``sqlalchemy.event.listen(target_class, identifier, fn)`` registered
    on a class (Core's per-class listener list; empty if there is none or it can't be
    read)."""
    try:
        dispatcher = getattr(target_class.dispatch, identifier)  # type: ignore[attr-defined]  # any class with Core events
        return list(dispatcher._clslevel.get(target_class, ()))
    except (AttributeError, TypeError):
        return []
