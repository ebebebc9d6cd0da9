"""`drlab lab`: the docker-compose lab as local processes.

Every compose service whose command is `drlab node ...` becomes a local node process on its own
loopback address (127.0.0.2, 127.0.0.3, ... in service order) and its container port, with a host
map naming every service, so `REPLICATE DATABASE db FROM root@cluster-a-ma:3306` resolves as it
does inside Docker. Services whose command is `drlab sql ...` are the one-shot setup: `up` runs
their statements once the nodes answer. Data, pids, logs and the generated password live under the
lab directory (default `.lab/`)."""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import yaml

from lab import client as ping
from lab.harness import node_command

LAB_DIR_ENV = "DRLAB_LAB_DIR"


class LabError(Exception):
    """A problem the user can fix; printed as `drlab lab: ...` with exit code 2."""


@dataclass
class Service:
    name: str
    address: str
    port: int
    argv: list[str]  # the `drlab node ...` arguments after `node`, rewritten for this machine
    metrics_port: int | None = None


@dataclass
class Lab:
    dir: Path
    compose_file: str = ""
    services: list[Service] = field(default_factory=list)
    setup: dict[str, list[str]] = field(default_factory=dict)  # one-shot service -> `drlab sql` arguments

    # -- persistence -------------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.dir / "lab.json"

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        data = {"compose_file": self.compose_file, "services": [asdict(s) for s in self.services],
                "setup": self.setup}
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, lab_dir: Path) -> Lab:
        try:
            data = json.loads((lab_dir / "lab.json").read_text())
        except FileNotFoundError:
            raise LabError(f"no lab in {lab_dir}: run `drlab lab up` first") from None
        except (OSError, json.JSONDecodeError) as e:
            raise LabError(f"cannot read {lab_dir / 'lab.json'}: {e}") from None
        return cls(lab_dir, data.get("compose_file", ""), [Service(**s) for s in data.get("services", [])],
                   data.get("setup", {}))

    def service(self, name: str) -> Service:
        for s in self.services:
            if s.name == name:
                return s
        raise LabError(f"no node named {name!r} in this lab; nodes: {', '.join(s.name for s in self.services)}")

    # -- per-service files -------------------------------------------------------------------------
    def node_dir(self, s: Service) -> Path:
        return self.dir / s.name

    def pid_file(self, s: Service) -> Path:
        return self.node_dir(s) / "node.pid"

    def log_file(self, s: Service) -> Path:
        return self.node_dir(s) / "node.log"

    def data_dir(self, s: Service) -> Path:
        return self.node_dir(s) / "data"

    @property
    def files_dir(self) -> Path:
        """The pipeline files every node reads (each node's `--secure-file-priv`)."""
        return self.dir / "files"

    @property
    def host_map_file(self) -> Path:
        return self.dir / "hosts.json"

    def host_map(self) -> dict[str, str]:
        return {s.name: s.address for s in self.services}


# -- compose ---------------------------------------------------------------------------------------
_VAR = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str, env: dict[str, str], strict: bool = False) -> str:
    """Compose interpolation: `$$` is a literal `$`; `${VAR}`, `${VAR:-default}`, `${VAR:?error}`.
    Variables are left as they are unless ``strict`` (the lab never needs their values)."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        value = env.get(name)
        op, arg = m.group(2), m.group(3)
        if op and ":" in op and not value:
            value = None
        if value is not None:
            return value
        if op and op.endswith("-"):
            return arg or ""
        if strict:
            raise LabError(arg or f"variable {name} is not set")
        return m.group(0)

    return _VAR.sub(sub, text)


def command_argv(service: dict[str, Any]) -> list[str]:
    """A compose service's command as an argument list ($$ unescaped), entrypoint included."""
    parts: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if value is None:
            continue
        parts += shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
    return [interpolate(p, {}) for p in parts]


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file, or a LabError that names it (`what`: "compose file", "runbook")."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LabError(f"{what} {path} not found") from None
    except yaml.YAMLError as e:
        raise LabError(f"{what} {path} is not valid YAML: {e}") from None


def read_compose(path: Path) -> dict[str, Any]:
    data = read_yaml(path, "compose file")
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict) or not data["services"]:
        raise LabError(f"compose file {path} has no services")
    return data


