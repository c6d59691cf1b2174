"""Strategy config for a run: coercion by declared type, defaults, unknown keys, dry_run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from meltica_lab.backtest.config import resolve_config
from meltica_lab.errors import ConfigError


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    default: Any = None
    required: bool = False
    description: str = ""


FIELDS = (
    Field("lookback", "int", 20),
    Field("threshold", "float", 0.002),
    Field("size", "number", 1),
    Field("enabled", "bool", True),
    Field("label", "string", "x"),
    Field("cooldown", "duration", "5s"),
    Field("dry_run", "bool", True),
    Field("free", "anything"),
)


def resolve(values: dict[str, Any] | None) -> dict[str, Any]:
    return resolve_config(FIELDS, values, strategy="probe")


def test_defaults_apply_and_dry_run_defaults_to_false():
    assert resolve(None) == {
        "lookback": 20,
        "threshold": 0.002,
        "size": 1.0,
        "enabled": True,
        "label": "x",
        "cooldown": "5s",
        "dry_run": False,
    }


@pytest.mark.parametrize(
    ("key", "given", "expected"),
    [
        ("lookback", "12", 12),
        ("lookback", 12.0, 12),
        ("threshold", "0.5", 0.5),
        ("threshold", 3, 3.0),
        ("size", "2.5", 2.5),
        ("enabled", "false", False),
        ("enabled", "YES", True),
        ("enabled", 0, False),
        ("label", 42, "42"),
        ("cooldown", "250ms", "250ms"),
        ("cooldown", "1.5S", "1.5S"),
        ("cooldown", "300", 300),
        ("cooldown", 300, 300),
        ("dry_run", "true", True),
        ("free", [1, 2], [1, 2]),
    ],
)
def test_values_are_coerced_by_declared_type(key, given, expected):
    assert resolve({key: given})[key] == expected


@pytest.mark.parametrize(
    ("key", "given"),
    [
        ("lookback", "1.5"),
        ("lookback", True),
        ("threshold", "abc"),
        ("threshold", "nan"),
        ("enabled", "maybe"),
        ("enabled", 2),
        ("label", None),
        ("cooldown", "5 minutes"),
        ("cooldown", "-5s"),
    ],
)
def test_values_that_do_not_fit_their_type_name_the_key(key, given):
    with pytest.raises(ConfigError) as info:
        resolve({key: given})
    assert info.value.field == key
    assert f"config for probe: {key}: expected" in str(info.value)


def test_unknown_keys_are_an_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match="unknown key\\(s\\) lokback; known keys: cooldown, dry_run, enabled"):
        resolve({"lokback": 5})


def test_required_keys_without_value_or_default_are_an_error():
    with pytest.raises(ConfigError, match="need is required"):
        resolve_config((Field("need", "int", required=True),), {}, strategy="probe")


def test_dry_run_is_accepted_even_when_not_declared():
    assert resolve_config((), {"dry_run": "1"}, strategy="probe") == {"dry_run": True}


def test_an_integer_beyond_what_javascript_holds_exactly_names_the_key():
    with pytest.raises(ConfigError, match=r"^config for probe: lookback: expected an integer within ±9007199254740991"):
        resolve({"lookback": 1e30})
    with pytest.raises(ConfigError, match=r"lookback: .*got 9007199254740992$"):
        resolve({"lookback": 2**53})
    assert resolve({"lookback": 2**53 - 1})["lookback"] == 2**53 - 1


@pytest.mark.parametrize(("key", "given"), [("lookback", -5), ("lookback", "-5"), ("threshold", -0.1), ("size", -1)])
def test_a_negative_value_for_a_key_with_a_non_negative_default_is_refused(key, given):
    with pytest.raises(ConfigError, match=rf"^config for probe: {key}: expected a value >= 0, as its declared default"):
        resolve({key: given})


def test_a_negative_value_is_fine_where_the_declared_default_is_negative_or_absent():
    fields = (Field("bias", "float", -1.0), Field("offset", "int"))
    assert resolve_config(fields, {"bias": -3, "offset": -2}, strategy="probe") == {
        "bias": -3.0,
        "offset": -2,
        "dry_run": False,
    }


def test_run_backtest_refuses_an_out_of_range_lookback_naming_the_key():
    from pathlib import Path

    from meltica_lab.backtest import run_backtest

    project = Path(__file__).resolve().parents[2]
    data = project / "examples" / "data" / "btc_trades_small.csv"
    for value in (-5, 1e30):
        with pytest.raises(ConfigError, match=r"config for momentum: lookback: expected"):
            run_backtest("momentum", data, root=project / "strategies", config={"lookback": value}, progress=False)
