"""Statement classes: client text -> typed commands the server executes.

Everything that is not DML or table DDL is recognised here from its leading keywords (cheap, and
predictable for MySQL's administrative grammar); DML and table DDL go to sqlglot and become
``Dml`` / ``Ddl`` carrying the parsed AST. Results are cached by exact text by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqlfront.ddl import parse_create_table
from sqlfront.errors import (
    ER_EMPTY_QUERY,
    ER_INVALID_CHARACTER_STRING,
    ER_NOT_SUPPORTED_YET,
    ER_PARSE,
    ER_WRONG_USAGE,
    SqlError,
    not_supported,
    parse_error,
    too_deep,
)
from sqlfront.functions import VERSION
from sqlfront.grammar import Parser


@dataclass
class Txn:
    action: str  # begin | commit | rollback
    snapshot: bool = False  # START TRANSACTION WITH CONSISTENT SNAPSHOT


@dataclass
class Savepoint:
    """SAVEPOINT name / ROLLBACK [WORK] TO [SAVEPOINT] name / RELEASE SAVEPOINT name."""

    action: str  # set | rollback_to | release
    name: str


@dataclass
class SetStatement:
    assignments: list[tuple[str, str, exp.Expression]]  # (scope: session|global|user, name, value)


@dataclass
class SetNames:
    charset: str


@dataclass
class Use:
    db: str


@dataclass
class CreateDatabase:
    name: str
    if_not_exists: bool
    hot_standby: bool = False  # Yellowbrick's CREATE DATABASE x HOT_STANDBY ON


@dataclass
class DropDatabase:
    name: str
    if_exists: bool


@dataclass
class Show:
    what: str  # tables | databases | columns | create_table | create_database | index | variables | status | warnings | errors | processlist | engines | charset | collation | plugins | table_status | replication_status | warning_count
    full: bool = False
    extended: bool = False
    scope: str = "session"
    db: str | None = None
    table: str | None = None
    like: str | None = None
    where: str | None = None


@dataclass
class Ddl:
    kind: str  # create_table | create_table_like | alter_table | drop_table | truncate | rename_table | create_index | drop_index | keys
    ast: exp.Expression | None
    text: str
    # The (database, table) names of the forms drlab's own grammar reads (TRUNCATE: one; DROP INDEX:
    # the table; RENAME TABLE: from, to, from, to...), and DROP INDEX's index name.
    tables: list[tuple[str | None, str]] = field(default_factory=list)
    index: str | None = None


@dataclass
class Dml:
    ast: exp.Expression
    text: str


@dataclass
class Checksum:
    tables: list[tuple[str | None, str]]


@dataclass
class Kill:
    id: int
    query_only: bool


@dataclass
class NoOp:
    """Accepted and answered with OK: statements with no effect in an emulator (FLUSH PRIVILEGES...)."""

    what: str

    @property
    def commits(self) -> bool:
        """MySQL commits the open transaction before LOCK TABLES, FLUSH, ANALYZE and OPTIMIZE."""
        return self.what in ("LOCK", "FLUSH", "ANALYZE", "OPTIMIZE")


@dataclass
class DropRoutine:
    """DROP PROCEDURE / FUNCTION [IF EXISTS]: drlab has no stored routines, so the routine never
    exists (MySQL's 1305, a note with IF EXISTS)."""

    kind: str  # PROCEDURE | FUNCTION
    db: str | None
    name: str
    if_exists: bool


@dataclass
class Select:
    """A SELECT that needs no table of a user database (variables, functions, information_schema)."""

    ast: exp.Expression
    text: str


Command = object

_WS = r"\s+"
_IDENT = r"(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"


def _ident(tok: str) -> str:
    return tok[1:-1].replace("``", "`") if tok.startswith("`") else tok


# The version an executable comment /*!NNNNN ... */ is compared with: the server's (5.7.32 -> 50732).
def _version_id(version: str) -> int:
    major, minor, patch = (int(part) for part in version.split("."))
    return major * 10000 + minor * 100 + patch


_VERSION_ID = _version_id(VERSION)

def _executable(inner: str) -> str:
    """The text of an executable comment's body: its statement text, or nothing when it names a
    version newer than the server's (MySQL 5.7 ignores `/*!80000 ... */`)."""
    m = re.match(r"\d{5,6}", inner)
    if m is None:
        return inner
    return inner[m.end() :] if int(m.group(0)) <= _VERSION_ID else ""


def _after_quoted(sql: str, i: int) -> int:
    """The index just past the string, quoted identifier or literal that opens at ``sql[i]``."""
    c, n = sql[i], len(sql)
    i += 1
    while i < n and sql[i] != c:
        i += 2 if sql[i] == "\\" and c != "`" else 1
    return i + 1


def _expand_executable_comments(sql: str) -> str:
    """Inline MySQL's executable comments (`SELECT 1 /*!50000 + 1 */` is `SELECT 1 + 1`) anywhere in
    a statement, outside quotes, as MySQL's lexer does."""
    out: list[str] = []
    start, i, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            i = _after_quoted(sql, i)
            continue
        if c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                break  # an unterminated comment: the parser reports it
            if sql.startswith("/*!", i):
                out += [sql[start:i], " ", _executable(sql[i + 3 : end]), " "]
                start = end + 2
            i = end + 2
            continue
        i += 1
    out.append(sql[start:])
    return "".join(out)


def _strip_comments(sql: str) -> str:
    """Drop leading comments; keep MySQL's executable /*! ... */ comments' content."""
    s = sql.strip()
    while True:
        if s.startswith("/*!"):
            end = s.find("*/")
            inner = _executable(s[3:end] if end >= 0 else s[3:])
            s = (inner + " " + (s[end + 2 :] if end >= 0 else "")).strip()
        elif s.startswith("/*"):
            end = s.find("*/")
            s = s[end + 2 :].strip() if end >= 0 else ""
        elif s.startswith("--") or s.startswith("#"):
            nl = s.find("\n")
            s = s[nl + 1 :].strip() if nl >= 0 else ""
        else:
            return s


def split(sql: str) -> list[str]:
    """Split multi-statement text on top-level semicolons (quotes and comments respected)."""
    out: list[str] = []
    start, i, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            i = _after_quoted(sql, i)
            continue
        if c == "-" and sql.startswith("-- ", i) or c == "#":
            nl = sql.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c == ";":
            out.append(sql[start:i])
            start = i + 1
        i += 1
    out.append(sql[start:])
    return [s for s in (p.strip() for p in out) if s and _strip_comments(s)]


_SHOW = re.compile(r"^show\s+(.*)$", re.I | re.S)
_LIKE_WHERE = re.compile(r"\s+(?:like\s+('(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\")|where\s+(.*))\s*$", re.I | re.S)


def _unquote_str(s: str) -> str:
    q = s[0]
    body = s[1:-1]
    body = body.replace(q + q, q)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), body)


