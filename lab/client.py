"""Client-side helpers the CLI, the lab and the runbook runner share: address parsing, a MySQL
COM_PING, and running statements on a node."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pymysql

PASSWORD_ENV = "DRLAB_ROOT_PASSWORD"
PASSWORD_TOKEN = "${DRLAB_ROOT_PASSWORD}"


def parse_address(text: str, default_port: int = 3306) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``, or ``[v6]:PORT``) -> (host, port); ValueError with a reason."""
    text = text.strip()
    if not text:
        raise ValueError("empty address; expected HOST:PORT")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in {text!r}; expected HOST:PORT")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port {port_text!r} in {text!r}; expected HOST:PORT with a port 1-65535")
    return host, int(port_text)


def resolve(host: str, host_map: Mapping[str, str] | None) -> str:
    return (host_map or {}).get(host, host)


def password_from_env(password: str | None) -> str:
    return password if password is not None else os.environ.get(PASSWORD_ENV, "")


def connect(host: str, port: int, user: str = "root", password: str = "", timeout: float = 5.0,
            database: str | None = None) -> pymysql.connections.Connection:
    return pymysql.connect(host=host, port=port, user=user, password=password, database=database,
                           connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
                           autocommit=True)


def ping(host: str, port: int, user: str = "root", password: str = "", timeout: float = 5.0) -> tuple[bool, str]:
    """Connect and send COM_PING: (alive, reason when not)."""
    try:
        conn = connect(host, port, user, password, timeout)
    except pymysql.err.OperationalError as e:
        code = e.args[0] if e.args else 0
        msg = e.args[1] if len(e.args) > 1 else str(e)
        return False, f"cannot connect ({code}): {msg}"
    except Exception as e:  # noqa: BLE001 - a health check reports every failure as a reason
        return False, f"cannot connect: {e}"
    try:
        conn.ping(reconnect=False)
        return True, ""
    except Exception as e:  # noqa: BLE001
        return False, f"ping failed: {e}"
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass


def expand_password(statement: str, password: str) -> str:
    """Replace the literal ``${DRLAB_ROOT_PASSWORD}`` token (compose files write ``$${...}`` so
    the password never sits in the file)."""
    return statement.replace(PASSWORD_TOKEN, password)


def run_statements(host: str, port: int, statements: list[str], user: str = "root", password: str = "",
                   timeout: float = 30.0) -> list[tuple[list[str], list[tuple[Any, ...]]]]:
    """Run each statement; return (column names, rows) per statement. Raises pymysql errors."""
    out: list[tuple[list[str], list[tuple[Any, ...]]]] = []
    with connect(host, port, user, password, timeout) as conn, conn.cursor() as cur:
        for stmt in statements:
            cur.execute(expand_password(stmt, password))
            cols = [d[0] for d in cur.description] if cur.description else []
            out.append((cols, list(cur.fetchall()) if cur.description else []))
    return out


def format_table(cols: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A plain-text table like the mysql client prints."""
    cells = [[("NULL" if v is None else str(v)) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [sep, "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |", sep]
    for r in cells:
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |")
    lines.append(sep)
    return "\n".join(lines)
