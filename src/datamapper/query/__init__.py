"""Query layer: ``Query`` and ORM ``select()`` over Core ``select()``."""

from .aliased import AliasedClass, aliased
from .entities import ORMSelect, entity_columns, select
from .query import Query

__all__ = ["AliasedClass", "ORMSelect", "Query", "aliased", "entity_columns", "select"]
