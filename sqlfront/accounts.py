"""Account statements (CREATE/ALTER/DROP USER, GRANT, REVOKE, SHOW GRANTS, SET PASSWORD) as typed commands.

Pure: no I/O. `parse_account_statement` returns None for any other statement (cheaply: it looks at the
first words only), a command object for a well-formed account statement, and raises a 1064 SqlError
for a malformed one (1235 for valid MySQL syntax drlab does not implement, e.g. REQUIRE X509).

Passwords are kept out of every repr/str (`field(repr=False)`); the commands are dataclasses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlfront.errors import not_supported, parse_error

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

# --------------------------------------------------------------------------------------------------
# Tokenizer

_LEAD = re.compile(r"\s*(?:(?:/\*(?!!).*?\*/|#[^\n]*\n|--\s[^\n]*\n)\s*)*", re.S)
_FIRST_WORDS = re.compile(r"([A-Za-z0-9_$]+)\s+([A-Za-z0-9_$]+)")
_ACCOUNT_STARTS = {"CREATE": "USER", "ALTER": "USER", "DROP": "USER", "SHOW": "GRANTS", "SET": "PASSWORD"}

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "Z": "\x1a"}


@dataclass
class _Tok:
    kind: str  # 'word' | 'str' | 'ident' (backticked) | 'punct' | 'hex'
    value: str
    pos: int


_PUNCT = "@,.*=();"
_HOST_CHARS = re.compile(r"[A-Za-z0-9_%.:\-]+")
_WORD = re.compile(r"[A-Za-z0-9_$]+")


def _tokenize(sql: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise parse_error(sql[i:])
            i = end + 2
            continue
        if c == "#" or sql.startswith("-- ", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if c in "'\"":
            value, j = _read_string(sql, i)
            toks.append(_Tok("str", value, i))
            i = j
            continue
        if c == "`":
            buf = []
            j = i + 1
            while True:
                if j >= n:
                    raise parse_error(sql[i:])
                if sql[j] == "`":
                    if j + 1 < n and sql[j + 1] == "`":
                        buf.append("`")
                        j += 2
                        continue
                    break
                buf.append(sql[j])
                j += 1
            toks.append(_Tok("ident", "".join(buf), i))
            i = j + 1
            continue
        if c == "@":
            toks.append(_Tok("punct", "@", i))
            i += 1
            # an unquoted host may hold dots, dashes, colons and wildcards: take it raw
            j = i
            while j < n and sql[j].isspace():
                j += 1
            m = _HOST_CHARS.match(sql, j)
            if m and j < n and sql[j] not in "'\"`":
                toks.append(_Tok("word", m.group(0), j))
                i = m.end()
            continue
        if c in "xX" and i + 1 < n and sql[i + 1] == "'":
            end = sql.find("'", i + 2)
            if end < 0:
                raise parse_error(sql[i:])
            toks.append(_Tok("hex", sql[i + 2 : end], i))
            i = end + 1
            continue
        if sql.startswith(("0x", "0X"), i) and re.match(r"0[xX][0-9A-Fa-f]+\b", sql[i:]):
            m2 = re.match(r"0[xX]([0-9A-Fa-f]+)", sql[i:])
            assert m2 is not None
            toks.append(_Tok("hex", m2.group(1), i))
            i += m2.end()
            continue
        if c in _PUNCT:
            toks.append(_Tok("punct", c, i))
            i += 1
            continue
        m = _WORD.match(sql, i)
        if m:
            toks.append(_Tok("word", m.group(0), i))
            i = m.end()
            continue
        raise parse_error(sql[i:])
    return toks


def _read_string(sql: str, i: int) -> tuple[str, int]:
    quote = sql[i]
    buf: list[str] = []
    j = i + 1
    n = len(sql)
    while j < n:
        c = sql[j]
        if c == "\\" and j + 1 < n:
            nxt = sql[j + 1]
            buf.append(_ESCAPES.get(nxt, nxt))
            j += 2
            continue
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                buf.append(quote)
                j += 2
                continue
            return "".join(buf), j + 1
        buf.append(c)
        j += 1
    raise parse_error(sql[i:])


# --------------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.toks = _tokenize(sql)
        while self.toks and self.toks[-1].kind == "punct" and self.toks[-1].value == ";":
            self.toks.pop()
        self.i = 0

    # -- helpers
    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def error(self) -> Exception:
        tok = self.peek()
        return parse_error(self.sql[tok.pos :] if tok else "")

    def is_word(self, *words: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.kind == "word" and tok.value.upper() in words

    def is_punct(self, p: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.kind == "punct" and tok.value == p

    def accept_word(self, *words: str) -> bool:
        if self.is_word(*words):
            self.i += 1
            return True
        return False

    def accept_words(self, *seq: str) -> bool:
        for k, w in enumerate(seq):
            if not self.is_word(w, k=k):
                return False
        self.i += len(seq)
        return True

    def expect_word(self, *words: str) -> str:
        if not self.is_word(*words):
            raise self.error()
        tok = self.toks[self.i]
        self.i += 1
        return tok.value.upper()

    def accept_punct(self, p: str) -> bool:
        if self.is_punct(p):
            self.i += 1
            return True
        return False

    def expect_punct(self, p: str) -> None:
        if not self.accept_punct(p):
            raise self.error()

    def expect_end(self) -> None:
        if not self.at_end():
            raise self.error()

    def string(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "str":
            raise self.error()
        self.i += 1
        return tok.value

    def string_or_hex(self) -> str:
        tok = self.peek()
        if tok is not None and tok.kind == "hex":
            self.i += 1
            try:
                return bytes.fromhex(tok.value).decode("latin-1")
            except ValueError:
                raise parse_error(self.sql[tok.pos :]) from None
        return self.string()

    def name(self) -> str:
        """A user, host, db or table name: quoted string, backticked or bare word."""
        tok = self.peek()
        if tok is None or tok.kind not in ("str", "ident", "word"):
            raise self.error()
        self.i += 1
        return tok.value

    def current_user_fn(self) -> bool:
        """CURRENT_USER, CURRENT_USER(), USER()."""
        if self.is_word("CURRENT_USER"):
            self.i += 1
            if self.accept_punct("("):
                self.expect_punct(")")
            return True
        if self.is_word("USER") and self.is_punct("(", k=1):
            self.i += 1
            self.expect_punct("(")
            self.expect_punct(")")
            return True
        return False

    def user_spec(self) -> tuple[str, str]:
        user = self.name()
        host = "%"
        if self.accept_punct("@"):
            host = self.name()
        return user, host.lower()

    def user_or_current(self) -> tuple[str | None, str | None]:
        if self.current_user_fn():
            return None, None
        return self.user_spec()

    def auth_option(self) -> tuple[str | None, str | None, str | None]:
        """After IDENTIFIED: BY 'pw' | BY PASSWORD 'hash' | WITH plugin [BY 'pw' | AS 'hash']."""
        plugin = None
        if self.accept_word("WITH"):
            tok = self.peek()
            if tok is None or tok.kind not in ("word", "str", "ident"):
                raise self.error()
            plugin = tok.value.lower()
            self.i += 1
            if plugin not in KNOWN_PLUGINS:
                raise not_supported(f"Authentication plugin '{plugin}'")
            if self.accept_word("BY"):
                if self.is_word("RANDOM"):
                    raise not_supported("IDENTIFIED BY RANDOM PASSWORD")
                return plugin, self.string(), None
            if self.accept_word("AS"):
                return plugin, None, self.string_or_hex()
            return plugin, "", None
        self.expect_word("BY")
        if self.accept_word("PASSWORD"):
            # IDENTIFIED BY PASSWORD '*hash' (MySQL 5.7): a mysql_native_password hash
            return "mysql_native_password", None, self.string()
        if self.is_word("RANDOM"):
            raise not_supported("IDENTIFIED BY RANDOM PASSWORD")
        return None, self.string(), None

    def trailing_account_options(self) -> None:
        """Accept options that only restate the defaults; refuse the others (never a wrong result)."""
        while not self.at_end():
            if self.accept_words("REQUIRE", "NONE"):
                continue
            if self.accept_words("ACCOUNT", "UNLOCK"):
                continue
            if self.accept_words("PASSWORD", "EXPIRE", "DEFAULT") or self.accept_words(
                "PASSWORD", "EXPIRE", "NEVER"
            ):
                continue
            if self.peek(1) is not None and self.is_word(
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
        first = self.expect_word("CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "SHOW", "SET")
        method = getattr(self, "_" + first.lower())
        cmd: AccountCommand = method()
        self.expect_end()
        return cmd

    def _create(self) -> CreateUser:
        self.expect_word("USER")
        if_not_exists = self.accept_words("IF", "NOT", "EXISTS")
        user, host = self.user_spec()
        plugin = password = auth_string = None
        if self.accept_word("IDENTIFIED"):
            plugin, password, auth_string = self.auth_option()
        if self.is_punct(","):
            raise not_supported("CREATE USER for several users in one statement")
        self.trailing_account_options()
        return CreateUser(user, host, password, if_not_exists, plugin, auth_string)

    def _alter(self) -> AlterUser:
        self.expect_word("USER")
        if_exists = self.accept_words("IF", "EXISTS")
        user, host = self.user_or_current()
        plugin = password = auth_string = None
        if self.accept_word("IDENTIFIED"):
            plugin, password, auth_string = self.auth_option()
            if self.is_word("REPLACE", "RETAIN"):
                raise not_supported(f"{self.toks[self.i].value.upper()} in ALTER USER")
        if self.is_punct(","):
            raise not_supported("ALTER USER for several users in one statement")
        self.trailing_account_options()
        return AlterUser(user, host, password, if_exists, plugin, auth_string)

    def _drop(self) -> DropUser:
        self.expect_word("USER")
        if_exists = self.accept_words("IF", "EXISTS")
        users = [self.user_spec()]
        while self.accept_punct(","):
            users.append(self.user_spec())
        return DropUser(users, if_exists)

    def privilege_list(self) -> list[str]:
        privs: list[str] = []
        while True:
            if self.accept_word("ALL"):
                self.accept_word("PRIVILEGES")
                privs.append("ALL")
            else:
                for name in PRIVILEGE_NAMES:
                    words = name.split()
                    if self.accept_words(*words):
                        privs.append(name)
                        break
                else:
                    raise self.error()
            if self.is_punct("("):
                raise not_supported("Column-level privileges")
            if not self.accept_punct(","):
                return privs

    def on_target(self) -> tuple[str | None, str]:
        self.expect_word("ON")
        if self.accept_word("TABLE"):
            pass
        elif self.is_word("FUNCTION", "PROCEDURE"):
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
        if self.peek() is not None and self.peek().kind in ("str", "ident"):  # type: ignore[union-attr]
            raise not_supported("Roles")
        privs = self.privilege_list()
        if not self.is_word("ON"):
            raise self.error()
        db, table = self.on_target()
        self.expect_word("TO")
        user, host = self.user_spec()
        password = None
        if self.accept_word("IDENTIFIED"):
            plugin, password, auth_string = self.auth_option()
            if plugin is not None or auth_string is not None:
                raise not_supported("IDENTIFIED WITH in GRANT")
        if self.is_punct(","):
            raise not_supported("GRANT to several users in one statement")
        with_grant = False
        while not self.at_end():
            if self.accept_words("WITH", "GRANT", "OPTION"):
                with_grant = True
            elif self.accept_words("REQUIRE", "NONE"):
                pass
            elif self.is_word("WITH") and self.is_word(*_RESOURCE_OPTIONS, k=1):
                raise not_supported(f"WITH {self.toks[self.i + 1].value.upper()} in GRANT")
            elif self.is_word("REQUIRE") and self.peek(1) is not None:
                raise not_supported("REQUIRE clause in GRANT")
            elif self.is_word("AS") and self.peek(1) is not None:
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
        self.accept_words("IF", "EXISTS")
        if self.peek() is not None and self.peek().kind in ("str", "ident"):  # type: ignore[union-attr]
            raise not_supported("Roles")
        privs = self.privilege_list()
        if self.is_word("FROM") and privs == ["ALL", "GRANT OPTION"]:
            self.expect_word("FROM")
            user, host = self.user_spec()
            if self.is_punct(","):
                raise not_supported("REVOKE from several users in one statement")
            return Revoke(privs, "*", "*", user, host, all_levels=True)
        if not self.is_word("ON"):
            raise self.error()
        db, table = self.on_target()
        self.expect_word("FROM")
        user, host = self.user_spec()
        if self.is_punct(","):
            raise not_supported("REVOKE from several users in one statement")
        self.accept_words("IGNORE", "UNKNOWN", "USER")
        return Revoke(privs, db, table, user, host)

    def _show(self) -> ShowGrants:
        self.expect_word("GRANTS")
        if not self.accept_word("FOR"):
            return ShowGrants()
        user, host = self.user_or_current()
        if self.is_word("USING"):
            raise not_supported("SHOW GRANTS ... USING")
        return ShowGrants(user, host)

    def _set(self) -> SetPassword:
        self.expect_word("PASSWORD")
        user: str | None = None
        host: str | None = None
        if self.accept_word("FOR"):
            user, host = self.user_or_current()
        if self.is_word("TO"):
            raise not_supported("SET PASSWORD ... TO RANDOM")
        self.expect_punct("=")
        if self.accept_word("PASSWORD"):
            self.expect_punct("(")
            password = self.string()
            self.expect_punct(")")
        else:
            password = self.string()
        if self.is_word("REPLACE", "RETAIN"):
            raise not_supported(f"{self.toks[self.i].value.upper()} in SET PASSWORD")
        return SetPassword(user, host, password)


def is_account_statement(sql: str) -> bool:
    """Cheap test on the first words only."""
    m = _LEAD.match(sql)
    start = m.end() if m else 0
    head = sql[start : start + 40]
    word_m = re.match(r"[A-Za-z0-9_$]+", head)
    if not word_m:
        return False
    first = word_m.group(0).upper()
    if first in ("GRANT", "REVOKE"):
        return True
    want = _ACCOUNT_STARTS.get(first)
    if want is None:
        return False
    pair = _FIRST_WORDS.match(head)
    return pair is not None and pair.group(2).upper() == want


def parse_account_statement(sql: str) -> AccountCommand | None:
    """The typed command for an account statement, None for any other statement.

    Raises SqlError 1064 for a malformed account statement, 1235 for unsupported valid syntax.
    """
    if not is_account_statement(sql):
        return None
    return _Parser(sql).parse()
