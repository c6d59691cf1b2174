// Channel breakout, from the flat strategies/ directory: buy when a trade prints above the highest
// price of the previous `channel` trades, sell when it prints below the lowest; reverse on the
// opposite breakout.

module.exports = {
  metadata: {
    name: "breakout",
    tag: "v2.0.0",
    displayName: "Channel Breakout",
    description: "v2: reverses on the opposite breakout instead of only closing.",
    config: [
      { name: "channel", type: "int", description: "Trades in the high/low channel", default: 30, required: false },
      { name: "order_size", type: "float", description: "Position size", default: 1, required: false },
      { name: "dry_run", type: "bool", description: "Log orders instead of sending them", default: true, required: false },
    ],
    events: ["Trade", "ExecReport"],
  },

  create(env) {
    const config = env.config ?? {};
    const n = Number(config.channel);
    const channel = Number.isFinite(n) && n > 1 ? Math.floor(n) : 30;
    const s = Number(config.order_size);
    const size = Number.isFinite(s) && s > 0 ? s : 1;
    const dryRun = config.dry_run !== undefined ? Boolean(config.dry_run) : true;

    const prices = [];
    let position = 0;
    let inFlight = 0;

    const filledQty = (p) => p?.filled_quantity ?? p?.filledQuantity;

    function go(target) {
      const qty = target - position - inFlight;
      if (qty === 0) return;
      const side = qty > 0 ? "buy" : "sell";
      if (dryRun || !env.runtime.isTradingActive()) {
        env.helpers.log(`[DRY-RUN] breakout ${side} ${Math.abs(qty)}`);
        return;
      }
      try {
        env.runtime.submitMarketOrder(env.runtime.providers()[0] ?? "", side, String(Math.abs(qty)));
        inFlight += qty;
      } catch (e) {
        env.helpers.log(`breakout: ${e.message}`);
      }
    }

    return {
      onTrade(ctx, evt, payload, price) {
        if (prices.length === channel) {
          const high = Math.max(...prices);
          const low = Math.min(...prices);
          if (price > high) go(size);
          else if (price < low) go(-size);
          prices.shift();
        }
        prices.push(price);
      },
      onOrderFilled(ctx, evt, payload) {
        const qty = Number(filledQty(payload)) || 0;
        const signed = String(payload.side).toLowerCase() === "buy" ? qty : -qty;
        position += signed;
        inFlight -= signed;
      },
      onOrderRejected(ctx, evt, payload, reason) {
        inFlight = 0;
        env.helpers.log(`breakout: rejected ${reason}`);
      },
    };
  },
};
