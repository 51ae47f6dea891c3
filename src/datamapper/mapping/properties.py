"""Mapper properties: what a mapped attribute *is* (configuration only).

:class:`ColumnProperty` maps an attribute to one or more columns,
:class:`SynonymProperty` names another attribute, and the relationship
property lives in :mod:`.relationships`.  ``deferred``, ``column_property``,
``synonym`` and ``validates`` are the user-facing constructors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Column, null
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql.elements import ColumnElement, Label, Null
from sqlalchemy.sql.operators import ColumnOperators

from .._core import annotate
from .._util.inspection import InspectionAttr
from .coercion import mark_subject

if TYPE_CHECKING:
    from .attributes import QueryableAttribute
    from .mapper import Mapper



# annotation of a subclass's attribute column: the subclass's mapper.  A SELECT of
# Engineer.name differs from one of Person.name (the same column) by the rows it
# reads (query/subclass_rows.py, at compile time), so the two must differ in Core's
# cache key too, which the statement's plugin mark (mark_subject) is not part of.
SUBCLASS_KEY = "dm_subclass"

class MapperProperty(InspectionAttr):
    """Base of every mapped attribute's configuration."""

    is_property = True

    key: str
    parent: Mapper
    # the dataclass field options given to the property (mapped_column(init=False) ...),
    # set only when some were given
    _dm_dataclass: dict[str, Any]
    is_column = False
    is_relationship = False
    is_synonym = False

    def set_parent(self, mapper: Mapper, key: str) -> None:
        self.parent = mapper
        self.key = key

    def clause_element(self, attr: QueryableAttribute) -> Any:
        raise ArgumentError(f"{attr} is not a SQL expression")

    def operate(self, attr: QueryableAttribute, op: Any, *other: Any, **kw: Any) -> Any:
        return op(self.clause_element(attr), *other, **kw)

    def column_for_attr_delegation(self) -> None:
        return None

    def any_(self, criterion: object = None, **kw: object) -> Any:
        raise ArgumentError(f"any() applies to a one-to-many or many-to-many relationship, "
                            f"not to {self.parent.class_.__name__}.{self.key}")

    def has_(self, criterion: object = None, **kw: object) -> Any:
        raise ArgumentError(f"has() applies to a many-to-one relationship, "
                            f"not to {self.parent.class_.__name__}.{self.key}")


_T_co = TypeVar("_T_co", covariant=True)


