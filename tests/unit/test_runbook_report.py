"""The runbook report a person reads, and the JSON a program reads."""

from __future__ import annotations

import json
import time

from lab import runbook
from lab.app import Ack, WritingApp


def step(index: int, title: str, detail: str = "", ok: bool = True) -> dict:
    return {"index": index, "title": title, "ok": ok, "duration_s": 0.5, "detail": detail, "started_s": 0.0}


def report(**extra: object) -> dict:
    rep = {"runbook": "r", "ok": True, "duration_s": 1.0,
           "steps": [step(1, "x" * 80, "d" * 120), step(2, "short", "fine")]}
    rep.update(extra)
    return rep


def test_cut_columns_end_in_an_ellipsis_and_whole_ones_do_not() -> None:
    text = runbook.format_report(report())
    assert "x" * 69 + "…" in text and "x" * 70 not in text
    assert "d" * 99 + "…" in text and "d" * 100 not in text
    assert "short " in text and "fine" in text and "fine…" not in text


def test_unnamed_steps_read_as_sentences() -> None:
    assert runbook.describe({"wait": {"on": "b", "database": "db", "state": "replicating"}}) == \
        "wait until db on b is replicating"
    assert runbook.describe({"wait": {"on": "b", "database": "db", "role": "master", "state": "online"}}) == \
        "wait until db on b is master online"
    assert runbook.describe({"wait": {"on": "a", "database": "db", "caught_up_with": "b"}}) == \
        "wait until db on a has caught up with b"
    assert runbook.describe({"wait": {"app_writes_to": "a"}}) == "wait until the application writes to a"
    assert runbook.describe({"check": {"checksums_equal": ["a", "b"], "database": "db"}}) == \
        "check that db is the same on a, b"
    assert runbook.describe({"check": {"lost_writes": 0}}) == "check that no acknowledged write was lost"
    assert runbook.describe({"repoint": "b"}) == "point the application at b"
    assert runbook.describe({"sql": ["UNLOCK TABLES", "SELECT 1"], "on": "b"}) == "on b: UNLOCK TABLES; SELECT 1"
    for s in ({"wait": {"on": "b", "database": "db", "state": "x"}}, {"check": {"lost_writes": 1}}):
        assert "{" not in runbook.describe(s) and "[" not in runbook.describe(s)


def test_a_failed_lost_writes_check_is_a_sentence() -> None:
    rpo = {"final_primary": "b", "lost_writes": 7, "lost_sample": [
        {"seq": 101, "acknowledged_by": "a", "at_s": 1.2345}, {"seq": 102, "acknowledged_by": "a", "at_s": 1.25}]}
    assert runbook.lost_text(rpo, 0) == ("7 acknowledged writes missing from b (expected 0): seq 101 acknowledged "
                                        "by a at 1.23s, seq 102 acknowledged by a at 1.25s and 5 more")
    one = {"final_primary": "b", "lost_writes": 1, "lost_sample": [{"seq": 9, "acknowledged_by": "a", "at_s": 2.0}]}
    assert runbook.lost_text(one, 0) == "1 acknowledged write missing from b (expected 0): seq 9 acknowledged by a at 2.00s"


def test_one_is_singular_and_json_lag_is_numbers() -> None:
    lag = {"b/db": {"records": 1, "seconds": 0.002}, "c/db": {"records": 0, "seconds": None}}
    rep = report(rpo={"final_primary": "b", "lost_writes": 1, "lost_window_s": 0.0},
                 app={"acknowledged_writes": 1, "failed_attempts": 1, "outages": 1, "last_error": ""},
                 rto_s=0.1, lag_at_kill=lag, checksums={"database": "db", "nodes": {"b": {}}, "equal": True})
    text = runbook.format_report(rep)
    assert "application: 1 acknowledged write, 1 failed attempt, 1 outage" in text
    assert "RPO: 1 acknowledged write lost" in text
    assert "replica lag at the kill: b/db 1 record (0.002s), c/db 0 records" in text
    back = json.loads(json.dumps(rep))
    assert back["lag_at_kill"]["b/db"] == {"records": 1, "seconds": 0.002}


def test_write_rate_is_over_the_time_the_app_has_run_and_unknown_at_first() -> None:
    app = WritingApp(lambda node: None, "a", ["t"], rate=100.0)
    app.started = time.monotonic()
    assert app.rate_now() is None  # nothing known yet
    # 50 writes in the app's first half second: 100/s, not 25/s (a 2 s window) or 0
    now = time.time()
    app.started = time.monotonic() - 0.5
    app.acked = [Ack(i, now - 0.01 * i, "a", "t") for i in range(50)]
    rate = app.rate_now()
    assert rate is not None and 90 <= rate <= 110
