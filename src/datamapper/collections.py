"""``datamapper.collections``: dictionary collections keyed by their members, and the
collection adapter.

``relationship(collection_class=attribute_keyed_dict("name"))`` keeps the related
objects in a ``dict`` whose keys are each member's ``name``; ``column_keyed_dict``
keys by a mapped column's value and ``keyfunc_mapping`` by any function of the
member.  Objects the ORM adds (loads, backrefs, ``coll.set(obj)``) are filed under
the key the function gives; the program may also write ``coll[key] = obj``.  The
members of the relationship are the dictionary's values.

A member whose key attribute has no value yet (a new object the attribute was
never set on) can't be filed: that raises InvalidRequestError unless the collection
was made with ``ignore_unpopulated_attribute=True``, which leaves such members out
of the dictionary (they are still members for the flush when the program adds them
under a key itself).  A key attribute that is None files the member under None,
with a warning (again, ``ignore_unpopulated_attribute=True`` leaves it out).
"""

from __future__ import annotations

import copyreg
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy.exc import SAWarning

from ._util import describe
from .exc import ArgumentError, InvalidRequestError
from .instance.collections import (
    _SKIP,
    CollectionAdapter,
    collection,
    collection_adapter,
)
from .instance.state import STATE_ATTR, instance_state
from .mapping.attributes import QueryableAttribute
from .mapping.mapper import Mapper, _mapper_or_none

_KT = TypeVar("_KT")
_VT = TypeVar("_VT")

__all__ = [
    "CollectionAdapter", "KeyFuncDict", "MappedCollection", "attribute_keyed_dict", "collection",
    "attribute_mapped_collection", "collection_adapter", "column_keyed_dict",
    "column_mapped_collection", "keyfunc_mapping", "mapped_collection",
]


class _KeyedClass(type):
    """The type of the keyed dictionary classes the functions below make: such a class
    is made at run time, so pickle can't find it by name; it pickles as the call that
    makes it (``_dm_recipe``: the function and its arguments, see ``_reduce_keyed``)."""

    _dm_recipe: tuple[object, ...] | None = None


class KeyFuncDict(dict[_KT, _VT], metaclass=_KeyedClass):
    """Base of the keyed dictionary classes the functions below make; each subclass
    has its key function as ``_dm_keyfunc``.  ``set(obj)`` files ``obj`` under its
    key, ``remove(obj)`` takes it out (both with the relationship's events once the
    dictionary is an object's collection)."""

    _dm_keyfunc: Callable[[object], object]
    _dm_keyed = True  # (instance/collections.py: instrumented as a keyed dictionary)

    def __init__(self, keyfunc: object = None, *args: Any, **kw: object) -> None:
        """``KeyFuncDict(keyfunc, ...)``: a subclass the program writes may give its key
        function here instead of as a class attribute; the other arguments are
        ``dict``'s."""
        if keyfunc is not None and not callable(keyfunc) and \
                callable(getattr(type(self), "_dm_keyfunc", None)):
            args, keyfunc = (keyfunc, *args), None  # dict's own arguments (a copy)
        if keyfunc is not None:
            if not callable(keyfunc):
                raise ArgumentError(
                    f"Can't make a {type(self).__name__} keyed by {keyfunc!r}: the key "
                    "function must be callable (e.g. lambda obj: obj.name)")
            self.__dict__["_dm_instance_keyfunc"] = keyfunc
        super().__init__(*args, **kw)

    @property
    def keyfunc(self) -> Callable[[Any], Any]:
        """The function giving a member's key."""
        return self.__dict__.get("_dm_instance_keyfunc") or type(self)._dm_keyfunc

    def set(self, value: _VT) -> None:
        key = self.keyfunc(value)
        if key is not _SKIP:
            self[key] = value

    def remove(self, value: _VT) -> None:
        for k, v in list(self.items()):
            if v is value:
                del self[k]
                return
        raise ValueError(f"{value!r} is not a member of this collection")


MappedCollection = KeyFuncDict  # the older name


def _keyed_class(keyfunc: Callable[[Any], Any], name: str,
                 key_attrs: Callable[[Any], list[str]] | None = None,
                 ignore: bool = False, recipe: tuple[Any, ...] | None = None
                 ) -> type[KeyFuncDict[Any, Any]]:
    ns: dict[str, object] = {"_dm_keyfunc": staticmethod(keyfunc), "__module__": __name__,
                          "_dm_recipe": recipe}
    if key_attrs is not None and not ignore:
        ns["_dm_removal_check"] = staticmethod(_removal_check(key_attrs))
    return cast("type[KeyFuncDict[Any, Any]]", _KeyedClass(name, (KeyFuncDict,), ns))


