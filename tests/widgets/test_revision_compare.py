"""RevisionCompare: needs two revisions; source diff between neighbours; backtest comparison via compare()."""

from __future__ import annotations

import pytest

from meltica_lab.errors import UsageError
from meltica_lab.loader import Loader
from meltica_lab.widgets import RevisionCompare
from tests.widgets.flipper import SMALL_DATA


def test_fewer_than_two_revisions_is_reported_in_the_output_area(flipper_loader: Loader) -> None:
    widget = RevisionCompare(loader=flipper_loader, data=SMALL_DATA, selectors=["flipper:v1.0.0"])
    widget.diff_button.click()
    assert "pick two or more revisions to compare (1 picked)" in widget.output.outputs[0]["data"]["text/html"]


def test_the_diff_shows_what_changed_between_revisions(flipper_loader: Loader) -> None:
    widget = RevisionCompare(loader=flipper_loader, data=SMALL_DATA, selectors=["flipper:v1.1.0", "flipper:v1.0.0"])
    (diff,) = widget.diff()
    assert '-    tag: "v1.0.0",' in diff and '+    tag: "v1.1.0",' in diff
    assert "default: 50" in diff and "default: 20" in diff
    assert "flipper:v1.0.0 -&gt; flipper:v1.1.0" in widget.to_html()


def test_the_backtest_comparison_has_one_row_per_revision(flipper_loader: Loader) -> None:
    widget = RevisionCompare(loader=flipper_loader, data=SMALL_DATA, selectors=["flipper:v1.0.0", "flipper"], seed=1)
    widget.run_button.click()
    assert widget.error is None
    table = widget.comparison
    assert list(table["tag"]) == ["v1.0.0", "v1.1.0"]
    assert list(table.index) == [flipper_loader.resolve(s).selector for s in ("flipper:v1.0.0", "flipper")]
    assert list(table["Orders"]) == [2000 // 50, 2000 // 20]
    assert "Backtest comparison" in widget.to_html()


def test_the_comparison_names_columns_by_tag_keeps_the_full_selector_and_shows_every_row(
    flipper_loader: Loader,
) -> None:
    widget = RevisionCompare(loader=flipper_loader, data=SMALL_DATA, selectors=["flipper:v1.0.0", "flipper"])
    table = widget.backtest()
    html = widget.to_html()
    assert ">flipper:v1.0.0</th>" in html and ">flipper:v1.1.0</th>" in html
    for selector in table.index:
        assert f">{selector}<" in html
    assert "Legacy Max Drawdown" in html  # the last summary row: nothing cut at 20 rows
    assert " USDT<" in html  # money in the quote currency of the data's one symbol
    assert "more row(s)" not in html
    assert widget.progress.value == widget.progress.max and widget.progress.bar_style == "success"
    assert widget.stage.value == "done: 2 revision(s)"


def test_the_diff_is_coloured(flipper_loader: Loader) -> None:
    widget = RevisionCompare(loader=flipper_loader, data=SMALL_DATA, selectors=["flipper:v1.1.0", "flipper:v1.0.0"])
    widget.diff()
    html = widget.to_html()
    assert "meltica-diff" in html and "background:#e6ffec" in html and "background:#ffebe9" in html


def test_changing_the_picks_clears_a_shown_comparison(flipper_loader: Loader) -> None:
    widget = RevisionCompare(loader=flipper_loader, data=SMALL_DATA, selectors=["flipper:v1.0.0", "flipper"])
    widget.backtest()
    widget.picker.value = (flipper_loader.resolve("flipper").selector,)
    assert widget.comparison is None and "Backtest comparison" not in widget.to_html()


def test_a_missing_data_argument_is_a_usage_error_naming_it(flipper_loader: Loader) -> None:
    with pytest.raises(UsageError, match=r"^data: expected a market data file"):
        RevisionCompare(loader=flipper_loader)
