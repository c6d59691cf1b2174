"""Gateway times: RFC 3339 as Go's ``time.Time`` writes it, with nanoseconds and the zero time.

Python's ``datetime`` stops at microseconds; a time with a finer fraction comes back as a
``pandas.Timestamp`` (a ``datetime`` subclass), so nothing the gateway writes is lost. Every time must
be timezone-aware and lie in the years 1678-2261, which a ``datetime64[ns]`` usage frame can hold.
The same pattern serves Python's ``re`` and Arrow's RE2, so the row-by-row and the bulk checks agree.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd

from meltica_lab.errors import UsageError

__all__ = ["ZERO_TIME", "format_time", "parse_time"]

ZERO_TIME = "0001-01-01T00:00:00Z"
"""How Go writes an unset ``time.Time``; the gateway never omits a time, it writes this instead."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO_INSTANT = datetime(1, 1, 1, tzinfo=UTC)
# Years 1678-2261: inside datetime64[ns] both as an instant and as wall-clock time under any offset.
MIN_NS = pd.Timestamp("1678-01-01T00:00:00Z").value
MAX_NS = pd.Timestamp("2262-01-01T00:00:00Z").value - 1
_TIME_RANGE = "a time in the years 1678-2261 (or the zero time)"
# One pattern for Python and for Arrow's RE2 (hence [0-9], not \d): RFC 3339 as Go writes it.
TIME_PATTERN = (
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(?:\.([0-9]{1,9}))?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_TIME_RE = re.compile(TIME_PATTERN)


def epoch_ns(value: datetime) -> int:
    """Nanoseconds since 1970 of an aware ``datetime`` (``pandas.Timestamp`` keeps its nanoseconds)."""
    micros = (value - _EPOCH) // timedelta(microseconds=1)
    return micros * 1000 + getattr(value, "nanosecond", 0)


def parse_time(text: str) -> datetime | None:
    """Parse a gateway time: RFC 3339, any offset, 0-9 fraction digits; the zero time gives ``None``.

    Raises ``ValueError`` whose text says what was expected.
    """
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise ValueError("an RFC 3339 time such as 2025-11-04T13:32:54.123456789+02:00")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    digits = (fraction or "").ljust(9, "0")
    if zone == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), int(digits[:6]), tzinfo=tz
        )
    except ValueError as exc:  # 2025-02-30, year 0000
        raise ValueError(f"a valid calendar date ({exc})") from None
    nanos = int(digits[6:])
    if value == _ZERO_INSTANT and not nanos:
        return None
    instant = epoch_ns(value) + nanos
    if not MIN_NS <= instant <= MAX_NS:
        raise ValueError(_TIME_RANGE)
    if not nanos:
        return value
    return pd.Timestamp(instant, tz=UTC).tz_convert(tz)


def format_time(value: datetime | None) -> str:
    """Write a time as Go's ``time.Time`` JSON does: RFC 3339, trailing zeros trimmed, ``Z`` for UTC.

    ``None`` is the zero time. An offset that is not whole minutes cannot be written in RFC 3339, so
    such a time is written in UTC (the same instant).
    """
    if value is None:
        return ZERO_TIME
    offset = value.utcoffset()
    if offset is None:
        raise UsageError(f"cannot write the naive time {value.isoformat()}: a timezone is required")
    if offset % timedelta(minutes=1):
        value, offset = value.astimezone(UTC), timedelta(0)
    nanos = value.microsecond * 1000 + getattr(value, "nanosecond", 0)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    if offset:
        minutes = abs(offset) // timedelta(minutes=1)
        zone = f"{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"
    else:
        zone = "Z"
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{fraction}{zone}"
    )


def checked_time(value: datetime | None, field: str) -> datetime | None:
    """``value`` if it is aware and representable in a usage frame, else :class:`UsageError`."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise UsageError(f"{field}: expected a timezone-aware time, got {value.isoformat()}", field=field)
    if not MIN_NS <= epoch_ns(value) <= MAX_NS:
        raise UsageError(f"{field}: expected {_TIME_RANGE}, got {value.isoformat()}", field=field)
    return value
