"""Issue 16, dump tools end to end: the real mysqldump (MariaDB's) dumps a database of a real node and
the real mariadb CLI restores it into another database, checksums equal; plus the catalogue reads
and statements mysqldump and schema tools send (routines, triggers, events: drlab has none)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pymysql
import pytest

from lab.harness import NodeProcess

ROWS = [
    "(1, 'plain', X'0001FEFF', 1.50, '2024-02-29 23:59:59', NULL)",
    "(2, 'it''s \"quoted\" \\\\ back', NULL, -99999999.99, '1970-01-01 00:00:01', '{\"k\": [1, 2]}')",
    "(3, 'ünïcødé ✓', X'80', 0.00, NULL, '[]')",
]


def _source(node: NodeProcess, binary: bool) -> None:
    """Binary data goes through --hex-blob only: a dump's quoted BLOB text is the i16b part of the
    issue (statement text decoded by the connection's character set, bytes stored as bytes)."""
    node.sql("CREATE DATABASE app")
    node.sql("CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40) NOT NULL, "
             f"b {'BLOB' if binary else 'VARCHAR(10)'}, price DECIMAL(10,2), at DATETIME, j JSON, KEY k_name (name))")
    node.sql("CREATE TABLE app.empty (a INT)")
    rows = ROWS if binary else [r.replace("X'0001FEFF'", "'hi'").replace("X'80'", "''") for r in ROWS]
    node.sql("INSERT INTO app.t VALUES " + ", ".join(rows))
    node.sql("INSERT INTO app.t (name) SELECT CONCAT(name, id) FROM app.t")
    node.sql("CREATE DATABASE restored")


def _dump_and_restore(node: NodeProcess, tmp_path: Path, *options: str) -> None:
    dump = tmp_path / "dump.sql"
    base = ["-h", node.host, "-P", str(node.port), "-uroot"]
    with dump.open("wb") as out:
        done = subprocess.run(["mysqldump", *base, *options, "app"], stdout=out, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    with dump.open("rb") as inp:
        done = subprocess.run(["mariadb", *base, "restored"], stdin=inp, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


@pytest.mark.parametrize("options", [
    (),
    ("--single-transaction",),
    ("--lock-tables",),
    ("--single-transaction", "--routines", "--events", "--triggers"),
])
def test_mysqldump_round_trip(node: NodeProcess, tmp_path: Path, options: tuple[str, ...]) -> None:
    _source(node, binary=False)
    _dump_and_restore(node, tmp_path, *options)
    sums = node.sql("CHECKSUM TABLE app.t, restored.t, app.empty, restored.empty")
    assert sums[0][1] == sums[1][1] and sums[0][1] is not None
    assert sums[2][1] == sums[3][1]
    assert node.sql("SELECT * FROM restored.t ORDER BY id") == node.sql("SELECT * FROM app.t ORDER BY id")
    assert node.sql("SHOW CREATE TABLE restored.t")[0][1] == node.sql("SHOW CREATE TABLE app.t")[0][1]


@pytest.mark.parametrize("options", [("--hex-blob",), ("--hex-blob", "--single-transaction")])
def test_mysqldump_round_trip_binary(node: NodeProcess, tmp_path: Path, options: tuple[str, ...]) -> None:
    _source(node, binary=True)
    _dump_and_restore(node, tmp_path, *options)
    assert node.sql("SELECT b FROM restored.t WHERE id = 1") == [(b"\x00\x01\xfe\xff",)]
    sums = node.sql("CHECKSUM TABLE app.t, restored.t")
    assert sums[0][1] == sums[1][1]


def test_routines_triggers_events_are_empty_not_errors(node: NodeProcess) -> None:
    node.sql("CREATE DATABASE app")
    node.sql("CREATE TABLE app.t (a INT)")
    with node.connect(database="app") as c, c.cursor() as cur:
        for table in ("TRIGGERS", "ROUTINES", "EVENTS", "PARAMETERS"):
            cur.execute(f"SELECT * FROM information_schema.{table}")
            assert cur.fetchall() == ()
        cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() "
                    "AND EVENT_OBJECT_TABLE = 't'")
        assert cur.fetchall() == ()
        cur.execute("SHOW EVENTS")
        assert cur.fetchall() == () and cur.description[1][0] == "Name"
        cur.execute("SHOW TRIGGERS LIKE 't'")
        assert cur.fetchall() == ()
        cur.execute("SHOW PROCEDURE STATUS WHERE Db = 'app'")
        assert cur.fetchall() == ()
        cur.execute("DROP PROCEDURE IF EXISTS p1")
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == (("Note", 1305, "PROCEDURE app.p1 does not exist"),)
        cur.execute("DROP FUNCTION IF EXISTS other.f")
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == (("Note", 1305, "FUNCTION other.f does not exist"),)
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("DROP PROCEDURE p1")
        assert e.value.args == (1305, "PROCEDURE app.p1 does not exist")
        cur.execute("ALTER TABLE t DISABLE KEYS")
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == (("Note", 1031, "Table storage engine for 't' doesn't have this option"),)
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("ALTER TABLE nosuch ENABLE KEYS")
        assert e.value.args[0] == 1146


def test_unlock_tables_commits_only_after_lock_tables(node: NodeProcess) -> None:
    """MySQL: UNLOCK TABLES commits the open transaction only when it releases table locks."""
    node.sql("CREATE DATABASE app")
    node.sql("CREATE TABLE app.t (a INT)")
    c = node.connect(database="app")
    c.autocommit(False)
    with c, c.cursor() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
        cur.execute("UNLOCK TABLES")
        c.rollback()
        assert node.sql("SELECT COUNT(*) FROM app.t") == [(0,)]
        cur.execute("LOCK TABLES t WRITE")
        cur.execute("INSERT INTO t VALUES (2)")
        cur.execute("UNLOCK TABLES")
        c.rollback()
    assert node.sql("SELECT a FROM app.t") == [(2,)]
