"""The view of ``sqlalchemy.orm`` that SQLAlchemy's ORM tests get when run against datamapper.

The test files copied into the work tree have their ORM imports rewritten
(``from sqlalchemy.orm import X`` -> ``from dmshim.orm import X``,
``import sqlalchemy as sa`` -> ``import dmshim.sa as sa``, ``from sqlalchemy
import event`` -> ``from dmshim import event``).  Every name resolves to a
datamapper public name or to a ``Missing`` placeholder; nothing here ever
returns an object of SQLAlchemy's real ORM.  Using a placeholder (calling it,
subscripting it, subclassing it, reading an attribute) raises
``CompatMissingName`` and records the name, so each test that needs a name
we lack fails and is counted against that name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

import sqlalchemy
import sqlalchemy.orm as _real_orm

import datamapper

# Names touched during the current test (reset by the results plugin).
MISSING_LOG: list[str] = []

# True while pytest runs a test (set by the results plugin).  Outside a test
# (module import, class bodies, decorator arguments) using a placeholder gives
# another placeholder instead of raising, so a name used at import time fails
# the tests that use the result, not the whole file.
IN_TEST = [False]


class CompatMissingName(Exception):
    """A name of sqlalchemy.orm that datamapper does not provide was used."""

    def __init__(self, name: str) -> None:
        super().__init__(f"datamapper has no equivalent of {name} (compat shim)")
        self.name = name


class Missing:
    """Stands for a name datamapper lacks; any real use of it raises."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _fail(self, *args: Any, **kw: Any) -> Any:
        name = object.__getattribute__(self, "_name")
        if not IN_TEST[0]:
            return Missing(name)
        MISSING_LOG.append(name)
        raise CompatMissingName(name)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return self._fail()

    def __setattr__(self, attr: str, value: Any) -> None:
        name = object.__getattribute__(self, "_name")
        MISSING_LOG.append(name)
        raise CompatMissingName(name)

    def __iter__(self) -> Any:
        name = object.__getattribute__(self, "_name")
        MISSING_LOG.append(name)
        raise CompatMissingName(name)

    def __mro_entries__(self, bases: Any) -> Any:
        name = object.__getattribute__(self, "_name")
        if IN_TEST[0]:
            MISSING_LOG.append(name)
            raise CompatMissingName(name)

        class _MissingBase:
            def __new__(cls, *a: Any, **kw: Any) -> Any:
                MISSING_LOG.append(name)
                raise CompatMissingName(name)

        return (_MissingBase,)

    __call__ = _fail
    __getitem__ = _fail
    __enter__ = _fail

    def __repr__(self) -> str:
        return f"<missing {object.__getattribute__(self, '_name')}>"


# --------------------------------------------------------------- name tables
# sqlalchemy.orm submodules that have a datamapper module of the same role.
DM_MODULES = {
    "attributes": "datamapper.attributes",
    "collections": "datamapper.collections",
    "exc": "datamapper.exc",
    "scoping": "datamapper.scoping",
    "session": "datamapper.session",
    "query": "datamapper.query",
    "loading": "datamapper.loading",
    "util": "datamapper.util",
}


def _close_all_sessions() -> None:
    datamapper.Session.close_all()


# Same meaning, other spelling in datamapper.
ALIASES: dict[str, dict[str, Any]] = {
    "": {"close_all_sessions": _close_all_sessions},
    "session": {"close_all_sessions": _close_all_sessions},
    "util": {"identity_key": datamapper.Session.identity_key},
}


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def resolve_top(name: str) -> Any:
    if name in ALIASES[""]:
        return ALIASES[""][name]
    real = getattr(_real_orm, name, None)
    if isinstance(real, types.ModuleType) and real.__name__.startswith("sqlalchemy.orm."):
        return importlib.import_module("dmshim.orm." + real.__name__.rsplit(".", 1)[1])
    if _is_public(name) and hasattr(datamapper, name):
        return getattr(datamapper, name)
    return Missing(f"sqlalchemy.orm.{name}")


