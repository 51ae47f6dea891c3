"""Join-condition analysis: a relationship's direction and column pairs.

From the two mappers' tables, their ``ForeignKey`` objects and the
``primaryjoin``/``secondaryjoin``/``foreign_keys``/``remote_side`` arguments (already
resolved by :mod:`.relationship_args`), :class:`JoinAnalysis` works out

- the join condition(s), derived from the foreign keys when not given;
- the direction: ONETOMANY (the target's rows refer to the parent's),
  MANYTOONE (the parent's rows refer to the target's) or MANYTOMANY (both are
  referred to by a ``secondary`` table);
- the *synchronize pairs* the flush copies keys along (referenced column, foreign
  column), and the *local/remote pairs* that lazy loads and joins read.

The result is a :class:`JoinShape`; the property copies it onto itself.  Nothing
here evaluates user arguments or touches instances.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Table, and_
from sqlalchemy.exc import (
    AmbiguousForeignKeysError,
    ArgumentError,
    NoForeignKeysError,
    SAWarning,
)
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.selectable import CompoundSelect, FromClause, Join, Subquery

from .._core import annotations_of, deannotate
from .relationship_clauses import (
    REMOTE_OCCURRENCE,
    ColumnSet,
    Pair,
    TableColumn,
    coerce_clause,
    column_comparisons,
    column_pairs,
    columns_in,
    fk_refers_within,
    has_fk_to,
    inherited_ends,
    operand_columns,
    split_marks,
)

if TYPE_CHECKING:
    from .mapper import Mapper


class RelationshipDirection(str):
    """A relationship's direction: equal to its name (``"ONETOMANY"`` ...), with
    ``.name`` as SQLAlchemy's enum has (libraries read ``prop.direction.name``)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str.__str__(self)


ONETOMANY = RelationshipDirection("ONETOMANY")
MANYTOONE = RelationshipDirection("MANYTOONE")
MANYTOMANY = RelationshipDirection("MANYTOMANY")



@dataclass
class JoinShape:
    """What the analysis decided (see the attributes of the same names on
    :class:`~datamapper.mapping.relationships.RelationshipProperty`)."""

    primaryjoin: Any
    direction: RelationshipDirection
    synchronize_pairs: list[Pair]
    local_remote_pairs: list[Pair]
    local_columns: frozenset[TableColumn]
    remote_side: frozenset[TableColumn]
    secondaryjoin: Any = None
    secondary_synchronize_pairs: list[Pair] = field(default_factory=list)
    # a self-referential condition with one column on both sides: remote() marks are
    # kept per occurrence in primaryjoin (see relationship_clauses.split_marks)
    remote_occurrences: bool = False


def _ends(pairs: list[Pair]) -> tuple[frozenset[TableColumn], frozenset[TableColumn]]:
    """(local columns, remote columns) of (local, remote) pairs."""
    return frozenset(lc for lc, _rc in pairs), frozenset(rc for _lc, rc in pairs)


