"""The node's edge of replication: the DR statements and the replicas' requests as sessions run
them (implicit commit, privileges, results, warnings) and the replication views. The work itself
is ``replication.manager``; ``NodeHost`` is how it reaches this node; its refusals become MySQL
errors in server/errors.py's table, at the wire edge.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from replication.errors import UnknownDatabase
from replication.manager import LinkStatus, Manager, SourceRequest
from replication.protocol import Chunk, Fetch, Hello, Snapshot, parse_replication
from server.node import Node, check_db_name
from server.session import Outcome, Session, Warning_
from sqlfront import dr
from sqlfront import statements as st
from sqlfront.errors import ER_UNKNOWN_ERROR
from storage.catalog import ZERO, Position, Role
from storage.database import Database


class NodeHost:
    """The ``replication.manager.Host`` a node offers its manager."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def address(self) -> str:
        return self.node.address

    def resolve(self, host: str) -> str:
        return self.node.host_map.get(host, host)

    def content_replaced(self, db: Database) -> None:
        self.node.invalidate_plans()
        self.node.detach_everywhere(db.info.name)

    async def hold_writes(self, db: Database, holder: object) -> None:
        assert isinstance(holder, Session)
        await self.node.acquire_writer(db, holder)

    def release_writes(self, db: Database, holder: object) -> None:
        assert isinstance(holder, Session)
        self.node.release_writer(db, holder)

    def promoted(self, db: Database) -> None:
        self.node.features.promoted(db)


class DrStatements:
    """REPLICATE / PAUSE / CONTINUE / STOP REPLICATING and the replicas' requests, for sessions."""

    def __init__(self, node: Node, manager: Manager) -> None:
        self.node = node
        self.manager = manager

    async def replicate(self, session: Session, cmd: dr.Replicate) -> Outcome:
        await session.implicit_commit()
        self.node.accounts.check(session.user, session.host, "CREATE", cmd.db)
        await self.node.pass_write_gates(session, cmd.db)
        if not cmd.differential:
            check_db_name(cmd.db)
            await self.manager.replicate(cmd.db, cmd.source, cmd.durability)
            return Outcome(affected=1)
        reverted, shared = await self.manager.replicate_differential(cmd.db, cmd.source, cmd.durability, session)
        if reverted:
            session.warnings.append(Warning_(
                "Warning", ER_UNKNOWN_ERROR,
                f"{reverted} transaction(s) committed on '{cmd.db}' after LSN {shared}, where its history split "
                f"from {cmd.source.uri(cmd.db)}, were reverted; their rows are in "
                "information_schema.DRLAB_REVERTED_TRANSACTIONS"))
        return Outcome(affected=1)

    async def pause(self, session: Session, cmd: dr.PauseReplicating) -> Outcome:
        return await self._change(session, cmd.db, self.manager.pause)

    async def resume(self, session: Session, cmd: dr.ContinueReplicating) -> Outcome:
        return await self._change(session, cmd.db, self.manager.resume)

    async def promote(self, session: Session, cmd: dr.StopReplicating) -> Outcome:
        return await self._change(session, cmd.db, self.manager.promote)

    async def _change(self, session: Session, name: str, action: Any) -> Outcome:
        await session.implicit_commit()
        if self.node.store.get(name) is None:
            raise UnknownDatabase(f"Unknown database '{name}'")
        self.node.accounts.check(session.user, session.host, "CREATE", name)
        await action(name)
        return Outcome(affected=1)

    async def serve(self, session: Session, request: SourceRequest) -> Outcome:
        """A replica's request to this node as its source (it needs REPLICATION on the database)."""
        name = self.manager.requested_database(request)
        self.node.accounts.check(session.user, session.host, "REPLICATION", name)
        columns, rows = await self.manager.serve(request)
        return Outcome(columns=columns, rows=rows)

    # -- views -------------------------------------------------------------------------------------
    def _visible(self, session: Session) -> list[LinkStatus]:
        """The links of the databases this session may see (as SHOW DATABASES lists them)."""
        accounts = self.node.accounts
        return [r for r in self.manager.status() if accounts.databases_visible(session.user, session.host, r.database)]

    def show_status(self, session: Session, cmd: st.Show) -> Outcome:
        rows = []
        for r in self._visible(session):
            m = str(Position(r.master_epoch, r.master_lsn))
            rl = str(Position(r.replica_epoch, r.replica_lsn))
            master_uri = None if r.side is Role.MASTER else r.primary_uri
            rows.append((r.side, r.database, master_uri, r.master_state, m, m, str(ZERO), m, r.master_lsn,
                         "yes" if r.connected else "no", r.replica_uri, r.replica_state, rl,
                         str(Position(r.replica_epoch, r.replica_hardened)), rl, rl, r.replica_commits,
                         r.last_contact_s))
        return Outcome(columns=STATUS_COLUMNS, rows=rows)

    def lmv_rows(self, node: Node, session: Session) -> list[Sequence[Any]]:
        return [_lmv(r) for r in self._visible(session)]

    def mv_rows(self, node: Node, session: Session) -> list[Sequence[Any]]:
        return [(r[0], r[1], r[3], *r[5:]) for r in self.lmv_rows(node, session)]

    def reverted_rows(self, node: Node, session: Session) -> list[Sequence[Any]]:
        """DRLAB_REVERTED_TRANSACTIONS, as much of it as the session may read: a row change needs
        SELECT on its table, a DDL row SELECT on its database (or globally): the rows are the
        tables' data, so the view shows what SELECT on the tables would."""
        def may_read(db: str, table: str | None) -> bool:
            return node.accounts.has_privilege(session.user, session.host, "SELECT", db, table)

        rows: list[Sequence[Any]] = []
        for item in self.manager.reverted():
            rec, name, at, source = item.record, item.database, item.reverted_at, item.source_uri
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


