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
from typing import Any

from sqlalchemy.engine import IteratorResult

from ..exc import InvalidRequestError


class OrmResult(IteratorResult[Any]):
    """Rows of an ORM select; see the module docstring."""

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
