"""The attribute implementation of ``lazy="dynamic"`` relationships.

Callers: :func:`.relationships.make_relationship_impl` builds a
:class:`DynamicImpl` for a relationship configured ``lazy="dynamic"`` (or
made with ``dynamic_loader()``).  Reading the attribute never loads a
collection into ``__dict__``: it returns a query object made by the factory
the query layer registers here at import time (``AppenderQuery``), which
filters the target by the parent's key.  ``append``/``remove`` (and the
reverse side of a backref) are recorded as pending changes in the state's
``committed_state`` under the attribute's key, so the flush reads them as
collection history and the end of a flush (which clears
``committed_state``) forgets them.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .._util import describe
from ..exc import DetachedInstanceError, InvalidRequestError, NoCollectionError, SAWarning
from .history import History
from .relationships import _RelImpl
from .scalar_impls import load_missing
from .seam import SessionLike
from .state import STATE_ATTR, InstanceState, _sessions, instance_state

# set by the query layer on import: (impl, parent object) -> AppenderQuery
_query_factory: list[Callable[[DynamicImpl, Any], Any]] = []


def register_query_factory(factory: Callable[[DynamicImpl, Any], Any]) -> None:
    """Install the function that builds the query a dynamic attribute returns."""
    _query_factory[:] = [factory]


class PendingChanges:
    """Objects appended to and removed from a dynamic collection since the last flush."""

    __slots__ = ("added", "removed")

    def __init__(self) -> None:
        self.added: list[Any] = []
        self.removed: list[Any] = []

    def __repr__(self) -> str:
        return f"PendingChanges(added={self.added!r}, removed={self.removed!r})"


class DynamicImpl(_RelImpl):
    """A collection read through a query; changes are kept as pending history only."""

    __slots__ = ()

    uselist = True

    # -- reading -----------------------------------------------------------------
    def session_of(self, state: InstanceState) -> SessionLike | None:
        sid = state.session_id
        return _sessions.get(sid) if sid is not None else None

    def is_detached(self, state: InstanceState) -> bool:
        """The parent has a row but no Session to query it with."""
        return state._key is not None and self.session_of(state) is None

    def check_attached(self, state: InstanceState, doing: str = "read") -> None:
        if self.is_detached(state):
            raise DetachedInstanceError(
                f"Can't {doing} dynamic relationship {self.mapper.class_.__name__}.{self.key} "
                f"of {describe(state.obj())}: the object is detached from its Session and the "
                "relationship is read with a query; add it to a Session with session.add() "
                "or merge() first"
            )

    def warn_detached(self, state: InstanceState) -> None:
        obj = state.obj()
        warnings.warn(
            f"Instance <{type(obj).__name__} at {hex(id(obj))}> is detached, dynamic relationship "
            f"{self.mapper.class_.__name__}.{self.key} can only give the members appended "
            "to it since, not its rows: there is no Session to query them with; add the "
            "object to a Session (session.add() or merge()) to read them",
            SAWarning, stacklevel=4,
        )

    def get_missing(self, obj: Any) -> Any:
        # a detached parent still gets its query: running it warns, refining it raises
        return self.query(obj)

    def query(self, obj: Any) -> Any:
        if not _query_factory:
            raise InvalidRequestError(
                f"Can't read {self.mapper.class_.__name__}.{self.key}: the query layer is not "
                "loaded; import datamapper before using mapped classes"
            )
        return _query_factory[0](self, obj)

    def pending(self, state: InstanceState) -> PendingChanges | None:
        cs = state._committed
        p = cs.get(self.key) if cs else None
        return p if isinstance(p, PendingChanges) else None

    def pending_added(self, state: InstanceState) -> list[Any]:
        p = self.pending(state)
        return list(p.added) if p is not None else []

    def members(self, state: InstanceState, obj: Any, load: bool = True) -> list[Any]:
        """The collection as it is now: the database's rows (queried without autoflush,
        when ``load`` and the parent has a row) less pending removals, plus pending
        appends."""
        p = self.pending(state)
        added = p.added if p is not None else []
        if not load or state._key is None or self.session_of(state) is None:
            return list(added)
        rows = self.query(obj).autoflush(False).all()
        if p is None:
            return list(rows)
        gone = {id(x) for x in p.removed}
        out = [x for x in rows if id(x) not in gone]
        have = {id(x) for x in out}
        out.extend(x for x in added if id(x) not in have)
        return out

    def flush_members(self, state: InstanceState, obj: Any) -> list[Any]:
        """Everything a deleted parent must let go of: members and pending removals."""
        out = self.members(state, obj, True)
        p = self.pending(state)
        if p is not None:
            have = {id(x) for x in out}
            out.extend(x for x in p.removed if id(x) not in have)
        return out

    def parent_values(self, state: InstanceState, obj: Any) -> dict[str, Any]:
        """Bind values of the lazy clause: the parent's key attributes (see
        :meth:`load_keys`), None where the parent has none yet."""
        self.load_keys(state, obj)
        d = obj.__dict__
        return {name: d.get(key) for name, key in self.prop._lazy_params}

    def load_keys(self, state: InstanceState, obj: Any) -> None:
        """Put the parent's key attributes the relationship refers by back into
        ``__dict__`` after an expiry: a primary key from the identity, without SQL,
        another column by loading it.  The flush copies them from there."""
        if state._key is None:
            return
        d = obj.__dict__
        pk_keys = state.mapper._pk_keys
        for _name, key in self.prop._lazy_params:
            if key in d:
                continue
            if key in pk_keys:
                d[key] = state.identity[pk_keys.index(key)]  # type: ignore[index]  # state._key is not None (returned above), so identity isn't; mypy can't see through the property
                state.loaded((key,))
            elif self.session_of(state) is not None:
                load_missing(state, key)

    # -- recording changes ----------------------------------------------------------
    def _record(self, state: InstanceState, obj: Any, item: Any, added: bool) -> None:
        self.load_keys(state, obj)
        p = self.pending(state)
        if p is None:
            p = PendingChanges()
            state.committed_state[self.key] = p
        if added:
            if any(x is item for x in p.removed):
                p.removed = [x for x in p.removed if x is not item]
            elif not any(x is item for x in p.added):
                p.added.append(item)
        else:
            if any(x is item for x in p.added):
                p.added = [x for x in p.added if x is not item]
            elif not any(x is item for x in p.removed):
                p.removed.append(item)
        if state._key is None:
            state.modified = True
        else:
            state.modified_event(obj)

    def append(self, obj: Any, item: Any, initiator: Any = None) -> None:
        state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
        if self.validator is not None:
            item = self.validator(obj, self.key, item)  # first: it may convert the item
        if self.typecheck:
            self._check_type(obj, item)
        dispatch = self.attr.dispatch
        if dispatch is not None and "append" in dispatch:
            item = dispatch.fire_retval("append", item, obj, self.attr)
        self._record(state, obj, item, True)
        for rkey, _rcoll in self.reverse:
            self._reverse_impl(item, rkey).backref_append(item, obj, self)
        if self.cascade_save and state.session_id is not None:
            self._cascade(state, item, initiator)
        if self.delete_orphan:
            self._regained(item)

    def remove(self, obj: Any, item: Any, initiator: Any = None) -> None:
        state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
        if self.remove_validator is not None:
            self.remove_validator(obj, self.key, item, True)
        dispatch = self.attr.dispatch
        if dispatch is not None and "remove" in dispatch:
            dispatch.fire("remove", obj, item, self.attr)
        self._record(state, obj, item, False)
        for rkey, _rcoll in self.reverse:
            self._reverse_impl(item, rkey).backref_remove(item, obj, self)
        if self.delete_orphan:
            self._lost(state, item)

    # -- called by the reverse side -------------------------------------------------
    def backref_append(self, obj: Any, value: Any, initiator: Any) -> None:
        state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
        self._record(state, obj, value, True)
        self._cascade(state, value, initiator)
        if self.delete_orphan:
            self._regained(value)

    def backref_remove(self, obj: Any, value: Any, initiator: Any) -> None:
        state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
        self._record(state, obj, value, False)
        if self.delete_orphan:
            self._lost(state, value)

    # -- whole-collection operations --------------------------------------------------
    def set(self, obj: Any, value: Any, initiator: Any = None) -> None:
        """Replace the collection: members not in ``value`` are removed, new ones appended."""
        name = f"{self.mapper.class_.__name__}.{self.key}"
        if value is None or isinstance(value, (str, bytes, dict)) or not hasattr(
                value, "__iter__"):
            raise InvalidRequestError(
                f"Can't set dynamic relationship {name} of {describe(obj)} to {value!r}: "
                f"assign a list of {self.target_class.__name__} objects (an empty list removes "
                "every member)"
            )
        items = list(value)
        if self.typecheck:
            for item in items:
                self._check_type(obj, item)
        state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
        self.check_attached(state)
        sess = self.session_of(state)
        if sess is not None and state._key is not None:
            sess._autoflush()  # the rows compared with are read by a query, as on any read
        old = self.members(state, obj, True)
        new_ids = {id(x) for x in items}
        old_ids = {id(x) for x in old}
        for item in old:
            if id(item) not in new_ids:
                self.remove(obj, item, initiator)
        for item in items:
            if id(item) not in old_ids:
                self.append(obj, item, initiator)
                old_ids.add(id(item))

    def delete(self, obj: Any) -> None:
        self.set(obj, [])

    def set_committed(self, state: InstanceState, obj: Any, value: Any) -> None:
        """Nothing to install: a dynamic relationship holds no loaded collection."""

    def refuse_committed_value(self, obj: Any) -> None:
        """``set_committed_value()`` would install a collection this attribute never has."""
        kind = "write-only" if self.prop.lazy == "write_only" else "dynamic"
        raise NoCollectionError(
            f"Can't set the loaded value of {kind} relationship "
            f"{self.mapper.class_.__name__}.{self.key} of {describe(obj)}: it holds no "
            "collection, its members are read with a query; append() the objects instead "
            "(the flush then writes them)"
        )

    def history(self, state: InstanceState, passive: bool = True) -> History:
        p = self.pending(state)
        added = list(p.added) if p is not None else []
        removed = list(p.removed) if p is not None else []
        obj = state.obj()
        if passive or obj is None or state._key is None or self.session_of(state) is None:
            return History(added, [], removed)
        # net the recorded changes against the rows: re-adding a row's object is no
        # addition, removing an object that has no row here is no deletion
        rows = self.query(obj).autoflush(False).all()
        in_rows = {id(x) for x in rows}
        gone = {id(x) for x in removed}
        return History([x for x in added if id(x) not in in_rows],
                       [x for x in rows if id(x) not in gone],
                       [x for x in removed if id(x) in in_rows])


class WriteOnlyImpl(DynamicImpl):
    """``lazy="write_only"``: like a dynamic relationship, changes are kept as pending
    history only, but the members are never loaded, not even by the flush.  Reading
    the attribute gives a :class:`~datamapper.mapping.writeonly.WriteOnlyCollection`."""

    __slots__ = ()

    def _name(self) -> str:
        return f"{self.mapper.class_.__name__}.{self.key}"

    def _has_rows(self, state: InstanceState) -> bool:
        """Could the database hold members of this parent (it has a row)?"""
        return state._key is not None

    def get_missing(self, obj: Any) -> Any:
        from ..mapping.writeonly import WriteOnlyCollection

        state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
        return WriteOnlyCollection(self, obj, state)

    def members(self, state: InstanceState, obj: Any, load: bool = True) -> list[Any]:
        """Pending appends only: when the whole collection is asked for (``load``) and
        the parent has a row, the members can't be known without loading them."""
        if load and self._has_rows(state):
            raise InvalidRequestError(
                f"Can't delete {describe(obj)}: write-only relationship {self._name()} is "
                "never loaded, so its rows can't be let go of (their foreign keys set to "
                "NULL, or deleted by cascade) one by one; configure it with "
                "passive_deletes=True (and ON DELETE CASCADE / SET NULL on the foreign key), "
                f"or run session.execute(obj.{self.key}.delete()) before deleting the parent"
            )
        return self.pending_added(state)

    def set(self, obj: Any, value: Any, initiator: Any = None) -> None:
        """Assign the members of a parent that has no row yet (nothing to compare with);
        refused once the parent has a row, as that would mean loading the members."""
        state = obj.__dict__.get(STATE_ATTR) or instance_state(obj)
        if self._has_rows(state):
            raise InvalidRequestError(
                f"Can't assign to write-only relationship {self._name()} of {describe(obj)}: "
                "replacing the collection would load its current members; use "
                f"obj.{self.key}.add()/add_all()/remove(), or statements from "
                f"obj.{self.key}.update()/delete()"
            )
        super().set(obj, value, initiator)

    def history(self, state: InstanceState, passive: bool = True) -> History:
        """The pending changes: a write-only collection never loads its unchanged members."""
        return super().history(state, True)
