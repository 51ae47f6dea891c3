"""``composite()``: one attribute made of several columns, read and written as an object
of a class of the program's (a dataclass, or a class with ``__composite_values__()``).

``start: Mapped[Point] = composite(mapped_column("x1"), mapped_column("y1"))`` maps the
columns ``x1`` and ``y1`` (also as attributes of their own) and makes ``vertex.start``
read as ``Point(x1, y1)``; assigning a Point writes both columns.  On the class,
``Vertex.start == Point(3, 4)`` compares column by column (``<``, ``>=``... too, each
column against its value) and ``select(Vertex.start)`` returns Point objects.

The Point is built anew on every read from the columns' current values, so a change
made to it in place is not the attribute's value: assign a new Point instead.
"""

from __future__ import annotations

import dataclasses
import inspect as pyinspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import Column, and_, or_
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql.elements import ClauseElement, ClauseList, ColumnElement
from sqlalchemy.sql.operators import (
    asc_op,
    desc_op,
    eq,
    ge,
    gt,
    le,
    lt,
    ne,
    nulls_first_op,
    nulls_last_op,
)

from .._core import annotate, annotations_of, ordering_list
from .coercion import BUNDLE_KEY, bound_value
from .properties import MapperProperty, PropComparator, _with_dataclass_options

if TYPE_CHECKING:
    from .attributes import QueryableAttribute
    from .declarative import MappedColumn

__all__ = ["Composite", "CompositeProperty", "composite"]

_COMPARISONS = {eq: None, ne: None, lt: None, le: None, gt: None, ge: None}


def composite(class_: Any = None, *attrs: Any, **kw: Any) -> Any:
    """Map several columns as one attribute holding an object of ``class_`` (see the
    module documentation).  ``attrs``: ``mapped_column()``s, Columns, mapped attributes
    or their names; ``class_`` may be left out when the ``Mapped[...]`` annotation
    names it, and a dataclass's missing columns are made from its fields
    (``column_template="home_%s"`` names them)."""
    rest = {k: v for k, v in kw.items()
            if k not in ("init", "repr", "default", "default_factory", "compare",
                         "kw_only", "hash", "dataclass_metadata")}
    return _with_dataclass_options(CompositeProperty(class_, *attrs, **rest), kw)


_NOT_GIVEN: Any = object()

# the classes composite() attributes hold: session.get(Graph, Version(1, 2)) takes one
# of them as the primary key's values
COMPOSITE_CLASSES: set[type] = set()


