"""ORM-enabled INSERT, UPDATE and DELETE run by ``Session.execute()``, and the 1.x
bulk methods (``bulk_save_objects``, ``bulk_insert_mappings``, ``bulk_update_mappings``).

Callers: ``Session.execute()`` for statements built on a mapped class
(``insert(User)``, ``update(User)``, ``delete(User)`` and the dialects' upsert
constructs; see :func:`..mapping.coercion.dml_mapper`), and the Session's bulk
methods.

- ``insert(User)`` with a list of dictionaries: a batched INSERT.  Keys are
  mapped attribute names (column keys are accepted too); consecutive
  dictionaries with the same keys are one executemany; a ``None`` is left out
  (so column defaults apply) unless the ``render_nulls`` execution option is set.
- ``update(User)`` with a list of dictionaries: an UPDATE by primary key per
  dictionary, batched the same way; every dictionary must carry the whole key.
  Objects of the identity map with those keys take the new values.
- ``update(User).where(...).values(...)`` / ``delete(User).where(...)``: one
  statement; the session's objects follow ``synchronize_session`` (see
  :mod:`.bulk`).
- ``.returning(User, ...)`` gives objects through the identity map (existing
  objects are refreshed for UPDATE, and with ``populate_existing`` for INSERT and
  upserts); objects an UPDATE or DELETE returned are kept in line as above.

Every name and dictionary is checked before any SQL is sent; a refused
statement leaves the session as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, and_, bindparam
from sqlalchemy.engine import IteratorResult
from sqlalchemy.exc import DBAPIError

from .._core import SimpleResultMetaData, annotations_of
from ..exc import InvalidRequestError, StaleDataError
from ..instance.state import InstanceState, instance_state
from ..mapping.cache import CacheSlot
from ..mapping.coercion import (
    BUNDLE_KEY,
    dml_has_multi_values,
    dml_returning,
    dml_values,
    dml_where,
    dml_with_returning,
    dml_with_values,
    entity_of,
    statement_key,
)
from ..mapping.composite import expand_composite_dict
from ..mapping.mapper import Mapper, class_mapper
from ..persistence.driver import driver_executemany
from ..query.entities import RowLayout, refuse_star_with_others
from .bulk import (
    BulkContext,
    apply_values,
    check_sync,
    criteria_tests,
    mark_deleted,
    matching_states,
    resolve_values,
)
from .dml_inherited import (
    insert_joined,
    insert_joined_rows,
    is_joined,
    retarget,
    update_by_pk_joined,
)
from .results import OrmResult

if TYPE_CHECKING:
    from .base import SessionBase

PK_PREFIX = "_dm_pk_"


# -- what a mapped class's dictionaries mean ------------------------------------------------
class _Columns:
    """Attribute name -> column key for one mapper's table (computed once per mapper)."""

    def __init__(self, mapper: Mapper) -> None:
        table = mapper.local_table
        self.table = table
        self.key_of: dict[str, str] = {}
        for key, prop in mapper.column_attrs.items():
            col = prop.columns[0]
            if isinstance(col, Column) and col.table is table:  # (not a SQL expression)
                self.key_of[key] = col.key
        for col in table.c:  # column keys name themselves
            self.key_of.setdefault(col.key, col.key)
        # names whose column key is the same: dictionaries made only of these pass as is
        self.same = frozenset(k for k, v in self.key_of.items() if k == v)
        # a None for these columns is left out of an INSERT so that their default (or
        # generated key) applies; for any other column None and NULL are the same
        # (under every name of theirs: the attribute's and the column key)
        defaulted = {
            c.key for c in table.c
            if not c.type.should_evaluate_none and (
                c.default is not None or c.server_default is not None or c.primary_key)}
        self.none_dropped = tuple(name for name, ck in self.key_of.items() if ck in defaulted)
        self.pk_attrs = list(mapper._pk_keys)
        self.pk_cols = list(mapper.primary_key)
        self.pk_colkeys = {c.key for c in self.pk_cols}
        self.version_key = mapper.version_id_prop.key if mapper.version_id_prop else None
        self.update_by_pk = table.update().where(
            and_(*[c == bindparam(PK_PREFIX + c.key) for c in self.pk_cols]))
        # compiled forms for the driver fast path, per statement structure
        self.driver_caches: dict[Any, dict[Any, Any]] = {}
        # composite attribute names: a dictionary naming one gives its columns' values
        self.composites = frozenset(k for k, p in mapper._props.items()
                                    if getattr(p, "is_composite", False))


