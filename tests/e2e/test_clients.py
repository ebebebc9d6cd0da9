"""End to end with real clients against a real `drlab node` process: PyMySQL, mysql-connector-python
(pure and C extension, text and prepared cursors), the `mariadb` command line client, SQLAlchemy 2."""

from __future__ import annotations

import datetime
import decimal
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mysql.connector
import pymysql
import pytest
import sqlalchemy as sa
from pymysql.constants import CLIENT
from sqlalchemy import orm

from lab.harness import NodeProcess

PW = "e2e-Pw_1"
MARIADB = shutil.which("mariadb") or "/usr/bin/mariadb"
# The connector's C extension (libmysqlclient) needs a newer OpenSSL than this machine has; where it
# loads, it is tested too. The C client library is exercised in any case by sysbench and the mariadb CLI.
USE_PURE = [True, False] if mysql.connector.HAVE_CEXT else [True]
AUTH = [None, "mysql_native_password"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """One node for the module; every test works in its own database."""
    n = NodeProcess(tmp_path_factory.mktemp("clients") / "data", password=PW, name="clients").start()
    yield n
    n.stop()


def fresh_db(srv: NodeProcess, name: str) -> str:
    with srv.connect() as c, c.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    return name


def err_code(excinfo: pytest.ExceptionInfo) -> int:
    return excinfo.value.args[0]


# -- PyMySQL: DML, affected rows, last insert id -------------------------------------------------
def test_pymysql_crud_rowcounts_and_lastrowid(srv: NodeProcess) -> None:
    db = fresh_db(srv, "crud")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), n INT)")
        assert cur.execute("INSERT INTO t (name, n) VALUES ('a', 1)") == 1
        assert cur.lastrowid == 1
        # a multi-row INSERT reports the first generated id, like MySQL
        assert cur.execute("INSERT INTO t (name, n) VALUES ('b', 2), ('c', 3), ('d', 4)") == 3
        assert cur.lastrowid == 2
        cur.execute("SELECT LAST_INSERT_ID()")
        assert cur.fetchone() == (2,)
        assert cur.execute("INSERT INTO t (name, n) VALUES (%s, %s)", ("e", 5)) == 1
        assert cur.lastrowid == 5
        assert cur.execute("UPDATE t SET n = n * 10 WHERE n >= 3") == 3
        assert cur.execute("UPDATE t SET n = 0 WHERE id = 999") == 0
        assert cur.execute("DELETE FROM t WHERE name IN ('a', 'b')") == 2
        cur.execute("SELECT id, name, n FROM t ORDER BY id")
        assert cur.fetchall() == ((3, "c", 30), (4, "d", 40), (5, "e", 50))
        assert [d[0] for d in cur.description] == ["id", "name", "n"]


def test_pymysql_transactions_visible_to_second_connection(srv: NodeProcess) -> None:
    db = fresh_db(srv, "txn")
    with srv.connect(database=db) as a, srv.connect(database=db) as b:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")

        def rows() -> tuple:
            cb.execute("SELECT id, v FROM t ORDER BY id")
            return cb.fetchall()

        ca.execute("BEGIN")
        ca.execute("INSERT INTO t VALUES (1, 'rolled')")
        ca.execute("SELECT COUNT(*) FROM t")
        assert ca.fetchone() == (1,)  # the transaction sees its own write
        assert rows() == ()  # nobody else does
        ca.execute("ROLLBACK")
        assert rows() == ()
        ca.execute("SELECT COUNT(*) FROM t")
        assert ca.fetchone() == (0,)  # rollback really discarded it

        ca.execute("START TRANSACTION")
        ca.execute("INSERT INTO t VALUES (2, 'kept')")
        ca.execute("UPDATE t SET v = 'kept2' WHERE id = 2")
        assert rows() == ()
        ca.execute("COMMIT")
        assert rows() == ((2, "kept2"),)

        # pymysql's own begin/commit/rollback API
        a.begin()
        ca.execute("INSERT INTO t VALUES (3, 'x')")
        a.rollback()
        a.begin()
        ca.execute("INSERT INTO t VALUES (4, 'y')")
        a.commit()
        assert rows() == ((2, "kept2"), (4, "y"))


def test_pymysql_autocommit_off_then_commit(srv: NodeProcess) -> None:
    db = fresh_db(srv, "acoff")
    with srv.connect(database=db) as a, srv.connect(database=db) as b:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        ca.execute("SET autocommit=0")
        ca.execute("SELECT @@autocommit")
        assert ca.fetchone() == (0,)
        ca.execute("INSERT INTO t VALUES (1)")
        ca.execute("INSERT INTO t VALUES (2)")
        cb.execute("SELECT COUNT(*) FROM t")
        assert cb.fetchone() == (0,)
        ca.execute("COMMIT")
        cb.execute("SELECT COUNT(*) FROM t")
        assert cb.fetchone() == (2,)
        ca.execute("INSERT INTO t VALUES (3)")
        ca.execute("ROLLBACK")
        cb.execute("SELECT id FROM t ORDER BY id")
        assert cb.fetchall() == ((1,), (2,))
        # the driver's own autocommit switch
        a.autocommit(True)
        ca.execute("INSERT INTO t VALUES (5)")
        cb.execute("SELECT COUNT(*) FROM t")
        assert cb.fetchone() == (3,)


