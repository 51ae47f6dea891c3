"""Run SQLAlchemy's own example programs (``examples/`` of its source distribution)
on datamapper, changing only their ORM imports (`make compat-examples`).

Each example module is run twice as ``python -m examples.<package>.<module>``: once
as shipped, with SQLAlchemy's ORM, and once with its ORM imports pointed at
datamapper (``sqlalchemy.orm`` and the ORM parts of ``sqlalchemy.ext``:
declarative, associationproxy, horizontal_shard, asyncio).  SQL echo is switched
off in both; object addresses are blanked.  An example agrees when both runs exit
the same way and print the same thing (most examples assert on what they read
back).  The source distribution is the one the test-suite harness downloads
(``compat/sqlalchemy_suite/compat.py fetch``); nothing of it is committed.

    python compat/examples/examples.py [NAME-FILTER ...]

Examples left out: ``performance`` (the peer benchmark, ``make bench-peer``),
``asyncio`` and ``sharding/asyncio`` (they need an async driver, and
``sqlalchemy.ext.asyncio``'s engine, which datamapper does not re-export: the package
imports nothing of ``sqlalchemy.ext``), ``space_invaders`` (an interactive game).
``EXPECTED`` lists the examples known to differ, with why; the exit status is 1
when any other example differs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "compat" / "sqlalchemy_suite"))
import compat as suite  # noqa: E402

WORK = suite.CACHE / "examples"
SKIP = ("performance", "asyncio", "space_invaders")
REWRITES = [
    (r"^(\s*)from sqlalchemy\.orm\.(collections|attributes|exc)\b", r"\1from datamapper.\2"),
    (r"^(\s*)from sqlalchemy\.orm\.\w+ import", r"\1from datamapper import"),
    (r"^(\s*)from sqlalchemy\.orm import", r"\1from datamapper import"),
    (r"^(\s*)from sqlalchemy import orm\b", r"\1import datamapper as orm"),
    (r"^(\s*)from sqlalchemy\.ext\.declarative import", r"\1from datamapper import"),
    (r"^(\s*)from sqlalchemy\.ext\.associationproxy import",
     r"\1from datamapper.associationproxy import"),
    (r"^(\s*)from sqlalchemy\.ext\.horizontal_shard import", r"\1from datamapper.sharding import"),
    (r"^(\s*)from sqlalchemy\.ext\.asyncio import", r"\1from datamapper.ext.asyncio import"),
]
EXPECTED = {
    "examples.inheritance.concrete":
        "missing-api: declarative ConcreteBase / AbstractConcreteBase (concrete inheritance "
        "through polymorphic_union() and mapper arguments works)",
    "examples.custom_attributes.custom_management":
        "missing-api: custom class instrumentation (sqlalchemy.orm.instrumentation's "
        "InstrumentationManager, is_instrumented)",
    "examples.custom_attributes.listen_for_events":
        "message: the same events in the same order; an unset old value prints as "
        "NO_VALUE (SQLAlchemy: LoaderCallableStatus.NO_VALUE), and a new object's unset "
        "many-to-one passes None as the old value where SQLAlchemy passes NO_VALUE",
    "examples.versioned_rows.versioned_update_old_row":
        "message: the example echoes SQL itself (echo='debug'); the asserted rows agree",
    "examples.sharding.separate_databases": "message: the example echoes SQL itself",
    "examples.sharding.separate_schema_translates": "message: the example echoes SQL itself",
    "examples.sharding.separate_tables": "message: the example echoes SQL itself",
}


def prepare() -> None:
    version = suite.sqla_version()
    tarball = suite.fetch()
    top = f"sqlalchemy-{version}/examples/"
    if WORK.exists():
        shutil.rmtree(WORK)
    for mode in ("sa", "dm"):
        root = WORK / mode
        root.mkdir(parents=True)
        with tarfile.open(tarball) as tf:
            members = [m for m in tf.getmembers() if m.name.startswith(top)]
            for m in members:
                m.name = "examples/" + m.name[len(top):]
            tf.extractall(root, members=members, filter="data")
        for py in root.rglob("*.py"):
            text = py.read_text().replace("echo=True", "echo=False")
            if mode == "dm":
                out = []
                for line in text.splitlines(keepends=True):
                    for pat, repl in REWRITES:
                        new = re.sub(pat, repl, line)
                        if new != line:
                            line = new
                            break
                    out.append(line)
                text = "".join(out)
            py.write_text(text)


def modules(filters: list[str]) -> list[str]:
    found = []
    for py in sorted((WORK / "sa" / "examples").rglob("*.py")):
        rel = py.relative_to(WORK / "sa")
        if py.name == "__init__.py" or any(s in rel.with_suffix("").parts for s in SKIP):
            continue
        mod = ".".join(rel.with_suffix("").parts)
        if not filters or any(f in mod for f in filters):
            found.append(mod)
    return found


def run_one(mod: str, mode: str) -> tuple[object, str, str]:
    path = [str(ROOT / "src")] if mode == "dm" else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*path, str(WORK / mode)]))
    try:
        p = subprocess.run([sys.executable, "-W", "ignore", "-m", mod], cwd=WORK / mode,
                           env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "timeout", "", ""
    return p.returncode, re.sub(r"0x[0-9a-f]+", "0x?", p.stdout), p.stderr[-2000:]


def main(argv: list[str]) -> int:
    prepare()
    counts = {"agree": 0, "expected": 0, "sqlalchemy-fails": 0, "differ": 0}
    for mod in modules(argv):
        sa_rc, sa_out, _ = run_one(mod, "sa")
        dm_rc, dm_out, dm_err = run_one(mod, "dm")
        if sa_rc != 0:
            status = "sqlalchemy-fails"  # (needs a package or service not installed)
        elif (dm_rc, dm_out) == (sa_rc, sa_out):
            status = "agree"
        elif mod in EXPECTED:
            status = "expected"
        else:
            status = "differ"
        counts[status] += 1
        why = f"  ({EXPECTED[mod]})" if status == "expected" else ""
        print(f"{status:17} {mod}{why}", flush=True)
        if status == "differ":
            print("    " + "\n    ".join(dm_err.strip().splitlines()[-4:]))
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    return 1 if counts["differ"] else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
