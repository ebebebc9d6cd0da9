"""A replica refuses a source whose history is not its own (issue 11, defect 2), end to end: the
source node is wiped and restarted empty at the same address with a new database of the same name."""

from __future__ import annotations

import shutil

import pymysql

from lab.harness import NodeProcess, wait_for


def _ext(n: NodeProcess, db: str) -> dict:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW DATABASES EXTENDED")
        return next(r for r in cur.fetchall() if r["Database"] == db)


def _status(n: NodeProcess, db: str) -> dict | None:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW REPLICATION STATUS")
        return next((r for r in cur.fetchall() if r["Database"] == db), None)


def _write(n: NodeProcess, db: str, values: list[str]) -> None:
    with n.connect() as c, c.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")
        for v in values:
            cur.execute(f"INSERT INTO {db}.t (v) VALUES (%s)", (v,))


def test_replica_refuses_a_recreated_source_and_its_node_keeps_serving(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = node_factory("a").start(), node_factory("b").start()
    _write(a, "app", ["old1", "old2", "old3"])
    _write(b, "local", ["mine"])  # a database of the replica node's own: it must never be affected
    b.sql(f"REPLICATE DATABASE app FROM root@127.0.0.1:{a.port}")
    assert b.sql("SELECT v FROM t ORDER BY id", "app") == [("old1",), ("old2",), ("old3",)]
    copied = _ext(b, "app")["Position"]

    a.stop()
    shutil.rmtree(a.data)  # the source node loses everything and comes back empty at the same address
    a = node_factory("a2", port=a.port).start()
    _write(a, "app", ["new1", "new2", "new3", "new4", "new5"])  # same name, same LSNs, another database

    wait_for(lambda: _ext(b, "app")["State"] == "error", what="the replica refuses the new source")
    ext = _ext(b, "app")
    assert ext["Role"] == "async replica"
    assert "history diverged" in ext["Details"] and f"127.0.0.1:{a.port}/app" in ext["Details"]
    assert "WITH FORCE DIFFERENTIAL" in ext["Details"] and "DROP DATABASE app" in ext["Details"]
    status = _status(b, "app")
    assert status is not None and status["Replica_State"] == "error" and status["Connected"] == "no"
    # nothing of the other history was mixed in: the copy is exactly what it was
    assert ext["Position"] == copied
    assert b.sql("SELECT v FROM t ORDER BY id", "app") == [("old1",), ("old2",), ("old3",)]

    b.stop()
    b.start()  # the replica node restarts: every database serves, the refused one says why
    assert b.sql("SELECT v FROM t", "local") == [("mine",)]
    assert b.sql("SELECT v FROM t ORDER BY id", "app") == [("old1",), ("old2",), ("old3",)]
    ext = _ext(b, "app")
    assert ext["State"] == "error" and "history diverged" in ext["Details"]
    b.sql("CREATE DATABASE fresh")  # and it takes writes for its own databases
    # the way out the message names: drop the copy and replicate the new source again
    b.sql("DROP DATABASE app")
    b.sql(f"REPLICATE DATABASE app FROM root@127.0.0.1:{a.port}")
    assert b.sql("SELECT COUNT(*) FROM t", "app") == [(5,)]
