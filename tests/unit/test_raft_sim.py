"""The Raft core (replication/raft.py) under simulation: hundreds of seeded faulty runs checking the
safety properties, and scripted scenarios for PreVote, CheckQuorum, even splits, the commit rule,
membership changes, snapshots and leadership transfer.

RAFT_SIM_RUNS sets how many seeds the seeded test runs (``make raft-sim`` runs thousands);
RAFT_SIM_SEED replays one seed (test_replay)."""

from __future__ import annotations

import os

import pytest

from replication.raft import (
    Config,
    Entry,
    HardState,
    Membership,
    Message,
    MsgType,
    NotLeader,
    ProposalRefused,
    Raft,
    RaftRole,
    Snapshot,
)
from tests.unit.raft_sim import ELECTION_TICKS, Faults, SafetyViolation, Sim

QUIET = Faults(crash=0, partition=0, membership=0, compact=0, transfer=0)


def test_seeded_faulty_runs_keep_every_safety_property() -> None:
    first = int(os.environ.get("RAFT_SIM_FIRST", "0"))
    totals = {"acked": 0, "terms": 0, "reads": 0}
    for seed in range(first, first + int(os.environ.get("RAFT_SIM_RUNS", "300"))):
        try:
            got = Sim(seed).run()
        except SafetyViolation:
            raise
        except Exception as e:  # a crash inside the core is a failure too: say how to replay it
            pytest.fail(f"seed {seed}: {e!r}\nreplay: RAFT_SIM_SEED={seed} .venv/bin/pytest -q "
                        "tests/unit/test_raft_sim.py -k replay")
        totals["acked"] += got["acked"]
        totals["terms"] += got["terms"]
        totals["reads"] += got["reads"]
    # the runs did real work: elections happened, writes were acknowledged, reads served
    assert totals["terms"] > 0 and totals["acked"] > 0 and totals["reads"] > 0


def test_replay() -> None:
    """Replays the seed a failure printed (RAFT_SIM_SEED=<n>); seed 7 otherwise."""
    Sim(int(os.environ.get("RAFT_SIM_SEED", "7"))).run()


def sim(voters: int = 3) -> Sim:
    return Sim(1, faults=QUIET, voters=voters)


def test_a_leader_is_elected_and_replicates_to_every_voter() -> None:
    s = sim()
    lead = s.elected()
    index = lead.raft.propose("x")
    lead.proposals[index] = (lead.raft.term, "x")
    s.until(lambda: all(n.sm.get(index, (0, 0, 0))[2] == "x" for n in s.nodes.values() if n.id <= 3), 50)
    assert s.acked == [(index, lead.raft.term, "x")]
    assert {n.raft.lead for n in s.nodes.values() if n.id <= 3} == {lead.id}


def test_a_follower_refuses_proposals_naming_the_leader() -> None:
    s = sim()
    lead = s.elected()
    other = next(n for n in s.nodes.values() if n.id <= 3 and n.id != lead.id)
    s.until(lambda: other.raft.lead == lead.id, 20)
    with pytest.raises(NotLeader) as e:
        other.raft.propose("x")
    assert e.value.leader == lead.id


def test_prevote_a_returning_node_does_not_depose_a_healthy_leader() -> None:
    s = sim()
    lead = s.elected()
    term = lead.raft.term
    cut = next(n for n in (1, 2, 3) if n != lead.id)
    s.groups = {cut: 1}
    for _ in range(10 * ELECTION_TICKS):
        s.step_world(faulty=False)
    assert s.nodes[cut].raft.term == term  # PreVote: it never won a pre-vote, so never raised its term
    s.groups = {}
    for _ in range(5 * ELECTION_TICKS):
        s.step_world(faulty=False)
    assert s.leader() is lead and lead.raft.term == term


def test_check_quorum_a_cut_off_leader_steps_down_and_the_majority_elects() -> None:
    s = sim()
    lead = s.elected()
    s.groups = {lead.id: 1}
    ticks = s.until(lambda: lead.raft.role is not RaftRole.LEADER, 3 * ELECTION_TICKS)
    assert ticks <= 2 * ELECTION_TICKS
    with pytest.raises(NotLeader):
        lead.raft.propose("lost")
    new = s.elected()
    assert new.id != lead.id and new.raft.term > lead.raft.term


