"""The values market data is read into: what was read (:class:`MarketData`), from where
(:class:`SourceFile`), and the rows left out (:class:`BadRow`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from meltica_lab.data.events import MarketEvents

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DataSource = pd.DataFrame | str | Path
"""One source of market data: a DataFrame, or the path of a CSV (plain, ``.gz``, ``.zip``) or
Parquet file."""


@dataclass(frozen=True)
class BadRow:
    """A data row left out: 1-based data ``row``, file ``line`` (0 for a DataFrame), ``column``,
    ``reason``, and in a dataset of several files the ``file`` it is in."""

    row: int
    line: int
    column: str
    reason: str
    file: str = ""

    def describe(self, source: str) -> str:
        """``data.csv: row 3 (line 4), column price: not a number 'abc'``."""
        where = f"row {self.row} (line {self.line})" if self.line else f"row {self.row}"
        return f"{self.file or source}: {where}, column {self.column}: {self.reason}"


@dataclass(frozen=True)
class SourceFile:
    """One file a dataset was read from: its ``name`` (as given), ``sha256`` of its bytes, the
    ``format`` detected, the data ``rows`` in it, the ``member`` read from a zip archive, and the
    ``timestamp_unit`` its times were in."""

    name: str
    sha256: str
    format: str
    rows: int
    member: str | None = None
    timestamp_unit: str = ""


@dataclass(frozen=True, eq=False)
class MarketData:
    """Loaded market data: the ``events``, the ``sha256`` of the source (the file's bytes; for a
    DataFrame the normalised columns; for a dataset of several files the hash of their hashes in
    order), the data ``rows`` read, the rows ``dropped``, the ``timestamp_unit`` found (``s``,
    ``ms``, ``us``, ``ns``, ``iso`` or ``datetime``), the detected ``format`` and the ``files``
    read (empty for a DataFrame); ``duplicates`` counts the rows of overlapping files dropped as
    identical to rows already read."""

    events: MarketEvents
    sha256: str
    rows: int
    dropped: tuple[BadRow, ...]
    source: str
    timestamp_unit: str
    format: str = "meltica"
    files: tuple[SourceFile, ...] = ()
    duplicates: int = 0

    def plot(self, *, figsize: tuple[float, float] = (10.0, 5.0)) -> Figure:
        """Price over time with the gaps shaded, and events per minute (see
        :func:`meltica_lab.data.plot.plot_market_data`); returns the Figure."""
        from meltica_lab.data.plot import plot_market_data

        return plot_market_data(self, figsize=figsize)

    def provenance(self) -> dict[str, object]:
        """What a backtest records about its data: format, unit, and each file's name and sha256."""
        return {
            "data_format": self.format,
            "data_files": [
                {"name": f.name, "sha256": f.sha256, "rows": f.rows, "timestamp_unit": f.timestamp_unit}
                for f in self.files
            ],
        }
