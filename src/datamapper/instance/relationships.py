"""Attribute implementations of relationships: object references and collections.

:class:`ScalarObjectImpl` handles a reference to one related object
(many-to-one, one-to-one), ``CollectionImpl`` (``collection_impl.py``) a
collection; what the two share is :class:`_RelImpl` here.  Both record
history (the original related objects, compared by identity), keep the
reverse side of a backref in step in memory, and cascade ``save-update``
into the owner's session as soon as an object is attached.  Loading an
unloaded relationship goes through the owner's session.  When the reverse
collection is not loaded, changes to it are queued on the owner's state
and applied when it loads.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

import operator
from typing import Any

from .._util import DONT_SET, NO_VALUE, describe
from ..exc import InvalidRequestError, RelatedTypeError
from ..mapping.attributes import QueryableAttribute
from ..mapping.mapper import Mapper, configure_mappers
from ..mapping.relationships import (
    MANYTOONE,
    RelationshipProperty,
)
from .collections import members
from .history import HISTORY_BLANK, History
from .scalar_impls import load_missing, scalar_history, validators_of
from .seam import SessionLike
from .state import (
    _PENDING_COLLECTIONS,
    FLUSH_EXECUTING,
    LOAD_SESSION,
    ORPHANED,
    STATE_ATTR,
    InstanceState,
    _sessions,
    instance_state,
    warn_flush_usage,
)

PENDING = _PENDING_COLLECTIONS  # (state.expire() drops these queues too)
PARENTS = "single_parents"  # key in a member's _extra: {attribute key: owner state}


class _Unconfigured:
    """Placeholder impl until mappers are configured (the target may be a string)."""

    __slots__ = ("mapper", "key", "attr")

    def __init__(self, mapper: Mapper, key: str, attr: QueryableAttribute) -> None:
        self.mapper = mapper
        self.key = key
        self.attr = attr

    def _real(self) -> Any:
        configure_mappers()
        impl = self.mapper._impls.get(self.key)
        if impl is self or impl is None:
            raise InvalidRequestError(
                f"Can't use {self.mapper.class_.__name__}.{self.key}: its relationship is not "
                "configured; call configure_mappers() to see why"
            )
        return impl

    def get_missing(self, obj: Any) -> Any:
        return self._real().get_missing(obj)

    def set(self, obj: Any, value: Any) -> None:
        self._real().set(obj, value)

    def delete(self, obj: Any) -> None:
        self._real().delete(obj)

    def history(self, state: InstanceState, passive: bool = True) -> History:
        return self._real().history(state, passive)  # type: ignore[no-any-return]  # _real() is typed Any (impls of several classes); each one's history() returns a History

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


def make_relationship_impl(mapper: Mapper, key: str, attr: QueryableAttribute,
                           prop: RelationshipProperty) -> Any:
    """The impl for a relationship attribute; a placeholder until it is configured."""
    if not prop._initialized:
        return _Unconfigured(mapper, key, attr)
    impl = _impl_class(prop)(mapper, key, attr, prop)
    if prop.parent is not mapper and prop.syncs_backref:
        # a subclass mapped after its base was configured (mapper inheritance)
        impl.reverse = [(r.key, r.uselist) for r in prop._mirrors]
    return impl


def _impl_class(prop: RelationshipProperty) -> Any:
    if prop.lazy == "dynamic":
        from .dynamic import DynamicImpl  # imports this module

        return DynamicImpl
    if prop.lazy == "write_only":
        from .dynamic import WriteOnlyImpl  # imports this module

        return WriteOnlyImpl
    if prop.uselist:
        from .collection_impl import CollectionImpl  # imports this module

        return CollectionImpl
    return ScalarObjectImpl


def _wholly_expired(obj: Any) -> bool:
    """Was ``obj`` expired as a whole (``expire(obj)``, a commit) with nothing loaded since?"""
    st = obj.__dict__.get(STATE_ATTR)
    return st is not None and st.expired_attributes is st.mapper._expire_keys


def _session_of(state: InstanceState) -> SessionLike | None:
    sid = state.session_id
    return _sessions.get(sid) if sid is not None else None


def _in_flush(state: InstanceState, other: Any) -> bool:
    """Whether ``state`` or the object ``other`` belongs to a session whose flush is
    executing (the caller checked FLUSH_EXECUTING is not empty)."""
    if state.session_id in FLUSH_EXECUTING:
        return True
    if other is None or other is NO_VALUE:
        return False
    ost = getattr(other, "__dict__", {}).get(STATE_ATTR)
    return ost is not None and ost.session_id in FLUSH_EXECUTING


class _RelImpl:
    """What scalar and collection relationship impls share."""

    __slots__ = ("key", "mapper", "attr", "prop", "target_class", "reverse", "cascade_save",
                 "cascade_backrefs", "validator", "remove_validator", "validate_backrefs",
                 "typecheck", "delete_orphan", "viewonly")

    uselist = False

    def __init__(self, mapper: Mapper, key: str, attr: QueryableAttribute,
                 prop: RelationshipProperty) -> None:
        self.key = key
        self.mapper = mapper
        self.attr = attr
        self.prop = prop
        self.target_class = prop.mapper.class_
        self.reverse: list[tuple[str, bool]] = []  # (key on target, reverse is a collection)
        self.cascade_save = prop.cascade.save_update and not prop.viewonly
        self.cascade_backrefs = prop.cascade_backrefs
        self.validator, self.remove_validator, self.validate_backrefs = \
            validators_of(mapper, key)
        self.typecheck = prop.enable_typechecks
        self.delete_orphan = prop.cascade.delete_orphan and not prop.viewonly
        # a viewonly relationship is never written: changes to it are not history
        self.viewonly = prop.viewonly

    def _viewonly_history(self, state: InstanceState) -> History:
        obj = state.obj()
        current = obj.__dict__.get(self.key, NO_VALUE) if obj is not None else NO_VALUE
        if current is NO_VALUE or current is None:
            return HISTORY_BLANK
        return History((), list(current) if self.uselist else [current], ())

    def _check_type(self, owner: Any, value: Any) -> None:
        """What is refused when it is put into the relationship: what is not a mapped
        object, and a mapped object of another class whose class lacks the backref's
        attribute (the reverse side can't be kept).  Another mapped object is taken
        as SQLAlchemy takes it: a cascade along the relationship, or the flush,
        refuses it (:func:`datamapper.cascade.cascade_iterator`, the flush's
        dependency reading)."""
        if isinstance(value, self.target_class):
            return
        target = self.target_class.__name__
        where = f"{self.mapper.class_.__name__}.{self.key} of {describe(owner)}"
        vmapper = getattr(type(value), "_dm_mapper", None) if value is not None else None
        if vmapper is None:
            raise RelatedTypeError(
                f"Can't put {describe(value)} into {where}: the relationship holds "
                f"{target} objects"
            )
        for rkey, _rcoll in self.reverse:
            if rkey not in vmapper._impls:
                raise RelatedTypeError(
                    f"Can't put {describe(value)} into {where}: the relationship holds "
                    f"{target} objects, and its backref {target}.{rkey} can't be kept on a "
                    f"{type(value).__name__} (it has no attribute {rkey!r}); put a {target} "
                    "there"
                )

    def _cascade(self, state: InstanceState, value: Any, initiator: Any) -> None:
        """save-update cascade: attaching ``value`` to an object in a session adds it."""
        if not self.cascade_save or state.session_id is None:
            return
        if initiator is not None and not self.cascade_backrefs:
            return
        vstate = value.__dict__.get(STATE_ATTR) or instance_state(value)
        if vstate.session_id == state.session_id and not vstate._deleted:
            return
        sess = _sessions.get(state.session_id)
        if sess is not None:
            if initiator is not None and sess.future:
                return  # future=True: a backref never cascades (cascade_backrefs=False)
            sess._save_or_update_state(vstate, value)

    def _lost(self, owner_state: InstanceState, item: Any) -> None:
        """delete-orphan: ``item`` no longer belongs to its parent through this attribute.

        A new (pending) object that is an orphan before it was ever written is
        not inserted: it leaves its parent's session now, or, when the parent is
        not in that session, it is marked and the next flush of its own session
        expunges it (unless it gets a parent again, or is added explicitly).  A
        persistent orphan is the flush's business (it is deleted).
        """
        istate = item.__dict__.get(STATE_ATTR) or instance_state(item)
        if istate._key is not None or istate._deleted:
            return
        if istate.mapper.legacy_is_orphan and not istate.mapper._is_orphan(istate):
            return  # another delete-orphan parent still holds it
        sid = istate.session_id
        sess = _sessions.get(sid) if sid is not None else None
        if sess is not None and sid == owner_state.session_id:
            sess._expunge_orphan(istate, item)
            return
        istate.extra().setdefault(ORPHANED, set()).add(self.key)
        if sess is not None:
            sess._watch_orphan(istate)

    def _regained(self, item: Any) -> None:
        """delete-orphan: ``item`` belongs to a parent through this attribute again."""
        istate = item.__dict__.get(STATE_ATTR)
        ext = istate._extra if istate is not None else None
        if ext:
            lost = ext.get(ORPHANED)
            if lost:
                lost.discard(self.key)

    def _claim(self, owner_state: InstanceState, item: Any) -> None:
        """single_parent=True: ``item`` may belong to one owner through this attribute."""
        istate = item.__dict__.get(STATE_ATTR) or instance_state(item)
        parents = istate.extra().setdefault(PARENTS, {})
        current = parents.get(self.key)
        if current is not None and current is not owner_state:
            other = current.obj()
            # an owner never persisted and no longer referenced still counts: nothing
            # released the item from it (a persisted one lives on in its row)
            if (self._holds(other, item) if other is not None else current._key is None):
                holder = describe(other) if other is not None else \
                    f"a {current.mapper.class_.__name__} object (no longer referenced)"
                raise InvalidRequestError(
                    f"Can't add {describe(item)} to {self.mapper.class_.__name__}.{self.key} "
                    f"of {describe(owner_state.obj())}: it already belongs to "
                    f"{holder} through the same relationship, which allows a single "
                    "parent (single_parent=True); remove it from that parent first"
                )
        parents[self.key] = owner_state

    def _record_owner(self, owner_state: InstanceState, item: Any) -> None:
        istate = item.__dict__.get(STATE_ATTR) or instance_state(item)
        istate.extra().setdefault(PARENTS, {})[self.key] = owner_state

    def _release(self, owner_state: InstanceState, item: Any) -> None:
        istate = item.__dict__.get(STATE_ATTR)
        ext = istate._extra if istate is not None else None
        parents = ext.get(PARENTS) if ext is not None else None
        if parents is not None and parents.get(self.key) is owner_state:
            del parents[self.key]

    def _holds(self, owner: Any, item: Any) -> bool:
        d = owner.__dict__
        if self.key not in d:
            return True  # unloaded or expired: the recorded ownership stands
        value = d[self.key]
        if value is None:
            return False
        if self.uselist:
            return any(x is item for x in members(value))
        return value is item

    def _note_loaded(self, state: InstanceState, members: Any) -> None:
        """single_parent: loaded members belong to ``state`` (no check: the database says so)."""
        for m in members:
            mstate = m.__dict__.get(STATE_ATTR) or instance_state(m)
            mstate.extra().setdefault(PARENTS, {}).setdefault(self.key, state)

    def _reverse_impl(self, target_obj: Any, key: str) -> Any:
        return type(target_obj)._dm_mapper._impls[key]

    def _load(self, state: InstanceState, obj: Any) -> None:
        load_missing(state, self.key)

    def _load_quiet(self, state: InstanceState, obj: Any) -> None:
        """Load the current value for a change being made (the old value to replace,
        history): without autoflush, which would flush the half-made change."""
        sess = _session_of(state)
        if sess is None:
            self._load(state, obj)
            return
        sess._no_autoflush += 1
        try:
            self._load(state, obj)
        finally:
            sess._no_autoflush -= 1


def _loading_session(state: InstanceState) -> SessionLike | None:
    """The session ``Session.enable_relationship_loading()`` gave this object, if any."""
    ext = state._extra
    sid = ext.get(LOAD_SESSION) if ext is not None else None
    return _sessions.get(sid) if sid is not None else None


class ScalarObjectImpl(_RelImpl):
    """A reference to one related object."""

    __slots__ = ()

    def get_missing(self, obj: Any) -> Any:
        d = obj.__dict__
        state = d.get(STATE_ATTR)
        if state is None:
            return None
        if state._key is None or state.session_id is None:
            sess = _loading_session(state) if state._extra is not None else None
            if sess is None and state.session_id is not None and self.prop.load_on_pending:
                sess = _sessions.get(state.session_id)  # a pending object, load_on_pending
            if sess is not None:
                # enable_relationship_loading(): load from the foreign key values
                sess._load_attributes(state, self.key)
                return d.get(self.key)
            if state._key is None:
                return None
        self._load(state, obj)
        return d.get(self.key)

    def _old_value(self, state: InstanceState, obj: Any) -> Any:
        """The current value without SQL where possible (identity map for many-to-one)."""
        d = obj.__dict__
        key = self.key
        if key in d:
            return d[key]
        if state._key is None:
            return None
        sess = _session_of(state)
        if sess is None:
            return NO_VALUE
        prop = self.prop
        # delete-orphan (which needs single_parent) must know the object it lets go of
        needs_old = prop.active_history or prop.single_parent or (
            prop._legacy_inactive_history_style and not prop._simple_m2o)
        if prop._simple_m2o and self.prop.lazy == "select":
            fk = tuple(d.get(k, NO_VALUE) for k in prop._m2o_fk_keys)
            if NO_VALUE not in fk:
                if None in fk:
                    return None
                found = sess._identity_map.get((self.target_class, fk, state.identity_token))
                if found is not None:
                    if needs_old or not _wholly_expired(found):
                        return found
                    # expired as a whole (nothing loaded since): whether its row still
                    # exists takes SQL, which an assignment does not run, so the old
                    # value is not known (as in SQLAlchemy): no delete-orphan parent
                    # lets go of the object, no backref change is queued on it
                    return NO_VALUE
            if not needs_old:
                return NO_VALUE
        if needs_old or self.reverse or prop.direction != MANYTOONE:
            # a one-to-one held on the other row (one-to-many or many-to-many with
            # uselist=False): the flush needs the replaced object to clear its key or row.
            # Fetching the old value never autoflushes: the assignment under way is part
            # of the changes a flush would write (an orphan it is about to rescue, say)
            try:
                with sess.no_autoflush:
                    self._load(state, obj)
            except InvalidRequestError:
                return NO_VALUE
            return d.get(key, NO_VALUE)
        return NO_VALUE

    def set(self, obj: Any, value: Any, initiator: Any = None,
            _op: str = "related attribute set", _validate: bool = True) -> None:
        if value is DONT_SET:  # a dataclass constructor not given this field
            return
        d = obj.__dict__
        state = d.get(STATE_ATTR) or instance_state(obj)
        key = self.key
        if FLUSH_EXECUTING and _in_flush(state, value):
            warn_flush_usage(_op)
        if self.validator is not None and _validate:
            value = self.validator(obj, key, value)  # first: it may convert the value
        if value is not None and self.typecheck:
            self._check_type(obj, value)
        old = self._old_value(state, obj)
        dispatch = self.attr.dispatch
        if dispatch is not None and "set" in dispatch:
            value = dispatch.fire_retval("set", value, obj, old, self.attr)
        if old is value:
            if key not in d:
                d[key] = value  # it already pointed there: just record the loaded value
            return
        had = old is not None and old is not NO_VALUE
        if self.prop.single_parent:
            self._change_owner(state, value, old if had else None)
        if value is not None:
            # first: when the cascade refuses the object (its row deleted by a flush,
            # another session's), nothing has changed yet (as in SQLAlchemy)
            self._cascade(state, value, initiator)
        self._assign(state, obj, value, old)
        if self.reverse:
            self._tell_reverse(obj, value, old if had else None)
        if self.delete_orphan:
            if had:
                self._lost(state, old)
            if value is not None:
                self._regained(value)

    def _change_owner(self, state: InstanceState, value: Any, old: Any) -> None:
        """single_parent: ``state`` owns ``value`` now (checked), and ``old`` no more."""
        if value is not None:
            self._claim(state, value)
        if old is not None:
            self._release(state, old)

    def _tell_reverse(self, obj: Any, value: Any, old: Any) -> None:
        """The reverse sides: ``old`` (None: none) lost ``obj``, ``value`` gained it."""
        for rkey, _rcoll in self.reverse:
            if old is not None:
                self._reverse_impl(old, rkey).backref_remove(old, obj, self)
            if value is not None:
                self._reverse_impl(value, rkey).backref_append(value, obj, self)

    def delete(self, obj: Any) -> None:
        if self.remove_validator is not None:
            state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
            old = self._old_value(state, obj)
            if old is NO_VALUE:
                old = obj.__dict__.get(self.key)
            self.remove_validator(obj, self.key, old, True)
        self.set(obj, None, None, "related attribute delete", _validate=False)

    # -- called by the reverse side ----------------------------------------------------
    def backref_append(self, obj: Any, value: Any, initiator: Any) -> None:
        """The reverse collection gained ``obj``: point this reference at ``value``."""
        d = obj.__dict__
        if d.get(self.key) is value:
            return
        state = d.get(STATE_ATTR) or instance_state(obj)
        if FLUSH_EXECUTING and _in_flush(state, value):
            warn_flush_usage("related attribute set")
        if self.validator is not None and self.validate_backrefs:
            self.validator(obj, self.key, value)
        old = self._old_value(state, obj)
        dispatch = self.attr.dispatch
        if dispatch is not None and "set" in dispatch:
            dispatch.fire("set", obj, value, old, initiator)  # (this side's listeners too)
        if self.prop.single_parent:
            # set from the other side: recorded as the owner, not checked (the other
            # side's own change is what the check is about)
            self._record_owner(state, value)
            if old is not None and old is not NO_VALUE and old is not value:
                self._release(state, old)
        self._assign(state, obj, value, old)
        if old is not None and old is not NO_VALUE and old is not value:
            # moving between parents: leave the old parent's collection
            for rkey, _rcoll in self.reverse:
                self._reverse_impl(old, rkey).backref_remove(old, obj, self)
            if self.delete_orphan:
                self._lost(state, old)
        self._cascade(state, value, initiator)
        if self.delete_orphan:
            self._regained(value)

    def backref_remove(self, obj: Any, value: Any, initiator: Any) -> None:
        """The reverse side let go of ``value``: clear this reference if it points there."""
        d = obj.__dict__
        state = d.get(STATE_ATTR) or instance_state(obj)
        if FLUSH_EXECUTING and _in_flush(state, value):
            warn_flush_usage("related attribute set")
        if self.key in d:
            if d[self.key] is not value:
                return
        elif state._key is None:
            return
        else:
            old = self._old_value(state, obj)
            if old is not value:
                return
        if self.validator is not None and self.validate_backrefs:
            self.validator(obj, self.key, None)
        dispatch = self.attr.dispatch
        if dispatch is not None and "set" in dispatch:
            dispatch.fire("set", obj, None, value, initiator)
        self._assign(state, obj, None, value)
        if self.prop.single_parent:
            self._release(state, value)
        if self.delete_orphan:
            self._lost(state, value)

    def _assign(self, state: InstanceState, obj: Any, value: Any, old: Any) -> None:
        d = obj.__dict__
        key = self.key
        if self.viewonly:
            d[key] = value
            if state.expired_attributes and key in state.expired_attributes:
                state.loaded((key,))
            return
        if state._key is None and state._extra is None:
            d[key] = value
            state.modified = True
            return
        cs = state.committed_state
        if key not in cs:
            cs[key] = old
        d[key] = value
        if state.expired_attributes and key in state.expired_attributes:
            state.loaded((key,))
        state.modified_event(obj)

    def set_committed(self, state: InstanceState, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value
        if state.expired_attributes and self.key in state.expired_attributes:
            state.loaded((self.key,))
        if value is not None and self.prop.single_parent:
            self._note_loaded(state, (value,))

    def history(self, state: InstanceState, passive: bool = True) -> History:
        if self.viewonly:
            return self._viewonly_history(state)
        return scalar_history(state, self.key, passive, operator.is_, True)


def relationship_configured(prop: RelationshipProperty) -> None:
    """Build the real impl of a configured relationship and link backrefs."""
    # the class's own mapper, and those of subclasses (mapper inheritance) sharing it
    for mapper in _mappers_of(prop):
        impls = getattr(mapper, "_impls", None)
        if impls is None:
            continue
        attr = mapper.class_.__dict__.get(prop.key)
        if not isinstance(attr, QueryableAttribute):
            continue
        impl = _impl_class(prop)(mapper, prop.key, attr, prop)
        attr.impl = impl
        impls[prop.key] = impl
    _link_reverse(prop)
    for other in prop._reverse_property:
        _link_reverse(other)


def _mappers_of(prop: RelationshipProperty) -> list[Mapper]:
    """The mappers whose attribute ``prop.key`` is ``prop``."""
    parent = prop.parent
    if not parent._subclass_mappers:
        return [parent]
    return [m for m in parent.self_and_descendants if m._props.get(prop.key) is prop]


def _link_reverse(prop: RelationshipProperty) -> None:
    for p in [prop, *prop._reverse_property]:
        for m in _mappers_of(p):
            impl = getattr(m, "_impls", {}).get(p.key)
            if not isinstance(impl, _RelImpl):
                continue
            impl.reverse = [(r.key, r.uselist) for r in p._mirrors] \
                if p.syncs_backref else []
