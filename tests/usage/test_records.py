"""One usage record: the gateway summary key for key, its checks, and a lossless round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings

from meltica_lab.errors import UsageError, UsageExportError
from meltica_lab.usage import (
    ZERO_TIME,
    UsageRecord,
)
from tests.usage.samples import H1, PLUS2, T0, records

# -- records ----------------------------------------------------------------------------------------


def test_record_to_dict_is_the_gateway_summary_key_for_key() -> None:
    record = UsageRecord("demo", H1, ("b", "a"), 2, T0, T0.astimezone(PLUS2))
    assert record.instances == ("a", "b")
    assert json.dumps(record.to_dict(), separators=(",", ":")) == (
        '{"strategy":"demo","hash":"' + H1 + '","instances":["a","b"],"count":2,'
        '"firstSeen":"2025-11-04T13:32:54.123456Z","lastSeen":"2025-11-04T15:32:54.123456+02:00","running":true}'
    )


def test_a_record_without_instances_or_times_writes_null_and_the_zero_time() -> None:
    assert UsageRecord("demo", H1).to_dict() == {
        "strategy": "demo",
        "hash": H1,
        "instances": None,
        "count": 0,
        "firstSeen": ZERO_TIME,
        "lastSeen": ZERO_TIME,
        "running": False,
    }


def test_record_refuses_a_count_that_is_not_the_number_of_instances() -> None:
    with pytest.raises(UsageError, match="count 1 does not match 2"):
        UsageRecord("demo", H1, ("a", "b"), 1)


def test_record_refuses_naive_and_out_of_range_times() -> None:
    with pytest.raises(UsageError, match="first_seen: expected a timezone-aware time"):
        UsageRecord("demo", H1, first_seen=datetime(2025, 1, 1))
    with pytest.raises(UsageError, match="last_seen: expected a time in the years 1678-2261"):
        UsageRecord("demo", H1, last_seen=datetime(3000, 1, 1, tzinfo=UTC))


def test_from_dict_accepts_what_the_gateway_omits_or_nulls() -> None:
    record = UsageRecord.from_dict({"strategy": "demo", "hash": H1, "count": 0, "firstSeen": None})
    assert record == UsageRecord("demo", H1)


def test_from_dict_names_the_field_at_fault() -> None:
    with pytest.raises(UsageExportError, match=r'^count: expected an integer, got "x"$'):
        UsageRecord.from_dict({"strategy": "demo", "hash": H1, "count": "x"})


@settings(deadline=None)
@given(records())
def test_record_round_trips_losslessly_through_gateway_json(record: UsageRecord) -> None:
    text = json.dumps(record.to_dict())
    back = UsageRecord.from_dict(json.loads(text))
    assert back == record
    assert [v.utcoffset() if v else None for v in (back.first_seen, back.last_seen)] == [
        v.utcoffset() if v else None for v in (record.first_seen, record.last_seen)
    ]
    assert back.to_dict() == record.to_dict()
