"""The JSON fast path against ``read_row``, the readable specification of a valid row.

:func:`~meltica_lab.usage.fast.parse_compact` may decline a document ("not for me": ``None``), and the
caller then takes the row-by-row path; what it accepts it must accept exactly as ``read_row`` does.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meltica_lab.errors import UsageExportError
from meltica_lab.usage.fast import parse_compact
from meltica_lab.usage.records import UsageRecord, read_row
from meltica_lab.usage.rows import adopt
from tests.usage.samples import GATEWAY_EXPORT, records, usage_rows

_REGISTRIES = st.sampled_from([None, {}, {"demo": {"tags": {}, "hashes": {}}}])


def _compact(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _specified(rows: list[Any]) -> list[UsageRecord] | None:
    """The rows as ``read_row`` reads them, or ``None`` if it rejects any."""
    try:
        return [read_row(row, source=None, row=position) for position, row in enumerate(rows)]
    except UsageExportError:
        return None


def _offsets(rows: list[UsageRecord]) -> list[Any]:
    return [tuple(t.utcoffset() if t else None for t in (r.first_seen, r.last_seen)) for r in rows]


def test_compact_gateway_export_takes_the_bulk_path() -> None:
    assert parse_compact(bytearray(GATEWAY_EXPORT.encode())) is not None
    bare = json.dumps(json.loads(GATEWAY_EXPORT)["usage"], separators=(",", ":"))
    assert parse_compact(bytearray(bare.encode())) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage_rows(), _REGISTRIES, st.booleans())
def test_what_the_fast_path_accepts_read_row_accepts_with_the_same_rows(
    rows: list[Any], registry: Any, bare: bool
) -> None:
    data = _compact(rows if bare else {"registry": registry, "usage": rows})
    buf = bytearray(data)
    fast = parse_compact(buf)
    assert buf == data  # the caller's buffer is left as it was, accepted or not
    expected = _specified(rows)
    if fast is None:
        return
    assert expected is not None, "the fast path accepted a row read_row rejects"
    top, table = fast
    got = list(adopt(table))
    assert got == expected
    assert _offsets(got) == _offsets(expected)
    assert top == ({} if bare else {"registry": registry})


@settings(max_examples=200, deadline=None)
@given(st.lists(records(), max_size=6), _REGISTRIES, st.booleans())
def test_the_fast_path_accepts_every_document_the_gateway_writes(
    rows: list[UsageRecord], registry: Any, bare: bool
) -> None:
    dicts = [row.to_dict() for row in rows]
    data = _compact(dicts if bare else {"registry": registry, "usage": dicts})
    buf = bytearray(data)
    fast = parse_compact(buf)
    assert buf == data
    assert fast is not None, data[:200]
    assert list(adopt(fast[1])) == _specified(dicts) == rows
