"""The replica side of a DR link: provision a database from its source, then stream its log.

The link is a MySQL client of the source (invariant 7): it sends the statements of
``replication.protocol`` over pymysql on a thread of its own, so a long poll never blocks the node's
event loop. Every new connection first proves that the source's history (its tagged epochs) contains
this copy's; every batch is checked to follow (LSN by LSN, epoch by epoch) before it is written to the
local log, then applied in order with its LSN (invariants 1, 2, 4, 6); the SQLite state and the log so
always agree after a crash, and a restarted node resumes from its applied position by itself. A source
that is not the database this copy copies stops the link (state ``error``, Details say why) instead of
mixing two histories. The phases and states are described in replication/DESIGN.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pymysql

from replication.errors import (
    CR_CONN_HOST_ERROR,
    CR_SERVER_LOST,
    CR_UNKNOWN_HOST,
    HistoryMismatch,
    LinkError,
    ReplicationError,
    Stopped,
)
from replication.protocol import quote_string
from storage.catalog import DEFAULT_PORT, DbInfo, Role, SourceRef, State
from storage.database import Database, OutOfOrder
from storage.history import HistoryDiverged, check_follows, epoch_at, prefix, shared_point
from storage.record import CorruptRecord, Record
from storage.store import Store

log = logging.getLogger("drlab.replication")

FETCH_WAIT_MS = 500
FETCH_LIMIT = 2000
BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0)
# errors from the source that retrying cannot fix while nothing changes: reported, retried slowly
FATAL_CODES = {1044, 1045, 1049, 1142, 1227, 1236}
SEEN_SAVE_S = 5.0  # how often the source's last known position is persisted while streaming
CONNECT_TIMEOUT = 5  # seconds to reach the source and log in (a SIGSTOPped source fails after this)
READ_TIMEOUT = 60  # seconds one request may take once logged in (a big snapshot takes a while)


@dataclass
class Progress:
    """What the status views show about one link."""

    phase: str = "connecting"  # connecting | snapshot | catching up | streaming
    connected: bool = False
    last_error: str = ""
    source_lsn: int = 0
    source_epoch: int = 0
    source_state: str = ""
    bytes_total: int = 0
    bytes_copied: int = 0
    records_total: int = 0
    records_copied: int = 0
    hardened_lsn: int = 0
    received_lsn: int = 0
    applied_commits: int = 0
    caught_up_at: float = field(default_factory=time.time)
    throughput: float = 0.0  # bytes/s applied, smoothed
    record_bytes: float = 200.0  # average record size, smoothed
    apply_delay: tuple[float, float] = (0.0, 0.0)  # (seconds from commit to apply, when) of the last batch
    resolved_at: float = 0.0  # every source commit before this time is applied (the send time of a fetch that caught up)
    reprovisioned: str = ""  # why and when the copy was last re-provisioned (it fell behind the source's log)
    contact_at: float = 0.0  # when the source last answered (0: never, as far as this copy knows)

    @classmethod
    def remembered(cls, info: DbInfo) -> Progress:
        """What is known of a link that is not running: the source's last position, persisted."""
        p = cls(phase="stopped")
        if info.source_seen:
            epoch, lsn, at = info.source_seen
            p.source_epoch, p.source_lsn, p.contact_at = int(epoch), int(lsn), at
        return p

    @property
    def last_contact_s(self) -> float | None:
        return time.time() - self.contact_at if self.contact_at else None


