"""Failback runbooks end to end: seed 000's 11 steps and the 7.1 blog's two scenarios, run by hand
against two real `drlab node` processes while an application writes to whichever side is primary.

The application (lab.app's ``WritingApp``) records every write it saw acknowledged and every error, with the runbook
phase it happened in; each test ends by checking that cluster A is primary, B replicates it,
checksums agree, and no acknowledged write is missing from A.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql
import pytest

from lab.app import COLUMNS as APP_COLUMNS
from lab.app import WritingApp
from lab.harness import LoopbackProxy, NodeProcess, wait_for
from tests.e2e.test_pipelines import CSV, rows_csv, write_csv
from tests.e2e.test_replication import _checksums, _ext

MASTER = ("master", "online")
REPLICA = ("async replica", "replicating")


def _app(nodes: list[NodeProcess], dbs: list[str]) -> WritingApp:
    """App1: lab.app's writing application, into ``<db>.app`` of each of ``dbs``, on ``nodes[0]``."""
    by_name = {n.name: n for n in nodes}
    return WritingApp(lambda name: by_name[name].connect(connect_timeout=2, read_timeout=10), nodes[0].name,
                      [f"{db}.app" for db in dbs])


def _wait_acks(app: WritingApp, node: NodeProcess, more: int) -> None:
    want = app.acks_on(node.name) + more
    wait_for(lambda: app.acks_on(node.name) >= want, what=f"{more} writes acknowledged by {node.name}")


def _acked(app: WritingApp, db: str) -> set[int]:
    return app.acked_in(f"{db}.app")


def _wait_until_on(app: WritingApp, node: NodeProcess, what: str) -> None:
    """Every write acknowledged so far reaches ``node``."""
    acked = {t.split(".")[0]: app.acked_in(t) for t in app.tables}
    wait_for(lambda: all(_has_all(node, db, ids) for db, ids in acked.items()), what=what)


@contextmanager
def _running(node_factory, dbs: list[str], **kw: object) -> Iterator[tuple[NodeProcess, NodeProcess, WritingApp]]:  # type: ignore[no-untyped-def]
    """A primary with ``dbs``, B replicating them, App1 writing to A."""
    a, b = (node_factory(n, **kw).start() for n in "ab")
    _setup(a, b, dbs)
    with _app([a, b], dbs) as app:
        _wait_acks(app, a, 10)
        yield a, b, app


# -- helpers -----------------------------------------------------------------------------------------
def _states(n: NodeProcess, dbs: list[str]) -> dict[str, tuple[str, str]]:
    return {db: (_ext(n, db)["Role"], _ext(n, db)["State"]) for db in dbs}


def _assert_states(n: NodeProcess, dbs: list[str], want: tuple[str, str]) -> None:
    assert _states(n, dbs) == {db: want for db in dbs}, n.name


def _lsn(n: NodeProcess, db: str) -> int:
    return int(_ext(n, db)["Position"].split(":")[1])


def _same_position(a: NodeProcess, b: NodeProcess, dbs: list[str]) -> bool:
    return all(_ext(a, db)["Position"] == _ext(b, db)["Position"] for db in dbs)


def _has_all(n: NodeProcess, db: str, ids: set[int]) -> bool:
    return ids <= {r[0] for r in n.sql("SELECT seq FROM app", db)}


def _write_fails(n: NodeProcess, db: str, code: int = 1290) -> None:
    with pytest.raises(pymysql.MySQLError) as e:
        n.sql("INSERT INTO app (seq, at, node, phase) VALUES (-1, 0, 'operator', 'operator')", db)
    assert e.value.args[0] == code, e.value.args


def _setup(a: NodeProcess, b: NodeProcess, dbs: list[str]) -> None:
    for db in dbs:
        a.sql(f"CREATE DATABASE {db}")
        a.sql(f"CREATE TABLE app {APP_COLUMNS}", db)
        a.sql("CREATE TABLE t (id INT, v VARCHAR(20))", db)  # pipeline rows; no key: a duplicate shows
        b.sql(f"REPLICATE DATABASE {db} FROM root@127.0.0.1:{a.port}")
    _assert_states(a, dbs, MASTER)
    _assert_states(b, dbs, REPLICA)


