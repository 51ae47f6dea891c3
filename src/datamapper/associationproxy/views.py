"""The collection views an association proxy hands out: ``user.keywords`` of a list,
set or dictionary relationship is a :class:`ProxiedList`, :class:`ProxiedSet` or
:class:`ProxiedDict` reading and writing the proxied attribute of the related
objects; a ``proxy_factory``'s own view is wrapped in :class:`_CustomView`.

Called by :class:`~datamapper.associationproxy.AssociationProxyInstance` (its
``get()`` and ``set()``), which re-exports these names.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    MutableMapping,
    MutableSequence,
    MutableSet,
)
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from .._util import describe

if TYPE_CHECKING:
    from . import AssociationProxyInstance

_T = TypeVar("_T")
_K = TypeVar("_K")

Getter = Callable[[Any], Any]
Setter = Callable[..., None]


class _Lazy:
    """Reads the relationship's collection each time it is called (what a custom
    proxy_factory receives)."""

    __slots__ = ("obj", "target")

    def __init__(self, obj: object, target: str) -> None:
        self.obj = obj
        self.target = target

    def __call__(self) -> Any:
        return getattr(self.obj, self.target)


class _CustomView:
    """A proxy_factory's object, with the owner recorded for the view cache."""

    def __init__(self, view: Any, owner: object) -> None:
        self._view = view
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._view)

    def __len__(self) -> int:
        return len(self._view)

    def __contains__(self, value: object) -> bool:
        return value in self._view

    def __eq__(self, other: object) -> bool:
        return bool(self._view == other)

    __hash__ = None  # type: ignore[assignment]  # a mutable collection view

    def __repr__(self) -> str:
        return repr(self._view)


class _View(Generic[_T]):
    """What the three collection views share: the owner, the proxy and its accessors."""

    def __init__(self, proxy: AssociationProxyInstance[Any], owner: object,
                 getter: Getter, setter: Setter) -> None:
        self._proxy = proxy
        self._owner = owner
        self.getter: Callable[[Any], _T] = getter
        self.setter = setter

    @property
    def col(self) -> Any:
        """The relationship's collection, read afresh (it may have been replaced,
        expired or reloaded since the view was made)."""
        return getattr(self._owner, self._proxy.target_collection)

    @property
    def creator(self) -> Callable[..., object]:
        return self._proxy._creator()

    @property
    def parent(self) -> AssociationProxyInstance[Any]:
        return self._proxy

    def __len__(self) -> int:
        return len(self.col)

    def __bool__(self) -> bool:
        return bool(self.col)

    def __reduce__(self) -> tuple[object, tuple[object, str]]:
        # a view pickles as "this attribute of that object": unpickled, it is the
        # proxy read again on the unpickled object
        name = self._proxy.parent.name
        if name is None:
            raise TypeError(
                f"Can't pickle the view of {describe(self._owner)}'s association proxy on "
                f"{self._proxy.target_collection!r}: the proxy is not a named class "
                "attribute; pickle the object instead")
        return getattr, (self._owner, name)


class ProxiedList(_View[_T], MutableSequence[_T]):
    """The list view: values of the objects in a list relationship, in its order."""

    def _replace_all(self, values: Iterable[_T]) -> None:
        values = list(values)
        self.clear()
        self.extend(values)

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...

    def __getitem__(self, index: int | slice) -> _T | list[_T]:
        if isinstance(index, slice):
            return [self.getter(obj) for obj in self.col[index]]
        return self.getter(self.col[index])

    def __setitem__(self, index: Any, value: Any) -> None:  # (int, value) or (slice, values)
        col = self.col
        if not isinstance(index, slice):
            self.setter(col[index], value)
            return
        start, stop, step = index.indices(len(col))
        new = list(value)
        if step == 1:
            del col[start:max(start, stop)]
            for offset, item in enumerate(new):
                col.insert(start + offset, self.creator(item))
            return
        positions = range(start, stop, step)
        if len(positions) != len(new):
            raise ValueError(
                f"attempt to assign sequence of size {len(new)} to extended slice of "
                f"size {len(positions)}")
        for position, item in zip(positions, new, strict=True):
            self.setter(col[position], item)

    def __delitem__(self, index: int | slice) -> None:
        del self.col[index]

    def __contains__(self, value: object) -> bool:
        return any(self.getter(obj) == value for obj in self.col)

    def __iter__(self) -> Iterator[_T]:
        for obj in self.col:
            yield self.getter(obj)

    def insert(self, index: int, value: _T) -> None:
        self.col.insert(index, self.creator(value))

    def append(self, value: _T) -> None:
        self.col.append(self.creator(value))

    def extend(self, values: Iterable[_T]) -> None:
        for value in values:
            self.append(value)

    def count(self, value: _T) -> int:
        return sum(1 for v in self if v == value)

    def index(self, value: _T, start: int = 0, stop: int | None = None) -> int:
        return list(self).index(value, start, len(self) if stop is None else stop)

    def remove(self, value: _T) -> None:
        col = self.col
        for position, obj in enumerate(col):
            if self.getter(obj) == value:
                del col[position]
                return
        raise ValueError(f"{value!r} is not in the association proxy's list")

    def pop(self, index: int = -1) -> _T:
        return self.getter(self.col.pop(index))

    def clear(self) -> None:
        del self.col[:]

    def reverse(self) -> None:
        col = self.col
        col[:] = list(reversed(list(col)))

    def sort(self, *, key: Callable[[_T], Any] | None = None, reverse: bool = False) -> None:
        col = self.col
        read = self.getter
        by = key if key is not None else (lambda value: value)
        # the values are of the program's types: sorted() compares them as it would a list's
        ordered = sorted(col, key=lambda o: by(read(o)), reverse=reverse)
        col[:] = ordered

    def copy(self) -> list[_T]:
        return list(self)

    def __eq__(self, other: object) -> bool:
        return list(self) == other

    def __ne__(self, other: object) -> bool:
        return list(self) != other

    def __lt__(self, other: list[_T]) -> bool:
        return list(self) < other

    def __le__(self, other: list[_T]) -> bool:
        return list(self) <= other

    def __gt__(self, other: list[_T]) -> bool:
        return list(self) > other

    def __ge__(self, other: list[_T]) -> bool:
        return list(self) >= other

    def __add__(self, other: Iterable[_T]) -> list[_T]:
        return list(self) + list(other)

    def __radd__(self, other: Iterable[_T]) -> list[_T]:
        return list(other) + list(self)

    def __mul__(self, n: int) -> list[_T]:
        return list(self) * n

    __rmul__ = __mul__

    def __iadd__(self, values: Iterable[_T]) -> ProxiedList[_T]:
        self.extend(values)
        return self

    def __imul__(self, n: int) -> ProxiedList[_T]:
        values = list(self)
        if n <= 0:
            self.clear()
        else:
            for _ in range(n - 1):
                self.extend(values)
        return self

    __hash__ = None  # type: ignore[assignment]  # a mutable collection view

    def __repr__(self) -> str:
        return repr(list(self))


