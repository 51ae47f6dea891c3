"""``aliased()``: a mapped class over an alias of its table (or over a subquery).

An :class:`AliasedClass` stands for the class in statements: selecting it loads
objects of the class (through the identity map, so the same row gives the same
object as the plain class), its attributes are column expressions of the alias
(``alias.name == "ed"``), and it joins like a table (``select(User).join(alias,
User.id == alias.parent_id)``), which is what self-joins need.  Relationship
attributes of the alias join from the alias (``join(alias.addresses)``), and
``User.addresses.of_type(alias)`` joins the relationship to the alias.

Core sees it through ``__clause_element__``: the aliased selectable annotated
like a mapped class's table (see :mod:`..mapping.coercion`), so that
``sqlalchemy.select(alias)`` run by a Session returns objects too.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, cast, overload

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, Alias, Column, Join, and_, select
from sqlalchemy.exc import ArgumentError, InvalidRequestError, SAWarning
from sqlalchemy.sql import Select, visitors
from sqlalchemy.sql.elements import ClauseElement, ColumnClause, ColumnElement
from sqlalchemy.sql.selectable import FromClause
from sqlalchemy.sql.util import ClauseAdapter

from .._core import annotate, annotations_of, deannotate, gen_cache_key
from .._util.inspection import InspectionAttr
from ..mapping.attributes import OfType, QueryableAttribute, _JoinTarget, through_synonym
from ..mapping.coercion import ALIAS_KEY, ENTITY_KEY, EntityNamespace, mark_subject
from ..mapping.inheritance import (
    class_criterion,
    join_target,
    polymorphic_load_props,
    polymorphic_props,
)
from ..mapping.mapper import Mapper, _mapper_or_none, class_mapper
from ..mapping.properties import SUBCLASS_KEY
from ..mapping.relationship_clauses import ends_share_table, non_pair_criteria, target_tables

# annotation of the columns of an alias read through a join (with_polymorphic(): the
# tables' own columns; flat aliased(): the table aliases'): the join, which the SELECT
# names in FROM (core_plugin.with_alias_joins).  Being an annotation it is part of the
# column's cache key: an inner and an outer join of the same tables, or the plain
# class's column, compile to statements of their own in Core's compiled cache.
JOIN_FROM_KEY = "dm_join_from"


class _AliasNamespace(EntityNamespace):
    """``filter_by()`` names on an aliased entity: the alias's mapped attributes."""

    __slots__ = ("_alias",)

    def __init__(self, alias: AliasedClass) -> None:
        super().__init__(alias._dm_mapper)
        object.__setattr__(self, "_alias", alias)

    def __getattribute__(self, key: str) -> Any:
        alias = object.__getattribute__(self, "_alias")
        mapper = alias._dm_mapper
        if key in mapper._props:
            return getattr(alias, key)
        return EntityNamespace.__getattribute__(self, key)


class _AliasMarker:
    __slots__ = ("mapper", "entity_namespace")

    def __init__(self, alias: AliasedClass) -> None:
        self.mapper = alias._dm_mapper
        self.entity_namespace = _AliasNamespace(alias)


class _MappedSelectables:
    """The FROMs an alias's adapter replaces by its selectable: those of the mapper's
    class hierarchy (read when adapting: subclasses mapped later count) and the inner
    alias's, as ClauseAdapter's ``adapt_from_selectables``."""

    __slots__ = ("mapper", "inner")

    def __init__(self, mapper: Mapper, inner: AliasedClass | None) -> None:
        self.mapper = mapper
        self.inner = inner

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> Any:
        base = self.mapper
        while base.inherits is not None:
            base = base.inherits
        for m in base.self_and_descendants:
            yield m.persist_selectable
        if self.inner is not None:
            yield self.inner._dm_selectable


