"""Records: the rows one mapper's states write, as statement parameters.

Callers: :mod:`.inserts` and :mod:`.writes`, which execute them, and the unit of work (which
asks :func:`changed_params` whether a state has anything to write).  This
module runs no SQL and holds no ``Connection``: it reads the objects'
``__dict__`` and committed state, and returns parameter dictionaries grouped
by the shape of their statement (the columns written, the columns given as
SQL expressions), so that each group is one executemany.  It writes into an
object only what the application decides without the database: a version
counter's next value from ``version_id_generator``.  What only the database
knows (generated keys, server defaults, a version it sets, the committed
version of an expired row) is read by the writers (:mod:`.readback`).
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import Any

from sqlalchemy import and_, bindparam
from sqlalchemy.sql.elements import ClauseElement

from .._util import NO_VALUE, describe
from ..exc import FlushError
from ..instance.history import values_equal
from ..instance.state import LAZY_KEY, InstanceState, all_lazy_keys
from ..mapping.cache import CacheSlot
from ..mapping.mapper import Mapper
from ..mapping.relationships import declares_update_cascade

PK_PREFIX = "_dm_pk_"
VERSION_PARAM = "_dm_version"

_ident_of = operator.attrgetter("_ident")

# value types written as they are (anything else may be a SQL expression)
PLAIN = frozenset({int, str, float, bool, bytes, type(None)})

# (state, {column key: value}, {column key: SQL expression} or None)
Record = tuple[InstanceState, dict[str, Any], dict[str, Any] | None]
# (column keys of the parameters, column keys given as SQL expressions or None)
Shape = tuple[tuple[str, ...], tuple[str, ...] | None]


class FlushRecordError(FlushError):
    """A state could not be turned into a row."""


def is_sql(value: Any) -> bool:
    return isinstance(value, ClauseElement) or (
        hasattr(value, "__clause_element__") and not isinstance(value, type)
    )


class TablePlan:
    """Per-mapper column facts used by the record builders and the statements
    (computed once per mapper, dropped with the mapper caches)."""

    def __init__(self, mapper: Mapper) -> None:
        table = mapper.local_table
        self.table = table
        pk_cols = set(mapper.primary_key)
        self.cols = _table_columns(mapper, table, pk_cols)
        self.pk = list(mapper.primary_key)
        self.pk_keys = list(mapper._pk_keys)
        self.pk_colkeys = [c.key for c in self.pk]
        # the row is found by the object's identity (its key as loaded or last
        # flushed): false for a table whose own key is other attributes than the
        # identity's (a joined subclass table with a key of its own, joined to the
        # base on another column), whose rows are found by those attributes' values
        self.ident_keyed = self.pk_keys == list(mapper.mapper._pk_keys)
        # a joined subclass table whose key columns reference another table of the
        # hierarchy with ON UPDATE CASCADE: when the object's key changes, the base
        # table's UPDATE (written first) has moved this row's key already, so its
        # UPDATE finds the row by the new key
        self.key_cascaded = _key_cascaded(mapper, table, self.pk)
        self._uncascaded: TablePlan | None = None
        self.partial_pks = mapper.allow_partial_pks
        self.confirm_deleted = mapper.confirm_deleted_rows
        self.autoinc = table.autoincrement_column
        self.col_to_attr = {ck: ak for ak, ck, _c, _p, _d in self.cols}
        self._defaults(table, pk_cols)
        self.version_col = mapper.version_id_col
        self.version_key = mapper.version_id_prop.key if mapper.version_id_prop else None
        self.version_colkey = self.version_col.key if self.version_col is not None else ""
        self.where = and_(*[c == bindparam(PK_PREFIX + c.key) for c in self.pk])
        if self.version_col is not None:
            self.where = and_(self.where, self.version_col == bindparam(VERSION_PARAM))
        self._fast_paths()
        self.update_stmt = table.update().where(self.where)
        self.delete_stmt = table.delete().where(self.where)
        self.insert_stmt = table.insert()
        # compiled UPDATE/DELETE forms for the driver fast path (see driver.py)
        self.driver_cache: dict[Any, Any] = {}
        self._returning: dict[tuple[Any, bool], Any] = {}

    def uncascaded(self) -> TablePlan:
        """This plan with ``key_cascaded`` off (a copy, kept)."""
        other = self._uncascaded
        if other is None:
            other = self._uncascaded = copy.copy(self)
            other.key_cascaded = False
        return other

    def _defaults(self, table: Any, pk_cols: set[Any]) -> None:
        """Which columns a None or a missing value leaves to the database."""
        # columns whose type binds None itself (should_evaluate_none): an explicit None
        # is sent, a value never set is left to the database
        self.eval_none = frozenset(
            ck for _ak, ck, c, _p, _d in self.cols if getattr(c.type, "should_evaluate_none", False))
        # a None for one of these non-key columns means "use the default": such a row
        # can't take the fast path that sends every value as it is
        self.none_means_default = any(
            d and not p and ck not in self.eval_none for _ak, ck, _c, p, d in self.cols)
        # columns the database fills on INSERT when no value is given: expired after it
        # (a SQL-expression or sequence default, default=func.now(), is one of them)
        self.server_generated = {
            ck for _ak, ck, c, _p, _d in self.cols if _server_generated(c, table, pk_cols)}

    def _fast_paths(self) -> None:
        """The lookups of the record builders' fast paths."""
        self.pk_params = [PK_PREFIX + ck for ck in self.pk_colkeys]
        # attr key -> ((column position, column key), ...), for the changed-attribute scan
        self.attr_pos: dict[str, tuple[tuple[int, str], ...]] = {}
        for i, (ak, ck, _c, _p, _d) in enumerate(self.cols):
            self.attr_pos[ak] = (*self.attr_pos.get(ak, ()), (i, ck))
        # attr key -> its column key, for the attributes written to one column only
        self.one_col = {ak: pos[0][1] for ak, pos in self.attr_pos.items() if len(pos) == 1}
        nonpk = [(ak, ck) for ak, ck, _c, is_pk, _d in self.cols if not is_pk]
        self.nonpk_colkeys = tuple(ck for _a, ck in nonpk)
        # every non-key attribute at once; KeyError when one has no value
        self.nonpk_getter: Any = (
            operator.itemgetter(*[ak for ak, _c in nonpk]) if len(nonpk) > 1 else None
        )
        self.single_pk_attr = self.pk_keys[0] if len(self.pk_keys) == 1 and len(
            [c for c in self.cols if c[3]]) == 1 else None

    def insert_returning(self, col: Any, ordered: bool) -> Any:
        """``INSERT ... RETURNING col`` (``ordered``: rows in parameter order), built
        once: a flush of one new object would otherwise build it again each time."""
        stmt = self._returning.get((col, ordered))
        if stmt is None:
            stmt = self.insert_stmt.returning(col, sort_by_parameter_order=ordered) \
                if ordered else self.insert_stmt.returning(col)
            self._returning[(col, ordered)] = stmt
        return stmt


