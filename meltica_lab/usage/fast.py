"""The JSON fast path: a compact usage export parsed by Arrow's multi-threaded reader.

One entry point, :func:`parse_compact`. It either returns the rows, checked in bulk, or ``None``
("not for me"), in which case the caller decodes with ``json`` and checks the objects; it never
raises on bad input and leaves the caller's buffer as it was. It declines whatever it cannot vouch
for (pretty-printed JSON, an unusual layout, any row :func:`~meltica_lab.usage.records.read_row`
must judge), so what it accepts is exactly what ``read_row`` accepts, with the same values.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json

from meltica_lab.usage.bulk import RAW_SCHEMA, check_table

__all__ = ["parse_compact"]

_JSON_SPACE = b" \t\n\r"
_USAGE_KEY = re.compile(rb'"usage"[ \t\n\r]*:[ \t\n\r]*\[')
_SCAN_BYTES = 1 << 20
_READ_OPTIONS = pa_json.ReadOptions(use_threads=True, block_size=16 << 20)
_PARSE_OPTIONS = pa_json.ParseOptions(
    explicit_schema=RAW_SCHEMA, unexpected_field_behavior="ignore", newlines_in_values=False
)


def _skip_space(buf: bytearray, position: int, step: int) -> int:
    while 0 <= position < len(buf) and buf[position] in _JSON_SPACE:
        position += step
    return position


def _fast_rows(buf: bytearray, start: int, stop: int) -> pa.Table | None:
    """Parse the rows of a compact usage array ``buf[start:stop]`` with Arrow's multi-threaded reader.

    Arrow reads one JSON object per line, so the ``},{`` joints between rows become ``}\\n{`` for the
    duration of the read (same length, in place) and are restored afterwards. A joint that was really
    inside a string cannot fool this: a string cannot hold a raw newline, so that line fails to parse.
    """
    first = _skip_space(buf, start, 1)
    if first >= stop:
        return pa.Table.from_batches([], schema=RAW_SCHEMA)
    if buf[first] != ord("{") or buf[_skip_space(buf, stop - 1, -1)] != ord("}"):
        # not an array of objects; and pyarrow's JSON reader crashes the process on a leading null
        return None
    if buf.find(b"\n", start, stop) != -1:
        return None  # pretty-printed: rows span lines
    view = np.frombuffer(buf, dtype=np.uint8)[start:stop]
    # Slice by slice the comparison stays in cache; in one pass it would allocate another buffer's worth.
    opens = np.concatenate(
        [np.flatnonzero(view[low : low + _SCAN_BYTES] == ord("{")) + low for low in range(0, len(view), _SCAN_BYTES)]
    )
    opens = opens[opens >= 2]
    joints = opens[(view[opens - 1] == ord(",")) & (view[opens - 2] == ord("}"))] - 1
    view[joints] = ord("\n")
    try:
        raw = pa_json.read_json(
            pa.BufferReader(pa.py_buffer(buf).slice(start, stop - start)),
            read_options=_READ_OPTIONS,
            parse_options=_PARSE_OPTIONS,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    finally:
        view[joints] = ord(",")
    # Two objects on one line also parse; only one object per row-line is the array we were given.
    return raw if raw.num_rows == len(joints) + 1 else None


def parse_compact(buf: bytearray) -> tuple[dict[str, Any], pa.Table] | None:
    """The bulk path for a compact bare list, or an export whose last top-level key is ``usage``
    (the gateway's order and ours).

    Returns the other top-level keys and the checked rows, or ``None`` when the document does not
    have that shape or any row needs the row-by-row path.
    """
    close = _skip_space(buf, len(buf) - 1, -1)
    first = _skip_space(buf, 0, 1)
    if close <= first:
        return None
    if buf[first] == ord("[") and buf[close] == ord("]"):
        top: Any = {}
        start = first + 1
    else:
        match = _USAGE_KEY.search(buf)
        if match is None or buf[close] != ord("}"):
            return None
        close = _skip_space(buf, close - 1, -1)
        if close < match.end() or buf[close] != ord("]"):
            return None
        head = bytes(buf[: match.start()]).rstrip(_JSON_SPACE)
        # Were the match nested (inside "registry"), closing the head with one brace would not parse.
        try:
            top = json.loads(head.removesuffix(b",") + b"}")
        except (ValueError, RecursionError):
            return None
        if not isinstance(top, dict):
            return None
        start = match.end()
    raw = _fast_rows(buf, start, close)
    if raw is None:
        return None
    try:
        table, suspect = check_table(raw)
    except pa.ArrowInvalid:
        return None
    # Rows to judge one by one need their decoded objects: the row-by-row path has them.
    return None if suspect.any() else (top, table)
