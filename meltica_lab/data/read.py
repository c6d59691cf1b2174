"""Reading one source (a file or a DataFrame) into :class:`MarketData`: detect, read the columns
with Arrow, convert them (:mod:`meltica_lab.data.columns`), check the rows, build the events."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from meltica_lab.buffers import KIT_POOL
from meltica_lab.data import columns as conv
from meltica_lab.data.cache import DataCache
from meltica_lab.data.detect import Detection, check_options, detect_names, detect_text, header_name
from meltica_lab.data.events import KLINE, TICKER, TRADE, VALUE_COLUMNS, MarketEvents
from meltica_lab.data.formats import TIME_UNITS, Format, Layout
from meltica_lab.data.model import BadRow, Digest, MarketData, SourceFile
from meltica_lab.data.source import READ_ERRORS, DataFile, open_data_file, printable, unreadable
from meltica_lab.errors import ConfigError, DataError
from meltica_lab.hashing import hash_text
from meltica_lab.malloc import release_free_memory
from meltica_lab.progress import Bar, progress_bar

_NS_PER_MS = 1_000_000
_BACKGROUND_DIGEST = 1 << 16
"""Events from which a DataFrame's digest is computed on a background thread (below, a thread
costs more than the hashing)."""
_RELEASE_ROWS = 1 << 18
"""Rows from which a parsed file's freed memory is worth handing back (see :mod:`meltica_lab.malloc`)."""
_VALUE_SLOTS = {
    TRADE: ("price", "quantity", None, None, None, None),
    TICKER: ("price", "bid", "ask", "bid_size", "ask_size", None),
    KLINE: ("open", "high", "low", "close", "volume", None),
}
_REQUIRED = {TRADE: ("price", "quantity"), TICKER: ("bid", "ask"), KLINE: ("open", "high", "low", "close")}
_POSITIVE = {"price", "bid", "ask", "open", "high", "low", "close"}
_TEXT = ("symbol", "provider")
_TIMES = ("timestamp", "open_time")
_ARROW_TYPES = {"i": pa.int64(), "t": pa.int64(), "n": pa.float64(), "b": pa.bool_(), "s": pa.string()}
_INTERVALS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source: ``format``, ``columns`` (column -> kit name), ``time_unit``,
    ``interval`` (bar length of bars that carry only their open time), the bad-row and default
    settings of :func:`meltica_lab.data.load_market_data`, whether a long read shows a
    ``progress`` bar, and whether the values of a DataFrame are copied (``copy``; else its float
    columns may be shared, see :func:`~meltica_lab.data.load_market_data`)."""

    format: str | None = None
    columns: Mapping[str, str] | None = None
    time_unit: str | None = None
    interval: str | None = None
    drop_bad_rows: bool = False
    default_symbol: str = ""
    default_provider: str = "backtest"
    progress: bool = field(default=True, compare=False)
    copy: bool = field(default=True, compare=False)

    def __post_init__(self) -> None:
        check_options(self.format, self.time_unit)
        if self.interval is not None:
            interval_ns(self.interval)

    def cache_key(self) -> dict[str, Any]:
        """The options as part of a conversion cache key (everything that changes what is read)."""
        out = asdict(self)
        del out["progress"], out["copy"]  # how a read is shown or held does not change what is read
        out["columns"] = dict(sorted((self.columns or {}).items()))
        return out


def interval_ns(text: str) -> int:
    """``1m``, ``15m``, ``1h``, ``1d``, ... in nanoseconds (a :class:`ConfigError` otherwise)."""
    number, unit = text[:-1], text[-1:].lower()
    if not number.isdigit() or int(number) <= 0 or unit not in _INTERVALS:
        raise ConfigError(f"interval: {text!r} is not a bar length such as 1m, 15m, 1h, 1d", field="interval")
    return int(number) * _INTERVALS[unit]


def _frame_table(frame: pd.DataFrame) -> tuple[pa.Table, bool]:
    """A DataFrame as an Arrow table with lower-case names; a datetime index becomes ``timestamp``
    when no column can be the time. Column by column (Arrow converts each as ``Table.from_pandas``
    does), without the pandas metadata ``from_pandas`` builds and the kit never reads."""
    names = [header_name(str(c)) for c in frame.columns]
    arrays = [pa.Array.from_pandas(column, memory_pool=KIT_POOL) for _, column in frame.items()]
    index_time = isinstance(frame.index, pd.DatetimeIndex)
    if index_time:
        times = [c for c in names if c in ("timestamp", "ts", "time", "datetime", "date")]
        if times:
            raise DataError(
                f"<DataFrame>: both its datetime index and column {times[0]} could be the time; "
                "drop one (frame.reset_index(drop=True) keeps the column)",
                field=times[0],
            )
        names.insert(0, "timestamp")
        arrays.insert(0, pa.Array.from_pandas(frame.index, memory_pool=KIT_POOL))
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        same = [repr(str(c)) for c in frame.columns if header_name(str(c)) == twice[0]]
        raise DataError(
            f"<DataFrame>: columns {' and '.join(same)} both read as {twice[0]} (names are compared "
            "trimmed and in lower case); rename or drop one",
            field=twice[0],
        )
    return pa.Table.from_arrays(arrays, names=names), index_time


def _csv_types(fmt: Format, layout: Layout, mapping: Mapping[str, str]) -> dict[str, pa.DataType]:
    """Arrow types of the columns read: from the layout's letters, for the kit's columns by meaning."""
    types: dict[str, pa.DataType] = {}
    letters = dict(zip(layout.names, layout.types, strict=True))
    for canonical, name in mapping.items():
        letter = letters[name]
        if letter != "x":
            types[name] = _ARROW_TYPES[letter]
        elif canonical in _TEXT or (canonical == "side" and fmt.side == "text"):
            types[name] = pa.string()
        elif canonical == "side":
            types[name] = pa.bool_()
        elif canonical not in _TIMES:
            types[name] = pa.float64()
    return types


class _Counted:
    """A byte stream that moves a progress bar as it is read."""

    def __init__(self, handle: Any, bar: Bar) -> None:
        self._handle = handle
        self._bar = bar
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._bar.update(len(data))
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def _read_csv(file: DataFile, found: Detection, mapping: Mapping[str, str], progress: bool) -> pa.Table:
    wanted = list(dict.fromkeys(mapping.values()))
    read = pacsv.ReadOptions(column_names=list(found.names), skip_rows=found.skip, block_size=1 << 24)
    types = _csv_types(found.format, found.layout, mapping)

    def attempt(column_types: Mapping[str, pa.DataType]) -> pa.Table:
        convert = pacsv.ConvertOptions(column_types=dict(column_types), include_columns=wanted)
        with file.stream() as handle:
            return pacsv.read_csv(handle, read_options=read, convert_options=convert, memory_pool=KIT_POOL)

    def streamed() -> pa.Table:
        # batch by batch, as fast as one read here, so that a long read can show how far it is
        convert = pacsv.ConvertOptions(column_types=dict(types), include_columns=wanted)
        with (
            file.stream() as handle,
            progress_bar(
                total=file.size(), unit="B", unit_scale=True, desc=file.path.name, disable=not progress, delay=1.0
            ) as bar,
            pacsv.open_csv(
                _Counted(handle, bar), read_options=read, convert_options=convert, memory_pool=KIT_POOL
            ) as reader,
        ):
            return pa.Table.from_batches(list(reader), schema=reader.schema)

    try:
        try:
            return streamed()
        except pa.ArrowInvalid:
            # a value that does not fit its type somewhere: read the columns as text and find the rows
            try:
                return attempt(dict.fromkeys(wanted, pa.string()))
            except pa.ArrowInvalid as exc:
                raise DataError(f"{file.name}: malformed CSV: {printable(str(exc))}", path=str(file.path)) from None
    except READ_ERRORS as exc:
        raise unreadable(file, exc) from None


def _line_numbers(file: DataFile, rows: Sequence[int], skip: int) -> dict[int, int]:
    """File line numbers (1-based) of data rows (1-based); blank lines are skipped as the reader does."""
    wanted = set(rows)
    lines: dict[int, int] = {}
    row = -skip
    number = 0
    rest = b""
    with file.stream() as handle:
        while len(lines) < len(wanted):
            block = handle.read(1 << 20)
            if not block:
                break
            parts = (rest + bytes(block)).split(b"\n")
            rest = parts.pop()
            for line in parts:
                number += 1
                if not line.strip():
                    if row < 0:
                        row += 1
                    continue
                row += 1
                if row in wanted:
                    lines[row] = number
        if rest.strip() and row + 1 in wanted:
            lines[row + 1] = number + 1
    return lines


def _digest(events: MarketEvents) -> str:
    digest = hashlib.sha256()
    for array in (events.ts, events.kind, events.symbol, events.provider, events.side):
        digest.update(np.ascontiguousarray(array).data)
    # the bytes of the (6, n) value array, row by row, without making it
    for k in range(VALUE_COLUMNS):
        for block in events.value_blocks(k):
            digest.update(block.data)
    digest.update("\x00".join((*events.symbols, "|", *events.providers)).encode())
    return hash_text(digest)


@dataclass(frozen=True)
class Columns:
    """A source read into events before bad rows are dropped: what :func:`build` returns."""

    events: MarketEvents
    problems: conv.Problems
    unit: str
    rows: int


def build(table: pa.Table, fmt: Format, layout: Layout, options: ReadOptions, source: str, symbol: str) -> Columns:
    """Events from a table read in ``fmt``, with every bad row flagged in ``problems``."""
    mapping = fmt.mapping(layout)
    n = table.num_rows
    problems = conv.Problems(n)
    units = (options.time_unit,) if options.time_unit else fmt.time_units

    def column(canonical: str) -> pa.ChunkedArray | None:
        name = mapping.get(canonical)
        return table.column(name) if name is not None else None

    def label(canonical: str) -> str:
        return mapping.get(canonical, canonical)

    kind = fmt.kind
    # a row the format has no column for stays absent (NaN in no memory: four of six for trades)
    values: list[np.ndarray | None] = [None] * VALUE_COLUMNS
    opened = None
    if fmt.bar_from_open:
        opened, unit = conv.times(
            column("open_time"), label("open_time"), problems, units=units, forced=options.time_unit, source=source
        )
        ts = opened + _bar_length(opened, options, source)
    else:
        ts, unit = conv.times(
            column("timestamp"), label("timestamp"), problems, units=units, forced=options.time_unit, source=source
        )
        if column("open_time") is not None:
            forced = unit if unit in TIME_UNITS else options.time_unit
            opened, _ = conv.times(
                column("open_time"), label("open_time"), problems, units=units, forced=forced, source=source
            )
    for k, canonical in enumerate(_VALUE_SLOTS[kind]):
        data = column(canonical) if canonical else None
        if data is None:
            continue
        name = label(canonical)
        numbers = values[k] = conv.numbers(data, name, problems, borrow=not options.copy)
        if canonical in _REQUIRED[kind]:
            problems.flag(np.isnan(numbers), name, "missing value")
        # NaN compares false: a missing optional value passes these checks
        if canonical in _POSITIVE:
            problems.flag(numbers <= 0, name, "expected a price > 0")
        elif canonical == "quantity":
            problems.flag(numbers <= 0, name, "expected a quantity > 0")
        else:
            problems.flag(numbers < 0, name, "expected a value >= 0")
    confirm = column("confirm")
    if confirm is not None:
        closed = conv.numbers(confirm, label("confirm"), problems)
        problems.flag(closed != 1, label("confirm"), "the bar is not confirmed (still forming); expected 1")
    if kind == KLINE and opened is not None:
        step = TIME_UNITS[unit] if fmt.bar_close_inclusive and unit in TIME_UNITS else 0
        values[5] = np.where(opened > 0, (ts + step - opened) / _NS_PER_MS, 0.0)
    side_column = column("side")
    if side_column is None or fmt.side == "none":
        side = np.zeros(n, dtype=np.int8)
    elif fmt.side == "buyer_maker":
        side = conv.buyer_maker_sides(side_column, label("side"), problems)
    else:
        side = conv.text_sides(side_column, n, label("side"), problems)
    time_name = label("open_time" if fmt.bar_from_open else "timestamp")
    problems.flag(ts < 0, time_name, "before 1970-01-01")
    if n > 1 and (problems.bad.any() or (ts[1:] < ts[:-1]).any()):
        # compare with the latest time among the rows kept so far
        earlier = np.zeros(n, dtype=bool)
        kept = np.where(problems.bad, np.iinfo(np.int64).min, ts)
        earlier[1:] = ts[1:] < np.maximum.accumulate(kept)[:-1]
        problems.flag(earlier, time_name, "earlier than a previous row (timestamps must not go backwards)")
    symbol_codes, symbols = conv.codes(column("symbol"), n, symbol)
    provider_codes, providers = conv.codes(column("provider"), n, options.default_provider)
    events = MarketEvents(
        ts=ts,
        kind=np.full(n, kind, dtype=np.int8),
        symbol=symbol_codes,
        provider=provider_codes,
        side=side,
        value_rows=tuple(values),
        symbols=symbols,
        providers=providers,
    )
    return Columns(events, problems, unit, n)


def _bar_length(opened: np.ndarray, options: ReadOptions, source: str) -> int:
    if options.interval is not None:
        return interval_ns(options.interval)
    steps = np.diff(opened)
    steps = steps[steps > 0]
    if not len(steps):
        raise DataError(
            f"{source}: bars carry only their open time and one bar cannot tell their length; "
            "say it with interval= (--interval), e.g. interval='1m'",
            path=source,
            field="interval",
        )
    return int(steps.min())


def _finish(
    columns: Columns, options: ReadOptions, source: str, file: DataFile | None, skip: int
) -> tuple[MarketEvents, tuple[BadRow, ...]]:
    problems = columns.problems
    if not problems.found:
        return columns.events, ()
    shown = problems.listed(None if options.drop_bad_rows else 1)
    lines = _line_numbers(file, [r for r, _, _ in shown], skip) if file is not None else {}
    dropped = tuple(BadRow(r, lines.get(r, 0), column, reason) for r, column, reason in shown)
    if not options.drop_bad_rows:
        bad = dropped[0]
        raise DataError(bad.describe(source), path=source if file else None, field=bad.column, row=bad.row)
    return columns.events.take(~problems.bad), dropped


def _binance_symbol(file: DataFile) -> str:
    """``BTCUSDT`` of ``BTCUSDT-trades-2025-01-01.zip`` (Binance names files after the symbol)."""
    stem = file.path.name.split("-")[0]
    return stem if stem.isalnum() and stem.isupper() else ""


def read_file(path: str, options: ReadOptions, cache: DataCache | None = None) -> MarketData:
    """One file (CSV, ``.gz``, ``.zip``, Parquet) as market data, through ``cache`` when it holds
    files of this size."""
    file = open_data_file(path)
    if cache is None or not cache.wants(file.path):
        return _parsed(file, options, file.sha256())
    digest = cache.file_sha256(file.path)
    key = cache.key(digest, options.cache_key())
    hit = cache.load(key, file.name)
    if hit is not None:
        # the same bytes may lie under another name now: name the file as it was given
        return replace(hit, files=tuple(replace(f, name=str(file.path)) for f in hit.files))
    data = _parsed(file, options, digest)
    cache.store(key, data)
    return data


def _parsed(file: DataFile, options: ReadOptions, digest: str) -> MarketData:
    data = _parse_file(file, options, digest)
    if data.rows >= _RELEASE_ROWS:
        # the file's table and its conversions, freed on the way out, go back to the system
        release_free_memory()
    return data


def _parse_file(file: DataFile, options: ReadOptions, digest: str) -> MarketData:
    source = file.name
    if file.container == "parquet":
        # imported where it is used: a process that reads no Parquet never loads it (~5 MiB)
        import pyarrow.dataset as ds

        try:
            # what pq.read_table does for one file, with the kit's pool (read_table takes none): the
            # default one kept 80 MiB resident after a 1M-row file (34 MiB of table), this one 18
            table = ds.dataset(str(file.path), format="parquet").to_table(memory_pool=KIT_POOL)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{source}: not a readable Parquet file: {printable(str(exc))}", path=source) from None
        names = tuple(header_name(n) for n in table.column_names)
        fmt, layout = detect_names(names, source, format=options.format, columns=options.columns)
        table = table.rename_columns(list(names))
        skip = 0
    else:
        head = file.head()
        found = detect_text(
            head,
            source,
            complete=len(head) < (1 << 16),
            format=options.format,
            columns=options.columns,
            time_unit=options.time_unit,
        )
        fmt, layout, skip = found.format, found.layout, found.skip
        table = _read_csv(file, found, fmt.mapping(layout), options.progress)
    if table.num_rows == 0:
        what = "column names" if file.container == "parquet" else "a header line"
        raise DataError(f"{source}: {what} but no data rows", path=source)
    symbol = options.default_symbol or (_binance_symbol(file) if fmt.name.startswith("binance") else "")
    columns = build(table, fmt, layout, options, source, symbol)
    events, dropped = _finish(columns, options, source, file if file.container != "parquet" else None, skip)
    described = SourceFile(
        name=str(file.path),
        sha256=digest,
        format=fmt.name,
        rows=columns.rows,
        member=file.member,
        timestamp_unit=columns.unit,
    )
    return MarketData(
        events=events,
        digest=Digest(digest),
        rows=columns.rows,
        dropped=dropped,
        source=source,
        timestamp_unit=columns.unit,
        format=fmt.name,
        files=(described,),
    )


def read_frame(frame: pd.DataFrame, options: ReadOptions) -> MarketData:
    """A DataFrame (the names pandas users use; a datetime index is the time) as market data."""
    source = "<DataFrame>"
    table, index_time = _frame_table(frame)
    names = tuple(table.column_names)
    fmt, layout = detect_names(names, source, format=options.format, columns=options.columns, index_time=index_time)
    columns = build(table, fmt, layout, options, source, options.default_symbol)
    events, dropped = _finish(columns, options, source, None, 0)
    # hashed while the caller goes on (a backtest runs meanwhile); small frames at once
    large = len(events) >= _BACKGROUND_DIGEST
    return MarketData(
        events=events,
        digest=Digest.computing(lambda: _digest(events)) if large else Digest(_digest(events)),
        rows=columns.rows,
        dropped=dropped,
        source=source,
        timestamp_unit=columns.unit,
        format=fmt.name,
    )
