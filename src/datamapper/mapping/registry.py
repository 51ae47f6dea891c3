"""Ways to map a class: ``registry``, ``declarative_base``, legacy ``mapper()``.

Declarative classes are mapped from ``__init_subclass__`` of the generated
base: Columns found in the class body (and in mixins) become the Table, the
other mapped properties (relationship, deferred, synonym ...) become mapper
properties, and ``__mapper_args__`` go to the :class:`Mapper`.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.exc import ArgumentError, InvalidRequestError, SAWarning
from sqlalchemy.schema import BLANK_SCHEMA

from .. import event
from .._core import creation_order
from . import mapper_setup
from .class_body_checks import synonyms_for_aliases, warn_unmapped_lookalikes
from .coercion import DeclarativeMeta
from .declarative import (
    MappedColumn,
    UnmappedColumn,
    apply_dataclass,
    dataclass_options_of,
    declared_attr,
    declared_attrs_evaluated_once,
)
from .declarative_scan import (
    UnmappedTableColumn,
    definition_order,
    has_mapped_annotations,
    scan_class,
)
from .mapper import (
    Mapper,
    _all_mappers,
    _mapper_or_none,
    configure_mappers,
    invalidate_caches,
)
from .mapper_events import REGISTRY_EVENTS
from .properties import ColumnProperty, MapperProperty

_registries: weakref.WeakSet[registry] = weakref.WeakSet()


def _default_constructor(self: object, **kwargs: object) -> None:
    """Set each keyword argument as an attribute; unknown names raise TypeError."""
    cls = type(self)
    impls = getattr(cls.__dict__.get("_dm_mapper"), "_impls", None)
    if impls is not None and all(k in impls for k in kwargs) and \
            "_dm_user_setattr" not in cls.__dict__:
        # every name is a mapped attribute: skip __setattr__'s lookup
        for key, value in kwargs.items():
            impls[key].set(self, value)
        return
    mapper = cls.__dict__.get("_dm_mapper")
    props = mapper._props if mapper is not None else {}
    for key in kwargs:
        if key not in props and not _settable_attribute(cls, key):
            raise TypeError(
                f"{key!r} is an invalid keyword argument for {cls.__name__}: it is not a "
                f"mapped attribute of {cls.__name__}"
                + (f" ({cls.__name__}.{key} is a class attribute the constructor does not set)"
                   if hasattr(cls, key) else "")
            )
    for key, value in kwargs.items():
        setattr(self, key, value)


_default_constructor.__name__ = "__init__"

# class-level machinery a keyword must not replace on the object
_NOT_SETTABLE = frozenset(("metadata", "registry", "query", "query_class"))


def _settable_attribute(cls: type, key: str) -> bool:
    """Besides mapped attributes the constructor sets, as SQLAlchemy's does, what the
    class has: settable descriptors (a property with a setter, a hybrid) and plain
    class-level values the object then overrides (``note = None``).  Not methods,
    read-only descriptors, dunder names, or declarative machinery (``metadata``,
    ``registry``, a ``query`` property)."""
    if key.startswith("__") or key in _NOT_SETTABLE:
        return False
    for klass in cls.__mro__:
        if key in klass.__dict__:
            attr = klass.__dict__[key]
            break
    else:
        return False
    if hasattr(type(attr), "__set__"):
        return getattr(attr, "fset", True) is not None
    # a plain value, not a function, method or other non-data descriptor
    return not callable(attr) and not hasattr(type(attr), "__get__")


class registry:  # noqa: N801 - the documented name
    """A set of mapped classes sharing one MetaData and one name space."""

    def __init__(
        self,
        *,
        metadata: MetaData | None = None,
        class_registry: dict[str, Any] | None = None,
        constructor: Any = _default_constructor,
        type_annotation_map: dict[Any, Any] | None = None,
    ) -> None:
        self.metadata = metadata if metadata is not None else MetaData()
        self.type_annotation_map: dict[Any, Any] = dict(type_annotation_map or {})
        self._class_registry: dict[str, Any] = (
            class_registry if class_registry is not None else {}
        )
        self.constructor = constructor
        self._mappers: list[Mapper] = []
        # the mapped classes of each class name (several: in different modules), read
        # for string arguments; weak, as a class may be dropped
        self._dm_by_name: dict[str, list[weakref.ref[type]]] = {}
        # listeners of before_configured / after_configured / resolve_type_annotation
        self._dm_configure_dispatch = event.Dispatch("registry", REGISTRY_EVENTS)
        _registries.add(self)

    @property
    def mappers(self) -> frozenset[Mapper]:
        return frozenset(self._mappers)

    def _register(self, mapper: Mapper) -> None:
        self._mappers.append(mapper)
        cls = mapper.class_
        self._class_registry[cls.__name__] = cls
        self._class_registry.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
        same = [r for r in self._dm_by_name.get(cls.__name__, []) if r() is not None]
        for r in list(same):
            other = r()
            if other is not None and other.__module__ == cls.__module__:
                warnings.warn(
                    f"This declarative base already contains a class with the same class "
                    f"name and module name as {cls.__module__}.{cls.__name__}; the new "
                    "class replaces it for string lookups (relationship(\"Name\"))",
                    SAWarning, stacklevel=4)
                same.remove(r)
        same.append(weakref.ref(cls))
        self._dm_by_name[cls.__name__] = same

    def _classes_named(self, name: str) -> list[type]:
        return [c for c in (r() for r in self._dm_by_name.get(name, ())) if c is not None]

    def resolve_name(self, name: str) -> Any:
        """The class called ``name`` in this registry (used for string targets);
        several classes of that name (from different modules) raise, asking for the
        module-qualified path."""
        found = self._classes_named(name)
        if len(found) > 1:
            paths = ", ".join(sorted(f"{c.__module__}.{c.__name__}" for c in found))
            raise InvalidRequestError(
                f"Multiple classes found for path {name!r} in the registry ({paths}); "
                "use the module-qualified path, e.g. "
                f"\"{found[-1].__module__}.{name}\"")
        if found:
            return found[0]
        if name in self._class_registry:
            return self._class_registry[name]
        for reg in list(_registries):
            if name in reg._class_registry:
                return reg._class_registry[name]
        return None

    def _classes_at_path(self, parts: list[str]) -> tuple[list[type], bool]:
        """The classes whose module-qualified path ends with ``parts`` (``["alt",
        "Foo"]`` finds ``pkg.alt.Foo``), and whether ``parts`` is part of some mapped
        class's module path (a module to go on from)."""
        found: list[type] = []
        is_module = False
        n = len(parts)
        for refs in self._dm_by_name.values():
            for r in refs:
                c = r()
                if c is None:
                    continue
                path = [*c.__module__.split("."), c.__name__]
                if path[-n:] == parts:
                    found.append(c)
                mod = path[:-1]
                if any(mod[i:i + n] == parts for i in range(len(mod) - n + 1)):
                    is_module = True
        return found, is_module

    def map_imperatively(
        self, class_: type, local_table: Any = None, **kw: Any
    ) -> Mapper:
        """Classical mapping: ``registry.map_imperatively(User, users_table, properties=...)``.

        A class that defines no ``__init__`` of its own (anywhere in its MRO) gets
        the registry's keyword constructor, as with declarative mapping; the class
        gets ``__table__`` (the table given) and ``__mapper__`` as a declarative
        class does."""
        self._install_constructor(class_)
        m = Mapper(class_, local_table, registry=self, **kw)
        self._register(m)
        # as a declarative class has them (User.__table__ in binds=, Core statements)
        if local_table is not None:
            class_.__table__ = local_table  # type: ignore[attr-defined]  # set on the user's class
        class_.__mapper__ = m  # type: ignore[attr-defined]  # set on the user's class
        return m

    def update_type_annotation_map(self, type_annotation_map: dict[Any, Any]) -> None:
        """Add Python type -> SQL type entries used to read ``Mapped[...]`` annotations."""
        self.type_annotation_map.update(type_annotation_map)

    def map_declaratively(self, cls: type) -> Mapper:
        return _map_declarative(self, cls)

    def mapped_as_dataclass(self, cls: Any = None, /, **options: object) -> Any:
        """Class decorator: map the class declaratively and make it a dataclass
        (``options`` go to ``dataclasses.dataclass``: ``kw_only``, ``repr`` ...)."""

        def decorate(klass: type) -> type:
            klass._dm_dataclass_options = dict(options)  # type: ignore[attr-defined]  # a marker set on the user's class
            return self.mapped(klass)

        return decorate(cls) if cls is not None else decorate

    def mapped(self, cls: type) -> type:
        """Class decorator: map a class that declares ``__tablename__`` or ``__table__``."""
        self._install_constructor(cls)
        _map_declarative(self, cls)
        return cls

    def _install_constructor(self, cls: type) -> None:
        """Give ``cls`` the registry's keyword constructor when it has no ``__init__``."""
        if "__init__" not in cls.__dict__ and self.constructor is not None and (
            cls.__init__ is object.__init__  # type: ignore[misc]  # comparing, not calling
        ) and dataclass_options_of(cls) is None:
            cls.__init__ = self.constructor  # type: ignore[misc]  # the registry installs the keyword constructor on the class

    def generate_base(
        self,
        mapper: Any = None,
        cls: type = object,
        name: str = "Base",
        metaclass: type = DeclarativeMeta,
    ) -> Any:
        """A declarative base class whose subclasses are mapped when defined."""
        reg = self

        def __init_subclass__(subcls: Any, /, **kw: Any) -> None:  # noqa: N807
            super(base, subcls).__init_subclass__(**kw)
            if subcls.__dict__.get("__abstract__", False):
                return
            if _needs_mapping(subcls):
                _map_declarative(reg, subcls)

        namespace: dict[str, Any] = {
            "metadata": self.metadata,
            "registry": self,
            "_dm_registry": self,
            "_dm_generated": True,
            "__init_subclass__": classmethod(__init_subclass__),
            "__doc__": cls.__doc__,
        }
        if mapper is not None:
            namespace["__mapper_cls__"] = staticmethod(mapper)
        if self.constructor is not None and (cls is object or "__init__" not in cls.__dict__):
            namespace["__init__"] = self.constructor
        base: Any = metaclass(name, (cls,), namespace)
        return base

    def configure(self, cascade: bool = False) -> None:
        configure_mappers()

    def dispose(self, cascade: bool = False) -> None:
        """Unmap every class of this registry."""
        for m in self._mappers:
            m.dispose(invalidate=False)
        self._mappers.clear()
        self._class_registry.clear()
        self._dm_by_name.clear()
        invalidate_caches()


