"""Column conversions shared by every format: numbers, epoch times (the unit decided from the
values), sides, string codes, and the bad-row bookkeeping.

Units are never guessed from a threshold: a time is plausible in a unit when it lands between
2009-01-01 and the end of next year; a file's unit is the one in which its times are plausible.
Times that fit no unit, or another unit than the rest of the file, are bad rows that say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from meltica_lab.buffers import KIT_POOL
from meltica_lab.data.events import BUY, SELL
from meltica_lab.data.formats.base import TIME_UNITS
from meltica_lab.errors import DataError

INT64_MAX = np.iinfo(np.int64).max
TOO_LATE = "after 2262-04-11 (int64 nanoseconds cannot hold it)"
EARLIEST = pd.Timestamp("2009-01-01", tz="UTC")
"""No market data a user backtests on is older (Bitcoin's first block)."""
SIDES = {"buy": BUY, "b": BUY, "bid": BUY, "sell": SELL, "s": SELL, "ask": SELL}
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}

Reason = str | Callable[[int], str]


def latest() -> pd.Timestamp:
    """The end of next year: a later time is not a recorded one."""
    return pd.Timestamp(dt.date.today().year + 2, 1, 1, tz="UTC")


class Problems:
    """Bad-row flags per column, first problem per row wins (columns are checked in file order).

    A reason is text, or a function of the 0-based row giving the text (for reasons that quote the
    row's value: computed only for the rows shown).
    """

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.found: list[tuple[np.ndarray, str, Reason]] = []

    def flag(self, mask: np.ndarray, column: str, reason: Reason) -> None:
        """Mark the rows of ``mask`` not already bad as bad in ``column`` for ``reason``."""
        if not mask.any():  # the usual case: no second pass over the rows, no new array
            return
        mask = mask & ~self.bad
        if mask.any():
            self.bad |= mask
            self.found.append((np.flatnonzero(mask), column, reason))

    def listed(self, limit: int | None = None) -> list[tuple[int, str, str]]:
        """``(1-based row, column, reason)`` in row order, the first ``limit`` of them."""
        rows = sorted((int(r), column, reason) for found, column, reason in self.found for r in found)
        rows = rows if limit is None else rows[:limit]
        return [(r + 1, column, reason if isinstance(reason, str) else reason(r)) for r, column, reason in rows]


def _cast(column: pa.ChunkedArray, kind: pa.DataType, *, safe: bool = True) -> pa.ChunkedArray:
    return pc.cast(column, kind, safe=safe, memory_pool=KIT_POOL)


def _filled(column: pa.ChunkedArray, value: object) -> pa.ChunkedArray:
    """``column.fill_null(value)`` in the kit's pool (pyarrow's fill_null takes none)."""
    return pc.coalesce(column, pa.scalar(value, type=column.type), memory_pool=KIT_POOL)


def _valid(column: pa.ChunkedArray) -> np.ndarray:
    return pc.is_valid(column, memory_pool=KIT_POOL).to_numpy(zero_copy_only=False)


def _words(column: pa.ChunkedArray, *, lower: bool) -> pa.DictionaryArray:
    """The column as trimmed text (lower-cased with ``lower``; missing: ""), dictionary-encoded."""
    text = pc.utf8_trim_whitespace(_cast(column, pa.string()), memory_pool=KIT_POOL)
    if lower:
        text = pc.utf8_lower(text, memory_pool=KIT_POOL)
    return pc.dictionary_encode(_filled(text, ""), memory_pool=KIT_POOL).combine_chunks(memory_pool=KIT_POOL)


