"""SQL criteria from a parent row: the lazy-load clause and ``parent_criterion``.

Built once the join analysis (:mod:`.relationship_joins`) has run: the lazy
clause is the target's side of the join condition with the parent's columns as
named bind parameters (filled from the parent object's attributes at load time by
:mod:`datamapper.loading.related`); ``parent_criterion`` is the same condition
with the values read from one object when the statement runs (``with_parent()``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Column, and_, bindparam
from sqlalchemy.exc import ArgumentError, SAWarning
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression

from .relationship_clauses import ends_share_table, non_pair_criteria, target_tables
from .relationship_joins import MANYTOMANY, MANYTOONE

if TYPE_CHECKING:
    from .relationships import RelationshipProperty


class LazyClause(NamedTuple):
    """The lazy load of a relationship: ``target WHERE clause``, with ``params``
    (bind name, parent attribute key); the first ``nkeys`` of them are key values
    (None in any of them: nothing to load).  ``simple_m2o``: a many-to-one on the
    target's primary key, looked up in the identity map first by the parent's
    attributes ``m2o_fk_keys``."""

    clause: Any
    params: list[tuple[str, str]]
    nkeys: int
    parent_cols: frozenset[Any]  # parent columns bound besides the key pairs
    simple_m2o: bool
    m2o_fk_keys: tuple[str, ...]


def lazy_clause(prop: RelationshipProperty) -> LazyClause:
    """``target WHERE <remote columns> = :params from the parent row``.

    Criteria of the join condition besides the key pairs stay in the clause; the
    parent's own columns in them become parameters bound from the parent's values
    too (the lazy SELECT never has the parent table in its FROM)."""
    parent_cols = prop.parent._col_to_prop
    if prop.direction != MANYTOMANY and not (
            _pairs_are_conjuncts(prop)
            and all(lc in parent_cols for lc, _rc in prop.local_remote_pairs)):
        # OR-ed or non-equality pairs, or (viewonly) a join through other tables
        return _whole_lazy_clause(prop)
    params: list[tuple[str, str]] = []  # (bind name, parent attribute key)
    crit: list[Any] = []
    extra = _key_criteria(prop, params, crit)
    nkeys = len(params)  # the key parameters; the rest are extra criteria
    bind_parent, bound = _parent_binder(prop, params)
    for part in extra:
        crit.append(visitors.replacement_traverse(part, {}, bind_parent))
    # many-to-one on the target's primary key: look in the identity map first
    # (by attribute: a joined-table subclass's key is its own table's column and its
    # base's, one attribute; a foreign key to either names it)
    target_cols = prop.mapper._col_to_prop
    pk_props = [target_cols.get(c) for c in prop.mapper.primary_key]
    by_remote = {target_cols.get(rc): lc for lc, rc in prop.local_remote_pairs}
    simple_m2o = (
        prop.direction == MANYTOONE and len(crit) == len(prop.local_remote_pairs)
        and None not in by_remote and len(by_remote) == len(prop.local_remote_pairs)
        and set(by_remote) == set(pk_props)
    )
    fk_keys = _foreign_key_attributes(prop) if simple_m2o else ()
    return LazyClause(and_(*crit) if len(crit) > 1 else crit[0], params, nkeys,
                      frozenset(bound), simple_m2o, fk_keys)


def _key_criteria(prop: RelationshipProperty, params: list[tuple[str, str]],
                  crit: list[Any]) -> list[Any]:
    """Put ``remote column = :param`` for each key pair of ``prop`` into ``crit`` (and
    a many-to-many's secondary join), the parameters into ``params`` (bind name, parent
    attribute key); give back the join condition's other criteria."""
    parent_cols = prop.parent._col_to_prop
    if prop.direction == MANYTOMANY:
        for i, (pcol, scol) in enumerate(prop.synchronize_pairs):
            name = f"_dm_lz_{i}"
            params.append((name, parent_cols[pcol].key))
            crit.append(scol == bindparam(name))
        crit.append(prop.secondaryjoin)
        return non_pair_criteria(prop.primaryjoin, prop.synchronize_pairs)
    for i, (lc, rc) in enumerate(prop.local_remote_pairs):
        name = f"_dm_lz_{i}"
        col_prop = parent_cols.get(lc)
        if col_prop is None:
            raise ArgumentError(
                f"Can't configure relationship {prop.qualname}: column {lc} is not "
                f"mapped on {prop.parent.class_.__name__}"
            )
        params.append((name, col_prop.key))
        crit.append(rc == bindparam(name))
    return non_pair_criteria(prop.primaryjoin, list(prop.local_remote_pairs))


def _foreign_key_attributes(prop: RelationshipProperty) -> tuple[str, ...]:
    """The parent's attribute keys holding a many-to-one's foreign key, in the order
    of the target's primary key."""
    parent_cols = prop.parent._col_to_prop
    # by attribute: the pairs may name a joined-table subclass's own key column
    target_cols = prop.mapper._col_to_prop
    by_remote = {target_cols.get(rc): lc for lc, rc in prop.local_remote_pairs}
    return tuple(parent_cols[by_remote[target_cols.get(c)]].key
                 for c in prop.mapper.primary_key)


