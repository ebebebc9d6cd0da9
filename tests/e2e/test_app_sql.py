"""Issue 16, SQL that ORMs and schema tools emit, end to end with pymysql against a real node."""

from __future__ import annotations

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
