"""`drlab lab`: the compose topology as local processes on loopback addresses."""

from __future__ import annotations

import os
import random
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from lab import local as labmod
from lab.harness import ROOT, wait_for


class LabRunner:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / ".lab"
        self.tmp = tmp
        # a random 127.x.y.0/24 so concurrent runs (and a user's own lab on 127.0.0.2) never collide
        self.first = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}.2"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DRLAB_ROOT_PASSWORD", "DRLAB_LAB_DIR")}

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lab", "lab", "--dir", str(self.dir), *args],
                              cwd=self.tmp, capture_output=True, text=True, timeout=timeout, env=self.env)

    def up(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("up", "-f", str(ROOT / "docker-compose.yml"), "--first-address", self.first, *extra)

    def address(self, i: int) -> str:
        a, b, c, d = self.first.split(".")
        return f"{a}.{b}.{c}.{int(d) + i}"

    def password(self) -> str:
        return (self.dir / "password").read_text().strip()

    def connect(self, i: int) -> pymysql.connections.Connection:
        return pymysql.connect(host=self.address(i), port=3306, user="root", password=self.password(),
                               autocommit=True, connect_timeout=3, read_timeout=10)

    def sql(self, i: int, q: str) -> list[tuple]:
        with self.connect(i) as c, c.cursor() as cur:
            cur.execute(q)
            return list(cur.fetchall())

    def pids(self) -> dict[str, int]:
        out = {}
        for f in self.dir.glob("*/node.pid"):
            out[f.parent.name] = int(f.read_text())
        return out

    def cleanup(self) -> None:
        pids = self.pids()
        if (self.dir / "lab.json").exists():
            self.run("down")
        for name, pid in pids.items():  # whatever `down` could not stop: only our own node processes
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if str(self.dir / name).encode() in cmd:
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabRunner]:
    runner = LabRunner(tmp_path)
    yield runner
    runner.cleanup()


def status_rows(text: str) -> dict[tuple[str, ...], list[str]]:
    """Rows of both status tables keyed by (node,) and (node, database)."""
    rows: dict[tuple[str, ...], list[str]] = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if not cells or cells[0] in ("NODE", ""):
            continue
        if len(cells) == 4 and ":" in cells[1]:
            rows[(cells[0],)] = cells
        elif len(cells) >= 5:
            rows[(cells[0], cells[1])] = cells
    return rows


