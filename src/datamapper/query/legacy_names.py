"""The 0.3/0.4 spellings of ``Query`` (``select_by``, ``selectfirst``, ``select``,
``get_by``) and the deprecated ``tuples()``, each warning with its modern form."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from .._util import warn_deprecated
from .execution import QueryExecution

_T = TypeVar("_T")


class QueryLegacy(QueryExecution[_T]):
    """The deprecated spellings of a Query's methods."""

    def select_by(self, *args: object, **kwargs: object) -> list[Any]:
        warn_deprecated("Query.select_by()", "Query.filter_by(...).all()")
        q = self.filter(*args) if args else self
        return q.filter_by(**kwargs).all()

    def selectfirst(self, criterion: object = None, **kw: object) -> Any:
        warn_deprecated("Query.selectfirst()", "Query.filter(...).first()")
        q = self.filter(criterion) if criterion is not None else self
        return q.first()

    def select(self, criterion: object = None, **kw: object) -> list[Any]:
        warn_deprecated("Query.select()", "Query.filter(...).all()")
        q = self.filter(criterion) if criterion is not None else self
        if "order_by" in kw:
            ob = kw["order_by"]
            q = q.order_by(*(ob if isinstance(ob, (list, tuple)) else [ob]))
        if "limit" in kw:
            q = q.limit(kw["limit"])
        if "offset" in kw:
            q = q.offset(kw["offset"])
        return q.all()

    def get_by(self, **kwargs: object) -> Any:
        warn_deprecated("Query.get_by()", "Query.filter_by(...).first()")
        return self.filter_by(**kwargs).first()

    def reset_joinpoint(self) -> Self:
        """The query with its join point back at its first entity (or what
        ``select_from()`` named): ``filter_by()`` and string ``order_by()`` name it again
        after ``join()``; the joins stay.  (Legacy, as SQLAlchemy's.)"""
        q = self._clone()
        first = q._select_from[0] if q._select_from else None
        q._join_entity = q._from_mapper.class_ if q._from_mapper is not None else first
        q._joinpoint = q._from_mapper or q._layout.primary_mapper
        return q

    def merge_result(self, iterator: Any, load: bool = True) -> Any:
        """Merge what a query of this shape returned (a list of objects or rows, or a
        ``FrozenResult``) into this query's session: each mapped object is replaced by
        the session's copy (``Session.merge(obj, load=load)``), with autoflush off.
        Returns an iterator of the merged rows, or a new ``FrozenResult`` when given
        one.  Deprecated in favour of ``loading.merge_frozen_result()``."""
        from ..loading.merge import merge_result

        warn_deprecated("Query.merge_result()",
                        "datamapper.loading.merge_frozen_result(session, stmt, result.freeze())")
        return merge_result(self, iterator, load)

    def tuples(self) -> Self:
        """Deprecated: rows are tuples already; ``only_return_tuples(True)`` is what it
        does (rows even for a query of one mapped class).  The warning is Core's
        ``SADeprecationWarning`` (a ``DeprecationWarning``), as SQLAlchemy's own."""
        import warnings

        from sqlalchemy.exc import SADeprecationWarning

        warnings.warn(
            "Query.tuples() is deprecated, Row now behaves like a tuple (it unpacks and "
            "indexes as one); use the query as it is, or only_return_tuples(True) for rows "
            "of a single mapped class", SADeprecationWarning, stacklevel=2)
        return self.only_return_tuples(True)
