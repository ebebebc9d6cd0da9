"""A mysqldump-style bulk load (extended INSERTs) through the `mariadb` CLI: drlab against MariaDB.

Writes a dump of one table (id, name, price DECIMAL, created DATETIME, note TEXT) as extended
INSERTs of ``--batch`` rows, loads it into a fresh drlab node and a throwaway mariadbd (when
installed), checks the row count and prints rows/s. Run: `.venv/bin/python bench/bulkload.py`."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import Drlab, Mysqld, Server, find_mysqld  # noqa: E402

SCHEMA = ("CREATE TABLE items (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(64) NOT NULL, price DECIMAL(10,2), "
          "created DATETIME, note TEXT, PRIMARY KEY (id));\n")


def write_dump(path: Path, rows: int, batch: int) -> int:
    """The dump file (mysqldump's shape: LOCK TABLES, DISABLE KEYS comments, extended INSERTs)."""
    with path.open("w") as f:
        f.write("/*!40101 SET NAMES utf8mb4 */;\nDROP TABLE IF EXISTS items;\n" + SCHEMA)
        f.write("LOCK TABLES `items` WRITE;\n")
        for start in range(1, rows + 1, batch):
            vals = ",".join(
                f"({i},'item-{i}-{'x' * (i % 17)}',{i % 1000}.{i % 100:02d},'2024-{1 + i % 12:02d}-{1 + i % 28:02d} "
                f"{i % 24:02d}:{i % 60:02d}:00','note \\'{i}\\' {'y' * (i % 60)}')"
                for i in range(start, min(start + batch, rows + 1)))
            f.write(f"INSERT INTO `items` VALUES {vals};\n")
        f.write("UNLOCK TABLES;\n")
    return path.stat().st_size


def load(srv: Server, dump: Path, rows: int) -> float:
    client = shutil.which("mariadb") or shutil.which("mysql")
    assert client is not None, "the mariadb CLI is needed"
    pw = [f"-p{srv.password}"] if srv.password else []
    base = [client, "-h127.0.0.1", f"-P{srv.port}", f"-u{srv.user}", *pw]
    subprocess.run([*base, "-e", "CREATE DATABASE bulk"], check=True, capture_output=True, timeout=60)
    started = time.perf_counter()
    with dump.open("rb") as f:
        subprocess.run([*base, "bulk"], stdin=f, check=True, capture_output=True, timeout=3600)
    elapsed = time.perf_counter() - started
    out = subprocess.run([*base, "-N", "-e", "SELECT COUNT(*) FROM bulk.items"], check=True, capture_output=True,
                         text=True, timeout=60).stdout.strip()
    assert out == str(rows), f"{srv.name} holds {out} rows, not {rows}"
    return rows / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        dump = tmp / "dump.sql"
        size = write_dump(dump, args.rows, args.batch)
        print(f"dump: {args.rows} rows in INSERTs of {args.batch}, {size / 1e6:.1f} MB", flush=True)
        servers: list[tuple[str, type | None]] = [("drlab", None)]
        binary = None if args.no_mariadb else find_mysqld()
        if binary:
            servers.append((Path(binary).name, Mysqld))
        for name, _ in servers:
            (tmp / name).mkdir()
            srv: Server = Drlab(tmp / name) if name == "drlab" else Mysqld(tmp / name, binary)  # type: ignore[arg-type]
            try:
                print(f"{name}: {load(srv, dump, args.rows):,.0f} rows/s", flush=True)
            finally:
                srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
