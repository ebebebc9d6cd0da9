"""Yellowbrick-style replication benchmark (issue 15, docs/yellowbrick.md).

Two fresh `drlab node` processes (ybwest, ybeast) on free loopback ports with temporary data
directories, stopped by pid at the end (also on failure). For each database size (--sizes rows):

1. Load the table on ybwest, ADD REPLICA to ybeast, START: the first cycle ships the whole log.
2. PAUSE, then for each change size (--changes rows updated by one UPDATE ... WHERE id < n, one
   record), FORCE a cycle and read its elapsed_ms / sent_bytes / sent_records from
   sys.replica_status: a cycle's cost must follow the change since the last cycle, not the size.
3. The READONLY window after a restart: kill -9 ybwest, start it, and time from the process start
   until sys.database shows the source out of READONLY (the first cycle reached ybeast).

Run: `.venv/bin/python bench/yellowbrick.py [--sizes 1000,100000] [--changes 0,10,1000,10000]`.
Progress goes to stderr; the figures are printed as Markdown on stdout.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import NodeProcess, wait_for  # noqa: E402


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def last_cycle(n: NodeProcess) -> tuple[int, int, int, str | None]:
    rows = n.sql("SELECT elapsed_ms, sent_bytes, sent_records, error_string FROM sys.replica_status "
                 "ORDER BY snapshot_id DESC LIMIT 1")
    return rows[0]  # type: ignore[return-value]


def run_size(rows: int, changes: list[int]) -> tuple[tuple[int, int, int], list[tuple[int, int, int, int]], float]:
    with tempfile.TemporaryDirectory(prefix="drlab-yb-") as tmp:
        west = NodeProcess(Path(tmp) / "w", name="ybwest", extra=["--yb-min-frequency", "1"])
        east = NodeProcess(Path(tmp) / "e", name="ybeast", extra=["--yb-min-frequency", "1"])
        try:
            west.start()
            east.start()
            west.sql(f"CREATE REMOTE SERVER ybwest WITH (HOST '127.0.0.1', PORT {east.port})")
            west.sql("CREATE DATABASE premdb")
            west.sql("CREATE TABLE premdb.t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(60) NOT NULL)")
            with west.connect() as c, c.cursor() as cur:
                for lo in range(0, rows, 1000):
                    values = ",".join(f"({i}, 0, 'row {i} of the table')" for i in range(lo, min(lo + 1000, rows)))
                    cur.execute(f"INSERT INTO premdb.t VALUES {values}")
            say(f"{rows} rows loaded; first cycle")
            west.sql("ALTER DATABASE premdb ADD REPLICA r TO ybwest WITH (ALIAS premdb_replicated, FREQUENCY 3600)")
            west.sql("ALTER DATABASE premdb ALTER REPLICA r START")
            wait_for(lambda: west.sql("SELECT snapshot_id FROM sys.replica_status")[0][0] is not None,
                     timeout=600, what="the first cycle")
            first = last_cycle(west)
            assert first[3] is None, first
            west.sql("ALTER DATABASE premdb ALTER REPLICA r PAUSE")
            out = []
            for n in changes:
                if n:
                    west.sql(f"UPDATE premdb.t SET k = k + 1 WHERE id < {n}")
                west.sql("ALTER DATABASE premdb ALTER REPLICA r FORCE")
                elapsed, sent, records, error = last_cycle(west)
                assert error is None, error
                out.append((n, elapsed, sent, records))
                say(f"  change {n} rows: {elapsed} ms, {sent} bytes")
            assert west.sql("CHECKSUM TABLE premdb.t")[0][1] == east.sql("CHECKSUM TABLE premdb_replicated.t")[0][1]
            west.sql("ALTER DATABASE premdb ALTER REPLICA r RESUME")
            west.kill()
            started = time.monotonic()
            west.start()
            wait_for(lambda: west.sql("SELECT name, readonly FROM sys.database") == [("premdb", 0)],
                     timeout=120, interval=0.01, what="READONLY left after the restart")
            window = time.monotonic() - started
            return first[:3], out, window
        finally:
            west.stop()
            east.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--changes", default="0,10,1000,10000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    changes = [int(c) for c in args.changes.split(",")]
    results = {rows: run_size(rows, changes) for rows in sizes}
    print("\n| database rows | first cycle (whole log) | bytes sent |")
    print("|---|---|---|")
    for rows, (first, _, _) in results.items():
        print(f"| {rows:,} | {first[0]} ms | {first[1]:,} |")
    print("\n| database rows | rows changed since the last cycle | cycle elapsed | bytes sent | records |")
    print("|---|---|---|---|---|")
    for rows, (_, cycles, _) in results.items():
        for n, elapsed, sent, records in cycles:
            print(f"| {rows:,} | {n:,} | {elapsed} ms | {sent:,} | {records} |")
    print("\n| database rows | READONLY window after kill -9 (process start to writable) |")
    print("|---|---|")
    for rows, (_, _, window) in results.items():
        print(f"| {rows:,} | {window:.2f} s |")


if __name__ == "__main__":
    main()
