"""SingleStore pipeline statements (LOAD DATA FS from CSV files): grammar, typed commands, the
normalised SHOW CREATE PIPELINE text, the CSV reader and the INSERT a batch runs per row.

No I/O here: the server (``server/pipelines.py``) lists and reads files and runs the batches.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqlfront.errors import (
    ER_BAD_FIELD,
    ER_NOT_SUPPORTED_YET,
    ER_WARN_TOO_FEW_RECORDS,
    ER_WARN_TOO_MANY_RECORDS,
    ER_WRONG_FIELD_TERMINATORS,
    SqlError,
    parse_error,
)
from sqlfront.grammar import Parser, leading_words

DEFAULT_BATCH_INTERVAL = 2500  # ms, SingleStore's default
_SKIP_KINDS = ("all", "constraint", "duplicate key", "parser")


@dataclass
class PipelineConfig:
    """Everything CREATE PIPELINE says; stored as JSON with the pipeline (and replicated)."""

    name: str
    path: str
    table: str
    batch_interval: int = DEFAULT_BATCH_INTERVAL
    max_retries: int | None = None  # None: @@pipelines_max_retries_per_batch_partition
    stop_on_error: bool | None = None  # None: @@pipelines_stop_on_error
    dup_policy: str = ""  # "" | replace | ignore | skip all | skip constraint | skip duplicate key | skip parser
    fields_terminated_by: str = "\t"
    fields_enclosed_by: str = ""
    optionally_enclosed: bool = False
    fields_escaped_by: str = "\\"
    lines_terminated_by: str = "\n"
    lines_starting_by: str = ""
    ignore_lines: int = 0
    columns: list[str] = field(default_factory=list)  # column names, or @variables
    set_exprs: list[tuple[str, str]] = field(default_factory=list)  # (column, MySQL expression text)
    on_duplicate_key_update: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> PipelineConfig:
        d = json.loads(raw)
        d["set_exprs"] = [tuple(x) for x in d.get("set_exprs", [])]
        return cls(**d)

    def config_json(self, running: bool) -> str:
        """information_schema.PIPELINES.CONFIG_JSON, with the keys facts.md lists."""
        return json.dumps({
            "name": self.name, "source_type": "FS", "connection_string": self.path,
            "batch_interval": self.batch_interval, "transform": None,
            "dup_key_policy": self.dup_policy.upper() or None, "table": self.table,
            "fields_terminated_by": self.fields_terminated_by, "fields_enclosed_by": self.fields_enclosed_by,
            "fields_escaped_by": self.fields_escaped_by, "lines_terminated_by": self.lines_terminated_by,
            "lines_starting_by": self.lines_starting_by, "extended_null": False,
            "column_list": self.columns or None,
            "on_duplicate_key_update": self.on_duplicate_key_update or None, "running": running,
        })

    def show_create(self) -> str:
        """SHOW CREATE PIPELINE's text, normalised the way SingleStore prints it."""
        out = [f"CREATE PIPELINE {_q(self.name)}", f"AS LOAD DATA FS {_s(self.path)}",
               f"BATCH_INTERVAL {self.batch_interval}"]
        if self.max_retries is not None:
            out.append(f"MAX_RETRIES_PER_BATCH_PARTITION {self.max_retries}")
        if self.dup_policy:
            out.append(self.dup_policy.upper() + (" ERRORS" if self.dup_policy.startswith("skip") else ""))
        if self.stop_on_error is not None:
            out.append("STOP_ON_ERROR " + ("ON" if self.stop_on_error else "OFF"))
        out.append(f"INTO TABLE {_q(self.table)}")
        enclosed = ("OPTIONALLY " if self.optionally_enclosed else "") + f"ENCLOSED BY {_s(self.fields_enclosed_by)}"
        out.append(f"FIELDS TERMINATED BY {_s(self.fields_terminated_by)} {enclosed} ESCAPED BY {_s(self.fields_escaped_by)}")
        lines = f"LINES TERMINATED BY {_s(self.lines_terminated_by)} STARTING BY {_s(self.lines_starting_by)}"
        if self.ignore_lines:
            lines += f"\nIGNORE {self.ignore_lines} LINES"
        out.append(lines)
        if self.columns:
            out.append("(" + ",".join(c if c.startswith("@") else f"{_q(self.table)}.{_q(c)}" for c in self.columns) + ")")
        if self.set_exprs:
            out.append("SET " + ", ".join(f"{_q(c)} = {e}" for c, e in self.set_exprs))
        if self.on_duplicate_key_update:
            out.append("ON DUPLICATE KEY UPDATE " + self.on_duplicate_key_update)
        return "\n".join(out)


