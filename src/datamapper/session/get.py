"""Session reads of single objects by primary key: ``get``, ``get_one``.

Mixed into :class:`~datamapper.session.session.Session`.  ``get`` answers from
the identity map when it can and runs one cached SELECT by primary key
otherwise.  ``refresh``/``expire`` and the loading of expired attributes are in
:mod:`.expire`.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, TypeVar, cast, overload

from sqlalchemy import and_ as sql_and
from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlalchemy.sql import ClauseElement

from .._util import NO_VALUE, describe
from ..exc import (
    ArgumentError,
    InvalidRequestError,
    NoResultFound,
    ObjectDeletedError,
    SAWarning,
    StaleDataError,
)
from ..instance.seam import SessionLike
from ..instance.state import (
    InstanceState,
)
from ..loading import EntityLoader, instances
from ..loading.plans import has_eager_defaults
from ..loading.rows import fetch_rows
from ..mapping.cache import CacheSlot
from ..mapping.composite import COMPOSITE_CLASSES, composite_values
from ..mapping.inheritance import apply_entity_source
from ..mapping.mapper import Mapper, _mapper_or_none, class_mapper
from ..query import Query
from ..query.entities import RowLayout
from .base import SessionBase
from .binds import SessionBinds, _bind_kw
from .bulk import mark_deleted
from .ownership import exclusive

_O = TypeVar("_O")  # a mapped class's instances


# _get_in_identity_map(): the object in the map does not answer get(), ask the database
_LOOK_UP: Any = object()


def _get_query_state(with_for_update: object, identity_token: object) -> dict[str, Any]:
    """The Query state a ``get()`` run as a Query sets: its lock, its shard."""
    out: dict[str, Any] = {}
    if with_for_update:
        out["_for_update"] = with_for_update if isinstance(with_for_update, dict) else {}
    if identity_token is not None:
        out["_shard_id"] = identity_token
    return out


def _mapper_for_get(entity: object) -> Mapper:
    """The configured mapper ``get()`` loads ``entity`` (a mapped class or Mapper)
    with; a SQL expression given instead is refused by name."""
    mapper = _mapper_or_none(entity)
    if mapper is None:
        if isinstance(entity, ClauseElement) or (
                not isinstance(entity, type) and hasattr(entity, "__clause_element__")):
            # a SQL expression such as User.id: a wrong argument, not an unmapped class
            raise ArgumentError(
                f"Can't get() by {entity!r}: the first argument (of type "
                f"{type(entity).__name__}) is not a mapped class or Mapper; pass the "
                "class, e.g. session.get(User, 5)"
            )
        return class_mapper(entity)
    if not mapper.configured:
        class_mapper(entity)
    return mapper


def _through_synonyms(mapper: Mapper, ident: dict[str, Any]) -> dict[str, Any]:
    """``ident`` with each key that names a synonym (of a synonym ...) replaced by the
    attribute it stands for; a key given twice that way is left as is (and refused)."""
    out: dict[str, Any] = {}
    for k, v in ident.items():
        name, prop = k, mapper._props.get(k)
        for _ in range(len(mapper._props)):
            if not getattr(prop, "is_synonym", False):
                break
            name = cast(Any, prop).name
            prop = mapper._props.get(name)
        out[k if name in out else name] = v
    return out


class SessionGet(SessionBase):
    """``get``, ``get_one``, ``refresh``, ``expire``, ``expire_all``."""

    def _normalize_ident(self, mapper: Mapper, ident: object) -> tuple[Any, ...]:
        n = len(mapper._pk_keys)
        if isinstance(ident, dict):
            if any(k not in mapper._pk_keys for k in ident):
                ident = _through_synonyms(mapper, ident)
            bad = [k for k in ident if k not in mapper._pk_keys]
            missing = [k for k in mapper._pk_keys if k not in ident]
            if bad or missing:
                raise InvalidRequestError(
                    f"Can't get {mapper.class_.__name__} by {ident!r}: the dictionary must have "
                    f"exactly the primary key attribute names {', '.join(mapper._pk_keys)}"
                    + (f"; unknown: {', '.join(map(repr, bad))}" if bad else "")
                )
            return tuple(ident[k] for k in mapper._pk_keys)
        if ident.__class__ in COMPOSITE_CLASSES:  # get(Graph, Version(1, 2))
            ident = composite_values(ident)
        if isinstance(ident, (tuple, list)):
            values = tuple(ident)
        else:
            values = (ident,)
        if len(values) != n:
            raise InvalidRequestError(
                f"Incorrect number of values in identifier formed from argument to get(): "
                f"{mapper.class_.__name__} has {n} primary key column(s) "
                f"({', '.join(mapper._pk_keys)}) but {len(values)} value(s) were given: {ident!r}; "
                f"pass {n} value(s) in primary key order (a tuple when there are several), or "
                "a dict keyed by attribute name"
            )
        return values

    @overload
    def get(self, entity: type[_O], ident: object, *, populate_existing: bool | None = None,
            with_for_update: object = None, options: object = None, identity_token: object = None,
            execution_options: object = None, bind_arguments: object = None,
            **kw: object) -> _O | None: ...

    @overload
    def get(self, entity: object, ident: object, *, populate_existing: bool | None = None,
            with_for_update: object = None, options: object = None, identity_token: object = None,
            execution_options: object = None, bind_arguments: object = None,
            **kw: object) -> Any: ...

    def get(self, entity: Any, ident: Any, *, populate_existing: bool | None = None,
            with_for_update: Any = None, options: Any = None, identity_token: Any = None,
            execution_options: Any = None, bind_arguments: Any = None, **kw: Any) -> Any:
        """The object with primary key ``ident``: from the identity map, else by SELECT.
        ``populate_existing``, when given, wins over the execution option of that name.
        Other keyword arguments (and ``bind_arguments``) go to ``get_bind()``."""
        if with_for_update is not None:
            _check_for_update(with_for_update, "get")
        if populate_existing is None:
            populate_existing = bool(execution_options.get("populate_existing")) \
                if execution_options else False
        else:
            execution_options = {**(execution_options or {}),
                                 "populate_existing": populate_existing}
        if not populate_existing and not with_for_update and identity_token is None and \
                isinstance(entity, type) and not isinstance(ident, (tuple, list, dict)):
            # hit path: a scalar key of a plain class, loaded and live in the identity map
            inner = self._identity_map._maps.get((entity, None))
            try:
                state = inner.get(ident) if inner is not None else None
            except TypeError:  # unhashable: not a key of the map (a composite object?)
                state = None
            if state is not None and not state.expired_attributes:
                obj = state.obj()
                if obj is not None:
                    return obj
            if ident.__class__ in COMPOSITE_CLASSES:
                # get(Graph, Version(1, 2)): the key is its values (never a map key itself)
                ident = composite_values(ident)
            elif state is None and ident is not None and not options and \
                    not bind_arguments and not kw:
                # miss path: nothing under this key, a plain SELECT by primary key
                miss = self._plain_get_plan(entity)
                if miss is not None:
                    return self._get_miss(miss[0], miss[1], ident, execution_options)
        mapper = _mapper_for_get(entity)
        return self._get_impl(mapper, ident, populate_existing=populate_existing,
                              with_for_update=with_for_update, identity_token=identity_token,
                              options=options,
                              bind_kw=_bind_kw(bind_arguments, kw) if bind_arguments or kw
                              else None,
                              execution_options=execution_options)

    def _plain_get_plan(self, entity: type) -> tuple[Mapper, Any] | None:
        """The mapper and cached (statement, loader, compiled) of a ``get()`` miss
        that needs no Query (see :func:`_plain_get`), else None.  The general path's
        checks are fixed per mapper: the class must be the one its identity map is
        kept under (not a subclass of an inheritance hierarchy), and ``_get_impl``
        not overridden (as a sharded session does)."""
        m = _mapper_or_none(entity)
        if m is not None and m.configured and m._identity_class is entity and \
                type(self)._get_impl is SessionGet._get_impl:
            plan = _plain_get(m)
            if plan:
                return m, plan
        return None

    def get_one(self, entity: type[_O], ident: object, *, populate_existing: bool | None = None,
                with_for_update: object = None, options: object = None, identity_token: object = None,
                execution_options: object = None, bind_arguments: object = None,
                **kw: object) -> _O:
        """Like :meth:`get`, but raises NoResultFound when there is no such row."""
        obj = self.get(entity, ident, populate_existing=populate_existing,
                       with_for_update=with_for_update, options=options,
                       identity_token=identity_token, execution_options=execution_options,
                       bind_arguments=bind_arguments, **kw)
        if obj is None:
            name = getattr(entity, "__name__", None) or repr(entity)
            raise NoResultFound(
                f"No row was found for {name} with primary key {ident!r}: get_one() requires "
                "one; use get() to get None instead"
            )
        return obj

    @exclusive
    def _get_impl(self, mapper: Mapper, ident: Any, populate_existing: bool = False,
                  with_for_update: Any = None, query: Any = None,
                  identity_token: Any = None, options: Any = None,
                  bind_kw: dict[str, Any] | None = None,
                  execution_options: Any = None) -> Any:
        values = self._normalize_ident(mapper, ident)
        key = (mapper._identity_class, values, identity_token)
        state = self._identity_map.state_for(key)
        if state is not None and not populate_existing and not with_for_update:
            found = self._get_in_identity_map(mapper, state)
            if found is not _LOOK_UP:
                return found
        partial = None in values
        if partial and all(v is None for v in values):
            # no key at all: there is no row to look for (likely a bug in the caller)
            warnings.warn(
                f"get({mapper.class_.__name__}, {ident!r}): every primary key value is "
                "None, which matches no row; no SQL was sent and None is returned",
                SAWarning, stacklevel=3)
            return None
        if partial or options or (query is not None and query._options) or \
                has_eager_defaults(mapper):
            # loader options / configured eager relationships, or a partly NULL key (the
            # cached statement compares every key column with '='): load through a Query
            opts = list(options or ()) + list(query._options if query is not None else ())
            return self._get_through_query(mapper, values, opts, populate_existing,
                                           with_for_update, identity_token, execution_options)
        self._autoflush()
        stmt = _get_statement(mapper, with_for_update)
        params = dict(zip(_pk_param_names(len(values)), values))
        bind = self._bind_for(mapper, stmt, bind_kw)
        flags: dict[str, Any] = {"mappers": (mapper,), "bind_arguments": bind_kw}
        if identity_token is not None or populate_existing or with_for_update:
            flags["load_flags"] = {"identity_token": identity_token,
                                   "populate_existing": populate_existing or
                                   bool(with_for_update)}
        rows = fetch_rows(self._run(stmt, params, bind, execution_options, flags))
        if not rows:
            return None
        loader = _get_loader(mapper)
        if with_for_update and state is not None and mapper.version_id_prop is not None:
            _check_locked_version(state, loader, rows[0])
        return instances(cast("SessionLike", self), loader, rows, populate_existing or bool(with_for_update),
                         identity_token)[0]

    def _get_in_identity_map(self, mapper: Mapper, state: InstanceState) -> Any:
        """``get()``'s answer from the identity map for ``state`` (its key's entry):
        the object, None (its row is of another class of the hierarchy, or gone), or
        ``_LOOK_UP`` when the database must be asked (the object was collected, or
        its row turned out to be deleted)."""
        obj = state.obj()
        if obj is None:
            return _LOOK_UP
        if mapper._poly is not None and not isinstance(obj, mapper.class_):
            return None  # the row is an object of another class of the hierarchy
        # an object marked for deletion is still in the map until the flush
        if state.expired_attributes is not mapper._expire_keys or \
                not _columns_expired(state):
            return obj
        # expired as a whole (commit, expire(obj), refresh's expiry): loaded to see
        # that its row still exists; an object with only some attributes expired is
        # returned as it is (they load on access), as SQLAlchemy does
        was_deleted = state._deleted
        try:
            self._load_attributes(state, None)
        except ObjectDeletedError:
            # the row is gone: the object is deleted (out of the identity map) until the
            # transaction ends, as after a flushed DELETE; a rollback puts it back. The
            # key is then looked up as a miss (as SQLAlchemy): when the error came from
            # this load's autoflush, the transaction is gone and that lookup says so
            # (PendingRollbackError) instead of answering None
            self._deleted.pop(state, None)
            mark_deleted(self, [state])
            return _LOOK_UP
        if state._deleted and not was_deleted:
            # marked for deletion, and the autoflush of this load deleted its row:
            # there is no such row any more
            return None
        return obj

    def _get_through_query(self, mapper: Mapper, values: tuple[Any, ...], opts: list[Any],
                           populate_existing: bool, with_for_update: Any,
                           identity_token: Any, execution_options: Any) -> Any:
        """``get()`` run as a Query: with loader options, configured eager loading or
        a partly NULL key (compared with IS NULL)."""
        q: Query[Any] = Query([mapper.class_], cast("SessionLike", self)).options(*opts).filter(
            *[c.is_(None) if v is None else c == v
              for c, v in zip(mapper.primary_key, values, strict=True)])
        if populate_existing or with_for_update:
            q = q.populate_existing()
        if with_for_update or identity_token is not None:
            q = q._clone(**_get_query_state(with_for_update, identity_token))
        if execution_options:
            q = q.execution_options(**execution_options)
        found = q.all()
        return found[0] if found else None

    @exclusive
    def _get_miss(self, mapper: Mapper, plan: tuple[Any, EntityLoader, dict[Any, Any]], ident: object,
                  execution_options: object) -> Any:
        """``get()`` of a one-column key not in the identity map, for a mapper whose
        get needs no Query (:func:`_plain_get`): what ``_get_impl`` does for it, with
        the statement and loader taken from the mapper's cache in one step."""
        self._autoflush()
        stmt, loader, compiled = plan
        bind = self.bind
        if self._binds or bind is None or type(self).get_bind is not SessionBinds.get_bind:
            bind = self._bind_for(mapper, stmt, None)  # else get_bind() would give self.bind
        params = {"_dm_pk_0": ident}
        if "do_orm_execute" in self.dispatch.active:
            rows = fetch_rows(self._run(stmt, params, bind, execution_options,
                                        {"mappers": (mapper,), "bind_arguments": None}))
        else:
            rows = self._fetch_cached_select(stmt, params, bind, execution_options, compiled)
        if not rows:
            return None
        return instances(cast("SessionLike", self), loader, rows, False, None)[0]

    def _check_locked_versions(self, layout: RowLayout, rows: list[Any], token: object) -> None:
        """A SELECT ... FOR UPDATE (``Query.with_for_update()``) found rows of versioned
        objects already in this session: each row must be at the object's version."""
        for kind, loader in layout.parts:
            if kind != "entity" or loader.mapper.version_id_prop is None:
                continue
            inner = self._identity_map.inner(loader.mapper._identity_class, token)
            pkpos = loader.pk_positions
            for row in rows:
                ident = row[pkpos[0]] if len(pkpos) == 1 else tuple([row[p] for p in pkpos])
                state = inner.get(ident)
                if state is not None:
                    _check_locked_version(state, loader, row)


