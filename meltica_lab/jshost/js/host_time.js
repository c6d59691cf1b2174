// host_time.js — inside the sandbox the time zone is UTC and every clock reads the simulation clock.
//
// Part of the strategy host (see host_clock.js, which this follows). V8 takes the host's time zone
// from the process (TZ, /etc/localtime), so local-time Date methods, `new Date(y, m, d)`, Date.parse
// of a string without a zone, Date#toString and Intl's default zone would all differ between
// machines: the same hash, data and seed gave 90 orders under TZ=UTC and 55 under Asia/Kolkata.
// Here each of them is answered in UTC, whatever the host's zone. And the clocks a strategy could
// read besides Date.now (`Intl.DateTimeFormat().format()` with no date, Temporal.Now, performance.now)
// read the simulation clock, so a run does not depend on when it runs.
M.time = (function () {
  const RealDate = M.clock.RealDate;
  const now = M.clock.now;
  const proto = RealDate.prototype;
  const define = (target, name, value) =>
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  const original = (name) => proto[name];
  const realOffset = original("getTimezoneOffset"); // the host's zone: only to undo its reading

  // Local-time getters and setters are their UTC twins.
  for (const part of ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"]) {
    define(proto, "get" + part, original("getUTC" + part));
    if (part !== "Day") define(proto, "set" + part, original("setUTC" + part));
  }
  define(proto, "getTimezoneOffset", function getTimezoneOffset() {
    return Number.isNaN(this.valueOf()) ? NaN : 0;
  });
  const getUTCFullYear = original("getUTCFullYear");
  const setUTCFullYear = original("setUTCFullYear");
  define(proto, "getYear", function getYear() {
    return getUTCFullYear.call(this) - 1900;
  });
  define(proto, "setYear", function setYear(year) {
    const y = Number(year);
    return setUTCFullYear.call(this, y >= 0 && y <= 99 ? 1900 + Math.trunc(y) : y);
  });

  // Text forms: as V8 writes them in the UTC zone ("Tue Nov 14 2023 22:13:20 GMT+0000 (...)").
  const ZONE = "GMT+0000 (Coordinated Universal Time)";
  const toUTCString = original("toUTCString");
  const valid = (date) => !Number.isNaN(date.valueOf());
  function dateText(date) {
    // "Tue, 14 Nov 2023 22:13:20 GMT" -> "Tue Nov 14 2023"
    const [weekday, day, month, year] = toUTCString.call(date).replace(",", "").split(" ");
    return `${weekday} ${month} ${day} ${year}`;
  }
  function timeText(date) {
    return `${toUTCString.call(date).split(" ")[4]} ${ZONE}`;
  }
  define(proto, "toString", function toString() {
    return valid(this) ? `${dateText(this)} ${timeText(this)}` : "Invalid Date";
  });
  define(proto, "toDateString", function toDateString() {
    return valid(this) ? dateText(this) : "Invalid Date";
  });
  define(proto, "toTimeString", function toTimeString() {
    return valid(this) ? timeText(this) : "Invalid Date";
  });

  // Intl: UTC unless a zone is asked for; format() without a date formats the simulation time.
  function inUTC(options) {
    if (options === undefined) return { timeZone: "UTC" };
    const given = Object(options);
    return given.timeZone === undefined ? { ...given, timeZone: "UTC" } : given;
  }
  for (const name of ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]) {
    const real = original(name);
    define(proto, name, function (locales, options) {
      return real.call(this, locales, inUTC(options));
    });
  }
  const RealFormat = Intl.DateTimeFormat;
  const formatGetter = Object.getOwnPropertyDescriptor(RealFormat.prototype, "format").get;
  const formatToParts = RealFormat.prototype.formatToParts;
  function DateTimeFormat(locales, options) {
    return Reflect.construct(RealFormat, [locales, inUTC(options)], new.target || DateTimeFormat);
  }
  DateTimeFormat.prototype = RealFormat.prototype;
  define(DateTimeFormat, "supportedLocalesOf", RealFormat.supportedLocalesOf);
  define(RealFormat.prototype, "constructor", DateTimeFormat);
  Object.defineProperty(RealFormat.prototype, "format", {
    configurable: true,
    enumerable: false,
    get() {
      const bound = formatGetter.call(this);
      return (date) => bound(date === undefined ? now.ms : date);
    },
  });
  define(RealFormat.prototype, "formatToParts", function (date) {
    return formatToParts.call(this, date === undefined ? now.ms : date);
  });
  define(Intl, "DateTimeFormat", DateTimeFormat);

  // The Date constructor and Date.parse read times without a zone as UTC (host_clock.js's SimDate
  // asks these two for every form that names a time).
  const realParse = RealDate.parse;
  const realUTC = RealDate.UTC;
  function parse(text) {
    const string = String(text);
    const local = realParse(string);
    if (Number.isNaN(local)) return local;
    const offset = realOffset.call(new RealDate(local)) * 60000;
    if (offset === 0) return local;
    // A string without a zone was read in the host's zone: read with "Z" it lands `offset` away,
    // which a string that names its zone (or a date-only ISO form, already UTC) never does.
    for (const suffix of ["Z", " UTC"]) {
      const utc = realParse(string + suffix);
      if (utc === local - offset) return utc;
    }
    return local;
  }
  function fromParts(args) {
    return realUTC(...args.map(Number));
  }

  // Temporal (when the engine has it): the simulation instant, in UTC unless a zone is given.
  const { Temporal, performance } = globalThis;
  if (typeof Temporal === "object" && Temporal !== null && Temporal.Now) {
    const Instant = Temporal.Instant;
    const instant = () => Instant.fromEpochNanoseconds(BigInt(now.ms) * 1000000n + BigInt(now.rem));
    const zoned = (zone) => instant().toZonedDateTimeISO(zone === undefined ? "UTC" : zone);
    define(Temporal, "Now", {
      instant,
      timeZoneId: () => "UTC",
      zonedDateTimeISO: zoned,
      plainDateTimeISO: (zone) => zoned(zone).toPlainDateTime(),
      plainDateISO: (zone) => zoned(zone).toPlainDate(),
      plainTimeISO: (zone) => zoned(zone).toPlainTime(),
    });
  }
  if (typeof performance === "object" && performance !== null) {
    define(performance, "now", () => now.ms + now.rem / 1e6);
  }

  return { parse, fromParts };
})();
