// host_table.js — growable row-major Float64 tables: results accumulate here and reach Python in one
// typed array (ARCHITECTURE decision 2) instead of per-row JSON.
M.Table = (function () {
  // Captured before any strategy code runs, as every typed-array use of the host's tables is: a
  // strategy may replace Float64Array.prototype.set or the `buffer` getter, not these.
  const F64 = Float64Array;
  const Bytes = ArrayBuffer;
  const typedSet = F64.prototype.set;
  const apply = Reflect.apply;

  // Copy `length` values of `buffer` into `out` from `at`, with the engine's bulk copy: a table is
  // copied once per run, by code that never gets hot enough to be optimised, so a loop of element
  // writes ran in the interpreter (2 ms for 1,600 rows).
  function copy(buffer, length, out, at) {
    apply(typedSet, out, [new F64(buffer, 0, length), at]);
  }

  class Table {
    constructor(width, capacity = 1024) {
      this.width = width;
      this.rows = 0;
      this.buffer = new Bytes(8 * width * capacity);
      this.data = new F64(this.buffer);
    }

    // Reserve one row and return its offset; the caller writes `width` values from there.
    append() {
      const offset = this.rows * this.width;
      if (offset + this.width > this.data.length) {
        const grown = new Bytes(16 * this.data.length);
        const data = new F64(grown);
        copy(this.buffer, offset, data, 0);
        this.buffer = grown;
        this.data = data;
      }
      this.rows++;
      return offset;
    }

    // Write the table's rows into `out` from `at`.
    copyInto(out, at) {
      copy(this.buffer, this.rows * this.width, out, at);
    }
  }
  Table.Float64Array = F64;
  return Object.freeze(Table);
})();
