"""``Session.merge()``: copy the state of outside objects into a session.

Caller: :meth:`Session.merge` (a one-line delegation).  Given an object that
may be transient, detached or attached to another session, merge finds the
session's own object with the same identity (identity map, then, when
``load`` is true, the database) or makes a new one, copies the source's loaded
attributes onto it and returns it.  The source object is never modified or
attached.

The work runs in three passes so that deep object graphs need no recursion
and nothing is changed before the input has been checked:

1. *discover*: walk the source graph along relationships whose cascade
   includes ``merge``, following only values present in ``__dict__``, each
   object once (so cycles end).  Objects that already belong to this session
   are taken as they are and not walked through.
2. *locate and copy columns*: for each source object find or create its copy
   in the session, then copy loaded column values (with history when
   ``load`` is true, so that the next flush writes what differs; as
   committed values when ``load`` is false).
3. *link*: set each copy's merge-cascade relationships to the copies of the
   source's related objects; a collection is replaced by the copies of its
   members.

Only values present in the source's ``__dict__`` are copied: an attribute
that was never loaded or set on the source leaves the copy's value alone.
Reading an unset many-to-one does not store ``None`` (see the instance
layer), so the pitfall described in the 0.9 "Merge Tips" does not occur.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from .._util import NO_VALUE, describe
from ..exc import InvalidRequestError, SAWarning, StaleDataError
from ..instance.attributes import set_committed_value, values_equal
from ..instance.collections import members as coll_members
from ..instance.dynamic import DynamicImpl
from ..instance.state import InstanceState, instance_state, refuse_unmapped_subclass
from ..loading.plans import LAZY_PLANS_KEY, LOAD_PLAN_KEY, USER_OPTS_KEY

if TYPE_CHECKING:
    from .session import Session

_Key = tuple[Any, ...]
_EMPTY: frozenset[str] = frozenset()


def merge(session: Session, obj: object, load: bool = True, options: object = None) -> Any:
    """Return the copy of ``obj`` (and of its merge-cascade graph) in ``session``;
    ``options`` (loader options) apply to the load of ``obj``'s own row."""
    return merge_all(session, [obj], load, options)[0]


def merge_all(session: Session, objs: list[Any], load: bool = True,
              options: object = None) -> list[Any]:
    """The copies of ``objs`` in ``session``, in their order: one merge over the graphs of
    them all, so that an object reachable from several of them is copied once.
    ``options`` apply to the load of each given object's own row."""
    for obj in objs:
        # an unmapped object is refused before the autoflush
        if obj.__class__ is not instance_state(obj).mapper.class_:
            refuse_unmapped_subclass(obj, "merge")
    if load:
        # reconcile against the database as it will be after pending changes; this
        # comes first because the flush may change what belongs to the session (an
        # object whose deletion it writes is no longer this session's own)
        session._autoflush()
    roots = {id(o) for o in objs}
    sources, left_alone = _discover(session, objs)
    if not load:
        left_alone = {}  # load=False copies what the (unchanged, persistent) source holds
    if not load:
        _check_mergeable_without_load(sources)
    copies: dict[int, Any] = {}
    with session.no_autoflush:
        by_key: dict[_Key, Any] = {}
        located: list[tuple[Any, InstanceState, Any]] = []
        created: list[Any] = []
        for src, state in sources:
            if _in_session(session, state, src):
                if state._key is None:
                    warnings.warn(
                        f"Instance <{type(src).__name__} at {hex(id(src))}> is already pending "
                        "in this Session yet is being merged again: merge() returns a pending "
                        "object of the session as it is; it was add()-ed already",
                        SAWarning, stacklevel=3)
                copies[id(src)] = src
                continue
            copy = _locate(session, src, state, load, by_key, created,
                           options if id(src) in roots else None)
            copies[id(src)] = copy
            located.append((src, state, copy))
            if load:
                _load_collections(session, src, state, copy,
                                  left_alone.get(id(src), frozenset()))
        try:
            _check_versions(located, load)
            _check_write_only(located, left_alone)
        except (StaleDataError, InvalidRequestError):
            for copy in created:  # nothing merged: the new copies go again
                session.expunge(copy)
            raise
        for src, state, copy in located:
            _copy_columns(src, copy, state, load)
        # the copy's own relationship may be lazy="raise": replacing a collection the
        # source holds needs the copy's current one, which merge loads regardless
        session._merging = True
        try:
            for src, _state, copy in located:
                _link(src, copy, copies, load, left_alone.get(id(src), frozenset()))
        finally:
            session._merging = False
    # a copy merge made up (new pending, or load=False's persistent one) was never
    # loaded from a row: merge stands in for the load, and says so, as it does in the
    # 0.8 seed (orm/session.py) and SQLAlchemy 2.x
    for copy in created:
        dispatch = instance_state(copy).mapper.dispatch
        if "load" in dispatch:
            dispatch.fire("load", copy, None)
    return [copies[id(o)] for o in objs]


