"""The error catalogue: every MySQL error code drlab sends, named once, with its SQLSTATE.

Codes and SQLSTATEs follow MySQL's server error reference. Where a vendor (SingleStore) documents
no code for a situation, the closest MySQL error is used; docs/errors.md lists every code here and
when drlab sends it (a unit test keeps the two, and the code that raises them, in step).

Only the wire edge and the language layer build ``SqlError``s; the domains (accounts, pipelines,
locks, replication) raise their own errors and ``server.errors`` maps them to these codes.
"""

from __future__ import annotations

from functools import cache


class ErrorCode(int):
    """A MySQL error code that knows its SQLSTATE."""

    sqlstate: str

    def __new__(cls, code: int, sqlstate: str) -> ErrorCode:
        self = super().__new__(cls, code)
        self.sqlstate = sqlstate
        return self


class SqlError(Exception):
    """An error the client sees as a MySQL ERR packet."""

    def __init__(self, code: int, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.code = int(code)  # a plain int from here on: it lands in result rows and tables
        self.message = message
        self.sqlstate = sqlstate or sqlstate_of(code)

    def __repr__(self) -> str:
        return f"SqlError({self.code}, {self.sqlstate}, {self.message!r})"


# Statements and sessions
ER_DB_CREATE_EXISTS = ErrorCode(1007, "HY000")
ER_DB_DROP_EXISTS = ErrorCode(1008, "HY000")
ER_CANT_FIND_FILE = ErrorCode(1017, "HY000")
ER_ILLEGAL_HA = ErrorCode(1031, "HY000")
ER_CON_COUNT = ErrorCode(1040, "08004")
ER_HANDSHAKE = ErrorCode(1043, "08S01")
ER_DBACCESS_DENIED = ErrorCode(1044, "42000")
ER_ACCESS_DENIED = ErrorCode(1045, "28000")
ER_NO_DB = ErrorCode(1046, "3D000")
ER_UNKNOWN_COM = ErrorCode(1047, "08S01")
ER_BAD_NULL = ErrorCode(1048, "23000")
ER_BAD_DB = ErrorCode(1049, "42000")
ER_TABLE_EXISTS = ErrorCode(1050, "42S01")
ER_BAD_TABLE = ErrorCode(1051, "42S02")
ER_BAD_FIELD = ErrorCode(1054, "42S22")
ER_DUP_FIELDNAME = ErrorCode(1060, "42S21")
ER_DUP_KEYNAME = ErrorCode(1061, "42000")
ER_DUP_ENTRY = ErrorCode(1062, "23000")
ER_PARSE = ErrorCode(1064, "42000")
ER_EMPTY_QUERY = ErrorCode(1065, "42000")
ER_INVALID_DEFAULT = ErrorCode(1067, "42000")
ER_MULTIPLE_PRI_KEY = ErrorCode(1068, "42000")
ER_KEY_COLUMN_DOES_NOT_EXIST = ErrorCode(1072, "42000")
ER_WRONG_AUTO_KEY = ErrorCode(1075, "42000")
ER_WRONG_FIELD_TERMINATORS = ErrorCode(1083, "42000")
ER_CANT_REMOVE_ALL_FIELDS = ErrorCode(1090, "42000")
ER_CANT_DROP_FIELD_OR_KEY = ErrorCode(1091, "42000")
ER_NO_SUCH_THREAD = ErrorCode(1094, "HY000")
ER_BLOB_CANT_HAVE_DEFAULT = ErrorCode(1101, "42000")
ER_WRONG_DB_NAME = ErrorCode(1102, "42000")
ER_UNKNOWN_ERROR = ErrorCode(1105, "HY000")
ER_UNKNOWN_TABLE = ErrorCode(1109, "42S02")
ER_PASSWORD_NO_MATCH = ErrorCode(1133, "42000")
ER_WRONG_VALUE_COUNT_ON_ROW = ErrorCode(1136, "21S01")
ER_NONEXISTING_GRANT = ErrorCode(1141, "42000")
ER_TABLEACCESS_DENIED = ErrorCode(1142, "42000")
ER_ILLEGAL_GRANT_FOR_TABLE = ErrorCode(1144, "42000")
ER_NO_SUCH_TABLE = ErrorCode(1146, "42S02")
ER_NONEXISTING_TABLE_GRANT = ErrorCode(1147, "42000")
ER_NET_PACKET_TOO_LARGE = ErrorCode(1153, "08S01")
ER_BLOB_KEY_WITHOUT_LENGTH = ErrorCode(1170, "42000")
ER_KEY_DOES_NOT_EXIST = ErrorCode(1176, "42000")
ER_UNKNOWN_SYSTEM_VARIABLE = ErrorCode(1193, "HY000")
ER_LOCK_WAIT_TIMEOUT = ErrorCode(1205, "HY000")
ER_WRONG_ARGUMENTS = ErrorCode(1210, "HY000")
ER_WRONG_USAGE = ErrorCode(1221, "HY000")
ER_SPECIFIC_ACCESS_DENIED = ErrorCode(1227, "42000")
ER_GLOBAL_VARIABLE = ErrorCode(1229, "HY000")
ER_WRONG_VALUE_FOR_VAR = ErrorCode(1231, "42000")
ER_WRONG_TYPE_FOR_VAR = ErrorCode(1232, "42000")
ER_NOT_SUPPORTED_YET = ErrorCode(1235, "42000")
ER_MASTER_FATAL_ERROR_READING_BINLOG = ErrorCode(1236, "HY000")
ER_INCORRECT_GLOBAL_LOCAL_VAR = ErrorCode(1238, "HY000")
ER_UNKNOWN_STMT_HANDLER = ErrorCode(1243, "HY000")
ER_WARN_TOO_FEW_RECORDS = ErrorCode(1261, "HY000")
ER_WARN_TOO_MANY_RECORDS = ErrorCode(1262, "HY000")
ER_WARN_DATA_OUT_OF_RANGE = ErrorCode(1264, "22003")
WARN_DATA_TRUNCATED = ErrorCode(1265, "HY000")
ER_WRONG_NAME_FOR_INDEX = ErrorCode(1280, "42000")
ER_OPTION_PREVENTS_STATEMENT = ErrorCode(1290, "HY000")
ER_INVALID_ON_UPDATE = ErrorCode(1294, "HY000")
ER_INVALID_CHARACTER_STRING = ErrorCode(1300, "HY000")
ER_SP_ALREADY_EXISTS = ErrorCode(1304, "42000")
ER_SP_DOES_NOT_EXIST = ErrorCode(1305, "42000")
ER_QUERY_INTERRUPTED = ErrorCode(1317, "70100")
ER_NO_DEFAULT_FOR_FIELD = ErrorCode(1364, "HY000")
ER_TRUNCATED_WRONG_VALUE_FOR_FIELD = ErrorCode(1366, "HY000")
ER_CANNOT_USER = ErrorCode(1396, "HY000")
ER_DATA_TOO_LONG = ErrorCode(1406, "22001")
ER_CANT_CREATE_USER_WITH_GRANT = ErrorCode(1410, "42000")
ER_CONNECT_TO_FOREIGN_DATA_SOURCE = ErrorCode(1429, "HY000")
ER_STACK_OVERRUN = ErrorCode(1436, "HY000")
ER_NO_REFERENCED_ROW_2 = ErrorCode(1452, "23000")
ER_FOREIGN_SERVER_EXISTS = ErrorCode(1476, "HY000")
ER_FOREIGN_SERVER_DOESNT_EXIST = ErrorCode(1477, "HY000")
ER_DROP_INDEX_FK = ErrorCode(1553, "HY000")
ER_VARIABLE_IS_READONLY = ErrorCode(1621, "HY000")
ER_PASSWORD_FORMAT = ErrorCode(1827, "HY000")
ER_FK_COLUMN_CANNOT_DROP = ErrorCode(1828, "HY000")
ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT = ErrorCode(1582, "42000")
ER_MALFORMED_PACKET = ErrorCode(1835, "HY000")
ER_CONNECTION_KILLED = ErrorCode(1927, "70100")
ER_JSON_USED_AS_KEY = ErrorCode(3152, "42000")
ER_CHECK_CONSTRAINT_VIOLATED = ErrorCode(3819, "HY000")
ER_CHECK_CONSTRAINT_DUP_NAME = ErrorCode(3822, "HY000")
ER_SCHEMA_READ_ONLY = ErrorCode(3989, "HY000")


@cache
def catalogue() -> dict[int, str]:
    """Every code above by number, with its constant's name."""
    return {v: k for k, v in globals().items() if isinstance(v, ErrorCode)}


def sqlstate_of(code: int) -> str:
    """The SQLSTATE for ``code``: the catalogue's, HY000 for a code it does not name (one relayed
    from another server, say)."""
    if isinstance(code, ErrorCode):
        return code.sqlstate
    name = catalogue().get(code)
    return globals()[name].sqlstate if name else "HY000"


def not_supported(what: str) -> SqlError:
    """The error for MySQL syntax drlab recognises but does not implement: never a wrong result."""
    return SqlError(ER_NOT_SUPPORTED_YET, f"{what} is not supported by drlab")


def parse_error(near: str, line: int = 1, expected: str | None = None) -> SqlError:
    """MySQL's wording for a syntax error, pointing at the text where parsing stopped; drlab's
    hand-written grammars append what they expected there."""
    near = near[:80]
    return SqlError(
        ER_PARSE,
        "You have an error in your SQL syntax; check the manual that corresponds to your "
        f"MySQL server version for the right syntax to use near '{near}' at line {line}"
        + ("" if expected is None else f": {expected}"),
    )


def too_deep() -> SqlError:
    """A statement nested too deeply to parse or run (MySQL: 1436 ER_STACK_OVERRUN)."""
    return SqlError(
        ER_STACK_OVERRUN,
        "Thread stack overrun: the statement nests expressions, parentheses or subqueries too deeply; "
        "flatten it (for example a long list of alternatives as col IN (...))",
    )