def _parse_show(rest: str) -> Show:
    like = where = None
    m = _LIKE_WHERE.search(rest)
    if m:
        like = _unquote_str(m.group(1)) if m.group(1) else None
        where = m.group(2)
        rest = rest[: m.start()]
    words = rest.split()
    low = [w.lower() for w in words]
    full = bool(low) and low[0] == "full"
    if full:
        words, low = words[1:], low[1:]
    scope = "session"
    if low and low[0] in ("global", "session", "local"):
        scope = "global" if low[0] == "global" else "session"
        words, low = words[1:], low[1:]
    if not low:
        raise parse_error("")

    def from_db(i: int) -> str | None:
        if len(low) > i + 1 and low[i] in ("from", "in"):
            return _ident(words[i + 1])
        if len(low) > i:
            raise parse_error(" ".join(words[i:]))
        return None

    head = low[0]
    if head == "tables":
        return Show("tables", full=full, db=from_db(1), like=like, where=where)
    if head in ("databases", "schemas"):
        ext = len(low) > 1 and low[1] == "extended"
        if len(low) > (2 if ext else 1):
            raise parse_error(" ".join(words[1:]))
        return Show("databases", extended=ext, like=like, where=where)
    if head in ("columns", "fields"):
        if len(low) < 3 or low[1] not in ("from", "in"):
            raise parse_error(" ".join(words[1:]))
        db, table = split_qualified(words[2])
        return Show("columns", full=full, db=from_db(3) or db, table=table, like=like, where=where)
    if head in ("index", "indexes", "keys"):
        if len(low) < 3 or low[1] not in ("from", "in"):
            raise parse_error(" ".join(words[1:]))
        db, table = split_qualified(words[2])
        return Show("index", db=from_db(3) or db, table=table, where=where)
    if head == "create" and len(low) >= 3 and low[1] == "table":
        db, table = split_qualified(words[2])
        return Show("create_table", db=db, table=table)
    if head == "create" and len(low) >= 3 and low[1] in ("database", "schema"):
        return Show("create_database", db=_ident(words[-1]))
    if head == "create" and len(low) >= 3 and low[1] == "pipeline":
        raise not_supported("SHOW CREATE PIPELINE")
    if head == "variables":
        return Show("variables", scope=scope, like=like, where=where)
    if head == "status":
        return Show("status", scope=scope, like=like, where=where)
    if head in ("warnings", "errors"):
        return Show(head)
    if head == "count(*)" and len(low) == 2 and low[1] in ("warnings", "errors"):
        return Show("warning_count" if low[1] == "warnings" else "error_count")
    if head == "processlist":
        return Show("processlist", full=full)
    if head in ("engines", "plugins", "collation", "charset") or low[:2] == ["character", "set"]:
        return Show("charset" if head in ("charset", "character") else head, like=like, where=where)
    if head == "table" and len(low) >= 2 and low[1] == "status":
        return Show("table_status", db=from_db(2), like=like, where=where)
    if head == "replication" and low[1:] == ["status"]:
        return Show("replication_status")
    if head == "database" and low[1:] == ["status"]:
        return Show("database_status")
    if head in ("aggregators", "leaves") and low[1:] in ([], ["extended"]):
        return Show(head, extended=low[1:] == ["extended"])
    if head in ("master", "slave", "binary") or head == "replica":
        return Show("empty")
    if head in ("events", "triggers"):
        return Show(head, db=from_db(1), like=like, where=where)
    if head in ("procedure", "function") and low[1:] == ["status"]:
        return Show("routine_status", like=like, where=where)
    raise not_supported("SHOW " + " ".join(words[:2]).upper())


