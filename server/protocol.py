"""Wire-protocol pieces mysql-mimic gets wrong or lacks: OK/ERR packets with our flags and SQLSTATEs,
result column types inferred over all rows, COM_STMT_EXECUTE parameters read as values (never
spliced into SQL text), strict decoders for the handshake response and COM_CHANGE_USER (the
library's loop forever on a string without its NUL), and packet framing that splits and joins
payloads of 16 MB and more under a size limit."""

from __future__ import annotations

import asyncio
import io
import ssl
import struct
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from mysql_mimic.charset import CharacterSet, Collation
from mysql_mimic.packets import ComChangeUser, HandshakeResponse41, SSLRequest
from mysql_mimic.results import ResultColumn
from mysql_mimic.stream import MysqlStream
from mysql_mimic.types import Capabilities, ColumnType, ServerStatus, uint_1, uint_2, uint_len

from sqlfront.errors import ER_HANDSHAKE, ER_MALFORMED_PACKET, ER_WRONG_ARGUMENTS, SqlError

MAX_PAYLOAD = 0xFFFFFF  # a payload this long continues in the next packet
PRE_AUTH_MAX_PACKET = 16384  # a handshake response or auth reply; MySQL clients send a few hundred bytes


def ok_packet(affected: int, insert_id: int, status: int, warnings: int, info: str = "", eof: bool = False) -> bytes:
    out = bytearray(b"\xfe" if eof else b"\x00")
    out += uint_len(affected) + uint_len(insert_id) + uint_2(status) + uint_2(warnings)
    if info:
        # length-encoded, as MySQL and MariaDB servers send it: libmysqlclient/libmariadb read it so
        # (sent raw, "Rows matched: ..." made libmariadb fail with 2027 Received malformed packet)
        data = info.encode()
        out += uint_len(len(data)) + data
    return bytes(out)


def eof_packet(status: int, warnings: int = 0) -> bytes:
    return b"\xfe" + uint_2(warnings) + uint_2(status)


def err_packet(err: SqlError) -> bytes:
    msg = err.message.replace("\x1b", "")
    return b"\xff" + uint_2(err.code) + b"#" + err.sqlstate.encode()[:5].ljust(5, b"0") + msg.encode("utf-8", "replace")


_AUTOCOMMIT = int(ServerStatus.SERVER_STATUS_AUTOCOMMIT)
_IN_TRANS = int(ServerStatus.SERVER_STATUS_IN_TRANS)
_MORE_RESULTS = 0x0008  # SERVER_MORE_RESULTS_EXISTS


def status_flags(autocommit: bool, in_txn: bool, more: bool = False) -> int:
    """Plain int arithmetic: enum.Flag operations cost several µs each, on every result."""
    return (_AUTOCOMMIT if autocommit else 0) | (_IN_TRANS if in_txn else 0) | (_MORE_RESULTS if more else 0)


# a result's column types: (MySQL type, character set) per column
ColumnSpecs = tuple[tuple[ColumnType, CharacterSet], ...]


def infer_columns(names: Sequence[str], rows: Sequence[Sequence[Any]],
                  text: CharacterSet = CharacterSet.utf8mb4, binary: bool = False) -> tuple[list[ResultColumn], list[Sequence[Any]]]:
    """Column types from every row (SQLite is dynamically typed); rows are coerced to fit. Text
    is sent in ``text``, the session's ``character_set_results`` (``results_charset``)."""
    specs, rows = infer_specs(len(names), rows, text, binary)
    return result_columns(names, specs), rows


