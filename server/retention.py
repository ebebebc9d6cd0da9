"""Retention on a node: checkpoints taken when enough log has been written (snapshot_trigger_size),
the log truncated behind them (snapshots_to_keep, holds), SNAPSHOT DATABASE, and the views that
show why the disk holds what it holds (DRLAB_RETENTION_HOLDS, DRLAB_CHECKPOINTS, DRLAB_LOG).

The work itself is in ``storage``; this service decides when, off the event loop, and reads the
settings a SET GLOBAL changed. See docs/retention.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from replication.source import REPLICA_HOLD
from server.node import Node
from server.session import Outcome, Session
from sqlfront.errors import ER_BAD_DB, ER_OPTION_PREVENTS_STATEMENT, SqlError
from sqlfront.retention import SnapshotDatabase
from storage.catalog import State
from storage.database import Database
from storage.history import epoch_at

log = logging.getLogger("drlab.retention")

POLL = 0.2  # seconds between checks of the log written since each database's newest checkpoint
FULL_PASS = 2.0  # seconds between passes that also truncate what released or lapsed holds freed
SAVE_HOLDS = 10.0  # seconds between writes of the holds' renewed positions to disk
_SKIP = (State.PROVISIONING, State.UNRECOVERABLE)

HOLDS_COLUMNS = ["DATABASE_NAME", "HOLD", "REASON", "POSITION", "KEEPS", "SINCE_TIME", "RENEWED_AT", "EXPIRES_AT",
                 "PINNED_LOG_RECORDS", "PINNED_LOG_BYTES"]
CHECKPOINT_COLUMNS = ["DATABASE_NAME", "LSN", "POSITION", "CREATED_AT", "SIZE_BYTES", "KEPT_FOR"]
LOG_COLUMNS = ["DATABASE_NAME", "FIRST_LSN", "LAST_LSN", "LOG_RECORDS", "LOG_BYTES", "BYTES_SINCE_CHECKPOINT",
               "SNAPSHOT_TRIGGER_SIZE", "CHECKPOINTS", "CHECKPOINT_BYTES"]


class Retention:
    """The node's retention service (a node service: ``start`` / ``stop``)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.store = node.store
        self._task: asyncio.Task[None] | None = None
        self._running: set[int] = set()  # databases with a checkpoint or truncation under way
        self._bytes: dict[tuple[int, int, int], tuple[float, tuple[int, int]]] = {}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    def _settings(self) -> None:
        """Adopt what SET GLOBAL changed (the values are checked there, see server.variables)."""
        g, s = self.node.globals.values, self.store.settings
        s.snapshots_to_keep = int(g["snapshots_to_keep"])
        s.snapshot_trigger_size = int(g["snapshot_trigger_size"])
        timeout = float(g["drlab_replica_hold_timeout"])
        if timeout != s.replica_hold_timeout:
            s.replica_hold_timeout = timeout
            self.store.holds.retime(REPLICA_HOLD, timeout)

    async def _loop(self) -> None:
        last_full = last_save = time.monotonic()
        while True:
            await asyncio.sleep(POLL)
            now = time.monotonic()
            full, save = now - last_full >= FULL_PASS, now - last_save >= SAVE_HOLDS
            try:
                await self.run_pass(full, save)
            except Exception:  # a failed pass is retried at the next one; the node keeps serving
                log.exception("retention pass failed")
            if full:
                last_full = now
            if save:
                last_save = now

    async def run_pass(self, full: bool, save: bool) -> None:
        """Checkpoint every database that wrote snapshot_trigger_size bytes of log since its newest
        checkpoint, and (``full``) truncate what holds no longer need."""
        self._settings()
        for name in self.store.names():
            db = self.store.get(name)
            if db is None or db.info.state in _SKIP or db.info.reverting is not None or db.info.id in self._running:
                continue
            if save and self.store.holds.by_db.get(db.info.id):
                self.store.holds.save(db.info.id)
            since = self.store.since_checkpoint(db)
            if since is None:
                since = await asyncio.to_thread(self.store.count_since_checkpoint, db)
            if since >= self.store.settings.snapshot_trigger_size:
                await self.checkpoint(db)
            elif full:
                await self.truncate(db)

    async def checkpoint(self, db: Database) -> int:
        """Checkpoint ``db`` now and truncate behind it; returns the checkpoint's LSN."""
        self._running.add(db.info.id)
        try:
            lsn = await asyncio.to_thread(self.store.checkpoint, db)
            await self._truncate(db)
            return lsn
        finally:
            self._running.discard(db.info.id)

    async def truncate(self, db: Database) -> None:
        """Truncate what ``db``'s holds and checkpoints no longer need (released or lapsed holds)."""
        self._running.add(db.info.id)
        try:
            await self._truncate(db)
        finally:
            self._running.discard(db.info.id)

    async def _truncate(self, db: Database) -> None:
        plan = self.store.plan_retention(db)
        if plan.drop or (plan.first and plan.floor >= plan.first):
            await asyncio.to_thread(self.store.truncate, db, plan)

    # -- SNAPSHOT DATABASE -------------------------------------------------------------------------
    async def snapshot(self, session: Session, cmd: SnapshotDatabase) -> Outcome:
        await session.implicit_commit()
        self.node.accounts.check(session.user, session.host, "SUPER", None)
        db = self.store.get(cmd.db)
        if db is None:
            raise SqlError(ER_BAD_DB, f"Unknown database '{cmd.db}'")
        if db.info.state in _SKIP:
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT, f"Database '{cmd.db}' is {db.info.state} and has no consistent content to "
                           "snapshot; wait until it is online or replicating")
        self._settings()
        while db.info.id in self._running:  # a pass is checkpointing it: take the next one after it
            await asyncio.sleep(0.01)
        db = self.store.get(cmd.db)  # the pass may have replaced the object (a snapshot installed)
        if db is None:
            raise SqlError(ER_BAD_DB, f"Unknown database '{cmd.db}': it was dropped meanwhile")
        await self.checkpoint(db)
        return Outcome()

    # -- views -------------------------------------------------------------------------------------
    def _log_bytes(self, db_id: int, after: int, upto: int) -> tuple[int, int]:
        """(records, bytes) of log in (after, upto], cached for a second: every information_schema
        query rebuilds the views, and these are scans."""
        key, now = (db_id, after, upto), time.monotonic()
        hit = self._bytes.get(key)
        if hit is None or now - hit[0] > 1.0:
            if len(self._bytes) > 256:
                self._bytes.clear()
            hit = (now, self.store.log.log_bytes(db_id, after, upto))
            self._bytes[key] = hit
        return hit[1]

    def _pinned(self, db_id: int, after: int, newest: int | None) -> tuple[int, int]:
        """The log a hold keeps beyond what the newest checkpoint needs: records in (after, newest]."""
        return self._log_bytes(db_id, after, newest) if newest is not None and after < newest else (0, 0)

    def _visible(self, session: Session) -> list[Database]:
        out = []
        for name in self.store.names():
            db = self.store.get(name)
            if db is not None and self.node.accounts.databases_visible(session.user, session.host, name):
                out.append(db)
        return out

    def hold_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for db in self._visible(session):
            info = db.info
            plan = self.store.plan_retention(db)
            ckpts = self.store.checkpoints(info.id)
            newest = ckpts[-1][0] if ckpts else None

            if plan.window is None:
                since = self.store.since_checkpoint(db)
                if since is None:
                    since = self.store.count_since_checkpoint(db)
                trigger = self.store.settings.snapshot_trigger_size
                n, size = self._log_bytes(info.id, 0, db.applied_lsn)
                rows.append((info.name, "no checkpoint yet",
                             f"the whole log is kept until the first checkpoint: {since} of {trigger} bytes "
                             "(snapshot_trigger_size) written, or SNAPSHOT DATABASE", _pos(info.epochs, 0),
                             "log", None, None, None, n, size))
            else:
                k = self.store.settings.snapshots_to_keep
                rows.append((info.name, "failback window",
                             f"snapshots_to_keep = {k}: the newest {k} checkpoint(s) and the log after the oldest, "
                             "so WITH FORCE DIFFERENTIAL can revert to any point since it",
                             _pos(info.epochs, plan.window), "checkpoint and log", None, None, None,
                             *self._pinned(info.id, plan.window, newest)))
            for hold, lsn in plan.holds:
                keep_from = lsn
                if hold.keeps_state:
                    keep_from = max((c for c, _ in ckpts if c <= lsn), default=0)
                rows.append((info.name, hold.owner, hold.reason, _pos(info.epochs, lsn),
                             "checkpoint and log" if hold.keeps_state else "log", _time(hold.since),
                             _time(hold.renewed), _time(hold.renewed + hold.ttl if hold.ttl is not None else None),
                             *self._pinned(info.id, keep_from, newest)))
        return rows

    def checkpoint_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for db in self._visible(session):
            plan = self.store.plan_retention(db)
            k = self.store.settings.snapshots_to_keep
            by_k = set([c for c in plan.keep if plan.window is not None and c >= plan.window][-k:])
            for lsn, path in self.store.checkpoints(db.info.id):
                reasons = ["snapshots_to_keep"] if lsn in by_k else []
                reasons += [f"hold '{h.owner}'" for h, n in plan.holds if h.keeps_state and
                            max((c for c in plan.keep if c <= n), default=None) == lsn]
                st = path.stat()
                rows.append((db.info.name, lsn, _pos(db.info.epochs, lsn), _time(st.st_mtime), st.st_size,
                             ", ".join(reasons) or "being dropped"))
        return rows

    def log_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for db in self._visible(session):
            db_id = db.info.id
            first, last = self.store.log.first_lsn(db_id), self.store.log.last_lsn(db_id)
            n, size = self._log_bytes(db_id, 0, last)
            ckpts = self.store.checkpoints(db_id)
            since = self.store.since_checkpoint(db)
            rows.append((db.info.name, first or None, last or None, n, size,
                         self.store.count_since_checkpoint(db) if since is None else since,
                         self.store.settings.snapshot_trigger_size, len(ckpts),
                         sum(p.stat().st_size for _, p in ckpts)))
        return rows


def _pos(epochs: list[list], lsn: int) -> str:
    return f"{epoch_at(epochs, lsn) if lsn else epochs[0][0]}:{lsn}"


def _time(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts).isoformat(" ", "seconds")


def install(node: Node) -> Retention:
    """Register SNAPSHOT DATABASE, the retention views and the checkpoint service on ``node``."""
    r = Retention(node)
    f = node.features
    f.add_command(SnapshotDatabase, r.snapshot)
    f.add_view("DRLAB_RETENTION_HOLDS", HOLDS_COLUMNS, r.hold_rows)
    f.add_view("DRLAB_CHECKPOINTS", CHECKPOINT_COLUMNS, r.checkpoint_rows)
    f.add_view("DRLAB_LOG", LOG_COLUMNS, r.log_rows)
    f.add_service(r)
    return r


__all__ = ["Retention", "install"]
