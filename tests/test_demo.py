"""The README's first command runs the demo: it must run to the end on SQLite."""

import subprocess
import sys


def test_demo_runs_to_the_end_on_embedded_sqlite():
    proc = subprocess.run([sys.executable, "-m", "datamapper.demo"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "addr.user is jack -> True" in proc.stdout
