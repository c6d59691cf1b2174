"""Summary statistics of a run, from the equity curve and the ledger totals the V8 host kept.

Conventions, stated once: money is in the quote currency; the starting capital is the run's
``capital``; drawdown is measured from the running peak of equity, which starts at the capital;
the Sharpe ratio uses daily returns (the last equity of each UTC calendar day, risk-free rate 0)
annualised by √365 because crypto markets trade every day, and is NaN with fewer than two daily
returns; exposure time is the share of the run's time with a non-zero position. The ``Legacy …``
rows reproduce the reference backtester's five numbers (compat §4.7): gross PnL is cash flow, net is
gross minus fees, and its drawdown runs on cash flow plus marked positions from a peak starting at 0.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.buffers import text_column, text_dtype

SHARPE_LABEL = "Sharpe Ratio (daily, ann. √365)"


def drawdown(equity: np.ndarray, capital: float) -> tuple[np.ndarray, np.ndarray]:
    """Absolute and percentage drawdown from the running peak (which starts at ``capital``)."""
    # in place where a temporary would be: two result arrays and one for the peak, whatever the length
    peak = np.maximum(equity, capital)
    np.maximum.accumulate(peak, out=peak)
    absolute = peak - equity
    np.divide(absolute, peak, out=peak)
    peak *= 100.0
    return absolute, peak


_NS_PER_DAY = 86_400 * 1_000_000_000
_BLOCK = 1 << 16


def _nanoseconds(index: pd.Index) -> np.ndarray:
    """The times of a datetime index as int64 ns (``as_unit`` copies even when the unit is ns already)."""
    times = index if isinstance(index, pd.DatetimeIndex) else pd.DatetimeIndex(index)
    return (times if times.unit == "ns" else times.as_unit("ns")).asi8


def sharpe_ratio(equity: pd.Series) -> float:
    """Annualised Sharpe ratio of daily returns (see the module docstring).

    ``equity`` is indexed by UTC time in order; days without a sample are skipped, as
    ``resample("1D").last().dropna()`` would, without resampling a million rows.
    """
    if equity.empty:
        return math.nan
    return _sharpe(_nanoseconds(equity.index), equity.to_numpy(dtype=np.float64))


def _sharpe(times: np.ndarray, values: np.ndarray) -> float:
    # the last sample before each midnight from the first day's to the one after the last day's
    first, last = times[0] // _NS_PER_DAY, times[-1] // _NS_PER_DAY
    midnights = np.arange(first + 1, last + 2, dtype=np.int64) * _NS_PER_DAY
    last_of_day = np.unique(np.searchsorted(times, midnights, side="left") - 1)
    daily = values[last_of_day[last_of_day >= 0]]
    returns = daily[1:] / daily[:-1] - 1.0
    if len(returns) < 2:
        return math.nan
    spread = returns.std(ddof=1)
    return float(returns.mean() / spread * math.sqrt(365)) if spread > 0 else math.nan


def exposure_share(equity: pd.DataFrame) -> float:
    """Share (0..1) of the run's time with a position; by samples when all samples share one time."""
    if equity.empty:
        return 0.0
    return _exposure(_nanoseconds(equity.index), equity["in_market"].to_numpy(dtype=bool))


def _exposure(times: np.ndarray, held: np.ndarray) -> float:
    span = times[-1] - times[0]
    if span <= 0:
        return float(held.mean())
    # the time from each sample with a position to the next: summed run by run of such samples
    # (integer nanoseconds, so the total is exact in any order)
    change = np.flatnonzero(held[1:] != held[:-1]) + 1
    edges = np.concatenate(([0], change, [len(held) - 1]))
    starts, ends = edges[:-1], np.minimum(edges[1:], len(held) - 1)
    runs = held[starts]
    return float(int((times[ends[runs]] - times[starts[runs]]).sum()) / span)


def legacy_max_drawdown(equity: pd.DataFrame, capital: float) -> float:
    """The reference's drawdown: cash flow plus marked positions, peak starting at 0, fees ignored."""
    if equity.empty:
        return 0.0
    return _legacy_drawdown(equity["equity"].to_numpy(), equity["fees"].to_numpy(), capital)


