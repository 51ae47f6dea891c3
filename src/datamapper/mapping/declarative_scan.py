"""Scanning an annotated declarative class (:func:`scan_class`, called by the
registry while it maps the class): its body in the order it was written, and each
``Mapped[...]`` annotation with its ``mapped_column()``/``relationship()`` turned
into the column or property it declares.
"""

from __future__ import annotations

import typing
from collections.abc import (
    Mapping,
)
from typing import TYPE_CHECKING, Any, Optional

from sqlalchemy import Column, types
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.base import SchemaEventTarget

from .._core import attach_type_to_column, replace_null_type
from ..exc import MappedAnnotationError

if TYPE_CHECKING:
    from .registry import registry as Registry
    from .relationships import RelationshipProperty


from .annotation_types import (
    MISSING,
    ForwardName,
    TypeLayers,
    as_sql_type,
    evaluate_annotation,
    is_classvar,
    lookup_type,
    marker_of,
    relationship_shape,
    sql_type_for,
    strip_optional,
    target_name,
    type_from_listeners,
)
from .declarative import InsertSentinelColumn, MappedColumn, UnmappedColumn, declared_attr

# -- scanning a declarative class ---------------------------------------------------------
# the class attribute holding a class body's order from before dataclass processing
# changed the class __dict__'s (set by apply_dataclass)
DEFINITION_ORDER = "_dm_definition_order"


def definition_order(klass: type) -> list[str]:
    """Names of a class body in the order they were written, annotated or assigned.

    Python keeps two orders: assignments (the class ``__dict__``) and annotations
    (``__annotations__``); an annotation-only name (``email: Mapped[str]``) is only
    in the second.  They are merged the way SQLAlchemy's declarative does (so that
    tables get the same column order): read one list until a name written in both
    comes up, then continue with the other list up to that name, and so on."""
    body = list(klass.__dict__)
    anns = list(klass.__dict__.get("__annotations__", {}))
    written = klass.__dict__.get(DEFINITION_ORDER)
    if written is not None:
        # made a dataclass by datamapper, which kept the order of the class body
        names = set(body).union(anns) - {DEFINITION_ORDER}
        kept = [n for n in written if n in names]
        return kept + [n for n in (*body, *anns) if n in names and n not in set(kept)]
    if "__dataclass_fields__" in klass.__dict__:
        # dataclass processing re-set the attributes with defaults after the others:
        # the annotations hold the order the fields were written in
        return _annotations_first(body, anns)
    in_both = set(body).intersection(anns)
    sources = (iter(body), iter(anns))
    current = 0
    out: list[str] = []
    while True:
        for name in sources[current]:
            if name in in_both:
                in_both.discard(name)  # taken when the other list reaches it
                current = 1 - current
                break
            out.append(name)
        else:
            out.extend(sources[1 - current])
            return out


def _annotations_first(body: list[str], anns: list[str]) -> list[str]:
    """Annotated names in annotation order, assigned-only names where the class body
    has them between two annotated ones."""
    ann_set = set(anns)
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    for name in body:
        if name in ann_set:
            while i < len(anns):
                a = anns[i]
                i += 1
                if a not in seen:
                    seen.add(a)
                    out.append(a)
                if a == name:
                    break
        elif name not in seen:
            seen.add(name)
            out.append(name)
    for a in anns[i:]:
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out


def has_mapped_annotations(classes: list[type]) -> bool:
    for klass in classes:
        for ann in klass.__dict__.get("__annotations__", {}).values():
            if isinstance(ann, str):
                if ann.lstrip().startswith(("Mapped", "DynamicMapped", "WriteOnlyMapped",
                                         "Relationship[", "Unmapped[")) \
                        or ".Mapped[" in ann:
                    return True
            elif marker_of(ann)[0] is not None:
                return True
    return False


