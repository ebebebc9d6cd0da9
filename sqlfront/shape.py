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


def _unescape(body: str, quote: str) -> str:
    body = body.replace(quote + quote, quote)
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1) if m.group(1) not in "%_" else "\\" + m.group(1)), body, flags=re.S)


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
_ROW_VALUE = re.compile(
    r"""\s*(?:'((?:[^'\\]|\\.|'')*)'|(-?\d+)(?![\w.])|(-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+)"""
    r"""|(NULL)\b|[xX]'([0-9a-fA-F]*)'|0x([0-9a-fA-F]+)\b)\s*([,)])""",
    re.S | re.I,
)
_ROW_OPEN = re.compile(r"\s*\(")
_ROW_NEXT = re.compile(r"\s*(,|;?\s*$)")


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
    rows = Rows()
    pos, width = head.end(), -1
    end = len(text)
    while True:
        m = _ROW_OPEN.match(text, pos)
        if m is None:
            return None
        pos = m.end()
        row: list[object] = []
        while True:
            v = _ROW_VALUE.match(text, pos)
            if v is None:
                return None
            pos = v.end()
            s, i, d, null, xs, hx, stop = v.groups()
            if s is not None:
                row.append(charset.value(_unescape(s, "'")) if "\\" in s or "''" in s else charset.value(s))
            elif i is not None:
                row.append(int(i))
            elif d is not None:
                row.append(d)  # exact: SQLite's numeric affinity converts it as it would the literal
            elif null is not None:
                row.append(None)
            else:
                row.append(bytes.fromhex(xs if xs is not None else (hx if len(hx) % 2 == 0 else "0" + hx)))
            if stop == ")":
                break
        if width < 0:
            width = len(row)
        elif len(row) != width:
            return None  # the normal path reports the column count mismatch
        rows.append(row)
        m = _ROW_NEXT.match(text, pos)
        if m is None:
            return None
        if m.group(1) != ",":
            break
        pos = m.end()
    if len(rows) < 2 or pos > end:
        return None
    return text[: head.end()] + "(" + ", ".join("?" * width) + ")", rows
