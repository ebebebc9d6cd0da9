"""Cross-cluster replication end to end: two (or three) real `drlab node` processes, PyMySQL clients."""

from __future__ import annotations

import os
import signal
import threading

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for


def _checksums(n: NodeProcess, db: str, tables: str) -> list[tuple]:
    return n.sql(f"CHECKSUM TABLE {tables}", database=db)


def _populate(primary: NodeProcess, db: str = "app", rows: int = 50) -> None:
    with primary.connect() as c, c.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"USE {db}")
        cur.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40), at DATETIME, r DOUBLE, u CHAR(36))")
        for i in range(rows):
            cur.execute("INSERT INTO t (v, at, r, u) VALUES (%s, NOW(), RAND(), UUID())", (f"row{i}",))


def _replicate(replica: NodeProcess, primary: NodeProcess, db: str = "app", extra: str = "") -> None:
    replica.sql(f"REPLICATE DATABASE {db}{extra} FROM root@127.0.0.1:{primary.port}")


def _caught_up(primary: NodeProcess, replica: NodeProcess, db: str, tables: str = "t") -> bool:
    return _checksums(primary, db, tables) == _checksums(replica, db, tables)


def _ext(n: NodeProcess, db: str) -> dict:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW DATABASES EXTENDED")
        return next(r for r in cur.fetchall() if r["Database"] == db)


@pytest.fixture
def pair(node_factory):  # type: ignore[no-untyped-def]
    return node_factory("a").start(), node_factory("b").start()


def test_replicate_populated_database_then_stream(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a)
    with b.connect() as c, c.cursor() as cur:
        assert cur.execute(f"REPLICATE DATABASE app FROM root@127.0.0.1:{a.port}") == 1
    # the statement returned after catching up with the primary's position at its start
    assert b.sql("SELECT COUNT(*) FROM t", "app") == [(50,)]
    assert _caught_up(a, b, "app")
    with a.connect(database="app") as c, c.cursor() as cur:
        for i in range(30):
            cur.execute("INSERT INTO t (v, at, r, u) VALUES (%s, NOW(), RAND(), UUID())", (f"more{i}",))
        cur.execute("UPDATE t SET v = CONCAT(v, '!') WHERE id % 3 = 0")
        cur.execute("DELETE FROM t WHERE id % 7 = 0")
        cur.execute("ALTER TABLE t ADD COLUMN extra INT DEFAULT 5")
        cur.execute("CREATE TABLE t2 (k VARCHAR(10) PRIMARY KEY, n INT)")
        cur.execute("INSERT INTO t2 VALUES ('x', 1), ('y', 2)")
    wait_for(lambda: _caught_up(a, b, "app", "t, t2"), what="replica converges")
    assert b.sql("SELECT extra FROM t LIMIT 1", "app") == [(5,)]
    ext = _ext(b, "app")
    assert (ext["Role"], ext["State"]) == ("async replica", "replicating")
    assert ext["Position"] == _ext(a, "app")["Position"]
    assert _ext(a, "app")["AsyncSlaves"] == 1


