"""A drlab node: the master aggregator of a one-node cluster. Owns the store, the accounts, the
sessions, the statement caches and the per-database writer locks."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections import OrderedDict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlglot import exp

from server import show
from server.accounts import Accounts
from server.features import SYSTEM_SCHEMAS, Features, view_key
from server.session import Outcome, Plan, Session
from server.variables import GlobalVariables
from sqlfront import functions
from sqlfront import statements as st
from sqlfront.ddl import TableDef
from sqlfront.errors import (
    ER_BAD_DB,
    ER_DB_CREATE_EXISTS,
    ER_DB_DROP_EXISTS,
    ER_LOCK_WAIT_TIMEOUT,
    ER_NO_DB,
    ER_NO_SUCH_TABLE,
    ER_NO_SUCH_THREAD,
    ER_OPTION_PREVENTS_STATEMENT,
    ER_SCHEMA_READ_ONLY,
    ER_UNKNOWN_TABLE,
    ER_WRONG_DB_NAME,
    SqlError,
    not_supported,
)
from sqlfront.lower import is_replace, lower, replace_as_insert, variables_in
from sqlfront.shape import literal_rows, literal_shape, shape_is_safe
from storage.database import Database, quote
from storage.store import Store

_CACHE_SIZE = 4096


_TIME = re.compile(r"(-)?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?")


def _time(b: bytes) -> Any:
    """A TIME column's value as a timedelta (MySQL's range, -838:59:59 to 838:59:59), so it is
    sent typed TIME and drivers hand applications a timedelta, as MySQL's do."""
    m = _TIME.fullmatch(b.decode())
    if m is None:
        return b.decode()
    sign, h, mi, sec, frac = m.groups()
    value = timedelta(hours=int(h), minutes=int(mi), seconds=int(sec), microseconds=int((frac or "0").ljust(6, "0")))
    return -value if sign else value


def register_converters() -> None:
    """PARSE_DECLTYPES converters: DATETIME/DATE/TIME/DECIMALn columns come back as typed values, so
    result sets carry MySQL's column types (drivers then hand apps datetime and Decimal).

    They are process-wide (sqlite3's own registry), so the composition root calls this once at
    start-up; importing this module changes nothing."""
    from datetime import date, datetime

    def dt(b: bytes) -> Any:
        s = b.decode()
        try:
            return datetime.fromisoformat(s)
        except ValueError:
            return s

    def d(b: bytes) -> Any:
        s = b.decode()
        try:
            return date.fromisoformat(s)
        except ValueError:
            return s

    sqlite3.register_converter("DATETIME", dt)
    sqlite3.register_converter("TIMESTAMP", dt)
    sqlite3.register_converter("DATE", d)

    def temporal(b: bytes) -> Any:  # a computed DATE or DATETIME (see sqlfront.lower._temporal)
        return d(b) if len(b) == 10 else dt(b)

    sqlite3.register_converter("MYSQL_TEMPORAL", temporal)
    sqlite3.register_converter("TIME", _time)
    for scale in range(0, 31):
        q = Decimal(1).scaleb(-scale)

        def dec(b: bytes, q: Decimal = q) -> Any:
            try:
                return Decimal(b.decode()).quantize(q)
            except Exception:
                return b.decode()

        sqlite3.register_converter(f"DECIMAL{scale}", dec)


