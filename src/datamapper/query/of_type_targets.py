"""The of_type() target of a relationship loader option.

``joinedload(A.bs.of_type(aliased(B1)))`` names an entity of one subclass: the
collection holds that subclass's rows only (its tables inner-joined to the base's),
where ``of_type(B1)`` (the plain class) or a with_polymorphic() entity reads every row
of the relationship, with those subclasses' columns too.  One relationship in one
query has one collection to fill, so two options naming it with different targets
are refused (plain classes excepted: they only add the columns they read)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import InvalidRequestError

from ..loading.plans import RelNode
from ..mapping.mapper import Mapper
from ..mapping.relationships import RelationshipProperty
from .aliased import AliasedClass, PolymorphicEntity

# the strategies whose own SELECT (or join) reads the target: the narrowed class
# decides which rows they load
_NARROWING = ("joined", "selectin", "subquery")


def narrowed_mapper(prop: RelationshipProperty, of_type: object) -> Mapper | None:
    """The subclass an ``aliased(Sub)`` of_type() target restricts ``prop``'s rows
    to, or None (a plain class, a with_polymorphic() entity, the target class)."""
    if not isinstance(of_type, AliasedClass) or isinstance(of_type, PolymorphicEntity):
        return None
    m: Mapper = of_type._dm_mapper
    if m is prop.mapper or not m.isa(prop.mapper):
        return None
    return m


def narrow(node: RelNode, of_type: object) -> bool:
    """Have ``node`` load the rows of the subclass ``of_type`` names only (see
    :func:`narrowed_mapper`); whether it did."""
    m = narrowed_mapper(node.prop, of_type)
    if m is None or node.strategy not in _NARROWING:
        return False
    node.plan.mapper = m
    node.plan.customized = True
    return True


def check_same_target(node: RelNode, of_type: object) -> None:
    """Refuse a second, different of_type() target along ``node``'s relationship (the
    same target again, or plain subclasses, are accepted); remembers the target."""
    if of_type is None:
        return
    before: Any = node.of_type
    if before is None or before is of_type or (
            isinstance(before, type) and isinstance(of_type, type)):
        node.of_type = of_type
        return
    prop = node.prop
    raise InvalidRequestError(
        f"Can't load {prop.parent.class_.__name__}.{prop.key} as both "
        f"{_describe(before)} and {_describe(of_type)} in one query: the relationship has "
        "one collection to fill, from one target; name both subclasses in one "
        "with_polymorphic() entity and give that to of_type()")


def _describe(target: object) -> str:
    if isinstance(target, type):
        return target.__name__
    return str(target).strip("<>")
