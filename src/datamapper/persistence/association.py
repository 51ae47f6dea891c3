"""Rows of many-to-many association (``secondary``) tables.

Callers: the unit-of-work executor, after both ends of each row exist
(inserts, and updates of rows whose ends' keys changed) and before either end
is deleted (deletes).  Each call gets the
rows of one secondary table and writes them in one executemany; deletes
check the row count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam

from ..exc import StaleDataError


def associate(rows: Sequence[Any], conn: Connection) -> None:
    """INSERT association rows (objects with ``.prop`` and ``.params()``)."""
    if not rows:
        return
    table = rows[0].prop.secondary
    conn.execute(table.insert(), [r.params() for r in rows])


def dissociate(rows: Sequence[Any], conn: Connection) -> None:
    """DELETE association rows (objects with ``.params()``, and ``.old`` where it is set:
    the values the database holds), checking that each matched one row."""
    if not rows:
        return
    table = rows[0].prop.secondary
    # (.old: the values the row holds where an end's key changed in this flush)
    params = [r.params() if r.old is None else r.old for r in rows]
    keys = sorted(params[0])
    stmt = table.delete().where(and_(*[table.c[k] == bindparam("_dm_a_" + k) for k in keys]))
    result = conn.execute(stmt, [{"_dm_a_" + k: p[k] for k in keys} for p in params])
    trustworthy = len(params) == 1 or conn.dialect.supports_sane_multi_rowcount
    if trustworthy and result.rowcount not in (-1, None) and result.rowcount != len(params):
        raise StaleDataError(
            f"Can't delete rows of association table {table.name!r}: expected to match "
            f"{len(params)} row(s) but matched {result.rowcount}; another transaction changed "
            "them. Roll back and reload the objects."
        )


def reassociate(rows: Sequence[Any], conn: Connection) -> None:
    """UPDATE association rows to their ends' new keys (objects with ``.old``, the
    values the database holds, and ``.params()``, the new ones), checking that each
    matched one row."""
    if not rows:
        return
    table = rows[0].prop.secondary
    keys = sorted(rows[0].old)
    stmt = table.update().where(
        and_(*[table.c[k] == bindparam("_dm_o_" + k) for k in keys])
    ).values({k: bindparam("_dm_n_" + k) for k in keys})
    params = []
    for r in rows:
        new = r.params()
        params.append({**{"_dm_o_" + k: r.old[k] for k in keys},
                       **{"_dm_n_" + k: new[k] for k in keys}})
    result = conn.execute(stmt, params)
    trustworthy = len(params) == 1 or conn.dialect.supports_sane_multi_rowcount
    if trustworthy and result.rowcount not in (-1, None) and result.rowcount != len(params):
        raise StaleDataError(
            f"Can't update rows of association table {table.name!r} to their ends' new "
            f"keys: expected to match {len(params)} row(s) but matched {result.rowcount}; "
            "another transaction changed them. Roll back and reload the objects."
        )
