"""The identity map: one object per identity key per session.

Entries are InstanceStates keyed by ``(class, primary key tuple, token)``.
In the default weak mode the map holds objects through weak references, so
an unreferenced clean object disappears from the session; objects with
unflushed changes (and new or deleted ones, which the session holds) keep a
strong reference in ``state._strong`` until flushed.  ``weak=False`` holds
every object strongly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .._util import describe
from ..exc import InvalidRequestError
from .state import LAZY_KEY, InstanceState


def split_key(key: tuple[Any, ...]) -> tuple[tuple[Any, Any], Any]:
    """(outer, inner) keys of identity ``key`` in the two-level dict."""
    ident = key[1]
    return (key[0], key[2]), (ident[0] if len(ident) == 1 else ident)


class IdentityMap:
    """Dict-like view ``key -> object`` over the session's persistent states.

    Stored as two levels, ``{(class, identity token): {ident: state}}`` where
    ``ident`` is the key value itself for a one-column primary key and the
    tuple of values otherwise: a loaded row then costs no key tuples at all
    (see ``InstanceState.key``).  The public mapping API speaks full identity
    keys ``(class, primary key tuple, token)``.
    """

    def __init__(self, weak: bool = True) -> None:
        self.weak = weak
        self._maps: dict[tuple[Any, Any], dict[Any, InstanceState]] = {}
        self._modified: set[InstanceState] = set()
        # weak mode: a dying object's entry is removed by its state's weak-reference
        # callback (instance.state._state_gone -> discard_entry)

    # -- maintenance (session and loading layers) -------------------------------
    def inner(self, cls: Any, token: Any = None) -> dict[Any, InstanceState]:
        """The ``{ident: state}`` dict of ``cls`` (created empty on first use)."""
        m = self._maps.get((cls, token))
        if m is None:
            m = self._maps[(cls, token)] = {}
        return m

    def add(self, state: InstanceState, obj: Any = None) -> Any:
        """Put ``state`` (whose key is set) into the map.

        The session's own callers pass the object and have checked the key is free.
        Called with the state alone (as code written for SQLAlchemy does), it checks:
        another live object under the same key is refused; True if the state was
        added, False if it was there already."""
        if obj is None:
            return self._add_checked(state)
        loc = state.map_key()
        assert loc is not None
        if not self.weak:
            state._strong = obj
        outer, inner = loc
        m = self._maps.get(outer)
        if m is None:
            m = self._maps[outer] = {}
        m[inner] = state

    def _add_checked(self, state: InstanceState) -> bool:
        key = state.key
        obj = state.obj()
        if key is None or obj is None:
            raise InvalidRequestError(
                f"Can't add {describe(obj) if obj is not None else 'a dead object'} to the "
                "identity map: it has no identity key (flush it first)")
        existing = self.get_state(key)
        if existing is state:
            return False
        if existing is not None:
            raise InvalidRequestError(
                f"Can't attach instance <{type(obj).__name__} at {hex(id(obj))}>; another instance with key {key} is "
                "already present in this session; expunge that one first, or merge() this "
                "one's state onto it")
        self.add(state, obj)
        return True

    def replace_key(self, state: InstanceState, obj: Any, old_key: Any) -> None:
        if old_key is not None:
            outer, inner = split_key(old_key)
            m = self._maps.get(outer)
            if m is not None and m.get(inner) is state:
                del m[inner]
        self.add(state, obj)

    def discard_entry(self, state: InstanceState) -> None:
        """Remove ``state``'s entry if the map holds this very state under its key."""
        loc = state.map_key()
        if loc is None:
            return
        m = self._maps.get(loc[0])
        if m is not None and m.get(loc[1]) is state:
            del m[loc[1]]

    def discard(self, state: InstanceState) -> None:
        self.discard_entry(state)
        self._modified.discard(state)

    def discard_all(self, states: Iterable[InstanceState]) -> None:
        """``discard()`` of each state (a flush's deleted rows), in one loop."""
        maps = self._maps
        if not isinstance(states, (list, tuple)):
            states = list(states)
        last: Any = None
        m: Any = None
        for state in states:
            if state._key is LAZY_KEY:  # the common one-column key, without map_key()
                mapper = state.mapper
                if mapper is not last:  # (runs of one mapper: its map looked up once)
                    m = maps.get((mapper._identity_class, None))
                    last = mapper
                if m is not None:
                    ident = state._ident
                    if m.get(ident) is state:
                        del m[ident]
            else:
                self.discard_entry(state)
        self._modified.difference_update(states)

    def holds(self, state: InstanceState) -> bool:
        """True when ``state`` is the entry filed under its own key."""
        loc = state.map_key()
        if loc is None:
            return False
        m = self._maps.get(loc[0])
        return m is not None and m.get(loc[1]) is state

    def state_for(self, key: Any) -> InstanceState | None:
        """The state filed under ``key``, live or not."""
        try:
            outer, inner = split_key(key)
            m = self._maps.get(outer)
            return None if m is None else m.get(inner)
        except (TypeError, IndexError):
            return None

    def get_state(self, key: tuple[Any, ...]) -> InstanceState | None:
        st = self.state_for(key)
        if st is not None and st.obj() is None:
            return None
        return st

    def states(self) -> list[InstanceState]:
        """A snapshot of the held states, dead references included."""
        out: list[InstanceState] = []
        for m in list(self._maps.values()):
            out.extend(list(m.values()))
        return out

    def all_states(self) -> list[InstanceState]:
        return [st for st in self.states() if st.obj() is not None]

    def clear(self) -> None:
        self._maps.clear()
        self._modified.clear()

    # -- the public mapping API -------------------------------------------------------
    def __getitem__(self, key: tuple[Any, ...]) -> Any:
        st = self.state_for(key)
        obj = st.obj() if st is not None else None
        if obj is None:
            raise KeyError(key)
        return obj

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        st = self.state_for(key)
        if st is None:
            return default
        obj = st.obj()
        return default if obj is None else obj

    def __contains__(self, key: object) -> bool:
        st = self.state_for(key)
        return st is not None and st.obj() is not None

    def __len__(self) -> int:
        return sum(1 for st in self.states() if st.obj() is not None)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.keys())

    def keys(self) -> list[tuple[Any, ...]]:
        return [st.key for st in self.states() if st.obj() is not None]  # type: ignore[misc]  # every state in the identity map has a key; InstanceState.key is Optional for transient states

    def values(self) -> list[Any]:
        out = []
        for st in self.states():
            o = st.obj()
            if o is not None:
                out.append(o)
        return out

    def items(self) -> list[tuple[tuple[Any, ...], Any]]:
        out: list[tuple[Any, Any]] = []
        for st in self.states():
            o = st.obj()
            if o is not None:
                out.append((st.key, o))
        return out

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError(
            "Can't assign into the identity map directly; use session.add() or session.merge()"
        )

    def __delitem__(self, key: Any) -> None:
        raise TypeError("Can't delete from the identity map directly; use session.expunge()")

    def __repr__(self) -> str:
        return f"<IdentityMap of {len(self)} objects>"
