"""Instrumented collections: lists and sets that report membership changes.

A relationship collection stored in an object's ``__dict__`` is an instance
of a subclass of the user's collection class (``list``, ``set`` or a
subclass of either) with three extra slots: the owner's InstanceState, the
attribute impl and the owner itself.  The collection holds its owner
strongly: a program that keeps only the collection (``session.get(User,
1).addresses``) keeps the owner too, so a change made through the collection
always has a live object to be recorded on (and held by the session until
flushed) instead of being dropped with an owner the weak identity map let go.  Every mutator tells the impl which items came and went
*before* changing the contents, so the impl can snapshot the original
membership for history, keep backrefs in step and cascade into the session.
Plain Python: no SQLAlchemy import.

This module holds the list, set and keyed-dictionary mixins, the instrumented
class of each collection class, new collections and their pickling; the
``@collection`` decorators and program-defined collection classes are in
instance/collection_custom.py, :class:`CollectionAdapter` and :func:`members` in
instance/collection_adapter.py (both re-exported here).  Called by the relationship
attribute impls (instance/collection_impl.py, instance/instrumentation.py), the
loaders (``instrumented_class``), the cascade, merge and flush code (``members``)
and the public ``datamapper.collections`` module.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, NoReturn, Self, SupportsIndex

from .._util import describe
from ..exc import ArgumentError
from .collection_adapter import CollectionAdapter as CollectionAdapter
from .collection_adapter import members as members
from .collection_custom import _custom_class, _CustomMixin
from .collection_custom import collection as collection

if TYPE_CHECKING:
    from .collection_impl import CollectionImpl
    from .state import InstanceState

    # each mixin is only ever combined with a subclass of its builtin (see
    # instrumented_class()): mypy checks its super() calls against that builtin
    _ListBase = list[object]
    _SetBase = set[object]
    _DictBase = dict[object, object]
else:
    _ListBase = _SetBase = _DictBase = object


class _ListMixin(_ListBase):
    """Mutators of ``list`` that report appends and removes to the impl."""

    __slots__ = ()

    @property
    def _sa_adapter(self) -> CollectionAdapter:
        # the name under which collection classes written for SQLAlchemy (e.g. its
        # ordering list, via collection_adapter()) look for the adapter
        return CollectionAdapter(self)
    _dm_state: InstanceState
    _dm_impl: CollectionImpl

    def append(self, item: Any) -> None:
        item = self._dm_impl.fire_append(self._dm_state, self, item, None)
        super().append(item)

    def _dm_append_quiet(self, item: Any) -> None:
        super().append(item)

    def _dm_remove_quiet(self, item: Any) -> None:
        members: list[Any] = list(self)
        for i, x in enumerate(members):
            if x is item:
                super().__delitem__(i)
                return

    def extend(self, items: Iterable[Any]) -> None:
        fire = self._dm_impl.fire_append
        state = self._dm_state
        for item in list(items):
            super().append(fire(state, self, item, None))

    def __iadd__(self, items: Iterable[Any]) -> Self:  # type: ignore[misc]  # mypy compares it with the overloaded list.__add__ and rejects even the builtin's own __iadd__ signature
        self.extend(items)
        return self

    def insert(self, index: SupportsIndex, item: Any) -> None:
        item = self._dm_impl.fire_append(self._dm_state, self, item, None)
        super().insert(index, item)

    def _dm_held_twice(self, item: Any) -> bool:
        """``item`` is in the list more than once: taking one out leaves it a member
        (no remove event: its backref and the flush still see it in the collection)."""
        n = 0
        for x in self:
            if x is item:
                n += 1
                if n > 1:
                    return True
        return False

    def _dm_fire_remove_gone(self, removed: list[Any], kept: list[Any]) -> None:
        """Remove events for the distinct ``removed`` members that ``kept`` lacks."""
        kept_ids = {id(x) for x in kept}
        fired: set[int] = set()
        for item in removed:
            if id(item) not in kept_ids and id(item) not in fired:
                fired.add(id(item))
                self._dm_impl.fire_remove(self._dm_state, self, item, None)

    def remove(self, item: Any) -> None:
        for x in self:
            if x is item or x == item:
                if not self._dm_held_twice(x):
                    self._dm_impl.fire_remove(self._dm_state, self, x, None)
                break
        super().remove(item)

    def pop(self, index: SupportsIndex = -1) -> Any:
        item = self[index]
        if not self._dm_held_twice(item):
            self._dm_impl.fire_remove(self._dm_state, self, item, None)
        return super().pop(index)

    def clear(self) -> None:
        self._dm_fire_remove_gone(list(self), [])
        super().clear()

    def __setitem__(self, index: Any, value: Any) -> None:
        impl, state = self._dm_impl, self._dm_state
        if isinstance(index, slice):
            old = self[index]
            new = list(value)
            rest: list[Any] = list(self)
            del rest[index]
            self._dm_fire_remove_gone(old, rest + new)
            new = [impl.fire_append(state, self, item, None) for item in new]
            super().__setitem__(index, new)
            return
        old = self[index]
        if old is value:
            return
        if not self._dm_held_twice(old):
            impl.fire_remove(state, self, old, None)
        value = impl.fire_append(state, self, value, None)
        super().__setitem__(index, value)

    def __delitem__(self, index: Any) -> None:
        old = self[index]
        if isinstance(index, slice):
            rest: list[Any] = list(self)
            del rest[index]
            self._dm_fire_remove_gone(old, rest)
        elif not self._dm_held_twice(old):
            self._dm_impl.fire_remove(self._dm_state, self, old, None)
        super().__delitem__(index)

    def __imul__(self, n: SupportsIndex) -> NoReturn:
        raise TypeError("Can't multiply a relationship collection in place: an object can't "
                        "be a member twice; build the list you want and assign it")

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _reduce_collection(self)

    def __copy__(self) -> Any:
        return list(self)

    def __repr__(self) -> str:
        return repr(list(self))


class _SetMixin(_SetBase):
    """Mutators of ``set`` that report adds and removes to the impl."""

    __slots__ = ()

    @property
    def _sa_adapter(self) -> CollectionAdapter:
        # the name under which collection classes written for SQLAlchemy (e.g. its
        # ordering list, via collection_adapter()) look for the adapter
        return CollectionAdapter(self)
    _dm_state: InstanceState
    _dm_impl: CollectionImpl

    def add(self, item: Any) -> None:
        if item in self:
            return
        item = self._dm_impl.fire_append(self._dm_state, self, item, None)
        super().add(item)

    append = add  # what backrefs and loaders call

    def _dm_append_quiet(self, item: Any) -> None:
        super().add(item)

    def _dm_remove_quiet(self, item: Any) -> None:
        super().discard(item)

    def discard(self, item: Any) -> None:
        if item in self:
            self._dm_impl.fire_remove(self._dm_state, self, item, None)
            super().discard(item)

    def remove(self, item: Any) -> None:
        if item not in self:
            raise KeyError(item)
        self.discard(item)

    def pop(self) -> Any:
        if not self:
            raise KeyError("pop from an empty set")
        item = next(iter(self))
        self.discard(item)
        return item

    def clear(self) -> None:
        for item in list(self):
            self._dm_impl.fire_remove(self._dm_state, self, item, None)
        super().clear()

    def update(self, *others: Iterable[Any]) -> None:
        for other in others:
            for item in list(other):
                self.add(item)

    def __ior__(self, other: AbstractSet[object]) -> Self:
        self.update(other)
        return self

    def difference_update(self, *others: Iterable[Any]) -> None:
        for other in others:
            for item in list(other):
                self.discard(item)

    def __isub__(self, other: AbstractSet[object]) -> Self:
        self.difference_update(other)
        return self

    def intersection_update(self, *others: Iterable[Any]) -> None:
        keep = set(self)
        for other in others:
            keep &= set(other)
        for item in list(self):
            if item not in keep:
                self.discard(item)

    def __iand__(self, other: AbstractSet[object]) -> Self:
        self.intersection_update(other)
        return self

    def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        other = set(other)
        for item in list(other):
            if item in self:
                self.discard(item)
            else:
                self.add(item)

    def __ixor__(self, other: AbstractSet[object]) -> Self:
        self.symmetric_difference_update(other)
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _reduce_collection(self)

    def __copy__(self) -> Any:
        return set(self)

    def __repr__(self) -> str:
        return repr(set(self))


class _DictMixin(_DictBase):
    """Mutators of a keyed ``dict`` (``attribute_keyed_dict()`` and friends) that report
    the values coming and going.  The members of the relationship are the values; the
    key of each is computed from it by the class's ``_dm_keyfunc`` when the ORM adds it
    (a load, a backref, ``set()``), or given by the program (``d[key] = obj``)."""

    __slots__ = ()

    @property
    def _sa_adapter(self) -> CollectionAdapter:
        # the name under which collection classes written for SQLAlchemy (e.g. its
        # ordering list, via collection_adapter()) look for the adapter
        return CollectionAdapter(self)
    _dm_state: InstanceState
    _dm_impl: CollectionImpl
    _dm_keyfunc: Any

    def _dm_d(self) -> dict[Any, Any]:
        return self

    def _dm_key(self, item: Any) -> Any:
        # a key function given to the constructor (KeyFuncDict(keyfunc)), else the class's
        own = getattr(self, "__dict__", None)
        fn = own.get("_dm_instance_keyfunc") if own else None
        return fn(item) if fn is not None else type(self)._dm_keyfunc(item)

    def __setitem__(self, key: Any, value: Any) -> None:
        old = dict.get(self._dm_d(), key, _NOTHING)
        if old is value:
            return
        impl, state = self._dm_impl, self._dm_state
        if old is not _NOTHING:
            impl.fire_remove(state, self, old, None)
        value = impl.fire_append(state, self, value, None)
        dict.__setitem__(self._dm_d(), key, value)

    def __delitem__(self, key: Any) -> None:
        old = dict.__getitem__(self._dm_d(), key)
        self._dm_impl.fire_remove(self._dm_state, self, old, None)
        dict.__delitem__(self._dm_d(), key)

    def set(self, item: Any) -> None:
        """Add ``item`` under the key computed from it (what the ORM's appends do)."""
        key = self._dm_key(item)
        if key is _SKIP:
            return
        self[key] = item

    append = set  # what collection adapters and loaders call

    def _dm_check_removal(self, item: Any, doing: str) -> None:
        """Refuse to take out a member whose key attribute has no value (attribute- and
        column-keyed dictionaries without ignore_unpopulated_attribute=True)."""
        check = getattr(type(self), "_dm_removal_check", None)
        if check is not None:
            check(item, doing)

    def remove(self, item: Any) -> None:
        """Remove ``item`` (found by identity, whatever its key says now)."""
        self._dm_check_removal(item, f"remove {describe(item)} from the collection")
        for k, v in list(dict.items(self._dm_d())):
            if v is item:
                del self[k]
                return
        raise ValueError(f"{item!r} is not a member of this collection")

    def _dm_append_quiet(self, item: Any) -> None:
        key = self._dm_key(item)
        if key is not _SKIP:
            dict.__setitem__(self._dm_d(), key, item)

    def _dm_remove_quiet(self, item: Any) -> None:
        for k, v in list(dict.items(self._dm_d())):
            if v is item:
                dict.__delitem__(self._dm_d(), k)
                return

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            value = dict.__getitem__(self._dm_d(), key)
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self) -> tuple[Any, Any]:
        if not self:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(list(dict.keys(self._dm_d()))))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(dict.keys(self._dm_d())):
            del self[key]

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self._dm_d(), key)

    def update(self, *args: Any, **kw: Any) -> None:
        for key, value in dict(*args, **kw).items():
            self[key] = value

    def __ior__(self, other: Any) -> Self:  # type: ignore[misc]  # mypy compares it with the overloaded dict.__or__ and rejects one signature covering both overloads
        self.update(other)
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        return _reduce_collection(self)

    def __copy__(self) -> Any:
        return dict(self)

    def __repr__(self) -> str:
        return repr(dict(self))


