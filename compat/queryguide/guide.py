"""Run the doctest scripts of SQLAlchemy 2.x's ORM documentation on datamapper.

SQLAlchemy's documentation is executable: its ORM querying guide (SELECT,
joins, aliases, ORM DML, bulk and upserts, column loading, inheritance), its
2.0 tutorial, the ORM quick start and the large-collections page are doctests
that SQLAlchemy's own CI runs (``test/base/test_tutorials.py``).  This tool
takes those pages from the source distribution the compat harness already
downloads (nothing of them is committed), changes only the ORM import
(``sqlalchemy.orm`` -> ``datamapper``) and runs every example on SQLite,
PostgreSQL and MariaDB, once with SQLAlchemy's real ORM (the ceiling) and once
with datamapper.

Two ways of comparing output:

* ``results`` (every backend): the engine's SQL echo is switched off and the
  SQL log blocks of the expected output (``{execsql}`` .. ``{stop}``) are
  dropped, so an example passes when the Python-visible output (objects,
  rows, printed SQL of ``print(stmt)``, exceptions) is what the page shows.
* ``sql`` (SQLite only, as SQLAlchemy runs it): echo on, the expected output
  is compared whole, SQL log included.

An example counts against datamapper only when it passes with the real ORM on
the same backend in the same mode; those are listed with a reason in
``expectations.csv`` (same categories as the test-suite harness), and the
report shows anything unexplained.

Usage::

    python compat/queryguide/guide.py run [--backends sqlite,postgresql,mysql] [--modes results,sql]
    python compat/queryguide/guide.py report [--write-readme]
"""

from __future__ import annotations

import argparse
import csv
import doctest
import json
import logging
import os
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "compat" / "sqlalchemy_suite"))

import compat as suite  # noqa: E402  (the test-suite harness: fetch, cache paths)

EXPECTATIONS = HERE / "expectations.csv"
README = ROOT / "README.md"

# Groups of pages run in one namespace, in order (as SQLAlchemy's own
# test/base/test_tutorials.py groups them).
GROUPS: dict[str, list[str]] = {
    "tutorial": [
        "tutorial/index.rst",
        "tutorial/engine.rst",
        "tutorial/dbapi_transactions.rst",
        "tutorial/metadata.rst",
        "tutorial/data.rst",
        "tutorial/data_insert.rst",
        "tutorial/data_select.rst",
        "tutorial/data_update.rst",
        "tutorial/orm_data_manipulation.rst",
        "tutorial/orm_related_objects.rst",
    ],
    "queryguide-select": [
        "orm/queryguide/_plain_setup.rst",
        "orm/queryguide/select.rst",
        "orm/queryguide/api.rst",
        "orm/queryguide/_end_doctest.rst",
    ],
    "queryguide-dml": ["orm/queryguide/dml.rst"],
    "queryguide-columns": ["orm/queryguide/columns.rst"],
    "queryguide-inheritance": ["orm/queryguide/inheritance.rst"],
    "large-collections": ["orm/large_collections.rst"],
    "quickstart": ["orm/quickstart.rst"],
}

BACKEND_URLS = {
    "sqlite": "sqlite+pysqlite:///:memory:",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/dm_guide",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/dm_guide?charset=utf8mb4",
}

ENGINE_URL = re.compile(r"""create_engine\(\s*"sqlite(?:\+pysqlite)?://(?:/:memory:)?"\s*""")
ORM_IMPORT = re.compile(r"\bfrom sqlalchemy\.orm import\b")
ORM_MODULE = re.compile(r"\bsqlalchemy\.orm\b")
MARKER = re.compile(r"{(?:stop|sql|opensql|execsql|printsql)}")
SQL_LOG_START = re.compile(r"{(?:execsql|opensql|sql)}")


def docs_root() -> Path:
    version = suite.sqla_version()
    root = suite.CACHE / f"guide-{version}"
    if not (root / ".extracted").exists():
        tarball = suite.fetch()
        top = f"sqlalchemy-{version}/"
        with tarfile.open(tarball) as tf:
            members = [m for m in tf.getmembers() if m.name.startswith(top + "doc/build/")]
            for m in members:
                m.name = m.name[len(top):]
            tf.extractall(root, members=members, filter="data")
        (root / ".extracted").write_text(version)
    return root / "doc" / "build"


