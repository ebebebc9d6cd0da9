"""The composition root: builds a node, wires its features, and serves it (the MySQL listener,
signals, the `ready` line). The only place that knows every feature; nothing is wired at import."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import sys
from pathlib import Path

import mysql_mimic.server
from mysql_mimic import MysqlServer

from server import aggregators, dr, locks, pipelines, retention
from server.auth import DrlabIdentityProvider
from server.connection import CAPABILITIES, DrlabConnection, _MimicSession
from server.metrics import MetricsService
from server.node import Node, register_converters
from server.protocol import Stream

_RECURSION_LIMIT = 12_000


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
    await server.start_server(host=host, port=port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    print(f"drlab node {node.name} ready for connections on {host}:{port}", flush=True)
    await stop.wait()
    server.close()
    await node.stop()
    for conn in list(node.connections.values()):
        conn.kill()
    await asyncio.sleep(0)


def install_features(node: Node) -> None:
    """Register every feature beside plain SQL on ``node`` (before it serves). Replication comes
    first: its parsers see the internal replication statements before any other grammar."""
    dr.install(node)
    aggregators.install(node)
    locks.install(node)
    pipelines.install(node)
    retention.install(node)


def run_node(data: str, host: str, port: int, name: str, root_password: str, tls_cert: str | None,
             tls_key: str | None, log_level: str, host_map: dict[str, str] | None = None,
             metrics_port: int | None = None, secure_file_priv: str | None = None,
             mysql_version: str | None = None) -> int:
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
    node = Node(Path(data), name, root_password, port=port)
    install_features(node)
    node.host_map.update(host_map or {})
    if secure_file_priv is not None:
        node.globals.values["secure_file_priv"] = secure_file_priv
    if mysql_version is not None:
        node.globals.values["version"] = mysql_version
    if metrics_port is not None:
        node.features.add_service(MetricsService(node, host, metrics_port))
    try:
        asyncio.run(serve(node, host, port, tls))
    finally:
        node.close()
    print(f"drlab node {name} stopped", flush=True)
    return 0
