"""A small trading strategy for the widget tests, registered with the project's own registry code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meltica_lab.registry import LATEST, edit_registry, store_module

PROJECT = Path(__file__).resolve().parents[2]
SMALL_DATA = PROJECT / "examples" / "data" / "btc_trades_small.csv"


def flipper_source(tag: str, every: int) -> str:
    """A strategy that alternates market buys and sells every ``every`` trades, with one config key per type."""
    return f"""module.exports = {{
  metadata: {{
    name: "flipper",
    tag: "{tag}",
    displayName: "Flipper",
    events: ["Trade"],
    config: [
      {{ name: "every", type: "int", description: "Trades between orders", default: {every}, required: false }},
      {{ name: "size", type: "float", description: "Order size", default: 0.5, required: false }},
      {{ name: "note", type: "string", description: "Logged at start", default: "", required: false }},
      {{ name: "cooldown", type: "duration", description: "Unused", default: "1s", required: false }},
      {{ name: "verbose", type: "bool", description: "Log every order", default: false, required: false }},
      {{ name: "dry_run", type: "bool", description: "Only log", default: true, required: false }},
    ],
  }},
  create(env) {{
    const config = env.config;
    let seen = 0;
    let side = "Buy";
    if (config.note) env.helpers.log("note", config.note);
    return {{
      onTrade(ctx, evt, payload, price) {{
        seen += 1;
        if (seen % config.every !== 0) return;
        if (config.verbose) env.helpers.log("order", side, config.size);
        env.runtime.submitMarketOrder(env.runtime.providers()[0] ?? "", side, String(config.size));
        side = side === "Buy" ? "Sell" : "Buy";
      }},
    }};
  }},
}};
"""


def add_flipper(root: Path, tag: str, every: int, *, latest: bool = True) -> str:
    """Store and register one flipper revision, and point ``latest`` at it unless told not to."""
    digest, rel = store_module(root, flipper_source(tag, every).encode(), name="flipper", tag=tag)
    with edit_registry(root, f"add flipper:{tag}") as draft:
        draft.add_revision("flipper", digest, tag, rel)
        if latest:
            draft.assign_tag("flipper", LATEST, digest)
    return digest


@dataclass(frozen=True)
class Field:
    """A config declaration as module metadata provides it."""

    name: str
    type: str
    default: Any = None
    required: bool = False
    description: str = ""