# -- commands ---------------------------------------------------------------------------------------
@dataclass
class CreatePipeline:
    config: PipelineConfig
    or_replace: bool = False
    if_not_exists: bool = False


@dataclass
class StartPipeline:
    name: str | None  # None: START ALL PIPELINES / START FAILED PIPELINES
    if_not_running: bool = False
    foreground: bool = False
    limit: int | None = None
    failed_only: bool = False


@dataclass
class StopPipeline:
    name: str | None  # None: STOP ALL PIPELINES
    if_running: bool = False


@dataclass
class DropPipeline:
    name: str
    if_exists: bool = False


@dataclass
class AlterPipeline:
    name: str
    drop_file: str | None = None
    batch_interval: int | None = None


@dataclass
class ShowPipelines:
    like: str | None = None


@dataclass
class ShowCreatePipeline:
    name: str


# -- grammar --------------------------------------------------------------------------------------
FIRST_WORDS = ("CREATE", "START", "STOP", "DROP", "ALTER", "SHOW")  # the words a pipeline statement starts with
_VAR = re.compile(r"@[A-Za-z0-9_$.]+")  # a column-list @variable, read raw: `.` and `$` are part of it
_OTHER_SOURCES = ("KAFKA", "S3", "AZURE", "HDFS", "GCS", "LINK", "MONGODB", "MYSQL")


# -- statements -------------------------------------------------------------------------------------
def parse_pipeline_statement(text: str) -> Any:
    """A pipeline command for ``text``, or None when the statement is not about pipelines."""
    words = leading_words(text, 5)
    if not words:
        return None
    if words[0] == "CREATE" and "PIPELINE" in words[1:4] and words[1] in ("OR", "PIPELINE", "AGGREGATOR"):
        return _create(text)
    if words[0] in ("START", "STOP") and len(words) > 1 and (
        words[1] == "PIPELINE" or words[1:3] in (("ALL", "PIPELINES"), ("FAILED", "PIPELINES"))
    ):
        return _start_stop(text)
    if words[0] in ("DROP", "ALTER") and len(words) > 1 and words[1] == "PIPELINE":
        return _drop_alter(text)
    if words[0] == "SHOW" and len(words) > 1 and (words[1] == "PIPELINES" or words[1:3] == ("CREATE", "PIPELINE")):
        return _show(text)
    return None


def _create(text: str) -> CreatePipeline:
    p = Parser(text)
    p.expect("CREATE")
    or_replace = p.accept("OR", "REPLACE")
    p.accept("AGGREGATOR")
    p.expect("PIPELINE")
    if_not_exists = p.accept("IF", "NOT", "EXISTS")
    name = p.identifier()
    p.expect("AS", "LOAD", "DATA")
    if not p.accept("FS"):
        source = p.accept_any(*_OTHER_SOURCES)
        if source is not None:
            raise SqlError(ER_NOT_SUPPORTED_YET, f"LOAD DATA {source} pipelines are not supported by drlab; use LOAD DATA FS 'path'",
                           "42000")
        raise p.error()
    cfg = PipelineConfig(name=name, path=p.string(), table="")
    if p.accept("CONFIG"):
        p.string()  # FS CONFIG JSON: accepted, nothing in it applies to a local file system
    while True:
        if p.accept("BATCH_INTERVAL"):
            cfg.batch_interval = p.number()
        elif p.accept("MAX_PARTITIONS_PER_BATCH") or p.accept("MAX_OFFSETS_PER_BATCH_PARTITION"):
            p.number()
        elif p.accept("MAX_RETRIES_PER_BATCH_PARTITION"):
            cfg.max_retries = p.number()
        elif p.accept("STOP_ON_ERROR"):
            if p.accept("ON"):
                cfg.stop_on_error = True
            elif p.accept("OFF"):
                cfg.stop_on_error = False
            else:
                raise p.error()
        elif p.accept("REPLACE"):
            cfg.dup_policy = "replace"
        elif p.accept("IGNORE"):
            cfg.dup_policy = "ignore"
        elif p.accept("SKIP"):
            for kind in _SKIP_KINDS:
                if p.accept(*kind.upper().split()):
                    cfg.dup_policy = "skip " + kind
                    break
            else:
                raise p.error()
            p.expect("ERRORS")
        else:
            break
    p.expect("INTO", "TABLE")
    cfg.table = p.identifier()
    _csv_options(p, cfg)
    if p.accept_punct("("):
        cfg.columns = p.comma_list(lambda: _column(p))
        p.expect_punct(")")
    if p.accept("SET"):
        cfg.set_exprs = _set_list(p)
    if p.accept("ON", "DUPLICATE", "KEY", "UPDATE"):
        if p.at_end():
            raise p.error()
        cfg.on_duplicate_key_update = text[p.pos():].strip().rstrip(";").strip()
        _check_sql("INSERT INTO t(a) VALUES (1) ON DUPLICATE KEY UPDATE " + cfg.on_duplicate_key_update, cfg.on_duplicate_key_update)
        p.i = len(p.toks)
    p.end()
    for _col, expr in cfg.set_exprs:
        _check_sql("SELECT " + expr, expr)
    return CreatePipeline(cfg, or_replace, if_not_exists)


