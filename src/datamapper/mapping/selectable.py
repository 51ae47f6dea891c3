"""Mapping a class to a selectable that is not a Table: a join of tables, or a SELECT.

Called by :class:`~datamapper.mapping.mapper.Mapper` while it is constructed.

- **a join** (``mapper(cls, users.join(addresses))``): ``local_table`` and
  ``persist_selectable`` are the Join; the mapper's ``tables`` are the joined
  tables in foreign-key order (a referred-to table before the table referring
  to it); an attribute may map columns of several tables
  (``properties={'id': [users.c.id, addresses.c.user_id]}``: one value written
  to both).  An object is one row in each table: the flush writes them the way
  it writes the tables of a joined-table inheritance chain (INSERT in table
  order, UPDATE of the tables whose columns changed, DELETE in reverse order),
  through the same per-table :class:`~.inheritance.TablePart`.
- **a SELECT** (``mapper(cls, select(t).where(...).subquery())``; a plain
  Select is made a subquery): queries read through the subquery; the columns
  of the underlying tables it selects unchanged map to the same attributes, so
  a flush writes those tables (each table whose whole primary key the SELECT
  includes).

The primary key is the selectable's own (a join's: the key columns of its
tables, less those the ON clause equates to another key column) unless
``primary_key=`` names columns.  Such a mapper gets a
:class:`~.inheritance.PolymorphicInfo` without a discriminator: the query and
flush layers then take the paths that read and write several tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Table
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.schema import sort_tables
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql import visitors
from sqlalchemy.sql.selectable import FromClause, Join, Select, TableClause

if TYPE_CHECKING:
    from .mapper import Mapper
    from .properties import ColumnProperty


def coerce(class_: type, local_table: object) -> Any:
    """The FROM clause ``class_`` is mapped to: a Table, a Join, a subquery (a plain
    Select becomes one).  Anything else raises."""
    if isinstance(local_table, Select):
        return local_table.subquery()
    if not isinstance(local_table, FromClause):
        raise ArgumentError(
            f"Can't map {class_.__name__}: it needs a Table, a join of Tables or a "
            f"SELECT (subquery) to map to (got {local_table!r}); give __tablename__ "
            "with Columns, __table__, or mapper(cls, table_or_join_or_subquery)"
        )
    return local_table


def describe(sel: object) -> str:
    """A name for ``sel`` in messages and plans: a table's name, ``a JOIN b``, or the
    subquery's name."""
    if isinstance(sel, Table):
        return str(sel.name)
    if isinstance(sel, Join):
        return f"{describe(sel.left)} JOIN {describe(sel.right)}"
    name = getattr(sel, "name", None)
    return str(name) if name else "(SELECT)"


def setup(mapper: Mapper) -> None:
    """``mapper.tables`` of a join- or select-mapped mapper: the tables its columns
    come from, referred-to tables first."""
    sel = mapper.local_table
    found: list[Any] = []
    for t in sql_util.find_tables(sel, include_aliases=False):
        if isinstance(t, TableClause) and t not in found:  # Tables, lightweight table()s
            found.append(t)
    if all(isinstance(t, Table) for t in found):
        found = list(sort_tables(found))
    mapper.tables = found


def add_column_lineage(mapper: Mapper, prop: ColumnProperty) -> None:
    """A column of a subquery also stands for the table column it selects: the flush
    writes that column, and ``primary_key=``/``version_id_col=`` may name it."""
    for c in prop.columns:
        for base in getattr(c, "proxy_set", ()):
            mapper._col_to_prop.setdefault(base, prop)


def check_combined(mapper: Mapper, key: str, existing: ColumnProperty, col: Any) -> None:
    """Two columns of a join with the same key would be combined into one attribute
    silently: refused, as the values of unrelated columns are not one value."""
    first = existing.columns[0]
    if first.shares_lineage(col):
        return
    vcol = getattr(mapper, "version_id_col", None)  # (not set yet while properties are built)
    if vcol is not None and (first is vcol or col is vcol):
        return
    raise InvalidRequestError(
        f"Can't map {mapper.class_.__name__}.{key}: columns {first} and {col} of "
        f"{describe(mapper.local_table)} both have the name {key!r}, and one attribute "
        "can't map both unasked; name them in properties= (e.g. "
        f"properties={{{key!r}: [{first}, {col}]}} for one attribute holding one value "
        f"written to both, or properties={{'{col.table.name}_{key}': {col}}} for an "
        "attribute of its own)"
    )


def check_primary_key(mapper: Mapper, cols: list[Any]) -> None:
    if not cols:
        raise ArgumentError(
            f"Can't map {mapper.class_.__name__} to {_what(mapper.local_table)}: could not "
            "assemble any primary key columns (no column of it is a primary key column "
            "of its table); pass primary_key=[columns] naming the columns that identify a "
            "row (e.g. __mapper_args__={'primary_key': [...]})"
        )


def _what(selectable: Any) -> str:
    """``selectable`` in a message: an unnamed alias by its columns (its name is Core's
    anonymous label, which reads as ``%(1234 anon)s``)."""
    name = getattr(selectable, "name", None)
    if isinstance(name, str) and name.startswith("%("):
        cols = ", ".join(getattr(selectable, "c", {}).keys())
        return f"an unnamed {type(selectable).__name__.lower()} of the columns {cols}"
    return describe(selectable)


def sync_pairs(mapper: Mapper, table: object) -> tuple[tuple[str, str], ...]:
    """(attribute, attribute) for each foreign key column of ``table`` the join's ON
    clause equates to a column of another of its tables, mapped by another attribute:
    the referred-to row's value is copied into the referring row before its INSERT."""
    sel = mapper.local_table
    if not isinstance(sel, Join):
        return ()
    pairs: list[tuple[str, str]] = []

    def visit(binary: Any) -> None:
        left, right = binary.left, binary.right
        if not (isinstance(left, Column) and isinstance(right, Column)):
            return
        if right.table is table and left.table is not table:
            left, right = right, left
        if left.table is not table or right.table is table or not left.references(right):
            return
        src = mapper._col_to_prop.get(right)
        dest = mapper._col_to_prop.get(left)
        if src is not None and dest is not None and src.key != dest.key \
                and (src.key, dest.key) not in pairs:
            pairs.append((src.key, dest.key))

    def walk(j: object) -> None:
        if isinstance(j, Join):
            walk(j.left)
            walk(j.right)
            if j.onclause is not None:
                visitors.traverse(j.onclause, {}, {"binary": visit})

    walk(sel)
    return tuple(pairs)


def table_columns(mapper: Mapper, prop: ColumnProperty, table: object) -> list[Any]:
    """The columns of ``table`` that ``prop`` writes (through a subquery's columns)."""
    out: list[object] = []
    for c in prop.columns:
        for base in getattr(c, "proxy_set", (c,)):
            if getattr(base, "table", None) is table and isinstance(base, Column) \
                    and base not in out:
                out.append(base)
    return out
