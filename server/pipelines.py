"""Pipelines: LOAD DATA FS from CSV files, run in batches by the node that owns the database.

Where the state lives
    Every pipeline's definition, its running/stopped/error state, its files' states, its batches and
    its errors are rows of four internal tables inside the database itself (``_drlab_pipelines``,
    ``_drlab_pipeline_files``, ``_drlab_pipeline_batches``, ``_drlab_pipeline_errors``). Their names
    start with ``_drlab_``, so storage installs no capture triggers on them and the table catalog
    does not list them (SHOW TABLES and information_schema.TABLES never show them). They are written
    only with ``Database.execute_logged_sql`` and fully literal SQL (names, sizes, timestamps and ids
    are resolved here, never ``NOW()``), inside the same transaction as the rows a batch inserts: the
    log record that carries a batch's rows carries its files' ``Loaded`` state too. A crash before
    the commit loses both (the files are loaded again), after it keeps both (never loaded twice), and
    a replica applies the same record, so the promoted copy knows exactly which files are done.

Who runs what
    A supervisor loop (a node service) starts one runner task per pipeline whose stored state is
    ``Running`` in a database that is a master and online; a runner ends when that stops being
    true. So pipelines never run on a replica, resume after a restart, and start by themselves on
    a database promoted by STOP REPLICATING (a promotion listener wakes the supervisor).

Files
    The pipeline's path (a file, a directory or a glob) must lie under ``secure_file_priv``
    (``--secure-file-priv DIR``); when that variable is empty the directory is ``<data dir>/files``,
    when it is ``NULL`` no file can be loaded. Files whose names start with a dot are ignored, so a
    writer can create ``.name.tmp`` and rename it when complete.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server import show
from server.features import WritesRefused
from server.session import Outcome, Session
from sqlfront import pipelines as pl
from sqlfront.errors import (
    ER_BAD_NULL,
    ER_CANT_FIND_FILE,
    ER_DATA_TOO_LONG,
    ER_DUP_ENTRY,
    ER_LOCK_WAIT_TIMEOUT,
    ER_NO_DEFAULT_FOR_FIELD,
    ER_NO_REFERENCED_ROW_2,
    ER_OPTION_PREVENTS_STATEMENT,
    ER_QUERY_INTERRUPTED,
    ER_SP_ALREADY_EXISTS,
    ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
    ER_WARN_DATA_OUT_OF_RANGE,
    ER_WARN_TOO_FEW_RECORDS,
    ER_WARN_TOO_MANY_RECORDS,
    WARN_DATA_TRUNCATED,
    SqlError,
)
from storage.database import Database

if TYPE_CHECKING:
    from server.node import Node

log = logging.getLogger("drlab.pipelines")

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS _drlab_pipelines(name TEXT PRIMARY KEY, id INTEGER NOT NULL, config TEXT NOT NULL, "
    "state TEXT NOT NULL, created REAL NOT NULL, altered REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _drlab_pipeline_files(pipeline TEXT NOT NULL, file TEXT NOT NULL, size INTEGER, "
    "state TEXT NOT NULL, batch_id INTEGER, PRIMARY KEY(pipeline, file))",
    "CREATE TABLE IF NOT EXISTS _drlab_pipeline_batches(pipeline TEXT NOT NULL, batch_id INTEGER NOT NULL, "
    "state TEXT NOT NULL, start REAL, seconds REAL, rows_streamed INTEGER, rows_inserted INTEGER, "
    "rows_updated INTEGER, rows_deleted INTEGER, bytes INTEGER, files INTEGER, PRIMARY KEY(pipeline, batch_id))",
    "CREATE TABLE IF NOT EXISTS _drlab_pipeline_errors(pipeline TEXT NOT NULL, error_id INTEGER NOT NULL, ts REAL, "
    "type TEXT, code INTEGER, message TEXT, line TEXT, line_number INTEGER, batch_id INTEGER, file TEXT, "
    "PRIMARY KEY(pipeline, error_id))",
]
_MAX_FILES_PER_BATCH = 16
_MAX_BYTES_PER_BATCH = 16 << 20
_YIELD_EVERY = 200  # rows between yields to the event loop while a batch holds the writer
# the database cannot be written now (a replica, or a lock wait; READ ONLY is WritesRefused): not a bad row
_TRANSIENT = (ER_OPTION_PREVENTS_STATEMENT, ER_LOCK_WAIT_TIMEOUT)

# error codes (docs/pipelines.md lists them): no vendor code is documented for these situations


def _lit(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("\x00", "\\0").replace("'", "''") + "'"


def _values(*vs: Any) -> str:
    return "(" + ", ".join(_lit(v) for v in vs) + ")"


def _ts(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


class NoSuchPipeline(Exception):
    """A pipeline statement names a pipeline the current database does not have."""


class PipelineExists(Exception):
    """CREATE PIPELINE of a name the database already has (without OR REPLACE / IF NOT EXISTS)."""


class PipelineStateError(Exception):
    """The pipeline is not in a state the statement applies to (already running, not running, or
    it has no record of the file named)."""


class FilesRefused(Exception):
    """secure_file_priv forbids reading the pipeline's files (NULL, or a path outside it)."""


