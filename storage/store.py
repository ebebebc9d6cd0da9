"""The node's storage: the database catalog, opening and recovering databases, node metadata.

State is held here and only here: the catalog lives in the log store's metadata (durable on every
change), each database's content in its SQLite file plus its log.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

import msgpack

from storage.database import ConfigureConnection, Database, DbInfo, NeedsRebuild
from storage.logstore import LogStore
from storage.record import Record


class HistoryGap(Exception):
    """The local log does not reach back far enough for a revert or a rebuild."""


class Store:
    def __init__(self, data_dir: Path, configure: ConfigureConnection) -> None:
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "db").mkdir(exist_ok=True)
        self.log = LogStore(self.dir / "log")
        self.configure = configure
        self.databases: dict[str, Database] = {}
        self.recovered: dict[str, int] = {}
        for _, raw in self.log.meta_items("db:"):
            info = DbInfo(**json.loads(raw))
            db = self._open(info)
            self.recovered[info.name] = db.recover()
            if info.reverting is not None:  # a revert was cut off: finish it
                db = self._finish_revert(db)
            self.databases[info.name] = db

    def _path(self, db_id: int) -> Path:
        return self.dir / "db" / f"{db_id}.sqlite"

    def _open(self, info: DbInfo) -> Database:
        return Database(self._path(info.id), info, self.log, self.configure)

    def get(self, name: str) -> Database | None:
        return self.databases.get(name)

    def names(self) -> list[str]:
        return sorted(self.databases)

    def create(self, name: str, **fields: object) -> Database:
        next_id = int(self.log.meta_get("next_db_id") or b"1")
        self.log.meta_put("next_db_id", str(next_id + 1).encode())
        info = DbInfo(id=next_id, name=name, **fields)  # type: ignore[arg-type]
        _remove(self._path(next_id))  # a stale file of a crashed create must not leak in
        Path(str(self._path(next_id)) + ".base").unlink(missing_ok=True)
        db = self._open(info)
        self.save(info)
        self.databases[name] = db
        return db

    def install_snapshot(self, db: Database, snapshot: Path) -> Database:
        """Replace a (provisioning) database's content with a snapshot file taken by ``backup``:
        its log is emptied, the file moved into place, and the database reopened at the snapshot's
        LSN. Returns the new Database object, which replaces ``db`` in the catalog."""
        self.log.drop(db.info.id)
        base = self._base(db)
        shutil.copyfile(snapshot, base)  # kept: the start a rebuild replays the log from
        with open(base, "rb+") as f:
            os.fsync(f.fileno())
        return self._swap(db, snapshot)

    def _base(self, db: Database) -> Path:
        """The snapshot a provisioned copy started from (its log begins right after it)."""
        return Path(str(db.path) + ".base")

    def _rebuild_start(self, db: Database, lsn: int) -> Path | None:
        """The file a rebuild up to ``lsn`` starts from: None for an empty database (the log goes
        back to the creation), the base snapshot when the log starts right after it."""
        first = self.log.first_lsn(db.info.id)
        if lsn == 0 or first == 1:
            return None
        base = self._base(db)
        if base.exists():
            conn = sqlite3.connect(str(base))
            try:
                base_lsn = conn.execute("SELECT applied_lsn FROM _drlab_state").fetchone()[0]
            finally:
                conn.close()
            if base_lsn <= lsn and (first == 0 or first == base_lsn + 1):
                return base
        raise HistoryGap("the transactions to revert include DDL, and neither the local log nor the snapshot this "
                         "copy was provisioned from reaches back far enough to rebuild it")

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
            raise HistoryGap(f"the local log starts after LSN {lsn}: the transactions to revert are not all in it")
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
        if db.applied_lsn > lsn:
            records = [Record.decode(d) for _, d in self.log.records(db.info.id, lsn)]
            try:
                db.revert(records)
            except NeedsRebuild:
                db = self._rebuild(db, lsn)
        self.log.truncate_after(db.info.id, lsn)
        db.info.reverting = None
        self.save(db.info)
        return db

    def _rebuild(self, db: Database, lsn: int) -> Database:
        """Replay the log up to ``lsn`` into a fresh file (from the base snapshot of a provisioned
        copy, else from nothing), and swap it in."""
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
        """Persist a catalog entry (state changes, epochs, replication source) durably."""
        self.log.meta_put(f"db:{info.name}", json.dumps(asdict(info)).encode())

    def drop(self, name: str) -> None:
        db = self.databases.pop(name)
        self.log.meta_put(f"db:{name}", None)
        db.close()
        self.log.drop(db.info.id)
        self.log.meta_put_many([(k, None) for k, _ in self.log.meta_items(f"reverted:{db.info.id}:")])
        _remove(db.path)
        self._base(db).unlink(missing_ok=True)

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


def _remove(path: Path, keep_main: bool = False) -> None:
    """Delete a SQLite file and its WAL and shared-memory files."""
    for suffix in ("-wal", "-shm") if keep_main else ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