# ------------------------------------------------------------------ sources
def _strip_sql_log(line: str, in_log: bool) -> tuple[str, bool]:
    """Drop the SQL-log part of one expected-output line; track the state."""
    out = ""
    rest = line
    while rest:
        if in_log:
            idx = rest.find("{stop}")
            if idx < 0:
                return (out + ("\n" if line.endswith("\n") and out else "")), True
            rest = rest[idx + len("{stop}"):]
            in_log = False
        else:
            m = SQL_LOG_START.search(rest)
            if m is None:
                out += rest
                break
            out += rest[: m.start()]
            rest = rest[m.end():]
            in_log = True
    return out, in_log


def page_lines(path: Path, mode: str, orm: str, url: str) -> list[tuple[int, str]]:
    """The doctest text of one page, rewritten for this run, line by line."""
    lines: list[tuple[int, str]] = []
    in_log = False
    enabled = True
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(keepends=True), 1):
        stripped = line.lstrip()
        if stripped.startswith(">>>") or stripped.startswith("..."):
            in_log = False
            src = line
            if orm == "datamapper":
                src = ORM_IMPORT.sub("from datamapper import", src)
                src = ORM_MODULE.sub("datamapper", src)
            src = ENGINE_URL.sub(f'create_engine("{url}"', src)
            if mode == "results":
                src = src.replace("echo=True", "echo=False")
            line = MARKER.sub("", src)
        elif mode == "results":
            kept, in_log_after = _strip_sql_log(line, in_log)
            if line.strip() and not kept.strip() and (in_log or SQL_LOG_START.search(line)):
                in_log = in_log_after
                continue  # a line of SQL log only: left out of the expected output
            in_log = in_log_after
            indent = line[: len(line) - len(line.lstrip())]
            kept = MARKER.sub("", kept)
            if not kept:
                if line.strip():
                    continue  # SQL log only: left out
                kept = "\n"  # a blank line stays one line (keys map back to page lines)
            line = kept if kept[:1].isspace() or not kept.strip() else indent + kept
        else:
            line = MARKER.sub("", line)
        if re.match(r"\s*\.\. doctest-(enable|disable)", line):
            enabled = "enable" in line
        lines.append((n, line if enabled else "\n"))
    return lines


# ------------------------------------------------------------------ running
class RecordingRunner(doctest.DocTestRunner):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.outcomes: dict[str, dict[str, str]] = {}
        # test name -> original page line number of each line of its text
        self.line_map: dict[str, list[int]] = {}

    def _key(self, test: doctest.DocTest, example: doctest.Example) -> str:
        lines = self.line_map.get(test.name, [])
        n = lines[example.lineno] if example.lineno < len(lines) else example.lineno + 1
        return f"{test.name}:{n}"

    def report_success(self, out: Any, test: Any, example: Any, got: str) -> None:
        self.outcomes[self._key(test, example)] = {"outcome": "passed"}

    def report_failure(self, out: Any, test: Any, example: Any, got: str) -> None:
        self.outcomes[self._key(test, example)] = {
            "outcome": "failed",
            "source": example.source.strip()[:300],
            "detail": f"expected: {example.want.strip()[:300]!r} got: {got.strip()[:300]!r}",
        }

    def report_unexpected_exception(self, out: Any, test: Any, example: Any, exc_info: Any) -> None:
        exc = exc_info[1]
        self.outcomes[self._key(test, example)] = {
            "outcome": "failed",
            "source": example.source.strip()[:300],
            "detail": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}",
        }


def _fresh_database(backend: str) -> None:
    import sqlalchemy as sa

    if backend == "sqlite":
        return
    admin = BACKEND_URLS[backend].rsplit("/", 1)[0] + "/test"
    if backend == "mysql":
        admin += "?charset=utf8mb4"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("DROP DATABASE IF EXISTS dm_guide WITH (FORCE)")
        else:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS dm_guide")
        conn.exec_driver_sql("CREATE DATABASE dm_guide")
    eng.dispose()


def _close_everything(globs: dict[str, Any]) -> None:
    for value in list(globs.values()):
        close = getattr(value, "close", None)
        if type(value).__name__ in ("Session", "Connection") and callable(close):
            try:
                close()
            except Exception:
                pass
    for value in list(globs.values()):
        if type(value).__name__ == "Engine":
            value.dispose()


