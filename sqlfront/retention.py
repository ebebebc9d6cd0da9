"""``SNAPSHOT [DATABASE] db``: SingleStore's statement that takes a snapshot (a drlab checkpoint) of a
database now and lets the log behind it be truncated (docs/retention.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from sqlfront.errors import ER_PARSE, SqlError

_HEAD = re.compile(r"\s*snapshot\b", re.I)
_FULL = re.compile(r"\s*snapshot(?:\s+database)?\s+(`(?:[^`]|``)+`|[\w$]+)\s*;?\s*", re.I | re.S)


FIRST_WORDS = ("SNAPSHOT",)  # the word the statement starts with


@dataclass(frozen=True)
class SnapshotDatabase:
    cacheable: ClassVar[bool] = True
    db: str


def parse_snapshot(text: str) -> SnapshotDatabase | None:
    """The statement in ``text``, None when it is another one, 1064 when it is malformed."""
    if not _HEAD.match(text):
        return None
    m = _FULL.fullmatch(text)
    if m is None or m.group(1).upper() == "DATABASE":
        raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected SNAPSHOT [DATABASE] <database_name>")
    name = m.group(1)
    if name.startswith("`"):
        name = name[1:-1].replace("``", "`")
    return SnapshotDatabase(name)
