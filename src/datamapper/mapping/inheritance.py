"""Mapper inheritance: a mapped class whose mapper extends its base class's mapper.

Two layouts are provided:

- **single table**: the subclass has no table of its own (``local_table`` is the
  base's); its rows are told apart by a *discriminator* column
  (``polymorphic_on``), and a query of the subclass adds
  ``discriminator IN (identities of the subclass and its descendants)``;
- **joined table**: the subclass has its own table whose primary key refers to
  the base table's; an object's row is one row of each table on the way from
  the base down to its class (``persist_selectable`` is their join).

Every mapper of a hierarchy shares the base's identity (``_identity_class``):
one row of the base table is one object, whatever class its discriminator
names.  The mapping layer only configures: this module computes the facts the
loading, persistence and query layers read (``Mapper._poly``, the inherited
properties, the key synchronisation between joined tables).  Plain mappers
keep ``_poly`` None, so the hot paths pay one attribute test per query, none
per row.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Table, and_
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoForeignKeysError
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause, Join

from .._core import from_objects
from ..exc import SAWarning
from . import selectable as selmap
from .cache import CacheSlot
from .properties import ColumnProperty, MapperProperty

if TYPE_CHECKING:
    from .mapper import Mapper


class PolymorphicInfo:
    """What the layers above need to know of one mapper of a hierarchy.

    ``on``: the discriminator column or SQL expression (None when the hierarchy
    has none: every row then loads as the class queried); ``on_key``: the
    attribute holding it (None for an unmapped expression); ``identity``: this
    mapper's discriminator value; ``map``: value -> mapper, shared by the
    hierarchy.
    """

    __slots__ = ("mapper", "on", "on_key", "identity", "map", "_criterion")

    def __init__(self, mapper: Mapper) -> None:
        self.mapper = mapper
        self.on: Any = mapper.polymorphic_on
        self.on_key: str | None = None
        if self.on is not None:
            prop = mapper._col_to_prop.get(self.on)
            if prop is not None:
                self.on_key = prop.key
        self.identity = mapper.polymorphic_identity
        self.map = mapper.polymorphic_map
        self._criterion: Any = None

    def identities(self) -> list[Any]:
        """The discriminator values of this mapper and every mapper below it."""
        return [m.polymorphic_identity for m in self.mapper.self_and_descendants
                if m.polymorphic_identity is not None]

    def criterion(self) -> Any:
        """``discriminator IN (...)`` for a single-table subclass, else None."""
        m = self.mapper
        if not m.single or self.on is None:
            return None
        crit = self._criterion
        if crit is None:
            idents = self.identities()
            if not idents:
                return None
            crit = self._criterion = self.on.in_(idents)
        return crit

    @property
    def loads_polymorphically(self) -> bool:
        """Rows of this mapper may stand for objects of its subclasses (joined or
        single-table ones, or concrete ones whose identity its discriminator names)."""
        if self.on is None:
            return False
        m = self.mapper
        return bool(m._subclass_mappers) or any(
            sub.concrete and sub is not m and sub.isa(m) for sub in self.map.values())


# -- construction (called by Mapper.__init__) ------------------------------------------
def parent_mapper(class_: type, inherits: object, concrete: bool) -> Mapper | None:
    """The mapper ``inherits=`` names (a mapped class or a Mapper), checked."""
    if inherits is None:
        return None  # concrete=True on a hierarchy's base class says nothing more
    from .mapper import Mapper, _mapper_or_none

    parent = inherits if isinstance(inherits, Mapper) else _mapper_or_none(inherits)
    if parent is None:
        raise ArgumentError(
            f"Can't map {class_.__name__} with inherits={inherits!r}: that is not a mapped "
            "class or a Mapper; map the base class first"
        )
    if not (isinstance(class_, type) and issubclass(class_, parent.class_)):
        raise ArgumentError(
            f"Can't map {class_.__name__} with inherits={parent.class_.__name__}: the class "
            f"must be a Python subclass of {parent.class_.__name__}"
        )
    return parent


def setup_concrete(mapper: Mapper, parent: Mapper) -> None:
    """``concrete=True``: the class is a subclass (``isa()``, binds of base classes
    apply) but its mapper is a mapper of its own table, sharing nothing with its
    base's: no inherited attributes, its own identity, no polymorphic loading of
    it through the base (which would need a UNION of the tables)."""
    if mapper.local_table is parent.local_table:
        raise ArgumentError(
            f"Can't map {mapper.class_.__name__} with concrete=True on its base's table "
            f"{parent.local_table.name!r}: a concrete subclass has a table of its own"
        )
    mapper.inherits = parent
    mapper.concrete = True


def setup_concrete_discriminator(mapper: Mapper, polymorphic_on: object,
                                 identity: object) -> None:
    """A concrete subclass naming a discriminator column of its own table: its rows
    are written with its ``polymorphic_identity`` there (and read back as its class),
    as any mapper with a discriminator; it shares no discriminator with its base."""
    mapper.polymorphic_on = _resolve_discriminator(mapper, polymorphic_on, None)
    mapper.polymorphic_map = {}
    if identity is not None:
        mapper.polymorphic_map[identity] = mapper
    mapper._poly = PolymorphicInfo(mapper)


def register_concrete_identity(mapper: Mapper, identity: object) -> None:
    """A concrete subclass with a ``polymorphic_identity`` under a base with a
    discriminator (the base mapped to a ``polymorphic_union()`` of the subclasses'
    tables, ``polymorphic_on`` its ``type`` column): a row of a query of the base whose
    discriminator is ``identity`` loads as the subclass, from the columns of the row
    its attributes' names match (as SQLAlchemy does)."""
    base = mapper.inherits
    while base is not None and base.polymorphic_on is None:
        base = base.inherits
    if base is None or not all(f is base.local_table
                               for f in from_objects(base.polymorphic_on)):
        # (a discriminator read from another selectable than the base's own: its rows
        # are not read with the base's; they load as the base class, as before)
        return
    existing = base.polymorphic_map.get(identity)
    if existing is not None and existing is not mapper:
        warnings.warn(
            f"polymorphic_identity {identity!r} of {mapper.class_.__name__} was that of "
            f"{existing.class_.__name__}; rows with it now load as "
            f"{mapper.class_.__name__}", SAWarning, stacklevel=4)
    base.polymorphic_map[identity] = mapper
    for m in base.iterate_to_root():
        m._loader_cache = {}  # its rows may stand for objects of the new class now


