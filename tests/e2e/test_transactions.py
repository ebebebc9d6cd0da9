"""Issue 16, MySQL's transaction rules end to end with pymysql against a real node: statements that
commit implicitly (before and after themselves), and SAVEPOINT / ROLLBACK TO / RELEASE SAVEPOINT."""

from __future__ import annotations

import pymysql
import pytest

from lab.harness import NodeProcess


def _db(node: NodeProcess) -> None:
    node.sql("CREATE DATABASE app")


def _count(node: NodeProcess, table: str) -> int:
    return int(node.sql(f"SELECT COUNT(*) FROM app.{table}")[0][0])


def _manual(node: NodeProcess) -> pymysql.connections.Connection:
    """A connection with autocommit off, as PyMySQL, SQLAlchemy and pandas open them."""
    c = node.connect(database="app")
    c.autocommit(False)
    return c


# -- implicit commit -------------------------------------------------------------------------------


def test_ddl_in_open_transaction_commits_before_and_after(node: NodeProcess) -> None:
    """autocommit off (PyMySQL's default): CREATE TABLE is visible to the same transaction's INSERT,
    commits the rows written before it, and commits itself (another connection sees the table
    while this one still has its transaction open)."""
    _db(node)
    node.sql("CREATE TABLE app.before_ddl (a INT)")
    c = _manual(node)
    with c, c.cursor() as cur:
        cur.execute("INSERT INTO before_ddl VALUES (1)")
        cur.execute("CREATE TABLE x1 (a INT)")
        assert _count(node, "before_ddl") == 1  # committed by the DDL, before it ran
        assert node.sql("SHOW TABLES FROM app LIKE 'x1'") == [("x1",)]
        cur.execute("INSERT INTO x1 VALUES (1)")
        c.rollback()
        assert _count(node, "x1") == 0  # the INSERT after the DDL is its own transaction
        cur.execute("INSERT INTO x1 VALUES (2)")
        c.commit()
    assert node.sql("SELECT a FROM app.x1") == [(2,)]


def test_ddl_does_not_hold_the_write_lock_after_it(node: NodeProcess) -> None:
    """An Alembic-style CREATE TABLE in a transaction must not keep other writers waiting."""
    _db(node)
    c = _manual(node)
    with c, c.cursor() as cur:
        cur.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        other = node.connect(database="app", read_timeout=10)
        with other, other.cursor() as ocur:
            ocur.execute("INSERT INTO alembic_version VALUES ('other')")
        cur.execute("INSERT INTO alembic_version VALUES ('abc123')")
        c.commit()
    assert sorted(node.sql("SELECT version_num FROM app.alembic_version")) == [("abc123",), ("other",)]


@pytest.mark.parametrize("stmt", [
    "CREATE USER 'u1'@'%' IDENTIFIED BY 'x'",
    "LOCK TABLES t WRITE",
    "DROP TABLE IF EXISTS nothing_here",
    "ALTER TABLE t ADD COLUMN b INT",
    "CREATE INDEX ia ON t (a)",
    "TRUNCATE TABLE other",
    "CREATE DATABASE other_db",
    "ANALYZE TABLE t",
])
def test_statements_that_commit_implicitly(node: NodeProcess, stmt: str) -> None:
    """MySQL's manual: these commit the open transaction first; its rows survive a ROLLBACK."""
    _db(node)
    node.sql("CREATE TABLE app.t (a INT)")
    node.sql("CREATE TABLE app.other (a INT)")
    c = _manual(node)
    with c, c.cursor() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
        cur.execute(stmt)
        c.rollback()
    assert node.sql("SELECT a FROM app.t") == [(1,)]


# -- savepoints ------------------------------------------------------------------------------------


def test_savepoint_rollback_to_and_release(node: NodeProcess) -> None:
    _db(node)
    node.sql("CREATE TABLE app.t (a INT)")
    c = _manual(node)
    with c, c.cursor() as cur:
        cur.execute("SAVEPOINT first")  # before the transaction wrote anything
        cur.execute("INSERT INTO t VALUES (1)")
        cur.execute("SAVEPOINT s2")
        cur.execute("INSERT INTO t VALUES (2)")
        cur.execute("SAVEPOINT s3")
        cur.execute("INSERT INTO t VALUES (3)")
        cur.execute("ROLLBACK TO SAVEPOINT s2")  # undoes 2 and 3, removes s3, keeps s2
        cur.execute("SELECT a FROM t ORDER BY a")
        assert cur.fetchall() == ((1,),)
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("ROLLBACK TO s3")
        assert e.value.args == (1305, "SAVEPOINT s3 does not exist")
        cur.execute("INSERT INTO t VALUES (4)")
        cur.execute("ROLLBACK WORK TO s2")  # s2 survives its own rollback
        cur.execute("INSERT INTO t VALUES (5)")
        cur.execute("RELEASE SAVEPOINT s2")  # no rollback, no commit
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("RELEASE SAVEPOINT s2")
        assert e.value.args[0] == 1305
        cur.execute("ROLLBACK TO first")  # everything the transaction did
        cur.execute("SELECT COUNT(*) FROM t")
        assert cur.fetchone() == (0,)
        cur.execute("INSERT INTO t VALUES (6)")
        c.commit()
        with pytest.raises(pymysql.err.OperationalError) as e:  # COMMIT drops every savepoint
            cur.execute("ROLLBACK TO first")
        assert e.value.args[0] == 1305
    assert node.sql("SELECT a FROM app.t") == [(6,)]


