"""Frames of instances, orders and executions: UTC datetimes from Unix seconds, floats beside the
exact decimal strings, NaN/NaT for null, stable columns even when empty."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from meltica_lab.gateway import GatewayClient
from meltica_lab.gateway.frames import decimal_value, executions_frame, instances_frame, orders_frame
from tests.gateway.conftest import EXECUTION_COLUMNS, ORDER_COLUMNS
from tests.gateway_server import FakeGateway


def test_orders_frame_has_utc_times_and_floats_beside_the_exact_strings(client: GatewayClient) -> None:
    frame = client.orders_frame("demo-1")
    assert list(frame.columns) == ORDER_COLUMNS
    assert str(frame["placed_at"].dtype) == "datetime64[s, UTC]"
    assert frame["placed_at"][0] == pd.Timestamp("2025-11-04T11:33:54Z")
    assert frame["quantity"].dtype == "float64" and frame["quantity"][0] == 0.01
    assert frame["quantity_text"][0] == "0.01000000"
    assert (frame["price"][0], frame["price_text"][0]) == (35000.5, "35000.50")
    assert math.isnan(frame["price"][1]) and pd.isna(frame["price_text"][1])  # a market order has no price
    assert pd.isna(frame["acknowledged_at"][2])  # the rejected order was never acknowledged
    assert frame["metadata"][0] == {"reason": "momentum"}
    assert list(frame["state"]) == ["FILLED", "FILLED", "REJECTED"]
    assert frame.attrs["warnings"] == []


def test_executions_frame_keeps_fees_and_their_nulls(client: GatewayClient) -> None:
    frame = client.executions_frame("demo-1")
    assert list(frame.columns) == EXECUTION_COLUMNS
    assert (frame["fee"][0], frame["fee_text"][0], frame["fee_asset"][0]) == (0.00001, "0.0000100", "BTC")
    assert math.isnan(frame["fee"][1]) and pd.isna(frame["fee_text"][1])
    assert frame["traded_at"][1] - frame["traded_at"][0] == pd.Timedelta(seconds=59)
    assert (frame["price"] * frame["quantity"]).round(4).tolist() == [350.005, 350.1025]


def test_a_filtered_empty_history_is_an_empty_frame_with_the_same_columns(
    gateway: FakeGateway, client: GatewayClient
) -> None:
    orders = client.orders_frame("alpha 1")
    executions = client.executions_frame("demo-1", order_id="none")
    assert (len(orders), list(orders.columns)) == (0, ORDER_COLUMNS)
    assert (len(executions), list(executions.columns)) == (0, EXECUTION_COLUMNS)
    assert str(orders["updated_at"].dtype) == "datetime64[s, UTC]" and orders["quantity"].dtype == "float64"
    assert list(instances_frame([]).columns) == list(client.instances_frame().columns)


def test_every_64_bit_second_count_is_held_and_beyond_is_nat() -> None:
    base = {
        "id": "o",
        "provider": "p",
        "strategyInstance": "i",
        "clientOrderId": "c",
        "symbol": "s",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "1",
        "state": "NEW",
        "createdAt": 0,
        "updatedAt": 0,
    }
    frame = orders_frame([{**base, "placedAt": -(2**53) + 1}, {**base, "placedAt": 2**63}, {**base, "placedAt": 0}])
    assert frame["placed_at"][0].year < -200_000_000
    assert pd.isna(frame["placed_at"][1])
    assert frame["placed_at"][2] == pd.Timestamp("1970-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1.0), ("-0.5", -0.5), (".25", 0.25), ("1e-3", 0.001), ("+2.", 2.0), ("35000.50000000", 35000.5)],
)
def test_decimal_strings_become_floats(text: str, value: float) -> None:
    assert decimal_value(text) == value


@pytest.mark.parametrize("text", ["ten", " 1", "1,5", "NaN", "inf", "1e400", "", None, 3])
def test_anything_else_is_nan(text: object) -> None:
    assert math.isnan(decimal_value(text))


def test_executions_frame_of_a_raw_answer_list() -> None:
    record = {
        "orderId": "o",
        "provider": "p",
        "strategyInstance": "i",
        "executionId": "e",
        "quantity": "2",
        "price": "3.5",
        "tradedAt": 1_700_000_000,
        "createdAt": 1_700_000_001,
    }
    frame = executions_frame([record], ["a warning"])
    assert (frame["quantity"][0] * frame["price"][0], frame.attrs["warnings"]) == (7.0, ["a warning"])
    assert pd.isna(frame["fee"][0]) and frame["metadata"][0] == {}
