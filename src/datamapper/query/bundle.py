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
        # a composite attribute (Edge.start): a nested reader giving its objects
        exprs = tuple(e.reader() if getattr(getattr(e, "prop", None), "is_composite", False)
                      else e for e in exprs)
        self.exprs = exprs
        cols: list[object] = []  # every column selected, a nested bundle's in its place
        self.keys: list[str] = []
        named: dict[str, object] = {}
        for i, e in enumerate(exprs):
            if _nested(e):  # nested: its value is one element of this one's
                cols.extend(e.bundle_columns())
                key = str(e.name)
                named[key] = e
                self.keys.append(key)
                continue
            col = e.__clause_element__() if hasattr(e, "__clause_element__") else e
            if isinstance(e, type) or not isinstance(col, ColumnElement):
                raise ArgumentError(
                    f"Can't put {e!r} in Bundle {name!r}: a bundle holds column expressions "
                    "(User.name, func.count(...)) and other bundles, not classes or tables"
                )
            cols.append(col)
            key = getattr(e, "key", None) or getattr(col, "key", None) or f"col{i}"
            named[key] = col
            self.keys.append(key)
        self._columns: list[Any] = cols
        self.c = self.columns = _BundleColumns(named)
        if single_entity is not None:
            self.single_entity = single_entity

    def _over(self, columns: list[Any]) -> Bundle:
        """The same bundle (class, name, keys, nesting) whose columns are ``columns``, in
        order: the columns of a subquery or union that selected this bundle."""
        it = iter(columns)
        exprs: list[object] = []
        for e in self.exprs:
            if _nested(e):
                exprs.append(e._over([next(it) for _ in e._columns]))
            else:
                exprs.append(next(it))
        other = self.__class__.__new__(self.__class__)
        other.__dict__.update(self.__dict__)
        Bundle.__init__(other, self.name, *exprs, single_entity=self.single_entity)
        other.keys = list(self.keys)
        return other

    def label(self, name: Any) -> Bundle:
        """The same bundle under another name."""
        other = self.__class__.__new__(self.__class__)
        other.__dict__.update(self.__dict__)
        other.name = name
        return other

    def bundle_columns(self) -> list[Any]:
        """Every column the bundle selects, nested bundles' included, in order."""
        return self._columns

    def create_row_processor(self, query: object, procs: list[Any], labels: list[str]) -> Any:
        """``proc(row)``: this bundle's value for one result row; ``procs`` read each of
        its columns from the row, ``labels`` are the column names."""
        make = result_tuple(labels)

        def proc(row: object) -> Any:
            return make([p(row) for p in procs])

        return proc

    def __clause_element__(self) -> Any:
        # marked with the bundle: a Core select() of it names the bundle in its rows
        return annotate(ClauseList(*self._columns, group=False), {BUNDLE_KEY: self})

    def __repr__(self) -> str:
        return f"Bundle({self.name!r}, {', '.join(self.keys)})"


class DictBundle(Bundle):
    """A :class:`Bundle` whose value is a dict of its columns by name (nested bundles
    in their place): ``select(DictBundle("pt", Point.x, Point.y))`` gives rows whose
    ``pt`` element is ``{"x": ..., "y": ...}``.  Its columns need distinct names."""

    def __init__(self, name: Any, *exprs: Any, single_entity: bool | None = None) -> None:
        super().__init__(name, *exprs, single_entity=single_entity)
        seen: set[str] = set()
        for key in self.keys:
            if key in seen:
                raise ArgumentError(
                    f"DictBundle does not support duplicate column names: {name!r} holds "
                    f"two columns named {key!r}; label one of them "
                    f"(e.g. Other.{key}.label('other_{key}')) or use Bundle")
            seen.add(key)

    def create_row_processor(self, query: object, procs: list[Any], labels: list[str]) -> Any:
        """``proc(row)``: a dict of this bundle's values by column name."""
        pairs = list(zip(labels, procs, strict=True))

        def proc(row: object) -> Any:
            return {label: p(row) for label, p in pairs}

        return proc


def _nested(e: object) -> bool:
    """A bundle inside a bundle (or a composite attribute's reader)."""
    return isinstance(e, Bundle) or getattr(e, "is_bundle", False) is True


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
        self.width = len(bundle.bundle_columns())
        nested = any(_nested(e) for e in bundle.exprs)
        if type(bundle).create_row_processor is Bundle.create_row_processor \
                and self.width > 1 and not nested:
            # the default processor, as one step: the columns picked in one call
            pick = itemgetter(*range(offset, offset + self.width))
            make = result_tuple(list(bundle.keys))
            self.read = lambda row: make(pick(row))
        else:
            # one reader per element: a column's value, or a nested bundle's
            procs: list[object] = []
            at = offset
            for e in bundle.exprs:
                if _nested(e):
                    inner = BundleReader(e, at)
                    procs.append(inner.read)
                    at += inner.width
                else:
                    procs.append(itemgetter(at))
                    at += 1
            self.read = bundle.create_row_processor(None, procs, list(bundle.keys))
