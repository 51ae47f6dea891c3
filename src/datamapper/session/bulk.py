"""Criteria UPDATE/DELETE of a mapped class: one statement, then the session's
objects are brought in line (``synchronize_session``).

Callers: ``Query.update()`` / ``Query.delete()`` (below) and the ORM-enabled
``update(User).where(...)`` / ``delete(User).where(...)`` run by
``Session.execute()`` (:mod:`.dml`).

``"evaluate"`` applies simple criteria (comparisons, IN, IS, AND/OR/NOT of
mapped columns) in Python to the objects in the identity map; criteria it
cannot evaluate raise before anything is sent and suggest ``"fetch"``, which
SELECTs the matching keys first.  ``"auto"`` evaluates where it can and
fetches otherwise.  ``False`` leaves objects as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ClauseElement, ColumnClause, ColumnElement

from .._core import dml_returning, dml_returns_defaults, from_objects
from ..exc import ArgumentError, InvalidRequestError
from ..mapping.cache import CacheSlot
from ..mapping.coercion import bound_value
from ..mapping.composite import expand_composite_pairs
from .bulk_table import refuse_shaped, table_delete, table_target, table_update
from .evaluate import CannotEvaluate, Rules, Unknown, compile_criteria, test_state

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..mapping.mapper import Mapper
    from ..query.query import Query
    from .base import SessionBase

_ONUPDATE_KEYS: CacheSlot[tuple[str, ...]] = CacheSlot(
    "attributes of the columns an UPDATE changes by itself (onupdate, server_onupdate, "
    "computed)")

def _targets(session: SessionBase, query: Query[Any]) -> tuple[Any, Any]:
    mapper = query._layout.primary_mapper
    if mapper is None or len(query._layout.parts) != 1:
        raise InvalidRequestError(
            "Can't bulk update/delete: the query must select one mapped class or one table "
            "(query(User), query(users_table)), not columns or several entities")
    refuse_shaped(query)
    return mapper, query._where


SYNC_CHOICES = ("auto", "evaluate", "fetch", False, None)


def check_sync(sync: object) -> None:
    """Refuse an unknown ``synchronize_session`` before anything is flushed or sent."""
    if sync not in SYNC_CHOICES:
        raise InvalidRequestError(
            f"Can't synchronize with {sync!r}: synchronize_session is 'auto', 'evaluate', "
            "'fetch' or False"
        )



def criteria_tests(mapper: Mapper, where: list[Any], sync: Any, dialect_name: str | None = None,
                   params: Any = None) -> tuple[Any, Any]:
    """Decide how the session's objects will be matched, before any SQL.

    Returns (strategy, tests): strategy is "evaluate", "fetch" or None; tests are
    (attribute names read, predicate) for "evaluate" (see :mod:`.evaluate`, which
    the database's rules for ``dialect_name`` and the statement's ``params``
    inform).  ``"auto"`` evaluates where it can and fetches otherwise;
    ``"evaluate"`` on criteria it cannot evaluate raises (nothing has happened yet).
    """
    if sync is False or sync is None:
        return None, None
    if sync == "fetch":
        return "fetch", None
    col_to_key: dict[Any, str] = {}
    for k, p in mapper.column_attrs.items():
        for c in p.columns:
            col_to_key.setdefault(c, k)
    try:
        return "evaluate", compile_criteria(where, col_to_key, Rules(dialect_name),
                                            params if isinstance(params, dict) else None)
    except CannotEvaluate:
        if sync == "auto":
            return "fetch", None
        raise InvalidRequestError(
            f"Can't evaluate the criteria of this bulk operation on {mapper.class_.__name__} "
            "in Python (only comparisons, IN, IS and AND/OR/NOT of its mapped columns with "
            "plain values can be); use synchronize_session='fetch' (or 'auto', or False)"
        ) from None


def class_criteria(mapper: Mapper) -> list[Any]:
    """The criterion a statement on a single-table subclass adds to keep to that
    subclass's rows (``discriminator IN (...)``): a list of none or one."""
    poly = mapper._poly
    crit = poly.criterion() if poly is not None else None
    return [] if crit is None else [crit]


