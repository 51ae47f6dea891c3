"""Merging whole results into a session: the caching recipes' counterpart of
``Session.merge()``.

A result cached outside any session (a ``FrozenResult`` from ``Result.freeze()``,
or the list a legacy ``Query`` returned) holds objects of the session that loaded
it.  Before another session uses those rows, each mapped object in them is
replaced by that session's own copy (``Session.merge()``); plain column values
are kept as they are.  Autoflush is off while the rows are merged, so merging
never writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy.engine import FrozenResult
from sqlalchemy.exc import ArgumentError

from .._core import result_tuple
from .._util import describe


def _is_mapped_object(value: object) -> bool:
    return value is not None and getattr(type(value), "_dm_mapper", None) is not None


def _merged(session: Any, value: object, load: bool) -> object:
    if _is_mapped_object(value):
        return session.merge(value, load=load)
    return value


def _merged_row(session: Any, row: Any, load: bool) -> list[object]:
    return [_merged(session, value, load) for value in row]


def merge_frozen_result(session: Any, statement: object, frozen_result: FrozenResult[Any],
                        load: bool = True) -> FrozenResult[Any]:
    """A new ``FrozenResult`` whose rows hold ``session``'s copies of the mapped
    objects of ``frozen_result`` (merged with ``load``, see ``Session.merge()``).

    ``statement`` is the statement that produced the result; it is accepted for the
    familiar signature, the objects themselves tell which values are mapped.
    """
    if not isinstance(frozen_result, FrozenResult):
        raise ArgumentError(
            f"merge_frozen_result() needs the FrozenResult that Result.freeze() returns, "
            f"not {type(frozen_result).__name__}; call result.freeze() first"
        )
    rows = frozen_result().all()
    with session.no_autoflush:
        merged = [_merged_row(session, row, load) for row in rows]
    return frozen_result.with_new_rows(merged)  # type: ignore[arg-type]  # lists stand for rows here, as Result.freeze() data does


def merge_result(query: Any, iterator: Iterable[Any] | FrozenResult[Any],
                 load: bool = True) -> Iterator[Any] | FrozenResult[Any]:
    """``Query.merge_result()``: the rows of ``iterator`` (what a query of the same
    shape returned, or its frozen result) with every mapped object replaced by the
    query's session's copy."""
    session = query.session
    if session is None:
        raise ArgumentError("merge_result() needs a Query bound to a Session; this one has none")
    if isinstance(iterator, FrozenResult):
        return merge_frozen_result(session, query, iterator, load)
    if isinstance(iterator, type) or not isinstance(iterator, Iterable) or \
            _is_mapped_object(iterator):
        raise ArgumentError(
            f"Can't merge_result() {describe(iterator)}: it takes the rows a query of the "
            "same shape returned (a list of objects or rows) or their FrozenResult")
    out: list[Any] = []
    with session.no_autoflush:
        for row in iterator:
            fields = getattr(row, "_fields", None)
            if fields is not None and not _is_mapped_object(row):
                out.append(result_tuple(fields)(_merged_row(session, row, load)))
            else:
                out.append(_merged(session, row, load))
    return iter(out)