def test_an_even_split_of_four_voters_elects_nobody() -> None:
    s = sim(voters=4)
    lead = s.elected()
    others = [n for n in (1, 2, 3, 4) if n != lead.id]
    s.groups = {lead.id: 1, others[0]: 1}
    s.until(lambda: s.leader() is None, 2 * ELECTION_TICKS)  # CheckQuorum: the old leader steps down
    for _ in range(20 * ELECTION_TICKS):
        s.step_world(faulty=False)
        assert s.leader() is None
    s.groups = {}
    assert s.elected().raft.term >= lead.raft.term


def test_a_leader_never_commits_an_older_terms_entry_by_counting_replicas() -> None:
    """Raft's figure 8: an entry of an earlier term is committed only through one of the leader's own."""
    voters = Membership(frozenset({1, 2, 3, 4, 5}))
    log = [Entry(1, 1), Entry(2, 2)]
    r = Raft(Config(1, election_ticks=ELECTION_TICKS, pre_vote=False), HardState(term=3), Snapshot(0, 0, voters), log)
    while r.role is not RaftRole.CANDIDATE:
        r.tick()
    for peer in (2, 3):
        r.step(Message(MsgType.VOTE_RESP, peer, 1, r.term))
    assert r.role is RaftRole.LEADER and r.term == 4
    r.advance(r.ready())
    for peer in (2, 3):
        r.step(Message(MsgType.APP_RESP, peer, 1, r.term, index=2))
    assert r.commit == 0  # index 2 (term 2) is on a majority, but not committable yet
    for peer in (2, 3):
        r.step(Message(MsgType.APP_RESP, peer, 1, r.term, index=3))
    assert r.commit == 3


def test_membership_changes_one_node_at_a_time() -> None:
    s = sim()
    lead = s.elected()
    cur = lead.raft.membership
    with pytest.raises(ProposalRefused, match="one node at a time"):
        lead.raft.propose_membership(Membership(cur.voters | {4, 5}))
    lead.raft.propose_membership(Membership(cur.voters | {4}))
    with pytest.raises(ProposalRefused, match="in progress"):
        lead.raft.propose_membership(Membership(cur.voters | {4}, frozenset({5})))
    # the new member joins empty, learns the membership from the log and holds everything
    s.until(lambda: s.nodes[4].raft.membership.voters == {1, 2, 3, 4} and s.nodes[4].raft.applied >= lead.raft.commit, 50)
    assert s.nodes[4].sm == lead.sm


def test_a_lagging_node_catches_up_from_a_snapshot_when_its_log_is_gone() -> None:
    s = sim()
    lead = s.elected()
    lag = s.nodes[next(n for n in (1, 2, 3) if n != lead.id)]
    s.crash(lag)
    lag.down_until = 10**9
    for i in range(40):
        idx = lead.raft.propose(f"w{i}")
        lead.proposals[idx] = (lead.raft.term, f"w{i}")
        s.step_world(faulty=False)
    s.until(lambda: lead.raft.applied == lead.raft.last_index(), 20)
    r = lead.raft
    r.compact(r.applied, tuple(sorted(lead.sm.items())))
    lead.disk.snap = r.snap
    assert r.first_index() > 2
    lag.down_until = 0
    s.until(lambda: lag.up and lag.raft.applied >= r.commit, 50)
    assert lag.raft.snap.index == r.snap.index  # it was sent the snapshot, not the (gone) log
    assert lag.sm == {i: v for i, v in lead.sm.items() if i <= lag.raft.applied}
    assert len(s.acked) == 40


def test_leadership_transfer_hands_over_to_a_caught_up_voter() -> None:
    s = sim()
    lead = s.elected()
    target = next(n for n in (1, 2, 3) if n != lead.id)
    lead.raft.transfer_leadership(target)
    with pytest.raises(ProposalRefused, match="transferred"):
        lead.raft.propose("x")
    s.until(lambda: s.leader() is not None and s.leader().id == target, 3 * ELECTION_TICKS)  # type: ignore[union-attr]


def test_a_removed_leader_steps_down_once_its_removal_commits() -> None:
    s = sim()
    lead = s.elected()
    cur = lead.raft.membership
    lead.raft.propose_membership(Membership(cur.voters - {lead.id}))
    s.until(lambda: lead.raft.role is RaftRole.FOLLOWER, 20)
    new = s.elected()
    assert new.id != lead.id and new.raft.membership.voters == cur.voters - {lead.id}
    assert lead.raft.status().ticks_to_election is None  # never campaigns again


