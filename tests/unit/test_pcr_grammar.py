"""The PCR statements' grammar (sqlfront/pcr.py) and the hybrid commit clock (storage/record.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlfront import pcr
from sqlfront.errors import SqlError
from storage.record import HybridClock
from storage.store import Store


@pytest.mark.parametrize(("text", "cmd"), [
    ("CREATE VIRTUAL CLUSTER main", pcr.CreateVirtualCluster("main", False)),
    ("create virtual cluster if not exists `my-vc`;", pcr.CreateVirtualCluster("my-vc", True)),
    ("CREATE VIRTUAL CLUSTER main FROM REPLICATION OF main ON 'postgresql://u:p@h:26257/defaultdb?options=-ccluster%3Dsystem'",
     pcr.CreateReplicated("main", "main", "postgresql://u:p@h:26257/defaultdb?options=-ccluster%3Dsystem", None, False)),
    ("CREATE VIRTUAL CLUSTER b FROM REPLICATION OF a ON 'postgresql://u@h:1' WITH RETENTION = '1h30m'",
     pcr.CreateReplicated("b", "a", "postgresql://u@h:1", 5400.0, False)),
    ("SHOW VIRTUAL CLUSTERS", pcr.ShowVirtualClusters(None)),
    ("SHOW VIRTUAL CLUSTER main", pcr.ShowVirtualClusters("main")),
    ("SHOW VIRTUAL CLUSTER main WITH REPLICATION STATUS", pcr.ShowReplicationStatus("main")),
    ("ALTER VIRTUAL CLUSTER main START SERVICE SHARED", pcr.AlterService("main", True)),
    ("ALTER VIRTUAL CLUSTER main STOP SERVICE", pcr.AlterService("main", False)),
    ("ALTER VIRTUAL CLUSTER main PAUSE REPLICATION", pcr.PauseResume("main", True)),
    ("ALTER VIRTUAL CLUSTER main RESUME REPLICATION", pcr.PauseResume("main", False)),
    ("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO LATEST", pcr.CompleteReplication("main", None)),
    ("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME '-1h'", pcr.CompleteReplication("main", "-1h")),
    ("ALTER VIRTUAL CLUSTER main COMPLETE REPLICATION TO SYSTEM TIME 1695922878030920020.0000000000",
     pcr.CompleteReplication("main", "1695922878030920020.0000000000")),
    ("ALTER VIRTUAL CLUSTER a START REPLICATION OF b ON 'postgresql://u:p@h:1/defaultdb'",
     pcr.StartReplication("a", "b", "postgresql://u:p@h:1/defaultdb")),
    ("SET CLUSTER SETTING kv.rangefeed.enabled = 'true'", pcr.SetClusterSetting("kv.rangefeed.enabled", "true")),
    ("SET CLUSTER SETTING server.controller.default_target_cluster='main'",
     pcr.SetClusterSetting("server.controller.default_target_cluster", "main")),
    ("SHOW CLUSTER SETTING kv.rangefeed.enabled", pcr.ShowClusterSetting("kv.rangefeed.enabled")),
    ("SHOW JOBS", pcr.ShowJobs("*", None)),
    ("SELECT * FROM [SHOW JOBS] WHERE job_type='REPLICATION STREAM INGESTION'",
     pcr.ShowJobs("*", "job_type='REPLICATION STREAM INGESTION'")),
    ("SHOW JOB WHEN COMPLETE 123", pcr.ShowJob(123, True)),
])
def test_statements_parse(text: str, cmd: object) -> None:
    assert pcr.parse_pcr(text) == cmd


@pytest.mark.parametrize(("text", "code"), [
    ("CREATE VIRTUAL CLUSTER", 1064),
    ("CREATE VIRTUAL CLUSTER a FROM REPLICATION OF b", 1064),
    ("CREATE VIRTUAL CLUSTER a FROM REPLICATION OF b ON 'postgresql://u@h' WITH RETENTION = 'forever'", 1064),
    ("CREATE VIRTUAL CLUSTER a FROM REPLICATION OF b ON 'postgresql://u@h' WITH READ VIRTUAL CLUSTER", 1235),
    ("ALTER VIRTUAL CLUSTER a COMPLETE REPLICATION TO SYSTEM TIME", 1064),
    ("ALTER VIRTUAL CLUSTER a RENAME TO b", 1235),
    ("DROP VIRTUAL CLUSTER a", 1235),
    ("SHOW VIRTUAL CLUSTER a WITH CAPABILITIES", 1235),
    ("SELECT * FROM [SHOW JOBS]; DROP DATABASE x", 1064),
])
def test_malformed_and_unbuilt_forms_are_refused(text: str, code: int) -> None:
    with pytest.raises(SqlError) as e:
        pcr.parse_pcr(text)
    assert e.value.code == code


def test_other_statements_are_not_ours() -> None:
    assert pcr.parse_pcr("SELECT 1") is None and pcr.parse_pcr("SHOW DATABASES") is None


def test_durations() -> None:
    assert pcr.duration("4h") == 14400 and pcr.duration("90s") == 90 and pcr.duration("1h30m") == 5400
    assert pcr.duration("soon") is None


def test_the_hybrid_clock_never_goes_back() -> None:
    clock = HybridClock()
    clock.observe(4e9)  # a record from a clock far ahead (or a wall clock that was set back)
    stamps = [clock.now() for _ in range(1000)]
    assert stamps[0] > 4e9 and all(b > a for a, b in zip(stamps, stamps[1:], strict=False))


def test_lsn_at_cuts_a_database_at_a_commit_time(tmp_path: Path) -> None:
    store = Store(tmp_path, lambda conn: None)
    try:
        db = store.create("app")
        db.begin()
        db.execute_logged_sql(["CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"])
        db.commit()
        db.reload_tables()
        stamps = []
        for v in ("a", "b", "c"):
            db.begin()
            db.execute("INSERT INTO t(v) VALUES (?)", (v,))
            out = db.commit()
            assert out is not None
            stamps.append(store.clock.last)
        assert store.lsn_at(db, stamps[1]) == 3 and store.lsn_at(db, stamps[0]) == 2
        assert store.lsn_at(db, stamps[2] + 10) == 4 and store.lsn_at(db, 0) == 0
    finally:
        store.close()