def test_replica_is_read_only(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a, rows=3)
    _replicate(b, a)
    for stmt in ("INSERT INTO t (v) VALUES ('x')", "UPDATE t SET v = 'y'", "DELETE FROM t",
                 "CREATE TABLE z (i INT)", "DROP TABLE t", "ALTER TABLE t ADD COLUMN q INT", "TRUNCATE t"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            b.sql(stmt, "app")
        assert e.value.args[0] == 1290, stmt
        assert "app" in e.value.args[1] and "async replica" in e.value.args[1] and "replicating" in e.value.args[1]
    assert b.sql("SELECT COUNT(*) FROM t", "app") == [(3,)]


def test_status_views_on_both_sides(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a, rows=5)
    _replicate(b, a)
    with b.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW REPLICATION STATUS")
        rows = cur.fetchall()
    assert len(rows) == 1
    r = rows[0]
    assert list(r)[:4] == ["Role", "Database", "Master_URI", "Master_State"]
    assert (r["Role"], r["Database"], r["Master_URI"], r["Connected"]) == (
        "async replica", "app", f"127.0.0.1:{a.port}/app", "yes")
    assert r["Replica_CommitLSN"] == r["Master_CommitLSN"]
    with b.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT * FROM information_schema.LMV_REPLICATION_STATUS")
        lmv = cur.fetchall()
    assert lmv[0]["database_name"] == "app" and lmv[0]["lsn_lag"] == 0 and "estimated_catcup_time_s" in lmv[0]
    assert lmv[0]["primary_uri"] == f"127.0.0.1:{a.port}/app"

    def master_row() -> dict | None:
        with a.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SHOW REPLICATION STATUS")
            got = cur.fetchall()
        return got[0] if got and got[0]["Connected"] == "yes" else None

    m = wait_for(master_row, what="the primary lists its replica")
    assert (m["Role"], m["Database"], m["Master_URI"]) == ("master", "app", None)
    assert m["Replica_URI"] == f"127.0.0.1:{b.port}/app"
    for out in (b.sql("SHOW REPLICATION STATUS"), a.sql("SHOW REPLICATION STATUS")):
        assert "root" not in repr(out) and "''" not in repr(out)


def test_password_never_shown(node_factory) -> None:  # type: ignore[no-untyped-def]
    a = node_factory("a", password="s3cr'et@:pw").start()
    b = node_factory("b").start()
    _populate(a, rows=2)
    b.sql(f"REPLICATE DATABASE app FROM root:'s3cr\\'et@:pw'@127.0.0.1:{a.port}")
    assert b.sql("SELECT COUNT(*) FROM t", "app") == [(2,)]
    shown = repr(b.sql("SHOW REPLICATION STATUS")) + repr(b.sql("SHOW DATABASES EXTENDED"))
    shown += repr(b.sql("SELECT * FROM information_schema.LMV_REPLICATION_STATUS"))
    shown += repr(b.sql("SHOW PROCESSLIST"))
    assert "s3cr" not in shown
    assert "s3cr" not in b.log.read_text()


@pytest.mark.parametrize("source, code", [
    ("root:'wrong'@127.0.0.1:{port}", 1045),
    ("root@127.0.0.1:{dead}", 1429),
    ("root@no-such-host.invalid:{port}", 1429),
    ("root@127.0.0.1:{port}/nosuchdb", 1049),
    ("root@", 1064),
    ("root@127.0.0.1:99999", 1064),
])
def test_replicate_failures_leave_nothing_behind(pair, source: str, code: int) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a, rows=1)
    from lab.harness import free_port

    src = source.format(port=a.port, dead=free_port())
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.sql(f"REPLICATE DATABASE app FROM {src}")
    assert e.value.args[0] == code, e.value.args
    assert "wrong" not in e.value.args[1]
    assert ("app",) not in b.sql("SHOW DATABASES")
    assert b.sql("SELECT 1") == [(1,)]  # still serving


def test_replicate_into_existing_database_and_missing_privilege(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a, rows=1)
    b.sql("CREATE DATABASE app")
    with pytest.raises(pymysql.err.MySQLError) as e:
        _replicate(b, a)
    assert e.value.args[0] == 1007
    a.sql("CREATE USER reader IDENTIFIED BY 'pw'")
    a.sql("GRANT SELECT ON app.* TO reader")
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.sql(f"REPLICATE DATABASE other FROM reader:'pw'@127.0.0.1:{a.port}/app")
    assert e.value.args[0] in (1044, 1142, 1227) and "REPLICATION" in e.value.args[1]
    assert ("other",) not in b.sql("SHOW DATABASES")
    a.sql("GRANT REPLICATION ON *.* TO reader")
    b.sql(f"REPLICATE DATABASE other FROM reader:'pw'@127.0.0.1:{a.port}/app")
    assert b.sql("SELECT COUNT(*) FROM t", "other") == [(1,)]