class _RunnerSession(Session):
    """The internal session a runner writes with: privileges were checked by CREATE/START."""

    def check_priv(self, priv: str, db: str | None, table: str | None) -> None:
        return None


class _BatchFailed(Exception):
    def __init__(self, file: str, line_number: int | None, line: str, code: int, message: str) -> None:
        super().__init__(message)
        self.file, self.line_number, self.line, self.code, self.message = file, line_number, line, code, message


@dataclass
class _Progress:
    batch_id: int
    start: float
    files: int
    bytes: int
    rows: int = 0


@dataclass
class _BatchResult:
    files: int = 0
    rows: int = 0
    failed: bool = False
    stop: bool = False  # the pipeline went to Error (or cannot run now)


@dataclass
class _Row:
    name: str
    id: int
    config: pl.PipelineConfig
    state: str
    created: float
    altered: float
    extra: dict[str, Any] = field(default_factory=dict)


class Pipelines:
    """The node's pipeline feature: commands, views, the supervisor and the runners."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.tasks: dict[tuple[int, str], asyncio.Task[None]] = {}
        self.foreground: dict[tuple[int, str], asyncio.Task[Any]] = {}  # the client statements running them
        self.interrupts: set[tuple[int, str]] = set()  # foreground runs asked to stop (STOP PIPELINE)
        self.progress: dict[tuple[int, str], _Progress] = {}
        self._wake: asyncio.Event | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._next_session = -1000

    # -- service -----------------------------------------------------------------------------------
    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._supervisor = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        self.interrupts.update(self.foreground)
        tasks = list(self.tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self, *_: Any) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _supervise(self) -> None:
        assert self._wake is not None
        while True:
            try:
                self._reconcile()
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one database's trouble
                log.exception("pipeline supervisor")
            try:
                await asyncio.wait_for(self._wake.wait(), 0.25)
            except TimeoutError:
                pass
            self._wake.clear()

    def _reconcile(self) -> None:
        for db in list(self.node.store.databases.values()):
            if not _active(db):
                continue
            for row in self._pipelines(db):
                key = (db.info.id, row.name)
                if row.state != "Running" or key in self.foreground:
                    continue
                task = self.tasks.get(key)
                if task is None or task.done():
                    self.tasks[key] = asyncio.create_task(self._run_background(db, row.name))

    async def database_dropped(self, name: str) -> None:
        """Before DROP DATABASE: end its runners (an open batch rolls back and frees the writer)."""
        db = self.node.store.get(name)
        if db is not None:
            for _dbid, pname in [k for k in list(self.tasks) + list(self.foreground) if k[0] == db.info.id]:
                await self._halt(db, pname)

    def _session(self, db: Database) -> _RunnerSession:
        self._next_session -= 1
        s = _RunnerSession(self.node, self._next_session)
        s.user, s.host, s.db = "pipeline", "localhost", db.info.name
        return s

    # -- stored state --------------------------------------------------------------------------------
    def _query(self, db: Database, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if db.info.state in ("provisioning", "recovering", "unrecoverable"):
            return []
        try:
            return db.reader.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return []
            raise

    def _pipelines(self, db: Database, name: str | None = None) -> list[_Row]:
        sql = "SELECT name, id, config, state, created, altered FROM _drlab_pipelines"
        rows = self._query(db, sql + (" WHERE name = ?" if name is not None else "") + " ORDER BY id",
                           (name,) if name is not None else ())
        return [_Row(r[0], r[1], pl.PipelineConfig.from_json(r[2]), r[3], r[4], r[5]) for r in rows]

    def _pipeline(self, db: Database, name: str) -> _Row:
        rows = self._pipelines(db, name)
        if not rows:
            raise NoSuchPipeline(f"Pipeline '{name}' doesn't exist in database '{db.info.name}'; see SHOW PIPELINES")
        return rows[0]

    def _file_states(self, db: Database, name: str) -> dict[str, tuple[int, str]]:
        return {f: (size, state) for f, size, state in
                self._query(db, "SELECT file, size, state FROM _drlab_pipeline_files WHERE pipeline = ?", (name,))}

    def _next_id(self, db: Database, table: str, column: str, name: str) -> int:
        rows = self._query(db, f"SELECT MAX({column}) FROM {table} WHERE pipeline = ?", (name,))
        return (rows[0][0] or 0) + 1 if rows else 1

    # -- files -------------------------------------------------------------------------------------
    def secure_dir(self) -> Path:
        value = self.node.globals.values.get("secure_file_priv")
        if value is None or str(value).upper() == "NULL":
            raise FilesRefused("The MySQL server is running with the --secure-file-priv option so "
                               "it cannot execute this statement: secure_file_priv is NULL, no file can be loaded")
        d = Path(str(value)) if str(value) else self.node.store.dir / "files"
        d.mkdir(parents=True, exist_ok=True)
        return Path(os.path.realpath(d))

    def resolve(self, path: str) -> str:
        """The absolute pattern for a pipeline path; refuses anything outside secure_file_priv."""
        base = self.secure_dir()
        p = Path(path)
        if not p.is_absolute():
            p = base / p
        real = Path(os.path.realpath(p))
        if real != base and not real.is_relative_to(base):
            raise FilesRefused(f"The MySQL server is running with the --secure-file-priv option so "
                               f"it cannot execute this statement: '{path}' is outside secure_file_priv "
                               f"'{base}{os.sep}'; put the files under that directory")
        return str(real)

    def list_files(self, cfg: pl.PipelineConfig) -> list[tuple[str, int]]:
        """The files a pipeline's path names now: (absolute name, size), sorted by name."""
        try:
            pattern = self.resolve(cfg.path)
            base = self.secure_dir()
        except FilesRefused:
            return []
        if os.path.isdir(pattern):
            pattern = os.path.join(pattern, "*")
        out = []
        for f in glob.glob(pattern):
            if os.path.basename(f).startswith(".") or not os.path.isfile(f):
                continue
            real = Path(os.path.realpath(f))
            if not real.is_relative_to(base):
                continue  # a symbolic link out of secure_file_priv
            try:
                out.append((f, os.path.getsize(f)))
            except OSError:
                continue
        return sorted(out)

    def pending(self, db: Database, row: _Row) -> list[tuple[str, int]]:
        done = self._file_states(db, row.name)
        return [(f, size) for f, size in self.list_files(row.config) if f not in done]

    # -- commands ------------------------------------------------------------------------------------
    def _db(self, session: Session) -> Database:
        return session.database(session.db)

    async def _logged(self, session: Session, db: Database, stmts: list[str]) -> None:
        """Write pipeline state as its own transaction (pipeline commands commit implicitly)."""
        await session.implicit_commit()
        await session.write(db, lambda: db.execute_logged_sql(_SCHEMA + stmts))
        await session.implicit_commit()

    async def create(self, session: Session, cmd: pl.CreatePipeline) -> Outcome:
        db = self._db(session)
        cfg = cmd.config
        session.node.accounts.check(session.user, session.host, "CREATE", db.info.name)
        self.resolve(cfg.path)
        tdef = self.node.table_def(db, cfg.table)
        cfg.table = tdef.name
        pl.row_insert(cfg, [c.name for c in tdef.columns])  # unknown columns/variables fail here
        existing = self._pipelines(db, cfg.name)
        now = time.time()
        if existing:
            if cmd.if_not_exists:
                from server.session import Warning_

                session.warnings.append(Warning_("Note", ER_SP_ALREADY_EXISTS, f"Pipeline '{cfg.name}' already exists"))
                return Outcome()
            if not cmd.or_replace:
                raise PipelineExists(f"Pipeline '{cfg.name}' already exists; use CREATE OR REPLACE "
                                     "PIPELINE to change it (its file states are kept)")
            stmt = (f"UPDATE _drlab_pipelines SET config = {_lit(cfg.to_json())}, altered = {_lit(now)} "
                    f"WHERE name = {_lit(cfg.name)}")
            await self._logged(session, db, [stmt])
        else:
            ids = self._query(db, "SELECT MAX(id) FROM _drlab_pipelines")
            pid = (ids[0][0] or 0) + 1 if ids else 1
            stmt = "INSERT INTO _drlab_pipelines VALUES " + _values(cfg.name, pid, cfg.to_json(), "Stopped", now, now)
            await self._logged(session, db, [stmt])
        self.wake()
        return Outcome()

    async def drop(self, session: Session, cmd: pl.DropPipeline) -> Outcome:
        db = self._db(session)
        session.node.accounts.check(session.user, session.host, "DROP", db.info.name)
        if not self._pipelines(db, cmd.name):
            if cmd.if_exists:
                return Outcome()
            self._pipeline(db, cmd.name)
        await self._halt(db, cmd.name)
        n = _lit(cmd.name)
        await self._logged(session, db, [f"DELETE FROM {t} WHERE {c} = {n}" for t, c in (
            ("_drlab_pipelines", "name"), ("_drlab_pipeline_files", "pipeline"),
            ("_drlab_pipeline_batches", "pipeline"), ("_drlab_pipeline_errors", "pipeline"))])
        return Outcome()

    async def alter(self, session: Session, cmd: pl.AlterPipeline) -> Outcome:
        db = self._db(session)
        session.node.accounts.check(session.user, session.host, "ALTER", db.info.name)
        row = self._pipeline(db, cmd.name)
        stmts = []
        if cmd.drop_file is not None:
            files = self._file_states(db, cmd.name)
            target = cmd.drop_file
            if target not in files:
                matches = [f for f in files if f == self._abs(target) or os.path.basename(f) == target]
                if len(matches) != 1:
                    raise PipelineStateError(f"Pipeline '{cmd.name}' has no record of file '{cmd.drop_file}'"
                                             "; see information_schema.PIPELINES_FILES for its FILE_NAME values")
                target = matches[0]
            stmts.append(f"DELETE FROM _drlab_pipeline_files WHERE pipeline = {_lit(cmd.name)} AND file = {_lit(target)}")
        if cmd.batch_interval is not None:
            row.config.batch_interval = cmd.batch_interval
            stmts.append(f"UPDATE _drlab_pipelines SET config = {_lit(row.config.to_json())}, "
                         f"altered = {_lit(time.time())} WHERE name = {_lit(cmd.name)}")
        await self._logged(session, db, stmts)
        self.wake()
        return Outcome()

    def _abs(self, name: str) -> str:
        try:
            return self.resolve(name)
        except FilesRefused:
            return name

    async def start_cmd(self, session: Session, cmd: pl.StartPipeline) -> Outcome:
        db = self._db(session)
        session.node.accounts.check(session.user, session.host, "INSERT", db.info.name)
        if cmd.name is None:
            wanted = [r for r in self._pipelines(db) if (r.state == "Error" if cmd.failed_only else r.state != "Running")]
            if wanted:
                await self._set_state(session, db, [r.name for r in wanted], "Running")
            return Outcome()
        row = self._pipeline(db, cmd.name)
        key = (db.info.id, row.name)
        if row.state == "Running" or key in self.foreground:
            if cmd.if_not_running:
                return Outcome()
            raise PipelineStateError(f"Pipeline '{row.name}' is already running; STOP PIPELINE {row.name} "
                                     "first, or use START PIPELINE IF NOT RUNNING")
        if cmd.foreground:
            return await self._run_foreground(session, db, row, cmd.limit)
        await self._set_state(session, db, [row.name], "Running")
        return Outcome()

    async def stop_cmd(self, session: Session, cmd: pl.StopPipeline) -> Outcome:
        db = self._db(session)
        session.node.accounts.check(session.user, session.host, "INSERT", db.info.name)
        if cmd.name is None:
            rows = [r for r in self._pipelines(db) if r.state in ("Running", "Error")]
            for r in rows:
                await self._halt(db, r.name)
            if rows:
                await self._set_state(session, db, [r.name for r in rows], "Stopped")
            return Outcome()
        row = self._pipeline(db, cmd.name)
        key = (db.info.id, row.name)
        if key in self.foreground:
            await self._halt(db, row.name)
            return Outcome()
        if row.state not in ("Running", "Error"):
            if cmd.if_running:
                return Outcome()
            raise PipelineStateError(f"Pipeline '{row.name}' is not running; use STOP PIPELINE IF RUNNING "
                                     "to ignore a stopped pipeline")
        await self._halt(db, row.name)
        await self._set_state(session, db, [row.name], "Stopped")
        return Outcome()

    async def _set_state(self, session: Session, db: Database, names: list[str], state: str) -> None:
        now = _lit(time.time())
        await self._logged(session, db, [
            f"UPDATE _drlab_pipelines SET state = {_lit(state)}, altered = {now} WHERE name = {_lit(n)}" for n in names])
        self.wake()

    async def _halt(self, db: Database, name: str) -> None:
        """End the runner (or foreground run) of a pipeline; an open batch rolls back."""
        key = (db.info.id, name)
        task = self.tasks.pop(key, None)
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if key in self.foreground:  # another client's statement: interrupt it, never cancel its task
            self.interrupts.add(key)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while key in self.foreground and loop.time() < deadline:
                await asyncio.sleep(0.01)
            self.interrupts.discard(key)

    # -- SHOW ----------------------------------------------------------------------------------------
    def show_pipelines(self, session: Session, cmd: pl.ShowPipelines) -> Outcome:
        db = self._db(session)
        rows = []
        for r in self._pipelines(db):
            if cmd.like is not None and not show.like_match(cmd.like, r.name):
                continue
            state, scheduled = self._display_state(db, r)
            rows.append((r.name, state, scheduled))
        return Outcome(columns=[f"Pipelines_in_{db.info.name}", "State", "Scheduled"], rows=rows)

    def _display_state(self, db: Database, r: _Row) -> tuple[str, str]:
        key = (db.info.id, r.name)
        if key in self.foreground:
            return "Running", "False"
        task = self.tasks.get(key)
        scheduled = r.state == "Running" and task is not None and not task.done()
        return r.state, "True" if scheduled else "False"

    def show_create(self, session: Session, cmd: pl.ShowCreatePipeline) -> Outcome:
        db = self._db(session)
        row = self._pipeline(db, cmd.name)
        return Outcome(columns=["Pipeline", "Create Pipeline"], rows=[(row.name, row.config.show_create())])

    # -- information_schema ----------------------------------------------------------------------------
    def _visible(self, session: Session) -> list[Database]:
        out = []
        for name in self.node.store.names():
            db = self.node.store.get(name)
            if db is not None and self.node.accounts.databases_visible(session.user, session.host, name):
                out.append(db)
        return out

    def view_pipelines(self, node: Node, session: Session) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = []
        for db in self._visible(session):
            for r in self._pipelines(db):
                skipped = self._query(db, "SELECT COUNT(*) FROM _drlab_pipeline_files WHERE pipeline = ? AND "
                                      "state = 'Skipped'", (r.name,))[0][0]
                state, _ = self._display_state(db, r)
                rows.append((db.info.name, r.name, r.id, r.config.config_json(r.state == "Running"), state, skipped,
                             _ts(r.created), _ts(r.altered)))
        return rows

    def view_files(self, node: Node, session: Session) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = []
        for db in self._visible(session):
            for r in self._pipelines(db):
                done = self._file_states(db, r.name)
                sizes = dict(self.list_files(r.config))
                names = sorted(set(done) | set(sizes))
                for f in names:
                    size, state = done.get(f, (sizes.get(f), "Unloaded"))
                    rows.append((db.info.name, r.name, "FS", f, size, state))
        return rows

    def view_batches(self, node: Node, session: Session) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = []
        for db in self._visible(session):
            for bid, pname, state, start, secs, streamed, ins, upd, dele, nbytes, files in self._query(
                db, "SELECT batch_id, pipeline, state, start, seconds, rows_streamed, rows_inserted, rows_updated, "
                "rows_deleted, bytes, files FROM _drlab_pipeline_batches ORDER BY pipeline, batch_id"
            ):
                rows.append(_batch_row(db.info.name, pname, bid, state, start, secs, streamed, ins, upd, dele, nbytes,
                                       files, files))
            for (dbid, pname), p in self.progress.items():
                if dbid == db.info.id:
                    rows.append(_batch_row(db.info.name, pname, p.batch_id, "In Progress", p.start,
                                           time.time() - p.start, p.rows, p.rows, 0, 0, p.bytes, p.files, 0))
        return rows

    def view_errors(self, node: Node, session: Session) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = []
        for db in self._visible(session):
            for r in self._query(db, "SELECT pipeline, ts, type, code, message, line, line_number, batch_id, error_id, "
                                 "file FROM _drlab_pipeline_errors ORDER BY pipeline, error_id"):
                pname, ts, etype, code, msg, line, line_no, bid, eid, f = r
                rows.append((db.info.name, pname, int(ts), etype, code, msg, "Load", line, line_no, bid, eid, f))
        return rows

    # -- running ---------------------------------------------------------------------------------------
    async def _run_background(self, db: Database, name: str) -> None:
        session = self._session(db)
        key = (db.info.id, name)
        try:
            while True:
                if self.node.store.get(db.info.name) is not db or not _active(db):
                    return
                rows = self._pipelines(db, name)
                if not rows or rows[0].state != "Running":
                    return
                row = rows[0]
                result = await self._batch(session, db, row, background=True)
                if result.stop:
                    return
                if result.files == 0 or result.failed:
                    await asyncio.sleep(max(row.config.batch_interval, 10) / 1000)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a runner's failure must not take the node down
            log.exception("pipeline %s.%s runner", db.info.name, name)
        finally:
            session.rollback()
            self.progress.pop(key, None)
            if self.tasks.get(key) is asyncio.current_task():
                del self.tasks[key]

    async def _run_foreground(self, session: Session, db: Database, row: _Row, limit: int | None) -> Outcome:
        await session.implicit_commit()
        session.check_writable(db)
        key = (db.info.id, row.name)
        task = asyncio.current_task()
        assert task is not None
        self.foreground[key] = task
        runner = self._session(db)
        total, batches = 0, 0
        try:
            while limit is None or batches < limit:
                self._check_interrupt(key)
                result = await self._batch(runner, db, self._pipeline(db, row.name), background=False)
                if result.files == 0 and not result.failed:
                    break
                total += result.rows
                batches += 1
        finally:
            runner.rollback()
            self.progress.pop(key, None)
            if self.foreground.get(key) is task:
                del self.foreground[key]
        return Outcome(affected=total)

    def _check_interrupt(self, key: tuple[int, str]) -> None:
        if key in self.interrupts:
            raise SqlError(ER_QUERY_INTERRUPTED, f"Query execution was interrupted: STOP PIPELINE {key[1]} stopped the foreground run; "
                           "its open batch was rolled back", "70100")

    async def _batch(self, session: Session, db: Database, row: _Row, background: bool) -> _BatchResult:
        """Load the next files of ``row`` in one transaction, retrying per the pipeline's policy.

        Returns how many files and rows it loaded; raises SqlError for a foreground failure."""
        cfg = row.config
        files: list[tuple[str, int]] = []
        nbytes = 0
        for f, size in self.pending(db, row):
            if files and (len(files) >= _MAX_FILES_PER_BATCH or nbytes + size > _MAX_BYTES_PER_BATCH):
                break
            files.append((f, size))
            nbytes += size
        if not files:
            return _BatchResult()
        g = self.node.globals.values
        retries = cfg.max_retries if cfg.max_retries is not None else int(g.get("pipelines_max_retries_per_batch_partition", 4))
        stop_on_error = cfg.stop_on_error if cfg.stop_on_error is not None else bool(int(g.get("pipelines_stop_on_error", 1)))
        attempt = 0
        key = (db.info.id, row.name)
        while True:
            batch_id = self._next_id(db, "_drlab_pipeline_batches", "batch_id", row.name)
            self.progress[key] = _Progress(batch_id, time.time(), len(files), nbytes)
            try:
                rows = await self._load(session, db, row, files, batch_id)
                return _BatchResult(files=len(files), rows=rows)
            except _BatchFailed as e:
                session.rollback()
                attempt += 1
                final = attempt > retries
                state = "Error" if final and stop_on_error and background else None
                skip = e.file if final and not stop_on_error else None
                await self._record_failure(session, db, row.name, e, state, skip, self.progress[key])
                if final:
                    if not background and stop_on_error:
                        raise SqlError(e.code, f"Pipeline '{row.name}' batch {batch_id} failed on file '{e.file}' "
                                       f"line {e.line_number}: {e.message}") from None
                    return _BatchResult(failed=True, stop=state is not None)
                await asyncio.sleep(min(0.05 * attempt, 1.0))
            except (SqlError, WritesRefused) as e:
                session.rollback()
                transient = isinstance(e, WritesRefused) or e.code in _TRANSIENT
                if transient and background:  # not writable now (replica, READ ONLY, lock wait): try later
                    return _BatchResult(failed=True, stop=not _active(db))
                raise
            finally:
                self.progress.pop(key, None)

    async def _load(self, session: Session, db: Database, row: _Row, files: list[tuple[str, int]], batch_id: int) -> int:
        cfg = row.config
        try:
            tdef = self.node.table_def(db, cfg.table)
            ins = pl.row_insert(cfg, [c.name for c in tdef.columns])
        except SqlError as e:
            raise _BatchFailed(files[0][0], None, "", e.code, e.message) from None
        cmd, _ = self.node.parse(ins.sql, shape=False)
        policy = cfg.dup_policy
        progress = self.progress[(db.info.id, row.name)]
        started = time.time()
        errors: list[tuple[str, int, str, int, str]] = []
        inserted = updated = streamed = 0
        await session.run("BEGIN")
        for fname, _ in files:
            try:
                with open(fname, encoding="utf-8", errors="replace", newline="") as fh:
                    text = fh.read()
            except OSError as e:
                raise _BatchFailed(fname, None, "", ER_CANT_FIND_FILE, f"Can't read file '{fname}' (errno: {e.errno} - {e.strerror})") from None
            for line_no, line, fields in pl.split_csv(text, cfg):
                streamed += 1
                progress.rows = streamed
                try:
                    params = pl.bind_row(ins, fields)
                    out = await session.run(ins.sql, params, plan=cmd)
                except (pl.CsvError, SqlError) as e:
                    code, msg = e.code, e.message
                    if isinstance(e, SqlError) and code in _TRANSIENT:
                        raise
                    if _skips(policy, code):
                        errors.append((fname, line_no, line, code, msg))
                        continue
                    raise _BatchFailed(fname, line_no, line, code, msg) from None
                if out.affected == 2 and policy != "replace":
                    updated += 1
                elif out.affected:
                    inserted += 1
                if streamed % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                    self._check_interrupt((db.info.id, row.name))
        now = time.time()
        stmts = [f"INSERT OR REPLACE INTO _drlab_pipeline_files VALUES {_values(row.name, f, size, 'Loaded', batch_id)}"
                 for f, size in files]
        stmts.append("INSERT OR REPLACE INTO _drlab_pipeline_batches VALUES " + _values(
            row.name, batch_id, "Succeeded", started, round(now - started, 6), streamed, inserted, updated, 0,
            sum(s for _, s in files), len(files)))
        eid = self._next_id(db, "_drlab_pipeline_errors", "error_id", row.name)
        for i, (fname, line_no, line, code, msg) in enumerate(errors):
            stmts.append("INSERT INTO _drlab_pipeline_errors VALUES " + _values(
                row.name, eid + i, now, "Error", code, msg, line, line_no, batch_id, fname))
        await session.write(db, lambda: db.execute_logged_sql(_SCHEMA + stmts))
        await session.run("COMMIT")
        return inserted + updated

    async def _record_failure(self, session: Session, db: Database, name: str, e: _BatchFailed,
                              state: str | None, skip_file: str | None, p: _Progress) -> None:
        now = time.time()
        batch_id = p.batch_id
        eid = self._next_id(db, "_drlab_pipeline_errors", "error_id", name)
        stmts = [
            "INSERT OR REPLACE INTO _drlab_pipeline_batches VALUES " + _values(
                name, batch_id, "Failed", p.start, round(now - p.start, 6), p.rows, 0, 0, 0, p.bytes, p.files),
            "INSERT INTO _drlab_pipeline_errors VALUES " + _values(
                name, eid, now, "Error", e.code, e.message, e.line, e.line_number, batch_id, e.file),
        ]
        if skip_file is not None:
            size = os.path.getsize(skip_file) if os.path.exists(skip_file) else None
            stmts.append("INSERT OR REPLACE INTO _drlab_pipeline_files VALUES "
                         + _values(name, skip_file, size, "Skipped", batch_id))
        if state is not None:
            stmts.append(f"UPDATE _drlab_pipelines SET state = {_lit(state)}, altered = {_lit(now)} "
                         f"WHERE name = {_lit(name)}")
        try:
            await session.write(db, lambda: db.execute_logged_sql(_SCHEMA + stmts))
            await session.commit()
        except (SqlError, WritesRefused):
            session.rollback()  # not writable any more: the failure is not recorded, the batch will be retried


