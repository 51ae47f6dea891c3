"""Attribute instrumentation and history.

The instance layer installs, on each mapped class, the mapping layer's
:class:`QueryableAttribute` descriptors (non-data: reads of loaded values
are plain ``__dict__`` hits) and a ``__setattr__``/``__delattr__`` pair that
routes writes of mapped attributes to an *impl* that records history.  The
public helpers (``get_history``, ``set_committed_value``, ``flag_modified``
...) live here too.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from .._util import NO_VALUE, describe
from ..exc import ArgumentError, InvalidRequestError
from ..mapping.attributes import InstrumentedAttribute, QueryableAttribute, RelationshipAttribute
from ..mapping.mapper import Mapper, configure_mappers
from ..mapping.mapper_events import ATTRIBUTE_DISPATCHES
from ..mapping.registry import _default_constructor
from .collections import CollectionAdapter, new_collection
from .collections import is_instrumented as _is_collection
from .state import (
    COLUMN_RAISE,
    COMPOSITES,
    STATE_ATTR,
    InstanceState,
    _restore_state,
    _sessions,
    detached_error,
    instance_state,
    new_state,
)


class PassiveFlag(int):
    """A ``passive`` flag of :func:`get_history`: a set of permission bits (the same
    values as SQLAlchemy's), shown by name."""

    name: str
    # every flag below is also reachable as PassiveFlag.<NAME>
    NO_CHANGE: ClassVar[PassiveFlag]
    CALLABLES_OK: ClassVar[PassiveFlag]
    SQL_OK: ClassVar[PassiveFlag]
    RELATED_OBJECT_OK: ClassVar[PassiveFlag]
    INIT_OK: ClassVar[PassiveFlag]
    NON_PERSISTENT_OK: ClassVar[PassiveFlag]
    LOAD_AGAINST_COMMITTED: ClassVar[PassiveFlag]
    PASSIVE_OFF: ClassVar[PassiveFlag]
    PASSIVE_RETURN_NO_VALUE: ClassVar[PassiveFlag]
    PASSIVE_NO_INITIALIZE: ClassVar[PassiveFlag]
    PASSIVE_NO_FETCH: ClassVar[PassiveFlag]
    PASSIVE_NO_FETCH_RELATED: ClassVar[PassiveFlag]
    PASSIVE_ONLY_PERSISTENT: ClassVar[PassiveFlag]

    def __new__(cls, name: str, value: int) -> PassiveFlag:
        flag = int.__new__(cls, value)
        flag.name = name
        return flag

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name


# permission bits
NO_CHANGE = PassiveFlag("NO_CHANGE", 0)
CALLABLES_OK = PassiveFlag("CALLABLES_OK", 1)  # may run loaders
SQL_OK = PassiveFlag("SQL_OK", 2)  # loaders may emit SQL
RELATED_OBJECT_OK = PassiveFlag("RELATED_OBJECT_OK", 4)
INIT_OK = PassiveFlag("INIT_OK", 8)
NON_PERSISTENT_OK = PassiveFlag("NON_PERSISTENT_OK", 16)
# the documented combinations
PASSIVE_OFF = PassiveFlag("PASSIVE_OFF", 31)  # load whatever is needed
PASSIVE_RETURN_NO_VALUE = PassiveFlag("PASSIVE_RETURN_NO_VALUE", 31 ^ 8)
PASSIVE_NO_INITIALIZE = PassiveFlag("PASSIVE_NO_INITIALIZE", 31 ^ 8 ^ 1)  # load nothing
PASSIVE_NO_FETCH = PassiveFlag("PASSIVE_NO_FETCH", 31 ^ 2)  # no SQL
PASSIVE_NO_FETCH_RELATED = PassiveFlag("PASSIVE_NO_FETCH_RELATED", 31 ^ 4)
PASSIVE_ONLY_PERSISTENT = PassiveFlag("PASSIVE_ONLY_PERSISTENT", 31 ^ 16)
# history against the committed state, loading nothing (alone it has no load bits)
LOAD_AGAINST_COMMITTED = PassiveFlag("LOAD_AGAINST_COMMITTED", 32)
for _flag in (NO_CHANGE, CALLABLES_OK, SQL_OK, RELATED_OBJECT_OK, INIT_OK, NON_PERSISTENT_OK,
              LOAD_AGAINST_COMMITTED, PASSIVE_OFF, PASSIVE_RETURN_NO_VALUE,
              PASSIVE_NO_INITIALIZE, PASSIVE_NO_FETCH, PASSIVE_NO_FETCH_RELATED,
              PASSIVE_ONLY_PERSISTENT):
    setattr(PassiveFlag, _flag.name, _flag)
del _flag
NEVER_SET = NO_VALUE


def _loads(passive: Any) -> bool:
    """Does ``passive`` allow loading an unloaded value (running a loader and SQL)?

    ``True``/``False`` are accepted as "don't load"/"load" (the older spelling).
    """
    if passive is True or passive is False or passive is None:
        return not passive
    try:
        bits = int(passive)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"Can't use passive={passive!r}: pass one of the PASSIVE_* flags of "
            "datamapper.attributes, or True/False"
        ) from None
    return bool(bits & CALLABLES_OK) and bool(bits & SQL_OK)


