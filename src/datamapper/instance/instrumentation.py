"""Instrumenting a mapped class: its attribute descriptors (each with its impl),
the ``__setattr__``/``__delattr__`` that route writes of mapped attributes to the
impls, the ``__init__`` wrapper (with the registry's fast keyword constructor)
and ``__copy__``; and undoing all of it.

Callers: ``wiring.py`` installs :func:`instrument` and :func:`uninstrument` as the
mapper's instrumentation hooks.  Plain Python: no SQLAlchemy import.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..exc import InvalidRequestError
from ..mapping.attributes import InstrumentedAttribute, QueryableAttribute, RelationshipAttribute
from ..mapping.mapper import Mapper, configure_mappers
from ..mapping.mapper_events import ATTRIBUTE_DISPATCHES
from ..mapping.registry import _default_constructor
from .collections import is_instrumented as _is_collection
from .collections import new_collection
from .scalar_impls import HEAPTYPE, CompositeImpl, ScalarImpl, SynonymImpl
from .state import STATE_ATTR, InstanceState, _restore_state, instance_state, new_state


def _data_descriptor(value: Any) -> bool:
    """A ``property``-like class attribute (getter and setter), not a mapped one."""
    t = type(value)
    return (hasattr(t, "__get__") and hasattr(t, "__set__")
            and not isinstance(value, QueryableAttribute))

def _prime_shared_keys(cls: Any, keys: list[str]) -> None:
    """Put every attribute name into the class's shared instance-key table.

    CPython keeps the attributes of instances of an ordinary class in compact
    inline storage with one key table per class, instead of a ``__dict__`` per
    instance, for as long as every name an instance stores is in that table.
    New names can be added to the table only until the interpreter specializes
    attribute access on the class (after a few dozen accesses); a name added
    later (say ``id``, first stored when a flush returns generated keys) makes
    every later instance that stores it fall back to a full dictionary: a
    loaded row then costs a dict more memory and one more object for the cycle
    collector to scan.  Storing every mapped name once on a throwaway instance,
    in the loader's order, before any real instance exists, avoids that.
    """
    mro = cls.__mro__
    if any(not (k.__flags__ & HEAPTYPE) for k in mro[:-1]):
        return  # a C base class decides storage itself
    if any("__del__" in k.__dict__ for k in mro[:-1]):
        return  # the throwaway instance must not run user code
    names: list[str] = []
    for name in dict.fromkeys(keys):
        for klass in mro:
            if name in klass.__dict__:
                kind = type(klass.__dict__[name])
                if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):
                    break  # a data descriptor (property, slot) owns this name
                names.append(name)
                break
        else:
            names.append(name)
    try:
        proto = object.__new__(cls)
        for name in names:
            object.__setattr__(proto, name, None)
    except (TypeError, AttributeError):
        return


def _copy_mapped(self: Any) -> Any:
    """``copy.copy()`` of a mapped object (installed as ``__copy__``).

    A shallow copy through the object's own pickling hooks (``__reduce_ex__``,
    ``__getstate__``, ``__setstate__``), except that the copy gets its own
    state -- detached (same identity key), or transient when the original had
    no identity -- and its own instrumented collections holding the same
    members.  Sharing the original's state would make the copy's changes
    history of the original.
    """
    rv = self.__reduce_ex__(4)
    if isinstance(rv, str):
        return self
    func, args, state, listitems, dictitems = (tuple(rv) + (None,) * 5)[:5]
    y = func(*args)
    if state is not None:
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        if isinstance(state, dict):
            state = _unshared(self, y, state)
        setstate = getattr(y, "__setstate__", None)
        if setstate is not None:
            setstate(state if slots is None else (state, slots))
        else:
            if state:
                y.__dict__.update(state)
            for name, value in (slots or {}).items():
                setattr(y, name, value)
    if listitems is not None:
        for item in listitems:
            y.append(item)
    if dictitems is not None:
        for k, v in dictitems:
            y[k] = v
    return y


def _unshared(original: Any, copy: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (the original's attribute dict) with its state and collections
    replaced by ones that belong to ``copy``."""
    out = dict(values)
    old = out.get(STATE_ATTR)
    if not isinstance(old, InstanceState) or old.obj() is not original:
        return out
    new = _restore_state(copy, old.portable_facts())
    out[STATE_ATTR] = new
    for k, v in out.items():
        if _is_collection(v) and v._dm_state is old:
            out[k] = new_collection(type(v).__bases__[1], new, v._dm_impl, v)
    return out


