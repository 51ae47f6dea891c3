"""``Query`` criteria: ``filter``/``filter_by``, ``order_by``/``group_by``/``having``
(names given as strings resolved against mapped attributes), ``join``/``outerjoin``
along relationships or onto tables, ``select_from`` and ``with_parent``."""

from __future__ import annotations

from typing import Any, Self, TypeVar, cast

from sqlalchemy import (
    Join,
    and_,
)
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import FromClause

from .._core import (
    coercions,
    from_objects,
    roles,
)
from .._util import describe
from ..mapping.attributes import OfType, QueryableAttribute, through_synonym
from ..mapping.coercion import entity_of
from ..mapping.inheritance import class_criterion, join_target
from ..mapping.mapper import Mapper
from .aliased import (
    AliasedClass,
    AliasedRelationship,
    check_relationship_join,
    overlapping_class_alias,
    overlapping_join_alias,
    relationship_join,
    relationship_steps,
    subclass_table_join,
)
from .arguments import (
    sql_or_refuse,
)
from .entities import (
    filter_by_criteria,
    mapper_of,
)
from .state import QueryState

_T = TypeVar("_T")


class QueryFiltering(QueryState[_T]):
    """WHERE, ORDER BY, GROUP BY, HAVING and the joins of a Query."""

    def filter(self, *criterion: object) -> Self:
        self._refuse_after_statement("filter")
        self._refuse_after_limit("filter")
        where = self._where[:]
        for c in criterion:
            if isinstance(c, str):
                raise ArgumentError(
                    f"Can't filter by the string {c!r}: strings are not SQL here; use "
                    "text() for textual SQL or an expression such as User.name == 'ed'"
                )
            where.append(sql_or_refuse(c, roles.WhereHavingRole, "filter by",
                                       "an expression such as User.name == 'ed'"))
        return self._clone(_where=where)

    where = filter

    def _criteria_read_other_froms(self) -> bool:
        """Whether the WHERE criteria name a table the selected columns do not come
        from (``filter(User.id == Address.user_id)``: a join written as a criterion,
        whose rows repeat the user once per matching address)."""
        own = self._layout.own_froms()
        return any(f not in own for c in self._where for f in from_objects(c))

    def filter_by(self, **kwargs: object) -> Self:
        """Keyword equality criteria on the last joined entity, else on the first one
        selected (the class of a selected attribute or the table of a selected column
        count too: ``query(User.id).filter_by(name="ed")``)."""
        self._refuse_after_statement("filter_by")
        self._refuse_after_limit("filter_by")
        target = self._filter_by_entity()
        if isinstance(target, AliasedClass):
            return self.filter(*filter_by_criteria(target._dm_mapper, kwargs, target))
        mapper = mapper_of(target) if isinstance(target, type) else None
        if mapper is not None:
            return self.filter(*filter_by_criteria(mapper, kwargs))
        if isinstance(target, FromClause) and not isinstance(target, FunctionElement):
            table_mapper = entity_of(target)
            if table_mapper is not None:
                return self.filter(*filter_by_criteria(table_mapper, kwargs))
            missing = [k for k in kwargs if k not in target.c]
            if missing:
                raise InvalidRequestError(
                    f"Can't filter_by({', '.join(missing)}=...): Entity namespace for "
                    f"\"{_from_name(target)}\" has no property \"{missing[0]}\"; its columns "
                    f"are {', '.join(target.c.keys())}"
                )
            return self.filter(*(target.c[k] == v for k, v in kwargs.items()))
        name = str(target) if target is not None else "the selected expression"
        raise InvalidRequestError(
            f"Can't filter_by({', '.join(kwargs)}=...): Entity namespace for \"{name}\" has "
            f"no property \"{next(iter(kwargs), '')}\"; it selects from no table or mapped "
            "class, use filter() with an expression"
        )

    def _filter_by_entity(self) -> object:
        """What filter_by() names: the last join target (class, alias or table), else the
        first selected entity, else the FROM of the first selected column expression."""
        if self._join_entity is not None:
            return self._join_entity
        if not self._entities:
            return None
        first = self._entities[0]
        if isinstance(first, AliasedClass):
            return first
        if isinstance(first, type) and mapper_of(first) is not None:
            return first
        if isinstance(first, QueryableAttribute):
            return first.parent.class_
        expr = first.__clause_element__() if hasattr(first, "__clause_element__") else first
        if isinstance(expr, FromClause) and not isinstance(expr, FunctionElement):
            return expr
        for from_ in from_objects(expr):
            if not isinstance(from_, ColumnElement):  # a SQL function lists itself
                return from_
        return expr

    def _named_target(self, text: str) -> tuple[Mapper | None, Any]:
        """(the mapper the name is read on, its mapped column or selected column or
        None) for ``"name"`` or ``"Class.name"`` / ``"table.name"``."""
        mapper = self._joinpoint or self._layout.primary_mapper
        if "." in text:
            cls_name, _, attr_name = text.partition(".")
            for m in self._layout.mappers:
                if m.class_.__name__ == cls_name or m._table_name == cls_name:
                    mapper, text = m, attr_name
                    break
        target = _mapped_column_named(mapper, text) if mapper is not None else None
        if target is not None:
            target = self._through_entity_alias(mapper, target)
        if target is None:
            target = next((col for col in self._layout.columns
                           if getattr(col, "key", None) == text
                           or getattr(col, "name", None) == text), None)
        return mapper, target

    def _through_entity_alias(self, mapper: Mapper | None, column: Any) -> Any:
        """``column`` of ``mapper`` as the query selects it: through the aliased()
        entity when the query's first entity is an alias of that class (query(a) of
        ``a = aliased(User, subquery)``: "id" is the subquery's column, not users.id)."""
        for (kind, part), source in zip(self._layout.parts, self._layout.part_sources(),
                                        strict=True):
            if kind != "entity":
                continue
            adapt = getattr(source, "_dm_adapt", None)
            if part.mapper is mapper and adapt is not None:
                return adapt(column)
            break
        return column

    def _resolve_name(self, name: str, what: str) -> Any:
        """A mapped attribute (or column of a selected table) for an identifier string
        (``"name"``, ``"User.name"``, ``"name desc"``, ``"-name"``)."""
        text, direction = _split_direction(name.strip())
        mapper, target = self._named_target(text)
        if target is None and not self._enable_assertions:
            # checks off: the name goes to Core as a label reference, which the
            # compiler resolves against the columns selected (or refuses) at execution
            return name
        if target is None:
            known = sorted(mapper.attrs.keys()) if mapper is not None else []
            raise InvalidRequestError(
                f"Can't {what} {name!r}: it is not a mapped attribute or selected column"
                + (f" of {mapper.class_.__name__} (mapped attributes: {', '.join(known)})"
                   if mapper is not None else "")
                + "; pass an attribute such as User.name, or text() for raw SQL"
            )
        if direction == "desc":
            return target.desc()
        if direction == "asc":
            return target.asc()
        return target

    def order_by(self, *clauses: object) -> Self:
        self._refuse_after_statement("order_by")
        self._refuse_after_limit("order_by")
        q = self._clone()
        if len(clauses) == 1 and (clauses[0] is None or clauses[0] is False):
            q._order_by = []
            return q
        for c in clauses:
            q._order_by.append(self._resolve_name(c, "order by") if isinstance(c, str) else
                               sql_or_refuse(c, roles.OrderByRole, "order by",
                                              "a mapped attribute, e.g. User.name"))
        return q

    def group_by(self, *clauses: object) -> Self:
        self._refuse_after_statement("group_by")
        self._refuse_after_limit("group_by")
        q = self._clone()
        if len(clauses) == 1 and (clauses[0] is None or clauses[0] is False):
            q._group_by = []
            return q
        for c in clauses:
            q._group_by.append(self._resolve_name(c, "group by") if isinstance(c, str) else
                               sql_or_refuse(c, roles.GroupByRole, "group by",
                                              "a mapped attribute, e.g. User.name"))
        return q

    def having(self, *criterion: object) -> Self:
        self._refuse_after_statement("having")
        self._refuse_after_limit("having")
        return self._clone(_having=self._having + [
            sql_or_refuse(c, roles.WhereHavingRole, "filter groups by",
                          "an expression such as func.count(User.id) > 1")
            for c in criterion])

    def join(self, target: object, onclause: object = None, *, isouter: bool = False,
             full: bool = False) -> Self:
        self._refuse_after_statement("join")
        self._refuse_after_limit("join")
        outer: Any = "full" if full else isouter  # a FULL OUTER JOIN: "full"
        return self._join(target, onclause, outer)

    def _join(self, target: object, onclause: object, isouter: Any) -> Self:
        # a join along a relationship starts at the relationship's parent entity (the
        # query's own entity, another joined one, or one not yet in the FROM list:
        # query(User).join(Order.user) reads FROM orders JOIN users)
        check_relationship_join(target, onclause)
        left, key = self._relationship_join_left(target, onclause, isouter)
        if key is not None and key in self._join_keys():
            return self._clone()  # the same relationship joined from the same entity: once
        steps = relationship_join(target, onclause)
        changes: dict[str, object] = {}
        if steps is None and self._adapter is None:
            overlap = overlapping_join_alias(target, onclause, self._joined_froms())
            if overlap is not None:
                # to a joined-table subclass over a table the query reads already:
                # through an alias of its tables, which its criteria then name
                steps = relationship_steps(overlap[0], None)
                alias = overlap[1]
                changes["_auto_aliases"] = (*self._auto_aliases, (alias._dm_mapper, alias))
        if steps is not None:  # along a relationship from or to an aliased() entity
            return self._clone(
                _joins=self._joins + [(dest, on, isouter, left if i == 0 else None, key)
                                      for i, (dest, on) in enumerate(steps)],
                _join_entity=steps[-1][0], **changes)
        sub = subclass_table_join(target, onclause, self._froms_so_far()) \
            if left is not None else None
        if sub is not None:
            # a relationship of a joined-table subclass whose table the query does not
            # read yet: that table first, joined on the inheritance condition
            self = self._clone(_joins=[*self._joins, (sub[0], sub[1], isouter, None, None)])
            left = None
        dest, on = self._join_target(target, onclause)
        if isinstance(dest, type) and self._adapter is None and on is onclause:
            own = overlapping_class_alias(dest, on, self._froms_so_far())
            if own is not None:
                # a joined-table subclass over a table the query reads already, with
                # an ON clause of its own: through an alias of its tables
                return self._clone(
                    _joins=[*self._joins, (own, on, isouter, None, None)],
                    _join_entity=own,
                    _auto_aliases=(*self._auto_aliases, (own._dm_mapper, own)))
        if isinstance(on, tuple) and len(on) == 3:
            # many-to-many: through the secondary table, then to the target
            secondary, pj, sj = on
            joins = [(secondary, pj, isouter, left, key), (dest, sj, isouter, None, None)]
        else:
            joins = [(dest, on, isouter, left, key)]
        m = mapper_of(dest) if isinstance(dest, type) else None
        return self._clone(_joins=self._joins + joins, _join_entity=dest,
                           _joinpoint=m if m is not None else self._joinpoint)

    def _froms_so_far(self) -> list[object]:
        """The FROMs the query reads before its next join: its entities' tables, its
        select_from() and the targets it joined."""
        out: list[object] = [f for c in self._layout.columns for f in from_objects(c)]
        for f in (*self._select_from, *(j[0] for j in self._joins)):
            # (a class joins what its entity reads: its mapping's polymorphic join)
            m = mapper_of(f) if isinstance(f, type) else None
            out.append(join_target(m) if m is not None else f)
        return out

    def _joined_froms(self) -> list[object]:
        """The FROMs select_from() named and the targets the query joined (as
        :meth:`_froms_so_far`, without its entities' tables)."""
        out: list[object] = []
        for f in (*self._select_from, *(j[0] for j in self._joins)):
            m = mapper_of(f) if isinstance(f, type) else None
            out.append(join_target(m) if m is not None else
                       f._dm_selectable if isinstance(f, AliasedClass) else f)
        return out

    def _join_keys(self) -> set[object]:
        return {j[4] for j in self._joins if len(j) > 4 and j[4] is not None}

    def _relationship_join_left(self, target: object, onclause: object, isouter: Any
                                ) -> tuple[Any, Any]:
        """(left FROM, dedupe key) of a join along a relationship attribute, else
        (None, None).  The key is given to plain joins along a relationship (no alias
        target, no criteria): joining the same one again adds nothing."""
        if self._adapter is not None or isinstance(target, tuple):
            return None, None  # read from a subquery: joins adapt to it as before
        spec = onclause if onclause is not None else target
        plain = onclause is None
        if isinstance(spec, OfType):
            spec, plain = spec.attr, False
        spec = through_synonym(spec)
        if isinstance(spec, AliasedRelationship):
            source: object = spec.source
            prop = spec.prop
        elif isinstance(spec, QueryableAttribute) and spec.prop.is_relationship:
            source, prop = spec.class_, spec.prop
        else:
            return None, None
        left = coercions.expect(roles.FromClauseRole, source)
        return left, ((id(prop), id(source), isouter) if plain else None)

    def outerjoin(self, target: object, onclause: object = None, *, full: bool = False) -> Self:
        return self.join(target, onclause, isouter=True, full=full)

    def _join_target(self, target: object, onclause: object) -> tuple[object, object]:
        if isinstance(target, tuple) and len(target) == 2:
            target, onclause = target
        target, onclause = through_synonym(target), through_synonym(onclause)
        start = self._joinpoint or self._layout.primary_mapper
        if isinstance(target, str) and getattr(self.session, "future", False):
            raise ArgumentError(
                f"Can't join to the string {target!r} on a Session(future=True): name the "
                "relationship attribute instead, e.g. query.join(User.addresses)"
            )
        if isinstance(target, str):
            target = _relationship_named(start, target)
        if isinstance(target, QueryableAttribute) and target.prop.is_relationship:
            rel: Any = target.prop
            return rel.mapper.class_, rel.join_condition_for_query()
        m = mapper_of(target)
        if m is None:
            sql_or_refuse(target, roles.JoinTargetRole, "join to",
                           "a mapped class, a relationship attribute or a Table")
        dest = m.persist_selectable if m is not None else target
        return (m.class_ if m is not None else dest), _join_onclause(start, onclause)

    def correlate(self, *fromclauses: object) -> Self:
        """The FROM elements (tables, mapped classes, aliases) that an enclosing SELECT
        supplies when this query is used as a subquery of it; ``correlate(None)`` (or
        ``False``): none, every FROM element is the subquery's own."""
        if fromclauses and fromclauses[0] in (None, False):
            return self._clone(_correlate=(None,))
        froms: list[object] = []
        for f in fromclauses:
            if isinstance(f, AliasedClass):
                _surface_froms(f._dm_selectable, froms)
                continue
            m = mapper_of(f)
            if m is not None:
                _surface_froms(m.persist_selectable, froms)
            elif isinstance(f, FromClause):
                _surface_froms(f, froms)
            else:
                raise ArgumentError(
                    f"Can't correlate to {describe(f)}: pass a mapped class, an aliased() "
                    "entity or a Table (or None for no correlation)")
        before = tuple(c for c in (self._correlate or ()) if c is not None)
        return self._clone(_correlate=before + tuple(froms))

    def select_from(self, *froms: object) -> Self:
        for f in froms:
            _check_selectable_from(f)
        self._refuse_after_criteria("select_from")
        q = self._clone()
        for f in froms:
            m = mapper_of(f)
            if m is None and not isinstance(f, AliasedClass):
                sql_or_refuse(f, roles.FromClauseRole, "select from",
                               "a mapped class or a Table")
            if m is not None and class_criterion(m) is not None:
                # a single-table subclass: its table marked with the class, so that the
                # SELECT reads only its rows (query/subclass_rows.py)
                q._select_from = q._select_from + [cast(Any, m.class_).__clause_element__()]
            else:
                q._select_from = q._select_from + [
                    m.persist_selectable if m is not None else f]
            if m is not None:
                q._joinpoint = m
                if q._from_mapper is None:
                    q._from_mapper = m
            q._join_entity = m.class_ if m is not None else f
        return q

    def with_parent(self, instance: object, property: object = None,  # noqa: A002 (SQLAlchemy's name)
                    from_entity: object = None) -> Self:
        """Rows related to ``instance`` along relationship ``property`` (by default its
        relationship to the query's entity): ``filter(with_parent(...))``."""
        from ..instance.state import instance_state
        from .with_parent import relationship_between, with_parent

        if from_entity is None:
            # the entity filter_by() names (the query's first one, or the last joined):
            # an aliased() one is what the criteria must name, as SQLAlchemy reads it
            first = self._filter_by_entity()
            if isinstance(first, AliasedClass):
                from_entity = first
        if property is None:
            target = from_entity if from_entity is not None else self._layout.primary_mapper
            target_mapper = target._dm_mapper if isinstance(target, AliasedClass) else (
                target if isinstance(target, Mapper) else mapper_of(target))
            if target_mapper is None:
                raise InvalidRequestError(
                    "Can't call with_parent() without a property: the query selects no "
                    "mapped entity; pass the relationship attribute"
                )
            property = relationship_between(instance_state(instance).mapper, target_mapper)
        return self.filter(with_parent(instance, property, from_entity))

    @property
    def whereclause(self) -> ColumnElement[bool] | None:
        """The WHERE criteria combined with AND, or None."""
        if not self._where:
            return None
        return and_(*self._where) if len(self._where) > 1 else self._where[0]


