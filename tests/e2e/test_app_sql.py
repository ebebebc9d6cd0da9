"""Issue 16, SQL that ORMs and schema tools emit, end to end with pymysql against a real node."""

from __future__ import annotations

import pymysql
import pytest

from lab.harness import NodeProcess


def test_limit_offset_idiom_with_the_largest_count(node: NodeProcess) -> None:
    """MySQL's manual: `LIMIT 2, 18446744073709551615` is "from the third row to the last"; the next
    statement on the database keeps working."""
    node.sql("CREATE DATABASE app")
    node.sql("CREATE TABLE app.t (a INT)")
    node.sql("INSERT INTO app.t VALUES (1), (2), (3), (4)")
    with node.connect(database="app") as c, c.cursor() as cur:
        cur.execute("SELECT a FROM t ORDER BY a LIMIT 2, 18446744073709551615")
        assert cur.fetchall() == ((3,), (4,))
        cur.execute("SELECT a FROM t ORDER BY a LIMIT 18446744073709551615 OFFSET 1")
        assert cur.fetchall() == ((2,), (3,), (4,))
        cur.execute("SELECT a FROM t LIMIT 1 OFFSET 18446744073709551615")
        assert cur.fetchall() == ()
        cur.execute("INSERT INTO t VALUES (5)")
        cur.execute("SELECT COUNT(*) FROM t")
        assert cur.fetchone() == (5,)


def test_check_constraints_are_enforced_and_shown(node: NodeProcess) -> None:
    """Django and SQLAlchemy declare CHECKs (PositiveIntegerField, Enum, CheckConstraint)."""
    node.sql("CREATE DATABASE app")
    with node.connect(database="app") as c, c.cursor() as cur:
        cur.execute("CREATE TABLE p (id INT PRIMARY KEY, qty INT CHECK (qty >= 0), "
                    "kind VARCHAR(5), CONSTRAINT kind_ok CHECK (kind IN ('a', 'b')), CHECK (qty < 1000))")
        cur.execute("INSERT INTO p VALUES (1, 5, 'a')")
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("INSERT INTO p VALUES (2, -1, 'a')")
        assert e.value.args == (3819, "Check constraint 'p_chk_1' is violated.")
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("UPDATE p SET kind = 'z' WHERE id = 1")
        assert e.value.args == (3819, "Check constraint 'kind_ok' is violated.")
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("INSERT INTO p VALUES (3, 1000, NULL)")
        assert e.value.args[1] == "Check constraint 'p_chk_2' is violated."
        cur.execute("INSERT INTO p VALUES (4, NULL, NULL)")  # NULL is not a violation, as in MySQL
        cur.execute("ALTER TABLE p ADD COLUMN note TEXT")  # the rebuild keeps the constraints
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("INSERT INTO p (id, qty) VALUES (5, -5)")
        assert e.value.args[0] == 3819
        cur.execute("SELECT id, qty, kind FROM p ORDER BY id")
        assert cur.fetchall() == ((1, 5, "a"), (4, None, None))
        cur.execute("SHOW CREATE TABLE p")
        ddl = cur.fetchone()[1]
        assert "CONSTRAINT `p_chk_1` CHECK (qty >= 0)" in ddl
        assert "CONSTRAINT `kind_ok` CHECK (kind IN ('a', 'b'))" in ddl
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("CREATE TABLE q (a INT, CONSTRAINT c CHECK (a > 0), CONSTRAINT c CHECK (a < 9))")
        assert e.value.args[0] == 3822
