// Momentum: trade in the direction of the move over the last `lookback` trades.
//
// signal = price / price(lookback trades ago) - 1. When |signal| > threshold the strategy targets a
// position of +order_size (signal up) or -order_size (signal down) and sends one market order for
// the difference to its current exposure. The per-trade path touches only a preallocated ring
// buffer and a few numbers: no objects, closures or strings are created unless an order is due,
// so it stays cheap over millions of trades. An open position is closed early by a take-profit or
// stop-loss measured from its average entry price. Entries must also beat the noise: the signal has to
// exceed `vol_multiplier` times the rolling volatility of trade-to-trade returns scaled to the
// lookback (sigma * sqrt(lookback)), kept in O(1) per trade with running sums.

const METADATA = {
  name: "momentum",
  tag: "v1.2.0",
  displayName: "Momentum with exits and a volatility filter",
  description:
    "Adds a volatility filter: entries need |signal| > vol_multiplier x sigma x sqrt(lookback), " +
    "sigma being the rolling std of trade-to-trade returns, so noisy markets no longer trigger " +
    "entries that a fixed threshold lets through. Exits are unchanged from v1.1.0.",
  config: [
    { name: "lookback", type: "int", description: "Trades between the two prices compared", default: 20, required: false },
    { name: "threshold", type: "float", description: "Minimum |return| over the lookback, as a fraction (0.002 = 0.2%)", default: 0.002, required: false },
    { name: "order_size", type: "float", description: "Target position size in base units", default: 1, required: false },
    { name: "vol_multiplier", type: "float", description: "Required signal in units of the lookback's return volatility", default: 2, required: false },
    { name: "take_profit", type: "float", description: "Close the position after this gain from entry, as a fraction", default: 0.01, required: false },
    { name: "stop_loss", type: "float", description: "Close the position after this loss from entry, as a fraction", default: 0.005, required: false },
    { name: "cooldown", type: "duration", description: "Minimum time between two orders (e.g. 5s, 250ms)", default: "5s", required: false },
    { name: "dry_run", type: "bool", description: "When true, strategy logs intended orders without submitting them", default: true, required: false },
  ],
  events: ["Trade", "ExecReport"],
};

// Config values arrive untouched (YAML/JSON types, or strings from a web form): coerce here.
const toInt = (value, fallback) => {
  const n = Math.floor(Number(value));
  return Number.isFinite(n) && n >= 1 ? n : fallback;
};
const toPositive = (value, fallback) => {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};
const DURATION_MS = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const toDurationMs = (value, fallback) => {
  const match = String(value ?? "").trim().toLowerCase().match(/^(-?)(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)?$/);
  if (!match || match[1] === "-") return fallback;
  return Number(match[2]) * DURATION_MS[match[3] ?? "ms"];
};
const toBool = (value, fallback) => (value !== undefined ? Boolean(value) : fallback);

// Float noise left after adding and removing fill quantities.
const EPSILON = 1e-9;
// Quantities leave as decimal text without float artefacts such as 0.30000000000000004.
const quantityText = (qty) => qty.toFixed(8).replace(/\.?0+$/, "");
const sideSign = (side) => {
  const text = String(side ?? "").toLowerCase();
  return text === "buy" ? 1 : text === "sell" ? -1 : 0;
};
const errorText = (err) => (err && err.message) || String(err);

