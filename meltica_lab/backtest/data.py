"""Market data in: a DataFrame, a CSV file or a Parquet file, turned into :class:`MarketEvents`.

CSV files are header-driven (compat §8 W11). Column names are matched case-insensitively:

* ``timestamp`` (required): integer nanoseconds or milliseconds since the epoch, decided per file by
  magnitude (every value below 10^14 means milliseconds, which covers dates up to the year 5138;
  otherwise nanoseconds, which cover 1970-01-02 onwards), or ISO-8601 text (an offset is honoured,
  a time without one is UTC). For bars, the timestamp is the close time.
* trades: ``price`` and ``quantity``; optional ``side`` (buy/sell, default Buy), ``symbol``,
  ``provider``;
* quotes (``bid`` and ``ask`` present) become Ticker events; optional ``price`` (last price),
  ``bid_size``, ``ask_size``;
* bars (``open``, ``high``, ``low``, ``close`` present) become KlineSummary events; optional
  ``volume``, ``open_time`` (same forms as ``timestamp``).

The reference's positional format (no header, or any first line that is not a header: ns timestamp,
price, quantity[, symbol]) is read when the first field of the first line is an integer. A row is
bad when a required value is missing, not a number or infinite, a price is not > 0, a quantity or
size is negative (a trade quantity must be > 0), a side is not buy/sell, or its timestamp is
unparseable, before 1970, after 2262-04-11 (the last time int64 nanoseconds hold), or earlier than a
previous row's. Bad rows raise :class:`DataError` naming the 1-based data row, the file line and the
column, unless ``drop_bad_rows`` is set; then they are left out and listed in
:attr:`MarketData.dropped`. A column named twice (case-insensitively), or a file that cannot be read,
is a :class:`DataError` too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from meltica_lab.backtest.events import BUY, KLINE, SELL, TICKER, TRADE, VALUE_COLUMNS, MarketEvents
from meltica_lab.errors import DataError
from meltica_lab.hashing import hash_text

_MS_LIMIT = 10**14
_NS_PER_MS = 1_000_000
_INT64_MAX = np.iinfo(np.int64).max
_TOO_LATE = "after 2262-04-11 (int64 nanoseconds cannot hold it)"
_INTEGER = re.compile(r"^\s*-?\d+\s*$")
_SIDES = {"buy": BUY, "b": BUY, "bid": BUY, "sell": SELL, "s": SELL, "ask": SELL}
_POSITIONAL = ("timestamp", "price", "quantity", "symbol")
_TEXT_COLUMNS = ("symbol", "side", "provider")
_KIND_COLUMNS = {
    TRADE: ("price", "quantity", None, None, None),
    TICKER: ("price", "bid", "ask", "bid_size", "ask_size"),
    KLINE: ("open", "high", "low", "close", "volume"),
}
_REQUIRED = {TRADE: ("price", "quantity"), TICKER: ("bid", "ask"), KLINE: ("open", "high", "low", "close")}
_POSITIVE = {"price", "bid", "ask", "open", "high", "low", "close"}

DataSource = pd.DataFrame | str | Path


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


@dataclass(frozen=True, eq=False)
class MarketData:
    """Loaded market data: the ``events``, the ``sha256`` of the source (the file's bytes, or for a
    DataFrame the normalised columns), the data ``rows`` read, the rows ``dropped`` and the
    ``timestamp_unit`` found (``ns``, ``ms``, ``iso`` or ``datetime``)."""

    events: MarketEvents
    sha256: str
    rows: int
    dropped: tuple[BadRow, ...]
    source: str
    timestamp_unit: str


class _Problems:
    """Bad-row flags per column, first problem per row wins (columns are checked in file order)."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.found: list[tuple[np.ndarray, str, str]] = []

    def flag(self, mask: np.ndarray, column: str, reason: str) -> None:
        mask = mask & ~self.bad
        if mask.any():
            self.bad |= mask
            self.found.append((np.flatnonzero(mask), column, reason))


def _first_line(path: Path) -> str:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line.strip()
    raise DataError(f"{path}: no data (the file is empty)", path=str(path))


