"""A Core ``select()`` naming inheriting classes reads only their rows.

Callers: the compile-state plugin (:mod:`.core_plugin`), for every SELECT that
names a mapped class or attribute, at the top and nested (a subquery, an
``IN (SELECT ...)``, a scalar subquery, ``exists()``, a union member).

Two kinds of subclass need more than the tables their columns name:

- a **single-table** subclass (``Engineer`` stored in ``employees`` with
  ``type = 'engineer'``): the discriminator criterion.  It goes into the ON
  clause of a join to the subclass (``join(Engineer, Company.id ==
  Engineer.company_id)``: an outer join keeps its left rows) and into WHERE for
  a subclass the statement selects (``select(Engineer.name)``,
  ``select(Engineer)``), selects from (``select_from(Engineer)``) or names in
  its WHERE clause (unless correlated to an enclosing SELECT, which limits
  those rows itself);
- a **joined-table** subclass (``Engineer`` stored in ``people JOIN
  engineers``): a column of it selected on its own (``select(Engineer.name)``,
  ``name`` being a ``people`` column) reads from the subclass's join, so only
  the rows that have an ``engineers`` row count; done when the statement has
  no FROM of its own (no ``select_from()``/``join()``), as an entity does.

Each criterion is added once: a statement the ORM layer already limited (an
entity's layout, a relationship join) is left as it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.exc import AmbiguousForeignKeysError, ArgumentError, NoForeignKeysError
from sqlalchemy.sql.elements import BooleanClauseList, ColumnElement
from sqlalchemy.sql.selectable import FromClause, Join, SelectBase
from sqlalchemy.sql.util import find_tables, join_condition

from .._core import (
    annotate,
    annotations_of,
    deannotate,
    enclosing_froms,
    explicit_froms,
    from_objects,
    memoized_select_entities,
    propagate_attrs,
    raw_columns,
    setup_joins,
    where_criteria,
    with_joins,
    with_where_criteria,
)
from ..mapping.coercion import ALIAS_KEY, ENTITY_KEY, SUBJECT_KEY
from ..mapping.inheritance import class_criterion, entity_source

_Key = tuple[Any, Any]  # (mapper, aliased() entity or None)
_MARK = "dm_subclass_rows"  # annotation: the _Key a WHERE criterion limits the rows of


def mark_subclass_criterion(crit: object, key: _Key) -> object:
    """``crit`` (the discriminator criterion the ORM layer puts in a WHERE clause for a
    selected single-table subclass) marked with the subclass: taken out again when
    the statement joins to that subclass, whose ON clause limits its rows (an outer
    join keeps the rows without one)."""
    return annotate(crit, {_MARK: key})


def _criterion(mapper: Any, alias: Any) -> object:
    """The discriminator criterion of ``mapper``'s rows (read through ``alias``), or
    None: not a single-table subclass, or a with_polymorphic() member (it reads the
    rows of all its classes)."""
    if mapper is None or mapper.inherits is None or not mapper.single:
        return None
    if alias is not None and alias.__dict__.get("_dm_poly_member"):
        return None
    crit = class_criterion(mapper)
    if alias is not None and crit is not None:
        crit = alias._dm_adapt(crit)
    return crit


def alias_subclass_criterion(alias: Any) -> object:
    """The criterion limiting a SELECT of an aliased() / with_polymorphic() entity of
    a single-table subclass to that subclass's rows (marked as the ORM layer's), or
    None."""
    key = (alias._dm_mapper, alias)
    crit = _criterion(alias._dm_mapper, alias)
    return mark_subclass_criterion(crit, key) if crit is not None else None


def _of_from(fc: object) -> tuple[_Key | None, Any]:
    """(key, criterion) for a mapped class's table (or an aliased() entity's alias)
    given as a FROM, a join target or a selected entity."""
    if not isinstance(fc, FromClause):
        return None, None
    ann = annotations_of(fc)
    mapper = ann.get(ENTITY_KEY)
    if mapper is None:
        return None, None
    alias = ann.get(ALIAS_KEY)
    crit = _criterion(mapper, alias)
    return ((mapper, alias), crit) if crit is not None else (None, None)


def _column_attrs(element: Any) -> Any:
    """The propagated mark of the first mapped attribute's column inside a column
    expression (``Engineer.name``, ``func.count(Engineer.id)``), not looking into
    subqueries (a scalar subquery limits its own rows); None if it names none."""
    queue = [element]
    while queue:
        el = queue.pop(0)
        ann = annotations_of(el)
        if "dm_attr" in ann or "proxy_key" in ann:
            attrs = propagate_attrs(el)
            if attrs and attrs.get(SUBJECT_KEY) is not None:
                return attrs
        for child in el.get_children():
            if not isinstance(child, (SelectBase, FromClause)):
                queue.append(child)
    return None


def column_subclass_criterion(element: object) -> tuple[_Key | None, object]:
    """(key, criterion) for a column expression of a mapped attribute."""
    attrs = _column_attrs(element)
    if not attrs:
        return None, None
    mapper = attrs.get(SUBJECT_KEY)
    alias = attrs.get(ALIAS_KEY)
    crit = _criterion(mapper, alias)
    return ((mapper, alias), crit) if crit is not None else (None, None)


def joined_subclass_source(element: object) -> object:
    """The join of tables a column expression of a joined-table subclass's attribute
    reads from (``Manager.status``: employees JOIN managers), or of a class whose
    mapping names ``with_polymorphic`` subclasses (``Person.name``: people LEFT OUTER
    JOIN engineers ..., as its entity reads, so that a WHERE naming a subclass's
    column reads that same row: no cartesian product), or None."""
    attrs = _column_attrs(element)
    mapper = attrs.get(SUBJECT_KEY) if attrs else None
    if mapper is None or attrs.get(ALIAS_KEY) is not None:
        return None
    sel = entity_source(mapper)[0]
    if not isinstance(sel, Join):
        return None
    tables = {deannotate(t) for t in find_tables(sel)}
    return sel if any(deannotate(f) in tables for f in from_objects(element)) else None


def _is_from(element: object) -> bool:
    """A table or alias given where a column could be (a function is both)."""
    return isinstance(element, FromClause) and not isinstance(element, ColumnElement)


def _parts(clause: object) -> tuple[object, ...]:
    if clause is None:
        return ()
    if isinstance(clause, BooleanClauseList):
        return tuple(p for c in clause.clauses for p in _parts(c))
    return (clause,)


def _has(clause: Any, crit: Any) -> bool:
    return any(crit.compare(p) for p in _parts(clause))


def _surface(clause: Any, out: list[Any]) -> None:
    """The mapped attributes' columns of a WHERE clause outside its subqueries."""
    ann = annotations_of(clause)
    if "dm_attr" in ann or "proxy_key" in ann:
        out.append(clause)
        return
    for child in clause.get_children():
        if not isinstance(child, (SelectBase, FromClause)):
            _surface(child, out)


