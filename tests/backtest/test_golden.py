"""Golden results: the example strategies over seeded data give exactly the results recorded in
``tests/backtest/golden/`` (fills, orders, equity, summary, logs, errors, byte for byte).

The fixtures were written by the engine as it was before the throughput work of issue 12, so any
speed-up that changes a fill, a price, an equity sample or a metric by one bit fails here. To
record new fixtures after an intended change of semantics (bump ENGINE_VERSION too), run
``python -m tests.backtest.test_golden --write [CASE ...]``; a new case is recorded by the engine of
the commit before the speed work (``git worktree add``, run the command there).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from meltica_lab.backtest import Fees, FillModel, run_backtest
from meltica_lab.backtest.results import BacktestResult
from meltica_lab.loader import Loader

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden")
T0 = 1_672_531_200_000_000_000
EVENTS = 6_000


def trades(n: int, *, seed: int, symbol: str = "BTC-USDT", start: float = 20_000.0, step_ms: int = 250) -> pd.DataFrame:
    """``n`` seeded trades: a random walk with 0.1 % moves on a 0.01 tick, random sizes and sides."""
    rng = np.random.default_rng(seed)
    prices = np.round(start * np.exp(np.cumsum(rng.normal(0.0, 0.001, n))), 2)
    return pd.DataFrame(
        {
            "timestamp": T0 + np.arange(n, dtype=np.int64) * step_ms * 1_000_000 + rng.integers(0, 999, n),
            "price": prices,
            "quantity": np.round(rng.uniform(0.001, 3.0, n), 4),
            "side": np.where(rng.random(n) < 0.5, "buy", "sell"),
            "symbol": symbol,
        }
    )


def quotes(n: int, *, seed: int) -> pd.DataFrame:
    """Quotes around a seeded trade walk, with the last trade price and both sizes."""
    rng = np.random.default_rng(seed)
    trade = trades(n, seed=seed)
    spread = np.round(rng.uniform(0.5, 8.0, n), 2)
    return pd.DataFrame(
        {
            "timestamp": trade["timestamp"],
            "price": trade["price"],
            "bid": trade["price"] - spread,
            "ask": trade["price"] + spread,
            "bid_size": np.round(rng.uniform(0.01, 2.0, n), 3),
            "ask_size": np.round(rng.uniform(0.01, 2.0, n), 3),
            "symbol": "BTC-USDT",
        }
    )


def two_symbols(n: int, *, seed: int) -> pd.DataFrame:
    """Trades of two symbols interleaved: equity sums positions over several held symbols."""
    a = trades(n, seed=seed)
    b = trades(n, seed=seed + 1, symbol="BTC-USDC")
    # the same walk a little apart, so that one momentum signal sees both symbols' prices
    b["price"] = np.round(a["price"] * (1.0 + np.random.default_rng(seed).normal(0.0, 0.0002, n)), 2)
    b["timestamp"] += 50_000_000
    return pd.concat([a, b]).sort_values("timestamp", kind="stable").reset_index(drop=True)


def bars(n: int, *, seed: int) -> pd.DataFrame:
    """One-minute bars from a seeded walk."""
    rng = np.random.default_rng(seed)
    close = np.round(20_000 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n))), 2)
    open_ = np.concatenate([[20_000.0], close[:-1]])
    wiggle = np.abs(rng.normal(0.0, 10.0, (2, n)))
    return pd.DataFrame(
        {
            "timestamp": T0 + (np.arange(n, dtype=np.int64) + 1) * 60_000_000_000,
            "open": open_,
            "high": np.round(np.maximum(open_, close) + wiggle[0], 2),
            "low": np.round(np.minimum(open_, close) - wiggle[1], 2),
            "close": close,
            "volume": np.round(rng.uniform(0.0, 50.0, n), 3),
            "symbol": "BTC-USDT",
        }
    )


PARTIAL = FillModel(partial=True)
# name: (selector, data, config, settings changes)
CASES: dict[str, tuple[str, Any, dict[str, Any], dict[str, Any]]] = {
    "momentum": ("momentum", lambda: trades(EVENTS, seed=1), {"threshold": 0.001, "vol_multiplier": 0.5}, {}),
    "momentum-latency-partial": (
        "momentum",
        lambda: trades(EVENTS, seed=2),
        {"threshold": 0.001, "vol_multiplier": 0.5, "order_size": 2.5},
        {"latency_ms": 300.0, "fill_model": PARTIAL, "slippage_bps": 2.0, "seed": 7},
    ),
    "momentum-v1.0.0": ("momentum:v1.0.0", lambda: trades(EVENTS, seed=3), {}, {"fees": Fees(maker=0.0, taker=0.001)}),
    "momentum-two-symbols": (
        "momentum",
        lambda: two_symbols(EVENTS // 2, seed=4),
        {"threshold": 0.001, "vol_multiplier": 0.5},
        {"latency_ms": 120.0},
    ),
    "grid-partial-touch": (
        "grid",
        lambda: trades(EVENTS, seed=5),
        {},
        {"fill_model": FillModel(trigger="touch", price_improvement=True, partial=True), "latency_ms": 50.0},
    ),
    "meanreversion": ("meanreversion", lambda: trades(EVENTS, seed=6), {}, {"fill_model": PARTIAL}),
    "marketmaking-quotes": (
        "marketmaking",
        lambda: quotes(EVENTS, seed=7),
        {},
        {"fill_model": PARTIAL, "latency_ms": 75.0},
    ),
    "logging-bars": ("logging", lambda: bars(500, seed=8), {}, {}),
    "logging-quotes": ("logging", lambda: quotes(300, seed=9), {}, {"seed": 3}),
    "noop": ("noop", lambda: trades(1_000, seed=10), {}, {}),
    # a week with a day without trades: daily Sharpe ratio, exposure time over days
    "momentum-days": (
        "momentum",
        lambda: trades(EVENTS, seed=11, step_ms=100_000).drop(range(2_000, 2_900)),
        {"threshold": 0.002, "vol_multiplier": 0.5, "cooldown": "30m"},
        {"fill_model": PARTIAL},
    ),
}


def run_case(name: str) -> BacktestResult:
    """One golden case's run, as the fixture was recorded."""
    selector, data, config, changes = CASES[name]
    loader = Loader(REPO / "strategies")
    try:
        revision = loader.resolve(selector)
        return run_backtest(revision, data(), config={"dry_run": False, **config}, progress=False, **changes)
    finally:
        loader.close()


