"""Regenerate the captured sessions in README.md and docs/*.md from real runs, so they cannot drift.

Each session starts real `drlab node` processes on free loopback ports, runs the stock `mariadb`
client (or `drlab`) against them, and rewrites the blocks between `<!-- capture: NAME -->` and
`<!-- /capture -->` with what it printed. Ports, temporary paths and lab addresses are shown as the
docs' fixed ones (3306, 3307, ./data-b, 127.0.0.2), so a capture only changes where drlab's
behaviour did.

    python docs/capture.py                   # run every session, rewrite the docs (make docs)
    python docs/capture.py readme-replication  # only these sessions
    python docs/capture.py --check NAME...   # compare instead of writing; exit 1 on drift

`--check` compares after `normalise` (timings, timestamps, pids, counts that depend on timing), so
it fails on a changed behaviour, not on a slower machine.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python docs/capture.py` from a checkout
    sys.path.insert(0, str(ROOT))

from lab.harness import wait_for  # noqa: E402 - the script runs from a checkout, not an install

MARKER = re.compile(r"(<!-- capture: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /capture -->)", re.S)


@dataclass
class Node:
    label: str  # A, B, ... (the prompt in prompt-style sessions)
    port: int  # the real port
    shown_port: int  # the port the docs show
    data: Path
    host: str = "127.0.0.1"  # where the client connects (a node started with --host ::1 listens there)
    proc: subprocess.Popen[str] | None = None
    ready_line: str = ""


@dataclass
class Capture:
    """One run: its nodes, the substitutions that make its output the docs' output, its blocks."""

    tmp: Path
    shown_tmp: str
    nodes: dict[str, Node] = field(default_factory=dict)
    subs: list[tuple[str, str]] = field(default_factory=list)
    blocks: dict[str, list[str]] = field(default_factory=dict)
    current: list[str] | None = None

    # -- output ------------------------------------------------------------------------------------
    def block(self, name: str) -> None:
        """Everything said from now on goes into the block NAME."""
        self.current = self.blocks.setdefault(name, [])

    def say(self, text: str) -> None:
        assert self.current is not None, "call block() first"
        self.current.append(self.shown(text))

    def shown(self, text: str) -> str:
        for real, shown in self.subs:
            text = text.replace(real, shown)
        for n in self.nodes.values():
            text = re.sub(rf"(?<!\d){n.port}(?!\d)", str(n.shown_port), text)
        return realign(text)

    def real(self, text: str) -> str:
        for n in self.nodes.values():
            text = re.sub(rf"(?<!\d){n.shown_port}(?!\d)", str(n.port), text)
        for real, shown in self.subs:
            text = text.replace(shown, real)
        return text

    # -- processes ---------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DRLAB_ROOT_PASSWORD", "DRLAB_LAB_DIR")}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["COLUMNS"] = "100"  # argparse wraps --help to the terminal's width
        return env

    def node(self, label: str, shown_port: int, data: str, *options: str, show: str | None = None,
             env: dict[str, str] | None = None, shown_data: str | None = None) -> Node:
        """Start `drlab node --data DATA --port SHOWN_PORT OPTIONS &` (on a free port, DATA under the
        capture's directory, shown as ``shown_data`` or ./DATA); with ``show``, the command line
        shown, followed by the node's ready line."""
        old = self.nodes.get(label)  # a node started again keeps its port: links know it by its address
        n = Node(label, old.port if old else _free_port_like(shown_port), shown_port, self.tmp / data)
        if "--host" in options:
            n.host = options[options.index("--host") + 1]
        self.nodes[label] = n
        self.subs.append((str(n.data), shown_data or f"./{data}"))
        cmd = ["drlab", "node", "--data", str(n.data), "--port", str(n.port), *map(self.real, options)]
        n.proc = subprocess.Popen(cmd, cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env={**self.env(), **(env or {})}, start_new_session=True)
        assert n.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = n.proc.stdout.readline()
            if "ready for connections" in line:
                n.ready_line = line.rstrip("\n")
                break
            if not line and n.proc.poll() is not None:
                raise RuntimeError(f"node {label} exited: {line}")
        else:
            raise TimeoutError(f"node {label} not ready")
        if show is not None:
            self.say(f"$ {show}\n{n.ready_line}")
        return n

    def stop(self, label: str, sig: int = signal.SIGTERM) -> None:
        n = self.nodes[label]
        if n.proc is not None and n.proc.poll() is None:
            os.kill(n.proc.pid, signal.SIGCONT)  # a stopped node cannot act on SIGTERM
            os.kill(n.proc.pid, sig)
            n.proc.wait(15)

    def stop_signal(self, label: str, sig: int) -> None:
        """Send SIG (SIGSTOP, SIGCONT) to a node that keeps running."""
        proc = self.nodes[label].proc
        assert proc is not None
        os.kill(proc.pid, sig)

    def close(self) -> None:
        for label in list(self.nodes):
            self.stop(label, signal.SIGKILL)

    def sh(self, shown_cmd: str, show: bool = True, check: bool = True, run: str | None = None) -> str:
        """Run a shell command as shown (with the real ports and paths; ``run``: another command line
        that does what the shown one would here); show it with its output. ``check``: exit 0 or 1."""
        r = subprocess.run(["bash", "-c", run or self.real(shown_cmd)], cwd=self.tmp, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env=self.env(), timeout=300)
        # without a terminal the client echoes a failing statement between dashes; at one it does not
        out = re.sub(r"^-{14}\n.*?\n-{14}\n\n", "", r.stdout, flags=re.M | re.S).rstrip("\n")
        if check and r.returncode not in (0, 1):
            raise RuntimeError(f"{shown_cmd}: exit {r.returncode}: {out}")
        if show:
            self.say(f"$ {shown_cmd}" + (f"\n{self.shown(out)}" if out else ""))
        return out

    def mariadb(self, label: str, sql: str, user: str = "root", password: str = "", extra: str = "",
                table: bool = True) -> str:
        """`mariadb -h127.0.0.1 -PPORT -uUSER [-pPW] [-t] -e "SQL"`, as a README shows it (``table``
        off for a statement that prints nothing or fails: `-t` echoes a failing statement)."""
        n = self.nodes[label]
        pw = f" -p{password}" if password else ""
        t = " -t" if table else ""
        return self.sh(f'mariadb -h{n.host} -P{n.shown_port} -u{user}{pw}{extra}{t} -e "{sql}"')

    def prompts(self, label: str, statements: list[str], db: str | None = None, who: str | None = None) -> None:
        """Several statements in one client session (SHOW WARNINGS after the statement it is about),
        each shown as `prompt` shows one."""
        n = self.nodes[label]
        args = ["mariadb", f"-h{n.host}", f"-P{n.port}", "-uroot", "-t", "-vvv", "-f",
                *(["-D", db] if db else []), "-e", self.real("; ".join(statements))]
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env(),
                           timeout=300)
        parts = re.split(r"^-{14}\n(.*?)\n-{14}\n", r.stdout, flags=re.M | re.S)
        where = f" [{db}]" if db else ""
        for stmt, out in zip(parts[1::2], parts[2::2], strict=True):
            text = self.shown(_client_text(out, stmt))
            self.say(f"{who or label}{where}> {self.shown(stmt)};" + (f"\n{text}" if text else ""))
            self.say("")

    def prompt(self, label: str, sql: str, db: str | None = None, who: str | None = None) -> str:
        """A statement as an interactive session shows it: `A [db]> SQL;` and the client's answer
        (`mariadb -vvv`, its `----` lines, ` at line 1` and timings removed)."""
        n = self.nodes[label]
        args = ["mariadb", f"-h{n.host}", f"-P{n.port}", "-uroot", "-t", "-vvv", *(["-D", db] if db else []),
                "-e", self.real(sql)]
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env(),
                           timeout=300)
        out = self.shown(_client_text(r.stdout, self.real(sql)))
        where = f" [{db}]" if db else ""
        self.say(f"{who or label}{where}> {sql};" + (f"\n{out}" if out else ""))
        self.say("")
        return out