def setup_inherits(mapper: Mapper, parent: Mapper, local_table: Any,
                   inherit_condition: Any) -> None:
    """Link ``mapper`` below ``parent``: tables, identity, inherited properties."""
    mapper.inherits = parent
    mapper.base_mapper = parent.base_mapper
    mapper._identity_class = parent._identity_class
    if local_table is parent.local_table:
        mapper.single = True
        mapper.tables = list(parent.tables)
        mapper.persist_selectable = parent.persist_selectable
    else:
        if inherit_condition is None:
            try:
                inherit_condition = sql_util.join_condition(parent.local_table, local_table)
            except (NoForeignKeysError, ArgumentError) as err:
                raise ArgumentError(
                    f"Can't map {mapper.class_.__name__} inheriting "
                    f"{parent.class_.__name__}: table {local_table.name!r} has no foreign key "
                    f"to {parent.local_table.name!r} to join the two by ({err}); give it one, "
                    "pass inherit_condition=, or map it without a table of its own "
                    "(single-table inheritance)"
                ) from None
        mapper.inherit_condition = inherit_condition
        mapper.tables = [*parent.tables, local_table]
        mapper.persist_selectable = parent.persist_selectable.join(
            local_table, inherit_condition)
    for key, prop in parent._props.items():
        if user_descriptor_below(mapper.class_, parent.class_, key):
            continue  # the subclass's own descriptor stands in for the attribute
        inherit_property(mapper, key, prop)
    for name, fn, opts in parent.dispatch.propagated():
        mapper.dispatch.add(name, fn, opts)
    parent._subclass_mappers.append(mapper)
    for m in parent.iterate_to_root():
        m._loader_cache = {}  # its rows may stand for objects of the new class now


def user_descriptor_below(cls: type, base: type, key: str) -> bool:
    """Whether ``cls`` (or a class between it and the mapped ``base``) defines ``key`` as
    an attribute of the program's own (a ``@property``, a method, a hybrid, a plain
    class-level value): the first class in ``cls``'s MRO holding the name decides, as
    Python's lookup does.  The subclass's mapper then leaves the base's attribute of
    that name out, as in SQLAlchemy, so that the program's attribute keeps working on
    the subclass's objects (a base's ``declared_attr`` overridden below included)."""
    if key in getattr(cls, "__dataclass_fields__", ()):
        return False  # (a dataclass field's default, not an override)
    for klass in cls.__mro__:
        if klass is base:
            return False
        if key not in klass.__dict__:
            continue
        return is_program_attribute(klass.__dict__[key])
    return False


