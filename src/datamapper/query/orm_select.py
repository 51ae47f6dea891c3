"""The ORM's ``select()``: :class:`ORMSelect`, ``join()``/``outerjoin()`` along
relationships, and the Core statements of mapped entities.

Callers: users (``datamapper.select``, ``join``, ``outerjoin``), ``Query``
(``compiling.py``, ``from_statement.py``), the session's ``execute()`` and
``core_plugin.py`` (what a Core ``select()`` of mapped classes compiles to,
exports to a subquery, returns).  An :class:`ORMSelect` is a Core ``Select``
that keeps the :class:`entities.RowLayout` of its entities and its loader
options; :func:`executed_statement` is the SELECT the Session runs for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from sqlalchemy import Join, Select
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.elements import ColumnClause

from .._core import (
    ExportingSelect,
    annotate,
    copy_generative,
    dml_returning,
    explicit_froms,
    from_objects,
    has_limit_or_offset,
    order_by_clauses,
    proxy_key,
    raw_columns,
    relay_facts,
    relay_select,
    setup_joins,
    statement_options,
    with_adapted_clauses,
)
from ..mapping.attributes import QueryableAttribute
from ..mapping.coercion import (
    entities_of_core_select,
    entities_of_elements,
    mark_subject,
    statement_subject,
)
from ..mapping.mapper import Mapper, mapped_tables
from .aliased import (
    AliasedClass,
    AliasedRelationship,
    join_dest,
    overlapping_alias_adapter,
    overlapping_class_alias,
    overlapping_join_alias,
    plain_join_key,
    relationship_join_source,
    relationship_steps,
    subclass_table_join,
    warn_overlapping_alias,
)
from .core_plugin import NO_FILTER_BY
from .entities import RowLayout, entity_layout, filter_by_criteria, mapper_of, selectable_of
from .exported_columns import layout_exports


class ORMSelect(ExportingSelect):
    """A Core ``Select`` that remembers the mapped entities it was built from.

    ``session.execute(select(User))`` returns User objects; everything else is
    Core's Select (``where``, ``order_by``, ``join`` ... all work unchanged).
    """

    inherit_cache = True
    _dm_layout: RowLayout
    _dm_options: tuple[object, ...] = ()
    # Query.statement: with_loader_criteria() options are in its WHERE / ON already
    _dm_criteria_applied: bool = False
    # plain relationship joins made (plain_join_key): one made again adds nothing
    _dm_join_keys: frozenset[object] = frozenset()
    # (mapper, alias): a join along a relationship read the mapper's class through the
    # alias (its tables overlap the statement's, aliased.overlapping_join_alias); the
    # statement's columns and criteria naming the class name the alias
    _dm_auto_aliases: tuple[tuple[Mapper, Any], ...] = ()
    _dm_entities: list[object]

    def _dm_export_columns(self, cols: list[Any]) -> list[Any]:
        """The selected columns, a mapped class's column_property() expressions keyed
        by their attribute names (``select(User).subquery().c.upper_name``)."""
        layout = self.__dict__.get("_dm_layout")
        return cols if layout is None else layout_exports(layout, cols)

    @property
    def column_descriptions(self) -> Any:
        """One dictionary per result column: ``name`` (the row key), ``type`` (the class
        for an entity), ``aliased``, ``expr`` and ``entity`` (the class or alias it
        belongs to, if any)."""
        return self._dm_layout.column_descriptions(self._label_style)

    def options(self, *opts: Any) -> ORMSelect:
        """Loader options (joinedload(), defer(), ...), applied by Session.execute()."""
        s = self._generate()
        s._dm_options = self._dm_options + opts
        mapper = self._dm_layout.primary_mapper
        if opts and mapper is not None and statement_subject(s) is None:
            # compiled through datamapper's plugin, which shows what the options add
            mark_subject(s, mapper)
        return s

    def with_only_columns(self, *entities: Any, maintain_column_froms: bool = False,
                          **kw: Any) -> Any:
        """Core's ``with_only_columns()``.  Given mapped classes or attributes
        (``select(User).with_only_columns(User.id)``), the statement selects and loads
        those from then on, as ``select()`` of them would; given only Core columns and
        expressions, it is a plain Core select of those."""
        out = super().with_only_columns(*entities, maintain_column_froms=maintain_column_froms,
                                        **kw)
        found = entities_of_elements(raw_columns(out), attributes=True)
        if found is None:
            # Core columns and expressions only: a plain Core select of them (this
            # package's own re-layouts call Select.with_only_columns(), keeping the layout)
            plain = Select.__new__(Select)
            plain.__dict__.update((k, v) for k, v in out.__dict__.items()
                                  if not k.startswith("_dm_"))
            return plain
        layout = entity_layout(found)
        relaid: ORMSelect = Select.with_only_columns(  # type: ignore[assignment]  # (Core types it as Select)
            self, *layout.columns, maintain_column_froms=maintain_column_froms)
        relaid._dm_layout = layout
        relaid._dm_entities = list(found)
        if layout.inherit_sources:
            relaid = layout.apply_inheritance(relaid)
        return relaid

    def join(self, target: Any, onclause: Any = None, *, isouter: bool = False,
             full: bool = False) -> ORMSelect:
        """Core's join, plus joins along a relationship: ``join(User.addresses)`` or
        ``join(Address, User.addresses)`` (through the secondary table for a
        many-to-many); ``join(alias.addresses)`` and ``join(User.addresses.of_type(alias))``
        for aliased() ends."""
        steps = relationship_steps(target, onclause)
        if steps is None:
            alias = overlapping_class_alias(target, onclause, [
                *explicit_froms(self), *(f for c in raw_columns(self) for f in from_objects(c)),
                *(j[0] for j in setup_joins(self))])
            if alias is None:
                return super().join(target, onclause, isouter=isouter, full=full)
            # a joined-table subclass over a table the statement reads already, with an
            # ON clause of its own: through an alias of its tables
            aliases = (*self._dm_auto_aliases, (alias._dm_mapper, alias))
            warn_overlapping_alias(aliases[-1:])
            to_alias = overlapping_alias_adapter(aliases)
            joined: ORMSelect = with_adapted_clauses(
                super().join(alias, to_alias(onclause), isouter=isouter, full=full), to_alias)
            joined._dm_auto_aliases = aliases
            return joined
        key = plain_join_key(target, onclause, None, (isouter, full))
        done = self._dm_join_keys
        if key is not None and key in done:
            return self._generate()  # the same relationship joined from the same entity
        froms = [*explicit_froms(self), *(f for c in raw_columns(self)
                                          for f in from_objects(c)),
                 *(j[0] for j in setup_joins(self))]
        overlap = overlapping_join_alias(target, onclause, [
            *explicit_froms(self), *(j[0] for j in setup_joins(self))])
        if overlap is not None:
            steps = relationship_steps(overlap[0], None) or steps
        # (filter_by() searches the relationship's destination, as SQLAlchemy's does,
        # not the association table a many-to-many join passes through)
        dests = [join_dest(d) if i == len(steps) - 1 else
                 annotate(join_dest(d), {NO_FILTER_BY: True})
                 for i, (d, _on) in enumerate(steps)]
        sub = subclass_table_join(target, onclause, froms)
        if sub is not None:
            # a relationship of a joined-table subclass whose table the statement does
            # not read yet: that table first, joined on the inheritance condition
            out: ORMSelect = super().join(sub[0], sub[1], isouter=isouter, full=full)
            out = super(ORMSelect, out).join(dests[0], steps[0][1],
                                             isouter=isouter, full=full)
        else:
            out = super().join_from(relationship_join_source(target, onclause),
                                    dests[0], steps[0][1], isouter=isouter, full=full)
        for dest, (_d, on) in zip(dests[1:], steps[1:], strict=True):
            out = super(ORMSelect, out).join(dest, on, isouter=isouter, full=full)
        if key is not None:
            out._dm_join_keys = done | {key}
        if overlap is not None:
            aliases = (*self._dm_auto_aliases, (overlap[1]._dm_mapper, overlap[1]))
            warn_overlapping_alias(aliases[-1:])
            out = with_adapted_clauses(out, overlapping_alias_adapter(aliases))
            out._dm_auto_aliases = aliases
        return out

    def where(self, *whereclause: Any) -> ORMSelect:
        """Core's where(); a criterion naming a class an earlier join reads through an
        alias of its tables names the alias."""
        if self._dm_auto_aliases:
            to_alias = overlapping_alias_adapter(self._dm_auto_aliases)
            whereclause = tuple(to_alias(w) for w in whereclause)
        return super().where(*whereclause)

    def order_by(self, *clauses: Any) -> ORMSelect:
        """Core's order_by(), adapted as :meth:`where` is."""
        if self._dm_auto_aliases:
            to_alias = overlapping_alias_adapter(self._dm_auto_aliases)
            clauses = tuple(to_alias(c) for c in clauses)
        return super().order_by(*clauses)

    def outerjoin(self, target: object, onclause: object = None, *, full: bool = False) -> ORMSelect:
        return self.join(target, onclause, isouter=True, full=full)

    def from_statement(self, statement: object) -> Any:
        """The selected entities loaded from ``statement`` (a select(), union or
        text()) as written, instead of from this SELECT."""
        from .from_statement import from_statement_of

        return from_statement_of(self, statement)

    def filter_by(self, **kwargs: object) -> ORMSelect:
        """Keyword criteria on the selected class's mapped attribute names only."""
        mapper = self._dm_layout.primary_mapper
        if mapper is None or setup_joins(self):
            # Core names the last join target (its mapped attributes, for a mapped class
            # or an alias of one), else the first FROM
            return super().filter_by(**kwargs)
        first = self._dm_entities[0] if self._dm_entities else None
        return self.where(*filter_by_criteria(mapper, kwargs, first))


