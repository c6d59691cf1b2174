"""What handlers receive: arguments, event and payload fields under both spellings, fresh objects."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from meltica_lab.backtest import Fees
from tests.backtest.conftest import SECOND, T0, log_lines, module, run_session, trades

EVENT_KEYS = [
    "event_id",
    "eventId",
    "routing_version",
    "routingVersion",
    "provider",
    "symbol",
    "type",
    "seq_provider",
    "seqProvider",
    "ingest_ts",
    "ingestTs",
    "emit_ts",
    "emitTs",
    "payload",
]


def dump(handler: str, args: str = "c, e, p") -> bytes:
    return module(f"return {{ {handler}({args}) {{ log(JSON.stringify([e, p, typeof e.type, e.payload === p])); }} }};")


def test_trade_handler_gets_event_payload_and_the_price_as_a_number():
    source = module(
        "return { onTrade(c, e, p, price) { log(typeof price, price, JSON.stringify(c), this.tag); }, tag: 'me' };"
    )
    assert log_lines(run_session(source, trades([20000.5]))) == ['number 20000.5 {"instanceId":"backtest"} me']


def test_trade_event_and_payload_carry_both_spellings_decimals_as_text_and_iso_times():
    data = trades([20000.0], [1.5], side=["sell"], provider=["backtest"])
    e, p, type_kind, same = json.loads(log_lines(run_session(dump("onTrade"), data))[0])
    assert list(e) == EVENT_KEYS
    assert {k: v for k, v in e.items() if k != "payload"} == {
        "event_id": "",
        "eventId": "",
        "routing_version": 0,
        "routingVersion": 0,
        "provider": "backtest",
        "symbol": "BTC-USDT",
        "type": "Trade",
        "seq_provider": 0,
        "seqProvider": 0,
        "ingest_ts": "2023-01-01T00:00:00Z",
        "ingestTs": "2023-01-01T00:00:00Z",
        "emit_ts": "2023-01-01T00:00:00Z",
        "emitTs": "2023-01-01T00:00:00Z",
    }
    assert p == {
        "trade_id": "",
        "tradeId": "",
        "side": "Sell",
        "price": "20000",
        "quantity": "1.5",
        "timestamp": "2023-01-01T00:00:00Z",
    }
    assert type_kind == "string" and same is True


def test_enums_are_primitive_strings_that_compare_with_triple_equals():
    source = module("return { onTrade(c, e, p) { log(e.type === 'Trade', p.side === 'Buy', typeof p.side); } };")
    assert log_lines(run_session(source, trades([1.0]))) == ["true true string"]


def test_times_keep_nanoseconds_and_drop_trailing_zeros():
    data = pd.DataFrame(
        {"timestamp": [T0 + 123, T0 + 500_000_000, T0 + SECOND], "price": [1.0, 1.0, 1.0], "quantity": [1.0] * 3}
    )
    source = module("return { onTrade(c, e, p) { log(p.timestamp, e.emitTs); } };")
    assert log_lines(run_session(source, data)) == [
        "2023-01-01T00:00:00.000000123Z 2023-01-01T00:00:00.000000123Z",
        "2023-01-01T00:00:00.5Z 2023-01-01T00:00:00.5Z",
        "2023-01-01T00:00:01Z 2023-01-01T00:00:01Z",
    ]


def test_payloads_are_fresh_objects_per_event_and_kept_ones_do_not_change():
    source = module(
        "const kept = []; return { onTrade(c, e, p) { kept.push([e, p]); p.price = 'mutated';"
        " if (kept.length === 3) log(kept[0][1] !== kept[1][1], kept[0][0] !== kept[1][0], kept[1][1].quantity,"
        " kept[2][0].payload.price); } };"
    )
    assert log_lines(run_session(source, trades([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]))) == ["true true 2 mutated"]


def test_ticker_payload_fields_under_both_spellings():
    data = pd.DataFrame({"timestamp": [T0], "bid": [99.5], "ask": [100.5], "price": [100.0], "symbol": ["X-USD"]})
    e, p, _, _ = json.loads(log_lines(run_session(dump("onTicker"), data))[0])
    assert e["type"] == "Ticker" and e["symbol"] == "X-USD"
    assert p == {
        "last_price": "100",
        "lastPrice": "100",
        "bid_price": "99.5",
        "bidPrice": "99.5",
        "ask_price": "100.5",
        "askPrice": "100.5",
        "volume_24h": "",
        "volume24h": "",
        "timestamp": "2023-01-01T00:00:00Z",
    }


def one_bar() -> pd.DataFrame:
    """One one-minute bar from T0, open 10, high 12, low 9, close 11, volume 5."""
    return pd.DataFrame(
        {
            "timestamp": [T0 + 60 * SECOND],
            "open_time": [T0],
            "open": [10.0],
            "high": [12.0],
            "low": [9.0],
            "close": [11.0],
            "volume": [5.0],
        }
    )


def test_kline_payload_fields_with_open_and_close_time():
    data = one_bar()
    e, p, _, _ = json.loads(log_lines(run_session(dump("onKlineSummary"), data))[0])
    assert e["type"] == "KlineSummary"
    assert p == {
        "open_price": "10",
        "openPrice": "10",
        "close_price": "11",
        "closePrice": "11",
        "high_price": "12",
        "highPrice": "12",
        "low_price": "9",
        "lowPrice": "9",
        "volume": "5",
        "open_time": "2023-01-01T00:00:00Z",
        "openTime": "2023-01-01T00:00:00Z",
        "close_time": "2023-01-01T00:01:00Z",
        "closeTime": "2023-01-01T00:01:00Z",
    }


def test_exec_report_payload_fields_under_both_spellings():
    source = module(
        "let sent = false; return { onTrade() { if (!sent) { sent = true; rt.submitMarketOrder('', 'buy', '2'); } },"
        " onOrderFilled(c, e, p) { log(JSON.stringify([e, p])); } };"
    )
    e, p = json.loads(log_lines(run_session(source, trades([100.0, 101.0]), fees=Fees(taker=0.001)))[0])
    assert list(e) == EVENT_KEYS
    assert e["type"] == "ExecReport" and e["symbol"] == "BTC-USDT" and e["provider"] == "backtest"
    assert e["emit_ts"] == "2023-01-01T00:00:01Z"
    assert p == {
        "client_order_id": "backtest-1672531200000000000-0",
        "clientOrderId": "backtest-1672531200000000000-0",
        "exchange_order_id": "sim-0",
        "exchangeOrderId": "sim-0",
        "state": "FILLED",
        "side": "Buy",
        "order_type": "Market",
        "orderType": "Market",
        "price": "101",
        "quantity": "2",
        "filled_quantity": "2",
        "filledQuantity": "2",
        "remaining_qty": "0",
        "remainingQty": "0",
        "avg_fill_price": "101",
        "avgFillPrice": "101",
        "commission_amount": "0.202",
        "commissionAmount": "0.202",
        "commission_asset": "USDT",
        "commissionAsset": "USDT",
        "timestamp": "2023-01-01T00:00:01Z",
        "reject_reason": None,
        "rejectReason": None,
    }


def test_rejected_order_handler_gets_the_reason_as_fourth_argument_and_in_the_payload():
    source = module(
        "rt.submitMarketOrder('', 'buy', '0');"
        " return { onOrderRejected(c, e, p, reason) { log(reason, '|', p.reject_reason, '|',"
        " p.rejectReason, p.state); } };"
    )
    line = 'invalid quantity "0": expected a number > 0'
    assert log_lines(run_session(source, trades([100.0]))) == [f"{line} | {line} | {line} REJECTED"]


def test_json_stringify_of_a_payload_shows_every_field():
    source = module(
        "return { onTrade(c, e, p) { log(Object.keys(p).join(','), JSON.stringify(p).includes('timestamp')); } };"
    )
    assert log_lines(run_session(source, trades([1.0]))) == ["trade_id,tradeId,side,price,quantity,timestamp true"]


# One event of each kind the backtest delivers, and the handler that receives it. The gateway's
# payloads and events are goja host objects whose fields are own enumerable properties (compat
# §2.5): Object.keys, spread, Object.assign and for-in see every field, in the JSON order.
KINDS = {
    "Trade": ("onTrade", trades([1.5], 0.25)),
    "Ticker": (
        "onTicker",
        pd.DataFrame({"timestamp": [T0], "bid": [99.5], "ask": [100.5], "price": [100.0], "symbol": ["X-USD"]}),
    ),
    "KlineSummary": ("onKlineSummary", one_bar()),
    "ExecReport": ("onOrderFilled", trades([100.0, 101.0])),
}


PAYLOAD_KEYS = {
    "Trade": ["trade_id", "tradeId", "side", "price", "quantity", "timestamp"],
    "Ticker": [
        *("last_price", "lastPrice", "bid_price", "bidPrice", "ask_price", "askPrice"),
        *("volume_24h", "volume24h", "timestamp"),
    ],
    "KlineSummary": [
        *("open_price", "openPrice", "close_price", "closePrice", "high_price", "highPrice", "low_price"),
        *("lowPrice", "volume", "open_time", "openTime", "close_time", "closeTime"),
    ],
    "ExecReport": [
        *("client_order_id", "clientOrderId", "exchange_order_id", "exchangeOrderId", "state", "side"),
        *("order_type", "orderType", "price", "quantity", "filled_quantity", "filledQuantity"),
        *("remaining_qty", "remainingQty", "avg_fill_price", "avgFillPrice", "commission_amount"),
        *("commissionAmount", "commission_asset", "commissionAsset", "timestamp", "reject_reason", "rejectReason"),
    ],
}


def copies(handler: str) -> bytes:
    """A strategy that logs, for the event and then the payload it gets: the object, its spread
    copy, its Object.assign copy, its Object.keys, its for-in keys and whether all are enumerable."""
    views = (
        "const views = (o) => { const forIn = []; for (const k in o) forIn.push(k);"
        " const own = Object.keys(o); return JSON.stringify([o, { ...o }, Object.assign({}, o), own, forIn,"
        " own.every((k) => Object.getOwnPropertyDescriptor(o, k).enumerable)]); };"
    )
    submit = (
        "let sent = false; const onTrade = () => { if (!sent) { sent = true; rt.submitMarketOrder('', 'buy', '2'); } };"
    )
    handlers = f"{handler}(c, e, p) {{ log(views(e)); log(views(p)); }}"
    if handler != "onTrade":
        handlers = f"onTrade, {handlers}"
    return module(f"{views} {submit} return {{ {handlers} }};")


@pytest.mark.parametrize("kind", list(KINDS))
def test_spread_object_assign_and_object_keys_see_every_field_of_event_and_payload(kind):
    handler, data = KINDS[kind]
    event, payload = (json.loads(line) for line in log_lines(run_session(copies(handler), data))[:2])
    for name, (plain, spread, assigned, keys, for_in, enumerable) in (("event", event), ("payload", payload)):
        assert spread == plain and assigned == plain, (kind, name)
        assert list(spread) == list(plain) and list(assigned) == list(plain), (kind, name)
        assert keys == list(plain) and for_in == list(plain) and enumerable is True, (kind, name)
    assert event[3] == EVENT_KEYS and event[0]["type"] == kind and event[1]["payload"] == payload[0]
    assert payload[3] == PAYLOAD_KEYS[kind]


def test_a_market_payload_formats_its_fields_when_read_and_assigning_one_keeps_its_place():
    # The decimals are formatted when first read (issue 12: formatting them for every event cost
    # more than the handler); assigning one keeps it in its place, as on a plain object, and later
    # events are not affected.
    source = module(
        "return { onTrade(c, e, p) { log('price' in p && 'tradeId' in p, Object.keys(p).join(','));"
        " p.price = 7; log(p.price, typeof p.price, Object.keys(p).join(','), JSON.stringify({ ...p }),"
        " Object.getOwnPropertyDescriptor(p, 'price').writable, p.quantity, p.tradeId === ''); } };"
    )
    lines = log_lines(run_session(source, trades([1.5, 2.5], 0.25)))
    keys = "trade_id,tradeId,side,price,quantity,timestamp"
    first = (
        f'7 number {keys} {{"trade_id":"","tradeId":"","side":"Buy","price":7,"quantity":"0.25",'
        f'"timestamp":"2023-01-01T00:00:0%dZ"}} true 0.25 true'
    )
    assert lines == [f"true {keys}", first % 0, f"true {keys}", first % 1]


# Each kind's payload, and a look at it that happens before any decimal field is read.
FIRST_LOOKS = {
    "descriptor": "const d = Object.getOwnPropertyDescriptor(p, KEY); return [d.value, d.writable, d.enumerable];",
    "descriptors": "return Object.values(Object.getOwnPropertyDescriptors(p)).map((d) => d.value);",
    "entries": "return Object.entries(p);",
    "frozen": "Object.freeze(p); return [Object.isFrozen(p), p[KEY], Object.keys(p).length];",
    "deleted": "delete p[KEY]; return [KEY in p, Object.keys(p).length, JSON.stringify(p)];",
    "defined": "Object.defineProperty(p, 'extra', { value: 1, enumerable: true }); return JSON.stringify(p);",
    "prototype": "return [Object.getPrototypeOf(p) === Object.prototype, typeof p, Array.isArray(p), KEY in p];",
}
FIRST_DECIMAL = {"Trade": "price", "Ticker": "bid_price", "KlineSummary": "close_price"}


@pytest.mark.parametrize("look", list(FIRST_LOOKS))
@pytest.mark.parametrize("kind", ["Trade", "Ticker", "KlineSummary"])
def test_a_payload_looked_at_before_any_field_is_read_shows_its_formatted_decimals(kind, look):
    # Whatever a strategy does first with a payload, it sees what a plain object with the decimals
    # written as text shows: the same look at a plain copy (made in an earlier run) is the reference.
    handler, data = KINDS[kind]
    plain = log_lines(run_session(module(f"return {{ {handler}(c, e, p) {{ log(JSON.stringify(p)); }} }};"), data))[0]
    body = FIRST_LOOKS[look].replace("KEY", json.dumps(FIRST_DECIMAL[kind]))
    source = module(
        f"const look = (p) => {{ {body} }};"
        f" return {{ {handler}(c, e, p) {{ log(JSON.stringify(look(p))); log(JSON.stringify(look({plain}))); }} }};"
    )
    seen, expected = log_lines(run_session(source, data))
    assert seen == expected, (kind, look)
    assert json.loads(expected) not in ([], None)


def test_payloads_keep_their_values_when_the_strategy_copies_every_one():
    # A strategy that copies whole payloads gets plain objects after its first few dozen copies
    # (spreading a Proxy costs microseconds): the values are the same before and after.
    prices = [100.0 + k / 4 for k in range(200)]
    source = module("return { onTrade(c, e, p) { const copy = { ...p }; log(copy.price, copy.quantity, p.price); } };")
    lines = log_lines(run_session(source, trades(prices, [0.5 + k for k in range(200)])))
    assert lines == [f"{p:g} {0.5 + k:g} {p:g}" for k, p in enumerate(prices)]


def test_a_strategy_that_replaces_proxy_and_reflect_still_gets_true_payloads():
    source = module(
        "globalThis.Proxy = function () { throw new Error('no'); };"
        " Reflect.get = () => 'forged'; Reflect.getOwnPropertyDescriptor = () => undefined;"
        " return { onTrade(c, e, p) {"
        " log(p.price, p.quantity, Object.keys(p).length, JSON.stringify({ ...p }).length > 0); } };"
    )
    assert log_lines(run_session(source, trades([1.5, 2.25], 0.125))) == ["1.5 0.125 6 true", "2.25 0.125 6 true"]


def test_reading_only_the_side_and_time_of_a_trade_leaves_its_decimals_for_later():
    # The payload formats on the first decimal read, and not earlier: reading it later still gives
    # the event's own values, even after more events have run.
    source = module(
        "const kept = []; return { onTrade(c, e, p) { kept.push(p); log(p.side, p.timestamp, p.tradeId === '');"
        " if (kept.length === 3) log(kept.map((k) => k.price + '/' + k.quantity).join(' ')); } };"
    )
    lines = log_lines(run_session(source, trades([1.5, 2.5, 3.5], [1.0, 2.0, 3.0], side=["buy", "sell", "buy"])))
    assert lines[-1] == "1.5/1 2.5/2 3.5/3"
    assert lines[0] == "Buy 2023-01-01T00:00:00Z true" and lines[1].startswith("Sell ")


def _numpy_iso(stamps: list[int]) -> list[str]:
    """numpy's ISO text of nanosecond times, trailing zeros of the fraction dropped, with a Z."""
    expected = []
    for stamp in stamps:
        whole, _, fraction = str(np.datetime64(stamp, "ns")).partition(".")
        fraction = fraction.rstrip("0")
        expected.append(f"{whole}.{fraction}Z" if fraction else f"{whole}Z")
    return expected


