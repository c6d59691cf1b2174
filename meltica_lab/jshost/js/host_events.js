// host_events.js — the event and payload objects handed to the market-event handlers.
//
// A strategy sees what the gateway sends (compat §2.5): every field under its snake_case name and
// its camelCase alias, decimals and times as strings. In the gateway these are goja host objects
// whose fields are own enumerable properties, so Object.keys, spread, Object.assign, for-in and
// JSON.stringify all see every field, in the JSON order. Objects built by literals use define
// semantics: a setter a strategy put on Object.prototype is not called. Callers format an event's
// time once: its payload's timestamp and its three times are it.
//
// Market payloads format their decimals only when something reads them. Turning two float64s into
// decimal text costs more than a typical onTrade (on 1M trades the host ran at 0.30 of the ceiling
// with the text made for every event, 0.6 without), and most strategies take the price from the
// handler's number argument. Such a payload is a Proxy over a plain object that holds every field in
// its place, the decimals as "" until formatted. Reading a decimal field formats them all into the
// target once; a write, a delete, a definition or a descriptor formats them first and then acts on
// the target; keys, `in` and the prototype come from the target, whose keys are final from the
// start. From outside it is an ordinary object with own enumerable data properties.
//
// What a Proxy costs is looking at the whole object: spread, Object.keys and JSON.stringify go
// through a descriptor per field, several microseconds a payload. So a run whose strategy does that
// (LOOKS descriptors asked for) gets plain objects with eager decimals from then on: the same values,
// the plain object's speed. Rejected designs, measured: own accessors per object (13x slower, they
// leave V8's fast path); accessors on a shared prototype (they hide the fields from Object.keys and
// spread, unlike the gateway).
M.events = (function () {
  const { format } = M;
  const { decimal } = format;
  // Captured before any strategy code runs: a strategy may replace Proxy or Reflect.
  const RealProxy = Proxy;
  const { get, set, defineProperty, deleteProperty, getOwnPropertyDescriptor } = Reflect;
  const LOOKS = 64;
  let looks = 0;

  const decimalOrEmpty = (x) => (x > 0 ? decimal(x) : "");

  // Whether reading `key` needs a payload's decimals (`kind` 0 Trade, 1 Ticker, 2 KlineSummary).
  function decimalKey(kind, key) {
    if (kind === 0) return key === "price" || key === "quantity";
    if (kind === 1) {
      return (
        key === "last_price" ||
        key === "lastPrice" ||
        key === "bid_price" ||
        key === "bidPrice" ||
        key === "ask_price" ||
        key === "askPrice"
      );
    }
    return (
      key === "open_price" ||
      key === "openPrice" ||
      key === "close_price" ||
      key === "closePrice" ||
      key === "high_price" ||
      key === "highPrice" ||
      key === "low_price" ||
      key === "lowPrice" ||
      key === "volume"
    );
  }

  // The text of each kind's decimals, written into a payload's target.
  function tradeText(target, price, quantity) {
    target.price = decimal(price);
    target.quantity = decimal(quantity);
  }

  function tickerText(target, last, bid, ask) {
    target.last_price = target.lastPrice = decimalOrEmpty(last);
    target.bid_price = target.bidPrice = decimalOrEmpty(bid);
    target.ask_price = target.askPrice = decimalOrEmpty(ask);
  }

  function klineText(target, open, high, low, close, volume) {
    target.open_price = target.openPrice = decimal(open);
    target.close_price = target.closePrice = decimal(close);
    target.high_price = target.highPrice = decimal(high);
    target.low_price = target.lowPrice = decimal(low);
    target.volume = volume >= 0 ? decimal(volume) : "";
  }

  // The handler of one lazy payload: its raw numbers by kind (Trade: price, quantity; Ticker: last,
  // bid, ask; KlineSummary: open, high, low, close, volume), and the traps, shared on the
  // prototype. `raw` is true until the numbers are written into the target as text.
  class Decimals {
    constructor(kind, a, b, c, d, e) {
      this.raw = true;
      this.kind = kind;
      this.a = a;
      this.b = b;
      this.c = c;
      this.d = d;
      this.e = e;
    }

    format(target) {
      this.raw = false;
      const { a, b, c, d, e } = this;
      if (this.kind === 0) tradeText(target, a, b);
      else if (this.kind === 1) tickerText(target, a, b, c);
      else klineText(target, a, b, c, d, e);
    }

    get(target, key, receiver) {
      if (this.raw && decimalKey(this.kind, key)) this.format(target);
      return get(target, key, receiver);
    }

    set(target, key, value, receiver) {
      if (this.raw) this.format(target);
      return set(target, key, value, receiver);
    }

    defineProperty(target, key, descriptor) {
      if (this.raw) this.format(target);
      return defineProperty(target, key, descriptor);
    }

    deleteProperty(target, key) {
      if (this.raw) this.format(target);
      return deleteProperty(target, key);
    }

    getOwnPropertyDescriptor(target, key) {
      looks++;
      if (this.raw) this.format(target);
      return getOwnPropertyDescriptor(target, key);
    }
  }
  Object.freeze(Decimals.prototype);

  // Until the strategy has looked at whole payloads, a payload is a lazy Proxy over its target;
  // after that the target itself with its decimals written: a plain object, as fast as one.
  const lazy = () => looks < LOOKS;

  function trade(side, price, quantity, time) {
    const target = { trade_id: "", tradeId: "", side, price: "", quantity: "", timestamp: time };
    if (lazy()) return new RealProxy(target, new Decimals(0, price, quantity, 0, 0, 0));
    tradeText(target, price, quantity);
    return target;
  }

  function ticker(last, bid, ask, time) {
    const target = {
      last_price: "",
      lastPrice: "",
      bid_price: "",
      bidPrice: "",
      ask_price: "",
      askPrice: "",
      volume_24h: "",
      volume24h: "",
      timestamp: time,
    };
    if (lazy()) return new RealProxy(target, new Decimals(1, last, bid, ask, 0, 0));
    tickerText(target, last, bid, ask);
    return target;
  }

  // Bars: open, high, low, close, volume (negative: none), the bar's open and close times.
  function kline(open, high, low, close, volume, openTime, closeTime) {
    const target = {
      open_price: "",
      openPrice: "",
      close_price: "",
      closePrice: "",
      high_price: "",
      highPrice: "",
      low_price: "",
      lowPrice: "",
      volume: "",
      open_time: openTime,
      openTime,
      close_time: closeTime,
      closeTime,
    };
    if (lazy()) return new RealProxy(target, new Decimals(2, open, high, low, close, volume));
    klineText(target, open, high, low, close, volume);
    return target;
  }

  // The envelope of an event (market or exec report); its three times are the event's time.
  function envelope(provider, symbol, type, time, payload) {
    return {
      event_id: "",
      eventId: "",
      routing_version: 0,
      routingVersion: 0,
      provider,
      symbol,
      type,
      seq_provider: 0,
      seqProvider: 0,
      ingest_ts: time,
      ingestTs: time,
      emit_ts: time,
      emitTs: time,
      payload,
    };
  }

  return Object.freeze({ trade, ticker, kline, envelope });
})();
