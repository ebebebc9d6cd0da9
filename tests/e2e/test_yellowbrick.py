"""Yellowbrick's database modes end to end with pymysql against a real node (docs/yellowbrick.md):
HOT_STANDBY and READONLY refusals, their survival across a restart, sys.database, and the
CREATE / ALTER DATABASE options drlab refuses by name."""

from __future__ import annotations

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for


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
    assert n.sql("SELECT name FROM sys.database WHERE hot_standby = 1 AND database_id > 0") == [("premdb_replicated",)]
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
    assert code == 1477 and "CREATE REMOTE SERVER it first" in msg
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


def _pair(node_factory) -> tuple[NodeProcess, NodeProcess]:  # type: ignore[no-untyped-def]
    west = node_factory("ybwest", extra=["--yb-min-frequency", "1"]).start()
    east = node_factory("ybeast", extra=["--yb-min-frequency", "1"]).start()
    west.sql(f"CREATE REMOTE SERVER ybwest WITH (HOST '127.0.0.1', PORT {east.port})")
    return west, east


def _status(n: NodeProcess) -> list[dict]:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT * FROM sys.replica_status ORDER BY snapshot_id")
        return list(cur.fetchall())


def _count(n: NodeProcess, db: str = "premdb_replicated") -> int:
    return n.sql("SELECT COUNT(*) FROM t", db)[0][0]


def test_a_replica_pushes_cycles_to_a_hot_standby_target(node_factory) -> None:  # type: ignore[no-untyped-def]
    west, east = _pair(node_factory)
    west.sql("CREATE DATABASE premdb")
    west.sql("CREATE TABLE premdb.t (id INT PRIMARY KEY, v VARCHAR(20))")
    for i in range(1, 21):
        west.sql(f"INSERT INTO premdb.t VALUES ({i}, 'row {i}')")
    west.sql("alter database premdb add replica premdb_replica to ybwest with (alias premdb_replicated, frequency 1)")
    assert west.sql("SELECT name, database_name, alias, state FROM sys.replica") == [
        ("premdb_replica", "premdb", "premdb_replicated", "NOT_STARTED")]
    assert [r["state"] for r in _status(west)] == ["NOT_STARTED"]
    assert _err(west, "alter database premdb add replica again to ybwest with (frequency 1)")[0] == 1210
    assert _err(west, "alter database premdb alter replica premdb_replica with (frequency 0)")[0] == 1210
    assert _err(west, "alter database premdb alter replica premdb_replica pause")[0] == 1210
    west.sql("alter database premdb alter replica premdb_replica start")
    wait_for(lambda: _count(east) == 20, what="the first cycle copied the 20 rows")
    assert _sys_database(east)["premdb_replicated"]["hot_standby"] == 1
    assert _err(east, "INSERT INTO t VALUES (99, 'x')", "premdb_replicated")[0] == 1290
    first = _status(west)[0]
    assert first["error_string"] is None and first["sent_records"] == 21 and first["sent_bytes"] > 0
    for i in range(21, 31):
        west.sql(f"INSERT INTO premdb.t VALUES ({i}, 'row {i}')")
    wait_for(lambda: _count(east) == 30, what="a later cycle shipped the 10 new rows")
    rows = _status(west)
    assert sum(r["sent_records"] for r in rows) == 31 and all(r["state"] == "RUNNING" for r in rows)
    assert west.sql("CHECKSUM TABLE t", "premdb")[0][1] == east.sql("CHECKSUM TABLE t", "premdb_replicated")[0][1]

    west.sql("alter database premdb alter replica premdb_replica pause")
    west.sql("INSERT INTO premdb.t VALUES (31, 'paused')")
    cycles = len(_status(west))
    assert _count(east) == 30 and len(_status(west)) == cycles
    assert _err(west, "alter database premdb alter replica premdb_replica promote")[0] == 1235
    west.sql("alter database premdb alter replica premdb_replica force")
    assert _count(east) == 31 and _status(west)[-1]["sent_records"] == 1

    east.kill()
    west.sql("alter database premdb alter replica premdb_replica resume")
    west.sql("INSERT INTO premdb.t VALUES (32, 'east down')")
    wait_for(lambda: "Can't reach the remote server ybwest" in (_status(west)[-1]["error_string"] or ""),
             what="a cycle failed while the target was down")
    east.start()
    wait_for(lambda: _count(east) == 32, what="cycles resumed once the target was back")

    west.kill()
    west.start()
    assert west.sql("SELECT state FROM sys.replica") == [("RUNNING",)]
    wait_for(lambda: _sys_database(west)["premdb"]["readonly"] == 0, what="READONLY after the restart left")
    west.sql("INSERT INTO premdb.t VALUES (33, 'after restart')")
    wait_for(lambda: _count(east) == 33, what="the replica resumed by itself after a kill -9 of its source")
    west.sql("alter database premdb drop replica premdb_replica")
    assert west.sql("SELECT * FROM sys.replica") == [] and west.sql("SELECT * FROM sys.replica_status") == []
    east.sql("ALTER DATABASE premdb_replicated SET HOT_STANDBY OFF")
    east.sql("INSERT INTO premdb_replicated.t VALUES (100, 'promoted by hand')")


