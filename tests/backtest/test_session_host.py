"""A session on an isolate prepared while the data was read (prepare_host) runs as one that made its own."""

from __future__ import annotations

import numpy as np

from meltica_lab.backtest.data import load_market_data
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.backtest.session import StrategySession, prepare_host
from meltica_lab.jshost.limits import DEFAULT_LIMITS
from tests.backtest.conftest import module, trades

BUY_THEN_SELL = module(
    "let n = 0; return { onTrade() { n++; if (n === 2) rt.submitMarketOrder('', 'buy', 1);"
    " if (n === 4) rt.submitOrder('', 'sell', 1, 103); } };"
)


def _snapshot(host):
    events = load_market_data(trades([100.0, 101.0, 102.0, 103.0, 104.0, 99.0])).events
    with StrategySession(
        BUY_THEN_SELL,
        name="probe",
        tag="v1",
        config={},
        options=SessionOptions(),
        symbols=events.symbols,
        start_ns=events.start_ns,
        host=host,
    ) as session:
        session.feed(events)
        session.finish()
        return session.snapshot(), session.crossings


def test_a_prepared_host_gives_the_results_of_a_session_that_made_its_own_isolate():
    (own, own_calls), (prepared, prepared_calls) = _snapshot(None), _snapshot(prepare_host(DEFAULT_LIMITS))
    assert len(own.fills) == 2
    for name in ("fills", "orders", "equity", "equity_ts"):
        assert np.array_equal(getattr(own, name), getattr(prepared, name), equal_nan=True), name
    assert own.summary == prepared.summary
    assert prepared_calls == own_calls  # the host script went in with the isolate, init is its own call