class Session:
    """One `mariadb` client session kept open across statements (a transaction, a lock), on a pty so
    its output and errors arrive in order; ``send`` and ``answer`` apart let another session run
    while a statement waits."""

    END = re.compile(r"^(ERROR .*\n|(Query OK|\d+ rows? in set|Empty set).*\n(?:.+\n)?\n)", re.M)

    def __init__(self, c: Capture, label: str, who: str) -> None:
        import pty

        self.c, self.who, self.buf = c, who, ""
        self.master, slave = pty.openpty()
        n = c.nodes[label]
        self.proc = subprocess.Popen(["mariadb", f"-h{n.host}", f"-P{n.port}", "-uroot", "-t", "-vvv", "-f"],
                                     stdin=subprocess.PIPE, stdout=slave, stderr=slave, text=True, env=c.env())
        os.close(slave)
        self.sql = ""

    def send(self, sql: str) -> None:
        assert self.proc.stdin is not None
        self.sql = sql
        self.proc.stdin.write(self.c.real(sql) + ";\n")
        self.proc.stdin.flush()

    def answer(self, show: bool = True) -> str:
        import select

        deadline = time.monotonic() + 30
        while not (m := self.END.search(self.buf)):
            if time.monotonic() > deadline or not select.select([self.master], [], [], 1)[0] and \
                    self.proc.poll() is not None:
                raise TimeoutError(f"{self.who}: no answer to {self.sql}: {self.buf}")
            if select.select([self.master], [], [], 0)[0]:
                self.buf += os.read(self.master, 65536).decode().replace("\r", "")
        out, self.buf = self.buf[:m.end()], self.buf[m.end():]
        text = self.c.shown(_client_text(out, self.c.real(self.sql)))
        if show:
            self.c.say(f"{self.who}> {self.sql};\n{text}\n")
        return text

    def run(self, sql: str, show: bool = True) -> str:
        self.send(sql)
        return self.answer(show)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(15)
        os.close(self.master)


