"""The columns a select of mapped classes exports (a subquery's ``.c``, a union's,
``selected_columns``): the SQL expressions of ``column_property()`` (and
``query_expression()`` defaults) keyed by their attribute names, as SQLAlchemy keys
them; an expression has no name of its own (``id * 2`` would be exported as
``"_no_label"``, ``func.upper(name)`` as ``"upper"``, ``(id + 5).label("foo")`` as
``"foo"``).  Computed once per mapper or row layout, so that a statement's exported
columns stay the same objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import ColumnClause, Label

from ..loading import entity_loader
from ..mapping.mapper import Mapper

_SUBQUERY_KEY = "subquery columns"  # in Mapper._loader_cache: subquery_columns()' extras
_LAYOUT_KEY = "_exported_columns"  # in a RowLayout's __dict__: layout_exports()' map


def _keyed(col: Any, key: str, keep_name: bool) -> Any:
    """``col`` under a label keyed ``key`` (the label's SQL name: anonymous, or the
    name a ``Label`` gave it when ``keep_name``)."""
    if isinstance(col, Label):
        out = col.element.label(col.name if keep_name else None)
    else:
        out = col.label(None)
    out.key = key
    return out


def subquery_columns(element: Any, mapper: Mapper) -> list[object]:
    """What a mapped class selected in a Core ``select()`` exports: its table's columns
    (deferred ones included, so that an ``aliased()`` entity of the subquery can load
    them) and then the SQL expressions a load of the class selects, each under an
    anonymous SQL name (a column labelled with the same name elsewhere in the SELECT
    keeps its label) keyed by its attribute name."""
    cache = mapper._loader_cache
    extra: list[object] | None = cache.get(_SUBQUERY_KEY)
    if extra is None:
        table_cols = set(map(id, element.c))
        loader = entity_loader(mapper)
        # (a loader's columns may end with its discriminator expression: no property's)
        cols = loader.columns[:len(loader.props)]
        extra = [_keyed(col, prop.key, False)
                 for prop, col in zip(loader.props, cols, strict=True)
                 if id(col) not in table_cols]
        cache[_SUBQUERY_KEY] = extra
    return [*element.c, *extra]


def layout_exports(layout: Any, cols: list[Any]) -> list[Any]:
    """``cols`` (the columns datamapper's ``select()`` of ``layout`` selects) with each
    SQL expression of an entity's column property keyed by the attribute's name (its SQL
    name unchanged: a ``Label``'s own, else anonymous as before)."""
    found: dict[int, Any] | None = layout.__dict__.get(_LAYOUT_KEY)
    if found is None:
        found = {}
        for kind, loader in layout.parts:
            if kind != "entity":
                continue
            # (its columns may end with the discriminator expression: no property's)
            own = loader.columns[:len(loader.props)]
            for prop, col in zip(loader.props, own, strict=True):
                if not isinstance(col, ColumnClause) and id(col) not in found:
                    found[id(col)] = _keyed(col, prop.key, True)
        layout.__dict__[_LAYOUT_KEY] = found
    if not found:
        return cols
    return [found.get(id(c), c) for c in cols]
