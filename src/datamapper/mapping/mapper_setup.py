"""How a :class:`~.mapper.Mapper` is built: its properties, primary key, version
column, validators and the lookup tables of the hot paths.

Each function here is a method of Mapper: the Mapper class body binds it under
its method name (``_build_properties = mapper_setup.build_properties``), so it
takes the mapper as ``self`` and a call costs what a method defined in the
class costs.  Called by ``Mapper.__init__`` (through those methods), by
``Mapper.add_property()``, by configure_mappers() (``_compile_paths``) and by
mapping/inheritance.py (``_add_property``).
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column
from sqlalchemy.exc import ArgumentError, InvalidRequestError, SAWarning
from sqlalchemy.sql.elements import ColumnElement

from . import coercion, inheritance
from . import selectable as selmap
from .composite import CompositeProperty
from .configure import (
    _all_mappers,
    instrumentation_hooks,
    invalidate_caches,
    mapped_tables,
)
from .mapper_events import (
    fire_instrumentation,
    inherit_attribute_listeners,
    instrumentation_listeners,
    listener_applies,
    pending_class_listeners,
)
from .mapper_views import AttrsDict
from .properties import ColumnProperty, MapperProperty

if TYPE_CHECKING:
    from .mapper import Mapper


def register(self: Mapper) -> None:
    """Make the mapper known: the class's mapper slot, the set of mappers and of
    mapped tables; every cache is invalidated (see mapping/cache.py)."""
    self.class_._dm_mapper = self  # type: ignore[attr-defined]  # the class's mapper slot
    _all_mappers.add(self)
    mapped_tables.add(self.local_table)
    if self.non_table:
        mapped_tables.update(self.tables)
    invalidate_caches()
    coercion.install(self)

def instrument(self: Mapper, parent: Mapper | None) -> None:
    """Class listeners registered before the class was mapped, the instance
    layer's instrumentation (``instrumentation_hooks``), the listeners inherited
    from the ``parent`` mapper (None for a concrete or a base class), and the
    instrumentation events."""
    class_ = self.class_
    for base, name, fn, kw in list(pending_class_listeners):
        if listener_applies(base, class_, kw):
            self.dispatch.add(name, fn, kw)
    if "instrument_class" in self.dispatch:
        # before the class is instrumented: a listener may still change it
        self.dispatch.fire("instrument_class", self, class_)
    for hook in instrumentation_hooks:
        hook(self)
    if parent is not None:
        inherit_attribute_listeners(self, parent)
    if instrumentation_listeners:
        fire_instrumentation("class_instrument", class_)
        for key in list(self._props):
            fire_instrumentation("attribute_instrument", class_, key,
                                  getattr(class_, key, None))

def attach_extensions(self: Mapper, extension: object) -> None:
    """``extension=``: one MapperExtension or a list of them (0.4 API)."""
    for ext in extension if isinstance(extension, (list, tuple)) else [extension]:
        attach = getattr(ext, "_dm_attach_mapper", None)
        if attach is None:
            raise ArgumentError(
                f"Can't use {ext!r} as a mapper extension of {self.class_.__name__}: "
                "extensions must subclass datamapper.MapperExtension (or use "
                "datamapper.event.listen() on the class)"
            )
        self.extensions.append(ext)
        attach(self)


def build_properties(
    self: Mapper,
    properties: dict[str, Any],
    include: Any,
    exclude: Any,
    prefix: str | None,
) -> None:
    explicit_cols = self._map_explicit_properties(properties)
    declared = DECLARED_KEYS.get()
    include_set = set(include) if include is not None else None
    exclude_set = set(exclude) if exclude is not None else set()
    for col in self.local_table.columns:
        if col in explicit_cols:
            continue
        if include_set is not None and col.key not in include_set and col not in include_set:
            continue
        if col.key in exclude_set or col in exclude_set:
            continue
        key = (prefix or "") + col.key
        if self.inherits is not None and key not in self._props and \
                inheritance.user_descriptor_below(self.class_, self.inherits.class_, key):
            continue  # the subclass's own descriptor of that name (see there)
        if self.inherits is None and key not in self._props and \
                (declared is None or key not in declared) and \
                user_attribute_over_column(self.class_, key):
            continue
        self._map_table_column(key, col)


# the attribute names a declarative class declares (in its body, its mixins and its
# annotations): columns the program mapped on purpose, whatever its bases hold under
# those names; None for imperative mappings (see user_attribute_over_column)
DECLARED_KEYS: ContextVar[frozenset[str] | None] = ContextVar("dm_declared_keys", default=None)


def user_attribute_over_column(cls: type, key: str) -> bool:
    """Whether the class (or a class it inherits from) holds an attribute ``key`` of
    the program's own (a method, a ``@property``, a hybrid, a class-level constant)
    that a table column of that name would replace.  As in SQLAlchemy, such a column
    is left unmapped, so the program's attribute keeps working; map it under another
    name (``properties={"_key": table.c.key}``) or exclude it to be explicit.  A
    ``None`` default, a dataclass field, a Core column and this package's own
    constructs (``mapped_column()``, instrumented attributes) don't count."""
    for klass in cls.__mro__:
        if klass is object:
            return False
        if key not in klass.__dict__:
            continue
        value = klass.__dict__[key]
        if value is None or isinstance(value, ColumnElement):
            return False
        if type(value).__module__.startswith("datamapper."):
            return False
        return key not in getattr(cls, "__dataclass_fields__", ())
    return False