def scan_class(
    reg: Registry,
    cls: type,
    classes: list[type],
    strict: bool,
) -> dict[str, tuple[tuple[int, int], Any]]:
    """Turn the annotations and ``mapped_column()`` values of ``cls`` and its unmapped
    mixins into Columns and mapper properties.

    ``classes`` are ``cls`` and the mixins to read, nearest first.  Returns
    ``{attribute name: (sort key, Column or MapperProperty)}``; the registry
    builds the Table and the Mapper from it.
    """
    from .mapper import _mapper_or_none

    type_map: dict[Any, Any] = getattr(reg, "type_annotation_map", None) or {}
    strict = strict and not getattr(cls, "__allow_unmapped__", False)
    # what the nearest mapped superclass maps: a mixin behind it gave those names to
    # it, and cls inherits them (a joined subclass's table gets no copies), except
    # for declared_attr.cascading
    parent = next((m for m in map(_mapper_or_none, cls.__mro__[1:]) if m is not None), None)
    inherited = parent._props if parent is not None else {}
    # a class giving its own __table__: annotations alone only type the attributes
    # that table's columns map, they declare no columns
    own_table = "__table__" in cls.__dict__
    out: dict[str, tuple[tuple[int, int], Any]] = {}
    # declared_attrs run after the other attributes, which the class then has as its
    # own columns: ``column_property(cls.x + cls.y)`` of a mixin reads this class's x, y
    later: list[tuple[int, int, type, str]] = []
    claimed: set[str] = set()
    for rank, klass in enumerate(classes):
        for pos, key in enumerate(definition_order(klass)):
            if key in out or key in claimed or (key.startswith("__") and key.endswith("__")):
                continue
            if isinstance(klass.__dict__.get(key), declared_attr):
                later.append((rank, pos, klass, key))
                claimed.add(key)
                continue
            _scan_key(reg, cls, klass, key, strict, inherited if rank > 0 else {},
                      type_map, rank, pos, out, parent, own_table)
    if later:
        _expose_mixin_columns(cls, out)
        for rank, pos, klass, key in later:
            _scan_key(reg, cls, klass, key, strict, inherited if rank > 0 else {},
                      type_map, rank, pos, out, parent, own_table)
    return out


def _scan_key(reg: Registry, cls: type, klass: type, key: str, strict: bool,
              inherited: Mapping[str, object], type_map: dict[Any, Any], rank: int, pos: int,
              out: dict[str, tuple[tuple[int, int], Any]], parent: Any,
              own_table: bool) -> None:
    annotations = klass.__dict__.get("__annotations__", {})
    found = _mapped_attribute(cls, klass, key, annotations, strict, inherited)
    if found is not None:
        if found[1] == "unmapped" and parent is not None and klass in parent.class_.__mro__:
            return  # a mixin's unmapped column: its mapped superclass's table has it
        if not (own_table and found[0] is MISSING):
            _scan_attribute(reg, cls, klass, key, found, type_map, rank, pos, out)
        return
    attr = klass.__dict__.get(key)
    if isinstance(attr, declared_attr) and (key not in inherited or attr.is_cascading):
        # a declared_attr giving something other than a mapped attribute (an
        # association_proxy, a plain value): the class's own attribute, once
        type.__setattr__(cls, key, attr.__get__(None, cls))


def _expose_mixin_columns(cls: type, out: dict[str, tuple[tuple[int, int], Any]]) -> None:
    """Set the Columns ``cls`` got from mixins (and from annotations alone) on ``cls``,
    named, so that its declared_attrs read them as ``cls.x``; the registry takes them
    off again when it installs the mapped attributes."""
    for key, (_sort, value) in out.items():
        if isinstance(value, Column) and key not in cls.__dict__:
            col: Any = value
            if col.name is None:
                col.name = key
            if col.key is None:
                col.key = key
            type.__setattr__(cls, key, col)


