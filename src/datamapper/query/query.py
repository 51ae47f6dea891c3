"""``Query``: the generative ORM query of the documents.

Callers: ``Session.query()`` (and subclasses passed as ``query_cls``).  A
Query holds its criteria and compiles them into a Core ``select()`` on
demand; execution goes through the session (autoflush, binds) and rows come
back through the loading layer, so objects already in the identity map are
returned as they are.  Names given as strings (``filter_by`` keywords,
``order_by("name")``) are resolved against mapped attribute names and
rejected otherwise, before any SQL is built.  Loader options
(``options(joinedload(...), defer(...))``, see ``options.py``) and
relationships configured to load eagerly take the ``_eager_results`` path;
queries without either run exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, Self, TypeVar, cast

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    Column,
    and_,
    except_,
    except_all,
    func,
    intersect,
    intersect_all,
    literal_column,
    union,
    union_all,
)
from sqlalchemy import select as core_select
from sqlalchemy.engine import IteratorResult
from sqlalchemy.exc import ArgumentError, InvalidRequestError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql import base as sql_base
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import FromClause, Select, SelectBase
from sqlalchemy.sql.util import ClauseAdapter

from .._core import (
    SimpleResultMetaData,
    coercions,
    from_objects,
    result_tuple,
    roles,
    statement_options,
)
from .._util import describe, warn_deprecated
from ..exc import UnmappedClassError
from ..instance.seam import SessionLike
from ..loading.criteria import LoaderCriteriaOption, apply_loader_criteria, criteria_options
from ..mapping.attributes import QueryableAttribute, through_synonym
from ..mapping.coercion import entity_of, mark_subject, statement_subject
from ..mapping.mapper import Mapper
from . import events as query_events
from .aliased import AliasedClass, relationship_join
from .entities import (
    RowLayout,
    as_orm_select,
    entity_layout,
    filter_by_criteria,
    mapper_of,
    stamp_results,
)
from .from_statement import check_statement, load_from_statement
from .options import (
    Load,
    UserDefinedOption,
    build_plans,
    check_yield_per_plans,
    execute_with_plans,
    plans_statement,
    propagating_options,
    unique_entity_rows,
    unique_rows,
)

# Core's base class of syntax extensions (SQLAlchemy 2.1; None before)
_SYNTAX_EXTENSION: Any = getattr(sql_base, "SyntaxExtension", None)

_GENERATIVE_STATE = (
    "_where", "_order_by", "_group_by", "_having", "_limit", "_offset", "_distinct",
    "_for_update", "_populate_existing", "_autoflush", "_joins", "_joinpoint", "_options",
    "_yield_per", "_params", "_select_from", "_execution_options", "_shard_id",
)


_T = TypeVar("_T")



def empty_slice(item: Any) -> bool:
    """``[5:5]``, ``[-2:-5]``: a slice that selects nothing whatever the rows are."""
    return (isinstance(item, slice) and isinstance(item.start, int)
            and isinstance(item.stop, int) and item.stop <= item.start)


def refuse_negative_index(item: Any) -> None:
    """Indexes and slices of a query become OFFSET/LIMIT, which count from the first
    row: a negative position has no SQL form (SQLAlchemy 2.x refuses it too; a slice
    that selects nothing is no error)."""
    if isinstance(item, slice):
        if empty_slice(item):
            return
        bad = [v for v in (item.start, item.stop) if isinstance(v, int) and v < 0]
    else:
        bad = [item] if isinstance(item, int) and item < 0 else []
    if bad:
        raise IndexError(
            f"Can't take [{_describe_item(item)}] of a query: negative positions count "
            "from the end, which SQL's OFFSET/LIMIT can't express; order the query the "
            "other way, or index the list from .all()"
        )


def _describe_item(item: Any) -> str:
    if isinstance(item, slice):
        parts = ["" if v is None else str(v) for v in (item.start, item.stop)]
        return ":".join(parts) + (f":{item.step}" if item.step is not None else "")
    return str(item)

class Query(Generic[_T]):
    """A SELECT of mapped entities or columns, built step by step."""

    def __init__(self, entities: Any, session: SessionLike | None = None) -> None:
        if not isinstance(entities, (list, tuple)):
            entities = [entities]
        self._entities = list(entities)
        self.session = session
        self._layout = entity_layout(self._entities)
        self._where: list[Any] = []
        self._order_by: list[Any] = []
        self._group_by: list[Any] = []
        self._having: list[Any] = []
        self._limit: Any = None
        self._offset: Any = None
        self._distinct = False
        self._distinct_on: tuple[Any, ...] = ()  # distinct(*expr): PostgreSQL DISTINCT ON
        self._extensions: tuple[Any, ...] = ()  # ext(): Core syntax extensions
        self._for_update: dict[str, Any] | None = None
        self._populate_existing = False
        self._autoflush = True
        self._joins: list[tuple[Any, Any, bool]] = []
        self._joinpoint: Mapper | None = self._layout.primary_mapper
        self._join_entity: Any = None  # the last join target, for filter_by()
        self._options: list[Any] = []
        self._yield_per: int | None = None
        self._params: dict[str, Any] = {}
        self._select_from: list[Any] = []
        # the first mapped class select_from() named: the bind of a query of no entity
        # (Query([1]).select_from(User)) is that class's
        self._from_mapper: Mapper | None = None
        self._execution_options: dict[str, Any] = {}
        self._shard_id: Any = None
        self._tuples = False
        self._enable_assertions = True
        self._eagerloads = True
        self._statement: Any = None  # from_statement(): the full SELECT to run instead
        self._adapter: Any = None  # after union() etc.: criteria go against the subquery
        self._prefixes: list[tuple[Any, str]] = []
        self._suffixes: list[tuple[Any, str]] = []
        self._hints: list[tuple[Any, str, str]] = []  # (selectable or None, text, dialect)
        self._label_style: Any = None

    def _clone(self) -> Self:
        q = self.__class__.__new__(self.__class__)
        d = self.__dict__
        # the lists and dicts a generative method changes in place are the clone's own
        q.__dict__.update(d, _where=d["_where"][:], _order_by=d["_order_by"][:],
                          _group_by=d["_group_by"][:], _having=d["_having"][:],
                          _joins=d["_joins"][:], _options=d["_options"][:],
                          _select_from=d["_select_from"][:], _prefixes=d["_prefixes"][:],
                          _suffixes=d["_suffixes"][:], _hints=d["_hints"][:],
                          _params=d["_params"].copy(),
                          _execution_options=d["_execution_options"].copy())
        return q

    # -- generation checks ----------------------------------------------------------
    def _refuse_after_statement(self, meth: str) -> None:
        if self._statement is not None and self._enable_assertions:
            raise InvalidRequestError(
                f"Can't call Query.{meth}(): this query runs a full statement given to "
                "from_statement(), which criteria can't change; put them in that statement"
            )

    def _refuse_after_limit(self, meth: str) -> None:
        if self._enable_assertions and (self._limit is not None or self._offset is not None):
            raise InvalidRequestError(
                f"Can't call Query.{meth}() on a query with LIMIT or OFFSET: it would change "
                f"which rows the limit counts; call {meth}() before limit()/offset()/slicing, "
                "or use enable_assertions(False)"
            )

    def _refuse_after_criteria(self, meth: str, order_by: bool = True) -> None:
        if not self._enable_assertions:
            return
        if (self._where or self._statement is not None or self._select_from or self._joins
                or self._limit is not None or self._offset is not None or self._group_by
                or (order_by and self._order_by) or self._distinct):
            raise InvalidRequestError(
                f"Can't call Query.{meth}() on a query with criteria already applied (filter, "
                f"join, order_by, limit, distinct ...); call {meth}() first, or use "
                "enable_assertions(False)"
            )

    # -- criteria ----------------------------------------------------------------
    def filter(self, *criterion: Any) -> Self:
        self._refuse_after_statement("filter")
        self._refuse_after_limit("filter")
        q = self._clone()
        for c in criterion:
            if isinstance(c, str):
                raise InvalidRequestError(
                    f"Can't filter by the string {c!r}: strings are not SQL here; use "
                    "text() for textual SQL or an expression such as User.name == 'ed'"
                )
            q._where.append(_sql_or_refuse(c, roles.WhereHavingRole, "filter by",
                                           "an expression such as User.name == 'ed'"))
        return q

    where = filter

    def _criteria_read_other_froms(self) -> bool:
        """Whether the WHERE criteria name a table the selected columns do not come
        from (``filter(User.id == Address.user_id)``: a join written as a criterion,
        whose rows repeat the user once per matching address)."""
        own = self._layout.own_froms()
        return any(f not in own for c in self._where for f in from_objects(c))

    def filter_by(self, **kwargs: Any) -> Self:
        """Keyword equality criteria on the last joined entity, else on the first one
        selected (the class of a selected attribute or the table of a selected column
        count too: ``query(User.id).filter_by(name="ed")``)."""
        self._refuse_after_statement("filter_by")
        self._refuse_after_limit("filter_by")
        target = self._filter_by_entity()
        if isinstance(target, AliasedClass):
            return self.filter(*filter_by_criteria(target.mapper, kwargs, target))
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

    def _filter_by_entity(self) -> Any:
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

    def _resolve_name(self, name: str, what: str) -> Any:
        """A mapped attribute (or column of a selected table) for an identifier string."""
        text = name.strip()
        direction = None
        parts = text.split()
        if len(parts) == 2 and parts[1].lower() in ("asc", "desc"):
            text, direction = parts[0], parts[1].lower()
        elif text.startswith("-"):
            text, direction = text[1:], "desc"
        target: Any = None
        mapper = self._joinpoint or self._layout.primary_mapper
        if "." in text:
            cls_name, _, attr_name = text.partition(".")
            for m in self._layout.mappers:
                if m.class_.__name__ == cls_name or m._table_name == cls_name:
                    mapper, text = m, attr_name
                    break
        if mapper is not None and text in mapper._props and mapper._props[text].is_column:
            target = mapper._props[text].columns[0]
        elif mapper is not None:
            for prop in mapper.column_attrs.values():
                if prop.columns[0].name == text:
                    target = prop.columns[0]
                    break
        if target is None:
            for col in self._layout.columns:
                if getattr(col, "key", None) == text or getattr(col, "name", None) == text:
                    target = col
                    break
        if target is None and not self._enable_assertions:
            # checks off: the name goes to Core as a label reference, which the
            # compiler resolves against the columns selected (or refuses) at execution
            return name
        if target is None:
            known = sorted(mapper._props) if mapper is not None else []
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

    def order_by(self, *clauses: Any) -> Self:
        self._refuse_after_statement("order_by")
        self._refuse_after_limit("order_by")
        q = self._clone()
        if len(clauses) == 1 and (clauses[0] is None or clauses[0] is False):
            q._order_by = []
            return q
        for c in clauses:
            q._order_by.append(self._resolve_name(c, "order by") if isinstance(c, str) else
                               _sql_or_refuse(c, roles.OrderByRole, "order by",
                                              "a mapped attribute, e.g. User.name"))
        return q

    def group_by(self, *clauses: Any) -> Self:
        self._refuse_after_statement("group_by")
        self._refuse_after_limit("group_by")
        q = self._clone()
        if len(clauses) == 1 and (clauses[0] is None or clauses[0] is False):
            q._group_by = []
            return q
        for c in clauses:
            q._group_by.append(self._resolve_name(c, "group by") if isinstance(c, str) else
                               _sql_or_refuse(c, roles.GroupByRole, "group by",
                                              "a mapped attribute, e.g. User.name"))
        return q

    def having(self, *criterion: Any) -> Self:
        self._refuse_after_statement("having")
        self._refuse_after_limit("having")
        q = self._clone()
        q._having.extend(_sql_or_refuse(c, roles.WhereHavingRole, "filter groups by",
                                        "an expression such as func.count(User.id) > 1")
                         for c in criterion)
        return q

    def join(self, target: Any, onclause: Any = None, *, isouter: bool = False,
             full: bool = False, **kw: Any) -> Self:
        self._refuse_after_statement("join")
        self._refuse_after_limit("join")
        q = self._clone()
        steps = relationship_join(target, onclause)
        if steps is not None:  # along a relationship from or to an aliased() entity
            for step_dest, step_on in steps:
                q._joins.append((step_dest, step_on, isouter))
            q._join_entity = steps[-1][0]
            return q
        dest, on = self._join_target(target, onclause)
        q._join_entity = dest
        if isinstance(on, tuple) and len(on) == 3:
            # many-to-many: through the secondary table, then to the target
            secondary, pj, sj = on
            q._joins.append((secondary, pj, isouter))
            q._joins.append((dest, sj, isouter))
        else:
            q._joins.append((dest, on, isouter))
        m = mapper_of(dest) if isinstance(dest, type) else None
        if m is not None:
            q._joinpoint = m
        return q

    def outerjoin(self, target: Any, onclause: Any = None, **kw: Any) -> Self:
        return self.join(target, onclause, isouter=True)

    def _join_target(self, target: Any, onclause: Any) -> tuple[Any, Any]:
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
            if start is None or target not in start._props:
                raise InvalidRequestError(
                    f"Can't join to {target!r}: "
                    + (f"{start.class_.__name__} has no relationship by that name"
                       if start is not None else "the query selects no mapped entity")
                )
            target = through_synonym(getattr(start.class_, target))
        if isinstance(target, QueryableAttribute) and target.prop.is_relationship:
            rel: Any = target.prop
            return rel.mapper.class_, rel.join_condition_for_query()
        m = mapper_of(target)
        if m is None:
            _sql_or_refuse(target, roles.JoinTargetRole, "join to",
                           "a mapped class, a relationship attribute or a Table")
        dest = m.persist_selectable if m is not None else target
        if isinstance(onclause, str):
            if start is None or onclause not in start._props:
                raise InvalidRequestError(f"Can't join on {onclause!r}: no such relationship")
            onclause = through_synonym(getattr(start.class_, onclause))
        if isinstance(onclause, QueryableAttribute) and onclause.prop.is_relationship:
            onclause = cast(Any, onclause.prop).join_condition_for_query()
        return (m.class_ if m is not None else dest), onclause

    def select_from(self, *froms: Any) -> Self:
        for f in froms:
            if isinstance(f, AliasedClass) or mapper_of(f) is not None:
                continue
            el = f.__clause_element__() if hasattr(f, "__clause_element__") else f
            if isinstance(el, FromClause) and not isinstance(el, FunctionElement):
                continue
            if isinstance(f, type) or not isinstance(f, (ClauseElement, QueryableAttribute)):
                _sql_or_refuse(f, roles.FromClauseRole, "select from",
                               "a mapped class or a Table")
            raise ArgumentError(
                f"Can't select from {describe(f)}: it is not a table, subquery or mapped "
                "class; pass a mapped class, a Table or a subquery()"
            )
        self._refuse_after_criteria("select_from")
        q = self._clone()
        for f in froms:
            m = mapper_of(f)
            if m is None and not isinstance(f, AliasedClass):
                _sql_or_refuse(f, roles.FromClauseRole, "select from",
                               "a mapped class or a Table")
            q._select_from.append(m.persist_selectable if m is not None else f)
            if m is not None:
                q._joinpoint = m
                if q._from_mapper is None:
                    q._from_mapper = m
            q._join_entity = m.class_ if m is not None else f
        return q

    def limit(self, limit: Any) -> Self:
        self._refuse_after_statement("limit")
        _int_or_refuse(limit, "limit")
        q = self._clone()
        q._limit = limit
        return q

    def offset(self, offset: Any) -> Self:
        self._refuse_after_statement("offset")
        _int_or_refuse(offset, "offset")
        q = self._clone()
        q._offset = offset
        return q

    def slice(self, start: Any, stop: Any) -> Self:
        """OFFSET/LIMIT for rows ``start`` to ``stop``, counted from the current offset.
        Either bound may be a SQL expression (``cast(bindparam("a"), Integer)``): the
        arithmetic is then written in SQL instead of done here."""
        _int_or_refuse(start, "slice")
        _int_or_refuse(stop, "slice")
        q = self._clone()
        offset = _plus(self._offset, start)
        q._offset = None if isinstance(offset, int) and offset == 0 else offset
        if stop is not None:
            if start is None:
                q._limit = stop
            elif isinstance(start, int) and isinstance(stop, int):
                q._limit = max(stop - start, 0)
            else:
                q._limit = stop - start
        return q

    def __getitem__(self, item: Any) -> Any:
        refuse_negative_index(item)
        if empty_slice(item):
            return []
        if isinstance(item, slice):
            start, stop, step = item.start, item.stop, item.step
            if step not in (None, 1):
                return list(self)[item]
            return self.slice(start, stop).all()
        rows = self.slice(item, item + 1).all()
        if not rows:
            raise IndexError("query result index out of range")
        return rows[0]

    def distinct(self, *expr: Any) -> Self:
        self._refuse_after_statement("distinct")
        for e in expr:
            _sql_or_refuse(e, roles.ByOfRole, "select distinct on",
                           "a mapped attribute, e.g. User.name")
        q = self._clone()
        q._distinct = True
        if expr:
            q._distinct_on = q._distinct_on + expr
        return q

    def ext(self, extension: Any) -> Self:
        """Apply a Core syntax extension (``sqlalchemy.dialects.postgresql.distinct_on``
        ...) to the SELECT this query builds."""
        self._refuse_after_statement("ext")
        if _SYNTAX_EXTENSION is None or not isinstance(extension, _SYNTAX_EXTENSION):
            raise ArgumentError(
                f"Can't apply {describe(extension)} with Query.ext(): it is not a SQL syntax "
                "extension; pass one such as sqlalchemy.dialects.postgresql.distinct_on("
                "User.name) (SQLAlchemy 2.1)"
            )
        q = self._clone()
        q._extensions = q._extensions + (extension,)
        return q

    def with_for_update(self, read: bool = False, nowait: bool = False, of: Any = None,
                        skip_locked: bool = False, key_share: bool = False) -> Self:
        if of is not None:
            for target in (of if isinstance(of, (list, tuple)) else [of]):
                if mapper_of(target) is None:
                    _sql_or_refuse(target, roles.ColumnsClauseRole, "lock",
                                   "a mapped class, a mapped attribute or a Table")
        q = self._clone()
        q._for_update = {"read": read, "nowait": nowait, "of": of, "skip_locked": skip_locked,
                         "key_share": key_share}
        return q

    def populate_existing(self) -> Self:
        q = self._clone()
        q._populate_existing = True
        return q

    def autoflush(self, setting: bool) -> Self:
        q = self._clone()
        q._autoflush = setting
        return q

    def yield_per(self, count: int) -> Self:
        q = self._clone()
        q._yield_per = count
        return q

    def options(self, *opts: Any) -> Self:
        q = self._clone()
        for o in opts:
            if not isinstance(o, (Load, UserDefinedOption, LoaderCriteriaOption)) and \
                    not hasattr(o, "apply_to_query"):
                _refuse_option(o)
            if hasattr(o, "apply_to_query"):
                q = o.apply_to_query(q)
            q._options.append(o)
        return q

    def params(self, *args: Any, **kw: Any) -> Self:
        q = self._clone()
        if len(args) > 1 or (args and not isinstance(args[0], Mapping)):
            raise ArgumentError(
                f"Can't set parameters from {', '.join(map(describe, args))}: params() takes "
                "one dictionary and/or keyword arguments, e.g. params({'name': 'ed'})"
            )
        if args:
            q._params.update(args[0])
        q._params.update(kw)
        return q

    def execution_options(self, **kw: Any) -> Self:
        q = self._clone()
        q._execution_options.update(kw)
        return q

    def enable_assertions(self, value: bool) -> Self:
        """``False``: allow generations the query would otherwise refuse (criteria after
        limit(), select_from() after criteria ...), at the caller's risk."""
        q = self._clone()
        q._enable_assertions = bool(value)
        return q

    def enable_eagerloads(self, value: bool) -> Self:
        """``False``: load no relationship eagerly (configured joined/selectin loading and
        such loader options are ignored; column options still apply)."""
        q = self._clone()
        q._eagerloads = bool(value)
        return q

    def with_parent(self, instance: Any, property: Any = None,  # noqa: A002 (SQLAlchemy's name)
                    from_entity: Any = None) -> Self:
        """Rows related to ``instance`` along relationship ``property`` (by default its
        relationship to the query's entity): ``filter(with_parent(...))``."""
        from ..instance.state import instance_state
        from .with_parent import relationship_between, with_parent

        if property is None:
            target = from_entity if from_entity is not None else self._layout.primary_mapper
            target_mapper = target.mapper if isinstance(target, AliasedClass) else (
                target if isinstance(target, Mapper) else mapper_of(target))
            if target_mapper is None:
                raise InvalidRequestError(
                    "Can't call with_parent() without a property: the query selects no "
                    "mapped entity; pass the relationship attribute"
                )
            property = relationship_between(instance_state(instance).mapper, target_mapper)
        return self.filter(with_parent(instance, property, from_entity))

    def with_transformation(self, fn: Any) -> Any:
        """``fn(query)``: apply a function that builds on this query."""
        if not callable(fn):
            raise ArgumentError(
                f"Can't transform the query with {describe(fn)}: it is not callable; pass a "
                "function taking and returning a Query"
            )
        return fn(self)

    def prefix_with(self, *prefixes: Any, dialect: str = "*") -> Self:
        """Text (or SQL) placed after SELECT: ``prefix_with("DISTINCT ON ...")``."""
        q = self._clone()
        q._prefixes.extend((_text_or_refuse(p, "prefix"), dialect) for p in prefixes)
        return q

    def suffix_with(self, *suffixes: Any, dialect: str = "*") -> Self:
        """Text (or SQL) placed after the whole statement."""
        q = self._clone()
        q._suffixes.extend((_text_or_refuse(p, "suffix"), dialect) for p in suffixes)
        return q

    def with_hint(self, selectable: Any, text: str, dialect_name: str = "*") -> Self:
        """An optimizer hint for ``selectable`` (a mapped class, alias or table)."""
        if not isinstance(text, str):
            raise ArgumentError(f"Can't use {describe(text)} as a hint: pass the hint text")
        target = selectable
        if isinstance(target, AliasedClass):
            target = target.selectable
        elif mapper_of(target) is not None:
            target = mapper_of(target).local_table  # type: ignore[union-attr]
        if not isinstance(target, FromClause):
            raise ArgumentError(
                f"Can't attach a hint to {describe(selectable)}: it is not a mapped class, "
                "alias or table; pass the entity the hint is for, or use "
                "with_statement_hint()"
            )
        q = self._clone()
        q._hints.append((target, text, dialect_name))
        return q

    def with_statement_hint(self, text: str, dialect_name: str = "*") -> Self:
        """An optimizer hint for the whole statement."""
        if not isinstance(text, str):
            raise ArgumentError(f"Can't use {describe(text)} as a hint: pass the hint text")
        q = self._clone()
        q._hints.append((None, text, dialect_name))
        return q

    def set_label_style(self, style: Any) -> Self:
        """How the SELECT labels its columns (``LABEL_STYLE_TABLENAME_PLUS_COL`` is what
        a query uses by default when it runs)."""
        q = self._clone()
        q._label_style = style
        return q

    def get_label_style(self) -> Any:
        return self._label_style if self._label_style is not None else \
            LABEL_STYLE_TABLENAME_PLUS_COL

    def get_execution_options(self) -> dict[str, Any]:
        return dict(self._execution_options)

    @property
    def whereclause(self) -> Any:
        """The WHERE criteria combined with AND, or None."""
        if not self._where:
            return None
        return and_(*self._where) if len(self._where) > 1 else self._where[0]

    def with_entities(self, *entities: Any) -> Self:
        """The same criteria selecting other entities or columns."""
        q = self._clone()
        q._set_entities(list(entities))
        return q

    def add_columns(self, *columns: Any) -> Self:
        """The same query selecting ``columns`` too (results become rows)."""
        q = self._clone()
        q._set_entities(self._entities + list(columns))
        return q

    def add_column(self, column: Any) -> Self:
        return self.add_columns(column)

    def add_entity(self, entity: Any, alias: Any = None) -> Self:
        if alias is not None:
            from .aliased import aliased

            entity = aliased(entity, alias)
        return self.add_columns(entity)

    def _set_entities(self, entities: Any) -> None:
        if not isinstance(entities, (list, tuple)):
            entities = [entities]
        layout = RowLayout(list(entities))  # refuses what is not an entity or column
        self._entities = list(entities)
        self._layout = layout
        if self._joinpoint is None:
            self._joinpoint = layout.primary_mapper

    def from_statement(self, statement: Any) -> Self:
        """Run ``statement`` (a select(), union or text()) instead of the SELECT this query
        builds; its columns are matched to the selected entities by column (or name)."""
        check_statement(statement)
        self._refuse_after_criteria("from_statement")
        q = self._clone()
        q._statement = statement
        return q

    def union(self, *queries: Any) -> Self:
        """This query's rows UNION the others' (same entities, as a subquery further
        criteria apply to)."""
        return self._set_op(union, queries, "union")

    def union_all(self, *queries: Any) -> Self:
        return self._set_op(union_all, queries, "union_all")

    def intersect(self, *queries: Any) -> Self:
        return self._set_op(intersect, queries, "intersect")

    def intersect_all(self, *queries: Any) -> Self:
        return self._set_op(intersect_all, queries, "intersect_all")

    def except_(self, *queries: Any) -> Self:
        return self._set_op(except_, queries, "except_")

    def except_all(self, *queries: Any) -> Self:
        return self._set_op(except_all, queries, "except_all")

    def _set_op(self, op: Any, queries: Any, name: str) -> Self:
        # every side a Query: each SELECT has the deferred columns too (_set_op_statement)
        whole = all(isinstance(other, Query) for other in queries)
        stmts = [self._set_op_statement(whole)]
        for other in queries:
            if isinstance(other, Query):
                stmts.append(other._set_op_statement(whole))
            elif isinstance(other, SelectBase):
                stmts.append(other)
            else:
                raise ArgumentError(
                    f"Can't {name}() with {describe(other)}: it is not a Query or select(); "
                    "pass queries selecting the same entities"
                )
        return self._from_selectable(op(*stmts).subquery())

    def _set_op_statement(self, whole: bool) -> Any:
        """This query's labelled SELECT as one side of a union().  With ``whole``, it
        selects every table column of its entities, deferred ones too, so that an
        undefer() on the union finds them in the subquery (the outer SELECT still leaves
        them out unless asked); without, the columns a load selects, as a select() given
        as another side must."""
        if not whole or self._statement is not None:
            return self._labelled_statement()
        q = self._before_compile()
        props: list[Any] = []
        for ent in q._entities:
            m = ent.mapper if isinstance(ent, AliasedClass) else \
                mapper_of(ent) if isinstance(ent, type) else None
            # (a hierarchy is selected as it loads; SQL-expression attributes stay out)
            if m is None or m._poly is not None or not any(
                    p.deferred and isinstance(p.columns[0], Column)
                    for p in m.column_attrs.values()):
                props.append(None)
                continue
            load = set(m._load_props)
            props.append(tuple(p for p in m.column_attrs.values()  # in table order
                               if p in load or isinstance(p.columns[0], Column)))
        if all(p is None for p in props):
            return q._labelled_statement()
        layout = RowLayout(q._entities, props)
        return q._compile(columns=layout.columns, label_style=self.get_label_style())

    def _from_selectable(self, sub: Any) -> Self:
        """A query of the same entities read from ``sub`` (a subquery of this query's
        labelled SELECT, e.g. a UNION of it); later criteria are adapted to ``sub``."""
        from .aliased import AliasedClass

        cols = list(sub.c)
        entities: list[Any] = []
        names: dict[int, str] = {}
        for ent, (kind, p), name in zip(self._layout_entities(), self._layout.parts,
                                        self._layout.names, strict=True):
            if kind == "entity":
                entities.append(AliasedClass(p.mapper, sub, None, stands_for=ent))
            else:
                names[len(entities)] = name
                entities.append(cols[p])
        q = self.__class__(entities, self.session)
        q._options = list(self._options)
        q._execution_options = dict(self._execution_options)
        q._populate_existing = self._populate_existing
        q._autoflush = self._autoflush
        q._adapter = ClauseAdapter(sub)
        for i, name in names.items():  # rows keep the names the columns had
            q._layout.names[i] = name
            q._layout.descriptions[i]["name"] = name
        return q

    def _layout_entities(self) -> list[Any]:
        """One entity per layout part (a subquery selected whole is several parts)."""
        out: list[Any] = []
        for ent in self._entities:
            expr = ent.__clause_element__() if hasattr(ent, "__clause_element__") and \
                not isinstance(ent, (type, AliasedClass, QueryableAttribute)) else ent
            if isinstance(expr, FromClause) and not isinstance(expr, FunctionElement) and \
                    entity_of(expr) is None:
                out.extend(expr.c)
            else:
                out.append(ent)
        return out

    # -- compilation ----------------------------------------------------------------
    @property
    def statement(self) -> Any:
        if self._statement is not None:
            return self._statement
        stmt = self._compile()
        if self._label_style is not None:
            stmt = stmt.set_label_style(self._label_style)
        mapper = self._layout.primary_mapper or self._from_mapper
        if mapper is not None and statement_subject(stmt) is None:
            # executed on its own, it runs on the bind of the class it queries
            mark_subject(stmt, mapper)
        if any(kind == "entity" for kind, _p in self._layout.parts) and \
                isinstance(stmt, Select) and self._adapter is None:
            # session.execute(query.statement) gives the query's objects, as the query does
            stmt = as_orm_select(stmt, self._layout, self._entities)
        return stmt

    def _compile(self, columns: list[Any] | None = None, label_style: Any = None) -> Any:
        if self._statement is not None:
            return self._statement
        adapt = self._adapted if self._adapter is not None else _same
        if columns is None:
            stmt = self._layout.base_select(label_style)
        else:
            stmt = core_select(*columns)
            if self._layout.alias_froms:  # as base_select() does
                stmt = stmt.select_from(*self._layout.alias_froms)
            if label_style is not None:
                stmt = stmt.set_label_style(label_style)
        for f in self._select_from:
            stmt = stmt.select_from(f)
        if self._layout.inherit_sources:
            stmt = self._layout.apply_inheritance(stmt)
        for dest, on, outer in self._joins:
            m = mapper_of(dest) if isinstance(dest, type) else None
            target = m.persist_selectable if m is not None else dest
            stmt = stmt.join(target, adapt(on), isouter=outer) if on is not None else \
                stmt.join(target, isouter=outer)
        if self._where:
            # several criteria in one where() are ANDed as and_() would, without
            # building the and_() (coerced once, not twice)
            stmt = stmt.where(*[adapt(w) for w in self._where]) \
                if adapt is not _same else stmt.where(*self._where)
        if self._options and (criteria := criteria_options(self._options)):
            # with_loader_criteria(): WHERE / ON criteria of the entities read
            stmt = apply_loader_criteria(
                stmt, criteria, [m for m in self._part_mappers() if m is not None])
        if self._group_by:
            stmt = stmt.group_by(*(adapt(g) for g in self._group_by))
        if self._having:
            stmt = stmt.having(*(adapt(h) for h in self._having))
        if self._order_by:
            stmt = stmt.order_by(*(adapt(o) for o in self._order_by))
        for prefix, dialect in self._prefixes:
            stmt = stmt.prefix_with(prefix, dialect=dialect)
        for suffix, dialect in self._suffixes:
            stmt = stmt.suffix_with(suffix, dialect=dialect)
        for target, hint, dialect in self._hints:
            stmt = stmt.with_hint(target, hint, dialect) if target is not None else \
                stmt.with_statement_hint(hint, dialect)
        if self._limit is not None:
            stmt = stmt.limit(self._limit)
        if self._offset is not None:
            stmt = stmt.offset(self._offset)
        if self._distinct:
            stmt = stmt.distinct()
            if self._distinct_on:
                stmt = with_distinct_on(stmt, [adapt(e) for e in self._distinct_on])
        for extension in self._extensions:
            stmt = stmt.ext(adapt(extension))
        if self._for_update is not None:
            stmt = stmt.with_for_update(**self._for_update)
        if self._params:
            stmt = stmt.params(**self._params)
        return stmt

    def _adapted(self, clause: Any) -> Any:
        if not isinstance(clause, ClauseElement) and hasattr(clause, "__clause_element__"):
            clause = clause.__clause_element__()
        return self._adapter.traverse(clause)

    def subquery(self, name: str | None = None, with_labels: bool = False,
                 reduce_columns: bool = False) -> Any:
        """The SELECT as a subquery; ``with_labels``: columns named ``<table>_<column>``;
        ``reduce_columns``: columns equated by the criteria appear once."""
        if self._statement is not None:
            raise InvalidRequestError(
                "Can't call this method on a Query that uses from_statement(): make the "
                "subquery from the statement itself"
            )
        stmt = self.statement
        if with_labels:
            stmt = stmt.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
        if reduce_columns:
            stmt = stmt.reduce_columns()
        return stmt.subquery(name)

    def cte(self, name: str | None = None, recursive: bool = False,
            nesting: bool = False) -> Any:
        """The SELECT as a common table expression (``WITH``)."""
        return self.statement.cte(name=name, recursive=recursive, nesting=nesting)

    def __clause_element__(self) -> Any:
        """A Query used inside a SQL expression is its SELECT:
        ``User.id.in_(session.query(Address.user_id))`` (columns labelled as when it runs,
        so ``union(q1, q2).order_by("users_name")`` finds them)."""
        return self._labelled_statement()

    def scalar_subquery(self) -> Any:
        return self._compile().scalar_subquery()

    def as_scalar(self) -> Any:
        return self.scalar_subquery()

    def label(self, name: str) -> Any:
        return self._compile().scalar_subquery().label(name)

    def __str__(self) -> str:
        return str(self._shown_statement())

    def _shown_statement(self) -> Any:
        """What ``str(query)`` and ``query.compile()`` show: the labelled SELECT that runs,
        with the columns and eager joins its loader options give."""
        q = self._before_compile()
        if not q._options:
            return q._labelled_statement()
        plans = build_plans(q._part_mappers(), q._options)
        if plans is None:
            return q._labelled_statement()
        layout = RowLayout(q._entities, [p.props if p is not None else None for p in plans])
        base = q._compile(columns=layout.columns).set_label_style(
            LABEL_STYLE_TABLENAME_PLUS_COL)
        stmt, _layout = plans_statement(q._entities, plans, base, list(q._order_by),
                                        q._limit is not None or q._offset is not None)
        return stmt.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)

    def _labelled_statement(self) -> Any:
        """The SELECT with every column labelled ``<table>_<column>``: what ``str(query)``
        and ``query.compile()`` show (``.statement`` keeps the plain column names)."""
        if self._statement is not None:
            return self._statement
        return self._before_compile()._compile(label_style=self.get_label_style())

    _dm_compiled = False  # a query before_compile listeners already gave

    def _before_compile(self) -> Query[Any]:
        """This query as the ``before_compile`` listeners of its class leave it (itself
        when there are none, or none returned another)."""
        if self._dm_compiled:
            return self
        d = query_events.active(self, "before_compile")
        if d is None:
            return self
        q: Query[Any] = query_events.run_listeners(d, "before_compile", self)
        if q is self:
            q = self._clone()  # marked below: its own SQL does not fire the event again
        q._dm_compiled = True
        return q

    # Compiling: Core's own ``compile()``/``_compiler()`` run on the Query as on any
    # statement; when the compiler visits it, the labelled SELECT is compiled instead.
    stringify_dialect = "default"
    supports_execution = False
    _annotations: Mapping[str, Any] = {}
    _compiler = ClauseElement._compiler

    def compile(self, bind: Any = None, dialect: Any = None, **kw: Any) -> Any:
        """The compiled SELECT (columns labelled as in ``str(query)``), for ``bind``'s
        dialect or ``dialect`` (default: the generic one)."""
        for name, value, needs in (("bind", bind, "dialect"),
                                   ("dialect", dialect, "statement_compiler")):
            if value is not None and not hasattr(value, needs):
                raise ArgumentError(
                    f"Can't compile the query with {name}={describe(value)}: it is not "
                    f"{'an Engine or Connection' if name == 'bind' else 'a Dialect'}; pass "
                    "bind=engine or dialect=engine.dialect"
                )
        return ClauseElement.compile(self, bind, dialect, **kw)  # type: ignore[arg-type]

    def _compiler_dispatch(self, compiler: Any, **kw: Any) -> Any:
        return self._shown_statement()._compiler_dispatch(compiler, **kw)

    def _generate_cache_key(self) -> Any:
        return self._labelled_statement()._generate_cache_key()

    def _default_dialect(self) -> Any:
        return self._labelled_statement()._default_dialect()

    # -- execution ------------------------------------------------------------------
    def _session(self) -> Any:
        if self.session is None:
            raise InvalidRequestError(
                "Can't execute this Query: it is not associated with a Session; build it with "
                "session.query(...) or call query.with_session(session)"
            )
        return self.session

    def with_session(self, session: SessionLike) -> Self:
        if not callable(getattr(session, "_execute_for_mapper", None)):
            raise ArgumentError(
                f"Can't run this query in {describe(session)}: it is not a Session; pass a "
                "datamapper Session"
            )
        q = self._clone()
        q.session = session
        return q

    def _bind_mapper(self) -> Mapper | None:
        """The mapper whose bind runs this query: its entities', else the class
        select_from() named."""
        return self._layout.bind_mapper or self._from_mapper

    def _execute_rows(self) -> list[Any]:
        session = self._session()
        if self._autoflush:
            session._autoflush()
        stmt = self._labelled_statement()
        result: list[Any] = session._execute_for_mapper(stmt, self._bind_mapper(), self)
        return result

    def _part_mappers(self) -> list[Mapper | None]:
        return [p.mapper if kind == "entity" else None for kind, p in self._layout.parts]

    def _iter_results(self) -> list[Any]:
        session = self._session()
        q = self._before_compile()
        if q is not self:
            return q._iter_results()
        if "do_orm_execute" in session.dispatch.active:
            return self._results_through_listeners(session)
        return self._iter_results_plain(session)

    def _results_through_listeners(self, session: SessionLike) -> list[Any]:
        """Results when the session has ``do_orm_execute`` listeners: they see this
        query's SELECT (with its options) and may change its execution options,
        parameters, or the statement, or return a result of their own."""
        stmt = self._compile()
        opts = [o for o in self._options if isinstance(o, ExecutableOption)]
        if opts:
            stmt = stmt.options(*opts)

        def run(st: Any, params: Any, exec_opts: dict[str, Any], bind_kw: dict[str, Any]
                ) -> Any:
            q = self
            if st is not stmt:
                # the listener only added options (with_loader_criteria() ...): still this
                # query, with them; any other statement runs as given
                extra = [o for o in statement_options(st) if o not in opts]
                if not extra or not stmt.options(*extra).compare(st):
                    return session._execute_impl(st, params, None, None, exec_opts, bind_kw)
                q = self.options(*extra)
            q = q._clone()
            q._execution_options = dict(exec_opts)
            if "autoflush" in exec_opts:
                q._autoflush = bool(exec_opts["autoflush"])
            if "populate_existing" in exec_opts:
                q._populate_existing = bool(exec_opts["populate_existing"])
            if params:
                q = q.params(params)
            objs = q._iter_results_plain(session)
            if q._layout.single_entity:
                return IteratorResult(SimpleResultMetaData(q._layout.names), iter(objs),
                                      _source_supports_scalars=True)
            return IteratorResult(SimpleResultMetaData(q._layout.names),
                                  iter([tuple(o) for o in objs]))

        result = session._fire_orm_execute(stmt, None, self._execution_options, None, run,
                                           [m for m in self._part_mappers() if m is not None])
        if self._layout.single_entity:
            return list(result.scalars().all())
        return list(result.all())

    def _iter_results_plain(self, session: SessionLike) -> list[Any]:
        if self._statement is not None:
            return self._statement_results(session)
        plans = build_plans(self._part_mappers(), self._options)
        if plans is not None and not self._eagerloads:
            plans = _without_eager_nodes(plans)
        if plans is not None:
            if self._yield_per:
                check_yield_per_plans(plans)
            out = self._eager_results(session, plans)
        else:
            rows = self._execute_rows()
            if self._for_update is not None:
                session._check_locked_versions(self._layout, rows, self._shard_token())
            out = session._rows_to_results(self._layout, rows, self._populate_existing,
                                           self._shard_token())
            if self._options and (uopts := propagating_options(self._options)):
                stamp_results(self._layout, out, uopts)
        if (self._joins or self._adapter is not None or self._select_from or any(
                isinstance(ent, AliasedClass) for ent in self._entities)
                or (self._where and self._criteria_read_other_froms())) \
                and not self._yield_per:
            # a Query's rows holding a mapped object come once each, however many rows
            # of a joined table matched (join(User.addresses): a user once, not per
            # address), also through other FROMs or an aliased() subquery; a query of
            # its own table alone can't repeat a row, so pays nothing
            parts = self._layout.parts
            ents = [i for i, (kind, _p) in enumerate(parts) if kind == "entity"]
            if ents and self._layout.single_entity:
                out = unique_rows(out, True)
            elif ents:
                out = unique_entity_rows(out, ents, len(parts))
        if self._tuples and self._layout.single_entity:
            make = result_tuple(self._layout.names, self._layout.extras)
            return [make((o,)) for o in out]
        if self._layout.single_bundle and not self._tuples:
            return [r[0] for r in out]
        return out

    def _statement_results(self, session: SessionLike) -> list[Any]:
        """Rows of the from_statement() statement, each column found by column object
        (or, for text(), by name) and loaded as the selected entities (with the
        query's loader options)."""
        if self._autoflush:
            session._autoflush()
        _layout, out = load_from_statement(
            session, self._entities, self._options if self._eagerloads else [],
            self._statement, self._params, self._execution_options, self._populate_existing,
            self._shard_token())
        if self._tuples and self._layout.single_entity:
            make = result_tuple(self._layout.names, self._layout.extras)
            return [make((o,)) for o in out]
        return out

    def _eager_results(self, session: SessionLike, plans: list[Any]) -> list[Any]:
        """Results with loader options / configured eager relationships applied."""
        if self._autoflush:
            session._autoflush()
        layout = RowLayout(self._entities, [p.props if p is not None else None for p in plans])
        # labelled as the plain path runs it (and str(query) shows it): <table>_<column>
        base = self._compile(columns=layout.columns).set_label_style(
            LABEL_STYLE_TABLENAME_PLUS_COL)
        mapper = self._bind_mapper()
        uopts = propagating_options(self._options)

        def run(stmt: Any) -> list[Any]:
            rows: list[Any] = session._execute_for_mapper(stmt, mapper, self)
            return rows

        out = execute_with_plans(
            session, self._entities, plans, base, list(self._order_by),
            self._limit is not None or self._offset is not None, self._populate_existing,
            self._shard_token(), run, self._execution_options, uopts,
            criteria_options(self._options))
        if uopts:
            stamp_results(layout, out, uopts)
        return out

    def _shard_token(self) -> Any:
        return self._shard_id

    def all(self) -> list[_T]:
        return self._iter_results()

    def __iter__(self) -> Iterator[_T]:
        # yield_per(n): rows are fetched and turned into objects n at a time (a subclass
        # that runs its queries its own way, such as sharding, keeps doing so)
        if self._yield_per and type(self)._iter_results is Query._iter_results and \
                build_plans(self._part_mappers(), self._options) is None:
            session = self._session()
            if self._autoflush:
                session._autoflush()
            return iter(session._stream_query(self._compile(), self))
        return iter(self._iter_results())

    def first(self) -> _T | None:
        if self._statement is not None:  # from_statement(): the statement runs as written
            rows = self._iter_results()
            return rows[0] if rows else None
        limit = self._limit
        rows = [] if isinstance(limit, int) and limit <= 0 else self.limit(1)._iter_results()
        return rows[0] if rows else None

    def one_or_none(self) -> _T | None:
        rows = self._iter_results()
        if len(rows) > 1:
            raise MultipleResultsFound(
                f"Multiple rows were found when one or none was required ({len(rows)} rows)"
            )
        return rows[0] if rows else None

    def one(self) -> _T:
        rows = self._iter_results()
        if not rows:
            raise NoResultFound("No row was found when one was required")
        if len(rows) > 1:
            raise MultipleResultsFound(
                f"Multiple rows were found when exactly one was required ({len(rows)} rows)"
            )
        return cast(_T, rows[0])

    def scalar(self) -> Any:
        try:
            ret = self.one()
        except NoResultFound:
            return None
        if not self.is_single_entity:
            return cast(Any, ret)[0]  # a row: its first column
        return ret

    def get(self, ident: Any) -> _T | None:
        mapper = self._layout.primary_mapper
        if mapper is None:
            raise InvalidRequestError("Can't get(): the query selects no mapped entity")
        return cast("_T | None", self._session()._get_impl(
            mapper, ident, populate_existing=self._populate_existing,
            with_for_update=self._for_update, query=self))

    def count(self) -> int:
        session = self._session()
        if self._autoflush:
            session._autoflush()
        inner = self._labelled_statement().subquery()
        stmt = core_select(func.count()).select_from(inner)
        if "do_orm_execute" in session.dispatch.active:
            return self._count_through_listeners(session, stmt)
        rows = session._execute_for_mapper(stmt, self._bind_mapper(), self)
        return int(rows[0][0])

    def _count_through_listeners(self, session: SessionLike, stmt: Any) -> int:
        """count() when the session has ``do_orm_execute`` listeners: they see the
        SELECT count(*) FROM (the query); with_loader_criteria() options they add
        apply to the query counted (as they would to its rows)."""
        def run(st: Any, params: Any, exec_opts: dict[str, Any], bind_kw: dict[str, Any]
                ) -> Any:
            added = [o for o in statement_options(st) if isinstance(o, LoaderCriteriaOption)
                     and o not in statement_options(stmt)]
            if added:
                inner = self.options(*added)._labelled_statement().subquery()
                st = core_select(func.count()).select_from(inner)
            bind = session.get_bind(mapper=self._bind_mapper(), clause=st)
            return session._run(st, params, bind, exec_opts or None)

        result = session._fire_orm_execute(stmt, None, self._execution_options, None, run,
                                           [m for m in self._part_mappers() if m is not None])
        return int(result.scalar())

    def exists(self) -> Any:
        from sqlalchemy import exists

        return exists(self._compile().with_only_columns(literal_column("1"),
                                                        maintain_column_froms=True))

    # -- bulk ----------------------------------------------------------------------
    def update(self, values: dict[Any, Any], synchronize_session: Any = "evaluate",
               update_args: Any = None) -> int:
        if not isinstance(values, Mapping):
            raise ArgumentError(
                f"Can't update rows with {describe(values)}: update() takes a dictionary of "
                "new values, e.g. query.update({User.name: 'ed'})"
            )
        q: Query[Any] = self
        d = query_events.active(self, "before_compile_update")
        if d is not None:
            ctx = query_events.BulkContext(self, values)
            q = query_events.run_listeners(d, "before_compile_update", self, ctx)
            values = ctx.values
        return q._session()._bulk_update(q, values, synchronize_session)  # type: ignore[no-any-return]

    def delete(self, synchronize_session: Any = "evaluate", delete_args: Any = None) -> int:
        q: Query[Any] = self
        d = query_events.active(self, "before_compile_delete")
        if d is not None:
            q = query_events.run_listeners(d, "before_compile_delete", self,
                                           query_events.BulkContext(self))
        return q._session()._bulk_delete(q, synchronize_session)  # type: ignore[no-any-return]

    # -- legacy 0.3/0.4 spellings -------------------------------------------------------
    def select_by(self, *args: Any, **kwargs: Any) -> list[Any]:
        warn_deprecated("Query.select_by()", "Query.filter_by(...).all()")
        q = self.filter(*args) if args else self
        return q.filter_by(**kwargs).all()

    def selectfirst(self, criterion: Any = None, **kw: Any) -> Any:
        warn_deprecated("Query.selectfirst()", "Query.filter(...).first()")
        q = self.filter(criterion) if criterion is not None else self
        return q.first()

    def select(self, criterion: Any = None, **kw: Any) -> list[Any]:
        warn_deprecated("Query.select()", "Query.filter(...).all()")
        q = self.filter(criterion) if criterion is not None else self
        if "order_by" in kw:
            ob = kw["order_by"]
            q = q.order_by(*(ob if isinstance(ob, (list, tuple)) else [ob]))
        if "limit" in kw:
            q = q.limit(kw["limit"])
        if "offset" in kw:
            q = q.offset(kw["offset"])
        return q.all()

    def get_by(self, **kwargs: Any) -> Any:
        warn_deprecated("Query.get_by()", "Query.filter_by(...).first()")
        return self.filter_by(**kwargs).first()

    @property
    def column_descriptions(self) -> list[dict[str, Any]]:
        """One dictionary per result column: its ``name`` (None for an unnamed alias or
        expression), ``type`` (the class for an entity), ``aliased``, ``expr`` (what was
        passed to query()) and ``entity`` (the class or alias it belongs to, if any)."""
        return [dict(d) for d in self._layout.descriptions]

    @property
    def is_single_entity(self) -> bool:
        """True when results are objects, not rows: one mapped class selected and
        :meth:`only_return_tuples` not asked for."""
        return self._layout.single_entity and not self._tuples

    def only_return_tuples(self, value: bool) -> Self:
        """``True``: rows even for a query of one mapped class (``row[0]`` the object)."""
        q = self._clone()
        q._tuples = bool(value)
        return q

    def tuples(self) -> Self:
        """Deprecated: rows are tuples already; ``only_return_tuples(True)`` is what it
        does (rows even for a query of one mapped class).  The warning is Core's
        ``SADeprecationWarning`` (a ``DeprecationWarning``), as SQLAlchemy's own."""
        import warnings

        from sqlalchemy.exc import SADeprecationWarning

        warnings.warn(
            "Query.tuples() is deprecated, Row now behaves like a tuple (it unpacks and "
            "indexes as one); use the query as it is, or only_return_tuples(True) for rows "
            "of a single mapped class", SADeprecationWarning, stacklevel=2)
        return self.only_return_tuples(True)

    @property
    def selectable(self) -> Any:
        """The SELECT this query runs, as a Core statement (what ``__clause_element__``
        gives: columns labelled ``<table>_<column>``)."""
        return self.__clause_element__()