function create(env) {
  const config = env.config ?? {};
  const runtime = env.runtime;
  const log = (...parts) => env.helpers.log(...parts);

  const lookback = toInt(config.lookback, 20);
  const threshold = toPositive(config.threshold, 0.002);
  const orderSize = toPositive(config.order_size, 1);
  const volMultiplier = toPositive(config.vol_multiplier, 2);
  const takeProfit = toPositive(config.take_profit, 0.01);
  const stopLoss = toPositive(config.stop_loss, 0.005);
  const cooldownMs = toDurationMs(config.cooldown, 5_000);
  const dryRun = toBool(config.dry_run, true);

  const prices = new Float64Array(lookback);
  let head = 0; // next slot to write; once full, also the oldest price
  let count = 0;
  const latestPrice = () => prices[head === 0 ? lookback - 1 : head - 1];

  // Rolling sums of the last `lookback` trade-to-trade returns; refreshed exactly on every wrap so
  // rounding error cannot build up over millions of add/remove steps. The sums live in a typed
  // array because V8 boxes a double written to a closure variable: one allocation per trade.
  const returns = new Float64Array(lookback);
  let returnHead = 0;
  let returnCount = 0;
  const SUM = 0;
  const SUM_SQ = 1;
  const returnSums = new Float64Array(2);

  let position = 0; // signed base units, from fills
  let entryPrice = 0; // average cost of the open position
  let working = 0; // signed base units sent but not yet filled or terminated
  const fillsByOrder = new Map(); // client order id -> { filled, cost } seen so far
  let lastOrderAt = -Infinity;

  function pushReturn(r) {
    if (returnCount === lookback) {
      const old = returns[returnHead];
      returnSums[SUM] -= old;
      returnSums[SUM_SQ] -= old * old;
    } else {
      returnCount += 1;
    }
    returns[returnHead] = r;
    returnSums[SUM] += r;
    returnSums[SUM_SQ] += r * r;
    returnHead += 1;
    if (returnHead === lookback) {
      returnHead = 0;
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < lookback; i += 1) {
        sum += returns[i];
        sumSq += returns[i] * returns[i];
      }
      returnSums[SUM] = sum;
      returnSums[SUM_SQ] = sumSq;
    }
  }

  // Volatility of the return over the whole lookback, assuming independent trade returns.
  function lookbackVolatility() {
    const mean = returnSums[SUM] / returnCount;
    return Math.sqrt(Math.max(0, returnSums[SUM_SQ] / returnCount - mean * mean) * lookback);
  }

  // The runtime is attached after create(): read trading state at order time, never cache it.
  const live = () => !dryRun && runtime.isTradingActive() && !runtime.isDryRun();

  function trade(signal) {
    const target = signal > 0 ? orderSize : -orderSize;
    const diff = target - (position + working);
    if (Math.abs(diff) < EPSILON) return;
    // Read the clock only when an order is otherwise due: most signals repeat the current target.
    const now = Date.now();
    if (now - lastOrderAt < cooldownMs) return;
    lastOrderAt = now;
    send(diff, `signal=${signal.toFixed(5)} position=${position}`);
  }

  function exit(move) {
    lastOrderAt = Date.now();
    send(-position, `${move > 0 ? "take-profit" : "stop-loss"} ${(move * 100).toFixed(3)}% from entry ${+entryPrice.toPrecision(10)}`);
  }

  function send(diff, why) {
    const side = diff > 0 ? "buy" : "sell";
    const qty = quantityText(Math.abs(diff));
    try {
      if (!live()) {
        log(`[DRY-RUN] momentum: would submit market ${side} ${qty} (${why})`);
        return;
      }
      runtime.submitMarketOrder(runtime.providers()[0] ?? "", side, qty);
      working += diff;
      log(`momentum: market ${side} ${qty} (${why})`);
    } catch (err) {
      log(`momentum: market ${side} ${qty} failed: ${errorText(err)}`);
    }
  }

  // Average cost: adding to a position blends the price in, reducing keeps it, flipping restarts it.
  function applyFill(signedQty, price) {
    const next = position + signedQty;
    if (Math.abs(next) < EPSILON) {
      position = 0;
      entryPrice = 0;
      return;
    }
    if (position === 0 || Math.sign(position) === Math.sign(signedQty)) {
      entryPrice = (entryPrice * Math.abs(position) + price * Math.abs(signedQty)) / Math.abs(next);
    } else if (Math.sign(next) !== Math.sign(position)) {
      entryPrice = price;
    }
    position = next;
  }

  // Exec reports carry cumulative filled quantity and average price: turn them into per-fill deltas.
  function onReport(payload, terminal) {
    const id = String(payload?.clientOrderId ?? payload?.client_order_id ?? "");
    const sign = sideSign(payload?.side);
    const filled = Number(payload?.filledQuantity ?? payload?.filled_quantity) || 0;
    const avg = Number(payload?.avgFillPrice ?? payload?.avg_fill_price);
    const seen = fillsByOrder.get(id) ?? { filled: 0, cost: 0 };
    const delta = filled - seen.filled;
    if (delta > 0) {
      const cost = avg > 0 ? avg * filled : seen.cost + latestPrice() * delta;
      applyFill(sign * delta, (cost - seen.cost) / delta);
      working -= sign * delta;
      seen.filled = filled;
      seen.cost = cost;
    }
    if (terminal) {
      fillsByOrder.delete(id);
      const unfilled = (Number(payload?.quantity) || filled) - filled;
      if (unfilled > 0) working -= sign * unfilled;
    } else {
      fillsByOrder.set(id, seen);
    }
    if (Math.abs(working) < EPSILON) working = 0;
  }

  return {
    onTrade(ctx, evt, payload, price) {
      const px = price > 0 ? price : Number(payload?.price);
      if (!(px > 0)) return;
      if (count > 0) pushReturn(px / latestPrice() - 1);
      if (count < lookback) {
        count += 1;
        prices[head] = px;
        head = head + 1 === lookback ? 0 : head + 1;
        return;
      }
      const signal = px / prices[head] - 1;
      prices[head] = px;
      head = head + 1 === lookback ? 0 : head + 1;
      if (position !== 0 && working === 0) {
        const move = position > 0 ? px / entryPrice - 1 : 1 - px / entryPrice;
        if (move >= takeProfit || move <= -stopLoss) {
          exit(move);
          return;
        }
      }
      const strength = signal < 0 ? -signal : signal;
      if (strength > threshold && strength > volMultiplier * lookbackVolatility()) trade(signal);
    },
    onOrderPartialFill(ctx, evt, payload) {
      onReport(payload, false);
    },
    onOrderFilled(ctx, evt, payload) {
      onReport(payload, true);
    },
    onOrderCancelled(ctx, evt, payload) {
      onReport(payload, true);
    },
    onOrderExpired(ctx, evt, payload) {
      onReport(payload, true);
    },
    onOrderRejected(ctx, evt, payload, reason) {
      onReport(payload, true);
      log(`momentum: order rejected: ${reason || "no reason given"}`);
    },
  };
}

module.exports = { metadata: METADATA, create };
