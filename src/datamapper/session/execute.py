"""Session execution: Core and ORM statements, ``scalar(s)`` and ``query``.

Mixed into :class:`~datamapper.session.session.Session`.  ``_run`` is the one
place a statement reaches a connection (autocommit, session execution options,
failed statements reported to the transaction).
"""

from __future__ import annotations

from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, cast, overload

from sqlalchemy import CompoundSelect, Connection, Select
from sqlalchemy.engine import IteratorResult
from sqlalchemy.exc import DBAPIError

from .._core import (
    SimpleResultMetaData,
    cached_select_rows,
    compile_driver_select,
    driver_fetchall,
    driver_select_ok,
    has_limit_or_offset,
    order_by_clauses,
    plain_fetchall,
    positional_rows,
    statement_execution_options,
    statement_options,
)
from ..exc import (
    ArgumentError,
)
from ..instance.seam import SessionLike
from ..loading import instances
from ..loading.criteria import (
    LoaderCriteriaOption,
    apply_criteria_within,
    apply_loader_criteria,
    criteria_options,
)
from ..loading.rows import fetch_rows, paused_load
from ..mapping.coercion import dml_mapper
from ..query import ORMSelect, Query
from ..query.entities import RowLayout, stamp_results
from ..query.from_statement import FromStatement, load_from_statement
from ..query.option_plans import build_plans, check_yield_per_plans
from ..query.options import propagating_options
from ..query.orm_select import options_applied, reads_mapped_tables, renamed_column_keys
from ..query.plan_execution import execute_with_plans
from .base import SessionBase
from .binds import _bind_kw
from .dml import execute_orm_dml, translate_values
from .dml_inherited import is_joined
from .execute_state import ORMExecuteState, copy_params
from .ownership import exclusive
from .results import OrmResult
from .statements import coerce_statement, statement_mappers
from .streaming import check_yield_per, stream_results, stream_results_with_plans

if TYPE_CHECKING:
    from sqlalchemy.engine import Result, ScalarResult
    from sqlalchemy.sql.selectable import TypedReturnsRows


