"""Epoch histories (DESIGN.md invariant 4): positions are (epoch, LSN).

A database's history is a list of entries ``[epoch, first_lsn, tag]``: the epoch that began at
``first_lsn``. Creating a database starts epoch 1 and promoting one (STOP REPLICATING) starts the
next epoch at the next LSN. The tag is random and names the event, so two databases created
separately, or two replicas promoted separately to the same epoch number, never look alike. Two
copies share their history up to the last LSN at which both have the same entry.
"""

from __future__ import annotations

import uuid


def new_tag() -> str:
    return uuid.uuid4().hex[:12]


def first_epoch() -> list[list]:
    return [[1, 1, new_tag()]]


def next_epoch(history: list[list], first_lsn: int) -> list:
    """The entry a promotion appends: the next epoch number, starting at ``first_lsn``."""
    return [max(e[0] for e in history) + 1, first_lsn, new_tag()]


def entry_at(history: list[list], lsn: int) -> list:
    """The history entry in force at ``lsn``."""
    found = history[0]
    for entry in history:
        if entry[1] <= lsn:
            found = entry
    return found


def epoch_at(history: list[list], lsn: int) -> int:
    return int(entry_at(history, lsn)[0])


def _key(entry: list) -> tuple[int, str]:
    return int(entry[0]), str(entry[2]) if len(entry) > 2 else ""


def related(a: list[list], b: list[list]) -> bool:
    """Whether two histories start from the same creation (they may share some prefix)."""
    return _key(a[0]) == _key(b[0])


def shared_point(a: list[list], a_last: int, b: list[list], b_last: int) -> int:
    """The last LSN both copies hold identically (0 when they share nothing)."""
    if not related(a, b):
        return 0
    limit = min(a_last, b_last)
    for lsn in sorted({int(e[1]) for e in a} | {int(e[1]) for e in b}):
        if lsn > limit:
            break
        if _key(entry_at(a, lsn)) != _key(entry_at(b, lsn)):
            return lsn - 1
    return limit


def prefix(history: list[list], lsn: int) -> list[list]:
    """The entries of ``history`` that began at or before ``lsn`` (at least the first)."""
    return [list(e) for e in history if e[1] <= max(lsn, 1)] or [list(history[0])]


class HistoryDiverged(Exception):
    """A copy's history is not a prefix of its source's: the source is another database, or the two
    were promoted separately, or the source lost records this copy has."""


def check_follows(mine: list[list], mine_last: int, theirs: list[list], their_last: int) -> None:
    """Raise ``HistoryDiverged`` unless the source history ``theirs`` (at ``their_last``) contains
    this copy's history ``mine`` up to ``mine_last``: compares the entries' tags, not epoch numbers."""
    if not related(mine, theirs):
        raise HistoryDiverged("it was created separately: its history does not begin with this copy's")
    shared = shared_point(mine, mine_last, theirs, their_last)
    if shared >= mine_last:
        return
    if shared == their_last:
        raise HistoryDiverged(f"it holds only up to LSN {their_last} of the history this copy has up to LSN {mine_last}")
    raise HistoryDiverged(f"the histories split after LSN {shared} (this copy is in epoch {entry_at(mine, mine_last)[0]}, "
                          f"the source in epoch {entry_at(theirs, their_last)[0]} since LSN {entry_at(theirs, their_last)[1]})")
