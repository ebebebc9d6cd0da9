"""The `drlab` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from server import app

HOST_MAP_ENV = "DRLAB_HOST_MAP"


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _add_client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--user", default="root", help="user (default root)")
    p.add_argument("-p", "--password", default=None, help="password (default: $DRLAB_ROOT_PASSWORD, else empty)")
    p.add_argument("--timeout", type=float, default=5.0, help="connect/read timeout in seconds (default 5)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drlab", description="A MySQL-wire emulator for rehearsing disaster recovery")
    sub = parser.add_subparsers(dest="command", required=True)
    node = sub.add_parser("node", help="run one node (the master aggregator of a one-node cluster)")
    node.add_argument("--data", default="./data", help="data directory (default ./data)")
    node.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    node.add_argument("--port", type=int, default=3306, help="port (default 3306)")
    node.add_argument("--name", default=None, help="node name shown in status output (default host:port)")
    node.add_argument("--root-password", default=None,
                      help="root's password (default: $DRLAB_ROOT_PASSWORD, else empty)")
    node.add_argument("--tls-cert", default=None, help="PEM certificate: enables TLS")
    node.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    node.add_argument("--log-level", default="WARNING")
    node.add_argument("--metrics-port", type=int, default=None,
                      help="serve Prometheus metrics (/metrics) and /health over HTTP on --host at this port")
    node.add_argument("--host-map", default=None, metavar="FILE",
                      help="JSON object mapping lab host names to addresses, used to resolve REPLICATE's "
                           f"source (also ${HOST_MAP_ENV} as a JSON string)")
    node.add_argument("--secure-file-priv", default=None, metavar="DIR",
                      help="the only directory pipelines may read files from (secure_file_priv)")

    ping = sub.add_parser("ping", help="check that a node answers (exit 0 when alive, 1 otherwise)")
    ping.add_argument("address", metavar="HOST:PORT")
    _add_client_options(ping)

    sql = sub.add_parser(
        "sql", help="run statements on nodes and print their results",
        usage="drlab sql [options] HOST:PORT STATEMENT... [HOST:PORT STATEMENT...]...",
        description="Runs each STATEMENT on the node named by the HOST:PORT before it, in order, and stops at "
                    "the first error. The literal ${DRLAB_ROOT_PASSWORD} in a statement is replaced by the "
                    "password, so compose files and scripts never hold it.")
    sql.add_argument("items", nargs="+", metavar="HOST:PORT|STATEMENT")
    _add_client_options(sql)
    sql.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait up to this long for each node to answer before running")
    sql.add_argument("--accept-error", type=int, action="append", default=[], metavar="CODE",
                     help="treat this MySQL error code as success (e.g. 1007: database exists); repeatable")
    sql.add_argument("--host-map", default=None, metavar="FILE", help="JSON host map used to resolve HOST")

    lab = sub.add_parser("lab", help="run a docker-compose lab as local processes on loopback addresses")
    lab.add_argument("--dir", default=None, help="lab directory (default .lab, or $DRLAB_LAB_DIR)")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True)
    up = lab_sub.add_parser("up", help="start every node of the compose file, then run its setup service")
    up.add_argument("-f", "--file", default="docker-compose.yml", help="compose file (default docker-compose.yml)")
    up.add_argument("--first-address", default="127.0.0.2",
                    help="loopback address of the first service; the next ones count up (default 127.0.0.2)")
    up.add_argument("--no-setup", action="store_true", help="do not run the one-shot setup service")
    up.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the nodes (default 30)")
    lab_sub.add_parser("status", help="nodes, addresses, processes and databases")
    lab_sub.add_parser("down", help="stop every node (data is kept under the lab directory)")
    for verb, text in (("kill", "SIGKILL a node"), ("pause", "SIGSTOP a node"), ("resume", "SIGCONT a node"),
                       ("start", "start a stopped or killed node"), ("stop", "SIGTERM a node")):
        p = lab_sub.add_parser(verb, help=text)
        p.add_argument("name")

    rb = sub.add_parser("runbook", help="run a DR runbook (YAML) against the lab and report RPO/RTO")
    rb.add_argument("file")
    rb.add_argument("--json", action="store_true", help="print the report as JSON")
    rb.add_argument("--lab", default=None, metavar="DIR", help="lab directory (default .lab, or $DRLAB_LAB_DIR)")
    rb.add_argument("--first-address", default=None,
                    help="for a runbook that starts a fresh lab: the first node's loopback address "
                         "(default: the lab's current one, else 127.0.0.2)")
    return parser


def load_host_map(path: str | None) -> dict[str, str]:
    """The host map from $DRLAB_HOST_MAP, then --host-map FILE (the file wins); ValueError when bad."""
    merged: dict[str, str] = {}
    sources: list[tuple[str, str]] = []
    if os.environ.get(HOST_MAP_ENV):
        sources.append((f"${HOST_MAP_ENV}", os.environ[HOST_MAP_ENV]))
    if path:
        try:
            sources.append((path, Path(path).read_text()))
        except OSError as e:
            raise ValueError(f"cannot read host map {path}: {e.strerror}") from None
    for where, text in sources:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"host map {where} is not valid JSON: {e}") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError(f'host map {where} must be a JSON object of names to addresses, e.g. '
                             '{"cluster-a-ma": "127.0.0.2"}')
        merged.update(data)
    return merged


def _run_node(args: argparse.Namespace) -> int:
    password = args.root_password if args.root_password is not None else os.environ.get("DRLAB_ROOT_PASSWORD", "")
    if not _is_loopback(args.host) and not password:
        print(
            f"drlab: refusing to listen on {args.host} with an empty root password; set one with "
            "--root-password or the DRLAB_ROOT_PASSWORD environment variable",
            file=sys.stderr,
        )
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("drlab: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        host_map = load_host_map(args.host_map)
    except ValueError as e:
        print(f"drlab: {e}", file=sys.stderr)
        return 2
    if args.metrics_port is not None and not 0 < args.metrics_port < 65536:
        print(f"drlab: --metrics-port {args.metrics_port} is not a port (1-65535)", file=sys.stderr)
        return 2
    secure_file_priv = None
    if args.secure_file_priv is not None:
        try:
            Path(args.secure_file_priv).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            print(f"drlab: --secure-file-priv {args.secure_file_priv}: {e.strerror}", file=sys.stderr)
            return 2
        secure_file_priv = str(Path(args.secure_file_priv).resolve()) + os.sep
    return app.run_node(
        data=args.data, host=args.host, port=args.port, name=args.name or f"{args.host}:{args.port}",
        root_password=password, tls_cert=args.tls_cert, tls_key=args.tls_key, log_level=args.log_level,
        host_map=host_map, metrics_port=args.metrics_port, secure_file_priv=secure_file_priv,
    )


def _run_ping(args: argparse.Namespace) -> int:
    from server import ping

    try:
        host, port = ping.parse_address(args.address)
    except ValueError as e:
        print(f"drlab ping: {e}", file=sys.stderr)
        return 2
    alive, reason = ping.ping(host, port, args.user, ping.password_from_env(args.password), args.timeout)
    if alive:
        print(f"{args.address} is alive")
        return 0
    print(f"{args.address} is not answering: {reason}", file=sys.stderr)
    return 1


def _sql_batches(items: list[str]) -> list[tuple[str, list[str]]]:
    """HOST:PORT STATEMENT... [HOST:PORT STATEMENT...]: an item without whitespace that parses as an
    address starts a new batch (statements always contain a space)."""
    from server import ping

    batches: list[tuple[str, list[str]]] = []
    for item in items:
        is_address = not any(c.isspace() for c in item.strip())
        if is_address:
            try:
                ping.parse_address(item)
            except ValueError:
                is_address = not batches
        if is_address:
            batches.append((item, []))
        elif not batches:
            raise ValueError(f"the first argument must be HOST:PORT, not {item!r}")
        else:
            batches[-1][1].append(item)
    for address, stmts in batches:
        ping.parse_address(address)
        if not stmts:
            raise ValueError(f"no statement for {address}")
    return batches


def run_sql(args: argparse.Namespace, host_map: dict[str, str] | None = None, out=None) -> int:  # type: ignore[no-untyped-def]
    """`drlab sql`: also used by `drlab lab up` for the compose file's setup service."""
    import time

    import pymysql

    from server import ping

    out = out or sys.stdout
    try:
        batches = _sql_batches(args.items)
        if host_map is None:
            host_map = load_host_map(args.host_map)
    except ValueError as e:
        print(f"drlab sql: {e}", file=sys.stderr)
        return 2
    password = ping.password_from_env(args.password)
    for address, statements in batches:
        host, port = ping.parse_address(address)
        addr = ping.resolve(host, host_map)
        deadline = time.monotonic() + args.wait
        while True:
            alive, reason = ping.ping(addr, port, args.user, password, args.timeout)
            if alive or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if not alive:
            print(f"drlab sql: {address} is not answering: {reason}", file=sys.stderr)
            return 1
        for stmt in statements:
            try:
                [(cols, rows)] = ping.run_statements(addr, port, [stmt], args.user, password,
                                                     max(args.timeout, 30.0))
            except pymysql.MySQLError as e:
                code = e.args[0] if e.args else 0
                msg = e.args[1] if len(e.args) > 1 else str(e)
                if code in args.accept_error:
                    print(f"{address}: accepted error {code}: {msg}", file=out)
                    continue
                print(f"ERROR {code} from {address}: {msg}", file=sys.stderr)
                return 1
            if cols:
                print(ping.format_table(cols, rows), file=out)
            else:
                print(f"{address}: OK", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "node":
        return _run_node(args)
    if args.command == "ping":
        return _run_ping(args)
    if args.command == "sql":
        return run_sql(args)
    if args.command == "lab":
        from server import lab

        return lab.main(args)
    if args.command == "runbook":
        from server import runbook

        return runbook.main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
