"""Usage records, the live usage index, its persistence and metrics, and usage-export parsing."""

from __future__ import annotations

import hashlib
import json
import os
import string
import subprocess
import threading
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import prometheus_client
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meltica_lab.errors import MelticaLabError, UsageError, UsageExportError
from meltica_lab.usage import (
    ZERO_TIME,
    UsageExport,
    UsageIndex,
    UsageRecord,
    UsageRows,
    _fast_export,
    format_time,
    parse_time,
    parse_usage_export,
    read_usage_export,
)
from tests.gateway_server import FakeGateway

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


# -- the index --------------------------------------------------------------------------------------


def test_ensure_creates_a_zero_entry_once() -> None:
    index = UsageIndex()
    assert index.ensure("Demo ", H1) == UsageRecord("demo", H1)
    index.ensure("demo", H1)
    assert index.snapshot() == [UsageRecord("demo", H1)]


def test_first_start_sets_both_times_and_counts_one_start() -> None:
    index = UsageIndex()
    record = index.record_start("demo", H1, "i1", at=T0)
    assert record == UsageRecord("demo", H1, ("i1",), 1, T0, T0)
    assert record.running


def test_starting_a_running_id_again_only_moves_last_seen() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    record = index.record_start("demo", H1, "i1", at=T0 + timedelta(minutes=5))
    assert (record.count, record.first_seen, record.last_seen) == (1, T0, T0 + timedelta(minutes=5))
    assert _sample(index, "strategy_revision_instances_total", action="start") == 1


def test_a_second_instance_does_not_move_first_seen() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    record = index.record_start("demo", H1, "i2", at=T0 + timedelta(seconds=1))
    assert (record.instances, record.first_seen) == (("i1", "i2"), T0)


def test_stop_keeps_the_entry_at_zero_and_moves_last_seen() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    record = index.record_stop("demo", H1, "i1", at=T0 + timedelta(hours=1))
    assert record == UsageRecord("demo", H1, (), 0, T0, T0 + timedelta(hours=1))
    assert index.snapshot() == [record]
    assert _sample(index, "strategy_revision_instances_total", action="stop") == 1


def test_stopping_an_id_that_is_not_running_changes_nothing() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    record = index.record_stop("demo", H1, "other", at=T0 + timedelta(hours=1))
    assert (record.count, record.last_seen) == (1, T0)
    assert _sample(index, "strategy_revision_instances_total", action="stop") == 0


def test_stopping_on_an_unknown_revision_creates_no_entry() -> None:
    index = UsageIndex()
    assert index.record_stop("demo", H1, "i1") == UsageRecord("demo", H1)
    assert len(index) == 0


def test_restart_keeps_first_seen_and_counts_each_transition() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    index.record_stop("demo", H1, "i1", at=T0 + timedelta(minutes=1))
    record = index.record_start("demo", H1, "i1", at=T0 + timedelta(minutes=2))
    assert (record.count, record.first_seen, record.last_seen) == (1, T0, T0 + timedelta(minutes=2))
    assert _sample(index, "strategy_revision_instances_total", action="start") == 2
    assert _sample(index, "strategy_revision_instances_total", action="stop") == 1


def test_keys_lower_case_and_trim_the_strategy_but_keep_the_hash_case() -> None:
    index = UsageIndex()
    index.record_start(" DeMo ", f" {H1} ", "i1", at=T0)
    assert index.get("demo", H1).count == 1
    assert index.get("demo", H1.upper()).count == 0  # the gateway keys hashes as written (compat §7)


def test_get_of_an_unknown_revision_is_a_zero_record() -> None:
    assert UsageIndex().get("Demo", f"{H1} ") == UsageRecord("demo", H1)


def test_default_time_is_now_in_utc() -> None:
    before = datetime.now(UTC)
    record = UsageIndex().record_start("demo", H1, "i1")
    assert record.first_seen is not None
    assert before <= record.first_seen <= datetime.now(UTC)


