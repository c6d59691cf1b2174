// No-op: subscribes to trades and does nothing with them. The bare baseline that benchmarks use to
// measure the host's own cost per event.

module.exports = {
  metadata: {
    name: "noop",
    tag: "v1.0.0",
    displayName: "No-op baseline",
    description: "First release: receives trades and ignores them.",
    config: [],
    events: ["Trade"],
  },
  create() {
    return {
      onTrade() {},
    };
  },
};
