// commonjs.js — the one CommonJS evaluator, for module inspection and for backtests alike (compat §1.1).
//
// The module's source becomes the body of a strict function of `module`, `exports` (the same
// object) and a no-op `console`, named by M.schema.moduleSourceURL in stack traces, and runs with
// `this` = the global object, as the gateway's strict script does. The Function constructor and
// Reflect.apply are captured when the host is installed, before any module runs. new Function puts
// "(function anonymous(module,exports,console" and ") {" on two lines before the body and the body
// starts with a line of its own holding "use strict": the module's first line is V8's line 4, and
// no column on it moves (meltica_lab/jshost/module.py maps positions back).
M.commonjs = (function () {
  const FunctionCtor = Function;
  const apply = Reflect.apply;
  const freeze = Object.freeze;
  const g = globalThis;
  const PREFIX = '"use strict";\n';
  const SUFFIX = "\n//# sourceURL=" + M.schema.moduleSourceURL;
  const noop = freeze(() => {});
  const moduleConsole = freeze({ log: noop, error: noop, warn: noop, info: noop, debug: noop });

  // The module's top-level code as a function; a syntax error is thrown from here.
  function compile(source) {
    return new FunctionCtor("module", "exports", "console", PREFIX + source + SUFFIX);
  }

  // Run compiled top-level code; returns its `module` (read `module.exports`), throws what it throws.
  function run(compiled) {
    const exports = {};
    const module = { exports };
    apply(compiled, g, [module, exports, moduleConsole]);
    return module;
  }

  return freeze({ compile, run });
})();
