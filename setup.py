"""Build of datamapper's optional C accelerator (everything else is in pyproject.toml).

``datamapper._util._speedups`` makes the objects of loaded rows in C.  It is
optional: where it cannot be compiled (no C compiler, no Python headers) the
install goes on and datamapper uses its pure-Python row loops, which are the
reference the accelerator is tested against.  ``DATAMAPPER_NO_SPEEDUPS=1`` in the
environment skips the build, and at run time makes datamapper ignore a built one.
"""

import os

from setuptools import Extension, setup

ext_modules = []
if os.environ.get("DATAMAPPER_NO_SPEEDUPS", "") in ("", "0"):
    ext_modules.append(
        Extension(
            "datamapper._util._speedups",
            ["src/datamapper/_util/_speedups.c"],
            depends=["src/datamapper/_util/_speedups_flush.h"],
            optional=True,
        )
    )

setup(ext_modules=ext_modules)