def test_lab_up_status_faults_and_down(lab: LabRunner) -> None:
    r = lab.up()
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"2 nodes answer ping after [\d.]+s", r.stdout), r.stdout
    assert re.search(r"lab ready in [\d.]+s: 2 nodes answer with the lab's password, 1 replication link connected",
                     r.stdout), r.stdout
    assert f"cluster-a-ma: started on {lab.address(0)}:3306" in r.stdout
    assert f"cluster-b-ma: started on {lab.address(1)}:3306" in r.stdout
    assert "CREATE DATABASE IF NOT EXISTS ExampleDB1: OK" in r.stdout

    # the generated password: stored with mode 600, never printed
    pw_file = lab.dir / "password"
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    assert lab.password() not in r.stdout + r.stderr
    assert "'***'@cluster-a-ma:3306" in r.stdout

    # each node on its own loopback address with the compose port; the host map names both
    assert lab.sql(0, "SELECT COUNT(*) FROM ExampleDB1.orders") == [(2,)]
    assert f'"cluster-b-ma": "{lab.address(1)}"' in (lab.dir / "hosts.json").read_text()
    replicated = "REPLICATE DATABASE ExampleDB1" in r.stdout and "SKIPPED" not in r.stdout
    if replicated:  # cluster B resolved cluster-a-ma through the host map and replicates it
        lab.sql(0, "INSERT INTO ExampleDB1.orders (item, qty) VALUES ('lab', 7)")
        wait_for(lambda: lab.sql(1, "SELECT COUNT(*) FROM ExampleDB1.orders") == [(3,)], 20, what="B caught up")
        # cluster B's metrics (compose: --metrics-port 9104, bound to its lab address)
        import urllib.request

        with urllib.request.urlopen(f"http://{lab.address(1)}:9104/metrics", timeout=5) as resp:
            text = resp.read().decode()
        assert 'drlab_database_state{database="ExampleDB1",state="replicating"} 1.0' in text
        assert 'drlab_database_role{database="ExampleDB1",role="async replica"} 1.0' in text
        assert re.search(r'drlab_replication_lag_lsn\{database="ExampleDB1",peer="cluster-a-ma:3306/ExampleDB1",'
                         r'role="async replica"\} 0\.0', text), text

    s = lab.run("status")
    assert s.returncode == 0, s.stderr
    rows = status_rows(s.stdout)
    pids = lab.pids()
    assert rows[("cluster-a-ma",)] == ["cluster-a-ma", f"{lab.address(0)}:3306", str(pids["cluster-a-ma"]), "up"]
    assert rows[("cluster-b-ma",)][3] == "up"
    assert rows[("cluster-a-ma", "ExampleDB1")][2:4] == ["master", "online"]
    if replicated:
        b = rows[("cluster-b-ma", "ExampleDB1")]
        assert b[2:4] == ["async replica", "replicating"]
        assert b[4] == rows[("cluster-a-ma", "ExampleDB1")][4]  # same position as the primary
        assert b[5].startswith("0 records") and b[6] == "connected"
        assert rows[("cluster-a-ma", "ExampleDB1")][6] == "1 replica connected"
    assert lab.password() not in s.stdout + s.stderr

    # kill: SIGKILL; the process is gone and the node stops answering
    k = lab.run("kill", "cluster-a-ma")
    assert k.returncode == 0 and "killed (SIGKILL" in k.stdout
    assert not Path(f"/proc/{pids['cluster-a-ma']}").exists() or \
        Path(f"/proc/{pids['cluster-a-ma']}/stat").read_text().split(") ")[1][0] in "ZX"
    with pytest.raises(pymysql.err.OperationalError):
        lab.sql(0, "SELECT 1")
    assert status_rows(lab.run("status").stdout)[("cluster-a-ma",)][2:] == ["-", "down"]

    # start: the same data comes back
    st = lab.run("start", "cluster-a-ma")
    assert st.returncode == 0, st.stderr
    assert lab.sql(0, "SELECT COUNT(*) FROM ExampleDB1.orders") == [(3 if replicated else 2,)]

    if replicated:  # B's link finds the restarted A again (it retries with a backoff)
        wait_for(lambda: status_rows(lab.run("status").stdout)[("cluster-a-ma", "ExampleDB1")][6]
                 == "1 replica connected", 30, what="B reconnected to the restarted A")

    # pause / resume: SIGSTOP / SIGCONT
    assert lab.run("pause", "cluster-b-ma").returncode == 0
    assert status_rows(lab.run("status").stdout)[("cluster-b-ma",)][3] == "paused"
    if replicated:  # the primary sees its replica stop fetching (3 s without a fetch)
        wait_for(lambda: status_rows(lab.run("status").stdout)[("cluster-a-ma", "ExampleDB1")][6]
                 == "0 of 1 replica connected", 15, what="A reports its replica gone")
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host=lab.address(1), port=3306, user="root", password=lab.password(), connect_timeout=1,
                        read_timeout=1)
    assert lab.run("resume", "cluster-b-ma").returncode == 0
    assert lab.sql(1, "SELECT 1") == [(1,)]

    # up again on a running lab: nothing restarted, setup idempotent
    again = lab.up()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "cluster-a-ma: already running" in again.stdout

    d = lab.run("down")
    assert d.returncode == 0
    assert "cluster-a-ma: stopped" in d.stdout and "cluster-b-ma: stopped" in d.stdout
    final = status_rows(lab.run("status").stdout)
    assert final[("cluster-a-ma",)][3] == final[("cluster-b-ma",)][3] == "down"
    for pid in pids.values():
        assert labmod._proc_state(pid) in (None, "Z", "X")