class AliasedClass:
    """A mapped class seen through an alias of its table; made by :func:`aliased`."""

    def __init__(self, mapper: Mapper, selectable: FromClause, name: str | None,
                 stands_for: Any = None, adapt_on_names: bool = False,
                 inner: AliasedClass | None = None) -> None:
        # stands_for: the entity a query's union()/from-subquery form reads through this
        # alias (rows and column_descriptions show that entity, not an alias)
        self._dm_stands_for = stands_for
        self.__name__ = f"aliased({mapper.class_.__name__})"
        # inner: aliased(alias, subquery) of another alias, whose columns the subquery
        # selects: a mapped column is first that alias's, then the subquery's column
        # derived from it (a subquery of two aliases of one table has both)
        self._dm_inner = inner
        self._dm_mapper = mapper
        self._dm_selectable = selectable
        self._dm_name = name
        # adapt_on_names: the selectable's columns stand for the mapped ones of the same
        # name (a subquery of literals or of another table), not only derived ones
        self._dm_on_names = adapt_on_names
        # only the class's own tables (and the inner alias's) and their columns are
        # replaced: a subquery or CTE that reads other tables too (users JOIN addresses)
        # must not stand for those in a column_property()'s correlated subquery (FROM
        # addresses became FROM the CTE: counts of the whole CTE), nor, matched by name,
        # may another class's column (users.id) become the selectable's "id"
        self._dm_adapter = ClauseAdapter(
            selectable, adapt_on_names=adapt_on_names,
            adapt_from_selectables=_MappedSelectables(mapper, inner))  # type: ignore[arg-type]  # an iterable computed when read, not a set
        self._dm_attrs: dict[str, object] = {}
        self._dm_annotated: object = None
        # the primary key columns the selectable lacks (aliased() over a subquery that
        # does not select them): its objects can't be loaded
        self._dm_missing_pk: list[str] = []

    def __clause_element__(self) -> Any:
        if self._dm_annotated is None:
            self._dm_annotated = mark_subject(annotate(self._dm_selectable,
                {ENTITY_KEY: self._dm_mapper, ALIAS_KEY: self,
                 "entity_namespace": _AliasMarker(self)}), self._dm_mapper)
        return self._dm_annotated

    # (the methods the rest of the package calls are named _dm_*: every other name is
    # the mapped class's, see __getattr__)
    def _dm_adapt(self, clause: Any) -> Any:
        """``clause`` with the mapped table's columns replaced by the alias's."""
        if hasattr(clause, "__clause_element__"):
            clause = clause.__clause_element__()
        if self._dm_inner is not None:
            clause = self._dm_inner._dm_adapt(clause)
        return self._dm_adapter.traverse(clause)

    def _dm_column_for(self, column: object) -> Any:
        """The alias's column for a mapped ``column`` (an expression: adapted)."""
        found = own_column(self, column)
        return found if found is not None else self._dm_adapt(column)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            return _class_dunder(self, key)
        if key.startswith("_dm_"):
            raise AttributeError(key)
        attrs = self.__dict__.get("_dm_attrs")
        if attrs is None:
            raise AttributeError(key)
        found = attrs.get(key)
        if found is not None:
            return found
        mapper = self._dm_mapper
        if not mapper.configured:
            class_mapper(mapper.class_)
        prop = mapper._props.get(key)
        if prop is None:
            # a descriptor of the class that is not a mapped property (a hybrid, a
            # classmethod): bound to this alias, so that its expression reads the
            # alias's columns.  Private names stay unresolved: Core probes objects for
            # private attributes, which a mapped class's namesakes must not answer.
            for base in () if key.startswith("_") else mapper.class_.__mro__:
                if key in base.__dict__:
                    value = base.__dict__[key]
                    getter = getattr(type(value), "__get__", None)
                    return value if getter is None else getter(value, None, self)
            raise AttributeError(
                f"{self!r} has no attribute {key!r}: {mapper.class_.__name__} maps "
                f"{', '.join(sorted(mapper._props))}"
            )
        if prop.is_synonym:  # the attribute it stands for, of this alias
            found = getattr(self, cast(Any, prop).name)
            syn_factory = cast(Any, prop).comparator_factory
            if syn_factory is not None and isinstance(found, ColumnElement):
                # the synonym's own operators, over the alias's column
                found = syn_factory(cast(Any, prop).target(), mapper, None, column=found)
        elif prop.is_relationship:
            found = AliasedRelationship(self, getattr(mapper.class_, key))
        elif getattr(prop, "is_composite", False):  # its comparator, over our columns
            found = cast(Any, prop).comparator_for(alias=self)
        else:
            col = self._dm_column_for(prop.columns[0])
            join_from = self._dm_selectable if isinstance(self._dm_selectable, Join) \
                else None
            # a copy marked as naming the class (get_bind(mapper=...) of Core statements)
            if getattr(col, "key", None) == key:
                ann: dict[str, object] = {"dm_attr": key}
                if mapper.inherits is not None:  # (see mapping.properties.SUBCLASS_KEY)
                    ann[SUBCLASS_KEY] = mapper
                if join_from is not None:
                    ann[JOIN_FROM_KEY] = join_from
                found = annotate(col, ann)
            else:
                if join_from is not None:
                    col = annotate(col, {JOIN_FROM_KEY: join_from})
                found = col.label(key)
            mark_subject(found, mapper, self)
            factory = getattr(prop, "comparator_factory", None)
            if factory is not None:  # the property's own operators, over our column
                found = factory(prop, mapper, None, column=found)
        attrs[key] = found
        return found

    def __repr__(self) -> str:
        name = f" {self._dm_name!r}" if self._dm_name else ""
        return f"<aliased({self._dm_mapper.class_.__name__}){name}>"


def _class_dunder(alias: AliasedClass, key: str) -> Any:
    """A ``__name__`` of the mapped class read on an alias: ``__mro__`` (class-level
    descriptors such as hybrids walk their owner's), and plain values the class declares
    (``__tablename__``, ``__table__``, ``__mapper__``), as the class answers them.
    Methods and protocol hooks (``__deepcopy__``, ``__setstate__``) stay unresolved:
    copy and pickle probe objects for them."""
    mapper = alias.__dict__.get("_dm_mapper")
    if mapper is not None:
        if key == "__mro__":
            return mapper.class_.__mro__
        for base in mapper.class_.__mro__[:-1]:
            if key in base.__dict__:
                value = base.__dict__[key]
                if not hasattr(type(value), "__get__"):
                    return value
                break
    raise AttributeError(key)


class AliasedInsp(InspectionAttr):
    """What ``inspect(aliased(User))`` answers: the alias's mapper, selectable and name
    (an :class:`AliasedClass` itself answers mapped attribute names only: ``ua.name``
    is a column of the alias)."""

    is_aliased_class = True

    def __init__(self, entity: AliasedClass) -> None:
        self.entity = entity

    @property
    def mapper(self) -> Mapper:
        return self.entity._dm_mapper

    @property
    def class_(self) -> type:
        return self.entity._dm_mapper.class_

    @property
    def selectable(self) -> FromClause:
        return self.entity._dm_selectable

    @property
    def name(self) -> str | None:
        return self.entity._dm_name or getattr(self.entity._dm_selectable, "name", None)

    @property
    def with_polymorphic_mappers(self) -> list[Mapper]:
        return list(getattr(self.entity, "_dm_poly_mappers", ()) or ())

    def __clause_element__(self) -> Any:
        return self.entity.__clause_element__()

    def _gen_cache_key(self, anon_map: object, bindparams: list[Any]) -> Any:
        # Core keys annotations holding it (SQLAlchemy's hybrids annotate with it)
        return ("dm_aliased_insp", self.entity.__clause_element__()._gen_cache_key(
            anon_map, bindparams))

    def __repr__(self) -> str:
        return f"<AliasedInsp of {self.entity!r}>"


