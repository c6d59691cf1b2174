"""Usage exports: :class:`UsageExport`, :func:`parse_usage_export` and :func:`read_usage_export`.

The gateway's registry-plus-usage export (``GET /strategies/registry``) or a bare list of summaries,
from a file, a URL, JSON text or Python objects. A compact document goes through the fast path
(:func:`~meltica_lab.usage.fast.parse_compact`); anything else is decoded by ``json`` and checked in
bulk (:mod:`meltica_lab.usage.bulk`), with :func:`~meltica_lab.usage.records.read_row` judging the rows
the bulk checks flag. Either way the rows and the first error are the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from meltica_lab.usage.bulk import check_table, raw_from_objects
from meltica_lab.usage.fast import parse_compact
from meltica_lab.usage.fetch import fetch_url, read_file
from meltica_lab.usage.records import describe, export_error, read_row
from meltica_lab.usage.rows import UsageRows, adopt, records_table

__all__ = ["UsageExport", "compact_json", "export_document", "parse_usage_export", "read_usage_export"]


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
        return export_document(self.registry, list(self.usage.to_dicts()))

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON, as the gateway writes it (no HTML escaping, no trailing newline)."""
        return compact_json(self.to_dict())


def export_document(registry: Mapping[str, Any] | None, usage: list[dict[str, Any]]) -> dict[str, Any]:
    """The export's shape: an empty usage list is written as ``null``, as the gateway does."""
    return {"registry": registry, "usage": usage or None}


def compact_json(document: Any) -> bytes:
    """Compact UTF-8 JSON as the gateway writes it: no ASCII escaping, no spaces, no trailing newline."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _registry_part(document: Mapping[str, Any], source: str) -> dict[str, Any] | None:
    registry = document.get("registry")
    if registry is not None and not isinstance(registry, Mapping):
        raise export_error(source, None, "registry", f"expected an object or null, got {describe(registry)}")
    return None if registry is None else dict(registry)


def _usage_rows(rows: Sequence[Any], source: str) -> UsageRows:
    """Bulk checks for every row, :func:`read_row` for the flagged ones (or all, if bulk is impossible).

    Unflagged rows are valid by construction, so the first flagged row that :func:`read_row` rejects
    is the first bad row of the document, whichever way it was checked.
    """
    raw = raw_from_objects(rows)
    checked = None
    if raw is not None:
        try:
            checked = check_table(raw)
        except pa.ArrowInvalid:
            checked = None
    if checked is None:
        return UsageRows(read_row(row, source=source, row=position) for position, row in enumerate(rows))
    table, suspect = checked
    flagged = np.flatnonzero(suspect)
    if not len(flagged):
        return adopt(table)
    judged = records_table(read_row(rows[position], source=source, row=int(position)) for position in flagged)
    kept = np.flatnonzero(~suspect)
    order = np.argsort(np.concatenate([kept, flagged]), kind="stable")
    merged = pa.concat_tables([table.take(pa.array(kept)), judged]).take(pa.array(order))
    return adopt(merged.combine_chunks())


def _export_from_objects(document: Any, source: str) -> UsageExport:
    """Decoded JSON (or Python objects) to an export: exact messages, normalisation of what it can fix."""
    if isinstance(document, Mapping):
        if "usage" not in document:
            raise export_error(source, None, None, 'expected an object with a "usage" key or a list of usage records')
        registry = _registry_part(document, source)
        rows = document["usage"]
        if rows is None:
            rows = []
        elif not isinstance(rows, list | tuple):
            raise export_error(source, None, "usage", f"expected a list or null, got {describe(rows)}")
    elif isinstance(document, list | tuple):
        registry, rows = None, document
    else:
        raise export_error(
            source, None, None, f"expected an export object or a list of usage records, got {describe(document)}"
        )
    return UsageExport(registry, _usage_rows(rows, source), source)


def _export_from_buffer(buf: bytearray, source: str) -> UsageExport:
    fast = parse_compact(buf)
    if fast is not None:
        top, table = fast
        return UsageExport(_registry_part(top, source), adopt(table), source)
    try:
        document = json.loads(buf)
    except (ValueError, RecursionError) as exc:
        raise export_error(source, None, None, f"not valid JSON: {exc}") from None
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
            return parse_usage_export(fetch_url(source), source=source)
        if source.lstrip()[:1] in ("{", "["):
            return parse_usage_export(source, source="<json>")
    elif not isinstance(source, PathLike):
        return parse_usage_export(source, source="<list>")
    path = Path(source)
    try:
        data = read_file(path)
    except OSError as exc:
        raise export_error(str(path), None, None, f"cannot read: {exc.strerror or exc}") from None
    return parse_usage_export(data, source=str(path))
