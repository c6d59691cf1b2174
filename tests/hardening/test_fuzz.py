"""Fuzzing the parsers: selectors, registry documents, market-data CSV rows and usage-export rows.

The rule for every property here: whatever the input, the parser returns a value or raises a
:class:`MelticaLabError` subclass (the documented errors). Anything else (a ``KeyError``, a
``ValueError`` from deep inside pandas or Arrow, an ``OverflowError``) is a bug. Where a value comes
back, it must also be sound: selectors and registries survive a round trip through their text, and
market data holds only finite, positive prices in time order.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meltica_lab.backtest.data import load_market_data
from meltica_lab.errors import MelticaLabError
from meltica_lab.registry import Registry, load_registry
from meltica_lab.selectors import Selector
from meltica_lab.usage import parse_usage_export
from tests.hardening.conftest import T0

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEX = "0123456789abcdefABCDEF"
_files = itertools.count()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the files examples write; each example uses fresh names."""
    return tmp_path_factory.mktemp("fuzz")


def fresh_dir(scratch: Path) -> Path:
    path = scratch / f"case{next(_files)}"
    path.mkdir()
    return path


# -- selectors -------------------------------------------------------------------------------------------
hexes = st.text(alphabet=HEX, min_size=0, max_size=70)
names = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(["alpha", "Alpha ", "sha256"])
selector_texts = st.one_of(
    st.text(max_size=80),
    st.builds(lambda n, t: f"{n}:{t}", names, st.text(max_size=12)),
    st.builds(lambda n, h: f"{n}@{h}", names, hexes | st.builds(lambda h: f"sha256:{h}", hexes)),
    st.builds(lambda p, h: f"{p}{h}", st.sampled_from(["", "sha256:", "SHA256:", " sha256: "]), hexes),
)


@FUZZ
@given(selector_texts)
def test_any_selector_text_parses_or_raises_a_selector_error(text: str):
    try:
        selector = Selector.parse(text)
    except MelticaLabError:
        return
    assert Selector.parse(str(selector)) == selector


def _registry_with_revisions() -> Registry:
    digests = ["sha256:" + (c * 8) + "0" * 56 for c in "ab"] + ["sha256:" + "a" * 8 + "1" * 56]
    return Registry.from_dict(
        {
            "alpha": {
                "tags": {"latest": digests[0], "v1": digests[0], "V1": digests[1], "x:y": digests[1]},
                "hashes": {d: {"tag": "v1", "path": f"alpha/{k}/alpha.js"} for k, d in enumerate(digests[:2])},
            },
            "beta": {"tags": {}, "hashes": {digests[2]: {"tag": "", "path": "beta/b.js"}}},
        }
    )


REGISTRY = _registry_with_revisions()


@FUZZ
@given(selector_texts)
def test_any_selector_resolves_or_raises_a_documented_error(text: str):
    try:
        found = REGISTRY.resolve(text)
    except MelticaLabError:
        return
    assert REGISTRY.resolve(found.selector).hash == found.hash


# -- registry documents ----------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
digests = st.builds(lambda h: "sha256:" + h, st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)) | hexes
paths = st.text(max_size=30) | st.sampled_from(["a/b.js", "../x.js", "/abs.js", "C:\\x.js", "a\\..\\..\\x", "a/\x00"])
locations = st.fixed_dictionaries({}, optional={"tag": st.text(max_size=8) | json_values, "path": paths | json_values})
entries = st.fixed_dictionaries(
    {},
    optional={
        "tags": st.dictionaries(st.text(max_size=8), digests | json_values, max_size=4) | json_values,
        "hashes": st.dictionaries(digests, locations | json_values, max_size=3) | json_values,
    },
)
documents = st.dictionaries(names, entries | json_values, max_size=4) | json_values


@FUZZ
@given(documents)
def test_any_registry_document_validates_or_raises_a_registry_error(scratch: Path, document: Any):
    root = fresh_dir(scratch)
    try:
        registry = Registry.from_dict(document, root=root)
    except MelticaLabError:
        return
    again = Registry.from_text(registry.dumps(), root=root)
    assert again.to_dict() == registry.to_dict()
    for name, entry in registry.strategies.items():
        for tag in entry.tags:
            with contextlib.suppress(MelticaLabError):
                registry.resolve(Selector(name, tag=tag))