def composite_values(value: object) -> list[Any] | None:
    """The column values of a composite object (a dataclass's fields, or what its
    ``__composite_values__()`` returns), or None for an object of neither kind."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    getter = getattr(value, "__composite_values__", None)
    return list(getter()) if getter is not None else None


class CompositeProperty(MapperProperty):
    """The configuration of a ``composite()`` attribute."""

    is_composite = True
    # the default comparator_factory (set below the class CompositeComparator)
    Comparator: ClassVar[type[CompositeComparator]]

    def __init__(
        self,
        class_: object = None,
        *attrs: object,
        return_none_on: Any = _NOT_GIVEN,
        column_template: str | None = None,
        active_history: bool = False,
        deferred: bool = False,
        group: str | None = None,
        comparator_factory: Any = None,
        info: dict[object, object] | None = None,
        doc: str | None = None,
    ) -> None:
        if class_ is not None and not isinstance(class_, type) and not callable(class_):
            attrs = (class_, *attrs)
            class_ = None
        # the class of the program's whose objects the attribute holds
        self.composite_class: Any = class_
        if isinstance(class_, type):
            COMPOSITE_CLASSES.add(class_)
        self.attrs: tuple[object, ...] = attrs
        # None given explicitly: always build the object, even for an Optional annotation
        self._return_none_on_given = return_none_on is not _NOT_GIVEN
        self.return_none_on: Callable[..., bool] | None = (
            return_none_on if return_none_on is not _NOT_GIVEN else None)
        self.column_template = column_template
        self.active_history = active_history
        self.deferred = deferred
        self.group = group
        # the class whose instances give the attribute's SQL (a subclass of
        # Composite.Comparator adds methods or overrides operators)
        self.comparator_factory: Any = (comparator_factory if comparator_factory is not None
                                        else CompositeComparator)
        self.info = info if info is not None else {}
        self.doc = doc
        if column_template is not None and column_template.count("%s") != 1:
            raise ArgumentError(
                f"Can't use column_template {column_template!r} for a composite: it must "
                "contain exactly one %s, where each field's name goes")
        self._keys: list[str] | None = None

    # ----------------------------------------------------------------- resolution
    @property
    def attribute_keys(self) -> list[str]:
        """The mapped attribute names of the composite's columns, in order."""
        if self._keys is None:
            self._keys = [self._key_of(a) for a in self.attrs]
        return self._keys

    def _key_of(self, attr: object) -> str:
        mapper = self.parent
        if isinstance(attr, str):
            if attr not in mapper._props:
                raise ArgumentError(
                    f"Can't map composite {self._where()}: {mapper.class_.__name__} has no "
                    f"mapped attribute {attr!r}")
            return attr
        if isinstance(attr, MapperProperty) and getattr(attr, "parent", None) is mapper:
            return str(attr.key)  # a column property the declarative scan made for it
        column = getattr(attr, "column", None) if not isinstance(attr, Column) else attr
        if column is not None and column in mapper._col_to_prop:
            return str(mapper._col_to_prop[column].key)
        key = getattr(attr, "key", None)
        if key is not None and getattr(attr, "prop", None) is not None:
            return str(key)
        raise ArgumentError(
            f"Can't map composite {self._where()}: {attr!r} is not a mapped column of "
            f"{mapper.class_.__name__}; pass mapped_column()s, Columns of its table, or "
            "names of its mapped attributes")

    @property
    def columns(self) -> list[Any]:
        """The SQL of each part: its column, or (a composite made of a many-to-one
        relationship and columns) the relationship's class attribute."""
        mapper = self.parent
        props = mapper._props
        return [props[k].columns[0] if props[k].is_column else getattr(mapper.class_, k)
                for k in self.attribute_keys]

    def _where(self) -> str:
        owner = getattr(getattr(self, "parent", None), "class_", None)
        return f"{owner.__name__}.{self.key}" if owner is not None else repr(self)

    def defer_columns(self) -> None:
        """``deferred=True``: its columns are deferred, in one group (``group``, else
        the composite's own), so that reading the composite loads them together
        (the mapper calls this when it compiles its load paths)."""
        group = self.group or self.key
        for key in self.attribute_keys:
            prop: Any = self.parent._props[key]
            prop.deferred = True
            if prop.group is None:
                prop.group = group

    # ----------------------------------------------------------------- values
    def construct(self, values: Sequence[object]) -> object:
        """The composite object for the columns' ``values`` (or None, see
        ``return_none_on``)."""
        if self.return_none_on is not None and self.return_none_on(*values):
            return None
        cls = self.composite_class
        if cls is None:
            raise InvalidRequestError(
                f"Can't build composite {self._where()}: no composite class; pass it to "
                "composite() or annotate the attribute Mapped[SomeClass]")
        return cast(object, cls(*values))

    def values_of(self, value: object) -> list[object]:
        """The column values of composite object ``value`` (None: every column None)."""
        if value is None:
            return [None] * len(self.attribute_keys)
        found = composite_values(value)
        if found is None:
            raise InvalidRequestError(
                f"Can't store {value!r} in composite {self._where()}: "
                f"{type(value).__name__} is not a dataclass and has no "
                "__composite_values__() method returning its column values")
        if len(found) != len(self.attribute_keys):
            raise InvalidRequestError(
                f"Can't store {value!r} in composite {self._where()}: it gives "
                f"{len(found)} values for {len(self.attribute_keys)} columns")
        return found

    # ----------------------------------------------------------------- SQL
    def comparator_for(self, attr: object = None, alias: object = None) -> Any:
        """The comparator (an instance of ``comparator_factory``) giving the SQL of the
        attribute: of the mapped class, or of an ``aliased()`` entity's columns."""
        if alias is not None:
            return self.comparator_factory(self, self.parent, alias)
        mapper = getattr(attr, "parent", None) or self.parent
        cache = self.__dict__.setdefault("_comparators", {})
        found = cache.get(mapper)
        if found is None:
            # a subclass's (Manager.start): the subclass's columns, so that a statement
            # naming it reads the subclass's rows
            found = cache[mapper] = self.comparator_factory(self, mapper)
        return found

    def clause_element(self, attr: QueryableAttribute) -> Any:
        # selected, the columns come back as one composite object per row (the same
        # mechanism as a Bundle)
        return self.comparator_for(attr).__clause_element__()

    def operate(self, attr: QueryableAttribute, op: Any, *other: object, **kw: object) -> Any:
        # through the comparator's own methods (a comparator_factory may override them)
        return op(self.comparator_for(attr), *other, **kw)

    def column_for_attr_delegation(self) -> None:
        return None

    def reader(self) -> _Reader:
        """What the query layer selects for the attribute (a Bundle-like reader)."""
        return _Reader(self, self.columns)

    def __repr__(self) -> str:
        name = getattr(self.composite_class, "__name__", None)
        return f"CompositeProperty({name or '?'})"

    # ----------------------------------------------------------------- declarative
    def _class_from_annotation(self, annotation_class: object) -> None:
        if annotation_class is None or not isinstance(annotation_class, type):
            raise ArgumentError(
                "Can't map a composite() without a class: pass it as the first argument "
                "or annotate the attribute Mapped[SomeClass]")
        self.composite_class = annotation_class
        COMPOSITE_CLASSES.add(annotation_class)

    def _dataclass_fields(self) -> list[tuple[str, object]]:
        """(name, annotated type) of each field of the composite class, a dataclass;
        empty for another class (which then can't take a ``column_template``)."""
        cls = self.composite_class
        if dataclasses.is_dataclass(cls):
            try:
                hints = pyinspect.get_annotations(cast(type, cls), eval_str=True)
            except Exception:  # noqa: BLE001  (unresolvable: no types derived)
                hints = {}
            return [(f.name, hints.get(f.name, f.type)) for f in dataclasses.fields(cls)]
        if self.column_template is not None:
            raise ArgumentError(
                f"Can't use column_template with composite class {cls.__name__}: it is "
                "not a dataclass, so it has no fields to name columns after")
        return []

    def _column_name(self, attr: MappedColumn[object], i: int, field_name: str | None) -> str:
        """The name of the composite's ``i``-th column: its own, else made from the
        dataclass field's (through ``column_template``)."""
        name: str | None = getattr(attr.column, "name", None)
        if name is not None:
            return name
        if field_name is None:
            raise ArgumentError(
                f"Can't map composite of {getattr(self.composite_class, '__name__', None)}: "
                f"column {i + 1} has no name and the class is not a dataclass to name it "
                "after; write mapped_column(\"name\")")
        return self.column_template % field_name if self.column_template else field_name

    def declare_columns(self, annotation_class: object, optional: bool,
                        make_column: Callable[[MappedColumn[object], str, object], Column[Any]],
                        own_values: Sequence[object]) -> list[tuple[str, Column[Any]]]:
        """For the declarative scan: fix the composite class from the annotation, and
        return ``(name, Column)`` for each column it declares itself (a
        ``mapped_column()`` inside it, or one made from a dataclass field), made with
        ``make_column(mapped_column, name, python_type)``.  ``own_values``: the class's
        own attribute values (a mapped_column() there is declared by the class)."""
        from .declarative import MappedColumn

        if self.composite_class is None:
            self._class_from_annotation(annotation_class)
        if optional and not self._return_none_on_given:
            self.return_none_on = _all_none
        cls = self.composite_class
        fields = self._dataclass_fields()
        if fields and len(self.attrs) > len(fields):
            raise ArgumentError(
                f"Can't map composite of {cls.__name__}: {len(self.attrs)} columns given "
                f"for its {len(fields)} fields")
        attrs = list(self.attrs)
        if fields:
            attrs += [None] * (len(fields) - len(attrs))
        made: list[tuple[str, Column[Any]]] = []
        own_ids = {id(v) for v in own_values}
        for i, attr in enumerate(attrs):
            field_name, field_type = fields[i] if i < len(fields) else (None, None)
            if attr is None:
                attr = MappedColumn((), {})
            if not isinstance(attr, MappedColumn) or id(attr) in own_ids:
                attrs[i] = attr
                continue
            name = self._column_name(attr, i, field_name)
            column = make_column(attr, name, field_type)
            attrs[i] = column
            made.append((name, column))
        self.attrs = tuple(attrs)
        return made


