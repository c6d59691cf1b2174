"""StrategySession's calls into V8: how many a run makes, that fewer calls give the same results, and
that the garbage of a long feed is returned before the results are built."""

from __future__ import annotations

import numpy as np
import pytest

from meltica_lab.backtest import run_backtest
from meltica_lab.backtest.data import load_market_data
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.backtest.session import LONG_FEED, SessionSnapshot, StrategySession
from meltica_lab.errors import StrategyRuntimeError, UsageError
from meltica_lab.jshost.isolate import _racer_thread
from tests.backtest.conftest import module, register, trades

# a limit buy that rests on the first trade and fills later, and a market sell: fills, orders, logs
TRADER = module(
    "let n = 0; return { onTrade(ctx, evt, p, price) { n++; log('trade', n, price);"
    " if (n === 1) rt.submitOrder('', 'buy', 2, 95);"
    " if (n === 4) rt.submitMarketOrder('', 'sell', 1); } };",
    name="trader",
)
PRICES = [100.0, 99.0, 94.0, 96.0, 97.0]


def _session(data, **kwargs) -> StrategySession:
    events = load_market_data(data).events
    return StrategySession(
        TRADER, name="trader", tag="v1.0.0", config={}, options=SessionOptions(), symbols=events.symbols, **kwargs
    )


