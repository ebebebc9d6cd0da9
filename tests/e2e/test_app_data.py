"""Issue 16 (part B): what test applications store comes back as stored, through real drivers
against a real node: wide tables, bytes that are not UTF-8, connection character sets."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import mysql.connector
import pymysql
import pytest
import sqlalchemy as sa

from lab.harness import NodeProcess

# -- wide tables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ncols", [63, 130, 1000])
def test_wide_table_insert_update_delete_and_replay(node_factory, ncols: int) -> None:  # type: ignore[no-untyped-def]
    """Capture does not depend on the column count (SQLite caps a function at 127 arguments):
    every write to a wide table is acknowledged, logged, and survives a restart (replayed)."""
    srv = node_factory("a").start()
    cols = ", ".join(f"c{i} INT" for i in range(ncols))
    srv.sql("CREATE DATABASE w")
    srv.sql(f"CREATE TABLE w.t (id INT PRIMARY KEY, {cols})")
    srv.sql("INSERT INTO w.t VALUES " + ", ".join(
        "(" + ", ".join(str(r * 10_000 + i) for i in range(ncols + 1)) + ")" for r in range(3)))
    srv.sql(f"UPDATE w.t SET c{ncols - 1} = -1, c0 = -2 WHERE id = 10000")
    srv.sql("DELETE FROM w.t WHERE id = 20000")
    rows = srv.sql(f"SELECT id, c0, c{ncols - 1} FROM w.t ORDER BY id")
    assert rows == [(0, 1, ncols), (10000, -2, -1)]
    srv.sql("DROP TABLE IF EXISTS w.other")
    srv.sql("CREATE TABLE w.other (a INT, b INT)")
    srv.sql("DROP TABLE IF EXISTS w.other")
    srv.stop()
    srv.start()
    assert srv.sql(f"SELECT id, c0, c{ncols - 1} FROM w.t ORDER BY id") == rows


# -- bytes and character sets --------------------------------------------------------------------

_BYTES = [b"\x00\xff", b"\x80\x81'\\\"", bytes(range(256))]


@pytest.fixture
def blobs(node) -> NodeProcess:  # type: ignore[no-untyped-def]
    node.sql("CREATE DATABASE b")
    node.sql("CREATE TABLE b.t (id INT PRIMARY KEY, v BLOB, s VARCHAR(20))")
    return node


@pytest.mark.parametrize("prepared", [False, True])
def test_mysql_connector_stores_bytes_that_are_not_utf8(blobs: NodeProcess, prepared: bool) -> None:
    """mysql-connector (pure Python) splices or binds ``bytes`` as they are: they come back equal."""
    conn = mysql.connector.connect(host="127.0.0.1", port=blobs.port, user="root", database="b",
                                   use_pure=True, autocommit=True)
    try:
        cur = conn.cursor(prepared=prepared)
        for i, value in enumerate(_BYTES):
            cur.execute("INSERT INTO t (id, v) VALUES (%s, %s)", (i, value))
        cur.execute("SELECT v FROM t ORDER BY id")
        assert [bytes(r[0]) for r in cur.fetchall()] == _BYTES
    finally:
        conn.close()


@pytest.mark.parametrize("charset", ["utf8mb4", "latin1"])
def test_pymysql_binary_literals_and_connection_charset(blobs: NodeProcess, charset: str) -> None:
    """PyMySQL sends bytes as raw ``_binary'...'`` literals and text in the connection's charset:
    bytes stay bytes, text stays text, whichever the charset."""
    conn = pymysql.connect(host="127.0.0.1", port=blobs.port, user="root", database="b", charset=charset,
                           autocommit=True)
    try:
        with conn.cursor() as cur:
            for i, value in enumerate(_BYTES):
                cur.execute("INSERT INTO t (id, v, s) VALUES (%s, %s, %s)", (i, value, "é"))
            cur.execute("SELECT v, s, 'é', X'00FF', _binary'ab' FROM t ORDER BY id")
            rows = cur.fetchall()
    finally:
        conn.close()
    assert [r[0] for r in rows] == _BYTES
    assert {r[1:] for r in rows} == {("é", "é", b"\x00\xff", b"ab")}
    assert blobs.sql("SELECT DISTINCT s FROM b.t") == [("é",)]  # stored as text, read by a utf8mb4 client
    if charset == "latin1":  # what latin1 cannot hold reaches its client as '?', as from MySQL
        blobs.sql("INSERT INTO b.t (id, s) VALUES (99, '中é')")
        conn = pymysql.connect(host="127.0.0.1", port=blobs.port, user="root", database="b", charset=charset)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT s FROM t WHERE id = 99")
            assert cur.fetchall() == (("?é",),)


def test_sqlalchemy_largebinary_on_mysql_connector(blobs: NodeProcess) -> None:
    """SQLAlchemy's LargeBinary through mysql-connector round-trips arbitrary bytes."""
    engine = sa.create_engine(f"mysql+mysqlconnector://root@127.0.0.1:{blobs.port}/b?use_pure=1")
    meta = sa.MetaData()
    files = sa.Table("files", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("data", sa.LargeBinary))
    try:
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(files.insert(), [{"id": i, "data": v} for i, v in enumerate(_BYTES, 1)])
        with engine.connect() as conn:
            assert [r.data for r in conn.execute(sa.select(files).order_by(files.c.id))] == _BYTES
    finally:
        engine.dispose()