def _surface_froms(from_: object, out: list[object]) -> None:
    """``from_`` and, for a join (a joined-table class, a with_polymorphic()), the tables
    or aliases it joins: an enclosing SELECT names those, so each is correlated."""
    out.append(from_)
    if isinstance(from_, Join):
        _surface_froms(from_.left, out)
        _surface_froms(from_.right, out)


def _from_name(from_: object) -> str:
    return str(getattr(from_, "name", None) or from_)


def _split_direction(text: str) -> tuple[str, str | None]:
    """``"name desc"`` -> ("name", "desc"); ``"-name"`` -> ("name", "desc")."""
    parts = text.split()
    if len(parts) == 2 and parts[1].lower() in ("asc", "desc"):
        return parts[0], parts[1].lower()
    if text.startswith("-"):
        return text[1:], "desc"
    return text, None


def _mapped_column_named(mapper: Mapper, text: str) -> object:
    """The column of ``mapper``'s column attribute ``text``, else of the column
    attribute whose column is named ``text``; None when neither exists."""
    prop = mapper._props.get(text)
    if prop is not None and prop.is_column:
        return prop.columns[0]
    for col_prop in mapper.column_attrs.values():
        if col_prop.columns[0].name == text:
            return col_prop.columns[0]
    return None


def _relationship_named(start: Mapper | None, name: str) -> object:
    """``query.join("addresses")``: the relationship attribute of the join point's class."""
    if start is None or name not in start._props:
        raise InvalidRequestError(
            f"Can't join to {name!r}: "
            + (f"{start.class_.__name__} has no relationship by that name"
               if start is not None else "the query selects no mapped entity")
        )
    return through_synonym(getattr(start.class_, name))


