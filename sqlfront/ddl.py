"""The MySQL table model (what the catalogue stores) and its lowering to SQLite.

A `TableDef` is built from a parsed MySQL CREATE TABLE, changed by ALTER TABLE / CREATE INDEX /
DROP INDEX, printed back as MySQL 5.7's SHOW CREATE TABLE, and lowered to SQLite statements whose
declared types, collations, CHECK constraints and triggers make SQLite behave like InnoDB for the
things the storage layer cannot patch afterwards (id reuse, case-insensitive keys, ENUM domains).

Semantics follow MySQL 5.7 with explicit_defaults_for_timestamp=ON (no implicit TIMESTAMP magic).
FOREIGN KEY constraints are recorded and shown but not enforced; inline column REFERENCES is
ignored, exactly as MySQL ignores it. Anything recognised but not modelled raises `not_supported`
rather than producing a table that silently differs from MySQL's.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlglot
from sqlglot import exp

from sqlfront.errors import (
    ER_BAD_FIELD,
    ER_BLOB_CANT_HAVE_DEFAULT,
    ER_BLOB_KEY_WITHOUT_LENGTH,
    ER_CANT_DROP_FIELD_OR_KEY,
    ER_CANT_REMOVE_ALL_FIELDS,
    ER_CHECK_CONSTRAINT_DUP_NAME,
    ER_DROP_INDEX_FK,
    ER_DUP_FIELDNAME,
    ER_DUP_KEYNAME,
    ER_FK_COLUMN_CANNOT_DROP,
    ER_INVALID_DEFAULT,
    ER_INVALID_ON_UPDATE,
    ER_JSON_USED_AS_KEY,
    ER_KEY_COLUMN_DOES_NOT_EXIST,
    ER_KEY_DOES_NOT_EXIST,
    ER_MULTIPLE_PRI_KEY,
    ER_PARSE,
    ER_WRONG_AUTO_KEY,
    ER_WRONG_NAME_FOR_INDEX,
    SqlError,
    not_supported,
    parse_error,
)

# MySQL codes used only here (server error reference).

# MySQL 5.7 display widths: (signed, unsigned).
_INT_WIDTHS = {
    "tinyint": (4, 3),
    "smallint": (6, 5),
    "mediumint": (9, 8),
    "int": (11, 10),
    "bigint": (20, 20),
}
_TEXTS = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"}
_BINARIES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
_LOBS = {"tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob"}
_TEMPORAL_NOW = {"datetime", "timestamp"}

_DTYPE_NAMES: dict[str, str] = {
    "TINYINT": "tinyint", "SMALLINT": "smallint", "MEDIUMINT": "mediumint", "INT": "int",
    "BIGINT": "bigint", "DECIMAL": "decimal", "FLOAT": "float", "DOUBLE": "double",
    "CHAR": "char", "NCHAR": "char", "VARCHAR": "varchar", "NVARCHAR": "varchar",
    "TINYTEXT": "tinytext", "TEXT": "text", "MEDIUMTEXT": "mediumtext", "LONGTEXT": "longtext",
    "BINARY": "binary", "VARBINARY": "varbinary", "TINYBLOB": "tinyblob", "BLOB": "blob",
    "MEDIUMBLOB": "mediumblob", "LONGBLOB": "longblob", "JSON": "json", "DATE": "date",
    "TIME": "time", "DATETIME": "datetime", "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamp",
    "YEAR": "year", "ENUM": "enum", "SET": "set", "BIT": "bit",
}  # fmt: skip

# Table options with no observable effect on an emulator: accepted and forgotten.
_IGNORED_OPTIONS = {
    "KEY_BLOCK_SIZE", "STATS_PERSISTENT", "STATS_AUTO_RECALC", "STATS_SAMPLE_PAGES", "PACK_KEYS",
    "MAX_ROWS", "MIN_ROWS", "AVG_ROW_LENGTH", "DELAY_KEY_WRITE", "COMPRESSION", "INSERT_METHOD",
    "AUTOSTATS_ENABLED", "AUTOSTATS_CARDINALITY_MODE", "AUTOSTATS_HISTOGRAM_MODE",
    "AUTOSTATS_SAMPLING",
}  # fmt: skip

_STORAGE_RE = re.compile(
    r"^\s*CREATE\s+(ROWSTORE|COLUMNSTORE|REFERENCE)\s+(?=(?:TEMPORARY\s+)?TABLE\b)", re.I
)
_VERSIONED_RE = re.compile(r"/\*!(\d{5,6})?(.*?)\*/", re.S)
_TYPE_RE = re.compile(r"^(\w+)(?:\((.*)\))?((?: \w+)*)$", re.S)
_QUOTED_RE = re.compile(r"'((?:[^'\\]|''|\\.)*)'", re.S)
_MYSQL_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "b": "\b"}


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    on_update_now: bool = False
    auto_increment: bool = False
    charset: str | None = None
    collation: str | None = None
    comment: str | None = None

    @property
    def base(self) -> str:
        """The type keyword without parameters: 'varchar' for 'varchar(255)'."""
        return _split_type(self.type)[0]

    @property
    def decimal_scale(self) -> int | None:
        """The scale of a DECIMAL column (2 for 'decimal(10,2)'), None for any other type."""
        base, params, _ = _split_type(self.type)
        if base != "decimal":
            return None
        return int(params[1]) if len(params) > 1 else 0


@dataclass
class Index:
    name: str
    columns: list[str]
    unique: bool = False
    primary: bool = False
    lengths: list[int | None] = field(default_factory=list)  # prefix lengths (`c`(10)); [] = none


@dataclass
class ForeignKey:
    """Recorded and shown by SHOW CREATE TABLE; drlab does not enforce it."""

    name: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    on_delete: str | None = None  # "CASCADE", "SET NULL", ...
    on_update: str | None = None


@dataclass
class Check:
    """A CHECK constraint: SQLite enforces it on every write (as MySQL 8.0.16+ does, error 3819)."""

    name: str
    expr: str  # MySQL text, as SHOW CREATE TABLE shows it

    def sqlite(self) -> str:
        return f"CONSTRAINT {_q(self.name)} CHECK ({sqlglot.parse_one(self.expr, read='mysql').sql('sqlite')})"


@dataclass
class TableDef:
    name: str
    columns: list[Column]
    indexes: list[Index]
    engine: str = "InnoDB"
    charset: str = "utf8mb4"
    collation: str | None = None
    comment: str | None = None
    auto_increment: int | None = None
    storage: str | None = None
    shard_key: list[str] | None = None
    sort_key: list[str] | None = None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    # -- catalogue ---------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> TableDef:
        d = json.loads(s)
        d["columns"] = [Column(**c) for c in d["columns"]]
        d["indexes"] = [Index(**i) for i in d["indexes"]]
        d["foreign_keys"] = [ForeignKey(**f) for f in d.get("foreign_keys", [])]
        d["checks"] = [Check(**c) for c in d.get("checks", [])]
        return cls(**d)

    def column(self, name: str) -> Column:
        col = self._find_column(name)
        if col is None:
            raise SqlError(ER_BAD_FIELD, f"Unknown column '{name}' in 'field list'")
        return col

    def auto_increment_column(self) -> Column | None:
        return next((c for c in self.columns if c.auto_increment), None)

    def unique_keys(self) -> list[list[str]]:
        keys = [i for i in self.indexes if i.unique]
        keys.sort(key=lambda i: not i.primary)
        return [list(i.columns) for i in keys]

    def primary_key(self) -> Index | None:
        return next((i for i in self.indexes if i.primary), None)

    def rowid_column(self) -> Column | None:
        """The column SQLite stores as the rowid (INTEGER PRIMARY KEY), if any.

        That is a single-column integer primary key, or, in a table without a primary key, an
        AUTO_INCREMENT column with its own unique key (SERIAL): both are NOT NULL and unique, so
        making them the rowid changes nothing MySQL-visible and gives AUTOINCREMENT semantics.
        """
        pk = self.primary_key()
        if pk is not None:
            if len(pk.columns) == 1 and not pk.lengths:
                col = self.column(pk.columns[0])
                if col.base in _INT_WIDTHS:
                    return col
            return None
        ai = self.auto_increment_column()
        if ai is not None and any(
            i.unique and len(i.columns) == 1 and _same(i.columns[0], ai.name) and not i.lengths
            for i in self.indexes
        ):
            return ai
        return None

    # -- SQLite lowering ---------------------------------------------------------------------

    def sqlite_create(self, physical: str) -> list[str]:
        return [
            self._sqlite_table(physical),
            *self._sqlite_sequence(physical),
            *self._sqlite_indexes(physical),
        ]

    def sqlite_triggers(self, physical: str) -> list[str]:
        """Emulate ON UPDATE CURRENT_TIMESTAMP: set the column when a row really changed.

        MySQL bumps the column only if some other column changed and the statement did not set
        the column itself; replication apply (drlab_applying() = 1) copies the source's value.
        """
        out = []
        auto = {c.name.lower() for c in self.columns if c.on_update_now}
        for col in self.columns:
            if not col.on_update_now:
                continue
            others = [c for c in self.columns if c.name.lower() not in auto]
            if not others:
                continue
            changed = " OR ".join(
                f"NEW.{_q(c.name)} IS NOT OLD.{_q(c.name)}" + (" COLLATE BINARY" if c.base in _TEXTS else "")
                for c in others
            )
            out.append(
                f"CREATE TRIGGER {_q(physical + '__onupd_' + col.name)} AFTER UPDATE ON {_q(physical)} "
                f"FOR EACH ROW WHEN drlab_applying() = 0 AND NEW.{_q(col.name)} IS OLD.{_q(col.name)} "
                f"AND ({changed}) BEGIN UPDATE {_q(physical)} SET {_q(col.name)} = drlab_now() "
                f"WHERE rowid = NEW.rowid; END"
            )
        return out

    def _sqlite_table(self, physical: str) -> str:
        rowid_col = self.rowid_column()
        parts = [self._sqlite_column(c, c is rowid_col) for c in self.columns]
        pk = self.primary_key()
        if pk is not None and rowid_col is None:
            parts.append(f"PRIMARY KEY({', '.join(_q(c) for c in pk.columns)})")
        parts += [check.sqlite() for check in self.checks]
        return f"CREATE TABLE {_q(physical)}({', '.join(parts)})"

    def _sqlite_column(self, col: Column, is_rowid: bool) -> str:
        base, params, _ = _split_type(col.type)
        parts = [_q(col.name), _sqlite_type(col.type)]
        if is_rowid:
            parts.append("PRIMARY KEY AUTOINCREMENT" if col.auto_increment else "PRIMARY KEY")
        if not col.nullable:
            parts.append("NOT NULL")
        if self._nocase(col):
            parts.append("COLLATE NOCASE")
        if col.default is not None and not col.auto_increment:
            parts.append(f"DEFAULT {_sqlite_default(col)}")
        if base == "enum":
            values = ", ".join(_sqlite_str(v) for v in _enum_values(col.type))
            parts.append(f"CONSTRAINT {_q('drlab_enum_' + col.name)} CHECK ({_q(col.name)} IN ({values}))")
        elif base in ("char", "varchar", "binary", "varbinary"):
            parts.append(
                f"CONSTRAINT {_q('drlab_len_' + col.name)} CHECK (length({_q(col.name)}) <= {params[0]})"
            )
        return " ".join(parts)

    def _sqlite_sequence(self, physical: str) -> list[str]:
        """AUTO_INCREMENT=N: seed sqlite_sequence so the next id is N."""
        rowid_col = self.rowid_column()
        if self.auto_increment is None or rowid_col is None or not rowid_col.auto_increment:
            return []
        return [
            f"INSERT INTO sqlite_sequence(name, seq) VALUES ({_sqlite_str(physical)}, {self.auto_increment - 1})"
        ]

    def _sqlite_indexes(self, physical: str) -> list[str]:
        out = []
        for idx in self.indexes:
            if idx.primary:
                continue
            cols = []
            for i, name in enumerate(idx.columns):
                length = idx.lengths[i] if idx.lengths else None
                if length is not None and idx.unique:
                    # A unique prefix key constrains only the prefix.
                    coll = " COLLATE NOCASE" if self._nocase(self.column(name)) else ""
                    cols.append(f"substr({_q(name)}, 1, {length}){coll}")
                else:
                    cols.append(_q(name))
            unique = "UNIQUE " if idx.unique else ""
            out.append(
                f"CREATE {unique}INDEX {_q(physical + '__' + idx.name)} ON {_q(physical)}({', '.join(cols)})"
            )
        return out

    def pads_spaces(self, col: Column) -> bool:
        """Whether comparisons of the column ignore trailing spaces: MySQL's character collations
        are PAD SPACE ('a ' = 'a'); binary strings and numbers are not."""
        return col.base in _TEXTS and (col.charset or self.charset).lower() != "binary"

    def _nocase(self, col: Column) -> bool:
        """MySQL's default collations are case-insensitive; _bin/_cs ones and BINARY are not."""
        if col.base not in _TEXTS:
            return False
        coll = col.collation or (None if col.charset else self.collation)
        if (col.charset or self.charset).lower() == "binary":
            return False
        return not (coll and coll.lower().endswith(("_bin", "_cs")))

    # -- SHOW CREATE TABLE -------------------------------------------------------------------

    def show_create(self) -> str:
        lines = [f"  {self._show_column(c)}" for c in self.columns]
        for idx in self.indexes:
            cols = ",".join(
                _bq(c) + (f"({idx.lengths[i]})" if idx.lengths and idx.lengths[i] is not None else "")
                for i, c in enumerate(idx.columns)
            )
            if idx.primary:
                lines.append(f"  PRIMARY KEY ({cols})")
            else:
                lines.append(f"  {'UNIQUE ' if idx.unique else ''}KEY {_bq(idx.name)} ({cols})")
        if self.shard_key is not None:
            lines.append(f"  SHARD KEY ({','.join(_bq(c) for c in self.shard_key)})")
        if self.sort_key is not None:
            lines.append(f"  SORT KEY ({','.join(_bq(c) for c in self.sort_key)})")
        for fk in self.foreign_keys:
            line = (
                f"  CONSTRAINT {_bq(fk.name)} FOREIGN KEY ({','.join(_bq(c) for c in fk.columns)}) "
                f"REFERENCES {_bq(fk.ref_table)} ({','.join(_bq(c) for c in fk.ref_columns)})"
            )
            line += f" ON DELETE {fk.on_delete}" if fk.on_delete else ""
            line += f" ON UPDATE {fk.on_update}" if fk.on_update else ""
            lines.append(line)
        for check in self.checks:
            lines.append(f"  CONSTRAINT {_bq(check.name)} CHECK ({check.expr})")
        opts = [f"ENGINE={self.engine}"]
        if self.auto_increment is not None:
            opts.append(f"AUTO_INCREMENT={self.auto_increment}")
        opts.append(f"DEFAULT CHARSET={self.charset}")
        if self.collation:
            opts.append(f"COLLATE={self.collation}")
        if self.comment is not None:
            opts.append(f"COMMENT={_quote(self.comment)}")
        kind = f"{self.storage} TABLE" if self.storage else "TABLE"
        return f"CREATE {kind} {_bq(self.name)} (\n" + ",\n".join(lines) + "\n) " + " ".join(opts)

    def _show_column(self, col: Column) -> str:
        parts = [_bq(col.name), col.type]
        if col.charset:
            parts.append(f"CHARACTER SET {col.charset}")
        if col.collation:
            parts.append(f"COLLATE {col.collation}")
        if not col.nullable:
            parts.append("NOT NULL")
        elif col.base == "timestamp":
            parts.append("NULL")
        if col.default is not None:
            parts.append(f"DEFAULT {col.default}")
        if col.on_update_now:
            parts.append(f"ON UPDATE {_now_text(col.type)}")
        if col.auto_increment:
            parts.append("AUTO_INCREMENT")
        if col.comment is not None:
            parts.append(f"COMMENT {_quote(col.comment)}")
        return " ".join(parts)

    # -- helpers -----------------------------------------------------------------------------

    def _find_column(self, name: str) -> Column | None:
        return next((c for c in self.columns if _same(c.name, name)), None)

    def _find_index(self, name: str) -> Index | None:
        return next((i for i in self.indexes if _same(i.name, name)), None)


