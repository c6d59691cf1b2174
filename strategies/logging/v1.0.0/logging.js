// Logging: writes one line per event with the payload's main fields, to see what a strategy
// receives (handy in notebooks and when checking a data feed). Never trades.
//
// Payload fields are read camelCase first, then snake_case, so the lines are the same for every
// gateway era (snake_case before the 2025-11-07 rename, camelCase after, both in meltica-lab).

const METADATA = {
  name: "logging",
  tag: "v1.0.0",
  displayName: "Event logger",
  description:
    "First release: logs every event type (trades, tickers, books, klines, instruments, balances, " +
    "exec reports, risk control, extension events) with fields read in both spellings.",
  config: [
    { name: "prefix", type: "string", description: "Text at the start of every line", default: "[logging]", required: false },
    { name: "trade_every", type: "int", description: "Log one trade in this many (1 = all); other events are always logged", default: 1, required: false },
  ],
  events: ["Trade", "Ticker", "BookSnapshot", "KlineSummary", "InstrumentUpdate", "BalanceUpdate", "ExecReport", "RiskControl", "Extension"],
};

// Config values arrive untouched (YAML/JSON types, or strings from a web form): coerce here.
const toInt = (value, fallback) => {
  const n = Math.floor(Number(value));
  return Number.isFinite(n) && n >= 1 ? n : fallback;
};
const toText = (value, fallback) => String(value ?? fallback).trim() || fallback;

// camelCase (gateway after 2025-11-07) first, then snake_case (before).
const pick = (payload, camel, snake) => payload?.[camel] ?? payload?.[snake];
const show = (value) => (value === undefined || value === null || value === "" ? "-" : String(value));
const level = (levels) => (Array.isArray(levels) && levels.length > 0 ? `${show(levels[0]?.price)}x${show(levels[0]?.quantity)}` : "-");

function create(env) {
  const config = env.config ?? {};
  const prefix = toText(config.prefix, "[logging]");
  const tradeEvery = toInt(config.trade_every, 1);
  const log = (...parts) => env.helpers.log(prefix, ...parts);
  let trades = 0;

  function execReport(label, payload, reason) {
    const filled = pick(payload, "filledQuantity", "filled_quantity");
    const fee = pick(payload, "commissionAmount", "commission_amount");
    const parts = [
      `exec ${label} ${show(payload?.side)} ${show(pick(payload, "orderType", "order_type"))}`,
      `id=${show(pick(payload, "clientOrderId", "client_order_id"))}`,
      `filled=${show(filled)}/${show(payload?.quantity)} remaining=${show(pick(payload, "remainingQty", "remaining_qty"))}`,
      `price=${show(payload?.price)} avg=${show(pick(payload, "avgFillPrice", "avg_fill_price"))}`,
      `fee=${show(fee)} ${show(pick(payload, "commissionAsset", "commission_asset"))}`,
    ];
    if (reason !== undefined) parts.push(`reason=${show(reason || pick(payload, "rejectReason", "reject_reason"))}`);
    log(...parts);
  }

  return {
    onTrade(ctx, evt, payload, price) {
      trades += 1;
      if ((trades - 1) % tradeEvery !== 0) return;
      log(
        `trade ${show(evt?.symbol)} ${show(payload?.side)} ${show(payload?.quantity)} @ ${show(price)}`,
        `id=${show(pick(payload, "tradeId", "trade_id"))} at=${show(payload?.timestamp)} (#${trades})`,
      );
    },
    onTicker(ctx, evt, payload) {
      log(
        `ticker ${show(evt?.symbol)} last=${show(pick(payload, "lastPrice", "last_price"))}`,
        `bid=${show(pick(payload, "bidPrice", "bid_price"))} ask=${show(pick(payload, "askPrice", "ask_price"))}`,
        `volume24h=${show(pick(payload, "volume24h", "volume_24h"))} at=${show(payload?.timestamp)}`,
      );
    },
    onBookSnapshot(ctx, evt, payload) {
      const bids = payload?.bids;
      const asks = payload?.asks;
      log(
        `book ${show(evt?.symbol)} best bid=${level(bids)} ask=${level(asks)}`,
        `depth=${Array.isArray(bids) ? bids.length : 0}/${Array.isArray(asks) ? asks.length : 0}`,
        `updates=${show(pick(payload, "firstUpdateId", "first_update_id"))}..${show(pick(payload, "finalUpdateId", "final_update_id"))}`,
        `at=${show(pick(payload, "lastUpdate", "last_update"))}`,
      );
    },
    onKlineSummary(ctx, evt, payload) {
      log(
        `kline ${show(evt?.symbol)} o=${show(pick(payload, "openPrice", "open_price"))}`,
        `h=${show(pick(payload, "highPrice", "high_price"))} l=${show(pick(payload, "lowPrice", "low_price"))}`,
        `c=${show(pick(payload, "closePrice", "close_price"))} v=${show(payload?.volume)}`,
        `${show(pick(payload, "openTime", "open_time"))} -> ${show(pick(payload, "closeTime", "close_time"))}`,
      );
    },
    onInstrumentUpdate(ctx, evt, payload) {
      const instrument = payload?.instrument;
      log(
        `instrument ${show(instrument?.symbol)} ${show(instrument?.type)}`,
        `${show(pick(instrument, "baseCurrency", "base_currency"))}/${show(pick(instrument, "quoteCurrency", "quote_currency"))}`,
        `tick=${show(pick(instrument, "priceIncrement", "price_increment"))}`,
        `step=${show(pick(instrument, "quantityIncrement", "quantity_increment"))}`,
        `min_qty=${show(pick(instrument, "minQuantity", "min_quantity"))}`,
      );
    },
    onBalanceUpdate(ctx, evt, payload) {
      log(
        `balance ${show(payload?.currency ?? evt?.symbol)} total=${show(payload?.total)}`,
        `available=${show(payload?.available)} at=${show(payload?.timestamp)}`,
      );
    },
    onOrderAcknowledged(ctx, evt, payload) {
      execReport("ACK", payload);
    },
    onOrderPartialFill(ctx, evt, payload) {
      execReport("PARTIAL", payload);
    },
    onOrderFilled(ctx, evt, payload) {
      execReport("FILLED", payload);
    },
    onOrderCancelled(ctx, evt, payload) {
      execReport("CANCELLED", payload);
    },
    onOrderRejected(ctx, evt, payload, reason) {
      execReport("REJECTED", payload, reason);
    },
    onOrderExpired(ctx, evt, payload) {
      execReport("EXPIRED", payload);
    },
    onRiskControl(ctx, evt, payload) {
      log(
        `risk ${show(payload?.status)} ${show(pick(payload, "breachType", "breach_type"))}`,
        `strategy=${show(pick(payload, "strategyId", "strategy_id"))} ${show(payload?.provider)} ${show(payload?.symbol)}`,
        `kill_switch=${show(pick(payload, "killSwitchEngaged", "kill_switch_engaged"))}`,
        `circuit_breaker=${show(pick(payload, "circuitBreakerOpen", "circuit_breaker_open"))}`,
        `reason=${show(payload?.reason)}`,
      );
    },
    onExtensionEvent(ctx, evt, payload) {
      let body;
      try {
        body = JSON.stringify(payload);
      } catch (err) {
        body = `<unprintable: ${(err && err.message) || err}>`;
      }
      log(`extension ${show(evt?.symbol)} ${show(body)}`);
    },
  };
}

module.exports = { metadata: METADATA, create };
