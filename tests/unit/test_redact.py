"""Passwords never reach SHOW PROCESSLIST: the statement text is shown redacted."""

from __future__ import annotations

import pytest

from sqlfront.redact import redact


@pytest.mark.parametrize("text, secret", [
    ("REPLICATE DATABASE app FROM root:'s3cr\\'et@:pw'@127.0.0.1:3306", "s3cr"),
    ("REPLICATE DATABASE app WITH FORCE DIFFERENTIAL FROM u:\"pw@x\"@[::1]:3306/db", "pw@x"),
    ("replicate database app from u:plain@host", "plain"),
    ("CREATE USER 'a'@'%' IDENTIFIED BY 'secret'", "secret"),
    ("ALTER USER a IDENTIFIED WITH caching_sha2_password BY 'x y'", "x y"),
    ("SET PASSWORD FOR a = 'pw1'", "pw1"),
    ("SET PASSWORD = PASSWORD('pw2')", "pw2"),
    ("GRANT ALL ON *.* TO a IDENTIFIED BY 'pw3'", "pw3"),
    # leading comments are skipped by the parsers, so by the redaction too (issue 11, defect 5)
    ("/* failover */ REPLICATE DATABASE app FROM root:'pw4'@10.0.0.1:3306", "pw4"),
    ("-- step 3\n# again\n REPLICATE DATABASE app FROM root:'pw5'@h", "pw5"),
    ("/* a */ /* b */ CREATE USER x IDENTIFIED BY 'pw6'", "pw6"),
    ("/* malformed */ REPLICATE DATABASE app FROM root:'pw7'@", "pw7"),
])
def test_secrets_are_hidden(text: str, secret: str) -> None:
    shown = redact(text)
    assert secret not in shown and "'***'" in shown


@pytest.mark.parametrize("text", ["SELECT 'password = 1'", "INSERT INTO t VALUES ('identified by x')", "SELECT 1"])
def test_other_statements_unchanged(text: str) -> None:
    assert redact(text) == text
