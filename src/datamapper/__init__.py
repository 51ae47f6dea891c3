"""datamapper: a data-mapper ORM whose heart is the Session, built on SQLAlchemy Core.

Map classes with :func:`declarative_base`, :class:`registry` or :func:`mapper`;
load and change objects through a :class:`Session`; every change is written
back in one ordered flush inside a transaction.
"""

from . import attributes, collections, event, exc, mutable
from ._util import NO_VALUE
from ._util.inspection import InspectionAttr, NotExtension
from .associationproxy import AssociationProxy, AssociationProxyInstance, association_proxy
from .collections import (
    KeyFuncDict,
    attribute_keyed_dict,
    attribute_mapped_collection,
    column_keyed_dict,
    column_mapped_collection,
    keyfunc_mapping,
    mapped_collection,
)
from .instance.attributes import PassiveFlag
from .instance.state import AttributeState, InstanceState
from .legacy import EXT_CONTINUE, EXT_STOP, MapperExtension, SessionExtension
from .loading.criteria import LoaderCriteriaOption, with_loader_criteria
from .loading.merge import merge_frozen_result, merge_result
from .mapping import (
    CascadeOptions,
    ColumnProperty,
    Composite,
    CompositeProperty,
    DeclarativeBase,
    DeclarativeBaseNoMeta,
    DynamicMapped,
    Mapped,
    MappedAsDataclass,
    MappedColumn,
    Mapper,
    PropComparator,
    RelationshipProperty,
    TypeResolve,
    Unmapped,
    UnmappedColumn,
    WriteOnlyMapped,
    backref,
    class_mapper,
    clear_mappers,
    column_property,
    composite,
    configure_mappers,
    declarative_base,
    declared_attr,
    deferred,
    foreign,
    mapped_as_dataclass,
    mapped_column,
    mapper,
    orm_insert_sentinel,
    query_expression,
    registry,
    relation,
    relationship,
    remote,
    synonym,
    unmapped_column,
    unmapped_dataclass,
    validates,
)
from .mapping.attributes import InstrumentedAttribute, QueryableAttribute
from .mapping.coercion import DeclarativeMeta
from .mapping.helpers import polymorphic_union, synonym_for
from .mapping.mapper import reconstructor
from .mapping.properties import MapperProperty, SynonymProperty
from .mapping.registry import add_mapped_attribute
from .mapping.relationships import (
    MANYTOMANY,
    MANYTOONE,
    ONETOMANY,
    RelationshipDirection,
    dynamic_loader,
)
from .mapping.writeonly import WriteOnlyCollection
from .query import AliasedClass, Query, aliased, select, with_polymorphic
from .query.bundle import Bundle, DictBundle
from .query.dynamic import AppenderQuery
from .query.options import (
    Load,
    UserDefinedOption,
    contains_eager,
    defaultload,
    defer,
    eagerload,
    immediateload,
    joinedload,
    lazyload,
    load_only,
    noload,
    raiseload,
    selectin_polymorphic,
    selectinload,
    subqueryload,
    undefer,
    undefer_group,
    with_expression,
)
from .query.orm_select import join, outerjoin
from .query.with_parent import with_parent
from .scoping import ScopedRegistry, ThreadLocalRegistry, scoped_session
from .session import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    SessionTransactionOrigin,
    create_session,
    object_session,
    sessionmaker,
)
from .util import (
    as_declarative,
    close_all_sessions,
    declarative_mixin,
    has_inherited_table,
    inspect,
    make_transient,
    make_transient_to_detached,
    object_mapper,
    object_state,
    was_deleted,
)
from .wiring import wire

wire()  # every cross-layer hook, installed in one place: see datamapper/wiring.py

__version__ = "0.1.0"

__all__ = [
    "InspectionAttr", "NotExtension",
    "DeclarativeBase", "DeclarativeBaseNoMeta", "DynamicMapped", "Mapped", "MappedAsDataclass",
    "MappedColumn", "PassiveFlag", "TypeResolve", "Unmapped", "UnmappedColumn", "unmapped_column", "WriteOnlyCollection", "WriteOnlyMapped", "declared_attr",
    "mapped_column", "mapped_as_dataclass", "orm_insert_sentinel", "unmapped_dataclass",
    "AssociationProxy", "AssociationProxyInstance", "association_proxy",
    "Composite", "CompositeProperty", "composite",
    "InstrumentedAttribute", "QueryableAttribute", "MapperProperty", "SynonymProperty", "Synonym",
    "Relationship", "reconstructor", "as_declarative", "close_all_sessions", "declarative_mixin",
    "has_inherited_table",
    "Load", "contains_eager", "defaultload", "defer", "eagerload", "immediateload", "joinedload", "aliased", "AliasedClass", "lazyload",
    "load_only", "noload", "raiseload", "selectin_polymorphic", "selectinload", "subqueryload", "undefer",
    "ORMExecuteState", "UserDefinedOption", "LoaderCriteriaOption", "with_loader_criteria",
    "undefer_group", "query_expression", "with_expression", "with_parent", "join", "outerjoin", "Bundle", "DictBundle",
    "EXT_CONTINUE", "EXT_STOP", "MapperExtension", "SessionExtension",
    "AppenderQuery", "dynamic_loader",
    "MANYTOMANY", "MANYTOONE", "ONETOMANY", "RelationshipDirection",
    "KeyFuncDict", "attribute_keyed_dict", "attribute_mapped_collection", "collections", "mutable",
    "column_keyed_dict", "column_mapped_collection", "keyfunc_mapping", "mapped_collection",
    "CascadeOptions", "ColumnProperty", "PropComparator", "InstanceState", "Mapper", "Query", "RelationshipProperty",
    "Session", "backref", "foreign", "relation", "relationship", "remote",
    "ScopedRegistry", "ThreadLocalRegistry", "scoped_session",
    "SessionTransaction", "SessionTransactionOrigin", "attributes", "class_mapper", "clear_mappers", "column_property",
    "configure_mappers", "create_session", "declarative_base", "deferred", "event", "exc",
    "inspect", "make_transient", "make_transient_to_detached", "mapper", "object_mapper",
    "object_session", "object_state", "registry", "select", "sessionmaker", "synonym",
    "validates", "was_deleted", "with_polymorphic",
    "AttributeState", "DeclarativeMeta", "MappedCollection", "NO_VALUE", "polymorphic_union",
    "synonym_for", "add_mapped_attribute", "merge_frozen_result", "merge_result",
]

# the 2.x names of the property classes
Relationship = RelationshipProperty
Synonym = SynonymProperty
MappedCollection = KeyFuncDict  # its 2.0 name
