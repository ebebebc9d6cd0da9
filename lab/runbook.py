"""`drlab runbook FILE`: run a DR runbook (YAML) against the lab while a built-in application writes,
and report what it cost: each step's duration and outcome, the RPO (acknowledged writes missing
from the final primary), the RTO (the longest stretch the application could not write) and whether
the final checksums agree."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from lab import client as ping
from lab import local as labmod
from lab.app import COLUMNS as app_columns
from lab.app import WritingApp

ACTIONS = ("sql", "kill", "start", "stop", "pause", "resume", "repoint", "sleep", "wait", "check", "app")
NODE_ACTIONS = ("kill", "start", "stop", "pause", "resume", "repoint")


class RunbookError(Exception):
    """A runbook that cannot run as written: exit 2 with this message."""


# -- node access -----------------------------------------------------------------------------------
def query(lab: labmod.Lab, password: str, node: str, sql: str, timeout: float = 5.0) -> tuple[list[str], list[tuple]]:
    s = lab.service(node)
    with ping.connect(s.address, s.port, "root", password, timeout) as conn, conn.cursor() as cur:
        cur.execute(ping.expand_password(sql, password))
        return [d[0] for d in cur.description or []], list(cur.fetchall()) if cur.description else []


def database_info(lab: labmod.Lab, password: str, node: str, database: str) -> dict[str, Any] | None:
    cols, rows = query(lab, password, node, "SHOW DATABASES EXTENDED", 2.0)
    for row in rows:
        r = dict(zip(cols, row, strict=False))
        if r.get("Database") == database:
            return r
    return None


def lsn(position: Any) -> int:
    return int(str(position).rpartition(":")[2])


def checksums(lab: labmod.Lab, password: str, node: str, database: str) -> dict[str, str]:
    """Per table: a SHA-256 of its rows in primary-key order (the same content hashes the same)."""
    out = {}
    _, tables = query(lab, password, node, f"SHOW TABLES FROM `{database}`")
    for (table,) in tables:
        _, rows = query(lab, password, node, f"SELECT * FROM `{database}`.`{table}` ORDER BY 1", 30.0)
        out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return out


# -- the runner ------------------------------------------------------------------------------------
@dataclass
class StepResult:
    index: int
    title: str
    ok: bool = True
    duration_s: float = 0.0
    detail: str = ""
    started_s: float = 0.0  # since the runbook started


@dataclass
class Runner:
    book: dict[str, Any]
    lab: labmod.Lab
    password: str
    quiet: bool = False
    results: list[StepResult] = field(default_factory=list)
    app: WritingApp | None = None
    lag_at_kill: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    t_wall: float = 0.0
    heartbeat_s: float = 5.0  # a step that runs longer says it is still running this often
    last_seen: str = ""  # what the running wait step saw last (for the heartbeat line)

    def app_connection(self, node: str) -> Any:
        """The application's connection to a lab node: short timeouts, so an outage shows at once."""
        s = self.lab.service(node)
        return pymysql.connect(host=s.address, port=s.port, user="root", password=self.password,
                               autocommit=True, connect_timeout=1, read_timeout=2, write_timeout=2)

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def app_text(self) -> str:
        if self.app is None:
            return ""
        rate = self.app.rate_now()
        shown = "-" if rate is None else f"{rate:.0f}"
        return f" | app: {shown} writes/s, {labmod.plural(len(self.app.failed), 'error')}"

    def heartbeat(self, i: int, n: int, title: str, done: threading.Event) -> None:
        """Say every ``heartbeat_s`` that a long step is still running, so a long wait is not silence."""
        t0 = time.monotonic()
        while not done.wait(self.heartbeat_s):
            seen = f"; last seen: {self.last_seen}" if self.last_seen else ""
            self.say(f"[{i}/{n}] {title}: still running after {time.monotonic() - t0:.0f}s{seen}{self.app_text()}")

    def run(self) -> dict[str, Any]:
        self.t_wall = time.time()
        spec = self.book.get("app") or {}
        if spec:
            table = f"`{spec['database']}`.`{spec.get('table', 'drlab_app_writes')}`"
            self.app = WritingApp(self.app_connection, spec["primary"], [table], float(spec.get("rate", 50)))
            query(self.lab, self.password, spec["primary"], f"CREATE TABLE IF NOT EXISTS {table} {app_columns}")
            self.app.start()
        steps = self.book["steps"]
        t_start = time.monotonic()
        for i, step in enumerate(steps, 1):
            title = step.get("name") or describe(step)
            res = StepResult(i, title)
            t0 = time.monotonic()
            res.started_s = round(time.time() - self.t_wall, 3)
            done = threading.Event()
            self.last_seen = ""
            beat = threading.Thread(target=self.heartbeat, args=(i, len(steps), title, done), daemon=True)
            beat.start()
            try:
                res.detail = self.step(step) or ""
            except (AssertionError, pymysql.MySQLError, OSError, labmod.LabError, TimeoutError) as e:
                res.ok = False
                res.detail = _error_text(e)
            finally:
                done.set()
                beat.join()
            res.duration_s = round(time.monotonic() - t0, 3)
            self.results.append(res)
            self.say(f"[{i}/{len(steps)}] {title}: {'ok' if res.ok else 'FAILED'} ({res.duration_s:.2f}s)"
                     f"{' - ' + res.detail if res.detail else ''}{self.app_text()}")
            if not res.ok:
                break
        self.close_sessions()
        return self.report(time.monotonic() - t_start)

    def step(self, step: dict[str, Any]) -> str:
        action = next(a for a in ACTIONS if a in step)
        value = step[action]
        if action == "sql":
            return self.sql(step)
        if action == "repoint":
            assert self.app is not None, "repoint needs an app section"
            self.app.repoint(value)
            return f"the application now writes to {value}"
        if action in NODE_ACTIONS:
            if action == "kill":
                self.lag_at_kill = self.lags()
            if action in ("kill", "stop", "start"):
                stale = self.sessions.pop(value, None)
                if stale is not None:
                    with contextlib.suppress(Exception):
                        stale.close()
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                rc = labmod.fault(self.lab, action, value, self.password)
            assert rc == 0, out.getvalue().strip()
            text = out.getvalue().strip()
            if action == "kill" and self.lag_at_kill:
                text += "; replica lag just before: " + lag_text(self.lag_at_kill)
            return text
        if action == "sleep":
            time.sleep(float(value))
            return ""
        if action == "app":
            assert self.app is not None, "app steps need an app section"
            assert value in ("pause", "resume"), f"app: expected pause or resume, got {value!r}"
            (self.app.pause if value == "pause" else self.app.resume)()
            return f"application writes {'paused' if value == 'pause' else 'resumed'}"
        if action == "wait":
            return self.wait(value, float(step.get("deadline", 30)))
        return self.check(value, float(step.get("deadline", 15)))

    def sql(self, step: dict[str, Any]) -> str:
        statements = step["sql"] if isinstance(step["sql"], list) else [step["sql"]]
        expect_error = step.get("expect_error")
        for stmt in statements:
            try:
                rows = self.session_query(step["on"], stmt, float(step.get("timeout", 120)), step.get("database"))
            except pymysql.MySQLError as e:
                if expect_error is not None and e.args and e.args[0] == int(expect_error):
                    return f"expected error {e.args[0]}: {e.args[1] if len(e.args) > 1 else ''}"
                raise
            if expect_error is not None:
                raise AssertionError(f"expected error {expect_error}, but `{stmt}` succeeded")
            if "expect" in step:
                got = [list(r) for r in rows]
                assert got == step["expect"], f"expected {step['expect']}, got {got}"
        return ""

    def session_query(self, node: str, stmt: str, timeout: float, database: str | None = None) -> list[tuple]:
        """Run on the runbook's own session on that node (one per initial database, e.g. a PCR virtual
        cluster's 'cluster:main/app'): kept across steps, as an operator's client is (FLUSH TABLES ...
        WITH READ ONLY holds until UNLOCK TABLES on the same session)."""
        key = node if database is None else f"{node} {database}"
        conn = self.sessions.get(key)
        if conn is not None and not conn.open:
            conn = None
        if conn is None:
            s = self.lab.service(node)
            conn = self.sessions[key] = ping.connect(s.address, s.port, "root", self.password, timeout, database)
        conn._read_timeout = timeout  # noqa: SLF001 - pymysql applies it per read
        try:
            with conn.cursor() as cur:
                cur.execute(ping.expand_password(stmt, self.password))
                return list(cur.fetchall()) if cur.description else []
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError):
            self.sessions.pop(key, None)
            with contextlib.suppress(Exception):
                conn.close()
            raise

    def close_sessions(self) -> None:
        for conn in self.sessions.values():
            with contextlib.suppress(Exception):
                conn.close()
        self.sessions.clear()

    def wait(self, cond: dict[str, Any], deadline: float) -> str:
        end = time.monotonic() + deadline
        last: Any = None
        while True:
            try:
                ok, last = self.condition(cond)
                if ok:
                    return f"reached: {last}"
            except (pymysql.MySQLError, OSError, KeyError, ValueError) as e:
                last = _error_text(e)
            self.last_seen = str(last)
            if time.monotonic() > end:
                raise TimeoutError(f"not reached within {deadline:g}s; last: {last}")
            time.sleep(0.05)

    def condition(self, cond: dict[str, Any]) -> tuple[bool, Any]:
        if "app_writes_to" in cond:  # the app's last acknowledged write came from there: none in flight elsewhere
            assert self.app is not None, "app_writes_to needs an app section"
            last = self.app.acked[-1].node if self.app.acked else None
            return last == cond["app_writes_to"], f"last write acknowledged by {last}"
        node = cond["on"]
        if "query" in cond:  # any statement's answer, e.g. SHOW VIRTUAL CLUSTERS (CockroachDB's PCR)
            got = [list(r) for r in self.session_query(node, cond["query"], 10.0, cond.get("database"))]
            return got == cond["expect"], got
        if "node" in cond:
            _, status = labmod.node_status(self.lab, self.lab.service(node))
            return status == cond["node"], status
        db = cond["database"]
        info = database_info(self.lab, self.password, node, db)
        if info is None:
            return False, f"{db} not on {node}"
        seen = f"{info.get('Role')} {info.get('State')} at {info.get('Position')}"
        if "caught_up_with" in cond:
            other = database_info(self.lab, self.password, cond["caught_up_with"], db)
            assert other is not None, f"{db} not on {cond['caught_up_with']}"
            ok = lsn(info["Position"]) >= lsn(other["Position"])
            return ok, f"{node} at {info['Position']}, {cond['caught_up_with']} at {other['Position']}"
        ok = all(str(info.get(k.capitalize())) == str(cond[k]) for k in ("state", "role") if k in cond)
        return ok, seen

    def check(self, cond: dict[str, Any], deadline: float) -> str:
        if "checksums_equal" in cond:
            nodes, db = cond["checksums_equal"], cond["database"]
            if self.app:
                self.app.pause()
            try:
                end = time.monotonic() + deadline
                while True:
                    sums = {n: checksums(self.lab, self.password, n, db) for n in nodes}
                    if all(s == sums[nodes[0]] for s in sums.values()) and sums[nodes[0]]:
                        return f"{labmod.plural(len(sums[nodes[0]]), 'table')} equal on {', '.join(nodes)}"
                    differ = sorted({t for v in sums.values() for t in v
                                     if len({str(x.get(t)) for x in sums.values()}) > 1})
                    self.last_seen = f"tables that differ: {', '.join(differ) or 'none'}"
                    if time.monotonic() > end:
                        raise AssertionError(f"{db} differs between {', '.join(nodes)} after {deadline:g}s: "
                                             f"tables {', '.join(differ)} do not have the same rows")
                    time.sleep(0.1)
            finally:
                if self.app:
                    self.app.resume()
        if "lost_writes" in cond:
            rpo = self.rpo()
            assert rpo["lost_writes"] == int(cond["lost_writes"]), lost_text(rpo, int(cond["lost_writes"]))
            return f"{labmod.plural(rpo['lost_writes'], 'acknowledged write')} missing from {rpo['final_primary']}"
        raise AssertionError(f"unknown check {cond}")

    def lags(self) -> dict[str, dict[str, Any]]:
        """Per replica (node/database): records and seconds behind, as the views report them."""
        out = {}
        for s in self.lab.services:
            if labmod.node_status(self.lab, s)[1] != "up":
                continue
            try:
                _, rows = query(self.lab, self.password, s.name,
                                "SELECT database_name, lsn_lag, lag_seconds FROM information_schema.MV_REPLICATION_STATUS",
                                2.0)
            except pymysql.MySQLError:
                continue
            for name, lag, secs in rows:
                out[f"{s.name}/{name}"] = {"records": int(lag), "seconds": None if secs is None else float(secs)}
        return out

    def rpo(self) -> dict[str, Any]:
        assert self.app is not None
        final = self.app.target
        acked = list(self.app.acked)  # before the query: a write acknowledged after it is not "lost"
        _, rows = query(self.lab, self.password, final, f"SELECT seq FROM {self.app.tables[0]}", 30.0)
        present = {r[0] for r in rows}
        lost = [(a.seq, a.at, a.node) for a in acked if a.seq not in present]
        missing = [(seq, t) for seq, t, _ in lost]
        window = (max(t for _, t in missing) - min(t for _, t in missing)) if missing else 0.0
        return {"final_primary": final, "acknowledged_writes": len(acked), "lost_writes": len(missing),
                "lost_window_s": round(window, 3), "lost_first_seq": missing[0][0] if missing else None,
                "lost_sample": [{"seq": q, "acknowledged_by": n, "at_s": round(t - self.t_wall, 3)}
                                for q, t, n in lost[:5]]}

    def report(self, elapsed: float) -> dict[str, Any]:
        rep: dict[str, Any] = {"runbook": self.book.get("name", ""), "ok": all(r.ok for r in self.results)
                               and len(self.results) == len(self.book["steps"]), "duration_s": round(elapsed, 3),
                               "steps": [r.__dict__ for r in self.results]}
        if self.app is not None:
            self.app.stop()
            try:
                rep["rpo"] = self.rpo()
            except (pymysql.MySQLError, OSError) as e:
                rep["rpo"] = {"final_primary": self.app.target, "error": _error_text(e)}
            longest = max((b - a for a, b in self.app.outages), default=0.0)
            rep["rto_s"] = round(longest, 3)
            rep["app"] = {"acknowledged_writes": len(self.app.acked), "failed_attempts": len(self.app.failed),
                          "outages": len(self.app.outages), "last_error": self.app.last_error}
            rep["lag_at_kill"] = self.lag_at_kill
            rep["checksums"] = self.final_checksums()
        return rep

    def final_checksums(self) -> dict[str, Any]:
        assert self.app is not None
        db = self.book["app"]["database"]
        up = [s.name for s in self.lab.services if labmod.node_status(self.lab, s)[1] == "up"]
        sums: dict[str, Any] = {}
        end = time.monotonic() + 10
        while True:
            for n in up:
                try:
                    sums[n] = checksums(self.lab, self.password, n, db)
                except pymysql.MySQLError as e:
                    sums[n] = _error_text(e)
            values = list(sums.values())
            equal = all(v == values[0] for v in values)
            if equal or time.monotonic() > end:
                return {"database": db, "nodes": sums, "equal": equal}
            time.sleep(0.2)


