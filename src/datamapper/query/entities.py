"""What a query selects: mapped classes, mapped attributes, Core columns.

Callers: ``Query`` and the session's execution of ORM ``select()``
statements.  :func:`entity_columns` lays the entities out as Core columns
and returns the loaders that turn each row back into objects or values.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from sqlalchemy import Select, Table
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseList, ColumnClause, ColumnElement, Label
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import FromClause, Join, TableClause
from sqlalchemy.sql.util import ClauseAdapter

from .._core import (
    annotate,
    copy_generative,
    dml_returning,
    explicit_froms,
    from_objects,
    has_limit_or_offset,
    is_selectable_iterable,
    order_by_clauses,
    propagate_attrs,
    proxy_key,
    raw_columns,
    result_metadata,
    result_tuple,
    setup_joins,
    statement_options,
    type_may_be_null_type,
)
from ..loading import EntityLoader, entity_loader
from ..loading.strategies import stamp_user_options
from ..mapping.attributes import InstrumentedAttribute, QueryableAttribute
from ..mapping.coercion import (
    ALIAS_KEY,
    BUNDLE_KEY,
    SUBJECT_KEY,
    column_entity,
    entities_of_core_select,
    entities_of_elements,
)
from ..mapping.inheritance import class_criterion, entity_source
from ..mapping.mapper import Mapper, _mapper_or_none, class_mapper, mapped_tables
from ..mapping.properties import ColumnProperty
from .aliased import (
    AliasedClass,
    PolymorphicEntity,
    relationship_join_source,
    relationship_steps,
)


class Bundle:
    """Several column expressions selected as one result value, a named tuple of them:
    ``select(Bundle("name", User.first, User.last))`` gives rows whose ``name`` element
    has ``.first`` and ``.last``.  Override :meth:`create_row_processor` to build
    something else from the columns (a dict, an object).  ``single_entity=True``: a
    Query of the bundle alone returns the values themselves, not rows."""

    single_entity = False
    is_bundle = True

    def __init__(self, name: Any, *exprs: Any, single_entity: bool | None = None) -> None:
        if not exprs:
            raise ArgumentError(f"Can't make Bundle {name!r} of no columns; pass column "
                                "expressions such as User.id")
        self.name = name
        self.exprs = exprs
        cols: list[Any] = []
        for e in exprs:
            col = e.__clause_element__() if hasattr(e, "__clause_element__") else e
            if isinstance(e, type) or not isinstance(col, ColumnElement):
                raise ArgumentError(
                    f"Can't put {e!r} in Bundle {name!r}: a bundle holds column expressions "
                    "(User.name, func.count(...)), not classes or tables"
                )
            cols.append(col)
        self._columns = cols
        self.keys = [getattr(e, "key", None) or getattr(c, "key", None) or f"col{i}"
                     for i, (e, c) in enumerate(zip(exprs, cols, strict=True))]
        self.c = self.columns = _BundleColumns(dict(zip(self.keys, cols, strict=True)))
        if single_entity is not None:
            self.single_entity = single_entity

    def label(self, name: Any) -> Bundle:
        """The same bundle under another name."""
        other = self.__class__.__new__(self.__class__)
        other.__dict__.update(self.__dict__)
        other.name = name
        return other

    def create_row_processor(self, query: Any, procs: list[Any], labels: list[str]) -> Any:
        """``proc(row)``: this bundle's value for one result row; ``procs`` read each of
        its columns from the row, ``labels`` are the column names."""
        make = result_tuple(labels)

        def proc(row: Any) -> Any:
            return make([p(row) for p in procs])

        return proc

    def __clause_element__(self) -> Any:
        # marked with the bundle: a Core select() of it names the bundle in its rows
        return annotate(ClauseList(*self._columns, group=False), {BUNDLE_KEY: self})

    def __repr__(self) -> str:
        return f"Bundle({self.name!r}, {', '.join(self.keys)})"


class _BundleColumns:
    """``bundle.c``: its column expressions by name (``bundle.c.id``, ``bundle.c["id"]``,
    iteration in order)."""

    __slots__ = ("_cols",)

    def __init__(self, cols: dict[str, Any]) -> None:
        self._cols = cols

    def __getattr__(self, key: str) -> Any:
        try:
            return self._cols[key]
        except KeyError:
            raise AttributeError(
                f"the bundle has no column {key!r}; its columns are {', '.join(self._cols)}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._cols[key]

    def __iter__(self) -> Any:
        return iter(self._cols.values())

    def __len__(self) -> int:
        return len(self._cols)

    def keys(self) -> list[str]:
        return list(self._cols)


class _BundleReader:
    """Where a bundle's columns sit in a row and how its value is made from them."""

    __slots__ = ("bundle", "offset", "width", "read")

    def __init__(self, bundle: Bundle, offset: int) -> None:
        self.bundle = bundle
        self.offset = offset
        self.width = len(bundle._columns)
        if type(bundle).create_row_processor is Bundle.create_row_processor and self.width > 1:
            # the default processor, as one step: the columns picked in one call
            pick = itemgetter(*range(offset, offset + self.width))
            make = result_tuple(list(bundle.keys))
            self.read = lambda row: make(pick(row))
        else:
            procs = [itemgetter(offset + i) for i in range(self.width)]
            self.read = bundle.create_row_processor(None, procs, list(bundle.keys))