def test_lab_bad_input(lab: LabRunner, tmp_path: Path) -> None:
    r = lab.run("status")
    assert r.returncode == 2 and "no lab in" in r.stderr and "drlab lab up" in r.stderr
    r = lab.run("up", "-f", str(tmp_path / "missing.yml"))
    assert r.returncode == 2 and "missing.yml not found" in r.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("services: [unclosed\n")
    r = lab.run("up", "-f", str(bad))
    assert r.returncode == 2 and "not valid YAML" in r.stderr
    wrong = tmp_path / "wrong.yml"
    wrong.write_text("services:\n  x:\n    command: [drlab, node, --port, notaport]\n")
    r = lab.run("up", "-f", str(wrong))
    assert r.returncode == 2 and "service x" in r.stderr and "not a valid drlab node command" in r.stderr
    r = lab.run("up", "-f", str(ROOT / "docker-compose.yml"), "--first-address", "10.0.0.2")
    assert r.returncode == 2 and "not a loopback address" in r.stderr

    lab.env["DRLAB_ROOT_PASSWORD"] = "from-env-pw"
    r = lab.up("--no-setup")
    assert r.returncode == 0, r.stderr
    assert not (lab.dir / "password").exists()  # the environment's password is used, not stored
    assert "from-env-pw" not in (lab.dir / "password.check").read_text()  # only a salted hash of it
    r = lab.run("kill", "cluster-z-ma")
    assert r.returncode == 2 and "no node named 'cluster-z-ma'" in r.stderr and "cluster-a-ma" in r.stderr


def test_lab_password_trap_is_refused_and_reset_starts_over(lab: LabRunner) -> None:
    r = lab.up()
    assert r.returncode == 0, r.stdout + r.stderr
    generated = lab.password()
    assert lab.run("down").returncode == 0
    # brought up again with a password exported: refused before any node starts with it
    lab.env["DRLAB_ROOT_PASSWORD"] = "exported-later"
    r = lab.up()
    assert r.returncode == 2, r.stdout + r.stderr
    assert "lab ready" not in r.stdout
    assert "this lab was created without $DRLAB_ROOT_PASSWORD" in r.stderr
    assert "unset it, or start over with `drlab lab reset`" in r.stderr
    assert not lab.pids()
    # without it, the lab comes back whole: the link logs in with the password it stored
    del lab.env["DRLAB_ROOT_PASSWORD"]
    r = lab.up()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 nodes answer with the lab's password, 1 replication link connected" in r.stdout
    assert lab.password() == generated
    # reset: nodes stopped, data and password gone; up with the exported password is a new lab
    pids = lab.pids()
    r = lab.run("reset")
    assert r.returncode == 0, r.stderr
    assert "lab reset: deleted the data of cluster-a-ma, cluster-b-ma" in r.stdout
    assert all(labmod._proc_state(pid) in (None, "Z", "X") for pid in pids.values())
    assert not (lab.dir / "password").exists() and not (lab.dir / "cluster-a-ma").exists()
    lab.env["DRLAB_ROOT_PASSWORD"] = "exported-later"
    r = lab.up()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 replication link connected" in r.stdout
    with pymysql.connect(host=lab.address(0), port=3306, user="root", password="exported-later") as c:
        c.ping()
    # and a different exported password is refused the same way
    lab.env["DRLAB_ROOT_PASSWORD"] = "yet-another"
    r = lab.run("status")
    assert r.returncode == 2 and "is not the password this lab was created with" in r.stderr


