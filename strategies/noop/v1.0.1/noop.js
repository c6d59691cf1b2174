// No-op: subscribes to trades and does nothing with them. The bare baseline that benchmarks use to
// measure the host's own cost per event.

module.exports = {
  metadata: {
    name: "noop",
    tag: "v1.0.1",
    displayName: "No-op baseline",
    description:
      "Same behaviour as v1.0.0; the handler now names the arguments the host passes " +
      "(ctx, evt, payload, price), so the file doubles as a template for a new strategy.",
    config: [],
    events: ["Trade"],
  },
  create() {
    return {
      onTrade(ctx, evt, payload, price) {},
    };
  },
};
