"""The values market data is read into: what was read (:class:`MarketData`), from where
(:class:`SourceFile`), and the rows left out (:class:`BadRow`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
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


class Digest:
    """The sha256 of loaded data: known, or being computed on a background thread.

    Hashing a DataFrame's events (72 MB for 1M trades) takes about as long as a tenth of their
    backtest; hashlib releases the GIL, so a digest started as the data is read is done by the time
    the run that follows records it. Read it with :attr:`value` (which waits, and raises what the
    computation raised).
    """

    __slots__ = ("_future",)

    def __init__(self, value: str) -> None:
        self._future: Future[str] = Future()
        self._future.set_result(value)

    @classmethod
    def computing(cls, compute: Callable[[], str]) -> Digest:
        """The digest ``compute`` returns, computed on a daemon thread started now."""
        digest = cls.__new__(cls)
        digest._future = Future()

        def run() -> None:
            try:
                digest._future.set_result(compute())
            except BaseException as exc:  # handed to whoever reads the value
                digest._future.set_exception(exc)

        threading.Thread(target=run, name="meltica-digest", daemon=True).start()
        return digest

    @property
    def value(self) -> str:
        """The hex digest (waits for it while it is being computed)."""
        return self._future.result()

    def __repr__(self) -> str:
        return f"Digest({self.value!r})"


@dataclass(frozen=True, eq=False)
class MarketData:
    """Loaded market data: the ``events``, the :class:`Digest` of the source (:attr:`sha256`: the
    file's bytes; for a DataFrame the normalised columns, computed in the background; for a
    dataset of several files the hash of their hashes in order), the data ``rows`` read, the rows
    ``dropped``, the ``timestamp_unit`` found (``s``, ``ms``, ``us``, ``ns``, ``iso`` or
    ``datetime``), the detected ``format`` and the ``files`` read (empty for a DataFrame);
    ``duplicates`` counts the rows of overlapping files dropped as identical to rows already read."""

    events: MarketEvents
    digest: Digest
    rows: int
    dropped: tuple[BadRow, ...]
    source: str
    timestamp_unit: str
    format: str = "meltica"
    files: tuple[SourceFile, ...] = ()
    duplicates: int = 0

    @property
    def sha256(self) -> str:
        """The sha256 of the source (see the class description)."""
        return self.digest.value

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
