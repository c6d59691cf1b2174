// Independent oracle for the example strategies: runs one strategy module under Node's `vm`, the way
// the Meltica gateway hosts it, and reports what happened as JSON on stdout.
//
// Input (JSON on stdin):
//   { file, expect: { name?, tag? }, scenarios: [ { label, series, config, configFrom?, ticker?,
//     tradingActive, hostDryRun, spelling, rejectFirstOrder? } ] }
// Output: { metadata, problems, scenarios: { <label>: { orders, logs, errors, problems,
//   fills, maxAbsPosition, finalPosition } } }; each order is { kind, side, qty, price, step,
//   lastTrade } (step: index of the trade being handled, lastTrade: last primary-symbol price).
//
// The module is evaluated in strict mode in a context holding only `module`, `exports` and a no-op
// `console`. Every scenario gets a fresh context (module code runs once per instance in the gateway).
// The env follows the documented contract: helpers {log, sleep}; runtime {isTradingActive, isDryRun,
// providers, selectProvider, submitMarketOrder, submitOrder, getMarketState, getBidPrice,
// getAskPrice, getLastPrice}, unattached (zeros, throwing order helpers) while `create` runs. A small
// exchange fills market orders at the next trade and limit orders when a later trade reaches their
// price, reporting ACK, then PARTIAL (half) and FILLED as exec reports after the handler returns.
// Date.now() is the simulation clock, as in a meltica-lab backtest.

"use strict";

const fs = require("node:fs");
const vm = require("node:vm");

const EVENT_TYPES = ["Trade", "Ticker", "BookSnapshot", "ExecReport", "KlineSummary", "InstrumentUpdate", "BalanceUpdate", "RiskControl", "Extension"];
const CONFIG_TYPES = ["int", "float", "string", "bool", "duration"];
const PROVIDER = "sim";
const START_MS = Date.UTC(2024, 0, 1);
const STEP_MS = 1_000;
const DECIMAL = /^\d+(\.\d+)?$/;
const EXEC_HANDLERS = {
  ACK: "onOrderAcknowledged",
  PARTIAL: "onOrderPartialFill",
  FILLED: "onOrderFilled",
  CANCELLED: "onOrderCancelled",
  REJECTED: "onOrderRejected",
  EXPIRED: "onOrderExpired",
};

// ---------------------------------------------------------------------------------------------
// Deterministic synthetic markets.

function gaussians(seed) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

// Up 0.1% per trade for 200 trades, then down as fast, with small noise.
function trendSeries() {
  const noise = gaussians(7);
  const out = [];
  let price = 100;
  for (let i = 0; i < 400; i += 1) {
    price *= 1 + (i < 200 ? 0.001 : -0.001) + 0.0002 * noise();
    out.push({ symbol: "BTC-USDT", price });
  }
  return out;
}

// Ornstein-Uhlenbeck log price around 100: stationary std ~1.3%, half-life ~14 trades.
function oscillatingSeries() {
  const noise = gaussians(11);
  const out = [];
  let x = 0;
  for (let i = 0; i < 600; i += 1) {
    x += -0.05 * x + 0.004 * noise();
    out.push({ symbol: "BTC-USDT", price: 100 * Math.exp(x) });
  }
  return out;
}

// Two legs: ETH follows a random walk, BTC = 20 x ETH x a mean-reverting spread; trades alternate.
function pairsSeries() {
  const noise = gaussians(23);
  const out = [];
  let walk = 0;
  let spread = 0;
  for (let i = 0; i < 600; i += 1) {
    walk += 0.002 * noise();
    spread += -0.05 * spread + 0.004 * noise();
    const eth = 50 * Math.exp(walk);
    out.push({ symbol: "BTC-USDT", price: 20 * eth * Math.exp(spread) });
    out.push({ symbol: "ETH-USDT", price: eth });
  }
  return out;
}

const SERIES = { trend: trendSeries, oscillate: oscillatingSeries, pairs: pairsSeries };

// ---------------------------------------------------------------------------------------------
// Payloads: built from [snake, camel, value] triples so a scenario can offer both spellings (as
// meltica-lab does) or only one (the gateway before / after its 2025-11-07 rename).

function shape(spelling, triples) {
  const out = {};
  for (const [snake, camel, value] of triples) {
    if (spelling !== "camel") out[snake] = value;
    if (spelling !== "snake") out[camel] = value;
  }
  return out;
}

function decimalText(value) {
  return Number(value.toFixed(8)).toString();
}

// ---------------------------------------------------------------------------------------------