def _error_text(e: BaseException) -> str:
    if isinstance(e, pymysql.MySQLError) and len(e.args) > 1:
        hint = " (is the node up? see `drlab lab status`)" if e.args[0] in (2003, 2013) else ""
        return f"ERROR {e.args[0]}: {e.args[1]}{hint}"
    return str(e) or type(e).__name__


def lag_text(lags: dict[str, dict[str, Any]]) -> str:
    parts = []
    for where, lag in lags.items():
        secs = f" ({lag['seconds']:.3g}s)" if lag.get("seconds") is not None else ""
        parts.append(f"{where} {labmod.plural(lag['records'], 'record')}{secs}")
    return ", ".join(parts)


def lost_text(rpo: dict[str, Any], expected: int) -> str:
    """A failed `lost_writes` check as a sentence: how many, which, acknowledged by whom and when."""
    text = (f"{labmod.plural(rpo['lost_writes'], 'acknowledged write')} missing from {rpo['final_primary']} "
            f"(expected {expected})")
    sample = rpo.get("lost_sample") or []
    if sample:
        shown = ", ".join(f"seq {w['seq']} acknowledged by {w['acknowledged_by']} at {w['at_s']:.2f}s"
                          for w in sample)
        more = rpo["lost_writes"] - len(sample)
        text += f": {shown}{f' and {more} more' if more > 0 else ''}"
    return text