def _same(a: SessionSnapshot, b: SessionSnapshot) -> None:
    for name in ("fills", "orders", "equity", "equity_ts"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    assert a.summary == b.summary


def test_finish_returns_the_results_a_snapshot_after_it_gives():
    data = trades(PRICES)
    with _session(data) as session:
        session.feed(load_market_data(data).events)
        finished = session.finish()
        later = session.snapshot()
    assert len(finished.fills) == 2 and finished.summary["journal"]["logs"]["text"][0] == "trade 1 100"
    _same(finished, later)


def test_a_closed_session_refuses_every_call_with_an_error_naming_the_strategy():
    # its chunk columns are memory V8 freed: a feed wrote into it and crashed the process
    data = trades(PRICES)
    events = load_market_data(data).events
    session = _session(data)
    session.feed(events)
    session.close()
    for call in (lambda: session.feed(events), session.finish, session.snapshot, session.release_memory):
        with pytest.raises(UsageError, match="strategy trader: this session is closed"):
            call()


def test_providers_declared_up_front_give_the_codes_the_first_feed_would_and_save_a_call():
    data = trades(PRICES, provider=["p2", "p1", "p2", "p1", "p2"])
    events = load_market_data(data).events
    results, calls = [], []
    for providers in ((), events.providers):
        with _session(data, providers=providers) as session:
            session.feed(events)
            results.append(session.finish())
            calls.append(session.crossings)
    _same(*results)
    # host and init, load, the chunk (+ the tables of providers when not declared), finish with results
    assert calls == [5, 4]


def test_a_backtest_of_one_chunk_calls_into_v8_four_times(root):
    register(root, "trader", "v1.0.0", TRADER)
    result = run_backtest("trader", trades(PRICES), root=root, progress=False)
    assert len(result.fills) == 2
    assert result.provenance["python_to_v8_calls"] == 4


# keeps each trade's payload for a while, as a strategy with a rolling window of objects does
WINDOW = module(
    "const ring = []; return { onTrade(ctx, ev, p) { ring.push({ p, ev }); if (ring.length > 5000) ring.shift(); } };"
)


def session_fed(n: int) -> StrategySession:
    events = load_market_data(trades([100.0 + (i % 7) for i in range(n)])).events
    session = StrategySession(
        WINDOW, name="window", tag="v1", config={}, symbols=events.symbols, start_ns=events.start_ns
    )
    session.feed(events)
    return session


def test_release_memory_collects_a_grown_heap_in_two_calls():
    with session_fed(60_000) as session:
        before, calls = session._isolate.heap_total(), session.crossings
        session.release_memory(above=0)
        assert session.crossings == calls + 2 and session._isolate.heap_total() < before
        assert session.finish().summary["events"] == 60_000


def test_release_memory_leaves_a_small_heap_alone_in_one_call():
    with session_fed(10) as session:
        calls = session.crossings
        session.release_memory()
        assert session.crossings == calls + 1


def test_a_session_with_a_smaller_capacity_than_a_feed_runs_it_in_chunks_of_that_size_with_the_same_results():
    data = trades(PRICES)
    events = load_market_data(data).events
    results, calls = [], []
    for capacity in (None, 2):
        with _session(data, providers=events.providers, capacity=capacity) as session:
            session.feed(events)
            results.append(session.finish())
            calls.append(session.crossings)
    _same(*results)
    assert len(results[0].fills) == 2
    # init and load, the chunks (one, or 2 + 2 + 1 events), finish with the tables, the summary
    assert calls == [4, 6]


def test_sessions_run_alike_whether_the_chunk_buffer_made_ahead_was_for_longer_or_shorter_chunks():
    # each session's isolate was made ahead with a buffer for the chunk size of the session before:
    # longer (laid out from its start), shorter (a buffer of its own), the same; or it is new (after
    # a session whose capacity made it a long run)
    data = trades(PRICES)
    events = load_market_data(data).events
    results = []
    for capacity in (2, None, 2, 2, 5, LONG_FEED, 2, None):
        with _session(data, providers=events.providers, capacity=capacity) as session:
            session.feed(events)
            results.append(session.finish())
    for other in results[1:]:
        _same(results[0], other)


def test_a_long_session_has_no_isolate_made_ahead_for_the_next_and_a_short_one_has():
    data = trades(PRICES)
    events = load_market_data(data).events
    made_ahead = []
    for capacity in (2, LONG_FEED, 2):
        with _session(data, providers=events.providers, capacity=capacity) as session:
            made_ahead.append(_racer_thread._spare is not None)
            session.feed(events)
    assert made_ahead == [True, False, True]


def test_symbols_and_providers_declared_in_another_order_than_the_datas_give_the_same_trading():
    # the session's codes then differ from the data's, and each chunk is mapped to them
    data = trades(PRICES * 2, symbol=["BTC-USDT", "ETH-USDT"] * 5, provider=["okx", "binance"] * 5)
    events = load_market_data(data).events
    logs = []
    for symbols, providers in ((events.symbols, events.providers), (events.symbols[::-1], events.providers[::-1])):
        echo = module("return { onTrade(ctx, evt, p, price) { log(evt.symbol, evt.provider, price); } };")
        with StrategySession(echo, name="e", tag="v", config={}, symbols=symbols, providers=providers) as session:
            session.feed(events)
            logs.append(session.finish().summary["journal"]["logs"]["text"])
    assert logs[0] == logs[1] and logs[0][:2] == ["BTC-USDT okx 100", "ETH-USDT binance 99"]


def test_a_run_after_a_run_of_another_module_runs_its_own_module_not_the_one_compiled_ahead():
    data = trades(PRICES)
    events = load_market_data(data).events
    other = module("return { onTrade(ctx, ev, p) { log('other'); } };", name="other")
    logs = []
    for source in (other, TRADER, other):
        with StrategySession(source, name="s", tag="v", config={}, symbols=events.symbols) as session:
            session.feed(events)
            logs.append(session.finish().summary["journal"]["logs"]["text"][0])
    assert logs == ["other", "trade 1 100", "other"]


def test_a_module_that_does_not_compile_fails_alike_when_the_isolate_made_ahead_has_tried_to_compile_it():
    broken = b"module.exports = { metadata: {}, create() { return {; } };"
    messages = []
    for _ in range(3):
        with pytest.raises(StrategyRuntimeError) as failed:
            StrategySession(broken, name="broken", tag="v", config={}, symbols=("BTC-USDT",))
        messages.append(str(failed.value))
    assert len(set(messages)) == 1 and "Unexpected token" in messages[0]