def _text(frame: pd.DataFrame) -> str:
    # pandas writes repr() of every float and nanosecond times: the text holds every bit of every value
    return frame.to_csv()


def digest(result: BacktestResult) -> dict[str, Any]:
    """What a fixture holds: a sha256 of each frame's full text, and the readable parts in full."""
    provenance = {k: v for k, v in result.provenance.items() if k not in ("wall_seconds", "python_to_v8_calls")}
    return {
        "sha256": {
            name: hashlib.sha256(_text(getattr(result, name)).encode()).hexdigest()
            for name in ("fills", "orders", "equity", "logs", "errors")
        },
        "summary": json.loads(result.to_json())["summary"],
        "provenance": json.loads(json.dumps(provenance, default=str)),
        "rows": {name: len(getattr(result, name)) for name in ("fills", "orders", "equity", "logs", "errors")},
        "fills_head": _text(result.fills.head(20)).splitlines(),
        "orders_head": _text(result.orders.head(20)).splitlines(),
        "equity_every_500": _text(result.equity.iloc[::500]).splitlines(),
        "logs_head": _text(result.logs.head(10)).splitlines(),
        "errors": _text(result.errors).splitlines(),
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_golden_run_gives_the_recorded_results_byte_for_byte(name):
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    found = digest(run_case(name))
    # readable parts first, so a difference shows where it starts
    for key in ("rows", "summary", "fills_head", "orders_head", "equity_every_500", "logs_head", "errors"):
        assert found[key] == expected[key], key
    assert found["provenance"] == expected["provenance"]
    assert found["sha256"] == expected["sha256"]


def test_the_golden_cases_trade_what_they_are_meant_to_exercise():
    recorded = {name: json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8")) for name in CASES}
    assert recorded["momentum"]["rows"]["fills"] > 50
    partial = recorded["momentum-latency-partial"]["rows"]
    assert partial["fills"] > partial["orders"]
    assert recorded["grid-partial-touch"]["rows"]["fills"] > 20
    assert recorded["marketmaking-quotes"]["rows"]["fills"] > 20
    assert recorded["meanreversion"]["rows"]["fills"] > 5
    assert recorded["logging-bars"]["rows"]["logs"] > 100
    days = recorded["momentum-days"]["summary"]
    assert days["Exposure Time [%]"] > 0 and days["Sharpe Ratio (daily, ann. √365)"] is not None
    symbols = {line.split(",")[2] for line in recorded["momentum-two-symbols"]["fills_head"][1:]}
    assert symbols == {"BTC-USDT", "BTC-USDC"}


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        sys.exit("usage: python -m tests.backtest.test_golden --write [CASE ...]")
    GOLDEN.mkdir(exist_ok=True)
    for case in sys.argv[2:] or sorted(CASES):
        text = json.dumps(digest(run_case(case)), indent=1, ensure_ascii=False) + "\n"
        (GOLDEN / f"{case}.json").write_text(text, encoding="utf-8")
        print(case)
