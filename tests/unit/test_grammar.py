"""The shared lexer and Parser base (sqlfront.grammar), the one parse entry (sqlfront.grammars), and what
the DR, accounts and pipelines grammars now do as MySQL does since they share them."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest

from sqlfront import accounts, dr, pipelines, retention
from sqlfront.errors import SqlError
from sqlfront.grammar import Kind, Parser, leading_words, tokenize
from sqlfront.grammars import Grammars
from sqlfront.redact import redact
from sqlfront.statements import Dml, Txn
from storage.catalog import SourceRef

NEAR = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version " \
       "for the right syntax to use near "


def kinds(text: str) -> list[tuple[Kind, str]]:
    return [(t.kind, t.value) for t in tokenize(text)]


# -- the lexer --------------------------------------------------------------------------------------


def test_comments_are_skipped_wherever_they_stand() -> None:
    text = "/* lead */ -- line\n# hash\nA /* mid */ B -- tail"
    assert kinds(text) == [(Kind.WORD, "A"), (Kind.WORD, "B")]


def test_double_dash_needs_a_blank_or_the_end_as_in_mysql() -> None:
    assert kinds("a --x") == [(Kind.WORD, "a"), (Kind.PUNCT, "-"), (Kind.PUNCT, "-"), (Kind.WORD, "x")]
    assert kinds("a --\tx\nb --") == [(Kind.WORD, "a"), (Kind.WORD, "b")]


def test_strings_take_mysql_escapes_and_doubled_quotes() -> None:
    assert kinds(r"'it''s' 'a\'b' 'x\ny' 'c:\\d' '\%\_' 'q\q' " + '"d""q"') == [
        (Kind.STRING, "it's"),
        (Kind.STRING, "a'b"),
        (Kind.STRING, "x\ny"),
        (Kind.STRING, "c:\\d"),
        (Kind.STRING, "\\%\\_"),  # kept for LIKE, as MySQL keeps them
        (Kind.STRING, "qq"),
        (Kind.STRING, 'd"q'),
    ]


def test_identifiers_numbers_hex_words_and_punctuation() -> None:
    assert kinds("`a``b` 42 1p 0x1F x'41' $w é , ;x") == [
        (Kind.IDENT, "a`b"),
        (Kind.NUMBER, "42"),
        (Kind.WORD, "1p"),  # MySQL names may start with a digit
        (Kind.HEX, "1F"),
        (Kind.HEX, "41"),
        (Kind.WORD, "$w"),
        (Kind.WORD, "é"),
        (Kind.PUNCT, ","),
        (Kind.PUNCT, ";"),
        (Kind.WORD, "x"),
    ]


@pytest.mark.parametrize(
    ("text", "what", "start"),
    [("a 'open", "quoted string", 2), ("a 'it''", "quoted string", 2), ('a "x\\', "quoted string", 2),
     ("a `b", "identifier", 2), ("a /* open", "comment", 2)],
)
def test_what_never_closes_is_one_token_to_the_end(text: str, what: str, start: int) -> None:
    last = tokenize(text)[-1]
    assert (last.kind, last.value, last.start, last.end) == (Kind.UNTERMINATED, what, start, len(text))


def test_trailing_semicolons_are_not_tokens() -> None:
    assert kinds("a ; ;; -- c") == [(Kind.WORD, "a")]
    assert kinds("a; b") == [(Kind.WORD, "a"), (Kind.PUNCT, ";"), (Kind.WORD, "b")]


def test_offsets_point_into_the_text() -> None:
    text = "x  'ab' `c`"
    assert [text[t.start:t.end] for t in tokenize(text)] == ["x", "'ab'", "`c`"]
    assert [t.text for t in tokenize(text, 3)] == ["'ab'", "`c`"]


def test_leading_words_skip_comments_and_stop_at_a_non_word() -> None:
    assert leading_words("  /* a */ -- b\n# c\n show Grants FOR x", 2) == ("SHOW", "GRANTS")
    assert leading_words("create `t` x", 3) == ("CREATE",)
    assert leading_words("STOP 12", 2) == ("STOP",)
    assert leading_words("-- only a comment", 1) == ()
    assert leading_words("", 1) == ()


# -- the Parser base --------------------------------------------------------------------------------


def test_steps_consume_what_they_match() -> None:
    p = Parser("ALTER thing `t 1` SET a = 'v', b = 7;")
    assert p.accept("ALTER") and not p.accept("ALTER")
    assert p.identifier() == "thing" and p.identifier() == "t 1"
    p.expect("SET")

    def assignment() -> tuple[str, str]:
        name = p.identifier()
        p.expect_punct("=")
        return name, p.take(Kind.STRING, Kind.NUMBER).value

    assert p.comma_list(assignment) == [("a", "v"), ("b", "7")]
    assert p.at_end()
    p.end()


def test_keywords_are_case_insensitive_and_accept_any_names_the_one_found() -> None:
    p = Parser("with Sync durability")
    assert p.accept_any("ASYNC", "SYNC", "WITH") == "WITH"
    assert p.at("SYNC", "DURABILITY") and not p.at("SYNC", "X")
    assert p.expect_any("SYNC", "ASYNC") == "SYNC"


def test_an_error_is_mysqls_1064_near_the_next_token_with_its_line() -> None:
    p = Parser("ADD AGGREGATOR\n  h:3306 extra")
    p.expect("ADD", "AGGREGATOR")
    p.identifier()
    with pytest.raises(SqlError) as info:
        p.end("expected the end of the statement")
    err = info.value
    assert (err.code, err.sqlstate) == (1064, "42000")
    assert err.message == NEAR + "':3306 extra' at line 2: expected the end of the statement"
    with pytest.raises(SqlError) as info:
        Parser("X").number()
    assert info.value.message == NEAR + "'X' at line 1"  # no hint given: MySQL's bare message


def test_an_error_at_an_unterminated_quote_says_so() -> None:
    p = Parser("SET x = 'oops")
    p.expect("SET")
    p.identifier()
    p.expect_punct("=")
    with pytest.raises(SqlError) as info:
        p.string("expected a string")
    assert info.value.message == NEAR + "''oops' at line 1: unterminated quoted string"


def test_after_a_semicolon_only_more_semicolons_may_follow() -> None:
    p = Parser("GO; SELECT 1")
    p.expect("GO")
    assert p.at_end()  # the statement ends at the ';'
    with pytest.raises(SqlError) as info:
        p.end()
    assert "near 'SELECT 1'" in info.value.message


def test_raw_reads_a_grammars_own_form_and_the_tokens_resume_after_it() -> None:
    p = Parser("TO u@10.0.0.% /* c */ x")
    p.expect("TO")
    p.identifier()
    p.expect_punct("@")
    assert p.raw(re.compile(r"[0-9.%]+")) == "10.0.0.%"
    assert p.raw(re.compile(r"[0-9.%]+")) is None
    assert p.identifier() == "x"


def test_an_empty_backquoted_name_is_no_identifier() -> None:
    with pytest.raises(SqlError):
        Parser("``").identifier()


# -- a grammar written on the base, registered from outside sqlfront ---------------------------------


@dataclass(frozen=True)
class AddAggregator:
    user: str
    password: str
    host: str
    port: int


def parse_add_aggregator(text: str) -> AddAggregator | None:
    """SingleStore's `ADD AGGREGATOR user:'password'@'host':port`: a new grammar in a few lines."""
    if leading_words(text, 2) != ("ADD", "AGGREGATOR"):
        return None
    p = Parser(text)
    p.expect("ADD", "AGGREGATOR")
    user = p.identifier("expected user:'password'@'host':port")
    p.expect_punct(":", "expected ':' and the password")
    password = p.string("expected the password as a quoted string")
    p.expect_punct("@", "expected '@' and the host")
    host = p.string("expected the host as a quoted string")
    p.expect_punct(":", "expected ':' and the port")
    port = p.number("expected a port number")
    p.end("expected the end of ADD AGGREGATOR")
    return AddAggregator(user, password, host, port)


