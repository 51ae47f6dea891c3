"""Per-object bookkeeping: :class:`InstanceState` and the session registry.

One InstanceState lives in each mapped object's ``__dict__`` under
``_dm_state``.  It records facts (identity key, owning session id, original
values of changed attributes, expired attribute names, whether a flush
deleted the row) and *computes* the lifecycle from them.  This module is
plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

import builtins
import gc
import operator
import warnings
import weakref
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import TYPE_CHECKING, Any

from .._util import NO_VALUE, accel, describe, resume_gc
from .._util.inspection import InspectionAttr
from ..exc import (
    DetachedInstanceError,
    ObjectDereferencedError,
    SAWarning,
    UnmappedClassError,
    UnmappedInstanceError,
)

if TYPE_CHECKING:
    from .seam import SessionLike

STATE_ATTR = "_dm_state"
# key in InstanceState._extra: id of the session enable_relationship_loading() named
LOAD_SESSION = "relationship_loading_session"
# key in InstanceState._extra of a new object: names of the delete-orphan relationships
# it left while its parent was outside its session; the flush expunges it
ORPHANED = "orphaned_from"
# key in InstanceState._extra of an object marked for deletion: True when a delete
# cascade (from a deleted parent, or an orphan's) marked it, not delete() itself; such
# an object that a surviving parent takes in before the flush is kept, an object given
# to delete() is deleted regardless
CASCADE_DELETED = "deleted_by_cascade"

# session id -> live Session, weakly; each Session enters itself when created.  Objects
# know their session by id only; why, and what they may call on it: instance/seam.py
_sessions: weakref.WeakValueDictionary[int, SessionLike] = weakref.WeakValueDictionary()
# its underlying {id: weak reference} dict, read directly by the hot weak-reference
# callback below (WeakValueDictionary.get is Python code)
_session_refs: dict[int, Any] = getattr(_sessions, "data", {})
# ids of the sessions whose flush is running its statements (mapper events fire);
# changes made to their objects then are warned about (see warn_flush_usage)
FLUSH_EXECUTING: set[int] = set()


def warn_flush_usage(operation: str) -> None:
    """Warn that ``operation`` ran on a session's objects while its flush executes."""
    warnings.warn(
        f"Usage of the '{operation}' operation while the flush is executing (in a mapper "
        "event such as after_insert) is not supported: the flush has already decided what "
        "to write, so the change may be lost or written inconsistently; make it in "
        "before_flush, or send SQL through the connection the event receives",
        SAWarning, stacklevel=4)


class _LazyKey:
    __slots__ = ()

    def __repr__(self) -> str:
        return "LAZY_KEY"


LAZY_KEY: Any = _LazyKey()
_get_key = operator.attrgetter("_key")


def all_lazy_keys(states: Iterable[InstanceState]) -> bool:
    """Whether every state of ``states`` holds its identity as ``LAZY_KEY`` (a
    one-column key kept as its value), tested in C: flushes ask it of every
    UPDATEd and DELETEd state."""
    return not any(map(operator.is_not, map(_get_key, states), repeat(LAZY_KEY)))


def _state_gone(state: InstanceState) -> None:
    """Weak-reference callback: ``state``'s object was garbage collected.

    A clean object is held by its session's identity map only weakly; when it
    dies its entry goes, unless the entry now belongs to another state.
    """
    sid = state.session_id
    if sid is None:
        return
    ref = _session_refs.get(sid)
    sess = ref() if ref is not None else None
    if sess is None:
        return
    if state._key is LAZY_KEY:  # the common case, inlined
        inner = sess._identity_map._maps.get((state.mapper._identity_class, None))
        ident = state._ident
        if inner is not None and inner.get(ident) is state:
            del inner[ident]
    else:
        sess._identity_map.discard_entry(state)


_ref_new = weakref.ref.__new__


