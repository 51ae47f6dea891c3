"""Run SQLAlchemy's own ORM tests against datamapper (`make compat`).

    python compat/sqlalchemy_suite/compat.py fetch      # sdist of the installed SQLAlchemy
    python compat/sqlalchemy_suite/compat.py prepare    # unpack + adapt two work trees
    python compat/sqlalchemy_suite/compat.py run real|datamapper [FILE ...]
    python compat/sqlalchemy_suite/compat.py report [--write-readme] [--write-baseline]
    python compat/sqlalchemy_suite/compat.py classify   # propose entries for unexplained failures
    python compat/sqlalchemy_suite/compat.py all        # what `make compat` runs

Everything downloaded or generated lives under compat/.cache/ (git-ignored);
the checked-in files are this harness, expectations.csv and passing.txt.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / "compat" / ".cache"
HARNESS = HERE / "harness"
EXPECTATIONS = HERE / "expectations.csv"
BASELINE = HERE / "passing.txt"
README = ROOT / "README.md"

FILES = [
    "test_session", "test_transaction", "test_unitofwork", "test_unitofworkv2",
    "test_cascade", "test_merge", "test_expire", "test_scoping", "test_events",
    "test_versioning", "test_bind", "test_attributes", "test_collection",
    "test_dynamic", "test_relationships", "test_query", "test_deferred",
]
CATEGORIES = ["bug", "missing-api", "seed", "sql-form", "message", "internal"]

FILE_TIMEOUT = int(os.environ.get("COMPAT_FILE_TIMEOUT", "1500"))  # seconds per file
TEST_TIMEOUT = int(os.environ.get("COMPAT_TEST_TIMEOUT", "60"))  # seconds per test


def sqla_version() -> str:
    import sqlalchemy

    return sqlalchemy.__version__


def sdist_path(version: str) -> Path:
    return CACHE / "dist" / f"sqlalchemy-{version}.tar.gz"


def work_root(version: str, mode: str) -> Path:
    return CACHE / f"work-{version}" / mode


def results_dir(version: str) -> Path:
    return CACHE / f"results-{version}"


# ------------------------------------------------------------------ fetch
def fetch() -> Path:
    version = sqla_version()
    path = sdist_path(version)
    if path.exists():
        print(f"compat: using cached {path.relative_to(ROOT)}")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"compat: downloading the source distribution of SQLAlchemy {version} ...")
    # --no-binary for sqlalchemy only: ":all:" would also build the sdist's
    # build requirements (Cython) from source just to read its metadata.
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", "sqlalchemy", f"sqlalchemy=={version}", "-d", str(path.parent)],
        check=True,
    )
    if not path.exists():
        raise SystemExit(f"compat: pip did not leave {path}")
    return path


# ------------------------------------------------------------------ prepare
# Import rewrites applied to the datamapper tree's copy of test/orm/*.py: the
# test code's view of the ORM becomes the shim (dmshim); Core stays SQLAlchemy.
REWRITES = [
    (re.compile(r"^(\s*)from sqlalchemy\.orm\b"), r"\1from dmshim.orm"),
    (re.compile(r"^(\s*)from sqlalchemy import (orm|event)\b"), r"\1from dmshim import \2"),
    (re.compile(r"^(\s*)import sqlalchemy as sa(?=[ \t]*$)"), r"\1import dmshim.sa as sa"),
    (re.compile(r"^(\s*)import sqlalchemy\.orm\.(\w+) as "), r"\1import dmshim.orm.\2 as "),
    # SQLAlchemy's association proxy finds classes through its own instrumentation;
    # datamapper has its own (datamapper.associationproxy)
    (re.compile(r"^(\s*)from sqlalchemy\.ext\.associationproxy import association_proxy$"),
     r"\1from datamapper.associationproxy import association_proxy"),
]


def _rewrite(text: str) -> tuple[str, int]:
    out, n = [], 0
    for line in text.splitlines(keepends=True):
        for pat, repl in REWRITES:
            new = pat.sub(repl, line)
            if new != line:
                n += 1
                line = new
                break
        out.append(line)
    return "".join(out), n


def prepare() -> None:
    version = sqla_version()
    tarball = fetch()
    top = f"sqlalchemy-{version}/"
    for mode in ("real", "datamapper"):
        root = work_root(version, mode)
        stamp = root / ".prepared"
        recipe = (HARNESS / "conftest_replacement.py").read_text() + version
        if mode == "datamapper":
            recipe += repr([(p.pattern, r) for p, r in REWRITES])
        digest = hashlib.sha256(recipe.encode()).hexdigest()
        if stamp.exists() and stamp.read_text() == digest:
            continue
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        with tarfile.open(tarball) as tf:
            members = [
                m for m in tf.getmembers()
                if m.name.startswith(top + "test/")
                or m.name in (top + "setup.cfg", top + "pyproject.toml")
            ]
            for m in members:
                m.name = m.name[len(top):]
            tf.extractall(root, members=members, filter="data")
        shutil.copy(HARNESS / "conftest_replacement.py", root / "test" / "conftest.py")
        if mode == "datamapper":
            total = 0
            for py in sorted((root / "test" / "orm").rglob("*.py")):
                text, n = _rewrite(py.read_text())
                if n:
                    py.write_text(text)
                    total += n
            print(f"compat: rewrote {total} ORM import lines in the datamapper tree")
        stamp.write_text(digest)
        print(f"compat: prepared {root.relative_to(ROOT)}")


# ------------------------------------------------------------------ run
def _has_pytest_timeout() -> bool:
    import importlib.util

    return importlib.util.find_spec("pytest_timeout") is not None


def run(mode: str, files: list[str]) -> None:
    version = sqla_version()
    prepare()
    root = work_root(version, "real" if mode == "real" else "datamapper")
    out = results_dir(version) / mode
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HARNESS), str(root)])
    env.pop("PYTHONSTARTUP", None)
    env["COMPAT_RELAX_SQL"] = "1" if mode == "datamapper-relaxed" else "0"
    for name in files or FILES:
        res = out / f"{name}.jsonl"
        log = out / f"{name}.log"
        res.unlink(missing_ok=True)
        env["COMPAT_RESULTS"] = str(res)
        cmd = [
            sys.executable, "-m", "pytest", f"test/orm/{name}.py",
            "-p", "compat_results", "-p", "no:cacheprovider",
            "--maxfail=1000000", "--tb=native", "--db", "sqlite",
        ]
        if mode != "real":
            cmd += ["-p", "compat_shim"]
        if _has_pytest_timeout():
            cmd += [f"--timeout={TEST_TIMEOUT}"]
        t0 = time.monotonic()
        with open(log, "w") as logf:
            proc = subprocess.Popen(
                cmd, cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=FILE_TIMEOUT)
                status = f"exit {proc.returncode}"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = f"killed after {FILE_TIMEOUT}s"
                with open(res, "a") as f:
                    f.write(json.dumps({"id": f"test/orm/{name}.py", "when": "file-timeout",
                                        "outcome": "failed",
                                        "message": f"file run killed after {FILE_TIMEOUT}s"}) + "\n")
        counts = Counter(s for s in load_results(res).values())
        print(f"compat: {mode:10} {name:20} {status:12} {time.monotonic() - t0:6.0f}s  "
              f"passed {counts['passed']}, failed {counts['failed']}, skipped {counts['skipped']}")


# ------------------------------------------------------------------ results
def norm_id(tid: str) -> str:
    """Test ids without the SQLite library version SQLAlchemy puts in some class names."""
    return re.sub(r"(_sqlite\+pysqlite)_\d+(?:_\d+)*", r"\1", tid)


def load_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    recs = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
            rec["id"] = norm_id(rec["id"])
            recs.append(rec)
        except json.JSONDecodeError:
            pass
    return recs


def load_results(path: Path) -> dict[str, str]:
    """test id -> passed | failed | skipped (a failed setup/teardown fails the test)."""
    status: dict[str, str] = {}
    for r in load_records(path):
        if r["when"] in ("collect", "file-timeout"):
            continue
        tid, outcome = r["id"], r["outcome"]
        prev = status.get(tid)
        if outcome == "failed" or prev == "failed":
            status[tid] = "failed"
        elif outcome == "skipped" and prev is None:
            status[tid] = "skipped"
        elif outcome == "passed" and prev in (None,):
            status[tid] = "passed"
    return status


def failure_records(version: str) -> dict[str, dict]:
    """For the datamapper run: test id -> the record that explains its failure."""
    real_dir = results_dir(version) / "real"
    dm_dir = results_dir(version) / "datamapper"
    out: dict[str, dict] = {}
    for name in FILES:
        real = load_results(real_dir / f"{name}.jsonl")
        recs = load_records(dm_dir / f"{name}.jsonl")
        dm = load_results(dm_dir / f"{name}.jsonl")
        first_fail: dict[str, dict] = {}
        for r in recs:
            if r["outcome"] == "failed" and r["id"] not in first_fail:
                first_fail[r["id"]] = r
        file_level = [r for r in recs if r["when"] in ("collect", "file-timeout")]
        by_function: dict[str, dict] = {}
        for r in first_fail.values():
            by_function.setdefault(r["id"].split("[")[0], r)
        for tid, st in real.items():
            if st != "passed":
                continue
            if dm.get(tid) == "passed":
                continue
            if dm.get(tid) == "skipped":
                out[tid] = {"id": tid, "when": "skip", "outcome": "skipped",
                            "message": "skipped in the datamapper run", "missing": []}
            elif tid in first_fail:
                out[tid] = first_fail[tid]
            elif file_level:
                out[tid] = dict(file_level[0], id=tid)
            elif tid.split("[")[0] in by_function:
                # parameter ids built from a missing name's repr differ
                out[tid] = dict(by_function[tid.split("[")[0]], id=tid, when="renamed")
            else:
                out[tid] = {"id": tid, "when": "absent", "outcome": "failed",
                            "message": "not run in the datamapper run", "missing": []}
    return out


def load_expectations() -> dict[str, tuple[str, str]]:
    if not EXPECTATIONS.exists():
        return {}
    with open(EXPECTATIONS, newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    exp = {}
    for row in rows[1:]:
        tid, cat, reason = row[0], row[1], row[2] if len(row) > 2 else ""
        if cat not in CATEGORIES:
            raise SystemExit(f"compat: {EXPECTATIONS.name}: unknown category {cat!r} for {tid}")
        exp[norm_id(tid)] = (cat, reason)
    return exp


def write_expectations(exp: dict[str, tuple[str, str]]) -> None:
    def key(tid: str) -> tuple:
        f = tid.split("::", 1)[0]
        return (FILES.index(Path(f).stem) if Path(f).stem in FILES else 99, tid)

    with open(EXPECTATIONS, "w", newline="") as f:
        f.write("# Every test of SQLAlchemy's ORM suite that passes on the real ORM and fails on\n"
                "# datamapper, with why. Categories: " + ", ".join(CATEGORIES) + ".\n"
                "# See README 'Compatibility with SQLAlchemy's ORM test suite'.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["test", "category", "reason"])
        for tid in sorted(exp, key=key):
            w.writerow([tid, *exp[tid]])


# ------------------------------------------------------------------ report
def missing_key(reason: str) -> str:
    """The missing name a `missing-api` reason starts with."""
    return re.sub(r" argument$", "", reason.split(" (")[0].strip())


TABLE_START = "<!-- compat-table:start -->"
TABLE_END = "<!-- compat-table:end -->"


def report(write_readme: bool, write_baseline: bool) -> int:
    version = sqla_version()
    real_dir = results_dir(version) / "real"
    dm_dir = results_dir(version) / "datamapper"
    exp = load_expectations()
    failures = failure_records(version)
    # one test id a line (ids may hold spaces: parametrized ones)
    baseline = {norm_id(t.strip()) for t in BASELINE.read_text().splitlines()
                if t.strip().startswith("test/")} if BASELINE.exists() else set()

    rows, passing_now = [], []
    totals: Counter = Counter()
    unexplained, regressions, fixed = [], [], []
    for name in FILES:
        real = load_results(real_dir / f"{name}.jsonl")
        dm = load_results(dm_dir / f"{name}.jsonl")
        ceiling = [t for t, s in real.items() if s == "passed"]
        ok = [t for t in ceiling if dm.get(t) == "passed"]
        passing_now += ok
        cats: Counter = Counter()
        for t in ceiling:
            if t in failures:
                cat = exp[t][0] if t in exp else "unexplained"
                cats[cat] += 1
                if t not in exp:
                    unexplained.append(t)
                if t in baseline:
                    regressions.append(t)
            elif t in exp:
                fixed.append(t)
        row = {"file": name, "real": len(ceiling), "datamapper": len(ok), **cats}
        rows.append(row)
        totals.update({k: v for k, v in row.items() if k != "file"})

    cols = ["real", "datamapper", *CATEGORIES, "unexplained"]
    header = ("| file | real ORM passes | datamapper passes | "
              + " | ".join(CATEGORIES) + " | unexplained |")
    lines = [header, "|" + "---|" * (len(cols) + 1)]
    for r in rows + [{"file": "**total**", **totals}]:
        lines.append(f"| {r['file']} | " + " | ".join(str(r.get(c, 0)) for c in cols) + " |")
    table = "\n".join(lines)
    print(f"SQLAlchemy {version} ORM tests, SQLite\n")
    print(table)

    missing = Counter()
    for t, (cat, reason) in exp.items():
        if t in failures and cat == "missing-api":
            missing[missing_key(reason)] += 1
    if missing:
        print("\nTop missing names (tests blocked):")
        for n, c in missing.most_common(15):
            print(f"  {c:5}  {n}")

    for title, items in (("Unexplained failures", unexplained),
                         ("Regressions (in passing.txt, failing now)", regressions),
                         ("Expected failures that pass now (remove them from expectations.csv)",
                          fixed)):
        print(f"\n{title}: {len(items)}")
        for t in items[:200]:
            print(f"  {t}: {failures.get(t, {}).get('message', '')!s:.160}")

    if write_readme:
        text = README.read_text()
        try:
            rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            rev = "?"
        block = (f"{TABLE_START}\nSQLAlchemy {version}, SQLite, datamapper at {rev}; "
                 "generated by `make compat`.\n\n"
                 f"{table}\n{TABLE_END}")
        if TABLE_START in text:
            text = re.sub(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END),
                          lambda _: block, text, flags=re.S)
            README.write_text(text)
            print(f"\ncompat: table written to {README.name}")
        else:
            print(f"compat: no {TABLE_START} marker in README.md; table not written")
    if write_baseline:
        BASELINE.write_text("\n".join(sorted(set(passing_now) | (baseline - set(failures))))
                            + "\n")
        # expectations of tests that pass now are dropped
        stale = [t for t in fixed if t in exp]
        if stale:
            write_expectations({t: e for t, e in exp.items() if t not in set(stale)})
            print(f"compat: dropped {len(stale)} expectations of tests that pass now")
    return 1 if (unexplained or regressions) else 0


def _call_records(version: str, mode: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name in FILES:
        for r in load_records(results_dir(version) / mode / f"{name}.jsonl"):
            if r["when"] == "call" or (r["outcome"] == "failed" and r["id"] not in out):
                out[r["id"]] = r
    return out


def classify_cmd(redo: bool) -> None:
    """Fill expectations.csv for failures without an entry (all, with --redo,
    except entries whose reason starts with "regression" or "checked")."""
    from classify import classify

    version = sqla_version()
    exp = load_expectations()
    failures = failure_records(version)
    if redo:
        exp = {t: e for t, e in exp.items()
               if e[1].startswith(("regression", "checked")) and t in failures}
    real = _call_records(version, "real")
    relaxed = _call_records(version, "datamapper-relaxed")
    added = Counter()
    for tid, rec in failures.items():
        if tid in exp:
            continue
        rel = relaxed.get(tid)
        ctx = {
            "relaxed": rel,
            "rows_match": bool(rel and rel.get("rows") and real.get(tid, {}).get("rows")
                               and rel["rows"] == real[tid]["rows"]),
        }
        cat, reason = classify(rec, ctx)
        exp[tid] = (cat, reason)
        added[cat] += 1
    write_expectations(exp)
    print(f"compat: added {sum(added.values())} entries: {dict(added)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch")
    sub.add_parser("prepare")
    p = sub.add_parser("run")
    p.add_argument("mode", choices=["real", "datamapper", "datamapper-relaxed"])
    p.add_argument("files", nargs="*")
    p = sub.add_parser("report")
    p.add_argument("--write-readme", action="store_true")
    p.add_argument("--write-baseline", action="store_true")
    p = sub.add_parser("classify")
    p.add_argument("--redo", action="store_true",
                   help="reclassify every entry except hand-checked ones")
    sub.add_parser("all")
    args = ap.parse_args()
    if args.cmd == "fetch":
        fetch()
    elif args.cmd == "prepare":
        prepare()
    elif args.cmd == "run":
        run(args.mode, [Path(f).stem for f in args.files])
    elif args.cmd == "report":
        return report(args.write_readme, args.write_baseline)
    elif args.cmd == "classify":
        classify_cmd(args.redo)
    elif args.cmd == "all":
        prepare()
        run("real", [])
        run("datamapper", [])
        run("datamapper-relaxed", [])
        return report(write_readme=True, write_baseline=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