def _correlated(element: object, enclosing: frozenset[Any]) -> bool:
    froms = from_objects(element)
    return bool(froms) and all(deannotate(f) in enclosing for f in froms)


def _found_onclause(target: Any, candidates: list[Any]) -> tuple[Any, Any]:
    """(left, ON clause) of an outer join to ``target`` given without one: the foreign
    key between ``target`` and the one FROM of ``candidates`` it can join, as Core
    finds it; (None, None) when not exactly one can."""
    found: list[tuple[object, object]] = []
    seen: set[object] = set()
    for cand in candidates:
        plain = deannotate(cand)
        if plain in seen:
            continue
        seen.add(plain)
        try:
            on = join_condition(cand, target)
        except (ArgumentError, NoForeignKeysError, AmbiguousForeignKeysError):
            continue
        found.append((cand, on))
    return found[0] if len(found) == 1 else (None, None)


def _limit_joins(joins: tuple[Any, ...], joined: set[_Key], extra_where: list[Any],
                 candidates: list[Any] | None = None) -> tuple[Any, ...] | None:
    """``joins`` with the criterion of each single-table subclass joined to in its ON
    clause (None if none needed one); the keys of those subclasses go to ``joined``,
    the criteria of inner joins whose ON clause Core finds to ``extra_where`` (an
    outer join whose ON clause Core finds keeps a criterion the ORM layer put in
    WHERE)."""
    out: list[Any] = []
    changed = False
    for target, onclause, left, flags in joins:
        key, crit = _of_from(target)
        if key is not None:
            if onclause is not None:
                joined.add(key)
                if not _has(onclause, crit):
                    onclause = and_(onclause, crit)
                    changed = True
            elif not flags.get("isouter") and not flags.get("full"):
                joined.add(key)
                extra_where.append(crit)
            elif candidates is not None:
                # an outer join Core would find the ON clause of: found here, so that
                # it can hold the criterion (the left rows without one stay)
                cands = [left] if left is not None else candidates
                found_left, on = _found_onclause(target, cands)
                if on is not None:
                    joined.add(key)
                    onclause, left, changed = and_(on, crit), found_left, True
        out.append((target, onclause, left, flags))
        if candidates is not None:
            candidates.append(target)
    return tuple(out) if changed else None