def _needs_mapping(cls: type) -> bool:
    if "_dm_mapper" in cls.__dict__:
        return False
    if "__table__" in cls.__dict__:
        return True
    if _mapped_ancestor(cls) is not None:
        return True  # a subclass of a mapped class: mapper inheritance
    tn = cls.__dict__.get("__tablename__")
    if tn is None:
        for klass in cls.__mro__[1:]:
            if "__tablename__" in klass.__dict__ and _mapper_or_none(klass) is None:
                tn = klass.__dict__["__tablename__"]
                break
    return tn is not None


_PER_CLASS_DIRECTIVES = ("__tablename__", "__table_args__", "__mapper_args__")


def _declared_attrs(cls: type) -> dict[str, Any]:
    """Class-body attributes of cls and its unmapped mixins, nearest first.

    A mixin's attribute that a mapped superclass of ``cls`` already maps is the
    superclass's (``cls`` inherits it: a joined subclass's table does not get the
    mixin's columns again), unless it is a ``declared_attr.cascading``."""
    out: dict[str, Any] = {}
    ancestor = _mapped_ancestor(cls)
    inherited = _mapper_or_none(ancestor)._props if ancestor is not None else {}  # type: ignore[union-attr]  # _mapper_or_none of a mapped ancestor is its mapper
    for klass in cls.__mro__:
        if klass is object:
            continue
        if klass is not cls and _mapper_or_none(klass) is not None:
            _add_per_class_directives(klass, out)
        elif klass is cls or not _is_base_class(klass):
            _add_class_body(klass, out, inherited if klass is not cls else {},
                            mixin=klass is not cls)
    return out


