"""Reading a relationship's target rows from a selectable of its own.

``relationship(aliased(Child, selectable), primaryjoin=...)``: the target's rows are
those of a subquery (a window function's "first N per parent"), a join of its table
to others, or a LATERAL subquery (``RelationshipProperty.target_from``).  The
loaders build their SELECTs against the class's own tables as usual; the helpers
here read those statements and columns from the selectable instead.  Callers:
``related`` (the lazy load) and ``strategies`` (joined, selectin/subquery loads).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Join
from sqlalchemy.sql.util import ClauseAdapter

from ..mapping.relationships import RelationshipProperty


def read_from_target(prop: RelationshipProperty, stmt: Any) -> Any:
    """``stmt``, a SELECT of ``prop``'s target reading the class's own tables, reading
    the rows from the relationship's ``target_from`` instead (the subquery, join or
    LATERAL of ``relationship(aliased(Child, selectable))``)."""
    sel = prop.target_from
    out = ClauseAdapter(sel).traverse(stmt)
    # (a join's columns are its tables' own: the join is named in FROM)
    return out.select_from(sel) if isinstance(sel, Join) else out


def columns_of(sel: Any, columns: Sequence[Any]) -> list[Any]:
    """A loader's ``columns`` (of the target's tables) as ``sel``, a selectable reading
    the target's rows, has them (a SQL expression adapted to it)."""
    adapter = ClauseAdapter(sel)
    out = []
    for c in columns:
        cc = sel.corresponding_column(c)
        out.append(cc if cc is not None else adapter.traverse(c))
    return out
