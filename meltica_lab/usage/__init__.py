"""Revision usage: which instances run which ``(strategy, hash)``, and since when.

A package by concern, each module usable alone and importing only those above it in this list:

* :mod:`~meltica_lab.usage.times` — RFC 3339 times as Go writes them (:func:`parse_time`,
  :func:`format_time`, :data:`ZERO_TIME`).
* :mod:`~meltica_lab.usage.records` — :class:`UsageRecord`, one ``RevisionUsageSummary``, and
  ``read_row``, the readable specification of a valid row.
* :mod:`~meltica_lab.usage.rows` — :class:`UsageRows`, many records kept as Arrow columns.
* :mod:`~meltica_lab.usage.bulk` — the same checks as ``read_row``, a column at a time.
* :mod:`~meltica_lab.usage.fast` — the JSON fast path (Arrow's reader) behind one function.
* :mod:`~meltica_lab.usage.fetch` — export bytes from a file or an ``http(s)://`` URL.
* :mod:`~meltica_lab.usage.export` — :class:`UsageExport`, :func:`parse_usage_export`,
  :func:`read_usage_export`.
* :mod:`~meltica_lab.usage.metrics` and :mod:`~meltica_lab.usage.server` — Prometheus metrics and a
  ``/metrics`` endpoint.
* :mod:`~meltica_lab.usage.index` — :class:`UsageIndex`, the live index with retention,
  persistence and metrics.
"""

from __future__ import annotations

from meltica_lab.usage.export import UsageExport, parse_usage_export, read_usage_export
from meltica_lab.usage.index import UsageIndex
from meltica_lab.usage.records import UsageRecord
from meltica_lab.usage.rows import UsageRows
from meltica_lab.usage.times import ZERO_TIME, format_time, parse_time

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
