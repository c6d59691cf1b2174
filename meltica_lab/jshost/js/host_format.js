// host_format.js — text forms the gateway uses: ISO-8601 times, decimal strings, Go's fmt.Sprint.
M.format = (function () {
  const { abs, floor } = M.math;
  const RealDate = M.clock.RealDate;
  // Captured before any strategy code runs: a strategy may replace JSON.stringify, and the host's
  // reports to Python must not go through its replacement.
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const ObjectProto = Object.prototype;
  const ArrayProto = Array.prototype;
  const getProto = Object.getPrototypeOf;

  // Every host object inherits from Object.prototype or Array.prototype, so a toJSON a strategy
  // put there would forge the host's reports: refuse instead, as soon as it can be seen (once the
  // module has run, and at every report).
  function checkReportable() {
    if (getProto(ArrayProto) !== ObjectProto || "toJSON" in ArrayProto) {
      throw new Error("the strategy changed Object.prototype or Array.prototype (toJSON), which the host reports with");
    }
  }

  // JSON text of a host value for Python.
  function json(value) {
    checkReportable();
    return stringify(value);
  }

  // ISO-8601 UTC with the gateway's RFC3339Nano fraction (up to 9 digits, trailing zeros dropped).
  // Formatting a Date costs more than a whole handler call, and consecutive events mostly share
  // their second, so "YYYY-MM-DDTHH:MM:SS" is cached (and its minute), the milliseconds come from a
  // table, and a time asked for twice in a row (an event and the reports it causes) is made once.
  // One concatenation per event: V8 keeps it a cheap rope until it is read.
  const SECONDS = [];
  for (let k = 0; k < 60; k++) SECONDS.push(String(100 + k).slice(1));
  // ".mmmZ" with trailing zeros dropped, by millisecond: the end of a time without nanoseconds.
  // Made without a regular expression: each isolate makes the table (in the one made ahead of a
  // run, while the run goes on), and 999 replaces took 0.9 against 0.6 ms in a fresh isolate.
  const MILLIS_Z = ["Z"];
  for (let k = 1; k < 1000; k++) {
    const digits = String(1000 + k).slice(1);
    MILLIS_Z.push("." + digits.slice(0, k % 100 === 0 ? 1 : k % 10 === 0 ? 2 : 3) + "Z");
  }
  let minuteStart = NaN;
  let minutePrefix = "";
  let secondStart = NaN;
  let secondPrefix = "";
  let lastMs = NaN;
  let lastRem = NaN;
  let lastText = "";
  function iso(ms, rem) {
    if (ms === lastMs && rem === lastRem) return lastText;
    let offset = ms - secondStart;
    if (!(offset >= 0 && offset < 1000)) {
      let inMinute = ms - minuteStart;
      if (!(inMinute >= 0 && inMinute < 60000)) {
        minuteStart = ms - (((ms % 60000) + 60000) % 60000);
        minutePrefix = new RealDate(minuteStart).toISOString().slice(0, 17);
        inMinute = ms - minuteStart;
      }
      const second = floor(inMinute / 1000);
      secondStart = minuteStart + second * 1000;
      secondPrefix = minutePrefix + SECONDS[second];
      offset = ms - secondStart;
    }
    lastMs = ms;
    lastRem = rem;
    if (rem === 0) {
      lastText = secondPrefix + MILLIS_Z[offset];
      return lastText;
    }
    let fraction = String(1000000000 + offset * 1000000 + rem).slice(1);
    let end = fraction.length;
    while (fraction.charCodeAt(end - 1) === 48) end--;
    if (end !== fraction.length) fraction = fraction.slice(0, end);
    lastText = secondPrefix + "." + fraction + "Z";
    return lastText;
  }

  // The int64 nanosecond count of a (ms, rem) pair, as decimal text (exact, unlike ms * 1e6).
  function nanosText(ms, rem) {
    if (ms === 0) return String(rem);
    return String(ms) + String(1000000 + rem).slice(1);
  }

  // A number as decimal text without an exponent: Go's FormatFloat(v, 'f', -1, 64).
  function decimal(x) {
    const text = String(x);
    if (text.indexOf("e") < 0) return text;
    if (Number.isInteger(x)) return BigInt(x).toString();
    const [mantissa, expText] = text.split("e");
    const exp = Number(expText);
    const negative = mantissa[0] === "-";
    const digits = mantissa.replace("-", "").replace(".", "");
    const point = mantissa.replace("-", "").indexOf(".");
    const intLength = (point < 0 ? digits.length : point) + exp;
    let out;
    if (intLength <= 0) out = "0." + "0".repeat(-intLength) + digits;
    else if (intLength >= digits.length) out = digits + "0".repeat(intLength - digits.length);
    else out = digits.slice(0, intLength) + "." + digits.slice(intLength);
    return negative ? "-" + out : out;
  }

  // Go's %v for a float64 (strconv 'g', shortest): %e form when the exponent is < -4 or >= 6
  // (Go uses precision 6 for that decision when the digits are the shortest); integral values in
  // int64 range print as integers because goja exports them as int64.
  function goFloat(x) {
    if (Number.isNaN(x)) return "NaN";
    if (x === Infinity) return "+Inf";
    if (x === -Infinity) return "-Inf";
    if (Number.isInteger(x) && abs(x) < 9223372036854775808) return x === 0 ? "0" : String(x);
    const [mantissa, expText] = x.toExponential().split("e");
    const exp = Number(expText);
    if (exp < -4 || exp >= 6) {
      const magnitude = String(abs(exp)).padStart(2, "0");
      return mantissa + "e" + (exp < 0 ? "-" : "+") + magnitude;
    }
    return decimal(x);
  }

  // Go's default time.Time format, in UTC: "2023-01-01 00:00:00.5 +0000 UTC".
  function goTime(date) {
    const t = date.getTime();
    if (Number.isNaN(t)) return "<invalid time>";
    const iso_ = new RealDate(t).toISOString();
    let fraction = iso_.slice(20, 23).replace(/0+$/, "");
    fraction = fraction ? "." + fraction : "";
    return `${iso_.slice(0, 10)} ${iso_.slice(11, 19)}${fraction} +0000 UTC`;
  }

  // fmt.Sprint of one argument after goja's export to Go: strings as-is, integers as integers,
  // other numbers in Go float form, null/undefined as <nil>, arrays as [a b], objects as
  // map[k:v] with sorted keys, Dates as time.Time. `budget` bounds the text produced so that a
  // strategy logging an enormous structure cannot stall the run.
  function goValue(value, depth, budget) {
    if (budget.left <= 0) return "";
    let out;
    if (value === undefined || value === null) out = "<nil>";
    else if (typeof value === "string") out = value;
    else if (typeof value === "number") out = goFloat(value);
    else if (typeof value === "boolean") out = value ? "true" : "false";
    else if (typeof value === "bigint") out = value.toString();
    else if (typeof value === "symbol") out = value.toString();
    else if (typeof value === "function") out = "<func>";
    else if (value instanceof String || value instanceof Number || value instanceof Boolean) {
      out = goValue(value.valueOf(), depth, budget);
    } else if (value instanceof RealDate) out = goTime(value);
    else if (depth >= 8) out = "...";
    else if (Array.isArray(value)) {
      const parts = [];
      for (let i = 0; i < value.length && budget.left > 0; i++) parts.push(goValue(value[i], depth + 1, budget));
      out = "[" + parts.join(" ") + "]";
    } else {
      const parts = [];
      for (const key of Object.keys(value).sort()) {
        if (budget.left <= 0) break;
        parts.push(key + ":" + goValue(value[key], depth + 1, budget));
      }
      out = "map[" + parts.join(" ") + "]";
    }
    budget.left -= out.length;
    return out;
  }

  function sprint(args, maxLength) {
    const budget = { left: maxLength };
    const parts = [];
    for (let i = 0; i < args.length; i++) parts.push(goValue(args[i], 0, budget));
    const line = parts.join(" ");
    return line.length > maxLength ? line.slice(0, maxLength) + "…" : line;
  }

  // A copy of `text` that shares no memory with the string it was cut from. V8 keeps a substring as
  // a view of its parent, so a capped log line cut from a huge string would keep all of it alive.
  function detached(text) {
    return parse(stringify(text));
  }

  // The text of a thrown value, whatever it is: Errors as "Name: message", objects as JSON,
  // primitives through String(), and a fixed text when even that throws (a hostile toString).
  function thrown(error) {
    try {
      if (error instanceof Error) return `${error.name}: ${error.message}`;
      if (error !== null && typeof error === "object") {
        const text = stringify(error);
        if (text !== undefined) return text;
      }
      return String(error);
    } catch (_) {
      return "(unprintable thrown value)";
    }
  }

  return { iso, nanosText, decimal, goFloat, sprint, goValue, thrown, json, checkReportable, detached };
})();
