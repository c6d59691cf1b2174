"""The config form: one input per declared key, typed by the declaration; values as the user set them."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from meltica_lab.errors import ConfigError
from meltica_lab.widgets.config_form import ConfigForm
from meltica_lab.widgets.fields import CheckedText
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
    # numbers are checked text fields: the browser's number boxes round and revert without a word
    assert kinds == {
        "lookback": CheckedText,
        "threshold": CheckedText,
        "weight": CheckedText,
        "enabled": widgets.Checkbox,
        "symbol": CheckedText,
        "cooldown": CheckedText,
        "mode": CheckedText,
        "limit": CheckedText,
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
    form.inputs["cooldown"].text = "  "
    values = form.values()
    assert values["lookback"] == 5
    assert values["symbol"] == "ETH-USDT"
    assert "cooldown" not in values


def test_a_module_without_config_says_so() -> None:
    form = ConfigForm(())
    assert form.values() == {}
    assert "declares no config" in form.children[0].value


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("lookback", "2.7", "lookback: expected an integer (type int), got '2.7'"),
        ("lookback", "abc", "lookback: expected an integer (type int), got 'abc'"),
        ("lookback", "12abc", "lookback: expected an integer (type int), got '12abc'"),
        ("lookback", "-5", "lookback: expected a value >= 0, as its declared default 20 is"),
        ("lookback", "1e30", "lookback: expected an integer (type int), got '1e30'"),
        ("threshold", "0.0.1", "threshold: expected a finite number (type float), got '0.0.1'"),
        ("cooldown", "soon", "cooldown: expected a duration"),
    ],
)
def test_a_value_that_does_not_fit_is_shown_beside_its_field_and_never_coerced(key, text, message) -> None:
    form = ConfigForm(FIELDS, strategy="probe")
    field = form.inputs[key]
    field.text = text
    assert message in field.problem
    assert "meltica-field-error" in field.message.value and "config for probe" in field.message.value
    assert field.text == text  # what was typed stays as typed
    with pytest.raises(ConfigError, match=key) as info:
        form.values()
    assert info.value.field == key


def test_fixing_a_field_clears_its_message() -> None:
    form = ConfigForm(FIELDS)
    form.inputs["lookback"].text = "x"
    assert form.problems()
    form.inputs["lookback"].text = "7"
    assert form.problems() == {} and form.inputs["lookback"].message.value == ""
    assert form.values()["lookback"] == 7


def test_a_cleared_field_says_its_default_applies_instead_of_reverting() -> None:
    form = ConfigForm(FIELDS)
    form.inputs["lookback"].text = ""
    assert "empty: the default 20 applies" in form.inputs["lookback"].message.value
    assert "lookback" not in form.values()
    assert form.inputs["lookback"].text == ""


def test_a_required_key_without_default_left_empty_is_a_problem() -> None:
    form = ConfigForm((Field("need", "int", None, required=True),))
    assert "need" in form.problems()
