"""Raft's durable state in LMDB (storage/consensus.py, replication/raft_store.py): a node killed and
reopened comes back with its term, vote, log and snapshot, and the cluster carries on."""

from __future__ import annotations

from pathlib import Path

import lmdb

from replication.raft import Config, Entry, EntryKind, Membership, Message, Raft, RaftRole, Snapshot
from replication.raft_store import RaftStore, decode_entry, encode_entry
from storage.consensus import ConsensusLog

VOTERS = Membership(frozenset({1, 2, 3}))


class Cluster:
    """Three cores on real LMDB stores, messages delivered at once; ``kill`` drops a node's memory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.envs: dict[int, lmdb.Environment] = {}
        self.stores: dict[int, RaftStore] = {}
        self.nodes: dict[int, Raft] = {}
        self.applied: dict[int, list[Entry]] = {n: [] for n in (1, 2, 3)}
        for n in (1, 2, 3):
            self.start(n)

    def start(self, n: int) -> None:
        self.envs[n] = lmdb.open(str(self.root / str(n)), max_dbs=4, map_size=1 << 26)
        self.stores[n] = RaftStore(ConsensusLog(self.envs[n]))
        self.nodes[n] = self.stores[n].restore(Config(n, election_ticks=5, seed=n), VOTERS)
        self.applied[n] = []

    def kill(self, n: int) -> None:
        del self.nodes[n]
        self.envs.pop(n).close()

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            for r in list(self.nodes.values()):
                r.tick()
            self.drain()

    def drain(self) -> None:
        busy = True
        while busy:
            busy = False
            for n, r in list(self.nodes.items()):
                if not r.has_ready():
                    continue
                busy = True
                rd = r.ready()
                self.stores[n].persist(rd)
                if rd.snapshot is not None:
                    self.applied[n] = []
                self.applied[n] += list(rd.committed)
                r.advance(rd)
                self.deliver(rd.messages)

    def deliver(self, msgs: tuple[Message, ...]) -> None:
        for m in msgs:
            if m.to in self.nodes:
                self.nodes[m.to].step(m)

    def leader(self) -> Raft:
        for _ in range(200):
            leads = [r for r in self.nodes.values() if r.role is RaftRole.LEADER]
            if leads and leads[0].term_at(leads[0].commit) == leads[0].term:
                return leads[0]
            self.run(1)
        raise AssertionError("no leader elected within 200 ticks")


def test_entries_round_trip_through_their_encoding() -> None:
    for e in (Entry(3, 7, EntryKind.NORMAL, b"\x00rec"), Entry(4, 8, EntryKind.NOOP),
              Entry(5, 9, EntryKind.MEMBERSHIP, Membership(frozenset({1, 2}), frozenset({3})))):
        assert decode_entry(encode_entry(e)) == e


def test_a_killed_node_comes_back_with_its_term_vote_and_log(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    lead = c.leader()
    for i in range(10):
        lead.propose(f"w{i}".encode())
    c.drain()
    victim = next(n for n in (1, 2, 3) if n != lead.id)
    before = c.nodes[victim]
    term, vote, log = before.term, before.vote, before.entries(1, before.last_index())
    c.kill(victim)
    c.start(victim)
    back = c.nodes[victim]
    assert (back.term, back.vote, back.entries(1, back.last_index())) == (term, vote, log)
    assert back.commit >= 11  # the noop and ten writes were committed, and the commit index persisted
    # a killed leader: the other two elect, and nothing committed is lost
    committed = [e.data for e in c.applied[lead.id] if e.kind is EntryKind.NORMAL]
    c.kill(lead.id)
    new = c.leader()
    assert new.id != lead.id
    c.start(lead.id)
    c.run(20)
    again = c.nodes[lead.id]
    assert again.role is RaftRole.FOLLOWER and again.lead == new.id
    assert [e.data for e in again.entries(1, again.last_index()) if e.kind is EntryKind.NORMAL] == committed


def test_a_compacted_log_restores_from_its_snapshot(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    lead = c.leader()
    for i in range(5):
        lead.propose(f"w{i}".encode())
    c.drain()
    lead.compact(lead.applied, b"image")
    c.stores[lead.id].compact(lead.snap)
    last = lead.last_index()
    c.kill(lead.id)
    c.start(lead.id)
    back = c.nodes[lead.id]
    assert back.snap == Snapshot(last, lead.term, VOTERS, b"image")
    assert back.first_index() == last + 1 and back.applied == last


def test_a_snapshot_sent_to_a_follower_replaces_its_stored_log(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    lead = c.leader()
    lag = next(n for n in (1, 2, 3) if n != lead.id)
    c.kill(lag)
    for i in range(5):
        lead.propose(f"w{i}".encode())
    c.drain()
    lead.compact(lead.applied, b"image")
    c.stores[lead.id].compact(lead.snap)
    c.start(lag)
    c.run(5)
    c.kill(lag)
    c.start(lag)
    back = c.nodes[lag]
    assert back.snap.data == b"image" and back.snap.index == lead.snap.index
    assert back.entries(back.first_index(), back.last_index()) == lead.entries(lead.first_index(), lead.last_index())
