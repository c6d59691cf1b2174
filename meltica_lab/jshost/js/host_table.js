// host_table.js — growable row-major Float64 tables: results accumulate here and reach Python as one
// memoryview per table (ARCHITECTURE decision 2) instead of per-row JSON.
M.Table = class Table {
  constructor(width, capacity = 1024) {
    this.width = width;
    this.rows = 0;
    this.data = new Float64Array(width * capacity);
  }

  // Reserve one row and return its offset; the caller writes `width` values from there.
  append() {
    const offset = this.rows * this.width;
    if (offset + this.width > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.rows++;
    return offset;
  }

  // The filled part, sharing memory with the table (valid until the next append that grows it).
  view() {
    return this.data.subarray(0, this.rows * this.width);
  }
};
