"""Write the example market data used by the notebooks, the demo and the tests.

Run ``python examples/data/make_data.py`` from anywhere; it rewrites, byte for byte the same every time:

* ``btc_trades.csv``: 10,000 BTC-USDT trades, one every 2 seconds from 2024-03-01T00:00:00Z (about 5.5
  hours). Prices follow a seeded random walk whose drift switches between calm, trending up and
  trending down every few hundred trades, so momentum and mean-reversion strategies both find
  something to do.
* ``btc_trades_small.csv``: the first 2,000 rows of the same series, for quick runs and tests.

Columns: ``timestamp`` (ISO 8601, UTC, milliseconds), ``symbol``, ``price`` (0.01 tick),
``quantity`` (0.0001 step), ``side`` (the aggressor, ``buy`` or ``sell``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20_240_301
ROWS = 10_000
SMALL_ROWS = 2_000
START = pd.Timestamp("2024-03-01T00:00:00Z")
STEP = pd.Timedelta(seconds=2)
SYMBOL = "BTC-USDT"
START_PRICE = 62_000.0
# Per-trade drift of each regime (calm, up, down) and the per-trade volatility shared by all of them.
REGIME_DRIFT = np.array([0.0, 0.00012, -0.00012])
VOLATILITY = 0.0004


def trades(rows: int, seed: int) -> pd.DataFrame:
    """``rows`` seeded trades with regime-switching drift (see the module docstring)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(200, 800, size=rows // 200 + 1)
    regimes = np.repeat(rng.integers(0, len(REGIME_DRIFT), size=len(lengths)), lengths)[:rows]
    steps = REGIME_DRIFT[regimes] + rng.normal(0.0, VOLATILITY, rows)
    prices = np.round(START_PRICE * np.exp(np.cumsum(steps)), 2)
    times = pd.DatetimeIndex(START + STEP * np.arange(rows))
    return pd.DataFrame(
        {
            "timestamp": times.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z",
            "symbol": SYMBOL,
            "price": prices,
            "quantity": np.round(rng.gamma(1.5, 0.05, rows) + 0.0001, 4),
            "side": np.where(steps + rng.normal(0.0, VOLATILITY, rows) >= 0, "buy", "sell"),
        }
    )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV with fixed number formatting and Unix line ends."""
    frame.to_csv(path, index=False, float_format="%.4f", lineterminator="\n")


def main() -> None:
    """Write both files and say where they are."""
    frame = trades(ROWS, SEED)
    write_csv(frame, HERE / "btc_trades.csv")
    write_csv(frame.head(SMALL_ROWS), HERE / "btc_trades_small.csv")
    print(f"wrote {HERE / 'btc_trades.csv'} ({ROWS} rows) and {HERE / 'btc_trades_small.csv'} ({SMALL_ROWS} rows)")


if __name__ == "__main__":
    main()