_FOR_UPDATE_FLAGS = frozenset(("read", "nowait", "of", "skip_locked", "key_share"))


def _check_for_update(value: object, verb: str) -> None:
    """``with_for_update`` is True, or a non-empty dict of Query.with_for_update() flags."""
    if value is True or value is False:
        return
    if isinstance(value, dict) and value and _FOR_UPDATE_FLAGS.issuperset(value):
        return
    if isinstance(value, dict):
        bad = sorted(map(str, set(value) - _FOR_UPDATE_FLAGS))
        why = (f"unknown flag(s) {', '.join(bad)}" if bad else
               "an empty dict asks for no flag, and would take no lock")
    else:
        why = f"{value!r} is neither True nor a dict of flags"
    raise ArgumentError(
        f"Can't {verb} with with_for_update={value!r}: {why}; pass with_for_update=True, "
        f"or a dict of flags among {', '.join(sorted(_FOR_UPDATE_FLAGS))} "
        "(e.g. {'nowait': True})"
    )


def _get_statement(mapper: Mapper, with_for_update: object) -> Any:
    cache = _GET_STATEMENTS.get(mapper)
    if cache is None:
        cache = _GET_STATEMENTS.set(mapper, {})
    ck = repr(sorted(with_for_update.items())) if isinstance(with_for_update, dict) else \
        bool(with_for_update)
    stmt = cache.get(ck)
    if stmt is None:
        stmt = core_select(*_get_loader(mapper).columns).where(
            sql_and(*[c == bindparam(f"_dm_pk_{i}") for i, c in enumerate(mapper.primary_key)])
        )
        stmt = apply_entity_source(stmt, mapper)
        if with_for_update:
            stmt = stmt.with_for_update(**(with_for_update if isinstance(with_for_update, dict)
                                           else {}))
        cache[ck] = stmt
    return stmt


