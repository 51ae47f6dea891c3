"""Joins along relationships in Core's own ``select()``: a compile-state plugin.

``sqlalchemy.select(User).join(User.addresses)`` is built by Core, which knows
nothing of relationships.  Core lets a statement name a *compile-state plugin*
(``statement._propagate_attrs["compile_state_plugin"]``, taken from the first
element that carries one): relationship join targets carry ``"datamapper"``
(see ``mapping.attributes.JOIN_PLUGIN``), and Core keeps the attribute itself as
the join target (it is a ``JoinTargetRole``).  When such a statement is compiled,
:class:`DatamapperSelectState` replaces each join along a relationship by the
joins of tables it stands for (through the secondary table of a many-to-many,
to an ``aliased()`` target for ``of_type()``, with ``and_()`` criteria in the ON
clause) and lets Core's own select state compile the result, so the SQL is the
one ``datamapper.select`` emits for the same joins.  Compiled forms are cached by
Core as usual; nothing here runs per row.

``filter_by()`` after such a join names the joined entity's attributes
(:meth:`DatamapperSelectState.determine_last_joined_entity`).

This module and ``mapping.coercion`` are where datamapper meets Core's
extension points; :func:`install` is called once from ``wiring.wire()``.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Join
from sqlalchemy.sql.elements import ColumnElement

from .._core import (
    DeleteDMLState,
    InsertDMLState,
    SelectState,
    UpdateDMLState,
    annotations_of,
    coercions,
    compiling_toplevel,
    deannotate,
    explicit_froms,
    from_objects,
    install_dml_plugin,
    install_select_plugin,
    memoized_select_entities,
    raw_columns,
    roles,
    select_iterable,
    setup_joins,
    with_adapted_clauses,
    with_joins,
)
from ..loading.criteria import apply_loader_criteria, applying, statement_criteria
from ..mapping.attributes import _JoinTarget
from ..mapping.coercion import ALIAS_KEY, column_entity, dml_mapper, entity_of
from ..mapping.composite import expand_composite_pairs
from .aliased import (
    AliasedClass,
    check_relationship_join,
    join_dest,
    overlapping_alias_adapter,
    overlapping_join_alias,
    plain_join_key,
    relationship_join_source,
    relationship_steps,
    subclass_table_join,
    warn_overlapping_alias,
)
from .covered_froms import absorb_covered_entity_froms
from .exported_columns import subquery_columns
from .subclass_rows import limit_to_subclass_rows

PLUGIN_NAME = "datamapper"
# the annotation of a join target filter_by() does not search (SQLAlchemy's ORM uses
# the same key): the association table a many-to-many join passes through
NO_FILTER_BY = "_no_filter_by"


def _is_relationship_join(target: object, onclause: object) -> bool:
    return isinstance(target, _JoinTarget) or isinstance(onclause, _JoinTarget)


def _expanded(joins: tuple[Any, ...], froms: tuple[Any, ...] = (),
              aliases: list[tuple[Any, Any]] | None = None, given: tuple[Any, ...] = ()
              ) -> tuple[object, ...] | None:
    """The joins with each one along a relationship replaced by joins of tables; a
    join to a joined-table subclass over a table its left side or the FROMs ``given``
    to select_from() read already reads an alias of its tables, added to ``aliases``
    (with its mapper)."""
    if not any(_is_relationship_join(t, on) for t, on, _f, _fl in joins):
        return None
    out: list[tuple[object, object, object, object]] = []
    seen: set[object] = set()
    for target, onclause, from_, flags in joins:
        if from_ is not None and _is_relationship_join(target, onclause):
            check_relationship_join(None, onclause, from_)
        steps = relationship_steps(target, onclause) if _is_relationship_join(
            target, onclause) else None
        if steps is None:
            out.append((target, onclause, from_, flags))
            continue
        if aliases is not None:
            overlap = overlapping_join_alias(target, onclause,
                                             [*given, *(o[0] for o in out)])
            if overlap is not None:
                steps = relationship_steps(overlap[0], None) or steps
                aliases.append((overlap[1]._dm_mapper, overlap[1]))
        key = plain_join_key(target, onclause, from_, flags)
        if key is not None:
            if key in seen:
                continue  # the same relationship joined from the same entity: once
            seen.add(key)
        sub = subclass_table_join(target, onclause, [*froms, *(o[0] for o in out)]) \
            if from_ is None else None
        if sub is not None:
            # a relationship of a joined-table subclass whose table the statement does
            # not read yet: that table first, joined on the inheritance condition
            out.append((coercions.expect(roles.JoinTargetRole, sub[0]),
                        coercions.expect(roles.OnClauseRole, sub[1]), None, flags))
            for dest, on in steps:
                out.append((coercions.expect(roles.JoinTargetRole, join_dest(dest)),
                            coercions.expect(roles.OnClauseRole, on), None, flags))
            continue
        if from_ is None:
            from_ = coercions.expect(roles.FromClauseRole,
                                     relationship_join_source(target, onclause))
        for i, (dest, on) in enumerate(steps):
            out.append((
                coercions.expect(roles.JoinTargetRole, join_dest(dest)),
                coercions.expect(roles.OnClauseRole, on),
                from_ if i == 0 else None,
                flags,
            ))
    return tuple(out)


def _statement_froms(statement: object) -> tuple[Any, ...]:
    """The FROMs a statement reads before its joins: select_from()'s and its columns'."""
    return (*explicit_froms(statement),
            *(f for c in raw_columns(statement) for f in from_objects(c)))


def expand_relationship_joins(statement: object) -> Any:
    """``statement`` with every join along a relationship replaced by joins of tables
    (the statement itself when it has none).  Joins made before a
    ``with_only_columns()`` live in the statement's memoized entities: those too."""
    aliases: list[tuple[Any, Any]] = []
    given = explicit_froms(statement)
    joins = _expanded(setup_joins(statement), _statement_froms(statement), aliases, given)
    new_memo: list[object] = []
    changed = False
    for m in memoized_select_entities(statement):
        mj = _expanded(setup_joins(m), (), aliases, given)
        if mj is not None:
            m = with_joins(m, mj)
            changed = True
        new_memo.append(m)
    if joins is None and not changed:
        return statement
    statement = with_joins(statement, joins, tuple(new_memo) if changed else None)
    if aliases:
        warn_overlapping_alias(tuple(aliases))
        # the criteria and columns naming a class joined through an alias name the alias
        statement = with_adapted_clauses(statement, overlapping_alias_adapter(tuple(aliases)))
    return statement


