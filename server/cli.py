"""`drlab node`: the node's command-line options and its one entry point, `run`.

The `drlab` console script (lab.cli) adds its subcommands around this one; nothing here knows them."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from server import app

HOST_MAP_ENV = "DRLAB_HOST_MAP"
NODE_HELP = "run one node (the master aggregator of a one-node cluster)"


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `drlab node`."""
    parser.add_argument("--data", default="./data", help="data directory (default ./data)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3306, help="port (default 3306)")
    parser.add_argument("--name", default=None, help="node name shown in status output (default host:port)")
    parser.add_argument("--root-password", default=None,
                      help="root's password (default: $DRLAB_ROOT_PASSWORD, else empty)")
    parser.add_argument("--aggregator-role", choices=("follower", "voting_member"), default="follower",
                        help="this aggregator's consensus role (default follower); voting_member is not built yet")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate: enables TLS")
    parser.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--metrics-port", type=int, default=None,
                      help="serve Prometheus metrics (/metrics) and /health over HTTP on --host at this port")
    parser.add_argument("--host-map", default=None, metavar="FILE",
                      help="JSON object mapping lab host names to addresses, used to resolve REPLICATE's "
                           f"source (also ${HOST_MAP_ENV} as a JSON string)")
    parser.add_argument("--mysql-version", default=None, metavar="X.Y.Z",
                        help="the MySQL version the node reports (greeting, @@version, VERSION()) instead of "
                             "SingleStore's 5.7.32, for applications that require one (Django 5: 8.0.11 or later)")
    parser.add_argument("--secure-file-priv", default=None, metavar="DIR",
                      help="the only directory pipelines may read files from (secure_file_priv)")
    parser.add_argument("--yb-min-frequency", type=int, default=5, metavar="SECONDS",
                        help="smallest FREQUENCY a Yellowbrick-style replica accepts (default 5, Yellowbrick's; "
                             "lower it for tests)")


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


def run(args: argparse.Namespace) -> int:
    """Start a node from parsed `drlab node` options; returns the process exit code."""
    password = args.root_password if args.root_password is not None else os.environ.get("DRLAB_ROOT_PASSWORD", "")
    if not _is_loopback(args.host) and not password:
        print(
            f"drlab: refusing to listen on {args.host} with an empty root password; set one with "
            "--root-password or the DRLAB_ROOT_PASSWORD environment variable",
            file=sys.stderr,
        )
        return 2
    if args.aggregator_role == "voting_member":
        print("drlab: --aggregator-role voting_member is not supported yet: a node is a one-aggregator cluster "
              "until voting members and master elections land (docs/consensus.md)", file=sys.stderr)
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
    if args.mysql_version is not None and not re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{1,3}", args.mysql_version):
        print(f"drlab: --mysql-version {args.mysql_version} is not a version such as 8.0.36", file=sys.stderr)
        return 2
    return app.run_node(
        data=args.data, host=args.host, port=args.port, name=args.name or f"{args.host}:{args.port}",
        root_password=password, tls_cert=args.tls_cert, tls_key=args.tls_key, log_level=args.log_level,
        host_map=host_map, metrics_port=args.metrics_port, secure_file_priv=secure_file_priv,
        mysql_version=args.mysql_version, yb_min_frequency=args.yb_min_frequency,
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m server node ...`: start a node without the lab's tools."""
    parser = argparse.ArgumentParser(prog="drlab node", description=NODE_HELP)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["node"]:
        argv = argv[1:]
    add_node_arguments(parser)
    return run(parser.parse_args(argv))
