"""RFC 3339 times as the gateway writes them: parsing, writing, the zero time, agreement with pandas and JavaScript."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meltica_lab.errors import UsageError
from meltica_lab.usage import (
    ZERO_TIME,
    format_time,
    parse_time,
)
from tests.usage.samples import PLUS2

# -- times ------------------------------------------------------------------------------------------


def test_parse_time_keeps_nanoseconds_and_the_offset() -> None:
    value = parse_time("2025-11-04T13:32:54.123456789+02:00")
    assert isinstance(value, datetime)
    assert value.utcoffset() == timedelta(hours=2)
    assert (value.microsecond, value.nanosecond) == (123456, 789)  # type: ignore[attr-defined]
    utc = pd.Timestamp(datetime(2025, 11, 4, 11, 32, 54, 123456, tzinfo=UTC))
    assert value == utc + pd.Timedelta(nanoseconds=789)


def test_parse_time_gives_none_for_the_zero_time_in_any_spelling() -> None:
    assert parse_time(ZERO_TIME) is None
    assert parse_time("0001-01-01T02:00:00+02:00") is None


def test_format_time_writes_like_go_rfc3339nano() -> None:
    assert format_time(None) == ZERO_TIME
    assert format_time(datetime(2025, 11, 4, 13, 32, 54, tzinfo=UTC)) == "2025-11-04T13:32:54Z"
    assert format_time(datetime(2025, 11, 4, 13, 32, 54, 500000, tzinfo=PLUS2)) == "2025-11-04T13:32:54.5+02:00"
    minus = timezone(-timedelta(hours=5, minutes=30))
    assert format_time(datetime(2025, 1, 2, 3, 4, 5, 10, tzinfo=minus)) == "2025-01-02T03:04:05.00001-05:30"
    odd = timezone(timedelta(seconds=30))  # RFC 3339 has no seconds in offsets: the instant is kept in UTC
    assert format_time(datetime(2025, 1, 1, 0, 0, 30, tzinfo=odd)) == "2025-01-01T00:00:00Z"


def test_format_time_refuses_a_naive_time() -> None:
    with pytest.raises(UsageError, match="timezone"):
        format_time(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-04t13:32:54z", "RFC 3339"),
        ("2025-11-04 13:32:54Z", "RFC 3339"),
        ("2025-11-04T13:32Z", "RFC 3339"),
        ("2025-11-04T13:32:54+0200", "RFC 3339"),
        ("2025-11-04T13:32:54.1234567890Z", "RFC 3339"),
        ("2025-11-04T24:00:00Z", "RFC 3339"),
        ("2025-02-30T00:00:00Z", "calendar date"),
        ("3000-01-01T00:00:00Z", "in the years 1678-2261"),
        ("1677-12-31T23:59:59+01:00", "in the years 1678-2261"),
        ("0001-01-01T00:00:01Z", "in the years 1678-2261"),
    ],
)
def test_parse_time_rejects_what_go_would_not_write(text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_time(text)


@st.composite
def canonical_times(draw: st.DrawFn) -> str:
    """Time texts built field by field the way Go's RFC3339Nano writes them."""
    year = draw(st.integers(1679, 2260))  # so that any offset keeps the instant in range
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    clock = [draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))]
    nanos = draw(st.integers(0, 999_999_999))
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    offset = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    zone = "Z" if offset == 0 else f"{'-' if offset < 0 else '+'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}T{clock[0]:02d}:{clock[1]:02d}:{clock[2]:02d}{fraction}{zone}"


@settings(deadline=None)
@given(canonical_times())
def test_gateway_time_texts_round_trip_exactly_and_name_the_same_instant_as_pandas(text: str) -> None:
    value = parse_time(text)
    assert value is not None
    assert format_time(value) == text
    assert pd.Timestamp(value) == pd.Timestamp(text)


def test_parsed_instants_agree_with_javascript_date_parse() -> None:
    texts = [
        "2025-11-04T13:32:54.123+02:00",
        "2025-11-04T13:32:54Z",
        "1999-12-31T23:59:59.999-05:30",
        "2024-02-29T12:00:00+14:00",
        "1970-01-01T00:00:00.001-00:00",
    ]
    script = "const t = JSON.parse(process.argv[1]); console.log(JSON.stringify(t.map(Date.parse)));"
    result = subprocess.run(["node", "-e", script, json.dumps(texts)], capture_output=True, text=True, check=True)
    millis = json.loads(result.stdout)
    for text, expected in zip(texts, millis, strict=True):
        value = parse_time(text)
        assert value is not None
        assert (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) == expected
