# Written by datamapper's compat harness over test/conftest.py of the unpacked
# SQLAlchemy test tree (adaptation A1): the same bootstrap, but of the
# *installed* sqlalchemy.testing plugin instead of the sdist's ../lib copy,
# and without putting ../lib on sys.path.
import os
import sys

import pytest

os.environ["SQLALCHEMY_WARN_20"] = "true"

collect_ignore_glob = []
if sys.version_info < (3, 14):
    collect_ignore_glob.append("*_py314.py")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

import importlib.util  # noqa: E402

_spec = importlib.util.find_spec("sqlalchemy")
bootstrap_file = os.path.join(
    os.path.dirname(_spec.origin), "testing", "plugin", "bootstrap.py"
)

with open(bootstrap_file) as f:
    code = compile(f.read(), "bootstrap.py", "exec")
    to_bootstrap = "pytest"
    exec(code, globals(), locals())
    from sqla_pytestplugin import *  # noqa
