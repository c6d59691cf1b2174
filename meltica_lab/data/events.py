"""Market events as columns: what every market data format is read into, and the form the V8 event
loop consumes, whatever the data came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRADE, TICKER, KLINE = 0, 1, 2
"""Event kinds: Trade (price, quantity), Ticker (last, bid, ask, sizes), KlineSummary (OHLCV)."""

KIND_NAMES = ("Trade", "Ticker", "KlineSummary")
BUY, SELL = 0, 1
VALUE_COLUMNS = 6


@dataclass(frozen=True, eq=False)
class MarketEvents:
    """A time-ordered batch of market events.

    ``ts`` int64 nanoseconds since the epoch (UTC), non-decreasing; ``kind`` one of TRADE, TICKER,
    KLINE; ``symbol``/``provider`` int32 codes into ``symbols``/``providers``; ``side`` BUY or SELL
    (the aggressor of a trade); ``values`` float64 of shape (6, n), by kind:
    Trade (price, quantity, -, -, -, -), Ticker (last, bid, ask, bid size, ask size, -),
    KlineSummary (open, high, low, close, volume, bar length in ms). NaN marks a missing value.
    """

    ts: np.ndarray
    kind: np.ndarray
    symbol: np.ndarray
    provider: np.ndarray
    side: np.ndarray
    values: np.ndarray
    symbols: tuple[str, ...]
    providers: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def take(self, rows: slice | np.ndarray) -> MarketEvents:
        """The events selected by a slice or a boolean mask (string tables unchanged)."""
        return MarketEvents(
            ts=self.ts[rows],
            kind=self.kind[rows],
            symbol=self.symbol[rows],
            provider=self.provider[rows],
            side=self.side[rows],
            values=self.values[:, rows],
            symbols=self.symbols,
            providers=self.providers,
        )

    @property
    def start_ns(self) -> int:
        """The first event's time, 0 for an empty batch."""
        return int(self.ts[0]) if len(self) else 0
