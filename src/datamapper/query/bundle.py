"""``Bundle``: several column expressions selected as one result value.

Callers: users (``select(Bundle("name", User.first, User.last))``) and
``entities.RowLayout``, which places a bundle's columns in the SELECT and reads
its value back from each row with a :class:`BundleReader`.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.elements import ClauseList, ColumnElement

from .._core import annotate, result_tuple
from ..mapping.coercion import BUNDLE_KEY


class Bundle:
    """Several column expressions selected as one result value, a named tuple of them:
    ``select(Bundle("name", User.first, User.last))`` gives rows whose ``name`` element
    has ``.first`` and ``.last``.  Override :meth:`create_row_processor` to build
    something else from the columns (a dict, an object).  ``single_entity=True``: a
    Query of the bundle alone returns the values themselves, not rows."""

    single_entity = False
    is_bundle = True

    def __init__(self, name: Any, *exprs: Any, single_entity: bool | None = None) -> None:
        if not exprs:
            raise ArgumentError(f"Can't make Bundle {name!r} of no columns; pass column "
                                "expressions such as User.id")
        self.name = name
        self.exprs = exprs
        cols: list[Any] = []
        for e in exprs:
            col = e.__clause_element__() if hasattr(e, "__clause_element__") else e
            if isinstance(e, type) or not isinstance(col, ColumnElement):
                raise ArgumentError(
                    f"Can't put {e!r} in Bundle {name!r}: a bundle holds column expressions "
                    "(User.name, func.count(...)), not classes or tables"
                )
            cols.append(col)
        self._columns = cols
        self.keys = [getattr(e, "key", None) or getattr(c, "key", None) or f"col{i}"
                     for i, (e, c) in enumerate(zip(exprs, cols, strict=True))]
        self.c = self.columns = _BundleColumns(dict(zip(self.keys, cols, strict=True)))
        if single_entity is not None:
            self.single_entity = single_entity

    def label(self, name: Any) -> Bundle:
        """The same bundle under another name."""
        other = self.__class__.__new__(self.__class__)
        other.__dict__.update(self.__dict__)
        other.name = name
        return other

    def create_row_processor(self, query: Any, procs: list[Any], labels: list[str]) -> Any:
        """``proc(row)``: this bundle's value for one result row; ``procs`` read each of
        its columns from the row, ``labels`` are the column names."""
        make = result_tuple(labels)

        def proc(row: Any) -> Any:
            return make([p(row) for p in procs])

        return proc

    def __clause_element__(self) -> Any:
        # marked with the bundle: a Core select() of it names the bundle in its rows
        return annotate(ClauseList(*self._columns, group=False), {BUNDLE_KEY: self})

    def __repr__(self) -> str:
        return f"Bundle({self.name!r}, {', '.join(self.keys)})"


class _BundleColumns:
    """``bundle.c``: its column expressions by name (``bundle.c.id``, ``bundle.c["id"]``,
    iteration in order)."""

    __slots__ = ("_cols",)

    def __init__(self, cols: dict[str, Any]) -> None:
        self._cols = cols

    def __getattr__(self, key: str) -> Any:
        try:
            return self._cols[key]
        except KeyError:
            raise AttributeError(
                f"the bundle has no column {key!r}; its columns are {', '.join(self._cols)}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._cols[key]

    def __iter__(self) -> Any:
        return iter(self._cols.values())

    def __len__(self) -> int:
        return len(self._cols)

    def keys(self) -> list[str]:
        return list(self._cols)


class BundleReader:
    """Where a bundle's columns sit in a row and how its value is made from them."""

    __slots__ = ("bundle", "offset", "width", "read")

    def __init__(self, bundle: Bundle, offset: int) -> None:
        self.bundle = bundle
        self.offset = offset
        self.width = len(bundle._columns)
        if type(bundle).create_row_processor is Bundle.create_row_processor and self.width > 1:
            # the default processor, as one step: the columns picked in one call
            pick = itemgetter(*range(offset, offset + self.width))
            make = result_tuple(list(bundle.keys))
            self.read = lambda row: make(pick(row))
        else:
            procs = [itemgetter(offset + i) for i in range(self.width)]
            self.read = bundle.create_row_processor(None, procs, list(bundle.keys))
