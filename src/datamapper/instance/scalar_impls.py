"""The attribute impls of column, synonym and composite attributes: reading a
missing value, writing one (recording what the flush needs), history.

Callers: ``instrumentation.py`` (which gives each mapped attribute its impl),
the instrumented class's ``__setattr__``/``__delattr__``, the descriptors of
``mapping/attributes.py`` (reads of missing values) and the public helpers of
``attributes.py``.  ``ScalarImpl.set`` is on the hot path of every write of a
loaded object.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._util import DONT_SET, NO_VALUE, describe
from ..exc import InvalidRequestError
from ..mapping.attributes import QueryableAttribute
from ..mapping.composite import CompositeProperty
from ..mapping.declarative import ATTRIBUTE_DEFAULTS
from ..mapping.mapper import Mapper
from .history import HISTORY_BLANK, History, values_equal
from .state import (
    COLUMN_RAISE,
    COMPOSITES,
    STATE_ATTR,
    InstanceState,
    _sessions,
    detached_error,
    instance_state,
)

HEAPTYPE = 1 << 9  # Py_TPFLAGSHEAPTYPE
_get_attribute = object.__getattribute__
_set_attribute = object.__setattr__


def validators_of(mapper: Mapper, key: str) -> tuple[Any, Any, bool]:
    """``(on_set, on_remove, on_backrefs)`` for the ``@validates`` method of ``key``:
    ``on_set(obj, key, value)`` returns the value to store; ``on_remove(obj, key,
    value, True)`` (``include_removes=True`` only, else None) reports a removal;
    ``on_backrefs`` is False when changes made by a backref are not validated."""
    v = mapper.validators.get(key)
    if v is None:
        return None, None, True
    fn, opts = v
    backrefs = bool(opts.get("include_backrefs", True))
    if not opts.get("include_removes"):
        return fn, None, backrefs

    def on_set(obj: Any, key: str, value: Any) -> Any:
        return fn(obj, key, value, False)

    return on_set, fn, backrefs


class ScalarImpl:
    """Reads of missing values and writes of one column-mapped attribute."""

    __slots__ = ("key", "mapper", "attr", "validator", "remove_validator", "active_history",
                 "plain", "direct", "default")

    def __init__(self, mapper: Mapper, key: str, attr: QueryableAttribute) -> None:
        self.key = key
        self.mapper = mapper
        self.attr = attr
        self.validator: Callable[..., Any] | None
        self.validator, self.remove_validator, _ = validators_of(mapper, key)
        # a primary-key column's old value is loaded before a write to an expired one,
        # as for active_history: the flush then sees whether the key really changed
        self.active_history = bool(getattr(attr.prop, "active_history", False)) or \
            key in getattr(mapper, "_pk_keys", ())
        self.plain = self.validator is None
        # the class whose instances set() may read and write through object's own
        # attribute access (see _direct_class); found on the first write
        self.direct: Any = NO_VALUE
        # what the attribute answers while a new object has no value: a mapped
        # dataclass field's column default, which its constructor leaves unset
        self.default = getattr(mapper.class_, ATTRIBUTE_DEFAULTS, {}).get(key)

    def get_missing(self, obj: Any) -> Any:
        """The value of an attribute that is not in ``obj.__dict__``."""
        d = obj.__dict__
        state = d.get(STATE_ATTR)
        if state is None:
            return self._initial(obj, d)
        key = self.key
        if state._key is None:
            if key in state.expired_attributes and state.session_id is not None:
                load_missing(state, key)  # a pending object's expired value: by its key
                return d.get(key)
            return self._initial(obj, d)
        if key in self.mapper._expression_keys:
            # query_expression() without default: only a query's with_expression() loads it
            return None
        if key not in state.expired_attributes and key not in self.mapper._deferred_keys:
            # neither expired nor deferred: the row holds no value the object lacks (never
            # inserted, or ``del obj.attr``): None, without SQL
            return None
        ext = state._extra
        marks = ext.get(COLUMN_RAISE) if ext is not None else None
        if (marks[key] if marks and key in marks else key in self.mapper._raise_keys):
            cls = self.mapper.class_.__name__
            raise InvalidRequestError(
                f"Can't load {cls}.{key} of {describe(obj)}: '{cls}.{key}' is not available "
                "due to raiseload=True; load it with the query (undefer(), load_only()) or "
                "defer() it without raiseload"
            )
        load_missing(state, key)
        return d.get(key)

    def _initial(self, obj: Any, d: dict[str, Any]) -> Any:
        """What a new object's unset attribute reads: the default, or what the
        ``init_scalar`` listeners give (with retval=True; one may also store it in
        ``d``, the object's ``__dict__``, to have it written)."""
        dispatch = self.attr.dispatch
        if dispatch is not None and "init_scalar" in dispatch:
            return dispatch.fire_retval("init_scalar", self.default, obj, d)
        return self.default

    def set(self, obj: Any, value: Any) -> None:
        if value is DONT_SET:
            return  # a dataclass constructor not given this field: the default stays
        if obj.__class__ is self.direct and self.plain and self.attr.dispatch is None:
            # A changed value held in the object's inline attribute storage, read and
            # written without materializing the object's ``__dict__`` (which would leave
            # one more object per changed row for the cycle collector to scan, and make
            # a loop changing many loaded objects pay a full collection).  Where the
            # ``__dict__`` must be looked at (no state yet, a value that may be missing:
            # expired, deferred, None; a new attribute of a persistent object) nothing
            # is changed here and _set_dict() does the write.
            try:
                state = _get_attribute(obj, STATE_ATTR)
            except AttributeError:
                state = None
            if state.__class__ is InstanceState:
                key = self.key
                if state._key is None and state._extra is None:
                    # transient or pending: the INSERT writes whatever is there
                    _set_attribute(obj, key, value)
                    state.modified = True
                    return
                cs = state._committed
                if cs is not None and key in cs:
                    inline = True  # changed before: its original is noted already
                else:
                    mapper = self.mapper
                    # the loaded value (the descriptor is not reached while the instance
                    # holds one; without one, it answers None, and _set_dict() looks at
                    # the __dict__); an expired, deferred or expression attribute has no
                    # value, or one to load first
                    old = None if key in state.expired_attributes \
                        or key in mapper._deferred_keys or key in mapper._expression_keys \
                        else _get_attribute(obj, key)
                    inline = old is not None
                    if inline:
                        if cs is None:
                            cs = state._committed = {}
                        cs[key] = old
                if inline:
                    if not state.modified:
                        # first: it may refuse (autobegin in a closed block)
                        state.modified_event(obj)
                    _set_attribute(obj, key, value)
                    if state.expired_attributes and key in state.expired_attributes:
                        state.loaded((key,))
                    return
        elif self.direct is NO_VALUE:
            # the first write through this attribute: which class set() may write
            # through object's own attribute access (see _direct_class)
            self.direct = _direct_class(self.mapper.class_, self.key)
            self.set(obj, value)
            return
        self._set_dict(obj, value)

    def _set_dict(self, obj: Any, value: Any) -> None:
        """``set()`` through the object's ``__dict__``: every case (validators, set
        events, values to load first)."""
        d = obj.__dict__
        state = d.get(STATE_ATTR)
        if state is None:
            state = instance_state(obj)
        key = self.key
        if not self.plain:
            value = self.validator(obj, key, value)  # type: ignore[misc]  # plain is False only when validator is set (see __init__); mypy can't tie the flag to it
        dispatch = self.attr.dispatch
        if dispatch is not None and "set" in dispatch:
            old_for_event = d.get(key, NO_VALUE)
            value = dispatch.fire_retval("set", value, obj, old_for_event, self.attr)
        if state._key is None and state._extra is None:
            # transient or pending: the INSERT writes whatever is there
            d[key] = value
            state.modified = True
            return
        cs = state._committed
        if cs is None:
            cs = state._committed = {}
        if key not in cs:
            old = d.get(key, NO_VALUE)
            if old is NO_VALUE and self.active_history and state.session_id is not None:
                load_missing(state, key)
                old = d.get(key, NO_VALUE)
                # the load may have autoflushed this object's earlier changes, which
                # starts a new change record: note the old value in that one
                cs = state._committed
                if cs is None:
                    cs = state._committed = {}
            cs[key] = old
        if not state.modified:
            state.modified_event(obj)  # first: it may refuse (autobegin in a closed block)
        d[key] = value
        if state.expired_attributes and key in state.expired_attributes:
            state.loaded((key,))

    def delete(self, obj: Any) -> None:
        d = obj.__dict__
        state = instance_state(obj)
        key = self.key
        if key not in d and (state._key is None or key not in state.mapper._expire_keys):
            raise AttributeError(
                f"Can't delete attribute {key!r} of {describe(obj)}: it has no value"
            )
        if self.remove_validator is not None:
            self.remove_validator(obj, key, d.get(key), True)
        dispatch = self.attr.dispatch
        if dispatch is not None and "remove" in dispatch:
            dispatch.fire("remove", obj, d.get(key), self.attr)
        if state._key is None and state._extra is None:
            d.pop(key, None)
            return
        state.committed_state.setdefault(key, d.get(key, NO_VALUE))
        state.modified_event(obj)
        d.pop(key, None)
        if state.expired_attributes and key in state.expired_attributes:
            state.loaded((key,))

    def history(self, state: InstanceState, passive: bool = True) -> History:
        return scalar_history(state, self.key, passive, values_equal, False)


def scalar_history(state: InstanceState, key: str, passive: bool,
                   same: Callable[[Any, Any], bool], none_is_nothing: bool) -> History:
    """History of a one-value attribute: ``same`` compares current and original;
    with ``none_is_nothing`` an original None is not reported as deleted."""
    obj = state.obj()
    d = obj.__dict__ if obj is not None else {}
    current = d.get(key, NO_VALUE)
    if state._key is None and state._extra is None:
        return History([current], (), ()) if current is not NO_VALUE else HISTORY_BLANK
    cs = state.committed_state
    if key not in cs:
        if current is NO_VALUE and not passive and state.session_id is not None:
            load_missing(state, key)
            current = d.get(key, NO_VALUE)
        return HISTORY_BLANK if current is NO_VALUE else History((), [current], ())
    original = cs[key]
    if current is not NO_VALUE and original is not NO_VALUE and same(current, original):
        return History((), [current], ())
    if original is NO_VALUE or (none_is_nothing and original is None):
        deleted: Any = ()
    else:
        deleted = [original]
    if current is NO_VALUE:
        return History((), (), deleted)
    return History([current], (), deleted)


class SynonymImpl:
    """Reads and writes go to another attribute, or through ``descriptor`` (a
    ``property`` the class defined under the synonym's name, or the synonym's
    ``descriptor=``) when there is one."""

    __slots__ = ("key", "target", "attr", "descriptor")

    def __init__(self, key: str, target: str, attr: QueryableAttribute,
                 descriptor: Any = None) -> None:
        self.key = key
        self.target = target
        self.attr = attr
        self.descriptor = descriptor

    def get_missing(self, obj: Any) -> Any:
        if self.descriptor is not None:
            return self.descriptor.__get__(obj, type(obj))
        return getattr(obj, self.target)

    def set(self, obj: Any, value: Any) -> None:
        if self.descriptor is not None:
            self.descriptor.__set__(obj, value)
        else:
            setattr(obj, self.target, value)

    def delete(self, obj: Any) -> None:
        if self.descriptor is not None:
            self.descriptor.__delete__(obj)
        else:
            delattr(obj, self.target)

    def history(self, state: InstanceState, passive: bool = True) -> History:
        return get_state_history(state, self.target, passive)


def _same_values(old: list[Any], new: list[Any]) -> bool:
    for a, b in zip(old, new, strict=True):
        if a is b:
            continue
        try:
            if not bool(a == b):
                return False
        except Exception:  # a value that can't be compared so: not the same
            return False
    return True


class CompositeImpl:
    """A ``composite()`` attribute: reads build the composite object from its columns'
    attributes, writes set them (each through its own attribute, so history, events
    and the flush see ordinary column changes).

    The object built is kept (in the state's ``COMPOSITES``) and read again while the
    columns hold the values it was built from, so a change made to it in place stays
    visible; a ``MutableComposite`` (one with ``_add_parent()``) is told which objects
    hold it, and writes its changes back to their columns."""

    __slots__ = ("key", "prop", "attr", "active_history")

    def __init__(self, key: str, prop: CompositeProperty, attr: QueryableAttribute) -> None:
        self.key = key
        self.prop = prop
        self.attr = attr
        # a write loads the columns' old values first (history, and the old value the
        # set/remove events receive)
        self.active_history = bool(prop.active_history)

    def _old_value(self, obj: Any) -> Any:
        """The value a set/remove event receives as the old one: the composite object
        (loaded first with active_history), else the object last read or assigned
        while its columns still hold its values, else NO_VALUE."""
        if self.active_history:
            return self.get_missing(obj)
        d = obj.__dict__
        state: InstanceState | None = d.get(STATE_ATTR)
        ext = state._extra if state is not None else None
        cache = ext.get(COMPOSITES) if ext is not None else None
        hit = cache.get(self.key) if cache is not None else None
        if hit is None or any(k not in d for k in self.prop.attribute_keys):
            return NO_VALUE
        values = [d[k] for k in self.prop.attribute_keys]
        return hit[1] if _same_values(hit[0], values) else NO_VALUE

    def get_missing(self, obj: Any) -> Any:
        values = [getattr(obj, k) for k in self.prop.attribute_keys]
        state: InstanceState | None = obj.__dict__.get(STATE_ATTR)
        ext = state._extra if state is not None else None
        cache = ext.get(COMPOSITES) if ext is not None else None
        hit = cache.get(self.key) if cache is not None else None
        if hit is not None and _same_values(hit[0], values):
            return hit[1]
        value = self.prop.construct(values)
        if state is not None:
            self._remember(state, obj, values, value)
        return value

    def _remember(self, state: InstanceState, obj: Any, values: list[Any],
                  value: Any) -> None:
        cache: dict[str, tuple[list[Any], Any]] = state.extra().setdefault(COMPOSITES, {})
        old = cache.get(self.key)
        if old is not None and old[1] is not value:
            remove = getattr(old[1], "_remove_parent", None)
            if remove is not None:
                remove(obj)
        if value is None and not values:  # deleted: read from the columns again
            cache.pop(self.key, None)
            return
        cache[self.key] = (values, value)  # (None assigned reads back as None)
        add = getattr(value, "_add_parent", None)
        if add is not None:
            add(obj, self.key)

    def set(self, obj: Any, value: Any) -> None:
        dispatch = self.attr.dispatch
        if dispatch is not None and "set" in dispatch:
            value = dispatch.fire_retval("set", value, obj, self._old_value(obj), self)
        values = self.prop.values_of(value)  # checked before any column changes
        if self.active_history:
            for key in self.prop.attribute_keys:
                getattr(obj, key)  # load unloaded old values: the history shows them
        for key, v in zip(self.prop.attribute_keys, values, strict=True):
            setattr(obj, key, v)
        state: InstanceState | None = obj.__dict__.get(STATE_ATTR)
        if state is not None:
            # the object assigned is the attribute's value from now on (a validator or
            # a column type may have changed what the columns hold: those values)
            d = obj.__dict__
            self._remember(state, obj, [d.get(k) for k in self.prop.attribute_keys], value)

    def delete(self, obj: Any) -> None:
        dispatch = self.attr.dispatch
        if dispatch is not None and "remove" in dispatch:
            dispatch.fire("remove", obj, self._old_value(obj), self)
        elif self.active_history:
            self.get_missing(obj)  # the old values, for the history
        for key in self.prop.attribute_keys:
            setattr(obj, key, None)
        state: InstanceState | None = obj.__dict__.get(STATE_ATTR)
        if state is not None:
            self._remember(state, obj, [], None)

    def history(self, state: InstanceState, passive: bool = True) -> History:
        parts = [get_state_history(state, k, passive) for k in self.prop.attribute_keys]
        if not any(p.added or p.deleted for p in parts):
            current = [(p.unchanged or [None])[0] for p in parts]
            return History((), [self.prop.construct(current)], ())
        new = [(p.added or p.unchanged or [None])[0] for p in parts]
        old = [(p.deleted or p.unchanged or [None])[0] for p in parts]
        return History([self.prop.construct(new)], (), [self.prop.construct(old)])

def load_missing(state: InstanceState, key: str) -> None:
    """Load an unloaded attribute of a persistent object through its session."""
    sess = _sessions.get(state.session_id) if state.session_id is not None else None
    if sess is None:
        raise detached_error(state, key)
    sess._load_attributes(state, key)


def _direct_class(cls: type, key: str) -> type | None:
    """``cls`` when ``object.__getattribute__``/``object.__setattr__`` on its
    instances read and store exactly what ``obj.__dict__[key]`` (and the state's
    key) would: only Python classes in its MRO, and no data descriptor (property,
    slot) for those names.  None otherwise (``set()`` then goes by ``__dict__``)."""
    mro = cls.__mro__
    if any(not (k.__flags__ & HEAPTYPE) for k in mro[:-1]):
        return None
    for name in (key, STATE_ATTR):
        for klass in mro:
            if name in klass.__dict__:
                kind = type(klass.__dict__[name])
                if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                    return None
                break
    return cls


def get_state_history(state: InstanceState, key: str, passive: bool = True) -> History:
    """The :class:`History` of attribute ``key`` of the object of ``state``."""
    impl = getattr(state.mapper, "_impls", {}).get(key)
    if impl is None:
        raise InvalidRequestError(
            f"{state.mapper.class_.__name__} has no mapped attribute {key!r}"
        )
    return impl.history(state, passive)  # type: ignore[no-any-return]  # Mapper._impls is typed dict[str, Any] (impls of several classes); each one's history() returns a History
