"""A picture of loaded market data: the price over time with the gaps shaded, and the event rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from meltica_lab.data.describe import describe_market_data
from meltica_lab.data.events import KLINE, TICKER, TRADE
from meltica_lab.data.model import MarketData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_POINTS = 20_000
"""Points drawn per line: every k-th event, so a day of trades draws as quickly as an hour."""


def _prices(data: MarketData) -> np.ndarray:
    """Per event: the trade price, the ticker's mid (else its last price), the bar's close."""
    value, kind = data.events.value, data.events.kind
    mid = (value(1) + value(2)) / 2
    out = np.full(len(kind), np.nan)
    out[kind == TRADE] = value(0)[kind == TRADE]
    tickers = kind == TICKER
    out[tickers] = np.where(np.isnan(mid[tickers]), value(0)[tickers], mid[tickers])
    out[kind == KLINE] = value(3)[kind == KLINE]
    return out


def plot_market_data(data: MarketData, *, figsize: tuple[float, float] = (10.0, 5.0)) -> Figure:
    """Price (top; each symbol a line, gaps shaded) and events per minute (bottom); the Figure."""
    from matplotlib.figure import Figure

    description = describe_market_data(data)
    figure = Figure(figsize=figsize)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    events = data.events
    prices = _prices(data)
    for code in np.unique(events.symbol) if len(events) else []:
        rows = np.flatnonzero(events.symbol == code)
        rows = rows[:: max(1, len(rows) // MAX_POINTS)]
        top.plot(
            events.ts[rows].astype("datetime64[ns]"), prices[rows], linewidth=0.8, label=events.symbols[code] or "-"
        )
    for gap in description.gaps:
        top.axvspan(gap.start.tz_convert(None), gap.end.tz_convert(None), color="tab:red", alpha=0.15)
    if len(np.unique(events.symbol)) > 1:
        top.legend(fontsize=8)
    top.set_ylabel("price")
    top.set_title(f"{description.source}: {description.format}, {description.events:,} events, "
                  f"{description.gap_count} gap(s) shaded", fontsize=9)  # fmt: skip
    if len(events):
        minutes = (events.ts // 60_000_000_000).astype(np.int64)
        start, counts = minutes[0], np.bincount(minutes - minutes[0])
        stamps = ((start + np.arange(len(counts))) * 60_000_000_000).astype("datetime64[ns]")
        bottom.fill_between(stamps, counts, step="post", color="tab:blue", alpha=0.5)
    bottom.set_ylabel("events / min")
    bottom.set_xlabel("time (UTC)")
    figure.autofmt_xdate()
    return figure