def _free_port_like(shown: int) -> int:
    """A free port with as many digits as the one shown, so substituting it keeps tables aligned."""
    import random

    for _ in range(200):
        port = random.randint(10 ** (len(str(shown)) - 1) * 2, 10 ** len(str(shown)) - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free {len(str(shown))}-digit port")


def realign(text: str) -> str:
    """Re-pad the client's ASCII tables whose cells changed width (a substituted path)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("+-"):
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].startswith(("+-", "|")):
            j += 1
        out += _realign_table(lines[i:j])
        i = j
    return "\n".join(out)


def _realign_table(block: list[str]) -> list[str]:
    if len({len(ln) for ln in block}) == 1:
        return block  # aligned as the client printed it
    ncols = block[0].count("+") - 1
    rows = [None if ln.startswith("+") else ln[2:-2].split(" | ") for ln in block]
    if not any(r is not None for r in rows) or not block[-1].startswith("+") or \
            any(r is not None and (len(r) != ncols or not block[k].endswith(" |")) for k, r in enumerate(rows)):
        return block  # a cell spans lines or holds " | ": leave it as the client printed it
    widths = [max(len(r[c].strip()) for r in rows if r is not None) for c in range(ncols)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = []
    for r in rows:
        if r is None:
            out.append(rule)
            continue
        cells = [(v.strip().rjust(w) if v.startswith(" ") and v.strip() else v.strip().ljust(w))
                 for v, w in zip(r, widths, strict=True)]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _client_text(text: str, sql: str) -> str:
    lines = []
    for line in text.splitlines():
        if line.startswith("--------------") or line == sql or line == "Bye":
            continue
        line = re.sub(r" \(\d+\.\d+ sec\)$", "", line)
        line = re.sub(r"^(ERROR \d+ \(\w+\)) at line \d+:", r"\1:", line)  # the client's, not the server's
        lines.append(line)
    while lines and not lines[0].strip():
        lines.pop(0)
    out = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", out)


# -- sessions --------------------------------------------------------------------------------------
SESSIONS: dict[str, Callable[[Capture], None]] = {}
DETERMINISTIC: set[str] = set()  # sessions whose normalised output is the same on every run


def session(name: str, deterministic: bool = True) -> Callable[[Callable[[Capture], None]], Callable[[Capture], None]]:
    def register(fn: Callable[[Capture], None]) -> Callable[[Capture], None]:
        SESSIONS[name] = fn
        if deterministic:
            DETERMINISTIC.add(name)
        return fn

    return register


@session("readme-node")
def readme_node(c: Capture) -> None:
    c.block("readme-node-help")
    c.sh("drlab node --help")
    c.block("readme-quickstart")
    c.node("A", 3306, "data")
    c.mariadb("A", "CREATE DATABASE app; CREATE TABLE app.t(id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)); "
                   "INSERT INTO app.t(v) VALUES ('a'),('b'); SELECT * FROM app.t; SHOW DATABASES EXTENDED")
    c.block("readme-startup")
    c.sh("drlab node --host 0.0.0.0; echo \"exit $?\"")
    c.sh("drlab node --data ./data-other --port 3306; echo \"exit $?\"     # 3306 is taken")
    c.sh("drlab node --data ./data --port 3399; echo \"exit $?\"           # ./data belongs to the node on 3306")


@session("readme-replication")
def readme_replication(c: Capture) -> None:
    c.block("readme-replication")
    c.node("A", 3306, "data")
    c.node("B", 3307, "data-b", show="drlab node --data ./data-b --port 3307 &    # the secondary")
    c.mariadb("A", "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(20)); "
                   "INSERT INTO shop.orders (item) VALUES ('apple'), ('pear')", table=False)
    c.mariadb("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306; SELECT * FROM shop.orders; "
                   "SHOW DATABASES EXTENDED LIKE 'shop'")
    c.mariadb("B", "INSERT INTO shop.orders (item) VALUES ('plum')", table=False)
    c.block("readme-failback")
    c.mariadb("B", "STOP REPLICATING shop; INSERT INTO shop.orders (item) VALUES ('plum')", table=False)
    c.mariadb("A", "INSERT INTO shop.orders (item) VALUES ('fig')", table=False)
    c.mariadb("A", "REPLICATE DATABASE shop WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3307; SHOW WARNINGS; "
                   "SELECT LSN, OPERATION, TABLE_NAME, ROW_AFTER FROM information_schema.DRLAB_REVERTED_TRANSACTIONS")
    c.mariadb("A", "SELECT * FROM shop.orders")


@session("readme-tls")
def readme_tls(c: Capture) -> None:
    c.block("readme-tls")
    c.sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 30 -subj "/CN=127.0.0.1" '
         '2>/dev/null')
    c.node("T", 3308, "data-tls", "--tls-cert", "cert.pem", "--tls-key", "key.pem",
           show="DRLAB_ROOT_PASSWORD='root-Pw1' drlab node --data ./data-tls --port 3308 --tls-cert cert.pem "
                "--tls-key key.pem &", env={"DRLAB_ROOT_PASSWORD": "root-Pw1"})
    c.mariadb("T", "SELECT 'over TLS' AS hello", password="root-Pw1", extra=" --ssl")


@session("replication-setup")
def replication_setup(c: Capture) -> None:
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.block("replication-setup-primary")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40), qty INT, placed DATETIME, "
                  "token CHAR(36))", db="shop")
    c.prompt("A", "INSERT INTO orders (item, qty, placed, token) VALUES ('apple', 3, NOW(), UUID()), "
                  "('pear', 1, NOW(), UUID()), ('plum', 12, NOW(), UUID())", db="shop")
    c.prompt("A", "CREATE USER dr IDENTIFIED BY 's3cr''et:@pw'")
    c.prompt("A", "GRANT REPLICATION ON *.* TO dr")
    c.block("replication-setup-secondary")
    c.prompt("B", "REPLICATE DATABASE shop WITH SYNC DURABILITY FROM dr:'s3cr\\'et:@pw'@127.0.0.1:3306/shop")
    c.prompt("B", "SELECT id, item, qty FROM orders", db="shop")
    c.block("replication-status")
    c.prompt("A", "INSERT INTO orders (item, qty) VALUES ('fig', 2)", db="shop")
    _wait_hardened(c, "B", "shop", "1:3")
    c.prompt("B", "SHOW REPLICATION STATUS")
    c.prompt("A", "SHOW REPLICATION STATUS")


@session("replication-source-down", deterministic=False)
def replication_source_down(c: Capture) -> None:
    """docs/replication.md: a primary that goes away, as the replica's views report it, and its return."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.block("_setup")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40), qty INT)", db="shop")
    c.prompt("A", "INSERT INTO orders (item, qty) VALUES ('apple', 3), ('pear', 1)", db="shop")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    c.block("replication-source-down")
    c.stop("A")
    c.say("$ kill <pid of A>    # the primary node goes away\n")
    port = c.nodes["B"].shown_port
    wait_for(lambda: "refused" in c.sh(f"mariadb -h127.0.0.1 -P{port} -uroot -N -e \"SHOW DATABASES EXTENDED LIKE "
                                       "'shop'\"", show=False), 20, what="B sees its source gone")
    c.prompt("B", "SHOW REPLICATION STATUS")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")
    c.prompt("B", "SELECT database_name, secondary_state, lsn_lag, lag_seconds FROM "
                  "information_schema.LMV_REPLICATION_STATUS")
    c.node("A", 3306, "a", show="drlab node --data a --host 127.0.0.1 --port 3306")
    c.say("")
    c.prompt("A", "INSERT INTO orders (item, qty) VALUES ('date', 9)", db="shop")
    _wait_hardened(c, "B", "shop", "1:3")
    c.prompt("B", "SHOW REPLICATION STATUS")
    c.prompt("B", "SELECT COUNT(*) FROM orders", db="shop")
    c.blocks.pop("_setup")


@session("replication-lifecycle", deterministic=False)
def replication_lifecycle(c: Capture) -> None:
    """docs/replication.md: a replica restarted with SIGKILL, PAUSE / CONTINUE / STOP REPLICATING, an
    IPv6 source, as SHOW REPLICATION STATUS and SHOW DATABASES EXTENDED report them."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.block("_setup")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40), qty INT, placed DATETIME, "
                  "token CHAR(36))", db="shop")
    c.prompt("A", "INSERT INTO orders (item, qty, placed, token) VALUES ('apple', 3, NOW(), UUID()), "
                  "('pear', 1, NOW(), UUID()), ('plum', 12, NOW(), UUID())", db="shop")
    c.prompt("A", "CREATE DATABASE big")
    c.prompt("A", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))", db="big")
    c.prompt("A", "INSERT INTO t VALUES (1, 'one'), (2, 'two')", db="big")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    c.prompt("B", "REPLICATE DATABASE big FROM root@127.0.0.1:3306")
    _wait_hardened(c, "B", "big", "1:2")

    c.block("replication-restart")
    c.stop("B", signal.SIGKILL)
    c.say("$ kill -9 <pid of B>    # the replica node\n")
    c.prompt("A", "INSERT INTO orders (item, qty, placed, token) VALUES ('cherry', 50, NOW(), UUID())", db="shop")
    c.node("B", 3307, "b", show="drlab node --data b --host 127.0.0.1 --port 3307")
    c.say("")
    _wait_hardened(c, "B", "shop", "1:3")
    c.prompt("B", "SELECT COUNT(*) FROM orders", db="shop")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")

    c.block("replication-pause")
    c.prompt("B", "PAUSE REPLICATING shop")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")
    c.prompt("A", "INSERT INTO orders (item, qty, placed, token) VALUES ('lime', 4, NOW(), UUID())", db="shop")
    c.prompt("B", "SELECT COUNT(*) FROM orders", db="shop")
    c.prompt("B", "INSERT INTO orders (item, qty) VALUES ('kiwi', 2)", db="shop")
    c.prompt("B", "SHOW REPLICATION STATUS")

    c.block("replication-continue")
    c.prompt("B", "CONTINUE REPLICATING shop")
    _wait_hardened(c, "B", "shop", "1:4")
    c.prompt("B", "SELECT COUNT(*) FROM orders", db="shop")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")

    c.block("replication-ipv6")
    c.node("C", 3308, "c", "--host", "::1", show="drlab node --data c --host ::1 --port 3308")
    c.say("")
    c.prompt("C", "CREATE DATABASE metrics")
    c.prompt("C", "CREATE TABLE m (k VARCHAR(10) PRIMARY KEY, v DOUBLE)", db="metrics")
    c.prompt("C", "INSERT INTO m VALUES ('cpu', RAND()), ('mem', RAND())", db="metrics")
    c.prompt("B", "REPLICATE DATABASE metrics_copy WITH ASYNC DURABILITY FROM root@[::1]:3308/metrics")
    _wait_hardened(c, "B", "metrics_copy", "1:2")
    c.prompt("B", "SHOW REPLICATION STATUS")
    c.prompt("B", "SELECT database_name, primary_uri, secondary_uri, secondary_state, lsn_lag FROM "
                  "information_schema.LMV_REPLICATION_STATUS")

    c.block("replication-stop")
    c.prompt("B", "STOP REPLICATING shop")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")
    c.prompt("B", "INSERT INTO orders (item, qty, placed, token) VALUES ('written on B', 1, NOW(), UUID())", db="shop")
    c.prompt("B", "CONTINUE REPLICATING shop")
    c.prompt("B", "STOP REPLICATING shop")
    c.prompt("B", "SHOW REPLICATION STATUS")

    c.block("replication-not-a-replica")
    c.prompt("B", "PAUSE REPLICATING nosuch")
    c.prompt("A", "PAUSE REPLICATING shop")
    c.blocks.pop("_setup")


@session("replication-views", deterministic=False)
def replication_views(c: Capture) -> None:
    """docs/replication.md: the states after REPLICATE, a replica refusing writes, the replication
    views, and a link whose source was killed (views, Details, Prometheus gauges)."""
    metrics = _free_port_like(9104)
    c.subs.append((f"127.0.0.1:{metrics}", "127.0.0.1:9104"))
    c.node("A", 3306, "a")
    c.node("B", 3307, "b", "--metrics-port", str(metrics))
    c.block("_setup")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40), qty INT)", db="shop")
    c.prompt("A", "INSERT INTO orders (item, qty) VALUES ('apple', 3), ('pear', 1)", db="shop")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    _wait_rows(c, "A", "SELECT connected FROM information_schema.LMV_REPLICATION_STATUS", "1")
    c.block("replication-states")
    c.prompt("B", "SHOW DATABASES EXTENDED")
    c.prompt("A", "SHOW DATABASES EXTENDED")
    c.block("replication-read-only")
    c.prompt("B", "INSERT INTO orders (item, qty) VALUES ('kiwi', 2)", db="shop")
    c.prompt("B", "CREATE TABLE notes (n INT)", db="shop")
    c.block("replication-lmv")
    c.prompt("B", "SELECT * FROM information_schema.LMV_REPLICATION_STATUS")
    c.prompt("A", "SELECT * FROM information_schema.LMV_REPLICATION_STATUS")
    c.prompt("B", "SELECT * FROM information_schema.MV_REPLICATION_STATUS")
    c.block("replication-link-broken")
    c.stop("A", signal.SIGKILL)
    c.say("$ kill -9 <pid of A>    # the source\n")
    port = c.nodes["B"].shown_port

    def stale() -> bool:
        out = c.sh(f'mariadb -h127.0.0.1 -P{port} -uroot -N -e "SELECT connected, last_contact_s FROM '
                   'information_schema.MV_REPLICATION_STATUS"', show=False).split()
        return out[:1] == ["0"] and float(out[1]) >= 2

    wait_for(stale, 30, what="B's link to A broken for 2 seconds")
    c.prompt("B", "SHOW REPLICATION STATUS")
    c.prompt("B", "SELECT database_name, secondary_state, lsn_lag, lag_seconds, connected, last_contact_s FROM "
                  "information_schema.MV_REPLICATION_STATUS")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")
    c.sh("curl -s http://127.0.0.1:9104/metrics | grep drlab_replication_")
    c.blocks.pop("_setup")


@session("replication-streaming", deterministic=False)
def replication_streaming(c: Capture) -> None:
    """docs/replication.md: row images carry NOW() and UUID(), so CHECKSUM TABLE agrees on both sides."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.block("_setup")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40), qty INT, placed DATETIME, "
                  "token CHAR(36))", db="shop")
    c.prompt("A", "INSERT INTO orders (item, qty, placed, token) VALUES ('apple', 3, NOW(), UUID()), "
                  "('pear', 1, NOW(), UUID()), ('plum', 12, NOW(), UUID())", db="shop")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    c.block("replication-streaming")
    c.prompt("A", "INSERT INTO orders (item, qty, placed, token) VALUES ('fig', 7, NOW(), UUID())", db="shop")
    c.prompt("A", "UPDATE orders SET qty = qty + 1 WHERE item = 'pear'", db="shop")
    _wait_hardened(c, "B", "shop", "1:4")
    c.prompt("B", "SELECT id, item, qty FROM orders", db="shop")
    c.prompt("A", "CHECKSUM TABLE orders", db="shop")
    c.prompt("B", "CHECKSUM TABLE orders", db="shop")
    c.blocks.pop("_setup")


