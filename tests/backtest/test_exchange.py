"""The simulated exchange: every fill rule with hand-computed numbers, reports, rejections, expiry."""

from __future__ import annotations

import pandas as pd
import pytest

from meltica_lab.backtest import Fees, FillModel
from meltica_lab.backtest.session import FILL_COLUMNS, ORDER_COLUMNS, SessionSnapshot
from tests.backtest.conftest import SECOND, T0, log_lines, module, run_session, trades

NO_FEES = Fees(maker=0.0, taker=0.0)
STATES = ["ACK", "PARTIAL", "FILLED", "CANCELLED", "REJECTED", "EXPIRED"]


def fills(snap: SessionSnapshot) -> list[tuple[float, float, float]]:
    """(quantity, price, fee) per fill, rounded to hide float noise."""
    c = {name: k for k, name in enumerate(FILL_COLUMNS)}
    return [(round(r[c["quantity"]], 9), round(r[c["price"]], 9), round(r[c["fee"]], 9)) for r in snap.fills]


def order_states(snap: SessionSnapshot) -> list[str]:
    return [STATES[int(r[ORDER_COLUMNS.index("state")])] for r in snap.orders]


def on_first_trade(call: str, reports: bool = True) -> bytes:
    """A strategy that places ``call`` on its first trade and logs every report it gets."""
    handlers = (
        "".join(
            f" {h}(c, e, p) {{ log('{h}', p.state, p.filled_quantity, p.avg_fill_price, p.remaining_qty); }},"
            for h in ("onOrderAcknowledged", "onOrderPartialFill", "onOrderFilled", "onOrderExpired")
        )
        + " onOrderRejected(c, e, p, r) { log('onOrderRejected', r); },"
        if reports
        else ""
    )
    return module(f"let n = 0; return {{ onTrade(c, e, p, price) {{ if (n++ === 0) {{ {call}; }} }},{handlers} }};")


def test_market_order_fills_at_the_next_trade_price_with_taker_fee():
    snap = run_session(on_first_trade("rt.submitMarketOrder('', 'buy', '2')"), trades([100.0, 101.0, 102.0]))
    # 2 x 101 = 202 notional, taker 0.2 % = 0.404
    assert fills(snap) == [(2.0, 101.0, 0.404)]
    assert log_lines(snap) == ["onOrderAcknowledged ACK 0 0 2", "onOrderFilled FILLED 2 101 0"]


@pytest.mark.parametrize(("side", "price"), [("buy", 101.101), ("sell", 100.899)])
def test_slippage_moves_market_fills_against_the_order(side, price):
    snap = run_session(
        on_first_trade(f"rt.submitMarketOrder('', '{side}', 1)"), trades([100.0, 101.0]), slippage_bps=10, fees=NO_FEES
    )
    # 101 x (1 ± 10 / 10000)
    assert fills(snap) == [(1.0, price, 0.0)]


@pytest.mark.parametrize(("side", "price"), [("buy", 100.5), ("sell", 99.5)])
def test_market_orders_on_quotes_fill_at_the_best_ask_or_bid(side, price):
    quotes = pd.DataFrame({"timestamp": [T0, T0 + SECOND], "bid": [99.0, 99.5], "ask": [99.2, 100.5]})
    source = module(f"let n = 0; return {{ onTicker() {{ if (n++ === 0) rt.submitMarketOrder('', '{side}', 3); }} }};")
    assert fills(run_session(source, quotes, fees=NO_FEES)) == [(3.0, price, 0.0)]


def test_market_orders_on_bars_fill_at_the_next_open():
    bars = pd.DataFrame(
        {
            "timestamp": [T0, T0 + 60 * SECOND],
            "open": [10.0, 11.0],
            "high": [12.0, 13.0],
            "low": [9.0, 10.5],
            "close": [11.0, 12.5],
        }
    )
    source = module("let n = 0; return { onKlineSummary() { if (n++ === 0) rt.submitMarketOrder('', 'buy', 1); } };")
    assert fills(run_session(source, bars, fees=NO_FEES)) == [(1.0, 11.0, 0.0)]


def test_buy_limit_fills_only_when_a_trade_goes_through_it_at_the_limit_with_maker_fee():
    snap = run_session(
        on_first_trade("rt.submitOrder('', 'buy', '1', 99)", reports=False),
        trades([100.0, 99.0, 98.5, 97.0]),
        fees=Fees(maker=0.001, taker=0.005),
    )
    # 99 only touches; 98.5 goes through -> filled at the limit 99, maker 0.1 % = 0.099
    assert fills(snap) == [(1.0, 99.0, 0.099)]
    assert order_states(snap) == ["FILLED"]


