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
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from sqlalchemy import Column, Table
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql.elements import ColumnElement

from .. import event
from ..exc import UnmappedClassError
from . import coercion, inheritance
from . import selectable as selmap
from .attributes import QueryableAttribute
from .cache import CacheSlot
from .properties import ColumnProperty, MapperProperty, SynonymProperty

_F = TypeVar("_F", bound=Callable[..., Any])

MAPPER_EVENTS = frozenset(
    {
        "before_insert", "after_insert", "before_update", "after_update",
        "before_delete", "after_delete", "mapper_configured", "before_configured",
        "after_configured", "instrument_class", "before_mapper_configured",
        "after_mapper_constructed",
        # instance events share the mapper's dispatch
        "load", "refresh", "refresh_flush", "expire", "init", "init_failure",
        "pickle", "unpickle", "first_init",
    }
)
ATTRIBUTE_EVENTS = frozenset(
    {"set", "append", "remove", "init_scalar", "init_collection", "modified",
     "bulk_replace", "dispose_collection"}
)

# fired around configure_mappers(): on the Mapper class (no arguments) and on each
# registry whose mappers it configures (the registry); not on single mappers
CONFIGURE_EVENTS = frozenset({"before_configured", "after_configured"})
# what a registry (or a declarative base, standing for its registry) can be listened on for
TYPE_RESOLVE_EVENT = "resolve_type_annotation"
REGISTRY_EVENTS = CONFIGURE_EVENTS | {TYPE_RESOLVE_EVENT}
# instrumentation events: listened for on any class (``object``: every class), they fire
# when a mapper instruments or uninstruments that class or (propagate=True, the default)
# a subclass of it
INSTRUMENTATION_EVENTS = frozenset({"class_instrument", "class_uninstrument",
                                    "attribute_instrument"})
# listeners on the Mapper class itself: they apply to every mapper
MAPPER_CLASS_DISPATCH = event.Dispatch("Mapper class", MAPPER_EVENTS | ATTRIBUTE_EVENTS)

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
# class -> propagate-listeners registered on an unmapped base class
_pending_class_listeners: list[tuple[type, str, Any, dict[str, Any]]] = []


class _Props(dict[str, Any]):
    """A dict that also allows attribute access (``mapper.attrs.name``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class _Columns(_Props):
    """``mapper.columns``: keyed by attribute name; iterating yields the Columns."""

    def __iter__(self) -> Any:
        return iter(list(self.values()))


class _Attrs(_Props):
    """``mapper.attrs``: keyed by attribute name (``in``, ``[name]``, ``.name``,
    ``keys()``); iterating yields the properties, as SQLAlchemy's does."""

    def __iter__(self) -> Any:
        return iter(list(self.values()))


class ClassManager(Mapping[str, Any]):
    """The instrumentation of one mapped class (``mapper.class_manager``): a read-only
    mapping of its instrumented attributes by key (the class-level descriptors, e.g.
    ``manager["name"] is User.name``), with ``dispatch``, the listeners of the class's
    instance and mapper events (``manager.dispatch.load(obj, ctx)`` fires ``load``)."""

    is_mapped = True

    def __init__(self, mapper: Mapper) -> None:
        self.mapper = mapper
        self.class_ = mapper.class_

    @property
    def dispatch(self) -> event.Dispatch:
        return self.mapper.dispatch

    def _impls(self) -> dict[str, Any]:
        impls: dict[str, Any] = self.mapper.__dict__.get("_impls", {})
        return impls

    def __getitem__(self, key: str) -> Any:
        return self._impls()[key].attr

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._impls()))

    def __len__(self) -> int:
        return len(self._impls())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClassManager) and other.mapper is self.mapper

    def __hash__(self) -> int:
        return hash(self.mapper)

    def __repr__(self) -> str:
        return f"<ClassManager of {self.class_.__name__}: {', '.join(self)}>"



def _inherited_version(parent: Mapper, col: object, generator: object) -> tuple[Any, Any]:
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

