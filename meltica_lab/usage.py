"""Revision usage: which instances run which ``(strategy, hash)``, and since when.

Three parts, each usable alone:

* :class:`UsageRecord` — one ``RevisionUsageSummary`` exactly as the gateway writes it (compat §7):
  sorted instance ids (``null`` when none), ``count``, ``firstSeen``/``lastSeen`` as RFC 3339 with up
  to nine fraction digits and the zero time ``0001-01-01T00:00:00Z`` for "never".
* :class:`UsageIndex` — the live index with the gateway's semantics (``firstSeen`` set once,
  ``lastSeen`` on every start and stop, entries kept at zero), plus what the reference lacks: explicit
  retention (:meth:`UsageIndex.prune`), persistence across restarts (:meth:`UsageIndex.save` /
  :meth:`UsageIndex.load` / :meth:`UsageIndex.reset_running`) and Prometheus metrics in the index's own
  registry.
* :class:`UsageExport` / :func:`read_usage_export` — the gateway's registry-plus-usage export
  (``GET /strategies/registry``) or a bare list of summaries, from a file, a URL, JSON text or Python
  objects. Rows are kept as Arrow columns (:class:`UsageRows`), so a million-row export parses in
  about a second and turns into a pandas frame without building a million objects.

Times: Python's ``datetime`` stops at microseconds; a time with a finer fraction comes back as a
``pandas.Timestamp`` (a ``datetime`` subclass), so nothing the gateway writes is lost. Every time must
be timezone-aware and lie in the years 1678-2261, which a ``datetime64[ns]`` usage frame can hold.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from os import PathLike, fstat
from pathlib import Path
from typing import Any, BinaryIO, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from meltica_lab.errors import MelticaLabError, UsageError, UsageExportError
from meltica_lab.registry import atomic_write

__all__ = [
    "ZERO_TIME",
    "UsageExport",
    "UsageIndex",
    "UsageRecord",
    "UsageRows",
    "format_time",
    "parse_time",
    "parse_usage_export",
    "read_usage_export",
]

# -- times ------------------------------------------------------------------------------------------

ZERO_TIME = "0001-01-01T00:00:00Z"
"""How Go writes an unset ``time.Time``; the gateway never omits a time, it writes this instead."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO_INSTANT = datetime(1, 1, 1, tzinfo=UTC)
# Years 1678-2261: inside datetime64[ns] both as an instant and as wall-clock time under any offset.
_MIN_NS = pd.Timestamp("1678-01-01T00:00:00Z").value
_MAX_NS = pd.Timestamp("2262-01-01T00:00:00Z").value - 1
_TIME_RANGE = "a time in the years 1678-2261 (or the zero time)"
# One pattern for Python and for Arrow's RE2 (hence [0-9], not \d): RFC 3339 as Go writes it.
_TIME_PATTERN = (
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(?:\.([0-9]{1,9}))?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_TIME_RE = re.compile(_TIME_PATTERN)


def _epoch_ns(value: datetime) -> int:
    """Nanoseconds since 1970 of an aware ``datetime`` (``pandas.Timestamp`` keeps its nanoseconds)."""
    micros = (value - _EPOCH) // timedelta(microseconds=1)
    return micros * 1000 + getattr(value, "nanosecond", 0)


def parse_time(text: str) -> datetime | None:
    """Parse a gateway time: RFC 3339, any offset, 0-9 fraction digits; the zero time gives ``None``.

    Raises ``ValueError`` whose text says what was expected.
    """
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise ValueError("an RFC 3339 time such as 2025-11-04T13:32:54.123456789+02:00")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    digits = (fraction or "").ljust(9, "0")
    if zone == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), int(digits[:6]), tzinfo=tz
        )
    except ValueError as exc:  # 2025-02-30, year 0000
        raise ValueError(f"a valid calendar date ({exc})") from None
    nanos = int(digits[6:])
    if value == _ZERO_INSTANT and not nanos:
        return None
    epoch_ns = _epoch_ns(value) + nanos
    if not _MIN_NS <= epoch_ns <= _MAX_NS:
        raise ValueError(_TIME_RANGE)
    if not nanos:
        return value
    return pd.Timestamp(epoch_ns, tz=UTC).tz_convert(tz)