def _subclass_joins(cols: tuple[Any, ...]) -> list[Any]:
    """The joins of tables of the joined-table subclasses whose columns ``cols`` select
    (``select(Engineer.name)``, ``name`` a column of the base table)."""
    out: list[Any] = []
    for c in cols:
        if _is_from(c):
            continue
        sel = joined_subclass_source(c)
        if sel is not None and not any(sel is f for f in out):
            out.append(sel)
    return out


def _without_orm_subclass_where(statement: object, joined: set[_Key]) -> object:
    """``statement`` without the WHERE criteria the ORM layer put there for a subclass
    the statement now limits in a join's ON clause (``joined``)."""
    if not joined:
        return statement
    criteria = where_criteria(statement)
    kept = [c for c in criteria if annotations_of(c).get(_MARK) not in joined]
    if len(kept) != len(criteria):
        return with_where_criteria(statement, tuple(kept))
    return statement


def _named_subclasses(cols: tuple[Any, ...], froms: tuple[Any, ...], lefts: list[Any],
                      where: object, compiler: object) -> dict[_Key, Any]:
    """The single-table subclasses a statement selects, selects from or names in its
    WHERE clause (not correlated to an enclosing SELECT), with their criteria."""
    found: dict[_Key, object] = {}
    for c in cols:
        key, crit = _of_from(c) if _is_from(c) else column_subclass_criterion(c)
        if key is not None:
            found.setdefault(key, crit)
    for fc in list(froms) + [f for f in lefts if f is not None]:
        while isinstance(fc, Join):  # join_from(Engineer, ...), select_from(join(...))
            fc = fc.left
        key, crit = _of_from(fc)
        if key is not None:
            found.setdefault(key, crit)
    if where is not None:
        named: list[object] = []
        _surface(where, named)
        enclosing = enclosing_froms(compiler)
        for el in named:
            key, crit = column_subclass_criterion(el)
            if key is not None and key not in found and not (
                    enclosing and _correlated(el, enclosing)):
                found[key] = crit
    return found