class ProxiedSet(_View[_T], MutableSet[_T]):
    """The set view: the distinct values of the objects in a set relationship."""

    def _replace_all(self, values: Iterable[_T]) -> None:
        wanted = set(values)
        for obj in list(self.col):
            if self.getter(obj) not in wanted:
                self.col.remove(obj)
        present = set(self)
        for value in wanted - present:
            self.add(value)

    def __contains__(self, value: object) -> bool:
        return any(self.getter(obj) == value for obj in self.col)

    def __iter__(self) -> Iterator[_T]:
        for obj in self.col:
            yield self.getter(obj)

    def add(self, value: _T) -> None:
        if value not in self:
            self.col.add(self.creator(value))

    def discard(self, value: object) -> None:
        col = self.col
        for obj in list(col):
            if self.getter(obj) == value:
                col.remove(obj)
                return

    def remove(self, value: _T) -> None:
        if value not in self:
            raise KeyError(value)
        self.discard(value)

    def pop(self) -> _T:
        col = self.col
        if not col:
            raise KeyError("pop from an empty set")
        return self.getter(col.pop())

    def clear(self) -> None:
        self.col.clear()

    def update(self, *others: Iterable[_T]) -> None:
        for other in others:
            for value in other:
                self.add(value)

    def union(self, *others: Iterable[_T]) -> set[_T]:
        return set(self).union(*others)

    def intersection(self, *others: Iterable[object]) -> set[_T]:
        return set(self).intersection(*others)

    def difference(self, *others: Iterable[object]) -> set[_T]:
        return set(self).difference(*others)

    def symmetric_difference(self, other: Iterable[_T]) -> set[_T]:
        return set(self).symmetric_difference(other)

    def issubset(self, other: Iterable[object]) -> bool:
        return set(self).issubset(other)

    def issuperset(self, other: Iterable[object]) -> bool:
        return set(self).issuperset(other)

    def intersection_update(self, *others: Iterable[object]) -> None:
        keep = set(self).intersection(*others)
        for value in set(self) - keep:
            self.discard(value)

    def difference_update(self, *others: Iterable[object]) -> None:
        for other in others:
            for value in other:
                self.discard(value)

    def symmetric_difference_update(self, other: Iterable[_T]) -> None:
        for value in set(other):
            if value in self:
                self.discard(value)
            else:
                self.add(value)

    def copy(self) -> set[_T]:
        return set(self)

    def __eq__(self, other: object) -> bool:
        return set(self) == other

    def __ne__(self, other: object) -> bool:
        return set(self) != other

    __hash__ = None  # type: ignore[assignment]  # a mutable collection view

    def __repr__(self) -> str:
        return repr(set(self))


class ProxiedDict(_View[_T], MutableMapping[_K, _T]):
    """The dictionary view of a keyed-dictionary relationship: key -> the value of
    the object filed under it; a new key creates an object with ``creator(key, value)``."""

    def _replace_all(self, values: Any) -> None:
        new = dict(values)
        for key in [k for k in self.col if k not in new]:
            del self.col[key]
        for key, value in new.items():
            self[key] = value

    def __getitem__(self, key: _K) -> _T:
        return self.getter(self.col[key])

    def __setitem__(self, key: _K, value: _T) -> None:
        col = self.col
        if key in col:
            self.setter(col[key], key, value)
        else:
            col[key] = self.creator(key, value)

    def __delitem__(self, key: _K) -> None:
        del self.col[key]

    def __contains__(self, key: object) -> bool:
        return key in self.col

    def __iter__(self) -> Iterator[_K]:
        return iter(list(self.col))

    def clear(self) -> None:
        self.col.clear()

    def copy(self) -> dict[_K, _T]:
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        return dict(self.items()) == other

    def __ne__(self, other: object) -> bool:
        return dict(self.items()) != other

    __hash__ = None  # type: ignore[assignment]  # a mutable collection view

    def __repr__(self) -> str:
        return repr(dict(self.items()))
