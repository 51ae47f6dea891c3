"""Collection classes of the program's own: the ``@collection`` decorators
(:class:`collection`) and the instrumented subclass of a class that is not a
``list``, ``set`` or keyed dictionary, which reports the members its marked
methods (or, for a list-like class, its list methods) add and remove.

Called by :func:`~.collections.instrumented_class` (``custom_class()``,
``CustomMixin``); ``collection`` is public as ``datamapper.collections.collection``
through instance/collections.py.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..exc import ArgumentError
from .collection_adapter import CollectionAdapter

if TYPE_CHECKING:
    from .collection_impl import CollectionImpl
    from .state import InstanceState

# -- collection classes of the program's own: the @collection decorators ---------------
_ROLE = "_dm_collection_role"  # on a method: "appender", "remover" or "iterator"
_EVENTS = "_dm_collection_events"  # on a method: ("adds"|"removes"|"replaces", arg) ...
_INTERNAL = "_dm_internally_instrumented"  # on a method: it fires its own events


class collection:  # noqa: N801  (the decorators' namespace keeps the familiar name)
    """Decorators for the methods of a collection class that is not a ``list``, ``set``
    or keyed dictionary (or that adds methods of its own to one):

    - ``@collection.appender``: the method the ORM adds a member with (one argument,
      the member); ``@collection.remover``: removes one; ``@collection.iterator``:
      returns an iterator over the members.  A class without them may still be used
      when it looks like a list (it has ``append``, ``remove`` and ``__iter__``).
    - ``@collection.adds(arg)``, ``removes(arg)``, ``replaces(arg)``,
      ``removes_return()``: another method that adds the member passed as ``arg``
      (a 1-based position after ``self``, or a keyword name), removes it, adds it
      and removes the member it returns, or removes the member it returns.
    - ``@collection.internally_instrumented``: the method calls other instrumented
      methods itself and must not report changes a second time.

    Changes made through these methods are seen as appends and removes of the
    relationship (history, backrefs, cascades, events)."""

    @staticmethod
    def appender(fn: Any) -> Any:
        setattr(fn, _ROLE, "appender")
        return fn

    @staticmethod
    def remover(fn: Any) -> Any:
        setattr(fn, _ROLE, "remover")
        return fn

    @staticmethod
    def iterator(fn: Any) -> Any:
        setattr(fn, _ROLE, "iterator")
        return fn

    @staticmethod
    def internally_instrumented(fn: Any) -> Any:
        setattr(fn, _INTERNAL, True)
        return fn

    @staticmethod
    def adds(arg: int | str) -> Any:
        return _marker(("adds", arg))

    @staticmethod
    def removes(arg: int | str) -> Any:
        return _marker(("removes", arg))

    @staticmethod
    def replaces(arg: int | str) -> Any:
        return _marker(("replaces", arg))

    @staticmethod
    def removes_return() -> Any:
        return _marker(("removes_return", None))


def _marker(spec: tuple[str, int | str | None]) -> Any:
    def deco(fn: Any) -> Any:
        setattr(fn, _EVENTS, spec)
        return fn
    return deco


def collection_roles(cls: type) -> dict[str, str]:
    """{role: method name} of a collection class: its decorated methods (the most
    derived class's win), else a list-like class's ``append``/``remove``/``__iter__``
    (or a set-like one's ``add``)."""
    roles: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            role = getattr(value, _ROLE, None)
            if isinstance(role, str):
                roles[role] = name
    if "appender" not in roles:
        for name in ("append", "add"):
            if callable(getattr(cls, name, None)):
                roles["appender"] = name
                break
    if "remover" not in roles:
        for name in ("remove", "discard"):
            if callable(getattr(cls, name, None)):
                roles["remover"] = name
                break
    if "iterator" not in roles and callable(getattr(cls, "__iter__", None)):
        roles["iterator"] = "__iter__"
    return roles


def _arg_of(args: tuple[Any, ...], kw: dict[str, Any], where: int | str) -> tuple[bool, Any]:
    if isinstance(where, int):
        if len(args) >= where:
            return True, args[where - 1]
        return False, None
    if where in kw:
        return True, kw[where]
    return False, None


def _with_events(fn: Any, spec: tuple[str, Any]) -> Any:
    """``fn`` reporting the members it adds/removes (``spec`` from the decorators)."""
    kind, where = spec

    def method(self: Any, *args: Any, _sa_initiator: Any = None, **kw: Any) -> Any:
        impl = getattr(self, "_dm_impl", None)
        if impl is None or _sa_initiator is False:
            return fn(self, *args, **kw)
        state = self._dm_state
        if kind in ("adds", "replaces"):
            found, item = _arg_of(args, kw, where)
            if found:
                item = impl.fire_append(state, self, item, _sa_initiator)
                if isinstance(where, int):
                    args = (*args[:where - 1], item, *args[where:])
                else:
                    kw[where] = item
        elif kind == "removes":
            found, item = _arg_of(args, kw, where)
            if found:
                impl.fire_remove(state, self, item, _sa_initiator)
        if kind == "removes_return":
            _remember_members(impl, state, self)  # before the member leaves
        out = fn(self, *args, **kw)
        if kind in ("replaces", "removes_return") and out is not None:
            impl.fire_remove(state, self, out, _sa_initiator)
        return out

    method.__name__ = getattr(fn, "__name__", "method")
    method.__doc__ = getattr(fn, "__doc__", None)
    return method


def _remember_members(impl: CollectionImpl, state: InstanceState, coll: Any) -> None:
    """Let the impl note the collection's members before a change it learns of only
    afterwards (the history's original members)."""
    snapshot = getattr(impl, "_snapshot", None)
    if snapshot is not None:
        snapshot(state, coll)


class _CustomMixin:
    """A program's own collection class: the ORM adds, removes and iterates through
    its appender, remover and iterator methods (see :class:`collection`)."""

    __slots__ = ()
    _dm_state: InstanceState
    _dm_impl: CollectionImpl
    _dm_appender: Any  # the class's own (unreporting) appender and remover functions
    _dm_remover: Any

    @property
    def _sa_adapter(self) -> CollectionAdapter:
        return CollectionAdapter(self)

    def _dm_append_quiet(self, item: Any) -> None:
        self._dm_appender(item)

    def _dm_remove_quiet(self, item: Any) -> None:
        self._dm_remover(item)


class _DuckListMixin(_CustomMixin):
    """A list-like class of the program's (``append``, ``remove``, ``insert``,
    ``pop``, indexing): each mutator reports what it adds and removes, and those
    a list has that the class lacks or that need more than its primitives (slices,
    ``extend``) are made from its primitives."""

    __slots__ = ()

    def append(self, item: Any, _sa_initiator: Any = None) -> None:
        if _sa_initiator is not False:
            item = self._dm_impl.fire_append(self._dm_state, self, item, _sa_initiator)
        self._dm_appender(item)

    def remove(self, item: Any, _sa_initiator: Any = None) -> None:
        if _sa_initiator is not False:
            self._dm_impl.fire_remove(self._dm_state, self, item, _sa_initiator)
        self._dm_remover(item)

    def insert(self, index: int, item: Any) -> None:
        item = self._dm_impl.fire_append(self._dm_state, self, item, None)
        super().insert(index, item)  # type: ignore[misc]  # the program's list-like class is the next base only at runtime

    def pop(self, index: int = -1) -> Any:
        self._dm_impl.fire_remove(self._dm_state, self, self[index], None)  # type: ignore[index]  # __getitem__/__len__ come from the program's list-like class under the mixin at runtime
        return super().pop(index)  # type: ignore[misc]  # the program's list-like class is the next base only at runtime

    def extend(self, items: Iterable[Any]) -> None:
        for item in list(items):
            self.append(item)

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))  # type: ignore[arg-type]  # __getitem__/__len__ come from the program's list-like class under the mixin at runtime
            values = list(value)
            if step == 1:
                for _ in range(max(stop - start, 0)):
                    if len(self) > start:  # type: ignore[arg-type]  # __getitem__/__len__ come from the program's list-like class under the mixin at runtime
                        del self[start]
                for i, item in enumerate(values):
                    self.insert(start + i, item)
                return
            positions = list(range(start, stop, step))
            if len(values) != len(positions):
                raise ValueError(
                    f"attempt to assign sequence of size {len(values)} to extended slice "
                    f"of size {len(positions)}")
            for i, item in zip(positions, values, strict=True):
                self[i] = item
            return
        old = self[index]  # type: ignore[index]  # __getitem__/__len__ come from the program's list-like class under the mixin at runtime
        value = self._dm_impl.fire_append(self._dm_state, self, value, None)
        if old is not None and old is not value:
            self._dm_impl.fire_remove(self._dm_state, self, old, None)
        super().__setitem__(index, value)  # type: ignore[misc]  # the program's list-like class is the next base only at runtime

    def __delitem__(self, index: Any) -> None:
        if isinstance(index, slice):
            gone = list(self[index])  # type: ignore[index]  # __getitem__/__len__ come from the program's list-like class under the mixin at runtime
        else:
            gone = [self[index]]  # type: ignore[index]  # __getitem__/__len__ come from the program's list-like class under the mixin at runtime
        for item in gone:
            self._dm_impl.fire_remove(self._dm_state, self, item, None)
        super().__delitem__(index)  # type: ignore[misc]  # the program's list-like class is the next base only at runtime