def test_undecodable_bytes_outside_a_string_are_refused(blobs: NodeProcess) -> None:
    """Bytes that are not UTF-8 outside a string literal (a name) are still MySQL's 1300."""
    conn = pymysql.connect(host="127.0.0.1", port=blobs.port, user="root", database="b", autocommit=True)
    try:
        with pytest.raises(pymysql.err.MySQLError) as e:
            conn.query(b"SELECT 1 AS a\xff")  # type: ignore[arg-type]
        assert e.value.args[0] == 1300
        with conn.cursor() as cur:
            cur.execute("SELECT 1")  # the connection keeps serving
            assert cur.fetchall() == ((1,),)
    finally:
        conn.close()


# -- bulk loads ----------------------------------------------------------------------------------

_BULK_TABLE = ("(id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2), qty INT, "
               "ratio DOUBLE, created DATETIME, data BLOB, tag VARCHAR(20))")


def _bulk_rows(n: int) -> list[str]:
    return [f"({i},'n\\'{i}\\\\ \\n\"x',{i % 1000}.{i % 100:02d},{-i if i % 3 else 'NULL'},{i / 7!r},"
            f"'2024-01-{1 + i % 28:02d} 10:00:00',{'X' + repr(format(i, '04x')) if i % 2 else '0x' + format(i, '06x')},{i}.50)"
            for i in range(1, n + 1)]


def test_bulk_insert_loads_exactly_what_row_by_row_inserts_load(node) -> None:  # type: ignore[no-untyped-def]
    """An extended INSERT of thousands of literal rows (a dump's shape, the fast path) stores the
    same values as one INSERT per row (the ordinary path), and answers MySQL's counts."""
    node.sql("CREATE DATABASE bulk")
    node.sql(f"CREATE TABLE bulk.fast {_BULK_TABLE}")
    node.sql(f"CREATE TABLE bulk.slow {_BULK_TABLE}")
    rows = _bulk_rows(1500)
    conn = node.connect(database="bulk")
    try:
        with conn.cursor() as cur:
            assert cur.execute("INSERT INTO `fast` VALUES " + ",".join(rows) + ";") == 1500
            for r in rows:
                cur.execute(f"INSERT INTO slow VALUES {r}")
            cur.execute("SHOW WARNINGS")
            assert cur.fetchall() == ()
    finally:
        conn.close()
    assert node.sql("SELECT COUNT(*), SUM(qty IS NULL) FROM bulk.fast") == [(1500, 500)]
    fast = node.sql("SELECT * FROM bulk.fast ORDER BY id")
    assert fast == node.sql("SELECT * FROM bulk.slow ORDER BY id")
    assert fast[0][1:3] == ("n'1\\ \n\"x", __import__("decimal").Decimal("1.01"))
    assert fast[0][6] == b"\x00\x01" and fast[1][6] == b"\x00\x00\x02"


