"""In-place change tracking for mutable column values: ``MutableDict``, ``MutableList``,
``MutableSet`` and their base ``Mutable``.

The Session sees a change to a column attribute when the attribute is *assigned*.
A JSON column holding a dict changed in place (``doc.data["k"] = 1``) is not assigned,
so without help the change is never written.  ``mapped_column(MutableDict.as_mutable(
JSON))`` makes the values of such columns ``MutableDict`` instances that remember
which attribute of which objects hold them and mark those attributes modified
(``flag_modified``) on every in-place change, so the next flush writes them.

- ``Mutable.as_mutable(type_)``: the columns made with *this type object* track
  their values (mappers configured after the call);
- ``Mutable.associate_with(type_class)``: every column of that type class does;
- ``Mutable.associate_with_attribute(User.data)``: one mapped attribute.

Values are converted with ``coerce(key, value)`` when they are assigned and when
they are loaded or refreshed from the database (a plain ``dict`` becomes a
``MutableDict``).  Only the outer container is tracked: changes nested inside it
(a list inside the dict) are not seen.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Iterable
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, TypeVar

from sqlalchemy.types import TypeEngine, to_instance

from . import event
from .attributes import flag_modified
from .exc import ArgumentError
from .instance.state import instance_state
from .mapping.mapper import Mapper
from .mapping.properties import ColumnProperty

if TYPE_CHECKING:
    from .mapping.attributes import QueryableAttribute

__all__ = ["Mutable", "MutableComposite", "MutableDict", "MutableList", "MutableSet"]

_KT = TypeVar("_KT")
_VT = TypeVar("_VT")
_T = TypeVar("_T")
_TE = TypeVar("_TE", bound=TypeEngine[Any])


class Mutable:
    """Mixin of a value that reports in-place changes to the objects holding it."""

    def _parent_refs(self) -> dict[int, tuple[weakref.ref[object], str]]:
        try:
            return self.__dict__["_dm_parents"]  # type: ignore[no-any-return]  # the instance __dict__ is untyped; only _parent_refs stores this key
        except KeyError:
            refs: dict[int, tuple[weakref.ref[object], str]] = {}
            self.__dict__["_dm_parents"] = refs
            return refs

    @property
    def _parents(self) -> dict[object, str]:
        """``{object: attribute name}`` of the live objects holding this value."""
        found = {}
        for ref, key in list(self._parent_refs().values()):
            obj = ref()
            if obj is not None:
                found[obj] = key
        return found

    def _add_parent(self, obj: object, key: str) -> None:
        refs = self._parent_refs()
        ident = id(obj)

        def gone(_ref: object, refs: dict[int, tuple[weakref.ref[object], str]] = refs,
                 ident: int = ident) -> None:
            refs.pop(ident, None)

        refs[ident] = (weakref.ref(obj, gone), key)

    def _remove_parent(self, obj: object) -> None:
        self._parent_refs().pop(id(obj), None)

    def changed(self) -> None:
        """Mark the attribute holding this value modified on every object holding it."""
        for ref, key in list(self._parent_refs().values()):
            obj = ref()
            if obj is not None:
                flag_modified(obj, key)

    @classmethod
    def coerce(cls, key: str, value: object) -> Any:
        """Turn ``value`` (assigned to or loaded into attribute ``key``) into an instance
        of ``cls``; None passes.  Subclasses convert what they can."""
        if value is None:
            return None
        raise ValueError(
            f"Can't store {type(value).__name__} value {value!r} in the mutable attribute "
            f"{key!r}: {cls.__name__} takes only {cls.__name__} values; convert it first or "
            f"override {cls.__name__}.coerce()")

    # ---------------------------------------------------------------- association
    @classmethod
    def associate_with_attribute(cls, attribute: QueryableAttribute) -> None:
        """Track the values of one mapped column attribute (``User.data``)."""
        key: str = attribute.key
        owner = attribute.class_

        def adopt(target: object) -> None:
            value = instance_state(target).dict.get(key)
            if value is None:
                return
            if not isinstance(value, cls):
                value = cls.coerce(key, value)
                # the loaded value itself is replaced: no change to flush
                instance_state(target).dict[key] = value
            value._add_parent(target, key)

        def on_load(target: object, _context: object) -> None:
            adopt(target)

        def on_refresh(target: object, _context: object,
                       attrs: Collection[str] | None) -> None:
            if attrs is None or key in attrs:
                adopt(target)

        def on_set(target: object, value: object, oldvalue: object,
                   _initiator: object) -> object:
            if value is not None and not isinstance(value, cls):
                value = cls.coerce(key, value)
            if isinstance(value, cls):
                value._add_parent(target, key)
            if isinstance(oldvalue, cls) and oldvalue is not value:
                oldvalue._remove_parent(target)
            return value

        def on_unpickle(target: object, _state: object) -> None:
            adopt(target)

        event.listen(owner, "load", on_load, propagate=True)
        event.listen(owner, "refresh", on_refresh, propagate=True)
        event.listen(owner, "refresh_flush", on_refresh, propagate=True)
        event.listen(owner, "unpickle", on_unpickle, propagate=True)
        event.listen(attribute, "set", on_set, retval=True, propagate=True)

    @classmethod
    def associate_with(cls, sqltype: type[TypeEngine[Any]]) -> None:
        """Track every mapped column whose type is an instance of ``sqltype`` (a type
        class), in mappers configured from now on."""
        if not (isinstance(sqltype, type) and issubclass(sqltype, TypeEngine)):
            raise ArgumentError(
                f"{cls.__name__}.associate_with() takes a type class such as JSON, got "
                f"{sqltype!r}; for one type object use {cls.__name__}.as_mutable()")

        def configured(mapper: Mapper, class_: type) -> None:
            cls._associate_matching(mapper, class_, lambda t: isinstance(t, sqltype))

        event.listen(Mapper, "mapper_configured", configured)

    @classmethod
    def as_mutable(cls, sqltype: _TE | type[_TE]) -> _TE:
        """Return ``sqltype`` (instantiated if a class): the mapped columns made with
        this very type object track their values as ``cls`` instances."""
        typ: Any = to_instance(sqltype)

        def configured(mapper: Mapper, class_: type) -> None:
            cls._associate_matching(mapper, class_, lambda t: t is typ)

        event.listen(Mapper, "mapper_configured", configured)
        return typ  # type: ignore[no-any-return]  # to_instance() is typed TypeEngine[Any]: it is sqltype (or an instance of it)

    @classmethod
    def _associate_matching(cls, mapper: Mapper, class_: type,
                            matches: Callable[[object], bool]) -> None:
        for prop in mapper.column_attrs:
            if not isinstance(prop, ColumnProperty) or prop.parent is not mapper:
                continue  # a subclass's mapper shares its base's attribute: once only
            if any(matches(getattr(col, "type", None)) for col in prop.columns[:1]):
                cls.associate_with_attribute(getattr(class_, prop.key))


class MutableDict(Mutable, dict[_KT, _VT]):
    """A dict that reports in-place changes (see the module documentation)."""

    def __setitem__(self, key: _KT, value: _VT) -> None:
        dict.__setitem__(self, key, value)
        self.changed()

    def __delitem__(self, key: _KT) -> None:
        dict.__delitem__(self, key)
        self.changed()

    def setdefault(self, key: _KT, value: Any = None) -> Any:
        if key in self:
            return self[key]
        result = dict.setdefault(self, key, value)
        self.changed()
        return result

    def update(self, *args: Any, **kw: Any) -> None:
        dict.update(self, *args, **kw)
        self.changed()

    def pop(self, *args: Any) -> Any:
        result = dict.pop(self, *args)
        self.changed()
        return result

    def popitem(self) -> tuple[_KT, _VT]:
        result = dict.popitem(self)
        self.changed()
        return result

    def clear(self) -> None:
        dict.clear(self)
        self.changed()

    def __ior__(self, other: object) -> Self:  # type: ignore[misc,override]  # in-place operator returns Self, as the builtin's does
        self.update(other)
        return self

    @classmethod
    def coerce(cls, key: str, value: object) -> Any:
        if isinstance(value, cls) or value is None:
            return value
        if isinstance(value, dict):
            return cls(value)
        return super().coerce(key, value)

    def __reduce__(self) -> tuple[type, tuple[dict[_KT, _VT]]]:
        # the content only: the holders are re-attached when their object is loaded
        # or unpickled
        return type(self), (dict(self),)


class MutableList(Mutable, list[_T]):
    """A list that reports in-place changes (see the module documentation)."""

    def __setitem__(self, index: Any, value: Any) -> None:  # an index and an item, or a slice and items
        list.__setitem__(self, index, value)
        self.changed()

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        list.__delitem__(self, index)
        self.changed()

    def append(self, value: _T) -> None:
        list.append(self, value)
        self.changed()

    def extend(self, values: Iterable[_T]) -> None:
        list.extend(self, values)
        self.changed()

    def __iadd__(self, values: Iterable[_T]) -> Self:  # type: ignore[misc,override]  # in-place operator returns Self, as the builtin's does
        self.extend(values)
        return self

    def __imul__(self, n: SupportsIndex) -> Self:
        list.__imul__(self, n)
        self.changed()
        return self

    def insert(self, index: SupportsIndex, value: _T) -> None:
        list.insert(self, index, value)
        self.changed()

    def pop(self, index: SupportsIndex = -1) -> _T:
        result = list.pop(self, index)
        self.changed()
        return result

    def remove(self, value: _T) -> None:
        list.remove(self, value)
        self.changed()

    def clear(self) -> None:
        list.clear(self)
        self.changed()

    def sort(self, *args: Any, **kw: Any) -> None:
        list.sort(self, *args, **kw)
        self.changed()

    def reverse(self) -> None:
        list.reverse(self)
        self.changed()

    @classmethod
    def coerce(cls, key: str, value: object) -> Any:
        if isinstance(value, cls) or value is None:
            return value
        if isinstance(value, list):
            return cls(value)
        return super().coerce(key, value)

    def __reduce__(self) -> tuple[type, tuple[list[_T]]]:
        return type(self), (list(self),)


class MutableSet(Mutable, set[_T]):
    """A set that reports in-place changes (see the module documentation)."""

    def add(self, value: _T) -> None:
        set.add(self, value)
        self.changed()

    def discard(self, value: object) -> None:
        set.discard(self, value)
        self.changed()

    def remove(self, value: _T) -> None:
        set.remove(self, value)
        self.changed()

    def pop(self) -> _T:
        result = set.pop(self)
        self.changed()
        return result

    def clear(self) -> None:
        set.clear(self)
        self.changed()

    def update(self, *others: Iterable[_T]) -> None:
        set.update(self, *others)
        self.changed()

    def intersection_update(self, *others: Iterable[object]) -> None:
        set.intersection_update(self, *others)
        self.changed()

    def difference_update(self, *others: Iterable[object]) -> None:
        set.difference_update(self, *others)
        self.changed()

    def symmetric_difference_update(self, other: Iterable[_T]) -> None:
        set.symmetric_difference_update(self, other)
        self.changed()

    def __ior__(self, other: AbstractSet[_T]) -> Self:  # type: ignore[misc,override]  # in-place operator returns Self, as the builtin's does
        self.update(other)
        return self

    def __iand__(self, other: AbstractSet[object]) -> Self:
        self.intersection_update(other)
        return self

    def __ixor__(self, other: AbstractSet[_T]) -> Self:  # type: ignore[misc,override]  # in-place operator returns Self, as the builtin's does
        self.symmetric_difference_update(other)
        return self

    def __isub__(self, other: AbstractSet[object]) -> Self:
        self.difference_update(other)
        return self

    @classmethod
    def coerce(cls, key: str, value: object) -> Any:
        if isinstance(value, cls) or value is None:
            return value
        if isinstance(value, set):
            return cls(value)
        return super().coerce(key, value)

    def __reduce__(self) -> tuple[type, tuple[set[_T]]]:
        return type(self), (set(self),)


class MutableComposite(Mutable):
    """Base of a ``composite()`` value class whose in-place changes reach the objects
    holding it: call :meth:`changed` after changing an attribute (usually from
    ``__setattr__``) and the owners' columns are written from the value's
    ``__composite_values__()`` (or dataclass fields), so the next flush saves them.

    The composite attribute keeps returning this very object while its columns keep
    the values it wrote; each object holding it is remembered weakly.
    """

    def changed(self) -> None:
        """Write this value's column values to every object holding it."""
        for ref, key in list(self._parent_refs().values()):
            obj = ref()
            if obj is not None:
                setattr(obj, key, self)  # the composite attribute sets its columns

    def __getstate__(self) -> dict[str, object]:
        # the owners are weak references of this process: never pickled or copied
        return {k: v for k, v in self.__dict__.items() if k != "_dm_parents"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
