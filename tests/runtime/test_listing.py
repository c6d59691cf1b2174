"""Module listing (ModuleSummary shape, running blocks, retired flag, filters, paging), usage
drill-down, the registry-plus-usage export and its round trip, and the metrics text."""

from __future__ import annotations

import json

import pytest

from meltica_lab.analysis import usage_frame
from meltica_lab.errors import NotFoundError, UsageError
from meltica_lab.registry import edit_registry
from meltica_lab.runtime import Manager
from meltica_lab.usage import format_time, read_usage_export
from tests.runtime.support import cache, register, strategy_source

__all__ = ["cache"]


@pytest.fixture
def setup(root, cache):
    """demo: h1 (v1.0.0), h2 (v1.1.0, latest), h3 (v0.9.0, untagged later); other: o1. Instances:
    a runs h2, b runs h1, c is stopped on h1."""
    h1 = register(root, strategy_source("demo", "v1.0.0"), "demo", "v1.0.0")
    h2 = register(root, strategy_source("demo", "v1.1.0"), "demo", "v1.1.0", latest=True)
    h3 = register(root, strategy_source("demo", "v0.9.0"), "demo", "v0.9.0")
    o1 = register(root, strategy_source("other", "v1"), "other", "v1")
    with edit_registry(root, "untag") as draft:
        draft.remove_tag("demo", "v0.9.0", allow_orphan=True)
    manager = Manager(root, cache_dir=cache)
    manager.create("a", "demo", symbols=["BTC-USDT"])
    manager.create("b", "demo:v1.0.0", symbols=["BTC-USDT"])
    manager.create("c", f"demo@{h1}", symbols=["BTC-USDT"])
    manager.start("a")
    manager.start("b")
    yield manager, h1, h2, h3, o1
    manager.close()


def test_listing_has_the_gateway_module_summary_keys_and_running_blocks(setup, root):
    manager, h1, h2, h3, _ = setup
    listing = manager.modules()
    assert list(listing) == ["modules", "total", "offset", "strategyDirectory"] and listing["total"] == 2
    demo = listing["modules"][0]
    assert list(demo) == [
        "name", "file", "path", "selectedRevisionHash", "selectedRevisionTag", "tags", "tagAliases", "size",
        "metadata", "revisions", "running",
    ]  # fmt: skip
    assert (demo["selectedRevisionHash"], demo["selectedRevisionTag"]) == (h2, "v1.1.0")
    assert demo["tags"] == ["latest", "v1.1.0"]
    assert demo["path"] == str(root / "demo" / "v1.1.0" / "demo.js") and demo["metadata"]["name"] == "demo"
    assert [r["hash"] for r in demo["revisions"]] == [h3, h1, h2]  # semantic-version order
    assert [(b["hash"], b["instances"], b["count"]) for b in demo["running"]] == [(h1, ["b"], 1), (h2, ["a"], 1)]
    items = {r["hash"]: r for r in demo["revisions"]}
    assert items[h2]["running"]["instances"] == ["a"] and items[h2]["alias"] == "latest"
    assert items[h3]["running"] is None and "alias" not in items[h3]


def test_retired_means_no_tag_and_no_instance_pins_it(setup, root):
    manager, h1, _, h3, _ = setup
    items = {r["hash"]: r for r in manager.modules(strategy="demo")["modules"][0]["revisions"]}
    assert [h for h, r in items.items() if r["retired"]] == [h3]
    with edit_registry(root, "untag v1.0.0") as draft:
        draft.remove_tag("demo", "v1.0.0", allow_orphan=True)
    manager.reload()
    items = {r["hash"]: r for r in manager.modules(strategy="demo")["modules"][0]["revisions"]}
    assert not items[h1]["retired"]  # untagged, but instances b (running) and c (stopped) pin it
    manager.remove("b")
    manager.remove("c")
    items = {r["hash"]: r for r in manager.modules(strategy="demo")["modules"][0]["revisions"]}
    assert items[h1]["retired"] and items[h1]["running"] is None


def test_listing_filters_and_pages(setup):
    manager, h1, _, _, o1 = setup
    assert [m["name"] for m in manager.modules(strategy=" DEMO ")["modules"]] == ["demo"]
    by_hash = manager.modules(hash=h1[:16].upper())
    assert by_hash["total"] == 1 and [r["hash"] for r in by_hash["modules"][0]["revisions"]] == [h1]
    assert by_hash["modules"][0]["selectedRevisionHash"] == h1
    assert [m["name"] for m in manager.modules(running_only=True)["modules"]] == ["demo"]
    page = manager.modules(limit=1, offset=1)
    assert (page["total"], page["offset"], page["limit"], [m["name"] for m in page["modules"]]) == (2, 1, 1, ["other"])
    assert manager.modules(offset=9)["offset"] == 2
    assert manager.modules(hash=o1)["modules"][0]["name"] == "other"
    with pytest.raises(UsageError, match="limit must be a non-negative integer"):
        manager.modules(limit=-1)


def test_usage_drill_down_is_the_gateway_shape(setup):
    manager, h1, _, _, _ = setup
    running = manager.usage("demo:v1.0.0")
    assert list(running) == ["selector", "strategy", "hash", "usage", "instances", "total", "offset", "limit"]
    assert (running["selector"], running["hash"], running["total"]) == ("demo:v1.0.0", h1, 1)
    assert [i["id"] for i in running["instances"]] == ["b"] and running["usage"]["count"] == 1
    everyone = manager.usage(f"demo@{h1[:20]}", include_stopped=True, limit=1, offset=1)
    assert everyone["selector"] == f"demo@{h1}" and everyone["total"] == 2
    assert [i["id"] for i in everyone["instances"]] == ["c"] and everyone["limit"] == 1
    with pytest.raises(NotFoundError):
        manager.usage("nope")


def test_export_is_the_gateway_registry_document_and_round_trips(setup, root):
    manager, h1, h2, _, _ = setup
    manager.stop("b")
    document = manager.export()
    assert list(document) == ["registry", "usage"]
    assert document["registry"] == json.loads((root / "registry.json").read_text())
    frame = usage_frame(json.dumps(document))
    records = {r.hash: r for r in manager.usage_index.snapshot()}
    assert sorted(frame["hash"]) == sorted(records)
    for row in frame.itertuples(index=False):
        record = records[row.hash]
        assert row.count == record.count
        assert (list(row.instances) if row.count else []) == list(record.instances)
        assert format_time(row.first_seen) == format_time(record.first_seen)
        assert format_time(row.last_seen) == format_time(record.last_seen)
    assert read_usage_export(document).usage == manager.usage_index.export().usage
    assert {r.hash: r.count for r in read_usage_export(document).usage} == {h1: 0, h2: 1}


def test_metrics_text_has_the_gauge_and_counters_per_revision(setup):
    manager, h1, h2, _, _ = setup
    text = manager.metrics_text()
    assert f'strategy_revision_instances{{hash="{h2}",strategy="demo"}} 1.0' in text
    assert f'strategy_revision_instances_total{{action="start",hash="{h1}",strategy="demo"}} 1.0' in text
    manager.stop("b")
    text = manager.metrics_text()
    assert f'strategy_revision_instances{{hash="{h1}",strategy="demo"}} 0.0' in text
    assert f'strategy_revision_instances_total{{action="stop",hash="{h1}",strategy="demo"}} 1.0' in text
