"""Every read of SQLAlchemy Core's private or undocumented internals, in one place.

datamapper builds on Core's public API.  A few things it needs have no public
spelling: the fast driver path (a compiled statement's bind processors, the
driver-level error report), the raw rows of a result, the parts of a statement
as given (selected elements, joins, options, DML values), Core's annotation
and inspection registries, and the compile-state plugin protocol.  They are all
read here, through named functions, so that:

- the rest of the package reads only public Core names (checked by
  ``tests/test_core_internals.py``, which fails on a private Core attribute
  read anywhere else);
- the same tests exercise every function here against the installed SQLAlchemy,
  and CI runs them on SQLAlchemy 2.0 and 2.1 (``.ci/run``, second virtualenv);
- a Core upgrade that moves something breaks one package, in a test that names it.

The functions live in three submodules by the Core area they read: ``results``
(result rows and the driver fast paths), ``statements`` (statement, DML and
annotation internals, cache keys) and ``registries`` (type, inspection, event and
compile-plugin registries, asyncio).  Every other module imports them from here,
``datamapper._core``, the single import point.

Imports nothing from datamapper (layer L0).
"""

from __future__ import annotations

from sqlalchemy.engine.cursor import CursorFetchStrategy
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.engine.result import SimpleResultMetaData, result_tuple
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.base import CompileState
from sqlalchemy.sql.dml import DeleteDMLState, InsertDMLState, UpdateDMLState
from sqlalchemy.sql.selectable import SelectState
from sqlalchemy.util import greenlet_spawn

from .registries import (
    async_connection_for,
    attach_type_to_column,
    class_level_listeners,
    compiling_toplevel,
    creation_order,
    enclosing_froms,
    event_classes_for,
    event_key_fn,
    inspection_allows_reregistration,
    inspection_registrar,
    install_dml_plugin,
    install_select_plugin,
    register_self_inspecting,
    replace_null_type,
    select_iterable,
    set_inspection_registrar,
)
from .results import (
    POSITIONAL_ROWS,
    CachedDriverSelect,
    DriverSelect,
    bind_processors,
    cached_select_rows,
    compile_driver_select,
    driver_fetchall,
    driver_select_ok,
    driver_write,
    driver_write_ok,
    has_execute_listeners,
    insertmanyvalues,
    is_float_bind,
    plain_fetchall,
    positional_rows,
    report_dbapi_error,
    result_metadata,
    type_may_be_null_type,
)
from .statements import (
    ExportingSelect,
    annotate,
    annotations_of,
    anonymous_fromclause,
    copy_generative,
    deannotate,
    dml_has_multi_values,
    dml_multi_values,
    dml_post_values_clause,
    dml_returning,
    dml_returns_defaults,
    dml_values,
    dml_values_ordered,
    dml_where,
    dml_with_multi_values,
    dml_with_returning,
    dml_with_values,
    explicit_froms,
    for_update_arg,
    from_objects,
    gen_cache_key,
    generate,
    generate_cache_key,
    has_group_by,
    has_limit_or_offset,
    is_cacheable_element,
    is_distinct,
    is_executable_on_connection,
    is_selectable_iterable,
    is_star,
    mark_uncacheable,
    memoized_select_entities,
    order_by_clauses,
    order_term_expression,
    ordering_list,
    propagate_attrs,
    proxy_key,
    raw_columns,
    relay_facts,
    relay_select,
    replace_froms,
    set_propagate_attrs,
    setup_joins,
    statement_execution_options,
    statement_options,
    where_criteria,
    with_adapted_clauses,
    with_froms,
    with_joins,
    with_statement_options,
    with_where_criteria,
)

__all__ = [
    # names from Core modules that are not part of its documented API
    "BindTyping", "CompileState", "CursorFetchStrategy", "DeleteDMLState", "InsertDMLState",
    "SelectState", "UpdateDMLState",
    "SimpleResultMetaData", "coercions", "result_tuple", "roles",
    # Core's bridge from synchronous code to asyncio drivers (ext/asyncio.py)
    "greenlet_spawn",
    # the functions of the submodules
    "plain_fetchall", "positional_rows", "result_metadata", "type_may_be_null_type",
    "bind_processors", "is_float_bind", "insertmanyvalues", "report_dbapi_error",
    "DriverSelect", "compile_driver_select", "driver_select_ok", "CachedDriverSelect",
    "cached_select_rows", "driver_fetchall", "has_execute_listeners", "driver_write_ok",
    "driver_write", "POSITIONAL_ROWS", "statement_execution_options", "statement_options",
    "with_statement_options", "raw_columns", "relay_facts", "relay_select", "ordering_list", "is_star", "explicit_froms",
    "setup_joins", "memoized_select_entities", "with_joins", "with_froms", "replace_froms", "where_criteria",
    "with_where_criteria", "with_adapted_clauses", "has_limit_or_offset", "has_group_by", "is_distinct",
    "order_by_clauses", "order_term_expression", "for_update_arg", "copy_generative", "generate", "from_objects",
    "proxy_key", "is_cacheable_element", "is_selectable_iterable",
    "is_executable_on_connection", "annotate", "ExportingSelect", "deannotate", "annotations_of",
    "propagate_attrs", "set_propagate_attrs", "anonymous_fromclause", "dml_returning", "dml_returns_defaults",
    "dml_with_returning", "dml_where", "dml_values", "dml_values_ordered",
    "dml_has_multi_values", "dml_multi_values", "dml_post_values_clause", "dml_with_multi_values", "dml_with_values", "gen_cache_key", "mark_uncacheable",
    "generate_cache_key", "attach_type_to_column", "replace_null_type", "creation_order",
    "inspection_registrar", "set_inspection_registrar", "register_self_inspecting",
    "inspection_allows_reregistration", "event_classes_for", "event_key_fn",
    "install_dml_plugin", "compiling_toplevel", "enclosing_froms", "select_iterable",
    "install_select_plugin", "async_connection_for", "class_level_listeners",
]