# ALTER TABLE clauses MySQL has and drlab does not implement (sqlglot cannot read them).
_ALTER_CLAUSES = re.compile(
    r"(convert\s+to|partition\s+by|remove\s+partitioning|(?:add|drop|discard|import|truncate|coalesce|"
    r"reorganize|exchange|analyze|check|optimize|rebuild|repair)\s+partition|order\s+by|force|"
    r"(?:discard|import)\s+tablespace|with(?:out)?\s+validation|upgrade\s+partitioning)\b", re.I)


def _alter_unreadable(body: str) -> SqlError:
    """1235 naming a MySQL clause drlab does not implement; otherwise 1064 at the first clause."""
    p = Parser(body)
    p.expect("ALTER")
    p.accept_any("ONLINE", "IGNORE")
    p.expect("TABLE")
    _table_name(p)
    m = _ALTER_CLAUSES.match(body, p.pos())
    if m:
        return not_supported("ALTER TABLE ... " + " ".join(m.group(1).split()).upper())
    return p.error()


def _table_name(p: Parser) -> tuple[str | None, str]:
    """`t` or `db.t` (either part bare or backquoted)."""
    first = p.identifier("a table name")
    if p.accept_punct("."):
        return first, p.identifier("a table name")
    return None, first


def _drop_index(body: str) -> Ddl:
    """DROP INDEX i ON t [ALGORITHM [=] x] [LOCK [=] y]: the options change nothing on SQLite."""
    p = Parser(body)
    p.expect("DROP")
    p.expect("INDEX")
    index = p.identifier("an index name")
    p.expect("ON")
    table = _table_name(p)
    while p.accept_any("ALGORITHM", "LOCK"):
        p.accept_punct("=")
        p.identifier("a value")
    p.end()
    return Ddl("drop_index", None, body, [table], index)


