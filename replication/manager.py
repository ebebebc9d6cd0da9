"""The replication manager: REPLICATE DATABASE (full and WITH FORCE DIFFERENTIAL), PAUSE / CONTINUE /
STOP REPLICATING, the source side of links, and the status every view is built from.

It holds the node's links (one per replica database) and its ``Source``. It knows nothing of
sessions or the wire: what it needs from the node that runs it is the ``Host`` protocol below, and
it reports refusals as ``replication.errors`` values that the node maps to MySQL codes. The
failback algorithm and the link's state machine are described in ``replication/DESIGN.md``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from replication.errors import (
    DatabaseExists,
    HistoryMismatch,
    LinkError,
    NotReady,
    ReplicationError,
    Stopped,
    UnknownDatabase,
    WrongState,
)
from replication.link import Link, Progress
from replication.protocol import Chunk, Fetch, Hello, Snapshot
from replication.source import Source
from storage.catalog import Role, SourceRef, State
from storage.database import Database
from storage.history import entry_at, next_epoch, prefix, related, shared_point
from storage.record import Record
from storage.store import HistoryGap, Store

SourceRequest = Hello | Snapshot | Chunk | Fetch


class Host(Protocol):
    """What the manager needs from the node it runs in (the node implements it)."""

    @property
    def address(self) -> str:
        """``host:port`` this node serves on: how replicas name themselves to their source."""

    def resolve(self, host: str) -> str:
        """The address to dial for a source host name (a lab maps service names to loopback)."""

    def content_replaced(self, db: Database) -> None:
        """A database's content was swapped (snapshot installed, revert): drop what is cached of it."""

    async def hold_writes(self, db: Database, holder: object) -> None:
        """Take ``db``'s writer for ``holder`` (a session): no client write runs until released."""

    def release_writes(self, db: Database, holder: object) -> None:
        """Give back the writer ``hold_writes`` took."""

    def promoted(self, db: Database) -> None:
        """``db`` just became a master (STOP REPLICATING): e.g. its pipelines start."""


@dataclass
class LinkStatus:
    """One link this node takes part in, seen from this node (``side``): what the status views,
    SHOW REPLICATION STATUS and the metrics show. Later replication flows add fields here."""

    side: Role  # MASTER: this node is the source; ASYNC_REPLICA: this node pulls
    database: str
    database_id: int
    primary_uri: str
    replica_uri: str
    master_state: str
    master_lsn: int
    master_epoch: int
    replica_state: str
    replica_lsn: int
    replica_hardened: int
    replica_epoch: int
    replica_commits: int
    connected: bool
    lsn_lag: int  # on a replica: behind the last position the source was known to have
    lag_seconds: float
    last_contact_s: float | None  # seconds since the other side was last heard from (None: never)
    volume_lag_mb: float = 0.0
    throughput_mbps: float = 0.0
    catchup_s: float = 0.0


@dataclass(frozen=True)
class Reverted:
    """A transaction a differential REPLICATE undid, as DRLAB_REVERTED_TRANSACTIONS shows it."""

    database: str
    reverted_at: float
    source_uri: str
    record: Record


