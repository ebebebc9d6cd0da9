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
