"""Yellowbrick's database modes end to end with pymysql against a real node (docs/yellowbrick.md):
HOT_STANDBY and READONLY refusals, their survival across a restart, sys.database, and the
CREATE / ALTER DATABASE options drlab refuses by name."""

from __future__ import annotations

import pymysql
import pytest

from lab.harness import NodeProcess


def _err(n: NodeProcess, stmt: str, database: str | None = None) -> tuple[int, str]:
    with n.connect(database=database) as c, c.cursor() as cur:
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute(stmt)
        return e.value.args[0], e.value.args[1]


def _sys_database(n: NodeProcess) -> dict[str, dict]:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT * FROM sys.database ORDER BY name")
        return {r["name"]: r for r in cur.fetchall()}


def test_a_hot_standby_database_is_readable_and_refuses_client_writes(node_factory) -> None:  # type: ignore[no-untyped-def]
    n = node_factory("ybeast").start()
    n.sql("CREATE DATABASE premdb_replicated HOT_STANDBY ON")
    n.sql("CREATE DATABASE plain")
    code, msg = _err(n, "CREATE TABLE t (id INT PRIMARY KEY)", "premdb_replicated")
    assert code == 1290 and msg.startswith("cannot execute CREATE TABLE on a hot standby database")
    assert _err(n, "DROP DATABASE premdb_replicated") == (
        1290, "Database 'premdb_replicated' is a hot standby; to drop it, first run "
              "ALTER DATABASE premdb_replicated SET HOT_STANDBY OFF")
    rows = _sys_database(n)
    assert (rows["premdb_replicated"]["hot_standby"], rows["premdb_replicated"]["readonly"]) == (1, 0)
    assert rows["plain"]["hot_standby"] == 0 and rows["plain"]["state"] == "online"
    n.kill()
    n.start()
    assert _sys_database(n)["premdb_replicated"]["hot_standby"] == 1
    assert _err(n, "CREATE TABLE t (id INT PRIMARY KEY)", "premdb_replicated")[0] == 1290
    n.sql("ALTER DATABASE premdb_replicated SET HOT_STANDBY OFF")
    n.sql("CREATE TABLE premdb_replicated.t (id INT PRIMARY KEY)")
    n.sql("INSERT INTO premdb_replicated.t VALUES (1)")
    code, msg = _err(n, "ALTER DATABASE premdb_replicated SET HOT_STANDBY ON")
    assert code == 1290 and "is not empty (1 tables)" in msg
    n.sql("ALTER DATABASE plain SET HOT_STANDBY ON")
    assert _err(n, "DROP DATABASE plain")[0] == 1290
    n.sql("ALTER DATABASE plain SET HOT_STANDBY OFF")
    n.sql("DROP DATABASE plain")
    assert n.sql("SELECT COUNT(*) FROM t", "premdb_replicated") == [(1,)]


def test_a_readonly_database_refuses_every_write_until_set_off(node_factory) -> None:  # type: ignore[no-untyped-def]
    n = node_factory("ybwest").start()
    n.sql("CREATE DATABASE premdb")
    n.sql("CREATE TABLE premdb.t (id INT PRIMARY KEY, v VARCHAR(10))")
    n.sql("INSERT INTO premdb.t VALUES (1, 'a')")
    n.sql("ALTER DATABASE premdb SET READONLY ON")
    for stmt, verb in [("INSERT INTO t VALUES (2, 'b')", "INSERT"), ("UPDATE t SET v = 'x'", "UPDATE"),
                       ("DELETE FROM t", "DELETE"), ("CREATE TABLE u (id INT)", "CREATE TABLE"),
                       ("DROP TABLE t", "DROP TABLE")]:
        code, msg = _err(n, stmt, "premdb")
        assert code == 3989 and msg == (f"Schema 'premdb' is in read only mode (ALTER DATABASE ... SET READONLY ON): "
                                        f"cannot execute {verb}; ALTER DATABASE premdb SET READONLY OFF to write again")
    assert _err(n, "DROP DATABASE premdb")[0] == 3989
    row = _sys_database(n)["premdb"]
    assert (row["readonly"], row["readonly_reason"]) == (1, "ALTER DATABASE ... SET READONLY ON")
    assert n.sql("SELECT v FROM t", "premdb") == [("a",)]
    n.stop()
    n.start()
    assert _err(n, "INSERT INTO t VALUES (2, 'b')", "premdb")[0] == 3989
    n.sql("ALTER DATABASE premdb SET READONLY OFF")
    n.sql("INSERT INTO premdb.t VALUES (2, 'b')")
    assert _sys_database(n)["premdb"]["readonly_reason"] is None
    assert n.sql("SELECT COUNT(*) FROM t", "premdb") == [(2,)]


