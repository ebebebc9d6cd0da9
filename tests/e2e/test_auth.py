"""Authentication end to end: a real mysql-mimic server with DrlabIdentityProvider, real clients."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mysql.connector
import mysql_mimic.server
import pymysql
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from mysql_mimic import server as mimic_server
from mysql_mimic.server import MysqlServer
from mysql_mimic.session import BaseSession
from mysql_mimic.variables import GlobalVariables, SessionVariables

from server.accounts import Accounts, caching_sha2_auth_string
from server.auth import AuthConnection, DrlabIdentityProvider
from server.protocol import Stream
from sqlfront.accounts import parse_account_statement

ROOT_PW = "r00t-Secret"
MARIADB = shutil.which("mariadb") or "mariadb"  # .ci/run installs the client; a missing one fails loudly
# The connector's C extension (libmysqlclient) needs a newer OpenSSL than some hosts have.
# The connector's C extension (libmysqlclient) needs a newer OpenSSL than this machine has; where it
# loads, it is tested too. The C client library is exercised in any case by sysbench and the mariadb CLI.
USE_PURE = [True, False] if mysql.connector.HAVE_CEXT else [True]

# One RSA key for the whole module (generating one per server costs ~100 ms).
_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class MiniSession(BaseSession):
    """Answers every SELECT with one row; CURRENT_USER() with the authenticated account."""

    def __init__(self, version: str) -> None:
        self.variables = SessionVariables(GlobalVariables())
        self.variables.set("version", version, force=True)
        self.username = None
        self.database = None
        self.connection = None

    async def init(self, connection) -> None:
        self.connection = connection

    async def handle_query(self, sql: str, attrs):
        text = sql.strip().lower()
        if "current_user" in text:
            c = self.connection
            return [(f"{c.auth_user}@{c.auth_account_host}",)], ["CURRENT_USER()"]
        if text.startswith("select"):
            return [(1,)], ["1"]
        return None


@dataclass
class Server:
    port: int
    accounts: Accounts
    provider: DrlabIdentityProvider
    cafile: str | None = None


def _make_accounts() -> Accounts:
    blob: dict[str, bytes] = {}
    accounts = Accounts(lambda: blob.get("a"), lambda b: blob.__setitem__("a", b), ROOT_PW)
    for sql in (
        "CREATE USER 'nat'@'%' IDENTIFIED WITH mysql_native_password BY 'nat-pw'",
        "CREATE USER 'sha'@'%' IDENTIFIED WITH caching_sha2_password BY 'sha-pw'",
        "CREATE USER 'nopw'@'%'",
        "CREATE USER 'shanopw'@'%' IDENTIFIED WITH caching_sha2_password",
        "CREATE USER 'local'@'localhost' IDENTIFIED BY 'local-pw'",
        "CREATE USER 'remote'@'10.%' IDENTIFIED BY 'remote-pw'",
    ):
        accounts.execute(parse_account_statement(sql), "root", "127.0.0.1")
    # An account copied as a bare MySQL hash: no fast-auth verifier, so the first login must take
    # caching_sha2's full-authentication path (TLS cleartext or RSA).
    accounts.execute(
        parse_account_statement(
            "CREATE USER 'cold'@'%' IDENTIFIED WITH caching_sha2_password AS "
            f"'{caching_sha2_auth_string('cold-pw')}'"
        ),
        "root",
        "127.0.0.1",
    )
    return accounts


def _self_signed(tmp: Path) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def _start_server(
    version: str, ssl_ctx: ssl.SSLContext | None, default_plugin: str = "mysql_native_password"
) -> tuple[Server, Callable[[], None]]:
    mysql_mimic.server.MysqlStream = Stream  # as server.app does: a TLS upgrade that loses no bytes
    accounts = _make_accounts()
    provider = DrlabIdentityProvider(accounts, default_plugin=default_plugin, rsa_key=_RSA_KEY)
    loop = asyncio.new_event_loop()
    srv = MysqlServer(session_factory=lambda: MiniSession(version), identity_provider=provider, ssl=ssl_ctx)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(srv.start_server(host="127.0.0.1", port=0))
        started.set()
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert started.wait(10)
    port = srv.sockets()[0].getsockname()[1]

    def stop() -> None:
        async def _close() -> None:
            srv.close()
            # let connections whose clients have quit finish, then close the stragglers' sockets
            others = [x for x in asyncio.all_tasks() if x is not asyncio.current_task()]
            if others:
                _, pending = await asyncio.wait(others, timeout=2)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)
        loop.close()

    return Server(port, accounts, provider), stop


@pytest.fixture(autouse=True)
def _drlab_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # mysql_mimic.server looks the name up at connect time.
    monkeypatch.setattr(mimic_server, "Connection", AuthConnection)


@pytest.fixture(params=["8.0.29", "5.7.32"])
def server(request) -> Iterator[Server]:
    srv, stop = _start_server(request.param, None)
    yield srv
    stop()


@pytest.fixture
def sha2_server() -> Iterator[Server]:
    """A server whose handshake offers caching_sha2_password, as MySQL 8 does."""
    srv, stop = _start_server("8.0.29", None, default_plugin="caching_sha2_password")
    yield srv
    stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[Server]:
    cert, key = _self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv, stop = _start_server("8.0.29", ctx)
    srv.cafile = cert
    yield srv
    stop()


def _pymysql(port: int, user: str, password: str, **kw) -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, connect_timeout=5, **kw)


def _query(conn, sql: str):
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()


# -- PyMySQL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user,password",
    [
        ("root", ROOT_PW),
        ("nat", "nat-pw"),
        ("sha", "sha-pw"),
        ("nopw", ""),
        ("shanopw", ""),
        ("local", "local-pw"),
    ],
)
def test_pymysql_right_password(server: Server, user: str, password: str) -> None:
    conn = _pymysql(server.port, user, password)
    try:
        assert _query(conn, "SELECT 1") == ((1,),)
        host = "localhost" if user == "local" else "%"
        assert _query(conn, "SELECT CURRENT_USER()") == ((f"{user}@{host}",),)
    finally:
        conn.close()


@pytest.mark.parametrize(
    "user,password,used",
    [
        ("root", "wrong", "YES"),
        ("root", "", "NO"),
        ("nat", "wrong", "YES"),
        ("sha", "wrong", "YES"),  # fast path fails -> full auth over RSA -> denied
        ("sha", "", "NO"),
        ("nopw", "something", "YES"),
        ("ghost", "whatever", "YES"),  # unknown user: the same error
        ("remote", "remote-pw", "YES"),  # host does not match 127.0.0.1
    ],
)
def test_pymysql_wrong_password(server: Server, user: str, password: str, used: str) -> None:
    with pytest.raises(pymysql.err.OperationalError) as ei:
        _pymysql(server.port, user, password)
    code, msg = ei.value.args
    assert code == 1045
    assert msg == f"Access denied for user '{user}'@'127.0.0.1' (using password: {used})"


@pytest.mark.parametrize("user,password", [("nat", "nat-pw"), ("sha", "sha-pw"), ("cold", "cold-pw")])
def test_caching_sha2_handshake(sha2_server: Server, user: str, password: str) -> None:
    """Handshake offers caching_sha2_password: the optimistic fast path for a caching_sha2
    account, a switch to mysql_native_password for a native one."""
    conn = _pymysql(sha2_server.port, user, password)
    assert _query(conn, "SELECT CURRENT_USER()") == ((f"{user}@%",),)
    conn.close()
    with pytest.raises(pymysql.err.OperationalError) as ei:
        _pymysql(sha2_server.port, user, "wrong")
    assert ei.value.args[0] == 1045
    # the stock client logs in too
    run = subprocess.run(
        [
            MARIADB,
            "-h127.0.0.1",
            f"-P{sha2_server.port}",
            f"-u{user}",
            f"-p{password}",
            "--skip-ssl",
            "-e",
            "select 1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert run.returncode == 0, run.stderr


def test_change_user(server: Server) -> None:
    conn = mysql.connector.connect(
        host="127.0.0.1", port=server.port, user="nat", password="nat-pw", use_pure=True, ssl_disabled=True
    )
    try:
        conn.cmd_change_user(username="root", password=ROOT_PW)
        cur = conn.cursor()
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchall() == [("root@%",)]
        with pytest.raises(mysql.connector.Error) as ei:
            conn.cmd_change_user(username="nat", password="wrong")
        assert ei.value.errno == 1045
    finally:
        try:
            conn.close()
        except Exception:
            pass


def test_pymysql_full_auth_over_rsa(server: Server) -> None:
    # 'cold' has no fast-auth verifier: 0x04, the client fetches the RSA key, sends the password
    conn = _pymysql(server.port, "cold", "cold-pw")
    assert _query(conn, "SELECT 1") == ((1,),)
    conn.close()
    # the full authentication cached the fast verifier (as MySQL does): the next login is fast
    acc = server.accounts.get("cold", "%")
    assert server.accounts.fast_digest(acc)
    conn = _pymysql(server.port, "cold", "cold-pw")
    conn.close()
    with pytest.raises(pymysql.err.OperationalError) as ei:
        _pymysql(server.port, "cold", "nope")
    assert ei.value.args[0] == 1045


def test_failed_auth_closes_connection(server: Server) -> None:
    """After ERR 1045 the server closes the socket: it never enters the command phase."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        greeting = s.recv(4096)
        assert greeting[4] == 10  # protocol version 10
        # HandshakeResponse41 for 'ghost' with a bogus 20-byte native scramble
        caps = 0x00000200 | 0x00008000 | 0x00080000  # PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH
        body = (
            caps.to_bytes(4, "little")
            + (1 << 24).to_bytes(4, "little")
            + bytes([45])
            + b"\x00" * 23
            + b"ghost\x00"
            + bytes([20])
            + b"x" * 20
            + b"mysql_native_password\x00"
        )
        s.sendall(len(body).to_bytes(3, "little") + b"\x01" + body)
        resp = s.recv(4096)
        assert resp[4] == 0xFF and int.from_bytes(resp[5:7], "little") == 1045
        # a COM_QUERY now must not be answered: the server has closed the connection
        try:
            s.sendall(b"\x09\x00\x00\x00\x03SELECT 1")
            rest = s.recv(4096)
        except OSError:
            rest = b""
        assert rest == b""


