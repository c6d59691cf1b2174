// Moving-average momentum, from the flat strategies/ directory used before the registry.
// Long when the fast average is above the slow one by more than `threshold_pct`, short when it is
// below by as much; one market order per change of direction.

module.exports = {
  metadata: {
    name: "momentum",
    version: "1.2.0",
    displayName: "MA Momentum",
    description: "Fast/slow moving-average crossover with a dead band; 1.2.0 waits for fills before re-entering.",
    config: [
      { name: "fast_window", type: "int", description: "Trades in the fast average", default: 10, required: false },
      { name: "slow_window", type: "int", description: "Trades in the slow average", default: 40, required: false },
      { name: "threshold_pct", type: "float", description: "Dead band between the averages, percent", default: 0.1, required: false },
      { name: "order_size", type: "string", description: "Quantity per order", default: "1", required: false },
      { name: "dry_run", type: "bool", description: "Log orders instead of sending them", default: true, required: false },
    ],
    events: ["Trade", "ExecReport"],
  },

  create: function (env) {
    const cfg = env.config || {};
    const intOr = (v, d) => {
      const n = Number(v);
      return Number.isFinite(n) && n > 0 ? Math.floor(n) : d;
    };
    const floatOr = (v, d) => {
      const n = Number(v);
      return Number.isFinite(n) ? n : d;
    };
    const fastN = intOr(cfg.fast_window, 10);
    const slowN = Math.max(intOr(cfg.slow_window, 40), fastN + 1);
    const band = floatOr(cfg.threshold_pct, 0.1) / 100;
    const size = String(cfg.order_size ?? "1").trim() || "1";
    const dryRun = cfg.dry_run !== undefined ? Boolean(cfg.dry_run) : true;

    const history = [];
    let fastSum = 0;
    let slowSum = 0;
    let direction = 0; // -1 short, 0 flat, +1 long
    let previous = 0; // direction before the order in flight, restored if it is rejected
    let pending = false;

    function order(side, qty) {
      if (dryRun || !env.runtime.isTradingActive()) {
        env.helpers.log("[DRY-RUN] momentum", side, qty);
        return true;
      }
      try {
        env.runtime.submitMarketOrder(env.runtime.providers()[0] || "", side, qty);
        pending = true;
        return true;
      } catch (err) {
        env.helpers.log("momentum: order failed:", err.message);
        return false;
      }
    }

    return {
      onTrade: function (ctx, evt, payload, price) {
        history.push(price);
        fastSum += price;
        slowSum += price;
        if (history.length > fastN) fastSum -= history[history.length - 1 - fastN];
        if (history.length > slowN) slowSum -= history.shift();
        if (history.length < slowN || pending) return;

        const spread = fastSum / fastN / (slowSum / slowN) - 1;
        const want = spread > band ? 1 : spread < -band ? -1 : direction;
        if (want === direction) return;
        // Reversing closes the old position and opens the new one in one order.
        const qty = direction === 0 ? size : String(Number(size) * 2);
        previous = direction;
        if (order(want > 0 ? "buy" : "sell", qty)) direction = want;
      },
      onOrderFilled: function () {
        pending = false;
      },
      onOrderCancelled: function () {
        pending = false;
        direction = previous;
      },
      onOrderRejected: function (ctx, evt, payload, reason) {
        pending = false;
        direction = previous;
        env.helpers.log("momentum: rejected", reason);
      },
    };
  },
};
