"""sysbench against a fresh drlab node, and against MariaDB/MySQL when a server binary is installed.

Every server gets a temporary data directory and a free loopback port, and is stopped by pid at the end.
Run through `bench/run` (or `make bench`)."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import NodeProcess, free_port  # noqa: E402

PW = "bench-Pw1"
WORKLOADS = ["oltp_point_select", "oltp_read_write", "oltp_insert"]
MODES = ["auto", "disable"]


def wait_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server not listening on {port} after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


class Server:
    name = ""
    port = 0
    user = "root"
    password = PW
    proc: subprocess.Popen | None = None

    def sql(self, query: str) -> None:
        client = shutil.which("mariadb") or shutil.which("mysql")
        if client is None:
            import pymysql  # the venv has it

            with pymysql.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                 autocommit=True) as c, c.cursor() as cur:
                cur.execute(query)
            return
        pw = [f"-p{self.password}"] if self.password else []
        subprocess.run([client, "-h127.0.0.1", f"-P{self.port}", f"-u{self.user}", *pw, "-e", query],
                       check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def rss_mb(self) -> float:
        """The server process's resident memory now (VmRSS), in MB; 0 when it cannot be read."""
        try:
            status = Path(f"/proc/{self.pid()}/status").read_text()
        except OSError:
            return 0.0
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        return int(m.group(1)) / 1024 if m else 0.0


class Drlab(Server):
    name = "drlab"

    def __init__(self, tmp: Path) -> None:
        self.node = NodeProcess(tmp / "drlab-data", name="bench", password=PW).start(timeout=30)
        self.port, self.log = self.node.port, self.node.log

    def stop(self) -> None:
        self.node.stop(timeout=30)

    def pid(self) -> int | None:
        return self.node.proc.pid if self.node.proc is not None else None


class Mysqld(Server):
    """A throwaway MariaDB (or MySQL) server: durable settings like a production default, binlog on."""

    def __init__(self, tmp: Path, binary: str) -> None:
        self.name = Path(binary).name
        self.port = free_port()
        data, sock = tmp / "mysqld-data", tmp / "mysqld.sock"
        data.mkdir()
        user = getpass.getuser()
        is_mysql = self.name == "mysqld" and "MariaDB" not in subprocess.run(
            [binary, "--version"], capture_output=True, text=True).stdout
        if is_mysql:
            subprocess.run([binary, "--no-defaults", "--initialize-insecure", f"--datadir={data}", f"--user={user}"],
                           check=True, capture_output=True, timeout=300)
        else:
            install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
            if install is None:
                raise RuntimeError("mariadb-install-db not found")
            subprocess.run([install, "--no-defaults", f"--datadir={data}", f"--user={user}",
                            "--auth-root-authentication-method=normal", "--skip-test-db"],
                           check=True, capture_output=True, timeout=300)
        self.log = tmp / "mysqld.log"
        cmd = [binary, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={self.port}",
               "--bind-address=127.0.0.1", f"--user={user}", "--skip-grant-tables", "--log-bin=binlog",
               "--server-id=1", "--sync-binlog=1", "--innodb-flush-log-at-trx-commit=1", "--max-connections=200",
               f"--log-error={self.log}", f"--pid-file={tmp / 'mysqld.pid'}"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.password = ""  # --skip-grant-tables: any credentials
        wait_port(self.port, self.proc, 120)


def find_mysqld() -> str | None:
    for name in ("mariadbd", "mysqld"):
        found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/libexec/{name}")
                                            if os.access(p, os.X_OK)), None)
        if found:
            return found
    return None


