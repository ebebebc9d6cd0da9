"""The node is wired in one composition root: importing any of our modules changes nothing, and
features reach the node only through its typed registry."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import server
from server.features import Features

ROOT = Path(__file__).resolve().parents[2]


def test_importing_every_server_module_registers_no_sqlite_converters() -> None:
    code = (
        "import importlib, pkgutil, sqlite3, server\n"
        "before = dict(sqlite3.converters)\n"
        "for m in pkgutil.walk_packages(server.__path__, 'server.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sqlite3.converters == before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_the_composition_root_registers_the_typed_converters() -> None:
    from server.node import register_converters

    saved = dict(sqlite3.converters)
    try:
        register_converters()
        conn = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES)
        conn.execute("CREATE TABLE t(d DATE, x DECIMAL2)")
        conn.execute("INSERT INTO t VALUES ('2024-02-29', '1.5')")
        d, x = conn.execute("SELECT d, x FROM t").fetchone()
        assert (d.isoformat(), str(x)) == ("2024-02-29", "1.50")
    finally:
        sqlite3.converters.clear()
        sqlite3.converters.update(saved)


def test_a_registry_without_replication_reports_no_replicas() -> None:
    f = Features()
    assert (f.replication.replica_count("db"), f.replication.details("db"), list(f.replication.status())) \
        == (0, "", [])


def test_feature_parsers_are_tried_in_registration_order_and_none_means_not_mine() -> None:
    f = Features()
    f.add_parser(lambda text: None, first_words=("X", "Y"))
    f.add_parser(lambda text: ("second", text) if text.startswith("X") else None, first_words=("X", "Y"))
    f.add_parser(lambda text: ("third", text), first_words=("Y",))
    assert f.parse("X 1") == ("second", "X 1")
    assert f.parse("Y") == ("third", "Y")


def test_contributed_views_are_found_by_any_case() -> None:
    f = Features()
    f.add_view("Pipelines", ["A"], lambda node, session: [(1,)])
    view = f.view("pipelines")
    assert view is not None and view.columns == ["A"] and list(f.views()) == ["PIPELINES"]


def test_no_module_sets_attributes_onto_the_node_or_probes_it_with_hasattr() -> None:
    for path in Path(server.__path__[0]).glob("*.py"):
        text = path.read_text()
        assert "hasattr(node" not in text and "node.extra_" not in text, path.name
