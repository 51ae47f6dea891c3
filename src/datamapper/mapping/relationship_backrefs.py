"""The two sides of a relationship: ``back_populates``, ``backref()``, and the
rules between relationships that write the same columns.

Run at the end of :meth:`RelationshipProperty.do_init
<datamapper.mapping.relationships.RelationshipProperty.do_init>`, once the join
analysis has fixed the direction and the column pairs:

- :func:`back_populates_partner` finds and checks the relationship named by
  ``back_populates=``; :func:`backref_arguments` gives the arguments of the reverse
  relationship ``backref=`` asks to create (its join condition, foreign keys and
  ``uselist`` mirrored from this side);
- :func:`check_sync_backref` and :func:`check_directions` refuse pairs that can't be
  reverses of each other;
- :func:`warn_overlapping_sync_targets` warns when unrelated relationships copy keys
  into the same column at flush.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import ArgumentError, InvalidRequestError, SAWarning

from .relationship_clauses import reversed_occurrences
from .relationship_joins import MANYTOMANY, MANYTOONE, ONETOMANY

if TYPE_CHECKING:
    from .relationships import RelationshipProperty

# column written at flush -> {relationship writing it: the column it copies from}
_SYNC_TARGETS: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[Any, Any]] = (
    weakref.WeakKeyDictionary())


def back_populates_partner(prop: RelationshipProperty) -> RelationshipProperty:
    """The relationship on the target that ``back_populates=`` names, checked to be a
    relationship referring back to ``prop``'s class."""
    target = prop.mapper
    name = _back_populates_key(prop)
    other = target._props.get(name)
    if other is None:
        raise InvalidRequestError(
            f"Can't configure relationship {prop.qualname}: back_populates="
            f"{name!r} names no relationship on "
            f"{target.class_.__name__}; add it there (with back_populates="
            f"{prop.key!r})"
        )
    if not getattr(other, "is_relationship", False):
        raise InvalidRequestError(
            f"Can't configure relationship {prop.qualname}: back_populates="
            f"{name!r} names the attribute {target.class_.__name__}.{name}, which "
            "is not a relationship; name the relationship on "
            f"{target.class_.__name__} that links back to "
            f"{prop.parent.class_.__name__}"
        )
    partner: RelationshipProperty = other
    other_target = partner.target_mapper()
    if other_target is not prop.parent:
        raise ArgumentError(
            f"Can't configure relationship {prop.qualname}: back_populates={name!r} "
            f"names {partner.qualname}, which refers to "
            f"{other_target.class_.__name__}, not {prop.parent.class_.__name__}; "
            "the two sides of back_populates must refer to each other's classes"
        )
    return partner


def backref_arguments(prop: RelationshipProperty) -> tuple[str, Any, dict[str, Any]]:
    """(name, secondary, keyword arguments) of the reverse relationship that
    ``backref=`` asks for: the user's keywords, completed with this side's join
    condition, foreign keys and the opposite ``uselist``."""
    target = prop.mapper
    if isinstance(prop.backref, str):
        name, kw = prop.backref, {}
    else:
        name, kw = prop.backref.name, dict(prop.backref.kwargs)
    if name in target._props:
        raise ArgumentError(
            f"Can't create backref {name!r} for {prop.qualname}: "
            f"{target.class_.__name__} already has an attribute {name!r}; pick another name "
            "or use back_populates on both sides"
        )
    kw.setdefault("passive_updates", prop.passive_updates)  # as SQLAlchemy's backref
    if prop.secondary is not None:
        kw.setdefault("primaryjoin", prop.secondaryjoin)
        kw.setdefault("secondaryjoin", prop.primaryjoin)
        kw.setdefault("foreign_keys", [c for _a, c in prop.synchronize_pairs]
                      + [c for _a, c in prop.secondary_synchronize_pairs])
        return name, prop.secondary, kw
    if prop._remote_occurrences and "primaryjoin" not in kw:
        # one column on both sides of a self-referential condition (remote() kept per
        # occurrence): the reverse's remote side is this one's local occurrences
        foreign: set[Any] = {f for _r, f in prop.synchronize_pairs} \
            if prop.direction == MANYTOONE else set()
        kw["primaryjoin"] = reversed_occurrences(prop.primaryjoin, foreign)
    kw.setdefault("primaryjoin", prop.primaryjoin)
    kw.setdefault("foreign_keys", [f for _r, f in prop.synchronize_pairs])
    if prop.parent.local_table is prop.mapper.local_table \
            and prop.direction == MANYTOONE:
        # self-referential: the reverse of a many-to-one is the one-to-many (the
        # reverse of a one-to-many is not guessed: as in SQLAlchemy, a backref
        # without remote_side= is a one-to-many too, refused below)
        kw.setdefault("remote_side", [f for _r, f in prop.synchronize_pairs])
    if "uselist" not in kw and prop.direction == MANYTOONE:
        kw["uselist"] = True
    if "uselist" not in kw and prop.direction == ONETOMANY:
        kw["uselist"] = False
    if prop.viewonly:
        kw.setdefault("viewonly", True)
    kw.setdefault("sync_backref", prop.sync_backref)
    return name, kw.pop("secondary", None), kw


