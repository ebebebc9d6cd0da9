"""Statement text as it may be shown (SHOW PROCESSLIST, logs): passwords replaced by '***'."""

from __future__ import annotations

import re

from sqlfront.dr import hide_source_password

_IDENTIFIED = re.compile(r"""(\bidentified\b(?:\s+with\s+\S+)?\s+(?:by|as)\s+|\bpassword\b(?:\s+for\s+\S+)?\s*(?:=\s*(?:password\s*\(\s*)?|\(\s*))('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")""", re.I | re.S)
_HEADS = ("replicate", "create", "alter", "set", "grant")


def redact(text: str) -> str:
    """``text`` with the passwords of REPLICATE sources and account statements hidden."""
    head = text[:64].lstrip()[:9].lower()
    if not head.startswith(_HEADS):
        return text
    if head.startswith("replicate"):
        return hide_source_password(text)
    return _IDENTIFIED.sub(lambda m: m.group(1) + "'***'", text)