class History(NamedTuple):
    """Changes to one attribute since it was loaded: added, unchanged and deleted values."""

    added: Any
    unchanged: Any
    deleted: Any

    def __bool__(self) -> bool:
        return not self.empty()

    def empty(self) -> bool:
        return not self.added and not self.deleted and not self.unchanged

    def has_changes(self) -> bool:
        return bool(self.added or self.deleted)

    def sum(self) -> list[Any]:
        return list(self.added or ()) + list(self.unchanged or ()) + list(self.deleted or ())

    def non_added(self) -> list[Any]:
        return list(self.unchanged or ()) + list(self.deleted or ())

    def non_deleted(self) -> list[Any]:
        return list(self.added or ()) + list(self.unchanged or ())


HISTORY_BLANK = History((), (), ())


def values_equal(a: Any, b: Any) -> bool:
    """``a == b`` that treats SQL expressions and odd ``__eq__`` results as 'different'."""
    if a is b:
        return True
    try:
        r = a == b
    except Exception:
        return False
    return r is True


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
                 "plain", "direct")

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

    def get_missing(self, obj: Any) -> Any:
        """The value of an attribute that is not in ``obj.__dict__``."""
        d = obj.__dict__
        state = d.get(STATE_ATTR)
        if state is None:
            return None
        key = self.key
        if state._key is None:
            if key in state.expired_attributes and state.session_id is not None:
                load_missing(state, key)  # a pending object's expired value: by its key
                return d.get(key)
            return None
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

    def set(self, obj: Any, value: Any) -> None:
        direct = self.direct
        if direct is NO_VALUE:
            direct = self.direct = _direct_class(self.mapper.class_, self.key)
        if obj.__class__ is direct and self.plain and self.attr.dispatch is None \
                and self._set_inline(obj, value):
            return
        d = obj.__dict__
        state = d.get(STATE_ATTR)
        if state is None:
            state = instance_state(obj)
        key = self.key
        if not self.plain:
            value = self.validator(obj, key, value)  # type: ignore[misc]
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

    def _set_inline(self, obj: Any, value: Any) -> bool:
        """``set()`` of a changed value held in the object's inline attribute storage,
        read and written without materializing the object's ``__dict__`` (which would
        leave one more object per changed row for the cycle collector to scan, and
        make a loop changing many loaded objects pay a full collection).  False,
        having changed nothing, where ``set()`` must look at the ``__dict__``: no
        state yet, a value that may be missing (expired, deferred, None), a new
        attribute of a persistent object."""
        try:
            state = _get_attribute(obj, STATE_ATTR)
        except AttributeError:
            return False
        if state.__class__ is not InstanceState:
            return False
        key = self.key
        if state._key is None and state._extra is None:
            # transient or pending: the INSERT writes whatever is there
            _set_attribute(obj, key, value)
            state.modified = True
            return True
        cs = state._committed
        if cs is None or key not in cs:
            mapper = self.mapper
            if key in state.expired_attributes or key in mapper._deferred_keys \
                    or key in mapper._expression_keys:
                return False  # no value, or one to load first: set() knows what to do
            # the loaded value (the descriptor is not reached while the instance holds
            # one; without one, it answers None, and set() looks at the __dict__)
            old = _get_attribute(obj, key)
            if old is None:
                return False
            if cs is None:
                cs = state._committed = {}
            cs[key] = old
        if not state.modified:
            state.modified_event(obj)  # first: it may refuse (autobegin in a closed block)
        _set_attribute(obj, key, value)
        if state.expired_attributes and key in state.expired_attributes:
            state.loaded((key,))
        return True

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

    __slots__ = ("key", "prop", "attr")

    def __init__(self, key: str, prop: Any, attr: QueryableAttribute) -> None:
        self.key = key
        self.prop = prop
        self.attr = attr

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
        if value is None:
            cache.pop(self.key, None)
            return
        cache[self.key] = (values, value)
        add = getattr(value, "_add_parent", None)
        if add is not None:
            add(obj, self.key)

    def set(self, obj: Any, value: Any) -> None:
        values = self.prop.values_of(value)  # checked before any column changes
        if self.prop.active_history:
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


