"""Exceptions raised by datamapper.

Core's exception classes that apply to the ORM are re-exported so that users
can catch everything from one module; the ORM-specific ones subclass the
fitting Core class.  Every module of the package raises from here.
"""

from __future__ import annotations

from sqlalchemy.exc import (
    AmbiguousForeignKeysError,
    ArgumentError,
    CircularDependencyError,
    DataError,
    DBAPIError,
    IntegrityError,
    InvalidRequestError,
    MultipleResultsFound,
    NoForeignKeysError,
    NoReferencedTableError,
    NoResultFound,
    OperationalError,
    PendingRollbackError,
    ResourceClosedError,
    SAWarning,
    SQLAlchemyError,
    StatementError,
    UnboundExecutionError,
)

__all__ = [
    "AmbiguousForeignKeysError",
    "ArgumentError",
    "BlankedPrimaryKeyError",
    "CircularDependencyError",
    "CommitOutcomeUnknownError",
    "DataError",
    "DBAPIError",
    "DetachedInstanceError",
    "FlushError",
    "IntegrityError",
    "InvalidRequestError",
    "MappedAnnotationError",
    "MultipleResultsFound",
    "NoCollectionError",
    "NoForeignKeysError",
    "NoReferencedTableError",
    "NoResultFound",
    "ObjectDeletedError",
    "ObjectDereferencedError",
    "OperationalError",
    "PendingRollbackError",
    "RelatedTypeError",
    "ResourceClosedError",
    "SAWarning",
    "SQLAlchemyError",
    "SessionConcurrencyError",
    "StaleDataError",
    "StatementError",
    "UnboundExecutionError",
    "UnmapAttributeError",
    "UnmappedClassError",
    "UnmappedColumnError",
    "UnmappedError",
    "UnmappedInstanceError",
    "UnsupportedRelationshipOperator",
]


class FlushError(InvalidRequestError):
    """The unit of work could not be written: the session's contents are inconsistent."""


class BlankedPrimaryKeyError(FlushError, AssertionError):
    """The flush would set a primary key column to NULL to unlink a row from its parent
    (the column is both the row's primary key and its foreign key).  Also an
    ``AssertionError``, as SQLAlchemy raises it."""


class RelatedTypeError(InvalidRequestError, TypeError, AssertionError):
    """An object a relationship can't hold: refused when it is put there if it can't be
    held at all (not a mapped object, or its class lacks the backref's attribute), and
    otherwise when a cascade reaches it through the relationship.  Also a
    ``TypeError``, and an ``AssertionError`` (the class SQLAlchemy raises at the
    cascade)."""


class StaleDataError(SQLAlchemyError):
    """An UPDATE or DELETE matched a different number of rows than the session expected."""


class ObjectDeletedError(InvalidRequestError):
    """An expired attribute was loaded, but the object's row no longer exists."""


class DetachedInstanceError(SQLAlchemyError):
    """An operation needs the object's Session, but the object is not in one."""


class NoCollectionError(InvalidRequestError, NotImplementedError):
    """A collection was given to an attribute that never holds one in memory
    (``lazy="dynamic"`` / ``"write_only"``), e.g. by ``set_committed_value()``.

    Also a ``NotImplementedError``, the class SQLAlchemy raises for it."""


class UnmappedError(InvalidRequestError):
    """Base for errors about classes or objects that are not mapped."""


class UnmappedInstanceError(UnmappedError):
    """An object was given whose class has no mapper."""


class UnmappedClassError(UnmappedError):
    """A class was given that has no mapper."""


class UnmapAttributeError(InvalidRequestError, NotImplementedError):
    """``del`` of a mapped attribute on a mapped declarative class: one attribute can't
    be un-mapped.  Also a ``NotImplementedError``, the class SQLAlchemy raises for it."""


class UnsupportedRelationshipOperator(ArgumentError, NotImplementedError):
    """A SQL operator other than ``==``, ``!=``, ``contains()``, ``any()`` and ``has()``
    was used with a relationship attribute (``User.addresses.like("x")``).  It is a
    NotImplementedError too, as Core raises for operators a type does not support."""


class MappedAnnotationError(ArgumentError):
    """A declarative attribute's annotation can't be mapped: it is not ``Mapped[...]``,
    names a Python type with no SQL type known for it, or can't be evaluated."""


class UnmappedColumnError(InvalidRequestError):
    """A column was named that the mapper does not map."""


class ObjectDereferencedError(SQLAlchemyError):
    """An operation needed an object that has already been garbage collected."""


class CommitOutcomeUnknownError(OperationalError):
    """The connection was lost while COMMIT was in flight.

    The server may or may not have committed.  datamapper never re-issues the
    COMMIT nor replays the flush; check the data and decide.
    """

    def __init__(self, message: str, orig: BaseException | None) -> None:
        super().__init__(message, None, orig if orig is not None else Exception(message))
        self._dm_message = message

    def __str__(self) -> str:
        return self._dm_message


class SessionConcurrencyError(InvalidRequestError):
    """A Session was used by a second thread while another thread was inside it.

    A Session is not thread-safe: give each thread (or task) its own, e.g. with
    ``scoped_session``.  Nothing the second call asked for was done.
    """