def _table_columns(mapper: Mapper, table: Any, pk_cols: set[Any]
                   ) -> list[tuple[str, str, Any, bool, bool]]:
    """(attribute key, column key, column, is a key column, has a default) of each
    column of ``table`` the mapper writes."""
    out: list[tuple[str, str, Any, bool, bool]] = []
    for prop in mapper._persist_props:
        for col in prop.columns:
            if col.table is not table:
                continue
            has_default = (
                col.default is not None
                or col.server_default is not None
                or (col in pk_cols and col is table.autoincrement_column)
            )
            out.append((prop.key, col.key, col, col in pk_cols, has_default))
    return out


def _server_generated(col: Any, table: Any, pk_cols: set[Any]) -> bool:
    """Does the database fill ``col`` on INSERT when no value is given?"""
    if col.server_default is not None or (col in pk_cols and col is table.autoincrement_column):
        return True
    default = col.default
    return default is not None and not (getattr(default, "is_scalar", False)
                                        or getattr(default, "is_callable", False))


def _key_cascaded(mapper: Any, table: Any, pk: list[Any]) -> bool:
    real = mapper.mapper
    if getattr(real, "inherits", None) is None or not pk or \
            table is real.base_mapper.local_table:
        return False
    return all(declares_update_cascade(c, away_from=table) for c in pk)


