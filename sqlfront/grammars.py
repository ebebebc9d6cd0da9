"""The one parse entry: a statement's text -> the typed command the server executes.

`Grammars.parse` reads the statement's first word (`sqlfront.grammar.leading_words`: blanks and
comments skipped, one token read) and offers the text only to the grammars registered for that
word, in registration order; the first that returns a command wins. A grammar returns None for a
statement that merely starts like its own (FLUSH TABLES without WITH READ is MySQL's, not DR's).
Everything no grammar claims (DML, DDL, SET, SHOW, transactions...) goes to the MySQL grammar in
`sqlfront.statements`. DML's first words have no grammar, so the text protocol's hot path pays one
first-word read and a dictionary miss here, and only on a parse-cache miss.

sqlfront's own hand-written grammars (DR, pipelines, accounts, SNAPSHOT) are registered by the
constructor.
A grammar that belongs to another package (the internal replication statements) is registered with
`register` by the composition root at start-up, so sqlfront never imports it; such a package may
not import sqlfront either, so it says "malformed" with exceptions of its own, which the entry
answers as MySQL's 1064.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlfront import accounts, dr, pipelines, retention
from sqlfront.errors import ER_PARSE, SqlError
from sqlfront.grammar import leading_words
from sqlfront.statements import Command, parse_statement

Grammar = Callable[[str], object | None]  # the command for a statement text, or None: not mine


class Grammars:
    """The registered grammars by first word, and the parse entry that dispatches to them."""

    def __init__(self) -> None:
        self._by_word: dict[str, tuple[tuple[Grammar, tuple[type[Exception], ...]], ...]] = {}
        self.register(dr.parse_dr, first_words=dr.FIRST_WORDS)
        self.register(pipelines.parse_pipeline_statement, first_words=pipelines.FIRST_WORDS)
        self.register(accounts.parse_account_statement, first_words=accounts.FIRST_WORDS)
        self.register(retention.parse_snapshot, first_words=retention.FIRST_WORDS)

    def register(self, grammar: Grammar, *, first_words: Iterable[str],
                 syntax_errors: tuple[type[Exception], ...] = ()) -> None:
        """Offer statements whose first word is one of first_words (any case) to grammar, after the
        grammars registered before it. The exceptions in syntax_errors are the grammar's own way to
        say a statement of its is malformed; their message becomes a 1064's."""
        for word in first_words:
            key = word.upper()
            self._by_word[key] = (*self._by_word.get(key, ()), (grammar, syntax_errors))

    def parse(self, text: str) -> Command:
        """The command for one statement (no ';' splitting here); raises SqlError."""
        first = leading_words(text, 1)
        for grammar, syntax_errors in self._by_word.get(first[0], ()) if first else ():
            try:
                cmd = grammar(text)
            except syntax_errors as e:
                raise SqlError(ER_PARSE, str(e)) from None
            if cmd is not None:
                return cmd
        return parse_statement(text)
