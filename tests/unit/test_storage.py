"""Unit tests for storage/: the LMDB log store, records, one database, the node's store (no server processes)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from storage.catalog import DbInfo, Role, SourceRef, State
from storage.database import Database, OutOfOrder
from storage.logstore import LogStore
from storage.record import CorruptRecord, Record
from storage.store import Store


def no_config(conn: object) -> None:
    return None


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LogStore]:
    store = LogStore(tmp_path / "log")
    yield store
    store.close()


def recs(*lsns: int) -> list[tuple[int, bytes]]:
    return [(n, f"r{n}".encode()) for n in lsns]


# -- LogStore ------------------------------------------------------------------------------------------


def test_append_and_records_in_order_with_limit(log: LogStore) -> None:
    log.append(1, recs(1, 2, 3))
    log.append(1, recs(4, 5))
    assert list(log.records(1, 0)) == recs(1, 2, 3, 4, 5)
    assert list(log.records(1, 2)) == recs(3, 4, 5)
    assert list(log.records(1, 1, limit=2)) == recs(2, 3)
    assert list(log.records(1, 5)) == []
    assert list(log.records(2, 0)) == []


def test_append_returns_increasing_tickets(log: LogStore) -> None:
    t1 = log.append(1, recs(1))
    t2 = log.append(1, recs(2))
    assert t2 > t1 >= 1


def test_records_do_not_cross_database_ids(log: LogStore) -> None:
    log.append(1, recs(1, 2))
    log.append(2, recs(1, 2, 3))
    log.append(3, recs(7))
    assert list(log.records(1, 0)) == recs(1, 2)
    assert list(log.records(2, 0)) == recs(1, 2, 3)
    assert list(log.records(3, 0)) == recs(7)


def test_first_and_last_lsn_across_database_ids(log: LogStore) -> None:
    assert (log.first_lsn(1), log.last_lsn(1)) == (0, 0)
    log.append(1, recs(1, 2, 3))
    log.append(3, recs(10, 11))
    log.append(5, recs(4))
    assert (log.first_lsn(1), log.last_lsn(1)) == (1, 3)
    assert (log.first_lsn(2), log.last_lsn(2)) == (0, 0)  # empty, between two others
    assert (log.first_lsn(3), log.last_lsn(3)) == (10, 11)
    assert (log.first_lsn(5), log.last_lsn(5)) == (4, 4)  # the last id in the file
    assert (log.first_lsn(0), log.last_lsn(0)) == (0, 0)  # before the first
    assert (log.first_lsn(9), log.last_lsn(9)) == (0, 0)  # after the last


def test_truncate_after_removes_only_the_suffix_of_that_database(log: LogStore) -> None:
    log.append(1, recs(1, 2, 3, 4))
    log.append(2, recs(1, 2, 3))
    assert log.truncate_after(1, 2) == 2
    assert list(log.records(1, 0)) == recs(1, 2)
    assert list(log.records(2, 0)) == recs(1, 2, 3)
    assert log.last_lsn(1) == 2
    # the last database in the file, down to the end of the keyspace
    assert log.truncate_after(2, 1) == 2
    assert list(log.records(2, 0)) == recs(1)
    assert log.truncate_after(2, 5) == 0
    # a truncated log takes new appends after the kept prefix
    log.append(1, recs(3))
    assert list(log.records(1, 0)) == recs(1, 2, 3)


def test_drop_removes_one_database_log(log: LogStore) -> None:
    log.append(1, recs(1, 2))
    log.append(2, recs(1, 2))
    log.append(3, recs(1))
    log.drop(2)
    assert list(log.records(2, 0)) == []
    assert log.last_lsn(2) == 0
    assert list(log.records(1, 0)) == recs(1, 2)
    assert list(log.records(3, 0)) == recs(1)


def test_meta_get_put_delete_and_items(log: LogStore) -> None:
    assert log.meta_get("db:a") is None
    log.meta_put("db:a", b"1")
    log.meta_put("db:b", b"2")
    log.meta_put("dc", b"x")  # sorts between "db:" entries' neighbours but has another prefix
    log.meta_put("user:root", b"3")
    assert log.meta_get("db:a") == b"1"
    log.meta_put("db:a", b"11")
    assert log.meta_items("db:") == [("db:a", b"11"), ("db:b", b"2")]
    log.meta_put("db:a", None)
    assert log.meta_get("db:a") is None
    assert log.meta_items("db:") == [("db:b", b"2")]
    assert log.meta_items("nothing:") == []


def test_wait_durable_resolves_in_an_asyncio_loop(log: LogStore) -> None:
    async def main() -> None:
        tickets = [log.append(1, recs(n)) for n in (1, 2, 3)]
        await asyncio.wait_for(asyncio.gather(*(log.wait_durable(t) for t in tickets)), 10)
        assert log._synced >= tickets[-1]
        # an already durable ticket returns at once
        await asyncio.wait_for(log.wait_durable(tickets[0]), 1)
        # and a later append is waited for too
        t = log.append(1, recs(4))
        await asyncio.wait_for(log.wait_durable(t), 10)
        assert log._synced >= t

    asyncio.run(main())


def test_append_durable(log: LogStore) -> None:
    log.append_durable(4, recs(1, 2))
    assert list(log.records(4, 0)) == recs(1, 2)


def test_reopen_after_close_keeps_log_and_metadata(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "log")
    store.append(1, recs(1, 2, 3))
    store.append(2, recs(5))
    store.truncate_after(1, 2)
    store.meta_put("db:a", b"{}")
    store.meta_put("next_db_id", b"3")
    store.close()
    again = LogStore(tmp_path / "log")
    try:
        assert list(again.records(1, 0)) == recs(1, 2)
        assert list(again.records(2, 0)) == recs(5)
        assert again.meta_get("next_db_id") == b"3"
        assert again.meta_items("db:") == [("db:a", b"{}")]
    finally:
        again.close()


# -- Record --------------------------------------------------------------------------------------------


def sample_record() -> Record:
    return Record(
        lsn=7,
        epoch=2,
        ts=1700000000.25,
        cols={"t": ["id", "v"]},
        ops=[
            ["sql", "CREATE TABLE x(a)"],
            ["i", "t", 1, [1, "a"]],
            ["u", "t", 1, 1, [1, "a"], [1, b"\x00bytes"]],
            ["d", "t", 2, [2, None]],
        ],
    )


def test_record_round_trip() -> None:
    rec = sample_record()
    back = Record.decode(rec.encode())
    assert back == rec
    assert back.row_count() == 3


@pytest.mark.parametrize("index", [0, 3, 4, 10, -1])
def test_record_with_a_flipped_byte_is_corrupt(index: int) -> None:
    data = bytearray(sample_record().encode())
    data[index] ^= 0x01
    with pytest.raises(CorruptRecord):
        Record.decode(bytes(data))


@pytest.mark.parametrize("keep", [0, 3, 4, 5, 20, -1])
def test_truncated_record_is_corrupt(keep: int) -> None:
    data = sample_record().encode()
    with pytest.raises(CorruptRecord):
        Record.decode(data[:keep])


def test_checksummed_garbage_is_corrupt() -> None:
    import struct
    import zlib

    payload = b"\xc1\xc1\xc1"  # reserved msgpack bytes, with a correct crc
    with pytest.raises(CorruptRecord):
        Record.decode(struct.pack(">I", zlib.crc32(payload)) + payload)


# -- Database ------------------------------------------------------------------------------------------


def open_db(path: Path, log: LogStore, db_id: int = 1, name: str = "app", epoch: int = 1) -> Database:
    info = DbInfo(id=db_id, name=name, epochs=[[epoch, 1]])
    return Database(path, info, log, no_config)


def create_table(db: Database) -> tuple[int, int]:
    db.begin()
    db.execute_logged_sql(["CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"])
    out = db.commit()
    assert out is not None
    db.reload_tables()
    return out


def insert(db: Database, *values: str) -> tuple[int, int] | None:
    db.begin()
    for v in values:
        db.execute("INSERT INTO t(v) VALUES (?)", (v,))
    return db.commit()


def rows(db: Database) -> list[tuple]:
    return db.reader.execute("SELECT id, v FROM t ORDER BY id").fetchall()


def put_back(old: Path, path: Path) -> None:
    """Make the SQLite file go back in time: its later commits are lost, the log still has them."""
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(old, path)


@contextmanager
def reopened(db: Database) -> Iterator[Database]:
    """Close ``db`` and open its file again (a restart of the node)."""
    db.close()
    again = Database(db.path, db.info, db.log, no_config)
    try:
        yield again
    finally:
        again.close()


@pytest.fixture
def db(tmp_path: Path, log: LogStore) -> Iterator[Database]:
    """A database with one table t(id, v), created at LSN 1."""
    d = open_db(tmp_path / "1.sqlite", log)
    create_table(d)
    yield d
    d.close()


def test_commit_returns_lsn_and_ticket_and_advances_applied_lsn(tmp_path: Path, log: LogStore) -> None:
    db = open_db(tmp_path / "1.sqlite", log, epoch=3)
    assert db.applied_lsn == 0
    lsn, ticket = create_table(db)
    assert lsn == 1 and db.applied_lsn == 1 and ticket >= 1
    out = insert(db, "a", "b")
    assert out is not None
    lsn2, ticket2 = out
    assert lsn2 == 2 and db.applied_lsn == 2 and ticket2 > ticket
    assert log.last_lsn(1) == 2
    rec = Record.decode(dict(log.records(1, 0))[2])
    assert rec.lsn == 2 and rec.epoch == 3
    assert rec.cols == {"t": ["id", "v"]}
    assert rec.ops == [["i", "t", 1, [1, "a"]], ["i", "t", 2, [2, "b"]]]
    assert rows(db) == [(1, "a"), (2, "b")]
    # the applied LSN is committed with the data
    assert db.reader.execute("SELECT applied_lsn FROM _drlab_state").fetchone()[0] == 2
    db.close()


def test_empty_transaction_commits_nothing(db: Database, log: LogStore) -> None:
    db.begin()
    db.execute("UPDATE t SET v = 'x' WHERE id = 42")  # matches no row
    assert db.commit() is None
    assert db.applied_lsn == 1
    assert log.last_lsn(1) == 1
    assert not db.in_txn


def test_rollback_leaves_nothing(db: Database, log: LogStore) -> None:
    db.begin()
    db.execute("INSERT INTO t(v) VALUES ('gone')")
    assert db.pending_ops == 1
    db.rollback()
    assert db.pending_ops == 0 and not db.in_txn
    assert rows(db) == []
    assert db.applied_lsn == 1 and log.last_lsn(1) == 1
    # the next commit takes the next LSN and carries only its own rows
    out = insert(db, "kept")
    assert out is not None and out[0] == 2
    assert Record.decode(dict(log.records(1, 1))[2]).ops == [["i", "t", 1, [1, "kept"]]]


def test_rollback_to_savepoint_drops_only_the_failed_statement(db: Database, log: LogStore) -> None:
    db.begin()
    db.execute("INSERT INTO t(v) VALUES ('first')")
    mark = db.savepoint("s1")
    db.execute("INSERT INTO t(v) VALUES ('undone')")
    db.rollback_to("s1", mark)
    out = db.commit()
    assert out is not None
    assert rows(db) == [(1, "first")]
    assert Record.decode(dict(log.records(1, 1))[2]).ops == [["i", "t", 1, [1, "first"]]]


def write_workload(db: Database) -> None:
    create_table(db)
    insert(db, "a", "b", "c")
    db.begin()  # non-deterministic values: the record carries the row images, not the SQL
    db.execute("INSERT INTO t(v) VALUES (hex(randomblob(8)))")
    db.execute("UPDATE t SET v = v || '-' || abs(random() % 1000) WHERE id = 2")
    db.execute("DELETE FROM t WHERE id = 1")
    db.execute("INSERT OR REPLACE INTO t(id, v) VALUES (3, 'replaced')")
    assert db.commit() is not None


def test_records_applied_to_another_database_give_an_equal_checksum(tmp_path: Path, log: LogStore) -> None:
    src = open_db(tmp_path / "src.sqlite", log, db_id=1)
    write_workload(src)
    other_log = LogStore(tmp_path / "log2")
    one = open_db(tmp_path / "one.sqlite", other_log, db_id=1)
    batch = open_db(tmp_path / "batch.sqlite", other_log, db_id=2)
    try:
        datas = [d for _, d in log.records(1, 0)]
        assert len(datas) == 3
        for data in datas:  # one by one
            one.apply(data)
        batch.apply_records([Record.decode(d) for d in datas])  # in one transaction
        for db in (one, batch):
            assert db.applied_lsn == src.applied_lsn == 3
            assert "t" in db.columns  # the DDL record re-read the schema
            assert rows(db) == rows(src)
            assert db.checksum("t") == src.checksum("t")
        with reopened(one) as again:  # the applied LSN was committed with the applied data
            assert again.applied_lsn == 3 and again.checksum("t") == src.checksum("t")
        # and the checksum does see a difference
        batch.begin()
        batch.execute("UPDATE t SET v = 'other' WHERE id = 3")
        batch.commit()
        assert batch.checksum("t") != src.checksum("t")
    finally:
        for db in (src, one, batch):
            db.close()
        other_log.close()


def test_apply_refuses_a_gap_and_leaves_the_database_unchanged(tmp_path: Path, log: LogStore) -> None:
    src = open_db(tmp_path / "src.sqlite", log, db_id=1)
    write_workload(src)
    datas = [d for _, d in log.records(1, 0)]
    other_log = LogStore(tmp_path / "log2")
    dst = open_db(tmp_path / "dst.sqlite", other_log)
    try:
        with pytest.raises(OutOfOrder):
            dst.apply(datas[1])
        assert dst.applied_lsn == 0
        with pytest.raises(OutOfOrder):  # a gap inside a batch rolls the whole batch back
            dst.apply_records([Record.decode(datas[0]), Record.decode(datas[2])])
        assert dst.applied_lsn == 0
        assert "t" not in dst.columns
        assert dst.reader.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()[0] == 0
        dst.apply(datas[0])
        with pytest.raises(OutOfOrder):  # a record applied twice is out of order too
            dst.apply(datas[0])
        assert dst.applied_lsn == 1
    finally:
        src.close()
        dst.close()
        other_log.close()


def test_apply_refuses_a_corrupt_record(tmp_path: Path, log: LogStore) -> None:
    db = open_db(tmp_path / "1.sqlite", log)
    data = bytearray(Record(1, 1, 0.0, {}, [["sql", "CREATE TABLE t(a)"]]).encode())
    data[-2] ^= 0x40
    with pytest.raises(CorruptRecord):
        db.apply(bytes(data))
    assert db.applied_lsn == 0
    assert db.reader.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()[0] == 0
    db.close()


def test_recover_replays_records_appended_to_the_log(db: Database, log: LogStore) -> None:
    insert(db, "a")
    # records that reached the log but whose SQLite commit never happened
    more = [
        Record(3, 1, 0.0, {"t": ["id", "v"]}, [["i", "t", 2, [2, "b"]], ["i", "t", 3, [3, "c"]]]),
        Record(4, 1, 0.0, {"t": ["id", "v"]}, [["u", "t", 1, 1, [1, "a"], [1, "A"]], ["d", "t", 3, [3, "c"]]]),
    ]
    log.append(1, [(r.lsn, r.encode()) for r in more])
    with reopened(db) as again:
        assert again.applied_lsn == 2
        assert again.recover() == 2
        assert again.applied_lsn == 4
        assert rows(again) == [(1, "A"), (2, "b")]
        assert again.recover() == 0  # exactly once
        out = insert(again, "d")
        assert out is not None and out[0] == 5


def test_recover_after_losing_sqlite_commits(db: Database, tmp_path: Path) -> None:
    insert(db, "a")
    old = tmp_path / "old.sqlite"
    with reopened(db) as second:  # closing checkpoints the WAL into the main file
        shutil.copy(db.path, old)
        insert(second, "b", "c")
        second.begin()
        second.execute("DELETE FROM t WHERE id = 1")
        second.commit()
        expected, checksum = rows(second), second.checksum("t")
    put_back(old, db.path)  # the last two commits are lost
    with reopened(second) as third:
        assert third.applied_lsn == 2
        assert third.recover() == 2
        assert third.applied_lsn == 4
        assert rows(third) == expected == [(2, "b"), (3, "c")]
        assert third.checksum("t") == checksum


def test_recover_stops_at_a_corrupt_record(tmp_path: Path, log: LogStore) -> None:
    path = tmp_path / "1.sqlite"
    db = open_db(path, log)
    create_table(db)
    bad = bytearray(Record(2, 1, 0.0, {"t": ["id", "v"]}, [["i", "t", 1, [1, "x"]]]).encode())
    bad[-1] ^= 0xFF
    log.append(1, [(2, bytes(bad))])
    try:
        with pytest.raises(CorruptRecord):
            db.recover()
        assert db.applied_lsn == 1
        assert rows(db) == []
    finally:
        db.close()


# -- Store ---------------------------------------------------------------------------------------------


@contextmanager
def opened(data: Path) -> Iterator[Store]:
    store = Store(data, no_config)
    try:
        yield store
    finally:
        store.close()


def test_store_create_save_reopen_recovers_catalog_and_content(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        app = store.create("app", durability="async")
        other = store.create("other")
        assert (app.info.id, other.info.id) == (1, 2)
        create_table(app)
        insert(app, "a", "b")
        create_table(other)
        app.info.role, app.info.state = Role.ASYNC_REPLICA, State.REPLICATING  # as a REPLICATE creates it
        store.transition(app.info, Role.ASYNC_REPLICA, State.PAUSED)
        app.info.epochs.append([2, 4])
        app.info.source = SourceRef("repl", "pw", "127.0.0.1", 3307, "app", 7)
        store.save(app.info)
        epochs = [list(e) for e in app.info.epochs]
        checksum = app.checksum("t")
    with opened(tmp_path / "data") as store:
        assert store.names() == ["app", "other"]
        app = store.get("app")
        assert app is not None
        assert app.info.id == 1 and app.info.durability == "async"
        assert (app.info.state, app.info.role) == ("replication paused", "async replica")
        assert app.info.epochs == epochs and epochs[-1][:2] == [2, 4] and app.info.epoch == 2
        assert app.info.source == SourceRef("repl", "pw", "127.0.0.1", 3307, "app", 7)
        assert app.applied_lsn == 2
        assert rows(app) == [(1, "a"), (2, "b")]
        assert app.checksum("t") == checksum
        assert store.recovered == {"app": 0, "other": 0}
        assert store.create("third").info.id == 3  # ids are never reused


def test_store_reopen_replays_the_log_into_a_stale_file(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with opened(tmp_path / "data") as store:
        app = store.create("app")
        create_table(app)
        path = app.path
    shutil.copy(path, old)
    with opened(tmp_path / "data") as store:
        app = store.get("app")
        assert app is not None
        insert(app, "a")
        insert(app, "b")
    put_back(old, path)
    with opened(tmp_path / "data") as store:
        assert store.recovered == {"app": 2}
        app = store.get("app")
        assert app is not None and app.applied_lsn == 3
        assert rows(app) == [(1, "a"), (2, "b")]


def test_store_drop_removes_files_and_log(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        gone = store.create("gone")
        kept = store.create("kept")
        for db in (gone, kept):
            create_table(db)
            insert(db, "x")
        path, db_id = gone.path, gone.info.id
        assert path.exists()
        store.drop("gone")
        assert store.get("gone") is None and store.names() == ["kept"]
        assert not any(Path(str(path) + s).exists() for s in ("", "-wal", "-shm"))
        assert store.log.last_lsn(db_id) == 0
        assert list(store.log.records(db_id, 0)) == []
        assert store.log.meta_get("db:gone") is None
        assert store.log.last_lsn(kept.info.id) == 2
    with opened(tmp_path / "data") as store:
        assert store.names() == ["kept"]
        kept = store.get("kept")
        assert kept is not None and rows(kept) == [(1, "x")]
        again = store.create("gone")  # the name is free again, with a new id and an empty log
        assert again.info.id == 3 and again.applied_lsn == 0
        assert "t" not in again.columns


def test_store_create_ignores_a_stale_file_left_by_a_crashed_create(tmp_path: Path) -> None:
    with opened(tmp_path / "data"):
        pass
    stale = tmp_path / "data" / "db" / "1.sqlite"
    stale.write_bytes(b"not a database")
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        assert db.path == stale
        assert db.applied_lsn == 0 and db.columns == {}


def test_backup_and_install_snapshot_provision_a_copy(tmp_path: Path) -> None:
    with opened(tmp_path / "src") as src_store, opened(tmp_path / "dst") as dst_store:
        src = src_store.create("app")
        create_table(src)
        insert(src, "a", "b")
        snap = tmp_path / "snap.sqlite"
        assert src.backup(snap) == 2
        insert(src, "c")  # after the snapshot: shipped as log records
        dst = dst_store.create("app")
        dst_store.log.append(dst.info.id, [(1, b"stale")])  # a provisioning replica's old log is emptied
        dst = dst_store.install_snapshot(dst, snap)
        assert dst_store.get("app") is dst and not snap.exists()
        assert dst.applied_lsn == 2 and dst_store.log.last_lsn(dst.info.id) == 0
        assert rows(dst) == [(1, "a"), (2, "b")]
        for lsn, data in src_store.log.records(src.info.id, dst.applied_lsn):
            dst_store.log.append(dst.info.id, [(lsn, data)])
            dst.apply(data)
        assert dst.applied_lsn == 3 and dst.checksum("t") == src.checksum("t")
