"""SHOW statements and information_schema, built from the node's state.

information_schema tables are materialised into the node's scratch SQLite connection when a query
reads them, then the client's query runs there unchanged (so WHERE, JOIN and ORDER BY all work).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlglot

from server.accounts import AccountError
from server.features import view_key
from sqlfront import statements as st
from sqlfront.ddl import Column, TableDef
from sqlfront.errors import (
    ER_BAD_DB,
    ER_NO_DB,
    ER_NO_SUCH_TABLE,
    ER_PARSE,
    ER_UNKNOWN_TABLE,
    SqlError,
    not_supported,
)
from storage.catalog import ZERO, Role, State
from storage.database import quote

if TYPE_CHECKING:
    from server.node import Node
    from server.session import Outcome, Session

# name -> column names; the rows come from the builders below
INFO_SCHEMA: dict[str, list[str]] = {
    "SCHEMATA": ["CATALOG_NAME", "SCHEMA_NAME", "DEFAULT_CHARACTER_SET_NAME", "DEFAULT_COLLATION_NAME", "SQL_PATH"],
    "TABLES": ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "ENGINE", "VERSION", "ROW_FORMAT",
               "TABLE_ROWS", "AVG_ROW_LENGTH", "DATA_LENGTH", "MAX_DATA_LENGTH", "INDEX_LENGTH", "DATA_FREE",
               "AUTO_INCREMENT", "CREATE_TIME", "UPDATE_TIME", "CHECK_TIME", "TABLE_COLLATION", "CHECKSUM",
               "CREATE_OPTIONS", "TABLE_COMMENT"],
    "COLUMNS": ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION", "COLUMN_DEFAULT",
                "IS_NULLABLE", "DATA_TYPE", "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH", "NUMERIC_PRECISION",
                "NUMERIC_SCALE", "DATETIME_PRECISION", "CHARACTER_SET_NAME", "COLLATION_NAME", "COLUMN_TYPE",
                "COLUMN_KEY", "EXTRA", "PRIVILEGES", "COLUMN_COMMENT", "GENERATION_EXPRESSION"],
    "STATISTICS": ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "NON_UNIQUE", "INDEX_SCHEMA", "INDEX_NAME",
                   "SEQ_IN_INDEX", "COLUMN_NAME", "COLLATION", "CARDINALITY", "SUB_PART", "PACKED", "NULLABLE",
                   "INDEX_TYPE", "COMMENT", "INDEX_COMMENT"],
    "KEY_COLUMN_USAGE": ["CONSTRAINT_CATALOG", "CONSTRAINT_SCHEMA", "CONSTRAINT_NAME", "TABLE_CATALOG",
                         "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION",
                         "POSITION_IN_UNIQUE_CONSTRAINT", "REFERENCED_TABLE_SCHEMA", "REFERENCED_TABLE_NAME",
                         "REFERENCED_COLUMN_NAME"],
    "TABLE_CONSTRAINTS": ["CONSTRAINT_CATALOG", "CONSTRAINT_SCHEMA", "CONSTRAINT_NAME", "TABLE_SCHEMA",
                          "TABLE_NAME", "CONSTRAINT_TYPE"],
    "REFERENTIAL_CONSTRAINTS": ["CONSTRAINT_CATALOG", "CONSTRAINT_SCHEMA", "CONSTRAINT_NAME",
                                "UNIQUE_CONSTRAINT_CATALOG", "UNIQUE_CONSTRAINT_SCHEMA", "UNIQUE_CONSTRAINT_NAME",
                                "MATCH_OPTION", "UPDATE_RULE", "DELETE_RULE", "TABLE_NAME", "REFERENCED_TABLE_NAME"],
    "VIEWS": ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "VIEW_DEFINITION", "CHECK_OPTION", "IS_UPDATABLE",
              "DEFINER", "SECURITY_TYPE", "CHARACTER_SET_CLIENT", "COLLATION_CONNECTION"],
    # drlab has no stored routines, triggers or events: these are always empty (mysqldump reads them)
    "ROUTINES": ["SPECIFIC_NAME", "ROUTINE_CATALOG", "ROUTINE_SCHEMA", "ROUTINE_NAME", "ROUTINE_TYPE", "DATA_TYPE",
                 "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH", "NUMERIC_PRECISION", "NUMERIC_SCALE",
                 "DATETIME_PRECISION", "CHARACTER_SET_NAME", "COLLATION_NAME", "DTD_IDENTIFIER", "ROUTINE_BODY",
                 "ROUTINE_DEFINITION", "EXTERNAL_NAME", "EXTERNAL_LANGUAGE", "PARAMETER_STYLE", "IS_DETERMINISTIC",
                 "SQL_DATA_ACCESS", "SQL_PATH", "SECURITY_TYPE", "CREATED", "LAST_ALTERED", "SQL_MODE",
                 "ROUTINE_COMMENT", "DEFINER", "CHARACTER_SET_CLIENT", "COLLATION_CONNECTION", "DATABASE_COLLATION"],
    "PARAMETERS": ["SPECIFIC_CATALOG", "SPECIFIC_SCHEMA", "SPECIFIC_NAME", "ORDINAL_POSITION", "PARAMETER_MODE",
                   "PARAMETER_NAME", "DATA_TYPE", "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH",
                   "NUMERIC_PRECISION", "NUMERIC_SCALE", "DATETIME_PRECISION", "CHARACTER_SET_NAME",
                   "COLLATION_NAME", "DTD_IDENTIFIER", "ROUTINE_TYPE"],
    "TRIGGERS": ["TRIGGER_CATALOG", "TRIGGER_SCHEMA", "TRIGGER_NAME", "EVENT_MANIPULATION", "EVENT_OBJECT_CATALOG",
                 "EVENT_OBJECT_SCHEMA", "EVENT_OBJECT_TABLE", "ACTION_ORDER", "ACTION_CONDITION", "ACTION_STATEMENT",
                 "ACTION_ORIENTATION", "ACTION_TIMING", "ACTION_REFERENCE_OLD_TABLE", "ACTION_REFERENCE_NEW_TABLE",
                 "ACTION_REFERENCE_OLD_ROW", "ACTION_REFERENCE_NEW_ROW", "CREATED", "SQL_MODE", "DEFINER",
                 "CHARACTER_SET_CLIENT", "COLLATION_CONNECTION", "DATABASE_COLLATION"],
    "EVENTS": ["EVENT_CATALOG", "EVENT_SCHEMA", "EVENT_NAME", "DEFINER", "TIME_ZONE", "EVENT_BODY", "EVENT_DEFINITION",
               "EVENT_TYPE", "EXECUTE_AT", "INTERVAL_VALUE", "INTERVAL_FIELD", "SQL_MODE", "STARTS", "ENDS", "STATUS",
               "ON_COMPLETION", "CREATED", "LAST_ALTERED", "LAST_EXECUTED", "EVENT_COMMENT", "ORIGINATOR",
               "CHARACTER_SET_CLIENT", "COLLATION_CONNECTION", "DATABASE_COLLATION"],
    "PROCESSLIST": ["ID", "USER", "HOST", "DB", "COMMAND", "TIME", "STATE", "INFO"],
    "ENGINES": ["ENGINE", "SUPPORT", "COMMENT", "TRANSACTIONS", "XA", "SAVEPOINTS"],
    "CHARACTER_SETS": ["CHARACTER_SET_NAME", "DEFAULT_COLLATE_NAME", "DESCRIPTION", "MAXLEN"],
    "COLLATIONS": ["COLLATION_NAME", "CHARACTER_SET_NAME", "ID", "IS_DEFAULT", "IS_COMPILED", "SORTLEN"],
    "GLOBAL_VARIABLES": ["VARIABLE_NAME", "VARIABLE_VALUE"],
    "SESSION_VARIABLES": ["VARIABLE_NAME", "VARIABLE_VALUE"],
}

_ENGINES = [("InnoDB", "DEFAULT", "drlab: SQLite materialised from a durable LMDB log", "YES", "NO", "YES")]
_CHARSETS = [("utf8mb4", "utf8mb4_general_ci", "UTF-8 Unicode", 4), ("utf8", "utf8_general_ci", "UTF-8 Unicode", 3),
             ("latin1", "latin1_swedish_ci", "cp1252 West European", 1), ("binary", "binary", "Binary pseudo charset", 1)]
_COLLATIONS = [("utf8mb4_general_ci", "utf8mb4", 45, "Yes", "Yes", 1), ("utf8mb4_bin", "utf8mb4", 46, "", "Yes", 1),
               ("utf8mb4_unicode_ci", "utf8mb4", 224, "", "Yes", 8), ("utf8_general_ci", "utf8", 33, "Yes", "Yes", 1),
               ("utf8_bin", "utf8", 83, "", "Yes", 1), ("latin1_swedish_ci", "latin1", 8, "Yes", "Yes", 1),
               ("binary", "binary", 63, "Yes", "Yes", 1)]


# The `mysql` system schema tools read (read-only; it reflects drlab's accounts: CREATE USER / GRANT
# change them). Table -> (column, privilege it shows as 'Y'/'N' or None).
_PRIV_COLUMNS = [("Select_priv", "SELECT"), ("Insert_priv", "INSERT"), ("Update_priv", "UPDATE"),
                 ("Delete_priv", "DELETE"), ("Create_priv", "CREATE"), ("Drop_priv", "DROP"),
                 ("Reload_priv", "RELOAD"), ("Process_priv", "PROCESS"), ("References_priv", "REFERENCES"),
                 ("Index_priv", "INDEX"), ("Alter_priv", "ALTER"), ("Show_db_priv", "SHOW DATABASES"),
                 ("Super_priv", "SUPER"), ("Lock_tables_priv", "LOCK TABLES"), ("Execute_priv", "EXECUTE"),
                 ("Repl_slave_priv", "REPLICATION SLAVE"), ("Repl_client_priv", "REPLICATION CLIENT"),
                 ("Create_user_priv", "CREATE USER")]
MYSQL_SCHEMA: dict[str, list[str]] = {
    "user": ["Host", "User", *[c for c, _ in _PRIV_COLUMNS], "Grant_priv", "plugin", "authentication_string",
             "password_expired", "account_locked"],
    "db": ["Host", "Db", "User", *[c for c, p in _PRIV_COLUMNS if p in ("SELECT", "INSERT", "UPDATE", "DELETE",
                                                                          "CREATE", "DROP", "REFERENCES", "INDEX",
                                                                          "ALTER", "LOCK TABLES", "EXECUTE")],
           "Grant_priv"],
    "tables_priv": ["Host", "Db", "User", "Table_name", "Grantor", "Timestamp", "Table_priv", "Column_priv"],
}


def mysql_schema_def(table: str) -> TableDef:
    """The definition of ``mysql.<table>``, or MySQL's 1146 for a table drlab does not serve."""
    columns = MYSQL_SCHEMA.get(table.lower())
    if columns is None:
        raise SqlError(ER_NO_SUCH_TABLE, f"Table 'mysql.{table}' doesn't exist")
    return TableDef(name=table.lower(), columns=[Column(c, "varchar(512)") for c in columns], indexes=[])