_CSV_CLAUSES: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "FIELDS": [(("TERMINATED", "BY"), "fields_terminated_by"), (("OPTIONALLY", "ENCLOSED", "BY"), "optionally"),
               (("ENCLOSED", "BY"), "fields_enclosed_by"), (("ESCAPED", "BY"), "fields_escaped_by")],
    "LINES": [(("TERMINATED", "BY"), "lines_terminated_by"), (("STARTING", "BY"), "lines_starting_by")],
}
_CSV_CLAUSES["COLUMNS"] = _CSV_CLAUSES["FIELDS"]


def _column(p: Parser) -> str:
    """A column-list entry: an @variable, a column, or `t`.`col` as SHOW CREATE PIPELINE prints it."""
    var = p.raw(_VAR)
    if var is not None:
        return var
    col = p.identifier()
    if p.accept_punct("."):
        col = p.identifier()
    return col


def _csv_options(p: Parser, cfg: PipelineConfig) -> None:
    p.accept("FORMAT", "CSV")
    while True:
        clause = p.accept_any(*_CSV_CLAUSES)
        if clause is not None:
            while True:
                words, attr = next(((w, a) for w, a in _CSV_CLAUSES[clause] if p.accept(*w)), ((), ""))
                if not words:
                    break
                if attr == "optionally":
                    cfg.fields_enclosed_by, cfg.optionally_enclosed = p.string(), True
                else:
                    setattr(cfg, attr, p.string())
        elif p.accept("IGNORE"):
            cfg.ignore_lines = p.number()
            if not (p.accept("LINES") or p.accept("ROWS")):
                raise p.error()
        else:
            break
    if not cfg.fields_terminated_by or not cfg.lines_terminated_by:
        raise SqlError(ER_WRONG_FIELD_TERMINATORS, "Field separator argument is not what is expected; check the manual", "42000")
    if len(cfg.fields_enclosed_by) > 1 or len(cfg.fields_escaped_by) > 1:
        raise SqlError(ER_WRONG_FIELD_TERMINATORS, "ENCLOSED BY and ESCAPED BY take one character", "42000")


def _set_list(p: Parser) -> list[tuple[str, str]]:
    out = []
    while True:
        col = p.identifier()
        p.expect_punct("=")
        if p.at_end():
            raise p.error()
        depth, start = 0, p.pos()
        end = len(p.text)
        while True:
            t = p.peek()
            if t is None:
                break
            if p.at_punct("("):
                depth += 1
            elif p.at_punct(")"):
                depth -= 1
            elif depth == 0 and (p.at_punct(",") or p.at_punct(";") or p.at("ON", "DUPLICATE", "KEY", "UPDATE")
                                 or p.at("WHERE")):
                end = t.start
                break
            p.i += 1
        expr = p.text[start:end].strip()
        if not expr:
            raise p.error()
        out.append((col, expr))
        if not p.accept_punct(","):
            return out


def _check_sql(sql: str, near: str) -> None:
    try:
        sqlglot.parse_one(sql, read="mysql")
    except (ParseError, TokenError):
        raise parse_error(near) from None


