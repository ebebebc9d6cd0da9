"""Lower a parsed MySQL DML statement (sqlglot AST) to SQLite SQL text.

The statement is rewritten in place in one post-order walk, then generated with sqlglot's SQLite
generator. Rewrites cover what `stmt.sql(dialect="sqlite")` gets wrong: MySQL functions become the
Python functions in sqlfront.functions, upserts, multi-table UPDATE/DELETE, auto-increment zeros,
LIKE's default escape, left-to-right SET assignments. Anything that cannot be expressed with the
same answer raises not_supported instead of producing SQL that answers differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError
from sqlglot.generators.mysql import MySQLGenerator
from sqlglot.generators.sqlite import SQLiteGenerator

from sqlfront.charset import UNDECODED, raw_bytes
from sqlfront.errors import (
    ER_BAD_FIELD,
    ER_UNKNOWN_SYSTEM_VARIABLE,
    ER_UNKNOWN_TABLE,
    ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT,
    SqlError,
    not_supported,
    parse_error,
    too_deep,
)

if TYPE_CHECKING:
    from sqlfront.ddl import TableDef




class Resolver(Protocol):
    """Name resolution the server provides: current database and physical SQLite names."""

    current_db: str | None

    def physical(self, db: str | None, table: str) -> str:
        """The SQLite-qualified name to emit; raises SqlError 1046 (no db) or 1146 (no table)."""
        ...

    def table(self, db: str | None, table: str) -> TableDef:
        """The table's definition (columns, keys, auto-increment column)."""
        ...


@dataclass(frozen=True, slots=True)
class Param:
    """Where one '?' of the lowered SQL gets its value: a client parameter or a fixed value."""

    index: int | None = None
    literal: Any = None


@dataclass
class Lowered:
    sql: str
    params: list[Param]
    kind: str  # 'select' | 'insert' | 'replace' | 'update' | 'delete'
    tables_read: list[tuple[str | None, str]]
    tables_written: list[tuple[str | None, str]]
    upsert: bool = False
    calc_found_rows: bool = False
    autoinc_params: list[int] = field(default_factory=list)
    locking: bool = False  # FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE: a read that locks what it reads


# --------------------------------------------------------------------------- variables


def _variable_key(node: exp.Expression) -> str:
    if isinstance(node, exp.SessionParameter):
        kind = node.args.get("kind")
        return f"@@{kind.lower() + '.' if kind else ''}{node.name.lower()}"
    return f"@{node.name.lower()}"


def variables_in(stmt: exp.Expression) -> list[str]:
    """The @user and @@system variables a statement reads, as keys for `substitute`.

    Keys are lower-cased: '@x', '@@version', '@@session.autocommit', '@@global.read_only'.
    """
    keys = [_variable_key(n) for n in stmt.find_all(exp.SessionParameter, exp.Parameter)]
    return list(dict.fromkeys(keys))


def substitute(stmt: exp.Expression, values: dict[str, Any]) -> exp.Expression:
    """Replace variables with bound values (in place); returns stmt.

    Values are bound as parameters (Param(literal=...)) so the SQL text does not depend on them.
    An unset @user variable is NULL, as in MySQL; an unknown @@variable is error 1193. A variable
    that is a whole select-list item keeps its MySQL column name ('@@version').
    """
    for node in list(stmt.find_all(exp.SessionParameter, exp.Parameter)):
        key = _variable_key(node)
        if key in values:
            value = values[key]
        elif isinstance(node, exp.Parameter):
            value = None
        else:
            raise SqlError(ER_UNKNOWN_SYSTEM_VARIABLE, f"Unknown system variable '{node.name}'")
        bound = exp.Placeholder()
        bound.meta["literal"] = value
        parent = node.parent
        if isinstance(parent, exp.Select) and node.arg_key == "expressions":
            name = "@@" + (f"{node.args['kind']}." if node.args.get("kind") else "") + node.name
            if isinstance(node, exp.Parameter):
                name = "@" + node.name
            node.replace(exp.Alias(this=bound, alias=exp.Identifier(this=name, quoted=True)))
        elif node is stmt:
            return bound
        else:
            node.replace(bound)
    return stmt


# --------------------------------------------------------------------------- placeholders


class _OrderGenerator(MySQLGenerator):
    """Regenerates MySQL text only to learn the textual order of '?' placeholders."""

    def __init__(self) -> None:
        super().__init__(dialect="mysql", unsupported_level=ErrorLevel.IGNORE)
        self.seen: list[int] = []

    def placeholder_sql(self, expression: exp.Placeholder) -> str:
        if "tag" in expression.meta:  # not a substituted variable
            self.seen.append(expression.meta["tag"])
        return "?"


_MAX_SQLITE_INT = 2**63 - 1


def _clamp_limits(stmt: exp.Expression) -> None:
    """LIMIT / OFFSET counts past SQLite's 64-bit signed range (MySQL allows up to 2^64-1, and its
    manual's "offset without a limit" idiom is `LIMIT 2, 18446744073709551615`): such a LIMIT is no
    limit (SQLite's -1) and such an OFFSET the largest SQLite takes (no row is that far)."""
    for clause in (*stmt.find_all(exp.Limit), *stmt.find_all(exp.Offset)):
        count = clause.args.get("expression")
        if isinstance(count, exp.Literal) and not count.is_string and count.this.isdigit() \
                and int(count.this) > _MAX_SQLITE_INT:
            big = isinstance(clause, exp.Limit)
            clause.set("expression", exp.Literal.number(-1 if big else _MAX_SQLITE_INT))


def _number_placeholders(stmt: exp.Expression) -> None:
    """Give each client '?' its position in the statement text (meta 'p').

    sqlglot's tree order is not text order (a Select stores LIMIT before FROM), so with several
    placeholders the MySQL text is regenerated to read their order. `LIMIT ?, ?` and
    `LIMIT ? OFFSET ?` parse to the same tree; sqlglot 30 only leaves the comma form's Offset
    without a 'this' key, which tells them apart (tests pin this).
    """
    found = [p for p in stmt.find_all(exp.Placeholder) if "literal" not in p.meta]
    for p in found:
        if p.this:
            raise not_supported("named placeholders")
    if len(found) <= 1:
        for p in found:
            p.meta["p"] = 0
        return
    for tag, p in enumerate(found):
        p.meta["tag"] = tag
    gen = _OrderGenerator()
    gen.generate(stmt, copy=True)
    order = gen.seen
    for offset in stmt.find_all(exp.Offset):
        query = offset.parent
        limit = query.args.get("limit") if query else None
        if limit is None or "this" in offset.args:
            continue
        lim = [p.meta["tag"] for p in limit.find_all(exp.Placeholder) if "tag" in p.meta]
        off = [p.meta["tag"] for p in offset.find_all(exp.Placeholder) if "tag" in p.meta]
        if lim and off:
            start = order.index(lim[0])
            rest = [t for t in order[start:] if t not in off]
            order = order[:start] + off + rest
    for index, tag in enumerate(order):
        found[tag].meta["p"] = index


class _Generator(SQLiteGenerator):
    """SQLite generator that quotes identifiers with backticks and records parameter order.

    Backticks, unlike double quotes, never fall back to being a string literal in SQLite, so a
    misspelt column is an error rather than a constant.
    """

    def __init__(self) -> None:
        super().__init__(dialect="sqlite", identify=True, unsupported_level=ErrorLevel.RAISE)
        self._identifier_start = self._identifier_end = "`"
        self._escaped_identifier_end = "``"
        self.params: list[Param] = []
        self.autoinc: list[int] = []

    def placeholder_sql(self, expression: exp.Placeholder) -> str:
        meta = expression.meta
        if meta.get("autoinc"):
            self.autoinc.append(len(self.params))
        if "literal" in meta:
            self.params.append(Param(literal=meta["literal"]))
        else:
            self.params.append(Param(index=meta["p"]))
        return "?"


