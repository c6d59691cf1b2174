"""Untrusted strategies: throwing handlers are recorded, runaway ones stopped, noisy ones capped."""

from __future__ import annotations

import numpy as np
import pytest

from meltica_lab.errors import StrategyRuntimeError
from meltica_lab.jshost.isolate import JSLimitError
from meltica_lab.jshost.limits import Limits
from tests.backtest.conftest import errors, log_lines, module, run_session, trades

QUICK = Limits(eval_seconds=1.0, call_seconds=0.5, heap_bytes=64 * 1024 * 1024)


def test_a_throwing_handler_is_counted_and_the_run_continues():
    source = module(
        "let n = 0; return { onTrade(c, e, p, price) { n++; if (price > 1) throw new"
        " TypeError('too high'); log('ok', n); } };"
    )
    snap = run_session(source, trades([1.0, 2.0, 3.0, 1.0]))
    assert log_lines(snap) == ["ok 1", "ok 4"]
    assert errors(snap) == [{"handler": "onTrade", "message": "TypeError: too high", "count": 2}]
    assert snap.summary["events"] == 4


@pytest.mark.parametrize(
    ("thrown", "message"),
    [
        ("'plain text'", "plain text"),
        ("42", "42"),
        ("null", "null"),
        ("undefined", "undefined"),
        ("{code: 7}", '{"code":7}'),
        ("{toJSON() { throw 1; }, toString() { throw 2; }}", "(unprintable thrown value)"),
    ],
)
def test_thrown_non_error_values_are_recorded_as_text(thrown, message):
    snap = run_session(module(f"return {{ onTrade() {{ throw {thrown}; }} }};"), trades([1.0]))
    assert errors(snap) == [{"handler": "onTrade", "message": message, "count": 1}]


def test_a_handler_that_is_not_a_function_is_reported():
    snap = run_session(module("return { onTrade: 5 };"), trades([1.0, 2.0]))
    assert errors(snap) == [{"handler": "onTrade", "message": 'method "onTrade" not callable', "count": 2}]


def test_a_runaway_handler_is_stopped_with_an_error_naming_strategy_and_handler():
    source = module("let n = 0; return { onTrade() { if (++n === 3) while (true) {} } };")
    with pytest.raises(JSLimitError) as info:
        run_session(source, trades([1.0] * 5), limits=QUICK)
    assert isinstance(info.value, StrategyRuntimeError)
    assert info.value.kind == "time"
    assert (info.value.strategy, info.value.handler) == ("probe", "onTrade")
    assert "strategy probe: onTrade stopped: time limit of 0.5 s exceeded" in str(info.value)


def test_a_runaway_report_handler_is_named():
    source = module(
        "let n = 0; return { onTrade() { if (n++ === 0) rt.submitMarketOrder('', 'buy', 1); },"
        " onOrderFilled() { for (;;) {} } };"
    )
    with pytest.raises(JSLimitError) as info:
        run_session(source, trades([1.0, 2.0]), limits=QUICK)
    assert info.value.handler == "onOrderFilled"


def test_a_runaway_create_is_named():
    with pytest.raises(JSLimitError) as info:
        run_session(module("while (true) {}"), trades([1.0]), limits=QUICK)
    assert info.value.handler == "create"


def test_the_heap_limit_stops_the_strategy_and_python_carries_on():
    source = module("const hoard = []; return { onTrade() { for (;;) hoard.push(new Array(100000).fill(1.5)); } };")
    with pytest.raises(JSLimitError) as info:
        run_session(source, trades([1.0]), limits=QUICK.with_(call_seconds=20.0))
    assert info.value.kind == "heap"
    assert info.value.handler == "onTrade"
    # a new session runs normally afterwards
    assert log_lines(run_session(module("log('alive'); return {};"), trades([1.0]))) == ["alive"]


def test_log_output_is_capped_and_dropped_lines_are_counted():
    source = module("return { onTrade() { for (let i = 0; i < 50; i++) log('line', i, 'x'.repeat(100000)); } };")
    snap = run_session(source, trades([1.0, 1.0]), max_log_lines=30, max_log_line_length=64)
    lines = log_lines(snap)
    assert len(lines) == 30
    assert all(len(line) == 65 and line.endswith("…") for line in lines)
    assert snap.summary["journal"]["counts"]["droppedLines"] == 70


def test_error_kinds_are_capped_but_every_error_is_counted():
    snap = run_session(
        module("let n = 0; return { onTrade() { throw new Error('boom ' + n++); } };"),
        trades([1.0] * 6),
        max_error_kinds=4,
    )
    counts = snap.summary["journal"]["counts"]
    assert len(errors(snap)) == 4
    assert counts["errors"] == 6 and counts["droppedErrorKinds"] == 2


def test_strategy_code_sees_no_host_objects():
    source = module(
        "log(typeof require, typeof process, typeof setTimeout, typeof fetch, typeof M, typeof WebAssembly); return {};"
    )
    assert log_lines(run_session(source, trades([1.0]))) == [
        "undefined undefined undefined undefined undefined undefined"
    ]


def test_a_strategy_cannot_re_enter_the_event_loop():
    source = module(
        "return { onTrade() { try { __mlabHost.runChunk(1); } catch (e) { log(e.message); }"
        " try { __mlabHost.finish(); } catch (e) { log(e.message); } } };"
    )
    snap = run_session(source, trades([1.0]))
    assert log_lines(snap) == [
        "runChunk called while the host is running a handler",
        "finish called while the host is running a handler",
    ]
    assert snap.summary["events"] == 1


def test_nothing_a_strategy_changes_reaches_the_next_run_in_the_process():
    # Runs after the first take an isolate made ahead while the previous one ran: it has run the
    # host script and nothing else, so a strategy's changes to globals and built-ins stay in its run.
    spoil = module(
        "globalThis.kept = 1; Math.random = () => 0.5; Array.prototype.extra = 7;"
        " Object.defineProperty(Object.prototype, 'sneaky', { value: 1, configurable: true }); return {};"
    )
    look = module("log(typeof kept, Math.random() === 0.5, [].extra, ({}).sneaky, typeof __mlabHost.init); return {};")
    for _ in range(3):
        run_session(spoil, trades([1.0]))
        assert log_lines(run_session(look, trades([1.0]))) == ["undefined false <nil> <nil> function"]


def test_typed_array_methods_a_strategy_replaces_do_not_reach_the_result_tables():
    trader = " return { onTrade(c, e, p) { rt.submitMarketOrder('', 'buy', '1'); } };"
    hijack = (
        "const proto = Object.getPrototypeOf(Float64Array.prototype);"
        " const empty = { get() { return new ArrayBuffer(8); } };"
        " for (const target of [Float64Array.prototype, proto]) {"
        " target.set = () => { throw new Error('set'); }; Object.defineProperty(target, 'buffer', empty); }"
    )
    plain = run_session(module(trader), trades([100.0, 101.0, 102.0]))
    hijacked = run_session(module(hijack + trader), trades([100.0, 101.0, 102.0]))
    assert errors(hijacked) == [] and len(hijacked.fills) == 2 and len(hijacked.orders) == 3
    np.testing.assert_array_equal(hijacked.fills, plain.fills)
    np.testing.assert_array_equal(hijacked.orders, plain.orders)