def test_snapshot_is_sorted_by_strategy_then_hash() -> None:
    index = UsageIndex()
    for name, digest in [("zeta", H1), ("alpha", H2), ("alpha", H1)]:
        index.ensure(name, digest)
    assert [(r.strategy, r.hash) for r in index.snapshot()] == [("alpha", H1), ("alpha", H2), ("zeta", H1)]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda i: i.record_start("", H1, "x"), "strategy"),
        (lambda i: i.record_start("demo", " ", "x"), "hash"),
        (lambda i: i.record_start("demo", H1, " "), "instance_id"),
        (lambda i: i.record_start("demo", H1, "x", at=datetime(2025, 1, 1)), "at"),
        (lambda i: i.prune(timedelta(days=1), now=datetime(2025, 1, 1)), "now"),
        (lambda i: i.prune(timedelta(days=-1)), "older_than"),
    ],
)
def test_bad_arguments_raise_usage_error_naming_the_field(call: Any, field: str) -> None:
    with pytest.raises(UsageError) as caught:
        call(UsageIndex())
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}:")


def test_concurrent_starts_and_stops_keep_counts_and_counters_exact() -> None:
    index = UsageIndex()
    workers, rounds = 8, 200

    def run(worker: int) -> None:
        for n in range(rounds):
            index.record_start("demo", H1, f"w{worker}-{n}")
            if n % 2:
                index.record_stop("demo", H1, f"w{worker}-{n}")

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert index.get("demo", H1).count == workers * rounds // 2
    assert _sample(index, "strategy_revision_instances_total", action="start") == workers * rounds
    assert _sample(index, "strategy_revision_instances_total", action="stop") == workers * rounds // 2


def test_prune_removes_only_idle_entries_older_than_the_cutoff() -> None:
    index = UsageIndex()
    now = T0 + timedelta(days=30)
    index.record_start("old", H1, "i", at=T0)
    index.record_stop("old", H1, "i", at=T0 + timedelta(days=1))
    index.record_start("recent", H1, "i", at=now - timedelta(days=1))
    index.record_stop("recent", H1, "i", at=now - timedelta(days=1))
    index.record_start("running", H1, "i", at=T0)
    index.ensure("never", H1)
    removed = index.prune(timedelta(days=7), now=now)
    assert [r.strategy for r in removed] == ["never", "old"]
    assert [r.strategy for r in index.snapshot()] == ["recent", "running"]
    assert 'strategy="old"' not in index.metrics_text()


def test_reset_running_empties_running_sets_and_keeps_times() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    index.ensure("demo", H2)
    before = index.reset_running()
    assert before == [UsageRecord("demo", H1, ("i1",), 1, T0, T0)]
    assert index.get("demo", H1) == UsageRecord("demo", H1, (), 0, T0, T0)
    assert len(index) == 2


# -- persistence ------------------------------------------------------------------------------------


def test_save_then_load_restores_every_entry_exactly(tmp_path: Path) -> None:
    index = UsageIndex()
    nanos = parse_time("2025-11-04T13:32:54.123456789+02:00")
    index.record_start("demo", H1, "i1", at=nanos)
    index.record_start("demo", H1, "i2", at=T0)
    index.record_stop("demo", H1, "i2", at=T0 + timedelta(seconds=1))
    index.ensure("other", H2)
    path = tmp_path / "usage.json"
    index.save(path)
    loaded = UsageIndex.load(path)
    assert loaded.snapshot() == index.snapshot()
    assert loaded.get("demo", H1).first_seen.utcoffset() == timedelta(hours=2)  # type: ignore[union-attr]


def test_saved_file_is_a_usage_export_in_the_gateway_shape(tmp_path: Path) -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    path = tmp_path / "usage.json"
    index.save(path)
    document = json.loads(path.read_text("utf-8"))
    assert document == {"registry": None, "usage": [index.get("demo", H1).to_dict()]}
    assert list(read_usage_export(path).usage) == index.snapshot()


def test_load_of_a_missing_file_is_an_empty_index(tmp_path: Path) -> None:
    assert len(UsageIndex.load(tmp_path / "nothing.json")) == 0


def test_load_of_a_corrupt_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    path.write_text('{"registry":null,"usage":[{"strategy":"demo"', "utf-8")
    with pytest.raises(UsageExportError, match=f"^{path}: not valid JSON") as caught:
        UsageIndex.load(path)
    assert caught.value.path == str(path)


