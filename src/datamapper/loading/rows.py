"""Rows -> objects.

Callers: the query layer (results of SELECTs) and the session (``get``,
loading expired attributes, ``refresh``).  An :class:`EntityLoader` knows
where one mapper's columns sit in a row; ``instances`` turns rows into
objects, reusing the object already in the identity map for a key (its
unflushed changes kept) unless ``populate_existing`` asks to overwrite it.
A new object is made without ``__init__``: its ``__dict__`` is filled in
one step and its state is created already keyed and attached.
"""

from __future__ import annotations

import functools
import gc
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, select
from sqlalchemy.sql import Select

from .._core import plain_fetchall
from .._util import accel
from .._util.accel import direct_set_ok
from ..instance.seam import SessionLike
from ..instance.state import (
    LAZY_KEY,
    STATE_ATTR,
    InstanceState,
    _state_gone,
    fresh_values,
    loaded_state,
    state_init_source,
)
from ..mapping.inheritance import polymorphic_load_props
from ..mapping.mapper import Mapper
from ..mapping.properties import ExpressionOverride

# the optional C row loader (_util/accel.py); the Python loops below are the reference
# (tests flip _SPEEDUPS to compare)
_SPEEDUPS = accel.ON

_ref_new = weakref.ref.__new__
# ``_bind_setattr(obj)``: ``object.__setattr__`` bound to ``obj`` (a method-wrapper)
_bind_setattr = object.__setattr__.__get__
_T = TypeVar("_T")
_EMPTY: frozenset[str] = frozenset()


class EntityLoader:
    """Turns a slice of each row into one mapped object."""

    def __init__(self, mapper: Mapper, offset: int = 0, props: Sequence[Any] | None = None,
                 adapt: Any = None, polymorphic: bool = True) -> None:
        self.mapper = mapper
        if props is None:
            props = mapper._load_props if mapper._poly is None else \
                polymorphic_load_props(mapper)
        self.props = tuple(props)
        self.keys = tuple(p.key for p in self.props)
        self.columns = [p.columns[0] for p in self.props]
        if adapt is not None:
            # aliased(): the same columns read from an alias of the table
            self.columns = [adapt(c) for c in self.columns]
        self.offset = offset
        pos = {p.key: i for i, p in enumerate(self.props)}
        missing = [k for k in mapper._pk_keys if k not in pos]
        if missing:
            raise ValueError(f"primary key attributes {missing} not loaded")
        self.pk_positions = tuple(offset + pos[k] for k in mapper._pk_keys)
        self.width = len(self.props)
        # attributes not in this load stay unloaded (expired) on new objects
        self.unloaded = mapper._expire_keys.difference(self.keys) - _relationship_keys(mapper)
        self.deferred = frozenset(self.unloaded & mapper._deferred_keys)
        self.direct_set = _direct_set_ok(mapper.class_, self.keys)
        self.fill = _make_fill(self.keys, offset) if self.direct_set else None
        self.fast_loop: Any = None  # made on first use by _instances
        # {child loader: (row loop, direct store)} of joined eager collections read
        # along with this loader's rows (see loading.strategies.load_joined_collection)
        self.joined_loops: dict[EntityLoader, tuple[Any, bool]] = {}
        # mapper inheritance: rows may stand for objects of subclasses (see
        # loading/polymorphic.py); None for every other mapper
        self.poly: Any = None
        if polymorphic and mapper._poly is not None and mapper._poly.loads_polymorphically:
            from .polymorphic import PolymorphicRows

            self.poly = PolymorphicRows(self, adapt)


_LOADER_CACHE_SIZE = 256  # loaders kept per mapper (distinct offsets / column choices)


