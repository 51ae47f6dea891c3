"""Query events: ``before_compile``, ``before_compile_update``, ``before_compile_delete``.

Listened for on the ``Query`` class (or a subclass, passed as ``query_cls``):
``before_compile(query)`` runs whenever a query is about to become SQL (run,
``str()``, ``compile()``) and, registered with ``retval=True``, may return the
query to use instead (extra criteria, options, execution options ...).  The
bulk ``Query.update()`` / ``Query.delete()`` fire ``before_compile_update`` /
``before_compile_delete`` with a context whose ``query`` and (update) ``values``
listeners may change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import event

QUERY_EVENTS = frozenset({"before_compile", "before_compile_update", "before_compile_delete"})

_class_dispatch: dict[type, event.Dispatch] = {}


def query_class_dispatch(cls: type) -> event.Dispatch:
    """The listeners of a Query class (its base classes' fire first)."""
    d = _class_dispatch.get(cls)
    if d is None:
        parents = tuple(query_class_dispatch(b) for b in cls.__bases__
                        if b in _class_dispatch or _is_query_class(b))
        d = _class_dispatch[cls] = event.Dispatch(f"{cls.__name__} class", QUERY_EVENTS,
                                                  parents)
    return d


def _is_query_class(cls: type) -> bool:
    from .query import Query

    return isinstance(cls, type) and issubclass(cls, Query)


def active(query: object, name: str) -> event.Dispatch | None:
    """The dispatch of ``query``'s class when ``name`` has listeners, else None."""
    d = _class_dispatch.get(type(query))
    if d is None:
        if not _class_dispatch:
            return None
        d = query_class_dispatch(type(query))
    return d if name in d.active else None


def run_listeners(d: event.Dispatch, name: str, query: object, *args: object) -> Any:
    """Call ``name``'s listeners in turn; a ``retval=True`` listener's non-None result
    replaces the query the next one gets.  Returns the final query."""
    for fn, opts in d.listeners(name):
        result = fn(query, *args)
        if opts.get("retval") and result is not None:
            query = result
    return query


class BulkContext:
    """What ``before_compile_update`` / ``before_compile_delete`` listeners get besides
    the query: ``query`` (the one being run) and, for an update, ``values``."""

    def __init__(self, query: Any, values: dict[Any, Any] | None = None) -> None:
        self.query = query
        self.values: dict[Any, Any] = dict(values) if values is not None else {}


__all__: Sequence[str] = ["QUERY_EVENTS", "BulkContext", "query_class_dispatch"]
