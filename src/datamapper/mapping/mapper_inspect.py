"""What a :class:`~.mapper.Mapper` answers about its mapping and its objects.

:class:`MapperInspection` is a base class of Mapper holding its read-only public
surface: the property views (``attrs``, ``all_orm_descriptors``, ``columns``,
``relationships``, ``composites``, ``synonyms``, ``iterate_properties``),
property lookup, the identity-key helpers, ``cascade_iterator()`` and the
delete-orphan test.  Called by users through ``inspect(cls)`` / ``class_mapper()``,
by the query layer (``get_property``, ``attrs``), the loading and session layers
(identity keys), mapping/properties.py (``_maps_table``), and the flush and
instance layers (``_is_orphan``).  The views that hand out the mapper itself
(``mapper``, ``iterate_to_root()``, ...) stay in mapping/mapper.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Table
from sqlalchemy.exc import ArgumentError, InvalidRequestError

from .composite import CompositeProperty
from .configure import _all_mappers, cascade_walks, configure_mappers
from .mapper_views import AttrsDict, ColumnsDict, PropsDict
from .properties import ColumnProperty, MapperProperty, SynonymProperty

if TYPE_CHECKING:
    from .mapper import Mapper


class MapperInspection:
    """The read-only public surface of :class:`~.mapper.Mapper` (a base class of it)."""

    # set by Mapper.__init__ and mapping/mapper_setup.py
    class_: type
    local_table: Any
    persist_selectable: Any
    non_table: bool
    inherits: Mapper | None
    tables: list[Table]
    configured: bool
    legacy_is_orphan: bool
    _identity_class: type
    _props: PropsDict
    _col_to_prop: dict[Any, ColumnProperty]
    primary_key: tuple[Column[Any], ...]
    _pk_keys: tuple[str, ...]

    def _delete_orphan_parents(self) -> list[Any]:
        """The delete-orphan relationships of any mapper whose targets are this class."""
        return [p for m in list(_all_mappers) for p in m._props.values()
                if getattr(p, "is_relationship", False) and p._initialized
                and p.mapper is self and p.cascade.delete_orphan and not p.viewonly]

    def _is_orphan(self, state: Any) -> bool:
        """Whether the object of ``state`` counts as a delete-orphan orphan.

        Its parent through a delete-orphan relationship is read from the reverse
        reference on the object (a backref); when that was never set, a persistent
        object is taken to have its parent (the database row says so) and a new one
        not.  ``legacy_is_orphan=False`` (default): an orphan when any such
        relationship has no parent; ``True``: only when none has."""
        rels = self._delete_orphan_parents()
        if not rels:
            return False
        obj = state.obj()
        d = obj.__dict__ if obj is not None else {}
        persistent = state._key is not None
        found = []
        for prop in rels:
            has: bool | None = None
            for rev in prop._reverse_property:
                if rev.uselist:
                    continue
                if rev.key in d:
                    has = d[rev.key] is not None
                    break
                # not loaded: the foreign key columns it reads from, when loaded
                keys = [self._col_to_prop[c].key for c in rev.local_columns
                        if c in self._col_to_prop]
                if keys and all(k in d for k in keys):
                    has = all(d[k] is not None for k in keys)
                    break
            found.append(persistent if has is None else has)
        return not any(found) if self.legacy_is_orphan else not all(found)

    def _maps_table(self, table: object) -> bool:
        return table is self.local_table or (
            (self.inherits is not None or self.non_table) and table in self.tables)

    # -- public surface ----------------------------------------------------
    @property
    def mapped_table(self) -> Any:  # a Table, or a join or SELECT (mapping/selectable.py)
        return self.local_table

    @property
    def selectable(self) -> Any:
        return self.persist_selectable

    @property
    def attrs(self) -> AttrsDict:
        configure_mappers()
        return AttrsDict(self._props)

    @property
    def all_orm_descriptors(self) -> AttrsDict:
        # in the order the classes declare them (PEP 520), nearest class first, a name
        # a subclass declares again (or the mapper installs on it) in its superclass's
        # place: mapped attributes and the other ORM-aware descriptors (hybrids and
        # association proxies say so with ``is_attribute``); then mapped attributes no
        # class body names (columns of a __table__ given whole)
        props = self._props
        mro = self.class_.__mro__[:-1]
        owner: dict[str, type] = {}
        for base in mro:
            for k in base.__dict__:
                owner[k] = base  # the last, most basic class that has it
        found: dict[str, Any] = {}
        for base in mro:
            own = base.__dict__.get("_dm_mapper")
            written = own._body_order if own is not None and own.class_ is base else ()
            for k in (*written, *base.__dict__):
                if k in found or owner.get(k) is not base:
                    continue
                if k in props:
                    found[k] = getattr(self.class_, k)
                    continue
                value = next(b.__dict__[k] for b in mro if k in b.__dict__)
                if getattr(value, "is_attribute", False) is True:
                    found[k] = value
        for k in props:
            if k not in found:
                found[k] = getattr(self.class_, k)
        return AttrsDict(found.items())

    @property
    def columns(self) -> ColumnsDict:
        return ColumnsDict(
            (k, p.columns[0]) for k, p in self._props.items() if isinstance(p, ColumnProperty)
        )

    c = columns

    @property
    def relationships(self) -> AttrsDict:
        configure_mappers()
        return AttrsDict((k, p) for k, p in self._props.items() if p.is_relationship)

    @property
    def composites(self) -> AttrsDict:
        """The mapper's ``composite()`` properties by name."""
        return AttrsDict((k, p) for k, p in self._props.items()
                         if isinstance(p, CompositeProperty))

    @property
    def synonyms(self) -> AttrsDict:
        return AttrsDict((k, p) for k, p in self._props.items() if isinstance(p, SynonymProperty))

    @property
    def iterate_properties(self) -> Iterator[MapperProperty]:
        configure_mappers()
        return iter(self._props.values())

    @property
    def entity(self) -> type:
        return self.class_

    def __clause_element__(self) -> Any:
        # select(inspect(User)) and select(User[...]) (a generic mapped class's alias,
        # which Core resolves through inspect()) select the class, as select(User) does
        return self.class_.__clause_element__()  # type: ignore[attr-defined]  # installed by coercion.install

    def has_property(self, key: str) -> bool:
        return key in self._props

    def get_property(self, key: str) -> MapperProperty:
        if not self.configured:
            configure_mappers()
        try:
            prop: MapperProperty = self._props[key]
            return prop
        except KeyError:
            raise InvalidRequestError(
                f"Mapper for {self.class_.__name__} has no property {key!r}; its mapped "
                f"attributes are {', '.join(sorted(self._props))}"
            ) from None

    def get_property_by_column(self, column: object) -> ColumnProperty:
        return self._col_to_prop[column]

    def identity_key_from_row(self, row: Any, identity_token: Any = None) -> tuple[Any, ...]:
        if hasattr(row, "_mapping"):
            m = row._mapping
            ident = tuple(m[c] for c in self.primary_key)
        else:
            ident = tuple(row[c] for c in self.primary_key)
        return (self._identity_class, ident, identity_token)

    def identity_key_from_primary_key(
        self, primary_key: Any, identity_token: Any = None
    ) -> tuple[Any, ...]:
        return (self._identity_class, tuple(primary_key), identity_token)

    def primary_key_from_instance(self, obj: object) -> tuple[Any, ...]:
        d = obj.__dict__
        return tuple(d.get(k) for k in self._pk_keys)

    def identity_key_from_instance(self, obj: object) -> tuple[Any, ...]:
        return (self._identity_class, self.primary_key_from_instance(obj), None)

    def cascade_iterator(self, type_: str, state: object, halt_on: Callable[[Any], bool] | None = None
                         ) -> Iterator[tuple[Any, Any, Any, Any]]:
        """(object, mapper, state, ``__dict__``) of each object reached from the object
        of ``state`` along relationships whose cascade includes ``type_``
        (``"save-update"``, ``"delete"``, ``"merge"``, ``"expunge"``,
        ``"refresh-expire"``); ``halt_on(state)`` true leaves that object out."""
        if type_ not in ("save-update", "delete", "merge", "expunge", "refresh-expire"):
            raise ArgumentError(
                f"Can't walk cascade {type_!r} of {self.class_.__name__}: name one of "
                "'save-update', 'delete', 'merge', 'expunge', 'refresh-expire'")
        for walk in cascade_walks:
            for rec in walk(type_, state):
                if halt_on is None or not halt_on(rec[2]):
                    yield rec
