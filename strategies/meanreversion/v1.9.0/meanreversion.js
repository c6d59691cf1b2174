// Mean reversion: fade moves away from the rolling mean, get out when price comes back.
//
// z = (price - mean) / std over the previous `window` trades (population std, updated in O(1) per
// trade). The strategy keeps a target position: -order_size once z > entry_z, +order_size once
// z < -entry_z, flat once |z| < exit_z, unchanged in between. Orders are limit orders at the current
// price. The gateway offers no cancel, so at most one order is working at a time: a new one is sent
// only after the previous one has filled or ended.

const METADATA = {
  name: "meanreversion",
  tag: "v1.9.0",
  displayName: "Mean reversion (rolling z-score, limit orders)",
  description:
    "Enters against moves beyond `entry_z` standard deviations of the rolling window and exits " +
    "inside `exit_z`, with limit orders at the trade price; one working order at a time. This " +
    "revision rounds buy prices down and sell prices up to `price_decimals`.",
  config: [
    { name: "window", type: "int", description: "Trades in the rolling mean / std window", default: 50, required: false },
    { name: "entry_z", type: "float", description: "Enter when |z-score| exceeds this", default: 2, required: false },
    { name: "exit_z", type: "float", description: "Exit when |z-score| falls below this", default: 0.5, required: false },
    { name: "order_size", type: "float", description: "Position size in base units", default: 1, required: false },
    { name: "price_decimals", type: "int", description: "Decimals of the limit price", default: 2, required: false },
    { name: "dry_run", type: "bool", description: "When true, strategy logs intended orders without submitting them", default: true, required: false },
  ],
  events: ["Trade", "ExecReport"],
};

// Config values arrive untouched (YAML/JSON types, or strings from a web form): coerce here.
const toInt = (value, fallback, min = 1) => {
  const n = Math.floor(Number(value));
  return Number.isFinite(n) && n >= min ? n : fallback;
};
const toPositive = (value, fallback) => {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};
const toBool = (value, fallback) => (value !== undefined ? Boolean(value) : fallback);

// Float noise left after adding and removing fill quantities.
const EPSILON = 1e-9;
// After a failed submit, wait before trying again instead of retrying on every trade.
const RETRY_AFTER_MS = 5_000;
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

  const windowSize = toInt(config.window, 50, 2);
  const entryZ = toPositive(config.entry_z, 2);
  const exitZ = Math.min(toPositive(config.exit_z, 0.5), entryZ);
  const orderSize = toPositive(config.order_size, 1);
  const priceDecimals = Math.min(toInt(config.price_decimals, 2, 0), 12);
  const priceScale = 10 ** priceDecimals;
  const dryRun = toBool(config.dry_run, true);

  // Sliding mean and sum of squared deviations (Welford form, stable for prices far from zero);
  // recomputed exactly from the buffer on every wrap so rounding error cannot accumulate. Kept in
  // a typed array because V8 boxes a double written to a closure variable: one allocation per trade.
  const prices = new Float64Array(windowSize);
  let head = 0;
  let count = 0;
  const MEAN = 0;
  const M2 = 1;
  const stats = new Float64Array(2);

  let target = 0; // wanted position, moved by the z-score rules
  let position = 0; // signed base units, from fills
  let working = 0; // signed base units of the working order, 0 when none
  const filledByOrder = new Map();
  let retryAt = -Infinity;
  let dryRunTarget = 0;

  function push(x) {
    const oldMean = stats[MEAN];
    if (count < windowSize) {
      count += 1;
      const mean = oldMean + (x - oldMean) / count;
      stats[MEAN] = mean;
      stats[M2] += (x - oldMean) * (x - mean);
    } else {
      const old = prices[head];
      const mean = oldMean + (x - old) / windowSize;
      stats[MEAN] = mean;
      stats[M2] += (x - old) * (x - mean + old - oldMean);
    }
    prices[head] = x;
    head += 1;
    if (head === windowSize) {
      head = 0;
      let sum = 0;
      for (let i = 0; i < windowSize; i += 1) sum += prices[i];
      const mean = sum / windowSize;
      let m2 = 0;
      for (let i = 0; i < windowSize; i += 1) m2 += (prices[i] - mean) * (prices[i] - mean);
      stats[MEAN] = mean;
      stats[M2] = m2;
    }
  }

  // Buys round down and sells round up, so the order never pays more than the trade price.
  const priceText = (price, side) =>
    ((side > 0 ? Math.floor(price * priceScale + 1e-6) : Math.ceil(price * priceScale - 1e-6)) / priceScale).toFixed(
      priceDecimals,
    );

  const live = () => !dryRun && runtime.isTradingActive() && !runtime.isDryRun();

  function setTarget(next, z) {
    if (next === target) return;
    target = next;
    const what = next === 0 ? "flat" : next > 0 ? `long ${orderSize}` : `short ${orderSize}`;
    log(`meanreversion: target ${what} (z=${z.toFixed(2)})`);
  }

  function rebalance(price) {
    const diff = target - (position + working);
    if (working !== 0 || Math.abs(diff) < EPSILON) return;
    const now = Date.now();
    if (now < retryAt) return;
    const sign = diff > 0 ? 1 : -1;
    const side = sign > 0 ? "buy" : "sell";
    try {
      const isLive = live();
      // Nothing fills in dry-run: report each target once rather than on every trade.
      if (!isLive && dryRunTarget === target) return;
      const qty = quantityText(Math.abs(diff));
      const limit = priceText(price, sign);
      if (!isLive) {
        log(`[DRY-RUN] meanreversion: would submit limit ${side} ${qty} @ ${limit}`);
        dryRunTarget = target;
        return;
      }
      runtime.submitOrder(runtime.providers()[0] ?? "", side, qty, limit);
      working = diff;
      log(`meanreversion: limit ${side} ${qty} @ ${limit}`);
    } catch (err) {
      retryAt = now + RETRY_AFTER_MS;
      log(`meanreversion: limit ${side} ${quantityText(Math.abs(diff))} failed: ${errorText(err)}`);
    }
  }

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
      working = 0;
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
      if (count === windowSize) {
        const mean = stats[MEAN];
        const std = Math.sqrt(Math.max(stats[M2], 0) / windowSize);
        if (std > 0) {
          const z = (px - mean) / std;
          if (z > entryZ) setTarget(-orderSize, z);
          else if (z < -entryZ) setTarget(orderSize, z);
          else if (z < exitZ && z > -exitZ) setTarget(0, z);
        }
      }
      push(px);
      rebalance(px);
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
      log(`meanreversion: order rejected: ${reason || "no reason given"}`);
    },
  };
}

module.exports = { metadata: METADATA, create };