def _scan_attribute(reg: Registry, cls: type, klass: type, key: str,
                    found: tuple[Any, Any, Any], type_map: dict[Any, Any], rank: int,
                    pos: int, out: dict[str, tuple[tuple[int, int], Any]]) -> None:
    """Put the Column or property that mapped attribute ``key`` (``found``: value,
    marker, annotation inside it) of ``klass`` gives into ``out``."""
    from .relationships import RelationshipProperty

    value, marker, inner = found
    where = f"{cls.__name__}.{key}"
    sort_key = (rank, pos)
    if marker == "unmapped" or isinstance(value, UnmappedColumn):
        out[key] = (sort_key, _unmapped_column(reg, cls, key, value, marker, inner, type_map,
                                               where, rank))
    elif value is MISSING or isinstance(value, MappedColumn):
        mc = value if isinstance(value, MappedColumn) else MappedColumn((), {})
        # a mixin's column: each class gets its own copy; a declared_attr made this one
        # for cls alone, and copying it would cut a ForeignKey(cls.id) it holds from
        # the (not yet tabled) column it names
        fresh = isinstance(klass.__dict__.get(key), declared_attr)
        if (rank > 0 and not fresh) or getattr(mc.column, "table", None) is not None:
            mc = mc._copy()
        # a declared_attr of the mapped class's own body annotated only by its
        # function's return (-> Mapped[str]): the annotation may give the column its
        # type, not its nullability, which stays the column's own (as in SQLAlchemy,
        # which reads such a return annotation for mixins only)
        own_return = fresh and rank == 0 and \
            key not in klass.__dict__.get("__annotations__", {})
        column = _column_from(mc, key, inner, type_map, where, reg, cls,
                              annotation_nullable=not own_return)
        out[key] = (sort_key, column)
        if rank > 0 and key not in cls.__dict__:
            # a declared_attr of the mixins read after it (relationship(foreign_keys=
            # [cls.fk])) sees the class's own copy, not the mixin's column (the mapping
            # takes the Column off the class again, as it does the class body's)
            type.__setattr__(cls, key, column)
    elif isinstance(value, RelationshipProperty):
        if marker is not None:
            _apply_relationship_annotation(value, marker, inner, where)
        out[key] = (sort_key, value)
    elif getattr(value, "is_composite", False):
        _scan_composite(reg, cls, klass, key, value, inner, type_map, where, rank, pos, out)
    elif isinstance(value, Column) and rank > 0 and klass.__dict__.get(key) is value and \
            getattr(value, "table", None) is None:
        mixin_column: Any = value
        out[key] = (sort_key, mixin_column._copy())  # a mixin's Column: each class gets its own
    else:  # a ColumnProperty, or another property
        out[key] = (sort_key, value)


_MARKER_SPELLING = {"mapped": "Mapped", "dynamic": "DynamicMapped", "write_only": "WriteOnlyMapped"}


class UnmappedTableColumn:
    """A column the scan puts in the class's table without mapping it
    (``x: Unmapped[str] = unmapped_column()``); the registry excludes it from the
    mapper."""

    __slots__ = ("column",)

    def __init__(self, column: Column[Any]) -> None:
        self.column = column


def _unmapped_column(reg: Registry, cls: type, key: str, value: Any, marker: Any, inner: Any,
                     type_map: dict[Any, Any], where: str, rank: int) -> UnmappedTableColumn:
    """The column of ``key: Unmapped[inner] = value`` (an ``unmapped_column()``, or
    nothing), refused with any other value or annotation."""
    sentinel = isinstance(value, InsertSentinelColumn)
    if marker is not None and marker != "unmapped" and not sentinel:
        raise MappedAnnotationError(
            f"Can't map {where}: unmapped_column() declares a column the class does not "
            f"map, but its annotation is {_MARKER_SPELLING.get(marker, marker)}[...]; "
            f"annotate it '{key}: Unmapped[...]', or use mapped_column() to map it")
    if value is not MISSING and not isinstance(value, UnmappedColumn):
        raise MappedAnnotationError(
            f"Can't map {where}: its Unmapped[...] annotation declares a column the class "
            f"does not map, which takes unmapped_column() (or no value), not {value!r}; "
            f"write '{key}: Unmapped[...] = unmapped_column(...)', or annotate it Mapped[...]")
    mc = value if value is not MISSING else UnmappedColumn((), {})
    if rank > 0 or getattr(mc.column, "table", None) is not None:
        mc = mc._copy()  # a mixin's column: each class gets its own
    if sentinel and inner is MISSING:
        mc.type_given = True  # no annotation: the sentinel's own Integer
    made = _column_from(mc, key, inner, type_map, where, reg, cls, unmapped=True)
    return UnmappedTableColumn(made)


