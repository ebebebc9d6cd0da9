"""The node's feature registry: everything a feature beside plain SQL (replication, read locks, retention,
pipelines, aggregators, metrics) contributes to a node, in one typed object.

The node is the consumer, so the seams are declared here, method by method. The composition root
(``server.app``) builds a ``Node`` and calls each feature's ``install``, which registers on
``node.features``; the node, its sessions and its views call features only through this registry,
never through attributes set onto the node from outside.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlfront.grammars import Grammars

if TYPE_CHECKING:
    from replication.manager import LinkStatus
    from server.node import Node
    from server.session import Outcome, Session
    from sqlfront import statements as st
    from storage.database import Database

Parser = Callable[[str], Any]
"""A feature's statement grammar: the command for a text it owns, None for any other text."""
Command = Callable[["Session", Any], Awaitable["Outcome"]]
"""Runs one parsed feature command for a session."""
ShowHandler = Callable[["Session", "st.Show"], "Outcome"]
"""Answers ``SHOW <what>`` for a ``what`` the core does not know."""
RowsBuilder = Callable[["Node", "Session"], Sequence[Sequence[Any]]]
"""The rows of an information_schema view, built for one query of one session."""
WriteGate = Callable[["Session", str], Awaitable[None]]
"""Runs before any write to the database it names (rows, DDL, CREATE / DROP / REPLICATE DATABASE):
returns, waits, or raises ``WritesRefused``."""


class WritesRefused(Exception):
    """A write gate refuses writes to a database for now (the message says why and until when).
    Internal writers (the pipeline runner) treat it as transient; a client sees MySQL's 1290."""


class Service(Protocol):
    """A background part of the node."""

    async def start(self) -> None:
        """Start working; called once the MySQL listener is up."""

    async def stop(self) -> None:
        """Stop working; called in reverse order before the store closes."""


class ReplicationStatus(Protocol):
    """What the node's own views (SHOW DATABASES EXTENDED, /metrics) read from replication."""

    def replica_count(self, name: str) -> int:
        """How many replicas stream database ``name`` from this node now."""

    def details(self, name: str) -> str:
        """The Details column of SHOW DATABASES EXTENDED for ``name`` ('' when there is nothing to say)."""

    def status(self) -> Iterable[LinkStatus]:
        """One entry per end of a replication link on this node (SHOW REPLICATION STATUS's rows)."""


class _NoReplication:
    """The status of a node without the replication feature: no replicas, nothing to say."""

    def replica_count(self, name: str) -> int:
        return 0

    def details(self, name: str) -> str:
        return ""

    def status(self) -> Iterable[LinkStatus]:
        return ()


SYSTEM_SCHEMAS = ("information_schema", "sys")
"""Schemas of views built by the node (lower case): never a user database's name."""


def view_key(schema: str, table: str) -> str:
    """The registry's (and the scratch connection's) name of a system view: information_schema's
    by its upper-case name, the Yellowbrick ``sys`` schema's prefixed ``SYS.``."""
    return table.upper() if schema.lower() == "information_schema" else f"{schema.upper()}.{table.upper()}"
class Clusters(Protocol):
    """What the node core reads from the virtual clusters (server.pcr): which one a login lands in
    and which databases each one sees."""

    def login(self, database: str | None) -> tuple[str, str | None]:
        """(cluster, database) for the database name a client sent at login, or an SqlError."""

    def owns(self, cluster: str, database: str) -> bool:
        """Whether ``database`` belongs to virtual cluster ``cluster``."""

    def created(self, session: Session, database: str) -> None:
        """``session`` just created ``database``: it belongs to the session's cluster."""


class _SystemOnly:
    """A node without virtual clusters: every session and database is in ``system``."""

    def login(self, database: str | None) -> tuple[str, str | None]:
        return "system", database

    def owns(self, cluster: str, database: str) -> bool:
        return True

    def created(self, session: Session, database: str) -> None:
        pass


@dataclass(frozen=True)
class View:
    """An information_schema table a feature contributes."""

    columns: list[str]
    rows: RowsBuilder


