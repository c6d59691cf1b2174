// Pairs signal on two symbols, trading the first leg only (the gateway's order helpers trade the
// lambda's primary symbol). The spread is log(price A / price B); its z-score over `window` updates
// decides: z > entry_z sells A (A rich), z < -entry_z buys A, |z| < exit_z closes.

module.exports = {
  metadata: {
    name: "pairs",
    version: "1.10.0",
    displayName: "Pairs (single-leg)",
    description: "1.10.0: spread in logs so that the z-score does not depend on the price level.",
    config: [
      { name: "leg_a", type: "string", description: "Symbol traded (the lambda's primary symbol)", default: "BTC-USDT", required: true },
      { name: "leg_b", type: "string", description: "Reference symbol", default: "ETH-USDT", required: true },
      { name: "window", type: "int", description: "Spread observations in the z-score", default: 60, required: false },
      { name: "entry_z", type: "float", description: "Enter beyond this z-score", default: 1.5, required: false },
      { name: "exit_z", type: "float", description: "Close inside this z-score", default: 0.3, required: false },
      { name: "order_size", type: "string", description: "Quantity of leg A per order", default: "1", required: false },
      { name: "dry_run", type: "bool", description: "Log orders instead of sending them", default: true, required: false },
    ],
    events: ["Trade", "ExecReport"],
  },

  create(env) {
    const c = env.config || {};
    const str = (v, d) => String(v ?? d).trim().toUpperCase() || d;
    const num = (v, d) => (Number.isFinite(Number(v)) && Number(v) > 0 ? Number(v) : d);
    const legA = str(c.leg_a, "BTC-USDT");
    const legB = str(c.leg_b, "ETH-USDT");
    const windowSize = Math.floor(num(c.window, 60));
    const entryZ = num(c.entry_z, 1.5);
    const exitZ = num(c.exit_z, 0.3);
    const size = num(c.order_size, 1);
    const dryRun = c.dry_run !== undefined ? Boolean(c.dry_run) : true;

    const last = new Map();
    const spreads = [];
    let holding = 0; // position in A the strategy asked for
    let before = 0; // holding before the order in flight, restored if it does not fill
    let waiting = false;

    function submit(side, qty) {
      if (dryRun || !env.runtime.isTradingActive()) {
        env.helpers.log("[DRY-RUN] pairs", side, qty, legA);
        return true;
      }
      try {
        env.runtime.submitMarketOrder(env.runtime.providers()[0] || "", side, String(qty));
        waiting = true;
        return true;
      } catch (err) {
        env.helpers.log("pairs: submit failed", err.message);
        return false;
      }
    }

    return {
      onTrade(ctx, evt, payload, price) {
        const symbol = String(evt.symbol || "").toUpperCase();
        if (symbol !== legA && symbol !== legB) return;
        last.set(symbol, price);
        if (!(last.get(legA) > 0 && last.get(legB) > 0)) return;

        spreads.push(Math.log(last.get(legA) / last.get(legB)));
        if (spreads.length > windowSize) spreads.shift();
        if (spreads.length < windowSize || waiting) return;

        const mean = spreads.reduce((a, b) => a + b, 0) / spreads.length;
        const variance = spreads.reduce((a, b) => a + (b - mean) * (b - mean), 0) / spreads.length;
        if (!(variance > 0)) return;
        const z = (spreads[spreads.length - 1] - mean) / Math.sqrt(variance);

        let want = holding;
        if (z > entryZ) want = -size;
        else if (z < -entryZ) want = size;
        else if (Math.abs(z) < exitZ) want = 0;
        if (want === holding) return;
        const qty = want - holding;
        before = holding;
        if (submit(qty > 0 ? "buy" : "sell", Math.abs(qty))) holding = want;
      },
      onOrderFilled() {
        waiting = false;
      },
      onOrderCancelled() {
        waiting = false;
        holding = before;
      },
      onOrderRejected(ctx, evt, payload, reason) {
        waiting = false;
        holding = before;
        env.helpers.log("pairs: rejected", reason);
      },
    };
  },
};
