"""Benchmark harness for datamapper: our ORM side by side with SQLAlchemy's ORM,
SQLAlchemy Core and the raw DB-API driver, in one process, on one database.

    python bench/run.py [--backend sqlite|postgresql|mysql] [--n 100000]
                        [--repeat 3] [--only WORKLOAD[,...]]
                        [--impl datamapper,sqlalchemy,core,raw]
                        [--quick] [--markdown] [--strict] [--keep-going]

Every timed run is verified (row counts and checksums read back from the
database on a fresh connection, or computed from what was loaded) before its
time counts; a wrong result aborts the run. Times are medians of ``--repeat``
runs, each with a fresh table state and a ``gc.collect()`` first. Results go to
stdout (a table per backend) and to ``bench/results-<backend>.json``.
See bench/README.md for the workloads.
"""

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Runs as a script (`python bench/run.py`): sibling modules are top-level.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy  # noqa: E402

from backends import BENCH_DATABASE, Backend, make_backend  # noqa: E402
from common import (  # noqa: E402
    LARGE_OPS,
    SHORT_ROWS,
    WEB_ADDRESSES,
    Checksum,
    Meter,
    Skipped,
    Spec,
    TreeChecksum,
    VerificationError,
)
from impls import IMPL_NAMES, IMPLS, Impl  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
BACKEND_NAMES = ("sqlite", "postgresql", "mysql")
BACKEND_ALIASES = {"mariadb": "mysql"}  # the MySQL backend runs on MariaDB or MySQL


