"""CockroachDB physical cluster replication between two drlab nodes, as seed 001 runs it: a stream
of virtual cluster ``main`` with two databases, its replication status, pause / resume, and failover
to LATEST, to a past time (undoing a "human error" in both databases) and to a future time
(docs/pcr.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for

DBS = ("app", "app2")
STATUS_COLUMNS = ["id", "name", "source_tenant_name", "source_cluster_uri", "retained_time", "replicated_time",
                  "replication_lag", "failover_time", "status"]


def _uri(n: NodeProcess) -> str:
    return f"postgresql://root@127.0.0.1:{n.port}/defaultdb?options=-ccluster%3Dsystem&sslmode=verify-full"


def _status(n: NodeProcess) -> dict:
    with n.connect() as c, c.cursor() as cur:
        cur.execute("SHOW VIRTUAL CLUSTER main WITH REPLICATION STATUS")
        assert [d[0] for d in cur.description] == STATUS_COLUMNS
        return dict(zip(STATUS_COLUMNS, cur.fetchone(), strict=True))


def _state(n: NodeProcess) -> tuple[str, str]:
    rows = {r[1]: (r[2], r[3]) for r in n.sql("SHOW VIRTUAL CLUSTERS")}
    return rows["main"]


def _hlc(t: float) -> str:
    return f"{int(round(t * 1e6)) * 1000}.0000000000"


def _seconds(hlc: str) -> float:
    return int(hlc.split(".")[0]) / 1e9


def _ts(t: float) -> str:
    """A time as the status columns show it (they sort as text)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"


def _jobs(n: NodeProcess, query: str) -> list[dict]:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(query)
        return list(cur.fetchall())


def _content(n: NodeProcess) -> dict[str, list[tuple]]:
    return {d: n.sql(f"SELECT id, v FROM {d}.t ORDER BY id", "cluster:main") for d in DBS}


@pytest.fixture
def pair(node_factory) -> Iterator[tuple[NodeProcess, NodeProcess]]:  # type: ignore[no-untyped-def]
    """Node a with virtual cluster main (databases app and app2) streaming to node b."""
    a, b = node_factory("a").start(), node_factory("b").start()
    a.sql("CREATE VIRTUAL CLUSTER main")
    for d in DBS:
        a.sql(f"CREATE DATABASE {d}", "cluster:main")
        a.sql("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", f"cluster:main/{d}")
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.sql(f"CREATE VIRTUAL CLUSTER main FROM REPLICATION OF main ON '{_uri(a)}'")
    assert e.value.args[0] == 1290 and "rangefeeds require the kv.rangefeed.enabled setting" in e.value.args[1]
    assert [r[1] for r in b.sql("SHOW VIRTUAL CLUSTERS")] == ["system"]  # nothing left behind
    a.sql("SET CLUSTER SETTING kv.rangefeed.enabled = 'true'")
    b.sql(f"CREATE VIRTUAL CLUSTER main FROM REPLICATION OF main ON '{_uri(a)}' WITH RETENTION = '1h'")
    yield a, b


