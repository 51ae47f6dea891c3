"""Query layer: ``Query`` and ORM ``select()`` over Core ``select()``."""

from .aliased import AliasedClass, PolymorphicEntity, aliased, with_polymorphic
from .entities import entity_columns
from .orm_select import ORMSelect, select
from .query import Query

__all__ = ["AliasedClass", "ORMSelect", "PolymorphicEntity", "Query", "aliased", "entity_columns",
           "select", "with_polymorphic"]
