"""The one table from domain errors to MySQL errors, applied at the wire edge (server.connection).

Domains (accounts, read locks, pipelines, write gates) raise errors that say what went wrong and
what to do, with no MySQL code. Only this table decides which code, and so which SQLSTATE, a
client sees; docs/errors.md documents each. A replication ``LinkError`` relays what another
MySQL server (a replication source) answered: ``relayed_code`` decides its code.
"""

from __future__ import annotations

from replication import errors as repl
from replication.protocol import MalformedStatement
from server import accounts as acc
from server.features import WritesRefused
from server.locks import NotLockOwner
from server.pipelines import FilesRefused, NoSuchPipeline, PipelineExists, PipelineStateError
from sqlfront.errors import (
    ER_ACCESS_DENIED,
    ER_BAD_DB,
    ER_CANNOT_USER,
    ER_CANT_CREATE_USER_WITH_GRANT,
    ER_CONNECT_TO_FOREIGN_DATA_SOURCE,
    ER_DB_CREATE_EXISTS,
    ER_DBACCESS_DENIED,
    ER_ILLEGAL_GRANT_FOR_TABLE,
    ER_MASTER_FATAL_ERROR_READING_BINLOG,
    ER_NONEXISTING_GRANT,
    ER_NONEXISTING_TABLE_GRANT,
    ER_OPTION_PREVENTS_STATEMENT,
    ER_PARSE,
    ER_PASSWORD_FORMAT,
    ER_PASSWORD_NO_MATCH,
    ER_QUERY_INTERRUPTED,
    ER_SP_ALREADY_EXISTS,
    ER_SP_DOES_NOT_EXIST,
    ER_SPECIFIC_ACCESS_DENIED,
    ER_TABLEACCESS_DENIED,
    ER_UNKNOWN_ERROR,
    ER_WRONG_ARGUMENTS,
    ER_WRONG_USAGE,
    ErrorCode,
    SqlError,
)

CODES: dict[type[Exception], ErrorCode] = {
    acc.AccessDenied: ER_ACCESS_DENIED,
    acc.DatabaseAccessDenied: ER_DBACCESS_DENIED,
    acc.TableAccessDenied: ER_TABLEACCESS_DENIED,
    acc.PrivilegeNeeded: ER_SPECIFIC_ACCESS_DENIED,
    acc.UserOperationFailed: ER_CANNOT_USER,
    acc.NoSuchAccount: ER_PASSWORD_NO_MATCH,
    acc.BadPasswordHash: ER_PASSWORD_FORMAT,
    acc.IllegalGrantLevel: ER_ILLEGAL_GRANT_FOR_TABLE,
    acc.GlobalPrivilegeOnDatabase: ER_WRONG_USAGE,
    acc.GrantCreatesNoUser: ER_CANT_CREATE_USER_WITH_GRANT,
    acc.NoSuchGrant: ER_NONEXISTING_GRANT,
    acc.NoSuchTableGrant: ER_NONEXISTING_TABLE_GRANT,
    WritesRefused: ER_OPTION_PREVENTS_STATEMENT,  # FLUSH TABLES WITH READ ONLY in effect
    NotLockOwner: ER_SPECIFIC_ACCESS_DENIED,
    NoSuchPipeline: ER_SP_DOES_NOT_EXIST,
    PipelineExists: ER_SP_ALREADY_EXISTS,
    PipelineStateError: ER_WRONG_ARGUMENTS,
    FilesRefused: ER_OPTION_PREVENTS_STATEMENT,  # MySQL's --secure-file-priv refusal
    MalformedStatement: ER_PARSE,  # an internal replication statement that does not parse
    repl.UnknownDatabase: ER_BAD_DB,
    repl.DatabaseExists: ER_DB_CREATE_EXISTS,
    repl.WrongState: ER_WRONG_ARGUMENTS,  # not a replica, already replicating, source not a primary
    repl.NotReady: ER_OPTION_PREVENTS_STATEMENT,  # still provisioning
    repl.HistoryMismatch: ER_MASTER_FATAL_ERROR_READING_BINLOG,
    repl.Stopped: ER_QUERY_INTERRUPTED,  # DROP DATABASE or shutdown while REPLICATE waited
    repl.ReplicationError: ER_UNKNOWN_ERROR,  # a link's unexpected failure, with its reason
}


def to_sql_error(e: BaseException) -> SqlError | None:
    """The ERR a client sees for domain error ``e``; None when ``e`` is no domain error (a bug)."""
    if isinstance(e, SqlError):
        return e
    if isinstance(e, repl.LinkError):
        return SqlError(relayed_code(e.remote_code), str(e))
    for cls in type(e).__mro__:
        code = CODES.get(cls)
        if code is not None:
            return SqlError(code, str(e))
    return None


def relayed_code(code: int) -> int:
    """The code a client sees for a failure another MySQL server reported to us as a client (a
    replication source): a server error passes through; a client-side one (2000 and up: cannot
    connect, connection lost) becomes ER_CONNECT_TO_FOREIGN_DATA_SOURCE. Replication's mapping
    hook: REPLICATE maps its link and source errors with this."""
    return code if code < 2000 else ER_CONNECT_TO_FOREIGN_DATA_SOURCE