def _rename_tables(body: str) -> Ddl:
    """RENAME TABLE a TO b [, c TO d]...: the names pairwise, from and to."""
    p = Parser(body)
    p.expect("RENAME")
    p.expect_any("TABLE", "TABLES")

    def pair() -> list[tuple[str | None, str]]:
        old = _table_name(p)
        p.expect("TO")
        return [old, _table_name(p)]

    names = [name for two in p.comma_list(pair) for name in two]
    p.end()
    return Ddl("rename_table", None, body, names)


def split_qualified(tok: str) -> tuple[str | None, str]:
    m = re.fullmatch(_IDENT + r"\." + _IDENT, tok)
    if m:
        return _ident(m.group(1)), _ident(m.group(2))
    return None, _ident(tok)


def _sqlglot_parse(text: str) -> exp.Expression:
    try:
        asts = sqlglot.parse(text, read="mysql")
    except RecursionError:
        raise too_deep() from None
    except (ParseError, TokenError) as e:
        near = text
        errors = getattr(e, "errors", None)
        if errors:
            col = errors[0].get("col") or 0
            line = errors[0].get("line") or 1
            lines = text.splitlines() or [text]
            start = sum(len(x) + 1 for x in lines[: line - 1]) + max(col - len(errors[0].get("highlight") or "") , 0)
            near = text[start:]
        raise parse_error(near) from None
    found = [a for a in asts if isinstance(a, exp.Expression)]
    if len(found) != 1:
        raise parse_error(text)
    return found[0]


_SIMPLE: list[tuple[re.Pattern[str], object]] = []