class ORMJoin(Join):
    """What :func:`join` returns: Core's ``Join``, whose ``join()`` / ``outerjoin()``
    take a relationship attribute as the ON clause too
    (``join(Node, n1, Node.children).join(n2, n1.children)``)."""

    inherit_cache = True

    def join(self, right: Any, onclause: Any = None, isouter: bool = False,
             full: bool = False) -> Any:
        return join(self, right, onclause, isouter=isouter, full=full)

    def outerjoin(self, right: Any, onclause: Any = None, full: bool = False) -> Any:
        return join(self, right, onclause, isouter=True, full=full)


def join(left: Any, right: Any, onclause: Any = None, isouter: bool = False,
         full: bool = False) -> Any:
    """A JOIN of mapped classes, aliases or tables (Core's ``Join``); ``onclause`` may
    be a relationship attribute (``join(User, Address, User.addresses)``, through the
    secondary table for a many-to-many), or an alias's one, or ``of_type(alias)``."""
    if isinstance(onclause, str):
        raise ArgumentError(
            f"Can't join on {onclause!r}: join() takes a relationship attribute or a SQL "
            "expression as the ON clause, not a string"
        )
    onclause = _read_from_left(left, onclause)
    steps = relationship_steps(right, onclause) if onclause is not None else None
    if steps is None:
        return ORMJoin(left, right, onclause, isouter=isouter, full=full)
    out = left
    for dest, on in steps:
        out = ORMJoin(out, join_dest(dest), on, isouter=isouter, full=full)
    return out


