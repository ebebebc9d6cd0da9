"""The one parse entry: a statement's text -> the typed command the server executes.

`Grammars.parse` reads the statement's first word (`sqlfront.grammar.leading_words`: blanks and
comments skipped, one token read) and offers the text only to the grammars registered for that
word, in registration order; the first that returns a command wins. A grammar returns None for a
statement that merely starts like its own (FLUSH TABLES without WITH READ is MySQL's, not DR's).
Everything no grammar claims (DML, DDL, SET, SHOW, transactions...) goes to the MySQL grammar in
`sqlfront.statements`. DML's first words have no grammar, so the text protocol's hot path pays one
first-word read and a dictionary miss here, and only on a parse-cache miss.

sqlfront's own hand-written grammars (DR, pipelines, accounts, SNAPSHOT) are registered by the
constructor. A grammar that belongs to another package (the internal replication statements) is
registered at start-up through the node's feature registry, so sqlfront never imports it; such a
package may not import sqlfront either, so it raises errors of its own for a malformed statement,
which the server maps to MySQL's 1064 at its edge (server/errors.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlfront import accounts, dr, pipelines, retention
from sqlfront.grammar import leading_words
from sqlfront.statements import Command, parse_statement

Grammar = Callable[[str], object | None]  # the command for a statement text, or None: not mine


class Grammars:
    """The registered grammars by first word, and the parse entry that dispatches to them."""

    def __init__(self) -> None:
        self._by_word: dict[str, tuple[Grammar, ...]] = {}
        self.register(dr.parse_dr, first_words=dr.FIRST_WORDS)
        self.register(pipelines.parse_pipeline_statement, first_words=pipelines.FIRST_WORDS)
        self.register(accounts.parse_account_statement, first_words=accounts.FIRST_WORDS)
        self.register(retention.parse_snapshot, first_words=retention.FIRST_WORDS)

    def register(self, grammar: Grammar, *, first_words: Iterable[str]) -> None:
        """Offer statements whose first word is one of first_words (any case) to grammar, after the
        grammars registered before it."""
        for word in first_words:
            key = word.upper()
            self._by_word[key] = (*self._by_word.get(key, ()), grammar)

    def parse(self, text: str) -> Command:
        """The command for one statement (no ';' splitting here); raises SqlError, or what a
        registered grammar raises for a malformed statement of its."""
        first = leading_words(text, 1)
        for grammar in self._by_word.get(first[0], ()) if first else ():
            cmd = grammar(text)
            if cmd is not None:
                return cmd
        return parse_statement(text)
