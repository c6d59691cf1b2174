"""The values market data is read into: what was read (:class:`MarketData`), from where
(:class:`SourceFile`), and the rows left out (:class:`BadRow`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from meltica_lab.data.events import MarketEvents

DataSource = pd.DataFrame | str | Path
"""One source of market data: a DataFrame, or the path of a CSV (plain, ``.gz``, ``.zip``) or
Parquet file."""


@dataclass(frozen=True)
class BadRow:
    """A data row left out: 1-based data ``row``, file ``line`` (0 for a DataFrame), ``column``, ``reason``."""

    row: int
    line: int
    column: str
    reason: str

    def describe(self, source: str) -> str:
        """``data.csv: row 3 (line 4), column price: not a number 'abc'``."""
        where = f"row {self.row} (line {self.line})" if self.line else f"row {self.row}"
        return f"{source}: {where}, column {self.column}: {self.reason}"


@dataclass(frozen=True)
class SourceFile:
    """One file a dataset was read from: its ``name`` (as given), ``sha256`` of its bytes, the
    ``format`` detected, the data ``rows`` in it, and the ``member`` read from a zip archive."""

    name: str
    sha256: str
    format: str
    rows: int
    member: str | None = None


@dataclass(frozen=True, eq=False)
class MarketData:
    """Loaded market data: the ``events``, the ``sha256`` of the source (the file's bytes; for a
    DataFrame the normalised columns; for a dataset of several files the hash of their hashes in
    order), the data ``rows`` read, the rows ``dropped``, the ``timestamp_unit`` found (``s``,
    ``ms``, ``us``, ``ns``, ``iso`` or ``datetime``), the detected ``format`` and the ``files``
    read (empty for a DataFrame)."""

    events: MarketEvents
    sha256: str
    rows: int
    dropped: tuple[BadRow, ...]
    source: str
    timestamp_unit: str
    format: str = "meltica"
    files: tuple[SourceFile, ...] = ()
    duplicates: int = 0

    def provenance(self) -> dict[str, object]:
        """What a backtest records about its data: format, unit, and each file's name and sha256."""
        return {
            "data_format": self.format,
            "data_files": [{"name": f.name, "sha256": f.sha256, "rows": f.rows} for f in self.files],
        }