class Features:
    """The registry one node holds. Registration happens before the node serves; afterwards the
    node only reads it."""

    def __init__(self) -> None:
        self._grammars = Grammars()  # sqlfront's one parse entry, with the features' grammars added
        self._commands: dict[type, Command] = {}
        self._shows: dict[str, ShowHandler] = {}
        self._views: dict[str, View] = {}
        self._services: list[Service] = []
        self._write_gates: list[WriteGate] = []
        self._commit: list[Callable[[Database, int], None]] = []
        self._promotion: list[Callable[[Database], None]] = []
        self._close: list[Callable[[Session], None]] = []
        self._drop: list[Callable[[str], Awaitable[None]]] = []
        self.replication: ReplicationStatus = _NoReplication()
        self.clusters: Clusters = _SystemOnly()

    # -- registration (features, from their install) -----------------------------------------------
    def add_parser(self, parser: Parser, *, first_words: Iterable[str]) -> None:
        """Offer ``parser`` the statement texts the cache does not know whose first word is one of
        ``first_words``, after the grammars registered before it (sqlfront.grammars.Grammars.register)."""
        self._grammars.register(parser, first_words=first_words)

    def add_command(self, kind: type, handler: Command) -> None:
        """Run commands of type ``kind`` (as a parser returns them) with ``handler``."""
        self._commands[kind] = handler

    def add_show(self, what: str, handler: ShowHandler) -> None:
        """Answer ``SHOW <what>`` (the ``what`` of ``sqlfront.statements.Show``)."""
        self._shows[what] = handler

    def add_view(self, name: str, columns: list[str], rows: RowsBuilder, schema: str = "information_schema") -> None:
        """Add ``<schema>.<name>`` (information_schema or sys) with ``columns``; ``rows`` builds its
        content per query."""
        self._views[view_key(schema, name)] = View(columns, rows)

    def add_service(self, service: Service) -> None:
        """Start ``service`` with the node and stop it (in reverse order) before the store closes."""
        self._services.append(service)

    def add_write_gate(self, gate: WriteGate) -> None:
        """Pass every write to a database through ``gate`` first (``Node.pass_write_gates``)."""
        self._write_gates.append(gate)

    def on_commit(self, listener: Callable[[Database, int], None]) -> None:
        """Call ``listener(db, lsn)`` after each client write transaction commits."""
        self._commit.append(listener)

    def on_promotion(self, listener: Callable[[Database], None]) -> None:
        """Call ``listener(db)`` after a replica database became a master (STOP REPLICATING)."""
        self._promotion.append(listener)

    def on_close(self, listener: Callable[[Session], None]) -> None:
        """Call ``listener(session)`` when a login ends (connection closed, or COM_CHANGE_USER)."""
        self._close.append(listener)

    def on_drop(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """Await ``listener(name)`` before DROP DATABASE removes database ``name``."""
        self._drop.append(listener)

    def set_replication(self, status: ReplicationStatus) -> None:
        """The replication status the node's views read."""
        self.replication = status

    def set_clusters(self, clusters: Clusters) -> None:
        """The virtual clusters sessions log into (server.pcr)."""
        self.clusters = clusters

    # -- use (the node, its sessions and views) ----------------------------------------------------
    def parse(self, text: str) -> Any:
        """The command for one statement: the grammars registered for its first word (sqlfront's and
        the features'), else MySQL's; raises SqlError."""
        return self._grammars.parse(text)

    def command(self, kind: type) -> Command | None:
        return self._commands.get(kind)

    def show(self, what: str) -> ShowHandler | None:
        return self._shows.get(what)

    def view(self, name: str) -> View | None:
        return self._views.get(name.upper())

    def views(self) -> dict[str, View]:
        """Every contributed view by its (upper-case) name."""
        return dict(self._views)

    async def start(self) -> None:
        for service in self._services:
            await service.start()

    async def stop(self) -> None:
        for service in reversed(self._services):
            await service.stop()

    async def gate_write(self, session: Session, name: str) -> None:
        for gate in self._write_gates:
            await gate(session, name)

    def committed(self, db: Database, lsn: int) -> None:
        for listener in self._commit:
            listener(db, lsn)

    def promoted(self, db: Database) -> None:
        for listener in self._promotion:
            listener(db)

    def closed(self, session: Session) -> None:
        for listener in self._close:
            listener(session)

    async def dropping(self, name: str) -> None:
        for listener in self._drop:
            await listener(name)