def table_plan(mapper: Mapper) -> TablePlan:
    """The (cached) :class:`TablePlan` of ``mapper``."""
    plan = _TABLE_PLAN.get(mapper)
    if plan is None:
        plan = _TABLE_PLAN.set(mapper, TablePlan(mapper))
    return plan


_TABLE_PLAN: CacheSlot[TablePlan] = CacheSlot("INSERT/UPDATE/DELETE plan of the table")


# -- INSERT -------------------------------------------------------------------------
def tuple_shape(plan: TablePlan, zero_guard: str | None) -> Shape | None:
    """The shape whose records :func:`insert_records` gives as value tuples when
    asked (``tuple_rows=True``): the common row, with a generated key and a plain
    value for every other column; None when the table has no such fast path."""
    if plan.nonpk_getter is None or plan.single_pk_attr is None \
            or plan.version_key is not None or zero_guard is not None:
        return None
    return (plan.nonpk_colkeys, None)


def insert_records(
    mapper: Mapper, plan: TablePlan, states: Iterable[InstanceState], zero_guard: str | None,
    tuple_rows: bool = False,
) -> tuple[dict[Shape, list[Record]], list[InstanceState] | None]:
    """The INSERT records of ``states`` grouped by shape, and the states whose version
    the database sets (``version_id_generator=False``; None when not so mapped).

    ``tuple_rows``: the records of the shape :func:`tuple_shape` names hold the tuple
    of their values (in ``plan.nonpk_colkeys`` order) instead of a dictionary, so that
    the driver's parameter rows are made without a dictionary per row
    (:func:`tuple_params` gives the dictionaries where a path needs them).

    ``zero_guard``: the attribute whose explicit 0 the server would replace by a
    generated key (MySQL family without NO_AUTO_VALUE_ON_ZERO), refused here.
    """
    groups: dict[Shape, list[Record]] = {}
    version_key = plan.version_key
    fast = tuple_shape(plan, zero_guard) is not None
    if fast and tuple_rows and isinstance(states, (list, tuple)):
        batch = _common_rows(plan, states)
        if batch is not None:
            return {(plan.nonpk_colkeys, None): batch}, None
    fast_key = (plan.nonpk_colkeys, None)
    nonpk_colkeys = plan.nonpk_colkeys
    nonpk_getter = plan.nonpk_getter
    pk_attr = plan.single_pk_attr
    plain = PLAIN
    none_default = plan.none_means_default
    fast_group: list[Record] | None = None
    server_versions: list[InstanceState] | None = (
        [] if version_key is not None and mapper.version_id_generator is False else None)
    for state in states:
        obj = state.obj()
        d = (obj if obj is not None else state.strong_obj()).__dict__
        if fast and d.get(pk_attr) is None:
            # the common shape: a generated key and a plain value for every other column
            try:
                vals = nonpk_getter(d)
            except KeyError:
                vals = None
            if vals is not None and plain.issuperset(map(type, vals)) and not (
                    none_default and None in vals):
                if fast_group is None:
                    fast_group = groups.setdefault(fast_key, [])
                fast_group.append((state, vals if tuple_rows
                                   else dict(zip(nonpk_colkeys, vals)), None))
                continue
        if zero_guard is not None or version_key is not None:
            _before_insert(mapper, plan, state, d, zero_guard, server_versions)
        params, exprs = _insert_params(plan, d)
        gkey = (tuple(params), tuple(exprs) if exprs else None)
        if tuple_rows and fast and gkey == fast_key:
            # the shape of the tuple records (params is in the same column order)
            if fast_group is None:
                fast_group = groups.setdefault(fast_key, [])
            fast_group.append((state, tuple(params.values()), None))  # type: ignore[arg-type]  # a tuple-shape record: params as a value tuple in the shape's column order (Record declares the dict form)
            continue
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = []
        group.append((state, params, exprs))
    return groups, server_versions