def _add_per_class_directives(klass: type, out: dict[str, Any]) -> None:
    """A mapped superclass's ``__tablename__`` / ``__table_args__`` /
    ``__mapper_args__`` given as ``declared_attr``: they run again for each subclass,
    as SQLAlchemy's do."""
    for k in _PER_CLASS_DIRECTIVES:
        v = klass.__dict__.get(k)
        if k not in out and isinstance(v, declared_attr):
            out[k] = v


def _add_class_body(klass: type, out: dict[str, Any], inherited: Mapping[str, object],
                    mixin: bool = False) -> None:
    """The class-body attributes of ``klass`` not in ``out`` yet, except those a mapped
    superclass maps already (``inherited``) unless given as ``declared_attr.cascading``."""
    base = "_dm_registry" in klass.__dict__
    for k, v in vars(klass).items():
        if k in out or (base and k in _BASE_CONFIGURATION):
            continue
        if k in inherited and not (isinstance(v, declared_attr) and v.is_cascading):
            continue
        if mixin and isinstance(v, Column) and getattr(v, "table", None) is None:
            # a mixin's Column: each class gets its own copy (foreign keys included),
            # the mixin's stays unattached (a copy of a Column attached to a table
            # drops its foreign keys)
            v = v._copy()
        out[k] = v