def _mysql_rows(node: Node, name: str) -> list[Sequence[Any]]:
    rows: list[Sequence[Any]] = []
    for acc in node.accounts.accounts():
        for (dbn, table), g in sorted(acc.grants.items()):
            yn = ["Y" if p in g.privileges else "N" for _, p in _PRIV_COLUMNS]
            grant = "Y" if g.grant_option else "N"
            if name == "user" and (dbn, table) == ("*", "*"):
                rows.append((acc.host, acc.user, *yn, grant, acc.plugin, acc.auth_string, "N", "N"))
            elif name == "db" and dbn != "*" and table == "*":
                keep = [v for (c, _), v in zip(_PRIV_COLUMNS, yn, strict=True) if c in MYSQL_SCHEMA["db"]]
                rows.append((acc.host, dbn, acc.user, *keep, grant))
            elif name == "tables_priv" and table != "*":
                rows.append((acc.host, dbn, acc.user, table, "", None,
                             ",".join(p.title() for p in sorted(g.privileges)), ""))
        if name == "user" and ("*", "*") not in acc.grants:
            rows.append((acc.host, acc.user, *["N"] * len(_PRIV_COLUMNS), "N", acc.plugin, acc.auth_string, "N", "N"))
    return rows


_NO_OBJECTS = {
    "events": ["Db", "Name", "Definer", "Time zone", "Type", "Execute at", "Interval value", "Interval field",
               "Starts", "Ends", "Status", "Originator", "character_set_client", "collation_connection",
               "Database Collation"],
    "triggers": ["Trigger", "Event", "Table", "Statement", "Timing", "Created", "sql_mode", "Definer",
                 "character_set_client", "collation_connection", "Database Collation"],
    "routine_status": ["Db", "Name", "Type", "Definer", "Modified", "Created", "Security_type", "Comment",
                       "character_set_client", "collation_connection", "Database Collation"],
}