def _common_rows(plan: TablePlan, states: Sequence[InstanceState]) -> list[Record] | None:
    """The value-tuple records of ``states`` when every one of them has the common
    shape (see :func:`tuple_shape`): no key value, and a plain value for every other
    column.  The value types of all rows are checked at once, after the rows are read.
    None, when a state has another shape (the caller then sorts them one by one)."""
    getter = plan.nonpk_getter
    pk_attr = plan.single_pk_attr
    values: list[tuple[Any, ...]] = []
    append = values.append
    try:
        for state in states:
            obj = state.obj()
            d = (obj if obj is not None else state.strong_obj()).__dict__
            if d.get(pk_attr) is not None:
                return None
            append(getter(d))
    except KeyError:  # an attribute without a value: the column's default applies
        return None
    if not values or not PLAIN.issuperset(set(map(type, chain.from_iterable(values)))):
        return None
    if plan.none_means_default and any(None in v for v in values):
        return None
    return list(zip(states, values, repeat(None)))  # type: ignore[arg-type]  # tuple-shape records: params as value tuples in the shape's column order (Record declares the dict form)


def tuple_params(keys: tuple[str, ...], rows: list[Record]) -> list[Record]:
    """The records of a tuple-shaped group (see :func:`insert_records`) with
    dictionaries of their values."""
    return [(st, dict(zip(keys, vals, strict=True)), e) for st, vals, e in rows]


def _before_insert(mapper: Mapper, plan: TablePlan, state: InstanceState, d: dict[str, Any],
                   zero_guard: str | None, server_versions: list[InstanceState] | None) -> None:
    """Refuse a key of 0 the server would replace; give the row its first version."""
    if zero_guard is not None and d.get(zero_guard) == 0 and d.get(zero_guard) is not False:
        raise FlushError(
            f"Can't INSERT {describe(state.obj())} with {zero_guard}=0: MySQL/MariaDB store "
            f"an explicit 0 in AUTO_INCREMENT column {plan.autoinc} as the next generated "
            "value, so the object would hold the wrong identity; use a non-zero key, leave "
            "it unset, or add NO_AUTO_VALUE_ON_ZERO to the server's sql_mode"
        )
    version_key = plan.version_key
    if version_key is not None and d.get(version_key) is None:
        if server_versions is None:
            d[version_key] = mapper.version_id_generator(None)
        else:
            server_versions.append(state)