# ----------------------------------------------------------------- DML
def composite_named(mapper: Any, key: object) -> CompositeProperty | None:
    """The composite of ``mapper`` a DML key names (its attribute name, the class
    attribute, an ``aliased()`` one, or its selected form), or None."""
    if isinstance(key, str):
        prop = mapper._props.get(key)
    else:
        prop = getattr(key, "prop", None)
        if prop is None:
            reader = annotations_of(key).get(BUNDLE_KEY)
            prop = getattr(reader, "prop", None)
    return prop if isinstance(prop, CompositeProperty) else None


def expand_composite_pairs(mapper: Any, pairs: Any, columns: bool) -> list[tuple[Any, Any]]:
    """``(key, value)`` pairs of a DML statement with each pair naming a composite of
    ``mapper`` replaced by one pair per column (``columns``: the Column as the key,
    else the column's attribute name)."""
    out: list[tuple[Any, Any]] = []
    for key, value in pairs:
        prop = composite_named(mapper, key)
        if prop is None:
            out.append((key, value))
            continue
        plain = True
        if isinstance(value, ClauseElement) or hasattr(value, "__clause_element__"):
            plain, value = bound_value(value)  # (a bound parameter holding the object)
        if not plain:
            raise ArgumentError(
                f"Can't write composite {prop._where()} from {value!r}: give an object of "
                f"{getattr(prop.composite_class, '__name__', 'its class')} (or None), or "
                "SQL expressions for its columns one by one")
        keys = prop.columns if columns else prop.attribute_keys
        out.extend(zip(keys, prop.values_of(value), strict=True))
    return out