def _read_from_left(left: Any, onclause: Any) -> Any:
    """``onclause``, a relationship of an aliased() entity the left side does not read
    (``join(Node, n1, n1.children)``), as the same relationship of the left side's
    entity, as SQLAlchemy reads it (it joined the alias to itself: ON nodes_1.id =
    nodes_1.parent_id); any other ON clause as given."""
    if isinstance(onclause, QueryableAttribute) and onclause.prop.is_relationship:
        # a class's relationship from an alias of the class (join(alias, Address,
        # Order.address)): the alias's own relationship, whose condition names it
        if isinstance(left, AliasedClass) and left._dm_mapper.isa(onclause.prop.parent):
            return getattr(left, onclause.key)
        return onclause
    if not isinstance(onclause, AliasedRelationship):
        return onclause
    mapper = onclause.source._dm_mapper
    if isinstance(left, AliasedClass):
        if left._dm_mapper is mapper and left is not onclause.source:
            return getattr(left, onclause.key)
    elif isinstance(left, type) and mapper_of(left) is mapper:
        return getattr(left, onclause.key)
    return onclause


def outerjoin(left: object, right: object, onclause: object = None, full: bool = False) -> Any:
    """:func:`join` as a LEFT OUTER JOIN."""
    return join(left, right, onclause, isouter=True, full=full)