def _parent_binder(prop: RelationshipProperty, params: list[tuple[str, str]]
                   ) -> tuple[Callable[..., object], dict[Any, str]]:
    """A replacement function for ``visitors.replacement_traverse`` turning each
    parent-side column into a bind parameter (appended to ``params``), and the dict
    of the columns it bound (column -> bind name)."""
    bound: dict[Any, str] = {}  # parent-side column -> bind name
    parent_cols = prop.parent._col_to_prop

    def bind_parent(element: object, **kw: object) -> Any:
        if isinstance(element, Column) and is_parent_side(prop, element):
            name = bound.get(element)
            if name is None:
                name = bound[element] = f"_dm_lz_{len(params)}"
                params.append((name, parent_cols[element].key))
            return bindparam(name, type_=element.type)
        return None

    return bind_parent, bound


def _pairs_are_conjuncts(prop: RelationshipProperty) -> bool:
    """Whether each key pair is an ``a == b`` AND-ed at the top of the join condition
    (the usual case); not so for OR-ed alternatives or other comparisons."""
    pj = prop.primaryjoin
    parts = list(pj.clauses) if getattr(pj, "operator", None) is operators.and_ else [pj]
    eqs = {frozenset((id(p.left), id(p.right))) for p in parts
           if isinstance(p, BinaryExpression) and p.operator is operators.eq}
    return all(frozenset((id(a), id(b))) in eqs for a, b in prop.local_remote_pairs)


def _whole_lazy_clause(prop: RelationshipProperty) -> LazyClause:
    """The lazy clause of a join condition that is not an AND of key equalities:
    the condition itself, each parent-side column bound from the parent row.  No
    parameter is a key that makes the load empty when None (an OR-ed alternative
    may still match)."""
    params: list[tuple[str, str]] = []
    bind_parent, bound = _parent_binder(prop, params)
    clause = visitors.replacement_traverse(
        prop.primaryjoin, {}, bind_parent)
    return LazyClause(clause, params, 0, frozenset(bound), False, ())


def is_parent_side(prop: RelationshipProperty, col: object) -> bool:
    """Whether ``col`` of the (non-pair part of the) join condition stands for the
    parent row: a column the parent maps, not on the remote side (self-referential)
    nor of the target's or the secondary table."""
    if col not in prop.parent._col_to_prop:
        return False
    if prop.secondary is not None and prop.is_secondary_column(col):
        return False
    if prop.parent.local_table is prop.mapper.local_table:
        if prop.direction == MANYTOMANY:
            return True  # only primaryjoin's criteria are considered here
        return not prop.is_remote_occurrence(col)
    if ends_share_table(prop):
        # the target maps the parent's table too (Person.manager -> Manager(Person)):
        # the tables of the target only stand for the target's row
        return getattr(col, "table", None) not in target_tables(prop)
    return col not in prop.mapper._col_to_prop


def parent_criterion(prop: RelationshipProperty, obj: object, lazy_parent_cols: frozenset[Any],
                     remote_occurrences: bool) -> Any:
    """The rows of the target related to ``obj`` (a parent object, persistent, pending
    or transient): the join condition with ``obj``'s columns as bound values, read
    when the statement runs (after an autoflush gave a pending object its keys).
    ``lazy_parent_cols``: the parent columns of the criteria besides the key pairs
    (:attr:`LazyClause.parent_cols`)."""
    local = [pc for pc, _sc in prop.synchronize_pairs] if prop.direction == MANYTOMANY \
        else [lc for lc, _rc in prop.local_remote_pairs]
    parent_cols = prop.parent._col_to_prop
    binds: dict[Any, Any] = {}

    def bind_parent(element: object, **kw: object) -> Any:
        if not isinstance(element, Column) or element not in parent_cols:
            return None
        if element not in local and element not in lazy_parent_cols:
            return None
        if remote_occurrences and prop.is_remote_occurrence(element):
            return None
        b = binds.get(element)
        if b is None:
            b = binds[element] = bindparam(
                None, callable_=_attribute_reader(obj, parent_cols[element].key, element),
                type_=element.type)
        return b

    crit = visitors.replacement_traverse(prop.primaryjoin, {}, bind_parent)
    if prop.direction == MANYTOMANY:
        crit = and_(crit, prop.secondaryjoin)
    return crit


def _attribute_reader(obj: object, key: str, col: object) -> Any:
    def read() -> Any:
        value = getattr(obj, key)
        if value is None:
            warnings.warn(
                f"Got None for value of column {col} of {type(obj).__name__}.{key}: the "
                "relationship criterion compares it with '=', which matches no row (it is "
                "not turned into IS NULL); give the object its key values first",
                SAWarning, stacklevel=2)
        return value

    return read
