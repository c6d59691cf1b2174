"""Market data for backtests: the names of :mod:`meltica_lab.data`, kept here where they were first
published (``from meltica_lab.backtest.data import load_market_data`` keeps working)."""

from __future__ import annotations

from meltica_lab.data import BadRow, DataSource, MarketData, load_market_data

__all__ = ["BadRow", "DataSource", "MarketData", "load_market_data"]
