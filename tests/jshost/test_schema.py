"""The schema both sides read (jshost/js/schema.json): the JS host writes what the Python decoder reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from meltica_lab.backtest.data import load_market_data
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.backtest.session import StrategySession
from meltica_lab.jshost import schema
from meltica_lab.jshost.scripts import host_script

T0 = 1_672_531_200_000_000_000
BUY_TWO = (
    b"module.exports = { metadata: { name: 'probe', events: ['Trade'], config: [] },"
    b" create(env) { let n = 0;"
    b" return { onTrade() { if (n++ === 0) env.runtime.submitOrder('', 'buy', '2', 105); } }; } };"
)


def _session() -> StrategySession:
    frame = pd.DataFrame(
        {"timestamp": [T0, T0 + 10**9, T0 + 2 * 10**9], "price": [110.0, 104.5, 103.0], "quantity": 5.0}
    )
    events = load_market_data(frame, default_symbol="BTC-USDT").events
    session = StrategySession(
        BUY_TWO, name="probe", tag="v1", config={}, options=SessionOptions(), symbols=events.symbols
    )
    session.feed(events)
    session.finish()
    return session


def test_the_host_uses_the_layouts_states_and_handler_codes_python_decodes_with():
    with _session() as session:
        layout = json.loads(session._eval("__mlabHost.layout()", ""))
    assert layout["handlers"] == list(schema.HANDLERS) == list(session.handlers)
    assert layout["states"] == list(schema.ORDER_STATES)
    assert layout["reportHandlers"] == [schema.REPORT_HANDLERS[s] for s in schema.ORDER_STATES]
    assert (layout["fills"], layout["orders"]) == (len(schema.FILL_COLUMNS), len(schema.ORDER_COLUMNS))


def test_each_column_the_host_writes_is_where_python_reads_it():
    with _session() as session:
        snapshot = session.snapshot()
    fill = dict(zip(schema.FILL_COLUMNS, snapshot.fills[0], strict=True))
    order = dict(zip(schema.ORDER_COLUMNS, snapshot.orders[0], strict=True))
    # the limit buy of 2 at 105 rests on the first trade and fills on the second (104.5 < 105)
    assert fill == {
        "ms": (T0 + 10**9) // 10**6,
        "rem": 0,
        "event": 1,
        "order": 0,
        "symbol": 0,
        "side": 1,
        "quantity": 2,
        "price": 105,
        "fee": fill["fee"],
        "maker": 1,
        "position": 2,
    }
    assert fill["fee"] == 2 * 105 * SessionOptions().fees.maker
    assert order["ms"] == T0 // 10**6 and order["rem"] == 0 and order["index"] == 0
    assert (order["symbol"], order["provider"], order["side"], order["type"]) == (0, 0, 1, 1)
    assert (order["quantity"], order["limit"], order["filled"], order["avg_price"]) == (2, 105, 2, 105)
    assert schema.ORDER_STATES[int(order["state"])] == "FILLED" and order["reason"] == -1
    assert order["fees"] == fill["fee"] and order["last_ms"] == fill["ms"] and np.isfinite(order["last_rem"])


def test_every_host_script_embeds_the_schema_file_itself():
    script = host_script(("commonjs.js",), "probe")
    assert script.startswith("const probe = (function () {")
    assert schema.SCHEMA_TEXT in script and schema.MODULE_SOURCE_URL in schema.SCHEMA_TEXT