def _rule(pattern: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _SIMPLE.append((re.compile(pattern, re.I | re.S), fn))
        return fn

    return deco


_TXN_OPTION = r"(?:with\s+consistent\s+snapshot|read\s+only|read\s+write)"


@_rule(r"^(?:begin(?:\s+work)?|start\s+transaction(?:\s+" + _TXN_OPTION + r"(?:\s*,\s*" + _TXN_OPTION + r")*)?)$")
def _begin(m: re.Match[str]) -> Txn:
    return Txn("begin", snapshot=re.search(r"consistent\s+snapshot", m.group(0), re.I) is not None)


@_rule(r"^commit(?:\s+work)?(?:\s+and\s+no\s+chain|\s+no\s+release)*$")
def _commit(m: re.Match[str]) -> Txn:
    return Txn("commit")


@_rule(r"^rollback(?:\s+work)?(?:\s+and\s+no\s+chain|\s+no\s+release)*$")
def _rollback(m: re.Match[str]) -> Txn:
    return Txn("rollback")


@_rule(r"^savepoint\s+" + _IDENT + r"$")
def _savepoint(m: re.Match[str]) -> Savepoint:
    return Savepoint("set", _ident(m.group(1)))


@_rule(r"^rollback(?:\s+work)?\s+to\s+(?:savepoint\s+)?" + _IDENT + r"$")
def _rollback_to(m: re.Match[str]) -> Savepoint:
    return Savepoint("rollback_to", _ident(m.group(1)))


@_rule(r"^release\s+savepoint\s+" + _IDENT + r"$")
def _release(m: re.Match[str]) -> Savepoint:
    return Savepoint("release", _ident(m.group(1)))


@_rule(r"^drop\s+(procedure|function)\s+(if\s+exists\s+)?(" + _IDENT + r"(?:\." + _IDENT + r")?)$")
def _drop_routine(m: re.Match[str]) -> DropRoutine:
    db, name = split_qualified(m.group(3))
    return DropRoutine(m.group(1).upper(), db, name, bool(m.group(2)))


@_rule(r"^alter\s+table\s+(" + _IDENT + r"(?:\." + _IDENT + r")?)\s+(?:disable|enable)\s+keys$")
def _alter_keys(m: re.Match[str]) -> Ddl:
    return Ddl("keys", None, m.group(1))


@_rule(r"^use\s+" + _IDENT + r"$")
def _use(m: re.Match[str]) -> Use:
    return Use(_ident(m.group(1)))


@_rule(r"^create\s+(?:database|schema)\s+(if\s+not\s+exists\s+)?" + _IDENT + r"(?:\s+(.*))?$")
def _create_db(m: re.Match[str]) -> CreateDatabase:
    return CreateDatabase(_ident(m.group(2)), bool(m.group(1)), _create_db_options(m.group(3) or ""))


_DB_OPTION = re.compile(
    r"\s*(?:default\s+)?(?:(?:character\s+set|charset|collate)\s*=?\s*(?:'[^']*'|\w+)"
    r"|encryption\s*=?\s*'[yn]'|(hot_standby)\s*=?\s*(on|off))\s*,?",
    re.I,
)


def _create_db_options(text: str) -> bool:
    """Check CREATE DATABASE's options (MySQL's CHARACTER SET / COLLATE / ENCRYPTION, accepted and
    ignored as drlab stores utf8mb4; Yellowbrick's HOT_STANDBY ON|OFF) and return HOT_STANDBY.
    Anything else is a 1064 naming it: an option silently dropped would create the wrong database."""
    hot_standby, pos, text = False, 0, text.rstrip()
    while pos < len(text):
        m = _DB_OPTION.match(text, pos)
        if m is None or m.end() == pos:
            rest = text[pos:].strip()
            word = rest.split(None, 1)[0] if rest else rest
            if word.lower() in ("readonly", "read_only", "read"):
                raise SqlError(ER_WRONG_USAGE, f"Incorrect usage of CREATE DATABASE and {word.upper()}: a database "
                               "cannot be created READONLY; create it, then ALTER DATABASE <name> SET READONLY ON")
            raise SqlError(ER_PARSE, f"Unknown CREATE DATABASE option '{word}' near '{rest[:80]}': drlab accepts "
                           "CHARACTER SET, COLLATE, ENCRYPTION and HOT_STANDBY ON|OFF")
        if m.group(1):
            hot_standby = m.group(2).lower() == "on"
        pos = m.end()
    return hot_standby


@_rule(r"^drop\s+(?:database|schema)\s+(if\s+exists\s+)?" + _IDENT + r"$")
def _drop_db(m: re.Match[str]) -> DropDatabase:
    return DropDatabase(_ident(m.group(2)), bool(m.group(1)))


@_rule(r"^set\s+names\s+(?:'([^']*)'|([A-Za-z0-9_]+))(?:\s+collate\s+\S+)?$")
def _set_names(m: re.Match[str]) -> SetNames:
    return SetNames(m.group(1) or m.group(2))


@_rule(r"^set\s+(?:character\s+set|charset)\s+(?:'([^']*)'|([A-Za-z0-9_]+))$")
def _set_charset(m: re.Match[str]) -> SetNames:
    return SetNames(m.group(1) or m.group(2))


@_rule(r"^set\s+(?:(?:global|session)\s+)?transaction\s+.*$")
def _set_txn(m: re.Match[str]) -> NoOp:
    return NoOp("SET TRANSACTION")


@_rule(r"^checksum\s+tables?\s+(.+?)(?:\s+(?:quick|extended))?$")
def _checksum(m: re.Match[str]) -> Checksum:
    return Checksum([split_qualified(t.strip()) for t in m.group(1).split(",")])


@_rule(r"^kill\s+(query\s+|connection\s+)?(\d+)$")
def _kill(m: re.Match[str]) -> Kill:
    return Kill(int(m.group(2)), bool(m.group(1)) and m.group(1).lower().startswith("query"))


@_rule(r"^(flush\s+(?:privileges|status|logs|hosts|tables)|analyze\s+table\s+.*|optimize\s+table\s+.*|do\s+.*|lock\s+tables\s+.*)$")
def _noop(m: re.Match[str]) -> NoOp:
    return NoOp(m.group(1).split()[0].upper())


@_rule(r"^(?:describe|desc|explain)\s+(?!(?:select|insert|update|delete|replace|with|table|format|extended|analyze|partitions)\b)(" + _IDENT + r"(?:\." + _IDENT + r")?)(?:\s+\S+)?$")
def _describe(m: re.Match[str]) -> Show:
    db, table = split_qualified(m.group(1))
    return Show("columns", db=db, table=table)


_SET_ASSIGN = re.compile(
    r"\s*(?:(global|session|local|persist)\s+|@@(global|session|local)\.|@@)?(@?[A-Za-z0-9_$.]+)\s*(?::=|=)\s*", re.I
)

_DDL_HEADS = {
    "create": None,
    "alter": "alter_table",
    "drop": None,
    "truncate": "truncate",
    "rename": "rename_table",
}


_UNDECODABLE = re.compile("[\udc80-\udcff]+")  # bytes that were not UTF-8 (decoded with surrogateescape)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|" + r'"(?:[^"\\]|\\.|"")*"', re.S)


def check_utf8(text: str) -> None:
    """Refuse statement text that was not valid UTF-8 outside its string literals (inside one, the
    bytes are a binary value: ``sqlfront.charset.value``), with MySQL's 1300 naming the bytes."""
    if text.isascii():
        return
    m = _UNDECODABLE.search(text)
    if m is not None:
        m = _UNDECODABLE.search(_QUOTED.sub("''", text))
    if m is not None:
        raw = m.group(0).encode("utf-8", "surrogateescape")[:8]
        raise SqlError(ER_INVALID_CHARACTER_STRING, f"Invalid utf8mb4 character string: '{raw.hex().upper()}'; send binary data as a "
                       "hex literal (X'...') or as a prepared statement parameter")


def statement_verb(text: str) -> str:
    """What a statement does, in the words a refusal names: ``INSERT``, ``CREATE TABLE``, ..."""
    words = _strip_comments(text).split(None, 3)[:3]
    if not words:
        return "this statement"
    if words[0].lower() in ("create", "alter", "drop", "truncate", "rename") and len(words) > 1:
        if words[1].lower() in ("unique", "fulltext", "spatial", "temporary") and len(words) > 2:
            return f"{words[0]} {words[2]}".upper()
        return f"{words[0]} {words[1]}".upper()
    return words[0].upper()


def parse_statement(text: str) -> Command:
    """Classify one statement (no trailing semicolon) into a command; raises SqlError."""
    body = _strip_comments(text)
    if not body:
        raise SqlError(ER_EMPTY_QUERY, "Query was empty")
    if "/*!" in body:
        body = _expand_executable_comments(body).strip()
    for pattern, fn in _SIMPLE:
        m = pattern.match(body)
        if m:
            return fn(m)  # type: ignore[operator]
    head = body.split(None, 1)[0].lower()
    if head == "show":
        show = _SHOW.match(body)
        if show is None:  # SHOW alone
            raise parse_error("")
        return _parse_show(show.group(1).strip())
    if head == "set":
        return _parse_set(body)
    if head in ("select", "with", "(") or body.startswith("("):
        ast = _sqlglot_parse(body)
        return Dml(ast, body)
    if head in ("insert", "replace", "update", "delete"):
        return Dml(_sqlglot_parse(body), body)
    if head in _DDL_HEADS:
        return _parse_ddl(head, body)
    if head in ("explain", "describe", "desc"):
        raise not_supported("EXPLAIN of a statement")
    if head in ("add", "remove") and body.split(None, 2)[1:2] and body.split(None, 2)[1].lower() == "aggregator":
        raise SqlError(ER_NOT_SUPPORTED_YET, f"{head.upper()} AGGREGATOR is not supported by drlab yet: a node is a "
                       "one-aggregator cluster until voting members and master elections land (docs/consensus.md)")
    if head in ("grant", "revoke", "xa", "call", "handler", "load", "prepare", "execute", "deallocate"):
        raise not_supported(head.upper())
    raise parse_error(body)


def _parse_set(body: str) -> Command:
    rest = body[3:].strip()
    assignments: list[tuple[str, str, exp.Expression]] = []
    pos = 0
    while pos < len(rest):
        m = _SET_ASSIGN.match(rest, pos)
        if not m:
            raise parse_error(rest[pos:])
        scope = (m.group(1) or m.group(2) or "session").lower()
        scope = "global" if scope in ("global", "persist") else "session"
        name = m.group(3)
        if name.startswith("@"):
            scope, name = "user", name[1:]
        elif "." in name and not m.group(2):
            name = name.split(".", 1)[1]
        end = _expr_end(rest, m.end())
        value_sql = rest[m.end() : end].strip()
        if not value_sql:
            raise parse_error(rest[m.end() :])
        if scope != "user" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value_sql) and value_sql.lower() not in ("null", "true", "false", "default"):
            value: exp.Expression = exp.Literal.string(value_sql)  # SET sql_mode = TRADITIONAL, autocommit = ON
        elif value_sql.lower() == "default":
            value = exp.Var(this="DEFAULT")
        else:
            values = _sqlglot_parse("SELECT " + value_sql).expressions
            if not values:  # only a comment or a ';' after the '='
                raise parse_error(value_sql)
            value = values[0]
        assignments.append((scope, name.lower() if scope != "user" else name, value))
        pos = end + 1
    return SetStatement(assignments)