def test_a_registered_grammar_gets_the_statements_starting_with_its_words() -> None:
    grammars = Grammars()
    grammars.register(parse_add_aggregator, first_words=("add",))
    assert grammars.parse("/* scale out */ ADD AGGREGATOR root:'pw'@'10.0.0.2':3306;") == AddAggregator(
        "root", "pw", "10.0.0.2", 3306)
    with pytest.raises(SqlError) as info:
        grammars.parse("ADD AGGREGATOR root:'pw'@'h':port")
    assert info.value.message == NEAR + "'port' at line 1: expected a port number"


def test_what_no_grammar_claims_goes_to_the_mysql_grammar() -> None:
    grammars = Grammars()
    grammars.register(parse_add_aggregator, first_words=("ADD",))
    assert isinstance(grammars.parse("SELECT 1"), Dml)
    assert grammars.parse("BEGIN") == Txn("begin")
    with pytest.raises(SqlError) as info:
        grammars.parse("ADD 1")  # the grammar says None: not its statement
    assert info.value.code == 1064


def test_grammars_for_the_same_word_are_tried_in_registration_order() -> None:
    grammars = Grammars()
    grammars.register(lambda text: "first" if "DATA LOSS" in text.upper() else None, first_words=("PROMOTE",))
    grammars.register(lambda text: "second", first_words=("PROMOTE",))
    assert grammars.parse("PROMOTE WITH DATA LOSS") == "first"
    assert grammars.parse("promote") == "second"