class Manager:
    """The node's replication: its links, its source side, and their status."""

    def __init__(self, store: Store, host: Host) -> None:
        self.store = store
        self.host = host
        self.source = Source(store)
        self.links: dict[str, Link] = {}

    # -- lifecycle (a node service) ----------------------------------------------------------------
    async def start(self) -> None:
        """Resume every link that was replicating (or provisioning) when the node stopped."""
        for name in self.store.names():
            db = self.store.get(name)
            if db is not None and db.info.following:
                self._link(name).start()

    async def stop(self) -> None:
        for link in list(self.links.values()):
            await link.stop()
        self.links.clear()

    def _link(self, name: str, source: SourceRef | None = None) -> Link:
        if source is None:
            db = self.store.get(name)
            assert db is not None and db.info.source is not None
            source = db.info.source
        link = Link(self.store, name, source, self.host.address, self.host.resolve, self.host.content_replaced)
        self.links[name] = link
        return link

    async def _unlink(self, name: str) -> None:
        link = self.links.pop(name, None)
        if link is not None:
            await link.stop()

    async def detach(self, name: str) -> None:
        """Stop replica ``name``'s link; it stays a replica in its state until promoted (PCR's
        failover stops every database of a virtual cluster before reverting them to one time)."""
        await self._unlink(name)

    def progress(self, name: str) -> Progress | None:
        """The progress of replica ``name``'s running link, None when it has none."""
        link = self.links.get(name)
        return link.progress if link is not None else None

    async def dropping(self, name: str) -> None:
        """DROP DATABASE is about to remove ``name``: stop its link and forget its replicas."""
        await self._unlink(name)
        self.source.forget(name)

    def committed(self, db: Database, lsn: int) -> None:
        """A commit listener: replicas long-polling ``db`` get the new record at once."""
        self.source.committed(db, lsn)

    # -- REPLICATE DATABASE ------------------------------------------------------------------------
    async def replicate(self, name: str, source: SourceRef, durability: str | None) -> None:
        """Create ``name`` as a replica of ``source`` and return once it has caught up."""
        if name.lower() == "information_schema" or self.store.get(name) is not None:
            raise DatabaseExists(f"Can't create database '{name}'; database exists")
        source = source.for_database(name)
        db = self.store.create(name, state=State.PROVISIONING, role=Role.ASYNC_REPLICA, source=source,
                               durability=durability or "sync")
        link = self._link(db.info.name)
        link.start(fail_fast=True)
        try:
            await link.caught_up
        except BaseException as e:
            await self._unlink(name)
            if not isinstance(e, Stopped) and self.store.get(name) is not None:  # Stopped: DROP or shutdown's
                self.store.drop(name)
                self.host.content_replaced(db)
            if isinstance(e, LinkError):
                raise LinkError(e.remote_code, f"REPLICATE DATABASE {name} failed: {e}") from None
            if isinstance(e, ReplicationError):
                raise type(e)(f"REPLICATE DATABASE {name} failed: {e}") from None
            raise

    async def replicate_differential(self, name: str, source: SourceRef, durability: str | None,
                                     holder: object) -> tuple[int, int]:
        """WITH FORCE DIFFERENTIAL: find the last (epoch, LSN) both sides share, revert what the local
        side committed after it (kept for DRLAB_REVERTED_TRANSACTIONS), and stream only the rest.
        Returns (transactions reverted, the shared LSN)."""
        db = self.store.get(name)
        if db is None:
            raise UnknownDatabase(f"Unknown database '{name}': REPLICATE ... WITH FORCE DIFFERENTIAL needs the local "
                                  "database to exist; without WITH FORCE DIFFERENTIAL, REPLICATE DATABASE creates it")
        if db.info.following:
            assert db.info.source is not None
            raise WrongState(f"Database '{name}' is already replicating from {db.info.source.uri()}; "
                             "PAUSE REPLICATING or STOP REPLICATING it first")
        if db.info.state not in (State.ONLINE, State.PAUSED, State.ERROR):
            raise WrongState(f"Database '{name}' is {db.info.state} and cannot replicate differentially")
        source = source.for_database(name)
        await self._unlink(name)  # the stopped link of a replica in state error
        link = self._link(name, source)
        self.links.pop(name)  # registered below, once the local side has become a replica
        try:
            hello = await link.hello()
        except LinkError as e:
            await link.stop()
            raise LinkError(e.remote_code, f"REPLICATE DATABASE {name} failed: {e}") from None
        mine = db.info.epochs
        if hello["role"] != Role.MASTER or hello["state"] != State.ONLINE:
            await link.stop()
            raise WrongState(f"The source {source.uri()} is not a primary (role {hello['role']}, state "
                             f"'{hello['state']}'); replicate differentially from the database's current primary")
        if not related(mine, hello["epochs"]):
            await link.stop()
            raise HistoryMismatch(f"Database '{name}' shares no history with {source.uri()}: they were created "
                                  "separately. A differential REPLICATE only works between copies of one database; "
                                  "replicate into a new database instead (REPLICATE DATABASE <new_name> FROM ...)")
        shared = shared_point(mine, db.applied_lsn, hello["epochs"], hello["last"])
        if shared + 1 < hello["first"] and hello["last"] > shared:
            await link.stop()
            raise HistoryMismatch(f"The histories of '{name}' and {source.uri()} split at LSN {shared} (epoch "
                                  f"{entry_at(mine, shared)[0]}), but the source keeps its log only from LSN "
                                  f"{hello['first']}; replicate into a new database instead")
        source = source.with_id(hello["id"])
        link.source = source
        await self.host.hold_writes(db, holder)  # no client write may slip in while the roles change
        try:
            info = db.info
            before = (info.role, info.state, info.details, info.source)
            info.source, info.durability = source, durability or info.durability
            self.store.transition(info, Role.ASYNC_REPLICA, State.REPLICATING)
            try:
                db, reverted = self.store.revert_to(db, shared, source.uri())
            except HistoryGap as e:
                info.source = before[3]
                self.store.transition(info, before[0], before[1], before[2])
                await link.stop()
                raise HistoryMismatch(f"Cannot revert '{name}' to LSN {shared}: {e}; replicate into a new database "
                                      "instead") from None
            db.info.epochs = prefix(hello["epochs"], shared)
            self.store.save(db.info)
        finally:
            self.host.release_writes(db, holder)
        self.host.content_replaced(db)
        link.progress.phase = "catching up"
        link.progress.records_total = max(hello["last"] - shared, 0)
        self.links[name] = link
        link.start(target_lsn=hello["last"], fail_fast=True)
        try:
            await link.caught_up
        except ReplicationError as e:
            await self._unlink(name)
            if db.info.following:  # a replica now: keep trying in the background (not after an error)
                self._link(name).start()
            message = (f"REPLICATE DATABASE {name} WITH FORCE DIFFERENTIAL reverted to LSN {shared} but could not "
                       f"catch up yet: {e}; it keeps retrying (see SHOW REPLICATION STATUS)")
            if isinstance(e, LinkError):
                raise LinkError(e.remote_code, message) from None
            raise type(e)(message) from None
        return len(reverted), shared

    # -- PAUSE / CONTINUE / STOP REPLICATING -------------------------------------------------------
    def _database(self, name: str) -> Database:
        db = self.store.get(name)
        if db is None:
            raise UnknownDatabase(f"Unknown database '{name}'")
        return db

    def _not_a_replica(self, db: Database, action: str) -> WrongState:
        return WrongState(f"Database '{db.info.name}' is not a replica (it is a {db.info.role} in state "
                          f"'{db.info.state}'); {action} applies only to a database created by REPLICATE DATABASE")

    async def pause(self, name: str) -> None:
        db = self._database(name)
        if not db.info.is_replica:
            raise self._not_a_replica(db, "PAUSE REPLICATING")
        if db.info.state is State.PROVISIONING:
            raise NotReady(f"Database '{name}' is still provisioning; wait for REPLICATE DATABASE to finish")
        await self._unlink(name)
        self.store.transition(db.info, Role.ASYNC_REPLICA, State.PAUSED)

    async def resume(self, name: str) -> None:
        db = self._database(name)
        if not db.info.is_replica:
            raise WrongState(f"Database '{name}' is not a replica (it is a {db.info.role} in state "
                             f"'{db.info.state}'): it cannot resume replicating. A database promoted by STOP "
                             "REPLICATING never follows its old primary again; to make it a replica use "
                             f"REPLICATE DATABASE {name} WITH FORCE DIFFERENTIAL FROM ...")
        if db.info.state is State.REPLICATING:
            return
        if db.info.state not in (State.PAUSED, State.ERROR):
            raise WrongState(f"Database '{name}' is {db.info.state} and cannot resume replicating")
        await self._unlink(name)  # the stopped link of a replica in state error
        self.store.transition(db.info, Role.ASYNC_REPLICA, State.REPLICATING)
        self._link(name).start()

    async def promote(self, name: str) -> None:
        """STOP REPLICATING: the replica becomes a master in a new epoch (irreversibly)."""
        db = self._database(name)
        if not db.info.is_replica:
            raise self._not_a_replica(db, "STOP REPLICATING")
        if db.info.state is State.PROVISIONING:
            raise NotReady(f"Database '{name}' is still provisioning and has no consistent content to "
                           "promote; wait for REPLICATE DATABASE to finish, or DROP DATABASE it")
        await self._unlink(name)
        info = db.info
        info.epochs.append(next_epoch(info.epochs, db.applied_lsn + 1))
        if info.source is not None:
            info.source = info.source.without_password()
        self.store.transition(info, Role.MASTER, State.ONLINE)
        self.host.promoted(db)

    # -- the source side ---------------------------------------------------------------------------
    def requested_database(self, request: SourceRequest) -> str:
        """The database a replica's request reads (its sender needs REPLICATION on it)."""
        return self.source.snapshot_db(request.snapshot) if isinstance(request, Chunk) else request.db

    async def serve(self, request: SourceRequest) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Answer a replica's request: (columns, rows) of its result set."""
        if isinstance(request, Hello):
            return (["id", "state", "role", "epochs", "first_lsn", "last_lsn", "now"],
                    [tuple(self.source.hello(request.db))])
        if isinstance(request, Snapshot):
            return ["snapshot", "lsn", "bytes"], [tuple(await self.source.snapshot(request.db))]
        if isinstance(request, Chunk):
            return ["data"], [(self.source.chunk(request.snapshot, request.offset),)]
        records, db = await self.source.fetch(request.db, request.db_id, request.after, request.epoch,
                                              request.wait_ms, request.limit, request.hardened, request.replica)
        tail = (db.applied_lsn, db.info.epoch, db.info.state)
        rows: list[tuple[Any, ...]] = [(lsn, data, *tail) for lsn, data in records] or [(None, None, *tail)]
        return ["lsn", "data", "source_lsn", "source_epoch", "source_state"], rows

    # -- status ------------------------------------------------------------------------------------
    def replica_count(self, name: str) -> int:
        """How many replicas pull ``name`` from this node now (SHOW DATABASES EXTENDED's AsyncSlaves)."""
        return sum(1 for (db, _), seen in self.source.replicas.items() if db == name and seen.connected)

    def details(self, name: str) -> str:
        """The Details column of SHOW DATABASES EXTENDED: a link's progress, connection and last error."""
        link = self.links.get(name)
        if link is None:
            return ""
        p = link.progress
        parts = [p.phase]
        if p.phase == "snapshot":
            parts.append(f"{p.bytes_copied / 1e6:.1f} of {p.bytes_total / 1e6:.1f} MB copied" if p.bytes_total
                         else "the source is taking it")
        elif p.phase == "catching up":
            parts.append(f"{p.records_copied} of {p.records_total} records applied")
        if not p.connected and p.phase != "connecting":
            parts.append("source disconnected")
        if p.last_error:
            parts.append(p.last_error)
        if p.reprovisioned:
            parts.append(p.reprovisioned)
        return "; ".join(parts)

    def status(self) -> list[LinkStatus]:
        """Every link this node takes part in, on either side."""
        return [*self._source_side(), *self._replica_side()]

    def _source_side(self) -> Iterator[LinkStatus]:
        for (name, replica_uri), seen in sorted(self.source.replicas.items()):
            db = self.store.get(name)
            if db is None or db.info.is_replica:
                continue
            lag = max(db.applied_lsn - seen.applied_lsn, 0)
            yield LinkStatus(
                side=Role.MASTER, database=name, database_id=db.info.id, primary_uri=f"{self.host.address}/{name}",
                replica_uri=replica_uri, master_state=db.info.state, master_lsn=db.applied_lsn,
                master_epoch=db.info.epoch, replica_state=State.REPLICATING if seen.connected else "disconnected",
                replica_lsn=seen.applied_lsn, replica_hardened=seen.hardened_lsn, replica_epoch=seen.epoch,
                replica_commits=seen.applied_lsn, connected=seen.connected, lsn_lag=lag,
                lag_seconds=0.0 if lag == 0 else round(time.time() - seen.last_seen, 3),
                last_contact_s=0.0 if seen.active else round(time.time() - seen.last_seen, 3))

    def _replica_side(self) -> Iterator[LinkStatus]:
        """Every running link, and the replicas whose link stopped on an error (with what was last
        known of their source): a broken link must show, not vanish."""
        for name in self.store.names():
            db = self.store.get(name)
            link = self.links.get(name)
            if db is None or db.info.source is None or (link is None and db.info.state is not State.ERROR):
                continue
            if link is not None:
                p = link.progress
            else:
                p = Progress.remembered(db.info)
                p.hardened_lsn = db.applied_lsn  # what a stopped link applied is on disk
            contact = p.last_contact_s
            lag = max(p.source_lsn - db.applied_lsn, 0)
            volume = lag * p.record_bytes / (1 << 20)
            mbps = p.throughput / (1 << 20)
            yield LinkStatus(
                side=Role.ASYNC_REPLICA, database=name, database_id=db.info.id, primary_uri=db.info.source.uri(),
                replica_uri=f"{self.host.address}/{name}", master_state=p.source_state or "unknown",
                master_lsn=p.source_lsn, master_epoch=p.source_epoch or db.info.epoch, replica_state=db.info.state,
                replica_lsn=db.applied_lsn, replica_hardened=p.hardened_lsn, replica_epoch=db.info.epoch,
                replica_commits=p.applied_commits, connected=p.connected, lsn_lag=lag,
                lag_seconds=round(_lag_seconds(lag, p), 3), volume_lag_mb=round(volume, 6),
                last_contact_s=None if contact is None else round(contact, 3),
                throughput_mbps=round(mbps, 3), catchup_s=round(volume / mbps, 3) if mbps > 0 and lag else 0.0)

    def reverted(self) -> list[Reverted]:
        """Every transaction a differential REPLICATE reverted on this node, kept for inspection."""
        return [Reverted(name, at, source, rec) for at, source, name, rec in self.store.reverted()]


def _lag_seconds(lag: int, p: Progress) -> float:
    """Seconds behind the source: since the copy was last caught up while records wait, else the
    commit-to-apply delay of the last batch (for a second; an idle link is 0)."""
    if lag:
        return time.time() - p.caught_up_at
    delay, at = p.apply_delay
    return max(delay, 0.0) if time.time() - at < 1.0 else 0.0
