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

This module owns what is new in that style: the ``Mapped`` marker types, the
``mapped_column()`` declaration, reading an annotation into a column type, a
nullability and (for relationships) a target and a collection class, the
declarative base classes and the dataclass integration.  The registry
(:mod:`.registry`) calls :func:`scan_class` while it maps a declarative class
and :func:`apply_dataclass` before that; the classic ``Column`` style goes
through the same registry code untouched.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import decimal
import enum
import sys
import typing
import uuid
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Mapping,
    MutableSequence,
    MutableSet,
    Sequence,
)
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Optional, TypeVar, overload

import sqlalchemy
from sqlalchemy import Column, Enum, MetaData, types
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.base import SchemaEventTarget
from sqlalchemy.sql.operators import ColumnOperators
from sqlalchemy.sql.schema import SchemaItem

from .._core import attach_type_to_column, replace_null_type
from .._util import DONT_SET
from .coercion import DeclarativeMeta

if TYPE_CHECKING:
    from .attributes import InstrumentedAttribute
    from .mapper import Mapper
    from .registry import registry as Registry
    from .writeonly import WriteOnlyCollection

_T = TypeVar("_T")

__all__ = [
    "DeclarativeBase", "DeclarativeBaseNoMeta", "DynamicMapped", "Mapped", "MappedAsDataclass",
    "MappedColumn", "TypeResolve", "WriteOnlyMapped", "declared_attr", "mapped_column",
]


# -- the annotation markers ---------------------------------------------------------
class Mapped(Generic[_T]):
    """Annotation of a mapped attribute: ``id: Mapped[int]``.

    For a type checker, reading the attribute on the class gives a SQL expression
    (``User.id == 5``) and on an instance the Python value (``user.id: int``).  At
    run time the mapper replaces it with its own descriptor; ``Mapped`` itself is
    only read from annotations.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: object) -> InstrumentedAttribute[_T]: ...

        @overload
        def __get__(self, instance: object, owner: object) -> _T: ...

        def __get__(self, instance: object | None, owner: object) -> InstrumentedAttribute[_T] | _T: ...

        def __set__(self, instance: object, value: _T) -> None: ...

        def __delete__(self, instance: object) -> None: ...


class DynamicMapped(Mapped[_T]):
    """Annotation of a ``lazy="dynamic"`` relationship: ``DynamicMapped["Address"]``."""

    __slots__ = ()


class WriteOnlyMapped(Mapped[_T]):
    """Annotation of a ``lazy="write_only"`` relationship: ``WriteOnlyMapped["Entry"]``.

    On an instance the attribute is a ``WriteOnlyCollection[Entry]``; a collection of
    ``Entry`` may be assigned while the parent has no row yet.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        @overload  # type: ignore[override]
        def __get__(self, instance: None, owner: object) -> InstrumentedAttribute[_T]: ...

        @overload
        def __get__(self, instance: object, owner: object) -> WriteOnlyCollection[_T]: ...

        def __get__(self, instance: object | None, owner: object
                    ) -> InstrumentedAttribute[_T] | WriteOnlyCollection[_T]: ...

        def __set__(self, instance: object, value: Iterable[_T]) -> None:  # type: ignore[override]
            ...


_MARKERS: dict[Any, str] = {Mapped: "mapped", DynamicMapped: "dynamic", WriteOnlyMapped: "write_only"}


# -- mapped_column() ------------------------------------------------------------------
_DATACLASS_ARGS = ("init", "repr", "default", "default_factory", "compare", "kw_only", "hash",
                   "dataclass_metadata")


class _Missing:
    def __repr__(self) -> str:
        return "<not given>"


_MISSING: Any = _Missing()


def dataclass_options(kw: dict[str, Any]) -> dict[str, Any]:
    """Pop the dataclass field options (``init``, ``default_factory`` ...) out of ``kw``."""
    return {k: kw.pop(k) for k in _DATACLASS_ARGS if k in kw}


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
        if "default" in self.dataclass:
            kw["default"] = self.dataclass["default"]
        if "insert_default" in kw:
            kw["default"] = kw.pop("insert_default")
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
        return self.fget(owner)

    @classmethod
    def directive(cls, fget: Callable[..., Any]) -> Any:
        return cls(fget)

    @classmethod
    def cascading(cls, fget: Callable[..., Any]) -> Any:
        """``@declared_attr.cascading``: run for every mapped class of the hierarchy,
        subclasses of a mapped class included."""
        return cls(fget, cascading=True)

    _cascading = cascading_attr = cascading