def _out(columns: list[str], rows: Sequence[Sequence[Any]]) -> Outcome:
    from server.session import Outcome

    return Outcome(columns=columns, rows=list(rows))


def like_match(pattern: str, value: str) -> bool:
    """SQL LIKE (case-insensitive, as MySQL's default collation), with \\ escapes."""
    rx = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c)
        for c in re.findall(r"\\.|.", pattern, re.S)
        for c in [c[1] if len(c) == 2 else c]
    )
    return re.fullmatch(rx, value, re.I | re.S) is not None


def _filter(cmd: st.Show, columns: list[str], rows: Sequence[Sequence[Any]], like_col: int = 0) -> Sequence[Sequence[Any]]:
    if cmd.like is not None:
        rows = [r for r in rows if like_match(cmd.like, str(r[like_col]))]
    if cmd.where:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t(" + ", ".join(quote(c) for c in columns) + ")")
        conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})", [tuple(map(_plain, r)) for r in rows])
        try:
            where = sqlglot.transpile("SELECT * FROM t WHERE " + cmd.where, read="mysql", write="sqlite")[0]
            rows = conn.execute(where).fetchall()
        except Exception as e:
            raise SqlError(ER_PARSE, f"You have an error in your SQL syntax near '{cmd.where[:60]}': {e}") from None
        finally:
            conn.close()
    return rows