def _join_onclause(start: Mapper | None, onclause: object) -> object:
    """The ON clause of a join given as a relationship (or its name): its join condition;
    any other ON clause as given."""
    if isinstance(onclause, str):
        if start is None or onclause not in start._props:
            raise InvalidRequestError(f"Can't join on {onclause!r}: no such relationship")
        onclause = through_synonym(getattr(start.class_, onclause))
    if isinstance(onclause, QueryableAttribute) and onclause.prop.is_relationship:
        return cast(Any, onclause.prop).join_condition_for_query()
    return onclause


def _check_selectable_from(f: object) -> None:
    """Refuse what ``select_from()`` can't read from (a column, a function ...)."""
    if isinstance(f, AliasedClass) or mapper_of(f) is not None:
        return
    el = f.__clause_element__() if hasattr(f, "__clause_element__") else f
    if isinstance(el, FromClause) and not isinstance(el, FunctionElement):
        return
    if isinstance(f, type) or not isinstance(f, (ClauseElement, QueryableAttribute)):
        sql_or_refuse(f, roles.FromClauseRole, "select from", "a mapped class or a Table")
    raise ArgumentError(
        f"Can't select from {describe(f)}: it is not a table, subquery or mapped "
        "class; pass a mapped class, a Table or a subquery()"
    )