def matching_states(session: SessionBase, mapper: Mapper, where: list[Any], strategy: Any,
                    tests: list[Any] | None, token: Any = None, params: Any = None,
                    uncertain: list[Any] | None = None, target: Any = None) -> list[Any]:
    """The states of the identity map the criteria select (see criteria_tests).

    With "evaluate", an object whose row can't be told in Python (an attribute the
    criteria read is not loaded, a comparison the database may decide otherwise:
    see :mod:`.evaluate`) is not among the matches, and goes to ``uncertain`` when
    given (an UPDATE expires what it may have changed there, a DELETE the whole
    object: their rows may have changed or gone).  ``target``: the alias of the
    mapper's table the statement changes, when it names one."""
    if strategy is None:
        return []
    if strategy == "evaluate":
        assert tests is not None
        keys, test = tests
        out = []
        for state in session._identity_map.all_states():
            if state.identity_token != token or not state.mapper.isa(mapper):
                continue
            try:
                matched = test_state(state, keys, test)
            except Unknown:
                if uncertain is not None:
                    uncertain.append(state)
                continue
            if matched is True:
                out.append(state)
        return out
    if target is not None:  # an alias of the table (update(aliased(Class))): its keys
        stmt = core_select(*[target.corresponding_column(c) for c in mapper.primary_key])
    else:
        stmt = core_select(*mapper.primary_key)
    if target is None and len(mapper.tables) > 1 and not mapper.single:
        stmt = stmt.select_from(mapper.persist_selectable)  # criteria may read any table
    for w in where:
        stmt = stmt.where(w)
    rows = session._execute_for_mapper(stmt, mapper, params=params)
    out = []
    for r in rows:
        st = session._identity_map.get_state((mapper._identity_class, tuple(r), token))
        if st is not None:
            out.append(st)
    return out


def can_return_keys(session: SessionBase, stmt: Any, mapper: Mapper, bind: Any,
                    where: list[Any]) -> bool:
    """``synchronize_session="fetch"`` can learn the changed rows' keys from the
    UPDATE/DELETE itself (RETURNING) instead of a SELECT before it: the dialect
    returns rows for the statement (criteria naming other tables too), the statement
    asks for no RETURNING or defaults of its own, and its result is Core's own (not
    a legacy autocommit session's buffered copy)."""
    dialect = getattr(bind, "dialect", None)
    if dialect is None or dml_returning(stmt) or dml_returns_defaults(stmt) or \
            not mapper.local_table.implicit_returning or (
                session._transaction is None and session.autocommit):
        return False
    verb = "update" if stmt.is_update else "delete"
    if not getattr(dialect, f"{verb}_returning", False):
        return False
    table = mapper.local_table
    other = any(f is not table for w in where for f in from_objects(w))
    return not other or bool(getattr(dialect, f"{verb}_returning_multifrom", False))


def states_of_keys(session: SessionBase, mapper: Mapper, result: Any, token: Any,
                   uncertain: list[Any]) -> list[Any]:
    """The states of the identity map with the primary keys the statement's
    ``result`` returned (see :func:`can_return_keys`).  A result without them (one
    an event listener gave instead) tells nothing: every object of the mapper goes
    to ``uncertain``."""
    rows = getattr(result, "returned_defaults_rows", None)
    get = session._identity_map.get_state
    cls = mapper._identity_class
    if rows is None:
        uncertain.extend(st for st in session._identity_map.all_states()
                         if st.identity_token == token and st.mapper.isa(mapper))
        return []
    out = []
    for r in rows:
        st = get((cls, tuple(r), token))
        if st is not None:
            out.append(st)
    return out


def through_synonyms(mapper: Mapper, key: str) -> str:
    """The attribute a name stands for, following ``synonym()``s (``uname`` -> ``name``)."""
    seen = {key}
    synonyms = mapper.synonyms
    while key not in mapper.column_attrs and key in synonyms:
        key = synonyms[key].name
        if key in seen:
            break
        seen.add(key)
    return key


