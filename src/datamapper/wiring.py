"""The run-time wiring of datamapper: every hook one layer installs in another.

Lower layers may not import higher ones (see ``shared/DESIGN.md``), so where a
lower layer has to call up, it keeps a hook list or a setter, and this module
fills them in.  Reading :func:`wire` is reading the table of contents of what
calls what across layers at run time; nothing else in the package installs a
hook as a side effect of being imported.  ``datamapper/__init__.py`` calls
:func:`wire` once, after every module is loaded; calling it again does nothing.

======================================  =============================================
hook (owner)                            installed: what runs there
======================================  =============================================
``mapping.mapper.instrumentation_hooks``  ``instance.instrumentation.instrument``: a new
                                        mapper gets attribute descriptors/``__init__``
``mapping.mapper.instrumentation_hooks``  ``associationproxy.adopt_sqlalchemy_association_proxies``:
                                        ``sqlalchemy.ext.associationproxy`` attributes of a
                                        mapped class become datamapper's
``mapping.mapper.uninstrumentation_hooks``  ``instance.instrumentation.uninstrument``:
                                        ``clear_mappers()`` takes them off again
``mapping.relationships.relationship_configured_hooks``
                                        ``instance.relationships.relationship_configured``:
                                        a configured relationship gets its attribute
                                        impl and backref links
``mapping.coercion.state_of``           ``instance.state.instance_state``:
                                        ``sqlalchemy.inspect(obj)`` finds the state
                                        (and ``InstanceState`` is registered as an
                                        inspection result: no literal SQL value)
``mapping.coercion.register_inspection``  Core's inspection registry: a mapped attribute
                                        is its own inspection, an alias answers
                                        ``query.aliased.inspect_alias``
``instance.dynamic.register_query_factory``  ``query.dynamic.appender_query``: what a
                                        ``lazy="dynamic"`` attribute returns
``event.register_resolver`` (1)         ``mapping.mapper_events.attribute_event_resolver``:
                                        ``listen(Class, ...)``/``listen(Class.attr, ...)``
``event.register_resolver`` (2)         ``session.session.session_event_resolver``:
                                        ``listen(session or Session class or maker, ...)``
``event.bridge_core_events``            the mapper, attribute, registry and session event names:
                                        ``sqlalchemy.event.listen()`` on those targets
                                        goes to ``datamapper.event.listen()``
``mapping.mapper.configure_hooks``    ``mutable_bridge.adopt_sqlalchemy_mutable``:
                                        columns that SQLAlchemy's own
                                        ``sqlalchemy.ext.mutable`` was told to track
                                        are tracked (or refused, when they can't be)
``mapping.mapper.cascade_walks``       ``cascade.cascade_records``:
                                        ``Mapper.cascade_iterator()`` walks the cascades
``query.core_plugin.install``           Core's compile-state plugin registry: a Core
                                        ``select()`` joined along a relationship
                                        (``join(User.addresses)``) compiles to the joins
                                        of tables
======================================  =============================================

(The session registry the instance layer looks sessions up in,
``instance.state._sessions``, is not a hook: each Session enters itself there
when it is created.)
"""

from __future__ import annotations

from . import cascade, event
from .associationproxy import adopt_sqlalchemy_association_proxies
from .instance import instrumentation
from .instance import relationships as instance_relationships
from .instance.dynamic import register_query_factory
from .instance.state import InstanceState, instance_state
from .mapping import coercion
from .mapping import relationships as mapping_relationships
from .mapping.attributes import QueryableAttribute
from .mapping.mapper import (
    cascade_walks,
    configure_hooks,
    instrumentation_hooks,
    uninstrumentation_hooks,
)
from .mapping.mapper_events import (
    ATTRIBUTE_EVENTS,
    INSTRUMENTATION_EVENTS,
    MAPPER_EVENTS,
    REGISTRY_EVENTS,
    attribute_event_resolver,
)
from .mutable_bridge import adopt_sqlalchemy_mutable
from .query import core_plugin
from .query.aliased import AliasedClass, inspect_alias
from .query.dynamic import appender_query
from .session.session import SESSION_EVENTS, session_event_resolver

_wired = False


def wire() -> None:
    """Install every cross-layer hook (once; later calls do nothing)."""
    global _wired
    if _wired:
        return
    _wired = True
    # mapping -> instance: class instrumentation
    instrumentation_hooks.append(instrumentation.instrument)
    instrumentation_hooks.append(adopt_sqlalchemy_association_proxies)
    uninstrumentation_hooks.append(instrumentation.uninstrument)
    mapping_relationships.relationship_configured_hooks.append(
        instance_relationships.relationship_configured)
    coercion.state_of = instance_state
    coercion.register_state_class(InstanceState)
    # sqlalchemy.inspect(User.name) is the attribute; inspect(aliased(User)) its AliasedInsp
    coercion.register_inspection(QueryableAttribute)
    coercion.register_inspection(AliasedClass, inspect_alias)
    # instance -> query: the query a dynamic relationship attribute returns
    register_query_factory(appender_query)
    # event targets, resolved last-registered first: sessions, then mapped classes
    event.register_resolver(attribute_event_resolver)
    event.register_resolver(session_event_resolver)
    # sqlalchemy.event.listen()/listens_for() on those targets: handed to datamapper.event
    event.bridge_core_events(MAPPER_EVENTS | ATTRIBUTE_EVENTS | SESSION_EVENTS | REGISTRY_EVENTS
                             | INSTRUMENTATION_EVENTS)
    # Core select() -> query: joins along relationships in Core-built statements
    core_plugin.install()
    # mapping -> extras: SQLAlchemy's own mutable extension on datamapper's mappers
    configure_hooks.append(adopt_sqlalchemy_mutable)
    # mapping -> cascade: Mapper.cascade_iterator()
    cascade_walks.append(cascade.cascade_records)


def is_wired() -> bool:
    return _wired
