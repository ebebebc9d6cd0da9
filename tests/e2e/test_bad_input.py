"""Hostile and broken input against a real node: bad SQL, garbage bytes, oversized packets, injection-shaped
parameters, wrong passwords. After every case the node must still serve a fresh client."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator

import mysql.connector
import pymysql
import pytest

from lab.harness import NodeProcess

PW = "bad-Input_pw"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("badinput") / "data", password=PW, name="badinput").start()
    yield n
    n.stop()


@pytest.fixture
def alive(srv: NodeProcess) -> Iterator[NodeProcess]:
    """Runs the test, then checks that a second, fresh client still works and the process is up."""
    yield srv
    assert srv.proc is not None and srv.proc.poll() is None, "the node process died"
    with srv.connect() as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def _raw_connect(srv: NodeProcess) -> socket.socket:
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    return s


def _recv_packet(s: socket.socket) -> tuple[int, bytes]:
    header = _recv_exact(s, 4)
    length = int.from_bytes(header[:3], "little")
    return header[3], _recv_exact(s, length)


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def _read_until_closed(s: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection; fails if it does not close in time."""
    deadline = time.monotonic() + timeout
    out = b""
    while True:
        s.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return out
        except TimeoutError:
            raise AssertionError(f"server did not close the connection within {timeout}s; got {out[:200]!r}") from None
        if not chunk:
            return out
        out += chunk


def _errors_in(stream: bytes) -> list[int]:
    """Error codes of the ERR packets in a raw byte stream of packets."""
    codes, i = [], 0
    while i + 4 <= len(stream):
        length = int.from_bytes(stream[i:i + 3], "little")
        payload = stream[i + 4:i + 4 + length]
        if payload[:1] == b"\xff" and len(payload) >= 3:
            codes.append(struct.unpack("<H", payload[1:3])[0])
        i += 4 + length
    return codes


# -- SQL -----------------------------------------------------------------------------------------
MALFORMED = [
    "SELEC 1",
    "SELECT * FROM",
    "SELECT (1 + 2",
    "INSERT INTO t VALUES (1,",
    "SELECT 'unterminated",
    "CREATE TABLE (id INT)",
    "UPDATE SET x = 1",
    "SELECT 1 FROM t WHERE a = = 1",
    ")))",
    "SELECT `a",
]


@pytest.mark.parametrize("sql", MALFORMED)
def test_malformed_sql_is_1064(alive: NodeProcess, sql: str) -> None:
    with alive.connect() as c, c.cursor() as cur:
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute(sql)
        code, msg = e.value.args
        assert code == 1064, (sql, code, msg)
        assert "\x1b" not in msg and "syntax" in msg.lower()
        cur.execute("SELECT 2")  # same connection is still usable
        assert cur.fetchone() == (2,)


@pytest.mark.parametrize("sql, word", [("FROBNICATE the_database", "FROBNICATE"),
                                       ("XYZZY", "XYZZY"),
                                       ("PLUGH 1, 2, 3", "PLUGH")])
def test_unknown_statement_names_it(alive: NodeProcess, sql: str, word: str) -> None:
    with alive.connect() as c, c.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute(sql)
        code, msg = e.value.args
        assert code in (1064, 1235, 1295), (code, msg)
        assert word in msg, msg
        assert "\x1b" not in msg


def test_empty_query(alive: NodeProcess) -> None:
    with alive.connect() as c:
        with pytest.raises(pymysql.err.MySQLError) as e:
            c.query("")
        assert e.value.args[0] == 1065


# -- garbage on the wire -------------------------------------------------------------------------
def test_garbage_before_handshake_response(alive: NodeProcess) -> None:
    payloads = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x05\x00\x00\x01\xff\xff\xff\xff\xff",  # a short, meaningless handshake response
        os.urandom(300),
        b"\x00" * 64,
    ]
    for junk in payloads:
        s = _raw_connect(alive)
        try:
            seq, greeting = _recv_packet(s)
            assert seq == 0 and greeting[0] == 10  # protocol version 10
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            rest = _read_until_closed(s)
            assert not rest or rest[4:5] == b"\xff", rest[:100]  # only an ERR packet, if anything
        finally:
            s.close()
    # connect and drop without a word; connect and send junk before even reading the greeting
    socket.create_connection((alive.host, alive.port), timeout=5).close()
    s = _raw_connect(alive)
    try:
        s.sendall(os.urandom(100))
        s.shutdown(socket.SHUT_WR)
        _read_until_closed(s)
    finally:
        s.close()


def test_unknown_command_after_handshake_keeps_connection(alive: NodeProcess) -> None:
    with alive.connect() as c:
        c._execute_command(0x7F, b"whatever")
        with pytest.raises(pymysql.err.MySQLError) as e:
            c._read_packet()
        assert e.value.args[0] == 1047
        with c.cursor() as cur:
            cur.execute("SELECT 3")
            assert cur.fetchone() == (3,)


def test_garbage_after_handshake(alive: NodeProcess) -> None:
    for junk in (os.urandom(200), b"\xff" * 50, b"\x01\x00\x00\x07\x03",  # wrong sequence number
                 b"\x10\x00\x00\x00\x03SELECT",  # a truncated COM_QUERY, then the client goes away
                 b"\x00\x00\x00\x00"):  # an empty packet
        c = alive.connect()
        sock = c._sock
        assert sock is not None
        sock.sendall(junk)
        sock.shutdown(socket.SHUT_WR)
        rest = _read_until_closed(sock)
        assert set(_errors_in(rest)) <= {1047, 1835, 1153, 1064, 1065}, rest[:200]
        sock.close()
        assert alive.sql("SELECT 1") == [(1,)]