def test_pymysql_multi_statements_return_every_result(srv: NodeProcess) -> None:
    db = fresh_db(srv, "multi")
    with srv.connect(database=db, client_flag=CLIENT.MULTI_STATEMENTS) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3); "
                    "SELECT 1 AS one; SELECT id FROM t ORDER BY id; DELETE FROM t WHERE id > 1; SELECT COUNT(*) FROM t")
        assert cur.description is None  # CREATE TABLE
        assert cur.nextset()
        assert cur.rowcount == 3 and cur.description is None  # INSERT
        assert cur.nextset()
        assert cur.fetchall() == ((1,),) and cur.description[0][0] == "one"
        assert cur.nextset()
        assert cur.fetchall() == ((1,), (2,), (3,))
        assert cur.nextset()
        assert cur.rowcount == 2  # DELETE
        assert cur.nextset()
        assert cur.fetchall() == ((1,),)
        assert not cur.nextset()
        cur.execute("SELECT 42")  # the connection is still in sync
        assert cur.fetchone() == (42,)


def test_pymysql_errors(srv: NodeProcess) -> None:
    db = fresh_db(srv, "errs")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, u VARCHAR(10), UNIQUE KEY (u))")
        cur.execute("INSERT INTO t VALUES (1, 'a')")
        with pytest.raises(pymysql.err.IntegrityError) as e:
            cur.execute("INSERT INTO t VALUES (1, 'b')")
        assert err_code(e) == 1062 and "Duplicate entry" in e.value.args[1]
        with pytest.raises(pymysql.err.IntegrityError) as e:
            cur.execute("INSERT INTO t VALUES (2, 'a')")
        assert err_code(e) == 1062
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELECT * FROM no_such_table")
        assert err_code(e) == 1146 and "no_such_table" in e.value.args[1]
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("USE no_such_db")
        assert err_code(e) == 1049
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELEC 1 FROM")
        assert err_code(e) == 1064
        assert "\x1b" not in e.value.args[1] and "syntax" in e.value.args[1]
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("SELECT * FROM t WHERE")
        assert err_code(e) == 1064 and "\x1b" not in e.value.args[1]
        cur.execute("SELECT COUNT(*) FROM t")  # the connection survived every error
        assert cur.fetchone() == (1,)
    with pytest.raises(pymysql.err.OperationalError) as e:
        srv.connect(database="no_such_db")
    assert err_code(e) == 1049


def test_error_sqlstates_via_connector(srv: NodeProcess) -> None:
    db = fresh_db(srv, "sqlstates")
    c = mysql.connector.connect(host=srv.host, port=srv.port, user="root", password=PW, database=db,
                                use_pure=True, autocommit=True)
    try:
        cur = c.cursor()
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO t VALUES (1)")
        cases = [("INSERT INTO t VALUES (1)", 1062, "23000"), ("SELECT * FROM missing", 1146, "42S02"),
                 ("USE missing_db", 1049, "42000"), ("SELEC 1", 1064, "42000")]
        for sql, code, state in cases:
            with pytest.raises(mysql.connector.Error) as e:
                cur.execute(sql)
            assert (e.value.errno, e.value.sqlstate) == (code, state), sql
    finally:
        c.close()


def test_pymysql_server_variables_and_show(srv: NodeProcess) -> None:
    db = fresh_db(srv, "shows")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("SELECT @@version")
        assert cur.fetchone()[0].startswith("5.7.")
        cur.execute("SELECT @@memsql_version")
        assert cur.fetchone()[0]
        cur.execute("CREATE TABLE items (id INT NOT NULL AUTO_INCREMENT, sku VARCHAR(32) NOT NULL, "
                    "price DECIMAL(10,2) DEFAULT NULL, PRIMARY KEY (id), KEY idx_sku (sku))")
        cur.execute("SHOW DATABASES")
        assert cur.description[0][0] == "Database"
        assert {r[0] for r in cur.fetchall()} >= {db, "information_schema"}
        cur.execute("SHOW TABLES")
        assert cur.description[0][0] == f"Tables_in_{db}"
        assert cur.fetchall() == (("items",),)

        cur.execute("SHOW CREATE TABLE items")
        name, ddl = cur.fetchone()
        assert name == "items" and [d[0] for d in cur.description] == ["Table", "Create Table"]
        assert ddl.startswith("CREATE TABLE `items`")
        for piece in ("`id` int", "AUTO_INCREMENT", "`sku` varchar(32) NOT NULL", "decimal(10,2)",
                      "PRIMARY KEY (`id`)", "KEY `idx_sku` (`sku`)"):
            assert piece in ddl, (piece, ddl)

        cur.execute("SHOW COLUMNS FROM items")
        assert [d[0] for d in cur.description] == ["Field", "Type", "Null", "Key", "Default", "Extra"]
        cols = cur.fetchall()
        assert [r[0] for r in cols] == ["id", "sku", "price"]
        assert cols[0][3] == "PRI" and "auto_increment" in cols[0][5]
        assert cols[1][1].lower() == "varchar(32)" and cols[1][2] == "NO"
        assert cols[2][1].lower() == "decimal(10,2)" and cols[2][2] == "YES"
        cur.execute("DESCRIBE items")
        assert cur.fetchall() == cols

        cur.execute("SHOW INDEX FROM items")
        names = [d[0] for d in cur.description]
        assert names[:5] == ["Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name"]
        idx = {(r[2], r[4], int(r[1])) for r in cur.fetchall()}
        assert idx == {("PRIMARY", "id", 0), ("idx_sku", "sku", 1)}

        cur.execute("SHOW VARIABLES LIKE 'version%'")
        assert [d[0] for d in cur.description] == ["Variable_name", "Value"]
        found = dict(cur.fetchall())
        assert found["version"].startswith("5.7.") and "version_comment" in found
        assert all(k.startswith("version") for k in found)

        assert cur.execute("DROP TABLE IF EXISTS missing") == 0
        cur.execute("SHOW WARNINGS")
        warns = cur.fetchall()
        assert [d[0] for d in cur.description] == ["Level", "Code", "Message"]
        assert len(warns) == 1 and warns[0][0] == "Note" and warns[0][1] == 1051 and "missing" in warns[0][2]

        cur.execute("SHOW PROCESSLIST")
        names = [d[0] for d in cur.description]
        assert names[:3] == ["Id", "User", "Host"] and "Command" in names and "Info" in names
        plist = cur.fetchall()
        assert any(r[0] == c.thread_id() and r[1] == "root" for r in plist), plist


