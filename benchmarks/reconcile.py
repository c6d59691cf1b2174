"""Reconciling 100k live fills: the ARCHITECTURE target is < 5 s.

A seeded synthetic backtest of ``--fills`` fills (one market order each, a few seconds apart, one
symbol, both sides) and the live run a gateway would have recorded of it: every order and fill 0-2 s
later, 0-4 bps worse, 1 % of the fills never made live, 1 % extra live fills, 2 % arriving in two
parts; Unix seconds and decimal strings, as the gateway's answers hold them. Reported, as medians:

* ``read``: :meth:`LiveRecords.from_answers` (the contract's schema check of both answers, the
  consistency checks, the client's frames, the record checks);
* ``reconcile``: :func:`reconcile_result` on the read records (pairing fills and orders, the tables,
  PnL curves, summary): the reconciliation proper, given the backtest;
* the two together against the target, in CPU seconds (wall seconds beside them: a loaded machine
  inflates those), and ``reconcile_result`` against an independent baseline in the same process:
  ``pandas.merge_asof`` joining each live fill to its nearest backtest fill of the same side within
  the tolerance. The baseline is not quantity aware and lets one backtest fill match many live ones,
  so it does less; the ratio says what the full rules cost on top of a plain nearest join.

The backtest itself is not timed here (``benchmarks/backtest_throughput.py`` measures the engine).

Run: ``.venv/bin/python benchmarks/reconcile.py [--fills N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd
from _common import timed_pair

from meltica_lab.backtest import BacktestResult
from meltica_lab.reconcile import LiveRecords, reconcile_result

Result = TypeVar("Result")
SEED = 20_240_301
T0 = 1_709_251_200
TARGET_SECONDS = 5.0


def synthetic_backtest(n: int, rng: np.random.Generator) -> BacktestResult:
    """``n`` backtest fills (one market order each) in the engine's frame shapes."""
    gaps = rng.integers(1_000_000_000, 5_000_000_000, n)
    ns = T0 * 1_000_000_000 + np.cumsum(gaps) + rng.integers(0, 999_999_999, n) // 7
    times = pd.DatetimeIndex(ns.view("datetime64[ns]"), name="time").tz_localize("UTC")
    side = np.where(rng.random(n) < 0.5, "Buy", "Sell").astype(object)
    quantity = np.round(rng.uniform(0.01, 1.0, n), 4)
    price = np.round(60_000 * np.exp(np.cumsum(rng.normal(0, 0.0003, n))), 2)
    ids = np.array([f"backtest-{t}-{k}" for k, t in enumerate(ns.tolist())], dtype=object)
    fills = pd.DataFrame(
        {
            "client_order_id": ids,
            "symbol": "BTC-USDT",
            "side": side,
            "quantity": quantity,
            "price": price,
            "fee": quantity * price * 0.001,
            "liquidity": "taker",
            "position": 0.0,
        },
        index=times,
    )
    orders = pd.DataFrame(
        {
            "client_order_id": ids,
            "symbol": "BTC-USDT",
            "provider": "binance",
            "side": side,
            "type": "Market",
            "quantity": quantity,
            "limit_price": np.nan,
            "state": "FILLED",
            "filled_quantity": quantity,
            "avg_fill_price": price,
            "fees": quantity * price * 0.001,
            "updated": times,
            "reject_reason": None,
        },
        index=times,
    )
    provenance = {"strategy": "synthetic", "tag": "v1", "hash": "sha256:" + "0" * 64, "config": {}}
    empty = pd.DataFrame()
    return BacktestResult(pd.Series(dtype=object), fills, orders, empty, empty, empty, provenance)


def live_answers(backtest: BacktestResult, rng: np.random.Generator) -> tuple[dict, dict]:
    """The gateway's orders and executions answers of a live run of the backtest (see the docstring)."""
    fills = backtest.fills
    n = len(fills)
    seconds = fills.index.as_unit("ns").asi8 // 1_000_000_000
    placed = seconds + rng.integers(0, 2, n)
    traded = placed + rng.integers(0, 2, n)
    sign = np.where(fills["side"].to_numpy() == "Buy", 1.0, -1.0)
    price = fills["price"].to_numpy() * (1 + sign * rng.uniform(0, 4, n) / 1e4)
    missing = rng.random(n) < 0.01
    split = rng.random(n) < 0.02
    orders, executions = [], []
    for k in range(n):
        side = fills["side"].iat[k].upper()
        quantity = float(fills["quantity"].iat[k])
        orders.append(_order(k, side, quantity, int(placed[k]), "CANCELLED" if missing[k] else "FILLED"))
        if missing[k]:
            continue
        parts = (0.5, 0.5) if split[k] else (1.0,)
        for p, part in enumerate(parts):
            executions.append(_execution(f"{k}-{p}", k, quantity * part, float(price[k]), int(traded[k]) + p))
    extra = np.flatnonzero(rng.random(n) < 0.01)
    for number, k in enumerate(extra.tolist(), start=n):
        orders.append(_order(number, "BUY", 0.01, int(placed[k]) + 30, "FILLED"))
        executions.append(_execution(f"{number}-0", number, 0.01, float(price[k]), int(placed[k]) + 30))
    return {"orders": orders, "count": len(orders)}, {"executions": executions, "count": len(executions)}


