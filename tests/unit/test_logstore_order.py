"""The log keeps every database's records whatever order the databases commit in."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.logstore import DuplicateLsn, LogStore


def test_interleaved_databases_keep_every_record(tmp_path: Path) -> None:
    log = LogStore(tmp_path / "log")
    try:
        log.append(2, [(1, b"b1")])
        log.append(1, [(1, b"a1")])  # a lower db id after a higher one has records
        log.append(2, [(2, b"b2")])
        log.append(1, [(2, b"a2"), (3, b"a3")])
        assert list(log.records(1, 0)) == [(1, b"a1"), (2, b"a2"), (3, b"a3")]
        assert list(log.records(2, 0)) == [(1, b"b1"), (2, b"b2")]
        assert (log.last_lsn(1), log.last_lsn(2)) == (3, 2)
    finally:
        log.close()


def test_an_lsn_is_never_written_twice(tmp_path: Path) -> None:
    log = LogStore(tmp_path / "log")
    try:
        log.append(1, [(1, b"first")])
        with pytest.raises(DuplicateLsn):
            log.append(1, [(1, b"second")])
        assert list(log.records(1, 0)) == [(1, b"first")]
    finally:
        log.close()