def entity_loader(mapper: Mapper, offset: int = 0,
                  props: Sequence[Any] | None = None) -> EntityLoader:
    """The :class:`EntityLoader` of ``mapper`` at ``offset`` (``props``: the columns a
    loader option chose), shared by every statement that selects the same columns.

    Loaders are immutable once built (their row loop is generated on first use), so
    a query need not build one, nor compile its loop, per execution.  The cache
    lives on the mapper and is replaced whenever the mapper recomputes its load
    paths (configuration, ``add_property()``) or is disposed, so a loader never
    outlives the configuration it was made from.
    """
    key = (offset, None if props is None else tuple(props))
    cache = mapper._loader_cache
    loader: EntityLoader | None = cache.get(key)
    if loader is None:
        loader = EntityLoader(mapper, offset, props)
        # (a with_expression() choice is made per query: never shared)
        if len(cache) < _LOADER_CACHE_SIZE and (
                props is None or not any(type(p) is ExpressionOverride for p in props)):
            cache[key] = loader
    return loader


_FAST_LOOPS = True  # generated row loops on (tests switch them off to compare)


def fast_loops_on() -> bool:
    return _FAST_LOOPS


def _new_object_source(loader: EntityLoader, p: str, indent: str, speedups: bool,
                       need_state: bool = False) -> str:
    """Statements making the object of ``loader`` from ``row`` (its key value in
    ``{p}kv``), keyed, attached to session ``sid`` and entered in ``{p}map``: its
    values and state stored straight into the instance, as ``_instances`` does.
    With ``speedups``, one call of the C ``Maker`` (``make_{p}``) does all of it;
    ``need_state``: the new state is wanted in ``state`` afterwards."""
    if speedups:
        lines = [f"{p}obj = make_{p}(row, {p}kv, sid, {p}unloaded, {p}map)"]
        if need_state:
            lines.append(f"state = {p}obj.{STATE_ATTR}")
        return "".join(f"{indent}{line}\n" for line in lines)
    offset = loader.offset
    # ``object.__setattr__`` bound to the new object once: each store then passes two
    # arguments instead of three (one argument tuple less per call, no type check)
    lines = [f"{p}obj = new_{p}({p}cls)", f"set_ = bind_set({p}obj)"]
    lines += [f"set_({k!r}, row[{offset + i}])" for i, k in enumerate(loader.keys)]
    lines.append(f"state = ref_new(State, {p}obj, gone)")
    init = state_init_source("state", "", mapper=f"{p}mapper", _key="LAZY_KEY",
                             _ident=f"{p}kv", session_id="sid",
                             expired_attributes=f"{p}unloaded")
    lines += init.splitlines()
    lines += ["set_(STATE_ATTR, state)", f"{p}map[{p}kv] = state"]
    return "".join(f"{indent}{line}\n" for line in lines)


def _maker(loader: EntityLoader) -> Any:
    """The C ``Maker`` of ``loader``'s new objects: the same stores, slot values and
    identity-map entry as the Python statements of :func:`_new_object_source`."""
    sp: Any = accel.speedups
    per_row = {"_key": (sp.FIELD_CONST, LAZY_KEY), "_ident": (sp.FIELD_IDENT, None),
               "session_id": (sp.FIELD_SID, None),
               "expired_attributes": (sp.FIELD_UNLOADED, None)}
    fields = tuple((name, *per_row.get(name, (sp.FIELD_CONST, value)))
                   for name, value in fresh_values(loader.mapper).items())
    cls = loader.mapper.class_
    new: Any = cls.__new__
    return sp.Maker(cls, None if new is object.__new__ else new, loader.keys, loader.offset,
                    STATE_ATTR, InstanceState, weakref.ref, _state_gone, fields)


def _loop_namespace(speedups: bool, **loaders: EntityLoader) -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "bind_set": _bind_setattr, "ref_new": _ref_new, "State": InstanceState,
        "gone": _state_gone, "LAZY_KEY": LAZY_KEY, "STATE_ATTR": STATE_ATTR,
        "populate_state": populate_state,
    }
    for p, loader in loaders.items():
        cls = loader.mapper.class_
        namespace.update({f"new_{p}": cls.__new__, f"{p}cls": cls,
                          f"{p}mapper": loader.mapper, f"{p}keys": loader.keys})
        if speedups:
            namespace[f"make_{p}"] = _maker(loader)
    return namespace


