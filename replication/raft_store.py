"""Raft's state on disk: encodes a Ready batch for storage.consensus.ConsensusLog and rebuilds the
core from it after a restart. The encoding is msgpack; an entry's data and a snapshot's data are the
application's bytes (the cluster log records and a state image)."""

from __future__ import annotations

import msgpack

from replication.raft import Config, Entry, EntryKind, HardState, Membership, Raft, Ready, Snapshot
from storage.consensus import ConsensusLog


def _membership(m: Membership) -> list[list[int]]:
    return [sorted(m.voters), sorted(m.learners)]


def _unmembership(raw: list[list[int]]) -> Membership:
    return Membership(frozenset(raw[0]), frozenset(raw[1]))


def encode_entry(e: Entry) -> bytes:
    data = _membership(e.data) if isinstance(e.data, Membership) else e.data
    return msgpack.packb([e.term, e.index, e.kind.value, data])


def decode_entry(raw: bytes) -> Entry:
    term, index, kind, data = msgpack.unpackb(raw)
    k = EntryKind(kind)
    return Entry(term, index, k, _unmembership(data) if k is EntryKind.MEMBERSHIP else data)


def encode_snapshot(s: Snapshot) -> bytes:
    return msgpack.packb([s.index, s.term, _membership(s.membership), s.data])


def decode_snapshot(raw: bytes) -> Snapshot:
    index, term, membership, data = msgpack.unpackb(raw)
    return Snapshot(index, term, _unmembership(membership), data)


class RaftStore:
    def __init__(self, log: ConsensusLog) -> None:
        self.log = log

    def persist(self, rd: Ready) -> None:
        """Everything in ``rd`` that must be durable before its messages go out."""
        hs = rd.hard_state
        self.log.save(
            msgpack.packb([hs.term, hs.vote, hs.commit]) if hs is not None else None,
            (rd.snapshot.index, encode_snapshot(rd.snapshot)) if rd.snapshot is not None else None,
            [(e.index, encode_entry(e)) for e in rd.entries],
        )

    def compact(self, snap: Snapshot) -> None:
        self.log.compact(snap.index, encode_snapshot(snap))

    def restore(self, cfg: Config, founding: Membership, applied: int = 0) -> Raft:
        """The core as this node left it; ``founding`` is the membership of a node never started
        (the founder's own, or empty for a node that will join)."""
        hard_raw, snap_raw, entries = self.log.load()
        hard = HardState(*msgpack.unpackb(hard_raw)) if hard_raw is not None else HardState()
        snap = decode_snapshot(snap_raw) if snap_raw is not None else Snapshot(0, 0, founding)
        return Raft(cfg, hard, snap, [decode_entry(e) for e in entries], applied=applied)
