"""DR statements on a node: REPLICATE DATABASE, PAUSE / CONTINUE / STOP REPLICATING, the source side
of links, SHOW REPLICATION STATUS and the replication information_schema views.

This module holds the node's links (one per replica database) and its ``Source``; the
replication package does the protocol and the storage work.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from replication.link import Link, LinkError
from replication.source import Source, SourceError
from server.errors import relayed_code
from server.node import Node, check_db_name
from server.session import Outcome, Session, Warning_
from sqlfront import dr
from sqlfront import replproto as rp
from sqlfront import statements as st
from sqlfront.errors import SqlError
from storage.catalog import ZERO, Position, Role, SourceRef, State
from storage.database import Database
from storage.history import entry_at, next_epoch, prefix, related, shared_point
from storage.store import HistoryGap


class Replication:
    """The node's replication state: its links, its source side, and their status rows."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.source = Source(node.store)
        self.links: dict[str, Link] = {}

    # -- lifecycle (a node service) ----------------------------------------------------------------
    async def start(self) -> None:
        """Resume every link that was replicating (or provisioning) when the node stopped."""
        for name in self.node.store.names():
            db = self.node.store.get(name)
            if db is not None and db.info.following:
                self._link(name).start()

    async def stop(self) -> None:
        for link in list(self.links.values()):
            await link.stop()
        self.links.clear()

    def _link(self, name: str, source: SourceRef | None = None) -> Link:
        if source is None:
            db = self.node.store.get(name)
            assert db is not None and db.info.source is not None
            source = db.info.source
        link = Link(self.node.store, name, source, self.node.address, self._resolve, self._reset)
        self.links[name] = link
        return link

    async def _unlink(self, name: str) -> None:
        link = self.links.pop(name, None)
        if link is not None:
            await link.stop()

    def _resolve(self, host: str) -> str:
        return self.node.host_map.get(host, host)

    def _reset(self, db: Database) -> None:
        """A database's content was replaced (snapshot installed): drop what was cached of it."""
        self.node.invalidate_plans()
        self.node.detach_everywhere(db.info.name)

    async def dropping(self, name: str) -> None:
        await self._unlink(name)
        self.source.forget(name)

    # -- client statements -------------------------------------------------------------------------
    async def replicate(self, session: Session, cmd: dr.Replicate) -> Outcome:
        node = self.node
        await session.implicit_commit()
        node.accounts.check(session.user, session.host, "CREATE", cmd.db)
        await node.pass_write_gates(session, cmd.db)
        source = cmd.source.for_database(cmd.db)
        if cmd.differential:
            return await self._differential(session, cmd, source)
        if cmd.db.lower() == "information_schema" or node.store.get(cmd.db) is not None:
            raise SqlError(1007, f"Can't create database '{cmd.db}'; database exists")
        check_db_name(cmd.db)
        db = node.store.create(cmd.db, state=State.PROVISIONING, role=Role.ASYNC_REPLICA, source=source,
                               durability=cmd.durability or "sync")
        link = self._link(db.info.name)
        link.start(fail_fast=True)
        try:
            await link.caught_up
        except BaseException as e:
            await self._unlink(cmd.db)
            stopped = isinstance(e, LinkError) and e.code == 1317  # DROP DATABASE or shutdown: theirs to finish
            if not stopped and node.store.get(cmd.db) is not None:
                node.store.drop(cmd.db)
                node.invalidate_plans()
            if isinstance(e, LinkError):
                raise SqlError(relayed_code(e.code), f"REPLICATE DATABASE {cmd.db} failed: {e}") from None
            raise
        return Outcome(affected=1)

    async def _differential(self, session: Session, cmd: dr.Replicate, source: SourceRef) -> Outcome:
        """WITH FORCE DIFFERENTIAL: find the last (epoch, LSN) both sides share, revert what the local
        side committed after it (kept in DRLAB_REVERTED_TRANSACTIONS), and stream only the rest."""
        node = self.node
        db = node.store.get(cmd.db)
        if db is None:
            raise SqlError(1049, f"Unknown database '{cmd.db}': REPLICATE ... WITH FORCE DIFFERENTIAL needs the local "
                           "database to exist; without WITH FORCE DIFFERENTIAL, REPLICATE DATABASE creates it")
        if db.info.following:
            assert db.info.source is not None
            raise SqlError(1210, f"Database '{cmd.db}' is already replicating from {db.info.source.uri()}; "
                           "PAUSE REPLICATING or STOP REPLICATING it first")
        if db.info.state not in (State.ONLINE, State.PAUSED, State.ERROR):
            raise SqlError(1210, f"Database '{cmd.db}' is {db.info.state} and cannot replicate differentially")
        link = self._link(cmd.db, source)
        self.links.pop(cmd.db)  # registered below, once the local side has become a replica
        try:
            hello = await link.hello()
        except LinkError as e:
            await link.stop()
            raise SqlError(relayed_code(e.code), f"REPLICATE DATABASE {cmd.db} failed: {e}") from None
        mine = db.info.epochs
        if hello["role"] != Role.MASTER or hello["state"] != State.ONLINE:
            await link.stop()
            raise SqlError(1210, f"The source {source.uri()} is not a primary (role {hello['role']}, state "
                           f"'{hello['state']}'); replicate differentially from the database's current primary")
        if not related(mine, hello["epochs"]):
            await link.stop()
            raise SqlError(1236, f"Database '{cmd.db}' shares no history with {source.uri()}: they were created "
                           "separately. A differential REPLICATE only works between copies of one database; "
                           f"replicate into a new database instead (REPLICATE DATABASE <new_name> FROM ...)")
        shared = shared_point(mine, db.applied_lsn, hello["epochs"], hello["last"])
        if shared + 1 < hello["first"] and hello["last"] > shared:
            await link.stop()
            raise SqlError(1236, f"The histories of '{cmd.db}' and {source.uri()} split at LSN {shared} (epoch "
                           f"{entry_at(mine, shared)[0]}), but the source keeps its log only from LSN {hello['first']}; "
                           "replicate into a new database instead")
        source = source.with_id(hello["id"])
        link.source = source
        await node.acquire_writer(db, session)  # no client write may slip in while the roles change
        try:
            info = db.info
            before = (info.role, info.state, info.details, info.source)
            info.source, info.durability = source, cmd.durability or info.durability
            node.store.transition(info, Role.ASYNC_REPLICA, State.REPLICATING)
            try:
                db, reverted = node.store.revert_to(db, shared, source.uri())
            except HistoryGap as e:
                info.source = before[3]
                node.store.transition(info, before[0], before[1], before[2])
                await link.stop()
                raise SqlError(1236, f"Cannot revert '{cmd.db}' to LSN {shared}: {e}; replicate into a new database "
                               "instead") from None
            db.info.epochs = prefix(hello["epochs"], shared)
            node.store.save(db.info)
        finally:
            node.release_writer(db, session)
        self._reset(db)
        if reverted:
            session.warnings.append(Warning_(
                "Warning", 1105,
                f"{len(reverted)} transaction(s) committed on '{cmd.db}' after LSN {shared}, where its history split "
                f"from {source.uri()}, were reverted; their rows are in information_schema.DRLAB_REVERTED_TRANSACTIONS"))
        link.progress.phase = "catching up"
        link.progress.records_total = max(hello["last"] - shared, 0)
        self.links[cmd.db] = link
        link.start(target_lsn=hello["last"], fail_fast=True)
        try:
            await link.caught_up
        except LinkError as e:
            await self._unlink(cmd.db)
            self._link(cmd.db).start()  # the database is a replica now: keep trying in the background
            raise SqlError(relayed_code(e.code), f"REPLICATE DATABASE {cmd.db} WITH FORCE DIFFERENTIAL "
                           f"reverted to LSN {shared} but could not catch up yet: {e}; it keeps retrying "
                           "(see SHOW REPLICATION STATUS)") from None
        return Outcome(affected=1)

    def reverted_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        """DRLAB_REVERTED_TRANSACTIONS, as much of it as the session may read: a row change needs
        SELECT on its table, a DDL row SELECT on its database (or globally): the rows are the
        tables' data, so the view shows what SELECT on the tables would."""
        def may_read(db: str, table: str | None) -> bool:
            return node.accounts.has_privilege(session.user, session.host, "SELECT", db, table)

        rows: list[tuple[Any, ...]] = []
        for at, source, name, rec in node.store.reverted():
            ddl = [op[1] for op in rec.ops if op[0] == "sql"]
            if ddl and may_read(name, None):  # one row for the statements a DDL (or a pipeline's bookkeeping) ran
                rows.append((name, rec.lsn, rec.epoch, _time(rec.ts), _time(at), source, None, "DDL", None,
                             ";\n".join(ddl)))
            for op in rec.ops:
                if op[0] == "sql" or not may_read(name, op[1]):
                    continue
                kind = {"i": "INSERT", "d": "DELETE", "u": "UPDATE"}[op[0]]
                cols = rec.cols[op[1]]
                before = op[4] if kind == "UPDATE" else op[3] if kind == "DELETE" else None
                after = op[5] if kind == "UPDATE" else op[3] if kind == "INSERT" else None
                rows.append((name, rec.lsn, rec.epoch, _time(rec.ts), _time(at), source, op[1], kind,
                             _row_json(cols, before), _row_json(cols, after)))
        return rows

    def _replica(self, name: str) -> Database:
        db = self.node.store.get(name)
        if db is None:
            raise SqlError(1049, f"Unknown database '{name}'")
        return db

    def _not_a_replica(self, db: Database, action: str) -> SqlError:
        return SqlError(1210, f"Database '{db.info.name}' is not a replica (it is a {db.info.role} in "
                        f"state '{db.info.state}'); {action} applies only to a database created by REPLICATE DATABASE")

    async def pause(self, session: Session, cmd: dr.PauseReplicating) -> Outcome:
        await session.implicit_commit()
        db = self._replica(cmd.db)
        self.node.accounts.check(session.user, session.host, "CREATE", cmd.db)
        if not db.info.is_replica:
            raise self._not_a_replica(db, "PAUSE REPLICATING")
        if db.info.state is State.PROVISIONING:
            raise SqlError(1290, f"Database '{cmd.db}' is still provisioning; wait for REPLICATE DATABASE to finish")
        await self._unlink(cmd.db)
        self.node.store.transition(db.info, Role.ASYNC_REPLICA, State.PAUSED)
        return Outcome(affected=1)

    async def resume(self, session: Session, cmd: dr.ContinueReplicating) -> Outcome:
        await session.implicit_commit()
        db = self._replica(cmd.db)
        self.node.accounts.check(session.user, session.host, "CREATE", cmd.db)
        if not db.info.is_replica:
            raise SqlError(1210, f"Database '{cmd.db}' is not a replica (it is a {db.info.role} in state "
                           f"'{db.info.state}'): it cannot resume replicating. A database promoted by STOP "
                           "REPLICATING never follows its old primary again; to make it a replica use "
                           f"REPLICATE DATABASE {cmd.db} WITH FORCE DIFFERENTIAL FROM ...")
        if db.info.state is State.REPLICATING:
            return Outcome(affected=1)
        if db.info.state not in (State.PAUSED, State.ERROR):
            raise SqlError(1210, f"Database '{cmd.db}' is {db.info.state} and cannot resume replicating")
        self.node.store.transition(db.info, Role.ASYNC_REPLICA, State.REPLICATING)
        self._link(cmd.db).start()
        return Outcome(affected=1)

    async def promote(self, session: Session, cmd: dr.StopReplicating) -> Outcome:
        await session.implicit_commit()
        db = self._replica(cmd.db)
        self.node.accounts.check(session.user, session.host, "CREATE", cmd.db)
        if not db.info.is_replica:
            raise self._not_a_replica(db, "STOP REPLICATING")
        if db.info.state is State.PROVISIONING:
            raise SqlError(1290, f"Database '{cmd.db}' is still provisioning and has no consistent content to "
                           "promote; wait for REPLICATE DATABASE to finish, or DROP DATABASE it")
        await self._unlink(cmd.db)
        info = db.info
        info.epochs.append(next_epoch(info.epochs, db.applied_lsn + 1))
        if info.source is not None:
            info.source = info.source.without_password()
        self.node.store.transition(info, Role.MASTER, State.ONLINE)
        self.node.features.promoted(db)
        return Outcome(affected=1)

    # -- the source side ---------------------------------------------------------------------------
    async def serve(self, session: Session, cmd: Any) -> Outcome:
        name = cmd.db if not isinstance(cmd, rp.Chunk) else self.source.snapshot_db(cmd.snapshot)
        self.node.accounts.check(session.user, session.host, "REPLICATION", name)
        try:
            if isinstance(cmd, rp.Hello):
                return Outcome(columns=["id", "state", "role", "epochs", "first_lsn", "last_lsn", "now"],
                               rows=[self.source.hello(cmd.db)])
            if isinstance(cmd, rp.Snapshot):
                return Outcome(columns=["snapshot", "lsn", "bytes"], rows=[await self.source.snapshot(cmd.db)])
            if isinstance(cmd, rp.Chunk):
                return Outcome(columns=["data"], rows=[(self.source.chunk(cmd.snapshot, cmd.offset),)])
            records, db = await self.source.fetch(cmd.db, cmd.db_id, cmd.after, cmd.epoch, cmd.wait_ms, cmd.limit,
                                                  cmd.hardened, cmd.replica)
            tail = (db.applied_lsn, db.info.epoch, db.info.state)
            rows: list[tuple[Any, ...]] = [(lsn, data, *tail) for lsn, data in records] or [(None, None, *tail)]
            return Outcome(columns=["lsn", "data", "source_lsn", "source_epoch", "source_state"], rows=rows)
        except SourceError as e:
            raise SqlError(e.code, str(e)) from None

    # -- status ------------------------------------------------------------------------------------
    def replica_count(self, name: str) -> int:
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

    def status_rows(self) -> list[dict[str, Any]]:
        """One dict per link this node takes part in, on either side (the views are built from it)."""
        out = []
        store = self.node.store
        for (name, replica_uri), seen in sorted(self.source.replicas.items()):
            db = store.get(name)
            if db is None or db.info.is_replica:
                continue
            lag = max(db.applied_lsn - seen.applied_lsn, 0)
            out.append({
                "role": Role.MASTER, "database": name, "database_id": db.info.id, "is_master": 1,
                "primary_uri": f"{self.node.address}/{name}", "master_uri": None, "master_state": db.info.state,
                "master_lsn": db.applied_lsn, "master_epoch": db.info.epoch, "master_commits": db.applied_lsn,
                "connected": seen.connected, "replica_uri": replica_uri,
                "replica_state": "replicating" if seen.connected else "disconnected",
                "replica_lsn": seen.applied_lsn, "replica_hardened": seen.hardened_lsn, "replica_epoch": seen.epoch,
                "replica_commits": seen.applied_lsn, "lsn_lag": lag, "volume_lag_mb": 0.0, "throughput_mbps": 0.0,
                "catchup_s": 0.0, "lag_seconds": 0.0 if lag == 0 else round(time.time() - seen.last_seen, 3),
            })
        for name, link in sorted(self.links.items()):
            db = store.get(name)
            if db is None:
                continue
            p = link.progress
            src = db.info.source
            assert src is not None
            lag = max(p.source_lsn - db.applied_lsn, 0)
            volume = lag * p.record_bytes / (1 << 20)
            mbps = p.throughput / (1 << 20)
            out.append({
                "role": Role.ASYNC_REPLICA, "database": name, "database_id": db.info.id, "is_master": 0,
                "primary_uri": src.uri(), "master_uri": src.uri(), "master_state": p.source_state or "unknown",
                "master_lsn": p.source_lsn, "master_epoch": p.source_epoch or db.info.epoch,
                "master_commits": p.source_lsn, "connected": p.connected,
                "replica_uri": f"{self.node.address}/{name}", "replica_state": db.info.state,
                "replica_lsn": db.applied_lsn, "replica_hardened": p.hardened_lsn, "replica_epoch": db.info.epoch,
                "replica_commits": p.applied_commits, "lsn_lag": lag, "volume_lag_mb": round(volume, 6),
                "throughput_mbps": round(mbps, 3), "catchup_s": round(volume / mbps, 3) if mbps > 0 and lag else 0.0,
                "lag_seconds": round(_lag_seconds(lag, p), 3),
                "phase": p.phase, "last_error": p.last_error, "bytes_copied": p.bytes_copied,
                "bytes_total": p.bytes_total, "records_copied": p.records_copied, "records_total": p.records_total,
            })
        return out

    def show_status(self, session: Session, cmd: st.Show) -> Outcome:
        cols = ["Role", "Database", "Master_URI", "Master_State", "Master_CommitLSN", "Master_HardenedLSN",
                "Master_ReplayLSN", "Master_TailLSN", "Master_Commits", "Connected", "Replica_URI", "Replica_State",
                "Replica_CommitLSN", "Replica_HardenedLSN", "Replica_ReplayLSN", "Replica_TailLSN", "Replica_Commits"]
        rows = []
        for r in self._visible_rows(session):
            m = str(Position(r["master_epoch"], r["master_lsn"]))
            rl = str(Position(r["replica_epoch"], r["replica_lsn"]))
            rows.append((r["role"], r["database"], r["master_uri"], r["master_state"], m, m, str(ZERO), m,
                         r["master_commits"], "yes" if r["connected"] else "no", r["replica_uri"], r["replica_state"],
                         rl, str(Position(r["replica_epoch"], r["replica_hardened"])), rl, rl, r["replica_commits"]))
        return Outcome(columns=cols, rows=rows)

    def lmv_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        return [(1, 0, r["is_master"], r["database"], r["database_id"], r["primary_uri"], r["replica_uri"],
                 r["master_state"], r["replica_state"], r["lsn_lag"], r["volume_lag_mb"], r["throughput_mbps"],
                 r["catchup_s"], r["lag_seconds"]) for r in self._visible_rows(session)]

    def _visible_rows(self, session: Session) -> list[dict[str, Any]]:
        """The status rows of the databases this session may see (as SHOW DATABASES lists them)."""
        accounts = self.node.accounts
        return [r for r in self.status_rows() if accounts.databases_visible(session.user, session.host, r["database"])]

    def mv_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        return [(r[0], r[1], r[3], *r[5:]) for r in self.lmv_rows(node, session)]