def map_explicit_properties(self: Mapper, properties: dict[str, Any]) -> set[object]:
    """Map the properties given by name; the columns they (and the synonyms and
    inherited properties) map, which the table's own columns leave alone."""
    explicit_cols: set[Any] = set()
    for key, value in properties.items():
        existing = self._props.get(key)
        if isinstance(value, Column) and isinstance(existing, ColumnProperty) and \
                existing.parent is not self and value not in existing.columns:
            # a subclass table's column under an inherited column attribute of another
            # column name (``id = Column("eid", ForeignKey("person.id"))``): the
            # attribute maps both, as when the names match
            inheritance.extend_inherited_column(self, key, existing, value)
            explicit_cols.add(value)
            continue
        if isinstance(value, Column) or (isinstance(value, (list, tuple)) and value and
                                         all(isinstance(c, Column) for c in value)):
            _refuse_foreign_columns(self, key, value if isinstance(value, (list, tuple))
                                    else [value])
        prop = self._coerce_property(key, value)
        self._add_property(key, prop)
        if isinstance(prop, ColumnProperty):
            explicit_cols.update(prop.columns)
    for key, prop in list(self._props.items()):
        if getattr(prop, "is_synonym", False) and prop.map_column:
            explicit_cols.add(self._map_synonym_column(key, prop))
    # a column an inherited property maps under another name (a single-table
    # subclass's discriminator ``discriminator = Column("type", ...)``) stays mapped
    # there only, as in its base's mapper
    for prop in self._props.values():
        if isinstance(prop, ColumnProperty) and prop.parent is not self:
            explicit_cols.update(c for c in prop.columns if c.key != prop.key)
    return explicit_cols

def _refuse_foreign_columns(self: Mapper, key: str, cols: Any) -> None:
    """A Core column given by name in ``properties`` must be one of the mapped table's
    (or join's, or SELECT's): another table's column would be read from a cartesian
    product with that table and never written."""
    for col in cols:
        if self.persist_selectable.corresponding_column(col) is None and \
                self.local_table.corresponding_column(col) is None:
            raise ArgumentError(
                f"Can't map {self.class_.__name__}.{key}: column {col} is not a column of "
                f"{self._table_name}, the mapper's table; map a column of that table, or "
                f"wrap the expression in column_property() to map it as a read-only "
                "attribute")


