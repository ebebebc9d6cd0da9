"""SingleStore's DR statements (REPLICATE DATABASE, PAUSE/CONTINUE/STOP REPLICATING, FLUSH TABLES ...
WITH READ {LOCK | ONLY}, UNLOCK TABLES) as typed commands.

Pure: no I/O. `parse_dr` returns None for any other statement (it decides by the leading keywords, so
the caller can try its other parsers), a command for a well-formed DR statement, and raises a 1064
SqlError that says what was expected for a malformed one.

Keywords, identifiers, strings and comments come from sqlfront.grammar's tokenizer, so quoting and
escapes behave as in MySQL and in sqlfront's other grammars. The replication source
(`user[:'password']@host[:port][/db]`) is scanned from the raw text instead: MySQL's tokens split
host names such as `ClusterA-ma` or `10.0.0.1` into several pieces.

The source is a `storage.catalog.SourceRef`, the one value type for a replication source (sqlfront
imports only that pure value type from storage, so the source has one home). Its password never
appears in a repr, in `SourceRef.uri()`, or in an error message (design invariant 7: passwords
never reach status output or logs).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from sqlfront.grammar import Kind, Parser, Token, leading_words
from storage.catalog import SourceRef

# --------------------------------------------------------------------------------------------------
# Commands


@dataclass(frozen=True)
class Replicate:
    """Make db a replica of the source database (created, or reused WITH FORCE DIFFERENTIAL)."""

    db: str
    source: SourceRef
    differential: bool = False  # WITH FORCE DIFFERENTIAL: reuse the shared history, ship the rest
    durability: str | None = None  # 'sync' | 'async' (WITH {SYNC | ASYNC} DURABILITY, 7.0-7.1)


@dataclass(frozen=True)
class _Replicating:
    """PAUSE / CONTINUE / STOP REPLICATING: each names exactly one replica database."""

    db: str


class PauseReplicating(_Replicating):
    """Stop pulling records; the replica stays read-only in state 'replication paused'."""


class ContinueReplicating(_Replicating):
    """Resume pulling, from the same source the REPLICATE DATABASE named."""


class StopReplicating(_Replicating):
    """End replication and promote the replica to a writable primary (irreversible)."""


@dataclass(frozen=True)
class FlushTables:
    """Finish in-flight writes, then refuse (READ ONLY) or hold (READ LOCK) new ones until UNLOCK."""

    db: str | None  # None: every database
    mode: str  # 'read only' (writes fail) | 'read lock' (writes wait)


@dataclass(frozen=True)
class UnlockTables:
    """Release FLUSH TABLES' lock (on one database with ON); held writes then run."""

    db: str | None


DrCommand = Replicate | PauseReplicating | ContinueReplicating | StopReplicating | FlushTables | UnlockTables

# --------------------------------------------------------------------------------------------------
# Lexical pieces


_QUOTED = {Kind.STRING, Kind.IDENT}

_BARE_IDENT = re.compile(r"[\w$]+")
# MySQL reserved words that may appear in these statements: never a bare database name.
_RESERVED = {"DATABASE", "FROM", "WITH", "ON", "FORCE", "READ", "LOCK", "TABLE", "SCHEMA", "SELECT"}
_BARE_USER = re.compile(r"[\w$.\-]+")
# an unquoted (v5 style) password: anything without quotes, blanks or the separators @ : /
_BARE_PASSWORD = re.compile(r"[^\s'\"`@:/;#\\]+")
_BARE_HOST = re.compile(r"[A-Za-z0-9_.\-]+")
_DOTTED_NUMBERS = re.compile(r"[\d.]+")
_PORT = re.compile(r"\d+(?![\w$])")
_BLANKS = re.compile(r"\s*")

# A password as it may stand in the text: `:'…'`, `:"…"` (maybe with a charset prefix), an
# unterminated `:'…`, or `:word@`. Possessive (*+), as the lexer reads quotes: 'it''s never closes
# at 'it', which would show the rest.
_SECRET = re.compile(
    r""":\s*(\w*'(?:[^'\\]|\\.|'')*+'|\w*"(?:[^"\\]|\\.|"")*+"|\w*['"].*|[^\s@:/'"`;\[\]]+(?=\s*@))""",
    re.S,
)
_HIDDEN = "'***'"

FIRST_WORDS = ("REPLICATE", "PAUSE", "CONTINUE", "STOP", "FLUSH", "UNLOCK")  # the words a DR statement starts with

_STARTS: dict[str, type[PauseReplicating | ContinueReplicating | StopReplicating]] = {
    "PAUSE": PauseReplicating,
    "CONTINUE": ContinueReplicating,
    "STOP": StopReplicating,
}


def _word(tok: Token | None) -> str | None:
    """The upper-cased keyword a token spells, or None for anything else and the end of input."""
    return None if tok is None else tok.keyword()


