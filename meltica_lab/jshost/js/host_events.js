// host_events.js — the event and payload objects handed to the market-event handlers.
//
// A strategy sees what the gateway sends (compat §2.5): every field under its snake_case name and
// its camelCase alias, decimals and times as strings. Most handlers read one or two fields of a
// trade, if any, and formatting a number as text costs more than a whole handler call, so the
// objects hold the numbers and format a field when it is read. The fields are accessors on a
// shared, frozen prototype: nothing per event but the object itself. They are enumerable (for-in
// lists them), assigning one replaces it with a plain data property as on a plain object, and
// JSON.stringify writes exactly the plain object the host built before (toJSON, same key order).
// What differs from a plain object: Object.keys, spread and Object.assign see only the fields that
// are own properties (the ids, side, type, provider, symbol, payload).
M.events = (function () {
  const { format } = M;
  const define = Object.defineProperty;
  const freeze = Object.freeze;

  // Make the prototype's accessors enumerable, give each a setter that turns it into an own data
  // property, and freeze the prototype: a strategy cannot change what other events look like.
  function seal(Class, names) {
    const proto = Class.prototype;
    for (const name of names) {
      const getter = Object.getOwnPropertyDescriptor(proto, name).get;
      define(proto, name, {
        get: getter,
        set(value) {
          define(this, name, { value, writable: true, enumerable: true, configurable: true });
        },
        enumerable: true,
        configurable: false,
      });
    }
    freeze(proto);
    freeze(Class);
  }

  const decimalOrEmpty = (x) => (x > 0 ? format.decimal(x) : "");

  class TradePayload {
    #price;
    #quantity;
    #ms;
    #rem;
    constructor(side, price, quantity, ms, rem) {
      this.trade_id = "";
      this.side = side;
      this.#price = price;
      this.#quantity = quantity;
      this.#ms = ms;
      this.#rem = rem;
    }
    get tradeId() {
      return this.trade_id;
    }
    get price() {
      return format.decimal(this.#price);
    }
    get quantity() {
      return format.decimal(this.#quantity);
    }
    get timestamp() {
      return format.iso(this.#ms, this.#rem);
    }
    toJSON() {
      const p = this;
      return { trade_id: p.trade_id, tradeId: p.tradeId, side: p.side, price: p.price, quantity: p.quantity, timestamp: p.timestamp };
    }
  }
  seal(TradePayload, ["tradeId", "price", "quantity", "timestamp"]);

  class TickerPayload {
    #last;
    #bid;
    #ask;
    #ms;
    #rem;
    constructor(last, bid, ask, ms, rem) {
      this.#last = last;
      this.#bid = bid;
      this.#ask = ask;
      this.#ms = ms;
      this.#rem = rem;
      this.volume_24h = "";
    }
    get last_price() {
      return decimalOrEmpty(this.#last);
    }
    get lastPrice() {
      return this.last_price;
    }
    get bid_price() {
      return decimalOrEmpty(this.#bid);
    }
    get bidPrice() {
      return this.bid_price;
    }
    get ask_price() {
      return decimalOrEmpty(this.#ask);
    }
    get askPrice() {
      return this.ask_price;
    }
    get volume24h() {
      return this.volume_24h;
    }
    get timestamp() {
      return format.iso(this.#ms, this.#rem);
    }
    toJSON() {
      const p = this;
      return {
        last_price: p.last_price,
        lastPrice: p.lastPrice,
        bid_price: p.bid_price,
        bidPrice: p.bidPrice,
        ask_price: p.ask_price,
        askPrice: p.askPrice,
        volume_24h: p.volume_24h,
        volume24h: p.volume24h,
        timestamp: p.timestamp,
      };
    }
  }
  seal(TickerPayload, ["last_price", "lastPrice", "bid_price", "bidPrice", "ask_price", "askPrice", "volume24h", "timestamp"]);

  // Bars: open, high, low, close, volume (negative: none), bar length in ms (0: unknown).
  class KlinePayload {
    #open;
    #high;
    #low;
    #close;
    #volume;
    #length;
    #ms;
    #rem;
    constructor(open, high, low, close, volume, length, ms, rem) {
      this.#open = open;
      this.#high = high;
      this.#low = low;
      this.#close = close;
      this.#volume = volume;
      this.#length = length;
      this.#ms = ms;
      this.#rem = rem;
    }
    get open_price() {
      return format.decimal(this.#open);
    }
    get openPrice() {
      return this.open_price;
    }
    get close_price() {
      return format.decimal(this.#close);
    }
    get closePrice() {
      return this.close_price;
    }
    get high_price() {
      return format.decimal(this.#high);
    }
    get highPrice() {
      return this.high_price;
    }
    get low_price() {
      return format.decimal(this.#low);
    }
    get lowPrice() {
      return this.low_price;
    }
    get volume() {
      return this.#volume >= 0 ? format.decimal(this.#volume) : "";
    }
    get open_time() {
      return this.#length > 0 ? format.iso(this.#ms - this.#length, this.#rem) : format.iso(this.#ms, this.#rem);
    }
    get openTime() {
      return this.open_time;
    }
    get close_time() {
      return format.iso(this.#ms, this.#rem);
    }
    get closeTime() {
      return this.close_time;
    }
    toJSON() {
      const p = this;
      return {
        open_price: p.open_price,
        openPrice: p.openPrice,
        close_price: p.close_price,
        closePrice: p.closePrice,
        high_price: p.high_price,
        highPrice: p.highPrice,
        low_price: p.low_price,
        lowPrice: p.lowPrice,
        volume: p.volume,
        open_time: p.open_time,
        openTime: p.openTime,
        close_time: p.close_time,
        closeTime: p.closeTime,
      };
    }
  }
  seal(KlinePayload, [
    "open_price",
    "openPrice",
    "close_price",
    "closePrice",
    "high_price",
    "highPrice",
    "low_price",
    "lowPrice",
    "volume",
    "open_time",
    "openTime",
    "close_time",
    "closeTime",
  ]);

  // The envelope of a market event; its three times are the event's time.
  class MarketEvent {
    #ms;
    #rem;
    constructor(provider, symbol, type, ms, rem, payload) {
      this.event_id = "";
      this.routing_version = 0;
      this.provider = provider;
      this.symbol = symbol;
      this.type = type;
      this.seq_provider = 0;
      this.payload = payload;
      this.#ms = ms;
      this.#rem = rem;
    }
    get eventId() {
      return this.event_id;
    }
    get routingVersion() {
      return this.routing_version;
    }
    get seqProvider() {
      return this.seq_provider;
    }
    get ingest_ts() {
      return format.iso(this.#ms, this.#rem);
    }
    get ingestTs() {
      return this.ingest_ts;
    }
    get emit_ts() {
      return format.iso(this.#ms, this.#rem);
    }
    get emitTs() {
      return this.emit_ts;
    }
    toJSON() {
      const e = this;
      return {
        event_id: e.event_id,
        eventId: e.eventId,
        routing_version: e.routing_version,
        routingVersion: e.routingVersion,
        provider: e.provider,
        symbol: e.symbol,
        type: e.type,
        seq_provider: e.seq_provider,
        seqProvider: e.seqProvider,
        ingest_ts: e.ingest_ts,
        ingestTs: e.ingestTs,
        emit_ts: e.emit_ts,
        emitTs: e.emitTs,
        payload: e.payload,
      };
    }
  }
  seal(MarketEvent, ["eventId", "routingVersion", "seqProvider", "ingest_ts", "ingestTs", "emit_ts", "emitTs"]);

  return { TradePayload, TickerPayload, KlinePayload, MarketEvent };
})();
