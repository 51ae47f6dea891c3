"""Reading a ``Mapped[...]`` annotation (annotated declarative, :mod:`.declarative`).

An annotation is evaluated in its class's module (names not yet defined stand
in as placeholders), its marker (``Mapped``/``DynamicMapped``/``WriteOnlyMapped``)
taken off, ``Optional``/``| None`` read as nullability and ``Annotated``/type
aliases unwrapped; what is left gives a column's SQL type through the registry's
type map (:func:`sql_type_for`, :class:`TypeResolve` for ``resolve_annotation``
listeners), or a relationship's target and collection class.
"""

from __future__ import annotations

import builtins
import datetime
import decimal
import enum
import sys
import typing
import uuid
from collections.abc import (
    Collection,
    Iterable,
    Mapping,
    MutableSequence,
    MutableSet,
    Sequence,
)
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

import sqlalchemy
from sqlalchemy import Enum, types
from sqlalchemy.exc import ArgumentError

from ..exc import MappedAnnotationError

if TYPE_CHECKING:
    from .attributes import InstrumentedAttribute
    from .writeonly import WriteOnlyCollection


_T = TypeVar("_T")


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

        @overload  # type: ignore[override]  # the class-level read gives the attribute, as on Mapped
        def __get__(self, instance: None, owner: object) -> InstrumentedAttribute[_T]: ...

        @overload
        def __get__(self, instance: object, owner: object) -> WriteOnlyCollection[_T]: ...

        def __get__(self, instance: object | None, owner: object
                    ) -> InstrumentedAttribute[_T] | WriteOnlyCollection[_T]: ...

        def __set__(self, instance: object, value: Iterable[_T]) -> None:  # type: ignore[override]  # a collection is assigned whole
            ...


class Unmapped(Generic[_T]):
    """Annotation of a column the class's table has but the class does not map:
    ``legacy: Unmapped[str | None] = unmapped_column()`` (or the annotation alone).
    The column's SQL type and nullability come from it as from ``Mapped[...]``; the
    attribute is not on the class, nor a dataclass field."""

    __slots__ = ()


MARKERS: dict[Any, str] = {Mapped: "mapped", DynamicMapped: "dynamic", WriteOnlyMapped: "write_only",
                           Unmapped: "unmapped"}


def is_unmapped_annotation(ann: object) -> bool:
    """Whether a raw annotation (a string too) is ``Unmapped[...]``."""
    if isinstance(ann, str):
        text = ann.strip()
        return text.startswith("Unmapped") or ".Unmapped[" in text
    return ann is Unmapped or typing.get_origin(ann) is Unmapped


class Missing:
    def __repr__(self) -> str:
        return "<not given>"


MISSING: Any = Missing()


def is_classvar(ann: object) -> bool:
    if isinstance(ann, str):
        return ann.lstrip().startswith(("ClassVar", "typing.ClassVar"))
    return ann is ClassVar or typing.get_origin(ann) is ClassVar


# -- reading annotations ------------------------------------------------------------------
class ForwardName:
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

    def __getitem__(self, item: object) -> ForwardName:
        return ForwardName(self.name)

    def __repr__(self) -> str:
        return self.name


class ForwardNames(dict[str, Any]):
    def __init__(self, module_globals: dict[str, Any]) -> None:
        super().__init__()
        self.g = module_globals

    def __missing__(self, key: str) -> Any:
        if key in self.g:
            return self.g[key]
        if hasattr(builtins, key):
            return getattr(builtins, key)
        return ForwardName(key)


def evaluate_annotation(annotation: object, klass: type, module_name: str | None = None) -> Any:
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
    names = ForwardNames(module_globals)
    if module_name is None:
        # the class's own name (Mapped[User.Role] in class User: the class is not bound
        # to its name yet), then the names of its body (nested enums, aliases)
        names[klass.__name__] = klass
        for k, v in vars(klass).items():
            if isinstance(v, type):
                names[k] = v
    try:
        return eval(annotation, module_globals, names)  # noqa: S307 - an annotation of user code
    except Exception as err:
        raise MappedAnnotationError(
            f"Can't read the annotation {annotation!r} of class {klass.__name__}: {err}; "
            "write it as Mapped[<type>] with names importable from the module"
        ) from None


def marker_of(ann: object) -> tuple[str | None, Any]:
    """(``"mapped"``/``"dynamic"``/``"write_only"`` or None, the inner type)."""
    origin = typing.get_origin(ann)
    if origin in MARKERS:
        args = typing.get_args(ann)
        return MARKERS[origin], (args[0] if args else MISSING)
    if ann in MARKERS:
        return MARKERS[ann], MISSING
    if isinstance(ann, type) and issubclass(ann, Mapped):
        return "mapped", MISSING
    if getattr(origin, "_dm_mapped_annotation", False):  # Relationship[list[B]]
        args = typing.get_args(ann)
        return "mapped", (args[0] if args else MISSING)
    return None, ann


