"""The one lexer and recursive-descent base for sqlfront's hand-written grammars (DR, accounts,
pipelines, and the vendors' statements still to come).

MySQL's lexical rules live here once: blanks and comments (`/* */`, `#`, `-- `) are skipped wherever
they stand, quoted strings take MySQL's backslash escapes and doubled quotes, backquoted identifiers
their doubled backquotes. A quote, backquote or comment that never closes becomes one UNTERMINATED
token running to the end, so a parser fails where MySQL's does, at the first thing it cannot use,
and the error then says what was left open.

`Parser` gives a grammar its steps (keywords, identifiers, strings, numbers, comma lists, the end of
the statement with its optional `;`) and builds every syntax error the way MySQL words it: 1064
"You have an error in your SQL syntax; ... near '...' at line N", followed by what was expected when
the grammar says so. `leading_words` is the cheap look at a statement's first keywords: the parse
entry (`sqlfront.grammars`) dispatches on it and grammars claim their statements with it.

A grammar uses (or subclasses) `Parser`; SingleStore's `REMOVE AGGREGATOR 'host':port` is::

    p = Parser(text)
    p.expect("REMOVE", "AGGREGATOR")
    host = p.string("expected the aggregator's host as a quoted string")
    p.expect_punct(":", "expected ':' and the port")
    port = p.number("expected a port number")
    p.end("expected the end of REMOVE AGGREGATOR")

and is registered with the parse entry by its first word (`sqlfront.grammars.Grammars.register`).
Pure: no I/O; nothing happens at import time but compiling the patterns.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlfront.errors import SqlError, parse_error

T = TypeVar("T")


class Kind(enum.Enum):
    WORD = "word"  # a bare word: keyword or unquoted name (may start with a digit, as in MySQL)
    NUMBER = "number"  # an unsigned integer literal
    STRING = "string"  # '...' or "..."; value is the unescaped text
    IDENT = "ident"  # `...`; value is the name
    HEX = "hex"  # x'...' or 0x...; value is the hex digits as written
    PUNCT = "punct"  # any other single character
    UNTERMINATED = "unterminated"  # an open quote or comment to the end; value says which


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # as written
    value: str  # see Kind
    start: int  # offsets into the statement text, end exclusive
    end: int

    def keyword(self) -> str | None:
        """The upper-cased word this token spells, or None when it is not a bare word."""
        return self.text.upper() if self.kind is Kind.WORD else None


# One alternative per lexical form, tried in order at each position; `punct` takes any character,
# so the lexer never fails. Possessive repeats (*+): an unterminated quote must not backtrack into
# a shorter string ('abc'' is open, as MySQL reads it, not 'abc' followed by a quote).
_LEX = re.compile(
    r"""(?P<skip>(?:\s+|/\*.*?\*/|\#[^\n]*|--(?=[\x00-\x20]|\Z)[^\n]*)++)
    |(?P<string>'(?:[^'\\]|\\.|'')*+'|"(?:[^"\\]|\\.|"")*+")
    |(?P<ident>`(?:[^`]|``)*+`)
    |(?P<hex>[xX]'[^']*')
    |(?P<run>[0-9A-Za-z_$\u0080-\U0010ffff]+)
    |(?P<open>['"`]|/\*)
    |(?P<punct>.)""",
    re.S | re.X,
)
_HEX_RUN = re.compile(r"0[xX][0-9A-Fa-f]+")
_OPEN = {"'": "quoted string", '"': "quoted string", "`": "identifier", "/": "comment"}
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}
_UNESCAPE = {q: re.compile(r"\\(.)|" + q + q, re.S) for q in "'\""}


def _unescape(body: str, quote: str) -> str:
    """MySQL's string escapes: \\n and friends, \\% and \\_ keep their backslash, \\x is x, '' is '."""
    if "\\" not in body and quote not in body:
        return body
    return _UNESCAPE[quote].sub(lambda m: quote if m.group(1) is None else _ESCAPES.get(m.group(1), m.group(1)), body)


def _run_kind(run: str) -> Kind:
    """What a run of word characters is: an integer, a 0x hex literal, or a word."""
    if run.isascii() and run.isdigit():
        return Kind.NUMBER
    return Kind.HEX if _HEX_RUN.fullmatch(run) else Kind.WORD


def _lex(text: str, pos: int) -> Iterator[Token]:
    n = len(text)
    match = _LEX.match
    while pos < n:
        m = match(text, pos)
        assert m is not None  # `punct` matches any character
        group, end = m.lastgroup, m.end()
        raw = m.group()
        if group == "skip":
            pos = end
            continue
        if group == "run":
            kind = _run_kind(raw)
            yield Token(kind, raw, raw[2:] if kind is Kind.HEX else raw, pos, end)
        elif group == "string":
            yield Token(Kind.STRING, raw, _unescape(raw[1:-1], raw[0]), pos, end)
        elif group == "ident":
            yield Token(Kind.IDENT, raw, raw[1:-1].replace("``", "`"), pos, end)
        elif group == "hex":
            yield Token(Kind.HEX, raw, raw[2:-1], pos, end)
        elif group == "open":
            yield Token(Kind.UNTERMINATED, text[pos:], _OPEN[raw[0]], pos, n)
            return
        else:
            yield Token(Kind.PUNCT, raw, raw, pos, end)
        pos = end


def tokenize(text: str, start: int = 0) -> list[Token]:
    """The tokens of text from offset start on, without the statement's trailing ';'s."""
    toks = list(_lex(text, start))
    while toks and toks[-1].kind is Kind.PUNCT and toks[-1].text == ";":
        toks.pop()
    return toks


