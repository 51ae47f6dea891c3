"""Annotated declarative mapping: ``DeclarativeBase``, ``Mapped[T]``, ``mapped_column()``.

The 2.x style of writing models::

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]                       # NOT NULL VARCHAR, from the annotation
        nick: Mapped[str | None]                # nullable
        addresses: Mapped[list["Address"]] = relationship(back_populates="user")

This module owns the vocabulary of that style: ``mapped_column()`` and
``MappedColumn``, ``declared_attr``, the declarative base classes and the
dataclass integration; the ``Mapped`` markers are defined with the annotation
reading in :mod:`.annotation_types` (and re-exported here).  The registry
(:mod:`.registry`) calls :func:`.declarative_scan.scan_class` while it maps a
declarative class and :func:`apply_dataclass` before that; the classic
``Column`` style goes through the same registry code untouched.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import (
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

import sqlalchemy
from sqlalchemy import Column, MetaData, types
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql.operators import ColumnOperators
from sqlalchemy.sql.schema import DefaultGenerator, SchemaItem

from .._util import DONT_SET
from .annotation_types import (  # the markers are part of this module's vocabulary
    MISSING,
    DynamicMapped,
    Mapped,
    TypeResolve,
    Unmapped,
    WriteOnlyMapped,
    is_classvar,
    is_unmapped_annotation,
    marker_of,
)
from .coercion import DeclarativeMeta

if TYPE_CHECKING:
    from .attributes import InstrumentedAttribute
    from .mapper import Mapper
    from .registry import registry as Registry

_T = TypeVar("_T")

__all__ = [
    "DeclarativeBase", "DeclarativeBaseNoMeta", "DynamicMapped", "Mapped", "MappedAsDataclass",
    "MappedColumn", "TypeResolve", "Unmapped", "UnmappedColumn", "WriteOnlyMapped",
    "declared_attr", "mapped_column", "orm_insert_sentinel", "unmapped_column",
]


# -- mapped_column() ------------------------------------------------------------------
_ORM_ONLY_ARGS = ("deferred", "deferred_group", "deferred_raiseload", "active_history")
_DATACLASS_ARGS = ("init", "repr", "default", "default_factory", "compare", "kw_only", "hash",
                   "dataclass_metadata")


def dataclass_options(kw: dict[str, Any]) -> dict[str, Any]:
    """Pop the dataclass field options (``init``, ``default_factory`` ...) out of ``kw``."""
    return {k: kw.pop(k) for k in _DATACLASS_ARGS if k in kw}


def _column_arguments(args: tuple[Any, ...], kw: dict[str, Any]
                      ) -> tuple[str | None, Any, list[Any]]:
    """The column name, type and schema items of ``mapped_column(*args, **kw)`` (the
    name and type as keywords taken out of ``kw``)."""
    name: str | None = None
    type_: Any = None
    rest = list(args)
    if rest and (isinstance(rest[0], str) or rest[0] is None):
        name = rest.pop(0)
    if rest and (isinstance(rest[0], types.TypeEngine)
                 or (isinstance(rest[0], type) and issubclass(rest[0], types.TypeEngine))):
        type_ = rest.pop(0)
    if "type_" in kw:
        type_ = kw.pop("type_")
    if "name" in kw:
        name = kw.pop("name")
    for item in rest:
        if not isinstance(item, SchemaItem):
            raise ArgumentError(
                f"Can't use {item!r} as a positional argument of mapped_column(): give the "
                "column name (a string), then the type, then schema items such as "
                "ForeignKey(...)"
            )
    return name, type_, rest


class MappedColumn(ColumnOperators, Generic[_T]):
    """What ``mapped_column()`` returns: a Core ``Column`` still waiting for its
    annotation (type, nullability) plus the mapping and dataclass options.

    In the class body it is already a SQL expression of its column, so that
    ``column_property(first + " " + last)`` can be written below the columns.
    """

    __hash__ = object.__hash__

    def __clause_element__(self) -> Any:
        return self.column

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        return op(self.column, *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        return op(other, self.column, **kwargs)

    def __init__(self, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        self.dataclass = dataclass_options(kw)
        if "default" in self.dataclass and "insert_default" in kw:
            raise ArgumentError(
                "Can't give mapped_column() both default= and insert_default=: both set "
                "the column's INSERT default; give one of them")
        # default=None given on purpose clears an Annotated template's default
        self.default_given = "default" in self.dataclass or "insert_default" in kw
        if "default" in self.dataclass:
            kw["default"] = self.dataclass["default"]
        if "insert_default" in kw:
            kw["default"] = kw.pop("insert_default")
        # the mapping options given (an unmapped_column() refuses them)
        self.orm_options_given = [k for k in _ORM_ONLY_ARGS if kw.get(k)]
        deferred = kw.pop("deferred", None)
        self.deferred_group = kw.pop("deferred_group", None)
        # a group defers the column unless deferred=False says otherwise
        self.deferred = bool(deferred) if deferred is not None else \
            self.deferred_group is not None
        self.deferred_raiseload = kw.pop("deferred_raiseload", None)
        self.active_history = bool(kw.pop("active_history", False))
        self.sort_order = int(kw.pop("sort_order", 0) or 0)
        self.use_existing_column = bool(kw.pop("use_existing_column", False))
        self.nullable_given = "nullable" in kw
        if kw.get("type_") is not None:
            kw["type_"] = kw["type_"]
        name, type_, rest = _column_arguments(args, kw)
        self.type_given = type_ is not None
        self.has_foreign_key = any(isinstance(i, sqlalchemy.ForeignKey) for i in rest)
        col_args: list[Any] = []
        if name is not None:
            col_args.append(name)
        if type_ is not None:
            col_args.append(type_)
        # the Column is made now so that it takes its place in Core's creation order
        self.column: Column[Any] = Column(*col_args, *rest, **kw)
        self.foreign_keys = self.column.foreign_keys

    def _copy(self) -> MappedColumn[Any]:
        new = MappedColumn.__new__(MappedColumn)
        new.__dict__.update(self.__dict__)
        new.column = self.column._copy()
        return new

    def __repr__(self) -> str:
        return f"mapped_column({self.column.name or ''!s})"

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: object) -> InstrumentedAttribute[_T]: ...

        @overload
        def __get__(self, instance: object, owner: object) -> _T: ...

        def __get__(self, instance: object | None, owner: object) -> InstrumentedAttribute[_T] | _T: ...

        def __set__(self, instance: object, value: _T) -> None: ...


class UnmappedColumn(MappedColumn[_T]):
    """What ``unmapped_column()`` returns: a column for the class's table that the
    class does not map (see :class:`.Unmapped`)."""

    def __init__(self, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        given_init = kw.pop("init", False)
        if given_init is not False:
            raise ArgumentError(
                f"Can't use unmapped_column(init={given_init!r}): the column is no "
                "attribute of the class, so no dataclass field either; leave init out")
        super().__init__(args, kw)
        self.dataclass = {}  # default= is the column's INSERT default only

    def _copy(self) -> UnmappedColumn[Any]:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.column = self.column._copy()
        return new

    def __repr__(self) -> str:
        return f"unmapped_column({self.column.name or ''!s})"


class InsertSentinelColumn(UnmappedColumn[_T]):
    """What ``orm_insert_sentinel()`` returns: the table's insert sentinel column,
    which the class does not map, whatever its annotation says."""

    def __init__(self, name: str | None, type_: Any, default: Any,
                 omit_from_statements: bool) -> None:
        super().__init__((name,) if name is not None else (), {"nullable": True})
        self.type_given = type_ is not None
        # Core's own constructor gives the column its sentinel default and flags
        self.column = sqlalchemy.insert_sentinel(
            name, type_, default=default, omit_from_statements=omit_from_statements)

    def __repr__(self) -> str:
        return f"orm_insert_sentinel({self.column.name or ''!s})"


def orm_insert_sentinel(name: str | None = None, type_: Any = None, *, default: Any = None,
                        omit_from_statements: bool = True) -> Any:
    """An insert sentinel column for a declarative class's table: an otherwise unused
    column (nullable, Integer unless ``type_`` or the annotation says otherwise) that
    Core fills with a counter in a batched ``INSERT ... RETURNING`` so that the
    returned rows can be matched to their parameter sets in order
    (``returning(..., sort_by_parameter_order=True)``) where the primary key can't
    do it (a key from a sequence or a client-side default, or a joined-inheritance
    subclass table).  Declare it ``_sentinel: Mapped[int] = orm_insert_sentinel()``;
    the table in the database needs the column too.  The class does not map it."""
    return InsertSentinelColumn(name, type_, default, omit_from_statements)


def unmapped_column(*args: object, **kw: object) -> Any:
    """A column of a declarative class's table that the class does not map.

    Annotate it ``Unmapped[...]``: ``legacy: Unmapped[str | None] = unmapped_column()``.
    Takes what ``mapped_column()`` takes except the mapping options (``deferred``,
    ``deferred_group``, ``deferred_raiseload``, ``active_history``) and the dataclass
    ones; ``default`` is the column's INSERT default.  The column is in the table
    (and its DDL), the attribute is not on the class.
    """
    return UnmappedColumn(args, kw)


def mapped_column(*args: object, **kw: object) -> Any:
    """A column of a declarative class, typed from the attribute's ``Mapped[...]`` annotation.

    Takes what ``Column`` takes (an optional name, an optional type, schema items such
    as ``ForeignKey``; ``primary_key``, ``nullable``, ``server_default`` ...), plus
    ``insert_default``, ``deferred``, ``deferred_group``, ``active_history``,
    ``sort_order`` and the dataclass field options ``init``, ``repr``, ``default``,
    ``default_factory``, ``compare``, ``kw_only`` (used under ``MappedAsDataclass``).
    With no type given the annotation decides it (``Mapped[int]`` is ``Integer``)
    and, unless ``nullable`` is given, whether NULL is allowed (``Mapped[int | None]``).
    """
    return MappedColumn(args, kw)


# -- declared_attr ----------------------------------------------------------------------
# the values of the declared_attrs of each class being mapped, by id of the declared_attr
_declared_values: dict[type, dict[int, Any]] = {}


@contextmanager
def declared_attrs_evaluated_once(cls: type) -> Iterator[None]:
    """While mapping ``cls``: each of its declared_attrs runs once, its value kept."""
    if cls in _declared_values:
        yield
        return
    _declared_values[cls] = {}
    try:
        yield
    finally:
        del _declared_values[cls]


class declared_attr(Generic[_T]):  # noqa: N801 - the documented name
    """A mixin attribute computed per mapped class: ``@declared_attr def x(cls): ...``.

    The function runs once for each class being mapped, with that class, so that a
    mixin can give every class its own Column, relationship or ``__tablename__``.
    ``declared_attr.directive`` marks the same for ``__tablename__``/``__table_args__``/
    ``__mapper_args__`` (typing only).
    """

    def __init__(self, fget: Callable[..., Any], cascading: bool = False) -> None:
        if isinstance(fget, classmethod):  # ``@declared_attr`` over ``@classmethod``
            fget = fget.__func__  # type: ignore[unreachable]  # typed as a function, may be a classmethod
        self.fget = fget
        self.is_cascading = cascading
        self.__doc__ = fget.__doc__
        self.__name__ = getattr(fget, "__name__", "declared_attr")

    def __get__(self, instance: object, owner: object) -> Any:
        memo = _declared_values.get(owner)  # type: ignore[call-overload]  # any class
        if memo is None:
            return self.fget(owner)
        # while ``owner`` is being mapped, the function runs once: another declared_attr
        # reading ``cls.type_`` gets the very Column the table gets
        if id(self) not in memo:
            memo[id(self)] = self.fget(owner)
        return memo[id(self)]

    @classmethod
    def directive(cls, fget: Callable[..., Any]) -> Any:
        return cls(fget)

    @classmethod
    def cascading(cls, fget: Callable[..., Any]) -> Any:
        """``@declared_attr.cascading``: run for every mapped class of the hierarchy,
        subclasses of a mapped class included."""
        return cls(fget, cascading=True)

    _cascading = cascading_attr = cascading


# -- dataclasses ----------------------------------------------------------------------------
_DATACLASS_CLASS_OPTIONS = ("init", "repr", "eq", "order", "unsafe_hash", "match_args",
                            "kw_only", "dataclass_callable")


def apply_dataclass(cls: type, options: dict[str, Any], mixins: Sequence[type] = (),
                    mapped: bool = True) -> None:
    """Make ``cls`` a dataclass whose fields are its mapped attributes.

    Runs before the class is mapped: each ``Mapped[...]`` attribute of the class body
    becomes a field (``init``/``default``/``default_factory``/``repr``/``compare``/
    ``kw_only`` from ``mapped_column()``, ``relationship()`` or ``column_property()``);
    then the class body's mapping values are put back for the declarative scan.
    A class to be mapped (``mapped``) also takes fields for the ``declared_attr``s
    annotated ``Mapped[...]`` (its own and its mixins'); an unmapped one does not.
    """
    from .declarative_scan import DEFINITION_ORDER, definition_order

    written = tuple(definition_order(cls))
    own_annotations = cls.__dict__.get("__annotations__", {})
    borrowed = _mixin_fields(mixins, own_annotations)
    if mapped:
        borrowed.update(_declared_attr_fields(cls, mixins, {**borrowed, **own_annotations}))
    annotations = {**{k: raw for k, (raw, _v) in borrowed.items()}, **own_annotations}
    # an Unmapped[...] column (or an orm_insert_sentinel()) is no attribute of the
    # class: no field either
    annotations = {k: raw for k, raw in annotations.items() if not is_unmapped_annotation(raw)
                   and not isinstance(cls.__dict__.get(k, borrowed.get(k, (None, None))[1]),
                                      InsertSentinelColumn)}
    injected = [k for k in borrowed if k not in cls.__dict__]
    for key in injected:
        value = borrowed[key][1]
        if value is not MISSING:
            type.__setattr__(cls, key, value)
    had_annotations = "__annotations__" in cls.__dict__
    type.__setattr__(cls, "__annotations__", annotations)
    saved: dict[str, Any] = {}
    # column defaults the attributes answer while unset (see _field_options); the
    # SQLAlchemy 2.0 behaviour (__init__ stores them) when the class asks for it
    defaults: dict[str, Any] | None = \
        None if getattr(cls, "_sa_disable_descriptor_defaults", False) else {}
    try:
        for key, raw in list(annotations.items()):
            if not is_classvar(raw):
                _declare_field(cls, key, saved, defaults)
        kwargs = {k: v for k, v in options.items() if k != "dataclass_callable"}
        maker = options.get("dataclass_callable") or dataclasses.dataclass
        try:
            maker(cls, **kwargs)
        except (TypeError, ValueError) as err:
            raise ArgumentError(
                f"Can't make {cls.__name__} a dataclass: {err}; give the attributes without "
                "a default init=False, a default, or kw_only=True"
            ) from err
        _keep_attribute_defaults(cls, annotations, defaults or {})
    finally:
        for key, value in saved.items():
            type.__setattr__(cls, key, value)
        for key in injected:  # the mixin's own attributes stay the mixin's
            if key in cls.__dict__:
                type.__delattr__(cls, key)
        if had_annotations:
            type.__setattr__(cls, "__annotations__", own_annotations)
        else:
            type.__delattr__(cls, "__annotations__")
        # (the dataclasses module deletes and sets attributes again: the columns of a
        # mixin keep their class body's order through this)
        type.__setattr__(cls, DEFINITION_ORDER, written)


def _mixin_fields(mixins: Sequence[type], own_annotations: Mapping[str, Any]
                  ) -> dict[str, tuple[Any, Any]]:
    """{name: (annotation, value)} of the mapped attributes of unmapped mixins
    (``mixins``: nearest first) that are not dataclasses themselves: fields too, before
    the class's own, farthest mixin first (the order the dataclasses module gives the
    fields of dataclass bases)."""
    from .properties import MapperProperty

    borrowed: dict[str, tuple[Any, Any]] = {}
    for mixin in reversed(mixins):
        if "__dataclass_fields__" in mixin.__dict__:
            continue
        # a class below MappedAsDataclass is a dataclass of all its annotations; any
        # other mixin gives its mapped attributes only
        whole = dataclass_options_of(mixin) is not None
        for key, raw in mixin.__dict__.get("__annotations__", {}).items():
            if key in own_annotations or is_classvar(raw) or is_unmapped_annotation(raw):
                continue
            value = mixin.__dict__.get(key, MISSING)
            if isinstance(value, (MappedColumn, MapperProperty)) or (
                    whole and (value is MISSING or isinstance(value, dataclasses.Field))) or (
                    value is MISSING and _is_mapped_annotation(raw)):
                borrowed.pop(key, None)
                borrowed[key] = (raw, value)
    return borrowed


def _declared_attr_fields(cls: type, mixins: Sequence[type], taken: Mapping[str, Any]
                          ) -> dict[str, tuple[Any, Any]]:
    """{name: (annotation, value)} of the ``declared_attr``s of ``cls`` and its unmapped
    mixins whose function is annotated ``-> Mapped[...]``: fields of ``cls`` too, with
    the dataclass options of the property the function gives for ``cls`` (a trial
    call: the mapping calls it again; one that fails this early gives no field)."""
    from .properties import MapperProperty

    nearest: dict[str, Any] = {}
    for klass in (cls, *mixins):
        for key, value in klass.__dict__.items():
            nearest.setdefault(key, value)
    out: dict[str, tuple[Any, Any]] = {}
    for key, value in nearest.items():
        if key in taken or key.startswith("__") or not isinstance(value, declared_attr):
            continue
        raw = getattr(value.fget, "__annotations__", {}).get("return")
        if raw is None or not _is_mapped_annotation(raw):
            continue
        try:
            made = value.fget(cls)
        except Exception:  # noqa: BLE001 - e.g. it reads cls.__table__, not made yet
            continue
        if isinstance(made, (MappedColumn, MapperProperty)):
            out[key] = (raw, made)
    return out


def _is_mapped_annotation(raw: object) -> bool:
    if isinstance(raw, str):
        return raw.lstrip().startswith(("Mapped", "DynamicMapped", "WriteOnlyMapped")) \
            or ".Mapped[" in raw
    return marker_of(raw)[0] is not None


def _keep_attribute_defaults(cls: type, annotations: Mapping[str, Any],
                             defaults: dict[str, Any]) -> None:
    """Record on ``cls`` the defaults its column attributes answer while unset (those
    of dataclass superclasses too, unless ``cls`` declares the field again)."""
    inherited = getattr(cls, ATTRIBUTE_DEFAULTS, {})
    merged = {k: v for k, v in inherited.items() if k not in annotations}
    merged.update(defaults)
    if merged or inherited:
        type.__setattr__(cls, ATTRIBUTE_DEFAULTS, merged)


# the class attribute holding {attribute key: default} (read by the column attributes)
ATTRIBUTE_DEFAULTS = "_dm_attribute_defaults"


def _declare_field(cls: type, key: str, saved: dict[str, Any],
                   defaults: dict[str, Any] | None = None) -> None:
    """Put a ``dataclasses.field()`` with the options of mapped attribute ``key`` on
    ``cls`` (its mapping value kept in ``saved``, to be put back); the defaults that
    stay with the attribute instead of the constructor go into ``defaults``."""
    from .properties import MapperProperty

    value = cls.__dict__.get(key, MISSING)
    if isinstance(value, declared_attr):
        return
    if isinstance(value, MappedColumn):
        opts = dict(value.dataclass)
    elif isinstance(value, MapperProperty):
        opts = dict(getattr(value, "_dm_dataclass", {}) or {})
    elif value is MISSING:
        opts = {}
    else:
        return  # a plain default: the dataclasses module handles it
    if value is not MISSING:
        saved[key] = value
    if not opts and value is MISSING:
        return
    if defaults is not None and "default" in opts and _is_column(value) \
            and not callable(opts["default"]):
        # a column's plain default: the attribute answers it while unset and the
        # INSERT writes it as the column's default, but the constructor does not store
        # it, so that merge() of a new object does not overwrite values with defaults
        if not isinstance(opts["default"], DefaultGenerator):
            # (a ColumnDefault or Sequence given as the default is the column's only)
            defaults[key] = opts["default"]
        if opts.get("init") is False:
            opts.pop("default")
        else:
            opts["default"] = DONT_SET
    if defaults is not None and _is_empty_collection_factory(cls, key, value, opts):
        # an empty collection: the attribute gives one while unset, so the constructor
        # leaves it unset, and merge() of the new object leaves a persistent one alone
        opts.pop("default_factory")
        if opts.get("init") is not False:
            opts["default"] = DONT_SET
    setattr(cls, key, dataclasses.field(**_field_options(opts, value)))


def _is_empty_collection_factory(cls: type, key: str, value: object,
                                 opts: Mapping[str, Any]) -> bool:
    """A relationship collection's ``default_factory`` that makes an empty collection
    (``list``, ``set``, ``dict`` or its ``collection_class``), not of a write-only or
    dynamic relationship (they take a list when set)."""
    factory = opts.get("default_factory")
    if factory is None or not _is_reference(value):
        return False
    if getattr(value, "lazy", None) in ("dynamic", "write_only") or marker_of(
            cls.__dict__.get("__annotations__", {}).get(key))[0] in ("dynamic", "write_only"):
        return False
    if isinstance(cls.__dict__.get("__annotations__", {}).get(key), str) and \
            cls.__dict__["__annotations__"][key].lstrip().startswith(
                ("DynamicMapped", "WriteOnlyMapped")):
        return False
    return factory in (list, set, dict) or (
        factory is getattr(value, "_collection_class_arg", None))


def _is_column(value: object) -> bool:
    from .properties import ColumnProperty

    return isinstance(value, (MappedColumn, ColumnProperty))


def _field_options(opts: dict[str, Any], value: object) -> dict[str, Any]:
    """``dataclasses.field()`` keywords from a mapped attribute's dataclass options."""
    if "hash" in opts and sys.version_info < (3, 12):
        opts["hash"] = opts.pop("hash")
    if "dataclass_metadata" in opts:  # the dataclass field's own ``metadata``
        opts["metadata"] = opts.pop("dataclass_metadata")
    if "default" in opts and opts["default"] is None and _is_reference(value):
        # a many-to-one / one-to-one left at None: the constructor does not set it
        # (setting None would null a foreign key the program gives as a column)
        if opts.get("init") is False:
            opts.pop("default")  # __init__ leaves a field without a default alone
        else:
            opts["default"] = DONT_SET
    elif opts.get("init") is False and "default" in opts:
        # a field left out of __init__ takes its default from the class attribute,
        # which the mapped attribute replaces: __init__ must set it instead
        opts["default_factory"] = _constant(opts.pop("default"))
    return opts


