"""Yellowbrick's database-mode grammar: CREATE DATABASE options, ALTER DATABASE ... SET, and the
statement names refusals quote."""

from __future__ import annotations

import pytest

from sqlfront import statements as st
from sqlfront.errors import SqlError
from sqlfront.yellowbrick import AddReplica, AlterDatabaseSet, AlterReplica, DropReplica, parse_yellowbrick


@pytest.mark.parametrize(("text", "hot"), [
    ("CREATE DATABASE x", False), ("create database x hot_standby on", True),
    ("CREATE DATABASE IF NOT EXISTS x HOT_STANDBY = OFF", False),
    ("CREATE SCHEMA `x y` DEFAULT CHARACTER SET = utf8mb4 COLLATE utf8mb4_bin HOT_STANDBY ON", True),
    ("CREATE DATABASE x CHARSET latin1 ENCRYPTION = 'N'", False),
])
def test_create_database_options(text: str, hot: bool) -> None:
    cmd = st.parse_statement(text)
    assert isinstance(cmd, st.CreateDatabase) and cmd.hot_standby is hot


@pytest.mark.parametrize(("text", "code", "named"), [
    ("CREATE DATABASE x foo bar baz", 1064, "'foo'"), ("CREATE DATABASE x HOT_STANDBY", 1064, "'HOT_STANDBY'"),
    ("CREATE DATABASE x CHARACTER SET utf8 PARTITIONS 8", 1064, "'PARTITIONS'"),
    ("CREATE DATABASE x READONLY ON", 1221, "READONLY"),
])
def test_unknown_create_database_options_are_named(text: str, code: int, named: str) -> None:
    with pytest.raises(SqlError) as e:
        st.parse_statement(text)
    assert e.value.code == code and named in e.value.message


def test_alter_database_set() -> None:
    assert parse_yellowbrick("alter database `p db` set hot_standby off") == AlterDatabaseSet("p db", "HOT_STANDBY", False)
    assert parse_yellowbrick("ALTER DATABASE p SET READONLY ON;") == AlterDatabaseSet("p", "READONLY", True)
    assert parse_yellowbrick("SELECT 1") is None
    assert parse_yellowbrick("ALTER DATABASE p CHARACTER SET utf8mb4") is None
    for bad, code in [("ALTER DATABASE p SET FROZEN ON", 1064), ("ALTER DATABASE p SET READONLY 2", 1064),
                      ("ALTER DATABASE p SET", 1064), ("ALTER DATABASE p DROP REPLICA", 1064),
                      ("DROP REMOTE SERVER", 1064), ("CREATE REMOTE SERVER s WITH (HOST 'h', X 'y')", 1064)]:
        with pytest.raises(SqlError) as e:
            parse_yellowbrick(bad)
        assert e.value.code == code


@pytest.mark.parametrize(("text", "verb"), [
    ("insert into t values (1)", "INSERT"), ("CREATE TABLE t (a INT)", "CREATE TABLE"),
    ("create unique index i on t (a)", "CREATE INDEX"), ("/* c */ TRUNCATE TABLE t", "TRUNCATE TABLE"),
])
def test_statement_verb(text: str, verb: str) -> None:
    assert st.statement_verb(text) == verb


def test_create_remote_server_keeps_its_password_out_of_reprs_and_processlist_text() -> None:
    from sqlfront.redact import redact
    from sqlfront.yellowbrick import CreateRemoteServer

    text = "create remote server ybeast with(host 'ybwest', port 3307, user 'r', password 'it''s')"
    cmd = parse_yellowbrick(text)
    assert cmd == CreateRemoteServer("ybeast", "ybwest", 3307, "r", "it's") and "it" not in repr(cmd).split("user")[1]
    assert redact(text) == redact(text, cmd) == text.replace("'it''s'", "'***'")


