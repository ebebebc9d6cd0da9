"""CockroachDB physical cluster replication, slice 1: virtual clusters on a node, sessions choosing
one through the database name ``cluster:<name>/<db>``, cluster settings, START / STOP SERVICE, and
the PCR forms not built yet refused by name (docs/pcr.md)."""

from __future__ import annotations

import pymysql
import pytest

from lab.harness import NodeProcess


def _err(n: NodeProcess, query: str, database: str | None = None) -> tuple[int, str]:
    with pytest.raises(pymysql.err.MySQLError) as e:
        n.sql(query, database)
    return e.value.args[0], e.value.args[1]


def _login_err(n: NodeProcess, database: str) -> tuple[int, str]:
    with pytest.raises(pymysql.err.MySQLError) as e:
        n.connect(database=database).close()
    return e.value.args[0], e.value.args[1]


def test_virtual_clusters_own_their_databases_and_sessions_choose_one(node) -> None:  # type: ignore[no-untyped-def]
    node.sql("CREATE DATABASE sysdb")
    node.sql("CREATE TABLE sysdb.s (id INT PRIMARY KEY)")
    node.sql("SELECT * FROM sysdb.s")  # cached plan: the same text from main must still be refused
    assert node.sql("SHOW VIRTUAL CLUSTERS") == [(1, "system", "ready", "shared")]
    node.sql("CREATE VIRTUAL CLUSTER main")
    assert node.sql("SHOW VIRTUAL CLUSTERS") == [(1, "system", "ready", "shared"), (3, "main", "ready", "shared")]
    assert node.sql("SHOW VIRTUAL CLUSTER main") == [(3, "main", "ready", "shared")]
    assert _err(node, "CREATE VIRTUAL CLUSTER main") == (1007, 'virtual cluster "main" already exists')
    node.sql("CREATE VIRTUAL CLUSTER IF NOT EXISTS main")

    with node.connect(database="cluster:main") as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE app")
        cur.execute("USE app")
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
        cur.execute("INSERT INTO t VALUES (1, 'in main')")
        cur.execute("SHOW DATABASES")
        assert [r[0] for r in cur.fetchall()] == ["information_schema", "app"]
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("USE sysdb")
        assert e.value.args[0] == 1049
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("CREATE TABLE sysdb.x (id INT)")
        assert e.value.args[0] == 1049
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("SELECT * FROM sysdb.s")  # a database of another virtual cluster is not there
        assert e.value.args[0] == 1049
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("SHOW VIRTUAL CLUSTERS")
        assert e.value.args[0] == 1227 and "system virtual cluster" in e.value.args[1]
    assert node.sql("SELECT v FROM t", "cluster:main/app") == [("in main",)]
    assert "app" not in [r[0] for r in node.sql("SHOW DATABASES")]
    assert _login_err(node, "app")[0] == 1049
    assert _login_err(node, "cluster:nope/app") == (
        1049, 'virtual cluster "nope" does not exist; SHOW VIRTUAL CLUSTERS lists them')

    # the default target cluster: a login without cluster: lands in it
    assert node.sql("SHOW CLUSTER SETTING server.controller.default_target_cluster") == [("system",)]
    node.sql("SET CLUSTER SETTING server.controller.default_target_cluster = 'main'")
    assert node.sql("SELECT v FROM t", "app") == [("in main",)]
    assert node.sql("SHOW CLUSTER SETTING server.controller.default_target_cluster",
                    "cluster:system") == [("main",)]
    node.sql("SET CLUSTER SETTING server.controller.default_target_cluster = 'system'", "cluster:system")

    # STOP SERVICE ends the cluster's sessions and refuses new ones; START SERVICE SHARED reopens it
    held = node.connect(database="cluster:main/app")
    node.sql("ALTER VIRTUAL CLUSTER main STOP SERVICE")
    assert node.sql("SHOW VIRTUAL CLUSTER main") == [(3, "main", "ready", "none")]
    code, msg = _login_err(node, "cluster:main/app")
    assert code == 1290 and "START SERVICE SHARED" in msg
    with pytest.raises(pymysql.err.MySQLError), held.cursor() as cur:
        cur.execute("SELECT v FROM t")
    held.close()
    node.stop()
    node.start()  # the catalog survives a restart
    assert node.sql("SHOW VIRTUAL CLUSTERS") == [(1, "system", "ready", "shared"), (3, "main", "ready", "none")]
    node.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
    node.sql("INSERT INTO t VALUES (2, 'after restart')", "cluster:main/app")
    assert node.sql("SELECT COUNT(*) FROM t", "cluster:main/app") == [(2,)]
    node.sql("DROP DATABASE app", "cluster:main")
    node.sql("CREATE DATABASE app")  # the name is free again, now in system
    assert node.sql("SHOW TABLES", "app") == []