_T0 = TypeVar("_T0")
_T1 = TypeVar("_T1")
_T2 = TypeVar("_T2")
_T3 = TypeVar("_T3")

if TYPE_CHECKING:
    from sqlalchemy import SQLColumnExpression

    # an entity: a mapped class (rows hold its objects) or a typed column expression
    _E0 = type[_T0] | SQLColumnExpression[_T0]
    _E1 = type[_T1] | SQLColumnExpression[_T1]
    _E2 = type[_T2] | SQLColumnExpression[_T2]
    _E3 = type[_T3] | SQLColumnExpression[_T3]



@overload
def select(__ent0: _E0[_T0], /) -> Select[_T0]: ...


@overload
def select(__ent0: _E0[_T0], __ent1: _E1[_T1], /) -> Select[_T0, _T1]: ...


@overload
def select(__ent0: _E0[_T0], __ent1: _E1[_T1], __ent2: _E2[_T2], /
           ) -> Select[_T0, _T1, _T2]: ...


@overload
def select(__ent0: _E0[_T0], __ent1: _E1[_T1], __ent2: _E2[_T2], __ent3: _E3[_T3], /
           ) -> Select[_T0, _T1, _T2, _T3]: ...


@overload
def select(*entities: Any) -> Select[*tuple[Any, ...]]: ...


def select(*entities: Any) -> Any:
    """ORM-aware ``select()``: ``select(User).where(User.name == "ed")``.

    Typed like Core's ``select()``: ``select(User)`` is a ``Select[User]`` and
    ``session.scalars()`` of it a ``ScalarResult[User]``.
    """
    layout = entity_layout(entities)
    cached = layout.__dict__.get("_orm_select") if len(entities) == 1 else None
    if cached is not None and cached._dm_entities[0] is entities[0]:
        return cached  # statements are immutable: one select(User) serves every call
    stmt = ORMSelect(*selectable_of(layout.columns))
    stmt._dm_layout = layout
    stmt._dm_entities = list(entities)  # for loader options
    if layout.inherit_sources:
        stmt = layout.apply_inheritance(stmt)
    if layout.alias_froms:
        stmt = stmt.select_from(*layout.alias_froms)
    if len(entities) == 1:
        layout.__dict__["_orm_select"] = stmt
    return stmt


def as_orm_select(stmt: Select[Any], layout: RowLayout, entities: list[Any]) -> ORMSelect:
    """``stmt`` (a Core select of ``layout``'s columns) as the ORM select of ``entities``."""
    out = copy_generative(ORMSelect.__new__(ORMSelect), stmt)
    out._dm_layout = layout
    out._dm_entities = list(entities)
    return out


def renamed_column_keys(stmt: Any) -> list[str] | None:
    """The keys of a Core select's rows when it selects a mapped attribute named other
    than its column (directly or through a subquery): the selected columns' keys, which
    carry the attribute names; None when every column keeps its own name."""
    cols = stmt.selected_columns
    for c in cols:
        if isinstance(c, ColumnClause) and proxy_key(c) != c.name:
            return list(cols.keys())
    return None


def reads_mapped_tables(stmt: object) -> bool:
    """Whether a Core select of columns reads a mapped table (``select(User.name)``,
    ``select(func.count(User.id))``, a join of mapped tables): the Session autoflushes
    before it, as it does before a query of entities."""
    for c in raw_columns(stmt):
        for f in from_objects(c):
            if f in mapped_tables:
                return True
    for f in explicit_froms(stmt):
        if f in mapped_tables:
            return True
    return any(t[0] in mapped_tables for t in setup_joins(stmt))


def core_returning_descriptions(stmt: object) -> list[dict[str, object]] | None:
    """``update(User).returning(User.id).returning_column_descriptions`` in the ORM's
    form (as ``Select.column_descriptions``); None when it returns nothing mapped."""
    returning = dml_returning(stmt)
    entities = entities_of_elements(returning, attributes=True) if returning else None
    if entities is None:
        return None
    return RowLayout(entities).descriptions


