"""Pipelines end to end: real `drlab node` processes, CSV files on disk, pymysql."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for

CSV = "FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n'"


def write_csv(directory: Path, name: str, rows: list[str] | str) -> Path:
    """Write a file the way a producer should: a hidden temporary name, then an atomic rename."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.tmp"
    tmp.write_text(rows if isinstance(rows, str) else "".join(r + "\n" for r in rows))
    final = directory / name
    os.replace(tmp, final)
    return final


def start_node(node_factory, root: Path, name: str = "a") -> NodeProcess:  # type: ignore[no-untyped-def]
    return node_factory(name, extra=["--secure-file-priv", str(root)]).start()


def q(n: NodeProcess, sql: str, db: str | None = "d") -> list[tuple]:
    return n.sql(sql, database=db)


def err(n: NodeProcess, sql: str, db: str | None = "d") -> tuple[int, str]:
    with pytest.raises(pymysql.MySQLError) as e:
        q(n, sql, db)
    return e.value.args[0], e.value.args[1]


def files(n: NodeProcess, pipeline: str) -> dict[str, str]:
    rows = q(n, "SELECT FILE_NAME, FILE_STATE FROM information_schema.PIPELINES_FILES "
                f"WHERE PIPELINE_NAME = '{pipeline}'", None)
    return {os.path.basename(f): s for f, s in rows}


def count(n: NodeProcess, table: str = "t") -> int:
    return q(n, f"SELECT COUNT(*) FROM {table}")[0][0]


def state(n: NodeProcess, pipeline: str) -> str:
    return q(n, f"SELECT STATE FROM information_schema.PIPELINES WHERE PIPELINE_NAME = '{pipeline}'", None)[0][0]


def rows_csv(start: int, stop: int) -> list[str]:
    return [f"{i},name{i}" for i in range(start, stop)]


