"""Issue 11's SQL-level defects, end to end against a real node: locking reads, privilege leaks in
the views, password redaction, FLUSH TABLES' gate over database-level writes, database-level
REPLICATION grants, and MySQL's errors and semantics for odd input."""

from __future__ import annotations

import random
import socket
import threading

import pymysql
import pytest

from lab.harness import NodeProcess, wait_for

PW = "pw"


@pytest.fixture
def srv(node_factory) -> NodeProcess:  # type: ignore[no-untyped-def]
    return node_factory("a", password=PW).start()


def _err(srv: NodeProcess, sql: str, user: str = "root", password: str | None = None) -> tuple[int, str]:
    with srv.connect(user=user, password=password) as c, c.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute(sql)
    return e.value.args[0], e.value.args[1]


# -- 3. SELECT ... FOR UPDATE / FOR SHARE --------------------------------------------------------


@pytest.mark.parametrize("clause", ["FOR UPDATE", "LOCK IN SHARE MODE", "FOR SHARE"])
def test_locking_reads_keep_concurrent_transfers_exact(srv: NodeProcess, clause: str) -> None:
    """Threads move money between accounts with read-modify-write transactions: a locking read
    must serialise them, so no update is lost and the total never changes."""
    accounts, total = 5, 5 * 1000
    srv.sql("CREATE DATABASE bank")
    srv.sql("CREATE TABLE bank.acct (id INT PRIMARY KEY, bal INT NOT NULL)")
    srv.sql("INSERT INTO bank.acct VALUES " + ", ".join(f"({i}, 1000)" for i in range(accounts)))
    errors: list[BaseException] = []

    def transfers(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            with srv.connect(database="bank") as c, c.cursor() as cur:
                for _ in range(40):
                    a, b = rnd.sample(range(accounts), 2)
                    amount = rnd.randint(1, 10)
                    cur.execute("BEGIN")
                    cur.execute(f"SELECT bal FROM acct WHERE id = {a} {clause}")
                    bal_a = cur.fetchone()[0]
                    cur.execute(f"SELECT bal FROM acct WHERE id = {b} {clause}")
                    bal_b = cur.fetchone()[0]
                    cur.execute(f"UPDATE acct SET bal = {bal_a - amount} WHERE id = {a}")
                    cur.execute(f"UPDATE acct SET bal = {bal_b + amount} WHERE id = {b}")
                    cur.execute("COMMIT")
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=transfers, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert srv.sql("SELECT SUM(bal) FROM bank.acct") == [(total,)]


def test_locking_read_holds_the_writer_until_commit(srv: NodeProcess) -> None:
    """While a transaction holds a row FOR UPDATE, another writer waits; a plain read does not."""
    srv.sql("CREATE DATABASE d")
    srv.sql("CREATE TABLE d.t (id INT PRIMARY KEY, v INT)")
    srv.sql("INSERT INTO d.t VALUES (1, 10)")
    holder = srv.connect(database="d")
    cur = holder.cursor()
    cur.execute("SET autocommit = 0")
    cur.execute("SELECT v FROM t WHERE id = 1 FOR UPDATE")
    assert cur.fetchall() == ((10,),)
    done = threading.Event()

    def writer() -> None:
        srv.sql("UPDATE d.t SET v = v + 1 WHERE id = 1")
        done.set()

    th = threading.Thread(target=writer)
    th.start()
    wait_for(lambda: any("write lock" in str(r[6]) for r in srv.sql("SHOW PROCESSLIST")),
             what="the second writer waits for the lock")
    assert not done.is_set()
    assert srv.sql("SELECT v FROM d.t") == [(10,)]  # readers are not blocked
    cur.execute("UPDATE t SET v = 20 WHERE id = 1")
    cur.execute("COMMIT")
    th.join(10)
    assert done.is_set()
    assert srv.sql("SELECT v FROM d.t") == [(21,)]
    holder.close()


def test_locking_read_outside_a_transaction_and_nowait(srv: NodeProcess) -> None:
    srv.sql("CREATE DATABASE d")
    srv.sql("CREATE TABLE d.t (id INT PRIMARY KEY)")
    srv.sql("INSERT INTO d.t VALUES (1)")
    assert srv.sql("SELECT id FROM d.t FOR UPDATE") == [(1,)]  # autocommit: the lock ends with the statement
    srv.sql("INSERT INTO d.t VALUES (2)")  # ... so nothing is left held
    code, msg = _err(srv, "SELECT id FROM d.t FOR UPDATE NOWAIT")
    assert code == 1235 and "NOWAIT" in msg


# -- 8. FLUSH TABLES WITH READ ONLY stops every write path ------------------------------------------


def test_read_only_stops_database_level_writes(node_factory) -> None:  # type: ignore[no-untyped-def]
    src = node_factory("src", password=PW).start()
    src.sql("CREATE DATABASE shop")
    srv = node_factory("dst", password=PW).start()
    srv.sql("CREATE DATABASE keep")
    locker = srv.connect()
    locker.cursor().execute("FLUSH TABLES WITH READ ONLY")
    try:
        for stmt in ("DROP DATABASE keep", "CREATE DATABASE fresh",
                     f"REPLICATE DATABASE shop FROM root:'{PW}'@127.0.0.1:{src.port}"):
            code, msg = _err(srv, stmt)
            assert code == 1290 and "READ ONLY" in msg, (stmt, msg)
        assert [r[0] for r in srv.sql("SHOW DATABASES")] == ["information_schema", "keep"]
    finally:
        locker.cursor().execute("UNLOCK TABLES")
        locker.close()
    srv.sql("CREATE DATABASE fresh")
    srv.sql("DROP DATABASE fresh")


def test_read_lock_holds_create_database_until_unlock(srv: NodeProcess) -> None:
    locker = srv.connect()
    locker.cursor().execute("FLUSH TABLES WITH READ LOCK")
    done = threading.Event()

    def create() -> None:
        srv.sql("CREATE DATABASE later")
        done.set()

    th = threading.Thread(target=create)
    th.start()
    wait_for(lambda: any("UNLOCK" in str(r[6]) for r in srv.sql("SHOW PROCESSLIST")), what="CREATE waits")
    assert not done.is_set() and ("later",) not in srv.sql("SHOW DATABASES")
    locker.cursor().execute("UNLOCK TABLES")
    th.join(10)
    assert done.is_set() and ("later",) in srv.sql("SHOW DATABASES")
    locker.close()


# -- 5. passwords never reach SHOW PROCESSLIST ---------------------------------------------------


def test_commented_replicate_hides_its_password_in_processlist(srv: NodeProcess) -> None:
    """A REPLICATE that waits on a source which accepts but never answers stays in the process
    list long enough to be read there: its password must show as '***' though a comment leads."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    stmt = f"/* failover */ REPLICATE DATABASE app FROM root:'Sup3rS3cret'@127.0.0.1:{port}"
    th = threading.Thread(target=lambda: pytest.raises(pymysql.err.MySQLError, srv.sql, stmt))
    th.start()
    try:
        rows = wait_for(lambda: [r for r in srv.sql("SHOW FULL PROCESSLIST") if "REPLICATE" in str(r[7])],
                        what="the REPLICATE statement in the process list")
        info = rows[0][7]
        assert "Sup3rS3cret" not in info and "'***'" in info and info.startswith("/* failover */")
        assert not any("Sup3rS3cret" in str(r) for r in srv.sql("SELECT * FROM information_schema.PROCESSLIST"))
    finally:
        silent.close()
        th.join(90)


# -- 9. REPLICATION granted on one database --------------------------------------------------------


def test_replication_granted_on_one_database(node_factory) -> None:  # type: ignore[no-untyped-def]
    src = node_factory("src", password=PW).start()
    for db in ("db1", "db2"):
        src.sql(f"CREATE DATABASE {db}")
        src.sql(f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
        src.sql(f"INSERT INTO {db}.t VALUES (1)")
    src.sql("CREATE USER repl IDENTIFIED BY 'rpw'")
    src.sql("GRANT REPLICATION ON db1.* TO repl")
    assert ("GRANT REPLICATION ON `db1`.* TO 'repl'@'%'",) in src.sql("SHOW GRANTS FOR repl")
    dst = node_factory("dst", password=PW).start()
    dst.sql(f"REPLICATE DATABASE db1 FROM repl:'rpw'@127.0.0.1:{src.port}")
    assert dst.sql("SELECT id FROM db1.t") == [(1,)]
    code, msg = _err(dst, f"REPLICATE DATABASE db2 FROM repl:'rpw'@127.0.0.1:{src.port}")
    assert code == 1044 and "REPLICATION privilege on 'db2'" in msg and "GRANT REPLICATION ON db2.*" in msg
    assert ("db2",) not in dst.sql("SHOW DATABASES")
    src.sql("REVOKE REPLICATION ON db1.* FROM repl")
    assert src.sql("SHOW GRANTS FOR repl") == [("GRANT USAGE ON *.* TO 'repl'@'%'",)]


# -- 4. every view filters by the privileges MySQL would check -----------------------------------


def _rows(srv: NodeProcess, user: str, sql: str) -> list[tuple]:
    with srv.connect(user=user, password="upw") as c, c.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_one_table_grant_reveals_only_that_table(srv: NodeProcess) -> None:
    for stmt in ("CREATE DATABASE shop", "CREATE TABLE shop.visible (id INT PRIMARY KEY, name VARCHAR(10))",
                 "CREATE TABLE shop.hidden (id INT PRIMARY KEY, card VARCHAR(20), KEY k (card))",
                 "INSERT INTO shop.hidden VALUES (1, '4111111111111111')", "CREATE DATABASE secret",
                 "CREATE USER one IDENTIFIED BY 'upw'", "GRANT SELECT ON shop.visible TO one"):
        srv.sql(stmt)
    assert _rows(srv, "one", "SHOW TABLES FROM shop") == [("visible",)]
    assert _rows(srv, "one", "SHOW FULL TABLES FROM shop") == [("visible", "BASE TABLE")]
    assert [r[0] for r in _rows(srv, "one", "SHOW TABLE STATUS FROM shop")] == ["visible"]
    assert _rows(srv, "one", "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                             "WHERE TABLE_SCHEMA = 'shop'") == [("visible", 0)]
    assert _rows(srv, "one", "SELECT DISTINCT TABLE_NAME FROM information_schema.COLUMNS "
                             "WHERE TABLE_SCHEMA = 'shop'") == [("visible",)]
    assert _rows(srv, "one", "SELECT DISTINCT TABLE_NAME FROM information_schema.STATISTICS "
                             "WHERE TABLE_SCHEMA = 'shop'") == [("visible",)]
    assert _rows(srv, "one", "SHOW CREATE DATABASE shop")[0][0] == "shop"
    for db in ("secret", "nosuch"):
        code, msg = _err(srv, f"SHOW CREATE DATABASE {db}", user="one", password="upw")
        assert code == 1044 and f"to database '{db}'" in msg
    code, _ = _err(srv, "SHOW TABLE STATUS FROM secret", user="one", password="upw")
    assert code == 1044
    assert len(srv.sql("SHOW TABLES FROM shop")) == 2  # root sees both


def test_reverted_transactions_need_select_on_their_tables(node_factory) -> None:  # type: ignore[no-untyped-def]
    a = node_factory("a", password=PW).start()
    b = node_factory("b", password=PW).start()
    for stmt in ("CREATE DATABASE secret", "CREATE TABLE secret.cards (id INT PRIMARY KEY, number VARCHAR(20))",
                 "CREATE DATABASE pub", "CREATE USER pub IDENTIFIED BY 'upw'", "GRANT SELECT ON pub.* TO pub",
                 "CREATE USER auditor IDENTIFIED BY 'upw'", "GRANT SELECT ON secret.cards TO auditor"):
        a.sql(stmt)
    b.sql(f"REPLICATE DATABASE secret FROM root:'{PW}'@127.0.0.1:{a.port}")
    b.sql("STOP REPLICATING secret")
    a.sql("INSERT INTO secret.cards VALUES (1, '4111111111111111')")  # split brain: reverted below
    a.sql(f"REPLICATE DATABASE secret WITH FORCE DIFFERENTIAL FROM root:'{PW}'@127.0.0.1:{b.port}")
    view = "SELECT DATABASE_NAME, OPERATION, ROW_AFTER FROM information_schema.DRLAB_REVERTED_TRANSACTIONS"
    assert any("4111111111111111" in str(r) for r in a.sql(view))
    assert _rows(a, "pub", view) == []
    assert any("4111111111111111" in str(r) for r in _rows(a, "auditor", view))
    status = "SELECT database_name FROM information_schema.LMV_REPLICATION_STATUS"
    assert ("secret",) in a.sql(status) and _rows(a, "pub", status) == []
    assert _rows(a, "pub", "SHOW REPLICATION STATUS") == []


# -- 10. MySQL's errors and semantics for odd input ------------------------------------------------


def test_deep_nesting_and_long_or_chains(srv: NodeProcess) -> None:
    srv.sql("CREATE DATABASE d")
    srv.sql("CREATE TABLE d.t (id INT PRIMARY KEY)")
    srv.sql("INSERT INTO d.t VALUES (1), (5000)")
    code, msg = _err(srv, "SELECT " + "(" * 1000 + "1" + ")" * 1000)
    assert code == 1436 and "too deeply" in msg
    assert srv.sql("SELECT " + "(" * 300 + "7" + ")" * 300) == [(7,)]
    where = " OR ".join(f"id = {i}" for i in range(2, 1002)) + " OR id = 5000"
    assert srv.sql(f"SELECT id FROM d.t WHERE {where}") == [(5000,)]
    where = " AND ".join(f"id <> {i}" for i in range(2, 3002))
    assert srv.sql(f"SELECT COUNT(*) FROM d.t WHERE {where}") == [(2,)]
    assert srv.sql("SELECT 1") == [(1,)]  # still serving


def test_invalid_utf8_is_1300(srv: NodeProcess) -> None:
    """Bytes that are not UTF-8 outside a string literal are 1300; inside one they are a binary
    value (issue 16: drivers send BLOB values so), returned as those bytes."""
    with srv.connect() as c:
        cur = c.cursor()
        cur.execute(b"SELECT '\xff\xfe'")  # type: ignore[arg-type]
        assert cur.fetchall() == ((b"\xff\xfe",),)
        for raw in (b"SELECT 1 /* \xc3 */", b"SELECT \xe2\x82"):
            with pytest.raises(pymysql.err.MySQLError) as e:
                c.query(raw)
            assert e.value.args[0] == 1300 and "Invalid utf8mb4 character string" in e.value.args[1], raw
        c.query("SELECT 'caf\u00e9'")  # valid UTF-8 still works on the same connection
        assert c.cursor().execute("SELECT 1") == 1


def test_nul_in_a_database_name_is_1102(srv: NodeProcess) -> None:
    for stmt in ("CREATE DATABASE `a\x00b`", "REPLICATE DATABASE `a\x00b` FROM root@127.0.0.1:1"):
        code, msg = _err(srv, stmt)
        assert code == 1102 and "NUL" in msg, stmt
    assert srv.sql("SHOW DATABASES") == [("information_schema",)]


def test_executable_comments_inside_a_statement(srv: NodeProcess) -> None:
    assert srv.sql("SELECT 1 /*!50000 + 1 */") == [(2,)]
    assert srv.sql("SELECT 1 /*! + 2 */ AS x") == [(3,)]
    assert srv.sql("SELECT 1 /*!80000 + 1 */") == [(1,)]  # newer than the server's 5.7: ignored, as MySQL 5.7
    assert srv.sql("SELECT '/*!50000 + 1 */'") == [("/*!50000 + 1 */",)]


def test_string_comparisons_ignore_trailing_spaces(srv: NodeProcess) -> None:
    """MySQL's character collations are PAD SPACE: 'a ' = 'a', in expressions and on columns."""
    assert srv.sql("SELECT 'a ' = 'a', 'a' <> 'a  ', 'a ' > 'a', 'a' < 'a ', 'a' = 'b'") == [(1, 0, 0, 0, 0)]
    srv.sql("CREATE DATABASE d")
    srv.sql("CREATE TABLE d.u (id INT PRIMARY KEY, name VARCHAR(20), code CHAR(4), UNIQUE KEY un (name))")
    srv.sql("INSERT INTO d.u VALUES (1, 'bob  ', 'x'), (2, 'alice', 'y '), (3, 'Carol', 'z')")
    assert srv.sql("SELECT id FROM d.u WHERE name = 'bob'") == [(1,)]
    assert srv.sql("SELECT id FROM d.u WHERE name = 'alice   '") == [(2,)]
    assert srv.sql("SELECT id FROM d.u WHERE name = 'CAROL '") == [(3,)]  # still case-insensitive
    assert srv.sql("SELECT id FROM d.u WHERE code = 'y' AND name <> 'bob'") == [(2,)]
    assert srv.sql("SELECT COUNT(*) FROM d.u WHERE name > 'bob'") == [(1,)]  # only Carol
    with srv.connect() as c, c.cursor() as cur:  # a client-side bound value, as drivers send it
        cur.execute("SELECT id FROM d.u WHERE name = %s", ("bob",))
        assert cur.fetchall() == ((1,),)
    srv.sql("UPDATE d.u SET code = 'w' WHERE name = 'bob'")
    assert srv.sql("SELECT code FROM d.u WHERE id = 1") == [("w",)]
