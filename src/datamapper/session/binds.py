"""Session binds: which Engine or Connection a mapper or statement runs on.

Mixed into :class:`~datamapper.session.session.Session`.  Mapper binds win over
binds of a mapped base class, which win over table binds, which win over the
Session's own ``bind``; the connection for a bind comes from the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.util import find_tables
from sqlalchemy.util import immutabledict

from .._util import describe
from ..exc import (
    ArgumentError,
    InvalidRequestError,
    UnboundExecutionError,
    UnmappedClassError,
)
from ..mapping.coercion import statement_subject
from ..mapping.mapper import Mapper, _mapper_or_none
from .base import SessionBase
from .ownership import exclusive


class SessionBinds(SessionBase):
    """``bind_mapper``, ``bind_table``, ``get_bind`` and ``connection``."""

    def _add_bind(self, key: object, bind: object) -> None:
        from sqlalchemy.sql.expression import FromClause

        if isinstance(key, FromClause):  # a Table, table(), a join, an alias ...
            self._binds[key] = bind
        elif (m := _mapper_or_none(key)) is not None:
            self._binds[m] = bind
            # a statement naming the mapped table (users.insert(), users.select()) runs
            # there too, unless the table has a bind of its own
            self._table_binds_of_mappers[m.local_table] = bind
            if m.non_table:  # a join or SELECT: each of its tables
                for t in m.tables:
                    self._table_binds_of_mappers.setdefault(t, bind)
        elif isinstance(key, type):
            # an unmapped base class: binds every mapped subclass
            self._binds[key] = bind
        else:
            raise ArgumentError(
                f"Can't bind {describe(key)}: it is not something a bind can be given to; "
                "pass a mapped class (or a Mapper), a base class of mapped classes, or a "
                "Table"
            )
        self._binds_view = None

    @property
    def binds(self) -> immutabledict[Any, Any]:
        """The binds given (``binds=``, ``bind_mapper()``, ``bind_table()``), read-only:
        ``{mapped class or base class or Table: Engine or Connection}``; a mapped class
        appears with its table too.  A new mapping after each change."""
        view: immutabledict[Any, Any] | None = self._binds_view
        if view is None:
            out: dict[Any, Any] = {}
            for key, bind in self._binds.items():
                out[key.class_ if isinstance(key, Mapper) else key] = bind
            for table, bind in self._table_binds_of_mappers.items():
                out.setdefault(table, bind)
            view = self._binds_view = immutabledict(out)
        return view

    def bind_mapper(self, mapper: object, bind: object) -> None:
        self._add_bind(mapper, bind)

    def bind_table(self, table: object, bind: object) -> None:
        from sqlalchemy.sql.expression import FromClause

        if not isinstance(table, FromClause):
            raise ArgumentError(
                f"Can't bind_table({table!r}): it is not a Table (or another FROM clause: a "
                "join, an alias, a subquery); pass a Table (e.g. User.__table__), or use "
                "bind_mapper() for a class"
            )
        self._add_bind(table, bind)

    def _bind_for(self, mapper: object, clause: object, bind_kw: dict[str, Any] | None) -> Any:
        """``get_bind()`` with the caller's bind arguments; ``mapper``/``clause`` given in
        them (``bind_arguments={"mapper": m}``) take the place of the defaults.

        Called with keywords only, ``mapper`` left out when there is none, so that an
        overriding ``get_bind(self, **kw)`` sees just what applies."""
        kw = dict(bind_kw) if bind_kw else {}  # never change the caller's dict
        kw.setdefault("clause", clause)
        if mapper is None and clause is not None:
            # a Core statement built from mapped classes (select(User.id),
            # select(1).where(User.name == "ed"), update(User)): the first one it names
            mapper = statement_subject(clause)
        if mapper is not None:
            kw.setdefault("mapper", mapper)
        return self.get_bind(**kw)

    def get_bind(self, mapper: object = None, clause: object = None, **kw: object) -> Any:
        """The Engine or Connection for a mapper or a statement.

        Mapper binds win over table binds, which win over the Session's bind.
        """
        if mapper is not None and _mapper_or_none(mapper) is None and \
                mapper not in self._binds:
            _refuse_unmapped(mapper, "find a bind for")
        if self._binds:
            m = _mapper_or_none(mapper) if mapper is not None else None
            if m is None and clause is not None:
                m = statement_subject(clause)
            found = self._bind_of_mapper(m) if m is not None else None
            if found is None and clause is not None:
                found = self._bind_of_tables(clause)
            if found is not None:
                return found
        if self.bind is not None:
            return self.bind
        what = (f"mapper {m!r}" if mapper is not None and (m := _mapper_or_none(mapper))
                else "this statement")
        raise UnboundExecutionError(
            f"Can't find a bind for {what}: this Session has no bind and no binds= entry "
            "matches; create it as Session(engine) or Session(binds={Class: engine})"
        )

    def _bind_of_mapper(self, m: Mapper) -> Any:
        """The ``binds=`` entry for ``m``: its own or a base mapper's, a class of its
        MRO's, one of its tables' (base table first), its join or SELECT's; or None."""
        binds = self._binds
        for mm in m.iterate_to_root():  # a base class's mapper binds its subclasses
            if mm in binds:
                return binds[mm]
        for klass in m.class_.__mro__:
            if klass in binds:
                return binds[klass]
        for table in m.tables:  # base table first (joined-table inheritance)
            if table in binds:
                return binds[table]
        if m.non_table and m.local_table in binds:  # the join or SELECT
            return binds[m.local_table]
        return None

    def _bind_of_tables(self, clause: Any) -> Any:
        """The ``binds=`` entry of a table ``clause`` reads or writes (or of a mapper
        mapping it); or None."""
        try:
            tables = find_tables(clause, include_crud=True)
        except Exception:
            tables = []
        for t in tables:
            if t in self._binds:
                return self._binds[t]
        for t in tables:
            if t in self._table_binds_of_mappers:
                return self._table_binds_of_mappers[t]
        return None

    def _connection_for_bind(self, bind: object, execution_options: object = None) -> Connection:
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
        if bind is None and bind_arguments:
            bind = bind_arguments.get("bind")  # bind_arguments={"bind": engine} wins
        if bind is None:
            bind = self._bind_for(mapper, clause, _bind_kw(bind_arguments, kw))
        if self._transaction is None and self.autocommit:
            if isinstance(bind, Connection):
                return bind
            return bind.connect()  # type: ignore[no-any-return]  # bind is typed Any (the parameter, or get_bind()); past the Connection check it is an Engine, whose connect() returns one
        return self._connection_for_bind(bind, execution_options)


def _refuse_unmapped(entity: object, verb: str) -> None:
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
