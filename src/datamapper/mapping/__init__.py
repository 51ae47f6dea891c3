"""Mapping layer: registry, Mapper, properties, relationships (configuration only)."""

from .cascade import CascadeOptions
from .composite import Composite, CompositeProperty, composite
from .declarative import (
    DeclarativeBase,
    DeclarativeBaseNoMeta,
    DynamicMapped,
    Mapped,
    MappedAsDataclass,
    MappedColumn,
    TypeResolve,
    Unmapped,
    UnmappedColumn,
    WriteOnlyMapped,
    declared_attr,
    mapped_column,
    orm_insert_sentinel,
    unmapped_column,
)
from .mapper import Mapper, class_mapper, configure_mappers
from .properties import (
    ColumnProperty,
    PropComparator,
    column_property,
    deferred,
    query_expression,
    synonym,
    validates,
)
from .registry import (
    clear_mappers,
    declarative_base,
    mapped_as_dataclass,
    mapper,
    registry,
    unmapped_dataclass,
)
from .relationships import (
    RelationshipProperty,
    backref,
    foreign,
    relation,
    relationship,
    remote,
)

__all__ = [
    "CascadeOptions", "PropComparator", "Composite", "CompositeProperty", "composite", "ColumnProperty", "Mapper", "class_mapper", "clear_mappers",
    "column_property", "configure_mappers", "query_expression", "declarative_base", "deferred", "mapper",
    "registry", "synonym", "validates", "RelationshipProperty", "backref", "relation",
    "relationship", "foreign", "remote", "DeclarativeBase", "DeclarativeBaseNoMeta", "DynamicMapped", "Mapped",
    "MappedAsDataclass", "MappedColumn", "TypeResolve", "Unmapped", "UnmappedColumn",
    "orm_insert_sentinel", "unmapped_column", "WriteOnlyMapped", "declared_attr", "mapped_column",
    "mapped_as_dataclass", "unmapped_dataclass",
]