def _legacy_drawdown(values: np.ndarray, fees: np.ndarray, capital: float) -> float:
    # block by block, the running peak carried over: temporaries of one block, not of every event
    # (the same maxima and differences, so the same float)
    peak, worst = 0.0, []
    for start in range(0, len(values), _BLOCK):
        legacy = values[start : start + _BLOCK] - capital
        legacy += fees[start : start + _BLOCK]
        running = np.maximum(legacy, peak)
        np.maximum.accumulate(running, out=running)
        peak = running[-1]
        running -= legacy
        worst.append(running.max())
    return float(max(np.max(worst), 0.0))


def _top(values: np.ndarray) -> float:
    """The largest value that is not NaN (NaN when there is none), as ``Series.max`` finds it."""
    top = float(values.max())  # NaN if any value is
    if not math.isnan(top):
        return top
    missing = np.isnan(values)
    return float(values[~missing].max()) if not missing.all() else math.nan


@functools.cache
def _labels(names: tuple[str, ...]) -> pd.Index:
    # the same every run: pandas infers the labels' dtype once, not for every summary
    return pd.Index(text_column(names, text_dtype()))


def summarise(
    equity: pd.DataFrame,
    ledger: dict[str, Any],
    counts: dict[str, int],
    *,
    capital: float,
    events: int,
    rejected: int,
    dropped_rows: int,
    errors: int,
    dropped_log_lines: int,
) -> pd.Series:
    """The run's summary as a Series with readable labels (units in the labels).

    ``equity`` is the frame :func:`meltica_lab.backtest.results.equity_frame` builds (equity, fees,
    in_market, drawdown, drawdown_pct after every market event)."""
    # each column read once: reading one costs more than the arithmetic on it for short runs
    values = equity["equity"].to_numpy(dtype=np.float64)
    times = _nanoseconds(equity.index)
    start = equity.index[0] if len(equity) else pd.NaT
    end = equity.index[-1] if len(equity) else pd.NaT
    final = float(ledger["equity"])
    trips = int(ledger["trips"])
    fees = float(ledger["fees"])
    gross = float(ledger["cashFlow"])
    rows: dict[str, Any] = {
        "Start": start,
        "End": end,
        "Duration": end - start if len(equity) else pd.NaT,
        "Events": events,
        "Capital": capital,
        "Equity Final": final,
        "Equity Peak": float(max(_top(values), capital)) if len(values) else capital,
        "Return [%]": (final / capital - 1.0) * 100.0,
        "Realised PnL": float(ledger["realised"]),
        "Unrealised PnL": float(ledger["unrealised"]),
        "Fees": fees,
        "Net PnL": final - capital,
        "Turnover": float(ledger["turnover"]),
        "Max. Drawdown": _top(equity["drawdown"].to_numpy()) if len(values) else 0.0,
        "Max. Drawdown [%]": _top(equity["drawdown_pct"].to_numpy()) if len(values) else 0.0,
        SHARPE_LABEL: _sharpe(times, values) if len(values) else math.nan,
        "Exposure Time [%]": _exposure(times, equity["in_market"].to_numpy(dtype=bool)) * 100.0 if len(values) else 0.0,
        "Round Trips": trips,
        "Win Rate [%]": int(ledger["wins"]) / trips * 100.0 if trips else math.nan,
        "Orders": int(counts["submitted"]),
        "Fills": int(ledger["fills"]),
        "Rejected": rejected,
        "Expired": int(counts["expired"]),
        "Handler Errors": errors,
        "Dropped Rows": dropped_rows,
        "Dropped Log Lines": dropped_log_lines,
        "Legacy Orders": int(counts["submitted"]),
        "Legacy Filled": int(ledger["fills"]),
        "Legacy Volume": float(ledger["volume"]),
        "Legacy Gross PnL": gross,
        "Legacy Fees": fees,
        "Legacy Net PnL": gross - fees,
        "Legacy Max Drawdown": _legacy_drawdown(values, equity["fees"].to_numpy(), capital) if len(values) else 0.0,
    }
    # a copy of the shared labels: a caller may rename its summary's index
    return pd.Series(list(rows.values()), index=_labels(tuple(rows)).copy(), dtype=object, name="summary")
