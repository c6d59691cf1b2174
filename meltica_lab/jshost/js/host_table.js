// host_table.js — growable row-major Float64 tables: results accumulate here and reach Python in one
// typed array (ARCHITECTURE decision 2) instead of per-row JSON.
M.Table = (function () {
  // Captured before any strategy code runs, as every typed-array use of the host's tables is.
  const F64 = Float64Array;

  class Table {
    constructor(width, capacity = 1024) {
      this.width = width;
      this.rows = 0;
      this.data = new F64(width * capacity);
    }

    // Reserve one row and return its offset; the caller writes `width` values from there.
    append() {
      const offset = this.rows * this.width;
      if (offset + this.width > this.data.length) {
        const grown = new F64(this.data.length * 2);
        for (let k = 0; k < offset; k++) grown[k] = this.data[k];
        this.data = grown;
      }
      this.rows++;
      return offset;
    }
  }
  Table.Float64Array = F64;
  return Object.freeze(Table);
})();