# --------------------------------------------------------------------------- small builders


def _fn(name: str, *args: exp.Expr | None) -> exp.Anonymous:
    """A call of a SQLite (or registered) function; absent optional arguments (None) are left out."""
    return exp.Anonymous(this=name, expressions=[a for a in args if a is not None])


def _str(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _paren(node: exp.Expression) -> exp.Expression:
    return (
        node
        if isinstance(node, exp.Column | exp.Literal | exp.Placeholder | exp.Paren)
        else exp.Paren(this=node)
    )


def _unit(node: exp.Expression) -> str:
    unit = node.args.get("unit")
    if unit is None:
        raise not_supported("INTERVAL without a unit")
    name = unit.name.upper()
    if name not in _UNITS:
        raise not_supported(f"INTERVAL unit {name}")
    return name


_UNITS = {"MICROSECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


# sqlglot's strftime spelling of MySQL specifiers, back to MySQL's (others are spelt the same).
_STRFTIME_TO_MYSQL = {
    "%B": "%M", "%-m": "%c", "%-d": "%e", "%I": "%h", "%M": "%i", "%S": "%s", "%W": "%u",
    "%-H": "%k", "%-I": "%l", "%A": "%W", "%G": "%x",
}  # fmt: skip
_STRFTIME_RE = re.compile(r"%-?.")


def _mysql_format(node: exp.Expression | None) -> exp.Expression | None:
    """sqlglot turns a literal MySQL format into strftime; turn it back (its own inverse
    mapping mistranslates a format ending in a prefix of a longer pattern, like '%H:%M')."""
    if isinstance(node, exp.Literal) and node.is_string:
        return _str(_STRFTIME_RE.sub(lambda m: _STRFTIME_TO_MYSQL.get(m.group(0), m.group(0)), node.this))
    return node


def _int_cast(node: exp.Expression) -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build("INTEGER"))


# --------------------------------------------------------------------------- expression handlers

Handler = Callable[["_Lowering", Any], exp.Expression]


def _rename(name: str, *keys: str) -> Handler:
    """A handler calling function `name` with the node's args `keys` in order."""

    def handle(low: _Lowering, node: exp.Expression) -> exp.Expression:
        args: list[exp.Expression | None] = []
        for key in keys:
            value = node.args.get(key)
            if isinstance(value, list):
                args.extend(value)
            else:
                args.append(value)
        return _fn(name, *args)

    return handle


def _date_add(low: _Lowering, node: exp.Expression) -> exp.Expression:
    name = "date_sub" if isinstance(node, exp.DateSub) else "date_add"
    return _fn(name, node.this, node.expression, _str(_unit(node)))


def _interval_arith(low: _Lowering, node: exp.Add | exp.Sub) -> exp.Expression:
    left, right = node.this, node.expression
    if isinstance(right, exp.Interval) and right.args.get("unit") is None and isinstance(left, exp.Interval):
        right = right.this  # sqlglot reads `INTERVAL 1 DAY + 'date'` as two intervals
    if isinstance(right, exp.Interval):
        name = "date_sub" if isinstance(node, exp.Sub) else "date_add"
        return _fn(name, left, right.this, _str(_unit(right)))
    if isinstance(left, exp.Interval):
        if isinstance(node, exp.Sub):
            raise not_supported("INTERVAL minus a value")
        return _fn("date_add", right, left.this, _str(_unit(left)))
    return node


def _timestampdiff(low: _Lowering, node: exp.TimestampDiff) -> exp.Expression:
    return _fn("timestampdiff", _str(_unit(node)), node.expression, node.this)


def _timestampadd(low: _Lowering, node: exp.TimestampAdd) -> exp.Expression:
    return _fn("date_add", node.this, node.expression, _str(_unit(node)))


def _format_fn(name: str) -> Handler:
    def handle(low: _Lowering, node: exp.Expression) -> exp.Expression:
        return _fn(name, node.this, _mysql_format(node.args.get("format")))

    return handle


def _now(low: _Lowering, node: exp.Expression) -> exp.Expression:
    return _fn("now", node.this)


def _current_schema(low: _Lowering, node: exp.Expression) -> exp.Expression:
    db = low.resolver.current_db
    return exp.Null() if db is None else _str(db)


def _timestamp(low: _Lowering, node: exp.Timestamp) -> exp.Expression:
    if node.expression is not None:
        raise not_supported("TIMESTAMP(expr, time)")
    return _fn("mysql_datetime", node.this)


def _pad(low: _Lowering, node: exp.Pad) -> exp.Expression:
    return _fn(
        "lpad" if node.args.get("is_left") else "rpad",
        node.this,
        node.expression,
        node.args.get("fill_pattern"),
    )


def _regexp(low: _Lowering, node: exp.RegexpLike) -> exp.Expression:
    if node.args.get("full_match"):
        raise not_supported("full-match REGEXP")
    if node.args.get("flag") is None:
        return node  # `a REGEXP b` calls the registered regexp(b, a)
    return _fn("regexp_like", node.this, node.expression, node.args["flag"])


def _length(low: _Lowering, node: exp.Length) -> exp.Expression:
    if node.args.get("binary"):  # LENGTH counts bytes in MySQL; CHAR_LENGTH counts characters
        return exp.Length(this=exp.Cast(this=node.this, to=exp.DataType.build("BLOB")))
    return node


def _locate(low: _Lowering, node: exp.StrPosition) -> exp.Expression:
    return _fn("locate", node.args.get("substr"), node.this, node.args.get("position"))


def _trim(low: _Lowering, node: exp.Trim) -> exp.Expression:
    if node.args.get("collation"):
        raise not_supported("TRIM with COLLATE")
    if node.expression is None:
        return node  # spaces only: SQLite's trim/ltrim/rtrim do the same
    return _fn("mysql_trim", node.this, node.expression, _str((node.args.get("position") or "BOTH").upper()))


def _round(low: _Lowering, node: exp.Round) -> exp.Expression:
    if node.args.get("truncate"):
        return _fn("mysql_truncate", node.this, node.args.get("decimals") or exp.Literal.number(0))
    return _fn("mysql_round", node.this, node.args.get("decimals"))


def _trunc(low: _Lowering, node: exp.Trunc) -> exp.Expression:
    return _fn("mysql_truncate", node.this, node.args.get("decimals") or exp.Literal.number(0))


def _ceil_floor(low: _Lowering, node: exp.Ceil | exp.Floor) -> exp.Expression:
    if node.args.get("decimals") is not None:
        raise not_supported(f"{node.key.upper()} with decimals")
    return _int_cast(node)  # MySQL returns an integer, SQLite's ceil/floor a real


def _intdiv(low: _Lowering, node: exp.IntDiv) -> exp.Expression:
    return _int_cast(
        exp.Paren(this=exp.Div(this=_paren(node.this), expression=_paren(node.expression), typed=True))
    )


def _xor(low: _Lowering, node: exp.Xor) -> exp.Expression:
    """a XOR b: NULL if either is NULL, else true when exactly one is true (NOT gives 1/0/NULL)."""
    if node.args.get("expressions"):
        raise not_supported("XOR with several operands")
    nots = exp.Add(
        this=exp.Paren(this=exp.Not(this=_paren(node.this))),
        expression=exp.Paren(this=exp.Not(this=_paren(node.expression))),
    )
    return exp.Paren(this=exp.EQ(this=nots, expression=exp.Literal.number(1)))


def _bitnot(low: _Lowering, node: exp.BitwiseNot) -> exp.Expression:
    return _fn("cast_unsigned", exp.BitwiseNot(this=node.this))  # MySQL's ~ is unsigned 64-bit


def _group_concat(low: _Lowering, node: exp.GroupConcat) -> exp.Expression:
    """GROUP_CONCAT([DISTINCT] x [ORDER BY k [DESC], ...] [SEPARATOR s]) -> group_concat_ex."""
    if node.args.get("on_overflow"):
        raise not_supported("GROUP_CONCAT ON OVERFLOW")
    value, keys, dirs, distinct = node.this, [], "", False
    if isinstance(value, exp.Order):
        for ordered in value.expressions:
            keys.append(ordered.this)
            dirs += "D" if ordered.args.get("desc") else "A"
        value = value.this
    if isinstance(value, exp.Distinct):
        distinct = True
        values = value.expressions
        value = values[0] if len(values) == 1 else _fn("concat", *values)
    separator = node.args.get("separator")
    return _fn(
        "group_concat_ex",
        separator if separator is not None else _str(","),
        exp.Literal.number(int(distinct)),
        _str(dirs),
        value,
        *keys,
    )


def _count(low: _Lowering, node: exp.Count) -> exp.Expression:
    """COUNT(DISTINCT a, b): SQLite takes one argument, so count distinct json_array(a, b)."""
    inner = node.this
    if isinstance(inner, exp.Distinct) and len(inner.expressions) > 1:
        values = inner.expressions
        any_null = exp.or_(*(exp.Is(this=_paren(v.copy()), expression=exp.Null()) for v in values))
        case = exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=_fn("json_array", *values))
        return exp.Count(this=exp.Distinct(expressions=[case]))
    if node.expressions:
        raise not_supported("COUNT with several arguments")
    return node