# ---------------------------------------------------------------------------------------------
# Building definitions from sqlglot trees
# ---------------------------------------------------------------------------------------------


def parse_create_table(sql: str) -> exp.Expression:
    """Parse a CREATE statement the way MySQL/SingleStore read it, where sqlglot alone does not.

    Executable comments (/*! ... */, /*!50100 ... */) are expanded as MySQL 5.7 does, and the
    SingleStore ROWSTORE/COLUMNSTORE/REFERENCE keyword (which sqlglot cannot parse) is removed
    and recorded in the tree's meta for `table_from_create`.
    """
    sql = _VERSIONED_RE.sub(lambda m: f" {m.group(2)} " if _runs_versioned(m.group(1)) else " ", sql)
    storage = None
    m = _STORAGE_RE.match(sql)
    if m:
        storage = m.group(1).upper()
        sql = sql[: m.start(1)] + sql[m.end(1) :]
    stmt = sqlglot.parse_one(sql, read="mysql")
    assert isinstance(stmt, exp.Expression)
    if storage:
        stmt.meta["drlab_storage"] = storage
    return stmt


def table_from_create(stmt: exp.Create) -> TableDef:
    schema = stmt.this
    if stmt.args.get("expression") is not None:
        raise not_supported("CREATE TABLE ... SELECT")
    if str(stmt.args.get("kind")).upper() != "TABLE" or not isinstance(schema, exp.Schema):
        raise not_supported("this form of CREATE TABLE")
    table = TableDef(name=schema.this.name, columns=[], indexes=[])
    props = stmt.args.get("properties")
    for prop in props.expressions if props else []:
        if not isinstance(prop, exp.TemporaryProperty | exp.LikeProperty):
            _apply_option(table, prop)
    for comment in [*(stmt.comments or []), *(schema.comments or [])]:
        for prop in _versioned_options(comment):
            _apply_option(table, prop)
    storage = stmt.meta.get("drlab_storage")
    if storage is None and stmt.args.get("clustered") is not None:
        storage = "COLUMNSTORE"  # sqlglot reads COLUMNSTORE as T-SQL's [NON]CLUSTERED COLUMNSTORE
    table.storage = storage
    # Columns first: MySQL lets a key precede the columns it names.
    elements = sorted(
        schema.expressions, key=lambda e: not (isinstance(e, exp.ColumnDef) and e.args.get("kind"))
    )
    for element in elements:
        _add_element(table, element)
    return _finish(table)


