"""``AppenderQuery``: what reading a ``lazy="dynamic"`` relationship returns.

Callers: the instance layer's :class:`~datamapper.instance.dynamic.DynamicImpl`,
through the factory this module registers on import.  The query selects the
relationship's target filtered to the parent object (the relationship's lazy
clause, with the parent's key values bound when the statement is built, i.e.
after the autoflush), through the ``secondary`` table for many-to-many, and
ordered by the relationship's ``order_by``.  It is a full :class:`Query`, plus
``append``/``remove``/``extend``, which record changes the next flush writes.
While the parent has no row (transient, or pending without an autoflush) it
yields the objects appended so far, without SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from ..instance.dynamic import DynamicImpl
from ..instance.state import InstanceState, instance_state
from .arguments import empty_slice, refuse_negative_index
from .query import Query


class AppenderQuery(Query[Any]):
    """A query of a dynamic relationship's members that can also change them.

    ``relationship(..., lazy="dynamic", query_class=MyQuery)``: the attribute's query
    is an instance of a subclass of both (:func:`appender_query`), so ``MyQuery``'s own
    methods refine it."""

    def __init__(self, impl: DynamicImpl, obj: Any) -> None:
        prop = impl.prop
        super().__init__(prop.mapper.class_, None)
        self._dm_impl = impl
        self._dm_obj = obj
        self._dm_parent: InstanceState = instance_state(obj)
        if prop.order_by:
            self._order_by = list(prop.order_by)

    # -- the session is the parent's, looked up on use ------------------------------
    @property
    def session(self) -> Any:
        explicit = self.__dict__.get("_dm_session")
        if explicit is not None:
            return explicit
        return self._dm_impl.session_of(self._dm_parent)

    @session.setter
    def session(self, value: object) -> None:
        self.__dict__["_dm_session"] = value

    @property
    def instance(self) -> Any:
        """The parent object whose collection this is."""
        return self._dm_obj

    @property
    def attr(self) -> Any:
        return self._dm_impl.attr

    def _parent_has_row(self) -> bool:
        """Autoflush (when on), then tell whether the parent has a row to query by.

        False means: answer from the objects appended so far, without SQL.
        """
        state = self._dm_parent
        sess = self.session
        if sess is None:
            if self._dm_impl.is_detached(state):
                self._dm_impl.warn_detached(state)
            return False
        if self._autoflush and state.session_id is not None:
            sess._autoflush()
        return state._key is not None

    def _clone(self, **changes: object) -> AppenderQuery:
        # refining the query (filter, order_by, limit, first ...) needs the parent's
        # Session to run it in; a detached parent has none
        if self.__dict__.get("_dm_session") is None:
            self._dm_impl.check_attached(self._dm_parent, "query")
        return super()._clone(**changes)

    # -- statement -------------------------------------------------------------------
    def _compile(self, columns: list[Any] | None = None, label_style: object = None) -> object:
        impl = self._dm_impl
        prop = impl.prop
        stmt = super()._compile(columns, label_style)
        if prop.secondary is not None:
            stmt = stmt.select_from(prop.mapper.local_table).select_from(prop.secondary)
        # the parent's key values are read when the statement runs, not now: a statement
        # taken from a pending parent (``.statement``) sees the key its autoflush
        # assigns, one kept past an expiry the key from the identity
        state, obj = self._dm_parent, self._dm_obj
        d = obj.__dict__
        keys = dict(prop._lazy_params)

        def value_of(key: str) -> Any:
            if key not in d:
                impl.load_keys(state, obj)
            return d.get(key)

        def late(element: object, **kw: object) -> Any:
            if isinstance(element, BindParameter) and element.key in keys:
                key = keys[element.key]
                return bindparam(element.key, type_=element.type,
                                 callable_=lambda: value_of(key))
            return None

        return stmt.where(
            visitors.replacement_traverse(prop._lazy_clause, {}, late))

    # -- execution -------------------------------------------------------------------
    def _iter_results(self) -> list[object]:
        if not self._parent_has_row():
            return self._dm_impl.pending_added(self._dm_parent)
        return super()._iter_results()

    def count(self) -> int:
        if not self._parent_has_row():
            return len(self._dm_impl.pending_added(self._dm_parent))
        return super().count()

    def __getitem__(self, item: Any) -> Any:
        refuse_negative_index(item)
        if empty_slice(item):
            return []
        if not self._parent_has_row():
            return self._dm_impl.pending_added(self._dm_parent)[item]
        return super().__getitem__(item)

    # -- changes -----------------------------------------------------------------------
    def append(self, item: object) -> None:
        """Add ``item`` to the collection; the next flush writes the link."""
        self._dm_impl.append(self._dm_obj, item)

    def remove(self, item: object) -> None:
        """Take ``item`` out of the collection; the next flush writes the change."""
        self._dm_impl.remove(self._dm_obj, item)

    def extend(self, items: Iterable[Any]) -> None:
        """Add each of ``items`` (the list spelling of :meth:`add_all`)."""
        for item in items:
            self._dm_impl.append(self._dm_obj, item)

    def add(self, item: object) -> None:
        """Add ``item`` to the collection (the 2.x spelling of :meth:`append`)."""
        self._dm_impl.append(self._dm_obj, item)

    def add_all(self, items: Iterable[Any]) -> None:
        """Add each of ``items`` (the 2.x spelling of :meth:`extend`)."""
        for item in items:
            self._dm_impl.append(self._dm_obj, item)

    def __repr__(self) -> str:
        impl = self._dm_impl
        return f"<AppenderQuery {impl.mapper.class_.__name__}.{impl.key}>"



_MIXED: dict[type, type] = {}


def appender_query(impl: DynamicImpl, obj: object) -> AppenderQuery:
    """The query a dynamic relationship's attribute reads as (the factory the instance
    layer calls): an :class:`AppenderQuery`, also of the relationship's ``query_class``
    when it names one."""
    qc = impl.prop.query_class
    if qc is None or issubclass(AppenderQuery, qc):
        return AppenderQuery(impl, obj)
    cls = _MIXED.get(qc)
    if cls is None:
        if not (isinstance(qc, type) and issubclass(qc, Query)):
            raise ArgumentError(
                f"Can't use query_class={qc!r} for relationship {impl.prop}: it must be a "
                "subclass of datamapper.Query"
            )
        cls = _MIXED[qc] = type(f"Appender{qc.__name__}", (AppenderQuery, qc), {})
    out: AppenderQuery = cls(impl, obj)
    return out