def test_bulk_insert_is_one_statement(node) -> None:  # type: ignore[no-untyped-def]
    """A duplicate key in the middle of a bulk INSERT fails the whole statement (nothing of it is
    kept); INSERT IGNORE skips the duplicates with a warning each and says how many."""
    node.sql("CREATE DATABASE bulk")
    node.sql("CREATE TABLE bulk.t (id INT PRIMARY KEY, v VARCHAR(10))")
    rows = [f"({i},'v{i}')" for i in range(1, 2001)]
    rows[1500] = "(7,'dup')"
    conn = node.connect(database="bulk")
    try:
        with conn.cursor() as cur:
            with pytest.raises(pymysql.err.IntegrityError) as e:
                cur.execute("INSERT INTO t VALUES " + ",".join(rows))
            assert e.value.args[0] == 1062
            cur.execute("SELECT COUNT(*) FROM t")
            assert cur.fetchall() == ((0,),)
            assert cur.execute("INSERT IGNORE INTO t (id, v) VALUES " + ",".join(rows)) == 1999
            cur.execute("SHOW WARNINGS")
            assert [w[1] for w in cur.fetchall()] == [1062]
    finally:
        conn.close()
    assert node.sql("SELECT COUNT(*) FROM bulk.t") == [(1999,)]


# -- type metadata -------------------------------------------------------------------------------


def test_time_columns_are_typed_time(node) -> None:  # type: ignore[no-untyped-def]
    """A TIME column is sent typed TIME in MySQL's text (hours past 24, sign, fraction), so PyMySQL
    and mysql-connector (text and prepared) hand applications a timedelta, and SQLAlchemy a time."""
    node.sql("CREATE DATABASE d")
    node.sql("CREATE TABLE d.t (id INT PRIMARY KEY, tm TIME(6))")
    node.sql("INSERT INTO d.t VALUES (1, '12:34:56'), (2, '838:59:59'), (3, '-01:30:00'), (4, '00:00:01.5')")
    want = [timedelta(hours=12, minutes=34, seconds=56), timedelta(hours=838, minutes=59, seconds=59),
            -timedelta(hours=1, minutes=30), timedelta(seconds=1, microseconds=500000)]
    assert [r[0] for r in node.sql("SELECT tm FROM d.t ORDER BY id")] == want
    assert node.sql("SELECT CAST(tm AS CHAR) FROM d.t WHERE id = 2") == [("838:59:59",)]
    conn = mysql.connector.connect(host="127.0.0.1", port=node.port, user="root", database="d", use_pure=True)
    try:
        for prepared in (False, True):
            cur = conn.cursor(prepared=prepared)
            cur.execute("SELECT tm FROM t WHERE id IN (1, 2, 4) ORDER BY id")
            assert [r[0] for r in cur.fetchall()] == [want[0], want[1], want[3]]
            cur.close()
    finally:
        conn.close()
    engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:{node.port}/d")
    try:
        t = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("tm", sa.Time))
        with engine.connect() as c:
            assert c.execute(sa.select(t.c.tm).where(t.c.id == 1)).scalar() == time(12, 34, 56)
    finally:
        engine.dispose()


def test_decimal_aggregates_are_exact_and_typed_newdecimal(node) -> None:  # type: ignore[no-untyped-def]
    """SUM / AVG / MAX of a DECIMAL column are exact decimals typed NEWDECIMAL (AVG at scale + 4),
    grouped, aliased, ordered by the alias, through a joined alias, and through SQLAlchemy."""
    node.sql("CREATE DATABASE d")
    node.sql("CREATE TABLE d.t (id INT PRIMARY KEY, k INT, p DECIMAL(10,2))")
    node.sql("CREATE TABLE d.empty (p DECIMAL(10,2))")
    node.sql("INSERT INTO d.t VALUES (1, 1, 0.10), (2, 1, 0.20), (3, 2, 9.99), (4, 2, 2.70)")
    conn = node.connect(database="d")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT SUM(p), AVG(p), MAX(p) FROM t")
            assert cur.fetchall() == ((Decimal("12.99"), Decimal("3.247500"), Decimal("9.99")),)
            assert [d[1] for d in cur.description] == [246, 246, 246]  # NEWDECIMAL
            assert [d[0] for d in cur.description] == ["SUM(p)", "AVG(p)", "MAX(p)"]
            cur.execute("SELECT x.k, SUM(x.p) AS total FROM t x JOIN t y ON y.id = x.id GROUP BY x.k ORDER BY total DESC")
            assert cur.fetchall() == ((2, Decimal("12.69")), (1, Decimal("0.30")))
            assert [d[0] for d in cur.description] == ["k", "total"]
            cur.execute("SELECT SUM(p) FROM empty")
            assert cur.fetchall() == ((None,),)
    finally:
        conn.close()
    engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:{node.port}/d")
    try:
        t = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("p", sa.Numeric(10, 2)))
        with engine.connect() as c:
            assert c.execute(sa.select(sa.func.sum(t.c.p))).scalar() == Decimal("12.99")
    finally:
        engine.dispose()
