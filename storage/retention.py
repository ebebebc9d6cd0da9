"""Log retention: the settings that bound a database's log, and the named holds that keep part of it.

A database's log is kept only after its oldest kept checkpoint (the "failback window": the newest
``snapshots_to_keep`` checkpoints and the log after the oldest of them) unless a hold needs more.
Whatever needs history registers a hold: an owner (its name, unique per database), a reason shown
to users, and a position (an LSN: the records after it are kept) or a time (the records committed
at or after it are kept). A hold that ``keeps_state`` also keeps the newest checkpoint at or before
its position, so the database can be rebuilt or reverted to that point (DDL revert, rollback
points); without it only the records after the position are kept (a replica that will fetch them).
A hold with a ``ttl`` lapses when its owner has not renewed it for that many seconds, so an owner
that vanished (a replica never seen again) cannot pin the disk forever.

Holds are kept in the log store's metadata (``holds:<db id>``) so they survive a restart; positions
are renewed in memory and written back at each retention pass.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

# SingleStore's defaults are 2 snapshots and 2 GB of log; drlab's trigger is smaller because a lab's
# databases are small and a restart replays at most this much log (docs/retention.md).
SNAPSHOTS_TO_KEEP = 2
SNAPSHOT_TRIGGER_SIZE = 16 << 20
REPLICA_HOLD_TIMEOUT = 3600  # seconds a replica's hold outlives its last fetch (paused, disconnected)
CRASH_ENV = "DRLAB_TEST_CRASH_AT"


@dataclass
class Hold:
    owner: str
    reason: str
    lsn: int | None = None  # keeps the records after this LSN
    since: float | None = None  # or: keeps the records committed at or after this time
    keeps_state: bool = False  # also keeps a checkpoint at or before the position
    ttl: float | None = None  # lapses this many seconds after its last renewal
    renewed: float = 0.0

    def lapsed(self, now: float) -> bool:
        return self.ttl is not None and now - self.renewed > self.ttl


@dataclass
class Settings:
    """The node's retention settings (SET GLOBAL snapshots_to_keep,
    snapshot_trigger_size, drlab_replica_hold_timeout)."""

    snapshots_to_keep: int = SNAPSHOTS_TO_KEEP
    snapshot_trigger_size: int = SNAPSHOT_TRIGGER_SIZE
    replica_hold_timeout: float = REPLICA_HOLD_TIMEOUT


class Holds:
    """Every database's holds, in memory, saved through ``save`` (the log store's metadata)."""

    def __init__(self, load: dict[int, bytes], save: Callable[[int, bytes | None], None]) -> None:
        self._save = save
        self.by_db: dict[int, dict[str, Hold]] = {
            db_id: {h["owner"]: Hold(**h) for h in json.loads(raw)} for db_id, raw in load.items()
        }

    def hold(self, db_id: int, owner: str, reason: str, lsn: int | None = None, since: float | None = None,
             keeps_state: bool = False, ttl: float | None = None) -> Hold:
        """Register or renew a hold (saved at once when it is new; renewals at the next pass)."""
        holds = self.by_db.setdefault(db_id, {})
        new = owner not in holds
        h = Hold(owner, reason, lsn, since, keeps_state, ttl, time.time())
        holds[owner] = h
        if new:
            self.save(db_id)
        return h

    def retime(self, owner_prefix: str, ttl: float) -> None:
        """Give every hold whose owner starts with ``owner_prefix`` a new time-to-live (a setting
        changed: it applies to the holds already registered, such as a paused replica's)."""
        for db_id, holds in self.by_db.items():
            changed = False
            for h in holds.values():
                if h.owner.startswith(owner_prefix) and h.ttl is not None:
                    h.ttl, changed = ttl, True
            if changed:
                self.save(db_id)

    def release(self, db_id: int, owner: str) -> None:
        if self.by_db.get(db_id, {}).pop(owner, None) is not None:
            self.save(db_id)

    def of(self, db_id: int) -> list[Hold]:
        """The database's live holds (lapsed ones are dropped here)."""
        holds = self.by_db.get(db_id, {})
        now = time.time()
        lapsed = [o for o, h in holds.items() if h.lapsed(now)]
        for owner in lapsed:
            del holds[owner]
        if lapsed:
            self.save(db_id)
        return list(holds.values())

    def save(self, db_id: int) -> None:
        holds = self.by_db.get(db_id) or {}
        self._save(db_id, json.dumps([asdict(h) for h in holds.values()]).encode() if holds else None)

    def forget(self, db_id: int) -> None:
        if self.by_db.pop(db_id, None) is not None:
            self._save(db_id, None)


def crash_point(name: str) -> None:
    """Test-only: die at once (as kill -9 would) when ``$DRLAB_TEST_CRASH_AT`` names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
