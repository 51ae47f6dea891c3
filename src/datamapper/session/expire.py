"""Session: ``refresh``, ``expire``, ``expire_all``, and the loading of expired or
deferred attributes.

Mixed into :class:`~datamapper.session.session.Session`.  ``_load_attributes`` is
what an access to an unloaded attribute calls (the instance layer, the loaders,
the flush): every expired column of the object in one SELECT by primary key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from .._util import describe, lifecycle
from ..cascade import cascade_iterator
from ..exc import (
    InvalidRequestError,
    ObjectDeletedError,
)
from ..instance.seam import SessionLike
from ..instance.state import (
    COLUMN_RAISE,
    InstanceState,
    expire_states,
    instance_state,
)
from ..loading import load_attributes_stmt
from ..loading.related import lazy_load
from ..loading.rows import commit_loaded
from .base import SessionBase
from .get import _check_for_update
from .ownership import exclusive
from .refresh import eager_expired, load_with_plan, refresh_state

_NOTHING_EXPIRED: frozenset[str] = frozenset()


def _keys_to_load(state: InstanceState, d: dict[str, Any], key: str | None) -> list[str]:
    """The column attributes one SELECT loads for ``state``: its expired, not deferred
    (nor marked to raise) columns not in ``d``, plus ``key`` and its deferred group."""
    mapper = state.mapper
    exp = state.expired_attributes
    deferred = mapper._deferred_keys
    ext = state._extra
    marks = ext.get(COLUMN_RAISE) if ext is not None else None
    if marks:  # columns the loading query said to refuse stay unloaded
        deferred = deferred | {k for k, refuse in marks.items() if refuse}
    keys = [k for k in mapper._load_keys if k in exp and k not in d and k not in deferred
            or (k == key)]
    if key is not None and key not in keys and key in mapper._column_keys:
        group = getattr(mapper._props[key], "group", None)
        keys.append(key)
        if group:
            keys.extend(k for k, p in mapper.column_attrs.items()
                        if getattr(p, "group", None) == group and k not in d and k != key)
    return keys


class SessionExpire(SessionBase):
    """``refresh``, ``expire``, ``expire_all`` and ``_load_attributes``."""

    def _load_attributes(self, state: InstanceState, key: str | None) -> None:
        """Load unloaded attributes of a persistent object: all expired columns at once
        (plus ``key`` if it is deferred)."""
        mapper = state.mapper
        if key is not None and key in mapper._props and mapper._props[key].is_relationship:
            lazy_load(cast("SessionLike", self), state, mapper._props[key])
            return
        pending_ident = None
        if state._key is None:
            if not state.expired_attributes:
                return
            # a pending object with expired attributes (its INSERT ran and a flush
            # expired what the database generated, or a key was taken away): loaded by
            # the primary key it holds
            pending_ident = _pending_identity(state, key)
        # pending changes (of this object or others) may alter what the SELECT reads, as
        # for a query: flush them first (a no-op inside a flush, no_autoflush, autoflush=False)
        self._autoflush()
        obj = state.strong_obj()
        d = obj.__dict__
        keys = _keys_to_load(state, d, key)
        if not keys:
            state.expired_attributes = _NOTHING_EXPIRED
            return
        if pending_ident is None and (key is None or key in state.expired_attributes
                                      and key not in mapper._deferred_keys):
            # expired relationships the object's loading loads eagerly load with its
            # expired columns (a joined one in the same SELECT), as when the object was
            # loaded (not with a deferred column it never loaded)
            sub = eager_expired(state, d, keys)
            if sub is not None:
                if not load_with_plan(self, state, sub, None, False):
                    raise ObjectDeletedError(
                        f"Can't load attribute(s) {', '.join(keys)} of {describe(obj)}: its "
                        "row is no longer in the database (deleted, or its primary key "
                        "changed, by another transaction); expunge the object or roll back"
                    )
                # (the row's load fired the refresh event)
                state.expired_attributes = _NOTHING_EXPIRED
                return
        ident = pending_ident if pending_ident is not None else (state.identity or ())
        stmt, props = load_attributes_stmt(mapper, keys, ident if None in ident else ())
        params = {f"_dm_pk_{i}": v for i, v in enumerate(ident) if v is not None}
        bind = self.get_bind(mapper=mapper, clause=stmt)
        row = self._run(stmt, params, bind, None,
                        {"mappers": (mapper,), "column_load": True}).first()
        if row is None:
            raise ObjectDeletedError(
                f"Can't load attribute(s) {', '.join(keys)} of {describe(obj)}: its row is no "
                "longer in the database (deleted, or its primary key changed, by another "
                "transaction); expunge the object or roll back"
            )
        for k, v in zip(keys, row, strict=True):
            if k not in state.committed_state:
                d[k] = v
        # every expired column is loaded now; expired deferred columns and relationships
        # are simply unloaded again (they load on access, as they did before the expiry)
        state.expired_attributes = _NOTHING_EXPIRED
        if "refresh" in mapper.dispatch:
            mapper.dispatch.fire("refresh", obj, None, set(keys))
            commit_loaded(state, keys)

    @exclusive
    def refresh(self, instance: object, attribute_names: Iterable[str] | None = None,
                with_for_update: object = None, lockmode: object = None) -> None:
        """Reload ``instance``'s attributes from the database now, discarding changes."""
        state = instance_state(instance)
        self._check_persistent(state, instance, "refresh")
        if with_for_update is not None:
            _check_for_update(with_for_update, "refresh")
        refresh_state(self, state, instance, attribute_names, with_for_update)

    @exclusive
    def expire(self, instance: object, attribute_names: Iterable[str] | None = None) -> None:
        """Forget loaded values; they load again on next access."""
        state = instance_state(instance)
        self._check_persistent(state, instance, "expire")
        if attribute_names is not None:
            names = list(attribute_names)
            bad = [n for n in names if n not in state.mapper._props]
            if bad:
                raise InvalidRequestError(
                    f"Can't expire {', '.join(map(repr, bad))} of {describe(instance)}: not "
                    f"mapped attributes of {state.mapper.class_.__name__}"
                )
            state.expire(names)
        else:
            # the cascade walks the loaded relationships, so it goes before they expire
            self._cascade_expire(state)
            state.expire()

    def _cascade_expire(self, state: InstanceState) -> None:
        """Expire the objects reached along refresh-expire cascades; pending ones
        reached that way leave the session (they have no row to load again)."""
        obj = state.obj()
        if obj is None:
            return
        for child_state, _child in list(cascade_iterator("refresh-expire", state, obj)):
            if child_state.session_id != self.hash_key:
                continue
            if child_state._key is not None:
                child_state.expire()
            elif child_state in self._new:
                self._expunge_state(child_state)

    @exclusive
    def expire_all(self) -> None:
        """Expire every object in the identity map."""
        expire_states(self._identity_map.states())

    def _check_persistent(self, state: InstanceState, obj: object, verb: str) -> None:
        if state.session_id != self.hash_key or state._key is None:
            raise InvalidRequestError(
                f"Can't {verb} {describe(obj)}: it is not persistent within this Session "
                f"({lifecycle(state)}); add it and flush first"
            )
        if state._deleted and not self._identity_map.holds(state):
            # (deleted again after the flush of its DELETE, it is back in the identity
            # map: it can be expired and refreshed as a persistent object can)
            raise InvalidRequestError(
                f"Can't {verb} {describe(obj)}: it is not persistent within this Session "
                "(deleted: a flush already deleted its row); it leaves the session at "
                "commit, or becomes persistent again if the transaction rolls back"
            )


def _pending_identity(state: InstanceState, key: str | None) -> tuple[Any, ...]:
    """The primary key a pending object holds, to load its expired attributes by."""
    d = state.strong_obj().__dict__
    ident = tuple(d.get(k) for k in state.mapper._pk_keys)
    if any(v is None for v in ident):
        raise InvalidRequestError(
            f"Can't load expired attribute {key or ''!s} of {describe(state.obj())}: it is "
            "pending (no identity key) and its primary key is not set, so there is no row "
            "to read; set the primary key, or flush the object first")
    return ident
