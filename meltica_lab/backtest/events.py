"""Market events as columns; defined with the market data they are read from
(:mod:`meltica_lab.data.events`, the layer beneath the backtests), importable here as before."""

from __future__ import annotations

from meltica_lab.data.events import BUY, KIND_NAMES, KLINE, SELL, TICKER, TRADE, VALUE_COLUMNS, MarketEvents

__all__ = ["BUY", "KIND_NAMES", "KLINE", "SELL", "TICKER", "TRADE", "VALUE_COLUMNS", "MarketEvents"]