def test_a_replica_target_must_be_missing_or_an_empty_hot_standby(node_factory) -> None:  # type: ignore[no-untyped-def]
    west, east = _pair(node_factory)
    west.sql("CREATE DATABASE premdb")
    east.sql("CREATE DATABASE premdb")
    west.sql("alter database premdb add replica r to ybwest with (frequency 1)")
    west.sql("alter database premdb alter replica r start")
    wait_for(lambda: "exists and is not HOT_STANDBY" in (_status(west)[-1]["error_string"] or ""),
             what="the cycle refused an ordinary target")
    west.sql("alter database premdb alter replica r pause")
    east.sql("DROP DATABASE premdb")
    east.sql("CREATE DATABASE premdb HOT_STANDBY ON")
    west.sql("alter database premdb alter replica r force")
    assert _sys_database(east)["premdb"]["hot_standby"] == 1
    assert _err(west, "alter database premdb add replica r2 to nosuch with (frequency 1)")[0] == 1210
    west.sql("alter database premdb drop replica r")
    assert _err(west, "alter database premdb add replica r2 to nosuch with (frequency 1)")[0] == 1477
    assert _err(west, "alter database premdb add replica r2 to ybwest with (frequency 1, bw_limit 5)")[0] == 1235
    assert _err(east, "alter database premdb add replica r3 to ybwest with (frequency 1)")[0] == 1290


def test_a_replication_source_is_readonly_after_a_restart_until_its_target_is_reachable(node_factory) -> None:  # type: ignore[no-untyped-def]
    west, east = _pair(node_factory)
    west.sql("CREATE DATABASE premdb")
    west.sql("CREATE DATABASE other")
    west.sql("CREATE TABLE premdb.t (id INT PRIMARY KEY, v VARCHAR(20))")
    west.sql("alter database premdb add replica premdb_replica to ybwest with (alias premdb_replicated, frequency 1)")
    west.sql("alter database premdb alter replica premdb_replica start")
    west.sql("INSERT INTO premdb.t VALUES (1, 'before')")
    wait_for(lambda: _count(east) == 1, what="the row replicated")
    east.kill()
    west.kill()
    west.start()
    row = _sys_database(west)["premdb"]
    reason = ("the node restarted: a replication source stays READONLY until replica premdb_replica is RUNNING and "
              "its target on remote server ybwest is reachable")
    assert (row["readonly"], row["readonly_reason"]) == (1, reason)
    assert _sys_database(west)["other"]["readonly"] == 0
    assert _err(west, "INSERT INTO t VALUES (2, 'during')", "premdb") == (
        3989, f"Schema 'premdb' is in read only mode ({reason}): cannot execute INSERT; "
              "ALTER DATABASE premdb SET READONLY OFF to write again")
    west.sql("CREATE TABLE other.t (id INT)")
    wait_for(lambda: _status(west) and _status(west)[-1]["error_string"], what="a cycle failed: target down")
    assert _sys_database(west)["premdb"]["readonly"] == 1
    east.start()
    wait_for(lambda: _sys_database(west)["premdb"]["readonly"] == 0, what="READONLY left once the target is back")
    assert _sys_database(west)["premdb"]["readonly_reason"] is None
    west.sql("INSERT INTO premdb.t VALUES (2, 'after')")
    wait_for(lambda: _count(east) == 2, what="replication resumed")