class Link:
    def __init__(self, store: Store, name: str, source: SourceRef, self_uri: str,
                 resolve: Callable[[str], str], on_reset: Callable[[Database], None]) -> None:
        self.store = store
        self.name = name
        self.source = source
        self.self_uri = self_uri
        self.resolve = resolve
        self.on_reset = on_reset
        self.progress = Progress.remembered(self.db.info)
        self.progress.phase = "connecting"
        self._seen_saved = self.progress.contact_at
        self.caught_up: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._worker = _Worker(f"link-{name}")
        self._conn: pymysql.connections.Connection | None = None
        self._hello_conn: pymysql.connections.Connection | None = None  # the connection the last HELLO used
        self._verified_conn: pymysql.connections.Connection | None = None  # whose history was checked
        self._source_epochs: list[list] = []  # the source's history, as of the last HELLO
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def db(self) -> Database:
        db = self.store.get(self.name)
        assert db is not None
        return db

    def start(self, target_lsn: int | None = None, fail_fast: bool = False) -> None:
        """Run the link in the background; ``caught_up`` resolves at ``target_lsn`` (or at the
        source's position when the link first reaches it). With ``fail_fast`` (a REPLICATE
        statement waiting on it) the first error ends the link instead of being retried."""
        self.progress.hardened_lsn = self.db.applied_lsn  # what a restarted node recovered is on disk
        self._task = asyncio.create_task(self._main(target_lsn, fail_fast), name=f"link-{self.name}")

    async def stop(self) -> None:
        """Close the link (PAUSE, STOP, DROP, shutdown); the database keeps what it applied."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        conn = self._conn
        if conn is not None and conn._sock is not None:  # end a long poll at once, not after its wait
            try:
                conn._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # closed on the link's thread once its current call returns (a connect to a hung source may
        # take until its timeout): stopping never waits for that
        self._worker.submit(self._close)
        self._worker.submit(None)
        self.progress.connected = False
        self._remember_source(force=True)
        self._fail(Stopped("Replication was stopped before the copy caught up"))

    def _remember_source(self, force: bool = False) -> None:
        """Persist the source's last known position (every few seconds, and when the link stops),
        so a restarted node reports its lag against it, and how old it is."""
        p = self.progress
        if p.contact_at <= self._seen_saved or (not force and p.contact_at - self._seen_saved < SEEN_SAVE_S):
            return
        db = self.store.get(self.name)
        if db is None or not db.info.is_replica:  # dropped, or a differential REPLICATE refused
            return
        db.info.source_seen = [p.source_epoch, p.source_lsn, p.contact_at]
        self.store.save(db.info)
        self._seen_saved = p.contact_at

    # -- the source connection ---------------------------------------------------------------------
    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.wrap_future(self._worker.submit(fn, *args))

    def _connect(self) -> None:
        src = self.source
        self._close()
        try:
            self._conn = _SourceConnection(
                host=self.resolve(src.host), port=src.port or DEFAULT_PORT, user=src.user,
                password=src.password or "", connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                write_timeout=READ_TIMEOUT, autocommit=True, charset="utf8mb4",
            )
        except pymysql.err.OperationalError as e:
            code = e.args[0] if e.args else CR_CONN_HOST_ERROR
            msg = e.args[1] if len(e.args) > 1 else str(e)
            if code in (CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST, CR_SERVER_LOST):
                raise LinkError(CR_CONN_HOST_ERROR, f"Can't connect to the replication source {src.uri()}: {_clean(msg)}") from None
            raise LinkError(code, f"The replication source {src.uri()} refused the connection: {_clean(msg)}") from None

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def _hello_query(self, sql: str) -> list[tuple[Any, ...]]:
        rows = self._query(sql)
        self._hello_conn = self._conn
        return rows

    def _verified_query(self, sql: str) -> list[tuple[Any, ...]]:
        """A query on the connection whose source history was checked; never (re)connects, since a
        new connection may reach another database at the same address."""
        if self._conn is None or self._conn is not self._verified_conn:
            raise LinkError(CR_SERVER_LOST, "The connection to the source was renewed; checking its history again")
        return self._query(sql)

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if self._conn is None:
            self._connect()
        assert self._conn is not None
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args and isinstance(e.args[0], int) else CR_SERVER_LOST
            msg = _clean(e.args[1] if len(e.args) > 1 else str(e))
            if code >= 2000 or isinstance(e, pymysql.err.InterfaceError):
                self._close()
                raise LinkError(CR_SERVER_LOST, f"Lost the connection to the replication source: {msg}") from None
            raise LinkError(code, msg) from None

    # -- the link's life ---------------------------------------------------------------------------
    async def _main(self, target: int | None, fail_fast: bool) -> None:
        attempt = 0
        while True:
            try:
                if self.db.info.state is State.PROVISIONING:
                    target = await self._provision()
                await self._stream(target)
            except asyncio.CancelledError:
                raise
            except HistoryDiverged as e:
                if self.db.info.state is State.PROVISIONING:  # nothing of ours to keep: provision afresh
                    self.progress.last_error = str(e)
                    await asyncio.sleep(BACKOFF[-1])
                    continue
                self._diverged(e)
                return
            except (ReplicationError, CorruptRecord, OutOfOrder) as e:
                self.progress.connected = False
                self.progress.last_error = str(e)
                if isinstance(e, CorruptRecord | OutOfOrder):
                    self._unrecoverable(str(e))
                    self._fail(HistoryMismatch(f"Replication stopped: {e}"))
                    return
                if (isinstance(e, LinkError) and e.remote_code == 1236 and not fail_fast
                        and await self._fell_behind()):
                    continue
                if fail_fast and not self.caught_up.done():
                    self._fail(e)
                    return
                log.warning("link %s: %s", self.name, e)
                slow = not isinstance(e, LinkError) or e.remote_code in FATAL_CODES
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)] * (5 if slow else 1)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            except Exception as e:  # an unexpected failure must not kill the link silently
                log.exception("link %s failed", self.name)
                self.progress.last_error = f"internal error: {e}"
                if fail_fast and not self.caught_up.done():
                    self._fail(ReplicationError(f"Replication failed: {e}"))
                    return
                await asyncio.sleep(2.0)
            attempt = 0

    async def _fell_behind(self) -> bool:
        """Whether the source no longer keeps the records this copy needs next, though their
        histories agree: then the copy becomes ``provisioning`` again and the link copies a fresh
        snapshot (nothing is lost: a replica holds only what its source has)."""
        db = self.db
        if db.info.state is not State.REPLICATING:
            return False
        try:
            hello = await self.hello()
        except LinkError:
            return False
        mine = db.info.epochs
        if (hello["id"] != self.source.db_id or db.applied_lsn + 1 >= hello["first"]
                or shared_point(mine, db.applied_lsn, hello["epochs"], hello["last"]) != db.applied_lsn):
            return False
        why = (f"the source no longer keeps the log after LSN {db.applied_lsn}, which this copy needed next "
               "(it was disconnected or paused longer than the source's retention; see the source's "
               "information_schema.DRLAB_RETENTION_HOLDS)")
        log.warning("link %s: %s; re-provisioning from a fresh snapshot", self.name, why)
        self.progress.reprovisioned = f"re-provisioned from a fresh snapshot at {time.strftime('%H:%M:%S')}: {why}"
        self.store.transition(db.info, Role.ASYNC_REPLICA, State.PROVISIONING,
                              f"re-provisioning from a fresh snapshot: {why}")
        return True

    def _fail(self, e: ReplicationError) -> None:
        if not self.caught_up.done():
            self.caught_up.set_exception(e)
            self.caught_up.exception()  # retrieved: nobody may be waiting any more

    def _unrecoverable(self, reason: str) -> None:
        info = self.db.info
        self.progress.phase = "stopped"
        self.store.transition(info, info.role, State.UNRECOVERABLE, f"replication stopped: {reason}")

    def _diverged(self, e: HistoryDiverged) -> None:
        """The source is not the database this copy copies: stop, keep what was applied, say why."""
        src, name = self.source.uri(), self.name
        reason = (f"history diverged: the source {src} is not the database this replica copies ({e}); nothing "
                  f"from it was applied. Run REPLICATE DATABASE {name} WITH FORCE DIFFERENTIAL FROM ... to make "
                  f"it follow that source, or DROP DATABASE {name} and REPLICATE DATABASE it again")
        log.error("link %s: %s", name, reason)
        p = self.progress
        p.phase, p.connected, p.last_error = "stopped", False, reason
        self.store.transition(self.db.info, Role.ASYNC_REPLICA, State.ERROR, reason)
        self._worker.submit(self._close)
        self._fail(HistoryMismatch(reason))

    async def _verify(self) -> dict[str, Any]:
        """HELLO on a (new) connection and check the source's history contains this copy's."""
        hello = await self.hello()
        db = self.db
        check_follows(db.info.epochs, db.applied_lsn, hello["epochs"], hello["last"])
        self._verified_conn = self._hello_conn
        return hello

    async def hello(self) -> dict[str, Any]:
        """The source database's identity, state, epoch history and log positions."""
        name = self.source.db or self.name
        try:
            rows = await self._call(self._hello_query, f"DRLAB REPLICATION HELLO {quote_string(name)}")
        except LinkError as e:
            if e.remote_code in (1044, 1142, 1227):
                raise LinkError(e.remote_code, f"The source user needs the REPLICATION privilege on '{name}' "
                                f"(GRANT REPLICATION ON {name}.* TO ...): {e}") from None
            raise
        db_id, state, role, epochs, first, last, _ = rows[0]
        hello = {"id": int(db_id), "state": state, "role": role, "epochs": json.loads(epochs),
                 "first": int(first), "last": int(last)}
        self._source_epochs = hello["epochs"]
        p = self.progress
        p.source_lsn, p.source_epoch, p.source_state = hello["last"], int(hello["epochs"][-1][0]), state
        p.connected, p.last_error, p.contact_at = True, "", time.time()
        return hello

    async def _provision(self) -> int:
        """Copy a snapshot of the source, install it, and return the LSN to catch up to."""
        p = self.progress
        p.phase = "connecting"
        hello = await self.hello()
        p.connected, p.last_error = True, ""
        src_name = self.source.db or self.name
        p.phase = "snapshot"
        sid, snap_lsn, size = (await self._call(self._query, f"DRLAB REPLICATION SNAPSHOT {quote_string(src_name)}"))[0]
        snap_lsn, size = int(snap_lsn), int(size)
        p.bytes_total, p.bytes_copied = size, 0
        p.records_total, p.records_copied = max(hello["last"] - snap_lsn, 0), 0
        incoming = self.store.dir / "snapshots" / f"incoming-{self.db.info.id}.sqlite"
        incoming.parent.mkdir(exist_ok=True)
        with open(incoming, "wb") as f:
            while p.bytes_copied < size:
                rows = await self._call(self._query, f"DRLAB REPLICATION CHUNK {quote_string(sid)} OFFSET {p.bytes_copied}")
                data = rows[0][0] if rows else b""
                if not data:
                    raise HistoryMismatch("The source's snapshot ended early; provisioning will restart")
                f.write(data)
                p.bytes_copied += len(data)
            f.flush()
            os.fsync(f.fileno())  # the copy is durable before the catalog points at it
        db = self.db
        info = db.info
        info.epochs = prefix(hello["epochs"], snap_lsn)
        self.source = self.source.with_id(hello["id"])
        info.source = self.source
        db = self.store.install_snapshot(db, incoming)
        if db.applied_lsn != snap_lsn:
            raise HistoryMismatch(f"The snapshot holds LSN {db.applied_lsn}, not {snap_lsn}")
        db.info.details = ""
        self.store.save(db.info)
        self._verified_conn = self._hello_conn  # the copy is the source's own: its history is this one
        self.on_reset(db)
        p.phase, p.hardened_lsn = "catching up", snap_lsn
        return hello["last"]

    async def _stream(self, target: int | None) -> None:
        p = self.progress
        src = self.source
        src_name = src.db or self.name
        while True:
            db = self.db
            info = db.info
            after = db.applied_lsn
            if target is not None and after >= target:
                self._caught_up(db)
            if self._conn is None or self._conn is not self._verified_conn:
                await self._verify()
            sql = (f"DRLAB REPLICATION FETCH {quote_string(src_name)} ID {src.db_id or 0} AFTER {after} "
                   f"EPOCH {epoch_at(info.epochs, after)} WAIT {FETCH_WAIT_MS} LIMIT {FETCH_LIMIT} "
                   f"HARDENED {p.hardened_lsn} FROM {quote_string(self.self_uri + '/' + self.name)}")
            sent = time.time()
            rows = await self._call(self._verified_query, sql)
            p.connected, p.last_error, p.contact_at = True, "", time.time()
            if rows:
                p.source_lsn, p.source_epoch, p.source_state = int(rows[0][2]), int(rows[0][3]), rows[0][4]
            self._remember_source()
            records = [(int(r[0]), r[1]) for r in rows if r[0] is not None]
            if records:
                await self._apply(db, records)
            if target is None:
                target = p.source_lsn
            if db.applied_lsn >= p.source_lsn:
                p.caught_up_at = time.time()
                p.resolved_at = sent
            if db.applied_lsn >= target:
                self._caught_up(db)

    def _caught_up(self, db: Database) -> None:
        """The copy reached its target: it is replicating, and a waiting REPLICATE may return."""
        self.progress.phase = "streaming"
        if db.info.state is State.PROVISIONING:
            self.store.transition(db.info, Role.ASYNC_REPLICA, State.REPLICATING)
        if not self.caught_up.done():
            self.caught_up.set_result(None)

    async def _check(self, db: Database, records: list[tuple[int, bytes]]) -> list[Record]:
        """Decode a batch and check it follows this copy, before anything is written: each record's
        LSN is the next one, and its epoch is the one the source's history has at that LSN (a batch
        that starts a new epoch makes the link learn the source's history again, and check that it
        still contains this copy's)."""
        decoded = [Record.decode(data) for _, data in records]
        expected = db.applied_lsn + 1
        for (lsn, _), rec in zip(records, decoded, strict=True):
            if lsn != expected or rec.lsn != lsn:
                raise OutOfOrder(f"the source sent record {rec.lsn} (keyed {lsn}) where LSN {expected} was due")
            expected += 1
        if any(rec.epoch != epoch_at(self._source_epochs, rec.lsn) for rec in decoded):
            await self._verify()  # the source promoted since the last HELLO: learn its new epochs
            for rec in decoded:
                if rec.epoch != epoch_at(self._source_epochs, rec.lsn):
                    raise HistoryDiverged(f"its record at LSN {rec.lsn} belongs to epoch {rec.epoch}, which its "
                                          "own history does not place there")
        return decoded

    async def _apply(self, db: Database, records: list[tuple[int, bytes]]) -> None:
        """Check, then log first, then apply in one SQLite transaction; then harden per the durability."""
        started = time.perf_counter()
        decoded = await self._check(db, records)
        ticket = self.store.log.append(db.info.id, records)
        self.progress.received_lsn = records[-1][0]
        try:
            db.apply_records(decoded)
        except sqlite3.Error as e:  # a record that follows but does not apply: this copy is broken
            self.store.log.truncate_after(db.info.id, db.applied_lsn)
            raise OutOfOrder(f"record {decoded[0].lsn}..{decoded[-1].lsn} does not apply: {e}") from None
        info = db.info
        if decoded[-1].epoch != info.epoch:  # the copy entered the source's newer epoch
            info.epochs = prefix(self._source_epochs, db.applied_lsn)
            self.store.save(info)
        self.progress.apply_delay = (time.time() - decoded[-1].ts, time.time())
        p = self.progress
        size = sum(len(d) for _, d in records)
        p.records_copied += len(records)
        p.applied_commits += len(records)
        p.record_bytes = 0.8 * p.record_bytes + 0.2 * (size / len(records))
        p.throughput = 0.7 * p.throughput + 0.3 * (size / max(time.perf_counter() - started, 1e-6))
        lsn = records[-1][0]
        if info.durability == "sync":
            await self.store.log.wait_durable(ticket)
            p.hardened_lsn = lsn
        else:
            asyncio.get_running_loop().create_task(self._harden_later(ticket, lsn))

    async def _harden_later(self, ticket: int, lsn: int) -> None:
        await self.store.log.wait_durable(ticket)
        self.progress.hardened_lsn = max(self.progress.hardened_lsn, lsn)


class _SourceConnection(pymysql.connections.Connection):
    """pymysql waits for the server's greeting and the login's answer with the read timeout (60 s,
    for long requests); a source that accepts TCP but never answers (SIGSTOP, a hung process) must
    fail after the connect timeout instead. pymysql re-applies ``_read_timeout`` on every read, so
    swapping it for the handshake is enough."""

    _read_timeout: float | None

    def connect(self, sock: socket.socket | None = None) -> None:
        wanted = self._read_timeout
        self._read_timeout = CONNECT_TIMEOUT
        try:
            super().connect(sock)
        finally:
            self._read_timeout = wanted


def _clean(msg: str) -> str:
    return msg.replace("\x1b", "")


class _Worker:
    """One daemon thread running a link's blocking client calls in order.

    Not a ThreadPoolExecutor: the interpreter joins those at exit, so a call stuck on a hung source
    would hold up the node's shutdown until its timeout."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, fn: Callable[..., Any] | None, *args: Any) -> Future[Any]:
        """Queue a call (None ends the thread after the calls before it)."""
        fut: Future[Any] = Future()
        self._calls.put(None if fn is None else (fn, args, fut))
        return fut

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            fn, args, fut = call
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn(*args))
                except BaseException as e:
                    fut.set_exception(e)