def plan(compose: dict[str, Any], lab_dir: Path, compose_file: str, first_address: str) -> Lab:
    """The lab for a compose file: its drlab node services and its `drlab sql` setup services."""
    from lab.cli import build_parser

    parser = build_parser()
    lab = Lab(lab_dir, compose_file)
    try:
        addr = ipaddress.IPv4Address(first_address)
    except ValueError:
        raise LabError(f"--first-address {first_address!r} is not an IPv4 address") from None
    if not addr.is_loopback:
        raise LabError(f"--first-address {first_address} is not a loopback address (127.x.y.z)")
    for name, svc in compose["services"].items():
        argv = command_argv(svc or {})
        if argv[:2] == ["drlab", "sql"]:
            lab.setup[name] = argv[2:]
            continue
        if argv[:2] != ["drlab", "node"]:
            continue
        try:
            args = parser.parse_args(argv[1:])
        except SystemExit:
            raise LabError(f"service {name}: `{shlex.join(argv)}` is not a valid drlab node command") from None
        node = Service(name, str(addr), args.port, [], args.metrics_port)
        addr += 1
        node.argv = ["--host", node.address, "--port", str(args.port), "--name", args.name or name,
                     "--data", str(lab.data_dir(node)), "--host-map", str(lab.host_map_file),
                     "--log-level", args.log_level]
        if args.metrics_port:
            node.argv += ["--metrics-port", str(args.metrics_port)]
        if args.secure_file_priv:  # one directory for every node: two clusters reading one bucket
            node.argv += ["--secure-file-priv", str(lab.files_dir)]
        lab.services.append(node)
    if not lab.services:
        raise LabError(f"compose file {compose_file} has no `drlab node` service")
    return lab


# -- processes -------------------------------------------------------------------------------------
PASSWORD_FILE = "password"  # a generated password (mode 600, never printed)
PASSWORD_CHECK_FILE = "password.check"  # a salted hash of $DRLAB_ROOT_PASSWORD: the lab never stores it


def _fingerprint(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000).hex()


def lab_password(lab_dir: Path) -> str:
    """The lab's root password, fixed when the lab is created: $DRLAB_ROOT_PASSWORD, else a generated
    one. Every node sets root's password from it at start and every link stored it in its REPLICATE,
    so a different password later would lock the links out: refuse it, saying how to get out."""
    env = os.environ.get(ping.PASSWORD_ENV) or None
    generated, check = lab_dir / PASSWORD_FILE, lab_dir / PASSWORD_CHECK_FILE
    way_out = f"or start over with `drlab lab reset` (deletes the lab's data in {lab_dir})"
    if generated.exists():
        pw = generated.read_text().strip()
        if env is not None and env != pw:
            raise LabError(f"this lab was created without ${ping.PASSWORD_ENV}; its nodes and replication links use "
                           f"the password generated in {generated}. Starting it with the ${ping.PASSWORD_ENV} you "
                           f"exported would replace root's password and lock the links out: unset it, {way_out}")
        return pw
    if check.exists():
        salt_hex, _, digest = check.read_text().strip().partition(":")
        if env is None:
            raise LabError(f"this lab was created with ${ping.PASSWORD_ENV}: export the same password again, {way_out}")
        if _fingerprint(env, bytes.fromhex(salt_hex)) != digest:
            raise LabError(f"${ping.PASSWORD_ENV} is not the password this lab was created with; starting its nodes "
                           f"with it would replace root's password and lock the replication links out: export the "
                           f"lab's password, {way_out}")
        return env
    lab_dir.mkdir(parents=True, exist_ok=True)
    if env is None and any(lab_dir.glob("*/data")):
        raise LabError(f"the lab in {lab_dir} has data but no record of its password (made by an older drlab "
                       f"with ${ping.PASSWORD_ENV}): export that password, {way_out}")
    if env is not None:
        salt = secrets.token_bytes(16)
        check.write_text(f"{salt.hex()}:{_fingerprint(env, salt)}\n")
        return env
    pw = secrets.token_urlsafe(18)
    fd = os.open(generated, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(pw + "\n")
    return pw


def _proc_state(pid: int) -> str | None:
    """The kernel's one-letter state of a process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def node_pid(lab: Lab, s: Service) -> int | None:
    """The pid of this lab node's process, checked against its command line (pids get reused)."""
    try:
        pid = int(lab.pid_file(s).read_text().strip())
    except (OSError, ValueError):
        return None
    state = _proc_state(pid)
    if state is None or state in ("Z", "X"):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if str(lab.data_dir(s)).encode() not in cmdline:
        return None
    return pid


def node_status(lab: Lab, s: Service) -> tuple[int | None, str]:
    pid = node_pid(lab, s)
    if pid is None:
        return None, "down"
    return pid, "paused" if _proc_state(pid) == "T" else "up"


def spawn(lab: Lab, s: Service, password: str) -> int:
    lab.node_dir(s).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DRLAB_ROOT_PASSWORD=password)
    env.pop("DRLAB_HOST_MAP", None)
    log = open(lab.log_file(s), "ab")
    try:
        proc = subprocess.Popen(node_command(*s.argv), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, start_new_session=True, cwd=lab.dir)
    finally:
        log.close()
    lab.pid_file(s).write_text(f"{proc.pid}\n")
    proc.returncode = 0  # the node outlives this command; don't warn about it at exit
    return proc.pid


