"""PCR benchmark (seed 001): failover to LATEST after a long history, failover to a point
--back transactions in the past, and failback net-new against a full copy.

On fresh `drlab node` processes (free loopback ports, temporary data directories, stopped by pid at
the end, also on failure):

1. A hosts virtual cluster main with databases app and app2; B and C stream main from A.
2. History: --history single-row transactions on A (alternating between app and app2), then the
   time T is noted and --back more transactions are written. "An hour-equivalent": the default
   20,000 transactions are an hour of a workload committing about 5.5 transactions a second.
3. B: COMPLETE REPLICATION TO LATEST. Timed: the statement, until data_state is ready, and until
   the first write into main after START SERVICE SHARED is acknowledged.
4. C: COMPLETE REPLICATION TO SYSTEM TIME T: every transaction after T (--back of them, across both
   databases) is reverted. Timed until ready.
5. Failback: B writes --net-new transactions; A stops service and runs START REPLICATION OF main ON
   B (through a loopback proxy counting the bytes B sends): net-new changes only. Against it, a
   fresh node D makes a full copy (CREATE VIRTUAL CLUSTER ... FROM REPLICATION OF main ON B, same
   proxy). Both timed until the statement returns.

Run: `.venv/bin/python bench/pcr.py [--history 20000 --back 10000 --net-new 1000]`.
Progress goes to stderr; the figures are printed as a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import LoopbackProxy, NodeProcess, wait_for  # noqa: E402

DBS = ("app", "app2")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def uri(port: int) -> str:
    return f"postgresql://root@127.0.0.1:{port}/defaultdb?options=-ccluster%3Dsystem"


def state(n: NodeProcess) -> str:
    return {r[1]: r[2] for r in n.sql("SHOW VIRTUAL CLUSTERS")}.get("main", "")


def replicated(n: NodeProcess) -> str:
    with n.connect() as c, c.cursor() as cur:
        cur.execute("SHOW VIRTUAL CLUSTER main WITH REPLICATION STATUS")
        return str(cur.fetchone()[5] or "")


def write(n: NodeProcess, count: int, start: int) -> None:
    with n.connect(database="cluster:main") as c, c.cursor() as cur:
        for i in range(start, start + count):
            cur.execute(f"INSERT INTO {DBS[i % 2]}.t VALUES (%s, 'x')", (i,))


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def until_ready(n: NodeProcess) -> float:
    return timed(lambda: wait_for(lambda: state(n) == "ready", timeout=3600, interval=0.01, what="ready"))


def through_proxy(target: NodeProcess, run: Callable[[int], None]) -> tuple[float, int]:
    proxy = LoopbackProxy(target.port)
    try:
        seconds = timed(lambda: run(proxy.port))
    finally:
        proxy.close()
    return seconds, proxy.received


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=20_000)
    ap.add_argument("--back", type=int, default=10_000)
    ap.add_argument("--net-new", type=int, default=1_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="drlab-bench-pcr-") as tmp:
        nodes = {n: NodeProcess(Path(tmp) / n, name=n) for n in "abcd"}
        try:
            for n in nodes.values():
                n.start()
            a, b, c, d = (nodes[k] for k in "abcd")
            a.sql("CREATE VIRTUAL CLUSTER main")
            a.sql("SET CLUSTER SETTING kv.rangefeed.enabled = 'true'")
            for db in DBS:
                a.sql(f"CREATE DATABASE {db}", "cluster:main")
                a.sql("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", f"cluster:main/{db}")
            for n in (b, c):
                n.sql(f"CREATE VIRTUAL CLUSTER main FROM REPLICATION OF main ON '{uri(a.port)}' WITH RETENTION = '2h'")
            say(f"writing {args.history} transactions of history")
            write(a, args.history, 0)
            time.sleep(0.01)
            at = time.time()
            time.sleep(0.01)
            say(f"writing {args.back} more after the chosen point in time")
            write(a, args.back, args.history)
            end = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 1))
            for n in (b, c):
                wait_for(lambda n=n: replicated(n) > end, timeout=600, what="replicated")
            total = args.history + args.back

            say("B: COMPLETE REPLICATION TO LATEST")
            stmt = timed(lambda: b.sql("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO LATEST"))
            ready = stmt + until_ready(b)
            first_write = ready + timed(lambda: (b.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED"),
                                                 b.sql("INSERT INTO app.t VALUES (-1, 'first')", "cluster:main")))

            say(f"C: COMPLETE REPLICATION TO SYSTEM TIME {args.back} transactions back")
            hlc = f"{int(round(at * 1e6)) * 1000}.0000000000"
            pit_stmt = timed(lambda: c.sql(f"ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '{hlc}'"))
            pit_ready = pit_stmt + until_ready(c)
            c.sql("ALTER VIRTUAL CLUSTER main START SERVICE SHARED")
            reverted = c.sql("SELECT COUNT(*) FROM information_schema.DRLAB_REVERTED_TRANSACTIONS")[0][0]
            kept = sum(c.sql(f"SELECT COUNT(*) FROM {db}.t", "cluster:main")[0][0] for db in DBS)
            assert kept == args.history, (kept, args.history)

            say(f"failback: B writes {args.net_new} transactions, A replicates the net-new ones")
            write(b, args.net_new, total)
            b.sql("SET CLUSTER SETTING kv.rangefeed.enabled = 'true'")
            a.sql("ALTER VIRTUAL CLUSTER main STOP SERVICE")
            net_s, net_b = through_proxy(b, lambda port: a.sql(
                f"ALTER VIRTUAL CLUSTER main START REPLICATION OF main ON '{uri(port)}'"))
            say("full copy of the same cluster onto a fresh node D")
            full_s, full_b = through_proxy(b, lambda port: d.sql(
                f"CREATE VIRTUAL CLUSTER main FROM REPLICATION OF main ON '{uri(port)}'"))
        finally:
            for n in nodes.values():
                n.stop()
    print(f"| figure (history {total} transactions, 2 databases) | value |")
    print("|---|---|")
    print(f"| failover to LATEST: COMPLETE REPLICATION returns | {stmt * 1000:.0f} ms |")
    print(f"| failover to LATEST: until data_state ready | {ready * 1000:.0f} ms |")
    print(f"| failover to LATEST: until the first write is acknowledged | {first_write * 1000:.0f} ms |")
    print(f"| failover {args.back} transactions back: until ready ({reverted} row changes reverted) | "
          f"{pit_ready * 1000:.0f} ms |")
    print(f"| failback, net-new ({args.net_new} transactions): START REPLICATION | {net_s * 1000:.0f} ms, "
          f"{net_b / 1e6:.2f} MB from B |")
    print(f"| full copy of the same cluster (fresh node) | {full_s * 1000:.0f} ms, {full_b / 1e6:.2f} MB from B |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
