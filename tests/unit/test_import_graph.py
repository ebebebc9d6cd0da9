"""The packages' arrows (ARCHITECTURE.md) hold for every import in every module, lazy ones included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("server", "sqlfront", "storage", "replication", "lab", "tests", "bench")
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "sqlfront": {"storage.catalog"},  # only its pure value types (SourceRef): one home for a source
    "replication": {"storage"},
    "server": {"sqlfront", "storage", "replication"},
    "lab": {"server.cli"},  # `drlab node` only; everything else over the wire
    "bench": {"lab.harness"},
}
# Arrows still being straightened: (file, module) pairs allowed for now.
PENDING: set[tuple[str, str]] = set()


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, at any depth (lazy imports count)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def violations(pkg: str, files: list[Path], root: Path = ROOT) -> list[str]:
    bad = []
    for path in files:
        rel = str(path.relative_to(root))
        for line, module in imports(path):
            top = module.split(".")[0]
            if top not in OURS or top == pkg:
                continue
            if any(rel == f and (module == m or module.startswith(m + ".")) for f, m in PENDING):
                continue
            allowed = ALLOWED[pkg]
            if module in allowed or top in allowed or any(module.startswith(a + ".") for a in allowed):
                continue
            if any(a.startswith(module + ".") for a in allowed):  # `from server import cli`
                continue
            bad.append(f"{rel}:{line} imports {module}")
    return bad


def test_every_package_imports_only_along_its_arrows() -> None:
    bad = []
    for pkg in ALLOWED:
        bad += violations(pkg, sorted((ROOT / pkg).rglob("*.py")))
    assert bad == []


def test_lab_reaches_the_node_only_through_server_cli() -> None:
    assert violations("lab", [ROOT / "lab" / "cli.py"]) == []
    assert [m for _, m in imports(ROOT / "lab" / "cli.py") if m.startswith("server")] == ["server", "server.cli"]


def test_a_wrong_import_is_caught_even_when_lazy(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir()
    probe = tmp_path / "storage" / "probe.py"
    probe.write_text("import lab.harness\n\n\ndef f() -> None:\n    from server.node import Node\n")
    assert violations("storage", [probe], tmp_path) == [
        "storage/probe.py:1 imports lab.harness",
        "storage/probe.py:5 imports server.node",
        "storage/probe.py:5 imports server.node.Node",
    ]
