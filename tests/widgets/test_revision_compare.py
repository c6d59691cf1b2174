"""RevisionCompare: needs two revisions; source diff between neighbours; backtest comparison via compare()."""

from __future__ import annotations

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