_COLUMNS: CacheSlot[_Columns] = CacheSlot("ORM DML: attribute names to columns, UPDATE by key")


def _columns(mapper: Mapper) -> _Columns:
    cols = _COLUMNS.get(mapper)
    if cols is None or cols.table is not mapper.local_table:
        cols = _COLUMNS.set(mapper, _Columns(mapper))
    return cols


def _unknown_keys(mapper: Mapper, cols: _Columns, d: dict[str, Any], index: int,
                  verb: str) -> InvalidRequestError:
    bad = sorted(str(k) for k in d if k not in cols.key_of)
    return InvalidRequestError(
        f"Can't {verb} {mapper.class_.__name__}: dictionary #{index} has "
        f"{', '.join(map(repr, bad))}, which {'is' if len(bad) == 1 else 'are'} not mapped "
        f"column attribute(s) of {mapper.class_.__name__}; use the names "
        f"{', '.join(sorted(mapper.column_attrs.keys()))}"
    )


def _insert_params(mapper: Mapper, rows: Sequence[Any], render_nulls: bool,
                   verb: str = "bulk INSERT") -> list[dict[str, Any]]:
    """Each dictionary's attribute names as column keys (None left out unless
    ``render_nulls``); a name that is not a mapped column is refused."""
    cols = _columns(mapper)
    same = cols.same
    key_of = cols.key_of
    dropped = () if render_nulls else cols.none_dropped
    version_key = cols.version_key
    gen = mapper.version_id_generator if version_key is not None else None
    identity = _discriminator(mapper, cols)
    composites = cols.composites
    out: list[dict[str, Any]] = []
    append = out.append
    for i, d in enumerate(rows):
        if d.__class__ is not dict and not isinstance(d, dict):
            raise InvalidRequestError(
                f"Can't {verb} {mapper.class_.__name__}: parameter set #{i} is "
                f"{type(d).__name__}, not a dictionary of attribute values"
            )
        drop = [k for k in dropped if k in d and d[k] is None] if dropped else None
        if d.keys() <= same:
            p = {k: v for k, v in d.items() if k not in drop} if drop else d
        else:
            if composites and not composites.isdisjoint(d.keys()):
                d = expand_composite_dict(mapper, d)
                drop = [k for k in dropped if k in d and d[k] is None] if dropped else None
            if not d.keys() <= key_of.keys():
                raise _unknown_keys(mapper, cols, d, i, verb)
            p = {key_of[k]: v for k, v in d.items() if not drop or k not in drop}
        if version_key is not None and callable(gen) and p.get(version_key) is None:
            p = {**p, mapper.version_id_col.key: gen(None)}  # type: ignore[union-attr]
        if identity is not None and p.get(identity[0]) is None:
            p = {**p, identity[0]: identity[1]}  # the row's class, as a flush writes it
        append(p)
    return out


def _discriminator(mapper: Mapper, cols: _Columns) -> tuple[str, Any] | None:
    """(column key, value) of the polymorphic identity a new row of ``mapper`` holds."""
    poly = mapper._poly
    if poly is None or poly.on_key is None or mapper.polymorphic_identity is None:
        return None
    key = cols.key_of.get(poly.on_key)
    return (key, mapper.polymorphic_identity) if key is not None else None


VERSION_PREFIX = "_dm_ver_"


def _versioned(mapper: Mapper, stmt: Any, batch: list[dict[str, Any]]
               ) -> tuple[Any, list[dict[str, Any]], bool]:
    """A bulk UPDATE by primary key of a versioned mapper whose dictionaries give the
    row's version (``{"id": 1, "value": "x", "version_id": 1}``): as a flush does, the
    UPDATE also matches that version and sets the next one (the generator's; the
    given one again with ``version_id_generator=False``).  Without the version in
    the dictionaries: the statement and batch as they are (no check)."""
    vcol = mapper.version_id_col
    if vcol is None or vcol.key not in batch[0] or vcol.table is not mapper.local_table:
        return stmt, batch, False
    key = vcol.key
    gen = mapper.version_id_generator
    out = []
    for p in batch:
        q = dict(p)
        old = q[VERSION_PREFIX + key] = q[key]
        if callable(gen):
            q[key] = gen(old)
        out.append(q)
    return stmt.where(vcol == bindparam(VERSION_PREFIX + key)), out, True