def _plain(v: Any) -> Any:
    return v if v is None or isinstance(v, (int, float, str, bytes)) else str(v)


def show(node: Node, session: Session, cmd: st.Show) -> Outcome:
    what = cmd.what
    if what == "databases":
        if cmd.extended:
            cols = ["Database", "Commits", "Role", "State", "Position", "Details", "AsyncSlaves", "SyncSlaves",
                    "ConsensusSlaves", "CommittedPosition", "HardenedPosition", "ReplayPosition", "Term",
                    "LastPageTerm", "Memory (MBs)", "Pending IOs"]
            rows = [databases_extended_row(node, n) for n in node.store.names() if _visible(node, session, n)]
            zero = str(ZERO)
            rows.insert(0, ("information_schema", 0, Role.MASTER, State.ONLINE, zero, "", 0, 0, 0, zero, zero, zero, 0, 0,
                            0.0, 0))
            col = "Database"
        else:
            col = "Database" + (f" ({cmd.like})" if cmd.like else "")
            cols = [col]
            rows = [("information_schema",)] + [(n,) for n in node.store.names() if _visible(node, session, n)]
        return _out(cols, _filter(cmd, cols, rows))
    if what == "tables":
        dbn = cmd.db or session.db
        if dbn is None:
            raise SqlError(ER_NO_DB, "No database selected")
        names = _table_names(node, session, dbn)
        col = f"Tables_in_{dbn}" + (f" ({cmd.like})" if cmd.like else "")
        cols = [col, "Table_type"] if cmd.full else [col]
        rows = [(n, "BASE TABLE") if cmd.full else (n,) for n in names]
        return _out(cols, _filter(cmd, cols, rows))
    if what == "columns":
        tdef = _tdef(node, session, cmd.db, cmd.table)
        if cmd.full:
            cols = ["Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"]
            rows = [(c.name, c.type, _collation(c), "YES" if c.nullable else "NO", _key(tdef, c), _default(c),
                     _extra(c), "select,insert,update,references", c.comment or "") for c in tdef.columns]
        else:
            cols = ["Field", "Type", "Null", "Key", "Default", "Extra"]
            rows = [(c.name, c.type, "YES" if c.nullable else "NO", _key(tdef, c), _default(c), _extra(c))
                    for c in tdef.columns]
        return _out(cols, _filter(cmd, cols, rows))
    if what == "create_table":
        tdef = _tdef(node, session, cmd.db, cmd.table)
        return _out(["Table", "Create Table"], [(tdef.name, _show_create(node, session, cmd.db, tdef))])
    if what == "create_database":
        if (cmd.db or "").lower() == "information_schema":
            return _out(["Database", "Create Database"],
                        [(cmd.db, f"CREATE DATABASE `{cmd.db}` /*!40100 DEFAULT CHARACTER SET utf8 */")])
        node.accounts.check(session.user, session.host, "USAGE", cmd.db)  # 1044 before 1049, as MySQL
        if node.store.get(cmd.db or "") is None:
            raise SqlError(ER_BAD_DB, f"Unknown database '{cmd.db}'")
        return _out(["Database", "Create Database"],
                    [(cmd.db, f"CREATE DATABASE `{cmd.db}` /*!40100 DEFAULT CHARACTER SET utf8mb4 */")])
    if what == "index":
        tdef = _tdef(node, session, cmd.db, cmd.table)
        cols = ["Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation", "Cardinality",
                "Sub_part", "Packed", "Null", "Index_type", "Comment", "Index_comment"]
        rows = [(tdef.name, 0 if i.unique or i.primary else 1, i.name, n + 1, c, "A", None, None, None,
                 "YES" if _col(tdef, c).nullable else "", "BTREE", "", "")
                for i in tdef.indexes for n, c in enumerate(i.columns)]
        return _out(cols, _filter(cmd, cols, rows))
    if what == "variables":
        source = node.globals.values if cmd.scope == "global" else session.vars
        rows = sorted((k, _var_text(v)) for k, v in source.items())
        cols = ["Variable_name", "Value"]
        return _out(cols, _filter(cmd, cols, rows))
    if what == "status":
        rows = sorted((k, str(v)) for k, v in status(node).items())
        cols = ["Variable_name", "Value"]
        return _out(cols, _filter(cmd, cols, rows))
    if what in ("warnings", "errors"):
        ws = session.warnings if what == "warnings" else [w for w in session.warnings if w.level == "Error"]
        return _out(["Level", "Code", "Message"], [(w.level, w.code, w.message) for w in ws])
    if what in ("warning_count", "error_count"):
        n = len(session.warnings) if what == "warning_count" else sum(1 for w in session.warnings if w.level == "Error")
        return _out([f"@@session.{what}"], [(n,)])
    if what == "processlist":
        node.accounts.check(session.user, session.host, "USAGE", None)
        cols = ["Id", "User", "Host", "db", "Command", "Time", "State", "Info"]
        return _out(cols, processlist(node, session, cmd.full))
    if what == "engines":
        cols = ["Engine", "Support", "Comment", "Transactions", "XA", "Savepoints"]
        return _out(cols, _filter(cmd, cols, _ENGINES))
    if what == "plugins":
        cols = ["Name", "Status", "Type", "Library", "License"]
        rows = [("mysql_native_password", "ACTIVE", "AUTHENTICATION", None, "GPL"),
                ("caching_sha2_password", "ACTIVE", "AUTHENTICATION", None, "GPL"),
                ("InnoDB", "ACTIVE", "STORAGE ENGINE", None, "GPL")]
        return _out(cols, _filter(cmd, cols, rows))
    if what == "charset":
        cols = ["Charset", "Description", "Default collation", "Maxlen"]
        return _out(cols, _filter(cmd, cols, [(a, c, b, d) for a, b, c, d in _CHARSETS]))
    if what == "collation":
        cols = ["Collation", "Charset", "Id", "Default", "Compiled", "Sortlen"]
        return _out(cols, _filter(cmd, cols, _COLLATIONS))
    if what == "table_status":
        dbn = cmd.db or session.db
        if dbn is None:
            raise SqlError(ER_NO_DB, "No database selected")
        cols = ["Name", "Engine", "Version", "Row_format", "Rows", "Avg_row_length", "Data_length",
                "Max_data_length", "Index_length", "Data_free", "Auto_increment", "Create_time", "Update_time",
                "Check_time", "Collation", "Checksum", "Create_options", "Comment"]
        if dbn.lower() != "information_schema":
            if node.store.get(dbn) is None:
                raise SqlError(ER_BAD_DB, f"Unknown database '{dbn}'")
            node.accounts.check(session.user, session.host, "USAGE", dbn)
        rows = [(r[2], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15], r[16], r[17],
                 r[18], r[19], r[20]) for r in _tables_rows(node, session, dbn)]
        return _out(cols, _filter(cmd, cols, rows))
    if what == "empty":
        return _out(["Value"], [])
    if what in _NO_OBJECTS:  # no events, triggers or stored routines exist in drlab
        if cmd.db is not None:
            session.database(cmd.db)
        return _out(_NO_OBJECTS[what], [])
    handler = node.features.show(what)
    if handler is not None:
        return handler(session, cmd)
    raise not_supported(f"SHOW {what.upper()}")