# key in InstanceState._extra: {attribute: value it had when last expired, or NO_VALUE}
# for the attributes a relationship comparison (``Address.user == obj``) will read when its
# statement runs; lets a statement built before a flush use the key after an expire + expunge
LAST_KNOWN = "last_known_values"
# the key of InstanceState._extra under which instance/relationships.py queues
# backref changes to unloaded collections (relationships.PENDING)
_PENDING_COLLECTIONS = "pending_colls"
# the key of InstanceState._extra: {column attribute: refuse to load it} set by the query
# that loaded the object (defer(..., raiseload=True), load_only(..., raiseload=True), and
# False for a plain defer() of a raiseload=True column); expiring an attribute drops it
COLUMN_RAISE = "dm_col_raise"
# the key of InstanceState._extra: {composite attribute: (its column values, the composite
# object built from them)}: a read returns the same object while the columns keep those
# values (instance/attributes.py CompositeImpl); expiring drops it
COMPOSITES = "dm_composites"


class InstanceState(weakref.ref[Any], InspectionAttr):
    """What the ORM knows about one mapped object.

    The state *is* the weak reference to its object (``state.obj()`` or
    ``state()`` returns the object, None once it was garbage collected): one
    allocation less per object than a state holding a separate reference, which
    counts when a query loads a hundred thousand rows.
    """

    # No __weakref__ slot: nothing refers to states weakly, and every slot is 8 bytes
    # on each of possibly millions of loaded objects.
    is_instance = True

    __slots__ = (
        "mapper", "_key", "_ident", "session_id", "_committed", "expired_attributes",
        "modified", "_strong", "_deleted", "insert_order", "_extra",
    )

    # weakref.ref compares and hashes by referent; states are identities
    __hash__ = object.__hash__
    __eq__ = object.__eq__
    __ne__ = object.__ne__

    obj = weakref.ref.__call__

    def __new__(cls, obj: Any, mapper: Any) -> InstanceState:
        return _ref_new(cls, obj, _state_gone)

    # Every slot is set by code generated from ``FRESH_FIELDS`` (below the class):
    # ``__init__``, :func:`new_state`, :func:`loaded_state` and the generated row loops
    # of ``loading/rows.py``; tests/instance/test_state_fields.py checks each path.
    mapper: Any
    _key: Any  # the identity key, LAZY_KEY (built from _ident on first use), or None
    _ident: Any  # with _key LAZY_KEY: the one-column key value
    session_id: int | None
    # original values of attributes changed since load/flush; NO_VALUE = unknown.
    # Created on first use (see ``committed_state``): most loaded objects never change.
    _committed: dict[str, Any] | None
    # names of attributes to load on next access; a shared frozenset when all expired
    expired_attributes: Any
    modified: bool
    _strong: Any  # the object itself while the state must keep it alive, else None
    _deleted: bool
    insert_order: int
    _extra: dict[str, Any] | None  # rarely used facts (see _PENDING_COLLECTIONS, ...)

    def __init__(self, obj: Any, mapper: Any) -> None:
        _init_fresh(self, mapper)

    @property
    def key(self) -> tuple[Any, ...] | None:
        """The identity key ``(class, primary key tuple, identity token)``; None if pending.

        States loaded or inserted with a one-column key and no token keep just the
        key value (``_ident``) and build the tuple on first use: most never need it,
        and the two tuples are a sixth of a loaded object's memory.
        """
        k = self._key
        if k is LAZY_KEY:
            k = self._key = (self.mapper._identity_class, (self._ident,), None)
        return k  # type: ignore[no-any-return]  # _key is typed Any (it may hold the LAZY_KEY sentinel); past the check it is the key tuple or None

    @key.setter
    def key(self, value: tuple[Any, ...] | None) -> None:
        self._key = value
        self._ident = None

    def map_key(self) -> tuple[Any, Any] | None:
        """(outer, inner) keys of the identity map's two-level dict (see identity.py)."""
        k = self._key
        if k is LAZY_KEY:
            return (self.mapper._identity_class, None), self._ident
        if k is None:
            return None
        ident = k[1]
        return (k[0], k[2]), (ident[0] if len(ident) == 1 else ident)

    @property
    def committed_state(self) -> dict[str, Any]:
        """Original values of the attributes changed since load or flush (NO_VALUE: unknown)."""
        cs = self._committed
        if cs is None:
            cs = self._committed = {}
        return cs

    @committed_state.setter
    def committed_state(self, value: dict[str, Any]) -> None:
        self._committed = value

    # -- lifecycle, computed -------------------------------------------------
    @property
    def transient(self) -> bool:
        return self._key is None and self.session_id is None

    @property
    def pending(self) -> bool:
        return self._key is None and self.session_id is not None

    @property
    def persistent(self) -> bool:
        return self._key is not None and self.session_id is not None and not self._deleted

    @property
    def deleted(self) -> bool:
        return self._key is not None and self.session_id is not None and self._deleted

    @property
    def detached(self) -> bool:
        return self._key is not None and self.session_id is None

    @property
    def was_deleted(self) -> bool:
        return self._deleted

    @property
    def has_identity(self) -> bool:
        return self._key is not None

    @property
    def identity_key(self) -> tuple[Any, ...] | None:
        return self.key

    @property
    def identity(self) -> tuple[Any, ...] | None:
        k = self._key
        if k is None:
            return None
        if k is LAZY_KEY:
            return (self._ident,)
        return k[1]  # type: ignore[no-any-return]  # _key is typed Any (it may hold the LAZY_KEY sentinel); here it is the key tuple

    @property
    def identity_token(self) -> Any:
        k = self._key
        return None if k is None or k is LAZY_KEY else k[2]

    @property
    def object(self) -> Any:
        return self.obj()

    @property
    def dict(self) -> dict[str, Any]:
        o = self.obj()
        return o.__dict__ if o is not None else {}

    @property
    def class_(self) -> type:
        return self.mapper.class_  # type: ignore[no-any-return]  # InstanceState.mapper is typed Any; a Mapper's class_ is a type

    @property
    def session(self) -> Any:
        if self.session_id is None:
            return None
        return _sessions.get(self.session_id)

    @property
    def async_session(self) -> Any:
        return None

    @property
    def info(self) -> Any:
        return self.extra().setdefault("info", {})

    def extra(self) -> Any:
        """The dict of rarely used per-object facts, made on first use.

        A new object without it keeps no history (the INSERT writes what is
        there); one with it records changes like a persistent object does.  So
        a new object that gets it records what it holds so far as added.
        """
        if self._extra is None:
            if self._key is None:
                self._track_history()
            self._extra = {}
        return self._extra

    def _track_history(self) -> None:
        obj = self.obj()
        if obj is None:
            return
        props = self.mapper._props
        held = [k for k in obj.__dict__ if k in props]
        if held:
            cs = self.committed_state
            for k in held:
                cs.setdefault(k, NO_VALUE)

    @property
    def expired(self) -> bool:
        return bool(self.expired_attributes)

    @property
    def unloaded(self) -> set[str]:
        """Mapped attributes with no value in the object's ``__dict__``."""
        d = self.dict
        return {k for k in self.mapper._expire_keys if k not in d}

    @property
    def unmodified(self) -> set[str]:
        return set(self.mapper._expire_keys) - set(self._committed or ())

    def unmodified_intersection(self, keys: Iterable[str]) -> set[str]:
        cs = self._committed or {}
        return {k for k in keys if k not in cs}

    @property
    def attrs(self) -> _AttrsView:
        return _AttrsView(self)

    @property
    def mapper_(self) -> Any:
        return self.mapper

    # -- transitions (called by the session and loading layers) --------------
    def strong_obj(self) -> Any:
        o = self.obj()
        if o is None:
            raise ObjectDereferencedError(
                f"Can't use the {self.mapper.class_.__name__} with key {self.key}: it has been "
                "garbage collected; keep a reference to objects you work with"
            )
        return o

    def modified_event(self, obj: Any) -> None:
        """Note that ``obj`` now has unflushed changes; its session holds it strongly."""
        if not self.modified:
            if self.session_id is None or self._deleted:
                # detached, or its row was deleted by a flush: nothing to write
                self.modified = True
                return
            ref = _session_refs.get(self.session_id)
            sess = ref() if ref is not None else None
            if sess is not None and sess._transaction is None and not sess.autocommit:
                # the first change begins the transaction whose rollback() undoes it
                # (raises, changing nothing, where the session refuses work)
                sess._autobegin()
            self.modified = True
            self._strong = obj
            if sess is not None:
                sess._identity_map._modified.add(self)

    def expire(self, keys: Iterable[str] | None = None) -> None:
        """Forget loaded values of ``keys`` (all mapped attributes when None)."""
        obj = self.obj()
        if obj is None:
            if self.modified:  # nothing left to write: never hand it to a flush
                self.modified = False
                self._drop_modified()
            return
        d = obj.__dict__
        mapper = self.mapper
        if keys is None:
            ext = self._extra
            if ext is not None and LAST_KNOWN in ext:
                _remember_last_known(ext[LAST_KNOWN], d)
            pop = d.pop
            for k in mapper._expire_keys:
                pop(k, None)
            self.expired_attributes = mapper._expire_keys
            self._committed = None
            if ext is not None and _PENDING_COLLECTIONS in ext:
                # backref changes queued for unloaded collections go too: the next
                # load reads the rows as they are now
                del ext[_PENDING_COLLECTIONS]
            if ext is not None:
                ext.pop(COLUMN_RAISE, None)  # the loading query's column options end here
                ext.pop(COMPOSITES, None)
            if self.modified:
                self.modified = False
                self._drop_modified()
            if "expire" in mapper.dispatch.active:
                mapper.dispatch.fire("expire", obj, None)
            return
        keys = set(keys)
        ext = self._extra
        if ext is not None and LAST_KNOWN in ext:
            _remember_last_known(ext[LAST_KNOWN], d)
        pend = ext.get(_PENDING_COLLECTIONS) if ext is not None else None
        marks = ext.get(COLUMN_RAISE) if ext is not None else None
        if ext is not None:
            ext.pop(COMPOSITES, None)
        if marks:
            for k in keys:
                marks.pop(k, None)
        for k in keys:
            d.pop(k, None)
            self.committed_state.pop(k, None)
            if pend:
                pend.pop(k, None)
        exp = set(self.expired_attributes)
        exp.update(keys & mapper._expire_keys)
        self.expired_attributes = exp
        if self.modified and not self.committed_state:
            self.modified = False
            self._drop_modified()
        if "expire" in mapper.dispatch:
            mapper.dispatch.fire("expire", obj, keys)

    def track_last_known(self, key: str) -> None:
        """Remember the value ``key`` has each time the object is expired (see LAST_KNOWN)."""
        self.extra().setdefault(LAST_KNOWN, {}).setdefault(key, NO_VALUE)

    def last_known(self, key: str) -> Any:
        """The value ``key`` had when the object was last expired; NO_VALUE if unknown."""
        ext = self._extra
        lk = ext.get(LAST_KNOWN) if ext is not None else None
        return NO_VALUE if lk is None else lk.get(key, NO_VALUE)

    def reset_relationships(self, d: builtins.dict[str, Any], keys: Iterable[str]) -> None:
        """``populate_existing``: the database wins for relationships too. Their loaded
        values go with their unflushed changes (and the backref changes queued for the
        ones not loaded); they load again on access, not marked expired (the row's
        columns stay loaded). Leaves ``modified`` to the caller."""
        cs = self._committed
        for k in keys:
            if k in d:
                del d[k]
            if cs:
                cs.pop(k, None)
        ext = self._extra
        if ext is not None and _PENDING_COLLECTIONS in ext:
            del ext[_PENDING_COLLECTIONS]

    def _drop_modified(self) -> None:
        if self.session_id is not None:
            sess = _sessions.get(self.session_id)
            if sess is not None:
                sess._identity_map._modified.discard(self)
                if sess._identity_map.weak and self._key is not None:
                    self._strong = None

    def commit_all(self) -> None:
        """The object's current values are now what the database holds."""
        self._committed = None
        self.modified = False

    def loaded(self, keys: Iterable[str]) -> None:
        if self.expired_attributes:
            rest = set(self.expired_attributes).difference(keys)
            self.expired_attributes = rest if rest else _EMPTY

    def __repr__(self) -> str:
        # never the object's own repr: it may read expired attributes (a lazy load
        # while printing obj.__dict__ would refill the very state being shown)
        o = self.obj()
        if o is None:
            return "<InstanceState of a dead object>"
        return f"<InstanceState of {type(o).__name__} object at 0x{id(o):x}>"

    # -- pickling and copying (see _restore_state) ---------------------------------
    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle (and ``copy.deepcopy``) support: the state travels as facts about its
        object, rebuilt by :func:`_restore_state` as a state with no session."""
        obj = self.obj()
        if obj is None:
            raise ObjectDereferencedError(
                f"Can't pickle the state of a {self.mapper.class_.__name__} with key "
                f"{self.key}: its object has been garbage collected"
            )
        return (_restore_state, (obj, self.portable_facts()))

    def portable_facts(self) -> builtins.dict[str, Any]:
        """What survives pickling: identity key, history, expired names, user info.

        The session is left behind (an unpickled or copied object is detached, or
        transient if it had no identity), and so is per-query loading machinery.
        """
        facts: builtins.dict[str, Any] = {"key": self.key}
        if self._committed:
            facts["committed"] = dict(self._committed)
        if self.expired_attributes:
            facts["expired"] = frozenset(self.expired_attributes)
        if self.modified:
            facts["modified"] = True
        if self._deleted:
            facts["deleted"] = True
        if self._extra is not None:
            facts["extra"] = {k: v for k, v in self._extra.items()
                              if k not in _SESSION_BOUND_EXTRA}
        return facts


_EMPTY: frozenset[str] = frozenset()
# _extra entries that name a session: not carried by pickle or copy (and composite
# objects built from the columns: rebuilt on the next read).  The loader plans an
# object was loaded with travel (they pickle their mappers and properties by name)
_SESSION_BOUND_EXTRA = frozenset({LOAD_SESSION, COMPOSITES, CASCADE_DELETED})


def _restore_state(obj: Any, facts: dict[str, Any]) -> InstanceState:
    """The state of an unpickled (or copied) ``obj``: detached, or transient when it
    has no identity key.  Only the mapped class is needed, never a session."""
    mapper = type(obj).__dict__.get("_dm_mapper")
    if mapper is None:
        raise UnmappedInstanceError(
            f"Can't restore the state of a {type(obj).__name__}: the class is not mapped in "
            "this process; import the module that maps it before unpickling"
        )
    state = new_state(obj, mapper)
    key = facts.get("key")
    if key is not None:
        state._key = tuple(key)
    committed = facts.get("committed")
    if committed:
        state._committed = dict(committed)
    expired = facts.get("expired")
    if expired:
        all_keys = mapper._expire_keys
        state.expired_attributes = all_keys if expired == all_keys else set(expired)
    state.modified = bool(facts.get("modified"))
    state._deleted = bool(facts.get("deleted"))
    extra = facts.get("extra")
    if extra is not None:
        state._extra = dict(extra)
    return state


# The value of every InstanceState slot in a fresh transient state, as Python source:
# the one place the fields are initialised.  state_init_source() turns it into the
# statements of __init__, new_state(), loaded_state() and the generated row loops of
# loading/rows.py (which pass their own values for some slots).
FRESH_FIELDS: dict[str, str] = {
    "mapper": "mapper",
    "_key": "None",
    "_ident": "None",
    "session_id": "None",
    "_committed": "None",
    "expired_attributes": "_EMPTY",
    "modified": "False",
    "_strong": "None",
    "_deleted": "False",
    "insert_order": "0",
    "_extra": "None",
}


def fresh_values(mapper: Any) -> dict[str, Any]:
    """``FRESH_FIELDS`` evaluated for ``mapper``: each slot's value in a fresh state
    (what the C row loader of ``_util/_speedups.c`` stores where it is given no other)."""
    namespace = {"mapper": mapper, "_EMPTY": _EMPTY}
    return {name: eval(source, namespace)  # noqa: S307  # the table's own constant source
            for name, source in FRESH_FIELDS.items()}


def state_init_source(target: str, indent: str, **given: str) -> str:
    """Statements setting every slot of the state named ``target``: the ``given``
    source expressions, ``FRESH_FIELDS`` for the others."""
    unknown = set(given) - set(FRESH_FIELDS)
    if unknown:
        raise ValueError(f"not InstanceState slots: {sorted(unknown)}")
    return "".join(f"{indent}{target}.{name} = {given.get(name, value)}\n"
                   for name, value in FRESH_FIELDS.items())


def _generate(name: str, args: str, body: str) -> Any:
    src = f"def {name}({args}):\n{body}"
    namespace: dict[str, Any] = {"_ref_new": _ref_new, "InstanceState": InstanceState,
                                 "_state_gone": _state_gone, "_EMPTY": _EMPTY}
    exec(compile(src, f"<datamapper.instance.state {name}>", "exec"), namespace)
    return namespace[name]


_init_fresh: Callable[[InstanceState, Any], None] = _generate("_init_fresh", "state, mapper",
                             state_init_source("state", "    "))

_py_new_state: Callable[[Any, Any], InstanceState] = _generate(
    "new_state", "obj, mapper",
    "    state = _ref_new(InstanceState, obj, _state_gone)\n"
    + state_init_source("state", "    ") + "    return state\n")
_py_new_state.__doc__ = ("A fresh transient state for ``obj`` (``InstanceState(obj, mapper)`` "
                         "in C calls).")

loaded_state: Callable[..., InstanceState] = _generate(
    "loaded_state", "obj, mapper, key, ident, sid, unloaded, strong",
    "    state = _ref_new(InstanceState, obj, _state_gone)\n"
    + state_init_source("state", "    ", _key="key", _ident="ident", session_id="sid",
                        expired_attributes="unloaded", _strong="strong")
    + "    return state\n")
loaded_state.__doc__ = ("The state of an object just loaded from a row: persistent in "
                        "session ``sid`` with identity ``key`` (LAZY_KEY: ``ident`` is the "
                        "key value), ``unloaded`` attributes expired.")


# from this many states on, expire_states() runs with the cyclic GC paused: the
# pass allocates little but touches every object, and collections triggered
# during it would traverse the whole (large) session again and again
_GC_PAUSE_STATES = 1000


def expire_states(states: Iterable[InstanceState]) -> None:
    """``state.expire()`` of every state, in one loop (commit, rollback, expire_all)."""
    if not isinstance(states, (list, tuple)):
        states = list(states)
    if len(states) < _GC_PAUSE_STATES or not gc.isenabled():
        _expire_states(states)
        return
    gc.disable()
    try:
        _expire_states(states)
    finally:
        # each expired object was given its __dict__ (the pops): those stay, and a
        # young collection right after the pass would scan every one of them
        resume_gc()


def _remember_last_known(last: dict[str, Any], d: dict[str, Any]) -> None:
    for k in last:
        if k in d:
            last[k] = d[k]


def _expire_states(states: Iterable[InstanceState]) -> None:
    if _C_EXPIRE and isinstance(states, (list, tuple)):
        # the common state (unchanged, no _extra facts) in C, the others one by one
        # through _expire_one; the loop below is the reference (tests compare)
        _LAYOUT.expire(states, {}, _expire_facts, _expire_one)
        return
    per_mapper: dict[Any, tuple[Any, bool]] = {}
    last: Any = None
    keys: Any = None
    fire = False
    for state in states:
        obj = state.obj()
        if obj is None:
            continue
        mapper = state.mapper
        if mapper is not last:  # (runs of one mapper: its facts looked up once)
            facts = per_mapper.get(mapper)
            if facts is None:
                facts = per_mapper[mapper] = (mapper._expire_keys,
                                              "expire" in mapper.dispatch.active)
            keys, fire = facts
            last = mapper
        _expire_state(state, obj, mapper, keys, fire)


def _expire_state(state: InstanceState, obj: Any, mapper: Any, keys: Any, fire: bool) -> None:
    """What ``state.expire()`` does to one state of the commit/rollback pass."""
    ext = state._extra
    if ext is not None and LAST_KNOWN in ext:
        _remember_last_known(ext[LAST_KNOWN], obj.__dict__)
    pop = obj.__dict__.pop
    for k in keys:
        pop(k, None)
    state.expired_attributes = keys
    state._committed = None
    if ext is not None:
        if _PENDING_COLLECTIONS in ext:
            del ext[_PENDING_COLLECTIONS]  # (as state.expire())
        ext.pop(COMPOSITES, None)
    if state.modified:
        state.modified = False
        state._drop_modified()
    if fire:
        mapper.dispatch.fire("expire", obj, None)


def _expire_one(state: InstanceState, obj: Any) -> None:
    """The C pass's way out for a state it does not handle itself."""
    mapper = state.mapper
    _expire_state(state, obj, mapper, mapper._expire_keys, "expire" in mapper.dispatch.active)