# modules whose objects are descriptors a program adds, not mapping declarations
_PROGRAM_MODULES = ("sqlalchemy.ext.", "datamapper.associationproxy", "datamapper.ext.")


def is_program_attribute(value: object) -> bool:
    """Whether a class attribute is the program's own rather than a mapping declaration
    (a Core column, this package's constructs: ``mapped_column()``, ``declared_attr``,
    instrumented attributes, properties) or ``None`` (a placeholder, not an override)."""
    if value is None or isinstance(value, ColumnElement):
        return False
    module = type(value).__module__
    return module.startswith(_PROGRAM_MODULES) or \
        not module.startswith(("datamapper.", "sqlalchemy."))


def inherit_property(mapper: Mapper, key: str, prop: MapperProperty) -> None:
    """Give ``mapper`` its base's property ``key`` (the same object: configured once)."""
    mapper._props[key] = prop
    if isinstance(prop, ColumnProperty):
        for c in prop.columns:
            mapper._col_to_prop.setdefault(c, prop)


def extend_inherited_column(mapper: Mapper, key: str, inherited: ColumnProperty,
                            col: object) -> None:
    """A column of the subclass table named as an inherited column attribute: one
    attribute of ``mapper`` maps both (the base table's column first: rows are read
    and written by it).  In SQL the attribute is the subclass table's column
    (``Manager.id`` is ``manager.id``, as in SQLAlchemy): a join condition written
    with it (``Person.manager_id == Manager.id``) names the subclass's row."""
    new = ColumnProperty(*inherited.columns, col, deferred=inherited.deferred,
                         group=inherited.group, active_history=inherited.active_history,
                         expire_on_flush=inherited.expire_on_flush, info=inherited.info,
                         doc=inherited.doc)
    new._expression_at = len(new.columns) - 1
    mapper._add_property(key, new)
    for c in new.columns:
        mapper._col_to_prop[c] = new


def setup_polymorphic(mapper: Mapper, polymorphic_on: object, identity: object,
                      with_polymorphic: object) -> None:
    """Discriminator, identity map of the hierarchy, key synchronisation."""
    parent = mapper.inherits
    if polymorphic_on is not None:
        mapper.polymorphic_on = _resolve_discriminator(
            mapper, polymorphic_on, _given_poly_selectable(mapper, with_polymorphic))
    elif parent is not None:
        mapper.polymorphic_on = parent.polymorphic_on
    mapper.polymorphic_map = parent.polymorphic_map if parent is not None else {}
    if identity is not None and mapper.polymorphic_on is None and mapper.single:
        # a single-table subclass's rows are told from its base's by nothing else
        raise ArgumentError(
            f"Can't map {mapper.class_.__name__} with polymorphic_identity={identity!r}: "
            "it shares its base's table, and no mapper of its hierarchy names the "
            "discriminator column that tells its rows apart; give the base class's mapper "
            "polymorphic_on=<column> (e.g. __mapper_args__ = {'polymorphic_on': 'type', "
            "...})")
    # a polymorphic_identity of a base or joined-table class in a hierarchy without a
    # discriminator column (a mixin's __mapper_args__ giving every class one) is kept on
    # the mapper only, as in SQLAlchemy: each class has rows of its own table
    if identity is not None and mapper.polymorphic_on is not None:
        existing = mapper.polymorphic_map.get(identity)
        if existing is not None and existing is not mapper:
            warnings.warn(
                f"polymorphic_identity {identity!r} of {mapper.class_.__name__} was that of "
                f"{existing.class_.__name__}; rows with it now load as "
                f"{mapper.class_.__name__}", SAWarning, stacklevel=4)
        mapper.polymorphic_map[identity] = mapper
    if with_polymorphic is not None:
        mapper.with_polymorphic = _with_polymorphic_spec(mapper, with_polymorphic)
        if isinstance(with_polymorphic, (tuple, list)) and len(with_polymorphic) == 2 \
                and isinstance(with_polymorphic[1], FromClause):
            mapper._poly_selectable = with_polymorphic[1]
    elif parent is not None:
        mapper.with_polymorphic = parent.with_polymorphic
    if parent is not None and not mapper.single:
        mapper._inherit_sync = _sync_pairs(mapper)
    if parent is not None or mapper.polymorphic_on is not None:
        for m in mapper.iterate_to_root():
            m._poly = PolymorphicInfo(m)


