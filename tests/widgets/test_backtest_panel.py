"""BacktestPanel: pickers, the generated config form, runs through run_backtest, errors in the output area."""

from __future__ import annotations

from pathlib import Path

import pytest

from meltica_lab.backtest import run_backtest
from meltica_lab.errors import UsageError
from meltica_lab.loader import Loader
from meltica_lab.widgets import BacktestPanel
from meltica_lab.widgets.backtest_panel import data_choices, data_files
from tests.widgets.flipper import SMALL_DATA


@pytest.fixture
def panel(flipper_loader: Loader) -> BacktestPanel:
    return BacktestPanel(loader=flipper_loader, data=SMALL_DATA.parent, selector="flipper:v1.0.0")


def test_the_revision_picker_lists_pinned_selectors_and_starts_on_the_asked_revision(
    panel: BacktestPanel, flipper_loader: Loader
) -> None:
    pinned = {r.selector for r in flipper_loader.revisions()}
    assert {value for _, value in panel.revision.options} == pinned
    assert panel.revision.value == flipper_loader.resolve("flipper:v1.0.0").selector
    assert any("flipper:v1.1.0" in label and "(latest)" in label for label, _ in panel.revision.options)


def test_the_data_picker_offers_every_data_file_of_a_folder() -> None:
    names = [p.name for p in data_files(SMALL_DATA.parent)]
    assert names == ["btc_trades.csv", "btc_trades_small.csv"]


def test_a_single_data_file_is_offered_with_its_neighbours_and_picked(flipper_loader: Loader) -> None:
    files, first = data_choices(SMALL_DATA)
    assert [f.name for f in files] == ["btc_trades.csv", "btc_trades_small.csv"] and first == SMALL_DATA
    panel = BacktestPanel(loader=flipper_loader, data=SMALL_DATA)
    assert panel.data.value == str(SMALL_DATA) and len(panel.data.options) == 2


def test_a_folder_without_data_files_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no market data files"):
        data_files(tmp_path)


def test_the_config_form_follows_the_picked_revision(panel: BacktestPanel, flipper_loader: Loader) -> None:
    assert panel.form.values()["every"] == 50
    panel.revision.value = flipper_loader.resolve("flipper:v1.1.0").selector
    assert panel.form.values()["every"] == 20
    assert panel.form_box.children == (panel.form,)


def test_run_gives_the_same_result_as_run_backtest_with_the_same_settings(
    panel: BacktestPanel, flipper_loader: Loader
) -> None:
    panel.data.value = str(SMALL_DATA)
    panel.form.inputs["every"].value = 100
    panel.seed.value = 4
    result = panel.run()
    direct = run_backtest(
        flipper_loader.resolve("flipper:v1.0.0"), SMALL_DATA, config={"every": 100}, seed=4, progress=False
    )
    assert result.to_dict()["summary"] == direct.to_dict()["summary"]
    assert len(result.orders) == 2000 // 100
    assert len(result.fills) == 2000 // 100 - 1  # the order sent on the last trade has no later trade to fill on
    assert panel.progress.value == panel.progress.max and panel.progress.bar_style == "success"
    static = panel.to_html()
    assert result.provenance["hash"] in static
    assert "data:image/png;base64," in static  # the equity plot is embedded
    assert static.index("Provenance") < static.index("Summary") < static.index("Fills (19)")


def test_the_run_button_shows_a_config_error_in_the_output_area(panel: BacktestPanel) -> None:
    panel.data.value = str(SMALL_DATA)
    panel.form.inputs["cooldown"].value = "soon"
    panel.button.click()
    assert panel.error is not None
    shown = panel.output.outputs[0]["data"]["text/html"]
    assert "ConfigError: config for flipper: cooldown: expected a duration" in shown
    assert panel.progress.bar_style == "danger" and not panel.button.disabled


def test_show_result_displays_a_run_made_elsewhere(panel: BacktestPanel, flipper_loader: Loader) -> None:
    result = run_backtest(flipper_loader.resolve("flipper:v1.0.0"), SMALL_DATA, progress=False)
    panel.show_result(result)
    assert panel.result is result
    assert "Fills (39)" in panel.to_html()
    assert repr(panel) == f"<BacktestPanel: {panel.revision.value} on btc_trades.csv>"