def _var_text(v: Any) -> str:
    return "" if v is None else str(v)


def status(node: Node) -> dict[str, Any]:
    return {
        "Uptime": int(time.time() - node.started),
        "Threads_connected": len(node.sessions),
        "Connections": node.stats["Connections"],
        "Questions": node.stats["Questions"],
        "Com_commit": node.stats["Com_commit"],
        "Connection_errors_max_connections": node.stats["Connection_errors_max_connections"],
    }


def processlist(node: Node, session: Session, full: bool) -> Sequence[Sequence[Any]]:
    now = time.time()
    rows = []
    for s in sorted(node.sessions.values(), key=lambda s: s.id):
        if s.user != session.user:
            try:
                node.accounts.check(session.user, session.host, "PROCESS", None)
            except AccountError:
                continue
        info = s.info if full else s.info[:100]
        started = s.stmt_started if s.command != "Sleep" else s.started
        rows.append((s.id, s.user, s.host, s.db, s.command, int(now - started), s.state, info or None))
    return rows


def _visible(node: Node, session: Session, dbn: str) -> bool:
    return (node.features.clusters.owns(session.cluster, dbn)
            and node.accounts.databases_visible(session.user, session.host, dbn))


def _table_names(node: Node, session: Session, dbn: str) -> list[str]:
    if dbn.lower() == "information_schema":
        return sorted(INFO_SCHEMA) + sorted(n for n in node.features.views() if "." not in n)
    db = node.store.get(dbn)
    if db is None:
        raise SqlError(ER_BAD_DB, f"Unknown database '{dbn}'")
    node.accounts.check(session.user, session.host, "USAGE", dbn)
    return [t.name for t in _readable_tables(node, session, dbn)]