def test_iso_times_on_every_whole_millisecond_of_a_second_drop_trailing_zeros_as_numpy_does():
    stamps = [T0 + k * 1_000_000 for k in range(1000)]
    data = pd.DataFrame({"timestamp": stamps, "price": 1.0, "quantity": 1.0})
    lines = log_lines(run_session(module("return { onTrade(c, e, p) { log(p.timestamp); } };"), data))
    assert lines == _numpy_iso(stamps) and lines[100].endswith(".1Z") and lines[120].endswith(".12Z")


def test_iso_times_match_numpy_across_second_minute_hour_day_and_year_boundaries():
    rng = np.random.default_rng(1)
    edges = [T0 - 1, T0, T0 + 59 * SECOND + 999_999_999, T0 + 60 * SECOND, 1_704_067_199_999_999_999]
    # events a few ms or ns apart within one second and across the next, some at the same instant
    close = [T0 + 5 * SECOND + k * 250_000 for k in range(12)] + [T0 + 7 * SECOND - 1, T0 + 7 * SECOND]
    stamps = sorted([*edges, *close, *close[:3], *(T0 + rng.integers(0, 400 * 86_400 * SECOND, 300)).tolist()])
    data = pd.DataFrame({"timestamp": stamps, "price": 1.0, "quantity": 1.0})
    lines = log_lines(run_session(module("return { onTrade(c, e, p) { log(p.timestamp); } };"), data))
    assert lines == _numpy_iso(stamps)
