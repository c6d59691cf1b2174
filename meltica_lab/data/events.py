"""Market events as columns: what every market data format is read into, and the form the V8 event
loop consumes, whatever the data came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

TRADE, TICKER, KLINE = 0, 1, 2
"""Event kinds: Trade (price, quantity), Ticker (last, bid, ask, sizes), KlineSummary (OHLCV)."""

KIND_NAMES = ("Trade", "Ticker", "KlineSummary")
BUY, SELL = 0, 1
VALUE_COLUMNS = 6
_NAN_BLOCK = 1 << 16
"""Elements of NaN at a time where an absent value row is written out (a digest, a file)."""


def _nan_row(n: int) -> np.ndarray:
    # one NaN repeated with stride 0: a read-only row of any length that holds no memory
    return np.broadcast_to(np.float64(np.nan), (n,))


@dataclass(frozen=True, eq=False)
class MarketEvents:
    """A time-ordered batch of market events.

    ``ts`` int64 nanoseconds since the epoch (UTC), non-decreasing; ``kind`` one of TRADE, TICKER,
    KLINE; ``symbol``/``provider`` int32 codes into ``symbols``/``providers``; ``side`` BUY or SELL
    (the aggressor of a trade). Each event has six float64 values, by kind:
    Trade (price, quantity, -, -, -, -), Ticker (last, bid, ask, bid size, ask size, -),
    KlineSummary (open, high, low, close, volume, bar length in ms). NaN marks a missing value.

    ``value_rows`` holds them as six rows of length n; a row that is NaN for every event (the last
    four of a batch of trades) is ``None`` and takes no memory. Read row ``k`` with :meth:`value`;
    :attr:`values` is the (6, n) array of them all, made when asked for.
    """

    ts: np.ndarray
    kind: np.ndarray
    symbol: np.ndarray
    provider: np.ndarray
    side: np.ndarray
    value_rows: tuple[np.ndarray | None, ...]
    symbols: tuple[str, ...]
    providers: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.value_rows) != VALUE_COLUMNS:
            raise ValueError(f"MarketEvents: expected {VALUE_COLUMNS} value rows, got {len(self.value_rows)}")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def value(self, k: int) -> np.ndarray:
        """Value row ``k`` (0..5) of every event; an absent row is a read-only NaN view."""
        row = self.value_rows[k]
        return _nan_row(len(self)) if row is None else row

    @property
    def values(self) -> np.ndarray:
        """All six value rows as a new float64 array of shape (6, n) (NaN where absent).

        It is made on each access: code that reads a row or two should use :meth:`value`."""
        out = np.empty((VALUE_COLUMNS, len(self)))
        for k in range(VALUE_COLUMNS):
            out[k] = self.value(k)
        return out

    def take(self, rows: slice | np.ndarray) -> MarketEvents:
        """The events selected by a slice or a boolean mask (string tables unchanged)."""
        return MarketEvents(
            ts=self.ts[rows],
            kind=self.kind[rows],
            symbol=self.symbol[rows],
            provider=self.provider[rows],
            side=self.side[rows],
            value_rows=tuple(None if row is None else row[rows] for row in self.value_rows),
            symbols=self.symbols,
            providers=self.providers,
        )

    @property
    def start_ns(self) -> int:
        """The first event's time, 0 for an empty batch."""
        return int(self.ts[0]) if len(self) else 0

    def value_blocks(self, k: int) -> list[np.ndarray]:
        """Row ``k`` as contiguous pieces, end to end: the row itself, or NaN blocks for an absent
        row (its bytes for a digest or a file, without making the whole row)."""
        row = self.value_rows[k]
        if row is not None:
            return [np.ascontiguousarray(row)]
        n = len(self)
        block = np.full(min(n, _NAN_BLOCK), np.nan)
        return [block[: min(_NAN_BLOCK, n - start)] for start in range(0, n, _NAN_BLOCK)]

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns by name (``ts``, ``kind``, ``symbol``, ``provider``, ``side``, then ``v0``..``v5``
        for the value rows present), as :meth:`from_arrays` takes them back."""
        out = {name: getattr(self, name) for name in ("ts", "kind", "symbol", "provider", "side")}
        out.update({f"v{k}": row for k, row in enumerate(self.value_rows) if row is not None})
        return out

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], symbols: tuple[str, ...], providers: tuple[str, ...]
    ) -> MarketEvents:
        """Events from the columns :meth:`arrays` gave (a value row not among them is absent)."""
        return cls(
            ts=arrays["ts"],
            kind=arrays["kind"],
            symbol=arrays["symbol"],
            provider=arrays["provider"],
            side=arrays["side"],
            value_rows=tuple(arrays.get(f"v{k}") for k in range(VALUE_COLUMNS)),
            symbols=symbols,
            providers=providers,
        )


def concat_events(parts: list[MarketEvents]) -> MarketEvents:
    """The events of ``parts`` one after the other, their symbol and provider tables merged."""
    if len(parts) == 1:
        return parts[0]
    symbols = tuple(dict.fromkeys(s for part in parts for s in part.symbols))
    providers = tuple(dict.fromkeys(p for part in parts for p in part.providers))

    def recode(codes: np.ndarray, names: tuple[str, ...], merged: tuple[str, ...]) -> np.ndarray:
        table = np.array([merged.index(n) for n in names], dtype=np.int32)
        return table[codes] if len(codes) else codes.astype(np.int32)

    def joined(k: int) -> np.ndarray | None:
        if all(p.value_rows[k] is None for p in parts):
            return None
        return np.concatenate([np.zeros(0), *(p.value(k) for p in parts)])

    return MarketEvents(
        ts=np.concatenate([p.ts for p in parts]),
        kind=np.concatenate([p.kind for p in parts]),
        symbol=np.concatenate([recode(p.symbol, p.symbols, symbols) for p in parts]),
        provider=np.concatenate([recode(p.provider, p.providers, providers) for p in parts]),
        side=np.concatenate([p.side for p in parts]),
        value_rows=tuple(joined(k) for k in range(VALUE_COLUMNS)),
        symbols=symbols,
        providers=providers,
    )
