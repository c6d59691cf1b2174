"""Hand-built live records (gateway answers) and backtest results whose reconciliation is known."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.backtest import BacktestResult

T0 = 1_709_251_200  # 2024-03-01T00:00:00Z, Unix seconds
NS = 1_000_000_000
INSTANCE = "inst-1"


@dataclass(frozen=True)
class BtFill:
    """One backtest fill: seconds after T0 (fractions allowed), side, quantity, price, order id."""

    at: float
    side: str
    quantity: float
    price: float
    order: str
    fee: float = 0.0


def backtest_result(fills: Sequence[BtFill], *, symbol: str = "BTC-USDT") -> BacktestResult:
    """A BacktestResult with these fills, one market order per order id (placed at its first fill)."""
    times = pd.DatetimeIndex([pd.Timestamp((T0 + f.at) * NS, unit="ns", tz="UTC") for f in fills], name="time")
    fill_frame = pd.DataFrame(
        {
            "client_order_id": [f.order for f in fills],
            "symbol": symbol,
            "side": [f.side for f in fills],
            "quantity": [f.quantity for f in fills],
            "price": [f.price for f in fills],
            "fee": [f.fee for f in fills],
            "liquidity": "taker",
            "position": 0.0,
        },
        index=times,
    )
    first = (
        fill_frame.reset_index()
        .groupby("client_order_id", sort=False)
        .agg(time=("time", "first"), side=("side", "first"), quantity=("quantity", "sum"))
    )
    orders = pd.DataFrame(
        {
            "client_order_id": first.index.to_numpy(),
            "symbol": symbol,
            "provider": "binance",
            "side": first["side"].to_numpy(),
            "type": "Market",
            "quantity": first["quantity"].to_numpy(),
            "limit_price": np.nan,
            "state": "FILLED",
            "filled_quantity": first["quantity"].to_numpy(),
            "avg_fill_price": np.nan,
            "fees": 0.0,
            "updated": pd.DatetimeIndex(first["time"]),
            "reject_reason": None,
        },
        index=pd.DatetimeIndex(first["time"], name="time"),
    )
    provenance = {"strategy": "demo", "tag": "v1.0.0", "hash": "sha256:" + "ab" * 32, "config": {}}
    empty = pd.DataFrame()
    return BacktestResult(pd.Series(dtype=object), fill_frame, orders, empty, empty, empty, provenance)


def order(
    number: int,
    side: str,
    quantity: str,
    at: int,
    *,
    state: str = "FILLED",
    instance: str = INSTANCE,
    symbol: str = "BTC-USDT",
) -> dict[str, Any]:
    """An OrderRecord as the gateway stores it (``at``: seconds after T0)."""
    return {
        "id": f"ord-{number}",
        "provider": "binance",
        "strategyInstance": instance,
        "clientOrderId": f"{instance}-{(T0 + at) * NS}-{number}",
        "symbol": symbol,
        "side": side,
        "type": "MARKET",
        "quantity": quantity,
        "price": None,
        "state": state,
        "externalReference": None,
        "placedAt": T0 + at,
        "metadata": {},
        "acknowledgedAt": None if state == "REJECTED" else T0 + at,
        "completedAt": T0 + at,
        "createdAt": T0 + at,
        "updatedAt": T0 + at,
    }


def execution(
    number: int, order_number: int, quantity: str, price: str, at: int, *, fee: str = "0", instance: str = INSTANCE
) -> dict[str, Any]:
    """An ExecutionRecord as the gateway stores it."""
    return {
        "orderId": f"ord-{order_number}",
        "provider": "binance",
        "strategyInstance": instance,
        "executionId": f"exe-{number}",
        "quantity": quantity,
        "price": price,
        "fee": fee,
        "feeAsset": "USDT",
        "liquidity": "TAKER",
        "tradedAt": T0 + at,
        "metadata": {},
        "createdAt": T0 + at,
    }


def answers(orders: list[dict[str, Any]], executions: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two history answers."""
    return {"orders": orders, "count": len(orders)}, {"executions": executions, "count": len(executions)}


def known_case() -> tuple[tuple[dict[str, Any], dict[str, Any]], BacktestResult]:
    """The issue's exact case: a fill matched exactly, one 3 bps worse 2 s late, a partial fill (two
    live executions for one backtest fill), a rejection (a missing fill) and an extra live fill."""
    backtest = backtest_result(
        [
            BtFill(10.3, "Buy", 1.0, 100.0, "b-1", fee=0.1),
            BtFill(60.0, "Sell", 1.0, 101.0, "b-2", fee=0.101),
            BtFill(120.0, "Buy", 0.5, 102.0, "b-3", fee=0.051),
            BtFill(200.0, "Sell", 0.5, 103.0, "b-4", fee=0.0515),
        ]
    )
    live = answers(
        [
            order(1, "BUY", "1", 10),
            order(2, "SELL", "1", 61),
            order(3, "BUY", "0.5", 120),
            order(4, "SELL", "0.5", 200, state="REJECTED"),
            order(5, "BUY", "0.1", 300),
        ],
        [
            execution(1, 1, "1", "100.00", 10, fee="0.1"),
            execution(2, 2, "1", "100.9697", 62, fee="0.1009697"),
            execution(3, 3, "0.3", "102", 120, fee="0.0306"),
            execution(4, 3, "0.2", "102", 121, fee="0.0204"),
            execution(5, 5, "0.1", "104", 300, fee="0.0104"),
        ],
    )
    return live, backtest