def table_like(source: TableDef, name: str) -> TableDef:
    """CREATE TABLE name LIKE source: columns, indexes and options, as MySQL copies them.

    As in MySQL, foreign keys and the AUTO_INCREMENT counter are not copied.
    """
    new = copy.deepcopy(source)
    new.name = name
    new.foreign_keys = []
    new.auto_increment = None
    return new


def index_from_create(stmt: exp.Expression) -> Index:
    """The Index of a parsed CREATE [UNIQUE] INDEX statement (for `add_index`)."""
    node = stmt.this
    if not isinstance(node, exp.Index) or node.args.get("params") is None:
        raise not_supported("this form of CREATE INDEX")
    names, lengths = _key_parts(node.args["params"].args.get("columns") or [])
    if not names:
        raise parse_error(stmt.sql(dialect="mysql"))
    unique = bool(stmt.args.get("unique"))
    if _same(node.name, "PRIMARY"):
        raise SqlError(ER_WRONG_NAME_FOR_INDEX, "Incorrect index name 'PRIMARY'")
    return Index(name=node.name, columns=names, unique=unique, lengths=lengths)


def add_index(table: TableDef, index: Index) -> TableDef:
    new = copy.deepcopy(table)
    _add_index(new, copy.deepcopy(index))
    return _finish(new)


