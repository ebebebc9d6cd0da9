"""The hand-written grammars on one lexer, seen from a stock client: comments and escapes as MySQL
reads them, syntax errors that point at the bad part, and a node that keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import pymysql
import pytest

from lab.harness import NodeProcess

PW = "gr4mmar-pw"
NEAR = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version " \
       "for the right syntax to use near "


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("grammar") / "data", password=PW, name="grammar").start()
    n.sql("CREATE DATABASE app")
    yield n
    n.stop()


def error_of(srv: NodeProcess, sql: str) -> tuple[int, str]:
    with srv.connect() as c, c.cursor() as cur, pytest.raises(pymysql.MySQLError) as info:
        cur.execute(sql)
    return info.value.args[0], info.value.args[1]


def test_comments_around_the_keywords_are_skipped(srv: NodeProcess) -> None:
    with srv.connect(database="app") as c, c.cursor() as cur:
        cur.execute("/* deploy step 3 */ SHOW /* all */ PIPELINES -- none yet")
        assert cur.fetchall() == ()
        cur.execute("CREATE /* the app */ USER 'g1'@'%' IDENTIFIED BY 'pw1' -- done")
    with srv.connect(user="g1", password="pw1") as c, c.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == ("g1@%",)


def test_a_password_with_backslash_percent_is_stored_as_mysql_reads_it(srv: NodeProcess) -> None:
    srv.sql(r"CREATE USER 'g2'@'%' IDENTIFIED BY 'a\%b\_c'")
    with srv.connect(user="g2", password=r"a\%b\_c") as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    with pytest.raises(pymysql.MySQLError) as info:
        srv.connect(user="g2", password="a%b_c")
    assert info.value.args[0] == 1045


def test_syntax_errors_point_at_the_bad_part_and_the_node_keeps_serving(srv: NodeProcess) -> None:
    assert error_of(srv, "CREATE USER g3\nIDENTIFIED BY 'oops") == (
        1064, NEAR + "''oops' at line 2: unterminated quoted string")
    assert error_of(srv, "CREATE USER g3 garbage !") == (1064, NEAR + "'garbage !' at line 1")
    code, message = error_of(srv, "REPLICATE DATABASE 0x1A FROM root@127.0.0.1:1")
    assert code == 1064
    assert message.endswith("near '0x1A FROM root@127.0.0.1:1' at line 1: expected a database name after "
                            "REPLICATE DATABASE")
    assert srv.sql("SELECT 2") == [(2,)]
