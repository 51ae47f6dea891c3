"""Cascade options: the parsed form of ``relationship(cascade="...")``.

Parsed once at relationship construction; every unknown word is reported in
one error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import ArgumentError

_ALL = ("save-update", "merge", "refresh-expire", "expunge", "delete")
_KNOWN = frozenset(_ALL + ("delete-orphan", "all", "none"))


class CascadeOptions(frozenset[str]):
    """A frozenset of cascade words with boolean flags for each."""

    save_update: bool
    merge: bool
    refresh_expire: bool
    expunge: bool
    delete: bool
    delete_orphan: bool

    def __new__(cls, spec: str | Iterable[str] | None) -> CascadeOptions:
        if spec is None or isinstance(spec, str):
            words = [w.strip() for w in (spec or "").split(",") if w.strip()]
        else:
            words = [str(w).strip() for w in spec]
        bad = sorted({w for w in words if w not in _KNOWN})
        if bad:
            raise ArgumentError(
                f"Can't parse cascade {spec!r}: unknown option(s) {', '.join(map(repr, bad))}; "
                f"use a comma-separated list of {', '.join(sorted(_KNOWN))}"
            )
        values: set[str] = set()
        for w in words:
            if w == "all":
                values.update(_ALL)
            elif w == "none":
                continue
            else:
                values.add(w)
        self = super().__new__(cls, values)
        self.save_update = "save-update" in values
        self.merge = "merge" in values
        self.refresh_expire = "refresh-expire" in values
        self.expunge = "expunge" in values
        self.delete = "delete" in values
        self.delete_orphan = "delete-orphan" in values
        if self.delete_orphan and not self.delete:
            # delete-orphan without delete still deletes orphans; it does not
            # imply delete of the parent's children when the parent goes.
            pass
        return self

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # copy/deepcopy/pickle: rebuild from the words (frozenset's own would pass a list)
        return (CascadeOptions, (", ".join(sorted(self)),))

    def __repr__(self) -> str:
        return f"CascadeOptions({','.join(sorted(self))!r})"