def test_checksum_table(srv: NodeProcess) -> None:
    a, b = fresh_db(srv, "ck_a"), fresh_db(srv, "ck_b")
    with srv.connect() as c, c.cursor() as cur:
        for db in (a, b):
            cur.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10), d DECIMAL(6,2))")
            cur.execute(f"INSERT INTO {db}.t VALUES (1, 'x', 1.50), (2, 'y', NULL), (3, 'z', 3.25)")

        def checksum(db: str) -> int:
            cur.execute(f"CHECKSUM TABLE {db}.t")
            assert [d[0] for d in cur.description] == ["Table", "Checksum"]
            (name, value), = cur.fetchall()
            assert name == f"{db}.t"
            return value

        assert checksum(a) == checksum(b) and checksum(a) is not None
        cur.execute(f"UPDATE {b}.t SET v = 'w' WHERE id = 2")
        assert checksum(a) != checksum(b)
        cur.execute(f"UPDATE {b}.t SET v = 'y' WHERE id = 2")
        assert checksum(a) == checksum(b)
        cur.execute(f"DELETE FROM {b}.t WHERE id = 3")
        assert checksum(a) != checksum(b)


@pytest.mark.parametrize("found_rows", [False, True], ids=["default-flags", "CLIENT_FOUND_ROWS"])
def test_on_duplicate_key_update_affected_rows(srv: NodeProcess, found_rows: bool) -> None:
    """PyMySQL does not send CLIENT_FOUND_ROWS by default: MySQL then counts *changed* rows, so an
    ON DUPLICATE KEY UPDATE (or UPDATE) that changes nothing reports 0, and 1 with CLIENT_FOUND_ROWS."""
    db = fresh_db(srv, f"odku_{int(found_rows)}")
    kw = {"client_flag": CLIENT.FOUND_ROWS} if found_rows else {}
    with srv.connect(database=db, **kw) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT, hits INT DEFAULT 0)")
        odku = "INSERT INTO t (id, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = VALUES(v)"
        assert cur.execute(odku, (1, 10)) == 1  # inserted
        assert cur.execute(odku, (1, 20)) == 2  # updated
        assert cur.execute("INSERT INTO t (id, v) VALUES (1, 0) ON DUPLICATE KEY UPDATE hits = hits + 1") == 2
        cur.execute("SELECT id, v, hits FROM t")
        assert cur.fetchall() == ((1, 20, 1),)
        # an UPDATE that matches but changes nothing
        assert cur.execute("UPDATE t SET v = 20 WHERE id = 1") == (1 if found_rows else 0)
        assert cur.execute(odku, (1, 20)) == (1 if found_rows else 0)  # unchanged


def test_replace_affected_rows(srv: NodeProcess) -> None:
    db = fresh_db(srv, "replace")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT, hits INT DEFAULT 0)")
        cur.execute("INSERT INTO t VALUES (1, 1, 5)")
        assert cur.execute("REPLACE INTO t (id, v) VALUES (2, 5)") == 1  # fresh row
        assert cur.execute("REPLACE INTO t (id, v) VALUES (1, 6)") == 2  # delete + insert
        assert cur.execute("REPLACE t VALUES (3, 7, 1)") == 1
        cur.execute("SELECT id, v, hits FROM t ORDER BY id")
        assert cur.fetchall() == ((1, 6, 0), (2, 5, 0), (3, 7, 1))  # the replaced row lost hits=5


