"""The seam between the Session and the layers below it.

The Session (``datamapper.session``, layer 5) calls down into the unit of
work, queries, loaders and attribute instrumentation; some of those have to
call back up: an attribute access loads an expired value through the
session, a backref adds the related object to it, a loader puts rows in its
identity map.  They may not import the Session (lower layers never import
higher ones), so they see it through :class:`SessionLike`: every member of a
session the lower layers use, and nothing else.
``datamapper.session.session.Session`` implements it (mypy checks that where
a Session is passed down).

Why a registry: an instrumented object knows its session only by id
(``InstanceState.session_id``, an int: objects must not keep a session
alive, and pickled or copied objects must not carry one).  The registry
``instance.state._sessions`` maps that id back to the live session; each Session enters itself when it is
created and leaves when it is garbage-collected (a weak-value dictionary).
It lives here, in the instance layer, because the attribute hot paths look it
up on every lazy load or backref.

Extension points (:mod:`datamapper.sharding` fills them in): a session that
spreads one mapper's rows over several databases names the identity token of
each new row (``_shard_token_for``) and splits each flush action by database
(``_shard_split_action``); a plain Session leaves both None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .identity import IdentityMap
from .state import InstanceState


class SessionLike(Protocol):
    """What the layers below the Session use of it."""

    @property
    def hash_key(self) -> int: ...
    @property
    def autocommit(self) -> bool: ...
    @property
    def _identity_map(self) -> IdentityMap: ...
    @property
    def _deleted(self) -> dict[InstanceState, Any]: ...
    @property
    def _transaction(self) -> Any: ...
    # merge() is linking relationships: lazy="raise" does not apply
    @property
    def _merging(self) -> bool: ...
    # the flush is loading what it needs to write: lazy="raise"/raiseload() don't apply
    @property
    def _flush_loading(self) -> bool: ...
    # Session(future=True): SQLAlchemy 2.x semantics (no backref cascades here)
    @property
    def future(self) -> bool: ...
    # >0 inside no_autoflush (attribute loads must not flush half-made changes)
    _no_autoflush: int
    # while an ORM statement's eager loaders run: its execution options and the user
    # options that propagate to their SELECTs (query/options.py sets, loaders read)
    _eager_exec_opts: dict[str, Any] | None
    _eager_user_opts: tuple[Any, ...]

    # the session's event listeners (loading fires loaded_as_persistent)
    @property
    def dispatch(self) -> Any: ...

    @property
    def no_autoflush(self) -> AbstractContextManager[Any]: ...

    # -- sharding extension points (None: one database) --------------------------------
    @property
    def _shard_token_for(self) -> Callable[[InstanceState], Any] | None: ...
    @property
    def _shard_split_action(self) -> Callable[[Any], Sequence[tuple[Any, Any]]] | None: ...

    # -- public API used by instrumentation (backrefs, cascades, dynamic relationships) --
    def add(self, instance: Any, _warn: bool = True) -> None: ...
    def get(self, entity: Any, ident: Any, **kw: Any) -> Any: ...
    def expunge(self, instance: Any) -> None: ...
    def merge(self, instance: Any, load: bool = True, dont_load: bool | None = None, *,
              options: Any = None) -> Any: ...
    def query(self, *entities: Any, **kw: Any) -> Any: ...
    def execute(self, statement: Any, params: Any = None, **kw: Any) -> Any: ...
    def scalars(self, statement: Any, params: Any = None, **kw: Any) -> Any: ...
    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any: ...

    # -- SQL and loading --------------------------------------------------------------
    def _autoflush(self) -> None: ...
    def _autobegin(self) -> Any: ...
    def _run(self, stmt: Any, params: Any, bind: Any, execution_options: Any = None,
             orm: dict[str, Any] | None = None, positional: bool = False) -> Any: ...
    def _execute_impl(self, statement: Any, params: Any, mapper: Any, bind: Any,
                      execution_options: Any, bind_kw: dict[str, Any] | None) -> Any: ...
    def _fire_orm_execute(self, statement: Any, params: Any, execution_options: Any,
                          bind_kw: dict[str, Any] | None, run: Any, mappers: Any,
                          extra: Any = None, **flags: Any) -> Any: ...
    def _execute_for_mapper(self, stmt: Any, mapper: Any, query: Any = None, bind: Any = None,
                            params: Any = None,
                            bind_kw: dict[str, Any] | None = None) -> list[Any]: ...
    def _rows_to_results(self, layout: Any, rows: list[Any], populate_existing: bool,
                         token: Any, tuples: bool = False) -> list[Any]: ...
    def _check_locked_versions(self, layout: Any, rows: list[Any], token: Any) -> None: ...
    def _get_impl(self, mapper: Any, ident: Any, populate_existing: bool = False,
                  with_for_update: Any = None, query: Any = None,
                  identity_token: Any = None, options: Any = None,
                  bind_kw: dict[str, Any] | None = None,
                  execution_options: Any = None) -> Any: ...
    def _load_attributes(self, state: InstanceState, key: str | None) -> None: ...

    # -- object bookkeeping -----------------------------------------------------------
    def _save_or_update_state(self, state: InstanceState, obj: Any) -> None: ...
    def _expunge_state(self, state: InstanceState) -> None: ...
    def _expunge_orphan(self, state: InstanceState, obj: Any) -> None: ...
    def _watch_orphan(self, state: InstanceState) -> None: ...
    def _delete_orphan(self, state: InstanceState) -> None: ...
    def _record_key_switch(self, state: InstanceState, old_key: Any) -> None: ...

