"""Failback end to end: REPLICATE ... WITH FORCE DIFFERENTIAL between real node processes."""

from __future__ import annotations

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for
from tests.e2e.test_replication import _caught_up, _ext, _populate, _replicate


def _status(n: NodeProcess) -> dict:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW REPLICATION STATUS")
        return cur.fetchall()[0]


def _differential(local: NodeProcess, source: NodeProcess, db: str = "app") -> list[tuple]:
    """Run the differential REPLICATE on ``local``; returns its warnings."""
    with local.connect() as c, c.cursor() as cur:
        assert cur.execute(f"REPLICATE DATABASE {db} WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:{source.port}") == 1
        cur.execute("SHOW WARNINGS")
        return list(cur.fetchall())


@pytest.fixture
def pair(node_factory):  # type: ignore[no-untyped-def]
    a, b = node_factory("a").start(), node_factory("b").start()
    _populate(a, rows=20)
    _replicate(b, a)
    return a, b


def test_split_brain_reverts_and_reports(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    b.sql("STOP REPLICATING app")
    for i in range(3):  # A never heard of the promotion and keeps accepting writes
        a.sql(f"INSERT INTO t (v) VALUES ('lost-on-a-{i}')", "app")
    a.sql("UPDATE t SET v = 'changed-on-a' WHERE id = 1", "app")
    for i in range(2):
        b.sql(f"INSERT INTO t (v) VALUES ('kept-on-b-{i}')", "app")
    warnings = _differential(a, b)
    assert len(warnings) == 1 and "4 transaction(s)" in warnings[0][2], warnings
    assert "DRLAB_REVERTED_TRANSACTIONS" in warnings[0][2]
    assert _caught_up(a, b, "app")
    assert a.sql("SELECT COUNT(*) FROM t WHERE v LIKE 'lost-on-a-%'", "app") == [(0,)]
    assert a.sql("SELECT COUNT(*) FROM t WHERE v LIKE 'kept-on-b-%'", "app") == [(2,)]
    rows = a.sql("SELECT DATABASE_NAME, OPERATION, TABLE_NAME, ROW_BEFORE, ROW_AFTER, SOURCE_URI "
                 "FROM information_schema.DRLAB_REVERTED_TRANSACTIONS ORDER BY LSN")
    assert [r[1] for r in rows] == ["INSERT", "INSERT", "INSERT", "UPDATE"]
    assert all(r[0] == "app" and r[2] == "t" and r[5] == f"127.0.0.1:{b.port}/app" for r in rows)
    assert '"lost-on-a-0"' in rows[0][4] and rows[0][3] is None
    assert '"changed-on-a"' in rows[3][4] and '"row0"' in rows[3][3]
    ext = _ext(a, "app")
    assert (ext["Role"], ext["State"]) == ("async replica", "replicating")
    with pytest.raises(pymysql.err.OperationalError) as e:
        a.sql("INSERT INTO t (v) VALUES ('no')", "app")
    assert e.value.args[0] == 1290
    b.sql("INSERT INTO t (v) VALUES ('streams on')", "app")
    wait_for(lambda: _caught_up(a, b, "app"), what="streaming continues after the differential catch-up")


def test_failover_then_failback_ships_only_new_records(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    wait_for(lambda: _caught_up(a, b, "app"), what="caught up before the failure")
    a.kill()
    b.sql("STOP REPLICATING app")
    for i in range(5):
        b.sql(f"INSERT INTO t (v) VALUES ('on-b-{i}')", "app")
    a.start()
    assert _differential(a, b) == []  # nothing diverged, nothing reverted
    assert _caught_up(a, b, "app")
    assert _status(a)["Replica_Commits"] == 5  # only the five new records were shipped
    assert a.sql("SELECT COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS") == [(0,)]


def test_refusals(pair, node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    with pytest.raises(pymysql.err.MySQLError) as e:  # already replicating
        _differential(b, a)
    assert "already replicating" in e.value.args[1]
    with pytest.raises(pymysql.err.MySQLError) as e:  # no local database
        _differential(b, a, db="nosuch")
    assert e.value.args[0] == 1049
    c = node_factory("c").start()
    _populate(c, rows=3)  # an 'app' created separately
    with pytest.raises(pymysql.err.MySQLError) as e:
        _differential(c, a)
    assert "shares no history" in e.value.args[1] and "new database" in e.value.args[1]
    assert _ext(c, "app")["Role"] == "master"  # refused: nothing changed
    c.sql("INSERT INTO t (v) VALUES ('still writable')", "app")


def test_shared_point_no_longer_kept_by_source(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b, c = (node_factory(n).start() for n in "abc")
    _populate(a, rows=5)
    _replicate(b, a)
    b.sql("PAUSE REPLICATING app")
    for i in range(5):
        a.sql(f"INSERT INTO t (v) VALUES ('later-{i}')", "app")
    _replicate(c, a)  # C's log starts after its snapshot, past B's position
    c.sql("STOP REPLICATING app")
    with pytest.raises(pymysql.err.MySQLError) as e:
        _differential(b, c)
    assert "keeps its log only from" in e.value.args[1]
    assert _ext(b, "app")["State"] == "replication paused"


def test_differential_reverts_ddl_by_rebuilding(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    wait_for(lambda: _caught_up(a, b, "app"), what="caught up")
    b.sql("STOP REPLICATING app")
    a.sql("ALTER TABLE t ADD COLUMN only_on_a INT", "app")
    a.sql("INSERT INTO t (v) VALUES ('div')", "app")
    b.sql("INSERT INTO t (v) VALUES ('b side')", "app")
    warnings = _differential(a, b)
    assert "2 transaction(s)" in warnings[0][2]
    assert _caught_up(a, b, "app")
    assert "only_on_a" not in repr(a.sql("SHOW COLUMNS FROM t", "app"))


def test_kill_local_side_during_differential_then_retry(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    b.sql("STOP REPLICATING app")
    with b.connect(database="app") as c, c.cursor() as cur:
        cur.execute("INSERT INTO t (v) VALUES " + ",".join(f"('bulk{i}')" for i in range(2000)))
        for i in range(200):
            cur.execute(f"INSERT INTO t (v) VALUES ('b{i}')")
    a.sql("INSERT INTO t (v) VALUES ('divergent')", "app")
    import threading

    def run() -> None:
        try:
            _differential(a, b)
        except pymysql.err.MySQLError:
            pass

    th = threading.Thread(target=run)
    th.start()
    wait_for(lambda: _ext(a, "app")["Role"] == "async replica", what="the differential started")
    a.kill()
    th.join()
    a.start()
    # the local side already became a replica of B: it resumes by itself and converges
    wait_for(lambda: _caught_up(a, b, "app"), what="converges after restart")
    assert a.sql("SELECT COUNT(*) FROM t WHERE v = 'divergent'", "app") == [(0,)]


def test_kill_source_during_differential_then_retry(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    b.sql("STOP REPLICATING app")
    b.kill()
    with pytest.raises(pymysql.err.MySQLError) as e:
        _differential(a, b)
    assert e.value.args[0] == 1429
    assert _ext(a, "app")["Role"] == "master"  # nothing changed: the source was unreachable
    b.start()
    b.sql("INSERT INTO t (v) VALUES ('after restart')", "app")
    _differential(a, b)
    assert _caught_up(a, b, "app")
