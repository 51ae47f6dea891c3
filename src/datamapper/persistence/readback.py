"""Reading back what only the database knows about rows a flush writes.

Callers: the INSERT/UPDATE/DELETE writers (:mod:`.inserts`, :mod:`.writes`) and
the unit of work.  A version counter's committed value (the WHERE of the next
UPDATE or DELETE; read in the flush's transaction when the object does not hold
it), the version the database set itself (``version_id_generator=False``), and
the server-generated values ``eager_defaults=True`` reads into the objects: each
is one SELECT per 500 primary keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, select, tuple_

from .._util import NO_VALUE, describe
from ..exc import FlushError, StaleDataError
from ..instance.state import InstanceState
from .records import VERSION_PARAM, TablePlan, where_key


# -- version counters ---------------------------------------------------------------
def version_params(
    conn: Connection,
    plan: TablePlan,
    generator: Any,
    records: list[tuple[InstanceState, dict[str, Any], Any]],
) -> list[InstanceState]:
    """Put the committed version (WHERE) and the next one (SET) into each UPDATE's
    parameters; return the states whose next version the database chooses."""
    vk = plan.version_key
    colkey = plan.version_colkey
    olds = committed_versions(conn, plan, [(st, p) for st, p, _e in records], "UPDATE")
    refetch = []
    for (state, params, _e), old in zip(records, olds, strict=True):
        params[VERSION_PARAM] = old
        if colkey in params:
            # the object was given its next version explicitly
            if params[colkey] is None:
                raise FlushError(
                    f"Can't UPDATE {describe(state.obj())}: its version attribute {vk!r} was "
                    f"set to None, and a row without a version can't be checked by the "
                    f"next UPDATE or DELETE; give it its next version (it is {old!r} now) "
                    "or leave the attribute alone"
                )
            continue
        if generator is False:
            refetch.append(state)
            continue
        new = generator(old)
        params[colkey] = new
        state.strong_obj().__dict__[vk] = new
    return refetch


def committed_versions(
    conn: Connection,
    plan: TablePlan,
    items: Sequence[tuple[InstanceState, dict[str, Any]]],
    verb: str,
) -> list[Any]:
    """The version each row had when its object was loaded or last flushed.

    ``items`` pairs each state with the parameters of its statement (which hold
    the row's key under ``PK_PREFIX`` names).  A version that is not loaded (the
    object was expired by a commit, or the column is deferred) is read now, in the
    flush's transaction, and kept in the object as loaded.
    """
    vk = plan.version_key
    assert vk is not None
    out: list[Any] = []
    unknown: list[int] = []
    for i, (state, _p) in enumerate(items):
        cs = state._committed
        if cs is not None and vk in cs:
            old = cs[vk]  # NO_VALUE: set by hand while unloaded
        else:
            obj = state.obj()
            old = (obj if obj is not None else state.strong_obj()).__dict__.get(vk, NO_VALUE)
        if old is NO_VALUE:
            unknown.append(i)
        out.append(old)
    if not unknown:
        return out
    found = _select_versions(conn, plan, [where_key(plan, items[i][1]) for i in unknown])
    gone = []
    for i, value in zip(unknown, found, strict=True):
        state = items[i][0]
        if value is NO_VALUE:
            gone.append(state)
            continue
        out[i] = value
        cs = state._committed
        if cs is not None and vk in cs:
            cs[vk] = value
        else:
            state.strong_obj().__dict__[vk] = value
            state.loaded((vk,))
    if gone:
        sample = ", ".join(describe(st.obj()) for st in gone[:3])
        more = "" if len(gone) <= 3 else f" and {len(gone) - 3} more"
        raise StaleDataError(
            f"Can't {verb} table {plan.table.name!r}: the row(s) of {sample}{more} are no "
            "longer in the database (deleted, or their key changed, by another transaction) "
            "so their version can't be checked. Roll back and reload them."
        )
    return out


def read_server_versions(
    conn: Connection, plan: TablePlan, states: Sequence[InstanceState], verb: str
) -> None:
    """``version_id_generator=False``: read the versions the database gave the rows just
    written into the objects, for the WHERE of their next UPDATE or DELETE."""
    vk = plan.version_key
    assert vk is not None
    keys = []
    for state in states:
        d = state.strong_obj().__dict__
        ident = state.identity
        keys.append(tuple([d[ak] if ak in d else (ident[i] if ident else None)
                           for i, ak in enumerate(plan.pk_keys)]))
    found = _select_versions(conn, plan, keys)
    for state, value in zip(states, found, strict=True):
        if value is NO_VALUE or value is None:
            raise FlushError(
                f"Can't {verb} {describe(state.obj())}: version_id_generator=False means the "
                f"database sets version column {plan.version_col}, but after the {verb} it "
                "holds no version; give the column a server default and a trigger (or "
                "server_onupdate) that set it, or use a version_id_generator"
            )
        state.strong_obj().__dict__[vk] = value
        state.loaded((vk,))


_VERSION_CHUNK = 500


def _select_versions(
    conn: Connection, plan: TablePlan, keys: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """The version column of the rows with primary keys ``keys`` (NO_VALUE: no row)."""
    vcol = plan.version_col
    assert vcol is not None
    return [v if v is NO_VALUE else v[0] for v in select_by_key(conn, plan, keys, [vcol])]


def read_generated(conn: Connection, plan: TablePlan,
                   expire: dict[InstanceState, set[str]]) -> dict[InstanceState, list[str]]:
    """``eager_defaults=True``: read the values the database gave the rows just written
    (server defaults, server onupdates, SQL expressions) into the objects instead of
    leaving them to load on access.  Takes the keys read out of ``expire``; returns them
    per state."""
    attr_col = {ak: ck for ak, ck, _c, _p, _d in plan.cols}
    groups: dict[tuple[str, ...], list[InstanceState]] = {}
    for state, keys in expire.items():
        mine = tuple(sorted(k for k in keys if k in attr_col and k not in plan.pk_keys))
        if mine:
            groups.setdefault(mine, []).append(state)
    out: dict[InstanceState, list[str]] = {}
    for akeys, states in groups.items():
        cols = [plan.table.c[attr_col[k]] for k in akeys]
        idents = [tuple(state.strong_obj().__dict__.get(ak) for ak in plan.pk_keys)
                  for state in states]
        for state, values in zip(states, select_by_key(conn, plan, idents, cols),
                                 strict=True):
            if values is NO_VALUE:
                continue  # no row (a trigger removed it?): left expired
            d = state.strong_obj().__dict__
            d.update(zip(akeys, values, strict=True))
            state.loaded(akeys)
            rest = expire[state] - set(akeys)
            if rest:
                expire[state] = rest
            else:
                del expire[state]
            out[state] = list(akeys)
    return out


def select_by_key(
    conn: Connection, plan: TablePlan, keys: Sequence[tuple[Any, ...]], cols: list[Any]
) -> list[Any]:
    """The values of ``cols`` (a tuple) of the rows with primary keys ``keys``
    (NO_VALUE: no row)."""
    pk = plan.pk
    n = len(pk)
    by_key: dict[tuple[Any, ...], Any] = {}
    distinct = list(dict.fromkeys(keys))
    for start in range(0, len(distinct), _VERSION_CHUNK):
        chunk = distinct[start:start + _VERSION_CHUNK]
        if len(chunk) == 1:
            cond: Any = and_(*[c == v for c, v in zip(pk, chunk[0], strict=True)])
        elif len(pk) == 1:
            cond = pk[0].in_([k[0] for k in chunk])
        else:
            cond = tuple_(*pk).in_(chunk)
        rows = conn.execute(select(*pk, *cols).where(cond)).all()
        if len(chunk) == 1:
            if rows:
                by_key[chunk[0]] = tuple(rows[0][n:])
            continue
        for row in rows:
            by_key[tuple(row[:n])] = tuple(row[n:])
    out = []
    for k in keys:
        v = by_key.get(k, NO_VALUE)
        if v is NO_VALUE and len(distinct) > 1:
            # the database may match keys Python sees as different (collations, types)
            v = select_by_key(conn, plan, [k], cols)[0]
            by_key[k] = v
        out.append(v)
    return out
