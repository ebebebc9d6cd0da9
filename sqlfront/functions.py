"""MySQL functions that SQLite lacks (or implements differently), as plain Python for sqlite3.

The lowering (sqlfront.lower) rewrites MySQL calls to the names registered here. Values cross the
SQLite boundary as int/float/str/bytes/None; temporal values are MySQL-formatted text
('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS[.ffffff]', 'HH:MM:SS') because that is what drlab stores.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import math
import operator
import random
import re
import sqlite3
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

VERSION = "5.7.32"  # the MySQL version SingleStore claims to be (facts.md section 8): VERSION(), @@version, the greeting
_U64 = 1 << 64


class FunctionContext(Protocol):
    """Per-session values the server provides to the session-dependent functions."""

    last_insert_id: int
    row_count: int
    found_rows: int
    connection_id: int

    def now(self) -> datetime:
        """The statement timestamp: one value for every call in a statement, like MySQL NOW()."""
        ...

    def account(self, current: bool) -> str:
        """USER() ('user@client host') or, with current, CURRENT_USER() (the matched account)."""
        ...

    def server_version(self) -> str:
        """VERSION(): SingleStore's 5.7.32, or the node's --mysql-version."""
        ...


# --------------------------------------------------------------------------- value conversions


def _num_str(v: float) -> str:
    """MySQL prints a whole double without '.0' and otherwise its shortest round-trip form."""
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _to_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return _num_str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _to_bytes(v: Any) -> bytes:
    return v if isinstance(v, bytes) else _to_str(v).encode()


_NUM_PREFIX = re.compile(r"\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)")


def _to_num(v: Any) -> int | float:
    """MySQL's string-to-number: the longest numeric prefix, 0 when there is none."""
    if isinstance(v, int | float):
        return v
    m = _NUM_PREFIX.match(_to_str(v))
    if not m:
        return 0
    text = m.group(0).strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _round_half_away(v: float) -> int:
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def _to_int(v: Any) -> int:
    """MySQL rounds (not truncates) a fractional argument where an integer is expected."""
    n = _to_num(v)
    return _round_half_away(n) if isinstance(n, float) else n


def _storable_int(n: int) -> int | str:
    """sqlite3 cannot bind integers beyond signed 64 bits: hand those back as decimal text."""
    return n if -(1 << 63) <= n < (1 << 63) else str(n)


# --------------------------------------------------------------------------- temporal parsing

_DT_RE = re.compile(
    r"\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?\s*$"
)
_TIME_RE = re.compile(r"\s*(-?)(\d{1,3}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?\s*$")


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> tuple[datetime, bool] | None:
    m = _DT_RE.match(text)
    if m:
        y, mo, d, h, mi, s, f = m.groups()
        try:
            dt = datetime(
                int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), int((f or "0").ljust(6, "0"))
            )
        except ValueError:
            return None
        return dt, h is not None
    digits = text.strip()
    if digits.isdigit() and len(digits) in (8, 14):  # MySQL numeric forms YYYYMMDD[HHMMSS]
        try:
            if len(digits) == 8:
                return datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:8])), False
            y, mo, d, h, mi, s = (int(digits[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)))
            return datetime(y, mo, d, h, mi, s), True
        except ValueError:
            return None
    return None


