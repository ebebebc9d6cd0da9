"""What replication refuses, as domain values. The node maps each class to a MySQL error code in
one table at its wire edge (server/dr.py); the messages already say what to do."""

from __future__ import annotations


class ReplicationError(Exception):
    """Base of every refusal the manager, a link or the source side reports."""


class UnknownDatabase(ReplicationError):
    """The named database does not exist (here, or on the source)."""


class DatabaseExists(ReplicationError):
    """REPLICATE DATABASE into a name that is taken (without WITH FORCE DIFFERENTIAL)."""


class WrongState(ReplicationError):
    """The database (or the source) is not in a role or state that allows the statement."""


class NotReady(ReplicationError):
    """The database is still provisioning: it has no consistent content yet."""


class HistoryMismatch(ReplicationError):
    """The two copies do not share the history the operation needs, or the source no longer keeps it."""


class Stopped(ReplicationError):
    """The link was stopped (PAUSE, STOP, DROP DATABASE, shutdown) before it caught up."""


# the MySQL client's own codes a link reports when it cannot reach its source (client-side, 2000 and up)
CR_CONN_HOST_ERROR = 2003  # cannot connect
CR_UNKNOWN_HOST = 2005
CR_SERVER_LOST = 2013  # the connection dropped


class LinkError(ReplicationError):
    """A failure talking to the source. ``remote_code`` is the MySQL error the source answered (or
    the client's 2003/2013 when it could not be reached): data from the other side, kept so the
    node can pass it on."""

    def __init__(self, remote_code: int, message: str) -> None:
        super().__init__(message)
        self.remote_code = remote_code

    @property
    def unreachable(self) -> bool:
        """The source could not be reached or the connection dropped (retrying may fix it)."""
        return self.remote_code >= 2000