def _skips(policy: str, code: int) -> bool:
    """Whether the pipeline's error clause skips a row that failed with ``code``."""
    if policy == "skip all":
        return True
    if policy == "skip parser":
        return code in (ER_WARN_TOO_FEW_RECORDS, ER_WARN_TOO_MANY_RECORDS)
    if policy == "skip duplicate key":
        return code == ER_DUP_ENTRY
    if policy == "skip constraint":
        return code in (ER_BAD_NULL, WARN_DATA_TRUNCATED, ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, ER_DATA_TOO_LONG, ER_NO_DEFAULT_FOR_FIELD, ER_WARN_DATA_OUT_OF_RANGE, ER_NO_REFERENCED_ROW_2)
    if policy == "ignore":
        return code in (ER_WARN_TOO_FEW_RECORDS, ER_WARN_TOO_MANY_RECORDS)
    return False


def _batch_row(dbn: str, pname: str, bid: int, state: str, start: float | None, secs: float | None, streamed: int,
               inserted: int, updated: int, deleted: int, nbytes: int, parts: int, finished: int) -> tuple[Any, ...]:
    mb = round((nbytes or 0) / (1 << 20), 6)
    secs = secs or 0.0
    return (dbn, pname, bid, state, start, 0.0, 0.0, round(secs, 6),
            round(streamed / secs, 3) if secs else None, streamed, parts, finished, mb,
            round(mb / secs, 6) if secs else None, inserted, updated, deleted)