def _start_stop(text: str) -> Any:
    p = Parser(text)
    if p.accept("START"):
        if p.accept("ALL", "PIPELINES") or p.accept("FAILED", "PIPELINES"):
            failed = p.toks[1].keyword() == "FAILED"
            p.end()
            return StartPipeline(None, if_not_running=True, failed_only=failed)
        p.expect("PIPELINE")
        cmd = StartPipeline(None, if_not_running=p.accept("IF", "NOT", "RUNNING"))
        cmd.name = p.identifier()
        if p.accept("FOREGROUND"):
            cmd.foreground = True
            if p.accept("LIMIT"):
                cmd.limit = p.number()
                p.expect("BATCHES")
        p.end()
        return cmd
    p.expect("STOP")
    if p.accept("ALL", "PIPELINES"):
        p.end()
        return StopPipeline(None, if_running=True)
    p.expect("PIPELINE")
    stop = StopPipeline(None, if_running=p.accept("IF", "RUNNING"))
    stop.name = p.identifier()
    p.accept("DETACH")
    p.end()
    return stop


def _drop_alter(text: str) -> Any:
    p = Parser(text)
    if p.accept("DROP"):
        p.expect("PIPELINE")
        if_exists = p.accept("IF", "EXISTS")
        cmd = DropPipeline(p.identifier(), if_exists)
        p.end()
        return cmd
    p.expect("ALTER", "PIPELINE")
    alter = AlterPipeline(p.identifier())
    while not p.at_end():
        if p.accept("DROP", "FILE"):
            alter.drop_file = p.string()
        elif p.accept("SET", "BATCH_INTERVAL"):
            alter.batch_interval = p.number()
        else:
            raise p.error()
    p.end()
    if alter.drop_file is None and alter.batch_interval is None:
        raise p.error()
    return alter


def _show(text: str) -> Any:
    p = Parser(text)
    p.expect("SHOW")
    if p.accept("CREATE", "PIPELINE"):
        cmd: Any = ShowCreatePipeline(p.identifier())
        p.accept("EXTENDED")
    else:
        p.expect("PIPELINES")
        cmd = ShowPipelines()
        if p.accept("LIKE"):
            cmd.like = p.string()
    p.end()
    return cmd


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _s(value: str) -> str:
    out = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return "'" + out + "'"


