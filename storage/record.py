"""Log records: one committed transaction each, checksummed, replayable without re-running SQL.

A record carries row images captured by triggers (never the client's SQL, so NOW(), RAND(), UUID()
and AUTO_INCREMENT replay to the same values) or, for DDL, the SQLite statements that were run,
which are deterministic by construction. Both the before and the after image of every row are
kept, so a record can also be reverted (differential failback) and shown to a user.

Wire form: crc32 (u32 BE) of the payload, then the msgpack payload
``[lsn, epoch, ts, cols, ops]``: ``cols`` maps each table to its column names (once per record),
and each op is one of ``["i", table, rowid, new]``, ``["d", table, rowid, old]``,
``["u", table, old_rowid, new_rowid, old, new]``, ``["sql", text]``.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass, field

import msgpack

_CRC = struct.Struct(">I")


class HybridClock:
    """Commit timestamps of one node: at least the wall clock and always above the last one given
    (or observed in the log at start), so every database's records are ordered by time and a point
    in time cuts every database of the node at a consistent place (PCR's replicated_time)."""

    STEP = 1e-6  # one microsecond: what a float of seconds since 1970 still resolves

    def __init__(self) -> None:
        self.last = 0.0

    def now(self) -> float:
        self.last = max(time.time(), self.last + self.STEP)
        return self.last

    def observe(self, ts: float) -> None:
        """Never give a timestamp at or below ``ts`` (a record already in the log)."""
        self.last = max(self.last, ts)


class CorruptRecord(Exception):
    """A record whose checksum or framing is wrong: it must never be applied."""


@dataclass
class Record:
    lsn: int
    epoch: int
    ts: float
    cols: dict[str, list[str]] = field(default_factory=dict)
    ops: list[list] = field(default_factory=list)

    def encode(self) -> bytes:
        payload = msgpack.packb([self.lsn, self.epoch, self.ts, self.cols, self.ops], use_bin_type=True)
        return _CRC.pack(zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, data: bytes) -> Record:
        if len(data) < 5:
            raise CorruptRecord("record too short")
        (crc,) = _CRC.unpack_from(data)
        payload = memoryview(data)[4:]
        if zlib.crc32(payload) != crc:
            raise CorruptRecord("checksum mismatch")
        try:
            lsn, epoch, ts, cols, ops = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        except Exception as e:  # msgpack raises several types on garbage
            raise CorruptRecord(f"undecodable record: {e}") from e
        return cls(lsn, epoch, ts, cols, ops)

    def row_count(self) -> int:
        return sum(1 for op in self.ops if op[0] != "sql")