_CAST_FUNCS = {
    exp.DType.BIGINT: "cast_signed",
    exp.DType.INT: "cast_signed",
    exp.DType.UBIGINT: "cast_unsigned",
    exp.DType.UINT: "cast_unsigned",
    exp.DType.DATE: "mysql_date",
    exp.DType.DATETIME: "mysql_datetime",
    exp.DType.TIMESTAMP: "mysql_datetime",
    exp.DType.TIME: "mysql_time",
    exp.DType.JSON: "json",
}
_CAST_TEXT = {exp.DType.CHAR, exp.DType.VARCHAR, exp.DType.NCHAR, exp.DType.NVARCHAR, exp.DType.TEXT}
_CAST_BLOB = {exp.DType.BINARY, exp.DType.VARBINARY, exp.DType.BLOB}
_CAST_REAL = {exp.DType.DOUBLE, exp.DType.FLOAT}


def _cast(low: _Lowering, node: exp.Cast) -> exp.Expression:
    to = node.to
    dtype = to.this
    params = [p.this for p in to.expressions if isinstance(p, exp.DataTypeParam) and p.this.is_int]
    if dtype in _CAST_FUNCS:
        return _fn(_CAST_FUNCS[dtype], node.this)
    if dtype in _CAST_TEXT:
        text = exp.Cast(this=node.this, to=exp.DataType.build("TEXT"))
        if params:
            return _fn("mysql_substr", text, exp.Literal.number(1), params[0])
        return text
    if dtype in _CAST_BLOB:
        if params:
            raise not_supported("CAST AS BINARY(n)")  # MySQL pads with zero bytes
        return exp.Cast(this=node.this, to=exp.DataType.build("BLOB"))
    if dtype in _CAST_REAL:
        return exp.Cast(this=node.this, to=exp.DataType.build("REAL"))
    if dtype == exp.DType.DECIMAL:
        scale = params[1] if len(params) > 1 else exp.Literal.number(0)
        return _fn("cast_decimal", node.this, scale)
    raise not_supported(f"CAST AS {to.sql('mysql')}")


def _like(low: _Lowering, node: exp.Like) -> exp.Expression:
    """MySQL's LIKE escapes with backslash by default; SQLite has no default escape."""
    if isinstance(node.parent, exp.Escape):
        return node
    pattern = node.expression
    if isinstance(pattern, exp.Literal) and "\\" not in pattern.this:
        return node  # no escape needed, and SQLite's LIKE index optimisation stays possible
    return exp.Escape(this=node, expression=_str("\\"))


def _boolean(low: _Lowering, node: exp.Boolean) -> exp.Expression:
    return exp.Literal.number(1 if node.this else 0)


_TEMPORAL_FUNCS = {"now", "sysdate", "localtime", "localtimestamp", "current_timestamp", "utc_timestamp",
                   "curdate", "current_date", "utc_date"}


def _temporal(node: exp.Expression) -> bool:
    """Whether a select-list item yields a MySQL DATE/DATETIME: the result column is then named
    'x [MYSQL_TEMPORAL]', which Python's sqlite3 (PARSE_COLNAMES) converts to date/datetime and
    strips, so clients see a DATETIME column as they would from MySQL."""
    if isinstance(node, exp.CurrentTimestamp | exp.CurrentDate | exp.UtcTimestamp | exp.UnixToTime
                  | exp.StrToDate | exp.StrToTime | exp.DateAdd | exp.DateSub | exp.TimestampAdd
                  | exp.ConvertTimezone):
        return True
    if isinstance(node, exp.Add | exp.Sub):
        return isinstance(node.expression, exp.Interval) or isinstance(node.this, exp.Interval)
    return isinstance(node, exp.Anonymous) and node.name.lower() in _TEMPORAL_FUNCS


def _plain_string(low: _Lowering, node: exp.Expression) -> exp.Expression:
    """N'x' and _charset'x' are plain strings once the text is Unicode (the wire edge has already
    turned _binary'x' into X'..': ``sqlfront.charset.decode_statement``)."""
    return node.expression if isinstance(node, exp.Introducer) else _str(node.this)


def written_name(node: exp.Func) -> str:
    """The name of a function call as MySQL text spells it (sqlglot's own names differ: CONVERT_TZ
    is ConvertTimezone), for errors that name what the user wrote."""
    text = node.sql("mysql")
    return text.split("(", 1)[0].strip().upper() if "(" in text else node.sql_name()


def _json_contains_path(args: list[exp.Expression]) -> exp.Expression:
    """JSON_CONTAINS_PATH(doc, 'one' | 'all', path, ...): 1 when one / all paths exist, else 0;
    NULL for a NULL document (or another mode). SQLite's json_type is NULL exactly for a missing
    path. The mode may be a bound value (drivers send it as a parameter), so it is tested in SQL."""
    if len(args) < 3:
        raise SqlError(ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT,
                       "Incorrect parameter count in the call to native function 'JSON_CONTAINS_PATH'")
    doc, mode = args[0], _fn("lower", args[1])
    tests: list[exp.Expression] = [exp.Not(this=exp.Is(this=_fn("json_type", doc.copy(), p), expression=exp.Null()))
                                   for p in args[2:]]
    as_int = exp.DataType.build("INTEGER")
    return exp.Case(ifs=[
        exp.If(this=exp.Is(this=doc.copy(), expression=exp.Null()), true=exp.Null()),
        exp.If(this=exp.EQ(this=mode, expression=_str("one")), true=exp.Cast(this=exp.paren(exp.or_(*tests)), to=as_int)),
        exp.If(this=exp.EQ(this=mode.copy(), expression=_str("all")),
               true=exp.Cast(this=exp.paren(exp.and_(*[t.copy() for t in tests])), to=as_int)),
    ])


def _anonymous(low: _Lowering, node: exp.Anonymous) -> exp.Expression:
    name = node.name.lower()
    target = _ANONYMOUS.get(name)
    if target is None:
        raise not_supported(f"function {node.name.upper()}")
    if isinstance(target, str):
        return _fn(target, *node.expressions)
    return target(node.expressions)


def _unsupported(what: str) -> Handler:
    def handle(low: _Lowering, node: exp.Expression) -> exp.Expression:
        raise not_supported(what)

    return handle


