"""Unit tests for checkpoints, log truncation and retention holds in storage/, and SNAPSHOT DATABASE's grammar."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from sqlfront.errors import SqlError
from sqlfront.retention import SnapshotDatabase, parse_snapshot
from storage.logstore import LogStore
from storage.store import HistoryGap, Store
from tests.unit.test_storage import create_table, insert, opened, put_back, recs, rows


def test_truncate_through_deletes_the_prefix_in_chunks_and_counts_bytes(tmp_path: Path) -> None:
    log = LogStore(tmp_path / "log")
    try:
        log.append(1, recs(*range(1, 26)))
        log.append(2, recs(1, 2))
        assert log.log_bytes(1) == (25, sum(len(d) for _, d in recs(*range(1, 26))))
        assert log.log_bytes(1, 20, 22) == (2, 6)
        assert log.truncate_through(1, 22, chunk=4) == 22
        assert (log.first_lsn(1), log.last_lsn(1)) == (23, 25)
        assert list(log.records(2, 0)) == recs(1, 2)  # another database's log is untouched
        assert log.appended == {1: sum(len(d) for _, d in recs(*range(1, 26))), 2: 4}
    finally:
        log.close()


def ckpt_lsns(store: Store, db_id: int) -> list[int]:
    return [c for c, _ in store.checkpoints(db_id)]


def retain(store: Store, name: str) -> None:
    db = store.get(name)
    assert db is not None
    store.truncate(db, store.plan_retention(db))


def test_log_is_kept_after_the_oldest_of_the_kept_checkpoints(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        create_table(db)
        insert(db, "a")
        assert store.checkpoint(db) == 2
        retain(store, "app")
        assert store.log.last_lsn(db.info.id) == 0  # all of it is in checkpoint 2, the failback window
        insert(db, "b")
        insert(db, "c")
        assert store.checkpoint(db) == 4
        insert(db, "d")
        assert store.checkpoint(db) == 5
        insert(db, "e")
        retain(store, "app")  # snapshots_to_keep = 2: checkpoints 4 and 5, the log after 4
        assert ckpt_lsns(store, db.info.id) == [4, 5]
        assert (store.log.first_lsn(db.info.id), store.log.last_lsn(db.info.id)) == (5, 6)
        store.settings.snapshots_to_keep = 1
        retain(store, "app")
        assert ckpt_lsns(store, db.info.id) == [5]
        assert store.log.first_lsn(db.info.id) == 6
    with opened(tmp_path / "data") as store:  # a restart replays only the log after the file
        db = store.get("app")
        assert db is not None and rows(db) == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]


def test_a_hold_keeps_the_log_after_its_position_and_is_listed_with_it(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        create_table(db)
        for v in "abcdef":
            insert(db, v)
        store.holds.hold(db.info.id, "replica x", "has not received these records yet", lsn=3)
        store.checkpoint(db)
        plan = store.plan_retention(db)
        assert (plan.floor, plan.window, [(h.owner, n) for h, n in plan.holds]) == (3, 7, [("replica x", 3)])
        store.truncate(db, plan)
        assert store.log.first_lsn(db.info.id) == 4
        store.holds.release(db.info.id, "replica x")
        retain(store, "app")
        assert store.log.last_lsn(db.info.id) == 0  # everything is in the checkpoint


def test_a_state_hold_keeps_an_older_checkpoint_and_a_ddl_revert_rebuilds_from_it(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        create_table(db)
        insert(db, "a")
        store.checkpoint(db)  # 2
        insert(db, "b")
        store.holds.hold(db.info.id, "rollback point", "a point the database can go back to", lsn=3,
                         keeps_state=True)
        for v in "cde":
            insert(db, v)
            store.checkpoint(db)  # 4, 5, 6
        retain(store, "app")
        assert ckpt_lsns(store, db.info.id) == [2, 5, 6]  # 2 for the hold, 5 and 6 for snapshots_to_keep
        assert store.log.first_lsn(db.info.id) == 3
        db.begin()
        db.execute_logged_sql(["ALTER TABLE t ADD COLUMN w TEXT"])
        db.commit()
        db, reverted = store.revert_to(db, 3, "test")  # DDL: rebuilt from checkpoint 2 plus record 3
        assert [r.lsn for r in reverted] == [4, 5, 6, 7]
        assert rows(db) == [(1, "a"), (2, "b")] and "w" not in db.columns["t"]
        assert ckpt_lsns(store, db.info.id) == [2]  # checkpoints of the reverted suffix are gone
        store.holds.release(db.info.id, "rollback point")
        store.checkpoint(db)
        retain(store, "app")
        with pytest.raises(HistoryGap, match="snapshots_to_keep"):
            store.revert_to(db, 1, "test")


def test_a_time_hold_keeps_the_records_committed_since_then(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        create_table(db)
        insert(db, "a")
        insert(db, "b")
        since = time.time()
        time.sleep(0.01)
        insert(db, "c")
        insert(db, "d")
        hold = store.holds.hold(db.info.id, "retention window", "point-in-time failover", since=since)
        assert store.hold_lsn(db, hold) == 3
        store.checkpoint(db)
        retain(store, "app")
        assert store.log.first_lsn(db.info.id) == 4


def test_holds_survive_a_restart_and_lapse_after_their_ttl(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        store.holds.hold(db.info.id, "replica y", "paused", lsn=0, ttl=0.2)
        store.holds.hold(db.info.id, "pitr", "window", lsn=0)
    with opened(tmp_path / "data") as store:
        db = store.get("app")
        assert db is not None
        assert sorted(h.owner for h in store.holds.of(db.info.id)) == ["pitr", "replica y"]
        time.sleep(0.3)
        assert [h.owner for h in store.holds.of(db.info.id)] == ["pitr"]
    with opened(tmp_path / "data") as store:
        db = store.get("app")
        assert db is not None and [h.owner for h in store.holds.of(db.info.id)] == ["pitr"]
        store.drop("app")
        assert store.log.meta_items("holds:") == []


def test_recovery_starts_from_the_newest_checkpoint_when_the_file_is_behind_the_log(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        create_table(db)
        shutil.copy(db.path, old)
        insert(db, "a")
        insert(db, "b")
        store.checkpoint(db)
        insert(db, "c")
        retain(store, "app")
        path = db.path
    put_back(old, path)  # the file lost every commit after the table (an OS crash, synchronous=OFF)
    with opened(tmp_path / "data") as store:
        db = store.get("app")
        assert db is not None and db.applied_lsn == 4 and store.recovered == {"app": 1}
        assert rows(db) == [(1, "a"), (2, "b"), (3, "c")]
    path.unlink()
    with opened(tmp_path / "data") as store:  # the file is gone altogether
        db = store.get("app")
        assert db is not None and rows(db) == [(1, "a"), (2, "b"), (3, "c")]


def test_a_crashed_checkpoint_leaves_only_a_temporary_file_that_is_ignored(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        create_table(db)
        (tmp_path / "data" / "db" / "1.checkpoints").mkdir()
        (tmp_path / "data" / "db" / "1.checkpoints" / "tmp-x.sqlite").write_bytes(b"half a copy")
        assert store.checkpoints(db.info.id) == []
        assert store.checkpoint(db) == 1 and ckpt_lsns(store, db.info.id) == [1]
    with opened(tmp_path / "data") as store:  # a restart removes what the crash left
        assert [f.name for f in (tmp_path / "data" / "db" / "1.checkpoints").iterdir()] == [f"{1:020d}.sqlite"]


def test_a_legacy_base_snapshot_becomes_the_first_checkpoint(tmp_path: Path) -> None:
    with opened(tmp_path / "data") as store:
        db = store.create("app")
        create_table(db)
        insert(db, "a")
        db.backup(Path(str(db.path) + ".base"))
    with opened(tmp_path / "data") as store:
        assert ckpt_lsns(store, 1) == [2]
        assert not Path(str(store.get("app").path) + ".base").exists()  # type: ignore[union-attr]


@pytest.mark.parametrize("text, db", [("SNAPSHOT DATABASE app", "app"), ("snapshot app;", "app"),
                                      ("SNAPSHOT DATABASE `my db`", "my db"), ("  Snapshot  Database  x1 ", "x1")])
def test_snapshot_database_parses(text: str, db: str) -> None:
    assert parse_snapshot(text) == SnapshotDatabase(db)


@pytest.mark.parametrize("text", ["SNAPSHOT", "SNAPSHOT DATABASE", "SNAPSHOT DATABASE a b", "SNAPSHOT a, b"])
def test_malformed_snapshot_database_is_a_syntax_error(text: str) -> None:
    with pytest.raises(SqlError) as e:
        parse_snapshot(text)
    assert e.value.code == 1064


def test_other_statements_are_not_snapshot_database() -> None:
    assert parse_snapshot("SELECT 1") is None and parse_snapshot("SNAPSHOTS") is None
