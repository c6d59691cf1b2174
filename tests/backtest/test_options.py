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
