"""The aggregators' consensus core: Raft as a pure, deterministic state machine (etcd raft's design).

No I/O, no threads, no clock. The node's driver calls ``tick()`` on its timer, ``step(msg)`` for every
message a peer sends, ``propose()`` / ``propose_membership()`` on the leader, and then, while
``has_ready()``, takes a ``Ready`` batch and in this order: persists ``snapshot`` (replacing the log
and state machine), ``entries`` (replacing the stored log from ``entries[0].index`` on) and
``hard_state``; sends ``messages``; applies ``committed`` in order; calls ``advance(ready)``. Nothing is
stepped between ``ready()`` and ``advance()``. Sending only after persisting is what makes a vote or an
append acknowledgement a promise that survives a crash. Randomness (election jitter) comes from a
seeded ``random.Random`` so a simulation replays exactly.

Invariants (checked by tests/unit/test_raft_sim.py on every seeded run):
- Election safety: at most one leader per term (a vote is persisted before it is sent).
- Log matching: two logs holding an entry of the same index and term agree on every entry before it.
- Leader completeness: a leader's log holds every entry committed in an earlier term.
- State machine safety: no two nodes apply different entries at one index.
- Nothing acknowledged is lost: an entry is committed only once a majority of the voters hold it
  durably (the leader counts itself only for what it has persisted), and applied only once committed.

Extensions: PreVote (a node that was cut off asks first and does not raise its term unless it could
win, so it cannot depose a healthy leader when it returns); CheckQuorum (a leader that heard from no
majority within an election timeout steps down, and a node that heard from a leader within one
refuses to vote); membership changes one node at a time (a change takes effect when appended, only
one may be uncommitted, and only after the leader has committed an entry of its own term); non-voting
learners; leadership transfer (TimeoutNow); snapshots: ``compact(index, data)`` drops the log up to an
applied index, and a peer whose next entry is gone receives the snapshot instead, once (again only if
it goes unacknowledged for an election timeout).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class RaftRole(StrEnum):
    FOLLOWER = "Follower"
    PRE_CANDIDATE = "PreCandidate"
    CANDIDATE = "Candidate"
    LEADER = "Leader"


class EntryKind(StrEnum):
    NORMAL = "normal"
    NOOP = "noop"  # a new leader's first entry: commits the earlier terms' entries
    MEMBERSHIP = "membership"  # data is a Membership


class MsgType(StrEnum):
    APP = "app"  # append entries; with no entries it is the heartbeat
    APP_RESP = "app_resp"
    VOTE = "vote"
    VOTE_RESP = "vote_resp"
    PRE_VOTE = "pre_vote"
    PRE_VOTE_RESP = "pre_vote_resp"
    SNAP = "snap"
    TIMEOUT_NOW = "timeout_now"  # leadership transfer: campaign now, skipping PreVote and leases
    READ_INDEX = "read_index"  # a follower asks the leader for a linearizable read point
    READ_INDEX_RESP = "read_index_resp"


@dataclass(frozen=True)
class Membership:
    voters: frozenset[int]
    learners: frozenset[int] = frozenset()

    def role_of(self, node: int) -> str | None:
        return "voter" if node in self.voters else "learner" if node in self.learners else None


@dataclass(frozen=True)
class Entry:
    term: int
    index: int
    kind: EntryKind = EntryKind.NORMAL
    data: object = None


@dataclass(frozen=True)
class HardState:
    """What must be durable before any message that depends on it is sent."""

    term: int = 0
    vote: int | None = None
    commit: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The state machine as of ``index`` (``data`` is the application's), and the membership then."""

    index: int
    term: int
    membership: Membership
    data: object = None


@dataclass(frozen=True)
class Message:
    type: MsgType
    frm: int
    to: int
    term: int
    log_term: int = 0  # APP: term of the entry at ``index``; votes: the candidate's last term
    index: int = 0  # APP: the entry preceding ``entries``; votes: last index; APP_RESP: match or probe
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    hint: int = 0  # APP_RESP reject: the follower's last index
    snapshot: Snapshot | None = None
    force: bool = False  # a vote caused by a leadership transfer
    read_seq: int = 0  # APP: the leader's newest pending read; APP_RESP echoes it
    read_ctx: object = None  # READ_INDEX / READ_INDEX_RESP: the requester's handle for the read