def drop_index(table: TableDef, name: str) -> TableDef:
    new = copy.deepcopy(table)
    _drop_index(new, name)
    return _finish(new)


def apply_alter(table: TableDef, stmt: exp.Expression) -> tuple[TableDef, dict[str, str]]:
    """Apply ALTER TABLE actions in order; return the new table and {old column: new column}."""
    new = copy.deepcopy(table)
    renames = {c.name: c.name for c in table.columns}
    for action in stmt.args.get("actions") or []:
        _alter_action(new, action, renames)
    for opt in stmt.args.get("options") or []:
        _apply_option(new, opt)
    return _finish(new), renames


def rebuild_sql(old: TableDef, new: TableDef, renames: dict[str, str], physical: str) -> list[str]:
    """Statements that rebuild `physical` from `old`'s shape to `new`'s, keeping rows and rowids.

    Follows SQLite's recommended copy/drop/rename procedure. The rename runs with
    legacy_alter_table on, because otherwise SQLite refuses it while a view names the dropped
    table. The AUTOINCREMENT high-water mark is carried over so ids are never reused. Rowids are
    kept, except when the new INTEGER PRIMARY KEY is an existing column that was not the rowid:
    then that column's values become the rowids.
    """
    tmp = f"{physical}__drlab_rebuild"
    sources = {new_name.lower(): old.column(old_name).name for old_name, new_name in renames.items()}
    rowid_col = new.rowid_column()
    targets: list[str] = []
    exprs: list[str] = []
    if rowid_col is None:
        targets.append("rowid")
        exprs.append("rowid")
    for col in new.columns:
        source = sources.get(col.name.lower())
        if source is not None:
            expr = _q(source)
        elif col is rowid_col:
            expr = "rowid"
        elif col.default is None and not col.nullable and not col.auto_increment:
            expr = _implicit_default(col)
        else:
            continue  # the column's DEFAULT fills it
        targets.append(_q(col.name))
        exprs.append(expr)
    out = [
        new._sqlite_table(tmp),
        f"INSERT INTO {_q(tmp)}({', '.join(targets)}) SELECT {', '.join(exprs)} FROM {_q(physical)}",
    ]
    if rowid_col is not None and rowid_col.auto_increment:
        floor = (new.auto_increment or 1) - 1
        out += [
            f"INSERT INTO sqlite_sequence(name, seq) SELECT {_sqlite_str(tmp)}, 0 "
            f"WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {_sqlite_str(tmp)})",
            f"UPDATE sqlite_sequence SET seq = max(seq, {floor}, ifnull((SELECT max(seq) FROM sqlite_sequence "
            f"WHERE name = {_sqlite_str(physical)}), 0)) WHERE name = {_sqlite_str(tmp)}",
        ]
    out += [
        f"DROP TABLE {_q(physical)}",
        "PRAGMA legacy_alter_table = ON",
        f"ALTER TABLE {_q(tmp)} RENAME TO {_q(physical)}",
        "PRAGMA legacy_alter_table = OFF",
        *new._sqlite_indexes(physical),
        *new.sqlite_triggers(physical),
    ]
    return out


# -- CREATE TABLE elements -------------------------------------------------------------------


def _add_element(table: TableDef, el: exp.Expression, position: exp.Expression | None = None) -> None:
    """One item of a CREATE TABLE body or of ALTER TABLE ADD."""
    if isinstance(el, exp.ColumnDef) and el.args.get("kind") is None:
        _add_singlestore_key(table, el)
    elif isinstance(el, exp.ColumnDef):
        if table._find_column(el.name):
            raise SqlError(ER_DUP_FIELDNAME, f"Duplicate column name '{el.name}'")
        col, primary, unique = _column_from_def(el, table)
        _insert_column(table, col, position)
        if primary:
            _add_index(table, Index("PRIMARY", [col.name], unique=True, primary=True))
        if unique:
            _add_index(table, Index(_free_index_name(table, col.name), [col.name], unique=True))
    elif isinstance(el, exp.Constraint):
        for inner in el.expressions:
            _add_constraint(table, inner, el.name)
    else:
        _add_constraint(table, el, None)


def _add_constraint(table: TableDef, el: exp.Expression, name: str | None) -> None:
    if isinstance(el, exp.PrimaryKey):
        _check_index_options(el)
        names, lengths = _key_parts(el.expressions)
        if lengths:
            raise not_supported("PRIMARY KEY on a column prefix")
        _add_index(table, Index("PRIMARY", names, unique=True, primary=True))
    elif isinstance(el, exp.UniqueColumnConstraint):
        _check_index_options(el)
        schema = el.this
        if not isinstance(schema, exp.Schema):
            raise not_supported("UNIQUE without a column list")
        names, lengths = _key_parts(schema.expressions)
        key_name = schema.this.name if schema.this else name
        _add_index(table, Index(key_name or _free_index_name(table, names[0]), names, True, False, lengths))
    elif isinstance(el, exp.IndexColumnConstraint):
        if el.args.get("kind"):
            raise not_supported(f"{el.args['kind']} indexes")
        _check_index_options(el)
        names, lengths = _key_parts(el.expressions)
        key_name = el.name or _free_index_name(table, names[0])
        _add_index(table, Index(key_name, names, lengths=lengths))
    elif isinstance(el, exp.ForeignKey):
        _add_foreign_key(table, el, name)
    elif isinstance(el, exp.CheckColumnConstraint):
        _add_check(table, el, name)
    else:
        raise not_supported(f"table element {el.sql('mysql')!r}")


def _add_check(table: TableDef, el: exp.CheckColumnConstraint, name: str | None) -> None:
    """Record a CHECK; unnamed ones are `<table>_chk_<n>`, as MySQL names them."""
    if name is None:
        n = 1
        while any(c.name.lower() == f"{table.name}_chk_{n}".lower() for c in table.checks):
            n += 1
        name = f"{table.name}_chk_{n}"
    if any(c.name.lower() == name.lower() for c in table.checks):
        raise SqlError(ER_CHECK_CONSTRAINT_DUP_NAME, f"Duplicate check constraint name '{name}'.")
    table.checks.append(Check(name, el.this.sql("mysql")))


def _add_singlestore_key(table: TableDef, el: exp.ColumnDef) -> None:
    """SingleStore SHARD KEY (a) / SORT KEY (b), which sqlglot reads as a typeless column `SHARD`."""
    kinds = [c.kind for c in el.constraints]
    keyword = el.name.upper()
    if keyword not in ("SHARD", "SORT") or len(kinds) != 1 or not isinstance(kinds[0], exp.PrimaryKey):
        raise SqlError(ER_PARSE, f"Column '{el.name}' has no data type")
    names = [e.name for e in kinds[0].expressions]
    if keyword == "SHARD":
        table.shard_key = names
    else:
        table.sort_key = names