def with_alias_joins(statement: Any) -> Any:
    """``statement`` naming in FROM the join a selected column's entity reads from, when
    that entity is a with_polymorphic() or flat aliased() one (its columns belong to
    tables of a join: named one by one they would make a cartesian product)."""
    joins: list[Any] = []
    for col in raw_columns(statement):
        if not isinstance(col, ColumnElement):
            continue
        ent = column_entity(col)
        if isinstance(ent, AliasedClass) and isinstance(ent._dm_selectable, Join) and \
                not any(j is ent._dm_selectable for j in joins):
            joins.append(ent._dm_selectable)
    if joins:
        statement = statement.select_from(*joins)
    return _with_polymorphic_froms(statement)


def _with_polymorphic_froms(statement: Any) -> Any:
    """``statement`` reading, for each class it selects whose mapping names
    ``with_polymorphic`` subclasses, the outer join of their tables that the class's
    columns (its subclasses' too) come from: a Core ``select(Person)`` nested in a
    subquery or CTE is not laid out again as the top-level statement is, and named the
    subclasses' columns without their tables ("no such column: managers.status")."""
    from ..mapping.inheritance import entity_source
    from .entities import with_inherit_from

    for element in raw_columns(statement):
        if isinstance(element, ColumnElement):
            continue
        mapper = entity_of(element)
        if mapper is None or mapper._poly is None or \
                annotations_of(element).get(ALIAS_KEY) is not None:
            continue
        source = entity_source(mapper)[0]
        if not isinstance(source, Join) or deannotate(cast(Any, element)) is source:
            continue
        given = {id(deannotate(f)) for f in explicit_froms(statement)}
        if id(source) not in given:
            statement = with_inherit_from(statement, source)
    return statement


