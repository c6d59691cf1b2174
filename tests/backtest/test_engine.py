"""run_backtest and compare end to end: pinned hashes, config, analytics by hand, results, determinism."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from meltica_lab.backtest import Fees, compare, run_backtest
from meltica_lab.backtest.metrics import SHARPE_LABEL, sharpe_ratio
from meltica_lab.backtest.session import LONG_FEED
from meltica_lab.data import load_market_data
from meltica_lab.errors import ConfigError, DataError, IntegrityError, UsageError
from meltica_lab.jshost.isolate import Isolate
from meltica_lab.loader import Loader
from tests.backtest.conftest import SECOND, T0, module, register, trades

CONFIG = [
    {"name": "size", "type": "float", "default": 1, "required": False},
    {"name": "label", "type": "string", "default": "x", "required": False},
    {"name": "dry_run", "type": "bool", "default": True, "required": False},
]
# buys `size` on the first trade and sells it on the fourth (unless dry_run)
ROUND_TRIP = module(
    "let n = 0; const c = env.config; log('config', JSON.stringify(c));"
    " return { onTrade() { n++; if (c.dry_run) return;"
    " if (n === 1) rt.submitMarketOrder('', 'buy', c.size);"
    " if (n === 4) rt.submitMarketOrder('', 'sell', c.size); } };",
    name="roundtrip",
    config=CONFIG,
)
PRICES = [100.0, 100.0, 90.0, 110.0, 120.0]


@pytest.fixture
def digest(root):
    return register(root, "roundtrip", "v1.0.0", ROUND_TRIP)


def test_a_tag_selector_is_pinned_to_its_resolved_hash(root, digest):
    result = run_backtest("roundtrip:v1.0.0", trades(PRICES), root=root, progress=False)
    p = result.provenance
    assert (p["strategy"], p["selector"], p["hash"], p["tag"]) == ("roundtrip", "roundtrip:v1.0.0", digest, "v1.0.0")
    assert p["pinned"] == f"roundtrip@{digest}"
    assert p["rows"] == 5 and p["events"] == 5 and p["seed"] == 0
    assert p["engine_version"] and p["mini_racer_version"] and p["v8_version"].startswith("14.")
    assert p["data_sha256"].startswith("sha256:") and p["wall_seconds"] > 0


def test_a_revision_object_runs_as_given(root, digest):
    revision = Loader(root).resolve(f"roundtrip@{digest}")
    assert run_backtest(revision, trades(PRICES), progress=False).provenance["selector"] == revision.selector


def test_a_tampered_module_file_never_runs(root, digest):
    revision = Loader(root).resolve("roundtrip")
    revision.path.write_bytes(revision.path.read_bytes() + b"\nlog('tampered');\n")
    with pytest.raises(IntegrityError, match="hash mismatch"):
        run_backtest(revision, trades(PRICES), progress=False)


def test_config_defaults_apply_dry_run_defaults_to_false_and_unknown_keys_fail(root, digest):
    result = run_backtest("roundtrip", trades(PRICES), root=root, progress=False)
    assert result.provenance["config"] == {"size": 1.0, "label": "x", "dry_run": False}
    assert result.logs["message"].iloc[0] == 'config {"size":1,"label":"x","dry_run":false}'
    assert len(result.fills) == 2
    dry = run_backtest("roundtrip", trades(PRICES), root=root, config={"dry_run": "true"}, progress=False)
    assert len(dry.fills) == 0
    with pytest.raises(ConfigError, match="unknown key\\(s\\) sise; known keys: dry_run, label, size"):
        run_backtest("roundtrip", trades(PRICES), root=root, config={"sise": 2}, progress=False)
    with pytest.raises(ConfigError, match="size: expected a finite number"):
        run_backtest("roundtrip", trades(PRICES), root=root, config={"size": "big"}, progress=False)


def test_summary_matches_a_hand_computed_round_trip(root, digest):
    result = run_backtest("roundtrip", trades(PRICES), root=root, capital=1000.0, progress=False)
    s = result.summary
    # buy 1 @ 100 (fee 0.2) on trade 2, sell 1 @ 120 (fee 0.24) on trade 5
    assert s["Equity Final"] == pytest.approx(1019.56)
    assert s["Return [%]"] == pytest.approx(1.956)
    assert s["Realised PnL"] == pytest.approx(20.0) and s["Unrealised PnL"] == 0
    assert s["Fees"] == pytest.approx(0.44) and s["Net PnL"] == pytest.approx(19.56)
    assert s["Turnover"] == pytest.approx(220.0)
    # equity 1000, 999.8, 989.8, 1009.8, 1019.56: peak 1000 -> 989.8
    assert s["Max. Drawdown"] == pytest.approx(10.2) and s["Max. Drawdown [%]"] == pytest.approx(1.02)
    assert result.equity["equity"].tolist() == pytest.approx([1000.0, 999.8, 989.8, 1009.8, 1019.56])
    # a position is open from the 2nd to the 5th event: 3 of the 4 seconds
    assert s["Exposure Time [%]"] == pytest.approx(75.0)
    assert (s["Round Trips"], s["Win Rate [%]"], s["Orders"], s["Fills"]) == (1, 100.0, 2, 2)
    assert math.isnan(s[SHARPE_LABEL])
    # the reference's numbers: cash flow -100 + 120, drawdown from 0 to -10 when the market hits 90
    assert (s["Legacy Orders"], s["Legacy Filled"], s["Legacy Volume"]) == (2, 2, 2.0)
    assert s["Legacy Gross PnL"] == pytest.approx(20.0) and s["Legacy Net PnL"] == pytest.approx(19.56)
    assert s["Legacy Max Drawdown"] == pytest.approx(10.0)


def test_frames_are_indexed_by_simulation_time_in_utc(root, digest):
    result = run_backtest("roundtrip", trades(PRICES), root=root, fees=Fees(taker=0.001), progress=False)
    assert str(result.fills.index.tz) == "UTC" and str(result.equity.index.tz) == "UTC"
    assert result.fills.index.tolist() == [
        pd.Timestamp(T0 + SECOND, unit="ns", tz="UTC"),
        pd.Timestamp(T0 + 4 * SECOND, unit="ns", tz="UTC"),
    ]
    assert result.fills[["side", "quantity", "price", "fee", "liquidity", "position"]].values.tolist() == [
        ["Buy", 1.0, 100.0, 0.1, "taker", 1.0],
        ["Sell", 1.0, 120.0, 0.12, "taker", 0.0],
    ]
    assert result.fills["client_order_id"].tolist() == [f"backtest-{T0}-0", f"backtest-{T0 + 3 * SECOND}-1"]
    orders = result.orders
    assert orders[["side", "type", "state", "filled_quantity", "avg_fill_price"]].values.tolist() == [
        ["Buy", "Market", "FILLED", 1.0, 100.0],
        ["Sell", "Market", "FILLED", 1.0, 120.0],
    ]
    assert list(result.equity.columns) == ["equity", "fees", "in_market", "drawdown", "drawdown_pct"]
    assert list(result.logs.columns) == ["time", "message"] and list(result.errors.columns) == [
        "handler",
        "message",
        "count",
    ]


def test_two_runs_give_identical_results(root, digest):
    def run():
        result = run_backtest("roundtrip", trades(PRICES), root=root, seed=5, progress=False)
        document = result.to_dict()
        document["provenance"].pop("wall_seconds")
        return document, [f.to_csv() for f in (result.fills, result.orders, result.equity, result.logs)]

    assert run() == run()


def test_the_provenance_records_the_data_digest_of_a_large_frame_hashed_during_the_run(root, digest):
    # from 65,536 events a DataFrame's digest is computed on a thread while the run goes on
    frame = trades([100.0 + (k % 7) for k in range(70_000)], step=SECOND // 10)
    result = run_backtest("roundtrip", frame, root=root, progress=False)
    assert result.provenance["data_sha256"] == load_market_data(frame).sha256
    assert result.provenance["data_sha256"].startswith("sha256:")


def test_a_long_run_closes_its_isolate_releasing_its_memory_and_a_short_one_leaves_that_cost_out(
    root, digest, monkeypatch
):
    releases = []
    close = Isolate.close

    def spy(self, *, release=False):
        releases.append(release)
        return close(self, release=release)

    monkeypatch.setattr(Isolate, "close", spy)
    long = pd.DataFrame(
        {
            "timestamp": T0 + np.arange(LONG_FEED, dtype=np.int64) * (SECOND // 10),
            "price": 100.0 + np.arange(LONG_FEED) % 7,
            "quantity": 1.0,
            "symbol": "BTC-USDT",
        }
    )
    released = []
    for frame in (trades(PRICES), long):
        releases.clear()
        run_backtest("roundtrip", frame, root=root, progress=False)
        released.append(any(releases))
    assert released == [False, True]


def test_after_a_long_run_the_frames_are_built_once_the_isolate_has_given_its_memory_back(root, digest, monkeypatch):
    from meltica_lab.backtest import engine
    from meltica_lab.jshost import isolate

    order = []
    free, equity_frame = isolate._free_context, engine.equity_frame

    def slow_free(context, *, release=False):
        if release:
            time.sleep(0.2)  # a release slower than building the frames: they still wait for it
        free(context, release=release)
        if release:
            order.append("released")

    def spy_equity(*args):
        order.append("equity frame")
        return equity_frame(*args)

    monkeypatch.setattr(isolate, "_free_context", slow_free)
    monkeypatch.setattr(engine, "equity_frame", spy_equity)
    long = trades([100.0 + k % 7 for k in range(LONG_FEED)], step=SECOND // 10)
    run_backtest("roundtrip", long, root=root, progress=False)
    assert order == ["released", "equity frame"]


def test_to_json_repr_html_and_plot(root, digest):
    result = run_backtest("roundtrip", trades(PRICES), root=root, progress=False)
    document = json.loads(result.to_json())
    assert list(document) == ["provenance", "summary", "logs", "errors"]
    assert document["summary"]["Start"] == "2023-01-01T00:00:00+00:00"
    assert document["summary"][SHARPE_LABEL] is None
    assert document["logs"][0]["time"] == "2023-01-01T00:00:00+00:00"
    assert digest in repr(result) and "Equity Final" in repr(result)
    html = result._repr_html_()
    assert digest in html and "<table>" in html and "Win Rate [%]" in html
    figure = result.plot()
    assert isinstance(figure, Figure) and len(figure.axes) == 2


def test_sharpe_uses_daily_returns_annualised_by_root_365():
    days = pd.date_range("2023-01-01", periods=4, freq="D", tz="UTC")
    equity = pd.Series([100.0, 110.0, 121.0, 127.05], index=days)
    # returns 0.1, 0.1, 0.05: mean 0.083333, sample std 0.0288675 -> 2.886751 x sqrt(365)
    assert sharpe_ratio(equity) == pytest.approx(55.1516, abs=1e-3)


def test_symbol_and_provider_filters_skip_other_events(root, digest):
    data = trades(
        [100.0, 5.0, 100.0, 5.0, 90.0, 110.0, 120.0],
        symbol=["A-USD", "B-USD", "A-USD", "B-USD", "A-USD", "A-USD", "A-USD"],
        provider=["backtest", "backtest", "backtest", "other", "backtest", "backtest", "backtest"],
    )
    result = run_backtest("roundtrip", data, root=root, symbol="A-USD", progress=False)
    assert result.provenance["events"] == 5 and result.provenance["events_skipped"] == 2
    assert result.fills["price"].tolist() == [100.0, 120.0]
    with pytest.raises(DataError, match="no events for symbol C-USD"):
        run_backtest("roundtrip", data, root=root, symbol="C-USD", progress=False)


def test_dropped_rows_are_counted(root, digest, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("timestamp,price,quantity\n1672531200000,100,1\n1672531200001,bad,1\n1672531200002,101,1\n")
    with pytest.raises(DataError, match="row 2 \\(line 3\\), column price"):
        run_backtest("roundtrip", path, root=root, progress=False)
    result = run_backtest("roundtrip", path, root=root, drop_bad_rows=True, progress=False)
    assert result.summary["Dropped Rows"] == 1 and result.provenance["rows_dropped"] == 1
    assert result.provenance["rows"] == 3 and result.provenance["events"] == 2


def test_compare_gives_one_row_per_revision_over_the_same_data(root, digest):
    other = register(root, "roundtrip", "v2.0.0", ROUND_TRIP.replace(b"n === 4", b"n === 3"))
    table = compare(["roundtrip:v1.0.0", "roundtrip:v2.0.0"], trades(PRICES), root=root, capital=1000.0, progress=False)
    assert table.index.tolist() == [f"roundtrip@{digest}", f"roundtrip@{other}"]
    assert table["tag"].tolist() == ["v1.0.0", "v2.0.0"]
    # v2 sells on the 3rd trade: fills at 110 instead of 120
    assert table["Realised PnL"].tolist() == pytest.approx([20.0, 10.0])


def test_a_strategy_that_is_neither_selector_nor_revision_is_a_usage_error():
    with pytest.raises(UsageError, match="strategy: expected a selector or a Revision, got int"):
        run_backtest(42, trades(PRICES), progress=False)


def test_sharpe_takes_the_last_equity_of_each_day_and_skips_empty_days():
    times = pd.to_datetime(
        ["2023-01-01 01:00", "2023-01-01 23:00", "2023-01-02 12:00", "2023-01-04 00:00", "2023-01-05 09:00"], utc=True
    )
    equity = pd.Series([50.0, 100.0, 110.0, 121.0, 127.05], index=times)
    assert sharpe_ratio(equity) == pytest.approx(55.1516, abs=1e-3)
