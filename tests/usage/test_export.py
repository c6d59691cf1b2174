"""Usage exports: every input form, the gateway shape byte for byte, errors naming the element,
and bulk against row-by-row parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meltica_lab.errors import UsageExportError
from meltica_lab.usage import (
    UsageExport,
    UsageRecord,
    UsageRows,
    parse_time,
    parse_usage_export,
    read_usage_export,
)
from tests.gateway_server import FakeGateway
from tests.usage.samples import GATEWAY_EXPORT, H1, usage_rows

# -- exports ----------------------------------------------------------------------------------------


def test_gateway_export_parses_into_records_and_registry() -> None:
    export = parse_usage_export(GATEWAY_EXPORT.encode())
    assert export.registry is not None and list(export.registry) == ["demo"]
    rows = list(export.usage)
    assert rows[0] == UsageRecord(
        "demo",
        H1,
        (),
        0,
        parse_time("2025-11-04T11:32:54.123456789Z"),
        datetime(2025, 11, 4, 12, 0, 0, 500000, tzinfo=UTC),
    )
    assert rows[1].instances == ("a", "b") and rows[1].running
    assert rows[2] == UsageRecord("idle", H1)


def test_gateway_export_writes_back_byte_for_byte() -> None:
    export = parse_usage_export(GATEWAY_EXPORT)
    assert export.to_json() == GATEWAY_EXPORT.encode()


def test_every_input_form_gives_the_same_rows(tmp_path: Path) -> None:
    document = json.loads(GATEWAY_EXPORT)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, indent=2), "utf-8")
    expected = parse_usage_export(GATEWAY_EXPORT).usage
    forms: list[Any] = [
        path,
        str(path),
        GATEWAY_EXPORT,
        GATEWAY_EXPORT.encode(),
        document,
        document["usage"],
        json.dumps(document["usage"]),
    ]
    for form in forms:
        assert read_usage_export(form).usage == expected, form


def test_sources_are_named_by_form(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_text("[]", "utf-8")
    assert read_usage_export(path).source == str(path)
    assert read_usage_export("[]").source == "<json>"
    assert read_usage_export({"usage": None}).source == "<object>"
    assert read_usage_export([]).source == "<list>"


def test_null_usage_and_null_or_missing_registry_are_accepted() -> None:
    assert read_usage_export('{"registry":null,"usage":null}') == UsageExport(None, UsageRows(), "<json>")
    assert read_usage_export('{"usage":[]}').registry is None
    assert read_usage_export('{"registry":{},"usage":null}').registry == {}


def test_a_bytearray_is_left_as_it_was() -> None:
    data = bytearray(GATEWAY_EXPORT.encode())
    parse_usage_export(data)
    assert data == GATEWAY_EXPORT.encode()


def test_read_from_a_gateway_url() -> None:
    with FakeGateway() as gateway:
        export = read_usage_export(f"{gateway.url}/strategies/registry")
        assert export.registry == gateway.registry
        assert list(export.usage) == gateway.usage.snapshot()
        assert export.source == f"{gateway.url}/strategies/registry"
        gateway.registry_error = 'strategy loader: decode registry "registry.json": unexpected end of JSON input'
        with pytest.raises(UsageExportError, match=f"^{gateway.url}/strategies/registry: HTTP 500"):
            read_usage_export(f"{gateway.url}/strategies/registry")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageExportError, match=f"^{tmp_path / 'none.json'}: cannot read: No such file"):
        read_usage_export(tmp_path / "none.json")


def _row(**changes: Any) -> dict[str, Any]:
    row = {
        "strategy": "demo",
        "hash": H1,
        "instances": ["a"],
        "count": 1,
        "firstSeen": "2025-11-04T13:32:54Z",
        "lastSeen": "2025-11-04T13:32:54Z",
        "running": True,
    }
    for key, value in changes.items():
        if value is _DROP:
            del row[key]
        else:
            row[key] = value
    return row


_DROP = object()
_GOOD = _row()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{nope", "not valid JSON"),
        ("5", "expected an export object or a list of usage records, got 5"),
        ({"registry": {}}, 'expected an object with a "usage" key or a list of usage records'),
        ({"usage": {"a": 1}}, "usage: expected a list or null, got an object"),
        ({"registry": [], "usage": []}, "registry: expected an object or null, got a list"),
        ([_GOOD, 5], "usage[1]: expected an object, got 5"),
        ([_row(strategy=_DROP)], "usage[0].strategy: expected a non-empty Unicode string, got nothing"),
        ([_row(strategy="")], 'usage[0].strategy: expected a non-empty Unicode string, got ""'),
        ([_row(strategy=7)], "usage[0].strategy: expected a non-empty Unicode string, got 7"),
        ([_row(hash=None)], "usage[0].hash: expected a Unicode string, got null"),
        ([_row(instances="a")], 'usage[0].instances: expected a list of instance ids or null, got "a"'),
        ([_row(instances=["a", 2], count=2)], "usage[0].instances[1]: expected a non-empty Unicode string, got 2"),
        ([_row(instances=[""])], 'usage[0].instances[0]: expected a non-empty Unicode string, got ""'),
        ([_row(instances=["a", "a"], count=2)], 'usage[0].instances: duplicate instance id "a"'),
        ([_GOOD, _GOOD, _GOOD, _row(count="x")], 'usage[3].count: expected an integer, got "x"'),
        ([_row(count=_DROP)], "usage[0].count: expected an integer, got nothing"),
        ([_row(count=1.0)], "usage[0].count: expected an integer, got 1.0"),
        ([_row(count=True)], "usage[0].count: expected an integer, got true"),
        ([_row(count=2)], "usage[0].count: expected 1 (the number of instances), got 2"),
        ([_row(firstSeen=5)], "usage[0].firstSeen: expected an RFC 3339 time string, got 5"),
        ([_row(lastSeen="yesterday")], "usage[0].lastSeen: expected an RFC 3339 time such as"),
        ([_row(lastSeen="2025-02-30T00:00:00Z")], "usage[0].lastSeen: expected a valid calendar date"),
        ([_row(firstSeen="2300-01-01T00:00:00Z")], "usage[0].firstSeen: expected a time in the years 1678-2261"),
        ([_row(running="yes")], 'usage[0].running: expected a boolean, got "yes"'),
        ([_row(running=False)], "usage[0].running: expected true (count is 1), got false"),
    ],
)
def test_wrong_shapes_name_the_source_and_the_element(document: Any, message: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    for data in (text, text.encode()) + (() if isinstance(document, str) else (document,)):
        with pytest.raises(UsageExportError) as caught:
            parse_usage_export(data, source="export.json")
        assert caught.value.message.startswith(f"export.json: {message}"), caught.value.message
        assert caught.value.path == "export.json"


def test_row_errors_carry_the_row_and_field() -> None:
    with pytest.raises(UsageExportError) as caught:
        parse_usage_export([_GOOD, _row(count="x")])
    assert (caught.value.row, caught.value.field) == (1, "count")


def test_tolerated_variants_are_normalised_the_same_on_both_paths() -> None:
    rows = [
        _row(instances=["b", "a"], count=2),  # unsorted ids
        _row(instances=[], count=0, running=False),  # [] instead of null
        _row(firstSeen="0001-01-01T02:00:00+02:00"),  # the zero time with an offset
        _row(running=_DROP, unknown={"nested": [1, {"x": 2}]}),  # running absent, unknown key
        _row(strategy="x},{y"),  # a row joint inside a string
    ]
    compact = parse_usage_export(json.dumps(rows, separators=(",", ":")))
    assert compact.usage == parse_usage_export(rows).usage
    assert [r.instances for r in compact.usage][:2] == [("a", "b"), ()]
    assert next(iter(compact.usage[2:3])).first_seen is None


def _outcome(data: Any) -> tuple[str, Any]:
    try:
        export = parse_usage_export(data, source="s")
    except UsageExportError as exc:
        return "error", (exc.row, exc.field, exc.message)
    return "ok", (export.registry, list(export.usage))


def _authority(rows: list[Any]) -> tuple[str, Any]:
    """Record by record through UsageRecord.from_dict: what every bulk shortcut must agree with."""
    result = []
    for position, row in enumerate(rows):
        try:
            result.append(UsageRecord.from_dict(row))
        except UsageExportError as exc:
            return "error", (position, exc.field)
    return "ok", result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage_rows(), st.sampled_from([None, {}, {"demo": {"tags": {}, "hashes": {}}}]))
def test_bulk_and_row_by_row_parsing_agree_on_every_document(rows: list[Any], registry: Any) -> None:
    document = {"registry": registry, "usage": rows}
    expected = _outcome(document)
    assert _outcome(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()) == expected
    assert _outcome(json.dumps(document, indent=1)) == expected
    assert _outcome(json.dumps(rows, separators=(",", ":"))) == _outcome(rows)
    kind, detail = expected
    authority = _authority(rows)
    assert kind == authority[0]
    assert (detail[:2] if kind == "error" else detail[1]) == authority[1]
