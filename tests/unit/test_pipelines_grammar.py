"""Pipeline statements, the normalised SHOW CREATE PIPELINE text, the CSV reader and the row INSERT."""

from __future__ import annotations

import pytest

from sqlfront import pipelines as pl
from sqlfront.errors import SqlError

FULL = (
    "CREATE OR REPLACE PIPELINE IF NOT EXISTS `p1` AS LOAD DATA FS '/srv/in/*.csv' BATCH_INTERVAL 250 "
    "MAX_RETRIES_PER_BATCH_PARTITION 2 STOP_ON_ERROR OFF SKIP DUPLICATE KEY ERRORS INTO TABLE t "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
    "STARTING BY '' IGNORE 1 LINES (id, @n) SET name = UPPER(@n), note = CONCAT(@n, '!') "
    "ON DUPLICATE KEY UPDATE name = VALUES(name)"
)


def test_create_full_grammar() -> None:
    cmd = pl.parse_pipeline_statement(FULL)
    assert isinstance(cmd, pl.CreatePipeline) and cmd.or_replace and cmd.if_not_exists
    c = cmd.config
    assert (c.name, c.path, c.table, c.batch_interval, c.max_retries, c.stop_on_error) == (
        "p1", "/srv/in/*.csv", "t", 250, 2, False)
    assert c.dup_policy == "skip duplicate key"
    assert (c.fields_terminated_by, c.fields_enclosed_by, c.optionally_enclosed, c.fields_escaped_by) == (",", '"', True, "\\")
    assert (c.lines_terminated_by, c.lines_starting_by, c.ignore_lines) == ("\n", "", 1)
    assert c.columns == ["id", "@n"]
    assert c.set_exprs == [("name", "UPPER(@n)"), ("note", "CONCAT(@n, '!')")]
    assert c.on_duplicate_key_update == "name = VALUES(name)"


def test_show_create_round_trips() -> None:
    c = pl.parse_pipeline_statement(FULL).config
    text = c.show_create()
    assert text.startswith("CREATE PIPELINE `p1`\nAS LOAD DATA FS '/srv/in/*.csv'\nBATCH_INTERVAL 250\n")
    assert "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '\\\\'" in text
    again = pl.parse_pipeline_statement(text).config
    assert again == c
    assert pl.PipelineConfig.from_json(c.to_json()) == c


def test_minimal_create_defaults() -> None:
    c = pl.parse_pipeline_statement("create pipeline p as load data fs 'x' into table t").config
    assert c.batch_interval == 2500 and c.fields_terminated_by == "\t" and c.lines_terminated_by == "\n"
    assert c.max_retries is None and c.stop_on_error is None and c.dup_policy == ""


@pytest.mark.parametrize("text", [
    "STOP REPLICATING db", "START TRANSACTION", "start transaction read only", "SHOW TABLES", "show create table t",
    "CREATE TABLE pipeline (a int)", "drop table pipelines", "select 'create pipeline'", "STOP SLAVE",
    "SHOW PIPELINE_STATUS", "create database pipeline",
])
def test_other_statements_are_not_ours(text: str) -> None:
    assert pl.parse_pipeline_statement(text) is None


def test_start_stop_drop_alter_show() -> None:
    p = pl.parse_pipeline_statement
    assert p("START PIPELINE p") == pl.StartPipeline("p")
    assert p("start pipeline if not running `p` foreground limit 3 batches;") == pl.StartPipeline(
        "p", if_not_running=True, foreground=True, limit=3)
    assert p("START ALL PIPELINES") == pl.StartPipeline(None, if_not_running=True)
    assert p("START FAILED PIPELINES") == pl.StartPipeline(None, if_not_running=True, failed_only=True)
    assert p("STOP PIPELINE p") == pl.StopPipeline("p")
    assert p("STOP PIPELINE IF RUNNING p DETACH") == pl.StopPipeline("p", if_running=True)
    assert p("STOP ALL PIPELINES") == pl.StopPipeline(None, if_running=True)
    assert p("DROP PIPELINE IF EXISTS p") == pl.DropPipeline("p", True)
    assert p("ALTER PIPELINE p DROP FILE '/a/b.csv'") == pl.AlterPipeline("p", drop_file="/a/b.csv")
    assert p("ALTER PIPELINE p SET BATCH_INTERVAL 10") == pl.AlterPipeline("p", batch_interval=10)
    assert p("SHOW PIPELINES") == pl.ShowPipelines()
    assert p("show pipelines like 'x%'") == pl.ShowPipelines(like="x%")
    assert p("SHOW CREATE PIPELINE p") == pl.ShowCreatePipeline("p")


