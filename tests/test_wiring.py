"""The run-time wiring: installed by ``datamapper.wiring.wire()`` and nowhere else,
exactly once per process."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import datamapper

PACKAGE = Path(datamapper.__file__).parent

_PROBE = r"""
import json
import sys
import datamapper
from datamapper import event, wiring
from datamapper.instance import attributes, relationships
from datamapper.instance import dynamic
from datamapper.mapping import coercion, relationships as mrel
mapper = sys.modules["datamapper.mapping.mapper"]  # (datamapper.mapping.mapper is also a function)
from datamapper.mapping import mapper_events
from datamapper.query.dynamic import appender_query
from datamapper.session.session import session_event_resolver

def counts():
    return {
        "instrument": mapper.instrumentation_hooks.count(attributes.instrument),
        "adopt_association_proxies": mapper.instrumentation_hooks.count(
            sys.modules["datamapper.associationproxy"].adopt_sqlalchemy_association_proxies),
        "uninstrument": mapper.uninstrumentation_hooks.count(attributes.uninstrument),
        "hooks_total": len(mapper.instrumentation_hooks) + len(mapper.uninstrumentation_hooks)
        + len(mrel.relationship_configured_hooks),
        "relationship_configured": mrel.relationship_configured_hooks.count(
            relationships.relationship_configured),
        "state_of": coercion.state_of is datamapper.instance.state.instance_state,
        "query_factory": dynamic._query_factory == [appender_query],
        "attr_resolver": event._resolvers.count(mapper_events.attribute_event_resolver),
        "session_resolver": event._resolvers.count(session_event_resolver),
        "resolvers_total": len(event._resolvers),
        "session_resolver_last": event._resolvers[-1] is session_event_resolver,
        "configure_hooks": mapper.configure_hooks == [
            sys.modules["datamapper.mutable_bridge"].adopt_sqlalchemy_mutable],
        "cascade_walks": mapper.cascade_walks == [
            sys.modules["datamapper.cascade"].cascade_records],
    }

first = counts()
wiring.wire()
wiring.wire()
print(json.dumps({"first": first, "again": counts(), "wired": wiring.is_wired()}))
"""


def test_a_fresh_import_wires_every_hook_exactly_once() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    expected = {
        "instrument": 1, "adopt_association_proxies": 1, "uninstrument": 1, "hooks_total": 4,
        "relationship_configured": 1,
        "state_of": True, "query_factory": True, "attr_resolver": 1, "session_resolver": 1,
        "resolvers_total": 2, "session_resolver_last": True, "configure_hooks": True,
        "cascade_walks": True,
    }
    assert got["first"] == expected
    assert got["again"] == expected  # wire() again installs nothing twice
    assert got["wired"] is True


_HOOK_SETTERS = {"register_resolver", "register_query_factory"}
_HOOK_LISTS = {"instrumentation_hooks", "uninstrumentation_hooks",
               "relationship_configured_hooks", "cascade_walks"}


def _installs_hook(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
        if name in _HOOK_SETTERS:
            return True
        if isinstance(f, ast.Attribute) and f.attr in ("append", "extend", "insert"):
            target = f.value
            tname = target.attr if isinstance(target, ast.Attribute) else \
                getattr(target, "id", None)
            return tname in _HOOK_LISTS
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Attribute) and t.attr == "state_of" for t in node.targets)
    return False


def test_no_module_but_wiring_installs_a_hook() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "wiring.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in _HOOK_SETTERS:
                continue
            if _installs_hook(node):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