def _near(text: str, pos: int) -> str:
    """MySQL's `near '…'` text from pos on, with every password-like span replaced by '***'."""
    out: list[str] = []
    for m in _SECRET.finditer(text):
        start, end = m.start(1), m.end(1)
        if end <= pos:
            continue
        if start > pos:
            out.append(text[pos:start])
        out.append(_HIDDEN)
        pos = end
    out.append(text[pos:])
    return "".join(out).rstrip()


def hide_source_password(text: str) -> str:
    """A REPLICATE statement's text with its source password replaced by '***' (for display)."""
    return _near(text, 0)


def _claims(toks: list[Token]) -> str | None:
    """Which DR statement the leading keywords announce, or None when it is not one of them."""
    words = [_word(t) for t in toks[:3]] + [None, None, None]
    first, second, third = words[0], words[1], words[2]
    if first == "REPLICATE":
        return "REPLICATE"
    if first in _STARTS and second == "REPLICATING":
        return first
    if first == "UNLOCK" and second in ("TABLES", "TABLE"):
        return "UNLOCK"
    if first == "FLUSH" and second in ("TABLES", "TABLE"):
        # FLUSH TABLES [t, …] alone is MySQL's table flush, parsed elsewhere
        if third in ("ON", "WITH"):
            return "FLUSH"
        if any(_word(a) == "WITH" and _word(b) == "READ" for a, b in zip(toks, toks[1:], strict=False)):
            return "FLUSH"
    return None


# --------------------------------------------------------------------------------------------------
# Parser


def parse_dr(text: str) -> DrCommand | None:
    """Parse one DR statement; None when text is another statement, SqlError 1064 when malformed."""
    words = leading_words(text, 1)
    if not words or words[0] not in FIRST_WORDS:
        return None  # without tokenizing the rest: callers may try every statement here
    parser = _Parser(text)
    kind = _claims(parser.toks)
    if kind is None:
        return None
    return parser.statement(kind)


