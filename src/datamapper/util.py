"""Inspection and state utilities: ``inspect``, ``make_transient`` and friends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy

from ._util import describe
from .exc import InvalidRequestError, UnmappedInstanceError
from .instance.state import InstanceState, _sessions, instance_state
from .mapping.mapper import Mapper, _mapper_or_none, class_mapper

_C = TypeVar("_C", bound=type)


def inspect(subject: object, raiseerr: bool = True) -> Any:
    """``inspect(obj)`` -> InstanceState; ``inspect(cls)`` -> Mapper; else Core's inspect."""
    if isinstance(subject, (Mapper, InstanceState)):
        return subject
    if isinstance(subject, type):
        m = _mapper_or_none(subject)
        if m is not None:
            return m  # not configured here: reading its properties configures
    elif _mapper_or_none(type(subject)) is not None:
        return instance_state(subject)
    return sqlalchemy.inspect(subject, raiseerr)


def object_mapper(instance: object) -> Mapper:
    """The Mapper of ``instance``'s class (UnmappedInstanceError if none)."""
    m = _mapper_or_none(type(instance))
    if m is None:
        raise UnmappedInstanceError(
            f"Can't find the mapper of {describe(instance)}: class {type(instance).__name__} "
            "is not mapped"
        )
    return class_mapper(type(instance))


def object_state(instance: object) -> InstanceState:
    return instance_state(instance)


def was_deleted(instance: object) -> bool:
    """True if a flush deleted ``instance``'s row (deleted or detached after delete)."""
    return instance_state(instance).was_deleted


def make_transient(instance: object) -> None:
    """Turn ``instance`` back into a transient object: no session, no identity.

    Loaded attribute values stay, with their history (what was loaded and what was
    changed since, as ``get_history()`` reports it); expired ones are dropped.  Its
    flush is an INSERT of the values it holds.
    """
    state = instance_state(instance)
    sess = _sessions.get(state.session_id) if state.session_id is not None else None
    if sess is not None:
        sess._expunge_state(state)
    state.session_id = None
    if state._key is not None:
        # a loaded object keeps recording its history (SQLAlchemy's make_transient()
        # leaves it alone): get_history() still tells loaded values from changed ones
        state.extra()
    state.key = None
    state._deleted = False
    state._strong = None
    d = instance.__dict__
    if state.expired_attributes:
        for k in state.expired_attributes:
            d.pop(k, None)
    state.expired_attributes = frozenset()


def make_transient_to_detached(instance: object) -> None:
    """Give a transient object its identity key: it becomes detached, as if loaded and
    expunged.  Missing attributes are marked expired."""
    state = instance_state(instance)
    if state.session_id is not None or state._key is not None:
        raise InvalidRequestError(
            f"Can't make {describe(instance)} detached: it is not transient"
        )
    mapper = state.mapper
    d = instance.__dict__
    ident = tuple(d.get(k) for k in mapper._pk_keys)
    if any(v is None for v in ident):
        raise InvalidRequestError(
            f"Can't make {describe(instance)} detached: its primary key "
            f"({', '.join(mapper._pk_keys)}) is not fully set"
        )
    state.key = (mapper._identity_class, ident, None)
    state.committed_state = {}
    state.modified = False
    missing = {k for k in mapper._column_keys if k not in d}
    state.expired_attributes = missing if missing else frozenset()


def close_all_sessions() -> None:
    """Close every Session still alive (``Session.close_all()``)."""
    from .session.session import Session

    Session.close_all()


def has_inherited_table(cls: type) -> bool:
    """Whether a base class of ``cls`` has a table (``__table__``): in a declarative
    mixin, tells a subclass of a mapped class from the first mapped class."""
    return any(getattr(klass, "__table__", None) is not None for klass in cls.__mro__[1:])


def declarative_mixin(cls: _C) -> _C:
    """Marks a class as a declarative mixin (for type checkers and readers; it changes
    nothing)."""
    return cls


def as_declarative(**kw: Any) -> Callable[[type], Any]:
    """Class decorator: the decorated class becomes a declarative base
    (``declarative_base(cls=the class, name=its name, **kw)``)."""
    from .mapping.registry import declarative_base

    def make(cls: type) -> Any:
        return declarative_base(cls=cls, name=cls.__name__, **kw)

    return make