def test_savepoint_name_reused_moves_it_and_nested_atomic_pattern(node: NodeProcess) -> None:
    """Django's nested atomic(): BEGIN, SAVEPOINT, work, ROLLBACK TO on error, RELEASE on success."""
    _db(node)
    node.sql("CREATE TABLE app.t (a INT PRIMARY KEY)")
    with node.connect(database="app") as c, c.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO t VALUES (1)")
        cur.execute("SAVEPOINT `s 1`")
        cur.execute("INSERT INTO t VALUES (2)")
        cur.execute("SAVEPOINT `s 1`")  # same name: the savepoint moves here
        cur.execute("INSERT INTO t VALUES (3)")
        with pytest.raises(pymysql.err.IntegrityError):
            cur.execute("INSERT INTO t VALUES (3)")
        cur.execute("ROLLBACK TO SAVEPOINT `s 1`")
        cur.execute("SAVEPOINT ok")
        cur.execute("INSERT INTO t VALUES (4)")
        cur.execute("RELEASE SAVEPOINT ok")
        cur.execute("COMMIT")
    assert node.sql("SELECT a FROM app.t ORDER BY a") == [(1,), (2,), (4,)]


def test_savepoint_outside_a_transaction_does_not_survive(node: NodeProcess) -> None:
    """With autocommit on and no BEGIN, MySQL accepts SAVEPOINT but the statement ends the
    (empty) transaction: ROLLBACK TO it is 1305."""
    _db(node)
    with node.connect(database="app") as c, c.cursor() as cur:
        cur.execute("SAVEPOINT lonely")
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("ROLLBACK TO SAVEPOINT lonely")
        assert e.value.args == (1305, "SAVEPOINT lonely does not exist")
        cur.execute("SELECT 1")  # the session keeps serving
        assert cur.fetchone() == (1,)


def test_ddl_ends_savepoints(node: NodeProcess) -> None:
    _db(node)
    c = _manual(node)
    with c, c.cursor() as cur:
        cur.execute("SAVEPOINT a")
        cur.execute("CREATE TABLE t (a INT)")
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("ROLLBACK TO a")
        assert e.value.args[0] == 1305


# -- START TRANSACTION options ---------------------------------------------------------------------


def test_consistent_snapshot_reads_do_not_see_later_commits(node: NodeProcess) -> None:
    """mysqldump --single-transaction: the dump reads the data as of START TRANSACTION WITH
    CONSISTENT SNAPSHOT, whatever other connections commit meanwhile."""
    _db(node)
    node.sql("CREATE TABLE app.t (a INT)")
    node.sql("INSERT INTO app.t VALUES (1)")
    with node.connect(database="app") as c, c.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        node.sql("INSERT INTO app.t VALUES (2)")
        cur.execute("SELECT COUNT(*) FROM t")
        assert cur.fetchone() == (1,)
        cur.execute("SAVEPOINT sp")
        cur.execute("SELECT a FROM t")
        assert cur.fetchall() == ((1,),)
        cur.execute("ROLLBACK TO SAVEPOINT sp")
        cur.execute("COMMIT")
        cur.execute("SELECT COUNT(*) FROM t")
        assert cur.fetchone() == (2,)


def test_start_transaction_refuses_unknown_options(node: NodeProcess) -> None:
    with node.connect() as c, c.cursor() as cur:
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            cur.execute("START TRANSACTION WITH NONSENSE")
        assert e.value.args[0] == 1064


def test_consistent_snapshot_refuses_a_query_over_two_databases(node: NodeProcess) -> None:
    _db(node)
    node.sql("CREATE DATABASE other")
    node.sql("CREATE TABLE app.t (a INT)")
    node.sql("CREATE TABLE other.u (a INT)")
    with node.connect(database="app") as c, c.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        with pytest.raises(pymysql.err.NotSupportedError) as e:
            cur.execute("SELECT * FROM t JOIN other.u USING (a)")
        assert "CONSISTENT SNAPSHOT" in e.value.args[1]
        cur.execute("SELECT COUNT(*) FROM other.u")  # one database at a time reads its snapshot
        assert cur.fetchone() == (0,)
        cur.execute("COMMIT")