def _custom_class(cls: type) -> tuple[type, dict[str, Any]]:
    """The mixin and the methods of the instrumented subclass of a program's own
    collection class (see :class:`collection`)."""
    roles = collection_roles(cls)
    missing = [r for r in ("appender", "remover", "iterator") if r not in roles]
    if missing:
        raise ArgumentError(
            f"Can't use collection_class {cls.__name__}: it has no {' or '.join(missing)} "
            "method; subclass list or set, use attribute_keyed_dict() and friends, or mark "
            "its methods with @collection.appender, @collection.remover and "
            "@collection.iterator (datamapper.collections.collection)"
        )
    appender = getattr(cls, roles["appender"])
    remover = getattr(cls, roles["remover"])
    decorated = any(isinstance(getattr(v, _ROLE, None), str) for k in cls.__mro__
                    for v in vars(k).values())
    duck_list = not decorated and not issubclass(cls, dict) and roles["appender"] == "append"
    extra: dict[str, Any] = {
        "_dm_appender": appender, "_dm_remover": remover,
    }
    if roles["iterator"] != "__iter__":
        iterate = getattr(cls, roles["iterator"])
        extra["__iter__"] = lambda self: iterate(self)
    if duck_list:
        return _DuckListMixin, extra
    for name in dir(cls):
        if name.startswith("__") and name not in ("__setitem__", "__delitem__", "__iadd__",
                                                  "__isub__"):
            continue
        fn = getattr(cls, name, None)
        if not callable(fn) or getattr(fn, _INTERNAL, False):
            continue
        spec = getattr(fn, _EVENTS, None)
        role = getattr(fn, _ROLE, None)
        if spec is None and name == roles["appender"] and role in ("appender", None):
            spec = ("adds", 1)
        elif spec is None and name == roles["remover"] and role in ("remover", None):
            spec = ("removes", 1)
        if spec is not None:
            extra[name] = _with_events(fn, spec)
    return _CustomMixin, extra
