"""The `drlab` console script: `node` comes from server.cli; ping, sql, lab and runbook live here."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from lab import client as ping
from server import cli as node_cli


def _add_client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--user", default="root", help="user (default root)")
    p.add_argument("-p", "--password", default=None, help="password (default: $DRLAB_ROOT_PASSWORD, else empty)")
    p.add_argument("--timeout", type=float, default=5.0, help="connect/read timeout in seconds (default 5)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drlab", description="A MySQL-wire emulator for rehearsing disaster recovery")
    sub = parser.add_subparsers(dest="command", required=True)
    node_cli.add_node_arguments(sub.add_parser("node", help=node_cli.NODE_HELP))

    ping_p = sub.add_parser("ping", help="check that a node answers (exit 0 when alive, 1 otherwise)")
    ping_p.add_argument("address", metavar="HOST:PORT")
    _add_client_options(ping_p)

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
    up.add_argument("--fresh", action="store_true", help="`reset` first: start over with no data")
    lab_sub.add_parser("status", help="nodes, processes, databases, replica lag and link health")
    lab_sub.add_parser("reset", help="stop every node and delete the lab's data, password and shared files "
                                     "(the next `up` starts over)")
    lab_sub.add_parser("down", help="stop every node (data is kept under the lab directory)")
    for verb, text in (("kill", "SIGKILL a node"), ("pause", "SIGSTOP a node"), ("resume", "SIGCONT a node"),
                       ("start", "start a stopped or killed node"), ("stop", "SIGTERM a node")):
        p = lab_sub.add_parser(verb, help=text)
        p.add_argument("name")

    rb = sub.add_parser("runbook", help="run a DR runbook (YAML) against the lab and report RPO/RTO")
    rb.add_argument("file")
    rb.add_argument("--json", action="store_true", help="print the report as JSON (numbers as numbers)")
    rb.add_argument("--heartbeat", type=float, default=5.0, metavar="SECONDS",
                    help="a step still running says so on stderr this often (default 5)")
    rb.add_argument("--lab", default=None, metavar="DIR", help="lab directory (default .lab, or $DRLAB_LAB_DIR)")
    rb.add_argument("--first-address", default=None,
                    help="for a runbook that starts a fresh lab: the first node's loopback address "
                         "(default: the lab's current one, else 127.0.0.2)")
    return parser


def _run_ping(args: argparse.Namespace) -> int:
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


def sql_batches(items: list[str]) -> list[tuple[str, list[str]]]:
    """HOST:PORT STATEMENT... [HOST:PORT STATEMENT...]: an item without whitespace that parses as an
    address starts a new batch (statements always contain a space)."""
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


def run_sql(args: argparse.Namespace, host_map: dict[str, str] | None = None, out: TextIO | None = None) -> int:
    """`drlab sql`: also used by `drlab lab up` for the compose file's setup service."""
    import time

    import pymysql

    out = out or sys.stdout
    try:
        batches = sql_batches(args.items)
        if host_map is None:
            host_map = node_cli.load_host_map(args.host_map)
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
        return node_cli.run(args)
    if args.command == "ping":
        return _run_ping(args)
    if args.command == "sql":
        return run_sql(args)
    if args.command == "lab":
        from lab import local

        return local.main(args)
    if args.command == "runbook":
        from lab import runbook

        return runbook.main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