def strip_optional(tp: object) -> tuple[Any, bool]:
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


class TypeLayers:
    """A ``Mapped[...]`` argument taken apart: ``Optional``, PEP 695 aliases and a PEP 593
    ``Annotated`` peeled off, outermost first."""

    __slots__ = ("raw", "extracted", "nullable", "raw_pep_695", "pep_695_value",
                 "raw_pep_593", "pep_593_argument", "metadata")

    def __init__(self, raw: object) -> None:
        self.raw = raw
        tp, nullable = strip_optional(raw)
        self.raw_pep_695: Any = None
        self.pep_695_value: Any = None
        seen = 0
        while _is_alias_use(tp) and seen < 20:  # an alias of an alias ...
            if self.raw_pep_695 is None:
                self.raw_pep_695 = tp
            tp, alias_nullable = strip_optional(_alias_value(tp))
            nullable = nullable or alias_nullable
            self.pep_695_value = tp
            seen += 1
        self.extracted = tp  # still Annotated[...] when it was one
        argument, self.metadata = _annotated_parts(tp)
        self.raw_pep_593: Any = None
        self.pep_593_argument: Any = None
        if self.metadata:
            argument, arg_nullable = strip_optional(argument)
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

    def __init__(self, registry: Any, cls: type, key: str, layers: TypeLayers) -> None:
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


def type_from_listeners(reg: object, cls: type, key: str, layers: TypeLayers) -> Any:
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


def lookup_type(type_map: dict[Any, Any], tp: object) -> Any:
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


def as_sql_type(found: object, tp: object) -> object:
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
            found = lookup_type(mapping, candidate)
            if found is not None:
                return as_sql_type(found, candidate)
        if typing.get_origin(candidate) is typing.Literal:
            for mapping in (type_map, _DEFAULT_MAP):
                if typing.Literal in mapping:
                    return as_sql_type(mapping[typing.Literal], candidate)
    return None


_DEFAULT_MAP = default_type_map()

_COLLECTIONS: dict[Any, Any] = {
    list: list, set: set, frozenset: set, typing.List: list, typing.Set: set,  # noqa: UP006
    typing.FrozenSet: set, Sequence: list, MutableSequence: list, Collection: list,  # noqa: UP006
    Iterable: list, AbstractSet: set, MutableSet: set,
}


def target_name(tp: object) -> object:
    if isinstance(tp, ForwardName):
        return tp.name
    if isinstance(tp, typing.ForwardRef):
        return tp.__forward_arg__
    return tp


def _string_relationship_shape(tp: str) -> tuple[str, type | None, bool]:
    """:func:`relationship_shape` of an annotation given as a string (``"list[B]"``)."""
    for prefix, cc in (("list[", list), ("List[", list), ("set[", set), ("Set[", set)):
        if tp.startswith(prefix) and tp.endswith("]"):
            return tp[len(prefix):-1].strip().strip("'\""), cc, True
    for prefix in ("dict[", "Dict["):
        if tp.startswith(prefix) and tp.endswith("]") and "," in tp:
            return tp[len(prefix):-1].rsplit(",", 1)[1].strip().strip("'\""), dict, True
    return tp.strip("'\""), None, False


def relationship_shape(tp: object) -> tuple[Any, Any, bool | None]:
    """(target, collection class or None, uselist) read from a relationship annotation."""
    tp, _nullable = strip_optional(tp)
    if isinstance(tp, str):
        return _string_relationship_shape(tp.strip())
    origin = typing.get_origin(tp)
    if origin is not None and origin in _COLLECTIONS:
        args = typing.get_args(tp)
        target = target_name(args[0]) if args else None
        if isinstance(target, str):
            target = target.strip("'\"")
        return target, _COLLECTIONS[origin], True
    if origin is not None and isinstance(origin, type) and issubclass(origin, (list, set)):
        args = typing.get_args(tp)
        return (target_name(args[0]) if args else None), origin, True
    if tp is dict or (isinstance(origin, type) and issubclass(origin, Mapping)):
        # dict[str, B], Mapping[str, B], or a keyed dictionary class: KeyFuncDict[str, B]
        args = typing.get_args(tp)
        # the value type: the last argument (a keyed class may take only that one)
        target = target_name(args[-1]) if args else MISSING
        if isinstance(target, str):
            target = target.strip("'\"")
        return target, dict, True
    return target_name(tp), None, False
