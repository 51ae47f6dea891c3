"""SQLAlchemy's own ``sqlalchemy.ext.mutable`` on datamapper models.

2.x code that keeps ``from sqlalchemy.ext.mutable import MutableDict`` and maps
``mapped_column(MutableDict.as_mutable(JSON))`` with datamapper would otherwise lose
every in-place change silently: SQLAlchemy's extension finds the columns to track by
listening to *its own* mapper's ``mapper_configured`` event, which datamapper's mappers
never fire, and marks changes through its own ``flag_modified``, which does not know
datamapper's objects.

So when a datamapper mapper is configured and that extension has been imported, this
module reads which type objects (``as_mutable``) and type classes (``associate_with``)
it was told to track, and:

- for its ``MutableDict``, ``MutableList`` and ``MutableSet``, tracks the matching
  columns with datamapper's classes of those names (:mod:`datamapper.mutable`, the same
  API): the values are datamapper's ``MutableDict`` (and so on), and changes are written;
- for any other class derived from SQLAlchemy's ``Mutable`` (or ``MutableComposite``),
  refuses the mapping with an :class:`~datamapper.exc.ArgumentError` that says to derive
  it from datamapper's class of the same name: its ``changed()`` would call SQLAlchemy's
  ORM, and the change would be lost.

Nothing of ``sqlalchemy.ext`` or ``sqlalchemy.orm`` is imported here: the modules are
read from ``sys.modules`` only when the program has imported them itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.schema import Column

from . import mutable as dm_mutable
from ._core import class_level_listeners
from .exc import ArgumentError
from .mapping.mapper import Mapper
from .mapping.properties import ColumnProperty

__all__ = ["adopt_sqlalchemy_mutable"]

_KINDS = {
    "Mutable.as_mutable.<locals>.listen_for_type": "as_mutable",
    "Mutable.associate_with.<locals>.listen_for_type": "associate_with",
}


def _closure(fn: object) -> dict[str, object]:
    names = getattr(getattr(fn, "__code__", None), "co_freevars", ())
    cells = getattr(fn, "__closure__", None) or ()
    found: dict[str, object] = {}
    for name, cell in zip(names, cells, strict=False):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return found


def _registrations(sa_mapper_class: Any) -> Iterator[tuple[str, Any, Any]]:
    """``(kind, Mutable subclass, type object or class)`` of each registration that
    SQLAlchemy's mutable extension made on SQLAlchemy's ``Mapper`` class."""
    for fn in class_level_listeners(sa_mapper_class, "mapper_configured"):
        for _ in range(3):  # SQLAlchemy wraps listeners in a closure over ``fn``
            inner = _closure(fn).get("fn")
            if inner is None:
                break
            fn = inner
        kind = _KINDS.get(getattr(fn, "__qualname__", ""))
        if kind is None:
            continue
        cells = _closure(fn)
        if "cls" in cells and "sqltype" in cells:
            yield kind, cells["cls"], cells["sqltype"]


def _matcher(kind: str, sqltype: Any) -> Callable[[Column[object]], bool]:
    if kind == "associate_with":
        return lambda col: isinstance(col.type, sqltype)
    # as_mutable: the very type object, or (a SchemaType is copied with its column)
    # the one SQLAlchemy's extension recorded in the column's info
    return lambda col: col.type is sqltype or col.info.get("_ext_mutable_orig_type") is sqltype


def adopt_sqlalchemy_mutable(mapper: Mapper) -> None:
    """Track the columns of ``mapper`` that ``sqlalchemy.ext.mutable`` was asked to track
    (see the module's docstring); a no-op unless the program imported that extension."""
    sa_mutable = sys.modules.get("sqlalchemy.ext.mutable")
    sa_orm = sys.modules.get("sqlalchemy.orm")
    if sa_mutable is None or sa_orm is None:
        return
    same_named: dict[object, type[dm_mutable.Mutable]] = {
        sa_mutable.MutableDict: dm_mutable.MutableDict,
        sa_mutable.MutableList: dm_mutable.MutableList,
        sa_mutable.MutableSet: dm_mutable.MutableSet,
    }
    for kind, sa_class, sqltype in _registrations(sa_orm.Mapper):
        matches = _matcher(kind, sqltype)
        for prop in mapper.column_attrs:
            if not isinstance(prop, ColumnProperty) or prop.parent is not mapper:
                continue  # a subclass's mapper shares its base's attribute: once only
            col = prop.columns[0]
            if not isinstance(col, Column) or not matches(col):
                continue
            ours = same_named.get(sa_class)
            if ours is None:
                raise ArgumentError(
                    f"Can't map {mapper.class_.__name__}.{prop.key}: its type tracks "
                    f"in-place changes with {sa_class.__name__}, a class derived from "
                    "sqlalchemy.ext.mutable.Mutable, which reports changes to SQLAlchemy's "
                    "own ORM only, so they would never be written; derive "
                    f"{sa_class.__name__} from datamapper.mutable.Mutable (the same API: "
                    "coerce(), changed()) instead")
            ours.associate_with_attribute(getattr(mapper.class_, prop.key))
