"""A bounded log end to end: checkpoints, truncation, retention holds, a replica that falls behind,
and kill -9 at each crash point of a checkpoint and a truncation (docs/retention.md)."""

from __future__ import annotations

import threading

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for
from tests.e2e.test_failback import _differential
from tests.e2e.test_replication import _caught_up, _ext, _populate, _replicate


def _rows(n: NodeProcess, view: str, db: str = "app") -> list[dict]:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(f"SELECT * FROM information_schema.{view} WHERE DATABASE_NAME = %s", (db,))
        return list(cur.fetchall())


def _log(n: NodeProcess, db: str = "app") -> dict:
    return _rows(n, "DRLAB_LOG", db)[0]


def _updates(n: NodeProcess, count: int, db: str = "app") -> None:
    with n.connect(database=db) as c, c.cursor() as cur:
        for i in range(count):
            cur.execute("UPDATE t SET v = %s WHERE id = %s", (f"u{i}", i % 5 + 1))


def test_the_log_stays_bounded_and_a_restart_keeps_everything(node_factory) -> None:  # type: ignore[no-untyped-def]
    a = node_factory("a").start()
    _populate(a, rows=5)
    a.sql("SET GLOBAL snapshot_trigger_size = 8192")
    _updates(a, 1500)
    last = a.sql("SELECT MAX(id), COUNT(*) FROM t", "app")
    wait_for(lambda: _log(a)["CHECKPOINTS"] == 2 and _log(a)["LOG_RECORDS"] < 1000,
             what="checkpoints taken and the log truncated behind the older one")
    log = _log(a)
    assert log["FIRST_LSN"] > 500 and log["BYTES_SINCE_CHECKPOINT"] < log["LOG_BYTES"]
    ckpts = _rows(a, "DRLAB_CHECKPOINTS")
    assert [r["KEPT_FOR"] for r in ckpts] == ["snapshots_to_keep", "snapshots_to_keep"]
    holds = _rows(a, "DRLAB_RETENTION_HOLDS")
    assert [h["HOLD"] for h in holds] == ["failback window"]
    assert holds[0]["POSITION"] == f"1:{ckpts[0]['LSN']}" and holds[0]["PINNED_LOG_BYTES"] > 0
    checksum = a.sql("CHECKSUM TABLE t", "app")
    a.stop()
    a.start()
    assert a.sql("CHECKSUM TABLE t", "app") == checksum
    a.kill()
    a.start()
    assert a.sql("CHECKSUM TABLE t", "app") == checksum and a.sql("SELECT MAX(id), COUNT(*) FROM t", "app") == last
    a.sql("INSERT INTO t (v) VALUES ('after restart')", "app")


def test_settings_and_snapshot_database_refuse_bad_input(node) -> None:  # type: ignore[no-untyped-def]
    _populate(node, rows=1)
    for stmt, code in [("SET GLOBAL snapshots_to_keep = 0", 1231), ("SET GLOBAL snapshots_to_keep = 11", 1231),
                       ("SET GLOBAL snapshot_trigger_size = 100", 1231), ("SET GLOBAL snapshot_trigger_size = 'x'", 1232),
                       ("SET GLOBAL drlab_replica_hold_timeout = 0", 1231), ("SET snapshots_to_keep = 3", 1229),
                       ("SNAPSHOT DATABASE nope", 1049),
                       ("SNAPSHOT DATABASE", 1064), ("SNAPSHOT app extra", 1064)]:
        with pytest.raises(pymysql.err.MySQLError) as e:
            node.sql(stmt)
        assert e.value.args[0] == code, stmt
    node.sql("SET GLOBAL snapshots_to_keep = 1")
    assert node.sql("SELECT @@GLOBAL.snapshots_to_keep")[0][0] == 1
    node.sql("SNAPSHOT DATABASE app")
    node.sql("SNAPSHOT `app`")
    assert [r["LSN"] for r in _rows(node, "DRLAB_CHECKPOINTS")] == [2]
    assert _log(node)["LOG_RECORDS"] == 0


