"""Account statements (parsing) and the account store (privileges, errors, persistence)."""

from __future__ import annotations

import hashlib
import json

import pytest

from server.accounts import (
    CACHING_SHA2,
    NATIVE,
    AccountError,
    Accounts,
    caching_sha2_auth_string,
    caching_sha2_fast_digest,
    host_matches,
    native_auth_string,
    sha256_crypt,
    verify_caching_sha2_password,
    verify_caching_sha2_scramble,
    verify_native_scramble,
)
from server.errors import to_sql_error
from sqlfront.accounts import (
    AlterUser,
    CreateUser,
    DropUser,
    Grant,
    Revoke,
    SetPassword,
    ShowGrants,
    parse_account_statement,
)
from sqlfront.errors import SqlError

# -- parsing ---------------------------------------------------------------------------------------

PARSE_CASES = [
    (
        "CREATE USER 'app'@'%' IDENTIFIED BY 'pw'",
        CreateUser("app", "%", "pw", False, None),
    ),
    (
        "create user if not exists app@localhost identified by 's3cret';",
        CreateUser("app", "localhost", "s3cret", True, None),
    ),
    (
        "CREATE USER `app`@`10.0.%` IDENTIFIED WITH mysql_native_password BY 'x'",
        CreateUser("app", "10.0.%", "x", False, "mysql_native_password"),
    ),
    (
        "CREATE USER 'a' IDENTIFIED WITH caching_sha2_password BY 'it''s \\'quoted\\''",
        CreateUser("a", "%", "it's 'quoted'", False, "caching_sha2_password"),
    ),
    ("CREATE USER bob", CreateUser("bob", "%", None, False, None)),
    ("CREATE USER \"dq\"@'127.0.0.1'", CreateUser("dq", "127.0.0.1", None, False, None)),
    ("CREATE USER u@127.0.0.1 IDENTIFIED BY 'p'", CreateUser("u", "127.0.0.1", "p", False, None)),
    (
        "CREATE USER 'u'@'%' IDENTIFIED BY 'p' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK",
        CreateUser("u", "%", "p", False, None),
    ),
    (
        "ALTER USER 'app'@'%' IDENTIFIED BY 'new'",
        AlterUser("app", "%", "new", False, None),
    ),
    (
        "ALTER USER IF EXISTS app IDENTIFIED WITH caching_sha2_password BY 'n'",
        AlterUser("app", "%", "n", True, "caching_sha2_password"),
    ),
    ("ALTER USER USER() IDENTIFIED BY 'me'", AlterUser(None, None, "me", False, None)),
    ("DROP USER 'a'@'%', b, `c`@localhost", DropUser([("a", "%"), ("b", "%"), ("c", "localhost")], False)),
    ("DROP USER IF EXISTS a", DropUser([("a", "%")], True)),
    (
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION",
        Grant(["ALL"], "*", "*", "root", "%", True),
    ),
    ("GRANT ALL ON app.* TO app", Grant(["ALL"], "app", "*", "app", "%", False)),
    (
        "GRANT SELECT, INSERT, UPDATE, DELETE ON `app`.`t1` TO 'u'@'%'",
        Grant(["SELECT", "INSERT", "UPDATE", "DELETE"], "app", "t1", "u", "%", False),
    ),
    (
        "GRANT CREATE, DROP, ALTER, INDEX ON app.* TO u",
        Grant(["CREATE", "DROP", "ALTER", "INDEX"], "app", "*", "u", "%", False),
    ),
    (
        "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO repl@'%'",
        Grant(["REPLICATION SLAVE", "REPLICATION CLIENT"], "*", "*", "repl", "%", False),
    ),
    (
        "GRANT REPLICATION, CREATE USER, SUPER, RELOAD, PROCESS ON *.* TO ops",
        Grant(["REPLICATION", "CREATE USER", "SUPER", "RELOAD", "PROCESS"], "*", "*", "ops", "%", False),
    ),
    ("GRANT SELECT ON tbl TO u", Grant(["SELECT"], None, "tbl", "u", "%", False)),
    (
        "GRANT SELECT ON app.* TO u IDENTIFIED BY 'pw' WITH GRANT OPTION",
        Grant(["SELECT"], "app", "*", "u", "%", True, "pw"),
    ),
    ("REVOKE INSERT ON app.* FROM 'u'@'%'", Revoke(["INSERT"], "app", "*", "u", "%")),
    (
        "REVOKE ALL PRIVILEGES, GRANT OPTION FROM u",
        Revoke(["ALL", "GRANT OPTION"], "*", "*", "u", "%", all_levels=True),
    ),
    ("SHOW GRANTS", ShowGrants(None, None)),
    ("show grants for current_user()", ShowGrants(None, None)),
    ("SHOW GRANTS FOR CURRENT_USER", ShowGrants(None, None)),
    ("SHOW GRANTS FOR 'app'@'%'", ShowGrants("app", "%")),
    ("SHOW GRANTS FOR app", ShowGrants("app", "%")),
    ("SET PASSWORD = 'pw'", SetPassword(None, None, "pw")),
    ("SET PASSWORD FOR 'app'@'%' = 'pw2'", SetPassword("app", "%", "pw2")),
    ("SET PASSWORD FOR app = PASSWORD('old')", SetPassword("app", "%", "old")),
    ("  /* comment */ GRANT SELECT ON *.* TO x", Grant(["SELECT"], "*", "*", "x", "%", False)),
]


