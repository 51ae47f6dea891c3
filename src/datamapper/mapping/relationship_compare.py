"""SQL for comparisons along a relationship: ``==``/``!=`` an object, ``contains()``,
``any()``/``has()``.

``Address.user == some_user`` becomes the join condition with ``some_user``'s key
values as bound parameters, read when the statement runs (an object flushed in
between has its keys by then); ``User.addresses.contains(a)``, ``any()`` and
``has()`` become EXISTS subqueries correlated to the parent's table only.  The
property (:class:`~datamapper.mapping.relationships.RelationshipProperty`) calls
these after configuring the mappers.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Column, ColumnElement, Exists, Join, and_, bindparam, exists, or_, select
from sqlalchemy.exc import ArgumentError, InvalidRequestError, SAWarning
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, ColumnClause, Null
from sqlalchemy.sql.util import ClauseAdapter, find_tables

from .._core import annotate, deannotate
from .._util import NO_VALUE
from ..exc import UnsupportedRelationshipOperator
from .inheritance import join_target
from .properties import SUBCLASS_KEY
from .relationship_clauses import ends_share_table, flat_alias, target_tables
from .relationship_criteria import is_parent_side
from .relationship_joins import MANYTOONE, ONETOMANY

if TYPE_CHECKING:
    from .mapper import Mapper
    from .relationships import RelationshipProperty


def operate(prop: RelationshipProperty, op: object, other: tuple[object, ...]) -> Any:
    """``Parent.rel <op> other``: ``==``/``!=`` an object (or None), ``contains()``."""
    return _mark_parent_side(prop, _operate(prop, op, other))


def _mark_parent_side(prop: RelationshipProperty, clause: Any) -> Any:
    """``clause`` (a comparison of a joined-table subclass's relationship) with its
    columns of the subclass's tables marked as the subclass's, as its attributes'
    columns are: a statement that joins the subclass through an alias (its tables
    overlap another class's) adapts them to it, the columns of the other class
    staying (``select(Child2).join(Child2.right_children).where(Child1.left_child2
    == c)``: the comparison names the aliased Child1's row, not Child2's)."""
    parent = prop.parent
    if parent.inherits is None or parent.single or parent.concrete:
        return clause
    tables = set(parent.tables)

    def mark(element: object, **_kw: object) -> Any:
        if isinstance(element, Column) and element.table in tables:
            return annotate(element, {SUBCLASS_KEY: parent})
        return None

    return visitors.replacement_traverse(clause, {}, mark)


def _operate(prop: RelationshipProperty, op: object, other: tuple[object, ...]) -> Any:
    value = other[0] if other else None
    if isinstance(value, Null):  # Address.user == null(): as == None
        value = None
    if prop.target_from is not None and op in (operators.eq, operators.ne,
                                               operators.contains_op):
        return _compare_in_target_from(prop, op, value)
    if op is operators.contains_op:
        return _contains(prop, value)
    if op in (operators.eq, operators.ne):
        if op is operators.ne and value is not None and prop.direction == MANYTOONE:
            # a row whose foreign key is NULL refers to no object: not that one either
            return _not_related_to(prop, value)
        crit = _compare_to_object(prop, value)
        if op is operators.ne:
            return ~crit
        return crit
    raise UnsupportedRelationshipOperator(
        f"Can't use operator {getattr(op, '__name__', op)} with relationship {prop.qualname}: "
        "compare to an object with == or !=, or use .any()/.has()/.contains()"
    )


def _values_of(obj: object, cols: list[Any], mapper: Mapper) -> list[Any]:
    d = obj.__dict__
    out = []
    for c in cols:
        k = mapper._col_to_prop[c].key
        if k not in d:
            getattr(obj, k)
        out.append(d.get(k))
    return out


def _check_object(prop: RelationshipProperty, value: object, what: str) -> None:
    """``value`` must be an instance of the target class (a bad one gets a message
    naming the relationship, not an AttributeError from deep inside)."""
    target = prop.mapper.class_
    if not isinstance(value, target):
        raise ArgumentError(
            f"Can't {what} {prop.qualname} with {value!r}: it takes a {target.__name__} "
            f"object; to compare a key value, compare the foreign key column instead"
        )


def _compare_to_object(prop: RelationshipProperty, value: object) -> Any:
    if prop.direction == MANYTOONE:
        locals_ = [lc for lc, _rc in prop.local_remote_pairs]
        if value is None:
            return and_(*[lc.is_(None) for lc in locals_])
        _check_object(prop, value, "compare")
        return _bound_join_condition(prop, value)
    if value is None:
        return ~(prop.any_() if prop.uselist else prop.has_())
    if not prop.uselist:  # one-to-one seen from the parent side
        _check_object(prop, value, "compare")
        return _member_criterion(prop, value)
    raise InvalidRequestError(
        f"Can't compare collection {prop.qualname} to {value!r}: a collection can't be "
        f"compared to a value or object; use contains() to test membership "
        f"({prop.qualname}.contains(obj)) or .any(...)"
    )


def _bound_join_condition(prop: RelationshipProperty, obj: object) -> Any:
    """The join condition with each column of the target's side replaced by ``obj``'s
    value for it, read when the statement runs (many-to-one ``== obj``)."""
    target = prop.mapper

    def replace(element: object, **_kw: object) -> Any:
        if isinstance(element, Column) and element in target._col_to_prop and \
                not is_parent_side(prop, element):
            return _value_param(prop, obj, element, None)
        return None

    return visitors.replacement_traverse(
        prop.primaryjoin, {}, replace)


def _value_param(prop: RelationshipProperty, obj: Any, col: Any, name: str | None) -> Any:
    from .coercion import state_of

    key = prop.mapper._col_to_prop[col].key
    # the value the object has now, used if it can't be read when the statement runs
    # (the object detached and expired since): a known value beats an error
    known = obj.__dict__.get(key, _UNKNOWN)
    state = state_of(obj) if state_of is not None else None
    if state is not None:  # and the value it has when next expired (a flush's key)
        state.track_last_known(key)
    return bindparam(name, type_=col.type, unique=True,
                     callable_=lambda: _value_for_comparison(obj, key, col, known))


def _is_plain_key_join(prop: RelationshipProperty) -> bool:
    """Whether the join condition is only ``foreign key = target primary key``."""
    pairs = prop.local_remote_pairs
    binaries = [b for b in visitors.iterate(prop.primaryjoin)
                if isinstance(b, BinaryExpression)]
    # (a joined-table subclass's key columns: its own table's or its base's, one
    # attribute of both)
    by_col = prop.mapper._col_to_prop
    return len(binaries) == len(pairs) and \
        all(b.operator is operators.eq for b in binaries) and \
        {by_col.get(rc) for _lc, rc in pairs} == {by_col.get(c) for c in prop.mapper.primary_key}


def _not_related_to(prop: RelationshipProperty, obj: object) -> Any:
    """Many-to-one ``!= obj``: rows not related to ``obj``, those with a NULL foreign
    key included."""
    _check_object(prop, obj, "compare")
    if _is_plain_key_join(prop):
        return and_(*[or_(lc != _value_param(prop, obj, rc, lc.key), lc.is_(None))
                      for lc, rc in prop.local_remote_pairs])
    target = prop.mapper
    keys = [target._col_to_prop[c].key for c in target.primary_key]
    return ~prop.has_(and_(*[c == getattr(obj, k)
                            for c, k in zip(target.primary_key, keys, strict=True)]))


def _contains(prop: RelationshipProperty, value: object) -> Any:
    if not prop.uselist:
        raise ArgumentError(f"contains() applies to collections, not to {prop.qualname}; "
                            "compare with == instead")
    _check_object(prop, value, "test membership in")
    return _member_criterion(prop, value)


def _member_criterion(prop: RelationshipProperty, value: object) -> ColumnElement[bool] | Exists:
    """Rows of the parent table related to ``value`` (one-to-many, many-to-many)."""
    if prop.direction == ONETOMANY:
        parents = [r for r, _f in prop.synchronize_pairs]
        vals = _values_of(value, [f for _r, f in prop.synchronize_pairs], prop.mapper)
        return and_(*[p == v for p, v in zip(parents, vals, strict=True)])
    sec = prop.secondary
    tvals = _values_of(value, [t for t, _s in prop.secondary_synchronize_pairs],
                            prop.mapper)
    crit = [s == v for (_t, s), v in zip(prop.secondary_synchronize_pairs, tvals,
                                          strict=True)]
    crit.extend(p == s for p, s in prop.synchronize_pairs)
    return exists(select(1).select_from(sec).where(and_(*crit)).scalar_subquery())


def _criterion_for(prop: RelationshipProperty, criterion: object, kw: dict[str, Any]) -> list[Any]:
    crit = []
    if criterion is not None:
        crit.append(criterion)
    for k, v in kw.items():
        crit.append(getattr(prop.mapper.class_, k) == v)
    return crit


def any_criterion(prop: RelationshipProperty, criterion: object, kw: dict[str, Any],
                  target_from: Any = None) -> Exists:
    """EXISTS (a related row matching ``criterion`` and ``kw``) for any_().
    ``target_from``: the related rows' FROM when not the target's table (the tables of
    a joined-table subclass, for ``of_type(Sub)``)."""
    return _exists_related(prop, _criterion_for(prop, criterion, kw), target_from)


def _exists_related(prop: RelationshipProperty, crit: list[Any], target_from: Any) -> Exists:
    if prop.target_from is not None and target_from is None:
        return cast(Exists, _mark_parent_side(prop, _exists_in_target_from(prop, crit)))
    self_ref = prop.parent.local_table is prop.mapper.local_table
    # (many-to-many between joined-table siblings, Engineer.managers to Manager: both
    # ends read the base table, so the related rows come from an alias of the target's)
    if self_ref or ends_share_table(prop):
        out: Any = _exists_in_target_alias(prop, crit, target_from, self_ref)
        return cast(Exists, _mark_parent_side(prop, out))
    return cast(Exists, _mark_parent_side(prop, _exists_unaliased(prop, crit, target_from)))


def _exists_unaliased(prop: RelationshipProperty, crit: list[Any], target_from: Any) -> Exists:
    # the related rows' FROM: the tables of a joined-table subclass joined (a criterion
    # on its base's columns names them: read from its table alone, they were a
    # cartesian product with the base table), with those its mapping's
    # with_polymorphic subclasses add
    source = join_target(prop.mapper) if target_from is None else target_from
    if prop.secondary is not None:
        where = and_(prop.primaryjoin, prop.secondaryjoin, *crit)
        sub = select(1).select_from(source).select_from(prop.secondary).where(where)
    else:
        sub = select(1).select_from(source).where(and_(prop.primaryjoin, *crit))
    return exists(_correlate_parent_only(prop, sub, source))


def _correlate_parent_only(prop: RelationshipProperty, sub: Any, target_from: Any) -> Any:
    """The EXISTS of any()/has() correlates to the parent's table only: the target and
    secondary tables are its own even when the enclosing query joins them too."""
    own: list[Any] = [prop.target]
    if target_from is not None:
        # (the FROM itself too: a mapping's with_polymorphic join is one object, the
        # enclosing query's FROM when it reads the same class; kept out of it only by
        # its tables, the subquery lost its FROM to that query)
        own.append(target_from)
        own.extend(find_tables(target_from))
    if prop.secondary is not None:
        own.append(prop.secondary)
        own.extend(find_tables(prop.secondary))
    return sub.correlate_except(*own)


def has_criterion(prop: RelationshipProperty, criterion: object, kw: dict[str, Any],
                  target_from: Any = None) -> Exists:
    """EXISTS (a related row matching ``criterion`` and ``kw``) for has_() (``target_from``
    as for :func:`any_criterion`)."""
    return _exists_related(prop, _criterion_for(prop, criterion, kw), target_from)


def _exists_in_target_alias(prop: RelationshipProperty, crit: list[Any],
                            target_from: Any = None, self_ref: bool = False) -> Exists:
    """EXISTS (a related row matching ``crit``) for a relationship whose two ends share
    a table (self-referential ``Node.children``, or ``Person.manager`` to
    ``Manager(Person)``): the target's rows are read from an alias of its tables, so
    that the join condition's columns standing for the parent stay the parent's and
    those in ``crit`` name the related row."""
    target = prop.mapper.persist_selectable if target_from is None else target_from
    alias = flat_alias(target) if isinstance(target, Join) else target.alias()
    targets = target_tables(prop)

    def pick(element: object, **kw: object) -> Any:
        if not isinstance(element, Column):
            return None
        if prop.secondary is not None:  # secondaryjoin: its target's columns
            related = not prop.is_secondary_column(element)
        elif self_ref:
            related = prop.is_remote_occurrence(element)
        else:
            related = element.table in targets
        return alias.corresponding_column(element) if related else None

    adapter = ClauseAdapter(alias)
    adapted = [adapter.traverse(c) for c in crit]
    if prop.secondary is not None:
        sj = visitors.replacement_traverse(prop.secondaryjoin, {}, pick)
        sub = select(1).select_from(alias).select_from(prop.secondary).where(
            and_(prop.primaryjoin, sj, *adapted))
        own = [alias, prop.secondary, *find_tables(prop.secondary)]
        return exists(sub.correlate_except(*own))
    on = visitors.replacement_traverse(prop.primaryjoin, {}, pick)
    where = and_(on, *adapted)
    return exists(select(1).select_from(alias).where(where).correlate_except(alias))


def _compare_in_target_from(prop: RelationshipProperty, op: object, value: object) -> Any:
    """``==``/``!=`` an object or None, ``contains()``, of a relationship whose target
    rows are read from a selectable of its own (``relationship(aliased(Child,
    selectable))``): whether such a row related to the parent row is ``value``'s
    (EXISTS over the selectable, as the relationship loads it: the foreign key alone
    does not say the row is among those the selectable gives)."""
    if op is operators.contains_op and not prop.uselist:
        raise ArgumentError(f"contains() applies to collections, not to {prop.qualname}; "
                            "compare with == instead")
    if value is None:
        if op is operators.contains_op:
            _check_object(prop, value, "test membership in")
        crit: Any = ~_exists_in_target_from(prop, [])
    else:
        _check_object(prop, value, "test membership in" if op is operators.contains_op
                      else "compare")
        if prop.uselist and op is not operators.contains_op:
            raise InvalidRequestError(
                f"Can't compare collection {prop.qualname} to {value!r}: a collection "
                f"can't be compared to an object; use {prop.qualname}.contains(obj) or "
                ".any(...)")
        # (the parameter first: Core's compiled cache keys a statement by its shape,
        # not by whether a parameter's value is read late; a statement of the same
        # shape compiled first with a plain value, "alias.id = 5", would lend this one
        # its parameter handling and send None)
        target = prop.mapper
        crit = _exists_in_target_from(prop, [_value_param(prop, value, c, None) == c
                                             for c in target.primary_key])
    crit = _mark_parent_side(prop, crit)
    return ~crit if op is operators.ne else crit


def _exists_in_target_from(prop: RelationshipProperty, crit: list[Any]) -> Exists:
    """EXISTS (a row of the relationship's ``target_from`` related to the parent row and
    matching ``crit``): the join condition's target columns, and those of ``crit``, read
    from that selectable (a subquery, join or LATERAL reading the target's rows)."""
    sel = prop.target_from
    targets = target_tables(prop)
    self_ref = not set(prop.parent.tables).isdisjoint(prop.mapper.tables)

    def pick(element: object, **kw: object) -> Any:
        if not isinstance(element, ColumnClause) or element.table is None:
            return None
        if element.table is sel:
            return None  # (a column of the selectable's own)
        if prop.secondary is not None and prop.is_secondary_column(element):
            related = False
        elif self_ref and prop.secondary is None:
            related = prop.is_remote_occurrence(element)
        else:
            related = element.table in targets
        return sel.corresponding_column(element) if related else None

    adapter = ClauseAdapter(sel)
    adapted = [adapter.traverse(c) for c in crit]
    own = [sel, *find_tables(sel)] if isinstance(sel, Join) else [sel]
    on = visitors.replacement_traverse(prop.primaryjoin, {}, pick)
    sub = select(1).select_from(sel)
    if prop.secondary is not None:
        sj = visitors.replacement_traverse(prop.secondaryjoin, {}, pick)
        sub = sub.select_from(prop.secondary).where(and_(on, sj, *adapted))
        own.extend((prop.secondary, *find_tables(prop.secondary)))
    else:
        sub = sub.where(and_(on, *adapted))
    return exists(sub.correlate_except(*own))


def exists_in_given_alias(prop: RelationshipProperty, alias: Any, crit: list[Any]) -> Exists:
    """EXISTS (a related row of ``alias``, an aliased() entity of the target, matching
    ``crit``, which names the alias already) for a self-referential relationship's
    ``of_type(alias)``: only the join condition's columns standing for the related row
    are the alias's (the others stay the filtered row's)."""

    def pick(element: object, **kw: object) -> Any:
        if isinstance(element, Column) and prop.is_remote_occurrence(element):
            return alias._dm_column_for(deannotate(element))
        return None

    on = visitors.replacement_traverse(prop.primaryjoin, {}, pick)
    sel = alias._dm_selectable
    return exists(select(1).select_from(sel).where(and_(on, *crit)).correlate_except(sel))


_UNKNOWN = object()


def _value_for_comparison(obj: object, key: str, col: object, known: object = _UNKNOWN) -> Any:
    """``obj``'s value of attribute ``key`` (mapped to ``col``) when a statement comparing a
    relationship to ``obj`` runs; loaded if the object is persistent and it is expired."""
    from .coercion import state_of

    d = obj.__dict__
    if key in d:
        value = d[key]
    else:
        state = state_of(obj) if state_of is not None else None
        where = f"column {col} on object <{type(obj).__name__} at {hex(id(obj))}>"
        if state is not None and state.detached:
            last = state.last_known(key)
            if last is not NO_VALUE:
                known = last
        # the value known when the statement was built stands in for one expired on a
        # detached object; a transient or pending object's value is its own (one deleted
        # since, ``del obj.attr``, is not there to compare by)
        if known is not _UNKNOWN and (state is None or state.detached):
            return known
        if state is None or state.key is None:
            raise InvalidRequestError(
                f"Can't resolve value for {where}; no value has been set for this column, "
                "so the object can't be compared by it; set it (or flush the object) first")
        if state.detached:
            raise InvalidRequestError(
                f"Can't resolve value for {where}; the object is detached and the value was "
                "expired; refresh it in a session, or compare by the column instead")
        value = getattr(obj, key)
    if value is None:
        warnings.warn(
            f"Got None for value of column {col}; a relationship comparison sends it as a "
            "bound NULL, which matches no row (use == None to test for IS NULL)",
            SAWarning, stacklevel=2)
    return value
