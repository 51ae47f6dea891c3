"""``association_proxy()``: a view of one attribute of the objects a relationship holds.

``keywords = association_proxy("kws", "keyword")`` on ``User`` makes ``user.keywords``
read as the ``keyword`` values of the objects in ``user.kws``, and writes through:
``user.keywords.append("x")`` creates a new related object (``creator("x")``, by
default the related class called with the value) and appends it to ``user.kws``.
The view follows the relationship's collection: a list relationship gives a list
view, a set a set view, a keyed dictionary a dictionary view (whose ``creator`` is
called with ``(key, value)``); a scalar relationship (``uselist=False`` or a
many-to-one) gives the value itself, and assigning it sets the value on the related
object, creating one when there is none.

On the class, ``User.keywords`` builds SQL criteria through the relationship's
``any()``/``has()``: ``User.keywords == "x"`` (a scalar relationship) or
``User.keywords.contains("x")``, ``User.keywords.any(Keyword.name.like("a%"))``; a
column-valued proxy also takes any column operator (``User.keywords.like("x%")``),
each meaning "some related object's value satisfies it".  A proxy whose value is
itself an association proxy on the related class chains both relationships.

The per-class state (which relationship, which related class, whether the value is
a column or an object) is computed when the class is first used, after the mappers
are configured, and kept on the proxy per class (a proxy inherited by a mapped
subclass gets the subclass's own state).

Used by applications (``datamapper.association_proxy``) and by wiring.py, which
registers :func:`adopt_sqlalchemy_association_proxies` as an instrumentation hook;
the collection views live in associationproxy/views.py.
"""

from __future__ import annotations

import enum
import operator
import sys
import weakref
from collections.abc import (
    Callable,
    MutableMapping,
    MutableSequence,
    MutableSet,
)
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import or_

from .._util.inspection import InspectionAttr
from ..exc import ArgumentError, InvalidRequestError
from ..mapping.mapper import _mapper_or_none, class_mapper
from .views import Getter, ProxiedDict, ProxiedList, ProxiedSet, Setter, _CustomView, _Lazy, _View

__all__ = ["AssociationProxy", "AssociationProxyInstance", "association_proxy"]

_T = TypeVar("_T")

GetSetFactory = Callable[[Any, "AssociationProxyInstance[Any]"], tuple[Getter, Setter]]


def association_proxy(target_collection: str, attr: str, **kw: Any) -> AssociationProxy[Any]:
    """A class attribute that shows ``attr`` of the objects in the relationship
    ``target_collection`` (see the module documentation); the keywords are
    :class:`AssociationProxy`'s."""
    return AssociationProxy(target_collection, attr, **kw)


class AssociationProxyExtensionType(enum.Enum):
    """``AssociationProxy.extension_type``: what ``inspect(cls).all_orm_descriptors``
    tells about a proxy (mapped attributes answer ``NotExtension.NOT_EXTENSION``)."""

    ASSOCIATION_PROXY = "ASSOCIATION_PROXY"


class AssociationProxy(InspectionAttr, Generic[_T]):
    """The descriptor ``association_proxy()`` returns."""

    is_attribute = True
    extension_type = AssociationProxyExtensionType.ASSOCIATION_PROXY

    def __init__(
        self,
        target_collection: str,
        attr: str,
        *,
        creator: Callable[..., object] | None = None,
        getset_factory: GetSetFactory | None = None,
        proxy_factory: Callable[..., object] | None = None,
        proxy_bulk_set: Callable[[Any, Any], None] | None = None,
        info: dict[Any, Any] | None = None,
        cascade_scalar_deletes: bool = False,
        create_on_none_assignment: bool = False,
    ) -> None:
        if not isinstance(target_collection, str) or not isinstance(attr, str):
            raise ArgumentError(
                "association_proxy() takes the name of a relationship and the name of an "
                f"attribute of its objects, got {target_collection!r} and {attr!r}")
        self.target_collection = target_collection
        self.value_attr = attr
        self.creator = creator
        self.getset_factory = getset_factory
        self.proxy_factory = proxy_factory
        self.proxy_bulk_set = proxy_bulk_set
        self.cascade_scalar_deletes = cascade_scalar_deletes
        self.create_on_none_assignment = create_on_none_assignment
        self.key = f"_{type(self).__name__}_{target_collection}_{id(self)}"
        self.name: str | None = None
        self._info = info
        self._per_class: dict[type, AssociationProxyInstance[_T]] = {}

    @property
    def info(self) -> dict[Any, Any]:
        if self._info is None:
            self._info = {}
        return self._info

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: None) -> AssociationProxy[_T]: ...

    @overload
    def __get__(self, instance: None, owner: object) -> AssociationProxyInstance[_T]: ...

    @overload
    def __get__(self, instance: object, owner: object) -> _T: ...

    def __get__(self, instance: object, owner: Any) -> Any:
        if owner is None:
            return self
        if instance is None:
            if _mapper_or_none(owner) is None:
                # a declarative class body still being mapped, or a mixin
                return self
            return self.for_class(owner)
        return self.for_class(type(instance)).get(instance)

    def __set__(self, instance: object, value: _T) -> None:
        self.for_class(type(instance)).set(instance, value)

    def __delete__(self, instance: object) -> None:
        self.for_class(type(instance)).delete(instance)

    def for_class(self, class_: type, obj: object = None) -> AssociationProxyInstance[_T]:
        """The proxy's state for the mapped class ``class_``."""
        found = self._per_class.get(class_)
        if found is None:
            found = AssociationProxyInstance(self, class_)
            self._per_class[class_] = found
        return found

    def _default_getset(self, collection_class: type | None) -> tuple[Getter, Setter]:
        attr = self.value_attr
        read = operator.attrgetter(attr)

        def getter(target: object) -> Any:
            return None if target is None else read(target)

        if collection_class is dict:
            def dict_setter(target: object, _key: object, value: object) -> None:
                setattr(target, attr, value)
            return getter, dict_setter

        def setter(target: object, value: object) -> None:
            setattr(target, attr, value)
        return getter, setter

    def __repr__(self) -> str:
        return f"AssociationProxy({self.target_collection!r}, {self.value_attr!r})"


