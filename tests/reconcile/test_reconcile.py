"""``reconcile``: a real pinned backtest of the instance's hash over the example data, end to end."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import meltica_lab
from meltica_lab.backtest import Fees
from meltica_lab.errors import DataError, NotFoundError, UsageError
from meltica_lab.reconcile import LiveRecords, ReconcileWarning, reconcile
from tests.gateway_server import FakeGateway, Instance

PROJECT = Path(__file__).resolve().parents[2]
LIVE = PROJECT / "examples" / "live"
DATA = PROJECT / "examples" / "data" / "btc_trades.csv"
STRATEGIES = PROJECT / "strategies"
FEES = Fees(maker=0.001, taker=0.001)


def example_records() -> LiveRecords:
    return LiveRecords.from_files(LIVE / "orders.json", LIVE / "executions.json", snapshot=LIVE / "instance.json")


@pytest.fixture(scope="module")
def example() -> meltica_lab.reconcile.Reconciliation:
    return reconcile(example_records(), DATA, root=STRATEGIES, fees=FEES, progress=False)


def test_the_example_live_run_reconciles_as_its_generator_made_it(example) -> None:
    s = example.summary
    # one order rejected and one cancelled unfilled: their two backtest fills are missing live;
    # one fill arrived in two parts: two matched rows for one backtest fill
    assert (s["missing_live"], s["extra_live"]) == (2, 0)
    assert s["backtest_fills"] == s["live_fills"] - 1 + 2  # one fill came in two parts; two never came
    assert s["matched"] == s["live_fills"]
    assert (s["rejected_live"], s["orders_outcome_differs"], s["orders_missing_live"]) == (1, 2, 0)
    assert 0 <= s["median_delay_s"] <= 3
    assert 0 < s["median_slippage_bps"] < 4  # the generator made every live price 0-4 bps worse
    notes = sorted(example.unmatched_fills["note"])
    assert notes == [
        "the live order ord-00004 for it ended REJECTED",
        "the live order ord-00009 for it ended CANCELLED",
    ]
    assert not example.ok


def test_the_backtest_is_a_pinned_run_of_the_instance_hash_and_config(example) -> None:
    instance = json.loads((LIVE / "instance.json").read_text())
    p = example.provenance
    assert p["hash"] == instance["strategy"]["hash"] == p["instance_hash"]
    assert p["backtest"]["pinned"] == f"momentum@{p['hash']}"
    assert p["config"]["lookback"] == instance["strategy"]["config"]["lookback"]
    assert p["backtest"]["options"]["providers"] == ["binance"]
    assert p["instance"] == "momentum-live"
    assert p["window"]["live_first"].startswith("2024-03-01T00:00")


def test_the_same_inputs_give_the_same_json(example) -> None:
    again = reconcile(example_records(), DATA, root=STRATEGIES, fees=FEES, progress=False)
    first, second = json.loads(example.to_json()), json.loads(again.to_json())
    for document in (first, second):
        document["provenance"]["backtest"].pop("wall_seconds")
    assert first == second


def test_meltica_lab_reconcile_is_callable_as_the_function_even_with_the_package_imported() -> None:
    import meltica_lab.reconcile as package

    assert callable(meltica_lab.reconcile) and callable(package)
    with pytest.raises(UsageError, match="live: expected LiveRecords"):
        meltica_lab.reconcile("not records", DATA)
    assert meltica_lab.Reconciliation is package.Reconciliation


def test_saved_answers_without_a_snapshot_need_the_strategy() -> None:
    records = LiveRecords.from_files(LIVE / "orders.json", LIVE / "executions.json")
    with pytest.raises(UsageError, match="give strategy=SELECTOR"):
        reconcile(records, DATA, root=STRATEGIES)
    given = reconcile(records, DATA, root=STRATEGIES, strategy="momentum:v1.0.0", config={"dry_run": False})
    assert given.provenance["hash"] == example_records().strategy_hash


def test_a_strategy_other_than_the_instance_runs_is_warned_about() -> None:
    with pytest.warns(ReconcileWarning, match="but the instance runs sha256:"):
        reconcile(example_records(), DATA, root=STRATEGIES, strategy="noop", config={}, progress=False)


def test_a_hash_the_registry_does_not_have_is_an_error_naming_the_instance(tmp_path: Path) -> None:
    snapshot = json.loads((LIVE / "instance.json").read_text())
    snapshot["strategy"]["hash"] = "sha256:" + "0" * 64
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(snapshot))
    records = LiveRecords.from_files(LIVE / "orders.json", LIVE / "executions.json", snapshot=path)
    with pytest.raises(NotFoundError, match=r"instance momentum-live runs sha256:0{64}, which this registry"):
        reconcile(records, DATA, root=STRATEGIES)


def test_market_data_that_does_not_cover_the_live_window_is_an_error() -> None:
    short = pd.read_csv(DATA).iloc[:2000]  # the first hour of five
    with pytest.raises(DataError, match=r"the BTC-USDT data runs .* which does not cover the first live record"):
        reconcile(example_records(), short, root=STRATEGIES)
    with pytest.raises(DataError, match=r"does not cover the backtest's start .* or a later start or shorter warmup"):
        reconcile(example_records(), DATA, root=STRATEGIES, warmup="1h")


def test_data_of_another_symbol_is_an_error() -> None:
    other = pd.read_csv(DATA).assign(symbol="ETH-USDT")
    with pytest.raises(DataError, match="no market data for BTC-USDT, which instance momentum-live traded"):
        reconcile(example_records(), other, root=STRATEGIES)


def test_data_without_a_symbol_column_takes_the_one_symbol_traded() -> None:
    bare = pd.read_csv(DATA).drop(columns=["symbol"]).iloc[:3000]
    records = example_records()
    frames = (
        records.orders[records.orders["placed_at"] < pd.Timestamp("2024-03-01T01:30Z")],
        records.executions[records.executions["traded_at"] < pd.Timestamp("2024-03-01T01:30Z")],
    )
    # without a snapshot: the one symbol the records trade names the data's rows (recorded)
    unnamed = LiveRecords.from_frames(*frames)
    with pytest.warns(ReconcileWarning, match="the data names no symbol; its rows are taken as BTC-USDT"):
        result = reconcile(unnamed, bare, root=STRATEGIES, strategy="momentum:v1.0.0", config=records.config, fees=FEES)
    assert result.provenance["data_symbol"] == "BTC-USDT"
    assert result.summary["matched"] > 0
    # with one: the symbol it subscribes to, as the run's symbol setting
    named = reconcile(LiveRecords.from_frames(*frames, snapshot=records.snapshot), bare, root=STRATEGIES, fees=FEES)
    assert named.provenance["backtest"]["options"]["symbol"] == "BTC-USDT"
    pd.testing.assert_frame_equal(named.fills, result.fills)


def test_a_bad_tolerance_is_a_config_error() -> None:
    with pytest.raises(meltica_lab.errors.ConfigError, match="tolerance: expected a duration"):
        reconcile(example_records(), DATA, root=STRATEGIES, tolerance="soon")
    with pytest.raises(meltica_lab.errors.ConfigError, match=r"tolerance: '5' has no unit; say which: 5s, 5ms"):
        reconcile(example_records(), DATA, root=STRATEGIES, tolerance="5")
    with pytest.raises(meltica_lab.errors.ConfigError, match="tolerance: expected a duration >= 0"):
        reconcile(example_records(), DATA, root=STRATEGIES, tolerance=-1)


def test_durations_read_with_their_units() -> None:
    from meltica_lab.reconcile import duration_ns

    assert duration_ns("5s", "t") == duration_ns(5, "t") == duration_ns(pd.Timedelta(seconds=5), "t") == 5 * 10**9
    assert duration_ns("250ms", "t") == 250 * 10**6
    assert duration_ns("2min", "t") == 120 * 10**9


def test_data_in_several_files_reconciles_as_the_whole_file(example, tmp_path: Path) -> None:
    lines = DATA.read_text().splitlines(keepends=True)
    halves = tmp_path / "a.csv", tmp_path / "b.csv"
    halves[0].write_text("".join(lines[:5001]))
    halves[1].write_text(lines[0] + "".join(lines[5001:]))
    split = reconcile(example_records(), list(halves), root=STRATEGIES, fees=FEES, progress=False)
    pd.testing.assert_frame_equal(split.fills, example.fills)
    assert [Path(f["name"]).name for f in split.provenance["backtest"]["data_files"]] == ["a.csv", "b.csv"]


def test_a_live_gateway_is_reconciled_like_its_saved_answers(example) -> None:
    snapshot = json.loads((LIVE / "instance.json").read_text())
    orders = json.loads((LIVE / "orders.json").read_text())["orders"]
    executions = json.loads((LIVE / "executions.json").read_text())["executions"]
    spec = snapshot["strategy"]
    with FakeGateway() as gateway:
        gateway.instances["momentum-live"] = Instance(
            "momentum-live", "momentum", spec["selector"], spec["hash"], spec["tag"], True, config=spec["config"]
        )
        gateway.orders["momentum-live"] = orders
        gateway.executions["momentum-live"] = executions
        live = reconcile((gateway.url, "momentum-live"), DATA, root=STRATEGIES, fees=FEES, progress=False)
    assert live.provenance["live_source"] == f"{gateway.url} instance momentum-live"
    pd.testing.assert_frame_equal(live.fills, example.fills)
    pd.testing.assert_series_equal(live.summary, example.summary)


def late_records() -> LiveRecords:
    """The example run's records from 02:00 on, as if the instance started then."""
    records = example_records()
    since = pd.Timestamp("2024-03-01T02:00Z")
    return LiveRecords.from_frames(
        records.orders[records.orders["placed_at"] >= since],
        records.executions[records.executions["traded_at"] >= since],
        snapshot=records.snapshot,
    )