# -- mysql-connector-python ------------------------------------------------------------------------


@pytest.mark.parametrize("use_pure", USE_PURE)
@pytest.mark.parametrize("plugin", [None, "caching_sha2_password", "mysql_native_password"])
@pytest.mark.parametrize("user,password", [("nat", "nat-pw"), ("sha", "sha-pw"), ("root", ROOT_PW)])
def test_connector_right_password(
    server: Server, use_pure: bool, plugin: str | None, user: str, password: str
):
    for ssl_disabled in (False, True):
        kw = {"auth_plugin": plugin} if plugin else {}
        conn = mysql.connector.connect(
            host="127.0.0.1",
            port=server.port,
            user=user,
            password=password,
            use_pure=use_pure,
            ssl_disabled=ssl_disabled,
            connection_timeout=5,
            **kw,
        )
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            assert cur.fetchall() == [(1,)]
        finally:
            conn.close()


@pytest.mark.parametrize("use_pure", USE_PURE)
@pytest.mark.parametrize("plugin", [None, "caching_sha2_password", "mysql_native_password"])
def test_connector_wrong_password(server: Server, use_pure: bool, plugin: str | None) -> None:
    kw = {"auth_plugin": plugin} if plugin else {}
    for user in ("nat", "ghost"):
        with pytest.raises(mysql.connector.Error) as ei:
            mysql.connector.connect(
                host="127.0.0.1",
                port=server.port,
                user=user,
                password="wrong",
                use_pure=use_pure,
                ssl_disabled=True,
                connection_timeout=5,
                **kw,
            )
        assert ei.value.errno == 1045, ei.value
        assert ei.value.sqlstate == "28000"


