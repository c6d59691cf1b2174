"""Backtest settings are one frozen value: checked once, changed by name, recorded, and spelled as flags."""

from __future__ import annotations

import math
import typing

import pytest

from meltica_lab.backtest import BacktestSettings, Fees, FillModel, SessionOptions
from meltica_lab.backtest.settings import FLAGS, SETTING_NAMES, SettingsChanges
from meltica_lab.errors import ConfigError, UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits


def test_the_defaults_are_those_of_a_plain_run():
    settings = BacktestSettings()
    assert (settings.fees, settings.fill_model, settings.limits) == (Fees(), FillModel(), DEFAULT_LIMITS)
    assert (settings.capital, settings.seed, settings.providers, settings.symbol) == (100_000.0, 0, ("backtest",), None)
    assert (settings.slippage_bps, settings.latency_ms, settings.chunk_size) == (0.0, 0.0, 65_536)
    assert (settings.drop_bad_rows, settings.progress) == (False, True)


def test_with_changes_a_copy_and_keeps_the_original():
    settings = BacktestSettings()
    changed = settings.with_(capital=5_000, providers=["alpha", "beta"])
    assert changed.capital == 5_000 and changed.providers == ("alpha", "beta")
    assert settings == BacktestSettings() and settings.with_() is settings


def test_an_unknown_setting_is_a_usage_error_listing_the_known_ones():
    with pytest.raises(UsageError, match=r"unknown run option.s. slipage_bps; known: capital, chunk_size") as caught:
        BacktestSettings().with_(slipage_bps=1)
    assert caught.value.field == "slipage_bps" and not isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capital": 0}, "capital"),
        ({"capital": math.inf}, "capital"),
        ({"slippage_bps": -1}, "slippage_bps"),
        ({"latency_ms": True}, "latency_ms"),
        ({"seed": 1.5}, "seed"),
        ({"providers": ()}, "providers"),
        ({"providers": "binance"}, "providers"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"fees": {"maker": 0}}, "fees"),
        ({"fill_model": "touch"}, "fill_model"),
        ({"limits": 5}, "limits"),
        ({"symbol": " "}, "symbol"),
        ({"drop_bad_rows": "yes"}, "drop_bad_rows"),
        ({"progress": 1}, "progress"),
    ],
)
def test_a_value_that_does_not_fit_is_a_config_error_naming_the_setting(changes, field):
    with pytest.raises(ConfigError) as caught:
        BacktestSettings(**changes)
    assert caught.value.field == field and caught.value.message.startswith(f"{field}: expected")


def test_session_options_are_made_from_the_settings_in_one_place():
    settings = BacktestSettings(fees=Fees(0.001, 0.003), slippage_bps=2, latency_ms=5, capital=9, seed=4, chunk_size=7)
    options = settings.session_options(dry_run=True, instance_id="run")
    assert options == SessionOptions(
        instance_id="run",
        fees=Fees(0.001, 0.003),
        slippage_bps=2,
        latency_ms=5,
        capital=9,
        seed=4,
        dry_run=True,
        chunk_size=7,
    )


def test_to_dict_is_json_ready_and_from_dict_reads_it_back():
    settings = BacktestSettings(
        fees=Fees(0.0, 0.001),
        fill_model=FillModel(trigger="touch", partial=True),
        limits=Limits(call_seconds=5.0),
        providers=("a", "b"),
        symbol="BTC-USDT",
        progress=False,
    )
    data = settings.to_dict()
    assert data["fees"] == {"maker": 0.0, "taker": 0.001} and data["providers"] == ["a", "b"]
    assert data["limits"] == {"eval_seconds": 2.0, "call_seconds": 5.0, "heap_bytes": 1024**3}
    assert list(data) == list(SETTING_NAMES)
    assert BacktestSettings.from_dict(data) == settings
    assert BacktestSettings.from_dict({"capital": 10}) == BacktestSettings(capital=10)


def test_from_dict_names_an_unknown_nested_key():
    with pytest.raises(ConfigError, match=r"fees: unknown key.s. maker_fee; known: maker, taker") as caught:
        BacktestSettings.from_dict({"fees": {"maker_fee": 0}})
    assert caught.value.field == "fees.maker_fee"


def test_provenance_records_what_shapes_the_results_but_the_seed_and_the_progress_bar():
    recorded = BacktestSettings(seed=9, progress=False).recorded()
    assert "seed" not in recorded and "progress" not in recorded
    assert set(recorded) == set(SETTING_NAMES) - {"seed", "progress"}


def test_the_keyword_arguments_of_a_run_are_exactly_the_settings():
    assert set(typing.get_type_hints(SettingsChanges)) == set(SETTING_NAMES)


def test_every_setting_has_help_and_at_least_one_flag_and_no_flag_is_spelled_twice():
    for name in SETTING_NAMES:
        metadata = BacktestSettings.__dataclass_fields__[name].metadata
        assert metadata["help"] and metadata["flags"], name
    spellings = [flag.flag for _, flag in FLAGS]
    assert len(spellings) == len(set(spellings))
