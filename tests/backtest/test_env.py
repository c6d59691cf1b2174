"""The `env` handed to create(env): keys, config, metadata, helpers and the ten runtime helpers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from meltica_lab.errors import StrategyRuntimeError
from tests.backtest.conftest import T0, errors, log_lines, module, run_session, trades


def probe(expression: str, data=None, **options) -> list:
    """Evaluate ``expression`` inside create(env) and return its JSON value."""
    snap = run_session(module(f"log(JSON.stringify({expression})); return {{}};"), data or trades([100.0]), **options)
    return json.loads(log_lines(snap)[0])


def test_env_has_exactly_the_documented_keys_and_ten_runtime_helpers():
    keys = probe("[Object.keys(env), Object.keys(env.helpers), Object.keys(env.runtime).sort()]")
    assert keys == [
        ["config", "metadata", "events", "helpers", "runtime"],
        ["log", "sleep"],
        sorted(
            [
                "isTradingActive",
                "isDryRun",
                "providers",
                "selectProvider",
                "submitMarketOrder",
                "submitOrder",
                "getMarketState",
                "getBidPrice",
                "getAskPrice",
                "getLastPrice",
            ]
        ),
    ]


def test_config_is_a_shallow_copy_of_the_given_values():
    snap = run_session(
        module("env.config.lookback = 99; log(JSON.stringify(env.config)); return {};"),
        trades([100.0]),
        config={"lookback": 5, "name": "x"},
    )
    assert json.loads(log_lines(snap)[0]) == {"lookback": 99, "name": "x"}


def test_metadata_is_lower_cased_and_takes_the_registry_tag_under_version_and_tag():
    source = module("log(JSON.stringify([env.metadata, env.events])); return {};", name="Probe")
    snap = run_session(source, trades([100.0]))
    metadata, events = json.loads(log_lines(snap)[0])
    assert metadata == {
        "name": "probe",
        "version": "v1.0.0",
        "tag": "v1.0.0",
        "displayName": "Probe",
        "description": "",
        "config": [],
        "events": ["Trade"],
    }
    assert events == ["Trade"]


def test_trading_is_active_and_dry_run_is_off_by_default():
    assert probe("[env.runtime.isTradingActive(), env.runtime.isDryRun()]") == [True, False]


def test_dry_run_option_logs_the_gateway_line_and_sends_nothing():
    source = module(
        "return { onTrade() { rt.submitMarketOrder('', 'buy', '1'); rt.submitOrder('', 'sell', 2, 101.5); } };"
    )
    snap = run_session(source, trades([100.0]), dry_run=True)
    assert log_lines(snap) == [
        "[backtest] dry-run: skip submit market order provider=backtest side=Buy qty=1",
        "[backtest] dry-run: skip submit order provider=backtest side=Sell qty=2 price=101.5",
    ]
    assert snap.orders.shape[0] == 0


def test_providers_returns_a_fresh_real_array():
    assert probe(
        "(() => { const p = env.runtime.providers(); p.push('x'); "
        "return [Array.isArray(p), env.runtime.providers()]; })()",
        providers=("alpha", "beta"),
    ) == [True, ["alpha", "beta"]]


def test_select_provider_is_seed_modulo_count_for_numbers_and_numeric_text():
    result = probe(
        "[0, 1, 2, 3, 4, -4, 4.9, '5', '7.5', ' 2'].map((s) => env.runtime.selectProvider(s))",
        providers=("alpha", "beta", "gamma"),
    )
    assert result == ["alpha", "beta", "gamma", "alpha", "beta", "beta", "beta", "gamma", "beta", "alpha"]


def test_select_provider_uses_the_simulation_clock_for_other_seeds():
    # create runs at T0 = 1672531200000000000 ns, and T0 mod 7 = 3
    names = tuple("abcdefg")
    result = probe("[undefined, true, 'abc', {}].map((s) => env.runtime.selectProvider(s))", providers=names)
    assert result == ["d", "d", "d", "d"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("rt.submitMarketOrder('', undefined, '1')", "invalid trade side <nil>"),
        ("rt.submitMarketOrder('', true, '1')", "invalid trade side true"),
        ("rt.submitMarketOrder('', 'up', '1')", "invalid trade side up"),
        ("rt.submitOrder('', 'buy', '1', true)", "unsupported price type bool"),
        ("rt.submitOrder('', 'buy', '1', {p: 1})", "unsupported price type map[string]interface {}"),
    ],
)
def test_order_helpers_throw_the_gateway_error_texts(call, message):
    source = module(
        f"try {{ {call}; log('no error'); }} catch (e) {{ log(e instanceof Error, e.message); }} return {{}};"
    )
    assert log_lines(run_session(source, trades([100.0]))) == [f"true {message}"]


@pytest.mark.parametrize(
    ("side", "expected"),
    [("'buy'", 1), ("' LONG '", 1), ("'bid'", 1), ("0", 1), ("'sell'", -1), ("'Short'", -1), ("'ask'", -1), ("-2", -1)],
)
def test_side_words_and_numbers_map_to_buy_or_sell(side, expected):
    source = module(f"rt.submitMarketOrder('', {side}, '1'); return {{}};")
    snap = run_session(source, trades([100.0, 100.0]))
    assert snap.orders[0, 5] == expected


@pytest.mark.parametrize(
    ("price", "text"),
    [("99.5", "99.5"), ("100", "100"), ("1e21", "1000000000000000000000"), ("1e-7", "0.0000001"), ("' 101 '", "101")],
)
def test_submit_order_price_becomes_decimal_text_without_exponent(price, text):
    source = module(
        f"rt.submitOrder('', 'buy', '1', {price});"
        " return { onOrderAcknowledged(c, e, p) { log(p.price); }, onOrderRejected(c, e, p) { log(p.price); } };"
    )
    assert log_lines(run_session(source, trades([100.0])))[0] == text


def test_an_empty_provider_means_the_first_configured_provider():
    source = module("rt.submitMarketOrder(null, 'buy', 1); return {};")
    snap = run_session(source, trades([100.0, 101.0]), providers=("alpha", "beta"))
    assert snap.summary["orderProviders"] == ["alpha"]


def test_market_state_helpers_read_the_active_symbols_replayed_state():
    source = module(
        "return { onTrade(c, e) { log(e.symbol, rt.getLastPrice(), rt.getBidPrice(), rt.getAskPrice(), "
        "JSON.stringify(rt.getMarketState())); }, onTicker(c, e) { log(e.symbol,"
        " JSON.stringify(rt.getMarketState())); } };"
    )
    data = trades([100.0, 200.0, 101.0], symbol=["AAA-USD", "BBB-USD", "AAA-USD"])
    lines = log_lines(run_session(source, data))
    assert lines == [
        'AAA-USD 100 0 0 {"last":100,"bid":0,"ask":0,"spread":0,"spreadPct":0}',
        'BBB-USD 200 0 0 {"last":200,"bid":0,"ask":0,"spread":0,"spreadPct":0}',
        'AAA-USD 101 0 0 {"last":101,"bid":0,"ask":0,"spread":0,"spreadPct":0}',
    ]


def test_market_state_from_quotes_has_spread_and_spread_percent():
    quotes = pd.DataFrame({"timestamp": [T0], "bid": [100.0], "ask": [100.5], "price": [100.2], "symbol": ["X-USD"]})
    source = module("return { onTicker() { log(JSON.stringify(rt.getMarketState())); } };")
    assert json.loads(log_lines(run_session(source, quotes))[0]) == {
        "last": 100.2,
        "bid": 100.0,
        "ask": 100.5,
        "spread": 0.5,
        "spreadPct": 0.5,
    }


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ("'a', 'b'", "a b"),
        ("1, 0.5, 1e21, 1234567.5, 0.00001, -3", "1 0.5 1e+21 1.2345675e+06 1e-05 -3"),
        ("true, false, null, undefined", "true false <nil> <nil>"),
        ("{b: 1, a: 'x'}", "map[a:x b:1]"),
        ("[1, 'two', [3, null]]", "[1 two [3 <nil>]]"),
        ("new Date(Date.UTC(2023, 0, 1, 0, 0, 0, 500))", "2023-01-01 00:00:00.5 +0000 UTC"),
        ("NaN, Infinity, -Infinity", "NaN +Inf -Inf"),
    ],
)
def test_log_formats_arguments_like_go_fmt_sprint(args, line):
    source = module(f"log({args}); return {{}};")
    assert log_lines(run_session(source, trades([100.0]))) == [line]


def test_log_with_no_arguments_or_empty_text_writes_nothing():
    source = module("log(); log(''); console.log('ignored'); return {};")
    assert log_lines(run_session(source, trades([100.0]))) == []


def test_sleep_returns_at_once_and_does_not_move_the_clock():
    source = module(
        "return { onTrade() { const before = Date.now(); env.helpers.sleep(3_600_000); env.helpers.sleep('1h');"
        " log(env.helpers.sleep(5) === undefined, Date.now() - before); } };"
    )
    assert log_lines(run_session(source, trades([100.0]))) == ["true 0"]


def test_create_failure_names_the_strategy_and_the_cause():
    with pytest.raises(StrategyRuntimeError, match="strategy probe: create failed: Error: bad config") as info:
        run_session(module("throw new Error('bad config');"), trades([100.0]))
    assert info.value.handler == "create"


def test_create_returning_null_or_a_primitive_runs_without_handlers():
    for value in ("null", "undefined", "42"):
        snap = run_session(module(f"return {value};"), trades([100.0]))
        assert snap.summary["events"] == 1
        assert errors(snap)[0]["handler"] == "create"
        assert "the strategy has no handlers" in errors(snap)[0]["message"]


def test_wants_cross_provider_events_is_read_once_and_its_errors_recorded():
    source = module(
        "let calls = 0; return { wantsCrossProviderEvents() { calls++; throw new Error('no'); },"
        " onTrade() { log('calls', calls); } };"
    )
    snap = run_session(source, trades([1.0, 2.0]))
    assert log_lines(snap) == ["calls 1", "calls 1"]
    assert errors(snap) == [{"handler": "wantsCrossProviderEvents", "message": "Error: no", "count": 1}]