def test_oversized_packet_is_1153_and_closes(alive: NodeProcess) -> None:
    limit = 1 << 20
    with alive.connect() as admin, admin.cursor() as cur:
        cur.execute(f"SET GLOBAL max_allowed_packet = {limit}")
    try:
        with alive.connect() as c, c.cursor() as cur:
            cur.execute("SELECT @@max_allowed_packet")
            assert cur.fetchone() == (limit,)
            cur.execute("SELECT LENGTH(%s)", ("y" * (limit // 2),))  # under the limit: fine
            assert cur.fetchone() == (limit // 2,)
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute("SELECT LENGTH(%s)", ("x" * (limit + 1000),))
            assert e.value.args[0] == 1153, e.value.args
            with pytest.raises(pymysql.err.MySQLError):  # the server closed the connection
                cur.execute("SELECT 1")
        # the same over a raw socket: a header announcing too much, then only part of the payload
        c = alive.connect()
        sock = c._sock
        assert sock is not None
        body = b"\x03SELECT '" + b"z" * 1000
        sock.sendall((limit + 10).to_bytes(3, "little") + b"\x00" + body)
        rest = _read_until_closed(sock)
        assert _errors_in(rest) == [1153], rest[:200]
        sock.close()
    finally:
        with alive.connect() as admin, admin.cursor() as cur:
            cur.execute("SET GLOBAL max_allowed_packet = 67108864")


# -- parameters shaped like injections -----------------------------------------------------------
INJECTIONS = ["x'); DROP TABLE t; --", "' OR '1'='1", "1; DELETE FROM t", "\\'; SELECT 1; --", "\x00nul",
              "' UNION SELECT id, s FROM t --", "?", "%s", "'); INSERT INTO t VALUES (1000, 'evil'); --"]


@pytest.mark.parametrize("prepared", [True, False], ids=["server-prepared", "client-escaped"])
def test_injection_shaped_parameters(alive: NodeProcess, prepared: bool) -> None:
    db = f"inj_{int(prepared)}"
    with alive.connect() as c, c.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY, s VARCHAR(200))")
    conn = mysql.connector.connect(host=alive.host, port=alive.port, user="root", password=PW, database=db,
                                   use_pure=True, autocommit=True)
    try:
        cur = conn.cursor(prepared=prepared)
        for i, s in enumerate(INJECTIONS):
            cur.execute("INSERT INTO t (id, s) VALUES (%s, %s)", (i, s))
        for i, s in enumerate(INJECTIONS):
            cur.execute("SELECT id, s FROM t WHERE s = %s", (s,))
            assert cur.fetchall() == [(i, s)]
        cur.execute("SELECT COUNT(*) FROM t WHERE id = %s", ("0 OR 1=1",))
        assert cur.fetchall()[0][0] in (0, 1)  # compared as a number, never as SQL
        plain = conn.cursor()
        plain.execute("SELECT id, s FROM t ORDER BY id")
        assert plain.fetchall() == list(enumerate(INJECTIONS))
    finally:
        conn.close()


# -- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("user, password", [("root", "wrong"), ("root", ""), ("nobody", PW), ("root", PW + "x")])
def test_wrong_password_is_1045(alive: NodeProcess, user: str, password: str) -> None:
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql.connect(host=alive.host, port=alive.port, user=user, password=password, connect_timeout=10)
    assert e.value.args[0] == 1045 and "Access denied" in e.value.args[1]
    with pytest.raises(mysql.connector.Error) as e2:
        mysql.connector.connect(host=alive.host, port=alive.port, user=user, password=password, use_pure=True,
                                connection_timeout=10)
    assert (e2.value.errno, e2.value.sqlstate) == (1045, "28000")


def test_initial_database_refused_at_connect(alive: NodeProcess) -> None:
    """MySQL answers the handshake with ERR (not OK) for an unknown or forbidden initial database."""
    alive.sql("CREATE DATABASE IF NOT EXISTS secret")
    alive.sql("CREATE USER IF NOT EXISTS 'limited'@'%' IDENTIFIED BY 'lim-Pw1'")
    with pytest.raises(pymysql.err.OperationalError) as e:
        alive.connect(database="no_such_db")
    assert e.value.args[0] == 1049
    with pytest.raises(pymysql.err.OperationalError) as e:
        alive.connect(user="limited", password="lim-Pw1", database="secret")
    assert e.value.args[0] == 1044 and "secret" in e.value.args[1]
    with alive.connect(user="limited", password="lim-Pw1") as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def test_drop_database_under_concurrent_writers(alive: NodeProcess) -> None:
    """Writers racing a DROP DATABASE get clean MySQL errors, never internal ones."""
    import threading

    alive.sql("CREATE DATABASE racy")
    alive.sql("CREATE TABLE racy.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    errors: list[tuple] = []
    stop = threading.Event()

    def writer() -> None:
        with alive.connect() as c, c.cursor() as cur:
            while not stop.is_set():
                try:
                    cur.execute("INSERT INTO racy.t (v) VALUES (1)")
                except pymysql.err.MySQLError as e:
                    errors.append(e.args)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        for _ in range(5):
            alive.sql("DROP DATABASE racy")
            alive.sql("CREATE DATABASE racy")
            alive.sql("CREATE TABLE racy.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    finally:
        stop.set()
        for th in threads:
            th.join()
    assert errors, "the writers never met the drop"
    assert {e[0] for e in errors} <= {1049, 1146}, errors[:5]
    assert alive.sql("SELECT 1") == [(1,)]