def _discriminator_named(mapper: Mapper, name: str) -> Any:
    """``polymorphic_on="name"``: the mapped attribute's column, else the column of one
    of the mapper's tables (the nearest first)."""
    prop = mapper._props.get(name)
    if isinstance(prop, ColumnProperty):
        return prop.columns[0]
    for t in reversed(mapper.tables):
        if name in t.c:
            return t.c[name]
    raise ArgumentError(
        f"Can't map {mapper.class_.__name__} with polymorphic_on={name!r}: it names no "
        f"mapped attribute or column of {', '.join(t.name for t in mapper.tables)}"
    )


def _given_poly_selectable(mapper: Mapper, with_polymorphic: object) -> Any:
    """The selectable of ``with_polymorphic=(classes, selectable)`` given to ``mapper``
    or the nearest of its bases, or None."""
    if isinstance(with_polymorphic, (tuple, list)) and len(with_polymorphic) == 2 \
            and isinstance(with_polymorphic[1], FromClause):
        return with_polymorphic[1]
    for m in mapper.iterate_to_root():
        if m is not mapper and m._poly_selectable is not None:
            return m._poly_selectable
    return None


def _discriminator_column(mapper: Mapper, value: Column[Any], poly_sel: Any) -> Any:
    """``polymorphic_on=Column``: that column of one of the mapper's tables (the same
    key in a table of the same name: a column not attached yet); a column of a
    selectable over the tables (the ``with_polymorphic`` selectable, a
    ``polymorphic_union()`` of them) is the table's column it reads, written on
    flush; a column only ``poly_sel`` (the mapping's ``with_polymorphic``
    selectable) has (a union's own ``type`` literal) is read from that selectable
    and never written."""
    for t in mapper.tables:
        if value.table is t:
            return value
        if value.key in t.c and (value.table is None or value.table.name == t.name):
            return t.c[value.key]
    if value.table is not None:
        for t in reversed(mapper.tables):
            col = t.corresponding_column(value)
            if col is not None:
                return col
        if poly_sel is not None and poly_sel.corresponding_column(value) is not None:
            return value
    raise ArgumentError(
        f"Can't map {mapper.class_.__name__} with polymorphic_on={value}: the column is "
        f"not in {', '.join(t.name for t in mapper.tables)}"
    )


def _resolve_discriminator(mapper: Mapper, value: object, poly_sel: Any) -> Any:
    if isinstance(value, str):
        return _discriminator_named(mapper, value)
    prop = getattr(value, "prop", None)
    if isinstance(prop, ColumnProperty):  # a mapped attribute
        return prop.columns[0]
    column = getattr(value, "column", None)
    if isinstance(value, MapperProperty) and isinstance(value, ColumnProperty):
        return value.columns[0]
    if column is not None and not isinstance(value, ColumnElement):
        value = column  # mapped_column()
    if isinstance(value, Column):
        return _discriminator_column(mapper, value, poly_sel)
    if isinstance(value, ColumnElement):
        return value  # a SQL expression (CASE ...): read with each row, never written
    raise ArgumentError(
        f"Can't map {mapper.class_.__name__} with polymorphic_on={value!r}: give a column, "
        "the name of a mapped attribute, or a SQL expression"
    )


def _with_polymorphic_spec(mapper: Mapper, spec: object) -> Any:
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and (
            spec[0] == "*" or isinstance(spec[0], (list, tuple))) and (
            spec[1] is None or isinstance(spec[1], FromClause)):
        # (classes, selectable), as a tuple or a list: the selectable is built from the
        # tables
        spec = spec[0]
    if spec == "*" or spec is None:
        return spec
    if isinstance(spec, (list, tuple)):
        return list(spec)
    return [spec]