@pytest.mark.parametrize("text", [
    "alter database premdb add replica premdb_replica to ybwest with (alias premdb_replicated, frequency 60)",
    "alter database premdb_replicated add replica reverse_premdb_replica to ybeast "
    "with(alias premdb, reverse_replica premdb_replica, frequency 60)",
    "ALTER DATABASE x ADD REPLICA r TO s WITH (FREQUENCY 5, EXCLUDE 'a,b', SECURITY_MODE 'NONE', BW_LIMIT 10, "
    "TABLE_LEVEL_RESTART true)",
    "alter database premdb alter replica premdb_replica start", "ALTER DATABASE x ALTER REPLICA r START WITH CHAIN c",
    "alter database x alter replica r pause", "alter database x alter replica r resume",
    "alter database x alter replica r force", "alter database premdb alter replica premdb_replica promote",
    "alter database x alter replica r promote with data loss", "alter database x alter replica r with (frequency 5)",
    "alter database x drop replica r",
])
def test_replica_statements_parse(text: str) -> None:
    assert isinstance(parse_yellowbrick(text), (AddReplica, AlterReplica, DropReplica))


def test_replica_statements_carry_their_parts() -> None:
    assert parse_yellowbrick("alter database premdb_replicated add replica reverse_premdb_replica to ybeast "
                             "with(alias premdb, reverse_replica premdb_replica, frequency 60)") == AddReplica(
        "premdb_replicated", "reverse_premdb_replica", "ybeast",
        (("ALIAS", "premdb"), ("REVERSE_REPLICA", "premdb_replica"), ("FREQUENCY", "60")))
    assert parse_yellowbrick("ALTER DATABASE x ALTER REPLICA r PROMOTE  WITH DATA LOSS") == AlterReplica(
        "x", "r", "PROMOTE WITH DATA LOSS")
    assert parse_yellowbrick("alter database x alter replica r with (frequency 5)") == AlterReplica(
        "x", "r", "WITH", (("FREQUENCY", "5"),))
    assert parse_yellowbrick("alter database x drop replica `r`") == DropReplica("x", "r")


def test_the_internal_cycle_statement_round_trips() -> None:
    from replication.cycle import frame, unframe
    from sqlfront.yellowbrick import YbCycle, parse_cycle, quote_literal

    records = [(7, b"\x00abc"), (8, b"")]
    text = (f"YELLOWBRICK CYCLE {quote_literal('p' + chr(39) + 'q')} BASE 6 PART 0 FINAL "
            f"EPOCHS x'{b'[[1, 1]]'.hex()}' DATA x'{frame(records).hex()}'")
    cmd = parse_cycle(text)
    assert cmd == YbCycle("p'q", 6, 0, True, "[[1, 1]]", frame(records)) and unframe(cmd.data) == records
    assert parse_cycle("SELECT 1") is None
    with pytest.raises(SqlError):
        parse_cycle("YELLOWBRICK CYCLE 'x' BASE z")


@pytest.mark.parametrize(("text", "named"), [
    ("alter database x add replica r to s with (alias y)", "needs WITH (FREQUENCY"),
    ("alter database x add replica r to s with (frequency 60, colour 1)", "'colour 1'"),
    ("alter database x add replica r to s with (frequency 6x0)", "'frequency 6x0'"),
    ("alter database x add replica r to s with (frequency 60, security_mode 'SOME')", "'security_mode 'SOME''"),
    ("alter database x alter replica r with (alias y)", "'alias y'"),
    ("alter database x alter replica r explode", "ALTER REPLICA <name> START"),
    ("alter database x add replica r with (frequency 60)", "ADD REPLICA <name> TO <remote_server>"),
    ("alter database x drop replica", "DROP REPLICA <name>"),
])
def test_malformed_replica_statements_are_a_1064_naming_the_problem(text: str, named: str) -> None:
    with pytest.raises(SqlError) as e:
        parse_yellowbrick(text)
    assert e.value.code == 1064 and named in e.value.message
