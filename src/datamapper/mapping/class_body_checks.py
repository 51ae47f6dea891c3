"""Class-body values of a declarative class that look like mapping but are not:
a Column followed by a stray comma (a one-element tuple) or a plain SQL expression
(``sa.column("x")``) warn, as they map nothing; a mapped attribute of the class's
own hierarchy under another name (``brap = A.data``) becomes a synonym of it.
Called by the registry before it scans a class, and when an attribute is assigned
to a mapped class."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column
from sqlalchemy.exc import SAWarning
from sqlalchemy.sql.elements import ColumnElement

from .declarative import MappedColumn, declared_attr
from .properties import MapperProperty


def warn_unmapped_lookalikes(cls: type, attrs: Mapping[str, Any]) -> None:
    """Warn for each attribute of ``attrs`` (``cls``'s and its mixins' class bodies)
    that a reader would take for a mapped attribute, but that the mapping skips."""
    for key, value in attrs.items():
        if key.startswith("__") or isinstance(value, declared_attr):
            continue
        _check(cls, key, value)


def check_declared_attr_value(cls: type, key: str, value: object) -> None:
    """The same check for what a ``declared_attr`` gave for ``cls``."""
    _check(cls, key, value)


def _check(cls: type, key: str, value: object) -> None:
    mapping_kinds = (Column, MappedColumn, MapperProperty)
    if isinstance(value, tuple) and value and all(isinstance(v, mapping_kinds) for v in value):
        warnings.warn(
            f"{cls.__name__}.{key} is a tuple holding {value[0]!r}, so it maps nothing "
            "(a trailing comma after the Column?); remove the comma to map it",
            SAWarning, stacklevel=6)
    elif isinstance(value, ColumnElement) and not isinstance(value, Column):
        warnings.warn(
            f"{cls.__name__}.{key} is a SQL expression ({type(value).__name__}), not a "
            "table Column, so it maps nothing; declare the column with Column(...) or "
            "mapped_column(...), or map the expression with column_property(...)",
            SAWarning, stacklevel=6)


def alias_as_synonym(cls: type, key: str, value: object) -> object:
    """``value`` as the class attribute ``key`` of ``cls``: a mapped attribute of
    ``cls``'s own hierarchy under another name (``brap = A.data``) is a synonym of
    it, so that reading and writing ``obj.brap`` is reading and writing ``obj.data``;
    anything else is returned unchanged."""
    from .attributes import QueryableAttribute
    from .mapper import _mapper_or_none
    from .properties import synonym

    if not isinstance(value, QueryableAttribute) or value.key == key:
        return value
    owner = _mapper_or_none(value.class_)
    if owner is None or not any(_mapper_or_none(k) is owner for k in cls.__mro__):
        return value  # another class's attribute: a plain class attribute
    return synonym(value.key)


def synonyms_for_aliases(cls: type) -> None:
    """Turn the aliases of ``cls``'s class body (see :func:`alias_as_synonym`) into
    synonyms before the class is scanned."""
    for key, value in list(vars(cls).items()):
        made = alias_as_synonym(cls, key, value)
        if made is not value:
            type.__setattr__(cls, key, made)