def _check_index_options(el: exp.Expression) -> None:
    """USING BTREE/HASH is accepted (SQLite has one index kind); other key options are not."""
    for opt in el.args.get("options") or []:
        if not (isinstance(opt, exp.IndexConstraintOption) and set(opt.args) <= {"using"}):
            raise not_supported(f"index option {opt.sql('mysql')!r}")


def _key_parts(items: list[exp.Expression]) -> tuple[list[str], list[int | None]]:
    """Column names and prefix lengths of a key part list; ASC/DESC is ignored as in MySQL 5.7."""
    names: list[str] = []
    lengths: list[int | None] = []
    for item in items:
        if isinstance(item, exp.Ordered):
            item = item.this
        if isinstance(item, exp.ColumnPrefix):
            names.append(item.this.name)
            lengths.append(int(item.expression.name))
        elif isinstance(item, exp.Anonymous) and len(item.expressions) == 1 and item.expressions[0].is_int:
            names.append(str(item.this))
            lengths.append(int(item.expressions[0].name))
        elif isinstance(item, exp.Column | exp.Identifier):
            names.append(item.name)
            lengths.append(None)
        else:
            raise not_supported(f"key part {item.sql('mysql')!r}")
    return names, lengths if any(n is not None for n in lengths) else []


def _add_index(table: TableDef, index: Index) -> None:
    if index.primary:
        if table.primary_key() is not None:
            raise SqlError(ER_MULTIPLE_PRI_KEY, "Multiple primary key defined")
    elif _same(index.name, "PRIMARY"):
        raise SqlError(ER_WRONG_NAME_FOR_INDEX, "Incorrect index name 'PRIMARY'")
    elif table._find_index(index.name):
        raise SqlError(ER_DUP_KEYNAME, f"Duplicate key name '{index.name}'")
    index.columns = _key_columns(table, index.columns)
    table.indexes.append(index)


def _key_columns(table: TableDef, names: list[str]) -> list[str]:
    """Key column names as the table spells them; MySQL's 1072 for a missing one."""
    out = []
    for name in names:
        col = table._find_column(name)
        if col is None:
            raise SqlError(ER_KEY_COLUMN_DOES_NOT_EXIST, f"Key column '{name}' doesn't exist in table")
        out.append(col.name)
    return out


def _free_index_name(table: TableDef, base: str) -> str:
    """MySQL names an unnamed key after its first column, then base_2, base_3, ..."""
    name, n = base, 1
    while table._find_index(name) or _same(name, "PRIMARY"):
        n += 1
        name = f"{base}_{n}"
    return name


def _add_foreign_key(table: TableDef, el: exp.ForeignKey, name: str | None) -> None:
    ref = el.args.get("reference")
    if ref is None or not isinstance(ref.this, exp.Schema):
        raise not_supported("FOREIGN KEY without a referenced column list")
    columns = _key_columns(table, [e.name for e in el.expressions])
    on_delete = on_update = None
    for opt in ref.args.get("options") or []:
        text = str(opt).upper()
        if text.startswith("ON DELETE "):
            on_delete = text[len("ON DELETE ") :]
        elif text.startswith("ON UPDATE "):
            on_update = text[len("ON UPDATE ") :]
        else:
            raise not_supported(f"foreign key option {opt}")
    if name is None:
        taken = {fk.name.lower() for fk in table.foreign_keys}
        n = 1
        while f"{table.name}_ibfk_{n}".lower() in taken:
            n += 1
        name = f"{table.name}_ibfk_{n}"
    fk = ForeignKey(
        name, columns, ref.this.this.name, [e.name for e in ref.this.expressions], on_delete, on_update
    )
    table.foreign_keys.append(fk)
    if not _fk_has_index(table, fk):
        # InnoDB creates the index it needs, named after the constraint.
        index_name = name if not table._find_index(name) else _free_index_name(table, columns[0])
        _add_index(table, Index(index_name, list(columns)))


def _fk_has_index(table: TableDef, fk: ForeignKey) -> bool:
    """InnoDB needs an index whose leading columns are the foreign key's."""
    want = [c.lower() for c in fk.columns]
    return any([c.lower() for c in i.columns[: len(want)]] == want for i in table.indexes)


# -- columns ---------------------------------------------------------------------------------


def _column_from_def(cd: exp.ColumnDef, table: TableDef) -> tuple[Column, bool, bool]:
    """A Column from a column definition, plus whether it declared PRIMARY KEY / UNIQUE inline."""
    col = Column(name=cd.name, type=_type_text(cd.args["kind"]))
    default: exp.Expression | None = None
    primary = unique = binary = False
    if cd.args["kind"].this == exp.DataType.Type.SERIAL:
        col.nullable, col.auto_increment, unique = False, True, True
    for constraint in cd.constraints:
        kind = constraint.kind
        if isinstance(kind, exp.NotNullColumnConstraint):
            col.nullable = bool(kind.args.get("allow_null"))
        elif isinstance(kind, exp.DefaultColumnConstraint):
            default = kind.this
        elif isinstance(kind, exp.AutoIncrementColumnConstraint):
            col.auto_increment = True
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            primary = True
        elif isinstance(kind, exp.UniqueColumnConstraint):
            unique = True
        elif isinstance(kind, exp.CommentColumnConstraint):
            col.comment = kind.this.name
        elif isinstance(kind, exp.CharacterSetColumnConstraint):
            col.charset = kind.this.name.lower()
        elif isinstance(kind, exp.CollateColumnConstraint):
            col.collation = kind.this.name.lower()
        elif isinstance(kind, exp.BinaryColumnConstraint):
            binary = True
        elif isinstance(kind, exp.OnUpdateColumnConstraint):
            if col.base not in _TEMPORAL_NOW or not _is_now(kind.this):
                raise SqlError(ER_INVALID_ON_UPDATE, f"Invalid ON UPDATE clause for '{col.name}' column")
            col.on_update_now = True
        elif isinstance(kind, exp.Reference):
            pass  # MySQL parses and ignores inline REFERENCES
        elif isinstance(kind, exp.CheckColumnConstraint):
            _add_check(table, kind, None)
        else:
            raise not_supported(f"column attribute {constraint.sql('mysql')!r}")
    if col.base not in _TEXTS:
        col.charset = col.collation = None
    elif binary and not col.collation:
        col.collation = f"{col.charset or table.charset}_bin".lower()
    if default is not None:
        col.default = _default_text(col, default)
        if col.default == "NULL" and not col.nullable:
            raise SqlError(ER_INVALID_DEFAULT, f"Invalid default value for '{col.name}'")
    return col, primary, unique


