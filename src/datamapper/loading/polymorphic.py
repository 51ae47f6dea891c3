"""Rows of a mapper with subclasses -> objects of the class each row's discriminator names.

An :class:`~.rows.EntityLoader` of a mapper that loads polymorphically (it has
a discriminator, ``polymorphic_on``, and mapped subclasses) owns one
:class:`PolymorphicRows`.  Each row is sent to the loader of the mapper its
discriminator value names (made once per mapper, reading the same row
positions); runs of consecutive rows of one class go through the ordinary
row loop together, so results keep the row order.  Attributes of a subclass
that the SELECT did not read are unloaded on the new object and load on
first access.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..exc import InvalidRequestError
from ..instance.seam import SessionLike
from ..mapping.inheritance import describe_identity, maps_prop
from ..mapping.mapper import Mapper

if TYPE_CHECKING:
    from .rows import EntityLoader


class UnknownDiscriminatorError(InvalidRequestError):
    """A row's discriminator value names no mapper of the hierarchy, or one that is not
    the class queried nor below it."""


class PolymorphicRows:
    """Per-row choice of the class to load, for one loader."""

    def __init__(self, loader: EntityLoader, adapt: Any) -> None:
        self.loader = loader
        mapper = loader.mapper
        poly = mapper._poly
        self.map = poly.map
        key = poly.on_key
        if key is not None and key in loader.keys:
            self.position = loader.offset + loader.keys.index(key)
        else:
            # an expression (CASE ...) or an unloaded discriminator: selected after the
            # entity's own columns
            col = poly.on
            if adapt is not None:
                col = adapt(col)
            self.position = loader.offset + len(loader.columns)
            loader.columns.append(col.label(None) if key is None else col)
        self.subs: dict[Mapper, tuple[EntityLoader, tuple[int, ...] | None]] = {}

    def _loader_for(self, mapper: Mapper) -> tuple[EntityLoader, tuple[int, ...] | None]:
        found = self.subs.get(mapper)
        if found is not None:
            return found
        from .rows import EntityLoader

        base = self.loader
        # the columns of the row this class maps (a with_polymorphic SELECT also has
        # its siblings'), read from a row cut down to them when they are not all
        wanted = [i for i, p in enumerate(base.props) if maps_prop(mapper, p)]
        props = [base.props[i] for i in wanted]
        if len(wanted) == len(base.props):
            found = (EntityLoader(mapper, base.offset, props, polymorphic=False), None)
        else:
            found = (EntityLoader(mapper, 0, props, polymorphic=False),
                     tuple(base.offset + i for i in wanted))
        self.subs[mapper] = found
        return found

    def mapper_for(self, row: Sequence[Any]) -> Mapper:
        value = row[self.position]
        base = self.loader.mapper
        if value is None:
            return base
        m: Mapper | None = self.map.get(value)
        if m is None:
            raise UnknownDiscriminatorError(
                f"Can't load a row as {base.class_.__name__}: its "
                + describe_identity(base, value)
                + "; give that class polymorphic_identity=" + repr(value)
                + " or correct the row")
        if m is not base and not m.isa(base):
            raise UnknownDiscriminatorError(
                f"Can't load a row as {base.class_.__name__}: its discriminator "
                f"{base.polymorphic_on} is {value!r}, the identity of "
                f"{m.class_.__name__}, which is not {base.class_.__name__} nor one of its "
                "subclasses")
        return m

    def instances(self, session: SessionLike, rows: Iterable[Sequence[Any]],
                  populate_existing: bool, identity_token: Any) -> list[Any]:
        from .rows import _instances

        out: list[Any] = []
        run: list[Any] = []
        current: tuple[EntityLoader, tuple[int, ...] | None] | None = None
        mapper_for = self.mapper_for
        pk0 = self.loader.pk_positions[0]
        for row in rows:
            if row[pk0] is None:
                target = self._loader_for(self.loader.mapper)
            else:
                target = self._loader_for(mapper_for(row))
            if target is not current:
                if run and current is not None:
                    out.extend(_instances(session, current[0], run, populate_existing,
                                          identity_token))
                run = []
                current = target
            positions = target[1]
            run.append(row if positions is None else tuple([row[i] for i in positions]))
        if run and current is not None:
            out.extend(_instances(session, current[0], run, populate_existing, identity_token))
        return out
