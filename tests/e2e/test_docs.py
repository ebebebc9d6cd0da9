"""The captured sessions in README.md and docs/*.md are what drlab prints today (docs/capture.py)."""

from __future__ import annotations

import subprocess
import sys

from lab.harness import ROOT

CAPTURE = ROOT / "docs" / "capture.py"


def test_the_readme_and_replication_sessions_match_a_fresh_capture() -> None:
    """Fails when drlab's output changed and `make docs` was not run (or when the docs were edited
    by hand inside a captured block); timings, pids and timestamps are ignored."""
    r = subprocess.run([sys.executable, str(CAPTURE), "--check", "readme-node", "readme-replication", "readme-tls",
                        "replication-setup"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-6000:]
