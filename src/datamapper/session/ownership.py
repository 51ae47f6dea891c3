"""One thread at a time inside a Session: the ownership guard.

A Session is a unit of work for one thread.  Two threads inside the same Session
at once corrupt its bookkeeping silently (a commit of one thread ends the other's
transaction; a flush iterates a dict the other thread is changing).  Every Session
method that reads or changes its transaction or its object sets enters
:class:`OwnerGuard` first; a second thread that arrives while the first is inside
gets :class:`~datamapper.exc.SessionConcurrencyError` naming both threads, and its
call does nothing.  Calls from the thread already inside (event listeners, nested
session calls) pass straight through.

Cost on the single-thread path: one ``get_ident()`` and two attribute writes per
guarded call (no lock: the owner is claimed by writing the thread id and reading
it back, which under the GIL catches all but a vanishingly rare interleaving,
and any later call of the loser is refused).  The hottest in-memory calls,
``add()``, ``add_all()`` and ``delete()``, take the ownership inline, without this
wrapper (see ``bench/guard.py``).  They must take it, not only check that no other
thread holds it: an ``add()`` that merely checked could autobegin a transaction
while another thread's ``commit()`` ends the session's, orphaning the transaction
(and the connection) that commit had just begun.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..exc import SessionConcurrencyError

_F = TypeVar("_F", bound=Callable[..., Any])
_get_ident = threading.get_ident
get_ident = threading.get_ident  # for callers that check without taking ownership


class OwnerGuard:
    """Which thread is inside a Session's guarded methods now (None: no thread)."""

    __slots__ = ("owner", "what")

    def __init__(self) -> None:
        self.owner: int | None = None
        self.what = ""

    def refuse(self, session: object, what: str) -> SessionConcurrencyError:
        return SessionConcurrencyError(
            f"Can't run Session.{what}() in thread {_thread_name(_get_ident())}: thread "
            f"{_thread_name(self.owner)} is inside Session.{self.what}() of the same session "
            f"{session!r} right now, and a Session is for one thread at a time; give each "
            "thread its own Session (sessionmaker() per unit of work, or scoped_session)"
        )


def _thread_name(ident: int | None) -> str:
    for t in threading.enumerate():
        if t.ident == ident:
            return f"{t.name!r} (id {ident})"
    return f"id {ident}"


def exclusive(fn: _F) -> _F:
    """Run ``fn`` as the only thread inside its session (re-entrant for that thread)."""
    name = fn.__name__.lstrip("_")

    @functools.wraps(fn)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        guard = self._guard
        me = _get_ident()
        owner = guard.owner
        if owner == me:
            return fn(self, *args, **kwargs)
        if owner is not None:
            raise guard.refuse(self, name)
        guard.owner = me
        if guard.owner != me:  # another thread claimed it between the test and the set
            raise guard.refuse(self, name)
        guard.what = name
        try:
            return fn(self, *args, **kwargs)
        finally:
            guard.owner = None

    return guarded  # type: ignore[return-value]  # same signature as fn
