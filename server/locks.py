"""FLUSH TABLES [ON db] WITH READ {ONLY | LOCK} and UNLOCK TABLES [ON db] (SingleStore, facts.md §3).

FLUSH first makes new writes fail (READ ONLY) or wait (READ LOCK), then waits until the write
transactions already in flight on the affected databases have finished. The lock belongs to the
connection that took it: only that connection unlocks it, and its closing (or being killed) releases
it. Replication apply never passes through here, so a locked replica keeps applying and a locked
primary keeps serving its replicas: that is what step 7 of the failback runbook relies on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from server.features import WritesRefused
from server.node import Node
from server.session import Outcome, Session
from sqlfront import dr
from sqlfront.errors import ER_BAD_DB, SqlError


class NotLockOwner(Exception):
    """UNLOCK TABLES from a connection other than the one holding the lock."""


@dataclass
class ReadLock:
    session: Session
    mode: str  # 'read only' | 'read lock'
    db: str | None  # None: every database
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def covers(self, name: str) -> bool:
        return self.db is None or self.db == name


class ReadLocks:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.held: list[ReadLock] = []

    async def gate(self, session: Session, name: str) -> None:
        """A write gate: refuse (READ ONLY) or wait (READ LOCK) while a lock covers database ``name``
        (rows, DDL, CREATE / DROP / REPLICATE DATABASE all pass here)."""
        while True:
            lock = next((lk for lk in self.held if lk.covers(name) and lk.session is not session), None)
            if lock is None:
                return
            if lock.mode == "read only":
                raise WritesRefused(
                    f"Database '{name}' is read-only: FLUSH TABLES WITH READ ONLY is in effect "
                    f"(connection {lock.session.id}); writes fail until that connection runs UNLOCK TABLES",
                )
            session.state = "waiting for UNLOCK TABLES (FLUSH TABLES WITH READ LOCK)"
            try:
                await lock.released.wait()
            finally:
                session.state = ""

    async def flush(self, session: Session, cmd: dr.FlushTables) -> Outcome:
        node = self.node
        await session.implicit_commit()
        if cmd.db is not None and node.store.get(cmd.db) is None:
            raise SqlError(ER_BAD_DB, f"Unknown database '{cmd.db}'")
        node.accounts.check(session.user, session.host, "RELOAD", None)  # as MySQL's FLUSH
        self._release(session, cmd.db)
        lock = ReadLock(session, cmd.mode, cmd.db)
        self.held.append(lock)
        try:  # in-flight write transactions finish first: take and give back each writer lock
            for name in node.store.names():
                db = node.store.get(name)
                if db is not None and lock.covers(name):
                    await node.acquire_writer(db, session)
                    node.release_writer(db, session)
        except BaseException:
            self._drop(lock)
            raise
        return Outcome()

    async def unlock(self, session: Session, cmd: dr.UnlockTables) -> Outcome:
        mine = [lk for lk in self.held if lk.session is session and (cmd.db is None or lk.db in (cmd.db, None))]
        if mine or session.locked_tables:  # as MySQL: commits only when it releases locks
            session.locked_tables = False
            await session.implicit_commit()
        if not mine:
            others = [lk for lk in self.held if cmd.db is None or lk.covers(cmd.db)]
            if others:
                raise NotLockOwner(
                    f"UNLOCK TABLES must run on the connection that ran FLUSH TABLES (connection "
                    f"{others[0].session.id}); closing or killing that connection also releases the lock",
                )
            return Outcome()
        self._release(session, cmd.db)
        return Outcome()

    def _release(self, session: Session, db: str | None) -> None:
        for lock in [lk for lk in self.held if lk.session is session and (db is None or lk.db in (db, None))]:
            self._drop(lock)

    def _drop(self, lock: ReadLock) -> None:
        if lock in self.held:
            self.held.remove(lock)
        lock.released.set()

    def session_closed(self, session: Session) -> None:
        self._release(session, None)


def install(node: Node) -> ReadLocks:
    locks = ReadLocks(node)
    node.features.add_command(dr.FlushTables, locks.flush)
    node.features.add_command(dr.UnlockTables, locks.unlock)
    node.features.add_write_gate(locks.gate)
    node.features.on_close(locks.session_closed)
    return locks
