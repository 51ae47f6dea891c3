"""Propose a category and a one-line reason for a failure, from its signature.

Used by ``compat.py classify`` to fill expectations.csv for failures that have
no entry yet.  The rules only recognise signatures whose cause is certain
from the record (a name the shim lacks, an unexpected keyword argument, an
attribute missing on a datamapper class, an exception of the right class with
other wording, a private SQLAlchemy name); everything else is ``bug`` with
the symptom, to be looked at.  Entries can be edited by hand afterwards; the
classifier never overwrites an existing entry.
"""

from __future__ import annotations

import re

# sqlalchemy.orm submodules whose public names are documented API.
PUBLIC_SUBMODULES = {"attributes", "collections", "exc", "session", "scoping", "query", "util",
                     "events", "interfaces", "base", "strategy_options", "decl_api"}

# Classes of datamapper's public API (and SQLAlchemy's ORM names they stand for):
# an attribute missing on one of these is a missing public name.
API_CLASSES = {"Session", "scoped_session", "sessionmaker", "Query", "SessionTransaction",
               "InstanceState", "Mapper", "registry", "AppenderQuery", "History",
               "RelationshipProperty", "ColumnProperty", "Load", "AttributeState",
               "IdentityMap", "WeakInstanceDict", "_MappedAttribute", "MappedAttribute",
               "InstrumentedAttribute", "QueryableAttribute", "CascadeOptions",
               "ScopedRegistry", "ThreadLocalRegistry"}

INTERNAL_WHY = ("it checks how SQLAlchemy implements the behaviour, not what a user of "
                "the public API sees")


def _one_line(s: str | None, n: int = 110) -> str:
    s = (s or "").strip().splitlines()[0] if (s or "").strip() else ""
    s = re.sub(r"0x[0-9a-f]+", "0x..", s)
    s = re.sub(r"<locals>\.", "", s)
    s = re.sub(r"test\.orm\.[\w.]+\.(\w+)'", r"\1'", s)
    return s[:n] + ("..." if len(s) > n else "")


def _missing_name(name: str) -> tuple[str, str]:
    parts = name.split(".")  # sqlalchemy.orm[.sub].Name
    leaf = parts[-1]
    sub = parts[2] if len(parts) == 4 else None
    if leaf.startswith("_") or (sub is not None and sub not in PUBLIC_SUBMODULES):
        return "internal", f"{name}: a private part of SQLAlchemy's ORM; {INTERNAL_WHY}"
    return "missing-api", f"{name} (no datamapper equivalent)"


def _sql_assertion_failure(msg: str, longrepr: str) -> bool:
    return ("assertsql" in longrepr or "desired statement count" in msg
            or "Testing for compiled statement" in msg
            or "Additional SQL statements remain" in msg)