def _insert_params(plan: TablePlan, d: dict[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The values and SQL expressions one INSERT writes (columns left out: defaults)."""
    eval_none = plan.eval_none
    params: dict[str, Any] = {}
    exprs: dict[str, Any] | None = None
    for attr_key, col_key, _col, is_pk, has_default in plan.cols:
        v = d.get(attr_key, NO_VALUE)
        if v is NO_VALUE:
            if has_default or is_pk or col_key in eval_none:
                continue
            v = None
        elif v is None and (is_pk or (has_default and col_key not in eval_none)):
            continue  # None where there is a default: the default applies
        elif v.__class__ not in PLAIN and is_sql(v):
            if exprs is None:
                exprs = {}
            exprs[col_key] = v
            continue
        params[col_key] = v
    return params, exprs


def group_rank(item: tuple[Shape, Any]) -> tuple[Any, ...]:
    """Sort key of an INSERT group: its shape, not the order objects were added."""
    (keys, expr_keys), _rows = item
    return (len(keys), tuple(sorted(keys)), tuple(sorted(expr_keys or ())))


# -- UPDATE -------------------------------------------------------------------------
def update_records(mapper: Mapper, plan: TablePlan, states: Iterable[InstanceState]
                   ) -> list[Record]:
    """The UPDATE records of the states that changed a column (the row's key included,
    under ``PK_PREFIX`` names).  A collection change alone writes nothing, and so
    does not move a version counter either."""
    records: list[Record] = []
    append = records.append
    single_pk = plan.pk_params[0] if len(plan.pk_params) == 1 and plan.ident_keyed \
        and not plan.key_cascaded else None
    one_col = plan.one_col
    for state in states:
        if single_pk is not None and state._key is LAZY_KEY:
            cs = state._committed
            if not cs:
                continue
            if len(cs) == 1:
                # one attribute changed (the usual edit), written to one column: its
                # record without the general scan (the same outcome as _changed_values)
                for attr_key, original in cs.items():
                    col_key = one_col.get(attr_key)
                    if col_key is None:
                        break
                    obj = state.obj()
                    d = (obj if obj is not None else state.strong_obj()).__dict__
                    current = d.get(attr_key, NO_VALUE)
                    if current is NO_VALUE:
                        current = None
                    elif current.__class__ not in PLAIN:
                        break
                    elif original is not NO_VALUE and (
                            current is original
                            or (current == original if original.__class__ in PLAIN
                                else values_equal(current, original))):
                        continue
                    append((state, {col_key: current, single_pk: state._ident}, None))
                else:
                    continue
            # the common row (one-column key, identity kept as its value): the key goes
            # straight into the SET values, without the separate WHERE dict
            ch2 = _changed_values(plan, state)
            if ch2 is not None:
                ch2[0][single_pk] = state._ident
                append((state, ch2[0], ch2[1]))
            continue
        ch = changed_params(mapper, state, plan)
        if ch is None:
            continue
        params, exprs, where = ch
        params.update(where)
        append((state, params, exprs))
    return records


def update_groups(mapper: Mapper, plan: TablePlan, states: Iterable[InstanceState]
                  ) -> tuple[dict[Shape, list[Record]], set[Shape]]:
    """``by_shape(update_records(...), True)`` for a table without a version counter,
    and the shapes whose records hold a tuple of their values (in the shape's order)
    instead of a dictionary: the usual edit of a loaded object (one attribute of a
    one-column key row) becomes the driver's parameter row without a dictionary per
    row.  Groups and rows come in the order :func:`by_shape` gives them."""
    single_pk = plan.pk_params[0] if len(plan.pk_params) == 1 and plan.ident_keyed \
        and not plan.key_cascaded else None
    tuple_shapes: set[Shape] = set()
    if single_pk is None or plan.version_key is not None:
        return by_shape(update_records(mapper, plan, states), True), tuple_shapes
    groups: dict[Shape, list[Record]] = {}
    one_col = plan.one_col
    # column key -> the group of the one-column changes of that column
    singles: dict[str, list[Record]] = {}
    for state in states:
        if state._key is LAZY_KEY:
            cs = state._committed
            if not cs:
                continue
            if len(cs) == 1:
                # (the same outcome as update_records' one-attribute record)
                for attr_key, original in cs.items():
                    col_key = one_col.get(attr_key)
                    if col_key is None:
                        break
                    obj = state.obj()
                    d = (obj if obj is not None else state.strong_obj()).__dict__
                    current = d.get(attr_key, NO_VALUE)
                    if current is NO_VALUE:
                        current = None
                    elif current.__class__ not in PLAIN:
                        break
                    elif original is not NO_VALUE and (
                            current is original
                            or (current == original if original.__class__ in PLAIN
                                else values_equal(current, original))):
                        continue
                    group = singles.get(col_key)
                    if group is None:
                        group = singles[col_key] = _shape_group(
                            groups, tuple_shapes, ((col_key, single_pk), None))
                    group.append((state, (current, state._ident), None))  # type: ignore[arg-type]  # a tuple-shape record: params as a value tuple in the shape's column order (Record declares the dict form)
                else:
                    continue
            ch2 = _changed_values(plan, state)
            if ch2 is None:
                continue
            params, exprs = ch2
            params[single_pk] = state._ident
        else:
            ch = changed_params(mapper, state, plan)
            if ch is None:
                continue
            params, exprs, where = ch
            params.update(where)
        gkey = (tuple(params), tuple(exprs) if exprs else None)
        if gkey in tuple_shapes:
            groups[gkey].append((state, tuple(params.values()), None))  # type: ignore[arg-type]  # a tuple-shape record: params as a value tuple in the shape's column order (Record declares the dict form)
            continue
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = []
        group.append((state, params, exprs))
    return groups, tuple_shapes


def _shape_group(groups: dict[Shape, list[Record]], tuple_shapes: set[Shape],
                 shape: Shape) -> list[Record]:
    """The group of value-tuple records of ``shape`` (records of that shape found
    before as dictionaries become tuples)."""
    tuple_shapes.add(shape)
    group = groups.get(shape)
    if group is None:
        group = groups[shape] = []
    else:
        group[:] = [(st, tuple(p.values()), e) for st, p, e in group]  # type: ignore[misc]  # turns the group's dict records into tuple-shape ones (Record declares the dict form)
    return group


def by_shape(records: Iterable[Record], ordered: bool = False) -> dict[Shape, list[Record]]:
    """``records`` grouped by statement shape, groups and rows in first-seen order.

    ``ordered``: the parameters of every record are in one order (table order, then
    the key parameters, as :func:`update_records` builds them), so records with the
    same parameter names have the same shape.
    """
    groups: dict[Shape, list[Record]] = {}
    last_keys: Any = None
    last_group: list[Record] = []
    for rec in records:
        params, exprs = rec[1], rec[2]
        if ordered and exprs is None and params.keys() == last_keys:
            # the same columns as the record before (a run of one change made to many
            # objects): its group, found without making the shape's tuple
            last_group.append(rec)
            continue
        gkey = (tuple(params), tuple(exprs) if exprs else None)
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = []
        group.append(rec)
        if exprs is None:
            last_keys, last_group = params.keys(), group
        else:
            last_keys = None
    return groups


def changed_params(
    mapper: Mapper, state: InstanceState, plan: TablePlan
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]] | None:
    """The SET values and the WHERE key of a dirty state, or None if nothing changed."""
    ch = _changed_values(plan, state)
    if ch is None:
        return None
    params, exprs = ch
    # the row is found by its identity: the key it was loaded or flushed with
    pk_params = plan.pk_params
    if not plan.ident_keyed:
        return params, exprs, own_key(plan, state)
    cs = state._committed
    if plan.key_cascaded and cs and any(k in cs for k in plan.pk_keys):
        # (the database moved this row's key with the base table's: see TablePlan)
        obj = state.obj()
        d = (obj if obj is not None else state.strong_obj()).__dict__
        return params, exprs, {p: d.get(ak) for p, ak in zip(pk_params, plan.pk_keys,
                                                              strict=True)}
    if state._key is LAZY_KEY and len(pk_params) == 1:
        return params, exprs, {pk_params[0]: state._ident}
    key = state.key
    if key is None:
        obj = state.obj()
        d = (obj if obj is not None else state.strong_obj()).__dict__
        where = {p: d.get(ak) for p, ak in zip(pk_params, plan.pk_keys, strict=True)}
    elif len(pk_params) == 1:
        where = {pk_params[0]: key[1][0]}
    else:
        if None in key[1]:
            raise null_key_error(plan, state, key[1], "UPDATE")
        where = dict(zip(pk_params, key[1], strict=True))
    return params, exprs, where


def own_key(plan: TablePlan, state: InstanceState) -> dict[str, Any]:
    """The WHERE key of a table not found by the identity (``plan.ident_keyed`` is
    false): its key attributes' values as loaded (a value changed since is looked
    for by the one it had).  The flush loads them first if expired."""
    d = state.strong_obj().__dict__
    cs = state._committed or {}
    where = {}
    for p, ak in zip(plan.pk_params, plan.pk_keys, strict=True):
        v = cs.get(ak, NO_VALUE)
        where[p] = d.get(ak) if v is NO_VALUE else v
    return where


def _changed_values(plan: TablePlan, state: InstanceState
                    ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The SET values and SQL expressions of a dirty state, or None if nothing changed."""
    cs = state._committed
    if not cs:
        return None
    obj = state.obj()
    d = (obj if obj is not None else state.strong_obj()).__dict__
    attr_pos = plan.attr_pos
    params: dict[str, Any] = {}
    exprs: dict[str, Any] | None = None
    last = -1
    in_order = True
    # only the changed attributes are looked at
    for attr_key, original in cs.items():
        pos = attr_pos.get(attr_key)
        if pos is None:
            continue
        current = d.get(attr_key, NO_VALUE)
        if current is NO_VALUE:
            current = None
        elif original is not NO_VALUE and (
                current is original
                # plain values compare as values_equal() would, without the call
                or (current == original if current.__class__ in PLAIN
                    and original.__class__ in PLAIN else values_equal(current, original))):
            continue
        for i, col_key in pos:
            if i < last:
                in_order = False
            last = i
            if current.__class__ not in PLAIN and is_sql(current):
                if exprs is None:
                    exprs = {}
                exprs[col_key] = current
            else:
                params[col_key] = current
    if not params and not exprs:
        return None
    if not in_order:
        # table-plan order, so that equal change sets give equal statements
        params = _plan_order(plan, params)
        if exprs:
            exprs = _plan_order(plan, exprs)
    return params, exprs


def _plan_order(plan: TablePlan, values: dict[str, Any]) -> dict[str, Any]:
    return {ck: values[ck] for _ak, ck, _c, _p, _d in plan.cols if ck in values}


def switch_record(mapper: Mapper, plan: TablePlan, state: InstanceState,
                  ident: tuple[Any, ...], old_version: Any
                  ) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """A row switch's UPDATE: (parameters, SQL expressions, attributes with no value).

    The new object's values over the deleted object's row ``ident``; a version
    counter moves on from ``old_version`` (written into the object).
    """
    d = state.strong_obj().__dict__
    vk = plan.version_key
    params: dict[str, Any] = {}
    exprs: dict[str, Any] = {}
    unset: set[str] = set()
    for attr_key, col_key, _col, is_pk, _has_default in plan.cols:
        if is_pk or attr_key == vk:
            continue
        v = d.get(attr_key, NO_VALUE)
        if v is NO_VALUE:
            unset.add(attr_key)
        elif v.__class__ not in PLAIN and is_sql(v):
            exprs[col_key] = v
        else:
            params[col_key] = v
    if vk is not None:
        new_version = mapper.version_id_generator(old_version)
        params[plan.version_colkey] = new_version
        params[VERSION_PARAM] = old_version
        d[vk] = new_version
    if not params and not exprs:
        # nothing to write: the key columns to themselves, so the row is still
        # looked for (and its absence reported)
        params = {ck: v for ck, v in zip(plan.pk_colkeys, ident, strict=True)}
    params.update(zip(plan.pk_params, ident, strict=True))
    return params, exprs, unset


def post_update_records(plan: TablePlan, items: Iterable[tuple[InstanceState, dict[str, Any]]]
                        ) -> list[tuple[InstanceState, dict[str, Any]]]:
    """(state, parameters) of UPDATEs of only the given foreign-key values."""
    records = []
    for state, values in items:
        d = state.strong_obj().__dict__
        params = dict(values)
        key = None
        for i, (ak, ck) in enumerate(zip(plan.pk_keys, plan.pk_colkeys, strict=True)):
            v = d.get(ak, NO_VALUE)
            if v is NO_VALUE:
                # an expired object's key is not in its __dict__; the row still has
                # the key it was loaded or last flushed with (a key changed in this
                # flush is in __dict__, where the flush put it)
                key = key or state.key
                v = None if key is None else key[1][i]
            params[PK_PREFIX + ck] = v
        records.append((state, params))
    return records


# -- DELETE -------------------------------------------------------------------------
def delete_keys(plan: TablePlan, states: Sequence[InstanceState]) -> list[tuple[Any]] | None:
    """The one-value parameter rows (the key) of the states' DELETE, for the common
    shape only (one key column, no version counter, every key held as its value);
    None otherwise (:func:`delete_records` has every case)."""
    if plan.version_col is not None or plan.version_key is not None or not plan.ident_keyed \
            or len(plan.pk_params) != 1 or not states or not all_lazy_keys(states):
        return None
    return list(zip(map(_ident_of, states)))


def delete_records(plan: TablePlan, states: Sequence[InstanceState]) -> list[dict[str, Any]]:
    """The WHERE parameters of each state's DELETE (its key as loaded or last flushed;
    the committed version is added by :mod:`.readback`)."""
    pk_params = plan.pk_params
    if not plan.ident_keyed:
        return [own_key(plan, state) for state in states]
    if plan.version_key is None and len(pk_params) == 1:
        # the common shape: one key column, no version counter, keys known
        param = pk_params[0]
        if all_lazy_keys(states):
            return [{param: state._ident} for state in states]
        keyed = [state.key for state in states]
        if None not in keyed:
            return [{param: key[1][0]} for key in keyed]  # type: ignore[index]  # `None not in keyed` rules out a None key; mypy doesn't narrow list elements by it
    params_list = []
    for state in states:
        key = state.key
        if key is not None:
            if None in key[1]:
                raise null_key_error(plan, state, key[1], "DELETE")
            p = dict(zip(pk_params, key[1], strict=True))
        else:
            d = state.strong_obj().__dict__
            p = {pp: d.get(ak) for pp, ak in zip(pk_params, plan.pk_keys, strict=True)}
        params_list.append(p)
    return params_list


def null_key_error(plan: TablePlan, state: InstanceState, ident: Any, verb: str) -> FlushError:
    col = next(c for c, v in zip(plan.pk, ident, strict=True) if v is None)
    return FlushError(
        f"Can't {verb} {describe(state.obj())} in table {plan.table.name}: its primary key "
        f"column {col} is NULL, and a row can't be found by NULL; give the row a key "
        "without NULLs (on the database, then reload the object)"
    )


def where_key(plan: TablePlan, params: dict[str, Any]) -> tuple[Any, ...]:
    return tuple([params[p] for p in plan.pk_params])


# -- what a flush fills in (the refresh_flush event) ------------------------------------
def _python_filled(mapper: Mapper, insert: bool) -> list[tuple[str, Any]]:
    """(attribute, column) of the non-key columns whose value a flush computes in Python
    when the program gives none: a column ``default`` (INSERT) or ``onupdate`` (UPDATE)
    that is a value or a function; a SQL expression default runs in the database."""
    out = []
    for key, prop in mapper._props.items():
        cols = getattr(prop, "columns", None)
        if not cols or cols[0].primary_key:
            continue
        gen = cols[0].default if insert else cols[0].onupdate
        if gen is not None and (getattr(gen, "is_scalar", False)
                                or getattr(gen, "is_callable", False)):
            out.append((key, cols[0]))
    return out


def unfilled(mapper: Mapper, states: Sequence[InstanceState], insert: bool,
             parts: Sequence[Mapper] | None = None) -> dict[InstanceState, list[str]]:
    """Per state, before its INSERT/UPDATE: the attributes the statement will fill for
    the refresh_flush event (only computed while someone listens).  Python defaults of
    attributes the program left unset (INSERT), onupdates of columns it did not change
    in a row that is updated (UPDATE), and a version number the mapper generates.

    ``parts``: the tables of an inheritance hierarchy's mapper (``TablePart``), each
    updated on its own; an onupdate counts where its own table gets an UPDATE."""
    filled = _python_filled(mapper, insert)
    vk = mapper.version_id_prop.key if mapper.version_id_prop is not None else None
    if mapper.version_id_generator is False:
        vk = None  # the database sets it: read back, not computed here
    plans = [] if insert else [(p, table_plan(p)) for p in (parts or (mapper,))]
    out: dict[InstanceState, list[str]] = {}
    for s in states:
        d = s.strong_obj().__dict__
        if insert:
            keys = [k for k, _c in filled if d.get(k) is None]
            if vk is not None and d.get(vk) is None:
                keys.append(vk)
        else:
            keys = []
            for part, plan in plans:
                ch = changed_params(part, s, plan)
                if ch is None:
                    continue  # no UPDATE of this table for it
                params = ch[0]
                keys.extend(k for k, c in filled if c.key not in params
                            and (parts is None or c.table is plan.table))
                if vk is not None and plan.version_col is not None \
                        and plan.version_colkey not in params:
                    keys.append(vk)
        if keys:
            out[s] = keys
    return out