class AssociationProxyInstance(Generic[_T]):
    """An association proxy bound to one mapped class: reads and writes objects'
    values, and builds SQL criteria on the class."""

    def __init__(self, parent: AssociationProxy[_T], owning_class: type) -> None:
        self.parent = parent
        self.owning_class = owning_class
        self.target_collection = parent.target_collection
        self.value_attr = parent.value_attr
        self.key = parent.key
        mapper = class_mapper(owning_class)
        prop = mapper.relationships.get(self.target_collection)
        if prop is None:
            what = ("a column attribute" if self.target_collection in mapper.attrs
                    else "not a mapped attribute")
            raise InvalidRequestError(
                f"Can't proxy {owning_class.__name__}.{self.target_collection}: it is "
                f"{what}; association_proxy() needs the name of a relationship of "
                f"{owning_class.__name__}")
        self._prop = prop
        self.target_class: type = prop.mapper.class_
        self.scalar: bool = not prop.uselist
        self.collection_class: type | None = None
        self._views: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        if self.scalar:
            factory = parent.getset_factory
            self._scalar_get, self._scalar_set = (
                factory(None, self) if factory is not None else parent._default_getset(None))

    # ------------------------------------------------------------- introspection
    @property
    def info(self) -> dict[Any, Any]:
        return self.parent.info

    @property
    def local_attr(self) -> Any:
        """The relationship attribute on the owning class."""
        return getattr(self.owning_class, self.target_collection)

    @property
    def remote_attr(self) -> Any:
        """The proxied attribute on the related class."""
        return getattr(self.target_class, self.value_attr)

    @property
    def attr(self) -> tuple[Any, Any]:
        """``(local_attr, remote_attr)``, e.g. for two joins."""
        return self.local_attr, self.remote_attr

    def _target_kind(self) -> str:
        """``"proxy"``, ``"object"``, ``"column"`` or ``"unknown"`` (the attribute
        exists only on subclasses of the related class, or is not mapped)."""
        found = None
        for klass in self.target_class.__mro__:
            if self.value_attr in klass.__dict__:
                found = klass.__dict__[self.value_attr]
                break
        if isinstance(found, AssociationProxy):
            return "proxy"
        target_mapper = class_mapper(self.target_class)
        if self.value_attr in target_mapper.relationships:
            return "object"
        if self.value_attr in target_mapper.attrs:
            return "column"
        return "unknown"

    def _value_is_scalar(self) -> bool:
        target_mapper = class_mapper(self.target_class)
        rel = target_mapper.relationships.get(self.value_attr)
        return rel is None or not rel.uselist

    # ------------------------------------------------------------- instance access
    def get(self, obj: object) -> Any:
        if obj is None:
            return self
        if self.scalar:
            return self._scalar_get(getattr(obj, self.target_collection))
        view = self._views.get(id(obj))
        if view is not None and view._owner is obj:
            return view
        view = self._new_view(obj)
        self._views[id(obj)] = view
        return view

    def _creator(self) -> Callable[..., object]:
        return self.parent.creator if self.parent.creator is not None else self.target_class

    def _new_view(self, obj: object) -> _View[object] | _CustomView:
        collection = getattr(obj, self.target_collection)
        if isinstance(collection, MutableMapping) or isinstance(collection, dict):
            kind: type | None = dict
        elif isinstance(collection, (set, MutableSet)):
            kind = set
        elif isinstance(collection, (list, MutableSequence)):
            kind = list
        else:
            kind = None
        self.collection_class = kind
        if self.parent.proxy_factory is not None:
            return _CustomView(self.parent.proxy_factory(
                _Lazy(obj, self.target_collection), self._creator(), self.value_attr, self),
                obj)
        factory = self.parent.getset_factory
        getter, setter = (factory(kind, self) if factory is not None
                          else self.parent._default_getset(kind))
        if kind is list:
            return ProxiedList(self, obj, getter, setter)
        if kind is set:
            return ProxiedSet(self, obj, getter, setter)
        if kind is dict:
            return ProxiedDict(self, obj, getter, setter)
        raise ArgumentError(
            f"Can't proxy {self.owning_class.__name__}.{self.target_collection}: its "
            f"collection class {type(collection).__name__} is not a list, set or dict "
            "subclass; pass proxy_factory= and proxy_bulk_set= to association_proxy()")

    def set(self, obj: object, values: object) -> None:
        if self.scalar:
            target = getattr(obj, self.target_collection)
            if target is None:
                if values is None and not self.parent.create_on_none_assignment:
                    return
                setattr(obj, self.target_collection, self._creator()(values))
                return
            self._scalar_set(target, values)
            if values is None and self.parent.cascade_scalar_deletes:
                setattr(obj, self.target_collection, None)
            return
        view = self.get(obj)
        if view is values:
            return
        if self.parent.proxy_bulk_set is not None:
            inner = view._view if isinstance(view, _CustomView) else view
            inner.clear()
            self.parent.proxy_bulk_set(inner, values)
            return
        view._replace_all(values)

    def delete(self, obj: object) -> None:
        if self.scalar:
            target = getattr(obj, self.target_collection)
            if target is not None:
                delattr(target, self.value_attr)
        delattr(obj, self.target_collection)

    # ------------------------------------------------------------- SQL criteria
    def _exists(self, inner: object) -> Any:
        rel = self.local_attr
        return rel.has(inner) if self.scalar else rel.any(inner)

    def _criterion_exists(self, criterion: object = None, *, is_has: bool,
                          **kw: object) -> Any:
        kind = self._target_kind()
        if kind == "proxy":
            inner_proxy = getattr(self.target_class, self.value_attr)
            return self._exists(inner_proxy._criterion_exists(criterion, is_has=is_has, **kw))
        if kind == "object":
            remote = self.remote_attr
            inner = (remote.has(criterion, **kw) if self._value_is_scalar()
                     else remote.any(criterion, **kw))
            return self._exists(inner)
        self._require_known(kind)
        if kw:
            raise ArgumentError(
                f"Can't pass keyword criteria to {self._describe()}: its value "
                f"{self.target_class.__name__}.{self.value_attr} is a column; compare "
                "with ==, or pass a SQL criterion")
        if is_has and criterion is not None:
            raise ArgumentError(
                f"Can't call has() with a criterion on {self._describe()}: its value is a "
                f"column; use {self._describe()} == value")
        return self._exists(criterion)

    def any(self, criterion: object = None, **kw: object) -> Any:
        """EXISTS criterion: some related object matches (collections)."""
        kind = self._target_kind()
        if kind != "proxy" and self.scalar and (kind != "object" or self._value_is_scalar()):
            raise InvalidRequestError(
                f"Can't use any() on {self._describe()}: it proxies a scalar; use has()")
        return self._criterion_exists(criterion, is_has=False, **kw)

    def has(self, criterion: object = None, **kw: object) -> Any:
        """EXISTS criterion: the related object matches (scalar relationships)."""
        kind = self._target_kind()
        if kind != "proxy" and (not self.scalar
                                or (kind == "object" and not self._value_is_scalar())):
            raise InvalidRequestError(
                f"Can't use has() on {self._describe()}: it proxies a collection; use any()")
        return self._criterion_exists(criterion, is_has=True, **kw)

    def contains(self, other: object, **kw: object) -> Any:
        kind = self._target_kind()
        if kind == "column":
            return self._exists(self.remote_attr.contains(other, **kw))
        if kind == "proxy":
            inner_proxy = getattr(self.target_class, self.value_attr)
            inner = (inner_proxy == other) if inner_proxy.scalar else inner_proxy.contains(other)
            return self._exists(inner)
        self._require_known(kind)
        if self.scalar and not self._value_is_scalar():
            return self.local_attr.has(self.remote_attr.contains(other))
        if self.scalar:
            raise InvalidRequestError(
                f"Can't use contains() on {self._describe()}: both the relationship and "
                "the proxied attribute are scalars; use ==")
        return self._exists(self.remote_attr == other)

    def __eq__(self, other: object) -> Any:  # builds SQL, not a bool
        kind = self._target_kind()
        if kind == "column":
            found = self._exists(self.remote_attr == other)
        else:
            self._require_known(kind)
            found = self.local_attr.has(self.remote_attr == other)
        if other is None:
            return or_(found, self.local_attr == None)  # noqa: E711  (SQL IS NULL)
        return found

    def __ne__(self, other: object) -> Any:  # builds SQL, not a bool
        kind = self._target_kind()
        if kind == "column":
            return self._exists(self.remote_attr != other)
        self._require_known(kind)
        return self.local_attr.has(self.remote_attr != other)

    __hash__ = object.__hash__

    def operate(self, op: Callable[..., object], *other: object, **kw: object) -> Any:
        """Any column operator, applied to the proxied column inside EXISTS."""
        kind = self._target_kind()
        if kind != "column":
            raise InvalidRequestError(
                f"Can't apply {getattr(op, '__name__', op)!r} to {self._describe()}: only a "
                "proxy of a column takes column operators; use any(), has() or contains()")
        return self._exists(self.remote_attr.operate(op, *other, **kw))

    def _require_known(self, kind: str) -> None:
        if kind == "unknown":
            raise InvalidRequestError(
                f"Can't build SQL from {self._describe()}: "
                f"{self.target_class.__name__} has no mapped attribute {self.value_attr!r} "
                "(it may exist only on subclasses); query through the subclass's attribute")

    def _describe(self) -> str:
        name = self.parent.name or self.target_collection
        return f"the association proxy {self.owning_class.__name__}.{name}"

    def __clause_element__(self) -> Any:
        raise InvalidRequestError(
            f"Can't use {self._describe()} as a column expression: it only builds "
            "comparisons (==, contains(), any(), has()); select its local_attr or "
            "remote_attr instead")

    def __repr__(self) -> str:
        return f"AssociationProxyInstance({self.parent!r} on {self.owning_class.__name__})"


