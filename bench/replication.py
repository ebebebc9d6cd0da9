"""DR replication benchmark: provisioning throughput, backlog apply rate, lag under sysbench load.

Starts two fresh `drlab node` processes (A = primary, B = replica) on free loopback ports with
temporary data directories, and stops them by pid at the end (also on failure):

1. Provisioning: loads a database of --rows rows on A (multi-row INSERTs in a few transactions;
   short INSERTs of --per-stmt rows are the fastest to load, as drlab parses a short text-protocol
   statement once per shape), then times `REPLICATE DATABASE` on B: MB/s of the snapshot (the
   logical size of A's db/<id>.sqlite) and rows/s.
2. Apply rate: `PAUSE REPLICATING` on B, --backlog single-row transactions committed on A by
   --writers concurrent clients (the primary's commit rate), `CONTINUE REPLICATING`, and the time
   until B has applied everything (LMV_REPLICATION_STATUS.lsn_lag = 0 at the primary's position).
3. Lag under load: `sysbench prepare` on A's `sbtest`, REPLICATE it on B, then `sysbench
   oltp_write_only` (--threads, --time, ps-mode disable and auto) while a marker row
   (`lagprobe`) is updated on A with the wall-clock time every 10 ms and read on B every 50 ms;
   lag = now - the marker time visible on B (same machine, same clock).
4. CHECKSUM TABLE of every table on both sides once B has caught up.

Run: `.venv/bin/python bench/replication.py [--rows N] [--time S]` or `make bench-replication`.
Progress goes to stderr; the figures are printed as a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench as sysbench_bench  # noqa: E402 - bench/bench.py, next to this script
from lab.harness import NodeProcess  # noqa: E402

PAD = "p" * 60
MARKER_EVERY = 0.010
SAMPLE_EVERY = 0.050


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Node(NodeProcess):
    """A node the sysbench helper of bench/bench.py can drive."""

    user = "root"

    def rows(self, query: str, database: str | None = None) -> list[dict[str, Any]]:
        with self.connect(database=database, cursorclass=pymysql.cursors.DictCursor) as c, c.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall())

    def position(self, db: str) -> int:
        """The LSN of `db` here (SHOW DATABASES EXTENDED Position is `epoch:lsn`)."""
        row = next(r for r in self.rows("SHOW DATABASES EXTENDED") if r["Database"] == db)
        return int(str(row["Position"]).split(":")[1])

    def lmv(self, db: str) -> dict[str, Any] | None:
        got = self.rows("SELECT * FROM information_schema.LMV_REPLICATION_STATUS "
                        f"WHERE database_name = '{db}' AND is_master = 0")
        return got[0] if got else None


def wait(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def caught_up(a: Node, b: Node, db: str, timeout: float = 600.0) -> float:
    """Wait until B has applied A's current position of `db` and its view reports lsn_lag 0; seconds waited."""
    target = a.position(db)
    start = time.perf_counter()

    def done() -> bool:
        row = b.lmv(db)
        return row is not None and row["lsn_lag"] == 0 and b.position(db) >= target

    wait(done, timeout, f"the replica of {db} to reach LSN {target}")
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def snapshot_bytes(a: Node, db: str) -> int:
    """Logical size of the primary's SQLite file db/<id>.sqlite (what a snapshot copies)."""
    row = next(r for r in a.rows("SELECT * FROM information_schema.LMV_REPLICATION_STATUS")
               if r["database_name"] == db and r["is_master"] == 1)
    path = a.data / "db" / f"{row['database_id']}.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        pages = c.execute("PRAGMA page_count").fetchone()[0]
        size = c.execute("PRAGMA page_size").fetchone()[0]
    return int(pages * size)


# -- 1. provisioning ---------------------------------------------------------------------------------
def load(a: Node, rows: int, per_stmt: int, per_tx: int) -> float:
    """A sysbench-like table of `rows` rows in transactions of `per_tx` rows; seconds taken."""
    start = time.perf_counter()
    with a.connect() as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE prov")
        cur.execute("USE prov")
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, "
                    "pad CHAR(60) NOT NULL)")
        cur.execute("CREATE INDEX k_t ON t (k)")
        done = 0
        while done < rows:
            cur.execute("BEGIN")
            tx_end = min(done + per_tx, rows)
            while done < tx_end:
                last = min(done + per_stmt, tx_end)
                values = ",".join(f"({i},{i * 7919 % 100003},'{format(i, '011d')}{'-' * 108}','{PAD}')"
                                  for i in range(done + 1, last + 1))
                cur.execute(f"INSERT INTO t VALUES {values}")
                done = last
            cur.execute("COMMIT")
            say(f"  loaded {done} rows")
    return time.perf_counter() - start