# Anonymous (sqlglot-unknown) MySQL functions -> registered SQLite name, or a builder.
_ANONYMOUS: dict[str, str | Callable[[list[exp.Expression]], exp.Expression]] = {
    "json_contains_path": _json_contains_path,
    "now": "now",
    "localtime": "now",
    "localtimestamp": "now",
    "current_timestamp": "now",
    "sysdate": "sysdate",
    "unix_timestamp": "unix_timestamp",
    "last_insert_id": "last_insert_id",
    "row_count": "row_count",
    "found_rows": "found_rows",
    "connection_id": "connection_id",
    "user": "mysql_user",
    "system_user": "mysql_user",
    "find_in_set": "find_in_set",
    "field": "field",
    "crc32": "crc32",
    "weekday": "weekday",
    "strcmp": "strcmp",
    "mid": "mysql_substr",
    "utc_timestamp": "utc_timestamp",
    "adddate": lambda a: _fn("date_add", *a, _str("DAY")),
    "subdate": lambda a: _fn("date_sub", *a, _str("DAY")),
}

# sqlglot function nodes whose SQLite rendering already means what MySQL means.
_PASS: set[type] = {
    exp.And,
    exp.Or,
    exp.Sum,
    exp.Avg,
    exp.Min,
    exp.Max,
    exp.Coalesce,
    exp.Nullif,
    exp.Abs,
    exp.If,
    exp.Case,
    exp.Chr,
    exp.Sign,
    exp.Sqrt,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Pi,
    exp.Pow,
    exp.Replace,
    exp.JSONExtract,
    exp.JSONExtractScalar,
    exp.JSONObject,
    exp.JSONArray,
    exp.AnyValue,
    exp.RowNumber,
    exp.Rank,
    exp.DenseRank,
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.NthValue,
    exp.Ntile,
    exp.PercentRank,
    exp.CumeDist,
    exp.Exists,
}

def _literal(low: _Lowering, node: exp.Literal) -> exp.Expression:
    """SQLite's SQL text cannot hold NUL: such a string travels as a bound value instead. One
    holding bytes that were not text in the connection's character set (surrogate-escaped on the
    wire) is those bytes: a BLOB, as MySQL stores it in a binary column."""
    if node.is_string and not node.this.isascii() and UNDECODED.search(node.this):
        return exp.HexString(this=raw_bytes(node.this).hex())
    if node.is_string and "\x00" in node.this:
        bound = exp.Placeholder()
        bound.meta["literal"] = node.this
        return bound
    return node


_HANDLERS: dict[type, Handler] = {
    exp.Literal: _literal,
    exp.DateAdd: _date_add,
    exp.DateSub: _date_add,
    exp.Add: _interval_arith,
    exp.Sub: _interval_arith,
    exp.TimestampAdd: _timestampadd,
    exp.DateDiff: _rename("datediff", "this", "expression"),
    exp.TimestampDiff: _timestampdiff,
    exp.TimeToStr: _format_fn("date_format"),
    exp.StrToDate: _format_fn("str_to_date"),
    exp.StrToTime: _format_fn("str_to_date"),
    exp.UnixToTime: _format_fn("from_unixtime"),
    exp.TsOrDsToDate: _rename("mysql_date", "this"),
    exp.TsOrDsToTimestamp: _rename("mysql_datetime", "this"),
    exp.ConvertTimezone: _rename("convert_tz", "timestamp", "source_tz", "target_tz"),
    exp.Time: _rename("mysql_time", "this"),
    exp.Timestamp: _timestamp,
    exp.Year: _rename("year", "this"),
    exp.Month: _rename("month", "this"),
    exp.Day: _rename("dayofmonth", "this"),
    exp.DayOfMonth: _rename("dayofmonth", "this"),
    exp.Hour: _rename("hour", "this"),
    exp.Minute: _rename("minute", "this"),
    exp.Second: _rename("second", "this"),
    exp.DayOfWeek: _rename("dayofweek", "this"),
    exp.DayOfYear: _rename("dayofyear", "this"),
    exp.Quarter: _rename("quarter", "this"),
    exp.Dayname: _rename("dayname", "this"),
    exp.LastDay: _rename("last_day", "this"),
    exp.Week: _rename("week", "this", "mode"),
    exp.CurrentTimestamp: _now,
    exp.Localtime: _now,
    exp.Localtimestamp: _now,
    exp.CurrentDate: _rename("curdate"),
    exp.CurrentTime: _rename("curtime", "this"),
    exp.UtcTimestamp: _rename("utc_timestamp", "this"),
    exp.CurrentSchema: _current_schema,
    exp.CurrentUser: _rename("mysql_current_user"),
    exp.SessionUser: _rename("mysql_user"),
    exp.CurrentVersion: _rename("version"),
    exp.Uuid: _rename("uuid"),
    exp.Rand: _rename("rand", "this"),
    exp.Concat: _rename("concat", "expressions"),
    exp.ConcatWs: _rename("concat_ws", "expressions"),
    exp.Left: _rename("mysql_left", "this", "expression"),
    exp.Right: _rename("mysql_right", "this", "expression"),
    exp.Pad: _pad,
    exp.Greatest: _rename("greatest", "this", "expressions"),
    exp.Least: _rename("least", "this", "expressions"),
    exp.RegexpLike: _regexp,
    exp.Elt: _rename("elt", "this", "expressions"),
    exp.MD5: _rename("md5", "this"),
    exp.SHA: _rename("sha1", "this"),
    exp.SHA2: _rename("sha2", "this", "length"),
    exp.Hex: _rename("mysql_hex", "this"),
    exp.Unhex: _rename("unhex", "this"),
    exp.ToBase64: _rename("to_base64", "this"),
    exp.FromBase64: _rename("from_base64", "this"),
    exp.Length: _length,
    exp.StrPosition: _locate,
    exp.Trim: _trim,
    exp.Substring: _rename("mysql_substr", "this", "start", "length"),
    exp.SubstringIndex: _rename("substring_index", "this", "delimiter", "count"),
    exp.Upper: _rename("mysql_upper", "this"),
    exp.Lower: _rename("mysql_lower", "this"),
    exp.Reverse: _rename("reverse", "this"),
    exp.Repeat: _rename("repeat", "this", "times"),
    exp.Space: _rename("space", "this"),
    exp.Round: _round,
    exp.Trunc: _trunc,
    exp.Ceil: _ceil_floor,
    exp.Floor: _ceil_floor,
    exp.Mod: _rename("mysql_mod", "this", "expression"),
    exp.IntDiv: _intdiv,
    exp.Xor: _xor,
    exp.BitwiseXor: _rename("bitxor", "this", "expression"),
    exp.BitwiseNot: _bitnot,
    exp.BitwiseCount: _rename("bit_count", "this"),
    exp.BitwiseXorAgg: _rename("bit_xor", "this"),
    exp.BitwiseOrAgg: _rename("bit_or", "this"),
    exp.BitwiseAndAgg: _rename("bit_and", "this"),
    exp.GroupConcat: _group_concat,
    exp.Count: _count,
    exp.Cast: _cast,
    exp.Like: _like,
    exp.Boolean: _boolean,
    exp.National: _plain_string,
    exp.Introducer: _plain_string,
    exp.Anonymous: _anonymous,
    exp.PropertyEQ: _unsupported("variable assignment with :="),
    exp.SessionParameter: _unsupported("@@variables here"),
    exp.Parameter: _unsupported("@variables here"),
    exp.Interval: lambda low, node: node,  # consumed by its parent (+, -, DATE_ADD)
}


# --------------------------------------------------------------------------- the lowering


def _table_key(table: exp.Table) -> tuple[str | None, str]:
    return (table.db or None, table.name)


def _ref_name(table: exp.Table) -> str:
    """How columns refer to a table: its alias, else its name."""
    return table.alias_or_name


