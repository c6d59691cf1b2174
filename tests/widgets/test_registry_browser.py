"""RegistryBrowser: revisions with tags, hash, size, usage and retired flag; source; tag history."""

from __future__ import annotations

from pathlib import Path

import pytest

from meltica_lab.errors import NotFoundError
from meltica_lab.registry import edit_registry
from meltica_lab.runtime import Manager
from meltica_lab.widgets import RegistryBrowser
from tests.widgets.flipper import add_flipper


def test_revisions_show_tags_usage_and_retired_flags(flipper_root: Path, tmp_path: Path) -> None:
    old = add_flipper(flipper_root, "v0.9.0", 10, latest=False)
    with edit_registry(flipper_root, "untag v0.9.0") as draft:
        draft.remove_tag("flipper", "v0.9.0", allow_orphan=True)
    with Manager(flipper_root, cache_dir=tmp_path / "cache") as manager:
        manager.create("f-1", "flipper:v1.0.0", symbols=["BTC-USDT"])
        manager.start("f-1")
        browser = RegistryBrowser(manager, strategy="flipper")
        table = browser.table.set_index("tag")
    assert list(table.index) == ["v0.9.0", "v1.0.0", "v1.1.0"]
    assert table.loc["v1.1.0", "tags"] == "latest, v1.1.0"
    assert table.loc["v1.0.0", "running"] == 1 and table.loc["v1.0.0", "instances"] == "f-1"
    assert table.loc["v0.9.0", "hash"] == old
    assert list(table["retired"]) == [True, False, False]


def test_picking_a_revision_shows_its_source_and_the_tag_history(flipper_root: Path) -> None:
    browser = RegistryBrowser(flipper_root)
    assert browser.revision.value == browser.table.set_index("tag").loc["v1.1.0", "hash"]  # latest first
    html = browser.to_html()
    assert "Source of flipper:v1.1.0" in html and "default: 20" in html
    browser.revision.value = browser.table.set_index("tag").loc["v1.0.0", "hash"]
    html = browser.to_html()
    assert "Source of flipper:v1.0.0" in html and "default: 50" in html
    assert "Tag history" in html and "add flipper:v1.1.0" in html


def test_an_unknown_strategy_is_a_not_found_error_listing_the_known_ones(flipper_root: Path) -> None:
    with pytest.raises(NotFoundError, match=r"strategy 'nosuch': not in .*; its strategies: flipper") as info:
        RegistryBrowser(flipper_root, strategy="nosuch")
    assert info.value.field == "strategy"
    assert RegistryBrowser(flipper_root, strategy=" Flipper ").strategy.value == "flipper"


def test_the_revision_table_puts_key_columns_first_and_shows_whole_hashes(flipper_root: Path) -> None:
    browser = RegistryBrowser(flipper_root)
    assert list(browser.table.columns)[:5] == ["tag", "tags", "running", "instances", "retired"]
    html = browser.to_html()
    for digest in browser.table["hash"]:
        assert f">{digest}<" in html
    assert "overflow-wrap:anywhere" in html
    assert "white-space:pre;" in html  # the source keeps its lines; long ones scroll instead of breaking mid-word
