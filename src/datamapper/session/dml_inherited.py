"""ORM DML of a joined-table inheritance subclass: one object is a row in each table
from the base down to its class, so one statement on the class is several, or one
on the right table.

Callers: :mod:`.dml` (``Session.execute()`` of ``insert(Manager)``,
``update(Manager)``, ``delete(Manager)`` where ``Manager`` has tables of its own
below its base's).

- bulk INSERT (a list of dictionaries): an INSERT into each table, base first; the
  base table's generated keys (read back in parameter order) are copied into the
  rows of the tables below; the discriminator gets the class's identity.
  ``.returning(Manager)`` gives the inserted objects (read back by key).
- bulk UPDATE by primary key: an UPDATE per table for the dictionaries that carry
  values of its columns (tables without any are skipped).
- UPDATE / DELETE with criteria: one statement on one table, as SQLAlchemy writes
  it: an UPDATE on the table holding the columns it sets, a DELETE on the class's
  own table.  Criteria on the class's attributes name that table's key columns; the
  criteria that still read another table of the class (and, for an UPDATE of a base
  table, the limitation to rows of the class) become a correlated ``EXISTS`` over
  those tables, which every backend accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, literal_column, select, tuple_
from sqlalchemy.engine import IteratorResult
from sqlalchemy.sql import visitors
from sqlalchemy.sql.schema import Column
from sqlalchemy.sql.selectable import FromClause, ScalarSelect, SelectBase

from .._core import (
    SimpleResultMetaData,
    dml_post_values_clause,
    dml_values_ordered,
    statement_options,
)
from ..exc import InvalidRequestError
from ..mapping.cache import CacheSlot
from ..mapping.coercion import (
    dml_has_multi_values,
    dml_returning,
    dml_values,
    dml_where,
    entity_of,
)
from ..mapping.inheritance import table_parts
from ..mapping.mapper import Mapper

if TYPE_CHECKING:
    from .base import SessionBase

PK_PREFIX = "_dm_pk_"


def is_joined(mapper: Mapper) -> bool:
    """A subclass mapped to more than one table (joined-table inheritance)."""
    return len(mapper.tables) > 1 and not mapper.single


class _Table:
    """One table of a joined subclass: attribute name -> column key, its key."""

    def __init__(self, mapper: Mapper, table: Any, sync: tuple[tuple[str, str], ...]) -> None:
        self.table = table
        self.key_of: dict[str, str] = {}
        for key, prop in mapper.column_attrs.items():
            for c in prop.columns:
                if isinstance(c, Column) and c.table is table:
                    self.key_of[key] = c.key
                    break
        self.pk_cols = list(table.primary_key.columns)
        attr_of = {ck: ak for ak, ck in self.key_of.items()}
        self.pk_attrs = [attr_of.get(c.key, c.key) for c in self.pk_cols]
        self.sync = sync  # (base attribute, this table's attribute) key copies
        self.update_by_pk = table.update().where(
            and_(*[c == bindparam(PK_PREFIX + c.key) for c in self.pk_cols]))


class _Joined:
    def __init__(self, mapper: Mapper) -> None:
        self.tables = [_Table(mapper, p.local_table, p.sync) for p in table_parts(mapper)]
        self.names = frozenset(k for t in self.tables for k in t.key_of)
        on = mapper.polymorphic_on
        prop = mapper._col_to_prop.get(on) if on is not None else None
        self.discriminator = (prop.key, mapper.polymorphic_identity) if (
            prop is not None and mapper.polymorphic_identity is not None) else None


_JOINED: CacheSlot[_Joined] = CacheSlot("ORM DML of a joined-inheritance subclass")


def _joined(mapper: Mapper) -> _Joined:
    found = _JOINED.get(mapper)
    if found is None:
        found = _JOINED.set(mapper, _Joined(mapper))
    return found


def _check_names(mapper: Mapper, info: _Joined, rows: Sequence[Any], verb: str) -> None:
    for i, d in enumerate(rows):
        if not isinstance(d, dict):
            raise InvalidRequestError(
                f"Can't {verb} {mapper.class_.__name__}: parameter set #{i} is "
                f"{type(d).__name__}, not a dictionary of attribute values"
            )
        bad = sorted(str(k) for k in d if k not in info.names)
        if bad:
            raise InvalidRequestError(
                f"Can't {verb} {mapper.class_.__name__}: dictionary #{i} has "
                f"{', '.join(map(repr, bad))}, not mapped column attribute(s) of "
                f"{mapper.class_.__name__}; use the names {', '.join(sorted(info.names))}"
            )


def _runs(params: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    for p in params:
        if out and out[-1][0].keys() == p.keys():
            out[-1].append(p)
        else:
            out.append([p])
    return out


# -- INSERT ---------------------------------------------------------------------------------
def insert_joined(session: SessionBase, stmt: object, mapper: Mapper, params: object,
                  opts: dict[str, Any], merged: dict[str, Any], bind: object) -> Any:
    """``insert(Manager)`` with dictionaries: an INSERT into each of its tables."""
    rows = _insert_rows(mapper, stmt, params)
    info = _joined(mapper)
    _check_names(mapper, info, rows, "bulk INSERT")
    extra = values_by_table(mapper, stmt)
    elements = dml_returning(stmt)
    if merged.get("autoflush", True):
        session._autoflush()
    work, result = insert_joined_rows(session, mapper, rows, bool(merged.get("render_nulls")),
                                      bind, opts, extra)
    if not elements:
        return result
    base = info.tables[0]
    idents = [tuple(d[a] for a in base.pk_attrs) for d in work]
    populate = bool(merged.get("populate_existing"))
    options = statement_options(stmt)  # (loader options: as for a SELECT of the class)
    if len(elements) == 1 and entity_of(elements[0]) is mapper:
        return _objects_by_key(session, mapper, idents, populate, options)
    return _returned_by_key(session, mapper, idents, elements, populate, options)


def insert_joined_rows(session: SessionBase, mapper: Mapper, rows: Sequence[dict[str, Any]],
                       render_nulls: bool, bind: Any, opts: dict[str, Any],
                       extra: list[dict[str, Any]] | None = None
                       ) -> tuple[list[dict[str, Any]], Any]:
    """INSERT the rows (attribute names) of a joined subclass into each of its tables,
    base first; each row's dictionary completed with its keys and discriminator, and
    the last result.  ``extra``: per table, the statement's ``values()`` (column key ->
    value or SQL expression) for every row."""
    info = _joined(mapper)
    _check_names(mapper, info, rows, "bulk INSERT")
    work = [dict(d) for d in rows]
    if info.discriminator is not None:
        key, identity = info.discriminator
        for d in work:
            if d.get(key) is None:
                d[key] = identity
    result: Any = None
    for i, t in enumerate(info.tables):
        for base_attr, attr in t.sync:
            for d in work:
                if d.get(attr) is None:
                    d[attr] = d.get(base_attr)
        params_t = _table_params(t, work, render_nulls)
        insert = t.table.insert()
        if extra and extra[i]:
            insert = insert.values(extra[i])
            for p in params_t:  # (the statement's values() win over a dictionary's)
                for ck in extra[i]:
                    p.pop(ck, None)
        if i == 0:
            keys = _insert_base(session, t, insert, params_t, bind, opts)
            for d, k in zip(work, keys, strict=True):
                for attr, v in zip(t.pk_attrs, k, strict=True):
                    d[attr] = v
            continue
        for run in _runs(params_t):
            result = session._run(insert, run if len(run) > 1 else run[0], bind, opts)
    return work, result


def values_by_table(mapper: Mapper, stmt: object, verb: str = "INSERT"
                    ) -> list[dict[str, Any]] | None:
    """The pairs of ``insert(Manager).values(...)`` (or of an UPDATE by primary key)
    sorted to the tables their columns are in (column key -> value), or None without
    values(); a name that is no mapped column of the class is refused."""
    info = _joined(mapper)
    pairs = dml_values(stmt)
    if not pairs:
        return None
    out: list[dict[str, Any]] = [{} for _t in info.tables]
    for k, v in pairs:
        found = None
        for i, t in enumerate(info.tables):
            if isinstance(k, str):
                ck = t.key_of.get(k)
                if ck is None and k in t.table.c and k in t.key_of.values():
                    ck = k
            else:
                col = k.__clause_element__() if hasattr(k, "__clause_element__") else k
                ck = col.key if getattr(col, "table", None) is t.table else None
            if ck is not None:
                found = (i, ck)
                break
        if found is None:
            raise InvalidRequestError(
                f"Can't {verb} {mapper.class_.__name__}: values() names {k!r}, which is "
                f"not a mapped column attribute of it; use the names "
                f"{', '.join(sorted(info.names))}")
        out[found[0]][found[1]] = v
    return out


def _insert_rows(mapper: Mapper, stmt: Any, params: Any) -> list[dict[str, Any]]:
    """The rows of ``insert(Manager)``: the parameter dictionaries (values() refused:
    the row is spread over several tables)."""
    name = mapper.class_.__name__
    if dml_post_values_clause(stmt) is not None:
        raise InvalidRequestError(
            f"Can't run an upsert (INSERT ... ON CONFLICT / ON DUPLICATE KEY) of {name}: "
            "bulk INSERT with a 'post values' clause (typically upsert) not supported for "
            f"multi-table mapper {name}, stored in {', '.join(t.name for t in mapper.tables)}"
            ": a conflict on one table's row can't be resolved in the others; upsert each "
            "table's rows with Core (insert(Table).on_conflict_...), then expire the objects"
        )
    if dml_has_multi_values(stmt):
        raise InvalidRequestError(
            f"Can't INSERT {name} with values([...]): it is stored in several tables "
            f"({', '.join(t.name for t in mapper.tables)}); pass the rows as dictionaries "
            "to session.execute(insert(...), [...])"
        )
    rows: list[dict[str, Any]] = [params] if isinstance(params, dict) else list(params or ())
    if not rows and dml_values(stmt):
        rows = [{}]  # one row, of the statement's values() alone
    if not rows:
        raise InvalidRequestError(
            f"Can't INSERT {name} without values: pass a dictionary per row")
    return rows


def _table_params(t: _Table, work: list[dict[str, Any]], render_nulls: bool
                  ) -> list[dict[str, Any]]:
    """Each row's parameters for table ``t`` (by column key); None values left out
    unless ``render_nulls``."""
    params_t = []
    for d in work:
        p = {ck: d[ak] for ak, ck in t.key_of.items() if ak in d}
        if not render_nulls:
            p = {k: v for k, v in p.items() if v is not None}
        params_t.append(p)
    return params_t


def _insert_base(session: SessionBase, t: _Table, insert: Any, params: list[dict[str, Any]],
                 bind: Any, opts: dict[str, Any]) -> list[tuple[Any, ...]]:
    """INSERT (``insert``) the base table's rows; their primary keys in parameter order."""
    keys: list[tuple[Any, ...]] = []
    dialect = bind.dialect
    for run in _runs(params):
        missing = [c for c in t.pk_cols if c.key not in run[0]]
        if not missing:
            session._run(insert, run if len(run) > 1 else run[0], bind, opts)
            keys.extend(tuple(p[c.key] for c in t.pk_cols) for p in run)
            continue
        if len(run) > 1 and getattr(dialect, "insert_executemany_returning", False):
            got = session._run(insert.returning(*t.pk_cols, sort_by_parameter_order=True),
                               run, bind, opts).all()
            keys.extend(tuple(r) for r in got)
            continue
        for p in run:
            keys.append(tuple(session._run(insert, p, bind, opts).inserted_primary_key))
    return keys