class _Current:
    """The FunctionContext SQLite functions see: the session whose statement is running.

    Statements run synchronously on the event loop, so one pointer, set before each execution,
    is exact."""

    def __init__(self) -> None:
        object.__setattr__(self, "session", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "session"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "session":
            object.__setattr__(self, name, value)
        else:
            setattr(object.__getattribute__(self, "session"), name, value)


class Resolver:
    """Maps MySQL table references to SQLite names for a statement run on ``home``'s connection."""

    def __init__(self, node: Node, current_db: str | None, home: str | None) -> None:
        self.node = node
        self.current_db = current_db
        self.home = home

    def physical(self, db: str | None, table: str) -> str:
        dbn = db or self.current_db
        if dbn is None:
            raise SqlError(ER_NO_DB, "No database selected")
        if dbn.lower() in SYSTEM_SCHEMAS:
            if self.home is not None:
                raise not_supported(f"Joining {dbn.lower()} with user tables")
            name = view_key(dbn, table)
            if show.info_schema_columns(self.node, name) is None:
                raise SqlError(ER_UNKNOWN_TABLE, f"Unknown table '{table}' in {dbn.lower()}")
            return quote(name)
        if dbn.lower() == "mysql" and self.node.store.get(dbn) is None:  # the read-only system schema
            if self.home is not None:
                raise not_supported("Joining the mysql system schema with user tables")
            return quote("mysql." + show.mysql_schema_def(table).name)
        d = self.node.store.get(dbn)
        if d is None:
            raise SqlError(ER_NO_SUCH_TABLE, f"Table '{dbn}.{table}' doesn't exist")
        self.node.check_readable(d)
        phys = self.node.physical_name(d, table)
        return quote(phys) if dbn == self.home else f"{quote(dbn)}.{quote(phys)}"

    def table(self, db: str | None, table: str) -> TableDef:
        dbn = db or self.current_db
        if dbn is not None and dbn.lower() in SYSTEM_SCHEMAS:
            return show.info_schema_def(self.node, dbn, table)
        if dbn is not None and dbn.lower() == "mysql" and self.node.store.get(dbn) is None:
            return show.mysql_schema_def(table)
        d = self.node.store.get(dbn) if dbn else None
        if d is None:
            raise SqlError(ER_NO_SUCH_TABLE, f"Table '{dbn}.{table}' doesn't exist")
        return self.node.table_def(d, table)


class Node:
    def __init__(self, data_dir: Path, name: str, root_password: str, port: int = 3306) -> None:
        self.name = name
        self.started = time.time()
        self.current = _Current()
        self.store = Store(data_dir, self._configure)
        self.accounts = Accounts(
            lambda: self.store.log.meta_get("accounts"),
            lambda b: self.store.log.meta_put("accounts", b),
            root_password,
        )
        self.globals = GlobalVariables(port=port, hostname=name)
        self.sessions: dict[int, Session] = {}
        self.connections: dict[int, Any] = {}
        self.clients: set[Any] = set()  # every open client connection, logged in or not (max_connections)
        self._parse_cache: OrderedDict[str, Any] = OrderedDict()
        self._unsafe_shapes: set[str] = set()
        self._plan_cache: OrderedDict[tuple[str, str | None], Plan] = OrderedDict()
        self._tdefs: dict[tuple[int, str], TableDef] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, tuple[Session, asyncio.Lock]] = {}
        self._scratch = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False,
                                        detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
        self._configure(self._scratch)
        self._attached: dict[int, set[str]] = {}
        self.features = Features()  # filled by the composition root (server.app) before serving
        self.address = f"127.0.0.1:{port}"  # host:port this node serves on (set by the listener)
        self.host_map: dict[str, str] = {}  # host names only a lab knows (service -> loopback address)
        self.stats = {"Questions": 0, "Com_commit": 0, "Connections": 0, "Connection_errors_max_connections": 0}

    async def start(self) -> None:
        await self.features.start()

    async def stop(self) -> None:
        await self.features.stop()

    def _configure(self, conn: sqlite3.Connection) -> None:
        functions.register(conn, self.current)

    def close(self) -> None:
        self.store.close()

    # -- parsing and plans -------------------------------------------------------------------------
    def parse(self, text: str, shape: bool = True) -> tuple[Any, list[Any] | None]:
        """The command for a statement text, and the values of its literals when it was shaped."""
        cmd = self._parse_cache.get(text)
        if cmd is not None:
            self._parse_cache.move_to_end(text)
            return cmd, None
        st.check_utf8(text)
        shaped = literal_shape(text) if shape else None
        if shaped is None and shape:
            shaped = literal_rows(text)  # a bulk load: one row's shape, every row bound to it
        if shaped is not None:
            form, values = shaped
            cmd = self._shaped(form)
            if cmd is not None:
                return cmd, values
        cmd = self.features.parse(text)
        if getattr(cmd, "cacheable", True) and (not isinstance(cmd, st.Dml) or not variables_in(cmd.ast)):
            self._remember(text, cmd)
        return cmd, None

    def _shaped(self, form: str) -> st.Dml | None:
        """The parsed command of a statement shape, when its placeholders stand only for values
        (cached; a shape found unsafe is remembered and parsed as text from then on)."""
        cmd = self._parse_cache.get(form)
        if cmd is None and form not in self._unsafe_shapes:
            try:
                cmd = self.features.parse(form)
            except SqlError:
                cmd = None
            if isinstance(cmd, st.Dml) and shape_is_safe(cmd.ast) and not variables_in(cmd.ast):
                self._remember(form, cmd)
            else:
                cmd = None
                if len(self._unsafe_shapes) > _CACHE_SIZE:
                    self._unsafe_shapes.clear()
                self._unsafe_shapes.add(form)
        return cmd

    def _remember(self, text: str, cmd: Any) -> None:
        self._parse_cache[text] = cmd
        if len(self._parse_cache) > _CACHE_SIZE:
            self._parse_cache.popitem(last=False)

    def plan(self, cmd: st.Dml, session: Session) -> Plan:
        key = (cmd.text, session.db)
        plan = self._plan_cache.get(key)
        if plan is not None:
            return plan
        ast = cmd.ast
        if variables_in(ast):
            ast = session.substitute_vars(ast)
        home, info = _home(ast, session.db)
        lw = lower(ast, Resolver(self, session.db, None if info else home))
        if isinstance(lw, list):
            raise not_supported("This statement form")
        plan = Plan(lw, None if info else home, info)
        if lw.calc_found_rows:
            nolimit = ast.copy()
            nolimit.set("limit", None)
            nolimit.set("offset", None)
            inner = lower(nolimit, Resolver(self, session.db, home))
            assert not isinstance(inner, list)
            inner.sql = f"SELECT COUNT(*) FROM ({inner.sql})"
            plan.count = inner
        if lw.kind in ("insert", "replace") and home is not None and lw.tables_written:
            wdb, wt = lw.tables_written[0]
            d = self.store.get(wdb or session.db or "")
            if d is not None:
                tdef = self.table_def(d, wt)
                plan.target_table = tdef.name
                plan.autoinc = tdef.auto_increment_column() is not None
        plan.nparams = len({p.index for p in lw.params if p.index is not None})  # a '?' may be read twice
        insert = replace_as_insert(ast) if is_replace(ast) else ast
        if isinstance(insert, exp.Insert):
            values = insert.expression
            plan.rows = len(values.expressions) if isinstance(values, exp.Values) else 0
            plan.ignore = bool(insert.args.get("ignore"))
        if cmd.ast is ast:  # plans of statements with @variables depend on their values: not cached
            self._plan_cache[key] = plan
            if len(self._plan_cache) > _CACHE_SIZE:
                self._plan_cache.popitem(last=False)
        return plan

    def invalidate_plans(self) -> None:
        self._plan_cache.clear()
        self._tdefs.clear()

    def resolver(self, session: Session, home: str | None) -> Resolver:
        return Resolver(self, session.db, home)

    def table_def(self, db: Database, table: str) -> TableDef:
        raw = db.tables.get(table.lower())
        if raw is None:
            raise SqlError(ER_NO_SUCH_TABLE, f"Table '{db.info.name}.{table}' doesn't exist")
        key = (db.info.id, raw)
        tdef = self._tdefs.get(key)
        if tdef is None:
            tdef = TableDef.from_json(raw)
            self._tdefs[key] = tdef
        return tdef

    def physical_name(self, db: Database, table: str) -> str:
        return self.table_def(db, table).name

    def scratch(self, session: Session, info_schema: bool) -> sqlite3.Connection:
        self.current.session = session
        if info_schema:
            show.materialize_info_schema(self, session, self._scratch)
        return self._scratch

    def attach_for(self, conn: sqlite3.Connection, home: Database, tables: list[tuple[str | None, str]]) -> None:
        """ATTACH the other databases a statement reads (SQLite names them "db"."t")."""
        for dbn, _ in tables:
            if dbn is None or dbn == home.info.name or dbn.lower() in SYSTEM_SCHEMAS:
                continue
            attached = self._attached.setdefault(id(conn), set())
            if dbn in attached:
                continue
            other = self.store.get(dbn)
            if other is None:
                raise SqlError(ER_BAD_DB, f"Unknown database '{dbn}'")
            if conn.in_transaction:
                raise not_supported("Reading another database inside a write transaction")
            conn.execute("ATTACH DATABASE ? AS " + quote(dbn), (str(other.path),))
            attached.add(dbn)

    # -- writers -----------------------------------------------------------------------------------
    async def acquire_writer(self, db: Database, session: Session) -> None:
        lock = self._locks.setdefault(db.info.id, asyncio.Lock())
        timeout = float(session.vars.get("innodb_lock_wait_timeout", 50))
        session.state = "waiting for the database's write lock"
        try:
            await asyncio.wait_for(lock.acquire(), timeout)
        except TimeoutError:
            raise SqlError(ER_LOCK_WAIT_TIMEOUT, "Lock wait timeout exceeded; try restarting transaction") from None
        finally:
            session.state = ""
        if self.store.get(db.info.name) is not db:  # dropped (or replaced) while this writer waited
            lock.release()
            raise SqlError(ER_BAD_DB, f"Unknown database '{db.info.name}': it was dropped or replaced meanwhile")
        self._holders[db.info.id] = (session, lock)
        self.current.session = session

    async def pass_write_gates(self, session: Session, name: str) -> None:
        """Wait for, or fail on, what holds writes to database ``name`` back (FLUSH TABLES WITH READ
        LOCK / READ ONLY): every write path calls this first, whether it writes rows, creates, drops
        or replicates the database."""
        await self.features.gate_write(session, name)

    def release_writer(self, db: Database, session: Session) -> None:
        holder = self._holders.get(db.info.id)
        if holder is not None and holder[0] is session:
            del self._holders[db.info.id]
            holder[1].release()

    def committed(self, db: Database, lsn: int) -> None:
        self.stats["Com_commit"] += 1
        self.features.committed(db, lsn)

    def check_readable(self, db: Database) -> None:
        if db.info.state in ("provisioning", "recovering", "unrecoverable"):
            raise SqlError(
                ER_OPTION_PREVENTS_STATEMENT,
                f"Database '{db.info.name}' is in state '{db.info.state}' and cannot be read"
                + (f": {db.info.details}" if db.info.details else "; wait until it is replicating or online"),
            )

    def check_writable(self, session: Session, db: Database) -> None:
        info = db.info
        if info.readonly:
            raise SqlError(ER_SCHEMA_READ_ONLY, readonly_message(info.name, info.readonly_reason,
                                                                 st.statement_verb(session.info)))
        if info.hot_standby:
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT, hot_standby_message(info.name, st.statement_verb(session.info)))
        if info.state != "online" or info.role != "master":
            raise SqlError(
                ER_OPTION_PREVENTS_STATEMENT,
                f"Database '{info.name}' is read-only: it is {'an' if info.role[0] in 'aeiou' else 'a'} {info.role} "
                f"in state '{info.state}'. "
                "Only the replication apply path writes to it; write to the primary, or promote this "
                "database with STOP REPLICATING.",
            )

    # -- databases ---------------------------------------------------------------------------------
    async def create_database(self, session: Session, name: str, if_not_exists: bool,
                              hot_standby: bool = False) -> Outcome:
        session.node.accounts.check(session.user, session.host, "CREATE", name)
        if name.lower() in SYSTEM_SCHEMAS or self.store.get(name) is not None:
            if if_not_exists:
                session.warnings.append(_note(ER_DB_CREATE_EXISTS, f"Can't create database '{name}'; database exists"))
                return Outcome()
            raise SqlError(ER_DB_CREATE_EXISTS, f"Can't create database '{name}'; database exists")
        check_db_name(name)
        await self.pass_write_gates(session, name)
        if self.store.get(name) is not None:  # created while this statement waited for UNLOCK TABLES
            raise SqlError(ER_DB_CREATE_EXISTS, f"Can't create database '{name}'; database exists")
        self.store.create(name, hot_standby=hot_standby)
        self.features.clusters.created(session, name)
        return Outcome(affected=1)

    async def drop_database(self, session: Session, name: str, if_exists: bool) -> Outcome:
        session.node.accounts.check(session.user, session.host, "DROP", name)
        db = self.store.get(name)
        if db is None:
            if if_exists:
                session.warnings.append(_note(ER_DB_DROP_EXISTS, f"Can't drop database '{name}'; database doesn't exist"))
                return Outcome()
            raise SqlError(ER_DB_DROP_EXISTS, f"Can't drop database '{name}'; database doesn't exist")
        if db.info.hot_standby:
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT, f"Database '{name}' is a hot standby; to drop it, first run "
                           f"ALTER DATABASE {name} SET HOT_STANDBY OFF")
        if db.info.readonly:
            raise SqlError(ER_SCHEMA_READ_ONLY, readonly_message(name, db.info.readonly_reason, "DROP DATABASE"))
        await self.pass_write_gates(session, name)
        await self.features.dropping(name)
        await self.acquire_writer(db, session)
        try:
            tables = len(db.tables)
            self.detach_everywhere(name)
            self.store.drop(name)
        finally:
            self.release_writer(db, session)
            self._locks.pop(db.info.id, None)
        self.invalidate_plans()
        for s in self.sessions.values():
            if s.db == name:
                s.db = None
        return Outcome(affected=tables)

    def detach_everywhere(self, name: str) -> None:
        for db in self.store.databases.values():
            for conn in (db.reader, db.writer):
                try:
                    conn.execute("DETACH DATABASE " + quote(name))
                except sqlite3.Error:
                    pass
        self._attached = {k: v - {name} for k, v in self._attached.items()}

    # -- sessions ----------------------------------------------------------------------------------
    def new_session(self, connection_id: int) -> Session:
        s = Session(self, connection_id)
        self.sessions[connection_id] = s
        self.stats["Connections"] += 1
        return s

    def session_closed(self, session: Session) -> None:
        self.features.closed(session)
        self.sessions.pop(session.id, None)
        self.connections.pop(session.id, None)

    def kill(self, session: Session, target: int, query_only: bool) -> None:
        other = self.sessions.get(target)
        if other is None:
            raise SqlError(ER_NO_SUCH_THREAD, f"Unknown thread id: {target}")
        if other.user != session.user:
            session.node.accounts.check(session.user, session.host, "SUPER", None)
        conn = self.connections.get(target)
        if conn is not None:
            from mysql_mimic.constants import KillKind

            conn.kill(KillKind.QUERY if query_only else KillKind.CONNECTION)

    def show(self, session: Session, cmd: st.Show) -> Outcome:
        return show.show(self, session, cmd)