def orm_select_from_core(stmt: Any) -> ORMSelect | None:
    """``sqlalchemy.select(User, ...)`` as the ORM select it stands for, or None.

    A Core Select whose selected elements include mapped classes (marked by
    :mod:`..mapping.coercion`) is re-laid out over the entities' columns, keeping
    its WHERE, JOIN, ORDER BY, LIMIT ... unchanged, so that the Session returns
    objects through the identity map for those entities.
    """
    entities = entities_of_core_select(stmt)
    if entities is None:
        return None
    layout = entity_layout(entities)
    out = ORMSelect.__new__(ORMSelect)
    raw = raw_columns(stmt)
    relaid = False
    if len(raw) == 1:
        # one entity (the usual ``select(User)``): the coerced columns and FROMs of its
        # re-layout are kept on its layout (shared by every statement of the class,
        # replaced when the mapper is reconfigured) instead of coerced per statement
        facts = layout.core_relay
        if facts is None or facts[0] is not raw[0]:
            facts = layout.core_relay = (raw[0], *relay_facts(stmt, layout.columns))
        relaid = relay_select(out, stmt, facts[1], facts[2])
    if not relaid:
        copy_generative(out, stmt.with_only_columns(*layout.columns,
                                                    maintain_column_froms=True))
    out._dm_layout = layout
    out._dm_entities = entities
    # loader options given to Core's Select.options() (Load is a Core ExecutableOption)
    options = statement_options(stmt)
    if options:
        out._dm_options = options
    if layout.inherit_sources:
        out = layout.apply_inheritance(out)
    return out


def options_applied(orm: ORMSelect) -> ORMSelect:
    """``orm`` once the Session has taken its loader options (into its loading plans
    and criteria): the statement it runs, which compiling must not apply them to again."""
    if not orm._dm_options:
        return orm
    out = orm._generate()
    out._dm_options = ()
    return out


def executed_statement(orm: ORMSelect) -> object:
    """The SELECT the Session runs for ``orm``: its loader options applied (the columns
    load_only()/defer()/undefer_group() choose, with_expression() expressions) and the
    eager joins of joinedload() and of configured ``lazy="joined"`` relationships added;
    ``orm`` itself when nothing changes its SQL."""
    from ..loading.criteria import apply_loader_criteria, criteria_options
    from .option_plans import build_plans
    from .plan_execution import plans_statement

    layout = orm._dm_layout
    criteria = criteria_options(orm._dm_options)
    if criteria and not orm._dm_criteria_applied:
        orm = apply_loader_criteria(orm, criteria, layout.mappers)
    plans = build_plans([p.mapper if kind == "entity" else None for kind, p in layout.parts],
                        orm._dm_options, layout.part_sources())
    if plans is None:
        return orm
    entities = orm._dm_entities
    chosen = RowLayout(entities, [p.props if p is not None else None for p in plans])
    base: object = orm
    if list(map(id, chosen.columns)) != list(map(id, layout.columns)):
        base = Select.with_only_columns(orm, *chosen.columns)  # (its layout kept)
    stmt, _layout = plans_statement(entities, plans, base, list(order_by_clauses(orm)),
                                    has_limit_or_offset(orm), criteria)
    return stmt


def orm_statement_of(statement: object) -> object:
    """What a Core ``select()`` of mapped classes compiles to on its own: the statement
    the Session runs for it (:func:`executed_statement`); any other statement as is."""
    if isinstance(statement, ORMSelect):
        # datamapper's select() (and Query.statement) with loader options, as
        # sqlalchemy.select() of the same entities shows it
        from ..loading.criteria import applying

        if not statement._dm_options or applying():
            return statement
        return executed_statement(statement)
    if statement.__class__ is not Select:
        return statement
    orm = orm_select_from_core(statement)
    return statement if orm is None else executed_statement(orm)


def as_written(statement: object) -> object:
    """A Core ``select()`` of mapped classes as the SELECT of the columns it exports
    (``selected_columns``: each class's columns and expressions), not as the ORM select
    it compiles to on its own: ``from_statement()`` runs it so, and its rows then hold
    every column the statement's ``selected_columns`` name (with_expression() may name
    them); any other statement as is."""
    if statement.__class__ is not Select or entities_of_core_select(statement) is None:
        return statement
    return statement.with_only_columns(*statement.selected_columns,
                                       maintain_column_froms=True)