def test_insert_ignore_warns(srv: NodeProcess) -> None:
    db = fresh_db(srv, "ignore")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        cur.execute("INSERT INTO t VALUES (2, 6)")
        assert cur.execute("INSERT IGNORE INTO t (id, v) VALUES (2, 99), (3, 7)") == 1
        assert cur.warning_count == 1  # counted in the OK packet
        cur.execute("SHOW WARNINGS")
        w = cur.fetchall()
        assert len(w) == 1 and w[0][:2] == ("Warning", 1062) and "Duplicate entry" in w[0][2]
        cur.execute("SELECT id, v FROM t ORDER BY id")
        assert cur.fetchall() == ((2, 6), (3, 7))


@pytest.fixture(scope="module")
def funcs_db(srv: NodeProcess) -> str:
    db = fresh_db(srv, "funcs")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, grp VARCHAR(5), name VARCHAR(10), "
                    "at DATETIME, price DECIMAL(10,3))")
        cur.execute("INSERT INTO t VALUES (1, 'a', 'pear', '2024-01-31 10:20:30', 1.5), "
                    "(2, 'a', 'apple', '2024-02-29 23:59:59', 20.125), (3, 'b', 'fig', NULL, 0), "
                    "(4, 'a', 'kiwi', '2023-12-31 00:00:00', -3.1), (5, 'b', 'date', '2024-06-01 12:00:00', 7)")
    return db


def test_sql_calc_found_rows(srv: NodeProcess, funcs_db: str) -> None:
    with srv.connect(database=funcs_db) as c, c.cursor() as cur:
        cur.execute("SELECT SQL_CALC_FOUND_ROWS id FROM t ORDER BY id LIMIT 2")
        assert cur.fetchall() == ((1,), (2,))
        cur.execute("SELECT FOUND_ROWS()")
        assert cur.fetchone() == (5,)
        cur.execute("SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE grp = 'b' LIMIT 1")
        assert len(cur.fetchall()) == 1
        cur.execute("SELECT FOUND_ROWS()")
        assert cur.fetchone() == (2,)


def test_now_is_a_datetime(srv: NodeProcess) -> None:
    with srv.connect() as c, c.cursor() as cur:
        cur.execute("SELECT NOW()")
        now = cur.fetchone()[0]
        assert isinstance(now, datetime.datetime), repr(now)
        assert abs((now - datetime.datetime.now()).total_seconds()) < 60


def test_date_add_and_date_format(srv: NodeProcess, funcs_db: str) -> None:
    with srv.connect(database=funcs_db) as c, c.cursor() as cur:
        cur.execute("SELECT DATE_FORMAT(at, '%%Y/%%m/%%d %%H:%%i:%%s'), DATE_FORMAT(at, '%%W %%M %%e %%Y') "
                    "FROM t WHERE id = 2", ())
        assert cur.fetchone() == ("2024/02/29 23:59:59", "Thursday February 29 2024")
        cur.execute("SELECT DATE_ADD('2024-01-31 10:00:00', INTERVAL 1 DAY), "
                    "DATE_ADD('2024-01-31', INTERVAL 1 MONTH), DATE_ADD('2024-03-01 00:00:00', INTERVAL -1 SECOND)")
        r = cur.fetchone()
        assert [str(v) for v in r] == ["2024-02-01 10:00:00", "2024-02-29", "2024-02-29 23:59:59"]


def test_group_concat_order_by_separator(srv: NodeProcess, funcs_db: str) -> None:
    with srv.connect(database=funcs_db) as c, c.cursor() as cur:
        cur.execute("SELECT grp, GROUP_CONCAT(name ORDER BY name DESC SEPARATOR '|') FROM t GROUP BY grp ORDER BY grp")
        assert cur.fetchall() == (("a", "pear|kiwi|apple"), ("b", "fig|date"))
        cur.execute("SELECT GROUP_CONCAT(id ORDER BY id) FROM t")
        assert cur.fetchone() == ("1,2,3,4,5",)


def test_datetime_and_decimal_types(srv: NodeProcess, funcs_db: str) -> None:
    with srv.connect(database=funcs_db) as c, c.cursor() as cur:
        cur.execute("SELECT at, price FROM t WHERE id = 1")
        at, price = cur.fetchone()
        assert at == datetime.datetime(2024, 1, 31, 10, 20, 30)
        assert isinstance(price, decimal.Decimal) and str(price) == "1.500"
        cur.execute("SELECT price FROM t ORDER BY id")
        assert [str(p) for (p,) in cur.fetchall()] == ["1.500", "20.125", "0.000", "-3.100", "7.000"]
        cur.execute("SELECT at FROM t WHERE id = 3")
        assert cur.fetchone() == (None,)


def test_ping_and_select_db(srv: NodeProcess) -> None:
    a, b = fresh_db(srv, "initdb_a"), fresh_db(srv, "initdb_b")
    with srv.connect() as c, c.cursor() as cur:
        c.ping(reconnect=False)
        c.select_db(a)
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == (a,)
        cur.execute("CREATE TABLE only_in_a (x INT)")
        c.select_db(b)
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == (b,)
        cur.execute("SHOW TABLES")
        assert cur.fetchall() == ()
        with pytest.raises(pymysql.err.OperationalError) as e:
            c.select_db("no_such_db")
        assert err_code(e) == 1049
        c.ping(reconnect=False)


