"""The :class:`Mapper`: how one class maps to one table.

A Mapper is configuration: it owns the column and relationship properties,
the primary key, and the per-mapper lookup tables that the loading and
persistence layers use on their hot paths (column order, primary-key
positions).  Instrumenting the class (descriptors, ``__setattr__``) is done by
the instance layer through :data:`instrumentation_hooks`, since this layer
must not import it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Column, Table
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql.elements import ColumnElement

from .. import event
from .._util.inspection import InspectionAttr
from ..exc import UnmappedClassError
from . import coercion, inheritance
from . import selectable as selmap
from .cache import CacheSlot
from .composite import CompositeProperty
from .mapper_events import (
    ATTRIBUTE_EVENTS,
    MAPPER_CLASS_DISPATCH,
    MAPPER_EVENTS,
    fire_instrumentation,
    inherit_attribute_listeners,
    instrumentation_listeners,
    listener_applies,
    pending_class_listeners,
)
from .mapper_views import AttrsDict, ClassManager, ColumnsDict, PropsDict
from .properties import ColumnProperty, MapperProperty, SynonymProperty

if TYPE_CHECKING:
    from .registry import registry as Registry

_F = TypeVar("_F", bound=Callable[..., Any])


# instance layer registers instrument/uninstrument functions here
instrumentation_hooks: list[Callable[[Mapper], None]] = []
uninstrumentation_hooks: list[Callable[[Mapper], None]] = []
# run for each mapper configure_mappers() is about to configure, before its
# before_mapper_configured listeners (wiring.py: SQLAlchemy's own mutable extension);
# an error there leaves the mapper unconfigured, as a bad relationship does
configure_hooks: list[Callable[[Mapper], None]] = []
# the cascade walk Mapper.cascade_iterator() gives (wiring.py: cascade.cascade_records):
# (cascade name, state) -> (object, mapper, state, __dict__) of each object reached
cascade_walks: list[Callable[[str, Any], Iterator[tuple[Any, Any, Any, Any]]]] = []

# every live mapper, for configure_mappers()/clear_mappers()
_all_mappers: weakref.WeakSet[Mapper] = weakref.WeakSet()
# every table a mapper maps: a Session autoflushes before a Core SELECT that reads one
mapped_tables: weakref.WeakSet[Any] = weakref.WeakSet()


def _inherited_version(parent: Mapper, col: object, generator: object) -> tuple[object, object]:
    """A subclass without ``version_id_col`` of its own counts versions as its parent."""
    if col is not None or parent.version_id_col is None:
        return col, generator
    return parent.version_id_col, (generator if generator is not None
                                   else parent.version_id_generator)


def _table_to_map(class_: type, local_table: object, parent: Mapper | None,
                  concrete: bool) -> Any:
    """The selectable ``class_`` is mapped to: ``local_table``, the parent's table
    (single-table inheritance), or a join/SELECT coerced by mapping/selectable.py."""
    if parent is not None and local_table is None and not concrete:
        local_table = parent.local_table  # single-table inheritance
    if local_table is None:
        raise ArgumentError(
            f"Can't map {class_.__name__}: it needs a Table (got None); "
            "give __tablename__ with Columns, __table__, or mapper(cls, table)"
        )
    if isinstance(local_table, Table):
        return local_table
    local_table = selmap.coerce(class_, local_table)
    if parent is not None and local_table is not parent.local_table:
        raise ArgumentError(
            f"Can't map {class_.__name__} inheriting {parent.class_.__name__} to "
            f"{selmap.describe(local_table)}: a subclass mapped to a join or a "
            "SELECT is not supported; map it to a Table of its own (joined-table "
            "inheritance) or to no table (single-table inheritance)"
        )
    return local_table

class Mapper(InspectionAttr):
    """Maps ``class_`` to ``local_table``."""

    is_mapper = True

    def _gen_cache_key(self, anon_map: object, bindparams: object) -> tuple[object, ...]:
        # Core's statement cache key of an expression annotated with this mapper (as
        # SQLAlchemy's hybrid_property annotates its expressions): the mapper itself,
        # which lives as long as the mapping
        return (self,)

    # Set by the instance layer when it instruments the class (instance/attributes.py;
    # absent until then): the attribute implementations by key, and the class
    # attributes instrumentation saved to put back on uninstrument.
    _impls: dict[str, Any]
    class_: type
    _dm_saved: dict[str, Any]

    def __init__(
        self,
        class_: type,
        local_table: Any = None,
        properties: dict[str, Any] | None = None,
        primary_key: object = None,
        *,
        include_properties: object = None,
        exclude_properties: object = None,
        column_prefix: str | None = None,
        version_id_col: object = None,
        version_id_generator: object = None,
        extension: object = None,
        eager_defaults: bool = False,
        confirm_deleted_rows: bool = True,
        batch: bool = True,
        registry: Registry | None = None,
        non_primary: bool = False,
        polymorphic_on: object = None,
        polymorphic_identity: Any = None,
        inherits: object = None,
        inherit_condition: object = None,
        inherit_foreign_keys: object = None,
        concrete: bool = False,
        with_polymorphic: object = None,
        polymorphic_load: Any = None,
        polymorphic_abstract: bool = False,
        always_refresh: bool = False,
        allow_partial_pks: bool = True,
        passive_deletes: bool = False,
        passive_updates: bool = True,
        legacy_is_orphan: bool = False,
    ) -> None:
        if not isinstance(class_, type):
            raise ArgumentError(f"Can't map {class_!r}: a mapper needs a class")
        if "_dm_mapper" in class_.__dict__:
            raise ArgumentError(
                f"Can't map class {class_.__name__} twice: it already has a mapper; "
                "call clear_mappers() or registry.dispose() first"
            )
        parent = inheritance.parent_mapper(class_, inherits, concrete)
        local_table = _table_to_map(class_, local_table, parent, concrete)
        # a join of tables or a SELECT: see mapping/selectable.py
        self.non_table = not isinstance(local_table, Table)
        self.class_ = class_
        self.local_table: Any = local_table
        self.persist_selectable: Any = local_table
        # the table's name, or a description of the join or SELECT (plans, messages)
        self._table_name: str = selmap.describe(local_table)
        self.registry = registry
        self.eager_defaults = eager_defaults
        self.confirm_deleted_rows = confirm_deleted_rows
        self.batch = batch
        self.always_refresh = always_refresh
        self.allow_partial_pks = allow_partial_pks
        self.passive_deletes = passive_deletes
        self.passive_updates = passive_updates
        # False: an object is an orphan once any delete-orphan parent lets go of it;
        # True: only once every one of them has
        self.legacy_is_orphan = legacy_is_orphan
        self.polymorphic_identity = polymorphic_identity
        self.base_mapper = self
        self.inherits: Mapper | None = None
        # the class whose name identity keys carry: the base class of a hierarchy
        self._identity_class: type = class_
        self.tables: list[Table] = [local_table]
        if self.non_table and parent is None:
            selmap.setup(self)
        self.single = False
        self.concrete = False
        self.inherit_condition: Any = None
        self._subclass_mappers: list[Mapper] = []
        # the class body's order of names, when declarative mapped it (all_orm_descriptors)
        self._body_order: tuple[str, ...] = ()
        self.polymorphic_on: Any = None
        self.polymorphic_map: dict[Any, Mapper] = {}
        # set for mappers of a hierarchy only (see mapping/inheritance.py); plain
        # mappers keep None so the loading and flush hot paths test one attribute
        self._poly: Any = None
        self.with_polymorphic: Any = None
        self.polymorphic_load = polymorphic_load
        # a class of the hierarchy whose objects are those of its subclasses only: it
        # has no identity of its own and can't be instantiated
        self.polymorphic_abstract = polymorphic_abstract
        self._inherit_sync: tuple[tuple[str, str], ...] = ()
        self.configured = False
        self.extensions: list[Any] = []
        self.dispatch = event.Dispatch(
            f"mapper of {class_.__name__}", MAPPER_EVENTS | ATTRIBUTE_EVENTS,
            (MAPPER_CLASS_DISPATCH,)
        )
        # the higher layers' caches for this mapper (see mapping/cache.py)
        self.cache: dict[CacheSlot[Any], Any] = {}
        self._props: PropsDict = PropsDict()
        self._col_to_prop: dict[Any, ColumnProperty] = {}
        self.validators: dict[str, tuple[Any, dict[str, Any]]] = {}

        if parent is not None and concrete:
            inheritance.setup_concrete(self, parent)
            parent = None  # nothing else is shared with the base's mapper
        if parent is not None:
            inheritance.setup_inherits(self, parent, local_table, inherit_condition)
            version_id_col, version_id_generator = _inherited_version(
                parent, version_id_col, version_id_generator)
        self._build_properties(
            properties or {}, include_properties, exclude_properties, column_prefix
        )
        self._setup_primary_key(primary_key)
        self._setup_version(version_id_col, version_id_generator)
        if not self.concrete:
            inheritance.setup_polymorphic(self, polymorphic_on, polymorphic_identity,
                                          with_polymorphic)
        elif polymorphic_on is not None:
            inheritance.setup_concrete_discriminator(self, polymorphic_on,
                                                     polymorphic_identity)
        if polymorphic_abstract and self.polymorphic_on is None:
            raise InvalidRequestError(
                "The Mapper.polymorphic_abstract parameter may only be used on a mapper "
                "hierarchy which includes the Mapper.polymorphic_on parameter at its "
                f"base: {class_.__name__} is mapped polymorphic_abstract=True, and no "
                "class of its hierarchy names a discriminator column (give the base "
                "class's mapper polymorphic_on=<column>)")
        if self.non_table and self._poly is None:
            # no hierarchy, but several tables (or a subquery) to read and write:
            # the query and flush layers' multi-table paths key on _poly
            self._poly = inheritance.PolymorphicInfo(self)
        self._collect_validators()
        self._compile_paths()
        self._register()
        self._instrument(parent)
        if extension is not None:
            self._attach_extensions(extension)
        recon = _reconstructor_of(class_)
        if recon is not None:
            found: dict[type, Any] = {}

            def call_reconstructor(target: object, _context: object, name: str = recon) -> None:
                cls = type(target)
                method = found.get(cls)
                if method is None:
                    # an @reconstructor __init__: the class's own, not the instrumented one
                    method = found[cls] = _marked(getattr(cls, name)) or getattr(cls, name)
                method(target)

            self.dispatch.add("load", call_reconstructor, {})
        if "after_mapper_constructed" in self.dispatch:
            self.dispatch.fire("after_mapper_constructed", self, class_)

    def _register(self) -> None:
        """Make the mapper known: the class's mapper slot, the set of mappers and of
        mapped tables; every cache is invalidated (see mapping/cache.py)."""
        self.class_._dm_mapper = self  # type: ignore[attr-defined]  # the class's mapper slot
        _all_mappers.add(self)
        mapped_tables.add(self.local_table)
        if self.non_table:
            mapped_tables.update(self.tables)
        invalidate_caches()
        coercion.install(self)

    def _instrument(self, parent: Mapper | None) -> None:
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

    def _attach_extensions(self, extension: object) -> None:
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

    # -- construction -------------------------------------------------
    def _build_properties(
        self,
        properties: dict[str, Any],
        include: Any,
        exclude: Any,
        prefix: str | None,
    ) -> None:
        explicit_cols = self._map_explicit_properties(properties)
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
            self._map_table_column(key, col)

    def _map_explicit_properties(self, properties: dict[str, Any]) -> set[object]:
        """Map the properties given by name; the columns they (and the synonyms and
        inherited properties) map, which the table's own columns leave alone."""
        explicit_cols: set[Any] = set()
        for key, value in properties.items():
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

    def _map_table_column(self, key: str, col: Column[Any]) -> None:
        """Map a column of the table at ``key``: a new column property, or one more
        column of the property already there (an inherited one: this mapper's copy)."""
        if key not in self._props:
            self._add_property(key, ColumnProperty(col))
            return
        existing = self._props[key]
        if isinstance(existing, ColumnProperty) and col not in existing.columns:
            if self.non_table:
                selmap.check_combined(self, key, existing, col)
            if existing.parent is not self:  # inherited: this mapper's own copy
                inheritance.extend_inherited_column(self, key, existing, col)
                return
            existing.columns.append(col)
            self._col_to_prop[col] = existing

    def _map_synonym_column(self, key: str, prop: Any) -> object:
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

    def _coerce_property(self, key: str, value: object) -> MapperProperty:
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

    def _add_property(self, key: str, prop: MapperProperty) -> None:
        if key.startswith("_dm_") or key in ("__dict__", "__class__"):
            raise ArgumentError(
                f"Can't map {self.class_.__name__}.{key}: that name is reserved; rename the attribute"
            )
        prop.set_parent(self, key)
        self._props[key] = prop
        if isinstance(prop, ColumnProperty):
            for c in prop.columns:
                self._col_to_prop.setdefault(c, prop)
            if self.non_table:
                selmap.add_column_lineage(self, prop)

    def _setup_primary_key(self, primary_key: Any) -> None:
        if primary_key is not None:
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
        self.primary_key: tuple[Column[Any], ...] = tuple(cols)
        self._pk_props: tuple[ColumnProperty, ...] = tuple(self._col_to_prop[c] for c in cols)
        self._pk_keys: tuple[str, ...] = tuple(p.key for p in self._pk_props)

    def _resolve_column(self, c: object) -> Any:
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

    def _setup_version(self, version_id_col: Any, generator: Any) -> None:
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
        self.version_id_generator: Any = generator

    def _collect_validators(self) -> None:
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

    def _delete_orphan_parents(self) -> list[Any]:
        """The delete-orphan relationships of any mapper whose targets are this class."""
        return [p for m in list(_all_mappers) for p in m._props.values()
                if getattr(p, "is_relationship", False) and p._initialized
                and p.mapper is self and p.cascade.delete_orphan and not p.viewonly]

    def _is_orphan(self, state: Any) -> bool:
        """Whether the object of ``state`` counts as a delete-orphan orphan.

        Its parent through a delete-orphan relationship is read from the reverse
        reference on the object (a backref); when that was never set, a persistent
        object is taken to have its parent (the database row says so) and a new one
        not.  ``legacy_is_orphan=False`` (default): an orphan when any such
        relationship has no parent; ``True``: only when none has."""
        rels = self._delete_orphan_parents()
        if not rels:
            return False
        obj = state.obj()
        d = obj.__dict__ if obj is not None else {}
        persistent = state._key is not None
        found = []
        for prop in rels:
            has: bool | None = None
            for rev in prop._reverse_property:
                if rev.uselist:
                    continue
                if rev.key in d:
                    has = d[rev.key] is not None
                    break
                # not loaded: the foreign key columns it reads from, when loaded
                keys = [self._col_to_prop[c].key for c in rev.local_columns
                        if c in self._col_to_prop]
                if keys and all(k in d for k in keys):
                    has = all(d[k] is not None for k in keys)
                    break
            found.append(persistent if has is None else has)
        return not any(found) if self.legacy_is_orphan else not all(found)

    def _compile_paths(self) -> None:
        """Precompute what the loading and persistence hot paths need."""
        for p in self._props.values():
            if isinstance(p, CompositeProperty) and p.deferred:
                p.defer_columns()
        cols = [p for p in self._props.values() if isinstance(p, ColumnProperty)]
        order = {c: i for i, c in enumerate(
            c for t in self.tables for c in t.columns)}
        cols.sort(key=lambda p: order.get(p.columns[0], len(order)))
        self.column_attrs: AttrsDict = AttrsDict((p.key, p) for p in cols)
        # what a plain load SELECTs, in order
        load = [p for p in cols if not p.deferred or p in self._pk_props]
        self._load_props: tuple[ColumnProperty, ...] = tuple(load)
        self._load_keys: tuple[str, ...] = tuple(p.key for p in load)
        # attributes persisted to the table, per column
        self._persist_props: tuple[ColumnProperty, ...] = tuple(
            p for p in cols if p.is_writable
        )
        self._compile_key_sets(cols)
        # row loaders (and their generated row loops) built from the above, shared by
        # every query of this configuration; see loading.rows.entity_loader
        self._loader_cache: dict[Any, Any] = {}

    def _compile_key_sets(self, cols: list[ColumnProperty]) -> None:
        """The attribute-name sets the attribute, expiry and flush paths test against."""
        self._expire_keys: frozenset[str] = frozenset(p.key for p in cols) | frozenset(
            p.key for p in self._props.values() if getattr(p, "is_relationship", False)
        )
        self._column_keys: frozenset[str] = frozenset(p.key for p in cols)
        self._relationship_keys: tuple[str, ...] = tuple(
            p.key for p in self._props.values() if getattr(p, "is_relationship", False)
        )
        # read-only SQL expression attributes the database recomputes when the row
        # changes: a flush that UPDATEs the row expires their loaded values
        self._flush_expire_keys: tuple[str, ...] = tuple(
            p.key for p in cols if p.expire_on_flush and not p.is_writable
        )
        # all of them: a new row's values are read on first access
        self._readonly_keys: tuple[str, ...] = tuple(p.key for p in cols if not p.is_writable)
        self._deferred_keys: frozenset[str] = frozenset(
            p.key for p in cols if p.deferred and p not in self._pk_props
        )
        # deferred(..., raiseload=True): reading them unloaded raises instead of loading
        self._raise_keys: frozenset[str] = frozenset(
            p.key for p in cols if p.deferred and p.raiseload and p not in self._pk_props
        )
        # query_expression() attributes without a default: only a query's
        # with_expression() loads them; unloaded, they read as None without SQL
        self._expression_keys: frozenset[str] = frozenset(
            p.key for p in cols if p.is_query_expression and p.deferred
        )

    def _maps_table(self, table: object) -> bool:
        return table is self.local_table or (
            (self.inherits is not None or self.non_table) and table in self.tables)

    # -- public surface ----------------------------------------------------
    @property
    def mapped_table(self) -> Any:  # a Table, or a join or SELECT (mapping/selectable.py)
        return self.local_table

    @property
    def class_manager(self) -> ClassManager:
        """The instrumentation of the mapped class (:class:`ClassManager`)."""
        return ClassManager(self)

    @property
    def selectable(self) -> Any:
        return self.persist_selectable

    def iterate_to_root(self) -> Iterator[Mapper]:
        m: Mapper | None = self
        while m is not None:
            yield m
            m = m.inherits

    @property
    def self_and_descendants(self) -> list[Mapper]:
        out = [self]
        for sub in self._subclass_mappers:
            out.extend(sub.self_and_descendants)
        return out

    def polymorphic_iterator(self) -> Iterator[Mapper]:
        return iter(self.self_and_descendants)

    @property
    def _with_polymorphic_mappers(self) -> list[Mapper]:
        return inheritance.with_polymorphic_mappers(self)

    @property
    def with_polymorphic_mappers(self) -> list[Mapper]:
        """The subclass mappers whose columns every query of this mapper also loads
        (``with_polymorphic`` and ``polymorphic_load="inline"``); empty when none."""
        return inheritance.with_polymorphic_mappers(self)

    @property
    def attrs(self) -> AttrsDict:
        configure_mappers()
        return AttrsDict(self._props)

    @property
    def all_orm_descriptors(self) -> AttrsDict:
        # in the order the classes declare them (PEP 520), nearest class first, a name
        # a subclass declares again (or the mapper installs on it) in its superclass's
        # place: mapped attributes and the other ORM-aware descriptors (hybrids and
        # association proxies say so with ``is_attribute``); then mapped attributes no
        # class body names (columns of a __table__ given whole)
        props = self._props
        mro = self.class_.__mro__[:-1]
        owner: dict[str, type] = {}
        for base in mro:
            for k in base.__dict__:
                owner[k] = base  # the last, most basic class that has it
        found: dict[str, Any] = {}
        for base in mro:
            own = base.__dict__.get("_dm_mapper")
            written = own._body_order if own is not None and own.class_ is base else ()
            for k in (*written, *base.__dict__):
                if k in found or owner.get(k) is not base:
                    continue
                if k in props:
                    found[k] = getattr(self.class_, k)
                    continue
                value = next(b.__dict__[k] for b in mro if k in b.__dict__)
                if getattr(value, "is_attribute", False) is True:
                    found[k] = value
        for k in props:
            if k not in found:
                found[k] = getattr(self.class_, k)
        return AttrsDict(found.items())

    @property
    def columns(self) -> ColumnsDict:
        return ColumnsDict(
            (k, p.columns[0]) for k, p in self._props.items() if isinstance(p, ColumnProperty)
        )

    c = columns

    @property
    def relationships(self) -> AttrsDict:
        configure_mappers()
        return AttrsDict((k, p) for k, p in self._props.items() if p.is_relationship)

    @property
    def composites(self) -> AttrsDict:
        """The mapper's ``composite()`` properties by name."""
        return AttrsDict((k, p) for k, p in self._props.items()
                         if isinstance(p, CompositeProperty))

    @property
    def synonyms(self) -> AttrsDict:
        return AttrsDict((k, p) for k, p in self._props.items() if isinstance(p, SynonymProperty))

    @property
    def iterate_properties(self) -> Iterator[MapperProperty]:
        configure_mappers()
        return iter(self._props.values())

    @property
    def entity(self) -> type:
        return self.class_

    @property
    def mapper(self) -> Mapper:
        return self

    def has_property(self, key: str) -> bool:
        return key in self._props

    def get_property(self, key: str) -> MapperProperty:
        if not self.configured:
            configure_mappers()
        try:
            prop: MapperProperty = self._props[key]
            return prop
        except KeyError:
            raise InvalidRequestError(
                f"Mapper for {self.class_.__name__} has no property {key!r}; its mapped "
                f"attributes are {', '.join(sorted(self._props))}"
            ) from None

    def get_property_by_column(self, column: object) -> ColumnProperty:
        return self._col_to_prop[column]

    def add_property(self, key: str, prop: Any) -> None:
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

    def _inherit_added(self, key: str, prop: MapperProperty) -> None:
        """A property added to the mapper this one inherits from is this one's too."""
        if key in self._props and self._props[key].parent is self:
            return  # this mapper's own property of that name overrides it
        inheritance.inherit_property(self, key, prop)
        self._compile_paths()
        for hook in instrumentation_hooks:
            hook(self)
        for sub in self._subclass_mappers:
            sub._inherit_added(key, prop)

    def identity_key_from_row(self, row: Any, identity_token: Any = None) -> tuple[Any, ...]:
        if hasattr(row, "_mapping"):
            m = row._mapping
            ident = tuple(m[c] for c in self.primary_key)
        else:
            ident = tuple(row[c] for c in self.primary_key)
        return (self._identity_class, ident, identity_token)

    def identity_key_from_primary_key(
        self, primary_key: Any, identity_token: Any = None
    ) -> tuple[Any, ...]:
        return (self._identity_class, tuple(primary_key), identity_token)

    def primary_key_from_instance(self, obj: object) -> tuple[Any, ...]:
        d = obj.__dict__
        return tuple(d.get(k) for k in self._pk_keys)

    def identity_key_from_instance(self, obj: object) -> tuple[Any, ...]:
        return (self._identity_class, self.primary_key_from_instance(obj), None)

    def common_parent(self, other: Mapper) -> bool:
        return self.base_mapper is other.base_mapper

    def cascade_iterator(self, type_: str, state: object, halt_on: Callable[[Any], bool] | None = None
                         ) -> Iterator[tuple[Any, Any, Any, Any]]:
        """(object, mapper, state, ``__dict__``) of each object reached from the object
        of ``state`` along relationships whose cascade includes ``type_``
        (``"save-update"``, ``"delete"``, ``"merge"``, ``"expunge"``,
        ``"refresh-expire"``); ``halt_on(state)`` true leaves that object out."""
        if type_ not in ("save-update", "delete", "merge", "expunge", "refresh-expire"):
            raise ArgumentError(
                f"Can't walk cascade {type_!r} of {self.class_.__name__}: name one of "
                "'save-update', 'delete', 'merge', 'expunge', 'refresh-expire'")
        for walk in cascade_walks:
            for rec in walk(type_, state):
                if halt_on is None or not halt_on(rec[2]):
                    yield rec

    def isa(self, other: Mapper) -> bool:
        return any(m is other for m in self.iterate_to_root())

    def __repr__(self) -> str:
        return f"<Mapper {self.class_.__name__}->{selmap.describe(self.local_table)}>"

    def dispose(self, *, invalidate: bool = True) -> None:
        """Unmap this class.  ``invalidate=False``: the caller empties every mapper's
        caches once after disposing several (``clear_mappers()``, ``registry.dispose()``:
        emptying them after each one made unmapping n mappers cost n * n)."""
        self._loader_cache = {}
        inheritance.forget(self)
        if instrumentation_listeners and self.class_.__dict__.get("_dm_mapper") is self:
            fire_instrumentation("class_uninstrument", self.class_)
        for hook in uninstrumentation_hooks:
            hook(self)
        if self.class_.__dict__.get("_dm_mapper") is self:
            delattr(self.class_, "_dm_mapper")
        coercion.uninstall(self)
        if invalidate:
            invalidate_caches()  # this mapper's too: it may still be referenced
        else:
            self._clear_caches()
        _all_mappers.discard(self)

    def _clear_caches(self) -> None:
        self.cache.clear()
        for p in self._props.values():
            c = getattr(p, "cache", None)
            if c:
                c.clear()

    def _post_configure(self) -> None:
        for prop in list(self._props.values()):
            if prop.is_relationship and prop.parent is self:
                prop.do_init()
            elif isinstance(prop, CompositeProperty) and prop.parent is self:
                prop.attribute_keys  # noqa: B018  (resolved now: a bad part is refused here)
        self._compile_paths()
        self.configured = True