class Mapper:
    """Maps ``class_`` to ``local_table``."""

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
        registry: Any = None,
        non_primary: bool = False,
        polymorphic_on: object = None,
        polymorphic_identity: Any = None,
        inherits: object = None,
        inherit_condition: object = None,
        inherit_foreign_keys: object = None,
        concrete: bool = False,
        with_polymorphic: object = None,
        polymorphic_load: Any = None,
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
        self.polymorphic_on: Any = None
        self.polymorphic_map: dict[Any, Mapper] = {}
        # set for mappers of a hierarchy only (see mapping/inheritance.py); plain
        # mappers keep None so the loading and flush hot paths test one attribute
        self._poly: Any = None
        self.with_polymorphic: Any = None
        self.polymorphic_load = polymorphic_load
        self._inherit_sync: tuple[tuple[str, str], ...] = ()
        self.configured = False
        self.extensions: list[Any] = []
        self.dispatch = event.Dispatch(
            f"mapper of {class_.__name__}", MAPPER_EVENTS | ATTRIBUTE_EVENTS,
            (MAPPER_CLASS_DISPATCH,)
        )
        # the higher layers' caches for this mapper (see mapping/cache.py)
        self.cache: dict[CacheSlot[Any], Any] = {}
        self._props: _Props = _Props()
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
            def call_reconstructor(target: object, _context: object, name: str = recon) -> None:
                getattr(target, name)()

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
        for base, name, fn, kw in list(_pending_class_listeners):
            if _listener_applies(base, class_, kw):
                self.dispatch.add(name, fn, kw)
        if "instrument_class" in self.dispatch:
            # before the class is instrumented: a listener may still change it
            self.dispatch.fire("instrument_class", self, class_)
        for hook in instrumentation_hooks:
            hook(self)
        if parent is not None:
            inherit_attribute_listeners(self, parent)
        if _instrumentation_listeners:
            _fire_instrumentation("class_instrument", class_)
            for key in list(self._props):
                _fire_instrumentation("attribute_instrument", class_, key,
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
        include_set = set(include) if include is not None else None
        exclude_set = set(exclude) if exclude is not None else set()
        for col in self.local_table.columns:
            if col in explicit_cols:
                continue
            key = (prefix or "") + col.key
            if include_set is not None and col.key not in include_set and col not in include_set:
                continue
            if col.key in exclude_set or col in exclude_set:
                continue
            if key in self._props:
                existing = self._props[key]
                if isinstance(existing, ColumnProperty) and col not in existing.columns:
                    if self.non_table:
                        selmap.check_combined(self, key, existing, col)
                    if existing.parent is not self:  # inherited: this mapper's own copy
                        inheritance.extend_inherited_column(self, key, existing, col)
                        continue
                    existing.columns.append(col)
                    self._col_to_prop[col] = existing
                continue
            self._add_property(key, ColumnProperty(col))

    def _map_synonym_column(self, key: str, prop: Any) -> Any:
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
        for klass in reversed(self.class_.__mro__):
            for name, value in vars(klass).items():
                spec = getattr(value, "__dm_validates__", None)
                if spec is None:
                    continue
                names, opts = spec
                for n in names:
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
        cols = [p for p in self._props.values() if isinstance(p, ColumnProperty)]
        order = {c: i for i, c in enumerate(
            c for t in self.tables for c in t.columns)}
        cols.sort(key=lambda p: order.get(p.columns[0], len(order)))
        self.column_attrs: _Attrs = _Attrs((p.key, p) for p in cols)
        # what a plain load SELECTs, in order
        load = [p for p in cols if not p.deferred or p in self._pk_props]
        self._load_props: tuple[ColumnProperty, ...] = tuple(load)
        self._load_keys: tuple[str, ...] = tuple(p.key for p in load)
        self._load_columns: tuple[Any, ...] = tuple(p.columns[0] for p in load)
        # attributes persisted to the table, per column
        self._persist_props: tuple[ColumnProperty, ...] = tuple(
            p for p in cols if p.is_writable
        )
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
        # row loaders (and their generated row loops) built from the above, shared by
        # every query of this configuration; see loading.rows.entity_loader
        self._loader_cache: dict[Any, Any] = {}

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
    def attrs(self) -> _Attrs:
        configure_mappers()
        return _Attrs(self._props)

    @property
    def all_orm_descriptors(self) -> _Attrs:
        found = {k: getattr(self.class_, k) for k in self._props}
        # then the class's other ORM-aware descriptors (hybrids, association proxies:
        # they say so with ``is_attribute``), nearest class first
        for base in self.class_.__mro__:
            for k, value in base.__dict__.items():
                if k not in found and getattr(value, "is_attribute", False) is True:
                    found[k] = value
        return _Attrs(found.items())

    @property
    def columns(self) -> _Columns:
        return _Columns(
            (k, p.columns[0]) for k, p in self._props.items() if isinstance(p, ColumnProperty)
        )

    c = columns

    @property
    def relationships(self) -> _Attrs:
        configure_mappers()
        return _Attrs((k, p) for k, p in self._props.items() if p.is_relationship)

    @property
    def synonyms(self) -> _Attrs:
        return _Attrs((k, p) for k, p in self._props.items() if isinstance(p, SynonymProperty))

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
        if _instrumentation_listeners:
            _fire_instrumentation("attribute_instrument", self.class_, key,
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

    def cascade_iterator(self, type_: str, state: Any, halt_on: Callable[[Any], bool] | None = None
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
        if _instrumentation_listeners and self.class_.__dict__.get("_dm_mapper") is self:
            _fire_instrumentation("class_uninstrument", self.class_)
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
    registries: list[Any] = []
    for m in todo:
        reg = getattr(m, "registry", None)
        if reg is not None and all(reg is not r for r in registries):
            registries.append(reg)
    _fire_configure("before_configured", registries)
    _configuring = True
    try:
        todo.sort(key=lambda m: m.class_.__name__)
        for m in todo:
            for hook in configure_hooks:
                hook(m)
            if "before_mapper_configured" in m.dispatch:
                m.dispatch.fire("before_mapper_configured", m, m.class_)
        errors = []
        for m in todo:
            try:
                m._post_configure()
            except (ArgumentError, InvalidRequestError) as e:
                errors.append(e)
        if errors:
            for m in todo:
                m.configured = False
            raise errors[0]
        invalidate_caches()
        for m in todo:
            if "mapper_configured" in m.dispatch:
                m.dispatch.fire("mapper_configured", m, m.class_)
    finally:
        _configuring = False
    _fire_configure("after_configured", registries)


def _fire_configure(name: str, registries: list[Any]) -> None:
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


def _reconstructor_of(class_: type) -> str | None:
    """The name of ``class_``'s ``@reconstructor`` method (the nearest in its MRO)."""
    for klass in class_.__mro__:
        for name, value in klass.__dict__.items():
            if getattr(value, "__dm_reconstructor__", False):
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


def mapper_of_instance(obj: object) -> Mapper | None:
    """The mapper of ``obj``'s class, or None (hot path: no configure step)."""
    m = type(obj).__dict__.get("_dm_mapper")
    return m if isinstance(m, Mapper) else None


def attribute_event_resolver(target: object, name: str, kw: dict[str, Any]) -> list[event.Dispatch] | None:
    if name in INSTRUMENTATION_EVENTS:
        if not isinstance(target, type):
            raise InvalidRequestError(
                f"Can't listen for {name!r} on {target!r}: instrumentation events are "
                "listened for on a class (object: every class)"
            )
        return [_InstrumentationTarget(target)]  # type: ignore[list-item]
    if target is Mapper:
        return [MAPPER_CLASS_DISPATCH]
    reg_dispatch = getattr(target, "_dm_configure_dispatch", None)
    if reg_dispatch is not None:  # a registry
        return [reg_dispatch]
    if name in REGISTRY_EVENTS:
        base_reg = getattr(target, "_dm_registry", None) if isinstance(target, type) else None
        if base_reg is not None and _mapper_or_none(target) is None:
            return [base_reg._dm_configure_dispatch]  # a declarative base: its registry
        if name == TYPE_RESOLVE_EVENT:
            raise InvalidRequestError(
                f"Can't listen for {name!r} on {target!r}: it fires while a registry maps "
                "annotated classes; listen on the registry or a declarative base"
            )
        if isinstance(target, Mapper) or _mapper_or_none(target) is not None:
            raise InvalidRequestError(
                f"Can't listen for {name!r} on {target!r}: it fires for a whole "
                "configuration, not one mapper; listen on the Mapper class, a registry or "
                "a declarative base"
            )
    if isinstance(target, Mapper):
        return [_Inheriting(target.dispatch, _sub_mapper_dispatches(target))]  # type: ignore[list-item]
    if isinstance(target, QueryableAttribute):
        if name not in ATTRIBUTE_EVENTS:
            raise InvalidRequestError(
                f"Can't listen for {name!r} on attribute {target}: attribute events are "
                f"{', '.join(sorted(ATTRIBUTE_EVENTS))}"
            )
        return [_Inheriting(attribute_dispatch(target),  # type: ignore[list-item]
                            _sub_attribute_dispatches(target))]
    if isinstance(target, type):
        m = _mapper_or_none(target)
        if m is not None:
            return [_Inheriting(m.dispatch, _sub_mapper_dispatches(m))]  # type: ignore[list-item]
        # an unmapped class: its mapper, when it is mapped, gets the listener; so do
        # its subclasses' with propagate=True (always, for a declarative base)
        return [_PropagatingDispatch(target, name)]  # type: ignore[list-item]
    return None


# How many mapped attributes have had a listener registry made (see attribute_dispatch):
# code that caches "these attributes have no listeners" (the instrumented constructor)
# compares the number it saw with this one.  A one-item list, changed in place.
ATTRIBUTE_DISPATCHES: list[int] = [0]


def attribute_dispatch(attr: QueryableAttribute) -> event.Dispatch:
    """The listeners of a mapped attribute (made on first use: an attribute nobody
    listens to has none, which the attribute implementations test for)."""
    d: event.Dispatch | None = attr.dispatch
    if d is None:
        d = attr.dispatch = event.Dispatch(f"attribute {attr}", ATTRIBUTE_EVENTS)
        ATTRIBUTE_DISPATCHES[0] += 1
    return d


def _sub_mapper_dispatches(mapper: Mapper) -> Callable[[], list[event.Dispatch]]:
    return lambda: [m.dispatch for m in mapper.self_and_descendants[1:]]


def _sub_attribute_dispatches(attr: QueryableAttribute) -> Callable[[], list[event.Dispatch]]:
    def subs() -> list[event.Dispatch]:
        out = []
        for m in attr.parent.self_and_descendants[1:]:
            sub = m.class_.__dict__.get(attr.key)
            if isinstance(sub, QueryableAttribute) and sub is not attr:
                out.append(attribute_dispatch(sub))
        return out
    return subs


class _Inheriting:
    """The listeners of a mapper or a mapped attribute.  One added with propagate=True
    also goes to the same target of every subclass mapped already; a subclass mapped
    later copies them when it is mapped (``inheritance.setup_inherits``,
    :func:`inherit_attribute_listeners`).  Removing it
    removes those copies too."""

    def __init__(self, own: event.Dispatch, subs: Callable[[], list[event.Dispatch]]) -> None:
        self.own = own
        self.subs = subs

    def add(self, name: str, fn: Any, opts: dict[str, Any]) -> None:
        self.own.add(name, fn, opts)
        if opts.get("propagate"):
            for d in self.subs():
                d.add(name, fn, opts)

    def discard(self, name: str, fn: Any) -> bool:
        found = self.own.discard(name, fn)
        for d in self.subs():
            found = d.discard(name, fn, propagated_only=True) or found
        return found

    def has_own(self, name: str, fn: Any) -> bool:
        return self.own.has_own(name, fn)


def inherit_attribute_listeners(mapper: Mapper, parent: Mapper) -> None:
    """A new subclass mapper's attributes take the propagate=True listeners of the
    parent's same attributes (the mapper's own listeners were copied when it was linked
    to its parent: ``inheritance.setup_inherits``)."""
    for key in mapper._props:
        base = parent.class_.__dict__.get(key)
        if not isinstance(base, QueryableAttribute) or base.dispatch is None:
            continue
        inherited = base.dispatch.propagated()
        sub = mapper.class_.__dict__.get(key)
        if inherited and isinstance(sub, QueryableAttribute) and sub is not base:
            d = attribute_dispatch(sub)
            for name, fn, opts in inherited:
                d.add(name, fn, opts)


# (weak reference to the class listened on, event name, listener, propagate)
_instrumentation_listeners: list[tuple[Any, str, Any, bool]] = []


def _fire_instrumentation(name: str, class_: type, *args: object) -> None:
    for ref, n, fn, propagate in list(_instrumentation_listeners):
        base = ref()
        if base is None:
            _instrumentation_listeners.remove((ref, n, fn, propagate))
        elif n == name and (class_ is base or (propagate and issubclass(class_, base))):
            fn(class_, *args)


class _InstrumentationTarget:
    """What ``listen(SomeClass, "class_instrument", fn)`` adds to: the listeners of the
    instrumentation events, kept by a weak reference to the class."""

    def __init__(self, base: type) -> None:
        self.base = base

    def add(self, name: str, fn: object, opts: dict[str, Any]) -> None:
        ref = weakref.ref(self.base)
        _instrumentation_listeners.append((ref, name, fn, bool(opts.get("propagate", True))))

    def _entries(self, name: str, fn: object) -> list[tuple[Any, str, Any, bool]]:
        return [e for e in _instrumentation_listeners
                if e[0]() is self.base and e[1] == name and e[2] is fn]

    def discard(self, name: str, fn: object) -> bool:
        found = self._entries(name, fn)
        for e in found:
            _instrumentation_listeners.remove(e)
        return bool(found)

    def has_own(self, name: str, fn: object) -> bool:
        return bool(self._entries(name, fn))


def _listener_applies(base: type, class_: type, opts: dict[str, Any]) -> bool:
    """Whether a listener given to the unmapped class ``base`` applies to ``class_``."""
    if class_ is base:
        return True
    return issubclass(class_, base) and bool(opts.get("propagate")
                                             or hasattr(base, "_dm_registry"))


class _PropagatingDispatch:
    """Registers a listener on every current and future mapper of subclasses."""

    def __init__(self, base: type, name: str) -> None:
        self.base = base
        self.name = name

    def add(self, name: str, fn: Any, opts: dict[str, Any]) -> None:
        if name not in MAPPER_EVENTS | ATTRIBUTE_EVENTS:
            raise InvalidRequestError(f"Can't listen for {name!r} on class {self.base.__name__}")
        _pending_class_listeners.append((self.base, name, fn, opts))
        for m in list(_all_mappers):
            if _listener_applies(self.base, m.class_, opts):
                m.dispatch.add(name, fn, opts)

    def discard(self, name: str, fn: Any) -> bool:
        found = False
        for entry in list(_pending_class_listeners):
            if entry[0] is self.base and entry[1] == name and entry[2] is fn:
                _pending_class_listeners.remove(entry)
                found = True
        for m in list(_all_mappers):
            if issubclass(m.class_, self.base):
                found = m.dispatch.discard(name, fn) or found
        return found

    def has_own(self, name: str, fn: object) -> bool:
        return any(e[0] is self.base and e[1] == name and e[2] is fn
                   for e in _pending_class_listeners)