def describe(step: dict[str, Any]) -> str:
    """An unnamed step as a sentence."""
    action = next(a for a in ACTIONS if a in step)
    value = step[action]
    if action == "sql":
        stmts = value if isinstance(value, list) else [value]
        return f"on {step['on']}: {'; '.join(str(x) for x in stmts)}"
    if action == "wait":
        if "app_writes_to" in value:
            return f"wait until the application writes to {value['app_writes_to']}"
        if "node" in value:
            return f"wait until {value['on']} is {value['node']}"
        if "caught_up_with" in value:
            return f"wait until {value['database']} on {value['on']} has caught up with {value['caught_up_with']}"
        want = " ".join(str(value[k]) for k in ("role", "state") if k in value)
        return f"wait until {value.get('database')} on {value.get('on')} is {want or 'there'}"
    if action == "check":
        if "checksums_equal" in value:
            return f"check that {value.get('database')} is the same on {', '.join(value['checksums_equal'])}"
        if "lost_writes" in value:
            n = int(value["lost_writes"])
            return ("check that no acknowledged write was lost" if n == 0 else
                    f"check that exactly {labmod.plural(n, 'acknowledged write')} {'was' if n == 1 else 'were'} lost")
        return f"check {value}"
    verbs = {"kill": "kill {} (SIGKILL)", "start": "start {}", "stop": "stop {} (SIGTERM)",
             "pause": "pause {} (SIGSTOP)", "resume": "resume {} (SIGCONT)",
             "repoint": "point the application at {}", "sleep": "let the application run for {}s",
             "app": "{} the application's writes"}
    return verbs[action].format(value)