class DatamapperSelectState(SelectState):
    """Core's select state, after relationship joins are expanded into table joins."""

    @classmethod
    def create_for_statement(cls, statement: Any, compiler: Any, **kw: Any) -> SelectState:
        if compiler is not None and compiling_toplevel(compiler):
            # the statement itself (print(), str(), execution): what the Session runs
            # for it, so that the SQL shown and the SQL run agree
            from .entities import refuse_star_with_others
            from .orm_select import orm_statement_of

            refuse_star_with_others(raw_columns(statement))
            statement = orm_statement_of(statement)
            criteria = () if applying() else statement_criteria(statement)
            if criteria:  # with_loader_criteria() in a select of columns
                statement = apply_loader_criteria(statement, criteria)
        statement = with_alias_joins(statement)
        statement = absorb_covered_entity_froms(expand_relationship_joins(statement))
        if compiler is not None and not applying():
            # at the top and nested: only the rows of the inheriting classes it names
            statement = limit_to_subclass_rows(statement, compiler)
        return SelectState(statement, compiler, **kw)

    @classmethod
    def all_selected_columns(cls, statement: Any) -> Any:
        """The columns a select of mapped classes exports (``selected_columns``, a
        subquery's ``.c``, the SELECT list inside a subquery or union): each class's
        columns and SQL expressions (:func:`.exported_columns.subquery_columns`)."""
        cols = super().all_selected_columns(statement)
        raw = raw_columns(statement)
        if not any(entity_of(e) is not None for e in raw):
            return cols

        out: list[object] = []
        for element in raw:
            mapper = entity_of(element)
            if mapper is not None and annotations_of(element).get(ALIAS_KEY) is None:
                out.extend(subquery_columns(element, mapper))
            else:
                out.extend(select_iterable(element))
        return out

    @classmethod
    def determine_last_joined_entity(cls, statement: object) -> Any:
        joins = setup_joins(statement)
        if joins:
            target, onclause = joins[-1][:2]
            steps = relationship_steps(target, onclause) if _is_relationship_join(
                target, onclause) else None
            if steps is not None:
                dest = steps[-1][0]
                return dest.__clause_element__() if hasattr(dest, "__clause_element__") \
                    else dest
        # SQLAlchemy 2.0 reads the last joined entity here (2.1 has no such method)
        base: Any = getattr(SelectState, "determine_last_joined_entity", None)
        return base(statement) if base is not None else None

    @classmethod
    def from_statement(cls, statement: object, from_statement: object) -> Any:
        """``sqlalchemy.select(User).from_statement(stmt)``: User loaded from ``stmt``."""
        from .from_statement import from_statement_of

        return from_statement_of(statement, from_statement)

    @classmethod
    def get_column_descriptions(cls, statement: Any) -> Any:
        """``sqlalchemy.select(User, ...).column_descriptions``: the entities as a
        Session's rows show them (Core's own description for a select of columns)."""
        from .orm_select import orm_select_from_core

        orm = orm_select_from_core(statement)
        if orm is None:
            return super().get_column_descriptions(statement)
        return orm.column_descriptions

    @classmethod
    def _get_filter_by_entities(cls, statement: Any) -> Any:
        """SQLAlchemy 2.1: filter_by() searches every entity of the statement.  A join
        along a relationship counts as its destination entity (the class or alias it
        joins), not as the tables it passes through: the association table of a
        many-to-many is not searched (``select(A).join(A.bs).filter_by(b_id=5)`` names
        ``b.b_id``, not ``atob.b_id`` too)."""
        entities = super()._get_filter_by_entities(statement)
        if not isinstance(entities, set):  # pragma: no cover - Core's own shape
            entities = set(entities)
        for stmt in (statement, *memoized_select_entities(statement)):
            for target, onclause, _from, _flags in setup_joins(stmt):
                if NO_FILTER_BY in annotations_of(target):
                    entities.discard(target)
                if not _is_relationship_join(target, onclause):
                    continue
                entities.discard(target)
                steps = relationship_steps(target, onclause)
                if steps is not None:
                    dest = steps[-1][0]
                    entities.add(dest.__clause_element__()
                                 if hasattr(dest, "__clause_element__") else dest)
        return _without_entity_tables(entities)


