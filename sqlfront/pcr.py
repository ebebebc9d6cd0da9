"""CockroachDB's physical cluster replication statements (facts.md section 9, docs/pcr.md): virtual
clusters and cluster settings. Parsed here into commands; ``server.pcr`` runs them.

Forms drlab does not build yet (replication streams, failover, failback, jobs) are recognised and
refused with 1235 naming them, never taken for something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from sqlfront.errors import ER_PARSE, SqlError, not_supported

_NAME = r"(`(?:[^`]|``)+`|\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$-]*)"
_SETTING = r"([A-Za-z_][\w.]*)"
_VALUE = r"('(?:[^']|'')*'|[\w.+-]+)"
_END = r"\s*;?\s*"

_HEAD = re.compile(r"\s*(?:(?:create|alter|drop|show)\s+virtual\s+clusters?\b|(?:set|show)\s+cluster\s+setting\b"
                   r"|show\s+(?:jobs?|all\s+cluster\s+settings|cluster\s+settings)\b"
                   r"|select\s+\*\s+from\s+\[\s*show\s+jobs\s*\])", re.I)
_CREATE = re.compile(r"\s*create\s+virtual\s+cluster\s+(if\s+not\s+exists\s+)?" + _NAME + _END, re.I | re.S)
_CREATE_FROM = re.compile(r"\s*create\s+virtual\s+cluster\s+.*\bfrom\s+replication\b", re.I | re.S)
_SHOW = re.compile(r"\s*show\s+virtual\s+clusters?(?:\s+" + _NAME + r")?" + _END, re.I | re.S)
_SHOW_WITH = re.compile(r"\s*show\s+virtual\s+clusters?\b.*\bwith\s+(replication\s+status|capabilities)", re.I | re.S)
_SERVICE = re.compile(r"\s*alter\s+virtual\s+cluster\s+" + _NAME + r"\s+(start\s+service\s+shared|stop\s+service)"
                      + _END, re.I | re.S)
_ALTER_OTHER = re.compile(r"\s*alter\s+virtual\s+cluster\s+" + _NAME + r"\s+((?:\w+\s*){1,3})", re.I | re.S)
_SET = re.compile(r"\s*set\s+cluster\s+setting\s+" + _SETTING + r"\s*(?:=|\bto\b)\s*" + _VALUE + _END, re.I | re.S)
_SHOW_SETTING = re.compile(r"\s*show\s+cluster\s+setting\s+" + _SETTING + _END, re.I | re.S)


@dataclass(frozen=True)
class CreateVirtualCluster:
    cacheable: ClassVar[bool] = False
    name: str
    if_not_exists: bool


@dataclass(frozen=True)
class ShowVirtualClusters:
    """``SHOW VIRTUAL CLUSTERS`` (name None) or ``SHOW VIRTUAL CLUSTER name``."""

    cacheable: ClassVar[bool] = True
    name: str | None


@dataclass(frozen=True)
class AlterService:
    """``ALTER VIRTUAL CLUSTER name START SERVICE SHARED`` (shared) or ``... STOP SERVICE``."""

    cacheable: ClassVar[bool] = False
    name: str
    shared: bool


@dataclass(frozen=True)
class SetClusterSetting:
    cacheable: ClassVar[bool] = False
    setting: str
    value: str


@dataclass(frozen=True)
class ShowClusterSetting:
    cacheable: ClassVar[bool] = True
    setting: str


Command = CreateVirtualCluster | ShowVirtualClusters | AlterService | SetClusterSetting | ShowClusterSetting


def _unquote(name: str) -> str:
    if name[0] in "`\"":
        q = name[0]
        return name[1:-1].replace(q + q, q)
    return name


def _value(text: str) -> str:
    return text[1:-1].replace("''", "'") if text.startswith("'") else text


def parse_pcr(text: str) -> Command | None:
    """The command in ``text``; None when it is not one of these statements; 1064 when it is
    malformed; 1235 for the forms drlab does not build yet."""
    if not _HEAD.match(text):
        return None
    if m := _CREATE.fullmatch(text):
        return CreateVirtualCluster(_unquote(m.group(2)), bool(m.group(1)))
    if _CREATE_FROM.match(text):
        raise not_supported("CREATE VIRTUAL CLUSTER ... FROM REPLICATION OF (physical cluster replication streams)")
    if m := _SHOW_WITH.match(text):
        raise not_supported(f"SHOW VIRTUAL CLUSTER ... WITH {' '.join(m.group(1).upper().split())}")
    if m := _SHOW.fullmatch(text):
        return ShowVirtualClusters(_unquote(m.group(1)) if m.group(1) else None)
    if m := _SERVICE.fullmatch(text):
        return AlterService(_unquote(m.group(1)), m.group(2).lower().startswith("start"))
    if m := _ALTER_OTHER.match(text):
        words = " ".join(m.group(2).upper().split())
        for form in ("PAUSE REPLICATION", "RESUME REPLICATION", "COMPLETE REPLICATION", "START REPLICATION",
                     "SET REPLICATION", "RENAME", "GRANT", "REVOKE"):
            if words.startswith(form):
                raise not_supported(f"ALTER VIRTUAL CLUSTER ... {form}")
    if m := _SET.fullmatch(text):
        return SetClusterSetting(m.group(1).lower(), _value(m.group(2)))
    if m := _SHOW_SETTING.fullmatch(text):
        return ShowClusterSetting(m.group(1).lower())
    head = " ".join(text.split()[:3]).upper()
    if head.startswith(("SHOW JOB", "SELECT")):
        raise not_supported("SHOW JOBS / SHOW JOB WHEN COMPLETE (CockroachDB's replication jobs)")
    if head.startswith(("DROP VIRTUAL", "SHOW ALL", "SHOW CLUSTER SETTINGS")):
        raise not_supported(" ".join(text.split()[:3]).upper().rstrip(";"))
    raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected CREATE VIRTUAL CLUSTER <name>, "
                             "SHOW VIRTUAL CLUSTER[S] [<name>], ALTER VIRTUAL CLUSTER <name> START SERVICE SHARED | "
                             "STOP SERVICE, SET CLUSTER SETTING <setting> = <value> or SHOW CLUSTER SETTING <setting>")