function goFormat(value) {
  if (value === undefined || value === null) return "<nil>";
  if (typeof value === "object") {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

function parseSide(value) {
  if (typeof value === "number") return value >= 0 ? "Buy" : "Sell";
  const text = typeof value === "string" || value instanceof String ? String(value).trim().toLowerCase() : null;
  if (text === "buy" || text === "long" || text === "bid") return "Buy";
  if (text === "sell" || text === "short" || text === "ask") return "Sell";
  throw new Error(`invalid trade side ${goFormat(value)}`);
}

function toGoString(value) {
  return value === undefined || value === null ? "" : String(value);
}

function normalisePrice(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value.trim() === "" ? null : value.trim();
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : decimalText(value);
  throw new Error(`unsupported price type ${typeof value}`);
}

function loadModule(file, source) {
  const noop = () => {};
  const sandbox = { module: { exports: {} }, console: { log: noop, error: noop, warn: noop, info: noop } };
  sandbox.exports = sandbox.module.exports;
  const context = vm.createContext(sandbox);
  // Same line numbers as the file: the directive shares the first line.
  vm.runInContext(`"use strict";${source}`, context, { filename: file, timeout: 5_000 });
  return { context, exports: sandbox.module.exports };
}

function checkMetadata(metadata, expect) {
  const problems = [];
  if (!metadata || typeof metadata !== "object") return ["metadata export missing"];
  const name = typeof metadata.name === "string" ? metadata.name.trim().toLowerCase() : "";
  if (!name) problems.push("metadata.name is required");
  if (expect.name !== undefined && name !== expect.name) problems.push(`metadata.name ${JSON.stringify(metadata.name)} != ${JSON.stringify(expect.name)}`);
  if (expect.tag !== undefined && metadata.tag !== expect.tag) problems.push(`metadata.tag ${JSON.stringify(metadata.tag)} != ${JSON.stringify(expect.tag)}`);
  const displayName = typeof metadata.displayName === "string" ? metadata.displayName.trim() : "";
  if (!displayName) problems.push("metadata.displayName is required");
  if ([...displayName].length > 80) problems.push(`metadata.displayName has ${[...displayName].length} characters, at most 80 allowed`);
  if (!Array.isArray(metadata.events) || metadata.events.length === 0) {
    problems.push("metadata.events must be a non-empty array");
  } else {
    for (const event of metadata.events) {
      if (!EVENT_TYPES.includes(event)) problems.push(`metadata.events has unknown event type ${JSON.stringify(event)}`);
    }
  }
  if (metadata.config !== undefined) {
    if (!Array.isArray(metadata.config)) {
      problems.push("metadata.config must be an array");
    } else {
      metadata.config.forEach((field, i) => {
        const where = `metadata.config[${i}]`;
        if (typeof field?.name !== "string" || !field.name.trim()) problems.push(`${where}.name is required`);
        if (!CONFIG_TYPES.includes(field?.type)) problems.push(`${where}.type ${JSON.stringify(field?.type)} is not one of ${CONFIG_TYPES.join("/")}`);
        if (typeof field?.description !== "string") problems.push(`${where}.description must be a string`);
        if (typeof field?.required !== "boolean") problems.push(`${where}.required must be a boolean`);
      });
    }
  }
  return problems;
}

function configFor(scenario, metadata) {
  const config = {};
  for (const field of Array.isArray(metadata.config) ? metadata.config : []) {
    if (scenario.configFrom === "strings" && field.default !== undefined) config[field.name] = String(field.default);
    if (scenario.configFrom === "garbage" && ["int", "float", "duration"].includes(field.type)) config[field.name] = "not-a-value";
  }
  return Object.assign(config, scenario.config);
}

function runScenario(file, source, metadata, scenario) {
  const { context, exports } = loadModule(file, source);
  const spelling = scenario.spelling ?? "both";
  const clock = { now: START_MS };
  vm.runInContext("Date", context).now = () => clock.now;

  const result = { orders: [], logs: [], errors: [], problems: [], fills: 0, maxAbsPosition: 0, finalPosition: 0 };
  const market = { last: 0, bid: 0, ask: 0 };
  const open = [];
  const reports = [];
  let attached = false;
  let position = 0;
  let orderCounter = 0;
  let eventCounter = 0;
  let step = 0;

  const iso = () => new Date(clock.now).toISOString();

  function unattached(name) {
    throw new Error(`lambda unavailable (${name} called from create)`);
  }

  function submit(kind, provider, side, size, price) {
    const wanted = toGoString(provider).trim() || PROVIDER;
    if (wanted !== PROVIDER) throw new Error(`order provider "${wanted}" not configured for lambda test`);
    const parsedSide = parseSide(side);
    const qtyText = toGoString(size).trim();
    const priceText = kind === "limit" ? normalisePrice(price) : null;
    if (scenario.hostDryRun) {
      result.logs.push(`[host] dry-run: skip submit ${kind} order side=${parsedSide} qty=${qtyText}`);
      return undefined;
    }
    const qty = Number(qtyText);
    if (!DECIMAL.test(qtyText) || !(qty > 0)) result.problems.push(`order quantity ${JSON.stringify(qtyText)} is not a positive decimal`);
    if (kind === "limit" && (priceText === null || !DECIMAL.test(priceText) || !(Number(priceText) > 0))) {
      result.problems.push(`limit order price ${JSON.stringify(priceText)} is not a positive decimal`);
    }
    const order = {
      id: `test-${clock.now}-${orderCounter++}`,
      kind,
      side: parsedSide,
      qty,
      qtyText,
      price: priceText === null ? null : Number(priceText),
      priceText,
      filled: 0,
      step,
    };
    result.orders.push({ kind, side: parsedSide, qty: qtyText, price: priceText, step, lastTrade: market.last });
    if (scenario.rejectFirstOrder && orderCounter === 1) {
      reports.push(report(order, "REJECTED", 0, 0, "insufficient balance"));
      return undefined;
    }
    open.push(order);
    reports.push(report(order, "ACK", 0, 0));
    return undefined;
  }

  function report(order, state, filled, avg, rejectReason = null) {
    return shape(spelling, [
      ["client_order_id", "clientOrderId", order.id],
      ["exchange_order_id", "exchangeOrderId", `x-${order.id}`],
      ["state", "state", state],
      ["side", "side", order.side],
      ["order_type", "orderType", order.kind === "limit" ? "Limit" : "Market"],
      ["price", "price", order.priceText ?? (avg ? decimalText(avg) : "")],
      ["quantity", "quantity", order.qtyText],
      ["filled_quantity", "filledQuantity", decimalText(filled)],
      ["remaining_qty", "remainingQty", decimalText(order.qty - filled)],
      ["avg_fill_price", "avgFillPrice", avg ? decimalText(avg) : ""],
      ["commission_amount", "commissionAmount", filled ? decimalText(filled * avg * 0.001) : "0"],
      ["commission_asset", "commissionAsset", "USDT"],
      ["timestamp", "timestamp", iso()],
      ["reject_reason", "rejectReason", rejectReason],
    ]);
  }

  const runtime = {
    isTradingActive: () => attached && scenario.tradingActive,
    isDryRun: () => !attached || scenario.hostDryRun,
    providers: () => (attached ? [PROVIDER] : []),
    selectProvider: () => (attached ? PROVIDER : unattached("selectProvider")),
    submitMarketOrder: (provider, side, size) => (attached ? submit("market", provider, side, size) : unattached("submitMarketOrder")),
    submitOrder: (provider, side, size, price) => (attached ? submit("limit", provider, side, size, price) : unattached("submitOrder")),
    getLastPrice: () => (attached ? market.last : 0),
    getBidPrice: () => (attached ? market.bid : 0),
    getAskPrice: () => (attached ? market.ask : 0),
    getMarketState: () => {
      if (!attached) return {};
      const spread = market.ask - market.bid;
      return { last: market.last, bid: market.bid, ask: market.ask, spread, spreadPct: market.bid > 0 ? (spread / market.bid) * 100 : 0 };
    },
  };
  const helpers = {
    log: (...args) => {
      const line = args.map(goFormat).join(" ");
      if (line) result.logs.push(line);
    },
    sleep: () => undefined,
  };
  const env = {
    config: configFor(scenario, metadata),
    metadata: JSON.parse(JSON.stringify(metadata)),
    events: [...metadata.events],
    helpers,
    runtime,
  };

  let handlers;
  try {
    handlers = exports.create.call(undefined, env);
  } catch (err) {
    result.errors.push({ handler: "create", message: String(err?.stack ?? err) });
    return result;
  }
  if (handlers === null || typeof handlers !== "object") {
    result.errors.push({ handler: "create", message: `create returned ${handlers === null ? "null" : typeof handlers}` });
    return result;
  }
  attached = true;

  function event(type, symbol, payload) {
    eventCounter += 1;
    return shape(spelling, [
      ["event_id", "eventId", `evt-${eventCounter}`],
      ["routing_version", "routingVersion", 1],
      ["provider", "provider", PROVIDER],
      ["symbol", "symbol", symbol],
      ["type", "type", type],
      ["seq_provider", "seqProvider", eventCounter],
      ["ingest_ts", "ingestTs", iso()],
      ["emit_ts", "emitTs", iso()],
      ["payload", "payload", payload],
    ]);
  }

  function call(name, args) {
    const method = handlers[name];
    if (method === undefined || method === null) return;
    if (typeof method !== "function") {
      result.problems.push(`method "${name}" not callable`);
      return;
    }
    try {
      method.apply(handlers, [{ instanceId: "test" }, ...args]);
    } catch (err) {
      result.errors.push({ handler: name, message: String(err?.stack ?? err) });
    }
  }

  function deliverReports(symbol) {
    while (reports.length > 0) {
      const payload = reports.shift();
      const state = payload.state;
      const extra = state === "REJECTED" ? [payload.reject_reason ?? payload.rejectReason ?? ""] : [];
      call(EXEC_HANDLERS[state], [event("ExecReport", symbol, payload), payload, ...extra]);
    }
  }

  function fill(order, price) {
    const half = Number((order.qty / 2).toFixed(8));
    if (half > 0 && half < order.qty) reports.push(report(order, "PARTIAL", half, price));
    reports.push(report(order, "FILLED", order.qty, price));
    const signed = order.side === "Buy" ? order.qty : -order.qty;
    position += signed;
    result.fills += 1;
    result.maxAbsPosition = Math.max(result.maxAbsPosition, Math.abs(position));
  }

  function matchOrders(symbol, price) {
    for (let i = 0; i < open.length; ) {
      const order = open[i];
      const crosses =
        order.step < step &&
        (order.kind === "market" || (order.side === "Buy" ? price <= order.price : price >= order.price));
      if (crosses) {
        fill(order, order.kind === "market" ? price : order.price);
        open.splice(i, 1);
      } else {
        i += 1;
      }
    }
    deliverReports(symbol);
  }

  function trade(symbol, price, side) {
    step += 1;
    clock.now += STEP_MS;
    if (symbol === "BTC-USDT") {
      market.last = price;
      matchOrders(symbol, price);
    }
    const priceText = decimalText(price);
    const payload = shape(spelling, [
      ["trade_id", "tradeId", `t-${step}`],
      ["side", "side", side],
      ["price", "price", priceText],
      ["quantity", "quantity", "0.5"],
      ["timestamp", "timestamp", iso()],
    ]);
    call("onTrade", [event("Trade", symbol, payload), payload, Number(priceText)]);
    deliverReports(symbol);
  }

  function ticker(symbol, price) {
    market.last = price;
    market.bid = price * (1 - 0.0005);
    market.ask = price * (1 + 0.0005);
    const payload = shape(spelling, [
      ["last_price", "lastPrice", decimalText(market.last)],
      ["bid_price", "bidPrice", decimalText(market.bid)],
      ["ask_price", "askPrice", decimalText(market.ask)],
      ["volume_24h", "volume24h", "1234.5"],
      ["timestamp", "timestamp", iso()],
    ]);
    call("onTicker", [event("Ticker", symbol, payload), payload]);
    deliverReports(symbol);
  }

  if (scenario.series === "all-events") {
    everyEventType({ trade, call, event, shape: (triples) => shape(spelling, triples), iso });
  } else {
    let i = 0;
    for (const { symbol, price } of SERIES[scenario.series]()) {
      if (scenario.ticker) ticker(symbol, price);
      trade(symbol, price, i % 3 === 0 ? "Sell" : "Buy");
      i += 1;
    }
  }
  result.finalPosition = position;
  return result;
}

// One event of every type with recognisable values, each exec report state included.
function everyEventType({ trade, call, event, shape, iso }) {
  trade("BTC-USDT", 101.25, "Buy");
  const ticker = shape([
    ["last_price", "lastPrice", "101.5"],
    ["bid_price", "bidPrice", "101.4"],
    ["ask_price", "askPrice", "101.6"],
    ["volume_24h", "volume24h", "9876.5"],
    ["timestamp", "timestamp", iso()],
  ]);
  call("onTicker", [event("Ticker", "BTC-USDT", ticker), ticker]);
  const book = shape([
    ["bids", "bids", [{ price: "101.3", quantity: "2" }, { price: "101.2", quantity: "5" }]],
    ["asks", "asks", [{ price: "101.7", quantity: "3" }]],
    ["checksum", "checksum", 42],
    ["last_update", "lastUpdate", iso()],
    ["first_update_id", "firstUpdateId", 1001],
    ["final_update_id", "finalUpdateId", 1009],
  ]);
  call("onBookSnapshot", [event("BookSnapshot", "BTC-USDT", book), book]);
  const kline = shape([
    ["open_price", "openPrice", "100.1"],
    ["close_price", "closePrice", "101.9"],
    ["high_price", "highPrice", "102.4"],
    ["low_price", "lowPrice", "99.8"],
    ["volume", "volume", "321"],
    ["open_time", "openTime", "2024-01-01T00:00:00Z"],
    ["close_time", "closeTime", "2024-01-01T00:01:00Z"],
  ]);
  call("onKlineSummary", [event("KlineSummary", "BTC-USDT", kline), kline]);
  const instrument = shape([
    ["symbol", "symbol", "BTC-USDT"],
    ["type", "type", "spot"],
    ["base_currency", "baseCurrency", "BTC"],
    ["quote_currency", "quoteCurrency", "USDT"],
    ["price_increment", "priceIncrement", "0.01"],
    ["quantity_increment", "quantityIncrement", "0.0001"],
    ["min_quantity", "minQuantity", "0.0002"],
  ]);
  const instrumentPayload = { instrument };
  call("onInstrumentUpdate", [event("InstrumentUpdate", "BTC-USDT", instrumentPayload), instrumentPayload]);
  const balance = shape([
    ["currency", "currency", "USDT"],
    ["total", "total", "1500.5"],
    ["available", "available", "1200.25"],
    ["timestamp", "timestamp", iso()],
  ]);
  call("onBalanceUpdate", [event("BalanceUpdate", "USDT", balance), balance]);
  for (const [state, handler] of Object.entries(EXEC_HANDLERS)) {
    const exec = shape([
      ["client_order_id", "clientOrderId", `foreign-${state}`],
      ["exchange_order_id", "exchangeOrderId", "x-1"],
      ["state", "state", state],
      ["side", "side", "Sell"],
      ["order_type", "orderType", "Limit"],
      ["price", "price", "101.6"],
      ["quantity", "quantity", "2"],
      ["filled_quantity", "filledQuantity", state === "FILLED" ? "2" : state === "PARTIAL" ? "1" : "0"],
      ["remaining_qty", "remainingQty", state === "FILLED" ? "0" : "2"],
      ["avg_fill_price", "avgFillPrice", state === "FILLED" || state === "PARTIAL" ? "101.6" : ""],
      ["commission_amount", "commissionAmount", "0.2032"],
      ["commission_asset", "commissionAsset", "USDT"],
      ["timestamp", "timestamp", iso()],
      ["reject_reason", "rejectReason", state === "REJECTED" ? "price band" : null],
    ]);
    call(handler, [event("ExecReport", "BTC-USDT", exec), exec, ...(state === "REJECTED" ? ["price band"] : [])]);
  }
  const risk = shape([
    ["strategy_id", "strategyId", "test"],
    ["provider", "provider", PROVIDER],
    ["symbol", "symbol", "BTC-USDT"],
    ["status", "status", "TRIGGERED"],
    ["reason", "reason", "position limit"],
    ["breach_type", "breachType", "POSITION_LIMIT"],
    ["metrics", "metrics", { position: "5" }],
    ["kill_switch_engaged", "killSwitchEngaged", false],
    ["circuit_breaker_open", "circuitBreakerOpen", true],
    ["timestamp", "timestamp", iso()],
  ]);
  call("onRiskControl", [event("RiskControl", "BTC-USDT", risk), risk]);
  const extension = { kind: "funding", rate: 0.0001 };
  call("onExtensionEvent", [event("Extension", "BTC-USDT", extension), extension]);
}

function main() {
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  const source = fs.readFileSync(request.file, "utf8");
  const output = { metadata: null, problems: [], scenarios: {} };
  let loaded;
  try {
    loaded = loadModule(request.file, source);
  } catch (err) {
    output.problems.push(`module evaluation failed: ${err?.stack ?? err}`);
    process.stdout.write(JSON.stringify(output));
    return;
  }
  const { metadata, create } = loaded.exports;
  output.metadata = metadata === undefined ? null : JSON.parse(JSON.stringify(metadata));
  output.problems.push(...checkMetadata(metadata, request.expect ?? {}));
  if (typeof create !== "function") output.problems.push("create export must be a function");
  if (output.problems.length === 0) {
    for (const scenario of request.scenarios) {
      output.scenarios[scenario.label] = runScenario(request.file, source, metadata, scenario);
    }
  }
  process.stdout.write(JSON.stringify(output));
}

main();