def _parse_dt(v: Any) -> tuple[datetime, bool] | None:
    """A DATE/DATETIME value and whether it carried a time part; None for NULL or invalid input."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v, True
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day), False
    if isinstance(v, int | float):
        v = str(int(v))
    elif isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return _parse_text(v)


def _parse_time(v: Any) -> time | None:
    """A TIME-of-day from 'HH:MM:SS' or from a DATETIME value."""
    if v is None:
        return None
    if isinstance(v, str):
        m = _TIME_RE.match(v)
        if m:
            sign, h, mi, s, f = m.groups()
            if sign or int(h) > 23:
                return None
            try:
                return time(int(h), int(mi), int(s or 0), int((f or "0").ljust(6, "0")))
            except ValueError:
                return None
    parsed = _parse_dt(v)
    return parsed[0].time() if parsed else None


def _fmt_dt(dt: datetime, micro: bool = False) -> str:
    text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    return f"{text}.{dt.microsecond:06d}" if micro or dt.microsecond else text


def _fmt_date(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _fmt_time(t: time) -> str:
    text = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond:06d}" if t.microsecond else text


def _fsp(dt: datetime, fsp: Any) -> str:
    """NOW(fsp): fsp fractional digits, none by default."""
    digits = _to_int(fsp) if fsp is not None else 0
    text = _fmt_dt(dt.replace(microsecond=0))
    if digits <= 0:
        return text
    return f"{text}.{dt.microsecond:06d}"[: len(text) + 1 + min(digits, 6)]


# --------------------------------------------------------------------------- date arithmetic

_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
_SECONDS = {"MICROSECOND": 1e-6, "SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}
_MONTHS = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}


def _add_months(dt: datetime, months: int) -> datetime | None:
    """MySQL month arithmetic: keep the day, clamped to the end of the target month."""
    total = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        return None
    return dt.replace(year=year, month=month + 1, day=min(dt.day, calendar.monthrange(year, month + 1)[1]))


def date_add(d: Any, n: Any, unit: str) -> str | None:
    """DATE_ADD / + INTERVAL: a DATE stays a DATE for day-or-larger units, as in MySQL."""
    parsed = _parse_dt(d)
    if parsed is None or n is None:
        return None
    dt, has_time = parsed
    unit = unit.upper()
    try:
        if unit in _MONTHS:
            result = _add_months(dt, _to_int(n) * _MONTHS[unit])
        elif unit in ("SECOND", "MICROSECOND"):
            num = _to_num(n)
            result = dt + timedelta(microseconds=round(num * _SECONDS[unit] * 1_000_000))
        else:
            result = dt + timedelta(seconds=_to_int(n) * _SECONDS[unit])
    except (OverflowError, ValueError):
        return None
    if result is None or not 1 <= result.year <= 9999:
        return None
    if not has_time and unit in _DATE_UNITS:
        return _fmt_date(result)
    return _fmt_dt(result, micro=unit == "MICROSECOND")


def date_sub(d: Any, n: Any, unit: str) -> str | None:
    """DATE_SUB / - INTERVAL."""
    if n is None:
        return None
    num = _to_num(n)
    return date_add(d, -num, unit)


def datediff(a: Any, b: Any) -> int | None:
    """Days between the date parts, ignoring times (unlike julianday arithmetic)."""
    pa, pb = _parse_dt(a), _parse_dt(b)
    if pa is None or pb is None:
        return None
    return (pa[0].date() - pb[0].date()).days


def _months_between(a: datetime, b: datetime) -> int:
    sign = 1
    if b < a:
        a, b, sign = b, a, -1
    months = (b.year - a.year) * 12 + b.month - a.month
    if (b.day, b.time()) < (a.day, a.time()):
        months -= 1
    return sign * months


def timestampdiff(unit: str, a: Any, b: Any) -> int | None:
    """TIMESTAMPDIFF(unit, a, b) = b - a in whole units, truncated toward zero."""
    pa, pb = _parse_dt(a), _parse_dt(b)
    if pa is None or pb is None:
        return None
    unit = unit.upper()
    if unit in _MONTHS:
        return int(_months_between(pa[0], pb[0]) / _MONTHS[unit])
    delta = pb[0] - pa[0]
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    whole = abs(micros) // round(_SECONDS[unit] * 1_000_000)
    return whole if micros >= 0 else -whole


# --------------------------------------------------------------------------- formatting

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONDAY_FIRST, _WEEK_YEAR, _FIRST_WEEKDAY = 1, 2, 4


def _days_in_year(y: int) -> int:
    return 366 if calendar.isleap(y) else 365


def _calc_week(d: date, behaviour: int) -> tuple[int, int]:
    """MySQL's calc_week(): (year, week) for the WEEK() modes and %U %u %V %v %X %x."""
    monday_first = bool(behaviour & _MONDAY_FIRST)
    week_year = bool(behaviour & _WEEK_YEAR)
    first_weekday = bool(behaviour & _FIRST_WEEKDAY)
    daynr = d.toordinal()
    first = date(d.year, 1, 1)
    first_daynr = first.toordinal()
    weekday = first.weekday() if monday_first else (first.weekday() + 1) % 7
    year = d.year
    if d.month == 1 and d.day <= 7 - weekday:
        if not week_year and ((first_weekday and weekday != 0) or (not first_weekday and weekday >= 4)):
            return year, 0
        week_year = True
        year -= 1
        days = _days_in_year(year)
        first_daynr -= days
        weekday = (weekday + 53 * 7 - days) % 7
    if (first_weekday and weekday != 0) or (not first_weekday and weekday >= 4):
        days = daynr - (first_daynr + (7 - weekday))
    else:
        days = daynr - (first_daynr - weekday)
    if week_year and days >= 52 * 7:
        weekday = (weekday + _days_in_year(year)) % 7
        if (not first_weekday and weekday < 4) or (first_weekday and weekday == 0):
            return year + 1, 1
    return year, days // 7 + 1


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def _format_one(spec: str, dt: datetime) -> str:
    h12 = dt.hour % 12 or 12
    match spec:
        case "a":
            return _DAY_NAMES[dt.weekday()][:3]
        case "b":
            return _MONTH_NAMES[dt.month - 1][:3]
        case "c":
            return str(dt.month)
        case "D":
            return _ordinal(dt.day)
        case "d":
            return f"{dt.day:02d}"
        case "e":
            return str(dt.day)
        case "f":
            return f"{dt.microsecond:06d}"
        case "H":
            return f"{dt.hour:02d}"
        case "h" | "I":
            return f"{h12:02d}"
        case "i":
            return f"{dt.minute:02d}"
        case "j":
            return f"{dt.timetuple().tm_yday:03d}"
        case "k":
            return str(dt.hour)
        case "l":
            return str(h12)
        case "M":
            return _MONTH_NAMES[dt.month - 1]
        case "m":
            return f"{dt.month:02d}"
        case "p":
            return "AM" if dt.hour < 12 else "PM"
        case "r":
            return f"{h12:02d}:{dt.minute:02d}:{dt.second:02d} {'AM' if dt.hour < 12 else 'PM'}"
        case "S" | "s":
            return f"{dt.second:02d}"
        case "T":
            return f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        case "U":
            return f"{_calc_week(dt.date(), _FIRST_WEEKDAY)[1]:02d}"
        case "u":
            return f"{_calc_week(dt.date(), _MONDAY_FIRST)[1]:02d}"
        case "V":
            return f"{_calc_week(dt.date(), _WEEK_YEAR | _FIRST_WEEKDAY)[1]:02d}"
        case "v":
            return f"{_calc_week(dt.date(), _MONDAY_FIRST | _WEEK_YEAR)[1]:02d}"
        case "W":
            return _DAY_NAMES[dt.weekday()]
        case "w":
            return str((dt.weekday() + 1) % 7)
        case "X":
            return f"{_calc_week(dt.date(), _WEEK_YEAR | _FIRST_WEEKDAY)[0]:04d}"
        case "x":
            return f"{_calc_week(dt.date(), _MONDAY_FIRST | _WEEK_YEAR)[0]:04d}"
        case "Y":
            return f"{dt.year:04d}"
        case "y":
            return f"{dt.year % 100:02d}"
    return spec  # '%%' -> '%', and MySQL prints an unknown specifier's character as is


