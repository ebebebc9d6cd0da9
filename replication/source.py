"""The source side of a DR link: what a primary answers its replicas.

Replicas pull. A primary never waits for them (cross-cluster replication is asynchronous): it only
serves snapshots and durable log records on request and remembers, per replica, the position that
replica last reported, for the status views. Each replica holds the log after its position (a
retention hold, see storage.retention) while it fetches, and for drlab_replica_hold_timeout seconds
after its last fetch; a replica that needs records no longer kept is told so and re-provisions.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replication.errors import HistoryMismatch, UnknownDatabase
from storage.database import Database
from storage.history import epoch_at
from storage.store import Store

CHUNK_BYTES = 4 << 20
SNAPSHOT_TTL = 3600.0
SNAPSHOT_HOLD_TTL = 60.0
SNAPSHOT_HOLD = "provisioning snapshot "
REPLICA_HOLD = "replica "


@dataclass
class ReplicaSeen:
    """What a primary knows of one replica: from its last FETCH."""

    db: str
    uri: str
    applied_lsn: int = 0
    hardened_lsn: int = 0
    epoch: int = 0
    last_seen: float = 0.0
    fetches: int = 0
    active: int = 0  # FETCHes in flight (a long poll counts as connected)

    @property
    def connected(self) -> bool:
        return self.active > 0 or time.time() - self.last_seen < 3.0


class Source:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.replicas: dict[tuple[str, str], ReplicaSeen] = {}
        self._wakeups: dict[int, asyncio.Event] = {}
        self._snapshots: dict[str, tuple[Path, int, float, str]] = {}
        self.dir = store.dir / "snapshots"
        if self.dir.exists():
            for stale in self.dir.iterdir():
                stale.unlink()
        self.dir.mkdir(exist_ok=True)

    def committed(self, db: Database, lsn: int) -> None:
        """A commit listener: wakes the replicas long-polling this database."""
        ev = self._wakeups.pop(db.info.id, None)
        if ev is not None:
            ev.set()

    def _database(self, name: str) -> Database:
        db = self.store.get(name)
        if db is None:
            raise UnknownDatabase(f"Unknown database '{name}' on the replication source")
        if not db.info.state.readable:
            raise HistoryMismatch(f"Database '{name}' on the source is {db.info.state}; it cannot be replicated now")
        return db

    def hello(self, name: str) -> list[Any]:
        db = self._database(name)
        info = db.info
        return [info.id, info.state, info.role, json.dumps(info.epochs), self.retained_from(db), db.applied_lsn,
                time.time()]

    def retained_from(self, db: Database) -> int:
        """The first LSN this node's log still holds for ``db`` (a provisioned copy starts after its
        snapshot; an empty log means the next LSN)."""
        return self.store.log.first_lsn(db.info.id) or db.applied_lsn + 1

    async def snapshot(self, name: str) -> list[Any]:
        db = self._database(name)
        await self.store.log.flush()  # the copy may hold only what is durable here
        sid = uuid.uuid4().hex
        path = self.dir / f"{sid}.sqlite"
        lsn = await asyncio.to_thread(db.backup, path)
        size = path.stat().st_size
        self._hold_for_snapshot(db, sid, lsn)
        self._snapshots[sid] = (path, size, time.time(), name)
        self._expire()
        return [sid, lsn, size]

    def snapshot_db(self, sid: str) -> str:
        """The database a snapshot copies (reading it needs the REPLICATION privilege on it)."""
        entry = self._snapshots.get(sid)
        if entry is None:
            raise HistoryMismatch("Unknown or expired snapshot; restart provisioning")
        return entry[3]

    def chunk(self, sid: str, offset: int) -> bytes:
        entry = self._snapshots.get(sid)
        if entry is None:
            raise HistoryMismatch("Unknown or expired snapshot; restart provisioning")
        path, size, _, name = entry
        db = self.store.get(name)
        if db is not None:
            self._hold_for_snapshot(db, sid, None)
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(CHUNK_BYTES)
        if offset + len(data) >= size:
            del self._snapshots[sid]
            path.unlink(missing_ok=True)
        return data

    def _hold_for_snapshot(self, db: Database, sid: str, lsn: int | None) -> None:
        """Keep the log after a provisioning snapshot while it is copied (renewed by each chunk), until
        the new replica's first fetch holds it in its own name (or a minute passes)."""
        owner = f"{SNAPSHOT_HOLD}{sid[:8]}"
        if lsn is None:
            held = next((h for h in self.store.holds.of(db.info.id) if h.owner == owner), None)
            if held is None:
                return
            lsn = held.lsn
        self.store.holds.hold(db.info.id, owner, "a replica is copying a snapshot taken here and will fetch "
                              "the records after it", lsn=lsn, ttl=SNAPSHOT_HOLD_TTL)

    def _expire(self) -> None:
        now = time.time()
        for sid, (path, _, made, _) in list(self._snapshots.items()):
            if now - made > SNAPSHOT_TTL:
                del self._snapshots[sid]
                path.unlink(missing_ok=True)

    async def fetch(self, name: str, db_id: int, after: int, epoch: int, wait_ms: int, limit: int,
                    hardened: int, replica: str) -> tuple[list[tuple[int, bytes]], Database]:
        """Durable records after ``after``, long-polling up to ``wait_ms`` when there are none."""
        db = self._database(name)
        info = db.info
        if info.id != db_id:
            raise HistoryMismatch(f"Database '{name}' on the source was dropped and recreated since this "
                              "replica was provisioned; replicate it again into a new database")
        seen = self.replicas.setdefault((name, replica), ReplicaSeen(name, replica))
        seen.applied_lsn, seen.hardened_lsn, seen.epoch = after, hardened, epoch
        seen.last_seen, seen.fetches = time.time(), seen.fetches + 1
        seen.active += 1
        try:
            if after > db.applied_lsn or (after > 0 and epoch_at(info.epochs, after) != epoch):
                raise HistoryMismatch(f"The replica's history diverges from the source's at LSN {after} "
                                  f"(epoch {epoch}); use REPLICATE DATABASE ... WITH FORCE DIFFERENTIAL")
            owner = f"{REPLICA_HOLD}{replica or 'at an unknown address'}"
            if after + 1 < self.retained_from(db):
                self.store.holds.release(info.id, owner)
                raise HistoryMismatch(f"The source no longer keeps the log after LSN {after} (it keeps the log "
                                  "after its oldest kept checkpoint and what retention holds need, see "
                                  "information_schema.DRLAB_RETENTION_HOLDS); the replica must be re-provisioned "
                                  "from a fresh snapshot")
            self.store.holds.hold(info.id, owner, "a replica fetches the records after its position; kept while "
                                  "it is connected and for drlab_replica_hold_timeout seconds after its last "
                                  "fetch (paused or disconnected)", lsn=after,
                                  ttl=self.store.settings.replica_hold_timeout)
            for held in self.store.holds.of(info.id):  # the copy a snapshot hold kept the log for arrived
                if held.owner.startswith(SNAPSHOT_HOLD) and held.lsn == after:
                    self.store.holds.release(info.id, held.owner)
            deadline = time.monotonic() + wait_ms / 1000
            while True:
                wake = self._wakeups.setdefault(info.id, asyncio.Event())
                if db.applied_lsn > after:
                    await self.store.log.flush()
                    records = list(self.store.log.records(info.id, after, limit))
                    if not records or records[0][0] != after + 1:
                        raise HistoryMismatch(f"The source's log has no record after LSN {after}; "
                                          "replicate the database again into a new database")
                    return records, db
                left = deadline - time.monotonic()
                if left <= 0:
                    return [], db
                try:
                    await asyncio.wait_for(wake.wait(), left)
                except TimeoutError:
                    return [], db
                db = self._database(name)
        finally:
            seen.active -= 1
            seen.last_seen = time.time()

    def forget(self, name: str) -> None:
        """Drop what is known of a database's replicas (the database was dropped)."""
        for key in [k for k in self.replicas if k[0] == name]:
            del self.replicas[key]