# -- reading annotations ------------------------------------------------------------------
class _Name:
    """A name an annotation string uses before it is defined (``Mapped["Address"]``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *a: object, **k: object) -> Any:  # typing's checks accept callables
        raise TypeError(self.name)

    def __or__(self, other: object) -> Any:
        if other is None or other is type(None):
            return typing.Optional[self]  # noqa: UP045 - a typing object built at run time
        return typing.Union[self, other]  # noqa: UP007 - a typing object built at run time

    def __ror__(self, other: object) -> Any:
        return self.__or__(other)

    def __getitem__(self, item: object) -> Any:
        return _Name(self.name)

    def __repr__(self) -> str:
        return self.name


class _Names(dict[str, Any]):
    def __init__(self, module_globals: dict[str, Any]) -> None:
        super().__init__()
        self.g = module_globals

    def __missing__(self, key: str) -> Any:
        if key in self.g:
            return self.g[key]
        if hasattr(builtins, key):
            return getattr(builtins, key)
        return _Name(key)


def _evaluate(annotation: object, klass: type, module_name: str | None = None) -> Any:
    """The annotation as an object; names not defined yet become placeholders.

    Strings are evaluated in the module that wrote them (``module_name``, default
    the class's), with the classes nested in the class body also visible.
    """
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules.get(module_name or klass.__module__)
    module_globals = dict(vars(module)) if module is not None else {}
    names = _Names(module_globals)
    if module_name is None:
        for k, v in vars(klass).items():  # names of the class body (nested enums, aliases)
            if isinstance(v, type):
                names[k] = v
    try:
        return eval(annotation, module_globals, names)  # noqa: S307 - an annotation of user code
    except Exception as err:
        raise ArgumentError(
            f"Can't read the annotation {annotation!r} of class {klass.__name__}: {err}; "
            "write it as Mapped[<type>] with names importable from the module"
        ) from None


def _marker_of(ann: object) -> tuple[str | None, Any]:
    """(``"mapped"``/``"dynamic"``/``"write_only"`` or None, the inner type)."""
    origin = typing.get_origin(ann)
    if origin in _MARKERS:
        args = typing.get_args(ann)
        return _MARKERS[origin], (args[0] if args else _MISSING)
    if ann in _MARKERS:
        return _MARKERS[ann], _MISSING
    if isinstance(ann, type) and issubclass(ann, Mapped):
        return "mapped", _MISSING
    return None, ann


def _strip_optional(tp: object) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); other unions are kept whole."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or (sys.version_info >= (3, 10) and origin is _UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None) and a is not None]
        nullable = len(args) != len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], nullable
        return typing.Union[tuple(args)], nullable  # noqa: UP007 - built at run time
    if tp is None or tp is type(None):
        return type(None), True
    return tp, False


_UnionType: Any = type(int | None)


def _annotated_parts(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    if typing.get_origin(tp) is typing.Annotated:
        return typing.get_args(tp)[0], tuple(tp.__metadata__)
    return tp, ()


def _alias_classes() -> tuple[type, ...]:
    found: list[type] = []
    for module_name in ("typing", "typing_extensions"):
        try:
            module = __import__(module_name)
        except ImportError:  # pragma: no cover - typing_extensions comes with SQLAlchemy
            continue
        cls = getattr(module, "TypeAliasType", None)
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return tuple(found)


_ALIAS_CLASSES = _alias_classes()  # PEP 695 ``type X = ...`` (3.12) and its backport


def _is_type_alias(tp: object) -> bool:
    return bool(_ALIAS_CLASSES) and isinstance(tp, _ALIAS_CLASSES)


def _alias_value(tp: Any) -> Any:
    """What a PEP 695 alias stands for: ``X`` -> its value; ``X[str]`` (a generic
    alias) -> its value with ``str`` put in for the alias's type parameter."""
    if _is_type_alias(tp):
        return tp.__value__
    alias = typing.get_origin(tp)
    value = alias.__value__
    params = tuple(getattr(alias, "__type_params__", ()) or ())
    args = typing.get_args(tp)
    if params and len(params) == len(args):
        given = dict(zip(params, args, strict=True))
        value_params = tuple(getattr(value, "__parameters__", ()) or ())
        if value_params:
            value = value[tuple(given.get(p, p) for p in value_params)]
    return value


def _is_alias_use(tp: object) -> bool:
    return _is_type_alias(tp) or _is_type_alias(typing.get_origin(tp))


class _TypeLayers:
    """A ``Mapped[...]`` argument taken apart: ``Optional``, PEP 695 aliases and a PEP 593
    ``Annotated`` peeled off, outermost first."""

    __slots__ = ("raw", "extracted", "nullable", "raw_pep_695", "pep_695_value",
                 "raw_pep_593", "pep_593_argument", "metadata")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        tp, nullable = _strip_optional(raw)
        self.raw_pep_695: Any = None
        self.pep_695_value: Any = None
        seen = 0
        while _is_alias_use(tp) and seen < 20:  # an alias of an alias ...
            if self.raw_pep_695 is None:
                self.raw_pep_695 = tp
            tp, alias_nullable = _strip_optional(_alias_value(tp))
            nullable = nullable or alias_nullable
            self.pep_695_value = tp
            seen += 1
        self.extracted = tp  # still Annotated[...] when it was one
        argument, self.metadata = _annotated_parts(tp)
        self.raw_pep_593: Any = None
        self.pep_593_argument: Any = None
        if self.metadata:
            argument, arg_nullable = _strip_optional(argument)
            nullable = nullable or arg_nullable
            self.raw_pep_593 = tp
            self.pep_593_argument = argument
        self.nullable = nullable

    @property
    def resolved(self) -> Any:
        """The Python type a SQL type is looked up for."""
        if self.pep_593_argument is not None:
            return self.pep_593_argument
        return self.extracted


class TypeResolve:
    """What a ``resolve_type_annotation`` listener of a registry is given: the attribute
    whose ``Mapped[...]`` annotation needs a SQL type, and that annotation taken apart.

    The listener returns a SQL type (a ``TypeEngine`` instance or class) to use for the
    column, or None to leave the choice to the registry's ``type_annotation_map``.
    ``resolved_type`` is the Python type the map would be asked about: the annotation
    without ``Optional``, PEP 695 aliases and ``Annotated``.
    """

    __slots__ = ("registry", "cls", "key", "raw_type", "resolved_type", "raw_pep_593_type",
                 "pep_593_resolved_argument", "raw_pep_695_type", "pep_695_resolved_value")

    def __init__(self, registry: Any, cls: type, key: str, layers: _TypeLayers) -> None:
        self.registry = registry
        self.cls = cls
        self.key = key
        self.raw_type = layers.raw
        self.resolved_type = layers.resolved
        self.raw_pep_593_type = layers.raw_pep_593
        self.pep_593_resolved_argument = layers.pep_593_argument
        self.raw_pep_695_type = layers.raw_pep_695
        self.pep_695_resolved_value = layers.pep_695_value

    def resolve(self, python_type: object) -> Any:
        """The SQL type the registry's ``type_annotation_map`` (then the built-in one)
        gives ``python_type``, or None."""
        return sql_type_for(python_type, getattr(self.registry, "type_annotation_map", {}))

    def __repr__(self) -> str:
        return (f"<TypeResolve {getattr(self.cls, '__name__', self.cls)}.{self.key}: "
                f"{self.resolved_type!r}>")


def _type_from_listeners(reg: object, cls: type, key: str, layers: _TypeLayers) -> Any:
    """The first SQL type a ``resolve_type_annotation`` listener of ``reg`` returns."""
    dispatch = getattr(reg, "_dm_configure_dispatch", None)
    if dispatch is None or "resolve_type_annotation" not in dispatch:
        return None
    info = TypeResolve(reg, cls, key, layers)
    for fn, _opts in dispatch.listeners("resolve_type_annotation"):
        found = fn(info)
        if found is None:
            continue
        if isinstance(found, type) and issubclass(found, types.TypeEngine):
            found = found()
        if not isinstance(found, types.TypeEngine):
            raise ArgumentError(
                f"The resolve_type_annotation listener {fn!r} returned {found!r} for "
                f"{cls.__name__}.{key}; return a SQL type such as String(50) (or the "
                "class String), or None to let the type_annotation_map decide"
            )
        return found
    return None


def default_type_map() -> dict[Any, Any]:
    float_type: Any = getattr(types, "Double", types.Float)
    if sqlalchemy.__version__.startswith("2.0"):
        float_type = types.Float
    return {
        int: types.Integer(),
        float: float_type(),
        bool: types.Boolean(),
        str: types.String(),
        bytes: types.LargeBinary(),
        datetime.datetime: types.DateTime(),
        datetime.date: types.Date(),
        datetime.time: types.Time(),
        datetime.timedelta: types.Interval(),
        decimal.Decimal: types.Numeric(),
        uuid.UUID: types.Uuid(),
        enum.Enum: Enum(enum.Enum),
        typing.Literal: Enum(enum.Enum, native_enum=False),
    }


def _lookup(type_map: dict[Any, Any], tp: object) -> Any:
    try:
        if tp in type_map:
            return type_map[tp]
    except TypeError:  # unhashable annotation
        return None
    if isinstance(tp, type):
        for klass in tp.__mro__[1:]:
            if klass in type_map:
                return type_map[klass]
    members = _union_members(tp)
    if members is not None:
        # Union[float, Decimal] finds a key written float | Decimal | None (None is
        # the column's nullability, not part of the type)
        for key, found in type_map.items():
            if _union_members(key) == members:
                return found
    return None


def _union_members(tp: object) -> frozenset[Any] | None:
    """The members of a union other than None (None for a non-union)."""
    origin = typing.get_origin(tp)
    if origin is not typing.Union and not (
            sys.version_info >= (3, 10) and origin is _UnionType):
        return None
    try:
        return frozenset(a for a in typing.get_args(tp) if a is not type(None))
    except TypeError:  # an unhashable member
        return None


def _as_type(found: object, tp: object) -> Any:
    if isinstance(found, type) and issubclass(found, types.TypeEngine):
        found = found()
    if isinstance(found, Enum):
        opts = {"native_enum": found.native_enum, "create_constraint": found.create_constraint}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            if found.enum_class is tp or found.enum_class is None:
                return found  # made for this enum, or given its values one by one
            if found.enum_class is enum.Enum and found.length:
                opts["length"] = found.length  # Enum(enum.Enum, length=...) in the map
            return Enum(tp, **opts)
        if typing.get_origin(tp) is typing.Literal:
            values = [str(v) for v in typing.get_args(tp)]
            if found.enum_class is not enum.Enum:
                return found
            return Enum(*values, native_enum=False, create_constraint=found.create_constraint,
                        length=max((len(v) for v in values), default=1))
    return found


def sql_type_for(tp: object, type_map: dict[Any, Any]) -> Any:
    """The SQL type for Python type ``tp`` (already without ``None``), or None."""
    for candidate in (tp, _annotated_parts(tp)[0]):
        for mapping in (type_map, _DEFAULT_MAP):
            found = _lookup(mapping, candidate)
            if found is not None:
                return _as_type(found, candidate)
        if typing.get_origin(candidate) is typing.Literal:
            for mapping in (type_map, _DEFAULT_MAP):
                if typing.Literal in mapping:
                    return _as_type(mapping[typing.Literal], candidate)
    return None


_DEFAULT_MAP = default_type_map()

_COLLECTIONS: dict[Any, Any] = {
    list: list, set: set, frozenset: set, typing.List: list, typing.Set: set,  # noqa: UP006
    typing.FrozenSet: set, Sequence: list, MutableSequence: list, Collection: list,  # noqa: UP006
    Iterable: list, AbstractSet: set, MutableSet: set,
}


def _target_name(tp: object) -> Any:
    if isinstance(tp, _Name):
        return tp.name
    if isinstance(tp, typing.ForwardRef):
        return tp.__forward_arg__
    return tp


def _relationship_shape(tp: object) -> tuple[Any, Any, bool | None]:
    """(target, collection class or None, uselist) read from a relationship annotation."""
    tp, _nullable = _strip_optional(tp)
    if isinstance(tp, str):
        tp = tp.strip()
        for prefix, cc in (("list[", list), ("List[", list), ("set[", set), ("Set[", set)):
            if tp.startswith(prefix) and tp.endswith("]"):
                return tp[len(prefix):-1].strip().strip("'\""), cc, True
        for prefix in ("dict[", "Dict["):
            if tp.startswith(prefix) and tp.endswith("]") and "," in tp:
                return tp[len(prefix):-1].rsplit(",", 1)[1].strip().strip("'\""), dict, True
        return tp.strip("'\""), None, False
    origin = typing.get_origin(tp)
    if origin is not None and origin in _COLLECTIONS:
        args = typing.get_args(tp)
        target = _target_name(args[0]) if args else None
        if isinstance(target, str):
            target = target.strip("'\"")
        return target, _COLLECTIONS[origin], True
    if origin is not None and isinstance(origin, type) and issubclass(origin, (list, set)):
        args = typing.get_args(tp)
        return (_target_name(args[0]) if args else None), origin, True
    if origin is dict or tp is dict:
        args = typing.get_args(tp)
        target = _target_name(args[1]) if len(args) == 2 else _MISSING
        if isinstance(target, str):
            target = target.strip("'\"")
        return target, dict, True
    return _target_name(tp), None, False


# -- scanning a declarative class ---------------------------------------------------------
def definition_order(klass: type) -> list[str]:
    """Names of a class body in the order they were written, annotated or assigned.

    Python keeps two orders: assignments (the class ``__dict__``) and annotations
    (``__annotations__``); an annotation-only name (``email: Mapped[str]``) is only
    in the second.  They are merged the way SQLAlchemy's declarative does (so that
    tables get the same column order): read one list until a name written in both
    comes up, then continue with the other list up to that name, and so on."""
    body = list(klass.__dict__)
    anns = list(klass.__dict__.get("__annotations__", {}))
    if "__dataclass_fields__" in klass.__dict__:
        # dataclass processing re-set the attributes with defaults after the others:
        # the annotations hold the order the fields were written in
        return _annotations_first(body, anns)
    in_both = set(body).intersection(anns)
    sources = (iter(body), iter(anns))
    current = 0
    out: list[str] = []
    while True:
        for name in sources[current]:
            if name in in_both:
                in_both.discard(name)  # taken when the other list reaches it
                current = 1 - current
                break
            out.append(name)
        else:
            out.extend(sources[1 - current])
            return out


def _annotations_first(body: list[str], anns: list[str]) -> list[str]:
    """Annotated names in annotation order, assigned-only names where the class body
    has them between two annotated ones."""
    ann_set = set(anns)
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    for name in body:
        if name in ann_set:
            while i < len(anns):
                a = anns[i]
                i += 1
                if a not in seen:
                    seen.add(a)
                    out.append(a)
                if a == name:
                    break
        elif name not in seen:
            seen.add(name)
            out.append(name)
    for a in anns[i:]:
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out


def has_mapped_annotations(classes: list[type]) -> bool:
    for klass in classes:
        for ann in klass.__dict__.get("__annotations__", {}).values():
            if isinstance(ann, str):
                if ann.lstrip().startswith(("Mapped", "DynamicMapped", "WriteOnlyMapped")) \
                        or ".Mapped[" in ann:
                    return True
            elif _marker_of(ann)[0] is not None:
                return True
    return False


def _is_classvar(ann: object) -> bool:
    if isinstance(ann, str):
        return ann.lstrip().startswith(("ClassVar", "typing.ClassVar"))
    return ann is ClassVar or typing.get_origin(ann) is ClassVar


def scan_class(
    reg: Registry,
    cls: type,
    classes: list[type],
    strict: bool,
) -> dict[str, tuple[tuple[int, int], Any]]:
    """Turn the annotations and ``mapped_column()`` values of ``cls`` and its unmapped
    mixins into Columns and mapper properties.

    ``classes`` are ``cls`` and the mixins to read, nearest first.  Returns
    ``{attribute name: (sort key, Column or MapperProperty)}``; the registry
    builds the Table and the Mapper from it.
    """
    from .mapper import _mapper_or_none
    from .relationships import RelationshipProperty

    type_map: dict[Any, Any] = getattr(reg, "type_annotation_map", None) or {}
    strict = strict and not getattr(cls, "__allow_unmapped__", False)
    # what the nearest mapped superclass maps: a mixin behind it gave those names to
    # it, and cls inherits them (a joined subclass's table gets no copies), except
    # for declared_attr.cascading
    parent = next((m for m in map(_mapper_or_none, cls.__mro__[1:]) if m is not None), None)
    inherited = parent._props if parent is not None else {}
    out: dict[str, tuple[tuple[int, int], Any]] = {}
    for rank, klass in enumerate(classes):
        annotations = klass.__dict__.get("__annotations__", {})
        for pos, key in enumerate(definition_order(klass)):
            if key in out or (key.startswith("__") and key.endswith("__")):
                continue
            found = _mapped_attribute(cls, klass, key, annotations, strict,
                                      inherited if rank > 0 else {})
            if found is None:
                continue
            value, marker, inner = found
            where = f"{cls.__name__}.{key}"
            sort_key = (rank, pos)
            if value is _MISSING or isinstance(value, MappedColumn):
                mc = value if isinstance(value, MappedColumn) else MappedColumn((), {})
                if rank > 0 or getattr(mc.column, "table", None) is not None:
                    mc = mc._copy()  # a mixin's column: each class gets its own
                out[key] = (sort_key, _column_from(mc, key, inner, type_map, where, reg,
                                                        cls))
            elif isinstance(value, RelationshipProperty):
                if marker is not None:
                    _apply_relationship_annotation(value, marker, inner, where)
                out[key] = (sort_key, value)
            elif getattr(value, "is_composite", False):
                _scan_composite(reg, cls, klass, key, value, inner, type_map, where, rank, pos,
                                out)
            else:  # a ColumnProperty, or another property
                out[key] = (sort_key, value)
    return out


def _mapped_attribute(cls: type, klass: type, key: str, annotations: dict[str, Any],
                      strict: bool, inherited: Mapping[str, object]
                      ) -> tuple[Any, Any, Any] | None:
    """``(value, Mapped marker, annotation inside the marker)`` of attribute ``key`` of
    ``klass`` (``cls`` or one of its mixins), or None when it is not mapped (a
    ClassVar, a plain annotation, a value of no mapping kind).  ``strict``: a
    ``mapped_column()``/``relationship()`` annotated without ``Mapped[...]`` is
    refused.  ``inherited``: names a mapped superclass maps already, not mapped again
    (unless by a ``declared_attr.cascading``)."""
    from .properties import MapperProperty
    from .relationships import RelationshipProperty

    raw_ann = annotations.get(key, _MISSING)
    value = klass.__dict__.get(key, _MISSING)
    if key in inherited and not (isinstance(value, declared_attr) and value.is_cascading):
        return None
    ann_module: str | None = None
    if isinstance(value, declared_attr):
        if raw_ann is _MISSING:
            raw_ann = getattr(value.fget, "__annotations__", {}).get("return", _MISSING)
            ann_module = getattr(value.fget, "__module__", None)
        value = value.fget(cls)
    if raw_ann is not _MISSING and _is_classvar(raw_ann):
        return None
    is_ours = isinstance(value, (MappedColumn, MapperProperty, Column))
    if raw_ann is _MISSING and not is_ours:
        return None
    if raw_ann is not _MISSING and value is not _MISSING and not is_ours:
        # another kind of attribute (a descriptor of another library ...): its
        # annotation is its own business, even one that can't be read here
        try:
            ann = _evaluate(raw_ann, klass, ann_module)
        except ArgumentError:
            return None
    else:
        ann = _evaluate(raw_ann, klass, ann_module) if raw_ann is not _MISSING else _MISSING
    marker, inner = _marker_of(ann) if ann is not _MISSING else (None, _MISSING)
    if isinstance(inner, (str, typing.ForwardRef)):
        # Mapped["Optional[Dict[str, Decimal]]"] or Mapped["list[B]"]: the string inside
        # the marker, read in the same module (names not defined yet stay names)
        inner = _evaluate(inner, klass, ann_module)
    if marker is None and ann is not _MISSING and isinstance(
            value, (MappedColumn, RelationshipProperty)) and strict:
        raise ArgumentError(
            f"Can't map {cls.__name__}.{key}: its annotation {raw_ann!r} is not Mapped[...]; "
            f"write '{key}: Mapped[...]' (e.g. Mapped[int] or Mapped[list[\"Other\"]]), or "
            "set __allow_unmapped__ = True on the class to keep plain annotations"
        )
    if marker is None and value is _MISSING:
        return None  # a plain annotation: not mapped
    return value, marker, inner


def _scan_composite(reg: Any, cls: type, klass: type, key: str, prop: Any, inner: Any,
                    type_map: dict[Any, Any], where: str, rank: int, pos: int,
                    out: dict[str, tuple[Any, Any]]) -> None:
    """A ``composite()``: its class from the annotation, and the columns it declares
    (its ``mapped_column()``s, or ones made from its dataclass's fields) mapped as
    attributes of their own, in its place in the table."""
    annotation_class, optional = None, False
    if inner is not _MISSING:
        layers = _TypeLayers(inner)
        annotation_class, optional = layers.resolved, layers.nullable

    def make_column(mc: MappedColumn[Any], name: str, python_type: object) -> Any:
        if getattr(mc.column, "name", None) is None:
            mc.column.name = name
            mc.column.key = name
        if optional and python_type is not None and not isinstance(python_type, str):
            python_type = Optional[python_type]  # noqa: UP045  (a runtime type object)
        made = _column_from(mc, name, python_type if python_type is not None else _MISSING,
                            type_map, f"{where} (column {name!r})", reg, cls)
        return made

    try:
        made = prop.declare_columns(annotation_class, optional, make_column,
                                    list(klass.__dict__.values()))
    except ArgumentError as e:
        raise ArgumentError(f"Can't map {where}: {e}") from None
    for i, (name, column) in enumerate(made):
        if name in out:
            raise ArgumentError(
                f"Can't map {where}: its column {name!r} has the name of another attribute "
                "of the class; name the column differently (mapped_column(\"other\"))")
        out[name] = ((rank, pos, i), column)
    out[key] = ((rank, pos, len(made)), prop)


def _column_from(
    mc: MappedColumn[Any], key: str, inner: object, type_map: dict[Any, Any], where: str,
    reg: object, cls: type,
) -> Any:
    """The Column (or a ColumnProperty holding it, for the deferred and
    active_history options) of ``key: Mapped[inner] = mc``; its SQL type from the
    annotation when ``mc`` gives none."""
    from .properties import ColumnProperty

    col = mc.column
    nullable: bool | None = None
    if inner is not _MISSING:
        layers = _TypeLayers(inner)
        nullable = layers.nullable
        for item in layers.metadata:  # Annotated[int, mapped_column(...)]: a reusable declaration
            if isinstance(item, MappedColumn):
                mc = _merge(item, mc)
                col = mc.column
        if not mc.type_given and not (isinstance(layers.resolved, _Name) and mc.has_foreign_key):
            sql_type = _annotated_sql_type(mc, key, inner, layers, type_map, where, reg, cls)
            if sql_type is not None:
                _set_column_type(col, sql_type)
    elif not mc.type_given and not mc.has_foreign_key:
        raise ArgumentError(
            f"Can't map {where}: mapped_column() was given no type and the attribute has no "
            f"Mapped[...] annotation; write '{key}: Mapped[int] = mapped_column(...)' or pass "
            "the type, e.g. mapped_column(Integer)"
        )
    if not mc.nullable_given and nullable is not None and not col.primary_key:
        col.nullable = nullable
    if getattr(col, "name", None) is None:
        col.name = key
        col.key = key
    col._dm_sort_order = mc.sort_order  # type: ignore[attr-defined]  # read back by the registry
    if mc.deferred or mc.active_history or mc.deferred_group is not None \
            or mc.deferred_raiseload:
        prop = ColumnProperty(col, deferred=mc.deferred or bool(mc.deferred_raiseload),
                              group=mc.deferred_group, active_history=mc.active_history,
                              raiseload=bool(mc.deferred_raiseload))
        prop._dm_dataclass = mc.dataclass  # type: ignore[attr-defined]
        return prop
    return col


def _annotated_sql_type(mc: MappedColumn[Any], key: str, inner: object, layers: _TypeLayers,
                        type_map: dict[Any, Any], where: str, reg: object, cls: type) -> Any:
    """The SQL type for annotation ``inner`` (its ``layers``): from a listener, the
    type map (the PEP 695 alias itself, the type, then its base), or None for a
    foreign key column (Core takes the referenced column's type)."""
    inner_tp, base = layers.extracted, layers.resolved
    sql_type = _type_from_listeners(reg, cls, key, layers)
    if sql_type is None and layers.raw_pep_695 is not None:
        found = _lookup(type_map, layers.raw_pep_695)  # the alias itself, mapped
        sql_type = _as_type(found, base) if found is not None else None
    if sql_type is None:
        sql_type = sql_type_for(inner_tp, type_map)
    if sql_type is None and base is not inner_tp:
        sql_type = sql_type_for(base, type_map)
    if sql_type is not None or mc.has_foreign_key:
        return sql_type
    if isinstance(base, (_Name, str)) or _looks_mapped(base):
        raise ArgumentError(
            f"Can't map {where}: its annotation names {base!r}, which has no SQL "
            f"type; if it is a related class, declare it with relationship(), e.g. "
            f"'{key}: Mapped[\"{base!s}\"] = relationship()'"
        )
    raise ArgumentError(
        f"Can't map {where}: no SQL type is known for the annotation "
        f"{inner!r}; give the type as mapped_column(SomeType(...)) or add "
        f"{base!r} to the base's type_annotation_map"
    )


def _set_column_type(col: Any, sql_type: Any) -> None:
    """Give a Column made without a type its type, with the type's schema events
    (an ``Enum`` must be created with the table) wired as a constructor would."""
    if replace_null_type(col, sql_type):
        return
    col.type = sql_type
    if isinstance(sql_type, SchemaEventTarget):
        attach_type_to_column(sql_type, col)


def _merge(template: MappedColumn[Any], mc: MappedColumn[Any]) -> MappedColumn[Any]:
    """A column from an ``Annotated[..., mapped_column(...)]`` template plus the local one."""
    new = template._copy()
    local = mc.column
    if mc.type_given:
        _set_column_type(new.column, local.type)
        new.type_given = True
    for fk in list(local.foreign_keys):
        new.column.append_foreign_key(fk._copy())
        new.has_foreign_key = True
    if local.primary_key:
        new.column.primary_key = True
    if mc.nullable_given:
        new.column.nullable = local.nullable
        new.nullable_given = True
    for attr in ("default", "server_default", "onupdate", "server_onupdate", "index", "unique",
                 "comment", "doc"):
        v = getattr(local, attr, None)
        if v is not None:  # given on the attribute (index=False / unique=False too)
            setattr(new.column, attr, v)
    if local.name is not None:
        new.column.name = local.name
        new.column.key = local.key
    for k in ("deferred", "deferred_group", "deferred_raiseload", "active_history",
              "sort_order"):
        if getattr(mc, k):
            setattr(new, k, getattr(mc, k))
    new.dataclass = {**new.dataclass, **mc.dataclass}
    return new


def _looks_mapped(tp: object) -> bool:
    return isinstance(tp, type) and ("_dm_mapper" in tp.__dict__ or hasattr(tp, "__tablename__"))


def _apply_relationship_annotation(prop: Any, marker: str, inner: Any, where: str) -> None:
    if marker == "write_only" and prop.lazy != "write_only":
        prop.lazy = "write_only"
    if marker == "dynamic":
        prop.lazy = "dynamic"
    if inner is _MISSING:
        return
    target, collection, uselist = _relationship_shape(inner)
    if marker in ("dynamic", "write_only"):
        target = _target_name(_strip_optional(inner)[0]) if collection is None else target
        collection, uselist = None, True
    if collection is dict:
        if prop._collection_class_arg is None:
            raise ArgumentError(
                f"Can't map {where}: a dictionary collection needs a key for each member; "
                "give relationship(collection_class=attribute_keyed_dict(\"name\")) (or "
                "column_keyed_dict()/keyfunc_mapping()), or annotate Mapped[list[...]]"
            )
        collection = None  # the keyed dictionary class given
    if prop.argument is None:
        if target is None or target is _MISSING:
            raise ArgumentError(
                f"Can't map {where}: relationship() was given no target and the annotation "
                "names none; write Mapped[\"Other\"] or Mapped[list[\"Other\"]]"
            )
        prop.argument = target
    if collection is not None and prop._collection_class_arg is None and marker == "mapped":
        prop._collection_class_arg = collection
    if prop._uselist_arg is None and uselist is not None and marker == "mapped":
        prop._uselist_arg = uselist


# -- dataclasses ----------------------------------------------------------------------------
_DATACLASS_CLASS_OPTIONS = ("init", "repr", "eq", "order", "unsafe_hash", "match_args",
                            "kw_only", "dataclass_callable")


def apply_dataclass(cls: type, options: dict[str, Any], mixins: Sequence[type] = ()) -> None:
    """Make ``cls`` a dataclass whose fields are its mapped attributes.

    Runs before the class is mapped: each ``Mapped[...]`` attribute of the class body
    becomes a field (``init``/``default``/``default_factory``/``repr``/``compare``/
    ``kw_only`` from ``mapped_column()``, ``relationship()`` or ``column_property()``);
    then the class body's mapping values are put back for the declarative scan.
    """
    from .properties import MapperProperty

    own_annotations = cls.__dict__.get("__annotations__", {})
    # the mapped attributes of unmapped mixins (``mixins``: nearest first) that are not
    # dataclasses themselves are fields too, before the class's own, farthest mixin
    # first (the order the dataclasses module gives the fields of dataclass bases)
    borrowed: dict[str, Any] = {}
    for mixin in reversed(mixins):
        if "__dataclass_fields__" in mixin.__dict__:
            continue
        for key, raw in mixin.__dict__.get("__annotations__", {}).items():
            if key in own_annotations or _is_classvar(raw):
                continue
            value = mixin.__dict__.get(key, _MISSING)
            if value is _MISSING or isinstance(value, (MappedColumn, MapperProperty)):
                borrowed.pop(key, None)
                borrowed[key] = (raw, value)
    annotations = {**{k: raw for k, (raw, _v) in borrowed.items()}, **own_annotations}
    injected = [k for k in borrowed if k not in cls.__dict__]
    for key in injected:
        value = borrowed[key][1]
        if value is not _MISSING:
            type.__setattr__(cls, key, value)
    had_annotations = "__annotations__" in cls.__dict__
    type.__setattr__(cls, "__annotations__", annotations)
    saved: dict[str, Any] = {}
    for key, raw in list(annotations.items()):
        if _is_classvar(raw):
            continue
        value = cls.__dict__.get(key, _MISSING)
        if isinstance(value, declared_attr):
            continue
        if isinstance(value, MappedColumn):
            opts = dict(value.dataclass)
        elif isinstance(value, MapperProperty):
            opts = dict(getattr(value, "_dm_dataclass", {}) or {})
        elif value is _MISSING:
            opts = {}
        else:
            continue  # a plain default: the dataclasses module handles it
        if value is not _MISSING:
            saved[key] = value
        if not opts and value is _MISSING:
            continue
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
        setattr(cls, key, dataclasses.field(**opts))
    kwargs = {k: v for k, v in options.items() if k != "dataclass_callable"}
    maker = options.get("dataclass_callable") or dataclasses.dataclass
    try:
        maker(cls, **kwargs)
    except (TypeError, ValueError) as err:
        raise ArgumentError(
            f"Can't make {cls.__name__} a dataclass: {err}; give the attributes without a "
            "default init=False, a default, or kw_only=True"
        ) from err
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


def _is_reference(value: object) -> bool:
    from .relationships import RelationshipProperty

    return isinstance(value, RelationshipProperty)


def _constant(value: Any) -> Callable[[], Any]:
    def default() -> Any:
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
        inherited = dataclass_options_of(cls) or {}
        cls._dm_dataclass_options = {**inherited, **options}  # type: ignore[attr-defined]
        super().__init_subclass__(**kw)


# -- declarative bases ----------------------------------------------------------------------
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
    reg = cls._dm_registry  # type: ignore[attr-defined]
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
