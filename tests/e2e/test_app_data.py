"""Issue 16 (part B): what test applications store comes back as stored, through real drivers
against a real node: wide tables, bytes that are not UTF-8, connection character sets."""

from __future__ import annotations

import pytest

# -- wide tables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ncols", [63, 130, 1000])
def test_wide_table_insert_update_delete_and_replay(node_factory, ncols: int) -> None:  # type: ignore[no-untyped-def]
    """Capture does not depend on the column count (SQLite caps a function at 127 arguments):
    every write to a wide table is acknowledged, logged, and survives a restart (replayed)."""
    srv = node_factory("a").start()
    cols = ", ".join(f"c{i} INT" for i in range(ncols))
    srv.sql("CREATE DATABASE w")
    srv.sql(f"CREATE TABLE w.t (id INT PRIMARY KEY, {cols})")
    srv.sql("INSERT INTO w.t VALUES " + ", ".join(
        "(" + ", ".join(str(r * 10_000 + i) for i in range(ncols + 1)) + ")" for r in range(3)))
    srv.sql(f"UPDATE w.t SET c{ncols - 1} = -1, c0 = -2 WHERE id = 10000")
    srv.sql("DELETE FROM w.t WHERE id = 20000")
    rows = srv.sql(f"SELECT id, c0, c{ncols - 1} FROM w.t ORDER BY id")
    assert rows == [(0, 1, ncols), (10000, -2, -1)]
    srv.sql("DROP TABLE IF EXISTS w.other")
    srv.sql("CREATE TABLE w.other (a INT, b INT)")
    srv.sql("DROP TABLE IF EXISTS w.other")
    srv.stop()
    srv.start()
    assert srv.sql(f"SELECT id, c0, c{ncols - 1} FROM w.t ORDER BY id") == rows
