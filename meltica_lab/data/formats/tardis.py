"""Tardis.dev CSV datasets: trades, quotes and order book snapshots; times in microseconds.

The event time is the exchange's ``timestamp`` (``local_timestamp`` is when Tardis received it).
A trade whose ``side`` is ``unknown`` (the exchange did not say who the aggressor was) is a bad row.
"""

from __future__ import annotations

from meltica_lab.data.events import TICKER, TRADE
from meltica_lab.data.formats.base import Format, Layout

_HEAD = ("exchange", "symbol", "timestamp", "local_timestamp")
_COMMON = {"timestamp": ("timestamp",), "symbol": ("symbol",)}


def _levels(depth: int) -> Layout:
    names: list[str] = []
    for level in range(depth):
        names += [f"asks[{level}].price", f"asks[{level}].amount", f"bids[{level}].price", f"bids[{level}].amount"]
    return Layout((*_HEAD, *names), "sstt" + "n" * len(names))


TRADES = Format(
    name="tardis-trades",
    kind=TRADE,
    title="Tardis.dev trades",
    layouts=(Layout((*_HEAD, "id", "side", "price", "amount"), "ssttssnn"),),
    columns={**_COMMON, "price": ("price",), "quantity": ("amount",), "side": ("side",)},
    time_units=("us",),
    side="text",
    example="binance_trades_2024-01-01_BTCUSDT.csv.gz",
)

QUOTES = Format(
    name="tardis-quotes",
    kind=TICKER,
    title="Tardis.dev quotes (top of book, as Ticker events)",
    layouts=(Layout((*_HEAD, "ask_amount", "ask_price", "bid_price", "bid_amount"), "ssttnnnn"),),
    columns={
        **_COMMON,
        "bid": ("bid_price",),
        "ask": ("ask_price",),
        "bid_size": ("bid_amount",),
        "ask_size": ("ask_amount",),
    },
    time_units=("us",),
    example="binance_quotes_2024-01-01_BTCUSDT.csv.gz",
)

BOOK_SNAPSHOT = Format(
    name="tardis-book-snapshot",
    kind=TICKER,
    title="Tardis.dev book_snapshot_5 / book_snapshot_25 (top of book, as Ticker events)",
    layouts=(_levels(5), _levels(25)),
    columns={
        **_COMMON,
        "bid": ("bids[0].price",),
        "ask": ("asks[0].price",),
        "bid_size": ("bids[0].amount",),
        "ask_size": ("asks[0].amount",),
    },
    time_units=("us",),
    example="binance_book_snapshot_5_2024-01-01_BTCUSDT.csv.gz",
)

FORMATS = (TRADES, QUOTES, BOOK_SNAPSHOT)
