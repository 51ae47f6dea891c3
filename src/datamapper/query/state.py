"""The state a ``Query`` carries from one generation to the next: its constructor,
``_clone()`` (what each generative method starts from), the checks that refuse a
generation the query's state does not allow, and the few accessors every part of
the ``Query`` uses (its session, bind mapper, entity mappers, label style)."""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
)
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.selectable import FromClause, SelectLabelStyle
from sqlalchemy.sql.util import ClauseAdapter

from ..instance.seam import SessionLike
from ..mapping.mapper import Mapper
from .entities import (
    entity_layout,
)

_T = TypeVar("_T")


class QueryState(Generic[_T]):
    """The criteria and settings of a Query; each generative method returns a changed copy."""

    def __init__(self, entities: object, session: SessionLike | None = None) -> None:
        if not isinstance(entities, (list, tuple)):
            entities = [entities]
        self._entities = list(entities)
        self.session = session
        self._layout = entity_layout(self._entities)
        self._where: list[ColumnElement[bool]] = []
        self._order_by: list[ColumnElement[object]] = []
        self._group_by: list[ColumnElement[object]] = []
        self._having: list[ColumnElement[bool]] = []
        self._limit: int | ColumnElement[int] | None = None
        self._offset: int | ColumnElement[int] | None = None
        self._distinct = False
        self._distinct_on: tuple[object, ...] = ()  # distinct(*expr): PostgreSQL DISTINCT ON
        self._extensions: tuple[object, ...] = ()  # ext(): Core syntax extensions
        self._for_update: dict[str, object] | None = None
        # correlate(): FROM elements an enclosing SELECT supplies; (None,): none at all
        self._correlate: tuple[object, ...] | None = None
        self._populate_existing = False
        self._autoflush = True
        # (target, ON, outer[, left FROM of a relationship join, its dedupe key])
        self._joins: list[tuple[Any, ...]] = []
        self._joinpoint: Mapper | None = self._layout.primary_mapper
        self._join_entity: object = None  # the last join target, for filter_by()
        # (mapper, alias): a join along a relationship read the mapper's class through
        # the alias (its tables overlap the query's); criteria naming the class name it
        self._auto_aliases: tuple[tuple[Mapper, Any], ...] = ()
        self._options: list[object] = []
        self._yield_per: int | None = None
        self._params: dict[str, object] = {}
        self._select_from: list[object] = []
        # the first mapped class select_from() named: the bind of a query of no entity
        # (Query([1]).select_from(User)) is that class's
        self._from_mapper: Mapper | None = None
        self._execution_options: dict[str, object] = {}
        self._shard_id: object = None
        self._tuples = False
        self._enable_assertions = True
        self._eagerloads = True
        self._statement: Executable | None = None  # from_statement(): the full SELECT to run instead
        self._adapter: ClauseAdapter | None = None  # after union() etc.: criteria go against the subquery
        self._prefixes: list[tuple[str | ClauseElement, str]] = []
        self._suffixes: list[tuple[str | ClauseElement, str]] = []
        self._hints: list[tuple[FromClause | None, str, str]] = []  # (selectable or None, text, dialect)
        self._label_style: SelectLabelStyle | None = None

    def _clone(self, **changes: object) -> Self:
        """A copy of this query (its lists and dicts its own), with ``changes`` (new
        values of its state attributes, by name) applied."""
        q = self.__class__.__new__(self.__class__)
        d = self.__dict__
        # the lists and dicts a generative method changes in place are the clone's own
        q.__dict__.update(d, _where=d["_where"][:], _order_by=d["_order_by"][:],
                          _group_by=d["_group_by"][:], _having=d["_having"][:],
                          _joins=d["_joins"][:], _options=d["_options"][:],
                          _select_from=d["_select_from"][:], _prefixes=d["_prefixes"][:],
                          _suffixes=d["_suffixes"][:], _hints=d["_hints"][:],
                          _params=d["_params"].copy(),
                          _execution_options=d["_execution_options"].copy())
        if changes:
            q.__dict__.update(changes)
        return q

    def _refuse_after_statement(self, meth: str) -> None:
        if self._statement is not None and self._enable_assertions:
            raise InvalidRequestError(
                f"Can't call Query.{meth}(): this query runs a full statement given to "
                "from_statement(), which criteria can't change; put them in that statement"
            )

    def _refuse_after_limit(self, meth: str) -> None:
        if self._enable_assertions and (self._limit is not None or self._offset is not None):
            raise InvalidRequestError(
                f"Can't call Query.{meth}() on a query with LIMIT or OFFSET: it would change "
                f"which rows the limit counts; call {meth}() before limit()/offset()/slicing, "
                "or use enable_assertions(False)"
            )

    def _refuse_after_criteria(self, meth: str, order_by: bool = True) -> None:
        if not self._enable_assertions:
            return
        if (self._where or self._statement is not None or self._select_from or self._joins
                or self._limit is not None or self._offset is not None or self._group_by
                or (order_by and self._order_by) or self._distinct):
            raise InvalidRequestError(
                f"Can't call Query.{meth}() on a query with criteria already applied (filter, "
                f"join, order_by, limit, distinct ...); call {meth}() first, or use "
                "enable_assertions(False)"
            )

    def get_label_style(self) -> SelectLabelStyle:
        return self._label_style if self._label_style is not None else \
            LABEL_STYLE_TABLENAME_PLUS_COL

    def _session(self) -> SessionLike:
        if self.session is None:
            raise InvalidRequestError(
                "Can't execute this Query: it is not associated with a Session; build it with "
                "session.query(...) or call query.with_session(session)"
            )
        return self.session

    def _bind_mapper(self) -> Mapper | None:
        """The mapper whose bind runs this query: its entities', else the class
        select_from() named."""
        return self._layout.bind_mapper or self._from_mapper

    def _part_mappers(self) -> list[Mapper | None]:
        return [p.mapper if kind == "entity" else None for kind, p in self._layout.parts]

    def _shard_token(self) -> object:
        return self._shard_id