def sysbench(srv: Server, workload: str, mode: str, command: str, args: argparse.Namespace) -> str:
    cmd = ["sysbench", workload, "--db-driver=mysql", "--mysql-host=127.0.0.1", f"--mysql-port={srv.port}",
           f"--mysql-user={srv.user}", f"--mysql-password={srv.password}", "--mysql-db=sbtest", "--tables=1",
           f"--table-size={args.table_size}", f"--threads={args.threads}", f"--time={args.time}",
           f"--db-ps-mode={mode}", "--report-interval=0", command]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.time + 600)
    if r.returncode != 0 or "FATAL" in r.stdout + r.stderr:
        raise RuntimeError(f"{srv.name}: sysbench {workload} {command} failed:\n{(r.stdout + r.stderr)[-2000:]}")
    return r.stdout


Figures = tuple[float, float, int, float]


def measure(srv: Server, args: argparse.Namespace) -> dict[tuple[str, str], Figures]:
    """(workload, mode) -> (transactions/s, queries/s, errors, server RSS in MB right after the run)."""
    out: dict[tuple[str, str], Figures] = {}
    for mode in args.modes:
        for workload in args.workloads:
            srv.sql("DROP DATABASE IF EXISTS sbtest")
            srv.sql("CREATE DATABASE sbtest")
            sysbench(srv, workload, mode, "prepare", args)
            text = sysbench(srv, workload, mode, "run", args)
            tps = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", text)
            qps = re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", text)
            errs = re.search(r"errors:\s+(\d+)", text)
            if not (tps and qps and errs):
                raise RuntimeError(f"unexpected sysbench output:\n{text}")
            rss = srv.rss_mb()
            out[(workload, mode)] = (float(tps.group(1)), float(qps.group(1)), int(errs.group(1)), rss)
            print(f"  {srv.name:8} {workload:18} ps={mode:7} {float(tps.group(1)):10.1f} tx/s "
                  f"{float(qps.group(1)):10.1f} q/s  errors={errs.group(1)}  rss={rss:.0f} MB", flush=True)
            sysbench(srv, workload, mode, "cleanup", args)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--time", type=int, default=10)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--table-size", type=int, default=10000)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--no-mysql", action="store_true", help="skip the MariaDB/MySQL comparison")
    args = p.parse_args()
    args.workloads = args.workloads.split(",")
    args.modes = args.modes.split(",")
    if shutil.which("sysbench") is None:
        print("bench: sysbench is not installed", file=sys.stderr)
        return 2
    print(f"sysbench: {args.threads} threads, {args.table_size} rows, {args.time} s per run", flush=True)
    results: dict[str, dict[tuple[str, str], Figures]] = {}
    with tempfile.TemporaryDirectory(prefix="drlab-bench-") as tmpdir:
        tmp = Path(tmpdir)
        srv: Server = Drlab(tmp)
        try:
            results["drlab"] = measure(srv, args)
        finally:
            srv.stop()
        binary = None if args.no_mysql else find_mysqld()
        if binary:
            try:
                srv = Mysqld(tmp, binary)
            except Exception as e:  # noqa: BLE001 - the comparison is optional
                print(f"bench: could not start {binary}: {e}", file=sys.stderr)
            else:
                try:
                    results[srv.name] = measure(srv, args)
                finally:
                    srv.stop()
        else:
            print("bench: no mariadbd/mysqld binary found: drlab figures only", flush=True)

    names = list(results)
    head = f"| workload | ps-mode | {' | '.join(f'{n} tx/s | {n} q/s | {n} RSS MB' for n in names)} |"
    if len(names) > 1:
        head += " drlab/" + names[1] + " (q/s) |"
    print()
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for mode in args.modes:
        for workload in args.workloads:
            cells = []
            for n in names:
                tps, qps, _, rss = results[n][(workload, mode)]
                cells += [f"{tps:.1f}", f"{qps:.1f}", f"{rss:.0f}"]
            row = f"| {workload} | {mode} | {' | '.join(cells)} |"
            if len(names) > 1:
                other = results[names[1]][(workload, mode)][1]
                row += f" {results['drlab'][(workload, mode)][1] / other:.3f} |" if other else " - |"
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