def test_restart_keeps_all_data(node_factory) -> None:  # type: ignore[no-untyped-def]
    n = node_factory("restart", password=PW).start()
    with n.connect() as c, c.cursor() as cur:
        cur.execute("CREATE DATABASE keep")
        cur.execute("CREATE TABLE keep.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), d DECIMAL(8,2), "
                    "KEY kv (v))")
        cur.executemany("INSERT INTO keep.t (v, d) VALUES (%s, %s)", [(f"row{i}", i / 4) for i in range(50)])
        cur.execute("UPDATE keep.t SET v = 'changed' WHERE id = 7")
        cur.execute("DELETE FROM keep.t WHERE id = 9")
        cur.execute("CREATE TABLE keep.empty (x INT)")
        cur.execute("BEGIN")
        cur.execute("INSERT INTO keep.t (v) VALUES ('uncommitted')")
        cur.execute("ROLLBACK")
        cur.execute("SELECT id, v, d FROM keep.t ORDER BY id")
        before = cur.fetchall()
        cur.execute("SHOW CREATE TABLE keep.t")
        ddl = cur.fetchone()[1]
    assert n.stop() == 0
    n.start()
    with n.connect() as c, c.cursor() as cur:
        cur.execute("SHOW DATABASES")
        assert "keep" in {r[0] for r in cur.fetchall()}
        cur.execute("SHOW TABLES FROM keep")
        assert {r[0] for r in cur.fetchall()} == {"t", "empty"}
        cur.execute("SELECT id, v, d FROM keep.t ORDER BY id")
        assert cur.fetchall() == before
        assert len(before) == 49
        cur.execute("SHOW CREATE TABLE keep.t")
        assert cur.fetchone()[1] == ddl
        cur.execute("INSERT INTO keep.t (v) VALUES ('after')")
        assert cur.lastrowid > 50  # never reuses an id that exists


# -- mysql-connector-python ----------------------------------------------------------------------
INJECTIONS = ["x'); DROP TABLE t; --", "' OR '1'='1", 'quote " and \\ backslash', "semi; colon", "ünï©ødé ✓"]


def _connector(srv: NodeProcess, use_pure: bool, auth: str | None, db: str) -> mysql.connector.MySQLConnection:
    kw = {"auth_plugin": auth} if auth else {}
    return mysql.connector.connect(host=srv.host, port=srv.port, user="root", password=PW, database=db,
                                   use_pure=use_pure, autocommit=True, **kw)


@pytest.mark.parametrize("auth", AUTH, ids=["default-auth", "native-password"])
@pytest.mark.parametrize("use_pure", USE_PURE)
@pytest.mark.parametrize("prepared", [False, True], ids=["text", "prepared"])
def test_connector_params_no_injection(srv: NodeProcess, use_pure: bool, auth: str | None, prepared: bool) -> None:
    db = fresh_db(srv, f"conn_{int(use_pure)}_{int(prepared)}_{'n' if auth else 'd'}")
    c = _connector(srv, use_pure, auth, db)
    try:
        plain = c.cursor()
        plain.execute("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(100), n BIGINT, f DOUBLE, d DATETIME)")
        cur = c.cursor(prepared=prepared)
        ins = "INSERT INTO t (id, s, n, f, d) VALUES (%s, %s, %s, %s, %s)"
        when = datetime.datetime(2024, 5, 6, 7, 8, 9)
        for i, s in enumerate(INJECTIONS, start=1):  # the same statement re-executed
            cur.execute(ins, (i, s, -(2**40) - i, i + 0.5, when))
            assert cur.rowcount == 1
        cur.execute(ins, (99, None, None, None, None))
        plain.execute("SELECT COUNT(*) FROM t")
        assert plain.fetchall() == [(len(INJECTIONS) + 1,)]

        sel = "SELECT id, s, n, f, d FROM t WHERE s = %s"
        for i, s in enumerate(INJECTIONS, start=1):
            cur.execute(sel, (s,))
            assert cur.fetchall() == [(i, s, -(2**40) - i, i + 0.5, when)]
        cur.execute(sel, ("' OR '1'='1' -- ",))
        assert cur.fetchall() == []
        cur.execute("SELECT id FROM t WHERE id > %s AND id < %s ORDER BY id", (1, 4))
        assert cur.fetchall() == [(2,), (3,)]
        cur.execute("SELECT s FROM t WHERE id = %s", (99,))
        assert cur.fetchall() == [(None,)]
        cur.execute("UPDATE t SET s = %s WHERE id = %s", ("'; DELETE FROM t; --", 1))
        assert cur.rowcount == 1
        cur.execute("DELETE FROM t WHERE s = %s", ("' OR 1=1 --",))
        assert cur.rowcount == 0

        plain.execute("SHOW TABLES")
        assert plain.fetchall() == [("t",)]
        plain.execute("SELECT id, s FROM t ORDER BY id")
        assert plain.fetchall() == [(1, "'; DELETE FROM t; --")] + [
            (i, s) for i, s in enumerate(INJECTIONS, start=1) if i > 1] + [(99, None)]
    finally:
        c.close()


