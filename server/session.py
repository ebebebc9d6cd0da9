"""A client session: its state (database, variables, transaction) and the execution of commands.

One way through the data: text -> ``sqlfront`` command (cached) -> checks (privilege, role/state) ->
storage (reader connection, or the database's single writer) -> ``Outcome``. Writes hold the
database's writer lock until commit; the lock is released before waiting for the group fsync so
concurrent writers share it (invariant 8 and group commit).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from server import variables as sysvars
from server.features import SYSTEM_SCHEMAS
from sqlfront import statements as st
from sqlfront.ddl import (
    TableDef,
    add_index,
    apply_alter,
    drop_index,
    index_from_create,
    rebuild_sql,
    table_from_create,
    table_like,
)
from sqlfront.errors import (
    ER_BAD_DB,
    ER_BAD_FIELD,
    ER_BAD_NULL,
    ER_BAD_TABLE,
    ER_CHECK_CONSTRAINT_VIOLATED,
    ER_DATA_TOO_LONG,
    ER_DUP_ENTRY,
    ER_ILLEGAL_HA,
    ER_NO_DB,
    ER_NO_SUCH_TABLE,
    ER_PARSE,
    ER_SP_DOES_NOT_EXIST,
    ER_TABLE_EXISTS,
    ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
    ER_UNKNOWN_ERROR,
    ER_UNKNOWN_SYSTEM_VARIABLE,
    ER_WRONG_VALUE_COUNT_ON_ROW,
    WARN_DATA_TRUNCATED,
    SqlError,
    not_supported,
    too_deep,
)
from sqlfront.lower import Lowered, lower, substitute, variables_in
from sqlfront.redact import redact
from sqlfront.shape import Rows
from storage.database import Database, quote

if TYPE_CHECKING:
    from server.node import Node


@dataclass
class Outcome:
    """What one statement produced: a result set (columns not None) or an OK."""

    columns: list[str] | None = None
    rows: Sequence[Sequence[Any]] = ()
    affected: int = 0
    insert_id: int = 0
    info: str = ""


@dataclass
class Plan:
    """A lowered DML statement, cached per (text, current database)."""

    lowered: Lowered
    home: str | None  # the database whose connection runs it; None: no user table (scratch)
    info_schema: bool
    count: Lowered | None = None  # SQL_CALC_FOUND_ROWS: the count without LIMIT, with its own params
    target_table: str | None = None
    autoinc: bool = False
    nparams: int = 0
    rows: int = 0  # rows of an INSERT ... VALUES (for IGNORE's warnings and the info text)
    ignore: bool = False


@dataclass
class Warning_:
    level: str
    code: int
    message: str

    def __post_init__(self) -> None:
        self.code = int(self.code)  # SHOW WARNINGS sends it as an integer column, not an ErrorCode


_CONSTRAINT = re.compile(r"(UNIQUE|NOT NULL|CHECK) constraint failed: (.*)")


class Session:
    def __init__(self, node: Node, connection_id: int) -> None:
        self.node = node
        self.id = connection_id
        self.user = ""
        self.host = ""
        self.db: str | None = None
        self.cluster = "system"  # the virtual cluster this session works in (server.pcr)
        self.vars: dict[str, Any] = dict(node.globals.values)
        self.user_vars: dict[str, Any] = {}
        self.txn_db: Database | None = None  # the database whose writer this session holds
        self.explicit_txn = False
        self.last_insert_id = 0
        self.row_count = -1
        self.found_rows = 0
        self.warnings: list[Warning_] = []
        self.stmt_time = datetime.now()
        self.client_found_rows = False
        self.command = "Sleep"
        self.state = ""
        self.info = ""
        self.started = time.time()
        self.stmt_started = time.time()
        self._savepoint = 0
        # The client's savepoints, oldest first: (name, SQLite savepoint, pending_ops then); the
        # SQLite one is None while the transaction has not begun writing.
        self.savepoints: list[tuple[str, str | None, int]] = []
        self.snapshots: dict[str, sqlite3.Connection] | None = None  # WITH CONSISTENT SNAPSHOT: db -> reader
        self.locked_tables = False  # LOCK TABLES ran: the next UNLOCK TABLES commits

    # -- status flags ------------------------------------------------------------------------------
    @property
    def autocommit(self) -> bool:
        return bool(self.vars["autocommit"])

    @property
    def in_transaction(self) -> bool:
        return self.explicit_txn or self.txn_db is not None

    # -- FunctionContext for sqlfront.functions ----------------------------------------------------
    def now(self) -> datetime:
        return self.stmt_time

    @property
    def connection_id(self) -> int:
        return self.id

    def account(self, current: bool) -> str:
        if not current:
            return f"{self.user}@{self.host}"
        acc = self.node.accounts.lookup(self.user, self.host)
        return f"{self.user}@{acc.host if acc is not None else self.host}"

    def server_version(self) -> str:
        return str(self.node.globals.values["version"])

    # -- entry points ------------------------------------------------------------------------------
    async def run(self, text: str, params: Sequence[Any] | None = None, plan: Any = None) -> Outcome:
        """Execute one statement (already split)."""
        self.stmt_time = datetime.now().replace(microsecond=0)
        self.stmt_started = time.time()
        if plan is not None:
            cmd = plan
        else:
            cmd, values = self.node.parse(text)
            if values is not None:
                params = values
        self.command, self.info = "Query", redact(text, cmd)[:100]
        if not isinstance(cmd, st.Show) or cmd.what not in ("warnings", "errors", "warning_count", "error_count"):
            self.warnings = []
        try:
            return await self._dispatch(cmd, params)
        finally:
            self.command, self.info = "Sleep", ""

    async def _dispatch(self, cmd: Any, params: Sequence[Any] | None) -> Outcome:
        node = self.node
        if isinstance(cmd, st.Dml):
            return await self._dml(cmd, params or ())
        if isinstance(cmd, st.Txn):
            return await self._txn(cmd)
        if isinstance(cmd, st.Savepoint):
            self._client_savepoint(cmd)
            return Outcome()
        if isinstance(cmd, st.SetStatement):
            return await self._set(cmd)
        if isinstance(cmd, st.SetNames):
            for v in ("character_set_client", "character_set_connection", "character_set_results"):
                self.vars[v] = cmd.charset
            return Outcome()
        if isinstance(cmd, st.Use):
            self.use(cmd.db)
            return Outcome()
        if isinstance(cmd, st.Show):
            return node.show(self, cmd)
        if isinstance(cmd, st.CreateDatabase):
            await self.implicit_commit()
            return await node.create_database(self, cmd.name, cmd.if_not_exists, cmd.hot_standby)
        if isinstance(cmd, st.DropDatabase):
            await self.implicit_commit()
            return await node.drop_database(self, cmd.name, cmd.if_exists)
        if isinstance(cmd, st.Ddl):
            await self.implicit_commit()
            try:
                return await self._ddl(cmd)
            finally:
                await self.implicit_commit()  # DDL commits itself too: never left in a transaction
        if isinstance(cmd, st.DropRoutine):
            await self.implicit_commit()
            where = f"{cmd.db or self.database(self.db).info.name}.{cmd.name}"
            if not cmd.if_exists:
                raise SqlError(ER_SP_DOES_NOT_EXIST, f"{cmd.kind} {where} does not exist")
            self.warnings.append(Warning_("Note", ER_SP_DOES_NOT_EXIST, f"{cmd.kind} {where} does not exist"))
            return Outcome()
        if isinstance(cmd, st.Checksum):
            return self._checksum(cmd)
        if isinstance(cmd, st.Kill):
            node.kill(self, cmd.id, cmd.query_only)
            return Outcome()
        if isinstance(cmd, st.NoOp):
            if cmd.commits:
                await self.implicit_commit()
            if cmd.what == "LOCK":
                self.locked_tables = True
            return Outcome()
        if cmd is not None and type(cmd).__module__ == "sqlfront.accounts":
            await self.implicit_commit()
            rows = node.accounts.execute(cmd, self.user, self.host)
            if rows is not None:
                return Outcome(columns=[f"Grants for {rows[0][1]}" if rows else "Grants"], rows=[(r[0],) for r in rows])
            return Outcome()
        handler = node.features.command(type(cmd))
        if handler is not None:
            return await handler(self, cmd)
        raise not_supported(type(cmd).__name__)

    def use(self, name: str) -> None:
        if name.lower() == "information_schema":
            self.db = "information_schema"
            return
        db = self.node.store.get(name)
        if db is None or not self.node.features.clusters.owns(self.cluster, name):
            raise SqlError(ER_BAD_DB, f"Unknown database '{name}'")
        self.node.accounts.check(self.user, self.host, "USAGE", name)
        self.db = name

    # -- transactions ------------------------------------------------------------------------------
    async def _txn(self, cmd: st.Txn) -> Outcome:
        action = cmd.action
        if action == "begin":
            await self.commit()
            self.explicit_txn = True
            if cmd.snapshot:  # every database as of now, for the transaction's plain reads
                self.snapshots = {}
                for name in self.node.store.names():
                    db = self.node.store.get(name)
                    if db is not None:
                        self.snapshots[name] = db.snapshot_reader()
        elif action == "commit":
            await self.commit()
        else:
            self.rollback()
        return Outcome()

    def _client_savepoint(self, cmd: st.Savepoint) -> None:
        """SAVEPOINT / ROLLBACK TO SAVEPOINT / RELEASE SAVEPOINT with MySQL's semantics: names are
        case-insensitive, a reused name moves the savepoint, ROLLBACK TO keeps the savepoint and
        drops the later ones, RELEASE drops it and the later ones; an unknown name is 1305. Outside
        a transaction (autocommit, no BEGIN) SAVEPOINT is accepted and ends with its statement."""
        key = cmd.name.lower()
        if cmd.action == "set":
            if not (self.explicit_txn or not self.autocommit):
                return
            self.savepoints = [sp for sp in self.savepoints if sp[0] != key]
            self.savepoints.append(self._open_savepoint(key))
            return
        at = next((i for i in range(len(self.savepoints) - 1, -1, -1) if self.savepoints[i][0] == key), None)
        if at is None:
            raise SqlError(ER_SP_DOES_NOT_EXIST, f"SAVEPOINT {cmd.name} does not exist")
        _, sqlite_name, mark = self.savepoints[at]
        db = self.txn_db
        if cmd.action == "rollback_to":
            if db is not None and sqlite_name is not None:
                db.rollback_to(sqlite_name, mark, keep=True)
            del self.savepoints[at + 1 :]
        else:
            if db is not None and sqlite_name is not None:
                db.release(sqlite_name)
            del self.savepoints[at:]

    def _open_savepoint(self, key: str) -> tuple[str, str | None, int]:
        """A savepoint in the SQLite transaction, or a pending one when none has begun yet."""
        if self.txn_db is None:
            return key, None, 0
        self._savepoint += 1
        name = f"u{self._savepoint}"
        return key, name, self.txn_db.savepoint(name)

    async def implicit_commit(self) -> None:
        """Commit the open transaction, as MySQL does before DDL and administrative statements."""
        if self.in_transaction:
            await self.commit()

    def _end_snapshot(self) -> None:
        for conn in (self.snapshots or {}).values():
            conn.close()
        self.snapshots = None

    async def commit(self) -> None:
        db, self.txn_db, self.explicit_txn = self.txn_db, None, False
        self.savepoints = []
        self._end_snapshot()
        if db is None:
            return
        try:
            res = db.commit()
        finally:
            self.node.release_writer(db, self)
        if res is not None:
            self.node.committed(db, res[0])
            if db.info.durability == "sync":
                await self.node.store.log.wait_durable(res[1])

    def rollback(self) -> None:
        db, self.txn_db, self.explicit_txn = self.txn_db, None, False
        self.savepoints = []
        self._end_snapshot()
        if db is None:
            return
        try:
            db.rollback()
        finally:
            self.node.release_writer(db, self)

    async def close(self) -> None:
        self.rollback()
        self.node.session_closed(self)

    # -- SET ---------------------------------------------------------------------------------------
    async def _set(self, cmd: st.SetStatement) -> Outcome:
        for scope, name, value_ast in cmd.assignments:
            if isinstance(value_ast, exp.Var) and value_ast.name.upper() == "DEFAULT":
                value = sysvars.DEFAULTS.get(name, (None, False))[0]
            else:
                value = self.evaluate(value_ast)
            if scope == "user":
                self.user_vars[name.lower()] = value
                continue
            if name in ("names", "character_set"):
                continue
            value = sysvars.normalize(name, value, scope)
            if scope == "global":
                self.node.accounts.check(self.user, self.host, "SUPER", None)
                self.node.globals.values[name] = value
                if name in sysvars.GLOBAL_ONLY:  # no session value: every session sees the new one
                    for other in self.node.sessions.values():
                        other.vars[name] = value
            if name == "autocommit" and value and not self.vars["autocommit"]:
                await self.commit()  # SET autocommit=1 commits an open transaction
            if name in ("last_insert_id", "insert_id") and scope != "global":
                self.last_insert_id = int(value or 0)
            if scope != "global" or name not in ("autocommit", *sysvars.SESSION_READ_ONLY):
                self.vars[name] = value
        return Outcome()

    def evaluate(self, ast: exp.Expression) -> Any:
        """Evaluate a scalar expression with no table (SET values, variables)."""
        out = self._select_scratch(exp.select(ast.copy()), ())
        return out.rows[0][0] if out.rows else None

    def variable(self, name: str, scope: str | None) -> Any:
        name = name.lower()
        if name == "warning_count":
            return len(self.warnings)
        if name == "error_count":
            return sum(1 for w in self.warnings if w.level == "Error")
        if name in ("last_insert_id", "identity"):
            return self.last_insert_id
        if name == "tx_isolation":
            name = "transaction_isolation"
        source = self.node.globals.values if scope == "global" else self.vars
        if name not in source:
            raise SqlError(ER_UNKNOWN_SYSTEM_VARIABLE, f"Unknown system variable '{name}'")
        return source[name]

    def substitute_vars(self, ast: exp.Expression) -> exp.Expression:
        """Bind @user and @@system variables as values (on a copy: parsed trees are cached)."""
        keys = variables_in(ast)
        if not keys:
            return ast
        values: dict[str, Any] = {}
        for key in keys:
            if key.startswith("@@"):
                name, scope = key[2:], None
                if "." in name:
                    scope, name = name.split(".", 1)
                values[key] = self.variable(name, "global" if scope == "global" else None)
            else:
                values[key] = self.user_vars.get(key[1:])
        return substitute(ast.copy(), values)

    # -- DML ---------------------------------------------------------------------------------------
    async def _dml(self, cmd: st.Dml, params: Sequence[Any]) -> Outcome:
        plan = self.node.plan(cmd, self)
        lw = plan.lowered
        for dbn, table in lw.tables_read:
            self.check_priv("SELECT", dbn, table)
        if lw.kind == "select":
            if plan.home is None:
                return self._select_scratch(cmd.ast, params, plan)
            db = self.database(plan.home)
            self._check_readable(db)
            if lw.locking and (self.explicit_txn or not self.autocommit):
                await self._lock_for_read(db)
            conn = db.writer if self.txn_db is db else db.reader
            if conn is db.reader and self.snapshots is not None and db.info.name in self.snapshots:
                conn = self.snapshots[db.info.name]
                if any(dbn is not None and dbn != db.info.name for dbn, _ in lw.tables_read):
                    raise not_supported("A query reading two databases inside START TRANSACTION WITH CONSISTENT SNAPSHOT")
            self.node.attach_for(conn, db, lw.tables_read)
            values = self._bind(lw, params)
            try:
                cur = conn.execute(lw.sql, values)
                rows = cur.fetchall()
            except sqlite3.Error as e:
                raise self._sqlite_error(e, db) from None
            self.found_rows = len(rows)
            if plan.count is not None:
                self.found_rows = conn.execute(plan.count.sql, self._bind(plan.count, params)).fetchone()[0]
            self.row_count = -1
            return Outcome(columns=[d[0] for d in cur.description], rows=rows)
        priv = {"insert": "INSERT", "replace": "INSERT", "update": "UPDATE", "delete": "DELETE"}[lw.kind]
        for db_name, table in lw.tables_written:
            self.check_priv(priv, db_name, table)
            if lw.kind == "replace":
                self.check_priv("DELETE", db_name, table)
        db = self.database(plan.home)
        return await self.write(db, lambda: self._run_write(db, plan, params))

    def describe(self, plan: Plan) -> list[str]:
        """Result column names of a SELECT, for COM_STMT_PREPARE's metadata (no row is read)."""
        lw = plan.lowered
        if plan.home is None:
            conn = self.node.scratch(self, info_schema=plan.info_schema)
        else:
            db = self.database(plan.home)
            conn = db.reader
            self.node.attach_for(conn, db, lw.tables_read)
        self.node.current.session = self
        try:
            cur = conn.execute(f"SELECT * FROM ({lw.sql}) LIMIT 0", self._bind(lw, [None] * plan.nparams))
        except sqlite3.Error as e:
            raise self._sqlite_error(e, None) from None
        return [d[0] for d in cur.description]

    def _bind(self, lw: Lowered, params: Sequence[Any]) -> list[Any]:
        out = [params[p.index] if p.index is not None else p.literal for p in lw.params]
        for i in lw.autoinc_params:
            if out[i] == 0 or out[i] == "0":
                out[i] = None
        return out

    def _run_write(self, db: Database, plan: Plan, params: Sequence[Any]) -> Outcome:
        lw = plan.lowered
        mark = db.pending_ops
        self.node.attach_for(db.writer, db, lw.tables_read)
        nrows = plan.rows
        try:
            if isinstance(params, Rows):  # a bulk load: every row bound to the one-row plan
                nrows = len(params)
                rowcount = db.execute_many(lw.sql, (self._bind(lw, row) for row in params))
            else:
                rowcount = db.execute(lw.sql, self._bind(lw, params)).rowcount
        except sqlite3.Error as e:
            raise self._sqlite_error(e, db) from None
        ops = db.ops_since(mark)
        if lw.upsert:
            inserted = sum(1 for op in ops if op[0] == "i")
            updated = sum(1 for op in ops if op[0] == "u")
            unchanged = max(rowcount - inserted - updated, 0)
            affected = inserted + 2 * updated + (unchanged if self.client_found_rows else 0)
        elif lw.kind == "replace":
            affected = sum(2 if op[0] == "u" else 1 for op in ops)
        elif lw.kind == "update":
            changed = sum(1 for op in ops if op[0] == "u")
            affected = rowcount if self.client_found_rows else changed
            self.info = f"Rows matched: {rowcount}  Changed: {changed}  Warnings: 0"
        else:
            affected = rowcount
        insert_id = 0
        if lw.kind in ("insert", "replace") and plan.autoinc:
            first = next((op[2] for op in ops if op[0] == "i" and op[1] == plan.target_table), None)
            if first is not None:
                insert_id = first
                self.last_insert_id = first
        self.row_count = affected
        info = self.info if lw.kind == "update" else ""
        if lw.kind in ("insert", "replace") and nrows:
            skipped = nrows - rowcount if plan.ignore else 0
            for _ in range(max(skipped, 0)):
                self.warnings.append(Warning_("Warning", ER_DUP_ENTRY, f"Duplicate entry for a unique key of '{plan.target_table}'; row skipped by INSERT IGNORE"))
            if nrows > 1:
                dups = sum(1 for op in ops if op[0] in ("u", "d")) if lw.kind == "replace" or lw.upsert else max(skipped, 0)
                info = f"Records: {nrows}  Duplicates: {dups}  Warnings: {len(self.warnings)}"
        return Outcome(affected=affected, insert_id=insert_id, info=info)

    async def _lock_for_read(self, db: Database) -> None:
        """A locking read (FOR UPDATE / FOR SHARE) in a transaction: MySQL locks the rows it reads
        until COMMIT; with one writer per database that is the database's writer, taken here and
        held until the transaction ends, and the read then sees the transaction's own state. A
        replica has no client writers, so its locking reads need no lock."""
        if self.txn_db is db or db.info.is_replica:
            return
        await self._begin_write(db)

    async def _begin_write(self, db: Database) -> None:
        """Join the open write transaction on ``db``, or pass the write gates (FLUSH TABLES WITH
        READ ONLY / READ LOCK), take ``db``'s writer and begin one."""
        self.check_writable(db)
        if self.txn_db is not None and self.txn_db is not db:
            raise not_supported("A transaction that writes to (or locks rows of) two databases")
        if self.txn_db is None:
            await self.node.pass_write_gates(self, db.info.name)
            await self.node.acquire_writer(db, self)
            try:
                db.begin()
            except BaseException:
                self.node.release_writer(db, self)
                raise
            self.txn_db = db
            # savepoints set before the transaction's first write mark its start
            self.savepoints = [self._open_savepoint(key) for key, _, _ in self.savepoints]

    async def write(self, db: Database, work: Any) -> Outcome:
        """Run ``work`` inside a write transaction on ``db`` (autocommit or the open one)."""
        await self._begin_write(db)
        explicit = self.explicit_txn or not self.autocommit
        if explicit:
            self._savepoint += 1
            name = f"s{self._savepoint}"
            mark = db.savepoint(name)
            try:
                out = work()
            except BaseException:
                db.rollback_to(name, mark)
                raise
            db.release(name)
            return out
        try:
            out = work()
        except BaseException:
            self.rollback()
            raise
        await self.commit()
        return out

    def _select_scratch(self, ast: exp.Expression, params: Sequence[Any], plan: Plan | None = None) -> Outcome:
        """Run a SELECT that reads no user database (functions, variables, information_schema)."""
        lw = lower(self.substitute_vars(ast), self.node.resolver(self, None))
        if isinstance(lw, list):
            lw = lw[0]
        conn = self.node.scratch(self, info_schema=plan.info_schema if plan else False)
        try:
            cur = conn.execute(lw.sql, self._bind(lw, params))
            rows = cur.fetchall()
        except sqlite3.Error as e:
            raise self._sqlite_error(e, None) from None
        self.found_rows = len(rows)
        return Outcome(columns=[d[0] for d in cur.description], rows=rows)

    # -- DDL ---------------------------------------------------------------------------------------
    def _table_ref(self, table: exp.Table) -> tuple[Database, str]:
        db = self.database(table.db or self.db)
        return db, table.name

    async def _ddl(self, cmd: st.Ddl) -> Outcome:
        kind = cmd.kind
        if kind in ("create_table", "create_table_like"):
            assert isinstance(cmd.ast, exp.Create)  # parse_create_table's
            target = cmd.ast.this.this if isinstance(cmd.ast.this, exp.Schema) else cmd.ast.this
            db, name = self._table_ref(target)
            self.check_priv("CREATE", db.info.name, name)
            if name.lower() in db.tables:
                if cmd.ast.args.get("exists"):
                    self.warnings.append(Warning_("Note", ER_TABLE_EXISTS, f"Table '{name}' already exists"))
                    return Outcome()
                raise SqlError(ER_TABLE_EXISTS, f"Table '{name}' already exists")
            if kind == "create_table_like":
                like_property = cmd.ast.find(exp.LikeProperty)
                assert like_property is not None  # what made the statement create_table_like
                like = like_property.this
                src_db, src_name = self._table_ref(like)
                tdef = table_like(self.node.table_def(src_db, src_name), name)
            else:
                if cmd.ast.expression is not None:
                    raise not_supported("CREATE TABLE ... SELECT")
                tdef = table_from_create(cmd.ast)
            tdef.name = name
            stmts = tdef.sqlite_create(name) + tdef.sqlite_triggers(name)
            return await self.write(db, lambda: self._logged(db, stmts, put=tdef))
        if kind == "drop_table":
            assert cmd.ast is not None
            by_db: dict[str, list[str]] = {}
            missing = []
            for t in cmd.ast.args.get("tables") or [cmd.ast.this]:
                dbn = t.db or self.db
                if dbn is None:
                    raise SqlError(ER_NO_DB, "No database selected")
                found = self.node.store.get(dbn)
                if found is None or t.name.lower() not in found.tables:
                    missing.append(f"{dbn}.{t.name}")
                    continue
                self.check_priv("DROP", dbn, t.name)
                by_db.setdefault(dbn, []).append(self.node.physical_name(found, t.name))
            if missing and not cmd.ast.args.get("exists"):
                raise SqlError(ER_BAD_TABLE, f"Unknown table '{','.join(missing)}'")
            for gone in missing:
                self.warnings.append(Warning_("Note", ER_BAD_TABLE, f"Unknown table '{gone}'"))
            for dbn, names in by_db.items():
                db = self.database(dbn)
                stmts = [f"DROP TABLE {quote(n)}" for n in names]
                await self.write(db, lambda db=db, stmts=stmts, names=names: self._logged(db, stmts, forget=names))
            return Outcome()
        if kind == "truncate":
            db, phys = self._named_table(cmd.tables[0])
            self.check_priv("DROP", db.info.name, phys)
            stmts = [f"DELETE FROM {quote(phys)}"]
            if db.writer.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone():
                stmts.append(f"DELETE FROM sqlite_sequence WHERE name = {_lit(phys)}")
            return await self.write(db, lambda: self._logged(db, stmts))
        if kind == "alter_table":
            assert cmd.ast is not None
            db, name = self._table_ref(cmd.ast.this)
            phys = self.node.physical_name(db, name)
            self.check_priv("ALTER", db.info.name, phys)
            old = self.node.table_def(db, phys)
            new, renames = apply_alter(old, cmd.ast)
            return await self.write(db, lambda: self._logged_rebuild(db, old, new, renames))
        if kind == "rename_table":
            for (adb, aname), (bdb, bname) in zip(cmd.tables[::2], cmd.tables[1::2], strict=True):
                db = self.database(adb or self.db)
                if (bdb or self.db) != db.info.name:
                    raise not_supported("RENAME TABLE across databases")
                phys = self.node.physical_name(db, aname)
                if bname.lower() in db.tables:
                    raise SqlError(ER_TABLE_EXISTS, f"Table '{bname}' already exists")
                old = self.node.table_def(db, phys)
                new = TableDef.from_json(old.to_json())
                new.name = bname
                await self.write(db, lambda db=db, old=old, new=new: self._logged_rebuild(db, old, new, None))
            return Outcome()
        if kind == "create_index":
            assert cmd.ast is not None
            index = index_from_create(cmd.ast)  # first: refuses (1235) the forms it cannot read
            db, tname = self._table_ref(cmd.ast.this.args["table"])
            phys = self.node.physical_name(db, tname)
            self.check_priv("INDEX", db.info.name, phys)
            old = self.node.table_def(db, phys)
            new = add_index(old, index)
            return await self.write(db, lambda: self._logged_rebuild(db, old, new, None, indexes_only=True))
        if kind == "keys":  # ALTER TABLE t DISABLE / ENABLE KEYS (mysqldump): InnoDB's note, as MySQL
            dbn, tname = st.split_qualified(cmd.text)
            db = self.database(dbn or self.db)
            phys = self.node.physical_name(db, tname)
            self.check_priv("ALTER", db.info.name, phys)
            self.warnings.append(Warning_("Note", ER_ILLEGAL_HA, f"Table storage engine for '{phys}' doesn't have this option"))
            return Outcome()
        if kind == "drop_index":
            assert cmd.index is not None
            db, phys = self._named_table(cmd.tables[0])
            old = self.node.table_def(db, phys)
            new = drop_index(old, cmd.index)
            return await self.write(db, lambda: self._logged_rebuild(db, old, new, None, indexes_only=True))
        raise not_supported(kind)

    def _named_table(self, name: tuple[str | None, str]) -> tuple[Database, str]:
        """The database and physical name of a (database, table) the statement named."""
        dbn, tname = name
        db = self.database(dbn or self.db)
        return db, self.node.physical_name(db, tname)

    def _rebuild(self, db: Database, old: TableDef, new: TableDef, renames: dict[str, str] | None, indexes_only: bool = False) -> list[str]:
        phys = old.name
        stmts: list[str] = []
        if indexes_only:
            for idx in old.indexes:
                if not idx.primary:
                    stmts.append(f"DROP INDEX IF EXISTS {quote(phys + '__' + idx.name)}")
            stmts += [s for s in new.sqlite_create(phys)[1:]]
        else:
            if renames is None:
                renames = {c.name: c.name for c in old.columns}
            stmts += rebuild_sql(old, new, renames, phys)
            if new.name != phys:
                stmts.append(f"ALTER TABLE {quote(phys)} RENAME TO {quote(new.name)}")
                for idx in new.indexes:
                    if not idx.primary:
                        stmts.append(f"DROP INDEX IF EXISTS {quote(phys + '__' + idx.name)}")
                stmts += new.sqlite_create(new.name)[1:]
            for trig in db.writer.execute(
                "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name = ?", (phys,)
            ).fetchall():
                stmts.append(f"DROP TRIGGER IF EXISTS {quote(trig[0])}")
            stmts += new.sqlite_triggers(new.name)
        return stmts

    def _logged_rebuild(self, db: Database, old: TableDef, new: TableDef, renames: dict[str, str] | None,
                        indexes_only: bool = False) -> Outcome:
        """Rebuild ``old`` as ``new`` and record ``new`` (under its new name, when renamed) in the catalog."""
        forget = [old.name] if new.name != old.name else []
        return self._logged(db, self._rebuild(db, old, new, renames, indexes_only), put=new, forget=forget)

    def _logged(self, db: Database, stmts: list[str], put: TableDef | None = None,
                forget: Sequence[str] = ()) -> Outcome:
        """Run DDL as logged SQL, then update storage's table catalog: ``forget`` those names,
        ``put`` that definition."""
        try:
            db.execute_logged_sql(stmts)
            for name in forget:
                db.forget_table(name)
            if put is not None:
                db.put_table(put.name, put.to_json())
        except sqlite3.Error as e:
            raise self._sqlite_error(e, db) from None
        return Outcome()

    def _checksum(self, cmd: st.Checksum) -> Outcome:
        rows: list[tuple[str, int | None]] = []
        for dbn, table in cmd.tables:
            dbn = dbn or self.db
            if dbn is None:
                raise SqlError(ER_NO_DB, "No database selected")
            db = self.node.store.get(dbn)
            self.check_priv("SELECT", dbn, table)
            if db is None or table.lower() not in db.tables:
                rows.append((f"{dbn}.{table}", None))
                self.warnings.append(Warning_("Error", ER_NO_SUCH_TABLE, f"Table '{dbn}.{table}' doesn't exist"))
                continue
            self._check_readable(db)
            rows.append((f"{dbn}.{table}", db.checksum(self.node.physical_name(db, table))))
        return Outcome(columns=["Table", "Checksum"], rows=rows)

    # -- checks ------------------------------------------------------------------------------------
    def database(self, name: str | None) -> Database:
        """The database ``name``, or the MySQL error for no database selected (None) or an unknown one."""
        if name is None:
            raise SqlError(ER_NO_DB, "No database selected")
        db = self.node.store.get(name)
        if db is None:
            raise SqlError(ER_BAD_DB, f"Unknown database '{name}'")
        return db

    def check_priv(self, priv: str, db: str | None, table: str | None) -> None:
        """Raise unless this session's account holds ``priv`` on ``db`` (the current one when None)."""
        if db is not None and db.lower() in SYSTEM_SCHEMAS:
            return
        if db is not None and not self.node.features.clusters.owns(self.cluster, db):
            raise SqlError(ER_BAD_DB, f"Unknown database '{db}'")  # it belongs to another virtual cluster
        self.node.accounts.check(self.user, self.host, priv, db or self.db, table)

    def _check_readable(self, db: Database) -> None:
        self.node.check_readable(db)

    def check_writable(self, db: Database) -> None:
        """Raise unless clients may write ``db`` (a master, online): replicas are read-only."""
        self.node.check_writable(self, db)

    def _sqlite_error(self, e: sqlite3.Error, db: Database | None) -> SqlError:
        msg = str(e)
        m = _CONSTRAINT.match(msg)
        if m:
            kind, what = m.groups()
            if kind == "UNIQUE":
                table = what.split(",")[0].split(".")[0].strip()
                cols = [c.strip().split(".", 1)[-1] for c in what.split(",")]
                key = "PRIMARY"
                if db is not None and table.lower() in db.tables:
                    tdef = TableDef.from_json(db.tables[table.lower()])
                    for idx in tdef.indexes:
                        if [c.lower() for c in idx.columns] == [c.lower() for c in cols]:
                            key = idx.name
                            break
                return SqlError(ER_DUP_ENTRY, f"Duplicate entry for key '{key}' (columns {', '.join(cols)})")
            if kind == "NOT NULL":
                return SqlError(ER_BAD_NULL, f"Column '{what.split('.')[-1]}' cannot be null")
            if not what.startswith(("drlab_enum_", "drlab_len_")):  # the table's own CHECK
                return SqlError(ER_CHECK_CONSTRAINT_VIOLATED, f"Check constraint '{what}' is violated.")
            col = what.replace("drlab_enum_", "").replace("drlab_len_", "")
            if "drlab_len_" in what:
                return SqlError(ER_DATA_TOO_LONG, f"Data too long for column '{col}' at row 1")
            return SqlError(WARN_DATA_TRUNCATED, f"Data truncated for column '{col}' at row 1")
        m = re.match(r"no such table: (?:\w+\.)?(.+)", msg)
        if m:
            return SqlError(ER_NO_SUCH_TABLE, f"Table '{(db.info.name + '.') if db else ''}{m.group(1)}' doesn't exist")
        m = re.match(r"no such column: (.+)", msg)
        if m:
            return SqlError(ER_BAD_FIELD, f"Unknown column '{m.group(1)}' in 'field list'")
        if "values for" in msg and "columns" in msg or "has" in msg and "columns but" in msg:
            return SqlError(ER_WRONG_VALUE_COUNT_ON_ROW, "Column count doesn't match value count at row 1")
        if "datatype mismatch" in msg:
            return SqlError(ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, "Incorrect integer value for an integer column")
        if "Expression tree is too large" in msg or "parser stack overflow" in msg:
            return too_deep()
        if isinstance(e, sqlite3.OperationalError) and (
                "syntax error" in msg or msg == "incomplete input" or msg.startswith("unrecognized token")):
            return SqlError(ER_PARSE, f"You have an error in your SQL syntax: {msg}")
        return SqlError(ER_UNKNOWN_ERROR, f"Unknown error: {msg}")


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


__all__ = ["Session", "Outcome", "Plan", "Warning_"]