def resolve_values(mapper: Mapper, items: Any) -> dict[str, Any]:
    """SET pairs (attribute name, synonym, column key, mapped attribute or column ->
    value) as attribute name -> value; anything that is not a mapped column is refused."""
    resolved: dict[str, Any] = {}
    cls = mapper.class_.__name__
    # a composite's value: its columns' (Query.update({Edge.end: Point(1, 2)}))
    for k, v in expand_composite_pairs(mapper, items, False):
        if isinstance(k, str):
            key = through_synonyms(mapper, k)
            if key in mapper.column_attrs:
                resolved[key] = v
                continue
            prop = mapper._col_to_prop.get(mapper.local_table.c.get(key))
            if prop is None:
                raise InvalidRequestError(
                    f"Can't bulk update {cls}.{k}: not a mapped column attribute; mapped "
                    f"columns are {', '.join(sorted(mapper.column_attrs.keys()))}"
                )
            resolved[prop.key] = v
            continue
        parent = getattr(k, "parent", None)
        if isinstance(getattr(k, "key", None), str) and parent is not None and \
                getattr(parent, "class_", None) is not None and mapper.isa(parent):
            key = through_synonyms(mapper, k.key)
            if key in mapper.column_attrs:
                resolved[key] = v
                continue
        col = k
        if not isinstance(col, ClauseElement) and hasattr(col, "__clause_element__"):
            col = col.__clause_element__()
            if not isinstance(col, ClauseElement):
                raise ArgumentError(
                    f"Can't bulk update {cls}: SET/VALUES column expression or string key "
                    f"expected, got {k!r} (its __clause_element__() gives {col!r})")
        prop = mapper._col_to_prop.get(col)
        if prop is None and isinstance(col, ColumnClause) and getattr(col, "table", None) is None:
            # column("name"): the mapped table's column of that name
            prop = mapper._col_to_prop.get(mapper.local_table.c.get(col.key))
        if prop is None:
            raise InvalidRequestError(
                f"Can't bulk update {k!r}: not a mapped column of {cls}")
        resolved[prop.key] = v
    return resolved


def apply_values(states: list[Any], values: dict[str, Any]) -> None:
    """Bring matched objects in line with an UPDATE: plain values are set (attributes
    with unflushed changes keep them), SQL expressions are expired."""
    for state in states:
        obj = state.obj()
        if obj is None:
            continue
        d = obj.__dict__
        expire = []
        for k, v in values.items():
            if k in state.committed_state:
                continue
            plain, value = bound_value(v)
            if plain:
                d[k] = value
            elif isinstance(v, (ClauseElement, ColumnElement)):
                expire.append(k)
            else:
                d[k] = v
        if expire:
            state.expire(expire)


def expire_values(states: list[Any], values: dict[str, Any]) -> None:
    """Objects an UPDATE may have changed without the session knowing (their criteria
    could not be tested in Python): what it sets is expired, to load from the row
    (attributes with unflushed changes keep them)."""
    for state in states:
        if state.obj() is not None:
            keys = [k for k in values if k not in state.committed_state]
            if keys:
                state.expire(keys)


def onupdate_keys(mapper: Mapper, values: Iterable[str] = ()) -> dict[str, None]:
    """The attributes of ``mapper``'s columns an UPDATE changes by itself (a Python or
    SQL ``onupdate``, a ``server_onupdate``, a computed column), except ``values``:
    after an UPDATE statement the session's objects expire them."""
    found = _ONUPDATE_KEYS.get(mapper)
    if found is None:
        keys: list[str] = []
        for t in mapper.tables:
            for c in t.columns:
                if c.onupdate is None and c.server_onupdate is None and c.computed is None:
                    continue
                prop = mapper._col_to_prop.get(c)
                if prop is not None and prop.key not in keys:
                    keys.append(prop.key)
        found = _ONUPDATE_KEYS.set(mapper, tuple(keys))
    given = set(values)
    return {k: None for k in found if k not in given}


