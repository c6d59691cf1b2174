"""Options of a run are checked when they are made, naming the field at fault."""

from __future__ import annotations

import pytest

from meltica_lab.backtest import Fees, FillModel, SessionOptions
from meltica_lab.errors import UsageError


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Fees(maker=1.5), "fees.maker"),
        (lambda: Fees(taker=float("nan")), "fees.taker"),
        (lambda: Fees(taker=-0.5), "fees.taker"),
        (lambda: Fees(taker=-0.0001), "fees.taker"),
        (lambda: Fees(maker=-0.02), "fees.maker"),
        (lambda: Fees(maker=True), "fees.maker"),
        (lambda: SessionOptions(slippage_bps=10_001), "slippage_bps"),
        (lambda: SessionOptions(latency_ms=1e12), "latency_ms"),
        (lambda: FillModel(trigger="cross"), "fill_model.trigger"),
        (lambda: SessionOptions(latency_ms=-1), "latency_ms"),
        (lambda: SessionOptions(slippage_bps=float("inf")), "slippage_bps"),
        (lambda: SessionOptions(capital=0), "capital"),
        (lambda: SessionOptions(providers=()), "providers"),
        (lambda: SessionOptions(providers=("ok", " ")), "providers"),
        (lambda: SessionOptions(seed=True), "seed"),
        (lambda: SessionOptions(chunk_size=0), "chunk_size"),
    ],
)
def test_invalid_options_are_usage_errors_naming_the_field(make, field):
    with pytest.raises(UsageError) as info:
        make()
    assert info.value.field == field and str(info.value).startswith(f"{field}: expected")


def test_defaults_are_the_documented_ones():
    options = SessionOptions()
    assert options.fees == Fees(maker=0.002, taker=0.002)
    assert options.fill_model == FillModel(trigger="through", price_improvement=False, partial=False)
    assert (options.capital, options.latency_ms, options.slippage_bps, options.dry_run) == (100_000.0, 0.0, 0.0, False)


def test_a_negative_taker_fee_names_the_sane_range():
    with pytest.raises(
        UsageError, match=r"^fees\.taker: expected a rate from 0 to 0\.1 \(0\.002 = 0\.2 %\), got -0\.5$"
    ):
        Fees(taker=-0.5)


def test_a_maker_rebate_and_the_edges_of_the_ranges_are_accepted():
    assert Fees(maker=-0.0002, taker=0.0).maker == -0.0002
    assert Fees(maker=0.1, taker=0.1) == Fees(0.1, 0.1)
    assert SessionOptions(slippage_bps=10_000, latency_ms=86_400_000).slippage_bps == 10_000


def test_run_backtest_refuses_a_negative_taker_fee_before_running(tmp_path):
    from meltica_lab.backtest import run_backtest

    with pytest.raises(UsageError, match=r"fees\.taker: expected a rate from 0"):
        run_backtest("momentum", tmp_path / "never-read.csv", fees=Fees(taker=-0.5))
