"""The ``Result`` an ORM select run by ``Session.execute()`` returns.

Callers: :mod:`.execute` (objects already built) and :func:`.dml.stream_results`
(``yield_per``: objects built a batch at a time).  It is Core's ``IteratorResult``
with one ORM rule added: ``unique()`` needs every row seen so far, which a
result built a batch at a time can't promise, so ``unique()`` together with
``yield_per`` (in either order, or the ``yield_per`` execution option) makes
the first fetch raise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import IteratorResult

from ..exc import InvalidRequestError

if TYPE_CHECKING:
    from .base import SessionBase


class OrmResult(IteratorResult[Any]):
    """Rows of an ORM select; see the module docstring."""

    # (session, its _map_generation when the result was made, class name of the first
    # entity) for a result of mapped objects: see :meth:`guard`
    _dm_owner: tuple[SessionBase, int, str] | None = None

    def guard(self, session: SessionBase, layout: Any) -> OrmResult:
        """Refuse to fetch once ``session`` emptied its identity map (``close()``,
        ``expunge_all()``) after this result was made: its objects belong to a map
        that no longer exists (and a streamed batch would be built into the new one)."""
        for kind, part in layout.parts:
            if kind == "entity":
                self._dm_owner = (session, session._map_generation,
                                  part.mapper.class_.__name__)
                break
        return self

    def _check_owner(self) -> None:
        owner = self._dm_owner
        if owner is not None and owner[0]._map_generation != owner[1]:
            raise InvalidRequestError(
                f"Object <{owner[2]}> cannot be converted to 'persistent' state, as this "
                "identity map is no longer valid: the session was closed, reset or "
                "expunge_all()-ed after this result was made; fetch its rows before that")

    def _fetchiter_impl(self) -> Any:
        self._check_owner()
        return super()._fetchiter_impl()

    def _fetchone_impl(self, hard_close: bool = False) -> Any:
        self._check_owner()
        return super()._fetchone_impl(hard_close)

    def _fetchall_impl(self) -> Any:
        self._check_owner()
        return super()._fetchall_impl()

    def _fetchmany_impl(self, size: int | None = None) -> Any:
        self._check_owner()
        return super()._fetchmany_impl(size)

    def unique(self, strategy: Any = None) -> Any:
        out = super().unique(strategy)
        out._refuse_unique_with_yield_per()
        return out

    def yield_per(self, num: int) -> Any:
        out = super().yield_per(num)
        out._refuse_unique_with_yield_per()
        return out

    def _refuse_unique_with_yield_per(self) -> None:
        if self._yield_per and self._unique_filter_state is not None:
            self.iterator = _refusing(self.iterator)


def _refusing(source: Any) -> Iterator[Any]:
    close = getattr(source, "close", None)
    if close is not None:
        close()  # a yield_per stream closes its cursor when its generator is closed
    return _Refused()


class _Refused:
    """An iterator whose first ``next()`` raises: the refusal comes at the first fetch,
    not when ``unique()`` or ``yield_per()`` is called."""

    def __iter__(self) -> _Refused:
        return self

    def __next__(self) -> Any:
        raise InvalidRequestError(
            "Can't use the ORM yield_per feature in conjunction with unique(): yield_per "
            "builds objects a batch at a time and unique() needs every row; drop one of "
            "them")
