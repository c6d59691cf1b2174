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


def concat_events(parts: list[MarketEvents]) -> MarketEvents:
    """The events of ``parts`` one after the other, their symbol and provider tables merged."""
    if len(parts) == 1:
        return parts[0]
    symbols = tuple(dict.fromkeys(s for part in parts for s in part.symbols))
    providers = tuple(dict.fromkeys(p for part in parts for p in part.providers))

    def recode(codes: np.ndarray, names: tuple[str, ...], merged: tuple[str, ...]) -> np.ndarray:
        table = np.array([merged.index(n) for n in names], dtype=np.int32)
        return table[codes] if len(codes) else codes.astype(np.int32)

    return MarketEvents(
        ts=np.concatenate([p.ts for p in parts]),
        kind=np.concatenate([p.kind for p in parts]),
        symbol=np.concatenate([recode(p.symbol, p.symbols, symbols) for p in parts]),
        provider=np.concatenate([recode(p.provider, p.providers, providers) for p in parts]),
        side=np.concatenate([p.side for p in parts]),
        values=np.concatenate([p.values for p in parts], axis=1),
        symbols=symbols,
        providers=providers,
    )