def instrument(mapper: Mapper) -> None:
    """Install descriptors and the write hooks on ``mapper.class_``."""
    cls = mapper.class_
    impls = _install_attributes(mapper)
    if "_dm_instrumented" in cls.__dict__:
        return
    _prime_shared_keys(cls, [p.key for p in getattr(mapper, "_load_props", ())]
                       + [STATE_ATTR] + list(mapper._props))
    saved = {n: cls.__dict__[n] for n in ("__setattr__", "__delattr__", "__init__")
             if n in cls.__dict__}
    mapper._dm_saved = saved
    klass: Any = cls
    __setattr__, __delattr__ = _write_hooks(klass, impls.get)
    user_setattr = saved.get("__setattr__")
    if user_setattr is not None:
        __setattr__ = _with_user_setattr(klass, user_setattr, impls.get)
        type.__setattr__(klass, "_dm_user_setattr", True)  # (the constructor uses setattr)
    original_init = klass.__init__
    # a subclass of a mapped class (mapper inheritance) wraps what its base wrapped
    original_init = getattr(original_init, "_dm_original", original_init)
    __init__ = _constructor(mapper, klass, impls, original_init,
                            keyword_fast_path=user_setattr is None)
    poly = mapper._poly
    if poly is not None and poly.on_key is not None and mapper.polymorphic_identity is not None:
        __init__ = _discriminating_init(__init__, poly.on_key, mapper.polymorphic_identity)
    if mapper.polymorphic_abstract:
        __init__ = _abstract_init(mapper)
    __init__.__doc__ = original_init.__doc__
    __init__._dm_original = original_init  # type: ignore[attr-defined]  # a function attribute: mypy types __init__ as a Callable, which declares none
    if original_init is not _default_constructor:
        # introspection (help(), inspect.signature(), IDEs, dataclass-aware tools) sees
        # the class's own parameters, not the wrapper's *args/**kwargs
        __init__.__wrapped__ = original_init  # type: ignore[attr-defined]  # a function attribute: mypy types __init__ as a Callable, which declares none
        try:
            __init__.__signature__ = inspect.signature(original_init)  # type: ignore[attr-defined]  # a function attribute: mypy types __init__ as a Callable, which declares none
        except (TypeError, ValueError):  # a builtin's __init__ may have none
            pass
    cls.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]  # instrumentation installs its hook as the mapped class's method; mypy forbids assigning to one
    cls.__delattr__ = __delattr__  # type: ignore[method-assign,assignment]  # instrumentation installs its hook as the mapped class's method; mypy forbids assigning to one
    cls.__init__ = __init__  # type: ignore[misc]  # instrumentation installs its constructor on the mapped class; mypy forbids assigning to __init__
    if getattr(cls, "__copy__", None) is None:
        cls.__copy__ = _copy_mapped  # type: ignore[attr-defined]  # added to the program's class, which declares no __copy__ (checked above)
    cls._dm_instrumented = True  # type: ignore[attr-defined]  # a marker set on the program's class, which doesn't declare it


def _install_attributes(mapper: Mapper) -> dict[str, Any]:
    """Put a class attribute (with its implementation) on ``mapper.class_`` for each
    property not instrumented yet; the mapper's ``{key: impl}``."""
    cls = mapper.class_
    impls: dict[str, Any] = getattr(mapper, "_impls", {})
    mapper._impls = impls
    for key, prop in mapper._props.items():
        old = impls.get(key)
        if old is not None:
            if getattr(getattr(old, "attr", None), "prop", prop) is prop:
                continue
            # add_property() replaced the property of that name (a column attribute by a
            # synonym, say): the new one is instrumented in its place
            del impls[key]
        existing = cls.__dict__.get(key)
        if old is not None and isinstance(existing, QueryableAttribute):
            # (the descriptor the replaced property took over, if any, is the program's)
            existing = mapper.__dict__.get("_dm_replaced", {}).get(key, existing)
        attr: InstrumentedAttribute[Any] = (
            RelationshipAttribute(cls, key, prop, mapper) if prop.is_relationship
            else InstrumentedAttribute(cls, key, prop, mapper))
        if prop.is_synonym:
            desc = prop.descriptor
            if desc is None and existing is not None and _data_descriptor(existing):
                desc = existing
            impl: Any = SynonymImpl(key, prop.name, attr, desc)
        elif getattr(prop, "is_composite", False):
            impl = CompositeImpl(key, prop, attr)
        elif prop.is_relationship:
            from .relationships import make_relationship_impl

            impl = make_relationship_impl(mapper, key, attr, prop)
        else:
            impl = ScalarImpl(mapper, key, attr)
        attr.impl = impl
        impls[key] = impl
        if existing is not None and not isinstance(existing, QueryableAttribute):
            mapper.__dict__.setdefault("_dm_replaced", {})[key] = existing
        setattr(cls, key, attr)
    return impls


