"""Yellowbrick's database-mode and replication statements (docs/yellowbrick.md):
``ALTER DATABASE db SET HOT_STANDBY | READONLY ON | OFF``, ``CREATE / DROP REMOTE SERVER``,
``ADD / ALTER / DROP REPLICA``, and the internal ``YELLOWBRICK CYCLE`` a source pushes to its target."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from sqlfront.errors import ER_PARSE, SqlError

_IDENT = r"(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
_ALTER_DB = re.compile(r"\s*alter\s+(?:database|schema)\s+" + _IDENT + r"\s+(\w+)\b\s*(.*?)\s*;?\s*", re.I | re.S)
_SET = re.compile(r"(\w+)\s*=?\s*(\w+)", re.S)
_REMOTE_SERVER = re.compile(r"\s*(create|drop)\s+remote\s+server\b", re.I)
_CREATE_SERVER = re.compile(r"\s*create\s+remote\s+server\s+" + _IDENT + r"\s+with\s*\((.*)\)\s*;?\s*", re.I | re.S)
_DROP_SERVER = re.compile(r"\s*drop\s+remote\s+server\s+(if\s+exists\s+)?" + _IDENT + r"\s*;?\s*", re.I | re.S)
_SERVER_OPTION = re.compile(r"\s*(\w+)\s+('(?:[^'\\]|\\.|'')*'|\d+)\s*(?:,|$)", re.S)
_PASSWORD = re.compile(r"(\bpassword\s+)'(?:[^'\\]|\\.|'')*'", re.I | re.S)
_SERVER_OPTIONS = {"HOST": str, "PORT": int, "USER": str, "PASSWORD": str}
_OPTIONS = ("HOT_STANDBY", "READONLY")


@dataclass(frozen=True)
class AlterDatabaseSet:
    """``ALTER DATABASE db SET HOT_STANDBY | READONLY ON | OFF``."""

    cacheable: ClassVar[bool] = True
    db: str
    option: str  # HOT_STANDBY | READONLY
    on: bool


@dataclass(frozen=True)
class CreateRemoteServer:
    """``CREATE REMOTE SERVER name WITH (HOST 'h' [, PORT n] [, USER 'u'] [, PASSWORD 'p'])``."""

    cacheable: ClassVar[bool] = False  # the text holds a password: kept out of the parse cache
    name: str
    host: str
    port: int = 3306
    user: str = "root"
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class DropRemoteServer:
    cacheable: ClassVar[bool] = True
    name: str
    if_exists: bool


def hide_server_password(text: str) -> str:
    """``text`` (a CREATE REMOTE SERVER) with its PASSWORD shown as '***'."""
    return _PASSWORD.sub(lambda m: m.group(1) + "'***'", text)


def is_remote_server_statement(text: str) -> bool:
    return _REMOTE_SERVER.match(text) is not None


def _literal(tok: str) -> str:
    return tok[1:-1].replace("''", "'").replace("\\'", "'").replace("\\\\", "\\") if tok.startswith("'") else tok


def _remote_server(text: str) -> CreateRemoteServer | DropRemoteServer:
    m = _DROP_SERVER.fullmatch(text)
    if m is not None:
        return DropRemoteServer(_ident(m.group(2)), bool(m.group(1)))
    m = _CREATE_SERVER.fullmatch(text)
    if m is None:
        raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected CREATE REMOTE SERVER <name> WITH "
                       "(HOST '<host>' [, PORT <port>] [, USER '<user>'] [, PASSWORD '<password>']) or "
                       "DROP REMOTE SERVER [IF EXISTS] <name>")
    body, pos, opts = m.group(2).strip(), 0, {}
    while pos < len(body):
        o = _SERVER_OPTION.match(body, pos)
        key = o.group(1) if o else (body[pos:].split(None, 1) or ["?"])[0].strip(",")
        kind = _SERVER_OPTIONS.get(key.upper())
        if o is None or kind is None or (kind is int) != o.group(2).isdigit():
            raise SqlError(ER_PARSE, f"Unknown or malformed CREATE REMOTE SERVER option '{key}': drlab accepts "
                           "HOST '<host>', PORT <port>, USER '<user>', PASSWORD '<password>'")
        opts[key.lower()] = kind(_literal(o.group(2)))
        pos = o.end()
    if "host" not in opts:
        raise SqlError(ER_PARSE, "CREATE REMOTE SERVER needs WITH (HOST '<host>'): the host of the other system")
    return CreateRemoteServer(_ident(m.group(1)), **opts)


_NAME = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+|'(?:[^']|'')*')"
_INT, _BOOL = r"\d+", r"(?:true|false|on|off|yes|no|1|0)"
_REPLICA_OPTIONS = {"FREQUENCY": _INT, "ALIAS": _NAME, "EXCLUDE": r"'(?:[^']|'')*'",
                    "SECURITY_MODE": r"'(?:all|none)'", "BW_LIMIT": _INT, "REVERSE_REPLICA": _NAME,
                    "TABLE_LEVEL_RESTART": _BOOL}
_ADD_REPLICA = re.compile(r"replica\s+(" + _NAME + r")\s+to\s+(" + _NAME + r")\s+with\s*\((.*)\)", re.I | re.S)
_ALTER_REPLICA = re.compile(r"replica\s+(" + _NAME + r")\s+(start(?:\s+with\s+chain\s+" + _NAME + r")?|pause|resume|force"
                            r"|promote(?:\s+with\s+data\s+loss)?|with\s*\((.*)\))", re.I | re.S)
_REPLICA_OPTION = re.compile(r"\s*(\w+)\s+(" + _NAME + r"|\S+?)\s*(?:,|$)", re.S)
_DROP_REPLICA = re.compile(r"replica\s+(" + _NAME + r")", re.I | re.S)


@dataclass(frozen=True)
class AddReplica:
    """``ALTER DATABASE db ADD REPLICA name TO server WITH (...)``; ``options`` are the upper-case
    option names with their values as written (literals unquoted)."""

    cacheable: ClassVar[bool] = True
    db: str
    name: str
    server: str
    options: tuple[tuple[str, str], ...]

    def option(self, key: str) -> str | None:
        return dict(self.options).get(key)


@dataclass(frozen=True)
class AlterReplica:
    """``ALTER DATABASE db ALTER REPLICA name <action>``: START | PAUSE | RESUME | FORCE | PROMOTE |
    PROMOTE WITH DATA LOSS | START WITH CHAIN | WITH (options)."""

    cacheable: ClassVar[bool] = True
    db: str
    name: str
    action: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DropReplica:
    cacheable: ClassVar[bool] = True
    db: str
    name: str


@dataclass(frozen=True)
class YbCycle:
    """Internal: one part of a replication cycle a source pushes to its target (docs/yellowbrick.md).
    ``data`` holds records framed as 8-byte LSN, 4-byte length, bytes."""

    cacheable: ClassVar[bool] = False
    target: str
    base: int
    part: int
    final: bool
    epochs: str  # the source's epoch history, JSON
    data: bytes


_CYCLE = re.compile(r"\s*yellowbrick\s+cycle\s+'((?:[^'\\]|\\.|'')*)'\s+base\s+(\d+)\s+part\s+(\d+)(\s+final)?"
                    r"\s+epochs\s+x'([0-9a-fA-F]*)'\s+data\s+x'([0-9a-fA-F]*)'\s*", re.I | re.S)


def parse_cycle(text: str) -> YbCycle | None:
    """The internal cycle statement in ``text``, None for any other text."""
    if not re.match(r"\s*yellowbrick\s+cycle\b", text, re.I):
        return None
    m = _CYCLE.fullmatch(text)
    if m is None:
        raise SqlError(ER_PARSE, "Malformed YELLOWBRICK CYCLE statement (internal to Yellowbrick-style replication)")
    return YbCycle(_literal("'" + m.group(1) + "'"), int(m.group(2)), int(m.group(3)), bool(m.group(4)),
                   bytes.fromhex(m.group(5)).decode(), bytes.fromhex(m.group(6)))


def quote_literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _replica_statement(db: str, verb: str, rest: str) -> AddReplica | AlterReplica | DropReplica:
    """``ADD / ALTER / DROP REPLICA ...`` (facts.md §10), or a 1064 naming what is wrong."""
    if verb == "DROP":
        d = _DROP_REPLICA.fullmatch(rest)
        if d is None:
            raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected ALTER DATABASE <db> DROP REPLICA <name>")
        return DropReplica(db, _name(d.group(1)))
    m = (_ADD_REPLICA if verb == "ADD" else _ALTER_REPLICA).fullmatch(rest)
    if m is None:
        raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected " + (
            "ALTER DATABASE <db> ADD REPLICA <name> TO <remote_server> WITH (FREQUENCY <seconds> [, ALIAS <db>] "
            "[, EXCLUDE '<schemas>'] [, SECURITY_MODE 'ALL'|'NONE'] [, BW_LIMIT <MB>] [, REVERSE_REPLICA <name>] "
            "[, TABLE_LEVEL_RESTART <bool>])" if verb == "ADD" else
            "ALTER DATABASE <db> ALTER REPLICA <name> START [WITH CHAIN <chain>] | PAUSE | RESUME | FORCE | "
            "PROMOTE [WITH DATA LOSS] | WITH (FREQUENCY <seconds> [, TABLE_LEVEL_RESTART <bool>])"))
    name = _name(m.group(1))
    body = m.group(3)
    if verb == "ALTER" and body is None:
        action = " ".join(m.group(2).upper().split())
        return AlterReplica(db, name, "START WITH CHAIN" if action.startswith("START WITH") else action)
    allowed = _REPLICA_OPTIONS if verb == "ADD" else {k: _REPLICA_OPTIONS[k] for k in ("FREQUENCY", "TABLE_LEVEL_RESTART")}
    seen: dict[str, str] = {}
    body, pos = body.strip(), 0
    while pos < len(body):
        o = _REPLICA_OPTION.match(body, pos)
        pattern = allowed.get(o.group(1).upper()) if o else None
        if o is None or pattern is None or not re.fullmatch(pattern, o.group(2), re.I | re.S):
            item = o.group(0).strip(" ,") if o else body[pos:].strip()
            raise SqlError(ER_PARSE, f"Unknown or malformed {verb} REPLICA option '{item[:40]}': drlab accepts "
                           + ", ".join(allowed))
        seen[o.group(1).upper()] = _name(o.group(2))
        pos = o.end()
    if "FREQUENCY" not in seen:
        raise SqlError(ER_PARSE, f"{verb} REPLICA needs WITH (FREQUENCY <seconds>): it has no default")
    options = tuple(seen.items())
    if verb == "ADD":
        return AddReplica(db, name, _name(m.group(2)), options)
    return AlterReplica(db, name, "WITH", options)


def _name(tok: str) -> str:
    """An identifier or string literal as the name it spells."""
    return _literal(tok) if tok.startswith("'") else _ident(tok)


def _ident(tok: str) -> str:
    return tok[1:-1].replace("``", "`") if tok.startswith("`") else tok


def parse_yellowbrick(text: str) -> (AlterDatabaseSet | CreateRemoteServer | DropRemoteServer | AddReplica | AlterReplica
                                     | DropReplica | None):
    """The statement in ``text``; None when it is not one of Yellowbrick's; 1064 naming what is
    wrong when it is malformed."""
    if _REMOTE_SERVER.match(text):
        return _remote_server(text)
    m = _ALTER_DB.fullmatch(text)
    if m is None:
        return None
    db, verb, rest = _ident(m.group(1)), m.group(2).upper(), m.group(3)
    if verb in ("ADD", "ALTER", "DROP") and re.match(r"replica\b", rest, re.I):
        return _replica_statement(db, verb, rest)
    if verb != "SET":
        return None  # MySQL's ALTER DATABASE forms stay with the core grammar
    s = _SET.fullmatch(rest)
    if s is None or s.group(1).upper() not in _OPTIONS:
        word = rest.split(None, 1)[0] if rest.strip() else "(nothing)"
        raise SqlError(ER_PARSE, f"Unknown ALTER DATABASE ... SET option '{word}': drlab accepts "
                       "SET HOT_STANDBY ON|OFF and SET READONLY ON|OFF")
    value = s.group(2).upper()
    if value not in ("ON", "OFF"):
        raise SqlError(ER_PARSE, f"ALTER DATABASE ... SET {s.group(1).upper()} takes ON or OFF, not '{s.group(2)}'")
    return AlterDatabaseSet(db, s.group(1).upper(), value == "ON")
