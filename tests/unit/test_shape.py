"""Unit tests for statement shapes: literals become bound values only where that keeps the meaning."""

import pytest
import sqlglot

from sqlfront.shape import literal_rows, literal_shape, shape_is_safe


def test_shape_extracts_values_with_mysql_escapes() -> None:
    shape, values = literal_shape("INSERT INTO t (id, c) VALUES (0, 'it\\'s a \\n''q''')")
    assert shape == "INSERT INTO t (id, c) VALUES (?, ?)"
    assert values == [0, "it's a \n'q'"]


def test_identifiers_comments_and_numbers_inside_names_are_kept() -> None:
    shape, values = literal_shape("SELECT c FROM `t1` WHERE id1 = 5 /* 7 */ AND `x 2` = 'a'")
    assert shape == "SELECT c FROM `t1` WHERE id1 = ? /* 7 */ AND `x 2` = ?"
    assert values == [5, "a"]


def test_statements_not_shaped() -> None:
    assert literal_shape("SELECT c FROM t WHERE id = ?") is None  # already a prepared statement
    assert literal_shape("CREATE TABLE t (a int(11))") is None
    assert literal_shape("SELECT x'ff'") is None
    assert literal_shape("SELECT * FROM t WHERE d = 1.50") is None  # exact decimals keep their text


def test_unsafe_positions() -> None:
    def safe(sql: str) -> bool:
        shaped = literal_shape(sql)
        assert shaped is not None
        return shape_is_safe(sqlglot.parse_one(shaped[0], read="mysql"))

    assert safe("SELECT c FROM t WHERE id = 1 LIMIT 10")
    assert safe("UPDATE t SET k = k + 1 WHERE id = 3")
    assert safe("SELECT c FROM t WHERE d > NOW() - INTERVAL 3 DAY")
    assert not safe("SELECT 1")  # the column would be named '?'
    assert not safe("SELECT a, COUNT(*) FROM t GROUP BY 1 ORDER BY 2")
    assert not safe("SELECT CAST(a AS CHAR(10)) FROM t")


def test_literal_rows_binds_each_row_to_one_shape() -> None:
    """A dump's extended INSERT: one row's shape and every row's values, exactly as written."""
    form, rows = literal_rows("INSERT INTO `t` VALUES (1,'a\\'b',1.50,NULL,X'00ff',0x41),(2,'',-3,null,X'','x''y');")
    assert form == "INSERT INTO `t` VALUES (?, ?, ?, ?, ?, ?)"
    assert rows == [[1, "a'b", 1.5, None, b"\x00\xff", b"A"], [2, "", -3, None, b"", "x'y"]]
    assert literal_rows("insert ignore into d.t (a, `b`) values (1,2) , (3,4)")[0] == \
        "insert ignore into d.t (a, `b`) values (?, ?)"


@pytest.mark.parametrize("text", [
    "INSERT INTO t (a, b) VALUES (1, now()), (2, 3)",  # an expression
    "INSERT INTO t VALUES (1,2),(3,4) ON DUPLICATE KEY UPDATE a = 1",
    "INSERT INTO t VALUES (1),,(2)", "INSERT INTO t VALUES (1),(2),", "INSERT INTO t VALUES (1 2),(3)",
    "INSERT INTO t VALUES (1,2),(3)",  # the ordinary path reports the column count
    "INSERT INTO t VALUES (1)", "INSERT INTO t SELECT 1", "INSERT INTO t VALUES ('a'b),(2)",
])
def test_literal_rows_leaves_other_forms_to_the_parser(text: str) -> None:
    assert literal_rows(text) is None
