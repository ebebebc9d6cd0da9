"""Retention benchmark (issue 12): a bounded log against the code before it.

For each code tree (``--before``: a checkout of the code before checkpoints, e.g. main before this
change; and this tree), on a fresh `drlab node` process on a free loopback port with a temporary
data directory, stopped by pid at the end (also on failure):

1. Create a table of --table-rows rows and run --updates single-row autocommit UPDATEs on it from
   --threads client connections (each on its own slice of the rows), with the default settings.
   Report the updates/s and the data directory's size on disk (``du``: LMDB log, SQLite files,
   checkpoints) at the end, once the node had --settle seconds to finish a retention pass.
2. Restart time with that long history: SIGTERM and start again, then SIGKILL and start again;
   each timed from the process start to the first answered query.

Then, on this tree only, write throughput while checkpoints and truncation run against without
them: the same update load for --window seconds per setting, with snapshot_trigger_size at its
default (16 MB), at 1 MB (a checkpoint and a truncation about every second) and at 1 TB (never).

Run: `.venv/bin/python bench/retention.py [--updates 1000000] [--before /path/to/old/tree]` or
`make bench-retention`. Progress goes to stderr; the figures are printed as Markdown on stdout.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import NodeProcess  # noqa: E402

DB = "bench"


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tree_node(data: Path, root: Path) -> NodeProcess:
    """A node run from the code tree ``root`` (this one, or an older checkout to compare with)."""
    return NodeProcess(data, name=f"bench-{root.name}", root=root)


def du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def load(n: NodeProcess, rows: int) -> None:
    with n.connect() as c, c.cursor() as cur:
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(60) NOT NULL)")
        for lo in range(0, rows, 500):
            values = ",".join(f"({i}, 0, 'row {i} of the small table')" for i in range(lo, min(lo + 500, rows)))
            cur.execute(f"INSERT INTO {DB}.t VALUES {values}")


def update_load(n: NodeProcess, threads: int, rows: int, count: int | None, seconds: float | None) -> tuple[int, float]:
    """Single-row UPDATEs from ``threads`` connections until ``count`` are done or ``seconds``
    pass; returns (updates, elapsed seconds)."""
    done = [0] * threads
    stop = time.monotonic() + seconds if seconds else None
    per = (count // threads) if count else None

    def run(t: int) -> None:
        with n.connect(database=DB) as c, c.cursor() as cur:
            i = 0
            while (per is None or i < per) and (stop is None or time.monotonic() < stop):
                row = t + threads * (i % max(rows // threads, 1))
                cur.execute("UPDATE t SET k = k + 1 WHERE id = %s", (row,))
                i += 1
                done[t] = i
                if per and i % 50000 == 0 and t == 0:
                    say(f"  {i * threads} updates")

    started = time.monotonic()
    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done), time.monotonic() - started


def restart_time(n: NodeProcess, kill: bool) -> float:
    if kill:
        n.kill()
    else:
        n.stop()
    started = time.monotonic()
    n.start(timeout=300)
    n.sql(f"SELECT COUNT(*) FROM {DB}.t")
    return time.monotonic() - started


def long_history(root: Path, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="drlab-retention-") as tmp:
        n = tree_node(Path(tmp) / "data", root).start(timeout=300)
        try:
            load(n, args.table_rows)
            data_bytes = du(Path(tmp) / "data")
            say(f"{root}: {args.updates} updates")
            done, elapsed = update_load(n, args.threads, args.table_rows, args.updates, None)
            time.sleep(args.settle)
            disk = du(Path(tmp) / "data")
            table = n.sql(f"SELECT SUM(k) FROM {DB}.t")[0][0]
            assert int(table) == done, (table, done)
            out = {"updates": done, "rate": done / elapsed, "disk_before": data_bytes, "disk": disk,
                   "restart": restart_time(n, kill=False), "restart_kill": restart_time(n, kill=True)}
            assert int(n.sql(f"SELECT SUM(k) FROM {DB}.t")[0][0]) == done
            return out
        finally:
            n.stop()


def throughput(args: argparse.Namespace) -> list[tuple[str, float, int]]:
    out = []
    for label, trigger in [("default (16 MB)", None), ("1 MB", 1 << 20), ("off (1 TB)", 1 << 40)]:
        with tempfile.TemporaryDirectory(prefix="drlab-retention-") as tmp:
            n = tree_node(Path(tmp) / "data", ROOT).start(timeout=300)
            try:
                load(n, args.table_rows)
                if trigger is not None:
                    n.sql(f"SET GLOBAL snapshot_trigger_size = {trigger}")
                say(f"throughput, snapshot_trigger_size {label}")
                done, elapsed = update_load(n, args.threads, args.table_rows, None, args.window)
                ckpts = n.sql(f"SELECT LSN FROM information_schema.DRLAB_CHECKPOINTS WHERE DATABASE_NAME = '{DB}'")
                first = n.sql(f"SELECT FIRST_LSN FROM information_schema.DRLAB_LOG WHERE DATABASE_NAME = '{DB}'")
                say(f"  checkpoints kept {[r[0] for r in ckpts]}, log from LSN {first[0][0]}")
                out.append((label, done / elapsed, du(Path(tmp) / "data")))
            finally:
                n.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--updates", type=int, default=1_000_000)
    ap.add_argument("--table-rows", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--before", type=Path, default=None, help="a checkout of the code before checkpoints")
    args = ap.parse_args()
    trees = ([("before", args.before)] if args.before else []) + [("after", ROOT)]
    results = {label: long_history(root, args) for label, root in trees}
    print(f"\n{args.updates:,} single-row UPDATEs of a {args.table_rows:,}-row table, {args.threads} client threads\n")
    print("| code | updates/s | data dir after load | data dir after the updates | restart (SIGTERM) | restart (kill -9) |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r['rate']:,.0f} | {r['disk_before'] / 1e6:.1f} MB | {r['disk'] / 1e6:.1f} MB | "
              f"{r['restart']:.2f} s | {r['restart_kill']:.2f} s |")
    print(f"\nWrite throughput for {args.window:.0f} s per setting (this tree)\n")
    print("| snapshot_trigger_size | updates/s | data dir at the end |")
    print("|---|---|---|")
    for label, rate, disk in throughput(args):
        print(f"| {label} | {rate:,.0f} | {disk / 1e6:.1f} MB |")


if __name__ == "__main__":
    main()