def test_pause_continue_stop(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a, rows=4)
    _replicate(b, a)
    with b.connect() as c, c.cursor() as cur:
        assert cur.execute("PAUSE REPLICATING app") == 1
    assert _ext(b, "app")["State"] == "replication paused"
    a.sql("INSERT INTO t (v) VALUES ('while paused')", "app")
    with pytest.raises(pymysql.err.OperationalError) as e:
        b.sql("INSERT INTO t (v) VALUES ('no')", "app")
    assert e.value.args[0] == 1290 and "replication paused" in e.value.args[1]
    assert b.sql("SELECT COUNT(*) FROM t", "app") == [(4,)]
    with b.connect() as c, c.cursor() as cur:
        assert cur.execute("CONTINUE REPLICATING app") == 1
    wait_for(lambda: _caught_up(a, b, "app"), what="converges after CONTINUE")
    assert _ext(b, "app")["State"] == "replicating"
    with b.connect() as c, c.cursor() as cur:
        assert cur.execute("STOP REPLICATING app") == 1
    ext = _ext(b, "app")
    assert (ext["Role"], ext["State"]) == ("master", "online")
    assert ext["Term"] == _ext(a, "app")["Term"] + 1  # a new epoch
    b.sql("INSERT INTO t (v) VALUES ('written on the promoted side')", "app")
    a.sql("INSERT INTO t (v) VALUES ('not followed any more')", "app")
    with pytest.raises(pymysql.err.MySQLError) as e:
        b.sql("CONTINUE REPLICATING app")
    assert "STOP REPLICATING" in e.value.args[1]
    for stmt in ("PAUSE REPLICATING app", "STOP REPLICATING app", "STOP REPLICATING nosuch"):
        with pytest.raises(pymysql.err.MySQLError):
            b.sql(stmt)
    assert b.sql("SELECT COUNT(*) FROM t WHERE v LIKE 'not followed%'", "app") == [(0,)]


def test_secondary_sigkill_resumes_by_itself(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a, rows=10)
    _replicate(b, a)
    stop = threading.Event()

    def writer() -> None:
        with a.connect(database="app") as c, c.cursor() as cur:
            while not stop.is_set():
                cur.execute("INSERT INTO t (v, at, r) VALUES ('w', NOW(), RAND())")

    th = threading.Thread(target=writer)
    th.start()
    try:
        wait_for(lambda: b.sql("SELECT COUNT(*) FROM t", "app")[0][0] > 20, what="streaming")
        b.kill()
        b.start()
    finally:
        stop.set()
        th.join()
    wait_for(lambda: _caught_up(a, b, "app"), what="converges after restart")
    assert _ext(b, "app")["State"] == "replicating"


def test_secondary_sigkill_during_provisioning(node_factory) -> None:  # type: ignore[no-untyped-def]
    a = node_factory("a").start()
    b = node_factory("b").start()
    with a.connect() as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE app")
        cur.execute("CREATE TABLE app.t (id INT PRIMARY KEY, pad TEXT)")
        for k in range(20):
            cur.execute("INSERT INTO app.t VALUES " + ",".join(f"({k * 500 + i}, REPEAT('x', 500))" for i in range(500)))

    def run() -> None:
        try:
            b.sql(f"REPLICATE DATABASE app FROM root@127.0.0.1:{a.port}")
        except pymysql.err.MySQLError:
            pass

    th = threading.Thread(target=run)
    th.start()
    wait_for(lambda: ("app",) in b.sql("SHOW DATABASES"), what="provisioning starts")
    b.kill()
    th.join()
    b.start()
    wait_for(lambda: _ext(b, "app")["State"] == "replicating", what="provisioning restarts and finishes")
    wait_for(lambda: _caught_up(a, b, "app"), what="converges")


