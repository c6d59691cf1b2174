// Grid: a ladder of resting limit orders around a base price, harvesting oscillations.
//
// Level k (k = -grid_levels .. grid_levels) sits at base * (1 + grid_spacing / 100) ^ k, so every
// step is the same percentage move wherever it is on the ladder. On the
// first trade the strategy fixes the base (config `base_price`, or that trade's price when 0) and
// places one order per level: buys on levels below the price, sells on levels above. When a buy
// on level k fills, a sell goes on level k + 1; when a sell on level k fills, a buy goes on level
// k - 1. A level never holds more than one working order. Inventory is capped: an order is only
// placed while the position plus every working order on that side stays within `max_position`.
// After setup the per-trade path is O(1).

const METADATA = {
  name: "grid",
  tag: "v1.1.0",
  displayName: "Grid (geometric ladder, inventory cap)",
  description:
    "Levels are now geometric (each a constant percentage from the next, not a fixed distance " +
    "from the base), and a `max_position` cap stops adding orders that could push the net " +
    "inventory, working orders included, beyond it in either direction.",
  config: [
    { name: "base_price", type: "float", description: "Grid centre; 0 means the first trade price", default: 0, required: false },
    { name: "grid_levels", type: "int", description: "Levels on each side of the base", default: 5, required: false },
    { name: "grid_spacing", type: "float", description: "Distance between levels, in percent of the base", default: 0.5, required: false },
    { name: "order_size", type: "float", description: "Quantity of each order in base units", default: 1, required: false },
    { name: "max_position", type: "float", description: "Largest net long or short inventory in base units, working orders included", default: 3, required: false },
    { name: "price_decimals", type: "int", description: "Decimals of the limit prices", default: 2, required: false },
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
// Beyond this the ladder is a configuration mistake, not a grid.
const MAX_LEVELS = 100;
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

  const configuredBase = toPositive(config.base_price, 0);
  const levels = Math.min(toInt(config.grid_levels, 5), MAX_LEVELS);
  const spacingPct = toPositive(config.grid_spacing, 0.5);
  const spacing = spacingPct / 100;
  const orderSize = toPositive(config.order_size, 1);
  const qty = quantityText(orderSize);
  const maxPosition = toPositive(config.max_position, 3);
  const priceDecimals = Math.min(toInt(config.price_decimals, 2, 0), 12);
  const priceScale = 10 ** priceDecimals;
  const dryRun = toBool(config.dry_run, true);

  let base = 0; // 0 until the first trade fixes it
  // levelSide[k + levels]: +1 a buy is working on level k, -1 a sell, 0 nothing.
  const levelSide = new Int8Array(2 * levels + 1);
  let position = 0;
  let workingBuys = 0; // levels holding a working buy
  let workingSells = 0;
  const filledByOrder = new Map();

  const growth = Math.log1p(spacing);
  const levelPrice = (k) => base * Math.exp(k * growth);
  const levelOf = (price) => Math.round(Math.log(price / base) / growth);
  // Buys round down and sells round up, so rounding never moves an order towards the market.
  const priceText = (price, side) =>
    ((side > 0 ? Math.floor(price * priceScale + 1e-6) : Math.ceil(price * priceScale - 1e-6)) / priceScale).toFixed(
      priceDecimals,
    );

  const live = () => !dryRun && runtime.isTradingActive() && !runtime.isDryRun();

  function place(k, sign) {
    if (k < -levels || k > levels) return;
    if (levelSide[k + levels] !== 0) {
      log(`grid: level ${k} already has a working order, not stacking another`);
      return;
    }
    const exposure = sign > 0 ? position + (workingBuys + 1) * orderSize : -position + (workingSells + 1) * orderSize;
    if (exposure > maxPosition + EPSILON) {
      log(`grid: skipping level ${k}: inventory would reach ${quantityText(exposure)} > max_position ${maxPosition}`);
      return;
    }
    const price = levelPrice(k);
    const side = sign > 0 ? "buy" : "sell";
    const limit = priceText(price, sign);
    try {
      if (!live()) {
        log(`[DRY-RUN] grid: would submit limit ${side} ${qty} @ ${limit} (level ${k})`);
        return;
      }
      runtime.submitOrder(runtime.providers()[0] ?? "", side, qty, limit);
      levelSide[k + levels] = sign;
      if (sign > 0) workingBuys += 1;
      else workingSells += 1;
      log(`grid: limit ${side} ${qty} @ ${limit} (level ${k})`);
    } catch (err) {
      log(`grid: limit ${side} ${qty} @ ${limit} (level ${k}) failed: ${errorText(err)}`);
    }
  }

  function setup(price) {
    base = configuredBase > 0 ? configuredBase : price;
    log(`grid: base ${base}, ${levels} levels each side, spacing ${spacingPct}%`);
    for (let k = -levels; k <= levels; k += 1) {
      const levelPx = levelPrice(k);
      if (levelPx < price) place(k, 1);
      else if (levelPx > price) place(k, -1);
    }
  }

  function onReport(payload, terminal, filledCompletely) {
    const id = String(payload?.clientOrderId ?? payload?.client_order_id ?? "");
    const sign = sideSign(payload?.side);
    const filled = Number(payload?.filledQuantity ?? payload?.filled_quantity) || 0;
    const delta = filled - (filledByOrder.get(id) ?? 0);
    if (delta > 0) position += sign * delta;
    if (Math.abs(position) < EPSILON) position = 0;
    if (!terminal) {
      filledByOrder.set(id, filled);
      return;
    }
    filledByOrder.delete(id);
    // The report's price is the order's limit; the average fill price only stands in for it.
    const limit = Number(payload?.price);
    const k = levelOf(limit > 0 ? limit : Number(payload?.avgFillPrice ?? payload?.avg_fill_price));
    if (!(base > 0) || !Number.isFinite(k) || k < -levels || k > levels) return;
    if (levelSide[k + levels] === sign) {
      levelSide[k + levels] = 0;
      if (sign > 0) workingBuys -= 1;
      else workingSells -= 1;
    }
    if (filledCompletely) {
      log(`grid: ${sign > 0 ? "buy" : "sell"} filled on level ${k}, position ${position}`);
      place(k + sign, -sign);
    }
  }

  return {
    onTrade(ctx, evt, payload, price) {
      if (base > 0) return;
      const px = price > 0 ? price : Number(payload?.price);
      if (px > 0) setup(px);
    },
    onOrderPartialFill(ctx, evt, payload) {
      onReport(payload, false, false);
    },
    onOrderFilled(ctx, evt, payload) {
      onReport(payload, true, true);
    },
    onOrderCancelled(ctx, evt, payload) {
      onReport(payload, true, false);
    },
    onOrderExpired(ctx, evt, payload) {
      onReport(payload, true, false);
    },
    onOrderRejected(ctx, evt, payload, reason) {
      onReport(payload, true, false);
      log(`grid: order rejected: ${reason || "no reason given"}`);
    },
  };
}

module.exports = { metadata: METADATA, create };
