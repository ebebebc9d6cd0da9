"""CockroachDB's virtual clusters on a drlab node (docs/pcr.md): ``system`` always, plus those made
with CREATE VIRTUAL CLUSTER; each user database belongs to exactly one of them; a session works in
one, chosen at login by a database name ``cluster:<name>/<db>`` (CockroachDB's ``-ccluster=`` cannot
travel over the MySQL protocol) or else by the cluster setting
``server.controller.default_target_cluster``. A node that never creates one behaves as before.

The catalog (clusters, which database belongs to which, cluster settings) is one JSON document in
the store's metadata, written durably before a statement is acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import sqlite3
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql
from mysql_mimic.constants import KillKind

from replication.errors import HistoryMismatch
from replication.manager import Manager
from server.errors import relayed_code
from server.node import Node
from server.session import Outcome, Session, Warning_
from sqlfront.errors import (
    ER_BAD_DB,
    ER_DB_CREATE_EXISTS,
    ER_OPTION_PREVENTS_STATEMENT,
    ER_PARSE,
    ER_SPECIFIC_ACCESS_DENIED,
    ER_UNKNOWN_ERROR,
    ER_UNKNOWN_SYSTEM_VARIABLE,
    ER_WRONG_ARGUMENTS,
    ER_WRONG_VALUE_FOR_VAR,
    SqlError,
)
from sqlfront.pcr import (
    FIRST_WORDS,
    AlterService,
    CompleteReplication,
    CreateReplicated,
    CreateVirtualCluster,
    PauseResume,
    PcrSource,
    SetClusterSetting,
    ShowClusterSetting,
    ShowJob,
    ShowJobs,
    ShowReplicationStatus,
    ShowVirtualClusters,
    StartReplication,
    duration,
    parse_pcr,
)
from storage.catalog import SourceRef

log = logging.getLogger("drlab.pcr")

SYSTEM = "system"
PREFIX = "cluster:"
_META = "virtual_clusters"
_FIRST_ID = 3  # CockroachDB: 1 is system, 2 the template; the first one created is 3
DEFAULT_TARGET = "server.controller.default_target_cluster"
RANGEFEED = "kv.rangefeed.enabled"
_DEFAULTS = {DEFAULT_TARGET: SYSTEM, RANGEFEED: "false"}
_BOOLS = {"true": "true", "false": "false", "on": "true", "off": "false", "1": "true", "0": "false"}


DEFAULT_RETENTION = 4 * 3600.0  # the seed: "retained time can be up to 4 hours in the past"
POLL = 0.1  # seconds between refreshes of replicated_time (CockroachDB: 30 s)
RANGEFEED_DOCS = "https://www.cockroachlabs.com/docs/stable/create-and-configure-changefeeds.html#enable-rangefeeds"
STREAMING = ("replicating", "replication paused", "replication pending failover")


@dataclass
class VirtualCluster:
    id: int
    name: str
    data_state: str  # ready | initializing replication | replicating | replication paused | ... (facts.md §9)
    service_mode: str  # none | shared
    source: dict[str, Any] | None = None  # a replicated one: user, password, host, port, tenant (its name there)
    databases: list[str] = field(default_factory=list)  # the databases its stream copies
    retention: float = DEFAULT_RETENTION
    started: float = 0.0  # when its stream started (the earliest possible failover point)
    replicated_time: float = 0.0  # the last consistent time seen (frozen once it fails over)
    failover_time: float | None = None
    job_id: int = 0
    error: str = ""


def unknown_cluster(name: str) -> SqlError:
    return SqlError(ER_BAD_DB, f"virtual cluster \"{name}\" does not exist; SHOW VIRTUAL CLUSTERS lists them")


class VirtualClusters:
    """The node's virtual clusters, database ownership and cluster settings."""

    def __init__(self, node: Node, repl: Manager) -> None:
        self.node = node
        self.repl = repl
        self._task: asyncio.Task[None] | None = None
        self._completing: dict[str, asyncio.Task[None]] = {}
        self._managing: set[str] = set()  # databases a PCR statement of the system cluster is replicating or dropping
        raw = node.store.log.meta_get(_META)
        doc: dict[str, Any] = json.loads(raw) if raw else {}
        self.clusters: dict[str, VirtualCluster] = {
            c["name"]: VirtualCluster(**c) for c in doc.get("clusters", [])}
        self.clusters.setdefault(SYSTEM, VirtualCluster(1, SYSTEM, "ready", "shared"))
        self.owner: dict[str, str] = doc.get("owner", {})  # database -> cluster; absent: system
        self.settings: dict[str, str] = {**_DEFAULTS, **doc.get("settings", {})}

    def _save(self) -> None:
        doc = {"clusters": [asdict(c) for c in self.clusters.values()], "owner": self.owner, "settings": self.settings}
        self.node.store.log.meta_put(_META, json.dumps(doc, sort_keys=True).encode())

    # -- the seam the node core reads (server.features.Clusters) ----------------------------------
    def login(self, database: str | None) -> tuple[str, str | None]:
        """(cluster, database) for the database name a client sent at login; refuses an unknown
        cluster or one not in service."""
        if database and database.lower().startswith(PREFIX):
            name, _, db = database[len(PREFIX):].partition("/")
            cluster, database = name, db or None
        else:
            cluster = self.settings[DEFAULT_TARGET]
        vc = self.clusters.get(cluster)
        if vc is None:
            raise unknown_cluster(cluster)
        if vc.service_mode != "shared":
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                           f"virtual cluster \"{cluster}\" is not in service (service_mode none) so it accepts no "
                           f"sessions; run ALTER VIRTUAL CLUSTER {cluster} START SERVICE SHARED from the system "
                           "virtual cluster")
        return cluster, database

    def owns(self, cluster: str, database: str) -> bool:
        return self.owner.get(database, SYSTEM) == cluster

    def created(self, session: Session, database: str) -> None:
        """Database ``database`` was just created by ``session``: it belongs to the session's cluster."""
        if session.cluster != SYSTEM:
            self.owner[database] = session.cluster
            self._save()

    async def dropped(self, database: str) -> None:
        if self.owner.pop(database, None) is not None:
            self._save()

    async def gate(self, session: Session, database: str) -> None:
        """A write to a database of another virtual cluster is a write to a database this session
        cannot see."""
        if (self.node.store.get(database) is not None and not self.owns(session.cluster, database)
                and database not in self._managing):
            raise SqlError(ER_BAD_DB, f"Unknown database '{database}'")

    # -- statements ------------------------------------------------------------------------------
    def _manage(self, session: Session, what: str) -> None:
        if session.cluster != SYSTEM:
            raise SqlError(ER_SPECIFIC_ACCESS_DENIED, f"{what} runs only in the system virtual cluster (this session "
                                                      f"is in \"{session.cluster}\"); connect with database "
                                                      "'cluster:system'")
        if not self.node.accounts.has_privilege(session.user, session.host, "SUPER"):
            raise SqlError(ER_SPECIFIC_ACCESS_DENIED,
                           f"Access denied; you need (at least one of) the SUPER privilege(s) for {what}")

    def _get(self, name: str) -> VirtualCluster:
        vc = self.clusters.get(name)
        if vc is None:
            raise unknown_cluster(name)
        return vc

    async def create(self, session: Session, cmd: CreateVirtualCluster) -> Outcome:
        self._manage(session, "CREATE VIRTUAL CLUSTER")
        if cmd.name in self.clusters:
            if cmd.if_not_exists:
                return Outcome()
            raise SqlError(ER_DB_CREATE_EXISTS, f"virtual cluster \"{cmd.name}\" already exists")
        if cmd.name.lower().endswith("-readonly") or "/" in cmd.name or not cmd.name.strip():
            raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"invalid virtual cluster name \"{cmd.name}\": it may not contain "
                                                   "'/' or end in '-readonly'")
        next_id = max([_FIRST_ID - 1, *(c.id for c in self.clusters.values())]) + 1
        self.clusters[cmd.name] = VirtualCluster(next_id, cmd.name, "ready", "shared")
        self._save()
        return Outcome()

    async def show(self, session: Session, cmd: ShowVirtualClusters) -> Outcome:
        self._manage(session, "SHOW VIRTUAL CLUSTERS")
        rows = sorted(self.clusters.values(), key=lambda c: c.id)
        if cmd.name is not None:
            rows = [self._get(cmd.name)]
        return Outcome(["id", "name", "data_state", "service_mode"],
                       [(c.id, c.name, c.data_state, c.service_mode) for c in rows])

    async def service(self, session: Session, cmd: AlterService) -> Outcome:
        what = "ALTER VIRTUAL CLUSTER ... " + ("START SERVICE SHARED" if cmd.shared else "STOP SERVICE")
        self._manage(session, what)
        vc = self._get(cmd.name)
        if vc.name == SYSTEM:
            raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"{what} cannot change the system virtual cluster")
        if cmd.shared and vc.data_state != "ready":
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                           f"virtual cluster \"{vc.name}\" has data_state {vc.data_state}; it can be put in service "
                           "only once ready (complete its replication first)")
        vc.service_mode = "shared" if cmd.shared else "none"
        self._save()
        if not cmd.shared:  # as CockroachDB stops the SQL server: its sessions end
            for s in list(self.node.sessions.values()):
                conn = self.node.connections.get(s.id)
                if s.cluster == vc.name and conn is not None:
                    conn.kill(KillKind.CONNECTION)
        return Outcome()

    async def set_setting(self, session: Session, cmd: SetClusterSetting) -> Outcome:
        self._manage(session, "SET CLUSTER SETTING")
        if cmd.setting not in _DEFAULTS:
            raise SqlError(ER_UNKNOWN_SYSTEM_VARIABLE, f"unknown cluster setting '{cmd.setting}'; drlab knows "
                                                       f"{', '.join(sorted(_DEFAULTS))}")
        value = cmd.value
        if cmd.setting == RANGEFEED:
            if value.lower() not in _BOOLS:
                raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"cluster setting '{RANGEFEED}' takes true or false, "
                                                       f"not '{value}'")
            value = _BOOLS[value.lower()]
        elif value not in self.clusters:
            raise unknown_cluster(value)
        self.settings[cmd.setting] = value
        self._save()
        return Outcome()

    async def show_setting(self, session: Session, cmd: ShowClusterSetting) -> Outcome:
        if cmd.setting not in _DEFAULTS:
            raise SqlError(ER_UNKNOWN_SYSTEM_VARIABLE, f"unknown cluster setting '{cmd.setting}'; drlab knows "
                                                       f"{', '.join(sorted(_DEFAULTS))}")
        return Outcome([cmd.setting], [(self.settings[cmd.setting],)])


    # -- physical cluster replication: the standby side -------------------------------------------
    async def start(self) -> None:
        for vc in self.clusters.values():  # a failover cut off by a restart is finished now
            if vc.data_state == "replication failing over":
                self._completing[vc.name] = asyncio.create_task(self._complete(vc), name=f"pcr-{vc.name}")
        self._task = asyncio.create_task(self._loop(), name="pcr")

    async def stop(self) -> None:
        for task in [self._task, *self._completing.values()]:
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(POLL)
            for vc in list(self.clusters.values()):
                if vc.source is None or vc.data_state not in STREAMING:
                    continue
                try:
                    self._refresh(vc)
                    if (vc.data_state == "replication pending failover" and vc.failover_time is not None
                            and vc.replicated_time >= vc.failover_time):
                        self._begin_failover(vc)
                except Exception:  # retried at the next pass; the node keeps serving
                    log.exception("refreshing virtual cluster %s failed", vc.name)

    def _refresh(self, vc: VirtualCluster) -> None:
        """Advance ``vc.replicated_time`` to the minimum of its databases' resolved times, and move
        the retention holds that keep its failover window."""
        if vc.data_state != "replication paused":
            resolved = []
            for name in vc.databases:
                p = self.repl.progress(name)
                resolved.append(p.resolved_at if p is not None else 0.0)
            t = min(resolved) if resolved else time.time()
            if t > vc.replicated_time:
                vc.replicated_time = t
        since = self.retained_time(vc)
        for name in vc.databases:
            db = self.node.store.get(name)
            if db is not None:
                self.node.store.holds.hold(
                    db.info.id, f"pcr:{vc.name}", f"the failover window of virtual cluster {vc.name} (RETENTION "
                    f"{_interval(vc.retention)}): any time from retained_time on can be failed over to",
                    since=since, keeps_state=True)

    def retained_time(self, vc: VirtualCluster) -> float:
        """The earliest time a failover may go back to: the retention window before replicated_time,
        never before the stream started."""
        return max(vc.replicated_time - vc.retention, vc.started)

    def _begin_failover(self, vc: VirtualCluster) -> None:
        vc.data_state = "replication failing over"
        self._save()
        self._completing[vc.name] = asyncio.create_task(self._complete(vc), name=f"pcr-{vc.name}")

    async def _complete(self, vc: VirtualCluster) -> None:
        """Stop every database's link, revert each to its state as of failover_time (the changes above
        it stay readable in DRLAB_REVERTED_TRANSACTIONS) and promote it: the virtual cluster is the
        primary's state at failover_time across all its databases."""
        assert vc.failover_time is not None
        at = vc.failover_time
        store = self.node.store
        try:
            for name in vc.databases:
                await self.repl.detach(name)
            for name in vc.databases:
                found = store.get(name)
                if found is None:
                    continue
                db = found
                if db.info.is_replica:
                    lsn = await asyncio.to_thread(store.lsn_at, db, at)
                    if lsn < db.applied_lsn:
                        db, _ = await asyncio.to_thread(store.revert_to, db, lsn,
                                                        f"failover of virtual cluster {vc.name} to {hlc(at)}")
                        self.node.invalidate_plans()
                        self.node.detach_everywhere(name)
                    await self.repl.promote(name)
                store.holds.release(db.info.id, f"pcr:{vc.name}")
            vc.replicated_time = min(vc.replicated_time, at) if vc.replicated_time else at
            vc.data_state, vc.error = "ready", ""
        except Exception as e:
            log.exception("failover of virtual cluster %s failed", vc.name)
            vc.data_state, vc.error = "replication error", f"failover to {hlc(at)} failed: {e}"
        finally:
            self._completing.pop(vc.name, None)
        self._save()

    async def create_replicated(self, session: Session, cmd: CreateReplicated) -> Outcome:
        self._manage(session, "CREATE VIRTUAL CLUSTER ... FROM REPLICATION")
        if cmd.name in self.clusters:
            if cmd.if_not_exists:
                return Outcome()
            raise SqlError(ER_DB_CREATE_EXISTS, f"virtual cluster \"{cmd.name}\" already exists")
        source = _parse_uri(cmd.uri) | {"tenant": cmd.source_name}
        names, _ = await asyncio.to_thread(self._ask_source, source, cmd.source_name)
        taken = [n for n in names if self.node.store.get(n) is not None]
        if taken:
            raise SqlError(ER_DB_CREATE_EXISTS, f"Can't create database '{taken[0]}'; database exists: virtual cluster "
                                                f"\"{cmd.source_name}\" of the source holds a database of that name, "
                                                "and database names are one namespace per drlab node; drop or rename "
                                                "the local one first")
        next_id = max([_FIRST_ID - 1, *(c.id for c in self.clusters.values())]) + 1
        vc = VirtualCluster(next_id, cmd.name, "initializing replication", "none", source, names,
                            cmd.retention or DEFAULT_RETENTION, time.time(), job_id=_job_id())
        self.clusters[vc.name] = vc
        for name in names:
            self.owner[name] = vc.name
        self._save()
        try:
            for name in names:
                await self.repl.replicate(name, _ref(source, name), None)
        except BaseException:
            self._managing.update(names)
            try:
                for name in names:
                    if self.node.store.get(name) is not None:
                        await self.node.drop_database(session, name, True)
                    self.owner.pop(name, None)
            finally:
                self._managing.difference_update(names)
            del self.clusters[vc.name]
            self._save()
            raise
        vc.data_state = "replicating"
        self._save()
        return Outcome()

    def _ask_source(self, source: dict[str, Any], tenant: str) -> tuple[list[str], str]:
        """The databases of virtual cluster ``tenant`` on the source and where it was replicated from
        ('' when it never was) (PCR SOURCE, as the URI's user)."""
        try:
            conn = pymysql.connect(host=self.node.host_map.get(source["host"], source["host"]), port=source["port"],
                                   user=source["user"], password=source["password"], database="cluster:system",
                                   connect_timeout=5, read_timeout=30, autocommit=True, charset="utf8mb4")
            try:
                with conn.cursor() as cur:
                    cur.execute("PCR SOURCE %s", (tenant,))
                    rows = cur.fetchall()
                    return [v for k, v in rows if k == "database"], next((v for k, v in rows if k != "database"), "")
            finally:
                conn.close()
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args and isinstance(e.args[0], int) else 2003
            msg = e.args[1] if len(e.args) > 1 else str(e)
            raise SqlError(relayed_code(code), f"CREATE VIRTUAL CLUSTER ... FROM REPLICATION failed: the source "
                                               f"{redacted(source)} answered: {msg}") from None

    def _replicated(self, name: str) -> VirtualCluster:
        vc = self._get(name)
        if vc.source is None:
            raise SqlError(ER_WRONG_ARGUMENTS, f"virtual cluster \"{name}\" is not replicated from another cluster (it "
                                               "was made by a plain CREATE VIRTUAL CLUSTER)")
        return vc

    async def show_status(self, session: Session, cmd: ShowReplicationStatus) -> Outcome:
        self._manage(session, "SHOW VIRTUAL CLUSTER ... WITH REPLICATION STATUS")
        vc = self._get(cmd.name)
        cols = ["id", "name", "source_tenant_name", "source_cluster_uri", "retained_time", "replicated_time",
                "replication_lag", "failover_time", "status"]
        if vc.source is None:
            return Outcome(cols, [(vc.id, vc.name, None, None, None, None, None, None, vc.data_state)])
        if vc.data_state in STREAMING:
            self._refresh(vc)
        rep = vc.replicated_time or None
        lag = _lag(time.time() - rep) if rep and vc.data_state in STREAMING else None
        return Outcome(cols, [(vc.id, vc.name, vc.source["tenant"], redacted(vc.source),
                               _ts(self.retained_time(vc)) if rep else None, _ts(rep) if rep else None, lag,
                               hlc(vc.failover_time) if vc.failover_time is not None else None, vc.data_state)])

    async def pause_resume(self, session: Session, cmd: PauseResume) -> Outcome:
        what = "PAUSE REPLICATION" if cmd.pause else "RESUME REPLICATION"
        self._manage(session, f"ALTER VIRTUAL CLUSTER ... {what}")
        vc = self._replicated(cmd.name)
        if vc.data_state not in STREAMING:
            raise SqlError(ER_WRONG_ARGUMENTS, f"{what} needs virtual cluster \"{vc.name}\" to be replicating; its "
                                               f"data_state is {vc.data_state}")
        if cmd.pause == (vc.data_state == "replication paused"):
            return Outcome()
        await self._set_paused(session, vc, cmd.pause)
        vc.data_state = "replication paused" if cmd.pause else (
            "replication pending failover" if vc.failover_time is not None else "replicating")
        self._save()
        return Outcome()

    async def _set_paused(self, session: Session, vc: VirtualCluster, pause: bool) -> None:
        for name in vc.databases:
            if pause:
                await self.repl.pause(name)
            else:
                await self.repl.resume(name)

    async def complete(self, session: Session, cmd: CompleteReplication) -> Outcome:
        self._manage(session, "ALTER VIRTUAL CLUSTER ... COMPLETE REPLICATION")
        vc = self._replicated(cmd.name)
        if vc.data_state == "replication failing over" and vc.failover_time is not None:
            raise SqlError(ER_WRONG_ARGUMENTS, f"job {vc.job_id} already started cutting over to timestamp "
                                               f"{hlc(vc.failover_time)}")
        if vc.data_state not in STREAMING:
            raise SqlError(ER_WRONG_ARGUMENTS, f"virtual cluster \"{vc.name}\" is not replicating (data_state "
                                               f"{vc.data_state}): there is no replication to complete")
        if vc.data_state != "replication paused":
            self._refresh(vc)
        # LATEST is the replicated time, or the stream's start while nothing is replicated yet
        at = (vc.replicated_time or vc.started) if cmd.at is None else _system_time(cmd.at)
        if not vc.replicated_time and cmd.at is not None and at <= time.time():
            raise SqlError(ER_WRONG_ARGUMENTS, f"replicated tenant \"{vc.name}\" ({vc.id}) has not yet recorded a "
                                               "retained timestamp")
        retained = self.retained_time(vc)
        if at < retained:
            raise SqlError(ER_WRONG_ARGUMENTS, f"cutover time {hlc(at)} is before earliest safe cutover time "
                                               f"{hlc(retained)}")
        if vc.data_state == "replication paused":  # as CockroachDB: issuing it un-pauses the job
            await self._set_paused(session, vc, False)
        vc.failover_time = at
        if at <= vc.replicated_time:
            self._begin_failover(vc)
        else:
            vc.data_state = "replication pending failover"
            self._save()
        return Outcome(["failover_time"], [(hlc(at),)])

    async def failback(self, session: Session, cmd: StartReplication) -> Outcome:
        """Make virtual cluster ``cmd.name`` replicate from ``cmd.source_name`` again after a failover:
        only between two clusters one of which was replicated from the other; each database is reset
        to where the two diverged (the local changes after it are reverted and stay readable in
        DRLAB_REVERTED_TRANSACTIONS) and receives only the net-new changes, or, when the source no
        longer holds the history back to that point, a full copy. A note says which, per database."""
        self._manage(session, "ALTER VIRTUAL CLUSTER ... START REPLICATION")
        vc = self._get(cmd.name)
        if vc.name == SYSTEM:
            raise SqlError(ER_WRONG_ARGUMENTS, "the system virtual cluster cannot replicate from another cluster")
        if vc.data_state != "ready":
            raise SqlError(ER_WRONG_ARGUMENTS, f"virtual cluster \"{vc.name}\" is {vc.data_state}; START REPLICATION "
                                               "needs a ready one (complete or stop its current replication first)")
        if vc.service_mode != "none":
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                           f"virtual cluster \"{vc.name}\" is in service; run ALTER VIRTUAL CLUSTER {vc.name} STOP "
                           "SERVICE first (its sessions end, and it serves none while it replicates)")
        source = _parse_uri(cmd.uri) | {"tenant": cmd.source_name}
        names, their_origin = await asyncio.to_thread(self._ask_source, source, cmd.source_name)
        mine = f"{self.node.address}/{vc.name}"
        my_origin = _origin(vc.source) if vc.source is not None else ""
        if not (_same(their_origin, mine, self.node.host_map) or _same(my_origin, _origin(source), self.node.host_map)):
            raise SqlError(ER_WRONG_ARGUMENTS,
                           "cannot reconfigure existing tenant to replicate from specified source: it was neither "
                           f"previously replicating from this source (prior replication source was \"{my_origin}\"), "
                           f"nor was the source previously replicating from it (\"{their_origin}\")")
        modes: list[str] = []
        vc.source, vc.databases, vc.started = source, names, time.time()
        vc.replicated_time, vc.failover_time, vc.job_id, vc.error = 0.0, None, _job_id(), ""
        vc.data_state = "initializing replication"
        for name in names:
            self.owner[name] = vc.name
        self._save()
        try:
            for name in names:
                modes.append(await self._failback_database(session, vc.name, name, source))
        except BaseException as e:
            vc.data_state, vc.error = "replication error", f"START REPLICATION failed: {e}"
            self._save()
            raise
        vc.data_state = "replicating"
        self._save()
        session.warnings.append(Warning_("Note", ER_UNKNOWN_ERROR, f"START REPLICATION of {vc.name}: " + "; ".join(modes)))
        return Outcome()

    async def _failback_database(self, session: Session, cluster: str, name: str, source: dict[str, Any]) -> str:
        """Replicate ``name`` from the source: net-new changes from the divergence point when the
        histories allow it, a full copy otherwise; says which."""
        self._managing.add(name)
        try:
            if self.node.store.get(name) is not None:
                try:
                    reverted, shared = await self.repl.replicate_differential(name, _ref(source, name), None, session)
                    if reverted:
                        session.warnings.append(Warning_(
                            "Warning", ER_UNKNOWN_ERROR, f"{reverted} transaction(s) committed on '{name}' after LSN {shared}, "
                            "where it diverged from the source, were reverted; their rows are in "
                            "information_schema.DRLAB_REVERTED_TRANSACTIONS"))
                    return f"{name}: net-new changes only" + (
                        " (its changes after the divergence were reverted)" if reverted else "")
                except HistoryMismatch as e:
                    why = str(e)
                    await self.node.drop_database(session, name, False)
                    self.owner[name] = cluster
                    self._save()
            else:
                why = "no local copy"
            await self.repl.replicate(name, _ref(source, name), None)
            return f"{name}: full copy ({why})"
        finally:
            self._managing.discard(name)

    # -- jobs ------------------------------------------------------------------------------------------
    def job_rows(self) -> list[tuple[Any, ...]]:
        """CockroachDB's SHOW JOBS rows for the replication jobs on this node: the ingestion job of
        each replicated virtual cluster, and a producer job for each virtual cluster a standby streams."""
        rows: list[tuple[Any, ...]] = []
        for vc in sorted(self.clusters.values(), key=lambda c: c.id):
            if vc.source is None or not vc.job_id:
                continue
            status = {"ready": "succeeded", "replication paused": "paused", "replication error": "failed"}.get(
                vc.data_state, "running")
            started = _time(vc.started)
            finished = _time(vc.replicated_time) if status == "succeeded" else None
            rows.append((vc.job_id, "REPLICATION STREAM INGESTION",
                         f"CREATE VIRTUAL CLUSTER {vc.name} FROM REPLICATION OF {vc.source['tenant']} ON "
                         f"'{redacted(vc.source)}'", "", "root", status, vc.data_state, started, started, finished,
                         _time(time.time()), 1.0 if status == "succeeded" else 0.0, vc.error or "", 1))
        streamed: dict[str, float] = {}
        for (db, _), seen in self.repl.source.replicas.items():
            cluster = self.owner.get(db, SYSTEM)
            if seen.connected and cluster in self.clusters:
                streamed[cluster] = max(streamed.get(cluster, 0.0), seen.last_seen)
        for cluster, seen_at in sorted(streamed.items()):
            vc = self.clusters[cluster]
            rows.append((_producer_id(self.node.address, vc.id), "REPLICATION STREAM PRODUCER",
                         f"stream replication for virtual cluster {cluster}", "", "root", "running", "",
                         None, None, None, _time(seen_at), 0.0, "", 1))
        return rows

    async def show_jobs(self, session: Session, cmd: ShowJobs) -> Outcome:
        self._manage(session, "SHOW JOBS")
        rows = self.job_rows()
        if cmd.columns.strip() == "*" and cmd.where is None:
            return Outcome(list(JOB_COLUMNS), rows)
        db = sqlite3.connect(":memory:")
        try:
            db.execute(f"CREATE TABLE jobs ({', '.join(JOB_COLUMNS)})")
            db.executemany(f"INSERT INTO jobs VALUES ({', '.join('?' * len(JOB_COLUMNS))})", rows)
            db.execute("PRAGMA query_only = ON")
            cur = db.execute(f"SELECT {cmd.columns} FROM jobs" + (f" WHERE {cmd.where}" if cmd.where else ""))
            return Outcome([d[0] for d in cur.description], cur.fetchall())
        except sqlite3.Error as e:
            raise SqlError(ER_PARSE, f"SELECT ... FROM [SHOW JOBS]: {e} (the columns are {', '.join(JOB_COLUMNS)})"
                           ) from None
        finally:
            db.close()

    async def show_job(self, session: Session, cmd: ShowJob) -> Outcome:
        """SHOW JOB id; WHEN COMPLETE waits until the job succeeded or failed (a failover completed)."""
        self._manage(session, "SHOW JOB")
        while True:
            row = next((r for r in self.job_rows() if r[0] == cmd.job_id), None)
            if row is None:
                raise SqlError(ER_WRONG_ARGUMENTS, f"job with ID {cmd.job_id} does not exist")
            if not cmd.when_complete or row[5] in ("succeeded", "failed", "canceled"):
                return Outcome(list(JOB_COLUMNS), [row])
            await asyncio.sleep(POLL)

    # -- physical cluster replication: the source side --------------------------------------------
    async def source_info(self, session: Session, cmd: PcrSource) -> Outcome:
        """A standby asks for the databases of a virtual cluster to stream (its user needs REPLICATION)."""
        if not self.node.accounts.has_privilege(session.user, session.host, "REPLICATION"):
            raise SqlError(ER_SPECIFIC_ACCESS_DENIED, "Access denied; you need (at least one of) the REPLICATION "
                                                      "privilege(s) on *.* to stream a virtual cluster")
        if self.settings[RANGEFEED] != "true":
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                           f"rangefeeds require the kv.rangefeed.enabled setting. See {RANGEFEED_DOCS} (run SET "
                           "CLUSTER SETTING kv.rangefeed.enabled = 'true' in the system virtual cluster of the source)")
        vc = self._get(cmd.name)
        rows: list[tuple[str, str]] = [("database", n) for n in self.node.store.names() if self.owns(cmd.name, n)]
        if vc.source is not None:
            rows.append(("replicated_from", _origin(vc.source)))
        return Outcome(["kind", "value"], rows)