@functools.lru_cache(maxsize=64)
def _pk_param_names(n: int) -> tuple[str, ...]:
    return tuple(f"_dm_pk_{i}" for i in range(n))


def _check_locked_version(state: InstanceState, loader: EntityLoader, row: Any) -> None:
    """``get(..., with_for_update=...)`` of an object already in the session: the row now
    locked must be at the version the object was loaded with, else another transaction
    changed it in between, and the object's values (and any change made to them) are stale."""
    obj = state.obj()
    vk = state.mapper.version_id_prop.key
    if obj is None or vk not in loader.keys:
        return
    cs = state._committed
    held = cs[vk] if cs and vk in cs else obj.__dict__.get(vk, NO_VALUE)
    found = row[loader.offset + loader.keys.index(vk)]
    if held is NO_VALUE or held == found:
        return
    raise StaleDataError(
        f"Can't lock {describe(obj)} at the version it was loaded with: it holds version "
        f"{held!r} in {state.mapper.class_.__name__}.{vk} but its row is at version "
        f"{found!r}, so another transaction changed it since; refresh it (session.refresh("
        "obj, with_for_update=...)) or roll back and load it again"
    )


def _get_loader(mapper: Mapper) -> EntityLoader:
    loader = _GET_LOADER.get(mapper)
    if loader is None:
        loader = _GET_LOADER.set(mapper, EntityLoader(mapper))
    return loader