class JoinAnalysis:
    """The join analysis of relationship ``where`` from ``parent`` to ``target``
    (through ``secondary``, whose tables are ``secondary_tables``, if given)."""

    def __init__(self, where: str, parent: Mapper, target: Mapper, secondary: Any,
                 secondary_tables: frozenset[Any], viewonly: bool) -> None:
        self.where = where
        self.parent = parent
        self.target = target
        self.secondary = secondary
        self.secondary_tables = secondary_tables
        self.viewonly = viewonly

    def _error(self, cls: type[Exception], text: str) -> Exception:
        return cls(f"Can't configure relationship {self.where}: {text}")

    def is_secondary_column(self, col: object) -> bool:
        return getattr(col, "table", None) in self.secondary_tables

    def analyze(self, fk_arg: ColumnSet, remote_arg: ColumnSet, pj: object, sj: object) -> JoinShape:
        """Work out the join condition(s), the direction, and the column pairs
        (synchronize, local/remote) from the tables, the foreign keys and the
        ``primaryjoin``/``secondaryjoin`` (``pj``/``sj``, or None) and
        ``foreign_keys``/``remote_side`` (``fk_arg``/``remote_arg``) arguments."""
        parent_t = self.parent.local_table
        target_t = self.target.local_table
        pj, pj_foreign, pj_remote, pj_occ = split_marks(coerce_clause(pj))
        sj, sj_foreign, _sj_remote, _sj_occ = split_marks(coerce_clause(sj))
        fk_arg = fk_arg | pj_foreign | sj_foreign
        remote_arg = remote_arg | pj_remote
        if len(self.parent.tables) > 1 or len(self.target.tables) > 1:
            # mapper inheritance: the tables of each side that the join links
            parent_t, target_t = inherited_ends(
                self.parent.tables, self.target.tables, self.secondary, pj,
                self.parent.non_table or self.target.non_table)
            # a class mapped to a UNION of tables (concrete inheritance's
            # polymorphic_union()): its rows are the union's, not one table's
            if _is_union(self.parent.local_table):
                parent_t = self.parent.local_table
            if _is_union(self.target.local_table):
                target_t = self.target.local_table
            # a class mapped to a select() of several tables (no inheritance): the join
            # links its rows, the select, whose columns stand for the tables' own
            # (a class mapped to a join of tables: the table of it that the join
            # condition names, as for inheritance)
            if self.parent.non_table and self.parent.inherits is None and \
                    not isinstance(self.parent.local_table, Join):
                parent_t = self.parent.local_table
            if self.target.non_table and self.target.inherits is None and \
                    not isinstance(self.target.local_table, Join):
                target_t = self.target.local_table
        if self.secondary is not None:
            return self._secondary_join(self.secondary, parent_t, target_t, pj, sj, fk_arg)
        if pj is None:
            pj = self._derive(parent_t, target_t, fk_arg, "primaryjoin")
        self_ref = parent_t is target_t
        if pj_occ is not None and self_ref:
            return self._occurrence_join(pj_occ, pj_foreign, pj_remote)
        if self_ref:
            pairs, direction = self._self_referential_pairs(pj, fk_arg, remote_arg)
        else:
            pairs, direction = self._pairs_between_tables(pj, parent_t, target_t, fk_arg,
                                                          remote_arg)
        if not pairs:
            raise self._error(
                ArgumentError, f"could not tell which columns of {pj} refer to the other "
                "side; pass foreign_keys= (and remote_side= for a self-referential "
                "relationship)")
        lrp = self._local_remote_pairs(pairs, direction, self_ref, pj, remote_arg)
        local, remote = _ends(lrp)
        if self_ref and remote_arg:
            # remote()/remote_side= naming a column of a criterion besides the key pairs
            # (remote(Node.size) > 10): that column is the related row's too
            remote = remote | frozenset(c for c in columns_in(pj) if c in remote_arg)
        return JoinShape(pj, direction, pairs, lrp, local, remote)

    def _local_remote_pairs(self, pairs: list[Any], direction: object, self_ref: bool,
                            pj: Any, remote_arg: ColumnSet) -> list[Any]:
        """(local, remote) column pairs from the (referenced, foreign) ``pairs``."""
        if direction == ONETOMANY:
            lrp = [(r, f) for r, f in pairs]
        else:
            lrp = [(f, r) for r, f in pairs]
        mapped = self.parent._col_to_prop
        if not self_ref and any(lc not in mapped for lc, _rc in lrp):
            # (viewonly) a join through other tables: the parent's side of it is where
            # a parent column meets remote_side=
            lrp = self._pairs_from_remote_side(pj, remote_arg)
        return lrp

    def _secondary_join(self, sec: Any, parent_t: Any, target_t: Any, pj: Any, sj: Any,
                        fk_arg: ColumnSet) -> JoinShape:
        """Many-to-many through ``secondary``: both joins (derived when not given) and
        the pairs of each side's columns with the secondary table's."""
        if pj is None:
            pj = self._derive_from_parent_tables(sec, fk_arg)
        if sj is None:
            try:
                sj = self._derive(target_t, sec, fk_arg, "secondaryjoin", only_from=sec,
                                  exclude=pj if parent_t is target_t else None)
            except NoForeignKeysError:
                if parent_t is target_t:
                    raise
                # the target's table refers to the secondary (secondary= names an
                # intermediate table of a chain: grandparent -> parent <- child)
                sj = self._derive(target_t, sec, fk_arg, "secondaryjoin",
                                  only_from=target_t)
        p_pairs = column_pairs(pj, self.is_secondary_column, fk_arg)
        s_pairs = column_pairs(sj, self.is_secondary_column, fk_arg)
        if not p_pairs or not s_pairs:
            raise self._error(
                ArgumentError, f"could not find columns of secondary table {sec.name!r} "
                f"compared to {parent_t.name!r} and {target_t.name!r}; give primaryjoin= "
                "and secondaryjoin= (or foreign_keys=)")
        return JoinShape(
            pj, MANYTOMANY,
            synchronize_pairs=p_pairs,  # (parent col, secondary col)
            secondary_synchronize_pairs=s_pairs,  # (target col, secondary col)
            local_remote_pairs=list(p_pairs) + list(s_pairs),
            remote_side=frozenset(c for _s, c in p_pairs + s_pairs),
            local_columns=frozenset(s for s, _c in p_pairs),
            secondaryjoin=sj)

    def _self_referential_pairs(self, pj: object, fk_arg: ColumnSet, remote_arg: ColumnSet
                                ) -> tuple[list[Pair], RelationshipDirection]:
        """(referenced, foreign) pairs of a join of a table to itself, and the direction
        (remote_side= tells it: one-to-many unless it names the referenced columns)."""
        is_foreign = (lambda c: c in fk_arg) if fk_arg else fk_refers_within(pj)
        pairs = column_pairs(pj, is_foreign, fk_arg)
        if remote_arg:
            # a column compared to itself (company_id = company_id in a composite
            # self-referential key) is on both sides: it tells no direction
            foreign_cols = {f for r, f in pairs if r is not f}
            return pairs, ONETOMANY if foreign_cols & remote_arg else MANYTOONE
        if not pairs and self.viewonly:
            pairs = column_pairs(pj, is_foreign, fk_arg, any_operator=True)
        return pairs, ONETOMANY

    def _pairs_between_tables(self, pj: Any, parent_t: Any, target_t: Any,
                              fk_arg: ColumnSet, remote_arg: ColumnSet
                              ) -> tuple[list[Pair], RelationshipDirection]:
        """(referenced, foreign) pairs of a join of two different tables, and the
        direction (from the table holding the foreign columns)."""
        self._check_remote_side_between_tables(pj, parent_t, remote_arg)
        if fk_arg:
            both = [(a, b) for a, b in column_comparisons(pj)
                    if a in fk_arg and b in fk_arg and a.table is not b.table]
            if both:
                a, b = both[0]
                raise self._error(
                    ArgumentError, f"can't tell its direction: foreign_keys= names {a} and "
                    f"{b}, columns of both the parent's and the target's table in the same "
                    "comparison; name only the columns that refer to the other side")

            def is_foreign(c: Any) -> bool:
                return c in fk_arg
        else:
            def is_foreign(c: Any) -> bool:
                return has_fk_to(c, target_t if _within(c, parent_t) else parent_t)
        pairs = column_pairs(pj, is_foreign, fk_arg)
        if not pairs and self.viewonly:
            # a read-only join on other comparisons (>, LIKE, between(), op())
            pairs = column_pairs(pj, is_foreign, fk_arg, any_operator=True)
        if not pairs:
            raise self._error(
                ArgumentError, f"no foreign key links {_name(parent_t)!r} and "
                f"{_name(target_t)!r} in its join condition; add a ForeignKey to the Table, "
                "or pass foreign_keys= naming the referring columns")
        # (a side mapped to a join holds its tables' own columns)
        foreign_sides = {parent_t if _within(f, parent_t) else
                         target_t if _within(f, target_t) else f.table for _r, f in pairs}
        if foreign_sides == {target_t}:
            return pairs, ONETOMANY
        if foreign_sides == {parent_t}:
            return pairs, MANYTOONE
        raise self._error(
            ArgumentError, f"foreign keys run both ways between {_name(parent_t)!r} and "
            f"{_name(target_t)!r}; pass foreign_keys= naming the referring columns of this "
            "relationship")

    def _check_remote_side_between_tables(self, pj: object, parent_t: object,
                                          remote_arg: ColumnSet) -> None:
        """remote_side= on a join of two tables: refused when it can't split a
        comparison, warned about (and ignored) where it names the parent's columns."""
        if remote_arg and not any((a in remote_arg) != (b in remote_arg)
                                  for a, b in column_comparisons(pj)):
            raise self._error(
                ArgumentError, "remote_side= names columns on both sides (or on neither "
                f"side) of each comparison in {pj}, so no local/remote column pair can be "
                "told apart; name only the related table's columns, or drop remote_side= "
                "(it is needed only for a self-referential relationship)")
        for col in sorted(remote_arg, key=str):
            if col.table is parent_t:
                warnings.warn(
                    f"Expression {col} is marked as 'remote', but these column(s) are "
                    f"local to the local side. Relationship {self.where} joins two "
                    "different tables, so its remote side is simply the target's "
                    "columns; remote() and remote_side= matter only when both ends are "
                    "the same table. The mark is ignored; drop it.",
                    SAWarning, stacklevel=4,
                )

    def _occurrence_join(self, occ: object, foreign: set[Any], remote: set[Any]) -> JoinShape:
        """A self-referential condition with one column on both sides (see
        :func:`~.relationship_clauses.split_marks`): the remote side is each occurrence
        marked remote(), kept in ``primaryjoin`` as an annotation that joins, lazy loads
        and eager loads read (``RelationshipProperty.is_remote_occurrence``).  foreign()
        on the remote occurrences makes it a one-to-many (on the local ones, a
        many-to-one).  Only ``=`` comparisons can be written; anything else is for
        viewonly=True relationships."""
        lrp, eq_pairs = _occurrence_pairs(occ)
        if not lrp or (not eq_pairs and not self.viewonly):
            why = ("compares the remote() occurrences of its columns only with '=' "
                   "nowhere, so nothing can be written; give viewonly=True" if lrp else
                   "compares no occurrence marked remote() with an unmarked one; mark the "
                   "related row's side with remote()")
            raise self._error(ArgumentError, f"its join condition {occ} {why}")
        one_to_many = bool(foreign & remote)
        pairs = eq_pairs if eq_pairs else lrp  # (local column, remote column)
        local, remote_cols = _ends(lrp)
        return JoinShape(
            occ, ONETOMANY if one_to_many else MANYTOONE,
            # synchronize_pairs: (referenced column, foreign column)
            synchronize_pairs=pairs if one_to_many else [(r, lc) for lc, r in pairs],
            local_remote_pairs=lrp, local_columns=local, remote_side=remote_cols,
            remote_occurrences=True)

    def _pairs_from_remote_side(self, pj: object, remote_arg: ColumnSet) -> list[Pair]:
        """(parent column, remote column) for each comparison of a column the parent maps
        with one named in ``remote_side``."""
        mapped = self.parent._col_to_prop
        out = []
        for a, b in column_comparisons(pj):
            for lc, rc in ((a, b), (b, a)):
                if rc in remote_arg and lc not in remote_arg and lc in mapped \
                        and (lc, rc) not in out:
                    out.append((lc, rc))
        if not out:
            raise self._error(
                ArgumentError, f"its join condition {pj} goes through other tables, and no "
                "column of the parent is compared with a column named in remote_side=; "
                "pass remote_side= naming the columns the parent's columns are compared "
                "with (the local/remote column pairs of the join)")
        return out

    def _derive_from_parent_tables(self, sec: Any, fk_arg: ColumnSet) -> Any:
        """The secondary's join to the parent: to the parent's own table, else (an
        inheriting class) to the first of its superclasses' tables it refers to."""
        parent_t = self.parent.local_table
        others = [t for t in reversed(getattr(self.parent, "tables", [parent_t]))
                  if t is not parent_t]
        try:
            return self._derive(parent_t, sec, fk_arg, "primaryjoin", only_from=sec)
        except NoForeignKeysError:
            for t in others:
                try:
                    return self._derive(t, sec, fk_arg, "primaryjoin", only_from=sec)
                except NoForeignKeysError:
                    continue
            if parent_t is not self.target.local_table:
                try:  # the parent's table refers to the secondary
                    return self._derive(parent_t, sec, fk_arg, "primaryjoin",
                                        only_from=parent_t)
                except NoForeignKeysError:
                    pass
            raise

    def _derive(self, a: Table, b: Table, fk_arg: ColumnSet, what: str,
                only_from: Table | None = None, exclude: object = None) -> ColumnElement[bool]:
        """Build ``a JOIN b`` from foreign keys between the two tables."""
        cands = _fk_candidates(a, b, fk_arg, only_from, exclude)
        if not cands:
            raise self._error(
                NoForeignKeysError, f"there is no foreign key between tables {a.name!r} and "
                f"{b.name!r} to derive its {what} from; add a ForeignKey, or pass {what}= "
                "(and foreign_keys=)")
        src_tables = {f.table for f, _r in cands}
        by_ref: dict[Any, list[Any]] = {}
        for f, r in cands:
            by_ref.setdefault(r, []).append(f)
        if len(src_tables) > 1 and a is not b and only_from is None:
            raise self._error(
                AmbiguousForeignKeysError, f"tables {a.name!r} and {b.name!r} have foreign "
                "keys in both directions; pass foreign_keys= naming the referring "
                "column(s), or primaryjoin=")
        if any(len(v) > 1 for v in by_ref.values()):
            names = ", ".join(f"{f.table.name}.{f.name}" for f, _r in cands)
            raise self._error(
                AmbiguousForeignKeysError, f"several foreign key paths join {a.name!r} and "
                f"{b.name!r} ({names}); pass foreign_keys= naming the one to use, or "
                f"{what}=")
        # referenced column first, as Core's join_condition() writes it
        # (``users.id = addresses.user_id``)
        return and_(*[r == f for f, r in cands]) if len(cands) > 1 else cands[0][1] == cands[0][0]


