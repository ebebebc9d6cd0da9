"""A deterministic cluster simulator for replication/raft.py: a network that drops, delays, duplicates,
reorders and partitions messages, nodes that crash and restart losing what they had not persisted,
clients proposing at whoever leads, membership changes, compaction and leadership transfers; the Raft
safety properties are checked as the run goes and at its end. One seed is one exact run."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from replication.raft import (
    Config,
    Entry,
    EntryKind,
    HardState,
    Membership,
    Message,
    Raft,
    RaftError,
    RaftRole,
    Snapshot,
)

ELECTION_TICKS = 10
POOL = (1, 2, 3, 4, 5)


class SafetyViolation(AssertionError):
    pass


@dataclass
class Disk:
    """What a node has persisted: all that survives a crash."""

    snap: Snapshot
    hard: HardState = HardState()
    log: list[Entry] = field(default_factory=list)


@dataclass
class Faults:
    drop: float = 0.1
    duplicate: float = 0.05
    max_delay: int = 4
    crash: float = 0.03
    pause: float = 0.01  # SIGSTOP: no ticks, no messages handled, memory kept; then SIGCONT
    partition: float = 0.01
    heal: float = 0.03
    membership: float = 0.01
    compact: float = 0.02
    transfer: float = 0.003
    retime: float = 0.005
    unprocessed_ready: float = 0.3


class Node:
    def __init__(self, nid: int, disk: Disk, seed: int) -> None:
        self.id, self.disk, self.up, self.down_until, self.paused_until = nid, disk, True, 0, 0
        self.boot(seed)

    def boot(self, seed: int) -> None:
        d = self.disk
        self.raft = Raft(Config(self.id, election_ticks=ELECTION_TICKS, seed=seed), d.hard, d.snap, list(d.log))
        self.sm: dict[int, tuple[int, EntryKind, object]] = dict(d.snap.data or ())  # type: ignore[call-overload]
        self.proposals: dict[int, tuple[int, object]] = {}  # index -> (term, value) proposed here


class Sim:
    def __init__(self, seed: int, ticks: int = 300, faults: Faults | None = None, voters: int | None = None) -> None:
        self.seed, self.ticks = seed, ticks
        self.rng = random.Random(seed)
        # each seed draws its own weather unless the caller fixes it
        self.faults = faults or Faults(
            drop=self.rng.choice((0.0, 0.05, 0.1, 0.3)),
            duplicate=self.rng.choice((0.0, 0.05, 0.2)),
            max_delay=self.rng.choice((1, 4, 12)),
            crash=self.rng.choice((0.0, 0.01, 0.03, 0.06)),
            pause=self.rng.choice((0.0, 0.01, 0.03)),
            partition=self.rng.choice((0.0, 0.01, 0.03)),
        )
        self.now = 0
        founders = frozenset(POOL[: voters or (3 if seed % 2 else 5)])  # by default odd seeds 3 voters, even 5
        self.nodes = {
            n: Node(n, Disk(Snapshot(0, 0, Membership(founders if n in founders else frozenset()))), seed * 31 + n)
            for n in POOL
        }
        self.net: list[tuple[int, int, Message]] = []
        self.seq = 0
        self.groups: dict[int, int] = {}
        self.committed: dict[int, tuple[int, EntryKind, object]] = {}
        # the lowest term a node was in when it applied the index: the entry was committed by then
        self.committed_by: dict[int, int] = {}
        self.leaders: dict[int, int] = {}
        self.checked_leaders: set[tuple[int, int]] = set()
        self.acked: list[tuple[int, int, object]] = []
        self.max_acked = 0
        self.reads: dict[int, int] = {}  # read ctx -> highest index acknowledged when it was asked
        self.reads_done = 0
        self.counter = 0
        self.events: list[str] = []

    # ---- the world --------------------------------------------------------------------------

    def fail(self, what: str) -> None:
        raise SafetyViolation(
            f"seed {self.seed}, tick {self.now}: {what}\nreplay: RAFT_SIM_SEED={self.seed} "
            f".venv/bin/pytest -q tests/unit/test_raft_sim.py -k replay\nlast events: {self.events[-15:]}"
        )

    def send(self, m: Message, reliable: bool) -> None:
        f = self.faults
        copies = 1 if reliable else (0 if self.rng.random() < f.drop else 2 if self.rng.random() < f.duplicate else 1)
        for _ in range(copies):
            self.seq += 1
            delay = 1 if reliable else self.rng.randint(1, f.max_delay)
            self.net.append((self.now + delay, self.seq, m))

    def connected(self, a: int, b: int) -> bool:
        return self.groups.get(a, 0) == self.groups.get(b, 0)

    def process_ready(self, node: Node, reliable: bool) -> None:
        r = node.raft
        if not r.has_ready():
            return
        rd = r.ready()
        d = node.disk
        if rd.snapshot is not None:
            d.snap, d.log = rd.snapshot, []
            node.sm = dict(rd.snapshot.data or ())  # type: ignore[call-overload]
            for i, item in node.sm.items():
                self.check_apply(node, i, item)
        if rd.entries:
            first = rd.entries[0].index
            d.log = [e for e in d.log if e.index < first] + list(rd.entries)
        if rd.hard_state is not None:
            d.hard = rd.hard_state
        for m in rd.messages:
            self.send(m, reliable)
        for e in rd.committed:
            item = (e.term, e.kind, e.data)
            self.check_apply(node, e.index, item)
            node.sm[e.index] = item
            mine = node.proposals.pop(e.index, None)
            if mine is not None and mine == (e.term, e.data):
                self.acked.append((e.index, e.term, e.data))
                self.max_acked = max(self.max_acked, e.index)
        for ctx, index in rd.reads:
            assert isinstance(ctx, int)
            if index < self.reads[ctx]:
                self.fail(f"linearizable read: read {ctx} at node {node.id} got index {index}, "
                          f"but {self.reads[ctx]} was acknowledged before it was asked")
            self.reads_done += 1
        r.advance(rd)

    def check_apply(self, node: Node, index: int, item: tuple[int, EntryKind, object]) -> None:
        seen = self.committed.setdefault(index, item)
        self.committed_by[index] = min(self.committed_by.get(index, node.raft.term), node.raft.term)
        if seen != item:
            self.fail(f"state machine safety: node {node.id} applies {item} at {index}, another applied {seen}")

    def crash(self, node: Node) -> None:
        node.up = False
        node.down_until = self.now + self.rng.randint(5, 6 * ELECTION_TICKS)
        self.events.append(f"{self.now}: crash {node.id}")

    def restart(self, node: Node) -> None:
        node.up = True
        node.boot(self.rng.randrange(1 << 30))
        self.events.append(f"{self.now}: restart {node.id}")

    def leader(self) -> Node | None:
        live = [n for n in self.nodes.values() if n.up and n.paused_until <= self.now and n.raft.role is RaftRole.LEADER]
        return max(live, key=lambda n: n.raft.term) if live else None

    # ---- properties -------------------------------------------------------------------------

    def check_leaders(self) -> None:
        for n in self.nodes.values():
            r = n.raft
            if not n.up or r.role is not RaftRole.LEADER:
                continue
            other = self.leaders.setdefault(r.term, n.id)
            if other != n.id:
                self.fail(f"election safety: nodes {other} and {n.id} both lead term {r.term}")
            if (n.id, r.term) in self.checked_leaders:
                continue
            self.checked_leaders.add((n.id, r.term))
            for i, (term, kind, data) in self.committed.items():
                if i <= r.snap.index or self.committed_by[i] >= r.term:
                    continue  # Raft promises the entries committed in earlier terms only
                got = r.entries(i, i)
                if not got or (got[0].term, got[0].kind, got[0].data) != (term, kind, data):
                    self.fail(f"leader completeness: leader {n.id} of term {r.term} lacks committed entry {i}")

    def check_log_matching(self) -> None:
        live = [n.raft for n in self.nodes.values() if n.up]
        for a in live:
            for b in live:
                if a.id >= b.id:
                    continue
                lo, hi = max(a.first_index(), b.first_index()), min(a.last_index(), b.last_index())
                top = next((i for i in range(hi, lo - 1, -1) if a.term_at(i) == b.term_at(i)), None)
                if top is not None and a.entries(lo, top) != b.entries(lo, top):
                    self.fail(f"log matching: nodes {a.id} and {b.id} agree at {top} but differ before it")

    # ---- actions ----------------------------------------------------------------------------

    def propose(self) -> None:
        for n in self.nodes.values():
            if n.up and n.paused_until <= self.now and n.raft.role is RaftRole.LEADER:
                self.counter += 1
                value = f"v{self.counter}"
                try:
                    index = n.raft.propose(value)
                except RaftError:
                    continue
                n.proposals[index] = (n.raft.term, value)

    def change_membership(self, lead: Node) -> None:
        cur = lead.raft.membership
        options = []
        for n in POOL:
            role = cur.role_of(n)
            if role is None:
                options.append(Membership(cur.voters | {n}, cur.learners))
                options.append(Membership(cur.voters, cur.learners | {n}))
            elif role == "learner":
                options.append(Membership(cur.voters | {n}, cur.learners - {n}))
                options.append(Membership(cur.voters, cur.learners - {n}))
            elif len(cur.voters) > 2:
                options.append(Membership(cur.voters - {n}, cur.learners))
        new = self.rng.choice(options)
        try:
            lead.raft.propose_membership(new)
            self.events.append(f"{self.now}: {lead.id} proposes voters {sorted(new.voters)} learners {sorted(new.learners)}")
        except RaftError:
            pass

    def step_world(self, faulty: bool) -> None:
        f, rng = self.faults, self.rng
        self.now += 1
        for n in self.nodes.values():
            if not n.up and self.now >= n.down_until:
                self.restart(n)
        if faulty:
            if rng.random() < f.crash:
                live = [n for n in self.nodes.values() if n.up]
                if live:
                    self.crash(rng.choice(live))
            if rng.random() < f.pause:
                n = rng.choice(list(self.nodes.values()))
                n.paused_until = self.now + rng.randint(ELECTION_TICKS, 5 * ELECTION_TICKS)
                self.events.append(f"{self.now}: pause {n.id} until {n.paused_until}")
                if rng.random() < 0.5:  # and cut it off: it resumes believing whatever it believed
                    self.groups = {n.id: 2}
                    self.events.append(f"{self.now}: partition [{n.id}] | the rest")
            if rng.random() < f.retime:  # SET GLOBAL consensus_election_timeout, reaching nodes one by one
                n = rng.choice(list(self.nodes.values()))
                n.raft.set_election_ticks(rng.randint(ELECTION_TICKS // 2, 2 * ELECTION_TICKS))
            if rng.random() < f.partition:
                side = {n for n in POOL if rng.random() < 0.5}
                self.groups = {n: int(n in side) for n in POOL}
                self.events.append(f"{self.now}: partition {sorted(side)} | {sorted(set(POOL) - side)}")
            elif self.groups and rng.random() < f.heal:
                self.groups = {}
                self.events.append(f"{self.now}: heal")
        for n in self.nodes.values():
            if n.up and n.paused_until <= self.now:
                n.raft.tick()
        due = [x for x in self.net if x[0] <= self.now]
        self.net = [x for x in self.net if x[0] > self.now]
        rng.shuffle(due)
        for _, _, m in due:
            dest = self.nodes[m.to]
            if dest.paused_until > self.now:  # waits in the socket buffer until the node resumes
                self.net.append((dest.paused_until, self.seq, m))
            elif dest.up and self.connected(m.frm, m.to):
                dest.raft.step(m)
                self.check_leaders()
        if faulty and rng.random() < 0.5:
            self.propose()
        if faulty and rng.random() < 0.3:
            # every node that believes it leads (a stale one must not answer), and one at random
            readers = [n for n in self.nodes.values() if n.raft.role is RaftRole.LEADER]
            for reader in readers + [rng.choice(list(self.nodes.values()))]:
                if reader.up and reader.paused_until <= self.now:
                    self.counter += 1
                    self.reads[self.counter] = self.max_acked
                    try:
                        reader.raft.read_index(self.counter)
                    except RaftError:
                        pass
        lead = self.leader()
        if faulty and lead is not None:
            if rng.random() < f.membership:
                self.change_membership(lead)
            if rng.random() < f.transfer:
                target = rng.choice(sorted(lead.raft.membership.voters))
                try:
                    lead.raft.transfer_leadership(target)
                    self.events.append(f"{self.now}: {lead.id} transfers to {target}")
                except RaftError:
                    pass
        for n in self.nodes.values():
            if not n.up or n.paused_until > self.now:
                continue
            if faulty and rng.random() < f.compact and n.raft.applied - n.raft.snap.index > 5:
                r = n.raft
                r.compact(r.applied, tuple(sorted((i, v) for i, v in n.sm.items() if i <= r.applied)))
                n.disk.snap = r.snap
                n.disk.log = [e for e in n.disk.log if e.index > r.snap.index]
            if not faulty or rng.random() >= f.unprocessed_ready:
                self.process_ready(n, reliable=not faulty)
        self.check_leaders()
        if self.now % 10 == 0:
            self.check_log_matching()

    def until(self, done: Callable[[], bool], max_ticks: int) -> int:
        """Run the fault-free world until ``done()``; the ticks it took (fails past ``max_ticks``)."""
        start = self.now
        while not done():
            if self.now - start >= max_ticks:
                self.fail(f"condition not reached within {max_ticks} ticks")
            self.step_world(faulty=False)
        return self.now - start

    def elected(self, max_ticks: int = 20 * ELECTION_TICKS) -> Node:
        """Wait for one leader that has committed an entry of its term."""
        def ok() -> bool:
            lead = self.leader()
            return lead is not None and lead.raft.term_at(lead.raft.commit) == lead.raft.term
        self.until(ok, max_ticks)
        lead = self.leader()
        assert lead is not None
        return lead

    def run(self) -> dict[str, int]:
        """The faulty phase, then a healed one in which the cluster must converge."""
        for _ in range(self.ticks):
            self.step_world(faulty=True)
        self.groups = {}
        for n in self.nodes.values():
            n.down_until = n.paused_until = 0
        deadline = self.now + 60 * ELECTION_TICKS
        while self.now < deadline:
            self.step_world(faulty=False)
            lead = self.leader()
            if lead is None or lead.raft.term_at(lead.raft.commit) != lead.raft.term:
                continue
            voters = [self.nodes[v] for v in lead.raft.membership.voters]
            if all(v.up and v.raft.applied >= lead.raft.commit for v in voters):
                break
        else:
            self.fail("no convergence: after healing, no leader got every voter to apply its commit index")
        self.check_log_matching()
        assert lead is not None
        for index, term, value in self.acked:
            for v in lead.raft.membership.voters:
                got = self.nodes[v].sm.get(index)
                if got != (term, EntryKind.NORMAL, value):
                    self.fail(f"acknowledged entry {index} ({value}, term {term}) lost on node {v}: {got}")
        return {"acked": len(self.acked), "terms": len(self.leaders), "committed": len(self.committed),
                "reads": self.reads_done}


def election_times(seeds: int) -> list[float]:
    """Kill the leader of a healthy three-voter cluster: how long until a new leader has committed,
    in election timeouts (messages take one tick, a tenth of a timeout)."""
    quiet = Faults(drop=0, duplicate=0, crash=0, pause=0, partition=0, membership=0, compact=0, transfer=0)
    out = []
    for seed in range(seeds):
        s = Sim(seed, faults=quiet, voters=3)
        lead = s.elected()
        for _ in range(5):
            s.step_world(faulty=False)
        s.crash(lead)
        lead.down_until = 1 << 60
        start = s.now
        s.elected()
        out.append((s.now - start) / ELECTION_TICKS)
    return sorted(out)


if __name__ == "__main__":
    times = election_times(200)
    print(f"election after the leader's crash, in election timeouts over {len(times)} seeds: "
          f"median {times[len(times) // 2]:.2f}, p90 {times[len(times) * 9 // 10]:.2f}, max {times[-1]:.2f}")