@session("replication-diverged", deterministic=False)
def replication_diverged(c: Capture) -> None:
    """docs/replication.md: the source's node wiped and a database of the same name created again:
    the replica refuses it (state error) until FORCE DIFFERENTIAL or DROP + REPLICATE."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.block("_setup")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(20))", db="shop")
    c.prompt("A", "INSERT INTO orders (item) VALUES ('tea'), ('milk')", db="shop")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    c.stop("A")
    shutil.rmtree(c.nodes["A"].data)
    c.node("A", 3306, "a")
    c.block("replication-diverged")
    c.prompts("A", ["CREATE DATABASE shop",
                    "CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(20))",
                    "INSERT INTO shop.orders (item) VALUES ('coffee'), ('sugar'), ('salt')"])
    _wait_rows(c, "B", "SELECT secondary_state FROM information_schema.MV_REPLICATION_STATUS", "error")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")
    c.prompt("B", "SHOW REPLICATION STATUS")
    c.prompt("B", "SELECT item FROM orders", db="shop")
    c.prompt("B", "CONTINUE REPLICATING shop")
    _wait_rows(c, "B", "SELECT secondary_state FROM information_schema.MV_REPLICATION_STATUS", "error")
    c.prompt("B", "SHOW DATABASES EXTENDED LIKE 'shop'")
    c.prompt("B", "REPLICATE DATABASE shop WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3306")
    c.prompt("B", "DROP DATABASE shop")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    c.prompt("B", "SELECT item FROM orders", db="shop")
    c.blocks.pop("_setup")


@session("replication-errors", deterministic=False)
def replication_errors(c: Capture) -> None:
    """docs/replication.md: what REPLICATE DATABASE answers when it cannot start, and a source that
    accepts the connection but never answers (SIGSTOP)."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.node("C", 3308, "c")
    nobody = _free_port_like(3399)
    c.subs.append((f"127.0.0.1:{nobody}", "127.0.0.1:3399"))
    c.block("_setup")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(40), qty INT)", db="shop")
    c.prompt("A", "CREATE USER dr IDENTIFIED BY 's3cr''et:@pw'")
    c.prompt("A", "GRANT REPLICATION ON *.* TO dr")
    c.prompt("B", "REPLICATE DATABASE shop FROM dr:'s3cr\\'et:@pw'@127.0.0.1:3306/shop")
    c.prompt("C", "CREATE DATABASE shop")
    c.block("replication-errors")
    src = "dr:'s3cr\\'et:@pw'"
    c.prompt("B", "REPLICATE DATABASE shop2 FROM dr:'wrong'@127.0.0.1:3306/shop")
    c.prompt("B", f"REPLICATE DATABASE shop2 FROM {src}@127.0.0.1:{nobody}/shop")
    c.prompt("B", f"REPLICATE DATABASE shop2 FROM {src}@no-such-host.invalid:3306/shop")
    c.prompt("B", f"REPLICATE DATABASE shop2 FROM {src}@127.0.0.1:3306/nosuchdb")
    c.prompt("B", f"REPLICATE DATABASE shop FROM {src}@127.0.0.1:3306")
    c.prompt("A", "CREATE USER reader IDENTIFIED BY 'pw'")
    c.prompt("A", "GRANT SELECT ON shop.* TO reader")
    c.prompt("B", "REPLICATE DATABASE shop2 FROM reader:'pw'@127.0.0.1:3306/shop")
    c.prompt("B", "REPLICATE DATABASE shop2 FROM dr:'x'@127.0.0.1:")
    c.prompt("B", "REPLICATE DATABASE shop2 FROM dr@127.0.0.1:99999")
    c.prompt("B", "REPLICATE DATABASE shop2 WITH ASYNC FROM dr@127.0.0.1")
    c.prompt("B", "SHOW DATABASES")
    c.block("replication-timeout")
    c.stop_signal("C", signal.SIGSTOP)
    c.say("$ kill -STOP <pid of C>    # C accepts connections but never answers\n")
    started = time.monotonic()
    c.prompt("B", "REPLICATE DATABASE other FROM root@127.0.0.1:3308/shop")
    c.say(f"(took {time.monotonic() - started:.1f}s)")
    c.stop_signal("C", signal.SIGCONT)
    c.blocks.pop("_setup")