def mapper_of(entity: Any) -> Mapper | None:
    m = _mapper_or_none(entity)
    if m is not None and not m.configured:
        m = class_mapper(entity)
    return m


def subclass_rows_criterion(element: Any) -> tuple[Any, Any]:
    """(key, criterion): the discriminator criterion a SELECT of ``element`` (a column
    expression) needs when it reads a single-table subclass's attribute
    (``Engineer.name``, a function of it, an ``aliased(Engineer)``'s): only that
    subclass's rows; (None, None) otherwise.  ``key`` tells the subclasses apart."""
    attrs = propagate_attrs(element)
    mapper = attrs.get(SUBJECT_KEY) if attrs else None
    if mapper is None or mapper.inherits is None or not mapper.single:
        return None, None
    crit = class_criterion(mapper)
    alias = attrs.get(ALIAS_KEY) if attrs else None
    if alias is not None and alias.__dict__.get("_dm_poly_member"):
        return None, None  # wp.Engineer.name: a with_polymorphic() reads all their rows
    if alias is not None and crit is not None:
        crit = ClauseAdapter(alias._dm_selectable).traverse(crit)
    return (mapper, alias), crit


def with_subclass_criteria(stmt: Any) -> Any:
    """A Core select of columns (no entities) limited to the rows of the single-table
    subclasses whose attributes it selects (``select(Engineer.name)``)."""
    seen: dict[Any, Any] = {}
    for c in raw_columns(stmt):
        key, crit = subclass_rows_criterion(c)
        if crit is not None and key not in seen:
            seen[key] = crit
    return stmt.where(*seen.values()) if seen else stmt