LMV_COLUMNS = ["is_dr", "is_sync", "is_master", "database_name", "database_id", "primary_uri", "secondary_uri",
               "primary_state", "secondary_state", "lsn_lag", "volume_lag_mb", "replication_throughput_mbps",
               "estimated_catcup_time_s", "lag_seconds"]
REVERTED_COLUMNS = ["DATABASE_NAME", "LSN", "EPOCH", "COMMITTED_AT", "REVERTED_AT", "SOURCE_URI", "TABLE_NAME",
                    "OPERATION", "ROW_BEFORE", "ROW_AFTER"]
MV_COLUMNS = [c for c in LMV_COLUMNS if c not in ("is_master", "database_id")]


def _lag_seconds(lag: int, p: Any) -> float:
    """Seconds behind the source: since the copy was last caught up while records wait, else the
    commit-to-apply delay of the last batch (for a second; an idle link is 0)."""
    if lag:
        return time.time() - p.caught_up_at
    delay, at = p.apply_delay
    return max(delay, 0.0) if time.time() - at < 1.0 else 0.0


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts).isoformat(" ", "microseconds")


def _row_json(cols: list[str], values: list[Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps(dict(zip(cols, values, strict=True)), default=lambda v: v.hex() if isinstance(v, bytes) else str(v))


def install(node: Node) -> Replication:
    repl = Replication(node)
    f = node.features
    f.add_parser(dr.parse_dr)
    f.add_parser(rp.parse_replication)
    f.add_command(dr.Replicate, repl.replicate)
    f.add_command(dr.PauseReplicating, repl.pause)
    f.add_command(dr.ContinueReplicating, repl.resume)
    f.add_command(dr.StopReplicating, repl.promote)
    for cmd in (rp.Hello, rp.Snapshot, rp.Chunk, rp.Fetch):
        f.add_command(cmd, repl.serve)
    f.on_commit(repl.source.committed)
    f.on_drop(repl.dropping)
    f.add_show("replication_status", repl.show_status)
    f.add_view("LMV_REPLICATION_STATUS", LMV_COLUMNS, repl.lmv_rows)
    f.add_view("MV_REPLICATION_STATUS", MV_COLUMNS, repl.mv_rows)
    f.add_view("DRLAB_REVERTED_TRANSACTIONS", REVERTED_COLUMNS, repl.reverted_rows)
    f.set_replication(repl)
    f.add_service(repl)
    return repl


__all__ = ["Replication", "install"]