def invalidate_caches() -> None:
    """Empty the caches of every mapper and relationship (mapping/cache.py): the
    mappers or their properties changed."""
    for m in list(_all_mappers):
        m._clear_caches()


_configuring = False


def configure_mappers() -> None:
    """Resolve string targets and relationship joins of every mapper, then freeze them."""
    global _configuring
    if _configuring:
        return
    todo = [m for m in list(_all_mappers) if not m.configured]
    if not todo:
        return
    registries = _registries_of(todo)
    _fire_configure("before_configured", registries)
    _configuring = True
    try:
        todo.sort(key=lambda m: m.class_.__name__)
        for m in todo:
            for hook in configure_hooks:
                hook(m)
            if "before_mapper_configured" in m.dispatch:
                m.dispatch.fire("before_mapper_configured", m, m.class_)
        _post_configure_all(todo)
        invalidate_caches()
        for m in todo:
            if "mapper_configured" in m.dispatch:
                m.dispatch.fire("mapper_configured", m, m.class_)
    finally:
        _configuring = False
    _fire_configure("after_configured", registries)


def _registries_of(mappers: list[Mapper]) -> list[Registry]:
    """The registries of ``mappers``, each once, in order."""
    registries: list[Registry] = []
    for m in mappers:
        reg = m.registry
        if reg is not None and all(reg is not r for r in registries):
            registries.append(reg)
    return registries