def _plain_get(mapper: Mapper) -> tuple[Any, EntityLoader, dict[Any, Any]] | None:
    """(SELECT, row loader, its driver forms per dialect) of ``get()`` for a mapper with
    a one-column primary key and no configured eager relationship (its get runs no
    Query), else None; cached."""
    plan = _GET_PLAIN.get(mapper)
    if plan is None:
        ok = len(mapper.primary_key) == 1 and not has_eager_defaults(mapper)
        plan = _GET_PLAIN.set(mapper, (_get_statement(mapper, None), _get_loader(mapper), {})
                              if ok else ())
    return plan or None


_GET_PLAIN: CacheSlot[Any] = CacheSlot(
    "get() of a one-column key: (SELECT, loader, driver forms by dialect) or ()")
_GET_STATEMENTS: CacheSlot[dict[Any, Any]] = CacheSlot("get() SELECT by primary key, per lock mode")
_GET_LOADER: CacheSlot[EntityLoader] = CacheSlot("row loader of get()")


def _columns_expired(state: InstanceState) -> bool:
    """Is any column attribute of ``state`` expired (not just relationships)?"""
    props = state.mapper._props
    for k in state.expired_attributes:
        p = props.get(k)
        if p is None or not getattr(p, "is_relationship", False):
            return True
    return False