def _write_hooks(klass: Any, get_impl: Callable[[str], Any]
                 ) -> tuple[Callable[[Any, str, Any], None], Callable[[Any, str], None]]:
    """``__setattr__`` and ``__delattr__`` for an instrumented class: a mapped
    attribute's write goes through its impl, any other to the base class's."""
    parent_setattr = super(klass, klass).__setattr__
    parent_delattr = super(klass, klass).__delattr__

    def __setattr__(self: Any, key: str, value: Any) -> None:  # noqa: N807
        impl = get_impl(key)
        if impl is None:
            parent_setattr(self, key, value)
        else:
            impl.set(self, value)

    def __delattr__(self: Any, key: str) -> None:  # noqa: N807
        impl = get_impl(key)
        if impl is None:
            parent_delattr(self, key)
        else:
            impl.delete(self)

    return __setattr__, __delattr__


def _with_user_setattr(klass: Any, user_setattr: Callable[[Any, str, Any], None],
                       get_impl: Callable[[str], Any]) -> Callable[[Any, str, Any], None]:
    """``__setattr__`` for a class whose body defines its own: the program's runs for
    every attribute.  Its ``super().__setattr__()`` reaches ``object.__setattr__``,
    which stores a mapped attribute's value past the instrumentation: the value it
    stored is taken back out and set through the attribute's impl (history, events,
    backrefs), as the class's own hook meant to store it."""
    if super(klass, klass).__setattr__ is not object.__setattr__:
        # a mapped (instrumented) base class's __setattr__ is what super() reaches
        return user_setattr

    def __setattr__(self: Any, key: str, value: Any) -> None:  # noqa: N807
        impl = get_impl(key)
        if impl is None:
            user_setattr(self, key, value)
            return
        d = self.__dict__
        old = d.get(key, _MISSING)
        user_setattr(self, key, value)
        new = d.get(key, _MISSING)
        if new is old:
            return  # the hook stored nothing (or the value already held)
        if old is _MISSING:
            del d[key]
        else:
            d[key] = old
        impl.set(self, new)

    return __setattr__


_MISSING = object()


def _constructor(mapper: Mapper, klass: Any, impls: dict[str, Any],
                 original_init: Callable[..., None], keyword_fast_path: bool = True
                 ) -> Callable[..., None]:
    """The ``__init__`` of an instrumented class: the class's own, run after the
    ``init`` event; for the registry's keyword constructor, a fast path that stores
    plain column values straight into ``__dict__``."""
    dispatch = mapper.dispatch

    def _slow_init(self: Any, *args: Any, **kwargs: Any) -> None:
        if not mapper.configured:
            configure_mappers()  # backrefs must exist before the first attribute is set
        if "init" in dispatch.active or "init_failure" in dispatch.active:
            instance_state(self)
            dispatch.fire("init", self, args, kwargs)
            try:
                original_init(self, *args, **kwargs)
            except BaseException:
                if "init_failure" in dispatch:
                    dispatch.fire("init_failure", self, args, kwargs)
                raise
            return
        original_init(self, *args, **kwargs)

    # @reconstructor on __init__ itself: loads call the class's own __init__ (no init
    # event), which mapping.mapper finds through this wrapper
    _slow_init.__wrapped__ = original_init  # type: ignore[attr-defined]  # functools' convention
    if original_init is not _default_constructor or not keyword_fast_path:
        return _slow_init  # (the default constructor sets each argument with setattr)
    return _keyword_constructor(mapper, klass, impls, _slow_init)


