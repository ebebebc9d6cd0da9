"""The language: the one parse entry (``sqlfront.grammars``: grammars by first word, then MySQL via
sqlglot), the hand-written DR, account, pipeline and SNAPSHOT grammars on one lexer and Parser base
(``sqlfront.grammar``), MySQL -> SQLite lowering, MySQL functions, and the error catalogue
(``sqlfront.errors``: every MySQL code drlab sends).

May import: of our packages only ``storage.catalog``'s pure value types (``SourceRef``: the DR
parser builds the one value a replication source is). Does no I/O: no sockets, files or threads
of its own."""