def wait_ready(lab: Lab, services: list[Service], password: str, timeout: float) -> list[str]:
    """Wait until each node answers COM_PING; the problems of those that don't."""
    deadline = time.monotonic() + timeout
    pending = list(services)
    failed: list[str] = []
    reasons: dict[str, str] = {}
    while pending:
        for s in list(pending):
            alive, reasons[s.name] = ping.ping(s.address, s.port, "root", password, timeout=1.0)
            if alive:
                pending.remove(s)
            elif reasons[s.name].startswith("cannot connect (1045)"):  # waiting will not change the password
                pending.remove(s)
                failed.append(f"{s.name}: refuses the lab's root password: {reasons[s.name]}")
            elif node_pid(lab, s) is None:
                pending.remove(s)
                failed.append(f"{s.name}: the process exited; last lines of {lab.log_file(s)}:\n"
                              f"{_tail(lab.log_file(s))}")
        if pending and time.monotonic() > deadline:
            break
        if pending:
            time.sleep(0.02)
    return failed + [f"{s.name}: no answer within {timeout:.0f}s: {reasons.get(s.name) or 'not ready'}"
                     for s in pending]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _proc_state(pid) in (None, "Z", "X"):
            return True
        time.sleep(0.02)
    return False


# -- setup -----------------------------------------------------------------------------------------
def run_setup(lab: Lab, password: str, out: Any) -> bool:
    """Run the one-shot setup services' statements; False on an unexpected error."""
    from lab.cli import build_parser, sql_batches

    ok = True
    hosts = lab.host_map()
    for name, argv in lab.setup.items():
        try:
            args = build_parser().parse_args(["sql", *argv])
            batches = sql_batches(args.items)
        except (SystemExit, ValueError) as e:
            print(f"setup {name}: not a valid drlab sql command ({e})", file=out)
            ok = False
            continue
        print(f"setup {name}:", file=out)
        for address, statements in batches:
            host, port = ping.parse_address(address)
            for stmt in statements:
                shown = stmt.replace(ping.PASSWORD_TOKEN, "***")
                try:
                    ping.run_statements(ping.resolve(host, hosts), port, [stmt], args.user, password, 60.0)
                    print(f"  {address}: {shown}: OK", file=out)
                except pymysql.MySQLError as e:
                    code = e.args[0] if e.args else 0
                    msg = e.args[1] if len(e.args) > 1 else str(e)
                    if code in args.accept_error:
                        print(f"  {address}: {shown}: accepted ({code}: {msg})", file=out)
                    elif code == 1235:
                        print(f"  {address}: {shown}: SKIPPED: this drlab build does not support it yet "
                              f"({code}: {msg})", file=out)
                    else:
                        print(f"  {address}: {shown}: ERROR {code}: {msg}", file=out)
                        ok = False
                except OSError as e:
                    print(f"  {address}: {shown}: ERROR: {e}", file=out)
                    ok = False
    return ok


