"""The writing application a DR rehearsal measures with: `drlab runbook` runs it beside a runbook,
and the failback tests run it beside their steps.

It writes one INSERT at a time, at a steady rate, to whichever node it points at, alternating over
its tables, and records what a user would want to know afterwards: every write that was
acknowledged (so a missing one is a lost write), every failure with the MySQL code the client saw
and the phase of the runbook it happened in, and the outages (the stretches it could not write:
the RTO). A write is in flight while a lock is held, so ``repoint`` and ``pause`` return only once
the write issued to the old target has finished, acknowledged or failed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import pymysql

COLUMNS = "(seq BIGINT PRIMARY KEY, at DOUBLE NOT NULL, node VARCHAR(64) NOT NULL, phase VARCHAR(64) NOT NULL)"
"""The columns of every table the application writes: CREATE TABLE <name> COLUMNS."""


class Ack(NamedTuple):
    """A write the node acknowledged."""

    seq: int
    at: float  # time.time() of the acknowledgement
    node: str
    table: str


class Failure(NamedTuple):
    """A write that failed: ``code`` is the MySQL error the client saw (0 for another failure)."""

    phase: str
    node: str
    code: int
    seq: int


class WritingApp:
    """Writes ``(seq, at, node, phase)`` rows into ``tables`` on the node named ``target``.

    ``connect(node)`` opens a client connection to a node by name (autocommit, with timeouts): the
    caller knows where its nodes are. Runs in a daemon thread between ``start`` and ``stop`` (or as a
    context manager)."""

    def __init__(self, connect: Callable[[str], Any], target: str, tables: Sequence[str], rate: float = 250.0,
                 phase: str = "") -> None:
        self.connect, self.target, self.tables, self.rate, self.phase = connect, target, list(tables), rate, phase
        self.acked: list[Ack] = []
        self.failed: list[Failure] = []
        self.outages: list[tuple[float, float]] = []  # (from, to) in time.monotonic()
        self.last_error = ""
        self._acks_on: Counter[str] = Counter()
        self._down_since: float | None = None
        self._busy = threading.Lock()  # held while a write is in flight
        self._mu = threading.Lock()  # guards what the caller reads while the app writes
        self._stop, self._paused = threading.Event(), threading.Event()
        self._conns: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, name="writing-app", daemon=True)
        self.started = time.monotonic()  # reset by start()

    def __enter__(self) -> WritingApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for conn in self._conns.values():
            with contextlib.suppress(Exception):
                conn.close()
        self._conns.clear()
        if self._down_since is not None:
            self.outages.append((self._down_since, time.monotonic()))
            self._down_since = None

    # -- steering ----------------------------------------------------------------------------------
    def repoint(self, node: str, phase: str | None = None) -> None:
        """Write to ``node`` from now on, on a fresh connection (as a pool would check one out)."""
        with self._busy:
            self.target = node
            if phase is not None:
                self.phase = phase
            stale = self._conns.pop(node, None)
            if stale is not None:
                with contextlib.suppress(Exception):
                    stale.close()

    def set_phase(self, phase: str) -> None:
        """Record later writes under ``phase``; returns once the write in flight (still recorded under
        the previous phase) has finished, so what follows cannot hit a write of the old phase."""
        with self._busy:
            self.phase = phase

    def pause(self) -> None:
        """Stop writing; returns once no write is in flight."""
        self._paused.set()
        with self._busy:
            pass

    def resume(self, phase: str | None = None) -> None:
        """Write again (in ``phase``, when given)."""
        if phase is not None:
            self.phase = phase
        self._paused.clear()

    # -- what happened -----------------------------------------------------------------------------
    def acked_in(self, table: str) -> set[int]:
        """The sequence numbers acknowledged into ``table`` so far."""
        with self._mu:
            return {a.seq for a in self.acked if a.table == table}

    def acks_on(self, node: str) -> int:
        """How many writes ``node`` has acknowledged so far."""
        with self._mu:
            return self._acks_on[node]

    def failed_codes(self, phase: str) -> set[tuple[str, int]]:
        """(node, MySQL code) of the writes that failed during ``phase``."""
        with self._mu:
            return {(f.node, f.code) for f in self.failed if f.phase == phase}

    def rate_now(self, window: float = 2.0) -> float | None:
        """Acknowledged writes per second over the last ``window`` seconds, or over the time the
        application has run when that is shorter; None before a rate can be known (it has run for
        too short a time, or no write has been acknowledged yet)."""
        span = min(window, time.monotonic() - self.started)
        if span < 0.2 or not self.acked:
            return None
        now = time.time()
        with self._mu:
            recent = sum(1 for a in self.acked[-int(self.rate * window * 2 + 10):] if now - a.at <= span)
        return recent / span

    # -- the writer --------------------------------------------------------------------------------
    def _run(self) -> None:
        seq, backoff, interval = 0, 0.05, 1.0 / self.rate
        while not self._stop.is_set():
            if self._paused.is_set():
                self._stop.wait(0.01)
                continue
            t0 = time.monotonic()
            with self._busy:
                node, phase = self.target, self.phase
                seq += 1
                table = self.tables[seq % len(self.tables)]
                try:
                    conn = self._conns.get(node)
                    if conn is None:
                        conn = self._conns[node] = self.connect(node)
                    with conn.cursor() as cur:
                        cur.execute(f"INSERT INTO {table} (seq, at, node, phase) VALUES (%s, %s, %s, %s)",
                                    (seq, time.time(), node, phase))
                    with self._mu:
                        self.acked.append(Ack(seq, time.time(), node, table))
                        self._acks_on[node] += 1
                    if self._down_since is not None:
                        self.outages.append((self._down_since, time.monotonic()))
                        self._down_since = None
                    backoff = 0.05
                    failed = False
                except Exception as e:  # noqa: BLE001 - every failure is recorded and retried
                    mysql = isinstance(e, pymysql.MySQLError) and bool(e.args) and isinstance(e.args[0], int)
                    with self._mu:
                        self.failed.append(Failure(phase, node, e.args[0] if mysql else 0, seq))
                    self.last_error = str(e.args[1] if mysql and len(e.args) > 1 else e)
                    if self._down_since is None:
                        self._down_since = t0
                    stale = self._conns.pop(node, None)
                    if stale is not None:
                        with contextlib.suppress(Exception):
                            stale.close()
                    failed = True
            if failed:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 0.4)
            else:
                self._stop.wait(max(0.0, interval - (time.monotonic() - t0)))