def with_polymorphic_mappers(mapper: Mapper) -> list[Mapper]:
    """The mappers whose columns a query of ``mapper`` also selects (outer joined)."""
    spec = mapper.with_polymorphic
    # polymorphic_load="inline" on a subclass: its columns come with every query of
    # its bases, as if the bases named it in with_polymorphic
    inline = [m.class_ for m in mapper.self_and_descendants
              if m is not mapper and getattr(m, "polymorphic_load", None) == "inline"]
    if spec is None:
        return resolve_polymorphic(mapper, inline, strict=False) if inline else []
    out = resolve_polymorphic(mapper, spec, strict=False)
    if inline:
        out.extend(m for m in resolve_polymorphic(mapper, inline, strict=False)
                   if m not in out)
    return out


def resolve_polymorphic(mapper: Mapper, spec: Any, strict: bool = True) -> list[Mapper]:
    """The mappers below ``mapper`` that ``spec`` names (``"*"``: every one; else a list
    of classes or mappers), each after the mappers between it and ``mapper``.
    ``strict``: a class not below ``mapper`` is an error (else it is skipped: a
    ``with_polymorphic`` inherited from a base names its siblings too)."""
    from .mapper import _mapper_or_none

    if spec == "*":
        return [m for m in mapper.self_and_descendants if m is not mapper]
    out: list[Mapper] = []
    for c in spec:
        m = _mapper_or_none(c)
        if m is None:
            raise InvalidRequestError(
                f"Can't use with_polymorphic={spec!r} on {mapper.class_.__name__}: {c!r} is "
                "not a mapped class"
            )
        chain = []
        for step in m.iterate_to_root():
            if step is mapper:
                break
            chain.append(step)
        else:
            if strict:  # (SQLAlchemy's error class for it)
                raise InvalidRequestError(
                    f"Can't load {m.class_.__name__} polymorphically with "
                    f"{mapper.class_.__name__}: it is not a subclass of "
                    f"{mapper.class_.__name__}; name classes that inherit from it"
                )
            continue  # not below mapper (a with_polymorphic inherited from a base)
        for step in reversed(chain):
            if step not in out:
                out.append(step)
    return out


def polymorphic_from(mapper: Mapper, mappers: list[Mapper], innerjoin: bool = False) -> Any:
    """The FROM of a SELECT of ``mapper``'s rows with the columns of ``mappers`` (below
    it): its own table(s), joined (outer, unless ``innerjoin``) to theirs, and to the
    selectable its discriminator is read from when that is none of them."""
    sel: Any = mapper.persist_selectable
    seen = set(mapper.tables)
    for m in mappers:
        if not m.single and not m.concrete and m.local_table not in seen:
            sel = sel.join(m.local_table, m.inherit_condition, isouter=not innerjoin)
            seen.add(m.local_table)
    return _with_discriminator_source(mapper, sel)


def polymorphic_props(mapper: Mapper, mappers: list[Mapper]) -> tuple[Any, ...]:
    """``mapper``'s load columns, then those of ``mappers`` it does not map.  Two
    sibling classes may each map an attribute of one name to a column of their own
    table (Engineer.status, Manager.status): both are read."""
    if not mappers:
        return mapper._load_props
    out = list(mapper._load_props)
    taken = {id(p) for p in out}
    cols = {id(c) for p in out for c in p.columns}
    for m in mappers:
        for p in m._load_props:
            if id(p) in taken or any(id(c) in cols for c in p.columns):
                continue  # the same property, or one over a column already read
            taken.add(id(p))
            cols.update(id(c) for c in p.columns)
            out.append(p)
    return tuple(out)


def maps_prop(mapper: Mapper, prop: Any) -> bool:
    """Whether ``prop`` (read by a SELECT of a hierarchy) is ``mapper``'s attribute of
    that name: the same property, or one over the same column (a joined subclass's key
    attribute also maps its own table's column); a sibling's namesake is not."""
    own = mapper._props.get(prop.key)
    if own is None:
        return False
    if own is prop:
        return True
    first = prop.columns[0] if prop.columns else None
    if first is not None and any(c is first for c in getattr(own, "columns", ())):
        return True
    # a concrete subclass read through its base's polymorphic_union(): the union's
    # column of the attribute's name
    return mapper.concrete and isinstance(own, ColumnProperty) and \
        isinstance(prop, ColumnProperty) and first is not None