class _Parser(Parser):
    """The shared Parser, with errors that mask passwords; the source after FROM is scanned from the
    raw text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.by_start = {t.start: t for t in self.toks}

    def near(self, pos: int) -> str:
        return _near(self.text, pos)

    def ident(self, what: str) -> str:
        """A database name: backquoted, or a bare word that is not a reserved keyword."""
        tok = self.peek()
        if tok is not None and tok.kind is Kind.IDENT:
            self.i += 1
            return tok.value
        if tok is not None and tok.kind is Kind.STRING:
            raise self.error(f"expected {what}; quote a name with backquotes (`name`), not quotes")
        if (
            tok is None
            or tok.kind is not Kind.WORD
            or not _BARE_IDENT.fullmatch(tok.text)
            or tok.text.upper() in _RESERVED
        ):
            raise self.error(f"expected {what}")
        self.i += 1
        return tok.text

    def consumed_to(self) -> int:
        """The raw position just after the last consumed token."""
        return self.toks[self.i - 1].end if self.i else 0

    def expect_end(self, after: str) -> None:
        """Only blanks, comments and trailing ';'s may follow."""
        self.end(f"unexpected text after {after}")

    # -- statements

    def statement(self, kind: str) -> DrCommand:
        self.i = 1
        if kind == "REPLICATE":
            return self.replicate()
        if kind in _STARTS:
            self.i = 2
            db = self.ident(f"one database name after {kind} REPLICATING")
            self.expect_end(f"{kind} REPLICATING {db} (it takes exactly one database name)")
            return _STARTS[kind](db)
        self.i = 2
        on = self.ident("a database name after ON") if self.accept("ON") else None
        if kind == "UNLOCK":
            self.expect_end("UNLOCK TABLES [ON db_name]")
            return UnlockTables(on)
        self.expect("WITH", expected="expected ON db_name or WITH READ {LOCK | ONLY} after FLUSH TABLES")
        self.expect("READ", expected="expected READ after WITH (FLUSH TABLES ... WITH READ {LOCK | ONLY})")
        mode = self.expect_any("LOCK", "ONLY", expected="expected LOCK or ONLY after WITH READ")
        self.expect_end(f"WITH READ {mode}")
        return FlushTables(on, f"read {mode.lower()}")

    def replicate(self) -> Replicate:
        self.expect("DATABASE", expected="expected DATABASE after REPLICATE")
        db = self.ident("a database name after REPLICATE DATABASE")
        differential = False
        durability: str | None = None
        if self.accept("WITH"):
            seen: str | None = None
            while True:
                at = self.pos()
                if self.accept("FORCE"):
                    self.expect("DIFFERENTIAL", expected="expected DIFFERENTIAL after WITH FORCE")
                    option = "FORCE DIFFERENTIAL"
                    differential = True
                elif word := self.accept_any("SYNC", "ASYNC"):
                    self.expect("DURABILITY", expected=f"expected DURABILITY after WITH {word}")
                    option = f"{word} DURABILITY"
                    durability = word.lower()
                else:
                    raise self.error(
                        "expected FORCE DIFFERENTIAL, SYNC DURABILITY or ASYNC DURABILITY after WITH"
                    )
                if seen == option:
                    raise self.error(f"{option} is given twice", at)
                if seen is not None:
                    raise self.error(f"WITH {seen} and {option} cannot be combined: choose one", at)
                seen = option
                if not (self.accept("WITH") or self.accept_punct(",")):
                    break
        self.expect("FROM", expected="expected FROM user[:'password']@host[:port][/db] after the database name")
        source, end = _SourceScanner(self).scan(self.consumed_to())
        self.rescan(end)
        self.expect_end("the source user[:'password']@host[:port][/db]")
        return Replicate(db, source, differential, durability)


class _SourceScanner:
    """Scans `user[:'password']@host[:port][/db]` from the raw text, taking quoted parts from the tokens."""

    def __init__(self, parser: _Parser) -> None:
        self.p = parser
        self.text = parser.text

    def skip(self, pos: int) -> int:
        m = _BLANKS.match(self.text, pos)
        assert m is not None
        return m.end()

    def at(self, pos: int, char: str) -> bool:
        return self.text.startswith(char, pos)

    def quoted(self, pos: int, kinds: set[Kind], what: str) -> tuple[str, int]:
        tok = self.p.by_start.get(pos)
        if tok is None or tok.kind not in kinds:
            raise self.p.error(f"expected {what}", pos)
        return tok.value, tok.end

    def name(self, pos: int, bare: re.Pattern[str], kinds: set[Kind], what: str) -> tuple[str, int]:
        """A quoted token, or a bare run matching `bare`; an empty name is an error."""
        if self.text[pos : pos + 1] in ("'", '"', "`"):
            value, end = self.quoted(pos, kinds, what)
        else:
            m = bare.match(self.text, pos)
            if m is None:
                raise self.p.error(f"expected {what}", pos)
            value, end = m.group(0), m.end()
        if not value:
            raise self.p.error(f"expected {what}, not an empty name", pos)
        return value, end

    def scan(self, pos: int) -> tuple[SourceRef, int]:
        pos = self.skip(pos)
        user, pos = self.name(
            pos, _BARE_USER, _QUOTED, "a user name after FROM (user[:'password']@host:port)"
        )
        pos = self.skip(pos)
        password = None
        if self.at(pos, ":"):
            pos = self.skip(pos + 1)
            if self.text[pos : pos + 1] in ("'", '"'):
                password, pos = self.quoted(pos, {Kind.STRING}, "a quoted password after ':'")
            else:
                m = _BARE_PASSWORD.match(self.text, pos)
                if m is None:
                    raise self.p.error("expected a password after ':' (quote it: user:'password'@host)", pos)
                password, pos = m.group(0), m.end()
            pos = self.skip(pos)
        if not self.at(pos, "@"):
            raise self.p.error(
                "expected '@' and the source host after the user (user[:'password']@host)", pos
            )
        host, pos = self.host(pos)
        port = None
        if self.at(pos, ":"):
            colon = pos
            m = _PORT.match(self.text, self.skip(pos + 1))
            if m is None:
                raise self.p.error("expected a port number (1-65535) after ':'", colon)
            port = int(m.group(0))
            if not 1 <= port <= 65535:
                raise self.p.error(f"port {m.group(0)} is out of range: expected 1-65535", colon)
            pos = self.skip(m.end())
        db = None
        if self.at(pos, "/") and not self.at(pos, "/*"):  # '/*' starts a comment, not the database
            what = "the source database name after '/'"
            db, pos = self.name(self.skip(pos + 1), _BARE_IDENT, {Kind.IDENT}, what)
        return SourceRef(user, password, host, port, db), pos

    def host(self, at_sign: int) -> tuple[str, int]:
        """The host after '@': [IPv6], a quoted string, or a bare name / IPv4 address."""
        pos = self.skip(at_sign + 1)
        if self.at(pos, "["):
            close = self.text.find("]", pos)
            literal = self.text[pos + 1 : close] if close > 0 else ""
            try:
                ipaddress.IPv6Address(literal)
            except ValueError:
                raise self.p.error(
                    "expected an IPv6 address in brackets, e.g. [::1] or [fe80::1%eth0]", pos
                ) from None
            return literal, self.skip(close + 1)
        if self.text[pos : pos + 1] in ("'", '"'):
            host, end = self.name(pos, _BARE_HOST, {Kind.STRING}, "a host after '@'")
            return host, self.skip(end)
        m = _BARE_HOST.match(self.text, pos)
        if m is None:
            hint = " (write an IPv6 address in brackets, e.g. [::1]:3306)" if self.at(pos, "::") else ""
            raise self.p.error(f"expected a host after '@'{hint}", at_sign)
        host, end = m.group(0), self.skip(m.end())
        if self.at(end, "::") or (self.at(end, ":") and re.match(r":[0-9A-Fa-f]*:", self.text[end:])):
            raise self.p.error("write an IPv6 address in brackets, e.g. [fe80::1]:3306", pos)
        if _DOTTED_NUMBERS.fullmatch(host):
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                raise self.p.error(f"'{host}' is not a valid IPv4 address", pos) from None
        return host, end