def run_group(group: str, orm: str, backend: str, mode: str) -> dict[str, dict[str, str]]:
    from sqlalchemy.sql import ddl

    base = docs_root()
    url = BACKEND_URLS[backend]
    _fresh_database(backend)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL
    runner = RecordingRunner(verbose=False, optionflags=flags)
    parser = doctest.DocTestParser()
    globs: dict[str, Any] = {"print_function": print}

    # As SQLAlchemy's own runner does: CREATE TABLE in name order, SQL echo to
    # the captured stdout.
    orig_sort = ddl.sort_tables_and_constraints
    ddl.sort_tables_and_constraints = lambda tables, **kw: orig_sort(  # type: ignore[assignment]
        sorted(tables, key=lambda t: t.key), **kw
    )
    handler = None
    if mode == "sql":
        class _Stream:
            def write(self, s: str) -> None:
                sys.stdout.write(s)

            def flush(self) -> None:
                pass

        handler = logging.StreamHandler(_Stream())
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger("sqlalchemy.engine.Engine").addHandler(handler)
    try:
        for fname in GROUPS[group]:
            path = base / fname
            buf: list[tuple[int, str]] = []

            def flush_buf(name: str, buf: list[tuple[int, str]] = buf) -> None:
                if not buf:
                    return
                test = parser.get_doctest("".join(t for _, t in buf), globs, name, name, 0)
                runner.line_map[name] = [n for n, _ in buf]
                buf.clear()
                runner.run(test, clear_globs=False, out=lambda s: None)
                globs.update(test.globs)

            for n, line in page_lines(path, mode, orm, url):
                inc = re.match(r"\.\. doctest-include (.+\.rst)", line)
                if inc:
                    flush_buf(fname)
                    sub = path.parent / inc.group(1)
                    buf.extend(page_lines(sub, mode, orm, url))
                    flush_buf(str(Path(fname).parent / inc.group(1)))
                    continue
                buf.append((n, line))
            flush_buf(fname)
    finally:
        ddl.sort_tables_and_constraints = orig_sort  # type: ignore[assignment]
        if handler is not None:
            logging.getLogger("sqlalchemy.engine.Engine").removeHandler(handler)
        _close_everything(globs)
        if orm == "datamapper":
            import datamapper

            datamapper.Session.close_all()
            datamapper.clear_mappers()
        globs.clear()
    return runner.outcomes


def results_path() -> Path:
    return suite.CACHE / f"guide-results-{suite.sqla_version()}.json"


