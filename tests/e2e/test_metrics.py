"""`drlab ping`, the node's /metrics and /health, --host-map and --secure-file-priv, with real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from lab.harness import ROOT, free_port
from server.cli import load_host_map


def drlab(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == name or key == f"{name}{{{want}}}":
            return float(value)
    return None


def test_ping_alive_and_dead(node_factory) -> None:  # type: ignore[no-untyped-def]
    n = node_factory("a", password="s3cret").start()
    ok = drlab("ping", f"127.0.0.1:{n.port}", "-u", "root", "-p", "s3cret")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"127.0.0.1:{n.port} is alive"

    import os

    env = dict(os.environ, DRLAB_ROOT_PASSWORD="s3cret")
    assert drlab("ping", f"127.0.0.1:{n.port}", env=env).returncode == 0

    wrong = drlab("ping", f"127.0.0.1:{n.port}", "-p", "nope")
    assert wrong.returncode == 1
    assert "1045" in wrong.stderr and "Access denied" in wrong.stderr

    dead_port = free_port()
    dead = drlab("ping", f"127.0.0.1:{dead_port}", "--timeout", "2")
    assert dead.returncode == 1
    assert f"127.0.0.1:{dead_port} is not answering" in dead.stderr

    bad = drlab("ping", "127.0.0.1:notaport")
    assert bad.returncode == 2 and "bad port" in bad.stderr


def test_sql_subcommand_runs_statements(node_factory) -> None:  # type: ignore[no-untyped-def]
    n = node_factory("a").start()
    r = drlab("sql", f"127.0.0.1:{n.port}", "CREATE DATABASE shop", "SHOW DATABASES")
    assert r.returncode == 0, r.stderr
    assert "| shop" in r.stdout
    err = drlab("sql", f"127.0.0.1:{n.port}", "CREATE DATABASE shop")
    assert err.returncode == 1 and f"ERROR 1007 from 127.0.0.1:{n.port}" in err.stderr
    ok = drlab("sql", "--accept-error", "1007", f"127.0.0.1:{n.port}", "CREATE DATABASE shop", "SELECT 1")
    assert ok.returncode == 0 and "accepted error 1007" in ok.stdout


def test_metrics_and_health(node_factory) -> None:  # type: ignore[no-untyped-def]
    mport = free_port()
    n = node_factory("a", extra=["--metrics-port", str(mport)]).start()
    status, body = http_get(f"http://127.0.0.1:{mport}/health")
    assert (status, body) == (200, "ok\n")

    n.sql("CREATE DATABASE shop")
    n.sql("CREATE TABLE shop.t (id INT PRIMARY KEY, v INT)")
    with n.connect(database="shop") as c, c.cursor() as cur:
        for i in range(5):
            cur.execute("INSERT INTO t VALUES (%s, %s)", (i, i))
        _, text = http_get(f"http://127.0.0.1:{mport}/metrics")
        assert metric(text, "drlab_connections_open") >= 1  # this connection is open while we scrape

    _, text = http_get(f"http://127.0.0.1:{mport}/metrics")
    assert metric(text, "drlab_commits_total") >= 5
    assert metric(text, "drlab_queries_total") >= 7
    assert metric(text, "drlab_connections_total") >= 3
    assert metric(text, "drlab_database_state", database="shop", state="online") == 1.0
    assert metric(text, "drlab_database_state", database="shop", state="replicating") == 0.0
    assert metric(text, "drlab_database_role", database="shop", role="master") == 1.0
    assert metric(text, "drlab_database_applied_lsn", database="shop") >= 6
    assert "# TYPE drlab_replication_lag_seconds gauge" in text

    status, _ = http_get(f"http://127.0.0.1:{mport}/nope")
    assert status == 404
    # the SQL port still serves after the scrapes
    assert n.sql("SELECT COUNT(*) FROM shop.t") == [(5,)]


def test_metrics_port_in_use_fails_clearly(node_factory) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        n = node_factory("a", extra=["--metrics-port", str(taken)])
        with pytest.raises(RuntimeError, match="address already in use|Address already in use"):
            n.start()


def test_secure_file_priv_and_host_map(node_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = tmp_path / "files"
    hosts = tmp_path / "hosts.json"
    hosts.write_text(json.dumps({"cluster-a-ma": "127.0.0.2"}))
    n = node_factory("a", extra=["--secure-file-priv", str(files), "--host-map", str(hosts)]).start()
    assert files.is_dir()
    [(value,)] = n.sql("SELECT @@secure_file_priv")
    assert value == str(files.resolve()) + "/"

    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    r = drlab("node", "--data", str(tmp_path / "b"), "--port", str(free_port()), "--host-map", str(bad))
    assert r.returncode == 2 and "must be a JSON object" in r.stderr


def test_load_host_map_env_and_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DRLAB_HOST_MAP", '{"a": "127.0.0.2", "b": "127.0.0.3"}')
    f = tmp_path / "m.json"
    f.write_text('{"b": "127.0.0.9"}')
    assert load_host_map(str(f)) == {"a": "127.0.0.2", "b": "127.0.0.9"}
    monkeypatch.setenv("DRLAB_HOST_MAP", "{not json")
    with pytest.raises(ValueError, match="DRLAB_HOST_MAP is not valid JSON"):
        load_host_map(None)
    monkeypatch.delenv("DRLAB_HOST_MAP")
    with pytest.raises(ValueError, match="cannot read host map"):
        load_host_map(str(tmp_path / "missing.json"))
