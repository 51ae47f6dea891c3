"""``Query``: the generative ORM query of the documents.

Callers: ``Session.query()`` (and subclasses passed as ``query_cls``).  A
Query holds its criteria and compiles them into a Core ``select()`` on
demand; execution goes through the session (autoflush, binds) and rows come
back through the loading layer, so objects already in the identity map are
returned as they are.  Names given as strings (``filter_by`` keywords,
``order_by("name")``) are resolved against mapped attribute names and
rejected otherwise, before any SQL is built.  Loader options
(``options(joinedload(...), defer(...))``, see ``options.py``) and
relationships configured to load eagerly take the ``_eager_results`` path;
queries without either run exactly as before.

The class is a facade over its parts, one module per concern, stacked so that
each builds on the ones below it (read them bottom up):

- ``state.py`` ``QueryState``: the constructor, ``_clone()``, generation checks;
- ``filtering.py`` ``QueryFiltering``: filter/filter_by, order/group/having, joins;
- ``modifiers.py`` ``QueryModifiers``: limit/offset, distinct, locking, options,
  hints, entities, ``from_statement()``;
- ``compiling.py`` ``QueryCompiling``: the Core SELECT, ``str()``/``compile()``;
- ``setops.py`` ``QuerySetOps``: union/intersect/except;
- ``execution.py`` ``QueryExecution``: running it, results, bulk update/delete;
- ``legacy_names.py`` ``QueryLegacy``: the 0.3/0.4 spellings.

``arguments.py`` holds the argument checks they share.
"""

from __future__ import annotations

from typing import TypeVar

from .arguments import empty_slice, refuse_negative_index
from .legacy_names import QueryLegacy

__all__ = ["Query", "empty_slice", "refuse_negative_index"]

_T = TypeVar("_T")


class Query(QueryLegacy[_T]):
    """A SELECT of mapped entities or columns, built step by step."""
