"""The node's storage: the database catalog, opening and recovering databases, node metadata.

State is held here and only here: the catalog lives in the log store's metadata (durable on every
change), each database's content in its SQLite file plus its log.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from storage.database import ConfigureConnection, Database, DbInfo
from storage.logstore import LogStore


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
        for suffix in ("", "-wal", "-shm"):  # a stale file of a crashed create must not leak in
            p = Path(str(self._path(next_id)) + suffix)
            if p.exists():
                p.unlink()
        db = self._open(info)
        self.save(info)
        self.databases[name] = db
        return db

    def install_snapshot(self, db: Database, snapshot: Path) -> Database:
        """Replace a (provisioning) database's content with a snapshot file taken by ``backup``:
        its log is emptied, the file moved into place, and the database reopened at the snapshot's
        LSN. Returns the new Database object, which replaces ``db`` in the catalog."""
        db.close()
        self.log.drop(db.info.id)
        for suffix in ("-wal", "-shm"):
            p = Path(str(db.path) + suffix)
            if p.exists():
                p.unlink()
        os.replace(snapshot, db.path)
        fresh = self._open(db.info)
        self.databases[db.info.name] = fresh
        return fresh

    def save(self, info: DbInfo) -> None:
        """Persist a catalog entry (state changes, epochs, replication source) durably."""
        self.log.meta_put(f"db:{info.name}", json.dumps(asdict(info)).encode())

    def drop(self, name: str) -> None:
        db = self.databases.pop(name)
        self.log.meta_put(f"db:{name}", None)
        db.close()
        self.log.drop(db.info.id)
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(db.path) + suffix)
            if p.exists():
                p.unlink()

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