def inspect_alias(entity: AliasedClass) -> AliasedInsp:
    """``inspect()`` of an alias: its :class:`AliasedInsp` (made once per alias)."""
    found: AliasedInsp | None = entity.__dict__.get("_dm_insp")
    if found is None:
        found = entity.__dict__["_dm_insp"] = AliasedInsp(entity)
    return found


class AliasedRelationship(_JoinTarget):
    """A relationship attribute of an :class:`AliasedClass`: joins start at the alias."""

    __slots__ = ("source", "attr", "prop", "key")

    def __init__(self, source: AliasedClass, attr: QueryableAttribute) -> None:
        self.source = source
        self.attr = attr
        self.prop = attr.prop
        self.key = attr.key

    def of_type(self, target: object) -> OfType:
        return OfType(self, target)

    def and_(self, *criteria: object) -> OfType:
        return OfType(self, None, criteria)

    def __clause_element__(self) -> Any:
        return self.source._dm_adapt(self.attr.__clause_element__())

    def _gen_cache_key(self, anon_map: object, bindparams: list[Any]) -> Any:
        return ("dm_aliased_relationship",
                gen_cache_key(self.source.__clause_element__(), anon_map, bindparams),
                gen_cache_key(self.attr, anon_map, bindparams))

    # comparisons: the class attribute's, with the parent's columns those of the alias
    def __eq__(self, other: object) -> Any:
        return self.source._dm_adapt(self.attr == other)

    def __ne__(self, other: object) -> Any:
        return self.source._dm_adapt(self.attr != other)

    __hash__ = object.__hash__

    def any(self, criterion: object = None, **kwargs: object) -> Any:
        return self.source._dm_adapt(self.attr.any(criterion, **kwargs))

    def has(self, criterion: object = None, **kwargs: object) -> Any:
        return self.source._dm_adapt(self.attr.has(criterion, **kwargs))

    def contains(self, other: object) -> Any:
        return self.source._dm_adapt(self.attr.contains(other))

    def __repr__(self) -> str:
        return f"<{self.source!r}.{self.key}>"


@overload
def aliased(element: FromClause, alias: None = None, name: str | None = None,
            flat: bool = False, adapt_on_names: bool = False) -> FromClause: ...


@overload
def aliased(element: Any, alias: Any = None, name: str | None = None, flat: bool = False,
            adapt_on_names: bool = False) -> AliasedClass: ...


def aliased(element: object, alias: object = None, name: str | None = None, flat: bool = False,
            adapt_on_names: bool = False) -> AliasedClass | FromClause:
    """``element`` (a mapped class) over an anonymous or named alias of its table, or
    over ``alias`` (a subquery / select of the class's table).  A plain Core selectable
    (a Table, a join of mapped classes) gives its own alias (a join: a subquery of it,
    columns labelled ``<table>_<column>``)."""
    if not isinstance(element, AliasedClass) and isinstance(element, FromClause) and \
            alias is None and _mapper_or_none(element) is None:
        return _core_alias(element, name, adapt_on_names)
    mapper, base = _mapper_and_selectable(element)
    if alias is None and isinstance(element, PolymorphicEntity):
        # an alias of a with_polymorphic(): the same subclasses, read from an alias of
        # its FROM (a subquery of it; flat=True: a join of aliases of its tables)
        return PolymorphicEntity(mapper, _own_alias(base, name, flat), name,
                                 element._dm_poly_mappers)
    if alias is None:
        sel = _own_alias(base, name, flat)
    else:
        sel = _given_alias(mapper, alias, name)
        inner = element if isinstance(element, AliasedClass) else None
        out = AliasedClass(mapper, sel, name, adapt_on_names=adapt_on_names, inner=inner)
        # usable for its columns (alias.email in ORDER BY ...), refused as an entity
        out._dm_missing_pk = [c.key for c in mapper.primary_key
                              if own_column(out, c) is None]
        return out
    if isinstance(element, AliasedClass) and element._dm_on_names:
        # an alias of an adapt_on_names alias: its columns too stand for the mapped ones
        # by name (the subquery's, derived from no table column)
        adapt_on_names = True
    return AliasedClass(mapper, sel, name, adapt_on_names=adapt_on_names)


def _core_alias(element: FromClause, name: str | None, adapt_on_names: bool) -> FromClause:
    """aliased() of a plain Core selectable: its own alias (a join: a subquery of it,
    columns labelled ``<table>_<column>``)."""
    if adapt_on_names:
        raise ArgumentError(
            f"Can't use adapt_on_names with aliased({element!r}): adapt_on_names only "
            "applies to ORM elements (a mapped class or aliased() entity)"
        )
    if isinstance(element, Join):
        return select(element).set_label_style(
            LABEL_STYLE_TABLENAME_PLUS_COL).subquery(name)
    return element.alias(name)