def _readable_tables(node: Node, session: Session, dbn: str) -> list[TableDef]:
    """The tables of ``dbn`` this session may know of (any privilege on them), by name."""
    db = node.store.get(dbn)
    if db is None or not _visible(node, session, dbn):
        return []
    tdefs = sorted((node.table_def(db, t) for t in db.tables), key=lambda t: t.name.lower())
    return [t for t in tdefs if node.accounts.table_visible(session.user, session.host, dbn, t.name)]


def _tdef(node: Node, session: Session, dbn: str | None, table: str | None) -> TableDef:
    dbn = dbn or session.db
    if dbn is None:
        raise SqlError(ER_NO_DB, "No database selected")
    db = node.store.get(dbn)
    if db is None:
        raise SqlError(ER_BAD_DB, f"Unknown database '{dbn}'")
    session.check_priv("SELECT", dbn, table)
    if table is None or table.lower() not in db.tables:
        raise SqlError(ER_NO_SUCH_TABLE, f"Table '{dbn}.{table}' doesn't exist")
    return node.table_def(db, table)


def _show_create(node: Node, session: Session, dbn: str | None, tdef: TableDef) -> str:
    db = node.store.get(dbn or session.db or "")
    live = tdef
    if db is not None and tdef.auto_increment_column() is not None:
        row = db.reader.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (tdef.name,)).fetchone() if _has_seq(db) else None
        if row and row[0]:
            live = TableDef.from_json(tdef.to_json())
            live.auto_increment = row[0] + 1
    return live.show_create()


def _has_seq(db: Any) -> bool:
    return db.reader.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is not None


def _col(tdef: TableDef, name: str) -> Column:
    return next((c for c in tdef.columns if c.name.lower() == name.lower()), Column(name, "int"))