def _mapped_attribute(cls: type, klass: type, key: str, annotations: dict[str, Any],
                      strict: bool, inherited: Mapping[str, object]
                      ) -> tuple[Any, Any, Any] | None:
    """``(value, Mapped marker, annotation inside the marker)`` of attribute ``key`` of
    ``klass`` (``cls`` or one of its mixins), or None when it is not mapped (a
    ClassVar, a plain annotation, a value of no mapping kind).  ``strict``: a
    ``mapped_column()``/``relationship()`` annotated without ``Mapped[...]`` is
    refused.  ``inherited``: names a mapped superclass maps already, not mapped again
    (unless by a ``declared_attr.cascading``)."""
    from .properties import MapperProperty

    raw_ann = annotations.get(key, MISSING)
    value = klass.__dict__.get(key, MISSING)
    if key in inherited and not (isinstance(value, declared_attr) and value.is_cascading):
        return None
    was_declared_attr = isinstance(value, declared_attr)
    value, raw_ann, ann_module = _unwrap_declared_attr(cls, value, raw_ann)
    if raw_ann is not MISSING and is_classvar(raw_ann):
        return None
    is_ours = isinstance(value, (MappedColumn, MapperProperty, Column))
    if was_declared_attr and not is_ours:
        from .class_body_checks import check_declared_attr_value
        check_declared_attr_value(cls, key, value)
        # a declared_attr giving something else (an association proxy, a hybrid): its
        # value for cls becomes cls's attribute, made once, not on each access
        type.__setattr__(cls, key, value)
        return None
    if raw_ann is MISSING and not is_ours:
        return None
    ann = _evaluated(raw_ann, value is not MISSING and not is_ours, klass, ann_module)
    if ann is _UNREADABLE:
        return None
    marker, inner = _marker_and_inner(ann, klass, ann_module)
    if marker is None and ann is not MISSING and strict:
        _refuse_plain_annotation(cls, key, value, raw_ann)
    if marker is None and value is MISSING:
        return None  # a plain annotation: not mapped
    return value, marker, inner


_UNREADABLE = object()  # the annotation of an attribute of another kind that can't be read


def _evaluated(raw_ann: object, foreign: bool, klass: type, ann_module: str | None) -> object:
    """``raw_ann`` evaluated (MISSING stays MISSING).  ``foreign``: the attribute is of
    another kind (a descriptor of another library ...), whose annotation is its own
    business: one that can't be read gives ``_UNREADABLE`` instead of an error."""
    if raw_ann is MISSING:
        return MISSING
    if not foreign:
        return evaluate_annotation(raw_ann, klass, ann_module)
    try:
        return evaluate_annotation(raw_ann, klass, ann_module)
    except ArgumentError:
        return _UNREADABLE


def _refuse_plain_annotation(cls: type, key: str, value: object, raw_ann: object) -> None:
    """A ``mapped_column()``/``relationship()`` annotated without ``Mapped[...]`` (in a
    class that does not allow unmapped annotations) is refused."""
    from .relationships import RelationshipProperty

    if isinstance(value, (MappedColumn, RelationshipProperty)):
        raise MappedAnnotationError(
            f"Can't map {cls.__name__}.{key}: its annotation {raw_ann!r} is not Mapped[...]; "
            f"write '{key}: Mapped[...]' (e.g. Mapped[int] or Mapped[list[\"Other\"]]), or "
            "set __allow_unmapped__ = True on the class to keep plain annotations"
        )


