"""Fixtures that start real `drlab node` processes on free loopback ports and stop them by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class NodeProcess:
    """A `drlab node` child process; `start()` waits for its `ready` line with a deadline."""

    def __init__(self, data: Path, port: int | None = None, host: str = "127.0.0.1", password: str = "",
                 name: str | None = None, extra: list[str] | None = None) -> None:
        self.data, self.host, self.password = data, host, password
        self.port = port or free_port(host)
        self.name = name or f"node-{self.port}"
        self.extra = extra or []
        self.proc: subprocess.Popen[str] | None = None
        self.log = data.parent / f"{self.name}.log"

    def start(self, timeout: float = 20.0) -> NodeProcess:
        cmd = [sys.executable, "-m", "server", "node", "--data", str(self.data), "--host", self.host,
               "--port", str(self.port), "--name", self.name, "--root-password", self.password, *self.extra]
        logf = open(self.log, "a")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=logf, text=True)
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
                               database=database, autocommit=True, **kw)  # type: ignore[arg-type]

    def sql(self, query: str, database: str | None = None) -> list[tuple]:
        with self.connect(database=database) as c, c.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall())


@pytest.fixture
def node_factory(tmp_path: Path) -> Iterator:
    nodes: list[NodeProcess] = []

    def make(name: str = "a", **kw: object) -> NodeProcess:
        n = NodeProcess(tmp_path / name, name=name, **kw)  # type: ignore[arg-type]
        nodes.append(n)
        return n

    yield make
    for n in nodes:
        n.stop()


@pytest.fixture
def node(node_factory) -> NodeProcess:  # type: ignore[no-untyped-def]
    return node_factory("a").start()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - the condition may raise while the system converges
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