# -- CSV ----------------------------------------------------------------------------------------------
class CsvError(Exception):
    """A row the parser cannot map to the column list (MySQL's 1261/1262)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


NULL = object()  # \N: SQL NULL
_ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "Z": "\x1a"}  # what an escape character means in a field


def split_csv(data: str, cfg: PipelineConfig) -> list[tuple[int, str, list[Any]]]:
    """Split a file's text into (line number, raw line, fields), MySQL LOAD DATA's way.

    Fields are strings, or ``NULL`` for ``\\N`` (unenclosed) when an escape character is set."""
    term, enc, esc = cfg.lines_terminated_by, cfg.fields_enclosed_by, cfg.fields_escaped_by
    sep, start = cfg.fields_terminated_by, cfg.lines_starting_by
    rows: list[tuple[int, str, list[Any]]] = []
    i, n, line_no = 0, len(data), 0
    while i < n:
        line_no += 1
        line_start = i
        if start:
            k = data.find(start, i)
            if k < 0:
                break
            nl = data.find(term, i)
            if nl >= 0 and nl < k:  # a line without the prefix is skipped
                i = nl + len(term)
                continue
            i = k + len(start)
        fields: list[Any] = []
        while True:
            value, i, enclosed = _field(data, i, sep, term, enc, esc)
            if not enclosed and esc and value == esc + "N":
                fields.append(NULL)
            else:
                fields.append(_unescape(value, esc) if esc and not enclosed else value)
            if data.startswith(sep, i):
                i += len(sep)
                continue
            if data.startswith(term, i):
                i += len(term)
            break
        raw = data[line_start:i]
        if line_no > cfg.ignore_lines and not (fields == [""] and raw in ("", term)):
            rows.append((line_no, raw.rstrip(term) if raw.endswith(term) else raw, fields))
    return rows


def _field(data: str, i: int, sep: str, term: str, enc: str, esc: str) -> tuple[str, int, bool]:
    n = len(data)
    if enc and i < n and data[i] == enc:
        j, out = i + 1, []
        while j < n:
            c = data[j]
            if esc and c == esc and j + 1 < n:
                out.append(_ESC.get(data[j + 1], data[j + 1]))
                j += 2
                continue
            if c == enc:
                if data.startswith(enc, j + 1):  # "" inside an enclosed field
                    out.append(enc)
                    j += 2
                    continue
                if j + 1 >= n or data.startswith(sep, j + 1) or data.startswith(term, j + 1):
                    return "".join(out), j + 1, True
            out.append(c)
            j += 1
        return "".join(out), n, True
    j = i
    while j < n:
        if esc and data[j] == esc and j + 1 < n:
            j += 2
            continue
        if data.startswith(sep, j) or data.startswith(term, j):
            break
        j += 1
    return data[i:j], j, False


def _unescape(value: str, esc: str) -> str:
    if esc not in value:
        return value
    return re.sub(re.escape(esc) + "(.)", lambda m: _ESC.get(m.group(1), m.group(1)), value, flags=re.S)


# -- the INSERT a batch runs ---------------------------------------------------------------------------
@dataclass
class RowInsert:
    """One parameterised INSERT per row: ``sql`` with ``?`` placeholders, bound from fields."""

    sql: str
    sources: list[int]  # placeholder -> index in the row's fields
    nfields: int  # fields a line must have


_MARK = "__drlab_field_{}__"


def row_insert(cfg: PipelineConfig, table_columns: list[str]) -> RowInsert:
    """Build the row INSERT for ``cfg`` against a table with ``table_columns`` (its column names)."""
    columns = cfg.columns or list(table_columns)
    known = {c.lower(): c for c in table_columns}
    direct: list[tuple[str, int]] = []
    variables: dict[str, int] = {}
    for idx, c in enumerate(columns):
        if c.startswith("@"):
            variables[c[1:].lower()] = idx
        elif c.lower() not in known:
            raise SqlError(ER_BAD_FIELD, f"Unknown column '{c}' in 'field list' of pipeline '{cfg.name}'", "42S22")
        else:
            direct.append((known[c.lower()], idx))
    names = [c for c, _ in direct]
    values = [f"'{_MARK.format(idx)}'" for _, idx in direct]
    for col, expr in cfg.set_exprs:
        if col.lower() not in known:
            raise SqlError(ER_BAD_FIELD, f"Unknown column '{col}' in SET of pipeline '{cfg.name}'", "42S22")
        names.append(known[col.lower()])
        values.append(_bind_vars(expr, variables))
    verb = {"replace": "REPLACE", "ignore": "INSERT IGNORE"}.get(cfg.dup_policy, "INSERT")
    sql = (f"{verb} INTO {_q(cfg.table)} (" + ", ".join(_q(c) for c in names) + ") VALUES ("
           + ", ".join(values) + ")")
    if cfg.on_duplicate_key_update:
        sql += " ON DUPLICATE KEY UPDATE " + _bind_vars(cfg.on_duplicate_key_update, variables, update=True)
    sources = [int(m.group(1)) for m in re.finditer(r"'__drlab_field_(\d+)__'", sql)]
    sql = re.sub(r"'__drlab_field_\d+__'", "?", sql)
    return RowInsert(sql, sources, len(columns))


def _bind_vars(expr: str, variables: dict[str, int], update: bool = False) -> str:
    """Replace @variables in an expression by field markers (bound per row)."""
    try:
        tree = sqlglot.parse_one(("UPDATE t SET " if update else "SELECT ") + expr, read="mysql")
    except (ParseError, TokenError):
        raise parse_error(expr) from None

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Parameter):
            name = node.name.lower()
            if name not in variables:
                raise SqlError(ER_BAD_FIELD, f"Unknown variable '@{node.name}' in pipeline expression: name it in the column list",
                               "42S22")
            return exp.Literal.string(_MARK.format(variables[name]))
        return node

    tree = tree.transform(swap)
    sql = tree.sql(dialect="mysql")
    return sql[len("UPDATE t SET "):] if update else sql[len("SELECT "):]


def bind_row(ins: RowInsert, fields: list[Any]) -> list[Any]:
    """Parameters of the row INSERT for one line; raises CsvError when the line has too few or too
    many fields."""
    if len(fields) < ins.nfields:
        raise CsvError(ER_WARN_TOO_FEW_RECORDS, f"Row doesn't contain data for all columns (expected {ins.nfields} fields, got {len(fields)})")
    if len(fields) > ins.nfields:
        raise CsvError(ER_WARN_TOO_MANY_RECORDS, f"Row was truncated; it contained more data than there were input columns "
                             f"({len(fields)} fields, expected {ins.nfields})")
    return [None if fields[i] is NULL else fields[i] for i in ins.sources]


__all__ = [
    "PipelineConfig", "CreatePipeline", "StartPipeline", "StopPipeline", "DropPipeline", "AlterPipeline",
    "ShowPipelines", "ShowCreatePipeline", "parse_pipeline_statement", "split_csv", "row_insert", "bind_row",
    "CsvError", "NULL", "RowInsert",
]
