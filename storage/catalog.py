"""The database catalog: what a database is (role, state, replication source, epoch history) and
the only way its role and state change.

A database's role and state form one state machine, written down once in ``TRANSITIONS``; every
change goes through ``change`` (and ``Store.transition``, which also persists it), so an illegal
move (promoting a database that is still provisioning, resuming a master) is refused in one place.
The wire text of roles and states is SingleStore's (``master``, ``async replica``, ``replication
paused`` ...): the enums are ``StrEnum`` so they print exactly that.

``SourceRef`` and ``Position`` are pure value types: ``sqlfront`` may import them (the parser
builds a SourceRef) without touching anything else of storage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from storage.history import first_epoch

DEFAULT_PORT = 3306


class Role(StrEnum):
    """Which side of replication a database is on (SHOW DATABASES EXTENDED's Role)."""

    MASTER = "master"
    ASYNC_REPLICA = "async replica"


class State(StrEnum):
    """What a database can do right now (SHOW DATABASES EXTENDED's State)."""

    ONLINE = "online"  # a master: readable and writable
    PROVISIONING = "provisioning"  # a new replica copying its source's snapshot: not readable
    REPLICATING = "replicating"  # a replica following its source: readable, not writable
    PAUSED = "replication paused"  # a replica told to stop pulling (PAUSE REPLICATING)
    ERROR = "error"  # a replica whose link stopped on a fault retrying cannot fix (Details says which)
    UNRECOVERABLE = "unrecoverable"  # its log or snapshot cannot be replayed: only DROP DATABASE helps

    @property
    def readable(self) -> bool:
        return self not in (State.PROVISIONING, State.UNRECOVERABLE)


# (role, state) -> the (role, state) pairs it may become. Creation starts at (MASTER, ONLINE) or, for
# REPLICATE DATABASE, at (ASYNC_REPLICA, PROVISIONING); DROP DATABASE is allowed from anywhere.
_R, _M = Role.ASYNC_REPLICA, Role.MASTER
TRANSITIONS: dict[tuple[Role, State], frozenset[tuple[Role, State]]] = {
    # a master becomes a replica only through REPLICATE ... WITH FORCE DIFFERENTIAL
    (_M, State.ONLINE): frozenset({(_R, State.REPLICATING), (_M, State.UNRECOVERABLE)}),
    # caught up with the snapshot's tail; or the copy itself is corrupt
    (_R, State.PROVISIONING): frozenset({(_R, State.REPLICATING), (_R, State.UNRECOVERABLE)}),
    # PAUSE, a fatal link fault, STOP REPLICATING (promotion), a corrupt record, or re-provisioning
    # from a fresh snapshot when the source no longer keeps the records the copy needs next
    (_R, State.REPLICATING): frozenset({(_R, State.PAUSED), (_R, State.ERROR), (_M, State.ONLINE),
                                        (_R, State.UNRECOVERABLE), (_R, State.PROVISIONING)}),
    # CONTINUE (or a differential REPLICATE) resumes; STOP REPLICATING promotes
    (_R, State.PAUSED): frozenset({(_R, State.REPLICATING), (_M, State.ONLINE), (_R, State.UNRECOVERABLE)}),
    (_R, State.ERROR): frozenset({(_R, State.REPLICATING), (_R, State.PAUSED), (_M, State.ONLINE),
                                  (_R, State.UNRECOVERABLE)}),
    (_M, State.UNRECOVERABLE): frozenset(),
    (_R, State.UNRECOVERABLE): frozenset(),
}


class IllegalTransition(Exception):
    """A role/state change the state machine does not allow (a bug in the caller, or a race)."""


@dataclass(frozen=True)
class Position:
    """A place in a database's history (DESIGN invariant 4), shown as ``epoch:lsn``."""

    epoch: int
    lsn: int

    def __str__(self) -> str:
        return f"{self.epoch}:{self.lsn}"

    @classmethod
    def parse(cls, text: str) -> Position:
        """``epoch:lsn`` back into a Position (ValueError if it is not one)."""
        epoch, sep, lsn = str(text).partition(":")
        if not sep:
            raise ValueError(f"not an epoch:lsn position: {text!r}")
        return cls(int(epoch), int(lsn))


ZERO = Position(0, 0)


@dataclass(frozen=True)
class SourceRef:
    """Where a replica pulls from: ``user[:'password']@host[:port][/db]``.

    ``port`` and ``db`` are None when the statement left them out (3306, and the local database's
    name: ``for_database`` fills them). ``db_id`` is the source database's id, learned on the first
    contact. The password is kept for the link (and in the data directory, which is private to the
    node's user) but never shown: not by ``uri()``, not by ``repr()``."""

    user: str
    password: str | None = None  # None when omitted: the empty password
    host: str = ""  # a name, IPv4, or IPv6 without the brackets
    port: int | None = None
    db: str | None = None
    db_id: int | None = None

    def uri(self, default_db: str = "") -> str:
        """``host:port/db`` as status output prints it; never the user or the password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = DEFAULT_PORT if self.port is None else self.port
        return f"{host}:{port}/{self.db if self.db is not None else default_db}"

    def for_database(self, local_db: str) -> SourceRef:
        """The same source with its defaults filled in for a replica named ``local_db``."""
        return replace(self, port=DEFAULT_PORT if self.port is None else self.port,
                       db=local_db if self.db is None else self.db)

    def with_id(self, db_id: int) -> SourceRef:
        return replace(self, db_id=db_id)

    def without_password(self) -> SourceRef:
        return replace(self, password=None)

    def __repr__(self) -> str:
        password = None if self.password is None else "***"
        return (f"SourceRef(user={self.user!r}, password={password!r}, host={self.host!r}, "
                f"port={self.port!r}, db={self.db!r}, db_id={self.db_id!r})")

    __str__ = __repr__

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SourceRef:
        return cls(user=d["user"], password=d.get("password") or None, host=d["host"], port=d.get("port"),
                   db=d.get("db"), db_id=d.get("db_id"))


@dataclass
class DbInfo:
    """The catalog entry of a database, kept in the log store's metadata."""

    id: int
    name: str
    state: State = State.ONLINE
    role: Role = Role.MASTER
    epochs: list[list] = field(default_factory=first_epoch)  # [epoch, first lsn, tag] (storage.history)
    durability: str = "sync"
    details: str = ""
    source: SourceRef | None = None  # replication source (password kept here, never shown)
    created: float = field(default_factory=time.time)
    reverting: int | None = None  # a revert to this LSN is under way (finished on restart if cut off)
    source_seen: list[float] | None = None  # [epoch, lsn, unix time]: the source's position last learned
    hot_standby: bool = False  # Yellowbrick HOT_STANDBY: readable, written only by replication cycles
    readonly: bool = False  # Yellowbrick READONLY: readable, no writes at all (not even cycles)
    readonly_reason: str = ""  # why READONLY is on (sys.database.readonly_reason)

    def __post_init__(self) -> None:  # loaded from JSON: plain strings and dicts
        self.state, self.role = State(self.state), Role(self.role)
        if isinstance(self.source, dict):
            self.source = SourceRef.from_json(self.source)

    @property
    def epoch(self) -> int:
        return self.epochs[-1][0]

    def position(self, lsn: int) -> Position:
        return Position(self.epoch, lsn)

    @property
    def is_replica(self) -> bool:
        return self.role is Role.ASYNC_REPLICA

    @property
    def following(self) -> bool:
        """Whether a link should run for it (a replica that is provisioning or replicating)."""
        return self.is_replica and self.state in (State.PROVISIONING, State.REPLICATING)

    @property
    def writable(self) -> bool:
        return self.role is Role.MASTER and self.state is State.ONLINE


def change(info: DbInfo, role: Role, state: State, details: str = "") -> None:
    """Move a catalog entry to (role, state), refusing a move ``TRANSITIONS`` does not list.
    Staying where it is is always allowed (only the details change)."""
    here = (info.role, info.state)
    if (role, state) != here and (role, state) not in TRANSITIONS.get(here, frozenset()):
        raise IllegalTransition(f"database '{info.name}' cannot go from {info.role} {info.state} to {role} {state}")
    info.role, info.state, info.details = role, state, details


__all__ = ["DbInfo", "IllegalTransition", "Position", "Role", "SourceRef", "State", "TRANSITIONS", "ZERO", "change"]