def _back_populates_key(prop: RelationshipProperty) -> str:
    """The name given by ``back_populates``: a string, the reverse attribute
    (``User.addresses``), or a callable returning either."""
    from .attributes import QueryableAttribute

    value = prop.back_populates
    if callable(value) and not isinstance(value, QueryableAttribute):
        value = value()
    if isinstance(value, QueryableAttribute):
        value = value.key
    if not isinstance(value, str):
        raise ArgumentError(
            f"Can't configure relationship {prop.qualname}: back_populates={value!r} is "
            "neither the name of the reverse relationship nor that attribute; pass "
            "e.g. back_populates=\"user\""
        )
    prop.back_populates = value
    return value


def check_directions(prop: RelationshipProperty, other: RelationshipProperty) -> None:
    """A backref pair links a one-to-many with a many-to-one (or two many-to-many)."""
    if not (prop.configured and other.configured):
        return  # checked when the other side is configured
    if prop.direction == other.direction and prop.direction != MANYTOMANY:
        side = "one-to-many" if prop.direction == ONETOMANY else "many-to-one"
        referenced = ", ".join(str(r) for r, _f in prop.synchronize_pairs)
        raise ArgumentError(
            f"Can't configure relationships {prop.qualname} and {other.qualname} as "
            f"reverses of each other: both are {side} ({prop.direction}); for a "
            "self-referential pair give remote_side= (the referenced columns) to the "
            f"many-to-one side only, e.g. remote_side=[{referenced}] (with a backref: "
            f"backref(\"name\", remote_side=[{referenced}]))"
        )


def check_sync_backref(prop: RelationshipProperty, other: RelationshipProperty) -> None:
    """A viewonly side never tells the other side about changes; and the other side
    tells it only when asked to (``sync_backref=True``), never by default."""
    for a, b in ((prop, other), (other, prop)):
        if not a.viewonly:
            continue
        if b.sync_backref:
            raise InvalidRequestError(
                f"Can't configure relationship {b.qualname} with sync_backref=True: its "
                f"reverse side {a.qualname} is viewonly=True, and a viewonly relationship "
                "is never changed by its backref; drop sync_backref=True"
            )
        if not b.viewonly:
            b.sync_backref = False


def _sync_targets(prop: RelationshipProperty) -> list[tuple[Any, Any]]:
    """(source column, written column) for each column the flush sets from the
    related row (foreign key columns, or the secondary table's columns)."""
    return list(prop.synchronize_pairs) + list(prop.secondary_synchronize_pairs)


def warn_overlapping_sync_targets(prop: RelationshipProperty) -> None:
    """Warn when another relationship, not this one's reverse nor named in
    ``overlaps=``, writes a column this one writes: the flush would set it twice,
    from two unrelated attributes, and the last write wins."""
    if prop.viewonly:
        return
    for src, dest in _sync_targets(prop):
        if prop.target_alias is not None and dest.table is prop.mapper.local_table:
            # the target's columns written through an alias of its own (as
            # SQLAlchemy sees them: columns of that alias, no other relationship's)
            continue
        writers = _SYNC_TARGETS.setdefault(dest, weakref.WeakKeyDictionary())
        others = _conflicting_writers(prop, writers)
        if others:
            listed = ", ".join(f"'{p.qualname}' (copies {p_src} to {dest})"
                               for p, p_src in others)
            names = ",".join(sorted({p.key for p, _s in others}))
            warnings.warn(
                f"relationship '{prop.qualname}' will copy column {src} to column {dest}, "
                f"which conflicts with relationship(s): {listed}. Each of them sets that "
                "column at flush and the last one processed wins. If they describe the "
                "same link, pair them with back_populates; if one of them only reads, "
                "give it viewonly=True; if foreign key constraints only partly overlap, "
                "mark the columns this relationship writes with foreign() in its "
                f"primaryjoin. If the overlap is intended, add the parameter "
                f"'overlaps=\"{names}\"' to the '{prop.qualname}' relationship to "
                "silence this warning.",
                SAWarning, stacklevel=2,
            )
        writers[prop] = src


def _conflicting_writers(prop: RelationshipProperty,
                         writers: Mapping[RelationshipProperty, Any]
                         ) -> list[tuple[RelationshipProperty, Any]]:
    """The other relationships writing a column ``prop`` writes (``writers``: each with
    the column it copies) that are neither its reverse nor named in ``overlaps=``."""
    from .mapper import _all_mappers

    return sorted(
        ((p, p_src) for p, p_src in list(writers.items())
         if p is not prop and p not in prop._reverse_property
         and p.key not in prop.overlaps and prop.key not in p.overlaps
         and p.parent in _all_mappers and p.configured and not p.viewonly
         and not _same_link_in_hierarchy(prop, p)),
        key=lambda item: item[0].qualname)


def _same_link_in_hierarchy(prop: RelationshipProperty, other: RelationshipProperty) -> bool:
    """Relationships of one inheritance hierarchy that can't both apply to a row:
    on sibling classes (or towards siblings), or a subclass's relationship of the
    same name as its superclass's (an override)."""
    def sibling(a: Any, b: Any) -> bool:
        return a.base_mapper is b.base_mapper and not a.isa(b) and not b.isa(a)

    if sibling(prop.parent, other.parent) or sibling(prop.mapper, other.mapper) \
            or sibling(prop.parent, other.mapper) or sibling(prop.mapper, other.parent):
        return True
    return prop.key == other.key and prop.parent.common_parent(other.parent)
