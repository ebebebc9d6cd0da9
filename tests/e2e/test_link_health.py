"""The operator's view of a broken link (issue 11): a replica that cannot reach its source says so,
in the views and the Prometheus gauges, with its lag against the last position the source was known
to have; and a source that never answers fails a REPLICATE after the connect timeout."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.request

import pymysql
import pytest

from lab.harness import NodeProcess, free_port, wait_for


class CuttableRelay:
    """A TCP relay to a node that forwards everything until a request containing ``freeze_on``
    arrives: that request is swallowed (the sender waits for an answer that never comes) until
    ``cut()`` closes every connection and stops listening, as a source that dies would."""

    def __init__(self, port: int, freeze_on: bytes) -> None:
        self.target, self.freeze_on = port, freeze_on
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.frozen = threading.Event()
        self.armed = threading.Event()  # freezing starts once armed
        self.socks: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, asks: bool) -> None:
        try:
            while data := src.recv(1 << 16):
                if asks and self.armed.is_set() and self.freeze_on in data:
                    self.frozen.set()
                if not self.frozen.is_set():
                    dst.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def _status(n: NodeProcess, db: str) -> dict:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW REPLICATION STATUS")
        return next(r for r in cur.fetchall() if r["Database"] == db)


def _lmv(n: NodeProcess, db: str) -> dict:
    with n.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(f"SELECT * FROM information_schema.LMV_REPLICATION_STATUS WHERE database_name = '{db}'")
        return cur.fetchone()


def _gauges(port: int, db: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("drlab_replication_") and f'database="{db}"' in line:
            out[line.split("{")[0]] = float(line.rsplit(" ", 1)[1])
    return out


def test_a_replica_cut_off_from_a_source_that_is_ahead_reports_lag_and_disconnection(node_factory) -> None:  # type: ignore[no-untyped-def]
    metrics = free_port()
    a = node_factory("a").start()
    b = node_factory("b", extra=["--metrics-port", str(metrics)]).start()
    a.sql("CREATE DATABASE app")
    a.sql("CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    relay = CuttableRelay(a.port, b"FETCH")
    b.sql(f"REPLICATE DATABASE app FROM root@127.0.0.1:{relay.port}")
    wait_for(lambda: _gauges(metrics, "app").get("drlab_replication_connected") == 1.0, what="connected gauge 1")
    b.sql("PAUSE REPLICATING app")
    for i in range(10):  # the primary moves ahead while the replica is paused
        a.sql(f"INSERT INTO app.t (v) VALUES ({i})")
    relay.armed.set()
    b.sql("CONTINUE REPLICATING app")  # HELLO tells the replica where the source is; the FETCH never returns
    assert relay.frozen.wait(20)
    relay.cut()  # the source is gone
    a.kill()

    def broken() -> dict | None:
        r = _status(b, "app")
        return r if r["Connected"] == "no" else None

    r = wait_for(broken, what="the replica shows the link disconnected")
    assert r["Replica_State"] == "replicating"  # still a replica that keeps trying
    master_lsn, replica_lsn = (int(r[k].split(":")[1]) for k in ("Master_CommitLSN", "Replica_CommitLSN"))
    assert master_lsn - replica_lsn == 10  # behind the last position the source was known to have
    time.sleep(1.1)  # let the last contact age; the views read it at second resolution
    r = _status(b, "app")
    assert r["Last_Contact_Seconds"] >= 1
    lmv = _lmv(b, "app")
    assert lmv["lsn_lag"] == 10 and lmv["connected"] == 0 and lmv["last_contact_s"] >= 1 and lmv["lag_seconds"] > 0
    g = _gauges(metrics, "app")
    assert g["drlab_replication_connected"] == 0.0
    assert g["drlab_replication_lag_lsn"] == 10.0
    assert g["drlab_replication_last_contact_seconds"] >= 1.0


def test_replicate_from_a_stopped_source_fails_after_the_connect_timeout(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = node_factory("a").start(), node_factory("b").start()
    a.sql("CREATE DATABASE app")
    assert a.proc is not None
    os.kill(a.proc.pid, signal.SIGSTOP)  # accepts TCP connections (the kernel does) but never greets
    try:
        started = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError) as e:
            b.sql(f"REPLICATE DATABASE app FROM root@127.0.0.1:{a.port}")
        took = time.monotonic() - started
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    assert e.value.args[0] == 1429 and "timed out" in e.value.args[1], e.value.args
    assert took < 15, took  # the 5 s connect timeout, not the 60 s read timeout
    assert b.sql("SHOW DATABASES") == [("information_schema",)]  # nothing left behind


def test_data_directory_is_private_to_the_nodes_user(node_factory) -> None:  # type: ignore[no-untyped-def]
    a, b = node_factory("a").start(), node_factory("b").start()
    a.sql("CREATE DATABASE app")
    b.sql(f"REPLICATE DATABASE app FROM root:''@127.0.0.1:{a.port}")
    for n in (a, b):
        for root, dirs, files in os.walk(n.data):
            for d in dirs:
                assert os.stat(os.path.join(root, d)).st_mode & 0o777 == 0o700, os.path.join(root, d)
            for f in files:
                assert os.stat(os.path.join(root, f)).st_mode & 0o077 == 0, os.path.join(root, f)
        assert os.stat(n.data).st_mode & 0o777 == 0o700
