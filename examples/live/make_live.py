"""Make the example live run: what instance ``momentum-live`` plausibly traded on a gateway.

The instance runs ``momentum:v1.0.0`` on ``BTC-USDT`` at ``binance`` over the example market data
(``examples/data/btc_trades.csv``). Its orders and fills are the backtest's, seen through a real
venue: each order reaches the venue 0-2 s after the strategy sent it, fills come 0-1 s after that
at a price 0-4 bps worse than the backtest's, one order is rejected by the venue (insufficient
balance), one market order is cancelled unfilled (a missed fill), and one fill arrives in two
parts. Times are Unix seconds and decimals strings, as the gateway stores them; the files are the
saved answers of ``GET /strategy/instances/momentum-live`` (``instance.json``), ``.../orders``
(``orders.json``) and ``.../executions`` (``executions.json``).

Run from the project root: ``python examples/live/make_live.py``. The output is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from meltica_lab import Fees, run_backtest

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
INSTANCE = "momentum-live"
PROVIDER = "binance"
STRATEGY = "momentum:v1.0.0"
CONFIG = {"lookback": 20, "threshold": 0.0015, "order_size": 0.5, "cooldown": "60s", "dry_run": False}
TAKER_FEE = 0.001
REJECTED, MISSED, SPLIT = 4, 9, 14  # which orders (by number) the venue rejects, leaves unfilled, fills in two


def decimal(value: float, places: int = 8) -> str:
    """A decimal string as the gateway writes one (no float artefacts, no trailing zeros)."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def main() -> None:
    """Backtest the strategy, turn its orders and fills into the gateway's records, write the files."""
    result = run_backtest(
        STRATEGY,
        PROJECT / "examples" / "data" / "btc_trades.csv",
        root=PROJECT / "strategies",
        config=CONFIG,
        providers=[PROVIDER],
        fees=Fees(maker=TAKER_FEE, taker=TAKER_FEE),
        progress=False,
    )
    rng = np.random.default_rng(20240301)
    orders, executions = [], []
    by_order = {cid: group for cid, group in result.fills.groupby("client_order_id", sort=False)}
    for number, (when, order) in enumerate(result.orders.iterrows(), start=1):
        sent = int(when.value // 1_000_000_000)
        placed = sent + int(rng.integers(0, 3))
        order_id = f"ord-{number:05d}"
        state = "FILLED"
        fills = by_order.get(order["client_order_id"])
        if number == REJECTED:
            state, fills = "REJECTED", None
        elif number == MISSED:
            state, fills = "CANCELLED", None
        done = placed
        if fills is not None:
            sign = 1.0 if order["side"] == "Buy" else -1.0
            for k, (filled_at, fill) in enumerate(fills.iterrows()):
                parts = [0.6, 0.4] if number == SPLIT else [1.0]
                traded = max(placed, int(filled_at.value // 1_000_000_000)) + int(rng.integers(0, 2))
                price = fill["price"] * (1 + sign * rng.uniform(0.0, 4.0) / 1e4)
                for p, part in enumerate(parts):
                    quantity = fill["quantity"] * part
                    executions.append(
                        {
                            "orderId": order_id,
                            "provider": PROVIDER,
                            "strategyInstance": INSTANCE,
                            "executionId": f"exe-{number:05d}-{k + 1}-{p + 1}",
                            "quantity": decimal(quantity),
                            "price": decimal(price, 2),
                            "fee": decimal(quantity * round(price, 2) * TAKER_FEE),
                            "feeAsset": "USDT",
                            "liquidity": "TAKER",
                            "tradedAt": traded + p,
                            "metadata": {},
                            "createdAt": traded + p,
                        }
                    )
                    done = max(done, traded + p)
        reason = {REJECTED: "insufficient balance", MISSED: "no liquidity at the venue: cancelled unfilled"}.get(number)
        orders.append(
            {
                "id": order_id,
                "provider": PROVIDER,
                "strategyInstance": INSTANCE,
                "clientOrderId": f"{INSTANCE}-{when.value}-{number - 1}",
                "symbol": order["symbol"],
                "side": order["side"].upper(),
                "type": order["type"].upper(),
                "quantity": decimal(order["quantity"]),
                "price": None if np.isnan(order["limit_price"]) else decimal(order["limit_price"], 2),
                "state": state,
                "externalReference": None if number == REJECTED else f"binance-{8_000_000 + number}",
                "placedAt": placed,
                "metadata": {"reason": reason} if reason else {},
                "acknowledgedAt": None if number == REJECTED else placed,
                "completedAt": done,
                "createdAt": sent,
                "updatedAt": done,
            }
        )
    p = result.provenance
    instance = {
        "id": INSTANCE,
        "strategy": {
            "identifier": "momentum",
            "selector": p["pinned"],
            "tag": p["tag"],
            "hash": p["hash"],
            "config": CONFIG,
        },
        "scope": {PROVIDER: {"symbols": ["BTC-USDT"]}},
        "providers": [PROVIDER],
        "aggregatedSymbols": ["BTC-USDT"],
        "running": True,
        "usage": None,
        "links": {"self": f"/strategy/instances/{INSTANCE}"},
    }
    # the gateway lists the newest first
    answers = {
        "instance.json": instance,
        "orders.json": {"orders": orders[::-1], "count": len(orders)},
        "executions.json": {"executions": executions[::-1], "count": len(executions)},
    }
    for name, answer in answers.items():
        (HERE / name).write_text(json.dumps(answer, indent=1) + "\n", encoding="utf-8")
    print(f"{len(orders)} orders, {len(executions)} executions of {INSTANCE} ({p['pinned']}) written to {HERE}")


if __name__ == "__main__":
    main()