class RowLayout:
    """Columns to SELECT for a list of entities, and how to rebuild each result row."""

    _plain_table = False  # a Table selected whole (Session.get_bind gets no mapper)
    _own_froms: frozenset[Any] | None = None

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
        self._limited: list[tuple[Any, Any]] = []
        # with_polymorphic() entities over a join: the join an ORM select() reads them from
        # (a Core select() of the entity has it already)
        self.alias_froms: list[Any] = []
        for i, ent in enumerate(entities):
            if isinstance(ent, QueryableAttribute) and getattr(ent.prop, "is_composite", False):
                ent = cast(Any, ent.prop).reader()  # its columns, read back as one composite object
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
        reader = _BundleReader(ent, len(self.columns))
        self.columns.extend(ent._columns)
        for c in ent._columns:
            self._subclass_rows(c)
        self.parts.append(("bundle", reader))
        self.names.append(ent.name)
        self.extras.append((ent,))
        first = ent.exprs[0]
        entity = first.parent.class_ if isinstance(first, QueryableAttribute) else None
        if entity is None:
            self._describe_column(ent._columns[0], ent.name)
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
            ent._dm_refuse_loading()
            mapper: Mapper | None = ent.mapper
            adapt = ent.column_for
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
            chosen = ent._dm_poly_props  # with_polymorphic(): the subclasses' too
            if ent._dm_poly_from is not None:
                self.alias_froms.append(ent._dm_poly_from)
        elif chosen is None and adapt is not None:
            chosen = ent._dm_load_props()  # the columns its selectable has
        if adapt is None:
            loader = entity_loader(mapper, offset=len(self.columns), props=chosen)
        else:  # aliased(): not shared, its columns are the alias's
            loader = EntityLoader(mapper, offset=len(self.columns), props=chosen,
                                  adapt=adapt)
        self.columns.extend(loader.columns)
        self.parts.append(("entity", loader))
        self._name_entity(ent, mapper)
        self.mappers.append(mapper)
        if adapt is None:
            self._limited.append((mapper, None))
        if mapper._poly is not None and adapt is None:
            source = entity_source(mapper)
            if source[0] is not None or source[1] is not None:
                self.inherit_sources.append(source)
        return True

    def _name_entity(self, ent: Any, mapper: Mapper) -> None:
        """The row key, ``_mapping`` keys and description of an entity's result column."""
        aliased = isinstance(ent, AliasedClass)
        shown = ent._dm_stands_for if aliased else None
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
            self.inherit_sources.append((None, crit))

    def _add_expression(self, ent: Any) -> None:
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

    def apply_inheritance(self, stmt: Any) -> Any:
        """``stmt`` reading the joined tables of the selected subclasses, limited to
        the rows of the selected single-table subclasses."""
        for from_, where in self.inherit_sources:
            if from_ is not None:
                stmt = stmt.select_from(from_)
            if where is not None:
                stmt = stmt.where(where)
        return stmt

    def base_select(self, label_style: Any = None) -> Any:
        """``select(*self.columns)`` (with ``label_style`` when given), built once per
        layout and style: Core statements are immutable, and every further clause
        (WHERE, ORDER BY ...) makes a new one from it."""
        cached: dict[Any, Any] = self.__dict__.setdefault("_selects", {})
        stmt = cached.get(label_style)
        if stmt is None:
            stmt = Select(*selectable_of(self.columns))
            if self.alias_froms:  # joins of aliases (with_polymorphic(), flat aliased())
                stmt = stmt.select_from(*self.alias_froms)
            if label_style is not None:
                stmt = stmt.set_label_style(label_style)
            cached[label_style] = stmt
        return stmt

    def _describe_column(self, col: Any, key: str | None) -> None:
        self.extras.append((col,))
        entity = column_entity(col)
        self.descriptions.append({
            "name": None if _anonymous(col) else key,
            "type": getattr(col, "type", None),
            "aliased": isinstance(entity, AliasedClass),
            "expr": col, "entity": entity})

    def column_descriptions(self, label_style: Any) -> list[dict[str, Any]]:
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
        cached: dict[Any, Any] = self.__dict__.setdefault("_result_metadata", {})
        key = tuple(names) if names is not None else None
        meta = cached.get(key)
        if meta is None:
            meta = cached[key] = result_metadata(
                names if names is not None else self.names, self.extras,
                self._unique_filters())
        return meta

    def _unique_filters(self) -> list[Any]:
        filters: list[Any] = []
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
        cached: dict[Any, list[str]] = self.__dict__.setdefault("_names_by_style", {})
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
                return p.mapper  # type: ignore[no-any-return]
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
        return found  # type: ignore[no-any-return]


def _mapper_under(columns: Sequence[Any]) -> Mapper | None:
    """The mapper of the first mapped table a table column under ``columns`` (through
    expressions, subqueries and CTEs) comes from."""
    from ..mapping.mapper import _all_mappers

    by_table: dict[Any, Mapper] | None = None
    for col in columns:
        for elem in visitors.iterate(col):
            if isinstance(elem, TableClause):
                tables: list[Any] = [elem]
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


