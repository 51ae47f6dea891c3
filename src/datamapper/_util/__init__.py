"""Small helpers shared by every layer; imports nothing from datamapper."""

from __future__ import annotations

import gc
from typing import Any


class _Symbol:
    """A named singleton marker (NO_VALUE, NEVER_SET ...)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name


NO_VALUE: Any = _Symbol("NO_VALUE")
"""The attribute has no value loaded (never set, or not loaded)."""

DONT_SET: Any = _Symbol("DONT_SET")
"""The default of a dataclass field for a relationship: a constructor call that does
not pass the field leaves the attribute unset (a many-to-one left at None by the
constructor must not null a foreign key the program sets itself)."""


def describe(obj: object) -> str:
    """A short human description of an object for error messages."""
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    cls = type(obj).__name__
    try:
        r = repr(obj)
    except Exception:  # a broken __repr__ must not hide the real error
        r = ""
    if r.startswith("<") or not r:
        return f"<{cls} at 0x{id(obj):x}>"
    return r


class IdentitySet:
    """An ordered set of objects compared by identity (mapped objects may define ``__eq__``)."""

    def __init__(self, items: Any = ()) -> None:
        self._members: dict[int, object] = {}
        for o in items:
            self._members[id(o)] = o

    def add(self, obj: object) -> None:
        self._members[id(obj)] = obj

    def discard(self, obj: object) -> None:
        self._members.pop(id(obj), None)

    def __contains__(self, obj: object) -> bool:
        return id(obj) in self._members

    def __iter__(self) -> Any:
        return iter(list(self._members.values()))

    def __len__(self) -> int:
        return len(self._members)

    def __bool__(self) -> bool:
        return bool(self._members)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdentitySet):
            return self._members.keys() == other._members.keys()
        try:
            return self == IdentitySet(other)
        except TypeError:
            return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # identity sets are mutable

    def union(self, other: Any) -> IdentitySet:
        out = IdentitySet(self)
        for o in other:
            out.add(o)
        return out

    __or__ = union

    def __repr__(self) -> str:
        return f"IdentitySet({list(self._members.values())!r})"


def warn_deprecated(old: str, new: str) -> None:
    """DeprecationWarning ``"<old> is deprecated; use <new>"`` at the caller's caller."""
    import warnings

    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)


def lifecycle(state: object) -> str:
    """The name of an InstanceState's lifecycle stage, for messages."""
    for name in ("transient", "pending", "persistent", "deleted", "detached"):
        if getattr(state, name):
            return name
    return "unknown"


def resume_gc() -> None:
    """Switch the cycle collector back on after a pause in which many objects were
    made (or first given a ``__dict__``) that all stay reachable.

    Left in the youngest generation, they would all be scanned by the next
    collection (the first allocation after this), and again when promoted.  They are
    moved to the oldest generation unscanned instead (``gc.freeze()`` then
    ``gc.unfreeze()``, which also moves what else the young generations held: a
    reference cycle among those is freed by the next full collection rather than a
    young one).  Not done when the program keeps objects frozen itself
    (``gc.get_freeze_count()``): unfreezing would release them.
    """
    if not gc.get_freeze_count():
        gc.freeze()
        gc.unfreeze()
    gc.enable()
