"""The error catalogue: every error drlab sends carries a MySQL code, a SQLSTATE and a message.

Codes and SQLSTATEs follow MySQL's server error reference. Where a vendor (SingleStore) documents
no code for a situation, the closest MySQL error is used; docs/errors.md lists those choices.
"""

from __future__ import annotations


class SqlError(Exception):
    """An error the client sees as a MySQL ERR packet."""

    def __init__(self, code: int, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sqlstate = sqlstate or SQLSTATES.get(code, "HY000")

    def __repr__(self) -> str:
        return f"SqlError({self.code}, {self.sqlstate}, {self.message!r})"


# code -> SQLSTATE (MySQL 8.0 server error reference); anything missing is HY000.
SQLSTATES: dict[int, str] = {
    1007: "HY000",  # ER_DB_CREATE_EXISTS
    1008: "HY000",  # ER_DB_DROP_EXISTS
    1040: "08004",  # ER_CON_COUNT_ERROR
    1044: "42000",  # ER_DBACCESS_DENIED_ERROR
    1045: "28000",  # ER_ACCESS_DENIED_ERROR
    1046: "3D000",  # ER_NO_DB_ERROR
    1047: "08S01",  # ER_UNKNOWN_COM_ERROR
    1048: "23000",  # ER_BAD_NULL_ERROR
    1049: "42000",  # ER_BAD_DB_ERROR
    1050: "42S01",  # ER_TABLE_EXISTS_ERROR
    1051: "42S02",  # ER_BAD_TABLE_ERROR
    1054: "42S22",  # ER_BAD_FIELD_ERROR
    1060: "42S21",  # ER_DUP_FIELDNAME
    1061: "42000",  # ER_DUP_KEYNAME
    1062: "23000",  # ER_DUP_ENTRY
    1064: "42000",  # ER_PARSE_ERROR
    1065: "42000",  # ER_EMPTY_QUERY
    1091: "42000",  # ER_CANT_DROP_FIELD_OR_KEY
    1136: "21S01",  # ER_WRONG_VALUE_COUNT_ON_ROW
    1141: "42000",  # ER_NONEXISTING_GRANT
    1142: "42000",  # ER_TABLEACCESS_DENIED_ERROR
    1146: "42S02",  # ER_NO_SUCH_TABLE
    1149: "42000",  # ER_SYNTAX_ERROR
    1153: "08S01",  # ER_NET_PACKET_TOO_LARGE
    1193: "HY000",  # ER_UNKNOWN_SYSTEM_VARIABLE
    1210: "HY000",  # ER_WRONG_ARGUMENTS
    1227: "42000",  # ER_SPECIFIC_ACCESS_DENIED_ERROR
    1231: "42000",  # ER_WRONG_VALUE_FOR_VAR
    1235: "42000",  # ER_NOT_SUPPORTED_YET
    1242: "21000",  # ER_SUBQUERY_NO_1_ROW
    1243: "HY000",  # ER_UNKNOWN_STMT_HANDLER
    1264: "22003",  # ER_WARN_DATA_OUT_OF_RANGE
    1290: "HY000",  # ER_OPTION_PREVENTS_STATEMENT
    1364: "HY000",  # ER_NO_DEFAULT_FOR_FIELD
    1396: "HY000",  # ER_CANNOT_USER
    1406: "22001",  # ER_DATA_TOO_LONG
    1452: "23000",  # ER_NO_REFERENCED_ROW_2
    1043: "08S01",  # ER_HANDSHAKE_ERROR
    1067: "42000",  # ER_INVALID_DEFAULT
    1068: "42000",  # ER_MULTIPLE_PRI_KEY
    1072: "42000",  # ER_KEY_COLUMN_DOES_NOT_EXITS
    1075: "42000",  # ER_WRONG_AUTO_KEY
    1090: "42000",  # ER_CANT_REMOVE_ALL_FIELDS
    1101: "42000",  # ER_BLOB_CANT_HAVE_DEFAULT
    1102: "42000",  # ER_WRONG_DB_NAME
    1109: "42S02",  # ER_UNKNOWN_TABLE
    1133: "42000",  # ER_PASSWORD_NO_MATCH
    1170: "42000",  # ER_BLOB_KEY_WITHOUT_LENGTH
    1176: "42000",  # ER_KEY_DOES_NOT_EXITS
    1232: "42000",  # ER_WRONG_TYPE_FOR_VAR
    1280: "42000",  # ER_WRONG_NAME_FOR_INDEX
    1300: "HY000",  # ER_INVALID_CHARACTER_STRING
    1317: "70100",  # ER_QUERY_INTERRUPTED
    1927: "70100",  # ER_CONNECTION_KILLED
    3152: "42000",  # ER_JSON_USED_AS_KEY
}

ER_DB_CREATE_EXISTS = 1007
ER_DB_DROP_EXISTS = 1008
ER_CON_COUNT = 1040
ER_HANDSHAKE = 1043
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
ER_NO_DB = 1046
ER_UNKNOWN_COM = 1047
ER_BAD_NULL = 1048
ER_BAD_DB = 1049
ER_TABLE_EXISTS = 1050
ER_BAD_TABLE = 1051
ER_BAD_FIELD = 1054
ER_DUP_FIELDNAME = 1060
ER_DUP_KEYNAME = 1061
ER_DUP_ENTRY = 1062
ER_PARSE = 1064
ER_EMPTY_QUERY = 1065
ER_CANT_DROP_FIELD_OR_KEY = 1091
ER_UNKNOWN_ERROR = 1105
ER_WRONG_VALUE_COUNT_ON_ROW = 1136
ER_NONEXISTING_GRANT = 1141
ER_TABLEACCESS_DENIED = 1142
ER_NO_SUCH_TABLE = 1146
ER_NET_PACKET_TOO_LARGE = 1153
ER_UNKNOWN_SYSTEM_VARIABLE = 1193
ER_WRONG_ARGUMENTS = 1210
ER_SPECIFIC_ACCESS_DENIED = 1227
ER_WRONG_VALUE_FOR_VAR = 1231
ER_NOT_SUPPORTED_YET = 1235
ER_SUBQUERY_NO_1_ROW = 1242
ER_UNKNOWN_STMT_HANDLER = 1243
ER_OPTION_PREVENTS_STATEMENT = 1290
ER_NO_DEFAULT_FOR_FIELD = 1364
ER_CANNOT_USER = 1396
ER_DATA_TOO_LONG = 1406


ER_INVALID_CHARACTER_STRING = 1300
ER_STACK_OVERRUN = 1436


def not_supported(what: str) -> SqlError:
    """The error for MySQL syntax drlab recognises but does not implement: never a wrong result."""
    return SqlError(ER_NOT_SUPPORTED_YET, f"{what} is not supported by drlab")


def parse_error(near: str, line: int = 1) -> SqlError:
    """MySQL's wording for a syntax error, pointing at the text where parsing stopped."""
    near = near[:80]
    return SqlError(
        ER_PARSE,
        "You have an error in your SQL syntax; check the manual that corresponds to your "
        f"MySQL server version for the right syntax to use near '{near}' at line {line}",
    )


def too_deep() -> SqlError:
    """A statement nested too deeply to parse or run (MySQL: 1436 ER_STACK_OVERRUN)."""
    return SqlError(
        ER_STACK_OVERRUN,
        "Thread stack overrun: the statement nests expressions, parentheses or subqueries too deeply; "
        "flatten it (for example a long list of alternatives as col IN (...))",
    )