def _check_versioned(mapper: Mapper, dialect: Any, result: Any, expected: int) -> None:
    """Refuse a versioned bulk UPDATE that matched fewer rows than it was given (a row
    changed or deleted since its version was read), where the driver counts rows."""
    count = getattr(result, "rowcount", -1)
    sane = dialect.supports_sane_multi_rowcount if expected > 1 else dialect.supports_sane_rowcount
    if count is None or count < 0 or not sane or count == expected:
        return
    raise StaleDataError(
        f"Can't bulk UPDATE {mapper.class_.__name__}: {expected} row(s) were to match their "
        f"primary key and version ({mapper.version_id_col}), {count} did; another "
        "transaction changed or deleted them since their version was read: read the rows "
        "again and retry"
    )


def _groups(params: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Runs of consecutive dictionaries with the same keys (one executemany each)."""
    run: list[dict[str, Any]] = []
    keys: Any = None
    for p in params:
        k = p.keys()
        if run and k != keys:
            yield run
            run = []
        if not run:
            keys = k
        run.append(p)
    if run:
        yield run


def _update_params(mapper: Mapper, rows: Sequence[Any], verb: str = "bulk UPDATE"
                   ) -> list[dict[str, Any]]:
    """Each dictionary as {column key: new value, PK_PREFIX+key column: key value};
    a dictionary without its whole primary key is refused, naming it."""
    cols = _columns(mapper)
    key_of = cols.key_of
    same = cols.same
    pk_attrs = cols.pk_attrs
    pk_colkeys = cols.pk_colkeys
    # the common case: key attributes named as their columns
    pk_moves = [(k, PK_PREFIX + k) for k in pk_attrs] if all(
        key_of[k] == k for k in pk_attrs) else None
    out: list[dict[str, Any]] = []
    append = out.append
    for i, d in enumerate(rows):
        if pk_moves is not None and d.__class__ is dict and d.keys() <= same:
            p = d.copy()
            pop = p.pop
            try:
                for k, pk in pk_moves:
                    v = p[pk] = pop(k)
                    if v is None:
                        raise KeyError(k)
            except KeyError:
                raise _missing_key(mapper, d, i, verb) from None
            append(p)
            continue
        if not isinstance(d, dict):
            raise InvalidRequestError(
                f"Can't {verb} {mapper.class_.__name__}: parameter set #{i} is "
                f"{type(d).__name__}, not a dictionary of attribute values"
            )
        if cols.composites and not cols.composites.isdisjoint(d.keys()):
            d = expand_composite_dict(mapper, d)
        if any(d.get(k) is None and d.get(key_of[k]) is None for k in pk_attrs):
            raise _missing_key(mapper, d, i, verb)
        if not d.keys() <= key_of.keys():
            raise _unknown_keys(mapper, cols, d, i, verb)
        p = {}
        for k, v in d.items():
            ck = key_of[k]
            if ck in pk_colkeys:
                p[PK_PREFIX + ck] = v
            else:
                p[ck] = v
        append(p)
    return out


def _missing_key(mapper: Mapper, d: dict[str, Any], index: int, verb: str
                 ) -> InvalidRequestError:
    cols = _columns(mapper)
    missing = [k for k in cols.pk_attrs if d.get(k) is None and d.get(cols.key_of[k]) is None]
    return InvalidRequestError(
        f"Can't {verb} {mapper.class_.__name__} by primary key: dictionary #{index} ({d!r}) "
        f"has no value for primary key attribute(s) {', '.join(missing)}; every dictionary "
        "must carry the whole primary key (to UPDATE by other criteria, use "
        "update(...).where(...).values(...) without a list of dictionaries)"
    )


# -- results --------------------------------------------------------------------------------
def _returning_layout(stmt: object) -> tuple[RowLayout | None, Any]:
    """(layout, statement): when ``.returning()`` names a mapped class, the layout of
    the entities and a statement RETURNING their columns; else (None, stmt)."""
    elements = dml_returning(stmt)
    if not elements:
        return None, stmt
    entities: list[Any] = []
    found = False
    for e in elements:
        m = entity_of(e)
        bundle = annotations_of(e).get(BUNDLE_KEY) if m is None else None
        if m is not None:
            entities.append(m.class_)
            found = True
        elif bundle is not None:  # a composite attribute: read back as its objects
            entities.append(bundle)
            found = True
        else:
            entities.append(e)
    if not found:
        return None, stmt
    layout = RowLayout(entities)
    return layout, dml_with_returning(stmt, layout.columns)


def _object_result(layout: RowLayout, objs: list[Any]) -> Any:
    if layout.single_entity:
        return IteratorResult(SimpleResultMetaData(layout.names), iter(objs),
                              _source_supports_scalars=True)
    return IteratorResult(SimpleResultMetaData(layout.names), iter([tuple(o) for o in objs]))


def check_yield_per(yield_per: object) -> int:
    """``yield_per`` as a batch size; anything but a positive integer is refused."""
    if isinstance(yield_per, bool) or not isinstance(yield_per, int) or yield_per <= 0:
        raise InvalidRequestError(
            f"Can't use yield_per={yield_per!r}: it is the number of rows per batch; give a "
            "positive integer")
    return yield_per


def stream_results(session: SessionBase, layout: RowLayout, result: Any, yield_per: int,
                   populate_existing: bool, token: Any) -> Any:
    """The objects of an ORM select fetched ``yield_per`` rows at a time (``yield_per``
    execution option): each batch of rows is turned into objects only when the
    caller reaches it; the Core result streams (a server-side cursor where the
    driver has one)."""
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


def _entity_states(layout: RowLayout, objs: list[Any], mapper: Mapper) -> list[InstanceState]:
    """The states of the ``mapper`` objects in result rows ``objs``."""
    out: list[InstanceState] = []
    if layout.single_entity:
        return [instance_state(o) for o in objs if o is not None]
    for i, (kind, p) in enumerate(layout.parts):
        if kind == "entity" and p.mapper is mapper:
            out.extend(instance_state(row[i]) for row in objs if row[i] is not None)
    return out


# execution options that only this module reads (Core ignores them)
_ORM_OPTIONS = frozenset({"synchronize_session", "render_nulls", "populate_existing",
                          "autoflush", "dml_strategy"})


def _execute_many(session: SessionBase, mapper: Mapper, stmt: Any, batch: list[dict[str, Any]],
                  bind: Any, opts: dict[str, Any]) -> Any:
    """Execute ``stmt`` for every dictionary of ``batch`` (one key set): straight through
    the driver where the statement allows it (see persistence.driver), else by Core."""
    if (len(batch) > 1 and opts.keys() <= _ORM_OPTIONS
            and not (session._transaction is None and session.autocommit)):
        key = statement_key(stmt)
        if key is not None:
            caches = _columns(mapper).driver_caches
            cache = caches.get(key)
            if cache is None and len(caches) < 64:
                cache = caches[key] = {}
            if cache is not None:
                if session._tx_blocks or session._closed:
                    session._check_usable()
                conn = session._connection_for_bind(bind)
                try:
                    result = driver_executemany(conn, cache, stmt, batch)
                except DBAPIError as e:
                    tx = session._transaction
                    if tx is not None:
                        tx._statement_failed(conn, e)
                    raise
                if result is not None:
                    return result
    return session._run(stmt, batch if len(batch) > 1 else batch[0], bind, opts)


def _expand_composites(mapper: Mapper, params: Any) -> Any:
    composites = _columns(mapper).composites
    if isinstance(params, dict):
        return params if composites.isdisjoint(params) else expand_composite_dict(mapper, params)
    if not _is_param_list(params):
        return params
    return [expand_composite_dict(mapper, d)
            if isinstance(d, dict) and not composites.isdisjoint(d) else d for d in params]


def _is_param_list(params: object) -> bool:
    return isinstance(params, (list, tuple)) and len(params) > 0


# -- Session.execute() of ORM DML ----------------------------------------------------------
def execute_orm_dml(session: SessionBase, stmt: Any, mapper: Mapper, params: Any,
                    opts: dict[str, Any], bind: Any, bind_kw: dict[str, Any] | None) -> Any:
    """Run an INSERT/UPDATE/DELETE built on ``mapper``'s class (see module doc)."""
    refuse_star_with_others(dml_returning(stmt))
    if not mapper.configured:
        mapper = class_mapper(mapper.class_)
    merged = {**stmt.get_execution_options(), **opts}
    sync = merged.get("synchronize_session", "auto")
    check_sync(sync)
    if bind is None:
        bind = session._bind_for(mapper, stmt, bind_kw)
    if params and _columns(mapper).composites:  # (each composite given as its columns)
        params = _expand_composites(mapper, params)
    if stmt.is_insert:
        if is_joined(mapper) and (_is_param_list(params) or isinstance(params, dict)):
            return insert_joined(session, stmt, mapper, params, opts, merged, bind)
        return _insert(session, stmt, mapper, params, opts, merged, bind)
    if stmt.is_update and _is_param_list(params):
        return _update_by_pk(session, stmt, mapper, params, opts, merged, bind, sync)
    if _is_param_list(params) and len(params) > 1:
        raise InvalidRequestError(
            f"Can't run a bulk DELETE of {mapper.class_.__name__} by a list of dictionaries: "
            "there is no DELETE by primary key; use delete(...).where(Class.id.in_(keys)), "
            "or session.connection().execute(statement, dictionaries) for Core's executemany"
        )
    return _criteria_dml(session, stmt, mapper, params, opts, merged, bind, sync)


def _insert(session: SessionBase, stmt: Any, mapper: Mapper, params: Any, opts: dict[str, Any],
            merged: dict[str, Any], bind: Any) -> Any:
    render_nulls = bool(merged.get("render_nulls"))
    if _is_param_list(params):
        if dml_has_multi_values(stmt):
            raise InvalidRequestError(
                f"Can't INSERT {mapper.class_.__name__} with both a list of dictionaries and "
                "insert().values([...]): give the rows one way"
            )
        batches: list[list[dict[str, Any]]] | None = list(
            _groups(_insert_params(mapper, params, render_nulls)))
    else:
        batches = None
        if isinstance(params, dict):
            params = _insert_params(mapper, [params], True, "INSERT")[0]
    stmt = _translate_values(mapper, stmt, "INSERT")
    layout, stmt = _returning_layout(stmt)
    if merged.get("autoflush", True):
        session._autoflush()
    if batches is None:
        result = session._run(stmt, params, bind, opts)
        if layout is None:
            return result
        rows = list(result.fetchall())
    else:
        rows = []
        many_returning = getattr(bind.dialect, "insert_executemany_returning", False)
        result = None
        for batch in batches:
            if layout is not None and len(batch) > 1 and not many_returning:
                for p in batch:  # one statement per row where RETURNING can't be batched
                    rows.extend(session._run(stmt, p, bind, opts).fetchall())
                continue
            if layout is None:
                result = _execute_many(session, mapper, stmt, batch, bind, opts)
                continue
            result = session._run(stmt, batch if len(batch) > 1 else batch[0], bind, opts)
            if layout is not None:
                rows.extend(result.fetchall())
        if layout is None:
            return result
    objs = session._rows_to_results(layout, rows, bool(merged.get("populate_existing")),
                                    session._default_identity_token())
    return _object_result(layout, objs)


def _translate_values(mapper: Mapper, stmt: object, verb: str) -> Any:
    """``values(name=...)`` given by attribute name where the column key differs: the
    statement with column keys; names that are not mapped columns are refused."""
    pairs = dml_values(stmt)
    if not pairs:
        return stmt
    cols = _columns(mapper)
    changed = False
    out = []
    for k, v in pairs:
        if isinstance(k, str):
            ck = cols.key_of.get(k)
            if ck is None:
                raise InvalidRequestError(
                    f"Can't {verb} {mapper.class_.__name__}: values() names {k!r}, which is "
                    f"not a mapped column attribute; use the names "
                    f"{', '.join(sorted(mapper.column_attrs.keys()))}"
                )
            if ck != k:
                k = ck
                changed = True
        out.append((k, v))
    return dml_with_values(stmt, out) if changed else stmt


def _update_by_pk(session: SessionBase, stmt: Any, mapper: Mapper, params: Any, opts: dict[str, Any],
                  merged: dict[str, Any], bind: Any, sync: Any) -> Any:
    name = mapper.class_.__name__
    if dml_returning(stmt):
        raise InvalidRequestError(
            f"Can't use RETURNING in a bulk UPDATE of {name} by primary key (a list of "
            "dictionaries); drop .returning(), or update by criteria with "
            "update(...).where(...).values(...)"
        )
    if dml_values(stmt):
        raise InvalidRequestError(
            f"Can't combine values() with a bulk UPDATE of {name} by primary key: the "
            "dictionaries give the new values; put them there"
        )
    if is_joined(mapper):  # a table per level of the class: an UPDATE for each
        rowcount = update_by_pk_joined(session, mapper, params, bind, opts, merged)
        if sync is not False and sync is not None:
            _sync_by_pk(session, mapper, params)
        session._fire("after_bulk_update", BulkContext(session, None, _Count(rowcount),
                                                       mapper, stmt))
        return _Count(rowcount)
    translated = _update_params(mapper, params)
    cols = _columns(mapper)
    base = cols.update_by_pk
    for w in dml_where(stmt):
        base = base.where(w)
    if merged.get("autoflush", True):
        session._autoflush()
    rowcount = 0
    result = None
    for batch in _groups(translated):
        if len(batch[0]) == len(cols.pk_colkeys):
            continue  # nothing to SET
        stmt_v, batch, versioned = _versioned(mapper, base, batch)
        result = _execute_many(session, mapper, stmt_v, batch, bind, opts)
        if versioned:
            _check_versioned(mapper, session.get_bind(mapper).dialect, result, len(batch))
        rowcount += max(result.rowcount, 0)
    if sync is not False and sync is not None:
        _sync_by_pk(session, mapper, params)
    session._fire("after_bulk_update", BulkContext(session, None, _Count(rowcount), mapper,
                                                   stmt))
    return result if result is not None else _Count(0)


class _Count:
    """The result of a bulk UPDATE that ran as several batches (or none)."""

    returns_rows = False

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount

    def close(self) -> None:
        pass

    def all(self) -> list[Any]:
        return []


def _sync_by_pk(session: SessionBase, mapper: Mapper, rows: Sequence[dict[str, Any]]) -> None:
    """Objects of the identity map whose keys an UPDATE by primary key named take the
    values it wrote (attributes with unflushed changes keep them)."""
    inner = session._identity_map.inner(mapper._identity_class,
                                        session._default_identity_token())
    if not inner:
        return
    cols = _columns(mapper)
    pk_attrs = cols.pk_attrs
    attr_of = {ck: ak for ak, ck in cols.key_of.items() if ak in mapper.column_attrs}
    single = len(pk_attrs) == 1
    for d in rows:
        if cols.composites and not cols.composites.isdisjoint(d):
            d = expand_composite_dict(mapper, d)
        ident = tuple(d.get(k, d.get(cols.key_of[k])) for k in pk_attrs)
        state = inner.get(ident[0] if single else ident)
        if state is None or state.obj() is None:
            continue
        values = {}
        for k, v in d.items():
            ak = k if k in mapper.column_attrs else attr_of.get(k)
            if ak is not None and ak not in pk_attrs:
                values[ak] = v
        expired = state.expired_attributes
        apply_values([state], {k: v for k, v in values.items() if k not in expired})


def _criteria_dml(session: SessionBase, stmt: Any, mapper: Mapper, params: Any, opts: dict[str, Any],
                  merged: dict[str, Any], bind: Any, sync: Any) -> Any:
    is_update = stmt.is_update
    where = list(dml_where(stmt))
    values: dict[str, Any] = {}
    joined = is_joined(mapper)
    if is_update:
        if not joined:
            stmt = _translate_values(mapper, stmt, "UPDATE")
        values = resolve_values(mapper, dml_values(stmt))
    if joined:  # the statement on the one table it changes
        stmt = retarget(mapper, stmt)
    strategy, tests = criteria_tests(mapper, where, sync)
    layout, stmt = _returning_layout(stmt)
    if merged.get("autoflush", True):
        session._autoflush()
    token = session._default_identity_token()
    if isinstance(params, (list, tuple)):
        params = params[0] if params else None
    states = matching_states(session, mapper, where, strategy, tests, token, params)
    result = session._run(stmt, params, bind, opts)
    objs = None
    if layout is not None:
        # UPDATE ... RETURNING: the rows are the new state, so loaded objects are refreshed
        objs = session._rows_to_results(layout, list(result.fetchall()), is_update, token)
        known = set(states)
        states.extend(s for s in _entity_states(layout, objs, mapper) if s not in known)
    if is_update:
        apply_values(states, values)
        session._fire("after_bulk_update", BulkContext(session, None, result, mapper, stmt))
    else:
        mark_deleted(session, states)
        session._fire("after_bulk_delete", BulkContext(session, None, result, mapper, stmt))
    if objs is not None:
        assert layout is not None
        return _object_result(layout, objs)
    return result


# -- Session.bulk_save_objects / bulk_insert_mappings / bulk_update_mappings ----------------
def _mapper_of(entity: object) -> Mapper:
    """The configured Mapper of a mapped class or Mapper; UnmappedClassError else."""
    if isinstance(entity, Mapper):
        return entity if entity.configured else class_mapper(entity.class_)
    return class_mapper(entity)


def _in_bulk_transaction(session: SessionBase, mapper: Mapper, work: Any) -> Any:
    """Run ``work(conn)`` on the mapper's connection inside a subtransaction of the
    session's, as a flush does (a failure rolls it back)."""
    if session._flushing:
        raise InvalidRequestError(
            "Can't run a bulk save while this Session is flushing (from a flush event); "
            "do it after the flush"
        )
    if session._tx_blocks or session._closed:
        session._check_usable()
    tx0 = session._transaction
    if tx0 is not None and not tx0.is_active:
        tx0._assert_active()
    if session._transaction is None and not session.autocommit:
        session._autobegin()
    tx = session.begin(_subtrans=True)
    session._flushing = True
    try:
        out = work(session._flush_connection(mapper))
    except BaseException as e:
        if tx.state != "closed":
            tx.rollback(_capture_exception=e)
        raise
    finally:
        session._flushing = False
    tx.commit()
    return out


def _insert_rows(conn: Any, mapper: Mapper, params: list[dict[str, Any]],
                 return_defaults: bool) -> list[tuple[Any, ...] | None]:
    """INSERT ``params`` (column keys); with ``return_defaults`` return each row's
    primary key (in ``params`` order), else Nones."""
    cols = _columns(mapper)
    table = cols.table
    keys_out: list[tuple[Any, ...] | None] = []
    insert = table.insert()
    dialect = conn.dialect
    for batch in _groups(params):
        missing = [c for c in cols.pk_cols if c.key not in batch[0]]
        if not return_defaults or not missing:
            conn.execute(insert, batch)
            keys_out.extend(tuple(p.get(c.key) for c in cols.pk_cols) if return_defaults
                            else None for p in batch)
            continue
        if (len(batch) > 1 and len(missing) == 1 and missing[0] is table.autoincrement_column
                and getattr(dialect, "insert_executemany_returning", False)):
            col = missing[0]
            if dialect.name == "sqlite":
                # keys ascend in VALUES order (see persistence.writes._insert_returning)
                got = sorted(conn.execute(insert.returning(col), batch).scalars().all())
            else:
                got = conn.execute(insert.returning(col, sort_by_parameter_order=True),
                                   batch).scalars().all()
            for p, k in zip(batch, got, strict=True):
                keys_out.append(tuple(k if c is col else p.get(c.key) for c in cols.pk_cols))
            continue
        for p in batch:
            pk = conn.execute(insert, p).inserted_primary_key
            keys_out.append(tuple(pk))
    return keys_out


def bulk_insert_mappings(session: SessionBase, entity: object, mappings: Iterable[dict[str, Any]],
                         return_defaults: bool = False, render_nulls: bool = False) -> None:
    mapper = _mapper_of(entity)
    rows = list(mappings)
    if not rows:
        return
    if is_joined(mapper):  # a row in each of the subclass's tables
        bind = session.get_bind(mapper)
        work, _r = _in_bulk_transaction(session, mapper, lambda conn: insert_joined_rows(
            session, mapper, rows, render_nulls, bind, {}))
        if return_defaults:
            for d, done in zip(rows, work, strict=True):
                for a in _columns(mapper).pk_attrs:
                    d[a] = done.get(a)
        return
    params = _insert_params(mapper, rows, render_nulls, "bulk_insert_mappings()")
    keys = _in_bulk_transaction(session, mapper,
                                lambda conn: _insert_rows(conn, mapper, params, return_defaults))
    if return_defaults:
        pk_attrs = _columns(mapper).pk_attrs
        for d, key in zip(rows, keys, strict=True):
            if key is not None:
                for a, v in zip(pk_attrs, key, strict=True):
                    d[a] = v


def _update_rows(conn: Any, mapper: Mapper, params: list[dict[str, Any]]) -> None:
    cols = _columns(mapper)
    for batch in _groups(params):
        if len(batch[0]) > len(cols.pk_colkeys):
            stmt, batch, versioned = _versioned(mapper, cols.update_by_pk, batch)
            result = conn.execute(stmt, batch)
            if versioned:
                _check_versioned(mapper, conn.dialect, result, len(batch))


def bulk_update_mappings(session: SessionBase, entity: object, mappings: Iterable[dict[str, Any]]
                         ) -> None:
    mapper = _mapper_of(entity)
    rows = list(mappings)
    if not rows:
        return
    if is_joined(mapper):  # an UPDATE for each of the subclass's tables
        bind = session.get_bind(mapper)
        _in_bulk_transaction(session, mapper, lambda conn: update_by_pk_joined(
            session, mapper, rows, bind, {}, {"autoflush": False}))
        return
    params = _update_params(mapper, rows, "bulk_update_mappings()")
    _in_bulk_transaction(session, mapper, lambda conn: _update_rows(conn, mapper, params))


def bulk_save_objects(session: SessionBase, objects: Iterable[Any], return_defaults: bool = False,
                      update_changed_only: bool = True, preserve_order: bool = True) -> None:
    """INSERT transient objects and UPDATE persistent ones without adding them to the
    session: new objects stay transient (with ``return_defaults`` they get their
    primary key), persistent ones keep their state."""
    states = [instance_state(o) for o in objects]
    if not preserve_order:
        states.sort(key=lambda st: (id(st.mapper), st.key is not None))
    i = 0
    while i < len(states):
        mapper = states[i].mapper
        is_update = states[i].key is not None
        j = i
        while j < len(states) and states[j].mapper is mapper and (
                states[j].key is not None) == is_update:
            j += 1
        group = states[i:j]
        i = j
        m = _mapper_of(mapper)
        if is_update:
            _save_updates(session, m, group, update_changed_only)
        else:
            _save_inserts(session, m, group, return_defaults)


def _object_values(mapper: Mapper, state: InstanceState, keys: Iterable[str]) -> dict[str, Any]:
    d = state.strong_obj().__dict__
    return {k: d[k] for k in keys if k in d}


def _save_inserts(session: SessionBase, mapper: Mapper, states: list[InstanceState],
                  return_defaults: bool) -> None:
    keys = [k for k in mapper.column_attrs.keys() if k in _columns(mapper).key_of]
    rows = [_object_values(mapper, st, keys) for st in states]
    params = _insert_params(mapper, rows, False, "bulk_save_objects()")
    got = _in_bulk_transaction(session, mapper,
                               lambda conn: _insert_rows(conn, mapper, params, return_defaults))
    if return_defaults:
        pk_attrs = _columns(mapper).pk_attrs
        for st, key in zip(states, got, strict=True):
            if key is not None:
                d = st.strong_obj().__dict__
                for a, v in zip(pk_attrs, key, strict=True):
                    d[a] = v


def _save_updates(session: SessionBase, mapper: Mapper, states: list[InstanceState],
                  update_changed_only: bool) -> None:
    cols = _columns(mapper)
    rows = []
    for st in states:
        if update_changed_only:
            changed = [k for k in st.committed_state if k in mapper.column_attrs]
            keys = [*cols.pk_attrs, *[k for k in changed if k not in cols.pk_attrs]]
        else:
            keys = [k for k in mapper.column_attrs.keys() if k in cols.key_of]
        row = _object_values(mapper, st, keys)
        ident = st.key[1] if st.key is not None else ()
        for a, v in zip(cols.pk_attrs, ident, strict=False):
            row.setdefault(a, v)
        rows.append(row)
    params = _update_params(mapper, rows, "bulk_save_objects()")
    _in_bulk_transaction(session, mapper, lambda conn: _update_rows(conn, mapper, params))