# -- mariadb CLI -----------------------------------------------------------------------------------


@pytest.mark.parametrize("user,password", [("root", ROOT_PW), ("nat", "nat-pw"), ("sha", "sha-pw")])
def test_mariadb_cli(server: Server, user: str, password: str) -> None:
    ok = subprocess.run(
        [
            MARIADB,
            "-h127.0.0.1",
            f"-P{server.port}",
            f"-u{user}",
            f"-p{password}",
            "--skip-ssl",
            "-e",
            "select 1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert ok.returncode == 0, ok.stderr
    assert "1" in ok.stdout
    bad = subprocess.run(
        [MARIADB, "-h127.0.0.1", f"-P{server.port}", f"-u{user}", "-pwrong", "--skip-ssl", "-e", "select 1"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert bad.returncode != 0
    assert "ERROR 1045 (28000)" in bad.stderr, bad.stderr
    assert f"Access denied for user '{user}'@'127.0.0.1' (using password: YES)" in bad.stderr


def test_mariadb_cli_full_auth_rsa(server: Server) -> None:
    run = subprocess.run(
        [MARIADB, "-h127.0.0.1", f"-P{server.port}", "-ucold", "-pcold-pw", "--skip-ssl", "-e", "select 1"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert run.returncode == 0, run.stderr


# -- TLS -------------------------------------------------------------------------------------------


def test_tls_caching_sha2_full_auth_pymysql(tls_server: Server) -> None:
    # verified against the self-signed CA
    conn = _pymysql(tls_server.port, "cold", "cold-pw", ssl={"ca": tls_server.cafile})
    try:
        assert conn._secure
        assert _query(conn, "SELECT 1") == ((1,),)
    finally:
        conn.close()
    # fast path over TLS, then a wrong password: full auth with a cleartext password over TLS
    conn = _pymysql(tls_server.port, "sha", "sha-pw", ssl={"ca": tls_server.cafile})
    conn.close()
    with pytest.raises(pymysql.err.OperationalError) as ei:
        _pymysql(tls_server.port, "sha", "wrong", ssl_verify_cert=False, ssl={"check_hostname": False})
    assert ei.value.args[0] == 1045
    # native over TLS too
    conn = _pymysql(tls_server.port, "nat", "nat-pw", ssl={"ca": tls_server.cafile})
    conn.close()


def test_tls_full_auth_connector(tls_server: Server) -> None:
    for use_pure in (True, False) if mysql.connector.HAVE_CEXT else (True,):
        tls_server.accounts._fast_cache.clear()  # make 'cold' cold again
        conn = mysql.connector.connect(
            host="127.0.0.1",
            port=tls_server.port,
            user="cold",
            password="cold-pw",
            use_pure=use_pure,
            ssl_ca=tls_server.cafile,
            connection_timeout=5,
        )
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        conn.close()


def test_tls_mariadb_cli(tls_server: Server) -> None:
    run = subprocess.run(
        [
            MARIADB,
            "-h127.0.0.1",
            f"-P{tls_server.port}",
            "-ucold",
            "-pcold-pw",
            "--ssl",
            f"--ssl-ca={tls_server.cafile}",
            "-e",
            "select 1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert run.returncode == 0, run.stderr


def test_cleartext_refused_without_tls(server: Server) -> None:
    """A client that answers 0x04 with a cleartext password over plain TCP is refused (MySQL too):
    mysql-connector's pure-Python caching_sha2 plugin does exactly that."""
    with pytest.raises(mysql.connector.Error) as ei:
        mysql.connector.connect(
            host="127.0.0.1",
            port=server.port,
            user="cold",
            password="cold-pw",
            use_pure=True,
            ssl_disabled=True,
            auth_plugin="caching_sha2_password",
            connection_timeout=5,
        )
    assert ei.value.errno == 1045


def test_provider_without_mixin_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """DrlabIdentityProvider behind mysql-mimic's stock Connection refuses everyone."""
    from mysql_mimic.connection import Connection

    monkeypatch.setattr(mimic_server, "Connection", Connection)
    srv, stop = _start_server("8.0.29", None)
    try:
        with pytest.raises(pymysql.err.OperationalError):
            _pymysql(srv.port, "root", ROOT_PW)
    finally:
        stop()


def test_tls_node_many_connections(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every TLS handshake completes, also when the ClientHello arrives with the SSL request."""
    cert, key = _self_signed(tmp_path)
    n = node_factory("tls", password=ROOT_PW, extra=["--tls-cert", cert, "--tls-key", key]).start()
    for _ in range(30):
        conn = pymysql.connect(host="127.0.0.1", port=n.port, user="root", password=ROOT_PW, connect_timeout=5,
                               read_timeout=5, ssl={"ca": cert, "check_hostname": False})
        try:
            assert conn._secure
            assert _query(conn, "SELECT 1") == ((1,),)
        finally:
            conn.close()


def test_tls_client_hello_sent_with_the_ssl_request(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A ClientHello that arrives in the same segment as the SSL request still gets its answer
    (the server must not lose bytes it read ahead while parsing the request)."""
    cert, key = _self_signed(tmp_path)
    n = node_factory("tls2", password=ROOT_PW, extra=["--tls-cert", cert, "--tls-key", key]).start()
    sock = socket.create_connection(("127.0.0.1", n.port), timeout=5)
    try:
        header = sock.recv(4)
        greeting_len = int.from_bytes(header[:3], "little")
        while greeting_len:
            greeting_len -= len(sock.recv(greeting_len))
        caps = 0x00000200 | 0x00000800 | 0x00008000 | 0x00080000  # PROTOCOL_41 | SSL | SECURE_CONN | PLUGIN_AUTH
        body = struct.pack("<IIB23x", caps, 1 << 24, 45)
        ssl_request = len(body).to_bytes(3, "little") + b"\x01" + body
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_side=False)
        with pytest.raises(ssl.SSLWantReadError):
            tls.do_handshake()
        sock.sendall(ssl_request + outgoing.read())  # one write: the server reads both at once
        while True:
            data = sock.recv(65536)  # times out (5 s) if the server lost the ClientHello
            assert data, "server closed the connection"
            incoming.write(data)
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
        assert tls.version() is not None
    finally:
        sock.close()