class _Lowering:
    def __init__(self, resolver: Resolver, root: exp.Expression) -> None:
        self.resolver = resolver
        self.root = root
        self.ctes: set[str] = set()
        self.read: list[tuple[str | None, str]] = []
        self.written: list[tuple[str | None, str]] = []
        self.calc_found_rows = False
        self.locking = False
        self.padded: set[tuple[str, str]] = set()  # (qualifier or '', column): PAD SPACE text columns
        self.decimals: dict[tuple[str, str], int] = {}  # (qualifier or '', column): a DECIMAL column's scale

    # -- the walk ------------------------------------------------------------------------------

    def walk(self, node: exp.Expression) -> exp.Expression:
        """Post-order rewrite: children first, so handlers see lowered arguments."""
        args = node.args
        with_ = args.get("with_")
        if with_ is not None:
            self.ctes.update(cte.alias.lower() for cte in with_.expressions)
        if args.get("into") is not None:
            raise not_supported("SELECT ... INTO")
        for key, value in list(args.items()):
            if isinstance(value, exp.Expression):
                new = self.walk(value)
                if new is not value:
                    node.set(key, new)
            elif type(value) is list:
                for i, child in enumerate(value):
                    if isinstance(child, exp.Expression):
                        new = self.walk(child)
                        if new is not child:
                            node.set(key, new, i)
        kind = type(node)
        handler = _STRUCTURE.get(kind) or _HANDLERS.get(kind)
        if handler is not None:
            return handler(self, node)
        if isinstance(node, exp.Func) and kind not in _PASS:
            raise not_supported(f"function {written_name(node)}")
        return node

    # -- tables ----------------------------------------------------------------------------------

    def resolve(self, table: exp.Table, written: bool = False, alias: bool = False) -> exp.Table:
        """Point a table reference at its physical name; aliased by its MySQL name if that differs."""
        if table.meta.get("resolved"):
            return table
        if table.args.get("catalog") is not None or not isinstance(table.this, exp.Identifier):
            raise not_supported(f"table reference {table.sql('mysql')}")
        db, name = _table_key(table)
        physical = self.resolver.physical(db, name)
        key = (db or self.resolver.current_db, name)
        (self.written if written else self.read).append(key)
        table.set("this", exp.Var(this=physical))
        table.set("db", None)
        table.set("hints", None)
        if table.args.get("alias") is None and (alias or physical != f'"{name}"'):
            table.set("alias", exp.TableAlias(this=exp.Identifier(this=name, quoted=True)))
        table.meta["resolved"] = True
        return table

    def table(self, table: exp.Table) -> exp.Expression:
        if table.meta.get("resolved"):
            return table
        if not table.db and table.name.lower() in self.ctes:
            return table
        if not table.db and table.name.lower() == "dual" and isinstance(table.parent, exp.From):
            return table  # removed by the enclosing SELECT
        return self.resolve(table)

    # -- queries ---------------------------------------------------------------------------------

    def select(self, node: exp.Select) -> exp.Expression:
        group = node.args.get("group")
        if group is not None and (
            group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets")
        ):
            raise not_supported("WITH ROLLUP")
        modifiers = node.args.get("operation_modifiers")
        if modifiers:
            if any(m.name.upper() == "SQL_CALC_FOUND_ROWS" for m in modifiers):
                if node is not self.root and not self._first_of_root_union(node):
                    raise not_supported("SQL_CALC_FOUND_ROWS in a subquery")
                self.calc_found_rows = True
            node.set("operation_modifiers", None)
        for lock in node.args.get("locks") or ():
            if lock.args.get("wait") is not None:
                raise not_supported("NOWAIT and SKIP LOCKED (a locking read waits for the database's writer)")
            self.locking = True
        node.set("locks", None)
        node.set("hint", None)
        source = node.args.get("from_")
        if source is not None and isinstance(source.this, exp.Table) and not source.this.meta.get("resolved"):
            if source.this.name.lower() == "dual" and not source.this.db and not node.args.get("joins"):
                node.set("from_", None)
        if node is self.root and group is not None and node.args.get("order") is None:
            # MySQL 5.7 sorts by the GROUP BY columns when there is no ORDER BY.
            node.set(
                "order",
                exp.Order(
                    expressions=[exp.Ordered(this=e.copy(), nulls_first=True) for e in group.expressions]
                ),
            )
        return node

    def _first_of_root_union(self, node: exp.Select) -> bool:
        parent = node.parent
        while isinstance(parent, exp.Subquery):
            parent = parent.parent
        return isinstance(parent, exp.SetOperation) and parent is self.root

    def set_operation(self, node: exp.SetOperation) -> exp.Expression:
        """SQLite's compound SELECT takes bare operands: unwrap (SELECT ...) UNION (SELECT ...)."""
        for key in ("this", "expression"):
            operand = node.args[key]
            if isinstance(operand, exp.Subquery) and isinstance(operand.this, exp.Select):
                inner = operand.this
                if not operand.alias and any(
                    inner.args.get(k) is not None for k in ("order", "limit", "offset")
                ):
                    node.set(key, exp.select("*").from_(exp.Subquery(this=inner)))
                elif not operand.alias:
                    node.set(key, inner)
        return node

    # -- column names ----------------------------------------------------------------------------

    def name_columns(self, select: exp.Select) -> None:
        """Give computed select-list items MySQL's column name (its text), as SQLite names differ."""
        sorts = any(select.args.get(k) is not None for k in ("order", "group", "having"))
        grouped = {c.name.lower() for c in select.args["group"].find_all(exp.Column)} if select.args.get("group") else set()
        for i, item in enumerate(select.expressions):
            if isinstance(item, exp.Alias):
                if not sorts and _temporal(item.this):
                    item.set("alias", exp.Identifier(this=f"{item.alias} [MYSQL_TEMPORAL]", quoted=True))
                elif item.alias.lower() not in grouped and (scale := _aggregated_scale(self, item.this)) is not None:
                    _rename_alias(select, item, f"{item.alias} [DECIMAL{scale}]")
                continue
            if isinstance(item, exp.Column | exp.Star):
                continue
            if isinstance(item, exp.Literal) and item.is_string:
                if sorts:
                    continue  # an alias could capture an ORDER BY column of the same name
                name = item.this
                if not name.isascii() and UNDECODED.search(name):  # a binary value: its bytes, shown as text can
                    name = raw_bytes(name).decode("utf-8", "replace")
            elif isinstance(item, exp.CurrentSchema):
                name = "DATABASE()"
            else:
                name = item.sql("mysql")
                if not sorts and _temporal(item):
                    name += " [MYSQL_TEMPORAL]"
                elif (scale := _aggregated_scale(self, item)) is not None:
                    name += f" [DECIMAL{scale}]"
            select.set("expressions", exp.Alias(this=item, alias=exp.Identifier(this=name, quoted=True)), i)

    # -- INSERT ----------------------------------------------------------------------------------

    def insert(self, node: exp.Insert, replace: bool) -> tuple[exp.Expression, bool]:
        target = node.this
        columns: list[str] | None = None
        if isinstance(target, exp.Schema):
            columns = [c.name for c in target.expressions]
            table = target.this
        else:
            table = target
        if not isinstance(table, exp.Table):
            raise not_supported("INSERT into this target")
        db, name = _table_key(table)
        tdef = self.resolver.table(db, name)
        upsert = node.args.get("conflict") is not None
        self.resolve(table, written=True, alias=upsert)
        if replace:
            node.set("alternative", "REPLACE")
        source = node.expression
        names = columns if columns else [c.name for c in tdef.columns]
        auto = tdef.auto_increment_column()
        auto_name = auto.name if auto is not None else None
        if isinstance(source, exp.Values):
            self._values(node, source, names, auto_name)
        elif auto_name is not None and isinstance(source, exp.Select) and not source.is_star:
            # A selected 0 for the AUTO_INCREMENT column also means "next value".
            lowered = [n.lower() for n in names]
            k = lowered.index(auto_name.lower()) if auto_name.lower() in lowered else -1
            if 0 <= k < len(source.expressions):
                item = source.expressions[k].unalias()
                source.set("expressions", exp.Nullif(this=item, expression=exp.Literal.number(0)), k)
        if upsert:
            self._upsert(node, source, ref=_ref_name(table))
        return node, upsert

    def _values(self, node: exp.Insert, values: exp.Values, names: list[str], auto: str | None) -> None:
        """A 0 or DEFAULT for the AUTO_INCREMENT column becomes NULL (a '?' there: autoinc_params);
        a column that is DEFAULT in every row is left out so SQLite applies its default."""
        rows = values.expressions
        if all(not row.expressions for row in rows):
            if len(rows) != 1:
                raise not_supported("several empty VALUES rows")
            node.set("expression", None)
            node.set("this", node.this.this if isinstance(node.this, exp.Schema) else node.this)
            node.set("default", True)
            return
        lowered = [n.lower() for n in names]
        auto_at = lowered.index(auto.lower()) if auto and auto.lower() in lowered else -1
        defaults: dict[int, int] = {}
        for row in rows:
            for k, item in enumerate(row.expressions):
                if k == auto_at:
                    if isinstance(item, exp.Literal) and item.this in ("0", 0) or _is_default(item):
                        row.set("expressions", exp.Null(), k)
                    elif isinstance(item, exp.Placeholder):
                        item.meta["autoinc"] = True
                elif _is_default(item):
                    defaults[k] = defaults.get(k, 0) + 1
        if not defaults:
            return
        if any(count != len(rows) for count in defaults.values()) or node.args.get("conflict") is not None:
            raise not_supported("DEFAULT in some VALUES rows only")
        keep = [k for k in range(len(names)) if k not in defaults]
        for row in rows:
            row.set("expressions", [row.expressions[k] for k in keep])
        table = node.this.this if isinstance(node.this, exp.Schema) else node.this
        node.set("this", exp.Schema(this=table, expressions=[exp.to_identifier(names[k]) for k in keep]))

    def _upsert(self, node: exp.Insert, source: exp.Expression, ref: str) -> None:
        """ON DUPLICATE KEY UPDATE -> ON CONFLICT DO UPDATE (no target: any unique key)."""
        conflict = node.args["conflict"]
        if not conflict.args.get("duplicate"):
            raise not_supported("ON CONFLICT")
        row_alias, alias_cols = None, {}
        if isinstance(source, exp.Values) and source.args.get("alias") is not None:
            alias = source.args["alias"]
            row_alias = alias.name.lower()
            names = [c.name for c in node.this.expressions] if isinstance(node.this, exp.Schema) else None
            for k, col in enumerate(alias.columns):
                alias_cols[col.name.lower()] = names[k] if names else col.name
            source.set("alias", None)
        for anon in list(conflict.find_all(exp.Anonymous)):
            if anon.name.upper() == "VALUES":
                anon.replace(exp.column(anon.expressions[0].name, table="excluded"))
        if row_alias is not None:
            for eq in conflict.expressions:
                for col in list(eq.expression.find_all(exp.Column)):
                    if col.table.lower() == row_alias:
                        new = exp.column(alias_cols.get(col.name.lower(), col.name), table="excluded")
                    elif not col.table and col.name.lower() in alias_cols:
                        new = exp.column(alias_cols[col.name.lower()], table="excluded")
                    else:
                        continue
                    if col is eq.expression:
                        eq.set("expression", new)
                    else:
                        col.replace(new)
        assignments = _sequential(conflict.expressions, ref)
        if isinstance(source, exp.Select | exp.SetOperation):
            # SQLite cannot tell `SELECT ... FROM t ON CONFLICT` from a join's ON without a WHERE.
            wrapped = exp.select("*").from_(exp.Subquery(this=source)).where(exp.true())
            node.set("expression", wrapped)
        node.set("conflict", exp.OnConflict(action=exp.var("DO UPDATE"), expressions=assignments))

    # -- UPDATE ----------------------------------------------------------------------------------

    def update(self, node: exp.Update) -> exp.Expression:
        target = node.this
        if node.args.get("from_") is not None or not isinstance(target, exp.Table):
            raise not_supported("this UPDATE form")
        if not target.args.get("joins"):
            self.resolve(target, written=True)
            node.set("expressions", _sequential(node.expressions, _ref_name(target)))
            return node
        return self._multi_update(node, target)

    def _multi_update(self, node: exp.Update, tree: exp.Table) -> exp.Expression:
        """UPDATE a JOIN b ... SET a.x = e -> UPDATE a SET x = j.v FROM (SELECT a.rowid, e ...) j."""
        tables = [tree] + [j.this for j in tree.args["joins"]]
        if not all(isinstance(t, exp.Table) for t in tables):
            raise not_supported("UPDATE joined with a derived table")
        by_ref = {_ref_name(t).lower(): t for t in tables}
        owners: set[str] = set()
        for eq in node.expressions:
            col = eq.this
            if col.table:
                owners.add(col.table.lower())
            else:
                having = [r for r, t in by_ref.items() if _has_column(self.resolver, t, col.name)]
                if len(having) != 1:
                    raise SqlError(ER_BAD_FIELD, f"Unknown or ambiguous column '{col.name}' in 'field list'")
                owners.add(having[0])
        if len(owners) != 1 or next(iter(owners)) not in by_ref:
            raise not_supported("multi-table UPDATE of several tables")
        ref = next(iter(owners))
        target = by_ref[ref]
        assignments = _sequential(node.expressions, _ref_name(target))
        rid = exp.Alias(
            this=exp.column("rowid", table=_ref_name(target)), alias=exp.to_identifier("_drlab_rid")
        )
        values = [
            exp.Alias(this=eq.expression, alias=exp.to_identifier(f"_drlab_v{i}"))
            for i, eq in enumerate(assignments)
        ]
        inner = exp.Select(expressions=[rid, *values])
        inner.set("from_", exp.From(this=tree))
        inner.set("where", node.args.get("where"))
        outer_target = exp.Table(
            this=target.this.copy(),
            db=target.args.get("db"),
            alias=exp.TableAlias(this=exp.to_identifier(_ref_name(target))),
        )
        self.resolve(outer_target, written=True)
        sets = [
            exp.EQ(this=exp.column(eq.this.name), expression=exp.column(f"_drlab_v{i}", table="_drlab_j"))
            for i, eq in enumerate(assignments)
        ]
        return exp.Update(
            this=outer_target,
            expressions=sets,
            from_=exp.From(
                this=exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_drlab_j")))
            ),
            where=exp.Where(
                this=exp.EQ(
                    this=exp.column("rowid", table=_ref_name(target)),
                    expression=exp.column("_drlab_rid", table="_drlab_j"),
                )
            ),
        )

    # -- DELETE ----------------------------------------------------------------------------------

    def delete(self, node: exp.Delete) -> exp.Expression:
        targets: list[exp.Expression] = node.args.get("tables") or []
        using = node.args.get("using")
        tree = node.this
        if not targets and not using:
            if not isinstance(tree, exp.Table) or tree.args.get("joins"):
                raise not_supported("this DELETE form")
            self.resolve(tree, written=True)
            return node
        if using:  # DELETE FROM a USING a JOIN b
            if len(using) != 1:
                raise not_supported("DELETE ... USING several table lists")
            targets, tree = [node.this], using[0]
        if len(targets) != 1:
            raise not_supported("multi-table DELETE from several tables")
        if node.args.get("order") is not None or node.args.get("limit") is not None:
            raise not_supported("multi-table DELETE with ORDER BY or LIMIT")
        wanted = targets[0].name.lower()
        tables = [tree] + [j.this for j in tree.args.get("joins") or []]
        match = [t for t in tables if isinstance(t, exp.Table) and _ref_name(t).lower() == wanted]
        if len(match) != 1:
            raise SqlError(ER_UNKNOWN_TABLE, f"Unknown table '{targets[0].name}' in MULTI DELETE", "42S02")
        target = match[0]
        inner = exp.Select(expressions=[exp.column("rowid", table=_ref_name(target))])
        inner.set("from_", exp.From(this=tree))
        inner.set("where", node.args.get("where"))
        outer = exp.Table(this=target.this.copy(), db=target.args.get("db"))
        self.resolve(outer, written=True)
        rowid_in = exp.In(this=exp.column("rowid"), query=exp.Subquery(this=inner))
        return exp.Delete(this=outer, where=exp.Where(this=rowid_in))