def _is_union(sel: object) -> bool:
    """Whether ``sel`` is a subquery of a UNION (or another compound SELECT)."""
    return isinstance(sel, Subquery) and isinstance(sel.element, CompoundSelect)


def _occurrence_pairs(occ: Any) -> tuple[list[Pair], list[Pair]]:
    """(local column, remote column) for each comparison of an occurrence marked
    remote() with an unmarked one in ``occ``: all of them, and those compared with
    ``=``."""
    lrp: list[Pair] = []
    eq_pairs: list[Pair] = []
    for elem in visitors.iterate(occ):
        if not isinstance(elem, BinaryExpression):
            continue
        for a, b in operand_columns(elem):
            ra = bool(annotations_of(a).get(REMOTE_OCCURRENCE))
            rb = bool(annotations_of(b).get(REMOTE_OCCURRENCE))
            if ra == rb:
                continue
            pair = (deannotate(b), deannotate(a)) if ra else (deannotate(a), deannotate(b))
            if pair not in lrp:
                lrp.append(pair)
            if elem.operator is operators.eq and pair not in eq_pairs:
                eq_pairs.append(pair)
    return lrp, eq_pairs


def _fk_candidates(a: Table, b: Table, fk_arg: ColumnSet, only_from: Table | None,
                   exclude: object) -> list[Pair]:
    """(foreign column, referenced column) of each foreign key between ``a`` and ``b``
    (from ``only_from`` only, if given; restricted to ``fk_arg`` if not empty; not
    those used by ``exclude`` if others remain), or else pairs of same-named columns
    for the columns ``fk_arg`` names (foreign_keys= naming columns with no ForeignKey)."""
    cands: list[Pair] = []
    for src, dst in ((b, a), (a, b)):
        if only_from is None or src is only_from:
            cands += [p for p in _foreign_keys_to(src, dst, fk_arg) if p not in cands]
        if a is b:
            break
    if exclude is not None:
        used = set(columns_in(exclude))
        rest = [(f, r) for f, r in cands if f not in used]
        if rest:
            cands = rest
    if fk_arg and not cands:
        for col in sorted(fk_arg, key=lambda c: str(c)):
            other = a if col.table is b else b
            if col.table in (a, b) and col.name in other.c:
                # foreign_keys= names table columns here (those without a ForeignKey)
                cands.append((cast(TableColumn, col), other.c[col.name]))
    return cands