def _sync_pairs(mapper: Mapper) -> tuple[tuple[str, str], ...]:
    """(base attribute, subclass attribute) for each column pair the inherit condition
    equates whose attributes differ: the subclass row's key is copied from the base's."""
    pairs: list[tuple[str, str]] = []
    table = mapper.local_table

    def visit(binary: Any) -> None:
        left, right = binary.left, binary.right
        if not (isinstance(left, Column) and isinstance(right, Column)):
            return
        if right.table is table and left.table is not table:
            left, right = right, left
        if left.table is not table:
            return
        src = mapper._col_to_prop.get(right)
        dest = mapper._col_to_prop.get(left)
        if src is not None and dest is not None and src.key != dest.key:
            pairs.append((src.key, dest.key))

    from sqlalchemy.sql import visitors

    visitors.traverse(mapper.inherit_condition, {}, {"binary": visit})
    return tuple(pairs)


def forget(mapper: Mapper) -> None:
    """``mapper`` is disposed: its base no longer names it."""
    parent = mapper.inherits
    if parent is None:
        return
    if mapper in parent._subclass_mappers:
        parent._subclass_mappers.remove(mapper)
    for k, m in list(mapper.polymorphic_map.items()):
        if m is mapper:
            del mapper.polymorphic_map[k]
    for m in parent.iterate_to_root():
        m._loader_cache = {}
        if m._poly is not None:
            m._poly = PolymorphicInfo(m)


def class_criterion(mapper: Mapper) -> Any:
    """The WHERE a SELECT of ``mapper``'s rows needs (single-table subclass), or None."""
    poly = mapper._poly
    return poly.criterion() if poly is not None else None


def entity_source(mapper: Mapper) -> tuple[Any, Any]:
    """(FROM, WHERE) a SELECT of ``mapper``'s objects needs beyond its columns: the
    join of the tables of a joined-table subclass (outer joined to the tables of the
    ``with_polymorphic`` subclasses), the discriminator criterion of a single-table
    subclass; (None, None) for a mapper without inheritance."""
    if mapper._poly is None:
        return None, None
    found = _SOURCE.get(mapper)
    if found is None:
        sel = polymorphic_from(mapper, with_polymorphic_mappers(mapper))
        # a join-mapped class's FROM is its join (a subquery's columns name their FROM)
        joined = sel is not mapper.local_table or isinstance(sel, Join)
        # one object per mapper: a join to the class (along a relationship) names
        # this same FROM, which Core then reads once
        found = _SOURCE.set(mapper, ((sel if joined else None), class_criterion(mapper)))
    return found


def _with_discriminator_source(mapper: Mapper, sel: Any) -> Any:
    """``sel`` outer joined, on the primary key, to each selectable the discriminator
    is read from that is not one of its tables: a ``polymorphic_on`` naming a column
    of the mapping's ``with_polymorphic=(classes, selectable)`` selectable only (a
    ``polymorphic_union()`` telling each row's class).  Named in the SELECT list alone,
    it would make a cartesian product with the tables."""
    on = mapper.polymorphic_on
    if on is None or mapper.concrete:
        return sel
    for source in from_objects(on):
        if sel.is_derived_from(source):
            continue
        pairs = []
        for pk in mapper.primary_key:
            col = source.corresponding_column(pk)
            if col is None:
                col = source.c.get(pk.key)
            if col is None:
                return sel  # no way to match its rows to the tables' (left as it was)
            pairs.append(col == pk)
        sel = sel.outerjoin(source, and_(*pairs))
    return sel


def join_target(mapper: Mapper) -> Any:
    """What a join to ``mapper``'s class (along a relationship, or to the class) joins:
    the FROM a SELECT of its objects reads (with the tables of its mapper-level
    ``with_polymorphic`` subclasses, whose columns the class's entity selects), else
    its table or join of tables."""
    if mapper._poly is not None:
        from_ = entity_source(mapper)[0]
        if from_ is not None:
            return from_
    return mapper.persist_selectable


_SOURCE: CacheSlot[tuple[Any, Any]] = CacheSlot(
    "the FROM and WHERE criterion a SELECT of the mapper's objects reads with")


def apply_entity_source(stmt: Any, mapper: Mapper) -> Any:
    """``stmt`` (a SELECT of ``mapper``'s columns) with :func:`entity_source` applied."""
    if mapper._poly is None:
        return stmt
    from_, where = entity_source(mapper)
    if from_ is not None:
        stmt = stmt.select_from(from_)
    if where is not None:
        stmt = stmt.where(where)
    return stmt


def polymorphic_load_props(mapper: Mapper) -> tuple[Any, ...]:
    """What a SELECT of ``mapper`` reads: its own columns, then the columns of its
    ``with_polymorphic`` subclasses it does not map."""
    return polymorphic_props(mapper, with_polymorphic_mappers(mapper))


