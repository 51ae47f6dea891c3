"""What every part of the :class:`~datamapper.session.session.Session` shares.

The Session is assembled from one class per concern, each in its own module:

===================  ===========================================================
``session.py``       construction, settings, events, close
``tx_control.py``    ``begin``/``commit``/``rollback``/``prepare``, autobegin, the
                     current transaction (the Session side of the seam with
                     ``SessionTransaction``, see ``tx_base.py``)
``binds.py``         which Engine/Connection a mapper or statement uses
``execute.py``       ``execute``/``scalar(s)``/``query`` and ``_run``
``get.py``           ``get``/``get_one``
``expire.py``        ``refresh``/``expire`` and attribute loading
``membership.py``    ``add``/``expunge``/``merge`` and their cascades
``deleting.py``      ``delete``, the delete cascade, delete-orphan orphans
``flushing.py``      autoflush and ``flush()`` orchestration
``dml.py``           ORM INSERT/UPDATE/DELETE statements (module functions;
                     ``dml_params.py``, ``dml_bulk.py``, ``dml_inherited.py``)
``tx_objects.py``    what a transaction's end does to the objects
``legacy_names.py``  0.3/0.4 method names
===================  ===========================================================

:class:`SessionBase` declares the state they all read (set in
``Session.__init__``) and, for the type checker only, the methods one part
calls on another, so that every cross-part call is visible here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from .. import event
from ..instance.identity import IdentityMap
from ..instance.state import InstanceState
from .ownership import OwnerGuard

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

    from ..mapping.mapper import Mapper
    from ..query import Query
    from .transaction import SessionTransaction
    from .tx_snapshot import TxSnapshot


class SessionBase:
    """The Session's state, and the methods its parts call on each other."""

    hash_key: int
    bind: Any
    autoflush: bool
    expire_on_commit: bool
    autocommit: bool
    future: bool
    twophase: bool
    echo_uow: bool
    autobegin: bool
    join_transaction_mode: str
    execution_options: dict[str, Any]
    info: dict[Any, Any]
    dispatch: event.Dispatch
    _query_cls: type[Query[Any]]
    _guard: OwnerGuard
    _identity_map: IdentityMap
    # how many times expunge_all() (close(), reset()) emptied the identity map: a result
    # made before refuses to hand out its objects after (session/results.py)
    _map_generation: int
    # pending objects, and objects marked for deletion at the next flush
    _new: dict[InstanceState, Any]
    _deleted: dict[InstanceState, Any]
    # new objects marked as delete-orphan orphans (see SessionMembership._watch_orphan)
    _orphan_watch: set[InstanceState]
    _transaction: SessionTransaction | None
    # transactions whose ``with`` block is open, outermost first
    _tx_blocks: list[SessionTransaction]
    _close_resets_only: bool
    _closed: bool
    _flushing: bool
    _merging: bool
    _eager_exec_opts: dict[str, Any] | None
    _eager_user_opts: tuple[Any, ...]
    _flush_loading: bool
    _no_autoflush: int
    _order: itertools.count[int]
    _binds: dict[Any, Any]
    _table_binds_of_mappers: dict[Any, Any]
    _binds_view: Any

    # Extension points of a session that spreads rows over several databases
    # (instance/seam.py; datamapper.sharding.ShardedSession defines them as methods):
    # the identity token of a new row, and a flush action split by database.
    _shard_token_for: Callable[[InstanceState], Any] | None = None
    _shard_split_action: Callable[[Any], Sequence[tuple[Connection, Any]]] | None = None

    if TYPE_CHECKING:
        # session.py
        def _fire(self, name: str, *args: Any) -> None: ...
        # tx_control.py
        def _autobegin(self) -> SessionTransaction: ...
        def _check_usable(self) -> None: ...
        def get_transaction(self) -> SessionTransaction | None: ...
        def _check_writable(self) -> None: ...
        def _begin_write(self) -> SessionTransaction: ...
        def _statement_error(self, conn: Connection, exc: DBAPIError) -> None: ...
        def begin(self, subtransactions: bool = False, nested: bool = False,
                  _subtrans: bool = False) -> SessionTransaction: ...
        @property
        def no_autoflush(self) -> AbstractContextManager[Any]: ...
        # binds.py
        def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any: ...
        def _bind_for(self, mapper: Any, clause: Any,
                      bind_kw: dict[str, Any] | None) -> Any: ...
        def _connection_for_bind(self, bind: Any,
                                 execution_options: Any = None) -> Connection: ...
        # execute.py
        def execute(self, statement: Any, params: Any = None, **kw: Any) -> Any: ...
        def _run(self, stmt: Any, params: Any, bind: Any,
                 execution_options: Any = None,
                 orm: dict[str, Any] | None = None, positional: bool = False) -> Any: ...
        def _fetch_cached_select(self, stmt: Any, params: dict[str, Any], bind: Any,
                                 execution_options: Any,
                                 compiled: dict[Any, Any],
                                 positional: bool = False) -> list[Any]: ...
        def _execute_for_mapper(self, stmt: Any, mapper: Any, query: Any = None,
                                bind: Any = None, params: Any = None,
                                bind_kw: dict[str, Any] | None = None,
                                execution_options: Any = None) -> list[Any]: ...
        def _rows_to_results(self, layout: Any, rows: list[Any], populate_existing: bool,
                             token: Any, tuples: bool = False) -> list[Any]: ...
        def _default_identity_token(self) -> Any: ...
        # get.py
        def _get_impl(self, mapper: Mapper, ident: Any, populate_existing: bool = False,
                      with_for_update: Any = None, query: Any = None,
                      identity_token: Any = None, options: Any = None,
                      bind_kw: dict[str, Any] | None = None,
                      execution_options: Any = None) -> Any: ...
        # expire.py
        def _load_attributes(self, state: InstanceState, key: str | None) -> None: ...
        def _cascade_expire(self, state: InstanceState) -> None: ...
        # membership.py
        def _update_impl(self, state: InstanceState, obj: object,
                         revert_deletion: bool = False) -> None: ...
        def _before_attach(self, state: InstanceState, obj: object) -> None: ...
        def expunge(self, instance: Any) -> None: ...
        def expunge_all(self) -> None: ...
        def _expunge_state(self, state: InstanceState, to_transient: bool = False) -> None: ...
        # deleting.py
        def delete(self, instance: object) -> None: ...
        def _delete_impl(self, state: InstanceState, obj: object) -> None: ...
        def _expunge_marked_orphans(self) -> None: ...
        def _cascade_deletes_again(self) -> None: ...
        # tx_objects.py
        def _objects_after_rollback(self, snapshot: TxSnapshot, dirty_only: bool) -> None: ...
        def _objects_after_commit(self, snapshot: TxSnapshot) -> None: ...
        def _detach_flushed_deleted(self, tx: SessionTransaction) -> None: ...
        def _restore_deleted(self, state: InstanceState, obj: object) -> None: ...
        def _detach_deleted_all(self, states: list[InstanceState]) -> None: ...
        def _forget_flushed_delete(self, state: InstanceState) -> None: ...
        # flushing.py
        def _flush_connection(self, mapper: Mapper) -> Connection: ...
        def flush(self, objects: Iterable[Any] | None = None) -> None: ...
        def _autoflush(self) -> None: ...
        def _flush_before_commit(self) -> None: ...
