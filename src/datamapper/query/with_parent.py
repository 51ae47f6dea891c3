"""``with_parent(obj, Parent.children)``: criteria for the objects related to ``obj``.

Callers: users, in ``select(Child).where(with_parent(obj, Parent.children))`` and
``Query.filter()``; ``Query.with_parent()``.  The criterion is the relationship's
lazy-load condition with ``obj``'s values as bound parameters (read when the
statement runs), so it selects what loading ``obj.children`` would.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import ArgumentError, InvalidRequestError

from .._util import describe
from ..mapping.attributes import OfType, QueryableAttribute
from ..mapping.mapper import Mapper, _mapper_or_none
from .aliased import AliasedClass


def with_parent(instance: object, prop: object, from_entity: object = None) -> Any:
    """SQL criteria selecting the targets of relationship ``prop`` related to
    ``instance``; ``from_entity`` (or ``prop.of_type(alias)``) names an aliased()
    target the criteria apply to."""
    if isinstance(prop, str):
        raise ArgumentError(
            f"Can't use with_parent(..., {prop!r}): with_parent() accepts class-bound mapped "
            "attributes, not strings; pass the relationship attribute, e.g. User.addresses"
        )
    if isinstance(prop, OfType):
        if from_entity is None:
            from_entity = prop.target
        prop = prop.attr
    rel = getattr(prop, "prop", None) if isinstance(prop, QueryableAttribute) else None
    while rel is not None and rel.is_synonym:  # (a synonym of a synonym ...)
        rel = rel.target()
    if rel is None or not rel.is_relationship:
        raise ArgumentError(
            f"Expected relationship property for with_parent(), got {prop}; pass a "
            "relationship attribute such as User.addresses"
        )
    if not isinstance(instance, rel.parent.class_):
        raise ArgumentError(
            f"Can't use with_parent({describe(instance)}, {prop}): it is not a "
            f"{rel.parent.class_.__name__} object; pass an instance of the class the "
            "relationship belongs to"
        )
    crit = rel.parent_criterion(instance)
    if from_entity is not None:
        if not isinstance(from_entity, AliasedClass):
            m = _mapper_or_none(from_entity)
            if m is None:
                raise ArgumentError(
                    f"Can't use from_entity={describe(from_entity)} in with_parent(): "
                    "pass the target class or an aliased() entity of it"
                )
            return crit
        crit = from_entity._dm_adapt(crit)
    return crit


def relationship_between(parent: Mapper, target: Mapper) -> object:
    """The first relationship of ``parent`` whose target is ``target`` (for
    ``Query.with_parent(obj)`` without a property)."""
    for prop in parent._props.values():
        if prop.is_relationship and prop.mapper is target:
            return getattr(parent.class_, prop.key)
    raise InvalidRequestError(
        f"Could not locate a property which relates instances of class "
        f"'{parent.class_.__name__}' to instances of class '{target.class_.__name__}'; pass "
        "the relationship attribute to with_parent()"
    )