# -- status ----------------------------------------------------------------------------------------
def _query(conn: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return [d[0] for d in cur.description or []], list(cur.fetchall())
    except pymysql.MySQLError:
        return None


def _lsn(pos: Any) -> int | None:
    text = str(pos or "")
    try:
        return int(text.rpartition(":")[2])
    except ValueError:
        return None


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _link_reason(details: str) -> str:
    """Why a link is not connected, from SHOW DATABASES EXTENDED's Details (phase; ...; last error)."""
    parts = [p.strip() for p in details.split(";") if p.strip()]
    reasons = [p for p in parts if p not in ("connecting", "streaming", "snapshot", "catching up",
                                             "source disconnected")]
    return reasons[-1] if reasons else "the source has not answered yet"


def database_rows(s: Service, password: str) -> list[dict[str, Any]] | str:
    """Per database on a node: role, state, position, lag, and for a replica whether its link is
    connected and why not; or the reason the node could not be asked."""
    try:
        conn = ping.connect(s.address, s.port, "root", password, timeout=2.0)
    except pymysql.MySQLError as e:
        return f"cannot connect: {e.args[1] if len(e.args) > 1 else e}"
    with conn:
        result = _query(conn, "SHOW DATABASES EXTENDED")
        dbs: dict[str, dict[str, Any]] = {}
        if result is not None:
            cols, rows = result
            for row in rows:
                r = dict(zip(cols, row, strict=False))
                name = r.get("Database")
                if not name or str(name).lower() == "information_schema":
                    continue
                dbs[name] = {"database": name, "role": r.get("Role", "?"), "state": r.get("State", "?"),
                             "position": r.get("Position", "?"), "details": str(r.get("Details") or ""),
                             "lag": "-", "link": "-", "why": "", "lag_records": None, "lag_seconds": None}
        mv = _query(conn, "SELECT * FROM information_schema.MV_REPLICATION_STATUS")
        secs: dict[str, float] = {}
        if mv is not None:
            cols, rows = mv
            for row in rows:
                r = dict(zip(cols, row, strict=False))
                if r.get("lag_seconds") is not None:
                    secs[str(r.get("database_name"))] = float(r["lag_seconds"])
        repl = _query(conn, "SHOW REPLICATION STATUS")
        feeds: dict[str, list[bool]] = {}  # a primary's replicas: connected or not
        for row in (repl or ([], []))[1]:
            r = dict(zip(repl[0], row, strict=False))  # type: ignore[index]
            d = dbs.get(r.get("Database") or "")
            if d is None:
                continue
            if str(r.get("Role", "")).lower() == "master":
                feeds.setdefault(d["database"], []).append(str(r.get("Connected", "")).lower() == "yes")
            elif d["role"] != "master":
                describe_link(d, r, secs.get(d["database"]))
        for name, replicas in feeds.items():
            up = sum(replicas)
            dbs[name]["link"] = (f"{plural(up, 'replica')} connected" if up == len(replicas)
                                 else f"{up} of {plural(len(replicas), 'replica')} connected")
    return list(dbs.values())


def describe_link(d: dict[str, Any], r: dict[str, Any], lag_s: float | None) -> None:
    """Fill a replica's LAG and LINK from its SHOW REPLICATION STATUS row: connected or not, and why;
    a link that cannot reach its source never reads as 0 behind."""
    source, mine = _lsn(r.get("Master_CommitLSN")), _lsn(r.get("Replica_CommitLSN"))
    connected = str(r.get("Connected", "")).lower() == "yes"
    paused = "paused" in str(d["state"])
    d["link"] = "connected" if connected else "paused" if paused else "DOWN"
    if not connected and not paused:
        d["why"] = _link_reason(d["details"])
    records = max(source - mine, 0) if source is not None and mine is not None else None
    if connected and records is not None:
        d["lag_records"], d["lag_seconds"] = records, lag_s
        d["lag"] = plural(records, "record") + (f", {lag_s:.1f}s" if lag_s is not None else "")
    elif records is not None and source:  # behind the source's last known position; maybe more by now
        d["lag_records"], d["lag_seconds"] = records, lag_s
        age = r.get("Last_Contact_Seconds")  # how old that position is, where the node reports it
        when = f", {float(age):.0f}s ago" if age is not None else ""
        d["lag"] = f"unknown (last: {plural(records, 'record')}{when})"
    else:
        d["lag"] = "unknown"  # the source's position is not known while the link is down


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [headers, *rows])