def infer_specs(n: int, rows: Sequence[Sequence[Any]], text: CharacterSet = CharacterSet.utf8mb4,
                binary: bool = False) -> tuple[ColumnSpecs, list[Sequence[Any]]]:
    """``infer_columns`` without building the columns: the specs are a key under which a prepared
    statement keeps its columns and their definition packets, built once."""
    kinds: list[set[type]] = [set() for _ in range(n)]
    for row in rows:
        for i, v in enumerate(row):
            if v is not None:
                kinds[i].add(type(v))
    specs: list[tuple[ColumnType, CharacterSet]] = []
    coerce: list[Any] = []
    for ks in kinds:
        ctype, conv = _pick(ks)
        if binary and ctype == ColumnType.TIME:
            conv = None  # the binary protocol encodes the timedelta itself
        elif ctype == ColumnType.VAR_STRING and text != CharacterSet.utf8mb4:
            conv = _in_charset(text.codec, conv)
        # BLOBs carry the binary character set, so clients hand applications bytes, not text
        specs.append((ctype, CharacterSet.binary if ctype == ColumnType.BLOB else text))
        coerce.append(conv)
    if any(c is not None for c in coerce):
        rows = [tuple(v if v is None or c is None else c(v) for v, c in zip(r, coerce, strict=True)) for r in rows]
    return tuple(specs), list(rows)


def result_columns(names: Sequence[str], specs: ColumnSpecs) -> list[ResultColumn]:
    return [ResultColumn(name=name, type=t, character_set=cs) for name, (t, cs) in zip(names, specs, strict=True)]


def _pick(ks: set[type]) -> tuple[ColumnType, Any]:
    if not ks:
        return ColumnType.VAR_STRING, None
    if len(ks) == 1:
        picked = _ONE_TYPE.get(next(iter(ks)))
        if picked is not None:
            return picked
    if ks <= {int, float}:
        return ColumnType.DOUBLE, float
    if ks <= {int, float, Decimal}:
        return ColumnType.NEWDECIMAL, str
    if bytes in ks:
        return ColumnType.BLOB, _to_bytes
    return ColumnType.VAR_STRING, _to_str


_I64 = 1 << 63


def _int_or_str(v: Any) -> Any:
    return v if -_I64 <= v < _I64 else str(v)


def _to_str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return repr(v)
    if isinstance(v, timedelta):
        return mysql_time(v)
    return v.isoformat(" ") if isinstance(v, datetime) else str(v)


def _in_charset(codec: str, inner: Any) -> Any:
    """Text a client reads in a narrower character set: what it cannot hold becomes '?', as in MySQL."""
    def conv(v: Any) -> Any:
        v = v if inner is None else inner(v)
        return v.encode(codec, "replace").decode(codec) if isinstance(v, str) else v
    return conv


def _to_bytes(v: Any) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode()


def mysql_time(v: timedelta) -> str:
    """MySQL's text for a TIME value: [-]HH:MM:SS[.ffffff], hours beyond 24 (str(timedelta) says
    '1 day, 2:00:00')."""
    us = abs(v.days * 86_400_000_000 + v.seconds * 1_000_000 + v.microseconds)
    secs, frac = divmod(us, 1_000_000)
    text = f"{'-' if v < timedelta(0) else ''}{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    return text + (f".{frac:06d}" if frac else "")


# a column whose values all have one of these exact types: its MySQL type, and the conversion
_ONE_TYPE: dict[type, tuple[ColumnType, Any]] = {
    int: (ColumnType.LONGLONG, _int_or_str),
    float: (ColumnType.DOUBLE, None),
    str: (ColumnType.VAR_STRING, None),
    bytes: (ColumnType.BLOB, None),
    Decimal: (ColumnType.NEWDECIMAL, str),
    datetime: (ColumnType.DATETIME, None),
    date: (ColumnType.DATE, None),
    timedelta: (ColumnType.TIME, mysql_time),
    time: (ColumnType.VAR_STRING, str),
}


# -- COM_STMT_EXECUTE --------------------------------------------------------------------------------
_STRINGS = {ColumnType.VARCHAR, ColumnType.VAR_STRING, ColumnType.STRING, ColumnType.ENUM, ColumnType.SET,
            ColumnType.JSON, ColumnType.DECIMAL, ColumnType.NEWDECIMAL, ColumnType.GEOMETRY}
