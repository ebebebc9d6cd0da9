"""sqlfront.ddl: MySQL DDL -> TableDef -> SQLite statements, checked by running them on SQLite."""

from __future__ import annotations

import sqlite3

import pytest
import sqlglot

from sqlfront.ddl import (
    Index,
    TableDef,
    add_index,
    apply_alter,
    drop_index,
    index_from_create,
    parse_create_table,
    rebuild_sql,
    table_from_create,
    table_like,
)
from sqlfront.errors import SqlError
from sqlfront.statements import parse_statement

NOW = "2024-01-02 03:04:05"
SBTEST = (
    "CREATE TABLE sbtest1(id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, "
    "c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id)) "
    "/*! ENGINE = innodb */"
)


class Db:
    """An in-memory SQLite database with the storage layer's functions stubbed."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.now = NOW
        self.applying = 0
        self.conn.create_function("drlab_now", 0, lambda: self.now)
        self.conn.create_function("drlab_applying", 0, lambda: self.applying)

    def run(self, statements: list[str]) -> None:
        self.conn.execute("BEGIN")
        try:
            for s in statements:
                self.conn.execute(s)
        except sqlite3.Error:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def create(self, table: TableDef, physical: str = "t") -> None:
        self.run(table.sqlite_create(physical) + table.sqlite_triggers(physical))

    def rows(self, sql: str, *args: object) -> list[tuple]:
        return self.conn.execute(sql, args).fetchall()


def create(sql: str) -> TableDef:
    return table_from_create(parse_create_table(sql))


def alter(table: TableDef, sql: str) -> tuple[TableDef, dict[str, str]]:
    return apply_alter(table, sqlglot.parse_one(sql, read="mysql"))


def code_of(fn, *args) -> int:
    with pytest.raises(SqlError) as info:
        fn(*args)
    return info.value.code


# -- CREATE TABLE -> SQLite ------------------------------------------------------------------

LOWERING = [
    (
        SBTEST,
        [
            'CREATE TABLE "t"("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
            "\"k\" INTEGER NOT NULL DEFAULT '0', "
            "\"c\" TEXT NOT NULL COLLATE NOCASE DEFAULT '' "
            'CONSTRAINT "drlab_len_c" CHECK (length("c") <= 120), '
            "\"pad\" TEXT NOT NULL COLLATE NOCASE DEFAULT '' "
            'CONSTRAINT "drlab_len_pad" CHECK (length("pad") <= 60))'
        ],
    ),
    (
        "CREATE TABLE x (a int, b varchar(5) COLLATE utf8mb4_bin, PRIMARY KEY (a, b), KEY k (b))",
        [
            'CREATE TABLE "t"("a" INTEGER NOT NULL, "b" TEXT NOT NULL '
            'CONSTRAINT "drlab_len_b" CHECK (length("b") <= 5), PRIMARY KEY("a", "b"))',
            'CREATE INDEX "t__k" ON "t"("b")',
        ],
    ),
    (
        "CREATE TABLE x (code char(3) PRIMARY KEY, n bigint unsigned UNIQUE)",
        [
            'CREATE TABLE "t"("code" TEXT NOT NULL COLLATE NOCASE '
            'CONSTRAINT "drlab_len_code" CHECK (length("code") <= 3), '
            '"n" INTEGER DEFAULT NULL, PRIMARY KEY("code"))',
            'CREATE UNIQUE INDEX "t__n" ON "t"("n")',
        ],
    ),
    (
        "CREATE TABLE x (id int PRIMARY KEY, e ENUM('a','b') NOT NULL, d DECIMAL(10,2) DEFAULT 1.5, "
        "f FLOAT, g DOUBLE, h DATETIME(6), i DATE, j TIME, k YEAR, l BOOL, m BLOB, n VARBINARY(4) "
        "DEFAULT 'ab', o JSON, p TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        [
            'CREATE TABLE "t"("id" INTEGER PRIMARY KEY NOT NULL, "e" TEXT NOT NULL COLLATE NOCASE '
            "CONSTRAINT \"drlab_enum_e\" CHECK (\"e\" IN ('a', 'b')), \"d\" DECIMAL2 DEFAULT '1.50', "
            '"f" REAL DEFAULT NULL, "g" REAL DEFAULT NULL, "h" DATETIME DEFAULT NULL, '
            '"i" DATE DEFAULT NULL, "j" TIME DEFAULT NULL, "k" INTEGER DEFAULT NULL, '
            '"l" INTEGER DEFAULT NULL, "m" BLOB, "n" BLOB DEFAULT X\'6162\' '
            'CONSTRAINT "drlab_len_n" CHECK (length("n") <= 4), "o" TEXT DEFAULT NULL, '
            '"p" DATETIME NOT NULL DEFAULT (drlab_now()))'
        ],
    ),
]


@pytest.mark.parametrize(("mysql", "expected"), LOWERING)
def test_lowering(mysql: str, expected: list[str]) -> None:
    table = create(mysql)
    assert table.sqlite_create("t") == expected
    Db().create(table)


def test_column_types_as_mysql_57_prints_them() -> None:
    table = create(
        "CREATE TABLE x (a INT(11), b INTEGER, c BIGINT UNSIGNED, d TINYINT(1), e BOOLEAN, f NUMERIC, "
        "g DECIMAL(5), h FLOAT, i DOUBLE, j CHAR, k VARCHAR(9), l MEDIUMTEXT, m LONGBLOB, n YEAR, "
        "o DATETIME(6), p TIMESTAMP, q SET('x','y'), r ENUM('it''s','b'), s SMALLINT UNSIGNED, t BIT)"
    )
    assert [c.type for c in table.columns] == [
        "int(11)", "int(11)", "bigint(20) unsigned", "tinyint(1)", "tinyint(1)", "decimal(10,0)",
        "decimal(5,0)", "float", "double", "char(1)", "varchar(9)", "mediumtext", "longblob", "year(4)",
        "datetime(6)", "timestamp", "set('x','y')", "enum('it''s','b')", "smallint(5) unsigned", "bit(1)",
    ]  # fmt: skip


def test_sysbench_show_create() -> None:
    table = create(SBTEST)
    assert table.engine == "InnoDB"
    assert table.show_create() == (
        "CREATE TABLE `sbtest1` (\n"
        "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
        "  `k` int(11) NOT NULL DEFAULT '0',\n"
        "  `c` char(120) NOT NULL DEFAULT '',\n"
        "  `pad` char(60) NOT NULL DEFAULT '',\n"
        "  PRIMARY KEY (`id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    table.auto_increment = 10001
    assert table.show_create().endswith(") ENGINE=InnoDB AUTO_INCREMENT=10001 DEFAULT CHARSET=utf8mb4")


ROUND_TRIP = [
    SBTEST,
    "CREATE TABLE t (id int(11) NOT NULL AUTO_INCREMENT PRIMARY KEY, b bigint unsigned, "
    "t tinyint(1) DEFAULT NULL, e enum('a','b') NOT NULL DEFAULT 'A', d decimal(10,2) DEFAULT 1.5, "
    "ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, ts2 timestamp, "
    "s varchar(10) CHARACTER SET latin1 COLLATE latin1_bin COMMENT 'it''s \\\\ here', j json, tx text, "
    "KEY k (b) USING BTREE, INDEX (t), UNIQUE KEY u (b,t), KEY p (tx(10))) "
    "ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='hi'",
    "CREATE ROWSTORE TABLE t (a int, b int, SHARD KEY (a), SORT KEY (b))",
    "CREATE REFERENCE TABLE t (a int primary key)",
    "CREATE COLUMNSTORE TABLE t (a int, b datetime(6) DEFAULT NOW(6) ON UPDATE CURRENT_TIMESTAMP(6), SHARD KEY (a))",
    "CREATE TABLE c (id int primary key, pid int, CONSTRAINT fk FOREIGN KEY (pid) REFERENCES p(id) "
    "ON DELETE CASCADE, FOREIGN KEY (id) REFERENCES q(x))",
    "CREATE TABLE s (id bigint(20) NOT NULL, v varchar(3) BINARY, n varchar(5) DEFAULT 'a\\nb', "
    "UNIQUE KEY (v), UNIQUE KEY (id), PRIMARY KEY (id)) ENGINE=MyISAM",
    "CREATE TABLE sr (id SERIAL, v int)",
]


@pytest.mark.parametrize("sql", ROUND_TRIP)
def test_show_create_and_json_round_trip(sql: str) -> None:
    table = create(sql)
    assert create(table.show_create()) == table
    assert TableDef.from_json(table.to_json()) == table
    Db().create(table)


def test_show_create_details() -> None:
    table = create(ROUND_TRIP[1])
    text = table.show_create()
    assert "  `ts` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,\n" in text
    assert "  `ts2` timestamp NULL DEFAULT NULL,\n" in text
    assert (
        "  `s` varchar(10) CHARACTER SET latin1 COLLATE latin1_bin DEFAULT NULL COMMENT 'it''s \\\\ here',\n"
        in text
    )
    assert "  `j` json DEFAULT NULL,\n  `tx` text,\n" in text
    assert "  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`b`,`t`),\n  KEY `k` (`b`),\n  KEY `t` (`t`),\n" in text
    assert "  KEY `p` (`tx`(10))\n" in text
    assert text.endswith(
        ") ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='hi'"
    )
    fk = create(ROUND_TRIP[5]).show_create()
    assert (
        "  KEY `fk` (`pid`),\n  CONSTRAINT `fk` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE,\n"
        in fk
    )
    assert "CONSTRAINT `c_ibfk_1` FOREIGN KEY (`id`) REFERENCES `q` (`x`)\n" in fk
    assert create(ROUND_TRIP[2]).storage == "ROWSTORE"
    assert create(ROUND_TRIP[4]).shard_key == ["a"]


def test_model_helpers() -> None:
    table = create(ROUND_TRIP[1])
    assert table.column("ID").name == "id"
    assert code_of(table.column, "nope") == 1054
    assert table.auto_increment_column() is table.column("id")
    assert table.unique_keys() == [["id"], ["b", "t"]]
    assert create("CREATE TABLE x (a int)").auto_increment_column() is None


def test_keys_may_precede_their_columns() -> None:
    table = create("CREATE TABLE t (PRIMARY KEY (ID), id int, KEY (v), v int)")
    assert [(i.name, i.columns) for i in table.indexes] == [("PRIMARY", ["id"]), ("v", ["v"])]


def test_table_options_in_executable_comments() -> None:
    assert (
        create("CREATE TABLE t (a int) /*!50100 ENGINE=MyISAM */ /*!80016 COMMENT='x' */").engine == "MyISAM"
    )
    # When the caller parses itself, sqlglot keeps /*! */ as a comment; it is still honoured.
    stmt = sqlglot.parse_one("CREATE TABLE t (a int) /*! ENGINE = myisam */", read="mysql")
    assert table_from_create(stmt).engine == "MyISAM"


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("CREATE TABLE t (a int, a int)", 1060),
        ("CREATE TABLE t (a int, KEY k (a), KEY k (a))", 1061),
        ("CREATE TABLE t (a int PRIMARY KEY, b int, PRIMARY KEY (b))", 1068),
        ("CREATE TABLE t (a int, KEY (b))", 1072),
        ("CREATE TABLE t (a int AUTO_INCREMENT)", 1075),
        ("CREATE TABLE t (a int AUTO_INCREMENT, b int AUTO_INCREMENT, PRIMARY KEY (a))", 1075),
        ("CREATE TABLE t (a int AUTO_INCREMENT, b int, PRIMARY KEY (b, a))", 1075),
        ("CREATE TABLE t (a int AUTO_INCREMENT, b int, PRIMARY KEY (a, b))", 1235),
        ("CREATE TABLE t (a int AUTO_INCREMENT, KEY (a))", 1235),
        ("CREATE TABLE t (a int, CONSTRAINT c CHECK (a > 0), CONSTRAINT C CHECK (a < 9))", 3822),
        ("CREATE TABLE t (a text, FULLTEXT KEY (a))", 1235),
        ("CREATE TABLE t (a int NOT NULL DEFAULT NULL)", 1067),
        ("CREATE TABLE t (a int DEFAULT 'x')", 1067),
        ("CREATE TABLE t (a enum('x') DEFAULT 'y')", 1067),
        ("CREATE TABLE t (a int DEFAULT CURRENT_TIMESTAMP)", 1067),
        ("CREATE TABLE t (a text DEFAULT 'x')", 1101),
        ("CREATE TABLE t (a text, KEY (a))", 1170),
        ("CREATE TABLE t (a int DEFAULT (1 + 1))", 1235),
        ("CREATE TABLE t (a int ON UPDATE CURRENT_TIMESTAMP)", 1294),
        ("CREATE TABLE t (a int, KEY `PRIMARY` (a))", 1280),
        ("CREATE TABLE t (a varchar(20), PRIMARY KEY (a(5)))", 1235),
        ("CREATE TABLE t (a int, FOREIGN KEY (b) REFERENCES p (id))", 1072),
    ],
)
def test_create_errors(sql: str, code: int) -> None:
    assert code_of(create, sql) == code


# -- behaviour on SQLite ---------------------------------------------------------------------


def test_auto_increment_never_reuses_ids() -> None:
    db = Db()
    db.create(create(SBTEST), "s")
    for _ in range(3):
        db.run(["INSERT INTO s(k) VALUES (1)"])
    db.run(["DELETE FROM s WHERE id = 3", "INSERT INTO s(k, c) VALUES (1, 'x')"])
    assert [r[0] for r in db.rows("SELECT id FROM s ORDER BY id")] == [1, 2, 4]
    assert db.rows("SELECT c, pad FROM s WHERE id = 4") == [("x", "")]


def test_auto_increment_table_option_sets_next_id() -> None:
    db = Db()
    db.create(create("CREATE TABLE a (id int AUTO_INCREMENT PRIMARY KEY, v int) AUTO_INCREMENT=100"), "a")
    db.run(["INSERT INTO a(v) VALUES (1)"])
    assert db.rows("SELECT id FROM a") == [(100,)]


def test_serial_column_becomes_rowid() -> None:
    table = create("CREATE TABLE s (id SERIAL, v int)")
    assert table.rowid_column() is table.column("id")
    assert table.show_create().startswith(
        "CREATE TABLE `s` (\n  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,"
    )
    db = Db()
    db.create(table, "s")
    db.run(["INSERT INTO s(v) VALUES (1), (2)"])
    assert db.rows("SELECT rowid, id FROM s") == [(1, 1), (2, 2)]


def test_case_insensitive_strings_and_unique_keys() -> None:
    db = Db()
    db.create(
        create("CREATE TABLE u (name varchar(20), code varchar(5) COLLATE utf8mb4_bin, UNIQUE KEY (name))")
    )
    db.run(["INSERT INTO t(name, code) VALUES ('abc', 'abc')"])
    assert db.rows("SELECT count(*) FROM t WHERE name = 'ABC'") == [(1,)]
    assert db.rows("SELECT count(*) FROM t WHERE code = 'ABC'") == [(0,)]
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.run(["INSERT INTO t(name) VALUES ('ABC')"])


def test_enum_and_length_checks_name_the_column() -> None:
    db = Db()
    db.create(create("CREATE TABLE e (st enum('new','done') NOT NULL DEFAULT 'new', c char(3))"))
    db.run(["INSERT INTO t(c) VALUES ('abc')"])
    assert db.rows("SELECT st FROM t") == [("new",)]
    with pytest.raises(sqlite3.IntegrityError, match="drlab_enum_st"):
        db.run(["INSERT INTO t(st) VALUES ('gone')"])
    with pytest.raises(sqlite3.IntegrityError, match="drlab_len_c"):
        db.run(["INSERT INTO t(c) VALUES ('abcd')"])


def test_not_null_without_default_has_no_sqlite_default() -> None:
    db = Db()
    db.create(create("CREATE TABLE n (a int, b int NOT NULL)"))
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        db.run(["INSERT INTO t(a) VALUES (1)"])


def test_on_update_current_timestamp_trigger() -> None:
    db = Db()
    table = create(
        "CREATE TABLE o (id int PRIMARY KEY, v varchar(5), "
        "ts timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)"
    )
    db.create(table)
    db.run(["INSERT INTO t(id, v) VALUES (1, 'a')"])
    assert db.rows("SELECT ts FROM t") == [(NOW,)]
    db.now = "2024-02-02 00:00:00"
    db.run(["UPDATE t SET v = 'a'"])  # no change: no bump
    assert db.rows("SELECT ts FROM t") == [(NOW,)]
    db.run(["UPDATE t SET v = 'A'"])  # a change, even if only in case
    assert db.rows("SELECT ts FROM t") == [("2024-02-02 00:00:00",)]
    db.run(["UPDATE t SET v = 'b', ts = '2000-01-01 00:00:00'"])  # explicit value wins
    assert db.rows("SELECT ts FROM t") == [("2000-01-01 00:00:00",)]
    db.applying = 1
    db.run(["UPDATE t SET v = 'c'"])  # replication apply copies the source's value
    assert db.rows("SELECT ts FROM t") == [("2000-01-01 00:00:00",)]


def test_sqlite_accepts_a_user_function_as_default() -> None:
    conn = sqlite3.connect(":memory:")
    conn.create_function("drlab_now", 0, lambda: NOW)
    conn.execute("CREATE TABLE t(a INTEGER, b DATETIME DEFAULT (drlab_now()))")
    conn.execute("INSERT INTO t(a) VALUES (1)")
    assert conn.execute("SELECT b FROM t").fetchall() == [(NOW,)]


# -- ALTER TABLE -----------------------------------------------------------------------------


def test_alter_columns_positions_and_rename_map() -> None:
    table = create("CREATE TABLE t (id int PRIMARY KEY, a int, b varchar(3), c int, KEY kb (b, c))")
    new, renames = alter(
        table,
        "ALTER TABLE t ADD COLUMN x int NOT NULL AFTER id, ADD y char(2) FIRST, DROP COLUMN c, "
        "CHANGE COLUMN b bb varchar(10) NOT NULL, MODIFY a bigint DEFAULT '7', RENAME COLUMN id TO pk",
    )
    assert [c.name for c in new.columns] == ["y", "pk", "x", "a", "bb"]
    assert renames == {"id": "pk", "a": "a", "b": "bb"}
    assert new.column("a").type == "bigint(20)" and new.column("a").default == "'7'"
    assert new.column("bb").nullable is False
    assert [(i.name, i.columns) for i in new.indexes] == [("PRIMARY", ["pk"]), ("kb", ["bb"])]
    assert table.column("b").name == "b"  # the input is not modified


def test_alter_keys_and_options() -> None:
    table = create("CREATE TABLE t (id int NOT NULL, a int, b int, KEY ka (a))")
    new, _ = alter(
        table,
        "ALTER TABLE t ADD PRIMARY KEY (id), ADD UNIQUE KEY u (a, b), ADD INDEX (b), DROP INDEX ka, "
        "RENAME INDEX b TO kb, ENGINE=MyISAM, COMMENT='c', AUTO_INCREMENT=9",
    )
    assert [(i.name, i.columns, i.unique) for i in new.indexes] == [
        ("PRIMARY", ["id"], True),
        ("u", ["a", "b"], True),
        ("kb", ["b"], False),
    ]
    assert (new.engine, new.comment, new.auto_increment) == ("MyISAM", "c", 9)
    new, _ = alter(new, "ALTER TABLE t DROP PRIMARY KEY, RENAME TO t2")
    assert new.name == "t2" and new.primary_key() is None
    new, _ = alter(new, "ALTER TABLE t2 ALTER COLUMN a SET DEFAULT 3")
    assert new.column("a").default == "'3'"


def test_alter_charset_keeps_existing_columns() -> None:
    table = create("CREATE TABLE t (a varchar(3))")
    new, _ = alter(table, "ALTER TABLE t DEFAULT CHARSET=latin1")
    assert new.charset == "latin1" and new.column("a").charset == "utf8mb4"


def test_drop_column_leaves_keys() -> None:
    table = create("CREATE TABLE t (a int, b int, c int, UNIQUE KEY u (a, b), KEY kb (b))")
    new, renames = alter(table, "ALTER TABLE t DROP b")
    assert [(i.name, i.columns) for i in new.indexes] == [("u", ["a"])]
    assert renames == {"a": "a", "c": "c"}


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("ALTER TABLE t ADD COLUMN a int", 1060),
        ("ALTER TABLE t CHANGE a b int", 1060),
        ("ALTER TABLE t ADD INDEX k (b)", 1061),
        ("ALTER TABLE t DROP INDEX nope", 1091),
        ("ALTER TABLE t DROP PRIMARY KEY", 1091),
        ("ALTER TABLE t DROP COLUMN nope", 1054),
        ("ALTER TABLE t MODIFY nope int", 1054),
        ("ALTER TABLE t ADD COLUMN z int AFTER nope", 1054),
        ("ALTER TABLE t ADD PRIMARY KEY (a), ADD PRIMARY KEY (b)", 1068),
        ("ALTER TABLE t DROP a, DROP b", 1090),
        ("ALTER TABLE t ALTER COLUMN a SET VISIBLE", 1235),
    ],
)
def test_alter_errors(sql: str, code: int) -> None:
    table = create("CREATE TABLE t (a int, b int, KEY k (b))")
    assert code_of(alter, table, sql) == code


def test_create_and_drop_index() -> None:
    table = create("CREATE TABLE t (a varchar(30), b int)")
    idx = index_from_create(sqlglot.parse_one("CREATE UNIQUE INDEX ua ON t (a(4), b)", read="mysql"))
    assert idx == Index("ua", ["a", "b"], unique=True, lengths=[4, None])
    new = add_index(table, idx)
    assert "UNIQUE KEY `ua` (`a`(4),`b`)" in new.show_create()
    assert (
        new.sqlite_create("t")[1]
        == 'CREATE UNIQUE INDEX "t__ua" ON "t"(substr("a", 1, 4) COLLATE NOCASE, "b")'
    )
    assert code_of(add_index, new, Index("UA", ["b"])) == 1061
    assert drop_index(new, "ua").indexes == []
    assert code_of(drop_index, table, "ua") == 1091


def test_table_like() -> None:
    source = create(ROUND_TRIP[5])
    copy = table_like(source, "c2")
    assert copy.name == "c2" and copy.columns == source.columns and copy.indexes == source.indexes
    assert copy.foreign_keys == []  # as MySQL: LIKE does not copy foreign keys
    assert source.name == "c"


# -- rebuild ---------------------------------------------------------------------------------


def test_rebuild_keeps_rows_rowids_and_sequence() -> None:
    db = Db()
    old = create(SBTEST)
    db.create(old, "sb")
    db.run([f"INSERT INTO sb(k, c) VALUES ({i}, 'c{i}')" for i in range(1, 6)])
    db.run(["DELETE FROM sb WHERE id IN (2, 5)", 'CREATE VIEW v AS SELECT * FROM "sb"'])
    new, renames = alter(
        old,
        "ALTER TABLE sbtest1 ADD COLUMN n int NOT NULL, ADD COLUMN s varchar(5) NOT NULL, "
        "ADD COLUMN d datetime NOT NULL DEFAULT CURRENT_TIMESTAMP, ADD COLUMN z int, "
        "CHANGE c cc char(120) NOT NULL DEFAULT '', DROP COLUMN pad, ADD KEY kk (k)",
    )
    db.run(rebuild_sql(old, new, renames, "sb"))
    assert db.rows("SELECT id, k, cc, n, s, d, z FROM sb ORDER BY id") == [
        (1, 1, "c1", 0, "", NOW, None),
        (3, 3, "c3", 0, "", NOW, None),
        (4, 4, "c4", 0, "", NOW, None),
    ]
    db.run(["INSERT INTO sb(k, n, s) VALUES (9, 1, 'x')"])
    assert db.rows("SELECT max(id) FROM sb") == [(6,)]  # 5 is never reused
    assert db.rows("SELECT count(*) FROM v") == [(4,)]
    names = {r[0] for r in db.rows("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "sb__kk" in names


def test_rebuild_without_integer_primary_key_keeps_rowids() -> None:
    db = Db()
    old = create("CREATE TABLE h (a varchar(5), b int, ts timestamp NULL ON UPDATE CURRENT_TIMESTAMP)")
    db.create(old, "h")
    db.run(["INSERT INTO h(a, b) VALUES ('x', 1), ('y', 2), ('z', 3)", "DELETE FROM h WHERE b = 2"])
    new, renames = alter(old, "ALTER TABLE h MODIFY b bigint NOT NULL, ADD e enum('p','q') NOT NULL FIRST")
    db.run(rebuild_sql(old, new, renames, "h"))
    assert db.rows("SELECT rowid, e, a, b FROM h ORDER BY rowid") == [(1, "p", "x", 1), (3, "p", "z", 3)]
    db.now = "2030-01-01 00:00:00"
    db.run(["UPDATE h SET b = 4 WHERE rowid = 3"])  # the trigger was recreated
    assert db.rows("SELECT ts FROM h WHERE rowid = 3") == [("2030-01-01 00:00:00",)]


def test_rebuild_new_auto_increment_primary_key_takes_rowids() -> None:
    db = Db()
    old = create("CREATE TABLE p (v int)")
    db.create(old, "p")
    db.run(["INSERT INTO p(v) VALUES (10), (20)"])
    new, renames = alter(old, "ALTER TABLE p ADD id int NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST")
    db.run(rebuild_sql(old, new, renames, "p"))
    db.run(["INSERT INTO p(v) VALUES (30)"])
    assert db.rows("SELECT id, v FROM p ORDER BY id") == [(1, 10), (2, 20), (3, 30)]


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("CREATE INDEX i ON t", 1064),  # no key parts
        ("CREATE FULLTEXT INDEX f ON t (a)", 1235),  # was silently a plain index
        ("CREATE INDEX k ON t (a) USING BTREE", 1235),
        ("CREATE INDEX PRIMARY ON t (a)", 1280),
    ],
)
def test_create_index_statements_are_parsed_once_and_refused_by_name(sql: str, code: int) -> None:
    cmd = parse_statement(sql)
    assert cmd.kind == "create_index" and cmd.ast is not None
    assert code_of(index_from_create, cmd.ast) == code


def test_create_index_keeps_prefix_lengths_and_drops_the_order() -> None:
    cmd = parse_statement("CREATE UNIQUE INDEX ua ON d.t (a(4) DESC, `b`)")
    assert index_from_create(cmd.ast) == Index("ua", ["a", "b"], unique=True, lengths=[4, None])
    assert (cmd.ast.this.args["table"].db, cmd.ast.this.args["table"].name) == ("d", "t")


@pytest.mark.parametrize(
    ("sql", "kind", "tables", "index"),
    [
        ("TRUNCATE t", "truncate", [(None, "t")], None),
        ("truncate table `d`.`my t`;", "truncate", [("d", "my t")], None),
        ("DROP INDEX ka ON d.t", "drop_index", [("d", "t")], "ka"),
        ("DROP INDEX `k a` ON t ALGORITHM = INPLACE LOCK=NONE", "drop_index", [(None, "t")], "k a"),
        ("RENAME TABLE a TO b, d.c TO d.e", "rename_table", [(None, "a"), (None, "b"), ("d", "c"), ("d", "e")], None),
    ],
)
def test_truncate_drop_index_and_rename_are_read_by_the_grammar(sql: str, kind: str, tables: list, index: str | None) -> None:
    cmd = parse_statement(sql)
    assert (cmd.kind, cmd.tables, cmd.index) == (kind, tables, index)


@pytest.mark.parametrize("sql", ["TRUNCATE t extra", "DROP INDEX k ON t junk", "RENAME TABLE a b", "DROP INDEX k"])
def test_truncate_drop_index_and_rename_refuse_trailing_or_missing_words(sql: str) -> None:
    with pytest.raises(SqlError) as e:
        parse_statement(sql)
    assert e.value.code == 1064


@pytest.mark.parametrize(
    ("sql", "code", "named"),
    [
        ("ALTER TABLE t CONVERT TO CHARACTER SET latin1", 1235, "ALTER TABLE ... CONVERT TO"),
        ("ALTER TABLE d.t PARTITION BY HASH(id) PARTITIONS 4", 1235, "ALTER TABLE ... PARTITION BY"),
        ("ALTER TABLE t REMOVE PARTITIONING", 1235, "ALTER TABLE ... REMOVE PARTITIONING"),
        ("ALTER TABLE t FOOBAR", 1064, "near 'FOOBAR'"),
    ],
)
def test_alter_table_clauses_sqlglot_cannot_read_are_refused_not_ignored(sql: str, code: int, named: str) -> None:
    with pytest.raises(SqlError) as e:
        parse_statement(sql)
    assert e.value.code == code and named in e.value.message
