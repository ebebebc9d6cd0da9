"""Issue 16 (part B): what test applications store comes back as stored, through real drivers
against a real node: wide tables, bytes that are not UTF-8, connection character sets."""

from __future__ import annotations

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