def _reduce_keyed(cls: _KeyedClass) -> Any:
    """Pickle a keyed dictionary class as the call that makes it again; a subclass
    the program wrote (found by name) and KeyFuncDict itself pickle by name."""
    recipe = cls.__dict__.get("_dm_recipe")
    if recipe is None:
        return cls.__qualname__
    return (_rebuild_keyed, recipe)


def _rebuild_keyed(kind: str, spec: Any, ignore: bool) -> type[KeyFuncDict[object, object]]:
    if kind == "attribute":
        return attribute_keyed_dict(spec, ignore_unpopulated_attribute=ignore)
    if kind == "column":
        return column_keyed_dict(spec, ignore_unpopulated_attribute=ignore)
    return keyfunc_mapping(spec, ignore_unpopulated_attribute=ignore)


copyreg.pickle(_KeyedClass, _reduce_keyed)


def _removal_check(key_attrs: Callable[[Any], list[str]]) -> Callable[[object, str], None]:
    """What taking a member out of the dictionary checks first: its key attribute has a
    value (as for filing it; ``ignore_unpopulated_attribute=True`` skips the check)."""

    def check(obj: object, doing: str) -> None:
        for name in key_attrs(obj):
            if _is_unpopulated(obj, name):
                raise InvalidRequestError(
                    f"Can't {doing}: the dictionary collection is keyed by attribute "
                    f"{name!r} of {describe(obj)}, which has no value now; set it first, "
                    "or make the collection with ignore_unpopulated_attribute=True"
                )

    return check


def _unpopulated(obj: object, what: str, ignore: bool) -> object:
    if ignore:
        return _SKIP
    raise InvalidRequestError(
        f"Can't file {describe(obj)} in a dictionary collection: its key {what} has no "
        "value yet; set it before adding the object, or make the collection with "
        "ignore_unpopulated_attribute=True to leave such objects out of the dictionary"
    )


def _none_key(obj: object, what: str, ignore: bool) -> object:
    if ignore:
        return _SKIP
    warnings.warn(
        f"Dictionary collection key {what} of {describe(obj)} is None; the object is "
        "filed under None (make the collection with ignore_unpopulated_attribute=True to "
        "leave such objects out)", SAWarning, stacklevel=4)
    return None


def _is_unpopulated(obj: object, name: str) -> bool:
    """A mapped attribute never set on an object without a row (nothing can be loaded
    for it): unpopulated, which is not None."""
    attr = getattr(type(obj), name, None)
    if isinstance(attr, QueryableAttribute):
        prop: Any = attr.prop
        real = prop.name if getattr(prop, "is_synonym", False) else name
        d = obj.__dict__
        if real not in d:
            state = d.get(STATE_ATTR) or instance_state(obj)
            return state.key is None
    return False


def _value_of(obj: object, name: str, ignore: bool) -> object:
    """Attribute ``name`` of ``obj`` as a dictionary key (see :func:`_is_unpopulated`)."""
    if _is_unpopulated(obj, name):
        return _unpopulated(obj, f"attribute {name!r}", ignore)
    value = getattr(obj, name)
    if value is None:
        return _none_key(obj, f"attribute {name!r}", ignore)
    return value


def attribute_keyed_dict(attr_name: str, *, ignore_unpopulated_attribute: bool = False
                         ) -> type[KeyFuncDict[Any, Any]]:
    """A dictionary collection class keyed by each member's attribute ``attr_name``
    (a mapped attribute, a synonym, or any Python attribute or property)."""
    if not isinstance(attr_name, str):
        raise ArgumentError(
            f"Can't key a dictionary collection by {attr_name!r}: attribute_keyed_dict() takes "
            "an attribute name; use column_keyed_dict() for a column, keyfunc_mapping() for "
            "a function")

    def keyfunc(obj: object) -> Any:
        return _value_of(obj, attr_name, ignore_unpopulated_attribute)

    return _keyed_class(keyfunc, "KeyFuncDict", lambda obj: [attr_name],
                        ignore_unpopulated_attribute,
                        ("attribute", attr_name, ignore_unpopulated_attribute))


class _TableColumn:
    """A column of a Table named by the table's full name and the column's key: what a
    column-keyed dictionary class pickles instead of the Column (which would take its
    Table and MetaData along, and come back as another object); found again among the
    columns of the mapper of the first object keyed."""

    __slots__ = ("table", "key")

    def __init__(self, table: str, key: str) -> None:
        self.table = table
        self.key = key

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (_TableColumn, (self.table, self.key))

    def find(self, mapper: Any) -> Any:
        for t in mapper.tables:
            if getattr(t, "fullname", None) == self.table and self.key in t.c:
                return t.c[self.key]
        return None

    def __str__(self) -> str:
        return f"{self.table}.{self.key}"