def _format(dt: datetime, fmt: str) -> str:
    out: list[str] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == "%" and i + 1 < n:
            out.append(_format_one(fmt[i + 1], dt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def date_format(d: Any, fmt: Any) -> str | None:
    """DATE_FORMAT with every MySQL % specifier."""
    parsed = _parse_dt(d)
    if parsed is None or fmt is None:
        return None
    return _format(parsed[0], _to_str(fmt))


_PARSE_NUM = {
    "Y": 4,
    "y": 2,
    "m": 2,
    "c": 2,
    "d": 2,
    "e": 2,
    "H": 2,
    "k": 2,
    "h": 2,
    "I": 2,
    "l": 2,
    "i": 2,
    "s": 2,
    "S": 2,
    "f": 6,
    "j": 3,
}
_DATE_SPECS = set("YymcdeMbjDaWw")
_TIME_SPECS = set("HkhIlisSfprT")


def _str_to_date(s: str, fmt: str) -> str | None:
    fmt = fmt.replace("%T", "%H:%i:%s").replace("%r", "%h:%i:%s %p")
    f: dict[str, int] = {}
    pm: bool | None = None
    pos = i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%" or i + 1 == len(fmt):
            if ch.isspace():
                while pos < len(s) and s[pos].isspace():
                    pos += 1
            elif pos < len(s) and s[pos] == ch:
                pos += 1
            else:
                return None
            i += 1
            continue
        spec = fmt[i + 1]
        i += 2
        if spec in _PARSE_NUM:
            j = pos
            while j < len(s) and j - pos < _PARSE_NUM[spec] and s[j].isdigit():
                j += 1
            if j == pos:
                return None
            text, pos = s[pos:j], j
            f[spec] = int(text.ljust(6, "0")) if spec == "f" else int(text)
        elif spec in ("M", "b", "W", "a"):
            names = _MONTH_NAMES if spec in ("M", "b") else _DAY_NAMES
            for k, name in enumerate(names):
                cand = name if spec in ("M", "W") else name[:3]
                if s[pos : pos + len(cand)].lower() == cand.lower():
                    pos += len(cand)
                    if spec in ("M", "b"):
                        f["m"] = k + 1
                    break
            else:
                return None
        elif spec == "p":
            word = s[pos : pos + 2].upper()
            if word not in ("AM", "PM"):
                return None
            pm, pos = word == "PM", pos + 2
        elif spec == "%":
            if s[pos : pos + 1] != "%":
                return None
            pos += 1
        else:
            return None
    year = f.get("Y", (2000 + f["y"] if f["y"] < 70 else 1900 + f["y"]) if "y" in f else 0)
    month = f.get("m", f.get("c", 0))
    day = f.get("d", f.get("e", 0))
    hour = f.get("H", f.get("k", f.get("h", f.get("I", f.get("l", 0)))))
    if pm is not None:
        hour = hour % 12 + (12 if pm else 0)
    minute, second, micro = f.get("i", 0), f.get("s", f.get("S", 0)), f.get("f", 0)
    specs = set(re.findall(r"%(.)", fmt))
    has_date, has_time = bool(specs & _DATE_SPECS), bool(specs & _TIME_SPECS)
    try:
        if "j" in f and year:
            d = date(year, 1, 1) + timedelta(days=f["j"] - 1)
            year, month, day = d.year, d.month, d.day
        t = time(hour, minute, second, micro)
        if not has_date:
            return _fmt_time(t)
        dt = datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        return None
    return _fmt_dt(dt) if has_time else _fmt_date(dt)


def str_to_date(s: Any, fmt: Any) -> str | None:
    """STR_TO_DATE: DATETIME, DATE or TIME text depending on which parts the format has."""
    if s is None or fmt is None:
        return None
    return _str_to_date(_to_str(s), _to_str(fmt))


def _part(fn: Callable[[datetime], Any]) -> Callable[[Any], Any]:
    def extract(d: Any) -> Any:
        parsed = _parse_dt(d)
        return None if parsed is None else fn(parsed[0])

    return extract


def _time_part(fn: Callable[[time], int]) -> Callable[[Any], int | None]:
    def extract(v: Any) -> int | None:
        t = _parse_time(v)
        return None if t is None else fn(t)

    return extract


def week(d: Any, mode: Any = 0) -> int | None:
    """WEEK(d[, mode]) with MySQL's eight modes."""
    parsed = _parse_dt(d)
    if parsed is None:
        return None
    m = _to_int(mode or 0) & 7
    if not m & _MONDAY_FIRST:
        m ^= _FIRST_WEEKDAY
    year, wk = _calc_week(parsed[0].date(), m)
    return wk if m & _WEEK_YEAR or year == parsed[0].year else 0


def mysql_date(d: Any) -> str | None:
    """DATE() / CAST AS DATE."""
    parsed = _parse_dt(d)
    return None if parsed is None else _fmt_date(parsed[0])


def mysql_datetime(d: Any) -> str | None:
    """TIMESTAMP() / CAST AS DATETIME."""
    parsed = _parse_dt(d)
    return None if parsed is None else _fmt_dt(parsed[0])


def mysql_time(v: Any) -> str | None:
    """TIME() / CAST AS TIME."""
    t = _parse_time(v)
    return None if t is None else _fmt_time(t)


_OFFSET = re.compile(r"([+-])(\d{1,2}):(\d{2})")


def _zone(name: Any) -> tzinfo | None:
    """A CONVERT_TZ zone: '+HH:MM' / '-HH:MM', 'SYSTEM' (drlab runs in UTC), or a named zone from
    the system's zone database (MySQL with its time zone tables loaded); None when unknown."""
    text = _to_str(name).strip()
    m = _OFFSET.fullmatch(text)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3))
        if minutes > 14 * 60:
            return None
        return timezone(timedelta(minutes=-minutes if m.group(1) == "-" else minutes))
    if text.upper() in ("SYSTEM", "UTC"):
        return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def convert_tz(d: Any, src: Any, dst: Any) -> str | None:
    """CONVERT_TZ(dt, from, to): NULL for a NULL or invalid argument or an unknown zone, as MySQL."""
    parsed = _parse_dt(d)
    if parsed is None or src is None or dst is None:
        return None
    a, b = _zone(src), _zone(dst)
    if a is None or b is None:
        return None
    moved = parsed[0].replace(tzinfo=a).astimezone(b).replace(tzinfo=None)
    return _fmt_dt(moved)


