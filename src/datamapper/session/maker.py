"""``sessionmaker`` and ``create_session``: configured Session factories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import event
from ..exc import ArgumentError
from .session import SESSION_EVENTS, Session, identity_key, object_session


class sessionmaker:  # noqa: N801 - the documented name
    """A factory of Sessions with stored configuration."""

    def __init__(self, bind: object = None, class_: type[Session] = Session,
                 autoflush: bool = True, autocommit: bool = False,
                 expire_on_commit: bool = True, info: dict[Any, Any] | None = None,
                 **kw: Any) -> None:
        kw["bind"] = bind
        kw["autoflush"] = autoflush
        kw["autocommit"] = autocommit
        kw["expire_on_commit"] = expire_on_commit
        if info is not None:
            kw["info"] = info
        _check_extension(kw.get("extension"))
        self.kw = kw
        self.class_ = class_
        self._dm_session_dispatch = event.Dispatch("sessionmaker", SESSION_EVENTS)

    def __call__(self, **local_kw: Any) -> Session:
        kw = dict(self.kw)
        if "info" in kw and "info" in local_kw:
            merged = dict(kw["info"])
            merged.update(local_kw.pop("info"))
            kw["info"] = merged
        if "extension" in local_kw:
            _check_extension(local_kw["extension"])
        kw.update(local_kw)
        return self.class_(_maker_dispatch=self._dm_session_dispatch, **kw)

    def configure(self, **new_kw: object) -> None:
        """Change the settings of Sessions made from now on."""
        _check_extension(new_kw.get("extension"))
        self.kw.update(new_kw)

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """``with maker.begin() as session:`` commits on success, rolls back on error."""
        with self() as session, session.begin():
            yield session

    def object_session(self, instance: object) -> Session | None:
        return object_session(instance)

    def identity_key(self, *args: object, **kw: object) -> tuple[Any, ...]:
        return identity_key(*args, **kw)

    def close_all(self) -> None:
        Session.close_all()

    def __repr__(self) -> str:
        return f"sessionmaker(class_={self.class_.__name__}, {self.kw!r})"


def create_session(bind: Any = None, **kw: Any) -> Session:
    """A Session with the 0.4/0.9 ``create_session`` defaults: autoflush=False,
    autocommit=True, expire_on_commit=False."""
    kw.setdefault("autoflush", False)
    kw.setdefault("autocommit", True)
    kw.setdefault("expire_on_commit", False)
    _check_extension(kw.get("extension"))
    return Session(bind=bind, **kw)


def _check_extension(extension: object) -> None:
    """Refuse, with a clear message, an ``extension=`` that is not a SessionExtension."""
    if extension is None:
        return
    for ext in extension if isinstance(extension, (list, tuple)) else [extension]:
        if getattr(ext, "_dm_attach_session", None) is None:
            raise ArgumentError(
                f"Can't use {ext!r} as a Session extension: extensions must subclass "
                "datamapper.SessionExtension (or use datamapper.event.listen() on the "
                "session or sessionmaker)"
            )