def test_load_refuses_two_entries_for_one_revision(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    row = UsageRecord("demo", H1).to_dict()
    path.write_text(json.dumps([row, {**row, "strategy": "DEMO"}]), "utf-8")
    with pytest.raises(UsageExportError, match=r"usage\[1\]: a second entry for demo@"):
        UsageIndex.load(path)


def test_restart_cycle_keeps_history_and_clears_running(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    index.save(path)
    restarted = UsageIndex.load(path)
    restarted.reset_running()
    record = restarted.record_start("demo", H1, "i1", at=T0 + timedelta(days=1))
    assert (record.count, record.first_seen, record.last_seen) == (1, T0, T0 + timedelta(days=1))


def test_a_failed_save_leaves_the_previous_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "usage.json"
    index = UsageIndex()
    index.save(path)
    before = path.read_bytes()
    index.record_start("demo", H1, "i1", at=T0)

    def full_disk(src: str, dst: str) -> None:  # a full disk cannot be produced here
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(MelticaLabError, match="cannot save the usage index: No space left on device"):
        index.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage.json"]


# -- metrics ----------------------------------------------------------------------------------------


def _sample(index: UsageIndex, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in index.metrics_registry.collect():
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def test_metrics_text_has_the_gauge_and_the_counter_per_revision() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    index.record_start("demo", H1, "i2", at=T0)
    index.record_stop("demo", H1, "i2", at=T0)
    index.ensure("demo", H2)
    text = index.metrics_text()
    assert "# TYPE strategy_revision_instances gauge" in text
    assert "# TYPE strategy_revision_instances_total counter" in text
    assert f'strategy_revision_instances{{hash="{H1}",strategy="demo"}} 1.0' in text
    assert f'strategy_revision_instances{{hash="{H2}",strategy="demo"}} 0.0' in text
    assert f'strategy_revision_instances_total{{action="start",hash="{H1}",strategy="demo"}} 2.0' in text
    assert f'strategy_revision_instances_total{{action="stop",hash="{H1}",strategy="demo"}} 1.0' in text


def test_metrics_stay_out_of_the_global_prometheus_registry() -> None:
    UsageIndex().record_start("demo", H1, "i1")
    assert b"strategy_revision_instances" not in prometheus_client.generate_latest()


def test_serve_metrics_answers_scrapes_in_the_text_format() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    server = index.serve_metrics(0)
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode("utf-8")
            kind = response.headers["Content-Type"]
    finally:
        server.shutdown()
        server.server_close()
    assert kind.startswith("text/plain; version=0.0.4")
    assert f'strategy_revision_instances{{hash="{H1}",strategy="demo"}} 1.0' in body


# -- exports ----------------------------------------------------------------------------------------


def test_gateway_export_parses_into_records_and_registry() -> None:
    export = parse_usage_export(GATEWAY_EXPORT.encode())
    assert export.registry is not None and list(export.registry) == ["demo"]
    rows = list(export.usage)
    assert rows[0] == UsageRecord(
        "demo",
        H1,
        (),
        0,
        parse_time("2025-11-04T11:32:54.123456789Z"),
        datetime(2025, 11, 4, 12, 0, 0, 500000, tzinfo=UTC),
    )
    assert rows[1].instances == ("a", "b") and rows[1].running
    assert rows[2] == UsageRecord("idle", H1)


def test_gateway_export_writes_back_byte_for_byte() -> None:
    export = parse_usage_export(GATEWAY_EXPORT)
    assert export.to_json() == GATEWAY_EXPORT.encode()


def test_compact_gateway_export_takes_the_bulk_path() -> None:
    assert _fast_export(bytearray(GATEWAY_EXPORT.encode())) is not None
    bare = json.dumps(json.loads(GATEWAY_EXPORT)["usage"], separators=(",", ":"))
    assert _fast_export(bytearray(bare.encode())) is not None


def test_every_input_form_gives_the_same_rows(tmp_path: Path) -> None:
    document = json.loads(GATEWAY_EXPORT)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, indent=2), "utf-8")
    expected = parse_usage_export(GATEWAY_EXPORT).usage
    forms: list[Any] = [
        path,
        str(path),
        GATEWAY_EXPORT,
        GATEWAY_EXPORT.encode(),
        document,
        document["usage"],
        json.dumps(document["usage"]),
    ]
    for form in forms:
        assert read_usage_export(form).usage == expected, form


def test_sources_are_named_by_form(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_text("[]", "utf-8")
    assert read_usage_export(path).source == str(path)
    assert read_usage_export("[]").source == "<json>"
    assert read_usage_export({"usage": None}).source == "<object>"
    assert read_usage_export([]).source == "<list>"


def test_null_usage_and_null_or_missing_registry_are_accepted() -> None:
    assert read_usage_export('{"registry":null,"usage":null}') == UsageExport(None, UsageRows(), "<json>")
    assert read_usage_export('{"usage":[]}').registry is None
    assert read_usage_export('{"registry":{},"usage":null}').registry == {}


def test_a_bytearray_is_left_as_it_was() -> None:
    data = bytearray(GATEWAY_EXPORT.encode())
    parse_usage_export(data)
    assert data == GATEWAY_EXPORT.encode()


def test_read_from_a_gateway_url() -> None:
    with FakeGateway() as gateway:
        export = read_usage_export(f"{gateway.url}/strategies/registry")
        assert export.registry == gateway.registry
        assert list(export.usage) == gateway.usage.snapshot()
        assert export.source == f"{gateway.url}/strategies/registry"
        gateway.registry_error = 'strategy loader: decode registry "registry.json": unexpected end of JSON input'
        with pytest.raises(UsageExportError, match=f"^{gateway.url}/strategies/registry: HTTP 500"):
            read_usage_export(f"{gateway.url}/strategies/registry")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageExportError, match=f"^{tmp_path / 'none.json'}: cannot read: No such file"):
        read_usage_export(tmp_path / "none.json")


def _row(**changes: Any) -> dict[str, Any]:
    row = {
        "strategy": "demo",
        "hash": H1,
        "instances": ["a"],
        "count": 1,
        "firstSeen": "2025-11-04T13:32:54Z",
        "lastSeen": "2025-11-04T13:32:54Z",
        "running": True,
    }
    for key, value in changes.items():
        if value is _DROP:
            del row[key]
        else:
            row[key] = value
    return row


_DROP = object()
_GOOD = _row()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{nope", "not valid JSON"),
        ("5", "expected an export object or a list of usage records, got 5"),
        ({"registry": {}}, 'expected an object with a "usage" key or a list of usage records'),
        ({"usage": {"a": 1}}, "usage: expected a list or null, got an object"),
        ({"registry": [], "usage": []}, "registry: expected an object or null, got a list"),
        ([_GOOD, 5], "usage[1]: expected an object, got 5"),
        ([_row(strategy=_DROP)], "usage[0].strategy: expected a non-empty Unicode string, got nothing"),
        ([_row(strategy="")], 'usage[0].strategy: expected a non-empty Unicode string, got ""'),
        ([_row(strategy=7)], "usage[0].strategy: expected a non-empty Unicode string, got 7"),
        ([_row(hash=None)], "usage[0].hash: expected a Unicode string, got null"),
        ([_row(instances="a")], 'usage[0].instances: expected a list of instance ids or null, got "a"'),
        ([_row(instances=["a", 2], count=2)], "usage[0].instances[1]: expected a non-empty Unicode string, got 2"),
        ([_row(instances=[""])], 'usage[0].instances[0]: expected a non-empty Unicode string, got ""'),
        ([_row(instances=["a", "a"], count=2)], 'usage[0].instances: duplicate instance id "a"'),
        ([_GOOD, _GOOD, _GOOD, _row(count="x")], 'usage[3].count: expected an integer, got "x"'),
        ([_row(count=_DROP)], "usage[0].count: expected an integer, got nothing"),
        ([_row(count=1.0)], "usage[0].count: expected an integer, got 1.0"),
        ([_row(count=True)], "usage[0].count: expected an integer, got true"),
        ([_row(count=2)], "usage[0].count: expected 1 (the number of instances), got 2"),
        ([_row(firstSeen=5)], "usage[0].firstSeen: expected an RFC 3339 time string, got 5"),
        ([_row(lastSeen="yesterday")], "usage[0].lastSeen: expected an RFC 3339 time such as"),
        ([_row(lastSeen="2025-02-30T00:00:00Z")], "usage[0].lastSeen: expected a valid calendar date"),
        ([_row(firstSeen="2300-01-01T00:00:00Z")], "usage[0].firstSeen: expected a time in the years 1678-2261"),
        ([_row(running="yes")], 'usage[0].running: expected a boolean, got "yes"'),
        ([_row(running=False)], "usage[0].running: expected true (count is 1), got false"),
    ],
)
def test_wrong_shapes_name_the_source_and_the_element(document: Any, message: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    for data in (text, text.encode()) + (() if isinstance(document, str) else (document,)):
        with pytest.raises(UsageExportError) as caught:
            parse_usage_export(data, source="export.json")
        assert caught.value.message.startswith(f"export.json: {message}"), caught.value.message
        assert caught.value.path == "export.json"


def test_row_errors_carry_the_row_and_field() -> None:
    with pytest.raises(UsageExportError) as caught:
        parse_usage_export([_GOOD, _row(count="x")])
    assert (caught.value.row, caught.value.field) == (1, "count")


def test_tolerated_variants_are_normalised_the_same_on_both_paths() -> None:
    rows = [
        _row(instances=["b", "a"], count=2),  # unsorted ids
        _row(instances=[], count=0, running=False),  # [] instead of null
        _row(firstSeen="0001-01-01T02:00:00+02:00"),  # the zero time with an offset
        _row(running=_DROP, unknown={"nested": [1, {"x": 2}]}),  # running absent, unknown key
        _row(strategy="x},{y"),  # a row joint inside a string
    ]
    compact = parse_usage_export(json.dumps(rows, separators=(",", ":")))
    assert compact.usage == parse_usage_export(rows).usage
    assert [r.instances for r in compact.usage][:2] == [("a", "b"), ()]
    assert next(iter(compact.usage[2:3])).first_seen is None


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


def _outcome(data: Any) -> tuple[str, Any]:
    try:
        export = parse_usage_export(data, source="s")
    except UsageExportError as exc:
        return "error", (exc.row, exc.field, exc.message)
    return "ok", (export.registry, list(export.usage))


def _authority(rows: list[Any]) -> tuple[str, Any]:
    """Record by record through UsageRecord.from_dict: what every bulk shortcut must agree with."""
    result = []
    for position, row in enumerate(rows):
        try:
            result.append(UsageRecord.from_dict(row))
        except UsageExportError as exc:
            return "error", (position, exc.field)
    return "ok", result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage_rows(), st.sampled_from([None, {}, {"demo": {"tags": {}, "hashes": {}}}]))
