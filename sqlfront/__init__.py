"""The language: statement classification and parsing (MySQL via sqlglot; the DR, account and
pipeline grammars), MySQL -> SQLite lowering, MySQL functions, and the error catalogue
(``sqlfront.errors``: every MySQL code drlab sends).

May import: of our packages only ``storage.catalog``'s pure value types (``SourceRef``: the DR
parser builds the one value a replication source is). Does no I/O: no sockets, files or threads
of its own."""
