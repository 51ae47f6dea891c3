"""``Query`` to Core: the SELECT its state compiles to (``statement``,
``subquery()``, ``cte()``, ``str()``, ``compile()``), the ``before_compile`` event,
and what lets Core's compiler accept a Query where it takes a statement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    and_,
)
from sqlalchemy import select as core_select
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.selectable import Join, Select
from sqlalchemy.sql.util import find_left_clause_to_join_from, join_condition

from .._util import describe
from ..loading.criteria import apply_loader_criteria, criteria_options, selects_mapped_columns
from ..mapping.coercion import mark_subject, statement_subject
from ..mapping.inheritance import class_criterion, entity_source, join_target
from . import events as query_events
from .aliased import overlapping_alias_adapter, warn_overlapping_alias
from .entities import RowLayout, mapper_of
from .modifiers import QueryModifiers
from .option_plans import build_plans, without_eager_nodes
from .orm_select import ORMSelect, as_orm_select, options_applied
from .plan_execution import plans_statement

if TYPE_CHECKING:
    from sqlalchemy.engine import Compiled

_T = TypeVar("_T")


def _implicit_left(stmt: Any, target: Any) -> Any:
    """The FROM a join without ON clause starts at: the one of the query's own FROMs
    (its entities, select_from(), earlier joins) that has a foreign key to ``target``,
    or None (Core decides, or says it can't).  Core would also weigh the tables the
    WHERE clause names, which a joined-table subclass's join can join to as well
    (``query(Company).join(Engineer).filter(Engineer.name == ...)``)."""
    if hasattr(target, "__clause_element__"):  # an aliased() entity
        target = target.__clause_element__()
    froms = stmt.get_final_froms()
    found = find_left_clause_to_join_from(froms, target, None)
    return froms[found[0]] if len(found) == 1 else None


def _then_aliases(adapt: Callable[[Any], Any], aliases: tuple[tuple[Any, Any], ...]
                  ) -> Callable[[Any], Any]:
    """``adapt`` after the criteria naming a class joined through an alias of its tables
    (:func:`.aliased.overlapping_join_alias`) are made to name the alias."""
    to_alias = overlapping_alias_adapter(aliases)
    return lambda clause: adapt(to_alias(clause))


class QueryCompiling(QueryModifiers[_T]):
    """The Core SELECT of a Query, and a Query used as a Core element."""

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
            if self._options and self._eagerloads:
                # its loader options go with it (session.execute() and str() apply them)
                stmt._dm_options = tuple(self._options)
                stmt._dm_criteria_applied = True
        return stmt

    def _compile(self, columns: list[Any] | None = None, label_style: Any = None) -> Any:
        """The Core SELECT of this query's state: its columns (``columns``, else the
        layout's), FROMs and joins, criteria, then the modifiers, in that order."""
        if self._statement is not None:
            return self._statement
        adapt: Callable[[Any], Any] = self._adapted if self._adapter is not None else _same
        if self._auto_aliases:
            warn_overlapping_alias(self._auto_aliases)
            adapt = _then_aliases(adapt, self._auto_aliases)
        if columns is None:
            stmt = self._layout.base_select(label_style)
        else:
            stmt = core_select(*columns)
            if self._layout.alias_froms:  # as base_select() does
                stmt = stmt.select_from(*self._layout.alias_froms)
            if label_style is not None:
                stmt = stmt.set_label_style(label_style)
        if self._auto_aliases and columns is None:
            stmt = self._aliased_columns(stmt)
        if self._select_from or self._layout.inherit_sources or self._joins:
            stmt = self._compile_froms(stmt, adapt)
        if self._where or self._options or self._group_by or self._having or self._order_by:
            stmt = self._compile_criteria(stmt, adapt)
        return self._compile_modifiers(stmt, adapt)

    def _aliased_columns(self, stmt: Any) -> Any:
        """``stmt`` whose selected attributes and entities of a class joined through an
        alias of its tables (``Engineer.name``, ``Engineer`` after
        ``join(Manager.engineers)``) name the alias."""
        to_alias = overlapping_alias_adapter(self._auto_aliases)
        sels = {id(m): a._dm_selectable for m, a in self._auto_aliases}
        cols = list(self._layout.columns)
        changed = False
        for (kind, part), given in zip(self._layout.parts, self._layout.part_sources(),
                                       strict=True):
            if kind == "column":
                cols[part] = to_alias(cols[part])
                changed = True
            elif kind == "entity" and id(part.mapper) in sels and isinstance(given, type):
                sel = sels[id(part.mapper)]
                for i in range(part.offset, part.offset + part.width):
                    found = sel.corresponding_column(cols[i])
                    if found is not None:
                        cols[i] = found
                        changed = True
        return Select.with_only_columns(stmt, *cols) if changed else stmt  # (layout kept)

    def _aliased_sources(self) -> frozenset[int]:
        """The FROMs of the entities :meth:`_aliased_columns` reads through an alias:
        not read on their own."""
        if not self._auto_aliases:
            return frozenset()
        mappers = {id(m) for m, _a in self._auto_aliases}
        out = set()
        for (kind, part), given in zip(self._layout.parts, self._layout.part_sources(),
                                       strict=True):
            if kind == "entity" and id(part.mapper) in mappers and isinstance(given, type):
                src = entity_source(part.mapper)[0]
                if src is not None:
                    out.add(id(src))
        return frozenset(out)

    def _compile_froms(self, stmt: Any, adapt: Callable[[Any], Any]) -> object:
        """``stmt`` with select_from()'s FROMs, the inheritance sources and the joins."""
        for f in self._select_from:
            stmt = stmt.select_from(f)
        if self._layout.inherit_sources:
            stmt = self._layout.apply_inheritance(stmt, self._aliased_sources())
        for dest, on, outer, *rest in self._joins:
            left = rest[0] if rest else None  # a relationship join's parent entity
            m = mapper_of(dest) if isinstance(dest, type) else None
            target = join_target(m) if m is not None else dest
            crit = class_criterion(m) if m is not None else None
            if crit is not None:
                # a single-table subclass: only its rows join (in the ON clause, so an
                # outer join keeps the rows on its left); its table marked with the
                # class, so that a WHERE naming it adds no criterion of its own
                # (query/subclass_rows.py)
                target = dest.__clause_element__()
                if on is not None:
                    on = and_(on, crit)
                elif not outer:
                    stmt = stmt.where(adapt(crit))
            full = outer == "full"
            if left is None and on is None:
                left = _implicit_left(stmt, target)
                if isinstance(left, Join):
                    # as Core's implicit join: the foreign keys of the table joined
                    # last first (query(User).outerjoin(Order).join(Address) joins
                    # addresses to orders, though users has a key to it too)
                    on = join_condition(left, target, a_subset=left.right)
            if left is not None and on is not None:
                stmt = stmt.join_from(left, target, adapt(on), isouter=outer, full=full)
            elif left is not None:
                stmt = stmt.join_from(left, target, isouter=outer, full=full)
            else:
                stmt = stmt.join(target, adapt(on), isouter=outer, full=full) \
                    if on is not None else stmt.join(target, isouter=outer, full=full)
        return stmt

    def _compile_criteria(self, stmt: Any, adapt: Callable[[Any], Any]) -> object:
        """``stmt`` with WHERE (and with_loader_criteria()'s), GROUP BY, HAVING and
        ORDER BY."""
        if self._where:
            # several criteria in one where() are ANDed as and_() would, without
            # building the and_() (coerced once, not twice)
            stmt = stmt.where(*[adapt(w) for w in self._where]) \
                if adapt is not _same else stmt.where(*self._where)
        if self._options and (criteria := criteria_options(self._options)):
            # with_loader_criteria(): WHERE / ON criteria of the entities read; a query
            # of Core tables and their columns only reads no entity (as in SQLAlchemy)
            hints = [m for m in self._part_mappers() if m is not None]
            if hints or selects_mapped_columns(stmt):
                stmt = apply_loader_criteria(stmt, criteria, hints)
        if self._group_by:
            stmt = stmt.group_by(*(adapt(g) for g in self._group_by))
        if self._having:
            stmt = stmt.having(*(adapt(h) for h in self._having))
        if self._order_by:
            stmt = stmt.order_by(*(adapt(o) for o in self._order_by))
        return stmt

    def _compile_modifiers(self, stmt: Any, adapt: Callable[[Any], Any]) -> object:
        """``stmt`` with prefixes, suffixes, hints, LIMIT/OFFSET, DISTINCT, syntax
        extensions, FOR UPDATE and bound parameter values."""
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
        if self._correlate is not None:
            stmt = stmt.correlate(*self._correlate)
        if self._params:
            stmt = stmt.params(**self._params)
        return stmt

    def _adapted(self, clause: Any) -> object:
        if not isinstance(clause, ClauseElement) and hasattr(clause, "__clause_element__"):
            clause = clause.__clause_element__()
        assert self._adapter is not None  # (only called with an adapter)
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
        # (a subquery loads no objects: its loader options add nothing to it)
        stmt = self._statement_without_options()
        if with_labels:
            stmt = stmt.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
        if reduce_columns:
            stmt = stmt.reduce_columns()
        return stmt.subquery(name)

    def cte(self, name: str | None = None, recursive: bool = False,
            nesting: bool = False) -> Any:
        """The SELECT as a common table expression (``WITH``)."""
        return self._statement_without_options().cte(name=name, recursive=recursive,
                                                     nesting=nesting)

    def _statement_without_options(self) -> Any:
        stmt = self.statement
        return options_applied(stmt) if isinstance(stmt, ORMSelect) else stmt

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
        return self._before_compile()._shown_statement_compiled()

    def _shown_statement_compiled(self) -> object:
        """:meth:`_shown_statement` of the query ``before_compile`` listeners gave."""
        # configured eager relationships (lazy="joined") show too, options or not
        plans = build_plans(self._part_mappers(), self._options, self._layout.part_sources())
        if plans is not None and not self._eagerloads:
            plans = without_eager_nodes(plans)
        if plans is None:
            return self._labelled_statement()
        layout = RowLayout(self._entities,
                           [p.props if p is not None else None for p in plans])
        base = self._compile(columns=layout.columns).set_label_style(
            LABEL_STYLE_TABLENAME_PLUS_COL)
        stmt, _layout = plans_statement(self._entities, plans, base, list(self._order_by),
                                        self._limit is not None or self._offset is not None)
        return stmt.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)

    def _labelled_statement(self) -> Any:
        """The SELECT with every column labelled ``<table>_<column>``: what ``str(query)``
        and ``query.compile()`` show (``.statement`` keeps the plain column names)."""
        if self._statement is not None:
            return self._statement
        return self._before_compile()._compile(label_style=self.get_label_style())

    _dm_compiled = False  # a query before_compile listeners already gave

    def _before_compile(self) -> Self:
        """This query as the ``before_compile`` listeners of its class leave it (itself
        when there are none, or none returned another)."""
        if self._dm_compiled:
            return self
        d = query_events.active(self, "before_compile")
        if d is None:
            return self
        q: Self = query_events.run_listeners(d, "before_compile", self)
        if q is self:
            q = self._clone()  # marked below: its own SQL does not fire the event again
        q._dm_compiled = True
        return q

    # Compiling: Core's own ``compile()``/``_compiler()`` run on the Query as on any
    # statement; when the compiler visits it, the labelled SELECT is compiled instead.
    stringify_dialect = "default"

    supports_execution = False

    _annotations: Mapping[str, object] = {}

    _compiler = ClauseElement._compiler

    def compile(self, bind: object = None, dialect: object = None, **kw: object) -> Compiled:
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
        return ClauseElement.compile(self, bind, dialect, **kw)  # type: ignore[arg-type]  # bind/dialect checked above; Core types them as Engine/Dialect only

    def _compiler_dispatch(self, compiler: object, **kw: object) -> object:
        return self._shown_statement()._compiler_dispatch(compiler, **kw)

    def _generate_cache_key(self) -> object:
        return self._labelled_statement()._generate_cache_key()

    def _default_dialect(self) -> object:
        return self._labelled_statement()._default_dialect()

    @property
    def selectable(self) -> Any:
        """The SELECT this query runs, as a Core statement (what ``__clause_element__``
        gives: columns labelled ``<table>_<column>``)."""
        return self.__clause_element__()


def _same(x: object) -> object:
    return x


def with_distinct_on(stmt: Any, exprs: list[Any]) -> object:
    """``stmt`` with DISTINCT ON ``exprs``, as SQLAlchemy's Query does it: through
    ``Select.distinct(*exprs)``, which PostgreSQL renders as DISTINCT ON and the other
    dialects as a plain DISTINCT (Core warns, deprecated, in both cases; the syntax
    extension ``postgresql.distinct_on`` through ``Query.ext()`` is the warning-free
    spelling)."""
    return stmt.distinct(*exprs)