def _data_descriptor(value: Any) -> bool:
    """A ``property``-like class attribute (getter and setter), not a mapped one."""
    t = type(value)
    return (hasattr(t, "__get__") and hasattr(t, "__set__")
            and not isinstance(value, QueryableAttribute))


def load_missing(state: InstanceState, key: str) -> None:
    """Load an unloaded attribute of a persistent object through its session."""
    sess = _sessions.get(state.session_id) if state.session_id is not None else None
    if sess is None:
        raise detached_error(state, key)
    sess._load_attributes(state, key)


# -- instrumentation ---------------------------------------------------------
def _prime_shared_keys(cls: Any, keys: list[str]) -> None:
    """Put every attribute name into the class's shared instance-key table.

    CPython keeps the attributes of instances of an ordinary class in compact
    inline storage with one key table per class, instead of a ``__dict__`` per
    instance, for as long as every name an instance stores is in that table.
    New names can be added to the table only until the interpreter specializes
    attribute access on the class (after a few dozen accesses); a name added
    later (say ``id``, first stored when a flush returns generated keys) makes
    every later instance that stores it fall back to a full dictionary: a
    loaded row then costs a dict more memory and one more object for the cycle
    collector to scan.  Storing every mapped name once on a throwaway instance,
    in the loader's order, before any real instance exists, avoids that.
    """
    mro = cls.__mro__
    if any(not (k.__flags__ & _HEAPTYPE) for k in mro[:-1]):
        return  # a C base class decides storage itself
    if any("__del__" in k.__dict__ for k in mro[:-1]):
        return  # the throwaway instance must not run user code
    names: list[str] = []
    for name in dict.fromkeys(keys):
        for klass in mro:
            if name in klass.__dict__:
                kind = type(klass.__dict__[name])
                if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                    break  # a data descriptor (property, slot) owns this name
                names.append(name)
                break
        else:
            names.append(name)
    try:
        proto = object.__new__(cls)
        for name in names:
            object.__setattr__(proto, name, None)
    except (TypeError, AttributeError):
        return


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE
_get_attribute = object.__getattribute__
_set_attribute = object.__setattr__


def _direct_class(cls: type, key: str) -> type | None:
    """``cls`` when ``object.__getattribute__``/``object.__setattr__`` on its
    instances read and store exactly what ``obj.__dict__[key]`` (and the state's
    key) would: only Python classes in its MRO, and no data descriptor (property,
    slot) for those names.  None otherwise (``set()`` then goes by ``__dict__``)."""
    mro = cls.__mro__
    if any(not (k.__flags__ & _HEAPTYPE) for k in mro[:-1]):
        return None
    for name in (key, STATE_ATTR):
        for klass in mro:
            if name in klass.__dict__:
                kind = type(klass.__dict__[name])
                if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                    return None
                break
    return cls


