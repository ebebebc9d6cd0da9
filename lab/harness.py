"""The one node launcher: real `drlab node` processes on free loopback ports, started with a deadline
and stopped by pid. Tests, benches and the lab's tooling all start nodes through it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

ROOT = Path(__file__).resolve().parent.parent


def node_command(*options: str) -> list[str]:
    """The argv that starts a node with this interpreter: ``python -m server node OPTIONS``."""
    return [sys.executable, "-m", "server", "node", *options]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class NodeProcess:
    """A `drlab node` child process; `start()` waits for its `ready` line with a deadline.
    ``root`` is the code tree it runs from (this one, or an older checkout a bench compares with)."""

    def __init__(self, data: Path, port: int | None = None, host: str = "127.0.0.1", password: str = "",
                 name: str | None = None, extra: list[str] | None = None, root: Path = ROOT) -> None:
        self.data, self.host, self.password, self.root = data, host, password, root
        self.port = port or free_port(host)
        self.name = name or f"node-{self.port}"
        self.extra = extra or []
        self.proc: subprocess.Popen[str] | None = None
        self.log = data.parent / f"{self.name}.log"

    def start(self, timeout: float = 20.0) -> NodeProcess:
        cmd = node_command("--data", str(self.data), "--host", self.host, "--port", str(self.port),
                           "--name", self.name, "--root-password", self.password, *self.extra)
        logf = open(self.log, "a")
        self.proc = subprocess.Popen(cmd, cwd=self.root, stdout=subprocess.PIPE, stderr=logf, text=True)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "ready" in line:
                return self
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        raise TimeoutError(f"node not ready after {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def connect(self, user: str = "root", password: str | None = None, database: str | None = None,
                **kw: object) -> pymysql.connections.Connection:
        return pymysql.connect(host=self.host, port=self.port, user=user,
                               password=self.password if password is None else password,
                               database=database, autocommit=True, **kw)

    def sql(self, query: str, database: str | None = None) -> list[tuple]:
        with self.connect(database=database) as c, c.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall())


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll until predicate() is truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - the condition may raise while the system converges
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


class LoopbackProxy:
    """A TCP proxy to a node on loopback that counts the bytes the node sends back (``received``).
    With ``hold``, the node's answer to the first request containing those bytes is held back
    until ``release`` is set (``held`` tells it is). bench/failback.py counts with it too."""

    def __init__(self, port: int, hold: bytes | None = None) -> None:
        self.target, self.hold = port, hold
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = 0
        self.held, self.release = threading.Event(), threading.Event()
        if hold is None:
            self.release.set()
        self._mu = threading.Lock()
        self._socks: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._socks += [client, upstream]
            asked = threading.Event()
            for src, dst, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pump, args=(src, dst, asked, answers), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, asked: threading.Event, answers: bool) -> None:
        try:
            while data := src.recv(1 << 18):
                if not answers and self.hold is not None and self.hold in data:
                    asked.set()
                if answers:
                    with self._mu:
                        self.received += len(data)
                    if asked.is_set() and not self.release.is_set():
                        self.held.set()
                        self.release.wait(30)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            dst.close()

    def close(self) -> None:
        self.release.set()
        for s in self._socks:
            s.close()
