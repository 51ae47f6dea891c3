"""Loading layer: rows to objects through the identity map, and loaders for
unloaded attributes."""

from .merge import merge_frozen_result, merge_result
from .rows import EntityLoader, entity_loader, load_attributes_stmt, populate_state
from .rows import instances as instances

__all__ = ["EntityLoader", "entity_loader", "instances", "load_attributes_stmt",
           "merge_frozen_result", "merge_result", "populate_state"]
