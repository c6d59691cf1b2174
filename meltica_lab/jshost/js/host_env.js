// host_env.js — module evaluation and the `env` handed to `create(env)`, as compat §1.1-1.7 describe
// it: config, metadata, events, helpers {log, sleep} and the ten runtime helpers with the gateway's
// argument rules and error texts. Differences, all deliberate (ARCHITECTURE, compat §8): trading is
// active, dry-run is off unless config.dry_run is true, orders reach the simulated exchange, prices
// come from the replayed market, sleep never sleeps, and seeds that are not numbers use the
// simulation clock instead of the wall clock.
M.env = (function () {
  const { abs, trunc } = M.math;
  const { clock, format, journal, market, exchange } = M;

  // A module compiled ahead, in an isolate made before the run that takes it (Python's
  // Isolate.ready): compiling runs none of its code, so the run that brings the same text runs this
  // one as if it had compiled it itself. A text that does not compile is left to that run to report.
  let prepared = null;
  function prepare(source) {
    try {
      prepared = { source, compiled: M.commonjs.compile(source) };
    } catch {
      prepared = null;
    }
  }

  // Evaluate the CommonJS source with the one evaluator module inspection uses (commonjs.js).
  function evaluate(source) {
    const ahead = prepared !== null && prepared.source === source ? prepared.compiled : null;
    prepared = null;
    const exported = M.commonjs.run(ahead ?? M.commonjs.compile(source)).exports;
    if (exported === null || (typeof exported !== "object" && typeof exported !== "function")) {
      throw new Error("module.exports is not an object");
    }
    if (exported.metadata === undefined || exported.metadata === null) throw new Error("metadata export missing");
    if (typeof exported.create !== "function") throw new Error("create failed: strategy function missing");
    return exported;
  }

  // A Go string parameter: JS ToString, with undefined and null as "" (compat §1.6).
  function goString(value) {
    return value === undefined || value === null ? "" : String(value);
  }

  // env.metadata: the module's metadata with the registry's tag when it declares none, under both
  // the old key `version` and the new key `tag`.
  function metadataView(metadata, tag) {
    const declared = goString(metadata.tag ?? metadata.version).trim();
    const fields = Array.isArray(metadata.config) ? metadata.config : [];
    const events = Array.isArray(metadata.events) ? metadata.events.map(goString) : [];
    return {
      name: goString(metadata.name).trim().toLowerCase(),
      version: declared || tag,
      tag: declared || tag,
      displayName: goString(metadata.displayName),
      description: goString(metadata.description),
      config: fields.map((field) => ({
        name: goString(field?.name),
        type: goString(field?.type),
        description: goString(field?.description),
        default: field?.default ?? null,
        required: Boolean(field?.required),
      })),
      events,
    };
  }

  const SIDES = { buy: 1, long: 1, bid: 1, sell: -1, short: -1, ask: -1 };

  function parseSide(value) {
    if (typeof value === "string" || value instanceof String) {
      const side = SIDES[String(value).trim().toLowerCase()];
      if (side !== undefined) return side;
    } else if (typeof value === "number") {
      if (value >= 0) return 1;
      if (value < 0) return -1;
    }
    throw new Error(`invalid trade side ${format.goValue(value, 0, { left: 256 })}`);
  }

  function goTypeName(value) {
    if (typeof value === "boolean") return "bool";
    if (typeof value === "function") return "func(goja.FunctionCall) goja.Value";
    if (Array.isArray(value)) return "[]interface {}";
    if (typeof value === "bigint") return "*big.Int";
    if (typeof value === "symbol") return "goja.Symbol";
    return "map[string]interface {}";
  }

  // submitOrder's price: "" for none; strings trimmed and passed verbatim; numbers as decimal text.
  function normalisePrice(value) {
    if (value === undefined || value === null) return "";
    if (typeof value === "string" || value instanceof String) return String(value).trim();
    if (typeof value === "number") return format.decimal(value);
    throw new Error(`unsupported price type ${goTypeName(value)}`);
  }

  const INTEGER = /^[+-]?\d+$/;
  const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  // selectProvider's seed as a non-negative integer, or null for "use the clock".
  function seedValue(seed) {
    let number = null;
    if (typeof seed === "number") number = seed;
    else if (typeof seed === "string" && (INTEGER.test(seed) || FLOAT.test(seed))) number = Number(seed);
    if (number === null) return null;
    return Number.isFinite(number) ? trunc(abs(number)) : 0;
  }

  function build(config, metadata, tag, settings) {
    const view = metadataView(metadata, tag);
    const providers = settings.providers;

    function submit(type, provider, side, size, price) {
      const sideValue = parseSide(side);
      let name = goString(provider).trim();
      if (name === "") {
        if (providers.length === 0) throw new Error("provider required");
        name = providers[0];
      }
      const priceText = type === 1 ? normalisePrice(price) : "";
      const quantity = goString(size);
      if (settings.bare) return;
      if (settings.dryRun) {
        const sideName = sideValue > 0 ? "Buy" : "Sell";
        const prefix = `[${settings.instanceId}] dry-run: skip submit`;
        journal.write(
          type === 1
            ? `${prefix} order provider=${name} side=${sideName} qty=${quantity} price=${priceText || "market"}`
            : `${prefix} market order provider=${name} side=${sideName} qty=${quantity}`,
        );
        return;
      }
      exchange.submit(type, name, sideValue, quantity, priceText);
    }

    const runtime = {
      isTradingActive() {
        return true;
      },
      isDryRun() {
        return settings.dryRun;
      },
      providers() {
        return providers.slice();
      },
      selectProvider(seed) {
        if (providers.length === 0) throw new Error("no providers configured");
        const value = seedValue(seed);
        if (value === null) {
          const nanos = BigInt(clock.now.ms) * 1000000n + BigInt(clock.now.rem);
          return providers[Number(nanos % BigInt(providers.length))];
        }
        return providers[value % providers.length];
      },
      submitMarketOrder(provider, side, size) {
        submit(0, provider, side, size, undefined);
      },
      submitOrder(provider, side, size, price) {
        submit(1, provider, side, size, price);
      },
      getMarketState() {
        return market.view(market.state.active);
      },
      getBidPrice() {
        return market.bid[market.state.active];
      },
      getAskPrice() {
        return market.ask[market.state.active];
      },
      getLastPrice() {
        return market.last[market.state.active];
      },
    };

    return {
      config: Object.assign({}, config),
      metadata: view,
      events: view.events.slice(),
      helpers: {
        log(...args) {
          journal.log(args);
        },
        sleep() {},
      },
      runtime,
    };
  }

  return { prepare, evaluate, build };
})();
