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

FIRST_WORDS = ("CREATE", "ALTER", "DROP", "SHOW", "SET", "SELECT", "PCR")
"""The first words of the statements this grammar may own (the parse entry offers it only those)."""

_NAME = r"(`(?:[^`]|``)+`|\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$-]*)"
_SETTING = r"([A-Za-z_][\w.]*)"
_VALUE = r"('(?:[^']|'')*'|[\w.+-]+)"
_END = r"\s*;?\s*"

_HEAD = re.compile(r"\s*(?:pcr\s+source\b|(?:create|alter|drop|show)\s+virtual\s+clusters?\b|(?:set|show)\s+cluster\s+setting\b"
                   r"|show\s+(?:jobs?|all\s+cluster\s+settings|cluster\s+settings)\b"
                   r"|select\s[^\[;]*\[\s*show\s+jobs\s*\])", re.I)
_CREATE = re.compile(r"\s*create\s+virtual\s+cluster\s+(if\s+not\s+exists\s+)?" + _NAME + _END, re.I | re.S)
_CREATE_FROM = re.compile(r"\s*create\s+virtual\s+cluster\s+.*\bfrom\s+replication\b", re.I | re.S)
_CREATE_REPL = re.compile(r"\s*create\s+virtual\s+cluster\s+(if\s+not\s+exists\s+)?" + _NAME
                          + r"\s+from\s+replication\s+of\s+" + _NAME + r"\s+on\s+('(?:[^']|'')*')"
                          + r"(?:\s+with\s+(.*?))?" + _END, re.I | re.S)
_RETENTION = re.compile(r"(?:options\s*\(\s*)?retention\s*=?\s*('(?:[^']|'')*')\s*\)?", re.I | re.S)
_READ_VC = re.compile(r"read\s+virtual\s+cluster", re.I)
_STATUS = re.compile(r"\s*show\s+virtual\s+cluster\s+" + _NAME + r"\s+with\s+replication\s+status" + _END, re.I | re.S)
_PAUSE = re.compile(r"\s*alter\s+virtual\s+cluster\s+" + _NAME + r"\s+(pause|resume)\s+replication" + _END,
                    re.I | re.S)
_COMPLETE = re.compile(r"\s*alter\s+virtual\s+cluster\s+" + _NAME + r"\s+complete\s+replication\s+to\s+"
                       r"(latest|system\s+time\s+('(?:[^']|'')*'|[\d.]+))" + _END, re.I | re.S)
_FAILBACK = re.compile(r"\s*alter\s+virtual\s+cluster\s+" + _NAME + r"\s+start\s+replication\s+of\s+" + _NAME
                       + r"\s+on\s+('(?:[^']|'')*')(?:\s+with\s+(.*?))?" + _END, re.I | re.S)
_SHOW_JOBS = re.compile(r"\s*show\s+jobs" + _END, re.I | re.S)
_SHOW_JOB = re.compile(r"\s*show\s+job\s+(when\s+complete\s+)?(\d+)" + _END, re.I | re.S)
_SELECT_JOBS = re.compile(r"\s*select\s+(.+?)\s+from\s+\[\s*show\s+jobs\s*\](?:\s+where\s+(.+?))?" + _END,
                          re.I | re.S)
_SOURCE = re.compile(r"\s*pcr\s+source\s+('(?:[^']|'')*')" + _END, re.I | re.S)
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


@dataclass(frozen=True)
class CreateReplicated:
    """``CREATE VIRTUAL CLUSTER name FROM REPLICATION OF source ON 'uri' [WITH RETENTION = 'd']``."""

    cacheable: ClassVar[bool] = False
    name: str
    source_name: str
    uri: str
    retention: float | None  # seconds; None: the default window
    if_not_exists: bool


@dataclass(frozen=True)
class ShowReplicationStatus:
    cacheable: ClassVar[bool] = True
    name: str


@dataclass(frozen=True)
class PauseResume:
    cacheable: ClassVar[bool] = False
    name: str
    pause: bool


@dataclass(frozen=True)
class CompleteReplication:
    """``... COMPLETE REPLICATION TO LATEST`` (at None) or ``TO SYSTEM TIME 'at'`` (at as written)."""

    cacheable: ClassVar[bool] = False
    name: str
    at: str | None


@dataclass(frozen=True)
class StartReplication:
    """``ALTER VIRTUAL CLUSTER name START REPLICATION OF source ON 'uri'``: failback."""

    cacheable: ClassVar[bool] = False
    name: str
    source_name: str
    uri: str


@dataclass(frozen=True)
class ShowJobs:
    """``SHOW JOBS`` (columns "*", no filter) or ``SELECT <columns> FROM [SHOW JOBS] [WHERE <condition>]``:
    the condition is evaluated over the job rows alone."""

    cacheable: ClassVar[bool] = False
    columns: str
    where: str | None


@dataclass(frozen=True)
class ShowJob:
    """``SHOW JOB [WHEN COMPLETE] <id>``."""

    cacheable: ClassVar[bool] = False
    job_id: int
    when_complete: bool


@dataclass(frozen=True)
class PcrSource:
    """drlab's internal ``PCR SOURCE 'name'``: a standby asks the source node for the
    databases of virtual cluster ``name`` (and whether rangefeeds are enabled)."""

    cacheable: ClassVar[bool] = False
    name: str


_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"\s*(?:(\d+(?:\.\d*)?)\s*(us|µs|ms|s|m|h|d))+\s*", re.I)
_PART = re.compile(r"(\d+(?:\.\d*)?)\s*(us|µs|ms|s|m|h|d)", re.I)


