"""The MySQL connection: mysql-mimic's handshake and auth, then drlab's own command phase.

mysql-mimic's command handlers drop affected rows, status flags and multi-statement results and
splice prepared-statement parameters into SQL text; every command is handled here instead. Its
handshake-response and COM_CHANGE_USER decoders loop forever on a string without its NUL, so those
packets are decoded by server.protocol. Before login a connection is limited: `max_connections`
(one more for an account with SUPER), `connect_timeout` seconds to finish the handshake, and packets
of at most PRE_AUTH_MAX_PACKET bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from mysql_mimic import context, packets
from mysql_mimic.connection import Connection
from mysql_mimic.constants import KillKind
from mysql_mimic.packets import SSLRequest
from mysql_mimic.stream import ConnectionClosed
from mysql_mimic.types import Capabilities, ColumnType, ServerStatus

from server.accounts import AccountError
from server.auth import AuthConnectionMixin
from server.errors import to_sql_error
from server.protocol import (
    ColumnSpecs,
    PacketTooLarge,
    eof_packet,
    err_packet,
    infer_columns,
    infer_specs,
    ok_packet,
    parse_change_user,
    parse_handshake_response,
    read_execute,
    result_columns,
    results_charset,
    status_flags,
)
from server.session import Outcome, Session
from sqlfront import statements as st
from sqlfront.charset import decode_statement
from sqlfront.errors import (
    ER_BAD_DB,
    ER_CON_COUNT,
    ER_CONNECTION_KILLED,
    ER_EMPTY_QUERY,
    ER_HANDSHAKE,
    ER_NET_PACKET_TOO_LARGE,
    ER_NOT_SUPPORTED_YET,
    ER_PARSE,
    ER_QUERY_INTERRUPTED,
    ER_UNKNOWN_COM,
    ER_UNKNOWN_ERROR,
    ER_UNKNOWN_STMT_HANDLER,
    SqlError,
    too_deep,
)

logger = logging.getLogger(__name__)

CAPABILITIES = (
    Capabilities.CLIENT_PROTOCOL_41
    | Capabilities.CLIENT_DEPRECATE_EOF
    | Capabilities.CLIENT_CONNECT_WITH_DB
    | Capabilities.CLIENT_CONNECT_ATTRS
    | Capabilities.CLIENT_PLUGIN_AUTH
    | Capabilities.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | Capabilities.CLIENT_SECURE_CONNECTION
    | Capabilities.CLIENT_LONG_PASSWORD
    | Capabilities.CLIENT_LONG_FLAG
    | Capabilities.CLIENT_FOUND_ROWS
    | Capabilities.CLIENT_TRANSACTIONS
    | Capabilities.CLIENT_MULTI_STATEMENTS
    | Capabilities.CLIENT_MULTI_RESULTS
    | Capabilities.CLIENT_PS_MULTI_RESULTS
    | Capabilities.CLIENT_INTERACTIVE
    | Capabilities.CLIENT_IGNORE_SPACE
)

COM_QUIT, COM_INIT_DB, COM_QUERY, COM_FIELD_LIST, COM_STATISTICS = 0x01, 0x02, 0x03, 0x04, 0x09
COM_PROCESS_KILL, COM_PING, COM_CHANGE_USER, COM_RESET_CONNECTION = 0x0C, 0x0E, 0x11, 0x1F
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA = 0x16, 0x17, 0x18
COM_STMT_CLOSE, COM_STMT_RESET, COM_STMT_FETCH, COM_SET_OPTION = 0x19, 0x1A, 0x1C, 0x1B


@dataclass
class Prepared:
    id: int
    text: str
    cmd: Any
    nparams: int
    types: list[tuple[int, bool]] | None = None
    long_data: dict[int, bytearray] = field(default_factory=dict)
    cursor: list[Any] | None = None
    cursor_cols: Any = None
    # the last result's (names, specs) and its columns with their framed-ready header packets
    # (column count, definitions): built once, reused while executions return the same shape
    result_key: Any = None
    result_head: tuple[list[Any], list[bytes]] | None = None


class _MimicSession:
    """What mysql-mimic's handshake writes into: charset variables, the database, the user."""

    def __init__(self, version: str) -> None:
        # `version` goes into the handshake greeting (drivers parse it: PyMySQL fails on "None")
        self.variables = _Vars(character_set_results="utf8mb4", character_set_client="utf8mb4",
                               version=version)
        self.database: str | None = None
        self.username: str | None = None

    async def init(self, connection: Any) -> None:
        return None

    async def close(self) -> None:
        return None

    async def reset(self) -> None:
        return None