def _type_text(dt: exp.DataType) -> str:
    """The type as MySQL 5.7's SHOW CREATE TABLE prints it."""
    tname = dt.this.name
    if tname == "BOOLEAN":
        return "tinyint(1)"
    if tname == "SERIAL":
        return "bigint(20) unsigned"
    unsigned = tname.startswith("U") and tname[1:] in _DTYPE_NAMES
    base = _DTYPE_NAMES.get(tname[1:] if unsigned else tname)
    if base is None:
        raise not_supported(f"data type {dt.sql('mysql')}")
    if base in ("enum", "set"):
        return f"{base}({','.join(_quote(e.name) for e in dt.expressions)})"
    params = [p.this.name if isinstance(p, exp.DataTypeParam) else p.name for p in dt.expressions]
    suffix = " unsigned" if unsigned else ""
    if base in _INT_WIDTHS:
        width = params[0] if params else str(_INT_WIDTHS[base][unsigned])
        return f"{base}({width}){suffix}"
    if base == "decimal":
        precision = params[0] if params else "10"
        scale = params[1] if len(params) > 1 else "0"
        return f"decimal({precision},{scale}){suffix}"
    if base == "float" and len(params) == 1:
        return ("double" if int(params[0]) > 24 else "float") + suffix
    if base in ("float", "double"):
        return f"{base}({params[0]},{params[1]}){suffix}" if params else base + suffix
    if base in ("char", "binary", "bit"):
        return f"{base}({params[0] if params else 1})"
    if base in ("varchar", "varbinary"):
        if not params:
            raise SqlError(ER_PARSE, f"You have an error in your SQL syntax near '{dt.sql('mysql')}'")
        return f"{base}({params[0]})"
    if base in ("time", "datetime", "timestamp") and params and params[0] != "0":
        return f"{base}({params[0]})"
    if base == "year":
        return "year(4)"
    return base


def _default_text(col: Column, node: exp.Expression) -> str:
    """A DEFAULT as SHOW CREATE TABLE prints it: 'literal', NULL or CURRENT_TIMESTAMP[(n)]."""
    base, params, _ = _split_type(col.type)
    if isinstance(node, exp.Null):
        return "NULL"
    invalid = SqlError(ER_INVALID_DEFAULT, f"Invalid default value for '{col.name}'")
    if _is_now(node):
        if base not in _TEMPORAL_NOW:
            raise invalid
        return _now_text(col.type)
    if base in _LOBS or base == "json":
        raise SqlError(
            ER_BLOB_CANT_HAVE_DEFAULT,
            f"BLOB, TEXT, GEOMETRY or JSON column '{col.name}' can't have a default value",
        )
    if isinstance(node, exp.Paren):
        raise not_supported("expression DEFAULT values")
    if isinstance(node, exp.BitString):
        return f"b'{node.name}'" if base == "bit" else _quote(str(int(node.name or "0", 2)))
    if isinstance(node, exp.Boolean):
        value = "1" if node.this else "0"
    elif isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        value = "-" + node.this.name
    elif isinstance(node, exp.Literal):
        value = node.name
    else:
        raise not_supported(f"DEFAULT {node.sql('mysql')}")
    if base in _INT_WIDTHS or base in ("decimal", "float", "double", "year", "bit"):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise invalid from None
        if base == "decimal":
            value = str(number.quantize(Decimal(1).scaleb(-int(params[1])), rounding=ROUND_HALF_UP))
        elif base in ("float", "double"):
            value = value.strip()
        else:
            value = str(int(number.to_integral_value(rounding=ROUND_HALF_UP)))
    elif base == "enum":
        match = next((v for v in _enum_values(col.type) if v.lower() == value.lower()), None)
        if match is None:
            raise invalid
        value = match
    return _quote(value)


def _is_now(node: exp.Expression) -> bool:
    """CURRENT_TIMESTAMP, NOW(), LOCALTIME, LOCALTIMESTAMP (with or without precision)."""
    if isinstance(node, exp.CurrentTimestamp):
        return True
    names = ("NOW", "LOCALTIME", "LOCALTIMESTAMP", "CURRENT_TIMESTAMP")
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper() in names
    return isinstance(node, exp.Column) and node.name.upper() in names


def _now_text(type_text: str) -> str:
    """CURRENT_TIMESTAMP with the column's fractional-second precision, as MySQL requires."""
    params = _split_type(type_text)[1]
    return f"CURRENT_TIMESTAMP({params[0]})" if params else "CURRENT_TIMESTAMP"


def _insert_column(table: TableDef, col: Column, position: exp.Expression | None) -> None:
    if position is None:
        table.columns.append(col)
    elif position.args.get("position") == "FIRST":
        table.columns.insert(0, col)
    else:
        after = table.column(position.this.name)
        table.columns.insert(table.columns.index(after) + 1, col)


# -- ALTER TABLE -----------------------------------------------------------------------------


def _alter_action(table: TableDef, action: exp.Expression, renames: dict[str, str]) -> None:
    if isinstance(action, exp.ColumnDef) and action.args.get("kind") is not None:
        if action.args.get("exists") and table._find_column(action.name):
            return
        _add_element(table, action, action.args.get("position"))
    elif isinstance(action, exp.AddConstraint):
        for el in action.expressions:
            _add_element(table, el)
    elif isinstance(action, exp.ModifyColumn):
        _modify_column(table, action, renames)
    elif isinstance(action, exp.RenameColumn):
        old = table.column(action.this.name)
        _rename_column(table, old, action.args["to"].name, renames)
    elif isinstance(action, exp.Drop):
        _alter_drop(table, action, renames)
    elif isinstance(action, exp.DropPrimaryKey):
        _drop_index(table, "PRIMARY")
    elif isinstance(action, exp.RenameIndex):
        idx = table._find_index(action.this.name)
        if idx is None or idx.primary:
            raise SqlError(
                ER_KEY_DOES_NOT_EXIST, f"Key '{action.this.name}' doesn't exist in table '{table.name}'"
            )
        new_name = action.args["to"].name
        if not _same(new_name, idx.name) and table._find_index(new_name):
            raise SqlError(ER_DUP_KEYNAME, f"Duplicate key name '{new_name}'")
        idx.name = new_name
    elif isinstance(action, exp.AlterRename):
        table.name = action.this.name
    elif isinstance(action, exp.AlterColumn) and _given_args(action) <= {"this", "default", "drop"}:
        col = table.column(action.this.name)
        col.default = _default_text(col, action.args["default"]) if action.args.get("default") else None
        if col.default == "NULL" and not col.nullable:
            raise SqlError(ER_INVALID_DEFAULT, f"Invalid default value for '{col.name}'")
    else:
        raise not_supported(f"ALTER TABLE action {action.sql('mysql')!r}")


