"""What ``Session.execute()`` is given: a string becomes textual SQL, a Core
``select()`` of mapped classes the ORM select of those entities, anything else must be
executable; and the mappers a statement selects or changes (``ORMExecuteState``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, text
from sqlalchemy.exc import ObjectNotExecutableError

from .._core import (
    is_executable_on_connection,
    raw_columns,
)
from .._util import describe
from ..mapping.coercion import column_entity, dml_mapper, statement_subject
from ..mapping.mapper import Mapper, _mapper_or_none
from ..query import ORMSelect
from ..query.from_statement import FromStatement
from ..query.orm_select import orm_select_from_core

if TYPE_CHECKING:
    pass


def coerce_statement(statement: Any) -> Any:
    """What execute() runs: a string as textual SQL, ``sqlalchemy.select(User)`` as the
    ORM select of those entities; anything else must be executable."""
    if isinstance(statement, str):
        return text(statement)
    if statement.__class__ is Select:
        converted = orm_select_from_core(statement)
        if converted is not None:
            return converted
        # select(Engineer.name): the compile-state plugin limits it to the subclass's
        # rows (query/subclass_rows.py)
        return statement
    elif not is_executable_on_connection(statement):
        raise not_executable(statement)
    return statement


def statement_mappers(statement: Any) -> list[Mapper]:
    """The mappers an executed statement selects or changes (for ORMExecuteState)."""
    out: list[Mapper] = []
    if isinstance(statement, (ORMSelect, FromStatement)):
        cands: list[Any] = list(statement._dm_layout.mappers)
    elif getattr(statement, "is_dml", False):
        cands = [dml_mapper(statement)]
    elif isinstance(statement, Select):
        # a Core select of mapped attributes: the entities of its columns, in order (else
        # the first mapped entity it names, e.g. select(func.count()).select_from(User))
        cands = []
        for col in raw_columns(statement):
            ent = column_entity(col)
            cands.append(_mapper_or_none(ent) if isinstance(ent, type)
                         else getattr(ent, "_dm_mapper", None))
        if not any(cands):
            cands = [statement_subject(statement)]
    else:
        return out
    for m in cands:
        if m is not None and m not in out:
            out.append(m)
    return out


def not_executable(statement: Any) -> ObjectNotExecutableError:
    what = (f"the class {statement.__name__}" if isinstance(statement, type)
            else describe(statement))
    err = ObjectNotExecutableError(statement)
    err.args = (
        f"Can't execute {what}: it is not a SQL statement; pass select(...), "
        "insert()/update()/delete(), text(...) or a SQL string",
    )
    return err