def expand_composite_dict(mapper: object, d: dict[Any, Any]) -> dict[Any, Any]:
    """A dictionary of attribute values with each composite's value given as its
    columns' (by attribute name)."""
    return dict(expand_composite_pairs(mapper, d.items(), False))


def _all_none(*values: object) -> bool:
    return all(v is None for v in values)


_ORDERING = {desc_op, asc_op, nulls_first_op, nulls_last_op}


class CompositeComparator(PropComparator[Any]):
    """The SQL of a composite attribute (``Composite.Comparator``): comparisons with an
    object of the composite class (or None) column by column, ordering by each column
    in turn, selection as composite objects.  ``comparator_factory=`` takes a subclass
    (one adding methods, or overriding ``desc()``...); ``self.clauses`` are the
    columns, those of the ``aliased()`` entity the comparator is for, if any."""

    __hash__ = None  # type: ignore[assignment]  # (== builds SQL, as on columns)

    def __init__(self, prop: CompositeProperty, parentmapper: Any = None,
                 adapt_to_entity: Any = None) -> None:
        self.prop = prop
        self._parentmapper = parentmapper if parentmapper is not None else prop.parent
        # an aliased() entity: the comparator names its columns
        self._adapt_to_entity = adapt_to_entity

    @property
    def _comparable_elements(self) -> list[Any]:
        columns = self.prop.columns
        alias = self._adapt_to_entity
        if alias is None:
            # the class's column attributes' SQL (marked as naming the class: a
            # subclass's, Manager.start, makes a statement read the subclass's rows)
            cls = self._parentmapper.class_
            return [getattr(cls, k).__clause_element__() if isinstance(c, ColumnElement)
                    else getattr(cls, k)
                    for c, k in zip(columns, self.prop.attribute_keys, strict=True)]
        return [alias._dm_column_for(c) if isinstance(c, ColumnElement) else getattr(alias, key)
                for c, key in zip(columns, self.prop.attribute_keys, strict=True)]

    @property
    def clauses(self) -> ClauseList:
        """The composite's columns (of the aliased entity, for one)."""
        return ClauseList(*self._comparable_elements, group=False)

    def reader(self, name: str | None = None) -> _Reader:
        """What the query layer selects for the attribute (a Bundle-like reader)."""
        return _Reader(self.prop, self._comparable_elements, name)

    def __clause_element__(self) -> Any:
        return self.expression

    @property
    def expression(self) -> Any:
        return annotate(self.clauses, {BUNDLE_KEY: self.reader()})

    def label(self, name: str | None) -> Any:
        """The composite selected under another name (``row.name``)."""
        return annotate(self.clauses, {BUNDLE_KEY: self.reader(name)})

    def operate(self, op: object, *other: Any, **kw: object) -> Any:
        columns = self._comparable_elements
        if op in _ORDERING:
            return ordering_list([op(c) for c in columns])
        if op not in _COMPARISONS:
            name = getattr(op, "__name__", repr(op))
            raise ArgumentError(
                f"Can't apply {name} to composite {self.prop._where()}: a composite "
                "compares with ==, !=, <, <=, >, >= against an object of its class (or "
                "None) and orders by asc()/desc()/nulls_first()/nulls_last()")
        (value,) = other
        values = self.prop.values_of(value)
        if value is None:
            if op is eq:
                return and_(*[c.is_(None) for c in columns])
            if op is ne:
                return or_(*[c.is_not(None) for c in columns])
        terms = [op(c, v) for c, v in zip(columns, values, strict=True)]
        return or_(*terms) if op is ne else and_(*terms)

    def reverse_operate(self, op: object, other: object, **kw: object) -> Any:
        if op in _COMPARISONS:  # Point(1, 2) < Edge.start: Edge.start > Point(1, 2)
            return self.operate(_REVERSED[op], other)
        return self.operate(op, other, **kw)

    def __repr__(self) -> str:
        return f"<comparator of composite {self.prop._where()}>"