def _read_csv(path: Path) -> tuple[pa.Table, bool]:
    """The file as an Arrow table with lower-case column names, and whether it had a header."""
    first = _first_line(path)
    fields = [f.strip().strip('"').lower() for f in first.split(",")]
    headerless = bool(_INTEGER.match(fields[0])) and "timestamp" not in fields
    if headerless:
        names = [*_POSITIONAL[: min(len(fields), 4)], *(f"extra_{i}" for i in range(4, len(fields)))]
        read = pacsv.ReadOptions(column_names=names)
    else:
        names = fields
        read = pacsv.ReadOptions()
    numeric = {n: pa.float64() for n in names if n not in (*_TEXT_COLUMNS, "timestamp", "open_time")}
    text = {n: pa.string() for n in names if n in _TEXT_COLUMNS}
    try:
        table = pacsv.read_csv(
            path, read_options=read, convert_options=pacsv.ConvertOptions(column_types=numeric | text)
        )
    except pa.ArrowInvalid:
        # a value that is not a number somewhere: read everything as text and find the rows
        try:
            table = pacsv.read_csv(
                path,
                read_options=read,
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
            )
        except pa.ArrowInvalid as exc:
            raise DataError(f"{path}: malformed CSV: {exc}", path=str(path)) from None
    return table.rename_columns([n.strip().lower() for n in table.column_names]), not headerless


def _line_numbers(path: Path, rows: Sequence[int], header: bool) -> dict[int, int]:
    """File line numbers (1-based) of data rows (1-based); blank lines are skipped as the reader does."""
    wanted = set(rows)
    lines: dict[int, int] = {}
    row = -1 if header else 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row += 1
            if row in wanted:
                lines[row] = number
                if len(lines) == len(wanted):
                    break
    return lines


def _unique_columns(names: Sequence[str], source: str) -> None:
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    twice = [name for name, count in seen.items() if count > 1]
    if twice:
        raise DataError(
            f"{source}: column {twice[0]} appears {seen[twice[0]]} times (names are matched case-insensitively); "
            "expected each column once",
            path=source,
            field=twice[0],
        )


def _from_frame(frame: pd.DataFrame) -> pa.Table:
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    _unique_columns(list(frame.columns), "<DataFrame>")
    if "timestamp" not in frame.columns and isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.rename_axis("timestamp").reset_index()
    return pa.Table.from_pandas(frame, preserve_index=False)


def _numbers(column: pa.ChunkedArray, name: str, problems: _Problems) -> np.ndarray:
    """float64 values, NaN where missing; text that is not a number, and infinities, are flagged."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type) or pa.types.is_decimal(column.type):
        # unsafe: an integer beyond 2^53 becomes the nearest float, as any number in a CSV would
        values = column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    elif pa.types.is_null(column.type):
        return np.full(len(column), np.nan)
    else:
        text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        blank = text.isna().to_numpy() | (text.astype(str).str.strip() == "").to_numpy()
        problems.flag(np.isnan(values) & ~blank, name, "not a number")
        values[blank] = np.nan
    problems.flag(np.isinf(values), name, "not a finite number")
    return values


def _integer_times(values: np.ndarray) -> tuple[np.ndarray, str, np.ndarray]:
    """int64 ns from integer (or whole float) epoch values in ms or ns, the unit found, and which
    values lie past 2262 (read as 0)."""
    unit = "ms" if len(values) and np.nanmax(np.abs(values)) < _MS_LIMIT else "ns"
    scale = _NS_PER_MS if unit == "ms" else 1
    # a float compare: the largest int64 is not exact as a float, but nothing near it is a real time
    late = np.abs(values.astype(np.float64)) * scale >= _INT64_MAX
    kept = np.where(late, 0, values)
    if kept.dtype.kind == "f":
        return np.round(kept * scale).astype(np.int64), unit, late
    return kept.astype(np.int64) * scale, unit, late


def _text_integers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer text as int64, and which numbers are too long for an int64 (read as 0)."""
    numbers = [int(t) for t in text]
    fits = np.array([-_INT64_MAX <= v <= _INT64_MAX for v in numbers], dtype=bool)
    return np.array([v if ok else 0 for v, ok in zip(numbers, fits, strict=True)], dtype=np.int64), ~fits


