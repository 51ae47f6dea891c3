"""``WriteOnlyCollection``: what reading a ``lazy="write_only"`` relationship returns.

A write-only collection is for collections too large to load: the attribute never
holds the members and nothing ever loads them implicitly.  The program records
changes (``add``, ``add_all``, ``remove``; the next flush writes them, as for any
collection) and builds statements over the members itself: ``select()`` (the
members, filtered to the parent and in the relationship's ``order_by``),
``insert()`` (new rows already linked to the parent; one-to-many only),
``update()`` and ``delete()`` (of the members' rows), to run with
``session.execute()`` / ``session.scalars()``.

The parent's key values enter these statements as parameters read when the
statement runs, so a statement built while the parent is pending sees the key
the autoflush gives it.  The instance layer's ``WriteOnlyImpl`` builds these
objects (see :mod:`datamapper.instance.dynamic`) and records the changes; this
module only talks to it through the methods named here, so it needs nothing of
the instance layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from sqlalchemy import (
    Delete,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.sql import visitors

from .relationships import MANYTOMANY

if TYPE_CHECKING:
    from .relationships import RelationshipProperty

_T = TypeVar("_T")


class WriteOnlyCollection(Generic[_T]):
    """The members of a write-only relationship of one parent object: change them
    with ``add``/``add_all``/``remove``, query and change their rows with the
    statements of ``select()``/``insert()``/``update()``/``delete()``."""

    __slots__ = ("_impl", "_obj", "_state")

    def __init__(self, impl: Any, obj: Any, state: Any) -> None:
        self._impl = impl
        self._obj = obj
        self._state = state

    @property
    def instance(self) -> Any:
        """The parent object whose collection this is."""
        return self._obj

    @property
    def _prop(self) -> RelationshipProperty:
        prop: RelationshipProperty = self._impl.prop
        return prop

    def _name(self) -> str:
        return f"{self._impl.mapper.class_.__name__}.{self._impl.key}"

    # -- changes, written by the next flush --------------------------------------------
    def add(self, item: _T) -> None:
        """Add ``item`` to the collection; the next flush writes the link."""
        self._impl.append(self._obj, item)

    def add_all(self, items: Iterable[_T]) -> None:
        """Add each of ``items``; the next flush writes the links."""
        for item in items:
            self._impl.append(self._obj, item)

    def remove(self, item: _T) -> None:
        """Take ``item`` out of the collection; the next flush writes the change (and
        deletes it, with cascade ``delete-orphan``)."""
        self._impl.remove(self._obj, item)

    def __iter__(self) -> NoReturn:
        raise TypeError(
            f"Can't iterate write-only collection {self._name()}: it is never loaded; "
            f"run session.scalars({self._impl.key}.select()) to read its members"
        )

    # -- statements --------------------------------------------------------------------
    def _parent_value(self, name: str) -> Any:
        return self._impl.parent_values(self._state, self._obj)[name]

    def _late_bind(self, name: str, type_: Any) -> Any:
        """A parameter whose value is the parent's key value when the statement runs."""
        return bindparam(None, callable_=lambda: self._parent_value(name), type_=type_)

    def _criteria(self) -> Any:
        """The relationship's condition with the parent's key values as late parameters."""
        prop = self._prop
        names = {name for name, _key in prop._lazy_params}

        def late(element: Any, **kw: object) -> Any:
            if getattr(element, "__visit_name__", None) == "bindparam" and element.key in names:
                return self._late_bind(element.key, element.type)
            return None

        return visitors.replacement_traverse(prop._lazy_clause, {}, late)

    def select(self) -> Select[_T]:
        """``SELECT`` of the members (in the relationship's ``order_by``); run it with
        ``session.scalars()``.  Add criteria, ordering or limits as to any select."""
        prop = self._prop
        stmt: Select[_T] = select(prop.mapper.class_)
        if prop.secondary is not None and not isinstance(prop.secondary, Table):
            # a join as secondary: FROM it as a whole (its ON clause kept), not its
            # tables one by one
            stmt = stmt.select_from(prop.mapper.class_).select_from(prop.secondary)
        stmt = stmt.where(self._criteria())
        if prop.order_by:
            stmt = stmt.order_by(*prop.order_by)
        return stmt

    def insert(self) -> Insert:
        """``INSERT`` of new members: rows whose foreign key already refers to the
        parent.  Run it with ``session.execute(coll.insert(), [{...}, ...])``."""
        prop = self._prop
        if prop.direction == MANYTOMANY:
            raise InvalidRequestError(
                f"Can't build an INSERT for many-to-many write-only collection "
                f"{self._name()}: its link rows live in table {prop.secondary}; insert the "
                f"{prop.mapper.class_.__name__} rows with insert(), then link the objects "
                "with add_all()"
            )
        values = {}
        for (name, _key), (_lc, rc) in zip(prop._lazy_params, prop.local_remote_pairs,
                                           strict=False):
            values[rc.key] = self._late_bind(name, rc.type)
        return insert(prop.mapper.class_).values(values)

    def update(self) -> Update:
        """``UPDATE`` of the members' rows; add ``.values(...)`` (and more criteria)."""
        return update(self._prop.mapper.class_).where(self._criteria())

    def delete(self) -> Delete:
        """``DELETE`` of the members' rows (more criteria may be added)."""
        return delete(self._prop.mapper.class_).where(self._criteria())

    def __repr__(self) -> str:
        return f"<WriteOnlyCollection {self._name()}>"
