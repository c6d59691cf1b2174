"""Summary statistics computed in blocks and over views give the floats of the whole-array formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from meltica_lab.backtest.metrics import exposure_share, legacy_max_drawdown, sharpe_ratio


def curve(n: int, *, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    equity = 1_000.0 + np.cumsum(rng.normal(0.0, 3.0, n))
    fees = np.cumsum(rng.random(n) < 0.01) * 0.25
    times = pd.date_range("2023-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"equity": equity, "fees": fees, "in_market": rng.random(n) < 0.5}, index=times)


def whole_legacy_drawdown(frame: pd.DataFrame, capital: float) -> float:
    legacy = frame["equity"].to_numpy() - capital + frame["fees"].to_numpy()
    peak = np.maximum.accumulate(np.maximum(legacy, 0.0))
    return float(max((peak - legacy).max(), 0.0))


def test_the_legacy_drawdown_over_many_blocks_is_the_whole_array_drawdown_to_the_bit():
    frame = curve(200_003)
    for capital in (900.0, 1_000.0, 5_000.0):
        assert legacy_max_drawdown(frame, capital) == whole_legacy_drawdown(frame, capital)


def test_a_nan_in_the_equity_makes_the_legacy_drawdown_nan_as_before():
    frame = curve(70_000)
    frame.iloc[66_000, 0] = np.nan
    assert np.isnan(legacy_max_drawdown(frame, 1_000.0)) and np.isnan(whole_legacy_drawdown(frame, 1_000.0))


def test_sharpe_and_exposure_read_an_index_of_another_unit_as_nanoseconds():
    frame = curve(5_000)
    coarse = frame.set_axis(frame.index.as_unit("s"))
    assert sharpe_ratio(coarse["equity"]) == sharpe_ratio(frame["equity"])
    assert exposure_share(coarse) == exposure_share(frame)
