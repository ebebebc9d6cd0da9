"""Prometheus metrics and an HTTP health check for one node, on an optional port.

A custom collector reads the node's live state at scrape time. The HTTP server runs on the node's
event loop (a node service), so a scrape never races the statements that change that state."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from storage.catalog import Role, State

log = logging.getLogger(__name__)



class NodeCollector(Collector):
    def __init__(self, node: Any) -> None:
        self.node = node

    def collect(self) -> Iterator[Any]:
        node = self.node
        stats = dict(node.stats)
        yield CounterMetricFamily("drlab_queries", "Statements received (MySQL's Questions)",
                                  value=stats.get("Questions", 0))
        yield CounterMetricFamily("drlab_commits", "Committed write transactions (Com_commit)",
                                  value=stats.get("Com_commit", 0))
        yield CounterMetricFamily("drlab_connections", "Client connections accepted since start",
                                  value=stats.get("Connections", 0))
        yield GaugeMetricFamily("drlab_connections_open", "Client sessions open now", value=len(node.sessions))
        yield GaugeMetricFamily("drlab_uptime_seconds", "Seconds since the node started",
                                value=time.time() - node.started)
        yield InfoMetricFamily("drlab_node", "The node", value={"name": str(node.name)})

        state = GaugeMetricFamily("drlab_database_state", "1 for the database's current state",
                                  labels=["database", "state"])
        role = GaugeMetricFamily("drlab_database_role", "1 for the database's current role",
                                 labels=["database", "role"])
        lsn = GaugeMetricFamily("drlab_database_applied_lsn", "Last LSN applied to the database",
                                labels=["database"])
        epoch = GaugeMetricFamily("drlab_database_epoch", "The database's current epoch", labels=["database"])
        for name, db in list(node.store.databases.items()):
            info = db.info
            for s in State:
                state.add_metric([name, s.value], 1.0 if s is info.state else 0.0)
            for r in Role:
                role.add_metric([name, r.value], 1.0 if r is info.role else 0.0)
            lsn.add_metric([name], float(db.applied_lsn))
            epoch.add_metric([name], float(info.epochs[-1][0] if info.epochs else 0))
        yield from (state, role, lsn, epoch)

        labels = ["database", "role", "peer"]  # role: this node's side of the link; peer: the other side
        lag_lsn = GaugeMetricFamily("drlab_replication_lag_lsn",
                                    "Log records the replica is behind the last position its source was known to have",
                                    labels=labels)
        lag_s = GaugeMetricFamily("drlab_replication_lag_seconds", "Seconds the replica is behind its source",
                                  labels=labels)
        connected = GaugeMetricFamily("drlab_replication_connected",
                                      "1 while the link's other side answers, 0 while it cannot be reached", labels=labels)
        contact = GaugeMetricFamily("drlab_replication_last_contact_seconds",
                                    "Seconds since the link's other side last answered (the age of the lag's basis)",
                                    labels=labels)
        try:
            rows = list(node.features.replication.status())
        except Exception:  # noqa: BLE001 - a scrape reports what it can
            log.exception("replication status failed during a scrape")
            rows = []
        for row in rows:
            peer = row.replica_uri if row.side is Role.MASTER else row.primary_uri
            values = [row.database, row.side.value, peer]
            lag_lsn.add_metric(values, float(row.lsn_lag))
            lag_s.add_metric(values, float(row.lag_seconds))
            connected.add_metric(values, 1.0 if row.connected else 0.0)
            if row.last_contact_s is not None:
                contact.add_metric(values, row.last_contact_s)
        yield from (lag_lsn, lag_s, connected, contact)


class MetricsService:
    """A node service: HTTP GET /metrics (Prometheus text format) and GET /health ("ok")."""

    def __init__(self, node: Any, host: str, port: int) -> None:
        self.node, self.host, self.port = node, host, port
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(NodeCollector(node))
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        try:
            self.server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        except OSError as e:  # the node turns it into its one-line refusal
            reason = os.strerror(e.errno).lower() if e.errno else str(e)
            raise OSError(e.errno, f"cannot listen on {self.host}:{self.port} (--metrics-port): {reason}") from None
        print(f"drlab node {self.node.name} metrics on http://{self.host}:{self.port}/metrics", flush=True)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 10)
            while True:  # headers: read and ignore
                line = await asyncio.wait_for(reader.readline(), 10)
                if line in (b"\r\n", b"\n", b""):
                    break
            parts = request.decode("latin-1").split()
            method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
            path = path.split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, ctype, body = "405 Method Not Allowed", "text/plain", b"only GET\n"
            elif path == "/health":
                status, ctype, body = "200 OK", "text/plain; charset=utf-8", b"ok\n"
            elif path in ("/metrics", "/"):
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(self.registry)
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"try /metrics or /health\n"
            head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            writer.write(head if method == "HEAD" else head + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        except Exception:  # noqa: BLE001 - one bad request never stops the node
            log.exception("metrics request failed")
        finally:
            writer.close()
