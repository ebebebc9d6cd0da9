"""The catalog's state machine, positions, sources, and the history check a replica makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.catalog import DbInfo, IllegalTransition, Position, Role, SourceRef, State, change
from storage.history import HistoryDiverged, check_follows
from storage.record import Record
from storage.store import Store


def test_roles_and_states_print_singlestores_words() -> None:
    assert [str(r) for r in Role] == ["master", "async replica"]
    assert f"{State.PAUSED}" == "replication paused"
    assert DbInfo(id=1, name="x", state="replicating", role="async replica").following  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "to"), [
    ((Role.ASYNC_REPLICA, State.PROVISIONING), (Role.MASTER, State.ONLINE)),  # promote a half copy
    ((Role.MASTER, State.ONLINE), (Role.ASYNC_REPLICA, State.PAUSED)),
    ((Role.ASYNC_REPLICA, State.UNRECOVERABLE), (Role.ASYNC_REPLICA, State.REPLICATING)),
    ((Role.MASTER, State.ONLINE), (Role.ASYNC_REPLICA, State.ERROR)),
])
def test_illegal_transitions_are_refused_and_change_nothing(start: tuple[Role, State], to: tuple[Role, State]) -> None:
    info = DbInfo(id=1, name="app", role=start[0], state=start[1])
    with pytest.raises(IllegalTransition, match="cannot go from"):
        change(info, *to)
    assert (info.role, info.state) == start


def test_legal_transitions_through_a_replicas_life() -> None:
    info = DbInfo(id=1, name="app", role=Role.ASYNC_REPLICA, state=State.PROVISIONING)
    for role, state in [(Role.ASYNC_REPLICA, State.REPLICATING), (Role.ASYNC_REPLICA, State.ERROR),
                        (Role.ASYNC_REPLICA, State.REPLICATING), (Role.ASYNC_REPLICA, State.PAUSED),
                        (Role.MASTER, State.ONLINE), (Role.ASYNC_REPLICA, State.REPLICATING)]:
        change(info, role, state, "why")
        assert (info.role, info.state, info.details) == (role, state, "why")


def test_position_formats_and_parses_epoch_lsn() -> None:
    assert str(Position(2, 17)) == "2:17"
    assert Position.parse("2:17") == Position(2, 17)
    with pytest.raises(ValueError):
        Position.parse("17")


def test_source_ref_never_shows_its_password() -> None:
    src = SourceRef("repl", "s3cret", "::1", None, None).for_database("app")
    assert src.uri() == "[::1]:3306/app"
    assert "s3cret" not in repr(src) and "s3cret" not in str(src)
    assert SourceRef.from_json({"user": "u", "password": "", "host": "h", "port": 1, "db": "d"}).password is None


def test_check_follows_compares_history_tags_not_epoch_numbers() -> None:
    mine = [[1, 1, "aaa"]]
    check_follows(mine, 5, [[1, 1, "aaa"]], 9)  # the source is ahead on the same history
    check_follows(mine, 5, [[1, 1, "aaa"], [2, 8, "bbb"]], 9)  # it promoted after this copy's position
    with pytest.raises(HistoryDiverged, match="created separately"):
        check_follows(mine, 5, [[1, 1, "zzz"]], 9)  # same epoch number, another database
    with pytest.raises(HistoryDiverged, match="split after LSN 3"):
        check_follows(mine, 5, [[1, 1, "aaa"], [2, 4, "ccc"]], 9)  # promoted elsewhere before this position
    with pytest.raises(HistoryDiverged, match="holds only up to LSN 2"):
        check_follows(mine, 5, [[1, 1, "aaa"]], 2)  # the source lost records this copy has


def test_recovery_marks_one_database_unrecoverable_and_opens_the_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data, lambda conn: None)
    good, bad = store.create("good"), store.create("bad")
    for db in (good, bad):
        db.begin()
        db.execute("CREATE TABLE t (v TEXT)")
        db.execute("INSERT INTO t VALUES ('x')")
        db.commit()
    # a record that does not apply (its table is missing) sits in bad's log after its applied LSN
    rec = Record(bad.applied_lsn + 1, 1, 0.0, {"gone": ["v"]}, [["i", "gone", 1, ["y"]]])
    store.log.append(bad.info.id, [(rec.lsn, rec.encode())])
    store.close()
    store = Store(data, lambda conn: None)
    try:
        assert store.get("bad").info.state is State.UNRECOVERABLE  # type: ignore[union-attr]
        assert "no such table: gone; DROP DATABASE" in store.get("bad").info.details  # type: ignore[union-attr]
        assert store.get("good").info.state is State.ONLINE  # type: ignore[union-attr]
        assert store.get("good").reader.execute("SELECT v FROM t").fetchall() == [("x",)]  # type: ignore[union-attr]
    finally:
        store.close()
