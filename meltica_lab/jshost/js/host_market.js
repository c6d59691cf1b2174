// host_market.js — replayed market state per symbol (the reference kept one set of numbers for the
// whole lambda and never updated it in backtests, compat §8 W2), and the string tables.
M.market = (function () {
  const symbols = [];
  const quotes = [];
  const providers = [];
  const last = [];
  const bid = [];
  const ask = [];
  const state = { active: 0 };

  function addSymbols(names) {
    for (const name of names) {
      symbols.push(name);
      // the quote currency of "BTC-USDT", "ETH/USD", "SOL_USDC"; "" when the symbol has no separator
      const match = /^[^-/_:]+[-/_:](.+)$/.exec(name.toUpperCase());
      quotes.push(match ? match[1] : "");
      last.push(0);
      bid.push(0);
      ask.push(0);
    }
  }

  function addProviders(names) {
    for (const name of names) providers.push(name);
  }

  // The mark used for equity: the trade price, the quote mid (the last price if one side is
  // missing), the bar's close. NaN when the event carries no usable price.
  function update(kind, symbol, v0, v1, v2, v3) {
    if (kind === 0) {
      last[symbol] = v0;
      return v0;
    }
    if (kind === 1) {
      if (v0 > 0) last[symbol] = v0;
      bid[symbol] = v1 > 0 ? v1 : 0;
      ask[symbol] = v2 > 0 ? v2 : 0;
      if (v1 > 0 && v2 > 0) return (v1 + v2) / 2;
      return v0 > 0 ? v0 : NaN;
    }
    last[symbol] = v3;
    return v3;
  }

  function view(symbol) {
    const b = bid[symbol];
    const spread = ask[symbol] - b;
    return { last: last[symbol], bid: b, ask: ask[symbol], spread, spreadPct: b > 0 ? (spread / b) * 100 : 0 };
  }

  return { symbols, quotes, providers, last, bid, ask, state, addSymbols, addProviders, update, view };
})();
