"""Determinism inside V8: the simulation clock, seeded Math.random, identical results for identical runs."""

from __future__ import annotations

import numpy as np

from tests.backtest.conftest import SECOND, T0, log_lines, module, run_session, trades


def test_date_now_and_new_date_read_the_event_time():
    source = module(
        "log('create', Date.now(), new Date().toISOString());"
        " return { onTrade(c, e) { log(Date.now(), new Date().toISOString(), new Date() instanceof Date,"
        " typeof Date(), new Date(0).toISOString(), Date.UTC(2020, 0, 1)); } };"
    )
    lines = log_lines(run_session(source, trades([1.0, 2.0], step=1500 * 1_000_000)))
    ms = T0 // 1_000_000
    assert lines == [
        f"create {ms} 2023-01-01T00:00:00.000Z",
        f"{ms} 2023-01-01T00:00:00.000Z true string 1970-01-01T00:00:00.000Z 1577836800000",
        f"{ms + 1500} 2023-01-01T00:00:01.500Z true string 1970-01-01T00:00:00.000Z 1577836800000",
    ]


def test_exec_reports_are_delivered_at_their_own_simulation_time():
    source = module(
        "let n = 0; return { onTrade() { if (n++ === 0) rt.submitMarketOrder('', 'buy', 1); },"
        " onOrderAcknowledged(c, e, p) { log('ack', Date.now(), p.timestamp); },"
        " onOrderFilled(c, e, p) { log('fill', Date.now(), p.timestamp); } };"
    )
    lines = log_lines(run_session(source, trades([1.0, 2.0], step=2 * SECOND), latency_ms=250))
    ms = T0 // 1_000_000
    assert lines == [
        f"ack {ms + 250} 2023-01-01T00:00:00.25Z",
        f"fill {ms + 2000} 2023-01-01T00:00:02Z",
    ]


def test_math_random_is_seeded():
    source = module("log(JSON.stringify([Math.random(), Math.random(), Math.random()])); return {};")

    def draws(seed: int) -> str:
        return log_lines(run_session(source, trades([1.0]), seed=seed))[0]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert draws(2**40) != draws(0)
    values = [float(v) for v in draws(7).strip("[]").split(",")]
    assert all(0 <= v < 1 for v in values) and len(set(values)) == 3


def test_two_identical_runs_give_identical_bytes():
    source = module(
        "return { onTrade(c, e, p, price) { if (Math.random() < 0.3) rt.submitMarketOrder('',"
        " Math.random() < 0.5 ? 'buy' : 'sell', 1);"
        " if (Math.random() < 0.2) rt.submitOrder('', 'buy', '0.5', price * 0.99); log(Date.now(), Math.random()); } };"
    )
    rng = np.random.default_rng(3)
    data = trades(list(100 + rng.standard_normal(300).cumsum()), list(rng.uniform(0.5, 2.0, 300)))
    first = run_session(source, data, seed=11, latency_ms=1.5)
    second = run_session(source, data, seed=11, latency_ms=1.5)
    for name in ("fills", "orders", "equity"):
        assert getattr(first, name).tobytes() == getattr(second, name).tobytes()
    assert first.summary == second.summary
    assert len(first.fills) > 10
