"""What ``inspect()`` hands back says what it is: the flags every inspection object of
datamapper answers (a mapper, an instance's state, an alias, a mapped attribute, a
mapper property), so that tools written against SQLAlchemy's inspection API can tell
them apart without isinstance checks on our classes."""

from __future__ import annotations

import enum


class NotExtension(enum.Enum):
    """``extension_type`` of everything the ORM itself provides (hybrids and
    association proxies name their own kind)."""

    NOT_EXTENSION = "not_extension"


class InspectionAttr:
    """Base of the objects ``inspect()`` returns; each subclass turns on its flag."""

    __slots__ = ()

    is_selectable = False  # a Table or other FROM clause
    is_aliased_class = False  # inspect(aliased(User))
    is_instance = False  # inspect(obj): its InstanceState
    is_mapper = False  # inspect(User)
    is_bundle = False
    is_property = False  # a MapperProperty (ColumnProperty, Relationship ...)
    is_attribute = False  # a class-bound attribute (User.name, a hybrid)
    is_clause_element = False  # a SQL expression
    extension_type: enum.Enum = NotExtension.NOT_EXTENSION