def _differential(local: NodeProcess, source: NodeProcess, db: str) -> list[tuple]:
    """``REPLICATE db WITH FORCE DIFFERENTIAL`` on ``local``; returns its warnings."""
    with local.connect() as c, c.cursor() as cur:
        assert cur.execute(f"REPLICATE DATABASE {db} WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:{source.port}") == 1
        cur.execute("SHOW WARNINGS")
        return list(cur.fetchall())


def _fail_over(old: NodeProcess, new: NodeProcess, app: WritingApp, dbs: list[str]) -> None:
    """The primary fails once its replica has all it acknowledged; the replica is promoted and the
    application follows it. Until then its writes to the dead primary fail."""
    app.pause()
    wait_for(lambda: _same_position(old, new, dbs), what=f"{new.name} caught up before the failure")
    old.kill()
    app.resume(f"{old.name} down")
    wait_for(lambda: app.failed_codes(app.phase), what=f"the application's writes to {old.name} failing")
    for db in dbs:
        new.sql(f"STOP REPLICATING {db}")
    _assert_states(new, dbs, MASTER)
    app.repoint(new.name, f"primary {new.name}")
    _wait_acks(app, new, 40)
    assert {code for _, code in app.failed_codes(f"{old.name} down")} <= {2003, 2013}


def _swap_roles(frm: NodeProcess, to: NodeProcess, app: WritingApp, dbs: list[str],
                before_flush: Callable[[], None] = lambda: None, after_promote: Callable[[], None] = lambda: None) -> None:
    """A planned switchover (seed 000 steps 7-10, blog scenario 1 steps 5-7): READ ONLY on ``frm``,
    ``to`` catches up and is promoted, the application moves, ``frm`` is unlocked."""
    with frm.connect() as op, op.cursor() as cur:  # the operator's session: the lock is its own
        before_flush()
        app.set_phase(f"read only on {frm.name}")
        cur.execute("FLUSH TABLES WITH READ ONLY")
        wait_for(lambda: app.failed_codes(app.phase), what="a write of the application failing on the read-only side")
        _write_fails(frm, dbs[0])
        assert frm.sql(f"SELECT COUNT(*) >= 0 FROM {dbs[0]}.app") == [(1,)]  # reads keep working
        # the secondary still applies: the read-only primary keeps serving it
        wait_for(lambda: _same_position(frm, to, dbs), what=f"{to.name} caught up with the read-only {frm.name}")
        for db in dbs:
            to.sql(f"STOP REPLICATING {db}")
        _assert_states(to, dbs, MASTER)
        after_promote()
        read_only = app.phase
        app.repoint(to.name, f"primary {to.name}")
        # no write to frm can be in flight any more: none can land after UNLOCK and be reverted later
        assert app.failed_codes(read_only) == {(frm.name, 1290)}
        cur.execute("UNLOCK TABLES")
    _assert_states(frm, dbs, MASTER)  # two masters for a moment: frm took no write since the flush
    _wait_acks(app, to, 20)


def _follow(replica: NodeProcess, primary: NodeProcess, dbs: list[str]) -> None:
    """The side that gave up the primary role replicates from the new primary: nothing to revert."""
    for db in dbs:
        assert _differential(replica, primary, db) == []
    _assert_states(replica, dbs, REPLICA)
    _write_fails(replica, dbs[0])


def _finish(app: WritingApp, primary: NodeProcess, replica: NodeProcess, dbs: list[str], tables: str = "app") -> None:
    """Both sides agree, every acknowledged write is on the primary, no refused write is."""
    app.pause()
    wait_for(lambda: _same_position(primary, replica, dbs), what="the replica caught up at the end")
    _assert_states(primary, dbs, MASTER)
    _assert_states(replica, dbs, REPLICA)
    for db in dbs:
        assert _checksums(primary, db, tables) == _checksums(replica, db, tables)
        ids = {r[0] for r in primary.sql("SELECT seq FROM app", db)}
        acked = _acked(app, db)
        assert acked <= ids, f"{db}: acknowledged writes lost: {sorted(acked - ids)[:10]}"
        assert ids - {-1} == acked
    # writes failed only where the runbooks say: to a node that is down, or to a read-only primary
    for phase, name, code, _ in app.failed:
        assert (phase, code in (2003, 2013)) == (f"{name} down", True) or (phase, code) == (f"read only on {name}", 1290)
    assert any(code == 1290 for _, _, code, _ in app.failed)  # refused writes, none of them on A (above)
    for n in (primary, replica):
        assert n.sql("SELECT COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS WHERE TABLE_NAME = 'app'") \
            == [(0,)], n.name


