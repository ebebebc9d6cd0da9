"""The durable half of the aggregators' consensus log: Raft's hard state (term, vote, commit), its
snapshot and its log entries, kept in the node's LMDB environment (sub-databases ``raft_log``: key =
index u64 BE, and ``raft_state``: ``hard`` and ``snapshot``).

Each ``save`` is one LMDB transaction followed by an fsync, so a crash keeps a Ready batch whole or
not at all, and a vote or an append acknowledgement is on disk before the message promising it is
sent. Values are opaque bytes: their encoding belongs to replication/raft_store.py.
"""

from __future__ import annotations

import struct

import lmdb

_INDEX = struct.Struct(">Q")


class ConsensusLog:
    def __init__(self, env: lmdb.Environment) -> None:
        self.env = env
        self._log = env.open_db(b"raft_log")
        self._state = env.open_db(b"raft_state")

    def save(self, hard: bytes | None, snapshot: tuple[int, bytes] | None, entries: list[tuple[int, bytes]]) -> None:
        """Persist one Ready batch: a snapshot replaces the whole log; entries replace the log from
        their first index on (a follower's conflicting suffix goes); then the hard state."""
        with self.env.begin(write=True) as txn:
            if snapshot is not None:
                txn.put(b"snapshot", snapshot[1], db=self._state)
                txn.drop(self._log, delete=False)
            if entries:
                self._delete_from(txn, entries[0][0])
                for index, data in entries:
                    txn.put(_INDEX.pack(index), data, db=self._log)
            if hard is not None:
                txn.put(b"hard", hard, db=self._state)
        self.env.sync(True)

    def compact(self, index: int, snapshot: bytes) -> None:
        """Keep ``snapshot`` (the state as of ``index``) and drop the log up to ``index``."""
        with self.env.begin(write=True) as txn:
            txn.put(b"snapshot", snapshot, db=self._state)
            cur = txn.cursor(db=self._log)
            while cur.first() and _INDEX.unpack(cur.key())[0] <= index:
                cur.delete()
        self.env.sync(True)

    def load(self) -> tuple[bytes | None, bytes | None, list[bytes]]:
        """(hard state, snapshot, entries in index order) as last saved."""
        with self.env.begin() as txn:
            hard = txn.get(b"hard", db=self._state)
            snap = txn.get(b"snapshot", db=self._state)
            entries = [bytes(v) for _, v in txn.cursor(db=self._log)]
        return hard, snap, entries

    def _delete_from(self, txn: lmdb.Transaction, first: int) -> None:
        cur = txn.cursor(db=self._log)
        if cur.set_range(_INDEX.pack(first)):
            while cur.delete():
                pass
