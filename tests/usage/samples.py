"""Shared samples for the usage tests: revision hashes, times, a gateway export, record strategies."""

from __future__ import annotations

import hashlib
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from meltica_lab.usage import ZERO_TIME, UsageIndex, UsageRecord

H1 = "sha256:" + "1" * 64
H2 = "sha256:" + "2" * 64
PLUS2 = timezone(timedelta(hours=2))
T0 = datetime(2025, 11, 4, 13, 32, 54, 123456, tzinfo=UTC)

# A document as the gateway writes it: compact, registry first, local offsets, nanoseconds, null lists.
GATEWAY_EXPORT = (
    '{"registry":{"demo":{"tags":{"latest":"'
    + H2
    + '"},"hashes":{"'
    + H2
    + '":{"tag":"v1.1.0","path":"demo/'
    + "2" * 64
    + '/demo.js"}}}},"usage":['
    '{"strategy":"demo","hash":"' + H1 + '","instances":null,"count":0,'
    '"firstSeen":"2025-11-04T13:32:54.123456789+02:00","lastSeen":"2025-11-04T14:00:00.5+02:00","running":false},'
    '{"strategy":"demo","hash":"' + H2 + '","instances":["a","b"],"count":2,'
    '"firstSeen":"2025-11-04T11:32:54Z","lastSeen":"2025-11-04T11:40:00.000001-05:30","running":true},'
    '{"strategy":"idle","hash":"' + H1 + '","instances":null,"count":0,'
    '"firstSeen":"0001-01-01T00:00:00Z","lastSeen":"0001-01-01T00:00:00Z","running":false}]}'
)


@st.composite
def instants(draw: st.DrawFn) -> datetime | None:
    """Aware times anywhere in the frame range, any whole-minute offset, sometimes with nanoseconds."""
    if draw(st.booleans()):
        return None
    low, high = pd.Timestamp("1678-01-01T00:00:00Z").value, pd.Timestamp("2262-01-01T00:00:00Z").value - 1
    nanos = draw(st.integers(low, high))
    if draw(st.booleans()):
        nanos -= nanos % 1000
    zone = timezone(timedelta(minutes=draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))))
    value = pd.Timestamp(nanos, tz=UTC).tz_convert(zone)
    return value if value.nanosecond else value.to_pydatetime()


names = st.text(string.ascii_lowercase + string.digits + "-_.", min_size=1, max_size=10)
hashes = st.binary(max_size=4).map(lambda b: "sha256:" + hashlib.sha256(b).hexdigest())
instance_ids = st.text(min_size=1, max_size=8)


@st.composite
def records(draw: st.DrawFn) -> UsageRecord:
    ids = draw(st.frozensets(instance_ids, max_size=4))
    return UsageRecord(draw(names), draw(hashes), tuple(ids), len(ids), draw(instants()), draw(instants()))


_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(
        [1.0, 1.5, 2**70, "", "x", "a},{b", ZERO_TIME, "2025-11-04T13:32:54+00:00", "0001-01-01T02:00:00+02:00"]
    ),
    st.sampled_from(["2025-02-30T00:00:00Z", "2025-11-04 13:32:54Z", "2025-11-04T13:32:54.000000001-07:00"]),
    st.sampled_from(["2262-01-01T00:00:00Z", "2261-12-31T23:59:59.999999999Z", "1677-12-31T23:30:00-01:00"]),
    st.lists(st.sampled_from(["a", "b", "", "a"]), max_size=3),
    st.just({"k": [1]}),
)


def _benign(row: dict[str, Any], choice: int) -> None:
    """Variants the gateway does not write but that mean the same; parsing must normalise them."""
    if choice == 0 and row["instances"]:
        row["instances"] = row["instances"][::-1]
    elif choice == 1 and not row["instances"]:
        row["instances"] = []
    elif choice == 2 and row["firstSeen"] == ZERO_TIME:
        row["firstSeen"] = "0001-01-01T02:00:00+02:00"
    elif choice == 3:
        del row["running"]
    elif choice == 4:
        row["lastSeen"] = row["lastSeen"].replace("Z", "+00:00")


@st.composite
def usage_rows(draw: st.DrawFn) -> list[Any]:
    """Rows from valid records, some of them varied harmlessly, some bent: a field replaced or dropped,
    or an extra key."""
    rows: list[Any] = [r.to_dict() for r in draw(st.lists(records(), min_size=1, max_size=4))]
    for row in rows:
        _benign(row, draw(st.integers(0, 6)))
        for _ in range(draw(st.integers(0, 2) if draw(st.booleans()) else st.just(0))):
            key = draw(st.sampled_from([*row, "extra"]))
            if draw(st.booleans()) and key in row:
                del row[key]
            else:
                row[key] = draw(_JSON_VALUES)
    return rows


def metric_sample(index: UsageIndex, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in index.metrics_registry.collect():
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total