def map_table_column(self: Mapper, key: str, col: Column[Any]) -> None:
    """Map a column of the table at ``key``: a new column property, or one more
    column of the property already there (an inherited one: this mapper's copy)."""
    if key not in self._props:
        self._add_property(key, ColumnProperty(col))
        return
    existing = self._props[key]
    if not isinstance(existing, ColumnProperty) and existing.parent is self:
        # a relationship, synonym or composite given under a column's name would leave
        # the column unmapped without a word (its values never loaded nor written)
        kind = ("relationship()" if existing.is_relationship else "synonym()"
                if existing.is_synonym else "composite()"
                if getattr(existing, "is_composite", False) else type(existing).__name__)
        table = getattr(col.table, "name", "table")
        raise ArgumentError(
            f"Can't map column {col} to {self.class_.__name__}.{key}: that name is "
            f"taken by the {kind} {self.class_.__name__}.{key}; map the column under "
            f"another name (properties={{'_{key}': {table}.c.{col.key}}}, or a "
            f"column_prefix), or leave it out of the mapping "
            f"(exclude_properties=[{key!r}])")
    if isinstance(existing, ColumnProperty) and col not in existing.columns:
        if self.non_table:
            selmap.check_combined(self, key, existing, col)
        if existing.parent is not self:  # inherited: this mapper's own copy
            inheritance.extend_inherited_column(self, key, existing, col)
            return
        existing.columns.append(col)
        self._col_to_prop[col] = existing

def map_synonym_column(self: Mapper, key: str, prop: Any) -> object:
    """``synonym(name, map_column=True)`` at ``key``: the column with key ``key`` is
    mapped under ``name`` (unless ``name`` is mapped explicitly)."""
    col = self.local_table.c.get(key)
    if col is None:
        raise ArgumentError(
            f"Can't map {self.class_.__name__}.{key}: synonym({prop.name!r}, "
            f"map_column=True) maps the column with key {key!r} under {prop.name!r}, but "
            f"table {self.local_table.name!r} has no such column; drop map_column=True "
            "or name an existing column's key"
        )
    if prop.name not in self._props:
        self._add_property(prop.name, ColumnProperty(col))
    return col

def coerce_property(self: Mapper, key: str, value: object) -> MapperProperty:
    if isinstance(value, MapperProperty):
        return value
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, ColumnElement) for v in value
    ):
        return ColumnProperty(*value)
    if isinstance(value, ColumnElement) or hasattr(value, "__clause_element__"):
        return ColumnProperty(value)
    raise ArgumentError(
        f"Can't map {self.class_.__name__}.{key}: {value!r} is not a Column, a column "
        "expression or a property (relationship(), column_property(), deferred(), synonym())"
    )

def add_mapped_property(self: Mapper, key: str, prop: MapperProperty) -> None:
    if key.startswith("_dm_") or key in ("__dict__", "__class__"):
        raise ArgumentError(
            f"Can't map {self.class_.__name__}.{key}: that name is reserved; rename the attribute"
        )
    old_key = prop.__dict__.get("key")
    if prop.__dict__.get("parent") is self and old_key != key and \
            self._props.get(old_key) is prop:
        # one property object under two names (``b = a`` in a class body): the later
        # name keeps it (one property has one key its values live under)
        warnings.warn(
            f"ORM mapped property {self.class_.__name__}.{old_key} being assigned to "
            f"attribute {key!r} is already associated with attribute {old_key!r}. The "
            f"attribute will be de-associated from {old_key!r}; give each name its own "
            f"property, or make {key!r} a synonym({old_key!r})", SAWarning, stacklevel=4)
        del self._props[old_key]
    replaced = self._props.get(key)
    prop.set_parent(self, key)
    self._props[key] = prop
    if isinstance(replaced, ColumnProperty) and replaced is not prop:
        # (add_property() of a synonym or another property under a column attribute's
        # name): the columns it mapped go to another property mapping them, if any
        for c in replaced.columns:
            if self._col_to_prop.get(c) is replaced:
                other = next((p for p in self._props.values() if p is not prop and
                              isinstance(p, ColumnProperty) and c in p.columns), None)
                if other is None:
                    del self._col_to_prop[c]
                else:
                    self._col_to_prop[c] = other
    if isinstance(prop, ColumnProperty):
        for c in prop.columns:
            self._col_to_prop.setdefault(c, prop)
        if self.non_table:
            selmap.add_column_lineage(self, prop)