def _is_default(item: exp.Expression) -> bool:
    return isinstance(item, exp.Var) and item.name.upper() == "DEFAULT"


def _has_column(resolver: Resolver, table: exp.Table, column: str) -> bool:
    tdef = resolver.table(table.db or None, table.name)
    return any(c.name.lower() == column.lower() for c in tdef.columns)


def _volatile(node: exp.Expression) -> bool:
    """Whether inlining a copy of node could compute a different value than the original."""
    for sub in node.walk():
        if isinstance(sub, exp.Rand | exp.Uuid | exp.Subquery):
            return True
        if isinstance(sub, exp.Anonymous) and sub.name.lower() in (
            "sysdate",
            "uuid",
            "rand",
            "last_insert_id",
        ):
            return True
    return False


def _in_scope(column: exp.Column, top: exp.Expression) -> bool:
    """Whether column belongs to top's own scope rather than to a subquery inside it."""
    node: exp.Expr | None = column
    while node is not None and node is not top:
        if isinstance(node, exp.Query):
            return False
        node = node.parent
    return True


def _column(low: _Lowering, node: exp.Column) -> exp.Expression:
    """db.t.c -> t.c: the table reference carries its MySQL name as alias when needed."""
    if node.args.get("db") is not None:
        node.set("db", None)
        node.set("catalog", None)
    return node