BAD_SYNTAX = [
    "CREATE PIPELINE p AS LOAD DATA FS INTO TABLE t",
    "CREATE PIPELINE p AS LOAD DATA FS 'x' INTO t",
    "CREATE PIPELINE p AS LOAD DATA FS 'x' STOP_ON_ERROR MAYBE INTO TABLE t",
    "CREATE PIPELINE p AS LOAD DATA FS 'x' SKIP SOME ERRORS INTO TABLE t",
    "CREATE PIPELINE p AS LOAD DATA FS 'x' INTO TABLE t (a, b",
    "CREATE PIPELINE p AS LOAD DATA FS 'x' INTO TABLE t SET a = (1 +",
    "START PIPELINE p FOREGROUND LIMIT x BATCHES",
    "STOP PIPELINE",
    "ALTER PIPELINE p",
]


def _error_code(text: str) -> int | None:
    try:
        pl.parse_pipeline_statement(text)
    except SqlError as e:
        return e.code
    return None


def test_syntax_errors() -> None:
    assert {t: _error_code(t) for t in BAD_SYNTAX} == dict.fromkeys(BAD_SYNTAX, 1064)


def test_other_sources_are_refused_clearly() -> None:
    with pytest.raises(SqlError, match="LOAD DATA FS") as e:
        pl.parse_pipeline_statement("CREATE PIPELINE k AS LOAD DATA KAFKA 'host/topic' INTO TABLE t")
    assert e.value.code == 1235


def _cfg(**kw: object) -> pl.PipelineConfig:
    c = pl.PipelineConfig(name="p", path="x", table="t", fields_terminated_by=",")
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_csv_fields_enclosures_escapes_and_null() -> None:
    cfg = _cfg(fields_enclosed_by='"', optionally_enclosed=True)
    rows = pl.split_csv('1,"a,b"\n2,\\N\n3,x\\,y\n4,"say ""hi"""\n\n5,\n', cfg)
    assert [(n, f) for n, _, f in rows] == [
        (1, ["1", "a,b"]), (2, ["2", pl.NULL]), (3, ["3", "x,y"]), (4, ["4", 'say "hi"']), (6, ["5", ""])]
    assert rows[0][1] == '1,"a,b"'


def test_csv_ignore_lines_starting_by_and_crlf() -> None:
    cfg = _cfg(ignore_lines=1, lines_terminated_by="\r\n")
    assert [f for _, _, f in pl.split_csv("h1,h2\r\n1,a\r\n2,b", cfg)] == [["1", "a"], ["2", "b"]]
    cfg = _cfg(lines_starting_by=">>")
    assert [f for _, _, f in pl.split_csv(">>1,a\nnoise\nxx>>2,b\n", cfg)] == [["1", "a"], ["2", "b"]]


def test_row_insert_binds_fields_and_variables() -> None:
    cfg = pl.parse_pipeline_statement(FULL).config
    ins = pl.row_insert(cfg, ["id", "name", "note"])
    assert ins.sql == ("INSERT INTO `t` (`id`, `name`, `note`) VALUES (?, UPPER(?), CONCAT(?, '!')) "
                       "ON DUPLICATE KEY UPDATE name = VALUES(name)")
    assert pl.bind_row(ins, ["7", "x"]) == ["7", "x", "x"]
    assert pl.bind_row(ins, ["7", pl.NULL]) == ["7", None, None]
    with pytest.raises(pl.CsvError) as e:
        pl.bind_row(ins, ["7"])
    assert e.value.code == 1261
    with pytest.raises(pl.CsvError) as e:
        pl.bind_row(ins, ["7", "x", "y"])
    assert e.value.code == 1262


def test_row_insert_policies_and_unknown_names() -> None:
    assert pl.row_insert(_cfg(dup_policy="replace"), ["a", "b"]).sql.startswith("REPLACE INTO `t` (`a`, `b`)")
    assert pl.row_insert(_cfg(dup_policy="ignore"), ["a"]).sql.startswith("INSERT IGNORE INTO")
    with pytest.raises(SqlError) as e:
        pl.row_insert(_cfg(columns=["a", "zz"]), ["a", "b"])
    assert e.value.code == 1054
    with pytest.raises(SqlError) as e:
        pl.row_insert(_cfg(columns=["a"], set_exprs=[("b", "@nope + 1")]), ["a", "b"])
    assert e.value.code == 1054 and "@nope" in e.value.message
