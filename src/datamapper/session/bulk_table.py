"""``session.query(some_table).update({...})`` / ``.delete()``: a criteria UPDATE or
DELETE of a Core table selected as the query's entity, as SQLAlchemy's Query runs it
(one statement; no mapped objects to synchronize, whatever ``synchronize_session``
says, as SQLAlchemy's does: a table queried as such is not a class's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlalchemy.sql.selectable import Alias, FromClause, TableClause

from ..exc import ArgumentError, InvalidRequestError

if TYPE_CHECKING:
    from ..query.query import Query
    from .base import SessionBase


def table_target(query: Query[Any]) -> Any:
    """The table (or alias of one) ``query`` selects as its one entity, else None."""
    if len(query._entities) != 1:
        return None
    ent: Any = query._entities[0]
    if not isinstance(ent, FromClause):
        return None
    if isinstance(ent, TableClause) or (isinstance(ent, Alias)
                                        and isinstance(ent.element, TableClause)):
        return ent
    return None


def refuse_shaped(query: Query[Any]) -> None:
    """Joins, LIMIT/OFFSET and ORDER BY have no place in a criteria UPDATE/DELETE."""
    if query._joins or query._limit is not None or query._offset is not None or \
            query._order_by:
        raise InvalidRequestError(
            "Can't bulk update/delete a query with join(), limit(), offset() or order_by(); "
            "use filter() criteria only"
        )


def table_update(session: SessionBase, query: Query[Any], table: Any,
                 values: dict[Any, Any], statement_kw: dict[str, Any] | None) -> int:
    refuse_shaped(query)
    names = set(table.c.keys())
    for key in values:
        if isinstance(key, str) and key not in names:
            raise ArgumentError(
                f"Can't update {key!r} of table {_name(table)}: it has no such column "
                f"(columns: {', '.join(table.c.keys())})"
            )
    stmt = update(table)
    if statement_kw:
        stmt = stmt.with_dialect_options(**statement_kw)
    stmt = stmt.where(*query._where).values(values)
    return _run(session, query, stmt, "after_bulk_update")


def table_delete(session: SessionBase, query: Query[Any], table: Any,
                 statement_kw: dict[str, Any] | None) -> int:
    refuse_shaped(query)
    stmt = delete(table)
    if statement_kw:
        stmt = stmt.with_dialect_options(**statement_kw)
    stmt = stmt.where(*query._where)
    return _run(session, query, stmt, "after_bulk_delete")


def _run(session: SessionBase, query: Query[Any], stmt: Any, event: str) -> int:
    from .bulk import BulkContext

    if query._autoflush:
        session._autoflush()
    result = session.execute(stmt, query._params or None)
    session._fire(event, BulkContext(session, query, result, None, stmt))
    return int(result.rowcount)


def _name(table: Any) -> str:
    return str(getattr(table, "name", None) or table)
