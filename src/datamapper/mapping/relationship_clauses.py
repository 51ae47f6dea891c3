"""Pure helpers over SQL clauses for relationship configuration.

No relationship or mapper here: functions that read a join condition (its column
comparisons, the columns that refer to another table, the ``foreign()``/``remote()``
marks written in it) or build small clauses from one.  The join analysis
(:mod:`.relationship_joins`) and the lazy-load criteria
(:mod:`.relationship_criteria`) are written with them; ``foreign``, ``remote`` and
``flat_alias`` are public through :mod:`.relationships`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeAlias

from sqlalchemy import Column, Join, Table
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, ClauseElement, ColumnElement
from sqlalchemy.sql.selectable import Exists, FromClause, ScalarSelect, SelectBase

from .._core import annotate, annotations_of, anonymous_fromclause, deannotate

REMOTE_OCCURRENCE = "_dm_remote"  # annotation: this occurrence of the column is remote

# a table column of any SQL type, and two of them (a column pair of a join condition)
TableColumn: TypeAlias = "Column[Any]"
Pair: TypeAlias = "tuple[TableColumn, TableColumn]"
# columns named by foreign_keys=/remote_side= or marked foreign()/remote()
ColumnSet: TypeAlias = "set[ColumnElement[Any]]"


def flat_alias(sel: FromClause) -> Any:
    """An anonymous alias of ``sel``; a join becomes the same join of aliased tables
    (an alias of a join would not render as a FROM item)."""
    if isinstance(sel, Join):
        return anonymous_fromclause(sel, flat=True)
    return sel.alias()


def _mark_columns(expr: object, mark: str) -> Any:
    """A copy of ``expr`` whose table columns carry the annotation ``mark``."""
    expr = coerce_clause(expr)
    if isinstance(expr, str) or not isinstance(expr, ClauseElement):
        raise ArgumentError(
            f"Can't mark {expr!r} as {mark}: {mark}() takes a column or a SQL expression "
            "over columns (Table.c.x, MyClass.x)"
        )

    def replace(element: object, **kw: object) -> Any:
        if isinstance(element, Column):
            return annotate(element, {mark: True})
        return None

    return visitors.replacement_traverse(expr, {}, replace)


def foreign(expr: object) -> Any:
    """Mark the columns of ``expr`` (in a ``primaryjoin``/``secondaryjoin``) as the
    referring side of the relationship, as ``foreign_keys=`` would."""
    return _mark_columns(expr, "foreign")


def remote(expr: object) -> Any:
    """Mark the columns of ``expr`` (in a ``primaryjoin``) as belonging to the related
    row, as ``remote_side=`` would (needed for self-referential relationships)."""
    return _mark_columns(expr, "remote")


def split_marks(clause: ClauseElement | None) -> tuple[Any, ColumnSet, ColumnSet, Any]:
    """``clause`` without foreign()/remote() marks, the columns marked each way, and,
    when a column marked remote() also appears unmarked (one column on both sides of a
    self-referential condition: ``remote(foreign(t.path)).like(t.path + '/%')``),
    the clause with each remote occurrence annotated :data:`REMOTE_OCCURRENCE`
    (else None): there the column alone can't tell the sides apart."""
    if clause is None:
        return None, set(), set(), None
    marked: dict[str, ColumnSet] = {"foreign": set(), "remote": set()}
    unmarked = _unmarked_remote(clause)

    def replace(element: object, **kw: object) -> Any:
        if not isinstance(element, Column):
            return None
        ann = annotations_of(element)
        if ann and ("foreign" in ann or "remote" in ann):
            plain = deannotate(element)
            for mark in ("foreign", "remote"):
                if ann.get(mark):
                    marked[mark].add(plain)
            return plain
        return None

    plain = visitors.replacement_traverse(clause, {}, replace)
    if not marked["foreign"] and not marked["remote"]:
        return clause, set(), set(), None
    if not marked["remote"] & unmarked:
        return plain, marked["foreign"], marked["remote"], None
    return plain, marked["foreign"], marked["remote"], _remote_occurrences(clause)


def _unmarked_remote(clause: ClauseElement) -> ColumnSet:
    """The columns with an occurrence not marked remote() in ``clause`` (every
    occurrence: a replacement visits a column object once)."""
    unmarked: ColumnSet = set()
    for elem in visitors.iterate(clause):
        if isinstance(elem, Column):
            ann = annotations_of(elem)
            if not (ann and ann.get("remote")):
                unmarked.add(deannotate(elem) if ann else elem)
    return unmarked