# -- pass 1: discover -----------------------------------------------------------------------
def _discover(session: Session, objs: list[Any]
              ) -> tuple[list[tuple[Any, InstanceState]], dict[int, frozenset[str]]]:
    """Source objects reachable from ``objs`` along merge cascades, depth first from each
    of them in turn; and, per object (by ``id``), the relationships merge leaves alone on
    it: those whose reverse (backref) relationship reached it.

    An object reached through ``Parent.children`` carries ``child.parent`` only as that
    collection's backref (or a value that agrees with it), and a new object reached
    through ``child.parent`` carries the parent's collection only as far as the backref
    put it there: ``Child(id=5, parent=Parent(id=1))`` does not say that parent 1 has no
    other children.  Replacing the copy's collection with it would detach (or, under
    delete-orphan, delete) every member the source does not hold, so that relationship
    is neither walked nor copied (as in SQLAlchemy)."""
    out: list[tuple[Any, InstanceState]] = []
    seen: set[int] = set()
    roots = {id(o) for o in objs}
    reached_by: dict[int, list[Any]] = {}
    skip: dict[int, frozenset[str]] = {}
    stack: list[tuple[Any, Any]] = [(o, None) for o in reversed(objs)]
    while stack:
        src, via = stack.pop()
        if via is not None:
            reached_by.setdefault(id(src), []).append(via)
        if id(src) in seen:
            continue
        seen.add(id(src))
        state = instance_state(src)
        if src.__class__ is not state.mapper.class_:
            refuse_unmapped_subclass(src, "merge")
        out.append((src, state))
        if _in_session(session, state, src):
            continue
        # (an object given to merge itself is the caller's to say: all of it merges)
        left_alone = _EMPTY if id(src) in roots else frozenset(
            r.key for p in reached_by.get(id(src), ()) for r in p._reverse_property)
        if left_alone:
            skip[id(src)] = left_alone
        children: list[tuple[Any, Any]] = []
        for prop in _merge_relationships(state):
            if prop.key in left_alone:
                continue
            pending = _dynamic_changes(state, prop)
            if pending is not None:
                children.extend((m, prop) for m in pending.added)
                if state._key is not None:
                    children.extend((m, prop) for m in pending.removed)
                continue
            value = src.__dict__.get(prop.key)
            if value is None:
                continue
            members = list(coll_members(value)) if prop.uselist else [value]
            children.extend((m, prop) for m in members if m is not None)
        # reversed so that the walk visits members in their collection order
        stack.extend(reversed(children))
    return out, skip


def _check_write_only(located: list[tuple[Any, InstanceState, Any]],
                      left_alone: dict[int, frozenset[str]]) -> None:
    """Members given to a write-only relationship of a source can't be merged into a
    persistent copy: comparing them with the copy's members would load those.  (A
    relationship merge leaves alone, its members put there by a backref, is not
    merged.)"""
    for src, state, copy in located:
        if instance_state(copy)._key is None:
            continue
        skip = left_alone.get(id(src), frozenset())
        for prop in _merge_relationships(state):
            if prop.lazy != "write_only" or prop.key in skip:
                continue
            pending = state.mapper._impls[prop.key].pending(state)
            if pending is not None and (pending.added or pending.removed):
                raise InvalidRequestError(
                    f"Can't merge {describe(src)}: its write-only relationship "
                    f"{state.mapper.class_.__name__}.{prop.key} has changed members, and "
                    f"merging them into the persistent {describe(copy)} would load that "
                    "collection; merge the object without them, then change the merged "
                    f"copy's {prop.key} with add()/add_all()/remove()"
                )


def _merge_relationships(state: InstanceState) -> list[Any]:
    return [p for p in state.mapper._props.values()
            if getattr(p, "is_relationship", False) and p.cascade.merge]


def _in_session(session: Session, state: InstanceState, obj: object) -> bool:
    """Is ``obj`` itself this session's object (pending or in the identity map)?"""
    if state.session_id != session.hash_key:
        return False
    if state._key is None:
        return state in session._new
    return session._identity_map.holds(state)