def test_touch_fills_a_limit_when_a_trade_prints_at_its_price():
    snap = run_session(
        on_first_trade("rt.submitOrder('', 'buy', '1', 99)", reports=False),
        trades([100.0, 99.0, 98.5]),
        fees=NO_FEES,
        fill_model=FillModel(trigger="touch"),
    )
    assert fills(snap) == [(1.0, 99.0, 0.0)]
    assert snap.fills[0][1] == 0 and snap.fills[0][0] == (T0 + SECOND) // 1_000_000


@pytest.mark.parametrize(("improve", "price"), [(False, 99.0), (True, 97.0)])
def test_price_improvement_fills_at_the_better_trade_price(improve, price):
    snap = run_session(
        on_first_trade("rt.submitOrder('', 'buy', '1', 99)", reports=False),
        trades([100.0, 97.0]),
        fees=NO_FEES,
        fill_model=FillModel(price_improvement=improve),
    )
    assert fills(snap) == [(1.0, price, 0.0)]


def test_sell_limit_fills_when_a_trade_goes_above_it():
    snap = run_session(
        on_first_trade("rt.submitOrder('', 'sell', '2', '101')", reports=False),
        trades([100.0, 101.0, 101.5]),
        fees=NO_FEES,
    )
    assert fills(snap) == [(2.0, 101.0, 0.0)]


def test_limit_orders_on_quotes_trigger_on_the_opposite_side():
    quotes = pd.DataFrame(
        {"timestamp": [T0 + k * SECOND for k in range(3)], "bid": [99.0, 99.5, 99.6], "ask": [100.2, 100.0, 99.9]}
    )
    source = module("let n = 0; return { onTicker() { if (n++ === 0) rt.submitOrder('', 'buy', 1, 100); } };")
    # ask 100.0 only touches; ask 99.9 < 100 fills at the limit
    snap = run_session(source, quotes, fees=NO_FEES)
    assert fills(snap) == [(1.0, 100.0, 0.0)]
    assert snap.fills[0][0] == (T0 + 2 * SECOND) // 1_000_000


def test_limit_orders_on_bars_trigger_on_the_low_or_high():
    bars = pd.DataFrame(
        {
            "timestamp": [T0 + k * 60 * SECOND for k in range(3)],
            "open": [100.0, 100.0, 96.0],
            "high": [101.0, 101.0, 97.0],
            "low": [99.0, 95.0, 94.0],
            "close": [100.0, 96.0, 95.0],
        }
    )
    source = module("let n = 0; return { onKlineSummary() { if (n++ === 0) rt.submitOrder('', 'buy', 1, 95.5); } };")
    # bar 2: low 95 < 95.5 -> fill at 95.5; with improvement, min(95.5, open 100) = 95.5 too
    assert fills(run_session(source, bars, fees=NO_FEES)) == [(1.0, 95.5, 0.0)]
    improved = run_session(source, bars.iloc[[0, 2]], fees=NO_FEES, fill_model=FillModel(price_improvement=True))
    assert fills(improved) == [(1.0, 95.5, 0.0)]


def test_partial_fills_are_bounded_by_traded_quantity_and_shared_in_submission_order():
    source = module(
        "let n = 0; return { onTrade() { if (n++ === 0) { rt.submitOrder('', 'buy', '5', 100);"
        " rt.submitOrder('', 'buy', '2', 100); } },"
        " onOrderPartialFill(c, e, p) { log(p.client_order_id.slice(-1), p.state,"
        " p.filled_quantity, p.remaining_qty); },"
        " onOrderFilled(c, e, p) { log(p.client_order_id.slice(-1), p.state, p.filled_quantity, p.remaining_qty); } };"
    )
    snap = run_session(
        source,
        trades([101.0, 99.0, 98.0, 97.0], [1.0, 2.0, 4.0, 9.0]),
        fees=NO_FEES,
        fill_model=FillModel(partial=True),
    )
    # trade 2 (qty 2): order 0 takes 2; trade 3 (qty 4): order 0 takes 3 (done), order 1 takes 1;
    # trade 4: order 1 takes its last 1
    assert fills(snap) == [(2.0, 100.0, 0.0), (3.0, 100.0, 0.0), (1.0, 100.0, 0.0), (1.0, 100.0, 0.0)]
    assert log_lines(snap) == ["0 PARTIAL 2 3", "0 FILLED 5 0", "1 PARTIAL 1 1", "1 FILLED 2 0"]


def test_latency_delays_eligibility_and_the_ack():
    source = on_first_trade("rt.submitMarketOrder('', 'buy', 1)", reports=False)
    snap = run_session(source, trades([100.0, 101.0, 102.0]), latency_ms=1500, fees=NO_FEES)
    # submitted at T0, eligible at T0 + 1.5 s: the trade at T0 + 1 s is too early
    assert fills(snap) == [(1.0, 102.0, 0.0)]


