"""Checks of the arguments a ``Query`` method is given, and the small arithmetic of
its OFFSET/LIMIT: each refuses what has no SQL form with a named error, before any
SQL is built (shared by the ``Query`` parts in ``query/``)."""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.elements import ClauseElement

from .._core import (
    coercions,
)
from .._util import describe
from ..exc import UnmappedClassError
from .entities import (
    mapper_of,
)


def empty_slice(item: object) -> bool:
    """``[5:5]``, ``[-2:-5]``: a slice that selects nothing whatever the rows are."""
    return (isinstance(item, slice) and isinstance(item.start, int)
            and isinstance(item.stop, int) and item.stop <= item.start)


def refuse_negative_index(item: object) -> None:
    """Indexes and slices of a query become OFFSET/LIMIT, which count from the first
    row: a negative position has no SQL form (SQLAlchemy 2.x refuses it too; a slice
    that selects nothing is no error)."""
    if isinstance(item, slice):
        if empty_slice(item):
            return
        bad = [v for v in (item.start, item.stop) if isinstance(v, int) and v < 0]
    else:
        bad = [item] if isinstance(item, int) and item < 0 else []
    if bad:
        raise IndexError(
            f"Can't take [{_describe_item(item)}] of a query: negative positions count "
            "from the end, which SQL's OFFSET/LIMIT can't express; order the query the "
            "other way, or index the list from .all()"
        )


def _describe_item(item: object) -> str:
    if isinstance(item, slice):
        parts = ["" if v is None else str(v) for v in (item.start, item.stop)]
        return ":".join(parts) + (f":{item.step}" if item.step is not None else "")
    return str(item)


def text_or_refuse(value: object, what: str) -> str | ClauseElement:
    if isinstance(value, (str, ClauseElement)):
        return value
    raise ArgumentError(
        f"Can't use {describe(value)} as a {what}: pass SQL text such as 'IGNORE' or a "
        "text() clause"
    )


def sql_or_refuse(value: Any, role: Any, verb: str, advice: str) -> Any:
    """``value`` if Core accepts it in ``role`` (checked only for what is not already
    a SQL element); else the named error, before any SQL is built or sent."""
    if isinstance(value, ClauseElement) or hasattr(value, "__clause_element__"):
        return value
    try:
        coercions.expect(role, value)
    except ArgumentError:
        if isinstance(value, type):
            if mapper_of(value) is None:
                raise UnmappedClassError(
                    f"Can't {verb} class {value.__name__}: it is not mapped and not a SQL "
                    f"expression; pass {advice}"
                ) from None
            raise ArgumentError(
                f"Can't {verb} the class {value.__name__}: a class is not a SQL expression "
                f"here; pass {advice}"
            ) from None
        raise ArgumentError(
            f"Can't {verb} {describe(value)}: a {type(value).__name__} object is not a SQL "
            f"expression; pass {advice}"
        ) from None
    return value


def refuse_option(option: object) -> NoReturn:
    raise ArgumentError(
        f"Can't apply {describe(option)} as a query option: it is not a loader option; "
        "pass e.g. joinedload(User.addresses), defer(User.name) or lazyload('*')"
    )


def offset_plus(base: Any, extra: Any) -> Any:
    """``base + extra`` for OFFSET arithmetic: in Python for integers (None is 0), as
    a SQL expression once either is one."""
    if base is None or (isinstance(base, int) and base == 0):
        return 0 if extra is None else extra
    if extra is None or (isinstance(extra, int) and extra == 0):
        return base
    return base + extra


def int_or_refuse(value: object, verb: str) -> None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return
    if isinstance(value, ClauseElement):
        return
    raise ArgumentError(
        f"Can't {verb} by {describe(value)}: it is not an integer; pass a row count "
        "such as 10"
    )