def _check_mergeable_without_load(sources: list[tuple[Any, InstanceState]]) -> None:
    problems = []
    for src, state in sources:
        if state._key is None:
            problems.append(f"{describe(src)} is {'pending' if state.session_id else 'transient'}"
                            " (it has no database identity)")
        elif state.modified:
            problems.append(f"{describe(src)} has unflushed changes")
    if problems:
        raise InvalidRequestError(
            "Can't merge with load=False: it copies state without consulting the database, so "
            "every object merged must be persistent or detached and unchanged, but "
            + "; ".join(problems)
            + "; flush (or commit) those changes first, or merge with load=True"
        )


# -- pass 2: locate and copy columns ----------------------------------------------------------
def _identity_of(state: InstanceState, src: object) -> _Key | None:
    """The identity key a source object stands for, or None if it has no primary key.

    A composite key with some (not all) columns set to None counts as a key, to be
    looked up, unless the mapper says ``allow_partial_pks=False``; a key column never
    set at all means there is no key yet."""
    if state._key is not None:
        return state.key
    mapper = state.mapper
    ident = mapper.primary_key_from_instance(src)
    if None in ident:
        if not mapper.allow_partial_pks or all(v is None for v in ident):
            return None
        d = src.__dict__
        if any(k not in d for k in mapper._pk_keys):
            return None
    return (mapper._identity_class, ident, None)


# state.extra() entries holding the loader options an object was loaded with
_LOAD_OPTION_KEYS = frozenset({LAZY_PLANS_KEY, LOAD_PLAN_KEY, USER_OPTS_KEY})


def _locate(session: Session, src: object, state: InstanceState, load: bool,
            by_key: dict[_Key, Any], created: list[Any], options: object = None) -> Any:
    """The session's object for ``src``: existing, loaded, or new."""
    mapper = state.mapper
    key = _identity_of(state, src)
    copy = None
    if key is not None:
        copy = by_key.get(key)
        if copy is not None:
            return copy
        existing = session._identity_map.get(key)
        if existing is not None and instance_state(existing) in session._deleted:
            raise InvalidRequestError(
                f"Can't merge {describe(src)}: this session's object with identity {key} "
                f"({describe(existing)}) is marked for deletion; flush the deletion first, "
                "or expunge that object"
            )
        if load:
            copy = session.get(mapper.class_, key[1], identity_token=key[2], options=options)
        else:
            copy = existing
    if copy is None:
        cls = mapper.class_
        copy = cls.__new__(cls)
        copy_state = instance_state(copy)
        if load:
            # not in the database (or no primary key): a new pending object
            session._save_or_update_state(copy_state, copy)
        else:
            # load=False trusts the source: a persistent object with nothing loaded yet
            copy_state.key = key
            # what the source does not hold loads on access (copied values unexpire)
            copy_state.expired_attributes = set(mapper._column_keys - mapper._deferred_keys)
            session._update_impl(copy_state, copy)
        # the loader options the source was loaded with carry on in its copy's loads
        carried = {k: v for k, v in (state._extra or {}).items() if k in _LOAD_OPTION_KEYS}
        if carried:
            copy_state.extra().update(carried)
        created.append(copy)
    if key is not None:
        by_key[key] = copy
    return copy


def _load_collections(session: Session, src: object, state: InstanceState, copy: object,
                      left_alone: frozenset[str]) -> None:
    """Load the persistent copy's collections that the source carries, before its members
    are located: the link pass needs them anyway (to replace them), and one SELECT of the
    collection puts the members in the identity map, so that locating each member needs
    no SELECT of its own."""
    copy_state = instance_state(copy)
    if copy_state._key is None or copy is src:
        return
    sd = src.__dict__
    cd = copy.__dict__
    wanted = [p.key for p in _merge_relationships(state)
              if p.uselist and p.key in sd and p.key not in cd and p.key not in left_alone]
    if not wanted:
        return
    # the copy's relationship may be lazy="raise": merge loads it regardless
    session._merging = True
    try:
        for key in wanted:
            getattr(copy, key)
    finally:
        session._merging = False