def _unwrap_declared_attr(cls: type, value: object, raw_ann: object
                          ) -> tuple[object, object, str | None]:
    """A ``declared_attr``'s value for ``cls``, with its function's return annotation
    (and that function's module, to read it in) when the attribute has none."""
    if not isinstance(value, declared_attr):
        return value, raw_ann, None
    ann_module: str | None = None
    if raw_ann is MISSING:
        raw_ann = getattr(value.fget, "__annotations__", {}).get("return", MISSING)
        ann_module = getattr(value.fget, "__module__", None)
    return value.__get__(None, cls), raw_ann, ann_module


def _marker_and_inner(ann: object, klass: type, ann_module: str | None) -> tuple[Any, Any]:
    """The ``Mapped``-like marker of an evaluated annotation and the type inside it."""
    if ann is MISSING:
        return None, MISSING
    marker, inner = marker_of(ann)
    if isinstance(inner, (str, typing.ForwardRef)):
        # Mapped["Optional[Dict[str, Decimal]]"] or Mapped["list[B]"]: the string inside
        # the marker, read in the same module (names not defined yet stay names)
        inner = evaluate_annotation(inner, klass, ann_module)
    return marker, inner


def _scan_composite(reg: Any, cls: type, klass: type, key: str, prop: Any, inner: Any,
                    type_map: dict[Any, Any], where: str, rank: int, pos: int,
                    out: dict[str, tuple[Any, Any]]) -> None:
    """A ``composite()``: its class from the annotation, and the columns it declares
    (its ``mapped_column()``s, or ones made from its dataclass's fields) mapped as
    attributes of their own, in its place in the table."""
    annotation_class, optional = None, False
    if inner is not MISSING:
        layers = TypeLayers(inner)
        annotation_class, optional = layers.resolved, layers.nullable

    def make_column(mc: MappedColumn[Any], name: str, python_type: object) -> Any:
        if getattr(mc.column, "name", None) is None:
            mc.column.name = name
            mc.column.key = name
        if optional and python_type is not None and not isinstance(python_type, str):
            python_type = Optional[python_type]  # noqa: UP045  (a runtime type object)
        made = _column_from(mc, name, python_type if python_type is not None else MISSING,
                            type_map, f"{where} (column {name!r})", reg, cls)
        return made

    try:
        made = prop.declare_columns(annotation_class, optional, make_column,
                                    list(klass.__dict__.values()))
    except ArgumentError as e:
        raise ArgumentError(f"Can't map {where}: {e}") from None
    for i, (name, column) in enumerate(made):
        if name in out:
            raise ArgumentError(
                f"Can't map {where}: its column {name!r} has the name of another attribute "
                "of the class; name the column differently (mapped_column(\"other\"))")
        out[name] = ((rank, pos, i), column)
    out[key] = ((rank, pos, len(made)), prop)


def _column_from(
    mc: MappedColumn[Any], key: str, inner: object, type_map: dict[Any, Any], where: str,
    reg: object, cls: type, unmapped: bool = False, annotation_nullable: bool = True,
) -> Any:
    """The Column (or a ColumnProperty holding it, for the deferred and
    active_history options) of ``key: Mapped[inner] = mc``; its SQL type from the
    annotation when ``mc`` gives none.  ``unmapped``: a column the class does not map
    (``Unmapped[inner]``), which takes no mapping options: the Column alone. ``annotation_nullable``
    False: the annotation's Optional-ness does not decide the column's nullability."""

    col = mc.column
    nullable: bool | None = None
    if inner is not MISSING:
        layers = TypeLayers(inner)
        nullable = layers.nullable
        for item in layers.metadata:  # Annotated[int, mapped_column(...)]: a reusable declaration
            if isinstance(item, MappedColumn):
                mc = _merge(item, mc)
                col = mc.column
        # a foreign key column given no type takes the referenced column's (Core sets
        # it once the foreign key resolves), whatever Python type annotates it
        if not mc.type_given and not mc.has_foreign_key:
            sql_type = _annotated_sql_type(mc, key, inner, layers, type_map, where, reg, cls)
            if sql_type is not None:
                _set_column_type(col, sql_type)
    elif not mc.type_given and not mc.has_foreign_key:
        raise MappedAnnotationError(
            f"Can't map {where}: mapped_column() was given no type and the attribute has no "
            f"Mapped[...] annotation; write '{key}: Mapped[int] = mapped_column(...)' or pass "
            "the type, e.g. mapped_column(Integer)"
        )
    if annotation_nullable and not mc.nullable_given and nullable is not None \
            and not col.primary_key and col.identity is None:  # an IDENTITY column stays NOT NULL, as in Core
        col.nullable = nullable
    if getattr(col, "name", None) is None:
        col.name = key
        if getattr(col, "key", None) is None:  # mapped_column(key="other") keeps its key
            col.key = key
    col._dm_sort_order = mc.sort_order  # type: ignore[attr-defined]  # read back by the registry
    if unmapped:
        _refuse_mapping_options(mc, where)
        return col
    return _with_column_options(mc, col)