def _foreign_keys_to(src: FromClause, dst: FromClause, fk_arg: ColumnSet) -> list[Pair]:
    """(foreign column, referenced column) of each foreign key of ``src`` referring to
    ``dst`` (those of columns in ``fk_arg`` only, if it is not empty), in a stable
    order; a key whose target can't be resolved is skipped."""
    out: list[Pair] = []
    for fk in sorted(src.foreign_keys, key=lambda f: (f.parent.name, f.target_fullname)):
        parent: object = fk.parent
        if fk.parent.table is not src:
            # a subquery or CTE lists the foreign keys of the table columns it selects:
            # the key belongs to its own column standing for that table column
            parent = src.corresponding_column(fk.parent)
            if parent is None:
                continue
        if fk_arg and parent not in fk_arg:
            continue
        try:
            col: object = fk.column
        except Exception:
            continue
        if fk.column.table is not dst:
            # the referenced table selected in a subquery or CTE the target is mapped to
            col = dst.corresponding_column(fk.column)
            if col is None:
                continue
        pair = cast(Pair, (parent, col))
        if pair not in out:
            out.append(pair)
    return out


def _within(col: Any, selectable: Any) -> bool:
    """Whether ``col`` belongs to ``selectable``: its own column, or for a join one of
    its tables' columns."""
    return col.table is selectable or (
        isinstance(selectable, Join) and selectable.corresponding_column(col) is col)


def _name(selectable: Any) -> str:
    """A selectable's name for a message (a join: its SQL, "a JOIN b ON ...")."""
    return str(getattr(selectable, "name", None) or selectable)