def _check_versions(located: list[tuple[Any, InstanceState, Any]], load: bool) -> None:
    """Refuse sources that carry another version than the session's copy of their row.

    Merging such a source would write its (older) values over a row that another
    transaction changed since the source was loaded, and the flush could not tell,
    because the copy holds the row's current version.
    """
    for src, state, copy in located:
        prop = state.mapper.version_id_prop
        if prop is None or copy is src:
            continue
        key = prop.key
        carried = src.__dict__.get(key, NO_VALUE)
        if carried is NO_VALUE:
            continue  # no version given: merge onto the current row
        copy_state = instance_state(copy)
        found = copy.__dict__.get(key, NO_VALUE)
        if found is NO_VALUE:
            if not load or copy_state._key is None or copy_state.session_id is None:
                continue
            found = getattr(copy, key)  # expired or deferred: read the row's version
        if copy_state._key is None:
            continue  # a new object: no row to be stale against
        if found != carried:
            raise StaleDataError(
                f"Can't merge {describe(src)} with primary key {copy_state.identity}: it "
                f"carries version {carried!r} in "
                f"{state.mapper.class_.__name__}.{key}, but the row (as this session holds "
                f"it) is at version {found!r}: it was changed since the copy was loaded. Load "
                "the object again and reapply the changes, or remove the version attribute "
                "from the copy to merge onto the current version."
            )


def _copy_columns(src: object, copy: object, state: InstanceState, load: bool) -> None:
    mapper = state.mapper
    columns = mapper._column_keys
    sd = src.__dict__
    cd = copy.__dict__
    for key in mapper._props:
        if key not in columns:
            continue
        if key not in sd:
            if load and key not in cd:
                _reload_deleted_value(copy, key)
            continue
        value = sd[key]
        if not load:
            set_committed_value(copy, key, value)
        elif key not in cd or not values_equal(cd[key], value):
            setattr(copy, key, value)


def _reload_deleted_value(copy: object, key: str) -> None:
    """The source has no value for ``key`` and the persistent copy's was removed (``del
    copy.key``) but not flushed: the copy goes back to the row's value, loaded on access,
    instead of holding nothing."""
    copy_state = instance_state(copy)
    committed = copy_state._committed
    if copy_state._key is not None and committed is not None and key in committed:
        copy_state.expire((key,))


# -- pass 3: link -------------------------------------------------------------------------
def _dynamic_changes(state: InstanceState, prop: Any) -> Any:
    """The appends/removes recorded on a dynamic (or write-only) relationship of a source,
    or None (not such a relationship, or nothing recorded)."""
    impl = state.mapper._impls.get(prop.key)
    if not isinstance(impl, DynamicImpl):
        return None
    pending = impl.pending(state)
    if pending is None or not (pending.added or pending.removed):
        return None
    return pending


def _link_dynamic(src_state: InstanceState, copy: Any, key: str, pending: Any,
                  copies: dict[int, Any]) -> None:
    """A dynamic relationship holds no collection to copy: a new source's appended
    members are the whole collection (it has no rows); a detached source's appends and
    removes are changes to the rows, made again on the copy."""
    added = [copies[id(m)] for m in pending.added]
    if src_state._key is None:
        setattr(copy, key, added)
        return
    coll = getattr(copy, key)
    for m in added:
        coll.append(m)
    for m in pending.removed:
        if id(m) in copies:
            coll.remove(copies[id(m)])


def _link(src: object, copy: object, copies: dict[int, Any], load: bool,
          left_alone: frozenset[str]) -> None:
    sd = src.__dict__
    cd = copy.__dict__
    src_state = instance_state(src)
    for prop in _merge_relationships(src_state):
        key = prop.key
        if key in left_alone:
            continue
        if key not in sd:
            pending = _dynamic_changes(src_state, prop) if load else None
            if pending is not None and copy is not src:
                _link_dynamic(src_state, copy, key, pending, copies)
            continue
        value = sd[key]
        if prop.uselist:
            if src_state._key is None and not value and getattr(value, "_dm_implicit", False):
                # a new object's collection that was only read, never given: it says
                # nothing of the copy's members
                continue
            members = [copies[id(m)] for m in coll_members(value or ()) if m is not None]
            if not load:
                set_committed_value(copy, key, members)
                continue
            if not _same_members(cd.get(key), members):
                setattr(copy, key, members)
        else:
            target = None if value is None else copies[id(value)]
            if not load:
                set_committed_value(copy, key, target)
            elif cd.get(key, NO_VALUE) is not target:
                # an assignment, as by the application: when the copy's current value is
                # not loaded, it is found without SQL where it can be (the identity map),
                # and re-setting the object it already refers to changes nothing
                setattr(copy, key, target)


def _same_members(current: Any, members: list[Any]) -> bool:
    """Does the loaded collection ``current`` hold exactly ``members`` (same order for lists)?"""
    if current is None or len(current) != len(members):
        return False
    if isinstance(current, (set, dict)):
        return {id(m) for m in coll_members(current)} == {id(m) for m in members}
    return all(a is b for a, b in zip(current, members))