def _post_configure_all(mappers: list[Mapper]) -> None:
    """Configure each mapper; on an error, leave them all unconfigured and raise the
    first one."""
    errors = []
    for m in mappers:
        try:
            m._post_configure()
        except (ArgumentError, InvalidRequestError) as e:
            errors.append(e)
    if errors:
        for m in mappers:
            m.configured = False
        raise errors[0]


def _fire_configure(name: str, registries: list[Registry]) -> None:
    if name in MAPPER_CLASS_DISPATCH:
        MAPPER_CLASS_DISPATCH.fire(name)
    for reg in registries:
        d = getattr(reg, "_dm_configure_dispatch", None)
        if d is not None and name in d:
            d.fire(name, reg)


def reconstructor(fn: _F) -> _F:
    """Decorate a method of a mapped class to be called (with no arguments) on each
    object the ORM loads from a row, after its attributes are set (``__init__`` is not
    called then).  Subclasses inherit it; one per class."""
    fn.__dm_reconstructor__ = True  # type: ignore[attr-defined]  # a marker the mapper reads
    return fn


def _marked(value: object) -> Any:
    """The ``@reconstructor`` function ``value`` is or wraps (an instrumented
    ``__init__`` keeps the class's own as ``__wrapped__``), else None."""
    for _ in range(8):
        if getattr(value, "__dm_reconstructor__", False):
            return value
        value = getattr(value, "__wrapped__", None)
        if value is None:
            return None
    return None