def provision(a: Node, b: Node, rows: int) -> dict[str, Any]:
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # what a user watching SHOW DATABASES EXTENDED sees while it runs
        while not stop.is_set():
            try:
                got = [f"{r['State']}: {r['Details']}" for r in b.rows("SHOW DATABASES EXTENDED")
                       if r["Database"] == "prov"]
                if got and (not seen or seen[-1] != got[0]):
                    seen.append(got[0])
            except pymysql.err.MySQLError:
                pass
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    try:
        b.sql(f"REPLICATE DATABASE prov FROM root@127.0.0.1:{a.port}")
    finally:
        took = time.perf_counter() - start
        stop.set()
        watcher.join()
    size = snapshot_bytes(a, "prov")
    say(f"  REPLICATE took {took:.2f}s for {size / 1e6:.1f} MB; progress seen: {seen[:3]} ... {seen[-1:]}")
    count = b.sql("SELECT COUNT(*) FROM t", "prov")[0][0]
    if count != rows:
        raise RuntimeError(f"the replica has {count} rows, not {rows}")
    return {"seconds": took, "bytes": size, "progress_samples": len(seen)}


# -- 2. apply rate of a backlog ----------------------------------------------------------------------
def backlog(a: Node, b: Node, count: int, writers: int) -> dict[str, Any]:
    a.sql("CREATE TABLE backlog (id INT PRIMARY KEY, w INT NOT NULL, v VARCHAR(64) NOT NULL)", "prov")
    caught_up(a, b, "prov")
    b.sql("PAUSE REPLICATING prov")
    before = b.position("prov")
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            with a.connect(database="prov") as c, c.cursor() as cur:
                for i in range(w, count, writers):
                    cur.execute(f"INSERT INTO backlog VALUES ({i}, {w}, 'backlog row {i} from writer {w}')")
        except BaseException as e:  # noqa: BLE001 - reported after the join
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    commit_s = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"a writer failed: {errors[0]!r}")
    target = a.position("prov")
    records = target - before
    say(f"  primary: {count} commits in {commit_s:.2f}s; replica paused at LSN {before}, primary at {target}")
    start = time.perf_counter()
    b.sql("CONTINUE REPLICATING prov")
    caught_up(a, b, "prov")
    apply_s = time.perf_counter() - start  # from CONTINUE REPLICATING on
    row = b.lmv("prov") or {}
    say(f"  replica applied {records} records in {apply_s:.2f}s")
    return {"commits": count, "commit_s": commit_s, "records": records, "apply_s": apply_s, "lmv": row}


# -- 3. lag under sysbench load ----------------------------------------------------------------------
class LagProbe:
    """Marker writes on the primary every 10 ms, reads of the marker on the replica every 50 ms."""

    def __init__(self, a: Node, b: Node) -> None:
        self.a, self.b = a, b
        self.stop = threading.Event()
        self.lags: list[float] = []  # ms, now - marker time visible on the replica
        self.lsn_lags: list[int] = []  # LMV_REPLICATION_STATUS.lsn_lag on the replica at the same moments
        self.master_lsn_lags: list[int] = []  # and on the primary (its row for this replica)
        self.markers = 0
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._write, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]

    def __enter__(self) -> LagProbe:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _write(self) -> None:
        with self.a.connect(database="sbtest") as c, c.cursor() as cur:
            while not self.stop.is_set():
                cur.execute(f"UPDATE lagprobe SET t = {time.time()!r} WHERE id = 1")
                self.markers += 1
                self.stop.wait(MARKER_EVERY)

    def _read(self) -> None:
        view = "SELECT lsn_lag FROM information_schema.LMV_REPLICATION_STATUS WHERE database_name = 'sbtest' AND "
        with self.b.connect(database="sbtest") as c, c.cursor() as cur, self.a.connect() as ca, ca.cursor() as acur:
            while not self.stop.is_set():
                tick = time.monotonic()
                try:
                    cur.execute("SELECT t FROM lagprobe WHERE id = 1")
                    (t,) = cur.fetchone()
                    self.lags.append((time.time() - t) * 1000)
                    for q, out in ((cur, self.lsn_lags), (acur, self.master_lsn_lags)):
                        q.execute(view + ("is_master = 0" if q is cur else "is_master = 1"))
                        got = q.fetchone()
                        if got:
                            out.append(int(got[0]))
                except pymysql.err.MySQLError as e:
                    self.errors.append(str(e))
                self.stop.wait(max(0.0, SAMPLE_EVERY - (time.monotonic() - tick)))