def _run_isolated(group: str, orm: str, backend: str, mode: str) -> dict[str, dict[str, str]]:
    """Each run in a child process: mappings, listeners and loggers stay apart."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, __file__, "_one", group, orm, backend, mode],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {f"{group}:crash": {"outcome": "failed", "source": "", "detail": tail[0][:300]}}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run(backends: list[str], modes: list[str], groups: list[str]) -> None:
    path = results_path()
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for backend in backends:
        for mode in modes:
            if mode == "sql" and backend != "sqlite":
                continue
            for group in groups:
                for orm in ("real", "datamapper"):
                    outcomes = _run_isolated(group, orm, backend, mode)
                    data[f"{group}|{backend}|{mode}|{orm}"] = outcomes
                    passed = sum(1 for o in outcomes.values() if o["outcome"] == "passed")
                    print(f"guide: {group:24} {backend:10} {mode:7} {orm:10} {passed}/{len(outcomes)}")
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


# ------------------------------------------------------------------ report
def load_expectations() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    if not EXPECTATIONS.exists():
        return out
    with EXPECTATIONS.open() as f:
        for row in csv.reader(line for line in f if not line.startswith("#")):
            if len(row) >= 3 and row[0] != "example":
                out[row[0]] = (row[1], row[2])
    return out


TABLE_START = "<!-- guide-table:start -->"
TABLE_END = "<!-- guide-table:end -->"


def report(write_readme: bool) -> int:
    data = json.loads(results_path().read_text())
    exp = load_expectations()
    rows = []
    unexplained: list[str] = []
    used: set[str] = set()
    totals = {"examples": 0, "real": 0, "dm": 0}
    for key in sorted(data):
        group, backend, mode, orm = key.split("|")
        if orm != "real":
            continue
        real = data[key]
        dm = data.get(f"{group}|{backend}|{mode}|datamapper", {})
        real_ok = {k for k, v in real.items() if v["outcome"] == "passed"}
        dm_ok = {k for k, v in dm.items() if v["outcome"] == "passed"}
        cats: dict[str, int] = {}
        same_results = {}
        if mode == "sql":
            # an example whose printed results match (results comparison) and whose
            # SQL log differs is a difference of SQL form, by definition
            res = data.get(f"{group}|{backend}|results|datamapper", {})
            res_real = data.get(f"{group}|{backend}|results|real", {})
            same_results = {k for k, v in res.items()
                            if v["outcome"] == res_real.get(k, {}).get("outcome")}
        for ex in sorted(real_ok - dm_ok):
            eid = f"{backend}|{mode}|{ex}"
            gid = f"*|{mode}|{ex}"
            page = ex.rsplit(":", 1)[0]
            hit = exp.get(eid) or exp.get(gid) or exp.get(f"*|{mode}|{page}:*")
            if hit is None and mode == "sql":
                # failing with the results too: explained where the results are
                hit = exp.get(f"{backend}|results|{ex}") or exp.get(f"*|results|{ex}") \
                    or exp.get(f"*|results|{page}:*")
            if hit is None and ex in same_results:
                hit = ("sql-form", "same printed results; only the SQL log differs")
            if hit is None:
                info = dm.get(ex, {"detail": "not run (an earlier example crashed the run)"})
                unexplained.append(f"{eid}: {info.get('detail', '')}")
                cats["unexplained"] = cats.get("unexplained", 0) + 1
            else:
                used.update(k for k in (eid, gid, f"*|{mode}|{page}:*",
                                        f"{backend}|results|{ex}", f"*|results|{ex}",
                                        f"*|results|{page}:*") if k in exp)
                cats[hit[0]] = cats.get(hit[0], 0) + 1
        if mode == "results":
            totals["examples"] += len(real)
            totals["real"] += len(real_ok)
            totals["dm"] += len(real_ok & dm_ok)
        rows.append((group, backend, mode, len(real), len(real_ok), len(real_ok & dm_ok), cats))
    lines = [
        "| pages | backend | compared | examples | real ORM passes | datamapper passes | datamapper fails (by category) |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for group, backend, mode, n, r, d, cats in rows:
        c = ", ".join(f"{k} {v}" for k, v in sorted(cats.items())) or "-"
        lines.append(f"| {group} | {backend} | {mode} | {n} | {r} | {d} | {c} |")
    pct = 100.0 * totals["dm"] / max(totals["real"], 1)
    lines.append(
        f"| **all (results)** | | | {totals['examples']} | {totals['real']} | {totals['dm']} ({pct:.1f}%) | |"
    )
    table = "\n".join(lines)
    print(table)
    stale = sorted(set(exp) - used)
    if stale:
        print(f"\nguide: {len(stale)} expectations no longer needed (the example passes now):")
        for s in stale:
            print("  ", s)
    if unexplained:
        print(f"\nguide: {len(unexplained)} unexplained failures:")
        for u in unexplained:
            print("  ", u)
    if write_readme:
        text = README.read_text()
        if TABLE_START in text:
            head, rest = text.split(TABLE_START, 1)
            _, tail = rest.split(TABLE_END, 1)
            README.write_text(head + TABLE_START + "\n" + table + "\n" + TABLE_END + tail)
            print("guide: README table written")
        else:
            print("guide: README has no guide-table markers; table not written")
    return 1 if unexplained else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--backends", default="sqlite,postgresql,mysql")
    r.add_argument("--modes", default="results,sql")
    r.add_argument("--groups", default=",".join(GROUPS))
    rp = sub.add_parser("report")
    rp.add_argument("--write-readme", action="store_true")
    one = sub.add_parser("_one")
    one.add_argument("group")
    one.add_argument("orm")
    one.add_argument("backend")
    one.add_argument("mode")
    args = ap.parse_args()
    if args.cmd == "run":
        run(args.backends.split(","), args.modes.split(","), args.groups.split(","))
        return 0
    if args.cmd == "report":
        return report(args.write_readme)
    outcomes = run_group(args.group, args.orm, args.backend, args.mode)
    sys.stdout.write("\n" + json.dumps(outcomes) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    raise SystemExit(main())