def _same(x: Any) -> Any:
    return x


def _text_or_refuse(value: Any, what: str) -> Any:
    if isinstance(value, (str, ClauseElement)):
        return value
    raise ArgumentError(
        f"Can't use {describe(value)} as a {what}: pass SQL text such as 'IGNORE' or a "
        "text() clause"
    )


def _without_eager_nodes(plans: list[Any]) -> list[Any] | None:
    """The plans with relationship eager loading taken out (enable_eagerloads(False))."""
    for plan in plans:
        if plan is not None:
            plan.nodes = {k: n for k, n in plan.nodes.items()
                          if n.strategy not in ("joined", "selectin", "subquery", "immediate")}
    if all(p is None or p.is_default() for p in plans):
        return None
    return plans


def _from_name(from_: Any) -> str:
    return str(getattr(from_, "name", None) or from_)


def is_sql(value: Any) -> bool:
    return isinstance(value, ColumnElement)


def _sql_or_refuse(value: Any, role: Any, verb: str, advice: str) -> Any:
    """``value`` if Core accepts it in ``role`` (checked only for what is not already
    a SQL element); else the named error, before any SQL is built or sent."""
    if isinstance(value, ClauseElement) or hasattr(value, "__clause_element__"):
        return value
    try:
        coercions.expect(role, value)
    except ArgumentError:
        if isinstance(value, type):
            if mapper_of(value) is None:
                raise UnmappedClassError(
                    f"Can't {verb} class {value.__name__}: it is not mapped and not a SQL "
                    f"expression; pass {advice}"
                ) from None
            raise ArgumentError(
                f"Can't {verb} the class {value.__name__}: a class is not a SQL expression "
                f"here; pass {advice}"
            ) from None
        raise ArgumentError(
            f"Can't {verb} {describe(value)}: a {type(value).__name__} object is not a SQL "
            f"expression; pass {advice}"
        ) from None
    return value


