"""Short sysbench runs against a real node, in both prepared-statement modes. sysbench is a hard
requirement (CI installs it): a missing binary fails the test."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from lab.harness import NodeProcess

PW = "sb-Pw"
SYSBENCH = shutil.which("sysbench")


def _sysbench(n: NodeProcess, workload: str, mode: str, command: str, timeout: float = 60) -> str:
    assert SYSBENCH, "sysbench is not installed (apt-get install sysbench; .ci/run does it)"
    args = [SYSBENCH, workload, "--db-driver=mysql", f"--mysql-host={n.host}", f"--mysql-port={n.port}",
            "--mysql-user=root", f"--mysql-password={PW}", "--mysql-db=sbtest", "--tables=1", "--table-size=1000",
            "--threads=2", "--time=3", f"--db-ps-mode={mode}", command]
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"sysbench {workload} {command} exited {r.returncode}:\n{out[-3000:]}"
    assert "FATAL" not in out, out[-3000:]
    for line in out.splitlines():
        # the run summary's "ignored errors: N" counter is checked below; any other
        # line mentioning an error is one
        if re.match(r"\s*(ignored )?errors:", line):
            continue
        assert not re.search(r"error", line, re.IGNORECASE), f"sysbench reported: {line}\n{out[-3000:]}"
    if command == "run":
        stats = _stats(out)
        assert stats["transactions"] > 0, out
        assert stats["ignored errors"] == 0 and stats["reconnects"] == 0, stats
    return out


def _stats(out: str) -> dict[str, float]:
    stats = {}
    for key in ("transactions", "queries", "ignored errors", "reconnects"):
        m = re.search(rf"^\s*{key}:\s+(\d+)", out, re.MULTILINE)
        assert m, f"no '{key}' in sysbench output:\n{out}"
        stats[key] = int(m.group(1))
    return stats


@pytest.mark.parametrize("mode", ["auto", "disable"])
def test_sysbench_oltp(node_factory, mode: str) -> None:  # type: ignore[no-untyped-def]
    assert SYSBENCH, "sysbench is not installed (apt-get install sysbench; .ci/run does it)"
    n = node_factory(f"sb-{mode}", password=PW).start()
    n.sql("CREATE DATABASE sbtest")
    for workload in ("oltp_read_write", "oltp_insert"):
        _sysbench(n, workload, mode, "prepare")
        assert n.sql("SELECT COUNT(*), MIN(id), MAX(id) FROM sbtest1", "sbtest") == [(1000, 1, 1000)]
        _sysbench(n, workload, mode, "run")
        if workload == "oltp_read_write":
            # oltp_read_write deletes and re-inserts the same ids: the row count is unchanged
            assert n.sql("SELECT COUNT(*) FROM sbtest1", "sbtest") == [(1000,)]
        else:
            assert n.sql("SELECT COUNT(*) FROM sbtest1", "sbtest")[0][0] > 1000
        _sysbench(n, workload, mode, "cleanup")
        assert n.sql("SHOW TABLES", "sbtest") == []
