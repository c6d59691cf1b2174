"""BacktestPanel: pickers, the generated config form, runs through run_backtest, errors in the output area."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meltica_lab.backtest import run_backtest
from meltica_lab.errors import ConfigError, NotFoundError, UsageError
from meltica_lab.loader import Loader
from meltica_lab.widgets import BacktestPanel
from meltica_lab.widgets.backtest_panel import CHANGED, data_choices, data_files
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
    panel.form.inputs["every"].text = "100"
    panel.seed.text = "4"
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
    panel.form.inputs["cooldown"].text = "soon"
    panel.button.click()
    assert panel.error is not None
    shown = panel.output.outputs[0]["data"]["text/html"]
    assert "config for flipper: cooldown: expected a duration" in shown
    assert "1 field(s) to fix before the run" in shown
    assert panel.progress.bar_style == "warning" and "not started" in panel.stage.value
    assert panel.result is None and not panel.button.disabled


def test_show_result_displays_a_run_made_elsewhere(panel: BacktestPanel, flipper_loader: Loader) -> None:
    result = run_backtest(flipper_loader.resolve("flipper:v1.0.0"), SMALL_DATA, progress=False)
    panel.show_result(result)
    assert panel.result is result
    assert "Fills (39)" in panel.to_html()
    assert repr(panel) == f"<BacktestPanel: {panel.revision.value} on btc_trades.csv>"


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("seed", "2.7", "seed: expected an integer, got '2.7'"),
        ("taker_fee", "-0.5", "fees.taker: expected a rate from 0 to 0.1, got '-0.5'"),
        ("maker_fee", "abc", "fees.maker: expected a rate from -0.01 to 0.1, got 'abc'"),
        ("slippage", "12abc", "slippage_bps: expected a number from 0 to 10000, got '12abc'"),
        ("latency", "", "latency_ms: expected a number from 0"),
    ],
)
def test_a_bad_execution_value_is_shown_beside_its_field_and_the_run_does_not_start(
    panel: BacktestPanel, field: str, text: str, message: str
) -> None:
    getattr(panel, field).text = text
    assert message in getattr(panel, field).problem
    panel.button.click()
    shown = panel.output.outputs[0]["data"]["text/html"]
    assert "1 field(s) to fix before the run" in shown and message.replace("'", "&#x27;") in shown
    assert panel.result is None and panel.progress.value == 0 and panel.progress.bar_style == "warning"


def test_an_int_field_showing_a_fraction_does_not_run_as_its_integer_part(panel: BacktestPanel) -> None:
    panel.form.inputs["every"].text = "2.7"
    with pytest.raises(ConfigError, match=r"every: expected an integer \(type int\), got '2\.7'"):
        panel.run()
    assert panel.result is None


def test_changing_an_input_after_a_run_clears_the_stale_result(panel: BacktestPanel, flipper_loader: Loader) -> None:
    panel.data.value = str(SMALL_DATA)
    panel.run()
    assert panel.result is not None and panel.stage.value == "done"
    panel.revision.value = flipper_loader.resolve("flipper:v1.1.0").selector
    assert panel.result is None and panel.progress.bar_style == "" and panel.stage.value == "idle"
    assert "Provenance" not in panel.to_html() and CHANGED in panel.to_html()
    panel.run()
    panel.form.inputs["every"].text = "30"
    assert panel.result is None and CHANGED in panel.to_html()
    panel.run()
    panel.taker_fee.text = "0.001"
    assert panel.result is None
    panel.run()
    panel.partial.value = True
    assert panel.result is None


def test_the_results_show_every_provenance_value_whole_and_the_summary_with_units(panel: BacktestPanel) -> None:
    panel.data.value = str(SMALL_DATA)
    result = panel.run()
    html = panel.to_html()
    for value in (result.provenance["hash"], result.provenance["pinned"], result.provenance["data_sha256"]):
        assert f">{value}<" in html
    assert '{"every": 50, "size": 0.5' in html.replace("&quot;", '"')  # the config whole, as JSON
    assert "n/a: needs 3+ UTC days (2+ daily returns); this run covers 1 UTC day(s)" in html
    assert " USDT<" in html and "the open position not marked" in html


def test_construction_errors_are_kit_errors_naming_the_argument(flipper_root: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^data: expected a market data file") as info:
        BacktestPanel(flipper_root)
    assert info.value.field == "data"
    missing = tmp_path / "nope.csv"
    with pytest.raises(UsageError, match=rf"^data: {re.escape(str(missing))}: no such market data file"):
        BacktestPanel(flipper_root, data=missing)
    with pytest.raises(NotFoundError, match="nosuch"):
        BacktestPanel(flipper_root, data=SMALL_DATA, selector="nosuch")
    with pytest.raises(UsageError, match="fees: expected a Fees value"):
        BacktestPanel(flipper_root, data=SMALL_DATA, fees=0.002)


def test_buttons_have_tooltips_and_labels_that_are_never_cut(panel: BacktestPanel) -> None:
    assert panel.button.tooltip and panel.button.layout.width == "auto"
    assert all(field.box.tooltip for field in panel.execution_fields())


def test_every_fill_is_in_the_results_in_a_scrolling_table(panel: BacktestPanel) -> None:
    panel.data.value = str(SMALL_DATA)
    panel.form.inputs["every"].text = "20"
    result = panel.run()
    assert len(result.fills) == 99
    html = panel.to_html()
    fills = html[html.index("Fills (99)") : html.index("Strategy logs")]
    assert fills.count("<tr>") == 99 + 1 and "more row(s)" not in fills
    assert "meltica-table" in fills and "overflow:auto" in fills
