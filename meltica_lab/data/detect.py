"""Which format a file is, decided from the file itself: its header line, else its first rows.

A file that fits no format, or several, is a :class:`DataError` that says what the file looks
like, the candidates, and how to say which (``format=`` / ``--format``, ``columns=`` /
``--column``, ``time_unit=`` / ``--time-unit``). Nothing is guessed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from meltica_lab.data.columns import plausible_units
from meltica_lab.data.formats import FORMAT_NAMES, FORMATS, TIME_UNITS, Format, Layout, format_named, meltica
from meltica_lab.data.source import printable
from meltica_lab.errors import ConfigError, DataError

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOLEAN = {"true", "false"}
_SAMPLE_ROWS = 50


@dataclass(frozen=True)
class Detection:
    """How to read a file: the ``format``, the ``layout`` its columns follow, whether it has a
    ``header`` line, the column ``names`` to read it with, and the lines before its data
    (``skip``: blank lines and the header)."""

    format: Format
    layout: Layout
    header: bool
    names: tuple[str, ...]
    skip: int


def check_options(format: str | None, time_unit: str | None) -> None:
    """``format`` and ``time_unit`` are names the kit knows (a :class:`ConfigError` otherwise)."""
    if format is not None and format not in FORMAT_NAMES:
        raise ConfigError(
            f"format: unknown format {format!r}; expected one of {', '.join(FORMAT_NAMES)}", field="format"
        )
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise ConfigError(
            f"time_unit: unknown unit {time_unit!r}; expected one of {', '.join(TIME_UNITS)}", field="time_unit"
        )


def header_name(field: str) -> str:
    """A header field as the kit compares it: trimmed, unquoted, lower-case; of a bilingual
    ``english/中文`` name the ASCII part."""
    text = field.strip().strip('"').strip()
    parts = [p.strip() for p in text.split("/")]
    if len(parts) > 1:
        ascii_parts = [p for p in parts if p.isascii()]
        if len(ascii_parts) == 1:
            text = ascii_parts[0]
    return text.lower()


def unique_names(names: Sequence[str], source: str) -> None:
    """Each column once (names compared as :func:`header_name` leaves them)."""
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


def _ways(source_kind: str) -> str:
    return (
        f"say which with format= (--format): {', '.join(FORMAT_NAMES)}; or name the columns with "
        "columns={'<column>': 'timestamp', ...} (--column COLUMN=NAME)"
        if source_kind == "file"
        else "name the columns with columns={'<column>': 'timestamp', ...}"
    )


def detect_names(
    names: Sequence[str],
    source: str,
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    index_time: bool = False,
) -> tuple[Format, Layout]:
    """The format of a table with a header (a CSV header line, Parquet or DataFrame columns)."""
    names = tuple(names)
    unique_names(names, source)
    if columns is not None or format == meltica.NAME:
        chosen = meltica.columns_format(names, source, explicit=columns, index_time=index_time)
        return chosen, chosen.layouts[0]
    if format is not None:
        wanted = format_named(format)
        assert wanted is not None
        layout = wanted.header_layout(names) if wanted.named else None
        if layout is None:
            expected = " | ".join(",".join(lay.names) for lay in wanted.layouts)
            raise DataError(
                f"{source}: the columns ({printable(','.join(names))}) are not those of {format} (expected {expected})",
                path=source,
                field="format",
            )
        return wanted, layout
    fits = [(f, lay) for f in FORMATS if f.named for lay in [f.header_layout(names)] if lay is not None]
    if len(fits) > 1:
        raise DataError(
            f"{source}: the columns fit several formats: {', '.join(f.name for f, _ in fits)}; "
            f"say which with format= (--format)",
            path=source,
            field="format",
        )
    if fits:
        return fits[0]
    try:
        chosen = meltica.columns_format(names, source, index_time=index_time)
    except DataError as exc:
        if exc.field != "timestamp":
            raise
        raise DataError(
            f"{exc.message}; the columns fit no known format either; {_ways('file' if not index_time else 'frame')}",
            path=source,
            field="timestamp",
        ) from None
    return chosen, chosen.layouts[0]


def _cell_fits(cell: str, code: str) -> bool:
    if code == "x" or code == "s":
        return True
    if code in "it":
        return bool(_INTEGER.match(cell))
    if code == "n":
        return bool(_NUMBER.match(cell))
    return cell.lower() in _BOOLEAN


def _steps_by_one(rows: Sequence[Sequence[str]], column: int) -> bool:
    values = [int(r[column]) for r in rows if len(r) > column and _INTEGER.match(r[column])]
    return len(values) >= 2 and bool(np.all(np.diff(np.array(values, dtype=object)) == 1))


def _row_fits(row: Sequence[str], fmt: Format, layout: Layout, units: Sequence[str]) -> bool:
    if len(row) != len(layout.types):
        return False
    for cell, code in zip(row, layout.types, strict=True):
        if not _cell_fits(cell, code):
            return False
        if code == "t" and not plausible_units(float(cell), units):
            return False
    return True


def _fits(rows: Sequence[Sequence[str]], fmt: Format, layout: Layout, time_unit: str | None) -> bool:
    """Most of the first rows fit the layout (a bad row among them is reported by the reader), and
    a first column of times does not step by 1 (that is a row id)."""
    units = (time_unit,) if time_unit else fmt.time_units
    fitting = sum(_row_fits(row, fmt, layout, units) for row in rows)
    if not fitting or fitting * 2 < len(rows):
        return False
    return not (layout.types[0] == "t" and _steps_by_one(rows, 0))


def _looks(rows: Sequence[Sequence[str]]) -> str:
    first = rows[0]
    hints = []
    if first and _INTEGER.match(first[0]) and _steps_by_one(rows, 0):
        hints.append("its first column steps by 1 (an id, not a time)")
    for k, cell in enumerate(first):
        if _INTEGER.match(cell) and len(cell) >= 9:
            units = plausible_units(float(cell), tuple(TIME_UNITS))
            if units:
                hints.append(f"column {k + 1} looks like a time in {units[0]}")
    said = f"; {'; '.join(hints)}" if hints else ""
    return f"{len(first)} columns without a header, first row {printable(','.join(first), 100)!r}{said}"


def _headerless_formats() -> str:
    return ", ".join(
        f"{f.name} ({' or '.join(str(len(lay.names)) for lay in f.layouts)} columns)" for f in FORMATS if f.headerless
    )


def detect_rows(
    rows: Sequence[Sequence[str]], source: str, *, format: str | None, time_unit: str | None
) -> tuple[Format, Layout]:
    """The format of a file without a header line, from its first ``rows``."""
    if format is not None:
        wanted = format_named(format)
        layouts = [lay for lay in wanted.layouts if len(lay.names) == len(rows[0])] if wanted else []
        if wanted is None or not wanted.headerless or not layouts:
            expected = (
                "a header line"
                if wanted is None or not wanted.headerless
                else (" or ".join(str(len(lay.names)) for lay in wanted.layouts) + " columns")
            )
            raise DataError(
                f"{source}: not {format} data: expected {expected}, found {_looks(rows)}", path=source, field="format"
            )
        return wanted, layouts[0]
    fits: list[tuple[Format, Layout]] = []
    for fmt in FORMATS:
        # layouts of one format that differ only in names read the same without a header: the first
        layout = next((lay for lay in fmt.layouts if fmt.headerless and _fits(rows, fmt, lay, time_unit)), None)
        if layout is not None:
            fits.append((fmt, layout))
    if not fits:
        raise DataError(
            f"{source}: fits no known market data format: it has {_looks(rows)}; formats without a header: "
            f"{_headerless_formats()}; {_ways('file')}, or add a header line",
            path=source,
        )
    if len(fits) > 1:
        raise DataError(
            f"{source}: fits several formats: {', '.join(f.name for f, _ in fits)} (it has {_looks(rows)}); "
            "say which with format= (--format)",
            path=source,
            field="format",
        )
    return fits[0]


def detect_text(
    head: bytes,
    source: str,
    *,
    complete: bool,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    time_unit: str | None = None,
) -> Detection:
    """How to read a CSV whose first bytes are ``head`` (``complete``: the whole file)."""
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if b"\x00" in head or text.count("\ufffd") > len(text) // 20:
        raise DataError(
            f"{source}: not text (it starts with {printable(head[:12].decode('latin-1'), 40)!r}); "
            "expected CSV (plain, .gz or .zip) or Parquet",
            path=source,
        )
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the last line may be cut
    blank = 0
    while blank < len(lines) and not lines[blank].strip():
        blank += 1
    rows = [r for r in csv.reader(line for line in lines[blank:] if line.strip())][:_SAMPLE_ROWS]
    rows = [[cell.strip() for cell in row] for row in rows]
    if not rows:
        raise DataError(f"{source}: no data (the file is empty)", path=source)
    first = rows[0]
    header = not _INTEGER.match(first[0])
    if header:
        names = tuple(header_name(f) for f in first)
        fmt, layout = detect_names(names, source, format=format, columns=columns)
        if len(rows) == 1 and complete:
            raise DataError(f"{source}: a header line but no data rows", path=source)
        return Detection(fmt, layout, True, names, blank + 1)
    if columns is not None:
        raise DataError(
            f"{source}: columns= names header columns, but the file has no header line "
            f"(it has {_looks(rows)}); say format= (--format) instead",
            path=source,
            field="columns",
        )
    fmt, layout = detect_rows(rows, source, format=format, time_unit=time_unit)
    return Detection(fmt, layout, False, layout.names, blank)