def _order(number: int, side: str, quantity: float, at: int, state: str) -> dict:
    return {
        "id": f"ord-{number}",
        "provider": "binance",
        "strategyInstance": "synthetic-live",
        "clientOrderId": f"synthetic-live-{at}-{number}",
        "symbol": "BTC-USDT",
        "side": side,
        "type": "MARKET",
        "quantity": f"{quantity:.4f}",
        "price": None,
        "state": state,
        "externalReference": None,
        "placedAt": at,
        "metadata": {},
        "acknowledgedAt": at,
        "completedAt": at,
        "createdAt": at,
        "updatedAt": at,
    }


def _execution(name: str, order: int, quantity: float, price: float, at: int) -> dict:
    return {
        "orderId": f"ord-{order}",
        "provider": "binance",
        "strategyInstance": "synthetic-live",
        "executionId": f"exe-{name}",
        "quantity": f"{quantity:.6f}",
        "price": f"{price:.2f}",
        "fee": f"{quantity * price * 0.001:.6f}",
        "feeAsset": "USDT",
        "liquidity": "TAKER",
        "tradedAt": at,
        "metadata": {},
        "createdAt": at,
    }


def nearest_join(records: LiveRecords, backtest: BacktestResult, tolerance_ns: int) -> pd.DataFrame:
    """The baseline: each live fill with its nearest backtest fill of the same side, within tolerance."""
    live = records.fills[["time_ns", "side", "price"]].sort_values("time_ns", kind="stable")
    bt = pd.DataFrame(
        {
            "time_ns": backtest.fills.index.as_unit("ns").asi8 // 1_000_000_000 * 1_000_000_000,
            "side": backtest.fills["side"].to_numpy(),
            "bt_price": backtest.fills["price"].to_numpy(),
        }
    ).sort_values("time_ns", kind="stable")
    return pd.merge_asof(live, bt, on="time_ns", by="side", tolerance=tolerance_ns, direction="nearest")


def cpu_and_wall(action: Callable[[], Result], repeat: int) -> tuple[float, float, Result]:
    """Median CPU seconds (this process) and wall seconds of ``repeat`` runs, and the last result. On a
    shared, loaded machine the CPU figure is the one that says what the work costs."""
    cpu, wall = [], []
    result: Result
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = action()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(cpu), statistics.median(wall), result


def main() -> None:
    """Build the synthetic runs, time reading and reconciling, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fills", type=int, default=100_000, help="backtest fills (default: 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default: 3)")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    backtest = synthetic_backtest(args.fills, rng)
    orders, executions = live_answers(backtest, rng)
    read_cpu, read_s, records = cpu_and_wall(lambda: LiveRecords.from_answers(orders, executions), args.repeat)
    match_cpu, match_s, result = cpu_and_wall(lambda: reconcile_result(records, backtest), args.repeat)
    pair_s, _, join_s, joined = timed_pair(
        lambda: reconcile_result(records, backtest), lambda: nearest_join(records, backtest, 5 * 10**9), args.repeat
    )
    s = result.summary
    paired = int(joined["bt_price"].notna().sum())
    cpu, wall = read_cpu + match_cpu, read_s + match_s
    print(
        f"reconcile: {len(records.fills):,} live fills ({len(records.order_rows):,} orders) against "
        f"{args.fills:,} backtest fills, medians of {args.repeat}"
    )
    print(f"  read the two answers (contract check, frames, record checks): {read_cpu:.2f} s CPU, {read_s:.2f} s wall")
    print(f"  reconcile_result (pairing, tables, PnL, summary): {match_cpu:.2f} s CPU, {match_s:.2f} s wall")
    verdict = "met" if cpu < TARGET_SECONDS else "MISSED"
    print(f"  together: {cpu:.2f} s CPU, {wall:.2f} s wall (target < {TARGET_SECONDS:g} s: {verdict} by CPU time)")
    print(
        f"  baseline pandas.merge_asof nearest join of the fills alone: {join_s:.3f} s wall, alternating with "
        f"reconcile_result at {pair_s:.2f} s: {pair_s / join_s:.0f}x (it pairs {paired:,}"
        " fills, without quantities, orders, notes or one-to-one use)"
    )
    print(
        f"  result: matched {s['matched']:,}, missing_live {s['missing_live']:,}, extra_live {s['extra_live']:,}, "
        f"median delay {s['median_delay_s']:g} s, median slippage {s['median_slippage_bps']:.2f} bps"
    )


if __name__ == "__main__":
    main()
