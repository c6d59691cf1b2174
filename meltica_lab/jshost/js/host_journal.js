// host_journal.js — what a strategy said (helpers.log) and what went wrong (handler exceptions),
// both capped in count and length, and kept as copies (never views of the strategy's strings): a
// strategy that logs or throws on every event, however much text, must not exhaust memory.
M.journal = (function () {
  const { clock, format } = M;
  const lines = { ms: [], rem: [], text: [] };
  const errors = new Map();
  const caps = { lines: 10000, lineLength: 4096, errorKinds: 1000 };
  const counts = { droppedLines: 0, errors: 0, droppedErrorKinds: 0 };

  function configure(options) {
    caps.lines = options.maxLogLines;
    caps.lineLength = options.maxLogLineLength;
    caps.errorKinds = options.maxErrorKinds;
  }

  function write(text) {
    if (lines.text.length >= caps.lines) {
      counts.droppedLines++;
      return;
    }
    lines.ms.push(clock.now.ms);
    lines.rem.push(clock.now.rem);
    lines.text.push(text);
  }

  // helpers.log: one line of Go-formatted arguments; no arguments or empty text logs nothing.
  // Past the cap the call is only counted, without the cost of formatting it.
  function log(args) {
    if (args.length === 0) return;
    if (lines.text.length >= caps.lines) {
      counts.droppedLines++;
      return;
    }
    const text = format.sprint(args, caps.lineLength);
    if (text !== "") write(format.detached(text));
  }

  function error(handler, text) {
    counts.errors++;
    const message = text.length > caps.lineLength ? text.slice(0, caps.lineLength) + "…" : text;
    const key = handler + "\u0000" + message;
    const entry = errors.get(key);
    if (entry !== undefined) entry.count++;
    else if (errors.size < caps.errorKinds) {
      errors.set(format.detached(key), { handler, message: format.detached(message), count: 1 });
    } else counts.droppedErrorKinds++;
  }

  function snapshot() {
    return { logs: lines, errors: Array.from(errors.values()), counts };
  }

  return { configure, log, write, error, snapshot };
})();