def _mapper_and_selectable(element: object) -> tuple[Mapper, object]:
    """The mapper of a mapped class or aliased() entity, and what an alias of it
    aliases: the entity's selectable, or the class's table (the join of its tables for
    a joined-table subclass or a class mapped to a join)."""
    if isinstance(element, AliasedClass):
        return element._dm_mapper, element._dm_selectable
    found = _mapper_or_none(element)
    if found is None:
        raise ArgumentError(
            f"Can't make aliased({element!r}): it is not a mapped class; pass a class "
            "mapped with declarative_base()/registry (or an aliased() of one)"
        )
    mapper = found if found.configured else class_mapper(element)
    if isinstance(mapper.persist_selectable, Join):
        return mapper, mapper.persist_selectable
    return mapper, mapper.local_table


def _own_alias(base: Any, name: str | None, flat: bool) -> Any:
    if isinstance(base, Join):
        # flat=True: the join of an alias of each table; else a subquery of the join
        return _flat_alias(base, name) if flat else select(base).set_label_style(
            LABEL_STYLE_TABLENAME_PLUS_COL).subquery(name)
    return base.alias(name)


def _given_alias(mapper: Mapper, alias: object, name: str | None) -> FromClause:
    """The selectable given as aliased()'s second argument (a select(): its subquery)."""
    if hasattr(alias, "__clause_element__") and not isinstance(alias, AliasedClass):
        alias = alias.__clause_element__()
    if isinstance(alias, Select):
        return alias.subquery(name)
    if isinstance(alias, FromClause):
        return alias
    raise ArgumentError(
        f"Can't make aliased({mapper.class_.__name__}, {alias!r}): the second "
        "argument must be a selectable (a Table alias, a subquery or a select() "
        f"of {mapper._table_name!r}), not {type(alias).__name__}"
    )


class PolymorphicEntity(AliasedClass):
    """A mapped class together with subclasses whose columns the same SELECT reads; made
    by :func:`with_polymorphic`.  Its attributes are the base class's
    (``poly.name``); ``poly.Manager`` is the subclass ``Manager`` seen through the same
    FROM (``poly.Manager.manager_name``).  Selected, its rows load as objects of the
    class each row's discriminator names, with the subclass columns already loaded."""

    def __init__(self, mapper: Mapper, selectable: FromClause, name: str | None,
                 mappers: list[Mapper]) -> None:
        super().__init__(mapper, selectable, name)
        self._dm_poly_mappers = mappers
        self._dm_poly_props = polymorphic_props(mapper, mappers)
        # a join of tables (or of aliases of them): a SELECT of the entity names it in
        # FROM (a subquery is the FROM of its own columns)
        self._dm_poly_from = selectable if isinstance(selectable, Join) else None

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            return _class_dunder(self, key)
        if key.startswith("_dm_"):
            raise AttributeError(key)
        attrs = self.__dict__.get("_dm_attrs")
        if attrs is not None and key not in attrs and key not in self._dm_mapper._props:
            for m in self._dm_poly_mappers:
                if m.class_.__name__ == key:
                    sub = AliasedClass(m, self._dm_selectable, self._dm_name)
                    # its rows are the with_polymorphic()'s: no discriminator criterion
                    sub.__dict__["_dm_poly_member"] = True
                    attrs[key] = sub
                    return sub
        return super().__getattr__(key)

    def __repr__(self) -> str:
        subs = ", ".join(m.class_.__name__ for m in self._dm_poly_mappers)
        return f"<with_polymorphic({self._dm_mapper.class_.__name__}, [{subs}])>"


# -- what the rest of the query layer reads of an alias ------------------------------------
# (an alias's own fields are named _dm_*: its public namespace is the mapped class's
# attribute names, see AliasedClass.__getattr__)
def check_loadable(alias: AliasedClass) -> None:
    """Raise when ``alias``'s selectable can't give objects (no primary key)."""
    missing = alias._dm_missing_pk
    if missing:
        hint = "name its columns like the mapped ones" if alias._dm_on_names else \
            "select the mapped table's columns in it, or pass adapt_on_names=True " \
            "to match its columns by name"
        raise ArgumentError(
            f"Can't load {alias._dm_mapper.class_.__name__} objects from {alias!r}: its "
            f"selectable has no column for the primary key ({', '.join(missing)}); "
            f"{hint}"
        )


def alias_load_props(alias: AliasedClass) -> object:
    """The column properties a SELECT of ``alias`` reads: those whose column its
    selectable has (a subquery may leave some out: they stay unloaded, and load on
    first access), or None when that is all of them."""
    cache = alias.__dict__
    if "_dm_props" not in cache:
        mapper = alias._dm_mapper
        base = mapper._load_props if mapper._poly is None else \
            polymorphic_load_props(mapper)
        keep = tuple(p for p in base if not isinstance(p.columns[0], Column)
                     or own_column(alias, p.columns[0]) is not None)
        cache["_dm_props"] = None if len(keep) == len(base) else keep
    return cache["_dm_props"]


def alias_name(alias: AliasedClass) -> str | None:
    """The name given to ``aliased(..., name=)`` (None: anonymous)."""
    return alias._dm_name


def stands_for(alias: AliasedClass) -> object:
    """The entity a query's union()/from-subquery form reads through ``alias`` (rows
    and column descriptions show it), or None."""
    return alias._dm_stands_for


def polymorphic_parts(poly: PolymorphicEntity) -> tuple[list[Mapper], object, object]:
    """A with_polymorphic() entity's (mappers, column properties its SELECT reads, the
    join it reads them from or None)."""
    return poly._dm_poly_mappers, poly._dm_poly_props, poly._dm_poly_from