def _add_column_operators() -> None:
    """Give AssociationProxyInstance the common column operators (like, in_, <, ...),
    each meaning "some related object's value satisfies it"."""
    def make(name: str) -> Callable[..., Any]:
        def method(self: AssociationProxyInstance[object], *args: object,
                   **kw: object) -> Any:
            kind = self._target_kind()
            if kind != "column":
                raise InvalidRequestError(
                    f"Can't use {name}() on {self._describe()}: only a proxy of a "
                    "column takes column operators; use any(), has() or contains()")
            return self._exists(getattr(self.remote_attr, name)(*args, **kw))
        method.__name__ = name
        return method

    for name in ("like", "ilike", "not_like", "not_ilike", "in_", "not_in", "startswith",
                 "endswith", "icontains", "istartswith", "iendswith", "is_", "is_not",
                 "between", "match", "regexp_match", "__lt__", "__le__", "__gt__",
                 "__ge__"):
        setattr(AssociationProxyInstance, name, make(name))


_add_column_operators()



def adopt_sqlalchemy_association_proxies(mapper: Any) -> None:
    """A mapped class's ``sqlalchemy.ext.associationproxy.association_proxy()``
    attributes (2.x code that kept that import) become datamapper association proxies
    with the same arguments: SQLAlchemy's would look the class up in SQLAlchemy's own
    ORM, which does not know it.  Read from ``sys.modules`` only when the program
    imported that module itself (datamapper never imports ``sqlalchemy.ext``)."""
    module = sys.modules.get("sqlalchemy.ext.associationproxy")
    sa_class: object = getattr(module, "AssociationProxy", None) if module is not None else None
    if not isinstance(sa_class, type):
        return
    cls = mapper.class_
    seen: set[str] = set()
    for klass in cls.__mro__:
        attrs: dict[str, Any] = dict(vars(klass))
        for name, value in attrs.items():
            if name in seen:
                continue
            seen.add(name)
            if not isinstance(value, sa_class):
                continue
            sa: Any = value
            ours: AssociationProxy[object] = AssociationProxy(
                sa.target_collection, sa.value_attr, creator=sa.creator,
                getset_factory=sa.getset_factory, proxy_factory=sa.proxy_factory,
                proxy_bulk_set=sa.proxy_bulk_set, info=dict(sa.info),
                cascade_scalar_deletes=sa.cascade_scalar_deletes,
                create_on_none_assignment=getattr(sa, "create_on_none_assignment", False))
            ours.__set_name__(cls, name)
            type.__setattr__(cls, name, ours)

