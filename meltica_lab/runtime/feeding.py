"""Market events for running instances: any accepted input turned into columns, then each instance's share.

Instances see exactly what a backtest would: the same :class:`MarketEvents` columns through the same
V8 host. An instance receives the events whose provider is one of its providers and whose symbol
(compared upper-case, as the gateway normalises subscriptions) is one of its symbols.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.backtest.data import MarketData, load_market_data
from meltica_lab.backtest.events import MarketEvents
from meltica_lab.errors import DataError

EventsInput = pd.DataFrame | MarketEvents | MarketData | Iterable[Mapping[str, Any]]


def market_events(events: EventsInput, *, provider: str) -> MarketEvents:
    """Columns from a DataFrame, loaded :class:`MarketData`, :class:`MarketEvents`, or an iterable of
    event mappings (one row each, the DataFrame columns of :mod:`meltica_lab.backtest.data`).
    Rows without a ``provider`` column come from ``provider``; bad rows raise :class:`DataError`."""
    if isinstance(events, MarketEvents):
        return events
    if isinstance(events, MarketData):
        return events.events
    if not isinstance(events, pd.DataFrame):
        if isinstance(events, str | bytes) or not isinstance(events, Iterable):
            raise DataError(
                f"events: expected a DataFrame, MarketEvents or an iterable of event mappings, "
                f"got {type(events).__name__}"
            )
        rows = list(events)
        for position, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise DataError(f"events[{position}]: expected a mapping, got {type(row).__name__}", row=position + 1)
        events = pd.DataFrame(rows)
    if events.empty:
        return load_market_data(pd.DataFrame({"timestamp": [], "price": [], "quantity": []})).events
    return load_market_data(events, default_provider=provider).events


def share_of(events: MarketEvents, providers: tuple[str, ...], symbols: tuple[str, ...]) -> MarketEvents:
    """The events an instance subscribed to (``symbols`` are upper-case, as specs store them)."""
    provider_codes = [code for code, name in enumerate(events.providers) if name in providers]
    symbol_codes = [code for code, name in enumerate(events.symbols) if name.upper() in symbols]
    keep = np.isin(events.provider, provider_codes) & np.isin(events.symbol, symbol_codes)
    return events if keep.all() else events.take(keep)