def test_load_a_directory_add_files_stop_start_drop_file(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "files"
    inbox = root / "in"
    write_csv(inbox, "f1.csv", rows_csv(1, 4))
    write_csv(inbox, "f2.csv", rows_csv(4, 6))
    a = start_node(node_factory, root)
    q(a, "CREATE DATABASE d", None)
    q(a, "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))")
    q(a, f"CREATE PIPELINE p AS LOAD DATA FS '{inbox}/*.csv' BATCH_INTERVAL 50 INTO TABLE t {CSV}")
    assert q(a, "SHOW PIPELINES") == [("p", "Stopped", "False")]
    assert files(a, "p") == {"f1.csv": "Unloaded", "f2.csv": "Unloaded"}
    assert count(a) == 0  # creating a pipeline loads nothing

    q(a, "START PIPELINE p")
    wait_for(lambda: count(a) == 5, what="the first two files loaded")
    wait_for(lambda: files(a, "p") == {"f1.csv": "Loaded", "f2.csv": "Loaded"}, what="files Loaded")
    assert q(a, "SHOW PIPELINES") == [("p", "Running", "True")]
    code, msg = err(a, "START PIPELINE p")
    assert code == 1210 and "already running" in msg
    q(a, "START PIPELINE IF NOT RUNNING p")

    write_csv(inbox, "f3.csv", rows_csv(6, 9))  # noticed while running
    wait_for(lambda: count(a) == 8, what="a new file loaded by the running pipeline")

    q(a, "STOP PIPELINE p")
    assert state(a, "p") == "Stopped"
    code, msg = err(a, "STOP PIPELINE p")
    assert code == 1210 and "not running" in msg
    q(a, "STOP PIPELINE IF RUNNING p")
    write_csv(inbox, "f4.csv", rows_csv(9, 11))
    assert files(a, "p")["f4.csv"] == "Unloaded"
    q(a, "START PIPELINE p")
    wait_for(lambda: files(a, "p").get("f4.csv") == "Loaded", what="f4 loaded after START")
    assert count(a) == 10

    # drop a file's record and load it again
    q(a, "STOP PIPELINE p")
    q(a, "DELETE FROM t WHERE id < 4")
    q(a, "ALTER PIPELINE p DROP FILE 'f1.csv'")
    assert files(a, "p")["f1.csv"] == "Unloaded"
    q(a, "START PIPELINE p")
    wait_for(lambda: files(a, "p")["f1.csv"] == "Loaded" and count(a) == 10, what="f1 reloaded")
    assert q(a, "SELECT COUNT(DISTINCT id), MIN(id), MAX(id) FROM t") == [(10, 1, 10)]
    code, _ = err(a, "ALTER PIPELINE p DROP FILE 'nope.csv'")
    assert code == 1210

    batches = q(a, "SELECT BATCH_STATE, ROWS_INSERTED FROM information_schema.PIPELINES_BATCHES_SUMMARY "
                   "WHERE PIPELINE_NAME = 'p' ORDER BY BATCH_ID", None)
    assert {s for s, _ in batches} == {"Succeeded"}
    assert sum(r for _, r in batches) == 13  # 10 rows, f1's 3 twice
    assert q(a, "SELECT COUNT(*) FROM information_schema.PIPELINES_ERRORS", None) == [(0,)]
    (name, create), = q(a, "SHOW CREATE PIPELINE p")
    assert name == "p" and create.startswith(f"CREATE PIPELINE `p`\nAS LOAD DATA FS '{inbox}/*.csv'\nBATCH_INTERVAL 50")
    cfg = q(a, "SELECT PIPELINE_ID, CONFIG_JSON, STATE FROM information_schema.PIPELINES", None)
    assert cfg[0][0] == 1 and '"source_type": "FS"' in cfg[0][1] and cfg[0][2] == "Running"
    # internal state tables stay hidden
    assert q(a, "SHOW TABLES") == [("t",)]
    assert q(a, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'd'", None) == [("t",)]

    # a restart keeps the pipeline running and picks up what arrived meanwhile
    a.stop()
    write_csv(inbox, "f5.csv", rows_csv(11, 13))
    a.start()
    wait_for(lambda: count(a) == 12, what="the pipeline resumed after a restart")
    assert q(a, "SHOW PIPELINES") == [("p", "Running", "True")]

    # foreground runs, errors, drop
    other = root / "other"
    write_csv(other, "g1.csv", rows_csv(100, 103))
    write_csv(other, "g2.csv", rows_csv(103, 104))
    q(a, "CREATE TABLE t2 (id INT PRIMARY KEY, name VARCHAR(20))")
    q(a, f"CREATE PIPELINE fg AS LOAD DATA FS '{other}' INTO TABLE t2 {CSV}")
    with a.connect(database="d") as c, c.cursor() as cur:
        assert cur.execute("START PIPELINE fg FOREGROUND LIMIT 1 BATCHES") == 4
    assert count(a, "t2") == 4 and state(a, "fg") == "Stopped"
    with a.connect(database="d") as c, c.cursor() as cur:
        assert cur.execute("START PIPELINE fg FOREGROUND") == 0
    code, msg = err(a, f"CREATE PIPELINE fg AS LOAD DATA FS '{other}' INTO TABLE t2 {CSV}")
    assert code == 1304
    q(a, f"CREATE PIPELINE IF NOT EXISTS fg AS LOAD DATA FS '{other}' INTO TABLE t2 {CSV}")
    code, msg = err(a, f"CREATE PIPELINE bad AS LOAD DATA FS '{tmp_path}/elsewhere/*.csv' INTO TABLE t {CSV}")
    assert code == 1290 and "secure-file-priv" in msg
    code, msg = err(a, f"CREATE PIPELINE bad AS LOAD DATA FS '{inbox}/../../x' INTO TABLE t {CSV}")
    assert code == 1290
    code, _ = err(a, f"CREATE PIPELINE bad AS LOAD DATA FS '{inbox}' INTO TABLE nope {CSV}")
    assert code == 1146
    code, _ = err(a, "START PIPELINE nope")
    assert code == 1305
    q(a, "DROP PIPELINE p")
    q(a, "DROP PIPELINE IF EXISTS p")
    assert q(a, "SHOW PIPELINES") == [("fg", "Stopped", "False")]
    assert files(a, "p") == {}
    write_csv(inbox, "f6.csv", rows_csv(13, 14))
    assert count(a) == 12  # a dropped pipeline loads nothing more
    q(a, "START PIPELINE fg")
    a.sql("DROP DATABASE d")  # with a running pipeline
    assert a.sql("SHOW DATABASES") == [("information_schema",)]
    assert a.sql("SELECT COUNT(*) FROM information_schema.PIPELINES") == [(0,)]


def test_bad_rows_follow_the_error_policy(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "files"
    a = start_node(node_factory, root)
    q(a, "CREATE DATABASE d", None)

    def pipeline(name: str, clause: str, contents: dict[str, list[str]]) -> None:
        q(a, f"CREATE TABLE {name} (id INT PRIMARY KEY, name VARCHAR(20))")
        for f, rows in contents.items():
            write_csv(root / name, f, rows)
        q(a, f"CREATE PIPELINE {name} AS LOAD DATA FS '{root / name}' BATCH_INTERVAL 50 {clause} "
             f"INTO TABLE {name} {CSV}")
        q(a, f"START PIPELINE {name}")

    good, short, dup = ["1,a", "2,b"], ["3,c", "4", "5,e"], ["6,f", "1,again", "7,g"]
    # default: the batch fails, is retried, then the pipeline stops with state Error
    pipeline("stops", "MAX_RETRIES_PER_BATCH_PARTITION 1 STOP_ON_ERROR ON", {"a.csv": good, "b.csv": short})
    wait_for(lambda: state(a, "stops") == "Error", what="pipeline in Error")
    assert count(a, "stops") == 0  # the whole batch rolled back
    assert q(a, "SHOW PIPELINES LIKE 'stops'") == [("stops", "Error", "False")]
    errs = q(a, "SELECT ERROR_CODE, LOAD_DATA_LINE_NUMBER, LOAD_DATA_LINE, BATCH_SOURCE_PARTITION_ID "
                "FROM information_schema.PIPELINES_ERRORS WHERE PIPELINE_NAME = 'stops'", None)
    assert len(errs) == 2 and {e[:3] for e in errs} == {(1261, 2, "4")} and errs[0][3].endswith("b.csv")
    assert [r[0] for r in q(a, "SELECT BATCH_STATE FROM information_schema.PIPELINES_BATCHES_SUMMARY "
                               "WHERE PIPELINE_NAME = 'stops'", None)] == ["Failed", "Failed"]
    # fix the file, start again: everything loads
    write_csv(root / "stops", "b.csv", ["3,c", "4,d", "5,e"])
    q(a, "START PIPELINE stops")
    wait_for(lambda: count(a, "stops") == 5, what="the fixed file loaded")

    # STOP_ON_ERROR OFF: the bad file is Skipped, the others load, the pipeline keeps running
    pipeline("skipfile", "MAX_RETRIES_PER_BATCH_PARTITION 0 STOP_ON_ERROR OFF",
             {"a.csv": good, "b.csv": short, "c.csv": ["8,h"]})
    wait_for(lambda: files(a, "skipfile") == {"a.csv": "Loaded", "b.csv": "Skipped", "c.csv": "Loaded"},
             what="b.csv Skipped")
    assert q(a, "SELECT id FROM skipfile ORDER BY id") == [(1,), (2,), (8,)]
    assert state(a, "skipfile") == "Running"
    assert q(a, "SELECT SKIPPED_BATCH_PARTITIONS FROM information_schema.PIPELINES "
                "WHERE PIPELINE_NAME = 'skipfile'", None) == [(1,)]
    assert q(a, "SELECT ERROR_CODE FROM information_schema.PIPELINES_ERRORS WHERE PIPELINE_NAME = 'skipfile'",
             None) == [(1261,)]

    # SKIP ... ERRORS: the bad row is skipped, the rest of its file loads
    pipeline("skipparser", "SKIP PARSER ERRORS", {"a.csv": short})
    wait_for(lambda: files(a, "skipparser") == {"a.csv": "Loaded"}, what="skipparser loaded")
    assert q(a, "SELECT id FROM skipparser ORDER BY id") == [(3,), (5,)]
    pipeline("skipdup", "SKIP DUPLICATE KEY ERRORS", {"a.csv": good, "b.csv": dup})
    wait_for(lambda: files(a, "skipdup") == {"a.csv": "Loaded", "b.csv": "Loaded"}, what="skipdup loaded")
    assert q(a, "SELECT id, name FROM skipdup ORDER BY id") == [(1, "a"), (2, "b"), (6, "f"), (7, "g")]
    assert q(a, "SELECT ERROR_CODE, LOAD_DATA_LINE FROM information_schema.PIPELINES_ERRORS "
                "WHERE PIPELINE_NAME = 'skipdup'", None) == [(1062, "1,again")]
    pipeline("skipall", "SKIP ALL ERRORS", {"a.csv": good + short + dup})
    wait_for(lambda: files(a, "skipall") == {"a.csv": "Loaded"}, what="skipall loaded")
    assert count(a, "skipall") == 6

    q(a, "CREATE TABLE skipcon (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)")
    write_csv(root / "skipcon", "a.csv", ["1,a", "2,\\N", "3,c"])
    q(a, f"CREATE PIPELINE skipcon AS LOAD DATA FS '{root / 'skipcon'}' BATCH_INTERVAL 50 SKIP CONSTRAINT ERRORS "
         f"INTO TABLE skipcon {CSV}")
    q(a, "START PIPELINE skipcon")
    wait_for(lambda: files(a, "skipcon") == {"a.csv": "Loaded"}, what="skipcon loaded")
    assert q(a, "SELECT id FROM skipcon ORDER BY id") == [(1,), (3,)]
    assert q(a, "SELECT ERROR_CODE FROM information_schema.PIPELINES_ERRORS WHERE PIPELINE_NAME = 'skipcon'",
             None) == [(1048,)]

    # IGNORE keeps the first row of a duplicate key; REPLACE keeps the last
    pipeline("ign", "IGNORE", {"a.csv": good, "b.csv": dup})
    wait_for(lambda: files(a, "ign") == {"a.csv": "Loaded", "b.csv": "Loaded"}, what="ign loaded")
    assert q(a, "SELECT name FROM ign WHERE id = 1") == [("a",)]
    pipeline("rep", "REPLACE", {"a.csv": good, "b.csv": dup})
    wait_for(lambda: files(a, "rep") == {"a.csv": "Loaded", "b.csv": "Loaded"}, what="rep loaded")
    assert q(a, "SELECT name FROM rep WHERE id = 1") == [("again",)]
    assert count(a, "rep") == 4

    # a foreground run reports the error to the client
    q(a, "CREATE TABLE fg (id INT PRIMARY KEY, name VARCHAR(20))")
    write_csv(root / "fg", "a.csv", short)
    q(a, f"CREATE PIPELINE fg AS LOAD DATA FS '{root / 'fg'}' MAX_RETRIES_PER_BATCH_PARTITION 0 "
         f"INTO TABLE fg {CSV}")
    code, msg = err(a, "START PIPELINE fg FOREGROUND")
    assert code == 1261 and "a.csv" in msg
    assert count(a, "fg") == 0


def test_sigkill_in_the_middle_of_a_batch_loads_no_duplicates(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "files"
    n = 40000
    write_csv(root / "big", "a.csv", [f"{i},v{i}" for i in range(n)])
    write_csv(root / "big", "b.csv", [f"{i},v{i}" for i in range(n, n + 10)])
    a = start_node(node_factory, root)
    q(a, "CREATE DATABASE d", None)
    q(a, "CREATE TABLE t (id INT, v VARCHAR(20))")  # no key: a duplicate would show
    q(a, f"CREATE PIPELINE big AS LOAD DATA FS '{root / 'big'}' BATCH_INTERVAL 50 INTO TABLE t {CSV}")
    q(a, "START PIPELINE big")

    def in_progress() -> bool:
        rows = q(a, "SELECT ROWS_STREAMED FROM information_schema.PIPELINES_BATCHES_SUMMARY "
                    "WHERE BATCH_STATE = 'In Progress'", None)
        return bool(rows) and 1000 <= rows[0][0] < n

    wait_for(in_progress, what="a batch in progress")
    assert count(a) == 0  # the batch's rows are not committed yet
    a.stop(signal.SIGKILL)
    a.start()
    wait_for(lambda: count(a) == n + 10, timeout=60, what="every row loaded after the restart")
    assert q(a, "SELECT COUNT(DISTINCT id) FROM t") == [(n + 10,)]
    assert files(a, "big") == {"a.csv": "Loaded", "b.csv": "Loaded"}
    assert q(a, "SELECT BATCH_STATE, ROWS_STREAMED FROM information_schema.PIPELINES_BATCHES_SUMMARY", None) == [
        ("Succeeded", n + 10)]


# -- replication and failover --------------------------------------------------------------------------
def _replica_caught_up(a: NodeProcess, b: NodeProcess, db: str, table: str, pipeline: str) -> bool:
    sql = f"SELECT COUNT(*) FROM {table}"
    return (a.sql(sql, db) == b.sql(sql, db)
            and files_in(a, db, pipeline) == files_in(b, db, pipeline))


def files_in(n: NodeProcess, db: str, pipeline: str) -> dict[str, str]:
    rows = n.sql("SELECT FILE_NAME, FILE_STATE FROM information_schema.PIPELINES_FILES "
                 f"WHERE DATABASE_NAME = '{db}' AND PIPELINE_NAME = '{pipeline}'")
    return {os.path.basename(f): s for f, s in rows}


def test_failover_pipeline_continues_on_the_promoted_database(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # both nodes see the same directory (shared storage), as two clusters reading one bucket would
    root = tmp_path / "files"
    inbox = root / "in"
    a, b = start_node(node_factory, root, "a"), start_node(node_factory, root, "b")
    a.sql("CREATE DATABASE app")
    a.sql("CREATE TABLE t (id INT, v VARCHAR(20))", "app")  # no key: a duplicate would show
    a.sql(f"CREATE PIPELINE p AS LOAD DATA FS '{inbox}/*.csv' BATCH_INTERVAL 50 INTO TABLE t {CSV}", "app")
    a.sql("START PIPELINE p", "app")
    for i in range(3):
        write_csv(inbox, f"f{i}.csv", rows_csv(i * 10, i * 10 + 10))
    wait_for(lambda: a.sql("SELECT COUNT(*) FROM t", "app") == [(30,)], what="A loads three files")

    b.sql(f"REPLICATE DATABASE app FROM root@127.0.0.1:{a.port}")
    write_csv(inbox, "f3.csv", rows_csv(30, 40))  # loaded on A while B replicates
    wait_for(lambda: a.sql("SELECT COUNT(*) FROM t", "app") == [(40,)], what="A loads f3")
    wait_for(lambda: _replica_caught_up(a, b, "app", "t", "p"), what="B has A's rows and file states")
    assert files_in(b, "app", "p") == {f"f{i}.csv": "Loaded" for i in range(4)}
    # the replica knows the pipeline runs on the primary, and does not run it itself
    assert b.sql("SHOW PIPELINES", "app") == [("p", "Running", "False")]
    assert b.sql("SELECT BATCH_ID, BATCH_STATE FROM information_schema.PIPELINES_BATCHES_SUMMARY") == \
        a.sql("SELECT BATCH_ID, BATCH_STATE FROM information_schema.PIPELINES_BATCHES_SUMMARY")
    with pytest.raises(pymysql.MySQLError) as e:
        b.sql("STOP PIPELINE p", "app")
    assert e.value.args[0] == 1290

    a.kill()
    write_csv(inbox, "f4.csv", rows_csv(40, 50))  # arrives while nobody runs the pipeline
    b.sql("STOP REPLICATING app")
    wait_for(lambda: b.sql("SHOW PIPELINES", "app") == [("p", "Running", "True")], what="the pipeline starts on B")
    write_csv(inbox, "f5.csv", rows_csv(50, 60))
    wait_for(lambda: b.sql("SELECT COUNT(*) FROM t", "app") == [(60,)], what="B loads the files A never loaded")
    assert b.sql("SELECT COUNT(DISTINCT id), MIN(id), MAX(id) FROM t", "app") == [(60, 0, 59)]
    assert files_in(b, "app", "p") == {f"f{i}.csv": "Loaded" for i in range(6)}


def test_seed_runbook_pipeline_steps_load_each_file_once(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Seed 000, steps 7 to 9: stop the pipelines on the side giving up the primary role, promote
    the other side with STOP REPLICATING, start the pipelines there; they take over the state."""
    root = tmp_path / "files"
    a, b = start_node(node_factory, root, "a"), start_node(node_factory, root, "b")
    dbs = {"ExampleDB1": "ExamplePipeline1", "ExampleDB2": "ExamplePipeline2"}
    for db, pipe in dbs.items():
        a.sql(f"CREATE DATABASE {db}")
        a.sql("CREATE TABLE t (id INT, v VARCHAR(20))", db)
        a.sql(f"CREATE PIPELINE {pipe} AS LOAD DATA FS '{root / db}' BATCH_INTERVAL 50 INTO TABLE t {CSV}", db)
        a.sql(f"START PIPELINE {pipe}", db)
        write_csv(root / db, "f0.csv", rows_csv(0, 10))
        b.sql(f"REPLICATE DATABASE {db} FROM root@127.0.0.1:{a.port}")
    for db in dbs:
        write_csv(root / db, "f1.csv", rows_csv(10, 20))
        wait_for(lambda db=db: a.sql("SELECT COUNT(*) FROM t", db) == [(20,)], what=f"{db} loads on A")
    # step 7: stop the pipelines on the side being demoted; wait until the other side has everything
    for db, pipe in dbs.items():
        a.sql(f"STOP PIPELINE {pipe}", db)
        write_csv(root / db, "f2.csv", rows_csv(20, 30))  # nobody loads it yet
    for db, pipe in dbs.items():
        wait_for(lambda db=db, pipe=pipe: _replica_caught_up(a, b, db, "t", pipe)
                 and b.sql("SHOW PIPELINES", db) == [(pipe, "Stopped", "False")], what=f"{db} caught up")
    # step 8: promote; stopped pipelines stay stopped
    for db in dbs:
        b.sql(f"STOP REPLICATING {db}")
    for db, pipe in dbs.items():
        assert b.sql("SHOW PIPELINES", db) == [(pipe, "Stopped", "False")]
        assert files_in(b, db, pipe) == {"f0.csv": "Loaded", "f1.csv": "Loaded", "f2.csv": "Unloaded"}
    # step 9: start them on the new primary: they continue with the next file not yet loaded
    for db, pipe in dbs.items():
        b.sql(f"START PIPELINE {pipe}", db)
    for db, pipe in dbs.items():
        wait_for(lambda db=db: b.sql("SELECT COUNT(*) FROM t", db) == [(30,)], what=f"{db} loads f2 on B")
        assert b.sql("SELECT COUNT(DISTINCT id) FROM t", db) == [(30,)]
        assert files_in(b, db, pipe) == {f"f{i}.csv": "Loaded" for i in range(3)}
    assert a.sql("SELECT COUNT(*) FROM t", "ExampleDB1") == [(20,)]  # A, stopped, loaded nothing more


def test_stop_interrupts_a_foreground_run(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "files"
    n = 40000
    write_csv(root / "big", "a.csv", [f"{i},v{i}" for i in range(n)])
    a = start_node(node_factory, root)
    q(a, "CREATE DATABASE d", None)
    q(a, "CREATE TABLE t (id INT, v VARCHAR(20))")
    q(a, f"CREATE PIPELINE fg AS LOAD DATA FS '{root / 'big'}' INTO TABLE t {CSV}")
    outcome: list[object] = []

    def foreground() -> None:
        try:
            outcome.append(q(a, "START PIPELINE fg FOREGROUND"))
        except pymysql.MySQLError as e:
            outcome.append(e.args)

    th = threading.Thread(target=foreground)
    th.start()
    wait_for(lambda: q(a, "SELECT COUNT(*) FROM information_schema.PIPELINES_BATCHES_SUMMARY "
                          "WHERE BATCH_STATE = 'In Progress'", None) == [(1,)], what="the foreground batch runs")
    assert q(a, "SHOW PIPELINES") == [("fg", "Running", "False")]
    q(a, "STOP PIPELINE fg")
    th.join(30)
    assert outcome and outcome[0][0] == 1317  # type: ignore[index]
    assert count(a) == 0 and files(a, "fg") == {"a.csv": "Unloaded"}
    assert q(a, "SHOW PIPELINES") == [("fg", "Stopped", "False")]
    with a.connect(database="d") as c, c.cursor() as cur:  # the pipeline can run again, in one piece
        assert cur.execute("START PIPELINE fg FOREGROUND") == n