class PropComparator(ColumnOperators, Generic[_T_co]):
    """The common base of the objects that give a mapped attribute its SQL operators
    (:class:`ColumnComparator`, the relationship's and the composite's comparators).

    A program subclasses it (``PropComparator[str]``), or one of those, for a
    ``comparator_factory=``: the comparator is made with the property, the mapper
    whose attribute it serves and, for an ``aliased()`` entity, that entity.  Every
    operator applies to what :meth:`__clause_element__` returns, which a direct
    subclass defines."""

    def __init__(self, prop: Any, parentmapper: Any = None,
                 adapt_to_entity: Any = None) -> None:
        self.prop = self.property = prop
        self.parentmapper = parentmapper
        self._adapt_to_entity = adapt_to_entity

    @property
    def info(self) -> dict[str, Any]:
        return self.prop.info  # type: ignore[no-any-return]

    def __clause_element__(self) -> Any:
        raise InvalidRequestError(
            f"{type(self).__name__} gives no SQL expression for the attribute "
            f"{getattr(self.prop, 'key', self.prop)!r}: a comparator subclassing "
            "PropComparator directly defines __clause_element__(), or subclasses "
            "ColumnProperty.Comparator, which uses the attribute's column")

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        return op(self.__clause_element__(), *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        return op(other, self.__clause_element__(), **kwargs)


class ColumnComparator(PropComparator[Any]):
    """How a column attribute compares in SQL (``ColumnProperty.Comparator``): the
    column's own operators.  A ``comparator_factory=`` subclass redefines some
    (``__eq__`` as a case-insensitive comparison, say) or adds methods, which the
    class attribute answers (``User.name.near(...)``)."""

    def __init__(self, prop: ColumnProperty, parentmapper: Any, attr: Any = None, *,
                 column: Any = None) -> None:
        self.prop = self.property = prop
        self.parentmapper = parentmapper
        self._attr = attr
        self._adapt_to_entity = None
        self._column = column  # an alias's column (aliased(User).name)

    def __clause_element__(self) -> Any:
        """The column (or SQL expression) the attribute stands for in statements."""
        if self._column is not None:
            return self._column
        if self._attr is not None:
            return self.prop.clause_element(self._attr)
        return self.prop.expression

    @property
    def expression(self) -> Any:
        return self.__clause_element__()

    @property
    def expressions(self) -> list[Any]:
        own = self.prop.expression
        return [self.__clause_element__(), *(c for c in self.prop.columns if c is not own)]


class ColumnProperty(MapperProperty):
    """An attribute backed by one or more table columns (or a read-only SQL expression)."""

    Comparator = ColumnComparator

    is_column = True
    # query_expression(): an attribute whose SQL a query gives with with_expression()
    is_query_expression = False

    def __init__(
        self,
        *columns: object,
        deferred: bool = False,
        group: str | None = None,
        active_history: bool = False,
        expire_on_flush: bool = True,
        info: dict[str, Any] | None = None,
        doc: str | None = None,
        raiseload: bool = False,
        comparator_factory: Any = None,
    ) -> None:
        if not columns:
            raise ArgumentError("column_property() needs at least one column or SQL expression")
        # a ColumnProperty.Comparator subclass: the attribute's SQL operators and methods
        self.comparator_factory: Any = comparator_factory
        self.columns: list[Any] = []
        for c in columns:
            if hasattr(c, "__clause_element__") and not isinstance(c, ColumnElement):
                c = c.__clause_element__()
            if hasattr(c, "scalar_subquery") and not isinstance(c, ColumnElement):
                c = c.scalar_subquery()
            self.columns.append(c)
        self.deferred = deferred
        # a deferred attribute that refuses to load on access (undefer it in the query)
        self.raiseload = raiseload
        self.group = group
        self.active_history = active_history
        self.expire_on_flush = expire_on_flush
        self.info = info or {}
        self.doc = doc

    @property
    def column(self) -> Any:
        return self.columns[0]

    def comparator_for(self, attr: Any) -> Any:
        """The comparator of ``attr`` (this property seen on a class or subclass): an
        instance of ``comparator_factory``, made once per attribute."""
        found = attr.__dict__.get("_dm_comparator")
        if found is None:
            factory = self.comparator_factory or ColumnComparator
            found = attr.__dict__["_dm_comparator"] = factory(self, attr.parent, attr)
        return found

    def operate(self, attr: Any, op: Any, *other: Any, **kw: Any) -> Any:
        if self.comparator_factory is not None:
            return op(self.comparator_for(attr), *other, **kw)
        return op(self.clause_element(attr), *other, **kw)

    # which of ``columns`` the attribute stands for in SQL: the first; for a joined-table
    # subclass's column named as an inherited attribute (``Manager.id`` mapping
    # ``person.id`` and ``manager.id``), the subclass table's (see
    # inheritance.extend_inherited_column)
    _expression_at = 0

    @property
    def expression(self) -> Any:
        return self.columns[self._expression_at]

    def __clause_element__(self) -> Any:
        # the property where Core wants a column: UniqueConstraint(cprop) or
        # Index("ix", cprop) in __table_args__, before the class is mapped
        return self.expression

    @property
    def is_writable(self) -> bool:
        """True when the attribute maps a real column of the mapped table."""
        c = self.columns[0]
        return isinstance(c, Column) and c.table is not None and self.parent._maps_table(c.table)

    def clause_element(self, attr: QueryableAttribute) -> Any:
        c = self.columns[self._expression_at]
        if isinstance(c, Column):
            # an annotated copy of the column, made once: it marks statements built from
            # it as naming this mapper (coercion.mark_subject, read for get_bind), and an
            # attribute named other than its column makes Core name the selected column
            # after the attribute (``select(User.uname)`` has a ``uname`` column)
            mapper = attr.parent
            if mapper is not self.parent and mapper.inherits is not None:
                return self._subclass_column(c, mapper)
            keyed = self.__dict__.get("_keyed_column")
            if keyed is None or keyed[0] is not c or keyed[1] != self.key:
                ann: dict[str, Any] = (
                    {"proxy_key": self.key} if c.key != self.key else {"dm_attr": self.key})
                if self.parent.inherits is not None:
                    ann[SUBCLASS_KEY] = self.parent
                keyed = (c, self.key, mark_subject(annotate(c, ann), self.parent))
                self.__dict__["_keyed_column"] = keyed
            return keyed[2]
        return c

    def _subclass_column(self, c: Any, mapper: Mapper) -> Any:
        """The column of this (inherited) attribute as read through a subclass
        (``Engineer.name``): marked as naming the subclass, whose rows a SELECT of it
        is limited to (query.entities.RowLayout), one annotated copy per subclass."""
        by_mapper: dict[Any, Any] = self.__dict__.setdefault("_subclass_columns", {})
        keyed = by_mapper.get(mapper)
        if keyed is None or keyed[0] is not c:
            ann: dict[str, Any] = (
                {"proxy_key": self.key} if c.key != self.key else {"dm_attr": self.key})
            ann[SUBCLASS_KEY] = mapper
            keyed = (c, mark_subject(annotate(c, ann), mapper))
            by_mapper[mapper] = keyed
        return keyed[1]

    def column_for_attr_delegation(self) -> Any:
        return self.columns[0]

    def __repr__(self) -> str:
        return f"ColumnProperty({getattr(self, 'key', None) or self.columns[0]!r})"


class SynonymProperty(MapperProperty):
    """Another name for an existing mapped attribute."""

    is_synonym = True

    def __init__(self, name: str, map_column: bool = False, descriptor: Any = None,
                 comparator_factory: Any = None, info: dict[str, Any] | None = None,
                 doc: str | None = None) -> None:
        self.name = name
        self.map_column = map_column
        self.descriptor = descriptor
        # the synonym's own SQL operators (a ColumnProperty.Comparator subclass made
        # over the property it stands for); None: the target's
        self.comparator_factory = comparator_factory
        self.info = info if info is not None else {}
        self.doc = doc

    def target(self) -> MapperProperty:
        return self.parent.get_property(self.name)

    def clause_element(self, attr: QueryableAttribute) -> Any:
        return self.target().clause_element(attr)

    def comparator_for(self, attr: Any) -> Any:
        """``comparator_factory`` made over the target property, once per attribute."""
        found = attr.__dict__.get("_dm_comparator")
        if found is None:
            found = attr.__dict__["_dm_comparator"] = self.comparator_factory(
                self.target(), attr.parent, attr)
        return found

    def operate(self, attr: QueryableAttribute, op: Any, *other: Any, **kw: Any) -> Any:
        if self.comparator_factory is not None:
            return op(self.comparator_for(attr), *other, **kw)
        target = getattr(attr.class_, self.name)  # the target's own attribute
        if not hasattr(target, "__clause_element__") and not hasattr(target, "operate"):
            # a plain Python attribute (a @property, a method, a value): comparing it
            # would give Python's own answer (``User.y == 10`` is False) and a query
            # filtering on it no rows, without a word
            cls = attr.class_.__name__
            raise InvalidRequestError(
                f"Can't use synonym {cls}.{attr.key} in a SQL expression: it stands for "
                f"{cls}.{self.name}, which is {type(target).__name__!r}, not a mapped "
                f"attribute; make the synonym name a mapped attribute (a column, "
                f"column_property() or relationship) or give it a comparator_factory")
        return op(target, *other, **kw)

    def any_(self, criterion: object = None, **kw: object) -> Any:
        return self.target().any_(criterion, **kw)

    def has_(self, criterion: object = None, **kw: object) -> Any:
        return self.target().has_(criterion, **kw)

    def column_for_attr_delegation(self) -> None:
        return self.target().column_for_attr_delegation()


_DATACLASS_ARGS = ("init", "repr", "default", "default_factory", "compare", "kw_only", "hash",
                   "dataclass_metadata")


def _with_dataclass_options(prop: Any, kw: dict[str, Any], read_only: bool = False) -> Any:
    prop._dm_dataclass = {k: kw[k] for k in _DATACLASS_ARGS if k in kw}
    if read_only:
        # a value the database computes: not a constructor argument unless asked for
        prop._dm_dataclass.setdefault("init", False)
    return prop


def column_property(*columns: Any, **kw: Any) -> Any:
    """Map an attribute to columns or a read-only SQL expression (dataclass field
    options such as ``repr=False`` are accepted for ``MappedAsDataclass``; the field
    is left out of ``__init__`` unless ``init=True``)."""
    rest = {k: v for k, v in kw.items() if k not in _DATACLASS_ARGS}
    return _with_dataclass_options(ColumnProperty(*columns, **rest), kw, read_only=True)


class QueryExpressionProperty(ColumnProperty):
    """An attribute of no table column: each query says which SQL expression loads it
    (``with_expression()``), else it holds its default expression's value, or None
    without any SQL when it has no default."""

    is_query_expression = True

    def __init__(self, default_expr: object = None, *, expire_on_flush: bool = True,
                 info: dict[str, Any] | None = None, doc: str | None = None) -> None:
        expr = null() if default_expr is None else default_expr
        self.has_default = not isinstance(expr, Null)
        # without a default, a plain load leaves it out (it reads as None, see
        # Mapper._expression_keys); with one, every plain load SELECTs the default
        super().__init__(expr, deferred=not self.has_default, expire_on_flush=expire_on_flush,
                         info=info, doc=doc)

    def set_parent(self, mapper: Mapper, key: str) -> None:
        super().set_parent(mapper, key)
        if self.has_default and not isinstance(self.columns[0], Label):
            # the default is SELECTed under the attribute's name
            self.columns[0] = self.columns[0].label(key)

    def __repr__(self) -> str:
        return f"QueryExpressionProperty({self.key!r})"


class ExpressionOverride:
    """A query_expression() attribute loaded from the SQL ``with_expression()`` gave
    for one query: a stand-in for its property in that query's column choice."""

    __slots__ = ("prop", "key", "columns", "deferred", "group", "is_query_expression",
                 "is_column", "is_relationship", "raiseload")

    def __init__(self, prop: ColumnProperty, expression: Any) -> None:
        self.prop = prop
        self.key = prop.key
        self.columns = [expression]
        self.deferred = False
        self.group = None
        self.is_query_expression = True
        self.is_column = True
        self.is_relationship = False
        self.raiseload = False

    def __repr__(self) -> str:
        return f"with_expression({self.prop.parent.class_.__name__}.{self.key})"


def query_expression(default_expr: object = None, *, expire_on_flush: bool = True,
                     info: dict[str, Any] | None = None, doc: str | None = None,
                     **kw: object) -> Any:
    """An attribute loaded from a SQL expression each query chooses with
    ``with_expression(Class.attr, expr)``; without that option it holds the value of
    ``default_expr`` (SELECTed with every load), or None when there is no default."""
    if default_expr is not None and not isinstance(default_expr, ColumnElement) and \
            not hasattr(default_expr, "__clause_element__"):
        raise ArgumentError(
            f"Can't use {default_expr!r} as the default of query_expression(): pass a SQL "
            "expression such as literal(0) or null()"
        )
    if default_expr is not None and not isinstance(default_expr, ColumnElement):
        default_expr = default_expr.__clause_element__()
    prop = QueryExpressionProperty(default_expr, expire_on_flush=expire_on_flush, info=info,
                                   doc=doc)
    return _with_dataclass_options(prop, kw, read_only=True)


def deferred(*columns: Any, **kw: Any) -> Any:
    """A column attribute that is not loaded until first accessed."""
    rest = {k: v for k, v in kw.items() if k not in _DATACLASS_ARGS}
    return _with_dataclass_options(ColumnProperty(*columns, deferred=True, **rest), kw)


def synonym(name: str, map_column: bool = False, descriptor: object = None, *,
            comparator_factory: Any = None, info: dict[str, Any] | None = None,
            doc: str | None = None, **kw: object) -> Any:
    """An attribute that reads and writes attribute ``name`` (``comparator_factory``:
    its own SQL operators; ``info``/``doc`` as for other properties; dataclass field
    options such as ``init=False``)."""
    unknown = sorted(k for k in kw if k not in _DATACLASS_ARGS)
    if unknown:
        raise ArgumentError(
            f"synonym({name!r}) got unexpected keyword argument(s) {', '.join(unknown)}; it "
            "takes map_column, descriptor, comparator_factory, info, doc and dataclass "
            "field options")
    return _with_dataclass_options(
        SynonymProperty(name, map_column=map_column, descriptor=descriptor,
                        comparator_factory=comparator_factory, info=info, doc=doc), kw)


def validates(
    *names: str, include_removes: bool = False, include_backrefs: bool = True
) -> Callable[[Any], Any]:
    """Mark a method as validator for attributes ``names``.

    The method receives ``(key, value)`` and returns the value to store.
    """

    def wrap(fn: Any) -> Any:
        fn.__dm_validates__ = (names, {"include_removes": include_removes,
                                       "include_backrefs": include_backrefs})
        return fn

    return wrap
