"""Datasets of many files: a list or glob of daily dumps read as one dataset, in time order.

Files are put in the order of their first event (not of their names). Where two files overlap in
time, the overlapping rows must be identical (a day downloaded twice, a dump that repeats the last
rows of the previous one): they are dropped from the later file and counted; rows that differ are
an error naming both files. Files of different formats do not make one dataset.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from meltica_lab.data.cache import DataCache
from meltica_lab.data.events import VALUE_COLUMNS, MarketEvents, concat_events
from meltica_lab.data.model import BadRow, Digest, MarketData
from meltica_lab.data.read import ReadOptions, read_file
from meltica_lab.errors import DataError, UsageError
from meltica_lab.hashing import content_hash
from meltica_lab.progress import progress_bar

_GLOB = set("*?[")


def expand(paths: str | Path | Sequence[str | Path]) -> list[str]:
    """The files a path, a glob or a list of them name, each once, in the order given (a glob's
    matches sorted)."""
    if not isinstance(paths, str | Path | list | tuple):
        raise UsageError(
            f"market data: expected a DataFrame, a path, a glob or a list of paths, got {type(paths).__name__}",
            field="data",
        )
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[str] = []
    for item in items:
        if not isinstance(item, str | Path):
            raise UsageError(
                f"market data: a list of files holds paths, not {type(item).__name__} "
                "(several DataFrames are one with pandas.concat)",
                field="data",
            )
        text = str(item)
        if _GLOB & set(text) and not Path(text).exists():
            matches = sorted(p for p in glob.glob(text) if not Path(p).is_dir())
            if not matches:
                raise DataError(f"{text}: no file matches", path=text)
            files.extend(matches)
        else:
            files.append(text)
    if not files:
        raise DataError("market data: an empty list of files")
    return list(dict.fromkeys(files))


def _when(ns: int) -> str:
    return str(pd.Timestamp(ns, tz="UTC"))


def _same(a: MarketEvents, b: MarketEvents) -> bool:
    if len(a) != len(b):
        return False
    names = [a.symbols[i] for i in a.symbol] == [b.symbols[i] for i in b.symbol]
    return (
        names
        and np.array_equal(a.ts, b.ts)
        and np.array_equal(a.kind, b.kind)
        and np.array_equal(a.side, b.side)
        and all(np.array_equal(a.value(k), b.value(k), equal_nan=True) for k in range(VALUE_COLUMNS))
    )


def read_dataset(paths: Sequence[str], options: ReadOptions, cache: DataCache | None = None) -> MarketData:
    """The files as one dataset (see the module docstring), each read through ``cache``."""
    parts = [
        read_file(path, options, cache) for path in progress_bar(paths, desc="market data", unit="file", delay=2.0)
    ]
    formats = {p.format for p in parts}
    if len(formats) > 1:
        first = parts[0]
        other = next(p for p in parts if p.format != first.format)
        raise DataError(
            f"{other.source}: is {other.format} data, but {first.source} is {first.format}; "
            "a dataset is one format: read them separately",
            path=other.source,
            field="format",
        )
    order = sorted((p for p in parts if len(p.events)), key=lambda p: (p.events.start_ns, int(p.events.ts[-1]))) + [
        p for p in parts if not len(p.events)
    ]
    kept: list[MarketEvents] = []
    duplicates = 0
    last_ns: int | None = None
    last_source = ""
    for part in order:
        events = part.events
        if last_ns is not None and len(events) and events.start_ns <= last_ns:
            overlap = events.ts <= last_ns
            previous = concat_events(kept)
            earlier = previous.take(previous.ts >= events.start_ns)
            # rows at the boundary instant may be shared or not: compare what both files hold there
            mine = events.take(overlap)
            if not _same(earlier, mine):
                raise DataError(
                    f"{part.source}: overlaps {last_source} from {_when(events.start_ns)} to {_when(last_ns)} "
                    "with rows that differ; a dataset holds each time once: leave one of the files out",
                    path=part.source,
                )
            duplicates += int(overlap.sum())
            events = events.take(~overlap)
        if len(events):
            kept.append(events)
            last_ns, last_source = int(events.ts[-1]), part.source
    events = concat_events(kept) if kept else parts[0].events.take(slice(0, 0))
    dropped = tuple(
        BadRow(bad.row, bad.line, bad.column, bad.reason, file=bad.file or part.source)
        for part in parts
        for bad in part.dropped
    )
    files = tuple(f for part in order for f in part.files)
    units = list(dict.fromkeys(p.timestamp_unit for p in order))
    digest = content_hash("\n".join(f.sha256 for f in files).encode())
    return MarketData(
        events=events,
        digest=Digest(digest),
        rows=sum(p.rows for p in parts),
        dropped=dropped,
        source=f"{len(files)} files: {order[0].source} … {order[-1].source}",
        timestamp_unit="+".join(units),
        format=parts[0].format,
        files=files,
        duplicates=duplicates,
    )