def test_status_and_up_tell_why_a_link_is_down(lab: LabRunner) -> None:
    assert lab.up().returncode == 0
    pw = lab.password()
    lab.sql(0, "CREATE USER 'repl'@'%' IDENTIFIED BY 'repl-Pw1'")
    lab.sql(0, "GRANT REPLICATION ON *.* TO 'repl'@'%'")
    lab.sql(0, "CREATE DATABASE db2")
    lab.sql(0, "CREATE TABLE db2.t (id INT PRIMARY KEY)")
    lab.sql(1, "REPLICATE DATABASE db2 FROM repl:'repl-Pw1'@cluster-a-ma:3306")
    # the source's account changes its password: the stored one no longer works once B reconnects
    lab.sql(0, "ALTER USER 'repl'@'%' IDENTIFIED BY 'repl-Pw2'")
    assert lab.run("stop", "cluster-b-ma").returncode == 0
    lab.sql(0, "INSERT INTO db2.t VALUES (1), (2), (3)")
    assert lab.run("start", "cluster-b-ma").returncode == 0
    r = lab.up()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "lab ready" not in r.stdout
    assert "the nodes are running but the lab is not healthy" in r.stderr
    assert re.search(r"cluster-b-ma/db2: the replication link is not connected: .*Access denied for user 'repl'",
                     r.stderr), r.stderr
    s = lab.run("status").stdout
    b = status_rows(s)[("cluster-b-ma", "db2")]
    assert b[6] == "DOWN" and not b[5].startswith("0 records"), s
    assert re.search(r"^cluster-b-ma/db2: link down: .*Access denied for user 'repl'", s, re.M), s
    assert status_rows(s)[("cluster-b-ma", "ExampleDB1")][6] == "connected"
    # the source dies: the other link is down too, and says so, with a lag that does not read 0
    lab.sql(0, "INSERT INTO ExampleDB1.orders (item, qty) VALUES ('late', 1)")
    assert lab.run("kill", "cluster-a-ma").returncode == 0
    s = wait_for(lambda: (t := lab.run("status").stdout) and
                 status_rows(t)[("cluster-b-ma", "ExampleDB1")][6] == "DOWN" and t, 20, what="link down")
    row = status_rows(s)[("cluster-b-ma", "ExampleDB1")]
    assert not row[5].startswith("0 records"), s
    assert re.search(r"^cluster-b-ma/ExampleDB1: link down: .*(Connection refused|Can't connect)", s, re.M), s
    assert pw not in s


# -- runbooks --------------------------------------------------------------------------------------
RUNBOOKS = ROOT / "examples" / "runbooks"


def runbook(lab: LabRunner, path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab", "runbook", str(path), "--lab", str(lab.dir),
                           "--first-address", lab.first, *extra], cwd=lab.tmp, capture_output=True, text=True,
                          timeout=180, env=lab.env)


@pytest.mark.parametrize("name", ["seed000_failback", "blog_scenario1_failover_failback",
                                  "blog_scenario2_rolling_upgrade", "unplanned_failover"])
def test_example_runbooks_run_green(lab: LabRunner, name: str) -> None:
    import json

    r = runbook(lab, RUNBOOKS / f"{name}.yml", "--json")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(r.stdout)
    assert rep["ok"] and all(s["ok"] for s in rep["steps"])
    assert re.search(rf"\[{len(rep['steps'])}/{len(rep['steps'])}\] .* \| app: \d+ writes/s, \d+ errors?", r.stderr)
    assert rep["app"]["acknowledged_writes"] > 50
    assert rep["checksums"]["equal"], rep["checksums"]
    assert rep["rto_s"] < 5
    if name in ("unplanned_failover", "blog_scenario1_failover_failback"):  # cluster A killed under load
        # what was lost is what had not reached B when A died: at most the lag seen just before the
        # kill, plus the writes A acknowledged in the few ms between that sample and the SIGKILL
        lag = max((v["records"] for v in rep["lag_at_kill"].values()), default=0)
        assert rep["rpo"]["lost_writes"] <= lag + 3, (rep["rpo"], rep["lag_at_kill"])
        assert rep["rpo"]["final_primary"] == ("cluster-b-ma" if name == "unplanned_failover" else "cluster-a-ma")
    else:  # planned failback / swap: nothing acknowledged is lost
        assert rep["rpo"]["lost_writes"] == 0, rep["rpo"]
    assert lab.password() not in r.stdout + r.stderr


@pytest.mark.parametrize("name", ["seed001_pcr_failover", "seed001_pcr_failback"])
def test_pcr_runbooks_run_green(lab: LabRunner, name: str) -> None:
    import json

    r = runbook(lab, RUNBOOKS / f"{name}.yml", "--json")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(r.stdout)
    assert rep["ok"] and all(s["ok"] for s in rep["steps"])
    assert lab.password() not in r.stdout + r.stderr