# -- loading ---------------------------------------------------------------------------------------
def load(path: Path) -> dict[str, Any]:
    book = labmod.read_yaml(path, "runbook")
    if not isinstance(book, dict) or not isinstance(book.get("steps"), list) or not book["steps"]:
        raise RunbookError(f"runbook {path} has no steps (expected a mapping with a `steps:` list)")
    return _on_keys(book)


def _on_keys(value: Any) -> Any:
    """YAML 1.1 reads an unquoted `on:` key as the boolean true: give it its name back."""
    if isinstance(value, dict):
        return {("on" if k is True else k): _on_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_on_keys(v) for v in value]
    return value


def validate(book: dict[str, Any], nodes: list[str]) -> None:
    def node(where: str, name: Any) -> None:
        if name not in nodes:
            raise RunbookError(f"{where}: unknown node {name!r}; the lab's nodes are {', '.join(nodes)}")

    app = book.get("app")
    if app is not None:
        for key in ("database", "primary"):
            if key not in app:
                raise RunbookError(f"app: missing `{key}`")
        node("app.primary", app["primary"])
    for i, step in enumerate(book["steps"], 1):
        where = f"step {i}"
        if not isinstance(step, dict):
            raise RunbookError(f"{where}: expected a mapping, got {step!r}")
        actions = [a for a in ACTIONS if a in step]
        if len(actions) != 1:
            raise RunbookError(f"{where}: expected exactly one of {', '.join(ACTIONS)}; got {sorted(step)}")
        action = actions[0]
        if action in NODE_ACTIONS:
            node(where, step[action])
        if action == "sql":
            node(where, step.get("on"))
        if action in ("wait", "check"):
            cond = step[action]
            if not isinstance(cond, dict):
                raise RunbookError(f"{where}: {action} expects a mapping")
            for key in ("on", "caught_up_with", "app_writes_to"):
                if key in cond:
                    node(where, cond[key])
            for n in cond.get("checksums_equal", []):
                node(where, n)
        if action in ("repoint", "app", "check") and app is None and (action != "check" or "lost_writes" in step[action]):
            raise RunbookError(f"{where}: `{action}` needs an `app:` section")