def sync_onupdate(mapper: Mapper, states: list[Any], result: Any, auto: dict[str, None]) -> None:
    """The matched objects after an UPDATE: a Python onupdate's value (known from the
    statement's parameters) is set, what the database computed (SQL or server
    onupdate, computed columns) is expired to load on access."""
    if not auto or not states:
        return
    known = written_onupdate_values(mapper, result, auto)
    if known:
        apply_values(states, known)
    expire_values(states, {k: None for k in auto if k not in known})


def written_onupdate_values(mapper: Mapper, result: Any, keys: Iterable[str]) -> dict[str, Any]:
    """Of ``keys`` (see :func:`onupdate_keys`), the attributes whose column has a Python
    onupdate (a value or a function) and the value the UPDATE ``result`` wrote (its
    parameters; nothing for an executemany or a result without them)."""
    out: dict[str, Any] = {}
    params: Any = None
    for k in keys:
        prop = mapper.column_attrs.get(k)
        col = prop.columns[0] if prop is not None else None
        default = getattr(col, "onupdate", None)
        if (default is None or getattr(col, "server_onupdate", None) is not None
                or not (default.is_scalar or default.is_callable)):
            continue
        if params is None:
            try:
                params = result.last_updated_params()
            except (AttributeError, InvalidRequestError):  # not a Core UPDATE result
                params = {}
            if not isinstance(params, dict):  # (an executemany: a list)
                params = {}
        key = getattr(col, "key", None)
        if key in params:
            out[k] = params[key]
    return out


def expire_whole(states: list[Any]) -> None:
    """Objects a DELETE may have removed without the session knowing: expired whole,
    so that the next read finds out (ObjectDeletedError if the row is gone)."""
    for state in states:
        if state.obj() is None:
            continue
        if not state.committed_state:
            state.expire()
        else:  # unflushed changes are kept (the flush reports a row that is gone)
            state.expire([k for k in state.mapper.column_attrs
                          if k not in state.committed_state])


def mark_deleted(session: SessionBase, states: list[Any]) -> None:
    """Objects whose rows a DELETE removed: out of the identity map, deleted."""
    tx = session._transaction
    for state in states:
        obj = state.obj()
        session._identity_map.discard(state)
        state._deleted = True
        if tx is not None and obj is not None:
            tx._snapshot.deleted[state] = obj


def _dialect_name(session: SessionBase, mapper: Mapper, sync: Any) -> str | None:
    """The dialect the evaluator judges string comparisons by (``evaluate`` and ``auto``
    only: the other strategies don't test objects in Python)."""
    if sync not in ("evaluate", "auto"):
        return None
    try:
        # the keyword form, as every other get_bind() call of a statement (an
        # overriding get_bind(self, mapper=None, clause=None) routes by them)
        return str(session.get_bind(mapper=mapper, clause=mapper.persist_selectable)
                   .dialect.name)
    except InvalidRequestError:  # no bind: the statement will say so; strings judged strictly
        return None


def _run_matching(session: SessionBase, query: Query[Any], mapper: Mapper, stmt: Any,
                  where: list[Any], strategy: Any, tests: Any, params: Any,
                  statement_kw: dict[str, Any] | None, uncertain: list[Any]
                  ) -> tuple[list[Any], Any]:
    """Run a bulk UPDATE/DELETE ``stmt``; return the session's states it changed or
    removed, and the result.  Those are the rows its RETURNING names where the statement
    can say, else the states its criteria match (found before it runs); a LIMITed
    statement may leave matches out, so those go to ``uncertain`` instead."""
    token = getattr(query, "_shard_id", None)
    keys_returned = _keys_returned(session, mapper, stmt, where, strategy, statement_kw)
    states: list[Any] = []
    if keys_returned:
        stmt = stmt.return_defaults(*mapper.primary_key)
    else:
        states = matching_states(session, mapper, where, strategy, tests, token, params,
                                 uncertain=uncertain)
    if _limited(statement_kw):
        uncertain.extend(states)
        states = []
    result = session.execute(stmt, params, mapper=mapper)
    if keys_returned:
        states = states_of_keys(session, mapper, result, token, uncertain)
    return states, result