def _is_reference(value: object) -> bool:
    from .relationships import RelationshipProperty

    return isinstance(value, RelationshipProperty)


def _constant(value: object) -> Callable[[], Any]:
    def default() -> object:
        return value

    return default


def dataclass_options_of(cls: type) -> dict[str, Any] | None:
    for klass in cls.__mro__:
        opts = klass.__dict__.get("_dm_dataclass_options")
        if opts is not None:
            return dict(opts)
    return None


class MappedAsDataclass:
    """Mixin: declarative classes below it are also dataclasses.

    ``class Base(MappedAsDataclass, DeclarativeBase)``; class keywords such as
    ``kw_only=True`` or ``repr=False`` go to ``dataclasses.dataclass``.
    """

    def __init_subclass__(cls, **kw: object) -> None:
        options = {k: kw.pop(k) for k in _DATACLASS_CLASS_OPTIONS if k in kw}
        merged = {**(dataclass_options_of(cls) or {}), **options}
        cls._dm_dataclass_options = merged  # type: ignore[attr-defined]  # a marker set on the user's class
        super().__init_subclass__(**kw)
        from .mapper import _mapper_or_none
        from .registry import _mapping_classes

        if _mapper_or_none(cls) is None and "__dataclass_fields__" not in cls.__dict__:
            # an unmapped class (the declarative base, an abstract class, a mixin) is a
            # dataclass too, so that its fields come before those of the classes below
            # it and its class options (repr=, unsafe_hash= ...) hold for them
            apply_dataclass(cls, dict(merged), _mapping_classes(cls)[1:], mapped=False)