class _Nothing:
    __slots__ = ()


_NOTHING: Any = _Nothing()
# what a keyed-dictionary key function returns for a member it leaves out
# (ignore_unpopulated_attribute=True and the key attribute has no value)
_SKIP: Any = _Nothing()


_instrumented: dict[type, type] = {}


def instrumented_class(cls: type) -> type:
    """The instrumented subclass of collection class ``cls`` (cached)."""
    found = _instrumented.get(cls)
    if found is not None:
        return found
    if not isinstance(cls, type):
        raise ArgumentError(
            f"Can't use collection_class {cls!r}: it must be a class (list, set, a subclass "
            "of either, or a keyed dictionary class from attribute_keyed_dict() and friends)"
        )
    extra: dict[str, Any] = {}
    if issubclass(cls, list):
        mixin: type = _ListMixin
    elif issubclass(cls, set):
        mixin = _SetMixin
    elif issubclass(cls, dict) and (callable(getattr(cls, "_dm_keyfunc", None))
                                    or getattr(cls, "_dm_keyed", False)):
        mixin = _DictMixin
    else:
        mixin, extra = _custom_class(cls)
    name = "InstrumentedList" if cls is list else (
        "InstrumentedSet" if cls is set else f"Instrumented{cls.__name__}")
    # _dm_implicit: made empty by reading the attribute of a new object (see
    # CollectionImpl.get_missing), not given by the program; unset otherwise
    slots = ("_dm_state", "_dm_impl", "_dm_owner", "_dm_implicit") if "__dict__" not in dir(cls) or cls in (
        list, set) else ()
    if extra:
        slots = ()
    made = type(name, (mixin, cls), {"__slots__": slots, "__module__": __name__, **extra})
    _instrumented[cls] = made
    return made