def _remote_occurrences(clause: ClauseElement) -> Any:
    """``clause`` without foreign()/remote() marks, each occurrence marked remote()
    annotated :data:`REMOTE_OCCURRENCE` instead."""
    def occurrence(element: object, **kw: object) -> Any:
        if not isinstance(element, Column):
            return None
        ann = annotations_of(element)
        bare = deannotate(element) if ann else element
        if ann and ann.get("remote"):
            return annotate(bare, {REMOTE_OCCURRENCE: True})
        return bare

    return visitors.replacement_traverse(clause, {}, occurrence)


def reversed_occurrences(clause: ClauseElement, foreign_cols: ColumnSet) -> Any:
    """A self-referential join condition whose remote side is kept per occurrence
    (annotated :data:`REMOTE_OCCURRENCE`), written for the reverse relationship: each
    occurrence that was local marked remote() (and foreign() when its column is in
    ``foreign_cols``), each one that was remote plain."""
    def flip(element: object, **kw: object) -> Any:
        if not isinstance(element, Column):
            return None
        ann = annotations_of(element)
        bare = deannotate(element) if ann else element
        if ann and ann.get(REMOTE_OCCURRENCE):
            # unmarked, yet not the column object itself: a replacement is not visited
            # again, and the column's local occurrences are still to be marked
            return annotate(bare, {"_dm_reversed": True})
        marks = {"remote": True}
        if bare in foreign_cols:
            marks["foreign"] = True
        return annotate(bare, marks)

    return visitors.replacement_traverse(clause, {}, flip)


def coerce_clause(value: object) -> Any:
    if value is None:
        return None
    if hasattr(value, "__clause_element__"):
        return value.__clause_element__()
    return value


def columns_in(clause: Any) -> list[TableColumn]:
    out: list[TableColumn] = []
    for elem in visitors.iterate(clause):
        if isinstance(elem, Column) and elem not in out:
            out.append(elem)
    return out


def _outer_elements(clause: Any) -> Any:
    """The elements of ``clause`` breadth-first (as ``visitors.iterate``), but not those
    inside a subquery: a correlated ``SELECT`` in a join condition (the "latest child"
    recipe) is a value there, and its own comparisons link no columns of the join."""
    if clause is None:
        return
    yield clause
    if isinstance(clause, (SelectBase, ScalarSelect, Exists)):
        return
    stack = deque([clause.get_children()])
    while stack:
        for elem in stack.popleft():
            yield elem
            if not isinstance(elem, (SelectBase, ScalarSelect, Exists)):
                stack.append(elem.get_children())


def equalities(clause: object, fk_arg: ColumnSet | frozenset[Any] = frozenset()
                ) -> list[Pair]:
    """(left, right) of each ``column == column`` in ``clause``; also of the columns
    inside SQL expressions compared with ``=`` (``t1.id == foreign(func.lower(t2.x))``)
    when one of the two is named foreign (``foreign()``/``foreign_keys=``)."""
    out = []
    for elem in _outer_elements(clause):
        if isinstance(elem, BinaryExpression) and elem.operator is operators.eq:
            left, right = elem.left, elem.right
            if isinstance(left, Column) and isinstance(right, Column):
                out.append((left, right))
            elif fk_arg:
                lcols = [left] if isinstance(left, Column) else columns_in(left)
                rcols = [right] if isinstance(right, Column) else columns_in(right)
                out.extend((a, b) for a in lcols for b in rcols
                           if a is not b and (a in fk_arg) != (b in fk_arg))
    return out


def column_comparisons(clause: object) -> list[Pair]:
    """(left, right) for each column of the left and each of the right operand of every
    comparison in ``clause`` (any operator: ``>``, ``LIKE``, ``between()``, ``op()``)."""
    out: list[Pair] = []
    for elem in _outer_elements(clause):
        if isinstance(elem, BinaryExpression):
            out.extend(operand_columns(elem))
    return out


def operand_columns(binary: BinaryExpression[Any]) -> list[Pair]:
    """(left, right) for each column of the left and each of the right operand of
    ``binary`` (one comparison), a column never paired with itself."""
    left, right = binary.left, binary.right
    lcols = [left] if isinstance(left, Column) else columns_in(left)
    rcols = [right] if isinstance(right, Column) else columns_in(right)
    return [(a, b) for a in lcols for b in rcols if a is not b]


def has_fk_to(col: TableColumn, table: FromClause) -> bool:
    for fk in col.foreign_keys:
        try:
            ref = fk.column
        except Exception:
            continue
        # (a subquery or CTE stands for the table columns it selects)
        if ref.table is table or (not isinstance(table, Table)
                                  and table.corresponding_column(ref) is not None):
            return True
    return False


def fk_refers_within(clause: object) -> Callable[[TableColumn], bool]:
    cols = set(columns_in(clause))

    def is_foreign(c: TableColumn) -> bool:
        for fk in c.foreign_keys:
            try:
                if fk.column in cols:
                    return True
            except Exception:
                continue
        return False

    return is_foreign


