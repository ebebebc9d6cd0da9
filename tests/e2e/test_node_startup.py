"""Starting `drlab node`: one node per data directory, and a busy port refused in one line."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from lab.harness import ROOT, NodeProcess, free_port, node_command


def start_second(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(node_command(*options), cwd=ROOT, capture_output=True, text=True, timeout=30)


def test_a_second_node_on_a_data_directory_in_use_refuses_and_names_the_owner(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = node_factory("a").start()
    assert first.proc is not None
    second = start_second("--data", str(first.data), "--port", str(free_port()))
    assert second.returncode == 2
    assert "ready" not in second.stdout
    [line] = second.stderr.strip().splitlines()
    assert line == (f"drlab: data directory {first.data.resolve()} is in use by another drlab node "
                    f"(pid {first.proc.pid}); stop that node or choose another --data")
    # the first node is untouched, and once it stops the directory is free again
    assert first.sql("SELECT 1") == [(1,)]
    first.stop()
    again = NodeProcess(first.data, name="a-again").start()
    try:
        assert again.sql("SELECT 1") == [(1,)]
    finally:
        again.stop()


def test_a_busy_port_is_one_line_naming_it(node_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = node_factory("a").start()
    busy = start_second("--data", str(tmp_path / "b"), "--port", str(first.port))
    assert busy.returncode == 2
    assert "Traceback" not in busy.stderr
    [line] = busy.stderr.strip().splitlines()
    assert line == (f"drlab: cannot listen on 127.0.0.1:{first.port} (--port): address already in use; "
                    "another process uses it: stop it or choose another port")
    # the refused node released its data directory: a node starts on it at once
    ok = NodeProcess(tmp_path / "b", name="b").start()
    ok.stop()


def test_a_busy_metrics_port_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        mport = taken.getsockname()[1]
        busy = start_second("--data", str(tmp_path / "m"), "--port", str(free_port()), "--metrics-port", str(mport))
    assert busy.returncode == 2
    assert "Traceback" not in busy.stderr
    assert busy.stderr.strip().splitlines()[-1] == (
        f"drlab: cannot listen on 127.0.0.1:{mport} (--metrics-port): address already in use")