def test_reports_arrive_after_the_submitting_handler_returns():
    source = module(
        "return { onTrade() { log('before'); rt.submitMarketOrder('', 'buy', 1); log('after'); },"
        " onOrderAcknowledged() { log('ack'); } };"
    )
    assert log_lines(run_session(source, trades([100.0]))) == ["before", "after", "ack"]


def test_client_order_ids_are_instance_sim_time_and_counter():
    source = module(
        "return { onTrade() { rt.submitMarketOrder('', 'buy', 1); }, onOrderAcknowledged(c, e,"
        " p) { log(p.client_order_id); } };"
    )
    lines = log_lines(run_session(source, trades([1.0, 1.0], step=SECOND + 7)))
    assert lines == [f"backtest-{T0}-0", f"backtest-{T0 + SECOND + 7}-1"]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ("rt.submitMarketOrder('', 'buy', '0')", 'invalid quantity "0": expected a number > 0'),
        ("rt.submitMarketOrder('', 'buy', -1)", 'invalid quantity "-1": expected a number > 0'),
        ("rt.submitMarketOrder('', 'buy', 'abc')", 'invalid quantity "abc": expected a number > 0'),
        ("rt.submitMarketOrder('', 'buy')", 'invalid quantity "": expected a number > 0'),
        ("rt.submitMarketOrder('kraken', 'buy', 1)", 'order provider "kraken" not configured for lambda backtest'),
        ("rt.submitOrder('', 'buy', 1)", "limit order requires price"),
        ("rt.submitOrder('', 'buy', 1, '  ')", "limit order requires price"),
        ("rt.submitOrder('', 'buy', 1, 'cheap')", 'invalid price "cheap": expected a number > 0'),
        ("rt.submitOrder('', 'buy', 1, -5)", 'invalid price "-5": expected a number > 0'),
    ],
)
def test_invalid_orders_are_rejected_with_a_reason(call, reason):
    snap = run_session(on_first_trade(call), trades([100.0, 99.0, 98.0]))
    assert log_lines(snap) == [f"onOrderRejected {reason}"]
    assert order_states(snap) == ["REJECTED"] and len(snap.fills) == 0
    assert snap.summary["reasons"] == [reason]


def test_resting_orders_expire_at_the_end_of_data_and_later_orders_are_rejected():
    source = module(
        "let n = 0; return { onTrade() { if (n++ === 0) { rt.submitOrder('', 'buy', 1, 50); } },"
        " onOrderExpired(c, e, p) { log('expired', p.state, Date.now()); rt.submitMarketOrder('', 'buy', 1); },"
        " onOrderRejected(c, e, p, r) { log('rejected', r); } };"
    )
    snap = run_session(source, trades([100.0, 99.0]))
    assert log_lines(snap) == [f"expired EXPIRED {(T0 + SECOND) // 1_000_000}", "rejected backtest data ended"]
    assert order_states(snap) == ["EXPIRED", "REJECTED"]
    assert snap.summary["orders"] == {"submitted": 2, "rejected": 1, "expired": 1}


def test_a_market_order_with_no_later_trade_expires():
    snap = run_session(on_first_trade("rt.submitMarketOrder('', 'buy', 1)"), trades([100.0]))
    assert log_lines(snap)[-1] == "onOrderExpired EXPIRED 0 0 1"


def test_orders_fill_only_on_their_own_symbol():
    source = module(
        "let n = 0; return { onTrade(c, e) { if (n++ === 0) rt.submitMarketOrder('', 'buy', 1); },"
        " onOrderFilled(c, e, p) { log(e.symbol, p.avg_fill_price); } };"
    )
    data = trades([100.0, 5.0, 101.0], symbol=["AAA-USD", "BBB-USD", "AAA-USD"])
    assert log_lines(run_session(source, data)) == ["AAA-USD 101"]


def test_an_order_placed_in_create_fills_on_the_first_trade_of_the_first_symbol():
    source = module(
        "rt.submitMarketOrder('', 'buy', 1); return { onOrderFilled(c, e, p) { log(e.symbol, p.avg_fill_price); } };"
    )
    data = trades([100.0, 5.0], symbol=["AAA-USD", "BBB-USD"])
    assert log_lines(run_session(source, data)) == ["AAA-USD 100"]


def test_many_resting_orders_only_the_crossed_ones_are_visited():
    source = module(
        "let n = 0; return { onTrade() {"
        " if (n++ === 0) for (let k = 1; k <= 2000; k++) rt.submitOrder('', 'buy', 1, k / 100); } };"
    )
    # the trade at 10.005 goes through the limits 10.01 .. 20.00 only, best price first
    snap = run_session(source, trades([30.0, 10.005]), fees=NO_FEES)
    assert len(snap.fills) == 1000
    prices = [row[FILL_COLUMNS.index("price")] for row in snap.fills]
    assert prices[0] == 20.0 and prices[-1] == 10.01
    assert snap.summary["orders"]["expired"] == 1000