JOB_COLUMNS = ("job_id", "job_type", "description", "statement", "user_name", "status", "running_status", "created",
               "started", "finished", "modified", "fraction_completed", "error", "coordinator_id")


def _producer_id(address: str, vc_id: int) -> int:
    """A stable id for the producer job of a virtual cluster on this node."""
    return 10**17 + zlib.crc32(f"{address}/{vc_id}".encode()) * 1000 + vc_id


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _job_id() -> int:
    """A job id shaped like CockroachDB's (a large positive 64-bit integer)."""
    return random.randrange(10**17, 10**18)


def hlc(t: float) -> str:
    """A time as CockroachDB prints an HLC timestamp: nanoseconds, a point and the logical part."""
    return f"{int(round(t * 1e6)) * 1000}.0000000000"  # drlab's clock resolves microseconds


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"


def _lag(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:09.6f}"


def _interval(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds:g}s"


_RELATIVE = re.compile(r"\s*([+-])\s*(.+)")


def _system_time(text: str) -> float:
    """SYSTEM TIME as CockroachDB takes it: a decimal HLC, a relative interval ('-1h', '+5m'), or an
    absolute timestamp (UTC unless it says otherwise)."""
    if re.fullmatch(r"\d{12,}(\.\d+)?", text.strip()):
        try:
            return float(Decimal(text.strip()) / Decimal(10**9))
        except InvalidOperation:
            pass
    if m := _RELATIVE.fullmatch(text):
        d = duration(m.group(2))
        if d is not None:
            return time.time() + (d if m.group(1) == "+" else -d)
    try:
        dt = datetime.fromisoformat(text.strip().replace("+00", "+00:00") if text.strip().endswith("+00")
                                    else text.strip())
    except ValueError:
        raise SqlError(ER_WRONG_ARGUMENTS, f"SYSTEM TIME '{text}' is not a time: use a decimal HLC timestamp "
                                           "('1695922878030920020.0000000000'), an interval ('-1h', '+5m') or a "
                                           "timestamp ('2024-04-18 14:07:45')") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _parse_uri(uri: str) -> dict[str, Any]:
    """user, password, host and port of a ``postgresql://user:password@host:port/...`` connection string
    (the port is a drlab node's MySQL port; the options CockroachDB needs are accepted and unused)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or not parts.username:
        raise SqlError(ER_WRONG_ARGUMENTS, "the connection string must look like 'postgresql://user:password@host:port/"
                                           "defaultdb?options=-ccluster%3Dsystem' (host and port of the source "
                                           "drlab node)")
    try:
        port = parts.port or 26257
    except ValueError:
        raise SqlError(ER_WRONG_ARGUMENTS, "the connection string's port is not a number") from None
    return {"user": unquote(parts.username), "password": unquote(parts.password or ""), "host": parts.hostname,
            "port": port}


def _ref(source: dict[str, Any], db: str) -> SourceRef:
    """The DR link's source for database ``db`` of a PCR stream."""
    return SourceRef(source["user"], source["password"], source["host"], source["port"], db)


