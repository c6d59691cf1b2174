"""The independent ceiling: a strategy's own cost per trade, with no meltica-lab code at all.

The strategy module is evaluated in a fresh mini-racer context with only ``module``/``exports``;
``Date.now`` reads a plain counter (the trade's time in ms); ``create(env)`` gets stub ``helpers``
and ``runtime`` functions that return the current price (orders are counted, nothing fills); then
one plain JavaScript ``for`` loop over Float64Arrays of prices calls
``onTrade(ctx, {type: "Trade", payload}, payload, price)`` with a fresh payload object per trade
carrying the fields the gateway sets on a Trade (price, quantity and side as strings). Nothing of
``meltica_lab/jshost/js`` runs here and nothing of ``meltica_lab`` is imported: this is what the
kit's host is judged against (issue 12), so it must not contain the code it judges.

:func:`ceiling_run` is timed from the fresh context to the end of the loop, as ``run_backtest`` is
timed from its call to its result.

Run alone: ``.venv/bin/python benchmarks/ceiling.py [--events N] [--strategy NAME]`` (latest tag).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from py_mini_racer import MiniRacer

REPO = Path(__file__).resolve().parent.parent

_HARNESS = r"""
var __ceiling = (function () {
  "use strict";
  let now = 0;
  Date.now = () => now;
  const price = new Float64Array(%(n)d);
  const quantity = new Float64Array(%(n)d);
  const ms = new Float64Array(%(n)d);
  const buy = new Uint8Array(%(n)d);
  let strategy = null;
  let last = 0;
  let orders = 0;
  const order = () => { orders++; };
  const runtime = {
    isTradingActive: () => true,
    isDryRun: () => false,
    providers: () => ["backtest"],
    selectProvider: () => "backtest",
    submitMarketOrder: order,
    submitOrder: order,
    getMarketState: () => ({ last, bid: last, ask: last, spread: 0, spreadPct: 0 }),
    getBidPrice: () => last,
    getAskPrice: () => last,
    getLastPrice: () => last,
  };
  function load(source, config) {
    const module = { exports: {} };
    new Function("module", "exports", '"use strict";\n' + source)(module, module.exports);
    const m = module.exports.metadata;
    const env = {
      config,
      metadata: m,
      events: m.events || [],
      helpers: { log() {}, sleep() {} },
      runtime,
    };
    strategy = module.exports.create(env);
  }
  function run(n) {
    const ctx = { instanceId: "ceiling" };
    const onTrade = strategy.onTrade;
    for (let i = 0; i < n; i++) {
      const p = price[i];
      now = ms[i];
      last = p;
      const payload = { price: String(p), quantity: String(quantity[i]), side: buy[i] ? "Buy" : "Sell" };
      onTrade.call(strategy, ctx, { type: "Trade", payload }, payload, p);
    }
    return orders;
  }
  return { price, quantity, ms, buy, load, run };
})();
"""


def ceiling_run(
    source: str, config: dict[str, Any], price: np.ndarray, quantity: np.ndarray, ts_ns: np.ndarray, buy: np.ndarray
) -> int:
    """Run the strategy's ``onTrade`` over the trades in a fresh context; returns the orders it sent."""
    n = len(price)
    racer = MiniRacer()
    try:
        racer.eval(_HARNESS % {"n": max(n, 1)})
        for name, values, dtype in (
            ("price", price, np.float64),
            ("quantity", quantity, np.float64),
            ("ms", ts_ns // 1_000_000, np.float64),
            ("buy", buy, np.uint8),
        ):
            np.frombuffer(racer.eval(f"__ceiling.{name}"), dtype=dtype)[:n] = values
        racer.eval(f"__ceiling.load({json.dumps(source)}, {json.dumps(config)})")
        return int(racer.eval(f"__ceiling.run({n})", timeout_sec=600))
    finally:
        racer.close()


def latest_source(name: str) -> str:
    """The text of a strategy's latest revision in the repository's registry (read directly)."""
    registry = json.loads((REPO / "strategies" / "registry.json").read_text(encoding="utf-8"))
    entry = registry[name]
    return (REPO / "strategies" / entry["hashes"][entry["tags"]["latest"]]["path"]).read_text(encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--strategy", default="momentum")
    args = parser.parse_args()
    rng = np.random.default_rng(20_250_101)
    n = args.events
    price = np.round(20_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0005, n))), 2)
    quantity = np.round(rng.uniform(0.001, 2.0, n), 4)
    ts = 1_672_531_200_000_000_000 + np.arange(n, dtype=np.int64) * 100_000_000
    buy = rng.random(n) < 0.5
    config = {"dry_run": False}
    started = time.perf_counter()
    orders = ceiling_run(latest_source(args.strategy), config, price, quantity, ts, buy)
    seconds = time.perf_counter() - started
    print(f"ceiling             {args.strategy}: {n / seconds:,.0f} trades/s ({seconds:.3f} s, {orders:,} orders sent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