def _active(db: Database) -> bool:
    return db.info.role == "master" and db.info.state == "online"


VIEWS: dict[str, list[str]] = {
    "PIPELINES": ["DATABASE_NAME", "PIPELINE_NAME", "PIPELINE_ID", "CONFIG_JSON", "STATE", "SKIPPED_BATCH_PARTITIONS",
                  "CREATE_TIME", "ALTER_TIME"],
    "PIPELINES_FILES": ["DATABASE_NAME", "PIPELINE_NAME", "SOURCE_TYPE", "FILE_NAME", "FILE_SIZE", "FILE_STATE"],
    "PIPELINES_BATCHES_SUMMARY": ["DATABASE_NAME", "PIPELINE_NAME", "BATCH_ID", "BATCH_STATE", "START_TIME",
                                  "EXTRACTOR_WAIT_TIME", "TRANSFORM_WAIT_TIME", "BATCH_TIME", "ROWS_PER_SEC",
                                  "ROWS_STREAMED", "NUM_PARTITIONS", "NUM_PARTITIONS_FINISHED", "MB_STREAMED",
                                  "MB_PER_SEC", "ROWS_INSERTED", "ROWS_UPDATED", "ROWS_DELETED"],
    "PIPELINES_ERRORS": ["DATABASE_NAME", "PIPELINE_NAME", "ERROR_UNIX_TIMESTAMP", "ERROR_TYPE", "ERROR_CODE",
                         "ERROR_MESSAGE", "ERROR_KIND", "LOAD_DATA_LINE", "LOAD_DATA_LINE_NUMBER", "BATCH_ID",
                         "ERROR_ID", "BATCH_SOURCE_PARTITION_ID"],
}