def _origin(source: dict[str, Any]) -> str:
    """Where a replicated virtual cluster comes from, as the failback check compares it."""
    return f"{source['host']}:{source['port']}/{source['tenant']}"


def _same(a: str, b: str, host_map: dict[str, str]) -> bool:
    """Whether two ``host:port/tenant`` name the same cluster (hosts as this node resolves them)."""
    def norm(x: str) -> str:
        hostport, _, tenant = x.partition("/")
        host, _, port = hostport.rpartition(":")
        host = host_map.get(host, host)
        return f"{'127.0.0.1' if host in ('localhost', '::1') else host}:{port}/{tenant}"
    return bool(a) and bool(b) and norm(a) == norm(b)


def redacted(source: dict[str, Any]) -> str:
    """The source as SHOW ... WITH REPLICATION STATUS shows it: never the password."""
    return f"postgresql://{source['user']}@{source['host']}:{source['port']}?redacted"


def install(node: Node, repl: Manager) -> None:
    """Register the virtual clusters on ``node``; their streams run on ``repl``'s links."""
    vcs = VirtualClusters(node, repl)
    f = node.features
    f.set_clusters(vcs)
    f.add_parser(parse_pcr, first_words=FIRST_WORDS)
    f.add_command(CreateVirtualCluster, vcs.create)
    f.add_command(ShowVirtualClusters, vcs.show)
    f.add_command(AlterService, vcs.service)
    f.add_command(SetClusterSetting, vcs.set_setting)
    f.add_command(ShowClusterSetting, vcs.show_setting)
    f.add_command(CreateReplicated, vcs.create_replicated)
    f.add_command(ShowReplicationStatus, vcs.show_status)
    f.add_command(PauseResume, vcs.pause_resume)
    f.add_command(CompleteReplication, vcs.complete)
    f.add_command(StartReplication, vcs.failback)
    f.add_command(ShowJobs, vcs.show_jobs)
    f.add_command(ShowJob, vcs.show_job)
    f.add_command(PcrSource, vcs.source_info)
    f.add_write_gate(vcs.gate)
    f.on_drop(vcs.dropped)
    f.add_service(vcs)