def _returned_entity(mapper: Mapper, stmt: object, verb: str) -> Mapper | None:
    """The mapper of ``.returning(Manager)``; None without RETURNING; other RETURNING
    forms are refused (the row is spread over several tables)."""
    elements = dml_returning(stmt)
    if not elements:
        return None
    if len(elements) == 1 and entity_of(elements[0]) is mapper:
        return mapper
    raise InvalidRequestError(
        f"Can't {verb} {mapper.class_.__name__} RETURNING {', '.join(map(str, elements))}: "
        f"its rows are spread over the tables {', '.join(t.name for t in mapper.tables)}; "
        f"use .returning({mapper.class_.__name__}) for the objects, or select the columns "
        "afterwards"
    )


def _objects_by_key(session: SessionBase, mapper: Mapper, idents: list[tuple[Any, ...]],
                    populate_existing: bool, options: Sequence[Any] = ()) -> Any:
    """The objects of ``idents`` (in that order), loaded through the identity map."""
    pk = list(mapper.primary_key)
    crit = pk[0].in_([k[0] for k in idents]) if len(pk) == 1 else tuple_(*pk).in_(idents)
    stmt: Any = select(mapper.class_).where(crit).options(*options)
    if populate_existing:
        stmt = stmt.execution_options(populate_existing=True)
    found = {}
    for obj in session.execute(stmt, execution_options={"autoflush": False}).scalars():
        found[tuple(obj.__dict__["_dm_state"].identity)] = obj
    objs = [found.get(k) for k in idents]
    return IteratorResult(SimpleResultMetaData([mapper.class_.__name__]), iter(objs),
                          _source_supports_scalars=True)