def classify(rec: dict, ctx: dict | None = None) -> tuple[str, str]:
    """``ctx``: ``relaxed`` = the test's record in the run with SQL assertions
    switched off; ``rows_match`` = its tables held the same rows after the test
    body as on the real ORM."""
    ctx = ctx or {}
    exc = rec.get("exc_type") or ""
    msg = rec.get("message") or ""
    longrepr = rec.get("longrepr") or ""
    missing = rec.get("missing") or []

    m = re.search(r"no equivalent of (sqlalchemy\.orm[\w.]*)", msg)
    if m:
        return _missing_name(m.group(1))
    if missing:
        return _missing_name(missing[0])
    if rec.get("when") == "collect":
        m = re.search(r"no equivalent of (sqlalchemy\.orm[\w.]*)", msg)
        if m:
            return _missing_name(m.group(1))
        return "bug", f"file does not import: {_one_line(msg.splitlines()[-1] if msg else '')}"
    if rec.get("when") in ("file-timeout", "absent"):
        return "bug", f"not run: {_one_line(msg)}"
    if rec.get("when") == "skip":
        return "bug", "skipped on datamapper, runs on the real ORM"

    # unexpected keyword arguments: a public argument we lack
    m = re.search(r"(\w+(?:\.\w+)?)\(\) got unexpected keyword argument\(s\) ([\w, ]+)", msg)
    if m and exc == "TypeError":
        args = ", ".join(f"{a.strip()}=" for a in m.group(2).split(","))
        return "missing-api", f"{m.group(1)}({args}) argument"
    m = re.search(r"(\w+(?:\.\w+)?)\(\) got an unexpected keyword argument '(\w+)'", msg)
    if m and exc == "TypeError":
        if m.group(2).startswith("_"):
            return "internal", (f"{m.group(1)}({m.group(2)}=): SQLAlchemy-private argument; "
                                f"{INTERNAL_WHY}")
        return "missing-api", f"{m.group(1)}({m.group(2)}=) argument"

    # attribute missing on an object
    m = re.search(r"'(\w+)' object has no attribute '(\w+)'", msg) or re.search(
        r"type object '(\w+)' has no attribute '(\w+)'", msg)
    if exc == "AttributeError" and m:
        cls, attr = m.groups()
        if attr.startswith("_"):
            return "internal", (f"{cls}.{attr}: SQLAlchemy-private attribute the test reads; "
                                f"{INTERNAL_WHY}")
        if cls in API_CLASSES:
            return "missing-api", f"{cls}.{attr}"
    if exc == "AttributeError" and m and m.group(1) == "Dispatch":
        return "internal", (f"reads the event dispatch structure ({m.group(2)}) directly; "
                            f"{INTERNAL_WHY}")
    m = re.search(r"does not have the attribute '(_\w+)'", msg)
    if exc == "AttributeError" and m:
        return "internal", (f"mock of SQLAlchemy-private method {m.group(1)}; {INTERNAL_WHY}")

    if "Can't refresh only relationship attribute" in msg:
        return "seed", ('API.md: "refresh(obj, [\"addresses\"]) with only relationship names '
                        'raises InvalidRequestError"')
    m = re.search(r"Can't use lazy='(\w+)'", msg)
    if m and exc == "ArgumentError":
        return "missing-api", f"relationship(lazy='{m.group(1)}') (API.md lists it)"
    m = re.search(r"No such event '(\w+)'", msg) or re.search(
        r"Can't listen for '(\w+)' on <(?:class 'datamapper\.[\w.]+'|datamapper\.[\w.]+ object)",
        msg)
    if m and exc == "InvalidRequestError":
        return "missing-api", f"event '{m.group(1)}'"
    if exc == "NoInspectionAvailable":
        return "missing-api", ("sqlalchemy.inspect(mapped class or instance) "
                               "(API.md: Core interoperability)")
    if exc == "ArgumentError" and re.search(
        r"(FROM expression|Column expression|subject table for an INSERT|columns clause element)"
        r".*expected, got <class", msg):
        return "missing-api", ("sqlalchemy.select/insert/update/delete(mapped class) "
                               "(API.md: Core interoperability)")
    if "mapper inheritance" in msg and "not provided" in msg:
        return "missing-api", "mapper inheritance (inherits=, polymorphic_on=)"
    if re.search(r"Can't map \w+: it needs a Table", msg):
        return "missing-api", "mapping a class to a join or select (non-Table selectable)"

    # same exception class, other wording (assert_raises_message checks the class first)
    if exc == "AssertionError" and " !~ " in msg and "_expect_raises" in longrepr:
        pat = msg.split(" !~ ", 1)[0].strip("'\"")
        return "message", f"same exception class; SQLAlchemy's wording /{_one_line(pat, 70)}/"

    if exc == "AssertionError" and "Warnings were not seen" in msg:
        return "bug", f"expected warning not emitted: {_one_line(msg[len('Warnings were not seen: '):], 90)}"
    if _sql_assertion_failure(msg, longrepr):
        rel = ctx.get("relaxed")
        if rel is None:
            return "bug", f"emitted SQL differs (rows not verified): {_one_line(msg, 90)}"
        m = re.search(r"desired statement count (\d+) does not match (\d+)", msg)
        if m and int(m.group(2)) > int(m.group(1)) and rel.get("outcome") == "passed":
            return "bug", (f"more statements than the real ORM ({m.group(2)} emitted, "
                           f"{m.group(1)} expected; rows and other assertions agree)")
        if rel.get("outcome") == "passed" and ctx.get("rows_match"):
            return "sql-form", ("same rows in the test's tables after it ran as on the real ORM, "
                                "and its other assertions pass with SQL assertions off; "
                                f"only the statements differ: {_one_line(msg, 80)}")
        if rel.get("outcome") == "passed" and rel.get("rows"):
            return "bug", f"emitted SQL differs and the rows left differ from the real ORM's: {_one_line(msg, 70)}"
        if rel.get("outcome") == "passed":
            return "bug", f"emitted SQL differs (other assertions pass; no rows to compare): {_one_line(msg, 70)}"
        return "bug", (f"with SQL assertions off still fails: {rel.get('exc_type')}: "
                       f"{_one_line(rel.get('message'), 90)}")
    return "bug", f"{exc}: {_one_line(msg)}"
