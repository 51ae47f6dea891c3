"""What a query selects: mapped classes, mapped attributes, Core columns.

Callers: ``Query``, ``orm_select.py`` and the session's execution of ORM
``select()`` statements.  :class:`RowLayout` (made by :func:`entity_layout` /
:func:`entity_columns`) lays the entities out as Core columns and holds the
loaders that turn each row back into objects or values (``bundle.py`` reads a
``Bundle``'s value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, Table
from sqlalchemy.exc import ArgumentError, CompileError, InvalidRequestError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseList, ColumnClause, ColumnElement, Label
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import FromClause, Join, TableClause
from sqlalchemy.sql.util import find_tables

from .._core import (
    annotations_of,
    deannotate,
    explicit_froms,
    from_objects,
    is_selectable_iterable,
    is_star,
    proxy_key,
    replace_froms,
    result_metadata,
    result_tuple,
    type_may_be_null_type,
)
from ..loading import EntityLoader, entity_loader
from ..loading.plans import stamp_user_options
from ..mapping.attributes import InstrumentedAttribute, QueryableAttribute
from ..mapping.coercion import (
    BUNDLE_KEY,
    column_entity,
)
from ..mapping.composite import CompositeComparator
from ..mapping.inheritance import entity_source
from ..mapping.mapper import Mapper, _mapper_or_none, class_mapper
from ..mapping.properties import ColumnProperty
from .aliased import (
    AliasedClass,
    AliasedInsp,
    PolymorphicEntity,
    alias_load_props,
    alias_name,
    check_loadable,
    polymorphic_parts,
    stands_for,
)
from .bundle import Bundle, BundleReader
from .subclass_rows import (
    alias_subclass_criterion,
    column_subclass_criterion,
    joined_subclass_source,
    mark_subclass_criterion,
)


def mapper_of(entity: object) -> Mapper | None:
    m = _mapper_or_none(entity)
    if m is not None and not m.configured:
        m = class_mapper(entity)
    return m


def subclass_rows_criterion(element: object) -> tuple[Any, Any]:
    """(key, criterion): the discriminator criterion a SELECT of ``element`` (a column
    expression) needs when it reads a single-table subclass's attribute
    (``Engineer.name``, a function of it, an ``aliased(Engineer)``'s, but not a scalar
    subquery, which limits its own rows): only that subclass's rows; (None, None)
    otherwise.  ``key`` tells the subclasses apart."""
    return column_subclass_criterion(element)


def refuse_star_with_others(elements: Sequence[Any]) -> None:
    """An ORM statement may select '*' only alone: next to an entity or a column, the
    columns it expands to can't be told apart from theirs (the entity's attributes
    would be read from the wrong positions)."""
    if len(elements) > 1 and any(is_star(e) for e in elements):
        raise CompileError(
            "Can't generate ORM query that includes multiple expressions at the same "
            "time as '*'; its columns can't be told apart from the others': select "
            "'*' alone, or name the entities and columns wanted"
        )


class RowLayout:
    """Columns to SELECT for a list of entities, and how to rebuild each result row."""

    _plain_table = False  # a Table selected whole (Session.get_bind gets no mapper)
    _own_froms: frozenset[object] | None = None
    # (the one element a Core select() of this layout's entity selects, its columns and
    # FROMs coerced for the re-layout): see query.orm_select.orm_select_from_core
    core_relay: tuple[Any, tuple[Any, ...], tuple[Any, ...]] | None = None

    def own_froms(self) -> frozenset[Any]:
        """The FROM elements the selected columns come from (computed once)."""
        found = self._own_froms
        if found is None:
            found = self._own_froms = frozenset(
                f for c in self.columns for f in from_objects(c))
        return found

    def __init__(self, entities: Sequence[Any], props: Sequence[Any] | None = None) -> None:
        self.columns: list[Any] = []
        self.parts: list[tuple[str, Any]] = []  # ("entity", EntityLoader) | ("column", index)
        self.names: list[str] = []
        # per result column, the other keys a row's ``_mapping`` answers to (the entity,
        # the attribute, the table column) and what ``column_descriptions`` says of it
        self.extras: list[tuple[Any, ...]] = []
        self.descriptions: list[dict[str, Any]] = []
        self.mappers: list[Mapper] = []
        # mapper inheritance: (FROM, WHERE) the selected subclasses need (joined tables,
        # discriminator criterion); empty for every other entity
        self.inherit_sources: list[tuple[Any, Any]] = []
        # the (mapper, alias) pairs whose rows inherit_sources limits the SELECT to
        self._limited: list[tuple[object, object]] = []
        # with_polymorphic() entities over a join: the join an ORM select() reads them from
        # (a Core select() of the entity has it already)
        self.alias_froms: list[Any] = []
        # part index -> the entity (class, aliased() entity) an entity part loads
        self._entity_at: dict[int, Any] = {}
        refuse_star_with_others(entities)
        for i, ent in enumerate(entities):
            if isinstance(ent, AliasedInsp):  # inspect(alias): the alias itself
                ent = ent.entity
            if isinstance(ent, QueryableAttribute) and getattr(ent.prop, "is_composite", False):
                # its columns, read back as one composite object
                ent = cast(Any, ent.prop).comparator_for(ent).reader()
            elif isinstance(ent, CompositeComparator):  # of an aliased() entity
                ent = ent.reader()
            elif isinstance(ent, ClauseList) and not isinstance(ent, ColumnElement):
                # a composite selected under a label (Edge.start.label("s")): its reader;
                # a plain list of columns (Edge.start.clauses): each of them
                reader = annotations_of(ent).get(BUNDLE_KEY)
                if reader is None:
                    for c in ent.clauses:
                        self._add_expression(c)
                    continue
                ent = reader
            if isinstance(ent, Bundle) or getattr(ent, "is_bundle", False):
                self._add_bundle(ent)
            elif self._add_entity(ent, props[i] if props is not None else None):
                pass
            elif isinstance(ent, QueryableAttribute):
                self._add_attribute(ent)
            else:
                self._add_expression(ent)

    def _add_bundle(self, ent: Any) -> None:
        """A Bundle (or a composite's reader): its columns, read back as one value."""
        reader = BundleReader(ent, len(self.columns))
        columns = ent.bundle_columns()
        self.columns.extend(columns)
        for c in columns:
            self._subclass_rows(c)
            # a joined-table subclass's column: the SELECT reads the subclass's join
            # (a Core select() of the bundle names each table on its own)
            source = joined_subclass_source(c)
            if source is not None and not any(f is source for f, _w in self.inherit_sources):
                self.inherit_sources.append((source, None))
        self.parts.append(("bundle", reader))
        self.names.append(ent.name)
        self.extras.append((ent,))
        first = ent.exprs[0]
        entity = first.parent.class_ if isinstance(first, QueryableAttribute) else None
        if entity is None:
            self._describe_column(columns[0], ent.name)
            entity = self.descriptions.pop()["entity"]
            self.extras.pop()
        self.descriptions.append({"name": ent.name, "aliased": False,
                                  "type": getattr(ent, "result_type", Bundle),
                                  "expr": ent, "entity": entity})

    def _add_entity(self, ent: Any, chosen: Any) -> bool:
        """A mapped class or an aliased()/with_polymorphic() entity: its loader's
        columns (``chosen``: the column properties a loader option chose for it).
        False if ``ent`` is no entity."""
        adapt = None
        if isinstance(ent, AliasedClass):
            check_loadable(ent)
            mapper: Mapper | None = ent._dm_mapper
            adapt = ent._dm_column_for
            if isinstance(ent._dm_selectable, Join) and \
                    not isinstance(ent, PolymorphicEntity):
                # aliased(Subclass, flat=True): its columns come from a join of
                # aliases, which the SELECT names in FROM
                self.alias_froms.append(ent._dm_selectable)
        else:
            mapper = mapper_of(ent)
        if mapper is None:
            return False
        if chosen is None and isinstance(ent, PolymorphicEntity):
            _mappers, chosen, poly_from = polymorphic_parts(ent)  # the subclasses' too
            if poly_from is not None:
                self.alias_froms.append(poly_from)
        elif chosen is None and adapt is not None:
            chosen = alias_load_props(ent)  # the columns its selectable has
        if adapt is None:
            loader = entity_loader(mapper, offset=len(self.columns), props=chosen)
        else:  # aliased(): not shared, its columns are the alias's
            loader = EntityLoader(mapper, offset=len(self.columns), props=chosen,
                                  adapt=adapt)
        self.columns.extend(loader.columns)
        self._entity_at[len(self.parts)] = ent
        self.parts.append(("entity", loader))
        self._name_entity(ent, mapper)
        self.mappers.append(mapper)
        if adapt is None:
            self._limited.append((mapper, None))
            if mapper._poly is not None:
                self._add_inherit_source(mapper)
        elif mapper.single and mapper.inherits is not None and (mapper, ent) not in self._limited:
            # an alias of a single-table subclass reads only its rows too
            crit = alias_subclass_criterion(ent)
            if crit is not None:
                self._limited.append((mapper, ent))
                self.inherit_sources.append((None, crit))
        return True

    def part_sources(self) -> list[Any]:
        """Per part, the entity it loads (the class or the aliased() entity given), None
        for columns and bundles: loader options rooted at an alias go to its part."""
        return [self._entity_at.get(i) for i in range(len(self.parts))]

    def _add_inherit_source(self, mapper: Mapper) -> None:
        """The FROM (the join of a joined-table subclass's tables) and WHERE criterion
        (a single-table subclass's discriminator) the rows of ``mapper`` are read with."""
        from_, where = entity_source(mapper)
        if where is not None:
            where = mark_subclass_criterion(where, (mapper, None))
        if from_ is not None or where is not None:
            self.inherit_sources.append((from_, where))

    def _name_entity(self, ent: Any, mapper: Mapper) -> None:
        """The row key, ``_mapping`` keys and description of an entity's result column."""
        aliased = isinstance(ent, AliasedClass)
        shown = stands_for(ent) if aliased else None
        # the row key: the class's name, an aliased() entity's name; an
        # anonymous alias has none (its object is found by position or by the
        # alias itself, ``row._mapping[alias]``)
        name = _entity_name(shown if shown is not None else ent, mapper)
        self.names.append(name)
        if shown is not None:  # read through a subquery (union() ...)
            self.extras.append((ent, shown))
            self.descriptions.append({
                "name": name, "type": mapper.class_, "aliased": isinstance(
                    shown, AliasedClass), "expr": shown, "entity": shown})
        else:
            self.extras.append((ent,))
            self.descriptions.append({
                "name": name, "type": mapper.class_,
                "aliased": aliased, "expr": ent, "entity": ent})

    def _add_attribute(self, ent: QueryableAttribute) -> None:
        """A mapped attribute (``User.name``): one result column, keyed by its name."""
        # a collection is no column (the prop says so, naming what to use)
        expr = ent.prop.clause_element(ent) if ent.prop.is_relationship \
            else ent.__clause_element__()
        self.parts.append(("column", len(self.columns)))
        # a table column selected under its own key stays unlabelled (Core names
        # it; `<table>_<key>` in the labelled form); an expression gets the key
        if not (isinstance(expr, ColumnClause) and expr.table is not None
                and proxy_key(expr) == ent.key) and hasattr(expr, "label"):
            expr = expr.label(ent.key)
        self.columns.append(expr)
        self.names.append(ent.key)
        column = ent.__clause_element__()
        self._subclass_rows(column)
        self.extras.append((ent, column))
        self.descriptions.append({
            "name": ent.key, "type": getattr(column, "type", None), "aliased": False,
            "expr": ent, "entity": ent.parent.class_})
        self.mappers.append(ent.parent)

    def _subclass_rows(self, element: Any) -> None:
        """A column of a single-table subclass's attribute is selected: the SELECT
        reads only that subclass's rows (once per subclass; its entity has it already)."""
        key, crit = subclass_rows_criterion(element)
        if crit is not None and key not in self._limited:
            self._limited.append(key)
            self.inherit_sources.append((None, mark_subclass_criterion(crit, key)))

    def _add_expression(self, ent: object) -> None:
        """A Core expression, a table or subquery selected whole, or a number."""
        if hasattr(ent, "__clause_element__"):
            ent = ent.__clause_element__()
        if isinstance(ent, ColumnElement):
            self._subclass_rows(ent)  # func.count(Engineer.id)
        if isinstance(ent, FromClause) and not isinstance(ent, FunctionElement):
            if isinstance(ent, TableClause):
                self._plain_table = True  # no entity behind it: no bind mapper
            # a subquery or table selected whole: each of its columns is a result column
            for col in ent.c:
                self.parts.append(("column", len(self.columns)))
                self.columns.append(col)
                self.names.append(col.key)
                self._describe_column(col, col.key)
            return
        if isinstance(ent, (int, float)) and not isinstance(ent, bool):
            # a number, as Core's select(1) takes it: the literal in the SQL (Core's
            # typing names only the literal 1; it coerces any number the same way)
            number: Any = ent
            ent = Select(number).selected_columns[0]
        elif isinstance(ent, str):
            # Core's coercion: '*' is taken (as literal_column('*')), other text refused
            text_arg: Any = ent
            ent = Select(text_arg).selected_columns[0]
        if isinstance(ent, ColumnElement) or is_selectable_iterable(ent):
            self.parts.append(("column", len(self.columns)))
            self.columns.append(ent)
            key = getattr(ent, "key", None) or getattr(ent, "name", None)
            self.names.append(key or f"col{len(self.names)}")
            self._describe_column(ent, key)
            return
        raise ArgumentError(
            f"Can't query {ent!r}: expected a mapped class, a mapped attribute or a SQL "
            "column expression"
        )

    def apply_inheritance(self, stmt: Any, skip: frozenset[int] = frozenset()) -> Any:
        """``stmt`` reading the joined tables of the selected subclasses, limited to
        the rows of the selected single-table subclasses (``skip``: the ids of FROMs
        left out, those of entities read through an alias instead)."""
        given = {id(deannotate(f)) for f in explicit_froms(stmt)}
        for from_, where in self.inherit_sources:
            if from_ is not None and id(from_) in skip:
                continue
            # (a Core select() of the class already names its join, as the class's
            # marked copy: naming it twice leaves a join along a relationship of the
            # class two FROMs to start at)
            if from_ is not None and id(deannotate(from_)) not in given:
                stmt = with_inherit_from(stmt, from_)
                given.add(id(deannotate(from_)))
            if where is not None:
                stmt = stmt.where(where)
        return stmt

    def base_select(self, label_style: Any = None) -> Any:
        """``select(*self.columns)`` (with ``label_style`` when given), built once per
        layout and style: Core statements are immutable, and every further clause
        (WHERE, ORDER BY ...) makes a new one from it."""
        cached: dict[object, object] = self.__dict__.setdefault("_selects", {})
        stmt = cached.get(label_style)
        if stmt is None:
            stmt = Select(*selectable_of(self.columns))
            if self.alias_froms:  # joins of aliases (with_polymorphic(), flat aliased())
                stmt = stmt.select_from(*self.alias_froms)
            if label_style is not None:
                stmt = stmt.set_label_style(label_style)
            cached[label_style] = stmt
        return stmt

    def _describe_column(self, col: object, key: str | None) -> None:
        self.extras.append((col,))
        entity = column_entity(col)
        if isinstance(entity, AliasedClass) and isinstance(entity._dm_selectable, Join) and \
                not any(f is entity._dm_selectable for f in self.alias_froms):
            # a column of a flat alias (with_polymorphic(flat=True)): its table alias is
            # one of a join, which the SELECT names in FROM
            self.alias_froms.append(entity._dm_selectable)
        self.descriptions.append({
            "name": None if _anonymous(col) else key,
            "type": getattr(col, "type", None),
            "aliased": isinstance(entity, AliasedClass),
            "expr": col, "entity": entity})

    def column_descriptions(self, label_style: object) -> list[dict[str, Any]]:
        """``select(...).column_descriptions``: :attr:`descriptions`, each named column
        named as the rows of a SELECT with ``label_style`` name it."""
        names = self.result_names(label_style)
        out = []
        for d, name in zip(self.descriptions, names, strict=True):
            d = dict(d)
            if d["name"] is not None:
                d["name"] = name
            out.append(d)
        return out

    def result_metadata(self, names: list[str] | None = None) -> Any:
        """The keys of result rows (``names``, else :attr:`names`; with :attr:`extras`:
        ``row._mapping[User]``) and how ``Result.unique()`` compares each column (an
        object by identity; a value whose type is not hashable refused by name).  Built
        once per layout and names: Core's metadata is not changed by the results that
        use it."""
        cached: dict[object, object] = self.__dict__.setdefault("_result_metadata", {})
        key = tuple(names) if names is not None else None
        meta = cached.get(key)
        if meta is None:
            meta = cached[key] = result_metadata(
                names if names is not None else self.names, self.extras,
                self._unique_filters())
        return meta

    def _unique_filters(self) -> list[object]:
        filters: list[object] = []
        for kind, p in self.parts:
            if kind == "entity":
                filters.append(id)
            elif kind == "column":
                filters.append(_value_filter(getattr(self.columns[p], "type", None)))
            else:
                filters.append(None)
        return filters

    def result_names(self, label_style: Any) -> list[str]:
        """Row keys for an ORM ``select()`` with ``label_style``: entities keep their
        names; the other columns are named as Core names them in a SELECT of that style
        (``id``, ``id_1`` when disambiguated; ``users_id`` with table-name labels)."""
        cols = [self.columns[p] for kind, p in self.parts if kind == "column"]
        if not cols:
            return self.names
        cached: dict[object, list[str]] = self.__dict__.setdefault("_names_by_style", {})
        names = cached.get(label_style)
        if names is None:
            keys = iter(Select(*cols).set_label_style(label_style).selected_columns.keys())
            names = [next(keys) if kind == "column" else name
                     for (kind, _p), name in zip(self.parts, self.names, strict=True)]
            cached[label_style] = names
        return names

    def row_maker(self) -> Any:
        """``result_tuple(self.names, self.extras)``: what makes a result row of a tuple of
        values (made once per layout)."""
        make = self.__dict__.get("_row_maker")
        if make is None:
            make = self.__dict__["_row_maker"] = result_tuple(self.names, self.extras)
        return make

    @property
    def single_bundle(self) -> bool:
        """One ``Bundle(..., single_entity=True)`` selected: a Query gives its values."""
        return len(self.parts) == 1 and self.parts[0][0] == "bundle" and \
            self.parts[0][1].bundle.single_entity

    @property
    def single_entity(self) -> bool:
        """One mapped class selected: results are its objects; anything else (one column
        included) gives rows."""
        return len(self.parts) == 1 and self.parts[0][0] == "entity"

    @property
    def primary_mapper(self) -> Mapper | None:
        for kind, p in self.parts:
            if kind == "entity":
                return p.mapper  # type: ignore[no-any-return]  # parts hold (kind, loader); an entity part's loader has a Mapper
        return self.mappers[0] if self.mappers else None

    @property
    def bind_mapper(self) -> Mapper | None:
        """The mapper whose bind runs the statement: the primary one, else the first
        mapped table found under the selected expressions (``func.max(User.name)``, a
        column of a subquery of ``User``), for ``Session.get_bind(mapper=...)``."""
        m = self.primary_mapper
        if m is not None or self._plain_table:
            return m
        found = self.__dict__.get("_bind_mapper", False)
        if found is False:
            found = self.__dict__["_bind_mapper"] = _mapper_under(self.columns)
        return found  # type: ignore[no-any-return]  # read back from the instance dict, where it was cached as Mapper | None


def _mapper_under(columns: Sequence[Any]) -> Mapper | None:
    """The mapper of the first mapped table a table column under ``columns`` (through
    expressions, subqueries and CTEs) comes from."""
    from ..mapping.mapper import _all_mappers

    by_table: dict[object, Mapper] | None = None
    for col in columns:
        for elem in visitors.iterate(col):
            if isinstance(elem, TableClause):
                tables: list[object] = [elem]
            elif isinstance(elem, ColumnClause) and elem.table is not None:
                tables = [getattr(base, "table", None) for base in elem.base_columns]
            else:
                continue
            if by_table is None:
                by_table = {}
                for m in list(_all_mappers):
                    by_table.setdefault(m.local_table, m)
            for table in tables:
                if table is not None and table in by_table:
                    return by_table[table]
    return None


def selectable_of(columns: list[Any]) -> list[Any]:
    """What to pass to ``select()`` for ``columns``: the table itself when they are all
    of its columns in its order (the same SELECT, with a cheaper cache key for Core
    to compute on every execution), else the columns."""
    if columns:
        table = getattr(columns[0], "table", None)
        if isinstance(table, Table):
            tcols = table.c
            if len(tcols) == len(columns) and all(
                    a is b for a, b in zip(columns, tcols, strict=True)):
                return [table]
    return columns


def _value_filter(sql_type: object) -> object:
    """How ``Result.unique()`` compares a column's values: None (by the value) for a
    hashable type; a refusal naming the type when its values can't be hashed."""
    if sql_type is None:
        return None
    if getattr(sql_type, "hashable", True) is False:
        def refuse(value: object) -> Any:
            raise InvalidRequestError(
                f"Can't make rows unique by a value of type {sql_type!r}: the type says "
                "its values are not hashable; make them unique in Python, or leave the "
                "column out of unique()")
        return refuse
    if type_may_be_null_type(sql_type):
        def hashed(value: object) -> object:
            try:
                hash(value)
            except TypeError:
                raise InvalidRequestError(
                    f"Can't make rows unique by a value of type {sql_type!r}: its value "
                    f"{type(value).__name__} is not hashable; give the column a type, or "
                    "leave it out of unique()") from None
            return value
        return hashed
    return None


def _entity_name(ent: object, mapper: Mapper) -> Any:
    """The row key of a selected entity: its class's name, an alias's given name, None
    for an anonymous alias."""
    if isinstance(ent, AliasedClass):
        return alias_name(ent)
    return mapper.class_.__name__


def _anonymous(col: object) -> bool:
    """A SQL function or other expression Core would give an anonymous label."""
    return not isinstance(col, (ColumnClause, Label))


def stamp_results(layout: RowLayout, results: Sequence[Any], options: tuple[Any, ...]) -> None:
    """Give the objects of a query's results the propagating user-defined options
    their later relationship loads carry on."""
    if layout.single_entity:
        stamp_user_options(results, options)
        return
    for i, (kind, _p) in enumerate(layout.parts):
        if kind == "entity":
            stamp_user_options([r[i] for r in results], options)


def entity_columns(entities: Sequence[Any]) -> RowLayout:
    return RowLayout(entities)


_LAYOUT_KEY = "row layout"  # in Mapper._loader_cache: the layout of the class alone


def entity_layout(entities: Sequence[Any]) -> RowLayout:
    """``RowLayout(entities)``, shared for the common case of one mapped class.

    A layout is not changed once built (its caches only grow), so every query and
    ``select()`` of the same class can use one.  It lives in the mapper's loader
    cache, which the mapper replaces when it recomputes its load paths, so a layout
    never outlives the configuration it was built from.
    """
    if len(entities) == 1:
        ent = entities[0]
        if isinstance(ent, type):
            mapper = _mapper_or_none(ent)
            if mapper is not None and mapper.configured and mapper.class_ is ent:
                cache = mapper._loader_cache
                layout: RowLayout | None = cache.get(_LAYOUT_KEY)
                if layout is None:
                    layout = cache[_LAYOUT_KEY] = RowLayout(entities)
                return layout
    elif entities and type(entities[0]) is InstrumentedAttribute:
        return _attribute_layout(entities)
    return RowLayout(entities)


def _attribute_layout(entities: Sequence[Any]) -> RowLayout:
    """The layout of column attributes of one mapped class (``query(User.id,
    User.name)``), shared as :func:`entity_layout` shares a class's: kept in that
    mapper's loader cache under the attributes' identities (the layout holds the
    attributes, so an identity is not reused while it is kept)."""
    mapper = entities[0].parent
    cls = mapper.class_
    for ent in entities:
        if type(ent) is not InstrumentedAttribute or ent.parent is not mapper or \
                ent.class_ is not cls or type(ent.prop) is not ColumnProperty:
            return RowLayout(entities)
    if not mapper.configured:
        return RowLayout(entities)
    cache = mapper._loader_cache
    key = (_LAYOUT_KEY, *map(id, entities))
    layout: RowLayout | None = cache.get(key)
    if layout is None:
        layout = RowLayout(entities)
        if len(cache) < _LAYOUTS_KEPT:
            cache[key] = layout
    return layout


_LAYOUTS_KEPT = 256  # layouts of attribute lists kept per mapper


def filter_by_criteria(mapper: Mapper, kwargs: dict[str, Any], entity: object = None
                       ) -> list[Any]:
    """``attr == value`` clauses for keyword criteria; unmapped names raise before any SQL.
    ``entity``: an aliased() entity of ``mapper`` whose columns the criteria use."""
    bad = [k for k in kwargs if k not in mapper._props]
    if bad:
        from sqlalchemy.exc import InvalidRequestError

        raise InvalidRequestError(
            f"Can't filter_by({', '.join(bad)}): {mapper.class_.__name__} has no mapped "
            f"attribute(s) named {', '.join(map(repr, bad))}; mapped attributes are "
            f"{', '.join(sorted(mapper._props))}"
        )
    source = entity if isinstance(entity, AliasedClass) else mapper.class_
    return [getattr(source, k) == v for k, v in kwargs.items()]


def with_inherit_from(stmt: Any, from_: Any) -> Any:
    """``stmt`` reading the join ``from_`` of a class's tables: in place of a FROM that
    is one of them (the class's own table a Core select() of it names), so that a join
    along a relationship of the class has one FROM to start at; else added."""
    if isinstance(from_, Join):
        froms = explicit_froms(stmt)
        tables = set(find_tables(from_))
        for i, f in enumerate(froms):
            if isinstance(f, TableClause) and deannotate(f) in tables:
                rest = [g for g in froms[i + 1:] if not (
                    isinstance(g, TableClause) and deannotate(g) in tables)]
                return replace_froms(stmt, (*froms[:i], from_, *rest))
    return stmt.select_from(from_)