def with_polymorphic(base: object, classes: object, selectable: object = False, flat: bool = False,
                     polymorphic_on: object = None, aliased: bool = False,
                     innerjoin: bool = False, adapt_on_names: bool = False,
                     name: str | None = None) -> PolymorphicEntity:
    """``base`` (a mapped class of an inheritance hierarchy) with the columns of the
    subclasses ``classes`` (``"*"``: all of them) read by the same SELECT: their tables
    are LEFT OUTER JOINed to the base's (``innerjoin=True``: inner joins).
    ``aliased=True`` reads it from a subquery of that join, ``flat=True`` from a join
    of an alias of each table (what a second use of it in one statement needs)."""
    from ..mapping.inheritance import polymorphic_from, resolve_polymorphic

    if polymorphic_on is not None:
        raise ArgumentError(
            "Can't use with_polymorphic(..., polymorphic_on=...): datamapper reads the "
            "discriminator the mapping names; map it with polymorphic_on= instead"
        )
    mapper = _mapper_or_none(base)
    if mapper is None or isinstance(base, AliasedClass):
        raise ArgumentError(
            f"Can't make with_polymorphic({base!r}, ...): pass the mapped base class of an "
            "inheritance hierarchy"
        )
    if not mapper.configured:
        mapper = class_mapper(base)
    spec: object = list(classes) if isinstance(classes, (list, tuple)) else (
        "*" if classes == "*" else [classes])
    mappers = resolve_polymorphic(mapper, spec, strict=True)
    if selectable is not False and selectable is not None:
        sel: Any = _polymorphic_selectable(selectable, name)
    else:
        # a mapping that names its own polymorphic selectable gives every subclass's
        # rows (SQLAlchemy reads that selectable, whatever innerjoin says): outer joins
        sel = polymorphic_from(mapper, mappers,
                               innerjoin and mapper._poly_selectable is None)
    if aliased or flat:
        sel = _own_alias(sel, name, flat)
    missing = [c.key for c in mapper.primary_key if _column_in(sel, c, False) is None]
    if missing:
        raise ArgumentError(
            f"Can't make with_polymorphic({mapper.class_.__name__}, ...): the selectable "
            f"has no column for the primary key ({', '.join(missing)})"
        )
    return PolymorphicEntity(mapper, sel, name, mappers)


def _polymorphic_selectable(selectable: object, name: str | None) -> FromClause:
    """The ``selectable=`` of with_polymorphic() as a FROM (a select(): its subquery)."""
    if hasattr(selectable, "__clause_element__"):
        selectable = selectable.__clause_element__()
    if isinstance(selectable, Select):
        selectable = selectable.subquery(name)
    if not isinstance(selectable, FromClause):
        raise ArgumentError(
            f"Can't use selectable={selectable!r} in with_polymorphic(): pass a table, "
            "join or subquery holding the columns of the classes"
        )
    return selectable


def _flat_alias(join: Any, name: str | None = None) -> Any:
    """A join of aliases of the tables of ``join`` (same shape, ON clauses naming the
    aliases): anonymous, or ``<name>_<table>`` when ``name`` is given."""
    if not isinstance(join, Join):
        # (an anonymous alias's name is a placeholder: that of the table it aliases)
        table = join.element if isinstance(join, Alias) else join
        return join.alias(f"{name}_{table.name}" if name and hasattr(table, "name") else None)
    left = _flat_alias(join.left, name)
    right = _flat_alias(join.right, name)
    on = ClauseAdapter(left).traverse(join.onclause)
    on = ClauseAdapter(right).traverse(on)
    return left.join(right, on, isouter=join.isouter, full=join.full)


def own_column(alias: AliasedClass, column: Any) -> object:
    """The column of ``alias``'s selectable that a mapped ``column`` stands for, or
    None."""
    inner = alias._dm_inner
    if inner is not None:
        column = inner._dm_column_for(column)
    return _column_in(alias._dm_selectable, column, alias._dm_on_names)


def _column_in(sel: FromClause, column: Any, on_names: bool) -> object:
    found = sel.corresponding_column(column)
    if found is None and on_names:
        found = sel.c.get(column.key)
        if found is None:
            found = sel.c.get(column.name)
    return found


def relationship_join(target: object, onclause: object) -> list[tuple[object, object]] | None:
    """The (target, ON clause) steps of a join along a relationship whose either end is
    an alias (``join(alias.addresses)``, ``join(User.addresses.of_type(alias))``,
    ``join(alias, User.addresses)``, with any ``and_()`` criteria), or None when no
    alias is involved."""
    spec = onclause if onclause is not None else target
    dest: Any = None
    if isinstance(spec, OfType):
        dest = spec.target
        spec = spec.attr
    elif isinstance(target, AliasedClass) and onclause is not None:
        dest = target
    found = _relationship_of(spec)
    if found is None:
        return None
    if found[0] is None and not isinstance(dest, AliasedClass):
        from ..mapping.mapper import configure_mappers

        configure_mappers()
        if cast(Any, found[1].prop).target_entity is None:
            return None
        # relationship(aliased(Child, selectable)): to the alias, as of_type(alias)
    return relationship_steps(target, onclause)


def _relationship_of(spec: object) -> tuple[AliasedClass | None, QueryableAttribute] | None:
    """(the aliased() entity it is read from or None, the class's attribute) of a
    relationship attribute named in a join, or None for anything else."""
    spec = through_synonym(spec)
    if isinstance(spec, AliasedRelationship):
        return spec.source, spec.attr
    if isinstance(spec, QueryableAttribute) and spec.prop.is_relationship:
        return None, spec
    return None


