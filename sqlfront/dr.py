"""SingleStore's DR statements (REPLICATE DATABASE, PAUSE/CONTINUE/STOP REPLICATING, FLUSH TABLES ...
WITH READ {LOCK | ONLY}, UNLOCK TABLES) as typed commands.

Pure: no I/O. `parse_dr` returns None for any other statement (it decides by the leading keywords, so
the caller can try its other parsers), a command for a well-formed DR statement, and raises a 1064
SqlError that says what was expected for a malformed one.

Keywords, identifiers, strings and comments come from sqlglot's MySQL tokenizer, so quoting and
escapes behave exactly as in the rest of sqlfront. The replication source
(`user[:'password']@host[:port][/db]`) is scanned from the raw text instead: sqlglot splits host
names such as `ClusterA-ma` or `10.0.0.1` into several tokens and treats `@` as a parameter sigil.

The source is a `storage.catalog.SourceRef`, the one value type for a replication source (sqlfront
imports only that pure value type from storage, so the source has one home). Its password never
appears in a repr, in `SourceRef.uri()`, or in an error message (design invariant 7: passwords
never reach status output or logs).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import ClassVar

from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from sqlfront.errors import SqlError, parse_error
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


class _DrTokenizer(MySQL.Tokenizer):
    """MySQL's tokenizer without its catch-all commands.

    sqlglot reads `UNLOCK TABLES ON db` as one COMMAND token followed by the rest of the text as a
    raw string; the DR grammar needs the words, so no keyword swallows the rest of the statement.
    """

    KEYWORDS = {k: v for k, v in MySQL.Tokenizer.KEYWORDS.items() if v != TokenType.COMMAND}
    COMMANDS: ClassVar[set[TokenType]] = set()


_MYSQL = MySQL()


def _tokenize(text: str) -> list[Token]:
    """A fresh tokenizer per call: one keeps state while it runs, and sessions run in threads."""
    return _DrTokenizer(dialect=_MYSQL).tokenize(text)


_QUOTED = {TokenType.STRING, TokenType.IDENTIFIER}

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
# unterminated `:'…`, or `:word@`.
_SECRET = re.compile(
    r""":\s*(\w*'(?:[^'\\]|\\.|'')*'|\w*"(?:[^"\\]|\\.|"")*"|\w*['"].*|[^\s@:/'"`;\[\]]+(?=\s*@))""",
    re.S,
)
_HIDDEN = "'***'"

# The first word after blanks and comments (`/* */`, `-- `, `#`): a cheap pre-check.
# Possessive (*+): a long run of blanks or '#' before a non-word must not backtrack exponentially.
_FIRST_WORD = re.compile(r"(?:\s|/\*.*?\*/|--(?=\s)[^\n]*+|#[^\n]*+)*+([A-Za-z]+)", re.S)
_FIRST_WORDS = {"REPLICATE", "PAUSE", "CONTINUE", "STOP", "FLUSH", "UNLOCK"}

_STARTS: dict[str, type[PauseReplicating | ContinueReplicating | StopReplicating]] = {
    "PAUSE": PauseReplicating,
    "CONTINUE": ContinueReplicating,
    "STOP": StopReplicating,
}


def _word(tok: Token | None) -> str | None:
    """The upper-cased keyword a token spells, or None for quoted text and the end of input."""
    if tok is None or tok.token_type in _QUOTED:
        return None
    return tok.text.upper()


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


def _error(text: str, pos: int, expected: str) -> SqlError:
    """A 1064 in MySQL's wording pointing at pos, followed by what the parser expected there."""
    base = parse_error(_near(text, pos), text.count("\n", 0, pos) + 1)
    return SqlError(base.code, f"{base.message}: {expected}", base.sqlstate)


def _unterminated_at(text: str) -> int:
    """Where the quote, backquote or comment that never closes starts (text failed to tokenize).

    The last opener whose preceding text tokenizes on its own is the one left open.
    """
    openers = [i for i, c in enumerate(text) if c in "'\"`" or text.startswith("/*", i)]
    for pos in reversed(openers):
        try:
            _tokenize(text[:pos])
        except TokenError:
            continue
        return pos
    return 0


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


def first_word(text: str) -> str | None:
    """The statement's first keyword, upper-cased, after blanks and comments (as ``parse_dr`` sees it)."""
    m = _FIRST_WORD.match(text)
    return m.group(1).upper() if m else None


def parse_dr(text: str) -> DrCommand | None:
    """Parse one DR statement; None when text is another statement, SqlError 1064 when malformed."""
    first = _FIRST_WORD.match(text)
    if first is None or first.group(1).upper() not in _FIRST_WORDS:
        return None  # without tokenizing: every statement the server runs comes through here
    try:
        toks = _tokenize(text)
        open_at = None
    except TokenError:
        open_at = _unterminated_at(text)
        toks = _tokenize(text[:open_at])
    kind = _claims(toks)
    if kind is None:
        return None
    if open_at is not None:
        what = {"`": "identifier", "/": "comment"}.get(text[open_at], "quoted string")
        raise _error(text, open_at, f"unterminated {what}")
    return _Parser(text, toks).statement(kind)


