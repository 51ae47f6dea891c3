"""``relationship.property.strategy``: how a relationship lazy loads, shown the way
SQLAlchemy's loader strategy object shows it to programs and tests that inspect it.

Read-only and made on each access: ``use_get`` (the lazy load is a lookup of the
target by primary key, answered from the identity map when the object is there)
and ``_lazywhere`` (the lazy load's criterion, the parent's columns as anonymous
bound parameters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam
from sqlalchemy.sql import visitors
from sqlalchemy.sql.schema import Column

from .mapper import configure_mappers
from .relationship_joins import MANYTOONE

if TYPE_CHECKING:
    from .relationships import RelationshipProperty


class LazyLoadView:
    """What ``RelationshipProperty.strategy`` returns (see the module docstring)."""

    __slots__ = ("prop",)

    def __init__(self, prop: RelationshipProperty) -> None:
        self.prop = prop

    @property
    def use_get(self) -> bool:
        """Whether the lazy load looks the target up by its primary key (a many-to-one
        on the key, or a one-to-one whose target's key is the foreign key)."""
        prop = self.prop
        configure_mappers()
        if prop.secondary is not None or prop._lazy_parent_cols:
            return False
        pairs = list(prop.local_remote_pairs)
        if prop.direction == MANYTOONE and prop._simple_m2o:
            return True  # (to a joined-table subclass's key by its own table's column too)
        return (prop._lazy_nkeys == len(pairs) == len(prop._lazy_params)
                and {rc for _lc, rc in pairs} == set(prop.mapper.primary_key))

    @property
    def _lazywhere(self) -> object:
        """The join condition with the parent's columns as anonymous parameters."""
        prop = self.prop
        configure_mappers()

        def bind(element: object, **kw: object) -> Any:
            if isinstance(element, Column) and prop._is_parent_side(element):
                return bindparam(None, type_=element.type)
            return None

        clause: Any = visitors.replacement_traverse(
            prop.primaryjoin, {}, bind)
        if prop.secondaryjoin is not None:
            clause = and_(clause, prop.secondaryjoin)
        return clause

    def __repr__(self) -> str:
        return f"<lazy loader of {self.prop}>"
