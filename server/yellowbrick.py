"""Yellowbrick on a node (docs/yellowbrick.md): the database modes HOT_STANDBY (readable, written
only by replication cycles) and READONLY (no writes at all), set by ``CREATE DATABASE x HOT_STANDBY
ON`` and ``ALTER DATABASE x SET ...``; remote servers (``CREATE / DROP REMOTE SERVER``, kept in the
store's metadata); and the ``sys.database`` and ``sys.remote_server`` views. The refusals themselves are in
``Node.check_writable`` / ``Node.drop_database``, as every write path passes there."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from server.node import Node
from server.session import Outcome, Session
from sqlfront.errors import (
    ER_BAD_DB,
    ER_FOREIGN_SERVER_DOESNT_EXIST,
    ER_FOREIGN_SERVER_EXISTS,
    ER_OPTION_PREVENTS_STATEMENT,
    SqlError,
)
from sqlfront.yellowbrick import AlterDatabaseSet, CreateRemoteServer, DropRemoteServer, parse_yellowbrick

DATABASE_COLUMNS = ["database_id", "name", "state", "role", "hot_standby", "readonly", "readonly_reason",
                    "creation_time"]
REMOTE_SERVER_COLUMNS = ["name", "host", "port", "user", "creation_time"]
_SERVER_KEY = "remote_server:"  # store metadata: one JSON entry per remote server (password kept, never shown)


class Yellowbrick:
    """The node's Yellowbrick statements and views."""

    def __init__(self, node: Node) -> None:
        self.node = node

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


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def install(node: Node) -> Yellowbrick:
    """Register the Yellowbrick statements and sys views on ``node``."""
    y = Yellowbrick(node)
    f = node.features
    f.add_parser(parse_yellowbrick)
    f.add_command(AlterDatabaseSet, y.alter_set)
    f.add_command(CreateRemoteServer, y.create_server)
    f.add_command(DropRemoteServer, y.drop_server)
    f.add_view("database", DATABASE_COLUMNS, y.database_rows, schema="sys")
    f.add_view("remote_server", REMOTE_SERVER_COLUMNS, y.remote_server_rows, schema="sys")
    return y


__all__ = ["Yellowbrick", "install"]
