"""Horizontal partitioning ("sharding"): one Session over several databases that
hold rows of the same tables.

Callers: applications.  ``ShardedSession(shards={id: engine}, shard_chooser=...,
identity_chooser=..., execute_chooser=...)`` is a :class:`~datamapper.Session`
whose objects each live on one shard; the shard id is the *identity token* of
the object's identity key ``(class, primary key, shard id)``, so the same
primary key on two shards gives two distinct objects in one session.

Three functions supplied by the application decide where SQL goes:

- ``shard_chooser(mapper, instance, clause=None) -> shard id``: the shard a
  new object is inserted into (called once per object per flush), and the
  shard of a statement run without any other hint (``session.execute(core
  statement)``, ``session.connection(User)``), where ``instance`` is None.
- ``identity_chooser(mapper, primary_key, *, lazy_loaded_from=None, **kw) ->
  [shard ids]``: the shards that may hold a primary key, for ``session.get()``
  and for many-to-one lazy loads (``lazy_loaded_from`` is then the parent's
  ``InstanceState``; its shard's identity map is looked at first).  The
  identity map of every candidate is checked before any SQL; then the shards
  are queried in the order given until the row is found.
- ``execute_chooser(context) -> [shard ids]``: the shards a query runs on;
  ``context.statement`` is the Core SELECT, ``context.query`` the Query (None
  for ``session.execute(select(...))``).  Results of the shards are
  concatenated in the order given, each object tagged with its shard.

A query is restricted to one shard with ``query.set_shard(shard_id)``,
``query.execution_options(shard_id=...)``,
``select(...).execution_options(shard_id=...)`` or
``session.execute(stmt, execution_options={"shard_id": ...})``;
``session.get(cls, pk, identity_token=shard_id)`` looks on one shard only.

What the pieces do across several shards:

- persistent objects are written back to the shard they were loaded from or
  inserted into; loading their expired attributes, ``refresh()`` and lazy
  loads of collections run on that shard;
- ``Query.count()`` is the sum of each shard's count;
- every other result is the concatenation of the shards' results: ``limit``,
  ``offset`` and ``order_by`` apply within each shard, ``first()`` is the
  first row of the first shard that has one, and an aggregate such as
  ``query(func.count(User.id))`` gives one row per shard, so ``scalar()`` and
  ``one()`` raise ``MultipleResultsFound`` unless the query is restricted to
  one shard (``session.execute(select(func.max(...)))`` likewise returns one
  row per shard);
- ``Query.update()``/``delete()`` run on every chosen shard and return the
  total row count;
- ``commit()``/``rollback()`` cover the connection of every shard used (one
  after the other; ``twophase=True`` prepares them all first).

The older names ``id_chooser(query, primary_key)`` and
``query_chooser(query)`` are accepted with a ``DeprecationWarning``.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.engine import IteratorResult, Result

from ._core import SimpleResultMetaData, statement_options
from ._util import describe
from .exc import ArgumentError, InvalidRequestError
from .instance.state import InstanceState, instance_state
from .mapping.mapper import Mapper, _mapper_or_none
from .query import ORMSelect, Query
from .query.options import UserDefinedOption
from .query.orm_select import orm_select_from_core
from .session import Session

__all__ = ["ShardedQuery", "ShardedSession", "ShardContext", "set_shard_id"]


class set_shard_id(UserDefinedOption):  # noqa: N801 - SQLAlchemy's name
    """A statement option naming the shard it runs on
    (``select(City).options(set_shard_id("asia"))``), as the ``shard_id`` execution
    option does; ``propagate_shard=True`` carries it to the loads of relationships the
    statement's objects trigger (they run on their object's shard anyway)."""

    def __init__(self, shard_id: object, propagate_shard: bool = False) -> None:
        super().__init__(shard_id)
        self.shard_id = shard_id
        self.propagate_to_loaders = propagate_shard


def _option_shard(options: Iterable[object]) -> object:
    """The shard a ``set_shard_id`` among ``options`` names (the last one), or None."""
    found = None
    for opt in options:
        if isinstance(opt, set_shard_id):
            found = opt.shard_id
    return found

_R = TypeVar("_R")
_I = TypeVar("_I")
ShardChooser = Callable[..., Any]
IdentityChooser = Callable[..., Any]
ExecuteChooser = Callable[["ShardContext"], Any]


@dataclasses.dataclass
class ShardContext:
    """What ``execute_chooser`` is given about a query it routes."""

    session: ShardedSession
    statement: object
    query: Query[object] | None = None
    mapper: Mapper | None = None
    execution_options: dict[str, object] = dataclasses.field(default_factory=dict)
    is_select: bool = True
    lazy_loaded_from: InstanceState | None = None


class ShardedQuery(Query[Any]):
    """A Query that runs on the shards ``execute_chooser`` names, or on one shard."""

    def set_shard(self, shard_id: object) -> ShardedQuery:
        """This query, restricted to shard ``shard_id``."""
        session = self.session
        if isinstance(session, ShardedSession):
            session._engine_for(shard_id, f"query {self}")
        q = self._clone()
        q._shard_id = shard_id
        return q

    def _target_shards(self) -> list[object]:
        if self._shard_id is not None:
            return [self._shard_id]
        session = self._session()
        opt = self._execution_options.get("shard_id")
        if opt is None:
            opt = _option_shard(self._options)
        if opt is not None:
            return [opt]
        if not isinstance(session, ShardedSession):
            return [None]
        ctx = ShardContext(session, self.statement, self, self._layout.primary_mapper,
                           dict(self._execution_options))
        return session._execute_shards(ctx)

    def _on_each_shard(self, run: Callable[[Query[Any]], _R]) -> list[_R]:
        """``run(this query restricted to the shard)`` for each target shard, with the
        session routing SQL to that shard meanwhile."""
        session = self._session()
        out = []
        for shard_id in self._target_shards():
            q = self._clone()
            q._shard_id = shard_id
            if isinstance(session, ShardedSession) and shard_id is not None:
                session._engine_for(shard_id, f"query {self}")
                with session._on_shard(shard_id):
                    out.append(run(q))
            else:
                out.append(run(q))
        return out

    def _iter_results(self) -> list[object]:
        out: list[object] = []
        for part in self._on_each_shard(Query._iter_results):
            out.extend(part)
        return out

    def count(self) -> int:
        """The sum of the counts of every target shard."""
        return sum(self._on_each_shard(Query.count))

    def update(self, values: dict[Any, Any], synchronize_session: object = "evaluate",
               update_args: object = None) -> int:
        """Run on every target shard; the total number of rows matched."""
        return sum(self._on_each_shard(
            lambda q: Query.update(q, values, synchronize_session, update_args)))

    def delete(self, synchronize_session: object = "evaluate", delete_args: object = None) -> int:
        """Run on every target shard; the total number of rows matched."""
        return sum(self._on_each_shard(
            lambda q: Query.delete(q, synchronize_session, delete_args)))


_NOT_HELD = object()  # no shard's identity map part holds the object


def _pass_on(kw: dict[str, Any], **given: object) -> None:
    """Put the given keyword arguments of ``Session.get()`` that are set into ``kw``
    (``options`` and ``bind_kw`` when not None, ``execution_options`` when not empty)."""
    for name, value in given.items():
        if value if name == "execution_options" else value is not None:
            kw[name] = value


class ShardedSession(Session):
    """A Session whose objects are spread over several databases (shards)."""

    _query_cls: type[Query[object]] = ShardedQuery

    def __init__(
        self,
        shard_chooser: ShardChooser | None = None,
        identity_chooser: IdentityChooser | None = None,
        execute_chooser: ExecuteChooser | None = None,
        shards: dict[Any, Any] | None = None,
        query_cls: type[Query[Any]] | None = ShardedQuery,
        *,
        id_chooser: Callable[..., Any] | None = None,
        query_chooser: Callable[..., Any] | None = None,
        **kw: Any,
    ) -> None:
        if id_chooser is not None:
            if identity_chooser is not None:
                raise ArgumentError(
                    "Can't create a ShardedSession with both identity_chooser and id_chooser: "
                    "pass only identity_chooser"
                )
            warnings.warn("ShardedSession(id_chooser=...) is deprecated; use identity_chooser="
                          "(mapper, primary_key, *, lazy_loaded_from, **kw)",
                          DeprecationWarning, stacklevel=2)
            old_id = id_chooser

            def from_id_chooser(mapper: object, primary_key: object, **_kw: object) -> Any:
                return old_id(self.query(mapper), primary_key)

            identity_chooser = from_id_chooser

        if query_chooser is not None:
            if execute_chooser is not None:
                raise ArgumentError(
                    "Can't create a ShardedSession with both execute_chooser and "
                    "query_chooser: pass only execute_chooser"
                )
            warnings.warn("ShardedSession(query_chooser=...) is deprecated; use "
                          "execute_chooser=(context) with context.statement",
                          DeprecationWarning, stacklevel=2)
            old_query = query_chooser

            def from_query_chooser(context: ShardContext) -> Any:
                return old_query(context.query if context.query is not None
                                 else context.statement)

            execute_chooser = from_query_chooser

        missing = [name for name, fn in (("shard_chooser", shard_chooser),
                                         ("identity_chooser", identity_chooser),
                                         ("execute_chooser", execute_chooser)) if fn is None]
        if missing:
            raise ArgumentError(
                f"Can't create a ShardedSession without {', '.join(missing)}: pass "
                "shard_chooser(mapper, instance, clause=None) -> shard id, "
                "identity_chooser(mapper, primary_key, *, lazy_loaded_from, **kw) -> shard ids "
                "and execute_chooser(context) -> shard ids"
            )
        super().__init__(query_cls=query_cls, **kw)
        assert shard_chooser is not None and identity_chooser is not None
        assert execute_chooser is not None
        self.shard_chooser = shard_chooser
        self.identity_chooser = identity_chooser
        self.execute_chooser = execute_chooser
        self._shards: dict[object, Engine | Connection] = {}
        # (shard id or None, state lazily loaded from or None), innermost last
        self._dm_shard_stack: list[tuple[object, InstanceState | None]] = []
        # shard of each new object of the flush in progress (shard_chooser asked once)
        self._dm_flush_shards: dict[InstanceState, object] = {}
        for shard_id, bind in (shards or {}).items():
            self.bind_shard(shard_id, bind)

    # -- shards ------------------------------------------------------------------------
    def bind_shard(self, shard_id: object, bind: Engine | Connection) -> None:
        """Add (or replace) the Engine or Connection of shard ``shard_id``."""
        if shard_id is None:
            raise ArgumentError("Can't use None as a shard id: None means 'no shard'")
        self._shards[shard_id] = bind

    @property
    def shards(self) -> dict[object, Engine | Connection]:
        return dict(self._shards)

    def _engine_for(self, shard_id: object, what: str) -> Engine | Connection:
        try:
            return self._shards[shard_id]
        except (KeyError, TypeError):
            raise InvalidRequestError(
                f"Can't route {what} to shard {shard_id!r}: it is not a shard of this "
                f"ShardedSession (shards: {', '.join(map(repr, self._shards)) or 'none'}); "
                "return one of these ids from the chooser, or add it with bind_shard()"
            ) from None

    @contextmanager
    def _on_shard(self, shard_id: object, lazy_from: InstanceState | None = None
                  ) -> Iterator[None]:
        """Route SQL without another hint to ``shard_id`` inside the block."""
        stack = self._dm_shard_stack
        stack.append((shard_id, lazy_from))
        try:
            yield
        finally:
            stack.pop()

    def _current_shard(self) -> object:
        stack = self._dm_shard_stack
        return stack[-1][0] if stack else None

    def _choose_shard(self, mapper: object, instance: object, clause: object) -> object:
        shard_id = self.shard_chooser(mapper, instance, clause=clause)
        if instance is not None:
            what = describe(instance)
        elif mapper is not None:
            m = _mapper_or_none(mapper)
            what = f"a statement of {m.class_.__name__}" if m is not None else repr(mapper)
        else:
            what = "this statement"
        self._engine_for(shard_id, f"{what} (shard_chooser returned it)")
        return shard_id

    def _execute_shards(self, context: ShardContext) -> list[object]:
        ids = list(self.execute_chooser(context))
        for shard_id in ids:
            self._engine_for(shard_id, "a query (execute_chooser returned it)")
        return ids

    def _identity_shards(self, mapper: Mapper, values: tuple[Any, ...],
                         lazy_from: InstanceState | None) -> list[object]:
        ids = list(self.identity_chooser(mapper, list(values), lazy_loaded_from=lazy_from,
                                         execution_options={}, bind_arguments={}))
        for shard_id in ids:
            self._engine_for(shard_id, f"get({mapper.class_.__name__}, {values!r}) "
                                       "(identity_chooser returned it)")
        return ids

    # -- binds ----------------------------------------------------------------------------
    def get_bind(self, mapper: object = None, clause: object = None, *, shard_id: object = None,
                 instance: object = None, **kw: object) -> Engine | Connection:
        """The shard's Engine: ``shard_id`` if given, else the shard being worked on
        (a query, a load of an object's attributes), else the instance's own shard,
        else what ``shard_chooser(mapper, instance, clause=clause)`` says."""
        if shard_id is None:
            shard_id = self._current_shard()
        if shard_id is None and instance is not None:
            shard_id = instance_state(instance).identity_token
        if shard_id is None:
            shard_id = self._choose_shard(mapper, instance, clause)
        return self._engine_for(shard_id, "a statement")

    def connection(self, mapper: object = None, clause: object = None, bind: object = None,
                   execution_options: object = None, bind_arguments: object = None,
                   shard_id: object = None, **kw: object) -> Connection:
        if bind is None and shard_id is not None:
            bind = self._engine_for(shard_id, "connection()")
        return super().connection(mapper, clause, bind, execution_options, bind_arguments,
                                  **kw)

    # -- SQL execution --------------------------------------------------------------------
    def execute(self, statement: Any, params: Any = None, *, mapper: Any = None,
                bind: Any = None, execution_options: Any = None, **kw: Any) -> Any:
        """Run on the shard named by ``shard_id`` (execution option of the call or of the
        statement); an ORM ``select()`` otherwise on every shard ``execute_chooser``
        names, results concatenated; other statements where ``get_bind`` routes them."""
        shard_id = (execution_options or {}).get("shard_id")
        if shard_id is None and hasattr(statement, "get_execution_options"):
            shard_id = statement.get_execution_options().get("shard_id")
        if shard_id is None:
            shard_id = _option_shard((*statement_options(statement),
                                      *getattr(statement, "_dm_options", ())))
        if bind is not None:
            return super().execute(statement, params, mapper=mapper, bind=bind,
                                   execution_options=execution_options, **kw)
        if shard_id is not None:
            self._engine_for(shard_id, "execute()")
            with self._on_shard(shard_id):
                return super().execute(statement, params, mapper=mapper,
                                       execution_options=execution_options, **kw)
        orm = statement if isinstance(statement, ORMSelect) else \
            orm_select_from_core(statement) if isinstance(statement, Select) else None
        if orm is not None and self._current_shard() is None:
            # (sqlalchemy.select(City) too: 2.x code's select of an entity)
            layout = orm._dm_layout
            ctx = ShardContext(self, statement, None, layout.primary_mapper,
                               dict(execution_options or {}))
            results: list[Result[object]] = []
            for sid in self._execute_shards(ctx):
                with self._on_shard(sid):
                    results.append(super().execute(statement, params, mapper=mapper,
                                                   execution_options=execution_options, **kw))
            if not results:
                return IteratorResult(SimpleResultMetaData(layout.names), iter([]),
                                      _source_supports_scalars=layout.single_entity)
            if len(results) == 1:
                return results[0]
            return results[0].merge(*results[1:])
        return super().execute(statement, params, mapper=mapper,
                               execution_options=execution_options, **kw)

    def _default_identity_token(self) -> object:
        return self._current_shard()

    def _rows_to_results(self, layout: Any, rows: list[object], populate_existing: bool,
                         token: Any, tuples: bool = False) -> list[Any]:
        if token is None:
            token = self._current_shard()
        return super()._rows_to_results(layout, rows, populate_existing, token, tuples)

    # -- loading ----------------------------------------------------------------------------
    def get(self, entity: Any, ident: Any, *, identity_token: Any = None,
            execution_options: Any = None, **kw: Any) -> Any:
        """``identity_token=`` (or the ``shard_id`` execution option) looks on one shard;
        otherwise on the shards ``identity_chooser`` names."""
        if identity_token is None and execution_options:
            identity_token = execution_options.get("shard_id")
        return super().get(entity, ident, identity_token=identity_token,
                           execution_options=execution_options, **kw)

    def _get_impl(self, mapper: Mapper, ident: object, populate_existing: bool = False,
                  with_for_update: Any = None, query: Any = None,
                  identity_token: Any = None, options: Any = None,
                  bind_kw: dict[str, Any] | None = None, execution_options: Any = None,
                  **kw: Any) -> Any:
        base = super()._get_impl
        _pass_on(kw, options=options, bind_kw=bind_kw, execution_options=execution_options)
        if identity_token is None and query is not None:
            identity_token = getattr(query, "_shard_id", None)
        if identity_token is not None:
            self._engine_for(identity_token, f"get({mapper.class_.__name__}, {ident!r})")
            with self._on_shard(identity_token):
                return base(mapper, ident, populate_existing, with_for_update, query,
                            identity_token=identity_token, **kw)
        values = self._normalize_ident(mapper, ident)
        stack = self._dm_shard_stack
        lazy_from = stack[-1][1] if stack else None
        look = not populate_existing and not with_for_update
        if look and lazy_from is not None:
            # a many-to-one lazy load: the parent's shard first
            token = lazy_from.identity_token
            if self._held_in(mapper, values, [token]) is not _NOT_HELD:
                with self._on_shard(token):
                    return base(mapper, values, False, None, query, identity_token=token, **kw)
        shard_ids = self._identity_shards(mapper, values, lazy_from)
        sid = self._held_in(mapper, values, shard_ids) if look else _NOT_HELD
        if sid is not _NOT_HELD:
            with self._on_shard(sid):
                return base(mapper, values, False, None, query, identity_token=sid, **kw)
        return self._first_found(base, shard_ids, mapper, values, populate_existing,
                                 with_for_update, query, **kw)

    def _first_found(self, get: Callable[..., object], shard_ids: Iterable[object],
                     *args: object, **kw: object) -> Any:
        """The object ``get(*args, identity_token=shard, **kw)`` finds in the first of
        ``shard_ids`` that has it, run on that shard; None when none has."""
        for sid in shard_ids:
            with self._on_shard(sid):
                obj = get(*args, identity_token=sid, **kw)
            if obj is not None:
                return obj
        return None

    def _held_in(self, mapper: Mapper, values: object, shard_ids: Iterable[object]) -> object:
        """The first of ``shard_ids`` whose identity map part holds a live object with
        primary key ``values``; ``_NOT_HELD`` when none does."""
        imap = self._identity_map
        for sid in shard_ids:
            st = imap.state_for((mapper.class_, values, sid))
            if st is not None and st.obj() is not None:
                return sid
        return _NOT_HELD

    def _load_attributes(self, state: InstanceState, key: str | None) -> None:
        token = state.identity_token
        if token is None:
            super()._load_attributes(state, key)
            return
        with self._on_shard(token, state):
            super()._load_attributes(state, key)

    def refresh(self, instance: Any, attribute_names: Any = None, with_for_update: Any = None,
                lockmode: Any = None) -> None:
        token = instance_state(instance).identity_token
        if token is None:
            super().refresh(instance, attribute_names, with_for_update, lockmode)
            return
        with self._on_shard(token):
            super().refresh(instance, attribute_names, with_for_update, lockmode)

    # -- flush ---------------------------------------------------------------------------------
    def flush(self, objects: Any = None) -> None:
        if self._flushing:
            super().flush(objects)  # refused there, with the reason
            return
        self._dm_flush_shards.clear()
        # no query's shard applies inside a flush: every row goes to its object's shard
        with self._on_shard(None):
            try:
                super().flush(objects)
            finally:
                self._dm_flush_shards.clear()

    def _shard_token_for(self, state: InstanceState) -> object:
        """The shard of ``state`` in this flush (unit-of-work hook): a persistent
        object's own shard, else the one ``shard_chooser`` picks (asked once)."""
        if state._key is not None:
            token = state.identity_token
            if token is not None:
                return token
        chosen = self._dm_flush_shards
        if state in chosen:
            return chosen[state]
        shard_id = self._choose_shard(state.mapper, state.obj(), None)
        chosen[state] = shard_id
        return shard_id

    def _shard_split_action(self, action: Any) -> list[tuple[Connection, object]]:
        """Split one flush action by shard (unit-of-work hook): [(connection, part)]."""
        token_for = self._shard_token_for
        verb = action.verb
        if verb in ("associate", "dissociate"):
            groups = _group(action.payload, lambda r: token_for(r.parent))
            parts = [(sid, dataclasses.replace(action, payload=rows))
                     for sid, rows in groups.items()]
        elif verb in ("post_update", "pre_delete_update"):
            groups = _group(action.payload, lambda link: token_for(link.dest))
            parts = [(sid, dataclasses.replace(action, payload=links))
                     for sid, links in groups.items()]
        else:
            shard_of = {s: token_for(s) for s in action.states}
            for s in (*action.inserts, *action.updates):
                if s not in shard_of:
                    shard_of[s] = token_for(s)
            order = list(dict.fromkeys(shard_of.values()))
            parts = [(sid, dataclasses.replace(
                action,
                states=[s for s in action.states if shard_of[s] == sid],
                inserts=[s for s in action.inserts if shard_of[s] == sid],
                updates=[s for s in action.updates if shard_of[s] == sid]))
                for sid in order]
        tx = self._transaction
        assert tx is not None
        return [(tx._connection_for_bind(self._engine_for(sid, "a flush")), part)
                for sid, part in parts]


def _group(items: Sequence[_I], key: Callable[[_I], object]) -> dict[object, list[_I]]:
    out: dict[object, list[_I]] = {}
    for item in items or ():
        out.setdefault(key(item), []).append(item)
    return out
