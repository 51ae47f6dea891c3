"""``datamapper.attributes``: attribute history and low-level attribute access."""

from .instance.attributes import (
    History,
    del_attribute,
    flag_dirty,
    flag_modified,
    get_attribute,
    get_history,
    init_collection,
    set_attribute,
    set_committed_value,
)
from .instance.state import InstanceState, instance_state

__all__ = [
    "History", "InstanceState", "del_attribute", "flag_dirty", "flag_modified",
    "get_attribute", "get_history", "init_collection", "instance_state", "set_attribute",
    "set_committed_value",
]