def _expire_facts(mapper: Any) -> Any:
    """For the C pass: None when a mapper's states all take :func:`_expire_one` (expire
    listeners, or a class whose attributes the generic delete would not reach as
    ``__dict__`` does), else (class, expire keys, the keys as a tuple)."""
    keys = mapper._expire_keys
    cls = mapper.class_
    if "expire" in mapper.dispatch.active or not accel.direct_set_ok(cls, keys):
        return None
    return (cls, keys, tuple(keys))


# The C side of states (``_util/_speedups.c``), None without the accelerator: the
# expire pass above and new_state() below.
_LAYOUT: Any = None if accel.speedups is None else accel.speedups.Layout(
    InstanceState, _state_gone,
    tuple((k, v) for k, v in fresh_values(None).items() if k != "mapper"))
# the C expire pass on (tests flip it to run the Python loop above)
_C_EXPIRE = _LAYOUT is not None

new_state: Callable[[Any, Any], InstanceState] = \
    _py_new_state if _LAYOUT is None else _LAYOUT.new_state
"""A fresh transient state for ``obj`` of ``mapper``: the C ``Layout.new_state`` where
the accelerator is built, else :func:`_py_new_state` (the same slots and values)."""


class AttributeState:
    """``inspect(obj).attrs[name]``: one attribute's value and history."""

    def __init__(self, state: InstanceState, key: str) -> None:
        self.state = state
        self.key = key

    @property
    def value(self) -> Any:
        return getattr(self.state.strong_obj(), self.key)

    @property
    def loaded_value(self) -> Any:
        return self.state.dict.get(self.key, NO_VALUE)

    @property
    def history(self) -> Any:
        from .scalar_impls import get_state_history

        return get_state_history(self.state, self.key)

    def load_history(self) -> Any:
        from .scalar_impls import get_state_history

        return get_state_history(self.state, self.key, passive=False)