def describe_identity(mapper: Mapper, value: object) -> str:
    known = ", ".join(repr(k) for k in mapper.polymorphic_map) or "none"
    return (f"discriminator {mapper.polymorphic_on} is {value!r}, which no mapper of the "
            f"{mapper.base_mapper.class_.__name__} hierarchy has as polymorphic_identity "
            f"(known: {known})")


class TablePart:
    """The part of a mapper that one of its tables stores: what the persistence layer's
    table plans read of a mapper (``local_table``, ``_persist_props``, the key ...),
    restricted to one table of a joined-table hierarchy."""

    def __init__(self, mapper: Mapper, table: Any) -> None:
        self.mapper = mapper
        self.class_ = mapper.class_
        self.local_table = table
        self.cache: dict[Any, Any] = {}
        if mapper.non_table:
            self._persist_props: tuple[Any, ...] = _table_columns(mapper, table)
        else:
            self._persist_props = tuple(
                p for p in mapper._persist_props if any(c.table is table for c in p.columns))
        if table is mapper.base_mapper.local_table:
            self.primary_key: tuple[Any, ...] = tuple(mapper.primary_key)
        else:
            self.primary_key = tuple(table.primary_key.columns)
        missing = [c for c in self.primary_key if c not in mapper._col_to_prop]
        if missing:
            raise ArgumentError(
                f"Can't map {mapper.class_.__name__}: primary key column(s) "
                f"{', '.join(str(c) for c in missing)} of table {table.name!r} are not mapped"
            )
        self._pk_keys = tuple(mapper._col_to_prop[c].key for c in self.primary_key)
        self.allow_partial_pks = mapper.allow_partial_pks
        self.confirm_deleted_rows = mapper.confirm_deleted_rows
        vcol = mapper.version_id_col
        if vcol is not None and vcol.table is table:
            self.version_id_col: Any = vcol
            self.version_id_prop: Any = mapper.version_id_prop
        else:
            self.version_id_col = None
            self.version_id_prop = None
        self.version_id_generator = mapper.version_id_generator
        # (base attribute, this table's attribute): key values copied down before INSERT
        owner = next((m for m in mapper.iterate_to_root()
                      if m.local_table is table and not m.single), None)
        self.sync: tuple[tuple[str, str], ...] = owner._inherit_sync if owner is not None \
            else ()
        if mapper.non_table:
            self.sync = selmap.sync_pairs(mapper, table)

    def __repr__(self) -> str:
        return f"<TablePart of {self.mapper.class_.__name__} on {self.local_table.name}>"


class _TableColumns:
    """What a table plan reads of a column attribute (``key``, ``columns``), with the
    columns of one table only: a join- or select-mapped attribute may map columns of
    several tables, or a subquery's column standing for a table's."""

    __slots__ = ("key", "columns")

    def __init__(self, key: str, columns: list[Any]) -> None:
        self.key = key
        self.columns = columns


def _table_columns(mapper: Mapper, table: object) -> tuple[_TableColumns, ...]:
    out = []
    for p in mapper._persist_props:
        cols = selmap.table_columns(mapper, p, table)
        if cols:
            out.append(_TableColumns(p.key, cols))
    return tuple(out)


def _writable_tables(mapper: Mapper) -> list[Any]:
    """The tables of a join- or select-mapped ``mapper`` a flush writes: those of which
    it maps a column and the whole primary key.  A SELECT that leaves out part of a
    table's key (``SELECT DISTINCT a, b FROM t``) writes nothing to that table: such a
    class is read-only, its new objects only take their place in the identity map."""
    out = []
    for t in mapper.tables:
        pk = list(t.primary_key)
        if isinstance(t, Table) and pk and all(c in mapper._col_to_prop for c in pk) \
                and _table_columns(mapper, t):
            out.append(t)
    return out


def table_parts(mapper: Mapper) -> list[TablePart]:
    """One :class:`TablePart` per table of ``mapper``, base table first."""
    parts = _PARTS.get(mapper)
    if parts is None:
        tables = _writable_tables(mapper) if mapper.non_table else mapper.tables
        parts = _PARTS.set(mapper, [TablePart(mapper, t) for t in tables])
    return parts


_PARTS: CacheSlot[list[TablePart]] = CacheSlot("the table parts of an inheriting mapper")
