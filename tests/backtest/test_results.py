"""Result frames: the helpers that build them give what the pandas formulation they replaced gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from meltica_lab.backtest.data import load_market_data
from meltica_lab.backtest.results import _before_in_symbol, fills_frame, order_ids, orders_frame
from meltica_lab.backtest.session import StrategySession
from meltica_lab.buffers import text_dtype
from tests.backtest.conftest import module
from tests.backtest.test_session import PRICES, TRADER, trades

FILLS = st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=60)


@given(FILLS)
def test_the_open_flag_before_each_fill_is_that_of_the_same_symbols_previous_fill(fills):
    symbol = np.array([float(s) for s, _ in fills])
    flags = np.array([f for _, f in fills], dtype=bool)
    frame = pd.DataFrame({"symbol": symbol, "open": flags})
    expected = frame.groupby("symbol")["open"].shift(fill_value=False).to_numpy(dtype=bool)
    assert np.array_equal(_before_in_symbol(symbol, flags), expected)


def test_the_fills_and_orders_frames_made_with_the_order_ids_given_are_those_made_without():
    data = trades([100.0, 99.0, 94.0, 96.0, 97.0])
    with StrategySession(TRADER, name="trader", tag="v1.0.0", config={}, symbols=("BTC-USDT",)) as session:
        session.feed(load_market_data(data).events)
        snapshot = session.finish()
    ids = order_ids(snapshot, "inst")
    # the limit buy at the first trade (2023-01-01T00:00:00Z), the market sell three trades later
    assert list(ids) == ["inst-1672531200000000000-0", "inst-1672531203000000000-1"]
    pd.testing.assert_frame_equal(fills_frame(snapshot, "inst", ids=ids), fills_frame(snapshot, "inst"))
    pd.testing.assert_frame_equal(orders_frame(snapshot, "inst", ids=ids), orders_frame(snapshot, "inst"))
    assert list(fills_frame(snapshot, "inst")["client_order_id"]) == [ids[0], ids[1]]


FILL_TEXT = ("client_order_id", "symbol", "side", "liquidity")
ORDER_TEXT = ("client_order_id", "symbol", "provider", "side", "type", "state", "reject_reason")


def _frames(source: bytes, prices: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    with StrategySession(source, name="probe", tag="v1.0.0", config={}, symbols=("BTC-USDT",)) as session:
        session.feed(load_market_data(trades(prices)).events)
        snapshot = session.finish()
    return fills_frame(snapshot, "inst"), orders_frame(snapshot, "inst")


def test_the_text_columns_of_the_fills_and_orders_frames_hold_what_pandas_makes_of_their_text():
    fills, orders = _frames(TRADER, PRICES)
    for frame, names in ((fills, FILL_TEXT), (orders, ORDER_TEXT)):
        for name in names:
            expected = pd.Series(frame[name].tolist(), index=frame.index, name=name)
            if frame[name].isna().all():  # none rejected: pandas makes object of nothing but None
                expected = expected.astype(text_dtype())
            pd.testing.assert_series_equal(frame[name], expected)
    assert orders["state"].tolist() == ["FILLED", "FILLED"] and fills["side"].tolist() == ["Buy", "Sell"]


def test_the_text_columns_have_the_text_dtype_whether_or_not_anything_traded_or_was_rejected():
    # a run without orders, and one whose orders all went through, type their columns as one with
    # orders rejected does: results of several runs concatenate without object columns
    idle = module("return { onTrade() {} };")
    for fills, orders in (_frames(idle, PRICES), _frames(TRADER, PRICES)):
        assert {str(fills[n].dtype) for n in FILL_TEXT} == {str(text_dtype())}
        assert {str(orders[n].dtype) for n in ORDER_TEXT} == {str(text_dtype())}