def _without_entity_tables(entities: set[Any]) -> set[Any]:
    """The entities without the tables an entity's join is made of: a joined-inheritance
    class selects its tables' join, whose FROM objects are the join and each table,
    and ``select(Engineer).filter_by(name=...)`` names the class's attribute once, not
    also the ``person`` table's column (AmbiguousColumnError on SQLAlchemy 2.1)."""
    inner: set[int] = set()
    for e in entities:
        if isinstance(e, Join) and "entity_namespace" in annotations_of(e):
            inner.update(id(deannotate(t)) for t in from_objects(e) if t is not e)
    if not inner:
        return entities
    return {e for e in entities
            if isinstance(e, Join) or id(deannotate(e)) not in inner}


class _DMLDescriptions:
    """``entity_description`` / ``returning_column_descriptions`` of ``insert(User)``,
    ``update(User)``, ``delete(User)``: the mapped class, as the ORM describes it.
    Mixed into Core's own DML states, which compile the statements unchanged."""

    @classmethod
    def get_entity_description(cls, statement: object) -> Any:
        from ..mapping.coercion import dml_mapper

        mapper = dml_mapper(statement)
        if mapper is None:
            return super().get_entity_description(statement)  # type: ignore[misc]  # Core's classmethod is declared on a Protocol-typed base
        c = mapper.class_
        return {"name": c.__name__, "type": c, "expr": c, "entity": c,
                "table": mapper.local_table}

    @classmethod
    def get_returning_column_descriptions(cls, statement: object) -> Any:
        from .orm_select import core_returning_descriptions

        found = core_returning_descriptions(statement)
        return found if found is not None else \
            super().get_returning_column_descriptions(statement)  # type: ignore[misc]  # Core's classmethod is declared on a Protocol-typed base


    # values() naming a composite attribute (``values(start=Point(1, 2))``,
    # ``{Edge.start: Point(1, 2)}``): one value per column of it
    @classmethod
    def _get_crud_kv_pairs(cls, statement: object, kv_iterator: object,
                           needs_to_be_cacheable: bool) -> Any:
        mapper = dml_mapper(statement)
        if mapper is not None:
            kv_iterator = expand_composite_pairs(mapper, kv_iterator, True)
        return super()._get_crud_kv_pairs(  # type: ignore[misc]  # (Core's DML state)
            statement, kv_iterator, needs_to_be_cacheable)

    @classmethod
    def _get_multi_crud_kv_pairs(cls, statement: Any, multi_kv_iterator: Any) -> Any:
        mapper = dml_mapper(statement)
        if mapper is not None:
            multi_kv_iterator = [dict(expand_composite_pairs(mapper, m.items(), True))
                                 for m in multi_kv_iterator]
        return super()._get_multi_crud_kv_pairs(  # type: ignore[misc]  # (Core's DML state)
            statement, multi_kv_iterator)


class DatamapperInsertState(_DMLDescriptions, InsertDMLState):
    pass


class DatamapperUpdateState(_DMLDescriptions, UpdateDMLState):
    pass


class DatamapperDeleteState(_DMLDescriptions, DeleteDMLState):
    pass


def install() -> None:
    """Register the plugin with Core (``wiring.wire()`` calls this once)."""
    install_select_plugin(PLUGIN_NAME, DatamapperSelectState)
    install_dml_plugin(PLUGIN_NAME, "insert", DatamapperInsertState)
    install_dml_plugin(PLUGIN_NAME, "update", DatamapperUpdateState)
    install_dml_plugin(PLUGIN_NAME, "delete", DatamapperDeleteState)
