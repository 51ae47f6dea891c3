"""pytest plugin (both runs): one JSON line per test phase into $COMPAT_RESULTS."""

from __future__ import annotations

import hashlib
import json
import os
import sys

import pytest

_out = None


def _write(rec: dict) -> None:
    global _out
    if _out is None:
        _out = open(os.environ["COMPAT_RESULTS"], "a", encoding="utf-8")  # noqa: SIM115
    _out.write(json.dumps(rec) + "\n")
    _out.flush()


def _missing_log() -> list:
    shim = sys.modules.get("dmshim")
    return shim.MISSING_LOG if shim is not None else []


def pytest_runtest_setup(item):
    del _missing_log()[:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    shim = sys.modules.get("dmshim")
    if shim is not None:
        shim.IN_TEST[0] = True
    try:
        yield
    finally:
        if shim is not None:
            shim.IN_TEST[0] = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if call.excinfo is not None:
        rep.compat_exc_type = call.excinfo.type.__name__
        rep.compat_exc_module = call.excinfo.type.__module__
        rep.compat_message = str(call.excinfo.value)[:1500]
    rep.compat_missing = sorted(set(_missing_log()))
    if call.when == "call":
        rep.compat_rows = getattr(item, "compat_rows", None)


def _rows_digest(item) -> str | None:
    """A digest of every row of the test's tables on the testing engine, read
    right after the test body; the report compares it between the two runs."""
    try:
        import sqlalchemy as sa
        from sqlalchemy.testing import config

        mds = []
        md = getattr(getattr(item, "cls", None), "_tables_metadata", None)
        if md is not None:
            mds.append(md)
        fmd = getattr(item, "funcargs", {}).get("metadata")
        if fmd is not None and fmd is not md:
            mds.append(fmd)
        snap = {}
        with config.db.connect() as conn:
            for md in mds:
                for t in md.sorted_tables:
                    try:
                        rows = conn.execute(sa.select(t)).fetchall()
                    except Exception:
                        continue
                    snap[t.name] = sorted(repr(tuple(r)) for r in rows)
        if not any(snap.values()):
            return None
        return hashlib.sha1(json.dumps(snap, sort_keys=True).encode()).hexdigest()[:16]
    except Exception:
        return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    item.compat_rows = _rows_digest(item)


def pytest_runtest_logreport(report):
    if report.when != "call" and report.outcome == "passed":
        return
    rec = {
        "id": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
        "duration": round(report.duration, 3),
    }
    if report.when == "call":
        rec["rows"] = getattr(report, "compat_rows", None)
    if report.outcome != "passed":
        rec["exc_type"] = getattr(report, "compat_exc_type", None)
        rec["exc_module"] = getattr(report, "compat_exc_module", None)
        rec["message"] = getattr(report, "compat_message", None)
        rec["missing"] = getattr(report, "compat_missing", [])
        text = report.longreprtext or ""
        rec["longrepr"] = text[-6000:]
    _write(rec)


def pytest_collectreport(report):
    if report.failed:
        _write(
            {
                "id": report.nodeid,
                "when": "collect",
                "outcome": "failed",
                "message": (report.longreprtext or "")[-3000:],
                "missing": sorted(set(_missing_log())),
            }
        )
