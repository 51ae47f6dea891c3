"""The flush plan: a printable, ordered list of actions.

Callers: the planner builds a :class:`FlushPlan`; the executor runs its
actions in order; ``str(plan)`` is the indented tree that
``Session(echo_uow=True)`` and the ``datamapper.unitofwork`` logger print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._util import describe
from ..instance.state import InstanceState
from ..mapping.mapper import Mapper


@dataclass
class Action:
    """One step of a flush: a verb on a mapper's table for a batch of states."""

    verb: str  # "save", "delete", "post_update", "associate", "reassociate", "dissociate", ...
    mapper: Mapper
    states: list[InstanceState] = field(default_factory=list)
    reason: str = ""
    inserts: list[InstanceState] = field(default_factory=list)
    updates: list[InstanceState] = field(default_factory=list)
    payload: Any = None
    children: list[Action] = field(default_factory=list)
    table_name: str | None = None

    @property
    def table(self) -> str:
        if self.table_name is not None:
            return self.table_name
        return self.mapper._table_name if self.mapper is not None else "-"

    def describe_rows(self, limit: int = 5) -> list[str]:
        out = []
        if self.verb in ("associate", "reassociate", "dissociate"):
            rows = self.payload or []
            for r in rows[:limit]:
                p, c = r.parent.obj(), r.child.obj()
                out.append(f"{describe(p)} <-> {describe(c)}")
            if len(rows) > limit:
                out.append(f"... {len(rows) - limit} more")
            return out
        for s in self.states[:limit]:
            o = s.obj()
            out.append(describe(o) if o is not None else repr(s))
        if len(self.states) > limit:
            out.append(f"... {len(self.states) - limit} more")
        return out

    def label(self) -> str:
        name = self.mapper.class_.__name__ if self.mapper is not None else "-"
        if self.verb == "save":
            parts = []
            if self.inserts:
                parts.append(f"insert {len(self.inserts)}")
            if self.updates:
                parts.append(f"update {len(self.updates)}")
            what = ", ".join(parts) or "nothing"
            return f"SaveAction({name}) on {self.table}: {what}"
        n = len(self.payload) if self.verb in ("associate", "reassociate", "dissociate") else len(self.states)
        verb = self.verb.title().replace("_", "")
        if self.verb in ("associate", "reassociate", "dissociate"):
            return f"{verb}Action on {self.table}: {n} row(s)"
        return f"{verb}Action({name}) on {self.table}: {n} row(s)"


@dataclass
class FlushPlan:
    """The sorted actions of one flush, with the reason each stands where it does."""

    actions: list[Action] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)

    def __iter__(self) -> Any:
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def __str__(self) -> str:
        lines = ["FlushPlan"]
        if not self.actions:
            lines.append("  (nothing to flush)")
        for i, a in enumerate(self.actions, 1):
            self._render(lines, a, f"{i}.", "  ")
        for c in self.cycles:
            lines.append(f"  cycle broken per row: {' <-> '.join(c)}")
        return "\n".join(lines)

    def _render(self, lines: list[str], a: Action, num: str, indent: str) -> None:
        lines.append(f"{indent}{num} {a.label()}")
        if a.reason:
            lines.append(f"{indent}    because: {a.reason}")
        for row in a.describe_rows():
            lines.append(f"{indent}    - {row}")
        for j, c in enumerate(a.children, 1):
            self._render(lines, c, f"{num}{j}.", indent + "    ")

    def __repr__(self) -> str:
        return f"<FlushPlan of {len(self.actions)} actions>"