def last_day(d: Any) -> str | None:
    parsed = _parse_dt(d)
    if parsed is None:
        return None
    dt = parsed[0]
    return _fmt_date(dt.replace(day=calendar.monthrange(dt.year, dt.month)[1]))


def _local_from_unix(n: Any) -> datetime | None:
    num = _to_num(n)
    if num < 0:
        return None
    try:
        return datetime.fromtimestamp(num)
    except (OverflowError, OSError, ValueError):
        return None


def from_unixtime(n: Any, fmt: Any = None) -> str | None:
    """FROM_UNIXTIME(n[, fmt]) in the server's local time zone."""
    if n is None:
        return None
    dt = _local_from_unix(n)
    if dt is None:
        return None
    if fmt is not None:
        return _format(dt, _to_str(fmt))
    return _fmt_dt(dt, micro=isinstance(n, float) and not n.is_integer())


def _unix(dt: datetime) -> int | float:
    ts = dt.timestamp()
    return int(ts) if dt.microsecond == 0 else round(ts, 6)


# --------------------------------------------------------------------------- strings


def concat(*args: Any) -> str | bytes | None:
    """CONCAT: NULL if any argument is NULL; binary if any argument is binary."""
    if any(a is None for a in args):
        return None
    if any(isinstance(a, bytes) for a in args):
        return b"".join(_to_bytes(a) for a in args)
    return "".join(_to_str(a) for a in args)


def concat_ws(sep: Any, *args: Any) -> str | None:
    """CONCAT_WS skips NULL arguments (but a NULL separator gives NULL)."""
    if sep is None:
        return None
    return _to_str(sep).join(_to_str(a) for a in args if a is not None)


def mysql_left(s: Any, n: Any) -> str | bytes | None:
    if s is None or n is None:
        return None
    k = _to_int(n)
    v = s if isinstance(s, bytes) else _to_str(s)
    return v[:k] if k > 0 else v[:0]


def mysql_right(s: Any, n: Any) -> str | bytes | None:
    if s is None or n is None:
        return None
    k = _to_int(n)
    v = s if isinstance(s, bytes) else _to_str(s)
    return v[-k:] if k > 0 else v[:0]


