"""Gateway answers at scale: an instance's order history through GatewayClient, contract check included.

Serves a seeded synthetic ``GET /strategy/instances/{id}/orders`` answer (the gateway's shape: Unix
seconds, decimal strings, nulls) through an in-process httpx transport (no sockets: this measures the
client, not the network), and reports:

* ``orders()``: JSON decoding, the contract's schema check, the checks for inconsistencies and the
  typed records; ``orders_frame()``: the same plus the frame (UTC times, floats beside the strings);
* the contract check alone against the reference ``jsonschema`` validator on the same schema (the
  independent baseline the choice of fastjsonschema rests on), as a ratio.

There is no ARCHITECTURE target for this step; the nearest is "reconcile 100k live fills in < 5 s",
which fetching them is part of. The figures are set beside the bare ``json.loads`` of the same
answer (the floor any Python client pays). Figures are medians.

Run: ``.venv/bin/python benchmarks/gateway_answers.py [--orders N]``
"""

from __future__ import annotations

import argparse
import json
import random

import httpx
import jsonschema
from _common import timed, timed_pair

from meltica_lab.gateway import Contract, GatewayClient

SEED = 20_251_113
BASELINE_ORDERS = 5_000  # jsonschema takes ~0.3 ms per order: a slice keeps the run short


def synthetic_orders(count: int, *, seed: int) -> dict[str, object]:
    """``count`` orders of one instance, a second apart, a tenth of them rejected market orders."""
    rng = random.Random(seed)
    orders = []
    for number in range(count):
        at = 1_762_255_974 + number
        rejected = number % 10 == 0
        orders.append(
            {
                "id": f"ord-{number}",
                "provider": "binance" if number % 2 else "okx",
                "strategyInstance": "mom-1",
                "clientOrderId": f"mom-1-{at}-{number}",
                "symbol": "BTC-USDT",
                "side": "BUY" if rng.random() < 0.5 else "SELL",
                "type": "MARKET" if rejected else "LIMIT",
                "quantity": f"{rng.uniform(0.001, 2):.8f}",
                "price": None if rejected else f"{rng.uniform(30_000, 40_000):.2f}",
                "state": "REJECTED" if rejected else "FILLED",
                "externalReference": None if rejected else f"ext-{number}",
                "placedAt": at,
                "metadata": {"reason": "signal"},
                "acknowledgedAt": None if rejected else at,
                "completedAt": at + 1,
                "createdAt": at,
                "updatedAt": at + 1,
            }
        )
    return {"orders": orders, "count": count}


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    answer = synthetic_orders(args.orders, seed=SEED)
    body = json.dumps(answer).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    contract = Contract()
    client = GatewayClient("http://gateway.invalid", transport=transport, contract=contract)

    loads_s, _ = timed(lambda: json.loads(body), repeat=3)
    records_s, history = timed(lambda: client.orders("mom-1"), repeat=3)
    frame_s, frame = timed(lambda: client.orders_frame("mom-1"), repeat=3)
    assert len(history.orders) == len(frame) == args.orders and not history.warnings
    print(f"{args.orders} orders ({len(body) / 2**20:.1f} MiB of JSON); json.loads alone: {loads_s:.3f} s")
    for name, seconds in (("orders()", records_s), ("orders_frame()", frame_s)):
        print(
            f"  {name:15s} {seconds:.3f} s  ({args.orders / seconds:,.0f} orders/s, "
            f"{seconds / loads_s:.1f}x json.loads)"
        )

    operation = contract.operation("listInstanceOrders")
    sliced = {"orders": answer["orders"][:BASELINE_ORDERS], "count": BASELINE_ORDERS}  # type: ignore[index]
    baseline = jsonschema.Draft7Validator(contract.answer_schema(operation))
    ours_s, ours, theirs_s, theirs = timed_pair(
        lambda: contract.check_answer(operation, sliced), lambda: list(baseline.iter_errors(sliced)), repeat=3
    )
    assert ours is None and theirs == []
    print(
        f"contract check of {BASELINE_ORDERS} orders: fastjsonschema {ours_s * 1000:.1f} ms, "
        f"jsonschema {theirs_s * 1000:.1f} ms (the same schema): {theirs_s / ours_s:.0f}x faster"
    )


if __name__ == "__main__":
    main()