def install(node: Node) -> Pipelines:
    """Register the pipeline statements, views and the runner service on ``node``."""
    p = Pipelines(node)
    f = node.features
    f.add_command(pl.CreatePipeline, p.create)
    f.add_command(pl.DropPipeline, p.drop)
    f.add_command(pl.AlterPipeline, p.alter)
    f.add_command(pl.StartPipeline, p.start_cmd)
    f.add_command(pl.StopPipeline, p.stop_cmd)

    async def show_pipelines(session: Session, cmd: pl.ShowPipelines) -> Outcome:
        return p.show_pipelines(session, cmd)

    async def show_create(session: Session, cmd: pl.ShowCreatePipeline) -> Outcome:
        return p.show_create(session, cmd)

    f.add_command(pl.ShowPipelines, show_pipelines)
    f.add_command(pl.ShowCreatePipeline, show_create)
    builders = {"PIPELINES": p.view_pipelines, "PIPELINES_FILES": p.view_files,
                "PIPELINES_BATCHES_SUMMARY": p.view_batches, "PIPELINES_ERRORS": p.view_errors}
    for name, builder in builders.items():
        f.add_view(name, VIEWS[name], builder)
    f.add_service(p)
    f.on_promotion(p.wake)
    f.on_drop(p.database_dropped)
    return p