def _refuse_mapping_options(mc: MappedColumn[Any], where: str) -> None:
    given = mc.orm_options_given
    if given:
        names = ", ".join(repr(k) for k in given)
        raise ArgumentError(
            f"Can't map {where}: the attribute is not mapped (Unmapped[...]), so the "
            f"mapping option(s) {names} don't apply to it; drop them, or map it with "
            "Mapped[...] and mapped_column()")


def _with_column_options(mc: MappedColumn[Any], col: Column[Any]) -> Any:
    """``col``, or a ColumnProperty holding it for the deferred and active_history
    options of ``mapped_column()``."""
    from .properties import ColumnProperty

    if mc.deferred or mc.active_history or mc.deferred_group is not None \
            or mc.deferred_raiseload:
        prop = ColumnProperty(col, deferred=mc.deferred or bool(mc.deferred_raiseload),
                              group=mc.deferred_group, active_history=mc.active_history,
                              raiseload=bool(mc.deferred_raiseload))
        prop._dm_dataclass = mc.dataclass
        return prop
    return col


def _annotated_sql_type(mc: MappedColumn[Any], key: str, inner: object, layers: TypeLayers,
                        type_map: dict[Any, Any], where: str, reg: object, cls: type) -> Any:
    """The SQL type for annotation ``inner`` (its ``layers``): from a listener, the
    type map (the PEP 695 alias itself, the type, then its base), or None for a
    foreign key column (Core takes the referenced column's type)."""
    inner_tp, base = layers.extracted, layers.resolved
    sql_type = type_from_listeners(reg, cls, key, layers)
    if sql_type is None and layers.raw_pep_695 is not None:
        found = lookup_type(type_map, layers.raw_pep_695)  # the alias itself, mapped
        sql_type = as_sql_type(found, base) if found is not None else None
    if sql_type is None:
        sql_type = sql_type_for(inner_tp, type_map)
    if sql_type is None and base is not inner_tp:
        sql_type = sql_type_for(base, type_map)
    if sql_type is not None or mc.has_foreign_key:
        return sql_type
    if isinstance(base, (types.TypeEngine, Column, MappedColumn)) or (
            isinstance(base, type) and issubclass(base, (types.TypeEngine, Column))):
        raise MappedAnnotationError(
            f"Can't map {where}: its Mapped[...] annotation holds the SQL construct "
            f"{base!r}, where a Python type belongs; write '{key}: Mapped[int] = "
            "mapped_column(SomeSQLType)', the SQL type given to mapped_column()"
        )
    if isinstance(base, (ForwardName, str)) or _looks_mapped(base):
        raise MappedAnnotationError(
            f"Can't map {where}: its annotation names {base!r}, which has no SQL "
            f"type; if it is a related class, declare it with relationship(), e.g. "
            f"'{key}: Mapped[\"{base!s}\"] = relationship()'"
        )
    raise MappedAnnotationError(
        f"Can't map {where}: no SQL type is known for the annotation "
        f"{inner!r}; give the type as mapped_column(SomeType(...)) or add "
        f"{base!r} to the base's type_annotation_map"
    )


