"""The identity map: one object per identity key per session.

Entries are InstanceStates keyed by ``(class, primary key tuple, token)``.
In the default weak mode the map holds objects through weak references, so
an unreferenced clean object disappears from the session; objects with
unflushed changes (and new or deleted ones, which the session holds) keep a
strong reference in ``state._strong`` until flushed.  ``weak=False`` holds
every object strongly.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from .state import InstanceState


class _KeyRef(weakref.ref):  # type: ignore[type-arg]  # ref to an object of any class
    """A weak reference that carries the identity key it is filed under.

    Like ``weakref.KeyedRef`` but without its Python-level ``__new__`` and
    ``__init__``: creating one is a C call plus one slot store.
    """

    __slots__ = ("key",)
    key: tuple[Any, ...]


class IdentityMap:
    """Dict-like view ``key -> object`` over the session's persistent states."""

    def __init__(self, weak: bool = True) -> None:
        self.weak = weak
        self._dict: dict[tuple[Any, ...], InstanceState] = {}
        self._modified: set[InstanceState] = set()
        if weak:
            selfref = weakref.ref(self)

            def _gone(ref: Any) -> None:
                imap = selfref()
                if imap is None:
                    return
                st = imap._dict.get(ref.key)
                if st is not None and st.obj is ref:
                    del imap._dict[ref.key]

            self._gone = _gone

    # -- maintenance (session and loading layers) -------------------------------
    def add(self, state: InstanceState, obj: Any) -> None:
        """Put ``state`` (whose ``key`` is set) into the map."""
        key = state.key
        assert key is not None
        if self.weak:
            state.obj = ref = _KeyRef(obj, self._gone)
            ref.key = key
        else:
            state._strong = obj
        self._dict[key] = state

    def replace_key(self, state: InstanceState, obj: Any, old_key: Any) -> None:
        if old_key is not None and self._dict.get(old_key) is state:
            del self._dict[old_key]
        self.add(state, obj)

    def discard(self, state: InstanceState) -> None:
        key = state.key
        if key is not None and self._dict.get(key) is state:
            del self._dict[key]
        self._modified.discard(state)
        # state.obj may stay a _KeyRef: its callback removes an entry only while that
        # entry's state still holds this very reference (add() gives a re-added state
        # a new one), so after discard it is a plain weak reference in effect.

    def get_state(self, key: tuple[Any, ...]) -> InstanceState | None:
        st = self._dict.get(key)
        if st is not None and st.obj() is None:
            return None
        return st

    def states(self) -> list[InstanceState]:
        """A snapshot of the held states, dead references included."""
        return list(self._dict.values())

    def all_states(self) -> list[InstanceState]:
        return [st for st in list(self._dict.values()) if st.obj() is not None]

    def clear(self) -> None:
        self._dict.clear()
        self._modified.clear()

    # -- the public mapping API -------------------------------------------------------
    def __getitem__(self, key: tuple[Any, ...]) -> Any:
        st = self._dict[key]
        obj = st.obj()
        if obj is None:
            raise KeyError(key)
        return obj

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        st = self._dict.get(key)
        if st is None:
            return default
        obj = st.obj()
        return default if obj is None else obj

    def __contains__(self, key: object) -> bool:
        st = self._dict.get(key)  # type: ignore[call-overload]
        return st is not None and st.obj() is not None

    def __len__(self) -> int:
        return sum(1 for st in list(self._dict.values()) if st.obj() is not None)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.keys())

    def keys(self) -> list[tuple[Any, ...]]:
        return [k for k, st in list(self._dict.items()) if st.obj() is not None]

    def values(self) -> list[Any]:
        out = []
        for st in list(self._dict.values()):
            o = st.obj()
            if o is not None:
                out.append(o)
        return out

    def items(self) -> list[tuple[tuple[Any, ...], Any]]:
        out = []
        for k, st in list(self._dict.items()):
            o = st.obj()
            if o is not None:
                out.append((k, o))
        return out

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError(
            "Can't assign into the identity map directly; use session.add() or session.merge()"
        )

    def __delitem__(self, key: Any) -> None:
        raise TypeError("Can't delete from the identity map directly; use session.expunge()")

    def __repr__(self) -> str:
        return f"<IdentityMap of {len(self)} objects>"