def status_text(lab: Lab, password: str) -> str:
    nodes, dbrows, notes = [], [], []
    for s in lab.services:
        pid, state = node_status(lab, s)
        nodes.append([s.name, f"{s.address}:{s.port}", str(pid or "-"), state])
        if state != "up":
            continue
        result = database_rows(s, password)
        if isinstance(result, str):
            notes.append(f"{s.name}: {result}")
            continue
        for d in result:
            dbrows.append([s.name, str(d["database"]), str(d["role"]), str(d["state"]), str(d["position"]),
                           str(d["lag"]), str(d["link"])])
            if d["why"]:
                notes.append(f"{s.name}/{d['database']}: link down: {d['why']}")
    out = [table(["NODE", "ADDRESS", "PID", "STATUS"], nodes), ""]
    if dbrows:
        out.append(table(["NODE", "DATABASE", "ROLE", "STATE", "POSITION", "LAG", "LINK"], dbrows))
    else:
        out.append("(no databases)")
    if notes:
        out.append("")
    out += notes
    return "\n".join(out)


def health_problems(lab: Lab, password: str, timeout: float = 12.0) -> tuple[list[str], int]:
    """What keeps the lab from being usable: a node that does not answer with the lab's password, a
    replica whose link does not connect within ``timeout`` (a link retries a refused login every
    10 s, so a password fixed meanwhile gets its chance), an unrecoverable database. Also the
    number of links connected."""
    deadline = time.monotonic() + timeout
    while True:
        problems, links = [], 0
        for s in lab.services:
            if node_status(lab, s)[1] != "up":
                problems.append(f"{s.name}: not running")
                continue
            result = database_rows(s, password)
            if isinstance(result, str):
                problems.append(f"{s.name}: does not answer with the lab's password ({result})")
                continue
            for d in result:
                if d["state"] == "unrecoverable":
                    problems.append(f"{s.name}/{d['database']}: unrecoverable: {d['details']}")
                elif d["link"] == "connected":
                    links += 1
                elif d["link"] == "DOWN":
                    problems.append(f"{s.name}/{d['database']}: the replication link is not connected: {d['why']}")
        if not problems or time.monotonic() > deadline:
            if any("Access denied" in p for p in problems):
                problems.append(
                    "a link's stored REPLICATE password no longer matches its source's root password: was the lab "
                    f"brought up with another ${ping.PASSWORD_ENV}? Start over with `drlab lab reset`, or "
                    "REPLICATE the database again with the current password")
            return problems, links
        time.sleep(0.1)


# -- commands --------------------------------------------------------------------------------------
def lab_dir(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "dir", None) or getattr(args, "lab", None) or os.environ.get(LAB_DIR_ENV)
                or ".lab").resolve()


def up(args: argparse.Namespace) -> int:
    """Start the lab's nodes, run its setup, and say "lab ready" only once the lab is usable: every
    node answers with the lab's password and every replication link is connected."""
    d = lab_dir(args)
    compose_file = Path(args.file).resolve()
    lab = plan(read_compose(compose_file), d, str(compose_file), args.first_address)
    if getattr(args, "fresh", False):
        reset(d)
    old = Lab.load(d) if (d / "lab.json").exists() else None
    if old is not None:
        running = [s.name for s in old.services if node_pid(old, s) is not None]
        if running and [(s.name, s.address, s.port) for s in old.services] != \
                [(s.name, s.address, s.port) for s in lab.services]:
            raise LabError(f"the lab in {d} runs {', '.join(running)} with another layout; "
                           "run `drlab lab down` first")
    password = lab_password(d)
    lab.save()
    lab.host_map_file.write_text(json.dumps(lab.host_map(), indent=2) + "\n")
    t0 = time.monotonic()
    for s in lab.services:
        if node_pid(lab, s) is not None:
            print(f"{s.name}: already running on {s.address}:{s.port}")
            continue
        pid = spawn(lab, s, password)
        print(f"{s.name}: started on {s.address}:{s.port} (pid {pid})")
    problems = wait_ready(lab, lab.services, password, args.timeout)
    if problems:
        print("drlab lab: not every node is usable:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{plural(len(lab.services), 'node')} answer ping after {time.monotonic() - t0:.2f}s")
    if lab.setup and not args.no_setup:
        if not run_setup(lab, password, sys.stdout):
            print("drlab lab: the setup did not complete; the nodes keep running", file=sys.stderr)
            return 1
    problems, links = health_problems(lab, password)
    if problems:
        print("drlab lab: the nodes are running but the lab is not healthy:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"lab ready in {time.monotonic() - t0:.2f}s: {plural(len(lab.services), 'node')} answer with the lab's "
          f"password, {plural(links, 'replication link')} connected")
    where = "$DRLAB_ROOT_PASSWORD" if (d / PASSWORD_CHECK_FILE).exists() else f"the file {d / PASSWORD_FILE}"
    print(f"lab directory: {d} (root password: {where}; shared pipeline files: {lab.files_dir})")
    return 0