def _refuse_option(option: Any) -> None:
    raise ArgumentError(
        f"Can't apply {describe(option)} as a query option: it is not a loader option; "
        "pass e.g. joinedload(User.addresses), defer(User.name) or lazyload('*')"
    )


def _plus(base: Any, extra: Any) -> Any:
    """``base + extra`` for OFFSET arithmetic: in Python for integers (None is 0), as
    a SQL expression once either is one."""
    if base is None or (isinstance(base, int) and base == 0):
        return 0 if extra is None else extra
    if extra is None or (isinstance(extra, int) and extra == 0):
        return base
    return base + extra


def _int_or_refuse(value: Any, verb: str) -> None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return
    if isinstance(value, ClauseElement):
        return
    raise ArgumentError(
        f"Can't {verb} by {describe(value)}: it is not an integer; pass a row count "
        "such as 10"
    )


def with_distinct_on(stmt: Any, exprs: list[Any]) -> Any:
    """``stmt`` with DISTINCT ON ``exprs``, as SQLAlchemy's Query does it: through
    ``Select.distinct(*exprs)``, which PostgreSQL renders as DISTINCT ON and the other
    dialects as a plain DISTINCT (Core warns, deprecated, in both cases; the syntax
    extension ``postgresql.distinct_on`` through ``Query.ext()`` is the warning-free
    spelling)."""
    return stmt.distinct(*exprs)
