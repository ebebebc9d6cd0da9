"""Yellowbrick's database-mode and replication statements (docs/yellowbrick.md):
``ALTER DATABASE db SET HOT_STANDBY | READONLY ON | OFF`` today; the replication statements
(remote servers, ``ADD / ALTER / DROP REPLICA``) are recognised and refused by name until built."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from sqlfront.errors import ER_PARSE, SqlError, not_supported

_IDENT = r"(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
_ALTER_DB = re.compile(r"\s*alter\s+(?:database|schema)\s+" + _IDENT + r"\s+(\w+)\b\s*(.*?)\s*;?\s*", re.I | re.S)
_SET = re.compile(r"(\w+)\s*=?\s*(\w+)", re.S)
_REMOTE_SERVER = re.compile(r"\s*(create|drop)\s+remote\s+server\b", re.I)
_OPTIONS = ("HOT_STANDBY", "READONLY")


@dataclass(frozen=True)
class AlterDatabaseSet:
    """``ALTER DATABASE db SET HOT_STANDBY | READONLY ON | OFF``."""

    cacheable: ClassVar[bool] = True
    db: str
    option: str  # HOT_STANDBY | READONLY
    on: bool


def _ident(tok: str) -> str:
    return tok[1:-1].replace("``", "`") if tok.startswith("`") else tok


def parse_yellowbrick(text: str) -> AlterDatabaseSet | None:
    """The statement in ``text``; None when it is not one of Yellowbrick's; 1064 naming what is
    wrong when it is malformed; 1235 naming the statement when it is one not built yet."""
    m = _REMOTE_SERVER.match(text)
    if m is not None:
        raise not_supported(f"{m.group(1).upper()} REMOTE SERVER (Yellowbrick replication, docs/yellowbrick.md)")
    m = _ALTER_DB.fullmatch(text)
    if m is None:
        return None
    db, verb, rest = _ident(m.group(1)), m.group(2).upper(), m.group(3)
    if verb in ("ADD", "ALTER", "DROP") and rest.upper().startswith("REPLICA"):
        raise not_supported(f"ALTER DATABASE ... {verb} REPLICA (Yellowbrick replication, docs/yellowbrick.md)")
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