def format_time(value: datetime | None) -> str:
    """Write a time as Go's ``time.Time`` JSON does: RFC 3339, trailing zeros trimmed, ``Z`` for UTC.

    ``None`` is the zero time. An offset that is not whole minutes cannot be written in RFC 3339, so
    such a time is written in UTC (the same instant).
    """
    if value is None:
        return ZERO_TIME
    offset = value.utcoffset()
    if offset is None:
        raise UsageError(f"cannot write the naive time {value.isoformat()}: a timezone is required")
    if offset % timedelta(minutes=1):
        value, offset = value.astimezone(UTC), timedelta(0)
    nanos = value.microsecond * 1000 + getattr(value, "nanosecond", 0)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    if offset:
        minutes = abs(offset) // timedelta(minutes=1)
        zone = f"{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"
    else:
        zone = "Z"
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{fraction}{zone}"
    )


def _checked_time(value: datetime | None, field: str) -> datetime | None:
    """``value`` if it is aware and representable in a usage frame, else :class:`UsageError`."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise UsageError(f"{field}: expected a timezone-aware time, got {value.isoformat()}", field=field)
    if not _MIN_NS <= _epoch_ns(value) <= _MAX_NS:
        raise UsageError(f"{field}: expected {_TIME_RANGE}, got {value.isoformat()}", field=field)
    return value


# -- records ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageRecord:
    """Usage of one revision: the gateway's ``RevisionUsageSummary``.

    ``instances`` is kept sorted and free of duplicates; ``count`` must equal its length (the gateway's
    count is the size of the running set). ``first_seen`` is the first time any instance started on
    this revision, ``last_seen`` the latest start or stop; ``None`` means never.
    """

    strategy: str
    hash: str
    instances: tuple[str, ...] = ()
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def __post_init__(self) -> None:
        instances = tuple(sorted(set(self.instances)))
        if len(instances) != len(self.instances):
            raise UsageError(f"{self.strategy}@{self.hash}: duplicate instance ids in {self.instances}")
        if self.count != len(instances):
            raise UsageError(
                f"{self.strategy}@{self.hash}: count {self.count} does not match {len(instances)} instance(s)",
                field="count",
            )
        object.__setattr__(self, "instances", instances)
        _checked_time(self.first_seen, "first_seen")
        _checked_time(self.last_seen, "last_seen")

    @property
    def running(self) -> bool:
        """Whether at least one instance runs this revision now."""
        return self.count > 0

    @property
    def selector(self) -> str:
        """The pinned selector ``name@hash`` of this revision."""
        return f"{self.strategy}@{self.hash}"

    def to_dict(self) -> dict[str, Any]:
        """The gateway's JSON, key for key: ``instances`` is ``null`` when empty, unset times are the zero time."""
        return {
            "strategy": self.strategy,
            "hash": self.hash,
            "instances": list(self.instances) or None,
            "count": self.count,
            "firstSeen": format_time(self.first_seen),
            "lastSeen": format_time(self.last_seen),
            "running": self.running,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRecord:
        """Parse a ``RevisionUsageSummary`` as the gateway writes it (or as :meth:`to_dict` does).

        Tolerant where the gateway is: ``instances`` and the times may be ``null`` or absent, ``running``
        may be absent. Strict otherwise; a bad field raises :class:`UsageExportError` naming it.
        """
        return _read_row(data, source=None, row=None)


_MISSING = object()


def _describe(value: Any) -> str:
    """A short readable rendering of a JSON value for error messages."""
    if value is _MISSING:
        return "nothing (the key is missing)"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _export_error(source: str | None, row: int | None, field: str | None, message: str) -> UsageExportError:
    """A :class:`UsageExportError` whose text reads ``<source>: usage[<row>].<field>: <message>``."""
    where = f"usage[{row}]" if row is not None else ""
    if field:
        where = f"{where}.{field}" if where else field
    text = f"{where}: {message}" if where else message
    return UsageExportError(f"{source}: {text}" if source else text, path=source, field=field, row=row)


def _is_text(value: Any) -> bool:
    """A non-empty ``str`` that UTF-8 can carry (JSON's ``\\ud800`` decodes to a lone surrogate)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_row(data: Any, *, source: str | None, row: int | None) -> UsageRecord:
    """Check one usage object field by field; this is the authority on what a valid row is."""

    def fail(field: str | None, expected: str, value: Any) -> UsageExportError:
        return _export_error(source, row, field, f"expected {expected}, got {_describe(value)}")

    if not isinstance(data, Mapping):
        raise fail(None, "an object", data)
    strategy = data.get("strategy", _MISSING)
    if not _is_text(strategy):
        raise fail("strategy", "a non-empty Unicode string", strategy)
    # An empty hash is tolerated: gateway f58fcf3 recorded relaunches under "" (compat §13.11).
    digest = data.get("hash", _MISSING)
    if not (digest == "" or _is_text(digest)):
        raise fail("hash", "a Unicode string", digest)
    raw_instances = data.get("instances")
    if raw_instances is None:
        raw_instances = []
    elif not isinstance(raw_instances, list | tuple):
        raise fail("instances", "a list of instance ids or null", raw_instances)
    for position, ident in enumerate(raw_instances):
        if not _is_text(ident):
            raise fail(f"instances[{position}]", "a non-empty Unicode string", ident)
    instances = sorted(set(raw_instances))
    if len(instances) != len(raw_instances):
        duplicate = next(i for i in instances if raw_instances.count(i) > 1)
        raise _export_error(source, row, "instances", f"duplicate instance id {_describe(duplicate)}")
    count = data.get("count", _MISSING)
    if not isinstance(count, int) or isinstance(count, bool):
        raise fail("count", "an integer", count)
    if count != len(instances):
        raise fail("count", f"{len(instances)} (the number of instances)", count)
    times: list[datetime | None] = []
    for key in ("firstSeen", "lastSeen"):
        text = data.get(key)
        if text is None:
            times.append(None)
            continue
        if not isinstance(text, str):
            raise fail(key, "an RFC 3339 time string", text)
        try:
            times.append(parse_time(text))
        except ValueError as exc:
            raise fail(key, str(exc), text) from None
    running = data.get("running")
    if running is not None:
        if not isinstance(running, bool):
            raise fail("running", "a boolean", running)
        if running != (count > 0):
            raise fail("running", f"{str(count > 0).lower()} (count is {count})", running)
    return UsageRecord(strategy, digest, tuple(instances), count, times[0], times[1])


# -- the columnar form of many records --------------------------------------------------------------

_TIMESTAMP = pa.timestamp("ns", tz="UTC")
_INSTANCES = pa.list_(pa.string())
_COLUMNS = pa.schema(
    [
        ("strategy", pa.string()),
        ("hash", pa.string()),
        ("instances", _INSTANCES),  # null when there are none, as in the gateway's JSON
        ("count", pa.int64()),
        ("first_seen", _TIMESTAMP),  # null = never
        ("last_seen", _TIMESTAMP),
        ("first_seen_text", pa.string()),  # the times as written, so records keep their offsets
        ("last_seen_text", pa.string()),
    ]
)
_VALUE_COLUMNS = ["strategy", "hash", "instances", "count", "first_seen", "last_seen"]
_RECORD_COLUMNS = ["strategy", "hash", "instances", "count", "first_seen_text", "last_seen_text"]


def _text_time(text: str | None) -> datetime | None:
    """A stored time text back to a ``datetime`` (stored texts were validated on the way in)."""
    return None if text is None else parse_time(text)


class UsageRows(Sequence[UsageRecord]):
    """An immutable sequence of :class:`UsageRecord` kept as Arrow columns.

    Records are built on access, so a million-row export costs a million objects only if it is
    iterated; :meth:`to_frame` and :meth:`to_arrow` hand the columns to pandas or Arrow directly.
    Equality compares the values (times as instants, as ``datetime`` equality does).
    """

    __slots__ = ("_table",)

    def __init__(self, records: Iterable[UsageRecord] = ()) -> None:
        columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS.names}
        for record in records:
            columns["strategy"].append(record.strategy)
            columns["hash"].append(record.hash)
            columns["instances"].append(list(record.instances) or None)
            columns["count"].append(record.count)
            for key, value in (("first_seen", record.first_seen), ("last_seen", record.last_seen)):
                columns[key].append(None if value is None else _epoch_ns(value))
                columns[f"{key}_text"].append(None if value is None else format_time(value))
        arrays = [
            pa.array(columns[name], type=pa.int64()).cast(column.type)
            if column.type == _TIMESTAMP
            else pa.array(columns[name], type=column.type)
            for name, column in zip(_COLUMNS.names, _COLUMNS, strict=True)
        ]
        self._table = pa.Table.from_arrays(arrays, schema=_COLUMNS)

    @classmethod
    def _wrap(cls, table: pa.Table) -> UsageRows:
        """Adopt an already validated table with the internal schema (the fast parse path)."""
        rows = cls.__new__(cls)
        rows._table = table
        return rows

    def __len__(self) -> int:
        return self._table.num_rows

    @overload
    def __getitem__(self, index: int) -> UsageRecord: ...

    @overload
    def __getitem__(self, index: slice) -> UsageRows: ...

    def __getitem__(self, index: int | slice) -> UsageRecord | UsageRows:
        if isinstance(index, slice):
            positions = range(len(self))[index]
            return UsageRows._wrap(self._table.take(pa.array(positions, type=pa.int64())))
        position = range(len(self))[index]  # raises IndexError, accepts negative indexes
        return next(self._records(self._table.slice(position, 1)))

    def __iter__(self) -> Iterator[UsageRecord]:
        return self._records(self._table)

    @staticmethod
    def _values(table: pa.Table) -> Iterator[tuple[Any, ...]]:
        """Per row: strategy, hash, instances (list or None), count, first and last time text (or None)."""
        for batch in table.select(_RECORD_COLUMNS).to_batches(max_chunksize=65536):
            values = batch.to_pydict()
            yield from zip(*(values[name] for name in _RECORD_COLUMNS), strict=True)

    @classmethod
    def _records(cls, table: pa.Table) -> Iterator[UsageRecord]:
        for strategy, digest, instances, count, first, last in cls._values(table):
            yield UsageRecord(strategy, digest, tuple(instances or ()), count, _text_time(first), _text_time(last))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UsageRows):
            return NotImplemented
        return self._table.select(_VALUE_COLUMNS).equals(other._table.select(_VALUE_COLUMNS))

    def __repr__(self) -> str:
        return f"UsageRows({len(self)} rows)"

    def to_dicts(self) -> Iterator[dict[str, Any]]:
        """The rows as gateway JSON objects (:meth:`UsageRecord.to_dict`), without building records.

        Times are written as they were read (they are valid RFC 3339 either way).
        """
        for strategy, digest, instances, count, first, last in self._values(self._table):
            yield {
                "strategy": strategy,
                "hash": digest,
                "instances": instances,
                "count": count,
                "firstSeen": first or ZERO_TIME,
                "lastSeen": last or ZERO_TIME,
                "running": count > 0,
            }

    def to_arrow(self) -> pa.Table:
        """The columns: strategy, hash, instances (list or null), count, first/last_seen (UTC, ns)."""
        return self._table.select(_VALUE_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        """A pandas frame, one row per revision.

        Columns: ``strategy`` (categorical), ``hash``, ``instances`` (Arrow list of ids, ``<NA>`` when
        none), ``count``, ``running``, ``first_seen`` and ``last_seen`` (``datetime64[ns, UTC]``,
        ``NaT`` for never).
        """
        table = self._table
        count = table.column("count").to_numpy()
        return pd.DataFrame(
            {
                "strategy": pc.dictionary_encode(table.column("strategy")).to_pandas(),
                "hash": table.column("hash").to_pandas(),
                "instances": pd.Series(pd.arrays.ArrowExtensionArray(table.column("instances"))),
                "count": count,
                "running": count > 0,
                "first_seen": table.column("first_seen").to_pandas(),
                "last_seen": table.column("last_seen").to_pandas(),
            }
        )


@dataclass(frozen=True)
class UsageExport:
    """The gateway's registry-plus-usage export (``GET /strategies/registry``) or a bare usage list.

    ``registry`` is the registry object as the gateway read it (``None`` when the export had none),
    ``usage`` the rows, ``source`` where it came from (a path, a URL, or ``<json>``/``<object>``).
    """

    registry: dict[str, Any] | None
    usage: UsageRows
    source: str

    def to_frame(self) -> pd.DataFrame:
        """The usage rows as a pandas frame; see :meth:`UsageRows.to_frame`."""
        return self.usage.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """The gateway's export JSON: ``{"registry": …, "usage": [...] | null}``."""
        return _export_document(self.registry, list(self.usage.to_dicts()))

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON, as the gateway writes it (no HTML escaping, no trailing newline)."""
        return _compact_json(self.to_dict())


def _export_document(registry: Mapping[str, Any] | None, usage: list[dict[str, Any]]) -> dict[str, Any]:
    """The export's shape: an empty usage list is written as ``null``, as the gateway does."""
    return {"registry": registry, "usage": usage or None}


def _compact_json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- parsing exports --------------------------------------------------------------------------------

_JSON_SPACE = b" \t\n\r"
_USAGE_KEY = re.compile(rb'"usage"[ \t\n\r]*:[ \t\n\r]*\[')
_RAW_SCHEMA = pa.schema(
    [
        ("strategy", pa.string()),
        ("hash", pa.string()),
        ("instances", _INSTANCES),
        ("count", pa.int64()),
        ("firstSeen", pa.string()),
        ("lastSeen", pa.string()),
        ("running", pa.bool_()),
    ]
)
_SCAN_BYTES = 1 << 20
_READ_OPTIONS = pa_json.ReadOptions(use_threads=True, block_size=16 << 20)
_PARSE_OPTIONS = pa_json.ParseOptions(
    explicit_schema=_RAW_SCHEMA, unexpected_field_behavior="ignore", newlines_in_values=False
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
    suspect = _flags(pc.invert(pc.match_substring_regex(text, f"^{_TIME_PATTERN}$")))
    try:
        stamps = pc.cast(_blank(text, suspect), _TIMESTAMP)
    except pa.ArrowInvalid:  # an impossible date somewhere: find the rows, the common case never pays
        suspect |= _calendar_flags(_blank(text, suspect))
        stamps = pc.cast(_blank(text, suspect), _TIMESTAMP)
    nanos = stamps.cast(pa.int64())
    suspect |= _flags(pc.or_(pc.less(nanos, _MIN_NS), pc.greater(nanos, _MAX_NS)))
    return _blank(stamps, suspect), _blank(text, suspect), suspect


def _bulk_table(raw: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """Check raw rows in bulk: the table in the internal schema and the rows only :func:`_read_row` can judge.

    A row passes here only if :func:`_read_row` would accept it with the same values; anything else
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
        [strategy, digest, instances, count, first, last, first_text, last_text], schema=_COLUMNS
    )
    return table, suspect


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
        return pa.Table.from_batches([], schema=_RAW_SCHEMA)
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


def _fast_export(buf: bytearray) -> tuple[dict[str, Any], pa.Table] | None:
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
        table, suspect = _bulk_table(raw)
    except pa.ArrowInvalid:
        return None
    # Rows to judge one by one need their decoded objects: the row-by-row path has them.
    return None if suspect.any() else (top, table)


def _registry_part(document: Mapping[str, Any], source: str) -> dict[str, Any] | None:
    registry = document.get("registry")
    if registry is not None and not isinstance(registry, Mapping):
        raise _export_error(source, None, "registry", f"expected an object or null, got {_describe(registry)}")
    return None if registry is None else dict(registry)


def _raw_from_objects(rows: Sequence[Any]) -> pa.Table | None:
    """Decoded rows as raw columns. A row whose Python types are not plainly right keeps nulls, which
    :func:`_bulk_table` flags; ``None`` if the columns cannot be built at all (text UTF-8 cannot carry)."""
    columns: list[list[Any]] = [[None] * len(rows) for _ in _RAW_SCHEMA.names]
    for position, row in enumerate(rows):
        if type(row) is not dict:
            continue
        values = [row.get(name) for name in _RAW_SCHEMA.names]
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
            [pa.array(column, type=field.type) for column, field in zip(columns, _RAW_SCHEMA, strict=True)],
            schema=_RAW_SCHEMA,
        )
    except UnicodeEncodeError:
        return None


def _usage_rows(rows: Sequence[Any], source: str) -> UsageRows:
    """Bulk checks for every row, :func:`_read_row` for the flagged ones (or all, if bulk is impossible).

    Unflagged rows are valid by construction, so the first flagged row that :func:`_read_row` rejects
    is the first bad row of the document, whichever way it was checked.
    """
    raw = _raw_from_objects(rows)
    checked = None
    if raw is not None:
        try:
            checked = _bulk_table(raw)
        except pa.ArrowInvalid:
            checked = None
    if checked is None:
        return UsageRows(_read_row(row, source=source, row=position) for position, row in enumerate(rows))
    table, suspect = checked
    flagged = np.flatnonzero(suspect)
    if not len(flagged):
        return UsageRows._wrap(table)
    judged = UsageRows(_read_row(rows[position], source=source, row=int(position)) for position in flagged)
    kept = np.flatnonzero(~suspect)
    order = np.argsort(np.concatenate([kept, flagged]), kind="stable")
    merged = pa.concat_tables([table.take(pa.array(kept)), judged._table]).take(pa.array(order))
    return UsageRows._wrap(merged.combine_chunks())


def _export_from_objects(document: Any, source: str) -> UsageExport:
    """Decoded JSON (or Python objects) to an export: exact messages, normalisation of what it can fix."""
    if isinstance(document, Mapping):
        if "usage" not in document:
            raise _export_error(source, None, None, 'expected an object with a "usage" key or a list of usage records')
        registry = _registry_part(document, source)
        rows = document["usage"]
        if rows is None:
            rows = []
        elif not isinstance(rows, list | tuple):
            raise _export_error(source, None, "usage", f"expected a list or null, got {_describe(rows)}")
    elif isinstance(document, list | tuple):
        registry, rows = None, document
    else:
        raise _export_error(
            source, None, None, f"expected an export object or a list of usage records, got {_describe(document)}"
        )
    return UsageExport(registry, _usage_rows(rows, source), source)


def _export_from_buffer(buf: bytearray, source: str) -> UsageExport:
    fast = _fast_export(buf)
    if fast is not None:
        top, table = fast
        return UsageExport(_registry_part(top, source), UsageRows._wrap(table), source)
    try:
        document = json.loads(buf)
    except (ValueError, RecursionError) as exc:
        raise _export_error(source, None, None, f"not valid JSON: {exc}") from None
    return _export_from_objects(document, source)


def parse_usage_export(
    data: bytes | bytearray | str | Mapping[str, Any] | Sequence[Any], *, source: str = "<json>"
) -> UsageExport:
    """Parse an export that is already in memory: JSON bytes or text, a dict, or a list of summaries.

    ``source`` names the data in error messages. A ``bytearray`` is used in place and left as it was.
    A compact document (the gateway's and :meth:`UsageExport.to_json`'s form) is parsed by Arrow and
    checked in bulk; anything else is decoded by ``json`` first, then checked in bulk too. Rows the bulk
    checks cannot vouch for are judged one by one, with the same result either way.
    """
    if isinstance(data, bytearray):
        return _export_from_buffer(data, source)
    if isinstance(data, bytes):
        return _export_from_buffer(bytearray(data), source)
    if isinstance(data, str):
        return _export_from_buffer(bytearray(data, "utf-8"), source)
    return _export_from_objects(data, source)


def _read_stream(stream: BinaryIO, size: int | None) -> bytearray:
    """All bytes of ``stream`` in one writable buffer, without an extra copy when the size is known."""
    if size is None:
        return bytearray(stream.read())
    buf = bytearray(size)
    filled = stream.readinto(buf) or 0
    del buf[filled:]
    buf += stream.read()  # the source grew after its size was taken
    return buf


def _read_file(path: Path) -> bytearray:
    with path.open("rb") as handle:
        return _read_stream(handle, fstat(handle.fileno()).st_size)


def _fetch(url: str) -> bytearray:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            length = response.headers.get("Content-Length")
            return _read_stream(response, int(length) if length and length.isdigit() else None)
    except urllib.error.HTTPError as exc:
        lines = exc.read().decode("utf-8", "replace").strip().splitlines()
        raise _export_error(url, None, None, f"HTTP {exc.code}: {lines[0][:200] if lines else exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _export_error(url, None, None, f"cannot fetch: {exc}") from None


def read_usage_export(
    source: str | PathLike[str] | bytes | Mapping[str, Any] | Sequence[Any],
) -> UsageExport:
    """Read a usage export from wherever it is.

    ``source`` may be a path, an ``http(s)://`` URL (a gateway's ``GET /strategies/registry``; for a
    token or retries use ``GatewayClient.registry_export``), JSON
    text (a string starting with ``{`` or ``[``), JSON bytes, a dict ``{"registry": …, "usage": [...] |
    null}`` or a bare list of ``RevisionUsageSummary`` objects. Wrong shapes raise
    :class:`UsageExportError` naming the source and the element, e.g.
    ``usage.json: usage[3].count: expected an integer, got "x"``.
    """
    if isinstance(source, Mapping):
        return parse_usage_export(source, source="<object>")
    if isinstance(source, bytes | bytearray):
        return parse_usage_export(source, source="<json>")
    if isinstance(source, str):
        if source.startswith(("http://", "https://")):
            return parse_usage_export(_fetch(source), source=source)
        if source.lstrip()[:1] in ("{", "["):
            return parse_usage_export(source, source="<json>")
    elif not isinstance(source, PathLike):
        return parse_usage_export(source, source="<list>")
    path = Path(source)
    try:
        data = _read_file(path)
    except OSError as exc:
        raise _export_error(str(path), None, None, f"cannot read: {exc.strerror or exc}") from None
    return parse_usage_export(data, source=str(path))


# -- the live index ---------------------------------------------------------------------------------


class _Entry:
    """Mutable state of one (strategy, hash) inside the index; guarded by the index lock."""

    __slots__ = ("first_seen", "hash", "instances", "last_seen", "starts", "stops", "strategy")

    def __init__(self, strategy: str, digest: str) -> None:
        self.strategy = strategy
        self.hash = digest
        self.instances: set[str] = set()
        self.first_seen: datetime | None = None
        self.last_seen: datetime | None = None
        self.starts = 0  # metric counters: ids newly added / removed since this process began
        self.stops = 0

    def record(self) -> UsageRecord:
        return UsageRecord(
            self.strategy,
            self.hash,
            tuple(self.instances),
            len(self.instances),
            self.first_seen,
            self.last_seen,
        )


def _key(strategy: str, digest: str) -> tuple[str, str]:
    """The gateway's key: trimmed lower-case strategy, trimmed hash (compat §7)."""
    name, digest = strategy.strip().lower(), digest.strip()
    if not name:
        raise UsageError(f"strategy: expected a non-empty name, got {strategy!r}", field="strategy")
    if not digest:
        raise UsageError(f"hash: expected a revision hash for {name}, got {digest!r}", field="hash")
    return name, digest


def _instance_id(instance_id: str) -> str:
    ident = instance_id.strip()
    if not ident:
        raise UsageError(f"instance_id: expected a non-empty id, got {instance_id!r}", field="instance_id")
    return ident


def _when(at: datetime | None, field: str) -> datetime:
    checked = _checked_time(at, field)
    return datetime.now(UTC) if checked is None else checked


class UsageIndex:
    """Thread-safe index of which instances run which revision, with the gateway's semantics (§7).

    Entries are keyed by (lower-cased strategy, hash). ``firstSeen`` is set by the first start and never
    reset; ``lastSeen`` moves on every start and every stop that changed something; a stopped revision
    keeps its entry at count 0 until :meth:`prune` removes it explicitly.

    Metrics live in the index's own :attr:`metrics_registry` (never the process-global one):
    ``strategy_revision_instances{strategy,hash}`` (gauge, running count of every entry) and
    ``strategy_revision_instances_total{strategy,hash,action="start"|"stop"}`` (counter, ids newly added
    or removed in this process).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self.metrics_registry = CollectorRegistry(auto_describe=False)
        self.metrics_registry.register(self)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _entry(self, key: tuple[str, str]) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(*key)
        return entry

    def ensure(self, strategy: str, hash: str) -> UsageRecord:
        """Create a zero entry for a revision an instance spec refers to, if there is none yet."""
        key = _key(strategy, hash)
        with self._lock:
            return self._entry(key).record()

    def record_start(self, strategy: str, hash: str, instance_id: str, at: datetime | None = None) -> UsageRecord:
        """An instance launched on this revision (``at`` defaults to now, UTC).

        A new id joins the running set, sets ``firstSeen`` if unset, moves ``lastSeen`` and counts one
        ``start``; an id already present only moves ``lastSeen``.
        """
        key, ident, when = _key(strategy, hash), _instance_id(instance_id), _when(at, "at")
        with self._lock:
            entry = self._entry(key)
            if ident not in entry.instances:
                entry.instances.add(ident)
                entry.starts += 1
                if entry.first_seen is None:
                    entry.first_seen = when
            entry.last_seen = when
            return entry.record()

    def record_stop(self, strategy: str, hash: str, instance_id: str, at: datetime | None = None) -> UsageRecord:
        """An instance stopped running this revision: if it was running, it leaves the set, ``lastSeen``
        moves and one ``stop`` is counted; otherwise nothing changes. The entry itself stays."""
        key, ident, when = _key(strategy, hash), _instance_id(instance_id), _when(at, "at")
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return UsageRecord(*key)
            if ident in entry.instances:
                entry.instances.remove(ident)
                entry.stops += 1
                entry.last_seen = when
            return entry.record()

    def get(self, strategy: str, hash: str) -> UsageRecord:
        """Usage of one revision; a revision never seen gives a zero record (count 0, no times)."""
        key = _key(strategy, hash)
        with self._lock:
            entry = self._entries.get(key)
            return entry.record() if entry is not None else UsageRecord(*key)

    def snapshot(self) -> list[UsageRecord]:
        """Every entry, zero counts included, sorted by strategy then hash."""
        with self._lock:
            return [self._entries[key].record() for key in sorted(self._entries)]

    def export(self, registry: Mapping[str, Any] | None = None) -> UsageExport:
        """The index as a usage export (with ``registry`` beside it, if given), e.g. for analysis."""
        return UsageExport(None if registry is None else dict(registry), UsageRows(self.snapshot()), "<usage index>")

    def prune(self, older_than: timedelta, now: datetime | None = None) -> list[UsageRecord]:
        """Remove idle entries: count 0 and ``lastSeen`` before ``now - older_than``.

        An entry that never ran has the zero time as ``lastSeen`` and is older than any cutoff. Entries
        with running instances are never removed. Returns the removed records, sorted.
        """
        if older_than < timedelta(0):
            raise UsageError(f"older_than: expected a non-negative duration, got {older_than}", field="older_than")
        cutoff = _when(now, "now") - older_than
        with self._lock:
            idle = sorted(
                key
                for key, entry in self._entries.items()
                if not entry.instances and (entry.last_seen is None or entry.last_seen < cutoff)
            )
            return [self._entries.pop(key).record() for key in idle]

    def reset_running(self) -> list[UsageRecord]:
        """Empty every running set, keeping the times: for use after a restart, when the instances a
        saved index lists run no more. Returns the records that had running instances, as they were."""
        with self._lock:
            running = [self._entries[key] for key in sorted(self._entries) if self._entries[key].instances]
            before = [entry.record() for entry in running]
            for entry in running:
                entry.instances.clear()
            return before

    # -- persistence --------------------------------------------------------------------------------

    def save(self, path: str | PathLike[str]) -> None:
        """Write the index as a usage export (``{"registry": null, "usage": [...]}``) atomically:
        a temporary file in the same directory, fsync, then replace. On failure the old file stays."""
        target = Path(path)
        try:
            atomic_write(target, _compact_json(_export_document(None, [r.to_dict() for r in self.snapshot()])))
        except OSError as exc:
            raise MelticaLabError(
                f"{target}: cannot save the usage index: {exc.strerror or exc}", path=str(target)
            ) from None

    @classmethod
    def load(cls, path: str | PathLike[str]) -> UsageIndex:
        """Read an index written by :meth:`save` (or any usage export). A missing file gives an empty
        index; an unreadable or malformed one raises :class:`UsageExportError` naming the file.

        Running sets are restored as saved; call :meth:`reset_running` when those instances are known
        to have stopped (a process restart)."""
        source = Path(path)
        try:
            data = _read_file(source)
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise _export_error(str(source), None, None, f"cannot read: {exc.strerror or exc}") from None
        index = cls()
        for row, record in enumerate(parse_usage_export(data, source=str(source)).usage):
            try:
                key = _key(record.strategy, record.hash)
            except UsageError as exc:
                raise _export_error(str(source), row, exc.field, exc.message) from None
            if key in index._entries:
                raise _export_error(str(source), row, None, f"a second entry for {key[0]}@{key[1]}")
            entry = index._entries[key] = _Entry(*key)
            entry.instances.update(record.instances)
            entry.first_seen, entry.last_seen = record.first_seen, record.last_seen
        return index

    # -- metrics ------------------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector protocol: the gauge and counter families, one sample set per entry."""
        gauge = GaugeMetricFamily(
            "strategy_revision_instances",
            "Running instances per strategy revision.",
            labels=["strategy", "hash"],
        )
        counter = CounterMetricFamily(
            "strategy_revision_instances_total",
            "Instance ids added to (start) or removed from (stop) a revision's running set.",
            labels=["strategy", "hash", "action"],
        )
        with self._lock:
            for key in sorted(self._entries):
                entry = self._entries[key]
                gauge.add_metric(list(key), len(entry.instances))
                counter.add_metric([*key, "start"], entry.starts)
                counter.add_metric([*key, "stop"], entry.stops)
        yield gauge
        yield counter

    def metrics_text(self) -> str:
        """The metrics in the Prometheus text format (0.0.4)."""
        return generate_latest(self.metrics_registry).decode("utf-8")

    def serve_metrics(self, port: int, addr: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
        """Serve :meth:`metrics_text` at ``http://addr:port/metrics`` from a daemon thread.

        Always the classic text format: its counter family is ``…_total``, so it does not clash with
        the gauge of the same base name, as it would in OpenMetrics. ``port=0`` picks a free port
        (see ``server.server_address``); stop with ``server.shutdown(); server.server_close()``.
        """
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/", "/metrics"):
                    self.send_error(404, "only /metrics is served here")
                    return
                body = index.metrics_text().encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Scrapes are routine; keep them out of stderr."""

        server = http.server.ThreadingHTTPServer((addr, port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="usage-metrics", daemon=True).start()
        return server
