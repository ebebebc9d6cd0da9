"""Fixtures that start real `drlab node` processes (lab.harness) and stop them by pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.harness import NodeProcess


@pytest.fixture
def node_factory(tmp_path: Path) -> Iterator:
    nodes: list[NodeProcess] = []

    def make(name: str = "a", **kw: object) -> NodeProcess:
        n = NodeProcess(tmp_path / name, name=name, **kw)  # type: ignore[arg-type]
        nodes.append(n)
        return n

    yield make
    for n in nodes:
        n.stop()


@pytest.fixture
def node(node_factory) -> NodeProcess:  # type: ignore[no-untyped-def]
    return node_factory("a").start()