STATUS_COLUMNS = ["Role", "Database", "Master_URI", "Master_State", "Master_CommitLSN", "Master_HardenedLSN",
                  "Master_ReplayLSN", "Master_TailLSN", "Master_Commits", "Connected", "Replica_URI", "Replica_State",
                  "Replica_CommitLSN", "Replica_HardenedLSN", "Replica_ReplayLSN", "Replica_TailLSN", "Replica_Commits",
                  "Last_Contact_Seconds"]  # drlab's own: how old the other side's position is
LMV_COLUMNS = ["is_dr", "is_sync", "is_master", "database_name", "database_id", "primary_uri", "secondary_uri",
               "primary_state", "secondary_state", "lsn_lag", "volume_lag_mb", "replication_throughput_mbps",
               "estimated_catcup_time_s", "lag_seconds", "connected", "last_contact_s"]  # the last three: drlab's
REVERTED_COLUMNS = ["DATABASE_NAME", "LSN", "EPOCH", "COMMITTED_AT", "REVERTED_AT", "SOURCE_URI", "TABLE_NAME",
                    "OPERATION", "ROW_BEFORE", "ROW_AFTER"]
MV_COLUMNS = [c for c in LMV_COLUMNS if c not in ("is_master", "database_id")]


def _lmv(r: LinkStatus) -> tuple[Any, ...]:
    return (1, 0, int(r.side is Role.MASTER), r.database, r.database_id, r.primary_uri, r.replica_uri,
            r.master_state, r.replica_state, r.lsn_lag, r.volume_lag_mb, r.throughput_mbps, r.catchup_s, r.lag_seconds,
            int(r.connected), r.last_contact_s)


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts).isoformat(" ", "microseconds")


def _row_json(cols: list[str], values: list[Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps(dict(zip(cols, values, strict=True)), default=lambda v: v.hex() if isinstance(v, bytes) else str(v))


def install(node: Node) -> Manager:
    """Build the node's replication manager and register its statements, views and service."""
    manager = Manager(node.store, NodeHost(node))
    statements = DrStatements(node, manager)
    f = node.features
    f.add_parser(parse_replication, first_words=("DRLAB",))  # its MalformedStatement is a 1064 (server/errors.py)
    f.add_command(dr.Replicate, statements.replicate)
    f.add_command(dr.PauseReplicating, statements.pause)
    f.add_command(dr.ContinueReplicating, statements.resume)
    f.add_command(dr.StopReplicating, statements.promote)
    for request in (Hello, Snapshot, Chunk, Fetch):
        f.add_command(request, statements.serve)
    f.on_commit(manager.committed)
    f.on_drop(manager.dropping)
    f.add_show("replication_status", statements.show_status)
    f.add_view("LMV_REPLICATION_STATUS", LMV_COLUMNS, statements.lmv_rows)
    f.add_view("MV_REPLICATION_STATUS", MV_COLUMNS, statements.mv_rows)
    f.add_view("DRLAB_REVERTED_TRANSACTIONS", REVERTED_COLUMNS, statements.reverted_rows)
    f.set_replication(manager)
    f.add_service(manager)
    return manager