def subclass_table_join(target: object, onclause: object, froms: list[Any]
                        ) -> tuple[Any, Any] | None:
    """(table, ON clause) of the join a join along a relationship of a joined-table
    subclass needs first when the statement reads its base's tables but not the
    subclass's (``select(Company).join(Company.employees).join(Engineer.machines)``:
    engineers, joined to people on the inheritance condition); None otherwise."""
    spec = onclause if onclause is not None else target
    if isinstance(spec, OfType):
        spec = spec.attr
    found = _relationship_of(spec)
    if found is None or found[0] is not None:
        return None
    m = found[1].prop.parent
    parent = m.inherits
    if parent is None or m.single or m.concrete or m.inherit_condition is None:
        return None
    tables = {deannotate(t) for f in froms for t in _tables_of(f)}
    if m.local_table in tables or not all(t in tables for t in parent.tables):
        return None
    return m.local_table, m.inherit_condition


def overlapping_join_alias(target: object, onclause: object, froms: list[Any]
                           ) -> tuple[OfType, AliasedClass] | None:
    """A plain join along a relationship (``join(Manager.engineers)``,
    ``join(Engineer, Manager.engineers)``) to a joined-table subclass one of whose tables
    the join's left side (the relationship's class) or ``froms`` (the statement's
    select_from() FROMs and earlier join targets) read already (``people``, read by
    ``Manager``): the join must read the target through an alias of its tables
    (``people AS people_1 JOIN engineers AS engineers_1``), else its tables would be
    named twice in FROM, as SQLAlchemy does it.  Gives (the join target reading the
    alias, the alias), or None for any other join."""
    if isinstance(target, OfType) or isinstance(onclause, OfType):
        return None
    spec = through_synonym(onclause if onclause is not None else target)
    if not (isinstance(spec, QueryableAttribute) and spec.prop.is_relationship):
        return None
    from ..mapping.mapper import configure_mappers

    configure_mappers()
    rel: Any = spec.prop
    if onclause is not None:
        given = _given_target(target)
        if not isinstance(given, type):
            return None
        m = _mapper_or_none(given)
    else:
        m = rel.mapper
    if m is None or m.inherits is None or m.single or m.concrete or m is rel.parent:
        return None  # (a join of a class to itself is left as it is)
    mine = {deannotate(t) for t in _tables_of(join_target(m))}
    seen = {deannotate(t) for f in (join_target(rel.parent), *froms) for t in _tables_of(f)}
    if not (mine & seen):
        return None
    alias = aliased(m.class_, flat=True)
    return OfType(spec, alias), alias


def overlapping_class_alias(target: object, onclause: object, froms: list[Any]
                            ) -> AliasedClass | None:
    """A join to a joined-table subclass with an ON clause of its own
    (``join(C, C.bid == B.id)``) or none (``query(A).join(B)``, ON from the foreign
    keys) one of whose tables ``froms`` read already: an alias
    of its tables to read it through, as :func:`overlapping_join_alias` gives for a
    join along a relationship; None for any other join."""
    if not isinstance(target, type) or not (onclause is None
                                            or isinstance(onclause, ColumnElement)):
        return None
    m = _mapper_or_none(target)
    if m is None or m.inherits is None or m.single or m.concrete:
        return None
    mine = {deannotate(t) for t in _tables_of(join_target(m))}
    seen = {deannotate(t) for f in froms for t in _tables_of(f)}
    return aliased(m.class_, flat=True) if mine & seen else None


def warn_overlapping_alias(aliases: tuple[tuple[Mapper, AliasedClass], ...]) -> None:
    """The warning SQLAlchemy gives when it reads a join's target through an alias of
    its own making (:func:`overlapping_join_alias`), given as the statement is
    compiled."""
    for m, _alias in aliases:
        name = m.class_.__name__
        warnings.warn(
            f"An alias is being generated automatically against joined entity "
            f"Mapper[{name}({m.local_table.name})] due to overlapping tables: a join "
            f"along a relationship to {name} reads it through an alias of its tables "
            f"(they overlap the tables the join starts from), and the statement's "
            f"criteria and columns naming {name} name the alias; join to "
            f"aliased({name}, flat=True) with of_type() to say so", SAWarning,
            stacklevel=3)


def overlapping_alias_adapter(aliases: tuple[tuple[Mapper, AliasedClass], ...]
                              ) -> Callable[[Any], Any]:
    """What makes a clause naming the attributes of a class joined through an alias by
    :func:`overlapping_join_alias` (``Engineer.name``) name the alias's columns; the
    attributes of other classes over the same tables (``Manager.name``) and the tables
    themselves stay."""
    by_mapper = {id(m): a._dm_selectable for m, a in aliases}
    # a column of a table only the aliased class has (engineers, not people) that no
    # attribute names (a relationship comparison's Engineer.reports_to == None):
    # the alias's too
    by_table = {t: a._dm_selectable for m, a in aliases
                for t in m.tables if t not in m.base_mapper.tables}

    def replace(element: Any) -> Any:
        if not isinstance(element, ColumnElement):  # (tables, subqueries stay)
            return None
        m = annotations_of(element).get(SUBCLASS_KEY)
        if m is not None:
            sel = by_mapper.get(id(m))
        else:
            table = getattr(element, "table", None)
            sel = by_table.get(deannotate(table)) if isinstance(table, FromClause) \
                else None
        return sel.corresponding_column(cast(Any, element)) if sel is not None else None

    def adapt(clause: Any) -> Any:
        if not isinstance(clause, ClauseElement) and hasattr(clause, "__clause_element__"):
            clause = clause.__clause_element__()
        if not isinstance(clause, ClauseElement):
            return clause
        out: Any = visitors.replacement_traverse(clause, {}, replace)  # type: ignore[call-overload]  # replace is typed Any -> Any: no overload of Core's matches it
        return out

    return adapt