_REVERSED = {eq: eq, ne: ne, lt: gt, gt: lt, le: ge, ge: le}


class _Reader:
    """What the query layer needs to read a selected composite: like a Bundle whose
    value is the composite object."""

    is_bundle = True
    single_entity = False

    def __init__(self, prop: CompositeProperty, columns: list[Any],
                 name: str | None = None) -> None:
        self.prop = prop
        self.name = name if name is not None else prop.key
        self._columns = columns
        self.keys = list(prop.attribute_keys)
        self.exprs = self._columns
        self.result_type = prop.composite_class

    def create_row_processor(self, query: object, procs: list[Callable[[object], object]],
                             labels: list[str]) -> Callable[[object], object]:
        construct = self.prop.construct

        def proc(row: object) -> object:
            return construct([p(row) for p in procs])

        return proc

    def bundle_columns(self) -> list[Any]:
        """The composite's columns, in order (as ``Bundle.bundle_columns()``)."""
        return self._columns

    def label(self, name: str) -> _Reader:
        return _Reader(self.prop, self._columns, name)

    def _over(self, columns: list[Any]) -> _Reader:
        """The same reader over other columns (of a subquery that selected it)."""
        return _Reader(self.prop, columns, self.name)

    def __repr__(self) -> str:
        return f"<composite {self.prop._where()}>"


CompositeProperty.Comparator = CompositeComparator
Composite = CompositeProperty  # the 2.x name
