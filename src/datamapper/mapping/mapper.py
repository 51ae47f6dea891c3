"""The :class:`Mapper`: how one class maps to one table.

A Mapper is configuration: it owns the column and relationship properties,
the primary key, and the per-mapper lookup tables that the loading and
persistence layers use on their hot paths (column order, primary-key
positions).  Instrumenting the class (descriptors, ``__setattr__``) is done by
the instance layer through :data:`instrumentation_hooks`, since this layer
must not import it.

This module holds the Mapper class (its constructor, hierarchy walks and
``dispose()``), ``class_mapper()`` and ``@reconstructor``; the construction steps
are in mapping/mapper_setup.py, the read-only views in mapping/mapper_inspect.py,
and the set of mappers, the hook lists and ``configure_mappers()`` in
mapping/configure.py, whose names are re-exported here.  Every layer above
imports Mapper and those names from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.exc import ArgumentError, InvalidRequestError

from .. import event
from .._util.inspection import InspectionAttr
from ..exc import UnmappedClassError
from . import coercion, inheritance, mapper_setup
from . import selectable as selmap
from .cache import CacheSlot
from .composite import CompositeProperty
from .configure import (
    _all_mappers,
    cascade_walks,
    configure_hooks,
    configure_mappers,
    instrumentation_hooks,
    invalidate_caches,
    mapped_tables,
    uninstrumentation_hooks,
)
from .mapper_events import (
    ATTRIBUTE_EVENTS,
    MAPPER_CLASS_DISPATCH,
    MAPPER_EVENTS,
    fire_instrumentation,
    instrumentation_listeners,
)
from .mapper_inspect import MapperInspection
from .mapper_views import AttrsDict, ClassManager, PropsDict
from .properties import ColumnProperty

if TYPE_CHECKING:
    from .registry import registry as Registry

__all__ = [
    "Mapper", "_all_mappers", "cascade_walks", "class_mapper", "configure_hooks",
    "configure_mappers", "instrumentation_hooks", "invalidate_caches", "mapped_tables",
    "reconstructor", "uninstrumentation_hooks",
]

_F = TypeVar("_F", bound=Callable[..., Any])


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

class Mapper(MapperInspection, InspectionAttr):
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

    # the lookup tables mapping/mapper_setup.py computes (primary_key and _pk_keys:
    # see MapperInspection)
    _pk_props: tuple[ColumnProperty, ...]
    version_id_col: Any | None
    version_id_prop: ColumnProperty | None
    version_id_generator: Any
    column_attrs: AttrsDict
    _load_props: tuple[ColumnProperty, ...]
    _load_keys: tuple[str, ...]
    _persist_props: tuple[ColumnProperty, ...]
    _loader_cache: dict[Any, Any]
    _expire_keys: frozenset[str]
    _column_keys: frozenset[str]
    _relationship_keys: tuple[str, ...]
    _flush_expire_keys: tuple[str, ...]
    _readonly_keys: tuple[str, ...]
    _deferred_keys: frozenset[str]
    _raise_keys: frozenset[str]
    _expression_keys: frozenset[str]

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
        # the selectable a with_polymorphic=(classes, selectable) mapping argument named
        # (rows are read from the tables' join all the same; see query.aliased)
        self._poly_selectable: Any = None
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
        elif polymorphic_identity is not None:
            inheritance.register_concrete_identity(self, polymorphic_identity)
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

    # -- construction: functions of mapping/mapper_setup.py bound as methods ----
    _register = mapper_setup.register
    _instrument = mapper_setup.instrument
    _attach_extensions = mapper_setup.attach_extensions
    _build_properties = mapper_setup.build_properties
    _map_explicit_properties = mapper_setup.map_explicit_properties
    _map_table_column = mapper_setup.map_table_column
    _map_synonym_column = mapper_setup.map_synonym_column
    _coerce_property = mapper_setup.coerce_property
    _add_property = mapper_setup.add_mapped_property
    _setup_primary_key = mapper_setup.setup_primary_key
    _resolve_column = mapper_setup.resolve_column
    _setup_version = mapper_setup.setup_version
    _collect_validators = mapper_setup.collect_validators
    _compile_paths = mapper_setup.compile_paths
    _compile_key_sets = mapper_setup.compile_key_sets
    add_property = mapper_setup.add_property
    _inherit_added = mapper_setup.inherit_added

    @property
    def class_manager(self) -> ClassManager:
        """The instrumentation of the mapped class (:class:`ClassManager`)."""
        return ClassManager(self)

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
    def mapper(self) -> Mapper:
        return self

    def common_parent(self, other: Mapper) -> bool:
        return self.base_mapper is other.base_mapper

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
