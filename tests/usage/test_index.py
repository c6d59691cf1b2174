"""The live usage index: start/stop semantics, retention, restarts, and persistence."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meltica_lab.errors import MelticaLabError, UsageError, UsageExportError
from meltica_lab.usage import (
    UsageIndex,
    UsageRecord,
    parse_time,
    read_usage_export,
)
from tests.usage.samples import H1, H2, T0, metric_sample

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
    assert metric_sample(index, "strategy_revision_instances_total", action="start") == 1


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
    assert metric_sample(index, "strategy_revision_instances_total", action="stop") == 1


def test_stopping_an_id_that_is_not_running_changes_nothing() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    record = index.record_stop("demo", H1, "other", at=T0 + timedelta(hours=1))
    assert (record.count, record.last_seen) == (1, T0)
    assert metric_sample(index, "strategy_revision_instances_total", action="stop") == 0


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
    assert metric_sample(index, "strategy_revision_instances_total", action="start") == 2
    assert metric_sample(index, "strategy_revision_instances_total", action="stop") == 1


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
    assert metric_sample(index, "strategy_revision_instances_total", action="start") == workers * rounds
    assert metric_sample(index, "strategy_revision_instances_total", action="stop") == workers * rounds // 2


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