@dataclass(frozen=True)
class Workload:
    name: str
    method: str
    state: str  # table state before each run, see Backend.ensure
    timed: Callable[[Spec], str]  # what the measured region contains
    expect: Callable[[Spec], Checksum | TreeChecksum]
    verify_db: bool  # True: check the database; False: check what was loaded
    mutates: bool = False
    kind: str = "time"  # or "memory", or "per-row" (reported in µs per row; phases "<rows> ...")
    phases: tuple[str, ...] | Callable[[Spec], tuple[str, ...]] = ("",)

    def phase_names(self, spec: Spec) -> tuple[str, ...]:
        return self.phases(spec) if callable(self.phases) else self.phases


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "insert",
            "insert",
            "items:empty",
            lambda s: f"build {s.n:,} objects/param rows + add_all + commit (one transaction)",
            Spec.expect_inserted,
            verify_db=True,
            mutates=True,
        ),
        Workload(
            "load",
            "load",
            "items:seeded",
            lambda s: (
                f"fresh session, query(Item).all() of {s.n:,} rows"
                " (Core: execute(select).all(); raw: fetchall())"
            ),
            Spec.expect_all,
            verify_db=False,
        ),
        Workload(
            "load-select",
            "load_select",
            "items:seeded",
            lambda s: (
                f"fresh session, session.scalars(select(Item)).all() of {s.n:,} rows"
                " (Core/raw: same as load)"
            ),
            Spec.expect_all,
            verify_db=False,
        ),
        Workload(
            "short",
            "short",
            "items:seeded",
            lambda s: (
                f"{s.n_short:,} queries of {SHORT_ROWS} rows by id range (indexed), one session"
                " per phase: query = query(Item).filter(lo <= id < hi).all(),"
                " select = session.scalars(select(Item).where(...)).all()"
                " (Core: conn.execute(select(items).where(...)).all(); raw: cursor)"
            ),
            Spec.expect_short,
            verify_db=False,
            phases=("query", "select"),
        ),
        Workload(
            "get",
            "get",
            "items:seeded",
            lambda s: (
                f"{s.n_get:,} session.get(Item, pk): miss = fresh session (one SELECT each),"
                " hit = same ids again (identity map, 0 SELECTs checked);"
                " Core/raw: single-row SELECTs, hit = dict lookup"
            ),
            Spec.expect_get,
            verify_db=False,
            phases=("miss", "hit"),
        ),
        Workload(
            "update",
            "update",
            "items:seeded",
            lambda s: (
                f"modify value += 1 on {s.n:,} loaded objects + commit; the load is NOT timed"
                " (Core/raw: executemany UPDATE by id + commit)"
            ),
            Spec.expect_updated,
            verify_db=True,
            mutates=True,
        ),
        Workload(
            "delete",
            "delete",
            "items:seeded",
            lambda s: (
                f"session.delete() of {s.n_delete:,} loaded objects (even ids) + commit;"
                " the load is NOT timed (Core/raw: executemany DELETE by id + commit)"
            ),
            Spec.expect_after_delete,
            verify_db=True,
            mutates=True,
        ),
        Workload(
            "bulk",
            "bulk",
            "items:empty",
            lambda s: (
                f"ORM bulk DML: insert = session.execute(insert(Item), {s.n:,} dicts) + commit,"
                " update = session.execute(update(Item), dicts with id, value + 1) + commit"
                " (the id read between the phases is NOT timed; Core: executemany INSERT,"
                " then executemany UPDATE by id; raw: the same with the driver)"
            ),
            lambda s: s.expect_updated().without_ids(),
            verify_db=True,
            mutates=True,
            phases=("insert", "update"),
        ),
        Workload(
            "memory",
            "memory",
            "items:seeded",
            lambda s: (
                f"tracemalloc: Python memory held by {s.n:,} loaded objects/rows"
                " (session alive), after gc.collect()"
            ),
            Spec.expect_all,
            verify_db=False,
            kind="memory",
        ),
        Workload(
            "tree",
            "tree",
            "tree:empty",
            lambda s: (
                f"{s.n_parents:,} parents x 10 children built + add_all + commit"
                " (Core: insert parents RETURNING, then children; raw: same with the driver)"
            ),
            Spec.expect_tree,
            verify_db=True,
            mutates=True,
        ),
        Workload(
            "web",
            "web",
            "web:seeded",
            lambda s: (
                f"{s.n_web:,} requests, each: open session, get(User, pk), lazy load its"
                f" {WEB_ADDRESSES} addresses, rename the user, append one new address, commit,"
                " close (Core: connection, the same SELECTs, UPDATE, INSERT, commit;"
                " raw: the same with the driver)"
            ),
            Spec.expect_web,
            verify_db=True,
            mutates=True,
        ),
        Workload(
            "large",
            "large",
            "items:seeded",
            lambda s: (
                f"a session holding {' / '.join(f'{z:,}' for z in s.large_sizes)} loaded objects"
                f" (load NOT timed): flush = {LARGE_OPS} x (change one object + flush),"
                f" query = {LARGE_OPS} x query(Item).filter(id range).all() of {SHORT_ROWS} rows"
                " already in the identity map, commit = one commit expiring every object"
                " (ORM only)"
            ),
            Spec.expect_large,
            verify_db=True,
            mutates=True,
            phases=Spec.large_phases,
        ),
        Workload(
            "growth",
            "growth",
            "items:empty",
            lambda s: (
                "per table size "
                + " / ".join(f"{z:,}" for z in s.growth_sizes)
                + ", from an empty table: insert = build the objects + add_all + commit,"
                " load = fresh session, query(Item).all(), update = value += 1 on the loaded"
                " objects + commit; reported in µs per row (Core/raw: executemany INSERT,"
                " select all, executemany UPDATE by id)"
            ),
            Spec.expect_growth,
            verify_db=True,
            mutates=True,
            kind="per-row",
            phases=Spec.growth_phases,
        ),
        Workload(
            "eager",
            "eager",
            "tree:seeded",
            lambda s: (
                f"fresh session, load {s.n_parents:,} parents with their"
                f" {s.n_parents * 10:,} children: selectin = query(Parent)"
                ".options(selectinload(Parent.children)).all(), joined = the same with"
                " joinedload (reading the children afterwards must run no statement;"
                " Core/raw: selectin = the parents, then their children by IN lists of"
                " 500 parent ids; joined = one LEFT OUTER JOIN grouped by parent)"
            ),
            Spec.expect_tree,
            verify_db=False,
            phases=("selectin", "joined"),
        ),
        Workload(
            "lazy",
            "lazy",
            "tree:seeded",
            lambda s: (
                f"load {s.n_parents:,} parents, access each .children (lazy, one SELECT each)"
            ),
            Spec.expect_tree,
            verify_db=False,
        ),
    )
}
DEFAULT_WORKLOADS = ["insert", "load", "load-select", "short", "get", "update", "delete", "memory"]


@dataclass
class Record:
    """All runs of one implementation on one workload."""

    status: str = "ok"  # ok | error | skipped | wrong
    message: str = ""
    seconds: dict[str, list[float]] = field(default_factory=dict)
    bytes: dict[str, list[int]] = field(default_factory=dict)
    peak_bytes: dict[str, list[int]] = field(default_factory=dict)

    def value(self, phase: str) -> float | None:
        if self.status != "ok":
            return None
        if phase in self.seconds:
            return statistics.median(self.seconds[phase])
        if phase in self.bytes:
            return statistics.median(self.bytes[phase]) / 1e6
        return None