def _joined_subclass_from(cols: tuple[Any, ...], joins: tuple[Any, ...],
                          new_joins: tuple[Any, ...] | None
                          ) -> tuple[list[Any], tuple[Any, ...] | None]:
    """For a statement with no FROM of its own: the joins of the joined-table subclasses
    its columns select alone, as extra FROMs when it has no joins; with joins, the first
    one made to join from the subclass's join when its ON clause names one of its tables
    (``query(Manager.name).join(Paperwork, Manager.paperwork)``).  Gives (extra FROMs,
    the joins)."""
    subclass_joins = _subclass_joins(cols)
    if not joins:
        return subclass_joins, new_joins
    if len(subclass_joins) == 1 and joins[0][2] is None:
        sel = subclass_joins[0]
        current = new_joins if new_joins is not None else joins
        target, onclause, _left, flags = current[0]
        tables = {deannotate(t) for t in find_tables(sel)}
        if isinstance(target, FromClause) and deannotate(target) in tables:
            # the join is that of the subclass's own table (subclass_table_join)
            return [], new_joins
        if onclause is not None and any(
                deannotate(t) in tables for t in find_tables(onclause, check_columns=True)):
            return [], ((target, onclause, sel, flags),) + tuple(current[1:])
    return [], new_joins


def _limit_memo_joins(memo: tuple[object, ...], joined: set[_Key],
                      extra_where: list[Any]) -> tuple[Any, ...]:
    """The memoized entity sets of a select (made before ``with_only_columns()``) with
    their joins to single-table subclasses limited as :func:`_limit_joins` does."""
    return tuple(m if j is None else with_joins(m, j) for m, j in (
        (m, _limit_joins(setup_joins(m), joined, extra_where)) for m in memo))


def _new_criteria(criteria: list[Any], where: object) -> list[object]:
    """``criteria`` without those ``where`` has already and without repeats."""
    return [c for i, c in enumerate(criteria)
            if not _has(where, c) and not any(c.compare(o) for o in criteria[:i])]


def _join_candidates(cols: tuple[Any, ...], froms: tuple[Any, ...]) -> list[object]:
    """What a join with no left side may join from: the statement's FROMs given to
    ``select_from()``, else the FROMs of its selected elements."""
    if froms:
        return list(froms)
    return [f for c in cols for f in ((c,) if _is_from(c) else from_objects(c))]


def limit_to_subclass_rows(statement: Any, compiler: Any) -> object:
    """``statement`` reading only the rows of the inheriting classes it names (see the
    module docstring); ``statement`` itself when none needs more."""
    cols = raw_columns(statement)
    froms = explicit_froms(statement)
    joins = setup_joins(statement)

    # joins to a single-table subclass: its criterion in the ON clause (joins made
    # before a with_only_columns() live in the statement's memoized entities)
    joined: set[_Key] = set()
    extra_where: list[object] = []
    new_joins = _limit_joins(joins, joined, extra_where, _join_candidates(cols, froms))
    memo = memoized_select_entities(statement)
    new_memo = _limit_memo_joins(memo, joined, extra_where)
    memo_changed = any(a is not b for a, b in zip(memo, new_memo, strict=True))
    # a criterion the ORM layer put in WHERE for a subclass the statement joins to
    statement = _without_orm_subclass_where(statement, joined)
    where = statement.whereclause

    # the selected, selected-from and WHERE-named single-table subclasses
    lefts = [j[2] for j in joins] + [j[2] for m in memo for j in setup_joins(m)]
    found = _named_subclasses(cols, froms, lefts, where, compiler)
    extra_where.extend(crit for key, crit in found.items() if key not in joined)
    extra_where = _new_criteria(extra_where, where)

    # a joined-table subclass's column selected alone reads from the subclass's join
    extra_froms: list[object] = []
    if not froms and not memo:
        extra_froms, new_joins = _joined_subclass_from(cols, joins, new_joins)

    if new_joins is not None or memo_changed:
        statement = with_joins(statement, new_joins, new_memo if memo_changed else None)
    return _with_extra(statement, extra_froms, extra_where)


def _with_extra(statement: Any, froms: list[Any], where: list[Any]) -> object:
    if froms:
        statement = statement.select_from(*froms)
    if where:
        statement = statement.where(*where)
    return statement