def _sequential(assignments: list[exp.Expression], ref: str) -> list[exp.Expression]:
    """MySQL applies SET a = ..., b = f(a) left to right (b sees the new a); SQLite uses old values.

    Later right-hand sides get earlier assignments' expressions inlined; qualifiers are dropped
    from the assigned columns (SQLite's SET takes bare names).
    """
    ref = ref.lower()
    assigned: dict[str, exp.Expression] = {}
    out: list[exp.Expression] = []
    for eq in assignments:
        if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
            raise not_supported("this SET assignment")
        col = eq.this
        if col.table and col.table.lower() != ref:
            raise not_supported("assigning another table's column")
        rhs = eq.expression
        if assigned:
            for use in list(rhs.find_all(exp.Column)):
                prior = assigned.get(use.name.lower())
                if prior is not None and (not use.table or use.table.lower() == ref):
                    if not _in_scope(use, rhs):
                        raise not_supported("SET reading an earlier-assigned column inside a subquery")
                    if _volatile(prior):
                        raise not_supported("SET reusing a column assigned a non-deterministic value")
                    replacement = exp.Paren(this=prior.copy())
                    if use is rhs:
                        rhs = replacement
                    else:
                        use.replace(replacement)
        assigned[col.name.lower()] = rhs
        out.append(exp.EQ(this=exp.column(col.name), expression=rhs))
    return out


_STRUCTURE: dict[type, Handler] = {
    exp.Table: _Lowering.table,
    exp.Select: _Lowering.select,
    exp.Union: _Lowering.set_operation,
    exp.Except: _Lowering.set_operation,
    exp.Intersect: _Lowering.set_operation,
    exp.Column: _column,
}


def is_replace(stmt: exp.Expr) -> TypeGuard[exp.Command]:
    """sqlglot 30 parses MySQL's REPLACE into a raw exp.Command."""
    return isinstance(stmt, exp.Command) and stmt.name.upper() == "REPLACE"


def replace_as_insert(stmt: exp.Command) -> exp.Insert:
    """The INSERT tree a REPLACE command mirrors (its target and sources are then visible)."""
    text = stmt.expression.name if stmt.expression is not None else ""
    head = "INSERT " if text.upper().startswith("INTO") else "INSERT INTO "
    try:
        insert = sqlglot.parse_one(head + text, read="mysql")
    except sqlglot.errors.ParseError:
        raise parse_error(text) from None
    if not isinstance(insert, exp.Insert):
        raise parse_error(text)
    return insert


def _padded_columns(tables: list[exp.Table], resolver: Resolver) -> set[tuple[str, str]]:
    """The column references that name PAD SPACE text columns of ``tables``, as (qualifier, name)
    (qualifier '' for a bare name, when every table of the statement that has it pads spaces).
    Names that are not the tables' own (CTEs, derived tables, select aliases) are left out."""
    defs = _table_defs(tables, resolver)
    out: set[tuple[str, str]] = set()
    bare: dict[str, bool] = {}
    for alias, tdef in defs.items():
        for col in tdef.columns:
            name, pads = col.name.lower(), tdef.pads_spaces(col)
            if pads:
                out.add((alias, name))
            bare[name] = bare.get(name, True) and pads
    out.update(("", name) for name, pads in bare.items() if pads)
    return out


def _rename_alias(select: exp.Select, item: exp.Alias, name: str) -> None:
    """Rename a select-list alias, and the ORDER BY / HAVING references to it (they name the
    alias before any column, as in MySQL)."""
    old = item.alias.lower()
    item.set("alias", exp.Identifier(this=name, quoted=True))
    for key in ("order", "having"):
        clause = select.args.get(key)
        if clause is not None:
            for col in clause.find_all(exp.Column):
                if not col.table and col.name.lower() == old:
                    col.set("this", exp.Identifier(this=name, quoted=True))


def _table_defs(tables: list[exp.Table], resolver: Resolver) -> dict[str, TableDef]:
    defs: dict[str, TableDef] = {}
    for table in tables:
        if not table.name or not isinstance(table.this, exp.Identifier):
            continue
        try:
            defs[table.alias_or_name.lower()] = resolver.table(table.db or None, table.name)
        except SqlError:
            continue  # a CTE, DUAL or a missing table (reported by the resolution itself)
    return defs


def _decimal_columns(tables: list[exp.Table], resolver: Resolver) -> dict[tuple[str, str], int]:
    """The column references that name DECIMAL columns of ``tables`` with their scale, as
    (qualifier, name) like `_padded_columns` (a bare name when every table that has it agrees)."""
    out: dict[tuple[str, str], int] = {}
    bare: dict[str, int | None] = {}
    for alias, tdef in _table_defs(tables, resolver).items():
        for col in tdef.columns:
            name, scale = col.name.lower(), col.decimal_scale
            if scale is not None:
                out[(alias, name)] = scale
            bare[name] = scale if name not in bare or bare[name] == scale else None
    out.update((("", name), scale) for name, scale in bare.items() if scale is not None)
    return out


def _decimal_aggregate(low: _Lowering, node: exp.Sum | exp.Avg) -> exp.Expression:
    """SUM / AVG of a DECIMAL column are exact, as MySQL's (SQLite's add floats)."""
    scale = _aggregated_scale(low, node)
    if scale is None:
        return node
    name = "mysql_decsum" if isinstance(node, exp.Sum) else "mysql_decavg"
    return _fn(name, node.this, exp.Literal.number(scale))


def _aggregated_scale(low: _Lowering, node: exp.Expression) -> int | None:
    """The result scale of SUM / AVG / MIN / MAX over a DECIMAL column (AVG adds 4, as MySQL), else None."""
    if not isinstance(node, exp.Sum | exp.Avg | exp.Max | exp.Min) or not isinstance(node.this, exp.Column):
        return None
    scale = low.decimals.get(((node.this.table or "").lower(), node.this.name.lower()))
    if scale is None:
        return None
    return min(scale + (4 if isinstance(node, exp.Avg) else 0), 30)


