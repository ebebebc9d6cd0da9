"""The `drlab` command line."""

from __future__ import annotations

import argparse
import os
import sys

from server import app


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    if args.command == "node":
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
        return app.run_node(
            data=args.data, host=args.host, port=args.port, name=args.name or f"{args.host}:{args.port}",
            root_password=password, tls_cert=args.tls_cert, tls_key=args.tls_key, log_level=args.log_level,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
