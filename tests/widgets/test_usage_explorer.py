"""UsageExplorer: filters, pagination and drill-down over a usage export or a Manager."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from meltica_lab.errors import UsageError
from meltica_lab.runtime import Manager
from meltica_lab.usage import UsageIndex
from meltica_lab.widgets import UsageExplorer

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def export(rows: int) -> dict:
    """A usage export with ``rows`` revisions of two strategies; every third one runs two instances."""
    index = UsageIndex()
    for k in range(rows):
        strategy = "alpha" if k % 2 == 0 else "beta"
        digest = f"sha256:{k:02x}" + "0" * 62
        index.ensure(strategy, digest)
        if k % 3 == 0:
            index.record_start(strategy, digest, f"{strategy}-{k}-a", at=T0)
            index.record_start(strategy, digest, f"{strategy}-{k}-b", at=T0)
    return index.export().to_dict()


def test_pages_split_the_rows_and_the_buttons_stop_at_the_ends() -> None:
    explorer = UsageExplorer(export(25), page_size=10)
    assert explorer.pages == 3 and len(explorer.current()) == 10
    assert explorer.previous.disabled and not explorer.next.disabled
    explorer.next.click()
    explorer.next.click()
    explorer.next.click()
    assert explorer.page == 2 and len(explorer.current()) == 5 and explorer.next.disabled
    assert explorer.position.value == "rows 21-25 of 25, page 3 of 3"


def test_filters_combine_and_return_to_the_first_page() -> None:
    explorer = UsageExplorer(export(25), page_size=4)
    explorer.next.click()
    explorer.strategy.value = "alpha"
    assert explorer.page == 0 and len(explorer.rows) == 13
    explorer.running_only.value = True
    assert set(explorer.rows["hash"].str[7:9]) == {"00", "06", "0c", "12", "18"}
    explorer.hash.value = "SHA256:0C"
    assert list(explorer.rows["hash"].str[7:9]) == ["0c"]
    assert "1 of 25" in repr(explorer)


def test_drilling_into_an_export_row_lists_its_instance_ids() -> None:
    explorer = UsageExplorer(export(4))
    explorer.detail.value = 3
    html = explorer.to_html()
    assert "Usage of beta@sha256:03" in html and "beta-3-a, beta-3-b" in html


def test_drilling_into_a_manager_row_lists_instances_with_stopped_ones(flipper_root: Path, tmp_path: Path) -> None:
    with Manager(flipper_root, cache_dir=tmp_path / "cache") as manager:
        manager.create("f-1", "flipper:v1.0.0", symbols=["BTC-USDT"])
        manager.create("f-2", "flipper:v1.0.0", symbols=["BTC-USDT"])
        manager.start("f-1")
        explorer = UsageExplorer(manager)
        explorer.running_only.value = True
        explorer.detail.value = 0
        html = explorer.to_html()
    assert "Instances (2, stopped ones included)" in html and "f-1" in html and "f-2" in html


def test_page_size_must_be_positive() -> None:
    with pytest.raises(UsageError, match="page_size: expected a positive integer"):
        UsageExplorer(export(1), page_size=0)


def test_a_filter_matching_nothing_says_so_instead_of_an_empty_table() -> None:
    explorer = UsageExplorer(export(6))
    explorer.hash.value = "ffff"
    html = explorer.to_html()
    assert "No usage rows match these filters (strategy (all), hash prefix ffff, running only no); 6 row(s)" in html
    assert "<table" not in html.split("No usage rows")[1]


def test_a_page_shows_key_columns_first_and_no_python_reprs() -> None:
    explorer = UsageExplorer(export(4))
    html = explorer.to_html()
    header = html[html.index("<thead>") : html.index("</thead>")]
    names = ["strategy", "count", "running", "first_seen", "last_seen", "instances", "hash"]
    positions = [header.index(f">{n}<") for n in names]
    assert positions == sorted(positions)
    assert "alpha-0-a, alpha-0-b" in html and "[&#x27;" not in html and "array(" not in html
    assert "2024-03-01T00:00:00+00:00" in html