def _copy_mapped(self: Any) -> Any:
    """``copy.copy()`` of a mapped object (installed as ``__copy__``).

    A shallow copy through the object's own pickling hooks (``__reduce_ex__``,
    ``__getstate__``, ``__setstate__``), except that the copy gets its own
    state -- detached (same identity key), or transient when the original had
    no identity -- and its own instrumented collections holding the same
    members.  Sharing the original's state would make the copy's changes
    history of the original.
    """
    rv = self.__reduce_ex__(4)
    if isinstance(rv, str):
        return self
    func, args, state, listitems, dictitems = (tuple(rv) + (None,) * 5)[:5]
    y = func(*args)
    if state is not None:
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        if isinstance(state, dict):
            state = _unshared(self, y, state)
        setstate = getattr(y, "__setstate__", None)
        if setstate is not None:
            setstate(state if slots is None else (state, slots))
        else:
            if state:
                y.__dict__.update(state)
            for name, value in (slots or {}).items():
                setattr(y, name, value)
    if listitems is not None:
        for item in listitems:
            y.append(item)
    if dictitems is not None:
        for k, v in dictitems:
            y[k] = v
    return y


def _unshared(original: Any, copy: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (the original's attribute dict) with its state and collections
    replaced by ones that belong to ``copy``."""
    out = dict(values)
    old = out.get(STATE_ATTR)
    if not isinstance(old, InstanceState) or old.obj() is not original:
        return out
    new = _restore_state(copy, old.portable_facts())
    out[STATE_ATTR] = new
    for k, v in out.items():
        if _is_collection(v) and v._dm_state is old:
            out[k] = new_collection(type(v).__bases__[1], new, v._dm_impl, v)
    return out


def instrument(mapper: Mapper) -> None:
    """Install descriptors and the write hooks on ``mapper.class_``."""
    cls = mapper.class_
    impls = _install_attributes(mapper)
    if "_dm_instrumented" in cls.__dict__:
        return
    _prime_shared_keys(cls, [p.key for p in getattr(mapper, "_load_props", ())]
                       + [STATE_ATTR] + list(mapper._props))
    saved = {n: cls.__dict__[n] for n in ("__setattr__", "__delattr__", "__init__")
             if n in cls.__dict__}
    mapper._dm_saved = saved
    klass: Any = cls
    __setattr__, __delattr__ = _write_hooks(klass, impls.get)
    original_init = klass.__init__
    # a subclass of a mapped class (mapper inheritance) wraps what its base wrapped
    original_init = getattr(original_init, "_dm_original", original_init)
    __init__ = _constructor(mapper, klass, impls, original_init)
    poly = mapper._poly
    if poly is not None and poly.on_key is not None and mapper.polymorphic_identity is not None:
        __init__ = _discriminating_init(__init__, poly.on_key, mapper.polymorphic_identity)
    __init__.__doc__ = original_init.__doc__
    __init__._dm_original = original_init  # type: ignore[attr-defined]
    if original_init is not _default_constructor:
        # introspection (help(), inspect.signature(), IDEs, dataclass-aware tools) sees
        # the class's own parameters, not the wrapper's *args/**kwargs
        __init__.__wrapped__ = original_init  # type: ignore[attr-defined]
        try:
            __init__.__signature__ = inspect.signature(original_init)  # type: ignore[attr-defined]
        except (TypeError, ValueError):  # a builtin's __init__ may have none
            pass
    cls.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
    cls.__delattr__ = __delattr__  # type: ignore[method-assign,assignment]
    cls.__init__ = __init__  # type: ignore[misc]
    if getattr(cls, "__copy__", None) is None:
        cls.__copy__ = _copy_mapped  # type: ignore[attr-defined]
    cls._dm_instrumented = True  # type: ignore[attr-defined]


def _install_attributes(mapper: Mapper) -> dict[str, Any]:
    """Put a class attribute (with its implementation) on ``mapper.class_`` for each
    property not instrumented yet; the mapper's ``{key: impl}``."""
    cls = mapper.class_
    impls: dict[str, Any] = getattr(mapper, "_impls", {})
    mapper._impls = impls
    for key, prop in mapper._props.items():
        if key in impls:
            continue
        existing = cls.__dict__.get(key)
        attr: InstrumentedAttribute[Any] = (
            RelationshipAttribute(cls, key, prop, mapper) if prop.is_relationship
            else InstrumentedAttribute(cls, key, prop, mapper))
        if prop.is_synonym:
            desc = prop.descriptor
            if desc is None and existing is not None and _data_descriptor(existing):
                desc = existing
            impl: Any = SynonymImpl(key, prop.name, attr, desc)
        elif getattr(prop, "is_composite", False):
            impl = CompositeImpl(key, prop, attr)
        elif prop.is_relationship:
            from .relationships import make_relationship_impl

            impl = make_relationship_impl(mapper, key, attr, prop)
        else:
            impl = ScalarImpl(mapper, key, attr)
        attr.impl = impl
        impls[key] = impl
        if existing is not None and not isinstance(existing, QueryableAttribute):
            mapper.__dict__.setdefault("_dm_replaced", {})[key] = existing
        setattr(cls, key, attr)
    return impls


def _write_hooks(klass: Any, get_impl: Callable[[str], Any]
                 ) -> tuple[Callable[[Any, str, Any], None], Callable[[Any, str], None]]:
    """``__setattr__`` and ``__delattr__`` for an instrumented class: a mapped
    attribute's write goes through its impl, any other to the base class's."""
    parent_setattr = super(klass, klass).__setattr__
    parent_delattr = super(klass, klass).__delattr__

    def __setattr__(self: Any, key: str, value: Any) -> None:  # noqa: N807
        impl = get_impl(key)
        if impl is None:
            parent_setattr(self, key, value)
        else:
            impl.set(self, value)

    def __delattr__(self: Any, key: str) -> None:  # noqa: N807
        impl = get_impl(key)
        if impl is None:
            parent_delattr(self, key)
        else:
            impl.delete(self)

    return __setattr__, __delattr__


def _constructor(mapper: Mapper, klass: Any, impls: dict[str, Any],
                 original_init: Callable[..., None]) -> Callable[..., None]:
    """The ``__init__`` of an instrumented class: the class's own, run after the
    ``init`` event; for the registry's keyword constructor, a fast path that stores
    plain column values straight into ``__dict__``."""
    dispatch = mapper.dispatch

    def _slow_init(self: Any, *args: Any, **kwargs: Any) -> None:
        if not mapper.configured:
            configure_mappers()  # backrefs must exist before the first attribute is set
        if "init" in dispatch.active or "init_failure" in dispatch.active:
            instance_state(self)
            dispatch.fire("init", self, args, kwargs)
            try:
                original_init(self, *args, **kwargs)
            except BaseException:
                if "init_failure" in dispatch:
                    dispatch.fire("init_failure", self, args, kwargs)
                raise
            return
        original_init(self, *args, **kwargs)

    if original_init is not _default_constructor:
        return _slow_init
    return _keyword_constructor(mapper, klass, impls, _slow_init)


def _keyword_constructor(mapper: Mapper, klass: Any, impls: dict[str, Any],
                         slow_init: Callable[..., None]) -> Callable[..., None]:
    """The registry's keyword constructor: plain column values go straight into
    ``__dict__`` (what ScalarImpl.set does for a new object), the rest through impls;
    ``slow_init`` when there are positional arguments or ``init`` listeners."""
    dispatch = mapper.dispatch
    get_impl = impls.get

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        if not mapper.configured:
            configure_mappers()
        if args or "init" in dispatch.active or "init_failure" in dispatch.active:
            slow_init(self, *args, **kwargs)
            return
        if not kwargs:
            return
        d = self.__dict__
        plain = plain_keys[0]
        if plain_keys[1] != attribute_dispatches[0]:
            plain = _plain_column_keys(impls)
            plain_keys[:] = (plain, attribute_dispatches[0])
        if plain.issuperset(kwargs) and STATE_ATTR not in d:
            # only plain column values (the usual constructor call): one dict update
            # in C instead of a Python loop over the arguments.  The object gets no
            # state yet: instance_state() makes it on first need (add() does), one
            # allocation less while a program builds many objects, each of which
            # the cycle collector would count and scan again and again
            d.update(kwargs)
            return
        if STATE_ATTR not in d:
            # (a subclass's own __init__ may call this one through super())
            d[STATE_ATTR] = new_state(self, mapper if self.__class__ is klass
                                      else self.__class__.__dict__.get("_dm_mapper", mapper))
        if plain.issuperset(kwargs):
            d.update(kwargs)
        else:
            for key, value in kwargs.items():
                impl = get_impl(key)
                if impl is None:
                    _default_constructor(self, **{key: value})  # raises the TypeError
                elif key in plain:
                    d[key] = value
                else:
                    impl.set(self, value)
        d[STATE_ATTR].modified = True

    # [keys the constructor may store straight into __dict__, the number of attribute
    # listener registries when they were computed]: recomputed when that changes
    plain_keys: list[Any] = [frozenset(), -1]
    attribute_dispatches = ATTRIBUTE_DISPATCHES
    return __init__


def _plain_column_keys(impls: dict[str, Any]) -> frozenset[str]:
    """The attributes whose new value the constructor may put straight into a new
    object's ``__dict__`` (what ``ScalarImpl.set`` does for it): column attributes
    without a validator or a listener."""
    return frozenset(k for k, impl in impls.items() if impl.__class__ is ScalarImpl
                     and impl.plain and impl.attr.dispatch is None)


def _discriminating_init(init: Callable[..., None], key: str, identity: Any
                         ) -> Callable[..., None]:
    """Mapper inheritance: a new object of a class with a ``polymorphic_identity``
    holds it in its discriminator attribute from the start (its ``__init__`` may
    still set another value)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        instance_state(self).mapper  # noqa: B018 - the state of the object's own class
        self.__dict__[key] = identity
        init(self, *args, **kwargs)

    return __init__


def uninstrument(mapper: Mapper) -> None:
    cls = mapper.class_
    for key in list(getattr(mapper, "_impls", {})):
        if isinstance(cls.__dict__.get(key), QueryableAttribute):
            delattr(cls, key)
    for key, value in mapper.__dict__.get("_dm_replaced", {}).items():
        setattr(cls, key, value)
    for n in ("__setattr__", "__delattr__", "__init__", "_dm_instrumented"):
        if n in cls.__dict__:
            delattr(cls, n)
    if cls.__dict__.get("__copy__") is _copy_mapped:
        delattr(cls, "__copy__")
    for n, v in getattr(mapper, "_dm_saved", {}).items():
        setattr(cls, n, v)


# -- public helpers -----------------------------------------------------------
def _impl(obj: Any, key: str) -> Any:
    state = instance_state(obj)
    impl = getattr(state.mapper, "_impls", {}).get(key)
    if impl is None:
        raise InvalidRequestError(
            f"{type(obj).__name__} has no mapped attribute {key!r}; mapped attributes are "
            f"{', '.join(sorted(state.mapper._props))}"
        )
    return impl


def get_state_history(state: InstanceState, key: str, passive: bool = True) -> History:
    impl = getattr(state.mapper, "_impls", {}).get(key)
    if impl is None:
        raise InvalidRequestError(
            f"{state.mapper.class_.__name__} has no mapped attribute {key!r}"
        )
    return impl.history(state, passive)  # type: ignore[no-any-return]


def get_history(obj: Any, key: str, passive: Any = PASSIVE_OFF) -> History:
    """The :class:`History` of attribute ``key`` of ``obj``.

    With the default ``PASSIVE_OFF`` an unloaded attribute of a persistent
    object is loaded first.  ``PASSIVE_NO_INITIALIZE`` (or ``PASSIVE_NO_FETCH``,
    or any flag without ``CALLABLES_OK`` and ``SQL_OK``) loads nothing and
    reports an unloaded attribute as empty (``HISTORY_BLANK``).  ``True`` and
    ``False`` still mean "don't load" and "load".
    """
    return get_state_history(instance_state(obj), key, not _loads(passive))


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
