"""Market data in: the files users download (Binance, OKX, Tardis.dev, the gateway's own CSV),
Parquet and DataFrames, detected from the data itself and read right or refused.

- :func:`load_market_data`: one DataFrame or file (CSV, ``.gz``, ``.zip``, Parquet), or a list or
  glob of files read as one dataset (:mod:`~meltica_lab.data.dataset`), into :class:`MarketData`;
- :func:`describe_data`: what a source holds (:class:`DataDescription`), before anything runs on it;
- :data:`FORMATS` and :data:`FORMAT_NAMES`: the formats detection chooses from
  (:mod:`~meltica_lab.data.formats`), the names ``format=`` takes;
- :func:`fetch_binance` / :class:`BinanceFetcher`: Binance's daily dumps, checksum-verified;
- :class:`DataCache`: the conversion cache (a dump parsed once, memory-mapped after).

Every refusal is a :class:`~meltica_lab.errors.DataError` in one printable line naming the file
(and row, line and column where there is one) and, where the data could mean two things, how to
say which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from meltica_lab.data.cache import DataCache
from meltica_lab.data.dataset import expand, read_dataset
from meltica_lab.data.describe import DataDescription, Gap, describe_market_data
from meltica_lab.data.fetch import BinanceFetcher, fetch_binance
from meltica_lab.data.formats import FORMAT_NAMES, FORMATS, Format
from meltica_lab.data.model import BadRow, DataSource, Digest, MarketData, SourceFile
from meltica_lab.data.read import ReadOptions, read_file, read_frame


def load_market_data(
    data: DataSource | Sequence[str | Path],
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    time_unit: str | None = None,
    interval: str | None = None,
    drop_bad_rows: bool = False,
    default_symbol: str = "",
    default_provider: str = "backtest",
    cache: DataCache | bool | None = None,
    progress: bool = True,
    copy: bool = True,
) -> MarketData:
    """Read market data from a DataFrame, a CSV (plain, ``.gz``, ``.zip``) or Parquet file, or a
    dataset of many files (a list of paths, or a glob such as ``"data/BTCUSDT-trades-*.zip"``: one
    dataset in time order, see :mod:`meltica_lab.data.dataset`).

    The format is detected from the data (see :data:`FORMATS`); ``format=`` says it instead,
    ``columns={"yours": "timestamp", ...}`` names header columns, ``time_unit=`` (``s``, ``ms``,
    ``us``, ``ns``) says the unit of epoch times, ``interval=`` (``1m``, ``1h``, ...) the bar length
    of bars that carry only their open time. A bad row is a :class:`~meltica_lab.errors.DataError`
    naming the file, row, line and column, unless ``drop_bad_rows`` is set: then it is left out
    and listed in :attr:`MarketData.dropped`. Rows without ``symbol`` get ``default_symbol`` (else,
    for a Binance file, the symbol its name starts with), rows without ``provider``
    ``default_provider``.

    Files of 1 MiB or more go through the conversion cache (:class:`DataCache`): parsed once, then
    memory-mapped by their sha256. ``cache`` is the cache to use (default: the kit's cache
    directory, ``$MELTICA_LAB_CACHE_DIR/columns``), or False to parse every time. A read that
    takes more than a second shows a progress bar unless ``progress`` is false.

    With ``copy=False`` the events of a DataFrame share the memory of its float64 columns (price,
    quantity, ... without missing values) instead of copying them: the MarketData then changes if
    the frame is changed in place, so it is for a read used at once (``run_backtest`` reads a
    DataFrame so, and is done with it before it returns).
    """
    options = ReadOptions(
        format=format,
        columns=columns,
        time_unit=time_unit,
        interval=interval,
        drop_bad_rows=drop_bad_rows,
        default_symbol=default_symbol,
        default_provider=default_provider,
        progress=progress,
        copy=copy,
    )
    if isinstance(data, pd.DataFrame):
        return read_frame(data, options)
    chosen = DataCache.default() if cache is None or cache is True else cache or None
    files = expand(data)
    if len(files) == 1 and isinstance(data, str | Path) and files[0] == str(data):
        return read_file(files[0], options, chosen)
    return read_dataset(files, options, chosen)


def describe_data(data: MarketData | DataSource | Sequence[str | Path], **options: Any) -> DataDescription:
    """What ``data`` holds (see :class:`DataDescription`): loaded :class:`MarketData` as it is,
    anything else read as :func:`load_market_data` reads it with ``options``."""
    market = data if isinstance(data, MarketData) else load_market_data(data, **options)
    return describe_market_data(market)


__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "BadRow",
    "BinanceFetcher",
    "DataCache",
    "DataDescription",
    "DataSource",
    "Digest",
    "Format",
    "Gap",
    "MarketData",
    "SourceFile",
    "describe_data",
    "fetch_binance",
    "load_market_data",
]
