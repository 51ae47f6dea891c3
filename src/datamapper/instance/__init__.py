"""Instance layer: instrumentation, attribute history, InstanceState, identity map."""

from .attributes import get_history
from .history import History
from .identity import IdentityMap
from .instrumentation import instrument
from .state import InstanceState, instance_state

__all__ = ["History", "IdentityMap", "InstanceState", "get_history", "instance_state", "instrument"]
