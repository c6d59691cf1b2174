"""Shared benchmark helpers: seeded synthetic market data, timing, peak memory, report lines.

Not a benchmark itself: ``python benchmarks/_common.py`` does nothing.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
T0_NS = 1_672_531_200_000_000_000
"""2023-01-01T00:00:00Z: synthetic data starts here."""

Result = TypeVar("Result")
Other = TypeVar("Other")


def synthetic_trades(n: int, *, seed: int, step_ms: int = 100, start: float = 20_000.0) -> pd.DataFrame:
    """``n`` trades ``step_ms`` apart: a geometric random walk with 0.05 % moves, prices on a 0.01 tick,
    quantities uniform in [0.001, 2) on a 0.0001 step, random aggressor sides."""
    # Computed in place (the same operations in the same order, so the same values): the process
    # measured holds the frame, not the garbage of making it.
    rng = np.random.default_rng(seed)
    prices = rng.normal(0.0, 0.0005, n)
    np.cumsum(prices, out=prices)
    np.exp(prices, out=prices)
    prices *= start
    np.round(prices, 2, out=prices)
    quantity = rng.uniform(0.001, 2.0, n)
    np.round(quantity, 4, out=quantity)
    sides = rng.random(n) < 0.5
    timestamps = np.arange(n, dtype=np.int64)
    timestamps *= step_ms
    timestamps *= 1_000_000
    timestamps += T0_NS
    return pd.DataFrame(
        {
            "timestamp": timestamps,
            "price": prices,
            "quantity": quantity,
            "side": pd.Categorical.from_codes(sides.astype(np.int8), ["buy", "sell"]),
        },
        copy=False,
    )


def timed(action: Callable[[], Result], repeat: int) -> tuple[float, Result]:
    """The median wall time of ``repeat`` runs of ``action`` and the last run's result."""
    seconds, result, _, _ = timed_pair(action, lambda: None, repeat)
    return seconds, result


def timed_pair(
    first: Callable[[], Result], second: Callable[[], Other], repeat: int
) -> tuple[float, Result, float, Other]:
    """Median wall times of ``repeat`` alternating runs of two actions, and their last results.

    Alternating keeps a ratio between the two fair on a shared machine: both see the same load.
    Each run starts with the garbage of the one before collected (untimed), so that neither pays
    for the other's: a peer backtester leaves millions of cyclic objects behind.
    """
    times: tuple[list[float], list[float]] = ([], [])
    results: list[Any] = [None, None]
    for _ in range(repeat):
        for k, action in enumerate((first, second)):
            gc.collect()
            started = time.perf_counter()
            results[k] = action()
            times[k].append(time.perf_counter() - started)
    return statistics.median(times[0]), results[0], statistics.median(times[1]), results[1]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verdict(ok: bool) -> str:
    """``target met`` or ``TARGET MISSED``."""
    return "target met" if ok else "TARGET MISSED"
