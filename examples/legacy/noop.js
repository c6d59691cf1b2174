// Does nothing. Written before strategies carried a version.

module.exports = {
  metadata: {
    name: "noop",
    displayName: "Noop",
    events: ["Trade"],
  },
  create: function () {
    return { onTrade: function () {} };
  },
};
