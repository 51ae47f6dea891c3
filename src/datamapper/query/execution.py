"""Running a ``Query``: autoflush, the ``do_orm_execute`` listeners, the plain and
eager-loading paths to objects (through the session and the loading layer), the
result methods (``all``/``first``/``one``/``scalar``/``get``/``count``/iteration)
and the bulk ``update()``/``delete()``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    Exists,
    Select,
    func,
    literal_column,
)
from sqlalchemy import select as core_select
from sqlalchemy.engine import IteratorResult
from sqlalchemy.exc import ArgumentError, InvalidRequestError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql.base import ExecutableOption

from .._core import (
    SimpleResultMetaData,
    statement_options,
)
from .._util import describe
from ..instance.seam import SessionLike
from ..loading.criteria import LoaderCriteriaOption, criteria_options
from ..loading.rows import paused_load
from . import events as query_events
from .aliased import AliasedClass
from .arguments import (
    empty_slice,
    refuse_negative_index,
)
from .entities import (
    RowLayout,
    stamp_results,
)
from .from_statement import load_from_statement
from .option_plans import build_plans, check_yield_per_plans, without_eager_nodes
from .options import propagating_options
from .plan_execution import (
    execute_with_plans,
    stream_with_plans,
    unique_entity_rows,
    unique_rows,
)
from .setops import QuerySetOps

_T = TypeVar("_T")


class QueryExecution(QuerySetOps[_T]):
    """Execution and results of a Query."""

    def __getitem__(self, item: Any) -> Any:
        refuse_negative_index(item)
        if empty_slice(item):
            return []
        if isinstance(item, slice):
            start, stop, step = item.start, item.stop, item.step
            if step not in (None, 1):
                return list(self)[item]
            return self.slice(start, stop).all()
        rows = self.slice(item, item + 1).all()
        if not rows:
            raise IndexError("query result index out of range")
        return rows[0]

    def _execute_rows(self) -> list[object]:
        session = self._session()
        if self._autoflush:
            session._autoflush()
        stmt = self._labelled_statement()
        result: list[object] = session._execute_for_mapper(stmt, self._bind_mapper(), self)
        return result

    def _iter_results(self) -> list[Any]:
        session = self._session()
        q = self._before_compile()
        if q is not self:
            return q._iter_results()
        if "do_orm_execute" in session.dispatch.active:
            return self._results_through_listeners(session)
        return self._iter_results_plain(session)

    def _results_through_listeners(self, session: SessionLike) -> list[object]:
        """Results when the session has ``do_orm_execute`` listeners: they see this
        query's SELECT (with its options) and may change its execution options,
        parameters, or the statement, or return a result of their own."""
        stmt = self._compile()
        opts = [o for o in self._options if isinstance(o, ExecutableOption)]
        if opts:
            stmt = stmt.options(*opts)

        def run(st: object, params: object, exec_opts: dict[str, Any], bind_kw: dict[str, Any]
                ) -> Any:
            q = self
            if st is not stmt:
                # the listener only added options (with_loader_criteria() ...): still this
                # query, with them; any other statement runs as given
                extra = [o for o in statement_options(st) if o not in opts]
                if not extra or not stmt.options(*extra).compare(st):
                    return session._execute_impl(st, params, None, None, exec_opts, bind_kw)
                q = self.options(*extra)
            q = q._clone()
            q._execution_options = dict(exec_opts)
            if "autoflush" in exec_opts:
                q._autoflush = bool(exec_opts["autoflush"])
            if "populate_existing" in exec_opts:
                q._populate_existing = bool(exec_opts["populate_existing"])
            if params:
                q = q.params(params)
            objs = q._iter_results_plain(session)
            if q._layout.single_entity:
                return IteratorResult(SimpleResultMetaData(q._layout.names), iter(objs),
                                      _source_supports_scalars=True)
            return IteratorResult(SimpleResultMetaData(q._layout.names),
                                  iter([tuple(o) for o in objs]))

        result = session._fire_orm_execute(stmt, None, self._execution_options, None, run,
                                           [m for m in self._part_mappers() if m is not None],
                                           load_flags=self._load_flags())
        if self._layout.single_entity:
            return list(result.scalars().all())
        return list(result.all())

    def _load_flags(self) -> dict[str, Any]:
        """What this query sets on its loading itself (yield_per(), populate_existing(),
        autoflush(False), set_shard()), as ``ORMExecuteState.load_options`` shows it."""
        flags: dict[str, Any] = {}
        if self._yield_per:
            flags["yield_per"] = self._yield_per
        if self._populate_existing:
            flags["populate_existing"] = True
        if not self._autoflush:
            flags["autoflush"] = False
        if (token := self._shard_token()) is not None:
            flags["identity_token"] = token
        return flags

    def _iter_results_plain(self, session: SessionLike) -> list[Any]:
        if self._statement is not None:
            return self._statement_results(session)
        plans = build_plans(self._part_mappers(), self._options, self._layout.part_sources())
        if plans is not None and not self._eagerloads:
            plans = without_eager_nodes(plans)
        if plans is not None:
            if self._yield_per:
                check_yield_per_plans(plans)
            out = self._eager_results(session, plans)
        else:
            out = paused_load(self._execute_rows, partial(self._rows_to_objects, session))
            if self._options and (uopts := propagating_options(self._options)):
                stamp_results(self._layout, out, uopts)
        if not self._yield_per and self._rows_may_repeat():
            out = self._unique_entities(out)
        if self._tuples and self._layout.single_entity:
            make = self._layout.row_maker()
            return [make((o,)) for o in out]
        if self._layout.single_bundle and not self._tuples:
            return [r[0] for r in out]
        return out

    def _rows_to_objects(self, session: SessionLike, rows: list[Any]) -> list[Any]:
        if self._for_update is not None:
            session._check_locked_versions(self._layout, rows, self._shard_token())
        return session._rows_to_results(self._layout, rows, self._populate_existing,
                                        self._shard_token())

    def _rows_may_repeat(self) -> bool:
        """Whether one object may come in several rows: the query joins, reads other
        FROMs (select_from(), criteria naming other tables), an aliased() entity or a
        class mapped to a join or a SELECT (its primary key may be one column of many
        rows); a query of its own table alone can't repeat a row."""
        return bool(self._joins or self._adapter is not None or self._select_from or any(
            isinstance(ent, AliasedClass) for ent in self._entities)
            or any(m is not None and m.non_table for m in self._part_mappers())
            or (self._where and self._criteria_read_other_froms()))

    def _unique_entities(self, out: list[Any]) -> list[object]:
        """A Query's rows holding a mapped object come once each, however many rows of
        a joined table matched (join(User.addresses): a user once, not per address)."""
        parts = self._layout.parts
        ents = [i for i, (kind, _p) in enumerate(parts) if kind == "entity"]
        if ents and self._layout.single_entity:
            return unique_rows(out, True)
        if ents:
            return unique_entity_rows(out, ents, len(parts))
        return out

    def _statement_results(self, session: SessionLike) -> list[object]:
        """Rows of the from_statement() statement, each column found by column object
        (or, for text(), by name) and loaded as the selected entities (with the
        query's loader options)."""
        if self._autoflush:
            session._autoflush()
        _layout, out = load_from_statement(
            session, self._entities, self._options if self._eagerloads else [],
            self._statement, self._params, self._execution_options, self._populate_existing,
            self._shard_token())
        if self._tuples and self._layout.single_entity:
            make = self._layout.row_maker()
            return [make((o,)) for o in out]
        return out

    def _eager_results(self, session: SessionLike, plans: list[Any]) -> list[Any]:
        """Results with loader options / configured eager relationships applied."""
        if self._autoflush:
            session._autoflush()
        layout = RowLayout(self._entities, [p.props if p is not None else None for p in plans])
        # labelled as the plain path runs it (and str(query) shows it): <table>_<column>
        base = self._compile(columns=layout.columns).set_label_style(
            LABEL_STYLE_TABLENAME_PLUS_COL)
        mapper = self._bind_mapper()
        uopts = propagating_options(self._options)

        def run(stmt: object) -> list[Any]:
            rows: list[object] = session._execute_for_mapper(stmt, mapper, self)
            return rows

        out = execute_with_plans(
            session, self._entities, plans, base, list(self._order_by),
            self._limit is not None or self._offset is not None, self._populate_existing,
            self._shard_token(), run, self._execution_options, uopts,
            criteria_options(self._options))
        if uopts:
            stamp_results(layout, out, uopts)
        return out

    def all(self) -> list[_T]:
        return self._iter_results()

    def __iter__(self) -> Iterator[_T]:
        # yield_per(n): rows are fetched and turned into objects n at a time (a subclass
        # that runs its queries its own way, such as sharding, keeps doing so)
        if self._yield_per and type(self)._iter_results is QueryExecution._iter_results:
            plans = build_plans(self._part_mappers(), self._options, self._layout.part_sources())
            if plans is None:
                session = self._session()
                if self._autoflush:
                    session._autoflush()
                return iter(session._stream_query(self._compile(), self))
            size = self._yield_per
            if self._statement is None and self._eagerloads and not self._tuples and \
                    isinstance(size, int) and not isinstance(size, bool) and size > 0 and \
                    not self._layout.single_bundle and \
                    "do_orm_execute" not in self._session().dispatch.active:
                # selectinload() ...: each batch of rows with its eager loads
                check_yield_per_plans(plans)
                return self._stream_eager(self._session(), plans, size)
        return iter(self._iter_results())

    def _stream_eager(self, session: SessionLike, plans: list[Any], size: int) -> Iterator[Any]:
        """yield_per(n) with eager loaders a batch completes: n rows at a time, each
        batch's objects with their relationships loaded (a SELECT per batch)."""
        if self._autoflush:
            session._autoflush()
        layout = RowLayout(self._entities, [p.props if p is not None else None for p in plans])
        base = self._compile(columns=layout.columns).set_label_style(
            LABEL_STYLE_TABLENAME_PLUS_COL)
        mapper = self._bind_mapper()
        uopts = propagating_options(self._options)
        # the driver's cursor is read in full (not a server-side cursor: the eager loads
        # run on the same connection between batches, which MySQL's unbuffered cursor
        # does not allow: the rows not yet read were lost); the objects are made and
        # loaded a batch at a time
        opts = self._execution_options

        def run_result(stmt: object) -> Any:
            return session._run(stmt, None, session.get_bind(mapper=mapper, clause=stmt), opts)

        _, objs = stream_with_plans(
            session, self._entities, plans, base, list(self._order_by),
            self._limit is not None or self._offset is not None, self._populate_existing,
            self._shard_token(), run_result, size, self._execution_options, uopts,
            criteria_options(self._options))
        for obj in objs:
            if uopts:
                stamp_results(layout, [obj], uopts)
            yield obj

    def first(self) -> _T | None:
        if self._statement is not None:  # from_statement(): the statement runs as written
            rows = self._iter_results()
            return rows[0] if rows else None
        limit = self._limit
        rows = [] if isinstance(limit, int) and limit <= 0 else self.limit(1)._iter_results()
        return rows[0] if rows else None

    def one_or_none(self) -> _T | None:
        rows = self._iter_results()
        if len(rows) > 1:
            raise MultipleResultsFound(
                f"Multiple rows were found when one or none was required ({len(rows)} rows)"
            )
        return rows[0] if rows else None

    def one(self) -> _T:
        rows = self._iter_results()
        if not rows:
            raise NoResultFound("No row was found when one was required")
        if len(rows) > 1:
            raise MultipleResultsFound(
                f"Multiple rows were found when exactly one was required ({len(rows)} rows)"
            )
        return cast(_T, rows[0])

    def scalar(self) -> Any:
        try:
            ret = self.one()
        except NoResultFound:
            return None
        if not self.is_single_entity:
            return cast(Any, ret)[0]  # a row: its first column
        return ret

    def get(self, ident: object) -> _T | None:
        mapper = self._layout.primary_mapper
        if mapper is None:
            raise InvalidRequestError("Can't get(): the query selects no mapped entity")
        return cast("_T | None", self._session()._get_impl(
            mapper, ident, populate_existing=self._populate_existing,
            with_for_update=self._for_update, query=self))

    def count(self) -> int:
        session = self._session()
        if self._autoflush:
            session._autoflush()
        inner = self._labelled_statement().subquery()
        stmt = core_select(func.count()).select_from(inner)
        if "do_orm_execute" in session.dispatch.active:
            return self._count_through_listeners(session, stmt)
        rows = session._execute_for_mapper(stmt, self._bind_mapper(), self)
        return int(rows[0][0])

    def _count_through_listeners(self, session: SessionLike, stmt: object) -> int:
        """count() when the session has ``do_orm_execute`` listeners: they see the
        SELECT count(*) FROM (the query); with_loader_criteria() options they add
        apply to the query counted (as they would to its rows)."""
        def run(st: object, params: object, exec_opts: dict[str, Any], bind_kw: dict[str, Any]
                ) -> Any:
            added = [o for o in statement_options(st) if isinstance(o, LoaderCriteriaOption)
                     and o not in statement_options(stmt)]
            if added:
                inner = self.options(*added)._labelled_statement().subquery()
                st = core_select(func.count()).select_from(inner)
            bind = session.get_bind(mapper=self._bind_mapper(), clause=st)
            return session._run(st, params, bind, exec_opts or None)

        result = session._fire_orm_execute(stmt, None, self._execution_options, None, run,
                                           [m for m in self._part_mappers() if m is not None])
        return int(result.scalar())

    def exists(self) -> Exists:
        from sqlalchemy import exists

        return exists(Select.with_only_columns(self._compile(), literal_column("1"),
                                               maintain_column_froms=True))

    def update(self, values: Any, synchronize_session: object = "evaluate",
               update_args: object = None) -> int:
        statement_kw = _statement_kw(update_args, "update_args")
        statement_kw.pop("preserve_parameter_order", None)  # (the order given is kept)
        if not isinstance(values, Mapping):
            pairs = _value_pairs(values)
            if pairs is None:
                raise ArgumentError(
                    f"Can't update rows with {describe(values)}: update() takes a dictionary "
                    "of new values, e.g. query.update({User.name: 'ed'}), or a sequence of "
                    "(key, value) pairs"
                )
            values = dict(pairs)
        q = self
        d = query_events.active(self, "before_compile_update")
        if d is not None:
            ctx = query_events.BulkContext(self, values)
            q = query_events.run_listeners(d, "before_compile_update", self, ctx)
            values = ctx.values
        return q._session()._bulk_update(q, values, synchronize_session, statement_kw)

    def delete(self, synchronize_session: object = "evaluate", delete_args: object = None) -> int:
        statement_kw = _statement_kw(delete_args, "delete_args")
        q = self
        d = query_events.active(self, "before_compile_delete")
        if d is not None:
            q = query_events.run_listeners(d, "before_compile_delete", self,
                                           query_events.BulkContext(self))
        return q._session()._bulk_delete(q, synchronize_session, statement_kw)

    @property
    def column_descriptions(self) -> list[dict[str, Any]]:
        """One dictionary per result column: its ``name`` (None for an unnamed alias or
        expression), ``type`` (the class for an entity), ``aliased``, ``expr`` (what was
        passed to query()) and ``entity`` (the class or alias it belongs to, if any)."""
        return [dict(d) for d in self._layout.descriptions]

    @property
    def is_single_entity(self) -> bool:
        """True when results are objects, not rows: one mapped class selected and
        :meth:`only_return_tuples` not asked for."""
        return self._layout.single_entity and not self._tuples


def _statement_kw(args: object, name: str) -> dict[str, Any]:
    """``update_args`` / ``delete_args``: keyword arguments of the UPDATE/DELETE
    statement (dialect options such as ``mysql_limit``), as a new dictionary."""
    if args is None:
        return {}
    if not isinstance(args, Mapping):
        raise ArgumentError(
            f"Can't use {name}={describe(args)}: it is a dictionary of the statement's "
            "options, e.g. {'mysql_limit': 1}")
    kw = dict(args)
    probe = {k: v for k, v in kw.items() if k != "preserve_parameter_order"}
    if probe:
        from sqlalchemy import table as core_table
        from sqlalchemy import update as core_update

        try:
            core_update(core_table("t")).with_dialect_options(**probe)
        except (TypeError, ArgumentError) as e:
            raise ArgumentError(
                f"Can't use {name}={describe(args)}: {e}; the options are named "
                "<dialect>_<option>, e.g. {'mysql_limit': 1}") from None
    return kw


def _value_pairs(values: object) -> list[tuple[Any, Any]] | None:
    """``values`` as (key, value) pairs when it is a sequence of them, else None."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        return None
    pairs = []
    for p in values:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            return None
        pairs.append((p[0], p[1]))
    return pairs