_O = TypeVar("_O")  # a mapped class's instances
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class SessionExecute(SessionBase):
    """``execute``, ``scalar``, ``scalars``, ``query`` and the row plumbing under them."""

    def _run(self, stmt: Any, params: Any, bind: Any, execution_options: Any = None,
             orm: dict[str, Any] | None = None, positional: bool = False) -> Any:
        """Execute a statement on the right connection; in autocommit mode in its own
        transaction, with the result buffered.  ``orm``: the statement is an ORM load
        (of ``mappers``, a relationship or column load ...): ``do_orm_execute`` fires.
        ``positional``: the caller reads the rows by position only (see
        ``_core.POSITIONAL_ROWS``; not shown to ``do_orm_execute`` listeners)."""
        if orm is not None and "do_orm_execute" in self.dispatch.active:
            def run(stmt: Any, params: Any, opts: dict[str, Any], _b: dict[str, Any]) -> Any:
                return self._run(stmt, params, bind, opts, positional=positional)

            flags = dict(orm)
            bind_kw = flags.pop("bind_arguments", None)
            return self._fire_orm_execute(stmt, params, execution_options, bind_kw, run,
                                          **flags)
        if self._tx_blocks or self._closed:
            self._check_usable()
        if self.execution_options:
            execution_options = {**self.execution_options, **(execution_options or {})}
        if positional:
            execution_options = positional_rows(execution_options)
        if self._transaction is None and self.autocommit:
            if isinstance(bind, Connection):
                return bind.execute(stmt, params, execution_options=execution_options or {})
            with bind.begin() as conn:
                result = conn.execute(stmt, params, execution_options=execution_options or {})
                if result.returns_rows:
                    return result.freeze()()
                return result
        conn = self._connection_for_bind(bind)
        try:
            return conn.execute(stmt, params, execution_options=execution_options or {})
        except DBAPIError as e:
            self._statement_error(conn, e)
            raise

    def _fetch_cached_select(self, stmt: Any, params: dict[str, Any], bind: Any,
                             execution_options: Any, compiled: dict[Any, Any],
                             positional: bool = False) -> list[Any]:
        """``fetch_rows(self._run(stmt, params, bind, execution_options, positional=...))``
        for a SELECT the ORM keeps (``get()``'s by primary key, a relationship's lazy
        load), with ``compiled`` its driver forms
        per dialect: when nothing of Core's execution would show (see
        ``_core.driver_select_ok``: no event listeners, no logging, no execution
        options) and its columns need no result processing, it runs on the driver's
        cursor directly, without Core's per-execution set-up."""
        if execution_options or self.execution_options or self._tx_blocks or \
                self._closed or (self._transaction is None and self.autocommit):
            return fetch_rows(self._run(stmt, params, bind, execution_options,
                                          positional=positional))
        conn = self._connection_for_bind(bind)
        if not driver_select_ok(conn):
            return fetch_rows(self._run(stmt, params, bind, execution_options,
                                          positional=positional))
        dialect = conn.dialect
        if dialect in compiled:
            entry = compiled[dialect]
        else:
            entry = compiled[dialect] = compile_driver_select(dialect, stmt, params)
        if entry is None or entry.plain is False:
            return fetch_rows(self._run(stmt, params, bind, execution_options,
                                          positional=positional))
        try:
            if entry.plain:
                return driver_fetchall(conn, entry, params)
            # the first run goes through Core, which tells whether a column of the
            # result needs a processor (a driver's type code can decide it)
            result = conn.execute(stmt, params)
            rows = plain_fetchall(result)
            entry.plain = rows is not None
            return rows if rows is not None else list(result.fetchall())
        except DBAPIError as e:
            self._statement_error(conn, e)
            raise

    # -- SQL execution --------------------------------------------------------------------------
    @overload
    def execute(self, statement: TypedReturnsRows[*_Ts], params: Any = None, *,
                mapper: Any = None, bind: Any = None, execution_options: Any = None,
                bind_arguments: Any = None, **kw: Any) -> Result[*_Ts]: ...

    @overload
    def execute(self, statement: Any, params: Any = None, *, mapper: Any = None,
                bind: Any = None, execution_options: Any = None, bind_arguments: Any = None,
                **kw: Any) -> Result[*tuple[Any, ...]]: ...

    @exclusive
    def execute(self, statement: Any, params: Any = None, *, mapper: Any = None,
                bind: Any = None, execution_options: Any = None, bind_arguments: Any = None,
                _add_event: Any = None, **kw: Any) -> Any:
        """Execute a Core statement, an ORM ``select()``, or a string (as textual SQL).
        Other keyword arguments (and ``bind_arguments``) go to ``get_bind()``."""
        bind_kw = _bind_kw(bind_arguments, kw)
        if self.future and isinstance(statement, str):
            raise ArgumentError(
                f"Can't execute the string {statement[:60]!r} on a Session(future=True): "
                "textual SQL must be declared; wrap it in sqlalchemy.text()"
            )
        statement = coerce_statement(statement)
        if "do_orm_execute" in self.dispatch.active or _add_event is not None:
            def run(stmt: Any, params: Any, opts: dict[str, Any], bind_kw: dict[str, Any]
                    ) -> Any:
                return self._execute_impl(coerce_statement(stmt), params, mapper, bind, opts,
                                          bind_kw)

            return self._fire_orm_execute(statement, params, execution_options, bind_kw, run,
                                          statement_mappers(statement), extra=_add_event)
        return self._execute_impl(statement, params, mapper, bind, execution_options, bind_kw)

    def _fire_orm_execute(self, statement: Any, params: Any, execution_options: Any,
                          bind_kw: dict[str, Any] | None, run: Any, mappers: Any,
                          extra: Any = None, **flags: Any) -> Any:
        """Run ``run(statement, params, execution_options, bind_arguments)`` after the
        ``do_orm_execute`` listeners (see :mod:`.execute_state`)."""
        listeners = [fn for fn, _opts in self.dispatch.listeners("do_orm_execute")]
        if extra is not None:
            listeners.append(extra)
        state = ORMExecuteState(self, statement, copy_params(params),
                                dict(execution_options or {}), dict(bind_kw or {}), run,
                                listeners, mappers, **flags)
        return state._proceed(0)

    def _execute_impl(self, statement: Any, params: Any, mapper: Any, bind: Any,
                      execution_options: Any, bind_kw: dict[str, Any] | None) -> Any:
        if isinstance(statement, CompoundSelect) or getattr(statement, "is_insert", False):
            # with_loader_criteria() of a UNION or an INSERT ... FROM SELECT: in each
            # SELECT it runs
            criteria = criteria_options(statement_options(statement))
            if criteria:
                statement = apply_criteria_within(statement, criteria)
        if statement.__class__ is Select and reads_mapped_tables(statement):
            eff_autoflush = {**self.execution_options, **statement_execution_options(statement),
                             **(execution_options or {})}.get("autoflush", True)
            if eff_autoflush:  # select(User.name): pending changes are seen, as by a query
                self._autoflush()
        if statement.__class__ is Select and \
                (keys := renamed_column_keys(statement)) is not None:
            return self._execute_with_attribute_keys(statement, keys, params, bind, mapper,
                                                     execution_options, bind_kw)
        if isinstance(params, (list, tuple)) and len(params) > 1 and \
                getattr(statement, "is_select", False):
            raise ArgumentError(
                f"Can't execute a SELECT with a list of {len(params)} parameter sets: "
                "executemany runs only INSERT, UPDATE and DELETE; run the SELECT once per "
                "parameter set, or select them all with an IN (...) criterion"
            )
        opts = {**self.execution_options, **execution_options} if execution_options else \
            self.execution_options
        if getattr(statement, "is_dml", False):
            dml_target = dml_mapper(statement)  # insert(User), update(User), upserts ...
            if dml_target is not None:
                return execute_orm_dml(self, statement, dml_target, params, opts, bind,
                                       bind_kw)
        stmt_opts = statement_execution_options(statement)
        # what the ORM reads: session < statement < call, as Core merges them
        eff = {**self.execution_options, **stmt_opts, **(execution_options or {})} \
            if stmt_opts else opts
        if isinstance(statement, FromStatement):
            return self._execute_from_statement(statement, params, eff, bind_kw)
        if isinstance(statement, ORMSelect):
            return self._execute_orm_select(statement, params, bind, opts, eff,
                                            execution_options, bind_kw)
        if eff.get("autoflush"):  # asked for: DML and Core statements do not autoflush
            self._autoflush()
        if bind is None:
            bind = self._bind_for(mapper, statement, bind_kw)
        return self._run(statement, params, bind, opts)

    def _execute_orm_select(self, statement: ORMSelect, params: Any, bind: Any,
                            opts: dict[str, Any], eff: dict[str, Any],
                            execution_options: Any, bind_kw: dict[str, Any] | None) -> Any:
        """``select(User, ...)``: its objects (streamed with ``yield_per``, through the
        eager-loading plans when there are any), as an ORM result.  ``opts``: the
        session's and the call's execution options; ``eff``: the statement's too."""
        layout: RowLayout = statement._dm_layout
        criteria = criteria_options(statement._dm_options)
        if criteria and not statement._dm_criteria_applied:
            # with_loader_criteria(): WHERE / ON criteria of its entities
            statement = apply_loader_criteria(statement, criteria, layout.mappers)
        if eff.get("autoflush", True):
            self._autoflush()
        plans = build_plans([p.mapper if kind == "entity" else None
                             for kind, p in layout.parts], statement._dm_options,
                            layout.part_sources())
        uopts = propagating_options(statement._dm_options)
        statement = options_applied(statement)
        yield_per = opts.get("yield_per")
        if yield_per is None:
            yield_per = statement.get_execution_options().get("yield_per")
        if yield_per is not None and plans is not None:
            check_yield_per_plans(plans)
            return self._stream_orm_select_with_plans(statement, plans, bind, params, opts,
                                                      eff, execution_options, bind_kw,
                                                      yield_per, uopts, criteria)
        if yield_per is not None:
            check_yield_per(yield_per)
            if bind is None:
                bind = self._bind_for(layout.bind_mapper, statement, bind_kw)
            return stream_results(self, layout, self._run(statement, params, bind, opts),
                                  yield_per, bool(opts.get("populate_existing")),
                                  self._default_identity_token())
        populate_existing = bool(eff.get("populate_existing"))
        if plans is not None:
            objs = self._execute_orm_select_with_plans(statement, plans, bind, params,
                                                       populate_existing, bind_kw,
                                                       execution_options, uopts, criteria)
        else:
            objs = paused_load(
                partial(self._execute_for_mapper, statement, layout.bind_mapper, None,
                        bind=bind, params=params, bind_kw=bind_kw,
                        execution_options=execution_options),
                partial(self._rows_to_results, layout, populate_existing=populate_existing,
                        token=None, tuples=not layout.single_entity))
        if uopts:
            stamp_results(layout, objs, uopts)
        if layout.single_entity:
            # rows are made from the objects only if asked for (scalars() skips them)
            out = OrmResult(layout.result_metadata(), iter(objs),
                            _source_supports_scalars=True)
        else:
            tuples = [tuple(o) for o in objs]
            names = layout.result_names(statement._label_style)
            out = OrmResult(layout.result_metadata(names), iter(tuples))
        # prebuffer_rows: the objects are the caller's whatever the session does next
        return out if eff.get("prebuffer_rows") else out.guard(self, layout)

    def _execute_from_statement(self, statement: FromStatement, params: Any,
                                eff: dict[str, Any], bind_kw: dict[str, Any] | None) -> Any:
        """``select(User).from_statement(stmt)``: the entities loaded from ``stmt``."""
        if eff.get("autoflush", True):
            self._autoflush()
        element = statement.element
        target = dml_mapper(element) if getattr(element, "is_dml", False) else None
        if target is not None and not getattr(element, "is_delete", False) \
                and not is_joined(target):
            # values() given by attribute name or synonym, as session.execute() of the
            # statement itself takes them: the statement with column keys
            element = translate_values(target, element,
                                       "INSERT" if element.is_insert else "UPDATE")
        layout, objs = load_from_statement(
            cast("SessionLike", self), statement._dm_entities, statement._dm_options,
            element, params, eff or None, bool(eff.get("populate_existing")),
            self._default_identity_token(), bind_kw)
        if layout.single_entity:
            return IteratorResult(layout.result_metadata(), iter(objs),
                                  _source_supports_scalars=True)
        return IteratorResult(layout.result_metadata(statement.result_names(layout)),
                              iter([tuple(o) for o in objs]))

    def _execute_with_attribute_keys(self, statement: Any, keys: list[str], params: Any,
                                     bind: Any,
                                     mapper: Any, execution_options: Any,
                                     bind_kw: dict[str, Any] | None) -> Any:
        """A Core select of attributes named other than their columns: rows keyed by the
        attribute names (``select(User.uname)`` gives rows with ``.uname``)."""
        opts = {**self.execution_options, **execution_options} if execution_options else \
            self.execution_options
        if bind is None:
            bind = self._bind_for(mapper, statement, bind_kw)
        rows = [tuple(r) for r in self._run(statement, params, bind, opts)]
        return IteratorResult(SimpleResultMetaData(keys), iter(rows))

    def _execute_orm_select_with_plans(self, statement: ORMSelect, plans: list[Any],
                                       bind: Any, params: Any, populate_existing: bool,
                                       bind_kw: dict[str, Any] | None = None,
                                       execution_options: Any = None,
                                       user_options: tuple[Any, ...] = (),
                                       criteria: tuple[LoaderCriteriaOption, ...] = ()
                                       ) -> list[Any]:
        """An ORM select() with loader options or configured eager relationships."""
        entities = statement._dm_entities
        base, mapper = _plans_base(statement, plans)
        limited = has_limit_or_offset(statement)

        def run(stmt: Any) -> list[Any]:
            return self._execute_for_mapper(stmt, mapper, None, bind=bind, params=params,
                                            bind_kw=bind_kw,
                                            execution_options=execution_options)

        stmt_opts = statement_execution_options(statement)
        eager_opts = {**stmt_opts, **execution_options} if stmt_opts and execution_options \
            else (execution_options or stmt_opts)
        return execute_with_plans(cast("SessionLike", self), entities, plans, base,
                                  list(order_by_clauses(statement)), limited,
                                  populate_existing, self._default_identity_token(), run,
                                  eager_opts, user_options, criteria)

    def _default_identity_token(self) -> Any:
        """Identity token of objects an ORM select() loads (sharding: the shard run on)."""
        return None

    @overload
    def scalar(self, statement: TypedReturnsRows[_T, *tuple[Any, ...]],
               params: Any = None, **kw: Any) -> _T | None: ...

    @overload
    def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any: ...

    def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        """The first column of the first row (None when there is no row)."""
        return self.execute(statement, params, **kw).scalar()

    @overload
    def scalars(self, statement: TypedReturnsRows[_T, *tuple[Any, ...]],
                params: Any = None, **kw: Any) -> ScalarResult[_T]: ...

    @overload
    def scalars(self, statement: Any, params: Any = None, **kw: Any) -> ScalarResult[Any]: ...

    def scalars(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        """The first column of each row: the objects of ``select(User)``."""
        return self.execute(statement, params, **kw).scalars()

    def _stream_orm_select_with_plans(self, statement: ORMSelect, plans: list[Any], bind: Any,
                                      params: Any, opts: dict[str, Any], eff: dict[str, Any],
                                      execution_options: Any, bind_kw: dict[str, Any] | None,
                                      yield_per: object, user_options: tuple[Any, ...],
                                      criteria: tuple[LoaderCriteriaOption, ...]) -> Any:
        """An ORM select() with eager loaders and the ``yield_per`` option: its objects
        made and eagerly loaded a batch at a time (see ``streaming``)."""
        base, mapper = _plans_base(statement, plans)
        if bind is None:
            bind = self._bind_for(mapper, base, bind_kw)
        # no server-side cursor: the eager SELECTs run on the connection between batches
        run_opts = {**opts, "yield_per": None}

        def run_result(stmt: Any) -> Any:
            return self._run(stmt, params, bind, run_opts)

        stmt_opts = statement_execution_options(statement)
        eager_opts = {k: v for k, v in {**stmt_opts, **(execution_options or {})}.items()
                      if k != "yield_per"}
        return stream_results_with_plans(self, statement, plans, base, run_result, yield_per,
                                         bool(eff.get("populate_existing")), eager_opts or None,
                                         user_options, criteria)

    @exclusive
    def _execute_for_mapper(self, stmt: Any, mapper: Any, query: Any = None, bind: Any = None,
                            params: Any = None, bind_kw: dict[str, Any] | None = None,
                            execution_options: Any = None) -> list[Any]:
        if bind is None:
            bind = self._bind_for(mapper, stmt, bind_kw)
        opts = query._execution_options if query is not None else execution_options
        if not opts and not params and not self.execution_options and not self._tx_blocks \
                and not self._closed and (self._transaction is not None or not self.autocommit):
            rows = self._cached_select_rows(stmt, bind)
            if rows is not None:
                return rows
        result = self._run(stmt, params, bind, opts, positional=True)
        return fetch_rows(result)

    def _cached_select_rows(self, stmt: Any, bind: Any) -> list[Any] | None:
        """The rows of an ORM load's SELECT run on the driver's cursor with the SQL in
        Core's compiled cache (see ``_core.cached_select_rows``: no event listeners, no
        logging, no execution options but ``compiled_cache``, rows that need no
        processing), or None with nothing run: Core's execution then runs it.  Core's
        per-execution set-up is most of the time of a query of a few rows."""
        conn = self._connection_for_bind(bind)
        try:
            return cached_select_rows(conn, stmt)
        except DBAPIError as e:
            self._statement_error(conn, e)
            raise

    @exclusive
    def _stream_query(self, stmt: Any, query: Any) -> Any:
        """A Query's results fetched ``query._yield_per`` rows at a time."""
        layout = query._layout
        check_yield_per(query._yield_per)
        bind = self._bind_for(layout.bind_mapper, stmt, None)
        opts = {**query._execution_options, "yield_per": query._yield_per}
        result = stream_results(self, layout, self._run(stmt, None, bind, opts),
                                query._yield_per, query._populate_existing,
                                query._shard_token())
        return result.scalars() if layout.single_entity else result

    def _rows_to_results(self, layout: RowLayout, rows: list[Any], populate_existing: bool,
                         token: Any, tuples: bool = False) -> list[Any]:
        """The results of ``rows``: the objects of a single entity, else one row per
        row (``tuples``: plain tuples of the values, for a caller that makes its own
        rows, such as a ``Result`` with its own metadata)."""
        parts = layout.parts
        if len(parts) == 1:
            kind, p = parts[0]
            if kind == "entity":
                return instances(cast("SessionLike", self), p, rows, populate_existing, token)
            if kind == "bundle":
                read = p.read
                if tuples:
                    return [(read(r),) for r in rows]
                make1 = layout.row_maker()  # one column: rows too
                return [make1((read(r),)) for r in rows]
            if tuples:
                return [(r[p],) for r in rows]
            make1 = layout.row_maker()
            return [make1((r[p],)) for r in rows]
        if tuples and all(kind == "column" for kind, _p in parts):
            # columns only: each row's values picked by position in one step
            return list(map(itemgetter(*[p for _kind, p in parts]), rows))
        columns = []
        for kind, p in parts:
            if kind == "entity":
                columns.append(instances(cast("SessionLike", self), p, rows, populate_existing,
                                         token))
            elif kind == "bundle":
                columns.append([p.read(r) for r in rows])
            else:
                columns.append([r[p] for r in rows])
        if tuples:
            return list(zip(*columns, strict=True))
        make = layout.row_maker()
        return [make(vals) for vals in zip(*columns, strict=True)]

    @overload
    def query(self, entity: type[_O], /) -> Query[_O]: ...

    @overload
    def query(self, *entities: Any, **kw: Any) -> Query[Any]: ...

    def query(self, *entities: Any, **kw: Any) -> Query[Any]:
        """A :class:`Query` of mapped classes, attributes or columns."""
        return self._query_cls(list(entities), cast("SessionLike", self), **kw)


def _plans_base(statement: ORMSelect, plans: list[Any]) -> tuple[Any, Any]:
    """``statement`` selecting the columns ``plans`` read (the statement itself when they
    are its own), and the mapper whose bind runs it."""
    layout = RowLayout(statement._dm_entities, [p.props if p is not None else None
                                                for p in plans])
    base: Any = statement
    if list(map(id, layout.columns)) != list(map(id, statement._dm_layout.columns)):
        base = Select.with_only_columns(statement, *layout.columns)  # (layout kept)
    return base, layout.primary_mapper