def test_bulk_and_row_by_row_parsing_agree_on_every_document(rows: list[Any], registry: Any) -> None:
    document = {"registry": registry, "usage": rows}
    expected = _outcome(document)
    assert _outcome(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()) == expected
    assert _outcome(json.dumps(document, indent=1)) == expected
    assert _outcome(json.dumps(rows, separators=(",", ":"))) == _outcome(rows)
    kind, detail = expected
    authority = _authority(rows)
    assert kind == authority[0]
    assert (detail[:2] if kind == "error" else detail[1]) == authority[1]


# -- rows and frames --------------------------------------------------------------------------------


def test_rows_behave_as_an_immutable_sequence_of_records() -> None:
    records_ = [UsageRecord("a", H1), UsageRecord("b", H2, ("i",), 1, T0, T0)]
    rows = UsageRows(records_)
    assert len(rows) == 2
    assert rows[-1] == records_[1]
    assert list(rows[::-1]) == records_[::-1]
    assert rows == UsageRows(records_)
    assert rows != UsageRows(records_[:1])
    assert repr(rows) == "UsageRows(2 rows)"
    with pytest.raises(IndexError):
        rows[2]


def test_frame_has_typed_columns_and_nat_for_never() -> None:
    frame = parse_usage_export(GATEWAY_EXPORT).to_frame()
    assert list(frame.columns) == ["strategy", "hash", "instances", "count", "running", "first_seen", "last_seen"]
    assert isinstance(frame["strategy"].dtype, pd.CategoricalDtype)
    assert str(frame["first_seen"].dtype) == "datetime64[ns, UTC]"
    assert frame["count"].tolist() == [0, 2, 0]
    assert frame["running"].tolist() == [False, True, False]
    assert frame["first_seen"][0] == pd.Timestamp("2025-11-04T11:32:54.123456789Z")
    assert pd.isna(frame["last_seen"][2])
    assert list(frame["instances"][1]) == ["a", "b"] and pd.isna(frame["instances"][0])
    assert frame.explode("instances")["instances"].dropna().tolist() == ["a", "b"]


def test_index_export_feeds_the_same_frame() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    frame = index.export().to_frame()
    assert frame[["strategy", "count"]].astype(object).values.tolist() == [["demo", 1]]
    assert frame["last_seen"][0] == pd.Timestamp(T0)