def test_a_paused_replica_holds_the_log_and_resumes_without_a_new_copy(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = node_factory("a").start(), node_factory("b").start()
    _populate(a, rows=5)
    _replicate(b, a)
    held = wait_for(lambda: [h for h in _rows(a, "DRLAB_RETENTION_HOLDS") if h["HOLD"].startswith("replica ")],
                    what="the replica's hold")
    assert f"127.0.0.1:{b.port}/app" in held[0]["HOLD"]
    b.sql("PAUSE REPLICATING app")
    paused_at = int(_ext(b, "app")["Position"].split(":")[1])
    _updates(a, 300)
    a.sql("SNAPSHOT DATABASE app")
    a.sql("SNAPSHOT DATABASE app")
    hold = next(h for h in _rows(a, "DRLAB_RETENTION_HOLDS") if h["HOLD"].startswith("replica "))
    assert hold["POSITION"] == f"1:{paused_at}" and hold["PINNED_LOG_RECORDS"] == 300
    assert hold["EXPIRES_AT"] is not None
    assert _log(a)["FIRST_LSN"] == paused_at + 1
    b.sql("CONTINUE REPLICATING app")
    wait_for(lambda: _caught_up(a, b, "app"), what="caught up")
    assert "re-provisioned" not in _ext(b, "app")["Details"]
    wait_for(lambda: _log(a)["FIRST_LSN"] is None or _log(a)["FIRST_LSN"] > paused_at + 1,
             what="the log truncated once the replica received it")


def test_a_replica_left_behind_says_so_and_reprovisions_itself(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = node_factory("a").start(), node_factory("b").start()
    _populate(a, rows=5)
    _replicate(b, a)
    a.sql("SET GLOBAL drlab_replica_hold_timeout = 1")
    b.sql("PAUSE REPLICATING app")
    _updates(a, 200)
    wait_for(lambda: not [h for h in _rows(a, "DRLAB_RETENTION_HOLDS") if h["HOLD"].startswith("replica ")],
             what="the paused replica's hold to lapse")
    a.sql("SNAPSHOT DATABASE app")
    b.sql("CONTINUE REPLICATING app")
    wait_for(lambda: _ext(b, "app")["State"] == "replicating" and "re-provisioned" in _ext(b, "app")["Details"],
             what="re-provisioned")
    details = _ext(b, "app")["Details"]
    assert "no longer keeps the log after LSN" in details and "DRLAB_RETENTION_HOLDS" in details
    wait_for(lambda: _caught_up(a, b, "app"), what="caught up")
    a.sql("INSERT INTO t (v) VALUES ('streamed after')", "app")
    wait_for(lambda: _caught_up(a, b, "app"), what="streaming again")


def test_failback_refuses_when_the_shared_point_is_no_longer_kept(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = node_factory("a").start(), node_factory("b").start()
    _populate(a, rows=5)
    _replicate(b, a)
    wait_for(lambda: _caught_up(a, b, "app"), what="caught up")
    a.stop()
    b.sql("STOP REPLICATING app")
    b.sql("SET GLOBAL snapshots_to_keep = 1")
    _updates(b, 50)
    b.sql("SNAPSHOT DATABASE app")  # B's log now starts after the point where the histories split
    a.start()
    a.sql("INSERT INTO t (v) VALUES ('split brain')", "app")
    with pytest.raises(pymysql.err.MySQLError) as e:
        _differential(a, b)
    assert e.value.args[0] == 1236 and "replicate into a new database instead" in e.value.args[1]
    assert _ext(a, "app")["Role"] == "master"


CRASH_POINTS = ["checkpoint:copied", "checkpoint:published", "truncate:partway", "truncate:log-done"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_during_a_checkpoint_or_truncation_loses_no_acknowledged_write(node_factory, monkeypatch,  # type: ignore[no-untyped-def]
                                                                            point: str) -> None:
    monkeypatch.setenv("DRLAB_TEST_CRASH_AT", point)
    a = node_factory("a").start()
    a.sql("CREATE DATABASE app")
    a.sql("CREATE TABLE t (id INT PRIMARY KEY, v INT)", "app")
    acked: list[int] = []
    with a.connect(database="app") as c, c.cursor() as cur:
        for i in range(1200):  # more records than one truncation transaction deletes
            cur.execute("INSERT INTO t VALUES (%s, 0)", (i,))
            acked.append(i)
    stop = threading.Event()

    def write() -> None:
        try:
            with a.connect(database="app") as c, c.cursor() as cur:
                for i in range(1200, 100000):
                    if stop.is_set():
                        return
                    cur.execute("INSERT INTO t VALUES (%s, 0)", (i,))
                    acked.append(i)
        except pymysql.err.MySQLError:
            return  # the node died: what was acknowledged is in ``acked``

    writer = threading.Thread(target=write)
    writer.start()
    wait_for(lambda: len(acked) > 1300, what="writes under way")
    with pytest.raises(pymysql.err.MySQLError):
        a.sql("SNAPSHOT DATABASE app")
    assert a.proc is not None and a.proc.wait(10) == -9
    stop.set()
    writer.join(10)
    monkeypatch.delenv("DRLAB_TEST_CRASH_AT")
    a.start()
    ids = {r[0] for r in a.sql("SELECT id FROM t", "app")}
    assert set(acked) <= ids
    a.sql("SNAPSHOT DATABASE app")  # the node checkpoints and truncates normally again
    a.sql("INSERT INTO t VALUES (-1, 0)", "app")
    a.kill()
    a.start()
    assert set(acked) | {-1} <= {r[0] for r in a.sql("SELECT id FROM t", "app")}
    assert _log(a)["CHECKPOINTS"] >= 1


def test_the_views_list_only_databases_the_account_can_see(node) -> None:  # type: ignore[no-untyped-def]
    _populate(node, rows=1)
    _populate(node, "other", rows=1)
    node.sql("CREATE USER 'u'@'%' IDENTIFIED BY 'u-Pw1'")
    node.sql("GRANT SELECT ON other.* TO 'u'@'%'")
    with node.connect(user="u", password="u-Pw1") as c, c.cursor() as cur:
        for view in ("DRLAB_LOG", "DRLAB_RETENTION_HOLDS"):
            cur.execute(f"SELECT DATABASE_NAME FROM information_schema.{view}")
            assert {r[0] for r in cur.fetchall()} == {"other"}, view
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("SNAPSHOT DATABASE other")
        assert e.value.args[0] == 1227 and "SUPER" in e.value.args[1]