def test_runbook_text_report_and_failures(lab: LabRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("steps: [\n")
    r = runbook(lab, bad)
    assert r.returncode == 2 and "is not valid YAML" in r.stderr
    empty = tmp_path / "empty.yml"
    empty.write_text("name: nothing\n")
    r = runbook(lab, empty)
    assert r.returncode == 2 and "has no steps" in r.stderr

    compose = ROOT / "docker-compose.yml"
    unknown = tmp_path / "unknown.yml"
    unknown.write_text(f"lab: {{compose: {compose}, fresh: true}}\nsteps:\n  - kill: cluster-z-ma\n")
    r = runbook(lab, unknown)
    assert r.returncode == 2
    assert "step 1: unknown node 'cluster-z-ma'; the lab's nodes are cluster-a-ma, cluster-b-ma" in r.stderr

    two = tmp_path / "two.yml"
    two.write_text(f"lab: {{compose: {compose}, fresh: true}}\nsteps:\n  - {{kill: cluster-a-ma, sleep: 1}}\n")
    r = runbook(lab, two)
    assert r.returncode == 2 and "step 1: expected exactly one of" in r.stderr

    failing = tmp_path / "failing.yml"
    failing.write_text(f"""name: a failing check
lab: {{compose: {compose}, fresh: true}}
app: {{database: ExampleDB1, primary: cluster-a-ma, rate: 50}}
steps:
  - on: cluster-a-ma
    sql: SELECT COUNT(*) FROM ExampleDB1.orders
    expect: [[2]]
  - on: cluster-b-ma
    sql: INSERT INTO ExampleDB1.orders (item, qty) VALUES ('x', 1)
    expect_error: 1290
  - on: cluster-a-ma
    sql: SELECT 1
    expect: [[2]]
  - sleep: 5
""")
    r = runbook(lab, failing)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "runbook: a failing check  (FAILED" in r.stdout
    assert re.search(r"^2 +on cluster-b-ma: INSERT .* +ok +[\d.]+s +expected error 1290", r.stdout, re.M)
    assert re.search(r"^3 +on cluster-a-ma: SELECT 1 +FAILED .*expected \[\[2\]\], got \[\[1\]\]", r.stdout, re.M)
    assert "sleep 5" not in r.stdout  # the runbook stops at the failed step
    assert "RPO: 0 acknowledged writes lost on the final primary cluster-a-ma" in r.stdout
    assert "checksums of ExampleDB1 on cluster-a-ma, cluster-b-ma: equal" in r.stdout


def test_runbook_on_a_stopped_lab_and_its_progress_lines(lab: LabRunner, tmp_path: Path) -> None:
    assert lab.up().returncode == 0
    assert lab.run("down").returncode == 0
    book = tmp_path / "progress.yml"
    book.write_text("""name: progress
app: {database: ExampleDB1, primary: cluster-a-ma, rate: 50}
steps:
  - wait: {on: cluster-b-ma, database: ExampleDB1, state: replicating}
  - name: the application writes for a while
    sleep: 2.5
  - check: {lost_writes: 0}
""")
    r = runbook(lab, book)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip() == (f"drlab runbook: the lab in {lab.dir} is not running (cluster-a-ma, cluster-b-ma "
                                "down): run `drlab lab up` first")
    assert lab.up().returncode == 0
    r = runbook(lab, book, "--heartbeat", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    first = next(ln for ln in lines if ln.startswith("[1/3]"))
    assert first.startswith("[1/3] wait until ExampleDB1 on cluster-b-ma is replicating: ok"), first
    assert "| app: 0 writes/s" not in first  # unknown this early ("-"), or a true rate
    beats = [ln for ln in lines if ln.startswith("[2/3] the application writes for a while: still running after")]
    assert len(beats) >= 2, r.stderr
    assert re.search(r"\| app: \d+ writes/s, 0 errors$", beats[-1]), beats
    done = next(ln for ln in lines if ln.startswith("[2/3] the application writes for a while: ok"))
    rate = int(re.search(r"app: (\d+) writes/s", done).group(1))  # type: ignore[union-attr]
    assert 30 <= rate <= 60, done
    assert re.search(r"^3 +check that no acknowledged write was lost +ok", r.stdout, re.M), r.stdout