def leading_words(text: str, n: int) -> tuple[str, ...]:
    """The statement's first n bare words, upper-cased (fewer when a non-word comes first).

    The lexer's own pattern, so blanks and comments before and between them are skipped as
    everywhere else; no tokens are built, so dispatching on the first word costs one match.
    """
    words: list[str] = []
    pos, end, match = 0, len(text), _LEX.match
    while pos < end and len(words) < n:
        m = match(text, pos)
        assert m is not None  # `punct` matches any character
        group, pos = m.lastgroup, m.end()
        if group == "skip":
            continue
        word = m.group()
        if group != "run" or _run_kind(word) is not Kind.WORD:
            break
        words.append(word.upper())
    return tuple(words)


class Parser:
    """Recursive descent over one statement's tokens; keywords are given upper-case.

    Every `expected` argument is the hint appended to the 1064 message when that step fails
    (None: MySQL's bare message).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    # -- looking ahead

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def pos(self) -> int:
        """Where the next token starts in the text (its length at the end)."""
        tok = self.peek()
        return len(self.text) if tok is None else tok.start

    def at_end(self) -> bool:
        """The statement ends here: nothing or a ';' comes next (`end` checks what may follow it)."""
        tok = self.peek()
        return tok is None or (tok.kind is Kind.PUNCT and tok.text == ";")

    def at(self, *words: str) -> bool:
        """The next tokens are these keywords, in this order."""
        for k, word in enumerate(words):
            tok = self.peek(k)
            if tok is None or tok.kind is not Kind.WORD or tok.text.upper() != word:
                return False
        return True

    def at_any(self, *words: str, k: int = 0) -> bool:
        """The token k ahead is one of these keywords."""
        tok = self.peek(k)
        return tok is not None and tok.kind is Kind.WORD and tok.text.upper() in words

    def at_punct(self, char: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.kind is Kind.PUNCT and tok.text == char

    # -- consuming

    def accept(self, *words: str) -> bool:
        """Consume these keywords if they come next, in this order."""
        if self.at(*words):
            self.i += len(words)
            return True
        return False

    def accept_any(self, *words: str) -> str | None:
        """Consume the next token if it is one of these keywords, and return it."""
        if self.at_any(*words):
            self.i += 1
            return self.toks[self.i - 1].text.upper()
        return None

    def expect(self, *words: str, expected: str | None = None) -> None:
        if not self.accept(*words):
            raise self.error(expected)

    def expect_any(self, *words: str, expected: str | None = None) -> str:
        word = self.accept_any(*words)
        if word is None:
            raise self.error(expected)
        return word

    def accept_punct(self, char: str) -> bool:
        if self.at_punct(char):
            self.i += 1
            return True
        return False

    def expect_punct(self, char: str, expected: str | None = None) -> None:
        if not self.accept_punct(char):
            raise self.error(expected)

    def take(self, *kinds: Kind, expected: str | None = None) -> Token:
        """The next token, which must be of one of these kinds."""
        tok = self.peek()
        if tok is None or tok.kind not in kinds:
            raise self.error(expected)
        self.i += 1
        return tok

    def identifier(self, expected: str | None = None) -> str:
        """A name: a bare word or a non-empty backquoted identifier."""
        tok = self.peek()
        if tok is not None and tok.kind is Kind.IDENT and not tok.value:
            raise self.error(expected)
        return self.take(Kind.WORD, Kind.IDENT, expected=expected).value

    def string(self, expected: str | None = None) -> str:
        return self.take(Kind.STRING, expected=expected).value

    def number(self, expected: str | None = None) -> int:
        return int(self.take(Kind.NUMBER, expected=expected).value)

    def comma_list(self, item: Callable[[], T]) -> list[T]:
        """One or more items separated by commas."""
        items = [item()]
        while self.accept_punct(","):
            items.append(item())
        return items

    def raw(self, pattern: re.Pattern[str]) -> str | None:
        """Text matching pattern where the next token starts, read from the text itself.

        For a grammar's own lexical forms that MySQL's tokens would split, such as an unquoted
        host `10.0.%`; the tokens resume right after the match. None when it does not match there.
        """
        m = pattern.match(self.text, self.pos())
        if m is None or not m.group():
            return None
        self.rescan(m.end())
        return m.group()

    def rescan(self, pos: int) -> None:
        """Replace the tokens not yet consumed by those of the text from pos on."""
        self.toks[self.i :] = tokenize(self.text, pos)

    def end(self, expected: str | None = None) -> None:
        """Nothing but blanks, comments and ';'s may follow; otherwise a 1064 at what follows."""
        while self.accept_punct(";"):
            pass
        if self.i < len(self.toks):
            raise self.error(expected)

    # -- errors

    def near(self, pos: int) -> str:
        """The statement from pos on, as the error's `near '...'` shows it (overridable, e.g. to mask)."""
        return self.text[pos:]

    def error(self, expected: str | None = None, pos: int | None = None) -> SqlError:
        """MySQL's 1064 pointing at pos (the next token by default), with the expected-hint.

        At an unterminated quote or comment the hint says so, whatever the step wanted there.
        """
        at = self.pos() if pos is None else pos
        last = self.toks[-1] if self.toks else None
        if last is not None and last.kind is Kind.UNTERMINATED and last.start == at:
            expected = f"unterminated {last.value}"
        return parse_error(self.near(at), self.text.count("\n", 0, at) + 1, expected)
