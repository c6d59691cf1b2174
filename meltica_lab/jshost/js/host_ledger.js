// host_ledger.js — analytics accumulators: cash, positions at average cost, realised PnL, fees,
// turnover, round trips, and mark-to-market equity (the loop stores it after every market event).
M.ledger = (function () {
  const { abs, max, min, sign } = M.math;
  const position = [];
  const cost = [];
  const mark = [];
  const tripPnl = [];
  const held = [];
  const totals = {
    capital: 0,
    cash: 0,
    fees: 0,
    realised: 0,
    turnover: 0,
    volume: 0,
    cashFlow: 0,
    fills: 0,
    trips: 0,
    wins: 0,
  };
  function configure(capital) {
    totals.capital = capital;
    totals.cash = capital;
  }

  function addSymbols(count) {
    while (position.length < count) {
      position.push(0);
      cost.push(0);
      mark.push(0);
      tripPnl.push(0);
    }
  }

  function setMark(symbol, price) {
    if (price > 0) mark[symbol] = price;
  }

  function closeTrip(symbol) {
    totals.trips++;
    if (tripPnl[symbol] > 0) totals.wins++;
    tripPnl[symbol] = 0;
  }

  // A quantity left by floating-point subtraction (1e-17 after 0.1 + 0.2 - 0.3) is no position.
  function settled(value, scale) {
    return abs(value) <= 1e-12 * scale ? 0 : value;
  }

  // Book one fill: side is +1 (buy) or -1 (sell); the fee is in the quote currency.
  // Average cost: buying into a long (or selling into a short) re-averages; the opposite side
  // realises (price - cost) on the closed quantity. A round trip runs from flat back to flat (a
  // flip closes one and opens the next); it is a win when its realised PnL net of fees is > 0.
  function fill(symbol, side, quantity, price, fee) {
    const notional = quantity * price;
    totals.cash -= side * notional + fee;
    totals.cashFlow -= side * notional;
    totals.fees += fee;
    totals.turnover += notional;
    totals.volume += quantity;
    totals.fills++;
    const before = position[symbol];
    const delta = side * quantity;
    tripPnl[symbol] -= fee;
    if (before === 0 || sign(before) === side) {
      const size = abs(before);
      cost[symbol] = (size * cost[symbol] + notional) / (size + quantity);
      position[symbol] = before + delta;
      if (before === 0) held.push(symbol);
      return;
    }
    const closed = min(quantity, abs(before));
    const realised = closed * (price - cost[symbol]) * sign(before);
    totals.realised += realised;
    tripPnl[symbol] += realised;
    const after = settled(before + delta, max(quantity, abs(before)));
    position[symbol] = after;
    if (after === 0) {
      cost[symbol] = 0;
      closeTrip(symbol);
      held.splice(held.indexOf(symbol), 1);
    } else if (sign(after) !== sign(before)) {
      closeTrip(symbol);
      cost[symbol] = price;
    }
  }

  // Σ position × mark over the held symbols, or Σ |position × mark| (gross exposure) with
  // `absolute`. Returns the sum instead of keeping it in a closure variable: V8 boxes every double
  // written to one, an allocation per event on this path.
  function marked(absolute) {
    let value = 0;
    for (let k = 0; k < held.length; k++) {
      const s = held[k];
      const v = position[s] * mark[s];
      value += absolute && v < 0 ? -v : v;
    }
    return value;
  }

  // Mark-to-market equity now: cash plus every held position at its symbol's latest mark.
  function value() {
    return totals.cash + marked(false);
  }

  function unrealised() {
    let value = 0;
    for (const s of held) value += position[s] * (mark[s] - cost[s]);
    return value;
  }

  function snapshot() {
    return Object.assign({}, totals, {
      equity: value(),
      exposure: marked(true),
      unrealised: unrealised(),
      positions: position.slice(),
    });
  }

  return { position, totals, configure, addSymbols, setMark, fill, value, snapshot };
})();
