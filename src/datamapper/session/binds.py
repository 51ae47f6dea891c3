"""Session binds: which Engine or Connection a mapper or statement runs on.

Mixed into :class:`~datamapper.session.session.Session`.  Mapper binds win over
binds of a mapped base class, which win over table binds, which win over the
Session's own ``bind``; the connection for a bind comes from the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.util import find_tables

from .._util import describe
from ..exc import (
    ArgumentError,
    InvalidRequestError,
    UnboundExecutionError,
    UnmappedClassError,
)
from ..mapping.mapper import _mapper_or_none
from .base import SessionBase
from .ownership import exclusive


class SessionBinds(SessionBase):
    """``bind_mapper``, ``bind_table``, ``get_bind`` and ``connection``."""

    def _add_bind(self, key: Any, bind: Any) -> None:
        from sqlalchemy import Table

        if isinstance(key, Table):
            self._binds[key] = bind
            return
        m = _mapper_or_none(key)
        if m is not None:
            self._binds[m] = bind
            return
        if isinstance(key, type):
            # an unmapped base class: binds every mapped subclass
            self._binds[key] = bind
            return
        raise InvalidRequestError(
            f"Can't bind {key!r}: binds take a mapped class, a Mapper or a Table"
        )

    def bind_mapper(self, mapper: Any, bind: Any) -> None:
        self._add_bind(mapper, bind)

    def bind_table(self, table: Any, bind: Any) -> None:
        from sqlalchemy import Table

        if not isinstance(table, Table):
            raise ArgumentError(
                f"Can't bind_table({table!r}): it is not a Table; pass a Table "
                "(e.g. User.__table__), or use bind_mapper() for a class"
            )
        self._add_bind(table, bind)

    def _bind_for(self, mapper: Any, clause: Any, bind_kw: dict[str, Any] | None) -> Any:
        """``get_bind()`` with the caller's bind arguments; ``mapper``/``clause`` given in
        them (``bind_arguments={"mapper": m}``) take the place of the defaults."""
        if not bind_kw:
            return self.get_bind(mapper, clause=clause)
        kw = dict(bind_kw)  # never change the caller's dict
        mapper = kw.pop("mapper", mapper)
        clause = kw.pop("clause", clause)
        return self.get_bind(mapper, clause=clause, **kw)

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        """The Engine or Connection for a mapper or a statement.

        Mapper binds win over table binds, which win over the Session's bind.
        """
        if mapper is not None and _mapper_or_none(mapper) is None and \
                mapper not in self._binds:
            _refuse_unmapped(mapper, "find a bind for")
        if self._binds:
            m = _mapper_or_none(mapper) if mapper is not None else None
            if m is not None:
                if m in self._binds:
                    return self._binds[m]
                for klass in m.class_.__mro__:
                    if klass in self._binds:
                        return self._binds[klass]
                if m.local_table in self._binds:
                    return self._binds[m.local_table]
            if clause is not None:
                try:
                    tables = find_tables(clause, include_crud=True)
                except Exception:
                    tables = []
                for t in tables:
                    if t in self._binds:
                        return self._binds[t]
        if self.bind is not None:
            return self.bind
        what = (f"mapper {m!r}" if mapper is not None and (m := _mapper_or_none(mapper))
                else "this statement")
        raise UnboundExecutionError(
            f"Can't find a bind for {what}: this Session has no bind and no binds= entry "
            "matches; create it as Session(engine) or Session(binds={Class: engine})"
        )

    def _connection_for_bind(self, bind: Any, execution_options: Any = None) -> Connection:
        if self._transaction is None:
            if self.autocommit:
                raise InvalidRequestError("internal: autocommit connection requested")
            self._autobegin()
        assert self._transaction is not None
        return self._transaction._connection_for_bind(bind, execution_options)

    @exclusive
    def connection(self, mapper: Any = None, clause: Any = None, bind: Any = None,
                   execution_options: Any = None, bind_arguments: Any = None,
                   **kw: Any) -> Connection:
        """The Connection this Session uses for ``mapper``/``clause``/``bind``; other
        keyword arguments (and ``bind_arguments``) go to ``get_bind()``."""
        if self._tx_blocks or self._closed:
            self._check_usable()
        if bind is None:
            bind = self._bind_for(mapper, clause, _bind_kw(bind_arguments, kw))
        if self._transaction is None and self.autocommit:
            if isinstance(bind, Connection):
                return bind
            return bind.connect()  # type: ignore[no-any-return]
        return self._connection_for_bind(bind, execution_options)


def _refuse_unmapped(entity: Any, verb: str) -> None:
    """Raise the named error for an unmapped class (or an object) given where a
    mapped class is expected."""
    if isinstance(entity, type):
        raise UnmappedClassError(
            f"Can't {verb} class {entity.__name__}: it is not mapped; map it with "
            "declarative_base(), registry.map_imperatively() or mapper(), or pass a "
            "mapped class"
        )
    raise UnmappedClassError(
        f"Can't {verb} {describe(entity)}: a mapped class or Mapper is required here, "
        f"not a {type(entity).__name__} object; pass a mapped class"
    )



def _bind_kw(bind_arguments: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``get_bind()``: ``bind_arguments`` (2.x spelling)
    plus the extra keywords of the call (0.4-0.9 spelling)."""
    if not bind_arguments:
        return kw
    out = dict(bind_arguments)
    out.update(kw)
    return out