def lab_nodes(book: dict[str, Any], path: Path, args: argparse.Namespace) -> tuple[list[str], Path | None]:
    """The node names the runbook may use, and the compose file of a fresh lab (None: use the running one)."""
    spec = book.get("lab") or {}
    if not spec.get("fresh"):
        return [s.name for s in labmod.Lab.load(labmod.lab_dir(args)).services], None
    compose = Path(spec.get("compose", "docker-compose.yml"))
    if not compose.is_absolute() and (path.parent / compose).exists():
        compose = path.parent / compose
    services = labmod.read_compose(compose)["services"]
    names = [n for n, svc in services.items() if labmod.command_argv(svc or {})[:2] == ["drlab", "node"]]
    return names, compose


def fresh_lab(compose: Path, args: argparse.Namespace) -> None:
    """`drlab lab up --fresh` from the runbook's compose file, on the lab's current addresses."""
    d = labmod.lab_dir(args)
    first = args.first_address or "127.0.0.2"
    if (d / "lab.json").exists() and not args.first_address:
        old = labmod.Lab.load(d)
        if old.services:
            first = old.services[0].address
    ns = argparse.Namespace(dir=str(d), file=str(compose), first_address=first, no_setup=False, timeout=30.0,
                            fresh=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = labmod.up(ns)
    if rc != 0:
        raise RunbookError(f"could not bring the lab up:\n{out.getvalue()}")


def clip(text: str, width: int) -> str:
    """Cut to ``width`` characters, ending in an ellipsis when something was cut."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def format_report(rep: dict[str, Any]) -> str:
    lines = [f"runbook: {rep['runbook']}  ({'OK' if rep['ok'] else 'FAILED'}, {rep['duration_s']:.2f}s)", ""]
    rows = [[str(s["index"]), clip(s["title"], 70), "ok" if s["ok"] else "FAILED", f"{s['duration_s']:.2f}s",
             clip(s["detail"], 100)] for s in rep["steps"]]
    lines.append(labmod.table(["#", "STEP", "OUTCOME", "TIME", "DETAIL"], rows))
    if "rpo" in rep:
        r, a = rep["rpo"], rep["app"]
        lines += ["", f"application: {labmod.plural(a['acknowledged_writes'], 'acknowledged write')}, "
                      f"{labmod.plural(a['failed_attempts'], 'failed attempt')}, {labmod.plural(a['outages'], 'outage')}"]
        if "error" in r:
            lines.append(f"RPO: unknown, the final primary {r['final_primary']} did not answer: {r['error']}")
        else:
            lines.append(f"RPO: {labmod.plural(r['lost_writes'], 'acknowledged write')} lost on the final primary "
                         f"{r['final_primary']} (window {r['lost_window_s']:.3f}s)")
        lines.append(f"RTO: {rep['rto_s']:.3f}s (the longest stretch the application could not write)")
        if rep.get("lag_at_kill"):
            lines.append("replica lag at the kill: " + lag_text(rep["lag_at_kill"]))
        c = rep["checksums"]
        lines.append(f"checksums of {c['database']} on {', '.join(c['nodes']) or 'no node'}: "
                     f"{'equal' if c['equal'] else 'DIFFER'}")
    return "\n".join(lines)


def require_running(book: dict[str, Any], lab: labmod.Lab) -> None:
    """A runbook needs a running lab (a runbook may stop nodes itself, and start them again, but
    its application needs its primary up): say which command gets there."""
    down = [s.name for s in lab.services if labmod.node_status(lab, s)[1] != "up"]
    if len(down) == len(lab.services):
        raise RunbookError(f"the lab in {lab.dir} is not running ({', '.join(down)} down): run `drlab lab up` first")
    primary = (book.get("app") or {}).get("primary")
    if primary in down:
        raise RunbookError(f"the application's primary {primary} is down: start it with `drlab lab start {primary}` "
                           "(or `drlab lab up`)")


def main(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        book = load(path)
        names, compose = lab_nodes(book, path, args)
        validate(book, names)
        if compose is not None:
            fresh_lab(compose, args)
        lab = labmod.Lab.load(labmod.lab_dir(args))
        require_running(book, lab)
        runner = Runner(book, lab, labmod.lab_password(lab.dir), quiet=False, heartbeat_s=args.heartbeat)
        rep = runner.run()
    except (RunbookError, labmod.LabError) as e:
        print(f"drlab runbook: {e}", file=sys.stderr)
        return 2
    print(json.dumps(rep, indent=2, default=str) if args.json else format_report(rep))
    return 0 if rep["ok"] else 1
