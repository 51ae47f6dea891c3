"""A subclass entity read through the join of its base's tables that a relationship
join brings in.

``query(Engineer, Company.name).join(Company.employees)``, ``Person`` mapped with
``with_polymorphic``: the join reads ``companies JOIN (people LEFT OUTER JOIN
engineers LEFT OUTER JOIN managers)``, and the ``Engineer`` entity's own FROM
(``people JOIN engineers``) names the same tables again: both in FROM, every
column of ``people`` and ``engineers`` is ambiguous.  As in SQLAlchemy, the entity
is read from the join's tables, its own FROM dropped.  Its rows stay those of the
subclass: the join's ON clause requires the key of each table the entity's FROM
inner joins and the target outer joins (``engineers.person_id IS NOT NULL``), so an
inner join gives the rows that have an ``engineers`` row, and an outer join gives
the others with no ``Engineer`` (SQLAlchemy loads the outer join's rows of the other
classes into the entity, and refuses them).

Only a FROM that is the target join restricted to fewer tables is read so: each of
its joins is one of the target's (the same table, the same ON clause), which is
what a subclass's FROM is within its base's ``with_polymorphic`` join.

Callers: the compile-state plugin (:mod:`.core_plugin`), after the relationship
joins are expanded into joins of tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.sql.selectable import Join
from sqlalchemy.sql.util import find_tables

from .._core import (
    deannotate,
    explicit_froms,
    memoized_select_entities,
    replace_froms,
    setup_joins,
    with_joins,
)


def absorb_covered_entity_froms(statement: Any) -> Any:
    """``statement`` reading each FROM that a relationship join's target covers (see
    the module's description) from that target; the statement itself when none.
    Joins made before a ``with_only_columns()`` live in the statement's memoized
    entities: those too."""
    froms = explicit_froms(statement)
    if not any(isinstance(f, Join) for f in froms):
        return statement
    memo = list(memoized_select_entities(statement))
    # (owner index: -1 the statement, else the memoized entity set; its joins)
    groups = [(i, list(setup_joins(m))) for i, m in enumerate(memo)]
    groups.append((-1, list(setup_joins(statement))))
    if not any(joins for _i, joins in groups):
        return statement
    keep: list[Any] = []
    touched: set[int] = set()
    for f in froms:
        found = None
        if isinstance(f, Join):
            for owner, joins in groups:
                found = _covering_join(f, joins)
                if found is not None:
                    i, keys = found
                    if keys:
                        target, on, left, flags = joins[i]
                        joins[i] = (target, and_(on, *(c.isnot(None) for c in keys)),
                                    left, flags)
                    touched.add(owner)
                    break
        if found is None:
            keep.append(f)
    if not touched:
        return statement
    for owner, joins in groups:
        if owner >= 0 and owner in touched:
            memo[owner] = with_joins(memo[owner], tuple(joins))
    own = groups[-1][1]
    return with_joins(replace_froms(statement, tuple(keep)),
                      tuple(own) if -1 in touched else None,
                      tuple(memo) if touched - {-1} else None)


def _covering_join(from_: Any, joins: list[Any]) -> tuple[int, list[Any]] | None:
    """(index of the join whose target covers ``from_``, the key columns its ON clause
    must require), or None.  A join starting at one of the FROM's tables (a join from
    the entity itself) needs that FROM: never."""
    mine = {deannotate(t) for t in find_tables(from_)}
    for i, (target, on, left, _flags) in enumerate(joins):
        if not isinstance(target, Join) or left is None or on is None:
            continue
        if mine & {deannotate(t) for t in find_tables(left)}:
            continue
        if not mine <= {deannotate(t) for t in find_tables(target)}:
            continue
        if not _restricts(from_, target):
            continue
        keys = []
        for table in _inner_tables(from_) - _inner_tables(target):
            if not table.primary_key:
                break
            keys.extend(table.primary_key)
        else:
            return i, keys
    return None


def _joins_of(j: Any) -> list[tuple[frozenset[Any], Any]]:
    """(the tables of its right side, ON clause) of each join within ``j``."""
    if not isinstance(j, Join):
        return []
    right = frozenset(deannotate(t) for t in find_tables(j.right))
    return [*_joins_of(j.left), *_joins_of(j.right), (right, j.onclause)]


def _restricts(from_: Any, target: Any) -> bool:
    """Whether every join of ``from_`` is one of ``target``'s: the same right side and
    ON clause."""
    theirs = _joins_of(target)
    for right, on in _joins_of(from_):
        if not any(r == right and on is not None and o is not None and on.compare(o)
                   for r, o in theirs):
            return False
    return True


def _inner_tables(j: Any) -> set[Any]:
    """The tables every row of ``j`` has a row of (those not outer joined)."""
    if isinstance(j, Join):
        left = _inner_tables(j.left)
        return left if j.isouter or j.full else left | _inner_tables(j.right)
    return {deannotate(t) for t in find_tables(j)}