class _AttrsView:
    def __init__(self, state: InstanceState) -> None:
        self._state = state

    def __getitem__(self, key: str) -> AttributeState:
        if key not in self._state.mapper._props:
            raise KeyError(key)
        return AttributeState(self._state, key)

    def __getattr__(self, key: str) -> AttributeState:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self) -> Any:
        return (AttributeState(self._state, k) for k in self._state.mapper._props)

    def keys(self) -> list[str]:
        return list(self._state.mapper._props)

    def items(self) -> list[tuple[str, AttributeState]]:
        return [(k, AttributeState(self._state, k)) for k in self._state.mapper._props]

    def __len__(self) -> int:
        return len(self._state.mapper._props)

    def __contains__(self, key: object) -> bool:
        return key in self._state.mapper._props


def instance_state(obj: Any) -> InstanceState:
    """The InstanceState of a mapped object (created on first need)."""
    try:
        # attribute access reads CPython's inline instance storage without
        # materializing a __dict__ (``obj.__dict__[...]`` would build one per object);
        # getattr() with a default raises nothing when there is no state yet
        st = getattr(obj, STATE_ATTR, None)
        if st.__class__ is InstanceState:
            return st
    except Exception:  # a user __getattr__ had its say
        pass
    try:
        d = obj.__dict__
    except AttributeError:
        raise _unmapped_error(obj) from None
    st = d.get(STATE_ATTR)
    if st is not None:
        return st  # type: ignore[no-any-return]  # read back from the untyped instance __dict__, where STATE_ATTR holds only an InstanceState
    mapper = type(obj).__dict__.get("_dm_mapper")
    if mapper is None:
        # an unmapped subclass of a mapped class: its objects keep their attributes
        # (values, history, events) by the mapped base's mapper; a session refuses them
        mapper = base_mapper_of(type(obj))
        if mapper is None:
            raise _unmapped_error(obj)
    state = new_state(obj, mapper)
    if not d.keys().isdisjoint(mapper._props):
        # built by the keyword constructor, which leaves the state to be made here: an
        # object holding mapped values is a changed one, as if set one by one
        state.modified = True
    d[STATE_ATTR] = state
    return state


