"""Attribute instrumentation and history: the public helpers.

``get_history``, ``set_committed_value``, ``flag_modified`` ... (re-exported by
the public ``datamapper.attributes``), over the parts in their own modules:
``history.py`` (the ``passive`` flags, :class:`History`), ``scalar_impls.py``
(the impls of column, synonym and composite attributes) and
``instrumentation.py`` (descriptors and write hooks on a mapped class), whose
names are importable from here too.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

from typing import Any

from .._util import NO_VALUE, describe
from ..exc import InvalidRequestError
from ..mapping.attributes import QueryableAttribute
from .collections import CollectionAdapter
from .history import (
    CALLABLES_OK,
    HISTORY_BLANK,
    INIT_OK,
    LOAD_AGAINST_COMMITTED,
    NEVER_SET,
    NO_CHANGE,
    NON_PERSISTENT_OK,
    PASSIVE_NO_FETCH,
    PASSIVE_NO_FETCH_RELATED,
    PASSIVE_NO_INITIALIZE,
    PASSIVE_OFF,
    PASSIVE_ONLY_PERSISTENT,
    PASSIVE_RETURN_NO_VALUE,
    RELATED_OBJECT_OK,
    SQL_OK,
    History,
    PassiveFlag,
    may_load,
    values_equal,
)
from .instrumentation import instrument, uninstrument
from .scalar_impls import (
    CompositeImpl,
    ScalarImpl,
    SynonymImpl,
    get_state_history,
    load_missing,
    scalar_history,
    validators_of,
)
from .state import InstanceState, instance_state

__all__ = [
    "CALLABLES_OK", "HISTORY_BLANK", "INIT_OK", "LOAD_AGAINST_COMMITTED", "NEVER_SET",
    "NON_PERSISTENT_OK", "NO_CHANGE", "PASSIVE_NO_FETCH", "PASSIVE_NO_FETCH_RELATED",
    "PASSIVE_NO_INITIALIZE", "PASSIVE_OFF", "PASSIVE_ONLY_PERSISTENT", "PASSIVE_RETURN_NO_VALUE",
    "RELATED_OBJECT_OK", "SQL_OK", "CompositeImpl", "History", "InstanceState", "PassiveFlag",
    "ScalarImpl", "SynonymImpl", "del_attribute", "flag_dirty", "flag_modified",
    "get_attribute", "get_history", "get_state_history", "init_collection", "instrument",
    "is_instrumented", "load_missing", "scalar_history", "set_attribute",
    "set_committed_value", "uninstrument", "validators_of", "values_equal",
]


def _impl(obj: Any, key: str) -> Any:
    state = instance_state(obj)
    impl = getattr(state.mapper, "_impls", {}).get(key)
    if impl is None:
        raise InvalidRequestError(
            f"{type(obj).__name__} has no mapped attribute {key!r}; mapped attributes are "
            f"{', '.join(sorted(state.mapper._props))}"
        )
    return impl



def get_history(obj: Any, key: str, passive: Any = PASSIVE_OFF) -> History:
    """The :class:`History` of attribute ``key`` of ``obj``.

    With the default ``PASSIVE_OFF`` an unloaded attribute of a persistent
    object is loaded first.  ``PASSIVE_NO_INITIALIZE`` (or ``PASSIVE_NO_FETCH``,
    or any flag without ``CALLABLES_OK`` and ``SQL_OK``) loads nothing and
    reports an unloaded attribute as empty (``HISTORY_BLANK``).  ``True`` and
    ``False`` still mean "don't load" and "load".
    """
    return get_state_history(instance_state(obj), key, not may_load(passive))


def is_instrumented(obj: Any, key: str) -> bool:
    """Is ``key`` an attribute the ORM manages on ``obj``'s class (column,
    relationship, synonym ...)?  False for unmapped objects."""
    attr = getattr(type(obj), key, None)
    return isinstance(attr, QueryableAttribute)


def set_attribute(obj: Any, key: str, value: Any, initiator: Any = None) -> None:
    """Set an attribute with full event and history handling."""
    _impl(obj, key).set(obj, value)


def get_attribute(obj: Any, key: str) -> Any:
    _impl(obj, key)
    return getattr(obj, key)


def del_attribute(obj: Any, key: str) -> None:
    _impl(obj, key).delete(obj)


def set_committed_value(obj: Any, key: str, value: Any) -> None:
    """Store ``value`` as if it had been loaded: no history, no flush."""
    impl = _impl(obj, key)
    refuse = getattr(impl, "refuse_committed_value", None)
    if refuse is not None:
        refuse(obj)
    state = instance_state(obj)
    if state._key is None and state._extra is None:
        # switch a new object to full history tracking: what it holds so far is "added"
        d = obj.__dict__
        for k in state.mapper._column_keys:
            if k in d and k != key:
                state.committed_state.setdefault(k, NO_VALUE)
        state.extra()
    if hasattr(impl, "set_committed"):
        impl.set_committed(state, obj, value)
    else:
        obj.__dict__[key] = value
    state.committed_state.pop(key, None)
    state.loaded((key,))
    if not state.committed_state and state.modified and state._key is not None:
        state.modified = False
        state._drop_modified()


def flag_modified(obj: Any, key: str) -> None:
    """Mark attribute ``key`` changed so the next flush writes it."""
    impl = _impl(obj, key)
    state = instance_state(obj)
    d = obj.__dict__
    if key not in d:
        raise InvalidRequestError(
            f"Can't flag attribute {key!r} of {describe(obj)} modified: it is not loaded; "
            "load or set it first"
        )
    if state._key is not None:
        state.committed_state.setdefault(key, NO_VALUE)
        state.modified_event(obj)
    else:
        state.modified = True
    dispatch = impl.attr.dispatch
    if dispatch is not None and "modified" in dispatch:
        dispatch.fire("modified", obj, impl.attr)


def flag_dirty(obj: Any) -> None:
    """Mark ``obj`` dirty without changing any attribute (fires before_flush handling)."""
    state = instance_state(obj)
    state.modified = True
    if state._key is not None:
        state.modified_event(obj)


def init_collection(obj: Any, key: str) -> CollectionAdapter:
    """Install an empty collection as relationship ``key`` of ``obj``, as if it had
    been loaded (no history), and return its :class:`CollectionAdapter`."""
    impl = _impl(obj, key)
    if not hasattr(impl, "init_collection"):
        raise InvalidRequestError(
            f"Can't initialize {type(obj).__name__}.{key} as a collection: it is not a "
            "collection relationship (a column, a many-to-one, uselist=False, or dynamic)"
        )
    return CollectionAdapter(impl.init_collection(instance_state(obj), obj))