def _value_filter(sql_type: Any) -> Any:
    """How ``Result.unique()`` compares a column's values: None (by the value) for a
    hashable type; a refusal naming the type when its values can't be hashed."""
    if sql_type is None:
        return None
    if getattr(sql_type, "hashable", True) is False:
        def refuse(value: Any) -> Any:
            raise InvalidRequestError(
                f"Can't make rows unique by a value of type {sql_type!r}: the type says "
                "its values are not hashable; make them unique in Python, or leave the "
                "column out of unique()")
        return refuse
    if type_may_be_null_type(sql_type):
        def hashed(value: Any) -> Any:
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


def _entity_name(ent: Any, mapper: Mapper) -> Any:
    """The row key of a selected entity: its class's name, an alias's given name, None
    for an anonymous alias."""
    if isinstance(ent, AliasedClass):
        return ent._dm_name
    return mapper.class_.__name__


def _anonymous(col: Any) -> bool:
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


def filter_by_criteria(mapper: Mapper, kwargs: dict[str, Any], entity: Any = None
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


class ORMSelect(Select[Any]):
    """A Core ``Select`` that remembers the mapped entities it was built from.

    ``session.execute(select(User))`` returns User objects; everything else is
    Core's Select (``where``, ``order_by``, ``join`` ... all work unchanged).
    """

    inherit_cache = True
    _dm_layout: RowLayout
    _dm_options: tuple[Any, ...] = ()
    _dm_entities: list[Any]

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
        return s

    def join(self, target: Any, onclause: Any = None, *, isouter: bool = False,
             full: bool = False) -> ORMSelect:
        """Core's join, plus joins along a relationship: ``join(User.addresses)`` or
        ``join(Address, User.addresses)`` (through the secondary table for a
        many-to-many); ``join(alias.addresses)`` and ``join(User.addresses.of_type(alias))``
        for aliased() ends."""
        steps = relationship_steps(target, onclause)
        if steps is None:
            return super().join(target, onclause, isouter=isouter, full=full)
        out: ORMSelect = super().join_from(relationship_join_source(target, onclause),
                                           steps[0][0], steps[0][1], isouter=isouter,
                                           full=full)
        for dest, on in steps[1:]:
            out = super(ORMSelect, out).join(dest, on, isouter=isouter, full=full)
        return out

    def outerjoin(self, target: Any, onclause: Any = None, *, full: bool = False) -> ORMSelect:
        return self.join(target, onclause, isouter=True, full=full)

    def from_statement(self, statement: Any) -> Any:
        """The selected entities loaded from ``statement`` (a select(), union or
        text()) as written, instead of from this SELECT."""
        from .from_statement import from_statement_of

        return from_statement_of(self, statement)

    def filter_by(self, **kwargs: Any) -> ORMSelect:
        """Keyword criteria on the selected class's mapped attribute names only."""
        mapper = self._dm_layout.primary_mapper
        if mapper is None or setup_joins(self):
            # Core names the last join target (its mapped attributes, for a mapped class
            # or an alias of one), else the first FROM
            return super().filter_by(**kwargs)
        first = self._dm_entities[0] if self._dm_entities else None
        return self.where(*filter_by_criteria(mapper, kwargs, first))


def join(left: Any, right: Any, onclause: Any = None, isouter: bool = False,
         full: bool = False) -> Any:
    """A JOIN of mapped classes, aliases or tables (Core's ``Join``); ``onclause`` may
    be a relationship attribute (``join(User, Address, User.addresses)``, through the
    secondary table for a many-to-many), or an alias's one, or ``of_type(alias)``."""
    from sqlalchemy import join as core_join

    if isinstance(onclause, str):
        raise ArgumentError(
            f"Can't join on {onclause!r}: join() takes a relationship attribute or a SQL "
            "expression as the ON clause, not a string"
        )
    steps = relationship_steps(right, onclause) if onclause is not None else None
    if steps is None:
        return core_join(left, right, onclause, isouter=isouter, full=full)
    out = left
    for dest, on in steps:
        out = core_join(out, dest, on, isouter=isouter, full=full)
    return out


def outerjoin(left: Any, right: Any, onclause: Any = None, full: bool = False) -> Any:
    """:func:`join` as a LEFT OUTER JOIN."""
    return join(left, right, onclause, isouter=True, full=full)


def _relationship_of(obj: Any) -> Any:
    if isinstance(obj, QueryableAttribute) and obj.prop.is_relationship:
        from ..mapping.mapper import configure_mappers

        configure_mappers()
        return obj.prop
    return None


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


def reads_mapped_tables(stmt: Any) -> bool:
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


def core_returning_descriptions(stmt: Any) -> list[dict[str, Any]] | None:
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
    relaid = stmt.with_only_columns(*layout.columns, maintain_column_froms=True)
    out = copy_generative(ORMSelect.__new__(ORMSelect), relaid)
    out._dm_layout = layout
    out._dm_entities = entities
    # loader options given to Core's Select.options() (Load is a Core ExecutableOption)
    options = statement_options(stmt)
    if options:
        out._dm_options = options
    if layout.inherit_sources:
        out = layout.apply_inheritance(out)
    return out


def executed_statement(orm: ORMSelect) -> Any:
    """The SELECT the Session runs for ``orm``: its loader options applied (the columns
    load_only()/defer()/undefer_group() choose, with_expression() expressions) and the
    eager joins of joinedload() and of configured ``lazy="joined"`` relationships added;
    ``orm`` itself when nothing changes its SQL."""
    from ..loading.criteria import apply_loader_criteria, criteria_options
    from .option_plans import build_plans
    from .plan_execution import plans_statement

    layout = orm._dm_layout
    criteria = criteria_options(orm._dm_options)
    if criteria:
        orm = apply_loader_criteria(orm, criteria, layout.mappers)
    plans = build_plans([p.mapper if kind == "entity" else None for kind, p in layout.parts],
                        orm._dm_options)
    if plans is None:
        return orm
    entities = orm._dm_entities
    chosen = RowLayout(entities, [p.props if p is not None else None for p in plans])
    base: Any = orm
    if list(map(id, chosen.columns)) != list(map(id, layout.columns)):
        base = orm.with_only_columns(*chosen.columns)
    stmt, _layout = plans_statement(entities, plans, base, list(order_by_clauses(orm)),
                                    has_limit_or_offset(orm), criteria)
    return stmt


def subquery_columns(element: Any, mapper: Mapper) -> list[Any]:
    """What a mapped class selected in a Core ``select()`` exports to a subquery, a
    union or ``selected_columns``: its table's columns (deferred ones included, so that
    an ``aliased()`` entity of the subquery can load them) and then the SQL expressions
    a load of the class selects (``column_property()``, ``query_expression()``
    defaults), each under an anonymous SQL name and keyed by its attribute name (so
    that a column labelled with the same name elsewhere in the SELECT keeps its label)."""
    cache = mapper._loader_cache
    extra: list[Any] | None = cache.get(_SUBQUERY_KEY)
    if extra is None:
        table_cols = set(map(id, element.c))
        extra = []
        for col in entity_loader(mapper).columns:
            if id(col) in table_cols:
                continue
            if isinstance(col, Label):
                key = col.name
                col = col.element.label(None)
                col.key = key
            extra.append(col)
        cache[_SUBQUERY_KEY] = extra
    return [*element.c, *extra]


_SUBQUERY_KEY = "subquery columns"  # in Mapper._loader_cache: subquery_columns()' extras


def orm_statement_of(statement: Any) -> Any:
    """What a Core ``select()`` of mapped classes compiles to on its own: the statement
    the Session runs for it (:func:`executed_statement`); any other statement as is."""
    if statement.__class__ is not Select:
        return statement
    orm = orm_select_from_core(statement)
    return statement if orm is None else executed_statement(orm)


def as_written(statement: Any) -> Any:
    """A Core ``select()`` of mapped classes as the SELECT of the columns it exports
    (``selected_columns``: each class's columns and expressions), not as the ORM select
    it compiles to on its own: ``from_statement()`` runs it so, and its rows then hold
    every column the statement's ``selected_columns`` name (with_expression() may name
    them); any other statement as is."""
    if statement.__class__ is not Select or entities_of_core_select(statement) is None:
        return statement
    return statement.with_only_columns(*statement.selected_columns,
                                       maintain_column_froms=True)
