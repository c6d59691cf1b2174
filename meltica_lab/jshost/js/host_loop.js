// host_loop.js — the event loop and the host API that Python drives (ARCHITECTURE decisions 1, 2).
//
// Python fills the chunk columns (typed arrays allocated here once, shared through memoryviews)
// and calls runChunk(n): per event the loop delivers due exec reports, moves the clock, updates
// the market, lets the exchange fill resting orders, builds fresh payloads, calls the strategy's
// handler, delivers the reports that handler caused, and stores the equity after the event in the
// `equity` output column (Python copies it out after each chunk). Event kinds: 0 Trade
// (v0 price, v1 quantity), 1 Ticker (v0 last, v1 bid, v2 ask, v3 bid size, v4 ask size),
// 2 KlineSummary (v0 open, v1 high, v2 low, v3 close, v4 volume, v5 bar length in ms).
// Every handler is called for every event it has a method for (as the reference backtester did;
// metadata.events is not used to filter).
M.loop = (function () {
  const { clock, format, journal, market, ledger, exchange, env, Table } = M;
  const { trade, ticker, kline, envelope } = M.events;
  // Handler codes and report states from the schema Python reads too (jshost/js/schema.json).
  const HANDLERS = M.schema.handlers;
  const CODE = {};
  HANDLERS.forEach((name, code) => {
    if (name !== "") CODE[name] = code;
  });
  Object.freeze(CODE);
  const REPORT_HANDLER = M.schema.orderStates.map((state) => CODE[M.schema.reportHandlers[state]]);
  const SIDES = ["Buy", "Sell"];
  // control[0]: the handler running now (an index into HANDLERS). Python reads it through shared
  // memory after a time or heap limit stopped the isolate, when nothing can be evaluated any more.
  let control = new Int32Array(2);
  let inputs = null;
  let settings = null;
  let strategy = {};
  let context = null;
  let events = 0;
  // Strategy code can reach the host API; calling back into the loop from a handler would
  // re-enter it (compat §8 W6), so the loop refuses.
  let busy = false;

  function enter(what) {
    if (busy) throw new Error(`${what} called while the host is running a handler`);
    busy = true;
  }

  // The chunk columns and the control word share one buffer, laid out as M.schema.chunkColumns
  // says (each column 8-byte aligned): Python gets all of it through one memoryview.
  const TYPES = { Float64: Float64Array, Int32: Int32Array };
  const align = (bytes) => Math.ceil(bytes / 8) * 8;
  function bufferBytes(n) {
    let size = 8;
    for (const [, type] of M.schema.chunkColumns) size += align(n * TYPES[type].BYTES_PER_ELEMENT);
    return size;
  }

  function chunkViews(n, buffer) {
    const columns = {};
    let offset = 0;
    for (const [name, type] of M.schema.chunkColumns) {
      columns[name] = new TYPES[type](buffer, offset, n);
      offset += align(n * TYPES[type].BYTES_PER_ELEMENT);
    }
    return { n, columns, control: new Int32Array(buffer, offset, 2), bytes: new Uint8Array(buffer) };
  }

  // The columns made ahead (in an isolate made before the run that takes it: Python's
  // Isolate.ready), every page of their buffer written once. A new ArrayBuffer's pages are mapped at
  // first write: Python's first fill of the chunk columns then took a page fault per 4 KiB (about
  // 1,350 for 65,536 events, 3 ms of a 100k-trade run). A run of as many events a chunk takes them
  // as they are; one of fewer lays its own columns out from the start of their buffer.
  let reserved = null;
  function reserve(n) {
    reserved = chunkViews(n, new ArrayBuffer(bufferBytes(n)));
    reserved.bytes.fill(0);
  }

  function allocate(n) {
    const made = reserved;
    reserved = null;
    let shared;
    if (made !== null && made.n === n) shared = made;
    else if (made !== null && made.bytes.byteLength >= bufferBytes(n)) shared = chunkViews(n, made.bytes.buffer);
    else shared = chunkViews(n, new ArrayBuffer(bufferBytes(n)));
    control = shared.control;
    return shared;
  }

  // Returns the shared buffer of the chunk columns and the control word.
  function init(options) {
    settings = options;
    const shared = allocate(options.chunkSize);
    inputs = shared.columns;
    clock.seed(options.seedLow, options.seedHigh);
    clock.set(options.startMs, options.startRem);
    journal.configure(options);
    ledger.configure(options.capital);
    exchange.configure(options);
    context = Object.freeze({ instanceId: options.instanceId });
    addTables(options.symbols, options.dataProviders);
    market.state.active = options.activeSymbol;
    return shared.bytes;
  }

  function addTables(symbols, providers) {
    market.addSymbols(symbols);
    market.addProviders(providers);
    ledger.addSymbols(market.symbols.length);
    exchange.addSymbols(market.symbols.length);
  }

  // Whether the strategy has something under a handler's name: payloads are only built for those.
  function implemented(code) {
    const method = strategy[HANDLERS[code]];
    return method !== undefined && method !== null;
  }

  // Call one handler with `this` = the handler object; a throw is recorded and the run goes on.
  // Missing handlers are skipped silently (callers check `implemented` first).
  function call(code, evt, payload, extra, withExtra) {
    const name = HANDLERS[code];
    const method = strategy[name];
    if (typeof method !== "function") {
      journal.error(name, `method "${name}" not callable`);
      return;
    }
    control[0] = code;
    try {
      if (withExtra) method.call(strategy, context, evt, payload, extra);
      else method.call(strategy, context, evt, payload);
    } catch (error) {
      journal.error(name, format.thrown(error));
    }
    control[0] = 0;
  }

  // Evaluate the module and create the instance; throws on failure.
  function load(source, config, tag) {
    const exported = env.evaluate(source);
    const environment = env.build(config, exported.metadata, tag, settings);
    control[0] = CODE.create;
    let created;
    try {
      created = exported.create.call(undefined, environment);
    } catch (error) {
      throw new Error(`create failed: ${format.thrown(error)}`, { cause: error });
    } finally {
      control[0] = 0;
    }
    if (created === null || created === undefined || typeof created !== "object") {
      journal.error("create", `create returned ${created === null ? "null" : typeof created}; the strategy has no handlers`);
      created = {};
    }
    strategy = created;
    // Read once, as the gateway does; a backtest replays every provider anyway.
    const wants = strategy.wantsCrossProviderEvents;
    if (typeof wants === "function") {
      control[0] = CODE.wantsCrossProviderEvents;
      try {
        wants.call(strategy);
      } catch (error) {
        journal.error(HANDLERS[CODE.wantsCrossProviderEvents], format.thrown(error));
      }
      control[0] = 0;
    }
    format.checkReportable();
  }

  function deliver(report) {
    const order = report.order;
    if (before(clock.now.ms, clock.now.rem, report.dueMs, report.dueRem)) clock.set(report.dueMs, report.dueRem);
    market.state.active = order.symbol;
    const code = REPORT_HANDLER[report.state];
    if (!implemented(code)) return;
    const time = format.iso(clock.now.ms, clock.now.rem);
    const payload = exchange.payload(report, time);
    const evt = envelope(order.provider, market.symbols[order.symbol], "ExecReport", time, payload);
    call(code, evt, payload, report.reason ?? "", code === CODE.onOrderRejected);
  }

  function before(aMs, aRem, bMs, bRem) {
    return aMs < bMs || (aMs === bMs && aRem < bRem);
  }

  function deliverDue(ms, rem) {
    for (let report = exchange.nextDue(ms, rem); report !== null; report = exchange.nextDue(ms, rem)) {
      deliver(report);
    }
  }

  // Fresh payload and event objects per call: strategies may keep references to them. Each kind
  // has its own call site, so that V8 sees one handler at each and can inline it.
  function dispatch(i, kind, ms, rem, v0) {
    const I = inputs;
    const provider = market.providers[I.provider[i]];
    const symbol = market.symbols[I.symbol[i]];
    if (kind === 0) {
      const method = strategy.onTrade;
      if (method === undefined || method === null) return;
      const time = format.iso(ms, rem);
      const payload = trade(SIDES[I.side[i]], v0, I.v1[i], time);
      const evt = envelope(provider, symbol, "Trade", time, payload);
      if (typeof method !== "function") return notCallable(CODE.onTrade);
      control[0] = CODE.onTrade;
      try {
        method.call(strategy, context, evt, payload, v0);
      } catch (error) {
        journal.error("onTrade", format.thrown(error));
      }
    } else if (kind === 1) {
      const method = strategy.onTicker;
      if (method === undefined || method === null) return;
      const time = format.iso(ms, rem);
      const payload = ticker(v0, I.v1[i], I.v2[i], time);
      const evt = envelope(provider, symbol, "Ticker", time, payload);
      if (typeof method !== "function") return notCallable(CODE.onTicker);
      control[0] = CODE.onTicker;
      try {
        method.call(strategy, context, evt, payload);
      } catch (error) {
        journal.error("onTicker", format.thrown(error));
      }
    } else {
      const method = strategy.onKlineSummary;
      if (method === undefined || method === null) return;
      const time = format.iso(ms, rem);
      const length = I.v5[i];
      const openTime = length > 0 ? format.iso(ms - length, rem) : time;
      const payload = kline(v0, I.v1[i], I.v2[i], I.v3[i], I.v4[i], openTime, time);
      const evt = envelope(provider, symbol, "KlineSummary", time, payload);
      if (typeof method !== "function") return notCallable(CODE.onKlineSummary);
      control[0] = CODE.onKlineSummary;
      try {
        method.call(strategy, context, evt, payload);
      } catch (error) {
        journal.error("onKlineSummary", format.thrown(error));
      }
    }
    control[0] = 0;
  }

  function notCallable(code) {
    journal.error(HANDLERS[code], `method "${HANDLERS[code]}" not callable`);
  }

  function runChunk(n) {
    enter("runChunk");
    try {
      loop(n);
    } finally {
      busy = false;
    }
    events += n;
    return events;
  }

  function loop(n) {
    const I = inputs;
    const bare = settings.bare;
    for (let i = 0; i < n; i++) {
      const ms = I.ms[i];
      const rem = I.rem[i];
      const kind = I.kind[i];
      const symbol = I.symbol[i];
      const v0 = I.v0[i];
      if (!bare && exchange.pending() > 0) deliverDue(ms, rem);
      clock.set(ms, rem);
      clock.now.seq = events + i;
      market.state.active = symbol;
      const mark = market.update(kind, symbol, v0, I.v1[i], I.v2[i], I.v3[i]);
      if (!bare) {
        ledger.setMark(symbol, mark);
        if (exchange.hasOpen(symbol)) {
          exchange.match(kind, symbol, market.providers[I.provider[i]], v0, I.v1[i], I.v2[i], I.v3[i], I.v4[i]);
          deliverDue(ms, rem);
          market.state.active = symbol;
        }
      }
      dispatch(i, kind, ms, rem, v0);
      if (!bare) {
        if (exchange.pending() > 0) deliverDue(ms, rem);
        I.equity[i] = ledger.value();
      }
    }
  }

  // End of data: deliver what is still queued (the clock moves to each report's time), expire open
  // orders, and deliver those reports too; orders submitted from now on are rejected.
  function finish() {
    enter("finish");
    try {
      deliverDue(Infinity, 0);
      exchange.expireAll();
      deliverDue(Infinity, 0);
    } finally {
      busy = false;
    }
    return events;
  }

  // Both result tables in one array, the fills rows first: one call from Python for both. The
  // first value is the number of fills rows.
  function tables() {
    const fills = exchange.fills;
    const orders = exchange.orderTable();
    const nf = fills.rows * fills.width;
    const out = new Table.Float64Array(1 + nf + orders.rows * orders.width);
    out[0] = fills.rows;
    fills.copyInto(out, 1);
    orders.copyInto(out, 1 + nf);
    return out;
  }

  function summary() {
    return format.json({
      events,
      clock: [clock.now.ms, clock.now.rem],
      ledger: ledger.snapshot(),
      orders: exchange.counts,
      journal: journal.snapshot(),
      symbols: market.symbols,
      orderProviders: exchange.providerNames,
      reasons: exchange.reasons,
    });
  }

    // What this host writes, as it uses it: a test holds it against what Python decodes.
  function layout() {
    return format.json({
      handlers: HANDLERS,
      states: exchange.STATES,
      reportHandlers: REPORT_HANDLER.map((code) => HANDLERS[code]),
      fills: exchange.fills.width,
      orders: exchange.orderTable().width,
    });
  }

  return { init, addTables, load, reserve, runChunk, finish, tables, summary, layout };
})();

// The host API Python drives, bound to the script-level constant __mlabHost (see
// meltica_lab/jshost/scripts.py); strategy code can reach it but only to disturb its own run.
M.entry = Object.freeze({
  init: M.loop.init,
  addTables: M.loop.addTables,
  load: M.loop.load,
  prepare: M.env.prepare,
  reserve: M.loop.reserve,
  runChunk: M.loop.runChunk,
  finish: M.loop.finish,
  tables: M.loop.tables,
  summary: M.loop.summary,
  layout: M.loop.layout,
});