def _limited(statement_kw: dict[str, Any] | None) -> bool:
    """A dialect option limits the rows the statement changes (``mysql_limit``): which
    of the matching rows it reaches is the database's choice."""
    return bool(statement_kw) and any(k.endswith("_limit") for k in statement_kw or ())


def _keys_returned(session: SessionBase, mapper: Mapper, stmt: Any, where: list[Any],
                   strategy: Any, statement_kw: dict[str, Any] | None) -> bool:
    """Query.update()/delete() with "fetch": the statement RETURNs the changed keys
    (see :func:`can_return_keys`) instead of a SELECT of them first."""
    if strategy != "fetch" or _limited(statement_kw) or (len(mapper.tables) > 1
                                                        and not mapper.single):
        return False
    try:
        bind = session.get_bind(mapper=mapper, clause=stmt)
    except InvalidRequestError:  # no bind: the statement will say so
        return False
    return can_return_keys(session, stmt, mapper, bind, where)


def bulk_update(session: SessionBase, query: Query[Any], values: dict[Any, Any], sync: Any,
                statement_kw: dict[str, Any] | None = None) -> int:
    check_sync(sync)
    table = table_target(query)
    if table is not None:
        return table_update(session, query, table, values, statement_kw)
    mapper, where = _targets(session, query)
    resolved = resolve_values(mapper, values.items())
    params = query._params or None
    strategy, tests = criteria_tests(mapper, where, sync, _dialect_name(session, mapper, sync), params)
    where = [*where, *class_criteria(mapper)]  # (evaluate tests the class by isa())
    if query._autoflush:
        session._autoflush()
    uncertain: list[Any] = []
    table = mapper.local_table
    stmt = table.update()
    if statement_kw:
        stmt = stmt.with_dialect_options(**statement_kw)
    for w in where:
        stmt = stmt.where(w)
    # (in the order given: query.update([(a, 1), (b, 2)]) sets a, then b)
    stmt = stmt.ordered_values(*[(mapper.column_attrs[k].columns[0], v)
                                 for k, v in resolved.items()])
    states, result = _run_matching(session, query, mapper, stmt, where, strategy, tests,
                                   params, statement_kw, uncertain)
    apply_values(states, resolved)
    auto = onupdate_keys(mapper, resolved)
    expire_values(uncertain, {**resolved, **auto})
    sync_onupdate(mapper, states, result, auto)
    session._fire("after_bulk_update", BulkContext(session, query, result, mapper))
    return int(result.rowcount)


def bulk_delete(session: SessionBase, query: Query[Any], sync: Any,
                statement_kw: dict[str, Any] | None = None) -> int:
    check_sync(sync)
    table = table_target(query)
    if table is not None:
        return table_delete(session, query, table, statement_kw)
    mapper, where = _targets(session, query)
    params = query._params or None
    strategy, tests = criteria_tests(mapper, where, sync, _dialect_name(session, mapper, sync), params)
    where = [*where, *class_criteria(mapper)]  # (evaluate tests the class by isa())
    if query._autoflush:
        session._autoflush()
    uncertain: list[Any] = []
    stmt = mapper.local_table.delete()
    if statement_kw:
        stmt = stmt.with_dialect_options(**statement_kw)
    for w in where:
        stmt = stmt.where(w)
    states, result = _run_matching(session, query, mapper, stmt, where, strategy, tests,
                                   params, statement_kw, uncertain)
    mark_deleted(session, states)
    expire_whole(uncertain)
    session._fire("after_bulk_delete", BulkContext(session, query, result, mapper))
    return int(result.rowcount)


class BulkContext:
    """What ``after_bulk_update`` / ``after_bulk_delete`` listeners receive."""

    def __init__(self, session: SessionBase, query: Any, result: Any, mapper: Any = None,
                 statement: Any = None) -> None:
        self.session = session
        self.query = query
        self.result = result
        self.mapper = mapper
        self.statement = statement
        self.rowcount = result.rowcount

