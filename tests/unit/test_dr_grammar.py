"""The DR statements' grammar (sqlfront.dr): commands, 1064s that name the bad part, and None for others."""

from __future__ import annotations

import pytest

from sqlfront.dr import (
    ContinueReplicating,
    FlushTables,
    PauseReplicating,
    Replicate,
    StopReplicating,
    UnlockTables,
    parse_dr,
)
from sqlfront.errors import SqlError
from storage.catalog import SourceRef


def src(
    user: str = "root",
    password: str | None = None,
    host: str = "h",
    port: int | None = None,
    db: str | None = None,
) -> SourceRef:
    return SourceRef(user, password, host, port, db)


# -- well-formed ------------------------------------------------------------------------------------

PARSE_CASES = [
    # the vendor documentation's examples
    (
        "REPLICATE DATABASE ExampleDB1 FROM root@ClusterA-ma:3306;",
        Replicate("ExampleDB1", src(host="ClusterA-ma", port=3306)),
    ),
    (
        "REPLICATE DATABASE db_name FROM root:'root_password'@primary-MA:3306;",
        Replicate("db_name", src(password="root_password", host="primary-MA", port=3306)),
    ),
    (
        "REPLICATE DATABASE ExampleDB1 WITH FORCE DIFFERENTIAL FROM root@ClusterB-ma:3306;",
        Replicate("ExampleDB1", src(host="ClusterB-ma", port=3306), differential=True),
    ),
    # durability (7.0 / 7.1)
    ("REPLICATE DATABASE d WITH SYNC DURABILITY FROM r@h", Replicate("d", src("r"), durability="sync")),
    ("replicate database d with async durability from r@h", Replicate("d", src("r"), durability="async")),
    # hosts
    ("REPLICATE DATABASE d FROM r@10.0.0.1:3307", Replicate("d", src("r", host="10.0.0.1", port=3307))),
    ("REPLICATE DATABASE d FROM r@[::1]:3306", Replicate("d", src("r", host="::1", port=3306))),
    ("REPLICATE DATABASE d FROM r@[fe80::1%eth0]", Replicate("d", src("r", host="fe80::1%eth0"))),
    (
        "REPLICATE DATABASE d FROM r@[2001:db8::5]:3307/src",
        Replicate("d", src("r", host="2001:db8::5", port=3307, db="src")),
    ),
    ("REPLICATE DATABASE d FROM r@'ClusterA-ma':1", Replicate("d", src("r", host="ClusterA-ma", port=1))),
    (
        "REPLICATE DATABASE d FROM r@db.example.com:65535",
        Replicate("d", src("r", host="db.example.com", port=65535)),
    ),
    # passwords: quotes, escapes, separators inside, unquoted (v5), empty
    ("REPLICATE DATABASE d FROM r:'it''s'@h", Replicate("d", src("r", "it's"))),
    ("REPLICATE DATABASE d FROM r:'it\\'s'@h", Replicate("d", src("r", "it's"))),
    ("REPLICATE DATABASE d FROM r:'p@ss:w/rd'@h:3306", Replicate("d", src("r", "p@ss:w/rd", port=3306))),
    ("REPLICATE DATABASE d FROM r:'back\\\\slash'@h", Replicate("d", src("r", "back\\slash"))),
    ('REPLICATE DATABASE d FROM r:"dq\'pw"@h', Replicate("d", src("r", "dq'pw"))),
    ("REPLICATE DATABASE d FROM r:pw@h", Replicate("d", src("r", "pw"))),
    ("REPLICATE DATABASE d FROM r:''@h", Replicate("d", src("r", ""))),
    # the source database
    ("REPLICATE DATABASE d FROM r@h:3306/src", Replicate("d", src("r", port=3306, db="src"))),
    ("REPLICATE DATABASE d FROM r@h/`a``b`", Replicate("d", src("r", db="a`b"))),
    # quoted names
    ("REPLICATE DATABASE `my db` FROM `root`@h", Replicate("my db", src())),
    ("REPLICATE DATABASE `a``b` FROM 'root'@h", Replicate("a`b", src())),
    ("REPLICATE DATABASE d FROM \"root\":'pw'@'h'", Replicate("d", src(password="pw"))),
    # blanks, comments, a trailing ';', several lines
    (
        "  /* failback */ REPLICATE DATABASE d\n  WITH FORCE DIFFERENTIAL\n  FROM r @ h : 3306 ; -- done\n",
        Replicate("d", src("r", port=3306), differential=True),
    ),
    ("# note\nREPLICATE DATABASE d FROM r@h # trailing", Replicate("d", src("r"))),
    # the other statements
    ("PAUSE REPLICATING d", PauseReplicating("d")),
    ("continue replicating `my db`;", ContinueReplicating("my db")),
    ("STOP REPLICATING ExampleDB1 -- promote", StopReplicating("ExampleDB1")),
    ("FLUSH TABLES WITH READ ONLY", FlushTables(None, "read only")),
    ("flush tables with read lock;", FlushTables(None, "read lock")),
    ("FLUSH TABLES ON `d b` WITH READ ONLY", FlushTables("d b", "read only")),
    ("FLUSH TABLE ON d WITH READ LOCK", FlushTables("d", "read lock")),
    ("UNLOCK TABLES", UnlockTables(None)),
    ("unlock tables on d;", UnlockTables("d")),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parses(text: str, expected: object) -> None:
    assert parse_dr(text) == expected


# -- not a DR statement -----------------------------------------------------------------------------

OTHER_STATEMENTS = [
    "SELECT 1",
    "",
    "   ",
    "-- only a comment",
    "FLUSH PRIVILEGES",
    "FLUSH TABLES",
    "FLUSH TABLES t1, t2",
    "FLUSH LOGS",
    "STOP SLAVE",
    "START SLAVE",
    "STOP REPLICA",
    "STOP PIPELINE x",
    "START PIPELINE x",
    "ALTER PIPELINE x SET OFFSETS EARLIEST",
    "LOCK TABLES t READ",
    "UNLOCK INSTANCE",
    "SHOW REPLICATION STATUS",
    "CREATE DATABASE replicate_me",
    "SELECT 'unterminated",
    "PAUSE",
    "CONTINUE",
    "STOP REPLICATION d",
]


@pytest.mark.parametrize("text", OTHER_STATEMENTS)
def test_other_statements_are_not_claimed(text: str) -> None:
    assert parse_dr(text) is None


# -- malformed: 1064 with the bad part and what was expected ----------------------------------------

ERROR_CASES = [
    # (text, the `near '…'` text, what the message says was expected)
    ("REPLICATE DATABASE d FROM root@:3306", "near '@:3306'", "expected a host after '@'"),
    ("REPLICATE DATABASE d FROM root@", "near '@'", "expected a host after '@'"),
    ("REPLICATE DATABASE d FROM r@::1", "near '@::1'", "IPv6 address in brackets"),
    ("REPLICATE DATABASE d FROM r@fe80::1:3306", "near 'fe80::1:3306'", "IPv6 address in brackets"),
    ("REPLICATE DATABASE d FROM r@[::g]", "near '[::g]'", "expected an IPv6 address in brackets"),
    ("REPLICATE DATABASE d FROM r@[::1", "near '[::1'", "expected an IPv6 address in brackets"),
    ("REPLICATE DATABASE d FROM r@300.1.1.1", "near '300.1.1.1'", "not a valid IPv4 address"),
    ("REPLICATE DATABASE d FROM r@''", "near ''''", "expected a host after '@', not an empty name"),
    ("REPLICATE DATABASE d FROM r@h:0", "near ':0'", "port 0 is out of range: expected 1-65535"),
    ("REPLICATE DATABASE d FROM r@h:99999", "near ':99999'", "port 99999 is out of range"),
    ("REPLICATE DATABASE d FROM r@h:65536", "near ':65536'", "port 65536 is out of range"),
    ("REPLICATE DATABASE d FROM r@h:abc", "near ':abc'", "expected a port number (1-65535) after ':'"),
    ("REPLICATE DATABASE d FROM r@h:3306x", "near ':3306x'", "expected a port number"),
    ("REPLICATE DATABASE d FROM r@h:", "near ':'", "expected a port number"),
    ("REPLICATE DATABASE d FROM r@h:3306/", "near ''", "expected the source database name after '/'"),
    ("REPLICATE DATABASE d FROM r@h/'db'", "near ''db''", "expected the source database name"),
    ("REPLICATE DATABASE d FROM r@h:3306 extra", "near 'extra'", "unexpected text after the source"),
    ("REPLICATE DATABASE d FROM r@h; SELECT 1", "near 'SELECT 1'", "unexpected text after the source"),
    ("REPLICATE DATABASE d FROM r h", "near 'h'", "expected '@' and the source host"),
    ("REPLICATE DATABASE d FROM @h", "near '@h'", "expected a user name after FROM"),
    ("REPLICATE DATABASE d FROM ''@h", "near '''@h'", "expected a user name after FROM"),
    ("REPLICATE DATABASE d FROM", "near ''", "expected a user name after FROM"),
    ("REPLICATE DATABASE d FROM r:@h", "near '@h'", "expected a password after ':'"),
    ("REPLICATE DATABASE d FROM r:`pw`@h", "near '`pw`@h'", "expected a password after ':'"),
    ("REPLICATE DATABASE d", "near ''", "expected FROM user[:'password']@host"),
    ("REPLICATE DATABASE d TO r@h", "near 'TO r@h'", "expected FROM"),
    ("REPLICATE DATABASE FROM r@h", "near 'FROM r@h'", "expected a database name after REPLICATE DATABASE"),
    ("REPLICATE DATABASE 'd' FROM r@h", "near ''d' FROM r@h'", "quote a name with backquotes"),
    ("REPLICATE DATABASE a.b FROM r@h", "near '.b FROM r@h'", "expected FROM"),
    ("REPLICATE d FROM r@h", "near 'd FROM r@h'", "expected DATABASE after REPLICATE"),
    ("REPLICATE", "near ''", "expected DATABASE after REPLICATE"),
    ("REPLICATE DATABASE d WITH FROM r@h", "near 'FROM r@h'", "expected FORCE DIFFERENTIAL, SYNC DURABILITY"),
    ("REPLICATE DATABASE d WITH FORCE FROM r@h", "near 'FROM r@h'", "expected DIFFERENTIAL after WITH FORCE"),
    ("REPLICATE DATABASE d WITH SYNC FROM r@h", "near 'FROM r@h'", "expected DURABILITY after WITH SYNC"),
    (
        "REPLICATE DATABASE d WITH FORCE DIFFERENTIAL WITH SYNC DURABILITY FROM r@h",
        "near 'SYNC DURABILITY FROM r@h'",
        "WITH FORCE DIFFERENTIAL and SYNC DURABILITY cannot be combined",
    ),
    (
        "REPLICATE DATABASE d WITH ASYNC DURABILITY, FORCE DIFFERENTIAL FROM r@h",
        "near 'FORCE DIFFERENTIAL FROM r@h'",
        "cannot be combined",
    ),
    (
        "REPLICATE DATABASE d WITH SYNC DURABILITY WITH ASYNC DURABILITY FROM r@h",
        "near 'ASYNC DURABILITY FROM r@h'",
        "cannot be combined",
    ),
    (
        "REPLICATE DATABASE d WITH SYNC DURABILITY, SYNC DURABILITY FROM r@h",
        "near 'SYNC DURABILITY FROM r@h'",
        "SYNC DURABILITY is given twice",
    ),
    ("REPLICATE DATABASE `d FROM r@h", "near '`d FROM r@h'", "unterminated identifier"),
    ("REPLICATE DATABASE d FROM r@h /* note", "near '/* note'", "unterminated comment"),
    ("STOP REPLICATING", "near ''", "expected one database name after STOP REPLICATING"),
    ("PAUSE REPLICATING a, b", "near ', b'", "it takes exactly one database name"),
    ("CONTINUE REPLICATING a b", "near 'b'", "it takes exactly one database name"),
    ("STOP REPLICATING 'd'", "near ''d''", "quote a name with backquotes"),
    ("FLUSH TABLES WITH READ", "near ''", "expected LOCK or ONLY after WITH READ"),
    ("FLUSH TABLES WITH READ WRITE", "near 'WRITE'", "expected LOCK or ONLY after WITH READ"),
    ("FLUSH TABLES WITH LOCK", "near 'LOCK'", "expected READ after WITH"),
    ("FLUSH TABLES ON WITH READ LOCK", "near 'WITH READ LOCK'", "expected a database name after ON"),
    ("FLUSH TABLES t1 WITH READ LOCK", "near 't1 WITH READ LOCK'", "expected ON db_name or WITH READ"),
    ("FLUSH TABLES WITH READ ONLY now", "near 'now'", "unexpected text after WITH READ ONLY"),
    ("UNLOCK TABLES d", "near 'd'", "unexpected text after UNLOCK TABLES [ON db_name]"),
    ("UNLOCK TABLES ON", "near ''", "expected a database name after ON"),
]


@pytest.mark.parametrize(("text", "near", "expected"), ERROR_CASES)
def test_malformed_is_1064_naming_the_bad_part(text: str, near: str, expected: str) -> None:
    with pytest.raises(SqlError) as info:
        parse_dr(text)
    err = info.value
    assert (err.code, err.sqlstate) == (1064, "42000")
    assert err.message.startswith("You have an error in your SQL syntax; check the manual")
    assert f"{near} at line 1: " in err.message
    assert expected in err.message


def test_error_line_number_counts_newlines() -> None:
    with pytest.raises(SqlError) as info:
        parse_dr("REPLICATE DATABASE d\nFROM r@h\n:0")
    assert "near ':0' at line 3: port 0 is out of range" in info.value.message


# -- the password stays secret ---------------------------------------------------------------------

SECRET = "Tops3cret"


@pytest.mark.parametrize(
    "text",
    [
        f"REPLICATE DATABASE FROM r:'{SECRET}'@h",  # error before the source
        f"REPLICATE DATABASE d FROM :'{SECRET}'@h",  # error at the user
        f"REPLICATE DATABASE d FROM r:'{SECRET}'h",  # error right after the password
        f"REPLICATE DATABASE d FROM r:'{SECRET}@h:3306",  # the password never closes
        f'REPLICATE DATABASE d FROM r:"{SECRET}" x',
        f"REPLICATE DATABASE d WITH BOGUS FROM r:{SECRET}@h",  # unquoted password
        f"REPLICATE DATABASE d FROM r:_utf8mb4'{SECRET}'@h",  # a charset-prefixed string is no password
    ],
)
def test_errors_never_show_the_password(text: str) -> None:
    with pytest.raises(SqlError) as info:
        parse_dr(text)
    assert SECRET not in info.value.message
    assert SECRET not in repr(info.value)


def test_error_masks_a_password_it_points_past() -> None:
    with pytest.raises(SqlError) as info:
        parse_dr(f"REPLICATE DATABASE d FROM :'{SECRET}'@h")
    assert "near ':'***'@h' at line 1: expected a user name" in info.value.message


def test_repr_and_uri_never_show_the_password() -> None:
    cmd = parse_dr(f"REPLICATE DATABASE d FROM repl:'{SECRET}'@[::1]:3307/src")
    assert isinstance(cmd, Replicate)
    assert cmd.source.password == SECRET
    for shown in (repr(cmd), str(cmd), repr(cmd.source), str(cmd.source), cmd.source.uri("d")):
        assert SECRET not in shown
    assert "password='***'" in repr(cmd.source)
    assert "password=None" in repr(src())


URI_CASES = [
    (src(host="ClusterA-ma", port=3306), "ClusterA-ma:3306/local"),
    (src(host="h"), "h:3306/local"),  # port defaults to 3306
    (src(host="10.0.0.1", port=3307, db="src"), "10.0.0.1:3307/src"),
    (src(password="pw", host="::1"), "[::1]:3306/local"),
    (src(host="fe80::1%eth0", port=1, db="x"), "[fe80::1%eth0]:1/x"),
]


@pytest.mark.parametrize(("source", "uri"), URI_CASES)
def test_uri(source: SourceRef, uri: str) -> None:
    assert source.uri("local") == uri


@pytest.mark.parametrize(
    "text",
    [
        "-- a\n/* b */ # c\n  STOP REPLICATING d",
        "--\nSTOP REPLICATING d",
        "/*x*/STOP REPLICATING d",
    ],
)
def test_leading_comments_are_skipped(text: str) -> None:
    assert parse_dr(text) == StopReplicating("d")


def test_the_three_replicating_commands_are_distinct() -> None:
    assert PauseReplicating("d") != StopReplicating("d")
    assert repr(ContinueReplicating("d")) == "ContinueReplicating(db='d')"
