"""The composition root: takes the data directory's lock, builds a node, wires its features, and
serves it (the MySQL listener, signals, the `ready` line). The only place that knows every feature;
nothing is wired at import."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import signal
import ssl
import sys
from pathlib import Path
from typing import IO

import mysql_mimic.server
from mysql_mimic import MysqlServer

from server import aggregators, dr, locks, pcr, pipelines, retention, yellowbrick
from server.auth import DrlabIdentityProvider
from server.connection import CAPABILITIES, DrlabConnection, _MimicSession
from server.metrics import MetricsService
from server.node import Node, register_converters
from server.protocol import Stream

_RECURSION_LIMIT = 12_000

LOCK_FILE = "drlab.lock"


class StartupError(Exception):
    """Why the node cannot start (a data directory in use, a busy port): one line, exit code 2."""


def lock_data_dir(data: Path) -> IO[str]:
    """Take the data directory's lock for the life of the process, so a second node on the same
    directory refuses to start instead of running a second copy of its databases and links.
    The lock file holds the owner's pid, so the refusal can name it."""
    try:
        data.mkdir(parents=True, exist_ok=True)
        f = open(data / LOCK_FILE, "a+")  # noqa: SIM115 - held open until the process exits
    except OSError as e:
        raise StartupError(f"cannot use data directory {data}: {e.strerror}") from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip() or "unknown"
        f.close()
        raise StartupError(f"data directory {data.resolve()} is in use by another drlab node (pid {pid}); "
                           "stop that node or choose another --data") from None
    f.truncate(0)
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def _listen_error(what: str, host: str, port: int, e: OSError) -> StartupError:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    reason = os.strerror(e.errno) if e.errno else str(e)
    hint = "; another process uses it: stop it or choose another port" if e.errno == errno.EADDRINUSE else ""
    return StartupError(f"cannot listen on {where} ({what}): {reason.lower()}{hint}")


async def serve(node: Node, host: str, port: int, tls: ssl.SSLContext | None) -> None:
    DrlabConnection.node = node
    node.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    mysql_mimic.server.Connection = DrlabConnection  # mysql-mimic looks the classes up at connect time
    mysql_mimic.server.MysqlStream = Stream
    server = MysqlServer(
        session_factory=lambda: _MimicSession(str(node.globals.values["version"])),
        capabilities=CAPABILITIES,
        identity_provider=DrlabIdentityProvider(node.accounts),
        ssl=tls,
    )
    try:
        await server.start_server(host=host, port=port, reuse_address=True)
    except OSError as e:
        raise _listen_error("--port", host, port, e) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
    except OSError as e:
        server.close()
        await node.stop()
        raise StartupError(e.strerror or str(e)) from None
    print(f"drlab node {node.name} ready for connections on {host}:{port}", flush=True)
    await stop.wait()
    server.close()
    await node.stop()
    for conn in list(node.connections.values()):
        conn.kill()
    await asyncio.sleep(0)


def install_features(node: Node, yb_min_frequency: int = yellowbrick.MIN_FREQUENCY) -> None:
    """Register every feature beside plain SQL on ``node`` (before it serves). Replication comes
    first: its parsers see the internal replication statements before any other grammar."""
    manager = dr.install(node)
    aggregators.install(node)
    locks.install(node)
    pipelines.install(node)
    retention.install(node)
    yellowbrick.install(node, yb_min_frequency)
    pcr.install(node, manager)


def run_node(data: str, host: str, port: int, name: str, root_password: str, tls_cert: str | None,
             tls_key: str | None, log_level: str, host_map: dict[str, str] | None = None,
             metrics_port: int | None = None, secure_file_priv: str | None = None,
             mysql_version: str | None = None, yb_min_frequency: int = yellowbrick.MIN_FREQUENCY) -> int:
    """Start a node; its exit code (2: it could not start, with one line on stderr saying why)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.umask(0o077)  # the data directory's files are the node user's alone (they hold source passwords)
    tls = None
    if tls_cert and tls_key:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(tls_cert, tls_key)
    # sqlglot's recursive descent takes about 25 frames per level of parentheses: with Python's
    # default limit (1,000) even 40 levels fail. 12,000 parses some 450 levels on the main thread's
    # 8 MB stack; deeper statements get MySQL's 1436 (sqlfront.errors.too_deep).
    sys.setrecursionlimit(max(sys.getrecursionlimit(), _RECURSION_LIMIT))
    register_converters()
    try:
        lock = lock_data_dir(Path(data))
    except StartupError as e:
        print(f"drlab: {e}", file=sys.stderr)
        return 2
    node = Node(Path(data), name, root_password, port=port)
    install_features(node, yb_min_frequency)
    node.host_map.update(host_map or {})
    if secure_file_priv is not None:
        node.globals.values["secure_file_priv"] = secure_file_priv
    if mysql_version is not None:
        node.globals.values["version"] = mysql_version
    if metrics_port is not None:
        node.features.add_service(MetricsService(node, host, metrics_port))
    try:
        asyncio.run(serve(node, host, port, tls))
    except StartupError as e:
        print(f"drlab: {e}", file=sys.stderr)
        return 2
    finally:
        node.close()
        lock.close()
    print(f"drlab node {name} stopped", flush=True)
    return 0