def test_sqlfronts_own_grammars_are_registered() -> None:
    grammars = Grammars()
    assert isinstance(grammars.parse("STOP REPLICATING d"), dr.StopReplicating)
    assert isinstance(grammars.parse("STOP PIPELINE p"), pipelines.StopPipeline)
    assert isinstance(grammars.parse("SHOW GRANTS"), accounts.ShowGrants)
    assert isinstance(grammars.parse("SHOW PIPELINES"), pipelines.ShowPipelines)


# -- what the ports changed, each as MySQL does it ----------------------------------------------------


def test_account_statements_skip_comments_between_their_words() -> None:
    assert accounts.parse_account_statement("CREATE /* note */ USER a") == accounts.CreateUser("a")
    assert accounts.parse_account_statement("GRANT SELECT ON *.* TO u -- done") == accounts.Grant(
        ["SELECT"], "*", "*", "u")


def test_a_password_behind_a_comment_between_the_keywords_is_redacted() -> None:
    assert redact("CREATE /* app */ USER a IDENTIFIED BY 'hunter2'") == (
        "CREATE /* app */ USER a IDENTIFIED BY '***'")


def test_a_password_keeps_the_backslash_of_percent_and_underscore() -> None:
    cmd = accounts.parse_account_statement(r"CREATE USER a IDENTIFIED BY 'a\%b\_c\n'")
    assert isinstance(cmd, accounts.CreateUser)
    assert cmd.password == "a\\%b\\_c\n"


def test_an_account_error_points_at_the_first_token_the_grammar_cannot_use() -> None:
    with pytest.raises(SqlError) as info:
        accounts.parse_account_statement("CREATE USER a garbage !")
    assert info.value.message == NEAR + "'garbage !' at line 1"
    with pytest.raises(SqlError) as info:
        accounts.parse_account_statement("CREATE USER a\nIDENTIFIED BY 'oops")
    assert info.value.message == NEAR + "''oops' at line 2: unterminated quoted string"


@pytest.mark.parametrize("text", [
    "/* c */ START PIPELINE p", "START PIPELINE p -- c", "START /* c */ PIPELINE p", "# c\nSTART PIPELINE p",
])
def test_pipeline_statements_skip_comments(text: str) -> None:
    assert pipelines.parse_pipeline_statement(text) == pipelines.StartPipeline("p")