def setup_primary_key(self: Mapper, primary_key: Any) -> None:
    if primary_key is not None:
        if isinstance(primary_key, (str, ColumnElement)) or hasattr(primary_key,
                                                                    "__clause_element__"):
            primary_key = [primary_key]  # primary_key=users.c.id: one column, as a list
        cols = [self._resolve_column(c) for c in primary_key]
    elif self.inherits is not None and not self.concrete:
        cols = list(self.inherits.primary_key)  # the base table's key is the identity
    elif self.non_table:
        cols = list(self.local_table.primary_key)
        selmap.check_primary_key(self, cols)
    else:
        cols = list(self.local_table.primary_key.columns)
    if not cols:
        raise ArgumentError(
            f"Can't map {self.class_.__name__}: table {self.local_table.name!r} has no "
            "primary key; declare primary_key=True on a column or pass "
            "__mapper_args__={'primary_key': [...]}"
        )
    missing = [c for c in cols if c not in self._col_to_prop]
    if missing:
        raise ArgumentError(
            f"Can't map {self.class_.__name__}: primary key column(s) "
            f"{', '.join(str(c) for c in missing)} are excluded from the mapping"
        )
    self.primary_key = tuple(cols)
    self._pk_props = tuple(self._col_to_prop[c] for c in cols)
    self._pk_keys = tuple(p.key for p in self._pk_props)

def resolve_column(self: Mapper, c: object) -> Any:
    if isinstance(c, str):
        if c in self.local_table.c:
            return self.local_table.c[c]
        if self.non_table:
            prop = self._props.get(c)
            if isinstance(prop, ColumnProperty):
                return prop.columns[0]
        raise ArgumentError(f"{self.class_.__name__}: no column {c!r} in "
                            f"{selmap.describe(self.local_table)}")
    if hasattr(c, "__clause_element__"):
        c = c.__clause_element__()
    if self.non_table and c not in self._col_to_prop:
        # a table column a subquery selects: its column of the subquery
        found = self.local_table.corresponding_column(c)
        if found is not None:
            return found
    return c

def setup_version(self: Mapper, version_id_col: Any, generator: Any) -> None:
    self.version_id_col = (
        self._resolve_column(version_id_col) if version_id_col is not None else None
    )
    self.version_id_prop = (
        self._col_to_prop.get(self.version_id_col) if self.version_id_col is not None else None
    )
    if self.version_id_col is not None and self.version_id_prop is None:
        raise ArgumentError(
            f"{self.class_.__name__}: version_id_col {self.version_id_col} is not mapped"
        )
    if self.version_id_prop is not None:
        # setting the version of an expired object loads the old one first: the
        # UPDATE's version check needs it
        self.version_id_prop.active_history = True
    if generator is None:
        def generator(v: Any) -> Any:
            return 1 if v is None else v + 1
    elif generator is not False and not callable(generator):
        raise ArgumentError(
            f"Can't map {self.class_.__name__}: version_id_generator must be a callable "
            f"(old version -> new version) or False (the database sets the version), "
            f"got {generator!r}"
        )
    # False: the database sets the version (trigger, server default); the flush reads it
    self.version_id_generator = generator