def test_primary_restart_link_recovers(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    _populate(a, rows=3)
    _replicate(b, a)
    a.stop()

    def disconnected() -> bool:
        rows = b.sql("SELECT secondary_state, lsn_lag FROM information_schema.LMV_REPLICATION_STATUS")
        status = b.sql("SHOW REPLICATION STATUS")
        return bool(rows) and status[0][9] == "no"

    wait_for(disconnected, what="link shown disconnected")
    assert b.sql("SELECT COUNT(*) FROM t", "app") == [(3,)]  # reads keep working
    a.start()
    a.sql("INSERT INTO t (v) VALUES ('after restart')", "app")
    wait_for(lambda: _caught_up(a, b, "app"), what="link recovers")
    assert b.sql("SHOW REPLICATION STATUS")[0][9] == "yes"


def test_primary_with_two_secondaries(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b, c = (node_factory(n).start() for n in "abc")
    _populate(a, rows=5)
    _replicate(b, a)
    c.sql(f"REPLICATE DATABASE copy WITH ASYNC DURABILITY FROM root@127.0.0.1:{a.port}/app")
    a.sql("INSERT INTO t (v) VALUES ('fan out')", "app")
    wait_for(lambda: _checksums(a, "app", "t")[0][1] == _checksums(b, "app", "t")[0][1]
             == _checksums(c, "copy", "t")[0][1], what="both replicas converge")
    wait_for(lambda: _ext(a, "app")["AsyncSlaves"] == 2, what="two replicas listed")
    assert len(a.sql("SHOW REPLICATION STATUS")) == 2


def _big(primary: NodeProcess, db: str = "app", batches: int = 20) -> None:
    with primary.connect() as c, c.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY, pad TEXT)")
        for k in range(batches):
            cur.execute(f"INSERT INTO {db}.t VALUES " + ",".join(f"({k * 500 + i}, REPEAT('x', 500))" for i in range(500)))


def test_provisioning_database_hides_password_refuses_reads_and_can_be_dropped(node_factory) -> None:  # type: ignore[no-untyped-def]
    a = node_factory("a", password="pr0v-secret").start()
    b = node_factory("b").start()
    _big(a, batches=40)
    errors: list[tuple] = []

    def run() -> None:
        try:
            b.sql(f"REPLICATE DATABASE app FROM root:'pr0v-secret'@127.0.0.1:{a.port}")
        except pymysql.err.MySQLError as e:
            errors.append(e.args)

    th = threading.Thread(target=run)
    th.start()
    wait_for(lambda: ("app",) in b.sql("SHOW DATABASES"), what="provisioning starts")
    assert a.proc is not None
    os.kill(a.proc.pid, signal.SIGSTOP)  # the source hangs: the copy stays provisioning
    try:
        assert _ext(b, "app")["State"] == "provisioning"
        row = next(r for r in b.sql("SHOW FULL PROCESSLIST") if "REPLICATE" in str(r[7]))
        assert "pr0v-secret" not in str(row) and "'***'" in row[7]
        with pytest.raises(pymysql.err.OperationalError) as e:
            b.sql("SELECT COUNT(*) FROM t", "app")
        assert e.value.args[0] == 1290 and "provisioning" in e.value.args[1]
        b.sql("DROP DATABASE app")  # the link stops, the half-made copy goes
        th.join(30)
        assert not th.is_alive() and errors and errors[0][0] == 1317, errors
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    assert ("app",) not in b.sql("SHOW DATABASES")
    assert "pr0v-secret" not in b.log.read_text()


def test_two_databases_interleaved(pair) -> None:  # type: ignore[no-untyped-def]
    """Commits of two databases interleave in one log; each replica database gets all of its own."""
    a, b = pair
    _populate(a, "one", rows=3)
    _populate(a, "two", rows=3)
    _replicate(b, a, "one")
    _replicate(b, a, "two")
    for i in range(20):  # the lower database id writes after the higher one has records, and back
        a.sql(f"INSERT INTO t (v) VALUES ('one-{i}')", "one")
        a.sql(f"INSERT INTO t (v) VALUES ('two-{i}')", "two")
    wait_for(lambda: _caught_up(a, b, "one") and _caught_up(a, b, "two"), what="both databases converge")
    assert b.sql("SELECT COUNT(*) FROM t", "one") == [(23,)]
