"""Binance public data (data.binance.vision): spot and USD-M/COIN-M futures dumps.

Spot files have no header line; futures files have one (older futures files none). Times are
milliseconds, and microseconds in spot files from 2025-01-01 on: which one a file uses is decided
from its values. ``is_buyer_maker`` true means the buyer's order was resting, so the aggressor sold.
"""

from __future__ import annotations

from meltica_lab.data.events import KLINE, TICKER, TRADE
from meltica_lab.data.formats.base import Format, Layout

_UNITS = ("ms", "us")

TRADES = Format(
    name="binance-trades",
    kind=TRADE,
    title="Binance trades (spot, USD-M and COIN-M futures)",
    layouts=(
        Layout(("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"), "innntbb"),
        Layout(("id", "price", "qty", "quote_qty", "time", "is_buyer_maker"), "innntb"),
        # COIN-M: qty in contracts, base_qty in the base asset
        Layout(("id", "price", "qty", "base_qty", "time", "is_buyer_maker"), "innntb"),
    ),
    columns={"timestamp": ("time",), "price": ("price",), "quantity": ("qty",), "side": ("is_buyer_maker",)},
    time_units=_UNITS,
    side="buyer_maker",
    headerless=True,
    example="BTCUSDT-trades-2025-01-01.zip",
)

AGG_TRADES = Format(
    name="binance-aggtrades",
    kind=TRADE,
    title="Binance aggregate trades (spot, futures)",
    layouts=(
        Layout(
            (
                "agg_trade_id",
                "price",
                "quantity",
                "first_trade_id",
                "last_trade_id",
                "transact_time",
                "is_buyer_maker",
                "is_best_match",
            ),
            "inniitbb",
        ),
        Layout(
            (
                "agg_trade_id",
                "price",
                "quantity",
                "first_trade_id",
                "last_trade_id",
                "transact_time",
                "is_buyer_maker",
            ),
            "inniitb",
        ),
    ),
    columns={
        "timestamp": ("transact_time",),
        "price": ("price",),
        "quantity": ("quantity",),
        "side": ("is_buyer_maker",),
    },
    time_units=_UNITS,
    side="buyer_maker",
    headerless=True,
    example="BTCUSDT-aggTrades-2025-01-01.zip",
)

KLINES = Format(
    name="binance-klines",
    kind=KLINE,
    title="Binance klines (candles; the bar's time is its close time)",
    layouts=(
        Layout(
            (
                "open_time",
                "open",
                "high",
                "low",
                "close",
                "volume",
                "close_time",
                "quote_volume",
                "count",
                "taker_buy_volume",
                "taker_buy_quote_volume",
                "ignore",
            ),
            "tnnnnntninnx",
        ),
        Layout(  # COIN-M: volumes in the base asset
            (
                "open_time",
                "open",
                "high",
                "low",
                "close",
                "volume",
                "close_time",
                "base_volume",
                "count",
                "taker_buy_volume",
                "taker_buy_base_volume",
                "ignore",
            ),
            "tnnnnntninnx",
        ),
    ),
    columns={
        "timestamp": ("close_time",),
        "open_time": ("open_time",),
        "open": ("open",),
        "high": ("high",),
        "low": ("low",),
        "close": ("close",),
        "volume": ("volume",),
    },
    time_units=_UNITS,
    headerless=True,
    bar_close_inclusive=True,
    example="BTCUSDT-1m-2025-01-01.zip",
)

BOOK_TICKER = Format(
    name="binance-bookticker",
    kind=TICKER,
    title="Binance futures bookTicker (best bid and ask, as Ticker events at the transaction time)",
    layouts=(
        Layout(
            (
                "update_id",
                "best_bid_price",
                "best_bid_qty",
                "best_ask_price",
                "best_ask_qty",
                "transaction_time",
                "event_time",
            ),
            "innnntt",
        ),
    ),
    columns={
        "timestamp": ("transaction_time",),
        "bid": ("best_bid_price",),
        "bid_size": ("best_bid_qty",),
        "ask": ("best_ask_price",),
        "ask_size": ("best_ask_qty",),
    },
    time_units=_UNITS,
    headerless=True,
    example="BTCUSDT-bookTicker-2024-01-01.zip",
)

FORMATS = (TRADES, AGG_TRADES, KLINES, BOOK_TICKER)
