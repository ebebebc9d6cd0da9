"""The node's durable store: one LMDB environment holding every database's log and the metadata.

Layout (named sub-databases):
- ``log``:  key = db_id (u32 BE) + lsn (u64 BE), value = an encoded record (see ``record``).
- ``meta``: key = utf-8 name, value = bytes (JSON documents: the database catalog, accounts, ...).

Commits do not fsync one by one. ``append`` writes the record (it survives a process crash at once,
being in the OS page cache); a group-commit thread then fsyncs everything appended so far in one
``env.sync`` and wakes every writer it covered. Concurrent writers so share one fsync.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import lmdb

from storage.retention import crash_point

_KEY = struct.Struct(">IQ")
TRUNCATE_CHUNK = 1000
MAP_SIZE = 1 << 40  # sparse: LMDB only uses what it writes


class DuplicateLsn(Exception):
    """An append whose LSN is already in the log: the writer's position is out of step."""


class LogStore:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.env = lmdb.open(
            str(path), map_size=MAP_SIZE, max_dbs=4, sync=False, metasync=False, readahead=False, mode=0o600
        )
        self._log = self.env.open_db(b"log")
        self._meta = self.env.open_db(b"meta")
        self.appended: dict[int, int] = {}  # bytes appended per database id since the store opened
        self._written = 0  # appends made so far (a sequence number, not an LSN)
        self._synced = 0
        self._cond = threading.Condition()
        self._waiters: list[tuple[int, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._sync_loop, name="group-commit", daemon=True)
        self._thread.start()

    # -- the log ---------------------------------------------------------------------------------
    def append(self, db_id: int, records: list[tuple[int, bytes]]) -> int:
        """Write records (not yet fsynced); returns the ticket ``wait_durable`` takes."""
        size = 0
        with self.env.begin(write=True, db=self._log) as txn:
            for lsn, data in records:
                # not append=True: that only works at the end of the whole sub-database, and
                # silently refuses a record of a lower db id once a higher one has records
                if not txn.put(_KEY.pack(db_id, lsn), data, overwrite=False):
                    raise DuplicateLsn(f"database {db_id} already has a record at LSN {lsn}")
                size += len(data)
        self.appended[db_id] = self.appended.get(db_id, 0) + size
        with self._cond:
            self._written += 1
            ticket = self._written
            self._cond.notify()
        return ticket

    def append_durable(self, db_id: int, records: list[tuple[int, bytes]]) -> None:
        """Append and fsync before returning (for the apply path of a sync-durability replica)."""
        self.append(db_id, records)
        self.env.sync(True)

    async def wait_durable(self, ticket: int) -> None:
        """Return once the append that produced ``ticket`` is on disk."""
        if ticket <= self._synced:
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if ticket <= self._synced:
                return
            self._waiters.append((ticket, fut, loop))
        await fut

    async def flush(self) -> None:
        """Return once everything appended so far is on disk (a source ships only durable records)."""
        await self.wait_durable(self._written)

    def _sync_loop(self) -> None:
        while True:
            with self._cond:
                while self._written == self._synced and not self._closed:
                    self._cond.wait()
                if self._closed and self._written == self._synced:
                    return
                target = self._written
            self.env.sync(True)
            with self._cond:
                self._synced = target
                done = [w for w in self._waiters if w[0] <= target]
                self._waiters = [w for w in self._waiters if w[0] > target]
            for _, fut, loop in done:
                loop.call_soon_threadsafe(_resolve, fut)

    def records(self, db_id: int, after_lsn: int, limit: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Records of ``db_id`` with LSN > after_lsn, in order (a short read transaction per call)."""
        out: list[tuple[int, bytes]] = []
        with self.env.begin(db=self._log, buffers=False) as txn:
            cur = txn.cursor()
            if not cur.set_range(_KEY.pack(db_id, after_lsn + 1)):
                return iter(out)
            for key, value in cur:
                kid, lsn = _KEY.unpack(key)
                if kid != db_id:
                    break
                out.append((lsn, value))
                if limit is not None and len(out) >= limit:
                    break
        return iter(out)

    def last_lsn(self, db_id: int) -> int:
        with self.env.begin(db=self._log) as txn:
            cur = txn.cursor()
            if cur.set_range(_KEY.pack(db_id + 1, 0)):
                if not cur.prev():
                    return 0
            elif not cur.last():
                return 0
            kid, lsn = _KEY.unpack(cur.key())
            return lsn if kid == db_id else 0

    def first_lsn(self, db_id: int) -> int:
        with self.env.begin(db=self._log) as txn:
            cur = txn.cursor()
            if not cur.set_range(_KEY.pack(db_id, 0)):
                return 0
            kid, lsn = _KEY.unpack(cur.key())
            return lsn if kid == db_id else 0

    def truncate_after(self, db_id: int, lsn: int) -> int:
        """Delete records of ``db_id`` with LSN > lsn (a divergent suffix); returns how many."""
        n = 0
        with self.env.begin(write=True, db=self._log) as txn:
            cur = txn.cursor()
            if cur.set_range(_KEY.pack(db_id, lsn + 1)):
                while True:
                    kid, _ = _KEY.unpack(cur.key())
                    if kid != db_id or not cur.delete():
                        break
                    n += 1
                    if not cur.key():
                        break
        self.env.sync(True)
        return n

    def truncate_through(self, db_id: int, lsn: int, chunk: int = TRUNCATE_CHUNK) -> int:
        """Delete records of ``db_id`` with LSN <= lsn (the history behind a checkpoint); returns how
        many. Oldest first, ``chunk`` records per LMDB transaction so appends are never held up
        long; each transaction is atomic, so a crash leaves the log a contiguous suffix."""
        n = 0
        while True:
            done = 0
            with self.env.begin(write=True, db=self._log) as txn:
                cur = txn.cursor()
                if cur.set_range(_KEY.pack(db_id, 0)):
                    while done < chunk:
                        kid, klsn = _KEY.unpack(cur.key())
                        if kid != db_id or klsn > lsn or not cur.delete():
                            break
                        done += 1
                        if not cur.key():
                            break
            n += done
            if done < chunk:
                break
            crash_point("truncate:partway")
        self.env.sync(True)
        return n

    def log_bytes(self, db_id: int, after: int = 0, upto: int | None = None) -> tuple[int, int]:
        """(records, bytes) of ``db_id``'s log with after < LSN <= upto (all of it by default)."""
        count = size = 0
        with self.env.begin(db=self._log, buffers=True) as txn:
            cur = txn.cursor()
            if cur.set_range(_KEY.pack(db_id, after + 1)):
                for key, value in cur:
                    kid, lsn = _KEY.unpack(key)
                    if kid != db_id or (upto is not None and lsn > upto):
                        break
                    count += 1
                    size += len(value)
        return count, size

    def sync(self) -> None:
        """Make everything written so far durable now."""
        self.env.sync(True)

    def drop(self, db_id: int) -> None:
        self.truncate_after(db_id, 0)

    # -- metadata ----------------------------------------------------------------------------------
    def meta_get(self, key: str) -> bytes | None:
        with self.env.begin(db=self._meta) as txn:
            return txn.get(key.encode())

    def meta_put(self, key: str, value: bytes | None) -> None:
        """Write (or delete, with None) a metadata entry durably."""
        with self.env.begin(write=True, db=self._meta) as txn:
            if value is None:
                txn.delete(key.encode())
            else:
                txn.put(key.encode(), value)
        self.env.sync(True)

    def meta_put_many(self, items: list[tuple[str, bytes | None]]) -> None:
        """Write (or delete, with None) several metadata entries in one durable transaction."""
        with self.env.begin(write=True, db=self._meta) as txn:
            for key, value in items:
                if value is None:
                    txn.delete(key.encode())
                else:
                    txn.put(key.encode(), value)
        self.env.sync(True)

    def meta_items(self, prefix: str) -> list[tuple[str, bytes]]:
        p = prefix.encode()
        out = []
        with self.env.begin(db=self._meta) as txn:
            cur = txn.cursor()
            if cur.set_range(p):
                for k, v in cur:
                    if not k.startswith(p):
                        break
                    out.append((k.decode(), v))
        return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)
        self.env.sync(True)
        self.env.close()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