def test_unknown_database_options_are_refused_by_name(node) -> None:  # type: ignore[no-untyped-def]
    code, msg = _err(node, "CREATE DATABASE x foo bar baz")
    assert code == 1064 and msg.startswith("Unknown CREATE DATABASE option 'foo' near 'foo bar baz'")
    assert _err(node, "CREATE DATABASE x HOT_STANDBY MAYBE")[0] == 1064
    assert _err(node, "CREATE DATABASE x READONLY ON")[0] == 1221
    assert _err(node, "SELECT * FROM sys.nosuch")[0] == 1109
    node.sql("CREATE DATABASE x DEFAULT CHARACTER SET = utf8mb4 COLLATE utf8mb4_bin")
    code, msg = _err(node, "ALTER DATABASE x SET FROZEN ON")
    assert code == 1064 and "'FROZEN'" in msg
    assert _err(node, "ALTER DATABASE x SET READONLY MAYBE")[0] == 1064
    assert _err(node, "ALTER DATABASE nosuch SET READONLY ON")[0] == 1049
    assert _err(node, "CREATE DATABASE sys")[0] == 1007
    code, msg = _err(node, "ALTER DATABASE x ADD REPLICA r TO ybwest WITH (FREQUENCY 60)")
    assert code == 1235 and "ADD REPLICA" in msg
    code, msg = _err(node, "ALTER DATABASE x ADD REPLICA r TO ybwest WITH (FREQUENCY 60, COLOUR 'red')")
    assert code == 1064 and "'COLOUR 'red''" in msg
    assert list(_sys_database(node)) == ["x"]


def test_remote_servers_are_kept_listed_and_dropped(node_factory) -> None:  # type: ignore[no-untyped-def]
    n = node_factory("ybwest").start()
    n.sql("create remote server ybwest with (host 'ybeast')")
    n.sql("CREATE REMOTE SERVER other WITH (HOST '127.0.0.1', PORT 3307, USER 'repl', PASSWORD 's3cret')")
    with n.connect() as c, c.cursor() as cur:
        cur.execute("CREATE REMOTE SERVER third WITH (HOST 'h', PASSWORD 'hidden')")
        cur.execute("SHOW PROCESSLIST")
        assert all("hidden" not in str(r) for r in cur.fetchall())
    assert _err(n, "CREATE REMOTE SERVER YBWEST WITH (HOST 'x')")[0] == 1476
    code, msg = _err(n, "CREATE REMOTE SERVER bad WITH (HOST 'x', SSL 'on')")
    assert code == 1064 and "'SSL'" in msg
    assert _err(n, "CREATE REMOTE SERVER bad WITH (PORT 3306)")[0] == 1064
    n.kill()
    n.start()
    listed = n.sql("SELECT * FROM sys.remote_server")
    assert listed[:2] == [("other", "127.0.0.1", 3307, "repl", listed[0][4]), ("third", "h", 3306, "root", listed[1][4])]
    assert listed[2][:4] == ("ybwest", "ybeast", 3306, "root") and "s3cret" not in str(listed)
    n.sql("DROP REMOTE SERVER other")
    n.sql("DROP REMOTE SERVER IF EXISTS other")
    assert _err(n, "DROP REMOTE SERVER other")[0] == 1477
    n.sql("CREATE USER app IDENTIFIED BY 'pw'")
    with n.connect(user="app", password="pw") as c, c.cursor() as cur:
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute("DROP REMOTE SERVER third")
        assert e.value.args[0] == 1227
    assert [r[0] for r in n.sql("SELECT name FROM sys.remote_server")] == ["third", "ybwest"]
