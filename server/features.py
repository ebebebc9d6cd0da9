"""The features a node runs beside plain SQL, each registering its parsers, commands, views and
services on the node. One place, so the process wiring does not grow with every feature."""

from __future__ import annotations

from server import aggregators, locks, pipelines, replication, retention
from server.node import Node


def install(node: Node) -> None:
    """Register every feature on ``node`` (before it starts serving)."""
    replication.install(node)
    aggregators.install(node)
    locks.install(node)
    pipelines.install(node)
    retention.install(node)
