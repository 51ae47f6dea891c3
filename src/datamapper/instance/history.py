"""What a read of an attribute may do, and what changed: the ``passive`` flags,
:class:`History` and the comparison of a new value with the loaded one.

Callers: the attribute impls (``scalar_impls.py``, ``relationships.py``,
``dynamic.py``), the flush (``persistence/records.py``), ``merge`` and the
public ``datamapper.attributes``.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from .._util import NO_VALUE
from ..exc import ArgumentError


class PassiveFlag(int):
    """A ``passive`` flag of :func:`get_history`: a set of permission bits (the same
    values as SQLAlchemy's), shown by name."""

    name: str
    # every flag below is also reachable as PassiveFlag.<NAME>
    NO_CHANGE: ClassVar[PassiveFlag]
    CALLABLES_OK: ClassVar[PassiveFlag]
    SQL_OK: ClassVar[PassiveFlag]
    RELATED_OBJECT_OK: ClassVar[PassiveFlag]
    INIT_OK: ClassVar[PassiveFlag]
    NON_PERSISTENT_OK: ClassVar[PassiveFlag]
    LOAD_AGAINST_COMMITTED: ClassVar[PassiveFlag]
    PASSIVE_OFF: ClassVar[PassiveFlag]
    PASSIVE_RETURN_NO_VALUE: ClassVar[PassiveFlag]
    PASSIVE_NO_INITIALIZE: ClassVar[PassiveFlag]
    PASSIVE_NO_FETCH: ClassVar[PassiveFlag]
    PASSIVE_NO_FETCH_RELATED: ClassVar[PassiveFlag]
    PASSIVE_ONLY_PERSISTENT: ClassVar[PassiveFlag]

    def __new__(cls, name: str, value: int) -> PassiveFlag:
        flag = int.__new__(cls, value)
        flag.name = name
        return flag

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name


# permission bits
NO_CHANGE = PassiveFlag("NO_CHANGE", 0)
CALLABLES_OK = PassiveFlag("CALLABLES_OK", 1)  # may run loaders
SQL_OK = PassiveFlag("SQL_OK", 2)  # loaders may emit SQL
RELATED_OBJECT_OK = PassiveFlag("RELATED_OBJECT_OK", 4)
INIT_OK = PassiveFlag("INIT_OK", 8)
NON_PERSISTENT_OK = PassiveFlag("NON_PERSISTENT_OK", 16)
# the documented combinations
PASSIVE_OFF = PassiveFlag("PASSIVE_OFF", 31)  # load whatever is needed
PASSIVE_RETURN_NO_VALUE = PassiveFlag("PASSIVE_RETURN_NO_VALUE", 31 ^ 8)
PASSIVE_NO_INITIALIZE = PassiveFlag("PASSIVE_NO_INITIALIZE", 31 ^ 8 ^ 1)  # load nothing
PASSIVE_NO_FETCH = PassiveFlag("PASSIVE_NO_FETCH", 31 ^ 2)  # no SQL
PASSIVE_NO_FETCH_RELATED = PassiveFlag("PASSIVE_NO_FETCH_RELATED", 31 ^ 4)
PASSIVE_ONLY_PERSISTENT = PassiveFlag("PASSIVE_ONLY_PERSISTENT", 31 ^ 16)
# history against the committed state, loading nothing (alone it has no load bits)
LOAD_AGAINST_COMMITTED = PassiveFlag("LOAD_AGAINST_COMMITTED", 32)
for _flag in (NO_CHANGE, CALLABLES_OK, SQL_OK, RELATED_OBJECT_OK, INIT_OK, NON_PERSISTENT_OK,
              LOAD_AGAINST_COMMITTED, PASSIVE_OFF, PASSIVE_RETURN_NO_VALUE,
              PASSIVE_NO_INITIALIZE, PASSIVE_NO_FETCH, PASSIVE_NO_FETCH_RELATED,
              PASSIVE_ONLY_PERSISTENT):
    setattr(PassiveFlag, _flag.name, _flag)
del _flag
NEVER_SET = NO_VALUE


def may_load(passive: Any) -> bool:
    """Does ``passive`` allow loading an unloaded value (running a loader and SQL)?

    ``True``/``False`` are accepted as "don't load"/"load" (the older spelling).
    """
    if passive is True or passive is False or passive is None:
        return not passive
    try:
        bits = int(passive)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"Can't use passive={passive!r}: pass one of the PASSIVE_* flags of "
            "datamapper.attributes, or True/False"
        ) from None
    return bool(bits & CALLABLES_OK) and bool(bits & SQL_OK)


class History(NamedTuple):
    """Changes to one attribute since it was loaded: added, unchanged and deleted values."""

    added: Any
    unchanged: Any
    deleted: Any

    def __bool__(self) -> bool:
        return not self.empty()

    def empty(self) -> bool:
        return not self.added and not self.deleted and not self.unchanged

    def has_changes(self) -> bool:
        return bool(self.added or self.deleted)

    def sum(self) -> list[Any]:
        return list(self.added or ()) + list(self.unchanged or ()) + list(self.deleted or ())

    def non_added(self) -> list[Any]:
        return list(self.unchanged or ()) + list(self.deleted or ())

    def non_deleted(self) -> list[Any]:
        return list(self.added or ()) + list(self.unchanged or ())


HISTORY_BLANK = History((), (), ())


def values_equal(a: Any, b: Any) -> bool:
    """``a == b`` that treats SQL expressions and odd ``__eq__`` results as 'different'."""
    if a is b:
        return True
    try:
        r = a == b
    except Exception:
        return False
    return r is True
