"""User programs type-checked with ``mypy --strict`` against the installed package.

``*_ok.py`` files must pass, and every ``reveal_type(...)  # E: <type>`` line must
reveal that type; ``*_bad.py`` files must fail exactly on the lines marked
``# error: <code>``.  This is how a user's type checker sees datamapper models
(no plugin), so a change that turns a public signature into ``Any`` fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REVEAL = re.compile(r"reveal_type\(.*\)\s+# E: (.+)$")
ERROR = re.compile(r"# error: ([a-z-]+)")


def _mypy(path: Path) -> list[str]:
    # one cache per pytest-xdist worker: two mypy processes writing one cache race
    cache = HERE.parent.parent / ".mypy_cache" / f"typing-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(cache), path.name],
        cwd=HERE, capture_output=True, text=True, timeout=300,
    )
    return proc.stdout.splitlines()


def _normalise(t: str) -> str:
    return t.replace("builtins.", "").strip()


@pytest.mark.parametrize("name", sorted(p.name for p in HERE.glob("*_ok.py")))
def test_user_program_type_checks_with_the_expected_types(name):
    path = HERE / name
    lines = path.read_text().splitlines()
    expected = {i + 1: _normalise(m.group(1)) for i, line in enumerate(lines)
                if (m := REVEAL.search(line))}
    assert expected, "no reveal_type expectations found"
    out = _mypy(path)
    errors = [line for line in out if ": error:" in line]
    assert errors == [], "\n".join(errors)
    revealed = {}
    for line in out:
        m = re.match(rf"{re.escape(name)}:(\d+): note: Revealed type is \"(.+)\"", line)
        if m:
            revealed[int(m.group(1))] = _normalise(m.group(2))
    assert revealed == expected


@pytest.mark.parametrize("name", sorted(p.name for p in HERE.glob("*_bad.py")))
def test_type_errors_in_user_programs_are_reported(name):
    path = HERE / name
    lines = path.read_text().splitlines()
    expected = {(i + 1, m.group(1)) for i, line in enumerate(lines) if (m := ERROR.search(line))}
    assert expected
    found = set()
    for line in _mypy(path):
        m = re.match(rf"{re.escape(name)}:(\d+): error: .*\[([a-z-]+)\]$", line)
        if m:
            found.add((int(m.group(1)), m.group(2)))
    assert found == expected
