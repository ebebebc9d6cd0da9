"""The language: statement classification and parsing (MySQL via sqlglot; the DR, account and
pipeline grammars), MySQL -> SQLite lowering, MySQL functions, and the error catalogue
(``sqlfront.errors``: every MySQL code drlab sends).

May import: none of our packages. Does no I/O: no sockets, files or threads of its own."""
