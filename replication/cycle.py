"""Yellowbrick-style replication cycles between nodes (docs/yellowbrick.md).

A cycle is pushed by the source: at a consistent point (the source database's applied LSN, made
durable first) it sends the records after the last point the target holds, as ``YELLOWBRICK CYCLE``
statements over an ordinary MySQL connection to the remote server; the target stages the parts and
applies them all at once (one log append, one SQLite transaction), so a reader never sees half a
cycle. The target's database is HOT_STANDBY: only cycles write it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

from storage.database import Database
from storage.record import Record
from storage.store import Store

PART_BYTES = 4 << 20  # record bytes per statement (well under max_allowed_packet once hex-encoded)
_FRAME = struct.Struct(">QI")


class CycleError(Exception):
    """A cycle failed; the message says why and what to do (sys.replica_status.error_string)."""


def frame(records: list[tuple[int, bytes]]) -> bytes:
    return b"".join(_FRAME.pack(lsn, len(data)) + data for lsn, data in records)


def unframe(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        lsn, size = _FRAME.unpack_from(data, pos)
        pos += _FRAME.size
        out.append((lsn, data[pos:pos + size]))
        pos += size
    return out


def increment(store: Store, db: Database, shipped: int, upto: int) -> list[tuple[int, bytes]]:
    """The records in (shipped, upto]: what a cycle ships. Raises when the log no longer has them."""
    records = [r for r in store.log.records(db.info.id, shipped) if r[0] <= upto]
    if upto > shipped and (not records or records[0][0] != shipped + 1 or records[-1][0] != upto):
        raise CycleError(f"The source no longer keeps the log after LSN {shipped} (retention truncated it); "
                         "a full copy into the target is not built in drlab: drop the replica and the target "
                         "database, and add the replica again")
    return records


def push(server: dict[str, Any], resolve: Callable[[str], str], target: str, base: int, epochs: list[list[Any]],
         records: list[tuple[int, bytes]], quote: Callable[[str], str]) -> int:
    """Send one cycle to ``server`` (blocking: run it off the event loop); returns the bytes sent."""
    try:
        conn = pymysql.connect(host=resolve(server["host"]), port=int(server.get("port") or 3306),
                               user=server.get("user") or "root", password=server.get("password") or "",
                               connect_timeout=5, read_timeout=120, write_timeout=120, autocommit=True)
    except pymysql.err.MySQLError as e:
        raise CycleError(f"Can't reach the remote server {server['name']} ({server['host']}:"
                         f"{server.get('port') or 3306}): {e.args[-1]}") from None
    sent = 0
    try:
        parts: list[list[tuple[int, bytes]]] = []
        part: list[tuple[int, bytes]] = []
        size = 0
        for rec in records:
            if part and size + len(rec[1]) > PART_BYTES:
                parts.append(part)
                part, size = [], 0
            part.append(rec)
            size += len(rec[1])
        parts.append(part)
        epochs_hex = json.dumps(epochs).encode().hex()
        with conn.cursor() as cur:
            for i, p in enumerate(parts):
                sql = (f"YELLOWBRICK CYCLE {quote(target)} BASE {base} PART {i}{' FINAL' if i == len(parts) - 1 else ''} "
                       f"EPOCHS x'{epochs_hex}' DATA x'{frame(p).hex()}'")
                cur.execute(sql)
                sent += len(sql)
    except pymysql.err.MySQLError as e:
        raise CycleError(f"The remote server {server['name']} refused the cycle: "
                         f"{e.args[-1] if e.args else e}") from None
    finally:
        conn.close()
    return sent


@dataclass
class Staged:
    """The parts of one cycle a target received so far."""

    base: int
    records: list[tuple[int, bytes]]


def check_target(db: Database | None, target: str, base: int) -> None:
    """Raise unless ``db`` may receive a cycle that starts after LSN ``base``."""
    if db is None:
        if base != 0:
            raise CycleError(f"The target database '{target}' does not exist but the cycle continues from LSN "
                             f"{base}; drop the replica and add it again")
        return
    info = db.info
    if not info.hot_standby:
        raise CycleError(f"The target database '{target}' exists and is not HOT_STANDBY; a replica's target must "
                         "be missing (it is then created) or empty and HOT_STANDBY")
    if db.applied_lsn < base:
        raise CycleError(f"The target database '{target}' is at LSN {db.applied_lsn}, the cycle continues from LSN "
                         f"{base}: it is missing earlier cycles; drop it and let the replica create it")
    if base == 0 and db.tables:
        raise CycleError(f"The target database '{target}' is not empty; a replica's target must be empty")


async def apply(store: Store, db: Database, staged: Staged, epochs: list[list[Any]]) -> None:
    """Apply a whole cycle at once: one log append, one SQLite transaction, then durable. Records
    the target already holds (a cycle whose acknowledgement the source lost) are skipped."""
    records = [r for r in staged.records if r[0] > db.applied_lsn]
    if records:
        ticket = store.log.append(db.info.id, records)
        db.apply_records([Record.decode(data) for _, data in records])
        await store.log.wait_durable(ticket)
    if epochs and db.info.epochs != epochs:
        db.info.epochs = epochs
        store.save(db.info)


__all__ = ["CycleError", "Staged", "apply", "check_target", "frame", "increment", "push", "unframe"]