def is_instrumented(value: Any) -> bool:
    return isinstance(value, (_ListMixin, _SetMixin, _DictMixin, _CustomMixin))


def new_collection(cls: type, state: InstanceState, impl: CollectionImpl,
                   items: Iterable[Any] = ()) -> Any:
    """An instrumented collection of ``items`` owned by ``state``, without events."""
    klass = instrumented_class(cls)
    coll = klass()
    coll._dm_state = state
    coll._dm_impl = impl
    # the owner lives as long as the collection (see the module docstring); the
    # cycle owner -> __dict__ -> collection -> owner is freed by the cycle collector
    coll._dm_owner = state.obj()
    if items:
        if cls is not list and cls is not set and not isinstance(coll, dict):
            # a program's collection class: its own append/add runs (e.g. an ordering
            # list numbering its members), without the ORM's events
            for item in items:
                coll._dm_append_quiet(item)
        elif isinstance(coll, set):
            set.update(coll, items)
        elif isinstance(coll, dict):
            for item in items:
                coll._dm_append_quiet(item)  # type: ignore[attr-defined]  # isinstance() narrowed coll to dict; an instrumented dict class has a mixin giving _dm_append_quiet
        else:
            list.extend(coll, items)
    return coll


def _reduce_collection(coll: Any) -> Any:
    """Pickle (and ``copy.deepcopy``) support: a collection travels as its user class,
    its members and its owner's state, and comes back instrumented for that owner."""
    base: Any = type(coll).__bases__[1]
    if getattr(base, "_dm_factory", None) is not None:
        # made for a collection_class factory function (not importable by name): the
        # relationship gives it again on unpickling
        base = None
    return (_restore_collection, (base, list(members(coll)), coll._dm_state,
                                  coll._dm_impl.key))


def _restore_collection(cls: type | None, items: list[Any], state: Any, key: str) -> Any:
    impl = state.mapper._impls[key]
    real = getattr(impl, "_real", None)  # a placeholder until mappers are configured
    if real is not None:
        impl = real()
    return new_collection(cls if cls is not None else impl.collection_class, state, impl,
                          items)



def collection_adapter(collection: Any) -> CollectionAdapter | None:
    """The adapter of an instrumented relationship collection (None for anything else)."""
    return CollectionAdapter(collection) if is_instrumented(collection) else None