@FUZZ
@given(st.binary(max_size=200) | st.builds(lambda d: json.dumps(d).encode(), documents))
def test_any_registry_file_loads_or_raises_a_registry_error(scratch: Path, data: bytes):
    root = fresh_dir(scratch)
    (root / "registry.json").write_bytes(data)
    with contextlib.suppress(MelticaLabError):
        load_registry(root)


# -- market data CSV rows --------------------------------------------------------------------------------
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.sampled_from(["", " ", "NaN", "inf", "-inf", "1e400", "0x10", "1_000", "١٢٣", "abc", "1,5"]),
)
timestamps = st.one_of(
    st.integers(min_value=-(10**22), max_value=10**22).map(str),
    st.integers(min_value=0, max_value=10**6).map(lambda s: str(T0 + s * 10**9)),
    st.sampled_from(
        [
            "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00+05:00",
            "3000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "yesterday",
            "",
        ]
    ),
    st.text(max_size=12),
)
cells = {
    "timestamp": timestamps,
    "price": numbers,
    "quantity": numbers,
    "bid": numbers,
    "ask": numbers,
    "open": numbers,
    "high": numbers,
    "low": numbers,
    "close": numbers,
    "volume": numbers,
    "open_time": timestamps,
    "side": st.sampled_from(["buy", "SELL", "b", "", "hold", "Bid"]) | st.text(max_size=5),
    "symbol": st.text(max_size=8),
    "provider": st.text(max_size=8),
}
headers = st.lists(st.sampled_from(sorted(cells)), min_size=1, max_size=7, unique=True).map(
    lambda cols: cols if "timestamp" in cols else ["timestamp", *cols]
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    columns = draw(headers | st.just(["timestamp", "price", "quantity"]))
    rows = draw(st.lists(st.tuples(*(cells[c] for c in columns)).map(list), max_size=8))
    return columns, rows


@FUZZ
@given(csv_files(), st.booleans(), st.booleans())
def test_any_csv_loads_or_raises_a_data_error(scratch: Path, table, drop_bad_rows: bool, upper: bool):
    columns, rows = table
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([c.upper() if upper else c for c in columns])
    writer.writerows(rows)
    path = fresh_dir(scratch) / "data.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    try:
        data = load_market_data(path, drop_bad_rows=drop_bad_rows)
    except MelticaLabError:
        return
    events = data.events
    assert len(events) + len(data.dropped) == data.rows or not drop_bad_rows
    assert np.all(np.diff(events.ts) >= 0) and np.all(events.ts >= 0)
    prices = events.values[:4][~np.isnan(events.values[:4])]
    assert np.all(np.isfinite(prices)) and np.all(prices > 0)


# -- usage export rows -----------------------------------------------------------------------------------
times = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.123456789+02:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01",
            "",
            "yesterday",
        ]
    ),
    json_values,
)
usage_rows = st.fixed_dictionaries(
    {},
    optional={
        "strategy": st.text(max_size=8) | json_values,
        "hash": digests | json_values,
        "instances": st.lists(st.text(max_size=4), max_size=3) | json_values,
        "count": st.integers(min_value=-2, max_value=4) | st.integers() | json_values,
        "firstSeen": times,
        "lastSeen": times,
        "running": st.booleans() | json_values,
    },
)
exports = st.one_of(
    st.lists(usage_rows | json_values, max_size=5),
    st.fixed_dictionaries(
        {"usage": st.lists(usage_rows, max_size=5) | json_values}, optional={"registry": json_values}
    ),
    json_values,
)


def _outcome(document: Any) -> tuple[str, Any]:
    try:
        export = parse_usage_export(document)
    except MelticaLabError as exc:
        return "error", exc.message.split(": ", 1)[-1]
    return "ok", [record.to_dict() for record in export.usage]


@FUZZ
@given(exports)
def test_any_usage_export_parses_or_raises_a_usage_export_error(document: Any):
    if isinstance(document, str):
        _outcome(document)  # text is read as JSON text: it parses or raises, never crashes
        return
    as_objects = _outcome(document)
    try:
        text = json.dumps(document, allow_nan=False)
    except ValueError:
        return  # NaN and infinity are not JSON: only the object form exists
    assert _outcome(text.encode()) == as_objects
    assert _outcome(json.dumps(document, separators=(",", ":"))) == as_objects
