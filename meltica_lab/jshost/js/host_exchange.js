// host_exchange.js — the simulated exchange: order validation, resting orders, fills against the
// replayed market, fees, and the queue of exec reports (compat §8 W1, W5-W9, W17).
//
// Fill rules (event kinds: 0 Trade, 1 Ticker, 2 KlineSummary). An order can fill only on events of
// its symbol and provider at or after its eligible time = submission time + latency; the event that
// was being handled when it was submitted never fills it.
//   Market order: fills at the reference price adjusted by slippage, buy × (1 + bps/1e4), sell
//     × (1 − bps/1e4). Reference: the trade price; for quotes the best ask (buy) or best bid (sell);
//     for bars the open. Taker fee.
//   Limit order: rests until the market trades through it. Trigger: the trade price; for quotes
//     the ask (buy) or bid (sell); for bars the low (buy) or high (sell). "through" (default) needs
//     trigger < limit for a buy, > limit for a sell; "touch" accepts equality. Fill price: the limit
//     price; with price improvement, the better of the limit and the trade price (quote: ask/bid;
//     bar: open). Maker fee, no slippage.
//   Partial fills (option): each event's traded quantity (trade quantity, quote size on the side
//     taken, bar volume) is a budget shared by the orders it fills, in price-time priority (market
//     orders first); without the option an order fills completely on its first triggering event.
//   Books: per symbol, market orders in submission order, buy limits by price descending and sell
//     limits by price ascending (ties in submission order), so an event only looks at the limits
//     it crosses, however many rest.
//   Fees: quantity × price × rate, in the quote currency; commission_amount reports the cumulative
//     fee, commission_asset the symbol's quote currency.
//   Resting orders (and market orders that never met a price) expire at the end of the data.
M.exchange = (function () {
  const { floor, max, min } = M.math;
  const { clock, format, ledger, market, Table } = M;
  // Order states, table layouts: from the schema the Python decoder reads (jshost/js/schema.json).
  const STATES = M.schema.orderStates;
  const STATE = columnsOf(STATES);
  const FILL = columnsOf(M.schema.fillColumns);
  const ORDER = columnsOf(M.schema.orderColumns);
  const orders = [];
  const books = [];
  const reports = [];
  let reportHead = 0;
  // one row per fill (FILL): time (ms, ns remainder), event index, order index, symbol, side,
  // quantity, price, fee, maker (1) or taker (0), position after the fill
  const fills = new Table(M.schema.fillColumns.length, 1024);
  const reasons = [];
  const reasonIndex = new Map();
  const providerNames = [];
  const providerIndex = new Map();
  const counts = { submitted: 0, rejected: 0, expired: 0 };
  let settings = null;
  let finished = false;

  // name -> position, frozen: V8 reads these as constants
  function columnsOf(names) {
    const index = {};
    names.forEach((name, k) => {
      index[name] = k;
    });
    return Object.freeze(index);
  }

  function configure(options) {
    settings = options;
  }

  function addSymbols(count) {
    while (books.length < count) books.push({ market: [], bids: [], asks: [] });
  }

  function intern(map, list, text) {
    let index = map.get(text);
    if (index === undefined) {
      index = list.length;
      list.push(text);
      map.set(text, index);
    }
    return index;
  }

  function later(ms, rem, latencyNs) {
    const total = rem + latencyNs;
    const carry = floor(total / 1000000);
    return [ms + carry, total - carry * 1000000];
  }

  function before(aMs, aRem, bMs, bRem) {
    return aMs < bMs || (aMs === bMs && aRem < bRem);
  }

  // Rounded to 15 significant digits so that sums like 0.1 + 0.2 read "0.3" in reports; short
  // texts are already exact, and most values are short.
  function decimalText(x) {
    const text = String(x);
    if (text.length < 16 && text.indexOf("e") < 0) return text;
    return format.decimal(Number(x.toPrecision(15)));
  }

  function reject(order) {
    if (finished) return "backtest data ended";
    if (!settings.providers.includes(order.provider)) {
      return `order provider "${order.provider}" not configured for lambda ${settings.instanceId}`;
    }
    if (!(order.quantity > 0 && order.quantity < Infinity)) {
      return `invalid quantity "${order.quantityText}": expected a number > 0`;
    }
    if (order.type === 1) {
      if (order.priceText === "") return "limit order requires price";
      if (!(order.limit > 0 && order.limit < Infinity)) {
        return `invalid price "${order.priceText}": expected a number > 0`;
      }
    }
    return "";
  }

  // type: 0 market, 1 limit; side: +1 buy, -1 sell; quantity and price as the strategy gave them.
  function submit(type, provider, side, quantityText, priceText) {
    const now = clock.now;
    const counter = orders.length;
    const order = {
      index: counter,
      id: `${settings.instanceId}-${format.nanosText(now.ms, now.rem)}-${counter}`,
      type,
      provider,
      providerIndex: intern(providerIndex, providerNames, provider),
      symbol: market.state.active,
      side,
      quantityText,
      quantity: quantityText.trim() === "" ? NaN : Number(quantityText),
      priceText,
      limit: type === 1 && priceText !== "" ? Number(priceText) : NaN,
      submitMs: now.ms,
      submitRem: now.rem,
      eligibleMs: 0,
      eligibleRem: 0,
      filled: 0,
      notional: 0,
      fees: 0,
      state: 0,
      lastMs: now.ms,
      lastRem: now.rem,
      reason: -1,
    };
    orders.push(order);
    counts.submitted++;
    const [dueMs, dueRem] = later(now.ms, now.rem, settings.latencyNs);
    const why = reject(order);
    if (why !== "") {
      order.reason = intern(reasonIndex, reasons, why);
      counts.rejected++;
      queue(order, STATE.REJECTED, dueMs, dueRem, why);
      return order;
    }
    order.eligibleMs = dueMs;
    order.eligibleRem = dueRem;
    rest(books[order.symbol], order);
    queue(order, STATE.ACK, dueMs, dueRem, null);
    return order;
  }

  // A report freezes the order's numbers at the time it is made; it is delivered when the clock
  // reaches `due`, after the handler that caused it has returned (never re-entrantly).
  function queue(order, state, dueMs, dueRem, reason) {
    order.state = state;
    order.lastMs = dueMs;
    order.lastRem = dueRem;
    const report = {
      order,
      state,
      dueMs,
      dueRem,
      filled: order.filled,
      notional: order.notional,
      fees: order.fees,
      reason,
    };
    let k = reports.length;
    reports.push(report);
    while (k > reportHead && before(dueMs, dueRem, reports[k - 1].dueMs, reports[k - 1].dueRem)) {
      reports[k] = reports[k - 1];
      k--;
    }
    reports[k] = report;
  }

  // The next report due at or before (ms, rem), removed from the queue; null if none is due.
  function nextDue(ms, rem) {
    if (reportHead === reports.length) return null;
    const head = reports[reportHead];
    if (before(ms, rem, head.dueMs, head.dueRem)) return null;
    reports[reportHead++] = undefined;
    if (reportHead === reports.length) {
      reports.length = 0;
      reportHead = 0;
    }
    return head;
  }

  function pending() {
    return reports.length - reportHead;
  }

  function payload(report, timestamp) {
    const order = report.order;
    const filled = report.filled;
    const average = filled > 0 ? decimalText(report.notional / filled) : "0";
    const remaining = order.quantity > 0 ? decimalText(max(order.quantity - filled, 0)) : "0";
    const state = STATES[report.state];
    const side = order.side > 0 ? "Buy" : "Sell";
    const type = order.type === 1 ? "Limit" : "Market";
    const price = order.type === 1 ? order.priceText : filled > 0 ? average : "";
    const filledText = decimalText(filled);
    const commission = decimalText(report.fees);
    const asset = market.quotes[order.symbol];
    const exchangeId = `sim-${order.index}`;
    return {
      client_order_id: order.id,
      clientOrderId: order.id,
      exchange_order_id: exchangeId,
      exchangeOrderId: exchangeId,
      state,
      side,
      order_type: type,
      orderType: type,
      price,
      quantity: order.quantityText,
      filled_quantity: filledText,
      filledQuantity: filledText,
      remaining_qty: remaining,
      remainingQty: remaining,
      avg_fill_price: average,
      avgFillPrice: average,
      commission_amount: commission,
      commissionAmount: commission,
      commission_asset: asset,
      commissionAsset: asset,
      timestamp,
      reject_reason: report.reason,
      rejectReason: report.reason,
    };
  }

  function fill(order, quantity, price, maker) {
    const now = clock.now;
    const fee = quantity * price * (maker ? settings.makerFee : settings.takerFee);
    order.filled += quantity;
    order.notional += quantity * price;
    order.fees += fee;
    let left = order.quantity - order.filled;
    if (left <= 1e-12 * order.quantity) {
      order.filled = order.quantity;
      left = 0;
    }
    ledger.fill(order.symbol, order.side, quantity, price, fee);
    const o = fills.append();
    const d = fills.data;
    d[o + FILL.ms] = now.ms;
    d[o + FILL.rem] = now.rem;
    d[o + FILL.event] = now.seq;
    d[o + FILL.order] = order.index;
    d[o + FILL.symbol] = order.symbol;
    d[o + FILL.side] = order.side;
    d[o + FILL.quantity] = quantity;
    d[o + FILL.price] = price;
    d[o + FILL.fee] = fee;
    d[o + FILL.maker] = maker ? 1 : 0;
    d[o + FILL.position] = ledger.position[order.symbol];
    queue(order, left > 0 ? STATE.PARTIAL : STATE.FILLED, now.ms, now.rem, null);
    return left === 0;
  }

  // Insert a limit order after every order with a better or equal price (time priority on ties).
  function rest(book, order) {
    if (order.type === 0) {
      book.market.push(order);
      return;
    }
    const buy = order.side > 0;
    const side = buy ? book.bids : book.asks;
    let lo = 0;
    let hi = side.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = side[mid].limit;
      if (buy ? other >= order.limit : other <= order.limit) lo = mid + 1;
      else hi = mid;
    }
    side.splice(lo, 0, order);
  }

  // Fill what this market event allows; v0..v4 are the event's value columns (see host_loop.js).
  function match(kind, symbol, provider, v0, v1, v2, v3, v4) {
    const book = books[symbol];
    // Partial fills share the event's quantity: one pool for a trade or a bar, one per side of a quote.
    const pools = [Infinity, Infinity];
    if (settings.partialFills) {
      if (kind === 1) {
        if (v4 > 0) pools[0] = v4;
        if (v3 > 0) pools[1] = v3;
      } else if (kind === 0) pools[0] = v1;
      else if (v4 > 0) pools[0] = v4;
    }
    if (book.market.length > 0) matchSide(book.market, false, kind, provider, pools, v0, v1, v2);
    if (book.bids.length > 0) matchSide(book.bids, true, kind, provider, pools, v0, v1, v2);
    if (book.asks.length > 0) matchSide(book.asks, true, kind, provider, pools, v0, v1, v2);
  }

  // Walk one list in priority order; a sorted limit list stops at the first limit not crossed.
  function matchSide(list, sorted, kind, provider, pools, v0, v1, v2) {
    const now = clock.now;
    let kept = 0;
    let k = 0;
    for (; k < list.length; k++) {
      const order = list[k];
      const buy = order.side > 0;
      let price;
      if (kind === 0) price = fillPrice(order, buy, v0, v0, v0);
      else if (kind === 1) price = fillPrice(order, buy, buy ? v2 : v1, buy ? v2 : v1, buy ? v2 : v1);
      else price = fillPrice(order, buy, v0, buy ? v2 : v1, v0);
      if (sorted && !(price > 0)) break;
      list[kept++] = order;
      if (!(price > 0)) continue;
      if (order.provider !== provider || before(now.ms, now.rem, order.eligibleMs, order.eligibleRem)) continue;
      const pool = kind === 1 && !buy ? 1 : 0;
      if (!(pools[pool] > 0)) continue;
      const quantity = min(order.quantity - order.filled, pools[pool]);
      pools[pool] -= quantity;
      if (fill(order, quantity, price, order.type === 1)) kept--;
    }
    if (kept === k) return;
    for (; k < list.length; k++) list[kept++] = list[k];
    list.length = kept;
  }

  // market: reference price ± slippage; limit: the limit (or the better improving price) if the
  // trigger trades through (or touches) it; NaN when the order does not fill on this event.
  function fillPrice(order, buy, reference, trigger, improving) {
    if (order.type === 0) {
      if (!(reference > 0)) return NaN;
      const slip = settings.slippageBps / 10000;
      return buy ? reference * (1 + slip) : reference * (1 - slip);
    }
    if (!(trigger > 0)) return NaN;
    const limit = order.limit;
    const through = settings.touch ? (buy ? trigger <= limit : trigger >= limit) : buy ? trigger < limit : trigger > limit;
    if (!through) return NaN;
    if (!settings.priceImprovement || !(improving > 0)) return limit;
    return buy ? min(limit, improving) : max(limit, improving);
  }

  // End of data: later submissions are rejected, open orders expire now (in submission order).
  function expireAll() {
    finished = true;
    const now = clock.now;
    const open = [];
    for (const book of books) {
      for (const list of [book.market, book.bids, book.asks]) {
        for (const order of list) open.push(order);
        list.length = 0;
      }
    }
    open.sort((a, b) => a.index - b.index);
    for (const order of open) {
      counts.expired++;
      queue(order, STATE.EXPIRED, now.ms, now.rem, null);
    }
  }

  // one row per order (ORDER): submission time (ms, ns remainder), index, symbol, provider index,
  // side, type, quantity, limit price, state, filled, average price, fees, last update, reason
  function orderTable() {
    const table = new Table(M.schema.orderColumns.length, max(orders.length, 1));
    for (const order of orders) {
      const o = table.append();
      const d = table.data;
      d[o + ORDER.ms] = order.submitMs;
      d[o + ORDER.rem] = order.submitRem;
      d[o + ORDER.index] = order.index;
      d[o + ORDER.symbol] = order.symbol;
      d[o + ORDER.provider] = order.providerIndex;
      d[o + ORDER.side] = order.side;
      d[o + ORDER.type] = order.type;
      d[o + ORDER.quantity] = order.quantity;
      d[o + ORDER.limit] = order.limit;
      d[o + ORDER.state] = order.state;
      d[o + ORDER.filled] = order.filled;
      d[o + ORDER.avg_price] = order.filled > 0 ? order.notional / order.filled : NaN;
      d[o + ORDER.fees] = order.fees;
      d[o + ORDER.last_ms] = order.lastMs;
      d[o + ORDER.last_rem] = order.lastRem;
      d[o + ORDER.reason] = order.reason;
    }
    return table;
  }

  function hasOpen(symbol) {
    const book = books[symbol];
    return book.market.length > 0 || book.bids.length > 0 || book.asks.length > 0;
  }

  return {
    STATES,
    fills,
    reasons,
    providerNames,
    counts,
    configure,
    addSymbols,
    submit,
    nextDue,
    pending,
    payload,
    match,
    hasOpen,
    expireAll,
    orderTable,
  };
})();