@pytest.mark.parametrize("use_pure", USE_PURE)
def test_connector_prepared_reexecute_many(srv: NodeProcess, use_pure: bool) -> None:
    db = fresh_db(srv, f"reexec_{int(use_pure)}")
    c = _connector(srv, use_pure, None, db)
    try:
        cur = c.cursor(prepared=True)
        cur.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, k INT, c VARCHAR(20))")
        for i in range(30):
            cur.execute("INSERT INTO t (k, c) VALUES (?, ?)", (i % 7, f"v{i}"))
            assert cur.lastrowid == i + 1
        for k in range(7):
            cur.execute("SELECT COUNT(*), SUM(k) FROM t WHERE k = ?", (k,))
            cnt, total = cur.fetchone()
            assert cnt == len(range(k, 30, 7)) and int(total) == k * cnt
        cur.execute("SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY id", (3, 5))
        assert cur.fetchall() == [("v2",), ("v3",), ("v4",)]
    finally:
        c.close()


@pytest.mark.parametrize("use_pure", USE_PURE)
def test_connector_prepared_result_follows_value_types(srv: NodeProcess, use_pure: bool) -> None:
    """A prepared statement keeps its result's column definitions between executions; when the
    values' types change (SQLite is dynamically typed), the client still gets each value as it is."""
    db = fresh_db(srv, f"retype_{int(use_pure)}")
    c = _connector(srv, use_pure, None, db)
    try:
        cur = c.cursor(prepared=True)
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
        cur.execute("INSERT INTO t VALUES (1, 'one'), (2, NULL), (3, 'three')")
        got = []
        for v in (5, "x", 7, 2.5, "y"):
            cur.execute("SELECT ?, v FROM t WHERE id = ?", (v, 1 + len(got) % 3))
            got.append(cur.fetchall())
        assert got == [[(5, "one")], [("x", None)], [(7, "three")], [(2.5, "one")], [("y", None)]]
    finally:
        c.close()


# -- the mariadb command-line client -------------------------------------------------------------
def _mariadb(srv: NodeProcess, *args: str, password: str = PW) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MARIADB, "-h127.0.0.1", f"-P{srv.port}", "-uroot", f"-p{password}", *args],
                          capture_output=True, text=True, timeout=30)


def test_mariadb_cli(srv: NodeProcess) -> None:
    r = _mariadb(srv, "-e", "DROP DATABASE IF EXISTS cli; CREATE DATABASE cli; USE cli; "
                 "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO t VALUES (1, 'one'), (2, 'two'); "
                 "SELECT id, name FROM t ORDER BY id")
    assert r.returncode == 0, r.stderr
    assert "one" in r.stdout and "two" in r.stdout and "name" in r.stdout
    r = _mariadb(srv, "--batch", "cli", "-e", "SELECT id, name FROM t ORDER BY id; SELECT COUNT(*) AS n FROM t")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "id\tname\n1\tone\n2\ttwo\nn\n2\n"
    r = _mariadb(srv, "--batch", "--skip-column-names", "-e", "SELECT @@version")
    assert r.returncode == 0 and r.stdout.startswith("5.7."), (r.stdout, r.stderr)
    # the OK packet's info text reaches libmariadb intact (it reads it length-encoded)
    r = _mariadb(srv, "-vvv", "cli", "-e", "UPDATE t SET name = 'uno' WHERE id = 1")
    assert r.returncode == 0, r.stderr
    assert "Query OK, 1 row affected" in r.stdout and "Rows matched: 1  Changed: 1  Warnings: 0" in r.stdout
    r = _mariadb(srv, "--batch", "cli", "-e", "SELECT * FROM nope")
    assert r.returncode != 0 and "1146" in r.stderr


def test_mariadb_cli_wrong_password(srv: NodeProcess) -> None:
    r = _mariadb(srv, "-e", "SELECT 1", password="wrong")
    assert r.returncode != 0
    assert "1045" in r.stderr and "Access denied" in r.stderr


# -- SQLAlchemy 2 --------------------------------------------------------------------------------
class Base(orm.DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "person"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(50), index=True)
    email: orm.Mapped[str | None] = orm.mapped_column(sa.String(100), unique=True)
    balance: orm.Mapped[decimal.Decimal] = orm.mapped_column(sa.Numeric(12, 2), default=decimal.Decimal("0"))
    joined: orm.Mapped[datetime.datetime | None] = orm.mapped_column(sa.DateTime)


