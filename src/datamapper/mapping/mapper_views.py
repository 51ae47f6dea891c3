"""The dictionaries a :class:`~.mapper.Mapper` shows its properties through
(``mapper.attrs``, ``mapper.columns``, ...) and ``mapper.class_manager``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .. import event

if TYPE_CHECKING:
    from .mapper import Mapper


class PropsDict(dict[str, Any]):
    """A dict that also allows attribute access (``mapper.attrs.name``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class ColumnsDict(PropsDict):
    """``mapper.columns``: keyed by attribute name; iterating yields the Columns."""

    def __iter__(self) -> Any:
        return iter(list(self.values()))

    def keys(self) -> list[str]:  # type: ignore[override]  # a list, as SQLAlchemy's views give
        return list(dict.keys(self))


class AttrsDict(PropsDict):
    """``mapper.attrs``: keyed by attribute name (``in``, ``[name]``, ``.name``,
    ``keys()``, a list); iterating yields the properties, as SQLAlchemy's does."""

    def __iter__(self) -> Any:
        return iter(list(self.values()))

    def keys(self) -> list[str]:  # type: ignore[override]  # a list, as SQLAlchemy's views give
        return list(dict.keys(self))


class ClassManager(Mapping[str, Any]):
    """The instrumentation of one mapped class (``mapper.class_manager``): a read-only
    mapping of its instrumented attributes by key (the class-level descriptors, e.g.
    ``manager["name"] is User.name``), with ``dispatch``, the listeners of the class's
    instance and mapper events (``manager.dispatch.load(obj, ctx)`` fires ``load``)."""

    is_mapped = True

    def __init__(self, mapper: Mapper) -> None:
        self.mapper = mapper
        self.class_ = mapper.class_

    @property
    def dispatch(self) -> event.Dispatch:
        return self.mapper.dispatch

    def _impls(self) -> dict[str, Any]:
        impls: dict[str, Any] = self.mapper.__dict__.get("_impls", {})
        return impls

    def __getitem__(self, key: str) -> Any:
        return self._impls()[key].attr

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._impls()))

    def __len__(self) -> int:
        return len(self._impls())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClassManager) and other.mapper is self.mapper

    def __hash__(self) -> int:
        return hash(self.mapper)

    def __repr__(self) -> str:
        return f"<ClassManager of {self.class_.__name__}: {', '.join(self)}>"