@session("failback-split-brain", deterministic=False)
def failback_split_brain(c: Capture) -> None:
    """docs/failback.md: a split brain reverted by a differential REPLICATE, and the refusals."""
    for label, port in (("A", 3306), ("B", 3307), ("C", 3308)):
        c.node(label, port, label.lower())
    c.block("failback-split-brain")
    c.prompt("A", "CREATE DATABASE ledger")
    c.prompt("A", "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(20), balance INT)", db="ledger")
    c.prompt("A", "INSERT INTO accounts VALUES (1, 'ann', 100), (2, 'bob', 50)", db="ledger")
    c.prompt("B", "REPLICATE DATABASE ledger FROM root@127.0.0.1:3306")
    c.prompt("B", "STOP REPLICATING ledger")
    c.prompt("A", "INSERT INTO accounts VALUES (3, 'cat', 70)", db="ledger")
    c.prompt("A", "UPDATE accounts SET balance = balance - 30 WHERE id = 1", db="ledger")
    c.prompt("B", "INSERT INTO accounts VALUES (3, 'dan', 10)", db="ledger")
    c.prompt("A", "SHOW DATABASES EXTENDED")
    c.prompt("B", "SHOW DATABASES EXTENDED")
    c.prompts("A", ["REPLICATE DATABASE ledger WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3307", "SHOW WARNINGS"])
    c.prompt("A", "SELECT * FROM information_schema.DRLAB_REVERTED_TRANSACTIONS")
    c.prompt("A", "SELECT * FROM accounts ORDER BY id", db="ledger")

    c.block("failback-refusals")
    nobody = _free_port_like(3399)
    c.subs.append((f"127.0.0.1:{nobody}", "127.0.0.1:3399"))
    c.prompt("A", "REPLICATE DATABASE ledger WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3307")
    c.prompt("C", "REPLICATE DATABASE ledger WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3307")
    c.prompt("C", "CREATE DATABASE ledger")
    c.prompt("C", "REPLICATE DATABASE ledger WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3307")
    c.prompt("C", "DROP DATABASE ledger")
    c.prompt("A", "CREATE DATABASE hist")
    c.prompt("A", "CREATE TABLE t (id INT PRIMARY KEY)", db="hist")
    c.prompt("B", "REPLICATE DATABASE hist FROM root@127.0.0.1:3306")
    c.prompt("B", "PAUSE REPLICATING hist")
    c.prompt("A", "INSERT INTO t VALUES (1), (2)", db="hist")
    c.prompt("A", "INSERT INTO t VALUES (3)", db="hist")
    c.prompt("C", "REPLICATE DATABASE hist FROM root@127.0.0.1:3306")
    c.prompt("C", "STOP REPLICATING hist")
    c.prompt("B", "REPLICATE DATABASE hist WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3308")
    c.prompt("B", "SHOW DATABASES EXTENDED")
    c.prompt("B", f"REPLICATE DATABASE hist WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:{nobody}")

    c.block("failback-flush-read-only")
    s1, s2, s3 = (Session(c, "B", f"B session {i}") for i in (1, 2, 3))
    ids = iter(("1001", "1002", "1003"))

    def named(s: Session) -> str:
        real = s.run("SELECT CONNECTION_ID()", show=False).split("|")[-2].strip()
        c.subs.append((real, next(ids)))
        return real

    named(s1), named(s2)
    s1.run("SELECT CONNECTION_ID()")
    s2.run("BEGIN")
    s2.run("INSERT INTO ledger.accounts VALUES (4, 'eve', 5)")
    s1.send("FLUSH TABLES WITH READ ONLY")
    waiting = "SELECT ID, COMMAND, STATE, INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE 'FLUSH%'"
    wait_for(lambda: "waiting" in s3.run(waiting, show=False), 20, what="FLUSH waits for the transaction")
    s3.run(waiting)
    s2.run("COMMIT")
    s1.answer()
    s2.run("INSERT INTO ledger.accounts VALUES (5, 'fay', 5)")
    s2.run("SELECT COUNT(*) FROM ledger.accounts")
    s2.run("UNLOCK TABLES")
    s2.run("DROP TABLE ledger.accounts")
    first = s1.run("SELECT CONNECTION_ID()", show=False).split("|")[-2].strip()
    s1.close()
    c.say("$ # session 1 disconnects")
    wait_for(lambda: first not in s3.run("SELECT ID FROM information_schema.PROCESSLIST", show=False), 20,
             what="session 1 gone")
    s2.run("INSERT INTO ledger.accounts VALUES (5, 'fay', 5)")

    c.block("failback-flush-read-lock")
    s1 = Session(c, "B", "B session 1")
    s1.run("FLUSH TABLES ON ledger WITH READ LOCK")
    s2.send("UPDATE ledger.accounts SET balance = balance + 1 WHERE id = 5")
    queued = "SELECT ID, STATE, INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE%'"
    wait_for(lambda: "waiting" in s3.run(queued, show=False), 20, what="the UPDATE waits")
    s3.run(queued)
    s1.run("UNLOCK TABLES")
    s2.answer()

    c.block("failback-flush-kill")
    s1.run("FLUSH TABLES WITH READ ONLY")
    named(s1)
    s1.run("SELECT CONNECTION_ID()")
    s2.run("KILL 1003")
    wait_for(lambda: "1003" not in c.shown(s3.run("SELECT ID FROM information_schema.PROCESSLIST", show=False)), 20,
             what="session 1 killed")
    s2.run("INSERT INTO ledger.accounts VALUES (6, 'gus', 5)")
    for s in (s1, s2, s3):
        s.close()

    c.block("failback-flush-apply")
    c.prompt("A", "REPLICATE DATABASE hist WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3308")
    a1 = Session(c, "A", "A session 1")
    a1.run("FLUSH TABLES WITH READ ONLY")
    c.prompt("C", "INSERT INTO t VALUES (10)", db="hist")
    port = c.nodes["A"].shown_port
    wait_for(lambda: "10" in c.sh(f'mariadb -h127.0.0.1 -P{port} -uroot -N -e "SELECT id FROM hist.t"', show=False)
             .split(), 20, what="A applied C's insert")
    c.prompt("A", "SELECT * FROM t", db="hist")
    a1.run("UNLOCK TABLES")
    a1.close()


@session("failback-not-a-primary", deterministic=False)
def failback_not_a_primary(c: Capture) -> None:
    """docs/failback.md: a differential REPLICATE from a replica is refused."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.block("failback-not-a-primary")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))", db="shop")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    c.prompt("A", "REPLICATE DATABASE shop WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3307")


@session("failback-ddl-revert", deterministic=False)
def failback_ddl_revert(c: Capture) -> None:
    """docs/failback.md: DDL after a promotion is undone by a rebuild from a checkpoint."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    c.block("_setup")
    c.prompt("A", "CREATE DATABASE shop")
    c.prompt("A", "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))", db="shop")
    c.prompt("B", "REPLICATE DATABASE shop FROM root@127.0.0.1:3306")
    c.block("failback-ddl-revert")
    c.prompt("B", "STOP REPLICATING shop")
    c.prompt("B", "ALTER TABLE items ADD COLUMN price INT", db="shop")
    c.prompt("B", "INSERT INTO items VALUES (2, 'mug', 4)", db="shop")
    c.prompt("A", "INSERT INTO items VALUES (1, 'kettle')", db="shop")
    c.prompts("B", ["REPLICATE DATABASE shop WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3306", "SHOW WARNINGS"])
    c.prompt("B", "SHOW COLUMNS FROM items", db="shop")
    c.prompt("B", "SELECT * FROM items", db="shop")
    c.prompt("B", "SELECT LSN, OPERATION, TABLE_NAME, LEFT(ROW_AFTER, 60) AS ROW_AFTER FROM "
                  "information_schema.DRLAB_REVERTED_TRANSACTIONS")
    c.blocks.pop("_setup")


def _wait_hardened(c: Capture, label: str, db: str, position: str) -> None:
    port = c.nodes[label].shown_port

    def hardened() -> bool:
        out = c.sh(f"mariadb -h127.0.0.1 -P{port} -uroot -e 'SHOW REPLICATION STATUS\\G'", show=False)
        rows = out.split("*************************** ")
        return any(f"Database: {db}\n" in r and f"Replica_HardenedLSN: {position}" in r for r in rows)

    wait_for(hardened, 20, what=f"{db} hardened at {position} on {label}")