def base_mapper_of(cls: type) -> Any:
    """The mapper of the nearest mapped class that ``cls`` (not mapped itself) inherits
    from, or None."""
    for klass in cls.__mro__[1:]:
        mapper = klass.__dict__.get("_dm_mapper")
        if mapper is not None and getattr(mapper, "class_", None) is klass:
            return mapper
    return None


def refuse_unmapped_subclass(obj: Any, action: str) -> None:
    """Refuse a session operation (``action``: "add", "merge" ...) on ``obj`` when its
    class is not mapped itself, only inherits from a mapped class (its state goes by
    that class's mapper, see :func:`instance_state`).  Callers check first that the
    object's class is not its state's mapped class, the cheap test."""
    cls = type(obj)
    if "_dm_mapper" in cls.__dict__:
        return
    base = base_mapper_of(cls)
    base_name = base.class_.__name__ if base is not None else "its base class"
    raise UnmappedClassError(
        f"Can't {action} {describe(obj)}: class {cls.__name__} is not mapped (it only "
        f"inherits from the mapped class {base_name}); map {cls.__name__} too (for "
        f"example as an inheriting class of {base_name}), or create a {base_name} instead"
    )


def _unmapped_error(obj: Any) -> UnmappedInstanceError:
    """What to say when ``obj`` is not an instance of a mapped class."""
    if isinstance(obj, type):
        name = obj.__name__
        mapped = "_dm_mapper" in obj.__dict__
        return UnmappedInstanceError(
            f"Can't use the class {name} where an instance is required: pass a {name} "
            f"object, e.g. {name}(...)"
            + ("" if mapped else f" (and map {name} first: it is not a mapped class)")
        )
    if not hasattr(obj, "__dict__"):
        return UnmappedInstanceError(
            f"Can't use {describe(obj)}: it is not an instance of a mapped class"
        )
    return UnmappedInstanceError(
        f"Can't use {describe(obj)}: class {type(obj).__name__} is not mapped; map it with "
        "declarative_base(), registry.map_imperatively() or mapper()"
    )


def state_or_none(obj: Any) -> InstanceState | None:
    try:
        return instance_state(obj)
    except UnmappedInstanceError:
        return None


def detached_error(state: InstanceState, key: str) -> DetachedInstanceError:
    return DetachedInstanceError(
        f"Can't load attribute {key!r} of {describe(state.obj())}: the object is detached "
        "from its Session (its value was expired or never loaded); add it to a Session "
        "with session.add() or merge() before reading it"
    )
