"""``datamapper.attributes``: attribute history and low-level attribute access."""

from ._util import NO_VALUE
from .instance.attributes import (
    CALLABLES_OK,
    HISTORY_BLANK,
    INIT_OK,
    LOAD_AGAINST_COMMITTED,
    NEVER_SET,
    NO_CHANGE,
    NON_PERSISTENT_OK,
    PASSIVE_NO_FETCH,
    PASSIVE_NO_FETCH_RELATED,
    PASSIVE_NO_INITIALIZE,
    PASSIVE_OFF,
    PASSIVE_ONLY_PERSISTENT,
    PASSIVE_RETURN_NO_VALUE,
    RELATED_OBJECT_OK,
    SQL_OK,
    History,
    PassiveFlag,
    del_attribute,
    flag_dirty,
    flag_modified,
    get_attribute,
    get_history,
    init_collection,
    is_instrumented,
    set_attribute,
    set_committed_value,
)
from .instance.collections import CollectionAdapter, collection_adapter
from .instance.state import InstanceState, instance_state


class LoaderCallableStatus:
    """The markers an attribute event or a passive read gives for "no value" under
    their 2.x names (``LoaderCallableStatus.NO_VALUE`` is :data:`NO_VALUE`)."""

    NO_VALUE = NO_VALUE
    NEVER_SET = NEVER_SET

__all__ = [
    "CALLABLES_OK", "HISTORY_BLANK", "INIT_OK", "LOAD_AGAINST_COMMITTED", "LoaderCallableStatus", "NEVER_SET", "NON_PERSISTENT_OK", "NO_CHANGE",
    "NO_VALUE", "PASSIVE_NO_FETCH", "PASSIVE_NO_FETCH_RELATED", "PASSIVE_NO_INITIALIZE",
    "PASSIVE_OFF", "PASSIVE_ONLY_PERSISTENT", "PASSIVE_RETURN_NO_VALUE", "RELATED_OBJECT_OK",
    "SQL_OK", "CollectionAdapter", "History", "InstanceState", "PassiveFlag",
    "collection_adapter", "del_attribute", "flag_dirty", "flag_modified", "get_attribute",
    "get_history", "init_collection", "instance_state", "is_instrumented", "set_attribute",
    "set_committed_value",
]