def _returned_by_key(session: SessionBase, mapper: Mapper, idents: list[tuple[Any, ...]],
                     elements: Sequence[Any], populate_existing: bool,
                     options: Sequence[Any] = ()) -> Any:
    """``.returning(...)`` of columns, expressions or entities of a joined subclass
    whose rows were just inserted into several tables: the elements read back by
    key, a row per key of ``idents`` in that order."""
    keys = [getattr(mapper.class_, a) for a in _joined(mapper).tables[0].pk_attrs]
    n = len(keys)
    crit = keys[0].in_([k[0] for k in idents]) if n == 1 else tuple_(*keys).in_(idents)
    stmt: Any = select(*[k.label(f"_dm_rk_{i}") for i, k in enumerate(keys)], *elements
                       ).where(crit).options(*options)
    if populate_existing:
        stmt = stmt.execution_options(populate_existing=True)
    result = session.execute(stmt, execution_options={"autoflush": False})
    names = list(result.keys())[n:]
    found = {tuple(row[:n]): tuple(row[n:]) for row in result}
    rows = [found[k] for k in idents if k in found]
    return IteratorResult(SimpleResultMetaData(names), iter(rows))


# -- UPDATE by primary key ------------------------------------------------------------------
def update_by_pk_joined(session: SessionBase, mapper: Mapper, params: Sequence[Any],
                        bind: object, opts: dict[str, Any], merged: dict[str, Any],
                        extra: list[dict[str, Any]] | None = None) -> int:
    """An UPDATE per table for the dictionaries (attribute names, whole primary key)
    that give values of its columns, or whose table the statement's values()
    (``extra``, per table) set; the number of rows matched in the base table."""
    info = _joined(mapper)
    _check_names(mapper, info, params, "bulk UPDATE")
    base = info.tables[0]
    for i, d in enumerate(params):
        missing = [a for a in base.pk_attrs if d.get(a) is None]
        if missing:
            raise InvalidRequestError(
                f"Can't bulk UPDATE {mapper.class_.__name__} by primary key: dictionary #{i} "
                f"({d!r}) has no value for primary key attribute(s) {', '.join(missing)}; "
                "every dictionary must carry the whole primary key"
            )
    if merged.get("autoflush", True):
        session._autoflush()
    rowcount = 0
    for i, t in enumerate(info.tables):
        pk_attrs = set(t.pk_attrs)
        set_here = extra[i] if extra else None
        update = t.update_by_pk.values(set_here) if set_here else t.update_by_pk
        batch = []
        for d in params:
            p = {ck: d[ak] for ak, ck in t.key_of.items() if ak in d and ak not in pk_attrs
                 and not (set_here and ck in set_here)}
            if not p and not set_here:
                continue
            for a, c in zip(t.pk_attrs, t.pk_cols, strict=True):
                v = d.get(a)
                if v is None:  # the key attribute of this table named otherwise
                    v = next((d.get(b) for b, s in t.sync if s == a), None)
                p[PK_PREFIX + c.key] = v
            batch.append(p)
        for run in _runs(batch):
            result = session._run(update, run if len(run) > 1 else run[0], bind, opts)
            if t is base:
                rowcount += max(result.rowcount, 0)
    return rowcount