def _note(code: int, msg: str) -> Any:
    from server.session import Warning_

    return Warning_("Note", code, msg)


def hot_standby_message(name: str, verb: str) -> str:
    """Yellowbrick's refusal of a client write to a HOT_STANDBY database, with what to do."""
    return (f"cannot execute {verb} on a hot standby database ('{name}' is written only by replication cycles; "
            f"promote its replica, or ALTER DATABASE {name} SET HOT_STANDBY OFF)")


def readonly_message(name: str, reason: str, verb: str) -> str:
    """The refusal of a write to a READONLY database, naming why it is READONLY."""
    why = reason or "ALTER DATABASE ... SET READONLY ON"
    return (f"Schema '{name}' is in read only mode ({why}): cannot execute {verb}; "
            f"ALTER DATABASE {name} SET READONLY OFF to write again")


def check_db_name(name: str) -> None:
    """MySQL's rules for a new database's name (1102): 1 to 64 characters, no trailing blanks, no
    path separators, dots or NUL bytes (they end a name in C and in file systems)."""
    if (not name or len(name) > 64 or name != name.strip() or "/" in name or "\\" in name or "." in name
            or "\0" in name):
        shown = name.replace("\0", "\\0")
        raise SqlError(ER_WRONG_DB_NAME, f"Incorrect database name '{shown}': use 1 to 64 characters without NUL bytes, "
                       "dots, slashes, backslashes or leading/trailing blanks")


