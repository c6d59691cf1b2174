// module_host.js — module inspection as the gateway does it (meltica_lab/jshost/module.py): M.entry
// evaluates one module's source and returns a JSON report of its exports, metadata and problems.
//
// Installed once per isolate and shared by every module that isolate inspects. Everything it uses
// is captured before any module runs; a module that changes the globals or the built-in prototypes
// cannot mislead the next one, because each call first checks those objects against the state
// recorded at install (the Python side replaces a changed isolate).
M.entry = (function () {
  // Captured before any module runs: whatever a module later does to the globals, these stay.
  const g = globalThis;
  const FunctionCtor = Function;
  const apply = Reflect.apply;
  const ownKeys = Reflect.ownKeys;
  const getDescriptor = Reflect.getOwnPropertyDescriptor;
  const getProto = Reflect.getPrototypeOf;
  const isExtensible = Reflect.isExtensible;
  const hasOwn = Object.hasOwn;
  const objectKeys = Object.keys;
  const same = Object.is;
  const freeze = Object.freeze;
  const isArray = Array.isArray;
  const isError = Error.isError;
  const quote = JSON.stringify; // only ever given strings and numbers, which have no toJSON
  const toText = String; // only ever given primitives
  const ObjectProto = Object.prototype;
  const ArrayProto = Array.prototype;
  const FunctionProto = FunctionCtor.prototype;
  const MAX_DEPTH = 32;
  const noop = freeze(() => {});
  const { compile, run } = M.commonjs;

  // The objects whose integrity is checked: Object.prototype first, because the check reads
  // descriptor fields that an accessor descriptor inherits from it; then the global object, every
  // object a global holds and its prototype, and the built-in prototypes no global names.
  const watched = [];
  const seen = new Set();
  const watch = (o) => {
    if (o !== null && (typeof o === "object" || typeof o === "function") && !seen.has(o)) {
      seen.add(o);
      watched.push(o);
    }
  };
  watch(ObjectProto);
  watch(g);
  for (const key of ownKeys(g)) {
    const d = getDescriptor(g, key);
    const v = hasOwn(d, "value") ? d.value : null;
    if (v === null || (typeof v !== "object" && typeof v !== "function")) continue;
    watch(v);
    const p = getDescriptor(v, "prototype");
    if (p !== undefined && hasOwn(p, "value")) watch(p.value);
  }
  const generatorFunction = getProto(function* () {});
  const asyncGeneratorFunction = getProto(async function* () {});
  for (const o of [
    getProto([][Symbol.iterator]()), getProto(getProto([][Symbol.iterator]())), getProto(""[Symbol.iterator]()),
    getProto(new Map().entries()), getProto(new Set().values()), getProto(/(?:)/g[Symbol.matchAll]("")),
    getProto([].values().map(noop)), getProto(Int8Array), getProto(Int8Array.prototype),
    generatorFunction, generatorFunction.prototype, asyncGeneratorFunction, asyncGeneratorFunction.prototype,
    getProto(asyncGeneratorFunction.prototype), getProto(async function () {}),
  ]) watch(o);

  const flags = (d) => (d.writable ? 1 : 0) | (d.enumerable ? 2 : 0) | (d.configurable ? 4 : 0);
  const protos = [];
  const extensible = [];
  const keyLists = [];
  const slots = []; // per object: key, value, get, set, flags of every property that could change
  for (const o of watched) {
    const keys = ownKeys(o);
    const mutable = [];
    for (const key of keys) {
      const d = getDescriptor(o, key);
      // A non-configurable accessor or read-only value can never change: no need to read it again.
      if (d.configurable || d.writable) mutable.push(key, d.value, d.get, d.set, flags(d));
    }
    protos.push(getProto(o));
    extensible.push(isExtensible(o));
    keyLists.push(keys);
    slots.push(mutable);
  }

  // From here on only indexed loops: for-of and spread would call a module's Symbol.iterator.
  const pristine = () => {
    for (let w = 0; w < watched.length; w++) {
      const o = watched[w];
      if (getProto(o) !== protos[w] || isExtensible(o) !== extensible[w]) return false;
      const keys = ownKeys(o);
      const expected = keyLists[w];
      if (keys.length !== expected.length) return false;
      for (let i = 0; i < keys.length; i++) if (keys[i] !== expected[i]) return false;
      const s = slots[w];
      for (let j = 0; j < s.length; j += 5) {
        const d = getDescriptor(o, s[j]);
        if (!same(d.value, s[j + 1]) || d.get !== s[j + 2] || d.set !== s[j + 3] || flags(d) !== s[j + 4]) return false;
      }
    }
    return true;
  };

  // A property as a plain read sees it, except that the shared built-in prototypes are skipped:
  // a module that adds "name" to Object.prototype has not named its metadata.
  const read = (o, key) => {
    for (let p = o, depth = 0; p !== null && depth < MAX_DEPTH; p = getProto(p), depth++) {
      if (p === ObjectProto || p === ArrayProto || p === FunctionProto) return undefined;
      const d = getDescriptor(p, key);
      if (d !== undefined) {
        if (hasOwn(d, "value")) return d.value;
        return d.get === undefined ? undefined : apply(d.get, o, []);
      }
    }
    return undefined;
  };
  const kindOf = (v) => (v === null ? "null" : isArray(v) ? "array" : typeof v);

  // JSON is written by hand: JSON.stringify would consult toJSON methods a module can install.
  // Values JSON cannot hold become null, and their path and kind go to `opaque`.
  let opaque = "";
  const mark = (path, kind) => {
    opaque += (opaque === "" ? "" : ",") + quote(path) + ":" + quote(kind);
    return "null";
  };
  const scalar = (v, path) => {
    switch (typeof v) {
      case "string": return quote(v);
      case "boolean": return v ? "true" : "false";
      case "number": return v - v === 0 ? quote(v) : mark(path, toText(v));
      case "object": return v === null ? "null" : mark(path, isArray(v) ? "array" : "object");
      default: return mark(path, typeof v);
    }
  };
  const data = (v, path, depth) => {
    if (typeof v !== "object" || v === null) return scalar(v, path);
    if (depth >= MAX_DEPTH) return mark(path, "a value nested more than " + MAX_DEPTH + " levels deep");
    let out = "";
    if (isArray(v)) {
      for (let i = 0, n = v.length; i < n; i++) {
        out += (i === 0 ? "" : ",") + data(v[i], path + "[" + i + "]", depth + 1);
      }
      return "[" + out + "]";
    }
    const keys = objectKeys(v);
    for (let i = 0; i < keys.length; i++) {
      const value = v[keys[i]];
      if (value === undefined) continue; // as JSON.stringify leaves it out
      out += (out === "" ? "" : ",") + quote(keys[i]) + ":" + data(value, path + "." + keys[i], depth + 1);
    }
    return "{" + out + "}";
  };
  const member = (out, key, json) => out + (out === "" ? "" : ",") + quote(key) + ":" + json;
  const list = (v, path, item) => {
    if (!isArray(v)) return scalar(v, path);
    let out = "";
    for (let i = 0, n = v.length; i < n; i++) out += (i === 0 ? "" : ",") + item(v[i], path + "[" + i + "]");
    return "[" + out + "]";
  };
  const TEXT_FIELDS = ["name", "tag", "version", "displayName", "description"];
  const ENTRY_FIELDS = ["name", "type", "description", "required"];
  const configEntry = (e, path) => {
    if (typeof e !== "object" || e === null || isArray(e)) return scalar(e, path);
    let out = "";
    for (let i = 0; i < ENTRY_FIELDS.length; i++) {
      const v = read(e, ENTRY_FIELDS[i]);
      if (v !== undefined) out = member(out, ENTRY_FIELDS[i], scalar(v, path + "." + ENTRY_FIELDS[i]));
    }
    const value = read(e, "default");
    if (value !== undefined) out = member(out, "default", data(value, path + ".default", 0));
    return "{" + out + "}";
  };
  const metadataJSON = (m) => {
    let out = "";
    for (let i = 0; i < TEXT_FIELDS.length; i++) {
      const v = read(m, TEXT_FIELDS[i]);
      if (v !== undefined) out = member(out, TEXT_FIELDS[i], scalar(v, "metadata." + TEXT_FIELDS[i]));
    }
    const config = read(m, "config");
    if (config !== undefined) out = member(out, "config", list(config, "metadata.config", configEntry));
    const events = read(m, "events");
    if (events !== undefined) out = member(out, "events", list(events, "metadata.events", scalar));
    return "{" + out + "}";
  };
  const exportsJSON = (mod) => {
    const ex = mod.exports;
    let out = '"outcome":"exports","exports":' + quote(kindOf(ex));
    if (ex === null || (typeof ex !== "object" && typeof ex !== "function")) return "{" + out + "}";
    const metadata = read(ex, "metadata");
    out += ',"metadataKind":' + quote(kindOf(metadata)) + ',"create":' + quote(kindOf(read(ex, "create")));
    if (kindOf(metadata) === "object") out += ',"metadata":' + metadataJSON(metadata);
    return "{" + out + ',"opaque":{' + opaque + "}}";
  };

  // The text of a thrown value; never calls its toString.
  const textOf = (o, key) => {
    try {
      const v = o[key];
      return v === undefined || v === null || typeof v === "object" || typeof v === "function" ? "" : toText(v);
    } catch (_) {
      return "";
    }
  };
  const describe = (e) => {
    if (isError(e)) {
      const name = textOf(e, "name");
      const message = textOf(e, "message");
      return name === "" ? (message === "" ? "Error" : message) : message === "" ? name : name + ": " + message;
    }
    switch (typeof e) {
      case "string": return e === "" ? "threw an empty string" : e;
      case "object": return e === null ? "threw null" : "threw an object: " + data(e, "thrown", MAX_DEPTH - 2);
      case "function": return "threw a function";
      case "bigint": return "threw " + toText(e) + "n";
      default: return "threw " + toText(e);
    }
  };
  const safeDescribe = (e) => {
    try {
      return describe(e);
    } catch (_) {
      return "threw a value that cannot be described";
    }
  };

  return (source) => {
    if (!pristine()) return '{"outcome":"dirty"}';
    // Outside any try: a syntax error escapes to Python with V8's location of it.
    const compiled = compile(source);
    opaque = "";
    let mod;
    try {
      mod = run(compiled);
    } catch (e) {
      const stack = isError(e) ? textOf(e, "stack") : "";
      return '{"outcome":"threw","message":' + quote(safeDescribe(e)) + ',"stack":' + quote(stack) + "}";
    }
    try {
      return exportsJSON(mod);
    } catch (e) {
      return '{"outcome":"unreadable","message":' + quote(safeDescribe(e)) + "}";
    }
  };
})();
