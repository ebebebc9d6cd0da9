"""docs/capture.py: how a captured block is found, compared and rewritten."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lab.harness import ROOT


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("capture", ROOT / "docs" / "capture.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "capture", mod)  # dataclasses look their module up
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    return mod


DOC = """# t

<!-- capture: s -->
```console
$ drlab lab kill a
a: killed (SIGKILL, pid 123)
took 0.12s at 2026-11-28 21:40:00
```
<!-- /capture -->

after
"""


def test_check_ignores_timings_and_pids_but_not_behaviour(capture: ModuleType, tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(DOC)
    capture.DOCS = [doc]
    same = "```console\n$ drlab lab kill a\na: killed (SIGKILL, pid 98765)\ntook 3.40s at 2026-12-01 08:00:01\n```\n"
    assert capture.rewrite({"s": same}, check=True) == []
    changed = same.replace("killed", "stopped")
    [problem] = capture.rewrite({"s": changed}, check=True)
    assert "README.md: block s drifted" in problem and "+a: stopped" in problem
    assert doc.read_text() == DOC  # --check writes nothing
    assert capture.rewrite({"s": changed}, check=False) == []
    assert doc.read_text() == DOC.replace(DOC[DOC.index("```console"):DOC.index("<!-- /capture")], changed)
    assert capture.rewrite({"nowhere": same}, check=True) == [
        "no `<!-- capture: nowhere -->` block in README.md or docs/*.md"]


def test_tables_are_realigned_after_a_substitution(capture: ModuleType) -> None:
    table = "+------+\n| path |\n+------+\n| /tmp/x/long |\n+------+"
    assert capture.realign(table) == "+-------------+\n| path        |\n+-------------+\n| /tmp/x/long |\n+-------------+"
    aligned = "+------+\n| id   |\n+------+\n|    1 |\n+------+"
    assert capture.realign(aligned) == aligned  # as the client printed it