def reset(d: Path) -> list[str]:
    """Stop the lab's nodes and delete what the lab made (node data, logs, password, shared files), so
    the next `up` starts from nothing; the lines it printed."""
    said: list[str] = []
    if (d / "lab.json").exists():
        old = Lab.load(d)
        if any(node_pid(old, s) is not None for s in old.services):
            down(old)
        for s in old.services:
            shutil.rmtree(old.node_dir(s), ignore_errors=True)
        said.append(f"deleted the data of {', '.join(s.name for s in old.services)}")
    shutil.rmtree(d / "files", ignore_errors=True)
    for f in ("lab.json", "hosts.json", PASSWORD_FILE, PASSWORD_CHECK_FILE):
        (d / f).unlink(missing_ok=True)
    return said


def down(lab: Lab) -> int:
    pids = []
    for s in lab.services:
        pid = node_pid(lab, s)
        if pid is None:
            print(f"{s.name}: already down")
            continue
        _signal(pid, signal.SIGCONT)  # a paused node must run to handle SIGTERM
        _signal(pid, signal.SIGTERM)
        pids.append((s, pid))
    for s, pid in pids:
        if not _wait_gone(pid, 15.0):
            _signal(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)
            print(f"{s.name}: did not stop within 15s; killed")
        else:
            print(f"{s.name}: stopped")
        lab.pid_file(s).unlink(missing_ok=True)
    return 0


def fault(lab: Lab, verb: str, name: str, password: str) -> int:
    s = lab.service(name)
    pid = node_pid(lab, s)
    if verb == "start":
        if pid is not None:
            print(f"{name}: already running (pid {pid})")
            return 0
        t0 = time.monotonic()
        pid = spawn(lab, s, password)
        problems = wait_ready(lab, [s], password, 30.0)
        if problems:
            print(f"drlab lab: {name} did not come up: {problems[0]}", file=sys.stderr)
            return 1
        print(f"{name}: started on {s.address}:{s.port} (pid {pid}), ready in {time.monotonic() - t0:.2f}s")
        return 0
    if pid is None:
        print(f"drlab lab: {name} is not running", file=sys.stderr)
        return 1
    if verb == "kill":
        _signal(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)
        lab.pid_file(s).unlink(missing_ok=True)
        print(f"{name}: killed (SIGKILL, pid {pid})")
    elif verb == "stop":
        _signal(pid, signal.SIGCONT)
        _signal(pid, signal.SIGTERM)
        if not _wait_gone(pid, 15.0):
            _signal(pid, signal.SIGKILL)
        lab.pid_file(s).unlink(missing_ok=True)
        print(f"{name}: stopped (pid {pid})")
    elif verb == "pause":
        _signal(pid, signal.SIGSTOP)
        print(f"{name}: paused (SIGSTOP, pid {pid})")
    elif verb == "resume":
        _signal(pid, signal.SIGCONT)
        print(f"{name}: resumed (SIGCONT, pid {pid})")
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        if args.lab_command == "up":
            return up(args)
        d = lab_dir(args)
        if args.lab_command == "reset":
            said = reset(d)
            print(f"lab reset: {'; '.join(said) or 'there was no lab'} in {d}; `drlab lab up` starts a new one "
                  f"(root password: ${ping.PASSWORD_ENV} if exported then, else a generated one)")
            return 0
        lab = Lab.load(d)
        if args.lab_command == "status":
            print(status_text(lab, lab_password(d)))
            return 0
        if args.lab_command == "down":
            return down(lab)
        return fault(lab, args.lab_command, args.name, lab_password(d))
    except LabError as e:
        print(f"drlab lab: {e}", file=sys.stderr)
        return 2