def test_sqlalchemy_orm_and_reflection(srv: NodeProcess) -> None:
    db = fresh_db(srv, "orm")
    engine = sa.create_engine(f"mysql+pymysql://root:{PW}@127.0.0.1:{srv.port}/{db}")
    try:
        Base.metadata.create_all(engine)
        when = datetime.datetime(2024, 2, 3, 4, 5, 6)
        with orm.Session(engine) as s:
            s.add_all([Person(name="ann", email="ann@x", balance=decimal.Decimal("10.50"), joined=when),
                       Person(name="bob", email="bob@x"), Person(name="cy", email=None)])
            s.commit()
            ids = [p.id for p in s.scalars(sa.select(Person).order_by(Person.id))]
            assert ids == [1, 2, 3]
        with orm.Session(engine) as s:
            ann = s.scalars(sa.select(Person).where(Person.name == "ann")).one()
            assert ann.balance == decimal.Decimal("10.50") and ann.joined == when
            ann.balance += 1
            s.execute(sa.update(Person).where(Person.name == "bob").values(balance=decimal.Decimal("2.25")))
            s.delete(s.get(Person, 3))
            s.commit()
        with orm.Session(engine) as s:
            got = [(p.name, p.balance) for p in s.scalars(sa.select(Person).order_by(Person.id))]
            assert got == [("ann", decimal.Decimal("11.50")), ("bob", decimal.Decimal("2.25"))]
            s.add(Person(name="dup", email="ann@x"))
            with pytest.raises(sa.exc.IntegrityError):
                s.commit()
            s.rollback()
            assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 2

        insp = sa.inspect(engine)
        assert "person" in insp.get_table_names()
        cols = {c["name"]: c for c in insp.get_columns("person")}
        assert list(cols) == ["id", "name", "email", "balance", "joined"]
        assert isinstance(cols["id"]["type"], sa.Integer) and cols["id"]["autoincrement"]
        assert isinstance(cols["name"]["type"], sa.String) and cols["name"]["type"].length == 50
        assert not cols["name"]["nullable"] and cols["email"]["nullable"]
        assert isinstance(cols["balance"]["type"], sa.Numeric)
        assert (cols["balance"]["type"].precision, cols["balance"]["type"].scale) == (12, 2)
        assert isinstance(cols["joined"]["type"], sa.DateTime)
        assert insp.get_pk_constraint("person")["constrained_columns"] == ["id"]
        idx = {i["name"]: (i["column_names"], bool(i["unique"])) for i in insp.get_indexes("person")}
        assert idx["ix_person_name"] == (["name"], False)
        uniques = [v for v in idx.values() if v == (["email"], True)]
        uniques += [(u["column_names"], True) for u in insp.get_unique_constraints("person")
                    if u["column_names"] == ["email"]]
        assert uniques, (idx, insp.get_unique_constraints("person"))

        reflected = sa.Table("person", sa.MetaData(), autoload_with=engine)
        assert [c.name for c in reflected.columns] == ["id", "name", "email", "balance", "joined"]
        assert [c.name for c in reflected.primary_key.columns] == ["id"]
        with engine.connect() as conn:
            rows = conn.execute(sa.select(reflected.c.name).order_by(reflected.c.id)).scalars().all()
            assert rows == ["ann", "bob"]
            conn.execute(reflected.insert().values(name="eve", balance=1))
            conn.commit()
            assert conn.execute(sa.select(sa.func.count()).select_from(reflected)).scalar() == 3
    finally:
        engine.dispose()



def test_user_functions_and_explain(srv: NodeProcess) -> None:
    with srv.connect() as c, c.cursor() as cur:
        cur.execute("SELECT USER(), CURRENT_USER(), SESSION_USER()")
        user, current, session = cur.fetchone()
        assert user.startswith("root@") and session == user
        assert current.startswith("root@")
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("EXPLAIN SELECT 1")
        assert e.value.args[0] == 1235
        cur.execute("SELECT 1")  # still serving
        assert cur.fetchone() == (1,)


def test_mariadb_status_command(srv: NodeProcess) -> None:
    out = _mariadb(srv, "-e", "status")
    assert out.returncode == 0, out.stderr
    assert "Current user:" in out.stdout and "root@" in out.stdout


def test_change_user_on_a_node(srv: NodeProcess) -> None:
    with srv.connect() as c, c.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS 'other'@'%' IDENTIFIED BY 'other-pw'")
    conn = mysql.connector.connect(host=srv.host, port=srv.port, user="root", password=srv.password, use_pure=True)
    try:
        cur = conn.cursor()
        cur.execute("SET @x = 5")
        conn.cmd_change_user(username="other", password="other-pw")
        cur = conn.cursor()
        cur.execute("SELECT CURRENT_USER(), @x")
        assert cur.fetchall() == [("other@%", None)]
        with pytest.raises(mysql.connector.Error) as e:
            conn.cmd_change_user(username="other", password="wrong")
        assert e.value.errno == 1045
    finally:
        try:
            conn.close()
        except Exception:
            pass
    assert srv.sql("SELECT 1") == [(1,)]