def _tables_of(from_: Any) -> list[Any]:
    from sqlalchemy.sql.util import find_tables

    return list(find_tables(from_)) if isinstance(from_, FromClause) else []


def _given_target(target: object) -> object:
    """The class or aliased() entity a join target given beside a relationship stands
    for: Core's join() keeps the target as coerced, the marked table of the class or
    alias."""
    ann = annotations_of(target)
    if ann.get(ALIAS_KEY) is not None:
        return ann[ALIAS_KEY]
    if ann.get(ENTITY_KEY) is not None:
        return ann[ENTITY_KEY].class_
    return target


def _single_table_criterion(dest: object, dest_sel: AliasedClass | None) -> tuple[object, ...]:
    """A single-table subclass at the end of a relationship join (the relationship's
    target, or of_type(Sub)): the criterion that only its rows join."""
    dest_mapper = dest_sel._dm_mapper if dest_sel is not None else _mapper_or_none(dest)
    if dest_mapper is not None and dest_mapper.inherits is not None and dest_mapper.single \
            and not (dest_sel is not None and dest_sel.__dict__.get("_dm_poly_member")):
        crit = class_criterion(dest_mapper)
        if crit is not None:
            return (crit,)
    return ()


def relationship_steps(target: object, onclause: object) -> list[tuple[Any, Any]] | None:
    """The (target, ON clause) steps of any join along a relationship, or None when
    neither ``target`` nor ``onclause`` is one: ``join(User.addresses)``,
    ``join(Address, User.addresses)``, ``join(alias.addresses)``,
    ``join(User.addresses.of_type(alias))``, ``join(User.addresses.and_(crit))``;
    a many-to-many gives two steps (the secondary table, then the target)."""
    spec = onclause if onclause is not None else target
    dest: Any = None
    criteria: tuple[Any, ...] = ()
    if isinstance(spec, OfType):
        dest, criteria, spec = spec.target, spec.criteria, spec.attr
    found = _relationship_of(spec)
    if found is None:
        return None
    source, attr = found
    if dest is None and onclause is not None:
        # join(Address, User.addresses) / join(alias, User.addresses)
        dest = _given_target(target)
    from ..mapping.mapper import configure_mappers

    configure_mappers()
    rel: Any = attr.prop
    check_join_target(rel, dest)
    dest_sel: AliasedClass | None = None
    if dest is None and rel.target_entity is not None:
        # relationship(aliased(Child, selectable)): the rows are the selectable's
        dest = rel.target_entity
    if isinstance(dest, AliasedClass):
        dest_sel = dest
    elif dest is None:
        dest = rel.mapper.class_
    steps = _steps(rel, source, dest, dest_sel)
    criteria = (*criteria, *_single_table_criterion(dest, dest_sel))
    if criteria:
        last_dest, last_on = steps[-1]
        extra = [dest_sel._dm_adapt(c) if dest_sel is not None else c for c in criteria]
        if len(steps) == 2 and not isinstance(rel.secondary, Join):
            # criteria naming the secondary table: the alias of it this join reads
            to_secondary = ClauseAdapter(steps[0][0])
            extra = [to_secondary.traverse(c) for c in extra]
        steps[-1] = (last_dest, and_(last_on, *extra))
    return steps


def check_join_target(rel: Any, dest: object) -> None:
    """Refuse a join target given beside a relationship (``join(Dingaling,
    User.addresses)``) that is not an entity of the relationship's target hierarchy:
    the relationship's join condition names the other table, and the database would
    refuse the statement (or join the wrong rows).  A subclass, a base class, an
    aliased() or with_polymorphic() entity of them, a Table, are accepted."""
    if dest is None:
        return
    m = dest._dm_mapper if isinstance(dest, AliasedClass) else \
        _mapper_or_none(dest) if isinstance(dest, type) else None
    if m is None or m.common_parent(rel.mapper):
        return
    raise InvalidRequestError(
        f"Can't join to {_entity_name(dest)} along {rel.parent.class_.__name__}.{rel.key}: "
        f"the relationship leads to {rel.mapper.class_.__name__}, and its join condition "
        f"does not name {m.class_.__name__}'s table; join to "
        f"{rel.mapper.class_.__name__} (or an alias or subclass of it), or give the "
        "relationship that leads to the target")


def check_relationship_join(target: object, onclause: object, left: object = None) -> None:
    """Refuse a join along a relationship whose given target (see
    :func:`check_join_target`) or left side (``join_from(User, Address,
    Order.address)``: the relationship starts at Order) is not of its classes."""
    if onclause is None or isinstance(onclause, OfType):
        return
    found = _relationship_of(onclause)
    if found is None:
        return
    source, attr = found
    rel: Any = attr.prop
    if target is not None and not isinstance(target, tuple):
        check_join_target(rel, _given_target(target))
    if left is None:
        return
    given = _given_target(left)
    if isinstance(given, AliasedClass) or source is not None:
        # an alias's relationship joins from that alias, a class's from the class: the
        # join condition names the one's columns, and the FROM would lack them
        if given is not source:
            starts = repr(source).strip("<>") if source is not None else \
                rel.parent.class_.__name__
            raise InvalidRequestError(
                f"Can't join from {_entity_name(given)} along {starts}.{rel.key}: the "
                f"relationship's join condition names the columns of {starts}, not those "
                f"of {_entity_name(given)}; join from {starts}, or name the relationship "
                f"of the left side ({_left_attr_hint(given, rel.key)})")
        return
    m = _mapper_or_none(given)
    if m is not None and not m.common_parent(rel.parent):
        raise InvalidRequestError(
            f"Can't join from {m.class_.__name__} along "
            f"{rel.parent.class_.__name__}.{rel.key}: the relationship starts at "
            f"{rel.parent.class_.__name__}, whose table its join condition names; join "
            f"from {rel.parent.class_.__name__} (or name a relationship of "
            f"{m.class_.__name__})")


