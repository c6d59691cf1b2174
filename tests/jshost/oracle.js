// Independent oracle for the module host tests: evaluates each module with Node's vm in strict mode,
// as the gateway does (globals module, exports and a no-op console), and prints what it finds.
// Input on stdin: a JSON array of sources. Output: one JSON result per source.
"use strict";
const fs = require("fs");
const vm = require("vm");

const FILE = "oracle.js";
const PREFIX = '"use strict";'; // on line 1, so columns there shift by its length

function location(error) {
  const stack = String(error && error.stack);
  if (error instanceof SyntaxError && stack.startsWith(FILE + ":")) {
    const lines = stack.split("\n");
    const caret = lines[2] || "";
    return { line: Number(lines[0].slice(FILE.length + 1)), column: caret.indexOf("^") + 1 };
  }
  const frame = new RegExp(FILE.replace(".", "\\.") + ":(\\d+):(\\d+)").exec(stack);
  return frame ? { line: Number(frame[1]), column: Number(frame[2]) } : { line: 0, column: 0 };
}

const results = JSON.parse(fs.readFileSync(0, "utf8")).map((source) => {
  const noop = () => {};
  const module = { exports: {} };
  const context = vm.createContext({ module, exports: module.exports, console: { log: noop, error: noop, warn: noop, info: noop } });
  let stage = "compile";
  try {
    const script = new vm.Script(PREFIX + source, { filename: FILE });
    stage = "execute";
    script.runInContext(context, { timeout: 2000 });
  } catch (error) {
    const where = location(error);
    if (where.line === 1 && where.column > PREFIX.length) where.column -= PREFIX.length;
    return { stage, line: where.line, column: where.column };
  }
  const exported = module.exports;
  return { metadata: JSON.parse(JSON.stringify(exported.metadata)), create: typeof exported.create };
});
process.stdout.write(JSON.stringify(results));
