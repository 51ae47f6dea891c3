"""The ``do_orm_execute`` session event and :class:`ORMExecuteState`.

Callers: :class:`.Session` (``execute()``, ``get()``, column and relationship
loads) and ``Query``, only when the session has ``do_orm_execute``
listeners, so an unobserved session pays one set lookup per execution.

A listener receives an :class:`ORMExecuteState` describing the statement
about to run.  It may change the statement, the parameters or the
execution options in place, or run the statement itself with
:meth:`ORMExecuteState.invoke_statement` and return that result (for
example from a cache) instead of letting the session run it.  The
listeners run in registration order; the first one that returns a result
ends the chain, and ``invoke_statement`` runs the listeners after the
calling one before executing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.util import immutabledict

from .._core import (
    memoized_select_entities,
    statement_execution_options,
    statement_options,
)
from ..exc import InvalidRequestError
from ..query.from_statement import FromStatement
from ..query.options import UserDefinedOption

if TYPE_CHECKING:
    from .base import SessionBase

# run(statement, parameters, local_execution_options, bind_arguments) -> Result
Runner = Callable[[Any, Any, dict[str, Any], dict[str, Any]], Any]

EMPTY: immutabledict[str, Any] = immutabledict()

# execution options that also set how a SELECT's rows are loaded (LoadOptions)
_LOAD_OPTION_KEYS = ("yield_per", "populate_existing", "autoflush", "identity_token")


class LoadOptions:
    """How an ORM SELECT's rows will be loaded, as a ``do_orm_execute`` listener reads
    it from :attr:`ORMExecuteState.load_options`.  The attribute names are those
    SQLAlchemy's listeners read (``ctx.load_options._yield_per``): ``_yield_per``
    (rows per batch, or None), ``_populate_existing``, ``_autoflush``,
    ``_identity_token`` (the shard of a sharded load, or None) and
    ``_lazy_loaded_from`` (the state whose relationship a lazy load fills, or None).
    Read-only: change loading with :meth:`ORMExecuteState.update_execution_options`.
    """

    __slots__ = ("_yield_per", "_populate_existing", "_autoflush", "_identity_token",
                 "_lazy_loaded_from")

    def __init__(self, values: dict[str, Any], lazy_loaded_from: Any) -> None:
        set_ = object.__setattr__
        set_(self, "_yield_per", values.get("yield_per"))
        set_(self, "_populate_existing", bool(values.get("populate_existing", False)))
        set_(self, "_autoflush", bool(values.get("autoflush", True)))
        set_(self, "_identity_token", values.get("identity_token"))
        set_(self, "_lazy_loaded_from", lazy_loaded_from)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"Can't set load_options.{name}: the load options of an execution are "
            "read-only; call ctx.update_execution_options() with the execution option "
            "(yield_per=, populate_existing=, autoflush=, identity_token=) instead")

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"LoadOptions({inner})"


class ORMExecuteState:
    """One ORM execution as a ``do_orm_execute`` listener sees it.

    ``statement``, ``parameters`` and ``bind_arguments`` may be replaced or
    changed in place; :meth:`update_execution_options` adds execution
    options.  ``execution_options`` is the merged view (session, statement,
    call) as it was when the listeners started; ``local_execution_options``
    holds the call's options plus every update.
    """

    __slots__ = (
        "session", "statement", "parameters", "bind_arguments", "execution_options",
        "local_execution_options", "_run", "_listeners", "_idx", "_mappers",
        "is_relationship_load", "is_column_load", "_lazy_loaded_from", "loader_strategy_path",
        "_user_options", "_load_flags",
    )

    def __init__(self, session: SessionBase, statement: Any, parameters: Any,
                 execution_options: dict[str, Any], bind_arguments: dict[str, Any],
                 run: Runner, listeners: Sequence[Callable[..., Any]],
                 mappers: Sequence[Any] = (), relationship_load: bool = False,
                 column_load: bool = False, lazy_loaded_from: Any = None,
                 loader_strategy_path: Any = None, user_options: Any = None,
                 load_flags: dict[str, Any] | None = None) -> None:
        self.session = session
        self.statement = statement
        self.parameters = parameters
        self.bind_arguments = bind_arguments
        self.local_execution_options: dict[str, Any] = dict(execution_options)
        self.execution_options = immutabledict(
            {**session.execution_options, **statement_execution_options(statement),
             **execution_options}
        )
        self._run = run
        self._listeners = listeners
        self._idx = 0
        self._mappers = list(mappers)
        self.is_relationship_load = relationship_load
        self.is_column_load = column_load
        self._lazy_loaded_from = lazy_loaded_from
        self.loader_strategy_path = loader_strategy_path
        # a relationship load: the propagating options of the statement that loaded its
        # parent
        self._user_options = user_options or ()
        # how the caller itself loads (Query.yield_per(), get(identity_token=) ...):
        # over the execution options in load_options
        self._load_flags = load_flags

    # -- what is being executed -----------------------------------------------------
    @property
    def is_select(self) -> bool:
        return bool(getattr(self.statement, "is_select", False))

    @property
    def is_insert(self) -> bool:
        return bool(getattr(self.statement, "is_dml", False)) and \
            bool(getattr(self.statement, "is_insert", False))

    @property
    def is_update(self) -> bool:
        return bool(getattr(self.statement, "is_dml", False)) and \
            bool(getattr(self.statement, "is_update", False))

    @property
    def is_delete(self) -> bool:
        return bool(getattr(self.statement, "is_dml", False)) and \
            bool(getattr(self.statement, "is_delete", False))

    @property
    def is_dml(self) -> bool:
        return bool(getattr(self.statement, "is_dml", False))

    @property
    def is_from_statement(self) -> bool:
        """True for ``select(User).from_statement(...)``."""
        return isinstance(self.statement, FromStatement)

    @property
    def is_orm_statement(self) -> bool:
        """True when the statement selects or changes mapped entities."""
        return bool(self._mappers)

    @property
    def is_executemany(self) -> bool:
        return isinstance(self.parameters, list) and len(self.parameters) > 1

    @property
    def all_mappers(self) -> list[Any]:
        return list(self._mappers)

    @property
    def bind_mapper(self) -> Any:
        return self._mappers[0] if self._mappers else None

    @property
    def lazy_loaded_from(self) -> Any:
        """The object whose lazy-loaded relationship this SELECT loads (its state), or
        None."""
        if not self.is_select:
            raise InvalidRequestError(
                "This ORM execution is not against a SELECT statement, so it has no "
                "lazy_loaded_from; check ctx.is_select before reading it"
            )
        return self._lazy_loaded_from

    @property
    def load_options(self) -> LoadOptions:
        """How this SELECT's rows will be loaded (:class:`LoadOptions`): from the
        execution options ``yield_per``, ``populate_existing``, ``autoflush`` and
        ``identity_token`` and what the query itself set (``Query.yield_per()``,
        ``populate_existing()``, ``get(identity_token=)``).  Only a SELECT has them."""
        if not self.is_select:
            raise InvalidRequestError(
                f"This ORM execution is not against a SELECT statement (it runs "
                f"{type(self.statement).__name__}), so it has no load options; check "
                "ctx.is_select before reading ctx.load_options")
        opts = self.execution_options
        values = {k: opts[k] for k in _LOAD_OPTION_KEYS if k in opts}
        if self._load_flags:
            values.update(self._load_flags)
        return LoadOptions(values, self._lazy_loaded_from)

    @property
    def user_defined_options(self) -> list[Any]:
        """The :class:`UserDefinedOption` objects given to the statement's options()."""
        opts = list(statement_options(self.statement))
        # options given before with_only_columns(): Core keeps them with the entities
        # that call replaced
        for earlier in memoized_select_entities(self.statement):
            opts.extend(o for o in statement_options(earlier) if o not in opts)
        opts.extend(o for o in getattr(self.statement, "_dm_options", ()) if o not in opts)
        opts.extend(o for o in self._user_options if o not in opts)
        return [o for o in opts if isinstance(o, UserDefinedOption)]

    # -- changing it ----------------------------------------------------------------
    def update_execution_options(self, **opts: object) -> None:
        """Add execution options for this execution (seen by the Connection)."""
        self.local_execution_options.update(opts)

    def invoke_statement(self, statement: object = None, params: object = None,
                         execution_options: dict[str, Any] | None = None,
                         bind_arguments: dict[str, Any] | None = None) -> Any:
        """Run the statement now (after the listeners that follow this one) and return
        its Result.  ``params``, ``execution_options`` and ``bind_arguments`` are merged
        over this execution's own; the caller's parameters are never changed."""
        new = ORMExecuteState.__new__(ORMExecuteState)
        for name in ORMExecuteState.__slots__:
            setattr(new, name, getattr(self, name))
        if statement is not None:
            new.statement = statement
        new.parameters = _merge_params(self.parameters, params)
        new.local_execution_options = {**self.local_execution_options,
                                       **(execution_options or {})}
        new.bind_arguments = {**self.bind_arguments, **(bind_arguments or {})}
        return new._proceed(self._idx + 1)

    def _proceed(self, start: int) -> Any:
        for idx in range(start, len(self._listeners)):
            self._idx = idx
            result = self._listeners[idx](self)
            if result is not None:
                return result
        self._idx = len(self._listeners)
        return self._run(self.statement, self.parameters, self.local_execution_options,
                         self.bind_arguments)

    def __repr__(self) -> str:
        return f"<ORMExecuteState of {type(self.statement).__name__}>"


def _merge_params(current: Any, given: Any) -> Any:
    if given is None:
        return current
    if isinstance(given, dict):
        if isinstance(current, list):
            return [{**p, **given} for p in current]
        return {**(current or {}), **given}
    given = list(given)
    if not isinstance(current, list):
        if current is None or len(given) == 1:
            base = current or {}
            return [{**base, **p} for p in given]
        current = [current]
    if len(current) != len(given):
        raise InvalidRequestError(
            f"Can't apply {len(given)} parameter sets given to "
            f"ORMExecuteState.invoke_statement() to the {len(current)} parameter sets passed "
            "to Session.execute(): the counts must match; pass one dictionary to apply it "
            "to every set"
        )
    return [{**a, **b} for a, b in zip(current, given, strict=True)]


def copy_params(params: object) -> Any:
    """The caller's parameters copied, so that a listener changing them in place
    changes only this execution."""
    if isinstance(params, dict):
        return dict(params)
    if isinstance(params, (list, tuple)):
        return [dict(p) for p in params]
    return params
