"""Peer benchmark: SQLAlchemy's own ``examples/performance`` suites, whose ORM
tests run twice - once unchanged on SQLAlchemy's ORM, once on datamapper
through the compatibility harness's shim - and are reported side by side.

    python bench/peer.py [--suites short_selects,...] [--num-scale 1.0]
                         [--repeat 1] [--dburl URL] [--no-core] [--write-readme]

The suites come from the source distribution of the installed SQLAlchemy,
which the compat harness caches (``compat/sqlalchemy_suite/compat.py fetch``;
downloaded with pip on first use). They are unpacked twice under
``compat/.cache/peer-<version>/``: ``real`` unchanged, ``datamapper`` with the
ORM imports rewritten exactly as the compat harness rewrites SQLAlchemy's test
files (``from sqlalchemy.orm import X`` -> ``from dmshim.orm import X``), plus
``from sqlalchemy.ext.declarative import declarative_base``, which those tests
do not use. Every ORM name then resolves to datamapper's public name or to a
placeholder that raises ``CompatMissingName`` when a test uses it (the row
then says which name is missing); Core stays SQLAlchemy's.

Each test runs in its own Python process: the suite module is imported, its
``setup_once``/``setup`` functions run (not timed), then the test function
``fn(num)`` is timed with ``time.perf_counter`` after a ``gc.collect()``. The
suites' own Core and DB-API tests run once per repetition on the unchanged
copy as a reference (``--no-core`` skips them). Implementations alternate
per test and repetition; the median of ``--repeat`` runs is reported. None of
SQLAlchemy's files is committed: they live in the git-ignored cache.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
COMPAT_DIR = ROOT / "compat" / "sqlalchemy_suite"
HARNESS = COMPAT_DIR / "harness"
README = ROOT / "README.md"
MARK_START = "<!-- peer-bench:start -->"
MARK_END = "<!-- peer-bench:end -->"

SUITES = ["short_selects", "single_inserts", "bulk_inserts", "large_resultsets", "bulk_updates"]
# the suites' ORM tests (run on both ORMs); every other test is a Core/DB-API reference
ORM_TEST = re.compile(r"^test_(orm_|flush_|bulk_save|bulk_insert_dictionaries)")

# One extra rewrite for the examples (the compat harness's test files never
# import it): the 1.x home of declarative_base.
EXTRA_REWRITES = [
    (
        re.compile(r"^(\s*)from sqlalchemy\.ext\.declarative import declarative_base\b"),
        r"\1from dmshim.orm import declarative_base",
    ),
]


def _compat() -> Any:
    spec = importlib.util.spec_from_file_location("dm_compat", COMPAT_DIR / "compat.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def prepare(compat: Any) -> dict[str, Path]:
    """Unpack examples/performance twice (real, datamapper); return the roots."""
    version = compat.sqla_version()
    tarball = compat.fetch()
    rewrites = list(compat.REWRITES) + EXTRA_REWRITES
    base = compat.CACHE / f"peer-{version}"
    recipe = version + repr([(p.pattern, r) for p, r in rewrites])
    roots = {}
    for mode in ("real", "datamapper"):
        root = base / mode
        roots[mode] = root
        stamp = root / ".prepared"
        if stamp.exists() and stamp.read_text() == recipe:
            continue
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        prefix = f"sqlalchemy-{version}/"
        with tarfile.open(tarball) as tf:
            members = [m for m in tf.getmembers() if m.name.startswith(prefix + "examples/")]
            for m in members:
                m.name = m.name[len(prefix) :]
            tf.extractall(root, members=members, filter="data")
        if mode == "datamapper":
            for py in (root / "examples" / "performance").glob("*.py"):
                text = py.read_text()
                out = []
                for line in text.splitlines(keepends=True):
                    for pat, repl in rewrites:
                        new = pat.sub(repl, line)
                        if new != line:
                            line = new
                            break
                    out.append(line)
                py.write_text("".join(out))
        stamp.write_text(recipe)
    return roots


# ---------------------------------------------------------------------------
# The child process: run one test of one suite and print one JSON line.
# ---------------------------------------------------------------------------


def child(suite: str, test: str, num: int, dburl: str, shim: bool, clock: str) -> None:
    import gc

    now = time.process_time if clock == "cpu" else time.perf_counter
    if shim:
        import dmshim  # type: ignore[import-not-found]

        dmshim.IN_TEST[0] = True  # a missing name raises where it is used
    module = importlib.import_module(f"examples.performance.{suite}")
    profiler = module.Profiler
    fn = next(f for f in profiler.tests if f.__name__ == test)
    out: dict[str, Any] = {"suite": suite, "test": test, "num": num, "doc": fn.__doc__}
    try:
        if profiler._setup_once:
            profiler._setup_once(dburl, False, num)
        if profiler._setup:
            profiler._setup(dburl, False, num)
        gc.collect()
        start = now()
        fn(num)
        out["seconds"] = now() - start
    except Exception as exc:
        out["error"] = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    print("PEER-RESULT " + json.dumps(out), flush=True)


def list_tests(root: Path, suite: str) -> tuple[list[tuple[str, str]], int]:
    """(name, docstring) of the suite's tests, in file order, and its default num."""
    code = (
        "import importlib, json;"
        f"m = importlib.import_module('examples.performance.{suite}');"
        "print(json.dumps([[f.__name__, (f.__doc__ or '').strip()] for f in m.Profiler.tests]"
        " + [m.Profiler.num]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return [(str(t[0]), str(t[1])) for t in data[:-1]], int(data[-1])


def run_child(
    root: Path, suite: str, test: str, num: int, dburl: str, shim: bool, clock: str
) -> dict[str, Any]:
    env = dict(os.environ)
    paths = [str(root), str(ROOT / "src")]
    if shim:
        paths.insert(0, str(HARNESS))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        suite,
        test,
        str(num),
        dburl,
        clock,
    ]
    if shim:
        cmd.append("--shim")
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("PEER-RESULT "):
            result: dict[str, Any] = json.loads(line[len("PEER-RESULT ") :])
            return result
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"suite": suite, "test": test, "num": num, "error": f"process failed: {tail}"[:200]}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def fmt_s(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.3f} s" if v < 100 else f"{v:.0f} s"


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"<!-- generated by `make bench-peer` (bench/peer.py) on {meta['date']}, git"
        f" {meta['git']}; do not edit by hand -->",
        "",
        f"SQLAlchemy {meta['sqlalchemy']}'s `examples/performance` suites, {meta['db']},"
        f" median of {meta['repeat']}, "
        + ("CPU time of the test process" if meta["clock"] == "cpu" else "wall-clock time")
        + f", {meta['cpus']} CPUs. ORM tests: the same test code"
        " on datamapper (through the compat shim) and on SQLAlchemy's ORM; ×SA = SQLAlchemy"
        " ORM time / datamapper time (above 1: datamapper is faster). Core / DB-API rows are"
        " the suites' own reference tests, run once on SQLAlchemy Core or the driver.",
        "",
        "| suite | test | n | datamapper | SQLAlchemy ORM | ×SA |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for r in results:
        doc = " ".join((r.get("doc") or "").split())
        name = f"`{r['test']}`" + (f" ({doc})" if doc else "")
        name = name.replace("|", "\\|")
        if r["kind"] == "orm":
            dm, sa = r.get("datamapper"), r.get("sqlalchemy")
            dm_cell = fmt_s(dm) if dm is not None else f"error: {r.get('datamapper_error')}"
            sa_cell = fmt_s(sa) if sa is not None else f"error: {r.get('sqlalchemy_error')}"
            x = f"{sa / dm:.2f}×" if dm and sa else "—"
            cells = [r["suite"], name, f"{r['num']:,}", dm_cell, sa_cell, x]
        else:
            core = r.get("core")
            cell = fmt_s(core) if core is not None else f"error: {r.get('core_error')}"
            cells = [r["suite"], name + " — reference", f"{r['num']:,}", "", cell, ""]
        lines.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text()
    if MARK_START not in readme or MARK_END not in readme:
        raise SystemExit(f"README.md has no {MARK_START} ... {MARK_END} section")
    head, rest = readme.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    README.write_text(head + MARK_START + "\n" + text + "\n" + MARK_END + tail)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        child(argv[1], argv[2], int(argv[3]), argv[4], "--shim" in argv[5:], argv[5])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suites", default=",".join(SUITES), help="comma list of suites")
    p.add_argument("--tests", default=None, help="comma list of test names (default all)")
    p.add_argument(
        "--num-scale",
        type=float,
        default=1.0,
        help="multiply each suite's default num (its iterations / rows) by this",
    )
    p.add_argument("--repeat", type=int, default=1, help="runs per test (median reported)")
    p.add_argument(
        "--dburl",
        default=None,
        help="database URL (default: a SQLite file in /dev/shm when it exists)",
    )
    p.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default=None,
        help="cpu: time.process_time of the test process (default for SQLite, which runs"
        " in that process: other load on the machine does not count); wall:"
        " time.perf_counter (default for a server URL, whose work is elsewhere)",
    )
    p.add_argument("--no-core", action="store_true", help="skip the Core/DB-API reference tests")
    p.add_argument("--json", default=None, help="write the results to this file")
    p.add_argument(
        "--write-readme",
        action="store_true",
        help=f"replace the README section between {MARK_START} and {MARK_END}",
    )
    args = p.parse_args(argv)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    bad = [s for s in suites if s not in SUITES]
    if bad:
        p.error(f"unknown suite(s) {', '.join(bad)}; choose from {', '.join(SUITES)}")
    only = {t.strip() for t in args.tests.split(",")} if args.tests else None

    compat = _compat()
    roots = prepare(compat)
    # RAM-backed by default: single_inserts commits 10,000 times, and on a disk
    # the fsync of each commit, the same for every implementation, would be all
    # there is to see
    shm = Path("/dev/shm")
    tmp = tempfile.mkdtemp(prefix="dm_peer_", dir=shm if shm.is_dir() else None)
    dburl = args.dburl or f"sqlite:///{tmp}/peer.db"
    clock = args.clock or ("cpu" if dburl.startswith("sqlite") else "wall")
    results: list[dict[str, Any]] = []
    try:
        for suite in suites:
            tests, default_num = list_tests(roots["real"], suite)
            num = max(1, int(default_num * args.num_scale))
            for test, doc in tests:
                if only is not None and test not in only:
                    continue
                orm = bool(ORM_TEST.match(test))
                if not orm and args.no_core:
                    continue
                row: dict[str, Any] = {
                    "suite": suite,
                    "test": test,
                    "doc": doc,
                    "num": num,
                    "kind": "orm" if orm else "core",
                }
                impls = ["datamapper", "sqlalchemy"] if orm else ["core"]
                samples: dict[str, list[float]] = {i: [] for i in impls}
                for rep in range(args.repeat):
                    order = impls if rep % 2 == 0 else impls[::-1]
                    for impl in order:
                        shim = impl == "datamapper"
                        root = roots["datamapper" if shim else "real"]
                        res = run_child(root, suite, test, num, dburl, shim, clock)
                        if "error" in res:
                            row[f"{impl}_error"] = res["error"]
                            print(f"  {suite}.{test} {impl}: {res['error']}", file=sys.stderr)
                        else:
                            samples[impl].append(res["seconds"])
                            print(
                                f"  {suite}.{test} {impl}: {res['seconds']:.3f} s",
                                file=sys.stderr,
                                flush=True,
                            )
                for impl, vals in samples.items():
                    if vals and f"{impl}_error" not in row:
                        row[impl] = statistics.median(vals)
                        row[f"{impl}_samples"] = vals
                results.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    import platform
    from datetime import UTC, datetime

    import sqlalchemy

    git = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if args.dburl is None:
        db = "SQLite file database" + (" in RAM (/dev/shm)" if tmp.startswith("/dev/shm") else "")
    else:
        db = dburl.split("://")[0]
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "git": git or "?",
        "sqlalchemy": sqlalchemy.__version__,
        "db": db,
        "repeat": args.repeat,
        "clock": clock,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    text = markdown(results, meta)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    if args.write_readme:
        write_readme(text)
        print("README.md: peer benchmark table written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