# -- UPDATE / DELETE with criteria ----------------------------------------------------------
def retarget(mapper: Mapper, stmt: Any) -> Any:
    """``update(Manager)...`` / ``delete(Manager)...`` as the statement on one table
    (see the module docstring)."""
    pairs = dml_values(stmt) if stmt.is_update else []
    props = [_value_prop(mapper, k) for k, _v in pairs]
    target = _update_table(mapper, props) if stmt.is_update else mapper.local_table
    if _returned_entity(mapper, stmt, "UPDATE" if stmt.is_update else "DELETE") is not None:
        raise InvalidRequestError(
            f"Can't return {mapper.class_.__name__} objects from this statement: it "
            f"changes only the {target.name} table; select them afterwards"
        )
    same = _same_value_columns(mapper, target)

    def swap(elem: object) -> Any:
        if isinstance(elem, (SelectBase, ScalarSelect, FromClause)):
            return elem  # a subquery reads its own FROM: left as written
        return same.get(elem)

    out = target.update() if stmt.is_update else target.delete()
    where = _target_where(mapper, target, [_replace(w, swap) for w in dml_where(stmt)])
    if where:
        out = out.where(*where)
    if pairs:
        cols = []
        for (_k, v), prop in zip(pairs, props, strict=True):
            col = next(c for c in prop.columns if getattr(c, "table", None) is target)
            cols.append((col, v))
        out = out.ordered_values(*cols) if dml_values_ordered(stmt) \
            else out.values(dict(cols))
    returning = dml_returning(stmt)
    if returning:
        out = out.returning(*[_replace(r, swap) for r in returning])
    opts = stmt.get_execution_options()
    if opts:
        out = out.execution_options(**opts)
    return out