def fast_loop_ok(loader: EntityLoader) -> bool:
    """Whether ``loader``'s rows can go through a generated row loop: a one-column key,
    direct stores into the instance, no polymorphic rows (the caller tests what may
    change between calls: listeners, a weak identity map, no identity token)."""
    return len(loader.pk_positions) == 1 and loader.fill is not None and loader.poly is None


def _make_fast_loop(loader: EntityLoader) -> Any:
    """The row loop of ``_instances`` for its common case, generated for one loader:
    a one-column key without identity token, compact instance storage, a weak
    identity map and no ``load`` listeners.  Column stores are unrolled and every
    per-row test of the general loop that is fixed for the loader is gone."""
    offset = loader.offset
    end = offset + loader.width
    p0 = loader.pk_positions[0]
    if _SPEEDUPS:
        return _c_fast_loop(loader)
    src = f"""\
def loop(rows, imap_get, omap, sid, ounloaded, always_refresh, out):
    append = out.append
    for row in rows:
        okv = row[{p0}]
        if okv is None:
            append(None)
            continue
        state = imap_get(okv)
        if state is not None:
            obj = state()
            if obj is not None:
                if always_refresh or state.expired_attributes:
                    populate_state(state, obj, okeys, row[{offset}:{end}],
                                   overwrite=always_refresh, unloaded=ounloaded)
                append(obj)
                continue
{_new_object_source(loader, "o", "        ", False)}        append(oobj)
"""
    cls = loader.mapper.class_
    namespace = _loop_namespace(False, o=loader)
    exec(compile(src, f"<datamapper rows of {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["loop"]


def _c_fast_loop(loader: EntityLoader) -> Any:
    """The loop of :func:`_make_fast_loop` run by the C ``Maker.load`` (same arguments)."""
    load = _maker(loader).load
    p0 = loader.pk_positions[0]
    refresh = _refresher(loader)

    def loop(rows: Any, imap_get: Any, omap: Any, sid: Any, ounloaded: Any,
             always_refresh: bool, out: list[Any]) -> None:
        load(rows, p0, omap, sid, ounloaded, always_refresh, out, refresh)

    return loop


def make_joined_loop(parent: EntityLoader, child: EntityLoader) -> Any:
    """One pass over the rows of a query of ``parent`` objects with one joined eager
    collection of ``child`` objects (both loaders qualify for :func:`fast_loop_ok`).

    A parent's rows mostly come together: its key is looked up (or its object made)
    once per run of rows with the same key, and each run's children go to a list of
    its own: ``groups`` gets ``(parent, its state, children)`` per run, ``out`` the
    parent of each run (None for a run of rows without one).  Returns
    ``(parents found in the identity map, children found there, runs without a
    parent)``: when all three are 0 every parent and every child was made here, so
    no parent has two runs and no child comes twice.  With the C module, its
    ``Maker.load_joined`` runs the same loop.
    """
    po, pend = parent.offset, parent.offset + parent.width
    co, cend = child.offset, child.offset + child.width
    speedups = _SPEEDUPS
    if speedups:
        return _c_joined_loop(parent, child)
    src = f"""\
def loop(rows, pget, pmap, cget, cmap, sid, punloaded, cunloaded, prefresh, crefresh,
         out, groups):
    out_append = out.append
    groups_append = groups.append
    last = _START
    items_append = None
    phits = chits = nones = 0
    for row in rows:
        pkv = row[{parent.pk_positions[0]}]
        if pkv != last:
            last = pkv
            if pkv is None:
                nones += 1
                items_append = _ignore
                out_append(None)
                continue
            pobj = None
            state = pget(pkv)
            if state is not None:
                pobj = state()
                if pobj is not None:
                    phits += 1
                    if prefresh or state.expired_attributes:
                        populate_state(state, pobj, pkeys, row[{po}:{pend}],
                                       overwrite=prefresh, unloaded=punloaded)
            if pobj is None:
{_new_object_source(parent, "p", "                ", speedups, need_state=True)}            items = []
            items_append = items.append
            groups_append((pobj, state, items))
            out_append(pobj)
        elif pkv is None:
            continue
        ckv = row[{child.pk_positions[0]}]
        if ckv is None:
            continue
        state = cget(ckv)
        if state is not None:
            cobj = state()
            if cobj is not None:
                chits += 1
                if crefresh or state.expired_attributes:
                    populate_state(state, cobj, ckeys, row[{co}:{cend}],
                                   overwrite=crefresh, unloaded=cunloaded)
                items_append(cobj)
                continue
{_new_object_source(child, "c", "        ", speedups)}        items_append(cobj)
    return phits, chits, nones
"""
    namespace = _loop_namespace(speedups, p=parent, c=child)
    namespace.update({"_START": _START, "_ignore": _ignore})
    name = f"{parent.mapper.class_.__name__} joined {child.mapper.class_.__name__}"
    exec(compile(src, f"<datamapper rows of {name}>", "exec"), namespace)  # noqa: S102
    return namespace["loop"]


def _c_joined_loop(parent: EntityLoader, child: EntityLoader) -> Any:
    """The loop of :func:`make_joined_loop` run by the C ``Maker.load_joined`` (same
    arguments and result)."""
    load_joined = _maker(parent).load_joined
    cmake = _maker(child)
    ppk, cpk = parent.pk_positions[0], child.pk_positions[0]
    prefresh_fn, crefresh_fn = _refresher(parent), _refresher(child)

    def loop(rows: Any, pget: Any, pmap: Any, cget: Any, cmap: Any, sid: Any,
             punloaded: Any, cunloaded: Any, prefresh: bool, crefresh: bool,
             out: list[Any], groups: list[Any]) -> tuple[int, int, int]:
        found: tuple[int, int, int] = load_joined(cmake, rows, ppk, cpk, pmap, cmap, sid, punloaded, cunloaded,
                           prefresh, crefresh, out, groups, prefresh_fn, crefresh_fn)
        return found

    return loop


def _refresher(loader: EntityLoader) -> Any:
    """``refresh(state, obj, row, always_refresh, unloaded)``: the C loops' call back
    for an object of ``loader`` already in the session that must be refreshed."""
    keys, start, end = loader.keys, loader.offset, loader.offset + loader.width

    def refresh(state: InstanceState, obj: Any, row: Any, always_refresh: bool,
                unloaded: Any) -> None:
        populate_state(state, obj, keys, row[start:end], overwrite=always_refresh,
                       unloaded=unloaded)

    return refresh


_START: Any = object()  # (no row read yet)


def _ignore(_obj: Any) -> None:
    """Where the children of a run of rows without a parent go."""


@functools.lru_cache(maxsize=1024)
def _make_fill(keys: tuple[str, ...], offset: int) -> Any:
    """``fill(obj, row)``: store each key's column value with ``object.__setattr__``,
    one statement per column (no per-row loop over the keys)."""
    lines = ["def fill(obj, row, bind_set=bind_set):", "    set_ = bind_set(obj)"]
    lines += [f"    set_({k!r}, row[{offset + i}])" for i, k in enumerate(keys)]
    namespace: dict[str, Any] = {"bind_set": _bind_setattr}
    exec(compile("\n".join(lines), "<datamapper row fill>", "exec"), namespace)  # noqa: S102
    return namespace["fill"]


def _direct_set_ok(cls: type, keys: Iterable[str]) -> bool:
    """:func:`datamapper._util.accel.direct_set_ok` for ``keys`` and the state key."""
    return direct_set_ok(cls, (*keys, STATE_ATTR))


def _relationship_keys(mapper: Mapper) -> frozenset[str]:
    return frozenset(k for k, p in mapper._props.items() if p.is_relationship)


# results of at least this many rows are turned into objects with the cycle collector paused
GC_PAUSE_ROWS = _GC_PAUSE_ROWS = 1000


def fetch_rows(result: Any) -> list[Any]:
    """All rows of a fresh result: the driver's tuples where Core would only copy
    them into Row objects (no column needs a result processor, default fetching),
    Core's rows otherwise.  The loaders read rows by position only."""
    rows = plain_fetchall(result)
    if rows is not None:
        return rows
    return result.fetchall()  # type: ignore[no-any-return]  # result is typed Any (a Core result); its fetchall() returns a list


def instances(
    session: SessionLike,
    loader: EntityLoader,
    rows: Iterable[Sequence[Any]],
    populate_existing: bool = False,
    identity_token: Any = None,
) -> list[Any]:
    """One object per row (None where the row's key is all NULL, or partly NULL for a
    mapper with ``allow_partial_pks=False``).

    Every object made here stays reachable (from the result and the identity map),
    so a cycle collection during a large load only rescans them: for big results
    the collector is paused until the objects are built, then switched back on.
    """
    if not isinstance(rows, (list, tuple)) or len(rows) < _GC_PAUSE_ROWS or not gc.isenabled():
        return _instances(session, loader, rows, populate_existing, identity_token)
    gc.disable()
    try:
        return _instances(session, loader, rows, populate_existing, identity_token)
    finally:
        resume_gc()


def paused_load(fetch: Callable[[], list[Any]], build: Callable[[list[Any]], _T]) -> _T:
    """``build(fetch())`` with the cycle collector paused from the fetch on: for the
    whole of it when the fetch returns many rows (then resumed by :func:`resume_gc`),
    for the fetch alone otherwise.

    The driver's rows are all new container objects that stay reachable until the
    objects are built; with the collector on, fetching 100,000 of them runs over a
    hundred young collections that traverse them (a tenth of the fetch's time).
    """
    if not gc.isenabled():
        return build(fetch())
    gc.disable()
    try:
        rows = fetch()
    except BaseException:
        gc.enable()
        raise
    if len(rows) < _GC_PAUSE_ROWS:
        gc.enable()
        return build(rows)
    try:
        return build(rows)
    finally:
        resume_gc()


def resume_gc() -> None:
    """Switch the cycle collector back on after a pause in which many objects were
    made that all stay reachable (loaded objects, their states and collections).

    Left in the youngest generation, they would all be scanned by the next collection
    (the first allocation after this), and again when promoted: a joined eager load of
    100,000 rows spent a quarter of its time there.  They are moved to the oldest
    generation unscanned instead (``gc.freeze()`` then ``gc.unfreeze()``, which also
    moves what else the young generations held: a reference cycle among those is freed
    by the next full collection rather than a young one).  Not done when the program
    keeps objects frozen itself (``gc.get_freeze_count()``): unfreezing would release
    them.
    """
    if not gc.get_freeze_count():
        gc.freeze()
        gc.unfreeze()
    gc.enable()


def _instances(
    session: SessionLike,
    loader: EntityLoader,
    rows: Iterable[Sequence[Any]],
    populate_existing: bool,
    identity_token: Any,
) -> list[Any]:
    fast = loader.fast_loop
    if fast is not None and identity_token is None and _FAST_LOOPS:
        # Short cut for the common case once the loop exists (it is made only for a
        # loader that qualifies: no polymorphic rows, a one-column key, direct stores):
        # only what may change between calls is tested (listeners added since, a
        # strong identity map), without the general set-up below.  A 10-row query or
        # a get() spends a measurable part of its time in that set-up.
        mapper = loader.mapper
        active = mapper.dispatch.active
        imap = session._identity_map
        if imap.weak and "load" not in active and "refresh" not in active and \
                "loaded_as_persistent" not in session.dispatch.active:
            imap_dict = imap.inner(mapper._identity_class, None)
            out_fast: list[Any] = []
            fast(rows, imap_dict.get, imap_dict, session.hash_key, loader.unloaded or _EMPTY,
                 mapper.always_refresh or populate_existing, out_fast)
            return out_fast
    if loader.poly is not None:
        out_: list[Any] = loader.poly.instances(session, rows, populate_existing,
                                                identity_token)
        return out_
    mapper = loader.mapper
    imap = session._identity_map
    imap_dict = imap.inner(mapper._identity_class, identity_token)
    imap_get = imap_dict.get
    weak = imap.weak
    cls = mapper.class_
    new_obj: Any = cls.__new__
    keys = loader.keys
    offset = loader.offset
    width = loader.width
    end = offset + width
    pkpos = loader.pk_positions
    single = len(pkpos) == 1
    p0 = pkpos[0]
    # allow_partial_pks=False: a row whose key is partly NULL (an outer join's missing
    # side) is no object
    no_partial = not mapper.allow_partial_pks
    sid = session.hash_key
    unloaded = loader.unloaded or _EMPTY
    dispatch = mapper.dispatch
    fire_load = "load" in dispatch
    fire_refresh = "refresh" in dispatch
    # the session's loaded_as_persistent listeners: told of each object new to it
    fire_lap = "loaded_as_persistent" in session.dispatch.active
    always_refresh = mapper.always_refresh or populate_existing
    # attribute stores straight into the instance (no __dict__ materialized) where the
    # class allows it; see EntityLoader.direct_set
    setattr_: Any = object.__setattr__ if loader.direct_set else None
    fill = loader.fill
    lazy_key = single and identity_token is None
    loaded_now: list[Any] = []
    refreshed: list[tuple[Any, Any]] = []
    out: list[Any] = []
    append = out.append
    if lazy_key and fill is not None and weak and not fire_load and not fire_refresh \
            and not fire_lap and _FAST_LOOPS:
        # the common case, as one generated loop (see _make_fast_loop)
        fast = loader.fast_loop
        if fast is None:
            fast = loader.fast_loop = _make_fast_loop(loader)
        fast(rows, imap_get, imap_dict, sid, unloaded, always_refresh, out)
        return out
    for row in rows:
        if single:
            ikey = pkv = row[p0]
            if pkv is None:
                append(None)
                continue
        else:
            ikey = ident = tuple([row[p] for p in pkpos])
            if None in ident and (no_partial or all(v is None for v in ident)):
                append(None)
                continue
        state = imap_get(ikey)
        if state is not None:
            obj = state.obj()
            if obj is not None:
                if always_refresh or state.expired_attributes:
                    values = row if offset == 0 and width == len(row) else row[offset:end]
                    if fire_refresh:
                        # the attributes this row gives the object: all of them with
                        # populate_existing (None), else the expired ones it loads
                        exp = state.expired_attributes
                        attrs = None if always_refresh else \
                            {k for k in keys if k in exp and k not in obj.__dict__}
                        refreshed.append((obj, attrs))
                    populate_state(state, obj, keys, values, overwrite=always_refresh,
                                   unloaded=unloaded)
                append(obj)
                continue
        obj = new_obj(cls)
        if fill is not None:
            fill(obj, row)
        else:
            obj.__dict__.update(zip(keys, row[offset:end] if offset else row))
        if lazy_key:  # the key tuple is built on first use
            state = loaded_state(obj, mapper, LAZY_KEY, pkv, sid, unloaded,
                                 None if weak else obj)
        else:
            state = loaded_state(obj, mapper, (mapper._identity_class,
                                               (pkv,) if single else ident, identity_token),
                                 None, sid, unloaded, None if weak else obj)
        if setattr_ is not None:
            setattr_(obj, STATE_ATTR, state)
        else:
            obj.__dict__[STATE_ATTR] = state
        imap_dict[ikey] = state
        if fire_load or fire_lap:
            loaded_now.append(obj)
        append(obj)
    # what load/refresh handlers set on the object counts as loaded, not as a change
    for obj in loaded_now:
        if fire_load:
            dispatch.fire("load", obj, None)
            st = obj.__dict__[STATE_ATTR]
            if st.modified:
                st.commit_all()
                st._drop_modified()
        if fire_lap:
            session.dispatch.fire("loaded_as_persistent", session, obj)
    for obj, attrs in refreshed:
        dispatch.fire("refresh", obj, None, attrs)
        commit_loaded(obj.__dict__[STATE_ATTR], attrs)
    return out


def commit_loaded(state: InstanceState, attrs: Any) -> None:
    """After a refresh handler: the refreshed attributes (all when ``attrs`` is None) hold
    what was loaded; the handler's own assignments to them are not changes to flush."""
    cs = state._committed
    if not cs:
        return
    if attrs is None:
        cs.clear()
    else:
        for k in attrs:
            cs.pop(k, None)


def populate_state(
    state: InstanceState,
    obj: Any,
    keys: Sequence[str],
    values: Sequence[Any],
    overwrite: bool,
    unloaded: Iterable[str] = (),
) -> None:
    """Fill an existing object's unloaded attributes (or all, with ``overwrite``).

    Attributes with unflushed changes are never overwritten.  With ``overwrite``, the
    ``unloaded`` column attributes (those the row does not read) are unloaded too.
    """
    d = obj.__dict__
    cs = state._committed or {}
    if overwrite:
        # populate_existing: the database wins, unflushed changes are discarded
        for k, v in zip(keys, values, strict=False):
            d[k] = v
            cs.pop(k, None)
        # relationships load again on next access (or from this query's eager loads,
        # which run after the rows)
        state.reset_relationships(d, state.mapper._relationship_keys)
        state.expired_attributes = _remaining(state, keys)
        # a column the row does not read (deferred, a subclass's column in a query of
        # its base) keeps no value from before: it loads again on access (a
        # query_expression() keeps its value: only a query's with_expression() sets it)
        stale = [k for k in unloaded if k in d and k not in state.mapper._expression_keys]
        if stale:
            for k in stale:
                del d[k]
                cs.pop(k, None)
            state.expired_attributes = set(state.expired_attributes).union(stale)
        if state.modified and not cs:
            state.modified = False
            state._drop_modified()
    else:
        exp = state.expired_attributes
        for k, v in zip(keys, values, strict=False):
            if k in exp and k not in d:
                d[k] = v
        state.expired_attributes = _remaining(state, keys)


def _remaining(state: InstanceState, keys: Sequence[str]) -> Any:
    exp = state.expired_attributes
    if not exp:
        return _EMPTY
    rest = set(exp).difference(keys)
    return rest if rest else _EMPTY


def load_attributes_stmt(mapper: Mapper, keys: Iterable[str],
                         ident: Sequence[Any] = ()) -> tuple[Select[Any], list[Any]]:
    """A SELECT of the columns for ``keys`` of one row, by primary-key bind parameters
    (``IS NULL`` for the key columns whose value in ``ident`` is None: a partial key)."""
    props = [mapper._props[k] for k in keys]
    cols = [p.columns[0] for p in props]
    where = and_(*[c.is_(None) if i < len(ident) and ident[i] is None
                   else c == bindparam("_dm_pk_" + str(i))
                   for i, c in enumerate(mapper.primary_key)])
    stmt = select(*cols).where(where)
    # the joined tables of the row (a joined-table subclass, a single-table one of it)
    if len(mapper.tables) > 1 or mapper.non_table:
        stmt = stmt.select_from(mapper.persist_selectable)
    return stmt, props
