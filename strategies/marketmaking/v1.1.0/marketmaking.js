// Market making: rest a bid below and an ask above the fair price and earn the spread.
//
// Fair price is the mid of getBidPrice()/getAskPrice(), else getLastPrice(), else the price of the
// update being handled. Quotes go `spread_bps / 2` either side of it. On every ticker or trade a
// side is quoted again when its last quote filled or ended, or when `requote_interval` has passed
// (the gateway has no cancel, so a stale quote stays working next to the new one). The inventory
// cap counts working quotes: a bid is only added while position + working bids + order_size stays
// within `max_inventory`, and the same for asks on the short side. Quotes are centred on a
// reservation price skewed against the inventory: long shifts both quotes down (selling becomes
// likelier, buying cheaper), short shifts them up, by up to `skew_bps` at the inventory cap.

const METADATA = {
  name: "marketmaking",
  tag: "v1.1.0",
  displayName: "Market making (inventory-skewed quotes)",
  description:
    "Adds inventory skew: quotes are centred on fair x (1 - skew_bps/10000 x position/max_inventory) " +
    "instead of the fair price, so a long book quotes lower and a short book higher, pulling " +
    "inventory back towards flat before the cap is reached. Quoting rules are as in v1.0.0.",
  config: [
    { name: "spread_bps", type: "float", description: "Distance between our bid and ask, in basis points of the fair price", default: 20, required: false },
    { name: "order_size", type: "float", description: "Quantity of each quote in base units", default: 1, required: false },
    { name: "skew_bps", type: "float", description: "Shift of both quotes at full inventory, in basis points against the inventory (at most spread_bps / 2)", default: 10, required: false },
    { name: "max_inventory", type: "float", description: "Largest net long or short inventory in base units, working quotes included", default: 3, required: false },
    { name: "requote_interval", type: "duration", description: "Quote a side again after this long even if its quote is still working", default: "5s", required: false },
    { name: "price_decimals", type: "int", description: "Decimals of the quote prices", default: 2, required: false },
    { name: "dry_run", type: "bool", description: "When true, strategy logs intended orders without submitting them", default: true, required: false },
  ],
  events: ["Trade", "Ticker", "ExecReport"],
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
const DURATION_MS = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const toDurationMs = (value, fallback) => {
  const match = String(value ?? "").trim().toLowerCase().match(/^(-?)(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)?$/);
  if (!match || match[1] === "-") return fallback;
  return Number(match[2]) * DURATION_MS[match[3] ?? "ms"];
};
const toBool = (value, fallback) => (value !== undefined ? Boolean(value) : fallback);

// Float noise left after adding and removing fill quantities.
const EPSILON = 1e-9;
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

  const halfSpread = toPositive(config.spread_bps, 20) / 2 / 10_000;
  const orderSize = toPositive(config.order_size, 1);
  const qty = quantityText(orderSize);
  const maxInventory = toPositive(config.max_inventory, 3);
  // Capped at half the spread: the quote that reduces inventory may reach the fair price, not cross it.
  const skew = Math.min(toPositive(config.skew_bps, 10) / 10_000, halfSpread);
  const requoteMs = toDurationMs(config.requote_interval, 5_000);
  const priceDecimals = Math.min(toInt(config.price_decimals, 2, 0), 12);
  const priceScale = 10 ** priceDecimals;
  const dryRun = toBool(config.dry_run, true);

  let position = 0;
  let workingBids = 0; // base units resting on the bid side
  let workingAsks = 0;
  // Time of the last quote per side; reset when a quote of that side ends, so it is replaced at once.
  let lastBidAt = -Infinity;
  let lastAskAt = -Infinity;
  const filledByOrder = new Map();

  // Bids round down and asks round up: rounding never narrows the spread.
  const priceText = (price, side) =>
    ((side > 0 ? Math.floor(price * priceScale + 1e-6) : Math.ceil(price * priceScale - 1e-6)) / priceScale).toFixed(
      priceDecimals,
    );

  const live = () => !dryRun && runtime.isTradingActive() && !runtime.isDryRun();

  function fairPrice(fallback) {
    const bid = runtime.getBidPrice();
    const ask = runtime.getAskPrice();
    if (bid > 0 && ask >= bid) return (bid + ask) / 2;
    const last = runtime.getLastPrice();
    return last > 0 ? last : fallback;
  }

  function send(sign, price) {
    const side = sign > 0 ? "buy" : "sell";
    const limit = priceText(price, sign);
    try {
      if (!live()) {
        log(`[DRY-RUN] marketmaking: would quote ${side} ${qty} @ ${limit} (position ${position})`);
        return;
      }
      runtime.submitOrder(runtime.providers()[0] ?? "", side, qty, limit);
      if (sign > 0) workingBids += orderSize;
      else workingAsks += orderSize;
      log(`marketmaking: quote ${side} ${qty} @ ${limit} (position ${position})`);
    } catch (err) {
      log(`marketmaking: quote ${side} ${qty} @ ${limit} failed: ${errorText(err)}`);
    }
  }

  function quote(updatePrice) {
    const now = Date.now();
    const bidDue = now - lastBidAt >= requoteMs && position + workingBids + orderSize <= maxInventory + EPSILON;
    const askDue = now - lastAskAt >= requoteMs && workingAsks + orderSize - position <= maxInventory + EPSILON;
    if (!bidDue && !askDue) return;
    let fair;
    try {
      fair = fairPrice(updatePrice);
    } catch (err) {
      log(`marketmaking: reading market state failed: ${errorText(err)}`);
      return;
    }
    if (!(fair > 0)) return;
    const centre = fair * (1 - (skew * position) / maxInventory);
    // A failed quote also waits for the interval, so errors are not retried on every update.
    if (bidDue) {
      lastBidAt = now;
      send(1, centre * (1 - halfSpread));
    }
    if (askDue) {
      lastAskAt = now;
      send(-1, centre * (1 + halfSpread));
    }
  }

  function onReport(payload, terminal) {
    const id = String(payload?.clientOrderId ?? payload?.client_order_id ?? "");
    const sign = sideSign(payload?.side);
    const filled = Number(payload?.filledQuantity ?? payload?.filled_quantity) || 0;
    const delta = filled - (filledByOrder.get(id) ?? 0);
    // What leaves the book: new fills, plus the unfilled rest once the order has ended.
    let released = delta > 0 ? delta : 0;
    if (delta > 0) position += sign * delta;
    if (terminal) {
      filledByOrder.delete(id);
      const unfilled = (Number(payload?.quantity) || filled) - filled;
      if (unfilled > 0) released += unfilled;
      if (sign > 0) lastBidAt = -Infinity;
      else if (sign < 0) lastAskAt = -Infinity;
    } else {
      filledByOrder.set(id, filled);
    }
    if (sign > 0) workingBids = Math.max(0, workingBids - released);
    else if (sign < 0) workingAsks = Math.max(0, workingAsks - released);
    if (Math.abs(position) < EPSILON) position = 0;
  }

  return {
    onTicker(ctx, evt, payload) {
      quote(Number(payload?.lastPrice ?? payload?.last_price));
    },
    onTrade(ctx, evt, payload, price) {
      quote(price > 0 ? price : Number(payload?.price));
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
      log(`marketmaking: order rejected: ${reason || "no reason given"}`);
    },
  };
}

module.exports = { metadata: METADATA, create };
