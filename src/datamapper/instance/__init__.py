"""Instance layer: instrumentation, attribute history, InstanceState, identity map."""

from .attributes import History, get_history, instrument
from .identity import IdentityMap
from .state import InstanceState, instance_state

__all__ = ["History", "IdentityMap", "InstanceState", "get_history", "instance_state", "instrument"]