@pytest.mark.parametrize("sql,expected", PARSE_CASES, ids=[c[0][:50] for c in PARSE_CASES])
def test_parse(sql: str, expected) -> None:
    cmd = parse_account_statement(sql)
    assert cmd == expected
    # passwords never appear in repr/str
    assert "password=" not in repr(cmd) and "auth_string=" not in repr(cmd)
    for attr in ("password", "auth_string"):
        secret = getattr(cmd, attr, None)
        if secret and len(secret) >= 4:
            assert secret not in repr(cmd)
            assert secret not in str(cmd)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "CREATE TABLE t (a int)",
        "DROP TABLE users",
        "ALTER TABLE t ADD c INT",
        "SHOW DATABASES",
        "SET @x = 1",
        "SET autocommit = 0",
        "INSERT INTO grants VALUES (1)",
        "UPDATE password SET x=1",
        "SET PASSWORD_HISTORY = 5",
        "SET passwords = 1",
        "DROP USERS",
        "SHOW GRANTSX",
        "GRANTS",
        "",
        "   ",
    ],
)
def test_not_account_statements(sql: str) -> None:
    assert parse_account_statement(sql) is None


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE USER",
        "CREATE USER 'a'@",
        "CREATE USER 'a' IDENTIFIED",
        "CREATE USER 'a' IDENTIFIED BY",
        "CREATE USER 'a' IDENTIFIED BY pw",
        "CREATE USER 'unterminated IDENTIFIED BY 'x'",
        "CREATE USER a IDENTIFIED BY 'x' garbage",
        "DROP USER",
        "DROP USER a,",
        "GRANT SELECT TO u",
        "GRANT SELEC ON *.* TO u",
        "GRANT SELECT ON *.* u",
        "GRANT SELECT ON *.* TO",
        "GRANT SELECT ON *.* TO u WITH",
        "REVOKE SELECT ON *.* TO u",
        "SHOW GRANTS FOR",
        "SHOW GRANTS u",
        "SET PASSWORD 'x'",
        "SET PASSWORD = ",
        "SET PASSWORD FOR u = PASSWORD('x'",
        "CREATE USER a WITH",
        "CREATE USER a IDENTIFIED BY 'x'; SELECT 1",
    ],
)
def test_malformed_is_1064(sql: str) -> None:
    with pytest.raises(SqlError) as ei:
        parse_account_statement(sql)
    assert ei.value.code == 1064
    assert ei.value.sqlstate == "42000"
    assert "You have an error in your SQL syntax" in ei.value.message


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE USER a IDENTIFIED WITH auth_socket",
        "CREATE USER a IDENTIFIED BY 'x' REQUIRE X509",
        "GRANT SELECT (c1) ON t TO u",
        "GRANT 'role1' TO u",
        "CREATE USER a IDENTIFIED BY 'x', b IDENTIFIED BY 'y'",
    ],
)
def test_unsupported_is_1235(sql: str) -> None:
    with pytest.raises(SqlError) as ei:
        parse_account_statement(sql)
    assert ei.value.code == 1235


