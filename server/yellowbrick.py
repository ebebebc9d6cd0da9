"""Yellowbrick on a node (docs/yellowbrick.md): the database modes HOT_STANDBY (readable, written
only by replication cycles) and READONLY (no writes at all), set by ``CREATE DATABASE x HOT_STANDBY
ON`` and ``ALTER DATABASE x SET ...``; remote servers (``CREATE / DROP REMOTE SERVER``, kept in the
store's metadata); and the ``sys.database`` and ``sys.remote_server`` views. The refusals themselves are in
``Node.check_writable`` / ``Node.drop_database``, as every write path passes there."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from replication import cycle
from server.node import Node
from server.session import Outcome, Session
from sqlfront.errors import (
    ER_BAD_DB,
    ER_CONNECT_TO_FOREIGN_DATA_SOURCE,
    ER_FOREIGN_SERVER_DOESNT_EXIST,
    ER_FOREIGN_SERVER_EXISTS,
    ER_OPTION_PREVENTS_STATEMENT,
    ER_WRONG_ARGUMENTS,
    SqlError,
    not_supported,
)
from sqlfront.yellowbrick import (
    AddReplica,
    AlterDatabaseSet,
    AlterReplica,
    CreateRemoteServer,
    DropRemoteServer,
    DropReplica,
    YbCycle,
    parse_cycle,
    parse_yellowbrick,
    quote_literal,
)
from storage.database import Database

DATABASE_COLUMNS = ["database_id", "name", "state", "role", "hot_standby", "readonly", "readonly_reason",
                    "creation_time"]
REMOTE_SERVER_COLUMNS = ["name", "host", "port", "user", "creation_time"]
_SERVER_KEY = "remote_server:"  # store metadata: one JSON entry per remote server (password kept, never shown)
_REPLICA_KEY = "yb_replica:"  # store metadata: one JSON entry per replica, by its source database
REPLICA_COLUMNS = ["replica_id", "name", "database_name", "remote_server", "alias", "frequency", "state",
                   "shipped_lsn", "creation_time"]
REPLICA_STATUS_COLUMNS = ["database_id", "replica_id", "snapshot_id", "elapsed_ms", "remaining_ms", "start_time",
                          "end_time", "state", "error_string", "backup_session_key", "restore_session_key",
                          "sent_bytes", "write_bytes", "sent_records"]
MIN_FREQUENCY = 5  # seconds: Yellowbrick's minimum FREQUENCY (drlab node --yb-min-frequency lowers it for tests)
_CYCLES_KEPT = 1000  # cycle rows kept per replica in memory for sys.replica_status
_UNBUILT_OPTIONS = ("EXCLUDE", "SECURITY_MODE", "BW_LIMIT", "REVERSE_REPLICA", "TABLE_LEVEL_RESTART")
_HOLD = "yellowbrick replica "
RESTART_REASON = "the node restarted: a replication source stays READONLY"


@dataclass
class Replica:
    """A replica on its source node: ``spec`` is what is persisted; the rest lives in memory."""

    spec: dict[str, Any]
    cycles: deque[tuple[Any, ...]] = field(default_factory=lambda: deque(maxlen=_CYCLES_KEPT))
    task: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one cycle at a time
    next_due: float | None = None


class Yellowbrick:
    """The node's Yellowbrick statements, views and replicas (a node service: ``start`` / ``stop``)."""

    def __init__(self, node: Node, min_frequency: int = MIN_FREQUENCY) -> None:
        self.node = node
        self.min_frequency = min_frequency
        self.replicas: dict[str, Replica] = {}  # by source database name, lower case
        self.staged: dict[str, cycle.Staged] = {}  # target side: cycles being received, by target name

    # -- service -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the replicas; their source databases start READONLY (Yellowbrick does so after a
        restart or upgrade) until a cycle of a RUNNING replica reaches the target."""
        for _, raw in self.node.store.log.meta_items(_REPLICA_KEY):
            r = Replica(json.loads(raw))
            self.replicas[r.spec["db"].lower()] = r
            db = self.node.store.get(r.spec["db"])
            if db is not None and (not db.info.readonly or db.info.readonly_reason.startswith(RESTART_REASON)):
                db.info.readonly = True
                db.info.readonly_reason = (f"{RESTART_REASON} until replica {r.spec['name']} is RUNNING and its "
                                           f"target on remote server {r.spec['server']} is reachable")
                self.node.store.save(db.info)
            if r.spec["state"] == "RUNNING":
                self._run(r)

    async def stop(self) -> None:
        for r in self.replicas.values():
            await self._halt(r)

    # -- replicas (source side) --------------------------------------------------------------------
    async def add_replica(self, session: Session, cmd: AddReplica) -> Outcome:
        """ADD REPLICA: check, record it NOT_STARTED, and hold the source's log for its first cycle."""
        node = self.node
        node.accounts.check(session.user, session.host, "SUPER", None)
        unbuilt = [k for k, _ in cmd.options if k in _UNBUILT_OPTIONS]
        if unbuilt:
            raise not_supported(f"ADD REPLICA option {unbuilt[0]} (docs/yellowbrick.md)")
        db = self._database(cmd.db)
        if db.info.hot_standby or db.info.role != "master":
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT, f"Database '{cmd.db}' is a replication target "
                           f"({'HOT_STANDBY' if db.info.hot_standby else db.info.role}); chained replication is "
                           "not supported: add the replica on the source database")
        if cmd.db.lower() in self.replicas:
            have = self.replicas[cmd.db.lower()].spec["name"]
            raise SqlError(ER_WRONG_ARGUMENTS, f"Database '{cmd.db}' already has a replica ({have}): a database has "
                           "at most one replica")
        if self.server(cmd.server) is None:
            raise SqlError(ER_FOREIGN_SERVER_DOESNT_EXIST, f"Remote server '{cmd.server}' does not exist; "
                           "CREATE REMOTE SERVER it first")
        frequency = self._frequency(cmd.option("FREQUENCY"))
        replica_id = int(node.store.log.meta_get("yb_next_replica_id") or b"1")
        node.store.log.meta_put("yb_next_replica_id", str(replica_id + 1).encode())
        r = Replica({"id": replica_id, "name": cmd.name, "db": db.info.name, "db_id": db.info.id,
                     "server": cmd.server, "alias": cmd.option("ALIAS") or db.info.name, "frequency": frequency,
                     "state": "NOT_STARTED", "shipped": 0, "created": time.time()})
        self.replicas[cmd.db.lower()] = r
        self._save(r)
        return Outcome()

    async def alter_replica(self, session: Session, cmd: AlterReplica) -> Outcome:
        self.node.accounts.check(session.user, session.host, "SUPER", None)
        r = self._replica(cmd.db, cmd.name)
        state, action = r.spec["state"], cmd.action
        if action in ("PROMOTE", "PROMOTE WITH DATA LOSS", "START WITH CHAIN"):
            raise not_supported(f"ALTER REPLICA ... {action} (docs/yellowbrick.md)")
        if action == "WITH":
            r.spec["frequency"] = self._frequency(dict(cmd.options)["FREQUENCY"])
            self._save(r)
            return Outcome()
        wanted = {"START": "NOT_STARTED", "PAUSE": "RUNNING", "RESUME": "PAUSED", "FORCE": "PAUSED"}[action]
        if state != wanted:
            raise SqlError(ER_WRONG_ARGUMENTS, f"Replica '{cmd.name}' is {state}: {action} needs it {wanted}")
        if action == "PAUSE":
            await self._halt(r)
            r.spec["state"] = "PAUSED"
            self._save(r)
        elif action == "FORCE":
            error = await self._cycle(r)
            if error:
                raise SqlError(ER_CONNECT_TO_FOREIGN_DATA_SOURCE, f"The forced cycle of replica '{cmd.name}' failed: "
                               f"{error}")
        else:
            r.spec["state"] = "RUNNING"
            self._save(r)
            self._run(r)
        return Outcome()

    async def drop_replica(self, session: Session, cmd: DropReplica) -> Outcome:
        self.node.accounts.check(session.user, session.host, "SUPER", None)
        await self._forget(self._replica(cmd.db, cmd.name))
        return Outcome()

    async def dropping(self, name: str) -> None:
        """A source database is being dropped: its replica goes with it."""
        r = self.replicas.get(name.lower())
        if r is not None:
            await self._forget(r)

    async def _forget(self, r: Replica) -> None:
        await self._halt(r)
        del self.replicas[r.spec["db"].lower()]
        self.node.store.log.meta_put(_REPLICA_KEY + r.spec["db"].lower(), None)
        self.node.store.holds.release(r.spec["db_id"], _HOLD + r.spec["name"])

    def _database(self, name: str) -> Database:
        db = self.node.store.get(name)
        if db is None:
            raise SqlError(ER_BAD_DB, f"Unknown database '{name}'")
        return db

    def _replica(self, db: str, name: str) -> Replica:
        self._database(db)
        r = self.replicas.get(db.lower())
        if r is None or r.spec["name"].lower() != name.lower():
            raise SqlError(ER_WRONG_ARGUMENTS, f"Database '{db}' has no replica '{name}'; SELECT * FROM sys.replica "
                           "lists them")
        return r

    def _frequency(self, text: str | None) -> int:
        value = int(text or 0)
        if value < self.min_frequency:
            raise SqlError(ER_WRONG_ARGUMENTS, f"FREQUENCY {value} is below the minimum of {self.min_frequency} "
                           "seconds")
        return value

    def _save(self, r: Replica) -> None:
        """Persist the replica and hold the source's log after what the target holds."""
        self.node.store.log.meta_put(_REPLICA_KEY + r.spec["db"].lower(), json.dumps(r.spec).encode())
        self.node.store.holds.hold(r.spec["db_id"], _HOLD + r.spec["name"], "a Yellowbrick-style replica ships the "
                                   "records after the last cycle its target holds", lsn=r.spec["shipped"])

    def _run(self, r: Replica) -> None:
        r.task = asyncio.get_running_loop().create_task(self._loop(r))

    async def _halt(self, r: Replica) -> None:
        """Stop the replica's loop between cycles (a cycle under way finishes first)."""
        if r.task is None:
            return
        async with r.lock:
            r.task.cancel()
        try:
            await r.task
        except asyncio.CancelledError:
            pass
        r.task, r.next_due = None, None

    async def _loop(self, r: Replica) -> None:
        """A cycle now, then one every FREQUENCY seconds."""
        while True:
            await self._cycle(r)
            r.next_due = time.time() + r.spec["frequency"]
            await asyncio.sleep(r.spec["frequency"])

    async def _cycle(self, r: Replica) -> str:
        """Run one cycle; record its row in sys.replica_status. Returns its error ('' if none)."""
        async with r.lock:
            start = time.time()
            spec, error, sent, records = r.spec, "", 0, []
            try:
                db = self._database(spec["db"])
                upto = db.applied_lsn  # the consistent point: every commit up to here, made durable next
                await self.node.store.log.flush()
                records = cycle.increment(self.node.store, db, spec["shipped"], upto)
                server = self.server(spec["server"])
                if server is None:
                    raise cycle.CycleError(f"Remote server '{spec['server']}' was dropped")
                sent = await _in_thread(cycle.push, server, lambda h: self.node.host_map.get(h, h), spec["alias"],
                                        spec["shipped"], db.info.epochs, records, quote_literal)
                spec["shipped"] = upto
                self._save(r)
                if spec["state"] == "RUNNING" and db.info.readonly_reason.startswith(RESTART_REASON):
                    db.info.readonly, db.info.readonly_reason = False, ""
                    self.node.store.save(db.info)
            except (cycle.CycleError, SqlError) as e:
                error = str(e) if isinstance(e, cycle.CycleError) else e.message
            end = time.time()
            r.cycles.append((spec["db_id"], spec["id"], len(r.cycles) + 1, int((end - start) * 1000), start, end,
                             error or None, sent, sum(len(d) for _, d in records) if not error else 0,
                             len(records) if not error else 0))
            return error

    # -- cycles (target side) ----------------------------------------------------------------------
    async def receive(self, session: Session, cmd: YbCycle) -> Outcome:
        """One part of a cycle pushed by a source; the last part applies the whole cycle at once."""
        node = self.node
        node.accounts.check(session.user, session.host, "SUPER", None)
        key = cmd.target.lower()
        try:
            if cmd.part == 0:
                cycle.check_target(node.store.get(cmd.target), cmd.target, cmd.base)
                self.staged[key] = cycle.Staged(cmd.base, [])
            staged = self.staged.get(key)
            if staged is None or staged.base != cmd.base:
                raise cycle.CycleError(f"Part {cmd.part} of a cycle into '{cmd.target}' arrived without its first part")
            staged.records += cycle.unframe(cmd.data)
            if not cmd.final:
                return Outcome()
            del self.staged[key]
            db = node.store.get(cmd.target)
            if db is None:
                await node.create_database(session, cmd.target, False, hot_standby=True)
                db = self._database(cmd.target)
            await node.acquire_writer(db, session)
            try:
                cycle.check_target(db, cmd.target, cmd.base)
                await cycle.apply(node.store, db, staged, json.loads(cmd.epochs))
            finally:
                node.release_writer(db, session)
            node.invalidate_plans()
        except cycle.CycleError as e:
            self.staged.pop(key, None)
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT, str(e)) from None
        return Outcome()

    async def alter_set(self, session: Session, cmd: AlterDatabaseSet) -> Outcome:
        """Switch HOT_STANDBY or READONLY. The database's writer is taken first, so the switch waits
        for a transaction in flight and no write slips in between the checks and the switch."""
        await session.implicit_commit()
        node = self.node
        node.accounts.check(session.user, session.host, "ALTER", cmd.db)
        db = node.store.get(cmd.db)
        if db is None:
            raise SqlError(ER_BAD_DB, f"Unknown database '{cmd.db}'")
        info = db.info
        if cmd.on and (info.role != "master" or info.state != "online"):
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                           f"Database '{cmd.db}' is {'an' if info.role[0] in 'aeiou' else 'a'} {info.role} in state "
                           f"'{info.state}': {cmd.option} can be set ON only on an online primary database")
        await node.pass_write_gates(session, cmd.db)
        await node.acquire_writer(db, session)
        try:
            if cmd.option == "HOT_STANDBY":
                if cmd.on and not info.hot_standby and db.tables:
                    raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                                   f"Database '{cmd.db}' is not empty ({len(db.tables)} tables): HOT_STANDBY can be "
                                   "set ON only while a database is empty; create a new database with "
                                   "CREATE DATABASE <name> HOT_STANDBY ON")
                info.hot_standby = cmd.on
            else:
                info.readonly = cmd.on
                info.readonly_reason = "ALTER DATABASE ... SET READONLY ON" if cmd.on else ""
            node.store.save(info)
        finally:
            node.release_writer(db, session)
        return Outcome()

    async def create_server(self, session: Session, cmd: CreateRemoteServer) -> Outcome:
        """Record a remote server: where this node's replicas push their cycles (superuser only)."""
        self.node.accounts.check(session.user, session.host, "SUPER", None)
        if self.server(cmd.name) is not None:
            raise SqlError(ER_FOREIGN_SERVER_EXISTS, f"Remote server '{cmd.name}' already exists; DROP REMOTE SERVER "
                           f"{cmd.name} first to change it")
        entry = {"name": cmd.name, "host": cmd.host, "port": cmd.port, "user": cmd.user, "password": cmd.password,
                 "created": time.time()}
        self.node.store.log.meta_put(_SERVER_KEY + cmd.name.lower(), json.dumps(entry).encode())
        return Outcome()

    async def drop_server(self, session: Session, cmd: DropRemoteServer) -> Outcome:
        self.node.accounts.check(session.user, session.host, "SUPER", None)
        if self.server(cmd.name) is None:
            if cmd.if_exists:
                return Outcome()
            raise SqlError(ER_FOREIGN_SERVER_DOESNT_EXIST, f"Remote server '{cmd.name}' does not exist; "
                           "SELECT * FROM sys.remote_server lists them")
        self.node.store.log.meta_put(_SERVER_KEY + cmd.name.lower(), None)
        return Outcome()

    def server(self, name: str) -> dict[str, Any] | None:
        """The remote server ``name`` (names are case-insensitive), None if there is none."""
        raw = self.node.store.log.meta_get(_SERVER_KEY + name.lower())
        return json.loads(raw) if raw is not None else None

    def remote_server_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        """sys.remote_server: every remote server, without its password."""
        servers = [json.loads(raw) for _, raw in node.store.log.meta_items(_SERVER_KEY)]
        return [(s["name"], s["host"], s["port"], s["user"], _time(s["created"]))
                for s in sorted(servers, key=lambda s: s["name"].lower())]

    def replica_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        """sys.replica: the replicas of this node's databases."""
        return [(r.spec["id"], r.spec["name"], r.spec["db"], r.spec["server"], r.spec["alias"], r.spec["frequency"],
                 r.spec["state"], r.spec["shipped"], _time(r.spec["created"])) for r in self.replicas.values()]

    def replica_status_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        """sys.replica_status: one row per cycle since the node started (one NOT_STARTED row for a
        replica with none); the newest row's remaining_ms is the time to the next cycle."""
        rows: list[tuple[Any, ...]] = []
        now = time.time()
        for r in self.replicas.values():
            state = r.spec["state"]
            if not r.cycles:
                rows.append((r.spec["db_id"], r.spec["id"], None, None, None, None, None, state, None, None, None,
                             0, 0, 0))
            for i, (db_id, rid, sid, elapsed, start, end, error, sent, written, count) in enumerate(r.cycles):
                newest = i == len(r.cycles) - 1
                remaining = int(max(0.0, r.next_due - now) * 1000) if newest and r.next_due is not None else None
                rows.append((db_id, rid, sid, elapsed, remaining, _time(start, True), _time(end, True), state, error,
                             None, None, sent, written, count))
        return rows

    def database_rows(self, node: Node, session: Session) -> list[tuple[Any, ...]]:
        """sys.database: every database the session may see, with its Yellowbrick modes."""
        rows = []
        for name in node.store.names():
            db = node.store.get(name)
            if db is None or not node.accounts.databases_visible(session.user, session.host, name):
                continue
            i = db.info
            rows.append((i.id, i.name, i.state, i.role, int(i.hot_standby), int(i.readonly), i.readonly_reason or None,
                         _time(i.created)))
        return rows


