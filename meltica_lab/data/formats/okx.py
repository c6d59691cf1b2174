"""OKX historical market data (okx.com/data-download): trades and candles, times in milliseconds.

Trade files name the taker's ``side``; their header comes in English or bilingual
(``instrument_name/交易对``): the part before ``/`` is the name.
"""

from __future__ import annotations

from meltica_lab.data.events import KLINE, TRADE
from meltica_lab.data.formats.base import Format, Layout

TRADES = Format(
    name="okx-trades",
    kind=TRADE,
    title="OKX trades",
    layouts=(Layout(("instrument_name", "trade_id", "side", "price", "size", "created_time"), "sisnnt"),),
    columns={
        "timestamp": ("created_time",),
        "price": ("price",),
        "quantity": ("size",),
        "side": ("side",),
        "symbol": ("instrument_name",),
    },
    time_units=("ms",),
    side="text",
    example="BTC-USDT-trades-2024-01-01.zip",
)

CANDLES = Format(
    name="okx-candles",
    kind=KLINE,
    title="OKX candles (the bar's time is open + interval; a bar still forming, confirm=0, is a bad row)",
    layouts=(
        Layout(
            ("instrument_name", "open", "high", "low", "close", "vol", "vol_ccy", "vol_quote", "open_time", "confirm"),
            "snnnnnnntx",
        ),
        Layout(("ts", "o", "h", "l", "c", "vol", "volccy", "volccyquote", "confirm"), "tnnnnnnnx"),
    ),
    columns={
        "open_time": ("open_time", "ts"),
        "open": ("open", "o"),
        "high": ("high", "h"),
        "low": ("low", "l"),
        "close": ("close", "c"),
        "volume": ("vol",),
        "symbol": ("instrument_name",),
        "confirm": ("confirm",),
    },
    time_units=("ms",),
    bar_from_open=True,
    example="BTC-USDT-candlesticks-2024-01-01.zip",
)

FORMATS = (TRADES, CANDLES)
