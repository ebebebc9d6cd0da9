"""The statements a replica sends its source over the MySQL protocol (invariant 7): their grammar,
and how the replica builds them.

They are ordinary text queries, authenticated like any client's and requiring the REPLICATION
privilege on the source database, so a replication link needs nothing but the source's SQL port.
The node registers ``parse_replication`` on its feature registry at start-up (its parsers run
before sqlfront's grammar; ``MalformedStatement`` becomes a 1064 in server/errors.py), so neither
sqlfront nor replication imports the other:

- ``DRLAB REPLICATION HELLO 'db'``: one row describing the source database (id, state, role,
  epoch history, retained and durable log positions).
- ``DRLAB REPLICATION SNAPSHOT 'db'``: takes a consistent copy of the database at a known LSN and
  returns (snapshot id, LSN, size in bytes).
- ``DRLAB REPLICATION CHUNK 'id' OFFSET n``: up to a few MB of that copy, from byte n.
- ``DRLAB REPLICATION FETCH 'db' ID i AFTER lsn EPOCH e [WAIT ms] [LIMIT n] [HARDENED h] [FROM 'uri']``:
  the durable log records after ``lsn`` (the replica's applied position, whose record has epoch
  ``e``), waiting up to ``ms`` for new ones. ``HARDENED`` and ``FROM`` report the replica's
  durable position and address for the source's status views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar


class MalformedStatement(ValueError):
    """A DRLAB REPLICATION statement that does not parse (the parse entry answers 1064)."""


@dataclass(frozen=True)
class Hello:
    cacheable: ClassVar[bool] = False  # each text names a position: never worth a parse-cache entry
    db: str


@dataclass(frozen=True)
class Snapshot:
    cacheable: ClassVar[bool] = False  # each text names a position: never worth a parse-cache entry
    db: str


@dataclass(frozen=True)
class Chunk:
    cacheable: ClassVar[bool] = False  # each text names a position: never worth a parse-cache entry
    snapshot: str
    offset: int


@dataclass(frozen=True)
class Fetch:
    cacheable: ClassVar[bool] = False  # each text names a position: never worth a parse-cache entry
    db: str
    db_id: int
    after: int
    epoch: int
    wait_ms: int = 0
    limit: int = 1000
    hardened: int = 0
    replica: str = ""


_STR = r"'((?:[^'\\]|\\.|'')*)'"
_HEAD = re.compile(r"\s*drlab\s+replication\s+(\w+)\s+" + _STR, re.I | re.S)
_OPTION = re.compile(r"\s+(id|after|epoch|wait|limit|hardened|offset)\s+(\d+)|\s+(from)\s+" + _STR, re.I | re.S)


def quote_string(value: str) -> str:
    """A single-quoted literal for these statements (the replica builds them)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote(body: str) -> str:
    return re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", body)


def parse_replication(text: str) -> Hello | Snapshot | Chunk | Fetch | None:
    """The internal replication statement in ``text``, or None when it is not one."""
    if not text.lstrip()[:5].lower() == "drlab":
        return None
    m = _HEAD.match(text)
    if not m:
        raise MalformedStatement("Malformed DRLAB REPLICATION statement: expected DRLAB REPLICATION <verb> '<name>'")
    verb, name = m.group(1).lower(), _unquote(m.group(2))
    options: dict[str, int | str] = {}
    pos = m.end()
    rest = text.rstrip().rstrip(";")
    while pos < len(rest):
        o = _OPTION.match(rest, pos)
        if not o:
            raise MalformedStatement(f"Malformed DRLAB REPLICATION statement near {rest[pos:pos + 40]!r}")
        if o.group(1):
            options[o.group(1).lower()] = int(o.group(2))
        else:
            options["from"] = _unquote(o.group(4))
        pos = o.end()
    if verb == "hello":
        return Hello(name)
    if verb == "snapshot":
        return Snapshot(name)
    if verb == "chunk":
        return Chunk(name, int(options.get("offset", 0)))
    if verb == "fetch":
        if "id" not in options or "after" not in options or "epoch" not in options:
            raise MalformedStatement("DRLAB REPLICATION FETCH needs ID, AFTER and EPOCH")
        return Fetch(
            name, int(options["id"]), int(options["after"]), int(options["epoch"]),
            wait_ms=min(int(options.get("wait", 0)), 30000), limit=max(1, min(int(options.get("limit", 1000)), 10000)),
            hardened=int(options.get("hardened", 0)), replica=str(options.get("from", "")),
        )
    raise MalformedStatement(f"Unknown DRLAB REPLICATION verb '{verb}': expected HELLO, SNAPSHOT, CHUNK or FETCH")
