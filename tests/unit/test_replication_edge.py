"""The seams around replication: its grammar on the node's feature registry, and its refusals
mapped to MySQL codes in the one table at the node's edge (server/errors.py)."""

from __future__ import annotations

import pytest

from replication.errors import (
    DatabaseExists,
    HistoryMismatch,
    LinkError,
    NotReady,
    ReplicationError,
    Stopped,
    UnknownDatabase,
    WrongState,
)
from replication.protocol import Fetch, Hello, MalformedStatement, parse_replication
from server.errors import to_sql_error
from server.features import Features
from sqlfront.statements import Dml


def test_the_replication_grammar_claims_its_statements_on_the_registry() -> None:
    features = Features()
    features.add_parser(parse_replication, first_words=("DRLAB",))
    assert features.parse("DRLAB REPLICATION HELLO 'app'") == Hello("app")
    assert isinstance(features.parse("SELECT 1"), Dml)  # not its statement: the MySQL grammar's turn
    fetch = features.parse("DRLAB REPLICATION FETCH 'app' ID 3 AFTER 7 EPOCH 2 WAIT 500 FROM 'h:1/app'")
    assert fetch == Fetch("app", 3, 7, 2, wait_ms=500, replica="h:1/app")
    with pytest.raises(MalformedStatement) as e:
        features.parse("DRLAB REPLICATION FETCH 'app' AFTER 7")
    mapped = to_sql_error(e.value)
    assert mapped is not None and mapped.code == 1064 and "needs ID, AFTER and EPOCH" in mapped.message


@pytest.mark.parametrize(("error", "code"), [
    (UnknownDatabase("x"), 1049), (DatabaseExists("x"), 1007), (WrongState("x"), 1210), (NotReady("x"), 1290),
    (HistoryMismatch("x"), 1236), (Stopped("x"), 1317), (ReplicationError("x"), 1105),
    (LinkError(1045, "x"), 1045),  # what the source answered passes through
    (LinkError(2003, "x"), 1429), (LinkError(2013, "x"), 1429),  # could not reach it: a server-side code
])
def test_replication_refusals_map_to_mysql_codes_at_the_edge(error: ReplicationError, code: int) -> None:
    mapped = to_sql_error(error)
    assert mapped is not None and (mapped.code, mapped.message) == (code, "x")