def collect_validators(self: Mapper) -> None:
    # each class attribute name once, the nearest class's (an override replaces its
    # base's validator); two methods validating one attribute are refused
    seen: set[str] = set()
    owner: dict[str, str] = {}
    for klass in self.class_.__mro__:
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            spec = getattr(value, "__dm_validates__", None)
            if spec is None:
                continue
            names, opts = spec
            for n in names:
                if n in owner:
                    raise InvalidRequestError(
                        f"Can't map {self.class_.__name__}: {self.class_.__name__}.{n} "
                        f"has two validation functions, {owner[n]}() and {name}(); "
                        "keep one @validates method per attribute"
                    )
                owner[n] = name
                self.validators[n] = (getattr(self.class_, name), opts)


def compile_paths(self: Mapper) -> None:
    """Precompute what the loading and persistence hot paths need."""
    for p in self._props.values():
        if isinstance(p, CompositeProperty) and p.deferred:
            p.defer_columns()
    cols = [p for p in self._props.values() if isinstance(p, ColumnProperty)]
    order = {c: i for i, c in enumerate(
        c for t in self.tables for c in t.columns)}
    cols.sort(key=lambda p: order.get(p.columns[0], len(order)))
    self.column_attrs = AttrsDict((p.key, p) for p in cols)
    # what a plain load SELECTs, in order
    load = [p for p in cols if not p.deferred or p in self._pk_props]
    self._load_props = tuple(load)
    self._load_keys = tuple(p.key for p in load)
    # attributes persisted to the table, per column
    self._persist_props = tuple(
        p for p in cols if p.is_writable
    )
    self._compile_key_sets(cols)
    # row loaders (and their generated row loops) built from the above, shared by
    # every query of this configuration; see loading.rows.entity_loader
    self._loader_cache = {}

def compile_key_sets(self: Mapper, cols: list[ColumnProperty]) -> None:
    """The attribute-name sets the attribute, expiry and flush paths test against."""
    self._expire_keys = frozenset(p.key for p in cols) | frozenset(
        p.key for p in self._props.values() if getattr(p, "is_relationship", False)
    )
    self._column_keys = frozenset(p.key for p in cols)
    self._relationship_keys = tuple(
        p.key for p in self._props.values() if getattr(p, "is_relationship", False)
    )
    # read-only SQL expression attributes the database recomputes when the row
    # changes: a flush that UPDATEs the row expires their loaded values
    self._flush_expire_keys = tuple(
        p.key for p in cols if p.expire_on_flush and not p.is_writable
    )
    # all of them: a new row's values are read on first access
    self._readonly_keys = tuple(p.key for p in cols if not p.is_writable)
    self._deferred_keys = frozenset(
        p.key for p in cols if p.deferred and p not in self._pk_props
    )
    # deferred(..., raiseload=True): reading them unloaded raises instead of loading
    self._raise_keys = frozenset(
        p.key for p in cols if p.deferred and p.raiseload and p not in self._pk_props
    )
    # query_expression() attributes without a default: only a query's
    # with_expression() loads them; unloaded, they read as None without SQL
    self._expression_keys = frozenset(
        p.key for p in cols if p.is_query_expression and p.deferred
    )


def add_property(self: Mapper, key: str, prop: Any) -> None:
    prop = self._coerce_property(key, prop)
    self._add_property(key, prop)
    self._compile_paths()
    invalidate_caches()
    for hook in instrumentation_hooks:
        hook(self)
    if instrumentation_listeners:
        fire_instrumentation("attribute_instrument", self.class_, key,
                              getattr(self.class_, key, None))
    if self.configured and prop.is_relationship:
        prop.do_init()
    for sub in self._subclass_mappers:
        sub._inherit_added(key, prop)

def inherit_added(self: Mapper, key: str, prop: MapperProperty) -> None:
    """A property added to the mapper this one inherits from is this one's too."""
    if key in self._props and self._props[key].parent is self:
        return  # this mapper's own property of that name overrides it
    inheritance.inherit_property(self, key, prop)
    self._compile_paths()
    for hook in instrumentation_hooks:
        hook(self)
    for sub in self._subclass_mappers:
        sub._inherit_added(key, prop)
