"""The handle on one relationship collection that ``attributes.init_collection()``
and ``collection_adapter()`` give (:class:`CollectionAdapter`), and :func:`members`,
the member objects of a collection value.

Called by instance/collections.py and instance/collection_custom.py (an instrumented
collection's ``_sa_adapter``), by the public ``datamapper.attributes`` and
``datamapper.collections`` modules, and (``members``) by the cascade, merge and flush
code through instance/collections.py, which re-exports both names.  Plain Python: no
SQLAlchemy import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def members(value: Any) -> Any:
    """The member objects of a relationship collection value: a keyed dictionary's
    values, any other collection itself."""
    if isinstance(value, dict):
        return list(value.values())
    return value


class CollectionAdapter:
    """What ``attributes.init_collection()`` returns: a handle on one relationship
    collection that adds and removes members with or without the attribute
    events (history, backrefs, cascades, validators, listeners).

    Without events, changes are not history: use them to fill a collection as
    if it had been loaded.  ``data`` is the collection itself.
    """

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data

    @property
    def owner_state(self) -> Any:
        return self.data._dm_state

    @property
    def attr(self) -> Any:
        return self.data._dm_impl.attr

    @property
    def _referenced_by_owner(self) -> bool:
        """Whether the owner's attribute still holds this collection (False for the
        collection being replaced by an assignment).  Read by collection classes
        written for SQLAlchemy, such as its ordering list."""
        owner = self.data._dm_owner
        return owner is not None and owner.__dict__.get(self.data._dm_impl.key) is self.data

    def append_with_event(self, item: Any, initiator: Any = None) -> None:
        self.data.append(item)

    def append_without_event(self, item: Any) -> None:
        self.data._dm_append_quiet(item)

    def append_multiple_without_event(self, items: Iterable[Any]) -> None:
        for item in items:
            self.data._dm_append_quiet(item)

    def remove_with_event(self, item: Any, initiator: Any = None) -> None:
        self.data.remove(item)

    def remove_without_event(self, item: Any) -> None:
        self.data._dm_remove_quiet(item)

    def clear_with_event(self, initiator: Any = None) -> None:
        self.data.clear()

    def clear_without_event(self) -> None:
        for item in list(members(self.data)):
            self.data._dm_remove_quiet(item)

    def fire_append_event(self, item: Any, initiator: Any = None) -> Any:
        """Run the append events for ``item`` without adding it; returns the item the
        events settled on (a validator or listener may replace it)."""
        data = self.data
        return data._dm_impl.fire_append(data._dm_state, data, item, initiator)

    def fire_remove_event(self, item: Any, initiator: Any = None) -> None:
        data = self.data
        data._dm_impl.fire_remove(data._dm_state, data, item, initiator)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(members(self.data)))

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<CollectionAdapter of {self.data!r}>"
