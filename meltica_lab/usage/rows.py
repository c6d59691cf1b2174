"""Many usage rows: :class:`UsageRows`, an immutable sequence of records kept as Arrow columns.

:data:`COLUMNS` is the one internal table layout; the parsers build tables in it and :func:`adopt` them,
:class:`UsageRows` turns them into records, gateway JSON objects, an Arrow table or a pandas frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, overload

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from meltica_lab.usage.records import UsageRecord
from meltica_lab.usage.times import ZERO_TIME, epoch_ns, format_time, parse_time

__all__ = ["COLUMNS", "UsageRows", "adopt", "records_table"]

TIMESTAMP = pa.timestamp("ns", tz="UTC")
INSTANCES = pa.list_(pa.string())
COLUMNS = pa.schema(
    [
        ("strategy", pa.string()),
        ("hash", pa.string()),
        ("instances", INSTANCES),  # null when there are none, as in the gateway's JSON
        ("count", pa.int64()),
        ("first_seen", TIMESTAMP),  # null = never
        ("last_seen", TIMESTAMP),
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
        self._table = records_table(records)

    def __len__(self) -> int:
        return self._table.num_rows

    @overload
    def __getitem__(self, index: int) -> UsageRecord: ...

    @overload
    def __getitem__(self, index: slice) -> UsageRows: ...

    def __getitem__(self, index: int | slice) -> UsageRecord | UsageRows:
        if isinstance(index, slice):
            positions = range(len(self))[index]
            return adopt(self._table.take(pa.array(positions, type=pa.int64())))
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


def records_table(records: Iterable[UsageRecord]) -> pa.Table:
    """Records as a table in the internal schema :data:`COLUMNS` (times as instants and as texts)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS.names}
    for record in records:
        columns["strategy"].append(record.strategy)
        columns["hash"].append(record.hash)
        columns["instances"].append(list(record.instances) or None)
        columns["count"].append(record.count)
        for key, value in (("first_seen", record.first_seen), ("last_seen", record.last_seen)):
            columns[key].append(None if value is None else epoch_ns(value))
            columns[f"{key}_text"].append(None if value is None else format_time(value))
    arrays = [
        pa.array(columns[name], type=pa.int64()).cast(column.type)
        if column.type == TIMESTAMP
        else pa.array(columns[name], type=column.type)
        for name, column in zip(COLUMNS.names, COLUMNS, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=COLUMNS)


def adopt(table: pa.Table) -> UsageRows:
    """Rows over a table in :data:`COLUMNS` whose every row has already been checked (the parsers' path)."""
    rows = UsageRows.__new__(UsageRows)
    rows._table = table
    return rows