def test_a_backtest_that_traded_before_the_first_live_record_is_warned_about() -> None:
    with pytest.warns(ReconcileWarning, match=r"the backtest filled \d+ order\(s\) before the first live record"):
        reconcile(late_records(), DATA, root=STRATEGIES, fees=FEES, progress=False)


def test_start_says_when_the_instance_began_and_the_backtest_starts_there() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReconcileWarning)
        result = reconcile(
            example_records(), DATA, root=STRATEGIES, fees=FEES, start="2024-03-01T00:00Z", progress=False
        )
    assert result.provenance["backtest_start"] == "2024-03-01T00:00:00+00:00"
    assert result.provenance["backtest_fills_before_window"] == 0
    by_seconds = reconcile(example_records(), DATA, root=STRATEGIES, fees=FEES, start=1_709_251_200, progress=False)
    assert by_seconds.provenance["backtest_start"] == result.provenance["backtest_start"]


def test_a_start_that_cannot_be_right_is_refused() -> None:
    with pytest.raises(meltica_lab.errors.ConfigError, match=r"start: .* is after the first live record"):
        reconcile(example_records(), DATA, root=STRATEGIES, start="2024-03-02")
    with pytest.raises(meltica_lab.errors.ConfigError, match=r"not Unix seconds .*\(milliseconds\?\)"):
        reconcile(example_records(), DATA, root=STRATEGIES, start=1_709_251_200_000)
    with pytest.raises(UsageError, match="give start or warmup, not both"):
        reconcile(example_records(), DATA, root=STRATEGIES, start="2024-03-01", warmup="1h")


def test_other_symbols_in_the_data_do_not_reach_a_strategy_whose_instance_trades_one(example) -> None:
    btc = pd.read_csv(DATA)
    eth = btc.assign(symbol="ETH-USDT", price=btc["price"] / 20)
    both = pd.concat([btc, eth]).sort_values("timestamp", kind="stable")
    mixed = reconcile(example_records(), both, root=STRATEGIES, fees=FEES, progress=False)
    assert mixed.provenance["backtest"]["options"]["symbol"] == "BTC-USDT"
    pd.testing.assert_frame_equal(mixed.fills, example.fills)


def test_a_workspace_reads_the_data_as_it_reads_any_data(example, tmp_path: Path, monkeypatch) -> None:
    with meltica_lab.open(STRATEGIES, cache_dir=tmp_path / "cache", fees=FEES, progress=False) as ws:
        reads = []
        own = ws.load_market_data

        def load_market_data(data, **options):  # through the workspace's conversion cache
            reads.append(data)
            return own(data, **options)

        monkeypatch.setattr(ws, "load_market_data", load_market_data)
        result = reconcile(example_records(), DATA, workspace=ws)
    assert reads == [DATA]
    pd.testing.assert_frame_equal(result.fills, example.fills)