def _home(ast: exp.Expression, current: str | None) -> tuple[str | None, bool]:
    """The database a statement runs in (its written table's, else its first table's), and whether
    it reads information_schema."""
    target: exp.Table | None = None
    if is_replace(ast):
        ast = replace_as_insert(ast)
    if isinstance(ast, exp.Insert):
        target = ast.this.this if isinstance(ast.this, exp.Schema) else ast.this
    elif isinstance(ast, exp.Delete) and ast.args.get("tables"):
        target = ast.args["tables"][0]
    elif isinstance(ast, (exp.Update, exp.Delete)):
        target = ast.this if isinstance(ast.this, exp.Table) else ast.find(exp.Table)
    ctes = {c.alias_or_name.lower() for c in ast.find_all(exp.CTE)}
    info = False
    first: exp.Table | None = None
    for t in ast.find_all(exp.Table):
        if not t.name or (not t.db and t.name.lower() in ctes):
            continue
        dbn = t.db or current
        if dbn is not None and dbn.lower() == "mysql" and t is not target:
            info = True  # the mysql system schema is served with information_schema (no user database "mysql")
        elif dbn is not None and dbn.lower() == "mysql":
            raise not_supported("Writing the mysql system schema (change accounts with CREATE USER, GRANT, ...)")
        if dbn is not None and dbn.lower() in SYSTEM_SCHEMAS:
            info = True
        elif first is None:
            first = t
    if target is None:
        target = first
    if target is None:
        return None, info
    return (target.db or current), info
