"""``SNAPSHOT [DATABASE] db``: SingleStore's statement that takes a snapshot (a drlab checkpoint) of a
database now and lets the log behind it be truncated (docs/retention.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlfront.grammar import Parser, leading_words

FIRST_WORDS = ("SNAPSHOT",)  # the word the statement starts with
_EXPECTED = "expected SNAPSHOT [DATABASE] <database_name>"


@dataclass(frozen=True)
class SnapshotDatabase:
    cacheable: ClassVar[bool] = True
    db: str


def parse_snapshot(text: str) -> SnapshotDatabase | None:
    """The statement in ``text``, None when it is another one, 1064 when it is malformed."""
    if leading_words(text, 1) != FIRST_WORDS:
        return None
    p = Parser(text)
    p.expect("SNAPSHOT")
    p.accept("DATABASE")
    db = p.identifier(_EXPECTED)
    p.end(_EXPECTED)
    return SnapshotDatabase(db)
