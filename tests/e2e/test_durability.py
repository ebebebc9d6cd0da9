"""Crash durability: writers commit while the node is SIGKILLed at a random moment; after a restart every
acknowledged row is there and no transaction is partial. Three rounds on the same data directory, two
writers on two databases (whose records interleave in the one log)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import pymysql
from pymysql.constants import CLIENT

from lab.harness import NodeProcess, wait_for

PW = "dur-Pw"
ROUNDS = 3
LOST = {2003, 2006, 2013, 2055}  # client-side "can't connect" / "gone away" / "lost connection"


@dataclass
class Log:
    """What one writer sent and what the server acknowledged."""

    acked_rows: set[int] = field(default_factory=set)  # autocommit INSERTs that returned OK
    acked_txns: set[int] = field(default_factory=set)  # transactions whose COMMIT returned OK
    sent_ids: set[int] = field(default_factory=set)  # every id ever sent (acknowledged or not)
    error: BaseException | None = None


def _writer(n: NodeProcess, wid: int, base: int, stop: threading.Event, log: Log, multi: bool, db: str) -> None:
    """Writer `wid` uses ids base + wid + 4k: single autocommit rows, then a transaction of a pair of rows
    sharing a txn id (as separate statements, or as one multi-statement text when `multi`)."""
    try:
        conn = n.connect(database=db, client_flag=CLIENT.MULTI_STATEMENTS, connect_timeout=5, read_timeout=10,
                         write_timeout=10)
    except pymysql.err.MySQLError as e:
        log.error = e
        return
    k = 0

    def next_id() -> int:
        nonlocal k
        k += 1
        i = base + wid + 4 * k
        log.sent_ids.add(i)
        return i

    try:
        with conn.cursor() as cur:
            while not stop.is_set():
                i = next_id()
                cur.execute("INSERT INTO t (id, txn, payload) VALUES (%s, NULL, %s)", (i, f"single-{i}"))
                log.acked_rows.add(i)
                a, b = next_id(), next_id()
                txn = a  # the txn id is the first row's id: unique
                if multi:
                    cur.execute(
                        "BEGIN; INSERT INTO t (id, txn, payload) VALUES (%s, %s, 'pair-a'); "
                        "INSERT INTO t (id, txn, payload) VALUES (%s, %s, 'pair-b'); COMMIT",
                        (a, txn, b, txn))
                    while cur.nextset():  # every statement's result, up to COMMIT's OK
                        pass
                else:
                    cur.execute("BEGIN")
                    cur.execute("INSERT INTO t (id, txn, payload) VALUES (%s, %s, 'pair-a')", (a, txn))
                    cur.execute("INSERT INTO t (id, txn, payload) VALUES (%s, %s, 'pair-b')", (b, txn))
                    cur.execute("COMMIT")
                log.acked_txns.add(txn)
    except pymysql.err.OperationalError as e:
        if e.args[0] not in LOST:  # a server error (not a dead connection) fails the test
            log.error = e
    except (pymysql.err.InterfaceError, ConnectionError, OSError):
        return  # the node died under us: expected
    except BaseException as e:  # anything else (a wrong result, a protocol error) fails the test
        log.error = e
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the socket is already dead
            pass


def test_sigkill_loses_no_acknowledged_write(node_factory) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    n = node_factory("dur", password=PW).start()
    dbs = ["dur", "dur2"]  # writer 0 writes the lower database id while the higher one also has records
    for db in dbs:
        n.sql(f"CREATE DATABASE {db}")
        n.sql("CREATE TABLE t (id BIGINT PRIMARY KEY, txn BIGINT NULL, payload VARCHAR(40), KEY (txn))", db)
    all_acked_rows: set[int] = set()
    all_acked_txns: set[int] = set()
    all_sent: set[int] = set()
    base = 0
    for rnd in range(ROUNDS):
        stop = threading.Event()
        logs = [Log() for _ in range(2)]
        threads = [threading.Thread(target=_writer, args=(n, w, base, stop, logs[w], w == 1, dbs[w]), daemon=True)
                   for w in range(2)]
        for t in threads:
            t.start()
        # let both writers get going before the random delay starts
        wait_for(lambda logs=logs: all(lg.acked_rows for lg in logs) or any(lg.error for lg in logs), 10,
                 what=f"round {rnd}: both writers acknowledged")
        time.sleep(rng.uniform(0.3, 2.5))
        n.kill()
        stop.set()
        for t in threads:
            t.join(15)
            assert not t.is_alive(), f"round {rnd}: writer hung after the kill"
        for lg in logs:
            assert lg.error is None, f"round {rnd}: writer failed: {lg.error!r} (seed {seed})"
            all_acked_rows |= lg.acked_rows
            all_acked_txns |= lg.acked_txns
            all_sent |= lg.sent_ids
        acked_now = sum(len(lg.acked_rows) + len(lg.acked_txns) for lg in logs)
        assert acked_now > 0

        n.start()
        rows = [r for db in dbs for r in n.sql("SELECT id, txn FROM t", db)]
        ids = {r[0] for r in rows}
        missing_rows = sorted(all_acked_rows - ids)
        assert not missing_rows, f"round {rnd}: acknowledged rows lost after SIGKILL: {missing_rows[:20]} (seed {seed})"
        pairs: dict[int, list[int]] = {}
        for i, txn in rows:
            if txn is not None:
                pairs.setdefault(txn, []).append(i)
        partial = {t: v for t, v in pairs.items() if len(v) != 2}
        assert not partial, f"round {rnd}: partial transactions after SIGKILL: {partial} (seed {seed})"
        lost_txns = sorted(all_acked_txns - set(pairs))
        assert not lost_txns, f"round {rnd}: acknowledged transactions lost: {lost_txns[:20]} (seed {seed})"
        invented = sorted(ids - all_sent)
        assert not invented, f"round {rnd}: rows nobody wrote: {invented[:20]}"
        base = max(ids | all_sent) + 100
    assert len(all_acked_txns) >= ROUNDS