def _expr_end(s: str, i: int) -> int:
    """Index of the comma ending a SET value (outside parentheses and quotes), or len(s)."""
    depth = 0
    while i < len(s):
        c = s[i]
        if c in "'\"`":
            j = i + 1
            while j < len(s) and s[j] != c:
                j += 2 if s[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            return i
        i += 1
    return len(s)


def _parse_ddl(head: str, body: str) -> Command:
    low = body.lower()
    if head == "create":
        if re.match(r"create\s+(?:unique\s+|fulltext\s+)?index\b", low):
            return Ddl("create_index", _sqlglot_parse(body), body)
        if re.match(r"create\s+(?:temporary\s+)?(?:rowstore\s+|columnstore\s+|reference\s+)*table\b", low):
            if re.match(r"create\s+temporary", low):
                raise not_supported("CREATE TEMPORARY TABLE")
            try:
                ast = parse_create_table(body)
            except (ParseError, TokenError):
                _sqlglot_parse(body)  # raises MySQL's 1064 with the position
                raise
            kind = "create_table_like" if re.search(r"\blike\s+[`\w.]+\s*\)?\s*$", low) else "create_table"
            return Ddl(kind, ast, body)
        if re.match(r"create\s+(or\s+replace\s+)?(algorithm\s*=\s*\w+\s+)?(definer\s*=\s*\S+\s+)?(sql\s+security\s+\w+\s+)?view\b", low):
            raise not_supported("CREATE VIEW")
        raise not_supported(" ".join(body.split()[:2]).upper())
    if head == "drop":
        if re.match(r"drop\s+(?:temporary\s+)?tables?\b", low):
            return Ddl("drop_table", _sqlglot_parse(body), body)
        if re.match(r"drop\s+index\b", low):
            return _drop_index(body)
        raise not_supported(" ".join(body.split()[:2]).upper())
    if head == "alter":
        if re.match(r"alter\s+(?:online\s+|ignore\s+)?table\b", low):
            ast = _sqlglot_parse(body)
            if isinstance(ast, exp.Command):  # sqlglot could not read the clauses: refuse, never ignore
                raise _alter_unreadable(body)
            return Ddl("alter_table", ast, body)
        raise not_supported(" ".join(body.split()[:2]).upper())
    if head == "truncate":
        p = Parser(body)
        p.expect("TRUNCATE")
        p.accept("TABLE")
        table = _table_name(p)
        p.end()
        return Ddl("truncate", None, body, [table])
    if head == "rename":
        if not re.match(r"rename\s+tables?\s+", low):
            raise not_supported(" ".join(body.split()[:2]).upper())
        return _rename_tables(body)
    raise parse_error(body)
