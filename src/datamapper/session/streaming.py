"""The results of an ORM select fetched ``yield_per`` rows at a time.

Callers: ``Session.execute()`` (the ``yield_per`` execution option of a
``select(User)``) and ``Query.yield_per()`` through ``Session._stream_query``.
Each batch of rows becomes objects only when the caller reaches it; with eager
loaders a batch completes (``selectinload()``, ``immediateload()``, a joined
many-to-one), each batch's objects get their relationships before the next
batch is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .._core import SimpleResultMetaData, has_limit_or_offset, order_by_clauses
from ..exc import InvalidRequestError
from ..query.entities import RowLayout, stamp_results
from ..query.plan_execution import stream_with_plans
from .results import OrmResult

if TYPE_CHECKING:
    from ..instance.seam import SessionLike
    from ..loading.criteria import LoaderCriteriaOption
    from ..query.orm_select import ORMSelect
    from .base import SessionBase


def check_yield_per(yield_per: object) -> int:
    """``yield_per`` as a batch size; anything but a positive integer is refused."""
    if isinstance(yield_per, bool) or not isinstance(yield_per, int) or yield_per <= 0:
        raise InvalidRequestError(
            f"Can't use yield_per={yield_per!r}: it is the number of rows per batch; give a "
            "positive integer")
    return yield_per


def stream_results(session: SessionBase, layout: RowLayout, result: Any, yield_per: int,
                   populate_existing: bool, token: Any) -> Any:
    """The objects of an ORM select without eager loaders, fetched ``yield_per`` rows
    at a time; the Core result streams (a server-side cursor where the driver has
    one)."""
    size = check_yield_per(yield_per)

    def batches() -> Any:
        single = layout.single_entity
        try:
            while True:
                rows = result.fetchmany(size)
                if not rows:
                    return
                out._check_owner()  # not built into a map emptied since (see guard())
                yield from session._rows_to_results(layout, rows, populate_existing, token,
                                                    tuples=not single)
        finally:
            result.close()

    out: Any = OrmResult(SimpleResultMetaData(layout.names), batches(),
                         _source_supports_scalars=layout.single_entity).guard(session, layout)
    out.raw = result  # closing the result closes the cursor
    return out.yield_per(size)


def stream_results_with_plans(session: SessionBase, statement: ORMSelect, plans: list[Any],
                              base: Any, run_result: Any, yield_per: object,
                              populate_existing: bool, eager_options: Any,
                              user_options: tuple[Any, ...],
                              criteria: tuple[LoaderCriteriaOption, ...]) -> Any:
    """``stream_results`` for a select with eager loaders a batch completes: each batch's
    objects get their relationships (a SELECT ... IN per batch for selectinload())
    before the next batch is made.  ``base``: the statement with the plans' columns;
    ``run_result(stmt)``: its Core result, read in full by the driver (the eager
    SELECTs run on the same connection between batches, which MySQL's unbuffered
    cursor does not allow)."""
    size = check_yield_per(yield_per)
    layout: RowLayout = statement._dm_layout
    result, objs = stream_with_plans(
        cast("SessionLike", session), statement._dm_entities, plans, base,
        list(order_by_clauses(statement)), has_limit_or_offset(statement), populate_existing,
        session._default_identity_token(), run_result, size, eager_options, user_options,
        criteria)
    single = layout.single_entity

    def rows() -> Any:
        for obj in objs:
            if user_options:
                stamp_results(layout, [obj], user_options)
            yield obj if single else tuple(obj)

    if single:
        out: Any = OrmResult(layout.result_metadata(), rows(), _source_supports_scalars=True)
    else:
        out = OrmResult(layout.result_metadata(layout.result_names(statement._label_style)),
                        rows())
    out.guard(session, layout)
    out.raw = result
    return out.yield_per(size)

