"""Unit of work: change set, dependency planning, flush execution, FlushPlan."""

from .flush import UOWTransaction
from .plan import Action, FlushPlan

__all__ = ["Action", "FlushPlan", "UOWTransaction"]
