"""The config form: one input per declared key, typed by the declaration; values as the user set them."""

from __future__ import annotations

import ipywidgets as widgets

from meltica_lab.widgets.config_form import ConfigForm
from tests.widgets.flipper import Field

FIELDS = (
    Field("lookback", "int", 20),
    Field("threshold", "float", 0.002),
    Field("weight", "number", 1),
    Field("enabled", "bool", True),
    Field("symbol", "string", "BTC-USDT"),
    Field("cooldown", "duration", "5s"),
    Field("mode", "enum-like", "fast"),
    Field("limit", "int", None),
    Field("dry_run", "bool", True),
)


def test_each_declared_type_gets_its_input_kind() -> None:
    form = ConfigForm(FIELDS)
    kinds = {name: type(box) for name, box in form.inputs.items()}
    assert kinds == {
        "lookback": widgets.IntText,
        "threshold": widgets.FloatText,
        "weight": widgets.FloatText,
        "enabled": widgets.Checkbox,
        "symbol": widgets.Text,
        "cooldown": widgets.Text,
        "mode": widgets.Text,
        "limit": widgets.Text,  # no default: a text box, so "not given" stays possible
        "dry_run": widgets.Checkbox,
    }


def test_defaults_fill_the_form_and_dry_run_starts_unticked_as_in_a_backtest() -> None:
    values = ConfigForm(FIELDS).values()
    assert values == {
        "lookback": 20,
        "threshold": 0.002,
        "weight": 1.0,
        "enabled": True,
        "symbol": "BTC-USDT",
        "cooldown": "5s",
        "mode": "fast",
        "dry_run": False,
    }


def test_given_values_override_defaults_and_empty_text_means_not_given() -> None:
    form = ConfigForm(FIELDS, {"lookback": 5, "symbol": "ETH-USDT"})
    form.inputs["cooldown"].value = "  "
    values = form.values()
    assert values["lookback"] == 5
    assert values["symbol"] == "ETH-USDT"
    assert "cooldown" not in values


def test_a_module_without_config_says_so() -> None:
    form = ConfigForm(())
    assert form.values() == {}
    assert "declares no config" in form.children[0].value