class _Vars(dict):
    def set(self, key: str, value: Any, force: bool = False) -> None:
        self[key] = value


class DrlabConnection(AuthConnectionMixin, Connection):
    node: Any = None  # set by server.app before serving

    session: Any
    drsession: Session

    _login_refused: SqlError | None = None
    _cluster = "system"  # the virtual cluster and database the login chose (server.pcr): set by ok()
    _database: str | None = None
    _logged_in = False
    _kill: KillKind | None  # mysql-mimic's: set by kill(), read here to tell KILL QUERY from KILL

    def ok(self, **kwargs: Any) -> bytes:
        """The OK that ends authentication (mysql-mimic's auth is the only caller). Like MySQL, an
        unknown or forbidden initial database is refused here, with ERR 1049/1044 instead of the OK,
        and so is a login into the extra connection beyond max_connections without SUPER (1040)."""
        node, user, host = self.node, self.auth_user or "", self.auth_host or self.peer_host()
        try:
            if (not self._logged_in and len(node.clients) > int(node.globals.values["max_connections"])
                    and not node.accounts.has_privilege(user, host, "SUPER")):
                node.stats["Connection_errors_max_connections"] += 1
                raise SqlError(ER_CON_COUNT, "Too many connections")
            self._cluster, db = node.features.clusters.login(self.session.database)
            self._database = db
            if db and db.lower() != "information_schema":
                if node.store.get(db) is None or not node.features.clusters.owns(self._cluster, db):
                    raise SqlError(ER_BAD_DB, f"Unknown database '{db}'")
                node.accounts.check(user, host, "USAGE", db)
        except (SqlError, AccountError) as e:
            self._login_refused = refusal = _as_sql_error(e)
            return err_packet(refusal)
        return super().ok(**kwargs)

    async def _start(self) -> None:
        context.connection_id.set(self.connection_id)
        node = self.node
        clients = node.clients
        clients.add(self)
        try:
            await self._serve()
        finally:
            clients.discard(self)

    async def _serve(self) -> None:
        node = self.node
        if len(node.clients) > int(node.globals.values["max_connections"]) + 1:
            # even the extra connection kept for an account with SUPER is taken: refused before the greeting
            node.stats["Connection_errors_max_connections"] += 1
            await self._send_and_close(SqlError(ER_CON_COUNT, "Too many connections"))
            return
        # the greeting's and the auth OK's status: autocommit on (drivers read it from there)
        if node.globals.values.get("autocommit", 1):
            self.status_flags = ServerStatus.SERVER_STATUS_AUTOCOMMIT
        timeout = int(node.globals.values["connect_timeout"])
        try:
            async with asyncio.timeout(timeout):
                await self.connection_phase()
        except (ConnectionClosed, asyncio.IncompleteReadError, ConnectionError):
            return
        except TimeoutError:
            logger.info("handshake of connection %s not finished within connect_timeout", self.connection_id)
            await self._send_and_close(SqlError(
                ER_HANDSHAKE, f"Bad handshake: not completed within connect_timeout ({timeout} s); "
                              "a slow client can be given longer with SET GLOBAL connect_timeout"))
            return
        except asyncio.CancelledError:
            raise
        except PacketTooLarge as e:
            await self._send_and_close(SqlError(
                ER_HANDSHAKE, f"Bad handshake: a packet larger than {e.limit} bytes before login"))
            return
        except SqlError as e:  # a malformed handshake response: answer, then close
            await self._send_and_close(e)
            return
        except Exception as e:  # a garbled handshake: answer, then close
            await self._send_and_close(SqlError(ER_HANDSHAKE, f"Bad handshake: {e}"))
            return
        if self._login_refused is not None:  # already answered with ERR instead of OK
            return
        self._logged_in = True
        self.drsession = session = node.new_session(self.connection_id)
        node.connections[self.connection_id] = self
        session.user = self.auth_user or self.session.username or ""
        session.host = self.auth_host or self.peer_host()
        session.client_found_rows = Capabilities.CLIENT_FOUND_ROWS in self.capabilities
        self._use_client_charset()
        self.multi = Capabilities.CLIENT_MULTI_STATEMENTS in self.capabilities
        self.deprecate_eof = Capabilities.CLIENT_DEPRECATE_EOF in self.capabilities  # read on every result
        self.stmts: dict[int, Prepared] = {}
        self.next_stmt = 1
        session.cluster = self._cluster
        try:
            if self._database:
                try:
                    session.use(self._database)
                except (SqlError, AccountError) as e:
                    await self._send(err_packet(_as_sql_error(e)))
                    return
            await self._commands()
        except asyncio.CancelledError:
            if self._kill == KillKind.CONNECTION:
                try:
                    await self._send(err_packet(SqlError(ER_CONNECTION_KILLED, "Connection was killed")))
                except Exception:
                    pass
                return
            raise
        finally:
            await session.close()

    async def _send(self, packet: bytes) -> None:
        await self.stream.write(packet)

    async def _send_and_close(self, err: SqlError) -> None:
        """Answer a connection that is being dropped; it may already be gone."""
        try:
            await self._send(err_packet(err))
        except (ConnectionError, RuntimeError):
            pass

    async def connection_phase(self) -> None:
        """mysql-mimic's handshake with a strict decoder for the client's response (the library's
        loops forever on a user name without its NUL)."""
        plugin = self.identity_provider.get_default_plugin()
        auth_data, auth_state = await plugin.start()
        self.handshake_auth_data, self.handshake_auth_plugin = auth_data, plugin.name
        await self.stream.write(packets.make_handshake_v10(
            capabilities=self.server_capabilities, server_charset=self.server_charset,
            server_version=str(self.session.variables.get("version")), connection_id=self.connection_id,
            auth_data=auth_data, status_flags=self.status_flags, auth_plugin_name=plugin.name,
        ))
        response = parse_handshake_response(self.server_capabilities, await self.stream.read())
        if isinstance(response, SSLRequest):
            if self.ssl is None:
                raise SqlError(ER_HANDSHAKE, "Bad handshake: the client asked for TLS, which this node does not "
                                             "offer (start it with --tls-cert and --tls-key)")
            await self.stream.start_tls(self.ssl)
            response = parse_handshake_response(self.server_capabilities, await self.stream.read())
            if isinstance(response, SSLRequest):
                raise SqlError(ER_HANDSHAKE, "Bad handshake: a second SSL request")
        self.capabilities = response.capabilities
        self.max_packet_size = response.max_packet_size
        self.session.variables.set("character_set_client", response.client_charset.name)
        self.session.database = response.database
        self.client_plugin_name = response.client_plugin
        self.client_connect_attrs = response.connect_attrs
        self.zstd_compression_level = response.zstd_compression_level
        await self.authenticate(
            auth_state=auth_state, server_plugin=plugin, username=response.username,
            client_plugin_name=response.client_plugin, auth_response=response.auth_response,
            connect_attrs=response.connect_attrs,
        )
        self.stream.reset_seq()

    async def handle_change_user(self, data: bytes) -> None:
        """COM_CHANGE_USER decoded by our strict decoder, then authenticated like a login."""
        req = parse_change_user(self.capabilities, self.client_charset, data)
        self.session.database = req.database
        if req.client_charset:
            self.session.variables.set("character_set_client", req.client_charset.name)
        if req.connect_attrs:
            self.client_connect_attrs = req.connect_attrs
        await self.authenticate(username=req.username, auth_response=req.auth_response,
                                client_plugin_name=req.client_plugin, connect_attrs=req.connect_attrs)
        self._use_client_charset()

    def _use_client_charset(self) -> None:
        """The character set the client named at login is the session's, as SET NAMES would make it:
        statement text is decoded by it (``decode_statement``)."""
        name = self.session.variables.get("character_set_client")
        if name and getattr(self, "drsession", None) is not None:
            for v in ("character_set_client", "character_set_connection", "character_set_results"):
                self.drsession.vars[v] = name

    def _flags(self, more: bool = False, extra: int = 0) -> int:
        s = self.drsession
        return status_flags(s.autocommit, s.in_transaction, more) | extra

    async def _commands(self) -> None:
        stream, session = self.stream, self.drsession
        while True:
            try:
                data = await stream.read(session.vars["max_allowed_packet"])
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except PacketTooLarge:  # MySQL answers and drops the connection
                await self._send_and_close(_packet_too_large())
                return
            except SqlError as e:  # out of sequence: answer and drop the connection
                await self._send_and_close(e)
                return
            try:
                if not data:
                    raise SqlError(ER_UNKNOWN_COM, "Unknown command")
                cmd, body = data[0], data[1:]
                if cmd == COM_QUIT:
                    return
                await self._command(cmd, body)
            except SqlError as e:
                await self._send(err_packet(e))
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the client went away in the middle of an exchange (COM_CHANGE_USER's auth)
            except PacketTooLarge:
                await self._send_and_close(_packet_too_large())
                return
            except asyncio.CancelledError:
                if self._kill == KillKind.QUERY:
                    self._kill = None
                    task = asyncio.current_task()
                    if task is not None:
                        task.uncancel()
                    await self._send(err_packet(SqlError(ER_QUERY_INTERRUPTED, "Query execution was interrupted")))
                else:
                    raise
            except RecursionError:  # a statement nested deeper than a check above caught
                await self._send(err_packet(too_deep()))
            except Exception as e:
                mapped = to_sql_error(e)
                if mapped is None:
                    logger.exception("internal error")
                    mapped = SqlError(ER_UNKNOWN_ERROR, f"Internal error in drlab: {type(e).__name__}: {e}")
                await self._send(err_packet(mapped))
            finally:
                self.stream.reset_seq()

    async def _command(self, cmd: int, body: bytes) -> None:
        session = self.drsession
        if cmd == COM_QUERY:
            await self._query(decode_statement(body, session.vars["character_set_client"]))
        elif cmd == COM_PING:
            await self._send(ok_packet(0, 0, self._flags(), 0))
        elif cmd == COM_INIT_DB:
            session.use(body.decode("utf-8", "surrogateescape"))  # a name no database has: 1049
            await self._send(ok_packet(0, 0, self._flags(), 0))
        elif cmd == COM_STMT_PREPARE:
            await self._prepare(decode_statement(body, session.vars["character_set_client"]))
        elif cmd == COM_STMT_EXECUTE:
            await self._execute(body)
        elif cmd == COM_STMT_SEND_LONG_DATA:
            stmt = self._stmt(body)
            pid = int.from_bytes(body[4:6], "little")
            stmt.long_data.setdefault(pid, bytearray()).extend(body[6:])
        elif cmd == COM_STMT_CLOSE:
            self.stmts.pop(int.from_bytes(body[:4], "little"), None)
        elif cmd == COM_STMT_RESET:
            stmt = self._stmt(body)
            stmt.long_data.clear()
            stmt.cursor = None
            await self._send(ok_packet(0, 0, self._flags(), 0))
        elif cmd == COM_STMT_FETCH:
            await self._fetch(body)
        elif cmd == COM_STATISTICS:
            node = self.node
            up = max(int(time.time() - node.started), 1)
            q = node.stats["Questions"]
            await self._send(
                f"Uptime: {up}  Threads: {len(node.sessions)}  Questions: {q}  Slow queries: 0  Opens: 0  "
                f"Flush tables: 1  Open tables: 0  Queries per second avg: {q / up:.3f}".encode()
            )
        elif cmd == COM_FIELD_LIST:
            await self._field_list(body)
        elif cmd == COM_PROCESS_KILL:
            self.node.kill(session, int.from_bytes(body[:4], "little"), False)
            await self._send(ok_packet(0, 0, self._flags(), 0))
        elif cmd == COM_CHANGE_USER:
            await self._change_user(body)
        elif cmd == COM_RESET_CONNECTION:
            self._reset_session()
            await self._send(ok_packet(0, 0, self._flags(), 0))
        elif cmd == COM_SET_OPTION:
            self.multi = body[:2] == b"\x00\x00"
            await self._send(eof_packet(self._flags()))
        else:
            raise SqlError(ER_UNKNOWN_COM, f"Unknown command {cmd:#x}")

    # -- text protocol -----------------------------------------------------------------------------
    async def _change_user(self, body: bytes) -> None:
        """COM_CHANGE_USER: authenticate again (a failure closes the connection, as MySQL does),
        then start afresh as the new user: no transaction, locks, variables or statements."""
        session = self.drsession
        self._reset_session()
        self.node.features.closed(session)  # FLUSH TABLES locks belong to the old login
        try:
            await self.handle_change_user(body)
        except SqlError as e:  # malformed: like a failed change of user, MySQL drops the connection
            await self._send_and_close(e)
            self.stream.writer.close()
            return
        session.user, session.host = self.auth_user or "", self.auth_host or self.peer_host()
        session.db = None
        session.cluster = self._cluster
        if self._database:
            try:
                session.use(self._database)
            except (SqlError, AccountError):
                pass  # the OK is already sent: the session simply has no current database

    def _reset_session(self) -> None:
        """COM_RESET_CONNECTION's state: no transaction, fresh variables, no prepared statements."""
        session = self.drsession
        session.rollback()
        session.user_vars.clear()
        session.vars = dict(self.node.globals.values)
        session.warnings = []
        self.stmts.clear()

    async def _query(self, sql: str) -> None:
        node, session = self.node, self.drsession
        parts = st.split(sql) if self.multi and ";" in sql else [sql]
        if not parts:
            raise SqlError(ER_EMPTY_QUERY, "Query was empty")
        last = len(parts) - 1
        for i, text in enumerate(parts):
            node.stats["Questions"] += 1
            out = await session.run(text)
            await self._write_outcome(out, more=i < last, binary=False)

    async def _write_outcome(self, out: Outcome, more: bool, binary: bool, stmt: Prepared | None = None) -> None:
        """OK, or a result set; `stmt` keeps the columns and their definitions of a prepared
        statement's results, so repeated executions of one shape build them once."""
        warnings = len(self.drsession.warnings)
        if out.columns is None:
            await self._send(ok_packet(out.affected, out.insert_id, self._flags(more), warnings, out.info))
            return
        specs, rows = infer_specs(len(out.columns), out.rows,
                                  results_charset(self.drsession.vars.get("character_set_results")), binary)
        if stmt is None:
            cols, head = self._result_head(out.columns, specs)
        else:
            key = (out.columns, specs)
            if stmt.result_head is None or stmt.result_key != key:
                stmt.result_key, stmt.result_head = key, self._result_head(out.columns, specs)
            cols, head = stmt.result_head
        await self._write_resultset(cols, head, rows, more, binary, warnings)

    def _result_head(self, names: list[str], specs: ColumnSpecs) -> tuple[list[Any], list[bytes]]:
        """A result's columns and its first packets: the column count and the column definitions."""
        cols = result_columns(names, specs)
        charset = self.server_charset
        head = [packets.make_column_count(capabilities=self.capabilities, column_count=len(cols))]
        head += [packets.make_column_definition_41(server_charset=charset, name=c.name, column_type=c.type,
                                                   character_set=c.character_set) for c in cols]
        return cols, head

    async def _write_resultset(self, cols: Any, head: list[bytes], rows: Any, more: bool, binary: bool,
                               warnings: int) -> None:
        """The whole result (head, EOF, rows, EOF) framed into one buffer and sent with one write."""
        flags = self._flags(more)
        pkts = list(head)  # a copy: `head` may be a prepared statement's, kept for its next execution
        if not self.deprecate_eof:
            pkts.append(eof_packet(flags, warnings))
        encode = packets.make_binary_resultrow if binary else packets.make_text_resultset_row
        pkts += [encode(r, cols) for r in rows]
        pkts.append(ok_packet(0, 0, flags, warnings, eof=True) if self.deprecate_eof else eof_packet(flags, warnings))
        self.stream.write_many(pkts)
        await self.stream.drain()

    # -- prepared statements -----------------------------------------------------------------------
    def _stmt(self, body: bytes) -> Prepared:
        sid = int.from_bytes(body[:4], "little")
        stmt = self.stmts.get(sid)
        if stmt is None:
            raise SqlError(ER_UNKNOWN_STMT_HANDLER, f"Unknown prepared statement handler ({sid}) given to mysqld_stmt_execute")
        return stmt

    async def _prepare(self, text: str) -> None:
        session, node = self.drsession, self.node
        parts = st.split(text)
        if len(parts) != 1:
            raise SqlError(ER_PARSE, "You have an error in your SQL syntax: a prepared statement holds exactly one statement")
        cmd, _ = node.parse(parts[0], shape=False)
        columns: list[str] = []
        nparams = 0
        if isinstance(cmd, st.Dml):
            plan = node.plan(cmd, session)
            nparams = plan.nparams
            if plan.lowered.kind == "select":
                columns = session.describe(plan)
        elif "?" in _strip_literals(parts[0]):
            raise SqlError(ER_NOT_SUPPORTED_YET, "Parameters in this kind of prepared statement are not supported by drlab")
        sid = self.next_stmt
        self.next_stmt += 1
        self.stmts[sid] = Prepared(sid, parts[0], cmd, nparams)
        charset = self.server_charset
        pkts = [b"\x00" + sid.to_bytes(4, "little") + len(columns).to_bytes(2, "little")
                + nparams.to_bytes(2, "little") + b"\x00" + b"\x00\x00"]
        deprecate_eof = self.deprecate_eof
        if nparams:
            pkts += [packets.make_column_definition_41(server_charset=charset, name="?", column_type=ColumnType.VAR_STRING)
                     for _ in range(nparams)]
            if not deprecate_eof:
                pkts.append(eof_packet(self._flags()))
        if columns:
            pkts += [packets.make_column_definition_41(server_charset=charset, name=c, column_type=ColumnType.VAR_STRING)
                     for c in columns]
            if not deprecate_eof:
                pkts.append(eof_packet(self._flags()))
        self.stream.write_many(pkts)
        await self.stream.drain()

    async def _execute(self, body: bytes) -> None:
        stmt = self._stmt(body)
        flags, values, stmt.types = read_execute(body[4:], stmt.nparams, stmt.types, stmt.long_data)
        stmt.long_data = {}
        self.node.stats["Questions"] += 1
        out = await self.drsession.run(stmt.text, values, plan=stmt.cmd)
        if out.columns is not None and flags & 0x01:  # CURSOR_TYPE_READ_ONLY: rows are fetched later
            cols, rows = infer_columns(out.columns, out.rows, results_charset(self.drsession.vars.get("character_set_results")),
                                       True)
            stmt.cursor, stmt.cursor_cols = list(rows), cols
            charset = self.server_charset
            pkts = [packets.make_column_count(capabilities=self.capabilities, column_count=len(cols))]
            pkts += [packets.make_column_definition_41(server_charset=charset, name=c.name, column_type=c.type,
                                                       character_set=c.character_set) for c in cols]
            pkts.append(eof_packet(self._flags(extra=0x0040)))  # SERVER_STATUS_CURSOR_EXISTS
            self.stream.write_many(pkts)
            await self.stream.drain()
            return
        await self._write_outcome(out, more=False, binary=True, stmt=stmt)

    async def _fetch(self, body: bytes) -> None:
        stmt = self._stmt(body)
        n = int.from_bytes(body[4:8], "little")
        rows = stmt.cursor or []
        batch, stmt.cursor = rows[:n], rows[n:]
        pkts = [packets.make_binary_resultrow(r, stmt.cursor_cols) for r in batch]
        done = not stmt.cursor
        pkts.append(eof_packet(self._flags(extra=0x0080 if done else 0x0040)))
        self.stream.write_many(pkts)
        await self.stream.drain()

    async def _field_list(self, body: bytes) -> None:
        table = body.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")
        out = await self.drsession.run(f"SHOW COLUMNS FROM `{table.replace('`', '``')}`")
        charset = self.server_charset
        pkts = [packets.make_column_definition_41(server_charset=charset, table=table, name=row[0],
                                                  is_com_field_list=True, default=row[4]) for row in out.rows]
        pkts.append(eof_packet(self._flags()))
        self.stream.write_many(pkts)
        await self.stream.drain()


def _packet_too_large() -> SqlError:
    return SqlError(ER_NET_PACKET_TOO_LARGE, "Got a packet bigger than 'max_allowed_packet' bytes")


def _strip_literals(sql: str) -> str:
    out, i, n = [], 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            j = i + 1
            while j < n and sql[j] != c:
                j += 2 if sql[j] == "\\" else 1
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _as_sql_error(e: SqlError | AccountError) -> SqlError:
    mapped = to_sql_error(e)
    assert mapped is not None  # every AccountError kind is in server.errors' table
    return mapped