def _times(column: pa.ChunkedArray, name: str, problems: _Problems) -> tuple[np.ndarray, str]:
    """int64 ns since the epoch (UTC) and the form found; unparseable values flagged."""
    n = len(column)
    kind = column.type
    if pa.types.is_date(kind):
        # days or ms since the epoch; as ms every date Arrow holds fits an int64
        column, kind = column.cast(pa.timestamp("ms")), pa.timestamp("ms")
    if pa.types.is_timestamp(kind):
        # int64 in the column's own unit (UTC for zoned columns, wall time taken as UTC otherwise),
        # scaled to ns here: Arrow's cast to ns refuses the whole column if one value is past 2262
        valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
        raw = column.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[kind.unit]
        late = np.abs(raw) > _INT64_MAX // scale
        problems.flag(~valid, name, "missing timestamp")
        problems.flag(late, name, _TOO_LATE)
        return np.where(late, 0, raw) * scale, "datetime"
    if pa.types.is_integer(kind):
        valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
        raw = column.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        problems.flag(~valid, name, "missing timestamp")
        ns, unit, late = _integer_times(raw)
        problems.flag(late, name, _TOO_LATE)
        return ns, unit
    if pa.types.is_floating(kind):
        raw = column.to_numpy(zero_copy_only=False).astype(np.float64)
        problems.flag(~np.isfinite(raw), name, "missing timestamp")
        ns, unit, late = _integer_times(np.where(np.isfinite(raw), raw, 0.0))
        problems.flag(late, name, _TOO_LATE)
        return ns, unit
    text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).astype(str).str.strip()
    digits = text.str.fullmatch(r"-?[0-9]+").to_numpy()
    ns = np.zeros(n, dtype=np.int64)
    unit = "iso"
    if digits.any():
        values, too_long = _text_integers(text[digits])
        ints, unit, late = _integer_times(values)
        ns[digits] = ints
        out_of_range = np.zeros(n, dtype=bool)
        out_of_range[np.flatnonzero(digits)[too_long | late]] = True
        problems.flag(out_of_range, name, _TOO_LATE)
    if (~digits).any():
        parsed = pd.to_datetime(text[~digits], utc=True, format="ISO8601", errors="coerce")
        ok = parsed.notna().to_numpy()
        where = np.flatnonzero(~digits)
        problems.flag(np.isin(np.arange(n), where[~ok]), name, "not a timestamp (integer ns/ms or ISO 8601)")
        stamps = pd.DatetimeIndex(parsed[ok])
        # pandas keeps a coarser unit for times ns cannot hold: before 1677 or past 2262
        late = np.asarray(stamps > pd.Timestamp.max.tz_localize("UTC"), dtype=bool)
        early = np.asarray(stamps < pd.Timestamp.min.tz_localize("UTC"), dtype=bool)
        problems.flag(np.isin(np.arange(n), where[ok][late]), name, _TOO_LATE)
        problems.flag(np.isin(np.arange(n), where[ok][early]), name, "before 1970-01-01")
        fits = ~(late | early)
        ns[where[ok][fits]] = stamps[fits].as_unit("ns").asi8
        unit = "iso"
    return ns, unit


def _codes(column: pa.ChunkedArray | None, n: int, default: str) -> tuple[np.ndarray, tuple[str, ...]]:
    if column is None:
        return np.zeros(n, dtype=np.int32), (default,)
    text = pc.fill_null(pc.utf8_trim_whitespace(column.cast(pa.string())), "")
    encoded = pc.dictionary_encode(text).combine_chunks()
    names = [str(v) if v else default for v in encoded.dictionary.to_pylist()]
    # two spellings of the default ("" and the default itself) must share one code
    unique = tuple(dict.fromkeys(names))
    remap = np.array([unique.index(v) for v in names], dtype=np.int32)
    return remap[encoded.indices.to_numpy(zero_copy_only=False)], unique


def _sides(column: pa.ChunkedArray | None, n: int, problems: _Problems) -> np.ndarray:
    if column is None:
        return np.full(n, BUY, dtype=np.int8)
    # dictionary-encode first: a side column has a handful of distinct spellings
    text = pc.fill_null(pc.utf8_lower(pc.utf8_trim_whitespace(column.cast(pa.string()))), "")
    encoded = pc.dictionary_encode(text).combine_chunks()
    words = encoded.dictionary.to_pylist()
    codes = np.array([_SIDES.get(w, BUY if w == "" else -1) for w in words], dtype=np.int8)
    sides = codes[encoded.indices.to_numpy(zero_copy_only=False)] if len(words) else np.full(n, BUY, dtype=np.int8)
    problems.flag(sides < 0, "side", "expected buy or sell")
    return np.where(sides < 0, BUY, sides).astype(np.int8)


def _kind_of(columns: Sequence[str], source: str) -> int:
    present = set(columns)
    if "timestamp" not in present:
        raise DataError(
            f"{source}: missing column timestamp (found: {', '.join(columns) or 'none'})",
            path=source,
            field="timestamp",
        )
    if {"open", "high", "low", "close"} <= present:
        return KLINE
    if {"bid", "ask"} <= present:
        return TICKER
    missing = [c for c in _REQUIRED[TRADE] if c not in present]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; expected trades (price, quantity), quotes "
            f"(bid, ask) or bars (open, high, low, close) (found: {', '.join(columns)})",
            path=source,
            field=missing[0],
        )
    return TRADE