def _entity_name(dest: object) -> str:
    return dest.__name__ if isinstance(dest, type) else str(dest).strip("<>")


def _left_attr_hint(left: object, key: str) -> str:
    if isinstance(left, AliasedClass):
        return f"the alias's own attribute: alias.{key}"
    return f"{_entity_name(left)}.{key}"


def plain_join_key(target: object, onclause: object, from_: object, flags: object) -> tuple[int, int, str] | None:
    """What identifies a plain join along a relationship (``join(User.orders)``, or of
    an alias's relationship; no of_type()/and_(), no explicit left): joining it again
    adds nothing, as in SQLAlchemy.  None for any other join."""
    if onclause is not None or from_ is not None or isinstance(target, OfType):
        return None
    spec = through_synonym(target)
    if isinstance(spec, AliasedRelationship):
        return (id(spec.prop), id(spec.source), repr(flags))
    if isinstance(spec, QueryableAttribute) and spec.prop.is_relationship:
        return (id(spec.prop), id(spec.class_), repr(flags))
    return None


def relationship_join_source(target: object, onclause: object) -> Any:
    """The left side of a join along a relationship: the alias a relationship of an
    ``aliased()`` entity starts at, else the class the relationship belongs to (so
    ``select(Address).select_from(User).join(Address.user)`` joins from Address, and
    a statement whose WHERE already names the target's alias still knows its left)."""
    spec = onclause if onclause is not None else target
    if isinstance(spec, OfType):
        spec = spec.attr
    spec = through_synonym(spec)
    if isinstance(spec, AliasedRelationship):
        return spec.source
    return spec.class_


def join_dest(dest: Any) -> Any:
    """What a relationship join's destination ``dest`` (a step of
    :func:`relationship_steps`) joins in FROM: for a class whose mapper reads the tables
    of its mapper-level with_polymorphic subclasses, that join (the FROM its entity
    selects from, one object); else ``dest`` itself."""
    if isinstance(dest, type):
        m = _mapper_or_none(dest)
        if m is not None and m._poly is not None:
            target = join_target(m)
            if target is not m.persist_selectable:
                return target
    return dest


def _steps(rel: Any, source: AliasedClass | None, dest: object,
           dest_sel: AliasedClass | None) -> list[tuple[Any, Any]]:
    def src(clause: object) -> Any:
        return source._dm_adapt(clause) if source is not None else clause

    def dst(clause: object) -> Any:
        return dest_sel._dm_adapt(clause) if dest_sel is not None else clause

    if rel.secondary is not None:
        # the secondary table sits between: each join condition touches one end
        sec, pj, sj = rel.secondary_join_parts()
        return [(sec, src(pj)), (dest, dst(sj))]
    if rel.parent.local_table is rel.mapper.local_table:
        # self-referential: adapt each side of the key pairs on its own
        def side(col: object, alias: AliasedClass | None) -> Any:
            return alias._dm_column_for(col) if alias is not None else col

        if rel._remote_occurrences:
            # one column on both sides: each occurrence goes to its own side
            def fn(element: object, **kw: object) -> Any:
                if isinstance(element, Column):
                    remote = rel.is_remote_occurrence(element)
                    return side(deannotate(element), dest_sel if remote else source)
                return None

            on: object = visitors.replacement_traverse(
                rel.primaryjoin, {}, fn)
            return [(dest, on)]

        crit = [side(lc, source) == side(rc, dest_sel) for lc, rc in rel.local_remote_pairs]
        alt = rel.target_from

        def by_side(element: object, **kw: object) -> Any:
            # in a criterion besides the key pairs: the columns standing for the related
            # row (remote_side, a column of relationship(aliased(Node, selectable))'s
            # own) are the target alias's, the others the source's
            if isinstance(element, ColumnClause) and element.table is not None:
                if element.table is alt or rel.is_remote_occurrence(element):
                    return side(element, dest_sel)
                if isinstance(element, Column):
                    return side(element, source)
            return None

        crit.extend(visitors.replacement_traverse(extra, {}, by_side) for extra in
                    non_pair_criteria(rel.primaryjoin, list(rel.local_remote_pairs)))
        return [(dest, and_(*crit))]
    if ends_share_table(rel):
        # the two ends share a table (Person.manager -> Manager(Person)): the shared
        # table's columns in the condition are the parent's, the others the target's
        # (adapting the whole condition to either alias would join a row to itself)
        targets = target_tables(rel)

        def pick(element: object, **kw: object) -> Any:
            if isinstance(element, Column):
                if element.table in targets:
                    return dest_sel._dm_column_for(element) if dest_sel is not None else None
                return source._dm_column_for(element) if source is not None else None
            return None

        return [(dest, visitors.replacement_traverse(rel.primaryjoin, {}, pick))]
    return [(dest, dst(src(rel.primaryjoin)))]