def _install_field_default_constructor(reg: registry, cls: type) -> None:
    """A dataclass made with ``init=False`` and no ``__init__`` of the program's: the
    registry's keyword constructor, after the fields' defaults (a field's default lives
    in the class attribute, which the mapped attribute replaces)."""
    inherited = getattr(cls.__init__, "_dm_original", cls.__init__)  # type: ignore[misc]  # reading __init__ off the class, not an instance
    if reg.constructor is None or not (
            inherited in (object.__init__, reg.constructor)
            or getattr(inherited, "_dm_field_defaults", False)):
        return
    fields: list[tuple[str, Any, Any]] = [
        (f.name, f.default, f.default_factory) for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    missing = dataclasses.MISSING
    keyword_init = reg.constructor

    def __init__(self: object, **kwargs: object) -> None:  # noqa: N807
        for name, default, factory in fields:
            if name not in kwargs:
                kwargs[name] = default if default is not missing else factory()
        keyword_init(self, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__._dm_field_defaults = True  # type: ignore[attr-defined]  # a marker on the function, read back above
    cls.__init__ = __init__  # type: ignore[misc]  # the dataclass constructor is replaced on the class


def _make_dataclass(reg: registry, cls: type) -> None:
    """Make ``cls`` a dataclass when it (or a base) asks to be one and is not yet."""
    dc_options = dataclass_options_of(cls)
    if dc_options is not None and "__dataclass_fields__" not in cls.__dict__:
        apply_dataclass(cls, dc_options, _mapping_classes(cls)[1:])
        if dc_options.get("init") is False:
            _install_field_default_constructor(reg, cls)


def _mapper_args_again(cls: type, attrs: dict[str, Any], ordered: list[tuple[str, Any]],
                       table: Table, mapper_args: dict[str, Any]) -> dict[str, Any]:
    """A ``declared_attr`` ``__mapper_args__`` evaluated again once ``cls.__table__`` is
    set, with the columns declared by annotation alone (``type: Mapped[str]``), which
    have no class attribute yet, there as the table's (taken off again after)."""
    for key, value in ordered:
        if isinstance(value, Column) and key not in cls.__dict__ \
                and value.key in table.c and not hasattr(cls, key):
            type.__setattr__(cls, key, table.c[value.key])
    return {**_evaluate_mapper_args(cls, attrs),
            **{k: v for k, v in mapper_args.items() if k in ("inherits", "exclude_properties")}}


def _map_declarative(reg: registry, cls: type, strict: bool = False) -> Mapper:
    """Map a declarative class: its Table (found or made), properties and mapper args."""
    if _mapper_or_none(cls) is not None:
        raise ArgumentError(f"Class {cls.__name__} is already mapped")
    with declared_attrs_evaluated_once(cls):
        return _map_declarative_class(reg, cls, strict)


def _map_declarative_class(reg: registry, cls: type, strict: bool) -> Mapper:
    # the class body's order, before mapping replaces its attributes (for
    # Mapper.all_orm_descriptors); a dataclass keeps it in its annotations
    body_order = tuple(definition_order(cls))
    _make_dataclass(reg, cls)
    _attributes_from_dataclass_metadata(cls)
    classes = _mapping_classes(cls)
    synonyms_for_aliases(cls)
    attrs = _declared_attrs(cls)
    warn_unmapped_lookalikes(cls, attrs)
    for k, v in list(attrs.items()):
        if isinstance(v, declared_attr) and k in ("__tablename__", "__table_args__"):
            attrs[k] = v.fget(cls)
    table = cls.__dict__.get("__table__")
    tablename = _called(attrs.get("__tablename__"))
    table_args = _called(attrs.get("__table_args__", ()))
    ordered = _ordered_attributes(reg, cls, classes, attrs, strict)
    ancestor = _mapped_ancestor(cls)
    ancestor_mapper = _mapper_or_none(ancestor) if ancestor is not None else None
    inherited_tables = [m.local_table for m in ancestor_mapper.iterate_to_root()] \
        if ancestor_mapper is not None else []
    columns, properties = _columns_and_properties(ordered, table=table,
                                                  inherited_tables=inherited_tables)
    _refuse_shared_properties(cls, properties)

    mapper_args = _evaluate_mapper_args(cls, attrs)
    inherits = mapper_args.get("inherits", _mapped_ancestor(cls))
    parent = _mapper_or_none(inherits) if inherits is not None else None
    if parent is not None:
        if table is None and tablename is not None and \
                getattr(cls, "__table_cls__", None) is not None:
            # a __table_cls__ returning None: no table of its own (single-table)
            table = _new_table(reg, cls, tablename, table_args, columns)
            if table is None:
                tablename = None
        mapper_args.setdefault("inherits", inherits)
        table, columns = _under_parent(cls, parent, table, tablename, columns, properties,
                                       mapper_args)
    if table is None:
        table = _new_table(reg, cls, tablename, table_args, columns)
        if table is None:
            raise InvalidRequestError(
                f"Can't map class {cls.__name__}: its __table_cls__ returned None and it "
                "has no mapped base class whose table it could share")
    unmapped = [v.column.key for _k, v in ordered if isinstance(v, UnmappedTableColumn)]
    if unmapped:  # Unmapped[...] columns: in the table, left out of the mapper
        mapper_args["exclude_properties"] = [*(mapper_args.get("exclude_properties") or ()),
                                             *unmapped]

    # __mapper_args__ may be a declared_attr reading cls.__table__: evaluated again now
    cls.__table__ = table  # type: ignore[attr-defined]  # as declarative users expect
    if isinstance(attrs.get("__mapper_args__"), declared_attr):
        mapper_args = _mapper_args_again(cls, attrs, ordered, table, mapper_args)

    # remove the declared Column objects: the mapper installs descriptors
    for key, value in list(cls.__dict__.items()):
        if isinstance(value, (Column, MapperProperty, MappedColumn)):
            delattr(cls, key)

    _columns_of_table_in_mapper_args(cls, mapper_args, table, attrs, ordered)
    if "properties" in mapper_args:  # __mapper_args__ = {"properties": {...}}: added
        properties = {**properties, **mapper_args.pop("properties")}
    # __mapper_cls__ (declarative_base(mapper=...)): a Mapper subclass or a function
    # making the mapper
    mapper_cls = getattr(cls, "__mapper_cls__", None) or Mapper
    mapped = [(k, v) for k, v in ordered if isinstance(v, (Column, MapperProperty, MappedColumn))]
    declared = frozenset(k for k, _v in mapped) | frozenset(
        v.key for _k, v in mapped if isinstance(v, Column) and v.key) | frozenset(properties)
    token = mapper_setup.DECLARED_KEYS.set(declared)
    try:
        m = mapper_cls(cls, table, properties=properties, registry=reg, **mapper_args)
    finally:
        mapper_setup.DECLARED_KEYS.reset(token)
    m._body_order = body_order
    reg._register(m)
    cls.__table__ = table  # type: ignore[attr-defined]  # as declarative users expect
    cls.__mapper__ = m  # type: ignore[attr-defined]  # as declarative users expect
    _declare_hooks(reg, cls, attrs)
    return m


def _refuse_shared_properties(cls: type, properties: dict[str, Any]) -> None:
    """A mapper property (relationship(), column_property() ...) written directly on a
    mixin is one object that a second class using the mixin would share with the
    first (whose mapper it belongs to): refused, naming the fix."""
    for key, prop in properties.items():
        owner = vars(prop).get("parent") if isinstance(prop, MapperProperty) else None
        if owner is not None and owner.class_ is not cls:
            raise InvalidRequestError(
                f"Can't map {cls.__name__}.{key}: its {type(prop).__name__} object, declared "
                f"on a mixin, already belongs to {owner.class_.__name__}; a mixin's mapper "
                "properties must be made per class, e.g. '@declared_attr def "
                f"{key}(cls): return relationship(...)'")


def _declare_hooks(reg: registry, cls: type, attrs: dict[str, Any]) -> None:
    """``__declare_first__()`` / ``__declare_last__()`` of the class or its mixins: run
    before / after each configuration pass of the class's registry."""
    for name, when in (("__declare_first__", "before_configured"),
                       ("__declare_last__", "after_configured")):
        if name in attrs:
            def hook(*_args: object, name: str = name) -> None:
                getattr(cls, name)()
            event.listen(reg, when, hook)


def add_declared_attribute(cls: type, key: str, value: object) -> None:
    """A Column, ``mapped_column()`` or mapper property assigned to the mapped
    declarative class ``cls`` after its creation: a new column goes into the class's
    table, and the attribute is added to its mapper (and its subclasses')."""
    mapper = _mapper_or_none(cls)
    assert mapper is not None
    if isinstance(value, UnmappedColumn):
        _add_unmapped_column(cls, mapper, key, value)
        return
    if isinstance(value, MappedColumn):
        value = value.column
    # (a Column made without a name or table has None for them, which Core's
    # annotations do not say)
    new_columns: list[Any] = []
    if isinstance(value, Column):
        col: Any = value
        if col.name is None:
            col.name = key
        if col.key is None:
            col.key = key
        if getattr(col, "table", None) is None:
            new_columns.append(col)
    elif isinstance(value, ColumnProperty):
        new_columns.extend(c for c in value.columns
                           if isinstance(c, Column) and getattr(c, "table", None) is None)
        for c in new_columns:
            if c.name is None:
                c.name = c.key = key
    if new_columns:
        table = mapper.local_table
        if not isinstance(table, Table):
            raise InvalidRequestError(
                f"Can't add column {key!r} to {cls.__name__}: the class is mapped to "
                f"{type(table).__name__} {getattr(table, 'name', table)!r}, not a Table, "
                "which takes no new columns; add the column to the selectable instead")
        for col in new_columns:
            table.append_column(col)
    mapper.add_property(key, value)


def _add_unmapped_column(cls: type, mapper: Mapper, key: str, value: UnmappedColumn[Any]
                         ) -> None:
    """``cls.key = unmapped_column(SomeType)`` after mapping: a new column of the
    class's table that the class does not map (no attribute is set)."""
    col: Any = value.column
    if not value.type_given and not value.has_foreign_key:
        raise ArgumentError(
            f"Can't add unmapped_column() {key!r} to {cls.__name__}: added after the "
            "class is mapped it has no annotation to take its type from; pass the type, "
            "e.g. unmapped_column(String(30))")
    if col.name is None:
        col.name = key
    if getattr(col, "key", None) is None:
        col.key = key
    table = mapper.local_table
    if not isinstance(table, Table):
        raise InvalidRequestError(
            f"Can't add column {key!r} to {cls.__name__}: the class is mapped to "
            f"{type(table).__name__} {getattr(table, 'name', table)!r}, not a Table")
    table.append_column(col)


def map_by_metaclass(cls: type) -> None:
    """Map ``cls``, a class made with :class:`DeclarativeMeta` outside of a
    ``declarative_base()``/``DeclarativeBase`` hierarchy, with the ``registry`` its base
    names (a base itself, ``__abstract__`` or without a table, is not mapped)."""
    reg = next((k.__dict__["registry"] for k in cls.__mro__ if "registry" in k.__dict__),
               None)
    if not isinstance(reg, registry):
        raise InvalidRequestError(
            f"Can't map class {cls.__name__}: its metaclass is DeclarativeMeta, but it has "
            "no 'registry' attribute holding a datamapper registry(); give its base class "
            "registry = registry(), or derive it from DeclarativeBase or declarative_base()")
    if getattr(cls, "__init__", None) is object.__init__ and reg.constructor is not None:
        # no constructor of the program's own: the registry's (keyword arguments)
        type.__setattr__(cls, "__init__", reg.constructor)
    if cls.__dict__.get("__abstract__", False) or "_dm_mapper" in cls.__dict__:
        return
    if "registry" in cls.__dict__ and not _needs_mapping(cls):
        return  # the base class that names the registry
    _map_declarative(reg, cls)


def mapped_as_dataclass(reg: registry, cls: Any = None, /, **options: object) -> Any:
    """Class decorator, the function form of :meth:`registry.mapped_as_dataclass`:
    ``@mapped_as_dataclass(reg, kw_only=True)`` maps the class with ``reg`` and
    makes it a dataclass."""
    if not isinstance(reg, registry):
        raise ArgumentError(
            f"Can't use {reg!r} as the registry of mapped_as_dataclass(): pass a "
            "datamapper registry() first, as in @mapped_as_dataclass(reg)")
    return reg.mapped_as_dataclass(cls, **options)


def unmapped_dataclass(cls: Any = None, /, **options: object) -> Any:
    """Class decorator: make a mixin a dataclass (its ``mapped_column()`` and other
    mapped attributes become fields, with their ``init``/``default``/``kw_only``...
    options) without mapping it; mapped dataclasses below it take its fields and map
    its attributes."""

    def decorate(klass: type) -> type:
        if _mapper_or_none(klass) is not None:
            raise ArgumentError(
                f"Can't use unmapped_dataclass on {klass.__name__}: it is a mapped class; "
                "use registry.mapped_as_dataclass for mapped classes")
        apply_dataclass(klass, dict(options), _mapping_classes(klass)[1:], mapped=False)
        return klass

    return decorate(cls) if cls is not None else decorate


def add_mapped_attribute(target: type, key: str, attr: object) -> None:
    """Add ``attr`` (a Column, ``mapped_column()`` or mapper property) to the mapped
    class ``target`` as attribute ``key``: what assigning it to a class with
    datamapper's declarative metaclass does, for any mapped class."""
    if _mapper_or_none(target) is None:
        raise ArgumentError(
            f"Can't add attribute {key!r} to {getattr(target, '__name__', target)!r}: it "
            "is not a mapped class; map it first")
    if isinstance(attr, (Column, MappedColumn, MapperProperty)):
        add_declared_attribute(target, key, attr)
    else:
        raise ArgumentError(
            f"Can't add {attr!r} to {target.__name__} as mapped attribute {key!r}: give a "
            "Column, a mapped_column() or a mapper property such as relationship()")


def _under_parent(cls: type, parent: Mapper, table: Any, tablename: object,
                  columns: list[Column[Any]], properties: dict[str, Any],
                  mapper_args: dict[str, Any]) -> tuple[Any, list[Column[Any]]]:
    """A subclass of a mapped class: with neither ``__table__`` nor ``__tablename__``,
    its columns join the base's table (single-table inheritance, no new table's
    columns left); the base's columns it redeclares are excluded from the mapper."""
    declared = list(columns)
    if table is None and tablename is None:
        # single-table inheritance: the subclass's columns join its base's table
        table = parent.local_table
        _add_single_table_columns(cls, table, columns, properties)
        columns = []
    if "exclude_properties" not in mapper_args:
        excluded = _excluded_base_columns(parent, declared, properties)
        if excluded:
            mapper_args["exclude_properties"] = excluded
    return table, columns


def _called(value: object) -> Any:
    """``__tablename__`` / ``__table_args__`` given as a callable: its result."""
    return value() if callable(value) else value


def _ordered_attributes(reg: registry, cls: type, classes: list[type],
                        attrs: dict[str, Any], strict: bool) -> list[tuple[str, Any]]:
    """The class's (name, declared value) pairs in the order their columns take in
    the table: annotation scanning for 2.0-style classes, creation order otherwise."""
    annotated = has_mapped_annotations(classes) or any(
        isinstance(v, (MappedColumn, declared_attr)) for v in attrs.values())
    if not annotated:
        return sorted(attrs.items(), key=lambda kv: _order_of(kv[1]))
    found = scan_class(reg, cls, classes, strict)
    ordered = [(k, v) for k, (_o, v) in sorted(found.items(), key=lambda kv: kv[1][0])]
    ordered.sort(key=lambda kv: _sort_order_of(kv[1]))
    return ordered


def _columns_and_properties(ordered: list[tuple[str, Any]], *, table: Any,
                            inherited_tables: Sequence[Any] = ()
                            ) -> tuple[list[Column[Any]], dict[str, Any]]:
    """The Columns for a new table (none when the class gives its ``__table__``,
    ``table``) and the mapper properties, from the declared values; unnamed Columns
    take their key.  A column of a mapped superclass's table (``inherited_tables``,
    which a declared_attr may hand back) stays that column."""
    has_table = table is not None
    columns: list[Column[Any]] = []
    properties: dict[str, Any] = {}
    # the Columns declared as attributes of their own (a composite may name them too)
    declared = {id(v) for _k, v in ordered if isinstance(v, Column)}
    for key, value in ordered:
        if key.startswith("__") and key.endswith("__"):
            continue
        if key in ("metadata", "registry") and isinstance(value, (Column, MapperProperty)):
            warnings.warn(
                f"Attribute name {key!r} should be left reserved for the declarative "
                f"base's {'MetaData' if key == 'metadata' else 'registry'}: the mapped "
                f"attribute {key!r} hides it on the class; give the column another "
                f"attribute name (e.g. meta_ = Column({key!r}, ...))",
                SAWarning, stacklevel=5)
        if isinstance(value, UnmappedTableColumn):  # in the table, not in the mapper
            col = _declared_column(key, value.column, table)
            if not has_table:
                columns.append(col)
        elif isinstance(value, Column):
            col = value if any(getattr(value, "table", None) is t for t in inherited_tables) \
                else _declared_column(key, value, table)
            if not has_table:
                columns.append(col)
            if key != col.key or has_table:
                properties[key] = col
        elif isinstance(value, MapperProperty):
            if isinstance(value, ColumnProperty):
                _name_property_columns(key, value, columns, has_table)
            elif not has_table:
                _composite_inline_columns(value, columns, declared)
            properties[key] = value
    return columns, properties


def _composite_inline_columns(prop: MapperProperty, columns: list[Column[Any]],
                              declared: set[int]) -> None:
    """``composite(Point, Column("x", Integer), Column("y", Integer))`` in a class
    body: the Columns it declares itself go into the class's table, in its place (not
    those the class body also declares as attributes: ``x = Column(Integer)`` then
    ``composite(Point, x, y)``)."""
    from .composite import CompositeProperty

    if not isinstance(prop, CompositeProperty):
        return
    for part in prop.attrs:
        attr = part.column if isinstance(part, MappedColumn) else part
        if isinstance(attr, Column) and getattr(attr, "table", None) is None and \
                id(attr) not in declared and not any(attr is c for c in columns):
            if attr.name is None:
                raise ArgumentError(
                    f"Can't map composite {getattr(prop, 'key', '')}: a Column given to "
                    "composite() "
                    "in a class body needs a name, e.g. Column('x', Integer)")
            columns.append(attr)


def _declared_column(key: str, value: Column[Any], table: Any) -> Any:
    col: Any = value
    if table is not None and getattr(col, "table", None) is None:
        # a new Column on a class that gives its own __table__: one of that table's
        # (a mixin's column of the same name), or refused as the table does not have it
        name = col.name if col.name is not None else key
        if isinstance(table, Table) and name in table.c:
            return table.c[name]
        raise ArgumentError(
            f"Can't add column {key!r} to the mapping of table "
            f"{getattr(table, 'name', table)!r}: the class gives its own __table__, "
            "which has no such column; add Column(...) to that Table, or declare the "
            "class with __tablename__ instead of __table__")
    if getattr(col, "table", None) is not None and table is None:
        # a Column declared on a mixin is shared between subclasses: copy it
        col = col._copy()
    if col.name is None:
        col.name = key
    if col.key is None:
        col.key = key
    return col


def _name_property_columns(key: str, prop: ColumnProperty, columns: list[Column[Any]],
                           has_table: bool) -> None:
    """A column_property()'s / deferred()'s own new Columns: named after the attribute
    and added to the new table's columns."""
    for i, c in enumerate(prop.columns):
        cc: Any = c
        if isinstance(cc, Column) and getattr(cc, "table", None) is None:
            if getattr(cc, "name", None) is None:
                cc.name = key
            if getattr(cc, "key", None) is None:
                cc.key = key
            if not has_table:
                columns.append(cc)
        prop.columns[i] = cc


def _excluded_base_columns(parent: Mapper, declared: list[Column[Any]],
                           properties: dict[str, Any]) -> set[str]:
    """Columns of the base's tables its mapper leaves out (a sibling's, in single-table
    inheritance): not this class's either, unless the class declares them."""
    own = {c.key for c in declared} | {
        c.key for v in properties.values() if isinstance(v, ColumnProperty)
        for c in v.columns if isinstance(c, Column)} | {
        v.key for v in properties.values() if isinstance(v, Column)}
    return {c.key for t in parent.tables for c in t.columns
            if c not in parent._col_to_prop and c.key not in own}


def _class_metadata(cls: type, reg: registry) -> MetaData:
    """The MetaData for the table of ``cls``: a ``metadata = MetaData()`` of the class,
    of an abstract base or of a mixin; else the registry's (also when the nearest one is
    the declarative base's own attribute, which stands for the registry's)."""
    for klass in cls.__mro__:
        md = klass.__dict__.get("metadata")
        if isinstance(md, MetaData):
            if "registry" in klass.__dict__ or "_dm_registry" in klass.__dict__:
                break
            return md
    return reg.metadata


def _new_table(reg: registry, cls: type, tablename: Any, table_args: Any,
               columns: list[Column[Any]]) -> Any:
    """The Table of a class that declares ``__tablename__`` (and ``__table_args__``),
    made by its ``__table_cls__`` when it has one (which may give None: no table)."""
    if tablename is None:
        raise InvalidRequestError(
            f"Can't map class {cls.__name__}: it needs __tablename__ or __table__"
        )
    if isinstance(table_args, dict):
        args: tuple[Any, ...] = ()
        kwargs = dict(table_args)
    elif isinstance(table_args, tuple) and table_args and isinstance(table_args[-1], dict):
        args, kwargs = table_args[:-1], dict(table_args[-1])
    elif table_args is None or isinstance(table_args, tuple):
        args, kwargs = tuple(table_args or ()), {}
    else:
        raise ArgumentError(
            f"Can't map class {cls.__name__}: __table_args__ value must be a tuple, dict, or "
            f"None (got {table_args!r}); write a single constraint as a 1-tuple, "
            "(constraint,)")
    metadata = _class_metadata(cls, reg)
    schema = kwargs.get("schema", metadata.schema)
    key = tablename if schema is None or schema is BLANK_SCHEMA else f"{schema}.{tablename}"
    if key in metadata.tables and not kwargs.get("extend_existing"):
        raise InvalidRequestError(
            f"Can't map class {cls.__name__}: table {tablename!r} is already defined in "
            "this MetaData; use a new declarative_base()/MetaData or __table__"
        )
    table_cls = getattr(cls, "__table_cls__", None)
    if table_cls is not None:
        return table_cls(tablename, metadata, *columns, *args, **kwargs)
    return Table(tablename, metadata, *columns, *args, **kwargs)


def _columns_of_table_in_mapper_args(cls: type, mapper_args: dict[str, Any], table: Table,
                                     attrs: dict[str, Any], ordered: list[tuple[str, Any]]
                                     ) -> None:
    """``version_id_col`` / ``primary_key`` / ``polymorphic_on`` given as declared
    Columns, ``mapped_column()``s or ``declared_attr``s (a mixin's own, of which the
    class got a copy): the table's."""
    made = dict(ordered)

    def attribute_name(value: object) -> str | None:
        """The class-body name under which ``cls`` or a mixin declares ``value``."""
        for k, v in attrs.items():
            if v is value:
                return k
        for klass in cls.__mro__:
            for k, v in vars(klass).items():
                if v is value:
                    return k
        return None

    def resolve(value: object) -> Any:
        if isinstance(value, (MappedColumn, declared_attr)) or (
                isinstance(value, Column) and getattr(value, "table", None) is None):
            key = attribute_name(value)
            found = made.get(key) if key is not None else None
            if isinstance(found, ColumnProperty):
                found = found.columns[0]
            if isinstance(found, MappedColumn):
                found = found.column
            if found is not None:
                value = found
            elif isinstance(value, MappedColumn):
                value = value.column
        if isinstance(value, Column) and value.key is not None and value.key in table.c:
            return table.c[value.key]
        return value

    for name in ("version_id_col", "polymorphic_on"):
        if name in mapper_args:
            mapper_args[name] = resolve(mapper_args[name])
    if "primary_key" in mapper_args:
        pk = mapper_args["primary_key"]
        if not isinstance(pk, (list, tuple)):
            pk = [pk]
        mapper_args["primary_key"] = [resolve(c) for c in pk]


def _attributes_from_dataclass_metadata(cls: type) -> None:
    """A dataclass naming ``__sa_dataclass_metadata_key__`` (the 1.4 way of mapping
    dataclasses): each field whose ``metadata`` holds that key is mapped by the value
    there (a Column, a relationship() ..., or a callable making one, for mixins)."""
    meta_key = getattr(cls, "__sa_dataclass_metadata_key__", None)
    if meta_key is None or not dataclasses.is_dataclass(cls):
        return
    parent_mapper = _mapper_or_none(_mapped_ancestor(cls))
    inherited = parent_mapper._props if parent_mapper is not None else {}
    own = cls.__dict__.get("__annotations__", {})
    for field in dataclasses.fields(cls):
        if meta_key not in field.metadata or field.name in inherited:
            continue
        current = cls.__dict__.get(field.name)
        if isinstance(current, (Column, MapperProperty, MappedColumn)):
            continue  # the class body maps it itself
        value = field.metadata[meta_key]
        if isinstance(value, declared_attr):  # declared_attr(lambda: Column(...))
            fget = value.fget
            value = fget() if not inspect.signature(fget).parameters else fget(cls)
        elif callable(value) and not isinstance(value, (Column, MapperProperty, MappedColumn)):
            value = value()  # a mixin's: a new one for each class
        elif isinstance(value, Column) and field.name not in own:
            value = value._copy()  # a mixin's column: each table gets its own
        type.__setattr__(cls, field.name, value)


def _mapped_ancestor(cls: type) -> type | None:
    """The nearest mapped class among ``cls``'s bases (its mapper's ``inherits``)."""
    for klass in cls.__mro__[1:]:
        if _mapper_or_none(klass) is not None:
            return klass
    return None


def _evaluate_mapper_args(cls: type, attrs: dict[str, Any]) -> dict[str, Any]:
    raw = attrs.get("__mapper_args__", {})
    if isinstance(raw, declared_attr):
        try:
            raw = raw.fget(cls)
        except AttributeError:
            return {}  # reads cls.__table__, not there yet: evaluated again below
    elif callable(raw):
        raw = raw()
    return dict(raw or {})


def _add_single_table_columns(cls: type, table: Table, columns: list[Column[Any]],
                              properties: dict[str, Any]) -> None:
    """Columns declared by a single-table subclass go into its base's table."""
    for col in columns:
        # the base table's own key column (from a declared_attr, or the same column
        # declared again, as use_existing_column=True says) maps; a new one can't be added
        if col.primary_key and table.c.get(col.key) is None:
            raise ArgumentError(
                f"Can't map {cls.__name__}: it has no table of its own (single-table "
                f"inheritance), so it can't declare primary key column {col.key!r}; declare "
                f"the key on the base class, or give {cls.__name__} a __tablename__"
            )
        existing = table.c.get(col.key)
        if existing is not None:
            if existing is not col:
                # the same column declared by two subclasses: both map the table's one
                for k, v in list(properties.items()):
                    if v is col:
                        properties[k] = existing
                    elif isinstance(v, ColumnProperty):
                        v.columns = [existing if c is col else c for c in v.columns]
            continue
        table.append_column(col)


def _order_of(value: object) -> int:
    if isinstance(value, ColumnProperty) and not creation_order(value):
        # column_property(Column(...)) / deferred(Column(...)): its table column takes
        # the place where that Column was made, as a Column attribute would
        return min((creation_order(c) for c in value.columns if isinstance(c, Column)),
                   default=0)
    return creation_order(value)


def _sort_order_of(value: object) -> int:
    col = value.columns[0] if isinstance(value, ColumnProperty) else value
    if isinstance(col, UnmappedTableColumn):
        col = col.column
    return int(getattr(col, "_dm_sort_order", 0) or 0)


def _mapping_classes(cls: type) -> list[type]:
    """``cls`` and the unmapped mixins whose class bodies it maps, nearest first."""
    out = []
    for klass in cls.__mro__:
        if klass is object or (klass is not cls and _mapper_or_none(klass) is not None):
            continue
        if klass is not cls and _is_base_class(klass):
            continue
        out.append(klass)
    return out


_DECLARATIVE_MODULE = __name__.rsplit(".", 1)[0] + ".declarative"


def _is_base_class(klass: type) -> bool:
    """One of datamapper's own base classes, or a base that ``declarative_base()``
    generated: never scanned.  The program's ``class Base(DeclarativeBase)`` is scanned
    as a mixin (the columns and properties declared on it go to every mapped class),
    its configuration attributes aside (:data:`_BASE_CONFIGURATION`)."""
    return ("_dm_root" in klass.__dict__ or klass.__module__ == _DECLARATIVE_MODULE
            or ("_dm_registry" in klass.__dict__ and "_dm_generated" in klass.__dict__))


# what a declarative base's class body (or the registry) sets that maps nothing
_BASE_CONFIGURATION = frozenset(("registry", "metadata", "type_annotation_map", "_dm_registry",
                                 "__init__", "_dm_dataclass_options"))


def declarative_base(
    metadata: MetaData | None = None,
    cls: type = object,
    name: str = "Base",
    mapper: object = None,
    class_registry: dict[str, Any] | None = None,
    constructor: object = _default_constructor,
    metaclass: type = DeclarativeMeta,
    bind: object = None,
    type_annotation_map: dict[Any, Any] | None = None,
) -> Any:
    """A base class for declarative mapping."""
    reg = registry(metadata=metadata, class_registry=class_registry, constructor=constructor,
                   type_annotation_map=type_annotation_map)
    return reg.generate_base(mapper=mapper, cls=cls, name=name, metaclass=metaclass)


def mapper(class_: type, local_table: object = None, properties: object = None, **kw: object) -> Mapper:
    """Legacy classical mapping, as in the 0.3/0.4 documents."""
    reg = _legacy_registry()
    return reg.map_imperatively(class_, local_table, properties=properties, **kw)


_legacy: registry | None = None


def _legacy_registry() -> registry:
    global _legacy
    if _legacy is None:
        _legacy = registry()
    return _legacy


def clear_mappers() -> None:
    """Unmap every mapped class (classes keep working as plain Python classes)."""
    for m in list(_all_mappers):
        m.dispose(invalidate=False)
    invalidate_caches()
    for reg in list(_registries):
        reg._mappers.clear()
        reg._class_registry.clear()
        reg._dm_by_name.clear()