def test_password_not_in_repr_of_any_command() -> None:
    for sql in (
        "CREATE USER a IDENTIFIED BY 'hunter2xyz'",
        "ALTER USER a IDENTIFIED BY 'hunter2xyz'",
        "GRANT SELECT ON *.* TO a IDENTIFIED BY 'hunter2xyz'",
        "SET PASSWORD FOR a = 'hunter2xyz'",
        "CREATE USER a IDENTIFIED WITH mysql_native_password AS '*hunter2xyz'",
    ):
        cmd = parse_account_statement(sql)
        assert "hunter2xyz" not in repr(cmd)
        assert "hunter2xyz" not in str(cmd)
        assert "hunter2xyz" not in f"{cmd!r} {cmd}"


# -- password verifiers ----------------------------------------------------------------------------


def test_native_hash_matches_mysql() -> None:
    # SELECT PASSWORD('password') on MySQL 5.7
    assert native_auth_string("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
    assert native_auth_string("") == ""


def test_native_scramble() -> None:
    nonce = b"abcdefghijklmnopqrst"
    pw = b"secret"
    s1 = hashlib.sha1(pw).digest()
    s2 = hashlib.sha1(s1).digest()
    scramble = bytes(a ^ b for a, b in zip(s1, hashlib.sha1(nonce + s2).digest(), strict=True))
    stored = native_auth_string("secret")
    assert verify_native_scramble(stored, scramble, nonce)
    assert not verify_native_scramble(stored, scramble, b"x" * 20)
    assert not verify_native_scramble(stored, b"", nonce)
    assert verify_native_scramble("", b"", nonce)
    assert not verify_native_scramble("", scramble, nonce)


def test_sha256_crypt_matches_glibc_vector() -> None:
    # Drepper's specification, "$5$saltstring" / "Hello world!"
    assert sha256_crypt(b"Hello world!", b"saltstring") == "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"


def test_caching_sha2_matches_mysql_hash() -> None:
    # A MySQL 8 authentication_string for the password 'foobar' (binary salt bytes included)
    stored = bytes.fromhex(
        "24412430303524031A69251C34295C4B35167C7F1E5A7B63091349503974624D34504B5A424679354856336868"
        "686F52485A736E4A733368786E427575516C73446469496537"
    ).decode("latin-1")
    assert verify_caching_sha2_password(stored, b"foobar")
    assert not verify_caching_sha2_password(stored, b"foobaz")
    mine = caching_sha2_auth_string("foobar")
    assert mine.startswith("$A$005$") and len(mine) == 7 + 20 + 43
    assert verify_caching_sha2_password(mine, b"foobar")
    assert not verify_caching_sha2_password(mine, b"")


def test_caching_sha2_scramble() -> None:
    nonce = b"0123456789abcdefghij"
    h1 = hashlib.sha256(b"pw").digest()
    h2 = hashlib.sha256(h1).digest()
    scramble = bytes(a ^ b for a, b in zip(h1, hashlib.sha256(h2 + nonce).digest(), strict=True))
    assert verify_caching_sha2_scramble(caching_sha2_fast_digest("pw"), scramble, nonce)
    assert not verify_caching_sha2_scramble(caching_sha2_fast_digest("pW"), scramble, nonce)


# -- the store -------------------------------------------------------------------------------------


class Blob:
    def __init__(self) -> None:
        self.data: bytes | None = None
        self.saves = 0

    def load(self) -> bytes | None:
        return self.data

    def save(self, b: bytes) -> None:
        self.data = b
        self.saves += 1


def make(root_pw: str = "rootpw") -> tuple[Accounts, Blob]:
    blob = Blob()
    return Accounts(blob.load, blob.save, root_pw), blob


def run(accts: Accounts, sql: str, user: str = "root", host: str = "127.0.0.1", db: str | None = None):
    return accts.execute(parse_account_statement(sql), user, host, current_db=db)


def grants(
    accts: Accounts, sql: str = "SHOW GRANTS", user: str = "root", host: str = "127.0.0.1"
) -> list[str]:
    return [r[0] for r in run(accts, sql, user, host)]


def err(fn, *args, **kw) -> SqlError:
    """The ERR a client would see: account errors pass through server.errors' table, as at the edge."""
    with pytest.raises((SqlError, AccountError)) as ei:
        fn(*args, **kw)
    mapped = to_sql_error(ei.value)
    assert mapped is not None
    return mapped


def test_first_start_creates_root() -> None:
    accts, blob = make()
    root = accts.lookup("root", "127.0.0.1")
    assert root is not None and (root.user, root.host) == ("root", "%")
    assert root.auth_string == native_auth_string("rootpw")
    assert blob.saves == 1
    assert grants(accts) == ["GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION"]
    assert accts.show_grants_header(ShowGrants(), "root", "127.0.0.1") == "Grants for root@%"
    assert run(accts, "SHOW GRANTS")[0][1] == "root@%"


def test_plaintext_never_stored() -> None:
    accts, blob = make("rootpw-PLAIN")
    run(accts, "CREATE USER a IDENTIFIED BY 'native-PLAIN'")
    run(accts, "CREATE USER b IDENTIFIED WITH caching_sha2_password BY 'sha2-PLAIN'")
    assert b"PLAIN" not in blob.data
    stored = json.loads(blob.data)
    b = next(a for a in stored["accounts"] if a["user"] == "b")
    assert b["plugin"] == CACHING_SHA2 and b["auth_string"].startswith("$A$005$")
    assert b["fast_digest"] == caching_sha2_fast_digest("sha2-PLAIN")
    assert "PLAIN" not in repr(accts.get("b", "%"))


def test_persistence_round_trip_and_root_reset() -> None:
    accts, blob = make("first")
    run(accts, "CREATE USER 'app'@'%' IDENTIFIED BY 'apppw'")
    run(accts, "GRANT SELECT, INSERT ON app.* TO 'app'@'%'")
    run(accts, "GRANT UPDATE ON app.t TO 'app'@'%' ")
    before = grants(accts, "SHOW GRANTS FOR app")
    # restart without a root password: everything as it was, nothing rewritten
    saves = blob.saves
    again = Accounts(blob.load, blob.save, "")
    assert blob.saves == saves
    assert grants(again, "SHOW GRANTS FOR app") == before
    assert again.get("root", "%").auth_string == native_auth_string("first")
    # restart with a root password: it resets root's password, keeps everything else
    third = Accounts(blob.load, blob.save, "second")
    assert third.get("root", "%").auth_string == native_auth_string("second")
    assert grants(third, "SHOW GRANTS FOR app") == before
    # root dropped, then a restart with a root password brings it back
    run(third, "DROP USER root")
    fourth = Accounts(blob.load, blob.save, "third")
    assert fourth.get("root", "%").auth_string == native_auth_string("third")
    assert grants(fourth) == ["GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION"]


def test_failed_save_leaves_store_unchanged() -> None:
    blob = Blob()
    accts = Accounts(blob.load, blob.save, "x")

    def boom(_: bytes) -> None:
        raise OSError("disk full")

    accts._save = boom
    with pytest.raises(OSError):
        run(accts, "CREATE USER nope")
    assert accts.get("nope", "%") is None


def test_create_alter_drop() -> None:
    accts, _ = make()
    run(accts, "CREATE USER 'u'@'%' IDENTIFIED BY 'a'")
    e = err(run, accts, "CREATE USER 'u'@'%' IDENTIFIED BY 'b'")
    assert (e.code, e.sqlstate, e.message) == (1396, "HY000", "Operation CREATE USER failed for 'u'@'%'")
    run(accts, "CREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED BY 'b'")
    assert accts.get("u", "%").auth_string == native_auth_string("a")
    run(accts, "ALTER USER u IDENTIFIED WITH caching_sha2_password BY 'c'")
    u = accts.get("u", "%")
    assert u.plugin == CACHING_SHA2 and verify_caching_sha2_password(u.auth_string, b"c")
    e = err(run, accts, "ALTER USER ghost IDENTIFIED BY 'x'")
    assert (e.code, e.message) == (1396, "Operation ALTER USER failed for 'ghost'@'%'")
    run(accts, "ALTER USER IF EXISTS ghost IDENTIFIED BY 'x'")
    e = err(run, accts, "DROP USER u, ghost, 'g2'@'h'")
    assert (e.code, e.message) == (1396, "Operation DROP USER failed for 'ghost'@'%','g2'@'h'")
    assert accts.get("u", "%") is not None  # nothing dropped on error
    run(accts, "DROP USER IF EXISTS u, ghost")
    assert accts.get("u", "%") is None


def test_create_with_hash() -> None:
    accts, _ = make()
    run(accts, f"CREATE USER n IDENTIFIED WITH mysql_native_password AS '{native_auth_string('pw')}'")
    assert accts.get("n", "%").auth_string == native_auth_string("pw")
    run(accts, "CREATE USER m IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'")
    assert accts.get("m", "%").plugin == NATIVE
    h = caching_sha2_auth_string("pw")
    run(accts, f"CREATE USER s IDENTIFIED WITH caching_sha2_password AS '{h}'")
    s = accts.get("s", "%")
    assert s.auth_string == h and accts.fast_digest(s) == ""
    accts.remember_fast_digest(s, b"pw")
    assert accts.fast_digest(s) == caching_sha2_fast_digest("pw")
    e = err(run, accts, "CREATE USER bad IDENTIFIED WITH mysql_native_password AS 'nothex'")
    assert e.code == 1827


def test_set_password() -> None:
    accts, _ = make()
    run(accts, "CREATE USER 'u'@'%' IDENTIFIED BY 'a'")
    run(accts, "CREATE USER 'v'@'%' IDENTIFIED BY 'a'")
    run(accts, "SET PASSWORD = 'self'", user="u")
    assert accts.get("u", "%").auth_string == native_auth_string("self")
    e = err(run, accts, "SET PASSWORD FOR v = 'x'", user="u")
    assert (e.code, e.message) == (1044, "Access denied for user 'u'@'%' to database 'mysql'")
    run(accts, "SET PASSWORD FOR v = 'byroot'")
    assert accts.get("v", "%").auth_string == native_auth_string("byroot")
    e = err(run, accts, "SET PASSWORD FOR ghost = 'x'")
    assert e.code == 1133
    # ALTER USER for oneself needs no privilege
    run(accts, "ALTER USER USER() IDENTIFIED BY 'again'", user="u")
    assert accts.get("u", "%").auth_string == native_auth_string("again")


def test_grant_revoke_show() -> None:
    accts, _ = make()
    run(accts, "CREATE USER 'u'@'%' IDENTIFIED BY 'pw'")
    assert grants(accts, "SHOW GRANTS FOR u") == ["GRANT USAGE ON *.* TO 'u'@'%'"]
    run(accts, "GRANT INSERT, SELECT ON app.* TO u")
    run(accts, "GRANT ALL ON shop.* TO u WITH GRANT OPTION")
    run(accts, "GRANT UPDATE, DELETE ON app.orders TO u")
    run(accts, "GRANT PROCESS, REPLICATION CLIENT ON *.* TO u")
    assert grants(accts, "SHOW GRANTS FOR 'u'@'%'") == [
        "GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'u'@'%'",
        "GRANT SELECT, INSERT ON `app`.* TO 'u'@'%'",
        "GRANT ALL PRIVILEGES ON `shop`.* TO 'u'@'%' WITH GRANT OPTION",
        "GRANT UPDATE, DELETE ON `app`.`orders` TO 'u'@'%'",
    ]
    # the user sees its own grants without any privilege on mysql
    assert grants(accts, user="u") == grants(accts, "SHOW GRANTS FOR u")
    run(accts, "REVOKE INSERT ON app.* FROM u")
    run(accts, "REVOKE SELECT ON app.* FROM u")  # empty level disappears
    run(accts, "REVOKE UPDATE, DELETE ON app.orders FROM u")
    run(accts, "REVOKE GRANT OPTION ON shop.* FROM u")
    assert grants(accts, "SHOW GRANTS FOR u") == [
        "GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'u'@'%'",
        "GRANT ALL PRIVILEGES ON `shop`.* TO 'u'@'%'",
    ]
    e = err(run, accts, "REVOKE SELECT ON app.* FROM u")
    assert (e.code, e.sqlstate, e.message) == (
        1141,
        "42000",
        "There is no such grant defined for user 'u' on host '%'",
    )
    e = err(run, accts, "REVOKE SELECT ON app.t9 FROM u")
    assert e.code == 1147
    e = err(run, accts, "REVOKE SELECT ON *.* FROM ghost")
    assert e.code == 1141
    run(accts, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM u")
    assert grants(accts, "SHOW GRANTS FOR u") == ["GRANT USAGE ON *.* TO 'u'@'%'"]
    e = err(run, accts, "SHOW GRANTS FOR ghost")
    assert e.code == 1141


def test_grant_errors() -> None:
    accts, _ = make()
    run(accts, "CREATE USER u IDENTIFIED BY 'pw'")
    e = err(run, accts, "GRANT SUPER ON app.* TO u")
    assert (e.code, e.message) == (1221, "Incorrect usage of DB GRANT and GLOBAL PRIVILEGES")
    e = err(run, accts, "GRANT SELECT ON ghost.* TO nobody")
    assert e.code == 1410
    run(accts, "GRANT SELECT ON app.* TO newbie IDENTIFIED BY 'npw'")  # 5.7: creates the user
    assert accts.get("newbie", "%").auth_string == native_auth_string("npw")
    e = err(run, accts, "GRANT SELECT ON t TO u")
    assert e.code == 1046
    run(accts, "GRANT SELECT ON t TO u", db="app")
    assert "GRANT SELECT ON `app`.`t` TO 'u'@'%'" in grants(accts, "SHOW GRANTS FOR u")
    # granting needs GRANT OPTION and the privilege itself
    run(accts, "CREATE USER v IDENTIFIED BY 'pw'")
    e = err(run, accts, "GRANT SELECT ON app.* TO v", user="u")
    assert (e.code, e.message) == (1044, "Access denied for user 'u'@'%' to database 'app'")
    e = err(run, accts, "GRANT SELECT ON *.* TO v", user="u")
    assert (e.code, e.sqlstate) == (1045, "28000")
    run(accts, "GRANT SELECT ON app.* TO u WITH GRANT OPTION")
    run(accts, "GRANT SELECT ON app.* TO v", user="u")
    e = err(run, accts, "GRANT INSERT ON app.* TO v", user="u")
    assert e.code == 1044
    run(accts, "GRANT USAGE ON app2.* TO v")
    assert grants(accts, "SHOW GRANTS FOR v") == [
        "GRANT USAGE ON *.* TO 'v'@'%'",
        "GRANT SELECT ON `app`.* TO 'v'@'%'",
    ]
    e = err(run, accts, "GRANT SELECT ON app.* TO v IDENTIFIED BY 'stolen'", user="u")
    assert e.code == 1227  # changing another user's password needs CREATE USER
    assert accts.get("v", "%").auth_string == native_auth_string("pw")
    # account management needs CREATE USER
    e = err(run, accts, "CREATE USER w", user="u")
    assert (e.code, e.sqlstate, e.message) == (
        1227,
        "42000",
        "Access denied; you need (at least one of) the CREATE USER privilege(s) for this operation",
    )
    e = err(run, accts, "DROP USER v", user="u")
    assert e.code == 1227
    e = err(run, accts, "ALTER USER v IDENTIFIED BY 'x'", user="u")
    assert e.code == 1227
    e = err(run, accts, "SHOW GRANTS FOR v", user="u")
    assert (e.code, e.message) == (1044, "Access denied for user 'u'@'%' to database 'mysql'")


def test_check_errors() -> None:
    accts, _ = make()
    run(accts, "CREATE USER 'u'@'%' IDENTIFIED BY 'pw'")
    run(accts, "GRANT SELECT ON app.* TO u")
    run(accts, "GRANT INSERT ON other.t TO u")
    accts.check("u", "10.1.2.3", "SELECT", "app", "t1")
    accts.check("u", "10.1.2.3", "SELECT", "app")
    accts.check("u", "10.1.2.3", "INSERT", "other", "t")
    accts.check("u", "10.1.2.3", "USAGE", "app")  # USE app
    accts.check("u", "10.1.2.3", "USAGE", "other")  # a table grant is enough for USE
    accts.check("u", "10.1.2.3", "USAGE", None)
    accts.check("root", "10.1.2.3", "SUPER", None)
    accts.check("root", "10.1.2.3", "DELETE", "any", "thing")
    accts.check("u", "10.1.2.3", "SELECT", "information_schema", "tables")
    accts.check("u", "10.1.2.3", "USAGE", "INFORMATION_SCHEMA")
    assert err(accts.check, "u", "10.1.2.3", "INSERT", "information_schema", "tables").code == 1142

    e = err(accts.check, "u", "10.1.2.3", "INSERT", "app", "t1")
    assert (e.code, e.sqlstate, e.message) == (
        1142,
        "42000",
        "INSERT command denied to user 'u'@'10.1.2.3' for table 't1'",
    )
    e = err(accts.check, "u", "10.1.2.3", "SELECT", "other", "t2")
    assert e.message == "SELECT command denied to user 'u'@'10.1.2.3' for table 't2'"
    e = err(accts.check, "u", "10.1.2.3", "CREATE", "newdb")
    assert (e.code, e.sqlstate, e.message) == (
        1044,
        "42000",
        "Access denied for user 'u'@'%' to database 'newdb'",
    )
    e = err(accts.check, "u", "10.1.2.3", "USAGE", "secret")
    assert e.code == 1044
    e = err(accts.check, "u", "10.1.2.3", "SUPER", None)
    assert (e.code, e.sqlstate, e.message) == (
        1227,
        "42000",
        "Access denied; you need (at least one of) the SUPER privilege(s) for this operation",
    )
    e = err(accts.check, "ghost", "10.1.2.3", "SELECT", "app", "t")
    assert e.code == 1142
    assert accts.has_privilege("u", "1.1.1.1", "SELECT", "app", "x")
    assert not accts.has_privilege("u", "1.1.1.1", "DELETE", "app", "x")


def test_databases_visible() -> None:
    accts, _ = make()
    run(accts, "CREATE USER u")
    run(accts, "GRANT SELECT ON app.* TO u")
    run(accts, "GRANT INSERT ON other.t TO u")
    assert accts.databases_visible("u", "1.2.3.4", "app")
    assert accts.databases_visible("u", "1.2.3.4", "other")
    assert not accts.databases_visible("u", "1.2.3.4", "secret")
    assert accts.databases_visible("u", "1.2.3.4", "information_schema")
    assert accts.databases_visible("root", "1.2.3.4", "secret")
    assert not accts.databases_visible("ghost", "1.2.3.4", "app")


def test_host_matching() -> None:
    assert host_matches("%", "1.2.3.4")
    assert host_matches("localhost", "127.0.0.1")
    assert host_matches("localhost", "::1")
    assert host_matches("127.0.0.1", "localhost")
    assert host_matches("::1", "127.0.0.1")
    assert host_matches("127.0.0.1", "::ffff:127.0.0.1")
    assert host_matches("10.0.%", "10.0.7.1")
    assert not host_matches("10.0.%", "10.1.7.1")
    assert host_matches("192.168.1._", "192.168.1.7")
    assert not host_matches("192.168.1._", "192.168.1.17")
    assert host_matches("192.168.1.0/255.255.255.0", "192.168.1.77")
    assert host_matches("10.0.0.0/8", "10.200.0.1")
    assert not host_matches("10.0.0.0/8", "11.0.0.1")
    assert not host_matches("db.example.com", "1.2.3.4")
    assert host_matches("LocalHost", "127.0.0.1")


def test_lookup_most_specific_first() -> None:
    accts, _ = make()
    run(accts, "CREATE USER 'app'@'%' IDENTIFIED BY 'any'")
    run(accts, "CREATE USER 'app'@'10.%' IDENTIFIED BY 'ten'")
    run(accts, "CREATE USER 'app'@'10.0.0.%' IDENTIFIED BY 'tenzero'")
    run(accts, "CREATE USER 'app'@'10.0.0.5' IDENTIFIED BY 'exact'")
    run(accts, "CREATE USER 'app'@'localhost' IDENTIFIED BY 'local'")
    assert accts.lookup("app", "10.0.0.5").host == "10.0.0.5"
    assert accts.lookup("app", "10.0.0.6").host == "10.0.0.%"
    assert accts.lookup("app", "10.9.0.6").host == "10.%"
    assert accts.lookup("app", "8.8.8.8").host == "%"
    for local in ("127.0.0.1", "::1", "localhost"):
        assert accts.lookup("app", local).host == "localhost"
    assert accts.lookup("nobody", "10.0.0.5") is None
    # an anonymous account matches any user name, after named accounts of the same host
    run(accts, "CREATE USER ''@'10.0.0.5'")
    assert accts.lookup("app", "10.0.0.5").user == "app"
    assert accts.lookup("stranger", "10.0.0.5").user == ""
    # changes invalidate the lookup cache
    run(accts, "DROP USER 'app'@'10.0.0.5'")
    assert accts.lookup("app", "10.0.0.5").user == ""