def _modify_column(table: TableDef, action: exp.ModifyColumn, renames: dict[str, str]) -> None:
    """MODIFY c def / CHANGE old new def: the new definition replaces the old one entirely."""
    cd = action.this
    rename_from = action.args.get("rename_from")
    old = table.column(rename_from.name if rename_from else cd.name)
    if not _same(old.name, cd.name) and table._find_column(cd.name):
        raise SqlError(ER_DUP_FIELDNAME, f"Duplicate column name '{cd.name}'")
    _rename_column(table, old, cd.name, renames)
    col, primary, unique = _column_from_def(cd, table)
    pos = table.columns.index(old)
    table.columns[pos] = col
    position = cd.args.get("position")
    if position is not None:
        table.columns.pop(pos)
        _insert_column(table, col, position)
    if primary:
        _add_index(table, Index("PRIMARY", [col.name], unique=True, primary=True))
    if unique:
        _add_index(table, Index(_free_index_name(table, col.name), [col.name], unique=True))


def _rename_column(table: TableDef, col: Column, new_name: str, renames: dict[str, str]) -> None:
    """Rename a column and every reference to it (keys, foreign keys, shard/sort keys)."""
    if not _same(col.name, new_name) and table._find_column(new_name):
        raise SqlError(ER_DUP_FIELDNAME, f"Duplicate column name '{new_name}'")
    old_name = col.name
    col.name = new_name
    for names in [*(i.columns for i in table.indexes), *(f.columns for f in table.foreign_keys),
                  table.shard_key or [], table.sort_key or []]:  # fmt: skip
        names[:] = [new_name if _same(n, old_name) else n for n in names]
    for orig, current in renames.items():
        if _same(current, old_name):
            renames[orig] = new_name


def _alter_drop(table: TableDef, action: exp.Drop, renames: dict[str, str]) -> None:
    kind = str(action.args.get("kind")).upper()
    for target in action.args.get("tables") or []:
        name = target.name
        if kind == "COLUMN":
            if action.args.get("exists") and not table._find_column(name):
                continue
            _drop_column(table, table.column(name), renames)
        elif kind == "INDEX":
            _drop_index(table, name)
        elif kind == "FOREIGN KEY":
            fk = next((f for f in table.foreign_keys if _same(f.name, name)), None)
            if fk is None:
                raise SqlError(
                    ER_CANT_DROP_FIELD_OR_KEY, f"Can't DROP '{name}'; check that column/key exists"
                )
            table.foreign_keys.remove(fk)
        else:
            raise not_supported(f"ALTER TABLE DROP {kind}")


def _drop_column(table: TableDef, col: Column, renames: dict[str, str]) -> None:
    """As MySQL: the column leaves every key, and keys left without columns disappear."""
    if len(table.columns) == 1:
        raise SqlError(
            ER_CANT_REMOVE_ALL_FIELDS, "You can't delete all columns with ALTER TABLE; use DROP TABLE instead"
        )
    for fk in table.foreign_keys:
        if any(_same(c, col.name) for c in fk.columns):
            raise SqlError(
                ER_FK_COLUMN_CANNOT_DROP,
                f"Cannot drop column '{col.name}': needed in a foreign key constraint '{fk.name}'",
            )
    if any(_same(c, col.name) for c in [*(table.shard_key or []), *(table.sort_key or [])]):
        raise not_supported("dropping a SHARD KEY or SORT KEY column")
    table.columns.remove(col)
    for idx in list(table.indexes):
        keep = [i for i, c in enumerate(idx.columns) if not _same(c, col.name)]
        if idx.lengths:
            idx.lengths = [idx.lengths[i] for i in keep]
        idx.columns = [idx.columns[i] for i in keep]
        if not idx.columns:
            table.indexes.remove(idx)
    for orig, current in list(renames.items()):
        if _same(current, col.name):
            del renames[orig]


def _drop_index(table: TableDef, name: str) -> None:
    idx = table._find_index(name)
    if idx is None:
        raise SqlError(ER_CANT_DROP_FIELD_OR_KEY, f"Can't DROP '{name}'; check that column/key exists")
    table.indexes.remove(idx)
    for fk in table.foreign_keys:
        if not _fk_has_index(table, fk):
            raise SqlError(
                ER_DROP_INDEX_FK, f"Cannot drop index '{idx.name}': needed in a foreign key constraint"
            )


# -- table options ---------------------------------------------------------------------------


def _apply_option(table: TableDef, prop: exp.Expression) -> None:
    if isinstance(prop, exp.EngineProperty):
        table.engine = _engine_name(prop.name)
    elif isinstance(prop, exp.AutoIncrementProperty):
        table.auto_increment = int(prop.this.name)
    elif isinstance(prop, exp.CharacterSetProperty):
        charset = prop.name.lower()
        if charset != table.charset:
            for col in table.columns:  # existing columns keep their character set
                if col.base in _TEXTS and not col.charset:
                    col.charset = table.charset
                    col.collation = col.collation or table.collation
            table.charset, table.collation = charset, None
    elif isinstance(prop, exp.CollateProperty):
        table.collation = prop.name.lower()
        table.charset = table.collation.split("_")[0]
    elif isinstance(prop, exp.SchemaCommentProperty):
        table.comment = prop.this.name
    elif isinstance(prop, exp.RowFormatProperty):
        pass  # physical layout only
    elif isinstance(prop, exp.Property) and prop.name.upper() in _IGNORED_OPTIONS:
        pass
    else:
        raise not_supported(f"table option {prop.sql('mysql')!r}")


def _engine_name(name: str) -> str:
    """MySQL prints engine names in their canonical case."""
    canonical = {
        "innodb": "InnoDB",
        "myisam": "MyISAM",
        "memory": "MEMORY",
        "csv": "CSV",
        "archive": "ARCHIVE",
    }
    return canonical.get(name.lower(), name)


def _runs_versioned(version: str | None) -> bool:
    """A MySQL 5.7 server runs /*!NNNNN ...*/ only for versions up to its own."""
    return version is None or int(version) < 50800


def _versioned_options(comment: str) -> list[exp.Expression]:
    """Table options inside an executable comment sqlglot kept as a plain comment."""
    m = re.match(r"^!(\d{5,6})?(.*)$", comment.strip(), re.S)
    if not m or not _runs_versioned(m.group(1)) or not m.group(2).strip():
        return []
    probe = sqlglot.parse_one(f"CREATE TABLE _drlab (_c INT) {m.group(2)}", read="mysql")
    if not isinstance(probe, exp.Create):
        raise not_supported(f"/*!{m.group(2).strip()} */")
    props = probe.args.get("properties")
    return list(props.expressions) if props else []


