"""What the dictionaries given to ORM DML and the 1.x bulk methods mean for a mapped
class: attribute names to columns, the parameter sets of INSERT and of UPDATE by
primary key (batched by their keys), the version check of a versioned class, and
the ``dml_strategy`` execution option.  Every name and dictionary is checked here,
before any SQL is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, and_, bindparam
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from ..exc import ArgumentError, InvalidRequestError, StaleDataError
from ..mapping.cache import CacheSlot
from ..mapping.composite import expand_composite_dict
from ..mapping.mapper import Mapper

if TYPE_CHECKING:
    pass


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


def bind_names(stmt: object) -> frozenset[str]:
    """The names of the bind parameters ``stmt`` names itself (``bindparam("q")`` in
    its values() or WHERE clause): a dictionary of an executemany may give them."""
    if stmt is None:
        return frozenset()
    return frozenset(e.key for e in visitors.iterate(stmt)  # type: ignore[arg-type]  # any statement is a Core element
                     if isinstance(e, BindParameter) and not e.unique)


def _insert_params(mapper: Mapper, rows: Sequence[Any], render_nulls: bool,
                   verb: str = "bulk INSERT", stmt: object = None) -> list[dict[str, Any]]:
    """Each dictionary's attribute names as column keys (None left out unless
    ``render_nulls``); a name that is not a mapped column (nor a bind parameter
    ``stmt`` names) is refused."""
    cols = _columns(mapper)
    same = cols.same
    key_of = cols.key_of
    dropped = () if render_nulls else cols.none_dropped
    version_key = cols.version_key
    gen = mapper.version_id_generator if version_key is not None else None
    identity = _discriminator(mapper, cols)
    composites = cols.composites
    named: frozenset[str] | None = None  # the statement's own bind names (when needed)
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
                if named is None:
                    named = bind_names(stmt)
                if not d.keys() - key_of.keys() <= named:
                    raise _unknown_keys(mapper, cols, d, i, verb)
            p = {key_of.get(k, k): v for k, v in d.items() if not drop or k not in drop}
        if version_key is not None and callable(gen) and p.get(version_key) is None:
            p = {**p, mapper.version_id_col.key: gen(None)}  # type: ignore[union-attr]  # version_key is set only when the mapper has a version_id_col
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


def _update_params(mapper: Mapper, rows: Sequence[Any], verb: str = "bulk UPDATE",
                   stmt: object = None) -> list[dict[str, Any]]:
    """Each dictionary as {column key: new value, PK_PREFIX+key column: key value}
    (the names of bind parameters ``stmt`` names itself pass as they are); a
    dictionary without its whole primary key is refused, naming it."""
    cols = _columns(mapper)
    named: frozenset[str] | None = None
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
            if named is None:
                named = bind_names(stmt)
            if not d.keys() - key_of.keys() <= named:
                raise _unknown_keys(mapper, cols, d, i, verb)
        p = {}
        for k, v in d.items():
            ck = key_of.get(k, k)
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


_STRATEGIES = {"insert": ("auto", "orm", "bulk", "raw"),
               "update": ("auto", "orm", "bulk", "core_only"),
               "delete": ("auto", "orm", "core_only")}


def dml_strategy(stmt: Any, mapper: Mapper, given: object, params: Any) -> str:
    """The ``dml_strategy`` execution option of an ORM INSERT/UPDATE/DELETE, checked and
    with ``"auto"`` decided: ``"bulk"`` (a row per dictionary: an INSERT, an UPDATE by
    primary key) for a list of dictionaries, else ``"orm"`` (one statement, the
    session's objects synchronized; with a list, Core's executemany of it); ``"raw"``
    (INSERT) and ``"core_only"`` (UPDATE/DELETE) run the statement as Core would,
    leaving the session's objects alone."""
    verb = "insert" if stmt.is_insert else "update" if stmt.is_update else "delete"
    name = mapper.class_.__name__
    choices = _STRATEGIES[verb]
    if given not in choices:
        if verb == "delete" and given == "bulk":
            raise InvalidRequestError(
                f"Can't DELETE {name} with dml_strategy='bulk': there is no bulk DELETE "
                "by primary key; use delete(...).where(Class.id.in_(keys)), or "
                "dml_strategy='orm' to run the statement once per dictionary")
        raise ArgumentError(
            f"Can't run this {verb.upper()} of {name} with dml_strategy={given!r}: the "
            f"strategies for {verb.upper()} are {', '.join(repr(c) for c in choices)}")
    many = (isinstance(params, (list, tuple)) and len(params) > 0)
    if given == "bulk" and not (many or (verb == "insert" and isinstance(params, dict))):
        raise InvalidRequestError(
            f"Can't {verb.upper()} {name} with dml_strategy='bulk' without parameters: "
            "pass the rows as a list of dictionaries, "
            f"session.execute({verb}({name}), [{{...}}, ...])")
    if given != "auto":
        return str(given)
    if not many:
        return "orm"
    if verb == "delete" and len(params) > 1:
        raise InvalidRequestError(
            f"Can't run a bulk DELETE of {name} by a list of dictionaries: there is no "
            "DELETE by primary key; use delete(...).where(Class.id.in_(keys)), or "
            "execution_options(dml_strategy='orm') for one DELETE per dictionary"
        )
    return "bulk" if verb != "delete" else "orm"