def _picklable_column(col: Any) -> object:
    from sqlalchemy import Table

    if isinstance(col, _TableColumn):
        return col
    if isinstance(col.table, Table):
        return _TableColumn(col.table.fullname, col.key)
    return col  # a column of another selectable: pickled as it is


def _by_base_columns(mapper: Any, col: Any) -> Any:
    """The property of a column of a subquery that came back from a pickle as a copy
    (with copies of its tables): found by the table columns it selects."""
    from sqlalchemy import Table

    for base in getattr(col, "base_columns", ()):
        if isinstance(getattr(base, "table", None), Table):
            prop = mapper._col_to_prop.get(_TableColumn(base.table.fullname, base.key)
                                           .find(mapper))
            if prop is not None:
                return prop
    return None


def _column_of(spec: object) -> Any:
    if isinstance(spec, _TableColumn):
        return spec
    col = spec.__clause_element__() if hasattr(spec, "__clause_element__") else spec
    if getattr(col, "table", None) is None or not hasattr(col, "key"):
        raise ArgumentError(
            f"Can't key a dictionary collection by {spec!r}: column_keyed_dict() takes a "
            "table column or a mapped column attribute (or a list of them)")
    return col


def _keyed_property(mapper: Mapper, col: object, obj: object) -> Any:
    """The property of ``mapper`` mapping the key column ``col`` (a table's column found
    on the mapper's table of that name)."""
    if isinstance(col, _TableColumn):
        col = col.find(mapper)
    prop = mapper._col_to_prop.get(col)
    if prop is None:
        prop = _by_base_columns(mapper, col)
    if prop is None:
        raise InvalidRequestError(
            f"Can't file {describe(obj)} in a dictionary collection keyed by column "
            f"{col}: {type(obj).__name__} does not map that column")
    return prop


def column_keyed_dict(mapping_spec: Any, *, ignore_unpopulated_attribute: bool = False
                      ) -> type[KeyFuncDict[Any, Any]]:
    """A dictionary collection class keyed by the value of a mapped column of each
    member (a tuple of values for a list of columns)."""
    many = isinstance(mapping_spec, Sequence) and not isinstance(mapping_spec, str)
    cols = [_column_of(c) for c in (mapping_spec if many else [mapping_spec])]

    def keyfunc(obj: object) -> Any:
        mapper = _mapper_or_none(type(obj))
        if mapper is None:
            raise InvalidRequestError(
                f"Can't file {describe(obj)} in a column-keyed dictionary collection: its "
                "class is not mapped")
        values = []
        for col in cols:
            prop = _keyed_property(mapper, col, obj)
            value = _value_of(obj, prop.key, ignore_unpopulated_attribute)
            if value is _SKIP:
                return _SKIP
            values.append(value)
        return tuple(values) if many else values[0]

    def key_attrs(obj: object) -> list[str]:
        mapper = _mapper_or_none(type(obj))
        if mapper is None:
            return []
        found = [c.find(mapper) if isinstance(c, _TableColumn) else c for c in cols]
        return [mapper._col_to_prop[c].key for c in found if c in mapper._col_to_prop]

    spec = [_picklable_column(c) for c in cols] if many else _picklable_column(cols[0])
    return _keyed_class(keyfunc, "KeyFuncDict", key_attrs, ignore_unpopulated_attribute,
                        ("column", spec, ignore_unpopulated_attribute))


def keyfunc_mapping(keyfunc: Callable[[Any], Any], *,
                    ignore_unpopulated_attribute: bool = False) -> type[KeyFuncDict[Any, Any]]:
    """A dictionary collection class keyed by ``keyfunc(member)``."""
    if not callable(keyfunc):
        raise ArgumentError(f"Can't key a dictionary collection by {keyfunc!r}: not callable")

    def key(obj: object) -> Any:
        value = keyfunc(obj)
        if value is None:
            return _none_key(obj, "function result", ignore_unpopulated_attribute)
        return value

    return _keyed_class(key, "KeyFuncDict",
                        recipe=("keyfunc", keyfunc, ignore_unpopulated_attribute))


# the 1.x names
attribute_mapped_collection = attribute_keyed_dict
column_mapped_collection = column_keyed_dict
mapped_collection = keyfunc_mapping

