"""The optional C accelerator (``_speedups.c``, built by setup.py) and what deciding
to use it needs.  Imports nothing from datamapper.

``speedups`` is the C module, or None where it was not built (no C compiler),
``DATAMAPPER_NO_SPEEDUPS=1`` is set, or the module on disk was built from older source
(its ``API_VERSION`` is not ``API_VERSION`` here: a checkout updated without
reinstalling runs the pure-Python paths until ``pip install -e .`` / ``make venv``).  Each user keeps its own switch initialised
from ``ON`` (``loading.rows._SPEEDUPS``, ``instance.state._C_EXPIRE``), which tests flip
to run the pure-Python reference.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import ModuleType

API_VERSION = 7  # SPEEDUPS_API_VERSION of the _speedups.c this Python code calls

speedups: ModuleType | None
try:
    from . import _speedups as speedups
except ImportError:  # pragma: no cover - a build without a C compiler
    speedups = None
if os.environ.get("DATAMAPPER_NO_SPEEDUPS", "") not in ("", "0") or \
        getattr(speedups, "API_VERSION", None) != API_VERSION:
    speedups = None

ON = speedups is not None

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE


def direct_set_ok(cls: type, names: Iterable[str]) -> bool:
    """Whether ``object.__setattr__(obj, name, v)`` (and the generic delete) stores
    exactly what ``obj.__dict__[name] = v`` would, for each of ``names``.

    True for ordinary classes: no data descriptor (property, slot) shadows those
    names and no base is a C type with its own ``__setattr__``.  Storing through the
    generic attribute store lets CPython keep the values in the instance's compact
    inline storage instead of materializing a ``__dict__`` per object.
    """
    mro = cls.__mro__
    if any(not (k.__flags__ & _HEAPTYPE) for k in mro[:-1]):
        return False
    for name in names:
        for klass in mro:
            if name in klass.__dict__:
                attr = type(klass.__dict__[name])
                if hasattr(attr, "__set__") or hasattr(attr, "__delete__"):
                    return False
                break
    return True