# -- validation ------------------------------------------------------------------------------


def _finish(table: TableDef) -> TableDef:
    """Apply MySQL's implicit rules and checks that depend on the whole table."""
    pk = table.primary_key()
    pk_cols = {c.lower() for c in pk.columns} if pk else set()
    for col in table.columns:
        if col.name.lower() in pk_cols or col.auto_increment:
            col.nullable = False
            if col.default == "NULL":
                col.default = None
        elif col.nullable and col.default is None and col.base not in _LOBS:
            col.default = "NULL"  # MySQL's implicit default, printed by SHOW CREATE TABLE
        if col.base in _TEXTS:
            # Keep only what differs from the table's defaults, as SHOW CREATE TABLE prints it.
            if col.collation and not col.charset:
                col.charset = col.collation.split("_")[0]
            if col.charset == table.charset:
                col.charset = None
                if col.collation == table.collation:
                    col.collation = None
    for idx in table.indexes:
        for i, name in enumerate(idx.columns):
            col = table.column(name)
            if col.base == "json":
                raise SqlError(
                    ER_JSON_USED_AS_KEY,
                    f"JSON column '{col.name}' supports indexing only via generated columns",
                )
            if col.base in _LOBS and not (idx.lengths and idx.lengths[i]):
                raise SqlError(
                    ER_BLOB_KEY_WITHOUT_LENGTH,
                    f"BLOB/TEXT column '{col.name}' used in key specification without a key length",
                )
    if table.shard_key is not None:
        table.shard_key = _key_columns(table, table.shard_key)
    if table.sort_key is not None:
        table.sort_key = _key_columns(table, table.sort_key)
    _check_auto_increment(table)
    _sort_indexes(table)
    return table


def _check_auto_increment(table: TableDef) -> None:
    autos = [c for c in table.columns if c.auto_increment]
    wrong = SqlError(
        ER_WRONG_AUTO_KEY,
        "Incorrect table definition; there can be only one auto column and it must be defined as a key",
    )
    if not autos:
        return
    if len(autos) > 1:
        raise wrong
    col = autos[0]
    if col.default is not None:
        raise SqlError(ER_INVALID_DEFAULT, f"Invalid default value for '{col.name}'")
    if col.base not in _INT_WIDTHS:
        raise not_supported("AUTO_INCREMENT on a non-integer column")
    if table.rowid_column() is col:
        return
    if not any(i.columns and _same(i.columns[0], col.name) for i in table.indexes):
        raise wrong
    raise not_supported(
        f"AUTO_INCREMENT column '{col.name}' that is not the table's single-column primary key"
    )


def _sort_indexes(table: TableDef) -> None:
    """MySQL's key order: PRIMARY, unique NOT NULL keys, other unique keys, then the rest."""

    def key(item: tuple[int, Index]) -> tuple[bool, bool, bool, bool, int]:
        pos, idx = item
        nullable = any(table.column(c).nullable for c in idx.columns)
        return (not idx.unique, idx.unique and nullable, not idx.primary, bool(idx.lengths), pos)

    table.indexes = [idx for _, idx in sorted(enumerate(table.indexes), key=key)]


# -- small helpers ---------------------------------------------------------------------------


def _given_args(node: exp.Expression) -> set[str]:
    return {k for k, v in node.args.items() if v}


def _same(a: str, b: str) -> bool:
    """MySQL column and index names compare case-insensitively."""
    return a.lower() == b.lower()


def _q(name: str) -> str:
    """An SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def _bq(name: str) -> str:
    """A MySQL identifier as SHOW CREATE TABLE quotes it."""
    return "`" + name.replace("`", "``") + "`"


def _quote(value: str) -> str:
    """A MySQL string literal as SHOW CREATE TABLE prints it."""
    escaped = value.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n").replace("\r", "\\r")
    return "'" + escaped.replace("\0", "\\0") + "'"


def _unquote(text: str) -> str:
    """Inverse of `_quote`."""
    body = text[1:-1]
    return re.sub(
        r"''|\\(.)", lambda m: "'" if m.group(0) == "''" else _MYSQL_ESCAPES.get(m.group(1), m.group(1)), body
    )


def _sqlite_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _split_type(type_text: str) -> tuple[str, list[str], str]:
    """('decimal', ['10', '2'], '') for 'decimal(10,2)'; enum/set values stay quoted."""
    m = _TYPE_RE.match(type_text)
    if not m:
        raise ValueError(f"malformed column type {type_text!r}")
    base, inner, rest = m.group(1), m.group(2), m.group(3).strip()
    if inner is None:
        return base, [], rest
    if base in ("enum", "set"):
        return base, [inner], rest
    return base, [p.strip() for p in inner.split(",")], rest


def _enum_values(type_text: str) -> list[str]:
    return [_unquote(m.group(0)) for m in _QUOTED_RE.finditer(_split_type(type_text)[1][0])]


def _sqlite_type(type_text: str) -> str:
    """Declared type: picks the affinity and the storage layer's PARSE_DECLTYPES converter."""
    base, params, _ = _split_type(type_text)
    if base in _INT_WIDTHS or base in ("bit", "year"):
        return "INTEGER"
    if base == "decimal":
        return f"DECIMAL{params[1]}"
    if base in ("float", "double"):
        return "REAL"
    if base in _TEXTS or base == "json":
        return "TEXT"
    if base in _BINARIES:
        return "BLOB"
    if base in _TEMPORAL_NOW:
        return "DATETIME"
    return base.upper()  # DATE, TIME


def _sqlite_default(col: Column) -> str:
    text = col.default
    assert text is not None
    if text == "NULL":
        return "NULL"
    if text.startswith("CURRENT_TIMESTAMP"):
        return "(drlab_now())"
    if text.startswith("b'"):
        return str(int(text[2:-1] or "0", 2))
    value = _unquote(text)
    if col.base in _BINARIES:
        return f"X'{value.encode().hex()}'"
    return _sqlite_str(value)


def _implicit_default(col: Column) -> str:
    """MySQL's implicit default for a NOT NULL column without DEFAULT, used to fill added columns."""
    base = col.base
    if base == "enum":
        return _sqlite_str(_enum_values(col.type)[0])
    if base in _TEXTS:
        return "''"
    if base in _BINARIES:
        return "X''"
    if base == "json":
        return "'null'"
    implicit = {"date": "'0000-00-00'", "time": "'00:00:00'", "datetime": "'0000-00-00 00:00:00'"}
    implicit["timestamp"] = implicit["datetime"]
    return implicit.get(base, "0")