def _reconstructor_of(class_: type) -> str | None:
    """The name of ``class_``'s ``@reconstructor`` method (the nearest in its MRO)."""
    for klass in class_.__mro__:
        for name, value in klass.__dict__.items():
            if _marked(value) is not None:
                return name
    return None


def class_mapper(class_: object, configure: bool = True) -> Mapper:
    """The mapper of ``class_``; raises UnmappedClassError if there is none."""
    mapper = _mapper_or_none(class_)
    if mapper is None:
        if not isinstance(class_, type):
            kind = type(class_).__name__
            hint = ("pass the class itself" if _mapper_or_none(type(class_)) is not None
                    else f"pass a mapped class (class {kind} is not mapped)")
            raise UnmappedClassError(
                f"Can't use the {kind} object {class_!r} where a mapped class is required: "
                f"it is not a class; {hint}"
            )
        name = getattr(class_, "__name__", repr(class_))
        raise UnmappedClassError(
            f"Class {name!r} is not mapped; map it with declarative_base(), "
            "registry.map_imperatively() or mapper()"
        )
    if configure and not mapper.configured:
        configure_mappers()
    return mapper


def _mapper_or_none(class_: object) -> Mapper | None:
    if isinstance(class_, Mapper):
        return class_
    if not isinstance(class_, type):
        return None
    m = class_.__dict__.get("_dm_mapper")
    return m if isinstance(m, Mapper) else None