@session("replication-provisioning", deterministic=False)
def replication_provisioning(c: Capture) -> None:
    """The Details column while a REPLICATE copies a 200,000-row database: a second session polls."""
    c.node("A", 3306, "a")
    c.node("B", 3307, "b")
    _big_database(c, "A", "big", 200_000)
    c.block("replication-provisioning")
    seen: list[str] = []
    port = c.nodes["B"].port
    repl = subprocess.Popen(["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "-vvv", "-e",
                             "REPLICATE DATABASE big FROM root@127.0.0.1:" + str(c.nodes["A"].port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=c.env())
    details: list[str] = []
    while repl.poll() is None:
        r = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "-N", "-B", "-e",
                            "SELECT 1 FROM (SELECT 1) x WHERE 0; SHOW DATABASES EXTENDED LIKE 'big'"],
                           capture_output=True, text=True, env=c.env())
        fields = r.stdout.strip().split("\t")
        if len(fields) > 5 and fields[5] not in details:
            details.append(fields[5])
            seen.append(_client_text(subprocess.run(
                ["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "-t", "-e", "SHOW DATABASES EXTENDED LIKE 'big'"],
                capture_output=True, text=True, env=c.env()).stdout, ""))
        time.sleep(0.01)
    out = _client_text(repl.stdout.read() if repl.stdout else "", "")
    c.say(f"B> REPLICATE DATABASE big FROM root@127.0.0.1:3306;\n{_query_ok(out)}\n")
    c.say("B> SHOW DATABASES EXTENDED LIKE 'big';    -- polled from a second session, while REPLICATE runs\n"
          + "\n\n".join(seen) + "\n")


def _query_ok(out: str) -> str:
    return "\n".join(line for line in out.splitlines() if line.startswith(("Query OK", "ERROR")))


def _big_database(c: Capture, label: str, db: str, rows: int) -> None:
    """A table of ``rows`` sysbench-shaped rows, written in a few large transactions."""
    import pymysql

    n = c.nodes[label]
    with pymysql.connect(host="127.0.0.1", port=n.port, user="root", autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.sbtest1 (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, "
                    "pad CHAR(60) NOT NULL)")
        step = rows // 4
        for start in range(0, rows, step):
            values = ",".join(f"({i}, {i * 7 % 1000}, '{f'{i:011d}-' * 10}', '{f'{i:011d}-' * 5}')"
                              for i in range(start, start + step))
            cur.execute(f"INSERT INTO {db}.sbtest1 VALUES {values}")


@session("pipelines", deterministic=False)  # how many batches fail before the fix depends on timing
def pipelines(c: Capture) -> None:
    c.subs.append((str(c.tmp / "files"), "/tmp/plt/files"))
    files = c.tmp / "files" / "orders"
    files.mkdir(parents=True)
    (files / "2024-01.csv").write_text("1,widget,3\n2,gadget,5\n")
    (files / "2024-02.csv").write_text("3,gizmo,1\n")
    c.node("P", 3306, "data", "--secure-file-priv", str(c.tmp / "files"))
    c.block("pipelines-session")
    c.prompt("P", "CREATE DATABASE demo", who="mariadb")
    c.prompt("P", "CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(20), qty INT)", db="demo", who="mariadb")
    c.prompt("P", "CREATE PIPELINE orders_p AS LOAD DATA FS '/tmp/plt/files/orders/*.csv' BATCH_INTERVAL 200 "
                  "INTO TABLE orders FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n'", db="demo", who="mariadb")
    c.prompt("P", "SHOW PIPELINES", db="demo", who="mariadb")
    c.prompt("P", "SELECT FILE_NAME, FILE_SIZE, FILE_STATE FROM information_schema.PIPELINES_FILES", db="demo",
             who="mariadb")
    c.prompt("P", "START PIPELINE orders_p", db="demo", who="mariadb")
    _wait_rows(c, "P", "SELECT COUNT(*) FROM demo.orders", "3")
    c.prompt("P", "SELECT * FROM orders ORDER BY id", db="demo", who="mariadb")
    c.prompt("P", "SHOW PIPELINES", db="demo", who="mariadb")
    c.prompt("P", "START PIPELINE orders_p", db="demo", who="mariadb")
    c.say("$ printf '4,doohickey,2\\n5,thingamajig\\n' > 2024-03.csv   # a row with a missing field\n")
    (files / "2024-03.csv").write_text("4,doohickey,2\n5,thingamajig\n")
    _wait_rows(c, "P", "SELECT STATE FROM information_schema.PIPELINES", "Error")
    c.prompt("P", "SELECT PIPELINE_NAME, STATE FROM information_schema.PIPELINES", db="demo", who="mariadb")
    c.prompt("P", "SELECT BATCH_ID, BATCH_STATE, ROWS_STREAMED, ROWS_INSERTED FROM "
                  "information_schema.PIPELINES_BATCHES_SUMMARY", db="demo", who="mariadb")
    c.prompt("P", "SELECT ERROR_CODE, ERROR_MESSAGE, LOAD_DATA_LINE_NUMBER, BATCH_SOURCE_PARTITION_ID FROM "
                  "information_schema.PIPELINES_ERRORS", db="demo", who="mariadb")
    c.say("$ printf '4,doohickey,2\\n5,thingamajig,7\\n' > 2024-03.csv   # fixed\n")
    (files / "2024-03.csv").write_text("4,doohickey,2\n5,thingamajig,7\n")
    c.prompt("P", "START PIPELINE orders_p", db="demo", who="mariadb")
    _wait_rows(c, "P", "SELECT COUNT(*) FROM demo.orders", "5")
    c.prompt("P", "SELECT FILE_NAME, FILE_STATE FROM information_schema.PIPELINES_FILES", db="demo", who="mariadb")
    c.prompt("P", "STOP PIPELINE orders_p", db="demo", who="mariadb")
    c.prompt("P", "STOP PIPELINE orders_p", db="demo", who="mariadb")
    c.prompt("P", "DELETE FROM orders WHERE id = 3", db="demo", who="mariadb")
    c.prompt("P", "ALTER PIPELINE orders_p DROP FILE '/tmp/plt/files/orders/2024-02.csv'", db="demo", who="mariadb")
    c.prompt("P", "START PIPELINE orders_p FOREGROUND", db="demo", who="mariadb")
    c.prompt("P", "SELECT COUNT(*) FROM orders", db="demo", who="mariadb")
    c.prompt("P", "SHOW CREATE PIPELINE orders_p", db="demo", who="mariadb")
    c.prompt("P", "CREATE PIPELINE sneaky AS LOAD DATA FS '/etc/passwd' INTO TABLE orders FIELDS TERMINATED BY ':'",
             db="demo", who="mariadb")


def _wait_rows(c: Capture, label: str, sql: str, want: str) -> None:
    port = c.nodes[label].shown_port
    wait_for(lambda: want in c.sh(f'mariadb -h127.0.0.1 -P{port} -uroot -N -e "{sql}"', show=False), 20,
             what=f"{sql} -> {want}")


def _lab(c: Capture) -> str:
    """A lab directory for `drlab lab` in the capture's directory, on a loopback range as long as
    127.0.0.2 (so status columns stay aligned), shown as 127.0.0.2 and /tmp/labdoc/.lab."""
    import random

    first = f"127.0.{random.randint(1, 9)}.2"
    prefix = first.rsplit(".", 1)[0]
    c.subs += [(f"{prefix}.2", "127.0.0.2"), (f"{prefix}.3", "127.0.0.3"), (str(c.tmp / ".lab"), "/tmp/labdoc/.lab")]
    shutil.copy(ROOT / "docker-compose.yml", c.tmp / "docker-compose.yml")
    (c.tmp / "examples").symlink_to(ROOT / "examples")
    return first


@session("readme-runbook", deterministic=False)
def readme_runbook(c: Capture) -> None:
    """The lab and a runbook: `drlab lab up`, a link that breaks, the unplanned failover runbook."""
    first = _lab(c)
    c.block("readme-lab")
    try:
        c.sh("drlab lab up", run=f"drlab lab up --first-address {first}")
        c.sh("drlab lab status")
        c.block("readme-lab-broken")
        c.sh("drlab lab kill cluster-a-ma")
        c.sh("drlab lab status")
        c.sh("drlab lab start cluster-a-ma", show=False)
        c.block("readme-runbook")
        c.sh("drlab runbook examples/runbooks/unplanned_failover.yml")
    finally:
        c.sh("drlab lab down", show=False, check=False)


@session("lab", deterministic=False)
def lab_session(c: Capture) -> None:
    """docs/lab.md: the lab's commands, the password trap, two runbooks."""
    first = _lab(c)
    try:
        c.block("lab-session")
        c.sh("drlab lab up", run=f"drlab lab up --first-address {first}")
        c.say("")
        c.sh("drlab lab status")
        c.say("")
        c.sh("drlab sql --host-map .lab/hosts.json -p \"$(cat .lab/password)\" cluster-a-ma:3306 "
             "\"INSERT INTO ExampleDB1.orders (item, qty) VALUES ('bolt', 9)\"")
        c.say("")
        c.sh("drlab lab pause cluster-b-ma")
        c.sh("drlab lab status")
        c.say("")
        c.sh("drlab lab resume cluster-b-ma")
        c.sh("drlab lab kill cluster-a-ma")
        c.sh("drlab lab status")
        c.say("")
        c.sh("drlab lab start cluster-a-ma")
        c.sh("drlab ping 127.0.0.2:3306 -p \"$(cat .lab/password)\"")
        c.sh("curl -s 127.0.0.3:9104/health; echo")
        c.sh("curl -s 127.0.0.3:9104/metrics | grep ExampleDB1")
        c.sh("drlab lab down")
        c.block("lab-password")
        c.sh("export DRLAB_ROOT_PASSWORD='chosen-later'    # the lab above was created without it", show=False)
        c.sh("DRLAB_ROOT_PASSWORD='chosen-later' drlab lab up; echo \"exit $?\"",
             run=f"DRLAB_ROOT_PASSWORD='chosen-later' drlab lab up --first-address {first}; echo \"exit $?\"")
        c.block("lab-runbook-seed000")
        c.sh("drlab runbook examples/runbooks/seed000_failback.yml 2>/dev/null")
        c.block("lab-runbook-unplanned")
        c.sh("drlab runbook examples/runbooks/unplanned_failover.yml 2>/dev/null")
    finally:
        c.sh("drlab lab down", show=False, check=False)


@session("failback", deterministic=False)
def failback(c: Capture) -> None:
    """docs/failback.md: the seed's 11-step failback against two nodes, with pipelines and App1."""
    import pymysql

    files = c.tmp / "files"
    c.subs.append((str(files), "/tmp/fbdoc/files"))
    dbs = ("ExampleDB1", "ExampleDB2")

    def csv(number: int) -> None:
        for db in dbs:
            (files / db).mkdir(parents=True, exist_ok=True)
            rows = "".join(f"{i},{db}-{number:03d}.csv-{i}\n" for i in range(3 * (number - 1), 3 * number))
            (files / db / f"{number:03d}.csv").write_text(rows)

    def count(label: str, sql: str) -> str:
        port = c.nodes[label].shown_port
        return c.sh(f'mariadb -h127.0.0.1 -P{port} -uroot -N -e "{sql}"', show=False).strip()

    def pos(label: str, db: str) -> str:
        out = count(label, f"SHOW DATABASES EXTENDED LIKE '{db}'")
        return out.split("\t")[4] if out.count("\t") > 4 else ""

    csv(1)
    shown_a = "drlab node --data /tmp/fbdoc/A --port 3306 --secure-file-priv /tmp/fbdoc/files"
    shown_b = "drlab node --data /tmp/fbdoc/B --port 3307 --secure-file-priv /tmp/fbdoc/files"
    c.node("A", 3306, "A", "--secure-file-priv", str(files), shown_data="/tmp/fbdoc/A")
    c.node("B", 3307, "B", "--secure-file-priv", str(files), shown_data="/tmp/fbdoc/B")
    c.block("failback-nodes")
    c.say(f"A: {shown_a}\nB: {shown_b}")

    c.block("failback-before")
    for i, db in enumerate(dbs, 1):
        quiet = i == 2  # "the same five statements ran for ExampleDB2 (omitted here)"
        target = c.blocks.setdefault("_omitted", []) if quiet else c.current
        saved, c.current = c.current, target
        c.prompt("A", f"CREATE DATABASE {db}")
        c.prompt("A", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(20), placed DATETIME)", db=db)
        c.prompt("A", "CREATE TABLE events (id INT, what VARCHAR(40))", db=db)
        c.prompt("A", f"CREATE PIPELINE ExamplePipeline{i} AS LOAD DATA FS '/tmp/fbdoc/files/{db}/*.csv' "
                      "BATCH_INTERVAL 200 INTO TABLE events FIELDS TERMINATED BY ','", db=db)
        c.prompt("A", f"START PIPELINE ExamplePipeline{i}", db=db)
        c.current = saved
    for db in dbs:
        wait_for(lambda db=db: count("A", f"SELECT COUNT(*) FROM {db}.events") == "3", 20, what="001.csv loaded")
    for db in dbs:
        c.prompt("B", f"REPLICATE DATABASE {db} FROM root@127.0.0.1:3306")
    c.prompt("A", "INSERT INTO ExampleDB1.orders (item, placed) VALUES ('apple', NOW())", who="App1 -> A")
    c.prompt("A", "INSERT INTO ExampleDB2.orders (item, placed) VALUES ('pear', NOW())", who="App1 -> A")
    for db in dbs:
        wait_for(lambda db=db: pos("B", db) == pos("A", db), 20, what=f"B has {db}")
    c.prompt("B", "SHOW DATABASES EXTENDED")

    c.block("failback-kill")
    c.stop("A", signal.SIGKILL)
    c.say("$ kill -9 <pid of A>")
    c.prompt("A", "INSERT INTO ExampleDB1.orders (item, placed) VALUES ('banana', NOW())", who="App1 -> A")

    c.block("failback-step1")
    for db in dbs:
        c.prompt("B", f"STOP REPLICATING {db}")
    c.prompt("B", "SHOW DATABASES EXTENDED")
    for db in dbs:
        c.prompt("B", "SHOW PIPELINES", db=db)

    c.block("failback-step2")
    csv(2)
    for db in dbs:
        c.prompt("B", f"INSERT INTO {db}.orders (item, placed) VALUES ('cherry', NOW())", who="App1 -> B")
    for db in dbs:
        wait_for(lambda db=db: count("B", f"SELECT COUNT(*) FROM {db}.events") == "6", 20, what="002.csv on B")
    c.prompt("B", "SELECT FILE_NAME, FILE_STATE FROM information_schema.PIPELINES_FILES WHERE DATABASE_NAME = "
                  "'ExampleDB1'")

    c.block("failback-step3")
    c.node("A", 3306, "A", "--secure-file-priv", str(files), shown_data="/tmp/fbdoc/A")
    c.say(f"$ {shown_a} &   # cluster A is back")
    for db in dbs:
        wait_for(lambda db=db: count("A", f"SELECT COUNT(*) FROM {db}.events") == "6", 20, what="002.csv on A")
    c.prompt("A", "SHOW DATABASES EXTENDED")
    c.prompt("A", "SELECT id, what FROM events ORDER BY id", db="ExampleDB1")

    c.block("failback-step4")
    for db in dbs:
        c.prompt("B", f"INSERT INTO {db}.orders (item, placed) VALUES ('damson', NOW())", who="App1 -> B")
    for db in dbs:
        c.prompts("A", [f"REPLICATE DATABASE {db} WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3307", "SHOW WARNINGS"])
    c.prompt("A", "SELECT LSN, EPOCH, TABLE_NAME, OPERATION, LEFT(ROW_AFTER, 64) AS ROW_AFTER FROM "
                  "information_schema.DRLAB_REVERTED_TRANSACTIONS WHERE DATABASE_NAME = 'ExampleDB1'")
    c.prompt("A", "SELECT COUNT(*), COUNT(DISTINCT id) FROM events", db="ExampleDB1")
    c.prompt("A", "SHOW DATABASES EXTENDED")

    c.block("failback-step5")
    c.prompt("B", "INSERT INTO ExampleDB1.orders (item, placed) VALUES ('elderberry', NOW())", who="App1 -> B")
    wait_for(lambda: pos("A", "ExampleDB1") == pos("B", "ExampleDB1"), 20, what="elderberry on A")
    c.prompt("A", "INSERT INTO ExampleDB1.orders (item, placed) VALUES ('nope', NOW())")
    c.prompt("A", "SELECT database_name, primary_uri, primary_state, secondary_state, lsn_lag, lag_seconds FROM "
                  "information_schema.LMV_REPLICATION_STATUS")

    c.block("failback-step7")
    for i, db in enumerate(dbs, 1):
        c.prompt("B", f"STOP PIPELINE ExamplePipeline{i}", db=db)
    operator = pymysql.connect(host="127.0.0.1", port=c.nodes["B"].port, user="root", autocommit=True)
    with operator.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        c.subs.append((str(cur.fetchone()[0]), "1001"))  # the operator's connection, named in the 1290
        n = cur.execute("FLUSH TABLES WITH READ ONLY")
    c.say(f"B (operator)> FLUSH TABLES WITH READ ONLY;\nQuery OK, {n} rows affected\n")
    csv(3)
    c.prompt("B", "INSERT INTO ExampleDB1.orders (item, placed) VALUES ('fig', NOW())", who="App1 -> B")
    c.prompt("B", "SELECT COUNT(*) FROM ExampleDB1.orders", who="App1 -> B")

    c.block("failback-step8")
    for db in dbs:
        wait_for(lambda db=db: pos("A", db) == pos("B", db), 20, what=f"A caught up on {db}")
    c.prompt("A", "SELECT database_name, lsn_lag, lag_seconds FROM information_schema.LMV_REPLICATION_STATUS")
    c.prompt("A", "SHOW DATABASES EXTENDED")
    c.prompt("B", "SHOW DATABASES EXTENDED")
    for db in dbs:
        c.prompt("A", f"STOP REPLICATING {db}")
    c.prompt("A", "SHOW DATABASES EXTENDED")

    c.block("failback-step9")
    for i, db in enumerate(dbs, 1):
        c.prompt("A", "SHOW PIPELINES", db=db)
        c.prompt("A", f"START PIPELINE ExamplePipeline{i}", db=db)
    for db in dbs:
        c.prompt("A", f"INSERT INTO {db}.orders (item, placed) VALUES ('grape', NOW())", who="App1 -> A")
    for db in dbs:
        wait_for(lambda db=db: count("A", f"SELECT COUNT(*) FROM {db}.events") == "9", 20, what="003.csv on A")
    c.prompt("A", "SELECT FILE_NAME, FILE_STATE FROM information_schema.PIPELINES_FILES WHERE DATABASE_NAME = "
                  "'ExampleDB1'")

    c.block("failback-step10")
    with operator.cursor() as cur:
        n = cur.execute("UNLOCK TABLES")
    operator.close()
    c.say(f"B (operator)> UNLOCK TABLES;\nQuery OK, {n} rows affected\n")

    c.block("failback-step11")
    for db in dbs:
        c.prompts("B", [f"REPLICATE DATABASE {db} WITH FORCE DIFFERENTIAL FROM root@127.0.0.1:3306", "SHOW WARNINGS"])
    c.prompt("A", "INSERT INTO ExampleDB1.orders (item, placed) VALUES ('honeydew', NOW())", who="App1 -> A")
    for db in dbs:
        wait_for(lambda db=db: pos("B", db) == pos("A", db), 20, what=f"B caught up on {db}")
    c.prompt("B", "SHOW DATABASES EXTENDED")
    c.prompt("B", "INSERT INTO ExampleDB1.orders (item, placed) VALUES ('nope', NOW())")
    c.prompt("A", "CHECKSUM TABLE orders, events", db="ExampleDB1")
    c.prompt("B", "CHECKSUM TABLE orders, events", db="ExampleDB1")
    c.prompt("A", "SELECT id, item FROM orders ORDER BY id", db="ExampleDB1")
    c.prompt("B", "SELECT COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS")
    c.blocks.pop("_omitted", None)


# -- rewriting -------------------------------------------------------------------------------------
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def normalise(text: str) -> str:
    """What may differ between two runs of an unchanged drlab: timings, timestamps, pids, generated
    tokens."""
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?", "<time>", text)
    text = re.sub(r"\b\d+\.\d+s\b", "<secs>", text)
    text = re.sub(r"\b\d+\.\d{2,}\b", "<measured>", text)  # seconds in views (Last_Contact_Seconds, ...)
    # SHOW REPLICATION STATUS's last column, Last_Contact_Seconds, even when it prints as 0.5
    text = re.sub(r"(?m)^(\| (?:async replica|master) .*\| +)[\d.]+( \|)$", r"\1<measured>\2", text)
    # and LMV_REPLICATION_STATUS's (rows begin with is_dr 1, is_sync 0), and the gauge of the same
    text = re.sub(r"(?m)^(\| +1 \| +0 \| .*\| +)[\d.]+( \|)$", r"\1<measured>\2", text)
    # CHECKSUM TABLE of rows holding NOW() / UUID(): the docs show both sides' real sums, --check the shape
    text = re.sub(r"(?m)^(\| \w+\.\w+ +\| +)\d{6,}( \|)$", r"\1<checksum>\2", text)
    text = re.sub(r"(?m)^(drlab_replication_last_contact_seconds\{.*\}) [\d.]+$", r"\1 <measured>", text)
    text = re.sub(r"\(\d+\.\d+ sec\)", "", text)
    text = re.sub(r"pid \d+", "pid <pid>", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    text = re.sub(r"(?m)^([+-]+)$", lambda m: "+" if "+" in m.group(1) else m.group(1), text)  # table rules
    return re.sub(r"[ \t]+", " ", text)


def render(lines: list[str]) -> str:
    return "```console\n" + "\n".join(lines).strip("\n") + "\n```\n"


@contextmanager
def capture_dir() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="drlab-capture-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(names: list[str]) -> dict[str, str]:
    """Run the sessions; block name -> the fenced block it produced."""
    blocks: dict[str, str] = {}
    for name in names:
        with capture_dir() as tmp:
            c = Capture(tmp, ".")
            try:
                SESSIONS[name](c)
            finally:
                c.close()
            for block, lines in c.blocks.items():
                blocks[block] = render(lines)
    return blocks


def rewrite(blocks: dict[str, str], check: bool) -> list[str]:
    """Put the blocks into the docs (or compare); the problems found."""
    problems, found = [], set()
    for path in DOCS:
        text = path.read_text()

        def replace(m: re.Match[str], path: Path = path) -> str:
            name = m.group("name")
            if name not in blocks:
                return m.group(0)
            found.add(name)
            if check and normalise(m.group("body")) != normalise(blocks[name]):
                diff = difflib.unified_diff(m.group("body").splitlines(), blocks[name].splitlines(),
                                            f"{path.name} (documented)", f"{name} (captured now)", lineterm="")
                problems.append(f"{path.relative_to(ROOT)}: block {name} drifted:\n" + "\n".join(diff))
            return m.group(1) + blocks[name] + m.group(4)

        new = MARKER.sub(replace, text)
        if not check and new != text:
            path.write_text(new)
    problems += [f"no `<!-- capture: {b} -->` block in README.md or docs/*.md" for b in blocks if b not in found]
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sessions", nargs="*", help=f"sessions to run (default all: {', '.join(SESSIONS)})")
    p.add_argument("--check", action="store_true", help="compare with the docs instead of writing them")
    args = p.parse_args(argv)
    unknown = [s for s in args.sessions if s not in SESSIONS]
    if unknown:
        p.error(f"unknown session {', '.join(unknown)}; sessions: {', '.join(SESSIONS)}")
    problems = rewrite(run(args.sessions or list(SESSIONS)), args.check)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