def duration(text: str) -> float | None:
    """Seconds in a CockroachDB interval such as '4h', '90m', '1h30m', '36h', '10s'; None if malformed."""
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))


Command = (CreateVirtualCluster | ShowVirtualClusters | AlterService | SetClusterSetting | ShowClusterSetting
           | CreateReplicated | ShowReplicationStatus | PauseResume | CompleteReplication | StartReplication | ShowJobs | ShowJob | PcrSource)


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
    if m := _SOURCE.fullmatch(text):
        return PcrSource(_value(m.group(1)))
    if m := _CREATE.fullmatch(text):
        return CreateVirtualCluster(_unquote(m.group(2)), bool(m.group(1)))
    if m := _CREATE_REPL.fullmatch(text):
        return _create_replicated(m)
    if _CREATE_FROM.match(text):
        raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected CREATE VIRTUAL CLUSTER <name> FROM "
                                 "REPLICATION OF <source_name> ON '<postgresql://user:password@host:port/...>' "
                                 "[WITH RETENTION = '<duration>']")
    if m := _STATUS.fullmatch(text):
        return ShowReplicationStatus(_unquote(m.group(1)))
    if m := _PAUSE.fullmatch(text):
        return PauseResume(_unquote(m.group(1)), m.group(2).lower() == "pause")
    if m := _COMPLETE.fullmatch(text):
        at = m.group(3)
        return CompleteReplication(_unquote(m.group(1)), None if at is None else _value(at))
    if m := _FAILBACK.fullmatch(text):
        if m.group(4):
            if _READ_VC.fullmatch(m.group(4).strip()):
                raise not_supported("ALTER VIRTUAL CLUSTER ... START REPLICATION ... WITH READ VIRTUAL CLUSTER")
            raise not_supported(f"ALTER VIRTUAL CLUSTER ... START REPLICATION ... WITH {m.group(4).strip().upper()}")
        return StartReplication(_unquote(m.group(1)), _unquote(m.group(2)), _value(m.group(3)))
    if m := _SHOW_WITH.match(text):
        raise not_supported(f"SHOW VIRTUAL CLUSTER ... WITH {' '.join(m.group(1).upper().split())}")
    if m := _SHOW.fullmatch(text):
        return ShowVirtualClusters(_unquote(m.group(1)) if m.group(1) else None)
    if m := _SERVICE.fullmatch(text):
        return AlterService(_unquote(m.group(1)), m.group(2).lower().startswith("start"))
    if m := _ALTER_OTHER.match(text):
        words = " ".join(m.group(2).upper().split())
        for form in ("SET REPLICATION", "RENAME", "GRANT", "REVOKE"):
            if words.startswith(form):
                raise not_supported(f"ALTER VIRTUAL CLUSTER ... {form}")
    if m := _SET.fullmatch(text):
        return SetClusterSetting(m.group(1).lower(), _value(m.group(2)))
    if m := _SHOW_SETTING.fullmatch(text):
        return ShowClusterSetting(m.group(1).lower())
    if _SHOW_JOBS.fullmatch(text):
        return ShowJobs("*", None)
    if m := _SHOW_JOB.fullmatch(text):
        return ShowJob(int(m.group(2)), bool(m.group(1)))
    if m := _SELECT_JOBS.fullmatch(text):
        if ";" in m.group(0).rstrip().rstrip(";"):
            raise SqlError(ER_PARSE, "You have an error in your SQL syntax: one statement at a time")
        return ShowJobs(m.group(1), m.group(2))
    head = " ".join(text.split()[:3]).upper()
    if head.startswith(("SHOW JOB", "SELECT")):
        raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected SHOW JOBS, SHOW JOB [WHEN COMPLETE] "
                                 "<job_id> or SELECT <columns> FROM [SHOW JOBS] [WHERE <condition>]")
    if head.startswith(("DROP VIRTUAL", "SHOW ALL", "SHOW CLUSTER SETTINGS")):
        raise not_supported(" ".join(text.split()[:3]).upper().rstrip(";"))
    raise SqlError(ER_PARSE, "You have an error in your SQL syntax: expected CREATE VIRTUAL CLUSTER <name> [FROM "
                             "REPLICATION OF <name> ON '<uri>'], SHOW VIRTUAL CLUSTER[S] [<name> [WITH REPLICATION "
                             "STATUS]], ALTER VIRTUAL CLUSTER <name> {START SERVICE SHARED | STOP SERVICE | PAUSE "
                             "REPLICATION | RESUME REPLICATION | COMPLETE REPLICATION TO {LATEST | SYSTEM TIME '<time>'} "
                             "| START REPLICATION OF <name> ON '<uri>'}, SET CLUSTER SETTING <setting> = <value> or "
                             "SHOW CLUSTER SETTING <setting>")


def _create_replicated(m: re.Match[str]) -> CreateReplicated:
    retention: float | None = None
    for option in re.split(r"\s*,\s*", (m.group(5) or "").strip()) if m.group(5) else []:
        if r := _RETENTION.fullmatch(option):
            retention = duration(_value(r.group(1)))
            if retention is None or retention <= 0:
                raise SqlError(ER_PARSE, f"RETENTION takes a duration such as '4h' or '30m', not {r.group(1)}")
        elif _READ_VC.fullmatch(option):
            raise not_supported("CREATE VIRTUAL CLUSTER ... WITH READ VIRTUAL CLUSTER")
        else:
            raise not_supported(f"CREATE VIRTUAL CLUSTER ... WITH {option.upper()}")
    return CreateReplicated(_unquote(m.group(2)), _unquote(m.group(3)), _value(m.group(4)), retention,
                            bool(m.group(1)))
