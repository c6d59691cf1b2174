"""Presentation: units, precision, short names with the full selector kept, reasons instead of NaN."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from meltica_lab.backtest.metrics import SHARPE_LABEL
from meltica_lab.presentation import (
    comparison_table,
    currencies,
    provenance_rows,
    readable,
    short_selector,
    summary_table,
    summary_value,
)

DIGEST = "sha256:" + "ab" * 32


def test_short_selectors_use_the_tag_or_twelve_hex_when_the_tag_is_taken_or_missing() -> None:
    assert short_selector("momentum", "v1.2.0", DIGEST) == "momentum:v1.2.0"
    assert short_selector("momentum", "", DIGEST) == "momentum@abababababab"
    assert short_selector("momentum", "v1.2.0", DIGEST, tags_taken=["momentum:v1.2.0"]) == "momentum@abababababab"


@pytest.mark.parametrize(
    ("symbols", "expected"),
    [(["BTC-USDT"], ("BTC", "USDT")), (["ETH/EUR", "ETH/EUR"], ("ETH", "EUR")), (["BTCUSDT"], ("base", "quote"))],
)
def test_currencies_come_from_the_one_symbol_traded_or_stay_generic(symbols, expected) -> None:
    assert currencies(symbols) == expected
    assert currencies(["BTC-USDT", "ETH-USDT"]) == ("base", "quote")


def test_values_carry_units_and_sensible_precision() -> None:
    assert summary_value("Equity Final", 82673.958197, quote="USDT") == "82,673.96 USDT"
    assert summary_value("Turnover", 9.76191e06) == "9,761,910.00 quote"
    assert summary_value("Return [%]", 13.254077) == "13.25 %"
    assert summary_value("Orders", 155) == "155"
    assert summary_value("Legacy Volume", 181.0, base="BTC") == "181 BTC"
    assert summary_value(SHARPE_LABEL, 1.23456) == "1.23"


def test_a_metric_that_cannot_be_computed_says_why() -> None:
    assert summary_value(SHARPE_LABEL, math.nan, days=1) == (
        "n/a: needs 3+ UTC days (2+ daily returns); this run covers 1 UTC day(s)"
    )
    assert summary_value("Win Rate [%]", math.nan) == "n/a: no round trips"


def test_every_legacy_row_is_explained() -> None:
    summary = pd.Series({"Net PnL": 12411.0, "Legacy Net PnL": 63150.0, "Legacy Volume": 3.0}, dtype=object)
    table = summary_table(summary, symbols=["BTC-USDT"])
    assert table.loc["Legacy Net PnL", "value"] == "63,150.00 USDT"
    assert (
        "not marked" in table.loc["Legacy Net PnL", "meaning"]
        and "Net PnL is the figure" in table.loc["Legacy Net PnL", "meaning"]
    )
    assert all(table.loc[label, "meaning"] for label in table.index if label.startswith("Legacy"))


def test_provenance_rows_keep_every_value_whole_with_the_hash_first() -> None:
    rows = provenance_rows(
        {
            "strategy": "m",
            "selector": "m",
            "pinned": f"m@{DIGEST}",
            "hash": DIGEST,
            "data_sha256": DIGEST,
            "data_source": "a.csv",
            "config": {"lookback": 20},
            "seed": 3,
        }
    )
    assert rows[:6] == [
        ("hash", DIGEST),
        ("pinned selector", f"m@{DIGEST}"),
        ("asked for", "m"),
        ("data", "a.csv"),
        ("data sha256", DIGEST),
        ("config", '{"lookback": 20}'),
    ]


def test_the_comparison_has_short_column_names_and_the_full_selector_in_a_row() -> None:
    comparison = pd.DataFrame(
        {
            "strategy": ["m", "m"],
            "tag": ["v1", "v2"],
            "hash": [DIGEST, "sha256:" + "cd" * 32],
            "Return [%]": [1.0, 2.5],
        },
        index=[f"m@{DIGEST}", "m@sha256:" + "cd" * 32],
    )
    table = comparison_table(comparison)
    assert list(table.columns) == ["m:v1", "m:v2"]
    assert table.loc["pinned selector", "m:v1"] == f"m@{DIGEST}"
    assert table.loc["Return [%]", "m:v2"] == "2.50 %"
    money = comparison.assign(**{"Net PnL": [1.0, 2.0]})
    assert comparison_table(money, symbols=["BTC-USDT"]).loc["Net PnL", "m:v1"] == "1.00 USDT"


def test_readable_frames_show_no_python_reprs() -> None:
    frame = pd.DataFrame(
        {
            "hash": [float("nan"), "sha256:1"],
            "tags": [("a", "b"), ()],
            "when": pd.to_datetime([None, "2024-03-01"], utc=True),
            "ok": [True, False],
        }
    )
    out = readable(frame, first=["ok"])
    assert list(out.columns) == ["ok", "hash", "tags", "when"]
    assert out.to_dict("list") == {
        "ok": ["yes", "no"],
        "hash": ["", "sha256:1"],
        "tags": ["a, b", ""],
        "when": ["", "2024-03-01T00:00:00+00:00"],
    }
