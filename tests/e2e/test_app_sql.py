"""Issue 16, SQL that ORMs and schema tools emit, end to end with pymysql against a real node."""

from __future__ import annotations

from datetime import datetime

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


def test_convert_tz_json_contains_path_and_errors_name_what_was_written(node: NodeProcess) -> None:
    with node.connect() as c, c.cursor() as cur:
        cur.execute("SELECT CONVERT_TZ('2024-03-10 12:00:00', '+00:00', '-05:30'), "
                    "CONVERT_TZ('2024-07-01 12:00:00', 'UTC', 'Europe/Paris'), "
                    "CONVERT_TZ('2001-01-01 01:00:00', 'UTC', 'UTC') IS NOT NULL, "
                    "CONVERT_TZ('2024-01-01 00:00:00', 'UTC', 'Nowhere/Land'), CONVERT_TZ(NULL, 'UTC', 'UTC')")
        assert cur.fetchone() == (datetime(2024, 3, 10, 6, 30), datetime(2024, 7, 1, 14), 1, None, None)
        doc = '\'{"a": 1, "b": {"c": null}}\''
        cur.execute(f"SELECT JSON_CONTAINS_PATH({doc}, 'one', '$.x', '$.a'), "
                    f"JSON_CONTAINS_PATH({doc}, 'all', '$.x', '$.a'), JSON_CONTAINS_PATH({doc}, 'ALL', '$.b.c'), "
                    "JSON_CONTAINS_PATH(NULL, 'one', '$.a'), JSON_CONTAINS_PATH('{\"k\": 2}', 'one', '$.\"k\"')")
        assert cur.fetchone() == (1, 0, 1, None, 1)
        with pytest.raises(pymysql.err.NotSupportedError) as e:
            cur.execute("SELECT CONVERT_TZ(NOW(), 'UTC', 'UTC'), JSON_ARRAY_INSERT('[]', '$[0]', 1)")
        assert "JSON_ARRAY_INSERT" in e.value.args[1]


def test_mysql_version_option(node_factory) -> None:  # type: ignore[no-untyped-def]
    """Django 5 refuses a server reporting 5.7: --mysql-version changes what a node reports."""
    eight = node_factory("b", extra=["--mysql-version", "8.0.36"]).start()
    with eight.connect() as c, c.cursor() as cur:
        assert c.get_server_info() == "8.0.36"
        cur.execute("SELECT VERSION(), @@version")
        assert cur.fetchone() == ("8.0.36", "8.0.36")
    default = node_factory("c").start()
    with default.connect() as c, c.cursor() as cur:
        cur.execute("SELECT VERSION()")
        assert cur.fetchone() == ("5.7.32",) and c.get_server_info() == "5.7.32"


def test_json_contains_path_with_bound_mode_and_arity(node: NodeProcess) -> None:
    with node.connect() as c, c.cursor() as cur:
        cur.execute("SELECT JSON_CONTAINS_PATH(%s, %s, %s)", ('{"a": 1}', "one", "$.a"))  # as Django sends it
        assert cur.fetchone() == (1,)
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("SELECT JSON_CONTAINS_PATH('{}', 'one')")
        assert e.value.args[0] == 1582


def test_information_schema_lists_its_own_views(node: NodeProcess) -> None:
    """Tools discover information_schema's views from information_schema.TABLES and SHOW TABLES."""
    with node.connect() as c, c.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = 'information_schema'")
        listed = dict(cur.fetchall())
        cur.execute("SHOW TABLES FROM information_schema")
        shown = {r[0] for r in cur.fetchall()}
    assert {"TABLES", "COLUMNS", "TRIGGERS", "ROUTINES", "EVENTS", "VIEWS"} <= set(listed)
    assert any(name.startswith("DRLAB_") for name in listed)
    assert set(listed) == shown and set(listed.values()) == {"SYSTEM VIEW"}


def test_mysql_system_schema_is_read_only_and_reflects_accounts(node: NodeProcess) -> None:
    node.sql("CREATE DATABASE app")
    node.sql("CREATE TABLE app.t (a INT)")
    node.sql("CREATE USER 'ann'@'%' IDENTIFIED BY 'pw'")
    node.sql("GRANT SELECT, INSERT ON app.* TO 'ann'@'%'")
    node.sql("GRANT UPDATE ON app.t TO 'ann'@'%'")
    with node.connect() as c, c.cursor() as cur:
        cur.execute("SELECT User, Host, Select_priv, Super_priv, plugin FROM mysql.user ORDER BY User")
        rows = cur.fetchall()
        assert ("ann", "%", "N", "N", "mysql_native_password") in rows
        assert any(r[0] == "root" and r[2] == "Y" and r[3] == "Y" for r in rows)
        cur.execute("SELECT Db, Select_priv, Insert_priv, Update_priv FROM mysql.db WHERE User = 'ann'")
        assert cur.fetchall() == (("app", "Y", "Y", "N"),)
        cur.execute("SELECT Db, Table_name, Table_priv FROM mysql.tables_priv WHERE User = 'ann'")
        assert cur.fetchall() == (("app", "t", "Update"),)
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("UPDATE mysql.user SET Super_priv = 'Y' WHERE User = 'ann'")
        assert e.value.args[0] == 1235
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELECT * FROM mysql.nosuch")
        assert e.value.args == (1146, "Table 'mysql.nosuch' doesn't exist")
    with node.connect(user="ann", password="pw") as c, c.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as e:  # as MySQL: no SELECT on mysql.*
            cur.execute("SELECT User FROM mysql.user")
        assert e.value.args[0] == 1142
