"""Mapped classes in SQLAlchemy Core: ``sqlalchemy.select(User)``, ``inspect(User)``.

Core accepts any object with a ``__clause_element__()`` wherever it wants a table
or a column.  Each mapped class gets a class-level ``__clause_element__`` that
returns its table *annotated* with the mapper (Core's annotation mechanism keeps
the mark through ``select()``, ``join()``, ``insert()`` ...), so that:

- ``sqlalchemy.select(User)``, ``select_from(User)``, ``join(User, ...)``,
  ``insert(User)``, ``update(User)``, ``delete(User)``, ``exists()``, ``union``
  and subqueries compile as they would for ``User.__table__``;
- the Session recognises the mark in a Core ``select()`` and returns User
  objects through the identity map for that entity (see :func:`entity_of`);
- ``select(User).filter_by(name=...)`` resolves names against the mapped
  attributes only (an entity namespace that refuses anything else).

Reading an instance's ``__clause_element__`` raises AttributeError: objects stay
plain values to Core (``Address.user == some_user`` is ours to compile).

``sqlalchemy.inspect()`` is taught the mapped classes through Core's inspection
registry: instances of a mapped class inspect to their ``InstanceState``, and
classes to their ``Mapper`` (declarative ones through their metaclass
:class:`DeclarativeMeta`, imperatively mapped ones through the entry for ``type``;
see :func:`_register_for_plain_classes`).

This module is the one place that touches Core's annotation and inspection
registries (SQLAlchemy 2.0 and 2.1).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column

from .._core import (
    annotate,
    annotations_of,
    from_objects,
    generate_cache_key,
    inspection_allows_reregistration,
    inspection_registrar,
    propagate_attrs,
    raw_columns,
    register_self_inspecting,
    set_inspection_registrar,
    set_propagate_attrs,
)
from .._core import dml_has_multi_values as dml_has_multi_values  # re-exported (session/dml.py)
from .._core import dml_multi_values as dml_multi_values
from .._core import dml_returning as dml_returning
from .._core import dml_values as dml_values
from .._core import dml_where as dml_where
from .._core import dml_with_multi_values as dml_with_multi_values
from .._core import dml_with_returning as dml_with_returning
from .._core import dml_with_values as dml_with_values

if TYPE_CHECKING:
    from .mapper import Mapper

# Core's compile-state plugin mark (the plugin is datamapper's, query/core_plugin.py)
PLUGIN_ATTRS = {"compile_state_plugin": "datamapper", "plugin_subject": None}
ENTITY_KEY = "dm_entity"  # annotation: the Mapper whose table this is
ALIAS_KEY = "dm_aliased"  # annotation: the aliased() entity an alias of the table stands for
SUBJECT_KEY = "dm_subject"  # propagated to a statement: the first mapped entity it names


def subject_marker(mapper: Mapper) -> Any:
    """What a mapped class's table (and its mapped columns) carry into any Core
    statement built from them: Core copies it onto the statement from the first
    element that has one (``select(1).where(User.name == "ed")`` gets User's), and
    the Session hands that mapper to ``get_bind(mapper=...)``.

    It is the plugin mark (:data:`PLUGIN_ATTRS`, query/core_plugin.py) plus the
    mapper; Core's cache key reads only the plugin's name and ``plugin_subject``."""
    from sqlalchemy.util import immutabledict

    return immutabledict({**PLUGIN_ATTRS, SUBJECT_KEY: mapper})


def statement_subject(stmt: object) -> Mapper | None:
    """The first mapped entity a Core statement was built from (see
    :func:`subject_marker`), or None for a statement of plain tables."""
    attrs = propagate_attrs(stmt)
    return attrs.get(SUBJECT_KEY) if attrs else None


def mark_subject(element: object, mapper: Mapper, alias: object = None) -> object:
    """``element`` marked as coming from ``mapper`` (see :func:`subject_marker`); it
    must be an object of the caller's own (an annotated copy, a statement it just
    built), never a Table or Column shared with plain Core.  ``alias``: the
    ``aliased()`` entity of ``mapper`` the element is a column of; SQL functions and
    labels built on it carry it too (``Query.column_descriptions`` names it)."""
    marker = subject_marker(mapper)
    if alias is not None:
        from sqlalchemy.util import immutabledict

        marker = immutabledict({**marker, ALIAS_KEY: alias})
    set_propagate_attrs(element, marker)
    return element


def column_entity(col: object) -> Any:
    """The mapped class (or ``aliased()`` entity) a selected column expression belongs
    to, or None: a mapped attribute's column (under any labels) gives its entity; a
    SQL function or other expression the first mapped entity it names (what Core
    propagates from its arguments); a column of a mapped table selected whole the
    entity of that table; a plain column, or one of a subquery, none."""
    from sqlalchemy.sql.elements import ColumnClause, Label

    inner = col
    while isinstance(inner, Label):
        attrs = propagate_attrs(inner)
        if attrs:  # an aliased() attribute named other than its column
            return _entity_in(attrs)
        inner = inner.element
    if isinstance(inner, ColumnClause):
        ann = annotations_of(inner)
        if "dm_attr" not in ann and "proxy_key" not in ann:
            for from_ in from_objects(inner):  # a column of a mapped table selected whole
                fann = annotations_of(from_)
                if ENTITY_KEY in fann:
                    alias = fann.get(ALIAS_KEY)
                    return alias if alias is not None else fann[ENTITY_KEY].class_
            return None
    return _entity_in(propagate_attrs(inner))


def _entity_in(attrs: Any) -> Any:
    if not attrs:
        return None
    alias = attrs.get(ALIAS_KEY)
    if alias is not None:
        return alias
    mapper = attrs.get(SUBJECT_KEY)
    return mapper.class_ if mapper is not None else None

class EntityNamespace:
    """What Core's ``filter_by()`` may name on a mapped entity: its mapped attributes
    and nothing else (not ``__class__``, ``metadata``, methods ...)."""

    __slots__ = ("_mapper",)

    def __init__(self, mapper: Mapper) -> None:
        object.__setattr__(self, "_mapper", mapper)

    def __getattribute__(self, key: str) -> Any:
        mapper = object.__getattribute__(self, "_mapper")
        if key in mapper._props:
            return getattr(mapper.class_, key)
        raise AttributeError(
            f"Can't filter_by({key}=...): {mapper.class_.__name__} has no mapped attribute "
            f"{key!r}; mapped attributes are {', '.join(sorted(mapper._props))}"
        )


class _EntityMarker:
    """The annotation value: gives Core the entity namespace of a mapped table."""

    __slots__ = ("mapper", "entity_namespace")

    def __init__(self, mapper: Mapper) -> None:
        self.mapper = mapper
        self.entity_namespace = EntityNamespace(mapper)


class ClassClauseElement:
    """``User.__clause_element__``: present on the class, absent on its instances."""

    def __init__(self, mapper: Mapper) -> None:
        self.mapper = mapper
        self._annotated: Any = None

    def __get__(self, obj: object, owner: object) -> Any:
        if obj is not None:
            raise AttributeError("__clause_element__")
        return self.clause

    def clause(self) -> Any:
        if self._annotated is None:
            marker = _EntityMarker(self.mapper)
            # the plugin mark makes a Core select() of the class compile its joins
            # along relationships (query/core_plugin.py); it also names the class for
            # get_bind() (mark_subject)
            self._annotated = mark_subject(annotate(self.mapper.persist_selectable,
                {ENTITY_KEY: self.mapper, "entity_namespace": marker}), self.mapper)
        return self._annotated


def install(mapper: Mapper) -> None:
    """Make ``mapper.class_`` usable in Core statements and in ``sqlalchemy.inspect``."""
    cls = mapper.class_
    if "__clause_element__" not in cls.__dict__:
        type.__setattr__(cls, "__clause_element__", ClassClauseElement(mapper))
    set_inspection_registrar(cls, _inspect_instance)  # instances of cls
    if inspection_registrar(type) is not _plain_class_registrar:
        _register_for_plain_classes()  # sqlalchemy.orm was imported since: chain to it


def uninstall(mapper: Mapper) -> None:
    cls = mapper.class_
    if isinstance(cls.__dict__.get("__clause_element__"), ClassClauseElement):
        type.__delattr__(cls, "__clause_element__")
    if inspection_registrar(cls) is _inspect_instance:
        set_inspection_registrar(cls, None)


# the instance layer (above this one) installs its ``instance_state`` here
state_of: Callable[[Any], Any] | None = None


def register_state_class(state_cls: type) -> None:
    """Declare ``state_cls`` (what ``inspect(obj)`` answers for a mapped instance) one
    of SQLAlchemy's own inspection results: Core then refuses a mapped object where it
    expects a literal value (``distinct(user)``, ``User.name == user``) instead of
    sending the object to the driver as a parameter."""
    register_self_inspecting(state_cls)


def register_inspection(cls: type, fn: Callable[[Any], Any] | None = None) -> None:
    """``sqlalchemy.inspect(x)`` of an instance of ``cls``: ``fn(x)``, or (no ``fn``)
    ``x`` itself (a mapped attribute is its own inspection, as in SQLAlchemy)."""
    if fn is None:
        register_self_inspecting(cls)
    else:
        set_inspection_registrar(cls, fn)


def _inspect_instance(obj: object) -> Any:
    return state_of(obj) if state_of is not None else None


def _inspect_class(cls: object) -> Mapper | None:
    # the Mapper as it is: reading its properties (attrs, relationships, ...) configures
    from .mapper import _mapper_or_none

    return _mapper_or_none(cls)


class DeclarativeMeta(type):
    """Metaclass of declarative classes, so that ``sqlalchemy.inspect(User)`` finds
    the Mapper (Core's inspection looks up the type of what it inspects), and so that
    a Column, ``mapped_column()`` or mapper property assigned to a mapped class after
    its creation (``User.addresses = relationship(Address)``) is mapped."""

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any],
                 **kw: object) -> None:
        super().__init__(name, bases, namespace, **kw)
        # ``class Base(metaclass=DeclarativeMeta)`` with a ``registry`` attribute: its
        # subclasses are mapped here.  (declarative_base() and DeclarativeBase
        # hierarchies map their classes themselves, in __init_subclass__.)
        if cls.__module__.startswith("datamapper.") or any(
                "_dm_registry" in k.__dict__ or "_dm_root" in k.__dict__ for k in cls.__mro__):
            return
        from .registry import map_by_metaclass

        map_by_metaclass(cls)

    def __setattr__(cls, key: str, value: object) -> None:
        if "_dm_mapper" in cls.__dict__:
            from .class_body_checks import alias_as_synonym

            value = alias_as_synonym(cls, key, value)  # A.brap = A.data: a synonym
        if "_dm_mapper" in cls.__dict__ and _is_declared_attribute(value):
            from .registry import add_declared_attribute

            add_declared_attribute(cls, key, value)
        else:
            type.__setattr__(cls, key, value)

    def __delattr__(cls, key: str) -> None:
        # ``del User.name`` of a mapped attribute would leave the mapper mapping a
        # column the class no longer shows (loads, flushes and expiry of an attribute
        # that reads as missing): refused, as SQLAlchemy refuses it.  Other class
        # attributes (methods, hybrids, association proxies) go as on any class.
        mapper = cls.__dict__.get("_dm_mapper")
        if mapper is not None and getattr(mapper, "class_", None) is cls:
            from ..exc import UnmapAttributeError
            from .attributes import QueryableAttribute

            value = cls.__dict__.get(key)
            if value is not None and (isinstance(value, QueryableAttribute)
                                      or _is_declared_attribute(value)):
                raise UnmapAttributeError(
                    f"Can't delete {cls.__name__}.{key}: it is a mapped attribute, and "
                    "un-mapping one attribute of a mapped class is not supported; leave "
                    f"it out of the mapping instead (e.g. __mapper_args__ = "
                    f"{{'exclude_properties': [{key!r}]}}), or registry.dispose() to "
                    "unmap the whole class")
        type.__delattr__(cls, key)


def _is_declared_attribute(value: object) -> bool:
    from .declarative import MappedColumn
    from .properties import MapperProperty

    return isinstance(value, (Column, MappedColumn, MapperProperty))


set_inspection_registrar(DeclarativeMeta, _inspect_class)


def _register_for_plain_classes() -> None:
    """``sqlalchemy.inspect(User)`` for classes mapped without a declarative metaclass
    (``registry.map_imperatively()``, ``mapper()``): Core looks a class up under
    ``type``, the one entry SQLAlchemy's own ORM also registers (it refuses to
    replace an entry made by another function).

    - SQLAlchemy's ORM already imported: our registrar answers for our classes and
      hands every other class to the one it replaces.
    - Not imported: ours is registered under the name and module SQLAlchemy's ORM
      gives its own, so that a later ``import sqlalchemy.orm`` replaces it instead
      of failing; in such a process only declarative classes (DeclarativeMeta)
      stay inspectable by ``sqlalchemy.inspect`` (``datamapper.inspect`` always is).
      SQLAlchemy 2.0 refuses any replacement, so there nothing is registered until
      SQLAlchemy's ORM is imported (then the next mapped class chains to it).
    """
    global _plain_class_registrar
    found = _chain_registrar(type, "_inspect_mc", _inspect_class)
    if found is not None:
        _plain_class_registrar = found
    # a parametrized generic mapped class (``Setting[dict[str, Any]]``, a typing alias
    # object) inspects to its class's Mapper too
    _chain_registrar(_GENERIC_ALIAS, "_inspect_generic_alias",
                     lambda alias: _inspect_class(typing.get_origin(alias)))


def _chain_registrar(key: type, name: str, ours: Callable[[Any], Any]) -> Any:
    """Register ``ours`` in Core's inspection registry under ``key``, handing what it
    does not know to the entry it replaces (SQLAlchemy's ORM's, when imported); None
    when nothing may be registered (SQLAlchemy 2.0 before its ORM is imported).
    ``name``: the name SQLAlchemy's ORM gives its own entry, which a later import of
    it then replaces instead of failing."""
    previous = inspection_registrar(key)
    if previous is None and not inspection_allows_reregistration():
        # SQLAlchemy 2.0: an entry of ours would make a later ``import
        # sqlalchemy.orm`` fail; declarative classes stay inspectable
        # (DeclarativeMeta) and install() chains to SQLAlchemy's entry once it exists
        return None

    def registrar(obj: object) -> Any:
        found = ours(obj)
        if found is None and callable(previous):
            return previous(obj)
        return found

    registrar.__name__ = registrar.__qualname__ = name
    if previous is None:
        registrar.__module__ = "sqlalchemy.orm.util"
    set_inspection_registrar(key, registrar)
    return registrar


_GENERIC_ALIAS: type = type(typing.List[int])  # noqa: UP006 - the typing alias class
_plain_class_registrar: Any = None
_register_for_plain_classes()


def entity_of(element: object) -> Mapper | None:
    """The Mapper a Core FROM element or column stands for (``select(User)``), or None."""
    ann = annotations_of(element)
    if not ann:
        return None
    found = ann.get(ENTITY_KEY)
    return found if found is not None and getattr(element, "is_selectable", False) else None


BUNDLE_KEY = "dm_bundle"  # annotation: the Bundle a selected column list stands for


def entities_of_core_select(stmt: object, attributes: bool = False) -> list[Any] | None:
    """The entity list of a Core ``select()`` built from mapped classes (or bundles),
    or None when it selects none (then it is plain Core and runs as such).
    ``attributes``: a selected mapped attribute is listed as the attribute (else as
    the column Core holds)."""
    raw = raw_columns(stmt)  # Core's selected elements, as given
    return entities_of_elements(raw, attributes) if raw else None


def entities_of_elements(raw: Any, attributes: bool = False) -> list[Any] | None:
    """:func:`entities_of_core_select` of a list of selected (or RETURNING) elements."""
    entities: list[Any] = []
    found = False
    for element in raw:
        mapper = entity_of(element)
        if mapper is not None:
            alias = annotations_of(element).get(ALIAS_KEY)
            entities.append(alias if alias is not None else mapper.class_)
            found = True
            continue
        ann = annotations_of(element)
        if ann:
            bundle = ann.get(BUNDLE_KEY)
            if bundle is not None:
                entities.append(bundle)
                found = True
                continue
            if attributes:
                attr = _attribute_of(element, ann)
                if attr is not None:
                    entities.append(attr)
                    found = True
                    continue
        entities.append(element)
    return entities if found else None


def _attribute_of(element: Any, ann: Any) -> Any:
    """The mapped class attribute a selected column came from (``User.id``), or None
    (a column of an alias, or of no mapped class)."""
    key = ann.get("dm_attr") or ann.get("proxy_key")
    mapper = statement_subject(element)
    if key is None or mapper is None:
        return None
    table = getattr(element, "table", None)
    if table is not None and table not in mapper.tables:
        return None
    prop = mapper._props.get(key)
    return getattr(mapper.class_, key) if prop is not None else None


# -- ORM-enabled INSERT / UPDATE / DELETE ---------------------------------------------------
# What the Session needs to read from (and change in) a Core DML statement built on a
# mapped class: dml_mapper here; the reads of Core's DML internals (dml_values,
# dml_with_values, dml_returning ...) are in datamapper._core, re-exported here.

def dml_mapper(stmt: object) -> Mapper | None:
    """The Mapper an ``insert(User)`` / ``update(User)`` / ``delete(User)`` (dialect
    variants and upserts included) was built on, or None for plain Core DML."""
    if not getattr(stmt, "is_dml", False):
        return None
    return entity_of(getattr(stmt, "table", None))


def bound_value(value: object) -> tuple[bool, Any]:
    """(True, python value) for a plain bound parameter, (False, None) for a SQL
    expression whose value only the database knows."""
    from sqlalchemy.sql.elements import BindParameter

    if (isinstance(value, BindParameter) and value.callable is None and not value.expanding
            and not value.required):
        return True, value.value
    return False, None


def statement_key(stmt: object) -> Any:
    """A hashable key equal for statements of the same structure (Core's statement
    cache key without its bound values), or None when Core can't cache ``stmt``."""
    key = generate_cache_key(stmt)
    return None if key is None else key.key
