"""Every MySQL code drlab sends is named once in sqlfront/errors.py and documented in docs/errors.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from server import errors as edge
from sqlfront import errors
from sqlfront.errors import ErrorCode, catalogue

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "sqlfront", "storage", "replication", "lab")
# calls that carry a MySQL code, and the position of that code among their arguments
CODE_ARG = {"SqlError": 0, "Warning_": 1, "_note": 0, "CsvError": 0, "_BatchFailed": 3, "LinkError": 0}
# files whose bare codes are checked against the catalogue but not yet refused
PENDING: set[str] = set()


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text()))
            for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


def _raised() -> list[tuple[str, int, ast.expr]]:
    """(file, line, code expression) of every call that builds an error with a MySQL code."""
    out = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            pos = CODE_ARG.get(name)
            if pos is not None and len(node.args) > pos:
                out.append((path, node.lineno, node.args[pos]))
    return out


def test_every_code_the_server_raises_is_in_the_catalogue() -> None:
    known = catalogue()
    missing = []
    for path, line, arg in _raised():
        if isinstance(arg, ast.Constant) and isinstance(arg.value, int):
            client_side = 2000 <= arg.value < 3000  # a MySQL client's own codes, relayed as 1429
            if arg.value not in known and not client_side:
                missing.append(f"{path}:{line}: {arg.value}")
        elif isinstance(arg, ast.Name) and re.fullmatch(r"(ER|WARN)_\w+", arg.id):
            if not isinstance(getattr(errors, arg.id, None), ErrorCode):
                missing.append(f"{path}:{line}: {arg.id}")
    assert missing == []


def test_no_bare_numeric_codes_outside_the_catalogue() -> None:
    bare = [f"{path}:{line}: {arg.value}" for path, line, arg in _raised()
            if isinstance(arg, ast.Constant) and isinstance(arg.value, int) and path not in PENDING]
    assert bare == []


def test_error_codes_are_defined_only_in_the_catalogue() -> None:
    defined = [f"{path}:{node.lineno}: {t.id}" for path, tree in _modules() if path != "sqlfront/errors.py"
               for node in ast.walk(tree) if isinstance(node, ast.Assign)
               for t in node.targets if isinstance(t, ast.Name) and re.fullmatch(r"(ER|WARN)_\w+", t.id)]
    assert defined == []


def test_every_catalogue_code_is_documented() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text()
    undocumented = [f"{code} {name}" for code, name in sorted(catalogue().items())
                    if not re.search(rf"^\|[^|\n]*\b{code}\b", doc, re.M)]
    assert undocumented == []


def test_each_code_is_named_once() -> None:
    names = [n for n, v in vars(errors).items() if isinstance(v, ErrorCode)]
    assert len(names) == len(catalogue())


def test_domain_errors_map_to_catalogue_codes_and_keep_their_message() -> None:
    from server.pipelines import NoSuchPipeline

    assert all(isinstance(code, ErrorCode) for code in edge.CODES.values())
    e = edge.to_sql_error(NoSuchPipeline("Pipeline 'p' doesn't exist"))
    assert e is not None and (e.code, e.sqlstate, e.message) == (1305, "42000", "Pipeline 'p' doesn't exist")
    assert edge.to_sql_error(KeyError("x")) is None  # not a domain error: the edge reports a bug


def test_a_relayed_client_side_code_becomes_1429_and_a_server_code_passes_through() -> None:
    assert (edge.relayed_code(2003), edge.relayed_code(1045)) == (1429, 1045)


def test_an_unnamed_code_gets_hy000() -> None:
    assert errors.SqlError(1999, "x").sqlstate == "HY000"
    assert errors.SqlError(1049, "x").sqlstate == "42000"


def test_errors_and_warnings_carry_plain_int_codes_into_result_rows() -> None:
    from server.session import Warning_

    assert type(errors.SqlError(errors.ER_BAD_DB, "x").code) is int
    assert type(Warning_("Note", errors.ER_BAD_TABLE, "x").code) is int


def test_an_explicit_sqlstate_agrees_with_the_catalogue() -> None:
    disagree = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "SqlError"
                    and len(node.args) >= 3 and isinstance(node.args[0], ast.Name)
                    and isinstance(node.args[2], ast.Constant)):
                code = getattr(errors, node.args[0].id)
                if node.args[2].value != code.sqlstate:
                    disagree.append(f"{path}:{node.lineno}: {node.args[0].id} {node.args[2].value} != {code.sqlstate}")
    assert disagree == []


def test_every_kind_of_account_error_has_a_code() -> None:
    from server import accounts

    kinds = [v for v in vars(accounts).values()
             if isinstance(v, type) and issubclass(v, accounts.AccountError) and v is not accounts.AccountError]
    assert len(kinds) == 12 and all(k in edge.CODES for k in kinds)


def test_docs_give_each_code_the_sqlstate_drlab_sends() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text()
    wrong = []
    for m in re.finditer(r"^\| (\d{4})(?: †)? \| ([^|]+) \|", doc, re.M):
        name = catalogue().get(int(m.group(1)))
        sent = getattr(errors, name).sqlstate if name else None
        if sent is not None and m.group(2).split()[0] != sent:
            wrong.append(f"{m.group(1)}: docs {m.group(2).strip()}, sent {sent}")
    assert wrong == []
