"""Query layer: ``Query`` and ORM ``select()`` over Core ``select()``."""

from .entities import ORMSelect, entity_columns, select
from .query import Query

__all__ = ["ORMSelect", "Query", "entity_columns", "select"]
