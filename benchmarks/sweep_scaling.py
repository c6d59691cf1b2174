"""Sweep scaling: a 32-combination sweep of the example momentum strategy on 1 and on 2 workers.

The data (200,000 seeded synthetic trades) is loaded once, and the same ``MarketData`` is swept by a
1-worker and a 2-worker :func:`process_pool`, both in this one process. Each pool is timed cold once
(its workers start during the sweep: process, V8 platform, first compilations), then warm three
times, the 1- and 2-worker sweeps alternating so that load from other jobs on a shared machine
falls on both sides of the ratio; the warm figure is the median. Prints wall time and tasks per
second, the speed-up of 2 workers over 1 (target, ARCHITECTURE: >= 1.8x), the summed time of the
runs themselves (equal on both sides when nothing else disturbed them), whether the 1- and 2-worker
tables are the same bytes, the load average, and what start-up costs: the strategy session every
run starts (isolate, JS host, ``create``), a fresh worker's first run, and the data load that each
run would repeat without the per-worker cache.

Run: ``.venv/bin/python benchmarks/sweep_scaling.py [--trades N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import Executor

import pandas as pd
from _common import REPO, synthetic_trades, timed, verdict

from meltica_lab.backtest import MarketData, StrategySession, load_market_data, resolve_config
from meltica_lab.backtest.sweep import process_pool, sweep
from meltica_lab.loader import Loader, Revision

SEED = 20_250_101
SELECTOR = "momentum"
SYMBOL = "BTC-USDT"
GRID = {
    "lookback": [10, 20, 40, 80],
    "threshold": [0.001, 0.002, 0.004, 0.008],
    "cooldown": ["1s", "10s"],
}
WORKERS = (1, 2)
WARM_ROUNDS = 3
TARGET = 1.8


def session_start_seconds(revision: Revision, data: MarketData, repeat: int = 20) -> float:
    """Median time to open and close one strategy session, as every run does."""
    source = revision.read_source()
    config = resolve_config(revision.metadata.config, {}, strategy=revision.name)
    events = data.events

    def start() -> None:
        with StrategySession(
            source,
            name=revision.name,
            tag=revision.tag,
            config=config,
            symbols=events.symbols,
            start_ns=events.start_ns,
        ):
            pass

    start()
    seconds, _ = timed(start, repeat=repeat)
    return seconds


def load_figure() -> str:
    """The load average and the cores this process may use."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {len(os.sched_getaffinity(0))} cores"


def run_seconds(table: pd.DataFrame) -> list[float]:
    """How long each run of a sweep took in its worker."""
    return [t["seconds"] for t in table.attrs["execution"]["tasks"]]


def first_run_seconds(table: pd.DataFrame) -> float:
    """Median over workers of the first run each did (in a cold pool: its start-up run)."""
    tasks = table.attrs["execution"]["tasks"]
    workers = dict.fromkeys(t["worker"] for t in tasks)
    return statistics.median(next(t["seconds"] for t in tasks if t["worker"] == w) for w in workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=200_000)
    args = parser.parse_args()

    revision = Loader(REPO / "strategies").resolve(SELECTOR)
    frame = synthetic_trades(args.trades, seed=SEED)
    started = time.perf_counter()
    data = load_market_data(frame, default_symbol=SYMBOL)
    load_seconds = time.perf_counter() - started
    runs = len(GRID["lookback"]) * len(GRID["threshold"]) * len(GRID["cooldown"])
    print(f"strategy            {revision.selector}")
    print(f"data                {args.trades:,} trades, seed {SEED}; grid {' x '.join(GRID)} = {runs} runs")
    print(f"load average        {load_figure()} before the sweeps")

    def run(pool: Executor) -> pd.DataFrame:
        return sweep(revision, data, GRID, executor=pool, progress=False)

    pools = {workers: process_pool(workers) for workers in WORKERS}
    try:
        cold = {workers: timed(lambda pool=pool: run(pool), repeat=1) for workers, pool in pools.items()}
        warm: dict[int, list[float]] = {workers: [] for workers in WORKERS}
        tables: dict[int, pd.DataFrame] = {}
        for _ in range(WARM_ROUNDS):
            for workers, pool in pools.items():
                seconds, tables[workers] = timed(lambda pool=pool: run(pool), repeat=1)
                warm[workers].append(seconds)
    finally:
        for pool in pools.values():
            pool.shutdown()

    walls = {workers: statistics.median(times) for workers, times in warm.items()}
    for workers in WORKERS:
        cold_seconds, cold_table = cold[workers]
        each = run_seconds(tables[workers])
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        rounds = ", ".join(f"{t:.3f}" for t in warm[workers])
        print(
            f"{label:<20}warm {walls[workers]:.3f} s ({runs / walls[workers]:.2f} tasks/s; rounds {rounds})   "
            f"cold {cold_seconds:.3f} s ({runs / cold_seconds:.2f} tasks/s)"
        )
        print(
            f"{'':<20}runs: median {statistics.median(each):.3f} s, sum {sum(each):.3f} s; "
            f"a fresh worker's first run {first_run_seconds(cold_table):.3f} s"
        )
    speedup = walls[1] / walls[2]
    cold_speedup = cold[1][0] / cold[2][0]
    print(f"speed-up            warm {speedup:.2f}x  {verdict(speedup >= TARGET)} (target >= {TARGET}x)")
    print(f"                    cold {cold_speedup:.2f}x  {verdict(cold_speedup >= TARGET)}")
    same = tables[1].to_csv() == tables[2].to_csv()
    print(f"tables identical    {'yes' if same else 'NO'} (1 vs 2 workers, to_csv bytes)")
    typical = statistics.median(run_seconds(tables[1]))
    session = session_start_seconds(revision, data)
    print(
        f"per-run start-up    strategy session (isolate, JS host, create) {session * 1000:.1f} ms "
        f"= {session / typical:.1%} of a median run ({typical:.3f} s); paid by every run"
    )
    print(f"data per run        loading the trades takes {load_seconds:.3f} s; each worker maps them once instead")
    print(f"load average        {load_figure()} after the sweeps")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
