"""Backtest throughput: the example momentum strategy on 1M seeded synthetic trades.

Measures, in one process: ``run_backtest`` with fills and analytics (the data already loaded, its
load time printed apart), and the ceiling, the bare in-V8 loop of the same strategy and config
(same payload construction and handler calls, no exchange, no results). Prints events/s for both,
their ratio, peak RSS and the Python -> V8 call count. Targets (ARCHITECTURE): >= 1,000,000
events/s, >= 50 % of the ceiling, <= 500 MB peak RSS. Each figure is the median of three runs,
the two kinds alternating (so both see the same machine load), after one small warm-up run of each.

Run: ``.venv/bin/python benchmarks/backtest_throughput.py [--events N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from _common import REPO, peak_rss_mb, synthetic_trades, timed_pair, verdict

from meltica_lab.backtest import MarketData, SessionOptions, StrategySession, load_market_data, run_backtest
from meltica_lab.loader import Loader, Revision

SEED = 20_250_101
SELECTOR = "momentum"
SYMBOL = "BTC-USDT"


def ceiling(revision: Revision, data: MarketData, config: dict[str, Any]) -> int:
    """The bare loop: one fresh session per run, as run_backtest has; returns events handled."""
    events = data.events
    with StrategySession(
        revision.read_source(),
        name=revision.name,
        tag=revision.tag,
        config=config,
        options=SessionOptions(bare=True),
        symbols=events.symbols,
        start_ns=events.start_ns,
    ) as session:
        session.feed(events)
        return len(events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()

    revision = Loader(REPO / "strategies").resolve(SELECTOR)
    frame = synthetic_trades(args.events, seed=SEED)
    started = time.perf_counter()
    data = load_market_data(frame, default_symbol=SYMBOL)
    load_seconds = time.perf_counter() - started
    del frame

    warm = load_market_data(synthetic_trades(10_000, seed=SEED), default_symbol=SYMBOL)
    config = dict(run_backtest(revision, warm, progress=False).provenance["config"])
    ceiling(revision, warm, config)
    full_seconds, result, bare_seconds, _ = timed_pair(
        lambda: run_backtest(revision, data, progress=False), lambda: ceiling(revision, data, config), repeat=3
    )

    n = len(data.events)
    full_rate = n / full_seconds
    bare_rate = n / bare_seconds
    ratio = full_rate / bare_rate
    rss = peak_rss_mb()
    summary = result.summary
    print(f"strategy            {result.provenance['pinned']}")
    print(f"events              {n:,} trades, seed {SEED}; data load {load_seconds:.3f} s (not in the rates)")
    print(
        f"fills               {int(summary['Fills']):,} fills, {int(summary['Orders']):,} orders, "
        f"equity final {float(summary['Equity Final']):,.2f}"
    )
    print(f"run_backtest        {full_rate:,.0f} events/s ({full_seconds:.3f} s)  {verdict(full_rate >= 1_000_000)}")
    print(f"bare in-V8 loop     {bare_rate:,.0f} events/s ({bare_seconds:.3f} s)")
    print(f"ratio               {ratio:.1%} of the ceiling  {verdict(ratio >= 0.5)}")
    print(f"peak RSS            {rss:,.0f} MiB  {verdict(rss <= 500)}")
    print(f"Python->V8 calls    {result.provenance['python_to_v8_calls']} per run_backtest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
