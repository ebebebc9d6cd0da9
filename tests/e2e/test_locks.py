"""FLUSH TABLES WITH READ ONLY / READ LOCK and UNLOCK TABLES against a real node."""

from __future__ import annotations

import threading

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for


@pytest.fixture
def srv(node: NodeProcess) -> NodeProcess:
    with node.connect() as c, c.cursor() as cur:
        for db in ("d1", "d2"):
            cur.execute(f"CREATE DATABASE {db}")
            cur.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    return node


def test_read_only_fails_writes_until_unlock(srv: NodeProcess) -> None:
    locker = srv.connect()
    try:
        locker.cursor().execute("FLUSH TABLES WITH READ ONLY")
        for stmt in ("INSERT INTO d1.t VALUES (1, 1)", "CREATE TABLE d2.x (i INT)", "DELETE FROM d2.t"):
            with pytest.raises(pymysql.err.OperationalError) as e:
                srv.sql(stmt)
            assert e.value.args[0] == 1290 and "READ ONLY" in e.value.args[1], stmt
        assert srv.sql("SELECT COUNT(*) FROM d1.t") == [(0,)]  # reads work
        with pytest.raises(pymysql.err.OperationalError) as e:
            srv.sql("UNLOCK TABLES")  # another connection
        assert "connection that ran FLUSH TABLES" in e.value.args[1]
        locker.cursor().execute("UNLOCK TABLES")
        srv.sql("INSERT INTO d1.t VALUES (1, 1)")
        assert srv.sql("SELECT COUNT(*) FROM d1.t") == [(1,)]
    finally:
        locker.close()


def test_read_only_on_one_database(srv: NodeProcess) -> None:
    with srv.connect() as locker:
        locker.cursor().execute("FLUSH TABLES ON d1 WITH READ ONLY")
        with pytest.raises(pymysql.err.OperationalError):
            srv.sql("INSERT INTO d1.t VALUES (1, 1)")
        srv.sql("INSERT INTO d2.t VALUES (1, 1)")
        locker.cursor().execute("UNLOCK TABLES ON d1")
        srv.sql("INSERT INTO d1.t VALUES (1, 1)")


def test_read_lock_holds_writes_then_releases_them(srv: NodeProcess) -> None:
    locker = srv.connect()
    locker.cursor().execute("FLUSH TABLES WITH READ LOCK")
    done = threading.Event()

    def writer() -> None:
        srv.sql("INSERT INTO d1.t VALUES (7, 7)")
        done.set()

    th = threading.Thread(target=writer)
    th.start()
    wait_for(lambda: any("UNLOCK" in str(r) for r in srv.sql("SHOW PROCESSLIST")) or done.is_set(),
             what="the write waits")
    assert not done.is_set()
    assert srv.sql("SELECT COUNT(*) FROM d1.t") == [(0,)]
    locker.cursor().execute("UNLOCK TABLES")
    th.join(10)
    assert done.is_set()
    assert srv.sql("SELECT v FROM d1.t") == [(7,)]
    locker.close()


def test_closing_the_connection_releases_the_lock(srv: NodeProcess) -> None:
    locker = srv.connect()
    locker.cursor().execute("FLUSH TABLES WITH READ ONLY")
    with pytest.raises(pymysql.err.OperationalError):
        srv.sql("INSERT INTO d1.t VALUES (1, 1)")
    locker.close()
    wait_for(lambda: srv.sql("INSERT INTO d1.t VALUES (1, 1)") == [], what="lock released on disconnect")
    locker = srv.connect()
    locker.cursor().execute("FLUSH TABLES WITH READ ONLY")
    cid = locker.thread_id()
    srv.sql(f"KILL {cid}")
    wait_for(lambda: srv.sql("INSERT INTO d1.t VALUES (2, 2)") == [], what="lock released on KILL")


def test_in_flight_transaction_finishes_first(srv: NodeProcess) -> None:
    txn = srv.connect()
    txn.cursor().execute("BEGIN")
    txn.cursor().execute("INSERT INTO d1.t VALUES (1, 1)")
    flushed = threading.Event()

    def flush() -> None:
        with srv.connect() as c:
            c.cursor().execute("FLUSH TABLES WITH READ ONLY")
            flushed.set()
            stop.wait(30)  # the lock lives as long as this connection

    stop = threading.Event()
    th = threading.Thread(target=flush)
    th.start()
    wait_for(lambda: any("write lock" in str(r) for r in srv.sql("SHOW PROCESSLIST")), what="FLUSH waits")
    assert not flushed.is_set()  # FLUSH waits for the open write transaction
    txn.cursor().execute("INSERT INTO d1.t VALUES (2, 2)")  # the in-flight transaction may go on
    txn.cursor().execute("COMMIT")
    wait_for(flushed.is_set, what="FLUSH returns once the transaction committed")
    assert srv.sql("SELECT COUNT(*) FROM d1.t") == [(2,)]
    with pytest.raises(pymysql.err.OperationalError):
        srv.sql("INSERT INTO d1.t VALUES (3, 3)")
    stop.set()
    th.join()
    txn.close()