def resolve_sub(sub: str, name: str) -> Any:
    aliases = ALIASES.get(sub, {})
    if name in aliases:
        return aliases[name]
    if sub in DM_MODULES and _is_public(name):
        mod = importlib.import_module(DM_MODULES[sub])
        if hasattr(mod, name):
            return getattr(mod, name)
    # A name the real submodule re-exports from sqlalchemy.orm's top level is
    # the same public object there: resolve it as the top-level name.
    try:
        real_sub = importlib.import_module("sqlalchemy.orm." + sub)
    except ImportError:
        real_sub = None
    real_obj = getattr(real_sub, name, None) if real_sub is not None else None
    if (
        real_obj is not None
        and _is_public(name)
        and getattr(_real_orm, name, None) is real_obj
        and not isinstance(real_obj, types.ModuleType)
    ):
        return resolve_top(name)
    return Missing(f"sqlalchemy.orm.{sub}.{name}")


class _ShimModule(types.ModuleType):
    _sub = ""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = resolve_top(name) if not self._sub else resolve_sub(self._sub, name)
        return value


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname == "dmshim.orm" or fullname.startswith("dmshim.orm."):
            return importlib.machinery.ModuleSpec(
                fullname, self, is_package=fullname == "dmshim.orm"
            )
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        mod = _ShimModule(spec.name)
        mod._sub = spec.name[len("dmshim.orm.") :] if spec.name != "dmshim.orm" else ""
        if spec.name == "dmshim.orm":
            mod.__path__ = []
        return mod

    def exec_module(self, module: types.ModuleType) -> None:
        return None


sys.meta_path.insert(0, _Finder())


# --------------------------------------------------------------- events
def _is_core_target(target: Any) -> bool:
    from sqlalchemy.engine import Connection, Dialect, Engine
    from sqlalchemy.pool import Pool
    from sqlalchemy.sql.schema import SchemaItem

    core = (Engine, Connection, Dialect, Pool, SchemaItem)
    if isinstance(target, type):
        return issubclass(target, core)
    return isinstance(target, core)


# (target, identifier, fn) registered with datamapper.event, for clean-up
LISTEN_LOG: list[tuple[Any, str, Any]] = []


def _listen(target: Any, identifier: str, fn: Any, *args: Any, **kw: Any) -> None:
    if _is_core_target(target):
        sqlalchemy.event.listen(target, identifier, fn, *args, **kw)
        return
    datamapper.event.listen(target, identifier, fn, *args, **kw)
    LISTEN_LOG.append((target, identifier, fn))


def _listens_for(target: Any, identifier: str, *args: Any, **kw: Any) -> Any:
    def deco(fn: Any) -> Any:
        _listen(target, identifier, fn, *args, **kw)
        return fn

    return deco


def _remove(target: Any, identifier: str, fn: Any) -> None:
    if _is_core_target(target):
        sqlalchemy.event.remove(target, identifier, fn)
    else:
        datamapper.event.remove(target, identifier, fn)


def _contains(target: Any, identifier: str, fn: Any) -> bool:
    if _is_core_target(target):
        return bool(sqlalchemy.event.contains(target, identifier, fn))
    return bool(datamapper.event.contains(target, identifier, fn))


def remove_logged_listeners(since: int = 0) -> None:
    while len(LISTEN_LOG) > since:
        target, identifier, fn = LISTEN_LOG.pop()
        try:
            datamapper.event.remove(target, identifier, fn)
        except Exception:
            pass


class _EventModule(types.ModuleType):
    listen = staticmethod(_listen)
    listens_for = staticmethod(_listens_for)
    remove = staticmethod(_remove)
    contains = staticmethod(_contains)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(sqlalchemy.event, name)


event = _EventModule("dmshim.event")
sys.modules["dmshim.event"] = event


class _SaModule(types.ModuleType):
    """``import sqlalchemy as sa`` for a test file: Core as is, ``sa.orm`` the shim."""

    def __getattr__(self, name: str) -> Any:
        if name == "orm":
            return importlib.import_module("dmshim.orm")
        if name == "event":
            return event
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(sqlalchemy, name)


sa = _SaModule("dmshim.sa")
sys.modules["dmshim.sa"] = sa
