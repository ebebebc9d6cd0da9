"""The node's storage: the database catalog, opening and recovering databases, node metadata.

State is held here and only here: the catalog lives in the log store's metadata (durable on every
change), each database's content in its SQLite file plus its log.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import msgpack

from storage.catalog import DbInfo, Role, State, change
from storage.database import ConfigureConnection, Database, NeedsRebuild, OutOfOrder
from storage.logstore import LogStore
from storage.record import CorruptRecord, HybridClock, Record
from storage.retention import Hold, Holds, Settings, crash_point


class HistoryGap(Exception):
    """The local log does not reach back far enough for a revert or a rebuild."""


@dataclass
class RetentionPlan:
    """One retention pass over a database: the log up to ``floor`` may go, ``keep`` checkpoints stay
    and ``drop`` ones go; ``window`` is the oldest checkpoint kept by snapshots_to_keep; ``holds``
    are the holds with the LSN each keeps the log after."""

    db_id: int
    first: int
    floor: int
    keep: list[int]
    drop: list[int]
    window: int | None
    holds: list[tuple[Hold, int]]


class Store:
    def __init__(self, data_dir: Path, configure: ConfigureConnection) -> None:
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "db").mkdir(exist_ok=True)
        _make_private(self.dir)
        self.log = LogStore(self.dir / "log")
        self.configure = configure
        self.settings = Settings()
        self.clock = HybridClock()
        self.holds = Holds({int(k.split(":")[1]): v for k, v in self.log.meta_items("holds:")},
                           lambda db_id, raw: self.log.meta_put(f"holds:{db_id}", raw))
        self._locks: dict[int, threading.Lock] = {}
        self._unckpt: dict[int, int] = {}  # log bytes after the newest checkpoint, when last counted
        self._mark: dict[int, int] = {}  # ``log.appended`` at that count
        self.databases: dict[str, Database] = {}
        self.recovered: dict[str, int] = {}
        for _, raw in self.log.meta_items("db:"):
            info = DbInfo(**json.loads(raw))
            self._adopt_legacy_base(info.id)
            for stale in self._ckpt_dir(info.id).glob("tmp-*"):  # a checkpoint cut off by a crash
                stale.unlink()
            db = self._open(info)
            try:
                db = self._restore_if_behind(db)
                self.recovered[info.name] = db.recover()
                if info.reverting is not None:  # a revert was cut off: finish it
                    db = self._finish_revert(db)
            except (CorruptRecord, OutOfOrder, sqlite3.Error) as e:  # invariant 6: only this one is lost
                self.transition(info, info.role, State.UNRECOVERABLE,
                                f"recovery stopped at LSN {db.applied_lsn}: {e}; DROP DATABASE it and "
                                "replicate or restore it again")
            self.databases[info.name] = db

    def _path(self, db_id: int) -> Path:
        return self.dir / "db" / f"{db_id}.sqlite"

    def _open(self, info: DbInfo) -> Database:
        db = Database(self._path(info.id), info, self.log, self.configure, self.clock)
        last = self.log.last_lsn(info.id)
        for _, data in self.log.records(info.id, last - 1, 1) if last else ():
            self.clock.observe(Record.decode(data).ts)
        return db

    def get(self, name: str) -> Database | None:
        return self.databases.get(name)

    def names(self) -> list[str]:
        return sorted(self.databases)

    def create(self, name: str, **fields: object) -> Database:
        next_id = int(self.log.meta_get("next_db_id") or b"1")
        self.log.meta_put("next_db_id", str(next_id + 1).encode())
        info = DbInfo(id=next_id, name=name, **fields)  # type: ignore[arg-type]
        _remove(self._path(next_id))  # a stale file of a crashed create must not leak in
        shutil.rmtree(self._ckpt_dir(next_id), ignore_errors=True)
        db = self._open(info)
        self.save(info)
        self.databases[name] = db
        return db

    def install_snapshot(self, db: Database, snapshot: Path) -> Database:
        """Replace a (provisioning) database's content with a snapshot file taken by ``backup``:
        its log and checkpoints are dropped, the snapshot becomes its first checkpoint (the start a
        rebuild replays the log from), and the database is reopened at the snapshot's LSN. Returns
        the new Database object, which replaces ``db`` in the catalog."""
        with self.lock(db.info.id):
            self.log.drop(db.info.id)
            for _, path in self.checkpoints(db.info.id):
                path.unlink()
            tmp = self._ckpt_dir(db.info.id) / f"tmp-{uuid.uuid4().hex}.sqlite"
            tmp.parent.mkdir(exist_ok=True)
            shutil.copyfile(snapshot, tmp)
            self._publish(tmp, _applied_lsn(tmp))
            self._unckpt[db.info.id], self._mark[db.info.id] = 0, self.log.appended.get(db.info.id, 0)
            return self._swap(db, snapshot)

    # -- checkpoints and truncation ----------------------------------------------------------------
    def lock(self, db_id: int) -> threading.Lock:
        """Held while a database's checkpoints or log prefix change (a retention pass, a revert, a
        snapshot install, a drop), so none of them sees the other half done."""
        return self._locks.setdefault(db_id, threading.Lock())

    def _ckpt_dir(self, db_id: int) -> Path:
        return self.dir / "db" / f"{db_id}.checkpoints"

    def checkpoints(self, db_id: int) -> list[tuple[int, Path]]:
        """The database's checkpoints, oldest first: (LSN, file). A file is a checkpoint only once it
        has its final name, which it gets after it is complete and on disk."""
        d = self._ckpt_dir(db_id)
        if not d.exists():
            return []
        out = []
        for f in d.iterdir():
            if f.name.startswith("tmp-"):
                continue
            out.append((int(f.stem), f))
        return sorted(out)

    def checkpoint(self, db: Database) -> int:
        """Take a checkpoint of ``db`` now: a consistent SQLite copy at its applied LSN, durable,
        with every record it holds durable in the log too. Returns its LSN. Safe to run on a thread
        (the copy uses its own connection); the retention pass and SNAPSHOT DATABASE call it."""
        with self.lock(db.info.id):
            d = self._ckpt_dir(db.info.id)
            d.mkdir(exist_ok=True)
            self._unckpt[db.info.id], self._mark[db.info.id] = 0, self.log.appended.get(db.info.id, 0)
            tmp = d / f"tmp-{uuid.uuid4().hex}.sqlite"
            lsn = db.backup(tmp)
            if any(c == lsn for c, _ in self.checkpoints(db.info.id)):
                tmp.unlink()
                return lsn
            self.log.sync()  # the copy may hold records whose log write is not fsynced yet
            self._publish(tmp, lsn)
            return lsn

    def _publish(self, tmp: Path, lsn: int) -> None:
        """Make a complete copy a checkpoint: fsync it, then give it its final name, durably."""
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        crash_point("checkpoint:copied")
        os.replace(tmp, tmp.parent / f"{lsn:020d}.sqlite")
        _fsync_dir(tmp.parent)
        crash_point("checkpoint:published")

    def since_checkpoint(self, db: Database) -> int | None:
        """Bytes of log written after the newest checkpoint (what snapshot_trigger_size is checked
        against), kept up to date from the appends; None until ``count_since_checkpoint`` ran."""
        db_id = db.info.id
        if db_id not in self._unckpt:
            return None
        return self._unckpt[db_id] + self.log.appended.get(db_id, 0) - self._mark[db_id]

    def count_since_checkpoint(self, db: Database) -> int:
        """Count the log after the newest checkpoint (a scan: once per database after a start)."""
        db_id = db.info.id
        ckpts = self.checkpoints(db_id)
        self._mark[db_id] = self.log.appended.get(db_id, 0)
        self._unckpt[db_id] = self.log.log_bytes(db_id, ckpts[-1][0] if ckpts else 0)[1]
        return self._unckpt[db_id]

    def hold_lsn(self, db: Database, hold: Hold) -> int:
        """The LSN a hold keeps the log after: its own, or for a time the last record before it."""
        if hold.lsn is not None:
            return hold.lsn
        db_id = db.info.id
        lo, hi = self.log.first_lsn(db_id), self.log.last_lsn(db_id)
        if lo == 0 or hold.since is None:
            return db.applied_lsn
        found = hi + 1  # the first record committed at or after ``since``
        while lo <= hi:
            mid = (lo + hi) // 2
            rec = next(iter(self.log.records(db_id, mid - 1, 1)), None)
            if rec is not None and Record.decode(rec[1]).ts >= hold.since:
                found, hi = mid, mid - 1
            else:
                lo = mid + 1
        return found - 1

    def plan_retention(self, db: Database) -> RetentionPlan:
        """What may go: the log up to the oldest kept checkpoint (the newest ``snapshots_to_keep``),
        or less where a hold needs more; checkpoints neither kept nor held go too."""
        db_id = db.info.id
        ckpts = [c for c, _ in self.checkpoints(db_id)]
        first = self.log.first_lsn(db_id)
        holds = [(h, self.hold_lsn(db, h)) for h in self.holds.of(db_id)]
        if not ckpts:
            return RetentionPlan(db_id, first, 0, [], [], None, holds)
        keep = set(ckpts[-max(self.settings.snapshots_to_keep, 1):])
        window = min(keep)
        floor = window
        for h, lsn in holds:
            if not h.keeps_state:
                floor = min(floor, lsn)
                continue
            start = max((c for c in ckpts if c <= lsn), default=None)
            if start is None:  # only the log from the creation (or the records after it) rebuilds it
                floor = min(floor, 0 if first <= 1 else lsn)
            else:
                keep.add(start)
                floor = min(floor, start)
        return RetentionPlan(db_id, first, max(floor, 0), sorted(keep), [c for c in ckpts if c not in keep],
                             window, holds)

    def truncate(self, db: Database, plan: RetentionPlan) -> int:
        """Carry out a plan: delete the log through its floor, then the checkpoints it drops. Each
        step is crash-safe on its own (see ``LogStore.truncate_through``); returns records deleted."""
        with self.lock(plan.db_id):
            n = 0
            if plan.first and plan.floor >= plan.first:
                n = self.log.truncate_through(plan.db_id, plan.floor)
            crash_point("truncate:log-done")
            dropped = dict(self.checkpoints(plan.db_id))
            for c in plan.drop:
                if c in dropped:
                    dropped[c].unlink()
            if plan.drop:
                _fsync_dir(self._ckpt_dir(plan.db_id))
            return n

    def _restore_if_behind(self, db: Database) -> Database:
        """Recovery's starting point: the database file, unless the log no longer reaches back to it
        (its writes were lost in an OS crash, or the file is gone); then the newest checkpoint."""
        ckpts = self.checkpoints(db.info.id)
        if not ckpts or db.applied_lsn >= ckpts[-1][0]:
            return db
        first = self.log.first_lsn(db.info.id)
        if first and db.applied_lsn + 1 >= first:
            return db
        tmp = Path(str(db.path) + ".restore")
        shutil.copyfile(ckpts[-1][1], tmp)
        return self._swap(db, tmp)

    def _adopt_legacy_base(self, db_id: int) -> None:
        """A data directory from before checkpoints kept a provisioned copy's snapshot as
        ``<id>.sqlite.base``: it becomes that database's first checkpoint."""
        base = Path(str(self._path(db_id)) + ".base")
        if base.exists():
            self._ckpt_dir(db_id).mkdir(exist_ok=True)
            tmp = self._ckpt_dir(db_id) / f"tmp-{uuid.uuid4().hex}.sqlite"
            os.replace(base, tmp)
            self._publish(tmp, _applied_lsn(tmp))

    def _rebuild_start(self, db: Database, lsn: int) -> Path | None:
        """The file a rebuild up to ``lsn`` starts from: None for an empty database (the log goes
        back to the creation), else the newest checkpoint at or before ``lsn`` that the log
        continues without a gap."""
        first = self.log.first_lsn(db.info.id)
        if lsn == 0 or first == 1:
            return None
        usable = [(c, path) for c, path in self.checkpoints(db.info.id)
                  if c == lsn or (c < lsn and first and first <= c + 1)]
        if usable:
            return usable[-1][1]
        oldest = min((c for c, _ in self.checkpoints(db.info.id)), default=None)
        raise HistoryGap("the transactions to revert include DDL, and no kept checkpoint with the log after it "
                         f"reaches back to LSN {lsn} (the oldest checkpoint kept is at LSN {oldest}; "
                         "SET GLOBAL snapshots_to_keep keeps more of them)")

    def lsn_at(self, db: Database, ts: float) -> int:
        """The LSN of ``db``'s last applied transaction committed at or before ``ts`` (the point to
        revert to for its state as of ``ts``); the LSN before the log's first kept record when even
        that one is later (reverting there needs a checkpoint: ``revert_to`` says if there is none)."""
        first = self.log.first_lsn(db.info.id)
        lsn = (first - 1) if first else db.applied_lsn
        for n, data in self.log.records(db.info.id, lsn):
            if n > db.applied_lsn or Record.decode(data).ts > ts:
                break
            lsn = n
        return lsn

    # -- reverting a divergent suffix (WITH FORCE DIFFERENTIAL) -------------------------------------
    def revert_to(self, db: Database, lsn: int, source: str) -> tuple[Database, list[Record]]:
        """Undo every transaction of ``db`` after ``lsn`` and keep them readable.

        The reverted records are first stored (``reverted:<db id>:<lsn>``, with the time and the
        source that caused it), then the catalog marks the revert as under way, then the state is
        reverted (from row images, or rebuilt from the log for DDL) and the log truncated. A crash
        at any point is finished on the next start. Returns the (possibly reopened) database and
        the reverted records."""
        records = [Record.decode(d) for n, d in self.log.records(db.info.id, lsn) if n <= db.applied_lsn]
        if db.applied_lsn > lsn and (not records or records[0].lsn != lsn + 1):
            raise HistoryGap(f"the local log starts after LSN {lsn}: the transactions to revert are not all in it "
                             "(the log is kept from the oldest of the newest snapshots_to_keep checkpoints)")
        if any(op[0] == "sql" for r in records for op in r.ops):
            self._rebuild_start(db, lsn)  # refused (HistoryGap) before anything is written
        now = time.time()
        self.log.meta_put_many([
            (f"reverted:{db.info.id}:{r.lsn:020d}", msgpack.packb([now, source, db.info.name, r.encode()]))
            for r in records
        ])
        db.info.reverting = lsn
        self.save(db.info)
        return self._finish_revert(db), records

    def _finish_revert(self, db: Database) -> Database:
        lsn = db.info.reverting
        assert lsn is not None
        with self.lock(db.info.id):
            if db.applied_lsn > lsn:
                records = [Record.decode(d) for _, d in self.log.records(db.info.id, lsn)]
                try:
                    db.revert(records)
                except NeedsRebuild:
                    db = self._rebuild(db, lsn)
            self.log.truncate_after(db.info.id, lsn)
            for c, path in self.checkpoints(db.info.id):
                if c > lsn:  # a checkpoint of the reverted suffix must never be restored
                    path.unlink()
        db.info.reverting = None
        self.save(db.info)
        return db

    def _rebuild(self, db: Database, lsn: int) -> Database:
        """Replay the log up to ``lsn`` into a fresh file (from the newest usable checkpoint, else
        from nothing), and swap it in."""
        start = self._rebuild_start(db, lsn)
        tmp = Path(str(db.path) + ".rebuild")
        _remove(tmp)
        if start is not None:
            shutil.copyfile(start, tmp)
        fresh = Database(tmp, db.info, self.log, self.configure)
        while fresh.applied_lsn < lsn:
            batch = [Record.decode(d) for n, d in self.log.records(db.info.id, fresh.applied_lsn, 1000) if n <= lsn]
            fresh.apply_records(batch)
        fresh.close()
        return self._swap(db, tmp)

    def _swap(self, db: Database, path: Path) -> Database:
        db.close()
        _remove(db.path, keep_main=True)
        os.replace(path, db.path)
        fresh = self._open(db.info)
        self.databases[db.info.name] = fresh
        return fresh

    def reverted(self) -> list[tuple[float, str, str, Record]]:
        """Every reverted transaction kept: (reverted at, source, database name, record)."""
        out = []
        for _, raw in self.log.meta_items("reverted:"):
            at, source, name, data = msgpack.unpackb(raw, raw=False)
            out.append((at, source, name, Record.decode(data)))
        return out

    def save(self, info: DbInfo) -> None:
        """Persist a catalog entry (epochs, replication source, durability) durably."""
        self.log.meta_put(f"db:{info.name}", json.dumps(asdict(info)).encode())

    def transition(self, info: DbInfo, role: Role, state: State, details: str = "") -> None:
        """The one way a database's role and state change: checked against the catalog's state
        machine (``IllegalTransition`` otherwise), then persisted durably."""
        change(info, role, state, details)
        self.save(info)

    def drop(self, name: str) -> None:
        db = self.databases.pop(name)
        self.log.meta_put(f"db:{name}", None)
        db.close()
        self.log.drop(db.info.id)
        self.log.meta_put_many([(k, None) for k, _ in self.log.meta_items(f"reverted:{db.info.id}:")])
        _remove(db.path)
        with self.lock(db.info.id):
            shutil.rmtree(self._ckpt_dir(db.info.id), ignore_errors=True)
        self.holds.forget(db.info.id)

    def rename(self, db: Database, new_name: str) -> None:
        self.databases.pop(db.info.name)
        self.log.meta_put(f"db:{db.info.name}", None)
        db.info.name = new_name
        self.save(db.info)
        self.databases[new_name] = db

    def disk_usage(self) -> int:
        total = 0
        for root, _, files in os.walk(self.dir):
            total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        return total

    def close(self) -> None:
        for db in self.databases.values():
            db.close()
        self.log.close()

    def wipe(self) -> None:
        self.close()
        shutil.rmtree(self.dir)


def _applied_lsn(path: Path) -> int:
    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute("SELECT applied_lsn FROM _drlab_state").fetchone()[0])
    finally:
        conn.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_private(data_dir: Path) -> None:
    """Only the node's user may read the data directory: it holds every database and, in the
    catalog, the passwords of replication sources. Tightens a directory made before this rule; new
    files are private through the node's umask (server.app)."""
    os.chmod(data_dir, 0o700)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            path = os.path.join(root, name)
            mode = os.stat(path).st_mode
            if mode & 0o077:
                os.chmod(path, mode & 0o700)


def _remove(path: Path, keep_main: bool = False) -> None:
    """Delete a SQLite file and its WAL and shared-memory files."""
    for suffix in ("-wal", "-shm") if keep_main else ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