def _pad_space(low: _Lowering, node: exp.Expression) -> exp.Expression:
    """MySQL compares character strings PAD SPACE: trailing spaces do not count ('a ' = 'a').
    SQLite counts them, so a comparison of a text column with a value becomes one that keeps the
    column's index and collation: for V = RTRIM(value), `c = V` holds when c lies in [V, V || '!')
    (every string that starts with V followed by nothing, blanks or control characters) and what
    follows V in c is only spaces. Two values (at least one a string literal) compare trimmed.
    Column-to-column comparisons (joins) are left as SQLite does them."""
    parent = node.parent
    if isinstance(parent, (exp.Update, exp.OnConflict)) or node.arg_key == "expressions":
        return node  # SET c = ... is an assignment
    left, right = node.this, node.expression
    op = type(node)
    if _padded(low, right) and not _refers(left):
        left, right, op = right, left, _FLIPPED[op]
    if _padded(low, left) and not _refers(right) and not _is_number(right):
        return _pad_compare(op, left, _fn("rtrim", right))
    if not _refers(left) and not _refers(right) and any(
        isinstance(x, exp.Literal) and x.is_string for x in (left, right)
    ):
        return op(this=_fn("rtrim", left), expression=_fn("rtrim", right))
    return node


def _is_number(node: exp.Expression) -> bool:
    """A numeric literal (or its negation): MySQL compares a string column with it as numbers."""
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and not node.is_string


def _padded(low: _Lowering, node: exp.Expression) -> bool:
    return isinstance(node, exp.Column) and ((node.table or "").lower(), node.name.lower()) in low.padded


def _refers(node: exp.Expression) -> bool:
    """Whether an operand reads a column or a subquery (it is not one value for the statement)."""
    return any(isinstance(n, (exp.Column, exp.Select)) for n in node.walk())


def _pad_compare(op: type[exp.Expression], col: exp.Column, value: exp.Expression) -> exp.Expression:
    if op in (exp.GTE, exp.LT):  # trailing spaces of the column only make it compare greater
        return op(this=col, expression=value)

    def equal() -> exp.Expression:
        tail = _fn("substr", col.copy(), exp.Add(this=_fn("length", value.copy()), expression=exp.Literal.number(1)))
        return exp.Paren(this=exp.and_(
            exp.GTE(this=col.copy(), expression=value.copy()),
            exp.LT(this=col.copy(), expression=exp.DPipe(this=value.copy(), expression=exp.Literal.string("!"))),
            exp.EQ(this=_fn("rtrim", tail), expression=exp.Literal.string("")),
        ))

    if op is exp.EQ:
        return equal()
    if op is exp.NEQ:
        return exp.Not(this=equal())
    if op is exp.GT:
        return exp.Paren(this=exp.and_(exp.GT(this=col.copy(), expression=value.copy()), exp.Not(this=equal())))
    return exp.Paren(this=exp.or_(exp.LTE(this=col.copy(), expression=value.copy()), equal()))  # LTE


_FLIPPED: dict[type[exp.Expression], type[exp.Expression]] = {
    exp.EQ: exp.EQ, exp.NEQ: exp.NEQ, exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE,
}
_HANDLERS.update({op: _pad_space for op in _FLIPPED})
_HANDLERS.update({exp.Sum: _decimal_aggregate, exp.Avg: _decimal_aggregate})

_BALANCE_OVER = 32  # AND / OR chains longer than this are rebalanced


def _prepare(stmt: exp.Expression, resolver: Resolver) -> tuple[set[tuple[str, str]], dict[tuple[str, str], int]]:
    """One pass over the (copied) statement before the rewrite: collapse nested parentheses,
    rebuild long AND / OR chains as balanced trees (in place), and return the PAD SPACE columns
    its comparisons may name (see `_padded_columns`) and the DECIMAL columns its SUM / AVG may
    name (see `_decimal_columns`).

    The parser nests `a OR b OR c ...` one level per term; a 1,000-term OR then overflows Python's
    recursion in the rewrite and SQLite's expression depth limit (1,000). Both operators are
    associative, so the result is the same; the depth becomes the logarithm of the length.
    ((((x)))) is (x): SQLite's parser stack holds about 100 levels."""
    roots: list[exp.Connector] = []
    tables: list[exp.Table] = []
    compares = aggregates = False
    for node in stmt.walk():
        if isinstance(node, exp.Paren):
            while isinstance(node.this, exp.Paren):
                node.set("this", node.this.this)
        elif isinstance(node, (exp.And, exp.Or)):
            if type(node.parent) is not type(node):
                roots.append(node)
        elif isinstance(node, exp.Table):
            tables.append(node)
        elif type(node) in _FLIPPED:
            compares = True
        elif isinstance(node, exp.Sum | exp.Avg | exp.Max | exp.Min):
            aggregates = True
    for root in roots:
        kind = type(root)
        operands: list[exp.Expr] = []
        stack: list[exp.Expr] = [root]
        while stack:
            node = stack.pop()
            if type(node) is kind:
                stack += [node.expression, node.this]
            else:
                operands.append(node)
        if len(operands) > _BALANCE_OVER:
            root.replace(_balanced(kind, operands).unnest())
    padded = _padded_columns(tables, resolver) if compares else set()
    return padded, (_decimal_columns(tables, resolver) if aggregates else {})


def _balanced(kind: type[exp.Connector], operands: list[exp.Expr]) -> exp.Expr:
    if len(operands) == 1:
        return operands[0]
    mid = len(operands) // 2
    # parenthesised, or SQLite's parser would nest the flat text `a OR b OR c ...` one level per term again
    return exp.Paren(this=kind(this=_balanced(kind, operands[:mid]), expression=_balanced(kind, operands[mid:])))


def lower(stmt: exp.Expression, resolver: Resolver) -> Lowered:
    """Lower one parsed MySQL statement to SQLite; `stmt` itself is left unchanged (callers cache
    parsed trees), the rewriting happens on a copy."""
    try:
        return _lower(stmt, resolver)
    except RecursionError:
        raise too_deep() from None


def _lower(stmt: exp.Expression, resolver: Resolver) -> Lowered:
    kind = "select"
    replace = False
    if is_replace(stmt):
        stmt = replace_as_insert(stmt)
        replace = True
    else:
        stmt = stmt.copy()
    _clamp_limits(stmt)
    _number_placeholders(stmt)
    low = _Lowering(resolver, stmt)
    low.padded, low.decimals = _prepare(stmt, resolver)
    upsert = False
    if isinstance(stmt, exp.Subquery) and not stmt.alias:
        inner = stmt.unnest()
        assert isinstance(inner, exp.Expression)
        stmt = low.root = inner
    if isinstance(stmt, exp.Select):
        low.name_columns(stmt)
        tree = low.walk(stmt)
    elif isinstance(stmt, exp.SetOperation):
        tree = low.walk(stmt)
    elif isinstance(stmt, exp.Insert):
        kind = "replace" if replace else "insert"
        if stmt.args.get("overwrite") or stmt.args.get("partition") or stmt.args.get("returning"):
            raise not_supported("this INSERT form")
        prepared, upsert = low.insert(stmt, replace)
        tree = low.walk(prepared)
    elif isinstance(stmt, exp.Update):
        kind = "update"
        tree = low.walk(low.update(stmt))
    elif isinstance(stmt, exp.Delete):
        kind = "delete"
        tree = low.walk(low.delete(stmt))
    else:
        raise not_supported(f"statement {stmt.key.upper()} in the DML lowering")
    gen = _Generator()
    try:
        sql = gen.generate(tree, copy=False)
    except UnsupportedError as e:
        raise not_supported(str(e).split("\n")[0]) from None
    return Lowered(
        sql=sql,
        params=gen.params,
        kind=kind,
        tables_read=list(dict.fromkeys(low.read)),
        tables_written=list(dict.fromkeys(low.written)),
        upsert=upsert,
        calc_found_rows=low.calc_found_rows,
        autoinc_params=gen.autoinc,
        locking=low.locking,
    )