# -- declarative bases ----------------------------------------------------------------------
def _refuse_table_on_base(cls: type) -> None:
    """A class deriving from DeclarativeBase itself is the program's declarative base,
    never mapped: one that names its table (a model written as ``class User(
    DeclarativeBase)``) is refused rather than left silently unmapped."""
    tablename = cls.__dict__.get("__tablename__")
    if isinstance(tablename, str) or isinstance(cls.__dict__.get("__table__"), sqlalchemy.Table):
        root = next(b for b in cls.__bases__ if b.__dict__.get("_dm_root"))
        raise InvalidRequestError(
            f"Can't map {cls.__name__}: deriving from {root.__name__} directly makes it a "
            f"declarative base, which maps no table; declare 'class Base({root.__name__}): "
            f"pass' once and derive {cls.__name__} from Base")


def _setup_base(cls: type) -> None:
    from .registry import registry as registry_cls

    # given on the base class or on a mixin of it (not on datamapper's own classes)
    own = [k for k in cls.__mro__ if not k.__module__.startswith("datamapper.")]

    def given(name: str) -> Any:
        return next((k.__dict__[name] for k in own if name in k.__dict__), None)

    reg = given("registry")
    metadata = given("metadata")
    tmap = given("type_annotation_map")
    if reg is not None and not isinstance(reg, registry_cls):
        raise ArgumentError(
            f"Can't use {cls.__name__}.registry = {reg!r}: it must be a datamapper registry()"
        )
    if reg is None:
        reg = registry_cls(metadata=metadata, type_annotation_map=tmap)
    else:
        if metadata is not None and metadata is not reg.metadata:
            raise ArgumentError(
                f"Can't set both registry and metadata on {cls.__name__}: the registry has its "
                "own MetaData; pass it as registry(metadata=...)"
            )
        if tmap:
            reg.update_type_annotation_map(tmap)
    type.__setattr__(cls, "registry", reg)
    type.__setattr__(cls, "metadata", reg.metadata)
    type.__setattr__(cls, "_dm_registry", reg)
    if "__init__" not in cls.__dict__ and reg.constructor is not None:
        type.__setattr__(cls, "__init__", reg.constructor)


