"""The one table from domain errors to MySQL errors, applied at the wire edge (server.connection).

Domains (read locks, pipelines, write gates; accounts and replication still build ``SqlError``s
themselves) raise errors that say what went wrong and what to do, with no MySQL code. Only this
table decides which code, and so which SQLSTATE, a client sees; docs/errors.md documents each.
"""

from __future__ import annotations

from server.features import WritesRefused
from server.locks import NotLockOwner
from server.pipelines import FilesRefused, NoSuchPipeline, PipelineExists, PipelineStateError
from sqlfront.errors import (
    ER_CONNECT_TO_FOREIGN_DATA_SOURCE,
    ER_OPTION_PREVENTS_STATEMENT,
    ER_SP_ALREADY_EXISTS,
    ER_SP_DOES_NOT_EXIST,
    ER_SPECIFIC_ACCESS_DENIED,
    ER_WRONG_ARGUMENTS,
    ErrorCode,
    SqlError,
)

CODES: dict[type[Exception], ErrorCode] = {
    WritesRefused: ER_OPTION_PREVENTS_STATEMENT,  # FLUSH TABLES WITH READ ONLY in effect
    NotLockOwner: ER_SPECIFIC_ACCESS_DENIED,
    NoSuchPipeline: ER_SP_DOES_NOT_EXIST,
    PipelineExists: ER_SP_ALREADY_EXISTS,
    PipelineStateError: ER_WRONG_ARGUMENTS,
    FilesRefused: ER_OPTION_PREVENTS_STATEMENT,  # MySQL's --secure-file-priv refusal
}


def to_sql_error(e: BaseException) -> SqlError | None:
    """The ERR a client sees for domain error ``e``; None when ``e`` is no domain error (a bug)."""
    if isinstance(e, SqlError):
        return e
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
