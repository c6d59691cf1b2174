"""meltica-lab against two independent backtesters on the same prices and the same momentum logic.

The peers are backtesting.py and backtrader, in the optional ``bench`` extra (not in the default
install): ``pip install -e '.[bench]'``. Without them this benchmark says so and exits 0; with only
one, it runs that one.

The logic is the example momentum strategy's (``strategies/momentum``, latest, default config,
trading): signal = price / price ``lookback`` trades ago - 1; an entry needs |signal| above
``threshold`` and above ``vol_multiplier`` x the rolling volatility of trade-to-trade returns x
sqrt(lookback); the target position is +-``order_size``; at most one order per ``cooldown``; an open
position closes at ``take_profit`` or ``stop_loss`` from its entry. Each trade is one bar
(open = high = low = close = the price, volume = the quantity) for the peers, which know only bars;
their indicators are computed once with pandas (as their documentation recommends), so what is
timed is their event loop and bookkeeping, as it is for meltica-lab, whose run_backtest is timed
as a whole from the DataFrame. Fills differ in detail (the peers fill at the next bar), so trades
are printed, not compared. Ratios are meltica-lab's events/s over the peer's, in this process, each the median of
``--repeat`` runs alternating with the peer's (both see the same machine load).

Run: ``.venv/bin/python benchmarks/peers.py [--sizes 1000000 100000] [--repeat 3] [--backtrader-max 100000]``
(backtrader runs at ~20k bars/s: above ``--backtrader-max`` it is skipped and says so).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import sys
import warnings

import numpy as np
import pandas as pd
from _common import REPO, synthetic_trades, timed_pair, verdict

from meltica_lab.backtest import run_backtest
from meltica_lab.loader import Loader

SEED = 20_250_101
TARGETS = {1_000_000: 8.0, 100_000: 5.0}
"""Required speed-up over backtesting.py, by size (issue 12)."""


def indicators(frame: pd.DataFrame, config: dict) -> tuple[np.ndarray, np.ndarray]:
    """The momentum signal and its entry threshold per trade (NaN while the lookback fills)."""
    lookback = int(config["lookback"])
    price = frame["price"].astype(float)
    signal = price / price.shift(lookback) - 1.0
    returns = price / price.shift(1) - 1.0
    volatility = returns.rolling(lookback).std(ddof=0) * np.sqrt(lookback)
    needed = np.maximum(float(config["threshold"]), float(config["vol_multiplier"]) * volatility)
    return signal.to_numpy(), needed.to_numpy()


def bars(frame: pd.DataFrame) -> pd.DataFrame:
    price = frame["price"].to_numpy(dtype=float)
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], unit="ns"))
    return pd.DataFrame(
        {"Open": price, "High": price, "Low": price, "Close": price, "Volume": frame["quantity"].to_numpy()},
        index=index,
    )


class Rules:
    """The momentum decisions, shared by both peers: what to do at bar ``i``."""

    def __init__(self, signal: np.ndarray, needed: np.ndarray, times_ms: np.ndarray, config: dict) -> None:
        self.signal, self.needed, self.times = signal, needed, times_ms
        self.size = float(config["order_size"])
        self.take, self.stop = float(config["take_profit"]), float(config["stop_loss"])
        self.cooldown = _duration_ms(str(config["cooldown"]))
        self.last_order = -np.inf

    def decide(self, i: int, price: float, position: float, entry: float) -> float | None:
        """The new target position, or None to leave it."""
        if position and entry > 0:
            move = price / entry - 1.0 if position > 0 else 1.0 - price / entry
            if move >= self.take or move <= -self.stop:
                self.last_order = self.times[i]
                return 0.0
        signal = self.signal[i]
        if not abs(signal) > self.needed[i]:
            return None
        target = self.size if signal > 0 else -self.size
        if target == position or self.times[i] - self.last_order < self.cooldown:
            return None
        self.last_order = self.times[i]
        return target


def _duration_ms(text: str) -> float:
    units = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def run_backtesting_py(frame: pd.DataFrame, config: dict) -> int:
    from backtesting import Backtest, Strategy

    signal, needed = indicators(frame, config)
    times = frame["timestamp"].to_numpy() // 1_000_000

    class Momentum(Strategy):
        def init(self) -> None:
            self.rules = Rules(signal, needed, times, config)

        def next(self) -> None:
            i = len(self.data) - 1
            position = float(self.position.size)
            entry = self.trades[-1].entry_price if self.trades else 0.0
            target = self.rules.decide(i, float(self.data.Close[-1]), position, entry)
            if target is None:
                return
            if position:
                self.position.close()
            if target > 0:
                self.buy(size=int(target))
            elif target < 0:
                self.sell(size=int(-target))

    # backtesting.py draws its own progress bar on stderr; the figures are this benchmark's output
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        stats = Backtest(bars(frame), Momentum, cash=10_000_000, commission=0.001, finalize_trades=True).run()
    return int(stats["# Trades"])


def run_backtrader(frame: pd.DataFrame, config: dict) -> int:
    import backtrader as bt

    signal, needed = indicators(frame, config)
    times = frame["timestamp"].to_numpy() // 1_000_000
    orders = [0]

    class Momentum(bt.Strategy):
        def __init__(self) -> None:
            self.rules = Rules(signal, needed, times, config)

        def next(self) -> None:
            i = len(self) - 1
            position = float(self.position.size)
            target = self.rules.decide(i, float(self.data.close[0]), position, float(self.position.price or 0.0))
            if target is not None and target != position:
                self.order_target_size(target=target)
                orders[0] += 1

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars(frame)))
    cerebro.addstrategy(Momentum)
    cerebro.broker.setcash(10_000_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.run()
    return orders[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 100_000])
    parser.add_argument("--backtrader-max", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of meltica-lab and each peer")
    args = parser.parse_args()
    peers = {
        name: importlib.util.find_spec(module) is not None
        for name, module in (
            ("backtesting.py", "backtesting"),
            ("backtrader", "backtrader"),
        )
    }
    if not any(peers.values()):
        print("peers: neither backtesting.py nor backtrader is installed; they are in the optional `bench` extra:")
        print("       pip install -e '.[bench]'   (skipped)")
        return 0
    for name, present in peers.items():
        if not present:
            print(f"peers: {name} is not installed (optional `bench` extra): skipped")

    revision = Loader(REPO / "strategies").resolve("momentum")
    for n in args.sizes:
        frame = synthetic_trades(n, seed=SEED)
        warm = run_backtest(revision, frame.iloc[:20_000], symbol="BTC-USDT", progress=False)
        config = dict(warm.provenance["config"])
        ours = lambda f=frame: run_backtest(revision, f, symbol="BTC-USDT", progress=False)  # noqa: E731
        print(f"-- {n:,} trades, seed {SEED}; machine shared with other jobs: figures are noisy")
        for name, run in (("backtesting.py", run_backtesting_py), ("backtrader", run_backtrader)):
            if not peers[name]:
                continue
            if name == "backtrader" and n > args.backtrader_max:
                print(f"{name:<19} skipped above {args.backtrader_max:,} bars (--backtrader-max)")
                continue
            # alternating with the peer, so that both see the same load: medians of `--repeat` pairs
            theirs = lambda f=frame, r=run, c=config: r(f, c)  # noqa: E731
            seconds, result, peer_seconds, trades = timed_pair(ours, theirs, args.repeat)
            rate, peer_rate = n / seconds, n / peer_seconds
            ratio = rate / peer_rate
            print(f"meltica-lab         {rate:,.0f} events/s ({seconds:.3f} s, {int(result.summary['Fills']):,} fills)")
            line = f"{name:<19} {peer_rate:,.0f} bars/s ({peer_seconds:.3f} s, {trades:,} trades/orders); "
            line += f"meltica-lab {ratio:.1f}x"
            if name == "backtesting.py" and n in TARGETS:
                line += f" (target >= {TARGETS[n]:g}x)  {verdict(ratio >= TARGETS[n])}"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
