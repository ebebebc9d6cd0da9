"""`drlab lab status`: a replica's LAG and LINK from its SHOW REPLICATION STATUS row."""

from __future__ import annotations

from lab.local import describe_link


def row(state: str = "replicating", details: str = "streaming") -> dict:
    return {"database": "db", "role": "async replica", "state": state, "details": details, "lag": "-",
            "link": "-", "why": "", "lag_records": None, "lag_seconds": None}


def test_a_connected_link_reports_records_and_seconds() -> None:
    d = row()
    describe_link(d, {"Connected": "yes", "Master_CommitLSN": "1:10", "Replica_CommitLSN": "1:9"}, 0.25)
    assert (d["link"], d["lag"], d["lag_records"], d["why"]) == ("connected", "1 record, 0.2s", 1, "")


def test_a_broken_link_never_reads_zero_and_says_why() -> None:
    d = row(details="connecting; The replication source a:3306/db refused the connection: Access denied for user")
    describe_link(d, {"Connected": "no", "Master_CommitLSN": "1:0", "Replica_CommitLSN": "1:7"}, 0.0)
    assert (d["link"], d["lag"]) == ("DOWN", "unknown")
    assert d["why"] == "The replication source a:3306/db refused the connection: Access denied for user"
    known = row(details="streaming; source disconnected; Can't connect to the replication source")
    describe_link(known, {"Connected": "no", "Master_CommitLSN": "1:9", "Replica_CommitLSN": "1:7"}, 3.0)
    assert (known["link"], known["lag"], known["lag_records"]) == ("DOWN", "unknown (last: 2 records)", 2)
    assert known["why"] == "Can't connect to the replication source"
    aged = row(details="streaming; source disconnected; gone")
    describe_link(aged, {"Connected": "no", "Master_CommitLSN": "1:9", "Replica_CommitLSN": "1:9",
                         "Last_Contact_Seconds": 42.4}, 0.0)
    assert aged["lag"] == "unknown (last: 0 records, 42s ago)"  # the age of the position it is measured against


def test_a_paused_link_is_paused_not_down() -> None:
    d = row(state="replication paused", details="")
    describe_link(d, {"Connected": "no", "Master_CommitLSN": "1:3", "Replica_CommitLSN": "1:3"}, None)
    assert (d["link"], d["why"]) == ("paused", "")