def _set_column_type(col: Any, sql_type: Any) -> None:
    """Give a Column made without a type its type, with the type's schema events
    (an ``Enum`` must be created with the table) wired as a constructor would."""
    if replace_null_type(col, sql_type):
        return
    col.type = sql_type
    if isinstance(sql_type, SchemaEventTarget):
        attach_type_to_column(sql_type, col)


def _merge(template: MappedColumn[Any], mc: MappedColumn[Any]) -> MappedColumn[Any]:
    """A column from an ``Annotated[..., mapped_column(...)]`` template plus the local one."""
    new = template._copy()
    local = mc.column
    if mc.type_given:
        _set_column_type(new.column, local.type)
        new.type_given = True
    for fk in list(local.foreign_keys):
        new.column.append_foreign_key(fk._copy())
        new.has_foreign_key = True
    if local.primary_key:
        new.column.primary_key = True
        if not new.nullable_given:  # a key column is NOT NULL unless told otherwise
            new.column.nullable = False
    if mc.nullable_given:
        new.column.nullable = local.nullable
        new.nullable_given = True
    if local.autoincrement != "auto":
        new.column.autoincrement = local.autoincrement
    if local.system:
        new.column.system = True
    if local.info:
        new.column.info = {**new.column.info, **local.info}
    if mc.default_given:  # default=None too: the attribute's own says "no default"
        new.column.default = local.default
    for attr in ("server_default", "onupdate", "server_onupdate", "index", "unique",
                 "comment", "doc"):
        v = getattr(local, attr, None)
        if v is not None:  # given on the attribute (index=False / unique=False too)
            setattr(new.column, attr, v)
    if local.name is not None:
        new.column.name = local.name
        new.column.key = local.key
    for k in ("deferred", "deferred_group", "deferred_raiseload", "active_history",
              "sort_order"):
        if getattr(mc, k):
            setattr(new, k, getattr(mc, k))
    new.dataclass = {**new.dataclass, **mc.dataclass}
    new.orm_options_given = [*new.orm_options_given,
                             *(k for k in mc.orm_options_given if k not in new.orm_options_given)]
    return new


def _looks_mapped(tp: object) -> bool:
    return isinstance(tp, type) and ("_dm_mapper" in tp.__dict__ or hasattr(tp, "__tablename__"))


def _apply_relationship_annotation(prop: RelationshipProperty, marker: str, inner: object,
                                   where: str) -> None:
    if marker == "write_only" and prop.lazy != "write_only":
        prop.lazy = "write_only"
    if marker == "dynamic":
        prop.lazy = "dynamic"
    if inner is MISSING:
        return
    target, collection, uselist = relationship_shape(inner)
    if marker in ("dynamic", "write_only"):
        target = target_name(strip_optional(inner)[0]) if collection is None else target
        collection, uselist = None, True
    if collection is dict:
        if prop._collection_class_arg is None:
            raise ArgumentError(
                f"Can't map {where}: a dictionary collection needs a key for each member; "
                "give relationship(collection_class=attribute_keyed_dict(\"name\")) (or "
                "column_keyed_dict()/keyfunc_mapping()), or annotate Mapped[list[...]]"
            )
        collection = None  # the keyed dictionary class given
    _fill_relationship_arguments(prop, marker, target, collection, uselist, where)


def _fill_relationship_arguments(prop: RelationshipProperty, marker: str, target: object,
                                 collection: object, uselist: bool | None, where: str) -> None:
    """Give ``prop`` the target, collection class and uselist read from its annotation
    where relationship() was given none."""
    if prop.argument is None:
        if target is None or target is MISSING:
            raise ArgumentError(
                f"Can't map {where}: relationship() was given no target and the annotation "
                "names none; write Mapped[\"Other\"] or Mapped[list[\"Other\"]]"
            )
        prop.argument = target
    if collection is not None and prop._collection_class_arg is None and marker == "mapped":
        prop._collection_class_arg = collection
    if prop._uselist_arg is None and uselist is not None and marker == "mapped":
        prop._uselist_arg = uselist
