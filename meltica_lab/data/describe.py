"""What was read, shown before anything is run on it: format, event kinds, rows, first and last
time (UTC), symbols, buy/sell counts, gaps, dropped rows, and the files with their sha256."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.data.events import BUY, KIND_NAMES, KLINE, SELL, TRADE
from meltica_lab.data.model import BadRow, MarketData, SourceFile

MIN_GAP_NS = 60 * 10**9
"""A pause shorter than a minute is never reported as a gap."""
GAP_FACTOR = 100
"""A pause is a gap when it lasts this many times the data's median step (and at least a minute)."""
BAR_GAP_FACTOR = 1.5
"""Bars come at a fixed step: one missing bar is a gap."""
SHOWN_GAPS = 5


@dataclass(frozen=True)
class Gap:
    """A pause in the data from ``start`` to ``end`` (UTC): the times of the events either side."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def duration(self) -> pd.Timedelta:
        """How long nothing happened."""
        return self.end - self.start


@dataclass(frozen=True)
class DataDescription:
    """A summary of loaded market data; ``str()`` is a plain-text report, in Jupyter a table.

    ``kinds`` counts events per kind (``Trade``, ``Ticker``, ``KlineSummary``); ``buys``/``sells``
    count trades by aggressor side; ``gaps`` are the longest pauses longer than ``gap_threshold``
    (``gap_count`` of them in all; for bars one missing bar, else 100 median steps and at least a
    minute); ``dropped`` are the bad rows left out (``drop_bad_rows``) and
    ``duplicates`` the rows of overlapping files dropped as identical.
    """

    source: str
    format: str
    timestamp_unit: str
    sha256: str
    rows: int
    events: int
    kinds: dict[str, int]
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    symbols: tuple[str, ...]
    buys: int
    sells: int
    gaps: tuple[Gap, ...]
    gap_count: int
    gap_threshold: pd.Timedelta
    dropped: tuple[BadRow, ...]
    duplicates: int
    files: tuple[SourceFile, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601 text)."""

        def when(t: pd.Timestamp | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "source": self.source,
            "format": self.format,
            "timestamp_unit": self.timestamp_unit,
            "sha256": self.sha256,
            "rows": self.rows,
            "events": self.events,
            "kinds": dict(self.kinds),
            "first": when(self.first),
            "last": when(self.last),
            "symbols": list(self.symbols),
            "buys": self.buys,
            "sells": self.sells,
            "gaps": [
                {"start": when(g.start), "end": when(g.end), "seconds": g.duration.total_seconds()} for g in self.gaps
            ],
            "gap_count": self.gap_count,
            "gap_threshold_seconds": self.gap_threshold.total_seconds(),
            "dropped": [
                {"row": b.row, "line": b.line, "column": b.column, "reason": b.reason, "file": b.file}
                for b in self.dropped
            ],
            "duplicates": self.duplicates,
            "files": [
                {
                    "name": f.name,
                    "sha256": f.sha256,
                    "format": f.format,
                    "rows": f.rows,
                    "timestamp_unit": f.timestamp_unit,
                }
                for f in self.files
            ],
        }

    def items(self) -> list[tuple[str, str]]:
        """``(label, text)`` pairs in the order they are shown."""
        kinds = ", ".join(f"{n:,} {k}" for k, n in self.kinds.items() if n) or "none"
        span = (
            f"{self.first} to {self.last} ({self.last - self.first})"
            if self.first is not None and self.last is not None
            else "no events"
        )
        out = [
            ("Source", self.source),
            ("Format", f"{self.format} (times in {self.timestamp_unit})"),
            ("Rows", f"{self.rows:,} read, {len(self.dropped):,} dropped, {self.duplicates:,} duplicates"),
            ("Events", f"{self.events:,}: {kinds}"),
            ("Time (UTC)", span),
            ("Symbols", ", ".join(s or "(none)" for s in self.symbols) or "none"),
        ]
        if self.kinds.get(KIND_NAMES[TRADE]):
            out.append(("Sides", f"{self.buys:,} buy, {self.sells:,} sell"))
        gaps = f"{self.gap_count:,} longer than {self.gap_threshold}"
        if self.gaps:
            gaps += ": " + "; ".join(f"{g.start} to {g.end} ({g.duration})" for g in self.gaps)
        out.append(("Gaps", gaps))
        for bad in self.dropped[:3]:
            out.append(("Dropped", bad.describe(self.source)))
        for f in self.files:
            out.append(("File", f"{f.name} {f.sha256} ({f.rows:,} rows, {f.format}, {f.timestamp_unit})"))
        if not self.files:
            out.append(("sha256", self.sha256))
        return out

    def __str__(self) -> str:
        width = max(len(label) for label, _ in self.items())
        return "\n".join(f"{label:<{width}}  {text}" for label, text in self.items())

    def _repr_html_(self) -> str:
        import html  # only a notebook draws this, and a notebook has html imported already

        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th><td style='text-align:left'>"
            f"{html.escape(text)}</td></tr>"
            for label, text in self.items()
        )
        return f"<div><p><b>Market data</b></p><table>{rows}</table></div>"


def _gaps(ts: np.ndarray, bar_ns: int) -> tuple[tuple[Gap, ...], int, int]:
    """Pauses longer than the threshold: 1.5 bars for bars of length ``bar_ns`` (0: not bars)."""
    if len(ts) < 2:
        return (), 0, MIN_GAP_NS
    steps = np.diff(ts)
    positive = steps[steps > 0]
    median = int(np.median(positive)) if len(positive) else 0
    threshold = int(BAR_GAP_FACTOR * bar_ns) if bar_ns else max(MIN_GAP_NS, GAP_FACTOR * median)
    where = np.flatnonzero(steps > threshold)
    longest = where[np.argsort(-steps[where], kind="stable")[:SHOWN_GAPS]]
    gaps = tuple(
        Gap(pd.Timestamp(int(ts[k]), tz="UTC"), pd.Timestamp(int(ts[k + 1]), tz="UTC")) for k in sorted(longest)
    )
    return gaps, len(where), threshold


def describe_market_data(data: MarketData) -> DataDescription:
    """The description of data already loaded."""
    events = data.events
    n = len(events)
    counts = np.bincount(events.kind.astype(np.int64), minlength=len(KIND_NAMES)) if n else np.zeros(3, int)
    trades = events.kind == TRADE
    used = np.unique(events.symbol) if n else np.array([], dtype=np.int32)
    bar_ns = 0
    if n and (events.kind == KLINE).all():
        lengths = events.value(5)[events.value(5) > 0]  # the bar length in ms
        bar_ns = int(np.median(lengths) * 1_000_000) if len(lengths) else 0
    gaps, gap_count, threshold = _gaps(events.ts, bar_ns)
    return DataDescription(
        source=data.source,
        format=data.format,
        timestamp_unit=data.timestamp_unit,
        sha256=data.sha256,
        rows=data.rows,
        events=n,
        kinds={name: int(counts[k]) for k, name in enumerate(KIND_NAMES)},
        first=pd.Timestamp(int(events.ts[0]), tz="UTC") if n else None,
        last=pd.Timestamp(int(events.ts[-1]), tz="UTC") if n else None,
        symbols=tuple(events.symbols[int(k)] for k in used),
        buys=int((trades & (events.side == BUY)).sum()),
        sells=int((trades & (events.side == SELL)).sum()),
        gaps=gaps,
        gap_count=gap_count,
        gap_threshold=pd.Timedelta(threshold, unit="ns"),
        dropped=data.dropped,
        duplicates=data.duplicates,
        files=data.files,
    )
