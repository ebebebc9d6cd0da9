"""One database: a SQLite file materialised from the database's log.

The writer connection captures every row change through TEMP triggers into the open transaction's
record; ``commit`` appends that record to the log first and then commits SQLite together with the
applied LSN (invariants 1 and 2). ``apply`` is the only other way in: it replays a record (recovery,
replication) and checks order and checksum first (invariant 6).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgpack

from storage.catalog import DbInfo
from storage.logstore import LogStore
from storage.record import CorruptRecord, HybridClock, Record

ConfigureConnection = Callable[[sqlite3.Connection], None]

_INTERNAL = ("_drlab_state", "_drlab_tables")

# SQLite caps a SQL function at 127 arguments: a table wider than _NARROW columns passes its row
# image to the capture functions in packed chunks of _CHUNK columns (2000 columns = 20 chunks).
_NARROW = 60
_CHUNK = 100


class NeedsRebuild(Exception):
    """A revert that row images cannot express (DDL): the state must be rebuilt from the log."""


def _inverse(op: list) -> list:
    """The row operation that undoes ``op``."""
    if op[0] == "i":
        return ["d", op[1], op[2], op[3]]
    if op[0] == "d":
        return ["i", op[1], op[2], op[3]]
    return ["u", op[1], op[3], op[2], op[5], op[4]]


class OutOfOrder(Exception):
    """A record whose LSN is not the next one: applying it would break the log's order."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Database:
    def __init__(self, path: Path, info: DbInfo, log: LogStore, configure: ConfigureConnection,
                 clock: HybridClock | None = None) -> None:
        self.info = info
        self.clock = clock or HybridClock()  # the store passes the node's one clock
        self.path = path
        self.log = log
        self._configure = configure
        self.writer = self._connect(configure)
        self.writer.execute("PRAGMA journal_mode=WAL")
        self.writer.execute("PRAGMA synchronous=OFF")  # the log is the durable copy
        self.writer.execute("PRAGMA recursive_triggers=ON")  # REPLACE's deletes must be captured
        self.writer.execute("CREATE TABLE IF NOT EXISTS _drlab_state(k INTEGER PRIMARY KEY, applied_lsn INTEGER)")
        self.writer.execute("INSERT OR IGNORE INTO _drlab_state VALUES (1, 0)")
        self.writer.execute("CREATE TABLE IF NOT EXISTS _drlab_tables(name TEXT PRIMARY KEY, def TEXT NOT NULL)")
        self.writer.create_function("drlab_cap", -1, self._capture)
        self.writer.create_function("drlab_capu", -1, self._capture_update)
        self.writer.create_function("drlab_pack", -1, _pack, deterministic=True)
        self.writer.create_function("drlab_capw", -1, self._capture_wide)
        self.writer.create_function("drlab_capuw", -1, self._capture_update_wide)
        self.writer.create_function("drlab_applying", 0, lambda: int(self._applying))
        self.reader = self._connect(configure)
        self.reader.execute("PRAGMA query_only=ON")
        self.reader.create_function("drlab_applying", 0, lambda: 0)
        self.applied_lsn: int = self.writer.execute("SELECT applied_lsn FROM _drlab_state").fetchone()[0]
        self.tables: dict[str, str] = {}  # lower-case name -> TableDef JSON
        self.columns: dict[str, list[str]] = {}  # physical name -> column names
        self._cols: dict[str, list[str]] = {}  # the open transaction's record: columns per table
        self._ops: list[list] = []
        self._capturing = True
        self._applying = False
        self._apply_sql: dict[tuple[str, str, int], str] = {}  # (op, table, columns) -> SQL
        self.in_txn = False
        self.reload_tables()

    def snapshot_reader(self) -> sqlite3.Connection:
        """A new read-only connection holding a read transaction: it sees the database as it is now
        until the caller closes it (START TRANSACTION WITH CONSISTENT SNAPSHOT)."""
        conn = self._connect(self._configure)
        conn.execute("PRAGMA query_only=ON")
        conn.create_function("drlab_applying", 0, lambda: 0)
        conn.execute("BEGIN")
        conn.execute("SELECT COUNT(*) FROM _drlab_state").fetchone()  # the snapshot starts at the first read
        return conn

    def _connect(self, configure: ConfigureConnection) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES
        )
        conn.execute("PRAGMA busy_timeout=10000")
        configure(conn)
        return conn

    # -- schema ------------------------------------------------------------------------------------
    def reload_tables(self) -> None:
        """Re-read the table catalog and re-install the capture triggers (after DDL or apply)."""
        self.tables = {n.lower(): d for n, d in self.writer.execute("SELECT name, def FROM _drlab_tables")}
        self.columns = {}
        for (name,) in self.writer.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_drlab_%'"
        ).fetchall():
            self.columns[name] = [r[1] for r in self.writer.execute(f"PRAGMA table_info({quote(name)})")]
        for (trig,) in self.writer.execute("SELECT name FROM temp.sqlite_master WHERE type='trigger'").fetchall():
            self.writer.execute(f"DROP TRIGGER temp.{quote(trig)}")
        for name, cols in self.columns.items():
            self._install_capture(name, cols)
        self._apply_sql.clear()

    def _install_capture(self, table: str, cols: list[str]) -> None:
        q, lit = quote(table), "'" + table.replace("'", "''") + "'"
        new, old = _image("NEW", cols), _image("OLD", cols)
        cap, capu = ("drlab_cap", "drlab_capu") if len(cols) <= _NARROW else ("drlab_capw", "drlab_capuw")
        self.writer.executescript(
            f"""
            CREATE TEMP TRIGGER {quote('drlab_i_' + table)} AFTER INSERT ON main.{q}
            BEGIN SELECT {cap}('i', {lit}, NEW.rowid, {new}); END;
            CREATE TEMP TRIGGER {quote('drlab_d_' + table)} AFTER DELETE ON main.{q}
            BEGIN SELECT {cap}('d', {lit}, OLD.rowid, {old}); END;
            CREATE TEMP TRIGGER {quote('drlab_u_' + table)} AFTER UPDATE ON main.{q}
            BEGIN SELECT {capu}({lit}, OLD.rowid, NEW.rowid, {old}, {new}); END;
            """
        )

    def _capture(self, op: str, table: str, rowid: int, *values: Any) -> None:
        if self._capturing:
            if table not in self._cols:
                self._cols[table] = self.columns[table]
            self._ops.append([op, table, rowid, list(values)])

    def _capture_update(self, table: str, old_rowid: int, new_rowid: int, *values: Any) -> None:
        if self._capturing:
            if table not in self._cols:
                self._cols[table] = self.columns[table]
            half = len(values) // 2
            old, new = list(values[:half]), list(values[half:])
            if old != new or old_rowid != new_rowid:
                self._ops.append(["u", table, old_rowid, new_rowid, old, new])

    def _capture_wide(self, op: str, table: str, rowid: int, *chunks: bytes) -> None:
        self._capture(op, table, rowid, *_unpack(chunks))

    def _capture_update_wide(self, table: str, old_rowid: int, new_rowid: int, *chunks: bytes) -> None:
        self._capture_update(table, old_rowid, new_rowid, *_unpack(chunks))

    # -- the write path ----------------------------------------------------------------------------
    def begin(self) -> None:
        self.writer.execute("BEGIN IMMEDIATE")
        self.in_txn = True
        self._ops = []
        self._cols = {}

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run one statement inside the open write transaction, capturing its row changes."""
        return self.writer.execute(sql, tuple(params))

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement once per row of values (a bulk load) in the open write transaction,
        capturing every row change; returns the rows it changed."""
        return self.writer.executemany(sql, rows).rowcount

    def execute_logged_sql(self, statements: list[str]) -> None:
        """Run DDL (or another deterministic bulk statement) and log the SQL itself, not rows."""
        self._capturing = False
        try:
            for sql in statements:
                self.writer.execute(sql)
                self._ops.append(["sql", sql])
        finally:
            self._capturing = True

    def put_table(self, name: str, definition: str) -> None:
        """Record table ``name``'s definition (TableDef JSON) in the table catalog, as logged SQL of
        the open transaction: the catalog travels with the DDL to every replica."""
        self.execute_logged_sql(
            [f"INSERT OR REPLACE INTO _drlab_tables(name, def) VALUES ({_literal(name)}, {_literal(definition)})"])

    def forget_table(self, name: str) -> None:
        """Remove table ``name`` from the table catalog, as logged SQL of the open transaction."""
        self.execute_logged_sql([f"DELETE FROM _drlab_tables WHERE name = {_literal(name)}"])

    @property
    def pending_ops(self) -> int:
        return len(self._ops)

    def ops_since(self, mark: int) -> list[list[Any]]:
        """The row changes the open transaction captured after ``pending_ops`` was ``mark``: the
        session counts affected rows from them (inserted, updated, deleted) without re-querying."""
        return self._ops[mark:]

    def commit(self) -> tuple[int, int] | None:
        """Log the transaction's record, then commit SQLite with its LSN.

        Returns (lsn, durability ticket), or None when the transaction changed nothing.
        """
        if not self._ops:
            self.writer.execute("COMMIT")
            self.in_txn = False
            return None
        lsn = self.applied_lsn + 1
        rec = Record(lsn, self.info.epoch, self.clock.now(), self._cols, self._ops)
        try:
            ticket = self.log.append(self.info.id, [(lsn, rec.encode())])
        except BaseException:
            self.rollback()
            raise
        self.writer.execute("UPDATE _drlab_state SET applied_lsn = ?", (lsn,))
        self.writer.execute("COMMIT")
        self.in_txn = False
        self.applied_lsn = lsn
        self._ops, self._cols = [], {}
        if any(op[0] == "sql" for op in rec.ops):
            self.reload_tables()
        return lsn, ticket

    def rollback(self) -> None:
        if self.writer.in_transaction:
            self.writer.execute("ROLLBACK")
        self.in_txn = False
        self._ops, self._cols = [], {}
        self.reload_tables()

    def savepoint(self, name: str) -> int:
        self.writer.execute(f"SAVEPOINT {name}")
        return len(self._ops)

    def release(self, name: str) -> None:
        self.writer.execute(f"RELEASE {name}")

    def rollback_to(self, name: str, mark: int, keep: bool = False) -> None:
        """Undo the transaction's changes after savepoint ``name`` (taken when ``pending_ops`` was
        ``mark``): one failed statement (MySQL keeps the transaction open), or a client's ROLLBACK
        TO SAVEPOINT (``keep``: the savepoint stays, as MySQL's does)."""
        self.writer.execute(f"ROLLBACK TO {name}")
        if not keep:
            self.writer.execute(f"RELEASE {name}")
        del self._ops[mark:]

    # -- the apply path ----------------------------------------------------------------------------
    def apply(self, data: bytes) -> Record:
        """Replay one encoded record; the caller has already stored it in the log if needed."""
        rec = Record.decode(data)
        if rec.lsn != self.applied_lsn + 1:
            raise OutOfOrder(f"record {rec.lsn} does not follow applied LSN {self.applied_lsn}")
        self.apply_records([rec])
        return rec

    def apply_records(self, records: list[Record]) -> None:
        """Replay records in one SQLite transaction (cheap batching for catch-up)."""
        if not records:
            return
        ddl = False
        with self._replay(records[-1].lsn):
            expected = self.applied_lsn + 1
            for rec in records:
                if rec.lsn != expected:
                    raise OutOfOrder(f"record {rec.lsn} does not follow LSN {expected - 1}")
                expected += 1
                for op in rec.ops:
                    if op[0] == "sql":
                        self.writer.execute(op[1])
                        ddl = True
                    else:
                        self._apply_op(op, rec.cols[op[1]])
        if ddl:
            self.reload_tables()

    def revert(self, records: list[Record]) -> None:
        """Undo the last records (newest first) in one SQLite transaction, from their row images.

        The records must be the newest applied ones, in LSN order; afterwards the applied LSN is the
        one before the first of them. DDL has no row images to undo: ``NeedsRebuild`` is raised and
        nothing changes."""
        if not records:
            return
        if records[-1].lsn != self.applied_lsn:
            raise OutOfOrder(f"revert must end at the applied LSN {self.applied_lsn}, not {records[-1].lsn}")
        if any(op[0] == "sql" for rec in records for op in rec.ops):
            raise NeedsRebuild("the transactions to revert include DDL")
        with self._replay(records[0].lsn - 1):
            for rec in reversed(records):
                for op in reversed(rec.ops):
                    self._apply_op(_inverse(op), rec.cols[op[1]])

    @contextmanager
    def _replay(self, final_lsn: int) -> Iterator[None]:
        """One apply-path transaction ending at ``final_lsn``: nothing captured, triggers told
        (``drlab_applying``), the applied LSN committed with the data (invariant 2)."""
        self._applying, self._capturing = True, False
        try:
            self.writer.execute("BEGIN IMMEDIATE")
            yield
            self.writer.execute("UPDATE _drlab_state SET applied_lsn = ?", (final_lsn,))
            self.writer.execute("COMMIT")
            self.applied_lsn = final_lsn
        except BaseException:
            if self.writer.in_transaction:
                self.writer.execute("ROLLBACK")
            raise
        finally:
            self._applying, self._capturing = False, True

    def _apply_op(self, op: list, cols: list[str]) -> None:
        kind, table = op[0], op[1]
        key = (kind, table, len(cols))
        sql = self._apply_sql.get(key)
        if sql is None:
            q = quote(table)
            if kind == "i":
                sql = f"INSERT INTO {q}(rowid, {', '.join(map(quote, cols))}) VALUES ({', '.join('?' * (len(cols) + 1))})"
            elif kind == "d":
                sql = f"DELETE FROM {q} WHERE rowid = ?"
            else:
                sets = ", ".join(f"{quote(c)} = ?" for c in cols)
                sql = f"UPDATE {q} SET rowid = ?, {sets} WHERE rowid = ?"
            self._apply_sql[key] = sql
        if kind == "i":
            self.writer.execute(sql, (op[2], *op[3]))
        elif kind == "d":
            self.writer.execute(sql, (op[2],))
        else:
            self.writer.execute(sql, (op[3], *op[5], op[2]))

    def recover(self) -> int:
        """Replay the log after the applied LSN (invariant 2); returns how many records."""
        n = 0
        while True:
            batch = [Record.decode(d) for _, d in self.log.records(self.info.id, self.applied_lsn, 1000)]
            if not batch:
                return n
            self.apply_records(batch)
            n += len(batch)

    # -- snapshots ---------------------------------------------------------------------------------
    def backup(self, dest: Path) -> int:
        """Copy the database consistently to ``dest`` (SQLite's online backup, one read transaction)
        and return the LSN the copy holds. Safe to run in a thread: it opens its own connection."""
        src = sqlite3.connect(str(self.path), check_same_thread=False)
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)
            return dst.execute("SELECT applied_lsn FROM _drlab_state").fetchone()[0]
        finally:
            dst.close()
            src.close()

    # -- reads -------------------------------------------------------------------------------------
    def checksum(self, table: str) -> int:
        """An order-independent content checksum: equal on two nodes exactly when contents are equal."""
        total = 0
        conn = self.writer if self.in_txn else self.reader
        for row in conn.execute(f"SELECT * FROM {quote(table)}"):
            digest = hashlib.blake2b(msgpack.packb(list(row), default=str), digest_size=8).digest()
            total = (total + int.from_bytes(digest, "big")) % (1 << 64)
        return total

    def close(self) -> None:
        for conn in (self.reader, self.writer):
            try:
                conn.close()
            except sqlite3.Error:
                pass


__all__ = ["Database", "DbInfo", "NeedsRebuild", "OutOfOrder", "CorruptRecord", "quote"]


def _literal(text: str) -> str:
    """A SQL string literal: logged SQL is literal, so a replica replays exactly this text."""
    return "'" + text.replace("'", "''") + "'"


def _image(alias: str, cols: list[str]) -> str:
    """The trigger's argument list for a row image: one argument per column for a narrow table,
    ``drlab_pack`` chunks for a wide one (so the argument count never reaches SQLite's cap)."""
    refs = [f"{alias}.{quote(c)}" for c in cols]
    if len(cols) <= _NARROW:
        return ", ".join(refs)
    return ", ".join(f"drlab_pack({', '.join(refs[i:i + _CHUNK])})" for i in range(0, len(refs), _CHUNK))


def _pack(*values: Any) -> bytes:
    return msgpack.packb(values, use_bin_type=True)


def _unpack(chunks: tuple[bytes, ...]) -> list[Any]:
    """The row image ``_image`` packed: the chunks' values in column order."""
    values: list[Any] = []
    for chunk in chunks:
        values.extend(msgpack.unpackb(chunk, raw=False))
    return values