class _Parser:
    """Recursive descent over sqlglot tokens; the source after FROM is scanned from the raw text."""

    def __init__(self, text: str, toks: list[Token]) -> None:
        self.text = text
        self.toks = toks
        self.i = 0
        self.by_start = {t.start: t for t in toks}

    # -- tokens

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def pos(self) -> int:
        tok = self.peek()
        return len(self.text) if tok is None else tok.start

    def error(self, expected: str, pos: int | None = None) -> SqlError:
        return _error(self.text, self.pos() if pos is None else pos, expected)

    def accept(self, *words: str) -> str | None:
        word = _word(self.peek())
        if word in words:
            self.i += 1
            return word
        return None

    def expect(self, word: str, expected: str) -> None:
        if not self.accept(word):
            raise self.error(expected)

    def ident(self, what: str) -> str:
        """A database name: backquoted, or a bare word that is not a reserved keyword."""
        tok = self.peek()
        if tok is not None and tok.token_type == TokenType.IDENTIFIER:
            self.i += 1
            return tok.text
        if tok is not None and tok.token_type == TokenType.STRING:
            raise self.error(f"expected {what}; quote a name with backquotes (`name`), not quotes")
        if (
            tok is None
            or not _BARE_IDENT.fullmatch(tok.text)
            or tok.text.isdigit()
            or tok.text.upper() in _RESERVED
        ):
            raise self.error(f"expected {what}")
        self.i += 1
        return tok.text

    def consumed_to(self) -> int:
        """The raw position just after the last consumed token."""
        return self.toks[self.i - 1].end + 1 if self.i else 0

    def expect_end(self, pos: int, after: str) -> None:
        """Only blanks, comments and one trailing ';' may follow pos."""
        try:
            rest = _tokenize(self.text[pos:])
        except TokenError:
            raise self.error(f"unexpected text after {after}", pos) from None
        if rest and rest[0].token_type == TokenType.SEMICOLON:
            rest = rest[1:]
        if rest:
            raise self.error(f"unexpected text after {after}", pos + rest[0].start)

    # -- statements

    def statement(self, kind: str) -> DrCommand:
        self.i = 1
        if kind == "REPLICATE":
            return self.replicate()
        if kind in _STARTS:
            self.i = 2
            db = self.ident(f"one database name after {kind} REPLICATING")
            after = f"{kind} REPLICATING {db} (it takes exactly one database name)"
            self.expect_end(self.consumed_to(), after)
            return _STARTS[kind](db)
        self.i = 2
        on = self.ident("a database name after ON") if self.accept("ON") else None
        if kind == "UNLOCK":
            self.expect_end(self.consumed_to(), "UNLOCK TABLES [ON db_name]")
            return UnlockTables(on)
        self.expect("WITH", "expected ON db_name or WITH READ {LOCK | ONLY} after FLUSH TABLES")
        self.expect("READ", "expected READ after WITH (FLUSH TABLES ... WITH READ {LOCK | ONLY})")
        mode = self.accept("LOCK", "ONLY")
        if mode is None:
            raise self.error("expected LOCK or ONLY after WITH READ")
        self.expect_end(self.consumed_to(), f"WITH READ {mode}")
        return FlushTables(on, f"read {mode.lower()}")

    def replicate(self) -> Replicate:
        self.expect("DATABASE", "expected DATABASE after REPLICATE")
        db = self.ident("a database name after REPLICATE DATABASE")
        differential = False
        durability: str | None = None
        if self.accept("WITH"):
            seen: str | None = None
            while True:
                at = self.pos()
                if self.accept("FORCE"):
                    self.expect("DIFFERENTIAL", "expected DIFFERENTIAL after WITH FORCE")
                    option = "FORCE DIFFERENTIAL"
                    differential = True
                elif word := self.accept("SYNC", "ASYNC"):
                    self.expect("DURABILITY", f"expected DURABILITY after WITH {word}")
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
                if not (self.accept("WITH") or self.accept(",")):
                    break
        self.expect("FROM", "expected FROM user[:'password']@host[:port][/db] after the database name")
        source, end = _SourceScanner(self).scan(self.consumed_to())
        self.expect_end(end, "the source user[:'password']@host[:port][/db]")
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

    def quoted(self, pos: int, kinds: set[TokenType], what: str) -> tuple[str, int]:
        tok = self.p.by_start.get(pos)
        if tok is None or tok.token_type not in kinds:
            raise self.p.error(f"expected {what}", pos)
        return tok.text, tok.end + 1

    def name(self, pos: int, bare: re.Pattern[str], kinds: set[TokenType], what: str) -> tuple[str, int]:
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
                password, pos = self.quoted(pos, {TokenType.STRING}, "a quoted password after ':'")
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
        if self.at(pos, "/"):
            what = "the source database name after '/'"
            db, pos = self.name(self.skip(pos + 1), _BARE_IDENT, {TokenType.IDENTIFIER}, what)
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
            host, end = self.name(pos, _BARE_HOST, {TokenType.STRING}, "a host after '@'")
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