def test_show_aggregators_one_node_cluster(srv: NodeProcess) -> None:
    with srv.connect() as c, c.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW AGGREGATORS")
        rows = cur.fetchall()
        assert len(rows) == 1
        r = rows[0]
        assert list(r)[:3] == ["Host", "Port", "State"]
        assert (r["Host"], r["Port"], r["State"], r["Master_Aggregator"], r["Role"]) == (
            "127.0.0.1", srv.port, "online", 1, "Leader")
        cur.execute("SHOW AGGREGATORS EXTENDED")
        assert "Availability_Group" in cur.fetchone()
        cur.execute("SELECT HOST, PORT, MASTER_AGGREGATOR FROM information_schema.AGGREGATORS")
        assert cur.fetchall() == [{"HOST": "127.0.0.1", "PORT": srv.port, "MASTER_AGGREGATOR": 1}]
        for where, args in (("MASTER_AGGREGATOR = 1", None), ("MASTER_AGGREGATOR = %s", (1,)),
                            ("PORT = %s", (srv.port,))):  # numbers in views declared as text
            cur.execute(f"SELECT HOST FROM information_schema.AGGREGATORS WHERE {where}", args)
            assert cur.fetchall() == [{"HOST": "127.0.0.1"}], where
        cur.execute("SHOW LEAVES")
        assert cur.fetchall() == ()
        cur.execute("SHOW VARIABLES LIKE 'consensus%'")
        assert {r["Variable_name"] for r in cur.fetchall()} == {"consensus_enabled", "consensus_election_timeout"}


def test_seed_003_cluster_forms_not_built_yet_are_refused_by_name(srv: NodeProcess) -> None:
    """Voting members and elections are not built yet: their statements and settings are refused with
    1235 naming them, never accepted and ignored, and the node keeps serving."""
    with srv.connect() as c, c.cursor() as cur:
        for sql, what in (("ADD AGGREGATOR root:''@'127.0.0.1':3308", "ADD AGGREGATOR"),
                          ("REMOVE AGGREGATOR '127.0.0.1':3308", "REMOVE AGGREGATOR"),
                          ("SET GLOBAL consensus_enabled = ON", "consensus_enabled = ON")):
            with pytest.raises(pymysql.err.MySQLError) as e:
                cur.execute(sql)
            assert e.value.args[0] == 1235 and what in e.value.args[1] and "docs/consensus.md" in e.value.args[1]
        cur.execute("SET GLOBAL consensus_enabled = OFF")
        cur.execute("SHOW GLOBAL VARIABLES LIKE 'consensus_enabled'")
        assert cur.fetchall() == (("consensus_enabled", "OFF"),)
        cur.execute("SHOW AGGREGATORS")
        assert [r[6] for r in cur.fetchall()] == ["Leader"]


def test_a_voting_member_role_is_refused_at_startup(tmp_path: Path) -> None:
    drlab = Path(sys.executable).parent / "drlab"
    out = subprocess.run([str(drlab), "node", "--data", str(tmp_path), "--port", "0", "--aggregator-role",
                          "voting_member"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--aggregator-role voting_member is not supported yet" in out.stderr


def test_create_index_through_a_client_enforces_and_shows_the_index(srv: NodeProcess) -> None:
    db = fresh_db(srv, "cidx")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (a VARCHAR(30), b INT)")
        cur.execute("CREATE UNIQUE INDEX ua ON cidx.t (a(4) DESC, `b`)")
        cur.execute("SHOW INDEX FROM t")
        assert [(r[2], r[4]) for r in cur.fetchall()] == [("ua", "a"), ("ua", "b")]
        cur.execute("INSERT INTO t VALUES ('abcdX', 1)")
        with pytest.raises(pymysql.err.IntegrityError) as dup:
            cur.execute("INSERT INTO t VALUES ('abcdY', 1)")  # same 4-character prefix
        assert err_code(dup) == 1062
        with pytest.raises(pymysql.err.MySQLError) as fulltext:
            cur.execute("CREATE FULLTEXT INDEX f ON t (a)")
        assert err_code(fulltext) == 1235 and "CREATE INDEX" in fulltext.value.args[1]
        cur.execute("SHOW INDEX FROM t")
        assert {r[2] for r in cur.fetchall()} == {"ua"}


def test_truncate_drop_index_and_rename_table_through_a_client(srv: NodeProcess) -> None:
    db = fresh_db(srv, "tdr")
    with srv.connect(database=db) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, a INT, KEY ka (a))")
        cur.execute("INSERT INTO t (a) VALUES (1), (2)")
        cur.execute("TRUNCATE TABLE `tdr`.t")
        cur.execute("INSERT INTO t (a) VALUES (3)")
        cur.execute("SELECT id, a FROM t")
        assert cur.fetchall() == ((1, 3),)  # TRUNCATE resets AUTO_INCREMENT
        cur.execute("DROP INDEX ka ON t ALGORITHM = INPLACE")
        cur.execute("SHOW INDEX FROM t")
        assert [r[2] for r in cur.fetchall()] == ["PRIMARY"]
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("DROP INDEX ka ON t junk")
        assert err_code(e) == 1064
        for sql, code in (("ALTER TABLE t CONVERT TO CHARACTER SET latin1", 1235), ("ALTER TABLE t FOOBAR", 1064)):
            with pytest.raises(pymysql.MySQLError) as e:  # refused, never accepted and ignored
                cur.execute(sql)
            assert err_code(e) == code, sql
        cur.execute("RENAME TABLE t TO u")
        cur.execute("SELECT a FROM tdr.u")
        assert cur.fetchall() == ((3,),)
    assert srv.sql("SELECT 1") == [(1,)]