def test_snapshot_database_errors_in_mysqls_words_and_skips_comments() -> None:
    with pytest.raises(SqlError) as info:
        retention.parse_snapshot("SNAPSHOT DATABASE a b")
    assert info.value.message == NEAR + "'b' at line 1: expected SNAPSHOT [DATABASE] <database_name>"
    assert retention.parse_snapshot("/* nightly */ SNAPSHOT app") == retention.SnapshotDatabase("app")


def test_a_hex_literal_is_no_database_name() -> None:
    with pytest.raises(SqlError) as info:
        dr.parse_dr("REPLICATE DATABASE 0x1A FROM r@h")
    assert "near '0x1A FROM r@h' at line 1: expected a database name" in info.value.message


def test_a_comment_after_the_source_is_no_database_separator() -> None:
    assert dr.parse_dr("REPLICATE DATABASE d FROM r@h:3306 /* failback */") == dr.Replicate(
        "d", SourceRef("r", None, "h", 3306, None))


def test_an_unterminated_identifier_is_shown_from_its_first_backquote() -> None:
    with pytest.raises(SqlError) as info:
        dr.parse_dr("REPLICATE DATABASE `a``b FROM r@h")
    assert "near '`a``b FROM r@h' at line 1: unterminated identifier" in info.value.message


def test_an_open_password_with_doubled_quotes_stays_hidden() -> None:
    text = "REPLICATE DATABASE d FROM r:'ab''cdSECRET@h"
    with pytest.raises(SqlError) as info:
        dr.parse_dr(text)
    assert "SECRET" not in info.value.message
    assert "SECRET" not in redact(text)


@pytest.mark.parametrize(("text", "near"), [("SHOW", "''"), ("show  ", "''"), ("SET x = ;", "';'"),
                                            ("SET @v = # none", "'# none'")])
def test_a_bare_show_or_a_set_without_a_value_is_a_1064_not_an_internal_error(text: str, near: str) -> None:
    with pytest.raises(SqlError) as info:
        Grammars().parse(text)
    assert info.value.code == 1064
    assert f"near {near} at line 1" in info.value.message


SEEDS = [
    "REPLICATE DATABASE d WITH FORCE DIFFERENTIAL FROM r:'p''w'@[::1]:3306/src;",
    "/* x */ FLUSH TABLES ON `d` WITH READ ONLY", "UNLOCK TABLES ON d", "STOP REPLICATING `a``b`",
    "CREATE USER IF NOT EXISTS 'u'@'10.0.%' IDENTIFIED WITH caching_sha2_password BY 'p\\'w'",
    "GRANT SELECT, INSERT ON app.* TO u@localhost WITH GRANT OPTION", "SET PASSWORD FOR u = PASSWORD('x')",
    "REVOKE ALL PRIVILEGES, GRANT OPTION FROM u", "SHOW GRANTS FOR CURRENT_USER()",
    "CREATE PIPELINE p AS LOAD DATA FS '/in/*.csv' INTO TABLE t FIELDS TERMINATED BY ',' (a, @b) SET c = @b",
    "START PIPELINE p FOREGROUND LIMIT 2 BATCHES", "ALTER PIPELINE p SET BATCH_INTERVAL 5", "SHOW PIPELINES LIKE 'x%'",
    "SET @a = 1, autocommit = ON", "SHOW FULL TABLES FROM app LIKE 't%'", "SELECT 1 -- c",
]
PIECES = list("'\"`/*-#;@:,.()[]\\ \n\t%_$=0x") + ["FROM", "USER", "PIPELINE", "WITH", "SET", "SHOW", "é"]


def test_any_mangled_statement_gets_a_mysql_error_never_an_internal_one() -> None:
    rnd = random.Random(2026)
    grammars = Grammars()
    for _ in range(3000):
        text = rnd.choice(SEEDS)
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randint(0, len(text))
            text = text[:at] + rnd.choice(PIECES) + text[at + rnd.randint(0, 2):]
        try:
            grammars.parse(text)
        except SqlError:
            pass