def _key(tdef: TableDef, c: Column) -> str:
    for idx in tdef.indexes:
        if idx.columns and idx.columns[0].lower() == c.name.lower():
            if idx.primary:
                return "PRI"
            if idx.unique and len(idx.columns) == 1:
                return "UNI"
            return "MUL"
    return ""


def _default(c: Column) -> Any:
    if c.default is None or c.default.upper() == "NULL":
        return None
    d = c.default
    if len(d) >= 2 and d[0] == d[-1] == "'":
        return d[1:-1].replace("''", "'")
    return d


def _extra(c: Column) -> str:
    parts = []
    if c.auto_increment:
        parts.append("auto_increment")
    if c.default and c.default.upper().startswith("CURRENT_TIMESTAMP"):
        parts.append("DEFAULT_GENERATED")
    if c.on_update_now:
        parts.append("on update CURRENT_TIMESTAMP")
    return " ".join(parts)


def _is_text(c: Column) -> bool:
    t = c.type.lower()
    return any(t.startswith(p) for p in ("char", "varchar", "text", "tinytext", "mediumtext", "longtext", "enum", "set", "json"))


def _collation(c: Column) -> str | None:
    if not _is_text(c):
        return None
    return c.collation or "utf8mb4_general_ci"


def databases_extended_row(node: Node, name: str) -> tuple[Any, ...]:
    db = node.store.get(name)
    assert db is not None
    info = db.info
    pos = str(info.position(db.applied_lsn))
    replicas = node.features.replication.replica_count(name)
    details = node.features.replication.details(name)
    return (name, db.applied_lsn, info.role, info.state, pos, details or info.details, replicas, 0, 0, pos, pos, pos,
            info.epoch, info.epoch, 0.0, 0)


# -- information_schema ----------------------------------------------------------------------------
def info_schema_columns(node: Node, table: str) -> list[str] | None:
    """The columns of an information_schema table (built in or contributed), None if unknown."""
    name = table.upper()
    if name in INFO_SCHEMA:
        return INFO_SCHEMA[name]
    view = node.features.view(name)
    return view.columns if view is not None else None


def info_schema_def(node: Node, schema: str, table: str) -> TableDef:
    name = view_key(schema, table)
    columns = info_schema_columns(node, name)
    if columns is None:
        raise SqlError(ER_UNKNOWN_TABLE, f"Unknown table '{table}' in {schema.lower()}")
    return _InfoSchemaDef(name=name, columns=[Column(c, "varchar(512)") for c in columns], indexes=[])


class _InfoSchemaDef(TableDef):
    """An information_schema view: its columns are declared as text but many hold numbers
    (PORT, MASTER_AGGREGATOR...), so comparisons on them are left as SQLite makes them."""

    def pads_spaces(self, col: Column) -> bool:
        return False


def _tables_rows(node: Node, session: Session, only: str | None = None) -> Sequence[Sequence[Any]]:
    rows: list[Sequence[Any]] = []
    for dbn in node.store.names() if only is None else [only]:
        db = node.store.get(dbn)
        for tdef in _readable_tables(node, session, dbn):
            assert db is not None
            count = db.reader.execute(f"SELECT COUNT(*) FROM {quote(tdef.name)}").fetchone()[0]
            auto = None
            if tdef.auto_increment_column() is not None and _has_seq(db):
                r = db.reader.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (tdef.name,)).fetchone()
                auto = (r[0] if r else 0) + 1
            rows.append(("def", dbn, tdef.name, "BASE TABLE", tdef.engine, 10, "Dynamic", count, 0, 0, 0, 0, 0,
                         auto, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(db.info.created)), None, None,
                         tdef.collation or "utf8mb4_general_ci", None, "", tdef.comment or ""))
    if only is None or only.lower() == "information_schema":  # its views, drlab's own included
        rows += [("def", "information_schema", name, "SYSTEM VIEW", "MEMORY", 10, "Fixed", None, 0, 0, 0, 0, 0,
                  None, None, None, None, "utf8_general_ci", None, "", "")
                 for name in _table_names(node, session, "information_schema")]
    return rows


