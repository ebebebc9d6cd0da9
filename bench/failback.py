"""Failback benchmark: a full REPLICATE versus REPLICATE ... WITH FORCE DIFFERENTIAL (seed 002).

For each database size (rows), on two fresh `drlab node` processes (A, B) on free loopback ports
with temporary data directories, stopped by pid at the end (also on failure):

1. Load a table of that many rows on A (multi-row INSERTs of --per-stmt rows, transactions of
   --per-tx rows).
2. (a) Full: `REPLICATE DATABASE bench FROM A` on B: a snapshot of the whole database plus the log
   tail. Timed until the statement returns.
3. Fail over and change 1%: SIGKILL A, `STOP REPLICATING bench` on B, update --changed-pct % of the
   rows on B (transactions of 100 rows).
4. (b) Differential: restart A, `REPLICATE DATABASE bench WITH FORCE DIFFERENTIAL FROM B` on A.
   Timed until the statement returns (A has B's position as of the statement's start).
5. (c) The same the other way round with a change of a fixed size (--fixed-change rows, whatever
   the database size): SIGKILL B, `STOP REPLICATING bench` on A, update the rows on A, restart B,
   `REPLICATE ... WITH FORCE DIFFERENTIAL FROM A` on B. (b) against (c) separates what grows with
   the change from what grows with the database.
6. CHECKSUM TABLE on both sides after each REPLICATE.

Bytes shipped are measured on the receiving side: each REPLICATE goes through a loopback TCP proxy
that counts the bytes the source sends to the replica (MySQL packets: snapshot chunks, log
records, status); the snapshot size is that of the SQLite file B installed, and the records
shipped are `Replica_Commits` of SHOW REPLICATION STATUS on A after (b) (one per transaction).

Run: `.venv/bin/python bench/failback.py [--sizes 100000,1000000]` or `make bench-failback`.
Progress goes to stderr; the figures are printed as a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import LoopbackProxy, NodeProcess  # noqa: E402 - LoopbackProxy counts the bytes a node sends

DB = "bench"


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def query(n: NodeProcess, sql: str, db: str | None = None) -> list[dict[str, Any]]:
    with n.connect(database=db, cursorclass=pymysql.cursors.DictCursor) as c, c.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def extended(n: NodeProcess) -> dict[str, Any]:
    return next(r for r in query(n, "SHOW DATABASES EXTENDED") if r["Database"] == DB)


def checksum(n: NodeProcess) -> int:
    return int(query(n, "CHECKSUM TABLE t", DB)[0]["Checksum"])


def load(a: NodeProcess, rows: int, per_stmt: int, per_tx: int) -> float:
    start = time.perf_counter()
    with a.connect() as c, c.cursor() as cur:
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"USE {DB}")
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(60) NOT NULL, pad CHAR(40) NOT NULL)")
        for tx in range(0, rows, per_tx):
            cur.execute("BEGIN")
            for lo in range(tx, min(tx + per_tx, rows), per_stmt):
                hi = min(lo + per_stmt, tx + per_tx, rows)
                cur.execute("INSERT INTO t VALUES " + ",".join(
                    f"({i},{i * 7919 % 100003},'{i:011d}{'-' * 48}','{'p' * 40}')" for i in range(lo, hi)))
            cur.execute("COMMIT")
            say(f"  loaded {min(tx + per_tx, rows):,} rows")
    return time.perf_counter() - start


def timed_replicate(replica: NodeProcess, source: NodeProcess, clause: str) -> dict[str, Any]:
    """Run REPLICATE on ``replica`` through a counting proxy to ``source``; seconds, bytes, warnings."""
    proxy = LoopbackProxy(source.port)
    start = time.perf_counter()
    try:
        with replica.connect(read_timeout=3600) as c, c.cursor() as cur:
            cur.execute(f"REPLICATE DATABASE {DB}{clause} FROM root@127.0.0.1:{proxy.port}")
            seconds = time.perf_counter() - start
            cur.execute("SHOW WARNINGS")
            warnings = list(cur.fetchall())
    finally:
        proxy.close()
    return {"s": seconds, "wire": proxy.received, "warnings": warnings}


def snapshot_bytes(replica: NodeProcess) -> int:
    """The size of the SQLite file the replica installed (later writes go to its WAL file)."""
    db_id = query(replica, f"SELECT database_id FROM information_schema.LMV_REPLICATION_STATUS "
                  f"WHERE database_name = '{DB}'")[0]["database_id"]
    return (replica.data / "db" / f"{db_id}.sqlite").stat().st_size


def change(n: NodeProcess, rows: int, count: int) -> tuple[int, int, float]:
    """Update ``count`` rows spread over the table on ``n``, 100 rows a transaction; returns
    (rows, transactions, seconds)."""
    every = max(rows // count, 1)
    ids = list(range(7 % every, rows, every))[:count]
    start = time.perf_counter()
    with n.connect(database=DB) as c, c.cursor() as cur:
        for i in range(0, len(ids), 100):
            chunk = ids[i:i + 100]
            cur.execute(f"UPDATE t SET k = k + 1, c = REPLACE(c, '-', '*') WHERE id IN ({','.join(map(str, chunk))})")
    return len(ids), (len(ids) + 99) // 100, time.perf_counter() - start


def run_size(rows: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    a = NodeProcess(tmp / f"a-{rows}" / "data", name=f"a-{rows}")
    b = NodeProcess(tmp / f"b-{rows}" / "data", name=f"b-{rows}")
    for n in (a, b):
        n.data.parent.mkdir(parents=True)
    try:
        a.start()
        b.start()
        say(f"{rows:,} rows: loading A (port {a.port})")
        load_s = load(a, rows, args.per_stmt, args.per_tx)
        say(f"  (a) full REPLICATE on B (port {b.port})")
        full = timed_replicate(b, a, "")
        full["snapshot"] = snapshot_bytes(b)
        assert checksum(a) == checksum(b), "checksums differ after the full REPLICATE"
        say(f"      {full['s']:.2f} s, {full['wire'] / 1e6:.1f} MB received")
        a.kill()
        b.sql(f"STOP REPLICATING {DB}")
        changed, txs, change_s = change(b, rows, int(rows * args.changed_pct / 100))
        say(f"  changed {changed:,} rows on B in {txs} transactions ({change_s:.1f} s); restarting A")
        a.start()
        lsn_before = int(str(extended(a)["Position"]).split(":")[1])
        diff = timed_replicate(a, b, " WITH FORCE DIFFERENTIAL")
        status = query(a, "SHOW REPLICATION STATUS")[0]
        assert checksum(a) == checksum(b), "checksums differ after the differential REPLICATE"
        assert diff["warnings"] == [], f"nothing should have been reverted: {diff['warnings']}"
        say(f"  (b) differential on A: {diff['s']:.2f} s, {diff['wire'] / 1e6:.2f} MB received, "
            f"{status['Replica_Commits']} records")
        result = {"rows": rows, "load_s": load_s, "full": full, "diff": diff, "changed": changed, "txs": txs,
                  "records": int(status["Replica_Commits"]), "lsn_before": lsn_before}
        if args.fixed_change:  # (c) the same the other way round, with a change of a fixed size
            b.kill()
            a.sql(f"STOP REPLICATING {DB}")
            result["fixed"], _, _ = change(a, rows, args.fixed_change)
            b.start()
            result["diff_fixed"] = timed_replicate(b, a, " WITH FORCE DIFFERENTIAL")
            assert checksum(a) == checksum(b), "checksums differ after the second differential REPLICATE"
            say(f"  (c) differential on B after {result['fixed']:,} rows changed on A: "
                f"{result['diff_fixed']['s']:.2f} s, {result['diff_fixed']['wire'] / 1e6:.2f} MB received")
        return result
    finally:
        a.stop()
        b.stop()


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nFailback: (a) full REPLICATE into a new database; (b) REPLICATE ... WITH FORCE DIFFERENTIAL after "
          f"{args.changed_pct:g}% of the rows changed on the other side\n")
    print("| rows | load | (a) time | (a) received | (b) time | (b) records | (b) received | (a)/(b) time | "
          "(a)/(b) bytes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        f, d = r["full"], r["diff"]
        print(f"| {r['rows']:,} | {r['load_s']:.0f} s | {f['s']:.2f} s | {f['wire'] / 1e6:.1f} MB (snapshot "
              f"{f['snapshot'] / 1e6:.1f} MB) | {d['s']:.2f} s | {r['records']:,} ({r['changed']:,} rows) | "
              f"{d['wire'] / 1e6:.2f} MB | {f['s'] / d['s']:.1f}x | {f['wire'] / max(d['wire'], 1):.0f}x |")
    fixed = [r for r in results if "diff_fixed" in r]
    if fixed:
        print(f"\n(c) differential after a change of a fixed size ({args.fixed_change:,} rows, "
              f"{(args.fixed_change + 99) // 100} transactions), whatever the database size\n")
        print("| rows | (c) time | (c) received |")
        print("|---:|---:|---:|")
        for r in fixed:
            print(f"| {r['rows']:,} | {r['diff_fixed']['s']:.2f} s | {r['diff_fixed']['wire'] / 1e6:.2f} MB |")
    if len(results) > 1:
        lo, hi = results[0], results[-1]

        def growth(key: str, field: str) -> str:
            return f"{hi[key][field] / lo[key][field]:.1f}x"

        print(f"\nFrom {lo['rows']:,} to {hi['rows']:,} rows ({hi['rows'] / lo['rows']:.0f}x the data): (a) took "
              f"{growth('full', 's')} the time and {growth('full', 'wire')} the bytes; (b), with "
              f"{hi['changed'] / lo['changed']:.0f}x the changed rows, {growth('diff', 's')} the time and "
              f"{growth('diff', 'wire')} the bytes"
              + (f"; (c), with the same change, {growth('diff_fixed', 's')} the time and "
                 f"{growth('diff_fixed', 'wire')} the bytes." if len(fixed) == len(results) else "."))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="100000,1000000", help="database sizes in rows (default 100000,1000000)")
    p.add_argument("--changed-pct", type=float, default=1.0, help="percentage of rows changed on B (default 1)")
    p.add_argument("--fixed-change", type=int, default=1000,
                   help="then change this many rows, whatever the size, and fail back again (0: skip)")
    p.add_argument("--per-stmt", type=int, default=500, help="rows per INSERT while loading (default 500)")
    p.add_argument("--per-tx", type=int, default=50_000, help="rows per transaction while loading (default 50000)")
    args = p.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="drlab-bench-failback-") as tmp:
        results = [run_size(rows, args, Path(tmp)) for rows in sizes]
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