def _declarative_subclass(cls: type) -> None:
    from .registry import _map_declarative, _needs_mapping

    if cls.__dict__.get("__abstract__", False):
        return
    reg = cls._dm_registry  # type: ignore[attr-defined]  # set on every declarative base by its registry
    if _needs_mapping(cls):
        _map_declarative(reg, cls, strict=True)
    elif "_dm_mapper" not in cls.__dict__ and _unmapped_ancestors_only(cls):
        raise ArgumentError(
            f"Can't map class {cls.__name__}: it has no __tablename__ or __table__; give one, "
            "or set __abstract__ = True to make it a base for other classes"
        )


def _unmapped_ancestors_only(cls: type) -> bool:
    from .mapper import _mapper_or_none

    return all(_mapper_or_none(k) is None for k in cls.__mro__[1:])


def _declarative_init_subclass(cls: type) -> None:
    if cls.__dict__.get("_dm_root"):
        return
    if any(b.__dict__.get("_dm_root") for b in cls.__bases__):
        _refuse_table_on_base(cls)
        _setup_base(cls)
    else:
        _declarative_subclass(cls)


if TYPE_CHECKING:

    class _DeclarativeCommon:
        # for type checkers: what every declarative class carries
        registry: ClassVar[Registry]
        metadata: ClassVar[MetaData]
        __mapper__: ClassVar[Mapper]
        __table__: ClassVar[sqlalchemy.Table]
        __tablename__: Any
        __mapper_args__: Any
        __table_args__: Any
        type_annotation_map: ClassVar[dict[Any, Any]]

        def __init__(self, **kw: object) -> None: ...

else:
    _DeclarativeCommon = object  # nothing at run time: one class less in every MRO


class DeclarativeBase(_DeclarativeCommon, metaclass=DeclarativeMeta):
    """Base of the user's declarative base: ``class Base(DeclarativeBase): pass``.

    The direct subclass becomes the base of a new registry (its ``metadata``,
    ``registry`` and ``type_annotation_map`` class attributes are used when given);
    every class below it that names ``__tablename__`` or ``__table__`` is mapped when
    it is defined.  ``__abstract__ = True`` keeps a class unmapped.
    """

    _dm_root: ClassVar[bool] = True

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        _declarative_init_subclass(cls)


class DeclarativeBaseNoMeta(_DeclarativeCommon):
    """:class:`DeclarativeBase` without a metaclass (for bases that need another
    metaclass); ``sqlalchemy.inspect(cls)`` then does not know its classes, while
    ``datamapper.inspect(cls)`` does."""

    _dm_root: ClassVar[bool] = True

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        _declarative_init_subclass(cls)