def numbers(column: pa.ChunkedArray, name: str, problems: Problems, *, borrow: bool = False) -> np.ndarray:
    """float64 values, NaN where missing; text that is not a number, and infinities, are flagged.

    With ``borrow``, a float64 column in one piece without nulls comes back as a read-only view of
    its own memory (no copy): only for a caller whose use of the values ends before the column's
    owner can change it."""
    kind = column.type
    if borrow and pa.types.is_float64(kind) and column.num_chunks == 1 and not column.null_count:
        values = column.chunk(0).to_numpy(zero_copy_only=True)
    elif pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        # unsafe: an integer beyond 2^53 becomes the nearest float, as any number in a CSV would
        values = np.empty(len(column))
        start = 0
        for chunk in _cast(column, pa.float64(), safe=False).chunks:
            values[start : start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            start += len(chunk)
    elif pa.types.is_null(kind):
        return np.full(len(column), np.nan)
    else:
        text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        blank = text.isna().to_numpy() | (text.astype(str).str.strip() == "").to_numpy()
        problems.flag(np.isnan(values) & ~blank, name, "not a number")
        values[blank] = np.nan
    problems.flag(np.isinf(values), name, "not a finite number")
    return values


def _date(ns: float) -> str:
    if ns >= INT64_MAX:
        return "after 2262-04-11"
    if ns < 0:
        return "before 1970"
    return pd.Timestamp(int(ns), tz="UTC").strftime("%Y-%m-%d %H:%M:%S")


def _plausible(values: np.ndarray, unit: str, lo: float, hi: float) -> np.ndarray:
    scale = TIME_UNITS[unit]
    if values.dtype.kind in "iu":
        # integer bounds in the unit itself: no scaled copy of a column of millions
        return (values >= -(-int(lo) // scale)) & (values < -(-int(hi) // scale))
    scaled = values * scale
    return (scaled >= lo) & (scaled < hi)


def _window() -> tuple[float, float, str]:
    end = latest()
    return float(EARLIEST.value), float(end.value), f"{EARLIEST:%Y-%m-%d} to {end - pd.Timedelta(days=1):%Y-%m-%d}"


def plausible_units(value: float, units: Sequence[str]) -> list[str]:
    """The units in which the epoch number ``value`` is a plausible time."""
    lo, hi, _ = _window()
    return [u for u in units if _plausible(np.array([value]), u, lo, hi)[0]]


def clear_unit(smallest: float, largest: float, units: Sequence[str]) -> str | None:
    """The unit in which every time from ``smallest`` to ``largest`` is plausible, if one is (the
    units' plausible ranges do not overlap, so there is at most one)."""
    lo, hi, _ = _window()
    return next((u for u in units if _plausible(np.array([smallest, largest]), u, lo, hi).all()), None)


def epoch_times(
    values: np.ndarray,
    valid: np.ndarray,
    name: str,
    problems: Problems,
    *,
    units: Sequence[str],
    forced: str | None,
    source: str,
) -> tuple[np.ndarray, str]:
    """int64 ns from epoch numbers, and the unit read: ``forced``, else the one of ``units`` in
    which the file's times are plausible. Rows implausible in it, or past 2262, are flagged."""
    lo, hi, window = _window()
    # the usual case: every time valid and plausible in one unit, decided without a pass per unit
    clear = clear_unit(values.min(), values.max(), units) if len(values) and valid.all() else None
    if forced is not None:
        unit = forced
    elif clear is not None:
        unit = clear
    else:
        counts = [int(np.count_nonzero(_plausible(values, u, lo, hi) & valid)) for u in units]
        best = max(counts) if counts else 0
        if best == 0:
            unit = units[0]

            def nowhere(row: int) -> str:
                seen = ", ".join(f"as {u} {_date(float(values[row]) * TIME_UNITS[u])}" for u in units)
                return (
                    f"{_number(values[row])} is no plausible time ({window}) in any unit: {seen}; "
                    "say which unit with time_unit= (--time-unit)"
                )

            problems.flag(valid, name, nowhere)
            return np.zeros(len(values), dtype=np.int64), unit
        tied = [u for u, c in zip(units, counts, strict=True) if c == best]
        if len(tied) > 1:
            raise DataError(
                f"{source}: column {name}: as many times are plausible in {' as in '.join(tied)} "
                f"({best} rows each); say which unit with time_unit= (--time-unit)",
                path=source,
                field=name,
            )
        unit = tied[0]

        def elsewhere(row: int) -> str:
            return (
                f"{_number(values[row])} is not a plausible time in {unit}, the unit of the file's other times "
                f"(it would be {_date(float(values[row]) * TIME_UNITS[unit])})"
            )

        problems.flag(valid & ~_plausible(values, unit, lo, hi), name, elsewhere)
    scale = TIME_UNITS[unit]
    if clear is None or forced is not None:  # plausible times are far from 2262: nothing more to flag
        values = _in_range(values, valid, scale, name, problems)
    if values.dtype.kind == "f":
        return np.round(values * scale).astype(np.int64), unit
    return np.multiply(values, scale, dtype=np.int64), unit


def _in_range(values: np.ndarray, valid: np.ndarray, scale: int, name: str, problems: Problems) -> np.ndarray:
    """``values`` with those past 2262 in ns (flagged) and the invalid ones read as 0."""
    if values.dtype.kind in "iu":
        bound = INT64_MAX // scale
        late = (values > bound) | (values < -bound)
    else:
        # a float compare: the largest int64 is not exact as a float, but nothing near it is a real time
        late = np.abs(values) * scale >= INT64_MAX
    problems.flag(late & valid, name, TOO_LATE)
    if late.any() or not valid.all():
        return np.where(late | ~valid, 0, values)
    return values


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _text_integers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer text as int64, and which numbers are too long for an int64 (read as 0)."""
    numbers_ = [int(t) for t in text]
    fits = np.array([-INT64_MAX <= v <= INT64_MAX for v in numbers_], dtype=bool)
    return np.array([v if ok else 0 for v, ok in zip(numbers_, fits, strict=True)], dtype=np.int64), ~fits


def times(
    column: pa.ChunkedArray,
    name: str,
    problems: Problems,
    *,
    units: Sequence[str],
    forced: str | None,
    source: str,
) -> tuple[np.ndarray, str]:
    """int64 ns since the epoch (UTC) and the form found (a unit, ``iso`` or ``datetime``)."""
    n = len(column)
    kind = column.type
    if pa.types.is_date(kind):
        # days or ms since the epoch; as ms every date Arrow holds fits an int64
        column, kind = _cast(column, pa.timestamp("ms")), pa.timestamp("ms")
    if pa.types.is_timestamp(kind):
        # int64 in the column's own unit (UTC for zoned columns, wall time taken as UTC otherwise),
        # scaled to ns here: Arrow's cast to ns refuses the whole column if one value is past 2262
        valid = _valid(column)
        raw = _filled(_cast(column, pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        scale = TIME_UNITS[kind.unit]
        late = np.abs(raw) > INT64_MAX // scale
        problems.flag(~valid, name, "missing timestamp")
        problems.flag(late, name, TOO_LATE)
        return np.where(late, 0, raw) * scale, "datetime"
    if pa.types.is_integer(kind) and not column.null_count and n and forced is None:
        # the usual dump: integers all plausible in one unit, scaled chunk by chunk into one array
        # (no joined copy of the column first)
        span = pc.min_max(column)
        unit = clear_unit(span["min"].as_py(), span["max"].as_py(), units)
        if unit is not None:
            out = np.empty(n, dtype=np.int64)
            start = 0
            for chunk in column.chunks:
                stop = start + len(chunk)
                np.multiply(chunk.to_numpy(zero_copy_only=False), TIME_UNITS[unit], out=out[start:stop])
                start = stop
            return out, unit
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if column.null_count:
            valid = _valid(column)
            column = _filled(column, 0)
        else:
            valid = np.ones(n, dtype=bool)
        raw = (
            column.combine_chunks(memory_pool=KIT_POOL).to_numpy(zero_copy_only=False)
            if column.num_chunks
            else np.zeros(0)
        )
        if raw.dtype.kind == "f":
            finite = np.isfinite(raw)
            problems.flag(~(valid & finite), name, "missing timestamp")
            valid &= finite
            raw = np.where(finite, raw, 0.0)
        else:
            problems.flag(~valid, name, "missing timestamp")
            raw = raw.astype(np.int64, copy=False)
        return epoch_times(raw, valid, name, problems, units=units, forced=forced, source=source)
    text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).astype(str).str.strip()
    digits = text.str.fullmatch(r"-?[0-9]+").to_numpy()
    ns = np.zeros(n, dtype=np.int64)
    unit = "iso"
    if digits.any():
        values, too_long = _text_integers(text[digits])
        inner = Problems(len(values))
        ints, unit = epoch_times(values, ~too_long, name, inner, units=units, forced=forced, source=source)
        ns[digits] = ints
        where = np.flatnonzero(digits)
        out_of_range = np.zeros(n, dtype=bool)
        out_of_range[where[too_long]] = True
        problems.flag(out_of_range, name, TOO_LATE)
        for rows, column_name, reason in inner.found:
            mask = np.zeros(n, dtype=bool)
            mask[where[rows]] = True
            local = {int(g): int(r) for g, r in zip(where[rows], rows, strict=True)}
            problems.flag(mask, column_name, reason if isinstance(reason, str) else _remapped(reason, local))
    if (~digits).any():
        parsed = pd.to_datetime(text[~digits], utc=True, format="ISO8601", errors="coerce")
        ok = parsed.notna().to_numpy()
        where = np.flatnonzero(~digits)
        problems.flag(np.isin(np.arange(n), where[~ok]), name, "not a timestamp (an epoch number or ISO 8601)")
        stamps = pd.DatetimeIndex(parsed[ok])
        # pandas keeps a coarser unit for times ns cannot hold: before 1677 or past 2262
        late = np.asarray(stamps > pd.Timestamp.max.tz_localize("UTC"), dtype=bool)
        early = np.asarray(stamps < pd.Timestamp.min.tz_localize("UTC"), dtype=bool)
        problems.flag(np.isin(np.arange(n), where[ok][late]), name, TOO_LATE)
        problems.flag(np.isin(np.arange(n), where[ok][early]), name, "before 1970-01-01")
        fits = ~(late | early)
        ns[where[ok][fits]] = stamps[fits].as_unit("ns").asi8
        unit = "iso"
    return ns, unit


def _remapped(reason: Callable[[int], str], local: dict[int, int]) -> Callable[[int], str]:
    return lambda row: reason(local[row])


def codes(column: pa.ChunkedArray | None, n: int, default: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """int32 codes into a table of the column's distinct texts (blank: ``default``)."""
    if column is None:
        return np.zeros(n, dtype=np.int32), (default,)
    encoded = _words(column, lower=False)
    names = [str(v) if v else default for v in encoded.dictionary.to_pylist()]
    # two spellings of the default ("" and the default itself) must share one code
    unique = tuple(dict.fromkeys(names))
    remap = np.array([unique.index(v) for v in names], dtype=np.int32)
    if not len(remap):
        return np.zeros(n, dtype=np.int32), (default,)
    return remap[encoded.indices.to_numpy(zero_copy_only=False)], unique


def text_sides(column: pa.ChunkedArray, n: int, name: str, problems: Problems) -> np.ndarray:
    """BUY/SELL from buy/sell words (blank: buy, as the kit's own format always had it)."""
    if pa.types.is_dictionary(column.type) and n:
        # a categorical column: read its few words, not a decoded copy of every row (issue 12)
        # one chunk (a DataFrame's categorical) is read as it is: no combined or null-filled copy of
        # its n codes
        if column.num_chunks == 1:
            coded = column.chunk(0)
        else:
            unified = column.unify_dictionaries(memory_pool=KIT_POOL)
            coded = pa.chunked_array(unified.chunks, column.type).combine_chunks(memory_pool=KIT_POOL)
        words = pc.utf8_lower(pc.utf8_trim_whitespace(coded.dictionary.cast(pa.string()))).to_pylist()
        table = np.array([SIDES.get(w, BUY if not w else -1) for w in words] + [BUY], dtype=np.int8)
        indices = coded.indices if not coded.null_count else _filled(coded.indices, len(words))
        sides = table[indices.to_numpy(zero_copy_only=False)]
        problems.flag(sides < 0, name, "expected buy or sell")
        return np.where(sides < 0, BUY, sides).astype(np.int8)
    # dictionary-encode first: a side column has a handful of distinct spellings
    encoded = _words(column, lower=True)
    words = encoded.dictionary.to_pylist()
    table = np.array([SIDES.get(w, BUY if w == "" else -1) for w in words], dtype=np.int8)
    sides = table[encoded.indices.to_numpy(zero_copy_only=False)] if len(words) else np.full(n, BUY, dtype=np.int8)
    problems.flag(sides < 0, name, "expected buy or sell")
    return np.where(sides < 0, BUY, sides).astype(np.int8)


def booleans(column: pa.ChunkedArray, name: str, problems: Problems) -> np.ndarray:
    """A boolean column (``True``/``true``/``1`` and their opposites); missing or other text flagged."""
    if pa.types.is_boolean(column.type):
        valid = _valid(column) if column.null_count else None
        values = _filled(column, False).to_numpy(zero_copy_only=False).astype(bool)
        if valid is not None:
            problems.flag(~valid, name, "missing value (expected true or false)")
        return values
    encoded = _words(column, lower=True)
    words = encoded.dictionary.to_pylist()
    table = np.array([{True: 1, False: 0}.get(_BOOLEANS.get(w), -1) for w in words], dtype=np.int8)
    values = table[encoded.indices.to_numpy(zero_copy_only=False)] if len(words) else np.zeros(len(column), np.int8)
    problems.flag(values < 0, name, "expected true or false")
    return values == 1


def buyer_maker_sides(column: pa.ChunkedArray, name: str, problems: Problems) -> np.ndarray:
    """BUY/SELL from ``is_buyer_maker``: true means the buyer was resting, so the aggressor sold."""
    sold = booleans(column, name, problems)
    if (BUY, SELL) == (0, 1):
        return sold.view(np.int8)  # the codes are the booleans themselves: no copy
    return np.where(sold, SELL, BUY).astype(np.int8)