@dataclass(frozen=True)
class Ready:
    hard_state: HardState | None
    snapshot: Snapshot | None
    entries: tuple[Entry, ...]
    messages: tuple[Message, ...]
    committed: tuple[Entry, ...]
    reads: tuple[tuple[object, int], ...] = ()  # (ctx, index): serve the read once applied >= index


@dataclass(frozen=True)
class Config:
    node_id: int
    election_ticks: int = 10
    heartbeat_ticks: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    max_batch: int = 64
    seed: int = 0


@dataclass(frozen=True)
class Status:
    """What MV_CONSENSUS and SHOW AGGREGATORS report about this node."""

    node_id: int
    role: RaftRole
    term: int
    leader: int | None
    commit: int
    applied: int
    last_index: int
    membership: Membership
    pending_membership: bool
    ticks_to_election: int | None


class RaftError(Exception):
    """A proposal the core refuses; the driver maps it to a MySQL error at the edge."""


class NotLeader(RaftError):
    def __init__(self, leader: int | None) -> None:
        super().__init__(f"not the leader (leader: {leader})")
        self.leader = leader


class ProposalRefused(RaftError):
    pass


@dataclass
class _PendingRead:
    seq: int
    index: int
    ctx: object
    requester: int
    acks: set[int]


@dataclass
class _Progress:
    match: int = 0
    next: int = 1
    active: bool = False
    snapshot_sent: int = 0  # index of the snapshot in flight: not resent before it is acknowledged