def column_pairs(clause: object, is_foreign: Callable[[TableColumn], bool], fk_arg: ColumnSet,
                 any_operator: bool = False) -> list[Pair]:
    """(referenced column, foreign column) for each ``a == b`` in ``clause`` (each
    comparison of two columns, whatever its operator, with ``any_operator``)."""
    out = []
    for a, b in (column_comparisons(clause) if any_operator else equalities(clause, fk_arg)):
        fa, fb = is_foreign(a), is_foreign(b)
        if fa and not fb:
            out.append((b, a))
        elif fb and not fa:
            out.append((a, b))
        elif fa and fb:
            # both sides refer somewhere (self-referential): the one with an fk to the other
            if any(getattr(fk, "column", None) is b for fk in a.foreign_keys):
                out.append((b, a))
            else:
                out.append((a, b))
    return out


def non_pair_criteria(clause: Any, pairs: list[Pair]) -> list[Any]:
    """Parts of an AND-ed join clause that are not one of the column pairs."""
    if clause is None:
        return []
    parts = list(clause.clauses) if getattr(clause, "operator", None) is operators.and_ else [
        clause]
    pair_set = {frozenset((id(a), id(b))) for a, b in pairs}
    out = []
    for p in parts:
        if isinstance(p, BinaryExpression) and p.operator is operators.eq and isinstance(
            p.left, Column
        ) and isinstance(p.right, Column) and frozenset((id(p.left), id(p.right))) in pair_set:
            continue
        out.append(p)
    return out


def inherited_ends(parents: list[Any], targets: list[Any], secondary: Any,
                    pj: Any, joins: bool = False) -> tuple[Any, Any]:
    """(parent table, target table) of a relationship whose parent or target maps
    several tables (joined-table inheritance, or a class mapped to a join: ``joins``):
    the subclass's own table unless the join condition given, or the foreign keys,
    name another one of its tables."""
    p_order = list(reversed(parents))
    t_order = list(reversed(targets))
    if pj is not None:
        used = {getattr(c, "table", None) for c in columns_in(pj)}
        p = next((t for t in p_order if t in used), p_order[0])
        t = next((t for t in t_order if t in used and t is not p), t_order[0])
        return p, t

    if secondary is not None:
        p = next((t for t in p_order if _linked(t, secondary, joins)), p_order[0])
        t = next((t for t in t_order if _linked(t, secondary, joins)), t_order[0])
        return p, t
    for p in p_order:
        for t in t_order:
            if p is not t and _linked(p, t, joins):
                return p, t
    return p_order[0], t_order[0]


def target_tables(prop: Any) -> tuple[Any, ...]:
    """The tables whose columns in relationship ``prop``'s join condition stand for the
    target row: its table, and for a target whose rows are a join (a joined-table
    subclass, a class mapped to a join) each table of that join the parent does not map
    too (``Person.manager`` to ``Manager(Person)``: ``manager``, not ``person``)."""
    target = prop.mapper
    alt = getattr(prop, "target_from", None)
    if alt is not None:
        # relationship(aliased(Child, selectable)): also the selectable's own columns
        # (a subquery's window function), and a join's other tables
        return (*target.tables, alt, *(t for t in _join_tables(alt)
                                      if t not in target.tables))
    if not isinstance(target.persist_selectable, Join):
        return (target.local_table,)
    parent_tables = set(prop.parent.tables)
    return tuple(t for t in target.tables if t not in parent_tables) or \
        (target.local_table,)


def _join_tables(sel: Any) -> list[Any]:
    """The tables (or aliases, subqueries) a join joins; none for anything else."""
    if not isinstance(sel, Join):
        return []
    return [*(_join_tables(sel.left) or [sel.left]),
            *(_join_tables(sel.right) or [sel.right])]


def ends_share_table(prop: Any) -> bool:
    """Whether relationship ``prop``'s two ends, mapped to different tables, have a
    table in common (a joined-table subclass and its base: ``Person.manager`` to
    ``Manager(Person)``), so that the join condition's columns of that table stand for
    the parent's row, not the target's."""
    parent, target = prop.parent, prop.mapper
    return parent.local_table is not target.local_table and \
        not set(parent.tables).isdisjoint(target.tables)


def _refers(a: Any, b: Any, joins: bool) -> bool:
    """Whether table ``a`` has a foreign key to ``b``; a key-to-key foreign key is the
    one joining a subclass table to its base, not counted (unless ``joins``: there is
    no such thing between the tables of a join)."""
    return any(fk.references(b) and (joins or not (fk.parent.primary_key
                                                   and fk.column.primary_key))
               for fk in a.foreign_keys)


def _linked(a: object, b: object, joins: bool) -> bool:
    return _refers(a, b, joins) or _refers(b, a, joins)