def _pad(s: Any, n: Any, pad: Any, left: bool) -> str | None:
    if s is None or n is None or pad is None:
        return None
    k, v, p = _to_int(n), _to_str(s), _to_str(pad)
    if k < 0:
        return None
    if k <= len(v):
        return v[:k]
    if not p:
        return None
    fill = (p * ((k - len(v)) // len(p) + 1))[: k - len(v)]
    return fill + v if left else v + fill


def lpad(s: Any, n: Any, pad: Any = " ") -> str | None:
    return _pad(s, n, pad, True)


def rpad(s: Any, n: Any, pad: Any = " ") -> str | None:
    return _pad(s, n, pad, False)


def mysql_substr(s: Any, pos: Any, n: Any = -1) -> str | bytes | None:
    """SUBSTRING: position 0 gives '', a negative length gives '' (SQLite's substr differs on both)."""
    if s is None or pos is None or n is None:
        return None
    v = s if isinstance(s, bytes) else _to_str(s)
    p, k = _to_int(pos), (_to_int(n) if n != -1 else len(v))
    if p == 0 or k <= 0 or abs(p) > len(v):
        return v[:0]
    start = p - 1 if p > 0 else len(v) + p
    return v[start : start + k]


def substring_index(s: Any, delim: Any, count: Any) -> str | None:
    if s is None or delim is None or count is None:
        return None
    v, d, c = _to_str(s), _to_str(delim), _to_int(count)
    if not d or c == 0:
        return ""
    parts = v.split(d)
    return d.join(parts[:c]) if c > 0 else d.join(parts[c:])


def locate(sub: Any, s: Any, pos: Any = 1) -> int | None:
    """LOCATE/INSTR/POSITION: 1-based, case-insensitive like MySQL's default collation."""
    if sub is None or s is None or pos is None:
        return None
    p = _to_int(pos)
    if p < 1:
        return 0
    if isinstance(sub, bytes) or isinstance(s, bytes):
        return _to_bytes(s).find(_to_bytes(sub), p - 1) + 1
    return _to_str(s).casefold().find(_to_str(sub).casefold(), p - 1) + 1


def mysql_trim(s: Any, rem: Any, where: str) -> str | None:
    """TRIM([BOTH|LEADING|TRAILING] remstr FROM s): removes whole repetitions of remstr."""
    if s is None or rem is None:
        return None
    v, r = _to_str(s), _to_str(rem)
    if not r:
        return v
    if where in ("BOTH", "LEADING"):
        while v.startswith(r):
            v = v[len(r) :]
    if where in ("BOTH", "TRAILING"):
        while v.endswith(r):
            v = v[: -len(r)]
    return v


def _str_fn(fn: Callable[[str], str]) -> Callable[[Any], Any]:
    def apply(s: Any) -> Any:
        if s is None or isinstance(s, bytes):
            return s
        return fn(_to_str(s))

    return apply


def repeat(s: Any, n: Any) -> str | None:
    if s is None or n is None:
        return None
    return _to_str(s) * max(_to_int(n), 0)


def space(n: Any) -> str | None:
    return None if n is None else " " * max(_to_int(n), 0)


def find_in_set(needle: Any, items: Any) -> int | None:
    if needle is None or items is None:
        return None
    n = _to_str(needle).casefold()
    if "," in n:
        return 0
    for i, item in enumerate(_to_str(items).split(",") if items != "" else [], 1):
        if item.casefold() == n:
            return i
    return 0


def _eq(a: Any, b: Any) -> bool:
    """MySQL equality across types: numeric if either side is a number, else case-insensitive."""
    if isinstance(a, int | float) or isinstance(b, int | float):
        return float(_to_num(a)) == float(_to_num(b))
    return _to_str(a).casefold() == _to_str(b).casefold()


def field(s: Any, *items: Any) -> int:
    if s is None:
        return 0
    for i, item in enumerate(items, 1):
        if item is not None and _eq(s, item):
            return i
    return 0


def elt(n: Any, *items: Any) -> Any:
    if n is None:
        return None
    k = _to_int(n)
    return items[k - 1] if 1 <= k <= len(items) else None


def _extreme(args: tuple[Any, ...], pick: Callable[..., Any]) -> Any:
    if any(a is None for a in args):
        return None
    if all(isinstance(a, int | float) for a in args):
        return pick(args)
    return pick(args, key=lambda a: _to_str(a).casefold())


def greatest(*args: Any) -> Any:
    """GREATEST: NULL if any argument is NULL; numbers compare numerically, else as strings."""
    return _extreme(args, max)


def least(*args: Any) -> Any:
    return _extreme(args, min)


_POSIX_CLASSES = {
    "[[:<:]]": r"\b(?=\w)",
    "[[:>:]]": r"\b(?<=\w)",
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "a-zA-Z0-9",
    "[:space:]": r"\s",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:punct:]": r"!-/:-@\[-`{-~",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:blank:]": r" \t",
}
_POSIX_RE = re.compile("|".join(re.escape(k) for k in _POSIX_CLASSES))


@lru_cache(maxsize=1024)
def _regex(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(_POSIX_RE.sub(lambda m: _POSIX_CLASSES[m.group(0)], pattern), flags)


def regexp_like(s: Any, pattern: Any, match_type: Any = "") -> int | None:
    """REGEXP / RLIKE / REGEXP_LIKE: case-insensitive unless binary or match_type 'c'."""
    if s is None or pattern is None or match_type is None:
        return None
    flags = 0 if isinstance(s, bytes) or isinstance(pattern, bytes) else re.IGNORECASE
    for ch in _to_str(match_type):
        if ch == "c":
            flags &= ~re.IGNORECASE
        elif ch == "i":
            flags |= re.IGNORECASE
        elif ch == "m":
            flags |= re.MULTILINE
        elif ch == "n":
            flags |= re.DOTALL
    try:
        rx = _regex(_to_str(pattern), flags)
    except re.error as e:
        raise ValueError(f"Illegal argument to a regular expression: {e}") from None
    return 1 if rx.search(_to_str(s)) else 0


def regexp(pattern: Any, s: Any) -> int | None:
    """SQLite calls regexp(pattern, subject) for `subject REGEXP pattern`."""
    return regexp_like(s, pattern)


def strcmp(a: Any, b: Any) -> int | None:
    if a is None or b is None:
        return None
    x, y = _to_str(a).casefold(), _to_str(b).casefold()
    return (x > y) - (x < y)


# --------------------------------------------------------------------------- numbers


def mysql_mod(a: Any, b: Any) -> int | float | None:
    """MOD / %: the sign follows the dividend, fractions are kept, MOD(x, 0) is NULL."""
    if a is None or b is None:
        return None
    x, y = _to_num(a), _to_num(b)
    if y == 0:
        return None
    if isinstance(x, int) and isinstance(y, int):
        r = abs(x) % abs(y)
        return r if x >= 0 else -r
    return math.fmod(x, y)


def mysql_round(x: Any, d: Any = 0) -> int | float | None:
    """ROUND: half away from zero; an integer result stays an integer."""
    if x is None or d is None:
        return None
    v, digits = _to_num(x), _to_int(d)
    sign = 1 if v >= 0 else -1
    if isinstance(v, int):
        if digits >= 0:
            return v
        q = 10**-digits
        return sign * ((abs(v) + q // 2) // q * q)
    scale = 10.0**digits
    return sign * math.floor(abs(v) * scale + 0.5) / scale


def mysql_truncate(x: Any, d: Any) -> int | float | None:
    if x is None or d is None:
        return None
    v, digits = _to_num(x), _to_int(d)
    scale = 10**digits
    if isinstance(v, int):
        return v if digits >= 0 else int(v / 10**-digits) * 10**-digits
    return math.trunc(v * scale) / scale


def cast_signed(v: Any) -> int | None:
    """CAST(x AS SIGNED): numbers round, strings take their integer prefix."""
    if v is None:
        return None
    if isinstance(v, float):
        return _round_half_away(v)
    if isinstance(v, int):
        return v
    n = _to_num(v)
    return int(n) if isinstance(n, float) else n


def cast_decimal(v: Any, scale: Any) -> int | float | None:
    """CAST(x AS DECIMAL(p, s)): rounds half up in decimal, not binary, arithmetic."""
    if v is None or scale is None:
        return None
    digits = _to_int(scale)
    num = v if isinstance(v, int | float) else _to_num(v)
    q = Decimal(repr(num) if isinstance(num, float) else num).quantize(
        Decimal(1).scaleb(-digits), ROUND_HALF_UP
    )
    return int(q) if digits <= 0 else float(q)


def cast_unsigned(v: Any) -> int | str | None:
    n = cast_signed(v)
    return None if n is None else _storable_int(n % _U64)


def _bits(v: Any) -> int:
    return _to_int(v) % _U64


def bitxor(a: Any, b: Any) -> int | str | None:
    if a is None or b is None:
        return None
    return _storable_int(_bits(a) ^ _bits(b))


def bit_count(v: Any) -> int | None:
    return None if v is None else bin(_bits(v)).count("1")


# --------------------------------------------------------------------------- hashing and encoding


def mysql_hex(v: Any) -> str | None:
    """HEX: a number's value in base 16 (64-bit two's complement), a string's bytes otherwise."""
    if v is None:
        return None
    if isinstance(v, int | float):
        return format(_to_int(v) % _U64, "X")
    return _to_bytes(v).hex().upper()


def unhex(v: Any) -> bytes | None:
    if v is None:
        return None
    text = _to_str(v)
    try:
        return bytes.fromhex(text if len(text) % 2 == 0 else "0" + text)
    except ValueError:
        return None


def md5(v: Any) -> str | None:
    return None if v is None else hashlib.md5(_to_bytes(v)).hexdigest()


def sha1(v: Any) -> str | None:
    return None if v is None else hashlib.sha1(_to_bytes(v)).hexdigest()


def sha2(v: Any, bits: Any) -> str | None:
    if v is None or bits is None:
        return None
    algo = {0: "sha256", 224: "sha224", 256: "sha256", 384: "sha384", 512: "sha512"}.get(_to_int(bits))
    return None if algo is None else hashlib.new(algo, _to_bytes(v)).hexdigest()


def crc32(v: Any) -> int | None:
    return None if v is None else zlib.crc32(_to_bytes(v))


def to_base64(v: Any) -> str | None:
    """TO_BASE64 wraps lines at 76 characters, like MySQL."""
    return None if v is None else base64.encodebytes(_to_bytes(v)).decode().rstrip("\n")


def from_base64(v: Any) -> bytes | None:
    if v is None:
        return None
    try:
        return base64.b64decode("".join(_to_str(v).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


# --------------------------------------------------------------------------- aggregates


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None:
        return (0, 0)
    if isinstance(v, int | float):
        return (1, v)
    if isinstance(v, bytes):
        return (3, v)
    return (2, v.casefold())


class GroupConcat:
    """group_concat_ex(sep, distinct, dirs, value, key...): MySQL GROUP_CONCAT with ORDER BY.

    SQLite 3.40 has no ORDER BY inside aggregates, so rows and their sort keys are collected and
    sorted at finalize; dirs holds 'A' or 'D' per key. NULL values are skipped, as in MySQL.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[str, tuple[Any, ...]]] = []
        self.sep = ","
        self.distinct = False
        self.dirs = ""

    def step(self, sep: Any, distinct: int, dirs: str, value: Any, *keys: Any) -> None:
        if value is None:
            return
        self.sep, self.distinct, self.dirs = _to_str(sep) if sep is not None else "", bool(distinct), dirs
        self.rows.append((_to_str(value), keys))

    def finalize(self) -> str | None:
        if not self.rows:
            return None
        rows = self.rows
        for i in range(len(self.dirs) - 1, -1, -1):
            def key(r: Any, i: int = i) -> Any:
                return _sort_key(r[1][i])

            rows.sort(key=key, reverse=self.dirs[i] == "D")
        values = [r[0] for r in rows]
        if self.distinct:
            seen: set[str] = set()
            unique = []
            for v in values:
                if v.casefold() not in seen:
                    seen.add(v.casefold())
                    unique.append(v)
            values = unique
        return self.sep.join(values)


class _BitAgg:
    op: ClassVar[Callable[[int, int], int]]  # read as type(self).op: never bound to the instance
    start = 0

    def __init__(self) -> None:
        self.acc = self.start

    def step(self, v: Any) -> None:
        if v is not None:
            self.acc = type(self).op(self.acc, _bits(v))

    def finalize(self) -> int | str:
        return _storable_int(self.acc)


class BitXor(_BitAgg):
    """BIT_XOR: 0 over no rows."""

    op = operator.xor


class BitOr(_BitAgg):
    """BIT_OR: 0 over no rows."""

    op = operator.or_


class BitAnd(_BitAgg):
    """BIT_AND: all 64 bits set over no rows (returned as text: it exceeds SQLite's integers)."""

    op = operator.and_
    start = _U64 - 1


# --------------------------------------------------------------------------- registry

SCALARS: dict[str, tuple[int, Callable[..., Any], bool]] = {
    "date_add": (3, date_add, True),
    "date_sub": (3, date_sub, True),
    "datediff": (2, datediff, True),
    "timestampdiff": (3, timestampdiff, True),
    "date_format": (2, date_format, True),
    "str_to_date": (2, str_to_date, True),
    "from_unixtime": (-1, from_unixtime, True),
    "mysql_date": (1, mysql_date, True),
    "mysql_datetime": (1, mysql_datetime, True),
    "convert_tz": (3, convert_tz, True),
    "mysql_time": (1, mysql_time, True),
    "year": (1, _part(lambda d: d.year), True),
    "month": (1, _part(lambda d: d.month), True),
    "dayofmonth": (1, _part(lambda d: d.day), True),
    "hour": (1, _time_part(lambda t: t.hour), True),
    "minute": (1, _time_part(lambda t: t.minute), True),
    "second": (1, _time_part(lambda t: t.second), True),
    "dayofweek": (1, _part(lambda d: (d.weekday() + 1) % 7 + 1), True),
    "weekday": (1, _part(lambda d: d.weekday()), True),
    "dayofyear": (1, _part(lambda d: d.timetuple().tm_yday), True),
    "quarter": (1, _part(lambda d: (d.month + 2) // 3), True),
    "dayname": (1, _part(lambda d: _DAY_NAMES[d.weekday()]), True),
    "monthname": (1, _part(lambda d: _MONTH_NAMES[d.month - 1]), True),
    "week": (-1, week, True),
    "last_day": (1, last_day, True),
    "concat": (-1, concat, True),
    "concat_ws": (-1, concat_ws, True),
    "mysql_left": (2, mysql_left, True),
    "mysql_right": (2, mysql_right, True),
    "lpad": (-1, lpad, True),
    "rpad": (-1, rpad, True),
    "mysql_substr": (-1, mysql_substr, True),
    "substring_index": (3, substring_index, True),
    "locate": (-1, locate, True),
    "mysql_trim": (3, mysql_trim, True),
    "mysql_upper": (1, _str_fn(str.upper), True),
    "mysql_lower": (1, _str_fn(str.lower), True),
    "reverse": (1, _str_fn(lambda s: s[::-1]), True),
    "repeat": (2, repeat, True),
    "space": (1, space, True),
    "find_in_set": (2, find_in_set, True),
    "field": (-1, field, True),
    "elt": (-1, elt, True),
    "greatest": (-1, greatest, True),
    "least": (-1, least, True),
    "regexp": (2, regexp, True),
    "regexp_like": (-1, regexp_like, True),
    "strcmp": (2, strcmp, True),
    "mysql_mod": (2, mysql_mod, True),
    "mysql_round": (-1, mysql_round, True),
    "mysql_truncate": (2, mysql_truncate, True),
    "cast_signed": (1, cast_signed, True),
    "cast_unsigned": (1, cast_unsigned, True),
    "cast_decimal": (2, cast_decimal, True),
    "bitxor": (2, bitxor, True),
    "bit_count": (1, bit_count, True),
    "mysql_hex": (1, mysql_hex, True),
    "unhex": (1, unhex, True),
    "md5": (1, md5, True),
    "sha1": (1, sha1, True),
    "sha2": (2, sha2, True),
    "crc32": (1, crc32, True),
    "to_base64": (1, to_base64, True),
    "from_base64": (1, from_base64, True),
    "uuid": (0, lambda: str(uuid.uuid1()), False),
    "sysdate": (-1, lambda fsp=None: _fsp(datetime.now(), fsp), False),
}

def _exact(v: Any) -> Decimal | None:
    """A DECIMAL column's stored value (SQLite keeps it as REAL or INTEGER) as the exact decimal
    it was written as: a float's shortest repr is the literal that stored it."""
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v)) if math.isfinite(v) else None
    if isinstance(v, str | bytes):
        try:
            return Decimal(v.decode() if isinstance(v, bytes) else v.strip())
        except ArithmeticError:
            return Decimal(0)  # MySQL reads a non-numeric string as 0
    return None


class DecimalSum:
    """SUM over a DECIMAL(p, s) column, exact (MySQL's is; SQLite's adds floats): the text of the
    sum at the column's scale, which the result column's DECIMALn converter reads back."""

    def __init__(self) -> None:
        self.total: Decimal | None = None
        self.count = 0
        self.scale = 0

    def step(self, v: Any, scale: int) -> None:
        self.scale = scale
        d = _exact(v)
        if d is not None:
            self.total = d if self.total is None else self.total + d
            self.count += 1

    def finalize(self) -> str | None:
        if self.total is None:
            return None
        return str(self.total.quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP))


class DecimalAvg(DecimalSum):
    """AVG over a DECIMAL(p, s) column, exact, at scale s + 4 as MySQL's."""

    def finalize(self) -> str | None:
        if self.total is None:
            return None
        return str((self.total / self.count).quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP))


AGGREGATES: dict[str, tuple[int, type]] = {
    "mysql_decsum": (2, DecimalSum),
    "mysql_decavg": (2, DecimalAvg),
    "group_concat_ex": (-1, GroupConcat),
    "bit_xor": (1, BitXor),
    "bit_or": (1, BitOr),
    "bit_and": (1, BitAnd),
}


def _session_scalars(ctx: FunctionContext) -> dict[str, tuple[int, Callable[..., Any]]]:
    """Functions that read the statement time or session counters."""

    def now(fsp: Any = None) -> str:
        return _fsp(ctx.now(), fsp)

    def utc_timestamp(fsp: Any = None) -> str:
        return _fsp(ctx.now().astimezone(UTC).replace(tzinfo=None), fsp)

    def unix_timestamp(d: Any = ...) -> int | float | None:
        if d is ...:
            return int(ctx.now().timestamp())
        parsed = _parse_dt(d)
        return None if parsed is None else _unix(parsed[0])

    def last_insert_id(value: Any = ...) -> Any:
        if value is not ...:
            ctx.last_insert_id = value if value is None else _to_int(value)  # type: ignore[assignment]  # NULL is kept
            return ctx.last_insert_id
        return ctx.last_insert_id

    seeded: dict[Any, tuple[datetime, random.Random]] = {}

    def version() -> str:
        return ctx.server_version()

    def rand(seed: Any = ...) -> float:
        """RAND(seed) yields a sequence that restarts with each statement (not MySQL's PRNG)."""
        if seed is ...:
            return random.random()
        stamp = ctx.now()
        state = seeded.get(seed)
        if state is None or state[0] != stamp:
            if len(seeded) > 64:  # seeds from earlier statements are stale anyway
                seeded.clear()
            state = seeded[seed] = (stamp, random.Random(seed))
        return state[1].random()

    return {
        "now": (-1, now),
        "drlab_now": (0, now),
        "curdate": (0, lambda: _fmt_date(ctx.now())),
        "curtime": (-1, lambda fsp=None: _fsp(ctx.now(), fsp)[11:]),
        "utc_timestamp": (-1, utc_timestamp),
        "unix_timestamp": (-1, unix_timestamp),
        "last_insert_id": (-1, last_insert_id),
        "row_count": (0, lambda: ctx.row_count),
        "found_rows": (0, lambda: ctx.found_rows),
        "connection_id": (0, lambda: ctx.connection_id),
        "mysql_user": (0, lambda: ctx.account(False)),
        "mysql_current_user": (0, lambda: ctx.account(True)),
        "rand": (-1, rand),
        "version": (0, version),
    }


def register(conn: sqlite3.Connection, session: FunctionContext) -> None:
    """Install every function on conn; the session-dependent ones read `session` at call time."""
    for name, (nargs, fn, deterministic) in SCALARS.items():
        conn.create_function(name, nargs, fn, deterministic=deterministic)
    for name, (nargs, fn) in _session_scalars(session).items():
        conn.create_function(name, nargs, fn)
    for name, (nargs, cls) in AGGREGATES.items():
        conn.create_aggregate(name, nargs, cls)