# -- seed 000: the 11 steps ---------------------------------------------------------------------------
def _pipeline_files(n: NodeProcess, db: str) -> dict[str, str]:
    rows = n.sql(f"SELECT FILE_NAME, FILE_STATE FROM information_schema.PIPELINES_FILES WHERE DATABASE_NAME = '{db}'")
    return {Path(f).name: s for f, s in rows}


def _loaded(n: NodeProcess, db: str, files: int) -> bool:
    return (n.sql("SELECT COUNT(*), COUNT(DISTINCT id) FROM t", db) == [(files * 10, files * 10)]
            and set(_pipeline_files(n, db).values()) == {"Loaded"})


def test_seed_000_failback_eleven_steps(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = tmp_path / "files"  # both clusters read one directory, as two clusters would read one bucket
    pipes = {"ExampleDB1": "ExamplePipeline1", "ExampleDB2": "ExamplePipeline2"}
    dbs = list(pipes)

    def new_file(i: int) -> None:
        for db in dbs:
            write_csv(files / db, f"f{i}.csv", rows_csv(i * 10, i * 10 + 10))

    with _running(node_factory, dbs, extra=["--secure-file-priv", str(files)]) as (a, b, app):
        for db, pipe in pipes.items():
            a.sql(f"CREATE PIPELINE {pipe} AS LOAD DATA FS '{files / db}/*.csv' BATCH_INTERVAL 50 INTO TABLE t {CSV}",
                  db)
            a.sql(f"START PIPELINE {pipe}", db)
        new_file(0)
        wait_for(lambda: all(_loaded(a, db, 1) for db in dbs), what="A's pipelines load f0")
        _fail_over(a, b, app, dbs)  # "cluster A fails and you take it offline"; steps 1 and 2
        # step 1: the pipelines start by themselves on B with A's state; step 2: App1 writes to B
        for db, pipe in pipes.items():
            wait_for(lambda db=db, pipe=pipe: b.sql("SHOW PIPELINES", db) == [(pipe, "Running", "True")],
                     what=f"{pipe} starts on B")
        new_file(1)
        wait_for(lambda: all(_loaded(b, db, 2) for db in dbs), what="B's pipelines load f1")

        # step 3: A is back, as it was: a master whose pipelines resume. They load f1 a second time,
        # on A: a split brain that step 4 undoes.
        a.start()
        _assert_states(a, dbs, MASTER)
        wait_for(lambda: all(_loaded(a, db, 2) for db in dbs), what="A's own pipelines load f1 too")

        # step 4: only what A lacks is shipped; the statement returns once A has B's position at its start
        for db in dbs:
            before, acked = _lsn(b, db), _acked(app, db)
            warnings = _differential(a, b, db)
            assert _lsn(a, db) >= before
            assert _has_all(a, db, acked), f"{db}: REPLICATE returned before A had B's writes"
            assert len(warnings) == 1 and "DRLAB_REVERTED_TRANSACTIONS" in warnings[0][2], warnings
        reverted = a.sql("SELECT DISTINCT DATABASE_NAME, TABLE_NAME FROM information_schema.DRLAB_REVERTED_TRANSACTIONS "
                         "WHERE TABLE_NAME = 't'")
        assert sorted(reverted) == [(db, "t") for db in dbs]  # A's second load of f1, kept for inspection
        assert a.sql("SELECT COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS WHERE TABLE_NAME = 'app'") \
            == [(0,)]
        _assert_states(a, dbs, REPLICA)
        for db in dbs:
            assert _loaded(a, db, 2)  # f1 once, from B's log
            assert a.sql("SHOW PIPELINES", db) == [(pipes[db], "Running", "False")]  # not run on a replica

        # steps 5 and 6: App1 keeps writing to B; those writes stream to A, which refuses writes itself
        _wait_acks(app, b, 20)
        _write_fails(a, "ExampleDB2")
        _wait_until_on(app, a, "step 5's writes reach A")

        # steps 7 to 10: stop the pipelines, READ ONLY on B (App1's writes to B fail), A catches up and
        # is promoted, its pipelines start with B's state, App1 moves to A, B is unlocked
        def stop_pipelines() -> None:
            for db, pipe in pipes.items():
                b.sql(f"STOP PIPELINE {pipe}", db)
            new_file(2)  # nobody loads it until step 9

        def start_pipelines() -> None:
            for db, pipe in pipes.items():
                assert a.sql("SHOW PIPELINES", db) == [(pipe, "Stopped", "False")]
                assert _pipeline_files(a, db) == {"f0.csv": "Loaded", "f1.csv": "Loaded", "f2.csv": "Unloaded"}
                a.sql(f"START PIPELINE {pipe}", db)

        _swap_roles(b, a, app, dbs, stop_pipelines, start_pipelines)
        wait_for(lambda: all(_loaded(a, db, 3) for db in dbs), what="A's pipelines load f2")

        # step 11: B follows A, receiving only what A wrote after its promotion
        _follow(b, a, dbs)
        new_file(3)
        wait_for(lambda: all(_loaded(a, db, 4) for db in dbs), what="A's pipelines load f3")
        _wait_acks(app, a, 20)
        _finish(app, a, b, dbs, "app, t")
    for db in dbs:
        assert _loaded(b, db, 4) and _pipeline_files(b, db) == _pipeline_files(a, db)
    assert b.sql("SELECT COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS") == [(0,)]
    assert {code for _, n, code, _ in app.failed if n == "b"} == {1290}


# -- the blog's scenarios ---------------------------------------------------------------------------------
def test_blog_scenario_1_primary_down_then_back(node_factory) -> None:  # type: ignore[no-untyped-def]
    dbs = ["orders"]
    with _running(node_factory, dbs) as (a, b, app):
        _fail_over(a, b, app, dbs)  # 1-2: DB1 goes down, DB2 is promoted and takes ChangeSet1
        a.start()  # 3: DB1 is back; it catches up with ChangeSet1 only, while ChangeSet2 comes in
        _assert_states(a, dbs, MASTER)
        at_restart = _lsn(a, "orders")
        assert _differential(a, b, "orders") == []  # nothing diverged: A had stopped at B's promotion point
        _assert_states(a, dbs, REPLICA)
        _wait_acks(app, b, 20)
        _wait_until_on(app, a, "A streams ChangeSet2")
        with a.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SHOW REPLICATION STATUS")
            st = cur.fetchall()[0]
        # no snapshot: every record A applied came from the log after its own position
        assert st["Replica_Commits"] == int(st["Replica_CommitLSN"].split(":")[1]) - at_restart > 0
        _swap_roles(b, a, app, dbs)  # 5-6: READ ONLY on DB2, DB1 catches up, is promoted and takes ChangeSet3
        _follow(b, a, dbs)  # 7: DB2 follows DB1 again
        _wait_acks(app, a, 20)
        _finish(app, a, b, dbs)


def test_blog_scenario_2_rolling_upgrade(node_factory) -> None:  # type: ignore[no-untyped-def]
    dbs = ["orders"]
    with _running(node_factory, dbs) as (a, b, app):
        b.stop()  # 2: the secondary goes down for its upgrade; ChangeSet1 is written on A
        _wait_acks(app, a, 40)
        b.start()  # 3: it remembers it replicates from A and resumes by itself
        _assert_states(b, dbs, REPLICA)
        _wait_acks(app, a, 10)  # 4: ChangeSet2
        _wait_until_on(app, b, "B streams ChangeSet1 after its restart")
        _write_fails(b, "orders")
        _swap_roles(a, b, app, dbs)  # 5-6: READ ONLY on A until B caught up, B promoted, traffic to B
        a.stop()  # 7: A is down for its upgrade; ChangeSet3 is written on B
        _wait_acks(app, b, 40)
        a.start()
        _assert_states(a, dbs, MASTER)
        _follow(a, b, dbs)  # 8-9: A replicates only ChangeSet3
        _wait_acks(app, b, 10)
        _swap_roles(b, a, app, dbs)  # 10: A becomes the primary again (scenario 1, steps 5-7)
        _follow(b, a, dbs)
        _wait_acks(app, a, 20)
        _finish(app, a, b, dbs)


# -- catch-up progress ------------------------------------------------------------------------------------
def _copied(node_factory, table: str, extra: str = "") -> tuple[NodeProcess, NodeProcess]:  # type: ignore[no-untyped-def]
    """A creates ``big`` with ``table``; B replicates it."""
    a, b = node_factory("a").start(), node_factory("b").start()
    a.sql("CREATE DATABASE big")
    a.sql(f"CREATE TABLE {table}", "big")
    b.sql(f"REPLICATE DATABASE big{extra} FROM root@127.0.0.1:{a.port}")
    return a, b


def _failed_over(node_factory, table: str, extra: str = "") -> tuple[NodeProcess, NodeProcess]:  # type: ignore[no-untyped-def]
    """A's copy of ``big`` is left behind: A is killed and B promoted."""
    a, b = _copied(node_factory, table, extra)
    a.kill()
    b.sql("STOP REPLICATING big")
    return a, b


def test_status_shows_how_far_a_differential_catch_up_is(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = _failed_over(node_factory, "t (id INT PRIMARY KEY, v VARCHAR(20))", " WITH ASYNC DURABILITY")
    backlog = 20_000

    def write(k: int) -> None:  # one record per INSERT
        with b.connect(database="big") as c, c.cursor() as cur:
            for i in range(k, backlog, 4):
                cur.execute(f"INSERT INTO t VALUES ({i}, 'v')")

    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    a.start()
    done, outcome = threading.Event(), []

    def replicate() -> None:
        try:
            outcome.append(_differential(a, b, "big"))
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            outcome.append(e)
        done.set()

    samples: list[tuple[int, int, int]] = []  # (lsn_lag, records applied, of)
    threading.Thread(target=replicate).start()
    with a.connect() as c, c.cursor() as cur:
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            cur.execute("SELECT lsn_lag FROM information_schema.LMV_REPLICATION_STATUS WHERE database_name = 'big'")
            lag = cur.fetchall()
            cur.execute("SHOW DATABASES EXTENDED")
            details = next(r[5] for r in cur.fetchall() if r[0] == "big")
            if lag and details.startswith("catching up; "):
                applied, _, total = details.split("; ")[1].split()[:3]
                samples.append((lag[0][0], int(applied), int(total)))
    assert done.wait(60) and outcome == [[]], outcome
    assert all(lag > 0 for lag, n, total in samples if n < total), samples  # never "0 behind" while catching up
    lags = [s[0] for s in samples if s[0] > 0]
    assert len(lags) >= 2 and lags[-1] < lags[0], samples
    assert all(s[2] == backlog for s in samples)
    applied = [s[1] for s in samples]
    assert applied == sorted(applied) and 0 < max(applied) <= backlog, samples
    assert all(lag >= backlog - n for lag, n, _ in samples if lag > 0), samples  # the two views agree
    assert _lsn(a, "big") == _lsn(b, "big")
    assert a.sql("SELECT lsn_lag FROM information_schema.LMV_REPLICATION_STATUS") == [(0,)]


def test_lag_is_known_before_the_first_records_arrive(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = _failed_over(node_factory, "t (id INT PRIMARY KEY)")
    b.sql("INSERT INTO t VALUES " + ",".join(f"({i})" for i in range(50)), "big")  # one record
    b.sql("INSERT INTO t VALUES (50)", "big")
    a.start()
    proxy = LoopbackProxy(b.port, hold=b"DRLAB REPLICATION FETCH")
    th = threading.Thread(target=lambda: a.sql(
        f"REPLICATE DATABASE big WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:{proxy.port}"))
    th.start()
    try:
        assert proxy.held.wait(20), "the differential never fetched"
        assert _ext(a, "big")["Details"].startswith("catching up; 0 of 2 records applied")
        lmv = a.sql("SELECT lsn_lag FROM information_schema.LMV_REPLICATION_STATUS WHERE database_name = 'big'")
        assert lmv == [(2,)], "A is 2 records behind and knows it (from the source's HELLO), yet shows this lag"
    finally:
        proxy.release.set()
        th.join(30)
        proxy.close()


# -- refusals that must leave everything as it was ------------------------------------------------------
def test_ddl_revert_on_a_provisioned_copy(node_factory) -> None:  # type: ignore[no-untyped-def]
    """B's log starts at its snapshot: the divergent DDL is undone by replaying from that snapshot."""
    a, b = _copied(node_factory, "t (id INT PRIMARY KEY)")
    a.sql("INSERT INTO t VALUES (1)", "big")
    wait_for(lambda: b.sql("SELECT COUNT(*) FROM t", "big") == [(1,)], what="B caught up")
    b.sql("STOP REPLICATING big")  # a split brain: both sides take writes
    b.sql("CREATE TABLE x (i INT)", "big")
    b.sql("INSERT INTO t VALUES (2)", "big")
    a.sql("INSERT INTO t VALUES (3)", "big")
    _differential(b, a, "big")
    assert _states(b, ["big"]) == {"big": REPLICA}
    assert b.sql("SHOW TABLES", "big") == [("t",)]
    assert b.sql("SELECT id FROM t ORDER BY id", "big") == [(1,), (3,)]
    ops = b.sql("SELECT OPERATION FROM information_schema.DRLAB_REVERTED_TRANSACTIONS ORDER BY LSN")
    assert [o[0] for o in ops] == ["DDL", "INSERT"]  # the CREATE TABLE's statements, then the row
    b.stop()
    b.start()  # nothing is left pending
    a.sql("INSERT INTO t VALUES (4)", "big")
    wait_for(lambda: b.sql("SELECT id FROM t ORDER BY id", "big") == [(1,), (3,), (4,)], what="streams on after restart")


def test_refused_revert_changes_nothing(node_factory) -> None:  # type: ignore[no-untyped-def]
    """C's copy began at a snapshot of B taken after B and A had split: C cannot revert that far."""
    a, b = _copied(node_factory, "t (id INT PRIMARY KEY)")
    c = node_factory("c").start()
    a.sql("INSERT INTO t VALUES (1)", "big")
    wait_for(lambda: b.sql("SELECT COUNT(*) FROM t", "big") == [(1,)], what="B caught up")
    b.sql("STOP REPLICATING big")
    b.sql("INSERT INTO t VALUES (2)", "big")  # B's own epoch
    a.sql("INSERT INTO t VALUES (3)", "big")  # A goes on in the old one
    c.sql(f"REPLICATE DATABASE big FROM root@127.0.0.1:{b.port}")
    c.sql("STOP REPLICATING big")
    with pytest.raises(pymysql.MySQLError) as e:
        _differential(c, a, "big")
    assert e.value.args[0] == 1236 and "Cannot revert" in e.value.args[1]
    assert _states(c, ["big"]) == {"big": MASTER}
    assert c.sql("SELECT id FROM t ORDER BY id", "big") == [(1,), (2,)]
    c.stop()
    c.start()
    assert c.sql("SELECT COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS") == [(0,)]
    assert c.sql("SELECT id FROM t ORDER BY id", "big") == [(1,), (2,)]


def test_differential_from_a_replica_of_itself_is_refused(node_factory) -> None:  # type: ignore[no-untyped-def]
    # seed 000 step 11 run before step 8 (A still replicates from B): no side may be left without a primary
    a, b = _copied(node_factory, "t (id INT PRIMARY KEY)")
    with pytest.raises(pymysql.MySQLError) as e:
        _differential(a, b, "big")
    assert "replica" in e.value.args[1]
    assert _states(a, ["big"]) == {"big": MASTER}
    a.sql("INSERT INTO t VALUES (1)", "big")