def _time(t: float, precise: bool = False) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S" + (".%f" if precise else ""))


def _in_thread(fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
    """Run a blocking call on a daemon thread (a hung remote server must not hold up shutdown)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if fut.done():
            return
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)

    def run() -> None:
        try:
            loop.call_soon_threadsafe(settle, fn(*args), None)
        except BaseException as e:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, None, e)

    threading.Thread(target=run, name="yb-cycle", daemon=True).start()
    return fut


def install(node: Node, min_frequency: int = MIN_FREQUENCY) -> Yellowbrick:
    """Register the Yellowbrick statements, sys views and the replicas' service on ``node``."""
    y = Yellowbrick(node, min_frequency)
    f = node.features
    f.add_parser(parse_cycle, first_words=("YELLOWBRICK",))
    f.add_parser(parse_yellowbrick, first_words=("ALTER", "CREATE", "DROP"))
    f.add_command(YbCycle, y.receive)
    f.add_command(AddReplica, y.add_replica)
    f.add_command(AlterReplica, y.alter_replica)
    f.add_command(DropReplica, y.drop_replica)
    f.add_view("replica", REPLICA_COLUMNS, y.replica_rows, schema="sys")
    f.add_view("replica_status", REPLICA_STATUS_COLUMNS, y.replica_status_rows, schema="sys")
    f.on_drop(y.dropping)
    f.add_service(y)
    f.add_command(AlterDatabaseSet, y.alter_set)
    f.add_command(CreateRemoteServer, y.create_server)
    f.add_command(DropRemoteServer, y.drop_server)
    f.add_view("database", DATABASE_COLUMNS, y.database_rows, schema="sys")
    f.add_view("remote_server", REMOTE_SERVER_COLUMNS, y.remote_server_rows, schema="sys")
    return y


__all__ = ["Yellowbrick", "install"]
