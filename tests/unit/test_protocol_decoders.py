"""The client-packet decoders on their own: a deterministic fuzz (each malformed packet decodes or
raises the one MySQL error its decoder owns, within a deadline) and the framing of large payloads."""

from __future__ import annotations

import random
import signal
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from mysql_mimic.charset import CharacterSet
from mysql_mimic.packets import HandshakeResponse41, SSLRequest
from mysql_mimic.types import Capabilities

from server.connection import CAPABILITIES
from server.protocol import (
    MAX_PAYLOAD,
    parse_change_user,
    parse_handshake_response,
    read_execute,
    split_payload,
)
from sqlfront.errors import SqlError

SEED = 20261128
CLIENT = Capabilities(0x0200 | 0x8000 | 0x80000 | 0x200000 | 0x0008 | 0x100000 | 0x0001 | 0x2000 | 0x20000)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fails the test instead of hanging when a decoder loops (SIGALRM interrupts Python code)."""
    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"decoding did not finish within {seconds}s: a decoder loops")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def mutations(rng: random.Random, seed: bytes, n: int) -> Iterator[bytes]:
    """Every truncation, then random byte flips, insertions, deletions and length-prefix splices."""
    for cut in range(len(seed)):
        yield seed[:cut]
    for _ in range(n):
        b = bytearray(seed)
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(b) + 1)
            op = rng.randrange(4)
            if op == 0 and b:
                b[min(pos, len(b) - 1)] = rng.randrange(256)
            elif op == 1:
                b[pos:pos] = rng.randbytes(rng.randint(1, 8))
            elif op == 2:
                del b[pos:pos + rng.randint(1, 8)]
            else:
                b[pos:pos] = rng.choice([b"\x00", b"\xfb", b"\xfc\xff\xff", b"\xfd\xff\xff\xff", b"\xfe" + b"\xff" * 8])
        yield bytes(b)


def handshake(user: bytes = b"root\x00") -> bytes:
    attrs = b"\x04_pid\x0512345\x07_client\x06fuzzer"
    return (struct.pack("<IIB", int(CLIENT), 1 << 24, 45) + bytes(23) + user + b"\x14" + b"\x01" * 20
            + b"app\x00" + b"mysql_native_password\x00" + bytes([len(attrs)]) + attrs)


def fuzz(decode: Callable[[bytes], object], seed: bytes, codes: set[int], n: int = 3000) -> int:
    rng = random.Random(SEED)
    decoded = 0
    with deadline(20):
        for body in mutations(rng, seed, n):
            try:
                decode(body)
                decoded += 1
            except SqlError as e:
                assert e.code in codes, (body, e)
    return decoded


def test_handshake_response_decodes_or_refuses() -> None:
    out = parse_handshake_response(CAPABILITIES, handshake())
    assert isinstance(out, HandshakeResponse41)
    assert (out.username, out.database, out.client_plugin) == ("root", "app", "mysql_native_password")
    assert out.connect_attrs == {"_pid": "12345", "_client": "fuzzer"}
    assert isinstance(parse_handshake_response(CAPABILITIES, handshake()[:32]), SSLRequest)
    with pytest.raises(SqlError) as e:
        parse_handshake_response(CAPABILITIES, handshake()[:32] + b"root")
    assert (e.value.code, e.value.sqlstate) == (1043, "08S01")
    assert "user name has no terminating NUL" in e.value.message
    assert fuzz(lambda b: parse_handshake_response(CAPABILITIES, b), handshake(), {1043}) > 100


def test_change_user_decodes_or_refuses() -> None:
    body = b"cu\x00\x14" + b"\x02" * 20 + b"db\x00\x21\x00mysql_native_password\x00\x06\x02_a\x02bc"
    out = parse_change_user(CLIENT, CharacterSet.utf8mb4, body)
    assert (out.username, out.database, out.client_plugin, out.connect_attrs) == (
        "cu", "db", "mysql_native_password", {"_a": "bc"})
    with pytest.raises(SqlError) as e:
        parse_change_user(CLIENT, CharacterSet.utf8mb4, b"root")
    assert e.value.code == 1835 and "COM_CHANGE_USER" in e.value.message
    assert fuzz(lambda b: parse_change_user(CLIENT, CharacterSet.utf8mb4, b), body, {1835}) > 100


def test_execute_decodes_or_refuses() -> None:
    # flags, iterations, null bitmap, types bound: VAR_STRING, LONGLONG, DATETIME, TIME, DOUBLE
    body = (b"\x00\x01\x00\x00\x00\x00\x01" + b"\xfd\x00\x08\x00\x0c\x00\x0b\x00\x05\x00"
            + b"\x03abc" + struct.pack("<q", -7) + b"\x07\xe8\x07\x02\x1d\x17\x3b\x3a"
            + b"\x08\x00\x01\x00\x00\x00\x02\x03\x04" + struct.pack("<d", 1.5))
    flags, values, _ = read_execute(body, 5, None, None)
    assert values == ["abc", -7, "2024-02-29 23:59:58", "26:03:04", 1.5]
    assert fuzz(lambda b: read_execute(b, 5, None, None), body, {1835, 1210}) > 50


@pytest.mark.parametrize("size", [0, 1, MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD])
def test_split_payload(size: int) -> None:
    payload = b"x" * size
    pieces = split_payload(payload)
    assert b"".join(pieces) == payload
    assert all(len(p) == MAX_PAYLOAD for p in pieces[:-1]) and len(pieces[-1]) < MAX_PAYLOAD