class Raft:
    """One member's Raft state, built from what the node persisted (``HardState``, ``Snapshot``, the
    log after it) and the index its state machine holds (the snapshot's when it is rebuilt from it).
    A brand-new node passes a Snapshot at index 0 holding the founding membership, or an empty one if
    it joins and learns the membership from the leader."""

    def __init__(self, cfg: Config, hard: HardState, snap: Snapshot, log: list[Entry] | None = None,
                 applied: int = 0) -> None:
        self.cfg = cfg
        self.id = cfg.node_id
        self.election_ticks = cfg.election_ticks
        self.rng = random.Random(cfg.seed)
        self.term = hard.term
        self.vote = hard.vote
        self.snap = snap
        self.commit = max(hard.commit, snap.index)
        self.log: list[Entry] = list(log or [])
        self.stable = self.last_index()
        self.applied = max(applied, snap.index)
        self._prev_hard = HardState(self.term, self.vote, self.commit)
        self._pending_snap: Snapshot | None = None
        self._msgs: list[Message] = []
        self.role = RaftRole.FOLLOWER
        self.lead: int | None = None
        self._votes: dict[int, bool] = {}
        self._prs: dict[int, _Progress] = {}
        self._transfer: int | None = None
        self._read_seq = 0
        self._pending_reads: list[_PendingRead] = []
        self._reads: list[tuple[object, int]] = []
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._timeout = self._random_timeout()
        self._recompute_membership()

    # ---- the log ----------------------------------------------------------------------------

    def first_index(self) -> int:
        return self.snap.index + 1

    def last_index(self) -> int:
        return self.snap.index + len(self.log)

    def term_at(self, index: int) -> int | None:
        """The term of the entry at ``index``; None when compacted away or not there."""
        if index == self.snap.index:
            return self.snap.term
        if self.snap.index < index <= self.last_index():
            return self.log[index - self.snap.index - 1].term
        return None

    def entries(self, lo: int, hi: int) -> list[Entry]:
        """Entries lo..hi inclusive, within what the log holds."""
        base = self.snap.index + 1
        return self.log[max(lo, base) - base : max(hi - base + 1, 0)]

    def _last_term(self) -> int:
        return self.term_at(self.last_index()) or 0

    def _truncate_and_append(self, ents: list[Entry]) -> None:
        after = ents[0].index - 1
        del self.log[after - self.snap.index :]
        self.log.extend(ents)
        self.stable = min(self.stable, after)
        if self.membership_index > after or any(e.kind is EntryKind.MEMBERSHIP for e in ents):
            self._recompute_membership()

    def _recompute_membership(self) -> None:
        for e in reversed(self.log):
            if e.kind is EntryKind.MEMBERSHIP:
                assert isinstance(e.data, Membership)
                self.membership, self.membership_index = e.data, e.index
                break
        else:
            self.membership, self.membership_index = self.snap.membership, self.snap.index
        if self.role is RaftRole.LEADER:
            self._sync_progress()

    def _membership_at(self, index: int) -> Membership:
        for e in reversed(self.entries(self.first_index(), index)):
            if e.kind is EntryKind.MEMBERSHIP:
                assert isinstance(e.data, Membership)
                return e.data
        return self.snap.membership

    # ---- the driver's interface ---------------------------------------------------------------

    def tick(self) -> None:
        self._election_elapsed += 1
        if self.role is RaftRole.LEADER:
            self._heartbeat_elapsed += 1
            if self._election_elapsed >= self.election_ticks:
                self._election_elapsed = 0
                self._transfer = None
                if self.cfg.check_quorum and not self._quorum_active():
                    self._become_follower(self.term, None)
                    return
                for pid, pr in self._prs.items():
                    pr.active = pid == self.id
                    pr.snapshot_sent = 0  # a snapshot unacknowledged for an election timeout was lost
            if self._heartbeat_elapsed >= self.cfg.heartbeat_ticks:
                self._heartbeat_elapsed = 0
                self._broadcast_append()
        elif self._promotable() and self._election_elapsed >= self._timeout:
            self._election_elapsed = 0
            self._campaign(pre_vote=self.cfg.pre_vote)

    def set_election_ticks(self, ticks: int) -> None:
        """A new election timeout, in effect at once (consensus_election_timeout changed)."""
        self.election_ticks = max(ticks, self.cfg.heartbeat_ticks + 1)
        self._timeout = self._random_timeout()

    def propose(self, data: object) -> int:
        """Append ``data`` on the leader; returns its index. It is committed when it comes back in
        ``Ready.committed`` with this term; a lost leadership may drop it."""
        self._check_can_propose()
        return self._append(EntryKind.NORMAL, data)

    def propose_membership(self, new: Membership) -> int:
        """One node joins, leaves or changes role; refused while another change is uncommitted."""
        self._check_can_propose()
        if self.membership_index > self.commit:
            raise ProposalRefused("a membership change is still in progress")
        if self.term_at(self.commit) != self.term:
            raise ProposalRefused("the leader has not committed an entry of its term yet")
        cur = self.membership
        changed = {n for n in cur.voters | cur.learners | new.voters | new.learners if cur.role_of(n) != new.role_of(n)}
        if len(changed) != 1:
            raise ProposalRefused("membership changes one node at a time")
        if not new.voters:
            raise ProposalRefused("the last voter cannot be removed")
        return self._append(EntryKind.MEMBERSHIP, new)

    def transfer_leadership(self, target: int) -> None:
        """Hand leadership to a caught-up voter (removing the master hands it over first)."""
        if self.role is not RaftRole.LEADER:
            raise NotLeader(self.lead)
        if target == self.id or target not in self.membership.voters:
            raise ProposalRefused(f"node {target} is not another voting member")
        self._transfer = target
        self._election_elapsed = 0
        if self._prs[target].match == self.last_index():
            self._send(Message(MsgType.TIMEOUT_NOW, self.id, target, self.term))
        else:
            self._send_append(target)

    def read_index(self, ctx: object) -> None:
        """Ask for a linearizable read point (Raft's ReadIndex): ``(ctx, index)`` comes back in
        ``Ready.reads`` once the leader has confirmed, with a round of heartbeats acknowledged by a
        majority, that it still led after the request; every write acknowledged before the request
        is at or below ``index``. A lost request yields nothing: the driver retries after a timeout."""
        if self.role is RaftRole.LEADER:
            self._register_read(ctx, self.id)
        elif self.lead is None:
            raise NotLeader(None)
        else:
            self._send(Message(MsgType.READ_INDEX, self.id, self.lead, self.term, read_ctx=ctx))

    def compact(self, index: int, data: object) -> None:
        """Drop the log up to ``index`` (applied), keeping ``data`` as the snapshot peers are sent."""
        if index <= self.snap.index:
            return
        if index > self.applied:
            raise ValueError(f"cannot compact to {index}: only {self.applied} applied")
        term = self.term_at(index)
        assert term is not None
        membership = self._membership_at(index)
        del self.log[: index - self.snap.index]
        self.snap = Snapshot(index, term, membership, data)

    def status(self) -> Status:
        left = self._timeout - self._election_elapsed if self._promotable() and self.role is not RaftRole.LEADER else None
        return Status(self.id, self.role, self.term, self.lead, self.commit, self.applied, self.last_index(),
                      self.membership, self.membership_index > self.commit, left)

    def has_ready(self) -> bool:
        return bool(
            self._msgs or self._reads or self._pending_snap or self.stable < self.last_index() or self.applied < self.commit
            or HardState(self.term, self.vote, self.commit) != self._prev_hard
        )

    def ready(self) -> Ready:
        hs = HardState(self.term, self.vote, self.commit)
        msgs, self._msgs = tuple(self._msgs), []
        reads, self._reads = tuple(self._reads), []
        return Ready(
            hard_state=hs if hs != self._prev_hard else None,
            snapshot=self._pending_snap,
            entries=tuple(self.entries(self.stable + 1, self.last_index())),
            messages=msgs,
            committed=tuple(self.entries(self.applied + 1, self.commit)),
            reads=reads,
        )

    def advance(self, rd: Ready) -> None:
        if rd.hard_state is not None:
            self._prev_hard = rd.hard_state
        if rd.snapshot is not None:
            self._pending_snap = None
            self.stable = max(self.stable, rd.snapshot.index)
            self.applied = max(self.applied, rd.snapshot.index)
        if rd.entries:
            self.stable = max(self.stable, rd.entries[-1].index)
        if rd.committed:
            self.applied = rd.committed[-1].index
        if self.role is RaftRole.LEADER:
            self._maybe_commit()

    # ---- messages ---------------------------------------------------------------------------

    def step(self, m: Message) -> None:
        if m.term > self.term:
            if m.type in (MsgType.VOTE, MsgType.PRE_VOTE) and not m.force and self._in_lease():
                return  # CheckQuorum: a live leader exists; do not let a returning node disrupt it
            if m.type is MsgType.PRE_VOTE or (m.type is MsgType.PRE_VOTE_RESP and not m.reject):
                pass  # PreVote never changes terms
            elif m.type in (MsgType.APP, MsgType.SNAP):
                self._become_follower(m.term, m.frm)
            else:
                self._become_follower(m.term, None)
        elif m.term < self.term:
            if m.type is MsgType.APP and (self.cfg.check_quorum or self.cfg.pre_vote):
                # a stale leader learns the new term and steps down
                self._send(Message(MsgType.APP_RESP, self.id, m.frm, self.term))
            elif m.type is MsgType.PRE_VOTE:
                self._send(Message(MsgType.PRE_VOTE_RESP, self.id, m.frm, self.term, reject=True))
            return

        if m.type in (MsgType.VOTE, MsgType.PRE_VOTE):
            self._handle_vote(m)
        elif self.role is RaftRole.LEADER:
            self._step_leader(m)
        elif self.role in (RaftRole.CANDIDATE, RaftRole.PRE_CANDIDATE):
            self._step_candidate(m)
        else:
            self._step_follower(m)

    def _handle_vote(self, m: Message) -> None:
        pre = m.type is MsgType.PRE_VOTE
        can_vote = self.vote == m.frm or (self.vote is None and self.lead is None) or (pre and m.term > self.term)
        resp = MsgType.PRE_VOTE_RESP if pre else MsgType.VOTE_RESP
        if can_vote and (m.log_term, m.index) >= (self._last_term(), self.last_index()):
            self._send(Message(resp, self.id, m.frm, m.term))
            if not pre:
                self._election_elapsed = 0
                self.vote = m.frm
        else:
            self._send(Message(resp, self.id, m.frm, self.term, reject=True))

    def _step_leader(self, m: Message) -> None:
        if m.type is MsgType.READ_INDEX:
            self._register_read(m.read_ctx, m.frm)
            return
        pr = self._prs.get(m.frm)
        if pr is None or m.type is not MsgType.APP_RESP:
            return
        pr.active = True
        if m.read_seq:
            self._confirm_reads(m.frm, m.read_seq)
        if m.reject:
            if m.index < pr.next and m.index > pr.match:  # not a stale rejection
                pr.next = max(pr.match + 1, min(m.index, m.hint + 1))
                self._send_append(m.frm)
            return
        if m.index >= pr.snapshot_sent:
            pr.snapshot_sent = 0
        if m.index > pr.match:
            pr.match = m.index
            pr.next = max(pr.next, m.index + 1)
            if self._maybe_commit():
                if self.role is not RaftRole.LEADER:
                    return  # its own removal committed: it has stepped down
                self._broadcast_append()
        if pr.next <= self.last_index():
            self._send_append(m.frm)
        if m.frm == self._transfer and pr.match == self.last_index():
            self._send(Message(MsgType.TIMEOUT_NOW, self.id, m.frm, self.term))

    def _step_candidate(self, m: Message) -> None:
        want = MsgType.PRE_VOTE_RESP if self.role is RaftRole.PRE_CANDIDATE else MsgType.VOTE_RESP
        if m.type in (MsgType.APP, MsgType.SNAP):
            self._become_follower(self.term, m.frm)
            self._step_follower(m)
        elif m.type is want:
            self._votes[m.frm] = not m.reject
            granted = sum(1 for n, ok in self._votes.items() if ok and n in self.membership.voters)
            rejected = sum(1 for n, ok in self._votes.items() if not ok and n in self.membership.voters)
            if granted >= self._quorum():
                if self.role is RaftRole.PRE_CANDIDATE:
                    self._campaign(pre_vote=False)
                else:
                    self._become_leader()
            elif rejected >= self._quorum():
                self._become_follower(self.term, None)

    def _step_follower(self, m: Message) -> None:
        if m.type is MsgType.APP:
            self._election_elapsed = 0
            self.lead = m.frm
            self._handle_append(m)
        elif m.type is MsgType.SNAP:
            self._election_elapsed = 0
            self.lead = m.frm
            self._handle_snapshot(m)
        elif m.type is MsgType.READ_INDEX_RESP:
            self._reads.append((m.read_ctx, m.index))
        elif m.type is MsgType.TIMEOUT_NOW and self._promotable():
            self._campaign(pre_vote=False, force=True)

    def _handle_append(self, m: Message) -> None:
        if m.index < self.commit:
            self._send(Message(MsgType.APP_RESP, self.id, m.frm, self.term, index=self.commit, read_seq=m.read_seq))
            return
        if self.term_at(m.index) != m.log_term:
            self._send(Message(MsgType.APP_RESP, self.id, m.frm, self.term, index=m.index, reject=True,
                               hint=min(m.index, self.last_index()), read_seq=m.read_seq))
            return
        for i, e in enumerate(m.entries):
            if self.term_at(e.index) != e.term:
                assert e.index > self.commit, f"node {self.id}: conflict at committed index {e.index}"
                self._truncate_and_append(list(m.entries[i:]))
                break
        last_new = m.index + len(m.entries)
        self.commit = max(self.commit, min(m.commit, last_new))
        self._send(Message(MsgType.APP_RESP, self.id, m.frm, self.term, index=last_new, read_seq=m.read_seq))

    def _handle_snapshot(self, m: Message) -> None:
        s = m.snapshot
        assert s is not None
        if s.index <= self.commit:
            self._send(Message(MsgType.APP_RESP, self.id, m.frm, self.term, index=self.commit))
            return
        if self.term_at(s.index) == s.term:
            self.commit = s.index  # the log already holds it: keep the entries after it
        else:
            self.log = []
            self.snap = s
            self._pending_snap = s
            self.commit = s.index
            self.stable = min(self.stable, s.index)
            self._recompute_membership()
        self._send(Message(MsgType.APP_RESP, self.id, m.frm, self.term, index=s.index))

    # ---- roles ------------------------------------------------------------------------------

    def _become_follower(self, term: int, lead: int | None) -> None:
        if term != self.term:
            self.term, self.vote = term, None
        self.role, self.lead = RaftRole.FOLLOWER, lead
        self._transfer = None
        self._pending_reads = []  # unconfirmed reads are dropped: their requesters retry
        self._election_elapsed = 0
        self._timeout = self._random_timeout()

    def _campaign(self, pre_vote: bool, force: bool = False) -> None:
        if pre_vote:
            self.role, self.lead = RaftRole.PRE_CANDIDATE, None
            term, kind = self.term + 1, MsgType.PRE_VOTE
        else:
            self.term, self.vote = self.term + 1, self.id
            self.role, self.lead = RaftRole.CANDIDATE, None
            term, kind = self.term, MsgType.VOTE
        self._votes = {self.id: True}
        self._timeout = self._random_timeout()
        if self._quorum() <= 1:
            if pre_vote:
                self._campaign(pre_vote=False)
            else:
                self._become_leader()
            return
        for v in sorted(self.membership.voters - {self.id}):
            self._send(Message(kind, self.id, v, term, log_term=self._last_term(), index=self.last_index(), force=force))

    def _become_leader(self) -> None:
        self.role, self.lead = RaftRole.LEADER, self.id
        self._prs = {}
        self._sync_progress()
        self._heartbeat_elapsed = self._election_elapsed = 0
        self._append(EntryKind.NOOP, None)

    def _sync_progress(self) -> None:
        members = self.membership.voters | self.membership.learners | {self.id}
        for n in members - self._prs.keys():
            self._prs[n] = _Progress(next=self.last_index() + 1, active=n == self.id)
        for n in self._prs.keys() - members:
            del self._prs[n]

    # ---- the leader's work --------------------------------------------------------------------

    def _check_can_propose(self) -> None:
        if self.role is not RaftRole.LEADER:
            raise NotLeader(self.lead)
        if self._transfer is not None:
            raise ProposalRefused("leadership is being transferred")

    def _append(self, kind: EntryKind, data: object) -> int:
        e = Entry(self.term, self.last_index() + 1, kind, data)
        self.log.append(e)
        if kind is EntryKind.MEMBERSHIP:
            self._recompute_membership()
        self._broadcast_append()
        return e.index

    def _broadcast_append(self) -> None:
        for n in sorted(self._prs):
            if n != self.id:
                self._send_append(n)

    def _send_append(self, to: int) -> None:
        pr = self._prs[to]
        prev = pr.next - 1
        prev_term = self.term_at(prev)
        if prev > self.last_index():
            prev, prev_term = self.last_index(), self._last_term()
        elif prev_term is None:  # compacted: send the snapshot instead, once
            if not pr.snapshot_sent:
                self._send(Message(MsgType.SNAP, self.id, to, self.term, snapshot=self.snap))
                pr.snapshot_sent = self.snap.index
            pr.next = self.snap.index + 1
            return
        ents = tuple(self.entries(prev + 1, prev + self.cfg.max_batch))
        self._send(Message(MsgType.APP, self.id, to, self.term, log_term=prev_term, index=prev, entries=ents,
                           commit=self.commit, read_seq=self._read_seq if self._pending_reads else 0))
        pr.next = prev + len(ents) + 1

    def _register_read(self, ctx: object, requester: int) -> None:
        if self.term_at(self.commit) != self.term:
            return  # a new leader knows the commit index only once an entry of its term commits
        self._read_seq += 1
        self._pending_reads.append(_PendingRead(self._read_seq, self.commit, ctx, requester, {self.id}))
        self._release_reads()
        if self._pending_reads:
            self._broadcast_append()

    def _confirm_reads(self, frm: int, seq: int) -> None:
        for r in self._pending_reads:
            if r.seq <= seq:
                r.acks.add(frm)
        self._release_reads()

    def _release_reads(self) -> None:
        """Reads confirmed by a majority leave in order (a later read's confirmation covers earlier ones)."""
        done = 0
        for i, r in enumerate(self._pending_reads):
            if len(r.acks & self.membership.voters) >= self._quorum():
                done = i + 1
        for r in self._pending_reads[:done]:
            if r.requester == self.id:
                self._reads.append((r.ctx, r.index))
            else:
                self._send(Message(MsgType.READ_INDEX_RESP, self.id, r.requester, self.term, index=r.index,
                                   read_ctx=r.ctx))
        del self._pending_reads[:done]

    def _maybe_commit(self) -> bool:
        """Advance the commit index to what a majority of voters hold durably (the leader: persisted)."""
        matches = sorted(
            (self.stable if n == self.id else self._prs[n].match if n in self._prs else 0)
            for n in self.membership.voters
        )
        if not matches:
            return False
        n = matches[len(matches) - self._quorum()]
        if n <= self.commit or self.term_at(n) != self.term:
            return False
        self.commit = n
        if self.membership_index <= self.commit and self.id not in self.membership.voters:
            self._become_follower(self.term, None)  # removed: stop leading once the removal commits
        return True

    def _quorum(self) -> int:
        return len(self.membership.voters) // 2 + 1

    def _quorum_active(self) -> bool:
        return sum(1 for n in self.membership.voters if n in self._prs and self._prs[n].active) >= self._quorum()

    def _in_lease(self) -> bool:
        return self.cfg.check_quorum and self.lead is not None and self._election_elapsed < self.election_ticks

    def _promotable(self) -> bool:
        return self.id in self.membership.voters

    def _random_timeout(self) -> int:
        return self.election_ticks + self.rng.randrange(self.election_ticks)

    def _send(self, m: Message) -> None:
        self._msgs.append(m)