def _update_table(mapper: Mapper, props: list[Any]) -> Any:
    """The one table of ``mapper``'s hierarchy holding a column of every property an
    UPDATE sets (the most derived such table); refused when there is none."""
    tables = mapper.tables
    candidates = [t for t in reversed(tables)
                  if all(any(getattr(c, "table", None) is t for c in p.columns)
                         for p in props)]
    if not candidates:
        raise InvalidRequestError(
            f"Can't UPDATE {mapper.class_.__name__} with values for columns of several of "
            f"its tables ({', '.join(t.name for t in tables)}) in one statement; run one "
            "UPDATE per table, or update the objects and flush"
        )
    return candidates[0]


def _same_value_columns(mapper: Mapper, target: object) -> dict[Any, Any]:
    """A column of another table mapped by the same attribute as one of ``target``'s
    holds the same value (the tables are joined on them): column -> ``target``'s."""
    same: dict[Any, Any] = {}
    for prop in mapper.column_attrs.values():
        mine = next((c for c in prop.columns if getattr(c, "table", None) is target), None)
        if mine is not None:
            for c in prop.columns:
                if c is not mine:
                    same[c] = mine
    return same


def _target_where(mapper: Mapper, target: Any, where: list[Any]) -> list[Any]:
    """The WHERE of the statement on ``target``: ``where`` as it is, or, when it reads
    the hierarchy's other tables (or ``target`` is not the mapper's own), an EXISTS
    of the joined tables correlated to ``target``."""
    others = [t for t in mapper.tables if t is not target]
    if target is mapper.local_table and not any(_reads(w, others) for w in where):
        return where
    conds = [m.inherit_condition for m in mapper.iterate_to_root()
             if m.inherit_condition is not None and not m.single]
    sub: Any = select(literal_column("1")).where(*conds, *where).correlate(target)
    return [sub.exists()]


def _replace(clause: Any, fn: Any) -> Any:
    out: Any = visitors.replacement_traverse(clause, {}, fn)
    return out


def _reads(clause: Any, tables: list[Any]) -> bool:
    return any(isinstance(e, Column) and e.table in tables for e in visitors.iterate(clause))


def _value_prop(mapper: Mapper, key: object) -> Any:
    if isinstance(key, str):
        prop = mapper.column_attrs.get(key)
        if prop is None:
            for t in mapper.tables:
                c = t.c.get(key)
                if c is not None:
                    prop = mapper._col_to_prop.get(c)
                    break
    elif getattr(key, "parent", None) is not None and hasattr(key, "prop"):
        prop = key.prop
    else:
        prop = mapper._col_to_prop.get(key)
    if prop is None or not hasattr(prop, "columns"):
        raise InvalidRequestError(
            f"Can't UPDATE {mapper.class_.__name__}: values() names {key!r}, which is not a "
            f"mapped column attribute; use the names {', '.join(sorted(mapper.column_attrs.keys()))}"
        )
    return prop