_BLOBS = {ColumnType.BLOB, ColumnType.TINY_BLOB, ColumnType.MEDIUM_BLOB, ColumnType.LONG_BLOB, ColumnType.BIT}


def read_execute(data: bytes, nparams: int, previous_types: list[tuple[int, bool]] | None,
                 long_data: dict[int, bytearray] | None) -> tuple[int, list[Any], list[tuple[int, bool]]]:
    """Parse COM_STMT_EXECUTE's body after the statement id. Returns (flags, values, types).

    When the client does not resend types (new-params-bound = 0, as libmysqlclient does on a
    re-execute), the previous execute's types are used."""
    r = io.BytesIO(data)
    try:
        flags = r.read(1)[0]
        r.read(4)  # iteration count, always 1
        if nparams == 0:
            return flags, [], previous_types or []
        bitmap = r.read((nparams + 7) // 8)
        bound = r.read(1)[0]
        if bound:
            types = []
            for _ in range(nparams):
                t, f = r.read(2)
                types.append((t, bool(f & 0x80)))
        elif previous_types is not None and len(previous_types) == nparams:
            types = previous_types
        else:
            raise SqlError(ER_MALFORMED_PACKET, "Malformed COM_STMT_EXECUTE: parameter types were never sent")
        values: list[Any] = []
        for i, (t, unsigned) in enumerate(types):
            if bitmap[i // 8] & (1 << (i % 8)):
                values.append(None)
            elif long_data and i in long_data:
                values.append(_decode_long(long_data[i], t))
            else:
                values.append(_read_value(r, t, unsigned))
        return flags, values, types
    except (IndexError, ValueError, OverflowError, struct.error) as e:
        raise SqlError(ER_MALFORMED_PACKET, f"Malformed COM_STMT_EXECUTE packet: {e}") from None


def _decode_long(buf: bytearray, t: int) -> Any:
    if t in _BLOBS:
        return bytes(buf)
    return _text_param(bytes(buf))


def results_charset(name: str | None) -> CharacterSet:
    """The character set results are sent in: ``character_set_results`` (utf8mb4 when unset,
    binary or unknown to the wire library)."""
    if name and name not in ("utf8mb4", "utf8", "utf8mb3", "binary"):
        try:
            return CharacterSet[name]
        except KeyError:
            pass
    return CharacterSet.utf8mb4


def _text_param(raw: bytes) -> str | bytes:
    """A string parameter is text when it is UTF-8, else the bytes it is (mysql-connector sends
    ``bytes`` values typed as strings): stored as a BLOB, never an encoding error."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _lenenc(r: io.BytesIO) -> bytes:
    first = r.read(1)[0]
    if first < 0xFB:
        n = first
    elif first == 0xFC:
        n = struct.unpack("<H", r.read(2))[0]
    elif first == 0xFD:
        n = int.from_bytes(r.read(3), "little")
    elif first == 0xFE:
        n = struct.unpack("<Q", r.read(8))[0]
    else:
        raise ValueError("bad length-encoded string")
    data = r.read(n)
    if len(data) != n:
        raise ValueError("truncated value")
    return data


def _read_value(r: io.BytesIO, t: int, unsigned: bool) -> Any:
    if t in _STRINGS:
        return _text_param(_lenenc(r))
    if t in _BLOBS:
        return _lenenc(r)
    if t == ColumnType.TINY:
        return struct.unpack("<B" if unsigned else "<b", r.read(1))[0]
    if t in (ColumnType.SHORT, ColumnType.YEAR):
        return struct.unpack("<H" if unsigned else "<h", r.read(2))[0]
    if t in (ColumnType.LONG, ColumnType.INT24):
        return struct.unpack("<I" if unsigned else "<i", r.read(4))[0]
    if t == ColumnType.LONGLONG:
        return struct.unpack("<Q" if unsigned else "<q", r.read(8))[0]
    if t == ColumnType.FLOAT:
        return struct.unpack("<f", r.read(4))[0]
    if t == ColumnType.DOUBLE:
        return struct.unpack("<d", r.read(8))[0]
    if t == ColumnType.NULL:
        return None
    if t in (ColumnType.DATE, ColumnType.DATETIME, ColumnType.TIMESTAMP):
        n = r.read(1)[0]
        b = r.read(n)
        if n == 0:
            return "0000-00-00 00:00:00" if t != ColumnType.DATE else "0000-00-00"
        y, mo, d = struct.unpack("<HBB", b[:4])
        if t == ColumnType.DATE or n == 4:
            return f"{y:04d}-{mo:02d}-{d:02d}" + ("" if t == ColumnType.DATE else " 00:00:00")
        h, mi, s = b[4], b[5], b[6]
        text = f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"
        if n == 11:
            text += f".{struct.unpack('<I', b[7:11])[0]:06d}"
        return text
    if t == ColumnType.TIME:
        n = r.read(1)[0]
        b = r.read(n)
        if n == 0:
            return "00:00:00"
        neg, days, h, mi, s = struct.unpack("<BIBBB", b[:8])
        text = f"{'-' if neg else ''}{days * 24 + h:02d}:{mi:02d}:{s:02d}"
        if n == 12:
            text += f".{struct.unpack('<I', b[8:12])[0]:06d}"
        return text
    raise SqlError(ER_WRONG_ARGUMENTS, f"Incorrect arguments to mysqld_stmt_execute: unsupported parameter type {t}")


__all__ = ["ok_packet", "eof_packet", "err_packet", "status_flags", "infer_columns", "results_charset", "read_execute", "uint_1",
           "parse_handshake_response", "parse_change_user", "split_payload", "PacketTooLarge", "Stream"]


# -- strict decoders ---------------------------------------------------------------------------------
class _Truncated(ValueError):
    """A field runs past the end of the packet."""


class _Reader:
    """Reads packet fields; every read is bounded by the packet (never loops past its end)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def fixed(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise _Truncated(f"{what} needs {n} bytes, {len(self.data) - self.pos} left")
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def uint(self, n: int, what: str) -> int:
        return int.from_bytes(self.fixed(n, what), "little")

    def lenenc_int(self, what: str) -> int:
        first = self.uint(1, what)
        if first < 0xFB:
            return first
        if first == 0xFC:
            return self.uint(2, what)
        if first == 0xFD:
            return self.uint(3, what)
        if first == 0xFE:
            return self.uint(8, what)
        raise _Truncated(f"{what} has an invalid length prefix {first:#x}")

    def lenenc_str(self, what: str) -> bytes:
        return self.fixed(self.lenenc_int(what), what)

    def null_str(self, what: str) -> bytes:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise _Truncated(f"{what} has no terminating NUL")
        out = self.data[self.pos:end]
        self.pos = end + 1
        return out


def _charset(collation_id: int) -> CharacterSet:
    """The client's character set; an unknown collation falls back to utf8mb4, as MySQL falls back to
    the server's default."""
    try:
        return Collation(collation_id).charset
    except ValueError:
        return CharacterSet.utf8mb4


def _text(raw: bytes, charset: CharacterSet, what: str) -> str:
    try:
        return raw.decode(charset.codec)
    except LookupError:  # a MySQL character set Python has no codec for (binary, dec8, ...)
        return raw.decode("utf-8", "surrogateescape")
    except UnicodeDecodeError:
        raise _Truncated(f"{what} is not valid {charset.name}") from None


def _connect_attrs(r: _Reader, charset: CharacterSet) -> dict[str, str]:
    total = r.lenenc_int("connection attributes length")
    end = r.pos + total
    if end > len(r.data):
        raise _Truncated("connection attributes run past the end of the packet")
    attrs: dict[str, str] = {}
    while r.pos < end:
        key = r.lenenc_str("connection attribute name")
        value = r.lenenc_str("connection attribute value")
        if r.pos > end:
            raise _Truncated("a connection attribute runs past the attributes' length")
        attrs[_text(key, charset, "a connection attribute")] = _text(value, charset, "a connection attribute")
    return attrs


def parse_handshake_response(server_caps: Capabilities, data: bytes) -> HandshakeResponse41 | SSLRequest:
    """Protocol::HandshakeResponse41 (or the SSL request that precedes it over TLS), with every field
    bounded by the packet: a malformed one raises SqlError 1043 (Bad handshake)."""
    r = _Reader(data)
    try:
        caps = Capabilities(r.uint(4, "capability flags")) & server_caps
        max_packet = r.uint(4, "max packet size")
        charset = _charset(r.uint(1, "character set"))
        r.fixed(23, "filler")
        if r.at_end():
            return SSLRequest(max_packet_size=max_packet, capabilities=caps, client_charset=charset)
        user = _text(r.null_str("the user name"), charset, "the user name")
        if Capabilities.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA in caps:
            auth = r.lenenc_str("the auth response")
        elif Capabilities.CLIENT_SECURE_CONNECTION in caps:
            auth = r.fixed(r.uint(1, "the auth response length"), "the auth response")
        else:
            auth = r.null_str("the auth response")
        out = HandshakeResponse41(max_packet_size=max_packet, capabilities=caps, client_charset=charset,
                                  username=user, auth_response=auth)
        # the optional fields may be left out at the very end of the packet (MySQL's parser allows it)
        if Capabilities.CLIENT_CONNECT_WITH_DB in caps and not r.at_end():
            out.database = _text(r.null_str("the database name"), charset, "the database name")
        if Capabilities.CLIENT_PLUGIN_AUTH in caps and not r.at_end():
            out.client_plugin = _text(r.null_str("the auth plugin name"), charset, "the auth plugin name")
        if Capabilities.CLIENT_CONNECT_ATTRS in caps and not r.at_end():
            out.connect_attrs = _connect_attrs(r, charset)
        if Capabilities.CLIENT_ZSTD_COMPRESSION_ALGORITHM in caps and not r.at_end():
            out.zstd_compression_level = r.uint(1, "the zstd level")
        return out
    except _Truncated as e:
        raise SqlError(ER_HANDSHAKE, f"Bad handshake: {e}") from None


def parse_change_user(caps: Capabilities, charset: CharacterSet, data: bytes) -> ComChangeUser:
    """COM_CHANGE_USER's body, bounded by the packet: a malformed one raises SqlError 1835."""
    r = _Reader(data)
    try:
        user = _text(r.null_str("the user name"), charset, "the user name")
        if Capabilities.CLIENT_SECURE_CONNECTION in caps:
            auth = r.fixed(r.uint(1, "the auth response length"), "the auth response")
        else:
            auth = r.null_str("the auth response")
        database = _text(r.null_str("the database name"), charset, "the database name")
        out = ComChangeUser(username=user, auth_response=auth, database=database)
        if not r.at_end():
            if Capabilities.CLIENT_PROTOCOL_41 in caps:
                charset = out.client_charset = _charset(r.uint(2, "the character set"))
            if Capabilities.CLIENT_PLUGIN_AUTH in caps and not r.at_end():
                out.client_plugin = _text(r.null_str("the auth plugin name"), charset, "the auth plugin name")
            if Capabilities.CLIENT_CONNECT_ATTRS in caps and not r.at_end():
                out.connect_attrs = _connect_attrs(r, charset)
        return out
    except _Truncated as e:
        raise SqlError(ER_MALFORMED_PACKET, f"Malformed COM_CHANGE_USER packet: {e}") from None


# -- framing -----------------------------------------------------------------------------------------
class PacketTooLarge(Exception):
    """A client announced a payload bigger than the connection's limit (checked before it is read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a packet larger than {limit} bytes")
        self.limit = limit


def split_payload(payload: bytes) -> list[bytes]:
    """A payload of MAX_PAYLOAD bytes or more as the protocol sends it: MAX_PAYLOAD-byte pieces, then
    a shorter (possibly empty) last one; each piece is framed as its own packet."""
    pieces = [payload[i:i + MAX_PAYLOAD] for i in range(0, len(payload), MAX_PAYLOAD)]
    if not pieces or len(pieces[-1]) == MAX_PAYLOAD:
        pieces.append(b"")
    return pieces


class Stream:
    """mysql-mimic's packet stream (a compiled class: wrapped, not subclassed) with reads bounded by a
    size limit, writes that split payloads of 16 MB and more, and a TLS upgrade that keeps the
    client's early bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._inner = MysqlStream(reader, writer)
        self.reader, self.writer, self.seq = reader, writer, self._inner.seq

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if callable(value):
            setattr(self, name, value)  # bound methods are stable: look them up once
        return value

    async def read(self, limit: int = PRE_AUTH_MAX_PACKET) -> bytes:
        """One client payload, joined from as many packets as it spans. Raises PacketTooLarge as soon
        as a header announces more than `limit` bytes in all (the body is never read), SqlError 1835
        for a packet out of sequence, IncompleteReadError when the client goes away."""
        reader = self.reader
        data = b""
        while True:
            header = await reader.readexactly(4)
            length = int.from_bytes(header[:3], "little")
            expected = next(self.seq)
            if header[3] != expected:
                raise SqlError(ER_MALFORMED_PACKET, f"Malformed packet: sequence {header[3]}, expected {expected}")
            if len(data) + length > limit:
                raise PacketTooLarge(limit)
            chunk = await reader.readexactly(length) if length else b""
            if length < MAX_PAYLOAD:
                return data + chunk if data else chunk
            data += chunk

    def write_many(self, packets: Sequence[bytes]) -> None:
        """Frame and buffer packets; one of MAX_PAYLOAD bytes or more goes out split."""
        if packets and max(map(len, packets)) >= MAX_PAYLOAD:
            packets = [piece for p in packets for piece in (split_payload(p) if len(p) >= MAX_PAYLOAD else (p,))]
        self._inner.write_many(packets)

    async def start_tls(self, context: ssl.SSLContext) -> None:
        await start_tls(self._inner, context)


async def start_tls(stream: Any, context: ssl.SSLContext) -> None:
    """Upgrade a connection to TLS without losing the client's first TLS bytes.

    A client may send its TLS ClientHello right behind the SSL request packet; the stream reader
    has then already buffered it, and mysql-mimic's own upgrade (loop.start_tls alone) waits
    forever for a ClientHello that never comes again. Those bytes are handed to the TLS protocol
    once start_tls has installed it, including any that reached the reader after the SSL request
    was read (on a busy node the ClientHello could land there and be lost: a failed handshake)."""
    reader, writer = stream.reader, stream.writer
    transport = writer.transport
    loop = asyncio.get_running_loop()
    upgrade = asyncio.ensure_future(
        loop.start_tls(transport, transport.get_protocol(), context, server_side=True)
    )
    # start_tls runs up to its handshake wait: its protocol is installed and reading paused, and its
    # connection_made is queued. Only now is the reader's buffer complete (bytes may still have
    # reached it since the SSL request was read); they go to the TLS protocol at once, ahead of
    # anything read from now on (before connection_made it only buffers them).
    await asyncio.sleep(0)
    pending = bytes(reader._buffer)
    reader._buffer.clear()
    if pending:
        _feed(transport.get_protocol(), pending)
    new_transport = await upgrade
    writer._transport = new_transport
    reader._transport = new_transport


def _feed(protocol: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        buf = protocol.get_buffer(len(view))
        n = min(len(buf), len(view))
        buf[:n] = view[:n]
        protocol.buffer_updated(n)
        view = view[n:]
