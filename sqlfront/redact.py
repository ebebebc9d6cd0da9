"""Statement text as it may be shown (SHOW PROCESSLIST, logs): passwords replaced by '***'.

What to hide is decided by the command the parsers recognised in the text, never by the text's
first characters: a leading comment (`/* failover */ REPLICATE ...`) is skipped by the parsers, so
it must not hide a password from the redaction either.
"""

from __future__ import annotations

import re

from sqlfront import accounts as acc
from sqlfront import dr
from sqlfront import yellowbrick as yb
from sqlfront.errors import SqlError
from sqlfront.grammar import leading_words

_IDENTIFIED = re.compile(r"""(\bidentified\b(?:\s+with\s+\S+)?\s+(?:by|as)\s+|\bpassword\b(?:\s+for\s+\S+)?\s*(?:=\s*(?:password\s*\(\s*)?|\(\s*))('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")""", re.I | re.S)
_WITH_PASSWORDS = (acc.CreateUser, acc.AlterUser, acc.SetPassword, acc.Grant)


def redact(text: str, command: object | None = None) -> str:
    """``text`` with the passwords of REPLICATE sources and account statements hidden.

    ``command`` is what the server parsed from ``text``; without it the DR and account parsers
    are asked here (a malformed statement of theirs is redacted as the kind it claims to be)."""
    if command is None:
        command = _recognise(text)
    if isinstance(command, yb.CreateRemoteServer) or command is yb.CreateRemoteServer:
        return yb.hide_server_password(text)
    if isinstance(command, dr.Replicate) or command is dr.Replicate:
        return dr.hide_source_password(text)
    if isinstance(command, _WITH_PASSWORDS) or command in _WITH_PASSWORDS:
        return _IDENTIFIED.sub(lambda m: m.group(1) + "'***'", text)
    return text


def _recognise(text: str) -> object | None:
    """The command (or, for malformed text, the command class) the parsers see in ``text``."""
    if yb.is_remote_server_statement(text):
        return yb.CreateRemoteServer
    try:
        found = dr.parse_dr(text)
    except SqlError:
        return dr.Replicate if leading_words(text, 1) == ("REPLICATE",) else None
    if found is not None:
        return found
    try:
        return acc.parse_account_statement(text)
    except SqlError:
        return acc.Grant if acc.is_account_statement(text) else None
