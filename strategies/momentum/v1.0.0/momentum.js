// Momentum: trade in the direction of the move over the last `lookback` trades.
//
// signal = price / price(lookback trades ago) - 1. When |signal| > threshold the strategy targets a
// position of +order_size (signal up) or -order_size (signal down) and sends one market order for
// the difference to its current exposure. The per-trade path touches only a preallocated ring
// buffer and a few numbers: no objects, closures or strings are created unless an order is due,
// so it stays cheap over millions of trades.

const METADATA = {
  name: "momentum",
  tag: "v1.0.0",
  displayName: "Momentum (lookback breakout, market orders)",
  description:
    "First release: targets +/-order_size when the return over `lookback` trades passes " +
    "`threshold`, by market order, at most once per `cooldown`; position is tracked from exec reports.",
  config: [
    { name: "lookback", type: "int", description: "Trades between the two prices compared", default: 20, required: false },
    { name: "threshold", type: "float", description: "Minimum |return| over the lookback, as a fraction (0.002 = 0.2%)", default: 0.002, required: false },
    { name: "order_size", type: "float", description: "Target position size in base units", default: 1, required: false },
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
  const cooldownMs = toDurationMs(config.cooldown, 5_000);
  const dryRun = toBool(config.dry_run, true);

  const prices = new Float64Array(lookback);
  let head = 0; // next slot to write; once full, also the oldest price
  let count = 0;

  let position = 0; // signed base units, from fills
  let working = 0; // signed base units sent but not yet filled or terminated
  const filledByOrder = new Map(); // client order id -> cumulative filled quantity seen
  let lastOrderAt = -Infinity;

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
    const side = diff > 0 ? "buy" : "sell";
    const qty = quantityText(Math.abs(diff));
    const why = `signal=${signal.toFixed(5)} position=${position}`;
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

  // Exec reports carry the cumulative filled quantity: turn it into deltas per order.
  function onReport(payload, terminal) {
    const id = String(payload?.clientOrderId ?? payload?.client_order_id ?? "");
    const sign = sideSign(payload?.side);
    const filled = Number(payload?.filledQuantity ?? payload?.filled_quantity) || 0;
    const delta = filled - (filledByOrder.get(id) ?? 0);
    if (delta > 0) {
      position += sign * delta;
      working -= sign * delta;
    }
    if (terminal) {
      filledByOrder.delete(id);
      const unfilled = (Number(payload?.quantity) || filled) - filled;
      if (unfilled > 0) working -= sign * unfilled;
    } else {
      filledByOrder.set(id, filled);
    }
    if (Math.abs(working) < EPSILON) working = 0;
    if (Math.abs(position) < EPSILON) position = 0;
  }

  return {
    onTrade(ctx, evt, payload, price) {
      const px = price > 0 ? price : Number(payload?.price);
      if (!(px > 0)) return;
      if (count < lookback) {
        count += 1;
        prices[head] = px;
        head = head + 1 === lookback ? 0 : head + 1;
        return;
      }
      const signal = px / prices[head] - 1;
      prices[head] = px;
      head = head + 1 === lookback ? 0 : head + 1;
      if (signal > threshold || signal < -threshold) trade(signal);
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
