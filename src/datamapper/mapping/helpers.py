"""Small declarative helpers of the 2.x API: ``synonym_for()`` and ``polymorphic_union()``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import String, cast, literal_column, null, type_coerce, union_all
from sqlalchemy.sql import Select, select
from sqlalchemy.sql.expression import Subquery

from .properties import synonym

__all__ = ["polymorphic_union", "synonym_for"]


def synonym_for(name: str, map_column: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Decorate a getter to make a :func:`synonym` of attribute ``name`` whose Python
    side is that getter (as a ``property``)::

        @synonym_for("_job_status")
        def job_status(self) -> str:
            return "Status: " + self._job_status
    """

    def make(fn: Callable[..., Any]) -> Any:
        # a plain getter becomes a property; a descriptor (``@property`` under the
        # decorator, a hybrid) is the synonym's Python side as it is
        descriptor = property(fn) if inspect.isfunction(fn) else fn
        return synonym(name, map_column=map_column, descriptor=descriptor)

    return make


def polymorphic_union(table_map: Mapping[Any, Any], typecolname: str | None,
                      aliasname: str = "p_union", cast_nulls: bool = True) -> Subquery:
    """A UNION ALL of the tables of a concrete-inheritance hierarchy, as one subquery.

    ``table_map`` maps each class's polymorphic identity to its table (or any
    selectable).  Every SELECT of the union gives every column that any of the tables
    has, by name and in first-seen order, with NULL (cast to the column's type when
    ``cast_nulls``) where its table lacks one; with ``typecolname``, a last column of
    that name holds the identity as a string literal, so the union can serve as a
    mapper's ``with_polymorphic`` selectable and ``polymorphic_on`` source.
    """
    columns: dict[str, Any] = {}
    # each table's columns by their own key (a join's collection names them
    # <table>_<column>; the union's column is the column's key, the later table's
    # column where two tables of a join share one)
    by_key: dict[int, dict[str, Any]] = {}
    for table in table_map.values():
        own = by_key.setdefault(id(table), {})
        for col in table.c:
            columns.setdefault(col.key, col.type)
            own[col.key] = col
    if typecolname is not None and typecolname in columns:
        raise ValueError(
            f"Can't add discriminator column {typecolname!r} to the union: a table "
            "already has a column of that name; pass another typecolname")

    def part(identity: Any, table: Any) -> Select[Any]:
        cols: list[Any] = []
        own = by_key[id(table)]
        for key, type_ in columns.items():
            if key in own:
                cols.append(own[key])
            else:
                filler = cast(null(), type_) if cast_nulls else type_coerce(null(), type_)
                cols.append(filler.label(key))
        if typecolname is not None:
            text = str(identity).replace("'", "''")
            cols.append(literal_column(f"'{text}'", String).label(typecolname))
        return select(*cols).select_from(table)

    parts = [part(identity, table) for identity, table in table_map.items()]
    if not parts:
        raise ValueError("Can't make a polymorphic union of no tables: table_map is empty")
    return union_all(*parts).subquery(aliasname)
