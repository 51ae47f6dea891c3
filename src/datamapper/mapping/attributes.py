"""Class-level mapped attributes: descriptors that are also SQL expressions.

``User.name`` is a :class:`QueryableAttribute`: usable in SQL
(``User.name == "ed"``) and installed on the class as a *non-data*
descriptor, so that reading a loaded value from an instance is a plain
``__dict__`` hit.  ``__get__`` on an instance runs only when the value is
missing (never set, expired or deferred); the instance layer supplies the
``impl`` that handles that case and the writes.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.sql import operators
from sqlalchemy.sql.operators import ColumnOperators

if TYPE_CHECKING:
    from .mapper import Mapper
    from .properties import MapperProperty


# column attributes reachable through ``User.name.<attr>``; never the ones Core's
# coercion probes (``is_clause_element`` ...), which must see this wrapper as it is
_DELEGATED = frozenset({
    "type", "table", "name", "nullable", "primary_key", "default", "server_default",
    "foreign_keys", "unique", "index", "autoincrement", "onupdate", "server_onupdate",
    "label", "info", "doc", "comparator", "expression_type", "cast",
})


class QueryableAttribute(ColumnOperators):
    """A mapped attribute seen on the class: ``User.name``."""

    # every instance-level read of a missing value goes to impl.get_missing
    impl: Any

    def __init__(self, class_: type, key: str, prop: MapperProperty, mapper: Mapper) -> None:
        self.class_ = class_
        self.key = key
        self.prop = prop
        self.parent = mapper
        self.impl = None
        self.dispatch: Any = None  # attribute events, set by the instance layer

    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self
        return self.impl.get_missing(obj)

    def __clause_element__(self) -> Any:
        return self.prop.clause_element(self)

    @property
    def expression(self) -> Any:
        return self.__clause_element__()

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        return self.prop.operate(self, op, *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        return op(other, self.__clause_element__(), **kwargs)

    def __hash__(self) -> int:
        return id(self)

    def __getattr__(self, name: str) -> Any:
        # e.g. User.name.type, User.name.table: delegate to the column
        if name not in _DELEGATED:
            raise AttributeError(
                f"{self.__dict__.get('class_', type(self)).__name__}."
                f"{self.__dict__.get('key', '?')} has no attribute {name!r}"
            )
        try:
            target = self.__dict__["prop"].column_for_attr_delegation()
        except (KeyError, AttributeError):
            raise AttributeError(name) from None
        if target is None:
            raise AttributeError(
                f"{self.class_.__name__}.{self.key} has no attribute {name!r}"
            )
        return getattr(target, name)

    def __repr__(self) -> str:
        return f"<{self.class_.__name__}.{self.key}>"

    def __str__(self) -> str:
        return f"{self.class_.__name__}.{self.key}"

    # relationship comparisons
    def any(self, criterion: Any = None, **kwargs: Any) -> Any:
        return self.prop.any_(criterion, **kwargs)

    def has(self, criterion: Any = None, **kwargs: Any) -> Any:
        return self.prop.has_(criterion, **kwargs)

    def contains(self, other: Any, **kwargs: Any) -> Any:
        return self.prop.operate(self, operators.contains_op, other, **kwargs)

    def of_type(self, cls: Any) -> Any:
        """The relationship towards ``cls``: itself for a mapped class, a join target
        (:class:`OfType`) for an ``aliased()`` one."""
        if isinstance(cls, type):
            return self
        return OfType(self, cls)

    # ``User.name.property``: defined last, since the name shadows the builtin
    property = builtins.property(lambda self: self.prop)  # noqa: A003


_T = TypeVar("_T")

if TYPE_CHECKING:
    from sqlalchemy import SQLColumnExpression

    class InstrumentedAttribute(QueryableAttribute, SQLColumnExpression[_T]):
        """``User.id`` as a type checker sees it: a SQL expression of ``_T``."""

else:

    class InstrumentedAttribute(QueryableAttribute, Generic[_T]):
        """A mapped attribute on the class (``User.id``); generic in the Python type
        of its value, so that ``User.id == 5`` is typed as a SQL boolean expression."""

        __slots__ = ()


class OfType:
    """``User.addresses.of_type(alias)``: a relationship joined to an aliased target."""

    __slots__ = ("attr", "target")

    def __init__(self, attr: Any, target: Any) -> None:
        self.attr = attr
        self.target = target

    @builtins.property
    def prop(self) -> Any:
        return self.attr.prop

    def __repr__(self) -> str:
        return f"{self.attr!r}.of_type({self.target!r})"
