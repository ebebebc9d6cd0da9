"""Statement text by the connection's character set, and bytes that are not text.

MySQL reads a statement in ``character_set_client``; a string literal may still hold bytes that are
no text in it (a BLOB value spliced in by mysql-connector or PyMySQL), and ``_binary'...'`` is bytes
whatever the character set. ``decode_statement`` turns ``_binary`` literals into ``X'..'`` on the
raw bytes and decodes the rest; bytes that are not UTF-8 survive as surrogate escapes, which
``raw_bytes`` turns back into the bytes the client sent.
"""

from __future__ import annotations

import re

UNDECODED = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8 (decoded with surrogateescape)

_CODECS = {"latin1": "latin-1", "ascii": "ascii", "cp1250": "cp1250", "cp1251": "cp1251", "cp1256": "cp1256",
           "cp1257": "cp1257", "greek": "iso8859-7", "hebrew": "iso8859-8", "latin2": "iso8859-2",
           "latin5": "iso8859-9", "latin7": "iso8859-13", "koi8r": "koi8-r", "koi8u": "koi8-u"}
_TOKEN = re.compile(rb"""(_binary\s*)?('(?:[^'\\]|\\.|'')*')|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`|--[^\n]*|\#[^\n]*|/\*.*?\*/""",
                    re.S | re.I)
_ESCAPES = {b"0": b"\0", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"Z": b"\x1a"}


def decode_statement(body: bytes, charset: str) -> str:
    """The text of a statement sent in ``charset`` (a MySQL character set name)."""
    if b"_binary" in body or b"_BINARY" in body:
        body = _TOKEN.sub(_hex_binary, body)
    codec = _CODECS.get(charset)
    if codec is None:  # utf8mb4, utf8mb3, binary and the rest: UTF-8, undecodable bytes kept as escapes
        return body.decode("utf-8", "surrogateescape")
    return body.decode(codec, "surrogateescape")


def _hex_binary(m: re.Match[bytes]) -> bytes:
    if m.group(1) is None:
        return m.group(0)
    inner = m.group(2)[1:-1].replace(b"''", b"'")
    raw = re.sub(rb"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), inner, flags=re.S)
    return b"X'" + raw.hex().encode() + b"'"


def raw_bytes(text: str) -> bytes:
    """The bytes a client sent for ``text`` decoded by ``decode_statement`` (UTF-8 connections)."""
    return text.encode("utf-8", "surrogateescape")


def value(text: str) -> str | bytes:
    """A string value as stored: ``text``, or its bytes when it holds bytes that were not text."""
    if text.isascii() or UNDECODED.search(text) is None:
        return text
    return raw_bytes(text)
