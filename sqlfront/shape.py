"""Statement shapes: the same DML with other literals parses and lowers once.

Text-protocol clients (sysbench --db-ps-mode=disable, most ORMs) send every statement with its
values spliced in. ``literal_shape`` swaps numbers and quoted strings for ``?`` and returns the
values, so the parsed and lowered plan of the shape is cached and the values are bound, never
spliced into SQLite's SQL. ``shape_is_safe`` rejects shapes where a literal's position carries
meaning beyond its value (a column name, an ORDER BY position, a type length).
"""

from __future__ import annotations

import re

from sqlglot import exp

from sqlfront import charset

_MAX_TEXT = 16384  # longer texts are bulk loads whose shape never repeats: not worth a cache entry
_HEADS = ("select", "insert", "update", "delete", "replace")
_TOKEN = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`|(?<![\w.$@])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.$])|--[^\n]*|\#[^\n]*|/\*.*?\*/""",
    re.S,
)
_INTRODUCER = re.compile(r"(?:_\w+|\bx|\bb|\bN)$", re.I)
_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "Z": "\x1a", "\\": "\\", "'": "'", '"': '"'}


_ESCAPED = re.compile(r"\\(.)", re.S)
_UNESCAPE = {**_ESCAPES, "%": "\\%", "_": "\\_"}  # MySQL keeps \% and \_ as written (LIKE patterns)


def _unescape(body: str, quote: str) -> str:
    body = body.replace(quote + quote, quote)
    if "\\" not in body:
        return body
    return _ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), body)


_MAX_BOUND = 2**63 - 1


def literal_shape(text: str) -> tuple[str, list[object]] | None:
    """(shape, values) for a DML statement with literals, or None when shaping does not apply."""
    head = text.lstrip()[:7].lower()
    if not head.startswith(_HEADS) or "?" in text or len(text) > _MAX_TEXT:
        return None
    out: list[str] = []
    values: list[object] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        c = tok[0]
        if c in "`-#/":
            continue
        if c in "'\"":
            before = text[max(0, m.start() - 80) : m.start()]  # a bounded look-back: linear in the text
            if before.rstrip()[-1:] in ("_", "N") or _INTRODUCER.search(before):
                return None  # introducers (_utf8'x', x'ff', b'01', N'x') keep their literal form
            values.append(charset.value(_unescape(tok[1:-1], c)))
        elif "." in tok or "e" in tok or "E" in tok:
            return None  # exact DECIMAL literals keep their text
        elif int(tok) > _MAX_BOUND:
            return None  # past SQLite's 64-bit parameters: lowering reads it (LIMIT 2, 18446744073709551615)
        else:
            values.append(int(tok))
        out.append(text[pos : m.start()])
        out.append("?")
        pos = m.end()
    if not values or len(values) > 30000:  # SQLite binds at most 32766 values
        return None
    out.append(text[pos:])
    return "".join(out), values


def shape_is_safe(ast: exp.Expression) -> bool:
    """Whether every placeholder of a shaped statement stands only for a value."""
    for ph in ast.find_all(exp.Placeholder):
        child: exp.Expr = ph
        node = ph.parent
        while node is not None:
            if isinstance(node, exp.Select) and child.arg_key == "expressions":
                return False  # the literal would become the column's name
            if isinstance(node, exp.Ordered | exp.Group | exp.DataType | exp.Interval | exp.ColumnDef):
                if not isinstance(node, exp.Interval) or child.arg_key != "this":
                    return False
            if isinstance(node, exp.Alias) and child.arg_key == "alias":
                return False
            child, node = node, node.parent
    return True


# -- bulk loads ------------------------------------------------------------------------------------

_ROWS_HEAD = re.compile(
    r"\s*(?:insert|replace)\s+(?:ignore\s+)?(?:into\s+)?(?:`(?:[^`]|``)+`|\w+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|\w+))?"
    r"\s*(?:\((?:\s*(?:`(?:[^`]|``)+`|\w+)\s*,?)+\))?\s*values\s*",
    re.I | re.S,
)
_ROW_TOKEN = re.compile(  # punctuation first (the commonest token); whitespace is skipped, (\S) is anything else
    r"""([(),])|('[^'\\]*(?:(?:\\.|'')[^'\\]*)*')|(-?\d+)(?![\w.])|(-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+)"""
    r"""|(NULL)\b|[xX]('[0-9a-fA-F]*')|0x([0-9a-fA-F]+)\b|(\S)""",
    re.S | re.I,
)
_I64 = 1 << 63
_START, _WANT, _GOT, _AFTER, _BETWEEN = range(5)  # literal_rows' states: before/after a row, a value


class Rows(list):
    """The rows of a bulk load, each bound in turn to the one-row shape ``literal_rows`` made."""


def literal_rows(text: str) -> tuple[str, Rows] | None:
    """(one-row shape, rows) for ``INSERT [IGNORE] INTO t [(cols)] VALUES (...), (...)`` whose
    values are all plain literals (strings, numbers, NULL, X'..', 0x..): a bulk load (a dump's
    extended INSERTs) then parses and lowers one row's shape instead of a tree per value, and the
    rows are bound to it. None for any other form (ON DUPLICATE KEY UPDATE, expressions, ...)."""
    head = _ROWS_HEAD.match(text)
    if head is None:
        return None
    body = text[head.end():].rstrip()
    if body.endswith(";"):
        body = body[:-1]
    rows, state = Rows(), _START
    row: list[object] = []
    for punct, s, i, d, null, xs, hx, bad in _ROW_TOKEN.findall(body):
        if punct:
            if punct == "(" and state in (_START, _BETWEEN):
                row, state = [], _WANT
            elif punct == "," and state in (_GOT, _AFTER):
                state = _WANT if state == _GOT else _BETWEEN
            elif punct == ")" and state == _GOT:
                if rows and len(row) != len(rows[0]):
                    return None  # the normal path reports the column count mismatch
                rows.append(row)
                state = _AFTER
            else:
                return None
            continue
        if bad or state != _WANT:
            return None
        state = _GOT
        if s:
            s = s[1:-1]
            row.append(charset.value(_unescape(s, "'")) if "\\" in s or "''" in s else charset.value(s))
        elif i:
            n = int(i)
            row.append(n if -_I64 <= n < _I64 else float(n))  # beyond SQLite's INTEGER: a double, as the literal
        elif d:
            row.append(float(d))  # the double SQLite makes of the literal in SQL text
        elif null:
            row.append(None)
        elif hx:
            row.append(bytes.fromhex(hx if len(hx) % 2 == 0 else "0" + hx))
        else:
            row.append(bytes.fromhex(xs[1:-1]))
    if state != _AFTER or len(rows) < 2:
        return None
    return text[: head.end()] + "(" + ", ".join("?" * len(rows[0])) + ")", rows
