// host_clock.js — the simulation clock, and deterministic Date and Math.random (ARCHITECTURE decision 5).
//
// Part of the strategy host: the Python side concatenates the host_*.js files inside one function that
// provides `M`, the host's private namespace. Strategy code never sees `M`.
//
// Time is kept as a pair: whole milliseconds since the epoch (a float64, exact up to 2^53) and the
// nanosecond remainder in [0, 1e6). An int64 nanosecond count does not fit a float64; the pair does.
// The Math functions the host uses, captured before any strategy code runs: a strategy that replaces
// Math.floor breaks its own arithmetic, not the host's.
M.math = Object.freeze({
  abs: Math.abs,
  floor: Math.floor,
  imul: Math.imul,
  max: Math.max,
  min: Math.min,
  sign: Math.sign,
  trunc: Math.trunc,
});

M.clock = (function () {
  const { imul } = M.math;
  const RealDate = Date;
  // `seq` is the index of the market event being processed (fills record it), -1 before the first.
  const now = { ms: 0, rem: 0, seq: -1 };

  function set(ms, rem) {
    now.ms = ms;
    now.rem = rem;
  }

  // `Date()` called as a function returns a string in every engine; `new Date()` with no argument and
  // `Date.now()` read the simulation clock; a date string or a date's parts are read in UTC, never in
  // the host's zone (M.time, host_time.js); every other form behaves as the real Date.
  function SimDate(...args) {
    if (new.target === undefined) return new RealDate(now.ms).toString();
    let value = args;
    if (args.length === 0) value = [now.ms];
    else if (args.length === 1 && typeof args[0] === "string") value = [M.time.parse(args[0])];
    else if (args.length > 1) value = [M.time.fromParts(args)];
    return Reflect.construct(RealDate, value, new.target);
  }
  Object.defineProperty(SimDate, "length", { value: 7 });
  SimDate.prototype = RealDate.prototype;
  SimDate.now = function now_() {
    return now.ms;
  };
  SimDate.parse = function parse(text) {
    return M.time.parse(text);
  };
  SimDate.UTC = RealDate.UTC;
  Object.defineProperty(RealDate.prototype, "constructor", {
    value: SimDate,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  globalThis.Date = SimDate;

  // sfc32, seeded through splitmix32 from the two 32-bit halves of the run's seed: small, fast and
  // good enough for strategy jitter; the point is that the same seed gives the same sequence.
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  function splitmix32(x) {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = imul(z ^ (z >>> 16), 0x85ebca6b);
    z = imul(z ^ (z >>> 13), 0xc2b2ae35);
    return [x, (z ^ (z >>> 16)) >>> 0];
  }
  function seed(lo, hi) {
    let s = lo | 0;
    const out = [];
    for (let i = 0; i < 4; i++) {
      const [next, value] = splitmix32(s ^ (i === 1 ? hi | 0 : 0));
      s = next;
      out.push(value);
    }
    [a, b, c, d] = out;
    // discard the first outputs: sfc32 mixes its state over the first dozen rounds
    for (let i = 0; i < 12; i++) random();
  }
  function random() {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  Math.random = function random_() {
    return random();
  };

  return { RealDate, now, set, seed };
})();