def _keyword_constructor(mapper: Mapper, klass: Any, impls: dict[str, Any],
                         slow_init: Callable[..., None]) -> Callable[..., None]:
    """The registry's keyword constructor: plain column values go straight into
    ``__dict__`` (what ScalarImpl.set does for a new object), the rest through impls;
    ``slow_init`` when there are positional arguments or ``init`` listeners."""
    dispatch = mapper.dispatch
    get_impl = impls.get

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        if not mapper.configured:
            configure_mappers()
        if args or "init" in dispatch.active or "init_failure" in dispatch.active:
            slow_init(self, *args, **kwargs)
            return
        if not kwargs:
            return
        d = self.__dict__
        plain = plain_keys[0]
        if plain_keys[1] != attribute_dispatches[0]:
            plain = _plain_column_keys(impls)
            plain_keys[:] = (plain, attribute_dispatches[0])
        if plain.issuperset(kwargs) and STATE_ATTR not in d:
            # only plain column values (the usual constructor call): one dict update
            # in C instead of a Python loop over the arguments.  The object gets no
            # state yet: instance_state() makes it on first need (add() does), one
            # allocation less while a program builds many objects, each of which
            # the cycle collector would count and scan again and again
            d.update(kwargs)
            return
        if STATE_ATTR not in d:
            # (a subclass's own __init__ may call this one through super())
            d[STATE_ATTR] = new_state(self, mapper if self.__class__ is klass
                                      else self.__class__.__dict__.get("_dm_mapper", mapper))
        if plain.issuperset(kwargs):
            d.update(kwargs)
        else:
            for key, value in kwargs.items():
                impl = get_impl(key)
                if impl is None:
                    _default_constructor(self, **{key: value})  # raises the TypeError
                elif key in plain:
                    d[key] = value
                else:
                    impl.set(self, value)
        d[STATE_ATTR].modified = True

    # [keys the constructor may store straight into __dict__, the number of attribute
    # listener registries when they were computed]: recomputed when that changes
    plain_keys: list[Any] = [frozenset(), -1]
    attribute_dispatches = ATTRIBUTE_DISPATCHES
    return __init__


def _plain_column_keys(impls: dict[str, Any]) -> frozenset[str]:
    """The attributes whose new value the constructor may put straight into a new
    object's ``__dict__`` (what ``ScalarImpl.set`` does for it): column attributes
    without a validator or a listener."""
    return frozenset(k for k, impl in impls.items() if impl.__class__ is ScalarImpl
                     and impl.plain and impl.attr.dispatch is None)


def _discriminating_init(init: Callable[..., None], key: str, identity: Any
                         ) -> Callable[..., None]:
    """Mapper inheritance: a new object of a class with a ``polymorphic_identity``
    holds it in its discriminator attribute from the start (its ``__init__`` may
    still set another value)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        instance_state(self).mapper  # noqa: B018 - the state of the object's own class
        self.__dict__[key] = identity
        init(self, *args, **kwargs)

    return __init__


def _abstract_init(mapper: Mapper) -> Callable[..., None]:
    """The constructor of a class mapped ``polymorphic_abstract=True``: refused (its
    objects are those of its subclasses, which have constructors of their own)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        raise InvalidRequestError(
            f"Can't instantiate class for Mapper[{mapper.class_.__name__}"
            f"({mapper._table_name})]; mapper is marked "
            f"polymorphic_abstract=True: create an object of one of its subclasses "
            f"({', '.join(m.class_.__name__ for m in mapper._subclass_mappers) or 'none'})")

    return __init__


def uninstrument(mapper: Mapper) -> None:
    cls = mapper.class_
    for key in list(getattr(mapper, "_impls", {})):
        if isinstance(cls.__dict__.get(key), QueryableAttribute):
            type.__delattr__(cls, key)  # (past DeclarativeMeta's refusal: unmapping)
    for key, value in mapper.__dict__.get("_dm_replaced", {}).items():
        setattr(cls, key, value)
    for n in ("__setattr__", "__delattr__", "__init__", "_dm_instrumented", "_dm_user_setattr"):
        if n in cls.__dict__:
            delattr(cls, n)
    if cls.__dict__.get("__copy__") is _copy_mapped:
        delattr(cls, "__copy__")
    for n, v in getattr(mapper, "_dm_saved", {}).items():
        setattr(cls, n, v)