def test_read_index_through_a_follower_covers_every_acknowledged_write() -> None:
    s = sim()
    lead = s.elected()
    index = lead.raft.propose("w")
    lead.proposals[index] = (lead.raft.term, "w")
    s.until(lambda: bool(s.acked), 20)
    follower = s.nodes[next(n for n in (1, 2, 3) if n != lead.id)]
    s.until(lambda: follower.raft.lead == lead.id, 20)
    s.counter += 1
    s.reads[s.counter] = s.max_acked
    follower.raft.read_index(s.counter)
    s.until(lambda: s.reads_done == 1, 20)


def test_a_cut_off_leader_serves_no_read() -> None:
    s = sim()
    lead = s.elected()
    s.groups = {lead.id: 1}
    lead.raft.read_index(99)
    s.reads[99] = s.max_acked
    for _ in range(ELECTION_TICKS // 2):
        s.step_world(faulty=False)
    assert s.reads_done == 0


def test_a_paused_leader_resuming_cut_off_neither_writes_nor_reads_stale() -> None:
    """SIGSTOP the leader and cut it off: the others elect and acknowledge a write; on SIGCONT it
    still believes it leads, but confirms no read and commits nothing, and steps down."""
    s = sim()
    old = s.elected()
    old.paused_until, s.groups = s.now + 6 * ELECTION_TICKS, {old.id: 2}
    new = s.elected()
    index = new.raft.propose("w")
    new.proposals[index] = (new.raft.term, "w")
    s.until(lambda: bool(s.acked), 20)
    s.until(lambda: s.now >= old.paused_until, 10 * ELECTION_TICKS)
    assert old.raft.role is RaftRole.LEADER  # it has not noticed yet
    s.counter += 1
    s.reads[s.counter] = s.max_acked
    old.raft.read_index(s.counter)
    stale = old.raft.propose("alone")
    s.until(lambda: old.raft.role is not RaftRole.LEADER, 2 * ELECTION_TICKS)
    assert s.reads_done == 0 and old.raft.commit < stale


def test_a_leader_stepping_down_on_its_removal_sends_no_more_appends() -> None:
    r = Raft(Config(1, election_ticks=ELECTION_TICKS, pre_vote=False), HardState(),
             Snapshot(0, 0, Membership(frozenset({1, 2, 3}))))
    while r.role is not RaftRole.CANDIDATE:
        r.tick()
    r.step(Message(MsgType.VOTE_RESP, 2, 1, r.term))
    r.advance(r.ready())
    r.step(Message(MsgType.APP_RESP, 2, 1, r.term, index=1))
    index = r.propose_membership(Membership(frozenset({2, 3})))
    r.step(Message(MsgType.APP_RESP, 2, 1, r.term, index=index))
    r.advance(r.ready())
    r.step(Message(MsgType.APP_RESP, 3, 1, r.term, index=index))  # the removal commits
    assert r.role is RaftRole.FOLLOWER
    assert [m for m in r.ready().messages if m.type is MsgType.APP] == []


def test_a_lagging_node_is_sent_one_snapshot_not_one_per_heartbeat() -> None:
    s = Sim(1, faults=Faults(drop=0, duplicate=0, max_delay=3, crash=0, pause=0, partition=0, membership=0,
                             compact=0, transfer=0), voters=3)
    lead = s.elected()
    lag = s.nodes[next(n for n in (1, 2, 3) if n != lead.id)]
    s.crash(lag)
    lag.down_until = 10**9
    for i in range(10):
        lead.raft.propose(f"w{i}")
    s.until(lambda: lead.raft.applied == lead.raft.last_index(), 20)
    lead.raft.compact(lead.raft.applied, tuple(sorted(lead.sm.items())))
    lag.down_until = 0
    snaps = 0
    while not (lag.up and lag.raft.applied >= lead.raft.commit):
        assert s.now < 10**6
        before = {id(m) for _, _, m in s.net}
        s.step_world(faulty=True)  # slow messages (up to 3 ticks) and no other fault
        snaps += sum(1 for _, _, m in s.net if id(m) not in before and m.type is MsgType.SNAP)
    assert snaps == 1


def test_a_new_election_timeout_takes_effect_at_once() -> None:
    s = sim()
    lead = s.elected()
    for n in s.nodes.values():
        n.raft.set_election_ticks(4 * ELECTION_TICKS)
    s.crash(lead)
    lead.down_until = 10**9
    ticks = s.until(lambda: s.leader() is not None, 20 * ELECTION_TICKS)
    assert 4 * ELECTION_TICKS <= ticks < 9 * ELECTION_TICKS
