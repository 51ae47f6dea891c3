"""The per-mapper and per-relationship caches of the layers above mapping.

Hot paths of the higher layers precompute things from a mapper's configuration
(the row loader of ``session.get()``, a table's INSERT/UPDATE plan, the
relationships a flush walks ...).  Each of them declares one :class:`CacheSlot`
in its own module, with the type of what it keeps; the value lives in the
``cache`` dict of the :class:`~datamapper.mapping.mapper.Mapper` or
:class:`~datamapper.mapping.relationships.RelationshipProperty` it belongs to.

One invalidation rule for all of them: every cache of every mapper (and of its
relationships) is emptied when the set of mappers or their properties changes:
a mapper is created, configured (``configure_mappers()``), given a property
(``add_property()``) or disposed (``clear_mappers()``).  See
:func:`datamapper.mapping.mapper.invalidate_caches`.  A value may therefore
depend on any mapper's configuration, not only its owner's.

The slots (``grep -rn "CacheSlot(" src``):

==============================  ===========================================  ======
slot                            what                                         owner
==============================  ===========================================  ======
``loading.strategies``          whether a relationship loads eagerly         mapper
``loading.related``             lazy-load SELECT, row loader, eager flag     relationship
``persistence.writes``          the table plan of INSERT/UPDATE/DELETE       mapper
``session.get`` (2)             get() SELECTs by lock mode; get() row loader  mapper
``session.dml_params``          ORM DML: attribute names to columns          mapper
``unitofwork.dependency`` (2)   writable relationships; references to rows   mapper
``unitofwork.rekeyed`` (2)      many-to-ones a key change moves; their keys  mapper
``mapping.inheritance`` (2)     table parts; FROM/criterion of its SELECTs   mapper
==============================  ===========================================  ======

(``Mapper._loader_cache``, the row loaders of queries, is the mapper's own and
is rebuilt with its compiled paths.)
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, cast

_V = TypeVar("_V")


class HasCache(Protocol):
    cache: dict[CacheSlot[Any], Any]


class CacheSlot(Generic[_V]):
    """One typed entry in the ``cache`` of a mapper or relationship."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self, owner: HasCache) -> _V | None:
        return cast("_V | None", owner.cache.get(self))

    def set(self, owner: HasCache, value: _V) -> _V:
        owner.cache[self] = value
        return value

    def __repr__(self) -> str:
        return f"<CacheSlot {self.name}>"
