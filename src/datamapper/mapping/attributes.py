"""Class-level mapped attributes: descriptors that are also SQL expressions.

``User.name`` is a :class:`QueryableAttribute`: usable in SQL
(``User.name == "ed"``) and installed on the class as a *non-data*
descriptor, so that reading a loaded value from an instance is a plain
``__dict__`` hit.  ``__get__`` on an instance runs only when the value is
missing (never set, expired or deferred); the instance layer supplies the
``impl`` that handles that case and the writes.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from sqlalchemy import Column
from sqlalchemy.sql import operators
from sqlalchemy.sql.operators import ColumnOperators
from sqlalchemy.util import immutabledict

from .._core import gen_cache_key, is_cacheable_element, roles
from .._util.inspection import InspectionAttr
from .coercion import PLUGIN_ATTRS

if TYPE_CHECKING:
    from .mapper import Mapper
    from .properties import MapperProperty


# column attributes reachable through ``User.name.<attr>``; never the ones Core's
# coercion probes (``is_clause_element`` ...), which must see this wrapper as it is
_DELEGATED = frozenset({
    "type", "table", "name", "nullable", "primary_key", "default", "server_default",
    "foreign_keys", "unique", "index", "autoincrement", "onupdate", "server_onupdate",
    "label", "info", "doc", "comparator", "expression_type", "cast",
})


def _doc_of(prop: object) -> str | None:
    doc = getattr(prop, "doc", None)
    if doc is None:
        # a column property's own columns (a composite's are worked out later, at
        # configuration: not read here)
        columns = getattr(prop, "__dict__", {}).get("columns")
        if columns:
            doc = getattr(columns[0], "doc", None)
    return doc if isinstance(doc, str) else None


class QueryableAttribute(ColumnOperators, InspectionAttr):
    """A mapped attribute seen on the class: ``User.name``."""

    # what inspect() tells about it (it is its own inspection)
    is_attribute = True

    # every instance-level read of a missing value goes to impl.get_missing
    impl: Any

    def __init__(self, class_: type, key: str, prop: MapperProperty, mapper: Mapper) -> None:
        self.class_ = class_
        self.key = key
        self.prop = prop
        self.parent = mapper
        self.impl = None
        self.dispatch: Any = None  # attribute events, set by the instance layer
        # help(User.id): the doc= of the property or of its Column; None without one
        # (as in SQLAlchemy: not this class's docstring, which documentation tools
        # would show under every undocumented attribute)
        self.__doc__ = _doc_of(prop)

    def __get__(self, obj: object, owner: object) -> Any:
        if obj is None:
            return self
        return self.impl.get_missing(obj)

    def __reduce__(self) -> Any:
        # pickled by name (loader options hold attributes): the class's attribute again
        # when unpickled, in a process that has mapped the class
        return getattr, (self.class_, self.key)

    def get_history(self, instance: Any, passive: Any = None) -> Any:
        """The attribute's history on ``instance`` (``datamapper.attributes.get_history``);
        ``passive``: a PASSIVE_* flag of ``datamapper.attributes`` (default: load an
        unloaded value)."""
        from . import coercion

        if passive is None or passive is True or passive is False:
            no_load = bool(passive)
        else:
            no_load = not (int(passive) & 1 and int(passive) & 2)  # CALLABLES_OK, SQL_OK
        state = coercion.state_of(instance) if coercion.state_of is not None else None
        return self.impl.history(state, no_load)

    def __clause_element__(self) -> Any:
        return self.prop.clause_element(self)

    @property
    def expression(self) -> Any:
        return self.__clause_element__()

    def label(self, name: str | None) -> Any:
        """``User.name.label("n")``: the attribute's column under another name; the label
        still names the attribute's class (``Query.column_descriptions``, the bind)."""
        if getattr(self.prop, "is_composite", False):
            return cast(Any, self.prop).comparator_for(self).label(name)
        return self.__clause_element__().label(name)

    def operate(self, op: object, *other: object, **kwargs: object) -> Any:
        return self.prop.operate(self, op, *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        return op(other, self.__clause_element__(), **kwargs)

    def __hash__(self) -> int:
        return id(self)

    def __getattr__(self, name: str) -> Any:
        if name in ("entity", "mapper") and getattr(self.__dict__.get("prop"),
                                                    "is_relationship", False):
            # User.addresses.entity / .mapper: the target's Mapper (.entity of a
            # relationship to aliased(Child, selectable): that alias's inspection)
            target: Any = self._configured_prop()  # a relationship: its target
            return target.entity if name == "entity" else target.mapper
        prop = self.__dict__.get("prop")
        if name == "comparator" and (getattr(prop, "is_column", False)
                                     or getattr(prop, "is_relationship", False)):
            return cast(Any, prop).comparator_for(self)
        if getattr(prop, "is_composite", False) and not name.startswith("_"):
            # Edge.start.clauses, or a method of its comparator_factory
            comparator = cast(Any, prop).comparator_for(self)
            if name == "comparator":
                return comparator
            try:
                return getattr(comparator, name)
            except AttributeError:
                raise AttributeError(
                    f"{self.class_.__name__}.{self.key} has no attribute {name!r} (a "
                    f"composite: its comparator {type(comparator).__name__} has none)"
                ) from None
        if not name.startswith("_") and getattr(prop, "comparator_factory", None) is not None \
                and (getattr(prop, "is_column", False) or getattr(prop, "is_synonym", False)):
            # a method of a column property's (or synonym's) comparator_factory
            return getattr(cast(Any, prop).comparator_for(self), name)
        # e.g. User.name.type, User.name.table: delegate to the column
        if name not in _DELEGATED:
            raise AttributeError(
                f"{self.__dict__.get('class_', type(self)).__name__}."
                f"{self.__dict__.get('key', '?')} has no attribute {name!r}"
            )
        try:
            target = self.__dict__["prop"].column_for_attr_delegation()
        except (KeyError, AttributeError):
            raise AttributeError(name) from None
        if target is None:
            raise AttributeError(
                f"{self.class_.__name__}.{self.key} has no attribute {name!r}"
            )
        return getattr(target, name)

    def __repr__(self) -> str:
        return f"<{self.class_.__name__}.{self.key}>"

    def __str__(self) -> str:
        return f"{self.class_.__name__}.{self.key}"

    # relationship comparisons
    def any(self, criterion: object = None, **kwargs: object) -> Any:
        prop: Any = self.prop
        if prop.is_relationship and prop.comparator_factory is not None:
            return prop.comparator_for(self).any(criterion, **kwargs)
        return prop.any_(criterion, **kwargs)

    def has(self, criterion: object = None, **kwargs: object) -> Any:
        prop: Any = self.prop
        if prop.is_relationship and prop.comparator_factory is not None:
            return prop.comparator_for(self).has(criterion, **kwargs)
        return prop.has_(criterion, **kwargs)

    def contains(self, other: object, **kwargs: object) -> Any:
        return self.prop.operate(self, operators.contains_op, other, **kwargs)

    def of_type(self, cls: object) -> QueryableAttribute | OfType:
        """The relationship towards ``cls``: itself for a mapped class, a join target
        (:class:`OfType`) for an ``aliased()`` one."""
        if isinstance(cls, type):
            prop = self._configured_prop()
            target = getattr(prop, "mapper", None)
            if target is None or target.class_ is cls:
                return self
            # a subclass of the target (joined inheritance: its tables are joined)
        return OfType(self, cls)

    def _configured_prop(self) -> MapperProperty:
        prop = self.prop
        if prop.__dict__.get("_initialized") is False:  # a relationship not configured yet
            from .mapper import configure_mappers

            configure_mappers()
        return prop

    # ``User.name.property``: defined last, since the name shadows the builtin; a
    # relationship's is configured first (its join and direction are then known)
    property = builtins.property(_configured_prop)  # noqa: A003

    @builtins.property
    def info(self) -> dict[Any, Any]:
        """The ``info`` dictionary of what the attribute maps: the table Column's for a
        column attribute (``User.id.info is users.c.id.info``), else the property's
        (a SQL expression's column_property(), a relationship)."""
        prop = self.__dict__["prop"]
        col = prop.column_for_attr_delegation()
        if isinstance(col, Column):
            return col.info
        return cast("dict[Any, Any]", prop.info)

    @builtins.property
    def original_property(self) -> MapperProperty:
        """The property this class attribute was made for: for a synonym, the
        SynonymProperty itself (``.property`` is what it stands for then)."""
        return cast("MapperProperty", self.__dict__["prop"])


_T = TypeVar("_T")

if TYPE_CHECKING:
    from sqlalchemy import SQLColumnExpression

    class InstrumentedAttribute(QueryableAttribute, SQLColumnExpression[_T]):
        """``User.id`` as a type checker sees it: a SQL expression of ``_T``."""

else:

    class InstrumentedAttribute(QueryableAttribute, Generic[_T]):
        """A mapped attribute on the class (``User.id``); generic in the Python type
        of its value, so that ``User.id == 5`` is typed as a SQL boolean expression."""

        __slots__ = ()


# What a relationship join target hands Core's statements it joins: the name of the
# compile-state plugin that turns ``join(User.addresses)`` into table joins (see
# query/core_plugin.py).
JOIN_PLUGIN = immutabledict(PLUGIN_ATTRS)


def through_synonym(attr: object) -> Any:
    """The class attribute a synonym attribute stands for (``User.orders_syn`` ->
    ``User.orders``, through synonyms of synonyms); anything else unchanged. Joins and
    loader options take a synonym of a relationship as that relationship."""
    for _ in range(8):
        if not isinstance(attr, QueryableAttribute) or not attr.prop.is_synonym:
            return attr
        attr = getattr(attr.class_, cast(Any, attr.prop).name)
    return attr


class _JoinTarget(roles.JoinTargetRole):
    """Marks an object Core's ``Select.join()`` may take as its target or ON clause
    (a relationship attribute, ``of_type()``, ``and_()``): Core keeps the object
    itself in the statement, and datamapper's compile-state plugin expands it into
    the join of tables when the statement is compiled."""

    __slots__ = ()
    _propagate_attrs = JOIN_PLUGIN

    # Core treats a join target as part of the statement: it keys its compiled
    # cache on it and copies it when the statement is cloned.  A join target is
    # immutable (cloning keeps it); its key names the relationship and, for
    # of_type()/and_(), the alias and the criteria (whose bound values Core
    # collects from the key, so a cached compilation takes the new values).
    def _gen_cache_key(self, anon_map: object, bindparams: list[Any]) -> Any:
        raise NotImplementedError  # each subclass names itself

    def _clone(self, **kw: object) -> _JoinTarget:
        return self

    # the FROMs Core's Select copy (a statement cloned inside a larger one, adapted to
    # an alias) collects from its join targets to clone them first: none here, since
    # cloning keeps this target and so the tables it names
    _from_objects: tuple[Any, ...] = ()
    # (and no annotations: Core's traversals read them off each element they copy)
    _annotations: immutabledict[str, Any] = immutabledict()

    def _copy_internals(self, **kw: object) -> None:
        return None


def _key_of(element: object, anon_map: object, bindparams: list[Any]) -> Any:
    if hasattr(element, "__clause_element__") and not is_cacheable_element(element):
        element = element.__clause_element__()
    return gen_cache_key(element, anon_map, bindparams)


if TYPE_CHECKING:

    class RelationshipAttribute(InstrumentedAttribute[_T]):
        """A relationship on the class (``User.addresses``)."""

        def and_(self, *criteria: object) -> OfType: ...

else:

    class RelationshipAttribute(InstrumentedAttribute, _JoinTarget):
        """A relationship on the class (``User.addresses``): besides comparisons
        (``any()``, ``has()``, ``==`` an object), a join target of Core's and our
        ``select().join()`` (``join(User.addresses)``, ``join(Address,
        User.addresses)``, ``.of_type(alias)``, ``.and_(criteria)``)."""

        __slots__ = ()

        def __clause_element__(self) -> Any:
            return self.prop.join_clause_element(self)

        def _gen_cache_key(self, anon_map: object, bindparams: list[Any]) -> Any:
            return ("dm_relationship", self.class_, self.key)

        def and_(self, *criteria: object) -> OfType:
            """This relationship joined with extra ON criteria (``join(User.addresses
            .and_(Address.email.like("%@x")))``)."""
            return OfType(self, None, criteria)


class OfType(_JoinTarget):
    """``User.addresses.of_type(alias)`` / ``User.addresses.and_(criteria)``: a
    relationship joined to an aliased target and/or with extra ON criteria."""

    __slots__ = ("attr", "target", "criteria")

    def __init__(self, attr: Any, target: Any, criteria: tuple[Any, ...] = ()) -> None:
        self.attr = attr
        self.target = target
        self.criteria = criteria

    @builtins.property
    def prop(self) -> Any:
        return self.attr.prop

    @builtins.property
    def key(self) -> str:
        return str(self.attr.key)

    def of_type(self, target: object) -> OfType:
        return OfType(self.attr, target, self.criteria)

    def and_(self, *criteria: object) -> OfType:
        return OfType(self.attr, self.target, self.criteria + criteria)

    def __clause_element__(self) -> Any:
        return self.attr.__clause_element__()

    def _gen_cache_key(self, anon_map: object, bindparams: list[Any]) -> Any:
        target = self.target
        return (
            "dm_of_type",
            gen_cache_key(self.attr, anon_map, bindparams),
            _key_of(target, anon_map, bindparams) if target is not None else None,
            tuple(_key_of(c, anon_map, bindparams) for c in self.criteria),
        )

    def any(self, criterion: object = None, **kwargs: object) -> Any:
        """EXISTS a related row of the aliased target (``criterion`` names the alias)."""
        return self._exists("any", criterion, kwargs)

    def has(self, criterion: object = None, **kwargs: object) -> Any:
        return self._exists("has", criterion, kwargs)

    def _exists(self, method: str, criterion: Any, kwargs: dict[str, Any]) -> Any:
        from sqlalchemy import and_

        user = [criterion] if criterion is not None else []
        user += list(self.criteria)
        target = self.target if self.target is not None else self.prop.mapper.class_
        user += [getattr(target, k) == v for k, v in kwargs.items()]
        own = self._single_table_criterion()
        sub_from = self._subclass_from()
        if sub_from is not None:
            crit = and_(*user, *own) if user or own else None
            return self._on_parent(self.prop.of_type_exists(method, crit, sub_from))
        attr_method = getattr(self.attr, method)
        adapt = getattr(self.target, "_dm_adapt", None)
        if adapt is None:
            return attr_method(and_(*user, *own) if user or own else None)
        prop = self.prop
        if prop.secondary is None and prop.parent.local_table is prop.mapper.local_table:
            # self-referential: adapting the whole condition to the alias would make
            # the filtered row's columns the alias's too
            from .relationship_compare import exists_in_given_alias

            return self._on_parent(exists_in_given_alias(
                prop, self.target, [*user, *[adapt(c) for c in own]]))
        # an aliased() target: the join condition (and a single-table subclass's
        # discriminator) are adapted to the alias; the user's criterion already names
        # the alias and may name the unaliased class too (``A.id < Job.id``): kept as is.
        # The related rows are read from the alias itself: the target's own FROM (its
        # mapping's with_polymorphic join of several tables) adapted to an alias of some
        # of them named the alias once per table (ambiguous names, or a broken join)
        sel = getattr(self.target, "_dm_selectable", None)
        if sel is not None and _reads_several_tables(prop.mapper):
            # (the parent's alias last: adapting to the target alias re-reads a copy
            # of it as a subquery to adapt into)
            clause = self._on_parent(adapt(
                prop.of_type_exists(method, and_(*own) if own else None, sel)))
        else:
            clause = adapt(attr_method(and_(*own) if own else None))
        return clause.where(*user) if user else clause

    def _single_table_criterion(self) -> list[Any]:
        """of_type(Sub) of a single-table subclass: only its rows count (an aliased()
        Sub's discriminator is adapted to the alias by the caller)."""
        if self.target is None or getattr(self.target, "_dm_poly_member", False):
            return []
        from .inheritance import class_criterion
        from .mapper import _mapper_or_none

        m = getattr(self.target, "_dm_mapper", None) or _mapper_or_none(self.target)
        if m is not None and m.inherits is not None and m.single:
            sub = class_criterion(m)
            if sub is not None:
                return [sub]
        return []

    def _subclass_from(self) -> Any:
        """The tables of a joined-table subclass of the target this ``of_type()`` names
        (the FROM of its any()/has() subquery), or None."""
        if not isinstance(self.target, type):
            return None
        from .mapper import _mapper_or_none

        m = _mapper_or_none(self.target)
        base = getattr(self.prop, "mapper", None)
        if m is None or base is None or m is base or m.single or not m.isa(base):
            return None
        return m.persist_selectable

    def _on_parent(self, clause: Any) -> Any:
        # the relationship of an aliased() parent: its columns become the alias's
        source = getattr(self.attr, "source", None)
        return source._dm_adapt(clause) if source is not None else clause

    def __repr__(self) -> str:
        out = repr(self.attr)
        if self.target is not None:
            out += f".of_type({self.target!r})"
        if self.criteria:
            out += ".and_(...)"
        return out


def _reads_several_tables(mapper: Any) -> bool:
    """Whether a SELECT of ``mapper``'s objects reads a join (its mapping's
    with_polymorphic subclasses' tables) rather than its own table(s)."""
    from .inheritance import join_target

    return join_target(mapper) is not mapper.persist_selectable