def sysbench_args(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(table_size=args.sb_table_size, threads=args.threads, time=args.time)


def lag_setup(a: Node, b: Node, args: argparse.Namespace) -> float:
    a.sql("CREATE DATABASE sbtest")
    start = time.perf_counter()
    sysbench_bench.sysbench(a, "oltp_write_only", "disable", "prepare", sysbench_args(args))
    prepare_s = time.perf_counter() - start
    a.sql("CREATE TABLE lagprobe (id INT PRIMARY KEY, t DOUBLE NOT NULL)", "sbtest")
    a.sql(f"INSERT INTO lagprobe VALUES (1, {time.time()!r})", "sbtest")
    b.sql(f"REPLICATE DATABASE sbtest FROM root@127.0.0.1:{a.port}")
    return prepare_s


def lag_run(a: Node, b: Node, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    with LagProbe(a, b) as probe:
        time.sleep(1.0)  # a second of idle lag first: the baseline
        idle = len(probe.lags)
        text = sysbench_bench.sysbench(a, "oltp_write_only", mode, "run", sysbench_args(args))
        loaded = probe.lags[idle:]
        time.sleep(0.2)
    drain_s = caught_up(a, b, "sbtest")
    tps = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", text)
    errs = re.search(r"errors:\s+(\d+)", text)
    if not tps or not loaded:
        raise RuntimeError(f"no sysbench figures or no lag samples:\n{text[-1500:]}")
    third = max(1, len(loaded) // 3)
    out = {
        "mode": mode, "tps": float(tps.group(1)), "errors": int(errs.group(1)) if errs else -1,
        "samples": len(loaded), "median": statistics.median(loaded), "p99": pct(loaded, 99), "max": max(loaded),
        "idle_median": statistics.median(probe.lags[:idle]) if idle else float("nan"),
        "first_third": statistics.median(loaded[:third]), "last_third": statistics.median(loaded[-third:]),
        "max_lsn_lag": max(probe.lsn_lags, default=0), "max_master_lsn_lag": max(probe.master_lsn_lags, default=0),
        "median_master_lsn_lag": statistics.median(probe.master_lsn_lags) if probe.master_lsn_lags else 0,
        "markers": probe.markers, "drain_s": drain_s,
        "probe_errors": probe.errors[:3],
    }
    say(f"  ps={mode}: {out['tps']:.1f} tx/s, lag median {out['median']:.1f} ms p99 {out['p99']:.1f} ms "
        f"max {out['max']:.1f} ms (first third {out['first_third']:.1f}, last third {out['last_third']:.1f}), "
        f"max lsn_lag {out['max_lsn_lag']} (primary's view {out['max_master_lsn_lag']}), drained in {drain_s:.2f}s")
    return out


# -- 4. checksums ------------------------------------------------------------------------------------
def checksums(a: Node, b: Node) -> tuple[bool, list[str]]:
    caught_up(a, b, "prov")
    caught_up(a, b, "sbtest")
    lines, same = [], True
    for db, tables in (("prov", "t, backlog"), ("sbtest", "sbtest1, lagprobe")):
        left, right = a.sql(f"CHECKSUM TABLE {tables}", db), b.sql(f"CHECKSUM TABLE {tables}", db)
        for (name, x), (_, y) in zip(left, right, strict=True):
            lines.append(f"{name}: primary {x}, replica {y}")
            same = same and x == y and x is not None
    return same, lines


# -- report ------------------------------------------------------------------------------------------
def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    load_s, prov, bl, prep_s, lags, same = (figures[k] for k in ("load_s", "prov", "backlog", "prepare_s",
                                                                  "lags", "checksums"))
    mb = prov["bytes"] / 1e6
    commit_rate = bl["commits"] / bl["commit_s"]
    apply_rate = bl["records"] / bl["apply_s"]
    rows = [
        ("primary database", f"{args.rows:,} rows, {mb:.1f} MB (loaded in {load_s:.1f} s, "
                             f"{args.rows / load_s:,.0f} rows/s, {args.per_stmt} rows per INSERT)"),
        ("REPLICATE DATABASE (provisioning)", f"{prov['seconds']:.2f} s"),
        ("provisioning throughput", f"{mb / prov['seconds']:.1f} MB/s, {args.rows / prov['seconds']:,.0f} rows/s"),
        (f"primary commit rate ({args.writers} writers, single-row tx)",
         f"{commit_rate:,.0f} tx/s ({bl['commits']:,} commits in {bl['commit_s']:.2f} s)"),
        ("backlog catch-up after CONTINUE REPLICATING", f"{bl['records']:,} records in {bl['apply_s']:.2f} s"),
        ("replica apply rate", f"{apply_rate:,.0f} records/s"),
        ("apply rate / primary commit rate", f"{apply_rate / commit_rate:.1f}x (goal >= 5x)"),
        (f"sysbench prepare ({args.sb_table_size:,} rows)", f"{prep_s:.1f} s"),
    ]
    for r in lags:
        rows += [
            (f"oltp_write_only ps={r['mode']} ({args.threads} threads, {args.time} s)",
             f"{r['tps']:.1f} tx/s, {r['errors']} errors"),
            (f"lag ps={r['mode']}: median / p99 / max",
             f"{r['median']:.1f} / {r['p99']:.1f} / {r['max']:.1f} ms ({r['samples']} samples; idle "
             f"{r['idle_median']:.1f} ms; first/last third median {r['first_third']:.1f} / {r['last_third']:.1f} ms)"),
            (f"lsn_lag ps={r['mode']}: max on the replica; median / max on the primary; drain after the run",
             f"{r['max_lsn_lag']}; {r['median_master_lsn_lag']:.0f} / {r['max_master_lsn_lag']}; {r['drain_s']:.2f} s"),
        ]
    rows.append(("CHECKSUM TABLE primary vs replica", "agree" if same else "DIFFER"))
    print()
    print("| figure | value |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    for r in lags:
        if r["last_third"] > max(3 * r["first_third"], 200):
            print(f"\nWARNING: lag grew during ps={r['mode']} (the replica falls behind).")
    if apply_rate < 5 * commit_rate:
        print("\nWARNING: the replica applies less than 5x faster than the primary commits.")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=500_000, help="rows of the provisioned database (default 500000)")
    p.add_argument("--time", type=int, default=20, help="seconds per sysbench run (default 20)")
    p.add_argument("--per-stmt", type=int, default=10, help="rows per INSERT when loading (default 10)")
    p.add_argument("--per-tx", type=int, default=50_000, help="rows per transaction when loading (default 50000)")
    p.add_argument("--backlog", type=int, default=20_000, help="transactions committed while paused")
    p.add_argument("--writers", type=int, default=4, help="concurrent writers for the backlog (default 4)")
    p.add_argument("--threads", type=int, default=4, help="sysbench threads (default 4)")
    p.add_argument("--sb-table-size", type=int, default=10_000, help="sysbench table size (default 10000)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    args = p.parse_args()
    if shutil.which("sysbench") is None:
        print("bench: sysbench is not installed", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="drlab-bench-repl-"))
    a, b = Node(tmp / "a", name="primary"), Node(tmp / "b", name="replica")
    figures: dict[str, Any] = {}
    try:
        a.start(60)
        b.start(60)
        say(f"primary 127.0.0.1:{a.port}, replica 127.0.0.1:{b.port}, data in {tmp}")
        say(f"1. loading {args.rows} rows on the primary")
        figures["load_s"] = load(a, args.rows, args.per_stmt, args.per_tx)
        say("   provisioning the replica")
        figures["prov"] = provision(a, b, args.rows)
        say(f"2. backlog of {args.backlog} transactions while paused")
        figures["backlog"] = backlog(a, b, args.backlog, args.writers)
        say(f"3. sysbench prepare ({args.sb_table_size} rows) and REPLICATE sbtest")
        figures["prepare_s"] = lag_setup(a, b, args)
        figures["lags"] = [lag_run(a, b, mode, args) for mode in ("disable", "auto")]
        say("4. checksums")
        same, lines = checksums(a, b)
        for line in lines:
            say(f"  {line}")
        figures["checksums"] = same
        report(args, figures)
        return 0 if same else 1
    finally:
        for n in (b, a):
            n.stop()
        if args.keep:
            say(f"data kept in {tmp} (logs: {a.log}, {b.log})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
