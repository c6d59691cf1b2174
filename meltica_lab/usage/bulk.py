"""Bulk checks: the columnar twin of :func:`~meltica_lab.usage.records.read_row`.

Raw rows (:data:`RAW_SCHEMA`: the gateway's keys, decoded by Arrow or taken from Python objects) are
checked a column at a time. A row passes only if ``read_row`` would accept it with the same values;
anything else is *flagged* for ``read_row`` to judge, so both give the same rows and the same first
error. The property tests in ``tests/usage/`` hold the two to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from meltica_lab.usage.rows import COLUMNS, INSTANCES, TIMESTAMP
from meltica_lab.usage.times import MAX_NS, MIN_NS, TIME_PATTERN, ZERO_TIME

__all__ = ["RAW_SCHEMA", "check_table", "raw_from_objects"]

RAW_SCHEMA = pa.schema(
    [
        ("strategy", pa.string()),
        ("hash", pa.string()),
        ("instances", INSTANCES),
        ("count", pa.int64()),
        ("firstSeen", pa.string()),
        ("lastSeen", pa.string()),
        ("running", pa.bool_()),
    ]
)

_NULL_TEXT = pa.scalar(None, pa.string())
_DAYS_IN_MONTH = np.array([31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _flags(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean Arrow mask as numpy, null counting as false."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _blank(values: pa.ChunkedArray, suspect: np.ndarray) -> pa.ChunkedArray:
    """``values`` with the suspect rows set to null."""
    return pc.if_else(pa.array(suspect), pa.scalar(None, values.type), values) if suspect.any() else values


def _calendar_flags(text: pa.ChunkedArray) -> np.ndarray:
    """Rows whose well-formed time names an impossible date or a year outside 1678-2261."""
    year, month, day = (
        pc.cast(pc.utf8_slice_codeunits(text, low, high), pa.int64()).fill_null(0).to_numpy()
        for low, high in ((0, 4), (5, 7), (8, 10))
    )
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last_day = _DAYS_IN_MONTH[month] + ((month == 2) & leap)
    return (day > last_day) | (year < 1678) | (year > 2261)


def _bulk_times(text: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray, np.ndarray]:
    """One time column checked in bulk: ``(timestamps, texts, suspect rows)``; suspect rows are null.

    The exact zero time becomes null (never); any other text the row-by-row parser must judge — a
    malformed time, an impossible date, the zero time written with an offset, a year out of range —
    is flagged for it.
    """
    text = pc.if_else(pc.equal(text, ZERO_TIME), _NULL_TEXT, text)
    suspect = _flags(pc.invert(pc.match_substring_regex(text, f"^{TIME_PATTERN}$")))
    try:
        stamps = pc.cast(_blank(text, suspect), TIMESTAMP)
    except pa.ArrowInvalid:  # an impossible date somewhere: find the rows, the common case never pays
        suspect |= _calendar_flags(_blank(text, suspect))
        stamps = pc.cast(_blank(text, suspect), TIMESTAMP)
    nanos = stamps.cast(pa.int64())
    suspect |= _flags(pc.or_(pc.less(nanos, MIN_NS), pc.greater(nanos, MAX_NS)))
    return _blank(stamps, suspect), _blank(text, suspect), suspect


def check_table(raw: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """Check raw rows in bulk: the table in the internal schema and the rows only :func:`read_row` can judge.

    A row passes here only if :func:`read_row` would accept it with the same values; anything else
    (a null where a value is required, ``[]`` for null, unsorted or duplicate ids, a time to look at)
    is flagged, and its values in the table are placeholders. Raises ``pa.ArrowInvalid`` only if times
    that passed every check still fail to convert.
    """
    strategy, digest, count = raw.column("strategy"), raw.column("hash"), raw.column("count")
    instances = raw.column("instances").combine_chunks()
    lengths = pc.list_value_length(instances)
    suspect = (
        _flags(pc.is_null(digest))
        | _flags(pc.is_null(count))
        | _flags(pc.fill_null(pc.equal(pc.utf8_length(strategy), 0), True))
        | _flags(pc.not_equal(lengths.fill_null(0), count))
        | _flags(pc.equal(lengths, 0))  # [] where the gateway writes null
        | _flags(pc.not_equal(raw.column("running"), pc.greater(count, 0)))
    )
    ids = pc.list_flatten(instances)
    if len(ids):
        bad_ids = _flags(pc.fill_null(pc.equal(pc.utf8_length(ids), 0), True))
        parents = pc.list_parent_indices(instances).to_numpy()
        bad_ids[1:] |= (parents[1:] == parents[:-1]) & _flags(pc.less_equal(ids[1:], ids[:-1]))
        suspect[parents[bad_ids]] = True
    first, first_text, first_suspect = _bulk_times(raw.column("firstSeen"))
    last, last_text, last_suspect = _bulk_times(raw.column("lastSeen"))
    suspect |= first_suspect | last_suspect
    table = pa.Table.from_arrays(
        [strategy, digest, instances, count, first, last, first_text, last_text], schema=COLUMNS
    )
    return table, suspect


def raw_from_objects(rows: Sequence[Any]) -> pa.Table | None:
    """Decoded rows as raw columns. A row whose Python types are not plainly right keeps nulls, which
    :func:`check_table` flags; ``None`` if the columns cannot be built at all (text UTF-8 cannot carry)."""
    columns: list[list[Any]] = [[None] * len(rows) for _ in RAW_SCHEMA.names]
    for position, row in enumerate(rows):
        if type(row) is not dict:
            continue
        values = [row.get(name) for name in RAW_SCHEMA.names]
        strategy, digest, ids, count, first, last, running = values
        if (
            type(strategy) is str
            and type(digest) is str
            and type(count) is int
            and -(2**63) <= count < 2**63
            and (ids is None or (type(ids) is list and all(type(i) is str for i in ids)))
            and (first is None or type(first) is str)
            and (last is None or type(last) is str)
            and (running is None or type(running) is bool)
        ):
            for column, value in zip(columns, values, strict=True):
                column[position] = value
    try:
        return pa.Table.from_arrays(
            [pa.array(column, type=field.type) for column, field in zip(columns, RAW_SCHEMA, strict=True)],
            schema=RAW_SCHEMA,
        )
    except UnicodeEncodeError:
        return None