class Writer:
    """An application writing to both databases of main on a: row i goes to app, then to app2."""

    def __init__(self, a: NodeProcess) -> None:
        self.a, self.n, self.stop = a, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.a.connect(database="cluster:main/app") as c, c.cursor() as cur:
            while not self.stop.is_set():
                self.n += 1
                for d in DBS:
                    cur.execute(f"INSERT INTO {d}.t VALUES (%s, 'w')", (self.n,))

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def test_failover_to_latest_with_an_application_writing(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    assert _state(b) == ("replicating", "none")
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.connect(database="cluster:main/app").close()
    assert e.value.args[0] == 1290  # not in service until the failover completes
    with Writer(a) as w:
        wait_for(lambda: w.n > 50, what="the application wrote")
        st = _status(b)
        assert st["status"] == "replicating" and st["source_tenant_name"] == "main" and st["failover_time"] is None
        assert st["source_cluster_uri"] == f"postgresql://root@127.0.0.1:{a.port}?redacted"
        assert st["retained_time"] < st["replicated_time"] and st["replication_lag"].startswith("00:00:0")
        b.sql("ALTER VIRTUAL CLUSTER main PAUSE REPLICATION")
        assert _status(b)["status"] == "replication paused"
        b.sql("ALTER VIRTUAL CLUSTER main RESUME REPLICATION")
        assert _status(b)["status"] == "replicating"
        before = _status(b)["replicated_time"]
        wait_for(lambda: _status(b)["replicated_time"] > before, what="replicated_time advances")
        jobs = _jobs(b, "SELECT * FROM [SHOW JOBS] WHERE job_type = 'REPLICATION STREAM INGESTION'")
        assert len(jobs) == 1 and jobs[0]["status"] == "running" and jobs[0]["running_status"] == "replicating"
        assert jobs[0]["description"] == (f"CREATE VIRTUAL CLUSTER main FROM REPLICATION OF main ON "
                                          f"'postgresql://root@127.0.0.1:{a.port}?redacted'")
        producer = _jobs(a, "SELECT job_id, job_type, status FROM [SHOW JOBS] WHERE job_type LIKE '%PRODUCER'")
        assert [(p["job_type"], p["status"]) for p in producer] == [("REPLICATION STREAM PRODUCER", "running")]
        (failover_time,), = b.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO LATEST")
    done = _jobs(b, f"SHOW JOB WHEN COMPLETE {jobs[0]['job_id']}")  # blocks until the failover completes
    assert done[0]["status"] == "succeeded" and done[0]["fraction_completed"] == 1.0
    assert _state(b) == ("ready", "none")
    st = _status(b)
    assert st["status"] == "ready" and st["failover_time"] == failover_time
    b.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
    assert _state(b) == ("ready", "shared")
    got = _content(b)
    n_app, n_app2 = len(got["app"]), len(got["app2"])
    assert n_app > 50 and n_app2 in (n_app, n_app - 1)  # one consistent time across both databases
    assert got["app"] == a.sql(f"SELECT id, v FROM app.t ORDER BY id LIMIT {n_app}", "cluster:main")
    b.sql("SET CLUSTER SETTING server.controller.default_target_cluster = 'main'")
    b.sql("INSERT INTO app.t VALUES (1000000, 'first write on b')")  # lands in main: writable now
    assert b.sql("SELECT v FROM t WHERE id = 1000000", "app") == [("first write on b",)]
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO LATEST", "cluster:system")
    assert e.value.args[0] == 1210


def test_failover_to_a_past_time_undoes_a_human_error_in_every_database(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    for i in range(1, 21):
        for d in DBS:
            a.sql(f"INSERT INTO {d}.t VALUES ({i}, 'v{i}')", "cluster:main")
    good = _content(a)
    time.sleep(0.05)
    chosen = time.time()
    time.sleep(0.05)
    a.sql("DELETE FROM app.t WHERE id > 5", "cluster:main")  # the human error, in both databases
    a.sql("UPDATE app2.t SET v = 'oops'", "cluster:main")
    done = _ts(time.time())
    wait_for(lambda: _status(b)["replicated_time"] > done, what="the error is replicated")
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '-2h'")
    assert e.value.args[0] == 1210 and "is before earliest safe cutover time" in e.value.args[1]
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.sql("ALTER VIRTUAL CLUSTER nope COMPLETE REPLICATION TO LATEST")
    assert e.value.args[0] == 1049
    (failover_time,), = b.sql(f"ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '{_hlc(chosen)}'")
    assert failover_time == _hlc(chosen)
    wait_for(lambda: _state(b)[0] == "ready", what="the failover completes")
    b.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
    assert _content(b) == good  # both databases as they were at the chosen time
    reverted = b.sql("SELECT DATABASE_NAME, OPERATION, COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS "
                     "GROUP BY DATABASE_NAME, OPERATION ORDER BY 1")
    assert reverted == [("app", "DELETE", 15), ("app2", "UPDATE", 20)]


def test_failover_to_a_future_time_waits_and_can_be_moved(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    a.sql("INSERT INTO app.t VALUES (1, 'before')", "cluster:main")
    first, = b.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '+1h'")[0]
    assert _status(b)["status"] == "replication pending failover" and _status(b)["failover_time"] == first
    at = time.time() + 1.5
    (second,), = b.sql(f"ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '{_hlc(at)}'")
    assert second == _hlc(at) and _status(b)["failover_time"] == second
    a.sql("INSERT INTO app2.t VALUES (1, 'before')", "cluster:main")
    wait_for(lambda: time.time() > at + 0.1, what="the failover time passes")
    a.sql("INSERT INTO app.t VALUES (2, 'after')", "cluster:main")
    wait_for(lambda: _state(b)[0] == "ready", what="the failover completes by itself")
    b.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
    assert _content(b) == {"app": [(1, "before")], "app2": [(1, "before")]}


def test_failback_to_the_original_primary_ships_only_net_new_changes(pair, node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    for i in range(1, 11):
        for d in DBS:
            a.sql(f"INSERT INTO {d}.t VALUES ({i}, 'from a')", "cluster:main")
    done = _ts(time.time())
    wait_for(lambda: _status(b)["replicated_time"] > done, what="b has everything")
    (failover_time,), = b.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO LATEST")
    wait_for(lambda: _state(b)[0] == "ready", what="the failover completes")
    b.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
    a.sql("INSERT INTO app.t VALUES (500, 'a wrote after the failover')", "cluster:main")  # diverges: reverted later
    for d in DBS:
        b.sql(f"INSERT INTO {d}.t VALUES (11, 'from b')", "cluster:main")
    # the seed's failback, from the system virtual cluster of a
    with pytest.raises(pymysql.err.MySQLError) as e:
        a.sql(f"ALTER VIRTUAL CLUSTER main START REPLICATION OF main ON '{_uri(b)}'")
    assert e.value.args[0] == 1290 and "STOP SERVICE" in e.value.args[1]
    a.sql("ALTER VIRTUAL CLUSTER main STOP SERVICE")
    with pytest.raises(pymysql.err.MySQLError) as e:
        a.sql(f"ALTER VIRTUAL CLUSTER main START REPLICATION OF main ON '{_uri(b)}'")
    assert e.value.args[0] == 1290 and "rangefeeds require the kv.rangefeed.enabled setting" in e.value.args[1]
    b.sql("SET CLUSTER SETTING kv.rangefeed.enabled = 'true'")
    c = node_factory("c").start()  # an unrelated cluster with its own main
    c.sql("CREATE VIRTUAL CLUSTER main")
    c.sql("SET CLUSTER SETTING kv.rangefeed.enabled = 'true'")
    with pytest.raises(pymysql.err.MySQLError) as e:
        a.sql(f"ALTER VIRTUAL CLUSTER main START REPLICATION OF main ON '{_uri(c)}'")
    assert e.value.args[0] == 1210 and e.value.args[1].startswith(
        "cannot reconfigure existing tenant to replicate from specified source: it was neither previously "
        'replicating from this source (prior replication source was ""), nor was the source previously '
        'replicating from it ("")')
    with a.connect() as conn, conn.cursor() as cur:
        cur.execute(f"ALTER VIRTUAL CLUSTER main START REPLICATION OF main ON '{_uri(b)}'")
        cur.execute("SHOW WARNINGS")
        (note,) = [w[2] for w in cur.fetchall() if w[2].startswith("START REPLICATION")]
    assert note == ("START REPLICATION of main: app: net-new changes only (its changes after the divergence were "
                    "reverted); app2: net-new changes only")
    assert _state(a) == ("replicating", "none")
    assert _status(a)["source_cluster_uri"] == f"postgresql://root@127.0.0.1:{b.port}?redacted"
    assert a.sql("SELECT ROW_AFTER FROM information_schema.DRLAB_REVERTED_TRANSACTIONS") == [
        ('{"id": 500, "v": "a wrote after the failover"}',)]
    b.sql("INSERT INTO app.t VALUES (12, 'from b, streamed')", "cluster:main")
    done = _ts(time.time())
    wait_for(lambda: _status(a)["replicated_time"] > done, what="a has caught up with b")
    a.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO LATEST")
    wait_for(lambda: _state(a)[0] == "ready", what="the failback completes")
    a.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
    a.sql("SET CLUSTER SETTING server.controller.default_target_cluster = 'main'")
    assert _content(a) == _content(b)
    assert a.sql("SELECT v FROM t WHERE id = 12", "app") == [("from b, streamed",)]
    a.sql("INSERT INTO t VALUES (13, 'a is the primary again')", "app")
    assert _seconds(failover_time) > 0


def test_a_restarted_standby_keeps_its_stream_and_its_pending_failover(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    a.sql("INSERT INTO app.t VALUES (1, 'before the restart')", "cluster:main")
    (pending,), = b.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '+1h'")
    b.stop()
    a.sql("INSERT INTO app2.t VALUES (1, 'while b was down')", "cluster:main")
    b.start()
    st = _status(b)
    assert st["status"] == "replication pending failover" and st["failover_time"] == pending
    at = time.time() + 1.5
    b.sql(f"ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '{_hlc(at)}'")
    wait_for(lambda: time.time() > at + 0.1, what="the failover time passes")
    a.sql("INSERT INTO app.t VALUES (2, 'after the failover time')", "cluster:main")
    wait_for(lambda: _state(b)[0] == "ready", what="the failover completes after the restart")
    b.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
    assert _content(b) == {"app": [(1, "before the restart")], "app2": [(1, "while b was down")]}