def _digest(events: MarketEvents) -> str:
    digest = hashlib.sha256()
    for array in (events.ts, events.kind, events.symbol, events.provider, events.side, events.values):
        digest.update(np.ascontiguousarray(array).data)
    digest.update("\x00".join((*events.symbols, "|", *events.providers)).encode())
    return hash_text(digest)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return hash_text(digest)


def load_market_data(
    data: DataSource,
    *,
    drop_bad_rows: bool = False,
    default_symbol: str = "",
    default_provider: str = "backtest",
) -> MarketData:
    """Read market data from a DataFrame or a ``.csv``/``.parquet`` file (see the module docstring).

    Rows without ``symbol`` get ``default_symbol``, rows without ``provider`` ``default_provider``.
    """
    path: Path | None = None
    header = True
    if isinstance(data, pd.DataFrame):
        source = "<DataFrame>"
        table = _from_frame(data)
    elif isinstance(data, str | Path):
        path = Path(data)
        source = str(path)
        if not path.is_file():
            raise DataError(f"{source}: data file not found", path=source)
        if path.suffix.lower() in (".parquet", ".pq"):
            try:
                table = pq.read_table(path)
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{source}: not a readable Parquet file: {exc}", path=source) from None
            table = table.rename_columns([n.strip().lower() for n in table.column_names])
        else:
            table, header = _read_csv(path)
        _unique_columns(table.column_names, source)
    else:
        raise DataError(f"market data: expected a DataFrame or a CSV/Parquet path, got {type(data).__name__}")

    kind = _kind_of(table.column_names, source)
    n = table.num_rows
    problems = _Problems(n)
    ts, unit = _times(table.column("timestamp"), "timestamp", problems)
    values = np.full((VALUE_COLUMNS, n), np.nan)
    for k, name in enumerate(_KIND_COLUMNS[kind]):
        if name is None or name not in table.column_names:
            continue
        column = _numbers(table.column(name), name, problems)
        required = name in _REQUIRED[kind]
        if required:
            problems.flag(np.isnan(column), name, "missing value")
        present = ~np.isnan(column)
        if name in _POSITIVE:
            problems.flag(present & (column <= 0), name, "expected a price > 0")
        elif name == "quantity":
            problems.flag(present & (column <= 0), name, "expected a quantity > 0")
        else:
            problems.flag(present & (column < 0), name, "expected a value >= 0")
        values[k] = column
    if kind == KLINE and "open_time" in table.column_names:
        opened, _ = _times(table.column("open_time"), "open_time", problems)
        values[5] = np.where(opened > 0, (ts - opened) / _NS_PER_MS, 0.0)
    side = _sides(table.column("side") if "side" in table.column_names else None, n, problems)
    problems.flag(ts < 0, "timestamp", "before 1970-01-01")
    earlier = np.zeros(n, dtype=bool)
    if n > 1:
        # compare with the latest time among the rows kept so far
        kept_ts = np.where(problems.bad, np.iinfo(np.int64).min, ts)
        earlier[1:] = ts[1:] < np.maximum.accumulate(kept_ts)[:-1]
    problems.flag(earlier, "timestamp", "earlier than a previous row (timestamps must not go backwards)")

    dropped: tuple[BadRow, ...] = ()
    if problems.found:
        listed = sorted((int(r) + 1, column, reason) for rows, column, reason in problems.found for r in rows)
        shown = listed if drop_bad_rows else listed[:1]
        lines = (
            _line_numbers(path, [r for r, _, _ in shown], header)
            if path is not None and path.suffix.lower() not in (".parquet", ".pq")
            else {}
        )
        dropped = tuple(BadRow(r, lines.get(r, 0), column, reason) for r, column, reason in shown)
        if not drop_bad_rows:
            bad = dropped[0]
            raise DataError(bad.describe(source), path=source if path else None, field=bad.column, row=bad.row)

    symbol, symbols = _codes(table.column("symbol") if "symbol" in table.column_names else None, n, default_symbol)
    provider, providers = _codes(
        table.column("provider") if "provider" in table.column_names else None, n, default_provider
    )
    events = MarketEvents(
        ts=ts,
        kind=np.full(n, kind, dtype=np.int8),
        symbol=symbol,
        provider=provider,
        side=side,
        values=values,
        symbols=symbols,
        providers=providers,
    )
    if problems.bad.any():
        events = events.take(~problems.bad)
    digest = _file_digest(path) if path is not None else _digest(events)
    return MarketData(events=events, sha256=digest, rows=n, dropped=dropped, source=source, timestamp_unit=unit)