class Broken(Impl):
    """Stands in for an implementation that could not even be set up."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message


def describe_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return " ".join(text.split())


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tolerant(impl_name: str, args: argparse.Namespace) -> bool:
    """Errors of this implementation become report rows instead of aborting."""
    return impl_name == "datamapper" and not args.strict


def build_impls(backend: Backend, names: list[str], args: argparse.Namespace) -> list[Impl]:
    impls: list[Impl] = []
    for name in names:
        try:
            impls.append(IMPLS[name](backend))
        except Exception as exc:
            if not tolerant(name, args):
                raise
            if args.traceback:
                traceback.print_exc()
            msg = describe_error(exc)
            log(f"  {name}: cannot set up: {msg}")
            impls.append(Broken(name, msg))
    return impls


def run_one(
    backend: Backend, impl: Impl, wl: Workload, spec: Spec, record: Record, args: argparse.Namespace
) -> None:
    """One repetition of one workload for one implementation, verified."""
    backend.ensure(wl.state, spec)
    if wl.mutates:
        backend.state = None
    meter = Meter(CLOCKS[args.clock])
    where = f"[{backend.name} / {wl.name} / {impl.name}]"
    try:
        result = getattr(impl, wl.method)(spec, meter)
        expected = wl.expect(spec)
        if wl.verify_db:
            tree = not wl.state.startswith("items")
            actual = backend.tree_checksum() if tree else backend.item_checksum()
            expected.check(actual, "database after the run")  # type: ignore[arg-type]
        else:
            if result is None:
                raise VerificationError("returned nothing to verify")
            expected.check(result, "loaded data")
        missing = [
            p for p in wl.phase_names(spec) if p not in meter.seconds and p not in meter.bytes
        ]
        if missing:
            raise VerificationError(f"phases {missing} were not measured")
    except Skipped as exc:
        record.status, record.message = "skipped", str(exc)
        return
    except VerificationError as exc:
        backend.state = None
        if not (tolerant(impl.name, args) and args.keep_going):
            raise VerificationError(f"{where} {exc}") from None
        record.status, record.message = "wrong", str(exc)
    except Exception as exc:
        backend.state = None
        if not tolerant(impl.name, args):
            raise
        if args.traceback:
            traceback.print_exc()
        record.status, record.message = "error", describe_error(exc)
    if record.status != "ok":
        gc.collect()  # outside the except block: frees the frames holding the failed session
        impl.after_error()
        return
    for phase, secs in meter.seconds.items():
        record.seconds.setdefault(phase, []).append(secs)
    for phase, nbytes in meter.bytes.items():
        record.bytes.setdefault(phase, []).append(nbytes)
        record.peak_bytes.setdefault(phase, []).append(meter.peak_bytes[phase])


def run_backend(
    backend_name: str, args: argparse.Namespace, spec: Spec, workloads: list[Workload]
) -> dict[str, Any]:
    backend = make_backend(backend_name, args.url, args.sqlite_synchronous, args.database)
    log(f"== {backend_name}: opening")
    backend.open()
    records: dict[tuple[str, str], Record] = {}
    impls: list[Impl] = []
    try:
        impls = build_impls(backend, args.impl, args)
        for wl in workloads:
            repeat = 1 if wl.kind == "memory" else args.repeat
            for impl in impls:
                rec = records[(wl.name, impl.name)] = Record()
                if isinstance(impl, Broken):
                    rec.status, rec.message = "error", impl.message
            for rep in range(repeat):
                # rotate the order every repetition so no implementation always
                # runs first (warm caches, allocator state, neighbours' load)
                shift = rep % len(impls)
                for impl in impls[shift:] + impls[:shift]:
                    rec = records[(wl.name, impl.name)]
                    if rec.status != "ok":
                        continue
                    run_one(backend, impl, wl, spec, rec, args)
                    log(f"  {wl.name:<11} {rep + 1}/{repeat} {impl.name:<10} {progress(rec)}")
    finally:
        for impl in impls:
            try:
                impl.close()
            except Exception as exc:  # a half-built datamapper must not hide results
                log(f"  {impl.name}: close failed: {describe_error(exc)}")
        backend.close()
    return report_data(backend, args, spec, workloads, records)


def progress(rec: Record) -> str:
    if rec.status != "ok":
        return f"{rec.status}: {rec.message}"
    parts = [f"{p or 'time'}={v[-1]:.4f}s" for p, v in rec.seconds.items()]
    parts += [f"{p or 'mem'}={v[-1] / 1e6:.1f}MB" for p, v in rec.bytes.items()]
    return " ".join(parts)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__}
    for dist in ("psycopg", "PyMySQL"):
        try:
            out[dist.lower()] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    try:
        from impls import import_datamapper

        dm = import_datamapper()
    except Exception:
        out["datamapper"] = "not importable"
    else:
        version = getattr(dm, "__version__", None)
        if version is None:
            try:
                version = metadata.version("datamapper")
            except metadata.PackageNotFoundError:
                version = "?"
        out["datamapper"] = str(version)
    return out


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(BENCH_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def report_data(
    backend: Backend,
    args: argparse.Namespace,
    spec: Spec,
    workloads: list[Workload],
    records: dict[tuple[str, str], Record],
) -> dict[str, Any]:
    rows = []
    for wl in workloads:
        for phase in wl.phase_names(spec):
            medians = {
                name: records[(wl.name, name)].value(phase)
                for name in args.impl
                if (wl.name, name) in records
            }
            for name in args.impl:
                rec = records.get((wl.name, name))
                if rec is None:
                    continue
                value = medians[name]
                per_row = wl.kind == "per-row"
                if per_row and value is not None:
                    value = value / phase_rows(phase) * 1e6
                row: dict[str, Any] = {
                    "workload": wl.name,
                    "phase": phase,
                    "label": f"{wl.name} ({phase})" if phase else wl.name,
                    "impl": name,
                    "unit": {"memory": "MB", "per-row": "µs/row"}.get(wl.kind, "s"),
                    "status": rec.status,
                    "message": rec.message,
                    "value": value,
                    "samples": rec.seconds.get(phase)
                    or [b / 1e6 for b in rec.bytes.get(phase, [])],
                    "peak_mb": [b / 1e6 for b in rec.peak_bytes.get(phase, [])] or None,
                    "x_sa_orm": ratio(medians.get("sqlalchemy"), medians[name]),
                    "vs_core": ratio(medians[name], medians.get("core")),
                    "vs_raw": ratio(medians[name], medians.get("raw")),
                    "dict_lookup": phase == "hit" and name in ("core", "raw"),
                }
                rows.append(row)
    return {
        "backend": backend.name,
        "database": backend.describe(),
        "n": spec.n,
        "repeat": args.repeat,
        "statistic": "median",
        "clock": args.clock,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_revision(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": versions(),
        "timed_regions": {wl.name: wl.timed(spec) for wl in workloads},
        "rows": rows,
    }


def phase_rows(phase: str) -> int:
    """Rows of a per-row phase named ``"<rows> <operation>"``, e.g. ``"10,000 insert"``."""
    return int(phase.split()[0].replace(",", ""))


def growth_lines(data: dict[str, Any]) -> list[str]:
    """Per implementation and operation: µs per row at the largest size over
    µs per row at the second largest below n (10k at the default n)."""
    per: dict[tuple[str, str], dict[int, float]] = {}
    for row in data["rows"]:
        if row["workload"] != "growth" or row["value"] is None:
            continue
        size, op = row["phase"].split(" ", 1)
        per.setdefault((row["impl"], op), {})[int(size.replace(",", ""))] = row["value"]
    sizes = sorted({z for v in per.values() for z in v})
    if len(sizes) < 2:
        return []
    base = data["n"] // 10 if data["n"] // 10 in sizes else sizes[0]
    top = sizes[-1]
    parts = [
        f"{impl} {op} {v[top] / v[base]:.2f}×"
        for (impl, op), v in per.items()
        if base in v and top in v and v[base] > 0
    ]
    return [f"Growth, µs per row at {top:,} rows ÷ at {base:,}: " + ", ".join(parts) + "."]


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r >= 100:
        return f"{r:.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def fmt_value(row: dict[str, Any], width: int | None = None) -> str:
    if row["status"] != "ok":
        text = f"{row['status']}: {row['message']}"
        if width and len(text) > width:
            text = text[: width - 1] + "…"
        return text
    value = row["value"]
    if row["unit"] == "MB":
        return f"{value:.1f} MB"
    if row["unit"] == "µs/row":
        return f"{value:.2f} µs/row"
    for bound, decimals in ((100, 1), (1, 3), (0.001, 4)):
        if value >= bound:
            return f"{value:.{decimals}f}"
    return f"{value:.6f}"


def table_rows(data: dict[str, Any], width: int | None) -> list[tuple[list[str], bool]]:
    """(cells, measured) per row; unmeasured rows carry a status message."""
    out = []
    for row in data["rows"]:
        impl = row["impl"] + (" (dict)" if row["dict_lookup"] else "")
        ok = row["status"] == "ok"
        cells = [row["label"], impl, fmt_value(row, width)]
        if ok:
            cells += [fmt_ratio(row[k]) for k in ("x_sa_orm", "vs_core", "vs_raw")]
        else:
            cells += ["", "", ""]
        out.append((cells, ok))
    return out


HEADERS = ["workload", "impl", "seconds", "×SA-ORM", "vs Core", "vs raw"]
# --clock: what a phase's seconds are.  CPU time of the bench process leaves out
# what other processes on the machine take from it (and, for a server backend,
# the server's own work): steadier ratios on a shared machine.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
LEGEND = (
    "×SA-ORM = SQLAlchemy ORM time / impl time (above 1: faster than SQLAlchemy's ORM);"
    " vs Core = impl / Core, vs raw = impl / raw driver (how many times slower)."
    " Memory rows (MB = 10^6 bytes): the same ratios on memory."
    " get (hit) for core/raw is a dict lookup of the rows fetched by the misses."
)


def header_lines(data: dict[str, Any]) -> list[str]:
    v = data["versions"]
    return [
        f"backend: {data['database']}",
        f"n={data['n']:,}, median of {data['repeat']} (memory: 1 run), "
        + ("CPU seconds of the bench process (--clock cpu), "
           if data.get("clock") == "cpu" else "")
        + f"Python {v['python']}, SQLAlchemy {v['sqlalchemy']}, "
        f"datamapper {v.get('datamapper')}, "
        f"{data['machine']['cpus']} CPUs" + (f", git {data['git']}" if data["git"] else ""),
    ]


def render_text(data: dict[str, Any]) -> str:
    body = table_rows(data, width=100)
    widths = [len(h) for h in HEADERS]
    for cells, measured in body:
        for i, cell in enumerate(cells if measured else cells[:2]):
            widths[i] = max(widths[i], len(cell))

    def line(cells: list[str], measured: bool = True) -> str:
        if not measured:
            return f"{cells[0].ljust(widths[0])}  {cells[1].ljust(widths[1])}  {cells[2]}"
        parts = [
            c.rjust(w) if i >= 2 else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    out = header_lines(data) + ["", line(HEADERS), line(["-" * w for w in widths])]
    previous = None
    for cells, measured in body:
        if previous is not None and cells[0] != previous:
            out.append("")
        out.append(line(cells, measured))
        previous = cells[0]
    out += ["", LEGEND, *growth_lines(data), "Timed regions:"]
    out += [f"  {name}: {what}" for name, what in data["timed_regions"].items()]
    return "\n".join(out)


def render_markdown(data: dict[str, Any]) -> str:
    out = [f"**{line}**  " if i == 0 else line for i, line in enumerate(header_lines(data))]
    out += ["", "| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---"] * 2 + ["--:"] * 4) + "|"]
    for cells, _ in table_rows(data, width=None):
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out += ["", LEGEND, "", *[line + "\n" for line in growth_lines(data)], "Timed regions:", ""]
    out += [f"- **{name}**: {what}" for name, what in data["timed_regions"].items()]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def parse_list(value: str, allowed: list[str] | tuple[str, ...], what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(bad) or '(none)'}; choose from {', '.join(allowed)}"
        )
    return items


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="datamapper vs SQLAlchemy ORM vs Core vs raw driver, verified, side by side.",
    )
    p.add_argument(
        "--backend",
        default="sqlite",
        help="sqlite, postgresql, mysql (alias mariadb), a comma list of them, or 'all'"
        " (all three, one after the other in this process; default sqlite)",
    )
    p.add_argument(
        "--url",
        default=None,
        help="server URL (postgresql/mysql: the bench uses database dm_bench on it; "
        "sqlite: sqlite:///path of the file to use)",
    )
    p.add_argument(
        "--database",
        default=BENCH_DATABASE,
        help=f"PostgreSQL/MySQL: the database the bench creates and works in (default"
        f" {BENCH_DATABASE}); give each bench run on one server its own, since every"
        " repetition empties the tables",
    )
    p.add_argument(
        "--sqlite-synchronous",
        default=None,
        type=str.upper,
        choices=["OFF", "NORMAL", "FULL", "EXTRA"],
        help="SQLite only: PRAGMA synchronous on every connection of every implementation"
        " (default: the driver's own, FULL, so each commit waits for the disk; OFF takes"
        " the disk waits out of commit-heavy workloads such as web)",
    )
    p.add_argument("--n", type=int, default=None, help="rows per workload (default 100000)")
    p.add_argument("--repeat", type=int, default=None, help="runs per measurement (default 3)")
    p.add_argument(
        "--only",
        default=None,
        help="comma list of workloads: " + ", ".join(WORKLOADS) + ", or 'all' "
        f"(default: {','.join(DEFAULT_WORKLOADS)})",
    )
    p.add_argument(
        "--impl",
        default=",".join(IMPL_NAMES),
        help=f"comma list of implementations (default {','.join(IMPL_NAMES)})",
    )
    p.add_argument(
        "--growth-sizes",
        default=None,
        help="comma list of table sizes for the growth workload"
        " (default n/100, n/10, n, 10n: 1k to 1M at the default n)",
    )
    p.add_argument(
        "--clock",
        default="wall",
        choices=list(CLOCKS),
        help="wall: elapsed time (default); cpu: CPU time of the bench process"
        " (time.process_time), steadier when other processes share the machine;"
        " a server backend's own work is then not counted",
    )
    p.add_argument("--quick", action="store_true", help="n=10000, repeat=1")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    p.add_argument(
        "--json",
        default=None,
        help="results file (default bench/results-<backend>.json; 'none' to skip)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="a datamapper exception aborts the run instead of becoming an error row",
    )
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="a wrong datamapper result becomes a 'wrong' row instead of aborting",
    )
    p.add_argument(
        "--traceback",
        action="store_true",
        help="print the traceback of datamapper errors to stderr",
    )
    args = p.parse_args(argv)
    try:
        backends = "sqlite,postgresql,mysql" if args.backend == "all" else args.backend
        backends = ",".join(BACKEND_ALIASES.get(b.strip(), b.strip()) for b in backends.split(","))
        args.backends = list(dict.fromkeys(parse_list(backends, BACKEND_NAMES, "backend")))
        args.impl = parse_list(args.impl, IMPL_NAMES, "implementation")
        if args.only in (None, ""):
            args.workloads = list(DEFAULT_WORKLOADS)
        elif args.only == "all":
            args.workloads = list(WORKLOADS)
        else:
            args.workloads = parse_list(args.only, list(WORKLOADS), "workload")
    except argparse.ArgumentTypeError as exc:
        p.error(str(exc))
    if args.n is None:
        args.n = 10_000 if args.quick else 100_000
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.growth_sizes:
        try:
            args.growth = tuple(int(z.replace("_", "")) for z in args.growth_sizes.split(","))
        except ValueError:
            p.error(f"--growth-sizes: not a comma list of integers: {args.growth_sizes!r}")
        if min(args.growth) < 1:
            p.error("--growth-sizes must be positive")
    else:
        args.growth = None
    if args.n < 20 or args.repeat < 1:
        p.error("--n must be >= 20 and --repeat >= 1")
    if args.url and len(args.backends) > 1:
        p.error("--url needs a single --backend")
    # keep the canonical implementation order whatever order was given
    args.impl = [name for name in IMPL_NAMES if name in args.impl]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = Spec(args.n, growth=args.growth)
    workloads = [WORKLOADS[name] for name in args.workloads]
    for backend_name in args.backends:
        try:
            data = run_backend(backend_name, args, spec, workloads)
        except VerificationError as exc:
            print(f"\nVERIFICATION FAILED, results discarded: {exc}", file=sys.stderr)
            return 2
        print(render_markdown(data) if args.markdown else render_text(data))
        print()
        if (args.json or "").lower() != "none":
            path = Path(args.json) if args.json else BENCH_DIR / f"results-{backend_name}.json"
            if args.json and len(args.backends) > 1:
                path = path.with_name(f"{path.stem}-{backend_name}{path.suffix}")
            path.write_text(json.dumps(data, indent=2) + "\n")
            log(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
