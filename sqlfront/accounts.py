"""Account statements (CREATE/ALTER/DROP USER, GRANT, REVOKE, SHOW GRANTS, SET PASSWORD) as typed commands.

Pure: no I/O. `parse_account_statement` returns None for any other statement (cheaply: it looks at the
first words only), a command object for a well-formed account statement, and raises a 1064 SqlError
for a malformed one (1235 for valid MySQL syntax drlab does not implement, e.g. REQUIRE X509).

Passwords are kept out of every repr/str (`field(repr=False)`); the commands are dataclasses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlfront.errors import not_supported
from sqlfront.grammar import Kind, Parser, leading_words

# --------------------------------------------------------------------------------------------------
# Commands


@dataclass
class CreateUser:
    user: str
    host: str = "%"
    password: str | None = field(default=None, repr=False)
    if_not_exists: bool = False
    plugin: str | None = None
    # IDENTIFIED WITH plugin AS 'stored hash' (already hashed, e.g. copied from another server)
    auth_string: str | None = field(default=None, repr=False)


@dataclass
class AlterUser:
    user: str | None  # None: the current user (ALTER USER USER() / CURRENT_USER())
    host: str | None = "%"
    password: str | None = field(default=None, repr=False)
    if_exists: bool = False
    plugin: str | None = None
    auth_string: str | None = field(default=None, repr=False)


@dataclass
class DropUser:
    users: list[tuple[str, str]]
    if_exists: bool = False


@dataclass
class Grant:
    privileges: list[str]  # canonical upper-case names; "ALL" for ALL [PRIVILEGES]
    db: str | None  # '*' for all; None: the current database (ON tbl / ON *)
    table: str  # '*' for all
    user: str
    host: str = "%"
    with_grant_option: bool = False
    password: str | None = field(default=None, repr=False)  # GRANT ... IDENTIFIED BY (MySQL 5.7)


@dataclass
class Revoke:
    privileges: list[str]
    db: str | None
    table: str
    user: str
    host: str = "%"
    # REVOKE ALL [PRIVILEGES], GRANT OPTION FROM u: every privilege at every level
    all_levels: bool = False


@dataclass
class ShowGrants:
    user: str | None = None  # None: CURRENT_USER
    host: str | None = None


@dataclass
class SetPassword:
    user: str | None  # None: the current user
    host: str | None = None
    password: str = field(default="", repr=False)


AccountCommand = CreateUser | AlterUser | DropUser | Grant | Revoke | ShowGrants | SetPassword

# MySQL's display order (SHOW GRANTS); REPLICATION (SingleStore's, for REPLICATE DATABASE) after
# the MySQL replication privileges.
PRIVILEGES: tuple[str, ...] = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "RELOAD",
    "SHUTDOWN",
    "PROCESS",
    "FILE",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "SHOW DATABASES",
    "SUPER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "REPLICATION SLAVE",
    "REPLICATION CLIENT",
    "REPLICATION",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "CREATE USER",
    "EVENT",
    "TRIGGER",
    "CREATE TABLESPACE",
)
# The names the parser accepts: every privilege, GRANT OPTION and USAGE, names of more words first
# so the longest match wins ("CREATE USER" before "CREATE").
PRIVILEGE_NAMES: tuple[str, ...] = tuple(sorted((*PRIVILEGES, "GRANT OPTION", "USAGE"), key=lambda n: -len(n.split())))

_RESOURCE_OPTIONS = (
    "MAX_QUERIES_PER_HOUR",
    "MAX_UPDATES_PER_HOUR",
    "MAX_CONNECTIONS_PER_HOUR",
    "MAX_USER_CONNECTIONS",
)

KNOWN_PLUGINS = ("mysql_native_password", "caching_sha2_password")

_ACCOUNT_STARTS = {"CREATE": "USER", "ALTER": "USER", "DROP": "USER", "SHOW": "GRANTS", "SET": "PASSWORD"}
FIRST_WORDS = ("GRANT", "REVOKE", *_ACCOUNT_STARTS)  # the words an account statement starts with

# an unquoted host may hold dots, dashes, colons and wildcards (10.0.%, ::1): read it raw
_HOST_CHARS = re.compile(r"[A-Za-z0-9_%.:\-]+")

# --------------------------------------------------------------------------------------------------
# Parser


class _Parser(Parser):
    """MySQL's account grammar on the shared Parser; errors are MySQL's bare 1064s."""

    def string_or_hex(self) -> str:
        tok = self.peek()
        if tok is not None and tok.kind is Kind.HEX:
            self.i += 1
            try:
                return bytes.fromhex(tok.value).decode("latin-1")
            except ValueError:
                raise self.error(pos=tok.start) from None
        return self.string()

    def at_quoted(self) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in (Kind.STRING, Kind.IDENT)

    def name(self) -> str:
        """A user, host, db or table name: quoted string, backticked or bare word."""
        return self.take(Kind.STRING, Kind.IDENT, Kind.WORD, Kind.NUMBER).value

    def current_user_fn(self) -> bool:
        """CURRENT_USER, CURRENT_USER(), USER()."""
        if self.at_any("CURRENT_USER"):
            self.i += 1
            if self.accept_punct("("):
                self.expect_punct(")")
            return True
        if self.at_any("USER") and self.at_punct("(", k=1):
            self.i += 1
            self.expect_punct("(")
            self.expect_punct(")")
            return True
        return False

    def user_spec(self) -> tuple[str, str]:
        user = self.name()
        host = "%"
        if self.accept_punct("@"):
            host = self.raw(_HOST_CHARS) or self.name()
        return user, host.lower()

    def user_or_current(self) -> tuple[str | None, str | None]:
        if self.current_user_fn():
            return None, None
        return self.user_spec()

    def auth_option(self) -> tuple[str | None, str | None, str | None]:
        """After IDENTIFIED: BY 'pw' | BY PASSWORD 'hash' | WITH plugin [BY 'pw' | AS 'hash']."""
        plugin = None
        if self.accept_any("WITH"):
            plugin = self.take(Kind.WORD, Kind.STRING, Kind.IDENT).value.lower()
            if plugin not in KNOWN_PLUGINS:
                raise not_supported(f"Authentication plugin '{plugin}'")
            if self.accept_any("BY"):
                if self.at_any("RANDOM"):
                    raise not_supported("IDENTIFIED BY RANDOM PASSWORD")
                return plugin, self.string(), None
            if self.accept_any("AS"):
                return plugin, None, self.string_or_hex()
            return plugin, "", None
        self.expect_any("BY")
        if self.accept_any("PASSWORD"):
            # IDENTIFIED BY PASSWORD '*hash' (MySQL 5.7): a mysql_native_password hash
            return "mysql_native_password", None, self.string()
        if self.at_any("RANDOM"):
            raise not_supported("IDENTIFIED BY RANDOM PASSWORD")
        return None, self.string(), None

    def trailing_account_options(self) -> None:
        """Accept options that only restate the defaults; refuse the others (never a wrong result)."""
        while not self.at_end():
            if self.accept("REQUIRE", "NONE"):
                continue
            if self.accept("ACCOUNT", "UNLOCK"):
                continue
            if self.accept("PASSWORD", "EXPIRE", "DEFAULT") or self.accept(
                "PASSWORD", "EXPIRE", "NEVER"
            ):
                continue
            if self.peek(1) is not None and self.at_any(
                "REQUIRE",
                "ACCOUNT",
                "PASSWORD",
                "WITH",
                "DEFAULT",
                "COMMENT",
                "ATTRIBUTE",
                "FAILED_LOGIN_ATTEMPTS",
                "PASSWORD_LOCK_TIME",
            ):
                raise not_supported(f"{self.toks[self.i].value.upper()} account option")
            raise self.error()

    # -- statements
    def parse(self) -> AccountCommand:
        first = self.expect_any("CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "SHOW", "SET")
        method = getattr(self, "_" + first.lower())
        cmd: AccountCommand = method()
        self.end()
        return cmd

    def _create(self) -> CreateUser:
        self.expect_any("USER")
        if_not_exists = self.accept("IF", "NOT", "EXISTS")
        user, host = self.user_spec()
        plugin = password = auth_string = None
        if self.accept_any("IDENTIFIED"):
            plugin, password, auth_string = self.auth_option()
        if self.at_punct(","):
            raise not_supported("CREATE USER for several users in one statement")
        self.trailing_account_options()
        return CreateUser(user, host, password, if_not_exists, plugin, auth_string)

    def _alter(self) -> AlterUser:
        self.expect_any("USER")
        if_exists = self.accept("IF", "EXISTS")
        user, host = self.user_or_current()
        plugin = password = auth_string = None
        if self.accept_any("IDENTIFIED"):
            plugin, password, auth_string = self.auth_option()
            if self.at_any("REPLACE", "RETAIN"):
                raise not_supported(f"{self.toks[self.i].value.upper()} in ALTER USER")
        if self.at_punct(","):
            raise not_supported("ALTER USER for several users in one statement")
        self.trailing_account_options()
        return AlterUser(user, host, password, if_exists, plugin, auth_string)

    def _drop(self) -> DropUser:
        self.expect_any("USER")
        if_exists = self.accept("IF", "EXISTS")
        return DropUser(self.comma_list(self.user_spec), if_exists)

    def privilege_list(self) -> list[str]:
        privs: list[str] = []
        while True:
            if self.accept_any("ALL"):
                self.accept_any("PRIVILEGES")
                privs.append("ALL")
            else:
                for name in PRIVILEGE_NAMES:
                    words = name.split()
                    if self.accept(*words):
                        privs.append(name)
                        break
                else:
                    raise self.error()
            if self.at_punct("("):
                raise not_supported("Column-level privileges")
            if not self.accept_punct(","):
                return privs

    def on_target(self) -> tuple[str | None, str]:
        self.expect_any("ON")
        if self.accept_any("TABLE"):
            pass
        elif self.at_any("FUNCTION", "PROCEDURE"):
            raise not_supported("Routine privileges")
        if self.accept_punct("*"):
            if self.accept_punct("."):
                self.expect_punct("*")
                return "*", "*"
            return None, "*"
        first = self.name()
        if self.accept_punct("."):
            if self.accept_punct("*"):
                return first, "*"
            return first, self.name()
        return None, first

    def _grant(self) -> Grant:
        if self.at_quoted():
            raise not_supported("Roles")
        privs = self.privilege_list()
        if not self.at_any("ON"):
            raise self.error()
        db, table = self.on_target()
        self.expect_any("TO")
        user, host = self.user_spec()
        password = None
        if self.accept_any("IDENTIFIED"):
            plugin, password, auth_string = self.auth_option()
            if plugin is not None or auth_string is not None:
                raise not_supported("IDENTIFIED WITH in GRANT")
        if self.at_punct(","):
            raise not_supported("GRANT to several users in one statement")
        with_grant = False
        while not self.at_end():
            if self.accept("WITH", "GRANT", "OPTION"):
                with_grant = True
            elif self.accept("REQUIRE", "NONE"):
                pass
            elif self.at_any("WITH") and self.at_any(*_RESOURCE_OPTIONS, k=1):
                raise not_supported(f"WITH {self.toks[self.i + 1].value.upper()} in GRANT")
            elif self.at_any("REQUIRE") and self.peek(1) is not None:
                raise not_supported("REQUIRE clause in GRANT")
            elif self.at_any("AS") and self.peek(1) is not None:
                raise not_supported("GRANT ... AS user")
            else:
                raise self.error()
        if "GRANT OPTION" in privs:
            privs.remove("GRANT OPTION")
            with_grant = True
            if not privs:
                privs = ["USAGE"]
        return Grant(privs, db, table, user, host, with_grant, password)

    def _revoke(self) -> Revoke:
        self.accept("IF", "EXISTS")
        if self.at_quoted():
            raise not_supported("Roles")
        privs = self.privilege_list()
        if self.at_any("FROM") and privs == ["ALL", "GRANT OPTION"]:
            self.expect_any("FROM")
            user, host = self.user_spec()
            if self.at_punct(","):
                raise not_supported("REVOKE from several users in one statement")
            return Revoke(privs, "*", "*", user, host, all_levels=True)
        if not self.at_any("ON"):
            raise self.error()
        db, table = self.on_target()
        self.expect_any("FROM")
        user, host = self.user_spec()
        if self.at_punct(","):
            raise not_supported("REVOKE from several users in one statement")
        self.accept("IGNORE", "UNKNOWN", "USER")
        return Revoke(privs, db, table, user, host)

    def _show(self) -> ShowGrants:
        self.expect_any("GRANTS")
        if not self.accept_any("FOR"):
            return ShowGrants()
        user, host = self.user_or_current()
        if self.at_any("USING"):
            raise not_supported("SHOW GRANTS ... USING")
        return ShowGrants(user, host)

    def _set(self) -> SetPassword:
        self.expect_any("PASSWORD")
        user: str | None = None
        host: str | None = None
        if self.accept_any("FOR"):
            user, host = self.user_or_current()
        if self.at_any("TO"):
            raise not_supported("SET PASSWORD ... TO RANDOM")
        self.expect_punct("=")
        if self.accept_any("PASSWORD"):
            self.expect_punct("(")
            password = self.string()
            self.expect_punct(")")
        else:
            password = self.string()
        if self.at_any("REPLACE", "RETAIN"):
            raise not_supported(f"{self.toks[self.i].value.upper()} in SET PASSWORD")
        return SetPassword(user, host, password)


def is_account_statement(sql: str) -> bool:
    """Cheap test on the first words only."""
    words = leading_words(sql, 2)
    if not words:
        return False
    if words[0] in ("GRANT", "REVOKE"):
        return True
    return len(words) == 2 and _ACCOUNT_STARTS.get(words[0]) == words[1]


def parse_account_statement(sql: str) -> AccountCommand | None:
    """The typed command for an account statement, None for any other statement.

    Raises SqlError 1064 for a malformed account statement, 1235 for unsupported valid syntax.
    """
    if not is_account_statement(sql):
        return None
    return _Parser(sql).parse()