def _info_rows(node: Node, session: Session, name: str) -> Sequence[Sequence[Any]]:
    if name == "SCHEMATA":
        return [("def", "information_schema", "utf8", "utf8_general_ci", None)] + [
            ("def", n, "utf8mb4", "utf8mb4_general_ci", None) for n in node.store.names() if _visible(node, session, n)]
    if name == "TABLES":
        return _tables_rows(node, session)
    if name in ("COLUMNS", "STATISTICS", "KEY_COLUMN_USAGE", "TABLE_CONSTRAINTS"):
        rows: list[Sequence[Any]] = []
        for dbn in node.store.names():
            for tdef in _readable_tables(node, session, dbn):
                rows += _table_info_rows(name, dbn, tdef)
        return rows
    if name == "PROCESSLIST":
        return processlist(node, session, True)
    if name == "ENGINES":
        return _ENGINES
    if name == "CHARACTER_SETS":
        return _CHARSETS
    if name == "COLLATIONS":
        return _COLLATIONS
    if name == "GLOBAL_VARIABLES":
        return [(k.upper(), _var_text(v)) for k, v in node.globals.values.items()]
    if name == "SESSION_VARIABLES":
        return [(k.upper(), _var_text(v)) for k, v in session.vars.items()]
    return []


def _table_info_rows(name: str, dbn: str, tdef: TableDef) -> list[Sequence[Any]]:
    rows: list[Sequence[Any]] = []
    if name == "COLUMNS":
        for pos, c in enumerate(tdef.columns, 1):
            base = c.type.split("(")[0].split()[0].lower()
            m = re.search(r"\((\d+)(?:,(\d+))?\)", c.type)
            length = int(m.group(1)) if m and _is_text(c) else (65535 if base == "text" else None)
            prec = int(m.group(1)) if m and base in ("decimal", "numeric") else _NUM_PREC.get(base)
            scale = int(m.group(2) or 0) if m and base in ("decimal", "numeric") else (0 if base in _NUM_PREC else None)
            rows.append(("def", dbn, tdef.name, c.name, pos, _default(c), "YES" if c.nullable else "NO", base,
                         length, length * 4 if length else None, prec, scale,
                         0 if base in ("datetime", "timestamp", "time") else None,
                         "utf8mb4" if _is_text(c) else None, _collation(c), c.type, _key(tdef, c), _extra(c),
                         "select,insert,update,references", c.comment or "", ""))
    elif name == "STATISTICS":
        for idx in tdef.indexes:
            for n, col in enumerate(idx.columns, 1):
                rows.append(("def", dbn, tdef.name, 0 if idx.unique or idx.primary else 1, dbn, idx.name, n, col,
                             "A", None, None, None, "YES" if _col(tdef, col).nullable else "", "BTREE", "", ""))
    elif name == "KEY_COLUMN_USAGE":
        for idx in tdef.indexes:
            if idx.primary or idx.unique:
                for n, col in enumerate(idx.columns, 1):
                    rows.append(("def", dbn, idx.name, "def", dbn, tdef.name, col, n, None, None, None, None))
    elif name == "TABLE_CONSTRAINTS":
        for idx in tdef.indexes:
            if idx.primary or idx.unique:
                rows.append(("def", dbn, idx.name, dbn, tdef.name, "PRIMARY KEY" if idx.primary else "UNIQUE"))
    return rows


_NUM_PREC = {"tinyint": 3, "smallint": 5, "mediumint": 7, "int": 10, "integer": 10, "bigint": 19, "float": 12,
             "double": 22}


def materialize_info_schema(node: Node, session: Session, conn: sqlite3.Connection) -> None:
    """(Re)build the information_schema tables in the scratch connection for one query."""
    for name, columns in list(INFO_SCHEMA.items()):
        rows = _info_rows(node, session, name)
        _fill(conn, name, columns, rows)
    for name, view in node.features.views().items():
        _fill(conn, name, view.columns, view.rows(node, session))
    for name, columns in MYSQL_SCHEMA.items():
        _fill(conn, "mysql." + name, columns, _mysql_rows(node, name))


def _fill(conn: sqlite3.Connection, name: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    conn.execute(f"CREATE TABLE {quote(name)}(" + ", ".join(f"{quote(c)} COLLATE NOCASE" for c in columns) + ")")
    if rows:
        conn.executemany(
            f"INSERT INTO {quote(name)} VALUES ({', '.join('?' * len(columns))})",
            [tuple(_plain(v) for v in r) for r in rows],
        )