def test_cluster_settings_and_refusals(node) -> None:  # type: ignore[no-untyped-def]
    assert node.sql("SHOW CLUSTER SETTING kv.rangefeed.enabled") == [("false",)]
    node.sql("SET CLUSTER SETTING kv.rangefeed.enabled = 'true'")
    assert node.sql("SHOW CLUSTER SETTING kv.rangefeed.enabled") == [("true",)]
    assert _err(node, "SET CLUSTER SETTING kv.rangefeed.enabled = 'maybe'")[0] == 1231
    code, msg = _err(node, "SET CLUSTER SETTING kv.nothing = 'x'")
    assert code == 1193 and "kv.nothing" in msg
    assert _err(node, "SHOW CLUSTER SETTING kv.nothing")[0] == 1193
    assert _err(node, "SET CLUSTER SETTING server.controller.default_target_cluster = 'nope'")[0] == 1049
    assert _err(node, "ALTER VIRTUAL CLUSTER nope START SERVICE SHARED")[0] == 1049
    assert _err(node, "ALTER VIRTUAL CLUSTER system STOP SERVICE")[0] == 1231
    assert _err(node, "SHOW VIRTUAL CLUSTER nope")[0] == 1049
    assert _err(node, "ALTER VIRTUAL CLUSTER nope START REPLICATION OF main ON 'postgresql://u@h:1'")[0] == 1049
    assert _err(node, "ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME")[0] == 1064
    assert node.sql("SELECT * FROM [SHOW JOBS] WHERE job_type = 'REPLICATION STREAM INGESTION'") == []
    code, msg = _err(node, "SELECT * FROM [SHOW JOBS] WHERE nosuch = 1")
    assert code == 1064 and "no such column: nosuch" in msg
    assert _err(node, "SHOW JOB WHEN COMPLETE 42") == (1210, "job with ID 42 does not exist")
    assert _err(node, "CREATE VIRTUAL CLUSTER")[0] == 1064
    assert _err(node, "CREATE VIRTUAL CLUSTER m FROM REPLICATION OF main ON 'mysql://h'")[0] == 1210
    assert _err(node, "CREATE VIRTUAL CLUSTER m FROM REPLICATION OF main ON 'postgresql://u@h:1' "
                      "WITH RETENTION = 'soon'")[0] == 1064
    code, msg = _err(node, "CREATE VIRTUAL CLUSTER m FROM REPLICATION OF main ON "
                           f"'postgresql://root@127.0.0.1:{node.port}/defaultdb'")
    assert code == 1049 and 'virtual cluster "main" does not exist' in msg  # this node is its own source here
    node.sql("CREATE VIRTUAL CLUSTER plain")
    assert _err(node, "ALTER VIRTUAL CLUSTER plain COMPLETE REPLICATION TO LATEST")[0] == 1210
    assert node.sql("SHOW VIRTUAL CLUSTER plain WITH REPLICATION STATUS") == [
        (3, "plain", None, None, None, None, None, None, "ready")]
    for stmt, named in [
        ("CREATE VIRTUAL CLUSTER m FROM REPLICATION OF main ON 'postgresql://u:p@h:1/' WITH READ VIRTUAL CLUSTER",
         "WITH READ VIRTUAL CLUSTER"),
        ("SHOW VIRTUAL CLUSTER main WITH CAPABILITIES", "WITH CAPABILITIES"),
        ("ALTER VIRTUAL CLUSTER main SET REPLICATION RETENTION = '24h'", "SET REPLICATION"),
        ("ALTER VIRTUAL CLUSTER a START REPLICATION OF b ON 'postgresql://u:p@127.0.0.1:1/' WITH READ VIRTUAL CLUSTER",
         "WITH READ VIRTUAL CLUSTER"),
        ("DROP VIRTUAL CLUSTER main", "DROP VIRTUAL CLUSTER"),
    ]:
        code, msg = _err(node, stmt)
        assert code == 1235 and named in msg, (stmt, msg)
    node.sql("CREATE USER app IDENTIFIED BY 'pw'")
    with node.connect(user="app", password="pw") as c, c.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("CREATE VIRTUAL CLUSTER x")
        assert e.value.args[0] == 1227
    assert node.sql("SELECT 1") == [(1,)]  # the server keeps serving
